/* SPDX-License-Identifier: MIT */
/**
 * @file ae/params.h
 * @brief Parameter access: the tensors of an encoder, a decoder or a model
 *        (names, shapes, roles), copying their values out and in, freezing
 *        layers, and a Keras-like model summary.
 *
 * Every layer holds zero or more tensors of float32: parameters (trained by
 * the optimizer: a dense layer's "weight" and "bias") and state tensors
 * (kept besides them and stored in model files, changed only by the layer
 * itself: batch normalization's "running_mean" and "running_var"). The
 * tensors are listed layer by layer, encoder first, each layer's parameters
 * before its state tensors: index 0 .. ae_model_tensor_count() - 1. Their
 * names follow PyTorch's state_dict keys: "encoder.<layer>.<tensor>" and
 * "decoder.<layer>.<tensor>" (also for an encoder or decoder on its own), so
 * weights move between the two by name.
 *
 * @code
 * size_t n = ae_model_tensor_count(model), i;
 * ae_tensor_info info = AE_TENSOR_INFO_INIT;
 * for (i = 0; i < n; i++) {
 *     ae_model_tensor_info(model, i, &info);
 *     // look info.name up in the PyTorch state_dict, check info.shape,
 *     ae_model_tensor_set(model, i, torch_values, info.count);
 * }
 * @endcode
 *
 * Mapping from PyTorch's state_dict (the layouts are PyTorch's, row-major,
 * so values copy over unchanged):
 * | PyTorch module                 | libae layer              | tensors, shapes |
 * |---|---|---|
 * | nn.Linear(in, out)             | dense (units = out)      | weight {out, in}, bias {out} |
 * | nn.Conv2d(C, F, k)             | conv2d (filters = F)     | weight {F, C, kh, kw}, bias {F} |
 * | nn.ConvTranspose2d(C, F, k)    | conv2d_transpose         | weight {C, F, kh, kw}, bias {F} |
 * | nn.BatchNorm1d/2d(C)           | batchnorm                | weight {C}, bias {C} (parameters); running_mean {C}, running_var {C} (state) |
 *
 * Layers without tensors (activations, pooling, reshape, flatten, dropout,
 * upsampling) take an index in the name but hold nothing, as in an
 * nn.Sequential. BatchNorm's num_batches_tracked has no counterpart (libae
 * uses a fixed momentum, PyTorch's default behaviour); momentum has
 * PyTorch's meaning. Samples are row-major {C, H, W} as PyTorch's NCHW, so
 * a flatten/dense pair maps without permuting. Keras kernels need
 * transposing (Dense: {in, out} to {out, in}; Conv2D: {kh, kw, C, F} to
 * {F, C, kh, kw}).
 *
 * Thread safety: the getters only read (several threads may read at once);
 * the setters and freezing need the object to themselves (not while it
 * trains or infers).
 */
#ifndef AE_PARAMS_H
#define AE_PARAMS_H

#include "common.h"
#include "decoder.h"
#include "encoder.h"
#include "model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which part of a model a tensor or layer belongs to (values pinned). */
enum ae_part {
    AE_PART_ENCODER = 0, /**< the encoder */
    AE_PART_DECODER = 1  /**< the decoder */
};

/** What a tensor is (values pinned). */
enum ae_tensor_role {
    AE_TENSOR_PARAMETER = 0, /**< trained by the optimizer */
    AE_TENSOR_STATE = 1      /**< kept by the layer (running statistics) */
};

/** Longest tensor name, in bytes without the terminating NUL. */
#define AE_TENSOR_NAME_MAX 127

/** One tensor, as ae_model_tensor_info() describes it. */
typedef struct ae_tensor_info {
    uint32_t struct_size;   /**< sizeof(ae_tensor_info) as compiled by the caller */
    char name[AE_TENSOR_NAME_MAX + 1]; /**< "encoder.0.weight": part, layer
                                            index, the layer's tensor name */
    const char *layer_kind; /**< the layer's kind ("dense"), valid while the
                                 object lives */
    int part;               /**< ae_part */
    size_t layer;           /**< layer index within its encoder or decoder */
    int role;               /**< ae_tensor_role */
    int trainable;          /**< 1: a parameter the optimizer updates; 0: a
                                 state tensor, or a parameter of a frozen
                                 layer */
    ae_shape shape;         /**< its logical shape (product == count) */
    size_t count;           /**< floats */
    size_t offset;          /**< parameters: where it starts in the vector of
                                 ae_model_params_get(); state tensors: in
                                 the concatenation of the state tensors */
} ae_tensor_info;

/** Initializer: struct_size set, the rest zero. */
#define AE_TENSOR_INFO_INIT {sizeof(ae_tensor_info), {0}, NULL, 0, 0, 0, 0, {0, {0, 0, 0, 0}}, 0, 0}

/**
 * Number of tensors (parameters and state tensors) of the model: encoder
 * and decoder.
 * @param model  the model, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_model_tensor_count(const ae_model *model);
/**
 * Number of tensors of an encoder (on its own or in a model).
 * @param enc  the encoder, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_encoder_tensor_count(const ae_encoder *enc);
/**
 * Number of tensors of a decoder (on its own or in a model).
 * @param dec  the decoder, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_decoder_tensor_count(const ae_decoder *dec);

/**
 * Describes tensor @p index of the model.
 * @param model      the model (only read)
 * @param index      0 .. ae_model_tensor_count() - 1
 * @param[out] info  filled up to its struct_size (set it first:
 *                   AE_TENSOR_INFO_INIT); untouched on failure
 * @return AE_OK, AE_ERR_INVALID (NULL, struct_size too small),
 *         AE_ERR_NOT_FOUND (index out of range), or what a custom
 *         layer's param_get()/state_get() returns.
 */
AE_API int ae_model_tensor_info(const ae_model *model, size_t index, ae_tensor_info *info);
/**
 * Describes tensor @p index of an encoder (names start with "encoder.").
 * @param enc        the encoder (only read)
 * @param index      0 .. ae_encoder_tensor_count() - 1
 * @param[out] info  as ae_model_tensor_info()
 * @return as ae_model_tensor_info().
 */
AE_API int ae_encoder_tensor_info(const ae_encoder *enc, size_t index, ae_tensor_info *info);
/**
 * Describes tensor @p index of a decoder (names start with "decoder.";
 * offsets count from the decoder's first tensor).
 * @param dec        the decoder (only read)
 * @param index      0 .. ae_decoder_tensor_count() - 1
 * @param[out] info  as ae_model_tensor_info()
 * @return as ae_model_tensor_info().
 */
AE_API int ae_decoder_tensor_info(const ae_decoder *dec, size_t index, ae_tensor_info *info);

/**
 * Finds a tensor of the model by its name ("decoder.2.running_var").
 * @param model       the model (only read)
 * @param name        the name, as ae_tensor_info.name
 * @param[out] index  its index (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL) or AE_ERR_NOT_FOUND (no such name).
 */
AE_API int ae_model_tensor_find(const ae_model *model, const char *name, size_t *index);

/**
 * Copies the values of tensor @p index out.
 * @param model     the model (only read)
 * @param index     the tensor
 * @param[out] dst  @p count floats (untouched on failure)
 * @param count     must be the tensor's count
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOT_FOUND (index out of
 *         range), AE_ERR_SHAPE (count is not the tensor's).
 */
AE_API int ae_model_tensor_get(const ae_model *model, size_t index, float *dst, size_t count);
/**
 * Copies values into tensor @p index (a parameter or a state tensor). The
 * tensor keeps its address, so an optimizer bound to the model keeps its
 * state (reset it yourself when the new values start a new training).
 * @param model  the model (changed)
 * @param index  the tensor
 * @param src    @p count floats, all finite
 * @param count  must be the tensor's count
 * @return AE_OK, AE_ERR_INVALID (NULL, a value NaN or infinite; nothing
 *         is changed), AE_ERR_NOT_FOUND (index out of range), AE_ERR_SHAPE
 *         (count is not the tensor's).
 */
AE_API int ae_model_tensor_set(ae_model *model, size_t index, const float *src, size_t count);
/**
 * ae_model_tensor_get() for an encoder.
 * @param enc       the encoder (only read)
 * @param index     the tensor
 * @param[out] dst  @p count floats
 * @param count     the tensor's count
 * @return as ae_model_tensor_get().
 */
AE_API int ae_encoder_tensor_get(const ae_encoder *enc, size_t index, float *dst, size_t count);
/**
 * ae_model_tensor_set() for an encoder.
 * @param enc    the encoder (changed)
 * @param index  the tensor
 * @param src    @p count floats
 * @param count  the tensor's count
 * @return as ae_model_tensor_set().
 */
AE_API int ae_encoder_tensor_set(ae_encoder *enc, size_t index, const float *src, size_t count);
/**
 * ae_model_tensor_get() for a decoder.
 * @param dec       the decoder (only read)
 * @param index     the tensor
 * @param[out] dst  @p count floats
 * @param count     the tensor's count
 * @return as ae_model_tensor_get().
 */
AE_API int ae_decoder_tensor_get(const ae_decoder *dec, size_t index, float *dst, size_t count);
/**
 * ae_model_tensor_set() for a decoder.
 * @param dec    the decoder (changed)
 * @param index  the tensor
 * @param src    @p count floats
 * @param count  the tensor's count
 * @return as ae_model_tensor_set().
 */
AE_API int ae_decoder_tensor_set(ae_decoder *dec, size_t index, const float *src, size_t count);

/**
 * Copies every parameter of the model (not the state tensors; frozen
 * layers' included) into one vector, tensor after tensor in index order
 * (ae_tensor_info.offset gives each one's place). Use it to compare or
 * broadcast weights.
 * @param model     the model (only read)
 * @param[out] dst  @p count floats (untouched on failure)
 * @param count     must be ae_model_param_count()
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_SHAPE (count differs).
 */
AE_API int ae_model_params_get(const ae_model *model, float *dst, size_t count);
/**
 * The reverse of ae_model_params_get(): sets every parameter from one
 * vector.
 * @param model  the model (changed)
 * @param src    @p count floats, all finite
 * @param count  must be ae_model_param_count()
 * @return AE_OK, AE_ERR_INVALID (NULL, a value NaN or infinite; nothing
 *         is changed), AE_ERR_SHAPE (count differs).
 */
AE_API int ae_model_params_set(ae_model *model, const float *src, size_t count);

/** ae_encoder_set_trainable() / ae_decoder_set_trainable(): every layer. */
#define AE_ALL_LAYERS ((size_t)-1)

/**
 * Freezes (@p trainable 0) or unfreezes (1) one layer of an encoder, or all
 * of them with AE_ALL_LAYERS. Training leaves a frozen layer's parameters
 * bit for bit as they are and gives them no optimizer state: a frozen layer
 * is like PyTorch's requires_grad = False (it still runs as in training:
 * dropout drops, batch normalization normalizes with the batch statistics
 * and updates its running statistics). Layers in front of every trainable
 * one are not even differentiated. New layers start trainable; the flag is
 * not stored in model files. An optimizer bound to the model before the
 * change refuses it (AE_ERR_STATE) until ae_optimizer_reset().
 * @param enc        the encoder (alone or in a model; not while it trains)
 * @param layer      the layer index, or AE_ALL_LAYERS
 * @param trainable  1 or 0
 * @return AE_OK, AE_ERR_INVALID (NULL, trainable not 0 or 1),
 *         AE_ERR_NOT_FOUND (no such layer).
 */
AE_API int ae_encoder_set_trainable(ae_encoder *enc, size_t layer, int trainable);
/**
 * ae_encoder_set_trainable() for a decoder.
 * @param dec        the decoder
 * @param layer      the layer index, or AE_ALL_LAYERS
 * @param trainable  1 or 0
 * @return as ae_encoder_set_trainable().
 */
AE_API int ae_decoder_set_trainable(ae_decoder *dec, size_t layer, int trainable);
/**
 * Floats of the parameters training updates: ae_model_param_count() less
 * the frozen layers'. The gradient buffer of a step handle (ae/step.h) has
 * this many floats.
 * @param model  the model, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_model_trainable_count(const ae_model *model);

/**
 * Writes a Keras-like summary of the model into @p buf: one line per layer
 * (part and index, kind, output shape, parameters, "frozen" when frozen),
 * then the totals (parameters, trainable, frozen, state values). Like
 * snprintf(), it writes at most @p size bytes including the NUL and tells
 * the full length, so a first call with size 0 sizes the buffer.
 * @param model        the model (only read)
 * @param[out] buf     @p size bytes, or NULL when @p size is 0; always
 *                     NUL-terminated when size > 0
 * @param size         bytes of @p buf
 * @param[out] length  the full text's length without the NUL, or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL model, NULL buf with size > 0) or
 *         AE_ERR_LIMIT (the text did not fit: @p buf holds its start).
 */
AE_API int ae_model_summary(const ae_model *model, char *buf, size_t size, size_t *length);

/**
 * A built-in layer kind's config blob (as a model file stores it:
 * ae_file_layer.config) as text: "filters=16 kernel=3x3 stride=2x2
 * dilation=1x1 padding=same activation=relu init=glorot_uniform bias=yes".
 * Like snprintf(), it writes at most @p size bytes including the NUL and
 * tells the full length. Thread-safe.
 * @param type_name    the kind ("conv2d")
 * @param config       @p config_size bytes (NULL when 0)
 * @param config_size  bytes of @p config
 * @param[out] buf     @p size bytes, or NULL when @p size is 0
 * @param size         bytes of @p buf
 * @param[out] length  the text's length without the NUL, or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOT_FOUND (not a built-in
 *         kind, or a config of another size: a custom kind's bytes are its
 *         own) or AE_ERR_LIMIT (it did not fit: @p buf holds the start).
 */
AE_API int ae_layer_describe(const char *type_name, const void *config, size_t config_size,
                             char *buf, size_t size, size_t *length);

#ifdef __cplusplus
}
#endif
#endif /* AE_PARAMS_H */
