/* SPDX-License-Identifier: MIT */
/*
 * core.h - internal helpers every module uses: allocation through the user's
 * hooks, error reporting, version checks, overflow-checked sizes, the seeded
 * generator and the BLAS wrapper. Nothing here is exported except through
 * the public headers; internal non-static symbols carry the ae__ prefix.
 */
#ifndef AE_CORE_H
#define AE_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "ae/common.h"
#include "ae/sys/layer.h"

/* ---- allocation: every libae allocation goes through these ------------ */

/* Returns 64-byte-aligned memory or NULL (with the detail message set). */
void *ae__alloc(size_t size);
/* Same, zero-filled. */
void *ae__calloc(size_t count, size_t size);
/* Frees what ae__alloc/ae__calloc returned; NULL is a no-op. */
void ae__free(void *ptr);
/* Copies a NUL-terminated string; NULL on failure. */
char *ae__strdup(const char *s);

/* A per-thread allocation budget: between begin and end, ae__alloc() on
 * this thread fails once the allocations together would pass @p bytes
 * (frees do not refund). The file loader uses it so a hostile config
 * cannot make a layer allocate far more than the file's tensors need.
 * end() returns 1 when an allocation was refused for the budget. */
void ae__alloc_budget_begin(size_t bytes);
int ae__alloc_budget_end(void);

/* ---- errors ------------------------------------------------------------ */

/* The lowest (most negative) pinned status code; update with new codes. */
#define AE__ERR_LOWEST AE_ERR_EXISTS

/* Sets the thread's detail message and returns status. */
int ae__error(int status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
int ae__verror(int status, const char *format, va_list ap);

/* The NULL-argument error, naming the argument: returns AE_ERR_INVALID with
 * "who: name is NULL" for the first of the arguments that is NULL, e.g.
 *     if (model == NULL || x == NULL) return AE__NULL_ARG(who, model, x);
 * (object pointers only; a function pointer is named by hand). */
#define AE__NULL_ARG(who, ...) AE__NULL_ARG_AS(who, #__VA_ARGS__, __VA_ARGS__)
/* The same with the names the header gives ("file, out") where the
 * variables are called otherwise (f, out). */
#define AE__NULL_ARG_AS(who, names, ...)                                            \
    ae__null_arg((who), (names), (const void *const[]){__VA_ARGS__},                 \
                 sizeof((const void *const[]){__VA_ARGS__}) / sizeof(const void *))
int ae__null_arg(const char *who, const char *names, const void *const *args, size_t n);

/* A thread-safe strerror(): the text of errno value err, in buf. */
#define AE__ERRNO_MAX 128
const char *ae__errno_text(int err, char buf[AE__ERRNO_MAX]);

/* Fails with AE_ERR_VERSION when the caller's header major differs. */
int ae__check_header(unsigned header_version, const char *what);

/* Checks a user-filled struct's size field: at least min_size (the first
 * released layout), at most AE__STRUCT_GROWTH_MAX past ours (more is no
 * version of the struct, and is not read), and, when larger than ours, only
 * zero bytes past ours. */
#define AE__STRUCT_GROWTH_MAX 4096u
int ae__check_struct(const void *s, size_t user_size, size_t min_size,
                     size_t our_size, const char *what);

/* Reads a caller-filled struct (struct_size first) into @p dst, which
 * holds the defaults: checks it with ae__check_struct(src's struct_size,
 * oldest, ours), then copies only the bytes the caller's struct has, so a
 * program built against an older layout leaves the newer fields at their
 * defaults and nothing past its struct is read; dst's struct_size becomes
 * ours. */
int ae__take_struct(void *dst, const void *src, size_t oldest, size_t ours, const char *what);

/* Where a struct's layout ends at field f: the size of its first released
 * layout when f is the last field that release had. */
#define AE__LAYOUT_END(type, f) (offsetof(type, f) + sizeof(((type *)0)->f))

/* Copies @p src, a struct the library filled (ours bytes, struct_size
 * first), into the caller's @p out. The caller's struct_size must cover at
 * least @p oldest bytes (the first released layout); only as many bytes as
 * both sides know are written, and out->struct_size becomes that count.
 * AE_ERR_INVALID when out is NULL or its struct_size is too small. */
int ae__fill_struct(void *out, const void *src, size_t ours, size_t oldest, const char *what);

/* ---- sizes ------------------------------------------------------------- */

#define AE__MAX(a, b) ((a) > (b) ? (a) : (b))

/* *out = a * b; returns 0 on overflow. */
static inline int ae__mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}
static inline int ae__add_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* The one check of every public function taking a count of items and
 * buffers of them: the count is at least 1 and count items of `per` values
 * of `elem` bytes fit in one object (PTRDIFF_MAX bytes), as any real buffer
 * does. A count such as SIZE_MAX - k (an n - 1 with n = 0) or one whose
 * product with the item size overflows gives AE_ERR_INVALID naming the
 * count (`name`, e.g. "count"); `per` 0 counts as 1. */
int ae__check_count(size_t count, size_t per, size_t elem, const char *name, const char *who);
/* The same, but a size too large gives AE_ERR_LIMIT (a count of 0 is still
 * AE_ERR_INVALID): the code 1.0 documented and returned for ae_loss_compute(),
 * the latent samplers, ae_latent_interpolate() and ae_latent_class_stats(),
 * which keep it. */
int ae__check_count_limit(size_t count, size_t per, size_t elem, const char *name,
                          const char *who);

/* Product of a shape's dims (0 for an invalid shape or on overflow). */
size_t ae__shape_size(const ae_shape *shape);
/* Validates rank and dims; returns AE_OK or AE_ERR_INVALID with a message. */
int ae__shape_check(const ae_shape *shape, const char *what);
/* Equal rank and dims. */
int ae__shape_equal(const ae_shape *a, const ae_shape *b);
/* Writes "{1, 28, 28}" into buf. */
const char *ae__shape_str(const ae_shape *shape, char *buf, size_t size);

/* ---- random numbers: xoshiro256** seeded through splitmix64 ------------ */

struct ae_rng {
    uint64_t s[4];
};
void ae__rng_seed(ae_rng *rng, uint64_t seed);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t ae__rng_below(ae_rng *rng, uint64_t n);

/* ---- vector clones ------------------------------------------------------ */

/* Marks a hot element-wise loop function: compiled three times, for
 * AVX-512F, AVX2 and the baseline ISA, the copy chosen once when the library
 * loads (an ifunc); the AVX-512 copy measured 4-5 % faster dense training
 * on Zen 4 (bench/README.md). All give the same bits: C11 mode never
 * contracts a*b+c into an FMA, and the loops have no reductions to reorder
 * (fixed-order partial sums are written out). AE_NO_CLONES turns it off; so
 * do the sanitizers (their instrumented resolvers would run before the
 * sanitizer's runtime is up), and so does clang: clang 14 emits the clones
 * but not the public symbol that dispatches to them when the function is
 * called from another file, so the library would not link. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AE__VECTOR_CLONES
#endif
#if defined(__x86_64__) && defined(__ELF__) && defined(__has_attribute) && !defined(AE_NO_CLONES) && \
    !defined(AE__VECTOR_CLONES) && !defined(__clang__)
#if __has_attribute(target_clones)
#define AE__VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef AE__VECTOR_CLONES
#define AE__VECTOR_CLONES
#endif

/* ---- BLAS (src/core/blas.c: every BLAS call and the thread setting) ------ */

/* C = alpha * op(A) op(B) + beta * C, row-major; op is a transpose when the
 * flag is set. M x K times K x N. */
void ae__gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
              float alpha, const float *a, size_t lda, const float *b,
              size_t ldb, float beta, float *c, size_t ldc);
/* y = alpha * op(A) x + beta * y, A row-major m x n; x and y contiguous. */
void ae__gemv(int trans_a, size_t m, size_t n, float alpha, const float *a, size_t lda,
              const float *x, float beta, float *y);
/* Double-precision products for PCA, with the same thread choice:
 * C = alpha * A B + beta * C (no transposes), and the upper triangle of
 * C = alpha * op(A) op(A)^T + beta * C, A n x k (k x n with trans). */
void ae__dgemm(size_t m, size_t n, size_t k, double alpha, const double *a, size_t lda,
               const double *b, size_t ldb, double beta, double *c, size_t ldc);
void ae__dsyrk(int trans, size_t n, size_t k, double alpha, const double *a, size_t lda,
               double beta, double *c, size_t ldc);
/* The thread setting (ae_get_num_threads()): at least 1. */
int ae__threads(void);
/* With on set, the calling thread's products run on one BLAS thread whatever
 * the setting (inference splits its work between threads of its own).
 * Returns the previous value, to restore. */
int ae__blas_single(int on);
/* AE_NUM_THREADS's value as a thread count: a whole decimal integer from 1
 * to AE_MAX_THREADS, else 0 (NULL, empty, signs, spaces, other text). */
int ae__threads_parse(const char *s);

#endif /* AE_CORE_H */
