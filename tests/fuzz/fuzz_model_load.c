/* SPDX-License-Identifier: MIT */
/*
 * fuzz_model_load.c - libFuzzer target for the model file reader.
 *
 * Each input is opened twice: as any program would (every CRC checked),
 * and with the CRC checks off, so that mutated inputs, which almost never
 * keep valid CRCs, reach the structural checks behind them. Whatever opens
 * is inspected and loaded completely (model, encoder, decoder, optimizer,
 * PCA, detector, index), a loaded model runs one inference and a loaded
 * index one search. Nothing may crash, hang, leak or read out of bounds.
 *
 * Built two ways:
 *   make fuzz     clang -fsanitize=fuzzer,address,undefined (tests/fuzz/README.md)
 *   make check    gcc with tests/fuzz/standalone.c, replaying tests/fuzz/corpus
 *
 * The library is told to refuse blocks over 64 MiB and to keep at most
 * 256 MiB live, through the public allocator hook: a layer's config can ask
 * for more memory than the file holds before the loader compares the
 * created tensors with the stored ones (docs/format.md, section 6), and
 * that is how an application bounds it for untrusted files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capped.h"
#include "golden/golden_v1.h"
#include "io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    capped_install();
    if (golden_register() != AE_OK)
        abort();
}

static void exercise(ae_file *f)
{
    ae_file_info info = AE_FILE_INFO_INIT;
    if (ae_file_get_info(f, &info) != AE_OK)
        abort();
    for (size_t i = 0; i < info.encoder_layers + info.decoder_layers; i++) {
        ae_file_layer l = AE_FILE_LAYER_INIT;
        if (ae_file_get_layer(f, i, &l) != AE_OK || l.type_name == NULL)
            abort();
    }
    for (size_t i = 0; i < info.tensors; i++) {
        ae_file_tensor t = AE_FILE_TENSOR_INIT;
        if (ae_file_get_tensor(f, i, &t) != AE_OK || t.offset % 64 != 0)
            abort();
    }
    for (size_t i = 0; i < info.sections; i++) {
        ae_file_section s = AE_FILE_SECTION_INIT;
        if (ae_file_get_section(f, i, &s) != AE_OK)
            abort();
    }
    for (size_t i = 0; i < ae_file_metadata_count(f); i++) {
        const char *k, *v;
        if (ae_file_metadata_at(f, i, &k, &v) != AE_OK || ae_file_metadata_get(f, k, &v) != AE_OK)
            abort();
    }
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    (void)ae_file_get_training(f, &to);

    ae_model *m = NULL;
    ae_optimizer *opt = NULL;
    if (ae_file_load_model(&m, f) == AE_OK) {
        (void)ae_file_load_optimizer(&opt, f, m);
        ae_encoder *enc = ae_model_encoder(m);
        size_t in = 1;
        ae_shape s;
        if (ae_encoder_input_shape(enc, &s) == AE_OK)
            for (uint32_t i = 0; i < s.rank; i++)
                in *= s.dims[i];
        if (in <= 4096) {
            float *x = calloc(in, sizeof *x), *y = calloc(in, sizeof *y);
            if (x != NULL && y != NULL)
                (void)ae_model_reconstruct(m, x, 1, y);
            free(x);
            free(y);
        }
    }
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    ae_encoder *e = NULL;
    ae_decoder *d = NULL;
    if (ae_file_load_encoder(&e, f) == AE_OK)
        ae_encoder_destroy(e);
    if (ae_file_load_decoder(&d, f) == AE_OK)
        ae_decoder_destroy(d);
    ae_pca *pca = NULL;
    if (ae_file_load_pca(&pca, f) == AE_OK)
        ae_pca_destroy(pca);
    ae_detector *det = NULL;
    if (ae_file_load_detector(&det, f) == AE_OK)
        ae_detector_destroy(det);
    ae_index *idx = NULL;
    if (ae_file_load_index(&idx, f) == AE_OK) {
        /* one query of zeros, at most 3 neighbours */
        size_t dim = ae_index_dim(idx), k = ae_index_count(idx) < 3 ? ae_index_count(idx) : 3;
        float *q = calloc(dim, sizeof *q);
        size_t nn[3];
        float dist[3];
        if (q != NULL)
            (void)ae_index_search(idx, q, 1, k, nn, dist);
        free(q);
        ae_index_destroy(idx);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    for (int pass = 0; pass < 2; pass++) {
        ae_file *f = NULL;
        int rc = pass == 0 ? ae_file_open_memory(&f, data, size, NULL)
                           : ae__file_open_unchecked(&f, data, size);
        if (rc == AE_OK) {
            exercise(f);
            ae_file_close(f);
        } else if (rc > 0 || rc < AE_ERR_EXISTS || ae_last_error()[0] == '\0') {
            abort(); /* every failure has a known code and a message */
        }
    }
    if (ae_live_allocations() != 1) /* the golden kind's registration */
        abort();
    return 0;
}
