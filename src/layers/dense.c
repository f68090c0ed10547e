/* SPDX-License-Identifier: MIT */
/*
 * dense.c - fully connected layer: y = act(x W^T + b).
 * W is units x inputs (row-major, PyTorch's layout), b has units entries.
 * Config (20 bytes, little-endian): u32 units, u32 activation, u32 init,
 * u32 use_bias, f32 leaky slope. Type version 1.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/kernels.h"
#include "core/core.h"
#include "core/pool.h"
#include "layer.h"

#define AE__DENSE_CONFIG_SIZE 20 /* units, activation, init, use_bias, slope */

typedef struct dense {
    size_t in, out;
    int act;
    float slope;
    int use_bias;
    float *w, *dw; /* out * in */
    float *b, *db; /* out (NULL without bias) */
} dense;

size_t ae__dense_config(unsigned char *out, const void *opts);
size_t ae__dense_config(unsigned char *out, const void *opts)
{
    const ae_dense_options *o = opts;
    ae__le32(out, o->units);
    ae__le32(out + 4, (uint32_t)o->activation);
    ae__le32(out + 8, (uint32_t)o->init);
    ae__le32(out + 12, (uint32_t)o->use_bias);
    ae__lef32(out + 16, o->slope);
    return AE__DENSE_CONFIG_SIZE;
}

static void dense_destroy(void *state)
{
    dense *d = state;
    if (d == NULL)
        return;
    ae__free(d->w);
    ae__free(d);
}

static int dense_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    if (args->config_size != AE__DENSE_CONFIG_SIZE || args->config == NULL)
        return ae__error(AE_ERR_INVALID, "dense: config is %zu bytes, expected %d",
                         args->config_size, AE__DENSE_CONFIG_SIZE);
    const unsigned char *c = args->config;
    uint32_t units = ae__rd32(c), act = ae__rd32(c + 4), init = ae__rd32(c + 8);
    uint32_t use_bias = ae__rd32(c + 12);
    float slope = ae__rdf32(c + 16);
    size_t in = ae__shape_size(&args->input), size;

    if (units == 0 || units > (uint32_t)INT32_MAX)
        return ae__error(AE_ERR_INVALID, "dense: units is %u, expected 1 to 2^31-1", units);
    if (!ae__activation_valid((int)act))
        return ae__error(AE_ERR_INVALID, "dense: unknown activation %d", (int)act);
    if (init > AE_INIT_HE_NORMAL)
        return ae__error(AE_ERR_INVALID, "dense: unknown initializer %d", (int)init);
    if (use_bias > 1)
        return ae__error(AE_ERR_INVALID, "dense: use_bias is %d, expected 0 or 1", (int)use_bias);
    if (!(slope >= 0.0f && slope <= 1e6f))
        return ae__error(AE_ERR_INVALID, "dense: leaky slope %g must be finite and >= 0", (double)slope);
    if (!ae__mul_size(in, units, &size) || size > (size_t)INT32_MAX)
        return ae__error(AE_ERR_LIMIT, "dense: %zu x %u weights exceed 2^31-1", in, units);

    dense *d = ae__calloc(1, sizeof *d);
    if (d == NULL)
        return AE_ERR_NOMEM;
    d->in = in;
    d->out = units;
    d->act = (int)act;
    d->slope = slope;
    d->use_bias = (int)use_bias;
    if (ae__weight_bias_alloc(size, use_bias ? units : 0, (int)init, in, units, args->rng, &d->w,
                              &d->dw, &d->b, &d->db) < 0) {
        ae__free(d);
        return AE_ERR_NOMEM;
    }
    output->rank = 1;
    memset(output->dims, 0, sizeof output->dims);
    output->dims[0] = units;
    *state = d;
    return AE_OK;
}

static size_t dense_param_count(const void *state)
{
    const dense *d = state;
    return d->use_bias ? 2 : 1;
}

static int dense_param_get(void *state, size_t index, ae_param_view *v)
{
    dense *d = state;
    const ae_shape ws = {2, {(uint32_t)d->out, (uint32_t)d->in, 0, 0}};
    return ae__weight_bias_view("dense", index, v, d->w, d->dw, &ws, d->use_bias ? d->b : NULL,
                                d->db, d->out);
}

static size_t dense_workspace_size(const void *state, size_t batch)
{
    const dense *d = state;
    /* dL/d(pre-activation) in backward; nothing needed without activation. */
    return d->act == AE_ACT_IDENTITY ? 0 : batch * d->out * sizeof(float);
}

/* y[r] = act(y[r] + b) for each of the n rows, or act(y) without bias. */
AE__VECTOR_CLONES
static void bias_activate(const dense *d, float *y, size_t n)
{
    if (d->use_bias)
        for (size_t r = 0; r < n; r++)
            ae__bias_activate_row(d->act, d->slope, y + r * d->out, d->b, d->out);
    else
        ae__activate(d->act, d->slope, y, n * d->out);
}

/* dz = dL/d(pre-activation) from y and dy (into buf; dy itself for the
 * identity) and db = its column sums, in one pass. Returns dz. */
AE__VECTOR_CLONES
static const float *grad_pre_activation(dense *d, const float *y, const float *dy, float *buf,
                                        size_t n)
{
    const size_t out = d->out;
    const int identity = d->act == AE_ACT_IDENTITY;
    if (!d->use_bias) {
        if (identity)
            return dy;
        ae__activation_grad(d->act, d->slope, y, dy, buf, n * out);
        return buf;
    }
    memset(d->db, 0, out * sizeof(float));
    for (size_t r = 0; r < n; r++) {
        if (!identity) {
            ae__activation_grad_row_bias(d->act, d->slope, y + r * out, dy + r * out,
                                         buf + r * out, d->db, out);
        } else {
            float *restrict db = d->db;
            const float *restrict row = dy + r * out;
            for (size_t j = 0; j < out; j++)
                db[j] += row[j];
        }
    }
    return identity ? dy : buf;
}

/* ---- split over threads (core/pool.h) ------------------------------------
 * A training batch large enough to pay for waking the workers runs in
 * parts: the forward pass and the input gradient by rows of the batch, the
 * weight and bias gradients by rows of W (the layer's units). Each element
 * is computed as on one thread, so the split changes no bit the products do
 * not (and the bias gradient sums its column in row order, as the fused
 * pass does). */

/* Rows per part at least; parts start on multiples of the GEMM kernels'
 * row block (AE_GEMM_AVX512_MR). */
#define SPLIT_MIN_ROWS 16
#define SPLIT_ALIGN 8

typedef struct dense_job {
    dense *d;
    size_t n;
    const float *x, *y, *dy;
    float *out;     /* forward: y; backward: dz */
    float *dx;
} dense_job;

static void forward_rows(void *arg, int part, int parts)
{
    const dense_job *j = arg;
    const dense *d = j->d;
    size_t lo, hi;
    ae__pool_range(j->n, part, parts, SPLIT_ALIGN, &lo, &hi);
    if (lo == hi)
        return;
    ae__gemm(0, 1, hi - lo, d->out, d->in, 1.0f, j->x + lo * d->in, d->in, d->w, d->in, 0.0f,
             j->out + lo * d->out, d->out);
    bias_activate(d, j->out + lo * d->out, hi - lo);
}

/* dz for rows [lo, hi) (no bias sums: they follow by columns), then dx. */
AE__VECTOR_CLONES
static void backward_rows(void *arg, int part, int parts)
{
    const dense_job *j = arg;
    const dense *d = j->d;
    const size_t out = d->out;
    size_t lo, hi;
    ae__pool_range(j->n, part, parts, SPLIT_ALIGN, &lo, &hi);
    if (lo == hi)
        return;
    if (d->act != AE_ACT_IDENTITY)
        ae__activation_grad(d->act, d->slope, j->y + lo * out, j->dy + lo * out,
                            j->out + lo * out, (hi - lo) * out);
    if (j->dx != NULL)
        ae__gemm(0, 0, hi - lo, d->in, out, 1.0f, j->out + lo * out, out, d->w, d->in, 0.0f,
                 j->dx + lo * d->in, d->in);
}

/* dW and db for units [u0, u1). */
static void backward_units(void *arg, int part, int parts)
{
    const dense_job *j = arg;
    dense *d = j->d;
    const size_t out = d->out, in = d->in;
    size_t u0, u1;
    ae__pool_range(out, part, parts, SPLIT_ALIGN, &u0, &u1);
    if (u0 == u1)
        return;
    ae__gemm(1, 0, u1 - u0, in, j->n, 1.0f, j->out + u0, out, j->x, in, 0.0f, d->dw + u0 * in, in);
    if (d->use_bias) {
        float *db = d->db;
        for (size_t u = u0; u < u1; u++)
            db[u] = 0.0f;
        for (size_t r = 0; r < j->n; r++) {
            const float *row = j->out + r * out;
            for (size_t u = u0; u < u1; u++)
                db[u] += row[u];
        }
    }
}

/* Parts for a product of n rows by this layer (1: no split). */
static int split_parts(const dense *d, size_t n)
{
    return ae__pool_parts(n, SPLIT_MIN_ROWS, (double)n * (double)d->in * (double)d->out);
}

/* y = act(x W^T + b). One sample goes through GEMV (a GEMM with m = 1 pays
 * for packing its operands: ~6x slower for 784 -> 64); bias and activation
 * are one pass over each output row. */
static int dense_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    dense *d = state;
    const size_t n = ctx->batch, in = d->in, out = d->out;
    /* Inference shares whole chunks between threads instead (its results
     * may not depend on the thread setting, ae_set_num_threads()). */
    const int parts = ctx->training ? split_parts(d, n) : 1;
    if (parts > 1) {
        dense_job j = {.d = d, .n = n, .x = x, .out = y};
        ae__pool_run(forward_rows, &j, parts);
        return AE_OK;
    }
    if (n == 1)
        ae__gemv(0, out, in, 1.0f, d->w, in, x, 0.0f, y);
    else
        ae__gemm(0, 1, n, out, in, 1.0f, x, in, d->w, in, 0.0f, y, out);
    bias_activate(d, y, n);
    return AE_OK;
}

static int dense_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                          const float *dy, float *dx)
{
    dense *d = state;
    const size_t n = ctx->batch, in = d->in, out = d->out;
    const int parts = split_parts(d, n);
    if (parts > 1) {
        /* dz is dy itself for the identity (backward_rows then only reads
         * it), else the workspace */
        dense_job j = {.d = d, .n = n, .x = x, .y = y, .dy = dy, .dx = dx,
                       .out = d->act == AE_ACT_IDENTITY ? (float *)(uintptr_t)dy : ctx->workspace};
        ae__pool_run(backward_rows, &j, parts);
        ae__pool_run(backward_units, &j,
                     ae__pool_parts(out, SPLIT_ALIGN, (double)n * (double)in * (double)out));
        return AE_OK;
    }
    const float *dz = grad_pre_activation(d, y, dy, ctx->workspace, n);
    /* dW = dz^T x ; dx = dz W */
    ae__gemm(1, 0, out, in, n, 1.0f, dz, out, x, in, 0.0f, d->dw, in);
    if (dx != NULL) {
        if (n == 1)
            ae__gemv(1, out, in, 1.0f, d->w, in, dz, 0.0f, dx);
        else
            ae__gemm(0, 0, n, in, out, 1.0f, dz, out, d->w, in, 0.0f, dx, in);
    }
    return AE_OK;
}

const ae_layer_vtable ae__dense_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_DENSE,
    .type_version = 1,
    .create = dense_create,
    .destroy = dense_destroy,
    .param_count = dense_param_count,
    .param_get = dense_param_get,
    .workspace_size = dense_workspace_size,
    .forward = dense_forward,
    .backward = dense_backward,
};
