/* SPDX-License-Identifier: MIT */
/*
 * gaussian_sample.c - the reparameterised Gaussian sample of a variational
 * autoencoder. The input holds 2k values per sample: k means mu, then k
 * log-variances lv. The output has k values:
 *
 *   training:  z = mu + exp(lv / 2) * eps,  eps ~ N(0, I) from ctx->rng
 *   inference: z = mu
 *
 * eps is kept in the workspace between forward and backward, so the
 * gradient is dz/dmu = 1, dz/dlv = exp(lv / 2) * eps / 2. No parameters.
 * Config: none (0 bytes). Type version 1.
 *
 * The KL term (-1/2 sum(1 + lv - mu^2 - exp(lv))) is not part of the layer:
 * the KL term arrives with the training issue's loss-term hook (issue 14).
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layer.h"

typedef struct gsample {
    size_t k; /* latent values per sample; the input has 2k */
} gsample;

size_t ae__gaussian_sample_config(unsigned char *out, const void *opts);
size_t ae__gaussian_sample_config(unsigned char *out, const void *opts)
{
    (void)out;
    (void)opts;
    return 0;
}

static int gsample_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    char buf[64];
    if (args->config_size != 0)
        return ae__error(AE_ERR_INVALID, "gaussian_sample: config is %zu bytes, expected none",
                         args->config_size);
    const size_t n = ae__shape_size(&args->input);
    if (n % 2 != 0)
        return ae__error(AE_ERR_SHAPE, "gaussian_sample: input %s has %zu values, expected an even "
                         "number (k means, then k log-variances)",
                         ae__shape_str(&args->input, buf, sizeof buf), n);
    gsample *g = ae__alloc(sizeof *g);
    if (g == NULL)
        return AE_ERR_NOMEM;
    g->k = n / 2;
    memset(output, 0, sizeof *output);
    output->rank = 1;
    output->dims[0] = (uint32_t)g->k;
    *state = g;
    return AE_OK;
}

static void gsample_destroy(void *state) { ae__free(state); }

static size_t gsample_workspace_size(const void *state, size_t batch)
{
    const gsample *g = state;
    return batch * g->k * sizeof(float); /* eps, for backward */
}

static int gsample_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *z)
{
    const gsample *g = state;
    const size_t k = g->k;
    if (!ctx->training) {
        for (size_t s = 0; s < ctx->batch; s++)
            memmove(z + s * k, x + s * 2 * k, k * sizeof(float));
        return AE_OK;
    }
    if (ctx->rng == NULL || ctx->workspace == NULL)
        return ae__error(AE_ERR_INVALID,
                         "gaussian_sample: a training forward needs ctx->rng and the workspace");
    float *eps = ctx->workspace;
    for (size_t i = 0; i < ctx->batch * k; i++)
        eps[i] = ae_rng_normal(ctx->rng);
    for (size_t s = 0; s < ctx->batch; s++) {
        const float *mu = x + s * 2 * k, *lv = mu + k;
        const float *e = eps + s * k;
        float *o = z + s * k;
        for (size_t j = 0; j < k; j++)
            o[j] = mu[j] + expf(0.5f * lv[j]) * e[j];
    }
    return AE_OK;
}

static int gsample_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *z,
                            const float *dz, float *dx)
{
    const gsample *g = state;
    const size_t k = g->k;
    (void)z;
    if (dx == NULL)
        return AE_OK;
    if (ctx->training && ctx->workspace == NULL)
        return ae__error(AE_ERR_INVALID, "gaussian_sample: backward needs the workspace of its "
                         "forward");
    const float *eps = ctx->workspace;
    for (size_t s = 0; s < ctx->batch; s++) {
        const float *lv = x + s * 2 * k + k, *d = dz + s * k;
        float *dmu = dx + s * 2 * k, *dlv = dmu + k;
        for (size_t j = 0; j < k; j++) {
            dmu[j] = d[j];
            dlv[j] = ctx->training ? 0.5f * d[j] * expf(0.5f * lv[j]) * eps[s * k + j] : 0.0f;
        }
    }
    return AE_OK;
}

const ae_layer_vtable ae__gaussian_sample_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_GAUSSIAN_SAMPLE,
    .type_version = 1,
    .create = gsample_create,
    .destroy = gsample_destroy,
    .workspace_size = gsample_workspace_size,
    .forward = gsample_forward,
    .backward = gsample_backward,
};
