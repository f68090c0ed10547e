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
        return ae__error(AE_ERR_INVALID, "ae_encoder_input_shape: encoder or out is NULL");
    *out = enc->net.input;
    return AE_OK;
}

int ae_encoder_latent_shape(const ae_encoder *enc, ae_shape *out)
{
    if (enc == NULL || out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_encoder_latent_shape: encoder or out is NULL");
    *out = enc->net.output;
    return AE_OK;
}

size_t ae_encoder_latent_size(const ae_encoder *enc) { return enc ? enc->net.out_size : 0; }

int ae_encoder_encode(const ae_encoder *enc, const float *x, size_t count, float *z)
{
    if (enc == NULL || x == NULL || z == NULL)
        return ae__error(AE_ERR_INVALID, "ae_encoder_encode: encoder, x or z is NULL");
    if (count == 0)
        return ae__error(AE_ERR_INVALID, "ae_encoder_encode: count is 0");
    const ae__net *nets[1] = {&enc->net};
    return ae__chain_run(nets, 1, x, count, z, "ae_encoder_encode");
}
