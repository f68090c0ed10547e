/* SPDX-License-Identifier: MIT */
/* check_pca.c - PCA: known components of synthetic data (exact covariance,
 * exact Gram and randomized solvers), transform/inverse round trips,
 * explained variance, state get/set, determinism and every error path. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

static void assert_msg_has(const char *needle)
{
    ck_assert_msg(strstr(ae_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
                  ae_last_error(), needle);
}

/* splitmix64 and Box-Muller: test data independent of the library's rng. */
static uint64_t rnd_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double rnd_uniform(uint64_t *s) { return ((double)(rnd_next(s) >> 11) + 0.5) / 9007199254740992.0; }
static double rnd_normal(uint64_t *s)
{
    return sqrt(-2.0 * log(rnd_uniform(s))) * cos(6.283185307179586 * rnd_uniform(s));
}

/* Orthonormal rows dirs (k x d) from Gram-Schmidt on random vectors. */
static void random_orthonormal(double *dirs, size_t k, size_t d, uint64_t seed)
{
    for (size_t i = 0; i < k; i++) {
        double *v = dirs + i * d;
        for (size_t j = 0; j < d; j++)
            v[j] = rnd_normal(&seed);
        for (int pass = 0; pass < 2; pass++)
            for (size_t p = 0; p < i; p++) {
                double dot = 0.0;
                for (size_t j = 0; j < d; j++)
                    dot += v[j] * dirs[p * d + j];
                for (size_t j = 0; j < d; j++)
                    v[j] -= dot * dirs[p * d + j];
            }
        double s = 0.0;
        for (size_t j = 0; j < d; j++)
            s += v[j] * v[j];
        for (size_t j = 0; j < d; j++)
            v[j] /= sqrt(s);
    }
}

/* n samples x = mean + G dirs + noise * N(0, I), mean_j = 0.1 j + 1, where
 * the columns of G (n x k) are centred, orthogonal and have sample standard
 * deviations sd[i]: so the sample covariance is exactly
 * sum_i sd_i^2 dirs_i dirs_i^T (+ noise) and PCA must find dirs exactly.
 * Returns the data (malloc). */
static float *synthetic(size_t n, size_t d, const double *dirs, const double *sd, size_t k,
                        double noise, uint64_t seed)
{
    double *g = malloc(n * k * sizeof(double));
    for (size_t i = 0; i < n * k; i++)
        g[i] = rnd_normal(&seed);
    for (size_t c = 0; c < k; c++) {
        double m = 0.0, s = 0.0;
        for (size_t r = 0; r < n; r++)
            m += g[r * k + c];
        for (size_t r = 0; r < n; r++)
            g[r * k + c] -= m / (double)n;
        for (int pass = 0; pass < 2; pass++)
            for (size_t p = 0; p < c; p++) {
                double dot = 0.0, pp = 0.0;
                for (size_t r = 0; r < n; r++) {
                    dot += g[r * k + c] * g[r * k + p];
                    pp += g[r * k + p] * g[r * k + p];
                }
                for (size_t r = 0; r < n; r++)
                    g[r * k + c] -= dot / pp * g[r * k + p];
            }
        for (size_t r = 0; r < n; r++)
            s += g[r * k + c] * g[r * k + c];
        for (size_t r = 0; r < n; r++)
            g[r * k + c] *= sd[c] * sqrt((double)(n - 1) / s);
    }
    float *x = malloc(n * d * sizeof(float));
    for (size_t r = 0; r < n; r++)
        for (size_t j = 0; j < d; j++) {
            double v = 0.1 * (double)j + 1.0 + noise * rnd_normal(&seed);
            for (size_t i = 0; i < k; i++)
                v += g[r * k + i] * dirs[i * d + j];
            x[r * d + j] = (float)v;
        }
    free(g);
    return x;
}

static double abs_cos(const float *a, const double *b, size_t d)
{
    double dot = 0.0, na = 0.0, nb = 0.0;
    for (size_t j = 0; j < d; j++) {
        dot += a[j] * b[j];
        na += (double)a[j] * a[j];
        nb += b[j] * b[j];
    }
    return fabs(dot) / sqrt(na * nb);
}

static ae_pca *make_pca(uint32_t k, int solver, uint64_t seed)
{
    ae_pca *pca = NULL;
    ae_pca_options o = AE_PCA_OPTIONS_INIT;
    o.n_components = k;
    o.solver = solver;
    o.seed = seed;
    ck_assert_int_eq(ae_pca_create(&pca, &o), AE_OK);
    return pca;
}

/* Fits k = 3 components on data with three known directions of standard
 * deviations 5, 3, 2 and a little noise, and checks each is found. */
static void check_recovers(size_t n, size_t d, int solver, int expect_solver)
{
    enum { K = 3 };
    const double sd[K] = {5.0, 3.0, 2.0};
    double *dirs = malloc(K * d * sizeof(double));
    random_orthonormal(dirs, K, d, 11);
    float *x = synthetic(n, d, dirs, sd, K, 0.01, 12);
    ae_pca *pca = make_pca(K, solver, 5);
    ck_assert_int_eq(ae_pca_fit(pca, x, n, d), AE_OK);
    ck_assert_int_eq(ae_pca_solver_used(pca), expect_solver);
    ck_assert_uint_eq(ae_pca_n_components(pca), K);
    ck_assert_uint_eq(ae_pca_n_features(pca), d);
    float *comp = malloc(K * d * sizeof(float));
    ck_assert_int_eq(ae_pca_get_components(pca, comp, K * d), AE_OK);
    double var[K], ratio[K], total;
    ck_assert_int_eq(ae_pca_get_explained_variance(pca, var, ratio, K, &total), AE_OK);
    for (size_t i = 0; i < K; i++) {
        double c = abs_cos(comp + i * d, dirs + i * d, d);
        ck_assert_msg(c > 0.999, "component %zu: |cos| with the true direction %g", i, c);
        /* sd^2 plus a little noise variance */
        ck_assert_double_eq_tol(var[i], sd[i] * sd[i], 0.01 * sd[i] * sd[i]);
        if (i > 0)
            ck_assert(var[i] <= var[i - 1]);
        /* sign rule: the entry of largest magnitude is positive */
        size_t arg = 0;
        for (size_t j = 1; j < d; j++)
            if (fabsf(comp[i * d + j]) > fabsf(comp[i * d + arg]))
                arg = j;
        ck_assert(comp[i * d + arg] > 0.0f);
    }
    ck_assert_double_eq_tol(ratio[0] + ratio[1] + ratio[2], 1.0, 0.01);
    float *mean = malloc(d * sizeof(float));
    ck_assert_int_eq(ae_pca_get_mean(pca, mean, d), AE_OK);
    for (size_t j = 0; j < d; j++) {
        double m = 0.0;
        for (size_t s = 0; s < n; s++)
            m += x[s * d + j];
        ck_assert_double_eq_tol(mean[j], m / (double)n, 1e-4);
    }
    ae_pca_destroy(pca);
    free(mean);
    free(comp);
    free(x);
    free(dirs);
}

START_TEST(exact_covariance_solver_recovers_known_components)
{
    check_recovers(2000, 8, AE_PCA_AUTO, AE_PCA_EXACT);
}
END_TEST

START_TEST(exact_gram_solver_recovers_components_when_features_outnumber_samples)
{
    check_recovers(60, 200, AE_PCA_EXACT, AE_PCA_EXACT);
}
END_TEST

START_TEST(randomized_solver_recovers_known_components)
{
    check_recovers(1500, 40, AE_PCA_RANDOMIZED, AE_PCA_RANDOMIZED);
}
END_TEST

START_TEST(randomized_solver_is_reproducible_and_agrees_with_exact)
{
    enum { N = 400, D = 30, K = 5 };
    const double sd[K] = {9, 7, 5, 3, 2};
    double dirs[K * D];
    random_orthonormal(dirs, K, D, 3);
    float *x = synthetic(N, D, dirs, sd, K, 0.1, 4);
    ae_pca *a = make_pca(K, AE_PCA_RANDOMIZED, 77), *b = make_pca(K, AE_PCA_RANDOMIZED, 77);
    ae_pca *e = make_pca(K, AE_PCA_EXACT, 0);
    ck_assert_int_eq(ae_pca_fit(a, x, N, D), AE_OK);
    ck_assert_int_eq(ae_pca_fit(b, x, N, D), AE_OK);
    ck_assert_int_eq(ae_pca_fit(e, x, N, D), AE_OK);
    float ca[K * D], cb[K * D], ce[K * D];
    double va[K], ve[K];
    ae_pca_get_components(a, ca, K * D);
    ae_pca_get_components(b, cb, K * D);
    ae_pca_get_components(e, ce, K * D);
    ck_assert_mem_eq(ca, cb, sizeof ca);
    ae_pca_get_explained_variance(a, va, NULL, K, NULL);
    ae_pca_get_explained_variance(e, ve, NULL, K, NULL);
    for (int i = 0; i < K; i++) {
        ck_assert_double_eq_tol(va[i], ve[i], 1e-3 * ve[0]);
        double dot = 0.0;
        for (int j = 0; j < D; j++)
            dot += (double)ca[i * D + j] * ce[i * D + j];
        ck_assert_double_eq_tol(dot, 1.0, 1e-3); /* same sign rule, same vector */
    }
    ae_pca_destroy(a);
    ae_pca_destroy(b);
    ae_pca_destroy(e);
    free(x);
}
END_TEST

START_TEST(full_rank_transform_and_inverse_round_trip)
{
    enum { N = 300, D = 12 };
    double dirs[D * D], sd[D];
    for (int i = 0; i < D; i++)
        sd[i] = 1.0 + i;
    random_orthonormal(dirs, D, D, 21);
    float *x = synthetic(N, D, dirs, sd, D, 0.0, 22);
    for (int solver = AE_PCA_EXACT; solver <= AE_PCA_RANDOMIZED; solver++) {
        ae_pca *pca = make_pca(D, solver, 1);
        ck_assert_int_eq(ae_pca_fit(pca, x, N, D), AE_OK);
        float *z = malloc(N * D * sizeof(float)), *xr = malloc(N * D * sizeof(float));
        ck_assert_int_eq(ae_pca_transform(pca, x, N, z), AE_OK);
        ck_assert_int_eq(ae_pca_inverse_transform(pca, z, N, xr), AE_OK);
        for (int i = 0; i < N * D; i++)
            ck_assert_float_eq_tol(xr[i], x[i], 1e-4f * (1.0f + fabsf(x[i])));
        /* projections are centred */
        for (int j = 0; j < D; j++) {
            double m = 0.0;
            for (int i = 0; i < N; i++)
                m += z[i * D + j];
            ck_assert_double_eq_tol(m / N, 0.0, 1e-3);
        }
        free(z);
        free(xr);
        ae_pca_destroy(pca);
    }
    free(x);
}
END_TEST

START_TEST(data_on_a_subspace_reconstructs_exactly_with_its_rank)
{
    enum { N = 250, D = 20, K = 4 };
    const double sd[K] = {4, 3, 2, 1};
    double dirs[K * D];
    random_orthonormal(dirs, K, D, 31);
    float *x = synthetic(N, D, dirs, sd, K, 0.0, 32);
    ae_dataset *ds = NULL;
    ae_shape shape = {1, {D, 0, 0, 0}};
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, N, &shape, AE_DATASET_BORROW), AE_OK);
    ae_pca *pca = make_pca(K, AE_PCA_AUTO, 0);
    ck_assert_int_eq(ae_pca_fit_dataset(pca, ds), AE_OK);
    double mse = -1.0;
    ck_assert_int_eq(ae_pca_evaluate(pca, ds, &mse), AE_OK);
    ck_assert_double_le(mse, 1e-9);
    /* with fewer components the error is the variance left out: sd 1 of 4 */
    ae_pca *small = make_pca(K - 1, AE_PCA_AUTO, 0);
    ck_assert_int_eq(ae_pca_fit_dataset(small, ds), AE_OK);
    ck_assert_int_eq(ae_pca_evaluate(small, ds, &mse), AE_OK);
    double var[K - 1], total;
    ae_pca_get_explained_variance(small, var, NULL, K - 1, &total);
    double left = (total - var[0] - var[1] - var[2]) * (N - 1) / N / D;
    ck_assert_double_eq_tol(mse, left, 1e-3 * left);
    ae_pca_destroy(small);
    ae_pca_destroy(pca);
    ae_dataset_destroy(ds);
    free(x);
}
END_TEST

START_TEST(explained_variance_sums_to_the_total)
{
    enum { N = 500, D = 10 };
    float *x = malloc(N * D * sizeof(float));
    uint64_t s = 41;
    for (int i = 0; i < N * D; i++)
        x[i] = (float)(rnd_normal(&s) * (1 + i % D));
    ae_pca *pca = make_pca(D, AE_PCA_EXACT, 0);
    ck_assert_int_eq(ae_pca_fit(pca, x, N, D), AE_OK);
    double var[D], ratio[D], total, sv = 0.0, sr = 0.0;
    ck_assert_int_eq(ae_pca_get_explained_variance(pca, var, ratio, D, &total), AE_OK);
    for (int i = 0; i < D; i++) {
        sv += var[i];
        sr += ratio[i];
        ck_assert(var[i] >= 0.0);
        if (i)
            ck_assert(var[i] <= var[i - 1]);
    }
    /* total = sum of the per-feature sample variances */
    double t = 0.0;
    for (int j = 0; j < D; j++) {
        double m = 0.0, v = 0.0;
        for (int i = 0; i < N; i++)
            m += x[i * D + j];
        m /= N;
        for (int i = 0; i < N; i++)
            v += (x[i * D + j] - m) * (x[i * D + j] - m);
        t += v / (N - 1);
    }
    ck_assert_double_eq_tol(total, t, 1e-9 * t);
    ck_assert_double_eq_tol(sv, total, 1e-9 * total);
    ck_assert_double_eq_tol(sr, 1.0, 1e-9);
    ae_pca_destroy(pca);
    free(x);
}
END_TEST

START_TEST(rank_deficient_data_still_gives_orthonormal_components)
{
    /* 5 samples in 8-D span at most 4 directions: components 5 and beyond
     * have no variance, yet all k rows stay orthonormal. */
    enum { N = 5, D = 8, K = 5 };
    float x[N * D];
    uint64_t s = 51;
    for (int i = 0; i < N * D; i++)
        x[i] = (float)rnd_normal(&s);
    for (int solver = AE_PCA_EXACT; solver <= AE_PCA_RANDOMIZED; solver++) {
        ae_pca *pca = make_pca(K, solver, 2);
        ck_assert_int_eq(ae_pca_fit(pca, x, N, D), AE_OK);
        float c[K * D];
        double var[K];
        ae_pca_get_components(pca, c, K * D);
        ae_pca_get_explained_variance(pca, var, NULL, K, NULL);
        ck_assert_double_le(var[K - 1], 1e-5 * var[0]);
        for (int a = 0; a < K; a++)
            for (int b = 0; b < K; b++) {
                double dot = 0.0;
                for (int j = 0; j < D; j++)
                    dot += (double)c[a * D + j] * c[b * D + j];
                ck_assert_double_eq_tol(dot, a == b ? 1.0 : 0.0, 1e-4);
            }
        ae_pca_destroy(pca);
    }
}
END_TEST

START_TEST(state_round_trips_through_getters_and_set_state)
{
    enum { N = 200, D = 9, K = 3 };
    const double sd[K] = {3, 2, 1};
    double dirs[K * D];
    random_orthonormal(dirs, K, D, 61);
    float *x = synthetic(N, D, dirs, sd, K, 0.05, 62);
    ae_pca *a = make_pca(K, AE_PCA_AUTO, 0), *b = make_pca(1, AE_PCA_AUTO, 0);
    ck_assert_int_eq(ae_pca_fit(a, x, N, D), AE_OK);
    float mean[D], comp[K * D];
    double var[K], total;
    ck_assert_int_eq(ae_pca_get_mean(a, mean, D), AE_OK);
    ck_assert_int_eq(ae_pca_get_components(a, comp, K * D), AE_OK);
    ck_assert_int_eq(ae_pca_get_explained_variance(a, var, NULL, K, &total), AE_OK);
    ck_assert_int_eq(ae_pca_set_state(b, D, K, mean, comp, var, total), AE_OK);
    ck_assert_uint_eq(ae_pca_n_components(b), K);
    ck_assert_int_eq(ae_pca_solver_used(b), AE_PCA_AUTO);
    float za[N * K], zb[N * K];
    ck_assert_int_eq(ae_pca_transform(a, x, N, za), AE_OK);
    ck_assert_int_eq(ae_pca_transform(b, x, N, zb), AE_OK);
    ck_assert_mem_eq(za, zb, sizeof za);
    double ra[K], rb[K];
    ae_pca_get_explained_variance(a, NULL, ra, K, NULL);
    ae_pca_get_explained_variance(b, NULL, rb, K, NULL);
    ck_assert_mem_eq(ra, rb, sizeof ra);
    ae_pca_destroy(a);
    ae_pca_destroy(b);
    free(x);
}
END_TEST

START_TEST(set_state_rejects_inconsistent_arrays)
{
    ae_pca *p = make_pca(2, AE_PCA_AUTO, 0);
    float mean[3] = {0, 0, 0};
    float comp[6] = {1, 0, 0, 0, 1, 0};
    double var[2] = {2, 1};
    ck_assert_int_eq(ae_pca_set_state(p, 3, 4, mean, comp, var, 3.0), AE_ERR_INVALID);
    assert_msg_has("n_components 4 is more than the 3 features");
    ck_assert_int_eq(ae_pca_set_state(p, 0, 2, mean, comp, var, 3.0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_pca_set_state(p, 3, 2, NULL, comp, var, 3.0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_pca_set_state(p, 3, 2, mean, comp, var, 2.0), AE_ERR_INVALID);
    assert_msg_has("total variance 2 is below the 3");
    var[1] = -1.0;
    ck_assert_int_eq(ae_pca_set_state(p, 3, 2, mean, comp, var, 3.0), AE_ERR_INVALID);
    assert_msg_has("variance[1] is -1");
    var[1] = 1.0;
    mean[2] = NAN;
    ck_assert_int_eq(ae_pca_set_state(p, 3, 2, mean, comp, var, 3.0), AE_ERR_INVALID);
    assert_msg_has("mean[2] is not finite");
    mean[2] = 0.0f;
    comp[3] = 1.0f; /* row 1 becomes (1, 1, 0): neither unit nor orthogonal to row 0 */
    ck_assert_int_eq(ae_pca_set_state(p, 3, 2, mean, comp, var, 3.0), AE_ERR_FORMAT);
    assert_msg_has("not orthonormal");
    /* nothing was changed by the failures */
    ck_assert_uint_eq(ae_pca_n_components(p), 0);
    comp[3] = 0.0f;
    ck_assert_int_eq(ae_pca_set_state(p, 3, 2, mean, comp, var, 3.0), AE_OK);
    ae_pca_destroy(p);
}
END_TEST

START_TEST(more_components_than_features_or_samples_is_refused)
{
    float x[4 * 5] = {0};
    for (int i = 0; i < 20; i++)
        x[i] = (float)(i * i % 7);
    ae_pca *p = make_pca(6, AE_PCA_AUTO, 0);
    ck_assert_int_eq(ae_pca_fit(p, x, 4, 5), AE_ERR_INVALID);
    assert_msg_has("n_components 6 is more than the 5 features");
    ae_pca_destroy(p);
    p = make_pca(5, AE_PCA_AUTO, 0);
    ck_assert_int_eq(ae_pca_fit(p, x, 4, 5), AE_ERR_INVALID);
    assert_msg_has("n_components 5 is more than the 4 samples");
    ck_assert_int_eq(ae_pca_fit(p, x, 1, 20), AE_ERR_INVALID);
    assert_msg_has("at least 2 samples, got 1");
    ck_assert_int_eq(ae_pca_fit(p, x, 4, 0), AE_ERR_INVALID);
    ck_assert_uint_eq(ae_pca_n_components(p), 0); /* still unfitted */
    ae_pca_destroy(p);
}
END_TEST

START_TEST(create_rejects_bad_options)
{
    ae_pca *p = (ae_pca *)0x1;
    ae_pca_options o = AE_PCA_OPTIONS_INIT;
    o.n_components = 0;
    ck_assert_int_eq(ae_pca_create(&p, &o), AE_ERR_INVALID);
    assert_msg_has("n_components is 0");
    o.n_components = 2;
    o.solver = 7;
    ck_assert_int_eq(ae_pca_create(&p, &o), AE_ERR_INVALID);
    assert_msg_has("unknown solver 7");
    o.solver = AE_PCA_AUTO;
    o.struct_size = 4;
    ck_assert_int_eq(ae_pca_create(&p, &o), AE_ERR_INVALID);
    assert_msg_has("struct_size");
    ck_assert_ptr_eq(p, (ae_pca *)0x1);
    ck_assert_int_eq(ae_pca_create(NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_pca_create_v(&p, NULL, (AE_VERSION_MAJOR + 1) * 10000u), AE_ERR_VERSION);
    ck_assert_ptr_eq(p, (ae_pca *)0x1);
    ck_assert_int_eq(ae_pca_create(&p, NULL), AE_OK); /* defaults */
    ae_pca_destroy(p);
    ae_pca_destroy(NULL);
}
END_TEST

START_TEST(unfitted_and_null_arguments_give_clear_errors)
{
    ae_pca *p = make_pca(2, AE_PCA_AUTO, 0);
    float x[8] = {0}, z[4];
    double mse;
    ck_assert_int_eq(ae_pca_transform(p, x, 2, z), AE_ERR_STATE);
    assert_msg_has("not fitted");
    ck_assert_int_eq(ae_pca_inverse_transform(p, z, 2, x), AE_ERR_STATE);
    ck_assert_int_eq(ae_pca_get_mean(p, x, 8), AE_ERR_STATE);
    ck_assert_int_eq(ae_pca_evaluate(p, NULL, &mse), AE_ERR_STATE);
    ck_assert_int_eq(ae_pca_transform(NULL, x, 2, z), AE_ERR_INVALID);
    ck_assert_int_eq(ae_pca_fit(NULL, x, 2, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_pca_fit(p, NULL, 2, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_pca_fit_dataset(p, NULL), AE_ERR_INVALID);
    ck_assert_uint_eq(ae_pca_n_components(NULL), 0);
    ck_assert_uint_eq(ae_pca_n_features(NULL), 0);
    ck_assert_int_eq(ae_pca_solver_used(NULL), AE_PCA_AUTO);

    float data[4 * 4] = {1, 2, 3, 4, 2, 1, 0, 4, 3, 3, 1, 0, 0, 1, 2, 2};
    ck_assert_int_eq(ae_pca_fit(p, data, 4, 4), AE_OK);
    ck_assert_int_eq(ae_pca_transform(p, data, 0, z), AE_ERR_INVALID);
    assert_msg_has("count is 0");
    ck_assert_int_eq(ae_pca_transform(p, NULL, 1, z), AE_ERR_INVALID);
    ck_assert_int_eq(ae_pca_inverse_transform(p, z, 0, x), AE_ERR_INVALID);
    ck_assert_int_eq(ae_pca_get_mean(p, x, 3), AE_ERR_INVALID);
    assert_msg_has("room for 3 floats, the mean has 4");
    ck_assert_int_eq(ae_pca_get_components(p, x, 7), AE_ERR_INVALID);
    assert_msg_has("need 8");
    double v[2];
    ck_assert_int_eq(ae_pca_get_explained_variance(p, v, NULL, 1, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_pca_get_explained_variance(p, NULL, NULL, 2, NULL), AE_ERR_INVALID);

    /* a dataset of the wrong width */
    ae_dataset *ds = NULL;
    ae_shape shape = {1, {2, 0, 0, 0}};
    ck_assert_int_eq(ae_dataset_from_memory(&ds, data, NULL, 8, &shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_pca_evaluate(p, ds, &mse), AE_ERR_SHAPE);
    assert_msg_has("samples have 2 values, the PCA was fitted on 4");
    ae_dataset_destroy(ds);
    ae_pca_destroy(p);
}
END_TEST

START_TEST(nan_in_the_data_is_refused_and_keeps_the_previous_fit)
{
    float data[4 * 3] = {1, 2, 3, 2, 1, 0, 3, 3, 1, 0, 1, 2};
    ae_pca *p = make_pca(2, AE_PCA_AUTO, 0);
    ck_assert_int_eq(ae_pca_fit(p, data, 4, 3), AE_OK);
    float before[6], after[6];
    ae_pca_get_components(p, before, 6);
    data[7] = NAN;
    ck_assert_int_eq(ae_pca_fit(p, data, 4, 3), AE_ERR_NUMERIC);
    assert_msg_has("sample 2, feature 1 is NaN");
    ae_pca_get_components(p, after, 6);
    ck_assert_mem_eq(before, after, sizeof before);
    ae_pca_destroy(p);
}
END_TEST

START_TEST(allocation_failures_leak_nothing)
{
    enum { N = 40, D = 6 };
    float x[N * D];
    uint64_t s = 71;
    for (int i = 0; i < N * D; i++)
        x[i] = (float)rnd_normal(&s);
    for (int solver = AE_PCA_EXACT; solver <= AE_PCA_RANDOMIZED; solver++) {
        int ok = 0;
        for (size_t fail_at = 1; fail_at < 200 && !ok; fail_at++) {
            failing_allocator fa;
            failing_allocator_install(&fa, fail_at);
            ae_pca *p = NULL;
            ae_pca_options o = AE_PCA_OPTIONS_INIT;
            o.n_components = 3;
            o.solver = solver;
            int rc = ae_pca_create(&p, &o);
            if (rc == AE_OK) {
                rc = ae_pca_fit(p, x, N, D);
                float z[N * 3];
                if (rc == AE_OK)
                    rc = ae_pca_transform(p, x, N, z);
                ok = rc == AE_OK;
                ae_pca_destroy(p);
            }
            if (!ok)
                ck_assert_int_eq(rc, AE_ERR_NOMEM);
            ck_assert_uint_eq(ae_live_allocations(), 0);
            failing_allocator_remove();
        }
        ck_assert(ok);
    }
}
END_TEST

Suite *ae_pca_suite(void)
{
    Suite *s = suite_create("pca");
    TCase *tc = tcase_create("fit");
    tcase_add_test(tc, exact_covariance_solver_recovers_known_components);
    tcase_add_test(tc, exact_gram_solver_recovers_components_when_features_outnumber_samples);
    tcase_add_test(tc, randomized_solver_recovers_known_components);
    tcase_add_test(tc, randomized_solver_is_reproducible_and_agrees_with_exact);
    tcase_add_test(tc, full_rank_transform_and_inverse_round_trip);
    tcase_add_test(tc, data_on_a_subspace_reconstructs_exactly_with_its_rank);
    tcase_add_test(tc, explained_variance_sums_to_the_total);
    tcase_add_test(tc, rank_deficient_data_still_gives_orthonormal_components);
    suite_add_tcase(s, tc);
    tc = tcase_create("state");
    tcase_add_test(tc, state_round_trips_through_getters_and_set_state);
    tcase_add_test(tc, set_state_rejects_inconsistent_arrays);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, more_components_than_features_or_samples_is_refused);
    tcase_add_test(tc, create_rejects_bad_options);
    tcase_add_test(tc, unfitted_and_null_arguments_give_clear_errors);
    tcase_add_test(tc, nan_in_the_data_is_refused_and_keeps_the_previous_fit);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
