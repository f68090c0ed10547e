/* SPDX-License-Identifier: MIT */
/*
 * parse.c - reads an ONNX ModelProto into ae__onnx_model: every slice
 * points into the caller's bytes, every count and size is bounded, and
 * anything malformed is AE_ERR_FORMAT with the place named.
 */
#include <stdio.h>
#include <string.h>

#include "onnx.h"

#define BAD(who, what) ae__error(AE_ERR_FORMAT, "%s: malformed ONNX file: %s", who, what)

static int check_name(ae__pbs s, const char *what, const char *who)
{
    if (s.n > AE__ONNX_NAME_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: %s of %zu bytes (at most %u)", who, what, s.n,
                         AE__ONNX_NAME_MAX);
    return AE_OK;
}

/* Reads a repeated int64 field value, packed (LEN) or not (VARINT), appending to v. */
static int take_int64s(const ae__pbf *f, int64_t *v, size_t *n, size_t max, const char *what,
                       const char *who)
{
    if (f->wire == AE__PB_VARINT) {
        if (*n == max)
            return ae__error(AE_ERR_LIMIT, "%s: %s has more than %zu values", who, what, max);
        v[(*n)++] = (int64_t)f->v;
        return AE_OK;
    }
    if (f->wire != AE__PB_LEN)
        return BAD(who, what);
    ae__pbs s = f->s;
    while (s.n > 0) {
        uint64_t x;
        if (ae__pbr_varint(&s, &x) < 0)
            return BAD(who, what);
        if (*n == max)
            return ae__error(AE_ERR_LIMIT, "%s: %s has more than %zu values", who, what, max);
        v[(*n)++] = (int64_t)x;
    }
    return AE_OK;
}

static int parse_tensor(ae__pbs msg, ae__onnx_tensor *t, const char *who)
{
    ae__pbf f;
    int r, rc, has_raw = 0, has_float = 0, has_int64 = 0;
    memset(t, 0, sizeof *t);
    while ((r = ae__pbr_next(&msg, &f)) > 0) {
        switch (f.field) {
        case ONNX_TENSOR_DIMS:
            if ((rc = take_int64s(&f, t->dims, &t->rank, AE__ONNX_RANK_MAX, "tensor dims", who)) < 0)
                return rc;
            break;
        case ONNX_TENSOR_DATA_TYPE:
            if (f.wire != AE__PB_VARINT)
                return BAD(who, "tensor data_type");
            t->dtype = (int32_t)f.v;
            break;
        case ONNX_TENSOR_NAME:
            if (f.wire != AE__PB_LEN)
                return BAD(who, "tensor name");
            if ((rc = check_name(f.s, "tensor name", who)) < 0)
                return rc;
            t->name = f.s;
            break;
        case ONNX_TENSOR_RAW_DATA:
            if (f.wire != AE__PB_LEN)
                return BAD(who, "tensor raw_data");
            t->data = f.s;
            has_raw = 1;
            break;
        case ONNX_TENSOR_FLOAT_DATA:
            if (f.wire != AE__PB_LEN) /* unpacked floats: refused below */
                return ae__error(AE_ERR_UNSUPPORTED, "%s: tensor with unpacked float_data", who);
            t->data = f.s;
            has_float = 1;
            break;
        case ONNX_TENSOR_INT64_DATA:
            if (f.wire != AE__PB_LEN)
                return ae__error(AE_ERR_UNSUPPORTED, "%s: tensor with unpacked int64_data", who);
            t->data = f.s;
            has_int64 = 1;
            break;
        case ONNX_TENSOR_SEGMENT:
            return ae__error(AE_ERR_UNSUPPORTED, "%s: segmented tensors are not supported", who);
        case ONNX_TENSOR_DATA_LOCATION:
            if (f.v != 0)
                return ae__error(AE_ERR_UNSUPPORTED, "%s: tensors with external data are not supported", who);
            break;
        case ONNX_TENSOR_EXTERNAL_DATA:
            return ae__error(AE_ERR_UNSUPPORTED, "%s: tensors with external data are not supported", who);
        default:
            break; /* doc_string, other data fields of types refused below */
        }
    }
    if (r < 0)
        return BAD(who, "tensor");
    if (has_raw + has_float + has_int64 > 1)
        return BAD(who, "tensor with two kinds of data");
    size_t count = 1;
    for (size_t i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0 || (uint64_t)t->dims[i] > AE_ONNX_MAX_SIZE ||
            !ae__mul_size(count, (size_t)t->dims[i], &count) || count > AE_ONNX_MAX_SIZE)
            return ae__error(AE_ERR_FORMAT, "%s: tensor '%.*s' has bad dims", who,
                             (int)(t->name.n > 64 ? 64 : t->name.n), (const char *)t->name.p);
    }
    t->count = count;
    if (t->dtype == ONNX_FLOAT) {
        if (has_int64 || (has_raw + has_float == 1 && t->data.n != 4 * count) ||
            (has_raw + has_float == 0 && count != 0))
            return ae__error(AE_ERR_FORMAT, "%s: float tensor '%.*s' holds %zu bytes for %zu values",
                             who, (int)(t->name.n > 64 ? 64 : t->name.n), (const char *)t->name.p,
                             t->data.n, count);
    } else if (t->dtype == ONNX_INT64) {
        if (has_float || (has_raw && t->data.n != 8 * count) || (!has_raw && !has_int64 && count != 0))
            return ae__error(AE_ERR_FORMAT, "%s: int64 tensor '%.*s' holds %zu bytes for %zu values",
                             who, (int)(t->name.n > 64 ? 64 : t->name.n), (const char *)t->name.p,
                             t->data.n, count);
        t->packed_int64 = has_int64;
    }
    /* other types are kept (an unused initializer is harmless) and refused where used */
    return AE_OK;
}

static int parse_value(ae__pbs msg, ae__onnx_value *v, const char *who)
{
    ae__pbf f, g, h, d, e;
    int r, rc;
    memset(v, 0, sizeof *v);
    while ((r = ae__pbr_next(&msg, &f)) > 0) {
        if (f.field == ONNX_VALUE_NAME && f.wire == AE__PB_LEN) {
            if ((rc = check_name(f.s, "value name", who)) < 0)
                return rc;
            v->name = f.s;
        } else if (f.field == ONNX_VALUE_TYPE && f.wire == AE__PB_LEN) {
            ae__pbs type = f.s;
            while ((r = ae__pbr_next(&type, &g)) > 0) {
                if (g.field != ONNX_TYPE_TENSOR || g.wire != AE__PB_LEN)
                    continue; /* sequences, maps...: elem stays 0 and is refused where used */
                ae__pbs tt = g.s;
                while ((r = ae__pbr_next(&tt, &h)) > 0) {
                    if (h.field == ONNX_TTYPE_ELEM_TYPE && h.wire == AE__PB_VARINT) {
                        v->elem = (int32_t)h.v;
                    } else if (h.field == ONNX_TTYPE_SHAPE && h.wire == AE__PB_LEN) {
                        ae__pbs shape = h.s;
                        v->has_shape = 1;
                        while ((r = ae__pbr_next(&shape, &d)) > 0) {
                            if (d.field != ONNX_SHAPE_DIM || d.wire != AE__PB_LEN)
                                continue;
                            if (v->rank == AE__ONNX_RANK_MAX)
                                return ae__error(AE_ERR_LIMIT, "%s: a graph input or output of more than %u dims",
                                                 who, AE__ONNX_RANK_MAX);
                            int64_t dim = -1;
                            ae__pbs dm = d.s;
                            while ((r = ae__pbr_next(&dm, &e)) > 0)
                                if (e.field == ONNX_DIM_VALUE && e.wire == AE__PB_VARINT)
                                    dim = (int64_t)e.v;
                            if (r < 0)
                                return BAD(who, "dimension");
                            v->dims[v->rank++] = dim;
                        }
                        if (r < 0)
                            return BAD(who, "shape");
                    }
                }
                if (r < 0)
                    return BAD(who, "tensor type");
            }
            if (r < 0)
                return BAD(who, "type");
        }
    }
    return r < 0 ? BAD(who, "value info") : AE_OK;
}

static int parse_node(ae__pbs msg, ae__onnx_node *n, const char *who)
{
    ae__pbf f;
    int r, rc;
    size_t attrs = 0;
    memset(n, 0, sizeof *n);
    n->raw = msg;
    while ((r = ae__pbr_next(&msg, &f)) > 0) {
        if (f.wire != AE__PB_LEN)
            continue;
        switch (f.field) {
        case ONNX_NODE_INPUT:
            if (n->n_in == AE__ONNX_NODE_IN)
                return ae__error(AE_ERR_LIMIT, "%s: a node with more than %u inputs", who, AE__ONNX_NODE_IN);
            if ((rc = check_name(f.s, "input name", who)) < 0)
                return rc;
            n->in[n->n_in++] = f.s;
            break;
        case ONNX_NODE_OUTPUT:
            if (n->n_out == AE__ONNX_NODE_OUT)
                return ae__error(AE_ERR_LIMIT, "%s: a node with more than %u outputs", who, AE__ONNX_NODE_OUT);
            if ((rc = check_name(f.s, "output name", who)) < 0)
                return rc;
            n->out[n->n_out++] = f.s;
            break;
        case ONNX_NODE_NAME:
            if ((rc = check_name(f.s, "node name", who)) < 0)
                return rc;
            n->name = f.s;
            break;
        case ONNX_NODE_OP_TYPE:
            if ((rc = check_name(f.s, "op type", who)) < 0)
                return rc;
            n->op = f.s;
            break;
        case ONNX_NODE_DOMAIN:
            n->domain = f.s;
            break;
        case ONNX_NODE_DOC_STRING:
            n->doc = f.s;
            break;
        case ONNX_NODE_ATTRIBUTE:
            if (++attrs > AE__ONNX_ATTRS_MAX)
                return ae__error(AE_ERR_LIMIT, "%s: a node with more than %u attributes", who,
                                 AE__ONNX_ATTRS_MAX);
            break;
        default:
            break;
        }
    }
    if (r < 0)
        return BAD(who, "node");
    if (n->n_out == 0)
        return BAD(who, "a node without outputs");
    return AE_OK;
}

/* Counts the fields `field` of message msg (LEN-typed). */
static size_t count_fields(ae__pbs msg, uint32_t field)
{
    ae__pbf f;
    size_t n = 0;
    while (ae__pbr_next(&msg, &f) > 0)
        n += f.field == field && f.wire == AE__PB_LEN;
    return n;
}

const char *ae__onnx_node_str(const ae__onnx_node *n, char *buf, size_t size)
{
    snprintf(buf, size, "node '%.*s' (%.*s)", (int)(n->name.n > 100 ? 100 : n->name.n),
             n->name.p ? (const char *)n->name.p : "", (int)(n->op.n > 60 ? 60 : n->op.n),
             n->op.p ? (const char *)n->op.p : "");
    return buf;
}

int ae__onnx_attr_get(const ae__onnx_node *n, const char *name, ae__onnx_attr *a, const char *who)
{
    ae__pbs msg = n->raw;
    ae__pbf f, g;
    int r, rc;
    char nb[200];
    while ((r = ae__pbr_next(&msg, &f)) > 0) {
        if (f.field != ONNX_NODE_ATTRIBUTE || f.wire != AE__PB_LEN)
            continue;
        ae__pbs am = f.s, probe = f.s;
        int match = 0;
        while ((r = ae__pbr_next(&probe, &g)) > 0)
            if (g.field == ONNX_ATTR_NAME && g.wire == AE__PB_LEN)
                match = ae__pbs_eq(g.s, name);
        if (r < 0)
            return BAD(who, "attribute");
        if (!match)
            continue;
        memset(a, 0, sizeof *a);
        while ((r = ae__pbr_next(&am, &g)) > 0) {
            switch (g.field) {
            case ONNX_ATTR_TYPE:
                a->type = (int64_t)g.v;
                break;
            case ONNX_ATTR_F:
                if (g.wire != AE__PB_I32)
                    return BAD(who, "attribute f");
                {
                    uint32_t u = (uint32_t)g.v;
                    memcpy(&a->f, &u, 4);
                }
                break;
            case ONNX_ATTR_I:
                if (g.wire != AE__PB_VARINT)
                    return BAD(who, "attribute i");
                a->i = (int64_t)g.v;
                break;
            case ONNX_ATTR_S:
                if (g.wire != AE__PB_LEN)
                    return BAD(who, "attribute s");
                a->s = g.s;
                break;
            case ONNX_ATTR_INTS:
                if ((rc = take_int64s(&g, a->ints, &a->n_ints, AE__ONNX_INTS_MAX, name, who)) < 0)
                    return rc;
                break;
            case ONNX_ATTR_REF_ATTR_NAME:
                return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: attribute '%s' refers to a function attribute",
                                 who, ae__onnx_node_str(n, nb, sizeof nb), name);
            default:
                break;
            }
        }
        if (r < 0)
            return BAD(who, "attribute");
        return 1;
    }
    return r < 0 ? BAD(who, "node") : 0;
}

static size_t name_hash(ae__pbs s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < s.n; i++)
        h = (h ^ s.p[i]) * 1099511628211ull;
    return (size_t)h;
}

static int same_name(ae__pbs a, ae__pbs b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* The hash table over the tensors' names: a hostile graph's thousands of
 * lookups stay linear in its size. A later definition replaces an earlier
 * one (Constant values come after the initializers). */
static int build_index(ae__onnx_model *m)
{
    size_t size = 16;
    while (size < 2 * m->n_inits)
        size *= 2;
    m->index = ae__calloc(size, sizeof *m->index);
    if (m->index == NULL)
        return AE_ERR_NOMEM;
    m->index_size = size;
    for (size_t i = 0; i < m->n_inits; i++) {
        size_t h = name_hash(m->inits[i].name) & (size - 1);
        while (m->index[h] != 0 && !same_name(m->inits[m->index[h] - 1].name, m->inits[i].name))
            h = (h + 1) & (size - 1);
        m->index[h] = i + 1;
    }
    return AE_OK;
}

const ae__onnx_tensor *ae__onnx_find_tensor(const ae__onnx_model *m, ae__pbs name)
{
    if (m->index_size == 0)
        return NULL;
    for (size_t h = name_hash(name) & (m->index_size - 1); m->index[h] != 0; h = (h + 1) & (m->index_size - 1))
        if (same_name(m->inits[m->index[h] - 1].name, name))
            return &m->inits[m->index[h] - 1];
    return NULL;
}

void ae__onnx_tensor_floats(const ae__onnx_tensor *t, float *dst)
{
    const unsigned char *p = t->data.p;
    for (size_t i = 0; i < t->count; i++) {
        uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                     (uint32_t)p[4 * i + 3] << 24;
        memcpy(&dst[i], &u, 4);
    }
}

int ae__onnx_tensor_int64(const ae__onnx_tensor *t, int64_t *dst, size_t max, const char *who)
{
    if (t->dtype != ONNX_INT64)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: tensor '%.*s' is not int64", who,
                         (int)(t->name.n > 64 ? 64 : t->name.n), (const char *)t->name.p);
    if (t->count > max)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: tensor '%.*s' has %zu values, at most %zu expected",
                         who, (int)(t->name.n > 64 ? 64 : t->name.n), (const char *)t->name.p,
                         t->count, max);
    if (t->packed_int64) {
        ae__pbs s = t->data;
        size_t n = 0;
        while (s.n > 0) {
            uint64_t x;
            if (ae__pbr_varint(&s, &x) < 0 || n == t->count)
                return BAD(who, "int64_data");
            dst[n++] = (int64_t)x;
        }
        if (n != t->count)
            return BAD(who, "int64_data count");
        return AE_OK;
    }
    for (size_t i = 0; i < t->count; i++) {
        uint64_t u = 0;
        for (int k = 0; k < 8; k++)
            u |= (uint64_t)t->data.p[8 * i + (size_t)k] << (8 * k);
        dst[i] = (int64_t)u;
    }
    return AE_OK;
}

int ae__onnx_meta(const ae__onnx_model *m, const char *key, ae__pbs *value)
{
    for (size_t i = 0; i < m->n_meta; i++)
        if (ae__pbs_eq(m->meta_key[i], key)) {
            *value = m->meta_value[i];
            return 1;
        }
    return 0;
}

void ae__onnx_free(ae__onnx_model *m)
{
    ae__free(m->index);
    ae__free(m->nodes);
    ae__free(m->inits);
    memset(m, 0, sizeof *m);
}

static int parse_graph(ae__onnx_model *m, ae__pbs g, const char *who)
{
    ae__pbf f;
    int r, rc;
    size_t nodes = count_fields(g, ONNX_GRAPH_NODE), inits = count_fields(g, ONNX_GRAPH_INITIALIZER);
    if (nodes > AE_ONNX_NODES_MAX || inits > AE_ONNX_NODES_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: the graph has %zu nodes and %zu initializers (at most %u each)",
                         who, nodes, inits, AE_ONNX_NODES_MAX);
    if (nodes == 0)
        return ae__error(AE_ERR_FORMAT, "%s: the graph has no nodes", who);
    m->nodes = ae__calloc(nodes, sizeof *m->nodes);
    /* room for the Constant nodes' values after the initializers */
    m->inits = ae__calloc(inits + nodes, sizeof *m->inits);
    if (m->nodes == NULL || m->inits == NULL)
        return AE_ERR_NOMEM;
    while ((r = ae__pbr_next(&g, &f)) > 0) {
        if (f.field == ONNX_GRAPH_SPARSE_INITIALIZER)
            return ae__error(AE_ERR_UNSUPPORTED, "%s: sparse initializers are not supported", who);
        if (f.wire != AE__PB_LEN)
            continue;
        switch (f.field) {
        case ONNX_GRAPH_NODE:
            if ((rc = parse_node(f.s, &m->nodes[m->n_nodes], who)) < 0)
                return rc;
            m->n_nodes++;
            break;
        case ONNX_GRAPH_INITIALIZER:
            if ((rc = parse_tensor(f.s, &m->inits[m->n_inits], who)) < 0)
                return rc;
            m->n_inits++;
            break;
        case ONNX_GRAPH_INPUT:
        case ONNX_GRAPH_OUTPUT: {
            int is_in = f.field == ONNX_GRAPH_INPUT;
            size_t *n = is_in ? &m->n_in : &m->n_out;
            if (*n == AE__ONNX_IO_MAX)
                return ae__error(AE_ERR_LIMIT, "%s: more than %u graph %s", who, AE__ONNX_IO_MAX,
                                 is_in ? "inputs" : "outputs");
            if ((rc = parse_value(f.s, is_in ? &m->in[*n] : &m->out[*n], who)) < 0)
                return rc;
            (*n)++;
            break;
        }
        default:
            break;
        }
    }
    if (r < 0)
        return BAD(who, "graph");
    /* Constant nodes: their value attribute is a tensor named by the output */
    char nb[200];
    for (size_t i = 0; i < m->n_nodes; i++) {
        ae__onnx_node *n = &m->nodes[i];
        if (!ae__pbs_eq(n->op, "Constant"))
            continue;
        ae__pbs msg = n->raw;
        ae__pbf a, b;
        int found = 0;
        while ((r = ae__pbr_next(&msg, &a)) > 0 && !found) {
            if (a.field != ONNX_NODE_ATTRIBUTE || a.wire != AE__PB_LEN)
                continue;
            ae__pbs am = a.s, t = {NULL, 0};
            int is_value = 0;
            while ((r = ae__pbr_next(&am, &b)) > 0) {
                if (b.field == ONNX_ATTR_NAME && b.wire == AE__PB_LEN)
                    is_value = ae__pbs_eq(b.s, "value");
                else if (b.field == ONNX_ATTR_T && b.wire == AE__PB_LEN)
                    t = b.s;
            }
            if (r < 0)
                return BAD(who, "Constant attribute");
            if (is_value && t.p != NULL) {
                ae__onnx_tensor *ct = &m->inits[m->n_inits];
                if ((rc = parse_tensor(t, ct, who)) < 0)
                    return rc;
                ct->name = n->out[0];
                m->n_inits++;
                found = 1;
            }
        }
        if (r < 0)
            return BAD(who, "Constant node");
        if (!found)
            return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: only a tensor 'value' is supported", who,
                             ae__onnx_node_str(n, nb, sizeof nb));
    }
    return build_index(m);
}

int ae__onnx_parse(ae__onnx_model *m, const void *data, size_t size, const char *who)
{
    ae__pbs msg = {data, size}, graph = {NULL, 0};
    ae__pbf f, g;
    int r, rc;
    int have_ir = 0;
    memset(m, 0, sizeof *m);
    m->opset = -1;
    if (size > AE_ONNX_MAX_SIZE)
        return ae__error(AE_ERR_LIMIT, "%s: %zu bytes, at most %u", who, size, AE_ONNX_MAX_SIZE);
    while ((r = ae__pbr_next(&msg, &f)) > 0) {
        switch (f.field) {
        case ONNX_MODEL_IR_VERSION:
            if (f.wire != AE__PB_VARINT)
                return BAD(who, "ir_version");
            m->ir = (int64_t)f.v;
            have_ir = 1;
            break;
        case ONNX_MODEL_GRAPH:
            if (f.wire != AE__PB_LEN)
                return BAD(who, "graph");
            graph = f.s;
            break;
        case ONNX_MODEL_OPSET_IMPORT: {
            if (f.wire != AE__PB_LEN)
                return BAD(who, "opset_import");
            ae__pbs o = f.s, domain = {NULL, 0};
            int64_t version = -1;
            while ((r = ae__pbr_next(&o, &g)) > 0) {
                if (g.field == ONNX_OPSET_DOMAIN && g.wire == AE__PB_LEN)
                    domain = g.s;
                else if (g.field == ONNX_OPSET_VERSION && g.wire == AE__PB_VARINT)
                    version = (int64_t)g.v;
            }
            if (r < 0)
                return BAD(who, "opset_import");
            if (domain.n == 0 || ae__pbs_eq(domain, "ai.onnx"))
                m->opset = version;
            break;
        }
        case ONNX_MODEL_METADATA_PROPS: {
            if (f.wire != AE__PB_LEN)
                return BAD(who, "metadata_props");
            if (m->n_meta == AE_ONNX_METADATA_MAX)
                return ae__error(AE_ERR_LIMIT, "%s: more than %u metadata_props", who, AE_ONNX_METADATA_MAX);
            ae__pbs e = f.s, k = {(const unsigned char *)"", 0}, v = {(const unsigned char *)"", 0};
            while ((r = ae__pbr_next(&e, &g)) > 0) {
                if (g.field == ONNX_ENTRY_KEY && g.wire == AE__PB_LEN)
                    k = g.s;
                else if (g.field == ONNX_ENTRY_VALUE && g.wire == AE__PB_LEN)
                    v = g.s;
            }
            if (r < 0)
                return BAD(who, "metadata_props");
            m->meta_key[m->n_meta] = k;
            m->meta_value[m->n_meta++] = v;
            break;
        }
        case ONNX_MODEL_FUNCTIONS:
            return ae__error(AE_ERR_UNSUPPORTED, "%s: model-local functions are not supported", who);
        default:
            break;
        }
    }
    if (r < 0)
        return BAD(who, "model (not an ONNX file?)");
    if (!have_ir || graph.p == NULL)
        return ae__error(AE_ERR_FORMAT, "%s: not an ONNX model (no ir_version or no graph)", who);
    if (m->ir < 3 || m->ir > 12)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: ONNX IR version %lld (3 to 12 are read)", who,
                         (long long)m->ir);
    if (m->opset < AE__ONNX_OPSET_MIN || m->opset > AE__ONNX_OPSET_MAX)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: default-domain opset %lld (%d to %d are read)", who,
                         (long long)m->opset, AE__ONNX_OPSET_MIN, AE__ONNX_OPSET_MAX);
    if ((rc = parse_graph(m, graph, who)) < 0) {
        ae__onnx_free(m);
        return rc;
    }
    return AE_OK;
}
