/* SPDX-License-Identifier: MIT */
/**
 * @file ae/decoder.h
 * @brief The decoder D: a stack of layers mapping a latent z back to x~.
 *
 * Same rules as the encoder (ae/encoder.h): building is not thread-safe;
 * ae_decoder_decode() on a built decoder may run from several threads at once.
 *
 * @code
 * ae_shape latent = {1, {64}};
 * ae_decoder *dec;
 * ae_decoder_create(&dec, &latent, 43);
 * ae_decoder_add_dense(dec, 784, AE_ACT_SIGMOID);
 * @endcode
 */
#ifndef AE_DECODER_H
#define AE_DECODER_H

#include "common.h"
#include "layer.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque decoder handle. */
typedef struct ae_decoder ae_decoder;

/** @cond AE_INTERNAL */
AE_API int ae_decoder_create_v(ae_decoder **out, const ae_shape *latent,
                               uint64_t seed, unsigned header_version);
/** @endcond */

/**
 * Creates an empty decoder taking latents of shape @p latent; @p seed drives
 * the initial weights of the layers added later. Thread-safe (it shares
 * nothing).
 *
 * Macro arguments: (out, latent, seed):
 * - @p out (ae_decoder **): receives the decoder (untouched on failure).
 *   The caller owns it: free it with ae_decoder_destroy(), or hand it to
 *   ae_model_create(), which takes it over.
 * - @p latent (const ae_shape *): the per-sample latent shape (copied).
 * - @p seed (uint64_t): seeds the weight initialization.
 *
 * @return AE_OK, AE_ERR_INVALID (NULL, bad shape), AE_ERR_LIMIT (a shape of
 *         more than 2^31 - 1 values), AE_ERR_NOMEM or AE_ERR_VERSION
 *         (compiled against another major version).
 */
#define ae_decoder_create(...) ae_decoder_create_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Frees a decoder. NULL is a no-op. A decoder that belongs to a model
 * (after ae_model_create() or a model load) is freed by ae_model_destroy():
 * called on it, this function does nothing but set the detail message
 * (ae_last_error()). Not while another thread uses the decoder.
 * @param dec  the decoder, or NULL (a no-op)
 */
AE_API void ae_decoder_destroy(ae_decoder *dec);

/**
 * A deep copy of @p dec: the same layers, weights, state tensors, layer
 * state and generator, and the same frozen layers (ae_decoder_set_trainable());
 * the copy belongs to no model, so it can join one (ae_model_create()) or
 * take more layers. Use it to start several models from one trained
 * decoder: a frozen and a fine-tuned head on the same pretrained encoder,
 * say. The copy goes through the model format in memory
 * (ae_decoder_save_memory() and a load), so a custom layer kind copies as it
 * saves and loads (its extra state included). Added in 1.1.
 *
 * Only reads @p dec: several threads may copy it at once, not while it
 * trains or changes.
 * @param[out] out  the copy (untouched on failure). The caller owns it:
 *                  free it with ae_decoder_destroy() (or give it to a model)
 * @param dec        the decoder to copy, alone or in a model (only read)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOMEM, AE_ERR_LIMIT (it does
 *         not fit in memory as a file), or an error of saving or loading a
 *         layer (a custom kind whose save or load of its extra state fails).
 */
AE_API int ae_decoder_clone(ae_decoder **out, const ae_decoder *dec);

/**
 * Appends a dense layer; see ae_encoder_add_dense().
 * @param dec         the decoder (not part of a model)
 * @param units       output features, 1 to 2^31 - 1
 * @param activation  ae_activation
 * @return as ae_encoder_add_dense().
 */
AE_API int ae_decoder_add_dense(ae_decoder *dec, uint32_t units, int activation);

/**
 * Appends a dense layer with full options; see ae_encoder_add_dense_ex().
 * @param dec   the decoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_dense_ex().
 */
AE_API int ae_decoder_add_dense_ex(ae_decoder *dec, const ae_dense_options *opts);

/**
 * Appends an element-wise activation layer; see
 * ae_encoder_add_activation().
 * @param dec         the decoder (not part of a model)
 * @param activation  ae_activation
 * @return as ae_encoder_add_activation().
 */
AE_API int ae_decoder_add_activation(ae_decoder *dec, int activation);

/**
 * Appends a 2-d convolution; see ae_encoder_add_conv2d().
 * @param dec         the decoder (not part of a model)
 * @param filters     output channels, >= 1
 * @param kernel      kernel height and width, 1 to AE_SPATIAL_MAX
 * @param stride      stride on both axes, 1 to AE_SPATIAL_MAX
 * @param padding     ae_padding
 * @param activation  ae_activation
 * @return as ae_encoder_add_conv2d().
 */
AE_API int ae_decoder_add_conv2d(ae_decoder *dec, uint32_t filters, uint32_t kernel,
                             uint32_t stride, int padding, int activation);

/**
 * Appends a 2-d convolution with full options; see
 * ae_encoder_add_conv2d_ex().
 * @param dec   the decoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_conv2d_ex().
 */
AE_API int ae_decoder_add_conv2d_ex(ae_decoder *dec, const ae_conv2d_options *opts);

/**
 * Appends a transposed 2-d convolution; see
 * ae_encoder_add_conv2d_transpose().
 * @param dec         the decoder (not part of a model)
 * @param filters     output channels, >= 1
 * @param kernel      kernel height and width, 1 to AE_SPATIAL_MAX
 * @param stride      stride on both axes, 1 to AE_SPATIAL_MAX
 * @param padding     ae_padding
 * @param activation  ae_activation
 * @return as ae_encoder_add_conv2d().
 */
AE_API int ae_decoder_add_conv2d_transpose(ae_decoder *dec, uint32_t filters,
                                       uint32_t kernel, uint32_t stride,
                                       int padding, int activation);

/**
 * Appends a transposed 2-d convolution with full options; see
 * ae_encoder_add_conv2d_transpose_ex().
 * @param dec   the decoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_conv2d_transpose_ex().
 */
AE_API int ae_decoder_add_conv2d_transpose_ex(ae_decoder *dec,
                                          const ae_conv2d_transpose_options *opts);

/**
 * Appends 2-d max pooling; see ae_encoder_add_maxpool2d().
 * @param dec      the decoder (not part of a model)
 * @param pool     window height and width, 1 to AE_SPATIAL_MAX
 * @param stride   stride on both axes, 0 (the pool size) to AE_SPATIAL_MAX
 * @param padding  ae_padding
 * @return as ae_encoder_add_maxpool2d().
 */
AE_API int ae_decoder_add_maxpool2d(ae_decoder *dec, uint32_t pool, uint32_t stride,
                                int padding);

/**
 * Appends 2-d max pooling with full options; see
 * ae_encoder_add_maxpool2d_ex().
 * @param dec   the decoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_maxpool2d_ex().
 */
AE_API int ae_decoder_add_maxpool2d_ex(ae_decoder *dec, const ae_pool2d_options *opts);

/**
 * Appends nearest-neighbour upsampling; see ae_encoder_add_upsample2d().
 * @param dec     the decoder (not part of a model)
 * @param size_h  height factor, 1 to AE_SPATIAL_MAX
 * @param size_w  width factor, 1 to AE_SPATIAL_MAX
 * @return as ae_encoder_add_upsample2d().
 */
AE_API int ae_decoder_add_upsample2d(ae_decoder *dec, uint32_t size_h, uint32_t size_w);

/**
 * Appends nearest-neighbour upsampling with options; see
 * ae_encoder_add_upsample2d_ex().
 * @param dec   the decoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_upsample2d_ex().
 */
AE_API int ae_decoder_add_upsample2d_ex(ae_decoder *dec, const ae_upsample2d_options *opts);

/**
 * Appends a reshape; see ae_encoder_add_reshape().
 * @param dec    the decoder (not part of a model)
 * @param shape  the per-sample output shape (copied)
 * @return as ae_encoder_add_reshape().
 */
AE_API int ae_decoder_add_reshape(ae_decoder *dec, const ae_shape *shape);

/**
 * Appends a flatten: any shape to {size}.
 * @param dec  the decoder (not part of a model)
 * @return as ae_encoder_add_flatten().
 */
AE_API int ae_decoder_add_flatten(ae_decoder *dec);

/**
 * Appends dropout; see ae_encoder_add_dropout().
 * @param dec   the decoder (not part of a model)
 * @param rate  probability of zeroing a value, in [0, 1)
 * @return as ae_encoder_add_dropout().
 */
AE_API int ae_decoder_add_dropout(ae_decoder *dec, float rate);

/**
 * Appends dropout with options; see ae_encoder_add_dropout_ex().
 * @param dec   the decoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_dropout_ex().
 */
AE_API int ae_decoder_add_dropout_ex(ae_decoder *dec, const ae_dropout_options *opts);

/**
 * Appends batch normalization; see ae_encoder_add_batchnorm().
 * @param dec  the decoder (not part of a model)
 * @return as ae_encoder_add_batchnorm().
 */
AE_API int ae_decoder_add_batchnorm(ae_decoder *dec);

/**
 * Appends batch normalization with options; see
 * ae_encoder_add_batchnorm_ex().
 * @param dec   the decoder (not part of a model)
 * @param opts  the options (read during the call only)
 * @return as ae_encoder_add_batchnorm_ex().
 */
AE_API int ae_decoder_add_batchnorm_ex(ae_decoder *dec, const ae_batchnorm_options *opts);

/**
 * Appends the Gaussian sampling layer (since 1.1); see
 * ae_encoder_add_gaussian_sample().
 * @param dec  the decoder (not part of a model)
 * @return as ae_encoder_add_gaussian_sample().
 */
AE_API int ae_decoder_add_gaussian_sample(ae_decoder *dec);

/**
 * Appends the Gaussian sampling layer with options (since 1.1); see
 * ae_encoder_add_gaussian_sample_ex().
 * @param dec   the decoder (not part of a model)
 * @param opts  the options (start from AE_GAUSSIAN_SAMPLE_OPTIONS_INIT)
 * @return as ae_encoder_add_gaussian_sample_ex().
 */
AE_API int ae_decoder_add_gaussian_sample_ex(ae_decoder *dec,
                                             const ae_gaussian_sample_options *opts);

/**
 * Appends a layer of any registered kind; see ae_encoder_add_layer().
 * @param dec          the decoder (not part of a model)
 * @param type_name    a registered type name (only read)
 * @param config       @p config_size bytes, copied; NULL when config_size
 *                     is 0
 * @param config_size  0 to AE_LAYER_CONFIG_MAX
 * @return as ae_encoder_add_layer().
 */
AE_API int ae_decoder_add_layer(ae_decoder *dec, const char *type_name,
                                const void *config, size_t config_size);

/**
 * Number of layers.
 * @param dec  the decoder, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_decoder_layer_count(const ae_decoder *dec);

/**
 * Number of trainable parameters (floats; state tensors excluded).
 * @param dec  the decoder, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_decoder_param_count(const ae_decoder *dec);

/**
 * The latent shape it takes.
 * @param dec       the decoder
 * @param[out] out  the shape (untouched on failure)
 * @return AE_OK or AE_ERR_INVALID (NULL).
 */
AE_API int ae_decoder_latent_shape(const ae_decoder *dec, ae_shape *out);

/**
 * The output sample shape (the latent shape while there are no layers).
 * @param dec       the decoder
 * @param[out] out  the shape (untouched on failure)
 * @return AE_OK or AE_ERR_INVALID (NULL).
 */
AE_API int ae_decoder_output_shape(const ae_decoder *dec, ae_shape *out);

/**
 * Floats per output sample (product of the output shape).
 * @param dec  the decoder, or NULL
 * @return the size, 0 for NULL.
 */
AE_API size_t ae_decoder_output_size(const ae_decoder *dec);

/**
 * Decodes @p count latents: x~ = D(z) in inference mode. Scratch memory and
 * threads as ae_encoder_encode().
 * @param dec    the decoder (only read)
 * @param z      count * latent size floats
 * @param count  latents, >= 1
 * @param[out] x count * output size floats (unspecified if the call fails)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_STATE (no layers),
 *         AE_ERR_LIMIT (the scratch size overflows), AE_ERR_NOMEM, or what
 *         a custom layer's forward() returns.
 */
AE_API int ae_decoder_decode(const ae_decoder *dec, const float *z, size_t count,
                             float *x);

#ifdef __cplusplus
}
#endif
#endif /* AE_DECODER_H */
