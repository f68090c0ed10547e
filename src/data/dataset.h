/* SPDX-License-Identifier: MIT */
/* dataset.h - internal dataset access for training and evaluation. */
#ifndef AE_DATA_DATASET_H
#define AE_DATA_DATASET_H

#include "ae/dataset.h"

/* Sample i of the view (no bounds check: callers have checked). */
const float *ae__dataset_row(const ae_dataset *ds, size_t i);

/* What ae__dataset_find() looks for: a value that is not finite, or one
 * outside [0, 1] (NaN included: binary cross-entropy targets). */
enum { AE__DATASET_FINITE, AE__DATASET_UNIT, AE__DATASET_CHECKS };

/*
 * Whether a value of the view fails the check: 1 with the first such
 * value's sample (in view order) and feature, 0 if none does. An owned
 * store (copied or loaded) is scanned once in its life per check, then
 * answers every view of it at once; borrowed memory is scanned at every
 * call.
 */
int ae__dataset_find(const ae_dataset *ds, int check, size_t *sample, size_t *feature);

/*
 * Makes a dataset that takes ownership of @p data (count * shape-size floats)
 * and @p labels (count values, or NULL), both from ae__alloc. On success the
 * dataset frees them; on failure they stay the caller's. The shape must be
 * valid and count within AE_DATASET_MAX_COUNT (AE_ERR_LIMIT otherwise).
 */
int ae__dataset_adopt(ae_dataset **out, float *data, int32_t *labels,
                      size_t count, const ae_shape *shape);

#endif
