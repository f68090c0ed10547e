/* SPDX-License-Identifier: MIT */
/*
 * latent.c - latent-space tools: encoding a dataset, per-class statistics,
 * bounds and a fitted Gaussian, neighbourhood sampling, interpolation and
 * sampling. Sums run in double; random draws come from a generator seeded
 * per call, consumed row by row, dimension by dimension, so a seed fixes the
 * output.
 */
#include <math.h>
#include <string.h>

#include "ae/latent.h"
#include "analysis.h"
#include "core/core.h"
#include "core/kernels.h"
#include "data/dataset.h"

enum {
    BATCH = AE__CHUNK, /* samples encoded or decoded per call */
    GAUSS_MAX = 16384  /* largest latent size for the Gaussian tools */
};

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* *floats = count * dim, refusing what cannot be a buffer with AE_ERR_LIMIT
 * (as the header says, and 1.0 did). */
static int rows_size(size_t count, size_t dim, size_t *floats, const char *who)
{
    int rc = ae__check_count_limit(count, dim, sizeof(float), "the row count", who);
    if (rc == AE_OK)
        *floats = count * dim;
    return rc;
}

/* Outputs of finite inputs that overflow float (values or spreads near
 * FLT_MAX): an error, not infinities handed back with AE_OK. */
static int outputs_finite(const float *v, size_t n, const char *what, const char *who)
{
    size_t bad = ae__first_nonfinite(v, n);
    if (bad == n)
        return AE_OK;
    return ae__error(AE_ERR_NUMERIC, "%s: %s %zu overflows float (inputs near FLT_MAX?)", who,
                     what, bad);
}

static int all_finite(const float *v, size_t n, const char *name, const char *who)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return ae__error(AE_ERR_INVALID, "%s: %s[%zu] is not finite", who, name, i);
    return AE_OK;
}

/* Checks a latent dataset against the size the caller says it has. */
static int check_latents(const ae_dataset *ds, size_t dim, size_t min_count, const char *who)
{
    const size_t n = ae_dataset_count(ds), size = ae_dataset_sample_size(ds);
    if (n < min_count)
        return ae__error(AE_ERR_INVALID, "%s: the latents hold %zu samples, at least %zu needed",
                         who, n, min_count);
    if (dim != size)
        return ae__error(AE_ERR_SHAPE, "%s: dim is %zu but the latents have %zu values each", who,
                         dim, size);
    return AE_OK;
}

/* ---- encode and decode ---------------------------------------------------- */

int ae_latent_encode(ae_dataset **out, const ae_encoder *enc, const ae_dataset *ds)
{
    static const char who[] = "ae_latent_encode";
    if (out == NULL || enc == NULL || ds == NULL)
        return AE__NULL_ARG(who, out, enc, ds);
    const size_t n = ae_dataset_count(ds), in = ae_dataset_sample_size(ds);
    if (n == 0)
        return ae__error(AE_ERR_INVALID, "%s: the dataset is empty", who);
    ae_shape in_shape, z_shape;
    int rc;
    if ((rc = ae_encoder_input_shape(enc, &in_shape)) < 0 ||
        (rc = ae_encoder_latent_shape(enc, &z_shape)) < 0)
        return rc;
    if (ae_encoder_layer_count(enc) == 0)
        return ae__error(AE_ERR_STATE, "%s: the encoder has no layers", who);
    if (ae__shape_size(&in_shape) != in)
        return ae__error(AE_ERR_SHAPE, "%s: samples have %zu values, the encoder takes %zu", who,
                         in, ae__shape_size(&in_shape));
    const size_t dim = ae_encoder_latent_size(enc);
    const int labelled = ae_dataset_has_labels(ds);
    size_t floats = 0;
    if ((rc = rows_size(n, dim, &floats, who)) < 0)
        return rc;
    float *z = ae__alloc(floats * sizeof(float));
    int32_t *labels = labelled ? ae__alloc(n * sizeof(int32_t)) : NULL;
    float *x = ae__alloc(min_size(n, BATCH) * in * sizeof(float));
    rc = AE_ERR_NOMEM;
    if (z == NULL || x == NULL || (labelled && labels == NULL))
        goto fail;
    for (size_t first = 0; first < n; first += BATCH) {
        size_t b = min_size(BATCH, n - first);
        if ((rc = ae_dataset_get_batch(ds, first, b, x, labelled ? labels + first : NULL)) < 0 ||
            (rc = ae_encoder_encode(enc, x, b, z + first * dim)) < 0)
            goto fail;
    }
    if ((rc = ae__dataset_adopt(out, z, labels, n, &z_shape)) < 0)
        goto fail;
    ae__free(x);
    return AE_OK;
fail:
    ae__free(x);
    ae__free(labels);
    ae__free(z);
    return rc;
}

int ae_latent_decode(const ae_decoder *dec, const float *z, size_t count, size_t dim, float *x)
{
    static const char who[] = "ae_latent_decode";
    if (dec == NULL || z == NULL || x == NULL)
        return AE__NULL_ARG(who, dec, z, x);
    ae_shape zs;
    int rc = ae__check_count(count, AE__MAX(dim, ae_decoder_output_size(dec)), sizeof(float),
                             "count", who);
    if (rc < 0 || (rc = ae_decoder_latent_shape(dec, &zs)) < 0)
        return rc;
    if (ae__shape_size(&zs) != dim)
        return ae__error(AE_ERR_SHAPE, "%s: latents have %zu values, the decoder takes %zu", who,
                         dim, ae__shape_size(&zs));
    const size_t out = ae_decoder_output_size(dec);
    for (size_t first = 0; first < count; first += BATCH) {
        size_t b = min_size(BATCH, count - first);
        if ((rc = ae_decoder_decode(dec, z + first * dim, b, x + first * out)) < 0)
            return rc;
    }
    return AE_OK;
}

/* ---- statistics ------------------------------------------------------------- */

int ae_latent_class_stats(const ae_dataset *latents, size_t n_classes, size_t dim,
                          size_t *counts, float *means, float *stddevs)
{
    static const char who[] = "ae_latent_class_stats";
    if (latents == NULL)
        return ae__error(AE_ERR_INVALID, "%s: latents is NULL", who);
    if (counts == NULL && means == NULL && stddevs == NULL)
        return ae__error(AE_ERR_INVALID, "%s: counts, means and stddevs are all NULL", who);
    int rc = ae__check_count_limit(n_classes, dim, 2 * sizeof(double), "n_classes", who);
    if (rc < 0 || (rc = check_latents(latents, dim, 1, who)) < 0)
        return rc;
    if (!ae_dataset_has_labels(latents))
        return ae__error(AE_ERR_STATE, "%s: the latents have no labels", who);
    const size_t cells = n_classes * dim;
    const size_t n = ae_dataset_count(latents);
    double *sum = ae__calloc(2 * cells, sizeof(double));
    size_t *cnt = ae__calloc(n_classes, sizeof(size_t));
    rc = AE_ERR_NOMEM;
    if (sum == NULL || cnt == NULL)
        goto done;
    double *dev = sum + cells;
    for (size_t i = 0; i < n; i++) {
        int32_t label;
        if ((rc = ae_dataset_label(latents, i, &label)) < 0)
            goto done;
        if (label < 0 || (size_t)label >= n_classes) {
            rc = ae__error(AE_ERR_INVALID, "%s: sample %zu has label %d, outside [0, %zu)", who, i,
                           (int)label, n_classes);
            goto done;
        }
        const float *z = ae__dataset_row(latents, i);
        double *s = sum + (size_t)label * dim;
        for (size_t j = 0; j < dim; j++)
            s[j] += z[j];
        cnt[label]++;
    }
    for (size_t c = 0; c < n_classes; c++)
        for (size_t j = 0; j < dim; j++)
            sum[c * dim + j] = cnt[c] ? sum[c * dim + j] / (double)cnt[c] : 0.0;
    for (size_t i = 0; i < n; i++) {
        int32_t label;
        ae_dataset_label(latents, i, &label);
        const float *z = ae__dataset_row(latents, i);
        const double *m = sum + (size_t)label * dim;
        double *v = dev + (size_t)label * dim;
        for (size_t j = 0; j < dim; j++)
            v[j] += (z[j] - m[j]) * (z[j] - m[j]);
    }
    for (size_t c = 0; c < n_classes; c++) {
        if (counts)
            counts[c] = cnt[c];
        for (size_t j = 0; j < dim; j++) {
            if (means)
                means[c * dim + j] = (float)sum[c * dim + j];
            if (stddevs)
                stddevs[c * dim + j] =
                    cnt[c] ? (float)sqrt(dev[c * dim + j] / (double)cnt[c]) : 0.0f;
        }
    }
    rc = AE_OK;
done:
    ae__free(cnt);
    ae__free(sum);
    return rc;
}

int ae_latent_bounds(const ae_dataset *latents, float *lo, float *hi, size_t dim)
{
    static const char who[] = "ae_latent_bounds";
    if (latents == NULL || lo == NULL || hi == NULL)
        return AE__NULL_ARG(who, latents, lo, hi);
    int rc = check_latents(latents, dim, 1, who);
    if (rc < 0)
        return rc;
    const size_t n = ae_dataset_count(latents);
    for (size_t i = 0; i < n; i++) {
        const float *z = ae__dataset_row(latents, i);
        for (size_t j = 0; j < dim; j++)
            if (!isfinite(z[j]))
                return ae__error(AE_ERR_INVALID, "%s: sample %zu, value %zu is not finite", who,
                                 i, j);
    }
    const float *z0 = ae__dataset_row(latents, 0);
    memcpy(lo, z0, dim * sizeof(float));
    memcpy(hi, z0, dim * sizeof(float));
    for (size_t i = 1; i < n; i++) {
        const float *z = ae__dataset_row(latents, i);
        for (size_t j = 0; j < dim; j++) {
            if (z[j] < lo[j])
                lo[j] = z[j];
            if (z[j] > hi[j])
                hi[j] = z[j];
        }
    }
    return AE_OK;
}

int ae_latent_fit_gaussian(const ae_dataset *latents, float *mean, float *cov, size_t dim)
{
    static const char who[] = "ae_latent_fit_gaussian";
    if (latents == NULL || mean == NULL || cov == NULL)
        return AE__NULL_ARG(who, latents, mean, cov);
    int rc = check_latents(latents, dim, 2, who);
    if (rc < 0)
        return rc;
    if (dim > GAUSS_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: dim %zu is above the limit of %d", who, dim,
                         GAUSS_MAX);
    const size_t n = ae_dataset_count(latents);
    double *m = ae__calloc(dim + dim * dim + dim, sizeof(double));
    if (m == NULL)
        return AE_ERR_NOMEM;
    double *c = m + dim, *dz = c + dim * dim;
    for (size_t i = 0; i < n; i++) {
        const float *z = ae__dataset_row(latents, i);
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(z[j])) {
                ae__free(m);
                return ae__error(AE_ERR_INVALID, "%s: sample %zu, value %zu is not finite", who,
                                 i, j);
            }
            m[j] += z[j];
        }
    }
    for (size_t j = 0; j < dim; j++)
        m[j] /= (double)n;
    for (size_t i = 0; i < n; i++) {
        const float *z = ae__dataset_row(latents, i);
        for (size_t j = 0; j < dim; j++)
            dz[j] = z[j] - m[j];
        for (size_t a = 0; a < dim; a++)
            for (size_t b = a; b < dim; b++)
                c[a * dim + b] += dz[a] * dz[b];
    }
    for (size_t j = 0; j < dim; j++)
        mean[j] = (float)m[j];
    for (size_t a = 0; a < dim; a++)
        for (size_t b = a; b < dim; b++) {
            float v = (float)(c[a * dim + b] / (double)(n - 1));
            cov[a * dim + b] = v;
            cov[b * dim + a] = v;
        }
    ae__free(m);
    return outputs_finite(cov, dim * dim, "covariance entry", who);
}

/* ---- generation ------------------------------------------------------------------ */

int ae_latent_neighbourhood(float *out, const float *z, size_t dim, const float *sigmas,
                            size_t n_sigmas, size_t per_sigma, uint64_t seed)
{
    static const char who[] = "ae_latent_neighbourhood";
    if (out == NULL || z == NULL || sigmas == NULL)
        return AE__NULL_ARG(who, out, z, sigmas);
    if (dim == 0 || n_sigmas == 0 || per_sigma == 0)
        return ae__error(AE_ERR_INVALID, "%s: dim %zu, n_sigmas %zu, per_sigma %zu: all must be >= 1",
                         who, dim, n_sigmas, per_sigma);
    size_t rows = 0, floats = 0;
    int rc;
    if (!ae__mul_size(n_sigmas, per_sigma, &rows))
        return ae__error(AE_ERR_LIMIT, "%s: %zu sigmas x %zu samples overflow", who, n_sigmas,
                         per_sigma);
    if ((rc = rows_size(rows, dim, &floats, who)) < 0 || (rc = all_finite(z, dim, "z", who)) < 0)
        return rc;
    for (size_t s = 0; s < n_sigmas; s++)
        if (!isfinite(sigmas[s]) || sigmas[s] < 0.0f)
            return ae__error(AE_ERR_INVALID, "%s: sigmas[%zu] is %g, not a finite value >= 0",
                             who, s, (double)sigmas[s]);
    ae_rng rng;
    ae__rng_seed(&rng, seed);
    for (size_t r = 0; r < rows; r++) {
        const float sigma = sigmas[r / per_sigma];
        float *o = out + r * dim;
        for (size_t j = 0; j < dim; j++)
            o[j] = z[j] + sigma * ae_rng_normal(&rng);
    }
    return outputs_finite(out, floats, "output value", who);
}

int ae_latent_interpolate(float *out, const float *z0, const float *z1, size_t dim, size_t steps,
                          int mode)
{
    static const char who[] = "ae_latent_interpolate";
    if (out == NULL || z0 == NULL || z1 == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out, z0 or z1 is NULL", who);
    if (dim == 0)
        return ae__error(AE_ERR_INVALID, "%s: dim is 0", who);
    if (steps < 2)
        return ae__error(AE_ERR_INVALID, "%s: steps is %zu, at least 2 (both ends) needed", who,
                         steps);
    if (mode != AE_INTERP_LINEAR && mode != AE_INTERP_SPHERICAL)
        return ae__error(AE_ERR_INVALID,
                         "%s: unknown mode %d (AE_INTERP_LINEAR 0, AE_INTERP_SPHERICAL 1)", who,
                         mode);
    size_t bytes = 0;
    int rc;
    /* the size first: a dim too large to hold is refused unread */
    if ((rc = rows_size(steps, dim, &bytes, who)) < 0 ||
        (rc = all_finite(z0, dim, "z0", who)) < 0 || (rc = all_finite(z1, dim, "z1", who)) < 0)
        return rc;
    double n0 = 0.0, n1 = 0.0, dot = 0.0, omega = 0.0, sin_omega = 0.0;
    for (size_t j = 0; j < dim; j++) {
        n0 += (double)z0[j] * z0[j];
        n1 += (double)z1[j] * z1[j];
        dot += (double)z0[j] * z1[j];
    }
    int slerp = 0;
    if (mode == AE_INTERP_SPHERICAL && n0 > 0.0 && n1 > 0.0) {
        double cosw = dot / (sqrt(n0) * sqrt(n1));
        omega = acos(cosw > 1.0 ? 1.0 : cosw < -1.0 ? -1.0 : cosw);
        sin_omega = sin(omega);
        slerp = omega > 1e-6 && omega < 3.14159265358979323846 - 1e-6;
    }
    for (size_t i = 1; i + 1 < steps; i++) {
        const double t = (double)i / (double)(steps - 1);
        double a = 1.0 - t, b = t;
        if (slerp) {
            a = sin((1.0 - t) * omega) / sin_omega;
            b = sin(t * omega) / sin_omega;
        }
        for (size_t j = 0; j < dim; j++)
            out[i * dim + j] = (float)(a * z0[j] + b * z1[j]);
    }
    memcpy(out, z0, dim * sizeof(float));
    memcpy(out + (steps - 1) * dim, z1, dim * sizeof(float));
    return AE_OK;
}

int ae_latent_sample_uniform(float *out, size_t count, const float *lo, const float *hi,
                             size_t dim, uint64_t seed)
{
    static const char who[] = "ae_latent_sample_uniform";
    if (out == NULL || lo == NULL || hi == NULL)
        return AE__NULL_ARG(who, out, lo, hi);
    if (count == 0 || dim == 0)
        return ae__error(AE_ERR_INVALID, "%s: count %zu, dim %zu: both must be >= 1", who, count,
                         dim);
    size_t bytes = 0;
    int rc;
    if ((rc = rows_size(count, dim, &bytes, who)) < 0 ||
        (rc = all_finite(lo, dim, "lo", who)) < 0 || (rc = all_finite(hi, dim, "hi", who)) < 0)
        return rc;
    for (size_t j = 0; j < dim; j++)
        if (lo[j] > hi[j])
            return ae__error(AE_ERR_INVALID, "%s: lo[%zu] = %g is above hi[%zu] = %g", who, j,
                             (double)lo[j], j, (double)hi[j]);
    ae_rng rng;
    ae__rng_seed(&rng, seed);
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < dim; j++) {
            const float u = ae_rng_uniform(&rng), w = hi[j] - lo[j];
            /* a box wider than FLT_MAX (lo near -FLT_MAX, hi near FLT_MAX)
             * is spanned in double */
            float v = isfinite(w) ? lo[j] + w * u
                                  : (float)((double)lo[j] + ((double)hi[j] - lo[j]) * u);
            out[i * dim + j] = v < hi[j] ? v : lo[j]; /* rounding never reaches hi */
        }
    return AE_OK;
}

int ae_latent_sample_gaussian(float *out, size_t count, const float *mean, const float *cov,
                              size_t dim, uint64_t seed)
{
    static const char who[] = "ae_latent_sample_gaussian";
    if (out == NULL || mean == NULL || cov == NULL)
        return AE__NULL_ARG(who, out, mean, cov);
    if (count == 0 || dim == 0)
        return ae__error(AE_ERR_INVALID, "%s: count %zu, dim %zu: both must be >= 1", who, count,
                         dim);
    if (dim > GAUSS_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: dim %zu is above the limit of %d", who, dim,
                         GAUSS_MAX);
    size_t bytes = 0;
    int rc;
    if ((rc = rows_size(count, dim, &bytes, who)) < 0 ||
        (rc = all_finite(mean, dim, "mean", who)) < 0 ||
        (rc = all_finite(cov, dim * dim, "cov", who)) < 0)
        return rc;
    double maxdiag = 0.0;
    for (size_t j = 0; j < dim; j++)
        maxdiag = fmax(maxdiag, fabs((double)cov[j * dim + j]));
    for (size_t a = 0; a < dim; a++)
        for (size_t b = a + 1; b < dim; b++) {
            double x = cov[a * dim + b], y = cov[b * dim + a];
            if (fabs(x - y) > 1e-5 * maxdiag + 1e-30)
                return ae__error(AE_ERR_INVALID, "%s: cov is not symmetric: cov[%zu][%zu] = %g,"
                                 " cov[%zu][%zu] = %g", who, a, b, x, b, a, y);
        }
    /* cov = V L V^T; z = mean + V sqrt(L) e with e ~ N(0, I). */
    double *a = ae__alloc((2 * dim * dim + 2 * dim) * sizeof(double));
    if (a == NULL)
        return AE_ERR_NOMEM;
    double *v = a + dim * dim, *lambda = v + dim * dim, *e = lambda + dim;
    for (size_t i = 0; i < dim * dim; i++)
        a[i] = cov[i];
    if ((rc = ae__sym_eig_top(a, dim, dim, lambda, v, who)) < 0)
        goto done;
    if (lambda[dim - 1] < -1e-6 * fmax(lambda[0], 0.0) - 1e-30) {
        rc = ae__error(AE_ERR_INVALID,
                       "%s: cov is not positive semi-definite (eigenvalue %g, largest %g)", who,
                       lambda[dim - 1], lambda[0]);
        goto done;
    }
    for (size_t i = 0; i < dim; i++) {
        double s = sqrt(fmax(lambda[i], 0.0));
        for (size_t j = 0; j < dim; j++)
            v[i * dim + j] *= s;
    }
    ae_rng rng;
    ae__rng_seed(&rng, seed);
    for (size_t r = 0; r < count; r++) {
        for (size_t i = 0; i < dim; i++)
            e[i] = ae_rng_normal(&rng);
        for (size_t j = 0; j < dim; j++) {
            double s = mean[j];
            for (size_t i = 0; i < dim; i++)
                s += e[i] * v[i * dim + j];
            out[r * dim + j] = (float)s;
        }
    }
    rc = AE_OK; /* cannot overflow: |mean| <= FLT_MAX, the spread <= sqrt(FLT_MAX) */
done:
    ae__free(a);
    return rc;
}
