/* SPDX-License-Identifier: MIT */
/*
 * scal_model.c - the SCAL section (docs/format.md 5.13) and the scaler
 * object: writing a model's scaler, loading the one a file holds
 * (ae_file_load_scaler) and attaching it to a model loaded from the file.
 * Apart from scal.c so that reading a file does not link the scaler and
 * the dataset code into programs that never load a whole model.
 */
#include <string.h>

#include "data/scaler.h"
#include "io.h"

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
