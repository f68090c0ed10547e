/* SPDX-License-Identifier: MIT */
/*
 * conv2d.c - 2-d convolution (cross-correlation) over NCHW batches:
 * y = act(W * x + b), W of shape filters x C x kh x kw (PyTorch's layout).
 *
 * Samples go through in groups: the group's im2col matrix (C*kh*kw rows,
 * group * OH*OW columns) is one GEMM operand, so a small image still makes
 * a wide product; the product (filters x group*OH*OW) is scattered back to
 * NCHW with the bias added. A group of one writes straight into y. 1x1
 * kernels with stride 1 and no padding skip im2col altogether.
 *
 * Stride-1 convolutions with at most AE__FEW_FILTERS filters (the last
 * layer of an image decoder, say 16 -> 1 channels) go direct instead: with
 * so few output rows the GEMM would spend its time reading the column
 * matrix, C*kh*kw times the input. The input is copied once into a
 * zero-padded image whose rows are Wp = pad + W + pad long; on that grid
 * every kernel tap is a plain shift, so the output, computed Wp wide, sums
 * shifted copies of the padded input (the columns past OW are dropped),
 * the weight gradient is dot products against dY laid out Wp wide with
 * zeros past OW, and dX sums shifted copies of that dY. The sums stay in
 * registers over all taps, block by block (see few_out_block).
 *
 * In training, a batch is split between libae's threads by samples
 * (im2col.h, ae__conv_split): the workspace holds one slice per part.
 *
 * Backward, per group: dZ = dY * act'(Y) in channel-major order,
 * dW += dZ col^T, db += row sums of dZ, dcol = W^T dZ, dX = col2im(dcol).
 * The column matrix is rebuilt in backward rather than kept from forward:
 * it is rebuilt while the cache still holds it, and a kept copy would cost
 * C*kh*kw times the input in workspace.
 *
 * Config (64 bytes, little-endian u32 unless noted): filters, kernel h, w,
 * stride h, w, dilation h, w, padding, pad top, bottom, left, right,
 * activation, init, use_bias, f32 slope. Type version 1.
 */
#include <string.h>

#include "core/core.h"
#include "im2col.h"
#include "layer.h"

#define AE__FEW_FILTERS 4
#define FEW_BLOCK 64 /* floats of output (or dX) one few-filters kernel call sums */

static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

typedef struct conv2d {
    ae__conv_geom g;  /* image side = input */
    size_t oc;        /* filters */
    size_t ckk;       /* C * kh * kw: rows of the column matrix */
    size_t ohw;       /* output pixels per channel */
    size_t in_size, out_size;
    int direct;       /* 1x1, stride 1, no padding: the input is its own column matrix */
    int few;          /* stride 1, few filters: shifted axpys on a padded copy */
    size_t wp, plane; /* few: padded row length, floats per padded channel */
    size_t nout;      /* few: OH * wp, the output on the padded grid */
    size_t xps;       /* few: floats of a padded image, with the blocks' slack */
    size_t lead, zs;  /* few: zeros before dZ's grid, floats per filter's dZ */
    int act;
    float slope;
    int use_bias;
    float *w, *dw;    /* oc x ckk */
    float *b, *db;    /* oc, or NULL */
} conv2d;

/* The few-filters path: tap (i, j) is a shift by this many floats on the
 * padded grid. */
static size_t tap_offset(const conv2d *l, size_t i, size_t j)
{
    return i * l->g.dh * l->wp + j * l->g.dw;
}

/* Both options structs start with the same twelve fields: the blob's first
 * 48 bytes. */
#define CONV_HEAD(o)                                                                       \
    {(o)->filters,  (o)->kernel_h,   (o)->kernel_w,   (o)->stride_h,  (o)->stride_w,      \
     (o)->dilation_h, (o)->dilation_w, (uint32_t)(o)->padding, (o)->pad_top,                \
     (o)->pad_bottom, (o)->pad_left, (o)->pad_right}

/* Writes the head, then the fused activation's four fields at byte `tail`;
 * returns the blob's size. */
static size_t put_conv(unsigned char *out, const uint32_t head[12], size_t tail, int act,
                       int init, int use_bias, float slope)
{
    for (int i = 0; i < 12; i++)
        ae__le32(out + 4 * i, head[i]);
    ae__le32(out + tail, (uint32_t)act);
    ae__le32(out + tail + 4, (uint32_t)init);
    ae__le32(out + tail + 8, (uint32_t)use_bias);
    ae__lef32(out + tail + 12, slope);
    return tail + 16;
}

size_t ae__conv2d_config(unsigned char *out, const void *opts);
size_t ae__conv2d_config(unsigned char *out, const void *opts)
{
    const ae_conv2d_options *o = opts;
    const uint32_t head[12] = CONV_HEAD(o);
    return put_conv(out, head, 48, o->activation, o->init, o->use_bias, o->slope);
}

/* The transpose's output padding sits between the head and the tail. */
size_t ae__conv2d_transpose_config(unsigned char *out, const void *opts);
size_t ae__conv2d_transpose_config(unsigned char *out, const void *opts)
{
    const ae_conv2d_transpose_options *o = opts;
    const uint32_t head[12] = CONV_HEAD(o);
    ae__le32(out + 48, (uint32_t)o->output_padding_h);
    ae__le32(out + 52, (uint32_t)o->output_padding_w);
    return put_conv(out, head, 56, o->activation, o->init, o->use_bias, o->slope);
}

static void conv2d_destroy(void *state)
{
    conv2d *l = state;
    if (l == NULL)
        return;
    ae__free(l->w);
    ae__free(l);
}

static int conv2d_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    static const char who[] = "conv2d";
    ae__conv_cfg c;
    ae__conv_geom g;
    int rc = ae__conv_setup(who, args, 0, &c, &g);
    if (rc < 0)
        return rc;
    g.c = args->input.dims[0];
    g.h = args->input.dims[1];
    g.w = args->input.dims[2];
    size_t pb = c.pb, pr = c.pr;
    if ((rc = ae__conv_axis(who, "height", g.h, g.kh, g.sh, g.dh, c.padding, &g.ph, &pb, &g.oh)) < 0 ||
        (rc = ae__conv_axis(who, "width", g.w, g.kw, g.sw, g.dw, c.padding, &g.pw, &pr, &g.ow)) < 0)
        return rc;

    size_t ckk, wn, out_size;
    if (!ae__mul_size(g.c, g.kh * g.kw, &ckk) || !ae__mul_size(ckk, c.filters, &wn) ||
        wn > (size_t)INT32_MAX || !ae__mul_size(g.oh * g.ow, c.filters, &out_size) ||
        out_size > (size_t)INT32_MAX)
        return ae__error(AE_ERR_LIMIT, "conv2d: %zu filters of %zu x %zu x %zu exceed 2^31-1 weights"
                         " or outputs", c.filters, g.c, g.kh, g.kw);

    conv2d *l = ae__calloc(1, sizeof *l);
    if (l == NULL)
        return AE_ERR_NOMEM;
    l->g = g;
    l->oc = c.filters;
    l->ckk = ckk;
    l->ohw = g.oh * g.ow;
    l->in_size = ae__shape_size(&args->input);
    l->out_size = out_size;
    l->direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 &&
                g.oh == g.h && g.ow == g.w;
    l->few = !l->direct && g.sh == 1 && g.sw == 1 && c.filters <= AE__FEW_FILTERS;
    if (l->few) {
        /* rows of pad + W + pad; OW + (kw-1)*dw == that length at stride 1.
         * The last taps read kw-1 floats past the padded image: slack. */
        l->wp = g.w + g.pw + pr;
        l->plane = (g.h + g.ph + pb) * l->wp + (g.kw - 1) * g.dw;
        l->nout = g.oh * l->wp;
        /* The padded copy must stay of the input's order: huge pads or
         * dilations (a hostile config) take the im2col path, sized by the
         * output, instead. */
        size_t padded = 0;
        if (!ae__mul_size(g.c, l->plane, &padded) || padded > 4 * l->in_size + 4096 ||
            l->nout > 4 * l->out_size + 4096)
            l->few = 0;
        /* The kernels work in blocks of FEW_BLOCK floats: reads and writes
         * run up to a block past the end (into slack), and dX's taps read
         * dZ up to `lead` floats before its grid (zeros). */
        if (l->few) {
            l->xps = round_up(padded, FEW_BLOCK) + FEW_BLOCK;
            l->lead = round_up(tap_offset(l, g.kh - 1, g.kw - 1), 16);
            l->zs = l->lead + round_up(l->plane, FEW_BLOCK) + FEW_BLOCK;
        }
    }
    l->act = c.act;
    l->slope = c.slope;
    l->use_bias = c.use_bias;
    if (ae__weight_bias_alloc(wn, c.use_bias ? c.filters : 0, c.init, ckk, c.filters * g.kh * g.kw,
                              args->rng, &l->w, &l->dw, &l->b, &l->db) < 0) {
        ae__free(l);
        return AE_ERR_NOMEM;
    }
    memset(output, 0, sizeof *output);
    output->rank = 3;
    output->dims[0] = (uint32_t)c.filters;
    output->dims[1] = (uint32_t)g.oh;
    output->dims[2] = (uint32_t)g.ow;
    *state = l;
    return AE_OK;
}

static size_t conv2d_param_count(const void *state)
{
    const conv2d *l = state;
    return l->use_bias ? 2 : 1;
}

static int conv2d_param_get(void *state, size_t index, ae_param_view *v)
{
    conv2d *l = state;
    const ae_shape ws = {4, {(uint32_t)l->oc, (uint32_t)l->g.c, (uint32_t)l->g.kh,
                             (uint32_t)l->g.kw}};
    return ae__weight_bias_view("conv2d", index, v, l->w, l->dw, &ws,
                                l->use_bias ? l->b : NULL, l->db, l->oc);
}

/* Workspace: the group's column matrix, then its channel-major product,
 * then im2col's scratch (ae__conv_scratch). */
static size_t group_of(const conv2d *l, size_t batch)
{
    return l->direct ? 1 : ae__conv_group(l->ckk * l->ohw, batch);
}

/* Workspace bytes of one pass over `batch` samples; SIZE_MAX when the
 * sizes overflow (callers then fail with AE_ERR_LIMIT). */
static size_t serial_workspace(const conv2d *l, size_t batch)
{
    size_t a, b, floats;
    if (l->few) { /* padded x, padded dx, the output or dZ on the padded grid */
        if (!ae__mul_size(l->xps, 2, &a) || !ae__mul_size(l->oc, l->zs, &b) ||
            !ae__add_size(a, b, &floats) || !ae__mul_size(floats, sizeof(float), &floats))
            return SIZE_MAX;
        return floats;
    }
    const size_t g = group_of(l, batch);
    a = 0;
    if (!l->direct && (!ae__mul_size(l->ckk, g, &a) || !ae__mul_size(a, l->ohw, &a) ||
                       !ae__add_size(a, 15, &a)))
        return SIZE_MAX;
    if (!ae__mul_size(l->oc, g, &b) || !ae__mul_size(b, l->ohw, &b) ||
        !ae__add_size(a / 16 * 16, b, &floats) || !ae__add_size(floats, 15, &floats) ||
        !ae__add_size(floats / 16 * 16, ae__conv_scratch(&l->g), &floats) ||
        !ae__mul_size(floats, sizeof(float), &floats))
        return SIZE_MAX;
    return floats;
}

static float *ws_tmp(const conv2d *l, void *ws, size_t g)
{
    size_t col = l->direct ? 0 : l->ckk * g * l->ohw;
    return (float *)ws + (col + 15) / 16 * 16;
}

/* After the product: im2col's and col2im's scratch. */
static float *ws_scratch(const conv2d *l, void *ws, size_t g)
{
    return ws_tmp(l, ws, g) + (l->oc * g * l->ohw + 15) / 16 * 16;
}

static size_t conv2d_workspace_size(const void *state, size_t batch)
{
    const conv2d *l = state;
    size_t at, total, slice = ae__conv_slice(serial_workspace(l, batch), l->oc * (l->ckk + 1), &at);
    return slice == SIZE_MAX || !ae__mul_size(slice, ae__conv_slices(), &total) ? SIZE_MAX
                                                                                 : total;
}

/* The few-filters path: the padded copy of one sample. Only the image's
 * place is written: the borders and the slack stay as the pass's first
 * memset of xp left them, zero. */
static void pad_input(const conv2d *l, const float *x, float *xp)
{
    const size_t H = l->g.h, W = l->g.w, wp = l->wp;
    for (size_t c = 0; c < l->g.c; c++)
        for (size_t h = 0; h < H; h++)
            memcpy(xp + c * l->plane + (h + l->g.ph) * wp + l->g.pw, x + (c * H + h) * W,
                   W * sizeof(float));
}

/* The few-filters kernels keep their sums in registers: the output and dX
 * in blocks of FEW_BLOCK floats (four 16-float vectors) over every tap,
 * each weight gradient in eight lanes over the grid, nine taps at a time.
 * Every sum adds its terms in the order of the plain loops of the
 * fallback below (compilers without GNU vector extensions, or
 * -DAE_NO_VECTOR_EXT), ae__vdot's for the weight gradients: the same bits
 * whichever path runs. */
#if defined(__GNUC__) && !defined(AE_NO_VECTOR_EXT)
typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));

/* Unaligned loads without a function returning a vector (whose ABI
 * differs between the clones' instruction sets). */
#define LOADV(v, p) memcpy(&(v), (p), sizeof(v))

/* a0..a3 += w * the block at s; four named vectors (an array of them is
 * not kept in registers) */
#define BLOCK_AXPY(a0, a1, a2, a3, w, s)                                                           \
    do {                                                                                           \
        const float *s_ = (s), w_ = (w);                                                           \
        v16 v0_, v1_, v2_, v3_;                                                                    \
        LOADV(v0_, s_);                                                                            \
        LOADV(v1_, s_ + 16);                                                                       \
        LOADV(v2_, s_ + 32);                                                                       \
        LOADV(v3_, s_ + 48);                                                                       \
        a0 += w_ * v0_;                                                                            \
        a1 += w_ * v1_;                                                                            \
        a2 += w_ * v2_;                                                                            \
        a3 += w_ * v3_;                                                                            \
    } while (0)

#define BLOCK_STORE(out, a0, a1, a2, a3)                                                           \
    do {                                                                                           \
        memcpy((out), &(a0), sizeof(a0));                                                          \
        memcpy((out) + 16, &(a1), sizeof(a1));                                                     \
        memcpy((out) + 32, &(a2), sizeof(a2));                                                     \
        memcpy((out) + 48, &(a3), sizeof(a3));                                                     \
    } while (0)

/* out[0, FEW_BLOCK) = start + sum over (c, i, j) of w * xp shifted */
AE__VECTOR_CLONES
static void few_out_block(const conv2d *l, const float *w, float start, const float *xp,
                          float *out)
{
    v16 a0, a1, a2, a3;
    for (int k = 0; k < 16; k++)
        a0[k] = start;
    a1 = a2 = a3 = a0;
    for (size_t c = 0; c < l->g.c; c++)
        for (size_t i = 0; i < l->g.kh; i++)
            for (size_t j = 0; j < l->g.kw; j++)
                BLOCK_AXPY(a0, a1, a2, a3, *w++, xp + c * l->plane + tap_offset(l, i, j));
    BLOCK_STORE(out, a0, a1, a2, a3);
}

/* dxp[0, FEW_BLOCK) of channel c = sum over (o, i, j) of w * dZ shifted back */
AE__VECTOR_CLONES
static void few_dx_block(const conv2d *l, size_t c, const float *z, float *dxp)
{
    const size_t C = l->g.c, kk = l->g.kh * l->g.kw;
    v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    for (size_t o = 0; o < l->oc; o++) {
        const float *w = l->w + (o * C + c) * kk;
        for (size_t i = 0; i < l->g.kh; i++)
            for (size_t j = 0; j < l->g.kw; j++)
                BLOCK_AXPY(a0, a1, a2, a3, *w++, z + o * l->zs - tap_offset(l, i, j));
    }
    BLOCK_STORE(dxp, a0, a1, a2, a3);
}

/* dw[k] += ae__vdot(z, xc + off[k], n) for k < nt (<= 9), in one pass */
AE__VECTOR_CLONES
static void few_dw_taps(const float *z, const float *xc, const size_t off[9], size_t nt, size_t n,
                        float *dw)
{
    v8 acc[9], zv, xv;
    for (int k = 0; k < 9; k++)
        acc[k] = (v8){0};
    size_t p = 0;
    for (; p + 8 <= n; p += 8) {
        LOADV(zv, z + p);
#pragma GCC unroll 9
        for (int k = 0; k < 9; k++) {
            LOADV(xv, xc + off[k] + p);
            acc[k] += zv * xv;
        }
    }
    for (size_t k = 0; k < nt; k++) {
        float t = 0.0f;
        for (size_t q = p; q < n; q++)
            t += z[q] * xc[off[k] + q];
        const v8 a = acc[k];
        dw[k] += t + ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
    }
}
#else
AE__VECTOR_CLONES
static void few_out_block(const conv2d *l, const float *w, float start, const float *xp,
                          float *out)
{
    for (size_t p = 0; p < FEW_BLOCK; p++) {
        float a = start;
        const float *wk = w;
        for (size_t c = 0; c < l->g.c; c++)
            for (size_t i = 0; i < l->g.kh; i++)
                for (size_t j = 0; j < l->g.kw; j++)
                    a += *wk++ * xp[c * l->plane + tap_offset(l, i, j) + p];
        out[p] = a;
    }
}

AE__VECTOR_CLONES
static void few_dx_block(const conv2d *l, size_t c, const float *z, float *dxp)
{
    const size_t C = l->g.c, kk = l->g.kh * l->g.kw;
    for (size_t p = 0; p < FEW_BLOCK; p++) {
        float a = 0.0f;
        for (size_t o = 0; o < l->oc; o++) {
            const float *w = l->w + (o * C + c) * kk;
            for (size_t i = 0; i < l->g.kh; i++)
                for (size_t j = 0; j < l->g.kw; j++)
                    a += *w++ * z[o * l->zs - tap_offset(l, i, j) + p];
        }
        dxp[p] = a;
    }
}

static void few_dw_taps(const float *z, const float *xc, const size_t off[9], size_t nt, size_t n,
                        float *dw)
{
    for (size_t k = 0; k < nt; k++)
        dw[k] += ae__vdot(z, xc + off[k], n);
}
#endif

AE__VECTOR_CLONES
static void few_forward(const conv2d *l, size_t batch, const float *x, float *y, float *ws)
{
    const size_t C = l->g.c, kk = l->g.kh * l->g.kw, OW = l->g.ow, wp = l->wp;
    float *xp = ws, *acc = ws + 2 * l->xps;
    memset(xp, 0, l->xps * sizeof(float));
    for (size_t n = 0; n < batch; n++) {
        pad_input(l, x + n * l->in_size, xp);
        for (size_t o = 0; o < l->oc; o++) {
            for (size_t p = 0; p < l->nout; p += FEW_BLOCK)
                few_out_block(l, l->w + o * C * kk, l->use_bias ? l->b[o] : 0.0f, xp + p,
                              acc + p);
            float *yo = y + n * l->out_size + o * l->ohw;
            for (size_t h = 0; h < l->g.oh; h++)
                memcpy(yo + h * OW, acc + h * wp, OW * sizeof(float));
        }
    }
    ae__activate(l->act, l->slope, y, batch * l->out_size);
}

AE__VECTOR_CLONES
static void few_backward(const conv2d *l, size_t batch, const float *x, const float *y,
                         const float *dy, float *dx, float *ws, float *dw, float *db)
{
    const size_t C = l->g.c, kk = l->g.kh * l->g.kw, OW = l->g.ow, wp = l->wp;
    float *xp = ws, *dxp = ws + l->xps, *z = ws + 2 * l->xps;
    /* dZ of filter o at z + o * zs + lead on the padded grid; zeros before,
     * past OW on every row and after, written once here */
    memset(z, 0, l->oc * l->zs * sizeof(float));
    memset(xp, 0, l->xps * sizeof(float));
    memset(dw, 0, l->oc * l->ckk * sizeof(float));
    for (size_t n = 0; n < batch; n++) {
        for (size_t o = 0; o < l->oc; o++) {
            const size_t off = n * l->out_size + o * l->ohw;
            float *d = z + o * l->zs + l->lead;
            for (size_t h = 0; h < l->g.oh; h++)
                ae__vactivation_grad(l->act, l->slope, y + off + h * OW, dy + off + h * OW,
                                     d + h * wp, OW);
            if (l->use_bias)
                db[o] += ae__vsum(d, l->nout);
        }
        pad_input(l, x + n * l->in_size, xp);
        for (size_t o = 0; o < l->oc; o++)
            for (size_t c = 0; c < C; c++)
                for (size_t t0 = 0; t0 < kk; t0 += 9) {
                    const size_t nt = kk - t0 < 9 ? kk - t0 : 9;
                    size_t offs[9];
                    for (size_t k = 0; k < 9; k++) {
                        const size_t t = t0 + (k < nt ? k : 0);
                        offs[k] = tap_offset(l, t / l->g.kw, t % l->g.kw);
                    }
                    few_dw_taps(z + o * l->zs + l->lead, xp + c * l->plane, offs, nt, l->nout,
                                dw + (o * C + c) * kk + t0);
                }
        if (dx == NULL)
            continue;
        /* channel by channel, in order: a block's overrun past its plane
         * lands in the next channel's, written after it */
        for (size_t c = 0; c < C; c++)
            for (size_t p = 0; p < l->plane; p += FEW_BLOCK)
                few_dx_block(l, c, z + l->lead + p, dxp + c * l->plane + p);
        float *dxn = dx + n * l->in_size;
        for (size_t c = 0; c < C; c++)
            for (size_t h = 0; h < l->g.h; h++)
                memcpy(dxn + (c * l->g.h + h) * l->g.w,
                       dxp + c * l->plane + (h + l->g.ph) * wp + l->g.pw, l->g.w * sizeof(float));
    }
}

/* One pass over `batch` samples (all of a call's, or a training part's). */
AE__VECTOR_CLONES
static void forward_pass(const void *layer, size_t batch, const float *x, float *y, void *ws)
{
    const conv2d *l = layer;
    if (l->few) {
        few_forward(l, batch, x, y, ws);
        return;
    }
    const size_t G = group_of(l, batch), ohw = l->ohw;
    float *col = ws, *tmp = ws_tmp(l, ws, G);
    float *scratch = ws_scratch(l, ws, G);
    for (size_t n0 = 0; n0 < batch; n0 += G) {
        const size_t gb = batch - n0 < G ? batch - n0 : G, ld = gb * ohw;
        const float *a = col;
        float *ys = y + n0 * l->out_size;
        if (l->direct)
            a = x + n0 * l->in_size;
        else
            for (size_t i = 0; i < gb; i++)
                ae__im2col(&l->g, x + (n0 + i) * l->in_size, col + i * ohw, ld, scratch);
        if (gb == 1) {
            ae__gemm(0, 0, l->oc, ohw, l->ckk, 1.0f, l->w, l->ckk, a, ld, 0.0f, ys, ohw);
            if (l->use_bias)
                for (size_t c = 0; c < l->oc; c++)
                    ae__vadd_scalar(ys + c * ohw, l->b[c], ohw);
        } else {
            ae__gemm(0, 0, l->oc, ld, l->ckk, 1.0f, l->w, l->ckk, a, ld, 0.0f, tmp, ld);
            ae__scatter_cm(tmp, ld, gb, l->oc, ohw, l->b, ys);
        }
        ae__activate(l->act, l->slope, ys, gb * l->out_size);
    }
}

/* dW and db of `batch` samples go to dw and db (zeroed first). */
AE__VECTOR_CLONES
static void backward_pass(const void *layer, size_t batch, const float *x, const float *y,
                          const float *dy, float *dx, void *ws, float *dw, float *db)
{
    const conv2d *l = layer;
    const size_t G = group_of(l, batch), ohw = l->ohw;
    float *col = ws, *dz = ws_tmp(l, ws, G);
    float *scratch = ws_scratch(l, ws, G);
    if (l->use_bias)
        memset(db, 0, l->oc * sizeof(float));
    if (l->few) {
        few_backward(l, batch, x, y, dy, dx, ws, dw, db);
        return;
    }
    for (size_t n0 = 0; n0 < batch; n0 += G) {
        const size_t gb = batch - n0 < G ? batch - n0 : G, ld = gb * ohw;
        /* dZ, channel-major over the group */
        for (size_t i = 0; i < gb; i++)
            for (size_t c = 0; c < l->oc; c++) {
                size_t off = (n0 + i) * l->out_size + c * ohw;
                ae__vactivation_grad(l->act, l->slope, y + off, dy + off, dz + c * ld + i * ohw,
                                     ohw);
            }
        if (l->use_bias)
            for (size_t c = 0; c < l->oc; c++)
                db[c] += ae__vsum(dz + c * ld, ld);
        const float *a = col;
        if (l->direct)
            a = x + n0 * l->in_size;
        else
            for (size_t i = 0; i < gb; i++)
                ae__im2col(&l->g, x + (n0 + i) * l->in_size, col + i * ohw, ld, scratch);
        ae__gemm(0, 1, l->oc, l->ckk, ld, 1.0f, dz, ld, a, ld, n0 == 0 ? 0.0f : 1.0f, dw, l->ckk);
        if (dx == NULL)
            continue;
        float *dxs = dx + n0 * l->in_size;
        if (l->direct) {
            ae__gemm(1, 0, l->ckk, ld, l->oc, 1.0f, l->w, l->ckk, dz, ld, 0.0f, dxs, ld);
            continue;
        }
        ae__gemm(1, 0, l->ckk, ld, l->oc, 1.0f, l->w, l->ckk, dz, ld, 0.0f, col, ld);
        for (size_t i = 0; i < gb; i++)
            ae__col2im(&l->g, col + i * ohw, ld, NULL, dxs + i * l->in_size, scratch);
    }
}

/* The layer's passes and sizes for im2col.h's split by samples. */
static ae__conv_split split_of(conv2d *l, size_t batch)
{
    return (ae__conv_split){.layer = l, .forward = forward_pass, .backward = backward_pass,
                            .in_size = l->in_size, .out_size = l->out_size,
                            .n_dw = l->oc * l->ckk, .n_db = l->use_bias ? l->oc : 0,
                            .dw = l->dw, .db = l->db, .serial_ws = serial_workspace(l, batch),
                            .work = (double)l->oc * (double)l->ckk * (double)l->ohw};
}

static int conv2d_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const ae__conv_split s = split_of(state, ctx->batch);
    ae__conv_forward(&s, ctx, x, y);
    return AE_OK;
}

static int conv2d_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                           const float *dy, float *dx)
{
    const ae__conv_split s = split_of(state, ctx->batch);
    ae__conv_backward(&s, ctx, x, y, dy, dx);
    return AE_OK;
}

const ae_layer_vtable ae__conv2d_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_CONV2D,
    .type_version = 1,
    .create = conv2d_create,
    .destroy = conv2d_destroy,
    .param_count = conv2d_param_count,
    .param_get = conv2d_param_get,
    .workspace_size = conv2d_workspace_size,
    .forward = conv2d_forward,
    .backward = conv2d_backward,
};
