/* SPDX-License-Identifier: MIT */
/* decoder.c - the public decoder handle: a net plus ownership rules. */
#include "ae/decoder.h"
#include "nn.h"

int ae_decoder_create_v(ae_decoder **out, const ae_shape *latent, uint64_t seed,
                        unsigned header_version)
{
    int rc = ae__check_header(header_version, "ae_decoder_create");
    if (rc < 0)
        return rc;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_decoder_create: out is NULL");
    ae_decoder *dec = ae__alloc(sizeof *dec);
    if (dec == NULL)
        return AE_ERR_NOMEM;
    if ((rc = ae__net_init(&dec->net, latent, seed, "ae_decoder_create")) < 0) {
        ae__free(dec);
        return rc;
    }
    *out = dec;
    return AE_OK;
}

void ae_decoder_destroy(ae_decoder *dec)
{
    if (dec == NULL)
        return;
    if (dec->net.owned) { /* the model frees it: freeing it here would free it twice */
        ae__error(AE_ERR_STATE, "ae_decoder_destroy: the decoder belongs to a model; "
                  "destroy the model (or take the decoder back with ae_model_release())");
        return;
    }
    ae__net_fini(&dec->net);
    ae__free(dec);
}

#define CHECK_DEC(dec, who) \
    if ((dec) == NULL)      \
        return ae__error(AE_ERR_INVALID, who ": decoder is NULL");

int ae_decoder_add_dense(ae_decoder *dec, uint32_t units, int activation)
{
    ae_dense_options o = AE_DENSE_OPTIONS_INIT;
    CHECK_DEC(dec, "ae_decoder_add_dense");
    o.units = units;
    o.activation = activation;
    return ae__net_add_dense(&dec->net, &o, "ae_decoder_add_dense");
}

int ae_decoder_add_dense_ex(ae_decoder *dec, const ae_dense_options *opts)
{
    CHECK_DEC(dec, "ae_decoder_add_dense_ex");
    return ae__net_add_dense(&dec->net, opts, "ae_decoder_add_dense_ex");
}

int ae_decoder_add_activation(ae_decoder *dec, int activation)
{
    CHECK_DEC(dec, "ae_decoder_add_activation");
    return ae__net_add_activation(&dec->net, activation, "ae_decoder_add_activation");
}

int ae_decoder_add_conv2d(ae_decoder *dec, uint32_t filters, uint32_t kernel, uint32_t stride, int padding,
                      int activation)
{
    ae_conv2d_options o = AE_CONV2D_OPTIONS_INIT;
    CHECK_DEC(dec, "ae_decoder_add_conv2d");
    o.filters = filters;
    o.kernel_h = o.kernel_w = kernel;
    o.stride_h = o.stride_w = stride;
    o.padding = padding;
    o.activation = activation;
    return ae__net_add_conv2d(&dec->net, &o, "ae_decoder_add_conv2d");
}

int ae_decoder_add_conv2d_ex(ae_decoder *dec, const ae_conv2d_options *opts)
{
    CHECK_DEC(dec, "ae_decoder_add_conv2d_ex");
    return ae__net_add_conv2d(&dec->net, opts, "ae_decoder_add_conv2d_ex");
}

int ae_decoder_add_conv2d_transpose(ae_decoder *dec, uint32_t filters, uint32_t kernel, uint32_t stride,
                                int padding, int activation)
{
    ae_conv2d_transpose_options o = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    CHECK_DEC(dec, "ae_decoder_add_conv2d_transpose");
    o.filters = filters;
    o.kernel_h = o.kernel_w = kernel;
    o.stride_h = o.stride_w = stride;
    o.padding = padding;
    o.activation = activation;
    return ae__net_add_conv2d_transpose(&dec->net, &o, "ae_decoder_add_conv2d_transpose");
}

int ae_decoder_add_conv2d_transpose_ex(ae_decoder *dec, const ae_conv2d_transpose_options *opts)
{
    CHECK_DEC(dec, "ae_decoder_add_conv2d_transpose_ex");
    return ae__net_add_conv2d_transpose(&dec->net, opts, "ae_decoder_add_conv2d_transpose_ex");
}

int ae_decoder_add_maxpool2d(ae_decoder *dec, uint32_t pool, uint32_t stride, int padding)
{
    ae_pool2d_options o = AE_POOL2D_OPTIONS_INIT;
    CHECK_DEC(dec, "ae_decoder_add_maxpool2d");
    o.pool_h = o.pool_w = pool;
    o.stride_h = o.stride_w = stride;
    o.padding = padding;
    return ae__net_add_maxpool2d(&dec->net, &o, "ae_decoder_add_maxpool2d");
}

int ae_decoder_add_maxpool2d_ex(ae_decoder *dec, const ae_pool2d_options *opts)
{
    CHECK_DEC(dec, "ae_decoder_add_maxpool2d_ex");
    return ae__net_add_maxpool2d(&dec->net, opts, "ae_decoder_add_maxpool2d_ex");
}

int ae_decoder_add_upsample2d(ae_decoder *dec, uint32_t size_h, uint32_t size_w)
{
    ae_upsample2d_options o = AE_UPSAMPLE2D_OPTIONS_INIT;
    CHECK_DEC(dec, "ae_decoder_add_upsample2d");
    o.size_h = size_h;
    o.size_w = size_w;
    return ae__net_add_upsample2d(&dec->net, &o, "ae_decoder_add_upsample2d");
}

int ae_decoder_add_upsample2d_ex(ae_decoder *dec, const ae_upsample2d_options *opts)
{
    CHECK_DEC(dec, "ae_decoder_add_upsample2d_ex");
    return ae__net_add_upsample2d(&dec->net, opts, "ae_decoder_add_upsample2d_ex");
}

int ae_decoder_add_reshape(ae_decoder *dec, const ae_shape *shape)
{
    CHECK_DEC(dec, "ae_decoder_add_reshape");
    return ae__net_add_reshape(&dec->net, shape, "ae_decoder_add_reshape");
}

int ae_decoder_add_flatten(ae_decoder *dec)
{
    CHECK_DEC(dec, "ae_decoder_add_flatten");
    return ae__net_add_flatten(&dec->net, "ae_decoder_add_flatten");
}

int ae_decoder_add_dropout(ae_decoder *dec, float rate)
{
    ae_dropout_options o = AE_DROPOUT_OPTIONS_INIT;
    CHECK_DEC(dec, "ae_decoder_add_dropout");
    o.rate = rate;
    return ae__net_add_dropout(&dec->net, &o, "ae_decoder_add_dropout");
}

int ae_decoder_add_dropout_ex(ae_decoder *dec, const ae_dropout_options *opts)
{
    CHECK_DEC(dec, "ae_decoder_add_dropout_ex");
    return ae__net_add_dropout(&dec->net, opts, "ae_decoder_add_dropout_ex");
}

int ae_decoder_add_batchnorm(ae_decoder *dec)
{
    ae_batchnorm_options o = AE_BATCHNORM_OPTIONS_INIT;
    CHECK_DEC(dec, "ae_decoder_add_batchnorm");
    return ae__net_add_batchnorm(&dec->net, &o, "ae_decoder_add_batchnorm");
}

int ae_decoder_add_batchnorm_ex(ae_decoder *dec, const ae_batchnorm_options *opts)
{
    CHECK_DEC(dec, "ae_decoder_add_batchnorm_ex");
    return ae__net_add_batchnorm(&dec->net, opts, "ae_decoder_add_batchnorm_ex");
}

int ae_decoder_add_layer(ae_decoder *dec, const char *type_name, const void *config,
                         size_t config_size)
{
    CHECK_DEC(dec, "ae_decoder_add_layer");
    return ae__net_add(&dec->net, type_name, config, config_size, "ae_decoder_add_layer");
}

size_t ae_decoder_layer_count(const ae_decoder *dec) { return dec ? dec->net.n : 0; }

size_t ae_decoder_param_count(const ae_decoder *dec)
{
    return dec ? ae__net_param_floats(&dec->net) : 0;
}

int ae_decoder_latent_shape(const ae_decoder *dec, ae_shape *out)
{
    if (dec == NULL || out == NULL)
        return AE__NULL_ARG("ae_decoder_latent_shape", dec, out);
    *out = dec->net.input;
    return AE_OK;
}

int ae_decoder_output_shape(const ae_decoder *dec, ae_shape *out)
{
    if (dec == NULL || out == NULL)
        return AE__NULL_ARG("ae_decoder_output_shape", dec, out);
    *out = dec->net.output;
    return AE_OK;
}

size_t ae_decoder_output_size(const ae_decoder *dec) { return dec ? dec->net.out_size : 0; }

int ae_decoder_decode(const ae_decoder *dec, const float *z, size_t count, float *x)
{
    if (dec == NULL || z == NULL || x == NULL)
        return AE__NULL_ARG("ae_decoder_decode", dec, z, x);
    int rc = ae__check_count(count, AE__MAX(dec->net.in_size, dec->net.out_size), sizeof(float),
                             "count", "ae_decoder_decode");
    if (rc < 0)
        return rc;
    const ae__net *nets[1] = {&dec->net};
    return ae__chain_run(nets, 1, z, count, x, "ae_decoder_decode");
}
