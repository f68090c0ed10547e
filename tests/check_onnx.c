/* SPDX-License-Identifier: MIT */
/*
 * check_onnx.c - ONNX export and import (include/ae/onnx.h): round trips
 * that keep every layer config, parameter and output bit for bit, the
 * detector in metadata_props, MatMul + Add and Constant inputs as another
 * producer writes them, the latent choice, and the refusals: custom kinds,
 * unsupported ops (named with their node), branches, malformed and
 * oversized input, bad arguments, failing allocations.
 *
 * Validation by onnx.checker, PyTorch's exports and ONNX Runtime are in
 * tests/onnx/ (the ONNX gate of make check, and make check-onnx).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx.h"
#include "onnx_models.h"
#include "testutil.h"

static void teardown(void) { failing_allocator_remove(); }

/* Every layer of a and b has the same kind, shapes, config, parameters and
 * state tensors, bit for bit. */
static void same_net(ae__net *a, ae__net *b)
{
    ck_assert_uint_eq(a->n, b->n);
    ck_assert(ae__shape_equal(&a->input, &b->input));
    for (size_t i = 0; i < a->n; i++) {
        const ae__layer *x = &a->layers[i], *y = &b->layers[i];
        ck_assert_str_eq(x->kind->name, y->kind->name);
        ck_assert(ae__shape_equal(&x->out, &y->out));
        ck_assert_uint_eq(x->config_size, y->config_size);
        if (x->config_size)
            ck_assert_msg(memcmp(x->config, y->config, x->config_size) == 0, "layer %zu (%s) config", i,
                          x->kind->name);
    }
    ae_param_view va[64], vb[64];
    ck_assert_uint_eq(ae__net_tensor_count(a), ae__net_tensor_count(b));
    ck_assert_uint_le(ae__net_tensor_count(a), 64);
    ck_assert_int_eq(ae__net_params(a, va), AE_OK);
    ck_assert_int_eq(ae__net_params(b, vb), AE_OK);
    for (size_t t = 0; t < ae__net_tensor_count(a); t++) {
        ck_assert_uint_eq(va[t].count, vb[t].count);
        ck_assert_msg(memcmp(va[t].value, vb[t].value, va[t].count * sizeof(float)) == 0, "tensor %zu", t);
    }
    ck_assert_uint_eq(ae__net_state_count(a), ae__net_state_count(b));
    ck_assert_int_eq(ae__net_states(a, va), AE_OK);
    ck_assert_int_eq(ae__net_states(b, vb), AE_OK);
    for (size_t t = 0; t < ae__net_state_count(a); t++)
        ck_assert(memcmp(va[t].value, vb[t].value, va[t].count * sizeof(float)) == 0);
}

static size_t in_size(ae_model *m)
{
    ae_shape s;
    ae_encoder_input_shape(ae_model_encoder(m), &s);
    size_t n = 1;
    for (uint32_t d = 0; d < s.rank; d++)
        n *= s.dims[d];
    return n;
}

static void same_outputs(ae_model *a, ae_model *b)
{
    enum { N = 5 };
    size_t n = in_size(a);
    float *x = malloc(N * n * sizeof *x), *ya = malloc(N * n * sizeof *ya), *yb = malloc(N * n * sizeof *yb);
    om_inputs(x, N * n, 42);
    ck_assert_int_eq(ae_model_reconstruct(a, x, N, ya), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(b, x, N, yb), AE_OK);
    ck_assert_msg(memcmp(ya, yb, N * n * sizeof *ya) == 0, "reconstructions differ");
    free(x);
    free(ya);
    free(yb);
}

static ae_model *make(int conv)
{
    ae_model *m = NULL;
    ck_assert_int_eq(conv ? om_conv(&m) : om_dense(&m), AE_OK);
    return m;
}

static void round_trip(int conv)
{
    ae_model *m = make(conv), *back = NULL;
    void *data = NULL;
    size_t size = 0;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &size, NULL), AE_OK);
    ck_assert_uint_gt(size, 100);
    ck_assert_int_eq(ae_model_import_onnx_memory(&back, data, size, NULL), AE_OK);
    same_net(&m->enc->net, &back->enc->net);
    same_net(&m->dec->net, &back->dec->net);
    same_outputs(m, back);
    /* the encoder and the decoder alone */
    void *ed = NULL, *dd = NULL;
    size_t es, ds;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ck_assert_int_eq(ae_encoder_export_onnx_memory(ae_model_encoder(m), &ed, &es, NULL), AE_OK);
    ck_assert_int_eq(ae_decoder_export_onnx_memory(ae_model_decoder(m), &dd, &ds, NULL), AE_OK);
    ck_assert_int_eq(ae_encoder_import_onnx_memory(&enc, ed, es, NULL), AE_OK);
    ck_assert_int_eq(ae_decoder_import_onnx_memory(&dec, dd, ds, NULL), AE_OK);
    same_net(&m->enc->net, &enc->net);
    same_net(&m->dec->net, &dec->net);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_buffer_free(ed);
    ae_buffer_free(dd);
    ae_buffer_free(data);
    ae_model_destroy(back);
    ae_model_destroy(m);
}

START_TEST(dense_model_round_trips_bit_exactly)
{
    round_trip(0);
}
END_TEST

START_TEST(conv_model_round_trips_bit_exactly)
{
    round_trip(1);
}
END_TEST

/* A new built-in kind gets an ONNX form in src/onnx/kinds.c, or is named
 * here as having none (then export refuses it). */
static const char *const no_onnx_form[] = {NULL};

START_TEST(every_catalogue_kind_exports)
{
    ck_assert(ae_layer_is_registered(AE_LAYER_DENSE)); /* the registry fills the kinds */
    for (size_t i = 0; i < ae__builtin_count; i++) {
        const ae__kind *k = &ae__builtin_kinds[i];
        int exempt = 0;
        for (size_t j = 0; no_onnx_form[j] != NULL; j++)
            exempt |= strcmp(no_onnx_form[j], k->name) == 0;
        ck_assert_msg(exempt || ae__onnx_exporter(k) != NULL, "built-in kind '%s' has no ONNX export",
                      k->name);
    }
}
END_TEST

START_TEST(files_round_trip_and_io_errors_are_reported)
{
    char path[512], bad[512];
    ae_model *m = make(1), *back = NULL;
    snprintf(path, sizeof path, "%s/m.onnx", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/no/such/dir/m.onnx", test_tmpdir());
    ck_assert_int_eq(ae_model_export_onnx(m, path, NULL), AE_OK);
    ck_assert_int_eq(ae_model_import_onnx(&back, path, NULL), AE_OK);
    same_outputs(m, back);
    ae_model_destroy(back);
    ck_assert_int_eq(ae_model_export_onnx(m, bad, NULL), AE_ERR_IO);
    back = NULL;
    ck_assert_int_eq(ae_model_import_onnx(&back, bad, NULL), AE_ERR_IO);
    ck_assert_ptr_null(back);
    ck_assert_int_eq(ae_model_import_onnx(&back, test_tmpdir(), NULL), AE_ERR_IO);
    /* encoder and decoder files */
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ck_assert_int_eq(ae_encoder_export_onnx(ae_model_encoder(m), path, NULL), AE_OK);
    ck_assert_int_eq(ae_encoder_import_onnx(&enc, path, NULL), AE_OK);
    same_net(&m->enc->net, &enc->net);
    ck_assert_int_eq(ae_decoder_export_onnx(ae_model_decoder(m), path, NULL), AE_OK);
    ck_assert_int_eq(ae_decoder_import_onnx(&dec, path, NULL), AE_OK);
    same_net(&m->dec->net, &dec->net);
    ck_assert_int_eq(ae_encoder_export_onnx(ae_model_encoder(m), bad, NULL), AE_ERR_IO);
    ck_assert_int_eq(ae_decoder_export_onnx(ae_model_decoder(m), bad, NULL), AE_ERR_IO);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_model_destroy(m);
}
END_TEST

START_TEST(the_detector_travels_in_metadata_props)
{
    ae_model *m = make(0);
    ae_detector *det, *back = NULL;
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT, ob = AE_DETECTOR_OPTIONS_INIT;
    o.score = AE_SCORE_MAE;
    o.rule = AE_THRESHOLD_QUANTILE;
    o.quantile = 0.975;
    ck_assert_int_eq(ae_detector_create(&det, &o), AE_OK);
    ck_assert_int_eq(ae_detector_set_threshold(det, 0.123456789012345678), AE_OK);
    ae_onnx_export_options eo = AE_ONNX_EXPORT_OPTIONS_INIT;
    eo.detector = det;
    eo.batch = 3;
    void *data;
    size_t size;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &size, &eo), AE_OK);
    ck_assert_int_eq(ae_detector_import_onnx_memory(&back, data, size), AE_OK);
    ck_assert_int_eq(ae_detector_get_options(back, &ob), AE_OK);
    ck_assert_int_eq(ob.score, AE_SCORE_MAE);
    ck_assert_int_eq(ob.rule, AE_THRESHOLD_QUANTILE);
    ck_assert(ob.quantile == 0.975 && ob.k == o.k);
    double t;
    ck_assert_int_eq(ae_detector_threshold(back, &t), AE_OK);
    ck_assert(t == 0.123456789012345678);
    /* the model still imports (fixed batch of 3) */
    ae_model *mb = NULL;
    ck_assert_int_eq(ae_model_import_onnx_memory(&mb, data, size, NULL), AE_OK);
    same_outputs(m, mb);
    ae_model_destroy(mb);
    ae_detector_destroy(back);
    ae_buffer_free(data);
    /* without one */
    back = NULL;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &size, NULL), AE_OK);
    ck_assert_int_eq(ae_detector_import_onnx_memory(&back, data, size), AE_ERR_NOT_FOUND);
    ck_assert_ptr_null(back);
    ck_assert_int_eq(ae_detector_import_onnx_memory(NULL, data, size), AE_ERR_INVALID);
    ck_assert_int_eq(ae_detector_import_onnx_memory(&back, "xx", 2), AE_ERR_FORMAT);
    ae_buffer_free(data);
    ae_detector_destroy(det);
    ae_model_destroy(m);
}
END_TEST

/* ---- a custom kind -------------------------------------------------------- */

static int id_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    *state = malloc(1);
    *output = args->input;
    return *state ? AE_OK : AE_ERR_NOMEM;
}
static void id_destroy(void *state) { free(state); }
static int id_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    (void)state;
    (void)ctx;
    (void)x;
    (void)y;
    return AE_OK;
}

START_TEST(a_custom_kind_is_refused_with_its_name)
{
    ae_layer_vtable vt = AE_LAYER_VTABLE_INIT;
    vt.type_name = "onnx_test_custom";
    vt.create = id_create;
    vt.destroy = id_destroy;
    vt.forward = id_forward;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_OK);
    ae_shape in = {1, {4, 0, 0, 0}};
    ae_encoder *enc;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 3, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "onnx_test_custom", NULL, 0), AE_OK);
    void *data = (void *)1;
    size_t size = 7;
    ck_assert_int_eq(ae_encoder_export_onnx_memory(enc, &data, &size, NULL), AE_ERR_UNSUPPORTED);
    ck_assert_ptr_eq(data, (void *)1);
    ck_assert_uint_eq(size, 7);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "onnx_test_custom"));
    ae_encoder_destroy(enc);
    ck_assert_int_eq(ae_layer_unregister("onnx_test_custom"), AE_OK);
}
END_TEST

START_TEST(a_custom_kind_exports_through_its_hook)
{
    ck_assert_int_eq(om_scale_register(1), AE_OK);
    ae_model *m = NULL, *back = NULL;
    ck_assert_int_eq(om_custom(&m), AE_OK);
    unsigned char *data;
    size_t size;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, (void **)&data, &size, NULL), AE_OK);
    ae__onnx_model *pm = calloc(1, sizeof *pm);
    ck_assert_int_eq(ae__onnx_parse(pm, data, size, "test"), AE_OK);
    const ae__onnx_node *mul = NULL;
    for (size_t i = 0; i < pm->n_nodes; i++)
        if (ae__pbs_eq(pm->nodes[i].op, "Mul"))
            mul = &pm->nodes[i];
    ck_assert_ptr_nonnull(mul);
    ck_assert(ae__pbs_eq(mul->name, "encoder.1") && mul->n_in == 2 && ae__pbs_eq(mul->in[1], "encoder.1.scale"));
    const ae__onnx_tensor *t = ae__onnx_find_tensor(pm, mul->in[1]);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->count, 6);
    float w[6];
    ae__onnx_tensor_floats(t, w);
    for (int i = 0; i < 6; i++)
        ck_assert(w[i] == 0.5f + 0.25f * (float)i);
    ae__onnx_free(pm);
    free(pm);
    /* export-only: import names the node and its op */
    ck_assert_int_eq(ae_model_import_onnx_memory(&back, data, size, NULL), AE_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "'encoder.1' (Mul)"));
    ae_buffer_free(data);
    /* an op of the kind's own domain is imported at version 1 */
    om_scale_domain = "org.example.test";
    ck_assert_int_eq(ae_model_export_onnx_memory(m, (void **)&data, &size, NULL), AE_OK);
    om_scale_domain = NULL;
    int found = 0;
    for (size_t i = 0; i + 16 <= size && !found; i++)
        found = memcmp(data + i, "org.example.test", 16) == 0;
    ck_assert(found);
    ck_assert_int_eq(ae_model_import_onnx_memory(&back, data, size, NULL), AE_ERR_UNSUPPORTED);
    ae_buffer_free(data);
    ae_model_destroy(m);
    ck_assert_int_eq(ae_layer_unregister("om_scale"), AE_OK);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    ae_model *m = make(0), *out = NULL;
    void *data;
    size_t size;
    ae_onnx_export_options eo = AE_ONNX_EXPORT_OPTIONS_INIT;
    ae_onnx_import_options io = AE_ONNX_IMPORT_OPTIONS_INIT;
    ck_assert_int_eq(ae_model_export_onnx_memory(NULL, &data, &size, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_export_onnx_memory(m, NULL, &size, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_export_onnx(m, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_export_onnx(NULL, "x.onnx", NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_export_onnx(NULL, "x.onnx", NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_export_onnx(NULL, "x.onnx", NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_export_onnx_memory(NULL, &data, &size, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_export_onnx_memory(NULL, &data, &size, NULL), AE_ERR_INVALID);
    eo.struct_size = 2;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &size, &eo), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &size, NULL), AE_OK);
    ck_assert_int_eq(ae_model_import_onnx_memory(NULL, data, size, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, NULL, size, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_import_onnx(&out, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_import_onnx(NULL, "x", NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_import_onnx((ae_decoder **)NULL, "x", NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_import_onnx_memory((ae_encoder **)NULL, data, size, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_import_onnx_memory((ae_decoder **)NULL, data, size, NULL), AE_ERR_INVALID);
    io.struct_size = 3;
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, data, size, &io), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_import_onnx_memory_v(&out, data, size, NULL, 20000), AE_ERR_VERSION);
    ck_assert_ptr_null(out);
    /* an empty encoder cannot be exported */
    ae_encoder *e;
    ae_shape in = {1, {3, 0, 0, 0}};
    ck_assert_int_eq(ae_encoder_create(&e, &in, 1), AE_OK);
    void *none = NULL;
    size_t none_size = 0;
    ck_assert_int_eq(ae_encoder_export_onnx_memory(e, &none, &none_size, NULL), AE_ERR_INVALID);
    ck_assert_ptr_null(none);
    ae_encoder_destroy(e);
    ae_buffer_free(data);
    ae_model_destroy(m);
}
END_TEST

START_TEST(pca_settings_travel_in_metadata_props)
{
    enum { N = 40, F = 20 };
    ae_model *m = make(0);
    ae_pca *pca;
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = 3;
    float *x = malloc(N * F * sizeof *x);
    om_inputs(x, N * F, 5);
    ck_assert_int_eq(ae_pca_create(&pca, &po), AE_OK);
    ae_onnx_export_options eo = AE_ONNX_EXPORT_OPTIONS_INIT;
    eo.pca = pca;
    void *data = NULL;
    size_t size;
    /* not fitted yet */
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &size, &eo), AE_ERR_STATE);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(ae_pca_fit(pca, x, N, F), AE_OK);
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &size, &eo), AE_OK);
    ae__onnx_model *pm = calloc(1, sizeof *pm);
    ck_assert_int_eq(ae__onnx_parse(pm, data, size, "test"), AE_OK);
    ae__pbs v;
    ck_assert(ae__onnx_meta(pm, "libae.pca.n_components", &v) && ae__pbs_eq(v, "3"));
    ck_assert(ae__onnx_meta(pm, "libae.pca.n_features", &v) && ae__pbs_eq(v, "20"));
    ck_assert(ae__onnx_meta(pm, "libae.pca.solver", &v) && ae__pbs_eq(v, "exact"));
    ck_assert(ae__onnx_meta(pm, "libae.kind", &v) && ae__pbs_eq(v, "model"));
    ck_assert(ae__onnx_meta(pm, "libae.latent", &v) && ae__pbs_eq(v, "z"));
    ae__onnx_free(pm);
    free(pm);
    ae_buffer_free(data);
    ae_pca_destroy(pca);
    free(x);
    ae_model_destroy(m);
}
END_TEST

START_TEST(the_latent_is_found_or_named)
{
    ae_model *m = make(0), *out = NULL;
    void *data;
    size_t size;
    /* an encoder file has no latent: a model import cannot split it */
    ck_assert_int_eq(ae_encoder_export_onnx_memory(ae_model_encoder(m), &data, &size, NULL), AE_OK);
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, data, size, NULL), AE_ERR_NOT_FOUND);
    ck_assert_ptr_null(out);
    /* named: the encoder ends after its third layer */
    ae_onnx_import_options io = AE_ONNX_IMPORT_OPTIONS_INIT;
    io.latent = "encoder.2.y";
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, data, size, &io), AE_OK);
    ck_assert_uint_eq(ae_encoder_layer_count(ae_model_encoder(out)), 3);
    ck_assert_uint_eq(ae_decoder_layer_count(ae_model_decoder(out)), 3);
    ae_model_destroy(out);
    out = NULL;
    io.latent = "no such value";
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, data, size, &io), AE_ERR_NOT_FOUND);
    io.latent = "x";
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, data, size, &io), AE_ERR_NOT_FOUND);
    ck_assert_ptr_null(out);
    ae_buffer_free(data);
    ae_model_destroy(m);
}
END_TEST

/* ---- the scaler in metadata_props ----------------------------------------- */

enum { SF = 20 }; /* the dense model's input size */

/* The dense model with a fitted scaler of kind `kind` attached: raw
 * features of very different units (feature j: offset j*37 - 300, spread
 * 10^(j/4 - 2)). */
static ae_model *scaled_model(int kind)
{
    enum { N = 30 };
    static const ae_shape shape = {2, {4, 5, 0, 0}};
    ae_model *m = make(0);
    float *x = malloc(N * SF * sizeof *x);
    om_inputs(x, N * SF, 17);
    for (size_t i = 0; i < N * SF; i++)
        x[i] = (float)(i % SF) * 37.0f - 300.0f + x[i] * powf(10.0f, (float)(i % SF) / 4.0f - 2.0f);
    ae_dataset *ds = NULL;
    ae_scaler *sc = NULL;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, N, &shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_scaler_create(&sc, kind), AE_OK);
    ck_assert_int_eq(ae_scaler_fit(sc, ds), AE_OK);
    ck_assert_int_eq(ae_model_set_scaler(m, sc), AE_OK);
    ae_scaler_destroy(sc);
    ae_dataset_destroy(ds);
    free(x);
    return m;
}

/* Raw inputs for a scaled model: the same units as scaled_model's data. */
static void raw_outputs_equal(ae_model *a, ae_model *b)
{
    enum { N = 5 };
    float x[N * SF], ya[N * SF], yb[N * SF];
    om_inputs(x, N * SF, 43);
    for (size_t i = 0; i < N * SF; i++)
        x[i] = (float)(i % SF) * 37.0f - 300.0f + 3.0f * x[i];
    ck_assert_int_eq(ae_model_reconstruct(a, x, N, ya), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(b, x, N, yb), AE_OK);
    ck_assert_msg(memcmp(ya, yb, sizeof ya) == 0, "raw reconstructions differ");
}

static int has_meta(const void *data, size_t size, const char *key)
{
    ae__onnx_model *pm = calloc(1, sizeof *pm);
    ae__pbs v;
    ck_assert_int_eq(ae__onnx_parse(pm, data, size, "test"), AE_OK);
    int found = ae__onnx_meta(pm, key, &v);
    ae__onnx_free(pm);
    free(pm);
    return found;
}

START_TEST(the_scaler_travels_in_metadata_props)
{
    for (int kind = AE_SCALER_STANDARD; kind <= AE_SCALER_MINMAX; kind++) {
        ae_model *m = scaled_model(kind), *back = NULL;
        void *data = NULL;
        size_t size;
        ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &size, NULL), AE_OK);
        ae__onnx_model *pm = calloc(1, sizeof *pm);
        ae__pbs v;
        ck_assert_int_eq(ae__onnx_parse(pm, data, size, "test"), AE_OK);
        ck_assert(ae__onnx_meta(pm, "libae.scaler.kind", &v) && ae__pbs_eq(v, ae_scaler_kind_name(kind)));
        ck_assert(ae__onnx_meta(pm, "libae.scaler.features", &v) && ae__pbs_eq(v, "20"));
        ck_assert(ae__onnx_meta(pm, "libae.scaler.shift", &v));
        ck_assert(ae__onnx_meta(pm, "libae.scaler.scale", &v));
        ae__onnx_free(pm);
        free(pm);
        /* back: the same settings bit for bit, the same raw reconstructions */
        ck_assert_int_eq(ae_model_import_onnx_memory(&back, data, size, NULL), AE_OK);
        const ae_scaler *a = ae_model_get_scaler(m), *b = ae_model_get_scaler(back);
        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(ae_scaler_kind(b), kind);
        ck_assert_uint_eq(ae_scaler_features(b), SF);
        float sa[SF], ka[SF], sb[SF], kb[SF];
        ck_assert_int_eq(ae_scaler_params(a, sa, ka), AE_OK);
        ck_assert_int_eq(ae_scaler_params(b, sb, kb), AE_OK);
        ck_assert(memcmp(sa, sb, sizeof sa) == 0);
        ck_assert(memcmp(ka, kb, sizeof ka) == 0);
        same_net(&m->enc->net, &back->enc->net);
        same_net(&m->dec->net, &back->dec->net);
        raw_outputs_equal(m, back);
        ae_buffer_free(data);
        ae_model_destroy(back);
        /* the encoder and decoder handles never scale: their files carry no scaler */
        ck_assert_int_eq(ae_encoder_export_onnx_memory(ae_model_encoder(m), &data, &size, NULL), AE_OK);
        ck_assert(!has_meta(data, size, "libae.scaler.kind"));
        ck_assert(!has_meta(data, size, "libae.scaler.shift"));
        ae_encoder *enc = NULL;
        ck_assert_int_eq(ae_encoder_import_onnx_memory(&enc, data, size, NULL), AE_OK);
        same_net(&m->enc->net, &enc->net);
        ae_encoder_destroy(enc);
        ae_buffer_free(data);
        ck_assert_int_eq(ae_decoder_export_onnx_memory(ae_model_decoder(m), &data, &size, NULL), AE_OK);
        ck_assert(!has_meta(data, size, "libae.scaler.scale"));
        ae_buffer_free(data);
        /* detached: no entries, and the import has no scaler */
        ck_assert_int_eq(ae_model_set_scaler(m, NULL), AE_OK);
        ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &size, NULL), AE_OK);
        ck_assert(!has_meta(data, size, "libae.scaler.features"));
        ck_assert_int_eq(ae_model_import_onnx_memory(&back, data, size, NULL), AE_OK);
        ck_assert_ptr_null(ae_model_get_scaler(back));
        ae_buffer_free(data);
        ae_model_destroy(back);
        ae_model_destroy(m);
    }
}
END_TEST

/* The dense model's export (no scaler) with libae.scaler entries appended
 * (a NULL value leaves its entry out): a top-level field may come anywhere. */
static unsigned char *with_scaler_meta(size_t *size, const char *kind, const char *features,
                                       const char *shift, const char *scale)
{
    ae_model *m = make(0);
    void *data;
    size_t n;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &data, &n, NULL), AE_OK);
    ae_model_destroy(m);
    ae__pbw w;
    ae__pbw_init(&w, AE_ONNX_MAX_SIZE);
    const char *const keys[4] = {"libae.scaler.kind", "libae.scaler.features", "libae.scaler.shift",
                                 "libae.scaler.scale"};
    const char *const values[4] = {kind, features, shift, scale};
    for (int k = 0; k < 4; k++)
        if (values[k] != NULL) {
            ae__pbw_begin(&w, ONNX_MODEL_METADATA_PROPS);
            ae__pbw_string(&w, ONNX_ENTRY_KEY, keys[k]);
            ae__pbw_string(&w, ONNX_ENTRY_VALUE, values[k]);
            ae__pbw_end(&w);
        }
    ck_assert(!w.failed);
    unsigned char *out = malloc(n + w.len);
    memcpy(out, data, n);
    memcpy(out + n, w.buf, w.len);
    *size = n + w.len;
    ae__pbw_fini(&w);
    ae_buffer_free(data);
    return out;
}

/* n comma-separated copies of `item`, with `odd` in place of item i (when not NULL). */
static char *values_text(size_t n, const char *item, size_t i, const char *odd)
{
    size_t cap = n * (strlen(item) + 1) + (odd ? strlen(odd) : 0) + 1, len = 0;
    char *s = malloc(cap);
    s[0] = '\0';
    for (size_t k = 0; k < n; k++)
        len += (size_t)snprintf(s + len, cap - len, "%s%s", k ? "," : "", odd && k == i ? odd : item);
    return s;
}

/* Imports with the given entries: expect rc, and `key` named in the error. */
static void scaler_meta_case(int rc, const char *key, const char *kind, const char *features, const char *shift,
                             const char *scale)
{
    size_t size;
    unsigned char *data = with_scaler_meta(&size, kind, features, shift, scale);
    ae_model *out = NULL;
    int got = ae_model_import_onnx_memory(&out, data, size, NULL);
    ck_assert_msg(got == rc, "kind %s features %s: %d (%s)", kind, features, got, ae_last_error());
    if (rc < 0) {
        ck_assert_ptr_null(out);
        ck_assert_msg(strstr(ae_last_error(), key) != NULL, "'%s' not named in: %s", key, ae_last_error());
    } else {
        ck_assert_ptr_nonnull(ae_model_get_scaler(out));
    }
    ae_model_destroy(out);
    free(data);
}

START_TEST(malformed_scaler_entries_are_refused)
{
    char *ok = values_text(SF, "1.5e-05", 0, NULL), *pos = values_text(SF, "2.25", 0, NULL);
    const char *kk = "libae.scaler.kind", *kf = "libae.scaler.features", *ks = "libae.scaler.shift",
               *kc = "libae.scaler.scale";
    /* well formed: accepted, and the values are the ones written */
    scaler_meta_case(AE_OK, NULL, "minmax", "20", ok, pos);
    {
        size_t size;
        unsigned char *data = with_scaler_meta(&size, "standard", "20", ok, pos);
        ae_model *out = NULL;
        ck_assert_int_eq(ae_model_import_onnx_memory(&out, data, size, NULL), AE_OK);
        float sh[SF], sc[SF];
        ck_assert_int_eq(ae_scaler_params(ae_model_get_scaler(out), sh, sc), AE_OK);
        for (size_t i = 0; i < SF; i++) {
            ck_assert(sh[i] == 1.5e-05f);
            ck_assert(sc[i] == 2.25f);
        }
        ae_model_destroy(out);
        free(data);
    }
    /* an entry missing */
    scaler_meta_case(AE_ERR_FORMAT, kc, "minmax", "20", ok, NULL);
    scaler_meta_case(AE_ERR_FORMAT, kk, NULL, "20", ok, pos);
    /* the kind */
    scaler_meta_case(AE_ERR_FORMAT, kk, "robust", "20", ok, pos);
    scaler_meta_case(AE_ERR_FORMAT, kk, "", "20", ok, pos);
    /* the count */
    static const char *const bad_counts[] = {"19", "21", "0", "-20", "+20", " 20", "20 ", "2e1", "",
                                             "18446744073709551636", "99999999999999999999999999999999"};
    for (size_t i = 0; i < sizeof bad_counts / sizeof *bad_counts; i++)
        scaler_meta_case(AE_ERR_FORMAT, kf, "standard", bad_counts[i], ok, pos);
    /* the values: wrong count, not numbers, not finite, scale not > 0 */
    char *few = values_text(SF - 1, "1", 0, NULL), *many = values_text(SF + 1, "1", 0, NULL);
    scaler_meta_case(AE_ERR_FORMAT, ks, "standard", "20", few, pos);
    scaler_meta_case(AE_ERR_FORMAT, ks, "standard", "20", many, pos);
    scaler_meta_case(AE_ERR_FORMAT, kc, "standard", "20", ok, few);
    scaler_meta_case(AE_ERR_FORMAT, kc, "standard", "20", ok, many);
    scaler_meta_case(AE_ERR_FORMAT, ks, "standard", "20", "", pos);
    static const char *const bad_values[] = {"nan", "NaN", "inf", "-inf", "1e39", "-1e39", "", " 1", "1 ", "+1",
                                             "0x1p3", "1.", ".5", "1e", "1e+", "--1", "1,", "abc", "1.5f",
                                             "1234567890123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof bad_values / sizeof *bad_values; i++) {
        char *t = values_text(SF, "1", 7, bad_values[i]);
        scaler_meta_case(AE_ERR_FORMAT, ks, "standard", "20", t, pos);
        scaler_meta_case(AE_ERR_FORMAT, kc, "standard", "20", ok, t);
        free(t);
    }
    static const char *const bad_scales[] = {"0", "-0", "-1", "-2.5e-3", "0e5"};
    for (size_t i = 0; i < sizeof bad_scales / sizeof *bad_scales; i++) {
        char *t = values_text(SF, "1", 19, bad_scales[i]);
        scaler_meta_case(AE_ERR_FORMAT, kc, "standard", "20", ok, t);
        free(t);
        /* a shift may be zero or negative */
        t = values_text(SF, "1", 19, bad_scales[i]);
        scaler_meta_case(AE_OK, NULL, "standard", "20", t, pos);
        free(t);
    }
    /* a long value: refused on its length before any parsing */
    char *huge = values_text(SF * 40, "1", 0, NULL);
    scaler_meta_case(AE_ERR_FORMAT, ks, "standard", "20", huge, pos);
    free(huge);
    free(few);
    free(many);
    free(ok);
    free(pos);
}
END_TEST

/* Replaces the first occurrence of `from` by `to` (same length) in data. */
static int patch(unsigned char *data, size_t size, const char *from, const char *to)
{
    size_t n = strlen(from);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, from, n) == 0) {
            memcpy(data + i, to, n);
            return 1;
        }
    return 0;
}

START_TEST(an_unsupported_op_is_named_with_its_node)
{
    ae_model *m = make(0), *out = NULL;
    unsigned char *data;
    size_t size;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, (void **)&data, &size, NULL), AE_OK);
    ck_assert(patch(data, size, "Sigmoid", "Sigmund"));
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, data, size, NULL), AE_ERR_UNSUPPORTED);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "Sigmund"));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "decoder.0.act"));
    ae_buffer_free(data);
    ae_model_destroy(m);
}
END_TEST

START_TEST(a_doc_string_hint_is_checked_not_trusted)
{
    ae_model *m = make(1), *back = NULL;
    unsigned char *data;
    size_t size;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, (void **)&data, &size, NULL), AE_OK);
    /* the first conv2d is "same" (padding 1 at byte 28 of its config):
     * claim "valid" instead, which would compute other pads */
    static const char head[] = "libae:conv2d cfg=";
    unsigned char *h = NULL;
    for (size_t i = 0; i + sizeof head < size && h == NULL; i++)
        if (memcmp(data + i, head, sizeof head - 1) == 0)
            h = data + i + sizeof head - 1;
    ck_assert_ptr_nonnull(h);
    ck_assert(h[56] == '0' && h[57] == '1');
    h[57] = '0';
    ck_assert_int_eq(ae_model_import_onnx_memory(&back, data, size, NULL), AE_OK);
    /* the hint was refused: the layer has the attributes' explicit pads */
    const ae__layer *l = &back->enc->net.layers[0];
    ck_assert_str_eq(l->kind->name, AE_LAYER_CONV2D);
    ck_assert_uint_eq(ae__get_u32(l->config + 28), AE_PAD_EXPLICIT);
    ck_assert_uint_eq(ae__get_u32(l->config + 32), 1);
    same_outputs(m, back);
    ae_model_destroy(back);
    ae_buffer_free(data);
    ae_model_destroy(m);
}
END_TEST

START_TEST(malformed_input_is_refused)
{
    ae_model *m = make(1), *out = NULL;
    unsigned char *data;
    size_t size;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, (void **)&data, &size, NULL), AE_OK);
    /* every truncation fails cleanly, none crashes */
    for (size_t cut = 0; cut < size; cut += cut < 64 ? 1 : 97) {
        int rc = ae_model_import_onnx_memory(&out, data, cut, NULL);
        ck_assert_msg(rc == AE_ERR_FORMAT || rc == AE_ERR_UNSUPPORTED || rc == AE_ERR_NOT_FOUND ||
                      rc == AE_ERR_SHAPE, "cut %zu: %d %s", cut, rc, ae_last_error());
        ck_assert_ptr_null(out);
    }
    ae_buffer_free(data);
    /* a weight that is not a number: the exporter refuses to write one
     * (AE_ERR_NUMERIC), so a finite marker is written and patched to a NaN */
    ae_param_view v[64];
    ck_assert_int_eq(ae__net_params(&m->dec->net, v), AE_OK);
    v[0].value[3] = NAN;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, (void **)&data, &size, NULL), AE_ERR_NUMERIC);
    v[0].value[3] = 1.2345678f; /* bits 3f9e0651: no zero byte */
    ck_assert_int_eq(ae_model_export_onnx_memory(m, (void **)&data, &size, NULL), AE_OK);
    ck_assert(patch(data, size, "\x51\x06\x9e\x3f", "\x11\x11\xc1\x7f")); /* a quiet NaN */
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, data, size, NULL), AE_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "NaN"));
    ck_assert_ptr_null(out);
    static const unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, junk, sizeof junk, NULL), AE_ERR_FORMAT);
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, "\x0a\x05" "ab", 4, NULL), AE_ERR_FORMAT);
    /* a wrong opset version */
    ae_buffer_free(data);
    v[0].value[3] = 0.0f;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, (void **)&data, &size, NULL), AE_OK);
    unsigned char *copy = malloc(size);
    memcpy(copy, data, size);
    ck_assert(patch(copy, size, "\x10\x0d", "\x10\x05")); /* opset_import.version 13 -> 5 */
    ck_assert_int_eq(ae_model_import_onnx_memory(&out, copy, size, NULL), AE_ERR_UNSUPPORTED);
    free(copy);
    ae_buffer_free(data);
    ae_model_destroy(m);
}
END_TEST

/* ---- files as another producer writes them ------------------------------- */

static void value(ae__pbw *w, uint32_t field, const char *name, int64_t batch, const int64_t *dims, size_t n)
{
    ae__pbw_begin(w, field);
    ae__pbw_string(w, ONNX_VALUE_NAME, name);
    ae__pbw_begin(w, ONNX_VALUE_TYPE);
    ae__pbw_begin(w, ONNX_TYPE_TENSOR);
    ae__pbw_varint(w, ONNX_TTYPE_ELEM_TYPE, ONNX_FLOAT);
    ae__pbw_begin(w, ONNX_TTYPE_SHAPE);
    ae__pbw_begin(w, ONNX_SHAPE_DIM);
    ae__pbw_varint(w, ONNX_DIM_VALUE, (uint64_t)batch);
    ae__pbw_end(w);
    for (size_t i = 0; i < n; i++) {
        ae__pbw_begin(w, ONNX_SHAPE_DIM);
        ae__pbw_varint(w, ONNX_DIM_VALUE, (uint64_t)dims[i]);
        ae__pbw_end(w);
    }
    ae__pbw_end(w);
    ae__pbw_end(w);
    ae__pbw_end(w);
    ae__pbw_end(w);
}

static void node(ae__pbw *w, const char *op, const char *name, const char *a, const char *b, const char *out)
{
    ae__pbw_begin(w, ONNX_GRAPH_NODE);
    ae__pbw_string(w, ONNX_NODE_INPUT, a);
    if (b != NULL)
        ae__pbw_string(w, ONNX_NODE_INPUT, b);
    ae__pbw_string(w, ONNX_NODE_OUTPUT, out);
    ae__pbw_string(w, ONNX_NODE_NAME, name);
    ae__pbw_string(w, ONNX_NODE_OP_TYPE, op);
    ae__pbw_end(w);
}

static void tensor(ae__pbw *w, uint32_t field, const char *name, const int64_t *dims, size_t rank,
                   const float *f, size_t n, int packed)
{
    ae__pbw_begin(w, field);
    for (size_t i = 0; i < rank; i++)
        ae__pbw_int64(w, ONNX_TENSOR_DIMS, dims[i]);
    ae__pbw_varint(w, ONNX_TENSOR_DATA_TYPE, ONNX_FLOAT);
    if (name != NULL)
        ae__pbw_string(w, ONNX_TENSOR_NAME, name);
    ae__pbw_floats(w, packed ? ONNX_TENSOR_FLOAT_DATA : ONNX_TENSOR_RAW_DATA, f, n);
    ae__pbw_end(w);
}

/* x (N x 3) -> MatMul W (3 x 2) -> Add b (a Constant node) -> Relu -> y;
 * with branch set, the Add reads x instead. extra_nodes Identity nodes
 * follow. */
static unsigned char *matmul_file(size_t *size, int branch, size_t extra_nodes)
{
    static const float wv[6] = {1, 2, 3, 4, 5, 6}, bv[2] = {0.5f, -100.0f};
    const int64_t wd[2] = {3, 2}, bd[1] = {2}, xd[1] = {3}, yd[1] = {2};
    ae__pbw w;
    ae__pbw_init(&w, (size_t)1 << 30);
    ae__pbw_varint(&w, ONNX_MODEL_IR_VERSION, 8);
    ae__pbw_begin(&w, ONNX_MODEL_OPSET_IMPORT);
    ae__pbw_varint(&w, ONNX_OPSET_VERSION, 17);
    ae__pbw_end(&w);
    ae__pbw_begin(&w, ONNX_MODEL_GRAPH);
    tensor(&w, ONNX_GRAPH_INITIALIZER, "W", wd, 2, wv, 6, 1);
    ae__pbw_begin(&w, ONNX_GRAPH_NODE); /* Constant b */
    ae__pbw_string(&w, ONNX_NODE_OUTPUT, "b");
    ae__pbw_string(&w, ONNX_NODE_OP_TYPE, "Constant");
    ae__pbw_begin(&w, ONNX_NODE_ATTRIBUTE);
    ae__pbw_string(&w, ONNX_ATTR_NAME, "value");
    ae__pbw_varint(&w, ONNX_ATTR_TYPE, ONNX_AT_TENSOR);
    tensor(&w, ONNX_ATTR_T, NULL, bd, 1, bv, 2, 0);
    ae__pbw_end(&w);
    ae__pbw_end(&w);
    node(&w, "MatMul", "mm", "x", "W", "h");
    node(&w, "Add", "add", branch ? "x" : "h", "b", "hb");
    node(&w, "Relu", "relu", "hb", NULL, extra_nodes ? "y0" : "y");
    for (size_t i = 0; i < extra_nodes; i++) {
        char a[32], b[32];
        snprintf(a, sizeof a, "y%zu", i);
        snprintf(b, sizeof b, i + 1 == extra_nodes ? "y" : "y%zu", i + 1);
        node(&w, "Identity", "id", a, NULL, b);
    }
    value(&w, ONNX_GRAPH_INPUT, "x", 1, xd, 1);
    value(&w, ONNX_GRAPH_OUTPUT, "y", 1, yd, 1);
    ae__pbw_end(&w);
    ck_assert_int_eq(w.failed, 0);
    *size = w.len;
    return w.buf;
}

START_TEST(matmul_add_and_constants_import_as_a_dense_layer)
{
    size_t size;
    unsigned char *data = matmul_file(&size, 0, 0);
    ae_encoder *enc = NULL;
    ck_assert_int_eq(ae_encoder_import_onnx_memory(&enc, data, size, NULL), AE_OK);
    ck_assert_uint_eq(ae_encoder_layer_count(enc), 2); /* dense + relu */
    const float x[3] = {1, 1, 1};
    float z[2];
    ck_assert_int_eq(ae_encoder_encode(enc, x, 1, z), AE_OK);
    /* W^T x + b: (1+3+5) + 0.5 = 9.5, (2+4+6) - 100 < 0 -> 0 */
    ck_assert(z[0] == 9.5f && z[1] == 0.0f);
    ae_encoder_destroy(enc);
    ae__free(data);

    data = matmul_file(&size, 1, 0);
    enc = NULL;
    ck_assert_int_eq(ae_encoder_import_onnx_memory(&enc, data, size, NULL), AE_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "'add' (Add)"));
    ck_assert_ptr_null(enc);
    ae__free(data);
}
END_TEST

START_TEST(counts_past_the_limits_are_refused)
{
    size_t size;
    unsigned char *data = matmul_file(&size, 0, AE_ONNX_NODES_MAX);
    ae_encoder *enc = NULL;
    ck_assert_int_eq(ae_encoder_import_onnx_memory(&enc, data, size, NULL), AE_ERR_LIMIT);
    ck_assert_ptr_null(enc);
    ae__free(data);
    data = matmul_file(&size, 0, AE_ONNX_NODES_MAX - 10);
    ck_assert_int_eq(ae_encoder_import_onnx_memory(&enc, data, size, NULL), AE_OK);
    ae_encoder_destroy(enc);
    ae__free(data);
}
END_TEST

/* Import (and export again) under an allocator that fails its k-th call,
 * for every k: nothing leaks, every failure is AE_ERR_NOMEM. */
static void failing_allocations(ae_model *m)
{
    void *lib_data;
    size_t size;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &lib_data, &size, NULL), AE_OK);
    /* no library block may be live while the allocator changes */
    void *data = malloc(size);
    memcpy(data, lib_data, size);
    ae_buffer_free(lib_data);
    ae_model_destroy(m);
    failing_allocator fa;
    for (size_t k = 1;; k++) {
        ae_model *out = NULL;
        void *d2 = NULL;
        size_t s2;
        failing_allocator_install(&fa, k);
        int rc = ae_model_import_onnx_memory(&out, data, size, NULL);
        int rc2 = rc == AE_OK ? ae_model_export_onnx_memory(out, &d2, &s2, NULL) : AE_ERR_NOMEM;
        ae_buffer_free(d2);
        ae_model_destroy(out);
        size_t live = fa.live, calls = fa.calls;
        failing_allocator_remove();
        ck_assert_uint_eq(live, 0);
        ck_assert(rc == AE_OK || rc == AE_ERR_NOMEM);
        ck_assert(rc2 == AE_OK || rc2 == AE_ERR_NOMEM);
        if (rc == AE_OK && rc2 == AE_OK && calls < k)
            break;
    }
    free(data);
}

START_TEST(failing_allocations_leak_nothing)
{
    failing_allocations(make(1));
    failing_allocations(scaled_model(AE_SCALER_MINMAX)); /* the scaler's entries too */
}
END_TEST

Suite *ae_onnx_suite(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("round trip");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, dense_model_round_trips_bit_exactly);
    tcase_add_test(tc, conv_model_round_trips_bit_exactly);
    tcase_add_test(tc, every_catalogue_kind_exports);
    tcase_add_test(tc, files_round_trip_and_io_errors_are_reported);
    tcase_add_test(tc, the_detector_travels_in_metadata_props);
    tcase_add_test(tc, pca_settings_travel_in_metadata_props);
    tcase_add_test(tc, the_scaler_travels_in_metadata_props);
    tcase_add_test(tc, the_latent_is_found_or_named);
    suite_add_tcase(s, tc);

    tc = tcase_create("refusals");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_custom_kind_is_refused_with_its_name);
    tcase_add_test(tc, a_custom_kind_exports_through_its_hook);
    tcase_add_test(tc, bad_arguments_are_refused);
    tcase_add_test(tc, an_unsupported_op_is_named_with_its_node);
    tcase_add_test(tc, a_doc_string_hint_is_checked_not_trusted);
    tcase_add_test(tc, malformed_input_is_refused);
    tcase_add_test(tc, malformed_scaler_entries_are_refused);
    tcase_add_test(tc, matmul_add_and_constants_import_as_a_dense_layer);
    tcase_add_test(tc, counts_past_the_limits_are_refused);
    tcase_add_test(tc, failing_allocations_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
