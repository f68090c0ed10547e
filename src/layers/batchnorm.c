/* SPDX-License-Identifier: MIT */
/*
 * batchnorm.c - batch normalization over the first dimension of the sample
 * (channels of {C, H, W}, features of {F}), with PyTorch's conventions:
 * biased batch variance for normalizing, unbiased for the running variance,
 * running = (1 - momentum) * running + momentum * batch.
 *
 * Parameters: "weight" (gamma, starts at 1) and "bias" (beta, starts at 0)
 * are trained; "running_mean" (starts at 0) and "running_var" (starts at 1)
 * are state tensors (the vtable's state_count/state_get): model files store
 * them, the optimizer never sees them, only a training forward() changes
 * them.
 *
 * A training forward() keeps the batch mean and 1/sqrt(var + eps) per
 * channel in the workspace for backward(). A batch with a single value per
 * channel normalizes to 0 (beta) and leaves running_var unchanged (its
 * unbiased estimate is undefined; PyTorch refuses such a batch).
 *
 * Config (8 bytes, little-endian f32): momentum in [0, 1], epsilon > 0.
 * Type version 1.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layer.h"

#define AE__BATCHNORM_CONFIG_SIZE 8 /* f32 momentum, f32 epsilon */

typedef struct batchnorm {
    size_t c, s;        /* channels, values per channel per sample */
    float momentum, eps;
    float *gamma, *beta, *dgamma, *dbeta, *rmean, *rvar; /* c each, one block */
} batchnorm;

size_t ae__batchnorm_config(unsigned char *out, const void *opts);
size_t ae__batchnorm_config(unsigned char *out, const void *opts)
{
    const ae_batchnorm_options *o = opts;
    ae__lef32(out, o->momentum);
    ae__lef32(out + 4, o->epsilon);
    return AE__BATCHNORM_CONFIG_SIZE;
}

static int batchnorm_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    if (args->config == NULL || args->config_size != AE__BATCHNORM_CONFIG_SIZE)
        return ae__error(AE_ERR_INVALID, "batchnorm: config is %zu bytes, expected %d",
                         args->config_size, AE__BATCHNORM_CONFIG_SIZE);
    float momentum = ae__rdf32(args->config);
    float eps = ae__rdf32((const unsigned char *)args->config + 4);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return ae__error(AE_ERR_INVALID, "batchnorm: momentum %g, expected 0 to 1", (double)momentum);
    if (!(eps > 0.0f && isfinite(eps)))
        return ae__error(AE_ERR_INVALID, "batchnorm: epsilon %g, expected finite and > 0", (double)eps);
    batchnorm *b = ae__calloc(1, sizeof *b);
    if (b == NULL)
        return AE_ERR_NOMEM;
    b->c = args->input.dims[0];
    b->s = ae__shape_size(&args->input) / b->c;
    b->momentum = momentum;
    b->eps = eps;
    b->gamma = ae__calloc(6 * b->c, sizeof(float));
    if (b->gamma == NULL) {
        ae__free(b);
        return AE_ERR_NOMEM;
    }
    b->beta = b->gamma + b->c;
    b->dgamma = b->beta + b->c;
    b->dbeta = b->dgamma + b->c;
    b->rmean = b->dbeta + b->c;
    b->rvar = b->rmean + b->c;
    for (size_t i = 0; i < b->c; i++)
        b->gamma[i] = b->rvar[i] = 1.0f;
    *output = args->input;
    *state = b;
    return AE_OK;
}

static void batchnorm_destroy(void *state)
{
    batchnorm *b = state;
    if (b == NULL)
        return;
    ae__free(b->gamma);
    ae__free(b);
}

static size_t batchnorm_param_count(const void *state)
{
    (void)state;
    return 2;
}

static int batchnorm_param_get(void *state, size_t index, ae_param_view *v)
{
    batchnorm *b = state;
    if (index >= 2)
        return ae__error(AE_ERR_INVALID, "batchnorm: no parameter %zu", index);
    v->name = index == 0 ? "weight" : "bias";
    v->value = index == 0 ? b->gamma : b->beta;
    v->grad = index == 0 ? b->dgamma : b->dbeta;
    v->count = b->c;
    memset(&v->shape, 0, sizeof v->shape);
    v->shape.rank = 1;
    v->shape.dims[0] = (uint32_t)b->c;
    return AE_OK;
}

static size_t batchnorm_state_count(const void *state)
{
    (void)state;
    return 2;
}

static int batchnorm_state_get(void *state, size_t index, ae_param_view *v)
{
    batchnorm *b = state;
    if (index >= 2)
        return ae__error(AE_ERR_INVALID, "batchnorm: no state tensor %zu", index);
    v->name = index == 0 ? "running_mean" : "running_var";
    v->value = index == 0 ? b->rmean : b->rvar;
    v->grad = NULL;
    v->count = b->c;
    memset(&v->shape, 0, sizeof v->shape);
    v->shape.rank = 1;
    v->shape.dims[0] = (uint32_t)b->c;
    return AE_OK;
}

static size_t batchnorm_workspace_size(const void *state, size_t batch)
{
    const batchnorm *b = state;
    (void)batch;
    return 2 * b->c * sizeof(float) + 2 * b->c * sizeof(double);
}

static int batchnorm_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    batchnorm *b = state;
    const size_t N = ctx->batch, C = b->c, S = b->s;
    if (!ctx->training) {
        for (size_t n = 0; n < N; n++)
            for (size_t c = 0; c < C; c++) {
                const float k = b->gamma[c] / sqrtf(b->rvar[c] + b->eps);
                const float off = b->beta[c] - b->rmean[c] * k;
                const float *restrict xs = x + (n * C + c) * S;
                float *restrict ys = y + (n * C + c) * S;
                for (size_t i = 0; i < S; i++)
                    ys[i] = xs[i] * k + off;
            }
        return AE_OK;
    }
    if (ctx->workspace == NULL)
        return ae__error(AE_ERR_INVALID, "batchnorm: a training forward needs the workspace");
    double *acc = ctx->workspace, *acc2 = acc + C;
    float *mean = (float *)(acc2 + C), *inv = mean + C;
    const double M = (double)N * (double)S;
    memset(acc, 0, 2 * C * sizeof(double));
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++) {
            const float *restrict xs = x + (n * C + c) * S;
            double s = 0.0;
            for (size_t i = 0; i < S; i++)
                s += xs[i];
            acc[c] += s;
        }
    for (size_t c = 0; c < C; c++)
        mean[c] = (float)(acc[c] / M);
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++) {
            const float *restrict xs = x + (n * C + c) * S;
            const double m = acc[c] / M;
            double s = 0.0;
            for (size_t i = 0; i < S; i++)
                s += ((double)xs[i] - m) * ((double)xs[i] - m);
            acc2[c] += s;
        }
    const float mom = b->momentum;
    for (size_t c = 0; c < C; c++) {
        const double var = acc2[c] / M;
        inv[c] = (float)(1.0 / sqrt(var + (double)b->eps));
        b->rmean[c] = (1.0f - mom) * b->rmean[c] + mom * mean[c];
        if (M > 1.0)
            b->rvar[c] = (1.0f - mom) * b->rvar[c] + mom * (float)(acc2[c] / (M - 1.0));
    }
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++) {
            const float k = inv[c] * b->gamma[c], off = b->beta[c] - mean[c] * k;
            const float *restrict xs = x + (n * C + c) * S;
            float *restrict ys = y + (n * C + c) * S;
            for (size_t i = 0; i < S; i++)
                ys[i] = xs[i] * k + off;
        }
    return AE_OK;
}

static int batchnorm_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                              const float *dy, float *dx)
{
    batchnorm *b = state;
    const size_t N = ctx->batch, C = b->c, S = b->s;
    (void)y;
    if (ctx->workspace == NULL)
        return ae__error(AE_ERR_INVALID, "batchnorm: backward needs the workspace of its forward");
    double *sdy = ctx->workspace, *sdyx = sdy + C; /* sums of dy and dy * xhat */
    const float *mean = (const float *)(sdyx + C), *inv = mean + C;
    memset(sdy, 0, 2 * C * sizeof(double));
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++) {
            const float *restrict xs = x + (n * C + c) * S, *restrict g = dy + (n * C + c) * S;
            const float m = mean[c], k = inv[c];
            double a = 0.0, bb = 0.0;
            for (size_t i = 0; i < S; i++) {
                a += g[i];
                bb += (double)g[i] * (double)((xs[i] - m) * k);
            }
            sdy[c] += a;
            sdyx[c] += bb;
        }
    for (size_t c = 0; c < C; c++) {
        b->dbeta[c] = (float)sdy[c];
        b->dgamma[c] = (float)sdyx[c];
    }
    if (dx == NULL)
        return AE_OK;
    const double M = (double)N * (double)S;
    for (size_t n = 0; n < N; n++)
        for (size_t c = 0; c < C; c++) {
            const float *restrict xs = x + (n * C + c) * S, *restrict g = dy + (n * C + c) * S;
            float *restrict d = dx + (n * C + c) * S;
            const float m = mean[c], k = inv[c], scale = b->gamma[c] * k;
            const float mdy = (float)(sdy[c] / M), mdyx = (float)(sdyx[c] / M);
            for (size_t i = 0; i < S; i++)
                d[i] = scale * (g[i] - mdy - (xs[i] - m) * k * mdyx);
        }
    return AE_OK;
}

const ae_layer_vtable ae__batchnorm_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_BATCHNORM,
    .type_version = 1,
    .create = batchnorm_create,
    .destroy = batchnorm_destroy,
    .param_count = batchnorm_param_count,
    .param_get = batchnorm_param_get,
    .workspace_size = batchnorm_workspace_size,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .state_count = batchnorm_state_count,
    .state_get = batchnorm_state_get,
};
