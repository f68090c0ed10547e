/* SPDX-License-Identifier: MIT */
/* scaler.h - the scaler's internals: what the model, the training loop and
 * the model file (SCAL section) need of it. */
#ifndef AE_DATA_SCALER_H
#define AE_DATA_SCALER_H

#include "ae/scaler.h"
#include "core/core.h"

struct ae_scaler {
    int kind;       /* ae_scaler_kind */
    size_t n;       /* features; 0 until fitted */
    float *shift;   /* n values: mean or minimum */
    float *scale;   /* n values, each > 0 and finite */
};

/* A fitted scaler from its parts (copied); the caller has checked them. */
int ae__scaler_make(ae_scaler **out, int kind, size_t n, const float *shift, const float *scale);

/* out = (x - shift) / scale and its inverse, over count samples of sc->n
 * values; out may be x. No checks. */
void ae__scaler_forward(const ae_scaler *sc, const float *x, size_t count, float *out);
void ae__scaler_inverse(const ae_scaler *sc, const float *x, size_t count, float *out);

/* The model's scaler (NULL when none). */
const ae_scaler *ae__model_scaler(const ae_model *model);

/* When the model has a scaler: *owned = a scaled copy of *data and *data
 * points at it (the caller destroys *owned); otherwise both stay as they
 * are (*owned NULL). */
int ae__model_scale_data(const ae_model *model, const ae_dataset **data, ae_dataset **owned,
                         const char *who);

#endif
