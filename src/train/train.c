/* SPDX-License-Identifier: MIT */
/*
 * train.c - the training loop: shuffled mini-batches through the step
 * handle (step.c), with validation, early stopping, learning-rate
 * schedules, clipping, accumulation and the divergence checks.
 *
 * All memory a step needs is allocated once per call by the step handle;
 * the loop adds the sample order, a gather buffer for the inputs and one
 * for the targets, and the snapshots. A steady-state step allocates
 * nothing. A batch whose rows lie one after the other in the dataset (no
 * shuffling) is used in place; others are gathered.
 *
 * Determinism: the sample order of epoch e (counted over the model's whole
 * history) comes from a generator seeded with (seed, e), so training N
 * epochs and then M more visits the same batches as N + M at once. So do
 * the layers' training randomness and the noise of denoising training
 * (ae_step_seed(step, seed, e)).
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "ae/params.h"
#include "ae/train.h"
#include "core/kernels.h"
#include "core/pool.h"
#include "data/dataset.h"
#include "data/noise.h"
#include "data/scaler.h"
#include "nn/nn.h"
#include "optim/optimizer.h"
#include "train/dist.h"
#include "train/train.h"

/* Where a batch's targets come from. */
enum { TARGET_SELF, TARGET_DATASET, TARGET_LABELS };

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- snapshots -----------------------------------------------------------
 *
 * What an epoch changes: every parameter, the layers' state tensors (batch
 * normalization's running statistics), the optimizer's buffers and its step
 * count. A snapshot copies them: at the start of each epoch so that an
 * AE_ERR_NUMERIC failure can put the model and the optimizer back as they
 * were after the last completed epoch (the last entry of the history), and
 * at the best epoch for restore_best. */
typedef struct snapshot {
    float **at;      /* where each region lives */
    size_t *count;   /* its floats */
    size_t n;        /* regions */
    float *copy;     /* all regions, one after the other */
    size_t total;    /* floats in copy */
    uint64_t steps;  /* the optimizer's step count */
} snapshot;

static void snapshot_free(snapshot *s)
{
    ae__free(s->at);
    ae__free(s->count);
    ae__free(s->copy);
}

/* Lists the regions (after the optimizer is bound) and allocates the copy. */
static int snapshot_init(snapshot *s, ae_model *model, const ae_step *step, const ae_optimizer *opt)
{
    ae__net *nets[2] = {&model->enc->net, &model->dec->net};
    size_t n_params;
    const ae_param_view *params = ae__step_params(step, &n_params);
    size_t n_states = ae__net_state_count(nets[0]) + ae__net_state_count(nets[1]);
    size_t max = n_params * 3 + n_states, total = 0;
    ae_param_view *states = ae__calloc(n_states ? n_states : 1, sizeof *states);
    memset(s, 0, sizeof *s);
    s->at = ae__calloc(max ? max : 1, sizeof *s->at);
    s->count = ae__calloc(max ? max : 1, sizeof *s->count);
    int rc = states && s->at && s->count ? AE_OK : AE_ERR_NOMEM;
    if (rc == AE_OK && n_states)
        rc = ae__net_states(nets[0], states);
    if (rc == AE_OK && n_states)
        rc = ae__net_states(nets[1], states + ae__net_state_count(nets[0]));
    for (size_t i = 0; rc == AE_OK && i < n_params; i++) {
        const float *value;
        float *b[2];
        size_t count;
        ae__optimizer_tensor(opt, i, &value, &count, &b[0], &b[1]);
        s->at[s->n] = params[i].value;
        s->count[s->n++] = params[i].count;
        for (int k = 0; k < 2; k++)
            if (b[k] != NULL) {
                s->at[s->n] = b[k];
                s->count[s->n++] = count;
            }
    }
    for (size_t i = 0; rc == AE_OK && i < n_states; i++) {
        s->at[s->n] = states[i].value;
        s->count[s->n++] = states[i].count;
    }
    ae__free(states);
    for (size_t i = 0; rc == AE_OK && i < s->n; i++)
        if (!ae__add_size(total, s->count[i], &total))
            rc = ae__error(AE_ERR_LIMIT, "ae_model_train: the model's tensors overflow the address space");
    s->total = total;
    if (rc == AE_OK && (s->copy = ae__calloc(total ? total : 1, sizeof(float))) == NULL)
        rc = AE_ERR_NOMEM;
    return rc;
}

/* A second snapshot of the same regions (restore_best). */
static int snapshot_twin(snapshot *twin, const snapshot *s)
{
    memset(twin, 0, sizeof *twin);
    twin->at = ae__calloc(s->n ? s->n : 1, sizeof *twin->at);
    twin->count = ae__calloc(s->n ? s->n : 1, sizeof *twin->count);
    twin->copy = ae__calloc(s->total ? s->total : 1, sizeof(float));
    if (!twin->at || !twin->count || !twin->copy)
        return AE_ERR_NOMEM;
    if (s->n) {
        memcpy(twin->at, s->at, s->n * sizeof *s->at);
        memcpy(twin->count, s->count, s->n * sizeof *s->count);
    }
    twin->n = s->n;
    twin->total = s->total;
    return AE_OK;
}

static void snapshot_take(snapshot *s, const ae_optimizer *opt)
{
    float *p = s->copy;
    for (size_t i = 0; i < s->n; p += s->count[i], i++)
        memcpy(p, s->at[i], s->count[i] * sizeof(float));
    s->steps = ae_optimizer_steps(opt);
}

static void snapshot_restore(const snapshot *s, ae_optimizer *opt)
{
    const float *p = s->copy;
    for (size_t i = 0; i < s->n; p += s->count[i], i++)
        memcpy(s->at[i], p, s->count[i] * sizeof(float));
    ae__optimizer_set_steps(opt, s->steps);
}

/* ---- data and divergence checks ------------------------------------------ */

/* Training data holding NaN or infinity can only give a NaN loss: say so,
 * with the sample and the feature, before the first step. */
static int data_finite(const ae_dataset *d, const char *which, const char *who)
{
    size_t i, j;
    if (!ae__dataset_find(d, AE__DATASET_FINITE, &i, &j))
        return AE_OK;
    const float v = ae__dataset_row(d, i)[j];
    return ae__error(AE_ERR_NUMERIC,
                     "%s: the %s data hold %s at sample %zu, feature %zu"
                     " (clean the data: no learning rate can train on it)",
                     who, which, isnan(v) ? "NaN" : "an infinity", i, j);
}

/* BCE targets outside [0, 1] give a negative loss: refuse them up front. */
static int bce_targets(const ae_dataset *d, int loss, const char *which, const char *who)
{
    size_t i, j;
    if (loss != AE_LOSS_BCE || d == NULL || !ae__dataset_find(d, AE__DATASET_UNIT, &i, &j))
        return AE_OK;
    return ae__error(AE_ERR_INVALID,
                     "%s: binary cross-entropy needs targets in [0, 1]; the %s"
                     " data hold %g at sample %zu, feature %zu",
                     who, which, (double)ae__dataset_row(d, i)[j], i, j);
}

/* Labels in range of the model's classes. */
static int labels_valid(const ae_dataset *d, size_t classes, const char *which, const char *who)
{
    if (!ae_dataset_has_labels(d))
        return ae__error(AE_ERR_STATE, "%s: the %s set has no labels to train on", who, which);
    const size_t count = ae_dataset_count(d);
    for (size_t i = 0; i < count; i++) {
        int32_t label;
        ae_dataset_label(d, i, &label);
        if (label < 0 || (size_t)label >= classes)
            return ae__error(AE_ERR_INVALID, "%s: %s label %zu is %d, the model gives %zu classes",
                             who, which, i, (int)label, classes);
    }
    return AE_OK;
}

/* Divergence by growth (include/ae/train.h states the rule): a batch loss
 * above AE__DIVERGE_BATCH times the lowest batch loss of the call so far,
 * or an epoch's mean above AE__DIVERGE_EPOCH times the lowest of the call's
 * starting loss (its first batch, before any update) and its epoch means,
 * in both cases only when the loss is also above the starting loss: a loss
 * still under where the call began is not a blow-up, however low the best
 * one was (a head that fits a few labels to 1e-3 and then meets a harder
 * epoch at 0.5, with a start of 2.3). The floor keeps a batch that fitted
 * exactly (loss 0) from making every later rounding error look like
 * growth. */
#define AE__DIVERGE_BATCH 1e6
#define AE__DIVERGE_EPOCH 1e2
#define AE__DIVERGE_FLOOR 1e-12

/* 1 when loss grew past factor times *lowest and past start, the call's
 * starting loss (then *lowest is kept); else lowers *lowest to loss when
 * smaller and returns 0. */
static int grew(double loss, double *lowest, double factor, double start)
{
    if (loss > factor * fmax(*lowest, AE__DIVERGE_FLOOR) && loss > start)
        return 1;
    if (loss < *lowest)
        *lowest = loss;
    return 0;
}

/* The batch order[0 .. b) of the dataset as one block of b rows: the
 * dataset's own memory when those rows lie there one after the other (no
 * shuffling over a contiguous view), else a copy gathered into buf, split
 * by rows over the pool's threads when large. */
typedef struct gather_job {
    float *buf;
    const ae_dataset *data;
    const size_t *order;
    size_t b, size;
} gather_job;

/* A row copied from memory outside the caches costs about as much as 16
 * multiply-adds a value (core/pool.h). */
#define GATHER_WORK 16.0
/* Rows per part at least: a gather of 32 rows takes ~10 us, about what a
 * sleeping worker takes to wake up (the convolutional AE's steps, 5 ms
 * apart, let it sleep). */
#define GATHER_MIN_ROWS 64

static void gather_part(void *arg, int part, int parts)
{
    const gather_job *j = arg;
    size_t lo, hi;
    ae__pool_range(j->b, part, parts, 1, &lo, &hi);
    /* Shuffled rows come from anywhere in a dataset larger than the caches:
     * the row after next is fetched while this one is copied. */
    for (size_t i = lo; i < hi; i++) {
        if (i + 2 < hi) {
            const char *next = (const char *)ae__dataset_row(j->data, j->order[i + 2]);
            for (size_t o = 0; o < j->size * sizeof(float); o += 64)
                __builtin_prefetch(next + o);
        }
        memcpy(j->buf + i * j->size, ae__dataset_row(j->data, j->order[i]),
               j->size * sizeof(float));
    }
}

static const float *batch_rows(float *buf, const ae_dataset *data, const size_t *order, size_t b,
                               size_t size)
{
    const float *first = ae__dataset_row(data, order[0]);
    size_t i = 1;
    while (i < b && ae__dataset_row(data, order[i]) == first + i * size)
        i++;
    if (i == b)
        return first;
    gather_job j = {buf, data, order, b, size};
    ae__pool_run(gather_part, &j,
                 ae__pool_parts(b, GATHER_MIN_ROWS, (double)b * (double)size * GATHER_WORK));
    return buf;
}

/* ---- evaluation ------------------------------------------------------------ */

/* The mean loss of the model over inputs against targets: the rows of tg,
 * the one-hot labels of in (labels), or the clean inputs; with noise the
 * inputs are corrupted first by a generator seeded with seed (the same
 * corruption at every call). */
static int evaluate(const ae_model *model, const ae_dataset *in, const ae_dataset *tg, int labels,
                    int loss, int noise, float amount, float lo, float hi, uint64_t seed,
                    double *out, const char *who)
{
    enum { CHUNK = 256 };
    const size_t n = ae_dataset_count(in), isz = model->enc->net.in_size,
                 osz = model->dec->net.out_size;
    float *buf = ae__alloc((2 * CHUNK * isz + 2 * CHUNK * osz) * sizeof(float));
    if (buf == NULL)
        return AE_ERR_NOMEM;
    float *x = buf, *xn = x + CHUNK * isz, *t = xn + CHUNK * isz, *y = t + CHUNK * osz;
    const ae__net *nets[2] = {&model->enc->net, &model->dec->net};
    ae_rng rng;
    ae__rng_seed(&rng, seed ^ 0x5851F42D4C957F2Dull);
    double sum = 0.0;
    int rc = AE_OK;
    for (size_t first = 0; first < n && rc == AE_OK; first += CHUNK) {
        size_t b = n - first < CHUNK ? n - first : CHUNK;
        for (size_t i = 0; i < b; i++)
            memcpy(x + i * isz, ae__dataset_row(in, first + i), isz * sizeof(float));
        const float *target = x;
        if (tg != NULL) {
            for (size_t i = 0; i < b; i++)
                memcpy(t + i * osz, ae__dataset_row(tg, first + i), osz * sizeof(float));
            target = t;
        } else if (labels) {
            memset(t, 0, b * osz * sizeof(float));
            for (size_t i = 0; i < b; i++) {
                int32_t label;
                ae_dataset_label(in, first + i, &label);
                t[i * osz + (size_t)label] = 1.0f;
            }
            target = t;
        }
        if (noise != AE_NOISE_NONE)
            ae__noise_apply_range(noise, amount, lo, hi, &rng, x, xn, b * isz);
        rc = ae__loss_check_targets(loss, target, b * osz, who);
        if (rc == AE_OK)
            rc = ae__chain_run(nets, 2, noise != AE_NOISE_NONE ? xn : x, b, y, who);
        if (rc == AE_OK)
            sum += ae__loss_rows(loss, y, target, b, osz, NULL, 1.0);
    }
    ae__free(buf);
    if (rc == AE_OK)
        *out = sum / ae__loss_norm(loss, n, osz);
    return rc;
}

int ae_model_evaluate_pairs(const ae_model *model, const ae_dataset *inputs,
                            const ae_dataset *targets, int loss, double *out_loss)
{
    const char *who = "ae_model_evaluate_pairs";
    if (model == NULL || inputs == NULL || out_loss == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who,
                         model == NULL ? "model" : inputs == NULL ? "inputs" : "out_loss");
    if (!ae__loss_known(loss))
        return ae__error(AE_ERR_INVALID, "%s: %s loss %d", who,
                         loss == AE_LOSS_CUSTOM ? "it cannot evaluate the custom" : "unknown", loss);
    const size_t isz = model->enc->net.in_size, osz = model->dec->net.out_size;
    const size_t n = ae_dataset_count(inputs);
    if (ae_dataset_sample_size(inputs) != isz)
        return ae__error(AE_ERR_SHAPE, "%s: inputs have %zu values, the model takes %zu", who,
                         ae_dataset_sample_size(inputs), isz);
    if (targets != NULL && ae_dataset_sample_size(targets) != osz)
        return ae__error(AE_ERR_SHAPE, "%s: targets have %zu values, the model gives %zu", who,
                         ae_dataset_sample_size(targets), osz);
    if (targets != NULL && ae_dataset_count(targets) != n)
        return ae__error(AE_ERR_SHAPE, "%s: %zu inputs but %zu targets", who, n,
                         ae_dataset_count(targets));
    if (n == 0)
        return ae__error(AE_ERR_INVALID, "%s: the dataset is empty", who);
    int rc;
    if (targets == NULL && (rc = labels_valid(inputs, osz, "input", who)) < 0)
        return rc;
    return evaluate(model, inputs, targets, targets == NULL, loss, AE_NOISE_NONE, 0.0f, 0.0f, 1.0f, 0,
                    out_loss, who);
}

/* ---- schedules ------------------------------------------------------------ */

static float scheduled_rate(const ae_train_options *o, float lr0, float current, uint32_t e)
{
    switch (o->lr_schedule) {
    case AE_LR_STEP:
        return (float)((double)lr0 * pow((double)o->lr_factor, (double)(e / o->lr_step_epochs)));
    case AE_LR_COSINE: {
        const uint32_t w = o->lr_warmup_epochs;
        if (e < w)
            return (float)((double)lr0 * (double)(e + 1) / (double)(w + 1));
        const double t = (double)(e - w) / (double)(o->epochs - w);
        return (float)((double)o->lr_min +
                       ((double)lr0 - (double)o->lr_min) * 0.5 * (1.0 + cos(3.14159265358979323846 * t)));
    }
    default:
        return current; /* constant, or the plateau rule's */
    }
}

static int check_options(const ae_train_options *o, const char *who)
{
    int rc = ae__step_check(o->batch_size, o->loss, o->loss_fn, o->noise, o->noise_amount,
                            o->loss_reduction, 0, who);
    if (rc < 0)
        return rc;
    if (o->shuffle != 0 && o->shuffle != 1)
        return ae__error(AE_ERR_INVALID, "%s: shuffle is %d, expected 0 or 1", who, o->shuffle);
    if (!(isfinite(o->min_delta) && o->min_delta >= 0.0f))
        return ae__error(AE_ERR_INVALID, "%s: min_delta is %g, must be finite and >= 0", who,
                         (double)o->min_delta);
    if (o->restore_best != 0 && o->restore_best != 1)
        return ae__error(AE_ERR_INVALID, "%s: restore_best is %d, expected 0 or 1", who,
                         o->restore_best);
    if (o->validation_noise != 0 && o->validation_noise != 1)
        return ae__error(AE_ERR_INVALID, "%s: validation_noise is %d, expected 0 or 1", who,
                         o->validation_noise);
    if (o->lr_schedule < AE_LR_CONSTANT || o->lr_schedule > AE_LR_PLATEAU)
        return ae__error(AE_ERR_INVALID, "%s: unknown lr_schedule %d (0 constant, 1 step,"
                         " 2 cosine, 3 plateau)", who, o->lr_schedule);
    if ((o->lr_schedule == AE_LR_STEP || o->lr_schedule == AE_LR_PLATEAU) &&
        (o->lr_step_epochs == 0 || !(o->lr_factor > 0.0f && o->lr_factor < 1.0f)))
        return ae__error(AE_ERR_INVALID, "%s: lr_step_epochs is %u and lr_factor %g; the schedule"
                         " needs >= 1 and a factor in (0, 1)", who, o->lr_step_epochs,
                         (double)o->lr_factor);
    if (!(isfinite(o->lr_min) && o->lr_min >= 0.0f))
        return ae__error(AE_ERR_INVALID, "%s: lr_min is %g, must be finite and >= 0", who,
                         (double)o->lr_min);
    if (o->lr_schedule == AE_LR_COSINE && o->lr_warmup_epochs >= o->epochs && o->epochs > 0)
        return ae__error(AE_ERR_INVALID, "%s: lr_warmup_epochs %u leaves no epoch of the %u"
                         " for the cosine", who, o->lr_warmup_epochs, o->epochs);
    if (o->result != NULL && o->result->struct_size < sizeof(ae_train_result))
        return ae__error(AE_ERR_INVALID, "%s: result->struct_size is %u, expected %zu"
                         " (AE_TRAIN_RESULT_INIT)", who, o->result->struct_size,
                         sizeof(ae_train_result));
    if (!(isfinite(o->clip_norm) && o->clip_norm >= 0.0f))
        return ae__error(AE_ERR_INVALID, "%s: clip_norm is %g, must be finite and >= 0 (0: off)",
                         who, (double)o->clip_norm);
    return AE_OK;
}

static int report(const ae_train_options *o, ae_progress *p, const char *who)
{
    if (o->progress == NULL)
        return AE_OK;
    if (o->progress(p, o->progress_user) != 0)
        return ae__error(AE_ERR_CANCELLED, "%s: stopped by the progress callback in epoch %u",
                         who, p->epoch + 1);
    return AE_OK;
}

/* Hook, clipping, update: the end of an optimizer step. */
static int update(ae_step *step, const ae_train_options *o, const char *who)
{
    int rc;
    if (o->gradient_hook != NULL && o->gradient_hook(step, o->gradient_user) != 0)
        return ae__error(AE_ERR_CANCELLED, "%s: stopped by the gradient hook", who);
    if (o->clip_norm > 0.0f && (rc = ae_step_clip(step, o->clip_norm, NULL)) < 0)
        return rc;
    return ae_step_apply(step);
}

static int train_core(ae_model *model, ae_optimizer *opt, const ae_dataset *data,
                      const ae_dataset *targets, int mode, const ae_train_options *user,
                      const char *who)
{
    int rc;
    /* The first released layout ends with progress_user; later fields read as 0. */
    if ((rc = ae__check_struct(user, user->struct_size, offsetof(ae_train_options, noise),
                               sizeof *user, who)) < 0)
        return rc;
    ae_train_options opts;
    memset(&opts, 0, sizeof opts);
    memcpy(&opts, user, user->struct_size < sizeof opts ? user->struct_size : sizeof opts);
    const ae_train_options *o = &opts;
    ae_train_result res = AE_TRAIN_RESULT_INIT;
    res.best_epoch = -1;
    res.best_loss = NAN;
    res.learning_rate = ae_optimizer_learning_rate(opt);
    if ((rc = check_options(o, who)) < 0)
        return rc;
    /* Distributed (ae/dist.h): this rank's share of every global batch. */
    ae_collective coll = AE_COLLECTIVE_INIT;
    const int dist = o->collective != NULL;
    if (!dist && o->collective_flags != 0)
        return ae__error(AE_ERR_INVALID, "%s: collective_flags is %d without a collective", who,
                         o->collective_flags);
    if (dist && (rc = ae__dist_take(&coll, o->collective, o->collective_flags, who)) < 0)
        return rc;
    const size_t world = (size_t)coll.size, me = (size_t)coll.rank;
    const int det = (o->collective_flags & AE_DIST_DETERMINISTIC) != 0;
    if (o->batch_size % world != 0)
        return ae__error(AE_ERR_INVALID, "%s: batch_size %u (the global batch) is not a multiple"
                         " of the %zu ranks", who, o->batch_size, world);
    const size_t in_size = model->enc->net.in_size, out_size = model->dec->net.out_size;
    const size_t size = ae_dataset_sample_size(data), count = ae_dataset_count(data);
    const ae_dataset *val = o->validation, *val_targets = NULL;
    if (mode == TARGET_SELF) {
        if (size != in_size || size != out_size)
            return ae__error(AE_ERR_SHAPE,
                             "%s: samples have %zu values, the model takes %zu and gives %zu", who,
                             size, in_size, out_size);
        if (val != NULL && ae_dataset_sample_size(val) != size)
            return ae__error(AE_ERR_SHAPE, "%s: validation samples have %zu values, training %zu",
                             who, ae_dataset_sample_size(val), size);
    } else {
        if (size != in_size)
            return ae__error(AE_ERR_SHAPE, "%s: inputs have %zu values, the model takes %zu", who,
                             size, in_size);
        if (val != NULL && ae_dataset_sample_size(val) != size)
            return ae__error(AE_ERR_SHAPE, "%s: validation inputs have %zu values, the model takes %zu",
                             who, ae_dataset_sample_size(val), size);
        if (mode == TARGET_DATASET) {
            if (ae_dataset_count(targets) != count || ae_dataset_sample_size(targets) != out_size)
                return ae__error(AE_ERR_SHAPE,
                                 "%s: %zu targets of %zu values for %zu inputs; the model gives %zu",
                                 who, ae_dataset_count(targets), ae_dataset_sample_size(targets),
                                 count, out_size);
            if (val != NULL) {
                val_targets = o->validation_targets;
                if (val_targets == NULL)
                    return ae__error(AE_ERR_INVALID, "%s: a validation set needs validation_targets",
                                     who);
                if (ae_dataset_count(val_targets) != ae_dataset_count(val) ||
                    ae_dataset_sample_size(val_targets) != out_size)
                    return ae__error(AE_ERR_SHAPE,
                                     "%s: %zu validation targets of %zu values for %zu inputs;"
                                     " the model gives %zu", who, ae_dataset_count(val_targets),
                                     ae_dataset_sample_size(val_targets), ae_dataset_count(val),
                                     out_size);
            }
        }
    }
    if (count == 0)
        return ae__error(AE_ERR_INVALID, "%s: the dataset is empty", who);
    if (o->validation_noise && mode != TARGET_SELF)
        return ae__error(AE_ERR_INVALID, "%s: validation_noise is for autoencoders (ae_model_train)",
                         who);
    if (val != NULL && o->loss == AE_LOSS_CUSTOM)
        return ae__error(AE_ERR_INVALID, "%s: validation needs a built-in loss, not AE_LOSS_CUSTOM",
                         who);
    if (o->epochs == 0)
        return AE_OK;

    if ((rc = data_finite(data, "training", who)) < 0 ||
        (val != NULL && (rc = data_finite(val, "validation", who)) < 0) ||
        (targets != NULL && (rc = data_finite(targets, "target", who)) < 0) ||
        (val_targets != NULL && (rc = data_finite(val_targets, "validation target", who)) < 0))
        return rc;
    if ((rc = bce_targets(mode == TARGET_SELF ? data : targets, o->loss, "training", who)) < 0 ||
        (rc = bce_targets(mode == TARGET_SELF ? val : val_targets, o->loss, "validation", who)) < 0)
        return rc;
    if (mode == TARGET_LABELS &&
        ((rc = labels_valid(data, out_size, "training", who)) < 0 ||
         (val != NULL && (rc = labels_valid(val, out_size, "validation", who)) < 0)))
        return rc;

    const size_t batch = o->batch_size < count ? o->batch_size : count;
    const size_t batches = (count + batch - 1) / batch;
    /* per rank: every world-th row of each global batch (ae_shard()) */
    const size_t shard_max = (count + world - 1) / world, per_rank = o->batch_size / world;
    const size_t lbatch = per_rank < shard_max ? per_rank : shard_max;
    const size_t extra_n = 4; /* loss * rows, rows, failed ranks, of them NaN/Inf */
    float extra[4];
    size_t *lidx = NULL;
    float *gtmp = NULL;
    ae_dataset *val_mine = NULL, *valt_mine = NULL;
    size_t n_states = 0, since_update_rows = 0;
    int failed = AE_OK;
    const uint32_t accumulate = o->accumulate > 1 ? o->accumulate : 1;
    ae_step *step = NULL;
    snapshot snap, best;
    memset(&snap, 0, sizeof snap);
    memset(&best, 0, sizeof best);
    size_t *order = ae__calloc(count, sizeof *order);
    float *xbuf = ae__alloc(batch * in_size * sizeof(float));
    float *tbuf = mode == TARGET_DATASET ? ae__alloc(batch * out_size * sizeof(float)) : NULL;
    int32_t *lbuf = mode == TARGET_LABELS ? ae__calloc(batch, sizeof *lbuf) : NULL;
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.batch_size = (uint32_t)(dist ? lbatch : batch);
    so.loss = o->loss;
    so.loss_fn = o->loss_fn;
    so.loss_user = o->loss_user;
    so.noise = o->noise;
    so.noise_amount = o->noise_amount;
    so.loss_reduction = o->loss_reduction;
    if (order == NULL || xbuf == NULL || (mode == TARGET_DATASET && tbuf == NULL) ||
        (mode == TARGET_LABELS && lbuf == NULL)) {
        rc = AE_ERR_NOMEM;
        goto done;
    }
    if ((rc = ae__step_create(&step, model, opt, &so, who)) < 0 ||
        (rc = snapshot_init(&snap, model, step, opt)) < 0 ||
        (o->restore_best && (rc = snapshot_twin(&best, &snap)) < 0))
        goto done;
    /* the noise's range (ae_noise_clip): by default the training data's */
    float noise_lo = 0.0f, noise_hi = 1.0f;
    if (o->noise != AE_NOISE_NONE &&
        (rc = ae__noise_range(o->noise, o->noise_clip, o->noise_min, o->noise_max, data,
                              &noise_lo, &noise_hi, who)) < 0)
        goto done;
    ae__step_noise_range(step, noise_lo, noise_hi);
    if (dist) {
        n_states = ae__net_state_count(&model->enc->net) + ae__net_state_count(&model->dec->net);
        size_t gcells = (ae_model_trainable_count(model) + AE__STEP_EXTRA) * world;
        lidx = ae__calloc(lbatch, sizeof *lidx);
        gtmp = det && me == 0 ? ae__alloc(gcells * sizeof(float)) : NULL;
        if (lidx == NULL || (det && me == 0 && gtmp == NULL)) {
            rc = AE_ERR_NOMEM;
            goto done;
        }
        /* this rank's slice of the validation set */
        const size_t nv = val != NULL ? ae_dataset_count(val) : 0;
        const size_t v0 = nv * me / world, v1 = nv * (me + 1) / world;
        if (v1 > v0 && ((rc = ae_dataset_subset(&val_mine, val, v0, v1 - v0)) < 0 ||
                        (val_targets != NULL &&
                         (rc = ae_dataset_subset(&valt_mine, val_targets, v0, v1 - v0)) < 0)))
            goto done;
        uint64_t steps = ae_optimizer_steps(opt);
        if ((rc = ae__dist_start(&coll, snap.at, snap.count, snap.n, &steps, model->history_len,
                                 who)) < 0)
            goto done;
        ae__optimizer_set_steps(opt, steps);
    }

    const double start = now_seconds();
    const float lr0 = ae_optimizer_learning_rate(opt);
    float lr = lr0;
    double lowest_batch = INFINITY, lowest_epoch = INFINITY, best_loss = INFINITY;
    double start_loss = INFINITY; /* the call's first batch loss, before any update */
    double plateau_best = INFINITY;
    uint32_t since_best = 0, since_plateau = 0;
    for (uint32_t e = 0; e < o->epochs; e++) {
        snapshot_take(&snap, opt);
        if (o->lr_schedule != AE_LR_CONSTANT) {
            lr = scheduled_rate(o, lr0, lr, e);
            if ((rc = ae_optimizer_set_learning_rate(opt, lr > 0.0f ? lr : FLT_MIN)) < 0)
                goto done;
        }
        const uint64_t global_epoch = model->history_len;
        /* dropout and noise: rank 0 as one process, the others their own */
        ae_step_seed(step, o->seed ^ (0xA0761D6478BD642Full * (uint64_t)me), global_epoch);
        ae__train_order(order, count, o->seed, global_epoch, o->shuffle);
        double sum = 0.0, terms = 0.0;
        size_t seen = 0;
        memset(extra, 0, sizeof extra);
        since_update_rows = 0;
        ae_progress p;
        memset(&p, 0, sizeof p);
        p.struct_size = sizeof p;
        p.epoch = e;
        p.epochs = o->epochs;
        p.batches = batches;
        p.val_loss = NAN;
        p.samples_per_epoch = count;
        p.best_epoch = res.best_epoch;
        p.learning_rate = ae_optimizer_learning_rate(opt);
        for (size_t bi = 0; bi < batches; bi++) {
            size_t first = bi * batch, b = count - first < batch ? count - first : batch;
            const size_t *rows_at = order + first;
            double loss = NAN;
            if (dist) {
                since_update_rows += b; /* the global batch's rows */
                size_t lb = 0;
                for (size_t i = first + me; i < first + b; i += world)
                    lidx[lb++] = order[i];
                b = lb;
                rows_at = lidx;
                if (b == 0 || failed != AE_OK)
                    goto reduce;
            }
            const float *x = batch_rows(xbuf, data, rows_at, b, size), *target = x;
            if (mode == TARGET_DATASET) {
                target = batch_rows(tbuf, targets, rows_at, b, out_size);
            } else if (mode == TARGET_LABELS) {
                for (size_t i = 0; i < b; i++)
                    ae_dataset_label(data, rows_at[i], &lbuf[i]);
                if ((rc = ae__step_onehot(step, lbuf, b, who)) < 0)
                    goto done;
                target = ae__step_onehot_buffer(step);
            }
            rc = ae__step_compute(step, x, target, b, &loss);
            if (dist) {
                /* a failure travels in this update's reduction: every rank
                 * stops at the same step */
                if (rc == AE_ERR_NUMERIC)
                    rc = ae__error(AE_ERR_NUMERIC, "%s: the loss became %s in epoch %u, batch %zu"
                                   " on rank %zu (lower the learning rate?)", who,
                                   isnan(loss) ? "NaN" : "infinite", e, bi, me);
                if (rc < 0)
                    failed = rc;
                else {
                    extra[0] += (float)(loss * (double)b);
                    extra[1] += (float)b;
                }
            }
        reduce:
            if (dist) {
                if ((bi + 1) % accumulate != 0 && bi + 1 != batches)
                    continue;
                extra[2] = failed != AE_OK;
                extra[3] = failed == AE_ERR_NUMERIC;
                rc = ae__dist_step(step, &coll, since_update_rows, det, gtmp, extra, extra_n, who);
                since_update_rows = 0;
                if (rc < 0)
                    goto done;
                if (extra[2] > 0.0f) {
                    if (failed == AE_OK)
                        failed = ae__error(extra[3] == extra[2] ? AE_ERR_NUMERIC : AE_ERR_IO,
                                           "%s: %g other rank(s) failed in epoch %u, batch %zu",
                                           who, (double)extra[2], e, bi);
                    rc = failed;
                    if (rc == AE_ERR_NUMERIC)
                        goto diverged;
                    goto done;
                }
                loss = (double)extra[0] / (double)extra[1];
                b = (size_t)extra[1];
                memset(extra, 0, sizeof extra);
            }
            if (rc == AE_ERR_NUMERIC) {
                rc = ae__error(AE_ERR_NUMERIC,
                               "%s: the loss became %s in epoch %u, batch %zu (lower the learning rate?)",
                               who, isnan(loss) ? "NaN" : "infinite", e + 1, bi + 1);
                goto diverged;
            }
            if (rc < 0)
                goto done;
            if (lowest_epoch == INFINITY)
                lowest_epoch = start_loss = loss; /* the starting loss, before any update */
            if (grew(loss, &lowest_batch, AE__DIVERGE_BATCH, start_loss)) {
                rc = ae__error(AE_ERR_NUMERIC,
                               "%s: diverged in epoch %u, batch %zu: its loss %g is over"
                               " %g times the lowest batch loss so far, %g (an outlier in the data,"
                               " or too high a learning rate?)",
                               who, e + 1, bi + 1, loss, AE__DIVERGE_BATCH, lowest_batch);
                goto diverged;
            }
            if ((dist || (bi + 1) % accumulate == 0 || bi + 1 == batches) &&
                (rc = update(step, o, who)) < 0) {
                if (rc == AE_ERR_NUMERIC)
                    goto diverged;
                goto done;
            }
            sum += loss * (double)b;
            terms += ae__step_terms(step) * (double)b;
            seen += b;
            p.event = AE_PROGRESS_BATCH;
            p.batch = bi;
            p.samples = seen;
            p.loss = sum / (double)seen;
            p.seconds = now_seconds() - start;
            if ((rc = report(o, &p, who)) < 0)
                goto done;
        }
        if (!ae__step_params_finite(step)) {
            rc = ae__error(AE_ERR_NUMERIC,
                           "%s: a weight became NaN or infinite during epoch %u"
                           " (checked at the end of each epoch; batch %zu was the last)",
                           who, e + 1, batches);
            goto diverged;
        }
        p.event = AE_PROGRESS_EPOCH;
        p.batch = batches;
        p.loss = sum / (double)seen;
        if (grew(p.loss, &lowest_epoch, AE__DIVERGE_EPOCH, start_loss)) {
            rc = ae__error(AE_ERR_NUMERIC,
                           "%s: diverged in epoch %u: its mean loss %g is over %g times"
                           " the lowest of the starting loss and the epoch means so far, %g"
                           " (too high a learning rate?)",
                           who, e + 1, p.loss, AE__DIVERGE_EPOCH, lowest_epoch);
            goto diverged;
        }
        if (dist && (o->collective_flags & AE_DIST_SYNC_STATE) &&
            (rc = ae__dist_average(&coll, snap.at + (snap.n - n_states),
                                   snap.count + (snap.n - n_states), n_states, who)) < 0)
            goto done;
        if (dist && val != NULL) {
            float v[2] = {0.0f, 0.0f};
            if (val_mine != NULL) {
                double mine = NAN;
                if (mode == TARGET_SELF && !o->validation_noise)
                    rc = ae_model_evaluate(model, val_mine, o->loss, &mine);
                else
                    rc = evaluate(model, val_mine, valt_mine, mode == TARGET_LABELS, o->loss,
                                  o->validation_noise ? o->noise : AE_NOISE_NONE, o->noise_amount,
                                  noise_lo, noise_hi, o->seed, &mine, who);
                if (rc < 0)
                    goto done; /* only bad data fail here, alike on every rank */
                v[1] = (float)ae_dataset_count(val_mine);
                v[0] = (float)(mine * (double)v[1]);
            }
            if ((rc = ae__dist_reduce(&coll, v, 2, det, gtmp, who)) < 0)
                goto done;
            p.val_loss = (double)v[0] / (double)v[1];
        } else if (val != NULL) {
            if (mode == TARGET_SELF && !o->validation_noise && o->loss != AE_LOSS_CUSTOM)
                rc = ae_model_evaluate(model, val, o->loss, &p.val_loss);
            else
                rc = evaluate(model, val, val_targets, mode == TARGET_LABELS, o->loss,
                              o->validation_noise ? o->noise : AE_NOISE_NONE, o->noise_amount,
                              noise_lo, noise_hi, o->seed, &p.val_loss, who);
            if (rc < 0)
                goto done;
            /* the validation loss in the training loss's unit */
            if (o->loss_reduction == AE_REDUCE_SUM_PER_SAMPLE && o->loss != AE_LOSS_SOFTMAX_CE)
                p.val_loss *= (double)out_size;
        }
        if ((rc = ae__model_history_push(model, p.loss, p.val_loss)) < 0 ||
            (rc = ae__model_history_set_terms(model, terms / (double)seen)) < 0)
            goto done;
        res.epochs_run = e + 1;
        /* the monitored loss: early stopping, restore_best, the plateau rule */
        const double watched = val != NULL ? p.val_loss : p.loss;
        if (watched < best_loss - (double)o->min_delta || res.best_epoch < 0) {
            best_loss = watched;
            res.best_epoch = (int32_t)e;
            res.best_loss = watched;
            since_best = 0;
            if (o->restore_best)
                snapshot_take(&best, opt);
        } else {
            since_best++;
        }
        if (o->lr_schedule == AE_LR_PLATEAU) {
            if (watched < plateau_best - (double)o->min_delta) {
                plateau_best = watched;
                since_plateau = 0;
            } else if (++since_plateau >= o->lr_step_epochs) {
                lr = fmaxf(lr * o->lr_factor, o->lr_min);
                since_plateau = 0;
            }
        }
        p.best_epoch = res.best_epoch;
        p.samples = seen;
        p.seconds = now_seconds() - start;
        if ((rc = report(o, &p, who)) < 0)
            goto done;
        if (o->patience > 0 && since_best >= o->patience) {
            res.stopped_early = 1;
            break;
        }
    }
    if (o->restore_best && res.best_epoch >= 0 && (uint32_t)res.best_epoch + 1 != res.epochs_run) {
        snapshot_restore(&best, opt);
        res.restored = 1;
    }
    rc = AE_OK;
    goto done;
diverged:
    /* Back to the end of the last completed epoch: finite, and what the
     * history describes. */
    snapshot_restore(&snap, opt);
done:
    res.learning_rate = ae_optimizer_learning_rate(opt);
    if (o->result != NULL)
        ae__fill_struct(o->result, &res, sizeof res, sizeof res, who);
    snapshot_free(&snap);
    snapshot_free(&best);
    ae_step_destroy(step);
    ae_dataset_destroy(val_mine);
    ae_dataset_destroy(valt_mine);
    ae__free(lidx);
    ae__free(gtmp);
    ae__free(order);
    ae__free(xbuf);
    ae__free(tbuf);
    ae__free(lbuf);
    return rc;
}

/* With a scaler (ae/scaler.h) the model trains on raw data: the training
 * and validation inputs are scaled once here, and the scaler is set aside
 * while train_core() runs on the scaled copies. */
static int train(ae_model *model, ae_optimizer *opt, const ae_dataset *data,
                 const ae_dataset *targets, int mode, const ae_train_options *user,
                 const char *who)
{
    if (model == NULL || opt == NULL || data == NULL || user == NULL)
        return AE__NULL_ARG_AS(who, "model, opt, data, opts", model, opt, data, user);
    if (model->scaler == NULL)
        return train_core(model, opt, data, targets, mode, user, who);
    ae_train_options o;
    int rc = ae__check_struct(user, user->struct_size, offsetof(ae_train_options, noise),
                              sizeof o, who);
    if (rc < 0)
        return rc;
    memset(&o, 0, sizeof o);
    memcpy(&o, user, user->struct_size < sizeof o ? user->struct_size : sizeof o);
    ae_dataset *scaled = NULL, *scaled_val = NULL;
    const ae_dataset *val = o.validation;
    if ((rc = ae__model_scale_data(model, &data, &scaled, who)) == AE_OK && val != NULL)
        rc = ae__model_scale_data(model, &val, &scaled_val, who);
    if (rc == AE_OK) {
        ae_scaler *sc = model->scaler;
        o.validation = val;
        model->scaler = NULL;
        rc = train_core(model, opt, data, targets, mode, &o, who);
        model->scaler = sc;
    }
    ae_dataset_destroy(scaled);
    ae_dataset_destroy(scaled_val);
    return rc;
}

int ae_model_train(ae_model *model, ae_optimizer *opt, const ae_dataset *data,
                   const ae_train_options *o)
{
    return train(model, opt, data, NULL, TARGET_SELF, o, "ae_model_train");
}

int ae_model_train_pairs(ae_model *model, ae_optimizer *opt, const ae_dataset *inputs,
                         const ae_dataset *targets, const ae_train_options *o)
{
    return train(model, opt, inputs, targets, targets != NULL ? TARGET_DATASET : TARGET_LABELS, o,
                 "ae_model_train_pairs");
}
