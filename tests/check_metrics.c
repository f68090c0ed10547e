/* SPDX-License-Identifier: MIT */
/* check_metrics.c - accuracy, precision, recall, F1 at a threshold, ROC AUC
 * and average precision against hand-computed values, ties included, and
 * every error path (single class, bad labels, NaN scores, NULL, count 0). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define TOL 1e-12

static void teardown(void)
{
    ck_assert_uint_eq(ae_live_allocations(), 0);
}

/* ------------------------------------------------------------------------ */
/* At a threshold                                                           */
/* ------------------------------------------------------------------------ */

START_TEST(counts_and_rates_match_hand_computed_values)
{
    /* flagged (> 0.38): 0.4 (normal, fp), 0.8 (anomaly, tp), 0.5 (normal, fp);
     * missed: 0.35 (anomaly, fn); 0.1 normal, tn. */
    const double s[] = {0.1, 0.4, 0.35, 0.8, 0.5};
    const int32_t l[] = {0, 0, 1, 1, 0};
    ae_binary_metrics m = AE_BINARY_METRICS_INIT;
    ck_assert_int_eq(ae_metrics_at_threshold(&m, s, l, N(s), 0.38), AE_OK);
    ck_assert_uint_eq(m.struct_size, sizeof m);
    ck_assert_double_eq(m.threshold, 0.38);
    ck_assert_uint_eq(m.tp, 1);
    ck_assert_uint_eq(m.fp, 2);
    ck_assert_uint_eq(m.tn, 1);
    ck_assert_uint_eq(m.fn, 1);
    ck_assert_double_eq_tol(m.accuracy, 2.0 / 5.0, TOL);
    ck_assert_double_eq_tol(m.precision, 1.0 / 3.0, TOL);
    ck_assert_double_eq_tol(m.recall, 1.0 / 2.0, TOL);
    ck_assert_double_eq_tol(m.f1, 0.4, TOL); /* 2 * (1/3)(1/2) / (5/6) */
}
END_TEST

START_TEST(a_score_equal_to_the_threshold_is_not_flagged)
{
    const double s[] = {0.4, 0.4, 0.9};
    const int32_t l[] = {0, 1, 1};
    ae_binary_metrics m = AE_BINARY_METRICS_INIT;
    ck_assert_int_eq(ae_metrics_at_threshold(&m, s, l, N(s), 0.4), AE_OK);
    ck_assert_uint_eq(m.tp, 1);
    ck_assert_uint_eq(m.fn, 1);
    ck_assert_uint_eq(m.tn, 1);
    ck_assert_uint_eq(m.fp, 0);
    ck_assert_double_eq_tol(m.precision, 1.0, TOL);
    ck_assert_double_eq_tol(m.recall, 0.5, TOL);
    ck_assert_double_eq_tol(m.f1, 2.0 / 3.0, TOL);
}
END_TEST

START_TEST(empty_denominators_give_zero_rates)
{
    /* One class only is fine at a threshold: accuracy is defined, the
     * undefined rates are 0 as scikit-learn's zero_division=0. */
    const double s[] = {0.1, 0.2, 0.3};
    const int32_t normal[] = {0, 0, 0}, anomalous[] = {1, 1, 1};
    ae_binary_metrics m = AE_BINARY_METRICS_INIT;
    ck_assert_int_eq(ae_metrics_at_threshold(&m, s, normal, N(s), 1.0), AE_OK);
    ck_assert_uint_eq(m.tn, 3);
    ck_assert_double_eq(m.accuracy, 1.0);
    ck_assert_double_eq(m.precision, 0.0); /* no sample flagged */
    ck_assert_double_eq(m.recall, 0.0);    /* no anomaly at all */
    ck_assert_double_eq(m.f1, 0.0);
    ck_assert_int_eq(ae_metrics_at_threshold(&m, s, anomalous, N(s), -INFINITY), AE_OK);
    ck_assert_uint_eq(m.tp, 3);
    ck_assert_double_eq(m.precision, 1.0);
    ck_assert_double_eq(m.recall, 1.0);
    ck_assert_double_eq(m.f1, 1.0);
}
END_TEST

/* The versioning rule of the structs the library fills: the caller's
 * struct_size says how much room there is; older layouts are refused below
 * 1.0's, newer (larger) ones get the fields this library knows and no more. */
START_TEST(at_threshold_honours_the_callers_struct_size)
{
    const double s[] = {0.1, 0.9};
    const int32_t l[] = {0, 1};
    struct {
        ae_binary_metrics m;
        double appended_later;
    } newer;
    memset(&newer, 0xAB, sizeof newer);
    newer.m.struct_size = (uint32_t)sizeof newer;
    ck_assert_int_eq(ae_metrics_at_threshold(&newer.m, s, l, 2, 0.5), AE_OK);
    ck_assert_uint_eq(newer.m.struct_size, sizeof(ae_binary_metrics));
    ck_assert_uint_eq(newer.m.tp, 1);
    ck_assert_uint_eq(newer.m.tn, 1);
    unsigned char tail[sizeof(double)];
    memset(tail, 0xAB, sizeof tail);
    ck_assert_mem_eq(&newer.appended_later, tail, sizeof tail);

    ae_binary_metrics m = AE_BINARY_METRICS_INIT;
    m.struct_size = 8;
    ck_assert_int_eq(ae_metrics_at_threshold(&m, s, l, 2, 0.5), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "AE_BINARY_METRICS_INIT"));
    ck_assert_uint_eq(m.struct_size, 8); /* untouched */
}
END_TEST

START_TEST(at_threshold_rejects_bad_input_and_leaves_output)
{
    const double s[] = {0.1, 0.2};
    const int32_t l[] = {0, 1}, bad[] = {0, 2};
    ae_binary_metrics m = AE_BINARY_METRICS_INIT;
    memset(&m, 0xAB, sizeof m);
    ck_assert_int_eq(ae_metrics_at_threshold(NULL, s, l, 2, 0.0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_at_threshold(&m, NULL, l, 2, 0.0), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "scores is NULL"));
    ck_assert_int_eq(ae_metrics_at_threshold(&m, s, NULL, 2, 0.0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_at_threshold(&m, s, l, 0, 0.0), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "count is 0"));
    ck_assert_int_eq(ae_metrics_at_threshold(&m, s, bad, 2, 0.0), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "labels[1] is 2"));
    ck_assert_int_eq(ae_metrics_at_threshold(&m, s, l, 2, NAN), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "threshold is NaN"));
    const double nan_s[] = {0.1, NAN};
    ck_assert_int_eq(ae_metrics_at_threshold(&m, nan_s, l, 2, 0.0), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "scores[1] is NaN"));
    ck_assert_uint_eq(m.struct_size, 0xABABABABu); /* untouched */
}
END_TEST

/* ------------------------------------------------------------------------ */
/* ROC AUC and average precision                                            */
/* ------------------------------------------------------------------------ */

START_TEST(roc_auc_and_ap_of_the_scikit_learn_example)
{
    /* roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75: the anomalies
     * 0.35 and 0.8 beat 3 of the 4 normal-anomaly pairs.
     * average_precision_score(...) = 0.5 * 1 + 0.5 * 2/3 = 0.8333. */
    const double s[] = {0.1, 0.4, 0.35, 0.8};
    const int32_t l[] = {0, 0, 1, 1};
    double auc = -1.0, ap = -1.0;
    ck_assert_int_eq(ae_metrics_roc_auc(&auc, s, l, N(s)), AE_OK);
    ck_assert_double_eq_tol(auc, 0.75, TOL);
    ck_assert_int_eq(ae_metrics_pr_auc(&ap, s, l, N(s)), AE_OK);
    ck_assert_double_eq_tol(ap, 5.0 / 6.0, TOL);
}
END_TEST

START_TEST(ties_between_classes_count_one_half)
{
    /* anomalies {0.5, 0.9}, normal {0.5, 0.2}: pairs 0.5~0.5 = 1/2,
     * 0.5>0.2, 0.9>0.5, 0.9>0.2: AUC = 3.5 / 4. AP: 0.9 alone (P 1,
     * R 1/2), then the tied pair enters together (P 2/3, R 1):
     * 1/2 * 1 + 1/2 * 2/3 = 5/6 whichever order the tied pair is in. */
    const double s1[] = {0.5, 0.5, 0.2, 0.9};
    const int32_t l1[] = {1, 0, 0, 1};
    const double s2[] = {0.9, 0.2, 0.5, 0.5};
    const int32_t l2[] = {1, 0, 0, 1};
    double a1, a2, p1, p2;
    ck_assert_int_eq(ae_metrics_roc_auc(&a1, s1, l1, N(s1)), AE_OK);
    ck_assert_int_eq(ae_metrics_roc_auc(&a2, s2, l2, N(s2)), AE_OK);
    ck_assert_double_eq_tol(a1, 0.875, TOL);
    ck_assert_double_eq(a1, a2);
    ck_assert_int_eq(ae_metrics_pr_auc(&p1, s1, l1, N(s1)), AE_OK);
    ck_assert_int_eq(ae_metrics_pr_auc(&p2, s2, l2, N(s2)), AE_OK);
    ck_assert_double_eq_tol(p1, 5.0 / 6.0, TOL);
    ck_assert_double_eq(p1, p2);
}
END_TEST

START_TEST(all_scores_tied_give_chance_level)
{
    /* One threshold only: AUC 1/2 and AP = the anomaly fraction. */
    const double s[] = {3.0, 3.0, 3.0, 3.0, 3.0};
    const int32_t l[] = {0, 1, 0, 1, 0};
    double auc, ap;
    ck_assert_int_eq(ae_metrics_roc_auc(&auc, s, l, N(s)), AE_OK);
    ck_assert_double_eq_tol(auc, 0.5, TOL);
    ck_assert_int_eq(ae_metrics_pr_auc(&ap, s, l, N(s)), AE_OK);
    ck_assert_double_eq_tol(ap, 2.0 / 5.0, TOL);
}
END_TEST

START_TEST(perfect_and_inverted_rankings)
{
    const double s[] = {3.0, 2.0, 1.0, 0.0};
    const int32_t good[] = {1, 1, 0, 0}, bad[] = {0, 0, 1, 1};
    double auc, ap;
    ck_assert_int_eq(ae_metrics_roc_auc(&auc, s, good, 4), AE_OK);
    ck_assert_double_eq(auc, 1.0);
    ck_assert_int_eq(ae_metrics_pr_auc(&ap, s, good, 4), AE_OK);
    ck_assert_double_eq(ap, 1.0);
    ck_assert_int_eq(ae_metrics_roc_auc(&auc, s, bad, 4), AE_OK);
    ck_assert_double_eq(auc, 0.0);
    /* anomalies at ranks 3 and 4: 1/2 * 1/3 + 1/2 * 2/4 = 5/12 */
    ck_assert_int_eq(ae_metrics_pr_auc(&ap, s, bad, 4), AE_OK);
    ck_assert_double_eq_tol(ap, 5.0 / 12.0, TOL);
}
END_TEST

START_TEST(infinite_scores_rank_like_any_other)
{
    const double s[] = {-INFINITY, INFINITY, 0.0, INFINITY};
    const int32_t l[] = {0, 1, 0, 1};
    double auc, ap;
    ck_assert_int_eq(ae_metrics_roc_auc(&auc, s, l, 4), AE_OK);
    ck_assert_double_eq(auc, 1.0);
    ck_assert_int_eq(ae_metrics_pr_auc(&ap, s, l, 4), AE_OK);
    ck_assert_double_eq(ap, 1.0);
}
END_TEST

START_TEST(auc_equals_the_pair_count_on_random_data_with_ties)
{
    /* 400 scores on 10 levels (many ties): compare with the O(n^2)
     * definition and the trapezoidal ROC area. */
    enum { M = 400 };
    double *s = malloc(M * sizeof *s);
    int32_t *l = malloc(M * sizeof *l);
    uint64_t st = 7;
    for (size_t i = 0; i < M; i++) {
        l[i] = (int32_t)(test_rand_next(&st) % 3 == 0);
        s[i] = (double)(test_rand_next(&st) % 10) + (l[i] ? 1.5 : 0.0);
        s[i] = floor(s[i]);
    }
    double wins = 0.0, pos = 0.0, neg = 0.0;
    for (size_t i = 0; i < M; i++) {
        pos += l[i];
        neg += !l[i];
        for (size_t j = 0; j < M; j++)
            if (l[i] && !l[j])
                wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
    double auc;
    ck_assert_int_eq(ae_metrics_roc_auc(&auc, s, l, M), AE_OK);
    ck_assert_double_eq_tol(auc, wins / (pos * neg), 1e-12);

    /* AP by its definition: sum over the distinct thresholds t of
     * (R(t) - R(t_prev)) * P(t), precision and recall of "score >= t". */
    double ap_ref = 0.0, prev_r = 0.0;
    for (int t = 12; t >= -1; t--) {
        double tp = 0.0, fp = 0.0;
        for (size_t i = 0; i < M; i++)
            if (s[i] >= t) {
                tp += l[i];
                fp += !l[i];
            }
        if (tp + fp == 0.0)
            continue;
        double r = tp / pos;
        ap_ref += (r - prev_r) * (tp / (tp + fp));
        prev_r = r;
    }
    double ap;
    ck_assert_int_eq(ae_metrics_pr_auc(&ap, s, l, M), AE_OK);
    ck_assert_double_eq_tol(ap, ap_ref, 1e-12);
    free(s);
    free(l);
}
END_TEST

START_TEST(one_class_only_is_a_clear_error)
{
    const double s[] = {0.1, 0.2, 0.3};
    const int32_t normal[] = {0, 0, 0}, anomalous[] = {1, 1, 1};
    double out = 42.0;
    ck_assert_int_eq(ae_metrics_roc_auc(&out, s, normal, 3), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "all 3 labels are 0"));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "undefined"));
    ck_assert_int_eq(ae_metrics_roc_auc(&out, s, anomalous, 3), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "all 3 labels are 1"));
    ck_assert_int_eq(ae_metrics_pr_auc(&out, s, normal, 3), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_metrics_pr_auc"));
    ck_assert_int_eq(ae_metrics_pr_auc(&out, s, anomalous, 1), AE_ERR_INVALID);
    ck_assert_double_eq(out, 42.0);
}
END_TEST

START_TEST(ranking_metrics_reject_bad_input)
{
    const double s[] = {0.1, 0.2}, nan_s[] = {NAN, 0.2};
    const int32_t l[] = {0, 1}, neg[] = {-1, 1};
    double out = 42.0;
    int (*fn[2])(double *, const double *, const int32_t *, size_t) = {ae_metrics_roc_auc,
                                                                        ae_metrics_pr_auc};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(fn[k](NULL, s, l, 2), AE_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(ae_last_error(), "out is NULL"));
        ck_assert_int_eq(fn[k](&out, NULL, l, 2), AE_ERR_INVALID);
        ck_assert_int_eq(fn[k](&out, s, NULL, 2), AE_ERR_INVALID);
        ck_assert_int_eq(fn[k](&out, s, l, 0), AE_ERR_INVALID);
        ck_assert_int_eq(fn[k](&out, s, neg, 2), AE_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(ae_last_error(), "labels[0] is -1"));
        ck_assert_int_eq(fn[k](&out, nan_s, l, 2), AE_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(ae_last_error(), "scores[0] is NaN"));
    }
    ck_assert_double_eq(out, 42.0);
}
END_TEST

START_TEST(ranking_metrics_report_out_of_memory)
{
    const double s[] = {0.1, 0.2};
    const int32_t l[] = {0, 1};
    double out = 42.0;
    failing_allocator fa;
    failing_allocator_install(&fa, 1);
    ck_assert_int_eq(ae_metrics_roc_auc(&out, s, l, 2), AE_ERR_NOMEM);
    failing_allocator_install(&fa, 1);
    ck_assert_int_eq(ae_metrics_pr_auc(&out, s, l, 2), AE_ERR_NOMEM);
    ck_assert_uint_eq(fa.live, 0);
    failing_allocator_remove();
    ck_assert_double_eq(out, 42.0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Classification: argmax, accuracy, confusion matrix                       */
/* ------------------------------------------------------------------------ */

START_TEST(argmax_takes_the_first_of_equal_largest_scores)
{
    const float scores[] = {0.1f, 0.7f, 0.2f,    /* 1 */
                            -3.0f, -1.0f, -2.0f, /* 1 */
                            5.0f, 1.0f, 5.0f,    /* 0: first of a tie */
                            -INFINITY, -INFINITY, INFINITY}; /* 2 */
    int32_t pred[4] = {-1, -1, -1, -1};
    ck_assert_int_eq(ae_metrics_argmax(pred, scores, 4, 3), AE_OK);
    const int32_t want[] = {1, 1, 0, 2};
    ck_assert_mem_eq(pred, want, sizeof want);
    /* one class: always 0 */
    ck_assert_int_eq(ae_metrics_argmax(pred, scores, 3, 1), AE_OK);
    ck_assert_int_eq(pred[0] | pred[1] | pred[2], 0);
}
END_TEST

START_TEST(accuracy_and_confusion_match_hand_counts)
{
    const int32_t labels[] = {0, 0, 1, 1, 1, 2, 2, 2, 2, 0};
    const int32_t pred[] = {0, 1, 1, 1, 2, 2, 2, 0, 2, 0};
    double acc = -1.0;
    ck_assert_int_eq(ae_metrics_accuracy(&acc, labels, pred, N(labels)), AE_OK);
    ck_assert_double_eq_tol(acc, 7.0 / 10.0, TOL);
    size_t m[4 * 4];
    memset(m, 0xff, sizeof m);
    ck_assert_int_eq(ae_metrics_confusion(m, labels, pred, N(labels), 3), AE_OK);
    const size_t want[9] = {2, 1, 0, /* true 0 */
                            0, 2, 1, /* true 1 */
                            1, 0, 3}; /* true 2 */
    ck_assert_mem_eq(m, want, sizeof want);
    ck_assert_uint_eq(m[9], SIZE_MAX); /* nothing written past 3 x 3 */
    /* a fourth class nobody has: a zero row and column */
    ck_assert_int_eq(ae_metrics_confusion(m, labels, pred, N(labels), 4), AE_OK);
    size_t diag = 0, total = 0;
    for (size_t t = 0; t < 4; t++)
        for (size_t p = 0; p < 4; p++) {
            total += m[t * 4 + p];
            diag += t == p ? m[t * 4 + p] : 0;
            if (t == 3 || p == 3)
                ck_assert_uint_eq(m[t * 4 + p], 0);
        }
    ck_assert_uint_eq(total, N(labels));
    ck_assert_uint_eq(diag, 7);
}
END_TEST

START_TEST(classification_helpers_reject_bad_input_and_leave_outputs)
{
    const float scores[] = {0.1f, NAN, 0.3f, 0.4f};
    const int32_t labels[] = {0, 1, 2}, pred[] = {0, 1, 3}, neg[] = {0, -1, 2};
    int32_t out[2] = {7, 7};
    ck_assert_int_eq(ae_metrics_argmax(NULL, scores, 2, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_argmax(out, NULL, 2, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_argmax(out, scores, 0, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_argmax(out, scores, 2, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_argmax(out, scores, 2, (size_t)INT32_MAX + 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_argmax(out, scores, SIZE_MAX, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_argmax(out, scores, 2, 2), AE_ERR_INVALID);
    ck_assert_msg(strstr(ae_last_error(), "score 1 of sample 0 is NaN") != NULL, "%s",
                  ae_last_error());
    ck_assert_int_eq(out[0] & out[1], 7);

    double acc = 42.0;
    ck_assert_int_eq(ae_metrics_accuracy(NULL, labels, pred, 3), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_accuracy(&acc, NULL, pred, 3), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_accuracy(&acc, labels, NULL, 3), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_accuracy(&acc, labels, pred, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_accuracy(&acc, labels, pred, SIZE_MAX), AE_ERR_INVALID);
    ck_assert_double_eq(acc, 42.0);

    size_t m[16] = {5};
    ck_assert_int_eq(ae_metrics_confusion(NULL, labels, pred, 3, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_confusion(m, NULL, pred, 3, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_confusion(m, labels, NULL, 3, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_confusion(m, labels, pred, 0, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_confusion(m, labels, pred, 3, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_metrics_confusion(m, labels, pred, 3, 65537), AE_ERR_LIMIT);
    ck_assert_int_eq(ae_metrics_confusion(m, labels, pred, 3, 3), AE_ERR_INVALID);
    ck_assert_msg(strstr(ae_last_error(), "sample 2 has label 2 and prediction 3") != NULL, "%s",
                  ae_last_error());
    ck_assert_int_eq(ae_metrics_confusion(m, neg, labels, 3, 3), AE_ERR_INVALID);
    ck_assert_uint_eq(m[0], 5);
}
END_TEST

Suite *ae_metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("threshold");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, counts_and_rates_match_hand_computed_values);
    tcase_add_test(tc, at_threshold_honours_the_callers_struct_size);
    tcase_add_test(tc, a_score_equal_to_the_threshold_is_not_flagged);
    tcase_add_test(tc, empty_denominators_give_zero_rates);
    tcase_add_test(tc, at_threshold_rejects_bad_input_and_leaves_output);
    suite_add_tcase(s, tc);

    tc = tcase_create("ranking");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, roc_auc_and_ap_of_the_scikit_learn_example);
    tcase_add_test(tc, ties_between_classes_count_one_half);
    tcase_add_test(tc, all_scores_tied_give_chance_level);
    tcase_add_test(tc, perfect_and_inverted_rankings);
    tcase_add_test(tc, infinite_scores_rank_like_any_other);
    tcase_add_test(tc, auc_equals_the_pair_count_on_random_data_with_ties);
    tcase_add_test(tc, one_class_only_is_a_clear_error);
    tcase_add_test(tc, ranking_metrics_reject_bad_input);
    tcase_add_test(tc, ranking_metrics_report_out_of_memory);
    suite_add_tcase(s, tc);

    tc = tcase_create("classification");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, argmax_takes_the_first_of_equal_largest_scores);
    tcase_add_test(tc, accuracy_and_confusion_match_hand_counts);
    tcase_add_test(tc, classification_helpers_reject_bad_input_and_leave_outputs);
    suite_add_tcase(s, tc);
    return s;
}
