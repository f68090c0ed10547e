/* SPDX-License-Identifier: MIT */
/*
 * activation.c - element-wise activation layer; the shape is unchanged.
 * Config (8 bytes, little-endian): u32 activation, f32 leaky slope.
 */
#include <string.h>

#include "core/kernels.h"
#include "core/core.h"
#include "layer.h"

#define AE__ACTIVATION_CONFIG_SIZE 8 /* activation, slope */

typedef struct activation {
    size_t size; /* floats per sample */
    int act;
    float slope;
} activation;

/* The adder's value is the activation; the slope is the default. */
size_t ae__activation_config(unsigned char *out, const void *opts);
size_t ae__activation_config(unsigned char *out, const void *opts)
{
    ae__le32(out, (uint32_t)*(const int *)opts);
    ae__lef32(out + 4, AE_LEAKY_RELU_SLOPE);
    return AE__ACTIVATION_CONFIG_SIZE;
}

static int activation_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    if (args->config_size != AE__ACTIVATION_CONFIG_SIZE || args->config == NULL)
        return ae__error(AE_ERR_INVALID, "activation: config is %zu bytes, expected %d",
                         args->config_size, AE__ACTIVATION_CONFIG_SIZE);
    uint32_t act = ae__rd32(args->config);
    float slope = ae__rdf32((const unsigned char *)args->config + 4);
    if (!ae__activation_valid((int)act))
        return ae__error(AE_ERR_INVALID, "activation: unknown activation %d", (int)act);
    if (!(slope >= 0.0f && slope <= 1e6f))
        return ae__error(AE_ERR_INVALID, "activation: leaky slope %g must be finite and >= 0",
                         (double)slope);
    activation *a = ae__alloc(sizeof *a);
    if (a == NULL)
        return AE_ERR_NOMEM;
    a->size = ae__shape_size(&args->input);
    a->act = (int)act;
    a->slope = slope;
    *output = args->input;
    *state = a;
    return AE_OK;
}

static void activation_destroy(void *state) { ae__free(state); }

static int activation_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const activation *a = state;
    size_t n = ctx->batch * a->size;
    if (y != x)
        memcpy(y, x, n * sizeof(float));
    ae__activate(a->act, a->slope, y, n);
    return AE_OK;
}

static int activation_backward(void *state, const ae_layer_ctx *ctx, const float *x,
                               const float *y, const float *dy, float *dx)
{
    const activation *a = state;
    (void)x;
    if (dx != NULL)
        ae__activation_grad(a->act, a->slope, y, dy, dx, ctx->batch * a->size);
    return AE_OK;
}

const ae_layer_vtable ae__activation_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_ACTIVATION,
    .type_version = 1,
    .create = activation_create,
    .destroy = activation_destroy,
    .forward = activation_forward,
    .backward = activation_backward,
};

const char *ae_activation_name(int act)
{
    switch (act) {
    case AE_ACT_IDENTITY: return "identity";
    case AE_ACT_RELU: return "relu";
    case AE_ACT_LEAKY_RELU: return "leaky_relu";
    case AE_ACT_SIGMOID: return "sigmoid";
    case AE_ACT_TANH: return "tanh";
    default: return "unknown";
    }
}
