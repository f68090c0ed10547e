/* SPDX-License-Identifier: MIT */
/*
 * clone.c - deep copies of an encoder or a decoder: a round trip through
 * the model format in memory (the writer and the loader, which already
 * copy every layer kind, built-in or registered, with its tensors, extra
 * state and generator), then the trainability flags, which files do not
 * store.
 */
#include <stdio.h>
#include <string.h>

#include "ae/io.h"
#include "io.h"
#include "nn/nn.h"

/* Saves net @p which of @p src to memory and loads it into a new handle of
 * @p size bytes (struct ae_encoder or ae_decoder); copies the frozen flags. */
static int clone_net(void **out, const void *src, int which, size_t size, const char *who)
{
    void *buf = NULL;
    size_t bytes = 0;
    ae_file *f = NULL;
    int rc = which ? ae_decoder_save_memory(src, &buf, &bytes, NULL)
                   : ae_encoder_save_memory(src, &buf, &bytes, NULL);
    if (rc == AE_OK)
        rc = ae_file_open_memory_v(&f, buf, bytes, NULL, AE_VERSION_NUMBER);
    ae_buffer_free(buf);
    if (rc < 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", ae_last_error());
        return ae__error(rc, "%s: %s", who, detail);
    }
    void *copy = NULL;
    rc = ae__load_net(f, which, &copy, size, who);
    ae_file_close(f);
    if (rc < 0)
        return rc;
    const ae__net *from = src; /* the net is the handles' first member */
    ae__net *to = copy;
    for (size_t i = 0; i < to->n; i++)
        to->layers[i].frozen = from->layers[i].frozen;
    *out = copy;
    return AE_OK;
}

int ae_encoder_clone(ae_encoder **out, const ae_encoder *enc)
{
    if (out == NULL || enc == NULL)
        return ae__error(AE_ERR_INVALID, "ae_encoder_clone: %s is NULL",
                         out == NULL ? "out" : "enc");
    return clone_net((void **)out, enc, 0, sizeof **out, "ae_encoder_clone");
}

int ae_decoder_clone(ae_decoder **out, const ae_decoder *dec)
{
    if (out == NULL || dec == NULL)
        return ae__error(AE_ERR_INVALID, "ae_decoder_clone: %s is NULL",
                         out == NULL ? "out" : "dec");
    return clone_net((void **)out, dec, 1, sizeof **out, "ae_decoder_clone");
}
