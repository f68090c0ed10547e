/* SPDX-License-Identifier: MIT */
/* check_conv.c - the spatial layers (conv2d, conv2d_transpose, maxpool2d,
 * upsample2d, reshape/flatten, dropout, batchnorm), frozen parameter
 * tensors and denoising training.
 *
 * Each layer is checked three ways: hand-worked small cases; golden outputs
 * and gradients from PyTorch (tests/data/conv_golden, made by
 * tests/gen_conv_golden.py); and finite-difference gradient checks of the
 * input and every trainable parameter (relative error <= 1e-3). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae/sys/layer.h"
#include "core/core.h"
#include "data/noise.h"
#include "layers/im2col.h"
#include "layers/layer.h"
#include "nn/nn.h"
#include "layer_harness.h"
#include "testutil.h"

/* ---- small helpers ------------------------------------------------------ */

#define urand lay_urand
#define falloc lay_falloc
#define rand_input lay_rand_input
#define randomize_params lay_randomize_params
#define gradcheck lay_gradcheck

/* The config blobs' sizes, as the kinds' files define them (model files store
 * these blobs, so they never change within a type_version). */
#define AE__POOL2D_CONFIG_SIZE 36
#define AE__UPSAMPLE2D_CONFIG_SIZE 8
#define AE__RESHAPE_CONFIG_SIZE 20
#define AE__DROPOUT_CONFIG_SIZE 4
#define AE__BATCHNORM_CONFIG_SIZE 8

static ae_shape shape3(uint32_t c, uint32_t h, uint32_t w)
{
    ae_shape s = {3, {c, h, w, 0}};
    return s;
}

/* ---- configs ---------------------------------------------------------- */

static void conv_cfg(unsigned char *cfg, uint32_t filters, uint32_t kh, uint32_t kw, uint32_t sh,
                     uint32_t sw, uint32_t dh, uint32_t dw, int padding, const uint32_t pads[4],
                     int act, int bias)
{
    ae_conv2d_options o = AE_CONV2D_OPTIONS_INIT;
    o.filters = filters;
    o.kernel_h = kh;
    o.kernel_w = kw;
    o.stride_h = sh;
    o.stride_w = sw;
    o.dilation_h = dh;
    o.dilation_w = dw;
    o.padding = padding;
    if (pads) {
        o.pad_top = pads[0];
        o.pad_bottom = pads[1];
        o.pad_left = pads[2];
        o.pad_right = pads[3];
    }
    o.activation = act;
    o.use_bias = bias;
    lay_config(cfg, AE_LAYER_CONV2D, &o);
}

static void convt_cfg(unsigned char *cfg, uint32_t filters, uint32_t kh, uint32_t kw, uint32_t sh,
                      uint32_t sw, uint32_t dh, uint32_t dw, int padding, const uint32_t pads[4],
                      int oph, int opw, int act, int bias)
{
    ae_conv2d_transpose_options o = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    o.filters = filters;
    o.kernel_h = kh;
    o.kernel_w = kw;
    o.stride_h = sh;
    o.stride_w = sw;
    o.dilation_h = dh;
    o.dilation_w = dw;
    o.padding = padding;
    if (pads) {
        o.pad_top = pads[0];
        o.pad_bottom = pads[1];
        o.pad_left = pads[2];
        o.pad_right = pads[3];
    }
    o.output_padding_h = oph;
    o.output_padding_w = opw;
    o.activation = act;
    o.use_bias = bias;
    lay_config(cfg, AE_LAYER_CONV2D_TRANSPOSE, &o);
}

static void pool_cfg(unsigned char *cfg, uint32_t ph, uint32_t pw, uint32_t sh, uint32_t sw,
                     int padding, const uint32_t pads[4])
{
    ae_pool2d_options o = AE_POOL2D_OPTIONS_INIT;
    o.pool_h = ph;
    o.pool_w = pw;
    o.stride_h = sh;
    o.stride_w = sw;
    o.padding = padding;
    if (pads) {
        o.pad_top = pads[0];
        o.pad_bottom = pads[1];
        o.pad_left = pads[2];
        o.pad_right = pads[3];
    }
    lay_config(cfg, AE_LAYER_MAXPOOL2D, &o);
}

static void bn_cfg(unsigned char *cfg, float momentum, float eps)
{
    ae_batchnorm_options o = AE_BATCHNORM_OPTIONS_INIT;
    o.momentum = momentum;
    o.epsilon = eps;
    lay_config(cfg, AE_LAYER_BATCHNORM, &o);
}

static void assert_close(const float *a, const float *b, size_t n, float tol, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i])),
                      "%s[%zu]: %.7g, expected %.7g", what, i, (double)a[i], (double)b[i]);
}

START_TEST(conv2d_gradients_match_finite_differences)
{
    static const struct {
        uint32_t c, h, w, f, kh, kw, sh, sw, dh, dw;
        int padding;
        uint32_t pads[4];
        int act;
        size_t batch;
    } cases[] = {
        {2, 5, 6, 3, 3, 3, 1, 1, 1, 1, AE_PAD_VALID, {0}, AE_ACT_IDENTITY, 2},
        {1, 8, 8, 2, 3, 3, 2, 2, 1, 1, AE_PAD_SAME, {0}, AE_ACT_SIGMOID, 3},
        {2, 7, 5, 2, 2, 3, 2, 1, 2, 1, AE_PAD_EXPLICIT, {1, 2, 0, 1}, AE_ACT_TANH, 2},
        {3, 4, 4, 2, 1, 1, 1, 1, 1, 1, AE_PAD_VALID, {0}, AE_ACT_IDENTITY, 2}, /* 1x1 direct */
        {3, 4, 4, 2, 1, 1, 1, 1, 1, 1, AE_PAD_VALID, {0}, AE_ACT_SIGMOID, 1},
        {2, 6, 5, 5, 3, 3, 1, 1, 1, 1, AE_PAD_SAME, {0}, AE_ACT_TANH, 2},  /* GEMM, stride 1 */
        {2, 5, 5, 2, 3, 2, 1, 1, 2, 1, AE_PAD_SAME, {0}, AE_ACT_IDENTITY, 2}, /* direct, dilated */
        /* direct, 25 taps (nine at a time: 9 + 9 + 7), an odd grid */
        {2, 7, 9, 1, 5, 5, 1, 1, 1, 1, AE_PAD_SAME, {0}, AE_ACT_SIGMOID, 2},
        {3, 4, 6, 4, 1, 4, 1, 1, 1, 2, AE_PAD_EXPLICIT, {0, 2, 3, 1}, AE_ACT_TANH, 1},
        /* phase planes: stride 3 tiling the image, stride (2, 1), dilated */
        {2, 9, 6, 5, 3, 3, 3, 3, 1, 1, AE_PAD_SAME, {0}, AE_ACT_TANH, 2},
        {2, 6, 5, 5, 3, 2, 2, 1, 1, 1, AE_PAD_SAME, {0}, AE_ACT_IDENTITY, 2},
        {1, 8, 8, 5, 3, 3, 2, 2, 2, 2, AE_PAD_SAME, {0}, AE_ACT_SIGMOID, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        unsigned char cfg[AE__CONV2D_CONFIG_SIZE];
        conv_cfg(cfg, cases[k].f, cases[k].kh, cases[k].kw, cases[k].sh, cases[k].sw, cases[k].dh,
                 cases[k].dw, cases[k].padding, cases[k].pads, cases[k].act, 1);
        lay l;
        lay_make(&l, AE_LAYER_CONV2D, shape3(cases[k].c, cases[k].h, cases[k].w), cfg, sizeof cfg);
        randomize_params(&l);
        float *x = rand_input(cases[k].batch * l.in_size);
        gradcheck(&l, cases[k].batch, x, 1e-2f);
        free(x);
        lay_free(&l);
    }
}
END_TEST

START_TEST(conv2d_transpose_gradients_match_finite_differences)
{
    static const struct {
        uint32_t c, h, w, f, kh, kw, sh, sw, dh, dw;
        int padding;
        uint32_t pads[4];
        int oph, opw, act;
        size_t batch;
    } cases[] = {
        {2, 3, 4, 2, 3, 3, 2, 2, 1, 1, AE_PAD_SAME, {0}, -1, -1, AE_ACT_IDENTITY, 2},
        {1, 3, 3, 3, 3, 3, 2, 2, 1, 1, AE_PAD_SAME, {0}, 1, 1, AE_ACT_SIGMOID, 2},
        {2, 3, 3, 2, 2, 2, 3, 3, 1, 1, AE_PAD_VALID, {0}, -1, -1, AE_ACT_TANH, 1},
        {2, 3, 4, 2, 3, 2, 2, 1, 2, 1, AE_PAD_EXPLICIT, {0, 1, 1, 0}, 1, 0, AE_ACT_IDENTITY, 3},
        /* phase planes on the output side: stride 3 and (1, 2) */
        {2, 2, 3, 2, 3, 3, 3, 3, 1, 1, AE_PAD_SAME, {0}, -1, -1, AE_ACT_TANH, 2},
        {1, 3, 3, 2, 3, 3, 1, 2, 1, 1, AE_PAD_SAME, {0}, -1, -1, AE_ACT_IDENTITY, 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        unsigned char cfg[AE__CONV2D_TRANSPOSE_CONFIG_SIZE];
        convt_cfg(cfg, cases[k].f, cases[k].kh, cases[k].kw, cases[k].sh, cases[k].sw,
                  cases[k].dh, cases[k].dw, cases[k].padding, cases[k].pads, cases[k].oph,
                  cases[k].opw, cases[k].act, 1);
        lay l;
        lay_make(&l, AE_LAYER_CONV2D_TRANSPOSE, shape3(cases[k].c, cases[k].h, cases[k].w),
                 cfg, sizeof cfg);
        randomize_params(&l);
        float *x = rand_input(cases[k].batch * l.in_size);
        gradcheck(&l, cases[k].batch, x, 1e-2f);
        free(x);
        lay_free(&l);
    }
}
END_TEST

/* ---- im2col and col2im against their index map --------------------------- */

/* im2col as its header defines it, and col2im as the sum over rows in
 * order: both paths (phase planes or not) must give these bits exactly.
 * Column p of row r reads image float *at, or nothing (returns 0). */
static int naive_at(const ae__conv_geom *g, size_t r, size_t p, size_t *at)
{
    const size_t c = r / (g->kh * g->kw), i = r / g->kw % g->kh, j = r % g->kw;
    const ptrdiff_t h = (ptrdiff_t)(p / g->ow * g->sh + i * g->dh) - (ptrdiff_t)g->ph;
    const ptrdiff_t w = (ptrdiff_t)(p % g->ow * g->sw + j * g->dw) - (ptrdiff_t)g->pw;
    *at = (c * g->h + (size_t)h) * g->w + (size_t)w;
    return h >= 0 && h < (ptrdiff_t)g->h && w >= 0 && w < (ptrdiff_t)g->w;
}

static void naive_im2col(const ae__conv_geom *g, const float *x, float *col, size_t ld)
{
    size_t at;
    for (size_t r = 0; r < g->c * g->kh * g->kw; r++)
        for (size_t p = 0; p < g->oh * g->ow; p++)
            col[r * ld + p] = naive_at(g, r, p, &at) ? x[at] : 0.0f;
}

static void naive_col2im(const ae__conv_geom *g, const float *col, size_t ld, const float *bias,
                         float *x)
{
    size_t at;
    for (size_t k = 0; k < g->c * g->h * g->w; k++)
        x[k] = bias ? bias[k / (g->h * g->w)] : 0.0f;
    for (size_t r = 0; r < g->c * g->kh * g->kw; r++)
        for (size_t p = 0; p < g->oh * g->ow; p++)
            if (naive_at(g, r, p, &at))
                x[at] += col[r * ld + p];
}

START_TEST(im2col_and_col2im_follow_their_index_map_bit_for_bit)
{
    /* c, h, w, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw */
    static const ae__conv_geom cases[] = {
        {16, 28, 28, 14, 14, 3, 3, 2, 2, 1, 1, 0, 0}, /* the tutorial: phase planes */
        {8, 14, 14, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1},
        {2, 9, 12, 3, 4, 3, 3, 3, 3, 1, 1, 1, 1},     /* stride 3 */
        {3, 8, 5, 4, 5, 3, 2, 2, 1, 2, 1, 2, 0},      /* strides (2, 1), dilated rows */
        {2, 6, 8, 3, 4, 5, 5, 2, 2, 2, 2, 5, 4},      /* taps far outside */
        {2, 7, 7, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1},      /* odd size: no phase planes */
        {2, 6, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1},      /* stride 1, contiguous */
        {1, 6, 9, 2, 3, 2, 2, 3, 3, 1, 1, 0, 0},      /* valid: 3 x 3 grid, 2 x 2 kernel */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const ae__conv_geom *g = &cases[k];
        const size_t img = g->c * g->h * g->w, rows = g->c * g->kh * g->kw, ohw = g->oh * g->ow;
        const size_t ld = 2 * ohw + 3; /* the second of a group of two, as the layers use it */
        float *x = rand_input(img), *want = lay_falloc(rows * ld), *got = lay_falloc(rows * ld);
        float *scratch = ae__conv_scratch(g) ? lay_falloc(ae__conv_scratch(g)) : NULL;
        float *bias = rand_input(g->c), *xw = lay_falloc(img), *xg = lay_falloc(img);
        naive_im2col(g, x, want + ohw, ld);
        ae__im2col(g, x, got + ohw, ld, scratch);
        for (size_t r = 0; r < rows; r++)
            ck_assert_msg(memcmp(want + r * ld + ohw, got + r * ld + ohw, ohw * sizeof(float)) == 0,
                          "case %zu: im2col row %zu", k, r);
        for (int b = 0; b < 2; b++) {
            float *col = rand_input(rows * ld);
            naive_col2im(g, col + ohw, ld, b ? bias : NULL, xw);
            ae__col2im(g, col + ohw, ld, b ? bias : NULL, xg, scratch);
            ck_assert_msg(memcmp(xw, xg, img * sizeof(float)) == 0, "case %zu: col2im (bias %d)",
                          k, b);
            free(col);
        }
        free(x);
        free(want);
        free(got);
        free(scratch);
        free(bias);
        free(xw);
        free(xg);
    }
}
END_TEST

/* ---- hand-worked cases --------------------------------------------------- */

START_TEST(conv2d_hand_worked_valid_and_same)
{
    unsigned char cfg[AE__CONV2D_CONFIG_SIZE];
    lay l;
    /* 3x3 input 1..9, 2x2 kernel of ones, bias 0.5: sums of 2x2 blocks */
    conv_cfg(cfg, 1, 2, 2, 1, 1, 1, 1, AE_PAD_VALID, NULL, AE_ACT_IDENTITY, 1);
    lay_make(&l, AE_LAYER_CONV2D, shape3(1, 3, 3), cfg, sizeof cfg);
    ck_assert(ae__shape_equal(&l.out, &(ae_shape){3, {1, 2, 2, 0}}));
    ae_param_view w = lay_param(&l, 0), b = lay_param(&l, 1);
    for (int i = 0; i < 4; i++)
        w.value[i] = 1.0f;
    b.value[0] = 0.5f;
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, y[4];
    lay_fwd(&l, 1, 0, NULL, x, y);
    const float want[4] = {12.5f, 16.5f, 24.5f, 28.5f};
    assert_close(y, want, 4, 1e-6f, "valid y");
    /* dx of dy = ones: how many windows cover each pixel */
    float dy[4] = {1, 1, 1, 1}, dx[9];
    lay_bwd(&l, 1, 1, x, y, dy, dx);
    const float cover[9] = {1, 2, 1, 2, 4, 2, 1, 2, 1};
    assert_close(dx, cover, 9, 1e-6f, "valid dx");
    ck_assert_float_eq(b.grad[0], 4.0f);
    ck_assert_float_eq(w.grad[0], 1 + 2 + 4 + 5); /* top-left tap sees the top-left block */
    lay_free(&l);

    /* "same", stride 2 on 4x4: TensorFlow pads 0 before and 1 after */
    conv_cfg(cfg, 1, 3, 3, 2, 2, 1, 1, AE_PAD_SAME, NULL, AE_ACT_IDENTITY, 0);
    lay_make(&l, AE_LAYER_CONV2D, shape3(1, 4, 4), cfg, sizeof cfg);
    ck_assert(ae__shape_equal(&l.out, &(ae_shape){3, {1, 2, 2, 0}}));
    ck_assert_uint_eq(lay_nparams(&l), 1);
    w = lay_param(&l, 0);
    for (int i = 0; i < 9; i++)
        w.value[i] = 1.0f;
    float x16[16];
    for (int i = 0; i < 16; i++)
        x16[i] = (float)(i + 1);
    lay_fwd(&l, 1, 0, NULL, x16, y);
    const float want2[4] = {54, 45, 72, 54};
    assert_close(y, want2, 4, 1e-6f, "same y");
    lay_free(&l);
}
END_TEST

START_TEST(conv2d_transpose_hand_worked_keras_alignment)
{
    unsigned char cfg[AE__CONV2D_TRANSPOSE_CONFIG_SIZE];
    lay l;
    float x[4] = {1, 2, 3, 4}, y[16];
    /* 2x2 kernel of ones, stride 2, valid: each pixel becomes a 2x2 block */
    convt_cfg(cfg, 1, 2, 2, 2, 2, 1, 1, AE_PAD_VALID, NULL, -1, -1, AE_ACT_IDENTITY, 0);
    lay_make(&l, AE_LAYER_CONV2D_TRANSPOSE, shape3(1, 2, 2), cfg, sizeof cfg);
    ck_assert(ae__shape_equal(&l.out, &(ae_shape){3, {1, 4, 4, 0}}));
    ae_param_view w = lay_param(&l, 0);
    for (int i = 0; i < 4; i++)
        w.value[i] = 1.0f;
    lay_fwd(&l, 1, 0, NULL, x, y);
    const float blocks[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    assert_close(y, blocks, 16, 1e-6f, "valid y");
    lay_free(&l);

    /* 3x3 ones, stride 2, same: 2x2 -> 4x4, the uncropped 5x5 result cut
     * from offset 0 (TensorFlow's alignment; PyTorch's padding=1,
     * output_padding=1 would start at 1) */
    convt_cfg(cfg, 1, 3, 3, 2, 2, 1, 1, AE_PAD_SAME, NULL, -1, -1, AE_ACT_IDENTITY, 1);
    lay_make(&l, AE_LAYER_CONV2D_TRANSPOSE, shape3(1, 2, 2), cfg, sizeof cfg);
    ck_assert(ae__shape_equal(&l.out, &(ae_shape){3, {1, 4, 4, 0}}));
    w = lay_param(&l, 0);
    for (int i = 0; i < 9; i++)
        w.value[i] = 1.0f;
    lay_param(&l, 1).value[0] = 0.25f;
    lay_fwd(&l, 1, 0, NULL, x, y);
    const float same[16] = {1, 1, 3, 2, 1, 1, 3, 2, 4, 4, 10, 6, 3, 3, 7, 4};
    for (int i = 0; i < 16; i++)
        ck_assert_float_eq_tol(y[i], same[i] + 0.25f, 1e-6f);
    lay_free(&l);

    /* explicit padding 1 and output padding 1 (PyTorch): offset 1 instead */
    const uint32_t pads[4] = {1, 1, 1, 1};
    convt_cfg(cfg, 1, 3, 3, 2, 2, 1, 1, AE_PAD_EXPLICIT, pads, 1, 1, AE_ACT_IDENTITY, 0);
    lay_make(&l, AE_LAYER_CONV2D_TRANSPOSE, shape3(1, 2, 2), cfg, sizeof cfg);
    ck_assert(ae__shape_equal(&l.out, &(ae_shape){3, {1, 4, 4, 0}}));
    w = lay_param(&l, 0);
    for (int i = 0; i < 9; i++)
        w.value[i] = 1.0f;
    lay_fwd(&l, 1, 0, NULL, x, y);
    /* rows and columns 1..4 of the uncropped 5x5 result (the output
     * padding keeps its last row and column) */
    const float torch_like[16] = {1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4};
    assert_close(y, torch_like, 16, 1e-6f, "explicit y");
    lay_free(&l);
}
END_TEST

START_TEST(maxpool_upsample_hand_worked_and_ties_go_first)
{
    unsigned char cfg[AE__POOL2D_CONFIG_SIZE];
    lay l;
    pool_cfg(cfg, 2, 2, 0, 0, AE_PAD_VALID, NULL); /* stride 0 = pool */
    lay_make(&l, AE_LAYER_MAXPOOL2D, shape3(1, 4, 4), cfg, sizeof cfg);
    ck_assert(ae__shape_equal(&l.out, &(ae_shape){3, {1, 2, 2, 0}}));
    float x[16], y[4], dy[4] = {1, 2, 3, 4}, dx[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    lay_fwd(&l, 1, 0, NULL, x, y);
    const float want[4] = {6, 8, 14, 16};
    assert_close(y, want, 4, 0.0f, "pool y");
    lay_bwd(&l, 1, 1, x, y, dy, dx);
    for (int i = 0; i < 16; i++)
        ck_assert_float_eq(dx[i], i == 5 ? 1.0f : i == 7 ? 2.0f : i == 13 ? 3.0f : i == 15 ? 4.0f : 0.0f);
    for (int i = 0; i < 16; i++)
        x[i] = 1.0f; /* ties: the first of each window wins */
    lay_fwd(&l, 1, 0, NULL, x, y);
    lay_bwd(&l, 1, 1, x, y, dy, dx);
    for (int i = 0; i < 16; i++)
        ck_assert_float_eq(dx[i], i == 0 ? 1.0f : i == 2 ? 2.0f : i == 8 ? 3.0f : i == 10 ? 4.0f : 0.0f);
    lay_free(&l);

    unsigned char ucfg[AE__UPSAMPLE2D_CONFIG_SIZE];
    ae_upsample2d_options uo = AE_UPSAMPLE2D_OPTIONS_INIT;
    lay_config(ucfg, AE_LAYER_UPSAMPLE2D, &uo);
    lay_make(&l, AE_LAYER_UPSAMPLE2D, shape3(1, 2, 2), ucfg, sizeof ucfg);
    float ux[4] = {1, 2, 3, 4}, uy[16], udy[16], udx[4];
    lay_fwd(&l, 1, 0, NULL, ux, uy);
    const float blocks[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    assert_close(uy, blocks, 16, 0.0f, "upsample y");
    for (int i = 0; i < 16; i++)
        udy[i] = 1.0f;
    lay_bwd(&l, 1, 1, ux, uy, udy, udx);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(udx[i], 4.0f);
    lay_free(&l);
}
END_TEST

START_TEST(batchnorm_hand_worked_statistics)
{
    unsigned char cfg[AE__BATCHNORM_CONFIG_SIZE];
    bn_cfg(cfg, 0.1f, 1e-5f);
    ae_shape one = {1, {1, 0, 0, 0}};
    lay l;
    lay_make(&l, AE_LAYER_BATCHNORM, one, cfg, sizeof cfg);
    ck_assert_uint_eq(lay_nparams(&l), 2);
    ck_assert_uint_eq(ae__kind_tensor_count(l.kind, l.state, 1), 2);
    ae_param_view g = lay_param(&l, 0), b = lay_param(&l, 1);
    ae_param_view rm = lay_state(&l, 0), rv = lay_state(&l, 1);
    ck_assert_str_eq(g.name, "weight");
    ck_assert_str_eq(b.name, "bias");
    ck_assert_str_eq(rm.name, "running_mean");
    ck_assert_str_eq(rv.name, "running_var");
    ck_assert_ptr_null(rm.grad);
    ck_assert_ptr_null(rv.grad);
    ck_assert_float_eq(rm.value[0], 0.0f);
    ae_param_view none;
    ck_assert_int_eq(ae__kind_tensor(l.kind, l.state, 1, 2, &none), AE_ERR_INVALID);
    ck_assert_int_eq(ae__kind_tensor(l.kind, l.state, 0, 2, &none), AE_ERR_INVALID);
    ck_assert_float_eq(g.value[0], 1.0f);
    ck_assert_float_eq(rv.value[0], 1.0f);
    /* batch {1, 3}: mean 2, biased var 1, unbiased 2 */
    float x[2] = {1, 3}, y[2];
    lay_fwd(&l, 2, 1, NULL, x, y);
    ck_assert_float_eq_tol(y[0], -1.0f / sqrtf(1.0f + 1e-5f), 1e-6f);
    ck_assert_float_eq_tol(y[1], 1.0f / sqrtf(1.0f + 1e-5f), 1e-6f);
    ck_assert_float_eq_tol(rm.value[0], 0.2f, 1e-7f);
    ck_assert_float_eq_tol(rv.value[0], 0.9f + 0.1f * 2.0f, 1e-6f);
    /* inference uses the running statistics and changes nothing */
    float xi[1] = {0.2f}, yi[1];
    g.value[0] = 2.0f;
    b.value[0] = 0.5f;
    lay_fwd(&l, 1, 0, NULL, xi, yi);
    ck_assert_float_eq_tol(yi[0], 0.5f, 1e-6f);
    ck_assert_float_eq_tol(rm.value[0], 0.2f, 1e-7f);
    /* a single value per channel normalizes to beta and keeps running_var */
    float one_x[1] = {5.0f}, one_y[1];
    lay_fwd(&l, 1, 1, NULL, one_x, one_y);
    ck_assert_float_eq_tol(one_y[0], 0.5f, 1e-6f);
    ck_assert_float_eq_tol(rv.value[0], 1.1f, 1e-6f);
    ck_assert(isfinite(rm.value[0]));
    lay_free(&l);
}
END_TEST

START_TEST(dropout_trains_inverted_and_is_identity_in_inference)
{
    unsigned char cfg[AE__DROPOUT_CONFIG_SIZE];
    ae_dropout_options o = AE_DROPOUT_OPTIONS_INIT;
    ck_assert_float_eq(o.rate, 0.5f);
    o.rate = 0.25f;
    lay_config(cfg, AE_LAYER_DROPOUT, &o);
    lay l;
    ae_shape s = {1, {1000, 0, 0, 0}};
    lay_make(&l, AE_LAYER_DROPOUT, s, cfg, sizeof cfg);
    const size_t n = 4000;
    float *x = falloc(n), *y = falloc(n), *dy = falloc(n), *dx = falloc(n), *y2 = falloc(n);
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f + (float)(i % 7);
    lay_fwd(&l, 4, 0, NULL, x, y);
    ck_assert_int_eq(memcmp(x, y, n * sizeof(float)), 0);
    ae_rng rng;
    ae__rng_seed(&rng, 5);
    lay_fwd(&l, 4, 1, &rng, x, y);
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] == 0.0f)
            dropped++;
        else
            ck_assert_float_eq_tol(y[i], x[i] / 0.75f, 1e-6f);
        dy[i] = 1.0f;
    }
    ck_assert_msg(dropped > 900 && dropped < 1100, "dropped %zu of 4000 at rate 0.25", dropped);
    lay_bwd(&l, 4, 1, x, y, dy, dx);
    for (size_t i = 0; i < n; i++)
        ck_assert_float_eq(dx[i], y[i] == 0.0f ? 0.0f : 1.0f / 0.75f);
    /* same seed, same mask; another seed, another mask */
    ae__rng_seed(&rng, 5);
    lay_fwd(&l, 4, 1, &rng, x, y2);
    ck_assert_int_eq(memcmp(y, y2, n * sizeof(float)), 0);
    ae__rng_seed(&rng, 6);
    lay_fwd(&l, 4, 1, &rng, x, y2);
    ck_assert_int_ne(memcmp(y, y2, n * sizeof(float)), 0);
    /* training without a generator is refused */
    ae_layer_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.batch = 4;
    c.training = 1;
    ck_assert_int_eq(ae__kind_forward(l.kind, l.state, &c, x, y), AE_ERR_INVALID);
    free(x);
    free(y);
    free(y2);
    free(dy);
    free(dx);
    lay_free(&l);
}
END_TEST

/* ---- PyTorch golden data ------------------------------------------------- */

#define GOLDEN_DIR "data/conv_golden/"
#define GMAX 40

typedef struct golden {
    char key[GMAX][64];
    long val[GMAX];
    size_t nk;
    char tname[16][32];
    float *t[16];
    size_t tn[16];
    size_t nt;
} golden;

static void golden_load(golden *g, const char *name)
{
    char path[256], tok[64];
    memset(g, 0, sizeof *g);
    snprintf(path, sizeof path, GOLDEN_DIR "%s.txt", name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s (tests run from tests/)", path);
    int ch = fgetc(f); /* skip the comment line */
    while (ch != '\n' && ch != EOF)
        ch = fgetc(f);
    while (fscanf(f, "%63s", tok) == 1) {
        if (strcmp(tok, "tensor") == 0) {
            ck_assert_uint_lt(g->nt, 16);
            size_t n;
            ck_assert_int_eq(fscanf(f, "%31s %zu", g->tname[g->nt], &n), 2);
            g->t[g->nt] = falloc(n);
            for (size_t i = 0; i < n; i++)
                ck_assert_int_eq(fscanf(f, "%f", &g->t[g->nt][i]), 1);
            g->tn[g->nt++] = n;
        } else {
            ck_assert_uint_lt(g->nk, GMAX);
            snprintf(g->key[g->nk], sizeof g->key[0], "%s", tok);
            ck_assert_int_eq(fscanf(f, "%ld", &g->val[g->nk]), 1);
            g->nk++;
        }
    }
    fclose(f);
}

static void golden_free(golden *g)
{
    for (size_t i = 0; i < g->nt; i++)
        free(g->t[i]);
}

static long gk(const golden *g, const char *k)
{
    for (size_t i = 0; i < g->nk; i++)
        if (strcmp(g->key[i], k) == 0)
            return g->val[i];
    ck_abort_msg("golden file has no key %s", k);
    return 0;
}

static const float *gt(const golden *g, const char *name, size_t n)
{
    for (size_t i = 0; i < g->nt; i++)
        if (strcmp(g->tname[i], name) == 0) {
            ck_assert_msg(g->tn[i] == n, "golden %s has %zu values, expected %zu", name, g->tn[i], n);
            return g->t[i];
        }
    return NULL;
}

static void set_param(lay *l, size_t idx, const float *v, size_t n)
{
    ae_param_view p = lay_param(l, idx);
    ck_assert_uint_eq(p.count, n);
    memcpy(p.value, v, n * sizeof(float));
}

static const char *const golden_cases[] = {
    "conv2d_valid", "conv2d_same_s1", "conv2d_same_s2_even", "conv2d_same_s2_odd",
    "conv2d_same_k4_s3", "conv2d_explicit_asym", "conv2d_explicit_sym", "conv2d_dilation",
    "conv2d_sigmoid_nobias", "conv2d_1x1", "conv2d_1x1_batch1", "convt_same_s2_auto",
    "convt_same_s2_op1", "convt_same_k4_s2", "convt_same_s1", "convt_valid_k3_s2",
    "convt_valid_k2_s3", "convt_valid_op", "convt_explicit_p1_op1", "convt_explicit_asym",
    "convt_dilation", "maxpool_valid_2", "maxpool_same_3_s2", "maxpool_explicit_3_s2_p1",
    "maxpool_valid_3_s1", "upsample_2x2", "upsample_2x3", "batchnorm_2d_train",
    "batchnorm_1d_train", "batchnorm_2d_eval", "conv2d_same_s1_f6", "conv2d_valid_s1_f5",
    "conv2d_same_dil2_f5",
};
#define N_GOLDEN (sizeof golden_cases / sizeof golden_cases[0])

START_TEST(golden_index_lists_every_case)
{
    FILE *f = fopen(GOLDEN_DIR "index.txt", "r");
    ck_assert_ptr_nonnull(f);
    char name[64];
    size_t n = 0;
    while (fscanf(f, "%63s", name) == 1) {
        ck_assert_uint_lt(n, N_GOLDEN);
        ck_assert_str_eq(name, golden_cases[n]);
        n++;
    }
    fclose(f);
    ck_assert_uint_eq(n, N_GOLDEN);
}
END_TEST

START_TEST(layer_matches_pytorch_golden_case)
{
    const char *name = golden_cases[_i];
    golden g;
    golden_load(&g, name);
    const size_t batch = (size_t)gk(&g, "batch");
    lay l;
    int is_bn = strncmp(name, "batchnorm", 9) == 0, training = 1;
    if (is_bn) {
        unsigned char cfg[AE__BATCHNORM_CONFIG_SIZE];
        bn_cfg(cfg, (float)gk(&g, "momentum_e6") * 1e-6f, (float)gk(&g, "epsilon_e9") * 1e-9f);
        ae_shape in = gk(&g, "rank") == 1
                          ? (ae_shape){1, {(uint32_t)gk(&g, "in_c"), 0, 0, 0}}
                          : shape3((uint32_t)gk(&g, "in_c"), (uint32_t)gk(&g, "in_h"),
                                   (uint32_t)gk(&g, "in_w"));
        lay_make(&l, AE_LAYER_BATCHNORM, in, cfg, sizeof cfg);
        const size_t c = (size_t)gk(&g, "in_c");
        set_param(&l, 0, gt(&g, "weight", c), c);
        set_param(&l, 1, gt(&g, "bias", c), c);
        memcpy(lay_state(&l, 0).value, gt(&g, "running_mean", c), c * sizeof(float));
        memcpy(lay_state(&l, 1).value, gt(&g, "running_var", c), c * sizeof(float));
        training = (int)gk(&g, "training");
    } else {
        ae_shape in = shape3((uint32_t)gk(&g, "in_c"), (uint32_t)gk(&g, "in_h"),
                             (uint32_t)gk(&g, "in_w"));
        if (strncmp(name, "maxpool", 7) == 0) {
            unsigned char cfg[AE__POOL2D_CONFIG_SIZE];
            const uint32_t pads[4] = {(uint32_t)gk(&g, "pad_top"), (uint32_t)gk(&g, "pad_bottom"),
                                      (uint32_t)gk(&g, "pad_left"), (uint32_t)gk(&g, "pad_right")};
            pool_cfg(cfg, (uint32_t)gk(&g, "pool_h"), (uint32_t)gk(&g, "pool_w"),
                     (uint32_t)gk(&g, "stride_h"), (uint32_t)gk(&g, "stride_w"),
                     (int)gk(&g, "padding"), pads);
            lay_make(&l, AE_LAYER_MAXPOOL2D, in, cfg, sizeof cfg);
        } else if (strncmp(name, "upsample", 8) == 0) {
            unsigned char cfg[AE__UPSAMPLE2D_CONFIG_SIZE];
            ae_upsample2d_options o = AE_UPSAMPLE2D_OPTIONS_INIT;
            o.size_h = (uint32_t)gk(&g, "size_h");
            o.size_w = (uint32_t)gk(&g, "size_w");
            lay_config(cfg, AE_LAYER_UPSAMPLE2D, &o);
            lay_make(&l, AE_LAYER_UPSAMPLE2D, in, cfg, sizeof cfg);
        } else {
            const int transpose = strncmp(name, "convt", 5) == 0;
            const uint32_t pads[4] = {(uint32_t)gk(&g, "pad_top"), (uint32_t)gk(&g, "pad_bottom"),
                                      (uint32_t)gk(&g, "pad_left"), (uint32_t)gk(&g, "pad_right")};
            unsigned char cfg[AE__CONV2D_TRANSPOSE_CONFIG_SIZE];
            const uint32_t f = (uint32_t)gk(&g, "filters"), kh = (uint32_t)gk(&g, "kernel_h"),
                           kw = (uint32_t)gk(&g, "kernel_w");
            if (transpose)
                convt_cfg(cfg, f, kh, kw, (uint32_t)gk(&g, "stride_h"), (uint32_t)gk(&g, "stride_w"),
                          (uint32_t)gk(&g, "dilation_h"), (uint32_t)gk(&g, "dilation_w"),
                          (int)gk(&g, "padding"), pads, (int)gk(&g, "output_padding_h"),
                          (int)gk(&g, "output_padding_w"), (int)gk(&g, "activation"),
                          (int)gk(&g, "use_bias"));
            else
                conv_cfg(cfg, f, kh, kw, (uint32_t)gk(&g, "stride_h"), (uint32_t)gk(&g, "stride_w"),
                         (uint32_t)gk(&g, "dilation_h"), (uint32_t)gk(&g, "dilation_w"),
                         (int)gk(&g, "padding"), pads, (int)gk(&g, "activation"),
                         (int)gk(&g, "use_bias"));
            lay_make(&l, transpose ? AE_LAYER_CONV2D_TRANSPOSE : AE_LAYER_CONV2D, in, cfg,
                     transpose ? AE__CONV2D_TRANSPOSE_CONFIG_SIZE : AE__CONV2D_CONFIG_SIZE);
            const size_t wn = (size_t)gk(&g, "in_c") * f * kh * kw;
            set_param(&l, 0, gt(&g, "weight", wn), wn);
            if (gk(&g, "use_bias"))
                set_param(&l, 1, gt(&g, "bias", f), f);
        }
        ae_shape want = shape3((uint32_t)gk(&g, "out_c"), (uint32_t)gk(&g, "out_h"),
                               (uint32_t)gk(&g, "out_w"));
        char a[64], b[64];
        ck_assert_msg(ae__shape_equal(&l.out, &want), "%s: output shape %s, PyTorch %s", name,
                      ae__shape_str(&l.out, a, sizeof a), ae__shape_str(&want, b, sizeof b));
    }
    const size_t ni = batch * l.in_size, no = batch * l.out_size;
    const float *x = gt(&g, "x", ni), *wy = gt(&g, "y", no), *dy = gt(&g, "dy", no);
    const float *wdx = gt(&g, "dx", ni);
    ck_assert(x && wy && dy && wdx);
    float *y = falloc(no), *dx = falloc(ni);
    ae_rng rng;
    ae__rng_seed(&rng, 1);
    lay_fwd(&l, batch, training, &rng, x, y);
    assert_close(y, wy, no, 1e-5f, name);
    if (training) { /* backward follows a training forward only */
        lay_bwd(&l, batch, 1, x, y, dy, dx);
        assert_close(dx, wdx, ni, 1e-4f, name);
    }
    static const char *const grads[2][2] = {{"weight", "dweight"}, {"bias", "dbias"}};
    for (size_t p = 0; p < lay_nparams(&l) && p < 2; p++) {
        ae_param_view v = lay_param(&l, p);
        const float *want = gt(&g, grads[p][1], v.count);
        ck_assert_str_eq(v.name, grads[p][0]);
        ck_assert_msg(want != NULL, "%s: no %s", name, grads[p][1]);
        if (training)
            assert_close(v.grad, want, v.count, 1e-4f, name);
    }
    if (is_bn) {
        const size_t c = (size_t)gk(&g, "in_c");
        assert_close(lay_state(&l, 0).value, gt(&g, "new_running_mean", c), c, 1e-6f, name);
        assert_close(lay_state(&l, 1).value, gt(&g, "new_running_var", c), c, 1e-6f, name);
    }
    free(y);
    free(dx);
    golden_free(&g);
    lay_free(&l);
}
END_TEST

/* ---- grouping: a batch equals its samples one by one --------------------- */

static void batched_equals_single(const char *kind, const unsigned char *cfg, size_t size,
                                  ae_shape in, size_t batch)
{
    lay l;
    lay_make(&l, kind, in, cfg, size);
    randomize_params(&l);
    float *x = rand_input(batch * l.in_size);
    lay_batch_equals_single(&l, batch, 1, x);
    free(x);
    lay_free(&l);
}

START_TEST(conv_groups_give_the_same_result_as_single_samples)
{
    /* 36 x 784 column floats per sample: groups of 2, the last one short */
    unsigned char cfg[AE__CONV2D_TRANSPOSE_CONFIG_SIZE];
    conv_cfg(cfg, 5, 3, 3, 1, 1, 1, 1, AE_PAD_SAME, NULL, AE_ACT_TANH, 1);
    ck_assert_uint_eq(ae__conv_group(36 * 784, 5), 2);
    batched_equals_single(AE_LAYER_CONV2D, cfg, AE__CONV2D_CONFIG_SIZE, shape3(4, 28, 28), 5);
    conv_cfg(cfg, 6, 3, 3, 2, 2, 1, 1, AE_PAD_SAME, NULL, AE_ACT_RELU, 1);
    batched_equals_single(AE_LAYER_CONV2D, cfg, AE__CONV2D_CONFIG_SIZE, shape3(4, 72, 72), 3);
    /* few filters at stride 1: the direct path, sample by sample */
    conv_cfg(cfg, 2, 3, 3, 1, 1, 1, 1, AE_PAD_SAME, NULL, AE_ACT_SIGMOID, 1);
    batched_equals_single(AE_LAYER_CONV2D, cfg, AE__CONV2D_CONFIG_SIZE, shape3(3, 9, 7), 4);
    conv_cfg(cfg, 3, 1, 1, 1, 1, 1, 1, AE_PAD_VALID, NULL, AE_ACT_IDENTITY, 1);
    batched_equals_single(AE_LAYER_CONV2D, cfg, AE__CONV2D_CONFIG_SIZE, shape3(2, 5, 5), 3);
    /* transpose: 4 * 9 rows x 35 * 35 columns per sample, one per group */
    convt_cfg(cfg, 4, 3, 3, 1, 1, 1, 1, AE_PAD_SAME, NULL, -1, -1, AE_ACT_SIGMOID, 1);
    batched_equals_single(AE_LAYER_CONV2D_TRANSPOSE, cfg, AE__CONV2D_TRANSPOSE_CONFIG_SIZE,
                          shape3(2, 35, 35), 5);
    convt_cfg(cfg, 2, 3, 3, 2, 2, 1, 1, AE_PAD_SAME, NULL, -1, -1, AE_ACT_IDENTITY, 1);
    batched_equals_single(AE_LAYER_CONV2D_TRANSPOSE, cfg, AE__CONV2D_TRANSPOSE_CONFIG_SIZE,
                          shape3(3, 4, 4), 4);
}
END_TEST

/* ---- shape rules through the public API ---------------------------------- */

/* PyTorch's formulas, written out independently of the library. */
static uint32_t torch_conv_len(uint32_t in, uint32_t k, uint32_t s, uint32_t p, uint32_t d)
{
    return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

static uint32_t torch_convt_len(uint32_t in, uint32_t k, uint32_t s, uint32_t p, uint32_t op,
                                uint32_t d)
{
    return (in - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

START_TEST(shape_rules_follow_pytorch_and_keras)
{
    ae_encoder *enc;
    ae_shape in = shape3(1, 28, 28), s;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    /* the tutorial's encoder: 28 -> 14 -> 7 with "same", stride 2 */
    ck_assert_int_eq(ae_encoder_add_conv2d(enc, 16, 3, 2, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_encoder_add_conv2d(enc, 8, 3, 2, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ae_encoder_latent_shape(enc, &s);
    ck_assert(ae__shape_equal(&s, &(ae_shape){3, {8, 7, 7, 0}}));
    /* and back: 7 -> 14 -> 28 */
    ck_assert_int_eq(ae_encoder_add_conv2d_transpose(enc, 8, 3, 2, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_encoder_add_conv2d_transpose(enc, 16, 3, 2, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ae_encoder_latent_shape(enc, &s);
    ck_assert(ae__shape_equal(&s, &(ae_shape){3, {16, 28, 28, 0}}));
    ck_assert_int_eq(ae_encoder_add_maxpool2d(enc, 2, 0, AE_PAD_VALID), AE_OK);
    ck_assert_int_eq(ae_encoder_add_upsample2d(enc, 3, 2), AE_OK);
    ae_encoder_latent_shape(enc, &s);
    ck_assert(ae__shape_equal(&s, &(ae_shape){3, {16, 42, 28, 0}}));
    ck_assert_int_eq(ae_encoder_add_flatten(enc), AE_OK);
    ck_assert_uint_eq(ae_encoder_latent_size(enc), 16 * 42 * 28);
    ae_shape back = shape3(16, 28, 42);
    ck_assert_int_eq(ae_encoder_add_reshape(enc, &back), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dropout(enc, 0.1f), AE_OK);
    ck_assert_int_eq(ae_encoder_add_batchnorm(enc), AE_OK);
    ae_encoder_latent_shape(enc, &s);
    ck_assert(ae__shape_equal(&s, &back));
    ck_assert_uint_eq(ae_encoder_layer_count(enc), 10);
    /* trainable: convs and batchnorm's gamma/beta, not its running stats */
    size_t want = (16 * 9 + 16) + (8 * 16 * 9 + 8) + (8 * 8 * 9 + 8) + (8 * 16 * 9 + 16) + 2 * 16;
    ck_assert_uint_eq(ae_encoder_param_count(enc), want);
    ae_encoder_destroy(enc);

    /* a grid of PyTorch's Conv2d / ConvTranspose2d settings */
    for (uint32_t n = 1; n <= 9; n += 2)
        for (uint32_t k = 1; k <= 4; k++)
            for (uint32_t st = 1; st <= 3; st++)
                for (uint32_t p = 0; p <= k / 2; p++)
                    for (uint32_t d = 1; d <= 2; d++) {
                        ae_shape i = shape3(2, n, n + 1);
                        ck_assert_int_eq(ae_encoder_create(&enc, &i, 1), AE_OK);
                        ae_conv2d_options c = AE_CONV2D_OPTIONS_INIT;
                        c.filters = 1;
                        c.kernel_h = c.kernel_w = k;
                        c.stride_h = c.stride_w = st;
                        c.dilation_h = c.dilation_w = d;
                        c.padding = AE_PAD_EXPLICIT;
                        c.pad_top = c.pad_bottom = c.pad_left = c.pad_right = p;
                        int rc = ae_encoder_add_conv2d_ex(enc, &c);
                        if (n + 2 * p >= d * (k - 1) + 1) {
                            ck_assert_int_eq(rc, AE_OK);
                            ae_encoder_latent_shape(enc, &s);
                            ck_assert_uint_eq(s.dims[1], torch_conv_len(n, k, st, p, d));
                            ck_assert_uint_eq(s.dims[2], torch_conv_len(n + 1, k, st, p, d));
                        } else {
                            ck_assert_int_eq(rc, AE_ERR_SHAPE);
                        }
                        ae_encoder_destroy(enc);
                        uint32_t opmax = st > d ? st : d;
                        for (uint32_t op = 0; op < opmax; op++) {
                            ck_assert_int_eq(ae_encoder_create(&enc, &i, 1), AE_OK);
                            ae_conv2d_transpose_options t = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
                            t.filters = 2;
                            t.kernel_h = t.kernel_w = k;
                            t.stride_h = t.stride_w = st;
                            t.dilation_h = t.dilation_w = d;
                            t.padding = AE_PAD_EXPLICIT;
                            t.pad_top = t.pad_bottom = t.pad_left = t.pad_right = p;
                            t.output_padding_h = t.output_padding_w = (int32_t)op;
                            rc = ae_encoder_add_conv2d_transpose_ex(enc, &t);
                            long len = (long)(n - 1) * st - 2 * (long)p + d * (k - 1) + op + 1;
                            if (len >= 1) {
                                ck_assert_int_eq(rc, AE_OK);
                                ae_encoder_latent_shape(enc, &s);
                                ck_assert_uint_eq(s.dims[1], torch_convt_len(n, k, st, p, op, d));
                                ck_assert_uint_eq(s.dims[2], torch_convt_len(n + 1, k, st, p, op, d));
                            } else {
                                ck_assert_int_eq(rc, AE_ERR_SHAPE);
                            }
                            ae_encoder_destroy(enc);
                        }
                    }
}
END_TEST

START_TEST(keras_transpose_lengths_for_same_and_valid)
{
    /* Keras deconv_output_length: same -> in*s, valid -> in*s + max(k-s, 0),
     * with output_padding: (in-1)*s + k - 2*pad + op, pad = k//2 (same) or 0 */
    static const struct { uint32_t in, k, s; int pad, op; uint32_t out; } t[] = {
        {7, 3, 2, AE_PAD_SAME, -1, 14}, {14, 3, 2, AE_PAD_SAME, -1, 28},
        {7, 3, 2, AE_PAD_SAME, 1, 14},  {5, 4, 2, AE_PAD_SAME, -1, 10},
        {5, 4, 2, AE_PAD_SAME, 0, 8},   {5, 3, 1, AE_PAD_SAME, -1, 5},
        {5, 3, 2, AE_PAD_VALID, -1, 11}, {5, 2, 3, AE_PAD_VALID, -1, 15},
        {5, 3, 2, AE_PAD_VALID, 1, 12}, {5, 1, 3, AE_PAD_SAME, 0, 13},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ae_decoder *dec;
        ae_shape in = shape3(1, t[i].in, 2), s;
        ck_assert_int_eq(ae_decoder_create(&dec, &in, 1), AE_OK);
        ae_conv2d_transpose_options o = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
        o.filters = 1;
        o.kernel_h = o.kernel_w = t[i].k;
        o.stride_h = o.stride_w = t[i].s;
        o.padding = t[i].pad;
        o.output_padding_h = t[i].op;
        ck_assert_int_eq(ae_decoder_add_conv2d_transpose_ex(dec, &o), AE_OK);
        ae_decoder_output_shape(dec, &s);
        ck_assert_msg(s.dims[1] == t[i].out, "case %zu: %u, Keras %u", i, s.dims[1], t[i].out);
        ae_decoder_destroy(dec);
    }
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(bad_options_are_rejected_and_leave_the_net_unchanged)
{
    ae_decoder *dec;
    ae_shape in = shape3(2, 6, 6), flat = {1, {72, 0, 0, 0}};
    ck_assert_int_eq(ae_decoder_create(&dec, &in, 1), AE_OK);
    ck_assert_int_eq(ae_decoder_add_conv2d(NULL, 1, 3, 1, AE_PAD_SAME, AE_ACT_RELU), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 0, 3, 1, AE_PAD_SAME, AE_ACT_RELU), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "filters is 0"));
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 0, 1, AE_PAD_SAME, AE_ACT_RELU), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 3, 0, AE_PAD_SAME, AE_ACT_RELU), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 3, 1, 7, AE_ACT_RELU), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 3, 1, -1, AE_ACT_RELU), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 3, 1, AE_PAD_SAME, 42), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 7, 1, AE_PAD_VALID, AE_ACT_RELU), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "height is 6"));
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, AE_SPATIAL_MAX + 1, 1, AE_PAD_SAME, 0), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_conv2d_ex(dec, NULL), AE_ERR_INVALID);
    ae_conv2d_options c = AE_CONV2D_OPTIONS_INIT;
    c.filters = c.kernel_h = c.kernel_w = 1;
    c.pad_top = 1; /* pads without explicit padding */
    ck_assert_int_eq(ae_decoder_add_conv2d_ex(dec, &c), AE_ERR_INVALID);
    c.pad_top = 0;
    c.struct_size = 8;
    ck_assert_int_eq(ae_decoder_add_conv2d_ex(dec, &c), AE_ERR_INVALID);
    c.struct_size = sizeof c;
    c.use_bias = 2;
    ck_assert_int_eq(ae_decoder_add_conv2d_ex(dec, &c), AE_ERR_INVALID);
    c.use_bias = 1;
    c.init = 9;
    ck_assert_int_eq(ae_decoder_add_conv2d_ex(dec, &c), AE_ERR_INVALID);

    ae_conv2d_transpose_options t = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    t.filters = 1;
    t.kernel_h = t.kernel_w = 3;
    t.stride_h = t.stride_w = 2;
    t.output_padding_h = 2; /* must be below max(stride, dilation) */
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose_ex(dec, &t), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "output_padding_h is 2"));
    t.output_padding_h = -2;
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose_ex(dec, &t), AE_ERR_INVALID);
    t.output_padding_h = 0;
    t.padding = AE_PAD_EXPLICIT;
    t.pad_top = t.pad_bottom = 7; /* crops everything */
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose_ex(dec, &t), AE_ERR_SHAPE);

    ae_pool2d_options p = AE_POOL2D_OPTIONS_INIT;
    p.padding = AE_PAD_EXPLICIT;
    p.pad_left = 2; /* more than half of a 2-wide pool */
    ck_assert_int_eq(ae_decoder_add_maxpool2d_ex(dec, &p), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_maxpool2d(dec, 0, 0, AE_PAD_VALID), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_maxpool2d(dec, 7, 0, AE_PAD_VALID), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_decoder_add_upsample2d(dec, 0, 2), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_upsample2d_ex(dec, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_dropout(dec, 1.0f), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_dropout(dec, -0.1f), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_dropout(dec, NAN), AE_ERR_INVALID);
    ae_batchnorm_options b = AE_BATCHNORM_OPTIONS_INIT;
    b.momentum = 1.5f;
    ck_assert_int_eq(ae_decoder_add_batchnorm_ex(dec, &b), AE_ERR_INVALID);
    b.momentum = 0.1f;
    b.epsilon = 0.0f;
    ck_assert_int_eq(ae_decoder_add_batchnorm_ex(dec, &b), AE_ERR_INVALID);
    ae_shape wrong = {2, {5, 5, 0, 0}};
    ck_assert_int_eq(ae_decoder_add_reshape(dec, &wrong), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_decoder_add_reshape(dec, NULL), AE_ERR_INVALID);
    /* config blobs of the wrong size through the generic path */
    unsigned char blob[80] = {0};
    ck_assert_int_eq(ae_decoder_add_layer(dec, AE_LAYER_CONV2D, blob, 60), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_layer(dec, AE_LAYER_FLATTEN, blob, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_layer(dec, AE_LAYER_BATCHNORM, NULL, 0), AE_ERR_INVALID);
    ck_assert_uint_eq(ae_decoder_layer_count(dec), 0);
    /* spatial layers need {C, H, W} */
    ck_assert_int_eq(ae_decoder_add_flatten(dec), AE_OK);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 1, 1, AE_PAD_VALID, 0), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "{72}"));
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose(dec, 1, 1, 1, AE_PAD_VALID, 0), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_decoder_add_maxpool2d(dec, 1, 1, AE_PAD_VALID), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_decoder_add_upsample2d(dec, 1, 1), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_decoder_add_batchnorm(dec), AE_OK); /* {F} works: BatchNorm1d */
    ck_assert_uint_eq(ae_decoder_layer_count(dec), 2);
    ae_decoder_output_shape(dec, &in);
    ck_assert(ae__shape_equal(&in, &flat));
    ae_decoder_destroy(dec);
}
END_TEST

START_TEST(failed_allocations_leak_nothing)
{
    ae_shape in = shape3(1, 8, 8);
    for (size_t fail = 1; fail < 40; fail++) {
        failing_allocator fa;
        ae_encoder *enc = NULL;
        failing_allocator_install(&fa, fail);
        int rc = ae_encoder_create(&enc, &in, 1);
        if (rc == AE_OK) {
            rc = ae_encoder_add_conv2d(enc, 4, 3, 2, AE_PAD_SAME, AE_ACT_RELU);
            if (rc == AE_OK)
                rc = ae_encoder_add_conv2d_transpose(enc, 2, 3, 2, AE_PAD_SAME, AE_ACT_RELU);
            if (rc == AE_OK)
                rc = ae_encoder_add_batchnorm(enc);
            if (rc == AE_OK)
                rc = ae_encoder_add_maxpool2d(enc, 2, 2, AE_PAD_VALID);
            if (rc == AE_OK)
                rc = ae_encoder_add_dropout(enc, 0.2f);
            if (rc == AE_OK)
                rc = ae_encoder_add_flatten(enc);
            ae_encoder_destroy(enc);
        }
        ck_assert(rc == AE_OK || rc == AE_ERR_NOMEM);
        ck_assert_uint_eq(fa.live, 0);
        failing_allocator_remove();
        if (fa.calls < fail)
            break; /* every allocation has been failed once */
    }
}
END_TEST

/* ---- noise ---------------------------------------------------------------- */

START_TEST(noise_models_corrupt_as_documented)
{
    const size_t n = 20000;
    float *x = falloc(n), *c = falloc(n);
    for (size_t i = 0; i < n; i++)
        c[i] = 0.5f;
    /* gaussian: mean ~0.5, std ~0.2, within [0, 1] */
    memcpy(x, c, n * sizeof(float));
    ck_assert_int_eq(ae_noise_apply(x, n, AE_NOISE_GAUSSIAN, 0.2f, 3), AE_OK);
    double m = 0, v = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(x[i] >= 0.0f && x[i] <= 1.0f);
        m += x[i];
    }
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        v += (x[i] - m) * (x[i] - m);
    v /= (double)n;
    ck_assert_double_eq_tol(m, 0.5, 0.01);
    ck_assert_double_eq_tol(sqrt(v), 0.2, 0.01);
    /* clipping: a large factor piles values at 0 and 1 */
    memcpy(x, c, n * sizeof(float));
    ck_assert_int_eq(ae_noise_apply(x, n, AE_NOISE_GAUSSIAN, 5.0f, 3), AE_OK);
    size_t ends = 0;
    for (size_t i = 0; i < n; i++)
        ends += x[i] == 0.0f || x[i] == 1.0f;
    ck_assert_uint_gt(ends, n * 8 / 10);
    /* masking: about a fraction `amount` zeroed, the rest untouched */
    memcpy(x, c, n * sizeof(float));
    ck_assert_int_eq(ae_noise_apply(x, n - 1, AE_NOISE_MASKING, 0.3f, 4), AE_OK);
    size_t zeros = 0;
    for (size_t i = 0; i < n - 1; i++) {
        ck_assert(x[i] == 0.0f || x[i] == 0.5f);
        zeros += x[i] == 0.0f;
    }
    ck_assert_float_eq(x[n - 1], 0.5f); /* count respected */
    ck_assert_uint_gt(zeros, 5700);
    ck_assert_uint_lt(zeros, 6300);
    /* salt and pepper: a fraction set to 0 or 1, evenly */
    memcpy(x, c, n * sizeof(float));
    ck_assert_int_eq(ae_noise_apply(x, n, AE_NOISE_SALT_PEPPER, 0.2f, 5), AE_OK);
    size_t salt = 0, pepper = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert(x[i] == 0.0f || x[i] == 1.0f || x[i] == 0.5f);
        salt += x[i] == 1.0f;
        pepper += x[i] == 0.0f;
    }
    ck_assert_uint_gt(salt, 1800);
    ck_assert_uint_lt(salt, 2200);
    ck_assert_uint_gt(pepper, 1800);
    ck_assert_uint_lt(pepper, 2200);
    /* same seed, same noise; none leaves the data alone */
    float *y = falloc(n);
    memcpy(x, c, n * sizeof(float));
    memcpy(y, c, n * sizeof(float));
    ae_noise_apply(x, n, AE_NOISE_GAUSSIAN, 0.2f, 9);
    ae_noise_apply(y, n, AE_NOISE_GAUSSIAN, 0.2f, 9);
    ck_assert_int_eq(memcmp(x, y, n * sizeof(float)), 0);
    ae_noise_apply(y, n, AE_NOISE_GAUSSIAN, 0.2f, 10);
    ck_assert_int_ne(memcmp(x, y, n * sizeof(float)), 0);
    memcpy(x, c, n * sizeof(float));
    ck_assert_int_eq(ae_noise_apply(x, n, AE_NOISE_NONE, 0.0f, 1), AE_OK);
    ck_assert_int_eq(memcmp(x, c, n * sizeof(float)), 0);
    /* errors */
    ck_assert_int_eq(ae_noise_apply(NULL, n, AE_NOISE_GAUSSIAN, 0.2f, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply(x, 0, AE_NOISE_GAUSSIAN, 0.2f, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply(x, n, 7, 0.2f, 1), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "unknown noise 7"));
    ck_assert_int_eq(ae_noise_apply(x, n, AE_NOISE_GAUSSIAN, -0.1f, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply(x, n, AE_NOISE_GAUSSIAN, INFINITY, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply(x, n, AE_NOISE_MASKING, 1.5f, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply(x, n, AE_NOISE_SALT_PEPPER, NAN, 1), AE_ERR_INVALID);
    free(x);
    free(y);
    free(c);
}
END_TEST

/* ---- training: conv model, denoising, frozen state ------------------------ */

/* Smooth 1x8x8 images in [0, 1]: blobs at random places. */
static ae_dataset *blob_images(size_t count, uint64_t seed)
{
    const size_t side = 8, size = side * side;
    float *x = falloc(count * size);
    lay_seed(seed);
    for (size_t n = 0; n < count; n++) {
        float cy = 2.0f + 2.0f * (urand() + 1.0f), cx = 2.0f + 2.0f * (urand() + 1.0f);
        for (size_t i = 0; i < side; i++)
            for (size_t j = 0; j < side; j++) {
                float d = ((float)i - cy) * ((float)i - cy) + ((float)j - cx) * ((float)j - cx);
                x[n * size + i * side + j] = expf(-d / 6.0f);
            }
    }
    ae_dataset *ds;
    ae_shape s = shape3(1, 8, 8);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, count, &s, AE_DATASET_COPY), AE_OK);
    free(x);
    return ds;
}

static ae_model *small_conv_model(int with_bn)
{
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ae_shape in = shape3(1, 8, 8), lat = shape3(4, 4, 4);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 11), AE_OK);
    ck_assert_int_eq(ae_encoder_add_conv2d(enc, 4, 3, 2, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    if (with_bn)
        ck_assert_int_eq(ae_encoder_add_batchnorm(enc), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, 12), AE_OK);
    ck_assert_int_eq(ae_decoder_add_conv2d_transpose(dec, 4, 3, 2, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_add_conv2d(dec, 1, 3, 1, AE_PAD_SAME, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

static double denoised_mse(ae_model *m, ae_dataset *ds)
{
    const size_t n = ae_dataset_count(ds), size = ae_dataset_sample_size(ds);
    float *x = falloc(n * size), *noisy = falloc(n * size), *out = falloc(n * size);
    ck_assert_int_eq(ae_dataset_get_batch(ds, 0, n, x, NULL), AE_OK);
    memcpy(noisy, x, n * size * sizeof(float));
    ck_assert_int_eq(ae_noise_apply(noisy, n * size, AE_NOISE_GAUSSIAN, 0.2f, 77), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(m, noisy, n, out), AE_OK);
    double mse;
    ck_assert_int_eq(ae_loss_compute(&mse, AE_LOSS_MSE, x, out, n, size), AE_OK);
    free(x);
    free(noisy);
    free(out);
    return mse;
}

START_TEST(denoising_training_learns_to_remove_noise)
{
    ae_dataset *ds = blob_images(256, 3);
    ae_model *m = small_conv_model(0);
    ae_optimizer *opt;
    ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
    ae_optimizer_options_default(&oo, AE_OPT_ADAM);
    oo.learning_rate = 0.01f;
    ck_assert_int_eq(ae_optimizer_create(&opt, &oo), AE_OK);
    double before = denoised_mse(m, ds);
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    ck_assert_int_eq(to.noise, AE_NOISE_NONE);
    to.epochs = 15;
    to.batch_size = 16;
    to.seed = 4;
    to.noise = AE_NOISE_GAUSSIAN;
    to.noise_amount = 0.2f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    double after = denoised_mse(m, ds);
    /* the noisy input itself is ~0.03 away from the clean images */
    ck_assert_msg(after < 0.2 * before && after < 0.01, "denoised MSE %.4g (before %.4g)", after,
                  before);
    /* the history holds the loss against the clean images */
    double tl;
    ck_assert_int_eq(ae_model_history_get(m, 14, &tl, NULL), AE_OK);
    ck_assert(tl < 0.02);
    /* bad noise settings */
    to.noise = 9;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    to.noise = AE_NOISE_MASKING;
    to.noise_amount = 2.0f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    ck_assert_uint_eq(ae_model_history_length(m), 15);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    ae_dataset_destroy(ds);
}
END_TEST

static void weights_after(int noise, uint64_t seed, uint32_t epochs_a, uint32_t epochs_b,
                          float *out, size_t *n)
{
    ae_dataset *ds = blob_images(40, 8);
    ae_model *m = small_conv_model(1);
    ae_optimizer *opt;
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.batch_size = 8;
    to.seed = seed;
    to.noise = noise;
    to.noise_amount = 0.3f;
    to.epochs = epochs_a;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    if (epochs_b) {
        to.epochs = epochs_b;
        ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    }
    *n = 0;
    ae__net *nets[2] = {&m->enc->net, &m->dec->net};
    for (int k = 0; k < 2; k++) {
        size_t t = ae__net_tensor_count(nets[k]);
        ae_param_view v[16];
        ck_assert_int_eq(ae__net_params(nets[k], v), AE_OK);
        for (size_t i = 0; i < t; i++) {
            memcpy(out + *n, v[i].value, v[i].count * sizeof(float));
            *n += v[i].count;
        }
        t = ae__net_state_count(nets[k]);
        ck_assert_int_eq(ae__net_states(nets[k], v), AE_OK);
        for (size_t i = 0; i < t; i++) {
            memcpy(out + *n, v[i].value, v[i].count * sizeof(float));
            *n += v[i].count;
        }
    }
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    ae_dataset_destroy(ds);
}

START_TEST(noisy_training_is_deterministic_and_resumable)
{
    static float a[4096], b[4096], c[4096];
    size_t na, nb, nc;
    weights_after(AE_NOISE_SALT_PEPPER, 5, 3, 0, a, &na);
    weights_after(AE_NOISE_SALT_PEPPER, 5, 3, 0, b, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_eq(memcmp(a, b, na * sizeof(float)), 0);
    weights_after(AE_NOISE_SALT_PEPPER, 5, 1, 2, c, &nc); /* 1 epoch, then 2 more */
    ck_assert_int_eq(memcmp(a, c, na * sizeof(float)), 0);
    weights_after(AE_NOISE_SALT_PEPPER, 6, 3, 0, c, &nc);
    ck_assert_int_ne(memcmp(a, c, na * sizeof(float)), 0);
    weights_after(AE_NOISE_MASKING, 5, 3, 0, c, &nc);
    ck_assert_int_ne(memcmp(a, c, na * sizeof(float)), 0);
}
END_TEST

START_TEST(batchnorm_running_stats_are_state_not_parameters)
{
    ae_dataset *ds = blob_images(64, 9);
    ae_model *m = small_conv_model(1);
    const size_t trainable = ae_model_param_count(m);
    ck_assert_uint_eq(trainable, (4 * 9 + 4) + 2 * 4 + (4 * 4 * 9 + 4) + (4 * 9 + 1));
    ae_optimizer *opt;
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 2;
    to.batch_size = 16;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    /* the layer moved its running statistics: a mean of non-negative relu
     * outputs and a variance */
    ae__net *enc = &m->enc->net;
    ck_assert_uint_eq(ae__net_tensor_count(enc), 4); /* conv w, b; gamma, beta */
    ck_assert_uint_eq(ae__net_state_count(enc), 2);
    ck_assert_uint_eq(ae__net_state_count(&m->dec->net), 0);
    ae_param_view st[2];
    ck_assert_int_eq(ae__net_states(enc, st), AE_OK);
    ae_param_view rm = st[0], rv = st[1];
    ck_assert_str_eq(rm.name, "running_mean");
    ck_assert_ptr_null(rm.grad);
    int moved = 0;
    for (size_t i = 0; i < 4; i++) {
        ck_assert(rm.value[i] >= 0.0f && rv.value[i] >= 0.0f);
        moved |= rv.value[i] != 1.0f && rm.value[i] != 0.0f;
    }
    ck_assert(moved);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 8); /* 4 batches x 2 epochs */
    /* an old-layout options struct (no noise fields) still trains */
    ae_train_options old = AE_TRAIN_OPTIONS_INIT;
    old.struct_size = (uint32_t)offsetof(ae_train_options, noise);
    old.epochs = 1;
    old.noise = 123; /* past the caller's struct_size: never read */
    ck_assert_int_eq(ae_model_train(m, opt, ds, &old), AE_OK);
    old.struct_size = (uint32_t)offsetof(ae_train_options, noise) - 4;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &old), AE_ERR_INVALID);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    ae_dataset_destroy(ds);
}
END_TEST

/* A custom kind with one state tensor, to check the new vtable slots. */
static float custom_state[3];
static int custom_state_null;
static int st_create(void **state, ae_shape *out, const ae_layer_create_args *a)
{
    *state = custom_state;
    *out = a->input;
    return AE_OK;
}
static void st_destroy(void *state) { (void)state; }
static int st_forward(void *state, const ae_layer_ctx *c, const float *x, float *y)
{
    (void)state;
    memcpy(y, x, c->batch * 3 * sizeof(float));
    return AE_OK;
}
static size_t st_count(const void *state)
{
    (void)state;
    return 1;
}
static int st_get(void *state, size_t i, ae_param_view *v)
{
    (void)i;
    v->name = "counter";
    v->value = custom_state_null ? NULL : state;
    v->count = 3;
    v->shape.rank = 1;
    v->shape.dims[0] = 3;
    return AE_OK;
}

START_TEST(custom_layers_can_declare_state_tensors)
{
    ae_layer_vtable vt = AE_LAYER_VTABLE_INIT;
    vt.type_name = "test.stateful";
    vt.create = st_create;
    vt.destroy = st_destroy;
    vt.forward = st_forward;
    vt.state_count = st_count;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "state_count needs state_get"));
    vt.state_get = st_get;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_OK);
    ae_encoder *enc;
    ae_shape in = {1, {3, 0, 0, 0}};
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    custom_state_null = 1; /* a state view without values is refused */
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.stateful", NULL, 0), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "state tensor 0"));
    custom_state_null = 0;
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.stateful", NULL, 0), AE_OK);
    ck_assert_uint_eq(ae_encoder_param_count(enc), 0);
    ck_assert_uint_eq(ae__net_state_count(&enc->net), 1);
    ae_param_view v;
    ck_assert_int_eq(ae__net_states(&enc->net, &v), AE_OK);
    ck_assert_ptr_eq(v.value, custom_state);
    ck_assert_str_eq(v.name, "counter");
    ae_encoder_destroy(enc);
    /* a vtable from before the slots existed has no state */
    vt.type_name = "test.old";
    vt.struct_size = (uint32_t)offsetof(ae_layer_vtable, state_count);
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_OK);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.old", NULL, 0), AE_OK);
    ck_assert_uint_eq(ae__net_state_count(&enc->net), 0);
    ae_encoder_destroy(enc);
    ck_assert_int_eq(ae_layer_unregister("test.old"), AE_OK);
    ck_assert_int_eq(ae_layer_unregister("test.stateful"), AE_OK);
}
END_TEST

Suite *ae_conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, im2col_and_col2im_follow_their_index_map_bit_for_bit);
    tcase_add_test(tc, conv2d_hand_worked_valid_and_same);
    tcase_add_test(tc, conv2d_transpose_hand_worked_keras_alignment);
    tcase_add_test(tc, maxpool_upsample_hand_worked_and_ties_go_first);
    tcase_add_test(tc, batchnorm_hand_worked_statistics);
    tcase_add_test(tc, dropout_trains_inverted_and_is_identity_in_inference);
    tcase_add_test(tc, golden_index_lists_every_case);
    tcase_add_loop_test(tc, layer_matches_pytorch_golden_case, 0, (int)N_GOLDEN);
    tcase_add_test(tc, conv2d_gradients_match_finite_differences);
    tcase_add_test(tc, conv2d_transpose_gradients_match_finite_differences);
    tcase_add_test(tc, conv_groups_give_the_same_result_as_single_samples);
    tcase_add_test(tc, shape_rules_follow_pytorch_and_keras);
    tcase_add_test(tc, keras_transpose_lengths_for_same_and_valid);
    tcase_add_test(tc, bad_options_are_rejected_and_leave_the_net_unchanged);
    tcase_add_test(tc, failed_allocations_leak_nothing);
    tcase_add_test(tc, custom_layers_can_declare_state_tensors);
    suite_add_tcase(s, tc);
    TCase *tt = tcase_create("denoising");
    tcase_set_timeout(tt, 60);
    tcase_add_test(tt, noise_models_corrupt_as_documented);
    tcase_add_test(tt, denoising_training_learns_to_remove_noise);
    tcase_add_test(tt, noisy_training_is_deterministic_and_resumable);
    tcase_add_test(tt, batchnorm_running_stats_are_state_not_parameters);
    suite_add_tcase(s, tt);
    return s;
}
