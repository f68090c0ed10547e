/* SPDX-License-Identifier: MIT */
/*
 * upsample2d.c - nearest-neighbour upsampling by integer factors over NCHW
 * batches: y[c][i][j] = x[c][i / sh][j / sw]. Backward sums each sh x sw
 * block of dy.
 *
 * Config (8 bytes, little-endian u32): size h, size w. Type version 1.
 */
#include <string.h>

#include "core/core.h"
#include "layer.h"

#define AE__UPSAMPLE2D_CONFIG_SIZE 8 /* size h, w */

typedef struct upsample {
    size_t planes; /* channels per sample */
    size_t h, w, sh, sw;
} upsample;

size_t ae__upsample2d_config(unsigned char *out, const void *opts);
size_t ae__upsample2d_config(unsigned char *out, const void *opts)
{
    const ae_upsample2d_options *o = opts;
    ae__le32(out, o->size_h);
    ae__le32(out + 4, o->size_w);
    return AE__UPSAMPLE2D_CONFIG_SIZE;
}

static int upsample_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    char buf[64];
    if (args->config == NULL || args->config_size != AE__UPSAMPLE2D_CONFIG_SIZE)
        return ae__error(AE_ERR_INVALID, "upsample2d: config is %zu bytes, expected %d",
                         args->config_size, AE__UPSAMPLE2D_CONFIG_SIZE);
    uint32_t sh = ae__rd32(args->config), sw = ae__rd32((const unsigned char *)args->config + 4);
    if (sh == 0 || sw == 0 || sh > AE_SPATIAL_MAX || sw > AE_SPATIAL_MAX)
        return ae__error(AE_ERR_INVALID, "upsample2d: size %u x %u, each must be 1 to %u", sh, sw,
                         AE_SPATIAL_MAX);
    if (args->input.rank != 3)
        return ae__error(AE_ERR_SHAPE, "upsample2d: input shape %s is not {C, H, W}",
                         ae__shape_str(&args->input, buf, sizeof buf));
    const size_t c = args->input.dims[0], h = args->input.dims[1], w = args->input.dims[2];
    size_t oh = h * sh, ow = w * sw, total;
    if (oh > (size_t)INT32_MAX || ow > (size_t)INT32_MAX || !ae__mul_size(c, oh * ow, &total) ||
        total > (size_t)INT32_MAX)
        return ae__error(AE_ERR_LIMIT, "upsample2d: %zu x %zu x %zu upsampled by %u x %u exceeds 2^31-1",
                         c, h, w, sh, sw);
    upsample *u = ae__alloc(sizeof *u);
    if (u == NULL)
        return AE_ERR_NOMEM;
    u->planes = c;
    u->h = h;
    u->w = w;
    u->sh = sh;
    u->sw = sw;
    memset(output, 0, sizeof *output);
    output->rank = 3;
    output->dims[0] = (uint32_t)c;
    output->dims[1] = (uint32_t)oh;
    output->dims[2] = (uint32_t)ow;
    *state = u;
    return AE_OK;
}

static void upsample_destroy(void *state) { ae__free(state); }

static int upsample_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const upsample *u = state;
    const size_t planes = ctx->batch * u->planes, ow = u->w * u->sw;
    for (size_t q = 0; q < planes; q++)
        for (size_t i = 0; i < u->h; i++) {
            const float *restrict src = x + (q * u->h + i) * u->w;
            float *restrict row = y + (q * u->h + i) * u->sh * ow;
            for (size_t j = 0; j < u->w; j++)
                for (size_t k = 0; k < u->sw; k++)
                    row[j * u->sw + k] = src[j];
            for (size_t r = 1; r < u->sh; r++)
                memcpy(row + r * ow, row, ow * sizeof(float));
        }
    return AE_OK;
}

static int upsample_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                             const float *dy, float *dx)
{
    const upsample *u = state;
    const size_t planes = ctx->batch * u->planes, ow = u->w * u->sw;
    (void)x;
    (void)y;
    if (dx == NULL)
        return AE_OK;
    for (size_t q = 0; q < planes; q++)
        for (size_t i = 0; i < u->h; i++) {
            float *restrict d = dx + (q * u->h + i) * u->w;
            const float *restrict g = dy + (q * u->h + i) * u->sh * ow;
            for (size_t j = 0; j < u->w; j++) {
                float s = 0.0f;
                for (size_t r = 0; r < u->sh; r++)
                    for (size_t k = 0; k < u->sw; k++)
                        s += g[r * ow + j * u->sw + k];
                d[j] = s;
            }
        }
    return AE_OK;
}

const ae_layer_vtable ae__upsample2d_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_UPSAMPLE2D,
    .type_version = 1,
    .create = upsample_create,
    .destroy = upsample_destroy,
    .forward = upsample_forward,
    .backward = upsample_backward,
};
