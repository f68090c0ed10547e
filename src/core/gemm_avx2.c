/* SPDX-License-Identifier: MIT */
/*
 * gemm_avx2.c - the AVX2 + FMA GEMM micro-kernel (compiled with -mavx2
 * -mfma on x86-64, see the Makefile; run only when the CPU has both).
 *
 * The same scheme as gemm_avx512.c at half the width: a tile is 6 rows x
 * 16 columns of C in 12 ymm registers, 2 loads of B, 6 broadcasts of A and
 * 12 fused multiply-adds per step of k. The column tail of a product (fewer
 * than 16 columns) goes through a copy of the tile with masked loads and
 * stores; full tiles use plain ones.
 */
#include "core/gemm.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

const int ae__gemm_avx2_built = 1;

#define NR AE_GEMM_AVX2_NR

#define LOAD(ptr, mask) (full ? _mm256_loadu_ps(ptr) : _mm256_maskload_ps(ptr, mask))

static inline __attribute__((always_inline)) void
store_row(float *c, __m256 v0, __m256 v1, __m256i m0, __m256i m1, float alpha, float beta, int full)
{
    if (alpha != 1.0f) {
        __m256 va = _mm256_set1_ps(alpha);
        v0 = _mm256_mul_ps(v0, va);
        v1 = _mm256_mul_ps(v1, va);
    }
    if (beta != 0.0f) {
        __m256 o0 = LOAD(c, m0), o1 = LOAD(c + 8, m1);
        if (beta != 1.0f) {
            __m256 vb = _mm256_set1_ps(beta);
            o0 = _mm256_mul_ps(o0, vb);
            o1 = _mm256_mul_ps(o1, vb);
        }
        v0 = _mm256_add_ps(v0, o0);
        v1 = _mm256_add_ps(v1, o1);
    }
    if (full) {
        _mm256_storeu_ps(c, v0);
        _mm256_storeu_ps(c + 8, v1);
    } else {
        _mm256_maskstore_ps(c, m0, v0);
        _mm256_maskstore_ps(c + 8, m1, v1);
    }
}

#define FMA_ROW(r)                                                                                 \
    do {                                                                                           \
        __m256 x = _mm256_broadcast_ss(p##r);                                                      \
        c##r##0 = _mm256_fmadd_ps(x, b0, c##r##0);                                                 \
        c##r##1 = _mm256_fmadd_ps(x, b1, c##r##1);                                                 \
        p##r += as;                                                                                \
    } while (0)

static inline __attribute__((always_inline)) void
tile(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb, __m256i m0,
     __m256i m1, float *c, size_t ldc, size_t mr, float alpha, float beta, int full)
{
    const float *p0 = ar[0], *p1 = ar[1], *p2 = ar[2], *p3 = ar[3], *p4 = ar[4], *p5 = ar[5];
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (size_t p = 0; p < k; p++, b += ldb) {
        __m256 b0 = LOAD(b, m0), b1 = LOAD(b + 8, m1);
        FMA_ROW(0);
        FMA_ROW(1);
        FMA_ROW(2);
        FMA_ROW(3);
        FMA_ROW(4);
        FMA_ROW(5);
    }
    store_row(c, c00, c01, m0, m1, alpha, beta, full);
    if (mr > 1)
        store_row(c + ldc, c10, c11, m0, m1, alpha, beta, full);
    if (mr > 2)
        store_row(c + 2 * ldc, c20, c21, m0, m1, alpha, beta, full);
    if (mr > 3)
        store_row(c + 3 * ldc, c30, c31, m0, m1, alpha, beta, full);
    if (mr > 4)
        store_row(c + 4 * ldc, c40, c41, m0, m1, alpha, beta, full);
    if (mr > 5)
        store_row(c + 5 * ldc, c50, c51, m0, m1, alpha, beta, full);
}

static void tile_full(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                      float *c, size_t ldc, size_t mr, float alpha, float beta)
{
    __m256i none = _mm256_setzero_si256();
    tile(k, ar, as, b, ldb, none, none, c, ldc, mr, alpha, beta, 1);
}

static void tile_tail(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                      __m256i m0, __m256i m1, float *c, size_t ldc, size_t mr, float alpha,
                      float beta)
{
    tile(k, ar, as, b, ldb, m0, m1, c, ldc, mr, alpha, beta, 0);
}

/* Lanes below `cols` set (the sign bit is what maskload reads). */
static __m256i mask_of(size_t cols)
{
    int lane[8];
    for (size_t i = 0; i < 8; i++)
        lane[i] = i < cols ? -1 : 0;
    return _mm256_setr_epi32(lane[0], lane[1], lane[2], lane[3], lane[4], lane[5], lane[6], lane[7]);
}

void ae__gemm_tile_avx2(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                        size_t cols, float *c, size_t ldc, size_t rows, float alpha, float beta)
{
    if (cols == NR)
        tile_full(k, ar, as, b, ldb, c, ldc, rows, alpha, beta);
    else
        tile_tail(k, ar, as, b, ldb, mask_of(cols), mask_of(cols > 8 ? cols - 8 : 0), c, ldc, rows,
                  alpha, beta);
}

/* op(B) = B^T packed row-major: out[p * n + j] = b[j * ldb + p], B n x k.
 * 8 x 8 blocks transposed in registers (unpack, shuffle, lane permute), the
 * edges element by element. */
void ae__gemm_pack_bt_avx2(const float *b, size_t ldb, size_t n, size_t k, float *out)
{
    size_t n8 = n - n % 8, k8 = k - k % 8;
    for (size_t j = 0; j < n8; j += 8) {
        const float *bj = b + j * ldb;
        for (size_t p = 0; p < k8; p += 8) {
            __m256 r0 = _mm256_loadu_ps(bj + p), r1 = _mm256_loadu_ps(bj + ldb + p);
            __m256 r2 = _mm256_loadu_ps(bj + 2 * ldb + p), r3 = _mm256_loadu_ps(bj + 3 * ldb + p);
            __m256 r4 = _mm256_loadu_ps(bj + 4 * ldb + p), r5 = _mm256_loadu_ps(bj + 5 * ldb + p);
            __m256 r6 = _mm256_loadu_ps(bj + 6 * ldb + p), r7 = _mm256_loadu_ps(bj + 7 * ldb + p);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
            float *o = out + p * n + j;
            _mm256_storeu_ps(o, _mm256_permute2f128_ps(s0, s4, 0x20));
            _mm256_storeu_ps(o + n, _mm256_permute2f128_ps(s1, s5, 0x20));
            _mm256_storeu_ps(o + 2 * n, _mm256_permute2f128_ps(s2, s6, 0x20));
            _mm256_storeu_ps(o + 3 * n, _mm256_permute2f128_ps(s3, s7, 0x20));
            _mm256_storeu_ps(o + 4 * n, _mm256_permute2f128_ps(s0, s4, 0x31));
            _mm256_storeu_ps(o + 5 * n, _mm256_permute2f128_ps(s1, s5, 0x31));
            _mm256_storeu_ps(o + 6 * n, _mm256_permute2f128_ps(s2, s6, 0x31));
            _mm256_storeu_ps(o + 7 * n, _mm256_permute2f128_ps(s3, s7, 0x31));
        }
        for (size_t jj = j; jj < j + 8; jj++)
            for (size_t p = k8; p < k; p++)
                out[p * n + jj] = b[jj * ldb + p];
    }
    for (size_t j = n8; j < n; j++)
        for (size_t p = 0; p < k; p++)
            out[p * n + j] = b[j * ldb + p];
}

#else

const int ae__gemm_avx2_built = 0;

void ae__gemm_tile_avx2(size_t k, const float *const *ar, size_t as, const float *b, size_t ldb,
                        size_t cols, float *c, size_t ldc, size_t rows, float alpha, float beta)
{
    (void)k, (void)ar, (void)as, (void)b, (void)ldb, (void)cols, (void)c, (void)ldc, (void)rows,
        (void)alpha, (void)beta;
}

void ae__gemm_pack_bt_avx2(const float *b, size_t ldb, size_t n, size_t k, float *out)
{
    (void)b, (void)ldb, (void)n, (void)k, (void)out;
}

#endif
