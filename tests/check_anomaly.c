/* SPDX-License-Identifier: MIT */
/* check_anomaly.c - per-sample reconstruction errors (hand-computed MSE,
 * MAE, BCE; batch and dataset scoring agree with reconstruct + compute),
 * thresholds (mean + k std and quantiles against hand-computed values), the
 * detector (options, fitting, classification, restoring a threshold) and
 * every error path. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define TOL 1e-12
#define IN 12

static const ae_shape in_shape = {1, {IN, 0, 0, 0}};

static void teardown(void)
{
    ck_assert_uint_eq(ae_live_allocations(), 0);
}

/* A 12-4-12 model: relu encoder, sigmoid decoder. */
static ae_model *make_model(uint32_t out_size)
{
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ae_shape lat = {1, {4, 0, 0, 0}};
    ck_assert_int_eq(ae_encoder_create(&enc, &in_shape, 3), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 4, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, 4), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, out_size, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

static float *make_data(size_t count, uint64_t seed)
{
    float *x = malloc(count * IN * sizeof *x);
    ck_assert_ptr_nonnull(x);
    test_subspace_data(x, count, IN, 3, seed);
    return x;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(score_names_are_stable)
{
    ck_assert_str_eq(ae_score_name(AE_SCORE_MSE), "mse");
    ck_assert_str_eq(ae_score_name(AE_SCORE_MAE), "mae");
    ck_assert_str_eq(ae_score_name(AE_SCORE_BCE), "bce");
    ck_assert_str_eq(ae_score_name(5), "unknown");
    ck_assert_str_eq(ae_score_name(-1), "unknown");
    ck_assert_str_eq(ae_threshold_rule_name(AE_THRESHOLD_MEAN_STD), "mean_std");
    ck_assert_str_eq(ae_threshold_rule_name(AE_THRESHOLD_QUANTILE), "quantile");
    ck_assert_str_eq(ae_threshold_rule_name(AE_THRESHOLD_FIXED), "fixed");
    ck_assert_str_eq(ae_threshold_rule_name(9), "unknown");
}
END_TEST

START_TEST(per_sample_errors_match_hand_computed_values)
{
    const float x[] = {0.0f, 0.5f, 1.0f, 1.0f, 1.0f, 1.0f};
    const float xr[] = {0.5f, 0.5f, 0.5f, 1.0f, 0.0f, 1.0f};
    double e[2];
    ck_assert_int_eq(ae_score_compute(e, AE_SCORE_MSE, x, xr, 2, 3), AE_OK);
    ck_assert_double_eq_tol(e[0], (0.25 + 0.0 + 0.25) / 3.0, TOL);
    ck_assert_double_eq_tol(e[1], 1.0 / 3.0, TOL);
    ck_assert_int_eq(ae_score_compute(e, AE_SCORE_MAE, x, xr, 2, 3), AE_OK);
    ck_assert_double_eq_tol(e[0], 1.0 / 3.0, TOL);
    ck_assert_double_eq_tol(e[1], 1.0 / 3.0, TOL);
    /* BCE: x~ = 0.5 everywhere gives log 2 per value whatever x is; the
     * second sample clamps x~ = 1 to 1 - 1e-7 and x~ = 0 to 1e-7 in float,
     * exactly as AE_LOSS_BCE (one kernel since 1.1). */
    ck_assert_int_eq(ae_score_compute(e, AE_SCORE_BCE, x, xr, 2, 3), AE_OK);
    ck_assert_double_eq_tol(e[0], log(2.0), 1e-12);
    ck_assert_double_eq_tol(e[1], (-2.0 * log((double)(1.0f - 1e-7f)) - log((double)1e-7f)) / 3.0,
                            1e-9);
}
END_TEST

/* A one-sample score is the loss of that sample, bit for bit: the scores
 * and the training losses share one reconstruction-error kernel. */
START_TEST(scores_and_losses_share_one_kernel)
{
    enum { N = 37 };
    float x[N], xr[N];
    uint64_t st = 5;
    for (size_t i = 0; i < N; i++) {
        x[i] = test_rand_uniform(&st);
        xr[i] = i % 5 == 0 ? (float)(i % 2) : test_rand_uniform(&st); /* some saturated */
    }
    double score, loss;
    ck_assert_int_eq(ae_score_compute(&score, AE_SCORE_MSE, x, xr, 1, N), AE_OK);
    ck_assert_int_eq(ae_loss_compute(&loss, AE_LOSS_MSE, x, xr, 1, N), AE_OK);
    ck_assert_msg(score == loss, "mse: score %.17g, loss %.17g", score, loss);
    ck_assert_int_eq(ae_score_compute(&score, AE_SCORE_BCE, x, xr, 1, N), AE_OK);
    ck_assert_int_eq(ae_loss_compute(&loss, AE_LOSS_BCE, x, xr, 1, N), AE_OK);
    ck_assert_msg(score == loss, "bce: score %.17g, loss %.17g", score, loss);
}
END_TEST

START_TEST(score_compute_rejects_bad_arguments)
{
    const float x[] = {0.0f, 1.0f};
    double e[2] = {7.0, 7.0};
    ck_assert_int_eq(ae_score_compute(NULL, AE_SCORE_MSE, x, x, 1, 2), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "errors is NULL"));
    ck_assert_int_eq(ae_score_compute(e, AE_SCORE_MSE, NULL, x, 1, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_score_compute(e, AE_SCORE_MSE, x, NULL, 1, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_score_compute(e, 3, x, x, 1, 2), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "unknown error kind 3"));
    ck_assert_int_eq(ae_score_compute(e, AE_SCORE_MSE, x, x, 0, 2), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "count is 0"));
    ck_assert_int_eq(ae_score_compute(e, AE_SCORE_MSE, x, x, 1, 0), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "size is 0"));
    ck_assert_int_eq(ae_score_compute(e, AE_SCORE_MSE, x, x, SIZE_MAX / 2, 4), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "overflow"));
    ck_assert_double_eq(e[0], 7.0);
}
END_TEST

START_TEST(model_scores_equal_reconstruct_then_compute)
{
    /* 300 samples: more than one internal chunk of 256. */
    enum { M = 300 };
    ae_model *m = make_model(IN);
    float *x = make_data(M, 5);
    float *xr = malloc(M * IN * sizeof *xr);
    double *ref = malloc(M * sizeof *ref), *e = malloc(M * sizeof *e);
    ae_dataset *ds;
    ck_assert_int_eq(ae_model_reconstruct(m, x, M, xr), AE_OK);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, M, &in_shape, AE_DATASET_BORROW),
                     AE_OK);
    for (int kind = AE_SCORE_MSE; kind <= AE_SCORE_BCE; kind++) {
        ck_assert_int_eq(ae_score_compute(ref, kind, x, xr, M, IN), AE_OK);
        ck_assert_int_eq(ae_model_score(m, x, M, kind, e), AE_OK);
        ck_assert_mem_eq(e, ref, M * sizeof *e);
        ck_assert_int_eq(ae_model_score_dataset(m, ds, kind, e), AE_OK);
        ck_assert_mem_eq(e, ref, M * sizeof *e);
        for (size_t i = 0; i < M; i++)
            ck_assert(e[i] > 0.0);
    }
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    free(x);
    free(xr);
    free(ref);
    free(e);
}
END_TEST

START_TEST(dataset_scores_follow_the_view_order)
{
    enum { M = 10 };
    ae_model *m = make_model(IN);
    float *x = make_data(M, 6);
    double all[M], sel[3];
    const size_t idx[3] = {7, 2, 7};
    ae_dataset *ds, *view;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, M, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_dataset_select(&view, ds, idx, 3), AE_OK);
    ck_assert_int_eq(ae_model_score_dataset(m, ds, AE_SCORE_MSE, all), AE_OK);
    ck_assert_int_eq(ae_model_score_dataset(m, view, AE_SCORE_MSE, sel), AE_OK);
    ck_assert_double_eq(sel[0], all[7]);
    ck_assert_double_eq(sel[1], all[2]);
    ck_assert_double_eq(sel[2], all[7]);
    ae_dataset_destroy(view);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    free(x);
}
END_TEST

START_TEST(model_scoring_rejects_bad_arguments)
{
    ae_model *m = make_model(IN), *odd = make_model(IN + 1);
    float *x = make_data(4, 7);
    double e[4] = {7.0, 7.0, 7.0, 7.0};
    ae_dataset *ds, *wrong;
    ae_shape other = {1, {IN / 2, 0, 0, 0}};
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, 4, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_dataset_from_memory(&wrong, x, NULL, 4, &other, AE_DATASET_COPY), AE_OK);

    ck_assert_int_eq(ae_model_score(NULL, x, 4, AE_SCORE_MSE, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_score(m, x, 4, AE_SCORE_MSE, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_score(m, NULL, 4, AE_SCORE_MSE, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_score(m, x, 0, AE_SCORE_MSE, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_score(m, x, 4, -1, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_score(odd, x, 4, AE_SCORE_MSE, e), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "takes 12 values and gives 13"));

    ck_assert_int_eq(ae_model_score_dataset(NULL, ds, AE_SCORE_MSE, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_score_dataset(m, ds, AE_SCORE_MSE, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_score_dataset(m, NULL, AE_SCORE_MSE, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_score_dataset(m, ds, 7, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_score_dataset(odd, ds, AE_SCORE_MSE, e), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_model_score_dataset(m, wrong, AE_SCORE_MSE, e), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "samples have 6 values, the model takes 12"));
    ck_assert_double_eq(e[0], 7.0);

    ae_dataset_destroy(ds);
    ae_dataset_destroy(wrong);
    ae_model_destroy(m);
    ae_model_destroy(odd);
    free(x);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Thresholds                                                               */
/* ------------------------------------------------------------------------ */

START_TEST(mean_std_matches_hand_computed_values)
{
    /* mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25 */
    const double e[] = {1.0, 2.0, 3.0, 4.0};
    const double sd = sqrt(1.25);
    double t;
    ck_assert_int_eq(ae_threshold_mean_std(&t, e, 4, 1.0), AE_OK);
    ck_assert_double_eq_tol(t, 2.5 + sd, TOL);
    ck_assert_int_eq(ae_threshold_mean_std(&t, e, 4, 2.0), AE_OK);
    ck_assert_double_eq_tol(t, 2.5 + 2.0 * sd, TOL);
    ck_assert_int_eq(ae_threshold_mean_std(&t, e, 4, 0.0), AE_OK);
    ck_assert_double_eq_tol(t, 2.5, TOL);
    ck_assert_int_eq(ae_threshold_mean_std(&t, e, 4, -1.0), AE_OK);
    ck_assert_double_eq_tol(t, 2.5 - sd, TOL);
    const double one[] = {0.125};
    ck_assert_int_eq(ae_threshold_mean_std(&t, one, 1, 3.0), AE_OK);
    ck_assert_double_eq(t, 0.125); /* std 0 */
}
END_TEST

START_TEST(mean_std_stays_exact_for_a_large_offset)
{
    /* 1e9 + {1, 2, 3, 4}: a one-pass sum of squares would lose the spread. */
    const double e[] = {1e9 + 1.0, 1e9 + 2.0, 1e9 + 3.0, 1e9 + 4.0};
    double t;
    ck_assert_int_eq(ae_threshold_mean_std(&t, e, 4, 1.0), AE_OK);
    ck_assert_double_eq_tol(t - 1e9, 2.5 + sqrt(1.25), 1e-6);
}
END_TEST

START_TEST(quantile_interpolates_between_order_statistics)
{
    /* sorted {1, 2, 3, 4}: h = q * 3 (numpy's "linear" method). */
    const double e[] = {4.0, 1.0, 3.0, 2.0};
    double t;
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 4, 0.5), AE_OK);
    ck_assert_double_eq_tol(t, 2.5, TOL);
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 4, 0.9), AE_OK);
    ck_assert_double_eq_tol(t, 3.7, TOL);
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 4, 0.25), AE_OK);
    ck_assert_double_eq_tol(t, 1.75, TOL);
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 4, 0.0), AE_OK);
    ck_assert_double_eq(t, 1.0);
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 4, 1.0), AE_OK);
    ck_assert_double_eq(t, 4.0);
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 1, 0.7), AE_OK);
    ck_assert_double_eq(t, 4.0);
    /* ties and infinities */
    const double f[] = {2.0, 2.0, INFINITY, INFINITY};
    ck_assert_int_eq(ae_threshold_quantile(&t, f, 4, 0.2), AE_OK);
    ck_assert_double_eq(t, 2.0);
    ck_assert_int_eq(ae_threshold_quantile(&t, f, 4, 0.9), AE_OK);
    ck_assert(isinf(t) && t > 0);
    ck_assert(e[0] == 4.0); /* the input is not sorted in place */
}
END_TEST

START_TEST(thresholds_stay_defined_at_the_ends_of_double)
{
    /* NaN and overflows came back with AE_OK (an audit's finding). */
    const double minf[] = {-INFINITY, 1.0}, both[] = {-INFINITY, INFINITY, 0.0},
                 wide[] = {DBL_MAX, -DBL_MAX}, big[] = {1e308, 1e308, 1e308},
                 spread[] = {DBL_MAX, DBL_MAX / 2};
    double t;
    ck_assert_int_eq(ae_threshold_quantile(&t, minf, 2, 0.5), AE_OK);
    ck_assert(isinf(t) && t < 0); /* any weight on -inf */
    ck_assert_int_eq(ae_threshold_quantile(&t, both, 3, 0.5), AE_OK);
    ck_assert_double_eq(t, 0.0);
    ck_assert_int_eq(ae_threshold_quantile(&t, both, 3, 0.8), AE_OK); /* h = 1.6: nearer +inf */
    ck_assert(isinf(t) && t > 0);
    ck_assert_int_eq(ae_threshold_quantile(&t, both, 3, 0.2), AE_OK);
    ck_assert(isinf(t) && t < 0);
    ck_assert_int_eq(ae_threshold_quantile(&t, wide, 2, 0.5), AE_OK); /* b - a overflows */
    ck_assert_double_eq(t, 0.0);
    ck_assert_int_eq(ae_threshold_quantile(&t, wide, 2, 0.75), AE_OK);
    ck_assert_double_eq_tol(t, DBL_MAX / 2, DBL_MAX * 1e-15);
    /* the sum overflows, the mean does not */
    ck_assert_int_eq(ae_threshold_mean_std(&t, big, 3, 0.0), AE_OK);
    ck_assert_double_eq_tol(t, 1e308, 1e293);
    ck_assert_int_eq(ae_threshold_mean_std(&t, big, 3, 2.0), AE_OK); /* std 0 */
    ck_assert_double_eq_tol(t, 1e308, 1e293);
    ck_assert_int_eq(ae_threshold_mean_std(&t, spread, 2, -1.0), AE_OK); /* 0.75 - 0.25 */
    ck_assert_double_eq_tol(t, DBL_MAX / 2, DBL_MAX * 1e-15);
    ck_assert_int_eq(ae_threshold_mean_std(&t, spread, 2, 2.0), AE_ERR_NUMERIC); /* 1.25 max */
}
END_TEST

START_TEST(thresholds_reject_bad_arguments)
{
    const double e[] = {1.0, 2.0}, bad[] = {1.0, NAN}, inf[] = {1.0, INFINITY};
    double t = 42.0;
    ck_assert_int_eq(ae_threshold_mean_std(NULL, e, 2, 1.0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_threshold_mean_std(&t, NULL, 2, 1.0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_threshold_mean_std(&t, e, 0, 1.0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_threshold_mean_std(&t, e, 2, NAN), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "k is nan"));
    ck_assert_int_eq(ae_threshold_mean_std(&t, e, 2, INFINITY), AE_ERR_INVALID);
    ck_assert_int_eq(ae_threshold_mean_std(&t, bad, 2, 1.0), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "errors[1] is nan"));
    ck_assert_int_eq(ae_threshold_mean_std(&t, inf, 2, 1.0), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "errors[1] is inf"));
    const double huge[] = {-1e308, 1e308};
    ck_assert_int_eq(ae_threshold_mean_std(&t, huge, 2, 1e10), AE_ERR_NUMERIC);

    ck_assert_int_eq(ae_threshold_quantile(NULL, e, 2, 0.5), AE_ERR_INVALID);
    ck_assert_int_eq(ae_threshold_quantile(&t, NULL, 2, 0.5), AE_ERR_INVALID);
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 0, 0.5), AE_ERR_INVALID);
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 2, -0.1), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "quantile -0.1 is not in [0, 1]"));
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 2, 1.5), AE_ERR_INVALID);
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 2, NAN), AE_ERR_INVALID);
    ck_assert_int_eq(ae_threshold_quantile(&t, bad, 2, 0.5), AE_ERR_INVALID);
    ck_assert_double_eq(t, 42.0);

    failing_allocator fa;
    failing_allocator_install(&fa, 1);
    ck_assert_int_eq(ae_threshold_quantile(&t, e, 2, 0.5), AE_ERR_NOMEM);
    failing_allocator_remove();
    ck_assert_double_eq(t, 42.0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The detector                                                             */
/* ------------------------------------------------------------------------ */

START_TEST(detector_defaults_are_mse_and_mean_plus_one_std)
{
    ae_detector *det;
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    ck_assert_int_eq(ae_detector_create(&det, NULL), AE_OK);
    memset(&o, 0xFF, sizeof o);
    o.struct_size = sizeof o;
    ck_assert_int_eq(ae_detector_get_options(det, &o), AE_OK);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_int_eq(o.score, AE_SCORE_MSE);
    ck_assert_int_eq(o.rule, AE_THRESHOLD_MEAN_STD);
    ck_assert_double_eq(o.k, 1.0);
    ck_assert_double_eq(o.quantile, 0.99);
    ck_assert_int_eq(ae_detector_is_fitted(det), 0);
    ae_detector_destroy(det);
    ae_detector_destroy(NULL);
}
END_TEST

START_TEST(unfitted_detector_refuses_to_classify)
{
    ae_detector *det;
    double e[] = {1.0}, t = 42.0;
    int32_t f[] = {7};
    ck_assert_int_eq(ae_detector_create(&det, NULL), AE_OK);
    ck_assert_int_eq(ae_detector_threshold(det, &t), AE_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "no threshold yet"));
    ck_assert_int_eq(ae_detector_classify(det, e, 1, f), AE_ERR_STATE);
    ck_assert_double_eq(t, 42.0);
    ck_assert_int_eq(f[0], 7);
    ae_detector_destroy(det);
}
END_TEST

START_TEST(detector_fits_mean_std_and_classifies_above_the_threshold)
{
    ae_detector *det;
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    o.k = 2.0;
    const double normal[] = {1.0, 2.0, 3.0, 4.0};
    const double t_ref = 2.5 + 2.0 * sqrt(1.25); /* 4.736 */
    double t;
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_OK);
    ck_assert_int_eq(ae_detector_fit_errors(det, normal, 4), AE_OK);
    ck_assert_int_eq(ae_detector_is_fitted(det), 1);
    ck_assert_int_eq(ae_detector_threshold(det, &t), AE_OK);
    ck_assert_double_eq_tol(t, t_ref, TOL);
    const double e[] = {0.0, 4.7, 4.8, 100.0, NAN, t_ref};
    int32_t f[6];
    ck_assert_int_eq(ae_detector_classify(det, e, 6, f), AE_OK);
    ck_assert_int_eq(f[0], 0);
    ck_assert_int_eq(f[1], 0);
    ck_assert_int_eq(f[2], 1);
    ck_assert_int_eq(f[3], 1);
    ck_assert_int_eq(f[4], 1); /* NaN: anomaly */
    ae_detector_destroy(det);
}
END_TEST

START_TEST(detector_fits_a_quantile)
{
    ae_detector *det;
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    o.rule = AE_THRESHOLD_QUANTILE;
    o.quantile = 0.9;
    const double normal[] = {4.0, 1.0, 3.0, 2.0};
    double t;
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_OK);
    ck_assert_int_eq(ae_detector_fit_errors(det, normal, 4), AE_OK);
    ck_assert_int_eq(ae_detector_threshold(det, &t), AE_OK);
    ck_assert_double_eq_tol(t, 3.7, TOL);
    /* A failed refit keeps the previous threshold. */
    const double bad[] = {1.0, NAN};
    ck_assert_int_eq(ae_detector_fit_errors(det, bad, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_threshold(det, &t), AE_OK);
    ck_assert_double_eq_tol(t, 3.7, TOL);
    ae_detector_destroy(det);
}
END_TEST

START_TEST(a_threshold_can_be_restored_without_data)
{
    /* What a model file loader does: create with the saved options, then
     * set the saved threshold. */
    ae_detector *det;
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT, got = AE_DETECTOR_OPTIONS_INIT;
    o.score = AE_SCORE_MAE;
    o.rule = AE_THRESHOLD_QUANTILE;
    o.quantile = 0.95;
    double t;
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_OK);
    ck_assert_int_eq(ae_detector_set_threshold(det, 0.125), AE_OK);
    ck_assert_int_eq(ae_detector_is_fitted(det), 1);
    ck_assert_int_eq(ae_detector_threshold(det, &t), AE_OK);
    ck_assert_double_eq(t, 0.125);
    ck_assert_int_eq(ae_detector_get_options(det, &got), AE_OK);
    ck_assert_int_eq(got.score, AE_SCORE_MAE);
    ck_assert_int_eq(got.rule, AE_THRESHOLD_QUANTILE);
    ck_assert_double_eq(got.quantile, 0.95);
    ck_assert_int_eq(ae_detector_set_threshold(det, NAN), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_set_threshold(NULL, 1.0), AE_ERR_INVALID);
    ae_detector_destroy(det);
}
END_TEST

START_TEST(fixed_rule_refuses_to_fit)
{
    ae_detector *det;
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    o.rule = AE_THRESHOLD_FIXED;
    const double e[] = {1.0, 2.0};
    ae_model *m = make_model(IN);
    float *x = make_data(2, 1);
    ae_dataset *ds;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, 2, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_OK);
    ck_assert_int_eq(ae_detector_fit_errors(det, e, 2), AE_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_detector_set_threshold"));
    ck_assert_int_eq(ae_detector_fit(det, m, ds), AE_ERR_STATE);
    ck_assert_int_eq(ae_detector_is_fitted(det), 0);
    ck_assert_int_eq(ae_detector_set_threshold(det, 1.5), AE_OK);
    int32_t f[2];
    ck_assert_int_eq(ae_detector_classify(det, e, 2, f), AE_OK);
    ck_assert_int_eq(f[0], 0);
    ck_assert_int_eq(f[1], 1);
    ae_detector_destroy(det);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    free(x);
}
END_TEST

START_TEST(detector_fit_and_predict_use_the_model_scores)
{
    enum { M = 40 };
    ae_model *m = make_model(IN);
    float *x = make_data(M, 9);
    double e[M], ref[M], t, t_ref;
    int32_t f[M], g[M];
    ae_dataset *ds;
    ae_detector *det;
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    o.score = AE_SCORE_MAE;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, M, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_OK);
    ck_assert_int_eq(ae_detector_predict(det, m, ds, f, e), AE_ERR_STATE);
    ck_assert_int_eq(ae_detector_fit(det, m, ds), AE_OK);
    ck_assert_int_eq(ae_model_score_dataset(m, ds, AE_SCORE_MAE, ref), AE_OK);
    ck_assert_int_eq(ae_threshold_mean_std(&t_ref, ref, M, 1.0), AE_OK);
    ck_assert_int_eq(ae_detector_threshold(det, &t), AE_OK);
    ck_assert_double_eq(t, t_ref);

    ck_assert_int_eq(ae_detector_predict(det, m, ds, f, e), AE_OK);
    ck_assert_mem_eq(e, ref, sizeof e);
    ck_assert_int_eq(ae_detector_classify(det, ref, M, g), AE_OK);
    ck_assert_mem_eq(f, g, sizeof f);
    size_t flagged = 0;
    for (size_t i = 0; i < M; i++)
        flagged += (size_t)f[i];
    ck_assert_uint_gt(flagged, 0); /* mean + 1 std flags the tail */
    ck_assert_uint_lt(flagged, M / 2);
    memset(g, 0, sizeof g);
    ck_assert_int_eq(ae_detector_predict(det, m, ds, g, NULL), AE_OK); /* errors optional */
    ck_assert_mem_eq(f, g, sizeof f);
    ae_detector_destroy(det);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    free(x);
}
END_TEST

START_TEST(detector_create_rejects_bad_options)
{
    ae_detector *det = (ae_detector *)0x1;
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    ck_assert_int_eq(ae_detector_create(NULL, NULL), AE_ERR_INVALID);
    o.score = 5;
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "unknown error kind 5"));
    o.score = AE_SCORE_MSE;
    o.rule = 3;
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "unknown threshold rule 3"));
    o.rule = AE_THRESHOLD_MEAN_STD;
    o.k = INFINITY;
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "k is inf"));
    o.k = 1.0;
    o.quantile = 1.5;
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "quantile 1.5"));
    o.quantile = 0.5;
    o.struct_size = 8;
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "struct_size"));
    ck_assert_int_eq(ae_detector_create_v(&det, NULL, (AE_VERSION_MAJOR + 1) * 10000u),
                     AE_ERR_VERSION);
    ck_assert_ptr_eq(det, (ae_detector *)0x1);

    /* A newer caller's struct is fine while its extra bytes are zero. */
    struct {
        ae_detector_options o;
        double extra;
    } big;
    memset(&big, 0, sizeof big);
    big.o = (ae_detector_options)AE_DETECTOR_OPTIONS_INIT;
    big.o.struct_size = sizeof big;
    ck_assert_int_eq(ae_detector_create(&det, &big.o), AE_OK);
    ae_detector_destroy(det);
    big.extra = 1.0;
    det = (ae_detector *)0x1;
    ck_assert_int_eq(ae_detector_create(&det, &big.o), AE_ERR_VERSION);
    ck_assert_ptr_eq(det, (ae_detector *)0x1);
}
END_TEST

START_TEST(detector_functions_reject_null_and_zero)
{
    ae_detector *det;
    ae_model *m = make_model(IN);
    float *x = make_data(2, 2);
    ae_dataset *ds;
    double e[2] = {1.0, 2.0}, t;
    int32_t f[2];
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, 2, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_detector_create(&det, NULL), AE_OK);

    ck_assert_int_eq(ae_detector_fit_errors(NULL, e, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_fit_errors(det, NULL, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_fit_errors(det, e, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_fit(NULL, m, ds), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_fit(det, NULL, ds), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_fit(det, m, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_is_fitted(NULL), 0);
    ck_assert_int_eq(ae_detector_threshold(NULL, &t), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_get_options(NULL, &o), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_get_options(det, NULL), AE_ERR_INVALID);
    o.struct_size = 4;
    ck_assert_int_eq(ae_detector_get_options(det, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "struct_size is 4"));

    ck_assert_int_eq(ae_detector_fit_errors(det, e, 2), AE_OK);
    ck_assert_int_eq(ae_detector_threshold(det, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_classify(NULL, e, 2, f), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_classify(det, e, 2, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_classify(det, NULL, 2, f), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_classify(det, e, 0, f), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_predict(NULL, m, ds, f, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_predict(det, m, ds, NULL, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_predict(det, NULL, ds, f, e), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_predict(det, m, NULL, f, e), AE_ERR_INVALID);

    ae_detector_destroy(det);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    free(x);
}
END_TEST

START_TEST(scoring_fails_cleanly_at_every_allocation)
{
    /* Fail each allocation of create + fit + predict in turn: every
     * failure is AE_ERR_NOMEM, leaks nothing and leaves the outputs. */
    enum { M = 8 };
    float *x = make_data(M, 3);
    int done = 0;
    for (size_t fail_at = 1; !done && fail_at < 200; fail_at++) {
        failing_allocator fa;
        failing_allocator_install(&fa, 0);
        ae_model *m = make_model(IN);
        ae_dataset *ds;
        ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, M, &in_shape, AE_DATASET_BORROW),
                         AE_OK);
        fa.fail_at = fa.calls + fail_at;
        ae_detector *det = NULL;
        double e[M];
        int32_t f[M] = {0};
        e[0] = -1.0;
        int rc = ae_detector_create(&det, NULL);
        if (rc == AE_OK)
            rc = ae_detector_fit(det, m, ds);
        if (rc == AE_OK)
            rc = ae_detector_predict(det, m, ds, f, e);
        if (rc == AE_OK)
            done = 1;
        else {
            ck_assert_int_eq(rc, AE_ERR_NOMEM);
            ck_assert_double_eq(e[0], -1.0);
        }
        ae_detector_destroy(det);
        ae_dataset_destroy(ds);
        ae_model_destroy(m);
        ck_assert_uint_eq(fa.live, 0);
        failing_allocator_remove();
    }
    ck_assert(done);
    free(x);
}
END_TEST

Suite *ae_anomaly_suite(void)
{
    Suite *s = suite_create("anomaly");
    TCase *tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, score_names_are_stable);
    tcase_add_test(tc, per_sample_errors_match_hand_computed_values);
    tcase_add_test(tc, scores_and_losses_share_one_kernel);
    tcase_add_test(tc, score_compute_rejects_bad_arguments);
    tcase_add_test(tc, model_scores_equal_reconstruct_then_compute);
    tcase_add_test(tc, dataset_scores_follow_the_view_order);
    tcase_add_test(tc, model_scoring_rejects_bad_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("thresholds");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, mean_std_matches_hand_computed_values);
    tcase_add_test(tc, mean_std_stays_exact_for_a_large_offset);
    tcase_add_test(tc, quantile_interpolates_between_order_statistics);
    tcase_add_test(tc, thresholds_stay_defined_at_the_ends_of_double);
    tcase_add_test(tc, thresholds_reject_bad_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("detector");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, detector_defaults_are_mse_and_mean_plus_one_std);
    tcase_add_test(tc, unfitted_detector_refuses_to_classify);
    tcase_add_test(tc, detector_fits_mean_std_and_classifies_above_the_threshold);
    tcase_add_test(tc, detector_fits_a_quantile);
    tcase_add_test(tc, a_threshold_can_be_restored_without_data);
    tcase_add_test(tc, fixed_rule_refuses_to_fit);
    tcase_add_test(tc, detector_fit_and_predict_use_the_model_scores);
    tcase_add_test(tc, detector_create_rejects_bad_options);
    tcase_add_test(tc, detector_functions_reject_null_and_zero);
    tcase_add_test(tc, scoring_fails_cleanly_at_every_allocation);
    suite_add_tcase(s, tc);
    return s;
}
