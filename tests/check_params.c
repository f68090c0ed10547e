/* SPDX-License-Identifier: MIT */
/* check_params.c - parameter access (ae/params.h): tensor enumeration with
 * PyTorch names, copying values out and in, the flat vector, freezing and
 * the model summary; every function's error paths. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

/* {1, 8, 8} -> conv2d(4, 3x3, same) -> batchnorm -> flatten -> dense(6)
 * | dense(256) -> reshape {4, 8, 8} -> conv2d_transpose(1, 3x3) */
static ae_model *make_conv_model(void)
{
    const ae_shape in = {3, {1, 8, 8, 0}}, lat = {1, {6, 0, 0, 0}}, img = {3, {4, 8, 8, 0}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ae_conv2d_transpose_options up = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    up.filters = 1;
    up.kernel_h = up.kernel_w = 3;
    up.padding = AE_PAD_SAME;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_conv2d(enc, 4, 3, 1, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_encoder_add_batchnorm(enc), AE_OK);
    ck_assert_int_eq(ae_encoder_add_flatten(enc), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 6, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 256, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_add_reshape(dec, &img), AE_OK);
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose_ex(dec, &up), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

START_TEST(tensors_are_listed_with_pytorch_names_and_layouts)
{
    ae_model *m = make_conv_model();
    static const struct {
        const char *name;
        int role;
        uint32_t rank, d0, d1, d2, d3;
    } want[] = {
        {"encoder.0.weight", AE_TENSOR_PARAMETER, 4, 4, 1, 3, 3},
        {"encoder.0.bias", AE_TENSOR_PARAMETER, 1, 4, 0, 0, 0},
        {"encoder.1.weight", AE_TENSOR_PARAMETER, 1, 4, 0, 0, 0},
        {"encoder.1.bias", AE_TENSOR_PARAMETER, 1, 4, 0, 0, 0},
        {"encoder.1.running_mean", AE_TENSOR_STATE, 1, 4, 0, 0, 0},
        {"encoder.1.running_var", AE_TENSOR_STATE, 1, 4, 0, 0, 0},
        {"encoder.3.weight", AE_TENSOR_PARAMETER, 2, 6, 256, 0, 0},
        {"encoder.3.bias", AE_TENSOR_PARAMETER, 1, 6, 0, 0, 0},
        {"decoder.0.weight", AE_TENSOR_PARAMETER, 2, 256, 6, 0, 0},
        {"decoder.0.bias", AE_TENSOR_PARAMETER, 1, 256, 0, 0, 0},
        {"decoder.2.weight", AE_TENSOR_PARAMETER, 4, 4, 1, 3, 3}, /* {C_in, F, kh, kw} */
        {"decoder.2.bias", AE_TENSOR_PARAMETER, 1, 1, 0, 0, 0},
    };
    const size_t n = sizeof want / sizeof want[0];
    ck_assert_uint_eq(ae_model_tensor_count(m), n);
    ck_assert_uint_eq(ae_encoder_tensor_count(ae_model_encoder(m)), 8);
    ck_assert_uint_eq(ae_decoder_tensor_count(ae_model_decoder(m)), 4);
    size_t params = 0, states = 0;
    for (size_t i = 0; i < n; i++) {
        ae_tensor_info t = AE_TENSOR_INFO_INIT;
        ck_assert_int_eq(ae_model_tensor_info(m, i, &t), AE_OK);
        ck_assert_str_eq(t.name, want[i].name);
        ck_assert_int_eq(t.role, want[i].role);
        ck_assert_uint_eq(t.shape.rank, want[i].rank);
        const uint32_t d[4] = {want[i].d0, want[i].d1, want[i].d2, want[i].d3};
        size_t prod = 1;
        for (uint32_t k = 0; k < t.shape.rank; k++) {
            ck_assert_uint_eq(t.shape.dims[k], d[k]);
            prod *= d[k];
        }
        ck_assert_uint_eq(t.count, prod);
        ck_assert_int_eq(t.part, i < 8 ? AE_PART_ENCODER : AE_PART_DECODER);
        ck_assert_int_eq(t.trainable, t.role == AE_TENSOR_PARAMETER);
        ck_assert_uint_eq(t.offset, t.role == AE_TENSOR_PARAMETER ? params : states);
        if (t.role == AE_TENSOR_PARAMETER)
            params += t.count;
        else
            states += t.count;
        size_t found;
        ck_assert_int_eq(ae_model_tensor_find(m, want[i].name, &found), AE_OK);
        ck_assert_uint_eq(found, i);
        /* The encoder's and decoder's own lists name them alike. */
        ae_tensor_info u = AE_TENSOR_INFO_INIT;
        if (i < 8)
            ck_assert_int_eq(ae_encoder_tensor_info(ae_model_encoder(m), i, &u), AE_OK);
        else
            ck_assert_int_eq(ae_decoder_tensor_info(ae_model_decoder(m), i - 8, &u), AE_OK);
        ck_assert_str_eq(u.name, t.name);
    }
    ae_tensor_info t = AE_TENSOR_INFO_INIT;
    ck_assert_int_eq(ae_model_tensor_info(m, 3, &t), AE_OK);
    ck_assert_str_eq(t.layer_kind, AE_LAYER_BATCHNORM);
    ck_assert_uint_eq(t.layer, 1);
    ck_assert_uint_eq(params, ae_model_param_count(m));
    ck_assert_uint_eq(params, ae_model_trainable_count(m));
    ae_model_destroy(m);
}
END_TEST

START_TEST(values_copy_out_and_in)
{
    ae_model *m = make_conv_model();
    const size_t np = ae_model_param_count(m);
    float *flat = malloc(np * sizeof *flat), *back = malloc(np * sizeof *back);
    float x[64], y1[64], y2[64];
    uint64_t st = 3;
    for (int i = 0; i < 64; i++)
        x[i] = test_rand_uniform(&st);
    ck_assert_int_eq(ae_model_params_get(m, flat, np), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(m, x, 1, y1), AE_OK);

    /* Tensor by tensor agrees with the flat vector. */
    ae_tensor_info t = AE_TENSOR_INFO_INIT;
    size_t dec0;
    ck_assert_int_eq(ae_model_tensor_find(m, "decoder.0.bias", &dec0), AE_OK);
    ck_assert_int_eq(ae_model_tensor_info(m, dec0, &t), AE_OK);
    float bias[256], zeros[256] = {0};
    ck_assert_int_eq(ae_model_tensor_get(m, dec0, bias, 256), AE_OK);
    ck_assert_mem_eq(bias, flat + t.offset, sizeof bias);
    ck_assert_int_eq(ae_decoder_tensor_get(ae_model_decoder(m), 1, bias, 256), AE_OK);
    ck_assert_mem_eq(bias, flat + t.offset, sizeof bias);

    /* Setting changes what the model computes; setting back restores it. */
    for (int i = 0; i < 256; i++)
        bias[i] = 0.5f;
    ck_assert_int_eq(ae_model_tensor_set(m, dec0, bias, 256), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(m, x, 1, y2), AE_OK);
    ck_assert(memcmp(y1, y2, sizeof y1) != 0);
    ck_assert_int_eq(ae_model_params_get(m, back, np), AE_OK);
    ck_assert_float_eq(back[t.offset + 7], 0.5f);
    ck_assert_int_eq(ae_model_params_set(m, flat, np), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(m, x, 1, y2), AE_OK);
    ck_assert_mem_eq(y1, y2, sizeof y1);

    /* State tensors too, and through the encoder's own functions. */
    size_t rv;
    float var[4] = {2, 2, 2, 2}, got[4];
    ck_assert_int_eq(ae_model_tensor_find(m, "encoder.1.running_var", &rv), AE_OK);
    ck_assert_int_eq(ae_encoder_tensor_set(ae_model_encoder(m), rv, var, 4), AE_OK);
    ck_assert_int_eq(ae_model_tensor_get(m, rv, got, 4), AE_OK);
    ck_assert_mem_eq(got, var, sizeof var);
    ck_assert_int_eq(ae_encoder_tensor_get(ae_model_encoder(m), rv, got, 4), AE_OK);
    ck_assert_mem_eq(got, var, sizeof var);
    ck_assert_int_eq(ae_decoder_tensor_set(ae_model_decoder(m), 1, zeros, 256), AE_OK);
    ck_assert_int_eq(ae_model_tensor_get(m, dec0, bias, 256), AE_OK);
    ck_assert_mem_eq(bias, zeros, sizeof zeros);
    free(flat);
    free(back);
    ae_model_destroy(m);
}
END_TEST

START_TEST(parameter_access_rejects_bad_arguments)
{
    ae_model *m = make_conv_model();
    ae_encoder *enc = ae_model_encoder(m);
    ae_decoder *dec = ae_model_decoder(m);
    ae_tensor_info t = AE_TENSOR_INFO_INIT;
    float v[16] = {0};
    size_t idx = 99;
    ck_assert_uint_eq(ae_model_tensor_count(NULL), 0);
    ck_assert_uint_eq(ae_encoder_tensor_count(NULL), 0);
    ck_assert_uint_eq(ae_decoder_tensor_count(NULL), 0);
    ck_assert_uint_eq(ae_model_trainable_count(NULL), 0);
    ck_assert_int_eq(ae_model_tensor_info(NULL, 0, &t), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_info(m, 0, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_tensor_info(NULL, 0, &t), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_tensor_info(NULL, 0, &t), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_info(m, 12, &t), AE_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "12"));
    ck_assert_int_eq(ae_encoder_tensor_info(enc, 8, &t), AE_ERR_NOT_FOUND);
    ck_assert_int_eq(ae_decoder_tensor_info(dec, 4, &t), AE_ERR_NOT_FOUND);
    t.struct_size = 4;
    ck_assert_int_eq(ae_model_tensor_info(m, 0, &t), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_find(NULL, "encoder.0.bias", &idx), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_find(m, NULL, &idx), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_find(m, "encoder.0.bias", NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_find(m, "encoder.0.gamma", &idx), AE_ERR_NOT_FOUND);
    ck_assert_uint_eq(idx, 99);

    ck_assert_int_eq(ae_model_tensor_get(NULL, 1, v, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_get(m, 1, NULL, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_get(m, 12, v, 4), AE_ERR_NOT_FOUND);
    ck_assert_int_eq(ae_model_tensor_get(m, 1, v, 5), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "encoder.0.bias"));
    ck_assert_int_eq(ae_model_tensor_set(NULL, 1, v, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_set(m, 1, NULL, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_set(m, 12, v, 4), AE_ERR_NOT_FOUND);
    ck_assert_int_eq(ae_model_tensor_set(m, 1, v, 3), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_encoder_tensor_get(NULL, 1, v, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_tensor_get(enc, 1, NULL, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_tensor_set(NULL, 1, v, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_tensor_set(enc, 1, NULL, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_tensor_set(enc, 1, v, 1), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_decoder_tensor_get(NULL, 1, v, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_tensor_get(dec, 1, NULL, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_tensor_get(dec, 9, v, 1), AE_ERR_NOT_FOUND);
    ck_assert_int_eq(ae_decoder_tensor_set(NULL, 3, v, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_tensor_set(dec, 3, NULL, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_tensor_set(dec, 3, v, 2), AE_ERR_SHAPE);

    /* A NaN or an infinity changes nothing. */
    float before[4], after[4], bad[4] = {1, 2, NAN, 4};
    ck_assert_int_eq(ae_model_tensor_get(m, 1, before, 4), AE_OK);
    ck_assert_int_eq(ae_model_tensor_set(m, 1, bad, 4), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "value 2"));
    bad[2] = INFINITY;
    ck_assert_int_eq(ae_encoder_tensor_set(enc, 1, bad, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_get(m, 1, after, 4), AE_OK);
    ck_assert_mem_eq(before, after, sizeof before);

    const size_t np = ae_model_param_count(m);
    float *flat = calloc(np, sizeof *flat);
    ck_assert_int_eq(ae_model_params_get(NULL, flat, np), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_params_get(m, NULL, np), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_params_get(m, flat, np - 1), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_model_params_set(NULL, flat, np), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_params_set(m, NULL, np), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_params_set(m, flat, np + 1), AE_ERR_SHAPE);
    flat[np - 1] = NAN;
    ck_assert_int_eq(ae_model_params_set(m, flat, np), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_tensor_get(m, 1, after, 4), AE_OK);
    ck_assert_mem_eq(before, after, sizeof before);
    free(flat);
    ae_model_destroy(m);
}
END_TEST

START_TEST(freezing_marks_layers_and_counts)
{
    ae_model *m = make_conv_model();
    ae_encoder *enc = ae_model_encoder(m);
    ae_decoder *dec = ae_model_decoder(m);
    const size_t np = ae_model_param_count(m);
    ck_assert_int_eq(ae_encoder_set_trainable(enc, AE_ALL_LAYERS, 0), AE_OK);
    ae_tensor_info t = AE_TENSOR_INFO_INIT;
    ck_assert_int_eq(ae_model_tensor_info(m, 0, &t), AE_OK);
    ck_assert_int_eq(t.trainable, 0);
    ck_assert_int_eq(ae_model_tensor_info(m, 8, &t), AE_OK);
    ck_assert_int_eq(t.trainable, 1);
    ck_assert_uint_eq(ae_model_trainable_count(m), np - (36 + 4 + 4 + 4 + 1536 + 6));
    ck_assert_uint_eq(ae_model_param_count(m), np); /* frozen ones still count */
    ck_assert_int_eq(ae_encoder_set_trainable(enc, 3, 1), AE_OK);
    ck_assert_uint_eq(ae_model_trainable_count(m), np - (36 + 4 + 4 + 4));
    ck_assert_int_eq(ae_decoder_set_trainable(dec, 2, 0), AE_OK);
    ck_assert_uint_eq(ae_model_trainable_count(m), np - (36 + 4 + 4 + 4) - 37);
    ck_assert_int_eq(ae_encoder_set_trainable(enc, AE_ALL_LAYERS, 1), AE_OK);
    ck_assert_int_eq(ae_decoder_set_trainable(dec, AE_ALL_LAYERS, 1), AE_OK);
    ck_assert_uint_eq(ae_model_trainable_count(m), np);

    ck_assert_int_eq(ae_encoder_set_trainable(NULL, 0, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_set_trainable(NULL, 0, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_set_trainable(enc, 0, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_set_trainable(dec, 0, -1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_set_trainable(enc, 4, 0), AE_ERR_NOT_FOUND);
    ck_assert_int_eq(ae_decoder_set_trainable(dec, 3, 0), AE_ERR_NOT_FOUND);
    ck_assert_uint_eq(ae_model_trainable_count(m), np);
    ae_model_destroy(m);
}
END_TEST

START_TEST(summary_is_written_like_keras)
{
    ae_model *m = make_conv_model();
    ck_assert_int_eq(ae_decoder_set_trainable(ae_model_decoder(m), 2, 0), AE_OK);
    size_t len = 0;
    ck_assert_int_eq(ae_model_summary(m, NULL, 0, &len), AE_OK);
    ck_assert_uint_gt(len, 100);
    char *buf = malloc(len + 1);
    size_t len2 = 0;
    ck_assert_int_eq(ae_model_summary(m, buf, len + 1, &len2), AE_OK);
    ck_assert_uint_eq(len2, len);
    ck_assert_uint_eq(strlen(buf), len);
    ck_assert_ptr_nonnull(strstr(buf, "encoder.1"));
    ck_assert_ptr_nonnull(strstr(buf, "batchnorm"));
    ck_assert_ptr_nonnull(strstr(buf, "conv2d_transpose"));
    ck_assert_ptr_nonnull(strstr(buf, "{4, 8, 8}"));
    ck_assert_ptr_nonnull(strstr(buf, "frozen"));
    char total[128];
    snprintf(total, sizeof total, "Parameters: %zu (trainable %zu, frozen 37); state values: 8",
             ae_model_param_count(m), ae_model_param_count(m) - 37);
    ck_assert_msg(strstr(buf, total) != NULL, "%s", buf);
    /* Too small: the start, NUL-terminated, and AE_ERR_LIMIT. */
    char small[20];
    ck_assert_int_eq(ae_model_summary(m, small, sizeof small, &len2), AE_ERR_LIMIT);
    ck_assert_uint_eq(len2, len);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert(strncmp(small, buf, sizeof small - 1) == 0);
    ck_assert_int_eq(ae_model_summary(m, buf, len, NULL), AE_ERR_LIMIT);
    ck_assert_int_eq(ae_model_summary(NULL, buf, len, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_summary(m, NULL, 10, NULL), AE_ERR_INVALID);
    free(buf);
    ae_model_destroy(m);
}
END_TEST

/* Every built-in kind's config, as a saved file holds it, decoded. */
START_TEST(layer_settings_are_decoded)
{
    const ae_shape in = {3, {1, 8, 8, 0}}, lat = {3, {2, 4, 4, 0}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ae_conv2d_options co = AE_CONV2D_OPTIONS_INIT;
    co.filters = 2;
    co.kernel_h = co.kernel_w = 3;
    co.padding = AE_PAD_EXPLICIT;
    co.pad_top = co.pad_bottom = co.pad_left = co.pad_right = 1;
    co.activation = AE_ACT_LEAKY_RELU;
    co.slope = 0.2f;
    co.init = AE_INIT_HE_NORMAL;
    co.use_bias = 0;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_conv2d_ex(enc, &co), AE_OK);
    ck_assert_int_eq(ae_encoder_add_maxpool2d(enc, 2, 2, AE_PAD_VALID), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dropout(enc, 0.25f), AE_OK);
    ck_assert_int_eq(ae_encoder_add_batchnorm(enc), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_upsample2d(dec, 2, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 3, 1, AE_PAD_SAME, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_decoder_add_flatten(dec), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 10, AE_ACT_TANH), AE_OK);
    ck_assert_int_eq(ae_decoder_add_activation(dec, AE_ACT_RELU), AE_OK);
    const ae_shape back = {3, {1, 2, 5, 0}};
    ck_assert_int_eq(ae_decoder_add_reshape(dec, &back), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    void *data;
    size_t size;
    ck_assert_int_eq(ae_model_save_memory(m, &data, &size, NULL), AE_OK);
    ae_file *f;
    ck_assert_int_eq(ae_file_open_memory(&f, data, size, NULL), AE_OK);
    static const char *const want[] = {
        "filters=2 kernel=3x3 stride=1x1 dilation=1x1 padding=explicit(1,1,1,1) "
        "activation=leaky_relu slope=0.2 init=he_normal bias=no",
        "pool=2x2 stride=2x2 padding=valid",
        "rate=0.25",
        "momentum=0.1 epsilon=1e-05",
        "size=2x2",
        "filters=1 kernel=3x3 stride=1x1 dilation=1x1 padding=same activation=sigmoid "
        "init=glorot_uniform bias=yes",
        "",
        "units=10 activation=tanh init=glorot_uniform bias=yes",
        "activation=relu",
        "shape={1, 2, 5}",
    };
    for (size_t i = 0; i < 10; i++) {
        ae_file_layer l = AE_FILE_LAYER_INIT;
        char buf[256];
        size_t len = 0;
        ck_assert_int_eq(ae_file_get_layer(f, i, &l), AE_OK);
        ck_assert_int_eq(ae_layer_describe(l.type_name, l.config, l.config_size, buf, sizeof buf,
                                           &len), AE_OK);
        ck_assert_str_eq(buf, want[i]);
        ck_assert_uint_eq(len, strlen(want[i]));
    }
    /* the transposed convolution, which the model above does not hold */
    ae_decoder *d2;
    ae_conv2d_transpose_options up = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    up.filters = 3;
    up.kernel_h = up.kernel_w = 3;
    up.stride_h = up.stride_w = 2;
    up.padding = AE_PAD_SAME;
    up.output_padding_h = up.output_padding_w = 1;
    ck_assert_int_eq(ae_decoder_create(&d2, &lat, 3), AE_OK);
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose_ex(d2, &up), AE_OK);
    void *d2data;
    size_t d2size;
    ae_file *f2;
    ck_assert_int_eq(ae_decoder_save_memory(d2, &d2data, &d2size, NULL), AE_OK);
    ck_assert_int_eq(ae_file_open_memory(&f2, d2data, d2size, NULL), AE_OK);
    ae_file_layer l = AE_FILE_LAYER_INIT;
    char buf[256], tiny[8];
    ck_assert_int_eq(ae_file_get_layer(f2, 0, &l), AE_OK);
    ck_assert_int_eq(ae_layer_describe(l.type_name, l.config, l.config_size, buf, sizeof buf, NULL),
                     AE_OK);
    ck_assert_str_eq(buf, "filters=3 kernel=3x3 stride=2x2 dilation=1x1 padding=same "
                          "output_padding=1x1 activation=identity init=glorot_uniform bias=yes");
    /* errors */
    size_t len = 0;
    ck_assert_int_eq(ae_layer_describe(l.type_name, l.config, l.config_size, tiny, sizeof tiny,
                                       &len), AE_ERR_LIMIT);
    ck_assert_uint_eq(len, strlen(buf));
    ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
    ck_assert_int_eq(ae_layer_describe(l.type_name, l.config, l.config_size, NULL, 0, &len), AE_OK);
    ck_assert_int_eq(ae_layer_describe(NULL, l.config, l.config_size, buf, sizeof buf, NULL),
                     AE_ERR_INVALID);
    ck_assert_int_eq(ae_layer_describe("dense", NULL, 20, buf, sizeof buf, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_layer_describe("dense", l.config, l.config_size, NULL, 4, NULL),
                     AE_ERR_INVALID);
    ck_assert_int_eq(ae_layer_describe("dense", l.config, l.config_size, buf, sizeof buf, NULL),
                     AE_ERR_NOT_FOUND); /* a 72-byte config is not a dense one */
    ck_assert_int_eq(ae_layer_describe("my.kind", NULL, 0, buf, sizeof buf, NULL), AE_ERR_NOT_FOUND);
    ae_file_close(f);
    ae_file_close(f2);
    ae_buffer_free(data);
    ae_buffer_free(d2data);
    ae_decoder_destroy(d2);
    ae_model_destroy(m);
}
END_TEST

Suite *ae_params_suite(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("params");
    tcase_add_test(tc, tensors_are_listed_with_pytorch_names_and_layouts);
    tcase_add_test(tc, values_copy_out_and_in);
    tcase_add_test(tc, parameter_access_rejects_bad_arguments);
    tcase_add_test(tc, freezing_marks_layers_and_counts);
    tcase_add_test(tc, summary_is_written_like_keras);
    tcase_add_test(tc, layer_settings_are_decoded);
    suite_add_tcase(s, tc);
    return s;
}
