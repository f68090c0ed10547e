/* SPDX-License-Identifier: MIT */
/* sgd.c - the SGD update loop (plain, momentum, Nesterov); see kernels.h. */
#include "core/core.h"
#include "optim/kernels.h"

static inline void sgd_plain(float *restrict w, const float *restrict g, size_t n,
                      float lr, float wd)
{
    for (size_t i = 0; i < n; i++)
        w[i] -= lr * (g[i] + wd * w[i]);
}

static inline void sgd_momentum(float *restrict w, const float *restrict g,
                         float *restrict buf, size_t n, float lr, float mom,
                         float wd)
{
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        float b = mom * buf[i] + d;
        buf[i] = b;
        w[i] -= lr * b;
    }
}

static inline void sgd_nesterov(float *restrict w, const float *restrict g,
                         float *restrict buf, size_t n, float lr, float mom,
                         float wd)
{
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        float b = mom * buf[i] + d;
        buf[i] = b;
        w[i] -= lr * (d + mom * b);
    }
}

AE__VECTOR_CLONES
void ae__sgd_update(float *restrict w, const float *restrict g,
                    float *restrict buf, size_t n, float lr, float momentum,
                    float weight_decay, int nesterov)
{
    if (momentum == 0.0f || buf == NULL)
        sgd_plain(w, g, n, lr, weight_decay);
    else if (nesterov)
        sgd_nesterov(w, g, buf, n, lr, momentum, weight_decay);
    else
        sgd_momentum(w, g, buf, n, lr, momentum, weight_decay);
}
