/* SPDX-License-Identifier: MIT */
/*
 * gemm.h - libae's own single-precision GEMM kernels (src/core/gemm*.c),
 * used by ae__gemm (src/core/blas.c) for the shapes where they measured
 * faster than OpenBLAS (bench/README.md, "The GEMM table").
 *
 * All kernels compute C = alpha * op(A) op(B) + beta * C, row-major, and
 * sum each element of C in the same order: acc = 0, then for p = 0..k-1
 * acc += op(A)[i][p] * op(B)[p][j] (one fused multiply-add per term in the
 * SIMD kernels, a multiply and an add in the generic one), then
 * alpha * acc (+ beta * C). The result depends on neither the blocking nor
 * the thread setting: bit-for-bit the same for the same path.
 */
#ifndef AE_CORE_GEMM_H
#define AE_CORE_GEMM_H

#include <stddef.h>

/* Kernel paths. AE_GEMM_KERNEL (environment, read once) forces one: blas,
 * generic, avx2, avx512 (a path the CPU lacks falls back to blas); unset or
 * "auto" picks avx512 where the CPU has it, generic in sanitizer builds,
 * blas elsewhere (only the AVX-512 kernel measured faster than OpenBLAS). */
enum {
    AE_GEMM_BLAS = 0,
    AE_GEMM_GENERIC = 1,
    AE_GEMM_AVX2 = 2,
    AE_GEMM_AVX512 = 3,
    AE_GEMM_AUTO = -1
};

/* AE_GEMM_KERNEL's value as a path, AE_GEMM_AUTO for NULL/empty/"auto",
 * -2 for anything else. */
int ae__gemm_parse_kernel(const char *s);
/* 1 when this build and CPU can run the path. */
int ae__gemm_path_available(int path);
/* The path ae__gemm uses for the shapes it keeps (after AE_GEMM_KERNEL). */
int ae__gemm_path(void);
/* 1 when ae__gemm keeps the shape on its own kernel (the measured rule). */
int ae__gemm_shape_kept(int trans_a, int trans_b, size_t m, size_t n, size_t k);

/* Runs the product on `path` (not AE_GEMM_BLAS). Returns 0, or -1 when the
 * path is unavailable, the arguments are outside what the kernels do
 * (alpha 0, an empty dimension: BLAS handles those) or the packing buffer
 * could not be allocated; then C is untouched. */
int ae__gemm_run(int path, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
                 const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
                 size_t ldc);

/* The ISA micro-kernels (gemm_avx2.c, gemm_avx512.c), each file compiled
 * for its instruction set (*_built is 0 where it was not). One call
 * computes a tile of `rows` x `cols` of C (rows <= MR, cols <= NR): row r of
 * op(A) starts at ar[r] (MR pointers; those past `rows` repeat a valid row)
 * and steps by `as` along k; B is K x N, rows contiguous (row stride ldb),
 * b pointing at the tile's first column. */
#define AE_GEMM_AVX512_MR 8
#define AE_GEMM_AVX512_NR 32
#define AE_GEMM_AVX2_MR 6
#define AE_GEMM_AVX2_NR 16
extern const int ae__gemm_avx2_built, ae__gemm_avx512_built;
void ae__gemm_tile_avx2(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                        size_t cols, float *c, size_t ldc, size_t rows, float alpha, float beta);
/* out[p * n + j] = b[j * ldb + p]: B (n x k) transposed, for the AVX2 and
 * AVX-512 paths (every AVX-512 CPU libae runs the kernels on has AVX2). */
void ae__gemm_pack_bt_avx2(const float *b, size_t ldb, size_t n, size_t k, float *out);
void ae__gemm_tile_avx512(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                          size_t cols, float *c, size_t ldc, size_t rows, float alpha, float beta);

#endif /* AE_CORE_GEMM_H */
