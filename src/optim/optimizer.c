/* SPDX-License-Identifier: MIT */
/*
 * optimizer.c - the optimizer handle: options, validation, binding to a
 * model's parameter list and the per-step dispatch to the update loops in
 * sgd.c and adam.c.
 *
 * State is allocated once, at the first bind: a table with one entry per
 * parameter tensor (its value pointer and size, which identify the model,
 * and its state buffers), and one zeroed float block sliced into the
 * buffers (SGD with momentum: a velocity per tensor; Adam/AdamW: m and v).
 * Each slice starts on a 64-byte boundary. Steps never allocate.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "core/pool.h"
#include "optim/kernels.h"
#include "optim/optimizer.h"

/* Floats per 64-byte line: slices are rounded up to this. */
#define SLICE_FLOATS 16u

typedef struct bound_param {
    const float *value; /* identifies the tensor */
    size_t count;
    float *m;           /* SGD velocity or Adam first moment, or NULL */
    float *v;           /* Adam second moment, or NULL */
    int frozen;         /* never updated, no state (a frozen layer's) */
} bound_param;

struct ae_optimizer {
    ae_optimizer_options opts; /* validated; struct_size is ours */
    uint64_t steps;
    int bound;
    uint64_t owner;            /* id of the bound model, 0 when unknown */
    size_t n;                  /* bound parameter tensors */
    bound_param *params;       /* n entries, NULL when n == 0 */
    float *state;              /* every state buffer, or NULL */
};

static const char *kind_name(int kind)
{
    switch (kind) {
    case AE_OPT_SGD: return "sgd";
    case AE_OPT_ADAM: return "adam";
    case AE_OPT_ADAMW: return "adamw";
    default: return "unknown";
    }
}

/* ---- options --------------------------------------------------------- */

int ae_optimizer_options_default(ae_optimizer_options *opts, int kind)
{
    if (opts == NULL)
        return ae__error(AE_ERR_INVALID, "ae_optimizer_options_default: opts is NULL");
    ae_optimizer_options o = AE_OPTIMIZER_OPTIONS_INIT;
    switch (kind) {
    case AE_OPT_SGD:
        o.learning_rate = 0.01f;
        break;
    case AE_OPT_ADAM:
        break;
    case AE_OPT_ADAMW:
        o.weight_decay = 0.01f;
        break;
    default:
        return ae__error(AE_ERR_INVALID,
                         "ae_optimizer_options_default: unknown kind %d"
                         " (0 sgd, 1 adam, 2 adamw)", kind);
    }
    o.kind = kind;
    /* Only the fields the caller's struct has: a program built against 1.0
     * passes the 1.0 size forever. */
    return ae__fill_struct(opts, &o, sizeof o, AE__LAYOUT_END(ae_optimizer_options, weight_decay),
                           "ae_optimizer_options_default");
}

static int check_unit(float x, const char *field, const char *kind)
{
    if (!(x >= 0.0f && x < 1.0f))
        return ae__error(AE_ERR_INVALID, "optimizer (%s): %s is %g, must be in [0, 1)",
                         kind, field, (double)x);
    return AE_OK;
}

static int check_learning_rate(float lr, const char *who)
{
    if (!(isfinite(lr) && lr > 0.0f))
        return ae__error(AE_ERR_INVALID, "%s: learning_rate is %g, must be finite and > 0",
                         who, (double)lr);
    return AE_OK;
}

/* Checks the fields @p o->kind uses; the others are ignored. */
static int check_options(const ae_optimizer_options *o)
{
    int rc;
    const char *kind = kind_name(o->kind);
    if (o->kind != AE_OPT_SGD && o->kind != AE_OPT_ADAM && o->kind != AE_OPT_ADAMW)
        return ae__error(AE_ERR_INVALID, "optimizer: kind is %d, must be 0 (sgd), 1 (adam)"
                         " or 2 (adamw)", o->kind);
    if ((rc = check_learning_rate(o->learning_rate, "optimizer")) < 0)
        return rc;
    if (!(isfinite(o->weight_decay) && o->weight_decay >= 0.0f))
        return ae__error(AE_ERR_INVALID, "optimizer (%s): weight_decay is %g, must be"
                         " finite and >= 0", kind, (double)o->weight_decay);
    if (o->kind == AE_OPT_SGD) {
        if ((rc = check_unit(o->momentum, "momentum", kind)) < 0)
            return rc;
        if (o->nesterov != 0 && o->nesterov != 1)
            return ae__error(AE_ERR_INVALID, "optimizer (sgd): nesterov is %d, must be 0 or 1",
                             o->nesterov);
        if (o->nesterov && o->momentum == 0.0f)
            return ae__error(AE_ERR_INVALID, "optimizer (sgd): nesterov is 1 but momentum"
                             " is 0; Nesterov needs momentum > 0");
        return AE_OK;
    }
    if ((rc = check_unit(o->beta1, "beta1", kind)) < 0 ||
        (rc = check_unit(o->beta2, "beta2", kind)) < 0)
        return rc;
    if (!(isfinite(o->epsilon) && o->epsilon > 0.0f))
        return ae__error(AE_ERR_INVALID, "optimizer (%s): epsilon is %g, must be finite"
                         " and > 0", kind, (double)o->epsilon);
    return AE_OK;
}

/* ---- handle ---------------------------------------------------------- */

int ae_optimizer_create_v(ae_optimizer **out, const ae_optimizer_options *opts,
                          unsigned header_version)
{
    static const ae_optimizer_options defaults = AE_OPTIMIZER_OPTIONS_INIT;
    int rc = ae__check_header(header_version, "ae_optimizer_create");
    if (rc < 0)
        return rc;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_optimizer_create: out is NULL");
    ae_optimizer_options o = defaults;
    if (opts != NULL &&
        (rc = ae__take_struct(&o, opts, AE__LAYOUT_END(ae_optimizer_options, weight_decay),
                              sizeof o, "ae_optimizer_options")) < 0)
        return rc;
    if ((rc = check_options(&o)) < 0)
        return rc;
    ae_optimizer *opt = ae__calloc(1, sizeof *opt);
    if (opt == NULL)
        return AE_ERR_NOMEM;
    opt->opts = o;
    *out = opt;
    return AE_OK;
}

static void unbind(ae_optimizer *opt)
{
    ae__free(opt->state);
    ae__free(opt->params);
    opt->state = NULL;
    opt->params = NULL;
    opt->n = 0;
    opt->bound = 0;
}

void ae_optimizer_destroy(ae_optimizer *opt)
{
    if (opt == NULL)
        return;
    unbind(opt);
    ae__free(opt);
}

int ae_optimizer_set_learning_rate(ae_optimizer *opt, float learning_rate)
{
    if (opt == NULL)
        return ae__error(AE_ERR_INVALID, "ae_optimizer_set_learning_rate: opt is NULL");
    int rc = check_learning_rate(learning_rate, "ae_optimizer_set_learning_rate");
    if (rc < 0)
        return rc;
    opt->opts.learning_rate = learning_rate;
    return AE_OK;
}

float ae_optimizer_learning_rate(const ae_optimizer *opt)
{
    return opt == NULL ? 0.0f : opt->opts.learning_rate;
}

uint64_t ae_optimizer_steps(const ae_optimizer *opt)
{
    return opt == NULL ? 0 : opt->steps;
}

void ae_optimizer_reset(ae_optimizer *opt)
{
    if (opt == NULL)
        return;
    unbind(opt);
    opt->steps = 0;
}

/* ---- binding ----------------------------------------------------------- */

/* State buffers per parameter tensor for this optimizer's settings. */
static size_t buffers_per_param(const ae_optimizer_options *o)
{
    if (o->kind == AE_OPT_SGD)
        return o->momentum > 0.0f ? 1 : 0;
    return 2;
}

/* *out = count rounded up to whole 64-byte lines; 0 on overflow. */
static int slice_floats(size_t count, size_t *out)
{
    if (!ae__add_size(count, SLICE_FLOATS - 1, out))
        return 0;
    *out = *out / SLICE_FLOATS * SLICE_FLOATS;
    return 1;
}

/* AE_OK when @p params is the list the optimizer is bound to. */
static int same_list(const ae_optimizer *opt, const ae_param_view *params, size_t n,
                     const unsigned char *frozen)
{
    if (n != opt->n)
        return ae__error(AE_ERR_STATE,
                         "optimizer: bound to a model with %zu parameter tensors, this one"
                         " has %zu; call ae_optimizer_reset() to train another model",
                         opt->n, n);
    for (size_t i = 0; i < n; i++) {
        const bound_param *b = &opt->params[i];
        if (params[i].value != b->value || params[i].count != b->count)
            return ae__error(AE_ERR_STATE,
                             "optimizer: parameter tensor %zu (%s, %zu floats) is not the"
                             " one it is bound to (%zu floats); call ae_optimizer_reset()"
                             " to train another model",
                             i, params[i].name != NULL ? params[i].name : "unnamed",
                             params[i].count, b->count);
        if (b->frozen != (frozen != NULL && frozen[i]))
            return ae__error(AE_ERR_STATE,
                             "optimizer: parameter tensor %zu (%s) was %s when the optimizer"
                             " was bound and is %s now; call ae_optimizer_reset() after"
                             " changing which layers train",
                             i, params[i].name != NULL ? params[i].name : "unnamed",
                             b->frozen ? "frozen" : "trainable", b->frozen ? "trainable" : "frozen");
    }
    return AE_OK;
}

int ae__optimizer_bind(ae_optimizer *opt, const ae_param_view *params, size_t n)
{
    return ae__optimizer_bind_owner(opt, 0, params, n);
}

int ae__optimizer_bind_owner(ae_optimizer *opt, uint64_t owner, const ae_param_view *params,
                             size_t n)
{
    return ae__optimizer_bind_frozen(opt, owner, params, n, NULL);
}

int ae__optimizer_bind_frozen(ae_optimizer *opt, uint64_t owner, const ae_param_view *params,
                              size_t n, const unsigned char *frozen)
{
    if (opt == NULL)
        return ae__error(AE_ERR_INVALID, "optimizer bind: opt is NULL");
    if (params == NULL && n > 0)
        return ae__error(AE_ERR_INVALID, "optimizer bind: params is NULL with %zu tensors", n);
    if (opt->bound) {
        if (owner != opt->owner)
            return ae__error(AE_ERR_STATE, "optimizer: bound to another model; call"
                             " ae_optimizer_reset() to train this one");
        return same_list(opt, params, n, frozen);
    }

    const size_t nbuf = buffers_per_param(&opt->opts);
    size_t total = 0; /* state floats */
    for (size_t i = 0; i < n; i++) {
        size_t c = params[i].count, slice;
        if (frozen != NULL && frozen[i])
            continue;
        if (c > 0 && (params[i].value == NULL || params[i].grad == NULL))
            return ae__error(AE_ERR_INVALID,
                             "optimizer bind: parameter tensor %zu has %zu floats but a"
                             " NULL value or grad buffer", i, c);
        if (!slice_floats(c, &slice) || !ae__mul_size(slice, nbuf, &slice) ||
            !ae__add_size(total, slice, &total))
            return ae__error(AE_ERR_NOMEM, "optimizer bind: state for %zu parameter"
                             " tensors overflows the address space", n);
    }

    bound_param *table = NULL;
    float *state = NULL, *next;
    if (n > 0 && (table = ae__calloc(n, sizeof *table)) == NULL)
        goto fail;
    if (total > 0 && (state = ae__calloc(total, sizeof *state)) == NULL)
        goto fail;
    next = state;
    for (size_t i = 0; i < n; i++) {
        size_t c = params[i].count, slice;
        slice_floats(c, &slice);
        table[i].value = params[i].value;
        table[i].count = c;
        table[i].frozen = frozen != NULL && frozen[i];
        if (table[i].frozen)
            continue;
        if (nbuf >= 1 && c > 0) {
            table[i].m = next;
            next += slice;
        }
        if (nbuf >= 2 && c > 0) {
            table[i].v = next;
            next += slice;
        }
    }
    opt->params = table;
    opt->state = state;
    opt->n = n;
    opt->owner = owner;
    opt->bound = 1;
    return AE_OK;

fail:
    ae__free(table);
    return ae__error(AE_ERR_NOMEM, "optimizer bind: out of memory allocating %s state"
                     " (%zu floats for %zu tensors)", kind_name(opt->opts.kind), total, n);
}

/* ---- stepping ---------------------------------------------------------- */

/* The update of every trainable tensor, split over the pool's threads by
 * ranges of the tensors laid end to end: element-wise, so any split gives
 * the same bits. */
typedef struct update_job {
    const ae_optimizer *opt;
    const ae_param_view *params;
    const ae__adam_coef *adam; /* NULL: SGD */
    size_t total;
} update_job;

/* Element operations per parameter, as multiply-adds (core/pool.h): Adam's
 * square root and division cost about as much as 16. */
#define UPDATE_WORK 16.0
/* Parameters per part at least. A model's parameters, gradients and
 * moments (16 bytes a parameter) stay in the caller's cache between steps
 * of a small batch, whose layers run whole on the caller: sending half of
 * them to another core each step measured slower (the dense AE's 101k
 * parameters at batch 16: 0.91x), so such steps split from 131,072 a part
 * (the VAE's 652k gain). After a batch whose layers ran in parts (`spread`)
 * the data is on both cores already: from 16,384 a part (the dense AE at
 * batch 32: 1.17x; batch 256: 1.02x). */
#define UPDATE_MIN_PART 131072
#define UPDATE_MIN_PART_SPREAD 16384

static void update_range(const update_job *j, size_t lo, size_t hi)
{
    const ae_optimizer *opt = j->opt;
    const ae_optimizer_options *o = &opt->opts;
    size_t at = 0;
    for (size_t i = 0; i < opt->n && at < hi; i++) {
        const ae_param_view *p = &j->params[i];
        const size_t count = opt->params[i].frozen ? 0 : p->count;
        const size_t a = lo > at ? lo - at : 0, b = hi - at < count ? hi - at : count;
        at += count;
        if (a >= b)
            continue;
        if (j->adam != NULL)
            ae__adam_update(p->value + a, p->grad + a, opt->params[i].m + a,
                            opt->params[i].v + a, b - a, j->adam);
        else
            ae__sgd_update(p->value + a, p->grad + a,
                           opt->params[i].m != NULL ? opt->params[i].m + a : NULL, b - a,
                           o->learning_rate, o->momentum, o->weight_decay, o->nesterov);
    }
}

static void update_part(void *arg, int part, int parts)
{
    const update_job *j = arg;
    size_t lo, hi;
    ae__pool_range(j->total, part, parts, 16, &lo, &hi);
    if (lo < hi)
        update_range(j, lo, hi);
}

static void update(const ae_optimizer *opt, const ae_param_view *params, const ae__adam_coef *c,
                   int spread)
{
    update_job j = {opt, params, c, 0};
    for (size_t i = 0; i < opt->n; i++)
        if (!opt->params[i].frozen)
            j.total += params[i].count;
    ae__pool_run(update_part, &j,
                 ae__pool_parts(j.total, spread ? UPDATE_MIN_PART_SPREAD : UPDATE_MIN_PART,
                                (double)j.total * UPDATE_WORK));
}

static void step_adam(const ae_optimizer *opt, const ae_param_view *params, int spread)
{
    const ae_optimizer_options *o = &opt->opts;
    const double t = (double)opt->steps;
    const double lr = o->learning_rate, wd = o->weight_decay;
    const double b1 = o->beta1, b2 = o->beta2;
    const int decoupled = o->kind == AE_OPT_ADAMW;
    ae__adam_coef c;
    c.decay = decoupled ? (float)(1.0 - lr * wd) : 1.0f;
    c.l2 = decoupled ? 0.0f : o->weight_decay;
    c.beta1 = o->beta1;
    c.one_minus_beta1 = (float)(1.0 - b1);
    c.beta2 = o->beta2;
    c.one_minus_beta2 = (float)(1.0 - b2);
    c.step_size = (float)(lr / (1.0 - pow(b1, t)));
    c.inv_bc2_sqrt = (float)(1.0 / sqrt(1.0 - pow(b2, t)));
    c.epsilon = o->epsilon;
    update(opt, params, &c, spread);
}

void ae__optimizer_step(ae_optimizer *opt, const ae_param_view *params, size_t n, int spread)
{
    /* Training binds first; a mismatch here is a libae bug, not user input. */
    if (opt == NULL || !opt->bound || n != opt->n || (params == NULL && n > 0))
        return;
    opt->steps++;
    if (opt->opts.kind == AE_OPT_SGD)
        update(opt, params, NULL, spread);
    else
        step_adam(opt, params, spread);
}

/* ---- model files ------------------------------------------------------- */

const ae_optimizer_options *ae__optimizer_options(const ae_optimizer *opt)
{
    return &opt->opts;
}

size_t ae__optimizer_buffers(const ae_optimizer *opt)
{
    return buffers_per_param(&opt->opts);
}

int ae__optimizer_bound(const ae_optimizer *opt, size_t *n)
{
    *n = opt->bound ? opt->n : 0;
    return opt->bound;
}

void ae__optimizer_tensor(const ae_optimizer *opt, size_t i, const float **value,
                          size_t *count, float **buffer0, float **buffer1)
{
    const bound_param *b = &opt->params[i];
    *value = b->value;
    *count = b->count;
    *buffer0 = b->m;
    *buffer1 = b->v;
}

void ae__optimizer_set_steps(ae_optimizer *opt, uint64_t steps)
{
    opt->steps = steps;
}
