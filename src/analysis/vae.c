/* SPDX-License-Identifier: MIT */
/*
 * vae.c - what only a variational autoencoder has (ae/vae.h): the
 * encoder's Gaussian (means and log-variances in front of its Gaussian
 * sampling layer), decodes of the prior, and the per-sample negative ELBO
 * and Monte-Carlo reconstruction probability (also the anomaly scores
 * AE_SCORE_NELBO and AE_SCORE_RECON_PROB of anomaly.c).
 *
 * The encoder minus its last layer is run as a net of its own: a shallow
 * copy of the encoder's net with one layer fewer (inference only reads it).
 */
#include <math.h>
#include <string.h>

#include "ae/anomaly.h"
#include "ae/vae.h"
#include "analysis/analysis.h"
#include "core/core.h"
#include "core/kernels.h"
#include "data/scaler.h"
#include "nn/nn.h"

#define VAE_CHUNK AE__CHUNK

/* The encoder in front of its Gaussian sampling layer, and k. */
static int gaussian_head(const ae__net *enc, ae__net *head, size_t *k, const char *who)
{
    if (enc->n == 0 ||
        strcmp(enc->layers[enc->n - 1].kind->name, AE_LAYER_GAUSSIAN_SAMPLE) != 0)
        return ae__error(AE_ERR_STATE, "%s: the encoder does not end in a gaussian_sample layer "
                         "(not a variational autoencoder)", who);
    const ae__layer *g = &enc->layers[enc->n - 1];
    *head = *enc;
    head->n = enc->n - 1;
    head->output = g->in;
    head->out_size = g->in_size;
    *k = g->out_size;
    return AE_OK;
}

/* h = head(x): count * 2k floats (a copy of x when the head is empty). */
static int run_head(const ae__net *head, const float *x, size_t count, float *h, const char *who)
{
    if (head->n == 0) {
        memcpy(h, x, count * head->out_size * sizeof(float));
        return AE_OK;
    }
    const ae__net *nets[1] = {head};
    return ae__chain_run(nets, 1, x, count, h, who);
}

int ae_encoder_encode_gaussian(const ae_encoder *enc, const float *x, size_t count, float *mean,
                               float *logvar)
{
    static const char who[] = "ae_encoder_encode_gaussian";
    if (enc == NULL || x == NULL || (mean == NULL && logvar == NULL))
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who,
                         enc == NULL ? "encoder" : x == NULL ? "x" : "mean and logvar");
    ae__net head;
    size_t k = 0;
    int rc = gaussian_head(&enc->net, &head, &k, who);
    if (rc < 0 || (rc = ae__check_count(count, AE__MAX(enc->net.in_size, 2 * k), sizeof(float),
                                        "count", who)) < 0)
        return rc;
    const size_t chunk = count < VAE_CHUNK ? count : VAE_CHUNK;
    float *h = ae__alloc(chunk * 2 * k * sizeof(float));
    if (h == NULL)
        return AE_ERR_NOMEM;
    for (size_t first = 0; first < count && rc == AE_OK; first += chunk) {
        const size_t b = count - first < chunk ? count - first : chunk;
        rc = run_head(&head, x + first * enc->net.in_size, b, h, who);
        for (size_t i = 0; i < b && rc == AE_OK; i++) {
            if (mean != NULL)
                memcpy(mean + (first + i) * k, h + i * 2 * k, k * sizeof(float));
            if (logvar != NULL)
                memcpy(logvar + (first + i) * k, h + i * 2 * k + k, k * sizeof(float));
        }
    }
    ae__free(h);
    return rc;
}

int ae_model_sample(const ae_model *model, size_t count, uint64_t seed, float *out)
{
    static const char who[] = "ae_model_sample";
    if (model == NULL || out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who, model == NULL ? "model" : "out");
    const ae__net *dec = &model->dec->net;
    const size_t k = dec->in_size;
    int rc = ae__check_count(count, AE__MAX(k, dec->out_size), sizeof(float), "count", who);
    if (rc < 0)
        return rc;
    float *z = ae__alloc(count * k * sizeof(float));
    float *y = ae__alloc(count * dec->out_size * sizeof(float));
    if (z == NULL || y == NULL) {
        rc = AE_ERR_NOMEM;
        goto done;
    }
    ae_rng rng;
    ae__rng_seed(&rng, seed);
    for (size_t i = 0; i < count * k; i++)
        z[i] = ae_rng_normal(&rng);
    const ae__net *nets[1] = {dec};
    if ((rc = ae__chain_run(nets, 1, z, count, y, who)) == AE_OK) {
        /* a model with a scaler gives its data's units, as reconstruct */
        if (ae__model_scaler(model) != NULL && dec->out_size == model->enc->net.in_size)
            ae__scaler_inverse(ae__model_scaler(model), y, count, y);
        memcpy(out, y, count * dec->out_size * sizeof(float));
    }
done:
    ae__free(z);
    ae__free(y);
    return rc;
}

/* The generator of draw l of sample i. */
static void draw_seed(ae_rng *rng, uint64_t seed, size_t i, uint32_t l)
{
    ae__rng_seed(rng, seed ^ (0x9E3779B97F4A7C15ull * ((uint64_t)i + 1)) ^
                          (0xC2B2AE3D27D4EB4Full * ((uint64_t)l + 1)));
}

int ae__vae_scores(const ae_model *model, const float *x, size_t count, size_t index0,
                   uint32_t samples, uint64_t seed, double *nelbo, double *recon, const char *who)
{
    const ae__net *dec = &model->dec->net;
    const size_t size = model->enc->net.in_size;
    ae__net head;
    size_t k = 0;
    int rc = gaussian_head(&model->enc->net, &head, &k, who);
    if (rc < 0)
        return rc;
    if (dec->out_size != size)
        return ae__error(AE_ERR_SHAPE, "%s: the model takes %zu values and gives %zu; p(x|z) "
                         "needs them equal", who, size, dec->out_size);
    for (size_t i = 0; i < count * size; i++)
        if (!(x[i] >= 0.0f && x[i] <= 1.0f))
            return ae__error(AE_ERR_INVALID, "%s: the Bernoulli likelihood needs x in [0, 1]; "
                             "sample %zu, value %zu is %g", who, index0 + i / size, i % size,
                             (double)x[i]);
    const size_t chunk = count < VAE_CHUNK ? count : VAE_CHUNK;
    float *h = ae__alloc(chunk * (3 * k + size) * sizeof(float));
    double *acc = ae__alloc(chunk * 3 * sizeof(double));
    if (h == NULL || acc == NULL) {
        rc = AE_ERR_NOMEM;
        goto done;
    }
    float *z = h + chunk * 2 * k, *xr = z + chunk * k;
    const ae__net *nets[1] = {dec};
    for (size_t first = 0; first < count && rc == AE_OK; first += chunk) {
        const size_t b = count - first < chunk ? count - first : chunk;
        const float *xb = x + first * size;
        if ((rc = run_head(&head, xb, b, h, who)) < 0)
            break;
        /* acc: per sample, the sum of log p(x|z_l), the running max of
         * log p and the sum of exp(log p - max) */
        for (size_t i = 0; i < b; i++) {
            acc[3 * i] = 0.0;
            acc[3 * i + 1] = -INFINITY;
            acc[3 * i + 2] = 0.0;
        }
        for (uint32_t l = 0; l < samples && rc == AE_OK; l++) {
            for (size_t i = 0; i < b; i++) {
                ae_rng rng;
                draw_seed(&rng, seed, index0 + first + i, l);
                const float *mu = h + i * 2 * k, *lv = mu + k;
                for (size_t j = 0; j < k; j++)
                    z[i * k + j] = mu[j] + expf(0.5f * lv[j]) * ae_rng_normal(&rng);
            }
            if ((rc = ae__chain_run(nets, 1, z, b, xr, who)) < 0)
                break;
            for (size_t i = 0; i < b; i++) {
                const double lp =
                    -ae__recon_sum(AE__RECON_BCE, xr + i * size, xb + i * size, size, NULL, 0.0f);
                double *a = acc + 3 * i;
                a[0] += lp;
                if (lp > a[1]) {
                    a[2] = a[2] * exp(a[1] - lp) + 1.0;
                    a[1] = lp;
                } else {
                    a[2] += exp(lp - a[1]);
                }
            }
        }
        for (size_t i = 0; i < b && rc == AE_OK; i++) {
            const float *mu = h + i * 2 * k, *lv = mu + k;
            double kl = 0.0;
            for (size_t j = 0; j < k; j++)
                kl += 1.0 + (double)lv[j] - (double)mu[j] * mu[j] - exp((double)lv[j]);
            const double *a = acc + 3 * i;
            if (nelbo != NULL)
                nelbo[first + i] = -a[0] / (double)samples - 0.5 * kl;
            if (recon != NULL)
                recon[first + i] = -(a[1] + log(a[2] / (double)samples));
        }
    }
done:
    ae__free(h);
    ae__free(acc);
    return rc;
}

int ae_model_vae_score(const ae_model *model, const float *x, size_t count, uint32_t samples,
                       uint64_t seed, double *nelbo, double *recon)
{
    static const char who[] = "ae_model_vae_score";
    if (model == NULL || x == NULL || (nelbo == NULL && recon == NULL))
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who,
                         model == NULL ? "model" : x == NULL ? "x" : "nelbo and recon");
    if (samples == 0)
        return ae__error(AE_ERR_INVALID, "%s: samples is 0", who);
    int rc = ae__check_count(count, model->enc->net.in_size, sizeof(float), "count", who);
    if (rc < 0)
        return rc;
    /* a model with a scaler: the scores of the scaled values, as the
     * anomaly kinds */
    const ae_scaler *sc = ae__model_scaler(model);
    double *tmp = ae__alloc(2 * count * sizeof(double));
    float *xs = sc != NULL ? ae__alloc(count * model->enc->net.in_size * sizeof(float)) : NULL;
    if (tmp == NULL || (sc != NULL && xs == NULL)) {
        ae__free(tmp);
        ae__free(xs);
        return AE_ERR_NOMEM;
    }
    if (sc != NULL)
        ae__scaler_forward(sc, x, count, xs);
    rc = ae__vae_scores(model, sc != NULL ? xs : x, count, 0, samples, seed, tmp, tmp + count, who);
    if (rc == AE_OK) {
        if (nelbo != NULL)
            memcpy(nelbo, tmp, count * sizeof(double));
        if (recon != NULL)
            memcpy(recon, tmp + count, count * sizeof(double));
    }
    ae__free(tmp);
    ae__free(xs);
    return rc;
}
