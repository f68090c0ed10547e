/* SPDX-License-Identifier: MIT */
/**
 * @file ae/layer.h
 * @brief The built-in layer kinds: activations, initializers and their options.
 *
 * Layers are added to an encoder or a decoder (ae/encoder.h, ae/decoder.h).
 * Every built-in kind is registered under a type name (below) and goes
 * through the same vtable a custom layer uses (ae/sys/layer.h), so a model
 * built from type names and configs is what a model file stores.
 */
#ifndef AE_LAYER_H
#define AE_LAYER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Element-wise activation functions (values pinned; stored in model files). */
enum ae_activation {
    AE_ACT_IDENTITY = 0,   /**< f(x) = x */
    AE_ACT_RELU = 1,       /**< f(x) = max(0, x) */
    AE_ACT_LEAKY_RELU = 2, /**< f(x) = x > 0 ? x : slope * x (slope 0.01 unless set) */
    AE_ACT_SIGMOID = 3,    /**< f(x) = 1 / (1 + exp(-x)) */
    AE_ACT_TANH = 4        /**< f(x) = tanh(x) */
};

/** Weight initializers for dense layers (values pinned). Biases start at 0. */
enum ae_init {
    AE_INIT_GLOROT_UNIFORM = 0, /**< U(-a, a), a = sqrt(6 / (fan_in + fan_out)) (Keras default) */
    AE_INIT_GLOROT_NORMAL = 1,  /**< N(0, 2 / (fan_in + fan_out)) */
    AE_INIT_HE_UNIFORM = 2,     /**< U(-a, a), a = sqrt(6 / fan_in) */
    AE_INIT_HE_NORMAL = 3       /**< N(0, 2 / fan_in) */
};

/* Type names of the built-in layer kinds. */
#define AE_LAYER_DENSE "dense" /**< dense (fully connected) layer */
#define AE_LAYER_ACTIVATION "activation" /**< element-wise activation layer */
#define AE_LAYER_CONV2D "conv2d" /**< 2-d convolution layer */
#define AE_LAYER_CONV2D_TRANSPOSE "conv2d_transpose" /**< transposed 2-d convolution layer */
#define AE_LAYER_MAXPOOL2D "maxpool2d" /**< 2-d max pooling layer */
#define AE_LAYER_UPSAMPLE2D "upsample2d" /**< nearest-neighbour 2-d upsampling layer */
#define AE_LAYER_RESHAPE "reshape" /**< reshape layer */
#define AE_LAYER_FLATTEN "flatten" /**< flatten layer */
#define AE_LAYER_DROPOUT "dropout" /**< dropout layer */
#define AE_LAYER_BATCHNORM "batchnorm" /**< batch normalization layer */
/** Gaussian sampling layer of a variational autoencoder (since 1.1): takes
 *  2k values (k means, then k log-variances) and gives k. */
#define AE_LAYER_GAUSSIAN_SAMPLE "gaussian_sample"

/** Default slope of AE_ACT_LEAKY_RELU (PyTorch's). */
#define AE_LEAKY_RELU_SLOPE 0.01f

/**
 * Options of a dense (fully connected) layer: y = act(x W^T + b), with W of
 * shape units x inputs. Any input shape is flattened; the output is {units}.
 */
typedef struct ae_dense_options {
    uint32_t struct_size; /**< sizeof(ae_dense_options) */
    uint32_t units;       /**< output features, >= 1 */
    int activation;       /**< fused ae_activation applied to the output */
    int init;             /**< ae_init for the weights */
    int use_bias;         /**< 1 to add a bias (default), 0 for none */
    float slope;          /**< leaky-relu slope (used with AE_ACT_LEAKY_RELU) */
} ae_dense_options;

/** Defaults: 0 units (set them), identity, Glorot uniform, with bias. */
#define AE_DENSE_OPTIONS_INIT \
    {sizeof(ae_dense_options), 0, AE_ACT_IDENTITY, AE_INIT_GLOROT_UNIFORM, 1, \
     AE_LEAKY_RELU_SLOPE}

/* ------------------------------------------------------------------------ */
/* Spatial layers                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Tensor layout (said once, for every layer): float32, batch-first,
 * channel-first: an image batch is N x C x H x W (NCHW) and the per-sample
 * shape is {3, {C, H, W}}. Element (n, c, h, w) lives at
 * ((n * C + c) * H + h) * W + w. Spatial layers require rank-3 inputs.
 *
 * Convolution arithmetic. For one spatial axis, with input length `in`,
 * kernel k, stride s >= 1, dilation d >= 1, effective kernel
 * ke = d * (k - 1) + 1, pads p0 (top/left) and p1 (bottom/right):
 *
 *   conv2d, maxpool2d:  out = floor((in + p0 + p1 - ke) / s) + 1
 *     AE_PAD_VALID:     p0 = p1 = 0                    (needs in >= ke)
 *     AE_PAD_SAME:      out = ceil(in / s); total = max((out - 1) * s + ke - in, 0);
 *                       p0 = floor(total / 2), p1 = total - p0
 *                       (TensorFlow/Keras "same"; for stride 1 also PyTorch's
 *                       padding="same")
 *     AE_PAD_EXPLICIT:  p0, p1 as given (PyTorch's padding=p is p0 = p1 = p)
 *   Output position o reads input positions o * s - p0 + j * d, j < k;
 *   positions outside [0, in) are zeros (conv) or ignored (max pooling).
 *
 *   conv2d_transpose (the adjoint of conv2d: input position i adds into
 *   output positions i * s - p0 + j * d), with L = (in - 1) * s + ke and an
 *   output padding op (AE_OUTPUT_PADDING_AUTO or 0 <= op < max(s, d)):
 *     AE_PAD_EXPLICIT:  out = L - p0 - p1 + op
 *                       (PyTorch ConvTranspose2d(padding=p, output_padding=op)
 *                       with p0 = p1 = p; AUTO means op = 0)
 *     AE_PAD_VALID:     p0 = 0; out = L + op, AUTO: out = in * s + max(ke - s, 0)
 *     AE_PAD_SAME:      out = (in - 1) * s + ke - 2 * floor(ke / 2) + op,
 *                       AUTO: out = in * s; p0 = floor(max(L - out, 0) / 2)
 *                       (Keras Conv2DTranspose: its deconv_output_length
 *                       and TensorFlow's "SAME" alignment)
 *   Output positions that no input reaches hold the bias only.
 *
 * Weights are stored as PyTorch does: conv2d filters x C x kh x kw,
 * conv2d_transpose C x filters x kh x kw; biases have `filters` entries.
 * Initializers (ae_init) use fan_in = C * kh * kw and
 * fan_out = filters * kh * kw (for the transpose, fan_in = filters * kh * kw,
 * fan_out = C * kh * kw, as Keras and PyTorch count them).
 */

/** Padding modes of the spatial layers (values pinned; stored in model files). */
enum ae_padding {
    AE_PAD_VALID = 0,   /**< no padding */
    AE_PAD_SAME = 1,    /**< TensorFlow/Keras "same" (see above) */
    AE_PAD_EXPLICIT = 2 /**< pad_top, pad_bottom, pad_left, pad_right as given */
};

/** conv2d_transpose output padding meaning "as Keras with output_padding=None". */
#define AE_OUTPUT_PADDING_AUTO (-1)

/** Largest kernel, stride, dilation, pad, pool or upsampling factor (per axis). */
#define AE_SPATIAL_MAX 65535u

/**
 * Options of a 2-d convolution: y = act(conv(x, W) + b), input {C, H, W},
 * output {filters, OH, OW} (shape rules above). Cross-correlation, as in
 * PyTorch and Keras.
 */
typedef struct ae_conv2d_options {
    uint32_t struct_size; /**< sizeof(ae_conv2d_options) */
    uint32_t filters;     /**< output channels, >= 1 */
    /** @{ */
    uint32_t kernel_h, kernel_w;     /**< >= 1 */
    /** @} */
    /** @{ */
    uint32_t stride_h, stride_w;     /**< >= 1 (default 1) */
    /** @} */
    /** @{ */
    uint32_t dilation_h, dilation_w; /**< >= 1 (default 1) */
    /** @} */
    int padding;          /**< ae_padding (default AE_PAD_VALID, as Keras) */
    /** @{ */
    uint32_t pad_top, pad_bottom, pad_left, pad_right; /**< AE_PAD_EXPLICIT only; else 0 */
    /** @} */
    int activation;       /**< fused ae_activation */
    int init;             /**< ae_init for the weights */
    int use_bias;         /**< 1 (default) or 0 */
    float slope;          /**< leaky-relu slope */
} ae_conv2d_options;

/** Defaults: set filters and the kernel; stride 1, dilation 1, valid, identity, Glorot uniform, bias. */
#define AE_CONV2D_OPTIONS_INIT \
    {sizeof(ae_conv2d_options), 0, 0, 0, 1, 1, 1, 1, AE_PAD_VALID, 0, 0, 0, 0, \
     AE_ACT_IDENTITY, AE_INIT_GLOROT_UNIFORM, 1, AE_LEAKY_RELU_SLOPE}

/**
 * Options of a transposed 2-d convolution (the gradient of conv2d with
 * respect to its input, plus a bias): input {C, H, W}, output
 * {filters, OH, OW} (shape rules above).
 */
typedef struct ae_conv2d_transpose_options {
    uint32_t struct_size; /**< sizeof(ae_conv2d_transpose_options) */
    uint32_t filters;     /**< output channels, >= 1 */
    /** @{ */
    uint32_t kernel_h, kernel_w;     /**< >= 1 */
    /** @} */
    /** @{ */
    uint32_t stride_h, stride_w;     /**< >= 1 (default 1) */
    /** @} */
    /** @{ */
    uint32_t dilation_h, dilation_w; /**< >= 1 (default 1) */
    /** @} */
    int padding;          /**< ae_padding */
    /** @{ */
    uint32_t pad_top, pad_bottom, pad_left, pad_right; /**< AE_PAD_EXPLICIT only */
    /** @} */
    /** @{ */
    int32_t output_padding_h, output_padding_w; /**< AE_OUTPUT_PADDING_AUTO or 0 <= op < max(stride, dilation) */
    /** @} */
    int activation;       /**< fused ae_activation */
    int init;             /**< ae_init for the weights */
    int use_bias;         /**< 1 (default) or 0 */
    float slope;          /**< leaky-relu slope */
} ae_conv2d_transpose_options;

/** Defaults: set filters and the kernel; stride 1, valid, automatic output padding. */
#define AE_CONV2D_TRANSPOSE_OPTIONS_INIT \
    {sizeof(ae_conv2d_transpose_options), 0, 0, 0, 1, 1, 1, 1, AE_PAD_VALID, 0, 0, 0, 0, \
     AE_OUTPUT_PADDING_AUTO, AE_OUTPUT_PADDING_AUTO, AE_ACT_IDENTITY, \
     AE_INIT_GLOROT_UNIFORM, 1, AE_LEAKY_RELU_SLOPE}

/**
 * Options of 2-d max pooling: input {C, H, W}, output {C, OH, OW} (shape
 * rules above, dilation 1). Padded positions never win. Explicit pads must
 * be at most half the pool size (PyTorch's rule). The gradient goes to the
 * first maximum of each window in row-major order.
 */
typedef struct ae_pool2d_options {
    uint32_t struct_size; /**< sizeof(ae_pool2d_options) */
    /** @{ */
    uint32_t pool_h, pool_w;     /**< window, >= 1 */
    /** @} */
    /** @{ */
    uint32_t stride_h, stride_w; /**< 0 means the pool size (the default, as Keras) */
    /** @} */
    int padding;                 /**< ae_padding (default AE_PAD_VALID) */
    /** @{ */
    uint32_t pad_top, pad_bottom, pad_left, pad_right; /**< AE_PAD_EXPLICIT only */
    /** @} */
} ae_pool2d_options;

/** Defaults: 2x2 window, stride = window, valid. */
#define AE_POOL2D_OPTIONS_INIT \
    {sizeof(ae_pool2d_options), 2, 2, 0, 0, AE_PAD_VALID, 0, 0, 0, 0}

/**
 * Options of nearest-neighbour 2-d upsampling: {C, H, W} to
 * {C, H * size_h, W * size_w}; y[c][i][j] = x[c][i / size_h][j / size_w]
 * (Keras UpSampling2D, PyTorch Upsample(scale_factor, mode="nearest")).
 */
typedef struct ae_upsample2d_options {
    uint32_t struct_size; /**< sizeof(ae_upsample2d_options) */
    /** @{ */
    uint32_t size_h, size_w; /**< integer factors, >= 1 */
    /** @} */
} ae_upsample2d_options;

/** Defaults: factor 2 on both axes. */
#define AE_UPSAMPLE2D_OPTIONS_INIT {sizeof(ae_upsample2d_options), 2, 2}

/*
 * Reshape and flatten take no options struct: reshape takes the target
 * ae_shape (same number of floats; the data is not moved), flatten turns
 * any shape into {size}.
 */

/**
 * Options of (inverted) dropout: in training each value is zeroed with
 * probability @c rate and the others are scaled by 1 / (1 - rate), from the
 * training generator; in inference the layer is the identity.
 */
typedef struct ae_dropout_options {
    uint32_t struct_size; /**< sizeof(ae_dropout_options) */
    float rate;           /**< in [0, 1) */
} ae_dropout_options;

/** Defaults: rate 0.5. */
#define AE_DROPOUT_OPTIONS_INIT {sizeof(ae_dropout_options), 0.5f}

/**
 * Options of batch normalization over the first dimension: channels of a
 * {C, H, W} input (PyTorch BatchNorm2d) or features of a {F} input
 * (BatchNorm1d); statistics over the batch and the remaining dims.
 * Training: y = gamma * (x - mean) / sqrt(var + epsilon) + beta with the
 * batch's mean and biased variance; the running statistics become
 * (1 - momentum) * running + momentum * batch, the variance unbiased
 * (PyTorch's convention: Keras's momentum 0.99 is 0.01 here). Inference
 * uses the running statistics. gamma ("weight") and beta ("bias") are
 * trained; "running_mean" and "running_var" are the layer's state tensors
 * (state_count/state_get in ae/sys/layer.h): saved with the model, never
 * touched by the optimizer, not counted by *_param_count(). A training
 * batch with one value per channel normalizes to beta and leaves the
 * running variance alone (PyTorch refuses such a batch).
 */
typedef struct ae_batchnorm_options {
    uint32_t struct_size; /**< sizeof(ae_batchnorm_options) */
    float momentum;       /**< in [0, 1], default 0.1 */
    float epsilon;        /**< > 0, default 1e-5 */
} ae_batchnorm_options;

/** Defaults: PyTorch's (momentum 0.1, epsilon 1e-5). */
#define AE_BATCHNORM_OPTIONS_INIT {sizeof(ae_batchnorm_options), 0.1f, 1e-5f}

/**
 * Options of the Gaussian sampling layer of a variational autoencoder
 * (since 1.1; ae_encoder_add_gaussian_sample_ex()). In training the layer
 * adds beta * KL(q(z|x) || N(0, I)) to the loss, the KL divergence of the
 * diagonal Gaussian (mu, exp(lv)) from the standard normal, summed over the
 * latents and averaged over the batch:
 * -1/2 sum_j (1 + lv_j - mu_j^2 - exp(lv_j)). beta = 1 is the VAE of
 * Kingma and Welling (with a loss summed per sample,
 * AE_REDUCE_SUM_PER_SAMPLE, the training loss is the negative ELBO in nats
 * per sample); beta > 1 is the beta-VAE; beta = 0 trains without the term.
 */
typedef struct ae_gaussian_sample_options {
    uint32_t struct_size; /**< sizeof(ae_gaussian_sample_options) */
    float beta;           /**< weight of the KL term, finite and >= 0 */
} ae_gaussian_sample_options;

/** Defaults: beta 1. */
#define AE_GAUSSIAN_SAMPLE_OPTIONS_INIT {sizeof(ae_gaussian_sample_options), 1.0f}

/**
 * The name of an activation. Thread-safe.
 * @param activation  an ae_activation value (any int is accepted)
 * @return "identity", "relu", "leaky_relu", "sigmoid", "tanh", or "unknown"
 *         for any other value: a static string, never NULL.
 */
AE_API const char *ae_activation_name(int activation);

#ifdef __cplusplus
}
#endif
#endif /* AE_LAYER_H */
