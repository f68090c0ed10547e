/* SPDX-License-Identifier: MIT */
/*
 * handle.h - the public encoder and decoder functions, written once and
 * stamped twice (as zstd stamps its variants): encoder.c and decoder.c each
 * define the names below and include this file. No include guard.
 *
 *   AE__H           encoder | decoder   (ae_<AE__H>_* functions, messages)
 *   AE__H_IN_SHAPE  the getter of the input shape  (input_shape | latent_shape)
 *   AE__H_OUT_SHAPE the getter of the output shape (latent_shape | output_shape)
 *   AE__H_OUT_SIZE  the getter of the output size  (latent_size | output_size)
 *   AE__H_RUN       inference                       (encode | decode)
 *   AE__H_X, AE__H_Y  the names of its input and output ("x", "z" | "z", "x")
 *   AE__H_INPUT     the create() parameter's name   (input | latent)
 *
 * A built-in kind's public adders: one AE__ADD_EX line (options struct) or a
 * hand-written wrapper over ae__net_add_builtin() below.
 */
#define AE__CAT_(a, b) a##b
#define AE__CAT(a, b) AE__CAT_(a, b)
#define AE__STR_(x) #x
#define AE__STR(x) AE__STR_(x)
#define FN(s) AE__CAT(AE__CAT(ae_, AE__H), AE__CAT(_, s))
#define WHO(s) "ae_" AE__STR(AE__H) "_" AE__STR(s)
#define NAME AE__STR(AE__H)

/* Handle type: ae_encoder or ae_decoder. */
typedef AE__CAT(ae_, AE__H) handle;

#define CHECK(h, s)    \
    if ((h) == NULL)   \
        return ae__error(AE_ERR_INVALID, WHO(s) ": " NAME " is NULL");

int FN(create_v)(handle **out, const ae_shape *AE__H_INPUT, uint64_t seed, unsigned header_version)
{
    int rc = ae__check_header(header_version, WHO(create));
    if (rc < 0)
        return rc;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, WHO(create) ": out is NULL");
    handle *h = ae__alloc(sizeof *h);
    if (h == NULL)
        return AE_ERR_NOMEM;
    if ((rc = ae__net_init(&h->net, AE__H_INPUT, seed, WHO(create))) < 0) {
        ae__free(h);
        return rc;
    }
    *out = h;
    return AE_OK;
}

void FN(destroy)(handle *h)
{
    if (h == NULL)
        return;
    if (h->net.owned) { /* the model frees it: freeing it here would free it twice */
        ae__error(AE_ERR_STATE, WHO(destroy) ": the " NAME " belongs to a model; "
                  "destroy the model (or take the " NAME " back with ae_model_release())");
        return;
    }
    ae__net_fini(&h->net);
    ae__free(h);
}

/* ---- adders: every one goes through ae__net_add_builtin() --------------- */

#define AE__ADD_EX(kind, T, type_name)                                           \
    int FN(add_##kind##_ex)(handle *h, const T *opts)                           \
    {                                                                           \
        CHECK(h, add_##kind##_ex);                                              \
        return ae__net_add_builtin(&h->net, type_name, opts, WHO(add_##kind##_ex)); \
    }

AE__ADD_EX(dense, ae_dense_options, AE_LAYER_DENSE)
AE__ADD_EX(conv2d, ae_conv2d_options, AE_LAYER_CONV2D)
AE__ADD_EX(conv2d_transpose, ae_conv2d_transpose_options, AE_LAYER_CONV2D_TRANSPOSE)
AE__ADD_EX(maxpool2d, ae_pool2d_options, AE_LAYER_MAXPOOL2D)
AE__ADD_EX(upsample2d, ae_upsample2d_options, AE_LAYER_UPSAMPLE2D)
AE__ADD_EX(dropout, ae_dropout_options, AE_LAYER_DROPOUT)
AE__ADD_EX(batchnorm, ae_batchnorm_options, AE_LAYER_BATCHNORM)
AE__ADD_EX(gaussian_sample, ae_gaussian_sample_options, AE_LAYER_GAUSSIAN_SAMPLE)

int FN(add_dense)(handle *h, uint32_t units, int activation)
{
    ae_dense_options o = AE_DENSE_OPTIONS_INIT;
    CHECK(h, add_dense);
    o.units = units;
    o.activation = activation;
    return ae__net_add_builtin(&h->net, AE_LAYER_DENSE, &o, WHO(add_dense));
}

int FN(add_activation)(handle *h, int activation)
{
    CHECK(h, add_activation);
    return ae__net_add_builtin(&h->net, AE_LAYER_ACTIVATION, &activation, WHO(add_activation));
}

/* Both convolutions' square-kernel adders. */
#define AE__ADD_CONV(kind, T, init, type_name)                                           \
    int FN(add_##kind)(handle *h, uint32_t filters, uint32_t kernel, uint32_t stride,     \
                       int padding, int activation)                                     \
    {                                                                                   \
        T o = init;                                                                     \
        CHECK(h, add_##kind);                                                           \
        o.filters = filters;                                                            \
        o.kernel_h = o.kernel_w = kernel;                                               \
        o.stride_h = o.stride_w = stride;                                               \
        o.padding = padding;                                                            \
        o.activation = activation;                                                      \
        return ae__net_add_builtin(&h->net, type_name, &o, WHO(add_##kind));            \
    }

AE__ADD_CONV(conv2d, ae_conv2d_options, AE_CONV2D_OPTIONS_INIT, AE_LAYER_CONV2D)
AE__ADD_CONV(conv2d_transpose, ae_conv2d_transpose_options, AE_CONV2D_TRANSPOSE_OPTIONS_INIT,
             AE_LAYER_CONV2D_TRANSPOSE)

int FN(add_maxpool2d)(handle *h, uint32_t pool, uint32_t stride, int padding)
{
    ae_pool2d_options o = AE_POOL2D_OPTIONS_INIT;
    CHECK(h, add_maxpool2d);
    o.pool_h = o.pool_w = pool;
    o.stride_h = o.stride_w = stride;
    o.padding = padding;
    return ae__net_add_builtin(&h->net, AE_LAYER_MAXPOOL2D, &o, WHO(add_maxpool2d));
}

int FN(add_upsample2d)(handle *h, uint32_t size_h, uint32_t size_w)
{
    ae_upsample2d_options o = AE_UPSAMPLE2D_OPTIONS_INIT;
    CHECK(h, add_upsample2d);
    o.size_h = size_h;
    o.size_w = size_w;
    return ae__net_add_builtin(&h->net, AE_LAYER_UPSAMPLE2D, &o, WHO(add_upsample2d));
}

int FN(add_reshape)(handle *h, const ae_shape *shape)
{
    CHECK(h, add_reshape);
    return ae__net_add_builtin(&h->net, AE_LAYER_RESHAPE, shape, WHO(add_reshape));
}

int FN(add_flatten)(handle *h)
{
    CHECK(h, add_flatten);
    return ae__net_add_builtin(&h->net, AE_LAYER_FLATTEN, NULL, WHO(add_flatten));
}

int FN(add_dropout)(handle *h, float rate)
{
    ae_dropout_options o = AE_DROPOUT_OPTIONS_INIT;
    CHECK(h, add_dropout);
    o.rate = rate;
    return ae__net_add_builtin(&h->net, AE_LAYER_DROPOUT, &o, WHO(add_dropout));
}

int FN(add_batchnorm)(handle *h)
{
    ae_batchnorm_options o = AE_BATCHNORM_OPTIONS_INIT;
    CHECK(h, add_batchnorm);
    return ae__net_add_builtin(&h->net, AE_LAYER_BATCHNORM, &o, WHO(add_batchnorm));
}

int FN(add_gaussian_sample)(handle *h)
{
    ae_gaussian_sample_options o = AE_GAUSSIAN_SAMPLE_OPTIONS_INIT;
    CHECK(h, add_gaussian_sample);
    return ae__net_add_builtin(&h->net, AE_LAYER_GAUSSIAN_SAMPLE, &o, WHO(add_gaussian_sample));
}

int FN(add_layer)(handle *h, const char *type_name, const void *config, size_t config_size)
{
    CHECK(h, add_layer);
    return ae__net_add(&h->net, type_name, config, config_size, WHO(add_layer));
}

/* ---- shapes, counts, inference ------------------------------------------ */

size_t FN(layer_count)(const handle *h) { return h ? h->net.n : 0; }

size_t FN(param_count)(const handle *h) { return h ? ae__net_param_floats(&h->net) : 0; }

int FN(AE__H_IN_SHAPE)(const handle *h, ae_shape *out)
{
    if (h == NULL || out == NULL)
        return AE__NULL_ARG_AS(WHO(AE__H_IN_SHAPE), NAME ", out", h, out);
    *out = h->net.input;
    return AE_OK;
}

int FN(AE__H_OUT_SHAPE)(const handle *h, ae_shape *out)
{
    if (h == NULL || out == NULL)
        return AE__NULL_ARG_AS(WHO(AE__H_OUT_SHAPE), NAME ", out", h, out);
    *out = h->net.output;
    return AE_OK;
}

size_t FN(AE__H_OUT_SIZE)(const handle *h) { return h ? h->net.out_size : 0; }

int FN(AE__H_RUN)(const handle *h, const float *in, size_t count, float *out)
{
    if (h == NULL || in == NULL || out == NULL)
        return AE__NULL_ARG_AS(WHO(AE__H_RUN), NAME ", " AE__H_X ", " AE__H_Y, h, in, out);
    int rc = ae__check_count(count, AE__MAX(h->net.in_size, h->net.out_size), sizeof(float),
                             "count", WHO(AE__H_RUN));
    if (rc < 0)
        return rc;
    const ae__net *nets[1] = {&h->net};
    return ae__chain_run(nets, 1, in, count, out, WHO(AE__H_RUN));
}

#undef AE__ADD_EX
#undef AE__ADD_CONV
#undef CHECK
#undef NAME
#undef WHO
#undef FN
