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
        return ae__error(AE_ERR_INVALID, "ae_decoder_latent_shape: decoder or out is NULL");
    *out = dec->net.input;
    return AE_OK;
}

int ae_decoder_output_shape(const ae_decoder *dec, ae_shape *out)
{
    if (dec == NULL || out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_decoder_output_shape: decoder or out is NULL");
    *out = dec->net.output;
    return AE_OK;
}

size_t ae_decoder_output_size(const ae_decoder *dec) { return dec ? dec->net.out_size : 0; }

int ae_decoder_decode(const ae_decoder *dec, const float *z, size_t count, float *x)
{
    if (dec == NULL || z == NULL || x == NULL)
        return ae__error(AE_ERR_INVALID, "ae_decoder_decode: decoder, z or x is NULL");
    if (count == 0)
        return ae__error(AE_ERR_INVALID, "ae_decoder_decode: count is 0");
    const ae__net *nets[1] = {&dec->net};
    return ae__chain_run(nets, 1, z, count, x, "ae_decoder_decode");
}
