/* SPDX-License-Identifier: MIT */
/*
 * cli.c - option parsing, messages, progress bar, clock and paths for the
 * example programs. See cli.h.
 */
#include "cli.h"
#include "data.h" /* DATA_DEFAULT_DIR */

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- option parsing ------------------------------------------------------ */

static void vmessage(const char *prog, const char *format, va_list ap)
{
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
}

int cli_usage_error(const char *prog, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vmessage(prog, format, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", prog);
    return CLI_EXIT_USAGE;
}

int cli_error(const char *prog, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vmessage(prog, format, ap);
    va_end(ap);
    return CLI_EXIT_FAILURE;
}

int cli_lib_error(const char *prog, int status)
{
    const char *detail = ae_last_error();
    if (detail[0] != '\0')
        fprintf(stderr, "%s: %s: %s\n", prog, ae_strerror(status), detail);
    else
        fprintf(stderr, "%s: %s\n", prog, ae_strerror(status));
    return CLI_EXIT_FAILURE;
}

/* Parses a plain decimal unsigned integer (no sign, no spaces). */
static int parse_u64(const char *s, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int store_value(const char *prog, const cli_option *o, const char *text)
{
    switch (o->kind) {
    case CLI_U32: {
        uint64_t v;
        if (parse_u64(text, &v) < 0 || v < o->min || v > o->max)
            return cli_usage_error(prog, "--%s must be an integer from %u to %u, not '%s'",
                                   o->name, (unsigned)o->min, (unsigned)o->max, text);
        *(uint32_t *)o->value = (uint32_t)v;
        return 0;
    }
    case CLI_U64: {
        uint64_t v;
        if (parse_u64(text, &v) < 0)
            return cli_usage_error(prog, "--%s must be an integer from 0 to %llu, not '%s'",
                                   o->name, (unsigned long long)UINT64_MAX, text);
        *(uint64_t *)o->value = v;
        return 0;
    }
    case CLI_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        if (text[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(v) || v < o->dmin ||
            v > o->dmax)
            return cli_usage_error(prog, "--%s must be a number from %g to %g, not '%s'",
                                   o->name, o->dmin, o->dmax, text);
        *(double *)o->value = v;
        return 0;
    }
    case CLI_STRING:
        if (text[0] == '\0')
            return cli_usage_error(prog, "--%s needs a non-empty value", o->name);
        *(const char **)o->value = text;
        return 0;
    default:
        return cli_usage_error(prog, "--%s: unknown option kind %d", o->name, o->kind);
    }
}

int cli_parse(const char *prog, int argc, char **argv, const cli_option *options,
              size_t count)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return CLI_HELP;
        if (strncmp(arg, "--help=", 7) == 0) {
            cli_usage_error(prog, "--help takes no value");
            return CLI_ERROR;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (arg[0] == '-' && arg[1] != '\0' && strcmp(arg, "--") != 0)
                cli_usage_error(prog, "unknown option '%s'", arg);
            else
                cli_usage_error(prog, "unexpected argument '%s'", arg);
            return CLI_ERROR;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);

        const cli_option *o = NULL;
        for (size_t k = 0; k < count; k++) {
            if (strlen(options[k].name) == len && strncmp(options[k].name, name, len) == 0) {
                o = &options[k];
                break;
            }
        }
        if (o == NULL) {
            cli_usage_error(prog, "unknown option '--%.*s'", (int)len, name);
            return CLI_ERROR;
        }
        if (o->kind == CLI_FLAG) {
            if (eq != NULL) {
                cli_usage_error(prog, "--%s takes no value", o->name);
                return CLI_ERROR;
            }
            *(int *)o->value = 1;
            continue;
        }
        const char *text;
        if (eq != NULL) {
            text = eq + 1;
        } else if (i + 1 < argc) {
            text = argv[++i];
        } else {
            cli_usage_error(prog, "--%s needs a value", o->name);
            return CLI_ERROR;
        }
        if (store_value(prog, o, text) != 0)
            return CLI_ERROR;
    }
    return CLI_PARSED;
}

/* ---- help ---------------------------------------------------------------- */

void cli_help_common(FILE *f, int labels)
{
    fprintf(f,
"Data:\n"
"  DIR holds Fashion-MNIST in MNIST's IDX format, gzip-compressed or plain:\n"
"  train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte.gz%s.\n"
"  Debian's package dataset-fashion-mnist installs them in\n"
"  " DATA_DEFAULT_DIR "; upstream they are in data/fashion of\n"
"  https://github.com/zalandoresearch/fashion-mnist (Zalando's article\n"
"  images: 60000 training and 10000 test, 28x28 greyscale, 10 classes; MIT\n"
"  licence).\n"
"\n"
"Environment:\n"
"  AE_NUM_THREADS        thread count (1..1024) when --threads is not given\n"
"  OPENBLAS_NUM_THREADS  the count when neither is set (else one per core)\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  the run failed: a library, I/O or data error (one line on stderr)\n"
"  2  a bad command line (a message and a --help hint on stderr)\n"
"\n",
            labels ? ",\n  train-labels-idx1-ubyte.gz, t10k-labels-idx1-ubyte.gz" : "");
}

/* ---- threads ------------------------------------------------------------- */

int cli_set_threads(const char *prog, uint32_t threads)
{
    int rc;
    if (threads == 0)
        return CLI_EXIT_OK;
    if ((rc = ae_set_num_threads((int)threads)) < 0)
        return cli_lib_error(prog, rc);
    return CLI_EXIT_OK;
}

int cli_start(const char *prog, int argc, char **argv, const cli_option *options, size_t count,
              void (*usage)(FILE *), const uint32_t *threads)
{
    switch (cli_parse(prog, argc, argv, options, count)) {
    case CLI_HELP:
        usage(stdout);
        return CLI_EXIT_OK;
    case CLI_ERROR:
        return CLI_EXIT_USAGE;
    default:
        break;
    }
    if (threads != NULL && cli_set_threads(prog, *threads) != CLI_EXIT_OK)
        return CLI_EXIT_FAILURE;
    return CLI_CONTINUE;
}

/* ---- progress ------------------------------------------------------------ */

#define BAR_WIDTH 30
#define REDRAW_SECONDS 0.1

void cli_progress_init(cli_progress *p, FILE *stream, const char *val_label)
{
    p->stream = stream;
    p->val_label = val_label != NULL ? val_label : "val";
    p->bar = isatty(fileno(stream));
    p->drawn = 0;
    p->last_draw = -1.0;
    p->epoch_start = 0.0;
}

static void draw_bar(cli_progress *p, const ae_progress *pr)
{
    size_t done = pr->batch + 1;
    size_t filled = pr->batches > 0 ? done * BAR_WIDTH / pr->batches : BAR_WIDTH;
    if (filled > BAR_WIDTH)
        filled = BAR_WIDTH;
    char bar[BAR_WIDTH + 1];
    for (size_t i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < filled ? '=' : ' ';
    if (filled > 0 && filled < BAR_WIDTH)
        bar[filled - 1] = '>';
    bar[BAR_WIDTH] = '\0';
    fprintf(p->stream, "\repoch %u/%u [%s] %zu/%zu loss %.5f\033[K", pr->epoch + 1,
            pr->epochs, bar, done, pr->batches, pr->loss);
    fflush(p->stream);
    p->drawn = 1;
}

int cli_progress_callback(const ae_progress *pr, void *user)
{
    cli_progress *p = user;
    /* Read only the fields the library says it filled. */
    if (pr->struct_size < offsetof(ae_progress, seconds) + sizeof pr->seconds)
        return 0;

    if (pr->event == AE_PROGRESS_BATCH) {
        if (!p->bar)
            return 0;
        double now = cli_now();
        if (p->last_draw < 0 || now - p->last_draw >= REDRAW_SECONDS ||
            pr->batch + 1 == pr->batches) {
            draw_bar(p, pr);
            p->last_draw = now;
        }
        return 0;
    }
    if (pr->event != AE_PROGRESS_EPOCH)
        return 0;

    if (pr->epoch == 0)
        p->epoch_start = 0.0;
    if (p->drawn) {
        fputs("\r\033[K", p->stream);
        p->drawn = 0;
    }
    fprintf(p->stream, "epoch %u/%u  loss %.6f", pr->epoch + 1, pr->epochs, pr->loss);
    if (!isnan(pr->val_loss))
        fprintf(p->stream, "  %s %.6f", p->val_label, pr->val_loss);
    fprintf(p->stream, "  %.2f s\n", pr->seconds - p->epoch_start);
    fflush(p->stream);
    p->epoch_start = pr->seconds;
    p->last_draw = -1.0;
    return 0;
}

/* ---- odds and ends ------------------------------------------------------- */

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cli_mkdir_p(const char *path)
{
    size_t len = strlen(path);
    if (len == 0) {
        errno = ENOENT;
        return -1;
    }
    char *buf = malloc(len + 1);
    if (buf == NULL)
        return -1;
    memcpy(buf, path, len + 1);

    int rc = 0;
    /* Create every prefix that ends before a '/', then the whole path. */
    for (size_t i = 1; i <= len && rc == 0; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            rc = -1;
        buf[i] = saved;
    }
    if (rc == 0) {
        struct stat st;
        if (stat(path, &st) != 0)
            rc = -1;
        else if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            rc = -1;
        }
    }
    int saved_errno = errno;
    free(buf);
    errno = saved_errno;
    return rc;
}

char *cli_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *s = malloc(a + (size_t)slash + b + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, dir, a);
    if (slash)
        s[a] = '/';
    memcpy(s + a + (size_t)slash, name, b + 1);
    return s;
}
