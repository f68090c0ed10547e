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

/* One update of every bound parameter from its gradient. Allocation-free. */
void ae__optimizer_step(ae_optimizer *opt, const ae_param_view *params, size_t n);

#endif
