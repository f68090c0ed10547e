/*
 * init.c - parameter initializers shared by the layers with weights
 * (dense, conv2d, conv2d_transpose). Biases start at zero elsewhere.
 */
#include <math.h>

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
