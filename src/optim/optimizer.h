/* SPDX-License-Identifier: MIT */
/* optimizer.h - how training drives an optimizer. */
#ifndef AE_OPTIM_OPTIMIZER_H
#define AE_OPTIM_OPTIMIZER_H

#include "ae/optimizer.h"
#include "ae/sys/layer.h"

/*
 * Binds the optimizer to a parameter list (value/grad buffers of a model),
 * allocating its per-parameter state on first use. Binding again to the
 * same list (same count, same value pointers and sizes) keeps the state, so
 * training can continue across ae_model_train() calls. A different list
 * gives AE_ERR_STATE until ae_optimizer_reset().
 */
int ae__optimizer_bind(ae_optimizer *opt, const ae_param_view *params, size_t n);

/* The same, for the model whose id is @p owner (struct ae_model's id):
 * binding again requires the same owner as well, so a new model that
 * happens to get the same parameter addresses is still refused. */
int ae__optimizer_bind_owner(ae_optimizer *opt, uint64_t owner, const ae_param_view *params,
                             size_t n);

/* The same, with frozen[i] != 0 marking tensors of frozen layers (or
 * frozen NULL: none): they get no state buffers and no update, and their
 * grad may be NULL. Binding again requires the same marks. */
int ae__optimizer_bind_frozen(ae_optimizer *opt, uint64_t owner, const ae_param_view *params,
                              size_t n, const unsigned char *frozen);

/* One update of every bound parameter from its gradient. Allocation-free.
 * `spread`: the gradients came from a batch large enough for its layers to
 * run in parts, so the parameters sit in several cores' caches already and
 * the update splits between threads from 16,384 parameters a part;
 * otherwise only from 131,072 (src/optim/optimizer.c). */
void ae__optimizer_step(ae_optimizer *opt, const ae_param_view *params, size_t n, int spread);

/* ---- model files: reading and restoring the whole state ----------------- */

/* The validated options (kind, hyper-parameters, current learning rate). */
const ae_optimizer_options *ae__optimizer_options(const ae_optimizer *opt);

/* State buffers per bound tensor: 0 (SGD without momentum), 1 (SGD
 * velocity) or 2 (Adam/AdamW first and second moments). */
size_t ae__optimizer_buffers(const ae_optimizer *opt);

/* 1 when bound to a parameter list; *n receives its length (0 if not). */
int ae__optimizer_bound(const ae_optimizer *opt, size_t *n);

/* Bound tensor i: the value pointer that identifies it, its float count,
 * and state buffer b (0: velocity or m, 1: v), which is NULL when the
 * optimizer keeps none. The buffers are writable so a loader can restore
 * them after ae__optimizer_bind(). */
void ae__optimizer_tensor(const ae_optimizer *opt, size_t i, const float **value,
                          size_t *count, float **buffer0, float **buffer1);

/* Sets the step count (Adam's bias correction depends on it). */
void ae__optimizer_set_steps(ae_optimizer *opt, uint64_t steps);

#endif
