/* SPDX-License-Identifier: MIT */
/*
 * reshape.c - reshape and flatten: the data stays as it is (row-major),
 * only the per-sample shape changes; forward and backward copy.
 *
 * reshape config (20 bytes, little-endian u32): rank, dims[4] (unused dims
 * 0); the product must equal the input's. flatten takes no config and
 * gives {size}. Type version 1 for both.
 */
#include <string.h>

#include "core/core.h"
#include "layer.h"

#define AE__RESHAPE_CONFIG_SIZE 20 /* rank, dims[4] */

typedef struct reshape {
    size_t size; /* floats per sample */
} reshape;

size_t ae__reshape_config(unsigned char *out, const void *opts);
size_t ae__reshape_config(unsigned char *out, const void *opts)
{
    const ae_shape *shape = opts;
    ae__le32(out, shape->rank);
    for (int i = 0; i < AE_MAX_RANK; i++)
        ae__le32(out + 4 + 4 * i, shape->dims[i]);
    return AE__RESHAPE_CONFIG_SIZE;
}

/* flatten takes no config. */
size_t ae__flatten_config(unsigned char *out, const void *opts);
size_t ae__flatten_config(unsigned char *out, const void *opts)
{
    (void)out;
    (void)opts;
    return 0;
}

static int make(void **state, size_t size)
{
    reshape *r = ae__alloc(sizeof *r);
    if (r == NULL)
        return AE_ERR_NOMEM;
    r->size = size;
    *state = r;
    return AE_OK;
}

static int reshape_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    char a[64], b[64];
    ae_shape s;
    if (args->config == NULL || args->config_size != AE__RESHAPE_CONFIG_SIZE)
        return ae__error(AE_ERR_INVALID, "reshape: config is %zu bytes, expected %d",
                         args->config_size, AE__RESHAPE_CONFIG_SIZE);
    s.rank = ae__rd32(args->config);
    for (int i = 0; i < AE_MAX_RANK; i++)
        s.dims[i] = ae__rd32((const unsigned char *)args->config + 4 + 4 * i);
    int rc = ae__shape_check(&s, "reshape");
    if (rc < 0)
        return rc;
    const size_t size = ae__shape_size(&args->input);
    if (ae__shape_size(&s) != size)
        return ae__error(AE_ERR_SHAPE, "reshape: %s has %zu values, the input %s has %zu",
                         ae__shape_str(&s, a, sizeof a), ae__shape_size(&s),
                         ae__shape_str(&args->input, b, sizeof b), size);
    if ((rc = make(state, size)) < 0)
        return rc;
    *output = s;
    return AE_OK;
}

static int flatten_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    if (args->config_size != 0)
        return ae__error(AE_ERR_INVALID, "flatten: config is %zu bytes, expected none",
                         args->config_size);
    const size_t size = ae__shape_size(&args->input);
    int rc = make(state, size);
    if (rc < 0)
        return rc;
    memset(output, 0, sizeof *output);
    output->rank = 1;
    output->dims[0] = (uint32_t)size;
    return AE_OK;
}

static void reshape_destroy(void *state) { ae__free(state); }

static int reshape_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const reshape *r = state;
    if (y != x)
        memcpy(y, x, ctx->batch * r->size * sizeof(float));
    return AE_OK;
}

static int reshape_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                            const float *dy, float *dx)
{
    const reshape *r = state;
    (void)x;
    (void)y;
    if (dx != NULL && dx != dy)
        memcpy(dx, dy, ctx->batch * r->size * sizeof(float));
    return AE_OK;
}

const ae_layer_vtable ae__reshape_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_RESHAPE,
    .type_version = 1,
    .create = reshape_create,
    .destroy = reshape_destroy,
    .forward = reshape_forward,
    .backward = reshape_backward,
};

const ae_layer_vtable ae__flatten_vtable = {
    .struct_size = sizeof(ae_layer_vtable),
    .abi_version = AE_LAYER_ABI_VERSION,
    .type_name = AE_LAYER_FLATTEN,
    .type_version = 1,
    .create = flatten_create,
    .destroy = reshape_destroy,
    .forward = reshape_forward,
    .backward = reshape_backward,
};
