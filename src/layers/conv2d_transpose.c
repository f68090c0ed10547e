/* SPDX-License-Identifier: MIT */
/*
 * conv2d_transpose.c - transposed 2-d convolution over NCHW batches, the
 * adjoint of conv2d: each input pixel spreads W-weighted copies over the
 * output, y = act(col2im(W^T x) + b). W is C x filters x kh x kw (PyTorch's
 * ConvTranspose2d layout), seen as a C x (filters*kh*kw) matrix.
 *
 * The geometry is conv2d's with the roles swapped: the output image is the
 * "image side" and the input grid the "column side" of im2col.h.
 * Per group of samples: X (channel-major, C x group*H*W) -> col = W^T X
 * (one GEMM) -> col2im into each output sample, which starts as the bias.
 *
 * Backward, per group: dZ = dY * act'(Y) (NCHW), col = im2col(dZ),
 * dW += X col^T, db += channel sums of dZ, dX = W col (then back to NCHW).
 * In training, a batch is split between libae's threads by samples
 * (im2col.h, ae__conv_split): the workspace holds one slice per part.
 *
 * Config (72 bytes, little-endian u32 unless noted): filters, kernel h, w,
 * stride h, w, dilation h, w, padding, pad top, bottom, left, right,
 * i32 output padding h, w, activation, init, use_bias, f32 slope.
 * Type version 1.
 */
#include <string.h>

#include "core/core.h"
#include "im2col.h"
#include "layer.h"

typedef struct convt {
    ae__conv_geom g; /* image side = output (filters channels), column side = input grid */
    size_t cin;      /* input channels */
    size_t ckk;      /* filters * kh * kw */
    size_t ihw;      /* input pixels per channel */
    size_t ohw;      /* output pixels per channel */
    size_t in_size, out_size;
    int act;
    float slope;
    int use_bias;
    float *w, *dw;   /* cin x ckk */
    float *b, *db;   /* filters, or NULL */
} convt;

static void convt_destroy(void *state)
{
    convt *l = state;
    if (l == NULL)
        return;
    ae__free(l->w);
    ae__free(l);
}

static int convt_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    static const char who[] = "conv2d_transpose";
    ae__conv_cfg c;
    ae__conv_geom g;
    int rc = ae__conv_setup(who, args, 1, &c, &g);
    if (rc < 0)
        return rc;
    const size_t cin = args->input.dims[0];
    g.c = c.filters;
    g.oh = args->input.dims[1];
    g.ow = args->input.dims[2];
    if ((rc = ae__conv_transpose_axis(who, "height", g.oh, g.kh, g.sh, g.dh, c.padding, &g.ph,
                                      c.pb, c.oph, &g.h)) < 0 ||
        (rc = ae__conv_transpose_axis(who, "width", g.ow, g.kw, g.sw, g.dw, c.padding, &g.pw, c.pr,
                                      c.opw, &g.w)) < 0)
        return rc;

    size_t ckk, wn, out_size;
    if (!ae__mul_size(c.filters, g.kh * g.kw, &ckk) || !ae__mul_size(ckk, cin, &wn) ||
        wn > (size_t)INT32_MAX || !ae__mul_size(g.h * g.w, c.filters, &out_size) ||
        out_size > (size_t)INT32_MAX)
        return ae__error(AE_ERR_LIMIT,
                         "conv2d_transpose: %zu filters of %zu x %zu from %zu channels exceed"
                         " 2^31-1 weights or outputs", c.filters, g.kh, g.kw, cin);

    convt *l = ae__calloc(1, sizeof *l);
    if (l == NULL)
        return AE_ERR_NOMEM;
    l->g = g;
    l->cin = cin;
    l->ckk = ckk;
    l->ihw = g.oh * g.ow;
    l->ohw = g.h * g.w;
    l->in_size = ae__shape_size(&args->input);
    l->out_size = out_size;
    l->act = c.act;
    l->slope = c.slope;
    l->use_bias = c.use_bias;
    if (ae__weight_bias_alloc(wn, c.use_bias ? c.filters : 0, c.init, ckk, cin * g.kh * g.kw,
                              args->rng, &l->w, &l->dw, &l->b, &l->db) < 0) {
        ae__free(l);
        return AE_ERR_NOMEM;
    }
    memset(output, 0, sizeof *output);
    output->rank = 3;
    output->dims[0] = (uint32_t)c.filters;
    output->dims[1] = (uint32_t)g.h;
    output->dims[2] = (uint32_t)g.w;
    *state = l;
    return AE_OK;
}

static size_t convt_param_count(const void *state)
{
    const convt *l = state;
    return l->use_bias ? 2 : 1;
}

static int convt_param_get(void *state, size_t index, ae_param_view *v)
{
    convt *l = state;
    const ae_shape ws = {4, {(uint32_t)l->cin, (uint32_t)l->g.c, (uint32_t)l->g.kh,
                             (uint32_t)l->g.kw}};
    return ae__weight_bias_view("conv2d_transpose", index, v, l->w, l->dw, &ws,
                                l->use_bias ? l->b : NULL, l->db, l->g.c);
}

/* Workspace: column matrix (ckk x G*ihw), channel-major input/dx block
 * (cin x G*ihw), im2col's scratch (ae__conv_scratch), then dZ of the group
 * (G * out_size) when an activation is fused. */
static size_t group_of(const convt *l, size_t batch)
{
    return ae__conv_group(l->ckk * l->ihw, batch);
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

/* Bytes of one pass over `batch` samples. */
static size_t serial_workspace(const convt *l, size_t batch)
{
    const size_t g = group_of(l, batch);
    size_t n = round16(l->ckk * g * l->ihw) + round16(l->cin * g * l->ihw) +
               round16(ae__conv_scratch(&l->g));
    if (l->act != AE_ACT_IDENTITY)
        n += g * l->out_size;
    return n * sizeof(float);
}

/* One slice per part of a split training pass (im2col.h). */
static size_t convt_workspace_size(const void *state, size_t batch)
{
    const convt *l = state;
    size_t at, total, slice = ae__conv_slice(serial_workspace(l, batch),
                                             l->cin * l->ckk + l->g.c, &at);
    return slice == SIZE_MAX || !ae__mul_size(slice, ae__conv_slices(), &total) ? SIZE_MAX
                                                                                 : total;
}

AE__VECTOR_CLONES
static void forward_pass(const void *layer, size_t batch, const float *x, float *y, void *ws)
{
    const convt *l = layer;
    const size_t G = group_of(l, batch), ihw = l->ihw;
    float *col = ws, *xt = col + round16(l->ckk * G * ihw);
    float *scratch = xt + round16(l->cin * G * ihw);
    for (size_t n0 = 0; n0 < batch; n0 += G) {
        const size_t gb = batch - n0 < G ? batch - n0 : G, ld = gb * ihw;
        const float *xs = x + n0 * l->in_size;
        float *ys = y + n0 * l->out_size;
        if (gb > 1) {
            ae__gather_cm(xs, gb, l->cin, ihw, xt, ld);
            xs = xt;
        }
        ae__gemm(1, 0, l->ckk, ld, l->cin, 1.0f, l->w, l->ckk, xs, ld, 0.0f, col, ld);
        for (size_t i = 0; i < gb; i++)
            ae__col2im(&l->g, col + i * ihw, ld, l->use_bias ? l->b : NULL,
                       ys + i * l->out_size, scratch);
        ae__activate(l->act, l->slope, ys, gb * l->out_size);
    }
}

/* dW and db of `batch` samples go to dw and db (zeroed first). */
AE__VECTOR_CLONES
static void backward_pass(const void *layer, size_t batch, const float *x, const float *y,
                          const float *dy, float *dx, void *ws, float *dw, float *db)
{
    const convt *l = layer;
    const size_t G = group_of(l, batch), ihw = l->ihw, ohw = l->ohw;
    float *col = ws, *xt = col + round16(l->ckk * G * ihw);
    float *scratch = xt + round16(l->cin * G * ihw);
    float *dzbuf = scratch + round16(ae__conv_scratch(&l->g));
    if (l->use_bias)
        memset(db, 0, l->g.c * sizeof(float));
    for (size_t n0 = 0; n0 < batch; n0 += G) {
        const size_t gb = batch - n0 < G ? batch - n0 : G, ld = gb * ihw;
        const float *dz = dy + n0 * l->out_size;
        if (l->act != AE_ACT_IDENTITY) {
            ae__vactivation_grad(l->act, l->slope, y + n0 * l->out_size, dz, dzbuf,
                                 gb * l->out_size);
            dz = dzbuf;
        }
        if (l->use_bias)
            for (size_t i = 0; i < gb; i++)
                for (size_t c = 0; c < l->g.c; c++)
                    db[c] += ae__vsum(dz + i * l->out_size + c * ohw, ohw);
        for (size_t i = 0; i < gb; i++)
            ae__im2col(&l->g, dz + i * l->out_size, col + i * ihw, ld, scratch);
        const float *xs = x + n0 * l->in_size;
        if (gb > 1) {
            ae__gather_cm(xs, gb, l->cin, ihw, xt, ld);
            xs = xt;
        }
        ae__gemm(0, 1, l->cin, l->ckk, ld, 1.0f, xs, ld, col, ld, n0 == 0 ? 0.0f : 1.0f, dw,
                 l->ckk);
        if (dx == NULL)
            continue;
        float *dxs = dx + n0 * l->in_size;
        if (gb == 1) {
            ae__gemm(0, 0, l->cin, ld, l->ckk, 1.0f, l->w, l->ckk, col, ld, 0.0f, dxs, ld);
        } else {
            ae__gemm(0, 0, l->cin, ld, l->ckk, 1.0f, l->w, l->ckk, col, ld, 0.0f, xt, ld);
            ae__scatter_cm(xt, ld, gb, l->cin, ihw, NULL, dxs);
        }
    }
}

/* The layer's passes and sizes for im2col.h's split by samples. */
static ae__conv_split split_of(convt *l, size_t batch)
{
    return (ae__conv_split){.layer = l, .forward = forward_pass, .backward = backward_pass,
                            .in_size = l->in_size, .out_size = l->out_size,
                            .n_dw = l->cin * l->ckk, .n_db = l->use_bias ? l->g.c : 0,
                            .dw = l->dw, .db = l->db, .serial_ws = serial_workspace(l, batch),
                            .work = (double)l->cin * (double)l->ckk * (double)l->ihw};
}

static int convt_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const ae__conv_split s = split_of(state, ctx->batch);
    ae__conv_forward(&s, ctx, x, y);
    return AE_OK;
}

static int convt_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                          const float *dy, float *dx)
{
    const ae__conv_split s = split_of(state, ctx->batch);
    ae__conv_backward(&s, ctx, x, y, dy, dx);
    return AE_OK;
}

const ae_layer_vtable ae__conv2d_transpose_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_CONV2D_TRANSPOSE,
    .type_version = 1,
    .create = convt_create,
    .destroy = convt_destroy,
    .param_count = convt_param_count,
    .param_get = convt_param_get,
    .workspace_size = convt_workspace_size,
    .forward = convt_forward,
    .backward = convt_backward,
};
