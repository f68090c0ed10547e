/* SPDX-License-Identifier: MIT */
/*
 * idx.c - the IDX reader (the MNIST file format), plain or gzip.
 *
 * An IDX file is a big-endian header, 0x00 0x00, an element type byte
 * (0x08 = unsigned byte, the only type read here), a rank byte, then rank
 * u32 dimensions, followed by exactly the product of the dimensions in
 * elements. A file starting with gzip's magic (1f 8b) is inflated with
 * zlib's inflate(), member after member as gzip allows; the format is found
 * from the content, not the name.
 *
 * One rule for plain and gzip files: the data hold exactly what the header
 * declares; anything after it (more elements, or bytes after the end of
 * the gzip stream that are not another gzip member) is refused.
 *
 * Every file is hostile until proven otherwise: each dimension and product
 * is overflow-checked before anything is allocated, and no allocation is
 * larger than the input can hold. For a plain regular file the declared
 * size is compared with the file size up front. A gzip regular file whose
 * header declares at most 16 times the file's size (MNIST's ratio is about
 * 2) is read in one pass into an output allocated at its exact size. One
 * declaring more is inflated twice: once into a small buffer, to prove
 * that it holds exactly the declared data (length, CRC, nothing after),
 * then into the exact output. So a small file declaring (or inflating to)
 * far more than it holds costs an inflate and no memory. A pipe cannot be
 * read twice: its output starts at 2^20 elements and doubles as data
 * arrives, capped at the declared size.
 * A caller limit (ae_idx_options.max_bytes) bounds the dataset's bytes
 * before any data are read.
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
#define IDX_IN 65536               /* raw input buffer */
#define IDX_GZIP_RATIO 16          /* a plausible bound on IDX compression */
#define IDX_CHUNK 16384

typedef struct idx_file {
    int fd;
    int fd_open;
    const char *path;
    int regular;           /* a regular file: its size is known, it can be read twice */
    uint64_t file_size;    /* of a regular file (compressed or not), else 0 */
    int gzip;              /* the content starts with gzip's magic */
    unsigned char *in;     /* IDX_IN bytes of raw input; unread: [in_pos, in_len) */
    size_t in_pos, in_len;
    int in_end;            /* read() reported the end of the file */
    z_stream z;
    int z_ready;           /* inflateInit2() done */
    int member_end;        /* inflate() finished the current gzip member */
    int trailing;          /* bytes that are not a gzip member follow the stream */
    unsigned rank;
    uint32_t dims[IDX_MAX_RANK];
    size_t header_bytes;   /* 4 + 4 * rank */
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

/* Moves the unread bytes to the front and reads more after them. */
static int raw_fill(idx_file *f)
{
    if (f->in_pos > 0) {
        memmove(f->in, f->in + f->in_pos, f->in_len - f->in_pos);
        f->in_len -= f->in_pos;
        f->in_pos = 0;
    }
    while (!f->in_end && f->in_len < IDX_IN) {
        ssize_t n = read(f->fd, f->in + f->in_len, IDX_IN - f->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return io_error("read", f->path, errno);
        if (n == 0)
            f->in_end = 1;
        f->in_len += (size_t)n;
        if (n > 0)
            break;
    }
    return AE_OK;
}

static int gz_magic(const idx_file *f)
{
    return f->in_len - f->in_pos >= 2 && f->in[f->in_pos] == 0x1f && f->in[f->in_pos + 1] == 0x8b;
}

/* From the start of the file: the first raw bytes, gzip or not. */
static int idx_start(idx_file *f)
{
    f->in_pos = f->in_len = 0;
    f->in_end = 0;
    f->member_end = f->trailing = 0;
    int rc = raw_fill(f);
    if (rc == AE_OK && f->in_len < 2 && !f->in_end)
        rc = raw_fill(f);
    if (rc < 0)
        return rc;
    f->gzip = gz_magic(f);
    if (!f->gzip)
        return AE_OK;
    int zr = f->z_ready ? inflateReset(&f->z) : inflateInit2(&f->z, 16 + MAX_WBITS);
    if (zr == Z_MEM_ERROR)
        return ae__error(AE_ERR_NOMEM, "idx: out of memory opening %s", f->path);
    if (zr != Z_OK)
        return ae__error(AE_ERR_IO, "idx: %s: zlib refused to start (%d)", f->path, zr);
    f->z_ready = 1;
    return AE_OK;
}

static int idx_open(idx_file *f, const char *path)
{
    struct stat st;
    memset(f, 0, sizeof *f);
    f->path = path;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return io_error("open", path, errno);
    f->fd_open = 1;
    if (fstat(f->fd, &st) != 0)
        return io_error("stat", path, errno);
    if (S_ISDIR(st.st_mode))
        return ae__error(AE_ERR_IO, "idx: %s is a directory", path);
    if (S_ISREG(st.st_mode)) {
        f->regular = 1;
        f->file_size = (uint64_t)st.st_size;
    }
    if ((f->in = ae__alloc(IDX_IN)) == NULL)
        return AE_ERR_NOMEM;
    return idx_start(f);
}

/* Releases the file; the header fields stay readable. */
static void idx_close(idx_file *f)
{
    if (f->z_ready)
        inflateEnd(&f->z);
    if (f->fd_open)
        close(f->fd);
    ae__free(f->in);
    f->z_ready = f->fd_open = 0;
    f->in = NULL;
}

/* At the end of a gzip member: 1 when another member follows (inflate is
 * ready for it), 0 at the end of the file or before trailing bytes. */
static int next_member(idx_file *f, int *rc)
{
    if (f->in_len - f->in_pos < 2 && !f->in_end && (*rc = raw_fill(f)) < 0)
        return 0;
    if (f->in_pos == f->in_len)
        return 0;
    if (!gz_magic(f)) {
        f->trailing = 1;
        return 0;
    }
    inflateReset(&f->z);
    f->member_end = 0;
    return 1;
}

/* Reads up to @p want bytes of content; *got < want only at the end of the
 * data (or of the gzip stream, cut or not). */
static int idx_read(idx_file *f, unsigned char *buf, size_t want, size_t *got)
{
    int rc = AE_OK;
    *got = 0;
    while (*got < want) {
        if (f->in_pos == f->in_len && !f->in_end && (rc = raw_fill(f)) < 0)
            return rc;
        if (!f->gzip) {
            size_t k = f->in_len - f->in_pos;
            if (k == 0)
                break;
            k = k < want - *got ? k : want - *got;
            memcpy(buf + *got, f->in + f->in_pos, k);
            f->in_pos += k;
            *got += k;
            continue;
        }
        if (f->member_end) {
            if (!next_member(f, &rc))
                return rc;
            continue;
        }
        if (f->in_pos == f->in_len)
            break; /* cut inside a member */
        size_t out = want - *got < UINT32_MAX ? want - *got : UINT32_MAX;
        f->z.next_in = f->in + f->in_pos;
        f->z.avail_in = (uInt)(f->in_len - f->in_pos);
        f->z.next_out = buf + *got;
        f->z.avail_out = (uInt)out;
        int zr = inflate(&f->z, Z_NO_FLUSH);
        f->in_pos = f->in_len - f->z.avail_in;
        *got += out - f->z.avail_out;
        if (zr == Z_STREAM_END)
            f->member_end = 1;
        else if (zr == Z_MEM_ERROR)
            return ae__error(AE_ERR_NOMEM, "idx: out of memory decompressing %s", f->path);
        else if (zr != Z_OK && zr != Z_BUF_ERROR)
            return ae__error(AE_ERR_FORMAT, "idx: %s: corrupt gzip data (%s)", f->path,
                             f->z.msg != NULL ? f->z.msg : "?");
    }
    return AE_OK;
}

/* The status of a read that gave @p got of the @p want bytes of @p part. */
static int short_read(const idx_file *f, const char *part, size_t got, size_t want)
{
    if (got == want)
        return ae__error(AE_ERR_FORMAT, "idx: %s: the gzip stream is cut short after the %zu %s"
                         " bytes", f->path, want, part);
    return ae__error(AE_ERR_FORMAT, "idx: %s: file ends after %zu of %zu %s bytes", f->path, got,
                     want, part);
}

/* After the declared data: the rule for plain and gzip files alike is that
 * nothing follows (and a gzip stream must end, its CRC checked). */
static int idx_finish(idx_file *f)
{
    unsigned char extra[IDX_CHUNK];
    size_t n;
    int rc = idx_read(f, extra, sizeof extra, &n);
    if (rc < 0)
        return rc;
    if (n > 0)
        return ae__error(AE_ERR_FORMAT, "idx: %s: unexpected bytes (%zu or more) after the %zu"
                         " declared data bytes", f->path, n, f->data_bytes);
    if (f->gzip && !f->member_end && !f->trailing)
        return short_read(f, "data", f->data_bytes, f->data_bytes);
    if (f->trailing)
        return ae__error(AE_ERR_FORMAT, "idx: %s: unexpected bytes after the end of the gzip"
                         " stream, after the %zu declared data bytes", f->path, f->data_bytes);
    return AE_OK;
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
    int rc = idx_read(f, head, 4, &got);
    if (rc < 0)
        return rc;
    if (got < 4)
        return short_read(f, "header", got, 4);
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
    if ((rc = idx_read(f, head + 4, dims_bytes, &got)) < 0)
        return rc;
    if (got < dims_bytes)
        return short_read(f, "header", 4 + got, 4 + dims_bytes);
    f->header_bytes = 4 + dims_bytes;

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

    if (!f->gzip && f->regular) {
        uint64_t header = 4 + dims_bytes, declared = header + (uint64_t)f->data_bytes;
        if (f->file_size < declared)
            return ae__error(AE_ERR_FORMAT, "idx: %s: file ends after %ju of %zu data bytes",
                             f->path,
                             (uintmax_t)(f->file_size > header ? f->file_size - header : 0),
                             f->data_bytes);
        if (f->file_size > declared)
            return ae__error(AE_ERR_FORMAT,
                             "idx: %s: unexpected bytes (%ju) after the %zu declared data bytes",
                             f->path, (uintmax_t)(f->file_size - declared), f->data_bytes);
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

/* Proves that a regular gzip file holds exactly the declared data (by
 * inflating it into a small buffer), then goes back to its first element. */
static int idx_verify(idx_file *f)
{
    unsigned char chunk[IDX_CHUNK], head[4 + 4 * IDX_MAX_RANK];
    size_t total = 0, n;
    int rc;
    while (total < f->data_bytes) {
        size_t ask = f->data_bytes - total < sizeof chunk ? f->data_bytes - total : sizeof chunk;
        if ((rc = idx_read(f, chunk, ask, &n)) < 0)
            return rc;
        total += n;
        if (n < ask)
            return short_read(f, "data", total, f->data_bytes);
    }
    if ((rc = idx_finish(f)) < 0)
        return rc;
    if (lseek(f->fd, 0, SEEK_SET) != 0)
        return io_error("rewind", f->path, errno);
    if ((rc = idx_start(f)) < 0 || (rc = idx_read(f, head, f->header_bytes, &n)) < 0)
        return rc;
    if (n < f->header_bytes || !f->gzip)
        return ae__error(AE_ERR_IO, "idx: %s changed while it was read", f->path);
    return AE_OK;
}

/*
 * Reads the data_bytes elements after the header into a new ae__alloc
 * array of floats (or int32 labels), then makes sure nothing follows.
 */
static int idx_data(idx_file *f, int labels, int scale, void **out)
{
    const size_t elem = labels ? sizeof(int32_t) : sizeof(float);
    const size_t want = f->data_bytes;
    int rc;
    /* The exact size when the input can hold it: plain regular files were
     * measured; a regular gzip file declaring more than IDX_GZIP_RATIO
     * times its size is verified first (an inflate, no memory), one
     * declaring less is plausible and read in one pass (at most
     * IDX_GZIP_RATIO * 4 bytes reserved per byte of file); pipes grow. */
    size_t cap = want;
    if (f->gzip && f->regular && want / IDX_GZIP_RATIO >= f->file_size &&
        (rc = idx_verify(f)) < 0)
        return rc;
    if (!f->regular && cap > IDX_FIRST_CAPACITY)
        cap = IDX_FIRST_CAPACITY;
    size_t got = 0, n;
    unsigned char chunk[IDX_CHUNK];
    void *buf = ae__alloc(cap * elem); /* want * elem cannot overflow: checked */
    if (buf == NULL)
        return AE_ERR_NOMEM;

    while (got < want) {
        size_t ask = want - got < sizeof chunk ? want - got : sizeof chunk;
        if ((rc = idx_read(f, chunk, ask, &n)) < 0)
            goto fail;
        if (n == 0) {
            rc = short_read(f, "data", got, want);
            goto fail;
        }
        if (got + n > cap) {
            size_t grown = cap > want / 2 ? want : 2 * cap;
            if (grown < got + n)
                grown = got + n;
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
        convert(buf, got, chunk, n, labels, scale);
        got += n;
    }
    if ((rc = idx_finish(f)) < 0)
        goto fail;
    *out = buf;
    return AE_OK;

fail:
    ae__free(buf);
    return rc;
}

/* AE_ERR_LIMIT when the dataset would take more than max_bytes (0: none). */
static int check_budget(const idx_file *img, const idx_file *lab, uint64_t max_bytes)
{
    if (max_bytes == 0)
        return AE_OK;
    uint64_t need = (uint64_t)img->data_bytes * sizeof(float) +
                    (lab != NULL ? (uint64_t)lab->data_bytes * sizeof(int32_t) : 0);
    if (need > max_bytes)
        return ae__error(AE_ERR_LIMIT, "idx: %s: %zu items of %zu values take %ju bytes as floats"
                         "%s, the limit (max_bytes) is %ju", img->path, img->items, img->item_size,
                         (uintmax_t)need, lab != NULL ? " with their labels" : "",
                         (uintmax_t)max_bytes);
    return AE_OK;
}

static int load_idx(ae_dataset **out, const char *images_path, const char *labels_path,
                    unsigned flags, uint64_t max_bytes, const char *who)
{
    idx_file img = {0}, lab = {0};
    void *data = NULL, *labels = NULL;
    int rc;
    if (out == NULL || images_path == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who,
                         out == NULL ? "out" : "images_path");
    if (flags & ~(unsigned)AE_IDX_NO_SCALE)
        return ae__error(AE_ERR_INVALID, "%s: unknown flags 0x%x", who, flags);

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
    if ((rc = check_budget(&img, labels_path != NULL ? &lab : NULL, max_bytes)) < 0)
        goto fail;

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

int ae_dataset_load_idx_v(ae_dataset **out, const char *images_path, const char *labels_path,
                          unsigned flags, unsigned header_version)
{
    int rc = ae__check_header(header_version, "ae_dataset_load_idx");
    return rc < 0 ? rc : load_idx(out, images_path, labels_path, flags, 0, "ae_dataset_load_idx");
}

int ae_dataset_load_idx_opts_v(ae_dataset **out, const char *images_path,
                               const char *labels_path, const ae_idx_options *opts,
                               unsigned header_version)
{
    static const char who[] = "ae_dataset_load_idx_opts";
    ae_idx_options o = AE_IDX_OPTIONS_INIT;
    int rc = ae__check_header(header_version, who);
    if (rc < 0)
        return rc;
    if (opts != NULL &&
        (rc = ae__take_struct(&o, opts, AE__LAYOUT_END(ae_idx_options, max_bytes), sizeof o,
                              who)) < 0)
        return rc;
    return load_idx(out, images_path, labels_path, o.flags, o.max_bytes, who);
}
