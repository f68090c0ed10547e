/* SPDX-License-Identifier: MIT */
/* pb.c - protocol-buffers wire format: a small writer and a bounds-checked reader. */
#include <string.h>

#include "core/core.h"
#include "pb.h"

void ae__pbw_init(ae__pbw *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max;
}

void ae__pbw_fini(ae__pbw *w)
{
    ae__free(w->buf);
    memset(w, 0, sizeof *w);
}

/* Makes room for n more bytes. */
static int reserve(ae__pbw *w, size_t n)
{
    size_t need;
    if (w->failed)
        return 0;
    if (!ae__add_size(w->len, n, &need) || need > w->max) {
        w->failed = AE_ERR_LIMIT;
        return 0;
    }
    if (need <= w->cap)
        return 1;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < need)
        cap = cap > w->max / 2 ? w->max : 2 * cap;
    unsigned char *grown = ae__alloc(cap);
    if (grown == NULL) {
        w->failed = AE_ERR_NOMEM;
        return 0;
    }
    if (w->len)
        memcpy(grown, w->buf, w->len);
    ae__free(w->buf);
    w->buf = grown;
    w->cap = cap;
    return 1;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p = (unsigned char)v;
}

static void raw_varint(ae__pbw *w, uint64_t v)
{
    if (reserve(w, varint_len(v))) {
        put_varint(w->buf + w->len, v);
        w->len += varint_len(v);
    }
}

static void tag(ae__pbw *w, uint32_t field, int wire)
{
    raw_varint(w, (uint64_t)field << 3 | (uint64_t)wire);
}

void ae__pbw_varint(ae__pbw *w, uint32_t field, uint64_t v)
{
    tag(w, field, AE__PB_VARINT);
    raw_varint(w, v);
}

void ae__pbw_int64(ae__pbw *w, uint32_t field, int64_t v)
{
    ae__pbw_varint(w, field, (uint64_t)v);
}

void ae__pbw_float(ae__pbw *w, uint32_t field, float v)
{
    tag(w, field, AE__PB_I32);
    if (reserve(w, 4)) {
        uint32_t u;
        memcpy(&u, &v, 4);
        for (int i = 0; i < 4; i++)
            w->buf[w->len++] = (unsigned char)(u >> (8 * i));
    }
}

void ae__pbw_bytes(ae__pbw *w, uint32_t field, const void *data, size_t n)
{
    tag(w, field, AE__PB_LEN);
    raw_varint(w, n);
    if (n > 0 && reserve(w, n)) {
        memcpy(w->buf + w->len, data, n);
        w->len += n;
    }
}

void ae__pbw_string(ae__pbw *w, uint32_t field, const char *s)
{
    ae__pbw_bytes(w, field, s, strlen(s));
}

void ae__pbw_floats(ae__pbw *w, uint32_t field, const float *x, size_t n)
{
    size_t bytes;
    if (!ae__mul_size(n, 4, &bytes)) {
        w->failed = AE_ERR_LIMIT;
        return;
    }
    tag(w, field, AE__PB_LEN);
    raw_varint(w, bytes);
    if (!reserve(w, bytes))
        return;
    unsigned char *p = w->buf + w->len;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        p[4 * i] = (unsigned char)u;
        p[4 * i + 1] = (unsigned char)(u >> 8);
        p[4 * i + 2] = (unsigned char)(u >> 16);
        p[4 * i + 3] = (unsigned char)(u >> 24);
    }
    w->len += bytes;
}

void ae__pbw_packed_int64(ae__pbw *w, uint32_t field, const int64_t *v, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += varint_len((uint64_t)v[i]);
    tag(w, field, AE__PB_LEN);
    raw_varint(w, bytes);
    for (size_t i = 0; i < n; i++)
        raw_varint(w, (uint64_t)v[i]);
}

void ae__pbw_begin(ae__pbw *w, uint32_t field)
{
    tag(w, field, AE__PB_LEN);
    if (w->failed)
        return;
    if (w->depth == AE__PB_DEPTH) {
        w->failed = AE_ERR_LIMIT;
        return;
    }
    w->open[w->depth++] = w->len;
}

void ae__pbw_end(ae__pbw *w)
{
    if (w->failed || w->depth == 0)
        return;
    size_t start = w->open[--w->depth];
    size_t n = w->len - start, k = varint_len(n);
    if (!reserve(w, k))
        return;
    memmove(w->buf + start + k, w->buf + start, n);
    put_varint(w->buf + start, n);
    w->len += k;
}

/* ---- reader -------------------------------------------------------------- */

int ae__pbr_varint(ae__pbs *s, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (i >= s->n)
            return -1;
        unsigned char b = s->p[i];
        if (i == 9 && b > 1) /* bits past 64 */
            return -1;
        r |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            s->p += i + 1;
            s->n -= i + 1;
            *v = r;
            return 0;
        }
    }
    return -1;
}

int ae__pbr_next(ae__pbs *msg, ae__pbf *f)
{
    uint64_t key;
    if (msg->n == 0)
        return 0;
    if (ae__pbr_varint(msg, &key) < 0 || (key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return -1;
    memset(f, 0, sizeof *f);
    f->field = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    switch (f->wire) {
    case AE__PB_VARINT:
        return ae__pbr_varint(msg, &f->v) < 0 ? -1 : 1;
    case AE__PB_I64:
    case AE__PB_I32: {
        size_t k = f->wire == AE__PB_I64 ? 8 : 4;
        if (msg->n < k)
            return -1;
        for (size_t i = 0; i < k; i++)
            f->v |= (uint64_t)msg->p[i] << (8 * i);
        msg->p += k;
        msg->n -= k;
        return 1;
    }
    case AE__PB_LEN: {
        uint64_t n;
        if (ae__pbr_varint(msg, &n) < 0 || n > msg->n)
            return -1;
        f->s.p = msg->p;
        f->s.n = (size_t)n;
        msg->p += n;
        msg->n -= (size_t)n;
        return 1;
    }
    default: /* groups (3, 4) and unknown types */
        return -1;
    }
}

int ae__pbs_eq(ae__pbs s, const char *str)
{
    size_t n = strlen(str);
    return s.n == n && (n == 0 || memcmp(s.p, str, n) == 0);
}
