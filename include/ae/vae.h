/* SPDX-License-Identifier: MIT */
/**
 * @file ae/vae.h
 * @brief Variational autoencoders (since 1.1): the encoder's Gaussian, the
 *        prior's decodes and the negative ELBO.
 *
 * A VAE in libae is an encoder ending in a Gaussian sampling layer
 * (ae_encoder_add_gaussian_sample()) whose input is k means then k
 * log-variances, and any decoder of k inputs. Training adds the layer's
 * beta * KL term to the loss (train with AE_REDUCE_SUM_PER_SAMPLE and
 * AE_LOSS_BCE for the negative ELBO in nats per sample); ae_encoder_encode()
 * gives the means. This header adds what only a VAE has:
 *
 * @code
 * float mu[20], lv[20], img[784];
 * ae_encoder_encode_gaussian(ae_model_encoder(vae), x, 1, mu, lv);
 * ae_model_sample(vae, 1, 7, img);                 // decode z ~ N(0, I)
 * double nelbo, rp;
 * ae_model_vae_score(vae, x, 1, 16, 0, &nelbo, &rp);
 * @endcode
 *
 * The likelihood p(x|z) is the Bernoulli of the decoder's outputs (in
 * [0, 1], clamped to [1e-7, 1 - 1e-7] in float as AE_LOSS_BCE): log p(x|z) is minus
 * the summed binary cross-entropy, so these scores are in nats per sample.
 * The anomaly scores AE_SCORE_NELBO and AE_SCORE_RECON_PROB (ae/anomaly.h)
 * run ae_model_vae_score() with AE_VAE_SCORE_SAMPLES draws and seed 0.
 *
 * A model with a scaler (ae/scaler.h) scores its scaled values and samples
 * in its data's units, as ae_model_reconstruct() gives them.
 *
 * Thread safety: as ae_model_reconstruct() (the model is only read).
 */
#ifndef AE_VAE_H
#define AE_VAE_H

#include "common.h"
#include "encoder.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Draws of z per sample behind the AE_SCORE_NELBO and AE_SCORE_RECON_PROB
 *  anomaly scores (An and Cho's L). */
#define AE_VAE_SCORE_SAMPLES 16u

/**
 * The parameters of q(z|x) for @p count samples: the means and the
 * log-variances the encoder's last layer, a Gaussian sampling layer, takes
 * (ae_encoder_encode() gives the means only).
 * @param enc          the encoder, ending in a Gaussian sampling layer
 *                     (only read)
 * @param x            count * input size floats
 * @param count        samples, >= 1
 * @param[out] mean    count * k floats, or NULL
 * @param[out] logvar  count * k floats, or NULL (k: the latent size)
 * @return AE_OK, AE_ERR_INVALID (NULL enc or x, both outputs NULL, count 0
 *         or overflowing), AE_ERR_STATE (the encoder does not end in a
 *         Gaussian sampling layer), AE_ERR_NOMEM, or what a custom layer's
 *         forward() returns.
 */
AE_API int ae_encoder_encode_gaussian(const ae_encoder *enc, const float *x, size_t count,
                                      float *mean, float *logvar);

/**
 * Samples the prior and decodes, in one call: z ~ N(0, I) of the decoder's
 * input size, drawn from a generator seeded with @p seed (same seed, same
 * samples), then decoded. Meant for a VAE, whose training pulls the
 * latents towards N(0, I); any model is accepted.
 * @param model     the model (only read)
 * @param count     samples, >= 1
 * @param seed      seeds the draws
 * @param[out] out  count * output size floats (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0 or overflowing),
 *         AE_ERR_NOMEM, or an error of the decoder's layers.
 */
AE_API int ae_model_sample(const ae_model *model, size_t count, uint64_t seed, float *out);

/**
 * A VAE's per-sample scores (nats, higher = less likely), with @p samples
 * draws z_l = mu + exp(lv / 2) * eps_l from q(z|x) per sample:
 * - the negative ELBO: -(1/L) sum_l log p(x|z_l) + KL(q(z|x) || N(0, I))
 *   (the KL in closed form, weight 1 whatever the layer's beta);
 * - the Monte-Carlo reconstruction probability (An and Cho, 2015) as a
 *   negative log: -log((1/L) sum_l p(x|z_l)).
 * The draws of sample i (its index in this call) come from a generator
 * seeded with @p seed and i:
 * a sample's scores do not depend on the others in the call.
 * @param model       a VAE whose output size is its input size (only read)
 * @param x           count * input size floats, each in [0, 1]
 * @param count       samples, >= 1
 * @param samples     draws per sample (L), >= 1
 * @param seed        seeds the draws
 * @param[out] nelbo  count doubles, or NULL
 * @param[out] recon  count doubles, or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL model or x, both outputs NULL, count
 *         or samples 0, count overflowing, a value of x outside [0, 1]),
 *         AE_ERR_SHAPE (output size differs from input size), AE_ERR_STATE
 *         (the encoder does not end in a Gaussian sampling layer),
 *         AE_ERR_NOMEM, or what a custom layer's forward() returns.
 *         The outputs are untouched on failure.
 */
AE_API int ae_model_vae_score(const ae_model *model, const float *x, size_t count,
                              uint32_t samples, uint64_t seed, double *nelbo, double *recon);

#ifdef __cplusplus
}
#endif
#endif /* AE_VAE_H */
