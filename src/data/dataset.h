/* dataset.h - internal dataset access for training and evaluation. */
#ifndef AE_DATA_DATASET_H
#define AE_DATA_DATASET_H

#include "ae/dataset.h"

/* Sample i of the view (no bounds check: callers have checked). */
const float *ae__dataset_row(const ae_dataset *ds, size_t i);

#endif
