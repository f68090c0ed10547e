/* SPDX-License-Identifier: MIT */
/*
 * reader.c - validating a model file (docs/format.md, section 7) and the
 * ae_file handle: opening from a path, memory or callbacks, and the
 * inspection getters.
 *
 * Every byte is hostile. The parser reads through bounds-checked cursors,
 * compares every count with the bytes that must hold it before allocating,
 * computes sizes with overflow checks, and validates every enum, index,
 * reserved byte and padding byte. Pointers in the parsed file point into
 * its own copy of the bytes.
 */
#include <math.h>
#include <string.h>

#include "io.h"

/* ---- bounds-checked cursor over a payload --------------------------------------- */

typedef struct cursor {
    const unsigned char *p;
    size_t left;
    size_t pos;            /* offset within the payload */
} cursor;

static void cursor_init(cursor *c, const unsigned char *p, size_t n)
{
    c->p = p;
    c->left = n;
    c->pos = 0;
}

static const unsigned char *take(cursor *c, size_t n)
{
    if (n > c->left)
        return NULL;
    const unsigned char *p = c->p;
    c->p += n;
    c->left -= n;
    c->pos += n;
    return p;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* ---- small validators ------------------------------------------------------------ */

/* A per-sample shape as the format allows it (docs/format.md 5.5). */
static int shape_read(const unsigned char *p, ae_shape *s)
{
    s->rank = ae__rd32(p);
    if (s->rank == 0 || s->rank > AE_MAX_RANK)
        return 0;
    uint64_t n = 1;
    for (uint32_t i = 0; i < AE_MAX_RANK; i++) {
        s->dims[i] = ae__rd32(p + 4 + 4 * i);
        if (i < s->rank && (s->dims[i] == 0 || s->dims[i] > (uint32_t)INT32_MAX))
            return 0;
        if (i >= s->rank && s->dims[i] != 0)
            return 0;
        if (i < s->rank)
            n *= s->dims[i]; /* each factor < 2^31 and n < 2^31 before: no overflow */
        if (n > (uint64_t)INT32_MAX)
            return 0;
    }
    return 1;
}

static uint64_t shape_count(const ae_shape *s)
{
    uint64_t n = 1;
    for (uint32_t i = 0; i < s->rank; i++)
        n *= s->dims[i];
    return n;
}

static int type_name_ok(const unsigned char *p, size_t n)
{
    if (n == 0 || n > AE_LAYER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

static const char *shape_text(const ae_shape *s, char *buf, size_t n)
{
    return ae__shape_str(s, buf, n);
}

/* ---- parse context ---------------------------------------------------------------- */

typedef struct parser {
    ae_file *f;
    const char *who;
    const ae__io_section *sec[16]; /* known sections by slot, NULL when absent */
} parser;

enum {
    S_INFO, S_USER, S_TRAN, S_HIST, S_ENCR, S_DECR, S_XTRA, S_TENS, S_DATA, S_OPTM, S_PCAS,
    S_DETC, S_KNNI, S_SCAL, S_COUNT
};

static const uint32_t known_types[S_COUNT] = {
    AE__SEC_INFO, AE__SEC_USER, AE__SEC_TRAN, AE__SEC_HIST, AE__SEC_ENCR, AE__SEC_DECR,
    AE__SEC_XTRA, AE__SEC_TENS, AE__SEC_DATA, AE__SEC_OPTM, AE__SEC_PCAS, AE__SEC_DETC,
    AE__SEC_KNNI, AE__SEC_SCAL,
};

/* Format a section reference: "section 3 'TENS' (offset 1216)". */
#define SEC_FMT "section '%s' at offset %llu"
#define SEC_ARG(s) (s)->type, (unsigned long long)(s)->offset

static int bad(parser *ps, const ae__io_section *s, const char *what)
{
    return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %s", ps->who, SEC_ARG(s), what);
}

static int need_size(parser *ps, const ae__io_section *s, uint64_t expected)
{
    if (s->size != expected)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": payload is %llu bytes, expected %llu",
                         ps->who, SEC_ARG(s), (unsigned long long)s->size,
                         (unsigned long long)expected);
    return AE_OK;
}

static int truncated(parser *ps, const ae__io_section *s, const cursor *c, const char *what)
{
    return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %s runs past the end of the payload "
                     "(payload offset %zu, %llu bytes)", ps->who, SEC_ARG(s), what, c->pos,
                     (unsigned long long)s->size);
}

static int leftover(parser *ps, const ae__io_section *s, const cursor *c)
{
    if (c->left != 0)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %zu unused bytes after the last record "
                         "(payload offset %zu)", ps->who, SEC_ARG(s), c->left, c->pos);
    return AE_OK;
}

/* ---- INFO, USER, TRAN, HIST -------------------------------------------------------- */

static int parse_info(parser *ps, const ae__io_section *s)
{
    int rc = need_size(ps, s, AE__INFO_SIZE);
    if (rc < 0)
        return rc;
    const unsigned char *p = s->payload;
    ps->f->writer_version = ae__rd32(p);
    uint32_t kind = ae__rd32(p + 4);
    if (kind > AE_FILE_DECODER)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": kind %u, expected 0 (none), 1 (model), "
                         "2 (encoder) or 3 (decoder)", ps->who, SEC_ARG(s), kind);
    if (!all_zero(p + 8, 24))
        return bad(ps, s, "reserved bytes are not zero");
    ps->f->kind = (int)kind;
    return AE_OK;
}

static int key_ok(const unsigned char *p, size_t n)
{
    if (n == 0 || n > AE_FILE_KEY_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return 0;
    return 1;
}

static int parse_user(parser *ps, const ae__io_section *s)
{
    ae_file *f = ps->f;
    cursor c;
    const unsigned char *p;
    cursor_init(&c, s->payload, (size_t)s->size);
    if ((p = take(&c, 8)) == NULL)
        return truncated(ps, s, &c, "the pair count");
    uint32_t count = ae__rd32(p);
    if (ae__rd32(p + 4) != 0)
        return bad(ps, s, "reserved bytes are not zero");
    if (count > AE_FILE_METADATA_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: " SEC_FMT ": %u metadata pairs, at most %u", ps->who,
                         SEC_ARG(s), count, AE_FILE_METADATA_MAX);
    /* Each pair takes at least 9 bytes: the count must fit the payload. */
    if ((uint64_t)count * 9 > c.left)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %u pairs cannot fit in %zu bytes",
                         ps->who, SEC_ARG(s), count, c.left);
    /* First pass: validate and size the copies. */
    size_t text = 0;
    cursor c2 = c;
    for (uint32_t i = 0; i < count; i++) {
        if ((p = take(&c2, 8)) == NULL)
            return truncated(ps, s, &c2, "a pair's lengths");
        uint32_t kl = ae__rd32(p), vl = ae__rd32(p + 4);
        if (kl == 0 || kl > AE_FILE_KEY_MAX || vl > AE_FILE_VALUE_MAX)
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": pair %u has a %u-byte key and a %u-byte "
                             "value (keys 1 to %u, values at most %u)", ps->who, SEC_ARG(s), i,
                             kl, vl, AE_FILE_KEY_MAX, AE_FILE_VALUE_MAX);
        const unsigned char *k = take(&c2, kl), *v = k ? take(&c2, vl) : NULL;
        if (k == NULL || v == NULL)
            return truncated(ps, s, &c2, "a key or value");
        if (!key_ok(k, kl))
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": key %u has bytes outside printable "
                             "ASCII (0x21 to 0x7e)", ps->who, SEC_ARG(s), i);
        if (memchr(v, 0, vl) != NULL)
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": value %u contains a NUL byte",
                             ps->who, SEC_ARG(s), i);
        text += (size_t)kl + vl + 2; /* bounded by the payload size plus 2 per pair */
    }
    int rc = leftover(ps, s, &c2);
    if (rc < 0)
        return rc;
    f->meta_keys = ae__calloc(count ? count : 1, sizeof *f->meta_keys);
    f->meta_values = ae__calloc(count ? count : 1, sizeof *f->meta_values);
    f->meta_text = ae__alloc(text ? text : 1);
    if (f->meta_keys == NULL || f->meta_values == NULL || f->meta_text == NULL)
        return AE_ERR_NOMEM;
    char *t = f->meta_text;
    for (uint32_t i = 0; i < count; i++) {
        p = take(&c, 8);
        uint32_t kl = ae__rd32(p), vl = ae__rd32(p + 4);
        const unsigned char *k = take(&c, kl), *v = take(&c, vl);
        memcpy(t, k, kl);
        t[kl] = '\0';
        f->meta_keys[i] = t;
        t += kl + 1;
        memcpy(t, v, vl);
        t[vl] = '\0';
        f->meta_values[i] = t;
        t += vl + 1;
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(f->meta_keys[j], f->meta_keys[i]) == 0)
                return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": key '%s' occurs twice (pairs %u "
                                 "and %u)", ps->who, SEC_ARG(s), f->meta_keys[i], j, i);
        f->n_meta = i + 1;
    }
    return AE_OK;
}

static int parse_tran(parser *ps, const ae__io_section *s)
{
    ae_file *f = ps->f;
    int rc = need_size(ps, s, AE__TRAN_SIZE);
    if (rc < 0)
        return rc;
    const unsigned char *p = s->payload;
    f->epochs = ae__rd32(p);
    f->batch_size = ae__rd32(p + 4);
    f->seed = ae__rd64(p + 8);
    f->loss = ae__rd32(p + 16);
    f->shuffle = ae__rd32(p + 20);
    f->noise = ae__rd32(p + 24);
    f->noise_amount = ae__rdf32(p + 28);
    if (f->batch_size == 0 || f->loss > AE_LOSS_BCE || f->shuffle > 1 ||
        f->noise > AE_NOISE_SALT_PEPPER || !isfinite(f->noise_amount) || f->noise_amount < 0.0f)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": invalid settings (batch %u, loss %u, "
                         "shuffle %u, noise %u, amount %g)", ps->who, SEC_ARG(s), f->batch_size,
                         f->loss, f->shuffle, f->noise, (double)f->noise_amount);
    if (!all_zero(p + 32, 16))
        return bad(ps, s, "reserved bytes are not zero");
    f->has_training = 1;
    return AE_OK;
}

static int parse_hist(parser *ps, const ae__io_section *s)
{
    if (s->size < 8)
        return need_size(ps, s, 8);
    uint64_t count = ae__rd64(s->payload);
    if (count > AE__HISTORY_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: " SEC_FMT ": %llu epochs of history, at most %u",
                         ps->who, SEC_ARG(s), (unsigned long long)count, AE__HISTORY_MAX);
    int rc = need_size(ps, s, 8 + 16 * count);
    if (rc < 0)
        return rc;
    ps->f->history_len = (size_t)count;
    ps->f->history = s->payload + 8;
    return AE_OK;
}

/* ---- ENCR, DECR ------------------------------------------------------------------------ */

/* The smallest layer record: name length, 1-byte name, version, shape,
 * two tensor counts, config size. */
#define LAYER_RECORD_MIN (4 + 1 + 4 + 20 + 4 + 4 + 4)

static int parse_net(parser *ps, const ae__io_section *s, uint32_t which)
{
    ae__io_net *net = &ps->f->nets[which];
    cursor c;
    const unsigned char *p;
    cursor_init(&c, s->payload, (size_t)s->size);
    if ((p = take(&c, AE__NET_HEADER)) == NULL)
        return truncated(ps, s, &c, "the network header");
    if (!shape_read(p, &net->input))
        return bad(ps, s, "invalid input shape (rank 1 to 4, dims 1 to 2^31-1, zeros past the "
                          "rank, at most 2^31-1 values)");
    uint32_t n = ae__rd32(p + 20);
    for (int i = 0; i < 4; i++)
        net->rng[i] = ae__rd64(p + 24 + 8 * i);
    if ((net->rng[0] | net->rng[1] | net->rng[2] | net->rng[3]) == 0)
        return bad(ps, s, "the generator state is all zero (xoshiro256** would only give zeros)");
    if (n == 0)
        return bad(ps, s, "the network has no layers");
    if (n > AE__LAYERS_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: " SEC_FMT ": %u layers, at most %u", ps->who,
                         SEC_ARG(s), n, AE__LAYERS_MAX);
    if ((uint64_t)n * LAYER_RECORD_MIN > c.left)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %u layer records cannot fit in %zu bytes",
                         ps->who, SEC_ARG(s), n, c.left);
    net->layers = ae__calloc(n, sizeof *net->layers);
    if (net->layers == NULL)
        return AE_ERR_NOMEM;
    net->n_layers = n;
    ae_shape in = net->input;
    for (uint32_t i = 0; i < n; i++) {
        ae__io_layer *l = &net->layers[i];
        if ((p = take(&c, 4)) == NULL)
            return truncated(ps, s, &c, "a layer record");
        uint32_t nl = ae__rd32(p);
        if (nl == 0 || nl > AE_LAYER_NAME_MAX)
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": layer %u: type name of %u bytes "
                             "(1 to %d)", ps->who, SEC_ARG(s), i, nl, AE_LAYER_NAME_MAX);
        if ((p = take(&c, nl)) == NULL)
            return truncated(ps, s, &c, "a type name");
        if (!type_name_ok(p, nl))
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": layer %u: type name has characters "
                             "outside [A-Za-z0-9_.:-]", ps->who, SEC_ARG(s), i);
        memcpy(l->type_name, p, nl);
        l->type_name[nl] = '\0';
        if ((p = take(&c, 4 + 20 + 4 + 4 + 4)) == NULL)
            return truncated(ps, s, &c, "a layer record");
        l->type_version = ae__rd32(p);
        if (!shape_read(p + 4, &l->out))
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": layer %u ('%s'): invalid output "
                             "shape", ps->who, SEC_ARG(s), i, l->type_name);
        uint32_t np = ae__rd32(p + 24), ns = ae__rd32(p + 28), cs = ae__rd32(p + 32);
        if (np > AE__LAYER_TENSORS_MAX || ns > AE__LAYER_TENSORS_MAX)
            return ae__error(AE_ERR_LIMIT, "%s: " SEC_FMT ": layer %u ('%s'): %u parameter and %u "
                             "state tensors, at most %u each", ps->who, SEC_ARG(s), i,
                             l->type_name, np, ns, AE__LAYER_TENSORS_MAX);
        if (cs > AE_LAYER_CONFIG_MAX)
            return ae__error(AE_ERR_LIMIT, "%s: " SEC_FMT ": layer %u ('%s'): config of %u bytes, "
                             "at most %u", ps->who, SEC_ARG(s), i, l->type_name, cs,
                             AE_LAYER_CONFIG_MAX);
        if ((p = take(&c, cs)) == NULL)
            return truncated(ps, s, &c, "a layer config");
        l->config = cs ? p : NULL;
        l->config_size = cs;
        l->n_params = np;
        l->n_states = ns;
        l->in = in;
        in = l->out;
    }
    int rc = leftover(ps, s, &c);
    if (rc < 0)
        return rc;
    net->present = 1;
    return AE_OK;
}

/* ---- TENS, DATA -------------------------------------------------------------------------- */

static int parse_tens(parser *ps, const ae__io_section *s)
{
    ae_file *f = ps->f;
    char a[64];
    if (s->size < 8)
        return need_size(ps, s, 8);
    const unsigned char *p = s->payload;
    uint32_t count = ae__rd32(p);
    if (ae__rd32(p + 4) != 0)
        return bad(ps, s, "reserved bytes are not zero");
    if (count > AE__TENSORS_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: " SEC_FMT ": %u tensors, at most %u", ps->who,
                         SEC_ARG(s), count, AE__TENSORS_MAX);
    int rc = need_size(ps, s, 8 + (uint64_t)count * AE__TENSOR_RECORD);
    if (rc < 0)
        return rc;
    /* The layer records say how many tensors there must be. */
    uint64_t expected = 0;
    for (uint32_t n = 0; n < 2; n++) {
        ae__io_net *net = &f->nets[n];
        net->first_tensor = (size_t)expected;
        for (size_t i = 0; i < net->n_layers; i++) {
            net->layers[i].first_tensor = (size_t)expected;
            expected += net->layers[i].n_params + net->layers[i].n_states;
        }
        net->n_tensors = (size_t)expected - net->first_tensor;
    }
    if (expected != count)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %u tensors, the layer records have %llu",
                         ps->who, SEC_ARG(s), count, (unsigned long long)expected);
    f->tensors = ae__calloc(count ? count : 1, sizeof *f->tensors);
    if (f->tensors == NULL)
        return AE_ERR_NOMEM;
    f->n_tensors = count;
    uint64_t offset = 0;
    size_t k = 0;
    for (uint32_t n = 0; n < 2; n++) {
        const ae__io_net *net = &f->nets[n];
        for (size_t i = 0; i < net->n_layers; i++) {
            const ae__io_layer *l = &net->layers[i];
            for (size_t j = 0; j < l->n_params + l->n_states; j++, k++) {
                const unsigned char *r = p + 8 + k * AE__TENSOR_RECORD;
                ae__io_tensor *t = &f->tensors[k];
                uint32_t role = j < l->n_params ? 0 : 1;
                uint32_t index = (uint32_t)(role ? j - l->n_params : j);
                t->net = ae__rd32(r);
                t->layer = ae__rd32(r + 4);
                t->index = ae__rd32(r + 8);
                t->role = ae__rd32(r + 16);
                if (t->net != n || t->layer != i || t->index != index || t->role != role)
                    return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": tensor %zu is (net %u, layer "
                                     "%u, role %u, index %u), expected (%u, %zu, %u, %u)",
                                     ps->who, SEC_ARG(s), k, t->net, t->layer, t->role, t->index,
                                     n, i, role, index);
                if (ae__rd32(r + 12) != 0)
                    return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": tensor %zu has dtype %u, "
                                     "only 0 (f32) exists", ps->who, SEC_ARG(s), k, ae__rd32(r + 12));
                if (!shape_read(r + 20, &t->shape))
                    return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": tensor %zu: invalid shape",
                                     ps->who, SEC_ARG(s), k);
                t->count = ae__rd64(r + 40);
                t->offset = ae__rd64(r + 48);
                if (t->count != shape_count(&t->shape))
                    return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": tensor %zu: %llu values, its "
                                     "shape %s has %llu", ps->who, SEC_ARG(s), k,
                                     (unsigned long long)t->count,
                                     shape_text(&t->shape, a, sizeof a),
                                     (unsigned long long)shape_count(&t->shape));
                if (t->offset != offset)
                    return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": tensor %zu: data offset %llu, "
                                     "expected %llu (64-byte aligned, no gaps)", ps->who,
                                     SEC_ARG(s), k, (unsigned long long)t->offset,
                                     (unsigned long long)offset);
                const unsigned char *name = r + 56;
                size_t nl = strnlen((const char *)name, AE__TENSOR_NAME);
                if (nl == AE__TENSOR_NAME || !all_zero(name + nl, AE__TENSOR_NAME - nl))
                    return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": tensor %zu: name is not "
                                     "NUL-terminated and NUL-padded", ps->who, SEC_ARG(s), k);
                for (size_t q = 0; q < nl; q++)
                    if (name[q] < 0x20 || name[q] > 0x7e)
                        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": tensor %zu: name has "
                                         "bytes outside printable ASCII", ps->who, SEC_ARG(s), k);
                memcpy(t->name, name, nl + 1);
                if (!all_zero(r + 120, 8))
                    return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": tensor %zu: reserved bytes "
                                     "are not zero", ps->who, SEC_ARG(s), k);
                /* count < 2^31: no overflow below. */
                offset = ae__align64(offset + 4 * t->count);
                if (role == 0)
                    f->param_floats += t->count;
                else
                    f->state_floats += t->count;
            }
        }
    }
    return AE_OK;
}

static int parse_data(parser *ps, const ae__io_section *s)
{
    ae_file *f = ps->f;
    uint64_t end = 0;
    if (f->n_tensors > 0) {
        const ae__io_tensor *last = &f->tensors[f->n_tensors - 1];
        end = last->offset + 4 * last->count;
    }
    int rc = need_size(ps, s, end);
    if (rc < 0)
        return rc;
    for (size_t k = 0; k < f->n_tensors; k++) {
        ae__io_tensor *t = &f->tensors[k];
        uint64_t stop = t->offset + 4 * t->count;
        uint64_t next = k + 1 < f->n_tensors ? f->tensors[k + 1].offset : end;
        t->data = s->payload + t->offset;
        size_t bad_at = ae__first_nonfinite_le(t->data, (size_t)t->count);
        if (bad_at < t->count)
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": tensor %zu ('%s') value %zu is %s",
                             ps->who, SEC_ARG(s), k, t->name, bad_at,
                             isnan(ae__rdf32(t->data + 4 * bad_at)) ? "NaN" : "infinite");
        if (!all_zero(s->payload + stop, (size_t)(next - stop)))
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": padding after tensor %zu (payload "
                             "offset %llu) is not zero", ps->who, SEC_ARG(s), k,
                             (unsigned long long)stop);
    }
    return AE_OK;
}

/* ---- XTRA ------------------------------------------------------------------------------ */

static int parse_xtra(parser *ps, const ae__io_section *s)
{
    ae_file *f = ps->f;
    cursor c;
    const unsigned char *p;
    cursor_init(&c, s->payload, (size_t)s->size);
    if ((p = take(&c, 8)) == NULL)
        return truncated(ps, s, &c, "the record count");
    uint32_t count = ae__rd32(p);
    if (ae__rd32(p + 4) != 0)
        return bad(ps, s, "reserved bytes are not zero");
    if (count == 0)
        return bad(ps, s, "no records");
    uint64_t prev = 0;
    for (uint32_t i = 0; i < count; i++) {
        if ((p = take(&c, 16)) == NULL)
            return truncated(ps, s, &c, "a record");
        uint32_t net = ae__rd32(p), layer = ae__rd32(p + 4);
        uint64_t size = ae__rd64(p + 8);
        if (net > 1 || !f->nets[net].present || layer >= f->nets[net].n_layers)
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": record %u names layer %u of net %u, "
                             "which does not exist", ps->who, SEC_ARG(s), i, layer, net);
        uint64_t key = (uint64_t)net << 32 | layer;
        if (i > 0 && key <= prev)
            return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": record %u is out of order or "
                             "repeated", ps->who, SEC_ARG(s), i);
        prev = key;
        if (size == 0 || size > AE_LAYER_STATE_MAX)
            return ae__error(AE_ERR_LIMIT, "%s: " SEC_FMT ": record %u: %llu bytes of state "
                             "(1 to %u)", ps->who, SEC_ARG(s), i, (unsigned long long)size,
                             AE_LAYER_STATE_MAX);
        if ((p = take(&c, (size_t)size)) == NULL)
            return truncated(ps, s, &c, "a layer state");
        f->nets[net].layers[layer].extra = p;
        f->nets[net].layers[layer].extra_size = (size_t)size;
    }
    return leftover(ps, s, &c);
}

/* ---- OPTM ------------------------------------------------------------------------------ */

static int parse_optm(parser *ps, const ae__io_section *s)
{
    ae_file *f = ps->f;
    if (s->size < AE__OPTM_HEADER)
        return need_size(ps, s, AE__OPTM_HEADER);
    const unsigned char *p = s->payload;
    ae_optimizer_options *o = &f->opt;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    uint32_t kind = ae__rd32(p), nesterov = ae__rd32(p + 12);
    o->learning_rate = ae__rdf32(p + 4);
    o->momentum = ae__rdf32(p + 8);
    o->beta1 = ae__rdf32(p + 16);
    o->beta2 = ae__rdf32(p + 20);
    o->epsilon = ae__rdf32(p + 24);
    o->weight_decay = ae__rdf32(p + 28);
    f->opt_steps = ae__rd64(p + 32);
    f->opt_buffers = ae__rd32(p + 40);
    uint32_t n = ae__rd32(p + 44);
    f->opt_bound = ae__rd32(p + 48);
    if (kind > AE_OPT_ADAMW || nesterov > 1 || f->opt_bound > 1)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": kind %u, nesterov %u, bound %u (kind 0 "
                         "to 2, the others 0 or 1)", ps->who, SEC_ARG(s), kind, nesterov,
                         f->opt_bound);
    o->kind = (int)kind;
    o->nesterov = (int)nesterov;
    if (!all_zero(p + 52, 12))
        return bad(ps, s, "reserved bytes are not zero");
    uint32_t buffers = kind == AE_OPT_SGD ? (o->momentum > 0.0f ? 1u : 0u) : 2u;
    if (f->opt_buffers != buffers)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %u buffers per tensor, this optimizer "
                         "keeps %u", ps->who, SEC_ARG(s), f->opt_buffers, buffers);
    size_t params = 0;
    for (size_t k = 0; k < f->n_tensors; k++)
        params += f->tensors[k].role == 0;
    uint64_t expected = f->opt_bound ? (uint64_t)params * buffers : 0;
    if (n != expected)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %u records, expected %llu (%zu "
                         "parameter tensors, %u buffers each%s)", ps->who, SEC_ARG(s), n,
                         (unsigned long long)expected, params, buffers,
                         f->opt_bound ? "" : ", not bound");
    /* n <= 2 * 65536: the table size cannot overflow. */
    uint64_t table_end = AE__OPTM_HEADER + (uint64_t)n * AE__OPT_RECORD;
    if (table_end > s->size)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %u records cannot fit in %llu bytes",
                         ps->who, SEC_ARG(s), n, (unsigned long long)s->size);
    f->optrecs = ae__calloc(n ? n : 1, sizeof *f->optrecs);
    if (f->optrecs == NULL)
        return AE_ERR_NOMEM;
    f->n_optrecs = n;
    uint64_t offset = ae__align64(table_end), prev_end = table_end;
    size_t j = 0;
    for (size_t k = 0; k < f->n_tensors && j < n; k++) {
        if (f->tensors[k].role != 0)
            continue;
        f->tensors[k].opt_record = j;
        for (uint32_t b = 0; b < buffers; b++, j++) {
            const unsigned char *r = p + AE__OPTM_HEADER + j * AE__OPT_RECORD;
            ae__io_optrec *rec = &f->optrecs[j];
            rec->tensor = ae__rd32(r);
            rec->buffer = ae__rd32(r + 4);
            rec->count = ae__rd64(r + 8);
            rec->offset = ae__rd64(r + 16);
            if (rec->tensor != k || rec->buffer != b || rec->count != f->tensors[k].count ||
                rec->offset != offset || !all_zero(r + 24, 8))
                return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": record %zu is (tensor %u, buffer "
                                 "%u, %llu values at %llu), expected (%zu, %u, %llu at %llu) and "
                                 "zero reserved bytes", ps->who, SEC_ARG(s), j, rec->tensor,
                                 rec->buffer, (unsigned long long)rec->count,
                                 (unsigned long long)rec->offset, k, b,
                                 (unsigned long long)f->tensors[k].count,
                                 (unsigned long long)offset);
            if (offset + 4 * rec->count > s->size)
                return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": record %zu's data (%llu values "
                                 "at %llu) passes the end of the payload (%llu bytes)", ps->who,
                                 SEC_ARG(s), j, (unsigned long long)rec->count,
                                 (unsigned long long)offset, (unsigned long long)s->size);
            if (!all_zero(p + prev_end, (size_t)(offset - prev_end)))
                return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": padding before record %zu's data "
                                 "is not zero", ps->who, SEC_ARG(s), j);
            rec->data = p + offset;
            if (ae__first_nonfinite_le(rec->data, (size_t)rec->count) < rec->count)
                return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": record %zu holds a NaN or "
                                 "infinite value", ps->who, SEC_ARG(s), j);
            prev_end = offset + 4 * rec->count;
            offset = ae__align64(prev_end);
        }
    }
    if (prev_end != s->size)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": payload is %llu bytes, the records end "
                         "at %llu", ps->who, SEC_ARG(s), (unsigned long long)s->size,
                         (unsigned long long)prev_end);
    f->has_optimizer = 1;
    return AE_OK;
}

/* ---- PCAS, DETC ---------------------------------------------------------------------- */

static int parse_pcas(parser *ps, const ae__io_section *s)
{
    ae_file *f = ps->f;
    if (s->size < AE__PCAS_HEADER)
        return need_size(ps, s, AE__PCAS_HEADER);
    const unsigned char *p = s->payload;
    uint32_t d = ae__rd32(p), k = ae__rd32(p + 4), solver = ae__rd32(p + 8);
    double total = ae__rdf64(p + 16);
    if (d == 0 || k == 0 || k > d || d > (uint32_t)INT32_MAX || solver > AE_PCA_RANDOMIZED ||
        !isfinite(total) || total < 0.0)
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": %u features, %u components, solver %u, "
                         "total variance %g (need 1 <= components <= features, solver 0 to 2, "
                         "a finite total >= 0)", ps->who, SEC_ARG(s), d, k, solver, total);
    if (ae__rd32(p + 12) != 0 || !all_zero(p + 24, 40))
        return bad(ps, s, "reserved bytes are not zero");
    /* d, k < 2^31: k * d < 2^62, * 4 < 2^64; the sums are checked. */
    uint64_t mean_end = AE__PCAS_HEADER + 4 * (uint64_t)d;
    uint64_t comp = ae__align64(mean_end), comp_end, var, var_end;
    if (__builtin_add_overflow(comp, 4 * (uint64_t)k * d, &comp_end) ||
        __builtin_add_overflow(ae__align64(comp_end), 8 * (uint64_t)k, &var_end))
        return bad(ps, s, "array sizes overflow");
    var = ae__align64(comp_end);
    int rc = need_size(ps, s, var_end);
    if (rc < 0)
        return rc;
    if (!all_zero(p + mean_end, (size_t)(comp - mean_end)) ||
        !all_zero(p + comp_end, (size_t)(var - comp_end)))
        return bad(ps, s, "padding between the arrays is not zero");
    f->pca_features = d;
    f->pca_components = k;
    f->pca_solver = solver;
    f->pca_total = total;
    f->pca_mean = p + AE__PCAS_HEADER;
    f->pca_comp = p + comp;
    f->pca_var = p + var;
    f->has_pca = 1;
    return AE_OK;
}

static int parse_detc(parser *ps, const ae__io_section *s)
{
    ae_file *f = ps->f;
    int rc = need_size(ps, s, AE__DETC_SIZE);
    if (rc < 0)
        return rc;
    const unsigned char *p = s->payload;
    uint32_t score = ae__rd32(p), rule = ae__rd32(p + 4), fitted = ae__rd32(p + 32);
    ae_detector_options *o = &f->det;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->k = ae__rdf64(p + 8);
    o->quantile = ae__rdf64(p + 16);
    f->det_threshold = ae__rdf64(p + 24);
    if (score > AE_SCORE_BCE || rule > AE_THRESHOLD_FIXED || fitted > 1 || !isfinite(o->k) ||
        !(o->quantile >= 0.0 && o->quantile <= 1.0) || (fitted && isnan(f->det_threshold)))
        return ae__error(AE_ERR_FORMAT, "%s: " SEC_FMT ": score %u, rule %u, k %g, quantile %g, "
                         "fitted %u, threshold %g", ps->who, SEC_ARG(s), score, rule, o->k,
                         o->quantile, fitted, f->det_threshold);
    if (!all_zero(p + 36, 12))
        return bad(ps, s, "reserved bytes are not zero");
    o->score = (int)score;
    o->rule = (int)rule;
    f->det_fitted = (int)fitted;
    f->has_detector = 1;
    return AE_OK;
}

/* ---- header and section walk ------------------------------------------------------------ */

/* Explains a magic mismatch, naming text-mode damage when it sees it. */
static int bad_magic(const unsigned char *b, size_t len, const char *who)
{
    static const unsigned char magic[] = AE__MAGIC;
    size_t n = len < AE__MAGIC_SIZE ? len : AE__MAGIC_SIZE;
    if (len < AE__MAGIC_SIZE && memcmp(b, magic, n) == 0)
        return ae__error(AE_ERR_FORMAT, "%s: truncated: %zu bytes, a model file starts with a "
                         "64-byte header", who, len);
    if (len >= 4 && memcmp(b + 1, "AEM", 3) == 0) {
        if (b[0] == 0x09)
            return ae__error(AE_ERR_FORMAT, "%s: the magic's first byte is 0x09, not 0x89: the file "
                             "went through a 7-bit channel that strips the high bit", who);
        if (b[0] == 0x89 && len >= 6 && (memcmp(b + 4, "\n\x1a", 2) == 0 ||
                                         memcmp(b + 4, "\r\r\n", 3) == 0 ||
                                         (len >= 8 && memcmp(b + 4, "\r\n\x1a\r", 4) == 0)))
            return ae__error(AE_ERR_FORMAT, "%s: the magic's line-ending bytes were converted: the "
                             "file was transferred in text mode", who);
        return ae__error(AE_ERR_FORMAT, "%s: damaged magic (%02x %02x %02x %02x %02x %02x %02x "
                         "%02x)", who, b[0], b[1], b[2], b[3], len > 4 ? b[4] : 0,
                         len > 5 ? b[5] : 0, len > 6 ? b[6] : 0, len > 7 ? b[7] : 0);
    }
    if (len == 0)
        return ae__error(AE_ERR_FORMAT, "%s: the file is empty", who);
    return ae__error(AE_ERR_FORMAT, "%s: not a libae model file (it starts with %02x %02x %02x "
                     "%02x, a model file with 89 41 45 4d)", who, b[0], len > 1 ? b[1] : 0,
                     len > 2 ? b[2] : 0, len > 3 ? b[3] : 0);
}

static int parse_header(ae_file *f, uint64_t extra, int check_crc, uint32_t *header_size,
                        uint32_t *sections, const char *who)
{
    const unsigned char *b = f->bytes;
    const size_t len = f->size;
    if (len < AE__MAGIC_SIZE || memcmp(b, AE__MAGIC, AE__MAGIC_SIZE) != 0)
        return bad_magic(b, len, who);
    if (len < AE__HEADER_SIZE)
        return ae__error(AE_ERR_FORMAT, "%s: truncated: %zu bytes, the header alone is %u", who,
                         len, AE__HEADER_SIZE);
    uint32_t hs = ae__rd32(b + 16);
    if (hs < AE__HEADER_SIZE || hs > AE__HEADER_MAX || hs % AE__ALIGN != 0)
        return ae__error(AE_ERR_FORMAT, "%s: header size %u (must be a multiple of 64 from 64 to "
                         "%u)", who, hs, AE__HEADER_MAX);
    if (hs > len)
        return ae__error(AE_ERR_FORMAT, "%s: truncated: %zu bytes, the header alone is %u", who,
                         len, hs);
    uint32_t stored = ae__rd32(b + hs - 4), crc = ae__crc32(0, b, hs - 4);
    if (check_crc && stored != crc)
        return ae__error(AE_ERR_CHECKSUM, "%s: header CRC mismatch (stored %08x, computed %08x)",
                         who, stored, crc);
    f->major = ae__rd16(b + 8);
    f->minor = ae__rd16(b + 10);
    if (f->major != AE_FILE_FORMAT_MAJOR)
        return ae__error(AE_ERR_VERSION, "%s: format version %u.%u, this library reads %d.x", who,
                         f->major, f->minor, AE_FILE_FORMAT_MAJOR);
    uint32_t bom = ae__rd32(b + 12);
    if (bom != AE__BOM)
        return ae__error(AE_ERR_FORMAT, "%s: byte-order mark %08x, expected %08x%s", who, bom,
                         AE__BOM, bom == 0x4D3C2B1Au ? " (byte-swapped: written big-endian?)" : "");
    uint32_t required = ae__rd32(b + 20);
    if (required != 0)
        return ae__error(AE_ERR_VERSION, "%s: required flags %08x are unknown to this reader "
                         "(format %d.%d)", who, required, AE_FILE_FORMAT_MAJOR,
                         AE_FILE_FORMAT_MINOR);
    if (!all_zero(b + 40, 20))
        return ae__error(AE_ERR_FORMAT, "%s: reserved header bytes 40 to 59 are not zero", who);
    uint32_t n = ae__rd32(b + 28);
    if (n == 0)
        return ae__error(AE_ERR_FORMAT, "%s: the header declares no sections", who);
    if (n > AE__SECTIONS_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: %u sections, at most %u", who, n, AE__SECTIONS_MAX);
    uint64_t fs = ae__rd64(b + 32);
    if (fs % AE__ALIGN != 0 || fs < (uint64_t)hs + AE__SECTION_HEADER)
        return ae__error(AE_ERR_FORMAT, "%s: declared file size %llu (must be a multiple of 64 "
                         "holding the header and a section)", who, (unsigned long long)fs);
    if (fs > len)
        return ae__error(AE_ERR_FORMAT, "%s: truncated: the file declares %llu bytes, %zu are there",
                         who, (unsigned long long)fs, len);
    if (fs < len || extra > 0) {
        uint64_t beyond = (uint64_t)len - fs + extra;
        return ae__error(AE_ERR_FORMAT, "%s: %s%llu bytes beyond the declared end of the file "
                         "(%llu bytes)", who, extra == 1 && fs == len ? "at least " : "",
                         (unsigned long long)beyond, (unsigned long long)fs);
    }
    *header_size = hs;
    *sections = n;
    return AE_OK;
}

static int type_chars_ok(const unsigned char *t)
{
    for (int i = 0; i < 4; i++)
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
            return 0;
    return 1;
}

static int walk_sections(parser *ps, uint32_t hs, uint32_t count, int check_crc)
{
    ae_file *f = ps->f;
    const uint64_t fs = f->size;
    f->sections = ae__calloc(count, sizeof *f->sections);
    if (f->sections == NULL)
        return AE_ERR_NOMEM;
    uint64_t off = hs;
    for (uint32_t i = 0; i < count; i++) {
        if (fs - off < AE__SECTION_HEADER)
            return ae__error(AE_ERR_FORMAT, "%s: section %u of %u would start at offset %llu, the "
                             "file ends at %llu", ps->who, i, count, (unsigned long long)off,
                             (unsigned long long)fs);
        const unsigned char *h = f->bytes + off;
        ae__io_section *s = &f->sections[i];
        s->offset = off;
        s->size = ae__rd64(h + 8);
        s->flags = ae__rd32(h + 4);
        s->crc = ae__rd32(h + 60);
        s->type_code = ae__rd32(h);
        for (int q = 0; q < 4; q++)
            s->type[q] = type_chars_ok(h) ? (char)h[q] : '?';
        s->type[4] = '\0';
        uint64_t room = fs - off - AE__SECTION_HEADER;
        if (s->size > room || ae__align64(s->size) > room)
            return ae__error(AE_ERR_FORMAT, "%s: section %u ('%s') at offset %llu: its %llu-byte "
                             "payload passes the end of the file (%llu bytes left)", ps->who, i,
                             s->type, (unsigned long long)off, (unsigned long long)s->size,
                             (unsigned long long)room);
        s->payload = h + AE__SECTION_HEADER;
        uint32_t crc = ae__crc32(ae__crc32(0, s->payload, (size_t)s->size), h, 60);
        if (check_crc && crc != s->crc)
            return ae__error(AE_ERR_CHECKSUM, "%s: section %u ('%s') at offset %llu: CRC mismatch "
                             "(stored %08x, computed %08x)", ps->who, i, s->type,
                             (unsigned long long)off, s->crc, crc);
        if (!type_chars_ok(h))
            return ae__error(AE_ERR_FORMAT, "%s: section %u at offset %llu: type bytes %02x %02x "
                             "%02x %02x are not a section type", ps->who, i,
                             (unsigned long long)off, h[0], h[1], h[2], h[3]);
        if ((s->flags & ~AE__SECTION_REQUIRED) != 0 || !all_zero(h + 16, 44))
            return ae__error(AE_ERR_FORMAT, "%s: section %u ('%s') at offset %llu: reserved flag "
                             "bits or header bytes are not zero", ps->who, i, s->type,
                             (unsigned long long)off);
        uint64_t padded = ae__align64(s->size);
        if (!all_zero(s->payload + s->size, (size_t)(padded - s->size)))
            return ae__error(AE_ERR_FORMAT, "%s: section %u ('%s') at offset %llu: padding after "
                             "the payload is not zero", ps->who, i, s->type,
                             (unsigned long long)off);
        for (int k = 0; k < S_COUNT; k++)
            if (known_types[k] == s->type_code) {
                if (ps->sec[k] != NULL)
                    return ae__error(AE_ERR_FORMAT, "%s: section '%s' occurs twice (offsets %llu "
                                     "and %llu)", ps->who, s->type,
                                     (unsigned long long)ps->sec[k]->offset,
                                     (unsigned long long)off);
                ps->sec[k] = s;
                s->known = 1;
            }
        if (!s->known && (s->flags & AE__SECTION_REQUIRED))
            return ae__error(AE_ERR_VERSION, "%s: section '%s' at offset %llu is required but "
                             "unknown to this reader (format %d.%d)", ps->who, s->type,
                             (unsigned long long)off, AE_FILE_FORMAT_MAJOR, AE_FILE_FORMAT_MINOR);
        off += AE__SECTION_HEADER + padded;
        f->n_sections = i + 1;
    }
    if (off != fs)
        return ae__error(AE_ERR_FORMAT, "%s: the %u sections end at offset %llu, the file declares "
                         "%llu bytes", ps->who, count, (unsigned long long)off,
                         (unsigned long long)fs);
    return AE_OK;
}

/* Which sections a kind needs or forbids, and the links between them. */
static int cross_check(parser *ps)
{
    ae_file *f = ps->f;
    const char *who = ps->who;
    static const char *kinds[] = {"no network", "a model", "an encoder", "a decoder"};
    int enc = ps->sec[S_ENCR] != NULL, dec = ps->sec[S_DECR] != NULL;
    int want_enc = f->kind == AE_FILE_MODEL || f->kind == AE_FILE_ENCODER;
    int want_dec = f->kind == AE_FILE_MODEL || f->kind == AE_FILE_DECODER;
    if (enc != want_enc || dec != want_dec)
        return ae__error(AE_ERR_FORMAT, "%s: the file holds %s but has %s encoder and %s decoder "
                         "section", who, kinds[f->kind], enc ? "an" : "no", dec ? "a" : "no");
    int nets = enc || dec;
    if (nets && (ps->sec[S_TENS] == NULL || ps->sec[S_DATA] == NULL))
        return ae__error(AE_ERR_FORMAT, "%s: the file holds %s but no %s section", who,
                         kinds[f->kind], ps->sec[S_TENS] == NULL ? "TENS" : "DATA");
    if (!nets && (ps->sec[S_TENS] || ps->sec[S_DATA] || ps->sec[S_XTRA]))
        return ae__error(AE_ERR_FORMAT, "%s: the file holds no network but has tensor sections",
                         who);
    if (f->kind != AE_FILE_MODEL && (ps->sec[S_HIST] || ps->sec[S_OPTM]))
        return ae__error(AE_ERR_FORMAT, "%s: the file holds %s but has a %s section (model files "
                         "only)", who, kinds[f->kind], ps->sec[S_HIST] ? "HIST" : "OPTM");
    return AE_OK;
}

static int parse_all(parser *ps)
{
    int rc;
    ae_file *f = ps->f;
    if (ps->sec[S_INFO] == NULL)
        return ae__error(AE_ERR_FORMAT, "%s: the INFO section is missing", ps->who);
    if ((rc = parse_info(ps, ps->sec[S_INFO])) < 0 || (rc = cross_check(ps)) < 0)
        return rc;
    if (ps->sec[S_USER] && (rc = parse_user(ps, ps->sec[S_USER])) < 0)
        return rc;
    if (ps->sec[S_TRAN] && (rc = parse_tran(ps, ps->sec[S_TRAN])) < 0)
        return rc;
    if (ps->sec[S_HIST] && (rc = parse_hist(ps, ps->sec[S_HIST])) < 0)
        return rc;
    if (ps->sec[S_ENCR] && (rc = parse_net(ps, ps->sec[S_ENCR], 0)) < 0)
        return rc;
    if (ps->sec[S_DECR] && (rc = parse_net(ps, ps->sec[S_DECR], 1)) < 0)
        return rc;
    if (f->nets[0].present && f->nets[1].present) {
        const ae__io_net *e = &f->nets[0];
        const ae_shape *latent = &e->layers[e->n_layers - 1].out;
        if (!ae__shape_equal(latent, &f->nets[1].input)) {
            char a[64], b[64];
            return ae__error(AE_ERR_FORMAT, "%s: the encoder gives %s, the decoder takes %s", ps->who,
                             ae__shape_str(latent, a, sizeof a),
                             ae__shape_str(&f->nets[1].input, b, sizeof b));
        }
    }
    if (ps->sec[S_TENS] && (rc = parse_tens(ps, ps->sec[S_TENS])) < 0)
        return rc;
    if (ps->sec[S_DATA] && (rc = parse_data(ps, ps->sec[S_DATA])) < 0)
        return rc;
    if (ps->sec[S_XTRA] && (rc = parse_xtra(ps, ps->sec[S_XTRA])) < 0)
        return rc;
    if (ps->sec[S_OPTM] && (rc = parse_optm(ps, ps->sec[S_OPTM])) < 0)
        return rc;
    if (ps->sec[S_PCAS] && (rc = parse_pcas(ps, ps->sec[S_PCAS])) < 0)
        return rc;
    if (ps->sec[S_DETC] && (rc = parse_detc(ps, ps->sec[S_DETC])) < 0)
        return rc;
    if (ps->sec[S_KNNI] && (rc = ae__knni_parse(ps->sec[S_KNNI], ps->who)) < 0)
        return rc;
    if (ps->sec[S_SCAL] && (rc = ae__scal_parse(f, ps->sec[S_SCAL], ps->who)) < 0)
        return rc;
    return AE_OK;
}

int ae__file_parse(unsigned char *bytes, size_t len, uint64_t extra, int check_crc,
                   ae_file **out, const char *who)
{
    ae_file *f = ae__calloc(1, sizeof *f);
    if (f == NULL) {
        ae__free(bytes);
        return AE_ERR_NOMEM;
    }
    f->bytes = bytes;
    f->size = len;
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.f = f;
    ps.who = who;
    uint32_t hs = 0, count = 0;
    int rc;
    if ((rc = parse_header(f, extra, check_crc, &hs, &count, who)) < 0 ||
        (rc = walk_sections(&ps, hs, count, check_crc)) < 0 || (rc = parse_all(&ps)) < 0) {
        ae_file_close(f);
        return rc;
    }
    *out = f;
    return AE_OK;
}

/* ---- opening -------------------------------------------------------------------------------- */

static int open_limit(const ae_open_options *o, uint64_t *max, const char *who)
{
    *max = AE_FILE_MAX_SIZE;
    if (o == NULL)
        return AE_OK;
    ae_open_options c = AE_OPEN_OPTIONS_INIT;
    int rc = ae__take_struct(&c, o, AE__LAYOUT_END(ae_open_options, max_size), sizeof c, who);
    if (rc < 0)
        return rc;
    if (c.max_size != 0 && c.max_size < AE_FILE_MAX_SIZE)
        *max = c.max_size;
    return AE_OK;
}

int ae_file_open_v(ae_file **out, const char *path, const ae_open_options *opts,
                   unsigned header_version)
{
    static const char who[] = "ae_file_open";
    uint64_t max, extra;
    unsigned char *bytes;
    size_t len;
    int rc = ae__check_header(header_version, who);
    if (rc < 0)
        return rc;
    if (out == NULL || path == NULL)
        return AE__NULL_ARG(who, out, path);
    if ((rc = open_limit(opts, &max, who)) < 0 ||
        (rc = ae__slurp_path(path, max, &bytes, &len, &extra, who)) < 0)
        return rc;
    return ae__file_parse(bytes, len, extra, 1, out, who);
}

int ae_file_open_memory_v(ae_file **out, const void *data, size_t size,
                          const ae_open_options *opts, unsigned header_version)
{
    static const char who[] = "ae_file_open_memory";
    uint64_t max;
    int rc = ae__check_header(header_version, who);
    if (rc < 0)
        return rc;
    if (out == NULL || (data == NULL && size > 0))
        return AE__NULL_ARG(who, out, data);
    if ((rc = open_limit(opts, &max, who)) < 0)
        return rc;
    if (size > max)
        return ae__error(AE_ERR_LIMIT, "%s: %zu bytes, the limit is %llu", who, size,
                         (unsigned long long)max);
    unsigned char *bytes = ae__alloc(size ? size : 1);
    if (bytes == NULL)
        return AE_ERR_NOMEM;
    if (size > 0)
        memcpy(bytes, data, size);
    return ae__file_parse(bytes, size, 0, 1, out, who);
}

int ae_file_open_callback_v(ae_file **out, ae_read_fn read, void *user,
                            const ae_open_options *opts, unsigned header_version)
{
    static const char who[] = "ae_file_open_callback";
    uint64_t max, extra;
    unsigned char *bytes;
    size_t len;
    int rc = ae__check_header(header_version, who);
    if (rc < 0)
        return rc;
    if (out == NULL || read == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who, out == NULL ? "out" : "read");
    if ((rc = open_limit(opts, &max, who)) < 0 ||
        (rc = ae__slurp_callback(read, user, max, &bytes, &len, &extra, who)) < 0)
        return rc;
    return ae__file_parse(bytes, len, extra, 1, out, who);
}

int ae__file_open_unchecked(ae_file **out, const void *data, size_t size)
{
    unsigned char *bytes = ae__alloc(size ? size : 1);
    if (bytes == NULL)
        return AE_ERR_NOMEM;
    if (size > 0)
        memcpy(bytes, data, size);
    return ae__file_parse(bytes, size, 0, 0, out, "ae_file_open (CRC unchecked)");
}

void ae_file_close(ae_file *f)
{
    if (f == NULL)
        return;
    for (int n = 0; n < 2; n++)
        ae__free(f->nets[n].layers);
    ae__free(f->tensors);
    ae__free(f->sections);
    ae__free(f->meta_keys);
    ae__free(f->meta_values);
    ae__free(f->meta_text);
    ae__free(f->optrecs);
    ae__free(f->bytes);
    ae__free(f);
}

/* ---- inspection ----------------------------------------------------------------------------- */

/* Checks an output struct the caller sized; AE_OK to fill min(size, ours). */
/* The first released (1.0) layouts of the structs the readers fill: a
 * program built against 1.0 passes these sizes forever. */
#define INFO_1_0 AE__LAYOUT_END(ae_file_info, has_detector)
#define LAYER_1_0 AE__LAYOUT_END(ae_file_layer, registered)
#define TENSOR_1_0 AE__LAYOUT_END(ae_file_tensor, offset)
#define SECTION_1_0 AE__LAYOUT_END(ae_file_section, known)

int ae_file_get_info(const ae_file *f, ae_file_info *out)
{
    static const char who[] = "ae_file_get_info";
    if (f == NULL)
        return ae__error(AE_ERR_INVALID, "%s: file is NULL", who);
    ae_file_info i;
    memset(&i, 0, sizeof i);
    i.format_major = f->major;
    i.format_minor = f->minor;
    i.writer_version = f->writer_version;
    i.kind = f->kind;
    i.file_size = f->size;
    i.sections = f->n_sections;
    i.encoder_layers = f->nets[0].n_layers;
    i.decoder_layers = f->nets[1].n_layers;
    i.tensors = f->n_tensors;
    i.param_floats = f->param_floats;
    i.state_floats = f->state_floats;
    i.history_length = f->history_len;
    i.metadata_count = f->n_meta;
    i.has_training = f->has_training;
    i.has_optimizer = f->has_optimizer;
    i.optimizer_kind = f->has_optimizer ? f->opt.kind : -1;
    i.optimizer_steps = f->has_optimizer ? f->opt_steps : 0;
    i.has_pca = f->has_pca;
    i.has_detector = f->has_detector;
    i.has_index = ae__knni_find(f) != NULL;
    return ae__fill_struct(out, &i, sizeof i, INFO_1_0, who);
}

int ae_file_get_layer(const ae_file *f, size_t index, ae_file_layer *out)
{
    static const char who[] = "ae_file_get_layer";
    if (f == NULL)
        return ae__error(AE_ERR_INVALID, "%s: file is NULL", who);
    size_t total = f->nets[0].n_layers + f->nets[1].n_layers;
    if (index >= total)
        return ae__error(AE_ERR_INVALID, "%s: layer %zu, the file has %zu", who, index, total);
    int d = index >= f->nets[0].n_layers;
    size_t i = d ? index - f->nets[0].n_layers : index;
    const ae__io_layer *l = &f->nets[d].layers[i];
    ae_file_layer o;
    memset(&o, 0, sizeof o);
    o.decoder = d;
    o.index = i;
    o.type_name = l->type_name;
    o.type_version = l->type_version;
    o.input = l->in;
    o.output = l->out;
    o.config = l->config;
    o.config_size = l->config_size;
    o.params = l->n_params;
    o.states = l->n_states;
    for (size_t k = 0; k < l->n_params + l->n_states; k++)
        o.floats += f->tensors[l->first_tensor + k].count;
    o.extra_size = l->extra_size;
    o.registered = ae_layer_is_registered(l->type_name);
    return ae__fill_struct(out, &o, sizeof o, LAYER_1_0, who);
}

int ae_file_get_tensor(const ae_file *f, size_t index, ae_file_tensor *out)
{
    static const char who[] = "ae_file_get_tensor";
    if (f == NULL)
        return ae__error(AE_ERR_INVALID, "%s: file is NULL", who);
    if (index >= f->n_tensors)
        return ae__error(AE_ERR_INVALID, "%s: tensor %zu, the file has %zu", who, index,
                         f->n_tensors);
    const ae__io_tensor *t = &f->tensors[index];
    ae_file_tensor o;
    memset(&o, 0, sizeof o);
    o.layer = (t->net == 1 ? f->nets[0].n_layers : 0) + t->layer;
    o.state = (int)t->role;
    o.index = t->index;
    o.name = t->name;
    o.shape = t->shape;
    o.count = t->count;
    o.offset = (uint64_t)(t->data - f->bytes);
    return ae__fill_struct(out, &o, sizeof o, TENSOR_1_0, who);
}

int ae_file_get_section(const ae_file *f, size_t index, ae_file_section *out)
{
    static const char who[] = "ae_file_get_section";
    if (f == NULL)
        return ae__error(AE_ERR_INVALID, "%s: file is NULL", who);
    if (index >= f->n_sections)
        return ae__error(AE_ERR_INVALID, "%s: section %zu, the file has %zu", who, index,
                         f->n_sections);
    const ae__io_section *s = &f->sections[index];
    ae_file_section o;
    memset(&o, 0, sizeof o);
    memcpy(o.type, s->type, sizeof o.type);
    o.flags = s->flags;
    o.offset = s->offset;
    o.size = s->size;
    o.crc = s->crc;
    o.known = s->known;
    return ae__fill_struct(out, &o, sizeof o, SECTION_1_0, who);
}

size_t ae_file_metadata_count(const ae_file *f) { return f ? f->n_meta : 0; }

int ae_file_metadata_at(const ae_file *f, size_t index, const char **key, const char **value)
{
    if (f == NULL)
        return ae__error(AE_ERR_INVALID, "ae_file_metadata_at: file is NULL");
    if (index >= f->n_meta)
        return ae__error(AE_ERR_INVALID, "ae_file_metadata_at: pair %zu, the file has %zu", index,
                         f->n_meta);
    if (key != NULL)
        *key = f->meta_keys[index];
    if (value != NULL)
        *value = f->meta_values[index];
    return AE_OK;
}

int ae_file_metadata_get(const ae_file *f, const char *key, const char **value)
{
    if (f == NULL || key == NULL || value == NULL)
        return AE__NULL_ARG_AS("ae_file_metadata_get", "file, key, value", f, key, value);
    for (size_t i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta_keys[i], key) == 0) {
            *value = f->meta_values[i];
            return AE_OK;
        }
    return ae__error(AE_ERR_NOT_FOUND, "ae_file_metadata_get: no metadata key '%s'", key);
}

int ae_file_get_training(const ae_file *f, ae_train_options *out)
{
    static const char who[] = "ae_file_get_training";
    if (f == NULL)
        return ae__error(AE_ERR_INVALID, "%s: file is NULL", who);
    if (!f->has_training)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file records no training settings", who);
    ae_train_options o;
    memset(&o, 0, sizeof o); /* the pointer fields stay NULL */
    o.epochs = f->epochs;
    o.batch_size = f->batch_size;
    o.seed = f->seed;
    o.loss = (int)f->loss;
    o.shuffle = (int)f->shuffle;
    o.noise = (int)f->noise;
    o.noise_amount = f->noise_amount;
    /* The oldest layout it accepts ends with progress_user (see train.c). */
    return ae__fill_struct(out, &o, sizeof o, AE__LAYOUT_END(ae_train_options, progress_user), who);
}
