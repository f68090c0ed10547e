/* SPDX-License-Identifier: MIT */
/*
 * pca.c - principal component analysis.
 *
 * Exact: the covariance Xc^T Xc (n >= d) or the Gram matrix Xc Xc^T (n < d)
 * is accumulated in double by dsyrk over row (or feature) chunks, and its
 * top k eigenpairs come from LAPACK's dsyevr. Randomized: a seeded Gaussian
 * sketch, power iterations orthonormalised by Householder QR (sgeqrf), all
 * products through the wrappers in src/core/blas.c, then the small
 * l x l problem exactly. The data is never copied whole: every pass centres
 * ROW_CHUNK rows at a time into a scratch buffer.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "ae/pca.h"
#include "analysis.h"
#include "core/core.h"
#include "data/dataset.h"

enum {
    ROW_CHUNK = 512,       /* rows centred at a time */
    FEATURE_CHUNK = 256,   /* features at a time for the Gram matrix */
    AUTO_EXACT_MAX = 4096  /* AE_PCA_AUTO: exact up to this min(n, d) */
};

struct ae_pca {
    ae_pca_options opts; /* validated; struct_size is ours */
    size_t d, k;         /* features, components; 0 when unfitted */
    int solver;          /* what produced the fit (AE_PCA_AUTO: set_state) */
    float *mean;         /* d */
    float *comp;         /* k x d, rows orthonormal */
    double *var;         /* k, decreasing */
    double total;        /* total variance */
};

/* The rows being fitted: a caller's matrix or a dataset view. */
typedef struct rows {
    const float *x;
    const ae_dataset *ds;
    size_t n, d;
} rows;

static const float *row_at(const rows *r, size_t i)
{
    return r->ds ? ae__dataset_row(r->ds, i) : r->x + i * r->d;
}

/* out (b x d floats) = rows [first, first + b) minus the mean. */
static void centre_f(const rows *r, const double *mean, size_t first, size_t b, float *out)
{
    for (size_t i = 0; i < b; i++) {
        const float *p = row_at(r, first + i);
        float *o = out + i * r->d;
        for (size_t j = 0; j < r->d; j++)
            o[j] = (float)((double)p[j] - mean[j]);
    }
}

static void centre_d(const rows *r, const double *mean, size_t first, size_t b, double *out)
{
    for (size_t i = 0; i < b; i++) {
        const float *p = row_at(r, first + i);
        double *o = out + i * r->d;
        for (size_t j = 0; j < r->d; j++)
            o[j] = (double)p[j] - mean[j];
    }
}

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

/* Mean and total variance (n - 1 divisor), refusing NaN and infinity. */
static int moments(const rows *r, double *mean, double *total, const char *who)
{
    const size_t n = r->n, d = r->d;
    memset(mean, 0, d * sizeof *mean);
    for (size_t i = 0; i < n; i++) {
        const float *p = row_at(r, i);
        for (size_t j = 0; j < d; j++) {
            if (!isfinite(p[j]))
                return ae__error(AE_ERR_NUMERIC, "%s: sample %zu, feature %zu is %s", who, i, j,
                                 isnan(p[j]) ? "NaN" : "infinite");
            mean[j] += p[j];
        }
    }
    for (size_t j = 0; j < d; j++)
        mean[j] /= (double)n;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *p = row_at(r, i);
        for (size_t j = 0; j < d; j++) {
            double c = (double)p[j] - mean[j];
            sum += c * c;
        }
    }
    *total = sum / (double)(n - 1);
    return AE_OK;
}

int ae__sym_eig_top(double *a, size_t n, size_t k, double *values, double *vectors,
                    const char *who)
{
    /* The upper triangle in row-major order is the lower one in LAPACK's
     * column-major view: uplo "L". */
    const int nn = (int)n, il = (int)(n - k + 1), iu = (int)n;
    const double vl = 0.0, vu = 0.0, abstol = 0.0;
    int m = 0, info = 0, lwork = -1, liwork = -1, iwork_query = 0;
    double work_query = 0.0;
    double *w = ae__alloc(n * sizeof(double));
    double *z = ae__alloc(k * n * sizeof(double));
    int *isuppz = ae__alloc(2 * k * sizeof(int));
    double *work = NULL;
    int *iwork = NULL;
    int rc = AE_ERR_NOMEM;
    if (w == NULL || z == NULL || isuppz == NULL)
        goto done;
    dsyevr_("V", "I", "L", &nn, a, &nn, &vl, &vu, &il, &iu, &abstol, &m, w, z, &nn, isuppz,
            &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1, 1);
    if (info != 0) {
        rc = ae__error(AE_ERR_NUMERIC, "%s: LAPACK dsyevr workspace query failed (info %d)", who,
                       info);
        goto done;
    }
    lwork = (int)work_query + 1;
    liwork = iwork_query + 1;
    work = ae__alloc((size_t)lwork * sizeof(double));
    iwork = ae__alloc((size_t)liwork * sizeof(int));
    if (work == NULL || iwork == NULL)
        goto done;
    dsyevr_("V", "I", "L", &nn, a, &nn, &vl, &vu, &il, &iu, &abstol, &m, w, z, &nn, isuppz,
            work, &lwork, iwork, &liwork, &info, 1, 1, 1);
    if (info != 0 || m != (int)k) {
        rc = ae__error(AE_ERR_NUMERIC,
                       "%s: LAPACK dsyevr failed (info %d, %d of %zu eigenvalues found)", who,
                       info, m, k);
        goto done;
    }
    /* dsyevr gives ascending eigenvalues, each vector a contiguous column. */
    for (size_t i = 0; i < k; i++) {
        values[i] = w[k - 1 - i];
        memcpy(vectors + i * n, z + (k - 1 - i) * n, n * sizeof(double));
    }
    rc = AE_OK;
done:
    ae__free(iwork);
    ae__free(work);
    ae__free(isuppz);
    ae__free(z);
    ae__free(w);
    return rc;
}

/* ---- exact solvers ------------------------------------------------------- */

/* n >= d: eigen-decomposition of the d x d scatter matrix Xc^T Xc. */
static int exact_covariance(const rows *r, const double *mean, size_t k, double *lambda,
                            double *comp, const char *who)
{
    const size_t n = r->n, d = r->d;
    double *c = ae__calloc(d * d, sizeof(double));
    double *chunk = ae__alloc(ROW_CHUNK * d * sizeof(double));
    int rc = AE_ERR_NOMEM;
    if (c == NULL || chunk == NULL)
        goto done;
    for (size_t first = 0; first < n; first += ROW_CHUNK) {
        size_t b = min_size(ROW_CHUNK, n - first);
        centre_d(r, mean, first, b, chunk);
        ae__dsyrk(1, d, b, 1.0, chunk, d, 1.0, c, d);
    }
    rc = ae__sym_eig_top(c, d, k, lambda, comp, who);
done:
    ae__free(chunk);
    ae__free(c);
    return rc;
}

/* Scales each row of comp (k x d) to unit length; rows whose length is at
 * most tol are marked in bad[] (their direction is undefined). */
static void normalise_rows(double *comp, size_t k, size_t d, double tol, unsigned char *bad)
{
    for (size_t i = 0; i < k; i++) {
        double *v = comp + i * d, s = 0.0;
        for (size_t j = 0; j < d; j++)
            s += v[j] * v[j];
        s = sqrt(s);
        bad[i] = (unsigned char)!(s > tol);
        if (!bad[i])
            for (size_t j = 0; j < d; j++)
                v[j] /= s;
    }
}

/* n < d: eigen-decomposition of the n x n Gram matrix Xc Xc^T; component
 * i is Xc^T u_i normalised. */
static int exact_gram(const rows *r, const double *mean, size_t k, double *lambda, double *comp,
                      unsigned char *bad, const char *who)
{
    const size_t n = r->n, d = r->d;
    double *g = ae__calloc(n * n, sizeof(double));
    double *block = ae__alloc(n * FEATURE_CHUNK * sizeof(double));
    double *u = ae__alloc(k * n * sizeof(double));
    double *chunk = ae__alloc(ROW_CHUNK * d * sizeof(double));
    int rc = AE_ERR_NOMEM;
    if (g == NULL || block == NULL || u == NULL || chunk == NULL)
        goto done;
    for (size_t j0 = 0; j0 < d; j0 += FEATURE_CHUNK) {
        size_t bw = min_size(FEATURE_CHUNK, d - j0);
        for (size_t i = 0; i < n; i++) {
            const float *p = row_at(r, i) + j0;
            for (size_t j = 0; j < bw; j++)
                block[i * bw + j] = (double)p[j] - mean[j0 + j];
        }
        ae__dsyrk(0, n, bw, 1.0, block, bw, 1.0, g, n);
    }
    if ((rc = ae__sym_eig_top(g, n, k, lambda, u, who)) < 0)
        goto done;
    for (size_t first = 0; first < n; first += ROW_CHUNK) {
        size_t b = min_size(ROW_CHUNK, n - first);
        centre_d(r, mean, first, b, chunk);
        ae__dgemm(k, d, b, 1.0, u + first, n, chunk, d, first ? 1.0 : 0.0, comp, d);
    }
    /* ||Xc^T u_i|| = sqrt(lambda_i): relative to the largest, tiny means 0. */
    double tol = sqrt(fmax(lambda[0], 0.0)) * 1e-6 + DBL_MIN;
    normalise_rows(comp, k, d, tol, bad);
    rc = AE_OK;
done:
    ae__free(chunk);
    ae__free(u);
    ae__free(block);
    ae__free(g);
    return rc;
}

/* ---- randomized solver ----------------------------------------------------- */

/* Orthonormalises in place the l columns of the column-major len x l matrix
 * m (= the row-major l x len matrix whose rows are the vectors). */
static int orthonormalise(float *m, size_t len, size_t l, const char *who)
{
    const int mm = (int)len, nn = (int)l;
    int lwork = -1, info = 0;
    float q1 = 0.0f, q2 = 0.0f;
    float *tau = ae__alloc(l * sizeof(float));
    float *work = NULL;
    int rc = AE_ERR_NOMEM;
    if (tau == NULL)
        goto done;
    sgeqrf_(&mm, &nn, m, &mm, tau, &q1, &lwork, &info);
    if (info == 0)
        sorgqr_(&mm, &nn, &nn, m, &mm, tau, &q2, &lwork, &info);
    if (info != 0) {
        rc = ae__error(AE_ERR_NUMERIC, "%s: LAPACK QR workspace query failed (info %d)", who,
                       info);
        goto done;
    }
    lwork = (int)fmaxf(q1, q2) + 1;
    if ((work = ae__alloc((size_t)lwork * sizeof(float))) == NULL)
        goto done;
    sgeqrf_(&mm, &nn, m, &mm, tau, work, &lwork, &info);
    if (info == 0)
        sorgqr_(&mm, &nn, &nn, m, &mm, tau, work, &lwork, &info);
    rc = info == 0 ? AE_OK
                   : ae__error(AE_ERR_NUMERIC, "%s: LAPACK QR failed (info %d)", who, info);
done:
    ae__free(work);
    ae__free(tau);
    return rc;
}

/* yt (l x n, row-major) = P Xc^T, with P the l x d matrix p (trans 0) or
 * the transpose of the d x l matrix p (trans 1). */
static void sketch_left(const rows *r, const double *mean, const float *p, int trans, size_t l,
                        float *yt, float *chunk)
{
    const size_t n = r->n, d = r->d;
    for (size_t first = 0; first < n; first += ROW_CHUNK) {
        size_t b = min_size(ROW_CHUNK, n - first);
        centre_f(r, mean, first, b, chunk);
        ae__gemm(trans, 1, l, b, d, 1.0f, p, trans ? l : d, chunk, d, 0.0f, yt + first, n);
    }
}

/* bt (l x d) = Qt Xc, with Qt the l x n matrix qt. */
static void sketch_right(const rows *r, const double *mean, const float *qt, size_t l, float *bt,
                         float *chunk)
{
    const size_t n = r->n, d = r->d;
    for (size_t first = 0; first < n; first += ROW_CHUNK) {
        size_t b = min_size(ROW_CHUNK, n - first);
        centre_f(r, mean, first, b, chunk);
        ae__gemm(0, 0, l, d, b, 1.0f, qt + first, n, chunk, d, first ? 1.0f : 0.0f, bt, d);
    }
}

static int randomized(const rows *r, const double *mean, size_t k, const ae_pca_options *o,
                      double *lambda, double *comp, unsigned char *bad, const char *who)
{
    const size_t n = r->n, d = r->d, mn = min_size(n, d);
    size_t l = k + o->oversamples < mn ? k + o->oversamples : mn;
    float *omega = ae__alloc(d * l * sizeof(float));
    float *yt = ae__alloc(l * n * sizeof(float));
    float *bt = ae__alloc(l * d * sizeof(float));
    float *chunk = ae__alloc(ROW_CHUNK * d * sizeof(float));
    double *bd = ae__alloc(l * d * sizeof(double));
    double *m = ae__alloc(l * l * sizeof(double));
    double *u = ae__alloc(k * l * sizeof(double));
    int rc = AE_ERR_NOMEM;
    if (!omega || !yt || !bt || !chunk || !bd || !m || !u)
        goto done;
    ae_rng rng;
    ae__rng_seed(&rng, o->seed);
    for (size_t i = 0; i < d * l; i++)
        omega[i] = ae_rng_normal(&rng);

    sketch_left(r, mean, omega, 1, l, yt, chunk); /* Y = Xc Omega */
    if ((rc = orthonormalise(yt, n, l, who)) < 0)
        goto done;
    for (uint32_t it = 0; it < o->power_iterations; it++) {
        sketch_right(r, mean, yt, l, bt, chunk); /* Z = Xc^T Q */
        if ((rc = orthonormalise(bt, d, l, who)) < 0)
            goto done;
        sketch_left(r, mean, bt, 0, l, yt, chunk); /* Y = Xc Z */
        if ((rc = orthonormalise(yt, n, l, who)) < 0)
            goto done;
    }
    sketch_right(r, mean, yt, l, bt, chunk); /* B = Q^T Xc, l x d */

    /* B = U S V^T from the eigen-decomposition of B B^T; V^T = U^T B / S. */
    for (size_t i = 0; i < l * d; i++)
        bd[i] = bt[i];
    ae__dsyrk(0, l, d, 1.0, bd, d, 0.0, m, l);
    if ((rc = ae__sym_eig_top(m, l, k, lambda, u, who)) < 0)
        goto done;
    ae__dgemm(k, d, l, 1.0, u, l, bd, d, 0.0, comp, d);
    normalise_rows(comp, k, d, sqrt(fmax(lambda[0], 0.0)) * 1e-5 + DBL_MIN, bad);
    rc = AE_OK;
done:
    ae__free(u);
    ae__free(m);
    ae__free(bd);
    ae__free(chunk);
    ae__free(bt);
    ae__free(yt);
    ae__free(omega);
    return rc;
}

/* ---- fitting ----------------------------------------------------------------- */

/* Replaces the rows marked bad (undefined directions: the data has rank
 * below k) by unit vectors orthogonal to every other row, built from the
 * standard basis by Gram-Schmidt, so the components stay orthonormal. */
static void complete_basis(double *comp, size_t k, size_t d, unsigned char *bad, double *v)
{
    for (size_t i = 0; i < k; i++) {
        if (!bad[i])
            continue;
        double best = -1.0;
        for (size_t c = 0; c < d && best <= 0.5; c++) {
            memset(v, 0, d * sizeof *v);
            v[c] = 1.0;
            for (int pass = 0; pass < 2; pass++)
                for (size_t j = 0; j < k; j++) {
                    if (bad[j])
                        continue;
                    const double *w = comp + j * d;
                    double dot = 0.0;
                    for (size_t t = 0; t < d; t++)
                        dot += v[t] * w[t];
                    for (size_t t = 0; t < d; t++)
                        v[t] -= dot * w[t];
                }
            double s = 0.0;
            for (size_t t = 0; t < d; t++)
                s += v[t] * v[t];
            if (s > best) {
                best = s;
                s = sqrt(s);
                for (size_t t = 0; t < d; t++)
                    comp[i * d + t] = v[t] / s;
            }
        }
        bad[i] = 0;
    }
}

/* Makes the entry of largest magnitude of each row positive. */
static void fix_signs(double *comp, size_t k, size_t d)
{
    for (size_t i = 0; i < k; i++) {
        double *v = comp + i * d;
        size_t arg = 0;
        for (size_t j = 1; j < d; j++)
            if (fabs(v[j]) > fabs(v[arg]))
                arg = j;
        if (v[arg] < 0.0)
            for (size_t j = 0; j < d; j++)
                v[j] = -v[j];
    }
}

static void free_fit(ae_pca *p)
{
    ae__free(p->mean);
    ae__free(p->comp);
    ae__free(p->var);
    p->mean = NULL;
    p->comp = NULL;
    p->var = NULL;
    p->d = p->k = 0;
    p->solver = AE_PCA_AUTO;
    p->total = 0.0;
}

static int fit_rows(ae_pca *pca, const rows *r, const char *who)
{
    const size_t n = r->n, d = r->d, k = pca->opts.n_components, mn = min_size(n, d);
    if (n < 2)
        return ae__error(AE_ERR_INVALID, "%s: PCA needs at least 2 samples, got %zu", who, n);
    if (d == 0)
        return ae__error(AE_ERR_INVALID, "%s: samples have 0 features", who);
    if (k > d)
        return ae__error(AE_ERR_INVALID, "%s: n_components %zu is more than the %zu features", who,
                         k, d);
    if (k > n)
        return ae__error(AE_ERR_INVALID, "%s: n_components %zu is more than the %zu samples", who,
                         k, n);
    if (n > INT_MAX || d > INT_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: %zu samples of %zu features: each must be at most %d",
                         who, n, d, INT_MAX);
    int solver = pca->opts.solver;
    if (solver == AE_PCA_AUTO)
        solver = mn <= AE_PCA_EXACT_MAX && (mn <= AUTO_EXACT_MAX || 5 * k >= 4 * mn)
                     ? AE_PCA_EXACT
                     : AE_PCA_RANDOMIZED;
    if (solver == AE_PCA_EXACT && mn > AE_PCA_EXACT_MAX)
        return ae__error(AE_ERR_LIMIT,
                         "%s: the exact solver takes min(samples, features) up to %u, got %zu;"
                         " use AE_PCA_RANDOMIZED",
                         who, AE_PCA_EXACT_MAX, mn);
    size_t kd, sketch;
    if (!ae__mul_size(k, d, &kd) || !ae__mul_size(k + pca->opts.oversamples, n + d, &sketch))
        return ae__error(AE_ERR_LIMIT, "%s: %zu components of %zu features are too many", who, k,
                         d);

    double *mean = ae__alloc(d * sizeof(double));
    double *lambda = ae__alloc(k * sizeof(double));
    double *comp = ae__alloc(kd * sizeof(double));
    double *scratch = ae__alloc(d * sizeof(double));
    unsigned char *bad = ae__calloc(k, 1);
    float *mean_f = ae__alloc(d * sizeof(float));
    float *comp_f = ae__alloc(kd * sizeof(float));
    double *var = ae__alloc(k * sizeof(double));
    double total = 0.0;
    int rc = AE_ERR_NOMEM;
    if (!mean || !lambda || !comp || !scratch || !bad || !mean_f || !comp_f || !var)
        goto fail;
    if ((rc = moments(r, mean, &total, who)) < 0)
        goto fail;
    if (solver == AE_PCA_RANDOMIZED)
        rc = randomized(r, mean, k, &pca->opts, lambda, comp, bad, who);
    else if (n >= d)
        rc = exact_covariance(r, mean, k, lambda, comp, who);
    else
        rc = exact_gram(r, mean, k, lambda, comp, bad, who);
    if (rc < 0)
        goto fail;
    complete_basis(comp, k, d, bad, scratch);
    fix_signs(comp, k, d);
    for (size_t i = 0; i < kd; i++)
        comp_f[i] = (float)comp[i];
    for (size_t j = 0; j < d; j++)
        mean_f[j] = (float)mean[j];
    for (size_t i = 0; i < k; i++)
        var[i] = fmax(lambda[i], 0.0) / (double)(n - 1);

    free_fit(pca);
    pca->d = d;
    pca->k = k;
    pca->solver = solver;
    pca->mean = mean_f;
    pca->comp = comp_f;
    pca->var = var;
    pca->total = total;
    mean_f = NULL;
    comp_f = NULL;
    var = NULL;
    rc = AE_OK;
fail:
    ae__free(var);
    ae__free(comp_f);
    ae__free(mean_f);
    ae__free(bad);
    ae__free(scratch);
    ae__free(comp);
    ae__free(lambda);
    ae__free(mean);
    return rc;
}

/* ---- public API -------------------------------------------------------------- */

int ae_pca_create_v(ae_pca **out, const ae_pca_options *opts, unsigned header_version)
{
    static const ae_pca_options defaults = AE_PCA_OPTIONS_INIT;
    int rc = ae__check_header(header_version, "ae_pca_create");
    if (rc < 0)
        return rc;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_pca_create: out is NULL");
    ae_pca_options o = defaults;
    if (opts != NULL &&
        (rc = ae__take_struct(&o, opts, AE__LAYOUT_END(ae_pca_options, seed), sizeof o,
                              "ae_pca_options")) < 0)
        return rc;
    opts = &o;
    if (opts->n_components == 0)
        return ae__error(AE_ERR_INVALID, "ae_pca_create: n_components is 0");
    if (opts->solver != AE_PCA_AUTO && opts->solver != AE_PCA_EXACT &&
        opts->solver != AE_PCA_RANDOMIZED)
        return ae__error(AE_ERR_INVALID,
                         "ae_pca_create: unknown solver %d (AE_PCA_AUTO 0, AE_PCA_EXACT 1,"
                         " AE_PCA_RANDOMIZED 2)",
                         opts->solver);
    ae_pca *pca = ae__calloc(1, sizeof *pca);
    if (pca == NULL)
        return AE_ERR_NOMEM;
    pca->opts = o;
    pca->solver = AE_PCA_AUTO;
    *out = pca;
    return AE_OK;
}

void ae_pca_destroy(ae_pca *pca)
{
    if (pca == NULL)
        return;
    free_fit(pca);
    ae__free(pca);
}

int ae_pca_fit(ae_pca *pca, const float *x, size_t count, size_t features)
{
    if (pca == NULL || x == NULL)
        return AE__NULL_ARG("ae_pca_fit", pca, x);
    int rc; /* 0 and 1 sample(s) are diagnosed by fit_rows() */
    if (count > 1 && (rc = ae__check_count(count, features, sizeof(float), "count", "ae_pca_fit")) < 0)
        return rc;
    rows r = {x, NULL, count, features};
    return fit_rows(pca, &r, "ae_pca_fit");
}

int ae_pca_fit_dataset(ae_pca *pca, const ae_dataset *ds)
{
    if (pca == NULL || ds == NULL)
        return AE__NULL_ARG("ae_pca_fit_dataset", pca, ds);
    rows r = {NULL, ds, ae_dataset_count(ds), ae_dataset_sample_size(ds)};
    return fit_rows(pca, &r, "ae_pca_fit_dataset");
}

size_t ae_pca_n_components(const ae_pca *pca) { return pca ? pca->k : 0; }

size_t ae_pca_n_features(const ae_pca *pca) { return pca ? pca->d : 0; }

int ae_pca_solver_used(const ae_pca *pca) { return pca ? pca->solver : AE_PCA_AUTO; }

static int check_fitted(const ae_pca *pca, const char *who)
{
    if (pca == NULL)
        return ae__error(AE_ERR_INVALID, "%s: pca is NULL", who);
    if (pca->k == 0)
        return ae__error(AE_ERR_STATE, "%s: the PCA is not fitted (call ae_pca_fit first)", who);
    return AE_OK;
}

/* z (b x k) = (x - mean) W^T for b <= ROW_CHUNK rows, through scratch. */
static void transform_chunk(const ae_pca *p, const float *x, size_t b, float *z, float *scratch)
{
    const size_t d = p->d;
    for (size_t i = 0; i < b; i++)
        for (size_t j = 0; j < d; j++)
            scratch[i * d + j] = x[i * d + j] - p->mean[j];
    ae__gemm(0, 1, b, p->k, d, 1.0f, scratch, d, p->comp, d, 0.0f, z, p->k);
}

static void inverse_chunk(const ae_pca *p, const float *z, size_t b, float *x)
{
    const size_t d = p->d;
    ae__gemm(0, 0, b, d, p->k, 1.0f, z, p->k, p->comp, d, 0.0f, x, d);
    for (size_t i = 0; i < b; i++)
        for (size_t j = 0; j < d; j++)
            x[i * d + j] += p->mean[j];
}

int ae_pca_transform(const ae_pca *pca, const float *x, size_t count, float *z)
{
    int rc = check_fitted(pca, "ae_pca_transform");
    if (rc < 0)
        return rc;
    if (x == NULL || z == NULL)
        return AE__NULL_ARG("ae_pca_transform", x, z);
    if ((rc = ae__check_count(count, AE__MAX(pca->d, pca->k), sizeof(float), "count",
                              "ae_pca_transform")) < 0)
        return rc;
    float *scratch = ae__alloc(min_size(count, ROW_CHUNK) * pca->d * sizeof(float));
    if (scratch == NULL)
        return AE_ERR_NOMEM;
    for (size_t first = 0; first < count; first += ROW_CHUNK) {
        size_t b = min_size(ROW_CHUNK, count - first);
        transform_chunk(pca, x + first * pca->d, b, z + first * pca->k, scratch);
    }
    ae__free(scratch);
    return AE_OK;
}

int ae_pca_inverse_transform(const ae_pca *pca, const float *z, size_t count, float *x)
{
    int rc = check_fitted(pca, "ae_pca_inverse_transform");
    if (rc < 0)
        return rc;
    if (x == NULL || z == NULL)
        return AE__NULL_ARG("ae_pca_inverse_transform", x, z);
    if ((rc = ae__check_count(count, AE__MAX(pca->d, pca->k), sizeof(float), "count",
                              "ae_pca_inverse_transform")) < 0)
        return rc;
    for (size_t first = 0; first < count; first += ROW_CHUNK) {
        size_t b = min_size(ROW_CHUNK, count - first);
        inverse_chunk(pca, z + first * pca->k, b, x + first * pca->d);
    }
    return AE_OK;
}

int ae_pca_evaluate(const ae_pca *pca, const ae_dataset *ds, double *out_mse)
{
    int rc = check_fitted(pca, "ae_pca_evaluate");
    if (rc < 0)
        return rc;
    if (ds == NULL || out_mse == NULL)
        return AE__NULL_ARG("ae_pca_evaluate", ds, out_mse);
    const size_t n = ae_dataset_count(ds), size = ae_dataset_sample_size(ds), d = pca->d;
    if (n == 0)
        return ae__error(AE_ERR_INVALID, "ae_pca_evaluate: the dataset is empty");
    if (size != d)
        return ae__error(AE_ERR_SHAPE,
                         "ae_pca_evaluate: samples have %zu values, the PCA was fitted on %zu",
                         size, d);
    const size_t c = min_size(n, ROW_CHUNK);
    float *buf = ae__alloc((3 * c * d + c * pca->k) * sizeof(float));
    if (buf == NULL)
        return AE_ERR_NOMEM;
    float *x = buf, *xr = x + c * d, *scratch = xr + c * d, *z = scratch + c * d;
    double sum = 0.0;
    for (size_t first = 0; first < n; first += ROW_CHUNK) {
        size_t b = min_size(ROW_CHUNK, n - first);
        for (size_t i = 0; i < b; i++)
            memcpy(x + i * d, ae__dataset_row(ds, first + i), d * sizeof(float));
        transform_chunk(pca, x, b, z, scratch);
        inverse_chunk(pca, z, b, xr);
        for (size_t i = 0; i < b * d; i++) {
            double e = (double)xr[i] - (double)x[i];
            sum += e * e;
        }
    }
    ae__free(buf);
    *out_mse = sum / ((double)n * (double)d);
    return AE_OK;
}

int ae_pca_get_mean(const ae_pca *pca, float *mean, size_t size)
{
    int rc = check_fitted(pca, "ae_pca_get_mean");
    if (rc < 0)
        return rc;
    if (mean == NULL)
        return ae__error(AE_ERR_INVALID, "ae_pca_get_mean: mean is NULL");
    if (size < pca->d)
        return ae__error(AE_ERR_INVALID, "ae_pca_get_mean: room for %zu floats, the mean has %zu",
                         size, pca->d);
    memcpy(mean, pca->mean, pca->d * sizeof(float));
    return AE_OK;
}

int ae_pca_get_components(const ae_pca *pca, float *components, size_t size)
{
    int rc = check_fitted(pca, "ae_pca_get_components");
    if (rc < 0)
        return rc;
    if (components == NULL)
        return ae__error(AE_ERR_INVALID, "ae_pca_get_components: components is NULL");
    if (size < pca->k * pca->d)
        return ae__error(AE_ERR_INVALID,
                         "ae_pca_get_components: room for %zu floats, %zu components of %zu"
                         " features need %zu",
                         size, pca->k, pca->d, pca->k * pca->d);
    memcpy(components, pca->comp, pca->k * pca->d * sizeof(float));
    return AE_OK;
}

int ae_pca_get_explained_variance(const ae_pca *pca, double *variance, double *ratio, size_t size,
                                  double *total)
{
    int rc = check_fitted(pca, "ae_pca_get_explained_variance");
    if (rc < 0)
        return rc;
    if (variance == NULL && ratio == NULL && total == NULL)
        return ae__error(AE_ERR_INVALID,
                         "ae_pca_get_explained_variance: variance, ratio and total are all NULL");
    if ((variance != NULL || ratio != NULL) && size < pca->k)
        return ae__error(AE_ERR_INVALID,
                         "ae_pca_get_explained_variance: room for %zu values, there are %zu"
                         " components",
                         size, pca->k);
    for (size_t i = 0; i < pca->k; i++) {
        if (variance)
            variance[i] = pca->var[i];
        if (ratio)
            ratio[i] = pca->total > 0.0 ? pca->var[i] / pca->total : 0.0;
    }
    if (total)
        *total = pca->total;
    return AE_OK;
}

int ae_pca_set_state(ae_pca *pca, size_t features, size_t n_components, const float *mean,
                     const float *components, const double *variance, double total_variance)
{
    static const char who[] = "ae_pca_set_state";
    if (pca == NULL || mean == NULL || components == NULL || variance == NULL)
        return AE__NULL_ARG(who, pca, mean, components, variance);
    if (features == 0 || n_components == 0)
        return ae__error(AE_ERR_INVALID, "%s: %zu features, %zu components: both must be >= 1",
                         who, features, n_components);
    if (n_components > features)
        return ae__error(AE_ERR_INVALID, "%s: n_components %zu is more than the %zu features", who,
                         n_components, features);
    size_t kd;
    if (!ae__mul_size(n_components, features, &kd) || kd > INT_MAX || features > INT_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: %zu components of %zu features are too many", who,
                         n_components, features);
    for (size_t j = 0; j < features; j++)
        if (!isfinite(mean[j]))
            return ae__error(AE_ERR_INVALID, "%s: mean[%zu] is not finite", who, j);
    for (size_t i = 0; i < kd; i++)
        if (!isfinite(components[i]))
            return ae__error(AE_ERR_INVALID, "%s: component %zu, feature %zu is not finite", who,
                             i / features, i % features);
    double sum = 0.0;
    for (size_t i = 0; i < n_components; i++) {
        if (!isfinite(variance[i]) || variance[i] < 0.0)
            return ae__error(AE_ERR_INVALID, "%s: variance[%zu] is %g, not a finite value >= 0",
                             who, i, variance[i]);
        sum += variance[i];
    }
    if (!isfinite(total_variance) || total_variance < sum * (1.0 - 1e-6))
        return ae__error(AE_ERR_INVALID,
                         "%s: total variance %g is below the %g the components explain", who,
                         total_variance, sum);
    for (size_t a = 0; a < n_components; a++)
        for (size_t b = a; b < n_components; b++) {
            const float *u = components + a * features, *v = components + b * features;
            double dot = 0.0;
            for (size_t j = 0; j < features; j++)
                dot += (double)u[j] * (double)v[j];
            if (fabs(dot - (a == b ? 1.0 : 0.0)) > 1e-3)
                return ae__error(AE_ERR_FORMAT,
                                 "%s: components are not orthonormal: component %zu . component"
                                 " %zu = %g",
                                 who, a, b, dot);
        }
    float *m = ae__alloc(features * sizeof(float));
    float *c = ae__alloc(kd * sizeof(float));
    double *v = ae__alloc(n_components * sizeof(double));
    if (m == NULL || c == NULL || v == NULL) {
        ae__free(v);
        ae__free(c);
        ae__free(m);
        return AE_ERR_NOMEM;
    }
    memcpy(m, mean, features * sizeof(float));
    memcpy(c, components, kd * sizeof(float));
    memcpy(v, variance, n_components * sizeof(double));
    free_fit(pca);
    pca->d = features;
    pca->k = n_components;
    pca->mean = m;
    pca->comp = c;
    pca->var = v;
    pca->total = total_variance;
    pca->solver = AE_PCA_AUTO;
    return AE_OK;
}
