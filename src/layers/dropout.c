/* SPDX-License-Identifier: MIT */
/*
 * dropout.c - inverted dropout. Training: each value is kept with
 * probability 1 - rate and scaled by 1 / (1 - rate), else zeroed; the
 * decisions come from ctx->rng (the training generator, so a seed gives the
 * same masks) and are kept in the workspace for backward. Inference: the
 * identity.
 *
 * Config (4 bytes, little-endian f32): rate in [0, 1). Type version 1.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layer.h"

#define AE__DROPOUT_CONFIG_SIZE 4 /* f32 rate */

typedef struct dropout {
    size_t size;        /* floats per sample */
    float rate, scale;  /* scale = 1 / (1 - rate) */
    uint64_t threshold; /* a value is dropped when its 24 random bits are below it */
} dropout;

size_t ae__dropout_config(unsigned char *out, const void *opts);
size_t ae__dropout_config(unsigned char *out, const void *opts)
{
    ae__lef32(out, ((const ae_dropout_options *)opts)->rate);
    return AE__DROPOUT_CONFIG_SIZE;
}

static int dropout_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    if (args->config == NULL || args->config_size != AE__DROPOUT_CONFIG_SIZE)
        return ae__error(AE_ERR_INVALID, "dropout: config is %zu bytes, expected %d",
                         args->config_size, AE__DROPOUT_CONFIG_SIZE);
    float rate = ae__rdf32(args->config);
    if (!(rate >= 0.0f && rate < 1.0f))
        return ae__error(AE_ERR_INVALID, "dropout: rate %g, expected 0 <= rate < 1", (double)rate);
    dropout *d = ae__alloc(sizeof *d);
    if (d == NULL)
        return AE_ERR_NOMEM;
    d->size = ae__shape_size(&args->input);
    d->rate = rate;
    d->scale = (float)(1.0 / (1.0 - (double)rate));
    d->threshold = (uint64_t)llround((double)rate * 16777216.0);
    *output = args->input;
    *state = d;
    return AE_OK;
}

static void dropout_destroy(void *state) { ae__free(state); }

static size_t dropout_workspace_size(const void *state, size_t batch)
{
    const dropout *d = state;
    return d->rate > 0.0f ? batch * d->size : 0; /* one mask byte per value */
}

static int dropout_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const dropout *d = state;
    const size_t n = ctx->batch * d->size;
    if (!ctx->training || d->rate == 0.0f) {
        if (y != x)
            memcpy(y, x, n * sizeof(float));
        return AE_OK;
    }
    if (ctx->rng == NULL || ctx->workspace == NULL)
        return ae__error(AE_ERR_INVALID, "dropout: a training forward needs ctx->rng and the workspace");
    unsigned char *mask = ctx->workspace;
    const float scale = d->scale;
    for (size_t i = 0; i < n; i++) {
        unsigned char keep = (ae_rng_next(ctx->rng) >> 40) >= d->threshold;
        mask[i] = keep;
        y[i] = keep ? x[i] * scale : 0.0f;
    }
    return AE_OK;
}

static int dropout_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                            const float *dy, float *dx)
{
    const dropout *d = state;
    const size_t n = ctx->batch * d->size;
    (void)x;
    (void)y;
    if (dx == NULL)
        return AE_OK;
    if (!ctx->training || d->rate == 0.0f) {
        if (dx != dy)
            memcpy(dx, dy, n * sizeof(float));
        return AE_OK;
    }
    if (ctx->workspace == NULL)
        return ae__error(AE_ERR_INVALID, "dropout: backward needs the workspace of its forward");
    const unsigned char *mask = ctx->workspace;
    const float scale = d->scale;
    for (size_t i = 0; i < n; i++)
        dx[i] = mask[i] ? dy[i] * scale : 0.0f;
    return AE_OK;
}

const ae_layer_vtable ae__dropout_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_DROPOUT,
    .type_version = 1,
    .create = dropout_create,
    .destroy = dropout_destroy,
    .workspace_size = dropout_workspace_size,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
