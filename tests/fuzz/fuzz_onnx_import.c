/* SPDX-License-Identifier: MIT */
/*
 * fuzz_onnx_import.c - libFuzzer target for the ONNX importer
 * (src/onnx/parse.c, import.c, kinds.c).
 *
 * Each input is imported as a model, an encoder and a decoder, and its
 * detector metadata read; an imported model runs one inference when its
 * input and output are small, and is exported back to ONNX, which must
 * import again. Nothing may crash, hang, leak or read out of bounds, and
 * every failure must come with a pinned code and a message. The same
 * capped allocator as fuzz_model_load.c (64 MiB per block, 256 MiB live).
 *
 * Built two ways:
 *   make fuzz     clang -fsanitize=fuzzer,address,undefined (tests/fuzz/README.md)
 *   make check    gcc with tests/fuzz/standalone.c, replaying tests/fuzz/corpus_onnx
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ae.h>

#include "capped.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RUN_MAX 65536u

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    capped_install();
}

/* A failure must be a pinned code with a message. */
static void check_failure(int rc)
{
    if (rc == AE_OK)
        return;
    if (rc > 0 || rc < AE_ERR_EXISTS || ae_last_error()[0] == '\0')
        abort();
}

static size_t shape_size(const ae_shape *s)
{
    size_t n = 1;
    for (uint32_t i = 0; i < s->rank && i < AE_MAX_RANK; i++)
        n = n > RUN_MAX ? n : n * s->dims[i];
    return n;
}

static void exercise_model(ae_model *m)
{
    ae_shape in, out;
    if (ae_encoder_input_shape(ae_model_encoder(m), &in) != AE_OK ||
        ae_decoder_output_shape(ae_model_decoder(m), &out) != AE_OK)
        abort();
    size_t n = shape_size(&in), k = shape_size(&out);
    if (n <= RUN_MAX && k <= RUN_MAX) {
        float *x = calloc(n, sizeof *x), *y = calloc(k, sizeof *y);
        if (x != NULL && y != NULL)
            check_failure(ae_model_reconstruct(m, x, 1, y));
        free(x);
        free(y);
    }
    void *buf = NULL;
    size_t len = 0;
    int rc = ae_model_export_onnx_memory(m, &buf, &len, NULL);
    check_failure(rc);
    if (rc == AE_OK) {
        ae_model *again = NULL;
        rc = ae_model_import_onnx_memory(&again, buf, len, NULL);
        if (rc != AE_OK && rc != AE_ERR_NOMEM)
            abort(); /* what libae exports, libae imports */
        ae_model_destroy(again);
        ae_buffer_free(buf);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    ae_model *m = NULL;
    ae_encoder *e = NULL;
    ae_decoder *d = NULL;
    ae_detector *det = NULL;
    int rc = ae_model_import_onnx_memory(&m, data, size, NULL);
    check_failure(rc);
    if (rc == AE_OK)
        exercise_model(m);
    ae_model_destroy(m);
    check_failure(rc = ae_encoder_import_onnx_memory(&e, data, size, NULL));
    ae_encoder_destroy(e);
    check_failure(rc = ae_decoder_import_onnx_memory(&d, data, size, NULL));
    ae_decoder_destroy(d);
    check_failure(rc = ae_detector_import_onnx_memory(&det, data, size));
    ae_detector_destroy(det);
    if (live_bytes != 0)
        abort(); /* a leak */
    return 0;
}
