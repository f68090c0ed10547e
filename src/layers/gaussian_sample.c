/* SPDX-License-Identifier: MIT */
/*
 * gaussian_sample.c - the reparameterised Gaussian sample of a variational
 * autoencoder. The input holds 2k values per sample: k means mu, then k
 * log-variances lv. The output has k values:
 *
 *   training:  z = mu + exp(lv / 2) * eps,  eps ~ N(0, I) from ctx->rng
 *   inference: z = mu
 *
 * The layer adds beta * KL(q(z|x) || N(0, I)) to the training loss through
 * the vtable's loss_term slot, reduced per sample (summed over the k
 * latents, the mean over the batch):
 *
 *   KL = -1/2 sum_j (1 + lv_j - mu_j^2 - exp(lv_j))
 *
 * and backward() adds its gradient, beta * mu / batch to dmu and
 * beta * (exp(lv) - 1) / (2 batch) to dlv, besides the reparameterisation's
 * dmu = dz, dlv = dz * exp(lv / 2) * eps / 2.
 *
 * The workspace keeps eps (batch * k floats) between forward and backward,
 * then the batch's KL sum (one double) for loss_term(). No parameters.
 * Config (4 bytes, little-endian f32): beta, finite and >= 0. Type version 1.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "layer.h"

#define AE__GSAMPLE_CONFIG_SIZE 4 /* f32 beta */

typedef struct gsample {
    size_t k;   /* latent values per sample; the input has 2k */
    float beta; /* weight of the KL term */
} gsample;

size_t ae__gaussian_sample_config(unsigned char *out, const void *opts);
size_t ae__gaussian_sample_config(unsigned char *out, const void *opts)
{
    ae__lef32(out, ((const ae_gaussian_sample_options *)opts)->beta);
    return AE__GSAMPLE_CONFIG_SIZE;
}

static int gsample_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    char buf[64];
    if (args->config == NULL || args->config_size != AE__GSAMPLE_CONFIG_SIZE)
        return ae__error(AE_ERR_INVALID, "gaussian_sample: config is %zu bytes, expected %d",
                         args->config_size, AE__GSAMPLE_CONFIG_SIZE);
    const float beta = ae__rdf32(args->config);
    if (!(beta >= 0.0f && isfinite(beta)))
        return ae__error(AE_ERR_INVALID, "gaussian_sample: beta %g, expected finite and >= 0",
                         (double)beta);
    const size_t n = ae__shape_size(&args->input);
    if (n % 2 != 0)
        return ae__error(AE_ERR_SHAPE, "gaussian_sample: input %s has %zu values, expected an even "
                         "number (k means, then k log-variances)",
                         ae__shape_str(&args->input, buf, sizeof buf), n);
    gsample *g = ae__alloc(sizeof *g);
    if (g == NULL)
        return AE_ERR_NOMEM;
    g->k = n / 2;
    g->beta = beta;
    memset(output, 0, sizeof *output);
    output->rank = 1;
    output->dims[0] = (uint32_t)g->k;
    *state = g;
    return AE_OK;
}

static void gsample_destroy(void *state) { ae__free(state); }

/* eps, then the KL sum (a double, 8-byte aligned) */
static size_t kl_offset(size_t batch, size_t k)
{
    return ae__round_up(batch * k * sizeof(float), sizeof(double));
}

static size_t gsample_workspace_size(const void *state, size_t batch)
{
    const gsample *g = state;
    return kl_offset(batch, g->k) + sizeof(double);
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
    double kl = 0.0;
    for (size_t s = 0; s < ctx->batch; s++) {
        const float *mu = x + s * 2 * k, *lv = mu + k;
        const float *e = eps + s * k;
        float *o = z + s * k;
        for (size_t j = 0; j < k; j++) {
            const float sd = expf(0.5f * lv[j]);
            o[j] = mu[j] + sd * e[j];
            kl += (double)(1.0f + lv[j] - mu[j] * mu[j] - sd * sd);
        }
    }
    memcpy((unsigned char *)ctx->workspace + kl_offset(ctx->batch, k), &(double){-0.5 * kl},
           sizeof(double));
    return AE_OK;
}

static int gsample_loss_term(void *state, const ae_layer_ctx *ctx, double *loss)
{
    const gsample *g = state;
    double kl;
    if (ctx->workspace == NULL || ctx->batch == 0)
        return ae__error(AE_ERR_INVALID, "gaussian_sample: loss_term needs the workspace of its "
                         "training forward");
    memcpy(&kl, (const unsigned char *)ctx->workspace + kl_offset(ctx->batch, g->k), sizeof kl);
    *loss = (double)g->beta * kl / (double)ctx->batch;
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
    /* the KL term's gradient comes with the training forward's term */
    const float w = ctx->training ? g->beta / (float)ctx->batch : 0.0f;
    for (size_t s = 0; s < ctx->batch; s++) {
        const float *mu = x + s * 2 * k, *lv = mu + k, *d = dz + s * k;
        float *dmu = dx + s * 2 * k, *dlv = dmu + k;
        for (size_t j = 0; j < k; j++) {
            if (ctx->training) {
                const float sd = expf(0.5f * lv[j]);
                dmu[j] = d[j] + w * mu[j];
                dlv[j] = 0.5f * d[j] * sd * eps[s * k + j] + 0.5f * w * (sd * sd - 1.0f);
            } else {
                dmu[j] = d[j];
                dlv[j] = 0.0f;
            }
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
    .loss_term = gsample_loss_term,
};
