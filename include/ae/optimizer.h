/* SPDX-License-Identifier: MIT */
/**
 * @file ae/optimizer.h
 * @brief Optimizers: SGD (momentum, Nesterov), Adam and AdamW.
 *
 * An optimizer keeps per-parameter state (moments). It binds to the first
 * model it trains and refuses another one until ae_optimizer_reset(). Not
 * thread-safe: one training at a time per optimizer.
 *
 * Update rules, per float (g = gradient of the mean loss, wd = weight_decay,
 * t = step number from 1; the state, v for SGD and m, v for Adam, starts
 * at 0; these are PyTorch's torch.optim.SGD (dampening 0), Adam and AdamW):
 * - SGD:   g += wd*w; v = momentum*v + g; w -= lr * (nesterov ? g + momentum*v : v)
 *          (so the first step has v = g; momentum 0 is plain SGD, w -= lr*g)
 * - Adam:  g += wd*w; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
 *          w -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
 * - AdamW: w *= 1 - lr*wd first (decoupled decay), then the Adam step
 *          without the g += wd*w
 * The bias corrections are computed in double once per step; the rest in
 * float.
 */
#ifndef AE_OPTIMIZER_H
#define AE_OPTIMIZER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque optimizer handle. */
typedef struct ae_optimizer ae_optimizer;

/** Optimizer kinds (values pinned). */
enum ae_optimizer_kind {
    /** Stochastic gradient descent, optionally with (Nesterov) momentum
     *  and L2 weight decay. */
    AE_OPT_SGD = 0,
    /** Adam (Kingma & Ba), L2 weight decay added to the gradient. */
    AE_OPT_ADAM = 1,
    /** AdamW (Loshchilov & Hutter): Adam with decoupled weight decay. */
    AE_OPT_ADAMW = 2
};

/** Optimizer hyper-parameters. Start from AE_OPTIMIZER_OPTIONS_INIT, then
 *  ae_optimizer_options_default() for another kind's defaults. */
typedef struct ae_optimizer_options {
    uint32_t struct_size; /**< sizeof(ae_optimizer_options) */
    int kind;             /**< ae_optimizer_kind */
    float learning_rate;  /**< > 0 */
    float momentum;       /**< SGD: in [0, 1) */
    int nesterov;         /**< SGD: 1 for Nesterov momentum (needs momentum > 0) */
    float beta1;          /**< Adam/AdamW: in [0, 1) */
    float beta2;          /**< Adam/AdamW: in [0, 1) */
    float epsilon;        /**< Adam/AdamW: > 0 */
    float weight_decay;   /**< >= 0: L2 for SGD/Adam, decoupled for AdamW */
} ae_optimizer_options;

/** Adam with Keras's defaults (lr 1e-3, betas 0.9/0.999, eps 1e-7). */
#define AE_OPTIMIZER_OPTIONS_INIT \
    {sizeof(ae_optimizer_options), AE_OPT_ADAM, 1e-3f, 0.0f, 0, 0.9f, 0.999f, \
     1e-7f, 0.0f}

/**
 * Fills @p opts with the defaults of @p kind: SGD lr 0.01, no momentum;
 * Adam lr 1e-3, betas 0.9/0.999, eps 1e-7 (Keras; PyTorch uses 1e-8);
 * AdamW the same with weight_decay 0.01 (PyTorch). Thread-safe.
 * @code
 * ae_optimizer_options o = AE_OPTIMIZER_OPTIONS_INIT;   // sets struct_size
 * ae_optimizer_options_default(&o, AE_OPT_SGD);
 * o.momentum = 0.9f;
 * @endcode
 * @param[in,out] opts  its struct_size set by the caller (the _INIT macro);
 *                   the fields both sides know are written and struct_size
 *                   becomes their size (untouched on failure)
 * @param kind       ae_optimizer_kind
 * @return AE_OK or AE_ERR_INVALID (NULL, struct_size smaller than the 1.0
 *         layout, unknown kind).
 */
AE_API int ae_optimizer_options_default(ae_optimizer_options *opts, int kind);

/** @cond AE_INTERNAL */
AE_API int ae_optimizer_create_v(ae_optimizer **out,
                                 const ae_optimizer_options *opts,
                                 unsigned header_version);
/** @endcond */

/**
 * Creates an optimizer. @p opts NULL means AE_OPTIMIZER_OPTIONS_INIT.
 * Only the fields the kind uses are checked (SGD: learning_rate, momentum,
 * nesterov, weight_decay; Adam/AdamW: learning_rate, betas, epsilon,
 * weight_decay). The optimizer is not bound to a model until its first
 * ae_model_train(). Thread-safe (it shares nothing).
 *
 * Macro arguments: (out, opts):
 * - @p out (ae_optimizer **): receives the optimizer (untouched on
 *   failure). The caller owns it: free it with ae_optimizer_destroy().
 * - @p opts (const ae_optimizer_options *): the hyper-parameters, copied
 *   (not kept); NULL means AE_OPTIMIZER_OPTIONS_INIT.
 *
 * @return AE_OK, AE_ERR_INVALID (NULL out, struct_size too small, an
 *         unknown kind, a hyper-parameter out of range, named in the detail
 *         message), AE_ERR_NOMEM or AE_ERR_VERSION (headers of another
 *         major version, or a newer struct setting fields this library
 *         does not know).
 */
#define ae_optimizer_create(...) ae_optimizer_create_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Frees an optimizer and its state. The model it was bound to is not
 * affected. Not while it trains.
 * @param opt  the optimizer, or NULL (a no-op)
 */
AE_API void ae_optimizer_destroy(ae_optimizer *opt);

/**
 * Sets the learning rate used from the next step on (between epochs, from a
 * progress callback, or between ae_model_train() calls).
 * @param opt            the optimizer
 * @param learning_rate  finite and > 0
 * @return AE_OK or AE_ERR_INVALID (NULL, lr not finite or <= 0).
 */
AE_API int ae_optimizer_set_learning_rate(ae_optimizer *opt, float learning_rate);

/**
 * The current learning rate.
 * @param opt  the optimizer, or NULL
 * @return the learning rate, 0 for NULL.
 */
AE_API float ae_optimizer_learning_rate(const ae_optimizer *opt);

/**
 * Number of steps taken since creation or the last reset (restored by
 * ae_file_load_optimizer()).
 * @param opt  the optimizer, or NULL
 * @return the step count, 0 for NULL.
 */
AE_API uint64_t ae_optimizer_steps(const ae_optimizer *opt);

/**
 * Forgets the moments, the step count and the bound model: the next
 * ae_model_train() binds it to whatever model it trains. The
 * hyper-parameters (the learning rate included) are kept.
 * @param opt  the optimizer, or NULL (a no-op)
 */
AE_API void ae_optimizer_reset(ae_optimizer *opt);

#ifdef __cplusplus
}
#endif
#endif /* AE_OPTIMIZER_H */
