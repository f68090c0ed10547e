/* SPDX-License-Identifier: MIT */
/*
 * knni.c - the KNNI section of model files (docs/format.md 5.12): a
 * nearest-neighbour index (ae/search.h) stored next to an encoder, or
 * alone. This file is the reader's side: parsing (hostile input: sizes,
 * reserved bytes, enums and every value checked before anything is
 * allocated) and finding the section. It needs nothing of the index code,
 * so a program that only loads an encoder does not link it; writing and
 * loading an index are in index_io.c.
 *
 * Payload: a 64-byte header (u32 dim, u32 metric, u64 count, 48 reserved
 * bytes) and count * dim little-endian f32, row-major. The section is
 * may-ignore: a 1.0 reader skips it and loads the rest of the file.
 */
#include <math.h>
#include <string.h>

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
