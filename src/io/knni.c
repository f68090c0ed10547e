/* SPDX-License-Identifier: MIT */
/*
 * knni.c - the KNNI section of model files (docs/format.md 5.12): a
 * nearest-neighbour index (ae/search.h) stored next to an encoder, or
 * alone. Parsing (hostile input: sizes, reserved bytes, enums and every
 * value checked before anything is allocated), the emitter the writer
 * calls, and the loaders. The reader and writer only call in here.
 *
 * Payload: a 64-byte header (u32 dim, u32 metric, u64 count, 48 reserved
 * bytes) and count * dim little-endian f32, row-major. The section is
 * may-ignore: a 1.0 reader skips it and loads the rest of the file.
 */
#include <math.h>
#include <string.h>

#include "analysis/index.h"
#include "io.h"

int ae__knni_parse(const ae__io_section *s, const char *who)
{
#define KNNI_BAD(...) ae__error(AE_ERR_FORMAT, __VA_ARGS__)
    const unsigned long long off = (unsigned long long)s->offset;
    if (s->size < AE__KNNI_HEADER)
        return KNNI_BAD("%s: section 'KNNI' at offset %llu: payload is %llu bytes, the header "
                        "alone is %u", who, off, (unsigned long long)s->size, AE__KNNI_HEADER);
    const unsigned char *p = s->payload;
    uint32_t dim = ae__rd32(p), metric = ae__rd32(p + 4);
    uint64_t count = ae__rd64(p + 8);
    for (size_t i = 16; i < AE__KNNI_HEADER; i++)
        if (p[i] != 0)
            return KNNI_BAD("%s: section 'KNNI' at offset %llu: reserved byte %zu is not zero",
                            who, off, i);
    if (metric > AE_METRIC_COSINE)
        return KNNI_BAD("%s: section 'KNNI' at offset %llu: unknown metric %u (0 Euclidean, "
                        "1 cosine)", who, off, metric);
    if (dim == 0 || count == 0)
        return KNNI_BAD("%s: section 'KNNI' at offset %llu: %llu vectors of %u floats (both must "
                        "be at least 1)", who, off, (unsigned long long)count, dim);
    if (dim > AE_INDEX_MAX_DIM || count > AE_INDEX_MAX_COUNT)
        return ae__error(AE_ERR_LIMIT, "%s: section 'KNNI' at offset %llu: %llu vectors of %u "
                         "floats, past the limits (%u vectors of %u floats)", who, off,
                         (unsigned long long)count, dim, AE_INDEX_MAX_COUNT, AE_INDEX_MAX_DIM);
    /* count < 2^31, dim <= 2^16: 4 * count * dim < 2^49, no overflow */
    const uint64_t floats = count * dim, want = AE__KNNI_HEADER + 4 * floats;
    if (s->size != want)
        return KNNI_BAD("%s: section 'KNNI' at offset %llu: payload is %llu bytes, %llu vectors "
                        "of %u floats need %llu", who, off, (unsigned long long)s->size,
                        (unsigned long long)count, dim, (unsigned long long)want);
    const unsigned char *v = p + AE__KNNI_HEADER;
    for (uint64_t i = 0; i < count; i++) {
        double n2 = 0.0;
        for (uint32_t j = 0; j < dim; j++) {
            float x = ae__rdf32(v + 4 * (i * dim + j));
            if (!isfinite(x))
                return KNNI_BAD("%s: section 'KNNI' at offset %llu: value %u of vector %llu is "
                                "%s", who, off, j, (unsigned long long)i,
                                isnan(x) ? "NaN" : "infinite");
            n2 += (double)x * x;
        }
        if (n2 > 3.0e38)
            return KNNI_BAD("%s: section 'KNNI' at offset %llu: vector %llu has a squared norm "
                            "of %g, past single precision", who, off, (unsigned long long)i, n2);
    }
    return AE_OK;
#undef KNNI_BAD
}

const ae__io_section *ae__knni_find(const ae_file *f)
{
    for (size_t i = 0; i < f->n_sections; i++)
        if (f->sections[i].type_code == AE__SEC_KNNI && f->sections[i].known)
            return &f->sections[i];
    return NULL;
}

int ae__knni_emit(ae__sink *s, const ae_index *idx)
{
    unsigned char b[AE__KNNI_HEADER];
    ae_index_options o = AE_INDEX_OPTIONS_INIT;
    int rc = ae_index_get_options(idx, &o);
    if (rc < 0)
        return rc;
    memset(b, 0, sizeof b);
    ae__le32(b, (uint32_t)ae_index_dim(idx));
    ae__le32(b + 4, (uint32_t)o.metric);
    ae__le64(b + 8, (uint64_t)ae_index_count(idx));
    if ((rc = ae__emit(s, b, sizeof b)) < 0)
        return rc;
    return ae__emit_floats(s, ae__index_vectors(idx), ae_index_count(idx) * ae_index_dim(idx));
}

int ae_file_load_index(ae_index **out, const ae_file *f)
{
    static const char who[] = "ae_file_load_index";
    if (f == NULL || out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: file or out is NULL", who);
    const ae__io_section *s = ae__knni_find(f);
    if (s == NULL)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds no index", who);
    /* validated when the file was opened */
    const unsigned char *p = s->payload;
    return ae__index_from_le(out, p + AE__KNNI_HEADER, (size_t)ae__rd64(p + 8), ae__rd32(p),
                             (int)ae__rd32(p + 4), who);
}

int ae_index_load_v(ae_index **out, const char *path, unsigned header_version)
{
    static const char who[] = "ae_index_load";
    ae_file *f;
    ae_index *idx;
    int rc = ae__check_header(header_version, who);
    if (rc < 0)
        return rc;
    if (out == NULL || path == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out or path is NULL", who);
    if ((rc = ae_file_open_v(&f, path, NULL, header_version)) < 0)
        return rc;
    rc = ae_file_load_index(&idx, f);
    ae_file_close(f);
    if (rc == AE_OK)
        *out = idx;
    return rc;
}
