/* SPDX-License-Identifier: MIT */
/*
 * dense.c - fully connected layer: y = act(x W^T + b).
 * W is units x inputs (row-major, PyTorch's layout), b has units entries.
 * Config (20 bytes, little-endian): u32 units, u32 activation, u32 init,
 * u32 use_bias, f32 leaky slope. Type version 1.
 */
#include <math.h>
#include <string.h>

#include "core/kernels.h"
#include "core/core.h"
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

/* y = act(x W^T + b). One sample goes through GEMV (a GEMM with m = 1 pays
 * for packing its operands: ~6x slower for 784 -> 64); bias and activation
 * are one pass over each output row. */
static int dense_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const dense *d = state;
    const size_t n = ctx->batch, in = d->in, out = d->out;
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
