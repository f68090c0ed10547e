/* SPDX-License-Identifier: MIT */
/*
 * gemm.c - the driver of libae's own GEMM kernels (gemm.h): path choice
 * (CPU features, AE_GEMM_KERNEL), the packing of a transposed B, the generic
 * kernel, and the rule of which shapes ae__gemm keeps on them.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gemm.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AE_GEMM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define AE_GEMM_SANITIZED 1
#endif
#endif
#ifndef AE_GEMM_SANITIZED
#define AE_GEMM_SANITIZED 0
#endif

int ae__gemm_parse_kernel(const char *s)
{
    static const char *const names[] = {"blas", "generic", "avx2", "avx512"};
    if (s == NULL || *s == '\0' || strcmp(s, "auto") == 0)
        return AE_GEMM_AUTO;
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -2;
}

int ae__gemm_path_available(int path)
{
    switch (path) {
    case AE_GEMM_BLAS:
    case AE_GEMM_GENERIC:
        return 1;
#if defined(__x86_64__) || defined(__i386__)
    case AE_GEMM_AVX2:
        __builtin_cpu_init();
        return ae__gemm_avx2_built && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case AE_GEMM_AVX512:
        __builtin_cpu_init();
        return ae__gemm_avx512_built && __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

static int chosen = AE_GEMM_BLAS;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

/* AE_GEMM_KERNEL if it names an available path; otherwise AVX-512 where the
 * CPU has it, the generic kernel under the sanitizers (plain C, every access
 * checked), BLAS elsewhere: the AVX2 kernel measured 0.7-1.07x OpenBLAS on
 * the kept shapes (bench/README.md), and the generic one beats an optimised
 * BLAS nowhere. Both stay reachable through AE_GEMM_KERNEL and the tests. */
static void choose(void)
{
    int want = ae__gemm_parse_kernel(getenv("AE_GEMM_KERNEL"));
    if (want >= 0) {
        chosen = ae__gemm_path_available(want) ? want : AE_GEMM_BLAS;
        return;
    }
    if (AE_GEMM_SANITIZED)
        chosen = AE_GEMM_GENERIC;
    else if (ae__gemm_path_available(AE_GEMM_AVX512))
        chosen = AE_GEMM_AVX512;
    else
        chosen = AE_GEMM_BLAS;
}

int ae__gemm_path(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}

/* The generic kernel: the same summation order as the SIMD ones (a
 * multiply and an add per term: C11 does not contract them), row by row,
 * in column blocks held in a local accumulator the compiler vectorizes. */
#define GENERIC_NB 64
static void generic(int trans_a, size_t m, size_t n, size_t k, float alpha, const float *a,
                    size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc)
{
    size_t as = trans_a ? lda : 1, rs = trans_a ? 1 : lda;
    float acc[GENERIC_NB];
    for (size_t i = 0; i < m; i++)
        for (size_t j0 = 0; j0 < n; j0 += GENERIC_NB) {
            size_t nb = n - j0 < GENERIC_NB ? n - j0 : GENERIC_NB;
            const float *ai = a + i * rs;
            float *ci = c + i * ldc + j0;
            for (size_t j = 0; j < nb; j++)
                acc[j] = 0.0f;
            for (size_t p = 0; p < k; p++) {
                float x = ai[p * as];
                const float *bp = b + p * ldb + j0;
                for (size_t j = 0; j < nb; j++)
                    acc[j] += x * bp[j];
            }
            for (size_t j = 0; j < nb; j++) {
                float v = alpha != 1.0f ? acc[j] * alpha : acc[j];
                if (beta != 0.0f)
                    v += beta != 1.0f ? beta * ci[j] : ci[j];
                ci[j] = v;
            }
        }
}

static void pack_bt(const float *b, size_t ldb, size_t n, size_t k, float *out)
{
    for (size_t j0 = 0; j0 < n; j0 += 8)
        for (size_t p0 = 0; p0 < k; p0 += 8) {
            size_t j1 = j0 + 8 < n ? j0 + 8 : n, p1 = p0 + 8 < k ? p0 + 8 : k;
            for (size_t j = j0; j < j1; j++)
                for (size_t p = p0; p < p1; p++)
                    out[p * n + j] = b[j * ldb + p];
        }
}

/* The SIMD paths: C in tiles of mr x nr, column panels outside (a panel of
 * B is read by every row block while it is in cache), row blocks inside. */
typedef void tile_fn(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                     size_t cols, float *c, size_t ldc, size_t rows, float alpha, float beta);
#define TILE_MAX_MR 8
static void tiles(tile_fn *fn, size_t mr, size_t nr, int trans_a, size_t m, size_t n, size_t k,
                  float alpha, const float *a, size_t lda, const float *b, size_t ldb, float beta,
                  float *c, size_t ldc)
{
    size_t as = trans_a ? lda : 1, rs = trans_a ? 1 : lda; /* steps along k and along rows */
    for (size_t j = 0; j < n; j += nr) {
        size_t cols = n - j < nr ? n - j : nr;
        for (size_t i = 0; i < m; i += mr) {
            size_t rows = m - i < mr ? m - i : mr;
            const float *ar[TILE_MAX_MR];
            for (size_t r = 0; r < mr; r++)
                ar[r] = a + (i + (r < rows ? r : 0)) * rs;
            fn(k, ar, as, b + j, ldb, cols, c + i * ldc + j, ldc, rows, alpha, beta);
        }
    }
}

/* The transposed B's packing buffer: one per thread, grown to the largest
 * product it has packed and kept until the thread ends (a key destructor
 * frees it), so a training step does not allocate per product. NULL when
 * it cannot be had (the caller then leaves the product to BLAS). */
typedef struct pack_buf {
    size_t cap;   /* floats */
    float data[];
} pack_buf;

static pthread_key_t pack_key;
static int pack_key_ok;
static pthread_once_t pack_once = PTHREAD_ONCE_INIT;
static void pack_key_make(void) { pack_key_ok = pthread_key_create(&pack_key, free) == 0; }

static float *pack_buffer(size_t floats)
{
    pthread_once(&pack_once, pack_key_make);
    if (!pack_key_ok)
        return NULL;
    pack_buf *p = pthread_getspecific(pack_key);
    if (p != NULL && p->cap >= floats)
        return p->data;
    /* the contents need not survive: a new block, then the old one freed,
     * so a failure anywhere leaves the thread's buffer as it was */
    if (floats > (SIZE_MAX - sizeof(pack_buf)) / sizeof(float))
        return NULL;
    pack_buf *q = malloc(sizeof *q + floats * sizeof(float));
    if (q == NULL)
        return NULL;
    q->cap = floats;
    if (pthread_setspecific(pack_key, q) != 0) {
        free(q);
        return NULL;
    }
    free(p);
    return q->data;
}

int ae__gemm_run(int path, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc)
{
    if (path == AE_GEMM_BLAS || !ae__gemm_path_available(path) || m == 0 || n == 0 || k == 0 ||
        alpha == 0.0f || k > SIZE_MAX / sizeof(float) / n)
        return -1;
    if (trans_b) {
        /* op(B) = B^T, B n x k: copied to k x n, rows contiguous, in 8 x 8
         * blocks so both sides stay in cache lines (transposed in AVX2
         * registers on the SIMD paths). */
        float *packed = pack_buffer(k * n);
        if (packed == NULL)
            return -1;
        if (path != AE_GEMM_GENERIC && ae__gemm_path_available(AE_GEMM_AVX2))
            ae__gemm_pack_bt_avx2(b, ldb, n, k, packed);
        else
            pack_bt(b, ldb, n, k, packed);
        b = packed;
        ldb = n;
    }
    if (path == AE_GEMM_AVX512)
        tiles(ae__gemm_tile_avx512, AE_GEMM_AVX512_MR, AE_GEMM_AVX512_NR, trans_a, m, n, k, alpha,
              a, lda, b, ldb, beta, c, ldc);
    else if (path == AE_GEMM_AVX2)
        tiles(ae__gemm_tile_avx2, AE_GEMM_AVX2_MR, AE_GEMM_AVX2_NR, trans_a, m, n, k, alpha, a,
              lda, b, ldb, beta, c, ldc);
    else
        generic(trans_a, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return 0;
}

/* The shapes where the kernels beat cblas_sgemm (one thread) both with
 * OPENBLAS_CORETYPE=Haswell and unset (OpenBLAS's AVX-512 kernels), in
 * every run of tests/kernels/gemm_table.c on a 2-core AMD EPYC (Zen 4), OpenBLAS
 * 0.3.21, at most 64 columns and 512 to 1024 terms (a dense layer from 784
 * inputs to a latent of up to 64):
 *  - A B, 32 to 512 rows: the layer's dX = dZ W (1.02-1.31x);
 *  - A B^T, 128 to 512 rows: its forward x W^T (1.02-1.21x; at 32 rows it
 *    lost one run, 0.96x).
 * Everything else measured slower or within the noise and stays on CBLAS:
 * the decoder's forward (784 outputs from 64: 0.8-1.1x), A^T B (the weight
 * gradients: 0.8-1.2x from run to run), batches of 8, the small
 * convolutions (OpenBLAS's AVX-512 kernels win 1.1-3x). Table and rule in
 * bench/README.md, "The GEMM table". */
int ae__gemm_shape_kept(int trans_a, int trans_b, size_t m, size_t n, size_t k)
{
    return !trans_a && m >= (trans_b ? 128u : 32u) && m <= 512 && n <= 64 && k >= 512 && k <= 1024;
}
