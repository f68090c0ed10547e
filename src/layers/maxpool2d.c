/* SPDX-License-Identifier: MIT */
/*
 * maxpool2d.c - 2-d max pooling over NCHW batches. Padded positions never
 * win (they are skipped, as if -inf). Ties go to the first maximum in
 * row-major window order, as PyTorch's CPU kernel does; NaN wins over
 * everything, so it propagates.
 *
 * Backward finds each window's winner again from x and y instead of keeping
 * indices from forward: no workspace, and forward stays read-only.
 *
 * Config (36 bytes, little-endian u32): pool h, w, stride h, w (0 = pool),
 * padding, pad top, bottom, left, right. Type version 1.
 */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "im2col.h"
#include "layer.h"

#define AE__POOL2D_CONFIG_SIZE 36 /* pool h, w, stride h, w, padding, pad t, b, l, r */

typedef struct maxpool {
    size_t c, h, w, oh, ow;
    size_t kh, kw, sh, sw, ph, pw;
    size_t in_size, out_size;
} maxpool;

/* The stored config names the stride (0 in the options: the pool size). */
size_t ae__maxpool2d_config(unsigned char *out, const void *opts);
size_t ae__maxpool2d_config(unsigned char *out, const void *opts)
{
    const ae_pool2d_options *o = opts;
    const uint32_t v[9] = {o->pool_h,  o->pool_w,     o->stride_h ? o->stride_h : o->pool_h,
                           o->stride_w ? o->stride_w : o->pool_w, (uint32_t)o->padding,
                           o->pad_top, o->pad_bottom, o->pad_left, o->pad_right};
    for (int i = 0; i < 9; i++)
        ae__le32(out + 4 * i, v[i]);
    return AE__POOL2D_CONFIG_SIZE;
}

static int maxpool_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    static const char who[] = "maxpool2d";
    static const char *const names[9] = {"pool_h",  "pool_w",     "stride_h", "stride_w", "padding",
                                         "pad_top", "pad_bottom", "pad_left", "pad_right"};
    char buf[64];
    uint32_t f[9];
    int rc;
    if (args->config == NULL || args->config_size != AE__POOL2D_CONFIG_SIZE)
        return ae__error(AE_ERR_INVALID, "maxpool2d: config is %zu bytes, expected %d",
                         args->config_size, AE__POOL2D_CONFIG_SIZE);
    for (int i = 0; i < 9; i++)
        f[i] = ae__rd32((const unsigned char *)args->config + 4 * i);
    for (int i = 0; i < 4; i++)
        if ((f[i] == 0 && i < 2) || f[i] > AE_SPATIAL_MAX)
            return ae__error(AE_ERR_INVALID, "maxpool2d: %s is %u, expected %d to %u", names[i],
                             f[i], i < 2 ? 1 : 0, AE_SPATIAL_MAX);
    if (f[4] > AE_PAD_EXPLICIT)
        return ae__error(AE_ERR_INVALID, "maxpool2d: unknown padding mode %d", (int)f[4]);
    for (int i = 5; i < 9; i++) {
        uint32_t half = f[i < 7 ? 0 : 1] / 2;
        if (f[i] != 0 && f[4] != AE_PAD_EXPLICIT)
            return ae__error(AE_ERR_INVALID, "maxpool2d: %s is %u but padding is not explicit",
                             names[i], f[i]);
        if (f[i] > half)
            return ae__error(AE_ERR_INVALID, "maxpool2d: %s is %u, at most half the pool (%u)",
                             names[i], f[i], half);
    }
    if (args->input.rank != 3)
        return ae__error(AE_ERR_SHAPE, "maxpool2d: input shape %s is not {C, H, W}",
                         ae__shape_str(&args->input, buf, sizeof buf));
    maxpool p;
    memset(&p, 0, sizeof p);
    p.c = args->input.dims[0];
    p.h = args->input.dims[1];
    p.w = args->input.dims[2];
    p.kh = f[0];
    p.kw = f[1];
    p.sh = f[2] ? f[2] : f[0];
    p.sw = f[3] ? f[3] : f[1];
    p.ph = f[5];
    p.pw = f[7];
    size_t pb = f[6], pr = f[8];
    if ((rc = ae__conv_axis(who, "height", p.h, p.kh, p.sh, 1, (int)f[4], &p.ph, &pb, &p.oh)) < 0 ||
        (rc = ae__conv_axis(who, "width", p.w, p.kw, p.sw, 1, (int)f[4], &p.pw, &pr, &p.ow)) < 0)
        return rc;
    p.in_size = ae__shape_size(&args->input);
    p.out_size = p.c * p.oh * p.ow;
    maxpool *m = ae__alloc(sizeof *m);
    if (m == NULL)
        return AE_ERR_NOMEM;
    *m = p;
    memset(output, 0, sizeof *output);
    output->rank = 3;
    output->dims[0] = (uint32_t)p.c;
    output->dims[1] = (uint32_t)p.oh;
    output->dims[2] = (uint32_t)p.ow;
    *state = m;
    return AE_OK;
}

static void maxpool_destroy(void *state) { ae__free(state); }

/* Window of output (oy, ox): rows [*y0, *y1), columns [*x0, *x1), clipped. */
static inline void window(const maxpool *p, size_t oy, size_t ox, size_t *y0, size_t *y1,
                          size_t *x0, size_t *x1)
{
    ptrdiff_t a = (ptrdiff_t)(oy * p->sh) - (ptrdiff_t)p->ph, b = a + (ptrdiff_t)p->kh;
    ptrdiff_t c = (ptrdiff_t)(ox * p->sw) - (ptrdiff_t)p->pw, d = c + (ptrdiff_t)p->kw;
    *y0 = a < 0 ? 0 : (size_t)a;
    *y1 = b > (ptrdiff_t)p->h ? p->h : (size_t)b;
    *x0 = c < 0 ? 0 : (size_t)c;
    *x1 = d > (ptrdiff_t)p->w ? p->w : (size_t)d;
}

/* Index (within the channel plane) of the window's first maximum. */
static inline size_t argmax(const maxpool *p, const float *plane, size_t oy, size_t ox)
{
    size_t y0, y1, x0, x1, best;
    window(p, oy, ox, &y0, &y1, &x0, &x1);
    best = y0 * p->w + x0;
    float m = plane[best];
    for (size_t yy = y0; yy < y1; yy++)
        for (size_t xx = x0; xx < x1; xx++) {
            float v = plane[yy * p->w + xx];
            if (v > m || (isnan(v) && !isnan(m))) {
                m = v;
                best = yy * p->w + xx;
            }
        }
    return best;
}

static int maxpool_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const maxpool *p = state;
    const size_t planes = ctx->batch * p->c, hw = p->h * p->w, ohw = p->oh * p->ow;
    for (size_t q = 0; q < planes; q++) {
        const float *plane = x + q * hw;
        float *out = y + q * ohw;
        for (size_t oy = 0; oy < p->oh; oy++)
            for (size_t ox = 0; ox < p->ow; ox++)
                out[oy * p->ow + ox] = plane[argmax(p, plane, oy, ox)];
    }
    return AE_OK;
}

static int maxpool_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                            const float *dy, float *dx)
{
    const maxpool *p = state;
    const size_t planes = ctx->batch * p->c, hw = p->h * p->w, ohw = p->oh * p->ow;
    (void)y;
    if (dx == NULL)
        return AE_OK;
    memset(dx, 0, planes * hw * sizeof(float));
    for (size_t q = 0; q < planes; q++) {
        const float *plane = x + q * hw, *g = dy + q * ohw;
        float *d = dx + q * hw;
        for (size_t oy = 0; oy < p->oh; oy++)
            for (size_t ox = 0; ox < p->ow; ox++)
                d[argmax(p, plane, oy, ox)] += g[oy * p->ow + ox];
    }
    return AE_OK;
}

const ae_layer_vtable ae__maxpool2d_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_MAXPOOL2D,
    .type_version = 1,
    .create = maxpool_create,
    .destroy = maxpool_destroy,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
};
