/* SPDX-License-Identifier: MIT */
/*
 * metrics.c - binary classification metrics from anomaly scores and 0/1
 * labels (1 = anomaly, the positive class).
 *
 * ROC AUC and average precision sort (score, label) pairs once and walk
 * them in groups of equal score, so tied scores enter a curve together as
 * one step: a tie between an anomaly and a normal sample counts one half in
 * the ROC AUC, and no order among tied samples can change either result.
 *
 * And the multi-class helpers of ae/metrics.h (argmax, accuracy, confusion
 * matrix) a classification head on the encoder's code needs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae/anomaly.h"
#include "ae/metrics.h"
#include "core/core.h"

typedef struct scored {
    double score;
    int32_t label;
} scored;

/* Checks the arrays; counts the anomalies. */
static int check_input(const double *scores, const int32_t *labels, size_t count,
                       size_t *positives, const char *what)
{
    if (scores == NULL || labels == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         scores == NULL ? "scores" : "labels");
    int rc = ae__check_count(count, 1, sizeof(double), "count", what);
    if (rc < 0)
        return rc;
    size_t p = 0;
    for (size_t i = 0; i < count; i++) {
        if (labels[i] != 0 && labels[i] != 1)
            return ae__error(AE_ERR_INVALID,
                             "%s: labels[%zu] is %d; labels must be 0 (normal) or 1 (anomaly)",
                             what, i, (int)labels[i]);
        if (isnan(scores[i]))
            return ae__error(AE_ERR_INVALID, "%s: scores[%zu] is NaN", what, i);
        p += (size_t)labels[i];
    }
    *positives = p;
    return AE_OK;
}

/* Both classes must be present for a ranking metric. */
static int check_both_classes(size_t positives, size_t count, const char *what)
{
    if (positives == 0 || positives == count)
        return ae__error(AE_ERR_INVALID,
                         "%s: all %zu labels are %d (%s); the area is undefined without both "
                         "normal (0) and anomalous (1) samples",
                         what, count, positives == 0 ? 0 : 1,
                         positives == 0 ? "normal" : "anomaly");
    return AE_OK;
}

static double ratio(size_t num, size_t den) { return den == 0 ? 0.0 : (double)num / (double)den; }

int ae_metrics_at_threshold(ae_binary_metrics *out, const double *scores, const int32_t *labels,
                            size_t count, double threshold)
{
    static const char what[] = "ae_metrics_at_threshold";
    size_t positives;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out is NULL", what);
    if (out->struct_size < AE__LAYOUT_END(ae_binary_metrics, f1))
        return ae__error(AE_ERR_INVALID, "%s: out->struct_size is %u, smaller than the oldest "
                         "layout (%zu bytes); initialize it with AE_BINARY_METRICS_INIT", what,
                         (unsigned)out->struct_size, AE__LAYOUT_END(ae_binary_metrics, f1));
    int rc = check_input(scores, labels, count, &positives, what);
    if (rc < 0)
        return rc;
    if (isnan(threshold))
        return ae__error(AE_ERR_INVALID, "%s: threshold is NaN", what);
    ae_binary_metrics m;
    memset(&m, 0, sizeof m);
    m.struct_size = sizeof m;
    m.threshold = threshold;
    for (size_t i = 0; i < count; i++) {
        int flagged = scores[i] > threshold;
        if (labels[i] && flagged)
            m.tp++;
        else if (labels[i])
            m.fn++;
        else if (flagged)
            m.fp++;
        else
            m.tn++;
    }
    m.accuracy = ratio(m.tp + m.tn, count);
    m.precision = ratio(m.tp, m.tp + m.fp);
    m.recall = ratio(m.tp, m.tp + m.fn);
    double pr = m.precision + m.recall;
    m.f1 = pr > 0.0 ? 2.0 * m.precision * m.recall / pr : 0.0;
    return ae__fill_struct(out, &m, sizeof m, AE__LAYOUT_END(ae_binary_metrics, f1), what);
}

static int cmp_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x < y) - (x > y);
}

/* The pairs sorted by score, highest first; NULL (NOMEM) on failure. */
static scored *sorted_pairs(const double *scores, const int32_t *labels, size_t count)
{
    size_t bytes;
    if (!ae__mul_size(count, sizeof(scored), &bytes)) {
        ae__error(AE_ERR_NOMEM, "%zu scores overflow the address space", count);
        return NULL;
    }
    scored *s = ae__alloc(bytes);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        s[i].score = scores[i];
        s[i].label = labels[i];
    }
    qsort(s, count, sizeof *s, cmp_desc);
    return s;
}

/* Walks s[*i ...] over one group of equal scores; counts its classes. */
static void next_group(const scored *s, size_t count, size_t *i, size_t *pos, size_t *neg)
{
    size_t j = *i, p = 0;
    double v = s[j].score;
    while (j < count && s[j].score == v) {
        p += (size_t)s[j].label;
        j++;
    }
    *pos = p;
    *neg = j - *i - p;
    *i = j;
}

int ae_metrics_roc_auc(double *out, const double *scores, const int32_t *labels, size_t count)
{
    static const char what[] = "ae_metrics_roc_auc";
    size_t positives;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out is NULL", what);
    int rc = check_input(scores, labels, count, &positives, what);
    if (rc < 0 || (rc = check_both_classes(positives, count, what)) < 0)
        return rc;
    scored *s = sorted_pairs(scores, labels, count);
    if (s == NULL)
        return AE_ERR_NOMEM;
    /* From the highest score down: each anomaly beats every normal sample
     * still below it, and ties with the normal samples of its own group
     * count one half. */
    const size_t negatives = count - positives;
    double wins = 0.0;
    size_t neg_seen = 0;
    for (size_t i = 0; i < count;) {
        size_t p, n;
        next_group(s, count, &i, &p, &n);
        wins += (double)p * ((double)(negatives - neg_seen - n) + 0.5 * (double)n);
        neg_seen += n;
    }
    ae__free(s);
    *out = wins / ((double)positives * (double)negatives);
    return AE_OK;
}

int ae_metrics_pr_auc(double *out, const double *scores, const int32_t *labels, size_t count)
{
    static const char what[] = "ae_metrics_pr_auc";
    size_t positives;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out is NULL", what);
    int rc = check_input(scores, labels, count, &positives, what);
    if (rc < 0 || (rc = check_both_classes(positives, count, what)) < 0)
        return rc;
    scored *s = sorted_pairs(scores, labels, count);
    if (s == NULL)
        return AE_ERR_NOMEM;
    /* Each distinct score t adds (recall gained at t) * precision at t. */
    double ap = 0.0;
    size_t tp = 0, fp = 0;
    for (size_t i = 0; i < count;) {
        size_t p, n;
        next_group(s, count, &i, &p, &n);
        tp += p;
        fp += n;
        if (p > 0)
            ap += ((double)p / (double)positives) * ((double)tp / (double)(tp + fp));
    }
    ae__free(s);
    *out = ap;
    return AE_OK;
}

/* ---- classification ------------------------------------------------------ */

int ae_metrics_argmax(int32_t *classes, const float *scores, size_t count, size_t n_classes)
{
    static const char what[] = "ae_metrics_argmax";
    if (classes == NULL || scores == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         classes == NULL ? "classes" : "scores");
    if (n_classes == 0 || n_classes > INT32_MAX)
        return ae__error(AE_ERR_INVALID, "%s: %zu classes (expected 1 to %d)", what, n_classes,
                         INT32_MAX);
    int rc = ae__check_count(count, n_classes, sizeof(float), "count", what);
    if (rc < 0)
        return rc;
    const size_t total = count * n_classes;
    for (size_t i = 0; i < total; i++)
        if (isnan(scores[i]))
            return ae__error(AE_ERR_INVALID, "%s: score %zu of sample %zu is NaN", what,
                             i % n_classes, i / n_classes);
    for (size_t i = 0; i < count; i++) {
        const float *row = scores + i * n_classes;
        size_t best = 0;
        for (size_t c = 1; c < n_classes; c++)
            if (row[c] > row[best])
                best = c;
        classes[i] = (int32_t)best;
    }
    return AE_OK;
}

static int check_pairs(const int32_t *labels, const int32_t *predicted, size_t count,
                       const char *what)
{
    if (labels == NULL || predicted == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         labels == NULL ? "labels" : "predicted");
    return ae__check_count(count, 1, sizeof(int32_t), "count", what);
}

int ae_metrics_accuracy(double *out, const int32_t *labels, const int32_t *predicted,
                        size_t count)
{
    static const char what[] = "ae_metrics_accuracy";
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out is NULL", what);
    int rc = check_pairs(labels, predicted, count, what);
    if (rc < 0)
        return rc;
    size_t right = 0;
    for (size_t i = 0; i < count; i++)
        right += labels[i] == predicted[i];
    *out = (double)right / (double)count;
    return AE_OK;
}

#define AE_CONFUSION_MAX_CLASSES 65536u

int ae_metrics_confusion(size_t *matrix, const int32_t *labels, const int32_t *predicted,
                         size_t count, size_t n_classes)
{
    static const char what[] = "ae_metrics_confusion";
    if (matrix == NULL)
        return ae__error(AE_ERR_INVALID, "%s: matrix is NULL", what);
    int rc = check_pairs(labels, predicted, count, what);
    if (rc < 0)
        return rc;
    if (n_classes == 0)
        return ae__error(AE_ERR_INVALID, "%s: n_classes is 0", what);
    if (n_classes > AE_CONFUSION_MAX_CLASSES)
        return ae__error(AE_ERR_LIMIT, "%s: %zu classes, at most %u", what, n_classes,
                         AE_CONFUSION_MAX_CLASSES);
    for (size_t i = 0; i < count; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= n_classes || predicted[i] < 0 ||
            (size_t)predicted[i] >= n_classes)
            return ae__error(AE_ERR_INVALID, "%s: sample %zu has label %d and prediction %d; "
                             "classes are 0 to %zu", what, i, (int)labels[i], (int)predicted[i],
                             n_classes - 1);
    memset(matrix, 0, n_classes * n_classes * sizeof *matrix);
    for (size_t i = 0; i < count; i++)
        matrix[(size_t)labels[i] * n_classes + (size_t)predicted[i]]++;
    return AE_OK;
}
