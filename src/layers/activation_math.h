/*
 * activation_math.h - element-wise activations and their derivatives,
 * shared by the activation layer and the dense layer's fused activation.
 * One switch per call (per batch), never per element.
 */
#ifndef AE_LAYERS_ACTIVATION_MATH_H
#define AE_LAYERS_ACTIVATION_MATH_H

#include <math.h>
#include <stddef.h>

#include "ae/layer.h"

static inline int ae__activation_valid(int act)
{
    return act >= AE_ACT_IDENTITY && act <= AE_ACT_TANH;
}

/* y[i] = f(y[i]) in place. */
static inline void ae__activate(int act, float slope, float *restrict y, size_t n)
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
            y[i] = 1.0f / (1.0f + expf(-y[i]));
        break;
    case AE_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(y[i]);
        break;
    default:
        break;
    }
}

/* dx[i] = dy[i] * f'(x[i]), written from the output y = f(x). dx may alias dy. */
static inline void ae__activation_grad(int act, float slope, const float *y,
                                       const float *dy, float *dx, size_t n)
{
    switch (act) {
    case AE_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case AE_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            dx[i] = y[i] > 0.0f ? dy[i] : slope * dy[i];
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

#endif
