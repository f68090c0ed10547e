/* SPDX-License-Identifier: MIT */
/**
 * @file ae/model.h
 * @brief The autoencoder: an encoder joined to a decoder, x~ = D(E(x)).
 *
 * A model owns its encoder and decoder. Inference calls (reconstruct,
 * evaluate) only read the model and may run from several threads at once;
 * training (ae/train.h) needs the model to itself.
 */
#ifndef AE_MODEL_H
#define AE_MODEL_H

#include "common.h"
#include "dataset.h"
#include "decoder.h"
#include "encoder.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque model handle. */
typedef struct ae_model ae_model;

/** Loss functions (values pinned). */
enum ae_loss {
    /** Mean squared error: mean over every element of the batch,
     *  sum((x~ - x)^2) / (batch * features) (PyTorch's and Keras's reduction). */
    AE_LOSS_MSE = 0,
    /** Binary cross-entropy, -[x log x~ + (1-x) log(1-x~)] averaged the same
     *  way; x~ is clamped to [1e-7, 1 - 1e-7] in float (Keras's epsilon and
     *  clip: the upper bound rounds to 1 - 2^-23 = 1 - 1.19e-7, so a
     *  saturated 1 against a target 0 costs 15.94 where a saturated 0
     *  against a target 1 costs 16.12) in the loss and its gradient, which
     *  therefore stays non-zero for saturated outputs (PyTorch's BCELoss
     *  instead caps each log at -100). Targets must lie in [0, 1]:
     *  training, evaluation and ae_loss_compute() refuse others with
     *  AE_ERR_INVALID (since 1.1; before, a negative loss came back). */
    AE_LOSS_BCE = 1,
    /* Appended in 1.1. */
    /** Mean absolute error, sum(|x~ - x|) / (batch * features) (PyTorch's
     *  L1Loss); its gradient at x~ == x is 0. */
    AE_LOSS_MAE = 2,
    /** Softmax cross-entropy over the output's values as class scores
     *  (logits: end the decoder or head with an identity activation):
     *  -sum_k t_k log softmax(x~)_k per row, averaged over the rows
     *  (PyTorch's CrossEntropyLoss with probability targets). Targets are
     *  one-hot rows, or integer labels through ae_step_compute_labels()
     *  and ae_model_train_pairs() with labels. */
    AE_LOSS_SOFTMAX_CE = 3,
    /** A loss the caller supplies (ae_loss_fn in ae_train_options or
     *  ae_step_options); the evaluation calls do not take it. */
    AE_LOSS_CUSTOM = 4
};

/**
 * The name of a loss. Thread-safe.
 * @param loss  an ae_loss value (any int is accepted)
 * @return "mse", "bce", "mae", "softmax_ce", "custom", or "unknown" for
 *         any other value: a static string,
 *         never NULL.
 */
AE_API const char *ae_loss_name(int loss);

/**
 * Joins @p enc and @p dec into a model. The encoder's latent shape must equal
 * the decoder's, and both must have layers. On success the model owns both
 * (destroy the model, never them); on failure the caller still owns them.
 * Once owned they can no longer change (their add_* calls fail with
 * AE_ERR_STATE). Not while another thread uses @p enc or @p dec.
 *
 * The safe idiom: forget the pointers once the model owns them, so one
 * cleanup path serves every failure and nothing is freed twice
 * (ae_encoder_destroy() on an encoder whose model was already destroyed
 * is a double free):
 * @code
 * if ((rc = ae_model_create(&model, enc, dec)) < 0) goto done;
 * enc = NULL;  dec = NULL;            // the model owns them now
 * ...
 * done:
 * ae_encoder_destroy(enc);  ae_decoder_destroy(dec);  // NULL after success
 * ae_model_destroy(model);            // frees the encoder and decoder too
 * @endcode
 * @param[out] out  the model (untouched on failure). The caller owns it:
 *                  free it with ae_model_destroy() (or ae_model_release()).
 * @param enc       an encoder that belongs to no model; taken over on
 *                  success
 * @param dec       a decoder that belongs to no model; taken over on
 *                  success
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_STATE (no layers, already
 *         owned by a model), AE_ERR_SHAPE (latent shapes differ),
 *         AE_ERR_NOMEM.
 */
AE_API int ae_model_create(ae_model **out, ae_encoder *enc, ae_decoder *dec);

/**
 * Frees a model with its encoder and decoder (pointers from
 * ae_model_encoder() and ae_model_decoder() become invalid). Not while
 * another thread uses the model.
 * @param model  the model, or NULL (a no-op)
 */
AE_API void ae_model_destroy(ae_model *model);

/**
 * Dissolves a model into its parts: the caller owns @p enc and @p dec
 * afterwards (either may be NULL to destroy that part). Use it to keep only
 * the encoder. The model handle and its training history are freed; an
 * optimizer bound to the model cannot train a model made again from the
 * parts without ae_optimizer_reset(). Not while another thread uses the
 * model.
 * @param model     the model, or NULL (a no-op)
 * @param[out] enc  receives the encoder, which the caller then owns (free
 *                  it with ae_encoder_destroy()); NULL destroys it
 * @param[out] dec  receives the decoder, likewise; NULL destroys it
 */
AE_API void ae_model_release(ae_model *model, ae_encoder **enc, ae_decoder **dec);

/**
 * The model's encoder, to encode with or save on its own.
 * @param model  the model, or NULL
 * @return the encoder, owned by the model: valid until ae_model_destroy()
 *         or ae_model_release(); do not destroy it, and it cannot be
 *         changed (add_* fail with AE_ERR_STATE). NULL for NULL.
 */
AE_API ae_encoder *ae_model_encoder(ae_model *model);

/**
 * The model's decoder, to decode with or save on its own.
 * @param model  the model, or NULL
 * @return the decoder, owned by the model: valid until ae_model_destroy()
 *         or ae_model_release(); do not destroy it, and it cannot be
 *         changed (add_* fail with AE_ERR_STATE). NULL for NULL.
 */
AE_API ae_decoder *ae_model_decoder(ae_model *model);

/**
 * Trainable parameters (floats) of encoder and decoder together.
 * @param model  the model, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_model_param_count(const ae_model *model);

/**
 * Reconstructs @p count samples: xr = D(E(x)), inference mode. Scratch
 * memory as ae_encoder_encode(): on the stack when small, else one block
 * freed before returning. Threads as ae_encoder_encode(). Thread-safe on a
 * trained model (not while it trains).
 * @param model   the autoencoder (only read)
 * @param x       count * input size floats
 * @param count   samples, >= 1
 * @param[out] xr count * output size floats (unspecified if the call fails)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_LIMIT (the scratch
 *         size overflows), AE_ERR_NOMEM, or what a custom layer's forward()
 *         returns.
 */
AE_API int ae_model_reconstruct(const ae_model *model, const float *x,
                                size_t count, float *xr);

/**
 * The mean loss of the model's reconstructions over the whole dataset
 * (reduction as in ae_loss), computed in batches. Thread-safe
 * like ae_model_reconstruct().
 * @param model          the autoencoder (only read)
 * @param ds             the samples, also the targets (only read)
 * @param loss           ae_loss
 * @param[out] out_loss  the mean loss (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, unknown loss or AE_LOSS_CUSTOM, a
 *         BCE target outside [0, 1]), AE_ERR_SHAPE (the
 *         dataset's samples are not the model's input and output size),
 *         AE_ERR_NOMEM, or an error of ae_model_reconstruct().
 */
AE_API int ae_model_evaluate(const ae_model *model, const ae_dataset *ds,
                             int loss, double *out_loss);

/**
 * The loss of @p count reconstructions @p xr against their targets @p x,
 * each @p size floats, reduced as in ae_loss (the mean over all
 * count * size values; over the count rows for AE_LOSS_SOFTMAX_CE). The order is the one of ae_score_compute():
 * targets first. It matters for AE_LOSS_BCE, which is not symmetric.
 * Thread-safe.
 * @param[out] out_loss  the loss (untouched on failure)
 * @param loss           ae_loss
 * @param x              count * size floats, the targets (for BCE in [0, 1])
 * @param xr             count * size floats, the model's outputs
 * @param count          samples, >= 1
 * @param size           floats per sample, >= 1
 * @return AE_OK, AE_ERR_INVALID (NULL, unknown loss or AE_LOSS_CUSTOM,
 *         count or size 0, a BCE target outside [0, 1]) or AE_ERR_LIMIT (count * size overflows).
 */
AE_API int ae_loss_compute(double *out_loss, int loss, const float *x,
                           const float *xr, size_t count, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* AE_MODEL_H */
