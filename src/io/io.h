/* SPDX-License-Identifier: MIT */
/*
 * io.h - model files (docs/format.md): the byte-level constants, the
 * stream abstraction (sinks that writers emit into, sources that readers
 * drain), and the parsed, validated file behind the ae_file handle.
 *
 * Writing runs every section's emitter twice: once into a measuring sink
 * (payload size and CRC), then into the real sink after the section header
 * that needs them. Reading drains a source into memory (bounded by the
 * declared file size and a limit), then validates everything in place;
 * pointers in the parsed file point into that copy.
 */
#ifndef AE_IO_IO_H
#define AE_IO_IO_H

#include <stdio.h>
#include <string.h>

#include "ae/io.h"
#include "ae/scaler.h"
#include "ae/sys/layer.h"
#include "core/core.h"
#include "core/kernels.h"
#include "layers/layer.h" /* AE__LAYER_TENSORS_MAX, the tensor-view rules */

/* ---- format constants ---------------------------------------------------- */

#define AE__MAGIC "\x89" "AEM\r\n\x1a\n"
#define AE__MAGIC_SIZE 8
#define AE__BOM 0x1A2B3C4Du
#define AE__HEADER_SIZE 64u     /* what this library writes */
#define AE__HEADER_MAX 4096u
#define AE__SECTION_HEADER 64u
#define AE__ALIGN 64u
#define AE__SECTIONS_MAX 256u
#define AE__LAYERS_MAX 4096u
#define AE__TENSORS_MAX 65536u
#define AE__TENSOR_RECORD 128u
#define AE__TENSOR_NAME (AE__TENSOR_NAME_MAX + 1u) /* field size (layers/layer.h) */
#define AE__OPT_RECORD 32u
#define AE__HISTORY_MAX (1u << 24)
#define AE__NET_HEADER 56u
#define AE__SECTION_REQUIRED 1u

/* Section types, as the u32 of their four ASCII bytes read little-endian. */
#define AE__TYPE(a, b, c, d) \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define AE__SEC_INFO AE__TYPE('I', 'N', 'F', 'O')
#define AE__SEC_USER AE__TYPE('U', 'S', 'E', 'R')
#define AE__SEC_TRAN AE__TYPE('T', 'R', 'A', 'N')
#define AE__SEC_HIST AE__TYPE('H', 'I', 'S', 'T')
#define AE__SEC_ENCR AE__TYPE('E', 'N', 'C', 'R')
#define AE__SEC_DECR AE__TYPE('D', 'E', 'C', 'R')
#define AE__SEC_XTRA AE__TYPE('X', 'T', 'R', 'A')
#define AE__SEC_TENS AE__TYPE('T', 'E', 'N', 'S')
#define AE__SEC_DATA AE__TYPE('D', 'A', 'T', 'A')
#define AE__SEC_OPTM AE__TYPE('O', 'P', 'T', 'M')
#define AE__SEC_PCAS AE__TYPE('P', 'C', 'A', 'S')
#define AE__SEC_DETC AE__TYPE('D', 'E', 'T', 'C')
#define AE__SEC_KNNI AE__TYPE('K', 'N', 'N', 'I') /* format 1.1 */
#define AE__SEC_SCAL AE__TYPE('S', 'C', 'A', 'L') /* format 1.1 (src/io/scal.c) */

#define AE__INFO_SIZE 32u
#define AE__TRAN_SIZE 48u
#define AE__DETC_SIZE 48u
#define AE__OPTM_HEADER 64u
#define AE__PCAS_HEADER 64u
#define AE__KNNI_HEADER 64u
#define AE__SCAL_HEADER 64u

/* File offsets round up to 64 bytes (tensor data alignment). */
static inline uint64_t ae__align64(uint64_t n) { return ae__round_up(n, 64); }

/* The format's one finiteness rule (docs/format.md): a binary32 whose
 * exponent bits are all ones (NaN or infinity) is refused. The reader
 * applies it to the file's bytes, the writer to the values it is about to
 * write, so a writer never writes what the reader refuses. */
static inline int ae__f32_bits_finite(uint32_t bits) { return (bits & 0x7f800000u) != 0x7f800000u; }

/* Index of the first value breaking the rule among n little-endian
 * binary32 (the reader's view), or n when all are finite. */
static inline size_t ae__first_nonfinite_le(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!ae__f32_bits_finite(ae__rd32(p + 4 * i)))
            return i;
    return n;
}

/* The same over n floats in memory (the writer's view) is
 * ae__first_nonfinite() in core/kernels.h: the same rule, on the bits. */

/* CRC-32 (zlib's) of n bytes, continuing from crc; any size. */
uint32_t ae__crc32(uint32_t crc, const void *data, size_t n);

/* ---- sinks: where a writer's bytes go ----------------------------------- */

typedef struct ae__sink ae__sink;
struct ae__sink {
    int (*write)(ae__sink *s, const void *data, size_t size);
    uint64_t written;     /* bytes accepted so far */
    uint32_t crc;         /* measuring sink: CRC of everything written */
    unsigned char *buf;   /* memory sink: fixed buffer of cap bytes */
    size_t cap;
    FILE *fp;             /* file sink */
    ae_write_fn fn;       /* callback sink */
    void *user;
    const char *who;      /* for messages */
    const char *path;
};

/* Counts and CRCs the bytes, stores nothing. */
void ae__sink_measure(ae__sink *s);
/* Writes into buf (cap bytes; writing more is an error). */
void ae__sink_memory(ae__sink *s, unsigned char *buf, size_t cap, const char *who);
/* Hands the bytes to a user callback. */
void ae__sink_callback(ae__sink *s, ae_write_fn fn, void *user, const char *who);

int ae__emit(ae__sink *s, const void *data, size_t size);
int ae__emit_zeros(ae__sink *s, size_t size);
int ae__emit_u32(ae__sink *s, uint32_t v);
int ae__emit_u64(ae__sink *s, uint64_t v);
int ae__emit_f32(ae__sink *s, float v);
int ae__emit_f64(ae__sink *s, double v);
/* n floats as little-endian binary32. */
int ae__emit_floats(ae__sink *s, const float *x, size_t n);
/* n doubles as little-endian binary64. */
int ae__emit_doubles(ae__sink *s, const double *x, size_t n);

/* A save to a path: a temporary file in the same folder (unnamed until
 * complete where O_TMPFILE works), renamed over the path by
 * ae__atomic_commit() after fflush + fsync (and the folder synced, best
 * effort); ae__atomic_abort() removes it. Opening first removes the
 * temporary files of dead processes (stream.c tells the scheme). Only a
 * regular file is replaced (keeping its permission bits), through
 * symbolic links; a device, FIFO, socket or folder at the path is refused
 * with AE_ERR_IO and left as it is. */
typedef struct ae__atomic {
    char *tmp;        /* temporary path (cap bytes) */
    size_t cap;
    const char *path; /* final path: the caller's, or real */
    char *real;       /* the file a symbolic link at the caller's path leads to */
    int mode;         /* permission bits of the file replaced; -1: a new file */
    FILE *fp;
    int dirfd;        /* the folder, opened before anything is written */
    int unnamed;      /* O_TMPFILE: no name until linked */
    int linked;       /* the unnamed file got the name tmp */
} ae__atomic;

int ae__atomic_open(ae__atomic *a, const char *path, ae__sink *sink, const char *who);
int ae__atomic_commit(ae__atomic *a, const char *who);
void ae__atomic_abort(ae__atomic *a);

/* ---- sources: where a reader's bytes come from -------------------------- */

/* Reads a whole model file into a new buffer: the header first, then up to
 * the declared file size (never more than max bytes, growing the buffer as
 * data arrives), then probes for one more byte. *len receives the bytes
 * read and *extra the bytes known to follow the declared end (for a
 * callback: 1 when at least one does). */
int ae__slurp_path(const char *path, uint64_t max, unsigned char **out, size_t *len,
                   uint64_t *extra, const char *who);
int ae__slurp_callback(ae_read_fn fn, void *user, uint64_t max, unsigned char **out,
                       size_t *len, uint64_t *extra, const char *who);

/* ---- the parsed file ----------------------------------------------------- */

typedef struct ae__io_section {
    char type[5];
    uint32_t type_code;
    uint32_t flags;
    uint64_t offset;      /* of the section header */
    uint64_t size;        /* payload bytes */
    uint32_t crc;
    int known;
    const unsigned char *payload;
} ae__io_section;

typedef struct ae__io_layer {
    char type_name[AE_LAYER_NAME_MAX + 1];
    uint32_t type_version;
    ae_shape in, out;
    const unsigned char *config; /* NULL when config_size is 0 */
    size_t config_size;
    size_t n_params, n_states;
    size_t first_tensor;         /* index of its first tensor in the table */
    const unsigned char *extra;  /* extra state, NULL when none */
    size_t extra_size;
} ae__io_layer;

typedef struct ae__io_net {
    int present;
    ae_shape input;
    uint64_t rng[4];
    size_t n_layers;
    ae__io_layer *layers;
    size_t first_tensor;         /* its first tensor in the table */
    size_t n_tensors;
} ae__io_net;

typedef struct ae__io_tensor {
    uint32_t net, layer, index, role;
    ae_shape shape;
    uint64_t count;
    uint64_t offset;             /* within the DATA payload */
    char name[AE__TENSOR_NAME];
    const unsigned char *data;   /* count little-endian floats */
    size_t opt_record;           /* its first OPTM record (parameters, when bound) */
} ae__io_tensor;

typedef struct ae__io_optrec {
    uint32_t tensor, buffer;
    uint64_t count, offset;
    const unsigned char *data;
} ae__io_optrec;

struct ae_file {
    unsigned char *bytes;        /* the whole file, owned */
    size_t size;
    uint32_t major, minor, writer_version;
    int kind;

    size_t n_sections;
    ae__io_section *sections;

    ae__io_net nets[2];          /* encoder, decoder */
    size_t n_tensors;
    ae__io_tensor *tensors;
    uint64_t param_floats, state_floats;

    size_t n_meta;
    const char **meta_keys, **meta_values; /* into meta_text */
    char *meta_text;

    int has_training;
    uint32_t epochs, batch_size, loss, shuffle, noise;
    uint64_t seed;
    float noise_amount;

    size_t history_len;
    const unsigned char *history; /* pairs of f64 */

    int has_optimizer;
    ae_optimizer_options opt;
    uint64_t opt_steps;
    uint32_t opt_buffers, opt_bound;
    size_t n_optrecs;
    ae__io_optrec *optrecs;

    int has_pca;
    uint32_t pca_features, pca_components, pca_solver;
    double pca_total;
    const unsigned char *pca_mean, *pca_comp, *pca_var;

    int has_detector;
    ae_detector_options det;
    double det_threshold;
    int det_fitted;
};

/* The SCAL section (src/io/scal.c): validating a file's section (f's
 * networks are parsed already; the loaders find it again among
 * f->sections, so struct ae_file keeps its layout) and emitting a model's
 * scaler. */
int ae__scal_parse(const ae_file *f, const ae__io_section *s, const char *who);
int ae__scal_emit(ae__sink *sink, const ae_scaler *sc);
/* Attaches the file's scaler (if any) to a model loaded from it. */
int ae__scal_attach(ae_model *model, const ae_file *f);

/* Validates @p len bytes (ownership of @p bytes passes to the file, also on
 * failure); @p extra bytes are known to follow them in the source. */
int ae__file_parse(unsigned char *bytes, size_t len, uint64_t extra, int check_crc,
                   ae_file **out, const char *who);

/* The KNNI section (src/io/knni.c): validates its payload; finds the
 * validated section of a parsed file (NULL when it has none); writes the
 * payload of idx. struct ae_file keeps nothing of it: its layout is in the
 * 1.0 ABI baseline's debug information, so it does not grow. */
int ae__knni_parse(const ae__io_section *s, const char *who);
const ae__io_section *ae__knni_find(const ae_file *f);
int ae__knni_emit(ae__sink *s, const ae_index *idx);

/* The fuzz target parses with CRC checks off to reach the deeper checks
 * (a mutated file rarely keeps valid CRCs); the library never does. */
int ae__file_open_unchecked(ae_file **out, const void *data, size_t size);


/* ---- loaders (load.c, load_model.c, load_analysis.c) --------------------- */

/* n little-endian float32 values into dst. */
static inline void ae__copy_f32le(float *dst, const unsigned char *src, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, n * sizeof *dst);
#else
    for (size_t i = 0; i < n; i++)
        dst[i] = ae__rdf32(src + 4 * i);
#endif
}

/* "a model", "an encoder alone", ... for messages. */
const char *ae__file_kind_text(int kind);
/* Builds network `which` (0 encoder, 1 decoder) of f into a new handle of
 * `size` bytes whose first member is its ae__net. */
int ae__load_net(const ae_file *f, int which, void **out, size_t size, const char *who);

/* The body of a path shortcut (ae_model_load() ...): opens path, loads with
 * fn(&obj, file), closes. Needs out, path and header_version in scope. */
#define AE__LOAD_SHORTCUT(type, fn, who)                                          \
    do {                                                                 \
        ae_file *f;                                                      \
        type *obj;                                                       \
        int rc = ae__check_header(header_version, who);                  \
        if (rc < 0)                                                      \
            return rc;                                                   \
        if (out == NULL || path == NULL)                                 \
            return AE__NULL_ARG(who, out, path);                         \
        if ((rc = ae_file_open_v(&f, path, NULL, header_version)) < 0)   \
            return rc;                                                   \
        rc = fn(&obj, f);                                                \
        ae_file_close(f);                                                \
        if (rc == AE_OK)                                                 \
            *out = obj;                                                  \
        return rc;                                                       \
    } while (0)

#endif
