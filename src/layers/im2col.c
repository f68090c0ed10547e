/* SPDX-License-Identifier: MIT */
/*
 * im2col.c - shape rules, im2col/col2im and layout gathers shared by the
 * spatial layers (see im2col.h). The inner loops work on whole output rows:
 * for each kernel tap the range of output columns that reads inside the
 * image is computed once, so the copy loop has no bounds test (a memcpy at
 * stride 1).
 */
#include <math.h>
#include <string.h>

#include "core/kernels.h"
#include "core/core.h"
#include "im2col.h"
#include "layer.h"

/* Floats of a group's column matrix: 64K (256 KiB) keeps it, and the GEMM's
 * packed copy of it, within a 512 KiB L2 cache. */
#define AE__COL_BUDGET ((size_t)1 << 16)

int ae__conv_cfg_parse(const char *who, const void *config, size_t size, int transpose,
                       ae__conv_cfg *o)
{
    const size_t want = transpose ? AE__CONV2D_TRANSPOSE_CONFIG_SIZE : AE__CONV2D_CONFIG_SIZE;
    if (config == NULL || size != want)
        return ae__error(AE_ERR_INVALID, "%s: config is %zu bytes, expected %zu", who, size, want);
    const unsigned char *c = config;
    uint32_t f[18];
    for (size_t i = 0; i < want / 4; i++)
        f[i] = ae__rd32(c + 4 * i);
    const size_t tail = transpose ? 14 : 12; /* index of activation */
    static const char *const names[7] = {"filters", "kernel_h", "kernel_w", "stride_h",
                                         "stride_w", "dilation_h", "dilation_w"};
    if (f[0] == 0 || f[0] > (uint32_t)INT32_MAX)
        return ae__error(AE_ERR_INVALID, "%s: filters is %u, expected 1 to 2^31-1", who, f[0]);
    for (int i = 1; i < 7; i++)
        if (f[i] == 0 || f[i] > AE_SPATIAL_MAX)
            return ae__error(AE_ERR_INVALID, "%s: %s is %u, expected 1 to %u", who, names[i], f[i],
                             AE_SPATIAL_MAX);
    if (f[7] > AE_PAD_EXPLICIT)
        return ae__error(AE_ERR_INVALID, "%s: unknown padding mode %d (0 valid, 1 same, 2 explicit)",
                         who, (int)f[7]);
    for (int i = 8; i < 12; i++) {
        if (f[i] > AE_SPATIAL_MAX)
            return ae__error(AE_ERR_INVALID, "%s: pad %u exceeds %u", who, f[i], AE_SPATIAL_MAX);
        if (f[i] != 0 && f[7] != AE_PAD_EXPLICIT)
            return ae__error(AE_ERR_INVALID, "%s: pads are set (%u) but padding is not explicit",
                             who, f[i]);
    }
    o->oph = o->opw = AE_OUTPUT_PADDING_AUTO;
    if (transpose) {
        for (int i = 12; i < 14; i++) {
            int32_t op = (int32_t)f[i];
            uint32_t s = f[i == 12 ? 3 : 4], d = f[i == 12 ? 5 : 6];
            uint32_t limit = s > d ? s : d;
            if (op != AE_OUTPUT_PADDING_AUTO && (op < 0 || (uint32_t)op >= limit))
                return ae__error(AE_ERR_INVALID,
                                 "%s: output_padding_%c is %d, expected -1 (auto) or 0 to %u"
                                 " (below max(stride, dilation))",
                                 who, i == 12 ? 'h' : 'w', op, limit - 1);
        }
        o->oph = (int32_t)f[12];
        o->opw = (int32_t)f[13];
    }
    uint32_t act = f[tail], init = f[tail + 1], use_bias = f[tail + 2];
    float slope = ae__rdf32(c + 4 * (tail + 3));
    if (!ae__activation_valid((int)act))
        return ae__error(AE_ERR_INVALID, "%s: unknown activation %d", who, (int)act);
    if (init > AE_INIT_HE_NORMAL)
        return ae__error(AE_ERR_INVALID, "%s: unknown initializer %d", who, (int)init);
    if (use_bias > 1)
        return ae__error(AE_ERR_INVALID, "%s: use_bias is %d, expected 0 or 1", who, (int)use_bias);
    if (!(slope >= 0.0f && slope <= 1e6f))
        return ae__error(AE_ERR_INVALID, "%s: leaky slope %g must be finite and >= 0", who,
                         (double)slope);
    o->filters = f[0];
    o->kh = f[1];
    o->kw = f[2];
    o->sh = f[3];
    o->sw = f[4];
    o->dh = f[5];
    o->dw = f[6];
    o->padding = (int)f[7];
    o->pt = f[8];
    o->pb = f[9];
    o->pl = f[10];
    o->pr = f[11];
    o->act = (int)act;
    o->init = (int)init;
    o->use_bias = (int)use_bias;
    o->slope = slope;
    return AE_OK;
}

int ae__conv_setup(const char *who, const ae_layer_create_args *args, int transpose,
                   ae__conv_cfg *c, ae__conv_geom *g)
{
    char buf[64];
    int rc = ae__conv_cfg_parse(who, args->config, args->config_size, transpose, c);
    if (rc < 0)
        return rc;
    if (args->input.rank != 3)
        return ae__error(AE_ERR_SHAPE, "%s: input shape %s is not {C, H, W}", who,
                         ae__shape_str(&args->input, buf, sizeof buf));
    memset(g, 0, sizeof *g);
    g->kh = c->kh;
    g->kw = c->kw;
    g->sh = c->sh;
    g->sw = c->sw;
    g->dh = c->dh;
    g->dw = c->dw;
    g->ph = c->pt;
    g->pw = c->pl;
    return AE_OK;
}

int ae__conv_axis(const char *who, const char *axis, size_t in, size_t k, size_t s, size_t d,
                  int padding, size_t *p0, size_t *p1, size_t *out)
{
    const size_t ke = d * (k - 1) + 1;
    size_t padded, n;
    switch (padding) {
    case AE_PAD_SAME:
        n = (in + s - 1) / s;
        padded = (n - 1) * s + ke;
        *p0 = padded > in ? (padded - in) / 2 : 0;
        *p1 = padded > in ? padded - in - *p0 : 0;
        break;
    case AE_PAD_VALID:
        *p0 = *p1 = 0;
        /* fall through */
    default:
        padded = in + *p0 + *p1;
        if (padded < ke)
            return ae__error(AE_ERR_SHAPE,
                             "%s: %s is %zu (padded %zu), smaller than the %s%zu-tap kernel", who,
                             axis, in, padded, d > 1 ? "dilated " : "", ke);
        n = (padded - ke) / s + 1;
        break;
    }
    if (n > (size_t)INT32_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: output %s %zu exceeds 2^31-1", who, axis, n);
    *out = n;
    return AE_OK;
}

int ae__conv_transpose_axis(const char *who, const char *axis, size_t in, size_t k, size_t s,
                            size_t d, int padding, size_t *p0, size_t p1, int64_t op, size_t *out)
{
    const size_t ke = d * (k - 1) + 1, full = (in - 1) * s + ke;
    const size_t opad = op < 0 ? 0 : (size_t)op;
    size_t n;
    switch (padding) {
    case AE_PAD_SAME:
        n = op < 0 ? in * s : (in - 1) * s + ke - 2 * (ke / 2) + opad;
        *p0 = full > n ? (full - n) / 2 : 0;
        break;
    case AE_PAD_VALID:
        n = op < 0 ? in * s + (ke > s ? ke - s : 0) : full + opad;
        *p0 = 0;
        break;
    default:
        if (full + opad <= *p0 + p1)
            return ae__error(AE_ERR_SHAPE,
                             "%s: %s output would be %zu - %zu - %zu + %zu <= 0 (input %zu)", who,
                             axis, full, *p0, p1, opad, in);
        n = full + opad - *p0 - p1;
        break;
    }
    if (n == 0)
        return ae__error(AE_ERR_SHAPE, "%s: %s output would be empty (input %zu, kernel %zu)", who,
                         axis, in, ke);
    if (n > (size_t)INT32_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: output %s %zu exceeds 2^31-1", who, axis, n);
    *out = n;
    return AE_OK;
}

/* Output positions o in [*lo, *hi) read inside [0, in) at o * s + off. */
static inline void tap_range(ptrdiff_t off, size_t s, size_t in, size_t out, size_t *lo,
                             size_t *hi)
{
    size_t a = 0, b;
    if (off < 0)
        a = ((size_t)(-off) + s - 1) / s;
    if ((ptrdiff_t)in - off <= 0)
        b = 0;
    else
        b = ((size_t)((ptrdiff_t)in - off) - 1) / s + 1;
    if (b > out)
        b = out;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* Stride 1 on both axes and an output as wide as the image: the rows of a
 * tap's window follow each other in memory on both sides, so a tap is one
 * contiguous block (from its first to its last in-image element); the
 * columns that wrap around into a neighbouring row are fixed up after. */
static int contiguous(const ae__conv_geom *g)
{
    return g->sh == 1 && g->sw == 1 && g->ow == g->w;
}

AE__VECTOR_CLONES
void ae__im2col(const ae__conv_geom *g, const float *x, float *col, size_t ld)
{
    const size_t H = g->h, W = g->w, OH = g->oh, OW = g->ow, sw = g->sw;
    const int block = contiguous(g);
    for (size_t c = 0; c < g->c; c++) {
        const float *xc = x + c * H * W;
        for (size_t i = 0; i < g->kh; i++) {
            const ptrdiff_t offh = (ptrdiff_t)(i * g->dh) - (ptrdiff_t)g->ph;
            size_t hlo, hhi;
            tap_range(offh, g->sh, H, OH, &hlo, &hhi);
            for (size_t j = 0; j < g->kw; j++) {
                const ptrdiff_t offw = (ptrdiff_t)(j * g->dw) - (ptrdiff_t)g->pw;
                size_t lo, hi;
                tap_range(offw, sw, W, OW, &lo, &hi);
                float *restrict row = col + ((c * g->kh + i) * g->kw + j) * ld;
                if (hhi <= hlo || hi <= lo) {
                    memset(row, 0, OH * OW * sizeof(float));
                    continue;
                }
                if (hlo > 0)
                    memset(row, 0, hlo * OW * sizeof(float));
                if (hhi < OH)
                    memset(row + hhi * OW, 0, (OH - hhi) * OW * sizeof(float));
                if (block) {
                    const size_t first = hlo * OW + lo, last = (hhi - 1) * OW + hi;
                    memcpy(row + first, xc + (ptrdiff_t)first + offh * (ptrdiff_t)W + offw,
                           (last - first) * sizeof(float));
                    for (size_t oh = hlo; oh < hhi; oh++) {
                        for (size_t ow = 0; ow < lo; ow++)
                            row[oh * OW + ow] = 0.0f;
                        for (size_t ow = hi; ow < OW; ow++)
                            row[oh * OW + ow] = 0.0f;
                    }
                    continue;
                }
                for (size_t oh = hlo; oh < hhi; oh++) {
                    float *restrict dst = row + oh * OW;
                    const float *restrict src =
                        xc + (size_t)((ptrdiff_t)(oh * g->sh) + offh) * W + offw;
                    for (size_t ow = 0; ow < lo; ow++)
                        dst[ow] = 0.0f;
                    if (sw == 1)
                        memcpy(dst + lo, src + lo, (hi - lo) * sizeof(float));
                    else if (sw == 2)
                        for (size_t ow = lo; ow < hi; ow++)
                            dst[ow] = src[2 * ow];
                    else
                        for (size_t ow = lo; ow < hi; ow++)
                            dst[ow] = src[ow * sw];
                    for (size_t ow = hi; ow < OW; ow++)
                        dst[ow] = 0.0f;
                }
            }
        }
    }
}

AE__VECTOR_CLONES
void ae__col2im(const ae__conv_geom *g, float *col, size_t ld, float *x)
{
    const size_t H = g->h, W = g->w, OH = g->oh, OW = g->ow, sw = g->sw;
    const int block = contiguous(g);
    for (size_t c = 0; c < g->c; c++) {
        float *xc = x + c * H * W;
        for (size_t i = 0; i < g->kh; i++) {
            const ptrdiff_t offh = (ptrdiff_t)(i * g->dh) - (ptrdiff_t)g->ph;
            size_t hlo, hhi;
            tap_range(offh, g->sh, H, OH, &hlo, &hhi);
            for (size_t j = 0; j < g->kw; j++) {
                const ptrdiff_t offw = (ptrdiff_t)(j * g->dw) - (ptrdiff_t)g->pw;
                size_t lo, hi;
                tap_range(offw, sw, W, OW, &lo, &hi);
                float *restrict row = col + ((c * g->kh + i) * g->kw + j) * ld;
                if (hhi <= hlo || hi <= lo)
                    continue;
                if (block) {
                    /* zero the wrapping columns, then add the block */
                    for (size_t oh = hlo; oh < hhi; oh++) {
                        for (size_t ow = 0; ow < lo; ow++)
                            row[oh * OW + ow] = 0.0f;
                        for (size_t ow = hi; ow < OW; ow++)
                            row[oh * OW + ow] = 0.0f;
                    }
                    const size_t first = hlo * OW + lo, last = (hhi - 1) * OW + hi;
                    ae__vadd(xc + (ptrdiff_t)first + offh * (ptrdiff_t)W + offw, row + first,
                           last - first);
                    continue;
                }
                for (size_t oh = hlo; oh < hhi; oh++) {
                    const float *restrict src = row + oh * OW;
                    float *restrict dst = xc + (size_t)((ptrdiff_t)(oh * g->sh) + offh) * W + offw;
                    if (sw == 1)
                        ae__vadd(dst + lo, src + lo, hi - lo);
                    else if (sw == 2)
                        for (size_t ow = lo; ow < hi; ow++)
                            dst[2 * ow] += src[ow];
                    else
                        for (size_t ow = lo; ow < hi; ow++)
                            dst[ow * sw] += src[ow];
                }
            }
        }
    }
}

void ae__gather_cm(const float *src, size_t count, size_t ch, size_t hw, float *dst, size_t ld)
{
    for (size_t i = 0; i < count; i++)
        for (size_t c = 0; c < ch; c++)
            memcpy(dst + c * ld + i * hw, src + (i * ch + c) * hw, hw * sizeof(float));
}

void ae__scatter_cm(const float *src, size_t ld, size_t count, size_t ch, size_t hw,
                    const float *bias, float *dst)
{
    for (size_t i = 0; i < count; i++)
        for (size_t c = 0; c < ch; c++) {
            const float *restrict s = src + c * ld + i * hw;
            float *restrict d = dst + (i * ch + c) * hw;
            memcpy(d, s, hw * sizeof(float));
            if (bias != NULL)
                ae__vadd_scalar(d, bias[c], hw);
        }
}

size_t ae__conv_group(size_t col_floats_per_sample, size_t batch)
{
    size_t g = col_floats_per_sample == 0 ? batch : AE__COL_BUDGET / col_floats_per_sample;
    if (g < 1)
        g = 1;
    return g < batch ? g : batch;
}
