/* SPDX-License-Identifier: MIT */
/*
 * train.c - the training loop: shuffled mini-batches through the encoder
 * and decoder chain, loss, backward pass, optimizer step.
 *
 * All memory a step needs (activations of every layer, two gradient
 * buffers, one workspace per layer, the parameter list and the sample
 * order) is allocated once per ae_model_train() call: a steady-state step
 * allocates nothing. A batch whose rows lie one after the other in the
 * dataset (no shuffling) is used in place; others are gathered into acts[0].
 *
 * Determinism: the sample order of epoch e (counted over the model's whole
 * history) comes from a generator seeded with (seed, e), so training N
 * epochs and then M more visits the same batches as N + M at once. So does
 * the noise of denoising training: a third generator seeded with (seed, e)
 * corrupts each batch into acts[0] while the clean batch stays in `target`.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "ae/train.h"
#include "data/dataset.h"
#include "data/noise.h"
#include "core/kernels.h"
#include "data/scaler.h"
#include "nn/nn.h"
#include "optim/optimizer.h"

typedef struct trainer {
    ae__layer **layers; /* encoder layers, then decoder layers */
    size_t n;
    float **acts;       /* n + 1 buffers of batch * width: input, each output */
    float *grad[2];     /* ping-pong dL/d(activation) */
    void **ws;          /* one workspace per layer (NULL when none) */
    ae_param_view *params;
    size_t n_params;
    float *target;      /* gathered clean batch: its own buffer with noise, else acts[0] */
    size_t *order;      /* sample order of the current epoch */
    void *block;        /* the one allocation behind acts, grads, workspaces */
} trainer;

static void trainer_free(trainer *t)
{
    ae__free(t->layers);
    ae__free(t->acts);
    ae__free(t->ws);
    ae__free(t->params);
    ae__free(t->order);
    ae__free(t->block);
}

/* Rounds up to 64 bytes; saturates at SIZE_MAX so the checked sums that
 * follow report the overflow instead of wrapping. */
static size_t align64(size_t n) { return ae__round_up(n, 64); }

static int trainer_init(trainer *t, ae_model *model, size_t batch, size_t count, int noisy)
{
    ae__net *nets[2] = {&model->enc->net, &model->dec->net};
    memset(t, 0, sizeof *t);
    t->n = nets[0]->n + nets[1]->n;
    t->n_params = ae__net_tensor_count(nets[0]) + ae__net_tensor_count(nets[1]);
    t->layers = ae__calloc(t->n, sizeof *t->layers);
    t->acts = ae__calloc(t->n + 1, sizeof *t->acts);
    t->ws = ae__calloc(t->n, sizeof *t->ws);
    t->params = ae__calloc(t->n_params ? t->n_params : 1, sizeof *t->params);
    t->order = ae__calloc(count, sizeof *t->order);
    if (!t->layers || !t->acts || !t->ws || !t->params || !t->order)
        return AE_ERR_NOMEM;

    size_t k = 0, width = nets[0]->in_size;
    for (int j = 0; j < 2; j++)
        for (size_t i = 0; i < nets[j]->n; i++) {
            ae__layer *l = &nets[j]->layers[i];
            if (!ae__kind_trains(l->kind))
                return ae__error(AE_ERR_UNSUPPORTED,
                                 "ae_model_train: layer %zu ('%s') has no backward pass", k,
                                 l->kind->name);
            t->layers[k++] = l;
            if (l->out_size > width)
                width = l->out_size;
        }

    /* Sizes are bounded by layer checks (< 2^31 floats per sample) and the
     * batch by the dataset count; still, check every product. */
    size_t total = 0, bytes;
    if (!ae__mul_size(batch, nets[0]->in_size * sizeof(float), &bytes) ||
        !ae__add_size(total, align64(bytes), &total))
        goto overflow;
    for (size_t i = 0; i < t->n; i++) {
        if (!ae__mul_size(batch, t->layers[i]->out_size * sizeof(float), &bytes) ||
            !ae__add_size(total, align64(bytes), &total))
            goto overflow;
        const ae__layer *l = t->layers[i];
        size_t ws = ae__kind_workspace(l->kind, l->state, batch);
        if (!ae__add_size(total, align64(ws), &total))
            goto overflow;
    }
    if (!ae__mul_size(batch, width * sizeof(float), &bytes) ||
        !ae__add_size(total, 2 * align64(bytes), &total))
        goto overflow;
    if (noisy && !ae__add_size(total, align64(batch * nets[0]->in_size * sizeof(float)), &total))
        goto overflow;
    t->block = ae__alloc(total);
    if (t->block == NULL)
        return AE_ERR_NOMEM;

    char *p = t->block;
    t->acts[0] = (float *)(void *)p;
    p += align64(batch * nets[0]->in_size * sizeof(float));
    for (size_t i = 0; i < t->n; i++) {
        const ae__layer *l = t->layers[i];
        t->acts[i + 1] = (float *)(void *)p;
        p += align64(batch * l->out_size * sizeof(float));
        size_t ws = ae__kind_workspace(l->kind, l->state, batch);
        if (ws) {
            t->ws[i] = p;
            p += align64(ws);
        }
    }
    t->grad[0] = (float *)(void *)p;
    t->grad[1] = (float *)(void *)(p + align64(batch * width * sizeof(float)));
    p += 2 * align64(batch * width * sizeof(float));
    t->target = noisy ? (float *)(void *)p : t->acts[0];

    int rc = ae__net_params(nets[0], t->params);
    if (rc == AE_OK)
        rc = ae__net_params(nets[1], t->params + ae__net_tensor_count(nets[0]));
    return rc;
overflow:
    return ae__error(AE_ERR_LIMIT, "ae_model_train: batch %zu needs more memory than can be addressed",
                     batch);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int params_finite(const trainer *t)
{
    for (size_t i = 0; i < t->n_params; i++) {
        const float *v = t->params[i].value;
        float acc = 0.0f;
        for (size_t j = 0; j < t->params[i].count; j++)
            acc += v[j] * 0.0f; /* NaN or Inf anywhere makes acc NaN */
        if (acc != 0.0f)
            return 0;
    }
    return 1;
}

/* ---- the last finite state ---------------------------------------------
 *
 * What an epoch changes: every parameter, the layers' state tensors (batch
 * normalization's running statistics), the optimizer's buffers and its step
 * count. A snapshot copies them at the start of each epoch so that an
 * AE_ERR_NUMERIC failure can put the model and the optimizer back as they
 * were after the last completed epoch (the last entry of the history). */
typedef struct snapshot {
    float **at;      /* where each region lives */
    size_t *count;   /* its floats */
    size_t n;        /* regions */
    float *copy;     /* all regions, one after the other */
    uint64_t steps;  /* the optimizer's step count */
} snapshot;

static void snapshot_free(snapshot *s)
{
    ae__free(s->at);
    ae__free(s->count);
    ae__free(s->copy);
}

/* Lists the regions (after the optimizer is bound) and allocates the copy. */
static int snapshot_init(snapshot *s, ae_model *model, const trainer *t, const ae_optimizer *opt)
{
    ae__net *nets[2] = {&model->enc->net, &model->dec->net};
    size_t n_states = ae__net_state_count(nets[0]) + ae__net_state_count(nets[1]);
    size_t max = t->n_params * 3 + n_states, total = 0;
    ae_param_view *states = ae__calloc(n_states ? n_states : 1, sizeof *states);
    memset(s, 0, sizeof *s);
    s->at = ae__calloc(max ? max : 1, sizeof *s->at);
    s->count = ae__calloc(max ? max : 1, sizeof *s->count);
    int rc = states && s->at && s->count ? AE_OK : AE_ERR_NOMEM;
    if (rc == AE_OK && n_states)
        rc = ae__net_states(nets[0], states);
    if (rc == AE_OK && n_states)
        rc = ae__net_states(nets[1], states + ae__net_state_count(nets[0]));
    for (size_t i = 0; rc == AE_OK && i < t->n_params; i++) {
        const float *value;
        float *b[2];
        size_t count;
        ae__optimizer_tensor(opt, i, &value, &count, &b[0], &b[1]);
        s->at[s->n] = t->params[i].value;
        s->count[s->n++] = t->params[i].count;
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
    if (rc == AE_OK && (s->copy = ae__calloc(total ? total : 1, sizeof(float))) == NULL)
        rc = AE_ERR_NOMEM;
    return rc;
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
static int data_finite(const ae_dataset *d, const char *which)
{
    const size_t count = ae_dataset_count(d), size = ae_dataset_sample_size(d);
    for (size_t i = 0; i < count; i++) {
        const float *row = ae__dataset_row(d, i);
        float acc = 0.0f;
        for (size_t j = 0; j < size; j++)
            acc += row[j] * 0.0f; /* NaN once any value is NaN or infinite */
        if (acc == 0.0f)
            continue;
        size_t j = 0;
        while (isfinite(row[j]))
            j++;
        return ae__error(AE_ERR_NUMERIC,
                         "ae_model_train: the %s data hold %s at sample %zu, feature %zu"
                         " (clean the data: no learning rate can train on it)",
                         which, isnan(row[j]) ? "NaN" : "an infinity", i, j);
    }
    return AE_OK;
}

/* Divergence by growth (include/ae/train.h states the rule): a batch loss
 * above AE__DIVERGE_BATCH times the lowest batch loss of the call so far,
 * or an epoch's mean above AE__DIVERGE_EPOCH times the lowest of the call's
 * starting loss (its first batch, before any update) and its epoch means. The floor keeps a batch that fitted exactly (loss 0) from
 * making every later rounding error look like growth. */
#define AE__DIVERGE_BATCH 1e6
#define AE__DIVERGE_EPOCH 1e2
#define AE__DIVERGE_FLOOR 1e-12

/* 1 when loss grew past factor times *lowest (then *lowest is kept); else
 * lowers *lowest to loss when smaller and returns 0. */
static int grew(double loss, double *lowest, double factor)
{
    if (loss > factor * fmax(*lowest, AE__DIVERGE_FLOOR))
        return 1;
    if (loss < *lowest)
        *lowest = loss;
    return 0;
}

static void shuffle_order(size_t *order, size_t count, uint64_t seed, uint64_t epoch, int shuffle)
{
    for (size_t i = 0; i < count; i++)
        order[i] = i;
    if (!shuffle)
        return;
    ae_rng rng;
    ae__rng_seed(&rng, seed ^ (0x9E3779B97F4A7C15ull * (epoch + 1)));
    for (size_t i = count - 1; i > 0; i--) {
        size_t j = (size_t)ae__rng_below(&rng, (uint64_t)i + 1);
        size_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

/* The batch order[0 .. b) of the dataset as one block of b rows: the
 * dataset's own memory when those rows lie there one after the other (no
 * shuffling over a contiguous view), else a copy gathered into buf. */
static const float *batch_rows(float *buf, const ae_dataset *data, const size_t *order, size_t b,
                               size_t size)
{
    const float *first = ae__dataset_row(data, order[0]);
    size_t i = 1;
    while (i < b && ae__dataset_row(data, order[i]) == first + i * size)
        i++;
    if (i == b)
        return first;
    for (i = 0; i < b; i++)
        memcpy(buf + i * size, ae__dataset_row(data, order[i]), size * sizeof(float));
    return buf;
}

/* One optimizer step on the batch x (b rows, acts[0] or the dataset's own
 * rows) against target; returns the batch loss through *loss. */
static int train_step(trainer *t, ae_optimizer *opt, int loss_kind, const float *x,
                      const float *target, size_t b, size_t in_size, ae_rng *rng, double *loss)
{
    ae_layer_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.struct_size = sizeof ctx;
    ctx.batch = b;
    ctx.training = 1;
    ctx.rng = rng;
    for (size_t i = 0; i < t->n; i++) {
        const ae__layer *l = t->layers[i];
        ctx.workspace = t->ws[i];
        int rc = ae__kind_forward(l->kind, l->state, &ctx, i == 0 ? x : t->acts[i], t->acts[i + 1]);
        if (rc < 0)
            return rc;
    }
    size_t n = b * in_size;
    *loss = ae__loss(loss_kind, t->acts[t->n], target, n, t->grad[0], (double)n);
    if (!isfinite(*loss))
        return AE_ERR_NUMERIC;
    int cur = 0;
    for (size_t i = t->n; i-- > 0;) {
        const ae__layer *l = t->layers[i];
        float *dx = i == 0 ? NULL : t->grad[1 - cur];
        ctx.workspace = t->ws[i];
        int rc = ae__kind_backward(l->kind, l->state, &ctx, i == 0 ? x : t->acts[i],
                                   t->acts[i + 1], t->grad[cur], dx);
        if (rc < 0)
            return rc;
        cur = 1 - cur;
    }
    ae__optimizer_step(opt, t->params, t->n_params);
    return AE_OK;
}

static int report(const ae_train_options *o, ae_progress *p)
{
    if (o->progress == NULL)
        return AE_OK;
    if (o->progress(p, o->progress_user) != 0)
        return ae__error(AE_ERR_CANCELLED, "ae_model_train: stopped by the progress callback in epoch %u",
                         p->epoch + 1);
    return AE_OK;
}

int ae_model_train(ae_model *model, ae_optimizer *opt, const ae_dataset *data,
                   const ae_train_options *o)
{
    int rc;
    if (model == NULL || opt == NULL || data == NULL || o == NULL)
        return AE__NULL_ARG_AS("ae_model_train", "model, opt, data, opts", model, opt, data, o);
    /* The first released layout ends with progress_user; later fields read as 0. */
    if ((rc = ae__check_struct(o, o->struct_size, offsetof(ae_train_options, noise), sizeof *o,
                               "ae_model_train")) < 0)
        return rc;
    ae_train_options opts;
    memset(&opts, 0, sizeof opts);
    memcpy(&opts, o, o->struct_size < sizeof opts ? o->struct_size : sizeof opts);
    o = &opts;
    if ((rc = ae__noise_check(o->noise, o->noise_amount, "ae_model_train")) < 0)
        return rc;
    if (o->batch_size == 0)
        return ae__error(AE_ERR_INVALID, "ae_model_train: batch_size is 0");
    if (!ae__loss_valid(o->loss))
        return ae__error(AE_ERR_INVALID, "ae_model_train: unknown loss %d", o->loss);
    if (o->shuffle != 0 && o->shuffle != 1)
        return ae__error(AE_ERR_INVALID, "ae_model_train: shuffle is %d, expected 0 or 1", o->shuffle);
    const size_t in_size = model->enc->net.in_size, out_size = model->dec->net.out_size;
    const size_t size = ae_dataset_sample_size(data), count = ae_dataset_count(data);
    if (size != in_size || size != out_size)
        return ae__error(AE_ERR_SHAPE,
                         "ae_model_train: samples have %zu values, the model takes %zu and gives %zu",
                         size, in_size, out_size);
    if (count == 0)
        return ae__error(AE_ERR_INVALID, "ae_model_train: the dataset is empty");
    if (o->validation != NULL && ae_dataset_sample_size(o->validation) != size)
        return ae__error(AE_ERR_SHAPE, "ae_model_train: validation samples have %zu values, training %zu",
                         ae_dataset_sample_size(o->validation), size);
    if (o->epochs == 0)
        return AE_OK;

    if ((rc = data_finite(data, "training")) < 0 ||
        (o->validation != NULL && (rc = data_finite(o->validation, "validation")) < 0))
        return rc;

    const size_t batch = o->batch_size < count ? o->batch_size : count;
    const size_t batches = (count + batch - 1) / batch;
    trainer t;
    snapshot snap;
    memset(&snap, 0, sizeof snap);
    const int noisy = o->noise != AE_NOISE_NONE;
    ae_dataset *scaled = NULL; /* data through the model's scaler (ae/scaler.h) */
    float noise_lo = 0.0f, noise_hi = 1.0f;
    if ((rc = trainer_init(&t, model, batch, count, noisy)) < 0 ||
        (rc = ae__model_scale_data(model, &data, &scaled, "ae_model_train")) < 0 ||
        (noisy && (rc = ae__noise_range(o->noise, o->noise_clip, o->noise_min, o->noise_max, data,
                                        &noise_lo, &noise_hi, "ae_model_train")) < 0))
        goto done;
    if ((rc = ae__optimizer_bind_owner(opt, model->id, t.params, t.n_params)) < 0)
        goto done;
    if ((rc = snapshot_init(&snap, model, &t, opt)) < 0)
        goto done;

    const double start = now_seconds();
    double lowest_batch = INFINITY, lowest_epoch = INFINITY;
    for (uint32_t e = 0; e < o->epochs; e++) {
        snapshot_take(&snap, opt);
        const uint64_t global_epoch = model->history_len;
        ae_rng layer_rng, noise_rng;
        ae__rng_seed(&layer_rng, o->seed ^ (0xD1B54A32D192ED03ull * (global_epoch + 1)));
        ae__rng_seed(&noise_rng, o->seed ^ (0x8CB92BA72F3D8DD7ull * (global_epoch + 1)));
        shuffle_order(t.order, count, o->seed, global_epoch, o->shuffle);
        double sum = 0.0;
        size_t seen = 0;
        ae_progress p;
        memset(&p, 0, sizeof p);
        p.struct_size = sizeof p;
        p.epoch = e;
        p.epochs = o->epochs;
        p.batches = batches;
        p.val_loss = NAN;
        for (size_t bi = 0; bi < batches; bi++) {
            size_t first = bi * batch, b = count - first < batch ? count - first : batch;
            const float *clean = batch_rows(t.target, data, t.order + first, b, size);
            if (noisy)
                ae__noise_apply_range(o->noise, o->noise_amount, noise_lo, noise_hi, &noise_rng,
                                      clean, t.acts[0], b * size);
            double loss = NAN;
            rc = train_step(&t, opt, o->loss, noisy ? t.acts[0] : clean, clean, b, size,
                            &layer_rng, &loss);
            if (rc == AE_ERR_NUMERIC) {
                rc = ae__error(AE_ERR_NUMERIC,
                               "ae_model_train: the loss became %s in epoch %u, batch %zu (lower the learning rate?)",
                               isnan(loss) ? "NaN" : "infinite", e + 1, bi + 1);
                goto diverged;
            }
            if (rc < 0)
                goto done;
            if (lowest_epoch == INFINITY)
                lowest_epoch = loss; /* the starting loss, before any update */
            if (grew(loss, &lowest_batch, AE__DIVERGE_BATCH)) {
                rc = ae__error(AE_ERR_NUMERIC,
                               "ae_model_train: diverged in epoch %u, batch %zu: its loss %g is over"
                               " %g times the lowest batch loss so far, %g (an outlier in the data,"
                               " or too high a learning rate?)",
                               e, bi, loss, AE__DIVERGE_BATCH, lowest_batch);
                goto diverged;
            }
            sum += loss * (double)b;
            seen += b;
            p.event = AE_PROGRESS_BATCH;
            p.batch = bi;
            p.loss = sum / (double)seen;
            p.seconds = now_seconds() - start;
            if ((rc = report(o, &p)) < 0)
                goto done;
        }
        if (!params_finite(&t)) {
            rc = ae__error(AE_ERR_NUMERIC,
                           "ae_model_train: a weight became NaN or infinite during epoch %u"
                           " (checked at the end of each epoch; batch %zu was the last)",
                           e + 1, batches);
            goto diverged;
        }
        p.event = AE_PROGRESS_EPOCH;
        p.batch = batches;
        p.loss = sum / (double)seen;
        if (grew(p.loss, &lowest_epoch, AE__DIVERGE_EPOCH)) {
            rc = ae__error(AE_ERR_NUMERIC,
                           "ae_model_train: diverged in epoch %u: its mean loss %g is over %g times"
                           " the lowest of the starting loss and the epoch means so far, %g"
                           " (too high a learning rate?)",
                           e, p.loss, AE__DIVERGE_EPOCH, lowest_epoch);
            goto diverged;
        }
        if (o->validation != NULL &&
            (rc = ae_model_evaluate(model, o->validation, o->loss, &p.val_loss)) < 0)
            goto done;
        if ((rc = ae__model_history_push(model, p.loss, p.val_loss)) < 0)
            goto done;
        p.seconds = now_seconds() - start;
        if ((rc = report(o, &p)) < 0)
            goto done;
    }
    rc = AE_OK;
    goto done;
diverged:
    /* Back to the end of the last completed epoch: finite, and what the
     * history describes. */
    snapshot_restore(&snap, opt);
done:
    snapshot_free(&snap);
    trainer_free(&t);
    ae_dataset_destroy(scaled);
    return rc;
}
