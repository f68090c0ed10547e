/* SPDX-License-Identifier: MIT */
/*
 * idx.c - the IDX reader (the MNIST file format), plain or gzip.
 *
 * An IDX file is a big-endian header, 0x00 0x00, an element type byte
 * (0x08 = unsigned byte, the only type read here), a rank byte, then rank
 * u32 dimensions, followed by exactly the product of the dimensions in
 * elements. zlib's gzread reads gzip and plain files alike, so the format is
 * found from the content, not the name.
 *
 * Every file is hostile until proven otherwise: each dimension and product
 * is overflow-checked before anything is allocated, and no allocation is
 * larger than the data that actually arrived warrants. For a plain regular
 * file the declared size is compared with the file size up front and the
 * output is allocated once. For gzip (or a pipe) the size is unknown until
 * the end, so the output starts at what the file plausibly holds (16 times
 * its compressed size, at least 2^20 elements) and doubles as data arrives,
 * capped at the declared size: a tiny file declaring terabytes costs little,
 * and a typical gzip IDX file is still read with a single allocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/core.h"
#include "data/dataset.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAX_RANK 4             /* N plus up to three sample dims */
#define IDX_FIRST_CAPACITY (1u << 20) /* elements, when the size is unknown */
#define IDX_GZIP_RATIO 16          /* a plausible bound on IDX compression */
#define IDX_CHUNK 16384

typedef struct idx_file {
    gzFile gz;
    const char *path;
    int size_known;        /* plain regular file: file_size is exact */
    uint64_t file_size;    /* of a regular file (compressed or not), else 0 */
    unsigned rank;
    uint32_t dims[IDX_MAX_RANK];
    size_t items;          /* dims[0] */
    size_t item_size;      /* product of the other dims (1 for rank 1) */
    size_t data_bytes;     /* items * item_size */
} idx_file;

static const char *type_name(unsigned type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown type";
    }
}

static int io_error(const char *what, const char *path, int err)
{
    char buf[AE__ERRNO_MAX];
    return ae__error(AE_ERR_IO, "idx: cannot %s %s: %s", what, path, ae__errno_text(err, buf));
}

static int idx_open(idx_file *f, const char *path)
{
    struct stat st;
    memset(f, 0, sizeof *f);
    f->path = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error("open", path, errno);
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return io_error("stat", path, err);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return ae__error(AE_ERR_IO, "idx: %s is a directory", path);
    }
    f->gz = gzdopen(fd, "rb");
    if (f->gz == NULL) {
        close(fd);
        return ae__error(AE_ERR_NOMEM, "idx: out of memory opening %s", path);
    }
    gzbuffer(f->gz, 1u << 17);
    if (S_ISREG(st.st_mode)) {
        f->size_known = 1; /* until gzdirect() says it is compressed */
        f->file_size = (uint64_t)st.st_size;
    }
    return AE_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz != NULL)
        gzclose(f->gz);
    f->gz = NULL;
}

/* Turns a failed or short gzread into a status. @p got of @p want bytes of
 * the @p part ("header" or "data") arrived. */
static int read_failure(idx_file *f, const char *part, size_t got, size_t want)
{
    int errnum = Z_OK;
    const char *msg = gzerror(f->gz, &errnum);
    switch (errnum) {
    case Z_OK:
    case Z_STREAM_END:
    case Z_BUF_ERROR: /* "unexpected end of file": a cut gzip stream */
        if (got == want)
            return ae__error(AE_ERR_FORMAT, "idx: %s: the gzip stream is cut short after the"
                             " %zu %s bytes", f->path, want, part);
        return ae__error(AE_ERR_FORMAT, "idx: %s: file ends after %zu of %zu %s bytes", f->path,
                         got, want, part);
    case Z_ERRNO:
        return io_error("read", f->path, errno);
    case Z_MEM_ERROR:
        return ae__error(AE_ERR_NOMEM, "idx: out of memory decompressing %s", f->path);
    default:
        return ae__error(AE_ERR_FORMAT, "idx: %s: corrupt gzip data (%s)", f->path,
                         msg != NULL ? msg : "?");
    }
}

/* Reads up to @p want bytes; *got tells how many arrived (short = EOF/error). */
static int read_some(idx_file *f, unsigned char *buf, size_t want, size_t *got)
{
    *got = 0;
    while (*got < want) {
        int n = gzread(f->gz, buf + *got, (unsigned)(want - *got));
        if (n <= 0)
            return n;
        *got += (size_t)n;
    }
    return 1;
}

/*
 * Reads and checks the header. Ranks outside [min_rank, max_rank] are
 * refused; dimensions must be non-zero, the item count at most
 * AE_DATASET_MAX_COUNT, and every product must fit (as floats) in size_t.
 */
static int idx_header(idx_file *f, const char *role, unsigned min_rank, unsigned max_rank)
{
    unsigned char head[4 + 4 * IDX_MAX_RANK];
    size_t got;
    if (read_some(f, head, 4, &got) < 0 || got < 4)
        return read_failure(f, "header", got, 4);
    if (head[0] != 0 || head[1] != 0)
        return ae__error(AE_ERR_FORMAT,
                         "idx: %s: bad magic %02x %02x %02x %02x, not an IDX file (%s)", f->path,
                         head[0], head[1], head[2], head[3], role);
    if (head[2] != IDX_TYPE_UBYTE)
        return ae__error(AE_ERR_UNSUPPORTED,
                         "idx: %s: element type 0x%02x (%s) is not supported, only 0x08"
                         " (unsigned byte)",
                         f->path, head[2], type_name(head[2]));
    f->rank = head[3];
    if (f->rank < min_rank || f->rank > max_rank) {
        if (min_rank == max_rank)
            return ae__error(AE_ERR_FORMAT, "idx: %s: %s file has rank %u, expected %u",
                             f->path, role, f->rank, min_rank);
        return ae__error(f->rank < min_rank ? AE_ERR_FORMAT : AE_ERR_UNSUPPORTED,
                         "idx: %s: %s file has rank %u, expected %u to %u", f->path, role,
                         f->rank, min_rank, max_rank);
    }
    size_t dims_bytes = 4 * (size_t)f->rank;
    if (read_some(f, head + 4, dims_bytes, &got) < 0 || got < dims_bytes)
        return read_failure(f, "header", 4 + got, 4 + dims_bytes);

    f->item_size = 1;
    for (unsigned i = 0; i < f->rank; i++) {
        const unsigned char *p = head + 4 + 4 * i;
        f->dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (f->dims[i] == 0)
            return ae__error(AE_ERR_FORMAT, "idx: %s: dimension %u of the %s file is 0",
                             f->path, i, role);
        if (i > 0 && !ae__mul_size(f->item_size, f->dims[i], &f->item_size))
            return ae__error(AE_ERR_LIMIT, "idx: %s: the %s file's item size overflows",
                             f->path, role);
    }
    if (f->item_size > (size_t)INT32_MAX)
        return ae__error(AE_ERR_LIMIT, "idx: %s: items of %zu elements, at most 2^31-1 allowed",
                         f->path, f->item_size);
    f->items = f->dims[0];
    if (f->items > AE_DATASET_MAX_COUNT)
        return ae__error(AE_ERR_LIMIT, "idx: %s: %zu items, at most %u allowed", f->path,
                         f->items, AE_DATASET_MAX_COUNT);
    size_t floats_bytes;
    if (!ae__mul_size(f->items, f->item_size, &f->data_bytes) ||
        !ae__mul_size(f->data_bytes, sizeof(float), &floats_bytes))
        return ae__error(AE_ERR_LIMIT, "idx: %s: %zu items of %zu bytes overflow the address space",
                         f->path, f->items, f->item_size);

    if (gzdirect(f->gz) && f->size_known) {
        uint64_t header = 4 + dims_bytes, declared = header + (uint64_t)f->data_bytes;
        if (f->file_size < declared)
            return ae__error(AE_ERR_FORMAT, "idx: %s: file ends after %ju of %zu data bytes",
                             f->path,
                             (uintmax_t)(f->file_size > header ? f->file_size - header : 0),
                             f->data_bytes);
        if (f->file_size > declared)
            return ae__error(AE_ERR_FORMAT,
                             "idx: %s: %ju unexpected bytes after the %zu declared data bytes",
                             f->path, (uintmax_t)(f->file_size - declared), f->data_bytes);
    } else {
        f->size_known = 0;
    }
    return AE_OK;
}

/* Moves a chunk of bytes into the output as floats or as int32 labels. */
static void convert(void *out, size_t at, const unsigned char *src, size_t n, int labels,
                    int scale)
{
    if (labels) {
        int32_t *d = (int32_t *)out + at;
        for (size_t i = 0; i < n; i++)
            d[i] = src[i];
    } else if (scale) {
        float *d = (float *)out + at;
        for (size_t i = 0; i < n; i++)
            d[i] = (float)src[i] / 255.0f;
    } else {
        float *d = (float *)out + at;
        for (size_t i = 0; i < n; i++)
            d[i] = (float)src[i];
    }
}

/*
 * Reads the data_bytes elements after the header into a new ae__alloc
 * array of floats (or int32 labels), then makes sure nothing follows.
 */
static int idx_data(idx_file *f, int labels, int scale, void **out)
{
    const size_t elem = labels ? sizeof(int32_t) : sizeof(float);
    const size_t want = f->data_bytes;
    size_t cap = want;
    if (!f->size_known) {
        uint64_t guess = f->file_size > UINT64_MAX / IDX_GZIP_RATIO
                             ? UINT64_MAX
                             : f->file_size * IDX_GZIP_RATIO;
        if (guess < IDX_FIRST_CAPACITY)
            guess = IDX_FIRST_CAPACITY;
        if (guess < want)
            cap = (size_t)guess;
    }
    size_t got = 0;
    unsigned char chunk[IDX_CHUNK];
    int rc;
    void *buf = ae__alloc(cap * elem); /* want * elem cannot overflow: checked */
    if (buf == NULL)
        return AE_ERR_NOMEM;

    while (got < want) {
        size_t ask = want - got < sizeof chunk ? want - got : sizeof chunk;
        int n = gzread(f->gz, chunk, (unsigned)ask);
        if (n <= 0) {
            rc = read_failure(f, "data", got, want);
            goto fail;
        }
        if (got + (size_t)n > cap) {
            size_t grown = cap > want / 2 ? want : 2 * cap;
            if (grown < got + (size_t)n)
                grown = got + (size_t)n;
            void *bigger = ae__alloc(grown * elem);
            if (bigger == NULL) {
                rc = AE_ERR_NOMEM;
                goto fail;
            }
            memcpy(bigger, buf, got * elem);
            ae__free(buf);
            buf = bigger;
            cap = grown;
        }
        convert(buf, got, chunk, (size_t)n, labels, scale);
        got += (size_t)n;
    }

    int n = gzread(f->gz, chunk, sizeof chunk);
    if (n > 0) {
        rc = ae__error(AE_ERR_FORMAT,
                       "idx: %s: unexpected bytes (%d or more) after the %zu declared data bytes",
                       f->path, n, want);
        goto fail;
    }
    int errnum = Z_OK;
    if (n < 0 || (gzerror(f->gz, &errnum), errnum != Z_OK)) {
        /* A wrong checksum, or a cut, in the gzip trailer. */
        rc = read_failure(f, "data", got, want);
        goto fail;
    }
    *out = buf;
    return AE_OK;

fail:
    ae__free(buf);
    return rc;
}

int ae_dataset_load_idx_v(ae_dataset **out, const char *images_path, const char *labels_path,
                          unsigned flags, unsigned header_version)
{
    idx_file img = {0}, lab = {0};
    void *data = NULL, *labels = NULL;
    int rc = ae__check_header(header_version, "ae_dataset_load_idx");
    if (rc < 0)
        return rc;
    if (out == NULL || images_path == NULL)
        return ae__error(AE_ERR_INVALID, "ae_dataset_load_idx: %s is NULL",
                         out == NULL ? "out" : "images_path");
    if (flags & ~(unsigned)AE_IDX_NO_SCALE)
        return ae__error(AE_ERR_INVALID, "ae_dataset_load_idx: unknown flags 0x%x", flags);

    /* Both headers first, so a mismatch fails before the big read. */
    if ((rc = idx_open(&img, images_path)) < 0 ||
        (rc = idx_header(&img, "images", 2, IDX_MAX_RANK)) < 0)
        goto fail;
    ae_shape shape = {0, {0, 0, 0, 0}};
    if (img.rank == 2) {
        shape.rank = 1;
        shape.dims[0] = img.dims[1];
    } else if (img.rank == 3) {
        shape.rank = 3;
        shape.dims[0] = 1;
        shape.dims[1] = img.dims[1];
        shape.dims[2] = img.dims[2];
    } else {
        shape.rank = 3;
        shape.dims[0] = img.dims[1];
        shape.dims[1] = img.dims[2];
        shape.dims[2] = img.dims[3];
    }
    if ((rc = ae__shape_check(&shape, "idx")) < 0)
        goto fail;
    if (labels_path != NULL) {
        if ((rc = idx_open(&lab, labels_path)) < 0 ||
            (rc = idx_header(&lab, "labels", 1, 1)) < 0)
            goto fail;
        if (lab.items != img.items) {
            rc = ae__error(AE_ERR_FORMAT, "idx: images file has %zu items, labels file has %zu",
                           img.items, lab.items);
            goto fail;
        }
    }

    if ((rc = idx_data(&img, 0, !(flags & AE_IDX_NO_SCALE), &data)) < 0)
        goto fail;
    idx_close(&img);
    if (labels_path != NULL) {
        if ((rc = idx_data(&lab, 1, 0, &labels)) < 0)
            goto fail;
        idx_close(&lab);
    }
    if ((rc = ae__dataset_adopt(out, data, labels, img.items, &shape)) < 0)
        goto fail;
    return AE_OK;

fail:
    idx_close(&img);
    idx_close(&lab);
    ae__free(data);
    ae__free(labels);
    return rc;
}
