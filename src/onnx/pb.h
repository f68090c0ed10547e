/* SPDX-License-Identifier: MIT */
/*
 * pb.h - the part of the protocol-buffers wire format ONNX files use:
 * varints, 64-bit and 32-bit fixed fields, and length-delimited fields
 * (strings, bytes, nested messages, packed repeated numbers). See
 * docs/interop.md for why libae writes and reads it itself.
 *
 * Writer: a growable buffer; a nested message is opened with a placeholder
 * and closed by moving its bytes behind their minimal-length varint.
 * Reader: a bounds-checked cursor over bytes that are treated as hostile.
 */
#ifndef AE_ONNX_PB_H
#define AE_ONNX_PB_H

#include <stddef.h>
#include <stdint.h>

/* Wire types. */
#define AE__PB_VARINT 0
#define AE__PB_I64 1
#define AE__PB_LEN 2
#define AE__PB_I32 5

/* Deepest nesting the writer opens (model > graph > node > attribute > tensor...). */
#define AE__PB_DEPTH 8

typedef struct ae__pbw {
    unsigned char *buf;
    size_t len, cap;
    size_t open[AE__PB_DEPTH]; /* start of each open message's payload */
    int depth;
    int failed;                /* an allocation failed or a limit was passed: every later call is a no-op */
    size_t max;                /* largest output accepted */
} ae__pbw;

void ae__pbw_init(ae__pbw *w, size_t max);
void ae__pbw_fini(ae__pbw *w);
void ae__pbw_varint(ae__pbw *w, uint32_t field, uint64_t v);
void ae__pbw_int64(ae__pbw *w, uint32_t field, int64_t v);
void ae__pbw_float(ae__pbw *w, uint32_t field, float v);
void ae__pbw_bytes(ae__pbw *w, uint32_t field, const void *data, size_t n);
void ae__pbw_string(ae__pbw *w, uint32_t field, const char *s);
/* A length-delimited field of n little-endian floats (raw_data, packed floats). */
void ae__pbw_floats(ae__pbw *w, uint32_t field, const float *x, size_t n);
/* Packed repeated int64 (ints of an attribute, dims are not packed in ONNX's proto2). */
void ae__pbw_packed_int64(ae__pbw *w, uint32_t field, const int64_t *v, size_t n);
void ae__pbw_begin(ae__pbw *w, uint32_t field);
void ae__pbw_end(ae__pbw *w);

/* A slice of the input. */
typedef struct ae__pbs {
    const unsigned char *p;
    size_t n;
} ae__pbs;

/* One field read by ae__pbr_next(): its number, wire type and value. */
typedef struct ae__pbf {
    uint32_t field;
    int wire;
    uint64_t v;  /* VARINT, I64 and I32 values (I32/I64 as raw bits) */
    ae__pbs s;   /* LEN payload */
} ae__pbf;

/* Reads the next field of msg into f and advances msg. Returns 1 when a
 * field was read, 0 at the end, -1 on malformed bytes (a truncated or
 * over-long varint, a length past the end, field number 0, a group or an
 * unknown wire type). */
int ae__pbr_next(ae__pbs *msg, ae__pbf *f);
/* Reads one varint from s (advancing it); 0 on success, -1 when malformed. */
int ae__pbr_varint(ae__pbs *s, uint64_t *v);
/* Whether a slice equals a NUL-terminated string. */
int ae__pbs_eq(ae__pbs s, const char *str);

#endif
