/* SPDX-License-Identifier: MIT */
/*
 * describe.c - ae_layer_describe(): a built-in kind's config blob as text
 * ("filters=16 kernel=3x3 stride=2x2 padding=same activation=relu"), for
 * ae-inspect and anyone reading a model file. The layouts are the ones the
 * ae__<kind>_config() writers of the catalogue (src/layers/catalog.c)
 * produce; model files store them, so they never change for a type
 * version (type version 1 of every built-in kind here).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ae/params.h"
#include "core/core.h"
#include "core/kernels.h"
#include "layers/layer.h"

/* Config bytes per kind (little-endian u32/f32 fields, listed at each use). */
enum {
    CFG_DENSE = 20,            /* units, activation, init, use_bias, slope */
    CFG_ACTIVATION = 8,        /* activation, slope */
    CFG_CONV2D = 64,           /* common 48, activation, init, use_bias, slope */
    CFG_CONV2D_TRANSPOSE = 72, /* common 48, output padding h, w, activation, init, bias, slope */
    CFG_POOL2D = 36,           /* pool h, w, stride h, w, padding, pads t, b, l, r */
    CFG_UPSAMPLE2D = 8,        /* size h, w */
    CFG_RESHAPE = 20,          /* rank, dims[4] */
    CFG_DROPOUT = 4,           /* rate */
    CFG_BATCHNORM = 8          /* momentum, epsilon */
};

typedef struct text {
    char *buf;
    size_t size, len;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *at = t->len < t->size ? t->buf + t->len : NULL;
    int n = vsnprintf(at, at ? t->size - t->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

static const char *act_name(uint32_t a)
{
    static const char *const names[] = {"identity", "relu", "leaky_relu", "sigmoid", "tanh"};
    return a < 5 ? names[a] : "unknown";
}

static const char *init_name(uint32_t i)
{
    static const char *const names[] = {"glorot_uniform", "glorot_normal", "he_uniform",
                                        "he_normal"};
    return i < 4 ? names[i] : "unknown";
}

static void activation(text *t, const unsigned char *c)
{
    const uint32_t a = ae__get_u32(c);
    put(t, "activation=%s", act_name(a));
    if (a == AE_ACT_LEAKY_RELU)
        put(t, " slope=%g", (double)ae__get_f32(c + 4));
}

/* The convolutions' common 48 bytes: filters, kernel, stride, dilation,
 * padding and its four explicit amounts. */
static void conv_common(text *t, const unsigned char *c)
{
    static const char *const pads[] = {"valid", "same", "explicit"};
    const uint32_t padding = ae__get_u32(c + 28);
    put(t, "filters=%u kernel=%ux%u stride=%ux%u dilation=%ux%u padding=%s", ae__get_u32(c),
        ae__get_u32(c + 4), ae__get_u32(c + 8), ae__get_u32(c + 12), ae__get_u32(c + 16),
        ae__get_u32(c + 20), ae__get_u32(c + 24), padding < 3 ? pads[padding] : "unknown");
    if (padding == AE_PAD_EXPLICIT)
        put(t, "(%u,%u,%u,%u)", ae__get_u32(c + 32), ae__get_u32(c + 36), ae__get_u32(c + 40),
            ae__get_u32(c + 44));
}

static void weights(text *t, const unsigned char *act, uint32_t init, uint32_t bias)
{
    put(t, " ");
    activation(t, act);
    put(t, " init=%s bias=%s", init_name(init), bias ? "yes" : "no");
}

int ae_layer_describe(const char *type_name, const void *config, size_t config_size, char *buf,
                      size_t size, size_t *length)
{
    if (type_name == NULL || (config == NULL && config_size > 0) || (buf == NULL && size > 0))
        return ae__error(AE_ERR_INVALID, "ae_layer_describe: %s is NULL",
                         type_name == NULL ? "type_name" : config == NULL ? "config" : "buf");
    const unsigned char *c = config;
    text t = {buf, size, 0};
    size_t want;
    if (strcmp(type_name, AE_LAYER_DENSE) == 0 && (want = CFG_DENSE) == config_size) {
        unsigned char act[8];
        memcpy(act, c + 4, 4);
        memcpy(act + 4, c + 16, 4);
        put(&t, "units=%u", ae__get_u32(c));
        weights(&t, act, ae__get_u32(c + 8), ae__get_u32(c + 12));
    } else if (strcmp(type_name, AE_LAYER_ACTIVATION) == 0 &&
               (want = CFG_ACTIVATION) == config_size) {
        activation(&t, c);
    } else if (strcmp(type_name, AE_LAYER_CONV2D) == 0 &&
               (want = CFG_CONV2D) == config_size) {
        unsigned char act[8];
        memcpy(act, c + 48, 4);
        memcpy(act + 4, c + 60, 4);
        conv_common(&t, c);
        weights(&t, act, ae__get_u32(c + 52), ae__get_u32(c + 56));
    } else if (strcmp(type_name, AE_LAYER_CONV2D_TRANSPOSE) == 0 &&
               (want = CFG_CONV2D_TRANSPOSE) == config_size) {
        unsigned char act[8];
        memcpy(act, c + 56, 4);
        memcpy(act + 4, c + 68, 4);
        conv_common(&t, c);
        const int32_t oph = (int32_t)ae__get_u32(c + 48), opw = (int32_t)ae__get_u32(c + 52);
        if (oph == AE_OUTPUT_PADDING_AUTO && opw == AE_OUTPUT_PADDING_AUTO)
            put(&t, " output_padding=auto");
        else
            put(&t, " output_padding=%dx%d", (int)oph, (int)opw);
        weights(&t, act, ae__get_u32(c + 60), ae__get_u32(c + 64));
    } else if (strcmp(type_name, AE_LAYER_MAXPOOL2D) == 0 &&
               (want = CFG_POOL2D) == config_size) {
        static const char *const pads[] = {"valid", "same", "explicit"};
        const uint32_t padding = ae__get_u32(c + 16);
        put(&t, "pool=%ux%u stride=%ux%u padding=%s", ae__get_u32(c), ae__get_u32(c + 4),
            ae__get_u32(c + 8), ae__get_u32(c + 12), padding < 3 ? pads[padding] : "unknown");
        if (padding == AE_PAD_EXPLICIT)
            put(&t, "(%u,%u,%u,%u)", ae__get_u32(c + 20), ae__get_u32(c + 24), ae__get_u32(c + 28),
                ae__get_u32(c + 32));
    } else if (strcmp(type_name, AE_LAYER_UPSAMPLE2D) == 0 &&
               (want = CFG_UPSAMPLE2D) == config_size) {
        put(&t, "size=%ux%u", ae__get_u32(c), ae__get_u32(c + 4));
    } else if (strcmp(type_name, AE_LAYER_RESHAPE) == 0 &&
               (want = CFG_RESHAPE) == config_size) {
        const uint32_t rank = ae__get_u32(c);
        put(&t, "shape={");
        for (uint32_t i = 0; i < rank && i < AE_MAX_RANK; i++)
            put(&t, "%s%u", i ? ", " : "", ae__get_u32(c + 4 + 4 * i));
        put(&t, "}");
    } else if (strcmp(type_name, AE_LAYER_FLATTEN) == 0 && (want = 0) == config_size) {
        /* nothing to tell */
    } else if (strcmp(type_name, AE_LAYER_GAUSSIAN_SAMPLE) == 0 &&
               (want = 4) == config_size) {
        put(&t, "beta=%g", (double)ae__get_f32(c));
    } else if (strcmp(type_name, AE_LAYER_DROPOUT) == 0 &&
               (want = CFG_DROPOUT) == config_size) {
        put(&t, "rate=%g", (double)ae__get_f32(c));
    } else if (strcmp(type_name, AE_LAYER_BATCHNORM) == 0 &&
               (want = CFG_BATCHNORM) == config_size) {
        put(&t, "momentum=%g epsilon=%g", (double)ae__get_f32(c), (double)ae__get_f32(c + 4));
    } else {
        return ae__error(AE_ERR_NOT_FOUND,
                         "ae_layer_describe: no built-in kind '%s' with a %zu-byte config",
                         type_name, config_size);
    }
    if (size > 0 && t.len == 0)
        buf[0] = '\0';
    if (length != NULL)
        *length = t.len;
    if (size > 0 && t.len >= size)
        return ae__error(AE_ERR_LIMIT, "ae_layer_describe: the text has %zu bytes, the buffer %zu",
                         t.len + 1, size);
    return AE_OK;
}
