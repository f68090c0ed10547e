/* SPDX-License-Identifier: MIT */
/*
 * onnx_models.h - the models the ONNX tests export and import: a dense
 * autoencoder and a convolutional one that together hold every built-in
 * kind, every padding mode and output padding of the spatial kinds, fused
 * and separate activations; batch normalization gets non-trivial running
 * statistics. Shared by tests/check_onnx.c and tests/onnx/helper.c.
 */
#ifndef AE_TESTS_ONNX_MODELS_H
#define AE_TESTS_ONNX_MODELS_H

#include <string.h>

#include <ae.h>

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
    ae_shape in = {2, {4, 5, 0, 0}}, z = {1, {6, 0, 0, 0}}, back = {2, {4, 5, 0, 0}};
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
    OM_CHECK(ae_encoder_add_flatten(enc));
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
