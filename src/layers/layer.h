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

/* The built-in kinds' vtables (one file each). */
extern const ae_layer_vtable ae__dense_vtable;
extern const ae_layer_vtable ae__activation_vtable;

/* Config blobs of the built-in kinds (little-endian u32/f32 fields). */
#define AE__DENSE_CONFIG_SIZE 20      /* units, activation, init, use_bias, slope */
#define AE__ACTIVATION_CONFIG_SIZE 8  /* activation, slope */
void ae__dense_config(unsigned char out[AE__DENSE_CONFIG_SIZE], const ae_dense_options *o);
void ae__activation_config(unsigned char out[AE__ACTIVATION_CONFIG_SIZE], int act, float slope);

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
