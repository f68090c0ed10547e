/* SPDX-License-Identifier: MIT */
/* check_train.c - the training loop: the loss falls on a synthetic
 * dataset; history; progress events, cancelling and learning-rate changes
 * from the callback; validation; argument errors; NaN detection;
 * determinism (same seeds, split runs); allocation failures at every
 * allocation of a whole scenario, and no allocation per training step. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "nn/nn.h"
#include "testutil.h"

#define IN 16
#define LAT 8

static const ae_shape in_shape = {1, {IN, 0, 0, 0}};
static const ae_shape lat_shape = {1, {LAT, 0, 0, 0}};

static ae_model *make_model_act(uint64_t seed, int enc_act, int dec_act)
{
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ck_assert_int_eq(ae_encoder_create(&enc, &in_shape, seed), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, LAT, enc_act), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat_shape, seed + 1), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, IN, dec_act), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

/* 16-8-16, relu then sigmoid. */
static ae_model *make_model(uint64_t seed)
{
    return make_model_act(seed, AE_ACT_RELU, AE_ACT_SIGMOID);
}

/* count samples of 16 features on a 4-dimensional subspace, in [0, 1]. */
static ae_dataset *make_data(size_t count, uint64_t seed)
{
    float *x = malloc(count * IN * sizeof *x);
    ae_dataset *ds;
    ck_assert_ptr_nonnull(x);
    test_subspace_data(x, count, IN, 4, seed);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, count, &in_shape, AE_DATASET_COPY),
                     AE_OK);
    free(x);
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

static ae_train_options topts(uint32_t epochs, uint32_t batch, uint64_t seed)
{
    ae_train_options o = AE_TRAIN_OPTIONS_INIT;
    o.epochs = epochs;
    o.batch_size = batch;
    o.seed = seed;
    return o;
}

/* Every parameter of the model, concatenated (malloc'd; *n floats). */
static float *params_copy(ae_model *m, size_t *n)
{
    ae__net *nets[2] = {&m->enc->net, &m->dec->net};
    size_t total = 0, k = 0;
    ae_param_view views[16];
    float *out;
    for (int j = 0; j < 2; j++) {
        size_t t = ae__net_tensor_count(nets[j]);
        ck_assert_uint_le(t, 16);
        ck_assert_int_eq(ae__net_params(nets[j], views), AE_OK);
        for (size_t i = 0; i < t; i++)
            total += views[i].count;
    }
    out = malloc(total * sizeof *out);
    ck_assert_ptr_nonnull(out);
    for (int j = 0; j < 2; j++) {
        size_t t = ae__net_tensor_count(nets[j]);
        ck_assert_int_eq(ae__net_params(nets[j], views), AE_OK);
        for (size_t i = 0; i < t; i++) {
            memcpy(out + k, views[i].value, views[i].count * sizeof *out);
            k += views[i].count;
        }
    }
    *n = total;
    return out;
}

static int same_params(ae_model *a, ae_model *b)
{
    size_t na, nb;
    float *pa = params_copy(a, &na), *pb = params_copy(b, &nb);
    int same = na == nb && memcmp(pa, pb, na * sizeof *pa) == 0;
    free(pa);
    free(pb);
    return same;
}

static void teardown(void)
{
    ck_assert_uint_eq(ae_live_allocations(), 0);
}

/* ------------------------------------------------------------------------ */
/* Learning and history                                                     */
/* ------------------------------------------------------------------------ */

START_TEST(training_reduces_the_loss)
{
    ae_model *m = make_model(1);
    ae_dataset *ds = make_data(256, 1);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(30, 32, 1);
    double first, last, before, after;
    ck_assert_int_eq(ae_model_evaluate(m, ds, AE_LOSS_MSE, &before), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_uint_eq(ae_model_history_length(m), 30);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 30 * 8);
    ck_assert_int_eq(ae_model_history_get(m, 0, &first, NULL), AE_OK);
    ck_assert_int_eq(ae_model_history_get(m, 29, &last, NULL), AE_OK);
    ck_assert_msg(last < 0.5 * first, "loss %g -> %g", first, last);
    for (size_t e = 0; e < 30; e++) {
        double t, v;
        ck_assert_int_eq(ae_model_history_get(m, e, &t, &v), AE_OK);
        ck_assert(isfinite(t) && t > 0.0);
        ck_assert(isnan(v)); /* no validation set */
    }
    ck_assert_int_eq(ae_model_evaluate(m, ds, AE_LOSS_MSE, &after), AE_OK);
    ck_assert_msg(after < 0.5 * before, "evaluated loss %g -> %g", before, after);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

START_TEST(training_with_bce_and_sgd_reduces_the_loss)
{
    ae_model *m = make_model(2);
    ae_dataset *ds = make_data(256, 2);
    ae_optimizer *opt = make_opt(AE_OPT_SGD, 1.0f);
    ae_train_options o = topts(30, 16, 2);
    double before, after;
    o.loss = AE_LOSS_BCE;
    ck_assert_int_eq(ae_model_evaluate(m, ds, AE_LOSS_BCE, &before), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_int_eq(ae_model_evaluate(m, ds, AE_LOSS_BCE, &after), AE_OK);
    /* BCE of targets in (0,1) has a floor (their entropy): compare the
     * excess over the best possible loss, mean of -[x ln x + (1-x) ln(1-x)]. */
    double floor_loss = 0.0;
    for (size_t i = 0; i < 256; i++) {
        const float *x = ae_dataset_sample(ds, i);
        for (size_t j = 0; j < IN; j++)
            floor_loss -= x[j] * log(x[j]) + (1.0 - x[j]) * log(1.0 - x[j]);
    }
    floor_loss /= 256.0 * IN;
    ck_assert_msg(after - floor_loss < 0.5 * (before - floor_loss), "bce %g -> %g (floor %g)",
                  before, after, floor_loss);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

START_TEST(history_grows_across_calls)
{
    ae_model *m = make_model(3);
    ae_dataset *ds = make_data(64, 3);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(3, 16, 3);
    double t = 42.0, v = 42.0;
    ck_assert_uint_eq(ae_model_history_length(m), 0);
    ck_assert_int_eq(ae_model_history_get(m, 0, &t, &v), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_uint_eq(ae_model_history_length(m), 3);
    o.epochs = 2;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_uint_eq(ae_model_history_length(m), 5);
    o.epochs = 0; /* does nothing */
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_uint_eq(ae_model_history_length(m), 5);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 5 * 4);
    ck_assert_int_eq(ae_model_history_get(m, 4, NULL, NULL), AE_OK);
    ck_assert_int_eq(ae_model_history_get(m, 4, &t, NULL), AE_OK);
    ck_assert(isfinite(t));
    ck_assert_int_eq(ae_model_history_get(m, 5, &t, &v), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "5"));
    ck_assert_int_eq(ae_model_history_get(NULL, 0, &t, &v), AE_ERR_INVALID);
    ck_assert_uint_eq(ae_model_history_length(NULL), 0);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Progress callback                                                        */
/* ------------------------------------------------------------------------ */

#define MAX_EVENTS 256

typedef struct recorder {
    ae_progress ev[MAX_EVENTS];
    size_t n;
    /* actions */
    int cancel_event;      /* event kind to cancel on, -1 for never */
    uint32_t cancel_epoch;
    size_t cancel_batch;
    ae_optimizer *opt;     /* learning-rate change at the end of epoch lr_epoch */
    uint32_t lr_epoch;
    float lr;
    const ae_model *model; /* evaluate the validation set at epoch events */
    const ae_dataset *val;
    int loss;
    int val_mismatch;
} recorder;

static void recorder_init(recorder *r)
{
    memset(r, 0, sizeof *r);
    r->cancel_event = -1;
}

static int record(const ae_progress *p, void *user)
{
    recorder *r = user;
    if (r->n < MAX_EVENTS)
        r->ev[r->n++] = *p;
    if (p->event == AE_PROGRESS_EPOCH && r->model != NULL && r->val != NULL) {
        double v;
        if (ae_model_evaluate(r->model, r->val, r->loss, &v) != AE_OK || v != p->val_loss)
            r->val_mismatch++;
    }
    if (p->event == AE_PROGRESS_EPOCH && r->opt != NULL && p->epoch == r->lr_epoch) {
        ck_assert_int_eq(ae_optimizer_set_learning_rate(r->opt, r->lr), AE_OK);
        ck_assert(ae_optimizer_learning_rate(r->opt) == r->lr);
    }
    if (p->event == r->cancel_event && p->epoch == r->cancel_epoch &&
        (p->event == AE_PROGRESS_EPOCH || p->batch == r->cancel_batch))
        return 1;
    return 0;
}

START_TEST(progress_reports_every_batch_and_epoch)
{
    /* 100 samples in batches of 32: 4 batches (32, 32, 32, 4) per epoch. */
    enum { EPOCHS = 3, BATCHES = 4 };
    ae_model *m = make_model(4);
    ae_dataset *ds = make_data(100, 4), *val = make_data(30, 40);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(EPOCHS, 32, 4);
    recorder *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    recorder_init(r);
    r->model = m;
    r->val = val;
    o.progress = record;
    o.progress_user = r;
    o.validation = val;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_uint_eq(r->n, EPOCHS * (BATCHES + 1));
    double prev_seconds = 0.0;
    for (size_t e = 0, k = 0; e < EPOCHS; e++) {
        for (size_t b = 0; b < BATCHES; b++, k++) {
            const ae_progress *p = &r->ev[k];
            ck_assert_uint_eq(p->struct_size, sizeof(ae_progress));
            ck_assert_int_eq(p->event, AE_PROGRESS_BATCH);
            ck_assert_uint_eq(p->epoch, e);
            ck_assert_uint_eq(p->epochs, EPOCHS);
            ck_assert_uint_eq(p->batch, b);
            ck_assert_uint_eq(p->batches, BATCHES);
            ck_assert(isfinite(p->loss) && p->loss > 0.0);
            ck_assert(isnan(p->val_loss));
            ck_assert(p->seconds >= prev_seconds);
            prev_seconds = p->seconds;
        }
        const ae_progress *p = &r->ev[k++];
        double t, v;
        ck_assert_int_eq(p->event, AE_PROGRESS_EPOCH);
        ck_assert_uint_eq(p->epoch, e);
        ck_assert_uint_eq(p->batch, BATCHES);
        ck_assert_uint_eq(p->batches, BATCHES);
        ck_assert(p->seconds >= prev_seconds);
        /* The epoch's loss is the running mean of its last batch event and
         * what the history keeps; the validation loss too. */
        ck_assert_int_eq(ae_model_history_get(m, e, &t, &v), AE_OK);
        ck_assert(p->loss == r->ev[k - 2].loss);
        ck_assert(p->loss == t);
        ck_assert(isfinite(p->val_loss));
        ck_assert(p->val_loss == v);
    }
    /* Each epoch event's validation loss is ae_model_evaluate at that point. */
    ck_assert_int_eq(r->val_mismatch, 0);
    double last_val, ev;
    ck_assert_int_eq(ae_model_history_get(m, EPOCHS - 1, NULL, &last_val), AE_OK);
    ck_assert_int_eq(ae_model_evaluate(m, val, AE_LOSS_MSE, &ev), AE_OK);
    ck_assert(ev == last_val);
    free(r);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_dataset_destroy(val);
    ae_model_destroy(m);
}
END_TEST

START_TEST(batch_losses_are_running_means_of_the_epoch)
{
    /* Unshuffled, 100 samples in batches of 32, 32, 32 and 4. The first
     * event's loss is the initial model's loss on samples 0..31 (training's
     * forward pass is inference's); later events are running means weighted
     * by batch size, so the batch losses recovered from them are positive. */
    enum { FIRST = 32 };
    ae_model *m = make_model(5);
    ae_dataset *ds = make_data(100, 5);
    ae_optimizer *opt = make_opt(AE_OPT_SGD, 0.1f);
    ae_train_options o = topts(1, FIRST, 5);
    float x[FIRST * IN], xr[FIRST * IN];
    double initial;
    recorder *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(ae_dataset_get_batch(ds, 0, FIRST, x, NULL), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(m, x, FIRST, xr), AE_OK);
    ck_assert_int_eq(ae_loss_compute(&initial, AE_LOSS_MSE, x, xr, FIRST, IN), AE_OK);
    recorder_init(r);
    o.shuffle = 0;
    o.progress = record;
    o.progress_user = r;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_uint_eq(r->n, 5);
    ck_assert_msg(r->ev[0].loss == initial, "first batch %.17g, initial model %.17g",
                  r->ev[0].loss, initial);
    const double sizes[4] = {32, 32, 32, 4};
    double seen = 0.0, sum = 0.0;
    for (int b = 0; b < 4; b++) {
        double batch_loss = (r->ev[b].loss * (seen + sizes[b]) - sum) / sizes[b];
        ck_assert_msg(batch_loss > 0.0, "batch %d loss %g", b, batch_loss);
        sum += batch_loss * sizes[b];
        seen += sizes[b];
    }
    ck_assert(r->ev[4].loss == r->ev[3].loss);
    free(r);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

START_TEST(a_nonzero_callback_return_cancels)
{
    ae_model *m = make_model(6);
    ae_dataset *ds = make_data(100, 6);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(5, 32, 6);
    recorder *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    recorder_init(r);
    r->cancel_event = AE_PROGRESS_BATCH;
    r->cancel_epoch = 1;
    r->cancel_batch = 2;
    o.progress = record;
    o.progress_user = r;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_CANCELLED);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "epoch 2")); /* counted from 1 */
    /* Epoch 0 completed (4 batches + its event), epoch 1 stopped after the
     * step of batch 2: the history does not hold the cancelled epoch. */
    ck_assert_uint_eq(r->n, 5 + 3);
    ck_assert_uint_eq(ae_model_history_length(m), 1);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 4 + 3);

    /* Cancelling at an epoch's end keeps that (completed) epoch. */
    recorder_init(r);
    r->cancel_event = AE_PROGRESS_EPOCH;
    r->cancel_epoch = 0;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_CANCELLED);
    ck_assert_uint_eq(r->n, 5);
    ck_assert_uint_eq(ae_model_history_length(m), 2);

    /* Training can go on afterwards. */
    o.progress = NULL;
    o.epochs = 1;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_uint_eq(ae_model_history_length(m), 3);
    free(r);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

START_TEST(learning_rate_set_from_the_callback_takes_effect)
{
    /* A: 2 epochs, the callback lowers the rate after epoch 0.
     * B: 1 epoch, set the rate, 1 more epoch with the same optimizer.
     * C: 2 epochs at the first rate. A == B bit for bit, A != C. */
    ae_model *a = make_model(7), *b = make_model(7), *c = make_model(7);
    ae_dataset *ds = make_data(64, 7);
    ae_optimizer *oa = make_opt(AE_OPT_SGD, 0.5f), *ob = make_opt(AE_OPT_SGD, 0.5f);
    ae_optimizer *oc = make_opt(AE_OPT_SGD, 0.5f);
    ae_train_options o = topts(2, 16, 7);
    recorder *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    recorder_init(r);
    r->opt = oa;
    r->lr_epoch = 0;
    r->lr = 0.0625f;
    o.progress = record;
    o.progress_user = r;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &o), AE_OK);
    ck_assert(ae_optimizer_learning_rate(oa) == 0.0625f);

    o.progress = NULL;
    o.epochs = 1;
    ck_assert_int_eq(ae_model_train(b, ob, ds, &o), AE_OK);
    ck_assert_int_eq(ae_optimizer_set_learning_rate(ob, 0.0625f), AE_OK);
    ck_assert_int_eq(ae_model_train(b, ob, ds, &o), AE_OK);

    o.epochs = 2;
    ck_assert_int_eq(ae_model_train(c, oc, ds, &o), AE_OK);
    ck_assert(ae_optimizer_learning_rate(oc) == 0.5f);

    ck_assert(same_params(a, b));
    ck_assert(!same_params(a, c));
    free(r);
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ob);
    ae_optimizer_destroy(oc);
    ae_dataset_destroy(ds);
    ae_model_destroy(a);
    ae_model_destroy(b);
    ae_model_destroy(c);
}
END_TEST

START_TEST(validation_loss_is_evaluate_on_the_validation_set)
{
    for (int loss = AE_LOSS_MSE; loss <= AE_LOSS_BCE; loss++) {
        ae_model *m = make_model(8);
        ae_dataset *ds = make_data(64, 8), *val = make_data(300, 80); /* > 256: chunked */
        ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
        ae_train_options o = topts(2, 16, 8);
        recorder *r = malloc(sizeof *r);
        double t, v, ev;
        ck_assert_ptr_nonnull(r);
        recorder_init(r);
        r->model = m;
        r->val = val;
        r->loss = loss;
        o.loss = loss;
        o.validation = val;
        o.progress = record;
        o.progress_user = r;
        ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
        ck_assert_int_eq(r->val_mismatch, 0);
        ck_assert_int_eq(ae_model_history_get(m, 1, &t, &v), AE_OK);
        ck_assert_int_eq(ae_model_evaluate(m, val, loss, &ev), AE_OK);
        ck_assert_msg(v == ev, "%s: history %.17g, evaluate %.17g", ae_loss_name(loss), v, ev);
        free(r);
        ae_optimizer_destroy(opt);
        ae_dataset_destroy(ds);
        ae_dataset_destroy(val);
        ae_model_destroy(m);
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

START_TEST(train_rejects_bad_arguments)
{
    ae_model *m = make_model(9);
    ae_dataset *ds = make_data(32, 9);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(1, 8, 9);
    ck_assert_int_eq(ae_model_train(NULL, opt, ds, &o), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_train(m, NULL, ds, &o), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_train(m, opt, NULL, &o), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_train(m, opt, ds, NULL), AE_ERR_INVALID);
    o.batch_size = 0;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "batch"));
    o.batch_size = 8;
    o.loss = AE_LOSS_CUSTOM + 1;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "loss"));
    o.loss = AE_LOSS_CUSTOM; /* without a loss_fn */
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "loss_fn"));
    o.loss = -1;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    o.loss = AE_LOSS_MSE;
    o.shuffle = 2;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    o.shuffle = 1;
    o.struct_size = 8;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    o.struct_size = sizeof o;
    /* Nothing was trained by the failed calls. */
    ck_assert_uint_eq(ae_model_history_length(m), 0);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 0);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    /* A batch larger than the dataset is one batch. */
    o.batch_size = 1000;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 4 + 1);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

START_TEST(train_rejects_bad_noise_settings)
{
    ae_model *m = make_model(9);
    ae_dataset *ds = make_data(32, 9);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(1, 8, 9);
    const struct {
        int noise;
        float amount;
    } bad[] = {{4, 0.1f}, {-1, 0.1f}, {AE_NOISE_GAUSSIAN, -0.1f}, {AE_NOISE_GAUSSIAN, NAN},
               {AE_NOISE_GAUSSIAN, INFINITY}, {AE_NOISE_MASKING, 1.5f},
               {AE_NOISE_SALT_PEPPER, 2.0f}, {AE_NOISE_MASKING, -0.5f}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.noise = bad[i].noise;
        o.noise_amount = bad[i].amount;
        ck_assert_msg(ae_model_train(m, opt, ds, &o) == AE_ERR_INVALID, "case %zu", i);
    }
    ck_assert_uint_eq(ae_model_history_length(m), 0);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 0);
    o.noise = AE_NOISE_MASKING;
    o.noise_amount = 0.25f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);

    float x[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    ck_assert_int_eq(ae_noise_apply(NULL, 4, AE_NOISE_GAUSSIAN, 0.1f, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply(x, 0, AE_NOISE_GAUSSIAN, 0.1f, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply(x, 4, 7, 0.1f, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply(x, 4, AE_NOISE_GAUSSIAN, -1.0f, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply(x, 4, AE_NOISE_MASKING, 1.5f, 1), AE_ERR_INVALID);
    for (int i = 0; i < 4; i++)
        ck_assert(x[i] == 0.5f); /* untouched by the failures */
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

START_TEST(options_of_the_first_layout_train_without_noise)
{
    /* A caller built before the noise fields existed: its struct ends at
     * progress_user, and whatever follows is not read. */
    ae_train_options old;
    ae_model *a = make_model(24), *b = make_model(24);
    ae_dataset *ds = make_data(64, 24);
    ae_optimizer *oa = make_opt(AE_OPT_ADAM, 0.01f), *ob = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(2, 16, 24);
    old = o;
    old.struct_size = (uint32_t)offsetof(ae_train_options, noise);
    old.noise = AE_NOISE_SALT_PEPPER; /* past its struct_size: ignored */
    old.noise_amount = 0.5f;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &old), AE_OK);
    ck_assert_int_eq(ae_model_train(b, ob, ds, &o), AE_OK);
    ck_assert(same_params(a, b));
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ob);
    ae_dataset_destroy(ds);
    ae_model_destroy(a);
    ae_model_destroy(b);
}
END_TEST

START_TEST(train_rejects_data_of_another_shape)
{
    const ae_shape fifteen = {1, {15, 0, 0, 0}};
    float x[4 * 15] = {0};
    ae_model *m = make_model(10);
    ae_dataset *ds = make_data(32, 10), *bad;
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(1, 8, 10);
    ck_assert_int_eq(ae_dataset_from_memory(&bad, x, NULL, 4, &fifteen, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, bad, &o), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "15"));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "16"));
    o.validation = bad;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "15"));
    ck_assert_uint_eq(ae_model_history_length(m), 0);
    ae_dataset_destroy(bad);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);

    /* A model whose output is not its input size cannot train on <X, X>. */
    ae_encoder *enc;
    ae_decoder *dec;
    ck_assert_int_eq(ae_encoder_create(&enc, &in_shape, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, LAT, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat_shape, 1), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 12, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    opt = make_opt(AE_OPT_ADAM, 0.01f);
    o.validation = NULL;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "12"));
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

/* A pooling allocator that hands a freed block back to the next request
 * of the same size (first freed, first reused), as user pools do. */
typedef struct pool {
    void *ptr[256];
    size_t size[256];
    size_t n;
} pool;

static void *pool_alloc(void *user, size_t size)
{
    pool *p = user;
    for (size_t i = 0; i < p->n; i++)
        if (p->size[i] == size) {
            void *b = p->ptr[i];
            memmove(p->ptr + i, p->ptr + i + 1, (p->n - i - 1) * sizeof p->ptr[0]);
            memmove(p->size + i, p->size + i + 1, (p->n - i - 1) * sizeof p->size[0]);
            p->n--;
            return b;
        }
    return aligned_alloc(64, (size + 63) / 64 * 64);
}

static void pool_free(void *user, void *ptr, size_t size)
{
    pool *p = user;
    if (ptr == NULL)
        return;
    if (p->n < 256) {
        p->ptr[p->n] = ptr;
        p->size[p->n++] = size;
    } else {
        free(ptr);
    }
}

/* A new model that gets the very addresses of a destroyed one (same
 * architecture, recycled blocks) is still another model. */
START_TEST(an_optimizer_refuses_a_new_model_at_recycled_addresses)
{
    static pool p;
    ae_allocator a = AE_ALLOCATOR_INIT;
    a.user = &p;
    a.alloc = pool_alloc;
    a.free = pool_free;
    ck_assert_int_eq(ae_set_allocator(&a), AE_OK);
    ae_dataset *ds = make_data(32, 11);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(1, 8, 11);
    ae_model *m = make_model(11);
    const void *first = ae_model_encoder(m);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ae_model_destroy(m);
    m = make_model(11);
    ck_assert_ptr_eq(ae_model_encoder(m), first); /* the pool did recycle */
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_STATE);
    ae_optimizer_reset(opt);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ae_model_destroy(m);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ck_assert_int_eq(ae_set_allocator(NULL), AE_OK);
    for (size_t i = 0; i < p.n; i++)
        free(p.ptr[i]);
    p.n = 0;
}
END_TEST

START_TEST(an_optimizer_bound_to_another_model_is_refused)
{
    ae_model *a = make_model(11), *b = make_model(12);
    ae_dataset *ds = make_data(32, 11);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(1, 8, 11);
    ck_assert_int_eq(ae_model_train(a, opt, ds, &o), AE_OK);
    ck_assert_int_eq(ae_model_train(b, opt, ds, &o), AE_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_optimizer_reset"));
    ck_assert_uint_eq(ae_model_history_length(b), 0);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 4);
    ae_optimizer_reset(opt);
    ck_assert_int_eq(ae_model_train(b, opt, ds, &o), AE_OK);
    ck_assert_uint_eq(ae_model_history_length(b), 1);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(a);
    ae_model_destroy(b);
}
END_TEST

START_TEST(a_huge_learning_rate_is_a_numeric_error)
{
    /* Identity layers: after the first SGD step at lr 1e30 the weights are
     * ~1e29, so the second batch's outputs overflow to infinity. */
    ae_model *m = make_model_act(13, AE_ACT_IDENTITY, AE_ACT_IDENTITY);
    ae_dataset *ds = make_data(64, 13);
    ae_optimizer *opt = make_opt(AE_OPT_SGD, 1e30f);
    ae_train_options o = topts(3, 16, 13);
    recorder *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    recorder_init(r);
    o.progress = record;
    o.progress_user = r;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_NUMERIC);
    ck_assert_uint_eq(r->n, 1); /* batch 0 went through */
    ck_assert_msg(strstr(ae_last_error(), "epoch 1, batch 2") != NULL, "%s", ae_last_error());
    ck_assert_uint_eq(ae_model_history_length(m), 0);
    /* Back at the start of the failed epoch: the initial weights. */
    ae_model *fresh = make_model_act(13, AE_ACT_IDENTITY, AE_ACT_IDENTITY);
    ck_assert(same_params(m, fresh));
    ck_assert_uint_eq(ae_optimizer_steps(opt), 0);
    ae_model_destroy(fresh);
    free(r);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

START_TEST(a_huge_input_value_is_a_numeric_error)
{
    /* One value of 1e30 in the data, a linear output (a sigmoid would
     * saturate and stop its gradient): the weight gradients overflow, the
     * step leaves non-finite weights, found at the end of the only batch. */
    float x[8 * IN];
    ae_dataset *ds;
    ae_model *m = make_model_act(14, AE_ACT_RELU, AE_ACT_IDENTITY);
    ae_optimizer *opt = make_opt(AE_OPT_SGD, 0.1f);
    ae_train_options o = topts(1, 8, 14);
    test_subspace_data(x, 8, IN, 4, 14);
    x[3 * IN + 5] = 1e30f;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, 8, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "during epoch 1") != NULL &&
                      strstr(ae_last_error(), "batch 1 was the last") != NULL,
                  "%s", ae_last_error());
    ck_assert_uint_eq(ae_model_history_length(m), 0);
    ae_model *fresh = make_model_act(14, AE_ACT_RELU, AE_ACT_IDENTITY);
    ck_assert(same_params(m, fresh));
    ae_model_destroy(fresh);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST


START_TEST(the_data_scans_answer_each_view_of_a_dataset)
{
    /* A copied dataset is scanned once and the answer kept; every view of
     * it still names its own first bad value in its own order, and a view
     * without one trains. Borrowed memory is scanned at every call. */
    float x[8 * IN];
    const size_t pick[3] = {5, 7, 0}, clean[3] = {1, 2, 3};
    ae_dataset *ds, *sel, *sub, *borrowed;
    ae_model *m = make_model(16);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(1, 4, 16);
    test_subspace_data(x, 8, IN, 4, 16);
    x[7 * IN + 3] = INFINITY;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, 8, &in_shape, AE_DATASET_COPY), AE_OK);
    for (int round = 0; round < 2; round++) { /* the second answer comes from the store */
        ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_NUMERIC);
        ck_assert_msg(strstr(ae_last_error(), "an infinity at sample 7, feature 3"), "%s",
                      ae_last_error());
    }
    ck_assert_int_eq(ae_dataset_select(&sel, ds, pick, 3), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, sel, &o), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "an infinity at sample 1, feature 3"), "%s",
                  ae_last_error());
    ae_dataset_destroy(sel);
    ck_assert_int_eq(ae_dataset_select(&sel, ds, clean, 3), AE_OK);
    ck_assert_int_eq(ae_dataset_subset(&sub, ds, 0, 7), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, sel, &o), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, sub, &o), AE_OK);
    x[7 * IN + 3] = 0.5f;
    ck_assert_int_eq(ae_dataset_from_memory(&borrowed, x, NULL, 8, &in_shape, AE_DATASET_BORROW),
                     AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, borrowed, &o), AE_OK);
    x[4 * IN + 9] = NAN; /* against the borrow contract, and still caught */
    ck_assert_int_eq(ae_model_train(m, opt, borrowed, &o), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "NaN at sample 4, feature 9"), "%s", ae_last_error());
    ae_dataset_destroy(borrowed);
    /* The targets-in-[0, 1] scan of binary cross-entropy is kept the same
     * way: the store answers, and each view names its own first value. */
    ae_dataset *unit, *sel2;
    for (size_t k = 0; k < 8 * IN; k++)
        x[k] = x[k] < 0.0f ? 0.0f : x[k] > 1.0f ? 1.0f : x[k];
    x[4 * IN + 9] = 0.5f;
    x[5 * IN + 2] = 1.5f;
    ck_assert_int_eq(ae_dataset_from_memory(&unit, x, NULL, 8, &in_shape, AE_DATASET_COPY), AE_OK);
    o.loss = AE_LOSS_BCE;
    for (int round = 0; round < 2; round++) {
        ck_assert_int_eq(ae_model_train(m, opt, unit, &o), AE_ERR_INVALID);
        ck_assert_msg(strstr(ae_last_error(), "hold 1.5 at sample 5, feature 2"), "%s",
                      ae_last_error());
    }
    ck_assert_int_eq(ae_dataset_select(&sel2, unit, pick, 3), AE_OK); /* 5, 7, 0 */
    ck_assert_int_eq(ae_model_train(m, opt, sel2, &o), AE_ERR_INVALID);
    ck_assert_msg(strstr(ae_last_error(), "hold 1.5 at sample 0, feature 2"), "%s",
                  ae_last_error());
    ae_dataset_destroy(sel2);
    ck_assert_int_eq(ae_dataset_select(&sel2, unit, clean, 3), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, sel2, &o), AE_OK);
    ae_dataset_destroy(sel2);
    ae_dataset_destroy(unit);
    ae_dataset_destroy(sub);
    ae_dataset_destroy(sel);
    ae_dataset_destroy(ds);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
}
END_TEST

START_TEST(nan_or_inf_in_the_data_is_named_before_the_first_step)
{
    /* Without the scan the first batch's loss is NaN and the message
     * blames the learning rate. */
    float x[8 * IN];
    ae_dataset *ds, *val, *good;
    ae_model *m = make_model(15), *fresh = make_model(15);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(1, 4, 15);
    recorder *r = malloc(sizeof *r);
    ck_assert_ptr_nonnull(r);
    recorder_init(r);
    o.progress = record;
    o.progress_user = r;
    test_subspace_data(x, 8, IN, 4, 15);
    ck_assert_int_eq(ae_dataset_from_memory(&good, x, NULL, 8, &in_shape, AE_DATASET_COPY), AE_OK);
    x[6 * IN + 11] = NAN;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, 8, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "training data hold NaN at sample 6, feature 11"),
                  "%s", ae_last_error());
    x[6 * IN + 11] = 0.5f;
    x[2 * IN + 0] = -INFINITY;
    ck_assert_int_eq(ae_dataset_from_memory(&val, x, NULL, 8, &in_shape, AE_DATASET_COPY), AE_OK);
    o.validation = val;
    ck_assert_int_eq(ae_model_train(m, opt, good, &o), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "validation data hold an infinity at sample 2, feature 0"),
                  "%s", ae_last_error());
    /* Nothing ran: no progress event, no step, no history, same weights. */
    ck_assert_uint_eq(r->n, 0);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 0);
    ck_assert_uint_eq(ae_model_history_length(m), 0);
    ck_assert(same_params(m, fresh));
    free(r);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_dataset_destroy(val);
    ae_dataset_destroy(good);
    ae_model_destroy(m);
    ae_model_destroy(fresh);
}
END_TEST

START_TEST(a_finite_outlier_that_explodes_the_loss_is_divergence)
{
    /* One value of 1e30 with a sigmoid output: the loss stays finite
     * (the output saturates) but that batch's loss is ~1e57 against ~0.1
     * for the others. Unshuffled, batch 2 holds sample 9. */
    float x[32 * IN];
    ae_dataset *ds;
    ae_model *m = make_model(16), *fresh = make_model(16);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(2, 4, 16);
    o.shuffle = 0;
    test_subspace_data(x, 32, IN, 4, 16);
    x[9 * IN + 2] = 1e30f;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, 32, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "diverged in epoch 1, batch 3"), "%s", ae_last_error());
    ck_assert_uint_eq(ae_model_history_length(m), 0);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 0);
    ck_assert(same_params(m, fresh));
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    ae_model_destroy(fresh);
}
END_TEST

/* A custom loss that reports the batch losses of a script, one per call,
 * with a zero gradient (the weights do not move). */
typedef struct scripted_loss {
    const double *losses;
    size_t n, calls;
} scripted_loss;

static int scripted(const float *target, const float *pred, size_t count, size_t size,
                    double *loss, float *grad, void *user)
{
    scripted_loss *sl = user;
    (void)target;
    (void)pred;
    memset(grad, 0, count * size * sizeof *grad);
    *loss = sl->losses[sl->calls < sl->n ? sl->calls : sl->n - 1];
    sl->calls++;
    return AE_OK;
}

START_TEST(a_loss_under_the_starting_loss_is_not_divergence)
{
    /* Batch losses 2.3, 1e-9, 0.5, 0.5: the third is 5e8 times the lowest
     * but still under the start (a head that fitted one batch, then meets a
     * harder one): training goes on. With a fourth batch at 3.0, above the
     * start and 3e9 times the lowest, it is divergence. */
    static const double calm[] = {2.3, 1e-9, 0.5, 0.5};
    static const double blown[] = {2.3, 1e-9, 0.5, 3.0};
    ae_model *m = make_model(18);
    ae_dataset *ds = make_data(16, 18);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(1, 4, 18);
    scripted_loss sl = {calm, 4, 0};
    o.shuffle = 0;
    o.loss = AE_LOSS_CUSTOM;
    o.loss_fn = scripted;
    o.loss_user = &sl;
    ck_assert_msg(ae_model_train(m, opt, ds, &o) == AE_OK, "%s", ae_last_error());
    ck_assert_uint_eq(sl.calls, 4);
    ck_assert_uint_eq(ae_model_history_length(m), 1);
    sl = (scripted_loss){blown, 4, 0};
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "diverged in epoch 1, batch 4"), "%s", ae_last_error());
    ck_assert_uint_eq(ae_model_history_length(m), 1);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

START_TEST(a_loss_grown_a_hundredfold_is_divergence_and_the_last_epoch_is_kept)
{
    /* Trained to a low loss, then a learning rate of 1e6: the sigmoid
     * saturates, the loss stays finite but grows by orders of magnitude.
     * The model and the optimizer go back to the end of the last good
     * epoch (here: where the second call started). */
    ae_model *m = make_model(17);
    ae_dataset *ds = make_data(128, 17);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(40, 16, 17);
    double before;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ck_assert_int_eq(ae_model_history_get(m, 39, &before, NULL), AE_OK);
    size_t n;
    float *good = params_copy(m, &n);
    uint64_t steps = ae_optimizer_steps(opt);
    ck_assert_int_eq(ae_optimizer_set_learning_rate(opt, 1e6f), AE_OK);
    o.epochs = 3;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "diverged in epoch 1:"), "%s (loss before %g)",
                  ae_last_error(), before);
    ck_assert_uint_eq(ae_model_history_length(m), 40);
    ck_assert_uint_eq(ae_optimizer_steps(opt), steps);
    size_t n2;
    float *now = params_copy(m, &n2);
    ck_assert(n == n2 && memcmp(good, now, n * sizeof *now) == 0);
    /* Training goes on from there at a sane rate. */
    ck_assert_int_eq(ae_optimizer_set_learning_rate(opt, 0.001f), AE_OK);
    o.epochs = 1;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    free(good);
    free(now);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Determinism                                                              */
/* ------------------------------------------------------------------------ */

static ae_model *trained(uint64_t init_seed, uint64_t shuffle_seed, uint32_t epochs)
{
    ae_model *m = make_model(init_seed);
    ae_dataset *ds = make_data(100, 15);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(epochs, 16, shuffle_seed);
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    return m;
}

START_TEST(same_seeds_give_bit_identical_weights)
{
    ae_model *a = trained(20, 5, 3), *b = trained(20, 5, 3);
    ae_model *c = trained(20, 6, 3), *d = trained(21, 5, 3);
    ck_assert(same_params(a, b));
    ck_assert(!same_params(a, c)); /* other shuffling */
    ck_assert(!same_params(a, d)); /* other initial weights */
    for (size_t e = 0; e < 3; e++) {
        double ta, tb;
        ck_assert_int_eq(ae_model_history_get(a, e, &ta, NULL), AE_OK);
        ck_assert_int_eq(ae_model_history_get(b, e, &tb, NULL), AE_OK);
        ck_assert(ta == tb);
    }
    ae_model_destroy(a);
    ae_model_destroy(b);
    ae_model_destroy(c);
    ae_model_destroy(d);
}
END_TEST

START_TEST(split_runs_equal_one_run_bit_for_bit)
{
    /* 2 epochs then 3 more (same optimizer) == 5 epochs in one call;
     * _i: without noise, then with each denoising corruption. */
    ae_model *a = make_model(22), *b = make_model(22);
    ae_dataset *ds = make_data(100, 16);
    ae_optimizer *oa = make_opt(AE_OPT_ADAM, 0.01f), *ob = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(2, 16, 9);
    o.noise = _i;
    o.noise_amount = _i == AE_NOISE_NONE ? 0.0f : 0.2f;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &o), AE_OK);
    o.epochs = 3;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &o), AE_OK);
    o.epochs = 5;
    ck_assert_int_eq(ae_model_train(b, ob, ds, &o), AE_OK);
    ck_assert(same_params(a, b));
    ck_assert_uint_eq(ae_optimizer_steps(oa), ae_optimizer_steps(ob));
    ck_assert_uint_eq(ae_model_history_length(a), 5);
    for (size_t e = 0; e < 5; e++) {
        double ta, tb;
        ck_assert_int_eq(ae_model_history_get(a, e, &ta, NULL), AE_OK);
        ck_assert_int_eq(ae_model_history_get(b, e, &tb, NULL), AE_OK);
        ck_assert(ta == tb);
    }
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ob);
    ae_dataset_destroy(ds);
    ae_model_destroy(a);
    ae_model_destroy(b);
}
END_TEST

START_TEST(without_shuffling_the_seed_does_not_matter)
{
    ae_model *a = make_model(23), *b = make_model(23);
    ae_dataset *ds = make_data(64, 17);
    ae_optimizer *oa = make_opt(AE_OPT_SGD, 0.1f), *ob = make_opt(AE_OPT_SGD, 0.1f);
    ae_train_options o = topts(2, 16, 1);
    o.shuffle = 0;
    ck_assert_int_eq(ae_model_train(a, oa, ds, &o), AE_OK);
    o.seed = 2;
    ck_assert_int_eq(ae_model_train(b, ob, ds, &o), AE_OK);
    ck_assert(same_params(a, b));
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ob);
    ae_dataset_destroy(ds);
    ae_model_destroy(a);
    ae_model_destroy(b);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Allocations                                                              */
/* ------------------------------------------------------------------------ */

/*
 * The whole life of a model. Each call is checked: it either succeeds
 * without having reached the failing allocation, or fails with
 * AE_ERR_NOMEM and was the call that reached it. Returns 1 when the run
 * went through, 0 when it stopped at the failure.
 */
#define STEP(call)                                                                  \
    do {                                                                            \
        size_t before_ = fa->calls;                                                 \
        int rc_ = (call);                                                           \
        if (rc_ != AE_OK) {                                                         \
            ck_assert_msg(rc_ == AE_ERR_NOMEM, "%s gave %d (%s) at allocation %zu", \
                          #call, rc_, ae_last_error(), fa->fail_at);                \
            ck_assert_msg(before_ < fa->fail_at && fa->fail_at <= fa->calls,        \
                          "%s failed without reaching allocation %zu", #call,       \
                          fa->fail_at);                                             \
            goto out;                                                               \
        }                                                                           \
        ck_assert_msg(fa->fail_at == 0 || fa->calls < fa->fail_at,                  \
                      "%s succeeded past failing allocation %zu", #call,            \
                      fa->fail_at);                                                 \
    } while (0)

static int scenario(failing_allocator *fa, const float *x, const float *xv)
{
    ae_dataset *ds = NULL, *val = NULL;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *m = NULL;
    ae_optimizer *opt = NULL;
    ae_train_options o = topts(1, 16, 1);
    float xr[4 * IN];
    int ok = 0;
    STEP(ae_dataset_from_memory(&ds, x, NULL, 64, &in_shape, AE_DATASET_COPY));
    STEP(ae_dataset_from_memory(&val, xv, NULL, 16, &in_shape, AE_DATASET_COPY));
    STEP(ae_encoder_create(&enc, &in_shape, 1));
    STEP(ae_encoder_add_dense(enc, LAT, AE_ACT_RELU));
    STEP(ae_encoder_add_activation(enc, AE_ACT_TANH));
    STEP(ae_decoder_create(&dec, &lat_shape, 2));
    STEP(ae_decoder_add_dense(dec, IN, AE_ACT_SIGMOID));
    STEP(ae_model_create(&m, enc, dec));
    enc = NULL;
    dec = NULL;
    STEP(ae_optimizer_create(&opt, NULL));
    o.validation = val;
    o.noise = AE_NOISE_GAUSSIAN;
    o.noise_amount = 0.1f;
    STEP(ae_model_train(m, opt, ds, &o));
    ck_assert_uint_eq(ae_model_history_length(m), 1);
    STEP(ae_model_reconstruct(m, x, 4, xr));
    ok = 1;
out:
    ae_model_destroy(m);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_dataset_destroy(val);
    return ok;
}

START_TEST(every_allocation_failure_is_reported_and_cleaned_up)
{
    float x[64 * IN], xv[16 * IN];
    failing_allocator fa;
    size_t k;
    test_subspace_data(x, 64, IN, 4, 18);
    test_subspace_data(xv, 16, IN, 4, 19);
    for (k = 1; k < 1000; k++) {
        failing_allocator_install(&fa, k);
        int ok = scenario(&fa, x, xv);
        ck_assert_msg(ae_live_allocations() == 0, "failing allocation %zu: %zu blocks leak", k,
                      ae_live_allocations());
        ck_assert_msg(fa.live == 0, "failing allocation %zu: %zu blocks leak", k, fa.live);
        failing_allocator_remove();
        if (ok) {
            /* The run that went through never reached allocation k. */
            ck_assert_uint_lt(fa.calls, k);
            break;
        }
    }
    ck_assert_uint_lt(k, 1000);
    ck_assert_msg(k > 10, "only %zu runs", k);
}
END_TEST

/* Allocator calls made by one ae_model_train() call. */
static size_t train_allocations(uint32_t epochs, uint32_t batch, int noise)
{
    failing_allocator fa;
    failing_allocator_install(&fa, 0);
    ae_model *m = make_model(30);
    ae_dataset *ds = make_data(256, 30);
    ae_optimizer *opt = make_opt(AE_OPT_ADAM, 0.01f);
    ae_train_options o = topts(epochs, batch, 30);
    o.noise = noise;
    o.noise_amount = noise == AE_NOISE_NONE ? 0.0f : 0.3f;
    size_t before = fa.calls;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    size_t used = fa.calls - before;
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ae_model_destroy(m);
    ck_assert_uint_eq(fa.live, 0);
    failing_allocator_remove();
    return used;
}

START_TEST(training_steps_allocate_nothing)
{
    for (int noise = AE_NOISE_NONE; noise <= AE_NOISE_SALT_PEPPER; noise++) {
        size_t one = train_allocations(1, 256, noise);  /* 1 batch */
        size_t many = train_allocations(1, 8, noise);   /* 32 batches */
        size_t longer = train_allocations(3, 8, noise); /* 96 batches, 3 epochs */
        ck_assert_uint_gt(one, 0);
        ck_assert_msg(many == one && longer == one, "noise %d: %zu, %zu and %zu allocations",
                      noise, one, many, longer);
    }
}
END_TEST

Suite *ae_train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("learning");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, training_reduces_the_loss);
    tcase_add_test(tc, training_with_bce_and_sgd_reduces_the_loss);
    tcase_add_test(tc, history_grows_across_calls);
    suite_add_tcase(s, tc);

    tc = tcase_create("progress");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, progress_reports_every_batch_and_epoch);
    tcase_add_test(tc, batch_losses_are_running_means_of_the_epoch);
    tcase_add_test(tc, a_nonzero_callback_return_cancels);
    tcase_add_test(tc, learning_rate_set_from_the_callback_takes_effect);
    tcase_add_test(tc, validation_loss_is_evaluate_on_the_validation_set);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, train_rejects_bad_arguments);
    tcase_add_test(tc, train_rejects_bad_noise_settings);
    tcase_add_test(tc, options_of_the_first_layout_train_without_noise);
    tcase_add_test(tc, train_rejects_data_of_another_shape);
    tcase_add_test(tc, an_optimizer_bound_to_another_model_is_refused);
    tcase_add_test(tc, an_optimizer_refuses_a_new_model_at_recycled_addresses);
    tcase_add_test(tc, a_huge_learning_rate_is_a_numeric_error);
    tcase_add_test(tc, a_huge_input_value_is_a_numeric_error);
    tcase_add_test(tc, nan_or_inf_in_the_data_is_named_before_the_first_step);
    tcase_add_test(tc, the_data_scans_answer_each_view_of_a_dataset);
    tcase_add_test(tc, a_finite_outlier_that_explodes_the_loss_is_divergence);
    tcase_add_test(tc, a_loss_grown_a_hundredfold_is_divergence_and_the_last_epoch_is_kept);
    tcase_add_test(tc, a_loss_under_the_starting_loss_is_not_divergence);
    suite_add_tcase(s, tc);

    tc = tcase_create("determinism");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, same_seeds_give_bit_identical_weights);
    tcase_add_loop_test(tc, split_runs_equal_one_run_bit_for_bit, AE_NOISE_NONE,
                        AE_NOISE_SALT_PEPPER + 1);
    tcase_add_test(tc, without_shuffling_the_seed_does_not_matter);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocations");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_allocation_failure_is_reported_and_cleaned_up);
    tcase_add_test(tc, training_steps_allocate_nothing);
    suite_add_tcase(s, tc);
    return s;
}
