/* SPDX-License-Identifier: MIT */
/*
 * im2col.c - shape rules, im2col/col2im, layout gathers and the training
 * split by samples shared by the spatial layers (see im2col.h). For each
 * kernel tap the range of output positions that reads inside the image is
 * computed once, so the copy loops have no bounds test: a tap is one block
 * copy where its rows follow each other (stride 1 as wide as the image, or
 * a stride-s image split into its s x s phase planes first), else a copy
 * per output row.
 */
#include <math.h>
#include <string.h>

#include "core/kernels.h"
#include "core/core.h"
#include "core/pool.h"
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
    if (s == 1) { /* every phased tap: no division */
        a = off < 0 ? (size_t)(-off) : 0;
        b = (ptrdiff_t)in - off <= 0 ? 0 : (size_t)((ptrdiff_t)in - off);
    } else {
        if (off < 0)
            a = ((size_t)(-off) + s - 1) / s;
        if ((ptrdiff_t)in - off <= 0)
            b = 0;
        else
            b = ((size_t)((ptrdiff_t)in - off) - 1) / s + 1;
    }
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

/* A stride above 1 whose grid tiles the image exactly (H = OH * sh and
 * W = OW * sw, what SAME padding gives at sizes the stride divides): the
 * image splits into sh * sw phase planes of OH x OW, plane (rh, rw) holding
 * the pixels (a * sh + rh, b * sw + rw). A tap then reads one plane at a
 * whole-pixel shift, the contiguous case above on an OH x OW image. The
 * split costs one pass over the image; the per-row strided copies it
 * replaces cost one per tap. */
static int phased(const ae__conv_geom *g)
{
    return (g->sh > 1 || g->sw > 1) && g->h == g->oh * g->sh && g->w == g->ow * g->sw;
}

size_t ae__conv_scratch(const ae__conv_geom *g)
{
    return phased(g) ? g->c * g->h * g->w : 0;
}

/* offset = s * q + r with 0 <= r < s (floor division) */
static inline void split_offset(ptrdiff_t off, size_t s, ptrdiff_t *q, size_t *r)
{
    if (s == 2) {
        *r = (size_t)off & 1u;
        *q = (off - (ptrdiff_t)*r) / 2;
        return;
    }
    ptrdiff_t qq = off >= 0 ? off / (ptrdiff_t)s : -(((-off) + (ptrdiff_t)s - 1) / (ptrdiff_t)s);
    *q = qq;
    *r = (size_t)(off - qq * (ptrdiff_t)s);
}

/* The tap of an image xc (H x W) read at stride 1 from (offh, offw) onto an
 * OH x OW grid with OW == W: rows [hlo, hhi), columns [lo, hi) inside. */
typedef struct tap {
    ptrdiff_t offh, offw;
    size_t hlo, hhi, lo, hi;
} tap;

AE__INLINE int tap_of(ptrdiff_t offh, ptrdiff_t offw, size_t sh, size_t sw, size_t H, size_t W,
                  size_t OH, size_t OW, tap *t)
{
    t->offh = offh;
    t->offw = offw;
    tap_range(offh, sh, H, OH, &t->hlo, &t->hhi);
    tap_range(offw, sw, W, OW, &t->lo, &t->hi);
    return t->hlo < t->hhi && t->lo < t->hi;
}

/* Zeroes what a tap does not read: when `rows`, the rows outside
 * [hlo, hhi); when `cols`, the columns outside [lo, hi) of the rows inside. */
static inline void zero_outside(const tap *t, size_t OH, size_t OW, float *row, int rows, int cols)
{
    if (rows && t->hlo > 0)
        memset(row, 0, t->hlo * OW * sizeof(float));
    if (rows && t->hhi < OH)
        memset(row + t->hhi * OW, 0, (OH - t->hhi) * OW * sizeof(float));
    if (cols)
        for (size_t oh = t->hlo; oh < t->hhi; oh++) {
            for (size_t ow = 0; ow < t->lo; ow++)
                row[oh * OW + ow] = 0.0f;
            for (size_t ow = t->hi; ow < OW; ow++)
                row[oh * OW + ow] = 0.0f;
        }
}

/* The contiguous case: from the tap's first in-image element to its last. */
static size_t block_first(const tap *t, size_t OW) { return t->hlo * OW + t->lo; }
static size_t block_len(const tap *t, size_t OW)
{
    return (t->hhi - 1) * OW + t->hi - block_first(t, OW);
}
static ptrdiff_t block_src(const tap *t, size_t W, size_t OW)
{
    return (ptrdiff_t)block_first(t, OW) + t->offh * (ptrdiff_t)W + t->offw;
}

/* Between an image and its phase planes (see phased()): plane (c, rh, rw)
 * at ((c * sh + rh) * sw + rw) * OH * OW. A copy each way, so that col2im
 * adds its taps into the planes in the order it adds them into the image
 * otherwise: the same sums, the same bits. An image row (sw * OW floats)
 * splits into sw plane rows `plane` floats apart.
 *
 * Stride 2 is the common case and its rows are short (OW is 7 to 14 in the
 * tutorial's model): too short for a vectorised loop to start, so on
 * x86-64 with AVX-512 a row goes through two masked loads, two
 * permutations and two masked stores per 16 outputs. Other strides and
 * machines (and valgrind, whose CPU has no AVX-512) take the plain loops. */
static void split_row(const float *restrict s, float *restrict d, size_t ow, size_t sw,
                      size_t plane)
{
    for (size_t rw = 0; rw < sw; rw++)
        for (size_t b = 0; b < ow; b++)
            d[rw * plane + b] = s[b * sw + rw];
}

static void join_row(const float *restrict s, float *restrict d, size_t ow, size_t sw,
                     size_t plane)
{
    for (size_t rw = 0; rw < sw; rw++)
        for (size_t b = 0; b < ow; b++)
            d[b * sw + rw] = s[rw * plane + b];
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define AE__PHASE_AVX512 1

static inline __mmask16 first_lanes(size_t n) /* n <= 16 */
{
    return (__mmask16)((1u << n) - 1u);
}

__attribute__((target("avx512f"))) static void split_rows2_avx512(const float *x, size_t W,
                                                                  float *d, size_t dstride,
                                                                  size_t rows, size_t ow,
                                                                  size_t plane)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (size_t r = 0; r < rows; r++, x += W, d += dstride)
        for (size_t b = 0; b < ow; b += 16) {
            const size_t n = ow - b < 16 ? ow - b : 16;
            const __mmask16 m = first_lanes(n);
            const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(n < 8 ? 2 * n : 16), x + 2 * b);
            const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(n > 8 ? 2 * n - 16 : 0),
                                                    x + 2 * b + 16);
            _mm512_mask_storeu_ps(d + b, m, _mm512_permutex2var_ps(lo, even, hi));
            _mm512_mask_storeu_ps(d + plane + b, m, _mm512_permutex2var_ps(lo, odd, hi));
        }
}

__attribute__((target("avx512f"))) static void join_rows2_avx512(const float *s, size_t sstride,
                                                                 float *x, size_t W, size_t rows,
                                                                 size_t ow, size_t plane)
{
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second =
        _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (size_t r = 0; r < rows; r++, s += sstride, x += W)
        for (size_t b = 0; b < ow; b += 16) {
            const size_t n = ow - b < 16 ? ow - b : 16;
            const __mmask16 m = first_lanes(n);
            const __m512 e = _mm512_maskz_loadu_ps(m, s + b), o = _mm512_maskz_loadu_ps(m, s + plane + b);
            _mm512_mask_storeu_ps(x + 2 * b, first_lanes(n < 8 ? 2 * n : 16),
                                  _mm512_permutex2var_ps(e, first, o));
            _mm512_mask_storeu_ps(x + 2 * b + 16, first_lanes(n > 8 ? 2 * n - 16 : 0),
                                  _mm512_permutex2var_ps(e, second, o));
        }
}

static int phase_avx512(void)
{
    return __builtin_cpu_supports("avx512f"); /* a load of libgcc's CPU table */
}
#endif

/* Image rows h = rh, rh + sh, ... of channel c hold row phase rh. */
static void to_planes(const ae__conv_geom *g, const float *x, float *planes)
{
    const size_t H = g->h, W = g->w, OW = g->ow, sh = g->sh, sw = g->sw, plane = g->oh * OW;
    for (size_t c = 0; c < g->c; c++)
        for (size_t rh = 0; rh < sh; rh++) {
            const float *src = x + (c * H + rh) * W;
            float *dst = planes + (c * sh + rh) * sw * plane;
#ifdef AE__PHASE_AVX512
            if (sw == 2 && phase_avx512()) {
                split_rows2_avx512(src, sh * W, dst, OW, g->oh, OW, plane);
                continue;
            }
#endif
            for (size_t a = 0; a < g->oh; a++)
                split_row(src + a * sh * W, dst + a * OW, OW, sw, plane);
        }
}

static void from_planes(const ae__conv_geom *g, const float *planes, float *x)
{
    const size_t H = g->h, W = g->w, OW = g->ow, sh = g->sh, sw = g->sw, plane = g->oh * OW;
    for (size_t c = 0; c < g->c; c++)
        for (size_t rh = 0; rh < sh; rh++) {
            float *dst = x + (c * H + rh) * W;
            const float *src = planes + (c * sh + rh) * sw * plane;
#ifdef AE__PHASE_AVX512
            if (sw == 2 && phase_avx512()) {
                join_rows2_avx512(src, OW, dst, sh * W, g->oh, OW, plane);
                continue;
            }
#endif
            for (size_t a = 0; a < g->oh; a++)
                join_row(src + a * OW, dst + a * sh * W, OW, sw, plane);
        }
}

/* Tap (c, i, j) of geometry g, read from the image (phased 0) or from its
 * phase planes (phased 1, a stride-1 tap on an OH x OW plane): *src is the
 * offset of the channel or plane it reads, *width that source's row length.
 * Returns 0 when the tap reads nothing. */
AE__INLINE int find_tap(const ae__conv_geom *g, int phased, size_t c, size_t i, size_t j,
                           tap *t, size_t *src, size_t *width)
{
    const ptrdiff_t offh = (ptrdiff_t)(i * g->dh) - (ptrdiff_t)g->ph;
    const ptrdiff_t offw = (ptrdiff_t)(j * g->dw) - (ptrdiff_t)g->pw;
    if (!phased) {
        *src = c * g->h * g->w;
        *width = g->w;
        return tap_of(offh, offw, g->sh, g->sw, g->h, g->w, g->oh, g->ow, t);
    }
    ptrdiff_t qh, qw;
    size_t rh, rw;
    split_offset(offh, g->sh, &qh, &rh);
    split_offset(offw, g->sw, &qw, &rw);
    *src = ((c * g->sh + rh) * g->sw + rw) * g->oh * g->ow;
    *width = g->ow;
    return tap_of(qh, qw, 1, 1, g->oh, g->ow, g->oh, g->ow, t);
}

/* Both walk the taps (c, i, j) in row order. A tap that is one contiguous
 * block (phase planes, or stride 1 as wide as the image) is one copy or
 * one add; otherwise it goes row by row. */
AE__VECTOR_CLONES
void ae__im2col(const ae__conv_geom *g, const float *x, float *col, size_t ld, float *scratch)
{
    const size_t OH = g->oh, OW = g->ow, sw = g->sw;
    const int ph = phased(g), block = ph || contiguous(g);
    const float *base = x;
    if (ph) {
        to_planes(g, x, scratch);
        base = scratch;
    }
    for (size_t c = 0; c < g->c; c++)
        for (size_t i = 0; i < g->kh; i++)
            for (size_t j = 0; j < g->kw; j++) {
                float *restrict row = col + ((c * g->kh + i) * g->kw + j) * ld;
                tap t;
                size_t src, W;
                if (!find_tap(g, ph, c, i, j, &t, &src, &W)) {
                    memset(row, 0, OH * OW * sizeof(float));
                    continue;
                }
                if (block) {
                    memcpy(row + block_first(&t, OW), base + src + block_src(&t, W, OW),
                           block_len(&t, OW) * sizeof(float));
                    zero_outside(&t, OH, OW, row, 1, 1);
                    continue;
                }
                zero_outside(&t, OH, OW, row, 1, 0);
                for (size_t oh = t.hlo; oh < t.hhi; oh++) {
                    float *restrict dst = row + oh * OW;
                    const float *restrict s =
                        base + src + (size_t)((ptrdiff_t)(oh * g->sh) + t.offh) * W + t.offw;
                    for (size_t ow = 0; ow < t.lo; ow++)
                        dst[ow] = 0.0f;
                    if (sw == 1)
                        memcpy(dst + t.lo, s + t.lo, (t.hi - t.lo) * sizeof(float));
                    else
                        for (size_t ow = t.lo; ow < t.hi; ow++)
                            dst[ow] = s[ow * sw];
                    for (size_t ow = t.hi; ow < OW; ow++)
                        dst[ow] = 0.0f;
                }
            }
}

AE__VECTOR_CLONES
void ae__col2im(const ae__conv_geom *g, float *col, size_t ld, const float *bias, float *x,
                float *scratch)
{
    const size_t OH = g->oh, OW = g->ow, sw = g->sw, hw = g->h * g->w;
    const int ph = phased(g), block = ph || contiguous(g);
    float *base = ph ? scratch : x; /* a channel is H * W floats either way */
    for (size_t c = 0; c < g->c; c++)
        if (bias != NULL)
            ae__vfill(base + c * hw, bias[c], hw);
        else
            memset(base + c * hw, 0, hw * sizeof(float));
    for (size_t c = 0; c < g->c; c++)
        for (size_t i = 0; i < g->kh; i++)
            for (size_t j = 0; j < g->kw; j++) {
                float *restrict row = col + ((c * g->kh + i) * g->kw + j) * ld;
                tap t;
                size_t src, W;
                if (!find_tap(g, ph, c, i, j, &t, &src, &W))
                    continue;
                if (block) {
                    zero_outside(&t, OH, OW, row, 0, 1); /* the wrapping columns */
                    ae__vadd(base + src + block_src(&t, W, OW), row + block_first(&t, OW),
                             block_len(&t, OW));
                    continue;
                }
                for (size_t oh = t.hlo; oh < t.hhi; oh++) {
                    const float *restrict s = row + oh * OW;
                    float *restrict dst =
                        base + src + (size_t)((ptrdiff_t)(oh * g->sh) + t.offh) * W + t.offw;
                    if (sw == 1)
                        ae__vadd(dst + t.lo, s + t.lo, t.hi - t.lo);
                    else
                        for (size_t ow = t.lo; ow < t.hi; ow++)
                            dst[ow * sw] += s[ow];
                }
            }
    if (ph)
        from_planes(g, scratch, x);
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

size_t ae__conv_slices(void)
{
    const int cpus = ae__pool_cpus();
    return cpus < AE__CONV_MAX_PARTS ? (size_t)cpus : AE__CONV_MAX_PARTS;
}

int ae__conv_parts(size_t batch, double work)
{
    const int parts = ae__pool_parts(batch, 2, (double)batch * work);
    return (size_t)parts < ae__conv_slices() ? parts : (int)ae__conv_slices();
}

size_t ae__conv_slice(size_t serial_ws, size_t grad_floats, size_t *grads_at)
{
    size_t at, g;
    if (serial_ws == SIZE_MAX || !ae__add_size(serial_ws, 63, &at) ||
        !ae__mul_size(grad_floats, sizeof(float), &g) || !ae__add_size(at / 64 * 64, g, &g) ||
        !ae__add_size(g, 63, &g))
        return SIZE_MAX;
    *grads_at = at / 64 * 64;
    return g / 64 * 64;
}

typedef struct split_job {
    const ae__conv_split *s;
    size_t batch, slice, grads_at;
    const float *x, *y, *dy;
    float *out, *dx;
    char *ws;
} split_job;

static void forward_part(void *arg, int part, int parts)
{
    const split_job *j = arg;
    const ae__conv_split *s = j->s;
    size_t lo, hi;
    ae__pool_range(j->batch, part, parts, 1, &lo, &hi);
    if (hi > lo)
        s->forward(s->layer, hi - lo, j->x + lo * s->in_size, j->out + lo * s->out_size,
                   j->ws + (size_t)part * j->slice);
}

static void backward_part(void *arg, int part, int parts)
{
    const split_job *j = arg;
    const ae__conv_split *s = j->s;
    char *ws = j->ws + (size_t)part * j->slice;
    float *dw = part == 0 ? s->dw : (float *)(void *)(ws + j->grads_at);
    float *db = s->n_db == 0 ? NULL : part == 0 ? s->db : dw + s->n_dw;
    size_t lo, hi;
    ae__pool_range(j->batch, part, parts, 1, &lo, &hi);
    if (hi > lo)
        s->backward(s->layer, hi - lo, j->x + lo * s->in_size, j->y + lo * s->out_size,
                    j->dy + lo * s->out_size, j->dx ? j->dx + lo * s->in_size : NULL, ws, dw, db);
    else { /* no samples: no gradient */
        memset(dw, 0, s->n_dw * sizeof(float));
        if (db != NULL)
            memset(db, 0, s->n_db * sizeof(float));
    }
}

void ae__conv_forward(const ae__conv_split *s, const ae_layer_ctx *ctx, const float *x,
                      float *y)
{
    const int parts = ctx->training ? ae__conv_parts(ctx->batch, s->work) : 1;
    if (parts <= 1) {
        s->forward(s->layer, ctx->batch, x, y, ctx->workspace);
        return;
    }
    split_job j = {.s = s, .batch = ctx->batch, .x = x, .out = y, .ws = ctx->workspace};
    j.slice = ae__conv_slice(s->serial_ws, s->n_dw + s->n_db, &j.grads_at);
    ae__pool_run(forward_part, &j, parts);
}

void ae__conv_backward(const ae__conv_split *s, const ae_layer_ctx *ctx, const float *x,
                       const float *y, const float *dy, float *dx)
{
    const int parts = ae__conv_parts(ctx->batch, s->work);
    if (parts <= 1) {
        s->backward(s->layer, ctx->batch, x, y, dy, dx, ctx->workspace, s->dw,
                    s->n_db ? s->db : NULL);
        return;
    }
    split_job j = {.s = s, .batch = ctx->batch, .x = x, .y = y, .dy = dy, .dx = dx,
                   .ws = ctx->workspace};
    j.slice = ae__conv_slice(s->serial_ws, s->n_dw + s->n_db, &j.grads_at);
    ae__pool_run(backward_part, &j, parts);
    for (int p = 1; p < parts; p++) {
        const float *dw = (const float *)(const void *)(j.ws + (size_t)p * j.slice + j.grads_at);
        ae__vadd(s->dw, dw, s->n_dw);
        if (s->n_db)
            ae__vadd(s->db, dw + s->n_dw, s->n_db);
    }
}

size_t ae__conv_group(size_t col_floats_per_sample, size_t batch)
{
    size_t g = col_floats_per_sample == 0 ? batch : AE__COL_BUDGET / col_floats_per_sample;
    if (g < 1)
        g = 1;
    return g < batch ? g : batch;
}
