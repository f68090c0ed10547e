/* SPDX-License-Identifier: MIT */
/*
 * golden_v1.h - the objects behind tests/data/golden_v1.aem, a committed
 * format 1.0 file that every later libae must read bit-exactly.
 *
 * Everything is built deterministically from fixed patterns of exactly
 * representable floats (no training, no BLAS), so the same objects and
 * the same bytes come out on any machine. Shared by the generator
 * (tests/golden/gen_golden_v1.c), tests/check_io.c and the fuzz target.
 * Include it in one translation unit; it needs -Isrc (library internals).
 *
 * The file holds every section type 1.0 defines: INFO, USER, TRAN, HIST,
 * ENCR (dense, batchnorm, a custom "golden_scale" kind with extra state),
 * DECR (dense), XTRA, TENS, DATA, OPTM (Adam, bound, 2 buffers), PCAS
 * and DETC.
 */
#ifndef AE_TESTS_GOLDEN_V1_H
#define AE_TESTS_GOLDEN_V1_H

#include <math.h>
#include <string.h>

#include "ae.h"
#include "ae/io.h"
#include "ae/sys/layer.h"
#include "nn/nn.h"
#include "optim/optimizer.h"

#define GOLDEN_KIND "golden_scale"

/* ---- the custom kind: y = scale * x, with a training-forward counter as
 * its extra state (8 bytes, little-endian u64) ------------------------------ */

typedef struct golden_scale {
    size_t n;         /* floats per sample */
    float scale, dscale;
    uint64_t calls;   /* training forwards seen */
} golden_scale;

static inline int golden_scale_create(void **state, ae_shape *output, const ae_layer_create_args *a)
{
    if (a->config_size != 4)
        return ae_error_set(AE_ERR_INVALID, "golden_scale: config of %zu bytes, expected 4",
                            a->config_size);
    const unsigned char *c = a->config;
    uint32_t tag = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
                   (uint32_t)c[3] << 24;
    if (tag != 7)
        return ae_error_set(AE_ERR_INVALID, "golden_scale: config tag %u, expected 7", tag);
    golden_scale *g = calloc(1, sizeof *g);
    if (g == NULL)
        return AE_ERR_NOMEM;
    g->n = 1;
    for (uint32_t i = 0; i < a->input.rank; i++)
        g->n *= a->input.dims[i];
    g->scale = 1.0f;
    *output = a->input;
    *state = g;
    return AE_OK;
}

static inline void golden_scale_destroy(void *state) { free(state); }
static inline size_t golden_scale_param_count(const void *state)
{
    (void)state;
    return 1;
}

static inline int golden_scale_param_get(void *state, size_t index, ae_param_view *v)
{
    golden_scale *g = state;
    (void)index;
    v->name = "scale";
    v->value = &g->scale;
    v->grad = &g->dscale;
    v->count = 1;
    v->shape.rank = 1;
    v->shape.dims[0] = 1;
    return AE_OK;
}

static inline int golden_scale_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    golden_scale *g = state;
    for (size_t i = 0; i < ctx->batch * g->n; i++)
        y[i] = g->scale * x[i];
    if (ctx->training)
        g->calls++;
    return AE_OK;
}

static inline int golden_scale_backward(void *state, const ae_layer_ctx *ctx, const float *x,
                                 const float *y, const float *dy, float *dx)
{
    golden_scale *g = state;
    (void)y;
    float s = 0.0f;
    for (size_t i = 0; i < ctx->batch * g->n; i++) {
        s += dy[i] * x[i];
        if (dx != NULL)
            dx[i] = dy[i] * g->scale;
    }
    g->dscale = s;
    return AE_OK;
}

static inline size_t golden_scale_extra_size(const void *state)
{
    (void)state;
    return 8;
}

static inline int golden_scale_extra_save(const void *state, void *buf, size_t size)
{
    const golden_scale *g = state;
    unsigned char *b = buf;
    for (size_t i = 0; i < size && i < 8; i++)
        b[i] = (unsigned char)(g->calls >> (8 * i));
    return AE_OK;
}

static inline int golden_scale_extra_load(void *state, const void *buf, size_t size)
{
    golden_scale *g = state;
    const unsigned char *b = buf;
    if (size != 8)
        return ae_error_set(AE_ERR_FORMAT, "golden_scale: %zu bytes of state, expected 8", size);
    g->calls = 0;
    for (size_t i = 0; i < 8; i++)
        g->calls |= (uint64_t)b[i] << (8 * i);
    return AE_OK;
}

static inline int golden_register(void)
{
    if (ae_layer_is_registered(GOLDEN_KIND))
        return AE_OK;
    ae_layer_vtable vt = AE_LAYER_VTABLE_INIT;
    vt.type_name = GOLDEN_KIND;
    vt.type_version = 1;
    vt.create = golden_scale_create;
    vt.destroy = golden_scale_destroy;
    vt.param_count = golden_scale_param_count;
    vt.param_get = golden_scale_param_get;
    vt.forward = golden_scale_forward;
    vt.backward = golden_scale_backward;
    vt.extra_size = golden_scale_extra_size;
    vt.extra_save = golden_scale_extra_save;
    vt.extra_load = golden_scale_extra_load;
    return ae_layer_register(&vt, NULL, NULL);
}

/* ---- the patterns ----------------------------------------------------------- */

/* Value i of stream s: a multiple of 1/64 in [-1.5, 1.5], exact in binary. */
static inline float golden_value(unsigned s, size_t i)
{
    return (float)((long)((i * 37u + s * 11u) % 193u) - 96) / 64.0f;
}

/* Positive values for variances and second moments. */
static inline float golden_positive(unsigned s, size_t i)
{
    return (float)((i * 13u + s * 5u) % 61u + 1u) / 128.0f;
}

static const char *const golden_keys[] = {"dataset", "note", "empty"};
static const char *const golden_values[] = {"synthetic 4-d", "golden file, format 1.0", ""};

static const double golden_history[][2] = {{0.5, 0.25}, {0.375, 0.1875}, {0.3125, NAN}};

/* Every tensor of a net gets stream k, k + 1, ...; state tensors get
 * positive values (batch normalization's running variance must be). */
static inline int golden_fill_net(ae__net *net, unsigned *stream)
{
    for (size_t i = 0; i < net->n; i++) {
        ae__layer *l = &net->layers[i];
        for (size_t t = 0; t < l->n_tensors + l->n_states; t++) {
            ae_param_view v;
            memset(&v, 0, sizeof v);
            v.struct_size = sizeof v;
            int state = t >= l->n_tensors;
            int rc = state ? l->kind->vt.state_get(l->state, t - l->n_tensors, &v)
                           : l->kind->vt.param_get(l->state, t, &v);
            if (rc < 0)
                return rc;
            for (size_t j = 0; j < v.count; j++)
                v.value[j] = state ? golden_positive(*stream, j) : golden_value(*stream, j);
            (*stream)++;
        }
    }
    return AE_OK;
}

/* The golden objects. Every output is created; free them with
 * golden_free(). */
typedef struct golden {
    ae_model *model;
    ae_optimizer *opt;
    ae_pca *pca;
    ae_detector *det;
    ae_train_options train;
} golden;

static inline void golden_free(golden *g)
{
    ae_model_destroy(g->model);
    ae_optimizer_destroy(g->opt);
    ae_pca_destroy(g->pca);
    ae_detector_destroy(g->det);
    memset(g, 0, sizeof *g);
}

static inline int golden_build(golden *g)
{
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    const ae_shape in = {1, {4, 0, 0, 0}}, latent = {1, {3, 0, 0, 0}};
    const unsigned char tag[4] = {7, 0, 0, 0};
    int rc;
    memset(g, 0, sizeof *g);
    if ((rc = golden_register()) < 0 || (rc = ae_encoder_create(&enc, &in, 1)) < 0 ||
        (rc = ae_encoder_add_dense(enc, 3, AE_ACT_RELU)) < 0 ||
        (rc = ae_encoder_add_batchnorm(enc)) < 0 ||
        (rc = ae_encoder_add_layer(enc, GOLDEN_KIND, tag, sizeof tag)) < 0 ||
        (rc = ae_decoder_create(&dec, &latent, 2)) < 0 ||
        (rc = ae_decoder_add_dense(dec, 4, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(&g->model, enc, dec)) < 0)
        goto fail;
    enc = NULL;
    dec = NULL;
    unsigned stream = 0;
    if ((rc = golden_fill_net(&g->model->enc->net, &stream)) < 0 ||
        (rc = golden_fill_net(&g->model->dec->net, &stream)) < 0)
        goto fail;
    /* The custom layer's extra state. */
    ((golden_scale *)g->model->enc->net.layers[2].state)->calls = 0x0102030405060708ull;
    for (size_t e = 0; e < sizeof golden_history / sizeof golden_history[0]; e++)
        if ((rc = ae__model_history_push(g->model, golden_history[e][0], golden_history[e][1])) < 0)
            goto fail;

    /* Adam, bound to the model's parameters, with patterned moments. */
    ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
    oo.learning_rate = 0.0078125f;
    oo.weight_decay = 0.25f;
    oo.kind = AE_OPT_ADAMW;
    if ((rc = ae_optimizer_create(&g->opt, &oo)) < 0)
        goto fail;
    ae_param_view views[16];
    size_t n0 = ae__net_tensor_count(&g->model->enc->net);
    size_t n = n0 + ae__net_tensor_count(&g->model->dec->net);
    if (n > 16 || (rc = ae__net_params(&g->model->enc->net, views)) < 0 ||
        (rc = ae__net_params(&g->model->dec->net, views + n0)) < 0 ||
        (rc = ae__optimizer_bind(g->opt, views, n)) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const float *value;
        size_t count;
        float *m, *v;
        ae__optimizer_tensor(g->opt, i, &value, &count, &m, &v);
        for (size_t j = 0; j < count; j++) {
            m[j] = golden_value(100u + (unsigned)i, j);
            v[j] = golden_positive(200u + (unsigned)i, j);
        }
    }
    ae__optimizer_set_steps(g->opt, 7);

    /* A PCA over 4 features with the first two unit vectors as components. */
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = 2;
    const float mean[4] = {0.5f, -0.25f, 0.125f, 1.0f};
    const float comp[8] = {1, 0, 0, 0, 0, 1, 0, 0};
    const double var[2] = {2.0, 1.0};
    if ((rc = ae_pca_create(&g->pca, &po)) < 0 ||
        (rc = ae_pca_set_state(g->pca, 4, 2, mean, comp, var, 4.0)) < 0)
        goto fail;

    ae_detector_options dop = AE_DETECTOR_OPTIONS_INIT;
    dop.score = AE_SCORE_MAE;
    dop.rule = AE_THRESHOLD_QUANTILE;
    dop.quantile = 0.875;
    if ((rc = ae_detector_create(&g->det, &dop)) < 0 ||
        (rc = ae_detector_set_threshold(g->det, 0.046875)) < 0)
        goto fail;

    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 3;
    to.batch_size = 8;
    to.seed = 0x123456789abcdefull;
    to.loss = AE_LOSS_BCE;
    to.noise = AE_NOISE_GAUSSIAN;
    to.noise_amount = 0.25f;
    g->train = to;
    return AE_OK;
fail:
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    golden_free(g);
    return rc;
}

/* The save options that produce the golden file from the golden objects. */
static inline ae_save_options golden_save_options(const golden *g)
{
    ae_save_options so = AE_SAVE_OPTIONS_INIT;
    so.optimizer = g->opt;
    so.training = &g->train;
    so.metadata_count = sizeof golden_keys / sizeof golden_keys[0];
    so.metadata_keys = golden_keys;
    so.metadata_values = golden_values;
    so.pca = g->pca;
    so.detector = g->det;
    return so;
}

#endif
