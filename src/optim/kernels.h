/* SPDX-License-Identifier: MIT */
/* kernels.h - the element-wise update loops behind ae__optimizer_step().
 * One file per kind (sgd.c, adam.c). Hyper-parameters arrive as float
 * coefficients computed once per step; the loops never branch per element. */
#ifndef AE_OPTIM_KERNELS_H
#define AE_OPTIM_KERNELS_H

#include <stddef.h>

/*
 * SGD on n floats (PyTorch's torch.optim.SGD with dampening 0):
 *   d = g + wd*w
 *   momentum == 0: w -= lr*d                       (buf unused, may be NULL)
 *   otherwise:     buf = momentum*buf + d
 *                  w -= lr * (nesterov ? d + momentum*buf : buf)
 * buf starts zeroed, so the first step leaves buf = d as PyTorch does.
 */
void ae__sgd_update(float *restrict w, const float *restrict g,
                    float *restrict buf, size_t n, float lr, float momentum,
                    float weight_decay, int nesterov);

/* Adam/AdamW coefficients of one step (bias corrections folded in). */
typedef struct ae__adam_coef {
    float decay;        /* AdamW: 1 - lr*wd, applied to w first; Adam: 1 */
    float l2;           /* Adam: wd, added as g += l2*w; AdamW: 0 */
    float beta1, one_minus_beta1;
    float beta2, one_minus_beta2;
    float step_size;    /* lr / (1 - beta1^t) */
    float inv_bc2_sqrt; /* 1 / sqrt(1 - beta2^t) */
    float epsilon;
} ae__adam_coef;

/*
 * Adam on n floats (PyTorch's torch.optim.Adam / AdamW):
 *   w *= decay; d = g + l2*w
 *   m = beta1*m + (1-beta1)*d;  v = beta2*v + (1-beta2)*d^2
 *   w -= step_size * m / (sqrt(v)*inv_bc2_sqrt + epsilon)
 */
void ae__adam_update(float *restrict w, const float *restrict g,
                     float *restrict m, float *restrict v, size_t n,
                     const ae__adam_coef *c);

#endif /* AE_OPTIM_KERNELS_H */
