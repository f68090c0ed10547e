/* SPDX-License-Identifier: MIT */
/*
 * fuzz_data_load.c - libFuzzer target for the dataset loaders: IDX (plain
 * and gzip, images alone or with labels, with and without a byte limit)
 * and CSV (every option).
 *
 * The loaders read paths, so each input is written to memory-backed files
 * (memfd_create) and loaded through /proc/self/fd/N. The first byte picks
 * the loader and how the rest is used:
 *
 *   bits 0-1  0: IDX images; 1: IDX images + labels (bytes 1-2, little
 *             endian, split the rest into the two files); 2: CSV with
 *             options from byte 1 (bit 0 header, bits 1-3 label column:
 *             0 none, 1 last, k >= 2 column k - 2, bits 4-5 the
 *             delimiter , ; TAB |, bit 6 max_bytes 256); 3: IDX images with max_bytes from
 *             bytes 1-4 (little endian)
 *   bit 2     gzip the file(s) in the target first (IDX): mutations then
 *             reach the IDX structure behind a valid gzip stream; without
 *             it the bytes are the file, gzip or not
 *
 * A dataset that loads is read whole (every sample and label). Nothing may
 * crash, hang, leak, read out of bounds or fail without a known code and a
 * message. Like fuzz_model_load.c, the library gets a capped allocator (64
 * MiB per block, 256 MiB live) through the public hook.
 *
 * Built two ways:
 *   make fuzz     clang -fsanitize=fuzzer,address,undefined (tests/fuzz/README.md)
 *   make check    gcc with tests/fuzz/standalone.c, replaying tests/fuzz/data_corpus
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "ae.h"
#include "capped.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fds[2] = {-1, -1};
static char paths[2][64];

static void setup(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    capped_install();
    for (int i = 0; i < 2; i++) {
        fds[i] = memfd_create(i ? "labels" : "images", 0);
        if (fds[i] < 0)
            abort();
        snprintf(paths[i], sizeof paths[i], "/proc/self/fd/%d", fds[i]);
    }
}

/* gzip of n bytes into a malloc'd buffer; NULL on failure. */
static unsigned char *gzip(const uint8_t *p, size_t n, size_t *out_n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    size_t cap = deflateBound(&z, (uLong)n);
    unsigned char *buf = malloc(cap ? cap : 1);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int ok = buf != NULL && deflate(&z, Z_FINISH) == Z_STREAM_END;
    *out_n = cap - z.avail_out;
    deflateEnd(&z);
    if (!ok) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* File i holds the n bytes at p (gzip-compressed when gz). */
static int put(int i, const uint8_t *p, size_t n, int gz)
{
    unsigned char *z = NULL;
    if (gz) {
        if ((z = gzip(p, n, &n)) == NULL)
            return -1;
        p = z;
    }
    int ok = ftruncate(fds[i], 0) == 0 && (n == 0 || pwrite(fds[i], p, n, 0) == (ssize_t)n);
    free(z);
    return ok ? 0 : -1;
}

static void use(ae_dataset *ds)
{
    size_t n = ae_dataset_count(ds), size = ae_dataset_sample_size(ds);
    float sum = 0.0f;
    for (size_t i = 0; i < n; i++) {
        const float *x = ae_dataset_sample(ds, i);
        if (x == NULL)
            abort();
        for (size_t j = 0; j < size; j++)
            sum += x[j];
        int32_t label;
        if (ae_dataset_has_labels(ds) && ae_dataset_label(ds, i, &label) != AE_OK)
            abort();
    }
    if (sum != sum) /* the loaders refuse NaN; IDX values are bytes */
        abort();
    ae_dataset_destroy(ds);
}

/* (The dataset is passed by address: it is read after the load filled it.) */
static void check(int rc, ae_dataset *const *dsp)
{
    ae_dataset *ds = *dsp;
    if (rc == AE_OK)
        use(ds);
    else if (rc > 0 || rc < AE_ERR_EXISTS || ae_last_error()[0] == '\0')
        abort(); /* every failure has a known code and a message */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size < 1)
        return 0;
    const int mode = data[0] & 3, gz = (data[0] >> 2) & 1;
    ae_dataset *ds = NULL;
    int rc;
    if (mode == 0) {
        if (put(0, data + 1, size - 1, gz) == 0)
            check(ae_dataset_load_idx(&ds, paths[0], NULL, AE_IDX_SCALE), &ds);
    } else if (mode == 1 && size >= 3) {
        size_t rest = size - 3, split = (size_t)(data[1] | data[2] << 8);
        split = rest ? split % (rest + 1) : 0;
        if (put(0, data + 3, split, gz) == 0 && put(1, data + 3 + split, rest - split, gz) == 0)
            check(ae_dataset_load_idx(&ds, paths[0], paths[1], AE_IDX_NO_SCALE), &ds);
    } else if (mode == 2 && size >= 2) {
        static const char delims[4] = {',', ';', '\t', '|'};
        ae_csv_options o = AE_CSV_OPTIONS_INIT;
        int label = (data[1] >> 1) & 7;
        o.header = data[1] & 1;
        o.label_column = label == 0 ? AE_CSV_NO_LABEL : label == 1 ? AE_CSV_LAST_COLUMN
                                                                   : label - 2;
        o.delimiter = delims[(data[1] >> 4) & 3];
        o.max_bytes = data[1] & 0x40 ? 256 : 0;
        if (put(0, data + 2, size - 2, 0) == 0) {
            rc = ae_dataset_load_csv(&ds, paths[0], &o);
            if (rc == AE_ERR_INVALID && strstr(ae_last_error(), "line") == NULL)
                abort(); /* the options above are all valid */
            if (rc == AE_OK && o.max_bytes != 0 &&
                (uint64_t)ae_dataset_count(ds) * ae_dataset_sample_size(ds) * sizeof(float) >
                    o.max_bytes)
                abort(); /* the limit held */
            check(rc, &ds);
        }
    } else if (mode == 3 && size >= 5) {
        ae_idx_options o = AE_IDX_OPTIONS_INIT;
        o.max_bytes = (uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16 |
                      (uint64_t)data[4] << 24;
        if (put(0, data + 5, size - 5, gz) == 0) {
            rc = ae_dataset_load_idx_opts(&ds, paths[0], NULL, &o);
            if (rc == AE_OK && o.max_bytes != 0 &&
                (uint64_t)ae_dataset_count(ds) * ae_dataset_sample_size(ds) * sizeof(float) >
                    o.max_bytes)
                abort(); /* the limit held */
            check(rc, &ds);
        }
    }
    if (ae_live_allocations() != 0)
        abort();
    return 0;
}
