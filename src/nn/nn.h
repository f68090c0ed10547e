/* SPDX-License-Identifier: MIT */
/* nn.h - the layouts behind the encoder, decoder and model handles. */
#ifndef AE_NN_NN_H
#define AE_NN_NN_H

#include "ae/decoder.h"
#include "ae/encoder.h"
#include "ae/model.h"
#include "ae/scaler.h"
#include "net.h"

struct ae_encoder {
    ae__net net;
};

struct ae_decoder {
    ae__net net;
};

struct ae_model {
    uint64_t id;           /* unique in the process: what an optimizer binds to */
    ae_encoder *enc;
    ae_decoder *dec;
    double *history;       /* pairs (train loss, validation loss) per epoch */
    size_t history_len, history_cap;
    ae_scaler *scaler;     /* inputs' scaler (ae/scaler.h), or NULL */
};

/* Reconstruction in the model's own (scaled) units: the chain alone. */
int ae__model_forward(const ae_model *model, const float *x, size_t count, float *xr,
                      const char *who);

/* Appends one epoch to the model's history. */
int ae__model_history_push(ae_model *model, double train_loss, double val_loss);

/* Loss over n floats: returns the mean; writes dL/dpred (for the mean
 * over `scale` elements) into grad when not NULL. */
double ae__loss(int loss, const float *pred, const float *target, size_t n, float *grad,
                double scale);
int ae__loss_valid(int loss);

/* The reconstruction-error kernel of both the training losses and the
 * anomaly scores: the sum over n values of e(pred, target), in double; with
 * grad, grad[i] = g * de/dpred[i]. Squared: d = pred - target in float,
 * eight partial sums in a fixed order (vectorized, the same bits on every
 * ISA). BCE: pred clamped to [1e-7, 1 - 1e-7] (Keras's epsilon). */
enum { AE__RECON_SQUARED, AE__RECON_ABSOLUTE, AE__RECON_BCE };
double ae__recon_sum(int kind, const float *pred, const float *target, size_t n, float *grad,
                     float g);

#endif
