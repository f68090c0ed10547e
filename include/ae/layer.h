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

/** Type names of the built-in layer kinds. */
#define AE_LAYER_DENSE "dense"
#define AE_LAYER_ACTIVATION "activation"

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

/** The name of an activation ("relu"...), or "unknown". Never NULL. */
AE_API const char *ae_activation_name(int activation);

#ifdef __cplusplus
}
#endif
#endif /* AE_LAYER_H */
