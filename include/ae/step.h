/* SPDX-License-Identifier: MIT */
/**
 * @file ae/step.h
 * @brief The training step as a handle: forward, loss and backward on a
 *        batch, the gradient buffer, then the optimizer update.
 *
 * ae_model_train() is a loop over this handle; a program that needs its own
 * loop (a custom schedule, an extra loss term, gradients all-reduced across
 * machines) drives it directly:
 *
 * @code
 * ae_step_options so = AE_STEP_OPTIONS_INIT;
 * so.batch_size = 32;
 * ae_step *step;
 * ae_step_create(&step, model, opt, &so);      // sized once
 * for (uint64_t e = 0; e < epochs; e++) {
 *     ae_step_seed(step, seed, e);             // dropout and noise of epoch e
 *     for (size_t i = 0; i + 32 <= n; i += 32) {
 *         double loss;
 *         ae_step_compute(step, x + i * in, y + i * out, 32, &loss);
 *         float *g; size_t ng;
 *         ae_step_gradients(step, &g, &ng);    // e.g. MPI_Allreduce(g, ng)
 *         ae_step_apply(step);
 *     }
 * }
 * ae_step_destroy(step);
 * @endcode
 *
 * A step allocates nothing: every buffer is sized by ae_step_create() for
 * batches of up to batch_size rows. (Outside libae's allocator, once per
 * thread: the first split step starts libae's worker threads,
 * ae_set_num_threads(), and the own GEMM kernels keep one packing buffer
 * per thread, grown to the largest product and freed when the thread
 * ends.) Several ae_step_compute() calls before
 * one ae_step_apply() accumulate: the update uses the mean gradient over
 * all their rows (k batches of b/k rows give the update of one batch of b,
 * within float rounding).
 *
 * Same bits as ae_model_train(): with the same model, optimizer, options
 * and seed, a loop that calls ae_step_seed(step, seed, e) at the start of
 * epoch e (counted over the model's history, ae_model_history_length()),
 * feeds the batches in the order ae_train_order() gives, and calls
 * ae_step_run() on each, leaves bit-identical weights.
 *
 * Extra loss terms: a loss on the outputs is a custom loss (AE_LOSS_CUSTOM
 * and an ae_loss_fn); a layer adds a term of its own through its vtable's
 * loss slot (ae/sys/layer.h); a penalty on the parameters is added to the
 * gradient buffer between ae_step_compute() and ae_step_apply().
 *
 * Thread safety: a step needs its model, its optimizer and itself to
 * itself (no inference or training on the model meanwhile).
 */
#ifndef AE_STEP_H
#define AE_STEP_H

#include "common.h"
#include "model.h"
#include "optimizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque step handle. */
typedef struct ae_step ae_step;

/**
 * A user-supplied loss (AE_LOSS_CUSTOM): the loss of @p count predictions
 * of @p size floats against their targets, and its gradient.
 * @param target     count * size floats (the step's targets)
 * @param pred       count * size floats, the model's outputs
 * @param count      rows in this batch
 * @param size       floats per row (the decoder's output size)
 * @param[out] loss  the batch's loss (reduce it as you like; the mean
 *                   keeps learning rates comparable with the built-in losses)
 * @param[out] grad  count * size floats: d(loss)/d(pred); every value must
 *                   be written
 * @param user       the options' loss_user
 * @return AE_OK, or an ae_status that stops the step (after ae_error_set()).
 */
typedef int (*ae_loss_fn)(const float *target, const float *pred, size_t count, size_t size,
                          double *loss, float *grad, void *user);

/**
 * How a built-in loss reduces over a batch (values pinned; since 1.1).
 */
enum ae_loss_reduction {
    /** The mean over every value of the batch (rows * output size; over
     *  the rows for AE_LOSS_SOFTMAX_CE): the 1.0 behaviour, the default. */
    AE_REDUCE_MEAN = 0,
    /** Summed over each sample's values, the mean over the samples: a
     *  sample's loss in nats per sample (BCE) as papers report a VAE's
     *  negative ELBO, with layers' loss terms (a Gaussian sampling layer's
     *  KL) reduced the same way. Learning rates tuned for the mean see
     *  gradients output-size times larger (Adam adapts to the scale). */
    AE_REDUCE_SUM_PER_SAMPLE = 1
};

/** Step settings. Start from AE_STEP_OPTIONS_INIT. */
typedef struct ae_step_options {
    uint32_t struct_size; /**< sizeof(ae_step_options) */
    uint32_t batch_size;  /**< the most rows one ae_step_compute() takes, >= 1 */
    int loss;             /**< ae_loss */
    ae_loss_fn loss_fn;   /**< with AE_LOSS_CUSTOM (required), else NULL */
    void *loss_user;      /**< passed to loss_fn */
    int noise;            /**< ae_noise applied to the inputs of every
                               compute (the targets stay clean) */
    float noise_amount;   /**< its factor or fraction (ae_noise) */
    float noise_min;      /**< the range Gaussian noise is clipped to and
                               salt and pepper write: [noise_min, noise_max],
                               finite, min < max. Default [0, 1], right for
                               images; give standardised or other data its
                               own range (ae_model_train() uses the training
                               data's by default, see ae_noise_clip) */
    float noise_max;      /**< the range's high end */
    int loss_reduction;   /**< ae_loss_reduction of a built-in loss */
    int reserved;         /**< 0: fills the tail padding, so that the next
                               appended field grows the struct */
} ae_step_options;

/** Defaults: batches of up to 32 rows, MSE (the mean), no noise; a noise
 *  range of [0, 1]. */
#define AE_STEP_OPTIONS_INIT {sizeof(ae_step_options), 32, AE_LOSS_MSE, NULL, NULL, 0, 0.0f, \
                              0.0f, 1.0f, AE_REDUCE_MEAN, 0}

/**
 * Creates a step handle over @p model and @p opt: sizes every buffer for
 * batches of up to batch_size rows and binds @p opt to the model's
 * parameters (frozen layers' get no optimizer state). Change no layer's
 * trainability while the handle lives.
 * @param[out] out  the handle (untouched on failure); free it with
 *                  ae_step_destroy() before the model or the optimizer
 * @param model     the model it trains (kept, not owned)
 * @param opt       the optimizer (kept, not owned), unbound or bound to
 *                  @p model
 * @param opts      the settings, or NULL for the defaults (read during the
 *                  call only)
 * @return AE_OK, AE_ERR_INVALID (NULL, batch_size 0, unknown loss, custom
 *         loss without loss_fn, loss_fn without AE_LOSS_CUSTOM, bad noise,
 *         an unknown loss_reduction, struct_size too small), AE_ERR_VERSION (a newer struct setting
 *         fields this library does not know), AE_ERR_STATE (the optimizer
 *         is bound to another model or to other trainable layers),
 *         AE_ERR_UNSUPPORTED (a layer that must be differentiated has no
 *         backward()), AE_ERR_LIMIT (the buffers overflow the address
 *         space), AE_ERR_NOMEM.
 */
AE_API int ae_step_create(ae_step **out, ae_model *model, ae_optimizer *opt,
                          const ae_step_options *opts);

/**
 * Frees a step handle (not its model nor its optimizer).
 * @param step  the handle, or NULL (a no-op)
 */
AE_API void ae_step_destroy(ae_step *step);

/**
 * Reseeds the step's randomness (dropout and other training-time layer
 * randomness, and the noise) as ae_model_train() seeds it for epoch
 * @p epoch with @p seed. A new handle starts as after
 * ae_step_seed(step, 0, 0).
 * @param step   the handle
 * @param seed   the training seed
 * @param epoch  the epoch, counted over the model's history
 * @return AE_OK or AE_ERR_INVALID (NULL).
 */
AE_API int ae_step_seed(ae_step *step, uint64_t seed, uint64_t epoch);

/**
 * Forward pass, loss and backward pass on @p count rows: the gradient of
 * this batch joins the pending one (see ae_step_apply()). The weights do not
 * change.
 * @param step       the handle
 * @param x          count * input size floats (corrupted by the step's
 *                   noise, when set, in a buffer of its own)
 * @param target     count * output size floats, or NULL to use @p x (an
 *                   autoencoder; then input and output sizes must agree).
 *                   BCE targets must lie in [0, 1]
 * @param count      rows, 1 .. batch_size
 * @param[out] loss  the batch's loss (the loss function's value plus the
 *                   layers' loss terms), or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0 or above batch_size, a BCE
 *         target outside [0, 1], AE_LOSS_SOFTMAX_CE targets needing labels:
 *         see ae_step_compute_labels()), AE_ERR_SHAPE (target NULL with
 *         different input and output sizes), AE_ERR_NUMERIC (the loss is
 *         NaN or infinite: nothing joins the pending gradient), or what a
 *         layer or the custom loss returns. After an error the pending
 *         gradient is dropped.
 */
AE_API int ae_step_compute(ae_step *step, const float *x, const float *target, size_t count,
                           double *loss);

/**
 * ae_step_compute() against integer class labels: the target of row i is
 * the one-hot vector of @p labels[i] (for AE_LOSS_SOFTMAX_CE heads; any
 * loss takes them).
 * @param step       the handle
 * @param x          count * input size floats
 * @param labels     count labels, each in 0 .. output size - 1
 * @param count      rows, 1 .. batch_size
 * @param[out] loss  the batch's loss, or NULL
 * @return as ae_step_compute(), and AE_ERR_INVALID for a label out of range.
 */
AE_API int ae_step_compute_labels(ae_step *step, const float *x, const int32_t *labels,
                                  size_t count, double *loss);

/**
 * The pending gradient as ONE contiguous buffer: the mean gradient of the
 * loss over every row computed since the last apply, for the trainable
 * parameters (ae_model_trainable_count() floats: the parameter tensors of
 * the trainable layers, in tensor order, one after the other). Change it in
 * place (clip, scale, add a penalty's gradient, all-reduce it across
 * machines): ae_step_apply() uses what it holds then.
 * @param step        the handle, after ae_step_compute()
 * @param[out] grad   the buffer (owned by the step, valid until it is
 *                    destroyed)
 * @param[out] count  its floats, or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL step or grad) or AE_ERR_STATE
 *         (nothing computed since the last apply).
 */
AE_API int ae_step_gradients(ae_step *step, float **grad, size_t *count);

/**
 * Scales the pending gradient down so that its global L2 norm is at most
 * @p max_norm (PyTorch's clip_grad_norm_).
 * @param step        the handle, after ae_step_compute()
 * @param max_norm    finite, > 0
 * @param[out] norm   the norm before clipping, or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL, max_norm not finite or <= 0),
 *         AE_ERR_STATE (nothing computed), AE_ERR_NUMERIC (the norm is
 *         NaN or infinite; the gradient is left as it is).
 */
AE_API int ae_step_clip(ae_step *step, float max_norm, double *norm);

/**
 * Updates the trainable parameters with the optimizer from the pending
 * gradient, then clears it.
 * @param step  the handle, after ae_step_compute()
 * @return AE_OK, AE_ERR_INVALID (NULL) or AE_ERR_STATE (nothing
 *         computed since the last apply).
 */
AE_API int ae_step_apply(ae_step *step);

/**
 * Drops the pending gradient without an update (a skipped batch).
 * @param step  the handle
 * @return AE_OK or AE_ERR_INVALID (NULL).
 */
AE_API int ae_step_discard(ae_step *step);

/**
 * One whole step: ae_step_compute() then ae_step_apply().
 * @param step       the handle, with no pending gradient
 * @param x          as ae_step_compute()
 * @param target     as ae_step_compute()
 * @param count      as ae_step_compute()
 * @param[out] loss  as ae_step_compute()
 * @return as ae_step_compute(), and AE_ERR_STATE (a gradient was already
 *         pending).
 */
AE_API int ae_step_run(ae_step *step, const float *x, const float *target, size_t count,
                       double *loss);

/**
 * The layers' loss terms in the loss of the last ae_step_compute() (a
 * Gaussian sampling layer's beta * KL): the loss it gave is the loss
 * function's value plus this.
 * @param step        the handle
 * @param[out] terms  their sum (0 when no layer has a term)
 * @return AE_OK, AE_ERR_INVALID (NULL) or AE_ERR_STATE (no compute yet).
 */
AE_API int ae_step_loss_terms(const ae_step *step, double *terms);

/**
 * The model's outputs of the last ae_step_compute() (for metrics such as
 * accuracy without another forward pass).
 * @param step       the handle
 * @param[out] pred  rows * output size floats, owned by the step and valid
 *                   until the next compute
 * @param[out] rows  the rows of that compute, or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL) or AE_ERR_STATE (no compute yet).
 */
AE_API int ae_step_output(const ae_step *step, const float **pred, size_t *rows);

/**
 * The sample order ae_model_train() uses in epoch @p epoch (counted over
 * the model's history) with @p seed: a permutation of 0 .. count - 1, or
 * the identity without shuffling.
 * @param[out] order  count indices
 * @param count       samples, >= 1
 * @param seed        the training seed
 * @param epoch       the epoch
 * @param shuffle     1 to shuffle, 0 for the identity
 * @return AE_OK or AE_ERR_INVALID (NULL, count 0, shuffle not 0 or 1).
 */
AE_API int ae_train_order(size_t *order, size_t count, uint64_t seed, uint64_t epoch,
                          int shuffle);

#ifdef __cplusplus
}
#endif
#endif /* AE_STEP_H */
