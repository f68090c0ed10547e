/* SPDX-License-Identifier: MIT */
/*
 * activation_math.h - element-wise activations and their derivatives,
 * shared by the activation layer and the dense layer's fused activation.
 * One switch per call (per batch), never per element; every loop body is
 * branch-free and call-free so the compiler vectorizes it (the library is
 * built with -fno-math-errno and the dynamic vectorizer cost model).
 */
#ifndef AE_LAYERS_ACTIVATION_MATH_H
#define AE_LAYERS_ACTIVATION_MATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

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

/* y[i] = f(y[i]) in place. */
AE__INLINE void ae__activate(int act, float slope, float *restrict y, size_t n)
{
    switch (act) {
    case AE_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case AE_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : slope * y[i];
        break;
    case AE_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = ae__sigmoidf(y[i]);
        break;
    case AE_ACT_TANH:
        for (size_t i = 0; i < n; i++)
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

#endif
