/* SPDX-License-Identifier: MIT */
/*
 * step.c - the training step as a handle (ae/step.h): forward through the
 * encoder and decoder chain, loss, backward, the gradient buffer, the
 * optimizer update. ae_model_train() (train.c) is a loop over it.
 *
 * All memory is allocated by ae_step_create() in one block (activations of
 * every layer, two ping-pong gradient buffers, one workspace per layer, the
 * noise and one-hot buffers, the flat gradient) plus the tables: a step
 * allocates nothing.
 *
 * Gradients: backward() overwrites each layer's own gradient buffers. One
 * compute and an apply use them as they are (no copy: the hot path of
 * ae_model_train()). The flat buffer comes in only when asked for
 * (ae_step_gradients(), ae_step_clip()) or when a second compute joins the
 * pending one: then it holds the running mean over the rows so far,
 * flat += (g - flat) * rows / total_rows, and the update reads it through
 * views whose grad points into it.
 *
 * Backward runs from the last layer down to the first one with trainable
 * parameters; layers in front of it (a frozen encoder) need no gradient.
 */
#include <math.h>
#include <string.h>

#include "ae/params.h"
#include "ae/step.h"
#include "ae/train.h"
#include "core/kernels.h"
#include "core/pool.h"
#include "data/noise.h"
#include "nn/nn.h"
#include "optim/optimizer.h"
#include "train/train.h"

struct ae_step {
    ae_model *model;
    ae_optimizer *opt;
    ae_step_options o;
    size_t in_size, out_size;
    ae__layer **layers;       /* encoder layers, then decoder layers */
    size_t n;
    size_t first;             /* first layer backward() reaches; n when none */
    float **acts;             /* n + 1 buffers of batch * width: input, each output */
    float *grad[2];           /* ping-pong dL/d(activation) */
    void **ws;                /* one workspace per layer (NULL when none) */
    ae_param_view *params;    /* every parameter tensor, layer grads */
    ae_param_view *flat_views;/* the same with grad in flat (frozen: NULL) */
    unsigned char *frozen;    /* per parameter tensor */
    size_t n_params;
    float *flat;              /* the trainable parameters' gradient */
    size_t n_flat;
    float *noisy;             /* corrupted inputs (with noise), else NULL */
    float *onehot;            /* targets from labels */
    ae_rng layer_rng, noise_rng;
    float noise_lo, noise_hi; /* the noise's range (ae__step_noise_range) */
    size_t pending, pending_rows; /* computes and rows since the last apply */
    int gathered;             /* flat holds the pending gradient */
    size_t last_rows;         /* rows of the last compute, 0 before */
    double last_terms;        /* the layers' loss terms of the last compute */
    void *block;
};

/* Rounds up to 64 bytes; saturates at SIZE_MAX so the checked sums that
 * follow report the overflow instead of wrapping. */
static size_t align64(size_t n) { return ae__round_up(n, 64); }

void ae_step_destroy(ae_step *s)
{
    if (s == NULL)
        return;
    ae__free(s->layers);
    ae__free(s->acts);
    ae__free(s->ws);
    ae__free(s->params);
    ae__free(s->flat_views);
    ae__free(s->frozen);
    ae__free(s->block);
    ae__free(s);
}

static size_t workspace(const ae__layer *l, size_t batch)
{
    return ae__kind_workspace(l->kind, l->state, batch);
}

/* Sizes and carves the block; fills the tables. */
static int step_init(ae_step *s, const char *who)
{
    ae__net *nets[2] = {&s->model->enc->net, &s->model->dec->net};
    const size_t batch = s->o.batch_size;
    s->n = nets[0]->n + nets[1]->n;
    s->n_params = ae__net_tensor_count(nets[0]) + ae__net_tensor_count(nets[1]);
    s->layers = ae__calloc(s->n, sizeof *s->layers);
    s->acts = ae__calloc(s->n + 1, sizeof *s->acts);
    s->ws = ae__calloc(s->n, sizeof *s->ws);
    s->params = ae__calloc(s->n_params ? s->n_params : 1, sizeof *s->params);
    s->flat_views = ae__calloc(s->n_params ? s->n_params : 1, sizeof *s->flat_views);
    s->frozen = ae__calloc(s->n_params ? s->n_params : 1, 1);
    if (!s->layers || !s->acts || !s->ws || !s->params || !s->flat_views || !s->frozen)
        return AE_ERR_NOMEM;

    size_t k = 0, width = nets[0]->in_size, t = 0;
    s->first = SIZE_MAX;
    for (int j = 0; j < 2; j++)
        for (size_t i = 0; i < nets[j]->n; i++, k++) {
            ae__layer *l = &nets[j]->layers[i];
            s->layers[k] = l;
            if (l->out_size > width)
                width = l->out_size;
            for (size_t p = 0; p < l->n_tensors; p++)
                s->frozen[t++] = (unsigned char)(l->frozen != 0);
            if (s->first == SIZE_MAX && l->n_tensors > 0 && !l->frozen)
                s->first = k;
        }
    if (s->first == SIZE_MAX)
        s->first = s->n;
    for (k = s->first; k < s->n; k++)
        if (!ae__kind_trains(s->layers[k]->kind))
            return ae__error(AE_ERR_UNSUPPORTED, "%s: layer %zu ('%s') has no backward pass", who,
                             k, s->layers[k]->kind->name);

    /* Sizes are bounded by layer checks (< 2^31 floats per sample); still,
     * check every product. */
    size_t total = 0, bytes;
    if (!ae__mul_size(batch, s->in_size * sizeof(float), &bytes) ||
        !ae__add_size(total, align64(bytes), &total))
        goto overflow;
    for (k = 0; k < s->n; k++) {
        if (!ae__mul_size(batch, s->layers[k]->out_size * sizeof(float), &bytes) ||
            !ae__add_size(total, align64(bytes), &total) ||
            !ae__add_size(total, align64(workspace(s->layers[k], batch)), &total))
            goto overflow;
    }
    if (!ae__mul_size(batch, width * sizeof(float), &bytes) ||
        !ae__add_size(total, 2 * align64(bytes), &total))
        goto overflow;
    if (s->o.noise != AE_NOISE_NONE &&
        (!ae__mul_size(batch, s->in_size * sizeof(float), &bytes) ||
         !ae__add_size(total, align64(bytes), &total)))
        goto overflow;
    if (!ae__mul_size(batch, s->out_size * sizeof(float), &bytes) ||
        !ae__add_size(total, align64(bytes), &total))
        goto overflow;
    s->n_flat = ae_model_trainable_count(s->model);
    if (!ae__mul_size(s->n_flat + AE__STEP_EXTRA, sizeof(float), &bytes) ||
        !ae__add_size(total, align64(bytes), &total))
        goto overflow;
    s->block = ae__alloc(total ? total : 1);
    if (s->block == NULL)
        return AE_ERR_NOMEM;

    char *p = s->block;
    s->acts[0] = (float *)(void *)p;
    p += align64(batch * s->in_size * sizeof(float));
    for (k = 0; k < s->n; k++) {
        const ae__layer *l = s->layers[k];
        s->acts[k + 1] = (float *)(void *)p;
        p += align64(batch * l->out_size * sizeof(float));
        size_t ws = workspace(l, batch);
        if (ws) {
            s->ws[k] = p;
            p += align64(ws);
        }
    }
    s->grad[0] = (float *)(void *)p;
    s->grad[1] = (float *)(void *)(p + align64(batch * width * sizeof(float)));
    p += 2 * align64(batch * width * sizeof(float));
    if (s->o.noise != AE_NOISE_NONE) {
        s->noisy = (float *)(void *)p;
        p += align64(batch * s->in_size * sizeof(float));
    }
    s->onehot = (float *)(void *)p;
    p += align64(batch * s->out_size * sizeof(float));
    s->flat = (float *)(void *)p;

    int rc = ae__net_params(nets[0], s->params);
    if (rc == AE_OK)
        rc = ae__net_params(nets[1], s->params + ae__net_tensor_count(nets[0]));
    if (rc < 0)
        return rc;
    size_t off = 0;
    for (t = 0; t < s->n_params; t++) {
        s->flat_views[t] = s->params[t];
        s->flat_views[t].grad = s->frozen[t] ? NULL : s->flat + off;
        if (!s->frozen[t])
            off += s->params[t].count;
    }
    return AE_OK;
overflow:
    return ae__error(AE_ERR_LIMIT, "%s: batch %zu needs more memory than can be addressed", who,
                     batch);
}

int ae__step_check(uint32_t batch_size, int loss, ae_loss_fn loss_fn, int noise, float amount,
                   int reduction, int reserved, const char *who)
{
    int rc;
    if (reduction != AE_REDUCE_MEAN && reduction != AE_REDUCE_SUM_PER_SAMPLE)
        return ae__error(AE_ERR_INVALID, "%s: unknown loss_reduction %d", who, reduction);
    if (reserved != 0)
        return ae__error(AE_ERR_INVALID, "%s: the reserved field is %d, must be 0", who, reserved);
    if ((rc = ae__noise_check(noise, amount, who)) < 0)
        return rc;
    if (batch_size == 0)
        return ae__error(AE_ERR_INVALID, "%s: batch_size is 0", who);
    if (!ae__loss_known(loss) && loss != AE_LOSS_CUSTOM)
        return ae__error(AE_ERR_INVALID, "%s: unknown loss %d", who, loss);
    if ((loss == AE_LOSS_CUSTOM) != (loss_fn != NULL))
        return ae__error(AE_ERR_INVALID, "%s: %s", who,
                         loss_fn == NULL ? "AE_LOSS_CUSTOM needs a loss_fn"
                                         : "a loss_fn needs loss AE_LOSS_CUSTOM");
    return AE_OK;
}

int ae__step_create(ae_step **out, ae_model *model, ae_optimizer *opt, const ae_step_options *o,
                    const char *who)
{
    int rc = ae__step_check(o->batch_size, o->loss, o->loss_fn, o->noise, o->noise_amount,
                            o->loss_reduction, o->reserved, who);
    if (rc < 0)
        return rc;
    ae_step *s = ae__calloc(1, sizeof *s);
    if (s == NULL)
        return AE_ERR_NOMEM;
    s->model = model;
    s->opt = opt;
    s->o = *o;
    s->in_size = model->enc->net.in_size;
    s->out_size = model->dec->net.out_size;
    s->noise_lo = o->noise_min;
    s->noise_hi = o->noise_max;
    ae_step_seed(s, 0, 0);
    if ((rc = step_init(s, who)) < 0 ||
        (rc = ae__optimizer_bind_frozen(opt, model->id, s->params, s->n_params, s->frozen)) < 0) {
        ae_step_destroy(s);
        return rc;
    }
    *out = s;
    return AE_OK;
}

int ae_step_create(ae_step **out, ae_model *model, ae_optimizer *opt, const ae_step_options *opts)
{
    ae_step_options o = AE_STEP_OPTIONS_INIT;
    int rc;
    if (out == NULL || model == NULL || opt == NULL)
        return ae__error(AE_ERR_INVALID, "ae_step_create: %s is NULL",
                         out == NULL ? "out" : model == NULL ? "model" : "opt");
    if (opts != NULL &&
        (rc = ae__take_struct(&o, opts, AE__LAYOUT_END(ae_step_options, noise_amount), sizeof o,
                              "ae_step_create")) < 0)
        return rc;
    if (o.noise != AE_NOISE_NONE &&
        !(isfinite(o.noise_min) && isfinite(o.noise_max) && o.noise_min < o.noise_max))
        return ae__error(AE_ERR_INVALID, "ae_step_create: noise range [%g, %g] must be finite "
                         "with noise_min < noise_max", (double)o.noise_min, (double)o.noise_max);
    return ae__step_create(out, model, opt, &o, "ae_step_create");
}

int ae_step_seed(ae_step *s, uint64_t seed, uint64_t epoch)
{
    if (s == NULL)
        return ae__error(AE_ERR_INVALID, "ae_step_seed: step is NULL");
    ae__rng_seed(&s->layer_rng, seed ^ (0xD1B54A32D192ED03ull * (epoch + 1)));
    ae__rng_seed(&s->noise_rng, seed ^ (0x8CB92BA72F3D8DD7ull * (epoch + 1)));
    return AE_OK;
}

static void drop(ae_step *s)
{
    s->pending = s->pending_rows = 0;
    s->gathered = 0;
}

/* Copies the layers' gradients (the last compute's) into flat. */
static void gather(ae_step *s)
{
    for (size_t t = 0; t < s->n_params; t++)
        if (!s->frozen[t])
            memcpy(s->flat_views[t].grad, s->params[t].grad, s->params[t].count * sizeof(float));
}

/* flat += (layer gradient - flat) * w: the running mean. */
static void blend(ae_step *s, float w)
{
    for (size_t t = 0; t < s->n_params; t++) {
        if (s->frozen[t])
            continue;
        float *f = s->flat_views[t].grad;
        const float *g = s->params[t].grad;
        for (size_t i = 0; i < s->params[t].count; i++)
            f[i] += (g[i] - f[i]) * w;
    }
}

/* The built-in loss and its gradient, split over the pool's threads by rows
 * (the gradient is element-wise: the same bits; the loss adds the parts'
 * sums in part order, fixed for a thread setting). */
typedef struct loss_job {
    int loss;
    const float *pred, *target;
    float *grad;
    size_t width, rows;
    double scale;
    double part[AE__POOL_MAX_PARTS];
} loss_job;

/* Element operations per value, as multiply-adds (core/pool.h). */
#define LOSS_WORK 4.0
/* Rows of a computed batch from which its parameters' update splits finer
 * (ae__optimizer_step): twice the dense layer's rows per part. */
#define SPREAD_MIN_ROWS 32

static void loss_part(void *arg, int part, int parts)
{
    loss_job *j = arg;
    size_t lo, hi;
    ae__pool_range(j->rows, part, parts, 1, &lo, &hi);
    j->part[part] = lo < hi ? ae__loss_rows(j->loss, j->pred + lo * j->width,
                                            j->target + lo * j->width, hi - lo, j->width,
                                            j->grad + lo * j->width, j->scale)
                            : 0.0;
}

static double loss_rows(int loss, const float *pred, const float *target, size_t rows,
                        size_t width, float *grad, double scale)
{
    const int parts = ae__pool_parts(rows, 8, (double)rows * (double)width * LOSS_WORK);
    if (parts <= 1)
        return ae__loss_rows(loss, pred, target, rows, width, grad, scale);
    loss_job j = {.loss = loss, .pred = pred, .target = target, .grad = grad, .width = width,
                  .rows = rows, .scale = scale};
    ae__pool_run(loss_part, &j, parts);
    double sum = 0.0;
    for (int p = 0; p < parts; p++)
        sum += j.part[p];
    return sum;
}

int ae__step_compute(ae_step *s, const float *x, const float *target, size_t rows, double *loss)
{
    ae_layer_ctx ctx;
    int rc;
    *loss = NAN;
    if (s->pending > 0 && !s->gathered) {
        gather(s); /* the next backward() overwrites the layers' gradients */
        s->gathered = 1;
    }
    const float *in = x;
    if (s->o.noise != AE_NOISE_NONE) {
        ae__noise_apply_range(s->o.noise, s->o.noise_amount, s->noise_lo, s->noise_hi,
                              &s->noise_rng, x, s->noisy, rows * s->in_size);
        in = s->noisy;
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.struct_size = sizeof ctx;
    ctx.batch = rows;
    ctx.training = 1;
    ctx.rng = &s->layer_rng;
    double extra = 0.0;
    for (size_t i = 0; i < s->n; i++) {
        const ae__layer *l = s->layers[i];
        ctx.workspace = s->ws[i];
        double term = 0.0;
        rc = ae__kind_forward(l->kind, l->state, &ctx, i == 0 ? in : s->acts[i], s->acts[i + 1]);
        if (rc == AE_OK)
            rc = ae__kind_loss_term(l->kind, l->state, &ctx, &term);
        if (rc < 0)
            goto fail;
        extra += term;
    }
    const float *pred = s->acts[s->n];
    s->last_rows = rows;
    s->last_terms = extra;
    if (s->o.loss == AE_LOSS_CUSTOM) {
        double l = NAN;
        rc = s->o.loss_fn(target, pred, rows, s->out_size, &l, s->grad[0], s->o.loss_user);
        if (rc != AE_OK) {
            rc = ae__layer_status(rc);
            goto fail;
        }
        *loss = l;
    } else {
        *loss = loss_rows(s->o.loss, pred, target, rows, s->out_size, s->grad[0],
                              s->o.loss_reduction == AE_REDUCE_SUM_PER_SAMPLE
                                  ? (double)rows
                                  : ae__loss_norm(s->o.loss, rows, s->out_size));
    }
    *loss += extra;
    if (!isfinite(*loss)) {
        rc = AE_ERR_NUMERIC;
        goto fail;
    }
    int cur = 0;
    for (size_t i = s->n; i-- > s->first;) {
        const ae__layer *l = s->layers[i];
        float *dx = i == s->first ? NULL : s->grad[1 - cur];
        ctx.workspace = s->ws[i];
        rc = ae__kind_backward(l->kind, l->state, &ctx, i == 0 ? in : s->acts[i], s->acts[i + 1],
                               s->grad[cur], dx);
        if (rc < 0)
            goto fail;
        cur = 1 - cur;
    }
    s->pending_rows += rows;
    if (s->pending++ > 0)
        blend(s, (float)((double)rows / (double)s->pending_rows));
    return AE_OK;
fail:
    drop(s);
    return rc;
}

/* The checks every public compute makes; writes the loss on success. */
static int compute(ae_step *s, const float *x, const float *target, size_t rows, double *loss,
                   const char *who)
{
    if (s == NULL || x == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who, s == NULL ? "step" : "x");
    if (rows == 0 || rows > s->o.batch_size)
        return ae__error(AE_ERR_INVALID, "%s: count is %zu, expected 1 to %u (batch_size)", who,
                         rows, s->o.batch_size);
    if (target == NULL) {
        if (s->in_size != s->out_size)
            return ae__error(AE_ERR_SHAPE,
                             "%s: no target, and the model takes %zu values and gives %zu", who,
                             s->in_size, s->out_size);
        target = x;
    }
    int rc = ae__loss_check_targets(s->o.loss, target, rows * s->out_size, who);
    if (rc < 0) {
        drop(s);
        return rc;
    }
    double l;
    rc = ae__step_compute(s, x, target, rows, &l);
    if (rc == AE_ERR_NUMERIC)
        rc = ae__error(AE_ERR_NUMERIC, "%s: the loss became %s", who, isnan(l) ? "NaN" : "infinite");
    if (rc == AE_OK && loss != NULL)
        *loss = l;
    return rc;
}

int ae_step_compute(ae_step *s, const float *x, const float *target, size_t rows, double *loss)
{
    return compute(s, x, target, rows, loss, "ae_step_compute");
}

int ae__step_onehot(ae_step *s, const int32_t *labels, size_t rows, const char *who)
{
    memset(s->onehot, 0, rows * s->out_size * sizeof(float));
    for (size_t i = 0; i < rows; i++) {
        if (labels[i] < 0 || (size_t)labels[i] >= s->out_size)
            return ae__error(AE_ERR_INVALID, "%s: label %zu is %d, the model gives %zu classes",
                             who, i, (int)labels[i], s->out_size);
        s->onehot[i * s->out_size + (size_t)labels[i]] = 1.0f;
    }
    return AE_OK;
}

const float *ae__step_onehot_buffer(const ae_step *s) { return s->onehot; }

int ae_step_compute_labels(ae_step *s, const float *x, const int32_t *labels, size_t rows,
                           double *loss)
{
    const char *who = "ae_step_compute_labels";
    if (s == NULL || x == NULL || labels == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who,
                         s == NULL ? "step" : x == NULL ? "x" : "labels");
    if (rows == 0 || rows > s->o.batch_size)
        return ae__error(AE_ERR_INVALID, "%s: count is %zu, expected 1 to %u (batch_size)", who,
                         rows, s->o.batch_size);
    int rc = ae__step_onehot(s, labels, rows, who);
    if (rc < 0) {
        drop(s);
        return rc;
    }
    return compute(s, x, s->onehot, rows, loss, who);
}

static int need_pending(const ae_step *s, const char *who)
{
    if (s->pending == 0)
        return ae__error(AE_ERR_STATE, "%s: no gradient is pending (call ae_step_compute() first)",
                         who);
    return AE_OK;
}

int ae_step_gradients(ae_step *s, float **grad, size_t *count)
{
    if (s == NULL || grad == NULL)
        return ae__error(AE_ERR_INVALID, "ae_step_gradients: %s is NULL", s == NULL ? "step" : "grad");
    int rc = need_pending(s, "ae_step_gradients");
    if (rc < 0)
        return rc;
    if (!s->gathered) {
        gather(s);
        s->gathered = 1;
    }
    *grad = s->flat;
    if (count != NULL)
        *count = s->n_flat;
    return AE_OK;
}

int ae_step_clip(ae_step *s, float max_norm, double *norm)
{
    if (s == NULL)
        return ae__error(AE_ERR_INVALID, "ae_step_clip: step is NULL");
    if (!(isfinite(max_norm) && max_norm > 0.0f))
        return ae__error(AE_ERR_INVALID, "ae_step_clip: max_norm is %g, must be finite and > 0",
                         (double)max_norm);
    float *g;
    int rc = ae_step_gradients(s, &g, NULL);
    if (rc < 0)
        return rc;
    double sq = 0.0;
    for (size_t i = 0; i < s->n_flat; i++)
        sq += (double)g[i] * (double)g[i];
    const double nrm = sqrt(sq);
    if (!isfinite(nrm))
        return ae__error(AE_ERR_NUMERIC, "ae_step_clip: the gradient's norm is %s",
                         isnan(nrm) ? "NaN" : "infinite");
    if (nrm > (double)max_norm) {
        const float f = (float)((double)max_norm / (nrm + 1e-6));
        for (size_t i = 0; i < s->n_flat; i++)
            g[i] *= f;
    }
    if (norm != NULL)
        *norm = nrm;
    return AE_OK;
}

int ae_step_apply(ae_step *s)
{
    if (s == NULL)
        return ae__error(AE_ERR_INVALID, "ae_step_apply: step is NULL");
    int rc = need_pending(s, "ae_step_apply");
    if (rc < 0)
        return rc;
    /* After a batch of SPREAD_MIN_ROWS rows or more the dense layers ran in
     * parts (src/layers/dense.c): the update may split finer. */
    ae__optimizer_step(s->opt, s->gathered ? s->flat_views : s->params, s->n_params,
                       s->pending_rows >= SPREAD_MIN_ROWS);
    drop(s);
    return AE_OK;
}

int ae_step_discard(ae_step *s)
{
    if (s == NULL)
        return ae__error(AE_ERR_INVALID, "ae_step_discard: step is NULL");
    drop(s);
    return AE_OK;
}

int ae_step_run(ae_step *s, const float *x, const float *target, size_t rows, double *loss)
{
    if (s != NULL && s->pending > 0)
        return ae__error(AE_ERR_STATE, "ae_step_run: a gradient is pending (apply or discard it)");
    int rc = compute(s, x, target, rows, loss, "ae_step_run");
    return rc < 0 ? rc : ae_step_apply(s);
}

int ae_step_output(const ae_step *s, const float **pred, size_t *rows)
{
    if (s == NULL || pred == NULL)
        return ae__error(AE_ERR_INVALID, "ae_step_output: %s is NULL", s == NULL ? "step" : "pred");
    if (s->last_rows == 0)
        return ae__error(AE_ERR_STATE, "ae_step_output: nothing was computed yet");
    *pred = s->acts[s->n];
    if (rows != NULL)
        *rows = s->last_rows;
    return AE_OK;
}

int ae_step_loss_terms(const ae_step *s, double *terms)
{
    if (s == NULL || terms == NULL)
        return ae__error(AE_ERR_INVALID, "ae_step_loss_terms: %s is NULL",
                         s == NULL ? "step" : "terms");
    if (s->last_rows == 0)
        return ae__error(AE_ERR_STATE, "ae_step_loss_terms: nothing was computed yet");
    *terms = s->last_terms;
    return AE_OK;
}

double ae__step_terms(const ae_step *s) { return s->last_terms; }

AE__VECTOR_CLONES
int ae__step_params_finite(const ae_step *s)
{
    for (size_t i = 0; i < s->n_params; i++)
        if (!ae__all_finite(s->params[i].value, s->params[i].count))
            return 0;
    return 1;
}

void ae__train_order(size_t *order, size_t count, uint64_t seed, uint64_t epoch, int shuffle)
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

int ae_train_order(size_t *order, size_t count, uint64_t seed, uint64_t epoch, int shuffle)
{
    if (order == NULL || count == 0)
        return ae__error(AE_ERR_INVALID, "ae_train_order: %s",
                         order == NULL ? "order is NULL" : "count is 0");
    if (shuffle != 0 && shuffle != 1)
        return ae__error(AE_ERR_INVALID, "ae_train_order: shuffle is %d, expected 0 or 1", shuffle);
    ae__train_order(order, count, seed, epoch, shuffle);
    return AE_OK;
}

const ae_param_view *ae__step_params(const ae_step *s, size_t *n)
{
    *n = s->n_params;
    return s->params;
}

void ae__step_noise_range(ae_step *s, float lo, float hi)
{
    s->noise_lo = lo;
    s->noise_hi = hi;
}

float *ae__step_reduce_buffer(ae_step *s, size_t *n, size_t *rows)
{
    if (s->pending == 0)
        memset(s->flat, 0, s->n_flat * sizeof(float));
    else if (!s->gathered) {
        gather(s);
        s->gathered = 1;
    }
    *n = s->n_flat;
    *rows = s->pending_rows;
    return s->flat;
}

void ae__step_reduced(ae_step *s)
{
    s->gathered = 1;
    if (s->pending == 0)
        s->pending = 1;
}
