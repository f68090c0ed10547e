/* SPDX-License-Identifier: MIT */
/*
 * consumer_1_0.c - a program written against libae 1.0.0's public API,
 * compiled with 1.0.0's headers (a frozen snapshot) and run against the
 * newest libae.so of major 1 by scripts/check-old-consumers.sh.
 *
 * The stability promise it tests: a program built against libae 1.x keeps
 * working with every later 1.x, and fields appended to a versioned struct
 * (struct_size first) do not break it. So it uses every versioned struct
 * the way a 1.0 program does, with struct_size its own 1.0 size:
 *   options it fills (dense, conv2d, conv2d_transpose, pool2d, upsample2d,
 *   dropout, batchnorm, optimizer, train, save, open, pca, detector, csv),
 *   ae_allocator and ae_layer_vtable; structs the library fills for its
 *   callbacks (ae_progress, ae_layer_create_args, ae_layer_ctx,
 *   ae_param_view), read only up to their struct_size; and structs the
 *   library fills for it (ae_file_info, ae_file_layer, ae_file_tensor,
 *   ae_file_section, ae_train_options from ae_file_get_training,
 *   ae_detector_options from ae_detector_get_options, ae_binary_metrics,
 *   ae_optimizer_options from ae_optimizer_options_default). Those last ones
 *   sit in front of guard bytes: a newer library that writes past the 1.0
 *   size, or changes struct_size to its own, fails a check here.
 *
 * Everything is small, synthetic and seeded: it runs in well under a second.
 * Exit status 0 and one summary line on stdout when every check passes;
 * otherwise each failed check is printed to stderr and the status is 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <ae.h>
#include <ae/sys/layer.h>

#include <math.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "consumer_1_0"

/* ---- checks ------------------------------------------------------------------- */

static unsigned n_checks, n_failures;

static int check_(int ok, const char *what, int line)
{
    n_checks++;
    if (!ok) {
        n_failures++;
        fprintf(stderr, PROG ": FAIL (line %d): %s\n", line, what);
    }
    return ok;
}

static int ok_(int rc, const char *what, int line)
{
    n_checks++;
    if (rc != AE_OK) {
        n_failures++;
        fprintf(stderr, PROG ": FAIL (line %d): %s returned %d (%s): %s\n", line, what, rc,
                ae_strerror(rc), ae_last_error());
        return 0;
    }
    return 1;
}

/* CHECK(cond) / OK(call that must return AE_OK): count and report. */
#define CHECK(c) check_((c) ? 1 : 0, #c, __LINE__)
#define OK(call) ok_((call), #call, __LINE__)
/* The same, leaving the current section (it returns 0) when they fail. */
#define REQUIRE(c) do { if (!CHECK(c)) return 0; } while (0)
#define REQUIRE_OK(call) do { if (!OK(call)) return 0; } while (0)

/* Structs the library writes into sit in front of GUARD_BYTES bytes of
 * GUARD_FILL: the library must write no more than the caller's 1.0 size. */
#define GUARD_BYTES 64
#define GUARD_FILL 0xA5
#define GUARDED(T) struct { T s; unsigned char guard[GUARD_BYTES]; }

static void guard_set(unsigned char *g) { memset(g, GUARD_FILL, GUARD_BYTES); }

static int guard_intact(const unsigned char *g)
{
    for (size_t i = 0; i < GUARD_BYTES; i++)
        if (g[i] != GUARD_FILL)
            return 0;
    return 1;
}

static int same_shape(const ae_shape *a, const ae_shape *b)
{
    if (a->rank != b->rank)
        return 0;
    for (size_t i = 0; i < AE_MAX_RANK; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

static int finite_positive(double x) { return isfinite(x) && x > 0.0; }

/* ---- deterministic data ----------------------------------------------------------- */

enum {
    FEATURES = 16,
    N_TRAIN = 64,
    N_NORMAL_TEST = 16,
    N_ANOMALY = 16,
    N_TEST = N_NORMAL_TEST + N_ANOMALY,
    HIDDEN = 8,
    LATENT = 4,
    IMG = 8,
    N_IMG = 64
};

static uint64_t lcg_state;

static float lcg_uniform(void) /* [0, 1) */
{
    lcg_state = lcg_state * 6364136223846793005u + 1442695040888963407u;
    return (float)(lcg_state >> 40) / 16777216.0f;
}

/* A normal sample: two factors a, b in [-1, 1) on two fixed curves, so the
 * data has rank 2 around its mean (a 3-component PCA reproduces it). */
static void normal_sample(float *x)
{
    float a = 2.0f * lcg_uniform() - 1.0f, b = 2.0f * lcg_uniform() - 1.0f;
    for (int j = 0; j < FEATURES; j++)
        x[j] = 0.5f + 0.25f * a * cosf(0.4f * (float)j) + 0.2f * b * sinf(0.35f * (float)j + 0.3f);
}

/* Bars on an 8x8 image: horizontal or vertical, at one of 8 positions. */
static void bar_image(float *x, int i)
{
    int vertical = i % 2, pos = (i / 2) % IMG;
    float on = 0.6f + 0.3f * (float)((i / 16) % 2);
    for (int r = 0; r < IMG; r++)
        for (int c = 0; c < IMG; c++)
            x[r * IMG + c] = (vertical ? c : r) == pos ? on : 0.1f;
}

static void put_u32le(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float get_f32le(const unsigned char *p)
{
    uint32_t u = get_u32le(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void put_f32le(unsigned char *p, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    put_u32le(p, u);
}

/* ---- the allocator: counts blocks, 64-byte aligned ----------------------------------- */

typedef struct counting_alloc {
    size_t live, total;
    int size_mismatch; /* free() told another size than alloc() was asked */
} counting_alloc;

static void *ca_alloc(void *user, size_t size)
{
    counting_alloc *c = user;
    size_t rounded = (size + 63) / 64 * 64 + 64;
    unsigned char *p = aligned_alloc(64, rounded);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof size); /* the size asked for, in a header */
    c->live++;
    c->total++;
    return p + 64;
}

static void ca_free(void *user, void *ptr, size_t size)
{
    counting_alloc *c = user;
    if (ptr == NULL)
        return;
    unsigned char *p = (unsigned char *)ptr - 64;
    size_t asked;
    memcpy(&asked, p, sizeof asked);
    if (asked != size)
        c->size_mismatch = 1;
    c->live--;
    free(p);
}

/* ---- the custom layer: y = factor * x, factor a state tensor holding 2 ------------- */

#define SCALE_KIND "abi_test.scale2"
#define SCALE_EXTRA 0x324c4353u /* "SCL2", the layer's extra state */

/* Fields a 1.0 layer reads, up to and including the last one it uses. */
#define ARGS_NEED (offsetof(ae_layer_create_args, user_data) + sizeof(void *))
#define CTX_NEED (offsetof(ae_layer_ctx, user_data) + sizeof(void *))

typedef struct scale_user {
    atomic_uint creates, destroys, train_forwards, infer_forwards, backwards, extra_loads;
    atomic_uint bad; /* a callback saw something a 1.0 layer does not expect */
    atomic_uint frees;
} scale_user;

static scale_user g_user;

typedef struct scale_layer {
    size_t n;
    float factor;
} scale_layer;

static void scale_bad(void) { atomic_fetch_add(&g_user.bad, 1u); }

static int scale_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    if (args->struct_size < ARGS_NEED) {
        scale_bad();
        return ae_error_set(AE_ERR_INVALID, SCALE_KIND ": create args of %u bytes",
                            args->struct_size);
    }
    if (args->user_data != &g_user || args->rng == NULL)
        scale_bad();
    if (args->config_size != 4 || args->config == NULL)
        return ae_error_set(AE_ERR_INVALID, SCALE_KIND ": config of %zu bytes, expected 4",
                            args->config_size);
    float f = get_f32le(args->config);
    if (f != 2.0f)
        return ae_error_set(AE_ERR_INVALID, SCALE_KIND ": factor %g, expected 2", (double)f);
    if (args->input.rank < 1 || args->input.rank > AE_MAX_RANK)
        return ae_error_set(AE_ERR_SHAPE, SCALE_KIND ": input rank %u", args->input.rank);
    size_t n = 1;
    for (uint32_t i = 0; i < args->input.rank; i++)
        n *= args->input.dims[i];
    scale_layer *s = malloc(sizeof *s);
    if (s == NULL)
        return ae_error_set(AE_ERR_NOMEM, SCALE_KIND ": out of memory");
    s->n = n;
    s->factor = f;
    *output = args->input;
    *state = s;
    atomic_fetch_add(&g_user.creates, 1u);
    return AE_OK;
}

static void scale_destroy(void *state)
{
    if (state != NULL)
        atomic_fetch_add(&g_user.destroys, 1u);
    free(state);
}

static size_t scale_state_count(const void *state)
{
    (void)state;
    return 1;
}

static int scale_state_get(void *state, size_t index, ae_param_view *v)
{
    scale_layer *s = state;
    if (v->struct_size < sizeof(ae_param_view) || v->value != NULL || v->name != NULL) {
        scale_bad(); /* the view arrives zeroed with at least the 1.0 size */
        return ae_error_set(AE_ERR_INVALID, SCALE_KIND ": unexpected view");
    }
    if (index != 0)
        return ae_error_set(AE_ERR_INVALID, SCALE_KIND ": no state tensor %zu", index);
    v->name = "factor";
    v->value = &s->factor;
    v->grad = NULL;
    v->count = 1;
    v->shape.rank = 1;
    v->shape.dims[0] = 1;
    return AE_OK;
}

static int scale_ctx_ok(const ae_layer_ctx *ctx)
{
    if (ctx->struct_size < CTX_NEED) {
        scale_bad();
        return 0;
    }
    if (ctx->batch == 0 || ctx->user_data != &g_user || (ctx->training != 0 && ctx->training != 1) ||
        (ctx->training == 1 && ctx->rng == NULL) || (ctx->training == 0 && ctx->rng != NULL)) {
        scale_bad();
        return 0;
    }
    return 1;
}

static int scale_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const scale_layer *s = state;
    if (!scale_ctx_ok(ctx))
        return ae_error_set(AE_ERR_INVALID, SCALE_KIND ": unexpected ctx");
    atomic_fetch_add(ctx->training ? &g_user.train_forwards : &g_user.infer_forwards, 1u);
    for (size_t i = 0; i < ctx->batch * s->n; i++)
        y[i] = s->factor * x[i];
    return AE_OK;
}

static int scale_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                          const float *dy, float *dx)
{
    const scale_layer *s = state;
    (void)x;
    (void)y;
    if (!scale_ctx_ok(ctx) || ctx->training != 1)
        return ae_error_set(AE_ERR_INVALID, SCALE_KIND ": unexpected ctx in backward");
    atomic_fetch_add(&g_user.backwards, 1u);
    if (dx != NULL)
        for (size_t i = 0; i < ctx->batch * s->n; i++)
            dx[i] = s->factor * dy[i];
    return AE_OK;
}

static size_t scale_extra_size(const void *state)
{
    (void)state;
    return 4;
}

static int scale_extra_save(const void *state, void *buf, size_t size)
{
    (void)state;
    if (size != 4)
        return ae_error_set(AE_ERR_INVALID, SCALE_KIND ": extra_save of %zu bytes", size);
    put_u32le(buf, SCALE_EXTRA);
    return AE_OK;
}

static int scale_extra_load(void *state, const void *buf, size_t size)
{
    (void)state;
    if (size != 4 || get_u32le(buf) != SCALE_EXTRA)
        return ae_error_set(AE_ERR_FORMAT, SCALE_KIND ": bad extra state");
    atomic_fetch_add(&g_user.extra_loads, 1u);
    return AE_OK;
}

static void scale_user_free(void *user)
{
    if (user != &g_user)
        scale_bad();
    atomic_fetch_add(&g_user.frees, 1u);
}

/* ---- progress callback ----------------------------------------------------------- */

#define PROGRESS_NEED (offsetof(ae_progress, seconds) + sizeof(double))

typedef struct progress_log {
    ae_optimizer *opt;
    uint32_t epochs;
    size_t batches;
    unsigned batch_events, epoch_events, bad;
    uint32_t next_epoch;
    size_t next_batch;
    double last_seconds;
    float lowered_lr;
} progress_log;

static int on_progress(const ae_progress *p, void *user)
{
    progress_log *log = user;
    if (p->struct_size < PROGRESS_NEED) {
        log->bad++;
        return 0;
    }
    int sane = p->epochs == log->epochs && p->batches == log->batches && p->epoch < p->epochs &&
               p->epoch == log->next_epoch && finite_positive(p->loss) && p->seconds >= 0.0 &&
               p->seconds >= log->last_seconds;
    log->last_seconds = p->seconds;
    if (p->event == AE_PROGRESS_BATCH) {
        log->batch_events++;
        sane = sane && p->batch == log->next_batch && p->batch < p->batches && isnan(p->val_loss);
        log->next_batch++;
    } else if (p->event == AE_PROGRESS_EPOCH) {
        log->epoch_events++;
        sane = sane && p->batch == p->batches && log->next_batch == p->batches &&
               finite_positive(p->val_loss);
        log->next_batch = 0;
        log->next_epoch++;
        if (p->epoch + 1 == p->epochs / 2) { /* the callback may change the learning rate */
            log->lowered_lr = ae_optimizer_learning_rate(log->opt) / 2.0f;
            if (ae_optimizer_set_learning_rate(log->opt, log->lowered_lr) != AE_OK)
                sane = 0;
        }
    } else {
        sane = 0;
    }
    if (!sane)
        log->bad++;
    return 0;
}

/* ---- the run ------------------------------------------------------------------------- */

typedef struct run {
    counting_alloc alloc;
    size_t live_start;
    int allocator_set, registered;
    float train_x[N_TRAIN * FEATURES], test_x[N_TEST * FEATURES];
    int32_t test_labels[N_TEST];
    ae_dataset *train, *test, *test_normal, *csv;
    ae_model *model, *loaded, *conv, *conv_loaded;
    ae_optimizer *opt, *loaded_opt, *conv_opt;
    ae_train_options to;
    ae_pca *pca, *loaded_pca;
    ae_detector *det, *loaded_det;
    ae_file *file, *conv_file;
    void *saved, *conv_saved;
    size_t saved_size, conv_saved_size;
    progress_log log;
    double loss_before, loss_after, auc;
} run;

static int section_version(void)
{
    unsigned v = ae_version();
    char expect[32];
    CHECK(v / 10000 == AE_VERSION_MAJOR);
    CHECK(v >= (unsigned)AE_VERSION_NUMBER);
    snprintf(expect, sizeof expect, "%u.%u.%u", v / 10000, v / 100 % 100, v % 100);
    CHECK(strcmp(ae_version_string(), expect) == 0);
    REQUIRE_OK(ae_set_num_threads(1));
    CHECK(ae_get_num_threads() == 1);
    return 1;
}

static int section_allocator(run *r)
{
    ae_allocator a = AE_ALLOCATOR_INIT;
    a.user = &r->alloc;
    a.alloc = ca_alloc;
    a.free = ca_free;
    REQUIRE(r->live_start == 0);
    REQUIRE_OK(ae_set_allocator(&a));
    r->allocator_set = 1;
    return 1;
}

static int section_register(run *r)
{
    ae_layer_vtable vt = AE_LAYER_VTABLE_INIT;
    REQUIRE(vt.struct_size == sizeof(ae_layer_vtable));
    REQUIRE(vt.abi_version == AE_LAYER_ABI_VERSION);
    vt.type_name = SCALE_KIND;
    vt.type_version = 1;
    vt.create = scale_create;
    vt.destroy = scale_destroy;
    vt.forward = scale_forward;
    vt.backward = scale_backward;
    vt.state_count = scale_state_count;
    vt.state_get = scale_state_get;
    vt.extra_size = scale_extra_size;
    vt.extra_save = scale_extra_save;
    vt.extra_load = scale_extra_load;
    REQUIRE_OK(ae_layer_register(&vt, &g_user, scale_user_free));
    r->registered = 1;
    CHECK(ae_layer_is_registered(SCALE_KIND) == 1);
    CHECK(ae_layer_register(&vt, &g_user, NULL) == AE_ERR_EXISTS);
    return 1;
}

static int section_data(run *r)
{
    const ae_shape in = {1, {FEATURES}};
    lcg_state = 12345;
    for (int i = 0; i < N_TRAIN; i++)
        normal_sample(r->train_x + i * FEATURES);
    for (int i = 0; i < N_NORMAL_TEST; i++) {
        normal_sample(r->test_x + i * FEATURES);
        r->test_labels[i] = 0;
    }
    for (int i = N_NORMAL_TEST; i < N_TEST; i++) {
        for (int j = 0; j < FEATURES; j++)
            r->test_x[i * FEATURES + j] = lcg_uniform();
        r->test_labels[i] = 1;
    }
    REQUIRE_OK(ae_dataset_from_memory(&r->train, r->train_x, NULL, N_TRAIN, &in, AE_DATASET_COPY));
    REQUIRE_OK(ae_dataset_from_memory(&r->test, r->test_x, r->test_labels, N_TEST, &in,
                                      AE_DATASET_BORROW));
    REQUIRE_OK(ae_dataset_subset(&r->test_normal, r->test, 0, N_NORMAL_TEST));
    CHECK(ae_dataset_count(r->train) == N_TRAIN);
    CHECK(ae_dataset_sample_size(r->train) == FEATURES);
    CHECK(ae_dataset_has_labels(r->test) == 1);
    CHECK(ae_dataset_count(r->test_normal) == N_NORMAL_TEST);
    return 1;
}

/* 16 -> dense 8 (leaky relu) -> scale2 -> dense 4 (tanh, no bias) | 4 -> dense 8 (relu)
 * -> dense 16 (sigmoid) */
static int section_dense_model(run *r)
{
    const ae_shape in = {1, {FEATURES}}, latent = {1, {LATENT}};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    unsigned char cfg[4];
    put_f32le(cfg, 2.0f);

    REQUIRE_OK(ae_encoder_create(&enc, &in, 42));
    ae_dense_options d1 = AE_DENSE_OPTIONS_INIT;
    d1.units = HIDDEN;
    d1.activation = AE_ACT_LEAKY_RELU;
    d1.slope = 0.1f;
    d1.init = AE_INIT_HE_UNIFORM;
    ae_dense_options d2 = AE_DENSE_OPTIONS_INIT;
    d2.units = LATENT;
    d2.activation = AE_ACT_TANH;
    d2.use_bias = 0;
    int ok = OK(ae_encoder_add_dense_ex(enc, &d1)) &&
             OK(ae_encoder_add_layer(enc, SCALE_KIND, cfg, sizeof cfg)) &&
             OK(ae_encoder_add_dense_ex(enc, &d2)) && OK(ae_decoder_create(&dec, &latent, 43));
    if (ok) {
        ae_dense_options d3 = AE_DENSE_OPTIONS_INIT, d4 = AE_DENSE_OPTIONS_INIT;
        d3.units = HIDDEN;
        d3.activation = AE_ACT_RELU;
        d4.units = FEATURES;
        d4.activation = AE_ACT_SIGMOID;
        d4.init = AE_INIT_GLOROT_NORMAL;
        ok = OK(ae_decoder_add_dense_ex(dec, &d3)) && OK(ae_decoder_add_dense_ex(dec, &d4)) &&
             OK(ae_model_create(&r->model, enc, dec));
    }
    if (!ok) {
        ae_encoder_destroy(enc);
        ae_decoder_destroy(dec);
        return 0;
    }
    CHECK(ae_encoder_layer_count(enc) == 3);
    CHECK(ae_decoder_layer_count(dec) == 2);
    CHECK(ae_encoder_latent_size(enc) == LATENT);
    CHECK(ae_encoder_param_count(enc) == FEATURES * HIDDEN + HIDDEN + HIDDEN * LATENT);
    CHECK(ae_decoder_param_count(dec) == LATENT * HIDDEN + HIDDEN + HIDDEN * FEATURES + FEATURES);
    CHECK(ae_model_param_count(r->model) ==
          ae_encoder_param_count(enc) + ae_decoder_param_count(dec));
    CHECK(atomic_load(&g_user.creates) == 1);
    return 1;
}

static int section_train(run *r)
{
    GUARDED(ae_optimizer_options) oo;
    memset(&oo.s, 0, sizeof oo.s);
    oo.s.struct_size = sizeof oo.s;
    guard_set(oo.guard);
    REQUIRE_OK(ae_optimizer_options_default(&oo.s, AE_OPT_ADAM));
    CHECK(guard_intact(oo.guard));
    CHECK(oo.s.struct_size == sizeof(ae_optimizer_options));
    CHECK(oo.s.kind == AE_OPT_ADAM && oo.s.beta1 == 0.9f && oo.s.beta2 == 0.999f);
    oo.s.learning_rate = 0.01f;
    REQUIRE_OK(ae_optimizer_create(&r->opt, &oo.s));
    CHECK(ae_optimizer_learning_rate(r->opt) == 0.01f);

    REQUIRE_OK(ae_model_evaluate(r->model, r->train, AE_LOSS_MSE, &r->loss_before));

    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 40;
    to.batch_size = 16;
    to.seed = 7;
    to.loss = AE_LOSS_MSE;
    to.shuffle = 1;
    to.validation = r->test_normal;
    to.progress = on_progress;
    to.progress_user = &r->log;
    to.noise = AE_NOISE_GAUSSIAN;
    to.noise_amount = 0.02f;
    r->to = to;
    r->log.opt = r->opt;
    r->log.epochs = to.epochs;
    r->log.batches = N_TRAIN / 16;
    unsigned fw0 = atomic_load(&g_user.train_forwards);
    REQUIRE_OK(ae_model_train(r->model, r->opt, r->train, &to));

    CHECK(r->log.bad == 0);
    CHECK(r->log.epoch_events == to.epochs);
    CHECK(r->log.batch_events == to.epochs * r->log.batches);
    CHECK(ae_optimizer_steps(r->opt) == (uint64_t)to.epochs * r->log.batches);
    CHECK(ae_optimizer_learning_rate(r->opt) == r->log.lowered_lr);
    CHECK(atomic_load(&g_user.train_forwards) - fw0 == to.epochs * r->log.batches);
    CHECK(atomic_load(&g_user.backwards) == to.epochs * r->log.batches);
    CHECK(atomic_load(&g_user.bad) == 0);

    REQUIRE_OK(ae_model_evaluate(r->model, r->train, AE_LOSS_MSE, &r->loss_after));
    CHECK(finite_positive(r->loss_before) && finite_positive(r->loss_after));
    CHECK(r->loss_after < 0.5 * r->loss_before);
    CHECK(ae_model_history_length(r->model) == to.epochs);
    double first = 0, last = 0, val = 0;
    REQUIRE_OK(ae_model_history_get(r->model, 0, &first, NULL));
    REQUIRE_OK(ae_model_history_get(r->model, to.epochs - 1, &last, &val));
    CHECK(last < first);
    CHECK(finite_positive(val));

    /* inference: reconstruct == decode(encode), evaluate == loss_compute */
    static float z[N_TRAIN * LATENT], xr[N_TRAIN * FEATURES], xd[N_TRAIN * FEATURES];
    REQUIRE_OK(ae_model_reconstruct(r->model, r->train_x, N_TRAIN, xr));
    REQUIRE_OK(ae_encoder_encode(ae_model_encoder(r->model), r->train_x, N_TRAIN, z));
    REQUIRE_OK(ae_decoder_decode(ae_model_decoder(r->model), z, N_TRAIN, xd));
    float maxdiff = 0.0f;
    for (size_t i = 0; i < N_TRAIN * FEATURES; i++)
        maxdiff = fmaxf(maxdiff, fabsf(xr[i] - xd[i]));
    CHECK(maxdiff < 1e-5f);
    CHECK(atomic_load(&g_user.infer_forwards) > 0);
    double loss = 0;
    REQUIRE_OK(ae_loss_compute(&loss, AE_LOSS_MSE, r->train_x, xr, N_TRAIN, FEATURES));
    CHECK(fabs(loss - r->loss_after) <= 1e-5 * r->loss_after);

    /* ae_noise_apply: seeded, same bits for the same seed */
    float n1[FEATURES], n2[FEATURES];
    memcpy(n1, r->train_x, sizeof n1);
    memcpy(n2, r->train_x, sizeof n2);
    REQUIRE_OK(ae_noise_apply(n1, FEATURES, AE_NOISE_GAUSSIAN, 0.1f, 99));
    REQUIRE_OK(ae_noise_apply(n2, FEATURES, AE_NOISE_GAUSSIAN, 0.1f, 99));
    CHECK(memcmp(n1, n2, sizeof n1) == 0 && memcmp(n1, r->train_x, sizeof n1) != 0);
    return 1;
}

static int section_pca(run *r)
{
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = 3;
    po.solver = AE_PCA_EXACT;
    po.seed = 5;
    REQUIRE_OK(ae_pca_create(&r->pca, &po));
    REQUIRE_OK(ae_pca_fit_dataset(r->pca, r->train));
    CHECK(ae_pca_n_components(r->pca) == 3);
    CHECK(ae_pca_n_features(r->pca) == FEATURES);
    CHECK(ae_pca_solver_used(r->pca) == AE_PCA_EXACT);
    float z[4 * 3], back[4 * FEATURES];
    REQUIRE_OK(ae_pca_transform(r->pca, r->train_x, 4, z));
    REQUIRE_OK(ae_pca_inverse_transform(r->pca, z, 4, back));
    float maxdiff = 0.0f;
    for (size_t i = 0; i < 4 * FEATURES; i++)
        maxdiff = fmaxf(maxdiff, fabsf(back[i] - r->train_x[i]));
    CHECK(maxdiff < 1e-4f); /* the data has rank 2 around its mean */
    double mse = 1;
    REQUIRE_OK(ae_pca_evaluate(r->pca, r->train, &mse));
    CHECK(mse < 1e-8);
    return 1;
}

static int section_detector(run *r)
{
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    o.score = AE_SCORE_MAE;
    o.rule = AE_THRESHOLD_QUANTILE;
    o.quantile = 0.95;
    REQUIRE_OK(ae_detector_create(&r->det, &o));
    CHECK(ae_detector_is_fitted(r->det) == 0);
    REQUIRE_OK(ae_detector_fit(r->det, r->model, r->train));
    CHECK(ae_detector_is_fitted(r->det) == 1);

    GUARDED(ae_detector_options) got;
    memset(&got.s, 0, sizeof got.s);
    got.s.struct_size = sizeof got.s;
    guard_set(got.guard);
    REQUIRE_OK(ae_detector_get_options(r->det, &got.s));
    CHECK(guard_intact(got.guard));
    CHECK(got.s.struct_size == sizeof(ae_detector_options));
    CHECK(got.s.score == AE_SCORE_MAE && got.s.rule == AE_THRESHOLD_QUANTILE &&
          got.s.quantile == 0.95 && got.s.k == 1.0);

    double threshold = 0;
    REQUIRE_OK(ae_detector_threshold(r->det, &threshold));
    CHECK(finite_positive(threshold));

    double errors[N_TEST], errors2[N_TEST];
    int32_t flags[N_TEST], flags2[N_TEST];
    REQUIRE_OK(ae_detector_predict(r->det, r->model, r->test, flags, errors));
    REQUIRE_OK(ae_detector_classify(r->det, errors, N_TEST, flags2));
    CHECK(memcmp(flags, flags2, sizeof flags) == 0);
    REQUIRE_OK(ae_model_score(r->model, r->test_x, N_TEST, AE_SCORE_MAE, errors2));
    double maxdiff = 0;
    for (int i = 0; i < N_TEST; i++)
        maxdiff = fmax(maxdiff, fabs(errors[i] - errors2[i]));
    CHECK(maxdiff <= 1e-6);
    REQUIRE_OK(ae_model_score_dataset(r->model, r->test, AE_SCORE_MAE, errors2));
    maxdiff = 0;
    for (int i = 0; i < N_TEST; i++)
        maxdiff = fmax(maxdiff, fabs(errors[i] - errors2[i]));
    CHECK(maxdiff <= 1e-6);

    GUARDED(ae_binary_metrics) m;
    memset(&m.s, 0, sizeof m.s);
    m.s.struct_size = sizeof m.s;
    guard_set(m.guard);
    REQUIRE_OK(ae_metrics_at_threshold(&m.s, errors, r->test_labels, N_TEST, threshold));
    CHECK(guard_intact(m.guard));
    CHECK(m.s.struct_size == sizeof(ae_binary_metrics));
    CHECK(m.s.threshold == threshold);
    CHECK(m.s.tp + m.s.fn == N_ANOMALY && m.s.tn + m.s.fp == N_NORMAL_TEST);
    size_t flagged = 0;
    for (int i = 0; i < N_TEST; i++)
        flagged += flags[i] == 1;
    CHECK(flagged == m.s.tp + m.s.fp);
    CHECK(m.s.accuracy == (double)(m.s.tp + m.s.tn) / N_TEST);
    CHECK(m.s.recall >= 0.75); /* uniform noise against rank-2 curves */
    CHECK(m.s.f1 > 0.0 && m.s.f1 <= 1.0);
    REQUIRE_OK(ae_metrics_roc_auc(&r->auc, errors, r->test_labels, N_TEST));
    CHECK(r->auc >= 0.9);
    return 1;
}

static const char *const meta_keys[] = {"author", "purpose"};
static const char *const meta_values[] = {"consumer_1_0", "ABI test of libae 1.x"};

static int section_save(run *r)
{
    ae_save_options so = AE_SAVE_OPTIONS_INIT;
    so.optimizer = r->opt;
    so.training = &r->to;
    so.metadata_count = 2;
    so.metadata_keys = meta_keys;
    so.metadata_values = meta_values;
    so.pca = r->pca;
    so.detector = r->det;
    REQUIRE_OK(ae_model_save_memory(r->model, &r->saved, &r->saved_size, &so));
    REQUIRE(r->saved != NULL && r->saved_size > 0);

    ae_open_options oo = AE_OPEN_OPTIONS_INIT;
    ae_file *tiny = NULL;
    oo.max_size = (uint64_t)r->saved_size - 1;
    CHECK(ae_file_open_memory(&tiny, r->saved, r->saved_size, &oo) == AE_ERR_LIMIT);
    CHECK(tiny == NULL);
    ae_file_close(tiny);
    oo.max_size = (uint64_t)r->saved_size;
    REQUIRE_OK(ae_file_open_memory(&r->file, r->saved, r->saved_size, &oo));
    return 1;
}

static int section_inspect(run *r)
{
    const ae_file *f = r->file;
    GUARDED(ae_file_info) info;
    ae_file_info info_init = AE_FILE_INFO_INIT;
    info.s = info_init;
    guard_set(info.guard);
    REQUIRE_OK(ae_file_get_info(f, &info.s));
    CHECK(guard_intact(info.guard));
    CHECK(info.s.struct_size == sizeof(ae_file_info));
    CHECK(info.s.format_major == AE_FILE_FORMAT_MAJOR);
    CHECK(info.s.writer_version == ae_version());
    CHECK(info.s.kind == AE_FILE_MODEL);
    CHECK(info.s.file_size == (uint64_t)r->saved_size);
    CHECK(info.s.encoder_layers == 3 && info.s.decoder_layers == 2);
    CHECK(info.s.param_floats == ae_model_param_count(r->model));
    CHECK(info.s.state_floats == 1); /* the scale layer's factor */
    CHECK(info.s.history_length == r->to.epochs);
    CHECK(info.s.metadata_count == 2);
    CHECK(info.s.has_training == 1);
    CHECK(info.s.has_optimizer == 1 && info.s.optimizer_kind == AE_OPT_ADAM);
    CHECK(info.s.optimizer_steps == ae_optimizer_steps(r->opt));
    CHECK(info.s.has_pca == 1 && info.s.has_detector == 1);
    REQUIRE(info.s.sections >= 1 && info.s.tensors >= 1);

    static const char *const kinds[] = {AE_LAYER_DENSE, SCALE_KIND, AE_LAYER_DENSE, AE_LAYER_DENSE,
                                        AE_LAYER_DENSE};
    size_t tensors = 0;
    for (size_t i = 0; i < 5; i++) {
        GUARDED(ae_file_layer) l;
        ae_file_layer l_init = AE_FILE_LAYER_INIT;
        l.s = l_init;
        guard_set(l.guard);
        REQUIRE_OK(ae_file_get_layer(f, i, &l.s));
        CHECK(guard_intact(l.guard));
        CHECK(l.s.struct_size == sizeof(ae_file_layer));
        CHECK(l.s.type_name != NULL && strcmp(l.s.type_name, kinds[i]) == 0);
        CHECK(l.s.decoder == (i >= 3) && l.s.index == (i >= 3 ? i - 3 : i));
        CHECK(l.s.registered == 1);
        tensors += l.s.params + l.s.states;
        if (i == 0) {
            const ae_shape in = {1, {FEATURES}}, out = {1, {HIDDEN}};
            CHECK(same_shape(&l.s.input, &in) && same_shape(&l.s.output, &out));
            CHECK(l.s.params == 2 && l.s.states == 0);
            CHECK(l.s.floats == FEATURES * HIDDEN + HIDDEN);
        }
        if (i == 1) {
            const ae_shape io = {1, {HIDDEN}};
            CHECK(same_shape(&l.s.input, &io) && same_shape(&l.s.output, &io));
            CHECK(l.s.type_version == 1);
            CHECK(l.s.config_size == 4 && l.s.config != NULL &&
                  get_f32le(l.s.config) == 2.0f);
            CHECK(l.s.params == 0 && l.s.states == 1 && l.s.floats == 1);
            CHECK(l.s.extra_size == 4);
        }
    }
    CHECK(tensors == info.s.tensors);
    ae_file_layer past = AE_FILE_LAYER_INIT;
    CHECK(ae_file_get_layer(f, 5, &past) == AE_ERR_INVALID);

    int found_factor = 0;
    uint64_t floats = 0;
    for (size_t i = 0; i < info.s.tensors; i++) {
        GUARDED(ae_file_tensor) t;
        ae_file_tensor t_init = AE_FILE_TENSOR_INIT;
        t.s = t_init;
        guard_set(t.guard);
        REQUIRE_OK(ae_file_get_tensor(f, i, &t.s));
        CHECK(guard_intact(t.guard));
        CHECK(t.s.struct_size == sizeof(ae_file_tensor));
        CHECK(t.s.layer < 5 && t.s.name != NULL && t.s.count >= 1);
        uint64_t prod = 1;
        for (uint32_t d = 0; d < t.s.shape.rank && d < AE_MAX_RANK; d++)
            prod *= t.s.shape.dims[d];
        CHECK(prod == t.s.count);
        CHECK(t.s.offset % 64 == 0 && t.s.offset + 4 * t.s.count <= info.s.file_size);
        floats += t.s.count;
        if (t.s.layer == 1) {
            found_factor = t.s.state == 1 && t.s.index == 0 && strcmp(t.s.name, "factor") == 0 &&
                           t.s.count == 1 &&
                           get_f32le((const unsigned char *)r->saved + t.s.offset) == 2.0f;
        }
    }
    CHECK(found_factor);
    CHECK(floats == info.s.param_floats + info.s.state_floats);

    int found_info = 0;
    for (size_t i = 0; i < info.s.sections; i++) {
        GUARDED(ae_file_section) s;
        ae_file_section s_init = AE_FILE_SECTION_INIT;
        s.s = s_init;
        guard_set(s.guard);
        REQUIRE_OK(ae_file_get_section(f, i, &s.s));
        CHECK(guard_intact(s.guard));
        CHECK(s.s.struct_size == sizeof(ae_file_section));
        CHECK(s.s.type[4] == '\0' && strlen(s.s.type) == 4);
        CHECK(s.s.offset + s.s.size <= info.s.file_size);
        CHECK(s.s.known == 1);
        found_info += strcmp(s.s.type, "INFO") == 0;
    }
    CHECK(found_info == 1);

    GUARDED(ae_train_options) t;
    ae_train_options t_init = AE_TRAIN_OPTIONS_INIT;
    t.s = t_init;
    guard_set(t.guard);
    REQUIRE_OK(ae_file_get_training(f, &t.s));
    CHECK(guard_intact(t.guard));
    CHECK(t.s.struct_size == sizeof(ae_train_options));
    CHECK(t.s.epochs == r->to.epochs && t.s.batch_size == r->to.batch_size &&
          t.s.seed == r->to.seed && t.s.loss == r->to.loss && t.s.shuffle == r->to.shuffle);
    CHECK(t.s.noise == r->to.noise && t.s.noise_amount == r->to.noise_amount);
    CHECK(t.s.validation == NULL && t.s.progress == NULL && t.s.progress_user == NULL);

    const char *value = NULL, *key = NULL;
    CHECK(ae_file_metadata_count(f) == 2);
    REQUIRE_OK(ae_file_metadata_get(f, "purpose", &value));
    CHECK(strcmp(value, meta_values[1]) == 0);
    REQUIRE_OK(ae_file_metadata_at(f, 0, &key, &value));
    CHECK(strcmp(key, meta_keys[0]) == 0 && strcmp(value, meta_values[0]) == 0);
    CHECK(ae_file_metadata_get(f, "missing", &value) == AE_ERR_NOT_FOUND);
    return 1;
}

static int section_load(run *r)
{
    static float a[N_TRAIN * FEATURES], b[N_TRAIN * FEATURES];
    unsigned creates = atomic_load(&g_user.creates);
    REQUIRE_OK(ae_file_load_model(&r->loaded, r->file));
    CHECK(atomic_load(&g_user.creates) == creates + 1);
    CHECK(atomic_load(&g_user.extra_loads) == 1);
    CHECK(ae_model_history_length(r->loaded) == r->to.epochs);
    REQUIRE_OK(ae_model_reconstruct(r->model, r->train_x, N_TRAIN, a));
    REQUIRE_OK(ae_model_reconstruct(r->loaded, r->train_x, N_TRAIN, b));
    CHECK(memcmp(a, b, sizeof a) == 0);

    REQUIRE_OK(ae_file_load_optimizer(&r->loaded_opt, r->file, r->loaded));
    CHECK(ae_optimizer_steps(r->loaded_opt) == ae_optimizer_steps(r->opt));
    CHECK(ae_optimizer_learning_rate(r->loaded_opt) == ae_optimizer_learning_rate(r->opt));

    /* training resumes bit for bit */
    ae_train_options more = r->to;
    more.epochs = 2;
    more.progress = NULL;
    more.progress_user = NULL;
    REQUIRE_OK(ae_model_train(r->model, r->opt, r->train, &more));
    REQUIRE_OK(ae_model_train(r->loaded, r->loaded_opt, r->train, &more));
    REQUIRE_OK(ae_model_reconstruct(r->model, r->train_x, N_TRAIN, a));
    REQUIRE_OK(ae_model_reconstruct(r->loaded, r->train_x, N_TRAIN, b));
    CHECK(memcmp(a, b, sizeof a) == 0);

    float za[8 * 3], zb[8 * 3];
    REQUIRE_OK(ae_file_load_pca(&r->loaded_pca, r->file));
    REQUIRE_OK(ae_pca_transform(r->pca, r->test_x, 8, za));
    REQUIRE_OK(ae_pca_transform(r->loaded_pca, r->test_x, 8, zb));
    CHECK(memcmp(za, zb, sizeof za) == 0);

    double t1 = 0, t2 = -1;
    REQUIRE_OK(ae_file_load_detector(&r->loaded_det, r->file));
    REQUIRE_OK(ae_detector_threshold(r->det, &t1));
    REQUIRE_OK(ae_detector_threshold(r->loaded_det, &t2));
    CHECK(t1 == t2);
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    REQUIRE_OK(ae_detector_get_options(r->loaded_det, &o));
    CHECK(o.score == AE_SCORE_MAE && o.rule == AE_THRESHOLD_QUANTILE && o.quantile == 0.95);
    return 1;
}

/* {1, 8, 8} -> conv2d 4 3x3 same relu -> batchnorm -> maxpool 2 -> dropout
 * -> conv2d 2 3x3 explicit pads 1 -> maxpool 2 = {2, 2, 2} | upsample 2 -> conv2d_transpose
 * 4 3x3 stride 2 same relu -> conv2d 1 3x3 same sigmoid = {1, 8, 8} */
static int section_conv_model(run *r)
{
    static float images[N_IMG * IMG * IMG], a[N_IMG * IMG * IMG], b[N_IMG * IMG * IMG];
    const ae_shape in = {3, {1, IMG, IMG}}, latent = {3, {2, 2, 2}};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_dataset *ds = NULL;
    for (int i = 0; i < N_IMG; i++)
        bar_image(images + i * IMG * IMG, i);

    ae_conv2d_options c1 = AE_CONV2D_OPTIONS_INIT, c2 = AE_CONV2D_OPTIONS_INIT,
                      c3 = AE_CONV2D_OPTIONS_INIT;
    c1.filters = 4;
    c1.kernel_h = c1.kernel_w = 3;
    c1.padding = AE_PAD_SAME;
    c1.activation = AE_ACT_RELU;
    c1.init = AE_INIT_HE_NORMAL;
    c2.filters = 2;
    c2.kernel_h = c2.kernel_w = 3;
    c2.padding = AE_PAD_EXPLICIT;
    c2.pad_top = c2.pad_bottom = c2.pad_left = c2.pad_right = 1;
    c3.filters = 1;
    c3.kernel_h = c3.kernel_w = 3;
    c3.padding = AE_PAD_SAME;
    c3.activation = AE_ACT_SIGMOID;
    ae_batchnorm_options bn = AE_BATCHNORM_OPTIONS_INIT;
    bn.momentum = 0.2f;
    bn.epsilon = 1e-3f;
    ae_pool2d_options pool = AE_POOL2D_OPTIONS_INIT;
    ae_dropout_options drop = AE_DROPOUT_OPTIONS_INIT;
    drop.rate = 0.1f;
    ae_upsample2d_options up = AE_UPSAMPLE2D_OPTIONS_INIT;
    ae_conv2d_transpose_options ct = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    ct.filters = 4;
    ct.kernel_h = ct.kernel_w = 3;
    ct.stride_h = ct.stride_w = 2;
    ct.padding = AE_PAD_SAME;
    ct.activation = AE_ACT_RELU;

    int ok = OK(ae_encoder_create(&enc, &in, 11)) && OK(ae_encoder_add_conv2d_ex(enc, &c1)) &&
             OK(ae_encoder_add_batchnorm_ex(enc, &bn)) &&
             OK(ae_encoder_add_maxpool2d_ex(enc, &pool)) &&
             OK(ae_encoder_add_dropout_ex(enc, &drop)) && OK(ae_encoder_add_conv2d_ex(enc, &c2)) &&
             OK(ae_encoder_add_maxpool2d_ex(enc, &pool)) &&
             OK(ae_decoder_create(&dec, &latent, 12)) &&
             OK(ae_decoder_add_upsample2d_ex(dec, &up)) &&
             OK(ae_decoder_add_conv2d_transpose_ex(dec, &ct)) &&
             OK(ae_decoder_add_conv2d_ex(dec, &c3));
    if (ok) {
        ae_shape got;
        const ae_shape out = in;
        CHECK(ae_encoder_latent_shape(enc, &got) == AE_OK && same_shape(&got, &latent));
        CHECK(ae_decoder_output_shape(dec, &got) == AE_OK && same_shape(&got, &out));
        ok = OK(ae_model_create(&r->conv, enc, dec));
    }
    if (!ok) {
        ae_encoder_destroy(enc);
        ae_decoder_destroy(dec);
        return 0;
    }

    ae_optimizer_options oo;
    oo.struct_size = sizeof oo;
    REQUIRE_OK(ae_optimizer_options_default(&oo, AE_OPT_SGD));
    CHECK(oo.struct_size == sizeof(ae_optimizer_options) && oo.kind == AE_OPT_SGD);
    oo.learning_rate = 0.1f;
    oo.momentum = 0.9f;
    oo.nesterov = 1;
    REQUIRE_OK(ae_optimizer_create(&r->conv_opt, &oo));

    REQUIRE_OK(ae_dataset_from_memory(&ds, images, NULL, N_IMG, &in, AE_DATASET_BORROW));
    double before = 0, after = 0;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 8;
    to.batch_size = 16;
    to.seed = 3;
    int trained = OK(ae_model_evaluate(r->conv, ds, AE_LOSS_MSE, &before)) &&
                  OK(ae_model_train(r->conv, r->conv_opt, ds, &to)) &&
                  OK(ae_model_evaluate(r->conv, ds, AE_LOSS_MSE, &after));
    ae_dataset_destroy(ds);
    REQUIRE(trained);
    CHECK(finite_positive(before) && finite_positive(after) && after < before);

    REQUIRE_OK(ae_model_save_memory(r->conv, &r->conv_saved, &r->conv_saved_size, NULL));
    REQUIRE_OK(ae_file_open_memory(&r->conv_file, r->conv_saved, r->conv_saved_size, NULL));
    ae_file_info info = AE_FILE_INFO_INIT;
    REQUIRE_OK(ae_file_get_info(r->conv_file, &info));
    CHECK(info.kind == AE_FILE_MODEL && info.has_optimizer == 0 && info.has_training == 0);
    CHECK(info.encoder_layers == 6 && info.decoder_layers == 3);
    CHECK(info.param_floats == ae_model_param_count(r->conv));
    CHECK(info.state_floats == 8); /* batchnorm: running mean and variance of 4 channels */
    static const char *const kinds[] = {AE_LAYER_CONV2D,    AE_LAYER_BATCHNORM,
                                        AE_LAYER_MAXPOOL2D, AE_LAYER_DROPOUT,
                                        AE_LAYER_CONV2D,    AE_LAYER_MAXPOOL2D,
                                        AE_LAYER_UPSAMPLE2D, AE_LAYER_CONV2D_TRANSPOSE,
                                        AE_LAYER_CONV2D};
    for (size_t i = 0; i < 9; i++) {
        ae_file_layer l = AE_FILE_LAYER_INIT;
        REQUIRE_OK(ae_file_get_layer(r->conv_file, i, &l));
        CHECK(strcmp(l.type_name, kinds[i]) == 0);
        if (i == 1)
            CHECK(l.params == 2 && l.states == 2);
    }
    REQUIRE_OK(ae_file_load_model(&r->conv_loaded, r->conv_file));
    REQUIRE_OK(ae_model_reconstruct(r->conv, images, N_IMG, a));
    REQUIRE_OK(ae_model_reconstruct(r->conv_loaded, images, N_IMG, b));
    CHECK(memcmp(a, b, sizeof a) == 0);
    return 1;
}

static int section_csv(void)
{
    static const char text[] = "x0,x1,x2,label\n"
                               "0.5,1e-1,-2,3\n"
                               "\"1.25\", 2 ,0,4.0\n";
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/consumer_1_0_XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    ssize_t n = write(fd, text, sizeof text - 1);
    close(fd);
    if (!CHECK(n == (ssize_t)(sizeof text - 1))) {
        unlink(path);
        return 0;
    }
    ae_csv_options co = AE_CSV_OPTIONS_INIT;
    co.header = 1;
    co.label_column = AE_CSV_LAST_COLUMN;
    co.delimiter = ',';
    ae_dataset *ds = NULL;
    int ok = OK(ae_dataset_load_csv(&ds, path, &co));
    unlink(path);
    if (!ok)
        return 0;
    int32_t l0 = -1, l1 = -1;
    float x[6];
    CHECK(ae_dataset_count(ds) == 2 && ae_dataset_sample_size(ds) == 3);
    CHECK(ae_dataset_label(ds, 0, &l0) == AE_OK && ae_dataset_label(ds, 1, &l1) == AE_OK &&
          l0 == 3 && l1 == 4);
    CHECK(ae_dataset_get_batch(ds, 0, 2, x, NULL) == AE_OK && x[0] == 0.5f && x[1] == 0.1f &&
          x[2] == -2.0f && x[3] == 1.25f && x[4] == 2.0f && x[5] == 0.0f);
    ae_dataset_destroy(ds);
    return 1;
}

static void cleanup(run *r)
{
    ae_file_close(r->file);
    ae_file_close(r->conv_file);
    ae_buffer_free(r->saved);
    ae_buffer_free(r->conv_saved);
    ae_detector_destroy(r->det);
    ae_detector_destroy(r->loaded_det);
    ae_pca_destroy(r->pca);
    ae_pca_destroy(r->loaded_pca);
    ae_optimizer_destroy(r->opt);
    ae_optimizer_destroy(r->loaded_opt);
    ae_optimizer_destroy(r->conv_opt);
    ae_model_destroy(r->model);
    ae_model_destroy(r->loaded);
    ae_model_destroy(r->conv);
    ae_model_destroy(r->conv_loaded);
    ae_dataset_destroy(r->test_normal);
    ae_dataset_destroy(r->test);
    ae_dataset_destroy(r->train);
    r->file = r->conv_file = NULL;
    r->saved = r->conv_saved = NULL;
    r->det = r->loaded_det = NULL;
    r->pca = r->loaded_pca = NULL;
    r->opt = r->loaded_opt = r->conv_opt = NULL;
    r->model = r->loaded = r->conv = r->conv_loaded = NULL;
    r->train = r->test = r->test_normal = NULL;
}

int main(void)
{
    static run r;
    r.live_start = ae_live_allocations();

    /* Independent groups: a failure skips the rest of its group only, so
     * one run reports every broken part. */
    section_version();
    section_allocator(&r); /* on failure the rest runs with libc's allocator */
    if (section_register(&r) && section_data(&r) && section_dense_model(&r) &&
        section_train(&r) && section_pca(&r) && section_detector(&r) && section_save(&r)) {
        section_inspect(&r);
        section_load(&r);
    }
    section_conv_model(&r);
    section_csv();
    cleanup(&r);

    if (r.registered) {
        OK(ae_layer_unregister(SCALE_KIND));
        CHECK(ae_layer_is_registered(SCALE_KIND) == 0);
        CHECK(atomic_load(&g_user.frees) == 1);
        CHECK(atomic_load(&g_user.creates) == atomic_load(&g_user.destroys));
        CHECK(atomic_load(&g_user.bad) == 0);
    }
    CHECK(ae_live_allocations() == r.live_start);
    if (r.allocator_set) {
        CHECK(r.alloc.live == 0);
        CHECK(r.alloc.total > 0);
        CHECK(r.alloc.size_mismatch == 0);
        OK(ae_set_allocator(NULL));
    }
    OK(ae_set_num_threads(0));

    if (n_failures != 0) {
        fprintf(stderr, PROG ": %u of %u checks failed (built against libae %s headers, "
                "running libae %s)\n", n_failures, n_checks, AE_VERSION_STRING,
                ae_version_string());
        return EXIT_FAILURE;
    }
    printf(PROG ": OK: %u checks; built against libae %s headers, ran libae %s (training MSE "
           "%.4g -> %.4g, anomaly ROC AUC %.3f)\n", n_checks, AE_VERSION_STRING,
           ae_version_string(), r.loss_before, r.loss_after, r.auc);
    return EXIT_SUCCESS;
}
