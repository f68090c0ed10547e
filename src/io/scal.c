/* SPDX-License-Identifier: MIT */
/*
 * scal.c - the SCAL section (docs/format.md 5.12, format 1.1): a model's
 * input scaler. REQUIRED: a reader that skipped it would feed raw data to
 * a model trained on scaled data, so libae 1.0 refuses such a file
 * (AE_ERR_VERSION) instead of answering wrongly.
 *
 *   u32 kind (ae_scaler_kind)  u32 features n  u8[56] reserved
 *   at 64:          f32[n] shift
 *   at align64:     f32[n] scale (finite, > 0)
 */
#include <math.h>
#include <string.h>

#include "data/scaler.h"
#include "io.h"

#define SCAL_MSG "%s: section 'SCAL' at offset %llu: "

int ae__scal_emit(ae__sink *sink, const ae_scaler *sc)
{
    unsigned char b[AE__SCAL_HEADER];
    memset(b, 0, sizeof b);
    ae__le32(b, (uint32_t)sc->kind);
    ae__le32(b + 4, (uint32_t)sc->n);
    int rc;
    if ((rc = ae__emit(sink, b, sizeof b)) < 0 || (rc = ae__emit_floats(sink, sc->shift, sc->n)) < 0 ||
        (rc = ae__emit_zeros(sink, (size_t)(ae__align64(sink->written) - sink->written))) < 0)
        return rc;
    return ae__emit_floats(sink, sc->scale, sc->n);
}

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

/* The file's SCAL section, validated when the file was opened, or NULL. */
static const ae__io_section *scal_section(const ae_file *f)
{
    for (size_t i = 0; i < f->n_sections; i++)
        if (f->sections[i].type_code == AE__SEC_SCAL)
            return &f->sections[i];
    return NULL;
}

int ae_file_load_scaler(ae_scaler **out, const ae_file *file)
{
    static const char who[] = "ae_file_load_scaler";
    if (out == NULL || file == NULL)
        return AE__NULL_ARG(who, out, file);
    const ae__io_section *s = scal_section(file);
    if (s == NULL)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds no scaler", who);
    const unsigned char *p = s->payload;
    const size_t n = ae__rd32(p + 4), scale = (size_t)ae__align64(AE__SCAL_HEADER + 4 * (uint64_t)n);
    float *par = ae__alloc(2 * n * sizeof(float));
    if (par == NULL)
        return AE_ERR_NOMEM;
    for (size_t j = 0; j < n; j++) {
        par[j] = ae__rdf32(p + AE__SCAL_HEADER + 4 * j);
        par[n + j] = ae__rdf32(p + scale + 4 * j);
    }
    int rc = ae__scaler_make(out, (int)ae__rd32(p), n, par, par + n);
    ae__free(par);
    return rc;
}

int ae__scal_attach(ae_model *model, const ae_file *f)
{
    if (scal_section(f) == NULL)
        return AE_OK;
    ae_scaler *sc = NULL;
    int rc = ae_file_load_scaler(&sc, f);
    if (rc == AE_OK)
        rc = ae_model_set_scaler(model, sc);
    ae_scaler_destroy(sc);
    return rc;
}
