/* SPDX-License-Identifier: MIT */
/*
 * gemm_avx512.c - the AVX-512 GEMM micro-kernel (compiled with -mavx512f
 * -mfma on x86-64, see the Makefile; run only when the CPU has AVX-512F).
 *
 * A tile is 8 rows x 32 columns of C held in 16 zmm registers; each step of
 * k loads one row of B's panel (2 vectors), broadcasts 8 elements of A and
 * does 16 fused multiply-adds. B is read in place (K x N, rows contiguous:
 * ae__gemm_run packs a transposed B first); A is read in place either way.
 * Column tails use masked loads and stores; a row tail repeats row 0's
 * pointer for the missing rows and stores only the real ones.
 */
#include "core/gemm.h"

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>

const int ae__gemm_avx512_built = 1;


static inline void store_row(float *c, __m512 v0, __m512 v1, __mmask16 m0, __mmask16 m1,
                             float alpha, float beta)
{
    if (alpha != 1.0f) {
        __m512 va = _mm512_set1_ps(alpha);
        v0 = _mm512_mul_ps(v0, va);
        v1 = _mm512_mul_ps(v1, va);
    }
    if (beta != 0.0f) {
        __m512 o0 = _mm512_maskz_loadu_ps(m0, c), o1 = _mm512_maskz_loadu_ps(m1, c + 16);
        if (beta != 1.0f) {
            __m512 vb = _mm512_set1_ps(beta);
            o0 = _mm512_mul_ps(o0, vb);
            o1 = _mm512_mul_ps(o1, vb);
        }
        v0 = _mm512_add_ps(v0, o0);
        v1 = _mm512_add_ps(v1, o1);
    }
    _mm512_mask_storeu_ps(c, m0, v0);
    _mm512_mask_storeu_ps(c + 16, m1, v1);
}

#define FMA_ROW(r)                                                                                 \
    do {                                                                                           \
        __m512 x = _mm512_set1_ps(*p##r);                                                          \
        c##r##0 = _mm512_fmadd_ps(x, b0, c##r##0);                                                 \
        c##r##1 = _mm512_fmadd_ps(x, b1, c##r##1);                                                 \
        p##r += as;                                                                                \
    } while (0)

/* One 8 x 32 tile (see gemm.h: ae__gemm_tile_avx512). */
static inline void tile(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                 __mmask16 m0, __mmask16 m1, float *c, size_t ldc, size_t mr, float alpha,
                 float beta)
{
    const float *p0 = ar[0], *p1 = ar[1], *p2 = ar[2], *p3 = ar[3], *p4 = ar[4], *p5 = ar[5];
    const float *p6 = ar[6], *p7 = ar[7];
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    __m512 c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (size_t p = 0; p < k; p++, b += ldb) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
        FMA_ROW(0);
        FMA_ROW(1);
        FMA_ROW(2);
        FMA_ROW(3);
        FMA_ROW(4);
        FMA_ROW(5);
        FMA_ROW(6);
        FMA_ROW(7);
    }
    store_row(c, c00, c01, m0, m1, alpha, beta);
    if (mr > 1)
        store_row(c + ldc, c10, c11, m0, m1, alpha, beta);
    if (mr > 2)
        store_row(c + 2 * ldc, c20, c21, m0, m1, alpha, beta);
    if (mr > 3)
        store_row(c + 3 * ldc, c30, c31, m0, m1, alpha, beta);
    if (mr > 4)
        store_row(c + 4 * ldc, c40, c41, m0, m1, alpha, beta);
    if (mr > 5)
        store_row(c + 5 * ldc, c50, c51, m0, m1, alpha, beta);
    if (mr > 6)
        store_row(c + 6 * ldc, c60, c61, m0, m1, alpha, beta);
    if (mr > 7)
        store_row(c + 7 * ldc, c70, c71, m0, m1, alpha, beta);
}

static __mmask16 mask_of(size_t cols)
{
    unsigned bits = cols >= 16 ? 0xFFFFu : (1u << cols) - 1u;
    return (__mmask16)bits;
}

void ae__gemm_tile_avx512(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                          size_t cols, float *c, size_t ldc, size_t rows, float alpha, float beta)
{
    tile(k, ar, as, b, ldb, mask_of(cols), mask_of(cols > 16 ? cols - 16 : 0), c, ldc, rows, alpha,
         beta);
}

#else

const int ae__gemm_avx512_built = 0;

void ae__gemm_tile_avx512(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                          size_t cols, float *c, size_t ldc, size_t rows, float alpha, float beta)
{
    (void)k, (void)ar, (void)as, (void)b, (void)ldb, (void)cols, (void)c, (void)ldc, (void)rows,
        (void)alpha, (void)beta;
}

#endif
