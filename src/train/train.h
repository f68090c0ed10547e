/* SPDX-License-Identifier: MIT */
/* train.h - what the training loop (train.c) uses of the step handle
 * (step.c) besides its public API. */
#ifndef AE_TRAIN_TRAIN_H
#define AE_TRAIN_TRAIN_H

#include "ae/step.h"

/* ae_step_create() for options already read and defaulted; errors name who. */
int ae__step_create(ae_step **out, ae_model *model, ae_optimizer *opt, const ae_step_options *o,
                    const char *who);
/* The checks both take: noise, batch_size, loss and loss_fn. */
int ae__step_check(uint32_t batch_size, int loss, ae_loss_fn loss_fn, int noise, float amount,
                   int reduction, int reserved, const char *who);
/* The layers' loss terms of the last compute. */
double ae__step_terms(const ae_step *s);
/* Forward, loss, backward on rows checked by the caller (target not NULL,
 * rows 1 .. batch_size); *loss is the batch loss even when it is not
 * finite (then AE_ERR_NUMERIC without a message). */
int ae__step_compute(ae_step *s, const float *x, const float *target, size_t rows, double *loss);
/* One-hot rows of labels into the step's target buffer (returned by
 * ae__step_onehot_buffer()); AE_ERR_INVALID for a label out of range. */
int ae__step_onehot(ae_step *s, const int32_t *labels, size_t rows, const char *who);
const float *ae__step_onehot_buffer(const ae_step *s);

/* The range the step's noise is clipped to (and salt and pepper write):
 * [0, 1] until set; ae_model_train() sets the one of ae_noise_clip. */
void ae__step_noise_range(ae_step *s, float lo, float hi);
/* 1 when every parameter is finite. */
int ae__step_params_finite(const ae_step *s);
/* The bound parameter list (every parameter tensor, in tensor order). */
const ae_param_view *ae__step_params(const ae_step *s, size_t *n);
/* Spare floats after the flat gradient: what the training loop's one
 * reduction per step carries besides the gradient (dist.c). */
#define AE__STEP_EXTRA 4
/* The flat gradient for a reduction, with AE__STEP_EXTRA spare floats after
 * its *n: the pending gradient gathered, zeros when nothing is pending;
 * *rows the pending rows. ae__step_reduced() then makes what it holds the
 * pending gradient (also on a step that computed nothing). */
float *ae__step_reduce_buffer(ae_step *s, size_t *n, size_t *rows);
void ae__step_reduced(ae_step *s);
/* ae_train_order() without the checks. */
void ae__train_order(size_t *order, size_t count, uint64_t seed, uint64_t epoch, int shuffle);

#endif
