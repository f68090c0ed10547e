/* SPDX-License-Identifier: MIT */
/**
 * @file ae/pca.h
 * @brief Principal component analysis: the linear baseline an autoencoder is
 *        measured against, and a 2-D projection for looking at latents.
 *
 * PCA finds the k orthonormal directions (components) along which centred
 * data varies most. transform() maps x to z = (x - mean) W^T, with W the
 * k x d matrix of components (one per row); inverse_transform() maps z back
 * to x~ = z W + mean. With the same k, PCA is the best *linear* autoencoder.
 *
 * Solvers (ae_pca_options.solver):
 * - AE_PCA_EXACT: the eigen-decomposition, in double precision, of the
 *   d x d covariance matrix when there are at least as many samples as
 *   features (n >= d), or of the n x n Gram matrix otherwise, through
 *   LAPACK's dsyevr (OpenBLAS carries LAPACK). Costs about n d min(n, d)
 *   flops and min(n, d)^2 doubles of memory; limited to
 *   min(n, d) <= AE_PCA_EXACT_MAX.
 * - AE_PCA_RANDOMIZED: randomized SVD (Halko, Martinsson & Tropp 2011)
 *   built on cblas_sgemm: a seeded Gaussian sketch of k + oversamples
 *   columns, power_iterations subspace iterations, then an exact
 *   decomposition of the small projected problem. Costs about
 *   n d (k + oversamples) (2 power_iterations + 3) flops; approximate, and
 *   the same seed gives the same components.
 * - AE_PCA_AUTO (default): exact when min(n, d) <= 4096 or when k is at least
 *   80 % of min(n, d) (and min(n, d) <= AE_PCA_EXACT_MAX), randomized
 *   otherwise. ae_pca_solver_used() tells which one ran.
 *
 * Explained variances are eigenvalues of the covariance with the n - 1
 * divisor (as scikit-learn reports them); the ratio divides by the total
 * variance, the sum of the per-feature variances. Component signs are made
 * deterministic: the entry of largest magnitude of each component is
 * positive.
 *
 * Saving: storing a PCA in a file belongs to the model file format
 * (ae/io.h). ae_pca_get_mean(), ae_pca_get_components(),
 * ae_pca_get_explained_variance() and ae_pca_set_state() give and take
 * everything a fitted PCA consists of, so a saver writes those arrays and a
 * loader hands them back.
 *
 * Thread safety: create, fit and set_state change the handle and need it to
 * themselves; transform, inverse_transform, evaluate and every getter only
 * read it and may run from several threads at once.
 *
 * @code
 * ae_pca *pca;
 * ae_pca_options po = AE_PCA_OPTIONS_INIT;
 * po.n_components = 64;
 * ae_pca_create(&pca, &po);
 * ae_pca_fit_dataset(pca, train);          // 60000 x 784 Fashion-MNIST
 * double mse;
 * ae_pca_evaluate(pca, test, &mse);        // reconstruction MSE, ~0.0104
 * ae_pca_destroy(pca);
 * @endcode
 */
#ifndef AE_PCA_H
#define AE_PCA_H

#include "common.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque PCA handle. */
typedef struct ae_pca ae_pca;

/** PCA solvers (values pinned). */
enum ae_pca_solver {
    AE_PCA_AUTO = 0,      /**< exact or randomized by problem size (see above) */
    AE_PCA_EXACT = 1,     /**< covariance or Gram eigen-decomposition (LAPACK) */
    AE_PCA_RANDOMIZED = 2 /**< seeded randomized SVD on cblas_sgemm */
};

/** Largest min(samples, features) the exact solver takes. */
#define AE_PCA_EXACT_MAX 16384u

/** PCA options. Start from AE_PCA_OPTIONS_INIT. */
typedef struct ae_pca_options {
    uint32_t struct_size;      /**< sizeof(ae_pca_options) */
    uint32_t n_components;     /**< k >= 1, at most min(samples, features) */
    int solver;                /**< ae_pca_solver */
    uint32_t oversamples;      /**< randomized: extra sketch columns (10) */
    uint32_t power_iterations; /**< randomized: subspace iterations (7) */
    uint64_t seed;             /**< randomized: drives the sketch */
} ae_pca_options;

/** Defaults: 2 components, automatic solver, 10 oversamples, 7 power
 *  iterations, seed 0. */
#define AE_PCA_OPTIONS_INIT {sizeof(ae_pca_options), 2, AE_PCA_AUTO, 10, 7, 0}

/** @cond AE_INTERNAL */
AE_API int ae_pca_create_v(ae_pca **out, const ae_pca_options *opts,
                           unsigned header_version);
/** @endcond */

/**
 * Creates an unfitted PCA with options @p opts (NULL means
 * AE_PCA_OPTIONS_INIT). The options are checked here; whether n_components
 * fits the data is checked by the fit. Thread-safe (it shares nothing).
 *
 * Macro arguments: (out, opts):
 * - @p out (ae_pca **): receives the PCA (untouched on failure). The
 *   caller owns it: free it with ae_pca_destroy().
 * - @p opts (const ae_pca_options *): the options, copied (not kept); NULL
 *   means AE_PCA_OPTIONS_INIT.
 *
 * @return AE_OK, AE_ERR_INVALID (NULL out, bad struct_size, k = 0, unknown
 *         solver), AE_ERR_NOMEM or AE_ERR_VERSION (headers of another major
 *         version, or a newer struct setting fields this library does not
 *         know).
 */
#define ae_pca_create(...) ae_pca_create_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Frees a PCA. Not while another thread uses it.
 * @param pca  the PCA, or NULL (a no-op)
 */
AE_API void ae_pca_destroy(ae_pca *pca);

/**
 * Fits the PCA on @p count samples of @p features floats each (row-major).
 * The data is centred by the PCA (the mean is kept). Refitting replaces the
 * previous fit only on success. Not thread-safe on @p pca.
 * @param pca       the PCA
 * @param x         count * features floats (only read, not kept)
 * @param count     samples, >= 2
 * @param features  floats per sample, >= 1
 * @return AE_OK; AE_ERR_INVALID (NULL, count < 2, features 0, n_components
 *         more than the features or the samples); AE_ERR_LIMIT (exact solver
 *         on a problem past AE_PCA_EXACT_MAX, sizes past INT_MAX);
 *         AE_ERR_NUMERIC (NaN or infinity in the data, LAPACK failed);
 *         AE_ERR_NOMEM.
 */
AE_API int ae_pca_fit(ae_pca *pca, const float *x, size_t count, size_t features);

/**
 * Fits on every sample of @p ds (flattened), as ae_pca_fit(). Not
 * thread-safe on @p pca.
 * @param pca  the PCA
 * @param ds   the samples (only read, not kept)
 * @return as ae_pca_fit().
 */
AE_API int ae_pca_fit_dataset(ae_pca *pca, const ae_dataset *ds);

/**
 * Number of components of the fit.
 * @param pca  the PCA, or NULL
 * @return k, 0 when unfitted or NULL.
 */
AE_API size_t ae_pca_n_components(const ae_pca *pca);

/**
 * Number of features of the fit.
 * @param pca  the PCA, or NULL
 * @return d, 0 when unfitted or NULL.
 */
AE_API size_t ae_pca_n_features(const ae_pca *pca);

/**
 * The solver that produced the fit.
 * @param pca  the PCA, or NULL
 * @return AE_PCA_EXACT or AE_PCA_RANDOMIZED (an ae_pca_solver);
 *         AE_PCA_AUTO when unfitted, NULL or set by ae_pca_set_state().
 */
AE_API int ae_pca_solver_used(const ae_pca *pca);

/**
 * Projects @p count samples (features floats each) onto the components:
 * z = (x - mean) W^T, n_components floats per sample.
 * @param pca     a fitted PCA (only read)
 * @param x       count * n_features floats
 * @param count   samples, >= 1
 * @param[out] z  count * n_components floats (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_STATE (unfitted),
 *         AE_ERR_NOMEM.
 */
AE_API int ae_pca_transform(const ae_pca *pca, const float *x, size_t count,
                            float *z);

/**
 * Maps @p count projections back to the input space: x~ = z W + mean.
 * @param pca     a fitted PCA (only read)
 * @param z       count * n_components floats
 * @param count   projections, >= 1
 * @param[out] x  count * n_features floats (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_STATE (unfitted).
 */
AE_API int ae_pca_inverse_transform(const ae_pca *pca, const float *z,
                                    size_t count, float *x);

/**
 * The reconstruction MSE of @p ds through the PCA, mean over every element
 * of sum((x~ - x)^2) (the reduction of AE_LOSS_MSE, so it compares with
 * ae_model_evaluate()).
 * @param pca          a fitted PCA (only read)
 * @param ds           the samples (only read)
 * @param[out] out_mse the mean squared error (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, empty dataset), AE_ERR_STATE
 *         (unfitted), AE_ERR_SHAPE (samples are not n_features floats),
 *         AE_ERR_NOMEM.
 */
AE_API int ae_pca_evaluate(const ae_pca *pca, const ae_dataset *ds,
                           double *out_mse);

/**
 * Copies the mean (n_features floats) into @p mean, which holds @p size.
 * @param pca        a fitted PCA (only read)
 * @param[out] mean  n_features floats are written (untouched on failure)
 * @param size       floats @p mean holds
 * @return AE_OK, AE_ERR_INVALID (NULL, size smaller than n_features),
 *         AE_ERR_STATE (unfitted).
 */
AE_API int ae_pca_get_mean(const ae_pca *pca, float *mean, size_t size);

/**
 * Copies the components, n_components rows of n_features floats, largest
 * variance first, into @p components, which holds @p size floats.
 * @param pca              a fitted PCA (only read)
 * @param[out] components  n_components * n_features floats are written
 *                         (untouched on failure)
 * @param size             floats @p components holds
 * @return AE_OK, AE_ERR_INVALID (NULL, size too small), AE_ERR_STATE
 *         (unfitted).
 */
AE_API int ae_pca_get_components(const ae_pca *pca, float *components,
                                 size_t size);

/**
 * Copies the explained variance of each component (n_components values,
 * decreasing) into @p variance and its ratio to the total variance into
 * @p ratio; either may be NULL. Each holds @p size doubles. @p total, when
 * not NULL, receives the total variance (the sum over all features).
 * @param pca            a fitted PCA (only read)
 * @param[out] variance  n_components doubles, or NULL
 * @param[out] ratio     n_components doubles, or NULL
 * @param size           doubles each non-NULL array holds
 * @param[out] total     the total variance, or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL pca, all outputs NULL, size too
 *         small), AE_ERR_STATE (unfitted).
 */
AE_API int ae_pca_get_explained_variance(const ae_pca *pca, double *variance,
                                         double *ratio, size_t size,
                                         double *total);

/**
 * Makes @p pca a fitted PCA from saved arrays: @p mean (features floats),
 * @p components (n_components x features, rows orthonormal within 1e-3),
 * @p variance (n_components values, non-negative) and the total variance
 * (at least their sum, within rounding). The arrays are copied. This is
 * what a loader calls; the getters above give what a saver writes. On
 * success the previous fit is replaced; on failure it is kept. Not
 * thread-safe on @p pca.
 * @param pca             the PCA (fitted or not)
 * @param features        d, >= 1
 * @param n_components    k, 1 to @p features
 * @param mean            d floats (copied)
 * @param components      k * d floats, row-major (copied)
 * @param variance        k doubles (copied)
 * @param total_variance  the total variance
 * @return AE_OK, AE_ERR_INVALID (NULL, zero sizes, k > features, a value
 *         not finite, negative variance, total below the sum), AE_ERR_LIMIT
 *         (k * d or d above INT_MAX), AE_ERR_FORMAT (components not
 *         orthonormal), AE_ERR_NOMEM.
 */
AE_API int ae_pca_set_state(ae_pca *pca, size_t features, size_t n_components,
                            const float *mean, const float *components,
                            const double *variance, double total_variance);

#ifdef __cplusplus
}
#endif
#endif /* AE_PCA_H */
