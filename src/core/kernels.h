/* SPDX-License-Identifier: MIT */
/*
 * kernels.h - the library's one home for element-wise kernels and the small
 * helpers of the same family: the ae__v* loops, activations and their
 * derivatives (shared by the activation layer and the fused activations of
 * dense and convolution layers), rounding up to an alignment, little-endian
 * fields (config blobs and model files), and the inference chunk size.
 *
 * One switch per call (per batch), never per element; every loop body is
 * branch-free and call-free so the compiler vectorizes it (the library is
 * built with -fno-math-errno and the dynamic vectorizer cost model).
 */
#ifndef AE_CORE_KERNELS_H
#define AE_CORE_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ae/layer.h"

/* The helpers below are inlined into their callers even when large, so a
 * caller compiled for AVX2 (AE__VECTOR_CLONES) vectorizes them for AVX2. */
#if defined(__GNUC__)
#define AE__INLINE static inline __attribute__((always_inline))
#else
#define AE__INLINE static inline
#endif

static inline int ae__activation_valid(int act)
{
    return act >= AE_ACT_IDENTITY && act <= AE_ACT_TANH;
}

/*
 * e^x in float, within 2 ulp of the exact value for x in [-87, 88]; inputs
 * outside are clamped to it (e^-87 = 1.6e-38, e^88 = 1.65e38) and NaN stays
 * NaN. Cephes's expf: x = n ln2 + r with |r| <= ln2/2 (n rounded to nearest
 * with the 1.5 * 2^23 trick, ln2 split in two so n ln2 is exact), a degree-6
 * polynomial for e^r, and 2^n built in the exponent bits. No libm call and
 * no branch, so loops over it vectorize; the same bits on every x86-64 ISA
 * (no fused multiply-add: C11 mode keeps -ffp-contract=off).
 */
AE__INLINE float ae__expf(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    const float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    union {
        int32_t i;
        float f;
    } scale;
    /* n in [-126, 127]: a normal 2^n. A NaN x stays NaN through p; only its
     * n must not reach the integer conversion (undefined behaviour). */
    const float n_ok = n == n ? n : 0.0f;
    scale.i = ((int32_t)n_ok + 127) * (1 << 23);
    return p * scale.f;
}

/* 1 / (1 + e^-x) through ae__expf: 0 < result <= 1. */
AE__INLINE float ae__sigmoidf(float x) { return 1.0f / (1.0f + ae__expf(-x)); }

/* y[i] = f(y[i]) in place; relu and leaky relu in blocks of 8 (a max, not
 * a branch that random signs keep mispredicting). */
AE__INLINE void ae__activate(int act, float slope, float *restrict y, size_t n)
{
    size_t i = 0;
    switch (act) {
    case AE_ACT_RELU:
        for (; i + 8 <= n; i += 8)
            for (size_t k = 0; k < 8; k++)
                y[i + k] = y[i + k] > 0.0f ? y[i + k] : 0.0f;
        for (; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case AE_ACT_LEAKY_RELU:
        for (; i + 8 <= n; i += 8)
            for (size_t k = 0; k < 8; k++)
                y[i + k] = y[i + k] > 0.0f ? y[i + k] : slope * y[i + k];
        for (; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : slope * y[i];
        break;
    case AE_ACT_SIGMOID:
        for (; i < n; i++)
            y[i] = ae__sigmoidf(y[i]);
        break;
    case AE_ACT_TANH:
        for (; i < n; i++)
            y[i] = tanhf(y[i]);
        break;
    default:
        break;
    }
}

/* One row: y[j] = f(y[j] + b[j]) for j < n (the dense layer's bias and
 * activation in one pass over its output). */
AE__INLINE void ae__bias_activate_row(int act, float slope, float *restrict y,
                                         const float *restrict b, size_t n)
{
    switch (act) {
    case AE_ACT_RELU:
        for (size_t j = 0; j < n; j++) {
            float v = y[j] + b[j];
            y[j] = v > 0.0f ? v : 0.0f;
        }
        break;
    case AE_ACT_LEAKY_RELU:
        for (size_t j = 0; j < n; j++) {
            float v = y[j] + b[j];
            y[j] = v > 0.0f ? v : slope * v;
        }
        break;
    case AE_ACT_SIGMOID:
        for (size_t j = 0; j < n; j++)
            y[j] = ae__sigmoidf(y[j] + b[j]);
        break;
    case AE_ACT_TANH:
        for (size_t j = 0; j < n; j++)
            y[j] = tanhf(y[j] + b[j]);
        break;
    default:
        for (size_t j = 0; j < n; j++)
            y[j] += b[j];
        break;
    }
}

/* dx[i] = dy[i] * f'(x[i]), written from the output y = f(x). dx may alias dy. */
AE__INLINE void ae__activation_grad(int act, float slope, const float *y,
                                       const float *dy, float *dx, size_t n)
{
    switch (act) {
    case AE_ACT_RELU:
        for (size_t i = 0; i < n; i++) {
            const float g = dy[i], v = y[i]; /* both loaded: a select of values */
            dx[i] = v > 0.0f ? g : 0.0f;
        }
        break;
    case AE_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            const float g = dy[i], v = y[i];
            dx[i] = v > 0.0f ? g : slope * g;
        }
        break;
    case AE_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dx[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case AE_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dx[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            dx[i] = dy[i];
        break;
    }
}

/* One row of the dense layer's backward pass: dz[j] = dy[j] * f'(x[j])
 * (from y = f(x)) and db[j] += dz[j]. dz may alias dy. */
AE__INLINE void ae__activation_grad_row_bias(int act, float slope, const float *y,
                                                const float *dy, float *dz,
                                                float *restrict db, size_t n)
{
    switch (act) {
    case AE_ACT_RELU:
        for (size_t j = 0; j < n; j++) {
            const float g = dy[j], v = y[j];
            const float d = v > 0.0f ? g : 0.0f;
            dz[j] = d;
            db[j] += d;
        }
        break;
    case AE_ACT_LEAKY_RELU:
        for (size_t j = 0; j < n; j++) {
            const float g = dy[j], v = y[j];
            const float d = v > 0.0f ? g : slope * g;
            dz[j] = d;
            db[j] += d;
        }
        break;
    case AE_ACT_SIGMOID:
        for (size_t j = 0; j < n; j++) {
            float d = dy[j] * y[j] * (1.0f - y[j]);
            dz[j] = d;
            db[j] += d;
        }
        break;
    case AE_ACT_TANH:
        for (size_t j = 0; j < n; j++) {
            float d = dy[j] * (1.0f - y[j] * y[j]);
            dz[j] = d;
            db[j] += d;
        }
        break;
    default:
        for (size_t j = 0; j < n; j++) {
            float d = dy[j];
            dz[j] = d;
            db[j] += d;
        }
        break;
    }
}

/* ---- element-wise helpers -------------------------------------------------
 * Loops in blocks of 8 with a fixed trip count: GCC vectorizes them even at
 * -O2 (whose cost model leaves loops of unknown length scalar), and the
 * relu comparisons become max instructions instead of branches that random
 * signs keep mispredicting. */

/* 1 when none of the n values is NaN or infinite. The test is on the bits
 * (largest magnitude below the exponent's all-ones pattern), an integer max
 * the compiler vectorizes; a chain of float operations does not (each add
 * waits for the last: ~4 cycles per value, 20 ms for Fashion-MNIST). */
AE__INLINE int ae__all_finite(const float *restrict x, size_t n)
{
    uint32_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        u &= 0x7fffffffu;
        worst = u > worst ? u : worst;
    }
    return worst < 0x7f800000u;
}

/* Index of the first NaN or infinity among n floats, or n when all are
 * finite (the vectorized test first: the scan runs only when one is
 * there). The model-file writer, the ONNX exporter and training's data
 * check share it. */
AE__INLINE size_t ae__first_nonfinite(const float *x, size_t n)
{
    if (ae__all_finite(x, n))
        return n;
    size_t i = 0;
    while (i < n && isfinite(x[i]))
        i++;
    return i;
}

static inline void ae__vfill(float *restrict d, float v, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            d[i + k] = v;
    for (; i < n; i++)
        d[i] = v;
}

static inline void ae__vadd(float *restrict d, const float *restrict s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            d[i + k] += s[i + k];
    for (; i < n; i++)
        d[i] += s[i];
}

static inline void ae__vadd_scalar(float *restrict d, float v, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            d[i + k] += v;
    for (; i < n; i++)
        d[i] += v;
}

static inline float ae__vsum(const float *restrict s, size_t n)
{
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            acc[k] += s[i + k];
    float t = 0.0f;
    for (; i < n; i++)
        t += s[i];
    return t + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* d[i] += a * s[i] */
static inline void ae__vaxpy(float *restrict d, float a, const float *restrict s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            d[i + k] += a * s[i + k];
    for (; i < n; i++)
        d[i] += a * s[i];
}

/* sum of a[i] * b[i] */
static inline float ae__vdot(const float *restrict a, const float *restrict b, size_t n)
{
    float acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t k = 0; k < 8; k++)
            acc[k] += a[i + k] * b[i + k];
    float t = 0.0f;
    for (; i < n; i++)
        t += a[i] * b[i];
    return t + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}


/* ae__activation_grad likewise; dx must not alias y or dy. */
static inline void ae__vactivation_grad(int act, float slope, const float *restrict y,
                                        const float *restrict dy, float *restrict dx, size_t n)
{
    size_t i = 0;
    /* both operands loaded first: a select of values, not of loads */
    if (act == AE_ACT_RELU) {
        for (; i + 8 <= n; i += 8)
            for (size_t k = 0; k < 8; k++) {
                const float g = dy[i + k], v = y[i + k];
                dx[i + k] = v > 0.0f ? g : 0.0f;
            }
    } else if (act == AE_ACT_LEAKY_RELU) {
        for (; i + 8 <= n; i += 8)
            for (size_t k = 0; k < 8; k++) {
                const float g = dy[i + k], v = y[i + k];
                dx[i + k] = v > 0.0f ? g : slope * g;
            }
    }
    ae__activation_grad(act, slope, y + i, dy + i, dx + i, n - i);
}

/* ---- rounding up, chunks --------------------------------------------------- */

/* n rounded up to a multiple of align (a power of two); SIZE_MAX when that
 * does not fit, which every caller's overflow check then refuses. */
static inline size_t ae__round_up(size_t n, size_t align)
{
    return n > SIZE_MAX - (align - 1) ? SIZE_MAX : (n + align - 1) & ~(align - 1);
}

/* Samples per inference chunk (encode, decode, reconstruct, evaluate,
 * scores, latent tools): bounds scratch memory for large inputs. */
#define AE__CHUNK 256

/* ---- little-endian fields (config blobs, model files) ---------------------- */

static inline void ae__le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static inline void ae__le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline void ae__le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static inline void ae__lef32(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    ae__le32(p, v);
}
/* The spelling config-blob code has used since 1.0 (layers, ae-inspect, the
 * ONNX exporter): the same functions under their older names. */
#define ae__put_u32 ae__le32
#define ae__put_f32 ae__lef32
#define ae__get_u32 ae__rd32
#define ae__get_f32 ae__rdf32

static inline uint16_t ae__rd16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t ae__rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ae__rd64(const unsigned char *p)
{
    return (uint64_t)ae__rd32(p) | (uint64_t)ae__rd32(p + 4) << 32;
}
static inline float ae__rdf32(const unsigned char *p)
{
    uint32_t v = ae__rd32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}
static inline double ae__rdf64(const unsigned char *p)
{
    uint64_t v = ae__rd64(p);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

#endif
