/* SPDX-License-Identifier: MIT */
/**
 * @file ae/latent.h
 * @brief Latent-space tools: encode a dataset, per-class statistics,
 *        neighbourhood sampling, interpolation, and sampling latents from
 *        the latent bounding box or a fitted Gaussian; decode any of them.
 *
 * Latents are plain float matrices, one row of @c dim floats per latent,
 * row-major (ae_encoder_latent_size() gives dim). ae_latent_encode() returns
 * them as a dataset (labels kept), so they go straight into the statistics
 * below, into ae_pca_fit_dataset() for a 2-D view, or out through
 * ae_dataset_get_batch(); a matrix of your own becomes one with
 * ae_dataset_from_memory(..., AE_DATASET_BORROW).
 *
 * Functions that only generate arrays take their output first (like
 * creators); functions of an encoder, decoder or dataset take it first and
 * write their outputs last (like ae_dataset_get_batch()). Every random
 * function takes a seed: the same seed gives the same bits on every machine.
 * Outputs are written only on success (except ae_latent_decode(), whose
 * output is unspecified after a failure, as ae_decoder_decode()'s).
 *
 * Thread safety: every function here only reads its inputs and may run from
 * several threads at once, on the same encoder, decoder or dataset too.
 *
 * @code
 * ae_dataset *z;                                  // test latents, labelled
 * ae_latent_encode(&z, ae_model_encoder(model), test);
 * float lo[64], hi[64], samples[16 * 64], images[16 * 784];
 * ae_latent_bounds(z, lo, hi, 64);
 * ae_latent_sample_uniform(samples, 16, lo, hi, 64, 7);
 * ae_latent_decode(ae_model_decoder(model), samples, 16, 64, images);
 * @endcode
 */
#ifndef AE_LATENT_H
#define AE_LATENT_H

#include "common.h"
#include "dataset.h"
#include "decoder.h"
#include "encoder.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Interpolation paths for ae_latent_interpolate() (values pinned). */
enum ae_interp {
    /** z(t) = (1 - t) z0 + t z1 */
    AE_INTERP_LINEAR = 0,
    /** Spherical (slerp): z(t) = sin((1-t)W)/sin W z0 + sin(tW)/sin W z1,
     *  W the angle between z0 and z1. The norm moves smoothly between the
     *  two norms instead of dipping towards 0 halfway as a straight line does.
     *  Falls back to linear when W is within 1e-6 of 0 or pi, or when an end
     *  is the zero vector (the angle is then undefined). */
    AE_INTERP_SPHERICAL = 1
};

/**
 * Encodes every sample of @p ds with @p enc into a new dataset of latents
 * (same order, the latent shape, the labels of @p ds when it has them).
 * Runs in batches, so memory is the latents plus a small scratch.
 * @param[out] out  the latents (untouched on failure), holding their own
 *                  copy of the values and labels. The caller owns them:
 *                  free them with ae_dataset_destroy().
 * @param enc       the encoder (only read, not kept)
 * @param ds        the samples (only read, not kept)
 * @return AE_OK, AE_ERR_INVALID (NULL, empty dataset), AE_ERR_STATE (the
 *         encoder has no layers), AE_ERR_SHAPE (samples are not the
 *         encoder's input size), AE_ERR_LIMIT (the latents overflow the
 *         address space), AE_ERR_NOMEM, or an error of ae_encoder_encode().
 */
AE_API int ae_latent_encode(ae_dataset **out, const ae_encoder *enc,
                            const ae_dataset *ds);

/**
 * Decodes @p count latents of @p dim floats with @p dec into @p x
 * (count * ae_decoder_output_size() floats), in batches. Unlike
 * ae_decoder_decode() it checks that @p dim is the decoder's latent size.
 * The exception to "outputs are written only on success": as with
 * ae_decoder_decode(), @p x is unspecified if the call fails.
 * @param dec     the decoder (only read)
 * @param z       count * dim floats
 * @param count   latents, >= 1
 * @param dim     floats per latent: the decoder's latent size
 * @param[out] x  count * ae_decoder_output_size() floats
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_SHAPE (dim is not
 *         the decoder's latent size), AE_ERR_STATE (no layers),
 *         AE_ERR_NOMEM, or an error of ae_decoder_decode().
 */
AE_API int ae_latent_decode(const ae_decoder *dec, const float *z, size_t count,
                            size_t dim, float *x);

/**
 * Per-class statistics of the labelled latents @p latents, for labels
 * 0 .. n_classes - 1: @p counts (n_classes values), @p means and
 * @p stddevs (n_classes rows of dim floats; standard deviation with the n
 * divisor). A class without samples gets count 0, mean 0 and stddev 0. Any
 * output may be NULL (not all three).
 * @param latents        labelled latents (only read)
 * @param n_classes      number of classes, >= 1
 * @param dim            floats per latent: the latents' sample size
 * @param[out] counts    n_classes sample counts, or NULL
 * @param[out] means     n_classes * dim floats, or NULL
 * @param[out] stddevs   n_classes * dim floats, or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL, n_classes 0, a label outside
 *         [0, n_classes): the message names the sample), AE_ERR_SHAPE (dim
 *         is not the latents' sample size), AE_ERR_STATE (no labels),
 *         AE_ERR_LIMIT (n_classes * dim overflows), AE_ERR_NOMEM.
 */
AE_API int ae_latent_class_stats(const ae_dataset *latents, size_t n_classes,
                                 size_t dim, size_t *counts, float *means,
                                 float *stddevs);

/**
 * The bounding box of @p latents: per-dimension minimum @p lo and maximum
 * @p hi (dim floats each).
 * @param latents  the latents (only read)
 * @param[out] lo  dim minima
 * @param[out] hi  dim maxima
 * @param dim      floats per latent: the latents' sample size
 * @return AE_OK, AE_ERR_INVALID (NULL, empty, a value not finite),
 *         AE_ERR_SHAPE (dim is not the sample size).
 */
AE_API int ae_latent_bounds(const ae_dataset *latents, float *lo, float *hi,
                            size_t dim);

/**
 * Fits a Gaussian to @p latents: @p mean (dim floats) and the covariance
 * @p cov (dim x dim floats, n - 1 divisor, computed in double).
 * @param latents    the latents (only read), at least 2
 * @param[out] mean  dim floats
 * @param[out] cov   dim * dim floats, row-major, symmetric
 * @param dim        floats per latent: the latents' sample size, at most
 *                   16384
 * @return AE_OK, AE_ERR_INVALID (NULL, fewer than 2 samples, a value
 *         not finite), AE_ERR_SHAPE (dim is not the sample size), AE_ERR_LIMIT (dim above 16384),
 *         AE_ERR_NUMERIC (a covariance overflows float: values near FLT_MAX;
 *         since 1.1, 1.0 returned infinities), AE_ERR_NOMEM.
 */
AE_API int ae_latent_fit_gaussian(const ae_dataset *latents, float *mean,
                                  float *cov, size_t dim);

/**
 * Neighbourhood sampling: for each of the @p n_sigmas standard deviations
 * s, @p per_sigma samples z + N(0, s^2 I) around the latent @p z (dim
 * floats). @p out receives n_sigmas * per_sigma rows of dim floats, sigma
 * by sigma. s = 0 gives copies of z.
 * @param[out] out   n_sigmas * per_sigma * dim floats
 * @param z          dim floats, finite
 * @param dim        floats per latent, >= 1
 * @param sigmas     n_sigmas standard deviations, finite and >= 0
 * @param n_sigmas   >= 1
 * @param per_sigma  samples per sigma, >= 1
 * @param seed       seeds the generator
 * @return AE_OK, AE_ERR_INVALID (NULL, a zero count or dim, a value of z
 *         not finite, a sigma negative or not finite), AE_ERR_LIMIT (the
 *         output size overflows), AE_ERR_NUMERIC (a sample overflows
 *         float: a sigma near FLT_MAX; since 1.1, 1.0 returned infinities).
 */
AE_API int ae_latent_neighbourhood(float *out, const float *z, size_t dim,
                                   const float *sigmas, size_t n_sigmas,
                                   size_t per_sigma, uint64_t seed);

/**
 * @p steps latents from @p z0 to @p z1 (dim floats each) along @p mode
 * (ae_interp), at t = i / (steps - 1). Row 0 is exactly z0 and row
 * steps - 1 exactly z1, bit for bit.
 * @param[out] out  steps * dim floats
 * @param z0        dim floats, finite
 * @param z1        dim floats, finite
 * @param dim       floats per latent, >= 1
 * @param steps     rows, >= 2
 * @param mode      ae_interp
 * @return AE_OK, AE_ERR_INVALID (NULL, dim 0, steps < 2, unknown mode, a
 *         value not finite), AE_ERR_LIMIT (the output size overflows).
 */
AE_API int ae_latent_interpolate(float *out, const float *z0, const float *z1,
                                 size_t dim, size_t steps, int mode);

/**
 * @p count latents drawn uniformly from the box [lo, hi) (dim floats each;
 * lo[j] == hi[j] pins dimension j). Decoded, they show why naive sampling
 * fails: the box is mostly empty of training latents.
 * @param[out] out  count * dim floats
 * @param count     latents, >= 1
 * @param lo        dim lower bounds, finite
 * @param hi        dim upper bounds, finite, each >= its lower bound
 * @param dim       floats per latent, >= 1
 * @param seed      seeds the generator
 * @return AE_OK, AE_ERR_INVALID (NULL, count or dim 0, lo > hi, a bound not
 *         finite), AE_ERR_LIMIT (the output size overflows).
 */
AE_API int ae_latent_sample_uniform(float *out, size_t count, const float *lo,
                                    const float *hi, size_t dim, uint64_t seed);

/**
 * @p count latents drawn from N(mean, cov) (as ae_latent_fit_gaussian()
 * gives them). cov must be symmetric positive semi-definite: directions of
 * zero variance (dead units) are allowed; eigenvalues below
 * -1e-6 * (largest) are an error, smaller negative ones are taken as 0.
 * @param[out] out  count * dim floats
 * @param count     latents, >= 1
 * @param mean      dim floats, finite
 * @param cov       dim * dim floats, row-major, finite
 * @param dim       floats per latent, 1 to 16384
 * @param seed      seeds the generator
 * @return AE_OK, AE_ERR_INVALID (NULL, count or dim 0, a value not finite,
 *         cov not symmetric or not positive semi-definite), AE_ERR_LIMIT
 *         (dim above 16384, the output size overflows), AE_ERR_NUMERIC
 *         (the eigen-decomposition failed), AE_ERR_NOMEM.
 */
AE_API int ae_latent_sample_gaussian(float *out, size_t count, const float *mean,
                                     const float *cov, size_t dim, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif /* AE_LATENT_H */
