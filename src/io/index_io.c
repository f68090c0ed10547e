/* SPDX-License-Identifier: MIT */
/*
 * index_io.c - the index's side of the KNNI section (knni.c parses it):
 * the payload the writer emits for an ae_index, and the loaders
 * ae_file_load_index() and ae_index_load().
 */
#include <string.h>

#include "analysis/index.h"
#include "io.h"

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
