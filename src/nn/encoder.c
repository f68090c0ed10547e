/* SPDX-License-Identifier: MIT */
/* encoder.c - the public encoder handle: a net plus ownership rules. */
#include "ae/encoder.h"
#include "nn.h"

int ae_encoder_create_v(ae_encoder **out, const ae_shape *input, uint64_t seed,
                        unsigned header_version)
{
    int rc = ae__check_header(header_version, "ae_encoder_create");
    if (rc < 0)
        return rc;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_encoder_create: out is NULL");
    ae_encoder *enc = ae__alloc(sizeof *enc);
    if (enc == NULL)
        return AE_ERR_NOMEM;
    if ((rc = ae__net_init(&enc->net, input, seed, "ae_encoder_create")) < 0) {
        ae__free(enc);
        return rc;
    }
    *out = enc;
    return AE_OK;
}

void ae_encoder_destroy(ae_encoder *enc)
{
    if (enc == NULL)
        return;
    if (enc->net.owned) { /* the model frees it: freeing it here would free it twice */
        ae__error(AE_ERR_STATE, "ae_encoder_destroy: the encoder belongs to a model; "
                  "destroy the model (or take the encoder back with ae_model_release())");
        return;
    }
    ae__net_fini(&enc->net);
    ae__free(enc);
}

#define CHECK_ENC(enc, who) \
    if ((enc) == NULL)      \
        return ae__error(AE_ERR_INVALID, who ": encoder is NULL");

int ae_encoder_add_dense(ae_encoder *enc, uint32_t units, int activation)
{
    ae_dense_options o = AE_DENSE_OPTIONS_INIT;
    CHECK_ENC(enc, "ae_encoder_add_dense");
    o.units = units;
    o.activation = activation;
    return ae__net_add_dense(&enc->net, &o, "ae_encoder_add_dense");
}

int ae_encoder_add_dense_ex(ae_encoder *enc, const ae_dense_options *opts)
{
    CHECK_ENC(enc, "ae_encoder_add_dense_ex");
    return ae__net_add_dense(&enc->net, opts, "ae_encoder_add_dense_ex");
}

int ae_encoder_add_activation(ae_encoder *enc, int activation)
{
    CHECK_ENC(enc, "ae_encoder_add_activation");
    return ae__net_add_activation(&enc->net, activation, "ae_encoder_add_activation");
}

int ae_encoder_add_conv2d(ae_encoder *enc, uint32_t filters, uint32_t kernel, uint32_t stride, int padding,
                      int activation)
{
    ae_conv2d_options o = AE_CONV2D_OPTIONS_INIT;
    CHECK_ENC(enc, "ae_encoder_add_conv2d");
    o.filters = filters;
    o.kernel_h = o.kernel_w = kernel;
    o.stride_h = o.stride_w = stride;
    o.padding = padding;
    o.activation = activation;
    return ae__net_add_conv2d(&enc->net, &o, "ae_encoder_add_conv2d");
}

int ae_encoder_add_conv2d_ex(ae_encoder *enc, const ae_conv2d_options *opts)
{
    CHECK_ENC(enc, "ae_encoder_add_conv2d_ex");
    return ae__net_add_conv2d(&enc->net, opts, "ae_encoder_add_conv2d_ex");
}

int ae_encoder_add_conv2d_transpose(ae_encoder *enc, uint32_t filters, uint32_t kernel, uint32_t stride,
                                int padding, int activation)
{
    ae_conv2d_transpose_options o = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    CHECK_ENC(enc, "ae_encoder_add_conv2d_transpose");
    o.filters = filters;
    o.kernel_h = o.kernel_w = kernel;
    o.stride_h = o.stride_w = stride;
    o.padding = padding;
    o.activation = activation;
    return ae__net_add_conv2d_transpose(&enc->net, &o, "ae_encoder_add_conv2d_transpose");
}

int ae_encoder_add_conv2d_transpose_ex(ae_encoder *enc, const ae_conv2d_transpose_options *opts)
{
    CHECK_ENC(enc, "ae_encoder_add_conv2d_transpose_ex");
    return ae__net_add_conv2d_transpose(&enc->net, opts, "ae_encoder_add_conv2d_transpose_ex");
}

int ae_encoder_add_maxpool2d(ae_encoder *enc, uint32_t pool, uint32_t stride, int padding)
{
    ae_pool2d_options o = AE_POOL2D_OPTIONS_INIT;
    CHECK_ENC(enc, "ae_encoder_add_maxpool2d");
    o.pool_h = o.pool_w = pool;
    o.stride_h = o.stride_w = stride;
    o.padding = padding;
    return ae__net_add_maxpool2d(&enc->net, &o, "ae_encoder_add_maxpool2d");
}

int ae_encoder_add_maxpool2d_ex(ae_encoder *enc, const ae_pool2d_options *opts)
{
    CHECK_ENC(enc, "ae_encoder_add_maxpool2d_ex");
    return ae__net_add_maxpool2d(&enc->net, opts, "ae_encoder_add_maxpool2d_ex");
}

int ae_encoder_add_upsample2d(ae_encoder *enc, uint32_t size_h, uint32_t size_w)
{
    ae_upsample2d_options o = AE_UPSAMPLE2D_OPTIONS_INIT;
    CHECK_ENC(enc, "ae_encoder_add_upsample2d");
    o.size_h = size_h;
    o.size_w = size_w;
    return ae__net_add_upsample2d(&enc->net, &o, "ae_encoder_add_upsample2d");
}

int ae_encoder_add_upsample2d_ex(ae_encoder *enc, const ae_upsample2d_options *opts)
{
    CHECK_ENC(enc, "ae_encoder_add_upsample2d_ex");
    return ae__net_add_upsample2d(&enc->net, opts, "ae_encoder_add_upsample2d_ex");
}

int ae_encoder_add_reshape(ae_encoder *enc, const ae_shape *shape)
{
    CHECK_ENC(enc, "ae_encoder_add_reshape");
    return ae__net_add_reshape(&enc->net, shape, "ae_encoder_add_reshape");
}

int ae_encoder_add_flatten(ae_encoder *enc)
{
    CHECK_ENC(enc, "ae_encoder_add_flatten");
    return ae__net_add_flatten(&enc->net, "ae_encoder_add_flatten");
}

int ae_encoder_add_dropout(ae_encoder *enc, float rate)
{
    ae_dropout_options o = AE_DROPOUT_OPTIONS_INIT;
    CHECK_ENC(enc, "ae_encoder_add_dropout");
    o.rate = rate;
    return ae__net_add_dropout(&enc->net, &o, "ae_encoder_add_dropout");
}

int ae_encoder_add_dropout_ex(ae_encoder *enc, const ae_dropout_options *opts)
{
    CHECK_ENC(enc, "ae_encoder_add_dropout_ex");
    return ae__net_add_dropout(&enc->net, opts, "ae_encoder_add_dropout_ex");
}

int ae_encoder_add_batchnorm(ae_encoder *enc)
{
    ae_batchnorm_options o = AE_BATCHNORM_OPTIONS_INIT;
    CHECK_ENC(enc, "ae_encoder_add_batchnorm");
    return ae__net_add_batchnorm(&enc->net, &o, "ae_encoder_add_batchnorm");
}

int ae_encoder_add_batchnorm_ex(ae_encoder *enc, const ae_batchnorm_options *opts)
{
    CHECK_ENC(enc, "ae_encoder_add_batchnorm_ex");
    return ae__net_add_batchnorm(&enc->net, opts, "ae_encoder_add_batchnorm_ex");
}

int ae_encoder_add_layer(ae_encoder *enc, const char *type_name, const void *config,
                         size_t config_size)
{
    CHECK_ENC(enc, "ae_encoder_add_layer");
    return ae__net_add(&enc->net, type_name, config, config_size, "ae_encoder_add_layer");
}

size_t ae_encoder_layer_count(const ae_encoder *enc) { return enc ? enc->net.n : 0; }

size_t ae_encoder_param_count(const ae_encoder *enc)
{
    return enc ? ae__net_param_floats(&enc->net) : 0;
}

int ae_encoder_input_shape(const ae_encoder *enc, ae_shape *out)
{
    if (enc == NULL || out == NULL)
        return AE__NULL_ARG("ae_encoder_input_shape", enc, out);
    *out = enc->net.input;
    return AE_OK;
}

int ae_encoder_latent_shape(const ae_encoder *enc, ae_shape *out)
{
    if (enc == NULL || out == NULL)
        return AE__NULL_ARG("ae_encoder_latent_shape", enc, out);
    *out = enc->net.output;
    return AE_OK;
}

size_t ae_encoder_latent_size(const ae_encoder *enc) { return enc ? enc->net.out_size : 0; }

int ae_encoder_encode(const ae_encoder *enc, const float *x, size_t count, float *z)
{
    if (enc == NULL || x == NULL || z == NULL)
        return AE__NULL_ARG("ae_encoder_encode", enc, x, z);
    int rc = ae__check_count(count, AE__MAX(enc->net.in_size, enc->net.out_size), sizeof(float),
                             "count", "ae_encoder_encode");
    if (rc < 0)
        return rc;
    const ae__net *nets[1] = {&enc->net};
    return ae__chain_run(nets, 1, x, count, z, "ae_encoder_encode");
}
