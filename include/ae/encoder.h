/**
 * @file ae/encoder.h
 * @brief The encoder E: a stack of layers mapping an input x to a latent z.
 *
 * An encoder works alone: a program that only embeds inputs (image search,
 * transfer) creates or loads an encoder and calls ae_encoder_encode().
 *
 * Building (add_*) is not thread-safe. Once built, ae_encoder_encode() may be
 * called from several threads at once on the same encoder: it only reads the
 * encoder and uses per-call scratch memory.
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
 * @return AE_OK, AE_ERR_INVALID (NULL, bad shape), AE_ERR_NOMEM, or
 *         AE_ERR_VERSION (compiled against another major version).
 */
#define ae_encoder_create(out, input, seed) \
    ae_encoder_create_v((out), (input), (seed), AE_VERSION_NUMBER)

/** Frees an encoder. NULL is a no-op. Never call it on an encoder a model owns. */
AE_API void ae_encoder_destroy(ae_encoder *enc);

/**
 * Appends a dense layer with @p units outputs, a fused @p activation and
 * Glorot-uniform weights.
 * @return AE_OK, AE_ERR_INVALID (NULL, units 0, unknown activation),
 *         AE_ERR_STATE (the encoder belongs to a model), AE_ERR_NOMEM.
 */
AE_API int ae_encoder_add_dense(ae_encoder *enc, uint32_t units, int activation);

/** Appends a dense layer with full options. Errors as ae_encoder_add_dense(). */
AE_API int ae_encoder_add_dense_ex(ae_encoder *enc, const ae_dense_options *opts);

/** Appends an element-wise activation layer (shape unchanged). */
AE_API int ae_encoder_add_activation(ae_encoder *enc, int activation);

/**
 * Appends a layer of any registered kind (built-in or custom, see
 * ae/sys/layer.h) from its type name and config bytes.
 * @return AE_OK, AE_ERR_NOT_FOUND (no such kind), AE_ERR_INVALID or
 *         AE_ERR_SHAPE (the layer rejects the config or its input shape),
 *         AE_ERR_STATE, AE_ERR_NOMEM, or what the layer's create returns.
 */
AE_API int ae_encoder_add_layer(ae_encoder *enc, const char *type_name,
                                const void *config, size_t config_size);

/** Number of layers; 0 for NULL. */
AE_API size_t ae_encoder_layer_count(const ae_encoder *enc);

/** Number of trainable parameters (floats); 0 for NULL. */
AE_API size_t ae_encoder_param_count(const ae_encoder *enc);

/** The input sample shape. @return AE_OK or AE_ERR_INVALID. */
AE_API int ae_encoder_input_shape(const ae_encoder *enc, ae_shape *out);

/** The latent shape (the last layer's output). @return AE_OK or AE_ERR_INVALID. */
AE_API int ae_encoder_latent_shape(const ae_encoder *enc, ae_shape *out);

/** Floats per latent (product of the latent shape); 0 for NULL. */
AE_API size_t ae_encoder_latent_size(const ae_encoder *enc);

/**
 * Encodes @p count samples: z = E(x) in inference mode.
 * @param x     count * input size floats
 * @param z     count * latent size floats (unspecified if the call fails)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0), AE_ERR_STATE (no layers),
 *         AE_ERR_NOMEM.
 */
AE_API int ae_encoder_encode(const ae_encoder *enc, const float *x, size_t count,
                             float *z);

#ifdef __cplusplus
}
#endif
#endif /* AE_ENCODER_H */
