/* SPDX-License-Identifier: MIT */
/*
 * catalog.c - the built-in layer kinds, described once.
 *
 * AE__KINDS lists every built-in kind; each must have a ROW_<kind> below
 * (a kind listed without its row does not compile), and each kind's file
 * defines ae__<kind>_vtable and ae__<kind>_config(). Adding a kind: see
 * docs/custom-layers.md, "Adding a built-in kind".
 */
#include <string.h>

#include "layer.h"

#define AE__KINDS(X) \
    X(dense)             \
    X(activation)        \
    X(conv2d)            \
    X(conv2d_transpose)  \
    X(maxpool2d)         \
    X(upsample2d)        \
    X(reshape)           \
    X(flatten)           \
    X(dropout)           \
    X(batchnorm)         \
    X(gaussian_sample)

/* What each kind's file defines. */
#define DECLARE(k)                                 \
    extern const ae_layer_vtable ae__##k##_vtable; \
    size_t ae__##k##_config(unsigned char *out, const void *opts);
AE__KINDS(DECLARE)

/* A versioned options struct T (1.0 layout ending at field `last`) with its
 * defaults; the array type fails to compile when T outgrows AE__OPTS_BUF. */
#define VERSIONED(null_msg, T, last, defaults)                                        \
    null_msg, sizeof(T) + 0 * sizeof(char[sizeof(T) <= AE__OPTS_BUF ? 1 : -1]),    \
        AE__LAYOUT_END(T, last), &(const T)defaults
/* A plain value of type T (not a struct with struct_size), or nothing. */
#define VALUE(null_msg, T) null_msg, sizeof(T), 0, NULL
#define NOTHING NULL, 0, 0, NULL

/* The rows: vtable; what the adder passes (and the message when it passes
 * NULL); config encoder. */
#define ROW_dense                                                                \
    {&ae__dense_vtable,                                                          \
     VERSIONED("dense options are NULL", ae_dense_options, slope,                \
               AE_DENSE_OPTIONS_INIT),                                           \
     ae__dense_config}
#define ROW_activation \
    {&ae__activation_vtable, VALUE("activation is NULL", int), ae__activation_config}
#define ROW_conv2d                                                               \
    {&ae__conv2d_vtable,                                                         \
     VERSIONED("conv2d options are NULL", ae_conv2d_options, slope,              \
               AE_CONV2D_OPTIONS_INIT),                                          \
     ae__conv2d_config}
#define ROW_conv2d_transpose                                                     \
    {&ae__conv2d_transpose_vtable,                                               \
     VERSIONED("conv2d_transpose options are NULL", ae_conv2d_transpose_options, \
               slope, AE_CONV2D_TRANSPOSE_OPTIONS_INIT),                         \
     ae__conv2d_transpose_config}
#define ROW_maxpool2d                                                            \
    {&ae__maxpool2d_vtable,                                                      \
     VERSIONED("maxpool2d options are NULL", ae_pool2d_options, pad_right,       \
               AE_POOL2D_OPTIONS_INIT),                                          \
     ae__maxpool2d_config}
#define ROW_upsample2d                                                           \
    {&ae__upsample2d_vtable,                                                     \
     VERSIONED("upsample2d options are NULL", ae_upsample2d_options, size_w,     \
               AE_UPSAMPLE2D_OPTIONS_INIT),                                      \
     ae__upsample2d_config}
#define ROW_reshape {&ae__reshape_vtable, VALUE("shape is NULL", ae_shape), ae__reshape_config}
#define ROW_flatten {&ae__flatten_vtable, NOTHING, ae__flatten_config}
#define ROW_dropout                                                              \
    {&ae__dropout_vtable,                                                        \
     VERSIONED("dropout options are NULL", ae_dropout_options, rate,             \
               AE_DROPOUT_OPTIONS_INIT),                                         \
     ae__dropout_config}
#define ROW_batchnorm                                                            \
    {&ae__batchnorm_vtable,                                                      \
     VERSIONED("batchnorm options are NULL", ae_batchnorm_options, epsilon,      \
               AE_BATCHNORM_OPTIONS_INIT),                                       \
     ae__batchnorm_config}
#define ROW_gaussian_sample                                                      \
    {&ae__gaussian_sample_vtable,                                                \
     VERSIONED("gaussian_sample options are NULL", ae_gaussian_sample_options,   \
               beta, AE_GAUSSIAN_SAMPLE_OPTIONS_INIT),                           \
     ae__gaussian_sample_config}

#define ROW(k) ROW_##k,
const ae__builtin ae__builtins[] = {AE__KINDS(ROW)};
#define COUNT(k) +1
const size_t ae__builtin_count = 0 AE__KINDS(COUNT);
_Static_assert(sizeof ae__builtins / sizeof ae__builtins[0] == 0 AE__KINDS(COUNT),
               "one catalogue row per built-in kind");
ae__kind ae__builtin_kinds[0 AE__KINDS(COUNT)];

const ae__builtin *ae__builtin_find(const char *type_name)
{
    for (size_t i = 0; i < ae__builtin_count; i++)
        if (strcmp(ae__builtins[i].vt->type_name, type_name) == 0)
            return &ae__builtins[i];
    return NULL;
}
