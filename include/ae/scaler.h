/* SPDX-License-Identifier: MIT */
/**
 * @file ae/scaler.h
 * @brief Per-feature scaling of tabular inputs (standardise, min-max),
 *        fitted on training data, applied to datasets and raw inputs, and
 *        attachable to a model so that it takes raw data.  Added in 1.1.
 *
 * A scaler maps every feature j of a sample x to
 * x'[j] = (x[j] - shift[j]) / scale[j]:
 * - AE_SCALER_STANDARD: shift = the feature's mean, scale = its standard
 *   deviation (divisor n, as scikit-learn's StandardScaler): the training
 *   data gets mean 0 and variance 1 per feature;
 * - AE_SCALER_MINMAX: shift = the feature's minimum, scale = max - min:
 *   the training data spans [0, 1] per feature (what a sigmoid output and
 *   the BCE loss expect).
 * A constant feature (standard deviation or range 0) gets scale 1, so it
 * maps to 0 and never divides by zero.
 *
 * Fitted on the training set only (ae_scaler_fit()), it is then applied to
 * every other set the same way: ae_scaler_apply() makes a scaled copy of a
 * dataset, ae_scaler_transform() and ae_scaler_inverse_transform() map
 * arrays of raw samples.
 *
 * Attached to a model (ae_model_set_scaler()), the scaler becomes part of
 * it: every call that takes the model's inputs takes raw data and scales
 * it first (ae_model_train() and its validation set, ae_model_evaluate(),
 * ae_model_reconstruct(), ae_model_encode(), ae_model_score(),
 * ae_model_score_dataset(), the detector's fit and predict);
 * ae_model_reconstruct() gives its reconstruction back in raw units, while
 * losses and anomaly scores are measured on the scaled values (so every
 * feature counts alike, whatever its unit). ae_model_save() stores the
 * scaler in the model file (a `SCAL` section, docs/format.md), and
 * ae_model_load() gives back a model that takes raw data. Such a file is
 * refused by libae 1.0 with AE_ERR_VERSION ("unknown required section"):
 * a reader that ignored the scaler would feed raw data to a model trained
 * on scaled data and answer wrongly without an error.
 *
 * The encoder and decoder handles themselves (ae_model_encoder(),
 * ae_encoder_encode(), ae_decoder_decode()) never scale: they work on the
 * scaled values.
 *
 * Thread safety: create, fit and destroy need the handle to themselves;
 * transform, inverse_transform, apply and the getters only read it and may
 * run from several threads at once.
 *
 * @code
 * ae_scaler *sc = NULL;
 * ae_scaler_create(&sc, AE_SCALER_STANDARD);
 * ae_scaler_fit(sc, train);                 // per-feature mean and deviation
 * ae_model_set_scaler(model, sc);           // the model keeps a copy
 * ae_scaler_destroy(sc);
 * ae_model_train(model, opt, train, &to);   // raw data in, scaled inside
 * ae_model_score_dataset(model, test, AE_SCORE_MSE, errors);
 * ae_model_save(model, "model.aem", NULL);  // the scaler goes with it
 * @endcode
 */
#ifndef AE_SCALER_H
#define AE_SCALER_H

#include "common.h"
#include "dataset.h"
#include "io.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque scaler handle. */
typedef struct ae_scaler ae_scaler;

/** Scaler kinds (values pinned; stored in model files). */
enum ae_scaler_kind {
    AE_SCALER_STANDARD = 0, /**< (x - mean) / standard deviation */
    AE_SCALER_MINMAX = 1    /**< (x - min) / (max - min): [0, 1] on the training data */
};

/**
 * The name of a scaler kind. Thread-safe.
 * @param kind  an ae_scaler_kind value (any int is accepted)
 * @return "standard", "minmax", or "unknown": a static string, never NULL.
 */
AE_API const char *ae_scaler_kind_name(int kind);

/**
 * Creates an unfitted scaler of kind @p kind. Thread-safe.
 * @param[out] out  the scaler (untouched on failure). The caller owns it:
 *                  free it with ae_scaler_destroy().
 * @param kind      AE_SCALER_STANDARD or AE_SCALER_MINMAX
 * @return AE_OK, AE_ERR_INVALID (NULL out, unknown kind), AE_ERR_NOMEM.
 */
AE_API int ae_scaler_create(ae_scaler **out, int kind);

/**
 * Frees a scaler. Not while another thread uses it.
 * @param sc  the scaler, or NULL (a no-op)
 */
AE_API void ae_scaler_destroy(ae_scaler *sc);

/**
 * Fits the scaler on @p ds: per-feature mean and standard deviation, or
 * minimum and maximum, over all its samples (in double precision). A
 * refit replaces the previous one only on success. Not thread-safe on
 * @p sc.
 * @param sc  the scaler
 * @param ds  the training data (at least one sample; every value finite)
 * @return AE_OK, AE_ERR_INVALID (NULL, empty dataset, a NaN or infinite
 *         value, named by sample and feature; since 1.1 a feature whose
 *         range or standard deviation overflows float, such as one holding
 *         both -FLT_MAX and FLT_MAX, which 1.0 gave scale 1 and so
 *         infinite outputs), AE_ERR_NOMEM.
 */
AE_API int ae_scaler_fit(ae_scaler *sc, const ae_dataset *ds);

/**
 * How many features the scaler was fitted on. Thread-safe.
 * @param sc  the scaler, or NULL
 * @return the feature count, or 0 when @p sc is NULL or not fitted.
 */
AE_API size_t ae_scaler_features(const ae_scaler *sc);

/**
 * The scaler's kind. Thread-safe.
 * @param sc  the scaler
 * @return its ae_scaler_kind, or AE_ERR_INVALID when @p sc is NULL.
 */
AE_API int ae_scaler_kind(const ae_scaler *sc);

/**
 * Copies the fitted parameters out: x' = (x - shift) / scale per feature.
 * @param sc          a fitted scaler
 * @param[out] shift  ae_scaler_features() floats (mean or minimum), or NULL
 * @param[out] scale  ae_scaler_features() floats (deviation or range, 1 for
 *                    a constant feature; always > 0), or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL scaler), AE_ERR_STATE (not fitted).
 */
AE_API int ae_scaler_params(const ae_scaler *sc, float *shift, float *scale);

/**
 * Scales @p count samples: out = (x - shift) / scale, feature by feature.
 * @p out may be @p x (in place). Thread-safe on @p sc.
 * @param sc     a fitted scaler
 * @param x      count * ae_scaler_features() floats, row-major
 * @param count  samples (>= 1)
 * @param[out] out  count * ae_scaler_features() floats
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_STATE (not fitted).
 */
AE_API int ae_scaler_transform(const ae_scaler *sc, const float *x, size_t count, float *out);

/**
 * Undoes ae_scaler_transform(): out = x * scale + shift. @p out may be
 * @p x. Thread-safe on @p sc.
 * @param sc     a fitted scaler
 * @param x      count * ae_scaler_features() scaled floats
 * @param count  samples (>= 1)
 * @param[out] out  count * ae_scaler_features() floats in raw units
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_STATE (not fitted).
 */
AE_API int ae_scaler_inverse_transform(const ae_scaler *sc, const float *x, size_t count,
                                       float *out);

/**
 * Makes a scaled copy of @p ds (same shape, same labels, the samples
 * through ae_scaler_transform()). Thread-safe on @p sc and @p ds.
 * @param[out] out  the new dataset (untouched on failure). The caller
 *                  owns it: free it with ae_dataset_destroy().
 * @param sc        a fitted scaler
 * @param ds        a dataset whose samples have ae_scaler_features() values
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_STATE (not fitted),
 *         AE_ERR_SHAPE (another sample size), AE_ERR_NOMEM.
 */
AE_API int ae_scaler_apply(ae_dataset **out, const ae_scaler *sc, const ae_dataset *ds);

/**
 * Attaches a copy of @p sc to @p model (replacing any previous one), or
 * detaches it when @p sc is NULL. From then on the model's input-taking
 * calls take raw data (see the file comment) and ae_model_save() stores
 * the scaler. Attach it before training, or train on
 * ae_scaler_apply()'s output and attach it afterwards: both give the same
 * model. Not while another thread uses @p model.
 * @param model  the model (its input and output sizes must be equal)
 * @param sc     a fitted scaler with as many features as the model's input,
 *               or NULL; copied, not kept
 * @return AE_OK, AE_ERR_INVALID (NULL model), AE_ERR_STATE (not fitted),
 *         AE_ERR_SHAPE (feature count differs from the model's input
 *         size, or the output size differs from the input size),
 *         AE_ERR_NOMEM.
 */
AE_API int ae_model_set_scaler(ae_model *model, const ae_scaler *sc);

/**
 * The scaler attached to @p model. Thread-safe.
 * @param model  the model, or NULL
 * @return the model's scaler (owned by the model: valid until the model is
 *         destroyed or its scaler replaced), or NULL when it has none.
 */
AE_API const ae_scaler *ae_model_get_scaler(const ae_model *model);

/**
 * Encodes @p count raw samples: through the model's scaler (when it has
 * one), then its encoder. Thread-safe on @p model, as
 * ae_encoder_encode().
 * @param model  the model
 * @param x      count * input-size floats, raw units
 * @param count  samples (>= 1)
 * @param[out] z  count * latent-size floats
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_NOMEM.
 */
AE_API int ae_model_encode(const ae_model *model, const float *x, size_t count, float *z);

/**
 * Loads the scaler of a model file (its `SCAL` section).
 * @param[out] out  the scaler (untouched on failure). The caller owns it.
 * @param file      an opened file
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOT_FOUND (the file holds
 *         no scaler), AE_ERR_NOMEM.
 */
AE_API int ae_file_load_scaler(ae_scaler **out, const ae_file *file);

#ifdef __cplusplus
}
#endif

#endif /* AE_SCALER_H */
