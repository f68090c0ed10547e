/* SPDX-License-Identifier: MIT */
/*
 * im2col.h - shared machinery of the spatial layers: per-axis shape rules
 * (valid/same/explicit padding, the transpose's output padding), im2col and
 * its adjoint col2im over NCHW samples, gathers between a group of NCHW
 * samples and the channel-major layout GEMM wants, weight initialisation,
 * and the split of a training pass between threads by samples.
 *
 * Column layout: for a geometry with C channels on the image side and an
 * OH x OW grid on the column side, the column matrix of one sample has
 * C * kh * kw rows (channel-major, then kernel row, then kernel column, the
 * order of a PyTorch weight's last three dims) and OH * OW columns. Several
 * samples of a group sit side by side: sample g's block starts at column
 * g * OH * OW of rows that are `ld` floats long, so one GEMM covers the
 * whole group.
 */
#ifndef AE_LAYERS_IM2COL_H
#define AE_LAYERS_IM2COL_H

#include <stddef.h>
#include <stdint.h>

#include "core/kernels.h"
#include "ae/sys/layer.h"

/* Config blobs of the convolutions (little-endian u32/f32 fields): filters, kh,
 * kw, sh, sw, dh, dw, padding, pad top, bottom, left, right, [transpose: i32
 * output_padding h, w,] activation, init, use_bias, slope. */
#define AE__CONV2D_CONFIG_SIZE 64
#define AE__CONV2D_TRANSPOSE_CONFIG_SIZE 72

typedef struct ae__conv_geom {
    size_t c, h, w;     /* image side: channels and size */
    size_t oh, ow;      /* column side: grid size */
    size_t kh, kw;      /* kernel */
    size_t sh, sw;      /* stride */
    size_t dh, dw;      /* dilation */
    size_t ph, pw;      /* top and left padding */
} ae__conv_geom;

/* The config of conv2d and conv2d_transpose, decoded and validated. */
typedef struct ae__conv_cfg {
    size_t filters, kh, kw, sh, sw, dh, dw;
    int padding;
    size_t pt, pb, pl, pr;
    int64_t oph, opw; /* transpose only: AE_OUTPUT_PADDING_AUTO or >= 0 */
    int act, init, use_bias;
    float slope;
} ae__conv_cfg;

/* Decodes a conv2d (transpose = 0) or conv2d_transpose config blob; returns
 * AE_OK or AE_ERR_INVALID with a message naming `who` and the field. */
int ae__conv_cfg_parse(const char *who, const void *config, size_t size, int transpose,
                       ae__conv_cfg *out);

/* A convolution's create(): decodes and checks its config (as above) and its
 * {C, H, W} input (AE_ERR_SHAPE otherwise), and fills the geometry the
 * config gives (kernel, stride, dilation, top and left pads); the image and
 * grid sizes are the caller's. */
int ae__conv_setup(const char *who, const ae_layer_create_args *args, int transpose,
                   ae__conv_cfg *c, ae__conv_geom *g);

/* One axis of a convolution or pooling: computes the output length and the
 * leading/trailing pads for `padding` (ae_padding); explicit pads come in
 * through *p0 and *p1. Returns AE_OK or AE_ERR_SHAPE (message names `who`,
 * the axis and the numbers) when the output would be empty. */
int ae__conv_axis(const char *who, const char *axis, size_t in, size_t k, size_t s, size_t d,
                  int padding, size_t *p0, size_t *p1, size_t *out);

/* One axis of a transposed convolution: output length and leading crop p0
 * from `padding`, explicit pads (*p0, p1) and output padding `op`
 * (AE_OUTPUT_PADDING_AUTO or >= 0, already validated). */
int ae__conv_transpose_axis(const char *who, const char *axis, size_t in, size_t k, size_t s,
                            size_t d, int padding, size_t *p0, size_t p1, int64_t op,
                            size_t *out);

/* Floats of scratch im2col and col2im need for geometry g: the image's
 * phase planes when a stride above 1 tiles it exactly (C * H * W), else 0. */
size_t ae__conv_scratch(const ae__conv_geom *g);

/* col[r * ld + p] = x(c, oh * sh - ph + i * dh, ow * sw - pw + j * dw) for
 * row r = (c * kh + i) * kw + j and column p = oh * OW + ow; 0 outside.
 * `scratch` holds ae__conv_scratch(g) floats (NULL when that is 0). */
void ae__im2col(const ae__conv_geom *g, const float *x, float *col, size_t ld, float *scratch);

/* The adjoint: x(c, ...) = bias[c] (0 when bias is NULL) + the col[...]
 * that map there, added in row order. Entries of col that map outside the
 * image are scratch: col2im may overwrite them. `scratch` as for im2col. */
void ae__col2im(const ae__conv_geom *g, float *col, size_t ld, const float *bias, float *x,
                float *scratch);

/* dst[c * ld + i * hw + p] = src[(i * ch + c) * hw + p], i < count: a
 * group of NCHW samples (ch channels of hw floats) to channel-major. */
void ae__gather_cm(const float *src, size_t count, size_t ch, size_t hw, float *dst, size_t ld);

/* The reverse: dst sample i, channel c = src[c * ld + i * hw ...]
 * (+ bias[c] when bias is not NULL). */
void ae__scatter_cm(const float *src, size_t ld, size_t count, size_t ch, size_t hw,
                    const float *bias, float *dst);


/* Training splits a convolution's batch between libae's threads by
 * samples: part p runs the layer's serial code on its own samples, with its
 * own slice of the workspace and, in backward, its own weight and bias
 * gradients, which are then added to part 0's in part order (the same bits
 * for a fixed thread setting). A layer reserves ae__conv_slices() slices of
 * its workspace (the processors online, at most AE__CONV_MAX_PARTS: the
 * thread setting may change after the workspace is sized). Inference never
 * splits this way (its bits do not depend on the setting). */
#define AE__CONV_MAX_PARTS 4
size_t ae__conv_slices(void);

/* Parts for a training pass of `batch` samples of `work` multiply-adds each
 * (1: no split), at most ae__conv_slices(). */
int ae__conv_parts(size_t batch, double work);

/* One layer's serial passes and sizes, for the split. */
typedef struct ae__conv_split {
    const void *layer;
    /* a pass over n samples; backward zeroes dw and db (NULL without a
     * bias) and sums the samples' gradients into them */
    void (*forward)(const void *layer, size_t n, const float *x, float *y, void *ws);
    void (*backward)(const void *layer, size_t n, const float *x, const float *y,
                     const float *dy, float *dx, void *ws, float *dw, float *db);
    size_t in_size, out_size; /* floats per sample */
    size_t n_dw, n_db;        /* gradient floats (n_db 0 without a bias) */
    float *dw, *db;           /* the layer's gradients: part 0's */
    size_t serial_ws;         /* bytes of a pass over the whole batch */
    double work;              /* multiply-adds per sample (ae__conv_parts) */
} ae__conv_split;

/* Bytes of one part's slice: the serial workspace, then the part's
 * gradients at *grads_at; SIZE_MAX on overflow. */
size_t ae__conv_slice(size_t serial_ws, size_t grad_floats, size_t *grads_at);

/* A layer's forward or backward of ctx->batch samples over its workspace
 * of ae__conv_slices() slices: in training split by samples when
 * ae__conv_parts() gives more than one part, else one serial pass (the
 * only one backward's gradients then see: the layer's own dw and db). */
void ae__conv_forward(const ae__conv_split *s, const ae_layer_ctx *ctx, const float *x,
                      float *y);
void ae__conv_backward(const ae__conv_split *s, const ae_layer_ctx *ctx, const float *x,
                       const float *y, const float *dy, float *dx);

/* Samples per group so that a group's column matrix of `col_floats_per_sample`
 * floats per sample stays near the cache budget; at least 1. */
size_t ae__conv_group(size_t col_floats_per_sample, size_t batch);

#endif
