/* SPDX-License-Identifier: MIT */
/*
 * scaler.c - per-feature standardisation and min-max scaling (ae/scaler.h),
 * and the model's side of it: attaching, encoding raw samples, scaled
 * copies of datasets for training and evaluation.
 */
#include <math.h>
#include <string.h>

#include "data/dataset.h"
#include "nn/nn.h"
#include "scaler.h"

const char *ae_scaler_kind_name(int kind)
{
    switch (kind) {
    case AE_SCALER_STANDARD:
        return "standard";
    case AE_SCALER_MINMAX:
        return "minmax";
    default:
        return "unknown";
    }
}

int ae_scaler_create(ae_scaler **out, int kind)
{
    if (out == NULL)
        return AE__NULL_ARG("ae_scaler_create", out);
    if (kind != AE_SCALER_STANDARD && kind != AE_SCALER_MINMAX)
        return ae__error(AE_ERR_INVALID, "ae_scaler_create: unknown kind %d (0 standard, 1 minmax)",
                         kind);
    ae_scaler *sc = ae__calloc(1, sizeof *sc);
    if (sc == NULL)
        return AE_ERR_NOMEM;
    sc->kind = kind;
    *out = sc;
    return AE_OK;
}

void ae_scaler_destroy(ae_scaler *sc)
{
    if (sc == NULL)
        return;
    ae__free(sc->shift);
    ae__free(sc);
}

/* shift and scale live in one block of 2 n floats. */
static int set_params(ae_scaler *sc, size_t n, const float *shift, const float *scale)
{
    size_t bytes;
    if (!ae__mul_size(n, 2 * sizeof(float), &bytes))
        return ae__error(AE_ERR_LIMIT, "scaler: %zu features overflow", n);
    float *p = ae__alloc(bytes);
    if (p == NULL)
        return AE_ERR_NOMEM;
    memcpy(p, shift, n * sizeof(float));
    memcpy(p + n, scale, n * sizeof(float));
    ae__free(sc->shift);
    sc->shift = p;
    sc->scale = p + n;
    sc->n = n;
    return AE_OK;
}

int ae__scaler_make(ae_scaler **out, int kind, size_t n, const float *shift, const float *scale)
{
    ae_scaler *sc = NULL;
    int rc = ae_scaler_create(&sc, kind);
    if (rc == AE_OK && (rc = set_params(sc, n, shift, scale)) < 0) {
        ae_scaler_destroy(sc);
        return rc;
    }
    if (rc == AE_OK)
        *out = sc;
    return rc;
}

int ae_scaler_fit(ae_scaler *sc, const ae_dataset *ds)
{
    static const char who[] = "ae_scaler_fit";
    if (sc == NULL || ds == NULL)
        return AE__NULL_ARG(who, sc, ds);
    const size_t count = ae_dataset_count(ds), n = ae_dataset_sample_size(ds);
    if (count == 0)
        return ae__error(AE_ERR_INVALID, "%s: the dataset is empty", who);
    double *acc = ae__calloc(2 * n, sizeof(double)); /* sum/min, sum of squares/max */
    float *par = ae__alloc(2 * n * sizeof(float));
    int rc = AE_OK;
    if (acc == NULL || par == NULL) {
        rc = AE_ERR_NOMEM;
        goto done;
    }
    double *a = acc, *b = acc + n;
    for (size_t i = 0; i < count && rc == AE_OK; i++) {
        const float *x = ae__dataset_row(ds, i);
        for (size_t j = 0; j < n; j++) {
            double v = (double)x[j];
            if (!isfinite(v)) {
                rc = ae__error(AE_ERR_INVALID, "%s: sample %zu, feature %zu is %s", who, i, j,
                               isnan(v) ? "NaN" : "infinite");
                break;
            }
            if (sc->kind == AE_SCALER_STANDARD) {
                a[j] += v;
            } else if (i == 0) {
                a[j] = b[j] = v;
            } else {
                a[j] = v < a[j] ? v : a[j];
                b[j] = v > b[j] ? v : b[j];
            }
        }
    }
    if (rc == AE_OK && sc->kind == AE_SCALER_STANDARD) {
        /* two passes: the mean, then the squared deviations from it */
        for (size_t j = 0; j < n; j++)
            a[j] /= (double)count;
        for (size_t i = 0; i < count; i++) {
            const float *x = ae__dataset_row(ds, i);
            for (size_t j = 0; j < n; j++) {
                double d = (double)x[j] - a[j];
                b[j] += d * d;
            }
        }
        for (size_t j = 0; j < n; j++)
            b[j] = sqrt(b[j] / (double)count);
    } else if (rc == AE_OK) {
        for (size_t j = 0; j < n; j++)
            b[j] -= a[j];
    }
    for (size_t j = 0; j < n && rc == AE_OK; j++) {
        par[j] = (float)a[j];
        float s = (float)b[j];
        /* a range past FLT_MAX (values near +-FLT_MAX) has no float scale:
         * the transform would give infinities */
        if (!isfinite(s))
            rc = ae__error(AE_ERR_INVALID, "%s: feature %zu's %s, %g, overflows float (scale the "
                           "data down first)", who, j,
                           sc->kind == AE_SCALER_STANDARD ? "standard deviation" : "range", b[j]);
        /* constant (or all but constant) features map to 0, never /0 */
        par[n + j] = s > 1e-12f * (1.0f + fabsf(par[j])) ? s : 1.0f;
    }
    if (rc == AE_OK)
        rc = set_params(sc, n, par, par + n);
done:
    ae__free(acc);
    ae__free(par);
    return rc;
}

size_t ae_scaler_features(const ae_scaler *sc) { return sc ? sc->n : 0; }

int ae_scaler_kind(const ae_scaler *sc)
{
    if (sc == NULL)
        return AE__NULL_ARG("ae_scaler_kind", sc);
    return sc->kind;
}

static int check_fitted(const ae_scaler *sc, const char *who)
{
    if (sc->n == 0)
        return ae__error(AE_ERR_STATE, "%s: the scaler is not fitted (ae_scaler_fit)", who);
    return AE_OK;
}

int ae_scaler_params(const ae_scaler *sc, float *shift, float *scale)
{
    static const char who[] = "ae_scaler_params";
    if (sc == NULL)
        return AE__NULL_ARG(who, sc);
    int rc = check_fitted(sc, who);
    if (rc < 0)
        return rc;
    if (shift != NULL)
        memcpy(shift, sc->shift, sc->n * sizeof(float));
    if (scale != NULL)
        memcpy(scale, sc->scale, sc->n * sizeof(float));
    return AE_OK;
}

void ae__scaler_forward(const ae_scaler *sc, const float *x, size_t count, float *out)
{
    const size_t n = sc->n;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < n; j++)
            out[i * n + j] = (x[i * n + j] - sc->shift[j]) / sc->scale[j];
}

void ae__scaler_inverse(const ae_scaler *sc, const float *x, size_t count, float *out)
{
    const size_t n = sc->n;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < n; j++)
            out[i * n + j] = x[i * n + j] * sc->scale[j] + sc->shift[j];
}

static int check_arrays(const ae_scaler *sc, const float *x, size_t count, const float *out,
                        const char *who)
{
    if (sc == NULL || x == NULL || out == NULL)
        return AE__NULL_ARG(who, sc, x, out);
    int rc = check_fitted(sc, who);
    return rc < 0 ? rc : ae__check_count(count, sc->n, sizeof(float), "count", who);
}

int ae_scaler_transform(const ae_scaler *sc, const float *x, size_t count, float *out)
{
    int rc = check_arrays(sc, x, count, out, "ae_scaler_transform");
    if (rc == AE_OK)
        ae__scaler_forward(sc, x, count, out);
    return rc;
}

int ae_scaler_inverse_transform(const ae_scaler *sc, const float *x, size_t count, float *out)
{
    int rc = check_arrays(sc, x, count, out, "ae_scaler_inverse_transform");
    if (rc == AE_OK)
        ae__scaler_inverse(sc, x, count, out);
    return rc;
}

static int scaled_copy(ae_dataset **out, const ae_scaler *sc, const ae_dataset *ds,
                       const char *who)
{
    const size_t count = ae_dataset_count(ds), n = ae_dataset_sample_size(ds);
    if (n != sc->n)
        return ae__error(AE_ERR_SHAPE, "%s: samples have %zu values, the scaler was fitted on %zu",
                         who, n, sc->n);
    ae_shape shape;
    int rc = ae_dataset_shape(ds, &shape);
    if (rc < 0)
        return rc;
    float *data = ae__alloc((count ? count : 1) * n * sizeof(float)); /* sizes held by ds */
    int32_t *labels = ae_dataset_has_labels(ds) ? ae__alloc((count ? count : 1) * sizeof(int32_t))
                                                : NULL;
    if (data == NULL || (labels == NULL && ae_dataset_has_labels(ds))) {
        rc = AE_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < count; i++) {
        ae__scaler_forward(sc, ae__dataset_row(ds, i), 1, data + i * n);
        if (labels != NULL && (rc = ae_dataset_label(ds, i, &labels[i])) < 0)
            goto fail;
    }
    if ((rc = ae__dataset_adopt(out, data, labels, count, &shape)) < 0)
        goto fail;
    return AE_OK;
fail:
    ae__free(data);
    ae__free(labels);
    return rc;
}

int ae_scaler_apply(ae_dataset **out, const ae_scaler *sc, const ae_dataset *ds)
{
    static const char who[] = "ae_scaler_apply";
    if (out == NULL || sc == NULL || ds == NULL)
        return AE__NULL_ARG(who, out, sc, ds);
    int rc = check_fitted(sc, who);
    return rc < 0 ? rc : scaled_copy(out, sc, ds, who);
}

/* ---- the model's side ------------------------------------------------------------ */

int ae_model_set_scaler(ae_model *model, const ae_scaler *sc)
{
    static const char who[] = "ae_model_set_scaler";
    if (model == NULL)
        return AE__NULL_ARG(who, model);
    ae_scaler *copy = NULL;
    if (sc != NULL) {
        const size_t in = model->enc->net.in_size, out = model->dec->net.out_size;
        int rc = check_fitted(sc, who);
        if (rc < 0)
            return rc;
        if (sc->n != in || in != out)
            return ae__error(AE_ERR_SHAPE,
                             "%s: the scaler has %zu features, the model takes %zu values and "
                             "gives %zu (all three must be equal)", who, sc->n, in, out);
        if ((rc = ae__scaler_make(&copy, sc->kind, sc->n, sc->shift, sc->scale)) < 0)
            return rc;
    }
    ae_scaler_destroy(model->scaler);
    model->scaler = copy;
    return AE_OK;
}

const ae_scaler *ae_model_get_scaler(const ae_model *model)
{
    return model ? model->scaler : NULL;
}

const ae_scaler *ae__model_scaler(const ae_model *model) { return model->scaler; }

int ae__model_scale_data(const ae_model *model, const ae_dataset **data, ae_dataset **owned,
                         const char *who)
{
    *owned = NULL;
    if (model->scaler == NULL)
        return AE_OK;
    int rc = scaled_copy(owned, model->scaler, *data, who);
    if (rc == AE_OK)
        *data = *owned;
    return rc;
}

int ae_model_encode(const ae_model *model, const float *x, size_t count, float *z)
{
    static const char who[] = "ae_model_encode";
    if (model == NULL || x == NULL || z == NULL)
        return AE__NULL_ARG(who, model, x, z);
    const ae__net *net = &model->enc->net;
    int rc = ae__check_count(count, AE__MAX(net->in_size, net->out_size), sizeof(float), "count",
                             who);
    if (rc < 0)
        return rc;
    if (model->scaler == NULL)
        return ae__chain_run(&net, 1, x, count, z, who);
    float *xs = ae__alloc(count * model->scaler->n * sizeof(float)); /* bounded above */
    if (xs == NULL)
        return AE_ERR_NOMEM;
    ae__scaler_forward(model->scaler, x, count, xs);
    rc = ae__chain_run(&net, 1, xs, count, z, who);
    ae__free(xs);
    return rc;
}
