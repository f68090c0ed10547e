/* SPDX-License-Identifier: MIT */
/*
 * onnx_models.h - the models the ONNX tests export and import: a dense
 * autoencoder and a convolutional one that together hold every built-in
 * kind (a VAE's Gaussian sample included), every padding mode and output
 * padding of the spatial kinds, fused
 * and separate activations; batch normalization gets non-trivial running
 * statistics; and a model with a custom kind whose vtable has the ONNX
 * export hook. Shared by tests/check_onnx.c and tests/onnx/helper.c.
 */
#ifndef AE_TESTS_ONNX_MODELS_H
#define AE_TESTS_ONNX_MODELS_H

#include <stdlib.h>
#include <string.h>

#include <ae.h>
#include <ae/sys/layer.h>

#include "nn/nn.h"

#define OM_CHECK(x)                \
    do {                           \
        if ((x) != AE_OK)          \
            goto fail;             \
    } while (0)

/* Running statistics as a trained model would have them. */
static void om_fill_states(ae__net *net, uint64_t seed)
{
    ae_param_view v[16];
    size_t n = ae__net_state_count(net);
    if (n > 16 || ae__net_states(net, v) != AE_OK)
        return;
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < v[i].count; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            float u = (float)(s >> 40) / 16777216.0f;
            v[i].value[k] = strcmp(v[i].name, "running_var") == 0 ? 0.5f + u : u - 0.5f;
        }
}

static int om_dense(ae_model **out)
{
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_shape in = {2, {4, 5, 0, 0}}, z = {1, {6, 0, 0, 0}}, back = {2, {4, 5, 0, 0}},
             mid = {2, {2, 10, 0, 0}};
    ae_dense_options d = AE_DENSE_OPTIONS_INIT;
    OM_CHECK(ae_encoder_create(&enc, &in, 7));
    OM_CHECK(ae_encoder_add_dense(enc, 16, AE_ACT_RELU));
    OM_CHECK(ae_encoder_add_dropout(enc, 0.25f));
    d.units = 12;
    d.activation = AE_ACT_LEAKY_RELU;
    d.slope = 0.2f;
    d.init = AE_INIT_HE_NORMAL;
    OM_CHECK(ae_encoder_add_dense_ex(enc, &d));
    OM_CHECK(ae_encoder_add_batchnorm(enc));
    OM_CHECK(ae_encoder_add_dense(enc, 6, AE_ACT_IDENTITY));
    OM_CHECK(ae_encoder_add_activation(enc, AE_ACT_TANH));
    OM_CHECK(ae_decoder_create(&dec, &z, 8));
    d = (ae_dense_options)AE_DENSE_OPTIONS_INIT;
    d.units = 16;
    d.use_bias = 0;
    d.activation = AE_ACT_SIGMOID;
    OM_CHECK(ae_decoder_add_dense_ex(dec, &d));
    OM_CHECK(ae_decoder_add_activation(dec, AE_ACT_LEAKY_RELU));
    OM_CHECK(ae_decoder_add_dense(dec, 20, AE_ACT_TANH));
    OM_CHECK(ae_decoder_add_activation(dec, AE_ACT_IDENTITY));
    OM_CHECK(ae_decoder_add_reshape(dec, &mid));
    OM_CHECK(ae_decoder_add_flatten(dec));
    OM_CHECK(ae_decoder_add_reshape(dec, &back));
    om_fill_states(&enc->net, 11);
    OM_CHECK(ae_model_create(out, enc, dec));
    return AE_OK;
fail:
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    return AE_ERR_INVALID;
}

static int om_conv(ae_model **out)
{
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_shape in = {3, {1, 12, 12, 0}}, z = {1, {10, 0, 0, 0}}, r = {3, {8, 3, 3, 0}};
    ae_conv2d_options c = AE_CONV2D_OPTIONS_INIT;
    ae_conv2d_transpose_options t = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    ae_pool2d_options p = AE_POOL2D_OPTIONS_INIT;
    OM_CHECK(ae_encoder_create(&enc, &in, 3));
    OM_CHECK(ae_encoder_add_conv2d(enc, 4, 3, 1, AE_PAD_SAME, AE_ACT_RELU));
    OM_CHECK(ae_encoder_add_batchnorm(enc));
    OM_CHECK(ae_encoder_add_maxpool2d(enc, 2, 0, AE_PAD_VALID));          /* 4x6x6 */
    c.filters = 8;
    c.kernel_h = c.kernel_w = 3;
    c.stride_h = c.stride_w = 2;
    c.padding = AE_PAD_EXPLICIT;
    c.pad_top = c.pad_bottom = c.pad_left = c.pad_right = 1;
    c.activation = AE_ACT_LEAKY_RELU;
    OM_CHECK(ae_encoder_add_conv2d_ex(enc, &c));                          /* 8x3x3 */
    OM_CHECK(ae_encoder_add_conv2d(enc, 8, 1, 1, AE_PAD_VALID, AE_ACT_TANH));
    OM_CHECK(ae_encoder_add_gaussian_sample(enc));                        /* 36: a VAE's mu */
    OM_CHECK(ae_encoder_add_dense(enc, 10, AE_ACT_IDENTITY));
    OM_CHECK(ae_decoder_create(&dec, &z, 4));
    OM_CHECK(ae_decoder_add_dense(dec, 72, AE_ACT_RELU));
    OM_CHECK(ae_decoder_add_reshape(dec, &r));
    t.filters = 4;
    t.kernel_h = t.kernel_w = 3;
    t.stride_h = t.stride_w = 2;
    t.padding = AE_PAD_EXPLICIT;
    t.pad_top = t.pad_bottom = t.pad_left = t.pad_right = 1;
    t.output_padding_h = t.output_padding_w = 1;
    OM_CHECK(ae_decoder_add_conv2d_transpose_ex(dec, &t));                /* 4x6x6 */
    OM_CHECK(ae_decoder_add_conv2d_transpose(dec, 4, 3, 2, AE_PAD_SAME, AE_ACT_RELU)); /* 4x12x12 */
    OM_CHECK(ae_decoder_add_conv2d_transpose(dec, 3, 2, 2, AE_PAD_VALID, AE_ACT_IDENTITY)); /* 3x24x24 */
    p.pool_h = p.pool_w = 3;
    p.stride_h = p.stride_w = 2;
    p.padding = AE_PAD_SAME;
    OM_CHECK(ae_decoder_add_maxpool2d_ex(dec, &p));                       /* 3x12x12 */
    OM_CHECK(ae_decoder_add_upsample2d(dec, 2, 2));                       /* 3x24x24 */
    p.pool_h = p.pool_w = 2;
    p.stride_h = p.stride_w = 2;
    p.padding = AE_PAD_EXPLICIT;
    p.pad_top = p.pad_left = 1;
    OM_CHECK(ae_decoder_add_maxpool2d_ex(dec, &p));                       /* 3x12x12 */
    OM_CHECK(ae_decoder_add_batchnorm(dec));
    OM_CHECK(ae_decoder_add_conv2d(dec, 1, 3, 1, AE_PAD_SAME, AE_ACT_SIGMOID));
    OM_CHECK(ae_decoder_add_dropout(dec, 0.1f));
    om_fill_states(&enc->net, 5);
    om_fill_states(&dec->net, 6);
    OM_CHECK(ae_model_create(out, enc, dec));
    return AE_OK;
fail:
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    return AE_ERR_INVALID;
}

/* ---- a custom kind with an ONNX export hook: y = x * scale ------------ */

typedef struct om_scale {
    size_t n;
    float *w, *dw;
} om_scale;

static int om_scale_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    om_scale *s = calloc(1, sizeof *s);
    if (s == NULL)
        return AE_ERR_NOMEM;
    s->n = ae__shape_size(&args->input);
    s->w = calloc(s->n, sizeof *s->w);
    s->dw = calloc(s->n, sizeof *s->dw);
    if (s->w == NULL || s->dw == NULL) {
        free(s->w);
        free(s->dw);
        free(s);
        return AE_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->n; i++)
        s->w[i] = 0.5f + 0.25f * (float)i;
    *output = args->input;
    *state = s;
    return AE_OK;
}

static void om_scale_destroy(void *state)
{
    om_scale *s = state;
    if (s != NULL) {
        free(s->w);
        free(s->dw);
        free(s);
    }
}

static size_t om_scale_count(const void *state)
{
    (void)state;
    return 1;
}

static int om_scale_get(void *state, size_t index, ae_param_view *v)
{
    om_scale *s = state;
    (void)index;
    v->name = "scale";
    v->value = s->w;
    v->grad = s->dw;
    v->count = s->n;
    v->shape.rank = 1;
    v->shape.dims[0] = (uint32_t)s->n;
    return AE_OK;
}

static int om_scale_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const om_scale *s = state;
    for (size_t b = 0; b < ctx->batch; b++)
        for (size_t i = 0; i < s->n; i++)
            y[b * s->n + i] = x[b * s->n + i] * s->w[i];
    return AE_OK;
}

/* The hook: ONNX's Mul, broadcasting the scale over the batch; with a
 * non-NULL user domain, the custom op "Scale" of that domain instead. */
static const char *om_scale_domain;
static int om_scale_onnx(const void *state, ae_layer_onnx_node *node)
{
    static const int64_t axes[1] = {1};
    static const ae_layer_onnx_attr attrs[1] = {{"axes", AE_ONNX_ATTR_INTS, 0.0f, 0, NULL, axes, 1}};
    (void)state;
    node->op_type = om_scale_domain ? "Scale" : "Mul";
    node->domain = om_scale_domain;
    node->attrs = om_scale_domain ? attrs : NULL;
    node->attr_count = om_scale_domain ? 1 : 0;
    node->params = 1;
    return AE_OK;
}

/* Registers "om_scale" (with the hook when hook is set); AE_ERR_EXISTS is fine. */
static int om_scale_register(int hook)
{
    ae_layer_vtable vt = AE_LAYER_VTABLE_INIT;
    vt.type_name = "om_scale";
    vt.create = om_scale_create;
    vt.destroy = om_scale_destroy;
    vt.param_count = om_scale_count;
    vt.param_get = om_scale_get;
    vt.forward = om_scale_forward;
    vt.onnx_node = hook ? om_scale_onnx : NULL;
    int rc = ae_layer_register(&vt, NULL, NULL);
    return rc == AE_ERR_EXISTS ? AE_OK : rc;
}

/* dense -> om_scale -> dense | dense: a model with a custom layer. */
static int om_custom(ae_model **out)
{
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_shape in = {1, {8, 0, 0, 0}}, z = {1, {3, 0, 0, 0}};
    OM_CHECK(ae_encoder_create(&enc, &in, 9));
    OM_CHECK(ae_encoder_add_dense(enc, 6, AE_ACT_RELU));
    OM_CHECK(ae_encoder_add_layer(enc, "om_scale", NULL, 0));
    OM_CHECK(ae_encoder_add_dense(enc, 3, AE_ACT_IDENTITY));
    OM_CHECK(ae_decoder_create(&dec, &z, 10));
    OM_CHECK(ae_decoder_add_dense(dec, 8, AE_ACT_SIGMOID));
    OM_CHECK(ae_model_create(out, enc, dec));
    return AE_OK;
fail:
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    return AE_ERR_INVALID;
}

/* Deterministic inputs in [0, 1). */
static void om_inputs(float *x, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)(s >> 40) / 16777216.0f;
    }
}

#endif
