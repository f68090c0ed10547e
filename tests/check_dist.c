/* SPDX-License-Identifier: MIT */
/* check_dist.c - data-parallel training (ae/dist.h) over an in-process fake
 * collective: ranks are threads, each with its own model. The shard
 * (disjoint, covering, balanced, the same on every rank, reshuffled per
 * epoch); N ranks with global batch B against one process with batch B
 * (within rounding with the all-reduce, bit for bit in deterministic mode
 * against the one-process loop that sums the ranks' scaled gradients in
 * rank order); rank 0's weights broadcast; batch-norm statistics per rank
 * or synchronised; faults (a failing collective, a NaN on one rank, models
 * of different histories) stop every rank with an error; every error path.
 * The Open MPI run is a separate gate (examples/mpi, `make check-mpi`). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

#define IN 16
#define LAT 8
#define MAXR 4

/* ---- the fake collective ---------------------------------------------------- */

typedef struct fake_world {
    int size;
    pthread_barrier_t bar;
    float *slot[MAXR];
    float *scratch;
    int fail_at;  /* the call (counted per rank from 1) that fails on every rank, 0: none */
    int calls[MAXR];
} fake_world;

typedef struct fake_rank {
    fake_world *w;
    int rank;
} fake_rank;

static int failing(fake_rank *r)
{
    return r->w->fail_at != 0 && ++r->w->calls[r->rank] == r->w->fail_at;
}

/* Sums in reverse rank order (not the deterministic mode's order). */
static int fake_allreduce(float *buf, size_t n, void *user)
{
    fake_rank *r = user;
    fake_world *w = r->w;
    if (failing(r))
        return 7;
    w->slot[r->rank] = buf;
    pthread_barrier_wait(&w->bar);
    if (r->rank == 0) {
        w->scratch = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            float s = w->slot[w->size - 1][i];
            for (int k = w->size - 1; k-- > 0;)
                s += w->slot[k][i];
            w->scratch[i] = s;
        }
    }
    pthread_barrier_wait(&w->bar);
    memcpy(buf, w->scratch, n * sizeof(float));
    pthread_barrier_wait(&w->bar);
    if (r->rank == 0)
        free(w->scratch);
    return 0;
}

static int fake_broadcast(float *buf, size_t n, int root, void *user)
{
    fake_rank *r = user;
    if (failing(r))
        return 7;
    if (r->rank == root)
        r->w->slot[root] = buf;
    pthread_barrier_wait(&r->w->bar);
    if (r->rank != root)
        memcpy(buf, r->w->slot[root], n * sizeof(float));
    pthread_barrier_wait(&r->w->bar);
    return 0;
}

static int fake_gather(const float *send, float *recv, size_t n, int root, void *user)
{
    fake_rank *r = user;
    if (failing(r))
        return 7;
    r->w->slot[r->rank] = (float *)(uintptr_t)send;
    pthread_barrier_wait(&r->w->bar);
    if (r->rank == root)
        for (int k = 0; k < r->w->size; k++)
            memcpy(recv + (size_t)k * n, r->w->slot[k], n * sizeof(float));
    pthread_barrier_wait(&r->w->bar);
    return 0;
}

static ae_collective fake_coll(fake_rank *r)
{
    ae_collective c = AE_COLLECTIVE_INIT;
    c.rank = r->rank;
    c.size = r->w->size;
    c.allreduce_sum = fake_allreduce;
    c.broadcast = fake_broadcast;
    c.gather = fake_gather;
    c.user = r;
    return c;
}

/* ---- models and data ------------------------------------------------------- */

static const ae_shape in_shape = {1, {IN, 0, 0, 0}};
static const ae_shape lat_shape = {1, {LAT, 0, 0, 0}};

static ae_model *make_model(uint64_t seed, int batchnorm)
{
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ck_assert_int_eq(ae_encoder_create(&enc, &in_shape, seed), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, LAT, AE_ACT_IDENTITY), AE_OK);
    if (batchnorm)
        ck_assert_int_eq(ae_encoder_add_batchnorm(enc), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat_shape, seed + 1), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, IN, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

static ae_optimizer *make_adam(void)
{
    ae_optimizer_options o = AE_OPTIMIZER_OPTIONS_INIT;
    ae_optimizer *opt;
    ck_assert_int_eq(ae_optimizer_options_default(&o, AE_OPT_ADAM), AE_OK);
    o.learning_rate = 0.01f;
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
    return opt;
}

#define COUNT 100
#define NVAL 30
#define BATCH 12
#define EPOCHS 3

static float data_x[COUNT * IN], val_x[NVAL * IN];

static void make_data(void)
{
    uint64_t st = 42;
    for (size_t i = 0; i < COUNT * IN; i++)
        data_x[i] = test_rand_uniform(&st);
    for (size_t i = 0; i < NVAL * IN; i++)
        val_x[i] = test_rand_uniform(&st);
}

static ae_dataset *ds_of(const float *x, size_t n)
{
    ae_dataset *ds;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, n, &in_shape, AE_DATASET_COPY), AE_OK);
    return ds;
}

/* ---- one rank's training (a thread) -------------------------------------------- */

typedef struct job {
    fake_rank r;
    int flags, batchnorm, nan_rank, history_extra;
    uint32_t epochs, accumulate;
    int rc;
    float *params;  /* after training */
    float out[IN];  /* the trained model's reconstruction of val_x[0] */
    double loss, val_loss;
} job;

static int nan_loss(const float *t, const float *p, size_t count, size_t size, double *loss,
                    float *grad, void *user)
{
    const job *j = user;
    double s = 0.0;
    for (size_t i = 0; i < count * size; i++) {
        grad[i] = 2.0f * (p[i] - t[i]) / (float)(count * size);
        s += (double)(p[i] - t[i]) * (double)(p[i] - t[i]);
    }
    *loss = j->r.rank == j->nan_rank && p[0] > -1.0f ? NAN : s / (double)(count * size);
    return AE_OK;
}

static int record(const ae_progress *p, void *user)
{
    job *j = user;
    if (p->event == AE_PROGRESS_EPOCH) {
        j->loss = p->loss;
        j->val_loss = p->val_loss;
    }
    return 0;
}

static void *run_rank(void *arg)
{
    job *j = arg;
    /* every rank starts from different weights: rank 0's are broadcast */
    ae_model *m = make_model(100 + (uint64_t)j->r.rank * 7, j->batchnorm);
    ae_optimizer *opt = make_adam();
    ae_dataset *ds = ds_of(data_x, COUNT), *val = ds_of(val_x, NVAL);
    ae_collective c = fake_coll(&j->r);
    ae_train_options o = AE_TRAIN_OPTIONS_INIT;
    o.epochs = j->epochs;
    o.batch_size = BATCH;
    o.seed = 5;
    o.validation = val;
    o.collective = &c;
    o.collective_flags = j->flags;
    o.accumulate = j->accumulate;
    o.progress = record;
    o.progress_user = j;
    if (j->nan_rank >= 0) {
        o.loss = AE_LOSS_CUSTOM;
        o.loss_fn = nan_loss;
        o.loss_user = j;
        o.validation = NULL;
    }
    if (j->history_extra && j->r.rank == 1) {
        ae_train_options o1 = AE_TRAIN_OPTIONS_INIT;
        o1.epochs = 1;
        ck_assert_int_eq(ae_model_train(m, opt, ds, &o1), AE_OK);
    }
    j->rc = ae_model_train(m, opt, ds, &o);
    size_t n = ae_model_param_count(m);
    j->params = malloc(n * sizeof(float));
    ck_assert_int_eq(ae_model_params_get(m, j->params, n), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(m, val_x, 1, j->out), AE_OK);
    ae_dataset_destroy(ds);
    ae_dataset_destroy(val);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    return NULL;
}

/* Trains on n threads; jobs[k] holds rank k's outcome. */
static uint32_t world_accumulate; /* ae_train_options.accumulate of run_world() */

static void run_world(job *jobs, int n, int flags, int fail_at, int batchnorm, int nan_rank,
                      int history_extra)
{
    static fake_world w;
    memset(&w, 0, sizeof w);
    w.size = n;
    w.fail_at = fail_at;
    pthread_barrier_init(&w.bar, NULL, (unsigned)n);
    pthread_t th[MAXR];
    for (int k = 0; k < n; k++) {
        memset(&jobs[k], 0, sizeof jobs[k]);
        jobs[k].r.w = &w;
        jobs[k].r.rank = k;
        jobs[k].flags = flags;
        jobs[k].batchnorm = batchnorm;
        jobs[k].nan_rank = nan_rank;
        jobs[k].history_extra = history_extra;
        jobs[k].epochs = EPOCHS;
        jobs[k].accumulate = world_accumulate;
        ck_assert_int_eq(pthread_create(&th[k], NULL, run_rank, &jobs[k]), 0);
    }
    for (int k = 0; k < n; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&w.bar);
}

static void free_jobs(job *jobs, int n)
{
    for (int k = 0; k < n; k++)
        free(jobs[k].params);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
    return d;
}

/* One process, ae_model_train() with batch BATCH from rank 0's weights. */
static float *one_process(size_t *n, double *val_loss, uint32_t accumulate)
{
    ae_model *m = make_model(100, 0);
    ae_optimizer *opt = make_adam();
    ae_dataset *ds = ds_of(data_x, COUNT), *val = ds_of(val_x, NVAL);
    ae_train_options o = AE_TRAIN_OPTIONS_INIT;
    job j;
    o.epochs = EPOCHS;
    o.batch_size = BATCH;
    o.seed = 5;
    o.validation = val;
    o.accumulate = accumulate;
    o.progress = record;
    o.progress_user = &j;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    *val_loss = j.val_loss;
    *n = ae_model_param_count(m);
    float *p = malloc(*n * sizeof(float));
    ck_assert_int_eq(ae_model_params_get(m, p, *n), AE_OK);
    ae_dataset_destroy(ds);
    ae_dataset_destroy(val);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    return p;
}

/* One process computing every global batch as `ranks` computes over the
 * ranks' rows, summing their gradients scaled by rows / batch rows in rank
 * order (what deterministic mode does across ranks). */
static float *one_process_split(int ranks, size_t *n)
{
    ae_model *m = make_model(100, 0);
    ae_optimizer *opt = make_adam();
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.batch_size = BATCH;
    ae_step *s;
    ck_assert_int_eq(ae_step_create(&s, m, opt, &so), AE_OK);
    const size_t nt = ae_model_trainable_count(m);
    float *acc = malloc(nt * sizeof(float)), *rows = malloc(BATCH * IN * sizeof(float));
    size_t order[COUNT];
    for (uint64_t e = 0; e < EPOCHS; e++) {
        ck_assert_int_eq(ae_train_order(order, COUNT, 5, e, 1), AE_OK);
        ck_assert_int_eq(ae_step_seed(s, 5, e), AE_OK);
        for (size_t first = 0; first < COUNT; first += BATCH) {
            size_t total = COUNT - first < BATCH ? COUNT - first : BATCH, last = 0;
            for (int r = 0; r < ranks; r++) {
                size_t b = 0;
                for (size_t i = first + (size_t)r; i < first + total; i += (size_t)ranks)
                    memcpy(rows + IN * b++, data_x + IN * order[i], IN * sizeof(float));
                const float w = (float)((double)b / (double)total);
                float *g = NULL;
                if (b > 0) {
                    ck_assert_int_eq(ae_step_compute(s, rows, NULL, b, NULL), AE_OK);
                    ck_assert_int_eq(ae_step_gradients(s, &g, NULL), AE_OK);
                    last = (size_t)r;
                }
                for (size_t i = 0; i < nt; i++) {
                    float v = b > 0 ? g[i] * w : 0.0f * w;
                    acc[i] = r == 0 ? v : acc[i] + v;
                }
                if (b > 0 && r + 1 < ranks)
                    ck_assert_int_eq(ae_step_discard(s), AE_OK);
            }
            /* the last nonempty rank's compute is pending (or compute it again) */
            float *g;
            if (ae_step_gradients(s, &g, NULL) != AE_OK) {
                size_t b = 0;
                for (size_t i = first + last; i < first + total; i += (size_t)ranks)
                    memcpy(rows + IN * b++, data_x + IN * order[i], IN * sizeof(float));
                ck_assert_int_eq(ae_step_compute(s, rows, NULL, b, NULL), AE_OK);
                ck_assert_int_eq(ae_step_gradients(s, &g, NULL), AE_OK);
            }
            memcpy(g, acc, nt * sizeof(float));
            ck_assert_int_eq(ae_step_apply(s), AE_OK);
        }
    }
    *n = ae_model_param_count(m);
    float *p = malloc(*n * sizeof(float));
    ck_assert_int_eq(ae_model_params_get(m, p, *n), AE_OK);
    free(acc);
    free(rows);
    ae_step_destroy(s);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    return p;
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(shard_properties)
{
    for (int world = 1; world <= 5; world++)
        for (size_t count = 1; count <= 23; count += 11) {
            unsigned char seen[23];
            size_t mine[23], again[23], n, sum = 0;
            memset(seen, 0, sizeof seen);
            for (int r = 0; r < world; r++) {
                ck_assert_int_eq(ae_shard(mine, count, 9, 2, 1, r, world, &n), AE_OK);
                ck_assert_uint_eq(n, ae_shard_size(count, r, world));
                ck_assert_uint_le(n, count / (size_t)world + 1);
                ck_assert_uint_ge(n, count / (size_t)world);
                sum += n;
                for (size_t i = 0; i < n; i++) {
                    ck_assert_uint_lt(mine[i], count);
                    ck_assert_int_eq(seen[mine[i]], 0); /* disjoint */
                    seen[mine[i]] = 1;
                }
                /* every rank computes the same: a second call agrees */
                ck_assert_int_eq(ae_shard(again, count, 9, 2, 1, r, world, NULL), AE_OK);
                ck_assert_mem_eq(mine, again, n * sizeof *mine);
            }
            ck_assert_uint_eq(sum, count); /* covering */
        }
    /* reshuffled per epoch; the shards of the ranks interleave the order */
    size_t a[50], b[50], order[100];
    ck_assert_int_eq(ae_shard(a, 100, 9, 0, 1, 1, 2, NULL), AE_OK);
    ck_assert_int_eq(ae_shard(b, 100, 9, 1, 1, 1, 2, NULL), AE_OK);
    ck_assert(memcmp(a, b, sizeof a) != 0);
    ck_assert_int_eq(ae_train_order(order, 100, 9, 1, 1), AE_OK);
    for (size_t j = 0; j < 50; j++)
        ck_assert_uint_eq(b[j], order[1 + 2 * j]);
    ck_assert_int_eq(ae_shard(a, 100, 9, 3, 0, 1, 2, NULL), AE_OK);
    ck_assert_uint_eq(a[0], 1);
    ck_assert_uint_eq(a[49], 99);
}
END_TEST

START_TEST(shard_errors)
{
    size_t a[4];
    ck_assert_int_eq(ae_shard(NULL, 4, 0, 0, 1, 0, 1, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_shard(a, 0, 0, 0, 1, 0, 1, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_shard(a, 4, 0, 0, 2, 0, 1, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_shard(a, 4, 0, 0, 1, 0, 0, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_shard(a, 4, 0, 0, 1, 2, 2, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_shard(a, 4, 0, 0, 1, -1, 2, NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "rank"));
    ck_assert_uint_eq(ae_shard_size(4, 2, 2), 0);
    ck_assert_uint_eq(ae_shard_size(4, 0, 0), 0);
    failing_allocator fa;
    failing_allocator_install(&fa, 1);
    ck_assert_int_eq(ae_shard(a, 4, 0, 0, 1, 0, 1, NULL), AE_ERR_NOMEM);
    failing_allocator_remove();
}
END_TEST

/* N ranks, MPI-style all-reduce: the one-process training within rounding;
 * the epoch and validation losses agree on every rank and with it. */
START_TEST(allreduce_matches_one_process)
{
    make_data();
    size_t n;
    double val1;
    float *ref = one_process(&n, &val1, 0);
    for (int ranks = 2; ranks <= 3; ranks++) {
        job jobs[MAXR];
        run_world(jobs, ranks, 0, 0, 0, -1, 0);
        for (int k = 0; k < ranks; k++) {
            ck_assert_int_eq(jobs[k].rc, AE_OK);
            ck_assert_mem_eq(jobs[k].params, jobs[0].params, n * sizeof(float));
            ck_assert(jobs[k].loss == jobs[0].loss && jobs[k].val_loss == jobs[0].val_loss);
        }
        const double d = max_diff(jobs[0].params, ref, n);
        ck_assert_msg(d < 1e-5, "%d ranks: max weight difference %g", ranks, d);
        ck_assert_double_eq_tol(jobs[0].val_loss, val1, 1e-5 * val1);
        free_jobs(jobs, ranks);
    }
    free(ref);
}
END_TEST

/* Accumulation: one reduction per update over two batches' rows. */
START_TEST(accumulate_matches_one_process)
{
    make_data();
    size_t n;
    double val1;
    float *ref = one_process(&n, &val1, 2);
    job jobs[MAXR];
    world_accumulate = 2;
    run_world(jobs, 2, 0, 0, 0, -1, 0);
    world_accumulate = 0;
    ck_assert_int_eq(jobs[0].rc, AE_OK);
    ck_assert_int_eq(jobs[1].rc, AE_OK);
    const double d = max_diff(jobs[0].params, ref, n);
    ck_assert_msg(d < 1e-5, "accumulate 2: max weight difference %g", d);
    free_jobs(jobs, 2);
    free(ref);
}
END_TEST

/* Deterministic mode: bit for bit the one-process loop summing the ranks'
 * gradients in rank order (and not bit for bit without it at 3 ranks,
 * where the fake all-reduce sums in another order). */
START_TEST(deterministic_bit_for_bit)
{
    make_data();
    for (int ranks = 2; ranks <= 3; ranks++) {
        size_t n;
        float *ref = one_process_split(ranks, &n);
        job jobs[MAXR];
        run_world(jobs, ranks, AE_DIST_DETERMINISTIC, 0, 0, -1, 0);
        for (int k = 0; k < ranks; k++) {
            ck_assert_int_eq(jobs[k].rc, AE_OK);
            ck_assert_mem_eq(jobs[k].params, ref, n * sizeof(float));
        }
        free_jobs(jobs, ranks);
        if (ranks == 3) {
            run_world(jobs, ranks, 0, 0, 0, -1, 0);
            ck_assert(memcmp(jobs[0].params, ref, n * sizeof(float)) != 0);
            free_jobs(jobs, ranks);
        }
        free(ref);
    }
}
END_TEST

/* Batch normalization: per-rank running statistics by default (the ranks'
 * inference differs), equal with AE_DIST_SYNC_STATE. */
START_TEST(batchnorm_statistics)
{
    make_data();
    job jobs[MAXR];
    run_world(jobs, 2, 0, 0, 1, -1, 0);
    ck_assert_int_eq(jobs[0].rc, AE_OK);
    ck_assert_int_eq(jobs[1].rc, AE_OK);
    ck_assert(memcmp(jobs[0].out, jobs[1].out, sizeof jobs[0].out) != 0);
    free_jobs(jobs, 2);
    run_world(jobs, 2, AE_DIST_SYNC_STATE, 0, 1, -1, 0);
    ck_assert_int_eq(jobs[0].rc, AE_OK);
    ck_assert_mem_eq(jobs[0].out, jobs[1].out, sizeof jobs[0].out);
    free_jobs(jobs, 2);
}
END_TEST

/* A collective failing (on every rank, as MPI reports it) at the start, in
 * a step, in the deterministic gather: every rank returns AE_ERR_IO. */
START_TEST(collective_failure)
{
    make_data();
    const int at[] = {1, 3, 12, 40};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        for (int det = 0; det <= 1; det++) {
            job jobs[MAXR];
            run_world(jobs, 2, det ? AE_DIST_DETERMINISTIC : 0, at[i], 0, -1, 0);
            for (int k = 0; k < 2; k++)
                ck_assert_int_eq(jobs[k].rc, AE_ERR_IO);
            free_jobs(jobs, 2);
        }
}
END_TEST

/* A NaN loss on rank 1 only: both ranks stop in the same step with
 * AE_ERR_NUMERIC, back at the last completed epoch (equal weights). */
START_TEST(one_rank_fails)
{
    make_data();
    job jobs[MAXR];
    run_world(jobs, 2, 0, 0, 0, 1, 0);
    ck_assert_int_eq(jobs[0].rc, AE_ERR_NUMERIC);
    ck_assert_int_eq(jobs[1].rc, AE_ERR_NUMERIC);
    ck_assert_mem_eq(jobs[0].params, jobs[1].params,
                     (IN * LAT + LAT + LAT * IN + IN) * sizeof(float));
    free_jobs(jobs, 2);
}
END_TEST

/* Models with different histories refuse on every rank. */
START_TEST(history_mismatch)
{
    make_data();
    job jobs[MAXR];
    run_world(jobs, 2, 0, 0, 0, -1, 1);
    ck_assert_int_eq(jobs[0].rc, AE_ERR_STATE);
    ck_assert_int_eq(jobs[1].rc, AE_ERR_STATE);
    free_jobs(jobs, 2);
}
END_TEST

static int no_reduce(float *b, size_t n, void *u)
{
    (void)b, (void)n, (void)u;
    return 0;
}

static int no_bcast(float *b, size_t n, int root, void *u)
{
    (void)b, (void)n, (void)root, (void)u;
    return 0;
}

START_TEST(option_errors)
{
    make_data();
    ae_model *m = make_model(1, 0);
    ae_optimizer *opt = make_adam();
    ae_dataset *ds = ds_of(data_x, COUNT);
    ae_collective c = AE_COLLECTIVE_INIT;
    c.allreduce_sum = no_reduce;
    c.broadcast = no_bcast;
    ae_train_options o = AE_TRAIN_OPTIONS_INIT;
    o.epochs = 1;
    o.collective_flags = AE_DIST_SYNC_STATE;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID); /* flags, no collective */
    o.collective = &c;
    o.collective_flags = 8;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    o.collective_flags = AE_DIST_DETERMINISTIC; /* no gather */
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "gather"));
    o.collective_flags = 0;
    c.size = 3;
    c.rank = 3;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    c.rank = 0;
    o.batch_size = 32; /* not a multiple of 3 */
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "multiple"));
    c.size = 1;
    c.broadcast = NULL;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    c.broadcast = no_bcast;
    c.struct_size = 4;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_ERR_INVALID);
    c.struct_size = sizeof c;
    /* a world of one trains as without a collective, bit for bit */
    ae_model *m2 = make_model(1, 0);
    ae_optimizer *opt2 = make_adam();
    ck_assert_int_eq(ae_model_train(m, opt, ds, &o), AE_OK);
    o.collective = NULL;
    ck_assert_int_eq(ae_model_train(m2, opt2, ds, &o), AE_OK);
    size_t n = ae_model_param_count(m);
    float *p1 = malloc(n * sizeof(float)), *p2 = malloc(n * sizeof(float));
    ae_model_params_get(m, p1, n);
    ae_model_params_get(m2, p2, n);
    ck_assert_mem_eq(p1, p2, n * sizeof(float));
    free(p1);
    free(p2);
    ae_model_destroy(m2);
    ae_optimizer_destroy(opt2);
    ae_dataset_destroy(ds);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
}
END_TEST

START_TEST(step_allreduce)
{
    make_data();
    ae_model *m = make_model(1, 0);
    ae_optimizer *opt = make_adam();
    ae_step *s;
    ck_assert_int_eq(ae_step_create(&s, m, opt, NULL), AE_OK);
    ae_collective c = AE_COLLECTIVE_INIT;
    c.allreduce_sum = no_reduce;
    c.broadcast = no_bcast;
    ck_assert_int_eq(ae_step_allreduce(NULL, &c, 1, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_allreduce(s, NULL, 1, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_allreduce(s, &c, 0, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_allreduce(s, &c, 1, AE_DIST_SYNC_STATE), AE_ERR_INVALID);
    ck_assert_int_eq(ae_step_allreduce(s, &c, 1, AE_DIST_DETERMINISTIC), AE_ERR_INVALID);
    /* 4 rows here of 8 over the ranks: the gradient is halved */
    float *g, before0;
    size_t ng;
    ck_assert_int_eq(ae_step_compute(s, data_x, NULL, 4, NULL), AE_OK);
    ck_assert_int_eq(ae_step_allreduce(s, &c, 3, 0), AE_ERR_INVALID); /* below 4 */
    ck_assert_int_eq(ae_step_gradients(s, &g, &ng), AE_OK);
    before0 = g[0];
    ck_assert_int_eq(ae_step_allreduce(s, &c, 8, 0), AE_OK);
    ck_assert_float_eq(g[0], before0 * 0.5f);
    ck_assert_int_eq(ae_step_apply(s), AE_OK);
    /* a rank with nothing computed takes part and can apply */
    ck_assert_int_eq(ae_step_allreduce(s, &c, 8, 0), AE_OK);
    ck_assert_int_eq(ae_step_apply(s), AE_OK);
    ae_step_destroy(s);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
}
END_TEST

/* ae_step_allreduce() across two threads in both modes: the same
 * gradient on both ranks, the weighted mean of their batches'. */
typedef struct sa_job {
    fake_rank r;
    int flags;
    float g0;
} sa_job;

static void *sa_rank(void *arg)
{
    sa_job *j = arg;
    ae_model *m = make_model(1, 0);
    ae_optimizer *opt = make_adam();
    ae_step *s;
    ck_assert_int_eq(ae_step_create(&s, m, opt, NULL), AE_OK);
    ae_collective c = fake_coll(&j->r);
    /* rank 0: rows 0..2 ; rank 1: row 3 */
    size_t rows = j->r.rank == 0 ? 3 : 1;
    ck_assert_int_eq(ae_step_compute(s, data_x + (j->r.rank == 0 ? 0 : 3 * IN), NULL, rows, NULL),
                     AE_OK);
    ck_assert_int_eq(ae_step_allreduce(s, &c, 4, j->flags), AE_OK);
    float *g;
    ck_assert_int_eq(ae_step_gradients(s, &g, NULL), AE_OK);
    j->g0 = g[0];
    ae_step_destroy(s);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    return NULL;
}

START_TEST(step_allreduce_threads)
{
    make_data();
    ae_model *m = make_model(1, 0);
    ae_optimizer *opt = make_adam();
    ae_step *s;
    ck_assert_int_eq(ae_step_create(&s, m, opt, NULL), AE_OK);
    float *g;
    ck_assert_int_eq(ae_step_compute(s, data_x, NULL, 4, NULL), AE_OK);
    ck_assert_int_eq(ae_step_gradients(s, &g, NULL), AE_OK);
    const float want = g[0];
    for (int flags = 0; flags <= AE_DIST_DETERMINISTIC; flags++) {
        static fake_world w;
        memset(&w, 0, sizeof w);
        w.size = 2;
        pthread_barrier_init(&w.bar, NULL, 2);
        sa_job jobs[2];
        pthread_t th[2];
        for (int k = 0; k < 2; k++) {
            jobs[k].r.w = &w;
            jobs[k].r.rank = k;
            jobs[k].flags = flags;
            pthread_create(&th[k], NULL, sa_rank, &jobs[k]);
        }
        for (int k = 0; k < 2; k++)
            pthread_join(th[k], NULL);
        pthread_barrier_destroy(&w.bar);
        ck_assert(jobs[0].g0 == jobs[1].g0);
        ck_assert_float_eq_tol(jobs[0].g0, want, 1e-6f + 1e-5f * fabsf(want));
    }
    ae_step_destroy(s);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
}
END_TEST

Suite *ae_dist_suite(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("dist");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, shard_properties);
    tcase_add_test(tc, shard_errors);
    tcase_add_test(tc, allreduce_matches_one_process);
    tcase_add_test(tc, accumulate_matches_one_process);
    tcase_add_test(tc, deterministic_bit_for_bit);
    tcase_add_test(tc, batchnorm_statistics);
    tcase_add_test(tc, collective_failure);
    tcase_add_test(tc, one_rank_fails);
    tcase_add_test(tc, history_mismatch);
    tcase_add_test(tc, option_errors);
    tcase_add_test(tc, step_allreduce);
    tcase_add_test(tc, step_allreduce_threads);
    suite_add_tcase(s, tc);
    return s;
}
