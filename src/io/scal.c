/* SPDX-License-Identifier: MIT */
/*
 * scal.c - the SCAL section (docs/format.md 5.13, format 1.1): a model's
 * input scaler. REQUIRED: a reader that skipped it would feed raw data to
 * a model trained on scaled data, so libae 1.0 refuses such a file
 * (AE_ERR_VERSION) instead of answering wrongly.
 *
 *   u32 kind (ae_scaler_kind)  u32 features n  u8[56] reserved
 *   at 64:          f32[n] shift
 *   at align64:     f32[n] scale (finite, > 0)
 *
 * This file only validates (the reader needs it, also in inference-only
 * programs); scal_model.c writes the section and turns it into a scaler.
 */
#include <math.h>
#include <string.h>

#include "io.h"

#define SCAL_MSG "%s: section 'SCAL' at offset %llu: "

int ae__scal_parse(const ae_file *f, const ae__io_section *s, const char *who)
{
    const unsigned long long off = (unsigned long long)s->offset;
    if (f->kind != AE_FILE_MODEL || !f->nets[0].present)
        return ae__error(AE_ERR_FORMAT, SCAL_MSG "a scaler belongs to model files only", who, off);
    if (!(s->flags & AE__SECTION_REQUIRED))
        return ae__error(AE_ERR_FORMAT, SCAL_MSG "the REQUIRED flag is not set", who, off);
    if (s->size < AE__SCAL_HEADER)
        return ae__error(AE_ERR_FORMAT, SCAL_MSG "payload is %llu bytes, at least %u expected", who,
                         off, (unsigned long long)s->size, AE__SCAL_HEADER);
    const unsigned char *p = s->payload;
    uint32_t kind = ae__rd32(p), n = ae__rd32(p + 4);
    const size_t in = ae__shape_size(&f->nets[0].input);
    if (kind > AE_SCALER_MINMAX || n == 0 || (size_t)n != in)
        return ae__error(AE_ERR_FORMAT, SCAL_MSG "kind %u, %u features (need kind 0 or 1 and the "
                         "encoder's input size, %zu)", who, off, kind, n, in);
    for (size_t i = 8; i < AE__SCAL_HEADER; i++)
        if (p[i] != 0)
            return ae__error(AE_ERR_FORMAT, SCAL_MSG "reserved bytes are not zero", who, off);
    /* n < 2^32: 4 n < 2^34, no overflow in 64 bits */
    const uint64_t shift_end = AE__SCAL_HEADER + 4 * (uint64_t)n;
    const uint64_t scale = ae__align64(shift_end), end = scale + 4 * (uint64_t)n;
    if (s->size != end)
        return ae__error(AE_ERR_FORMAT, SCAL_MSG "payload is %llu bytes, %u features need %llu", who,
                         off, (unsigned long long)s->size, n, (unsigned long long)end);
    for (uint64_t i = shift_end; i < scale; i++)
        if (p[i] != 0)
            return ae__error(AE_ERR_FORMAT, SCAL_MSG "padding is not zero", who, off);
    for (uint32_t j = 0; j < n; j++) {
        float a = ae__rdf32(p + AE__SCAL_HEADER + 4 * (uint64_t)j), b = ae__rdf32(p + scale + 4 * (uint64_t)j);
        if (!isfinite(a) || !(isfinite(b) && b > 0.0f))
            return ae__error(AE_ERR_FORMAT, SCAL_MSG "feature %u: shift %g, scale %g (need finite "
                             "values and a scale > 0)", who, off, j, (double)a, (double)b);
    }
    return AE_OK;
}
