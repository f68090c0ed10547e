/* SPDX-License-Identifier: MIT */
/*
 * init.c - what the layers with a weight tensor and an optional bias
 * (dense, conv2d, conv2d_transpose) share: the weight initializers (biases
 * start at zero) and the description of their two parameter tensors.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layer.h"

void ae__init_weights(float *w, size_t n, size_t fan_in, size_t fan_out, int init, ae_rng *rng)
{
    double limit, stddev;
    switch (init) {
    case AE_INIT_GLOROT_NORMAL:
        stddev = sqrt(2.0 / (double)(fan_in + fan_out));
        for (size_t i = 0; i < n; i++)
            w[i] = (float)(stddev * ae_rng_normal(rng));
        break;
    case AE_INIT_HE_UNIFORM:
        limit = sqrt(6.0 / (double)fan_in);
        for (size_t i = 0; i < n; i++)
            w[i] = (float)(limit * (2.0 * ae_rng_uniform(rng) - 1.0));
        break;
    case AE_INIT_HE_NORMAL:
        stddev = sqrt(2.0 / (double)fan_in);
        for (size_t i = 0; i < n; i++)
            w[i] = (float)(stddev * ae_rng_normal(rng));
        break;
    default: /* AE_INIT_GLOROT_UNIFORM */
        limit = sqrt(6.0 / (double)(fan_in + fan_out));
        for (size_t i = 0; i < n; i++)
            w[i] = (float)(limit * (2.0 * ae_rng_uniform(rng) - 1.0));
        break;
    }
}

int ae__weight_bias_alloc(size_t wn, size_t nb, int init, size_t fan_in, size_t fan_out,
                          ae_rng *rng, float **w, float **dw, float **b, float **db)
{
    float *block = ae__calloc(2 * wn + 2 * nb, sizeof(float)); /* sizes checked by the kinds */
    if (block == NULL)
        return AE_ERR_NOMEM;
    *w = block;
    *dw = block + wn;
    *b = nb ? block + 2 * wn : NULL;
    *db = nb ? block + 2 * wn + nb : NULL;
    ae__init_weights(block, wn, fan_in, fan_out, init, rng);
    return AE_OK;
}

int ae__weight_bias_view(const char *who, size_t index, ae_param_view *v, float *w, float *dw,
                         const ae_shape *wshape, float *b, float *db, size_t nb)
{
    memset(&v->shape, 0, sizeof v->shape);
    if (index == 0) {
        v->name = "weight";
        v->value = w;
        v->grad = dw;
        v->count = ae__shape_size(wshape);
        v->shape = *wshape;
        return AE_OK;
    }
    if (index == 1 && b != NULL) {
        v->name = "bias";
        v->value = b;
        v->grad = db;
        v->count = nb;
        v->shape.rank = 1;
        v->shape.dims[0] = (uint32_t)nb;
        return AE_OK;
    }
    return ae__error(AE_ERR_INVALID, "%s: no parameter %zu", who, index);
}
