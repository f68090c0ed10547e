/* SPDX-License-Identifier: MIT */
/*
 * stream.c - the byte streams under model files: CRC-32, the sinks a
 * writer emits into (measuring, memory, callback, atomic file) and the
 * readers that bring a file into memory (path, callback).
 */
#define _GNU_SOURCE /* O_TMPFILE, where the system has it */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io.h"

/* ---- CRC-32 ---------------------------------------------------------------- */

uint32_t ae__crc32(uint32_t crc, const void *data, size_t n)
{
    return (uint32_t)crc32_z(crc, (const Bytef *)data, n);
}

/* ---- sinks ------------------------------------------------------------------ */

static int measure_write(ae__sink *s, const void *data, size_t size)
{
    s->crc = ae__crc32(s->crc, data, size);
    return AE_OK;
}

static int memory_write(ae__sink *s, const void *data, size_t size)
{
    if (size > s->cap - s->written)
        return ae__error(AE_ERR_STATE, "%s: the file outgrew its measured size", s->who);
    memcpy(s->buf + s->written, data, size);
    return AE_OK;
}

static int callback_write(ae__sink *s, const void *data, size_t size)
{
    if (s->fn(s->user, data, size) != 0)
        return ae__error(AE_ERR_IO, "%s: the write callback failed after %llu bytes", s->who,
                         (unsigned long long)s->written);
    return AE_OK;
}

static int file_write(ae__sink *s, const void *data, size_t size)
{
    if (fwrite(data, 1, size, s->fp) != size)
        return ae__error(AE_ERR_IO, "%s: cannot write %s: %s", s->who, s->path, ae__errno_text(errno, (char[AE__ERRNO_MAX]){0}));
    return AE_OK;
}

static void sink_init(ae__sink *s, const char *who)
{
    memset(s, 0, sizeof *s);
    s->who = who;
}

void ae__sink_measure(ae__sink *s)
{
    sink_init(s, "measure");
    s->write = measure_write;
}

void ae__sink_memory(ae__sink *s, unsigned char *buf, size_t cap, const char *who)
{
    sink_init(s, who);
    s->write = memory_write;
    s->buf = buf;
    s->cap = cap;
}

void ae__sink_callback(ae__sink *s, ae_write_fn fn, void *user, const char *who)
{
    sink_init(s, who);
    s->write = callback_write;
    s->fn = fn;
    s->user = user;
}

int ae__emit(ae__sink *s, const void *data, size_t size)
{
    if (size == 0)
        return AE_OK;
    int rc = s->write(s, data, size);
    if (rc == AE_OK)
        s->written += size;
    return rc;
}

int ae__emit_zeros(ae__sink *s, size_t size)
{
    static const unsigned char zeros[256];
    while (size > 0) {
        size_t n = size < sizeof zeros ? size : sizeof zeros;
        int rc = ae__emit(s, zeros, n);
        if (rc < 0)
            return rc;
        size -= n;
    }
    return AE_OK;
}

int ae__emit_u32(ae__sink *s, uint32_t v)
{
    unsigned char b[4];
    ae__le32(b, v);
    return ae__emit(s, b, 4);
}

int ae__emit_u64(ae__sink *s, uint64_t v)
{
    unsigned char b[8];
    ae__le64(b, v);
    return ae__emit(s, b, 8);
}

int ae__emit_f32(ae__sink *s, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    return ae__emit_u32(s, u);
}

int ae__emit_f64(ae__sink *s, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return ae__emit_u64(s, u);
}

int ae__emit_floats(ae__sink *s, const float *x, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return ae__emit(s, x, n * sizeof *x);
#else
    unsigned char b[1024];
    while (n > 0) {
        size_t k = n < sizeof b / 4 ? n : sizeof b / 4;
        for (size_t i = 0; i < k; i++) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            ae__le32(b + 4 * i, u);
        }
        int rc = ae__emit(s, b, 4 * k);
        if (rc < 0)
            return rc;
        x += k;
        n -= k;
    }
    return AE_OK;
#endif
}

int ae__emit_doubles(ae__sink *s, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = ae__emit_f64(s, x[i]);
        if (rc < 0)
            return rc;
    }
    return AE_OK;
}

/* ---- atomic save to a path ---------------------------------------------------
 *
 * The new file is written next to the path (the same folder, so rename()
 * replaces atomically) and renamed over it. Every fallible step (names,
 * the folder's descriptor, writing, fsync, close) comes before the rename;
 * once the new file is in place the save reports success, and syncing the
 * folder (which makes the rename survive a power cut) is best effort.
 *
 * Where the system has O_TMPFILE (Linux >= 3.11, on file systems that
 * support it) and /proc/self/fd, the data go to an unnamed file that only
 * gets a name (NAME.tmp-PID-K, by linkat()) once it is complete and synced,
 * just before the rename: a process killed while writing leaves nothing.
 * Elsewhere the file is NAME.tmp-PID-K from the start, and a process killed
 * during a save leaves it behind. Either way every save first removes the
 * NAME.tmp-PID-K files of processes that no longer exist (kill(PID, 0)
 * fails with ESRCH); those of live processes, ours included, are kept.
 *
 * What the path names decides what is replaced: nothing (a new file) or a
 * regular file, whose permission bits the new file takes. A symbolic link
 * is followed: the file it leads to is replaced in its own folder and the
 * link stays. Anything else (a device such as /dev/null, a FIFO, a socket,
 * a folder) is refused before anything is written: renaming over it would
 * put a regular file in its place. */

/* "dir/name" -> "dir", "name" -> ".", "/name" -> "/". */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return ae__strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = ae__alloc(n + 1);
    if (d != NULL) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

/* Removes dir's "base.tmp-PID-K" entries whose PID is dead. Best effort:
 * a folder that cannot be listed, or an entry that cannot be removed, is
 * left as it is. */
static void remove_stale(const char *dir, const char *base)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    size_t bl = strlen(base);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, bl) != 0 || strncmp(n + bl, ".tmp-", 5) != 0)
            continue;
        char *end;
        errno = 0;
        long pid = strtol(n + bl + 5, &end, 10);
        if (errno != 0 || end == n + bl + 5 || *end != '-' || pid <= 0 || pid > INT32_MAX)
            continue;
        const char *k = end + 1;
        if (*k == '\0' || strspn(k, "0123456789") != strlen(k))
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        unlinkat(dirfd(d), n, 0);
    }
    closedir(d);
}

/* Sets a->tmp to the next "path.tmp-PID-K". */
static void next_name(ae__atomic *a, size_t cap)
{
    static atomic_uint counter;
    unsigned k = atomic_fetch_add(&counter, 1u);
    snprintf(a->tmp, cap, "%s.tmp-%ld-%u", a->path, (long)getpid(), k);
}

#define ERRNO_TEXT ae__errno_text(errno, (char[AE__ERRNO_MAX]){0})

static const char *file_kind(mode_t m)
{
    return S_ISDIR(m)   ? "a folder"
           : S_ISCHR(m) ? "a character device"
           : S_ISBLK(m) ? "a block device"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

/* Sets a->path to the file a save replaces (through symbolic links) and
 * a->mode to its permission bits (-1 when there is none yet); refuses what
 * is not a regular file. */
static int save_target(ae__atomic *a, const char *path, const char *who)
{
    struct stat st;
    a->path = path;
    a->mode = -1;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return AE_OK;
        return ae__error(AE_ERR_IO, "%s: cannot look at %s: %s", who, path, ERRNO_TEXT);
    }
    if (S_ISLNK(st.st_mode)) {
        a->real = ae__alloc(PATH_MAX);
        if (a->real == NULL)
            return AE_ERR_NOMEM;
        if (realpath(path, a->real) == NULL)
            return ae__error(AE_ERR_IO, "%s: %s is a symbolic link that leads to no file "
                             "(%s): saves follow links to the file they replace", who, path,
                             ERRNO_TEXT);
        a->path = a->real;
        if (stat(a->real, &st) != 0)
            return ae__error(AE_ERR_IO, "%s: cannot look at %s: %s", who, a->real, ERRNO_TEXT);
    }
    if (!S_ISREG(st.st_mode))
        return ae__error(AE_ERR_IO, "%s: %s is %s: a save replaces a regular file only (it "
                         "renames a new file over it); nothing was written", who, a->path,
                         file_kind(st.st_mode));
    a->mode = (int)(st.st_mode & 07777);
    return AE_OK;
}

int ae__atomic_open(ae__atomic *a, const char *path, ae__sink *sink, const char *who)
{
    memset(a, 0, sizeof *a);
    a->dirfd = -1;
    size_t n = strlen(path);
    if (n == 0)
        return ae__error(AE_ERR_INVALID, "%s: path is empty", who);
    if (path[n - 1] == '/')
        return ae__error(AE_ERR_INVALID, "%s: path '%s' names a folder", who, path);
    int rc = save_target(a, path, who), fd = -1;
    if (rc < 0) {
        ae__atomic_abort(a);
        return rc;
    }
    path = a->path;
    a->cap = strlen(path) + 64;
    a->tmp = ae__alloc(a->cap);
    if (a->tmp != NULL)
        a->tmp[0] = '\0'; /* no name yet: an early abort unlinks nothing */
    char *dir = dir_of(path);
    if (a->tmp == NULL || dir == NULL) {
        ae__free(dir);
        ae__atomic_abort(a);
        return AE_ERR_NOMEM;
    }
    a->dirfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (a->dirfd < 0) {
        rc = ae__error(AE_ERR_IO, "%s: cannot create a temporary file next to %s: cannot open "
                       "the folder %s: %s", who, path, dir, ERRNO_TEXT);
        goto out;
    }
    const char *slash = strrchr(path, '/');
    remove_stale(dir, slash ? slash + 1 : path);
#ifdef O_TMPFILE
    if (access("/proc/self/fd", X_OK) == 0) {
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
        a->unnamed = fd >= 0;
    }
#endif
    /* O_EXCL, so two savers (threads or processes) never share a file. */
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        next_name(a, a->cap);
        fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        rc = ae__error(AE_ERR_IO, "%s: cannot create a temporary file next to %s: %s", who, path,
                       ERRNO_TEXT);
        a->tmp[0] = '\0';
        goto out;
    }
    if (a->mode >= 0 && fchmod(fd, (mode_t)a->mode) != 0) {
        rc = ae__error(AE_ERR_IO, "%s: cannot give the new %s the old one's permissions: %s", who,
                       path, ERRNO_TEXT);
        close(fd);
        goto out;
    }
    a->fp = fdopen(fd, "wb");
    if (a->fp == NULL) {
        rc = ae__error(AE_ERR_IO, "%s: cannot write a temporary file next to %s: %s", who, path,
                       ERRNO_TEXT);
        close(fd);
        goto out;
    }
    sink_init(sink, who);
    sink->write = file_write;
    sink->fp = a->fp;
    sink->path = a->unnamed ? "an unnamed temporary file" : a->tmp;
out:
    ae__free(dir);
    if (rc < 0)
        ae__atomic_abort(a);
    return rc;
}

void ae__atomic_abort(ae__atomic *a)
{
    if (a->fp != NULL)
        fclose(a->fp);
    if (a->tmp != NULL) {
        if ((!a->unnamed || a->linked) && a->tmp[0] != '\0')
            unlink(a->tmp);
        ae__free(a->tmp);
    }
    if (a->dirfd >= 0)
        close(a->dirfd);
    ae__free(a->real);
    memset(a, 0, sizeof *a);
    a->dirfd = -1;
}

/* Gives the complete, synced unnamed file its temporary name. */
static int link_unnamed(ae__atomic *a, const char *who)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fileno(a->fp));
    for (int attempt = 0; attempt < 100; attempt++) {
        next_name(a, a->cap);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, a->tmp, AT_SYMLINK_FOLLOW) == 0) {
            a->linked = 1;
            return AE_OK;
        }
        if (errno != EEXIST)
            break;
    }
    return ae__error(AE_ERR_IO, "%s: cannot name the temporary file %s: %s", who, a->tmp,
                     ERRNO_TEXT);
}

int ae__atomic_commit(ae__atomic *a, const char *who)
{
    int rc = AE_OK;
    const char *what = a->unnamed ? "an unnamed temporary file" : a->tmp;
    if (fflush(a->fp) != 0 || fsync(fileno(a->fp)) != 0)
        rc = ae__error(AE_ERR_IO, "%s: cannot write %s: %s", who, what, ERRNO_TEXT);
    if (rc == AE_OK && a->unnamed)
        rc = link_unnamed(a, who);
    int closed = fclose(a->fp);
    a->fp = NULL;
    if (rc == AE_OK && closed != 0)
        rc = ae__error(AE_ERR_IO, "%s: cannot write %s: %s", who, a->tmp, ERRNO_TEXT);
    if (rc == AE_OK && rename(a->tmp, a->path) != 0)
        rc = ae__error(AE_ERR_IO, "%s: cannot rename %s to %s: %s", who, a->tmp, a->path,
                       ERRNO_TEXT);
    if (rc < 0) {
        ae__atomic_abort(a);
        return rc;
    }
    /* The new file is in place: success from here on. Syncing the folder
     * makes the rename durable; a failure cannot be undone and does not
     * change which file the path names. */
    (void)fsync(a->dirfd);
    a->linked = 0;
    a->unnamed = 1; /* nothing named to remove any more */
    ae__atomic_abort(a);
    return AE_OK;
}

/* ---- reading a whole file -------------------------------------------------------- */

typedef struct source {
    int (*read)(struct source *s, void *buf, size_t n, size_t *got);
    FILE *fp;
    const char *path;
    ae_read_fn fn;
    void *user;
    const char *who;
    int ended; /* the source reported the end of its data: never asked again */
} source;

static int path_read(source *s, void *buf, size_t n, size_t *got)
{
    *got = fread(buf, 1, n, s->fp);
    if (*got < n && ferror(s->fp))
        return ae__error(AE_ERR_IO, "%s: cannot read %s: %s", s->who, s->path, ae__errno_text(errno, (char[AE__ERRNO_MAX]){0}));
    return AE_OK;
}

static int callback_read(source *s, void *buf, size_t n, size_t *got)
{
    size_t g = 0;
    if (s->fn(s->user, buf, n, &g) != 0)
        return ae__error(AE_ERR_IO, "%s: the read callback failed", s->who);
    if (g > n)
        return ae__error(AE_ERR_IO, "%s: the read callback reported %zu bytes for a request of %zu",
                         s->who, g, n);
    *got = g;
    return AE_OK;
}

/* Reads until n bytes or the end; *got < n only at the end. */
static int read_full(source *s, unsigned char *buf, size_t n, size_t *got)
{
    size_t done = 0;
    while (done < n && !s->ended) {
        size_t g = 0;
        int rc = s->read(s, buf + done, n - done, &g);
        if (rc < 0)
            return rc;
        if (g == 0)
            s->ended = 1;
        done += g;
    }
    *got = done;
    return AE_OK;
}

/* Memory grows in steps as data arrives, so a header declaring a huge size
 * makes the reader allocate at most about twice what the source delivers. */
#define FIRST_CHUNK ((size_t)1 << 20)

static int slurp(source *s, uint64_t max, unsigned char **out, size_t *len, uint64_t *extra)
{
    unsigned char head[AE__HEADER_SIZE];
    size_t got = 0;
    int rc = read_full(s, head, sizeof head, &got);
    if (rc < 0)
        return rc;
    /* Without a plausible header the parser diagnoses the bytes we have;
     * with one, read up to the declared size. */
    uint64_t target = got;
    if (got == sizeof head && memcmp(head, AE__MAGIC, AE__MAGIC_SIZE) == 0) {
        uint64_t declared = ae__rd64(head + 32);
        if (declared > max)
            return ae__error(AE_ERR_LIMIT, "%s: the file declares %llu bytes, the limit is %llu",
                             s->who, (unsigned long long)declared, (unsigned long long)max);
        if (declared > target)
            target = declared;
    }
    if (target > SIZE_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: the file declares %llu bytes, more than this machine "
                         "can address", s->who, (unsigned long long)target);
    size_t cap = target < FIRST_CHUNK ? (size_t)target : FIRST_CHUNK;
    if (cap < got)
        cap = got;
    unsigned char *buf = ae__alloc(cap ? cap : 1);
    if (buf == NULL)
        return AE_ERR_NOMEM;
    memcpy(buf, head, got);
    size_t have = got;
    while (have < target && got > 0) {
        if (have == cap) {
            size_t grown = cap <= (size_t)target / 2 ? cap * 2 : (size_t)target;
            unsigned char *bigger = ae__alloc(grown);
            if (bigger == NULL) {
                ae__free(buf);
                return AE_ERR_NOMEM;
            }
            memcpy(bigger, buf, have);
            ae__free(buf);
            buf = bigger;
            cap = grown;
        }
        if ((rc = read_full(s, buf + have, cap - have, &got)) < 0) {
            ae__free(buf);
            return rc;
        }
        have += got;
    }
    *extra = 0;
    if (have == target && got > 0) {
        unsigned char probe;
        if ((rc = read_full(s, &probe, 1, &got)) < 0) {
            ae__free(buf);
            return rc;
        }
        *extra = got;
    }
    *out = buf;
    *len = have;
    return AE_OK;
}

int ae__slurp_path(const char *path, uint64_t max, unsigned char **out, size_t *len,
                   uint64_t *extra, const char *who)
{
    source s;
    memset(&s, 0, sizeof s);
    s.read = path_read;
    s.path = path;
    s.who = who;
    s.fp = fopen(path, "rb");
    if (s.fp == NULL)
        return ae__error(AE_ERR_IO, "%s: cannot open %s: %s", who, path, ae__errno_text(errno, (char[AE__ERRNO_MAX]){0}));
    struct stat st;
    int rc;
    if (fstat(fileno(s.fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = ae__error(AE_ERR_IO, "%s: %s is a folder", who, path);
    } else {
        rc = slurp(&s, max, out, len, extra);
        /* A regular file tells how much follows the declared end. */
        if (rc == AE_OK && *extra > 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > *len)
            *extra = (uint64_t)st.st_size - *len;
    }
    fclose(s.fp);
    return rc;
}

int ae__slurp_callback(ae_read_fn fn, void *user, uint64_t max, unsigned char **out,
                       size_t *len, uint64_t *extra, const char *who)
{
    source s;
    memset(&s, 0, sizeof s);
    s.read = callback_read;
    s.fn = fn;
    s.user = user;
    s.who = who;
    return slurp(&s, max, out, len, extra);
}
