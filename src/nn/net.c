/* SPDX-License-Identifier: MIT */
/*
 * net.c - building a layer stack and running it in inference mode.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "net.h"

int ae__net_init(ae__net *net, const ae_shape *input, uint64_t seed, const char *who)
{
    int rc = ae__shape_check(input, who);
    if (rc < 0)
        return rc;
    memset(net, 0, sizeof *net);
    net->input = *input;
    net->output = *input;
    net->in_size = net->out_size = ae__shape_size(input);
    ae__rng_seed(&net->rng, seed);
    return AE_OK;
}

static void layer_fini(ae__layer *l)
{
    if (l->kind != NULL)
        ae__kind_destroy(l->kind, l->state);
    ae__kind_release(l->kind);
    ae__free(l->config);
}

void ae__net_fini(ae__net *net)
{
    for (size_t i = 0; i < net->n; i++)
        layer_fini(&net->layers[i]);
    ae__free(net->layers);
    memset(net, 0, sizeof *net);
}

/* A built-in kind's create() speaks for itself ("dense: units is 0"); the
 * public adder's name goes first, so a mistake reads the same whichever
 * check finds it. (A custom kind's message reaches the caller as it is.) */
static void prefix_error(int rc, const char *who)
{
    char detail[256];
    size_t n = strlen(who);
    const char *msg = ae_last_error();
    if (rc == AE_ERR_NOMEM || (strncmp(msg, who, n) == 0 && msg[n] == ':'))
        return;
    snprintf(detail, sizeof detail, "%s", msg);
    ae__error(rc, "%s: %s", who, detail[0] ? detail : ae_strerror(rc));
}

int ae__net_add(ae__net *net, const char *type_name, const void *config, size_t config_size,
                const char *who)
{
    char buf[64], buf2[64];
    int rc;
    if (type_name == NULL)
        return ae__error(AE_ERR_INVALID, "%s: type_name is NULL", who);
    if (config_size > AE_LAYER_CONFIG_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: layer config is %zu bytes, at most %u", who, config_size,
                         AE_LAYER_CONFIG_MAX);
    if (config_size > 0 && config == NULL)
        return ae__error(AE_ERR_INVALID, "%s: config is NULL with config_size %zu", who, config_size);
    if (net->owned)
        return ae__error(AE_ERR_STATE, "%s: it belongs to a model and can no longer change", who);

    if (net->n == net->cap) {
        size_t cap = net->cap ? 2 * net->cap : 8;
        ae__layer *grown = ae__calloc(cap, sizeof *grown);
        if (grown == NULL)
            return AE_ERR_NOMEM;
        if (net->n)
            memcpy(grown, net->layers, net->n * sizeof *grown);
        ae__free(net->layers);
        net->layers = grown;
        net->cap = cap;
    }

    ae__layer l;
    memset(&l, 0, sizeof l);
    if ((rc = ae__kind_acquire(type_name, &l.kind)) < 0)
        return ae__error(rc, "%s: no layer kind '%s' is registered", who, type_name);
    if (config_size > 0) {
        l.config = ae__alloc(config_size);
        if (l.config == NULL) {
            rc = AE_ERR_NOMEM;
            goto fail;
        }
        memcpy(l.config, config, config_size);
        l.config_size = config_size;
    }
    ae_layer_create_args args;
    memset(&args, 0, sizeof args);
    args.struct_size = sizeof args;
    args.input = net->output;
    args.config = l.config;
    args.config_size = l.config_size;
    args.rng = &net->rng;
    args.user_data = l.kind->user_data;
    l.in = net->output;
    ae_rng saved = net->rng; /* a failed add leaves the init stream untouched */
    rc = ae__kind_create(l.kind, &l.state, &l.out, &args);
    if (rc == AE_OK && l.state == NULL)
        rc = ae__error(AE_ERR_INVALID, "%s: layer '%s' create returned no state", who, type_name);
    if (rc < 0) {
        net->rng = saved;
        l.state = NULL;
        goto fail;
    }
    if ((rc = ae__shape_check(&l.out, type_name)) < 0) {
        net->rng = saved;
        ae__error(rc, "%s: layer '%s' reports an invalid output shape %s for input %s", who,
                  type_name, ae__shape_str(&l.out, buf, sizeof buf),
                  ae__shape_str(&l.in, buf2, sizeof buf2));
        goto fail;
    }
    l.in_size = ae__shape_size(&l.in);
    l.out_size = ae__shape_size(&l.out);
    l.n_tensors = ae__kind_tensor_count(l.kind, l.state, 0);
    l.n_states = ae__kind_tensor_count(l.kind, l.state, 1);
    if (l.n_tensors > AE__LAYER_TENSORS_MAX || l.n_states > AE__LAYER_TENSORS_MAX) {
        net->rng = saved;
        rc = ae__error(AE_ERR_LIMIT, "%s: layer '%s' reports %zu parameter and %zu state tensors, "
                       "at most %u each", who, type_name, l.n_tensors, l.n_states,
                       AE__LAYER_TENSORS_MAX);
        goto fail;
    }
    /* Every view now, as saving and cloning will read it: a layer that
     * cannot be saved is refused when it is added, not after training. */
    for (size_t t = 0; t < l.n_tensors + l.n_states; t++) {
        const int state = t >= l.n_tensors;
        const size_t index = state ? t - l.n_tensors : t;
        ae_param_view v;
        char where[96];
        snprintf(where, sizeof where, "layer '%s' %s %zu", type_name,
                 state ? "state tensor" : "parameter", index);
        if ((rc = ae__kind_tensor(l.kind, l.state, state, index, &v)) == AE_OK &&
            (v.value == NULL || (!state && v.grad == NULL) || v.count == 0))
            rc = ae__error(AE_ERR_INVALID, "%s: %s has no %s", who, where,
                           v.value == NULL ? "values" : v.count == 0 ? "count" : "gradient");
        if (rc == AE_OK)
            rc = ae__tensor_view_check(&v, who, where);
        if (rc < 0) {
            net->rng = saved;
            goto fail;
        }
    }
    net->layers[net->n++] = l;
    net->output = l.out;
    net->out_size = l.out_size;
    return AE_OK;
fail:
    layer_fini(&l);
    return rc;
}

int ae__net_add_builtin(ae__net *net, const char *type_name, const void *opts, const char *who)
{
    const ae__builtin *b = ae__builtin_find(type_name);
    _Alignas(max_align_t) unsigned char o[AE__OPTS_BUF];
    unsigned char cfg[AE__CONFIG_BUF];
    if (b == NULL) /* only the library calls this, with its own kinds */
        return ae__error(AE_ERR_NOT_FOUND, "%s: '%s' is not a built-in layer kind", who, type_name);
    if (b->opts_size > 0) {
        if (opts == NULL)
            return ae__error(AE_ERR_INVALID, "%s: %s", who, b->opts_null);
        if (b->opts_oldest > 0) { /* a versioned struct over its defaults */
            memcpy(o, b->defaults, b->opts_size);
            int rc = ae__take_struct(o, opts, b->opts_oldest, b->opts_size, who);
            if (rc < 0)
                return rc;
        } else {
            memcpy(o, opts, b->opts_size);
        }
    }
    size_t size = b->config(cfg, o);
    int rc = ae__net_add(net, type_name, size ? cfg : NULL, size, who);
    if (rc < 0)
        prefix_error(rc, who);
    return rc;
}

size_t ae__net_tensor_count(const ae__net *net)
{
    size_t n = 0;
    for (size_t i = 0; i < net->n; i++)
        n += net->layers[i].n_tensors;
    return n;
}

/* Describes every parameter tensor (state == 0) or state tensor (1) of the
 * net, layer by layer, into views; a layer's failing code is mapped as
 * forward()'s is, keeping the layer's own message. */
static int net_views(ae__net *net, ae_param_view *views, int state)
{
    size_t k = 0;
    for (size_t i = 0; i < net->n; i++) {
        ae__layer *l = &net->layers[i];
        size_t n = state ? l->n_states : l->n_tensors;
        for (size_t t = 0; t < n; t++, k++) {
            int rc = ae__kind_tensor(l->kind, l->state, state, t, &views[k]);
            if (rc != AE_OK)
                return rc;
        }
    }
    return AE_OK;
}

int ae__net_params(ae__net *net, ae_param_view *views) { return net_views(net, views, 0); }

size_t ae__net_state_count(const ae__net *net)
{
    size_t n = 0;
    for (size_t i = 0; i < net->n; i++)
        n += net->layers[i].n_states;
    return n;
}

int ae__net_states(ae__net *net, ae_param_view *views) { return net_views(net, views, 1); }

size_t ae__net_param_floats(const ae__net *net)
{
    size_t total = 0;
    for (size_t i = 0; i < net->n; i++) {
        const ae__layer *l = &net->layers[i];
        for (size_t t = 0; t < l->n_tensors; t++) {
            ae_param_view v;
            if (ae__kind_tensor(l->kind, l->state, 0, t, &v) == AE_OK)
                total += v.count;
        }
    }
    return total;
}

/* Scratch of at most this many bytes lives on the caller's stack: a single
 * sample (or a small batch) runs without touching the allocator. */
#define AE_STACK_SCRATCH 8192
/* Most threads one inference call runs on (its own and helpers). */
#define AE_MAX_WORKERS 64

/* One inference call: the chain, its input and output, and how chunks are
 * dealt out. Worker w runs chunks w, w + workers, w + 2 * workers, ... with
 * its own scratch; every chunk is AE__CHUNK samples (the last may be
 * fewer), so a chunk's results never depend on the number of workers. */
typedef struct chain_job {
    const ae__net *const *nets;
    size_t n_nets, layers, count, chunk, workers;
    const float *x;
    float *y;
    unsigned char *scratch; /* workers * per_worker bytes */
    size_t per_worker, buf_floats, buf_bytes, n_bufs, ws_bytes;
} chain_job;

typedef struct chain_worker {
    const chain_job *job;
    size_t w;
    int rc;
    char msg[256]; /* the failed layer's detail message, for the caller's thread */
} chain_worker;

static int run_chunks(const chain_job *j, size_t w)
{
    unsigned char *scratch = j->scratch + w * j->per_worker;
    float *ping[2] = {(float *)(void *)scratch,
                      j->n_bufs == 2 ? (float *)(void *)scratch + j->buf_floats : NULL};
    void *workspace = j->ws_bytes ? scratch + j->buf_bytes : NULL;
    const size_t in_size = j->nets[0]->in_size, out_size = j->nets[j->n_nets - 1]->out_size;
    for (size_t first = w * j->chunk; first < j->count; first += j->workers * j->chunk) {
        size_t b = j->count - first < j->chunk ? j->count - first : j->chunk;
        ae_layer_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.struct_size = sizeof ctx;
        ctx.batch = b;
        ctx.workspace = workspace;
        const float *in = j->x + first * in_size;
        size_t done = 0;
        for (size_t k = 0; k < j->n_nets; k++)
            for (size_t i = 0; i < j->nets[k]->n; i++) {
                const ae__layer *l = &j->nets[k]->layers[i];
                float *out = ++done == j->layers ? j->y + first * out_size
                                                 : ping[done & 1 & (j->n_bufs - 1)];
                int rc = ae__kind_forward(l->kind, l->state, &ctx, in, out);
                if (rc != AE_OK)
                    return rc;
                in = out;
            }
    }
    return AE_OK;
}

static void *chain_worker_main(void *arg)
{
    chain_worker *cw = arg;
    ae__blas_single(1);
    cw->rc = run_chunks(cw->job, cw->w);
    if (cw->rc < 0)
        snprintf(cw->msg, sizeof cw->msg, "%s", ae_last_error());
    return NULL;
}

/*
 * Inference over the chain in chunks of AE__CHUNK samples. With a thread
 * setting above 1 and more than one chunk, the chunks are shared between
 * the calling thread and up to setting - 1 helper threads started for the
 * call. Every product runs on one BLAS thread, so the results depend only
 * on the count, never on the setting nor on other threads' calls.
 */
int ae__chain_run(const ae__net *const *nets, size_t n_nets, const float *x, size_t count,
                  float *y, const char *who)
{
    size_t width = 0, ws_bytes = 0, layers = 0;
    const size_t chunk = count < AE__CHUNK ? count : AE__CHUNK;
    for (size_t k = 0; k < n_nets; k++)
        for (size_t i = 0; i < nets[k]->n; i++) {
            const ae__layer *l = &nets[k]->layers[i];
            size_t ws = ae__kind_workspace(l->kind, l->state, chunk);
            /* the last layer writes straight into y */
            if (l->out_size > width && !(k == n_nets - 1 && i == nets[k]->n - 1))
                width = l->out_size;
            if (ws > ws_bytes)
                ws_bytes = ws;
            layers++;
        }
    if (layers == 0)
        return ae__error(AE_ERR_STATE, "%s: there are no layers", who);

    chain_job j;
    memset(&j, 0, sizeof j);
    j.nets = nets;
    j.n_nets = n_nets;
    j.layers = layers;
    j.count = count;
    j.chunk = chunk;
    j.x = x;
    j.y = y;
    j.ws_bytes = ws_bytes;
    const size_t chunks = (count + chunk - 1) / chunk;
    size_t workers = (size_t)ae__threads();
    workers = workers < chunks ? workers : chunks;
    j.workers = workers < AE_MAX_WORKERS ? workers : AE_MAX_WORKERS;

    /* Per worker: ping-pong buffers for the intermediate outputs (none for
     * one layer, one for two), then the workspace, 64-byte aligned. */
    size_t total;
    j.n_bufs = layers < 3 ? layers - 1 : 2;
    if (!ae__mul_size(chunk, width, &j.buf_floats) ||
        !ae__mul_size(j.buf_floats, j.n_bufs * sizeof(float), &j.buf_bytes) ||
        (j.buf_bytes = ae__round_up(j.buf_bytes, 64)) == SIZE_MAX ||
        !ae__add_size(j.buf_bytes, ws_bytes, &j.per_worker) ||
        (j.per_worker = ae__round_up(j.per_worker, 64)) == SIZE_MAX ||
        !ae__mul_size(j.per_worker, j.workers, &total))
        return ae__error(AE_ERR_LIMIT, "%s: scratch memory size overflows", who);

    _Alignas(64) unsigned char stack[AE_STACK_SCRATCH];
    unsigned char *heap = NULL;
    if (total > 0) {
        if (total <= sizeof stack) {
            j.scratch = stack;
        } else {
            j.scratch = heap = ae__alloc(total);
            if (heap == NULL)
                return AE_ERR_NOMEM;
        }
    }

    int was_single = ae__blas_single(1);
    int rc = AE_OK;
    if (j.workers == 1) {
        rc = run_chunks(&j, 0);
    } else {
        chain_worker cw[AE_MAX_WORKERS];
        pthread_t th[AE_MAX_WORKERS];
        int started[AE_MAX_WORKERS];
        for (size_t w = 1; w < j.workers; w++) {
            cw[w].job = &j;
            cw[w].w = w;
            cw[w].rc = AE_OK;
            cw[w].msg[0] = '\0';
            started[w] = pthread_create(&th[w], NULL, chain_worker_main, &cw[w]) == 0;
        }
        rc = run_chunks(&j, 0);
        /* a helper that could not start: its chunks run here */
        for (size_t w = 1; w < j.workers; w++)
            if (!started[w])
                chain_worker_main(&cw[w]);
        for (size_t w = 1; w < j.workers; w++) {
            if (started[w])
                pthread_join(th[w], NULL);
            if (rc == AE_OK && cw[w].rc < 0)
                rc = ae__error(cw[w].rc, "%s", cw[w].msg);
        }
    }
    ae__blas_single(was_single);
    ae__free(heap);
    return rc;
}
