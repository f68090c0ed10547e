/* SPDX-License-Identifier: MIT */
/* check_threads.c - the thread setting (ae_set_num_threads and its
 * AE_NUM_THREADS default), the per-call thread choice for BLAS, training
 * determinism with a fixed setting (and closeness across settings:
 * OpenBLAS's bits depend on how it splits a product), inference whose bits
 * never depend on the setting (chunks shared between threads, one BLAS
 * thread each), inference from 4 threads at once on one dense and one
 * convolutional model against single-threaded results, also while the
 * setting changes, single-sample inference that never touches the
 * allocator, and libae's worker pool (core/pool.h): its split, every part
 * run once from concurrent and nested callers, after fork(), and the
 * optimizer update split over it. */
#include <cblas.h>
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ae.h"
#include "core/core.h"
#include "core/pool.h"
#include "layers/im2col.h"
#include "testutil.h"

#define IN 784
#define LAT 64

static void teardown(void)
{
    ae_set_num_threads(0);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}

/* 784-64-784: relu encoder, sigmoid decoder (the demo's model). */
static ae_model *dense_model(uint64_t seed)
{
    const ae_shape in = {1, {IN}}, lat = {1, {LAT}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, seed), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, LAT, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, seed + 1), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, IN, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

/* A small convolutional autoencoder on 1x12x12 images: conv 4 (stride 2)
 * -> 4x6x6, then conv_transpose back to 1x12x12 with a sigmoid. */
#define CONV_IN 144
#define CONV_LAT 144
static ae_model *conv_model(uint64_t seed)
{
    const ae_shape in = {3, {1, 12, 12}}, lat = {3, {4, 6, 6}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ae_conv2d_transpose_options up = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    up.filters = 1;
    up.kernel_h = up.kernel_w = 3;
    up.stride_h = up.stride_w = 2;
    up.padding = AE_PAD_SAME;
    up.output_padding_h = up.output_padding_w = 1;
    up.activation = AE_ACT_SIGMOID;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, seed), AE_OK);
    ck_assert_int_eq(ae_encoder_add_conv2d(enc, 4, 3, 2, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, seed + 1), AE_OK);
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose_ex(dec, &up), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

static float *data(size_t count, size_t size, uint64_t seed)
{
    float *x = malloc(count * size * sizeof *x);
    ck_assert_ptr_nonnull(x);
    test_subspace_data(x, count, size, 6, seed);
    return x;
}

/* The model's reconstructions of x (malloc'd): they depend on every weight,
 * so equal outputs on varied inputs stand for equal models. */
static float *outputs(const ae_model *m, const float *x, size_t count, size_t size)
{
    float *y = malloc(count * size * sizeof *y);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(ae_model_reconstruct(m, x, count, y), AE_OK);
    return y;
}

/* ------------------------------------------------------------------------ */
/* The setting                                                              */
/* ------------------------------------------------------------------------ */

START_TEST(thread_setting_round_trips_and_zero_restores_the_default)
{
    int def = ae_get_num_threads();
    ck_assert_int_ge(def, 1);
    ck_assert_int_le(def, AE_MAX_THREADS);
    ck_assert_int_eq(ae_set_num_threads(3), AE_OK);
    ck_assert_int_eq(ae_get_num_threads(), 3);
    ck_assert_int_eq(ae_set_num_threads(1), AE_OK);
    ck_assert_int_eq(ae_get_num_threads(), 1);
    ck_assert_int_eq(ae_set_num_threads(AE_MAX_THREADS), AE_OK);
    ck_assert_int_eq(ae_get_num_threads(), AE_MAX_THREADS);
    ck_assert_int_eq(ae_set_num_threads(0), AE_OK);
    ck_assert_int_eq(ae_get_num_threads(), def);
}
END_TEST

START_TEST(thread_setting_rejects_negative_and_too_large_counts)
{
    ck_assert_int_eq(ae_set_num_threads(2), AE_OK);
    ck_assert_int_eq(ae_set_num_threads(-1), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "-1 threads"));
    ck_assert_int_eq(ae_set_num_threads(AE_MAX_THREADS + 1), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "1025 threads, expected 1 to 1024"));
    ck_assert_int_eq(ae_get_num_threads(), 2); /* unchanged */
}
END_TEST

START_TEST(environment_value_must_be_a_plain_count)
{
    ck_assert_int_eq(ae__threads_parse("4"), 4);
    ck_assert_int_eq(ae__threads_parse("1"), 1);
    ck_assert_int_eq(ae__threads_parse("0012"), 12);
    ck_assert_int_eq(ae__threads_parse("1024"), AE_MAX_THREADS);
    ck_assert_int_eq(ae__threads_parse("1025"), 0);
    ck_assert_int_eq(ae__threads_parse("99999999999999999999999"), 0);
    ck_assert_int_eq(ae__threads_parse("0"), 0);
    ck_assert_int_eq(ae__threads_parse(""), 0);
    ck_assert_int_eq(ae__threads_parse(NULL), 0);
    ck_assert_int_eq(ae__threads_parse("-2"), 0);
    ck_assert_int_eq(ae__threads_parse("+2"), 0);
    ck_assert_int_eq(ae__threads_parse(" 2"), 0);
    ck_assert_int_eq(ae__threads_parse("2 "), 0);
    ck_assert_int_eq(ae__threads_parse("2x"), 0);
    ck_assert_int_eq(ae__threads_parse("two"), 0);
}
END_TEST

START_TEST(small_products_run_on_one_blas_thread)
{
    /* 32 x 64 x 784 (a batch-32 dense layer) stays on one thread; 256 x 64
     * x 784 uses the setting. */
    enum { M = 256, N = 64, K = 784 };
    float *a = calloc(M * K, sizeof *a), *b = calloc(16 * M * K, sizeof *b);
    float *c = calloc(16 * M * 8, sizeof *c);
    ck_assert(a && b && c);
    ck_assert_int_eq(ae_set_num_threads(2), AE_OK);
    ae__gemm(0, 1, 32, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    ck_assert_int_eq(openblas_get_num_threads(), 1);
    ae__gemm(0, 1, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    ck_assert_int_eq(openblas_get_num_threads(), 2);
    /* as large, but skinny (8 rows: an 8-channel convolution) */
    ae__gemm(0, 0, 8, 16 * M, K / 8, 1.0f, a, K / 8, b, 16 * M, 0.0f, c, 16 * M);
    ck_assert_int_eq(openblas_get_num_threads(), 1);
    ae__gemv(0, N, K, 1.0f, b, K, a, 0.0f, c);
    ck_assert_int_eq(openblas_get_num_threads(), 1);
    ck_assert_int_eq(ae_set_num_threads(1), AE_OK);
    ae__gemm(0, 1, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    ck_assert_int_eq(openblas_get_num_threads(), 1);
    free(a);
    free(b);
    free(c);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Results do not depend on the thread count                                */
/* ------------------------------------------------------------------------ */

/* Trains m (returned) with options `to` on n samples of x shaped `in`, at
 * `threads`. */
static ae_model *train_on(ae_model *m, int threads, const float *x, size_t n, const ae_shape *in,
                          const ae_train_options *to)
{
    ae_dataset *ds;
    ae_optimizer *opt;
    ck_assert_int_eq(ae_set_num_threads(threads), AE_OK);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, n, in, AE_DATASET_BORROW), AE_OK);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, ds, to), AE_OK);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    return m;
}

/* The dense model (seeded model_seed) trained one epoch of batch 128 with
 * training seed `seed` on n samples of x, on `threads` (products of 6.4M
 * multiply-adds: split between threads at 2). */
static ae_model *trained_model(int threads, const float *x, size_t n, uint64_t model_seed,
                               uint64_t seed)
{
    const ae_shape in = {1, {IN}};
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 1;
    to.batch_size = 128;
    to.seed = seed;
    return train_on(dense_model(model_seed), threads, x, n, &in, &to);
}

/* Trains 2 steps and returns the reconstructions of the 256 training
 * samples. */
static float *train_with_threads(int threads, const float *x)
{
    enum { N = 256 };
    ae_model *m = trained_model(threads, x, N, 5, 9);
    float *y = outputs(m, x, N, IN);
    ae_model_destroy(m);
    return y;
}

START_TEST(training_is_deterministic_with_a_fixed_thread_setting)
{
    enum { N = 256 };
    float *x = data(N, IN, 1);
    float *one = train_with_threads(1, x), *one_again = train_with_threads(1, x);
    float *two = train_with_threads(2, x), *two_again = train_with_threads(2, x);
    ck_assert(memcmp(one, one_again, N * IN * sizeof(float)) == 0);
    ck_assert(memcmp(two, two_again, N * IN * sizeof(float)) == 0);
    /* across settings only the rounding differs */
    for (size_t i = 0; i < (size_t)N * IN; i++)
        ck_assert_float_eq_tol(one[i], two[i], 1e-5f);
    free(x);
    free(one);
    free(one_again);
    free(two);
    free(two_again);
}
END_TEST

/* The denoising tutorial's model on 1x28x28 (stride-2 phase planes, the
 * transposed convolutions, the few-filters 16 -> 1 convolution): every
 * convolution path that training splits by samples. */
static ae_model *tutorial_conv_model(void)
{
    const ae_shape in = {3, {1, 28, 28}}, lat = {3, {8, 7, 7}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ae_conv2d_transpose_options up = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    up.kernel_h = up.kernel_w = 3;
    up.stride_h = up.stride_w = 2;
    up.padding = AE_PAD_SAME;
    up.output_padding_h = up.output_padding_w = 1;
    up.activation = AE_ACT_RELU;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 41), AE_OK);
    ck_assert_int_eq(ae_encoder_add_conv2d(enc, 16, 3, 2, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_encoder_add_conv2d(enc, 8, 3, 2, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, 42), AE_OK);
    up.filters = 8;
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose_ex(dec, &up), AE_OK);
    up.filters = 16;
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose_ex(dec, &up), AE_OK);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 3, 1, AE_PAD_SAME, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

/* Its reconstructions of x after 2 steps of batch 32 with noise. */
static float *conv_train_with_threads(int threads, const float *x, size_t n)
{
    const ae_shape in = {3, {1, 28, 28}};
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 1;
    to.batch_size = 32;
    to.seed = 6;
    to.noise = AE_NOISE_GAUSSIAN;
    to.noise_amount = 0.2f;
    ae_model *m = train_on(tutorial_conv_model(), threads, x, n, &in, &to);
    float *y = outputs(m, x, n, IN);
    ae_model_destroy(m);
    return y;
}

START_TEST(conv_training_is_deterministic_with_a_fixed_thread_setting)
{
    enum { N = 64 };
    float *x = data(N, IN, 2);
    /* on two processors, a batch of 32 splits in two at 2 threads */
    ck_assert_int_eq(ae_set_num_threads(2), AE_OK);
    if (ae__pool_cpus() >= 2)
        ck_assert_int_eq(ae__conv_parts(32, 1e6), 2);
    float *one = conv_train_with_threads(1, x, N), *two = conv_train_with_threads(2, x, N);
    float *two_again = conv_train_with_threads(2, x, N);
    ck_assert(memcmp(two, two_again, N * IN * sizeof(float)) == 0);
    /* across settings only the rounding differs: a part's gradients left
     * out (or counted twice) moves the outputs by far more */
    for (size_t i = 0; i < (size_t)N * IN; i++)
        ck_assert_float_eq_tol(one[i], two[i], 1e-5f);
    free(x);
    free(one);
    free(two);
    free(two_again);
}
END_TEST

/* Two threads training their own models on one dataset at once (the
 * dataset's first NaN scan, kept in its store, races between them). */
typedef struct shared_train {
    const ae_dataset *ds;
    ae_model *m;
    int rc;
} shared_train;

static void *train_shared(void *arg)
{
    shared_train *t = arg;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    ae_optimizer *opt;
    to.epochs = 1;
    to.batch_size = 32;
    to.seed = 4;
    t->rc = ae_optimizer_create(&opt, NULL);
    if (t->rc == AE_OK)
        t->rc = ae_model_train(t->m, opt, t->ds, &to);
    ae_optimizer_destroy(opt);
    return NULL;
}

START_TEST(two_threads_train_on_one_dataset_at_once)
{
    enum { N = 128 };
    const ae_shape in = {1, {IN}};
    float *x = data(N, IN, 3);
    ae_dataset *ds;
    pthread_t th[2];
    shared_train t[2];
    ck_assert_int_eq(ae_set_num_threads(1), AE_OK);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, N, &in, AE_DATASET_COPY), AE_OK);
    for (int i = 0; i < 2; i++) {
        t[i] = (shared_train){ds, dense_model(7), -1};
        ck_assert_int_eq(pthread_create(&th[i], NULL, train_shared, &t[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    ck_assert_int_eq(t[0].rc, AE_OK);
    ck_assert_int_eq(t[1].rc, AE_OK);
    float *y0 = outputs(t[0].m, x, N, IN), *y1 = outputs(t[1].m, x, N, IN);
    ck_assert(memcmp(y0, y1, (size_t)N * IN * sizeof(float)) == 0);
    free(y0);
    free(y1);
    ae_model_destroy(t[0].m);
    ae_model_destroy(t[1].m);
    ae_dataset_destroy(ds);
    free(x);
}
END_TEST

START_TEST(one_sample_agrees_with_its_row_in_a_batch)
{
    enum { N = 5 };
    ae_model *m = dense_model(3);
    const ae_encoder *enc = ae_model_encoder(m);
    float *x = data(N, IN, 2), zb[N * LAT], z1[LAT];
    ck_assert_int_eq(ae_encoder_encode(enc, x, N, zb), AE_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(ae_encoder_encode(enc, x + i * IN, 1, z1), AE_OK);
        for (int j = 0; j < LAT; j++)
            ck_assert_float_eq_tol(z1[j], zb[i * LAT + j], 1e-5f * (1.0f + zb[i * LAT + j]));
    }
    free(x);
    ae_model_destroy(m);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Inference from several threads                                           */
/* ------------------------------------------------------------------------ */

/* Counts tried by every worker: one sample (GEMV, stack scratch), a few
 * (stack or heap), and more than one chunk of 256 (heap, GEMMs large enough
 * to use 2 BLAS threads on the dense model). */
static const size_t counts[3] = {1, 7, 300};
enum { MAXN = 300, REPS = 6, WORKERS = 4 };

typedef struct refs {
    ae_model *m;
    float tol;            /* 0: bit for bit */
    size_t in, lat;       /* floats per sample and per latent */
    const float *x;       /* MAXN samples */
    float *z[3], *xr[3], *xd[3]; /* single-threaded results per count */
} refs;

typedef struct worker {
    const refs *r;
    int id, bad;
} worker;

/* a[0 .. n) equals b bit for bit (tol 0) or within tol. */
static int same(const float *a, const float *b, size_t n, float tol)
{
    if (tol == 0.0f)
        return memcmp(a, b, n * sizeof *a) == 0;
    for (size_t i = 0; i < n; i++)
        if (!(a[i] - b[i] <= tol && b[i] - a[i] <= tol))
            return 0;
    return 1;
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    const refs *r = w->r;
    const ae_encoder *enc = ae_model_encoder(r->m);
    const ae_decoder *dec = ae_model_decoder(r->m);
    float *z = malloc(MAXN * r->lat * sizeof *z), *y = malloc(MAXN * r->in * sizeof *y);
    if (z == NULL || y == NULL) {
        w->bad++;
        goto done;
    }
    for (int rep = 0; rep < REPS; rep++)
        for (int k = 0; k < 3; k++) {
            size_t c = counts[(size_t)(k + w->id + rep) % 3];
            int ci = c == 1 ? 0 : c == 7 ? 1 : 2;
            if (ae_encoder_encode(enc, r->x, c, z) != AE_OK ||
                !same(z, r->z[ci], c * r->lat, r->tol))
                w->bad++;
            if (ae_model_reconstruct(r->m, r->x, c, y) != AE_OK ||
                !same(y, r->xr[ci], c * r->in, r->tol))
                w->bad++;
            if (ae_decoder_decode(dec, r->z[ci], c, y) != AE_OK ||
                !same(y, r->xd[ci], c * r->in, r->tol))
                w->bad++;
        }
done:
    free(z);
    free(y);
    return NULL;
}

/* Computes the references on this thread alone, then runs WORKERS threads
 * of encode/reconstruct/decode and compares, bit for bit when tol is 0.
 * With toggle, this thread flips the setting between 1 and 2 meanwhile. */
static void run_workers(ae_model *m, size_t in, size_t lat, int toggle, float tol)
{
    refs r;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.tol = tol;
    r.in = in;
    r.lat = lat;
    float *x = data(MAXN, in, 7);
    r.x = x;
    for (int k = 0; k < 3; k++) {
        r.z[k] = malloc(MAXN * lat * sizeof(float));
        r.xr[k] = malloc(MAXN * in * sizeof(float));
        r.xd[k] = malloc(MAXN * in * sizeof(float));
        ck_assert(r.z[k] && r.xr[k] && r.xd[k]);
        ck_assert_int_eq(ae_encoder_encode(ae_model_encoder(m), x, counts[k], r.z[k]), AE_OK);
        ck_assert_int_eq(ae_model_reconstruct(m, x, counts[k], r.xr[k]), AE_OK);
        ck_assert_int_eq(ae_decoder_decode(ae_model_decoder(m), r.z[k], counts[k], r.xd[k]),
                         AE_OK);
    }
    pthread_t th[WORKERS];
    worker w[WORKERS];
    for (int t = 0; t < WORKERS; t++) {
        w[t] = (worker){&r, t, 0};
        ck_assert_int_eq(pthread_create(&th[t], NULL, worker_run, &w[t]), 0);
    }
    if (toggle)
        for (int i = 0; i < 200; i++)
            ck_assert_int_eq(ae_set_num_threads(1 + i % 2), AE_OK);
    for (int t = 0; t < WORKERS; t++) {
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
        ck_assert_msg(w[t].bad == 0, "worker %d: %d results differ from the references", t,
                      w[t].bad);
    }
    for (int k = 0; k < 3; k++) {
        free(r.z[k]);
        free(r.xr[k]);
        free(r.xd[k]);
    }
    free(x);
}

START_TEST(four_threads_of_dense_inference_match_one_thread_bit_for_bit)
{
    ae_model *m = dense_model(11);
    ck_assert_int_eq(ae_set_num_threads(1), AE_OK);
    run_workers(m, IN, LAT, 0, 0.0f);
    ae_model_destroy(m);
}
END_TEST

START_TEST(four_threads_of_conv_inference_match_one_thread_bit_for_bit)
{
    ae_model *m = conv_model(12);
    ck_assert_int_eq(ae_set_num_threads(1), AE_OK);
    run_workers(m, CONV_IN, CONV_LAT, 0, 0.0f);
    ae_model_destroy(m);
}
END_TEST

START_TEST(four_threads_of_inference_match_while_the_setting_changes)
{
    ae_model *m = dense_model(13);
    ck_assert_int_eq(ae_set_num_threads(2), AE_OK);
    run_workers(m, IN, LAT, 0, 0.0f);
    run_workers(m, IN, LAT, 1, 0.0f); /* and while the setting flips */
    ae_model_destroy(m);
}
END_TEST

START_TEST(inference_gives_the_same_bits_with_any_thread_setting)
{
    /* 1000 samples: 4 chunks, shared by 1, 2, 3 or 8 threads */
    enum { N = 1000 };
    ae_model *models[2] = {dense_model(14), conv_model(15)};
    const size_t sizes[2] = {IN, CONV_IN};
    for (int k = 0; k < 2; k++) {
        float *x = data(N, sizes[k], 8), *ref = malloc(N * sizes[k] * sizeof *ref);
        float *y = malloc(N * sizes[k] * sizeof *y);
        ck_assert(ref && y);
        ck_assert_int_eq(ae_set_num_threads(1), AE_OK);
        ck_assert_int_eq(ae_model_reconstruct(models[k], x, N, ref), AE_OK);
        const int settings[3] = {2, 3, 8};
        for (int t = 0; t < 3; t++) {
            ck_assert_int_eq(ae_set_num_threads(settings[t]), AE_OK);
            ck_assert_int_eq(ae_model_reconstruct(models[k], x, N, y), AE_OK);
            ck_assert_msg(memcmp(y, ref, N * sizes[k] * sizeof *y) == 0,
                          "model %d: %d threads differ from 1", k, settings[t]);
        }
        free(x);
        free(ref);
        free(y);
        ae_model_destroy(models[k]);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(single_sample_inference_never_allocates)
{
    failing_allocator fa;
    failing_allocator_install(&fa, 0);
    ae_model *m = dense_model(21);
    float *x = data(300, IN, 3), *y = malloc(300 * IN * sizeof *y), *z = malloc(LAT * sizeof *z);
    ck_assert(y && z);
    size_t before = fa.calls;
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(ae_encoder_encode(ae_model_encoder(m), x + i * IN, 1, z), AE_OK);
        ck_assert_int_eq(ae_model_reconstruct(m, x + i * IN, 1, y), AE_OK);
        ck_assert_int_eq(ae_decoder_decode(ae_model_decoder(m), z, 1, y), AE_OK);
    }
    ck_assert_uint_eq(fa.calls, before);
    /* a large count takes one block per call and gives it back */
    size_t live = fa.live;
    ck_assert_int_eq(ae_model_reconstruct(m, x, 300, y), AE_OK);
    ck_assert_uint_eq(fa.calls, before + 1);
    ck_assert_uint_eq(fa.live, live);
    ae_model_destroy(m);
    ck_assert_uint_eq(fa.live, 0);
    failing_allocator_remove();
    free(x);
    free(y);
    free(z);
}
END_TEST

START_TEST(large_inference_reports_a_failed_scratch_allocation)
{
    failing_allocator fa;
    failing_allocator_install(&fa, 0);
    ae_model *m = dense_model(22);
    float *x = data(300, IN, 4), *y = malloc(300 * IN * sizeof *y);
    ck_assert_ptr_nonnull(y);
    size_t live = fa.live;
    fa.fail_at = fa.calls + 1;
    ck_assert_int_eq(ae_model_reconstruct(m, x, 300, y), AE_ERR_NOMEM);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "out of memory"));
    ck_assert_uint_eq(fa.live, live);
    fa.fail_at = 0;
    ck_assert_int_eq(ae_model_reconstruct(m, x, 300, y), AE_OK);
    ae_model_destroy(m);
    ck_assert_uint_eq(fa.live, 0);
    failing_allocator_remove();
    free(x);
    free(y);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* The worker pool                                                          */
/* ------------------------------------------------------------------------ */

START_TEST(pool_ranges_cover_every_item_once_on_aligned_boundaries)
{
    const size_t sizes[] = {0, 1, 7, 8, 9, 64, 100, 255, 256, 1000};
    const size_t aligns[] = {1, 8, 16};
    for (size_t a = 0; a < 3; a++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
            for (int parts = 1; parts <= 9; parts++) {
                size_t next = 0;
                for (int p = 0; p < parts; p++) {
                    size_t lo, hi;
                    ae__pool_range(sizes[k], p, parts, aligns[a], &lo, &hi);
                    ck_assert_uint_eq(lo, next); /* contiguous, in part order */
                    ck_assert_uint_le(lo, hi);
                    if (hi < sizes[k])
                        ck_assert_uint_eq(hi % aligns[a], 0);
                    next = hi;
                }
                ck_assert_uint_eq(next, sizes[k]);
            }
}
END_TEST

START_TEST(pool_parts_follow_the_setting_and_the_size)
{
    /* never more parts than processors online (nor than the pool's cap) */
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    const int cpus = online < 1 ? AE__POOL_MAX_PARTS
                                : online < AE__POOL_MAX_PARTS ? (int)online : AE__POOL_MAX_PARTS;
    const int four = cpus < 4 ? cpus : 4;
    ck_assert_int_eq(ae_set_num_threads(1), AE_OK);
    ck_assert_int_eq(ae__pool_parts(1024, 16, 1e9), 1);
    ck_assert_int_eq(ae_set_num_threads(4), AE_OK);
    ck_assert_int_eq(ae__pool_parts(1024, 16, 1e9), four);
    ck_assert_int_eq(ae__pool_parts(1024, 16, 1e3), 1); /* too little work */
    ck_assert_int_eq(ae__pool_parts(40, 16, 1e9), cpus < 2 ? 1 : 2); /* 16 rows a part */
    ck_assert_int_eq(ae__pool_parts(8, 16, 1e9), 1);
    ck_assert_int_eq(ae_set_num_threads(AE_MAX_THREADS), AE_OK);
    ck_assert_int_eq(ae__pool_parts((size_t)1 << 20, 1, 1e12), cpus);
}
END_TEST

typedef struct count_job {
    atomic_int runs[AE__POOL_MAX_PARTS];
    atomic_int nested_parts; /* parts seen by a nested call: it must run them all */
    atomic_int inner_parts_asked;
    int nest;
} count_job;

static void count_inner(void *arg, int part, int parts)
{
    count_job *j = arg;
    (void)part;
    atomic_fetch_add(&j->nested_parts, 1);
    atomic_store(&j->inner_parts_asked, parts);
}

static void count_part(void *arg, int part, int parts)
{
    count_job *j = arg;
    ck_assert_int_lt(part, parts);
    atomic_fetch_add(&j->runs[part], 1);
    /* a part that asks for a split gets one part: it already runs on one */
    if (ae__pool_parts(1000, 1, 1e9) != 1)
        atomic_fetch_add(&j->nested_parts, 1000);
    if (j->nest)
        ae__pool_run(count_inner, j, 3); /* runs its 3 parts here, in order */
}

typedef struct caller {
    int parts, rounds, bad;
} caller;

static void *pool_caller(void *p)
{
    caller *c = p;
    for (int r = 0; r < c->rounds; r++) {
        count_job *j = calloc(1, sizeof *j);
        if (j == NULL) {
            c->bad++;
            continue;
        }
        j->nest = r % 3 == 0;
        ae__pool_run(count_part, j, c->parts);
        for (int q = 0; q < AE__POOL_MAX_PARTS; q++)
            if (atomic_load(&j->runs[q]) != (q < c->parts ? 1 : 0))
                c->bad++;
        if (atomic_load(&j->nested_parts) != (j->nest ? 3 * c->parts : 0))
            c->bad++;
        free(j);
    }
    return NULL;
}

START_TEST(pool_runs_every_part_once_from_concurrent_and_nested_callers)
{
    ck_assert_int_eq(ae_set_num_threads(4), AE_OK);
    enum { CALLERS = 4 };
    pthread_t th[CALLERS];
    caller c[CALLERS];
    for (int t = 0; t < CALLERS; t++) {
        c[t] = (caller){2 + 3 * t, 300, 0}; /* 2, 5, 8, 11 parts */
        ck_assert_int_eq(pthread_create(&th[t], NULL, pool_caller, &c[t]), 0);
    }
    for (int t = 0; t < CALLERS; t++) {
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
        ck_assert_msg(c[t].bad == 0, "caller %d: %d parts ran other than once", t, c[t].bad);
    }
    /* more parts than the pool has ever had workers, from this thread */
    caller big = {AE__POOL_MAX_PARTS, 20, 0};
    pool_caller(&big);
    ck_assert_int_eq(big.bad, 0);
}
END_TEST

/* The parameters (malloc'd) after one epoch on `threads`. */
static float *trained_params(int threads, const float *x, size_t n, size_t *count)
{
    ae_model *m = trained_model(threads, x, n, 21, 4);
    *count = ae_model_param_count(m);
    float *p = malloc(*count * sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(ae_model_params_get(m, p, *count), AE_OK);
    ae_model_destroy(m);
    return p;
}

START_TEST(training_in_a_forked_child_starts_its_own_workers)
{
#if defined(__SANITIZE_THREAD__)
    /* ThreadSanitizer does not support starting threads in the child of a
     * multi-threaded fork (it ends the child: die_after_fork). */
    return;
#endif
    enum { N = 512 };
    float *x = data(N, IN, 3);
    size_t count;
    float *before = trained_params(2, x, N, &count); /* the pool's workers run now */
    /* The child answers through a pipe, not its exit status: under valgrind
     * the exit status reports the parent's threads' memory, which the child
     * inherits without the threads. */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* the child has no workers: a split must not wait for them */
        size_t c2;
        float *again = trained_params(2, x, N, &c2);
        const char ok =
            c2 == count && memcmp(again, before, count * sizeof *again) == 0 ? 'y' : 'n';
        free(again);
        free(before);
        free(x);
        if (write(fds[1], &ok, 1) != 1)
            _exit(2);
        _exit(0);
    }
    close(fds[1]);
    char answer = 0;
    const ssize_t got = read(fds[0], &answer, 1);
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(got == 1 && answer == 'y',
                  "the forked child's training hung, crashed or gave other bits");
    free(before);
    free(x);
}
END_TEST

/* One Adam update of a 784-400-784 model (628k parameters: split over the
 * pool from 2 threads) from gradients computed on one thread. */
static float *adam_update_with_threads(int threads, const float *x)
{
    const ae_shape in = {1, {IN}}, lat = {1, {400}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ae_optimizer *opt;
    ae_step *step;
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.batch_size = 16;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 31), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 400, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, 32), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, IN, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_int_eq(ae_step_create(&step, m, opt, &so), AE_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ae_set_num_threads(1), AE_OK);
        ck_assert_int_eq(ae_step_compute(step, x + (size_t)i * 16 * IN, NULL, 16, NULL), AE_OK);
        ck_assert_int_eq(ae_set_num_threads(threads), AE_OK);
        ck_assert_int_eq(ae_step_apply(step), AE_OK);
    }
    size_t count = ae_model_param_count(m);
    float *p = malloc(count * sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(ae_model_params_get(m, p, count), AE_OK);
    ae_step_destroy(step);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    return p;
}

START_TEST(the_optimizer_update_split_over_threads_gives_the_bits_of_one)
{
    float *x = data(48, IN, 5);
    float *one = adam_update_with_threads(1, x), *two = adam_update_with_threads(2, x);
    float *three = adam_update_with_threads(3, x);
    const size_t count = (size_t)IN * 400 + 400 + 400 * IN + IN;
    ck_assert(memcmp(one, two, count * sizeof *one) == 0);
    ck_assert(memcmp(one, three, count * sizeof *one) == 0);
    free(one);
    free(two);
    free(three);
    free(x);
}
END_TEST

Suite *ae_threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("setting");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, thread_setting_round_trips_and_zero_restores_the_default);
    tcase_add_test(tc, thread_setting_rejects_negative_and_too_large_counts);
    tcase_add_test(tc, environment_value_must_be_a_plain_count);
    tcase_add_test(tc, small_products_run_on_one_blas_thread);
    suite_add_tcase(s, tc);

    tc = tcase_create("results");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, training_is_deterministic_with_a_fixed_thread_setting);
    tcase_add_test(tc, conv_training_is_deterministic_with_a_fixed_thread_setting);
    tcase_add_test(tc, two_threads_train_on_one_dataset_at_once);
    tcase_add_test(tc, one_sample_agrees_with_its_row_in_a_batch);
    suite_add_tcase(s, tc);

    tc = tcase_create("concurrency");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, four_threads_of_dense_inference_match_one_thread_bit_for_bit);
    tcase_add_test(tc, four_threads_of_conv_inference_match_one_thread_bit_for_bit);
    tcase_add_test(tc, four_threads_of_inference_match_while_the_setting_changes);
    tcase_add_test(tc, inference_gives_the_same_bits_with_any_thread_setting);
    suite_add_tcase(s, tc);

    tc = tcase_create("pool");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pool_ranges_cover_every_item_once_on_aligned_boundaries);
    tcase_add_test(tc, pool_parts_follow_the_setting_and_the_size);
    tcase_add_test(tc, pool_runs_every_part_once_from_concurrent_and_nested_callers);
    tcase_add_test(tc, training_in_a_forked_child_starts_its_own_workers);
    tcase_add_test(tc, the_optimizer_update_split_over_threads_gives_the_bits_of_one);
    suite_add_tcase(s, tc);

    tc = tcase_create("memory");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, single_sample_inference_never_allocates);
    tcase_add_test(tc, large_inference_reports_a_failed_scratch_allocation);
    suite_add_tcase(s, tc);
    return s;
}
