/* SPDX-License-Identifier: MIT */
/* check_step.c - the step handle (ae/step.h) and what ae_model_train() does
 * over it: a user loop gives ae_model_train()'s bits; no allocation per
 * step; the gradient buffer, accumulation, clipping; losses (MAE, softmax
 * cross-entropy, custom, a layer's loss term, BCE targets refused); paired
 * and label training; freezing; early stopping with restored weights,
 * learning-rate schedules, clipping, accumulation, denoising validation,
 * the gradient hook, the result struct and the progress printer; every
 * function's error paths. */
#define _XOPEN_SOURCE 700 /* posix_openpt() for the progress bar's terminal */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ae.h"
#include "ae/sys/layer.h"
#include "optim/optimizer.h" /* ae__optimizer_tensor(): the state buffers */
#include "testutil.h"

#define IN 16
#define LAT 8

static const ae_shape in_shape = {1, {IN, 0, 0, 0}};
static const ae_shape lat_shape = {1, {LAT, 0, 0, 0}};

/* 16 -> 8 (relu) [-> dropout] | 8 -> out (act). */
static ae_model *make_model(uint64_t seed, size_t out, int act, int dropout)
{
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ck_assert_int_eq(ae_encoder_create(&enc, &in_shape, seed), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, LAT, AE_ACT_RELU), AE_OK);
    if (dropout)
        ck_assert_int_eq(ae_encoder_add_dropout(enc, 0.25f), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat_shape, seed + 1), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, (uint32_t)out, act), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

static float *make_x(size_t count, uint64_t seed)
{
    float *x = malloc(count * IN * sizeof *x);
    ck_assert_ptr_nonnull(x);
    test_subspace_data(x, count, IN, 4, seed);
    return x;
}

static ae_dataset *make_ds(const float *x, size_t count, size_t size, const int32_t *labels)
{
    ae_dataset *ds;
    const ae_shape s = {1, {(uint32_t)size, 0, 0, 0}};
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, labels, count, &s, AE_DATASET_COPY), AE_OK);
    return ds;
}

static ae_optimizer *make_opt(int kind, float lr)
{
    ae_optimizer_options o = AE_OPTIMIZER_OPTIONS_INIT;
    ae_optimizer *opt;
    ck_assert_int_eq(ae_optimizer_options_default(&o, kind), AE_OK);
    o.learning_rate = lr;
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
    return opt;
}

static float *params_of(ae_model *m)
{
    size_t n = ae_model_param_count(m);
    float *p = malloc(n * sizeof *p);
    ck_assert_int_eq(ae_model_params_get(m, p, n), AE_OK);
    return p;
}

static ae_train_options topts(uint32_t epochs, uint32_t batch, uint64_t seed)
{
    ae_train_options o = AE_TRAIN_OPTIONS_INIT;
    o.epochs = epochs;
    o.batch_size = batch;
    o.seed = seed;
    return o;
}

/* ---- the step handle --------------------------------------------------- */

/* A loop over the handle, as ae/step.h describes it, against
 * ae_model_train() with the same seed: shuffling, dropout and noise. */
START_TEST(user_loop_gives_the_bits_of_model_train)
{
    const size_t n = 50, b = 8;
    float *x = make_x(n, 1);
    ae_dataset *ds = make_ds(x, n, IN, NULL);
    ae_model *a = make_model(5, IN, AE_ACT_SIGMOID, 1), *u = make_model(5, IN, AE_ACT_SIGMOID, 1);
    ae_optimizer *oa = make_opt(AE_OPT_ADAM, 0.01f), *ou = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options to = topts(3, (uint32_t)b, 77);
    to.noise = AE_NOISE_GAUSSIAN;
    to.noise_amount = 0.2f;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &to), AE_OK);

    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.batch_size = (uint32_t)b;
    so.noise = AE_NOISE_GAUSSIAN;
    so.noise_amount = 0.2f;
    /* ae_model_train clips the noise to the training data's range */
    so.noise_min = so.noise_max = x[0];
    for (size_t i = 0; i < n * IN; i++) {
        so.noise_min = x[i] < so.noise_min ? x[i] : so.noise_min;
        so.noise_max = x[i] > so.noise_max ? x[i] : so.noise_max;
    }
    ae_step *s;
    ck_assert_int_eq(ae_step_create(&s, u, ou, &so), AE_OK);
    size_t order[50];
    float batch[8 * IN];
    for (uint64_t e = 0; e < 3; e++) {
        ck_assert_int_eq(ae_step_seed(s, 77, e), AE_OK);
        ck_assert_int_eq(ae_train_order(order, n, 77, e, 1), AE_OK);
        for (size_t first = 0; first < n; first += b) {
            size_t rows = n - first < b ? n - first : b;
            for (size_t i = 0; i < rows; i++)
                memcpy(batch + i * IN, x + order[first + i] * IN, IN * sizeof(float));
            double loss = -1.0;
            ck_assert_int_eq(ae_step_run(s, batch, NULL, rows, &loss), AE_OK);
            ck_assert(loss > 0.0);
        }
    }
    ae_step_destroy(s);
    float *pa = params_of(a), *pu = params_of(u);
    ck_assert_mem_eq(pa, pu, ae_model_param_count(a) * sizeof(float));
    ck_assert_uint_eq(ae_optimizer_steps(oa), ae_optimizer_steps(ou));
    free(pa);
    free(pu);
    free(x);
    ae_dataset_destroy(ds);
    ae_model_destroy(a);
    ae_model_destroy(u);
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ou);
}
END_TEST

/* Counts allocations between checkpoints. */
static size_t allocs;
static void *count_alloc(void *user, size_t size)
{
    (void)user;
    allocs++;
    return aligned_alloc(64, (size + 63) / 64 * 64);
}
static void count_free(void *user, void *p, size_t size)
{
    (void)user, (void)size;
    free(p);
}

START_TEST(a_step_allocates_nothing)
{
    ae_allocator al = AE_ALLOCATOR_INIT;
    al.alloc = count_alloc;
    al.free = count_free;
    ck_assert_int_eq(ae_set_allocator(&al), AE_OK);
    float *x = make_x(32, 2);
    ae_model *m = make_model(3, IN, AE_ACT_SIGMOID, 1);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.batch_size = 16;
    so.noise = AE_NOISE_MASKING;
    so.noise_amount = 0.1f;
    ae_step *s;
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_OK);
    const size_t live = ae_live_allocations();
    allocs = 0;
    for (int k = 0; k < 3; k++) {
        double loss;
        float *g;
        size_t ng;
        ck_assert_int_eq(ae_step_compute(s, x, NULL, 16, &loss), AE_OK);
        ck_assert_int_eq(ae_step_compute(s, x + 16 * IN, NULL, 16, &loss), AE_OK);
        ck_assert_int_eq(ae_step_gradients(s, &g, &ng), AE_OK);
        ck_assert_int_eq(ae_step_clip(s, 1.0f, NULL), AE_OK);
        ck_assert_int_eq(ae_step_apply(s), AE_OK);
        ck_assert_int_eq(ae_step_run(s, x, NULL, 16, &loss), AE_OK);
    }
    ck_assert_uint_eq(allocs, 0);
    ck_assert_uint_eq(ae_live_allocations(), live);
    ae_step_destroy(s);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    free(x);
    ck_assert_uint_eq(ae_live_allocations(), 0);
    ck_assert_int_eq(ae_set_allocator(NULL), AE_OK);
}
END_TEST

/* The gradient buffer is what the update uses: zeroed, SGD changes
 * nothing; doubled, one step moves twice as far. */
START_TEST(the_gradient_buffer_is_what_apply_uses)
{
    float *x = make_x(8, 3);
    ae_model *m = make_model(4, IN, AE_ACT_SIGMOID, 0);
    ae_model *r = make_model(4, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *opt = make_opt(AE_OPT_SGD, 0.1f), *ro = make_opt(AE_OPT_SGD, 0.1f);
    ae_step *s, *rs;
    ck_assert_int_eq(ae_step_create(&s, m, opt, NULL), AE_OK);
    ck_assert_int_eq(ae_step_create(&rs, r, ro, NULL), AE_OK);
    const size_t np = ae_model_param_count(m);
    float *p0 = params_of(m), *g;
    size_t ng;
    double loss;
    ck_assert_int_eq(ae_step_compute(s, x, NULL, 8, &loss), AE_OK);
    ck_assert_int_eq(ae_step_gradients(s, &g, &ng), AE_OK);
    ck_assert_uint_eq(ng, np);
    memset(g, 0, ng * sizeof *g);
    ck_assert_int_eq(ae_step_apply(s), AE_OK);
    float *p1 = params_of(m);
    ck_assert_mem_eq(p0, p1, np * sizeof(float));
    /* doubled gradient == doubled SGD move (exact in binary) */
    ck_assert_int_eq(ae_step_compute(s, x, NULL, 8, &loss), AE_OK);
    ck_assert_int_eq(ae_step_gradients(s, &g, &ng), AE_OK);
    for (size_t i = 0; i < ng; i++)
        g[i] *= 2.0f;
    ck_assert_int_eq(ae_step_apply(s), AE_OK);
    ck_assert_int_eq(ae_step_run(rs, x, NULL, 8, &loss), AE_OK);
    float *pm = params_of(m), *pr = params_of(r);
    int differ = 0;
    for (size_t i = 0; i < np; i++) {
        const double dm = (double)pm[i] - p0[i], dr = (double)pr[i] - p0[i];
        ck_assert_msg(fabs(dm - 2.0 * dr) <= 1e-6 + 1e-5 * fabs(dm), "param %zu: %g vs 2 * %g", i,
                      dm, dr);
        differ |= dr != 0.0;
    }
    ck_assert(differ);
    /* the outputs of the last compute */
    const float *pred;
    size_t rows;
    ck_assert_int_eq(ae_step_output(rs, &pred, &rows), AE_OK);
    ck_assert_uint_eq(rows, 8);
    ck_assert(pred[0] > 0.0f && pred[0] < 1.0f);
    free(p0);
    free(p1);
    free(pm);
    free(pr);
    free(x);
    ae_step_destroy(s);
    ae_step_destroy(rs);
    ae_optimizer_destroy(opt);
    ae_optimizer_destroy(ro);
    ae_model_destroy(m);
    ae_model_destroy(r);
}
END_TEST

/* k computes before one apply: the update of one batch of all their rows. */
START_TEST(accumulated_batches_give_the_update_of_one_big_batch)
{
    float *x = make_x(16, 4);
    ae_model *a = make_model(6, IN, AE_ACT_SIGMOID, 0), *b = make_model(6, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *oa = make_opt(AE_OPT_SGD, 0.5f), *ob = make_opt(AE_OPT_SGD, 0.5f);
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.batch_size = 16;
    ae_step *sa, *sb;
    ck_assert_int_eq(ae_step_create(&sa, a, oa, &so), AE_OK);
    ck_assert_int_eq(ae_step_create(&sb, b, ob, &so), AE_OK);
    double l1, l2, l;
    ck_assert_int_eq(ae_step_run(sa, x, NULL, 16, &l), AE_OK);
    ck_assert_int_eq(ae_step_compute(sb, x, NULL, 4, &l1), AE_OK);
    ck_assert_int_eq(ae_step_compute(sb, x + 4 * IN, NULL, 12, &l2), AE_OK);
    ck_assert_int_eq(ae_step_apply(sb), AE_OK);
    ck_assert_double_eq_tol(l, (4 * l1 + 12 * l2) / 16, 1e-6);
    float *pa = params_of(a), *pb = params_of(b), *p0;
    ae_model *fresh = make_model(6, IN, AE_ACT_SIGMOID, 0);
    p0 = params_of(fresh);
    for (size_t i = 0; i < ae_model_param_count(a); i++)
        ck_assert_msg(fabsf(pa[i] - pb[i]) <= 1e-6f + 1e-4f * fabsf(pa[i] - p0[i]),
                      "param %zu: %g vs %g", i, (double)pa[i], (double)pb[i]);
    ck_assert_uint_eq(ae_optimizer_steps(ob), 1);
    /* discard drops a pending gradient: apply has nothing then */
    ck_assert_int_eq(ae_step_compute(sb, x, NULL, 4, &l1), AE_OK);
    ck_assert_int_eq(ae_step_discard(sb), AE_OK);
    ck_assert_int_eq(ae_step_apply(sb), AE_ERR_STATE);
    free(pa);
    free(pb);
    free(p0);
    free(x);
    ae_step_destroy(sa);
    ae_step_destroy(sb);
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ob);
    ae_model_destroy(a);
    ae_model_destroy(b);
    ae_model_destroy(fresh);
}
END_TEST

START_TEST(clipping_bounds_the_global_norm)
{
    float *x = make_x(8, 5);
    ae_model *m = make_model(7, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *opt = make_opt(AE_OPT_SGD, 0.1f);
    ae_step *s;
    ck_assert_int_eq(ae_step_create(&s, m, opt, NULL), AE_OK);
    double loss, norm = -1.0, norm2 = -1.0;
    float *g;
    size_t ng;
    ck_assert_int_eq(ae_step_compute(s, x, NULL, 8, &loss), AE_OK);
    ck_assert_int_eq(ae_step_gradients(s, &g, &ng), AE_OK);
    double sq = 0.0;
    for (size_t i = 0; i < ng; i++)
        sq += (double)g[i] * g[i];
    ck_assert_int_eq(ae_step_clip(s, 1e9f, &norm), AE_OK); /* no change */
    ck_assert_double_eq_tol(norm, sqrt(sq), 1e-9 * sqrt(sq) + 1e-12);
    const float max = (float)(sqrt(sq) / 4);
    ck_assert_int_eq(ae_step_clip(s, max, &norm), AE_OK);
    ck_assert_int_eq(ae_step_clip(s, 1e9f, &norm2), AE_OK);
    ck_assert_double_le(norm2, (double)max * (1 + 1e-5));
    ck_assert_double_ge(norm2, (double)max * (1 - 1e-3));
    ck_assert_int_eq(ae_step_clip(NULL, 1.0f, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_clip(s, 0.0f, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_clip(s, NAN, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_apply(s), AE_OK);
    ck_assert_int_eq(ae_step_clip(s, 1.0f, NULL), AE_ERR_STATE);
    free(x);
    ae_step_destroy(s);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
}
END_TEST

START_TEST(step_functions_reject_bad_arguments)
{
    float x[4 * IN] = {0}, *g;
    size_t ng;
    double loss = 42.0;
    const float *pred;
    ae_model *m = make_model(8, IN, AE_ACT_SIGMOID, 0), *other = make_model(9, IN, AE_ACT_SIGMOID, 0);
    ae_model *head = make_model(8, 3, AE_ACT_IDENTITY, 0);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    ae_step *s = NULL;
    so.batch_size = 4;
    ck_assert_int_eq(ae_step_create(NULL, m, opt, &so), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_create(&s, NULL, opt, &so), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_create(&s, m, NULL, &so), AE_ERR_INVALID);
    so.batch_size = 0;
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_ERR_INVALID);
    so.batch_size = 4;
    so.loss = 17;
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_ERR_INVALID);
    so.loss = AE_LOSS_CUSTOM;
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "loss_fn"));
    so.loss = AE_LOSS_MSE;
    so.noise = 9;
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_ERR_INVALID);
    so.noise = AE_NOISE_NONE;
    so.struct_size = 4;
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_ERR_INVALID);
    so.struct_size = sizeof so;
    ck_assert_ptr_null(s);
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_OK);
    ae_step *s2 = NULL;
    ck_assert_int_eq(ae_step_create(&s2, other, opt, &so), AE_ERR_STATE);
    ck_assert_ptr_null(s2);

    ck_assert_int_eq(ae_step_seed(NULL, 1, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_compute(NULL, x, NULL, 4, &loss), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_compute(s, NULL, NULL, 4, &loss), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_compute(s, x, NULL, 0, &loss), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_compute(s, x, NULL, 5, &loss), AE_ERR_INVALID);
    ck_assert_double_eq(loss, 42.0);
    ck_assert_int_eq(ae_step_gradients(s, &g, &ng), AE_ERR_STATE);
    ck_assert_int_eq(ae_step_apply(s), AE_ERR_STATE);
    ck_assert_int_eq(ae_step_output(s, &pred, NULL), AE_ERR_STATE);
    ck_assert_int_eq(ae_step_compute(s, x, NULL, 4, NULL), AE_OK);
    ck_assert_int_eq(ae_step_run(s, x, NULL, 4, &loss), AE_ERR_STATE); /* pending */
    ck_assert_int_eq(ae_step_gradients(NULL, &g, &ng), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_gradients(s, NULL, &ng), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_gradients(s, &g, NULL), AE_OK);
    ck_assert_int_eq(ae_step_apply(NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_discard(NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_output(NULL, &pred, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_output(s, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_run(NULL, x, NULL, 4, &loss), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_compute_labels(NULL, x, (const int32_t[]){0}, 1, &loss), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_compute_labels(s, NULL, (const int32_t[]){0}, 1, &loss), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_compute_labels(s, x, NULL, 1, &loss), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_compute_labels(s, x, (const int32_t[]){0}, 0, &loss), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_compute_labels(s, x, (const int32_t[]){16}, 1, &loss), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "label 0 is 16"));
    ck_assert_int_eq(ae_step_compute_labels(s, x, (const int32_t[]){-1}, 1, &loss), AE_ERR_INVALID);
    /* an error drops what was pending */
    ck_assert_int_eq(ae_step_apply(s), AE_ERR_STATE);
    ae_step_destroy(s);
    ae_step_destroy(NULL);

    /* no target: only when the input and output sizes agree */
    ae_optimizer *ho = make_opt(AE_OPT_ADAM, 0.01f);
    ck_assert_int_eq(ae_step_create(&s, head, ho, &so), AE_OK);
    ck_assert_int_eq(ae_step_compute(s, x, NULL, 4, &loss), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_step_compute_labels(s, x, (const int32_t[]){0, 1, 2, 1}, 4, &loss), AE_OK);
    ae_step_destroy(s);

    size_t order[4];
    ck_assert_int_eq(ae_train_order(NULL, 4, 1, 0, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_train_order(order, 0, 1, 0, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_train_order(order, 4, 1, 0, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_train_order(order, 4, 1, 0, 0), AE_OK);
    for (size_t i = 0; i < 4; i++)
        ck_assert_uint_eq(order[i], i);
    ae_optimizer_destroy(opt);
    ae_optimizer_destroy(ho);
    ae_model_destroy(m);
    ae_model_destroy(other);
    ae_model_destroy(head);
}
END_TEST

/* Model, optimizer, step and one step under the failing allocator. */
static int step_scenario(void)
{
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *m = NULL;
    ae_optimizer *opt = NULL;
    ae_step *s = NULL;
    float x[4 * IN] = {0};
    int rc;
    if ((rc = ae_encoder_create(&enc, &in_shape, 1)) < 0 ||
        (rc = ae_encoder_add_dense(enc, LAT, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_create(&dec, &lat_shape, 2)) < 0 ||
        (rc = ae_decoder_add_dense(dec, IN, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(&m, enc, dec)) < 0)
        goto out;
    enc = NULL;
    dec = NULL;
    if ((rc = ae_optimizer_create(&opt, NULL)) < 0 || (rc = ae_step_create(&s, m, opt, NULL)) < 0)
        goto out;
    rc = ae_step_run(s, x, NULL, 4, NULL);
out:
    ae_step_destroy(s);
    ae_model_destroy(m);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_optimizer_destroy(opt);
    return rc;
}

START_TEST(every_allocation_failure_of_step_create_is_reported)
{
    for (size_t k = 1;; k++) {
        failing_allocator fa;
        failing_allocator_install(&fa, k);
        int rc = step_scenario();
        failing_allocator_remove();
        ck_assert_uint_eq(fa.live, 0);
        if (rc == AE_OK) {
            ck_assert_uint_lt(fa.calls, k);
            break;
        }
        ck_assert_int_eq(rc, AE_ERR_NOMEM);
    }
}
END_TEST

/* ---- losses ------------------------------------------------------------- */

START_TEST(mae_and_softmax_cross_entropy_have_their_values)
{
    const float t[4] = {0.0f, 1.0f, 0.5f, 0.25f}, p[4] = {0.5f, 0.5f, 0.0f, 0.25f};
    double v;
    ck_assert_int_eq(ae_loss_compute(&v, AE_LOSS_MAE, t, p, 2, 2), AE_OK);
    ck_assert_double_eq_tol(v, (0.5 + 0.5 + 0.5 + 0.0) / 4, 1e-12);
    /* two rows of three logits, one-hot targets: mean of -log softmax */
    const float logits[6] = {1.0f, 2.0f, 3.0f, 0.0f, 0.0f, 0.0f};
    const float onehot[6] = {0, 0, 1, 1, 0, 0};
    ck_assert_int_eq(ae_loss_compute(&v, AE_LOSS_SOFTMAX_CE, onehot, logits, 2, 3), AE_OK);
    const double l1 = -(3.0 - log(exp(1.0) + exp(2.0) + exp(3.0))), l2 = log(3.0);
    ck_assert_double_eq_tol(v, (l1 + l2) / 2, 1e-6);
    ck_assert_str_eq(ae_loss_name(AE_LOSS_MAE), "mae");
    ck_assert_str_eq(ae_loss_name(AE_LOSS_SOFTMAX_CE), "softmax_ce");
    ck_assert_str_eq(ae_loss_name(AE_LOSS_CUSTOM), "custom");
}
END_TEST

/* Gradient check of MAE and softmax CE through a step: the loss change of
 * a small move of one output bias against the gradient buffer. */
START_TEST(new_losses_have_the_gradients_of_their_values)
{
    static const int losses[] = {AE_LOSS_MAE, AE_LOSS_SOFTMAX_CE};
    float *x = make_x(4, 6);
    for (size_t li = 0; li < 2; li++) {
        ae_model *m = make_model(11, IN, AE_ACT_IDENTITY, 0);
        ae_optimizer *opt = make_opt(AE_OPT_SGD, 0.1f);
        ae_step_options so = AE_STEP_OPTIONS_INIT;
        so.batch_size = 4;
        so.loss = losses[li];
        ae_step *s;
        ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_OK);
        int32_t labels[4] = {3, 0, 15, 7};
        double l0, lp, lm;
        float *g;
        size_t ng, bias;
        ck_assert_int_eq(ae_model_tensor_find(m, "decoder.0.bias", &bias), AE_OK);
        ae_tensor_info ti = AE_TENSOR_INFO_INIT;
        ck_assert_int_eq(ae_model_tensor_info(m, bias, &ti), AE_OK);
        ck_assert_int_eq(ae_step_compute_labels(s, x, labels, 4, &l0), AE_OK);
        ck_assert_int_eq(ae_step_gradients(s, &g, &ng), AE_OK);
        for (size_t k = 0; k < IN; k += 5) {
            const float gk = g[ti.offset + k];
            float b[IN];
            ck_assert_int_eq(ae_model_tensor_get(m, bias, b, IN), AE_OK);
            const float h = 1e-2f, keep = b[k];
            b[k] = keep + h;
            ck_assert_int_eq(ae_model_tensor_set(m, bias, b, IN), AE_OK);
            ck_assert_int_eq(ae_step_compute_labels(s, x, labels, 4, &lp), AE_OK);
            ck_assert_int_eq(ae_step_discard(s), AE_OK);
            b[k] = keep - h;
            ck_assert_int_eq(ae_model_tensor_set(m, bias, b, IN), AE_OK);
            ck_assert_int_eq(ae_step_compute_labels(s, x, labels, 4, &lm), AE_OK);
            ck_assert_int_eq(ae_step_discard(s), AE_OK);
            b[k] = keep;
            ck_assert_int_eq(ae_model_tensor_set(m, bias, b, IN), AE_OK);
            const double fd = (lp - lm) / (2.0 * h);
            ck_assert_msg(fabs(fd - gk) < 2e-3, "%s bias %zu: %g vs %g", ae_loss_name(losses[li]), k,
                          fd, (double)gk);
        }
        ae_step_destroy(s);
        ae_optimizer_destroy(opt);
        ae_model_destroy(m);
    }
    free(x);
}
END_TEST

/* A custom loss computing MSE gives the built-in MSE's bits. */
static int my_mse(const float *t, const float *p, size_t count, size_t size, double *loss,
                  float *grad, void *user)
{
    (*(int *)user)++;
    const size_t n = count * size;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float d = p[i] - t[i];
        sum += (double)d * d;
        grad[i] = (float)(2.0 / (double)n) * d;
    }
    *loss = sum / (double)n;
    return AE_OK;
}

static int failing_loss(const float *t, const float *p, size_t count, size_t size, double *loss,
                        float *grad, void *user)
{
    (void)t, (void)p, (void)count, (void)size, (void)loss, (void)grad, (void)user;
    return ae_error_set(AE_ERR_UNSUPPORTED, "my loss says no");
}

START_TEST(a_custom_loss_trains)
{
    float *x = make_x(40, 7);
    ae_dataset *ds = make_ds(x, 40, IN, NULL);
    ae_model *a = make_model(12, IN, AE_ACT_SIGMOID, 0), *b = make_model(12, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *oa = make_opt(AE_OPT_SGD, 0.1f), *ob = make_opt(AE_OPT_SGD, 0.1f);
    ae_train_options to = topts(2, 8, 3);
    ck_assert_int_eq(ae_model_train(a, oa, ds, &to), AE_OK);
    int calls = 0;
    to.loss = AE_LOSS_CUSTOM;
    to.loss_fn = my_mse;
    to.loss_user = &calls;
    ck_assert_int_eq(ae_model_train(b, ob, ds, &to), AE_OK);
    ck_assert_int_eq(calls, 10);
    float *pa = params_of(a), *pb = params_of(b);
    const size_t np = ae_model_param_count(a);
    for (size_t i = 0; i < np; i++)
        ck_assert_msg(fabsf(pa[i] - pb[i]) <= 1e-6f, "param %zu", i);
    double ha, hb;
    ck_assert_int_eq(ae_model_history_get(b, 1, &hb, NULL), AE_OK);
    ck_assert_int_eq(ae_model_history_get(a, 1, &ha, NULL), AE_OK);
    ck_assert_double_eq_tol(ha, hb, 1e-6);
    /* its error reaches the caller */
    to.loss_fn = failing_loss;
    ck_assert_int_eq(ae_model_train(b, ob, ds, &to), AE_ERR_UNSUPPORTED);
    ck_assert_str_eq(ae_last_error(), "my loss says no");
    /* no validation with a custom loss; a loss_fn needs AE_LOSS_CUSTOM */
    to.loss_fn = my_mse;
    to.validation = ds;
    ck_assert_int_eq(ae_model_train(b, ob, ds, &to), AE_ERR_INVALID);
    to.validation = NULL;
    /* model files record MSE and BCE settings only (1.0 readers take them) */
    void *data = NULL;
    size_t size = 0;
    ae_save_options sv = AE_SAVE_OPTIONS_INIT;
    sv.training = &to;
    ck_assert_int_eq(ae_model_save_memory(b, &data, &size, &sv), AE_ERR_INVALID);
    to.loss = AE_LOSS_MAE;
    to.loss_fn = NULL;
    ck_assert_int_eq(ae_model_save_memory(b, &data, &size, &sv), AE_ERR_INVALID);
    to.loss_fn = my_mse;
    to.loss = AE_LOSS_MSE;
    ck_assert_int_eq(ae_model_train(b, ob, ds, &to), AE_ERR_INVALID);
    free(pa);
    free(pb);
    free(x);
    ae_dataset_destroy(ds);
    ae_model_destroy(a);
    ae_model_destroy(b);
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ob);
}
END_TEST

/* A custom layer with a loss term of its own: identity forward, and a
 * term of 0.5 * mean(x^2) whose gradient backward() adds. */
static int pen_create(void **state, ae_shape *out, const ae_layer_create_args *a)
{
    size_t *n = malloc(sizeof *n);
    if (n == NULL)
        return AE_ERR_NOMEM;
    *n = 1;
    for (uint32_t i = 0; i < a->input.rank; i++)
        *n *= a->input.dims[i];
    *out = a->input;
    *state = n;
    return AE_OK;
}
static void pen_destroy(void *state) { free(state); }
static double pen_last;
static int pen_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const size_t n = *(size_t *)state * ctx->batch;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        y[i] = x[i];
        sum += (double)x[i] * x[i];
    }
    pen_last = 0.5 * sum / (double)ctx->batch;
    return AE_OK;
}
static int pen_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                        const float *dy, float *dx)
{
    (void)y;
    const size_t n = *(size_t *)state * ctx->batch;
    if (dx != NULL)
        for (size_t i = 0; i < n; i++)
            dx[i] = dy[i] + x[i] / (float)ctx->batch;
    return AE_OK;
}
static int pen_loss(void *state, const ae_layer_ctx *ctx, double *loss)
{
    (void)state, (void)ctx;
    *loss = pen_last;
    return AE_OK;
}

START_TEST(a_layer_adds_its_loss_term)
{
    ae_layer_vtable vt = AE_LAYER_VTABLE_INIT;
    vt.type_name = "test.penalty";
    vt.create = pen_create;
    vt.destroy = pen_destroy;
    vt.forward = pen_forward;
    vt.backward = pen_backward;
    vt.loss_term = pen_loss;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_OK);
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ck_assert_int_eq(ae_encoder_create(&enc, &in_shape, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, LAT, AE_ACT_IDENTITY), AE_OK);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.penalty", NULL, 0), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat_shape, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, IN, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    float *x = make_x(8, 8), z[8 * LAT], xr[8 * IN];
    ck_assert_int_eq(ae_encoder_encode(ae_model_encoder(m), x, 8, z), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(m, x, 8, xr), AE_OK);
    double mse, want = 0.0, loss;
    ck_assert_int_eq(ae_loss_compute(&mse, AE_LOSS_MSE, x, xr, 8, IN), AE_OK);
    for (size_t i = 0; i < 8 * LAT; i++)
        want += 0.5 * (double)z[i] * z[i] / 8.0;
    ae_optimizer *opt = make_opt(AE_OPT_SGD, 0.1f);
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.batch_size = 8;
    ae_step *s;
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_OK);
    ck_assert_int_eq(ae_step_compute(s, x, NULL, 8, &loss), AE_OK);
    ck_assert_double_eq_tol(loss, mse + want, 1e-5);
    ck_assert_int_eq(ae_step_apply(s), AE_OK);
    /* the term's gradient shrinks the latent: many steps lower it */
    for (int k = 0; k < 200; k++)
        ck_assert_int_eq(ae_step_run(s, x, NULL, 8, &loss), AE_OK);
    ck_assert_double_lt(pen_last, want);
    ae_step_destroy(s);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    free(x);
    ck_assert_int_eq(ae_layer_unregister("test.penalty"), AE_OK);
}
END_TEST

START_TEST(bce_refuses_targets_outside_0_1)
{
    float *x = make_x(16, 9);
    x[5 * IN + 3] = -0.5f;
    ae_dataset *ds = make_ds(x, 16, IN, NULL);
    ae_model *m = make_model(13, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options to = topts(1, 8, 1);
    to.loss = AE_LOSS_BCE;
    double v = 7.0;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "sample 5, feature 3"));
    ck_assert_uint_eq(ae_model_history_length(m), 0);
    ck_assert_int_eq(ae_model_evaluate(m, ds, AE_LOSS_BCE, &v), AE_ERR_INVALID);
    ck_assert_int_eq(ae_loss_compute(&v, AE_LOSS_BCE, x, x, 16, IN), AE_ERR_INVALID);
    ck_assert_double_eq(v, 7.0);
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.loss = AE_LOSS_BCE;
    so.batch_size = 8;
    ae_step *s;
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_OK);
    ck_assert_int_eq(ae_step_compute(s, x + 8 * IN, NULL, 8, &v), AE_OK);
    ck_assert_int_eq(ae_step_compute(s, x, NULL, 8, &v), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "[0, 1]"));
    ae_step_destroy(s);
    /* MSE takes them */
    to.loss = AE_LOSS_MSE;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    free(x);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    ae_optimizer_destroy(opt);
}
END_TEST

/* ---- paired and label training ------------------------------------------ */

START_TEST(pairs_train_a_decoder_of_another_size)
{
    const size_t n = 64;
    float *x = make_x(n, 10), *y = malloc(n * 4 * sizeof *y);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 4; k++)
            y[i * 4 + k] = x[i * IN + k]; /* the first four features */
    ae_dataset *dx = make_ds(x, n, IN, NULL), *dy = make_ds(y, n, 4, NULL);
    ae_dataset *vx = make_ds(x, 16, IN, NULL), *vy = make_ds(y, 16, 4, NULL);
    ae_model *m = make_model(14, 4, AE_ACT_SIGMOID, 0);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.02f);
    double before, after, hist;
    ck_assert_int_eq(ae_model_evaluate_pairs(m, dx, dy, AE_LOSS_MSE, &before), AE_OK);
    ae_train_options to = topts(30, 16, 2);
    to.validation = vx;
    to.validation_targets = vy;
    ck_assert_int_eq(ae_model_train_pairs(m, opt, dx, dy, &to), AE_OK);
    ck_assert_int_eq(ae_model_evaluate_pairs(m, dx, dy, AE_LOSS_MSE, &after), AE_OK);
    ck_assert_double_lt(after, before / 4);
    double val;
    ck_assert_int_eq(ae_model_history_get(m, 29, &hist, &val), AE_OK);
    double vcheck;
    ck_assert_int_eq(ae_model_evaluate_pairs(m, vx, vy, AE_LOSS_MSE, &vcheck), AE_OK);
    ck_assert_double_eq_tol(val, vcheck, 1e-9);

    /* errors */
    ae_dataset *short_y = make_ds(y, n - 1, 4, NULL), *wide_y = make_ds(x, n, IN, NULL);
    to.validation = NULL;
    ck_assert_int_eq(ae_model_train_pairs(m, opt, dx, short_y, &to), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_model_train_pairs(m, opt, dx, wide_y, &to), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_model_train_pairs(m, opt, dy, dy, &to), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_model_train_pairs(m, opt, dx, NULL, &to), AE_ERR_STATE); /* no labels */
    ck_assert_int_eq(ae_model_train_pairs(NULL, opt, dx, dy, &to), AE_ERR_INVALID);
    to.validation = vx;
    to.validation_targets = NULL;
    ck_assert_int_eq(ae_model_train_pairs(m, opt, dx, dy, &to), AE_ERR_INVALID);
    to.validation_targets = short_y;
    ck_assert_int_eq(ae_model_train_pairs(m, opt, dx, dy, &to), AE_ERR_SHAPE);
    to.validation = NULL;
    to.validation_noise = 1;
    ck_assert_int_eq(ae_model_train_pairs(m, opt, dx, dy, &to), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_train(m, opt, dx, &to), AE_ERR_SHAPE); /* 16 in, 4 out */
    double v = 3.0;
    ck_assert_int_eq(ae_model_evaluate_pairs(NULL, dx, dy, AE_LOSS_MSE, &v), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_evaluate_pairs(m, NULL, dy, AE_LOSS_MSE, &v), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_evaluate_pairs(m, dx, dy, AE_LOSS_MSE, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_evaluate_pairs(m, dx, dy, AE_LOSS_CUSTOM, &v), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_evaluate_pairs(m, dx, short_y, AE_LOSS_MSE, &v), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_model_evaluate_pairs(m, dx, wide_y, AE_LOSS_MSE, &v), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_model_evaluate_pairs(m, dy, dy, AE_LOSS_MSE, &v), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_model_evaluate_pairs(m, dx, NULL, AE_LOSS_MSE, &v), AE_ERR_STATE);
    ck_assert_double_eq(v, 3.0);
    free(x);
    free(y);
    ae_dataset_destroy(dx);
    ae_dataset_destroy(dy);
    ae_dataset_destroy(vx);
    ae_dataset_destroy(vy);
    ae_dataset_destroy(short_y);
    ae_dataset_destroy(wide_y);
    ae_model_destroy(m);
    ae_optimizer_destroy(opt);
}
END_TEST

/* Three classes told apart by which block of features is high; a frozen
 * encoder (transfer) and a new head trained on the labels. */
START_TEST(labels_train_a_classifier_head_on_a_frozen_encoder)
{
    const size_t n = 90;
    float *x = malloc(n * IN * sizeof *x);
    int32_t *labels = malloc(n * sizeof *labels);
    uint64_t st = 11;
    for (size_t i = 0; i < n; i++) {
        labels[i] = (int32_t)(i % 3);
        for (size_t k = 0; k < IN; k++)
            x[i * IN + k] = 0.2f * test_rand_uniform(&st) + (k / 5 == (size_t)labels[i] ? 0.8f : 0.0f);
    }
    ae_dataset *ds = make_ds(x, n, IN, labels);
    ae_model *m = make_model(15, 3, AE_ACT_IDENTITY, 0);
    ck_assert_int_eq(ae_encoder_set_trainable(ae_model_encoder(m), AE_ALL_LAYERS, 0), AE_OK);
    float enc_before[IN * LAT + LAT], enc_after[IN * LAT + LAT];
    ck_assert_int_eq(ae_model_tensor_get(m, 0, enc_before, IN * LAT), AE_OK);
    ck_assert_int_eq(ae_model_tensor_get(m, 1, enc_before + IN * LAT, LAT), AE_OK);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.05f);
    ae_train_options to = topts(40, 10, 4);
    to.loss = AE_LOSS_SOFTMAX_CE;
    to.validation = ds;
    double before, after;
    ck_assert_int_eq(ae_model_evaluate_pairs(m, ds, NULL, AE_LOSS_SOFTMAX_CE, &before), AE_OK);
    ck_assert_int_eq(ae_model_train_pairs(m, opt, ds, NULL, &to), AE_OK);
    ck_assert_int_eq(ae_model_evaluate_pairs(m, ds, NULL, AE_LOSS_SOFTMAX_CE, &after), AE_OK);
    ck_assert_double_lt(after, before / 3);
    /* accuracy */
    float *logits = malloc(n * 3 * sizeof *logits);
    ck_assert_int_eq(ae_model_reconstruct(m, x, n, logits), AE_OK);
    size_t right = 0;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t k = 1; k < 3; k++)
            best = logits[i * 3 + k] > logits[i * 3 + best] ? k : best;
        right += best == (size_t)labels[i];
    }
    ck_assert_uint_ge(right, n * 9 / 10);
    /* the frozen encoder kept its bits */
    ck_assert_int_eq(ae_model_tensor_get(m, 0, enc_after, IN * LAT), AE_OK);
    ck_assert_int_eq(ae_model_tensor_get(m, 1, enc_after + IN * LAT, LAT), AE_OK);
    ck_assert_mem_eq(enc_before, enc_after, sizeof enc_before);
    /* no optimizer state for the frozen tensors, state for the head's */
    for (size_t t = 0; t < 4; t++) {
        const float *value;
        size_t count;
        float *m1, *m2;
        ae__optimizer_tensor(opt, t, &value, &count, &m1, &m2);
        ck_assert_int_eq(m1 == NULL && m2 == NULL, t < 2);
        ck_assert_int_eq(m1 != NULL && m2 != NULL, t >= 2);
    }
    /* the model saves with its optimizer (zeros for the frozen tensors) */
    void *data = NULL;
    size_t size = 0;
    ae_save_options sv = AE_SAVE_OPTIONS_INIT;
    sv.optimizer = opt;
    ck_assert_int_eq(ae_model_save_memory(m, &data, &size, &sv), AE_OK);
    ck_assert_uint_gt(size, 0);
    ae_buffer_free(data);
    /* unfreezing with a bound optimizer needs a reset */
    ck_assert_int_eq(ae_encoder_set_trainable(ae_model_encoder(m), AE_ALL_LAYERS, 1), AE_OK);
    ck_assert_int_eq(ae_model_train_pairs(m, opt, ds, NULL, &to), AE_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_optimizer_reset"));
    ae_optimizer_reset(opt);
    to.epochs = 1;
    ck_assert_int_eq(ae_model_train_pairs(m, opt, ds, NULL, &to), AE_OK);
    ck_assert_int_eq(ae_model_tensor_get(m, 0, enc_after, IN * LAT), AE_OK);
    ck_assert(memcmp(enc_before, enc_after, IN * LAT * sizeof(float)) != 0);
    /* a label out of range */
    labels[7] = 3;
    ae_dataset *bad = make_ds(x, n, IN, labels);
    ck_assert_int_eq(ae_model_train_pairs(m, opt, bad, NULL, &to), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "label 7 is 3"));
    ck_assert_int_eq(ae_model_evaluate_pairs(m, bad, NULL, AE_LOSS_SOFTMAX_CE, &after), AE_ERR_INVALID);
    free(logits);
    free(x);
    free(labels);
    ae_dataset_destroy(ds);
    ae_dataset_destroy(bad);
    ae_model_destroy(m);
    ae_optimizer_destroy(opt);
}
END_TEST

/* One frozen layer in the middle of the decoder side: its bits stay. */
START_TEST(a_frozen_layer_keeps_its_bits)
{
    float *x = make_x(32, 12);
    ae_dataset *ds = make_ds(x, 32, IN, NULL);
    ae_model *m = make_model(16, IN, AE_ACT_SIGMOID, 0);
    ck_assert_int_eq(ae_decoder_set_trainable(ae_model_decoder(m), 0, 0), AE_OK);
    float *p0 = params_of(m);
    ae_optimizer *opt = make_opt(AE_OPT_SGD, 0.1f);
    ae_train_options to = topts(3, 8, 5);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    float *p1 = params_of(m);
    const size_t enc = IN * LAT + LAT, np = ae_model_param_count(m);
    ck_assert(memcmp(p0, p1, enc * sizeof(float)) != 0);
    ck_assert_mem_eq(p0 + enc, p1 + enc, (np - enc) * sizeof(float));
    free(p0);
    free(p1);
    free(x);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    ae_optimizer_destroy(opt);
}
END_TEST

/* ---- training options ---------------------------------------------------- */

/* Early stopping restores the best epoch's weights: bit-identical to a
 * run of best_epoch + 1 epochs. */
START_TEST(early_stopping_restores_the_best_weights)
{
    float *x = make_x(48, 13), *v = make_x(16, 14);
    ae_dataset *ds = make_ds(x, 48, IN, NULL), *val = make_ds(v, 16, IN, NULL);
    ae_model *a = make_model(17, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *oa = make_opt(AE_OPT_ADAM, 0.05f);
    ae_train_options to = topts(60, 8, 6);
    ae_train_result res = AE_TRAIN_RESULT_INIT;
    to.validation = val;
    to.patience = 2;
    to.min_delta = 2e-4f;
    to.restore_best = 1;
    to.result = &res;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &to), AE_OK);
    ck_assert_int_ge(res.best_epoch, 1);
    ck_assert_int_eq(res.stopped_early, 1);
    ck_assert_uint_eq(res.epochs_run, (uint32_t)res.best_epoch + 1 + 2);
    ck_assert_int_eq(res.restored, 1);
    ck_assert_uint_eq(ae_model_history_length(a), res.epochs_run);
    double best_val;
    ck_assert_int_eq(ae_model_history_get(a, (size_t)res.best_epoch, NULL, &best_val), AE_OK);
    ck_assert_double_eq(res.best_loss, best_val);

    ae_model *b = make_model(17, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *ob = make_opt(AE_OPT_ADAM, 0.05f);
    ae_train_options tb = topts((uint32_t)res.best_epoch + 1, 8, 6);
    ck_assert_int_eq(ae_model_train(b, ob, ds, &tb), AE_OK);
    float *pa = params_of(a), *pb = params_of(b);
    ck_assert_mem_eq(pa, pb, ae_model_param_count(a) * sizeof(float));
    ck_assert_uint_eq(ae_optimizer_steps(oa), ae_optimizer_steps(ob));
    double va;
    ck_assert_int_eq(ae_model_evaluate(a, val, AE_LOSS_MSE, &va), AE_OK);
    ck_assert_double_eq(va, best_val);

    /* errors */
    to.min_delta = -1.0f;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &to), AE_ERR_INVALID);
    to.min_delta = 0.0f;
    to.restore_best = 2;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &to), AE_ERR_INVALID);
    to.restore_best = 1;
    res.struct_size = 4;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &to), AE_ERR_INVALID);
    free(pa);
    free(pb);
    free(x);
    free(v);
    ae_dataset_destroy(ds);
    ae_dataset_destroy(val);
    ae_model_destroy(a);
    ae_model_destroy(b);
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ob);
}
END_TEST

static float rates[16];
static int record_rate(const ae_progress *p, void *user)
{
    (void)user;
    if (p->event == AE_PROGRESS_EPOCH && p->epoch < 16)
        rates[p->epoch] = p->learning_rate;
    return 0;
}

START_TEST(learning_rate_schedules_follow_their_formulas)
{
    float *x = make_x(16, 15);
    ae_dataset *ds = make_ds(x, 16, IN, NULL);
    ae_model *m = make_model(18, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *opt = make_opt(AE_OPT_SGD, 0.1f);
    ae_train_options to = topts(8, 8, 7);
    to.progress = record_rate;
    ae_train_result res = AE_TRAIN_RESULT_INIT;
    to.result = &res;

    to.lr_schedule = AE_LR_STEP;
    to.lr_step_epochs = 3;
    to.lr_factor = 0.5f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    for (uint32_t e = 0; e < 8; e++)
        ck_assert_float_eq_tol(rates[e], 0.1f * powf(0.5f, (float)(e / 3)), 1e-7f);
    ck_assert_float_eq_tol(res.learning_rate, 0.025f, 1e-7f);

    ck_assert_int_eq(ae_optimizer_set_learning_rate(opt, 0.1f), AE_OK);
    to.lr_schedule = AE_LR_COSINE;
    to.lr_warmup_epochs = 2;
    to.lr_min = 0.01f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    ck_assert_float_eq_tol(rates[0], 0.1f / 3, 1e-7f);
    ck_assert_float_eq_tol(rates[1], 0.2f / 3, 1e-7f);
    ck_assert_float_eq_tol(rates[2], 0.1f, 1e-7f);
    for (uint32_t e = 2; e < 8; e++) {
        const double t = (e - 2) / 6.0;
        ck_assert_float_eq_tol(rates[e], (float)(0.01 + 0.09 * 0.5 * (1 + cos(3.14159265358979323846 * t))), 1e-6f);
    }

    /* plateau: min_delta so large that no epoch improves after the first */
    ck_assert_int_eq(ae_optimizer_set_learning_rate(opt, 0.1f), AE_OK);
    to.lr_schedule = AE_LR_PLATEAU;
    to.lr_step_epochs = 2;
    to.lr_factor = 0.1f;
    to.lr_min = 0.0005f;
    to.min_delta = 1e6f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    const float want[8] = {0.1f, 0.1f, 0.1f, 0.01f, 0.01f, 0.001f, 0.001f, 0.0005f};
    for (uint32_t e = 0; e < 8; e++)
        ck_assert_float_eq_tol(rates[e], want[e], 1e-7f);

    /* errors */
    to.lr_schedule = 4;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    to.lr_schedule = AE_LR_STEP;
    to.lr_factor = 1.0f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    to.lr_factor = 0.5f;
    to.lr_step_epochs = 0;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    to.lr_schedule = AE_LR_COSINE;
    to.lr_warmup_epochs = 8;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    to.lr_warmup_epochs = 0;
    to.lr_min = -1.0f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    free(x);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    ae_optimizer_destroy(opt);
}
END_TEST

static int zero_gradients(ae_step *s, void *user)
{
    float *g;
    size_t n;
    (*(int *)user)++;
    ck_assert_int_eq(ae_step_gradients(s, &g, &n), AE_OK);
    memset(g, 0, n * sizeof *g);
    return 0;
}

static int stop_hook(ae_step *s, void *user)
{
    (void)s, (void)user;
    return 1;
}

START_TEST(clipping_accumulation_and_the_gradient_hook_in_training)
{
    float *x = make_x(32, 16);
    ae_dataset *ds = make_ds(x, 32, IN, NULL);
    /* accumulate 2 batches of 8 == batches of 16 (no shuffling) */
    ae_model *a = make_model(19, IN, AE_ACT_SIGMOID, 0), *b = make_model(19, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *oa = make_opt(AE_OPT_SGD, 0.3f), *ob = make_opt(AE_OPT_SGD, 0.3f);
    ae_train_options ta = topts(2, 16, 8), tb = topts(2, 8, 8);
    ta.shuffle = tb.shuffle = 0;
    tb.accumulate = 2;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &ta), AE_OK);
    ck_assert_int_eq(ae_model_train(b, ob, ds, &tb), AE_OK);
    ck_assert_uint_eq(ae_optimizer_steps(ob), 4);
    float *pa = params_of(a), *pb = params_of(b);
    for (size_t i = 0; i < ae_model_param_count(a); i++)
        ck_assert_msg(fabsf(pa[i] - pb[i]) <= 1e-5f, "param %zu", i);
    free(pa);
    free(pb);

    /* clipping to a tiny norm barely moves the weights */
    ae_model *c = make_model(19, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *oc = make_opt(AE_OPT_SGD, 0.3f);
    float *p0 = params_of(c);
    ta.clip_norm = 1e-4f;
    ck_assert_int_eq(ae_model_train(c, oc, ds, &ta), AE_OK);
    float *pc = params_of(c);
    double moved = 0.0;
    for (size_t i = 0; i < ae_model_param_count(c); i++)
        moved += ((double)pc[i] - p0[i]) * ((double)pc[i] - p0[i]);
    ck_assert_double_le(sqrt(moved), 4 * 0.3 * 1e-4 * 1.001);
    ta.clip_norm = -1.0f;
    ck_assert_int_eq(ae_model_train(c, oc, ds, &ta), AE_ERR_INVALID);
    ta.clip_norm = 0.0f;
    free(pc);

    /* a hook that zeroes the gradient: SGD leaves the weights as they are */
    ae_model *d = make_model(20, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *od = make_opt(AE_OPT_SGD, 0.3f);
    float *d0 = params_of(d);
    int calls = 0;
    ta.gradient_hook = zero_gradients;
    ta.gradient_user = &calls;
    ck_assert_int_eq(ae_model_train(d, od, ds, &ta), AE_OK);
    ck_assert_int_eq(calls, 4);
    float *d1 = params_of(d);
    ck_assert_mem_eq(d0, d1, ae_model_param_count(d) * sizeof(float));
    ta.gradient_hook = stop_hook;
    ck_assert_int_eq(ae_model_train(d, od, ds, &ta), AE_ERR_CANCELLED);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "gradient hook"));
    free(d0);
    free(d1);
    free(p0);
    free(x);
    ae_dataset_destroy(ds);
    ae_model_destroy(a);
    ae_model_destroy(b);
    ae_model_destroy(c);
    ae_model_destroy(d);
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ob);
    ae_optimizer_destroy(oc);
    ae_optimizer_destroy(od);
}
END_TEST

/* Denoising validation: corrupted validation inputs against clean ones,
 * the same corruption every epoch and every run. */
START_TEST(denoising_runs_validate_on_corrupted_inputs)
{
    float *x = make_x(32, 17);
    ae_dataset *ds = make_ds(x, 32, IN, NULL);
    double v_clean, v_noisy, v_noisy2, dummy;
    for (int k = 0; k < 3; k++) {
        ae_model *m = make_model(21, IN, AE_ACT_SIGMOID, 0);
        ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
        ae_train_options to = topts(2, 8, 9);
        to.noise = AE_NOISE_MASKING;
        to.noise_amount = 0.5f;
        to.validation = ds;
        to.validation_noise = k > 0;
        ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
        ck_assert_int_eq(ae_model_history_get(m, 1, &dummy, k == 0   ? &v_clean
                                                          : k == 1 ? &v_noisy
                                                                   : &v_noisy2),
                         AE_OK);
        if (k == 0) {
            double ev;
            ck_assert_int_eq(ae_model_evaluate(m, ds, AE_LOSS_MSE, &ev), AE_OK);
            ck_assert_double_eq(ev, v_clean);
        }
        ae_model_destroy(m);
        ae_optimizer_destroy(opt);
    }
    ck_assert_double_gt(v_noisy, v_clean);
    ck_assert_double_eq(v_noisy, v_noisy2);
    ae_model *m = make_model(21, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options to = topts(1, 8, 9);
    to.validation_noise = 2;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    ae_model_destroy(m);
    ae_optimizer_destroy(opt);
    free(x);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(the_progress_printer_writes_plain_lines_to_a_file)
{
    float *x = make_x(32, 18);
    ae_dataset *ds = make_ds(x, 32, IN, NULL);
    ae_model *m = make_model(22, IN, AE_ACT_SIGMOID, 0);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    char path[512];
    snprintf(path, sizeof path, "%s/progress.txt", test_tmpdir());
    FILE *f = fopen(path, "w+");
    ck_assert_ptr_nonnull(f);
    ae_train_options to = topts(3, 8, 1);
    to.validation = ds;
    to.progress = ae_progress_print;
    to.progress_user = f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    rewind(f);
    char line[256];
    int lines = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        char want[32];
        snprintf(want, sizeof want, "epoch %d/3 loss ", lines + 1);
        ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "line '%s'", line);
        ck_assert_ptr_nonnull(strstr(line, " val_loss "));
        ck_assert_ptr_nonnull(strstr(line, " samples/s "));
        ck_assert_ptr_null(strchr(line, '\r'));
        lines++;
    }
    ck_assert_int_eq(lines, 3);
    fclose(f);
    ck_assert_int_eq(ae_progress_print(NULL, stderr), 0);
    ae_progress p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    ck_assert_int_eq(ae_progress_print(&p, NULL), 0);
    free(x);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    ae_optimizer_destroy(opt);
}
END_TEST

/* On a terminal: a bar redrawn in place, then the epoch's line. */
START_TEST(the_progress_printer_draws_a_bar_on_a_terminal)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    FILE *tty = fdopen(slave, "w");
    ck_assert_ptr_nonnull(tty);
    ae_progress p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.event = AE_PROGRESS_BATCH;
    p.epochs = 2;
    p.batches = 10;
    p.batch = 4;
    p.samples = 50;
    p.samples_per_epoch = 100;
    p.seconds = 1.0;
    p.loss = 0.25;
    p.val_loss = NAN;
    p.learning_rate = 0.001f;
    ck_assert_int_eq(ae_progress_print(&p, tty), 0);
    p.event = AE_PROGRESS_EPOCH;
    p.batch = 10;
    p.samples = 100;
    ck_assert_int_eq(ae_progress_print(&p, tty), 0);
    char buf[1024];
    ssize_t got = 0, n;
    while (got < (ssize_t)sizeof buf - 1 && (n = read(master, buf + got, sizeof buf - 1 - (size_t)got)) > 0) {
        got += n;
        if (memchr(buf, '\n', (size_t)got) != NULL)
            break;
    }
    buf[got] = '\0';
    ck_assert_msg(strstr(buf, "\repoch 1/2 [") != NULL, "'%s'", buf);
    ck_assert_ptr_nonnull(strstr(buf, "50/100 50 samples/s ETA 0:03 loss 0.250000"));
    ck_assert_ptr_nonnull(strstr(buf, "epoch 1/2 loss 0.250000 lr 0.001 100 samples/s 0:01"));
    fclose(tty);
    close(master);
}
END_TEST

/* A kind without backward() trains where no gradient has to pass it: in
 * front of every trainable layer. */
static int same_create(void **state, ae_shape *out, const ae_layer_create_args *a)
{
    return pen_create(state, out, a);
}
static int same_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    memcpy(y, x, *(size_t *)state * ctx->batch * sizeof *y);
    return AE_OK;
}

START_TEST(layers_in_front_of_the_trainable_ones_need_no_backward)
{
    ae_layer_vtable vt = AE_LAYER_VTABLE_INIT;
    vt.type_name = "test.forward_only";
    vt.create = same_create;
    vt.destroy = pen_destroy;
    vt.forward = same_forward;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_OK);
    float *x = make_x(16, 19);
    ae_dataset *ds = make_ds(x, 16, IN, NULL);
    ae_train_options to = topts(1, 8, 1);
    for (int where = 0; where < 2; where++) {
        ae_encoder *enc;
        ae_decoder *dec;
        ae_model *m;
        ck_assert_int_eq(ae_encoder_create(&enc, &in_shape, 1), AE_OK);
        if (where == 0)
            ck_assert_int_eq(ae_encoder_add_layer(enc, "test.forward_only", NULL, 0), AE_OK);
        ck_assert_int_eq(ae_encoder_add_dense(enc, LAT, AE_ACT_RELU), AE_OK);
        if (where == 1)
            ck_assert_int_eq(ae_encoder_add_layer(enc, "test.forward_only", NULL, 0), AE_OK);
        ck_assert_int_eq(ae_decoder_create(&dec, &lat_shape, 2), AE_OK);
        ck_assert_int_eq(ae_decoder_add_dense(dec, IN, AE_ACT_SIGMOID), AE_OK);
        ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
        ae_optimizer *opt = make_opt(AE_OPT_SGD, 0.1f);
        if (where == 0) {
            ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
        } else {
            /* behind the trainable dense: refused, until the dense is frozen */
            ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_UNSUPPORTED);
            ck_assert_int_eq(ae_encoder_set_trainable(ae_model_encoder(m), 0, 0), AE_OK);
            ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
        }
        ae_optimizer_destroy(opt);
        ae_model_destroy(m);
    }
    free(x);
    ae_dataset_destroy(ds);
    ck_assert_int_eq(ae_layer_unregister("test.forward_only"), AE_OK);
}
END_TEST

Suite *ae_step_suite(void)
{
    Suite *s = suite_create("step");
    TCase *tc = tcase_create("step");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, user_loop_gives_the_bits_of_model_train);
    tcase_add_test(tc, a_step_allocates_nothing);
    tcase_add_test(tc, the_gradient_buffer_is_what_apply_uses);
    tcase_add_test(tc, accumulated_batches_give_the_update_of_one_big_batch);
    tcase_add_test(tc, clipping_bounds_the_global_norm);
    tcase_add_test(tc, step_functions_reject_bad_arguments);
    tcase_add_test(tc, every_allocation_failure_of_step_create_is_reported);
    suite_add_tcase(s, tc);
    TCase *tl = tcase_create("losses");
    tcase_add_test(tl, mae_and_softmax_cross_entropy_have_their_values);
    tcase_add_test(tl, new_losses_have_the_gradients_of_their_values);
    tcase_add_test(tl, a_custom_loss_trains);
    tcase_add_test(tl, a_layer_adds_its_loss_term);
    tcase_add_test(tl, bce_refuses_targets_outside_0_1);
    suite_add_tcase(s, tl);
    TCase *tp = tcase_create("pairs");
    tcase_set_timeout(tp, 60);
    tcase_add_test(tp, pairs_train_a_decoder_of_another_size);
    tcase_add_test(tp, labels_train_a_classifier_head_on_a_frozen_encoder);
    tcase_add_test(tp, a_frozen_layer_keeps_its_bits);
    tcase_add_test(tp, layers_in_front_of_the_trainable_ones_need_no_backward);
    suite_add_tcase(s, tp);
    TCase *to = tcase_create("options");
    tcase_set_timeout(to, 60);
    tcase_add_test(to, early_stopping_restores_the_best_weights);
    tcase_add_test(to, learning_rate_schedules_follow_their_formulas);
    tcase_add_test(to, clipping_accumulation_and_the_gradient_hook_in_training);
    tcase_add_test(to, denoising_runs_validate_on_corrupted_inputs);
    tcase_add_test(to, the_progress_printer_writes_plain_lines_to_a_file);
    tcase_add_test(to, the_progress_printer_draws_a_bar_on_a_terminal);
    suite_add_tcase(s, to);
    return s;
}
