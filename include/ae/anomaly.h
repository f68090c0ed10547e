/* SPDX-License-Identifier: MIT */
/**
 * @file ae/anomaly.h
 * @brief Anomaly detection by reconstruction error, and the metrics to judge it.
 *
 * An autoencoder trained on normal data reconstructs normal inputs well and
 * unusual ones badly, so the per-sample reconstruction error is an anomaly
 * score. This header gives
 * - per-sample errors (MSE, MAE, BCE) of a batch or a whole dataset;
 * - thresholds fitted on the errors of normal data: mean + k * std and a
 *   quantile;
 * - a detector handle that holds the error kind, the rule and the fitted
 *   threshold, and classifies samples (error > threshold: anomaly);
 * - metrics from scores and 0/1 labels: accuracy, precision, recall and F1
 *   at a threshold, ROC AUC and PR AUC (average precision), ties handled.
 *
 * Label convention everywhere here: 1 = anomaly (the positive class),
 * 0 = normal. Higher scores mean "more anomalous".
 *
 * @code
 * ae_detector *det;
 * ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;   // MSE, mean + 1 std
 * ae_detector_create(&det, &o);
 * ae_detector_fit(det, model, normal_train);           // scores, threshold
 * double *err = malloc(n * sizeof *err);  int32_t *flag = malloc(n * sizeof *flag);
 * ae_detector_predict(det, model, test, flag, err);    // flag[i] = 1: anomaly
 * double auc;
 * ae_metrics_roc_auc(&auc, err, truth, n);             // truth[i] = 1: anomaly
 * ae_detector_destroy(det);
 * @endcode
 *
 * Thread safety: the free functions (errors, thresholds, metrics) keep no
 * state and may run from any thread. A detector may be read (threshold,
 * classify, predict, get_options) from several threads at once; fit and
 * set_threshold change it and need it to themselves.
 *
 * Persistence: a detector is small (error kind, rule, k, quantile,
 * threshold). ae_detector_get_options() and ae_detector_threshold() give
 * everything a model file needs to store it; ae_detector_create() followed
 * by ae_detector_set_threshold() restores it without the data.
 */
#ifndef AE_ANOMALY_H
#define AE_ANOMALY_H

#include "common.h"
#include "dataset.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Per-sample reconstruction error                                          */
/* ------------------------------------------------------------------------ */

/**
 * Per-sample error kinds (values pinned). For one sample x of n values and
 * its reconstruction x~, each is a mean over the n values:
 */
enum ae_score_kind {
    AE_SCORE_MSE = 0, /**< sum((x~ - x)^2) / n */
    AE_SCORE_MAE = 1, /**< sum(|x~ - x|) / n (the TF anomaly tutorial's) */
    /** -sum(x log x~ + (1-x) log(1-x~)) / n with x~ clamped to
     *  [1e-7, 1 - 1e-7] in float, as AE_LOSS_BCE (ae/model.h); x should
     *  lie in [0, 1]. */
    AE_SCORE_BCE = 2,
    /** A variational autoencoder's negative ELBO in nats per sample (a
     *  sum, not a mean; since 1.1): ae_model_vae_score() with
     *  AE_VAE_SCORE_SAMPLES draws and seed 0. Only for the model-based
     *  calls (ae_model_score(), ae_model_score_dataset(), a detector). */
    AE_SCORE_NELBO = 3,
    /** Its Monte-Carlo reconstruction probability as a negative log (nats
     *  per sample; since 1.1), as AE_SCORE_NELBO. */
    AE_SCORE_RECON_PROB = 4
};

/**
 * The name of an error kind. Thread-safe.
 * @param kind  an ae_score_kind value (any int is accepted)
 * @return "mse", "mae", "bce", or "unknown" for any other value: a static
 *         string, never NULL.
 */
AE_API const char *ae_score_name(int kind);

/**
 * Per-sample errors of reconstructions already computed. Thread-safe.
 * @param[out] errors  @p count doubles: errors[i] compares sample i of
 *                     @p x with sample i of @p xr (untouched on failure)
 * @param kind         ae_score_kind
 * @param x            count * size floats, the inputs (targets)
 * @param xr           count * size floats, their reconstructions
 * @param count        samples, >= 1
 * @param size         floats per sample, >= 1
 * @return AE_OK, AE_ERR_INVALID (NULL, count or size 0, unknown kind,
 *         count * size overflows).
 */
AE_API int ae_score_compute(double *errors, int kind, const float *x,
                            const float *xr, size_t count, size_t size);

/**
 * Reconstructs @p count samples with @p model (inference mode) and writes
 * their errors. Thread-safe like ae_model_reconstruct().
 * @param model        the autoencoder (only read)
 * @param x            count * (model input size) floats
 * @param count        samples, >= 1
 * @param kind         ae_score_kind
 * @param[out] errors  @p count doubles (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0, unknown kind, count *
 *         input size overflows), AE_ERR_SHAPE (the model's output size
 *         differs from its input size), AE_ERR_NOMEM, or an error of
 *         ae_model_reconstruct().
 */
AE_API int ae_model_score(const ae_model *model, const float *x, size_t count,
                          int kind, double *errors);

/**
 * The errors of every sample of @p ds (in the view's order), computed in
 * batches. Thread-safe like ae_model_reconstruct().
 * @param model        the autoencoder (only read)
 * @param ds           the samples (only read)
 * @param kind         ae_score_kind
 * @param[out] errors  ae_dataset_count(ds) doubles (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, unknown kind), AE_ERR_SHAPE (the
 *         samples are not the model's input and output size), AE_ERR_NOMEM,
 *         or an error of ae_model_reconstruct().
 */
AE_API int ae_model_score_dataset(const ae_model *model, const ae_dataset *ds,
                                  int kind, double *errors);

/* ------------------------------------------------------------------------ */
/* Thresholds                                                               */
/* ------------------------------------------------------------------------ */

/** How a detector's threshold is fitted (values pinned). */
enum ae_threshold_rule {
    /** mean + k * std of the normal errors (population std, ddof 0, as
     *  numpy's np.std; k = 1 is the TF anomaly tutorial's rule). */
    AE_THRESHOLD_MEAN_STD = 0,
    /** The q-quantile of the normal errors, interpolated linearly between
     *  order statistics (numpy's default): with the errors sorted as
     *  e[0] <= ... <= e[n-1], h = q * (n - 1), the threshold is
     *  e[floor(h)] + (h - floor(h)) * (e[floor(h) + 1] - e[floor(h)]).
     *  Between an infinity and another value (h not whole) it is the
     *  infinity; between -inf and +inf, the nearer of the two (since 1.1:
     *  1.0 gave NaN there). */
    AE_THRESHOLD_QUANTILE = 1,
    /** A threshold given with ae_detector_set_threshold(); fit refuses. */
    AE_THRESHOLD_FIXED = 2
};

/**
 * The name of a threshold rule. Thread-safe.
 * @param rule  an ae_threshold_rule value (any int is accepted)
 * @return "mean_std", "quantile", "fixed", or "unknown" for any other
 *         value: a static string, never NULL.
 */
AE_API const char *ae_threshold_rule_name(int rule);

/**
 * mean + k * std of @p count errors (population std). Thread-safe.
 * @param[out] out  the threshold (untouched on failure)
 * @param errors    @p count errors, each finite
 * @param count     values, >= 1
 * @param k         finite (negative allowed)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0, k or an error NaN or
 *         infinite), AE_ERR_NUMERIC (the threshold overflows).
 */
AE_API int ae_threshold_mean_std(double *out, const double *errors,
                                 size_t count, double k);

/**
 * The @p q-quantile of @p count errors (see AE_THRESHOLD_QUANTILE).
 * q = 0 gives the smallest, q = 1 the largest, q = 0.5 the median.
 * Sorts a copy; @p errors is not changed. Thread-safe.
 * @param[out] out  the threshold (untouched on failure)
 * @param errors    @p count errors, none NaN (infinities are allowed)
 * @param count     values, >= 1
 * @param q         in [0, 1]
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0, q outside [0, 1], an error
 *         NaN), AE_ERR_NOMEM.
 */
AE_API int ae_threshold_quantile(double *out, const double *errors,
                                 size_t count, double q);

/* ------------------------------------------------------------------------ */
/* The detector                                                             */
/* ------------------------------------------------------------------------ */

/** Opaque detector handle: error kind, threshold rule, fitted threshold. */
typedef struct ae_detector ae_detector;

/** Detector settings. Start from AE_DETECTOR_OPTIONS_INIT. */
typedef struct ae_detector_options {
    uint32_t struct_size; /**< sizeof(ae_detector_options) */
    int score;            /**< ae_score_kind */
    int rule;             /**< ae_threshold_rule */
    double k;             /**< AE_THRESHOLD_MEAN_STD: finite */
    double quantile;      /**< AE_THRESHOLD_QUANTILE: in [0, 1] */
} ae_detector_options;

/** Defaults: MSE, mean + 1 std (quantile 0.99 if the rule is switched). */
#define AE_DETECTOR_OPTIONS_INIT \
    {sizeof(ae_detector_options), AE_SCORE_MSE, AE_THRESHOLD_MEAN_STD, 1.0, 0.99}

/** @cond AE_INTERNAL */
AE_API int ae_detector_create_v(ae_detector **out,
                                const ae_detector_options *opts,
                                unsigned header_version);
/** @endcond */

/**
 * Creates an unfitted detector. Thread-safe.
 *
 * Macro arguments: (out, opts):
 * - @p out (ae_detector **): receives the detector (untouched on failure).
 *   The caller owns it: free it with ae_detector_destroy().
 * - @p opts (const ae_detector_options *): the settings, copied (not kept);
 *   NULL means AE_DETECTOR_OPTIONS_INIT.
 *
 * @return AE_OK, AE_ERR_INVALID (NULL out, struct_size too small, unknown
 *         kind or rule, k not finite, quantile outside [0, 1]),
 *         AE_ERR_NOMEM, AE_ERR_VERSION (headers of another major version,
 *         or a newer struct setting fields this library does not know).
 */
#define ae_detector_create(...) ae_detector_create_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Frees a detector. Not while another thread uses it.
 * @param det  the detector, or NULL (a no-op)
 */
AE_API void ae_detector_destroy(ae_detector *det);

/**
 * Fits the threshold on errors of normal samples with the detector's rule.
 * Refits from scratch if called again. Not thread-safe on @p det.
 * @param det     the detector
 * @param errors  @p count errors of normal samples, of the detector's error
 *                kind (only read, not kept)
 * @param count   values, >= 1
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0, a NaN error; with
 *         AE_THRESHOLD_MEAN_STD an infinite one too), AE_ERR_STATE (rule
 *         AE_THRESHOLD_FIXED), AE_ERR_NUMERIC (mean + k * std overflows),
 *         AE_ERR_NOMEM; on failure the detector keeps its previous
 *         threshold.
 */
AE_API int ae_detector_fit_errors(ae_detector *det, const double *errors,
                                  size_t count);

/**
 * Scores every sample of @p normal with @p model and the detector's error
 * kind, then fits the threshold on those errors (ae_detector_fit_errors()).
 * Not thread-safe on @p det; the model and the dataset are only read, and
 * neither is kept.
 * @param det     the detector
 * @param model   the autoencoder trained on normal data
 * @param normal  normal samples
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_STATE (rule
 *         AE_THRESHOLD_FIXED), AE_ERR_NOMEM, or as ae_model_score_dataset()
 *         and ae_detector_fit_errors(); on failure the detector keeps its
 *         previous threshold.
 */
AE_API int ae_detector_fit(ae_detector *det, const ae_model *model,
                           const ae_dataset *normal);

/**
 * Sets the threshold directly (restoring a saved detector, or tuning by
 * hand). The rule and error kind are kept; the detector counts as fitted.
 * Not thread-safe on @p det.
 * @param det        the detector
 * @param threshold  any value but NaN (infinities allowed)
 * @return AE_OK or AE_ERR_INVALID (NULL, threshold NaN).
 */
AE_API int ae_detector_set_threshold(ae_detector *det, double threshold);

/**
 * Whether the detector has a threshold (fitted or set). Safe from several
 * threads at once (as every read-only call below).
 * @param det  the detector, or NULL
 * @return 1 when it has one, 0 when not or when @p det is NULL.
 */
AE_API int ae_detector_is_fitted(const ae_detector *det);

/**
 * The fitted threshold. Read-only: safe from several threads at once.
 * @param det       the detector
 * @param[out] out  the threshold (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_STATE (not fitted yet).
 */
AE_API int ae_detector_threshold(const ae_detector *det, double *out);

/**
 * The detector's settings (error kind, rule, k, quantile). Writes only the
 * fields that fit the caller's struct: set out->struct_size first (the
 * _INIT macro does). Read-only: safe from several threads at once.
 * @param det           the detector
 * @param[in,out] out   struct_size read; the fields that fit written, and
 *                      struct_size set to the bytes written
 * @return AE_OK or AE_ERR_INVALID (NULL, struct_size below the first
 *         released layout).
 */
AE_API int ae_detector_get_options(const ae_detector *det,
                                   ae_detector_options *out);

/**
 * Classifies samples from their errors: flags[i] = 1 (anomaly) when
 * errors[i] > threshold, else 0. A NaN error is flagged as an anomaly.
 * Read-only on @p det: safe from several threads at once.
 * @param det         a fitted detector
 * @param errors      @p count errors (of the detector's error kind)
 * @param count       values, >= 1
 * @param[out] flags  @p count values, 1 = anomaly (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_STATE (not fitted).
 */
AE_API int ae_detector_classify(const ae_detector *det, const double *errors,
                                size_t count, int32_t *flags);

/**
 * Scores every sample of @p ds with @p model and classifies it. Reads the
 * detector, the model and the dataset only (none is kept): safe from
 * several threads at once.
 * @param det         a fitted detector
 * @param model       the autoencoder whose errors the detector was fitted on
 * @param ds          the samples to classify
 * @param[out] flags  ae_dataset_count(ds) values, 1 = anomaly (untouched on
 *                    failure)
 * @param[out] errors ae_dataset_count(ds) doubles, or NULL if not wanted
 *                    (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL det, model, ds or flags),
 *         AE_ERR_STATE (not fitted), AE_ERR_NOMEM, or as
 *         ae_model_score_dataset().
 */
AE_API int ae_detector_predict(const ae_detector *det, const ae_model *model,
                               const ae_dataset *ds, int32_t *flags,
                               double *errors);

/* ------------------------------------------------------------------------ */
/* Metrics                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * Confusion counts and rates at one threshold (predicted anomaly:
 * score > threshold). Rates whose denominator is 0 are 0 (scikit-learn's
 * zero_division=0): precision with no predicted anomalies, recall with no
 * true anomalies, F1 when precision + recall is 0.
 */
typedef struct ae_binary_metrics {
    uint32_t struct_size; /**< set by the caller (AE_BINARY_METRICS_INIT); the library
                               writes the fields both sides know and sets it to their size */
    double threshold;     /**< the threshold used */
    size_t tp;            /**< anomalies flagged */
    size_t fp;            /**< normal samples flagged */
    size_t tn;            /**< normal samples not flagged */
    size_t fn;            /**< anomalies missed */
    double accuracy;      /**< (tp + tn) / count */
    double precision;     /**< tp / (tp + fp) */
    double recall;        /**< tp / (tp + fn), the true positive rate */
    double f1;            /**< 2 * precision * recall / (precision + recall) */
} ae_binary_metrics;

/** Initializer for ae_binary_metrics (sets struct_size; the rest is output). */
#define AE_BINARY_METRICS_INIT {sizeof(ae_binary_metrics), 0.0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0}

/**
 * Counts and rates of @p count scores against 0/1 labels at @p threshold.
 * Thread-safe.
 * @param[in,out] out  its struct_size set by the caller
 *                   (AE_BINARY_METRICS_INIT); the fields both sides know
 *                   are written and struct_size becomes their size;
 *                   untouched on failure
 * @param scores     @p count scores (higher: more anomalous), none NaN
 * @param labels     @p count values, each 0 (normal) or 1 (anomaly)
 * @param count      values, >= 1
 * @param threshold  a sample is predicted anomalous when score > threshold
 * @return AE_OK, AE_ERR_INVALID (NULL, struct_size smaller than the 1.0
 *         layout, count 0, a label not 0 or 1, a NaN score or threshold).
 */
AE_API int ae_metrics_at_threshold(ae_binary_metrics *out, const double *scores,
                                   const int32_t *labels, size_t count,
                                   double threshold);

/**
 * Area under the ROC curve: the probability that a random anomaly scores
 * higher than a random normal sample, ties counting one half (the
 * Mann-Whitney statistic; equal to the trapezoidal area with tied scores
 * grouped into one step, as scikit-learn's roc_auc_score).
 * O(count log count) time, O(count) scratch memory. Thread-safe.
 * @param[out] out  the area, in [0, 1] (untouched on failure)
 * @param scores    @p count scores (higher: more anomalous), none NaN
 * @param labels    @p count values, each 0 (normal) or 1 (anomaly)
 * @param count     values, >= 2 (both classes must be present)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0, a label not 0 or 1, a NaN
 *         score, only one class present: the AUC is undefined),
 *         AE_ERR_NOMEM.
 */
AE_API int ae_metrics_roc_auc(double *out, const double *scores,
                              const int32_t *labels, size_t count);

/**
 * Area under the precision-recall curve as average precision (scikit-learn's
 * average_precision_score, no interpolation): the sum over distinct score
 * values t, from high to low, of (R(t) - R(t_prev)) * P(t), where P and R
 * are precision and recall of "score >= t"; tied scores enter together.
 * O(count log count) time, O(count) scratch memory. Thread-safe.
 * @param[out] out  the average precision, in (0, 1] (untouched on failure)
 * @param scores    @p count scores (higher: more anomalous), none NaN
 * @param labels    @p count values, each 0 (normal) or 1 (anomaly)
 * @param count     values, >= 2 (both classes must be present)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0, a label not 0 or 1, a NaN
 *         score, no anomaly or no normal sample present), AE_ERR_NOMEM.
 */
AE_API int ae_metrics_pr_auc(double *out, const double *scores,
                             const int32_t *labels, size_t count);

#ifdef __cplusplus
}
#endif
#endif /* AE_ANOMALY_H */
