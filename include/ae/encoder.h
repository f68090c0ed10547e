/* SPDX-License-Identifier: MIT */
/**
 * @file ae/encoder.h
 * @brief The encoder E: a stack of layers mapping an input x to a latent z.
 *
 * An encoder works alone: a program that only embeds inputs (image search,
 * transfer) creates or loads an encoder and calls ae_encoder_encode().
 *
 * Building (add_*) is not thread-safe. Once built, ae_encoder_encode() may be
 * called from several threads at once on the same encoder: it only reads the
 * encoder and uses per-call scratch memory (tested with 4 threads against
 * single-threaded results, and under ThreadSanitizer).
 *
 * @code
 * ae_shape in = {1, {784}};
 * ae_encoder *enc;
 * ae_encoder_create(&enc, &in, 42);
 * ae_encoder_add_dense(enc, 64, AE_ACT_RELU);    // latent: 64 features
 * @endcode
 */
#ifndef AE_ENCODER_H
#define AE_ENCODER_H

#include "common.h"
#include "layer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque encoder handle. */
typedef struct ae_encoder ae_encoder;

/** @cond AE_INTERNAL */
AE_API int ae_encoder_create_v(ae_encoder **out, const ae_shape *input,
                               uint64_t seed, unsigned header_version);
/** @endcond */

/**
 * Creates an empty encoder for samples of shape @p input. @p seed drives the
 * initial weights of every layer added later (same seed, same weights).
 * Thread-safe (it shares nothing).
 *
 * Macro arguments: (out, input, seed):
 * - @p out (ae_encoder **): receives the encoder (untouched on failure).
 *   The caller owns it: free it with ae_encoder_destroy(), or hand it to
 *   ae_model_create(), which takes it over.
 * - @p input (const ae_shape *): the per-sample input shape (copied).
 * - @p seed (uint64_t): seeds the weight initialization.
 *
 * @return AE_OK, AE_ERR_INVALID (NULL, bad shape), AE_ERR_LIMIT (a shape of
 *         more than 2^31 - 1 values), AE_ERR_NOMEM, or AE_ERR_VERSION
 *         (compiled against another major version).
 */
#define ae_encoder_create(...) ae_encoder_create_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Frees an encoder. NULL is a no-op. An encoder that belongs to a model
 * (after ae_model_create() or a model load) is freed by ae_model_destroy():
 * called on it, this function does nothing but set the detail message
 * (ae_last_error()). Not while another thread uses the encoder.
 * @param enc  the encoder, or NULL (a no-op)
 */
AE_API void ae_encoder_destroy(ae_encoder *enc);

/**
 * A deep copy of @p enc: the same layers, weights, state tensors, layer
 * state and generator, and the same frozen layers (ae_encoder_set_trainable());
 * the copy belongs to no model, so it can join one (ae_model_create()) or
 * take more layers. Use it to start several models from one trained
 * encoder: a frozen and a fine-tuned head on the same pretrained encoder,
 * say. The copy goes through the model format in memory
 * (ae_encoder_save_memory() and a load), so a custom layer kind copies as it
 * saves and loads (its extra state included). Added in 1.1.
 *
 * Only reads @p enc: several threads may copy it at once, not while it
 * trains or changes.
 * @param[out] out  the copy (untouched on failure). The caller owns it:
 *                  free it with ae_encoder_destroy() (or give it to a model)
 * @param enc        the encoder to copy, alone or in a model (only read)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOMEM, AE_ERR_LIMIT (it does
 *         not fit in memory as a file), or an error of saving or loading a
 *         layer (a custom kind whose save or load of its extra state fails).
 */
AE_API int ae_encoder_clone(ae_encoder **out, const ae_encoder *enc);

/**
 * Appends a dense layer with @p units outputs, a fused @p activation and
 * Glorot-uniform weights.
 * @param enc         the encoder (not part of a model)
 * @param units       output features, 1 to 2^31 - 1
 * @param activation  ae_activation
 * @return AE_OK, AE_ERR_INVALID (NULL, units 0, unknown activation),
 *         AE_ERR_LIMIT (units * inputs above 2^31 - 1 weights),
 *         AE_ERR_STATE (the encoder belongs to a model), AE_ERR_NOMEM.
 *         On failure the encoder is unchanged (so are all add_* calls).
 */
AE_API int ae_encoder_add_dense(ae_encoder *enc, uint32_t units, int activation);

/**
 * Appends a dense layer with full options.
 * @param enc   the encoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_dense(); also AE_ERR_INVALID (NULL opts,
 *         struct_size too small, unknown init, use_bias not 0 or 1, slope
 *         negative or not finite) and AE_ERR_VERSION (a newer struct that
 *         sets fields this library does not know).
 */
AE_API int ae_encoder_add_dense_ex(ae_encoder *enc, const ae_dense_options *opts);

/**
 * Appends an element-wise activation layer (shape unchanged; leaky ReLU
 * uses AE_LEAKY_RELU_SLOPE).
 * @param enc         the encoder (not part of a model)
 * @param activation  ae_activation
 * @return AE_OK, AE_ERR_INVALID (NULL, unknown activation), AE_ERR_STATE,
 *         AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_activation(ae_encoder *enc, int activation);

/**
 * Appends a 2-d convolution (input {C, H, W}, output {filters, OH, OW}; shape
 * rules in ae/layer.h) with a square @p kernel, the same @p stride on both
 * axes, ae_padding @p padding (AE_PAD_VALID or AE_PAD_SAME), a fused
 * @p activation and Glorot-uniform weights.
 * @param enc         the encoder (not part of a model)
 * @param filters     output channels, >= 1
 * @param kernel      kernel height and width, 1 to AE_SPATIAL_MAX
 * @param stride      stride on both axes, 1 to AE_SPATIAL_MAX
 * @param padding     ae_padding (AE_PAD_EXPLICIT here means no pads)
 * @param activation  ae_activation
 * @return AE_OK, AE_ERR_INVALID (NULL, 0 filters/kernel/stride, a value
 *         past AE_SPATIAL_MAX, unknown padding or activation), AE_ERR_SHAPE
 *         (the input is not {C, H, W} or too small for the kernel),
 *         AE_ERR_LIMIT (an output or weight count above 2^31 - 1),
 *         AE_ERR_STATE (the encoder belongs to a model), AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_conv2d(ae_encoder *enc, uint32_t filters, uint32_t kernel,
                             uint32_t stride, int padding, int activation);

/**
 * Appends a 2-d convolution with full options (explicit pads, dilation,
 * rectangular kernels...).
 * @param enc   the encoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_conv2d(); also AE_ERR_INVALID (NULL opts,
 *         struct_size too small, pads without AE_PAD_EXPLICIT, unknown
 *         init, use_bias not 0 or 1) and AE_ERR_VERSION (a newer struct that
 *         sets fields this library does not know).
 */
AE_API int ae_encoder_add_conv2d_ex(ae_encoder *enc, const ae_conv2d_options *opts);

/**
 * Appends a transposed 2-d convolution (square kernel, same stride on both
 * axes, automatic output padding: with AE_PAD_SAME the output is the input
 * times the stride, as Keras's Conv2DTranspose(padding="same")).
 * @param enc         the encoder (not part of a model)
 * @param filters     output channels, >= 1
 * @param kernel      kernel height and width, 1 to AE_SPATIAL_MAX
 * @param stride      stride on both axes, 1 to AE_SPATIAL_MAX
 * @param padding     ae_padding
 * @param activation  ae_activation
 * @return as ae_encoder_add_conv2d().
 */
AE_API int ae_encoder_add_conv2d_transpose(ae_encoder *enc, uint32_t filters,
                                       uint32_t kernel, uint32_t stride,
                                       int padding, int activation);

/**
 * Appends a transposed 2-d convolution with full options (output padding
 * as PyTorch or Keras).
 * @param enc   the encoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_conv2d_ex(); also AE_ERR_INVALID (an output
 *         padding not below max(stride, dilation)).
 */
AE_API int ae_encoder_add_conv2d_transpose_ex(ae_encoder *enc,
                                          const ae_conv2d_transpose_options *opts);

/**
 * Appends 2-d max pooling over square @p pool windows moving by @p stride
 * (0: the pool size) with ae_padding @p padding.
 * @param enc      the encoder (not part of a model)
 * @param pool     window height and width, 1 to AE_SPATIAL_MAX
 * @param stride   stride on both axes, 0 (the pool size) to AE_SPATIAL_MAX
 * @param padding  ae_padding (AE_PAD_EXPLICIT here means no pads)
 * @return AE_OK, AE_ERR_INVALID (NULL, pool 0, a value past
 *         AE_SPATIAL_MAX, unknown padding), AE_ERR_SHAPE (the input is not
 *         {C, H, W} or smaller than the window), AE_ERR_LIMIT, AE_ERR_STATE,
 *         AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_maxpool2d(ae_encoder *enc, uint32_t pool, uint32_t stride,
                                int padding);

/**
 * Appends 2-d max pooling with full options.
 * @param enc   the encoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_maxpool2d(); also AE_ERR_INVALID (NULL opts,
 *         struct_size too small, pads without AE_PAD_EXPLICIT or above half
 *         the pool) and AE_ERR_VERSION (a newer struct that sets fields
 *         this library does not know).
 */
AE_API int ae_encoder_add_maxpool2d_ex(ae_encoder *enc, const ae_pool2d_options *opts);

/**
 * Appends nearest-neighbour upsampling by @p size_h x @p size_w.
 * @param enc     the encoder (not part of a model)
 * @param size_h  height factor, 1 to AE_SPATIAL_MAX
 * @param size_w  width factor, 1 to AE_SPATIAL_MAX
 * @return AE_OK, AE_ERR_INVALID (NULL, a factor 0 or past AE_SPATIAL_MAX),
 *         AE_ERR_SHAPE (the input is not {C, H, W}), AE_ERR_LIMIT (the
 *         output has more than 2^31 - 1 values), AE_ERR_STATE, AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_upsample2d(ae_encoder *enc, uint32_t size_h, uint32_t size_w);

/**
 * Appends nearest-neighbour upsampling with options.
 * @param enc   the encoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_upsample2d(); also AE_ERR_INVALID (NULL opts,
 *         struct_size too small) and AE_ERR_VERSION (a newer struct that
 *         sets fields this library does not know).
 */
AE_API int ae_encoder_add_upsample2d_ex(ae_encoder *enc, const ae_upsample2d_options *opts);

/**
 * Appends a reshape to @p shape (same number of values).
 * @param enc    the encoder (not part of a model)
 * @param shape  the per-sample output shape (copied)
 * @return AE_OK, AE_ERR_INVALID (NULL, bad shape), AE_ERR_SHAPE (sizes
 *         differ), AE_ERR_LIMIT (more than 2^31 - 1 values), AE_ERR_STATE,
 *         AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_reshape(ae_encoder *enc, const ae_shape *shape);

/**
 * Appends a flatten: any shape to {size}.
 * @param enc  the encoder (not part of a model)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_STATE, AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_flatten(ae_encoder *enc);

/**
 * Appends dropout (training only; the identity in inference).
 * @param enc   the encoder (not part of a model)
 * @param rate  probability of zeroing a value, in [0, 1)
 * @return AE_OK, AE_ERR_INVALID (NULL, rate outside [0, 1)),
 *         AE_ERR_STATE, AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_dropout(ae_encoder *enc, float rate);

/**
 * Appends dropout with options.
 * @param enc   the encoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_dropout(); also AE_ERR_INVALID (NULL opts,
 *         struct_size too small) and AE_ERR_VERSION (a newer struct that
 *         sets fields this library does not know).
 */
AE_API int ae_encoder_add_dropout_ex(ae_encoder *enc, const ae_dropout_options *opts);

/**
 * Appends batch normalization with PyTorch's defaults (momentum 0.1,
 * epsilon 1e-5); see ae_batchnorm_options.
 * @param enc  the encoder (not part of a model)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_STATE, AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_batchnorm(ae_encoder *enc);

/**
 * Appends batch normalization with options.
 * @param enc   the encoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return AE_OK, AE_ERR_INVALID (NULL, struct_size too small, momentum
 *         outside [0, 1], epsilon not finite or <= 0), AE_ERR_STATE,
 *         AE_ERR_NOMEM, AE_ERR_VERSION (a newer struct that sets fields
 *         this library does not know).
 */
AE_API int ae_encoder_add_batchnorm_ex(ae_encoder *enc, const ae_batchnorm_options *opts);

/**
 * Appends the Gaussian sampling layer of a variational autoencoder (since
 * 1.1). Its input holds 2k values per sample, k means mu then k
 * log-variances lv (a dense layer of 2k units with the identity activation
 * is the usual source); it gives k values. In training it draws
 * eps ~ N(0, I) from the training generator (the seed of the training
 * options) and gives z = mu + exp(lv / 2) * eps, with the gradient of that
 * reparameterisation; in inference (encode, reconstruct) it gives the mean
 * mu. It adds beta * KL(q(z|x) || N(0, I)) to the training loss with beta
 * 1 (see ae_gaussian_sample_options; the history splits the term out:
 * ae_model_history_terms()). Saved and loaded as kind
 * AE_LAYER_GAUSSIAN_SAMPLE. ae_encoder_encode_gaussian() gives the means
 * and log-variances, ae_model_sample() decodes samples of the prior.
 * @param enc  the encoder (not part of a model)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_SHAPE (the input has an odd
 *         number of values), AE_ERR_STATE (the encoder belongs to a
 *         model), AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_gaussian_sample(ae_encoder *enc);

/**
 * Appends the Gaussian sampling layer with options (since 1.1): the weight
 * beta of its KL term; see ae_encoder_add_gaussian_sample() and
 * ae_gaussian_sample_options.
 * @param enc   the encoder (not part of a model)
 * @param opts  the options (start from AE_GAUSSIAN_SAMPLE_OPTIONS_INIT)
 * @return AE_OK, AE_ERR_INVALID (NULL, beta negative or not finite,
 *         struct_size too small), AE_ERR_VERSION (a newer struct that sets
 *         fields this library does not know), AE_ERR_SHAPE (the input has
 *         an odd number of values), AE_ERR_STATE, AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_gaussian_sample_ex(ae_encoder *enc,
                                             const ae_gaussian_sample_options *opts);

/**
 * Appends a layer of any registered kind (built-in or custom, see
 * ae/sys/layer.h) from its type name and config bytes. The layer holds a
 * reference to its kind: unregistering the kind later leaves it working.
 * @param enc          the encoder (not part of a model)
 * @param type_name    a registered type name (only read)
 * @param config       @p config_size bytes, copied; NULL when config_size
 *                     is 0
 * @param config_size  0 to AE_LAYER_CONFIG_MAX
 * @return AE_OK, AE_ERR_NOT_FOUND (no such kind), AE_ERR_INVALID (NULL enc
 *         or type_name, NULL config with a size) or AE_ERR_SHAPE (the
 *         layer rejects the config or its input shape), AE_ERR_LIMIT
 *         (config_size above AE_LAYER_CONFIG_MAX), AE_ERR_STATE,
 *         AE_ERR_NOMEM, or what the layer's create returns (a code that is
 *         not an ae_status becomes AE_ERR_INVALID).
 */
AE_API int ae_encoder_add_layer(ae_encoder *enc, const char *type_name,
                                const void *config, size_t config_size);

/**
 * Number of layers.
 * @param enc  the encoder, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_encoder_layer_count(const ae_encoder *enc);

/**
 * Number of trainable parameters (floats; state tensors excluded).
 * @param enc  the encoder, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_encoder_param_count(const ae_encoder *enc);

/**
 * The input sample shape.
 * @param enc       the encoder
 * @param[out] out  the shape (untouched on failure)
 * @return AE_OK or AE_ERR_INVALID (NULL).
 */
AE_API int ae_encoder_input_shape(const ae_encoder *enc, ae_shape *out);

/**
 * The latent shape (the last layer's output; the input shape while there
 * are no layers).
 * @param enc       the encoder
 * @param[out] out  the shape (untouched on failure)
 * @return AE_OK or AE_ERR_INVALID (NULL).
 */
AE_API int ae_encoder_latent_shape(const ae_encoder *enc, ae_shape *out);

/**
 * Floats per latent (product of the latent shape).
 * @param enc  the encoder, or NULL
 * @return the size, 0 for NULL.
 */
AE_API size_t ae_encoder_latent_size(const ae_encoder *enc);

/**
 * Encodes @p count samples: z = E(x) in inference mode.
 *
 * Scratch memory for the layers' intermediate outputs lives on the calling
 * thread's stack when it fits in 8 KiB (one sample, or a few, through a
 * small network; a single dense layer needs none) and is otherwise one
 * block from the allocator, freed before returning: nothing stays
 * allocated between calls (ae_live_allocations() is unchanged). One sample
 * through a dense layer goes through a matrix-vector product; its results
 * may differ from the same sample inside a larger batch in the last bits.
 * More than 256 samples are shared between threads (ae_set_num_threads());
 * the same inputs and count give the same bits with any thread setting.
 *
 * @param enc    the encoder (only read)
 * @param x      count * input size floats
 * @param count  samples, >= 1
 * @param[out] z count * latent size floats (unspecified if the call fails)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_STATE (no layers),
 *         AE_ERR_LIMIT (the scratch size overflows), AE_ERR_NOMEM, or what
 *         a custom layer's forward() returns.
 */
AE_API int ae_encoder_encode(const ae_encoder *enc, const float *x, size_t count,
                             float *z);

#ifdef __cplusplus
}
#endif
#endif /* AE_ENCODER_H */
