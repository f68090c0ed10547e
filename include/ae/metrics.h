/* SPDX-License-Identifier: MIT */
/**
 * @file ae/metrics.h
 * @brief Classification helpers for a head trained on the encoder's code:
 *        the predicted class of each sample, accuracy and the confusion
 *        matrix. Added in 1.1.
 *
 * The binary metrics of anomaly detection (ROC AUC, average precision,
 * rates at a threshold) are in ae/anomaly.h; these are their multi-class
 * counterparts. Classes are 0 .. classes - 1 (Fashion-MNIST's labels are
 * 0 .. 9). All functions are thread-safe: they read their inputs and write
 * only their outputs.
 *
 * @code
 * int32_t pred[10000];
 * ae_metrics_argmax(pred, logits, 10000, 10);       // one row of 10 per sample
 * double acc;
 * ae_metrics_accuracy(&acc, labels, pred, 10000);
 * size_t confusion[10 * 10];                        // row: true class
 * ae_metrics_confusion(confusion, labels, pred, 10000, 10);
 * @endcode
 */
#ifndef AE_METRICS_H
#define AE_METRICS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The class of each of @p count samples: the position of the largest of
 * its @p classes scores (a row of @p scores, such as a softmax head's
 * outputs or logits); of equal largest scores, the first.
 * @param[out] classes  @p count classes, 0 .. @p classes - 1 (untouched
 *                      on failure)
 * @param scores        count * classes floats, row-major, none NaN
 * @param count         samples, >= 1
 * @param n_classes     scores per sample, 1 .. INT32_MAX
 * @return AE_OK, AE_ERR_INVALID (NULL, count or n_classes 0, n_classes
 *         above INT32_MAX, count * n_classes past any buffer, a NaN score:
 *         the message gives its place).
 */
AE_API int ae_metrics_argmax(int32_t *classes, const float *scores, size_t count,
                             size_t n_classes);

/**
 * The share of @p count predictions equal to their labels.
 * @param[out] out    the accuracy, in [0, 1] (untouched on failure)
 * @param labels      @p count true classes
 * @param predicted   @p count predicted classes
 * @param count       samples, >= 1
 * @return AE_OK or AE_ERR_INVALID (NULL, count 0).
 */
AE_API int ae_metrics_accuracy(double *out, const int32_t *labels, const int32_t *predicted,
                               size_t count);

/**
 * The confusion matrix of @p count predictions: entry [t * n_classes + p]
 * counts the samples of true class t predicted as p (rows: true classes,
 * as scikit-learn's confusion_matrix). The diagonal sums to the correct
 * predictions; row t sums to the samples of class t.
 * @param[out] matrix  n_classes * n_classes counts, all written (untouched
 *                     on failure)
 * @param labels       @p count true classes, each 0 .. n_classes - 1
 * @param predicted    @p count predicted classes, each 0 .. n_classes - 1
 * @param count        samples, >= 1
 * @param n_classes    classes, 1 .. 65536
 * @return AE_OK, AE_ERR_INVALID (NULL, count or n_classes 0, a label or
 *         prediction out of range: the message gives its place),
 *         AE_ERR_LIMIT (n_classes above 65536).
 */
AE_API int ae_metrics_confusion(size_t *matrix, const int32_t *labels, const int32_t *predicted,
                                size_t count, size_t n_classes);

#ifdef __cplusplus
}
#endif
#endif /* AE_METRICS_H */
