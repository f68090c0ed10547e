/* SPDX-License-Identifier: MIT */
/*
 * csv.c - the CSV reader: numeric tables (one sample per line) with an
 * optional header line and an optional integer label column.
 *
 * The file is read in blocks and split into lines in a buffer that grows up
 * to AE_CSV_MAX_LINE. The first data row fixes the number of columns; every
 * later row must match it. Samples and labels go into arrays that double as
 * rows arrive and are handed to the dataset without another copy (the
 * dataset module's ae__dataset_adopt()).
 *
 * Numbers are read with strtod, which follows the C library's locale: when
 * the locale's decimal point is not '.', each cell's '.' is swapped for it
 * in place before parsing, and a cell already holding the locale's point is
 * refused, so "1.5" means 1.5 and "1,5" is never a number in any locale.
 */
#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "data/dataset.h"

#define CSV_BLOCK 65536       /* bytes read from the file at a time */
#define CSV_FIRST_LINE 4096   /* first size of the line buffer */
#define CSV_FIRST_ROWS 256    /* first row capacity */
#define CSV_SHOWN 40          /* characters of a bad cell quoted in messages */

typedef struct csv_reader {
    FILE *fp;
    const char *path;
    char *block; /* CSV_BLOCK bytes */
    size_t pos, len;
    int eof;
    char *line; /* the current line, NUL-terminated, end of line removed */
    size_t line_len, line_cap;
    size_t line_no; /* 1-based number of the current line */
} csv_reader;

typedef struct csv_table {
    float *data;
    int32_t *labels;
    size_t rows, cap;   /* rows read, rows allocated */
    size_t columns;     /* cells per row, fixed by the first data row */
    size_t features;    /* columns less the label column */
    size_t first_line;  /* line number of the first data row */
    long label;         /* 0-based label column, or -1 */
    uint64_t max_bytes; /* the caller's limit on the dataset's bytes, 0: none */
} csv_table;

/* ---- lines ----------------------------------------------------------------- */

static int read_error(const csv_reader *r)
{
    return ae__error(AE_ERR_IO, "%s: read error after line %zu: %s", r->path, r->line_no,
                     ae__errno_text(errno, (char[AE__ERRNO_MAX]){0}));
}

static int line_too_long(const csv_reader *r)
{
    return ae__error(AE_ERR_LIMIT, "%s: line %zu, column 1: the line is longer than %u bytes",
                     r->path, r->line_no, AE_CSV_MAX_LINE);
}

/* Appends n bytes to the line, growing the buffer up to the limit. */
static int line_append(csv_reader *r, const char *s, size_t n)
{
    /* One byte more than the limit: a CRLF line's '\r' is not counted. */
    if (n > AE_CSV_MAX_LINE + 1 - r->line_len)
        return line_too_long(r);
    size_t need = r->line_len + n + 1;
    if (need > r->line_cap) {
        size_t cap = r->line_cap;
        while (cap < need)
            cap *= 2;
        if (cap > (size_t)AE_CSV_MAX_LINE + 1)
            cap = (size_t)AE_CSV_MAX_LINE + 1;
        char *grown = ae__alloc(cap);
        if (grown == NULL)
            return AE_ERR_NOMEM;
        memcpy(grown, r->line, r->line_len);
        ae__free(r->line);
        r->line = grown;
        r->line_cap = cap;
    }
    memcpy(r->line + r->line_len, s, n);
    r->line_len += n;
    return AE_OK;
}

/* Reads the next line. Returns 1 with a line, 0 at the end of the file, or
 * a negative status. */
static int next_line(csv_reader *r)
{
    int rc, any = 0;
    r->line_len = 0;
    r->line_no++;
    for (;;) {
        if (r->pos == r->len) {
            if (r->eof)
                break;
            r->len = fread(r->block, 1, CSV_BLOCK, r->fp);
            r->pos = 0;
            if (r->len < CSV_BLOCK) {
                if (ferror(r->fp))
                    return read_error(r);
                r->eof = 1;
            }
            if (r->len == 0)
                break;
        }
        any = 1;
        const char *start = r->block + r->pos;
        const char *nl = memchr(start, '\n', r->len - r->pos);
        size_t n = nl != NULL ? (size_t)(nl - start) : r->len - r->pos;
        if ((rc = line_append(r, start, n)) < 0)
            return rc;
        r->pos += n;
        if (nl != NULL) {
            r->pos++; /* the '\n' */
            break;
        }
    }
    if (!any)
        return 0;
    if (r->line_len > 0 && r->line[r->line_len - 1] == '\r')
        r->line_len--;
    if (r->line_len > AE_CSV_MAX_LINE)
        return line_too_long(r);
    r->line[r->line_len] = '\0';
    return 1;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return 0;
    return 1;
}

/* ---- cells ------------------------------------------------------------------- */

/* A printable copy of cell [s, e) for messages, cut at CSV_SHOWN characters. */
static const char *shown(char *buf, const char *s, const char *e)
{
    size_t n = (size_t)(e - s), k = n < CSV_SHOWN ? n : CSV_SHOWN, j = 0;
    for (size_t i = 0; i < k; i++)
        buf[j++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    if (k < n) {
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    return buf;
}

enum cell_status { CELL_OK, CELL_EMPTY, CELL_NOT_NUMBER, CELL_NOT_FINITE, CELL_RANGE };

/* Trims cell [*s, *e) of blanks and one pair of double quotes. */
static void trim(char **s, char **e)
{
    char *a = *s, *b = *e;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    if (b - a >= 2 && *a == '"' && b[-1] == '"') {
        a++;
        b--;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
    }
    *s = a;
    *e = b;
}

/* Parses the trimmed cell [s, e) as a finite number that fits a float.
 * Writes a NUL at e (the caller has moved past it). */
static int parse_cell(char *s, char *e, char point, double *out)
{
    if (s == e)
        return CELL_EMPTY;
    /* Only a sign, a digit or a point may start a number: this keeps out
     * "nan", "inf" and words before strtod sees them. */
    if (!((*s >= '0' && *s <= '9') || *s == '+' || *s == '-' || *s == '.'))
        return CELL_NOT_NUMBER;
    if (point != '.') {
        for (char *p = s; p < e; p++)
            if (*p == point)
                return CELL_NOT_NUMBER;
        for (char *p = s; p < e; p++)
            if (*p == '.')
                *p = point;
    }
    *e = '\0';
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    int status = CELL_OK;
    if (end != e)
        status = CELL_NOT_NUMBER;
    else if (isnan(v) || (isinf(v) && errno != ERANGE)) /* "-nan", "+inf" */
        status = CELL_NOT_FINITE;
    else if (!(fabs(v) <= FLT_MAX)) /* "1e999" overflows to infinity, "1e39" */
        status = CELL_RANGE;
    if (point != '.') /* put the text back as it was, for messages */
        for (char *p = s; p < e; p++)
            if (*p == point)
                *p = '.';
    *out = v;
    return status;
}

/* ---- rows ------------------------------------------------------------------------ */

/* Counts the cells of a line (delimiters + 1). */
static size_t count_cells(const char *s, size_t n, char delim)
{
    size_t cells = 1;
    for (size_t i = 0; i < n; i++)
        cells += s[i] == delim;
    return cells;
}

/* Fixes the table's layout from the first data row. */
static int first_row(csv_table *t, const csv_reader *r, const ae_csv_options *o)
{
    size_t cells = count_cells(r->line, r->line_len, o->delimiter);
    if (cells > AE_CSV_MAX_COLUMNS)
        return ae__error(AE_ERR_LIMIT, "%s: line %zu, column %u: more than %u columns", r->path,
                         r->line_no, AE_CSV_MAX_COLUMNS + 1, AE_CSV_MAX_COLUMNS);
    t->columns = cells;
    t->first_line = r->line_no;
    t->label = o->label_column == AE_CSV_LAST_COLUMN ? (long)cells - 1 : o->label_column;
    if (t->label >= (long)cells)
        return ae__error(AE_ERR_FORMAT,
                         "%s: line %zu, column %ld: label_column %ld is past the end of the row, "
                         "which has %zu columns",
                         r->path, r->line_no, t->label + 1, t->label, cells);
    t->features = cells - (t->label >= 0);
    if (t->features == 0)
        return ae__error(AE_ERR_FORMAT,
                         "%s: line %zu, column 1: the only column is the label column; no "
                         "feature is left",
                         r->path, r->line_no);
    return AE_OK;
}

/* Makes room for one more row. */
static int grow(csv_table *t, const csv_reader *r)
{
    if (t->rows < t->cap)
        return AE_OK;
    if (t->rows >= AE_DATASET_MAX_COUNT)
        return ae__error(AE_ERR_LIMIT, "%s: line %zu, column 1: more than %u rows", r->path,
                         r->line_no, AE_DATASET_MAX_COUNT);
    size_t cap = t->cap == 0 ? CSV_FIRST_ROWS : 2 * t->cap, bytes;
    if (cap > AE_DATASET_MAX_COUNT)
        cap = AE_DATASET_MAX_COUNT;
    if (t->max_bytes != 0) {
        /* Rows of floats, and their labels, within the caller's limit. */
        uint64_t row = (uint64_t)t->features * sizeof(float) + (t->label >= 0 ? sizeof(int32_t) : 0);
        uint64_t fit = t->max_bytes / row;
        if (t->rows >= fit)
            return ae__error(AE_ERR_LIMIT, "%s: line %zu: more than %ju rows of %zu values take"
                             " more than max_bytes, %ju bytes", r->path, r->line_no,
                             (uintmax_t)fit, t->features, (uintmax_t)t->max_bytes);
        if (cap > fit)
            cap = (size_t)fit;
    }
    if (!ae__mul_size(cap, t->features, &bytes) || !ae__mul_size(bytes, sizeof(float), &bytes))
        return ae__error(AE_ERR_LIMIT, "%s: line %zu: %zu rows of %zu values overflow memory",
                         r->path, r->line_no, cap, t->features);
    float *data = ae__alloc(bytes);
    int32_t *labels = NULL;
    if (data == NULL)
        return AE_ERR_NOMEM;
    if (t->label >= 0 && (labels = ae__alloc(cap * sizeof(int32_t))) == NULL) {
        ae__free(data);
        return AE_ERR_NOMEM;
    }
    if (t->rows > 0) {
        memcpy(data, t->data, t->rows * t->features * sizeof(float));
        if (labels != NULL)
            memcpy(labels, t->labels, t->rows * sizeof(int32_t));
    }
    ae__free(t->data);
    ae__free(t->labels);
    t->data = data;
    t->labels = labels;
    t->cap = cap;
    return AE_OK;
}

static int cell_error(const csv_reader *r, size_t column, int status, int is_label,
                      const char *s, const char *e)
{
    char buf[CSV_SHOWN + 4];
    const char *what = is_label ? "label" : "value";
    switch (status) {
    case CELL_EMPTY:
        return ae__error(AE_ERR_FORMAT, "%s: line %zu, column %zu: empty cell (a %s is needed)",
                         r->path, r->line_no, column, what);
    case CELL_NOT_FINITE:
        return ae__error(AE_ERR_FORMAT, "%s: line %zu, column %zu: '%s' is not a finite number",
                         r->path, r->line_no, column, shown(buf, s, e));
    case CELL_RANGE:
        return ae__error(AE_ERR_FORMAT,
                         "%s: line %zu, column %zu: '%s' is outside the float range", r->path,
                         r->line_no, column, shown(buf, s, e));
    default:
        return ae__error(AE_ERR_FORMAT, "%s: line %zu, column %zu: '%s' is not a number%s",
                         r->path, r->line_no, column, shown(buf, s, e),
                         is_label ? " (labels are integers)" : "");
    }
}

/* Parses the current line into row t->rows. */
static int parse_row(csv_table *t, const csv_reader *r, char delim, char point)
{
    float *row = t->data + t->rows * t->features;
    char *p = r->line, *end = r->line + r->line_len;
    size_t col = 0, f = 0;
    for (;;) {
        char *d = memchr(p, delim, (size_t)(end - p));
        char *s = p, *e = d != NULL ? d : end;
        if (col >= t->columns)
            return ae__error(AE_ERR_FORMAT,
                             "%s: line %zu, column %zu: more than %zu cells (line %zu has %zu)",
                             r->path, r->line_no, col + 1, t->columns, t->first_line,
                             t->columns);
        trim(&s, &e);
        double v;
        int is_label = (long)col == t->label;
        int st = parse_cell(s, e, point, &v);
        if (st != CELL_OK)
            return cell_error(r, col + 1, st, is_label, s, e);
        if (is_label) {
            if (v != floor(v) || v < (double)INT32_MIN || v > (double)INT32_MAX) {
                char buf[CSV_SHOWN + 4];
                return ae__error(AE_ERR_FORMAT,
                                 "%s: line %zu, column %zu: label '%s' is not an integer in "
                                 "[%ld, %ld]",
                                 r->path, r->line_no, col + 1, shown(buf, s, e),
                                 (long)INT32_MIN, (long)INT32_MAX);
            }
            t->labels[t->rows] = (int32_t)v;
        } else {
            row[f++] = (float)v;
        }
        col++;
        if (d == NULL)
            break;
        p = d + 1;
    }
    if (col < t->columns)
        return ae__error(AE_ERR_FORMAT,
                         "%s: line %zu, column %zu: the row ends after %zu cells, line %zu has %zu",
                         r->path, r->line_no, col + 1, col, t->first_line, t->columns);
    t->rows++;
    return AE_OK;
}

/* ---- the loader --------------------------------------------------------------------- */

static int check_options(const ae_csv_options *o, const char *what)
{
    if (o->header != 0 && o->header != 1)
        return ae__error(AE_ERR_INVALID, "%s: header is %d, it must be 0 or 1", what, o->header);
    if (o->label_column < AE_CSV_LAST_COLUMN)
        return ae__error(AE_ERR_INVALID,
                         "%s: label_column %d is negative (use a 0-based index, "
                         "AE_CSV_LAST_COLUMN or AE_CSV_NO_LABEL)",
                         what, o->label_column);
    if (o->label_column >= (int)AE_CSV_MAX_COLUMNS)
        return ae__error(AE_ERR_LIMIT, "%s: label_column %d, at most %u columns are read", what,
                         o->label_column, AE_CSV_MAX_COLUMNS);
    if (o->delimiter != ',' && o->delimiter != ';' && o->delimiter != '\t' &&
        o->delimiter != '|')
        return ae__error(AE_ERR_INVALID,
                         "%s: delimiter 0x%02x is not one of ',' ';' '|' or tab", what,
                         (unsigned)(unsigned char)o->delimiter);
    return AE_OK;
}

int ae_dataset_load_csv_v(ae_dataset **out, const char *path, const ae_csv_options *opts,
                          unsigned header_version)
{
    static const char what[] = "ae_dataset_load_csv";
    const ae_csv_options defaults = AE_CSV_OPTIONS_INIT;
    ae_csv_options o = defaults;
    csv_reader r;
    csv_table t;
    int rc = ae__check_header(header_version, what);
    if (rc < 0)
        return rc;
    if (out == NULL || path == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what, out == NULL ? "out" : "path");
    if (opts != NULL) {
        rc = ae__take_struct(&o, opts, AE__LAYOUT_END(ae_csv_options, delimiter), sizeof o, what);
        if (rc < 0)
            return rc;
    }
    if ((rc = check_options(&o, what)) < 0)
        return rc;

    memset(&r, 0, sizeof r);
    memset(&t, 0, sizeof t);
    t.max_bytes = o.max_bytes;
    r.path = path;
    const char point = localeconv()->decimal_point[0];
    if ((r.fp = fopen(path, "rb")) == NULL)
        return ae__error(AE_ERR_IO, "%s: cannot open: %s", path, ae__errno_text(errno, (char[AE__ERRNO_MAX]){0}));
    r.block = ae__alloc(CSV_BLOCK);
    r.line = ae__alloc(CSV_FIRST_LINE);
    r.line_cap = CSV_FIRST_LINE;
    if (r.block == NULL || r.line == NULL) {
        rc = AE_ERR_NOMEM;
        goto fail;
    }

    int header_pending = o.header;
    while ((rc = next_line(&r)) > 0) {
        char *line = r.line;
        if (r.line_no == 1 && r.line_len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            memmove(line, line + 3, r.line_len - 3 + 1); /* UTF-8 byte-order mark */
            r.line_len -= 3;
        }
        if (is_blank(line, r.line_len))
            continue;
        if (header_pending) {
            header_pending = 0;
            continue;
        }
        if (t.columns == 0 && (rc = first_row(&t, &r, &o)) < 0)
            goto fail;
        if ((rc = grow(&t, &r)) < 0 || (rc = parse_row(&t, &r, o.delimiter, point)) < 0)
            goto fail;
    }
    if (rc < 0)
        goto fail;
    if (t.rows == 0) {
        rc = ae__error(AE_ERR_FORMAT, "%s: line %zu, column 1: no data rows%s", path, r.line_no,
                       r.line_no == 1 ? " (the file is empty)"
                       : o.header && !header_pending ? " after the header"
                                    : "");
        goto fail;
    }
    /* Give back the unused capacity when it is worth a copy. */
    if (t.cap - t.rows > t.rows / 8) {
        float *data = ae__alloc(t.rows * t.features * sizeof(float));
        int32_t *labels = t.label >= 0 ? ae__alloc(t.rows * sizeof(int32_t)) : NULL;
        if (data != NULL && (t.label < 0 || labels != NULL)) {
            memcpy(data, t.data, t.rows * t.features * sizeof(float));
            if (labels != NULL)
                memcpy(labels, t.labels, t.rows * sizeof(int32_t));
            ae__free(t.data);
            ae__free(t.labels);
            t.data = data;
            t.labels = labels;
        } else {
            ae__free(data); /* keep the larger arrays */
            ae__free(labels);
        }
    }
    ae_shape shape = {1, {(uint32_t)t.features, 0, 0, 0}};
    if ((rc = ae__dataset_adopt(out, t.data, t.labels, t.rows, &shape)) < 0)
        goto fail;
    fclose(r.fp);
    ae__free(r.block);
    ae__free(r.line);
    return AE_OK;

fail:
    fclose(r.fp);
    ae__free(r.block);
    ae__free(r.line);
    ae__free(t.data);
    ae__free(t.labels);
    return rc;
}
