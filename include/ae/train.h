/* SPDX-License-Identifier: MIT */
/**
 * @file ae/train.h
 * @brief Training a model with an optimizer on a dataset of <X, X> pairs.
 *
 * @code
 * ae_train_options to = AE_TRAIN_OPTIONS_INIT;
 * to.epochs = 10; to.batch_size = 32; to.seed = 1;
 * rc = ae_model_train(model, opt, train, &to);
 * @endcode
 *
 * Determinism: with the same seed, data, options and thread count, training
 * gives bit-identical weights.
 *
 * Thread safety: ae_model_train() needs the model and the optimizer to
 * itself (no inference, save or other training on either meanwhile); the
 * datasets are only read. ae_noise_apply() shares nothing; the history
 * getters only read the model.
 */
#ifndef AE_TRAIN_H
#define AE_TRAIN_H

#include "common.h"
#include "dataset.h"
#include "model.h"
#include "optimizer.h"
#include "step.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Progress events. */
enum ae_progress_event {
    AE_PROGRESS_BATCH = 0, /**< after each optimizer step */
    AE_PROGRESS_EPOCH = 1  /**< after each epoch (and its validation) */
};

/** What a progress callback is told. Read fields only up to struct_size. */
typedef struct ae_progress {
    uint32_t struct_size; /**< sizeof(ae_progress) as filled by the library */
    int event;            /**< ae_progress_event */
    uint32_t epoch;       /**< 0-based epoch of this ae_model_train() call */
    uint32_t epochs;      /**< epochs in this call */
    size_t batch;         /**< 0-based batch within the epoch (batch events);
                               batches done (epoch events) */
    size_t batches;       /**< batches per epoch */
    double loss;          /**< mean training loss of the epoch so far */
    double val_loss;      /**< validation loss (epoch events with a
                               validation set), NaN otherwise */
    double seconds;       /**< wall time since this call started */
    /* Appended in 1.1. */
    size_t samples;       /**< samples done in this epoch (batch events), or
                               per epoch (epoch events) */
    size_t samples_per_epoch; /**< samples in an epoch */
    float learning_rate;  /**< the optimizer's learning rate in this epoch */
    int32_t best_epoch;   /**< 0-based epoch of this call with the lowest
                               monitored loss so far (validation loss, or
                               training loss without validation); -1 before
                               the first epoch ends */
} ae_progress;

/**
 * Progress callback. Return 0 to go on, anything else to stop training with
 * AE_ERR_CANCELLED (the weights keep the last completed step). It may call
 * ae_optimizer_set_learning_rate() on the optimizer being used.
 */
typedef int (*ae_progress_fn)(const ae_progress *progress, void *user);

/**
 * Corruption models for denoising training (values pinned). Training with
 * noise feeds the model corrupted inputs x' and compares its output with
 * the clean x: the loss is L(D(E(x')), x).
 */
enum ae_noise {
    AE_NOISE_NONE = 0,        /**< no corruption (a plain autoencoder) */
    AE_NOISE_GAUSSIAN = 1,    /**< x' = clip(x + amount * N(0, 1), lo, hi): the
                                   additive noise of the denoising tutorial
                                   (amount is the noise factor, e.g. 0.2);
                                   [lo, hi] is the clipping range (see
                                   ae_noise_clip; [0, 1] in ae_noise_apply()) */
    AE_NOISE_MASKING = 2,     /**< each value set to 0 with probability amount */
    AE_NOISE_SALT_PEPPER = 3  /**< each value replaced with probability amount
                                   by lo or hi (even odds; 0 or 1 in
                                   ae_noise_apply()) */
};

/**
 * Where training's noise is clipped (ae_train_options.noise_clip, values
 * pinned). Added in 1.1. The default follows the data: Gaussian noise is
 * clipped to the training data's own smallest and largest value (after the
 * model's scaler, if it has one), and salt-and-pepper writes those two
 * values. On images in [0, 1] that is [0, 1], as in 1.0; on standardised
 * tables it keeps the negative values a [0, 1] clip would wipe out.
 */
enum ae_noise_clip {
    AE_NOISE_CLIP_DATA = 0,  /**< [min, max] of the training data (default) */
    AE_NOISE_CLIP_RANGE = 1, /**< [noise_min, noise_max] of the options */
    AE_NOISE_CLIP_NONE = 2   /**< Gaussian noise unclipped (salt and pepper
                                  still use the data's min and max) */
};

/** Learning-rate schedules (values pinned). lr0 is the optimizer's rate
 *  when the call begins; e the epoch of the call, from 0; E its epochs. */
enum ae_lr_schedule {
    AE_LR_CONSTANT = 0, /**< lr0 throughout (the progress callback may change it) */
    AE_LR_STEP = 1,     /**< lr0 * lr_factor^floor(e / lr_step_epochs) */
    AE_LR_COSINE = 2,   /**< lr0 * (e + 1) / (W + 1) for e < W = lr_warmup_epochs,
                             then lr_min + (lr0 - lr_min) (1 + cos(pi (e - W) / (E - W))) / 2 */
    AE_LR_PLATEAU = 3   /**< lr times lr_factor (not below lr_min) after
                             lr_step_epochs epochs without an improvement of
                             the monitored loss by more than min_delta */
};

/** What an ae_model_train() call did (ae_train_options.result). */
typedef struct ae_train_result {
    uint32_t struct_size;  /**< sizeof(ae_train_result) as compiled by the caller */
    uint32_t epochs_run;   /**< epochs completed by this call */
    int32_t best_epoch;    /**< 0-based epoch of this call with the lowest
                                monitored loss; -1 when none completed */
    double best_loss;      /**< that loss (NaN when none) */
    int stopped_early;     /**< 1 when early stopping ended the call */
    int restored;          /**< 1 when the best epoch's weights were put back */
    float learning_rate;   /**< the optimizer's rate at the end */
} ae_train_result;

/** Initializer: struct_size set, the rest zero. */
#define AE_TRAIN_RESULT_INIT {sizeof(ae_train_result), 0, 0, 0.0, 0, 0, 0.0f}

/**
 * Gradient hook (ae_train_options.gradient_hook): called by ae_model_train()
 * before every update, after the batches of that update were computed.
 * Return 0 to go on, anything else to stop with AE_ERR_CANCELLED.
 */
typedef int (*ae_gradient_fn)(ae_step *step, void *user);

struct ae_collective;

/** Training options. Start from AE_TRAIN_OPTIONS_INIT. */
typedef struct ae_train_options {
    uint32_t struct_size;         /**< sizeof(ae_train_options) */
    uint32_t epochs;              /**< passes over the data; 0 does nothing */
    uint32_t batch_size;          /**< >= 1; the last batch may be smaller */
    uint64_t seed;                /**< drives shuffling */
    int loss;                     /**< ae_loss */
    int shuffle;                  /**< 1: reshuffle every epoch (default) */
    const ae_dataset *validation; /**< evaluated after every epoch, or NULL */
    ae_progress_fn progress;      /**< or NULL */
    void *progress_user;          /**< passed to progress */
    /* Appended in 0.1 (denoising). */
    int noise;                    /**< ae_noise applied to each training batch,
                                       fresh every step: drawn from a generator
                                       seeded with (seed, epoch), epochs counted
                                       over the model's history */
    float noise_amount;           /**< the noise's factor or fraction (see ae_noise) */
    /* Appended in 1.1 (open training). */
    ae_loss_fn loss_fn;           /**< with loss AE_LOSS_CUSTOM (required then), else NULL */
    void *loss_user;              /**< passed to loss_fn */
    const ae_dataset *validation_targets; /**< ae_model_train_pairs(): the
                                       targets of the validation set (same
                                       count); NULL when training on labels
                                       (the validation set's labels are used) */
    uint32_t patience;            /**< early stopping: stop after this many
                                       epochs without an improvement of the
                                       monitored loss (validation loss, else
                                       training loss) by more than min_delta;
                                       0: never stop early */
    float min_delta;              /**< the least decrease that counts, >= 0 */
    int restore_best;             /**< 1: at the end, put back the weights (and
                                       optimizer state) of the epoch with the
                                       lowest monitored loss; 0: keep the last */
    int lr_schedule;              /**< ae_lr_schedule, set at every epoch's
                                       start from the rate the optimizer had
                                       when the call began */
    uint32_t lr_step_epochs;      /**< AE_LR_STEP: epochs between decays;
                                       AE_LR_PLATEAU: epochs without
                                       improvement before a cut; >= 1 */
    float lr_factor;              /**< AE_LR_STEP, AE_LR_PLATEAU: the factor, in (0, 1) */
    uint32_t lr_warmup_epochs;    /**< AE_LR_COSINE: epochs of linear warm-up */
    float lr_min;                 /**< AE_LR_COSINE: the rate the cosine
                                       falls towards (reached at epoch E, one
                                       past the last: the last epoch's rate
                                       is a little above it, as with
                                       PyTorch's CosineAnnealingLR and
                                       T_max = E - W);
                                       AE_LR_PLATEAU: the floor; >= 0 */
    float clip_norm;              /**< > 0: clip each update's gradient to this
                                       global L2 norm (ae_step_clip()); 0: no */
    uint32_t accumulate;          /**< one update per this many batches (their
                                       mean gradient); 0 or 1: every batch */
    int validation_noise;         /**< 1: with noise, corrupt the validation
                                       inputs too (with the training noise,
                                       the same every epoch, seeded by seed)
                                       and compare with the clean ones: the
                                       validation loss measures denoising */
    ae_gradient_fn gradient_hook; /**< or NULL: called before every update
                                       with the step handle (read or change
                                       ae_step_gradients(): an all-reduce,
                                       a penalty), before clipping */
    void *gradient_user;          /**< passed to gradient_hook */
    ae_train_result *result;      /**< or NULL: what the call did, filled
                                       (up to its struct_size) on return,
                                       also after a failure */
    /* Appended in 1.1 (distributed training, ae/dist.h). */
    int collective_flags;         /**< ae_dist_flag bits (0: MPI's own
                                       all-reduce, per-rank batch-norm
                                       statistics); 0 without a collective */
    const struct ae_collective *collective; /**< or NULL: train as one of
                                       collective->size ranks, each passing
                                       the same dataset; batch_size is the
                                       global batch (a multiple of the
                                       size); see ae/dist.h */
    /* Appended in 1.1 (noise range). */
    int noise_clip;               /**< ae_noise_clip: the noise's range; default
                                       AE_NOISE_CLIP_DATA, the training data's
                                       min and max */
    float noise_min;              /**< with AE_NOISE_CLIP_RANGE: the low end */
    float noise_max;              /**< with AE_NOISE_CLIP_RANGE: the high end
                                       (finite, > noise_min) */
    /* Appended in 1.1 (variational autoencoders). */
    int loss_reduction;           /**< ae_loss_reduction (ae/step.h) of a
                                       built-in loss, for the training and the
                                       validation loss: AE_REDUCE_MEAN (the
                                       default) or AE_REDUCE_SUM_PER_SAMPLE
                                       (nats per sample: a VAE's negative ELBO) */
} ae_train_options;

/** Defaults: 10 epochs, batch 32, seed 0, MSE, shuffled, no validation,
 *  no noise; no early stopping, a constant learning rate, no clipping, one
 *  update per batch; noise clipped to the training data's range. */
#define AE_TRAIN_OPTIONS_INIT \
    {sizeof(ae_train_options), 10, 32, 0, AE_LOSS_MSE, 1, NULL, NULL, NULL, \
     AE_NOISE_NONE, 0.0f, \
     NULL, NULL, NULL, 0, 0.0f, 0, AE_LR_CONSTANT, 10, 0.5f, 0, 0.0f, 0.0f, 1, 0, \
     NULL, NULL, NULL, 0, NULL, AE_NOISE_CLIP_DATA, 0.0f, 1.0f, AE_REDUCE_MEAN}

/**
 * Trains @p model on @p data (inputs are also the targets; with noise the
 * clean inputs are the targets) with @p opt.
 * The model keeps a per-epoch history across calls (ae_model_history_get()).
 * The first call binds @p opt to @p model (see ae/optimizer.h). The
 * progress callback runs on the calling thread. Training compares sizes,
 * not shapes: a {1, 28, 28} dataset trains a {784} model.
 *
 * Before the first step the training data and the validation set are
 * scanned: a NaN or an infinity in them gives AE_ERR_NUMERIC naming the set,
 * the sample and the feature, and nothing is trained. A dataset that holds
 * its own copy of the samples (copied or loaded) is scanned once in its
 * life, for all its views; borrowed memory (AE_DATASET_BORROW) at every
 * call.
 *
 * Divergence. Training stops with AE_ERR_NUMERIC when
 * - a batch's loss is NaN or infinite, or a weight is NaN or infinite at
 *   the end of an epoch; or
 * - a batch's loss is more than 1e6 times the lowest batch loss of this
 *   call so far (an outlier such as 1e30 in the data, an exploding step);
 *   or
 * - an epoch's mean loss is more than 100 times the lowest of this call's
 *   starting loss (its first batch, before any update) and the epoch means
 *   of this call so far (too high a learning rate, also one set from the
 *   progress callback).
 * In both cases the loss must also be above the call's starting loss: a
 * loss still under where the call began is not divergence, however low the
 * best loss was (a classifier head that fits a few labels to 0.001 and then
 * meets an epoch at 0.5, having started at 2.3, trains on). (In both ratios
 * the lowest loss counts as at least 1e-12, so a batch that happens to fit
 * exactly does not make rounding look like growth.)
 * The message names the epoch, the batch and the losses compared.
 *
 * After AE_ERR_NUMERIC the model (parameters and layer state such as batch
 * normalization's running statistics) and the optimizer (its buffers and
 * step count) are put back as they were at the end of the last completed
 * epoch, i.e. where the history ends (at the start of the call when no
 * epoch completed): the weights are finite, the model can be saved, and
 * training can go on with a lower learning rate. This costs one copy of
 * the parameters, layer state and optimizer buffers per call, refreshed
 * at the start of every epoch. Any other failure after the first step
 * leaves the model with the steps and the epochs (history) completed so
 * far, and the optimizer with its state and step count.
 *
 * @param model  the model to train (changed; nothing is kept after return)
 * @param opt    the optimizer, unbound or bound to @p model
 * @param data   the training samples (only read, not kept); raw units
 *               when the model has a scaler (ae/scaler.h), which training
 *               applies to them and to the validation set
 * @param opts   the settings, read during the call only (the validation set
 *               and the callback are not kept either)
 * @return AE_OK (with epochs 0, after the checks, without training);
 *         AE_ERR_INVALID (NULL, batch 0, unknown loss, shuffle not 0 or 1,
 *         unknown noise or a bad noise_amount, an unknown noise_clip or a
 *         noise_min/noise_max pair that is not finite and increasing,
 *         struct_size too small;
 *         AE_LOSS_CUSTOM without loss_fn or the reverse, or with a
 *         validation set; a BCE target outside [0, 1]; min_delta, lr_min
 *         or clip_norm negative or not finite; restore_best or
 *         validation_noise not 0 or 1; an unknown lr_schedule, a step or
 *         plateau schedule without lr_step_epochs >= 1 and lr_factor in
 *         (0, 1), a cosine warm-up of every epoch; result->struct_size
 *         too small);
 *         AE_ERR_VERSION (a newer options struct setting fields this
 *         library does not know);
 *         AE_ERR_SHAPE (sample size is not the model's input or output
 *         size, or the validation set's differs); AE_ERR_STATE (the
 *         optimizer is bound to another model, or to other trainable
 *         layers: ae_optimizer_reset()); AE_ERR_UNSUPPORTED (a layer that
 *         must be differentiated, at or behind the first trainable one, has
 *         no backward()); AE_ERR_NUMERIC (NaN/Inf in the data,
 *         before any step; or divergence as defined above: the message names
 *         the epoch and batch, and the model is back at the last completed
 *         epoch); AE_ERR_CANCELLED (the progress callback or the
 *         gradient hook asked to stop);
 *         AE_ERR_LIMIT (a batch's buffers overflow the address space);
 *         AE_ERR_NOMEM; or what a custom layer's forward() or backward()
 *         returns. With a collective also AE_ERR_INVALID (a bad
 *         collective or flags, flags without a collective, batch_size not a
 *         multiple of the ranks), AE_ERR_STATE (the ranks' models have
 *         different history lengths), AE_ERR_IO (a collective failed, or
 *         another rank failed in the same step: every rank stops there).
 */
AE_API int ae_model_train(ae_model *model, ae_optimizer *opt,
                          const ae_dataset *data, const ae_train_options *opts);

/**
 * Trains @p model on pairs: the model maps each input to its target (a
 * denoiser fed with your own corruptions, a new head on a trained encoder,
 * a decoder of another output size). With @p targets NULL it trains on the
 * inputs' labels instead: the target of a sample is the one-hot vector of
 * its label (use AE_LOSS_SOFTMAX_CE and a decoder ending in one score per
 * class, identity activation). Everything else is as ae_model_train();
 * validation takes opts->validation with opts->validation_targets (or the
 * validation set's labels when @p targets is NULL).
 * @param model    the model to train (changed)
 * @param opt      the optimizer, unbound or bound to @p model
 * @param inputs   samples of the model's input size (only read)
 * @param targets  as many samples of the model's output size, or NULL to
 *                 train on the labels of @p inputs (only read)
 * @param opts     the settings, as ae_model_train()
 * @return as ae_model_train(), and AE_ERR_SHAPE (counts differ, a target
 *         is not the model's output size), AE_ERR_STATE (no targets and
 *         no labels), AE_ERR_INVALID (a label outside 0 .. output size - 1,
 *         a validation set without validation_targets, validation_noise).
 */
AE_API int ae_model_train_pairs(ae_model *model, ae_optimizer *opt, const ae_dataset *inputs,
                                const ae_dataset *targets, const ae_train_options *opts);

/**
 * The mean loss of the model over inputs against targets (reduction as in
 * ae_loss), in batches; with @p targets NULL against the one-hot vectors
 * of the inputs' labels. Thread-safe like ae_model_reconstruct().
 * @param model          the model (only read)
 * @param inputs         samples of its input size (only read)
 * @param targets        as many samples of its output size, or NULL for
 *                       the labels of @p inputs
 * @param loss           ae_loss (not AE_LOSS_CUSTOM)
 * @param[out] out_loss  the mean loss (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, unknown or custom loss, empty,
 *         a label out of range, a BCE target outside [0, 1]), AE_ERR_SHAPE
 *         (sizes or counts differ), AE_ERR_STATE (no targets, no labels),
 *         AE_ERR_NOMEM, or what a custom layer's forward() returns.
 */
AE_API int ae_model_evaluate_pairs(const ae_model *model, const ae_dataset *inputs,
                                   const ae_dataset *targets, int loss, double *out_loss);

/**
 * A progress callback that prints: pass it as ae_train_options.progress
 * with the FILE * to write to as progress_user (stderr, a log file). On a
 * terminal it draws a bar for the epoch, redrawn in place (epoch, samples
 * done, samples/s, ETA, loss), ended by the epoch's line; otherwise it
 * writes one plain line per epoch ("epoch 3/10 loss 0.0123 val_loss
 * 0.0131 lr 0.001 12345 samples/s 2.1s"). The library still prints
 * nothing by itself.
 * @param progress  the event
 * @param file      the FILE * to write to (NULL: nothing is written)
 * @return 0 (never stops training).
 */
AE_API int ae_progress_print(const ae_progress *progress, void *file);

/**
 * Corrupts @p count floats of @p x in place with @p noise (ae_noise) of
 * factor/fraction @p amount, drawn from a generator seeded with @p seed
 * (same seed, same noise on every machine). Use it to make noisy test
 * inputs. Thread-safe (it shares nothing).
 * @param[in,out] x  count floats, corrupted in place (untouched on failure)
 * @param count      floats, >= 1
 * @param noise      ae_noise (AE_NOISE_NONE leaves @p x as it is)
 * @param amount     the factor (Gaussian) or fraction (masking, salt and
 *                   pepper; at most 1), finite and >= 0; ignored with
 *                   AE_NOISE_NONE
 * @param seed       seeds the generator
 * @return AE_OK or AE_ERR_INVALID (NULL, count 0, unknown noise, amount
 *         negative, not finite, or a fraction above 1).
 */
AE_API int ae_noise_apply(float *x, size_t count, int noise, float amount,
                          uint64_t seed);

/**
 * ae_noise_apply() with a clipping range of your own: Gaussian noise is
 * clipped to [@p lo, @p hi] and salt and pepper write @p lo or @p hi
 * (ae_noise_apply() is this function with [0, 1], right for images; use
 * the data's own range for standardised or other unbounded values). The
 * same seed gives the same noise as ae_noise_apply(). Thread-safe.
 * Added in 1.1.
 * @param[in,out] x  count floats, corrupted in place (untouched on failure)
 * @param count      floats, >= 1
 * @param noise      ae_noise (AE_NOISE_NONE leaves @p x as it is)
 * @param amount     as for ae_noise_apply()
 * @param seed       seeds the generator
 * @param lo         the range's low end (finite)
 * @param hi         its high end (finite, > @p lo)
 * @return AE_OK or AE_ERR_INVALID (what ae_noise_apply() refuses, or a
 *         range that is not finite and increasing).
 */
AE_API int ae_noise_apply_range(float *x, size_t count, int noise, float amount,
                                uint64_t seed, float lo, float hi);

/**
 * Number of epochs in the model's training history (all ae_model_train()
 * calls, and the history of the file it was loaded from).
 * @param model  the model, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_model_history_length(const ae_model *model);

/**
 * Reads epoch @p epoch of the history: mean training loss and validation
 * loss (NaN without validation). Either output may be NULL.
 * @param model            the model
 * @param epoch            0 to ae_model_history_length() - 1
 * @param[out] train_loss  the epoch's mean training loss, or NULL
 * @param[out] val_loss    its validation loss, or NULL
 * @return AE_OK or AE_ERR_INVALID (NULL model, epoch out of range).
 */
AE_API int ae_model_history_get(const ae_model *model, size_t epoch,
                                double *train_loss, double *val_loss);

/**
 * The layers' loss terms in epoch @p epoch's training loss (since 1.1): the
 * mean over the epoch's batches, weighted by rows, of what layers added
 * through their loss_term (a Gaussian sampling layer's beta * KL). The
 * training loss of ae_model_history_get() is the loss function's part
 * (a VAE's reconstruction term) plus this. The split is kept in memory by
 * training; epochs loaded from a model file, which stores the sums only,
 * give NaN.
 * @param model       the model
 * @param epoch       0 to ae_model_history_length() - 1
 * @param[out] terms  the terms' mean (0 without such layers, NaN unknown)
 * @return AE_OK or AE_ERR_INVALID (NULL model or terms, epoch out of
 *         range).
 */
AE_API int ae_model_history_terms(const ae_model *model, size_t epoch, double *terms);

#ifdef __cplusplus
}
#endif
#endif /* AE_TRAIN_H */
