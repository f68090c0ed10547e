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
    /* Appended in 1.1 (noise range). */
    int noise_clip;               /**< ae_noise_clip: the noise's range; default
                                       AE_NOISE_CLIP_DATA, the training data's
                                       min and max */
    float noise_min;              /**< with AE_NOISE_CLIP_RANGE: the low end */
    float noise_max;              /**< with AE_NOISE_CLIP_RANGE: the high end
                                       (finite, > noise_min) */
} ae_train_options;

/** Defaults: 10 epochs, batch 32, seed 0, MSE, shuffled, no validation, no
 *  noise; noise clipped to the training data's range. */
#define AE_TRAIN_OPTIONS_INIT \
    {sizeof(ae_train_options), 10, 32, 0, AE_LOSS_MSE, 1, NULL, NULL, NULL, \
     AE_NOISE_NONE, 0.0f, AE_NOISE_CLIP_DATA, 0.0f, 1.0f}

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
 * the sample and the feature, and nothing is trained.
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
 * (In both ratios the lowest loss counts as at least 1e-12, so a batch
 * that happens to fit exactly does not make rounding look like growth.)
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
 *         unknown noise or a bad noise_amount, unknown noise_clip or a
 *         noise_min/noise_max pair that is not finite and increasing,
 *         struct_size too small);
 *         AE_ERR_VERSION (a newer options struct setting fields this
 *         library does not know);
 *         AE_ERR_SHAPE (sample size is not the model's input or output
 *         size, or the validation set's differs); AE_ERR_STATE (the
 *         optimizer is bound to another model); AE_ERR_UNSUPPORTED (a layer
 *         kind without backward()); AE_ERR_NUMERIC (NaN/Inf in the data,
 *         before any step; or divergence as defined above: the message names
 *         the epoch and batch, and the model is back at the last completed
 *         epoch); AE_ERR_CANCELLED;
 *         AE_ERR_LIMIT (a batch's buffers overflow the address space);
 *         AE_ERR_NOMEM; or what a custom layer's forward() or backward()
 *         returns.
 */
AE_API int ae_model_train(ae_model *model, ae_optimizer *opt,
                          const ae_dataset *data, const ae_train_options *opts);

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

#ifdef __cplusplus
}
#endif
#endif /* AE_TRAIN_H */
