/* SPDX-License-Identifier: MIT */
/*
 * anomaly.c - per-sample reconstruction errors, thresholds fitted on normal
 * errors, and the detector handle that keeps the error kind, the rule and
 * the threshold.
 *
 * Errors are accumulated in double per sample, so a score does not depend on
 * how the samples were batched. Datasets are scored in chunks through the
 * public ae_model_reconstruct(), which keeps scoring thread-safe exactly as
 * far as reconstruction is.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae/anomaly.h"
#include "ae/vae.h"
#include "analysis/analysis.h"
#include "core/core.h"
#include "core/kernels.h"
#include "data/dataset.h"
#include "data/scaler.h"
#include "nn/nn.h"

#define SCORE_CHUNK AE__CHUNK /* samples reconstructed per call */

struct ae_detector {
    ae_detector_options opts;
    int fitted;
    double threshold;
};

/* ---- errors ------------------------------------------------------------ */

const char *ae_score_name(int kind)
{
    switch (kind) {
    case AE_SCORE_MSE: return "mse";
    case AE_SCORE_MAE: return "mae";
    case AE_SCORE_BCE: return "bce";
    case AE_SCORE_NELBO: return "nelbo";
    case AE_SCORE_RECON_PROB: return "recon_prob";
    default: return "unknown";
    }
}

static int score_valid(int kind)
{
    return kind == AE_SCORE_MSE || kind == AE_SCORE_MAE || kind == AE_SCORE_BCE;
}

/* The kinds computed from the model: a VAE's scores. */
static int score_vae(int kind) { return kind == AE_SCORE_NELBO || kind == AE_SCORE_RECON_PROB; }

#define KINDS_MSG "mse 0, mae 1, bce 2, nelbo 3, recon_prob 4"


/* Error of one sample of n values: the mean of the loss's kernel. */
static double sample_error(int kind, const float *x, const float *xr, size_t n)
{
    const int recon = kind == AE_SCORE_MSE   ? AE__RECON_SQUARED
                      : kind == AE_SCORE_MAE ? AE__RECON_ABSOLUTE
                                             : AE__RECON_BCE;
    return ae__recon_sum(recon, xr, x, n, NULL, 0.0f) / (double)n;
}

/* Scores of b samples (sample index0 first) into out. */
static int model_scores(const ae_model *model, int kind, const float *x, size_t b, size_t index0,
                        float *xr, size_t size, double *out, const char *what)
{
    if (score_vae(kind))
        return ae__vae_scores(model, x, b, index0, AE_VAE_SCORE_SAMPLES, 0,
                              kind == AE_SCORE_NELBO ? out : NULL,
                              kind == AE_SCORE_RECON_PROB ? out : NULL, what);
    int rc = ae__model_forward(model, x, b, xr, what);
    for (size_t i = 0; i < b && rc == AE_OK; i++)
        out[i] = sample_error(kind, x + i * size, xr + i * size, size);
    return rc;
}

int ae_score_compute(double *errors, int kind, const float *x, const float *xr, size_t count,
                     size_t size)
{
    static const char what[] = "ae_score_compute";
    if (errors == NULL || x == NULL || xr == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         errors == NULL ? "errors" : x == NULL ? "x" : "xr");
    if (!score_valid(kind))
        return ae__error(AE_ERR_INVALID, "%s: unknown error kind %d (mse 0, mae 1, bce 2; nelbo "
                         "and recon_prob need the model: ae_model_score())", what, kind);
    if (size == 0)
        return ae__error(AE_ERR_INVALID, "%s: size is 0", what);
    int rc = ae__check_count(count, size, sizeof(double), "count", what);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < count; i++)
        errors[i] = sample_error(kind, x + i * size, xr + i * size, size);
    return AE_OK;
}

/* Fails unless the model maps its input size to the same output size. */
static int model_size(const ae_model *model, size_t *size, const char *what)
{
    size_t in = model->enc->net.in_size, out = model->dec->net.out_size;
    if (in != out)
        return ae__error(AE_ERR_SHAPE,
                         "%s: the model takes %zu values and gives %zu; reconstruction errors "
                         "need them equal", what, in, out);
    *size = in;
    return AE_OK;
}

int ae_model_score(const ae_model *model, const float *x, size_t count, int kind,
                   double *errors)
{
    static const char what[] = "ae_model_score";
    size_t size = 0;
    if (model == NULL || errors == NULL || x == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         model == NULL ? "model" : errors == NULL ? "errors" : "x");
    if (!score_valid(kind) && !score_vae(kind))
        return ae__error(AE_ERR_INVALID, "%s: unknown error kind %d (" KINDS_MSG ")", what, kind);
    int rc = ae__check_count(count, 1, sizeof(double), "count", what);
    if (rc < 0 || (rc = model_size(model, &size, what)) < 0 ||
        (rc = ae__check_count(count, size, sizeof(double), "count", what)) < 0)
        return rc;
    size_t chunk = count < SCORE_CHUNK ? count : SCORE_CHUNK, tbytes = count * sizeof(double);
    /* Errors go to scratch first: a failure part-way leaves @p errors as it was.
     * With a scaler the errors are measured on the scaled values (xs). */
    const ae_scaler *sc = ae__model_scaler(model);
    float *xr = ae__alloc((sc ? 2 : 1) * chunk * size * sizeof(float)), *xs = xr + chunk * size;
    double *tmp = ae__alloc(tbytes);
    if (xr == NULL || tmp == NULL) {
        rc = AE_ERR_NOMEM;
        goto done;
    }
    for (size_t first = 0; first < count; first += chunk) {
        size_t b = count - first < chunk ? count - first : chunk;
        const float *xb = x + first * size;
        if (sc != NULL) {
            ae__scaler_forward(sc, xb, b, xs);
            xb = xs;
        }
        if ((rc = model_scores(model, kind, xb, b, first, xr, size, tmp + first, what)) < 0)
            goto done;
    }
    memcpy(errors, tmp, count * sizeof(double));
done:
    ae__free(tmp);
    ae__free(xr);
    return rc;
}

int ae_model_score_dataset(const ae_model *model, const ae_dataset *ds, int kind, double *errors)
{
    static const char what[] = "ae_model_score_dataset";
    size_t size = 0;
    if (model == NULL || errors == NULL || ds == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         model == NULL ? "model" : errors == NULL ? "errors" : "dataset");
    if (!score_valid(kind) && !score_vae(kind))
        return ae__error(AE_ERR_INVALID, "%s: unknown error kind %d (" KINDS_MSG ")", what, kind);
    int rc = model_size(model, &size, what);
    if (rc < 0)
        return rc;
    const size_t n = ae_dataset_count(ds);
    if (ae_dataset_sample_size(ds) != size)
        return ae__error(AE_ERR_SHAPE, "%s: samples have %zu values, the model takes %zu", what,
                         ae_dataset_sample_size(ds), size);

    size_t chunk = n < SCORE_CHUNK ? n : SCORE_CHUNK;
    float *buf = ae__alloc(2 * chunk * size * sizeof(float)); /* sizes checked by the dataset */
    double *tmp = ae__alloc(n * sizeof(double));
    if (buf == NULL || tmp == NULL) {
        rc = AE_ERR_NOMEM;
        goto done;
    }
    float *x = buf, *xr = buf + chunk * size;
    for (size_t first = 0; first < n; first += chunk) {
        size_t b = n - first < chunk ? n - first : chunk;
        for (size_t i = 0; i < b; i++)
            memcpy(x + i * size, ae__dataset_row(ds, first + i), size * sizeof(float));
        if (ae__model_scaler(model) != NULL) /* scores of the scaled values */
            ae__scaler_forward(ae__model_scaler(model), x, b, x);
        if ((rc = model_scores(model, kind, x, b, first, xr, size, tmp + first, what)) < 0)
            goto done;
    }
    memcpy(errors, tmp, n * sizeof(double));
done:
    ae__free(buf);
    ae__free(tmp);
    return rc;
}

/* ---- thresholds ---------------------------------------------------------- */

const char *ae_threshold_rule_name(int rule)
{
    switch (rule) {
    case AE_THRESHOLD_MEAN_STD: return "mean_std";
    case AE_THRESHOLD_QUANTILE: return "quantile";
    case AE_THRESHOLD_FIXED: return "fixed";
    default: return "unknown";
    }
}

/* Fails on NULL, count 0 or a NaN (and, when finite is set, an infinite) error. */
static int check_errors(const double *errors, size_t count, int finite, const char *what)
{
    if (errors == NULL)
        return ae__error(AE_ERR_INVALID, "%s: errors is NULL", what);
    int rc = ae__check_count(count, 1, sizeof(double), "count", what);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < count; i++) {
        if (isnan(errors[i]) || (finite && !isfinite(errors[i])))
            return ae__error(AE_ERR_INVALID, "%s: errors[%zu] is %g", what, i, errors[i]);
    }
    return AE_OK;
}

/* Two-pass mean and population std of e[i] / scale: no cancellation for
 * large means. */
static void mean_std_scaled(const double *e, size_t n, double scale, double *mean, double *std)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += e[i] / scale;
    double m = s / (double)n, ss = 0.0, c = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = e[i] / scale - m;
        ss += d * d;
        c += d;
    }
    /* c corrects the rounding error of m (Chan, Golub, LeVeque). */
    double var = (ss - c * c / (double)n) / (double)n;
    *mean = m;
    *std = var > 0.0 ? sqrt(var) : 0.0;
}

/* Mean and population std of finite errors. Errors near DBL_MAX overflow
 * the sums: then the sums run on e / max|e| and scale back (a mean always
 * comes back finite; a std above DBL_MAX comes back infinite). */
static void mean_std(const double *e, size_t n, double *mean, double *std)
{
    mean_std_scaled(e, n, 1.0, mean, std);
    if (isfinite(*mean) && isfinite(*std))
        return;
    double top = 0.0;
    for (size_t i = 0; i < n; i++)
        top = fabs(e[i]) > top ? fabs(e[i]) : top;
    mean_std_scaled(e, n, top, mean, std);
    *mean *= top;
    *std *= top;
}

static int threshold_mean_std(double *out, const double *errors, size_t count, double k,
                              const char *what)
{
    int rc = check_errors(errors, count, 1, what);
    if (rc < 0)
        return rc;
    if (!isfinite(k))
        return ae__error(AE_ERR_INVALID, "%s: k is %g, it must be finite", what, k);
    double m, s;
    mean_std(errors, count, &m, &s);
    double t = k == 0.0 ? m : m + k * s;
    if (!isfinite(t))
        return ae__error(AE_ERR_NUMERIC, "%s: mean %g + %g * std %g is not finite", what, m, k,
                         s);
    *out = t;
    return AE_OK;
}

int ae_threshold_mean_std(double *out, const double *errors, size_t count, double k)
{
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_threshold_mean_std: out is NULL");
    return threshold_mean_std(out, errors, count, k, "ae_threshold_mean_std");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int threshold_quantile(double *out, const double *errors, size_t count, double q,
                              const char *what)
{
    int rc = check_errors(errors, count, 0, what);
    if (rc < 0)
        return rc;
    if (!(q >= 0.0 && q <= 1.0))
        return ae__error(AE_ERR_INVALID, "%s: quantile %g is not in [0, 1]", what, q);
    double *s = ae__alloc(count * sizeof(double));
    if (s == NULL)
        return AE_ERR_NOMEM;
    memcpy(s, errors, count * sizeof(double));
    qsort(s, count, sizeof(double), cmp_double);
    double h = q * (double)(count - 1);
    size_t lo = (size_t)h;
    if (lo >= count - 1)
        *out = s[count - 1];
    else {
        double frac = h - (double)lo, a = s[lo], b = s[lo + 1];
        /* a == b also covers two equal infinities (b - a would be NaN).
         * Any weight on an infinity gives that infinity; between -inf and
         * +inf the nearer rank wins. Finite ends whose distance overflows
         * (near +-DBL_MAX) are weighted one by one instead. */
        if (frac == 0.0 || a == b)
            *out = a;
        else if (isinf(a) && isinf(b))
            *out = frac < 0.5 ? a : b;
        else if (isinf(a) || isinf(b))
            *out = isinf(a) ? a : b;
        else {
            *out = a + frac * (b - a);
            if (!isfinite(*out))
                *out = (1.0 - frac) * a + frac * b;
        }
    }
    ae__free(s);
    return AE_OK;
}

int ae_threshold_quantile(double *out, const double *errors, size_t count, double q)
{
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_threshold_quantile: out is NULL");
    return threshold_quantile(out, errors, count, q, "ae_threshold_quantile");
}

/* ---- the detector --------------------------------------------------------- */

static int check_options(const ae_detector_options *o, const char *what)
{
    if (!score_valid(o->score) && !score_vae(o->score))
        return ae__error(AE_ERR_INVALID, "%s: unknown error kind %d (" KINDS_MSG ")", what,
                         o->score);
    if (o->rule != AE_THRESHOLD_MEAN_STD && o->rule != AE_THRESHOLD_QUANTILE &&
        o->rule != AE_THRESHOLD_FIXED)
        return ae__error(AE_ERR_INVALID,
                         "%s: unknown threshold rule %d (mean_std 0, quantile 1, fixed 2)", what,
                         o->rule);
    if (!isfinite(o->k))
        return ae__error(AE_ERR_INVALID, "%s: k is %g, it must be finite", what, o->k);
    if (!(o->quantile >= 0.0 && o->quantile <= 1.0))
        return ae__error(AE_ERR_INVALID, "%s: quantile %g is not in [0, 1]", what, o->quantile);
    return AE_OK;
}

int ae_detector_create_v(ae_detector **out, const ae_detector_options *opts,
                         unsigned header_version)
{
    static const char what[] = "ae_detector_create";
    const ae_detector_options defaults = AE_DETECTOR_OPTIONS_INIT;
    ae_detector_options o = defaults;
    int rc = ae__check_header(header_version, what);
    if (rc < 0)
        return rc;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out is NULL", what);
    if (opts != NULL) {
        rc = ae__take_struct(&o, opts, AE__LAYOUT_END(ae_detector_options, quantile), sizeof o,
                             what);
        if (rc < 0)
            return rc;
    }
    if ((rc = check_options(&o, what)) < 0)
        return rc;
    ae_detector *det = ae__calloc(1, sizeof *det);
    if (det == NULL)
        return AE_ERR_NOMEM;
    det->opts = o;
    det->fitted = 0;
    det->threshold = NAN;
    *out = det;
    return AE_OK;
}

void ae_detector_destroy(ae_detector *det) { ae__free(det); }

int ae_detector_fit_errors(ae_detector *det, const double *errors, size_t count)
{
    static const char what[] = "ae_detector_fit_errors";
    double t;
    int rc;
    if (det == NULL)
        return ae__error(AE_ERR_INVALID, "%s: detector is NULL", what);
    switch (det->opts.rule) {
    case AE_THRESHOLD_MEAN_STD:
        rc = threshold_mean_std(&t, errors, count, det->opts.k, what);
        break;
    case AE_THRESHOLD_QUANTILE:
        rc = threshold_quantile(&t, errors, count, det->opts.quantile, what);
        break;
    default:
        return ae__error(AE_ERR_STATE,
                         "%s: the detector's rule is 'fixed'; set its threshold with "
                         "ae_detector_set_threshold()", what);
    }
    if (rc < 0)
        return rc;
    det->threshold = t;
    det->fitted = 1;
    return AE_OK;
}

int ae_detector_fit(ae_detector *det, const ae_model *model, const ae_dataset *normal)
{
    static const char what[] = "ae_detector_fit";
    if (det == NULL || model == NULL || normal == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         det == NULL ? "detector" : model == NULL ? "model" : "dataset");
    if (det->opts.rule == AE_THRESHOLD_FIXED)
        return ae__error(AE_ERR_STATE,
                         "%s: the detector's rule is 'fixed'; set its threshold with "
                         "ae_detector_set_threshold()", what);
    size_t n = ae_dataset_count(normal);
    double *errors = ae__alloc(n * sizeof(double));
    if (errors == NULL)
        return AE_ERR_NOMEM;
    int rc = ae_model_score_dataset(model, normal, det->opts.score, errors);
    if (rc == AE_OK)
        rc = ae_detector_fit_errors(det, errors, n);
    ae__free(errors);
    return rc;
}

int ae_detector_set_threshold(ae_detector *det, double threshold)
{
    if (det == NULL)
        return ae__error(AE_ERR_INVALID, "ae_detector_set_threshold: detector is NULL");
    if (isnan(threshold))
        return ae__error(AE_ERR_INVALID, "ae_detector_set_threshold: threshold is NaN");
    det->threshold = threshold;
    det->fitted = 1;
    return AE_OK;
}

int ae_detector_is_fitted(const ae_detector *det) { return det != NULL && det->fitted; }

static int check_fitted(const ae_detector *det, const char *what)
{
    if (det == NULL)
        return ae__error(AE_ERR_INVALID, "%s: detector is NULL", what);
    if (!det->fitted)
        return ae__error(AE_ERR_STATE,
                         "%s: the detector has no threshold yet (fit it or set one)", what);
    return AE_OK;
}

int ae_detector_threshold(const ae_detector *det, double *out)
{
    static const char what[] = "ae_detector_threshold";
    int rc = check_fitted(det, what);
    if (rc < 0)
        return rc;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out is NULL", what);
    *out = det->threshold;
    return AE_OK;
}

int ae_detector_get_options(const ae_detector *det, ae_detector_options *out)
{
    static const char what[] = "ae_detector_get_options";
    if (det == NULL)
        return ae__error(AE_ERR_INVALID, "%s: detector is NULL", what);
    /* The first released layout ends with quantile; later fields are only
     * written when the caller's struct has room for them. */
    return ae__fill_struct(out, &det->opts, sizeof det->opts,
                           AE__LAYOUT_END(ae_detector_options, quantile), what);
}

int ae_detector_classify(const ae_detector *det, const double *errors, size_t count,
                         int32_t *flags)
{
    static const char what[] = "ae_detector_classify";
    int rc = check_fitted(det, what);
    if (rc < 0)
        return rc;
    if (flags == NULL || errors == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         flags == NULL ? "flags" : "errors");
    if ((rc = ae__check_count(count, 1, sizeof(double), "count", what)) < 0)
        return rc;
    const double t = det->threshold;
    for (size_t i = 0; i < count; i++)
        flags[i] = !(errors[i] <= t); /* NaN: anomaly */
    return AE_OK;
}

int ae_detector_predict(const ae_detector *det, const ae_model *model, const ae_dataset *ds,
                        int32_t *flags, double *errors)
{
    static const char what[] = "ae_detector_predict";
    int rc = check_fitted(det, what);
    if (rc < 0)
        return rc;
    if (flags == NULL || model == NULL || ds == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         flags == NULL ? "flags" : model == NULL ? "model" : "dataset");
    size_t n = ae_dataset_count(ds);
    double *e = ae__alloc(n * sizeof(double));
    if (e == NULL)
        return AE_ERR_NOMEM;
    rc = ae_model_score_dataset(model, ds, det->opts.score, e);
    if (rc == AE_OK) {
        for (size_t i = 0; i < n; i++)
            flags[i] = !(e[i] <= det->threshold);
        if (errors != NULL)
            memcpy(errors, e, n * sizeof(double));
    }
    ae__free(e);
    return rc;
}
