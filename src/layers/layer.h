/* SPDX-License-Identifier: MIT */
/*
 * layer.h - the layer-kind registry and the built-in kinds.
 *
 * A kind is a registered ae_layer_vtable (copied, zero-extended to this
 * library's layout) plus its user data. Instances hold a reference to their
 * kind, so unregistering a kind in use is safe.
 */
#ifndef AE_LAYERS_LAYER_H
#define AE_LAYERS_LAYER_H

#include "ae/layer.h"
#include "ae/sys/layer.h"

typedef struct ae__kind {
    ae_layer_vtable vt;  /* full-size copy; slots past the user's size are NULL */
    char name[AE_LAYER_NAME_MAX + 1];
    void *user_data;
    void (*user_free)(void *);
    int builtin;
} ae__kind;

/* Finds a kind by name and takes a reference; AE_ERR_NOT_FOUND if none. */
int ae__kind_acquire(const char *name, ae__kind **out);
/* Drops a reference taken by ae__kind_acquire. NULL is a no-op. */
void ae__kind_release(ae__kind *kind);

/* Fills n weights from `init` (ae_init) with the given fans. */
void ae__init_weights(float *w, size_t n, size_t fan_in, size_t fan_out, int init, ae_rng *rng);

/* param_get for a layer with one weight tensor of shape wshape and a bias
 * of nb values (b NULL: no bias): index 0 is "weight", 1 is "bias". */
int ae__weight_bias_view(const char *who, size_t index, ae_param_view *v, float *w, float *dw,
                         const ae_shape *wshape, float *b, float *db, size_t nb);

/* The built-in kinds' vtables (one file each). */
extern const ae_layer_vtable ae__dense_vtable;
extern const ae_layer_vtable ae__activation_vtable;
extern const ae_layer_vtable ae__conv2d_vtable;
extern const ae_layer_vtable ae__conv2d_transpose_vtable;
extern const ae_layer_vtable ae__maxpool2d_vtable;
extern const ae_layer_vtable ae__upsample2d_vtable;
extern const ae_layer_vtable ae__reshape_vtable;
extern const ae_layer_vtable ae__flatten_vtable;
extern const ae_layer_vtable ae__dropout_vtable;
extern const ae_layer_vtable ae__batchnorm_vtable;

/* Config blobs of the built-in kinds (little-endian u32/f32 fields). */
#define AE__DENSE_CONFIG_SIZE 20      /* units, activation, init, use_bias, slope */
#define AE__ACTIVATION_CONFIG_SIZE 8  /* activation, slope */
void ae__dense_config(unsigned char out[AE__DENSE_CONFIG_SIZE], const ae_dense_options *o);
void ae__activation_config(unsigned char out[AE__ACTIVATION_CONFIG_SIZE], int act, float slope);

/* Spatial kinds. Each create() validates its blob again (blobs also come
 * from model files); the ae__*_config writers take validated options. */
#define AE__CONV2D_CONFIG_SIZE 64     /* filters, kh, kw, sh, sw, dh, dw, padding, pad top,
                                         bottom, left, right, activation, init, use_bias, slope */
#define AE__CONV2D_TRANSPOSE_CONFIG_SIZE 72 /* as conv2d, with i32 output_padding h, w
                                               after the pads */
#define AE__POOL2D_CONFIG_SIZE 36     /* pool h, w, stride h, w, padding, pad t, b, l, r */
#define AE__UPSAMPLE2D_CONFIG_SIZE 8  /* size h, w */
#define AE__RESHAPE_CONFIG_SIZE 20    /* rank, dims[4] */
#define AE__DROPOUT_CONFIG_SIZE 4     /* f32 rate */
#define AE__BATCHNORM_CONFIG_SIZE 8   /* f32 momentum, f32 epsilon */
void ae__conv2d_config(unsigned char out[AE__CONV2D_CONFIG_SIZE], const ae_conv2d_options *o);
void ae__conv2d_transpose_config(unsigned char out[AE__CONV2D_TRANSPOSE_CONFIG_SIZE],
                                 const ae_conv2d_transpose_options *o);
void ae__pool2d_config(unsigned char out[AE__POOL2D_CONFIG_SIZE], const ae_pool2d_options *o);
void ae__upsample2d_config(unsigned char out[AE__UPSAMPLE2D_CONFIG_SIZE],
                           const ae_upsample2d_options *o);
void ae__reshape_config(unsigned char out[AE__RESHAPE_CONFIG_SIZE], const ae_shape *shape);
void ae__dropout_config(unsigned char out[AE__DROPOUT_CONFIG_SIZE], const ae_dropout_options *o);
void ae__batchnorm_config(unsigned char out[AE__BATCHNORM_CONFIG_SIZE],
                          const ae_batchnorm_options *o);

/* Little-endian field access for config blobs and files. */
static inline void ae__put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}
static inline uint32_t ae__get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void ae__put_f32(unsigned char *p, float f)
{
    uint32_t v;
    __builtin_memcpy(&v, &f, 4);
    ae__put_u32(p, v);
}
static inline float ae__get_f32(const unsigned char *p)
{
    uint32_t v = ae__get_u32(p);
    float f;
    __builtin_memcpy(&f, &v, 4);
    return f;
}

#endif
