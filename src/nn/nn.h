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
    double *history_terms; /* the layers' loss terms per epoch (in memory
                              only; NaN where unknown), terms_len entries */
    size_t terms_len, terms_cap;
};

/* Reconstruction in the model's own (scaled) units: the chain alone. */
int ae__model_forward(const ae_model *model, const float *x, size_t count, float *xr,
                      const char *who);

/* Appends one epoch to the model's history. */
int ae__model_history_push(ae_model *model, double train_loss, double val_loss);
/* Sets the layers' loss terms of the last epoch pushed. */
int ae__model_history_set_terms(ae_model *model, double terms);

/* Loss over n floats: returns the mean; writes dL/dpred (for the mean
 * over `scale` elements) into grad when not NULL. */
double ae__loss(int loss, const float *pred, const float *target, size_t n, float *grad,
                double scale);
/* MSE or BCE: the losses model files record (training options). */
int ae__loss_valid(int loss);
/* The losses with a built-in formula: MSE, BCE, MAE, softmax CE. */
int ae__loss_known(int loss);
/* ae__loss() for rows of width floats, any known loss (softmax CE sums
 * per row). */
double ae__loss_rows(int loss, const float *pred, const float *target, size_t rows, size_t width,
                     float *grad, double scale);
/* What the loss averages over: rows for softmax CE, rows * width else. */
double ae__loss_norm(int loss, size_t rows, size_t width);
/* AE_ERR_INVALID (message naming who) for a BCE target outside [0, 1]. */
int ae__loss_check_targets(int loss, const float *target, size_t n, const char *who);

/* The reconstruction-error kernel of both the training losses and the
 * anomaly scores: the sum over n values of e(pred, target), in double; with
 * grad, grad[i] = g * de/dpred[i]. Squared: d = pred - target in float,
 * eight partial sums in a fixed order (vectorized, the same bits on every
 * ISA). BCE: pred clamped to [1e-7, 1 - 1e-7] (Keras's epsilon). */
enum { AE__RECON_SQUARED, AE__RECON_ABSOLUTE, AE__RECON_BCE };
double ae__recon_sum(int kind, const float *pred, const float *target, size_t n, float *grad,
                     float g);

#endif
