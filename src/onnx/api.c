/* SPDX-License-Identifier: MIT */
/* api.c - the public ONNX functions of ae/onnx.h: argument checks, files and buffers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/scaler.h"
#include "io/io.h"
#include "nn/nn.h"
#include "onnx.h"

/* ---- export ------------------------------------------------------------------ */

static int export_memory(const ae__net *const *nets, size_t n_nets, const char *const *prefix,
                         const ae_scaler *scaler, void **data, size_t *size,
                         const ae_onnx_export_options *opts, const char *who)
{
    unsigned char *buf;
    size_t len;
    if (data == NULL || size == NULL)
        return ae__error(AE_ERR_INVALID, "%s: data or size is NULL", who);
    int rc = ae__onnx_export(nets, n_nets, prefix, scaler, opts, &buf, &len, who);
    if (rc < 0)
        return rc;
    *data = buf;
    *size = len;
    return AE_OK;
}

static int export_path(const ae__net *const *nets, size_t n_nets, const char *const *prefix,
                       const ae_scaler *scaler, const char *path, const ae_onnx_export_options *opts,
                       const char *who)
{
    unsigned char *buf;
    size_t len;
    ae__atomic a;
    ae__sink sink;
    if (path == NULL)
        return ae__error(AE_ERR_INVALID, "%s: path is NULL", who);
    int rc = ae__onnx_export(nets, n_nets, prefix, scaler, opts, &buf, &len, who);
    if (rc < 0)
        return rc;
    if ((rc = ae__atomic_open(&a, path, &sink, who)) == AE_OK) {
        if ((rc = ae__emit(&sink, buf, len)) == AE_OK)
            rc = ae__atomic_commit(&a, who);
        else
            ae__atomic_abort(&a);
    }
    ae__free(buf);
    return rc;
}

static const char *const model_prefix[2] = {"encoder", "decoder"};
static const char *const enc_prefix[1] = {"encoder"};
static const char *const dec_prefix[1] = {"decoder"};

#define MODEL_NETS(model) {&(model)->enc->net, &(model)->dec->net}

int ae_model_export_onnx(const ae_model *model, const char *path, const ae_onnx_export_options *opts)
{
    static const char who[] = "ae_model_export_onnx";
    if (model == NULL)
        return ae__error(AE_ERR_INVALID, "%s: model is NULL", who);
    const ae__net *nets[2] = MODEL_NETS(model);
    return export_path(nets, 2, model_prefix, model->scaler, path, opts, who);
}

int ae_model_export_onnx_memory(const ae_model *model, void **data, size_t *size,
                                const ae_onnx_export_options *opts)
{
    static const char who[] = "ae_model_export_onnx_memory";
    if (model == NULL)
        return ae__error(AE_ERR_INVALID, "%s: model is NULL", who);
    const ae__net *nets[2] = MODEL_NETS(model);
    return export_memory(nets, 2, model_prefix, model->scaler, data, size, opts, who);
}

int ae_encoder_export_onnx(const ae_encoder *enc, const char *path, const ae_onnx_export_options *opts)
{
    static const char who[] = "ae_encoder_export_onnx";
    if (enc == NULL)
        return ae__error(AE_ERR_INVALID, "%s: encoder is NULL", who);
    const ae__net *nets[1] = {&enc->net};
    return export_path(nets, 1, enc_prefix, NULL, path, opts, who);
}

int ae_encoder_export_onnx_memory(const ae_encoder *enc, void **data, size_t *size,
                                  const ae_onnx_export_options *opts)
{
    static const char who[] = "ae_encoder_export_onnx_memory";
    if (enc == NULL)
        return ae__error(AE_ERR_INVALID, "%s: encoder is NULL", who);
    const ae__net *nets[1] = {&enc->net};
    return export_memory(nets, 1, enc_prefix, NULL, data, size, opts, who);
}

int ae_decoder_export_onnx(const ae_decoder *dec, const char *path, const ae_onnx_export_options *opts)
{
    static const char who[] = "ae_decoder_export_onnx";
    if (dec == NULL)
        return ae__error(AE_ERR_INVALID, "%s: decoder is NULL", who);
    const ae__net *nets[1] = {&dec->net};
    return export_path(nets, 1, dec_prefix, NULL, path, opts, who);
}

int ae_decoder_export_onnx_memory(const ae_decoder *dec, void **data, size_t *size,
                                  const ae_onnx_export_options *opts)
{
    static const char who[] = "ae_decoder_export_onnx_memory";
    if (dec == NULL)
        return ae__error(AE_ERR_INVALID, "%s: decoder is NULL", who);
    const ae__net *nets[1] = {&dec->net};
    return export_memory(nets, 1, dec_prefix, NULL, data, size, opts, who);
}

/* ---- import ------------------------------------------------------------------- */

/* Reads a whole file of at most AE_ONNX_MAX_SIZE bytes. */
static int read_file(const char *path, unsigned char **out, size_t *len, const char *who)
{
    char eb[AE__ERRNO_MAX];
    if (path == NULL)
        return ae__error(AE_ERR_INVALID, "%s: path is NULL", who);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return ae__error(AE_ERR_IO, "%s: cannot open %s: %s", who, path, ae__errno_text(errno, eb));
    struct stat st;
    int rc = AE_OK;
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = ae__error(AE_ERR_IO, "%s: %s is a folder", who, path);
        goto done;
    }
    for (;;) {
        if (n == cap) {
            if (cap > AE_ONNX_MAX_SIZE) {
                rc = ae__error(AE_ERR_LIMIT, "%s: %s is larger than %u bytes", who, path, AE_ONNX_MAX_SIZE);
                goto done;
            }
            size_t grow = cap ? 2 * cap : 65536;
            if (grow > (size_t)AE_ONNX_MAX_SIZE + 1)
                grow = (size_t)AE_ONNX_MAX_SIZE + 1;
            unsigned char *b = ae__alloc(grow);
            if (b == NULL) {
                rc = AE_ERR_NOMEM;
                goto done;
            }
            if (n)
                memcpy(b, buf, n);
            ae__free(buf);
            buf = b;
            cap = grow;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) {
            if (ferror(fp))
                rc = ae__error(AE_ERR_IO, "%s: cannot read %s", who, path);
            break;
        }
    }
    if (rc == AE_OK && n > AE_ONNX_MAX_SIZE)
        rc = ae__error(AE_ERR_LIMIT, "%s: %s is larger than %u bytes", who, path, AE_ONNX_MAX_SIZE);
done:
    fclose(fp);
    if (rc < 0) {
        ae__free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return AE_OK;
}

/* Parses and builds; with keep, the parsed model goes to the caller (who
 * frees it with ae__onnx_free() and ae__free()) on success. */
static int import_any(ae_encoder **enc, ae_decoder **dec, const void *data, size_t size,
                      const ae_onnx_import_options *opts, ae__onnx_model **keep, const char *who)
{
    ae_onnx_import_options o = AE_ONNX_IMPORT_OPTIONS_INIT;
    int rc;
    if (data == NULL && size > 0)
        return ae__error(AE_ERR_INVALID, "%s: data is NULL", who);
    if (opts != NULL &&
        (rc = ae__take_struct(&o, opts, AE__LAYOUT_END(ae_onnx_import_options, seed), sizeof o, who)) < 0)
        return rc;
    ae__onnx_model *m = ae__calloc(1, sizeof *m);
    if (m == NULL)
        return AE_ERR_NOMEM;
    if ((rc = ae__onnx_parse(m, data, size, who)) == AE_OK)
        rc = ae__onnx_build(m, enc, dec, o.latent, o.seed, who);
    if (rc == AE_OK && keep != NULL) {
        *keep = m;
        return rc;
    }
    ae__onnx_free(m);
    ae__free(m);
    return rc;
}

/* ---- the scaler in metadata_props --------------------------------------------- */

#define SCALER_KEY "libae.scaler."

/* Strict decimal syntax: -?D+(.D+)?([eE][+-]?D+)? (what %.9g and %.17g
 * write; no space, '+', hex, inf or nan). */
static int number_syntax(const char *s, int fraction)
{
#define DIGITS(p) ((p)[0] >= '0' && (p)[0] <= '9')
    if (*s == '-')
        s++;
    if (!DIGITS(s))
        return 0;
    while (DIGITS(s))
        s++;
    if (fraction && *s == '.') {
        s++;
        if (!DIGITS(s))
            return 0;
        while (DIGITS(s))
            s++;
    }
    if (fraction && (*s == 'e' || *s == 'E')) {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!DIGITS(s))
            return 0;
        while (DIGITS(s))
            s++;
    }
    return *s == '\0';
#undef DIGITS
}

/* libae.scaler.shift or .scale: exactly n finite floats, comma-separated
 * (scale: each > 0). */
static int scaler_values(ae__pbs v, const char *key, size_t n, int positive, float *out, const char *who)
{
    char tok[AE__ONNX_SCALER_CHARS];
    size_t count = 0, i = 0;
    if (v.n > n * AE__ONNX_SCALER_CHARS)
        return ae__error(AE_ERR_FORMAT, "%s: %s: %zu bytes, more than %zu values need", who, key, v.n, n);
    for (;;) {
        size_t len = 0;
        while (i < v.n && v.p[i] != ',') {
            if (len + 1 == sizeof tok)
                return ae__error(AE_ERR_FORMAT, "%s: %s: value %zu is longer than %u bytes", who, key, count,
                                 AE__ONNX_SCALER_CHARS - 1);
            tok[len++] = (char)v.p[i++];
        }
        tok[len] = '\0';
        if (count == n)
            return ae__error(AE_ERR_FORMAT, "%s: %s holds more than the %zu values of libae.scaler.features",
                             who, key, n);
        char *end = tok;
        float f = 0.0f;
        int ok = number_syntax(tok, 1);
        if (ok) {
            f = strtof(tok, &end); /* the C locale's '.' (as csv.c: the application's locale) */
            ok = *end == '\0';
        }
        if (!ok)
            return ae__error(AE_ERR_FORMAT, "%s: %s: value %zu is not a number ('%s')", who, key, count, tok);
        if (!isfinite(f))
            return ae__error(AE_ERR_FORMAT, "%s: %s: value %zu (%s) is not a finite float", who, key, count, tok);
        if (positive && !(f > 0.0f))
            return ae__error(AE_ERR_FORMAT, "%s: %s: value %zu (%s) is not > 0", who, key, count, tok);
        out[count++] = f;
        if (i == v.n)
            break;
        i++; /* the comma */
    }
    if (count != n)
        return ae__error(AE_ERR_FORMAT, "%s: %s holds %zu values, libae.scaler.features says %zu", who, key,
                         count, n);
    return AE_OK;
}

/* Attaches the scaler of the libae.scaler.* entries, when there are any,
 * to an imported model. Every entry is checked as hostile input. */
static int import_scaler(ae_model *model, const ae__onnx_model *m, const char *who)
{
    static const char *const keys[4] = {SCALER_KEY "kind", SCALER_KEY "features", SCALER_KEY "shift",
                                        SCALER_KEY "scale"};
    ae__pbs v[4];
    int found = 0;
    for (int k = 0; k < 4; k++)
        found += ae__onnx_meta(m, keys[k], &v[k]);
    if (found == 0)
        return AE_OK;
    for (int k = 0; k < 4; k++)
        if (!ae__onnx_meta(m, keys[k], &v[k]))
            return ae__error(AE_ERR_FORMAT, "%s: %s is missing (the other libae.scaler entries are there)", who,
                             keys[k]);
    char buf[32];
    int kind = -1;
    if (v[0].n < sizeof buf) {
        memcpy(buf, v[0].p, v[0].n);
        buf[v[0].n] = '\0';
        for (int k = 0; k < 2; k++)
            if (strcmp(buf, ae_scaler_kind_name(k)) == 0)
                kind = k;
    }
    if (kind < 0)
        return ae__error(AE_ERR_FORMAT, "%s: %s: not \"%s\" or \"%s\"", who, keys[0],
                         ae_scaler_kind_name(AE_SCALER_STANDARD), ae_scaler_kind_name(AE_SCALER_MINMAX));
    const size_t n_in = ae__shape_size(&model->enc->net.input);
    unsigned long long n = 0;
    if (v[1].n < sizeof buf) {
        memcpy(buf, v[1].p, v[1].n);
        buf[v[1].n] = '\0';
        errno = 0;
        if (number_syntax(buf, 0) && buf[0] != '-')
            n = strtoull(buf, NULL, 10);
        if (errno != 0)
            n = 0;
    }
    if (n == 0 || n != n_in)
        return ae__error(AE_ERR_FORMAT, "%s: %s: not the model's input size %zu", who, keys[1], n_in);
    float *shift = ae__alloc(2 * n_in * sizeof *shift);
    if (shift == NULL)
        return AE_ERR_NOMEM;
    float *scale = shift + n_in;
    ae_scaler *sc = NULL;
    int rc = scaler_values(v[2], keys[2], n_in, 0, shift, who);
    if (rc == AE_OK)
        rc = scaler_values(v[3], keys[3], n_in, 1, scale, who);
    if (rc == AE_OK)
        rc = ae__scaler_make(&sc, kind, n_in, shift, scale);
    if (rc == AE_OK && (rc = ae_model_set_scaler(model, sc)) == AE_ERR_SHAPE)
        rc = ae__error(AE_ERR_FORMAT, "%s: libae.scaler entries on a model whose output size differs from "
                       "its input size", who);
    ae_scaler_destroy(sc);
    ae__free(shift);
    return rc;
}

static int import_model(ae_model **out, const void *data, size_t size, const ae_onnx_import_options *opts,
                        const char *who)
{
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL;
    ae__onnx_model *m = NULL;
    int rc = import_any(&enc, &dec, data, size, opts, &m, who);
    if (rc < 0)
        return rc;
    if ((rc = ae_model_create(&model, enc, dec)) < 0) {
        ae_encoder_destroy(enc);
        ae_decoder_destroy(dec);
    } else if ((rc = import_scaler(model, m, who)) < 0) {
        ae_model_destroy(model);
    } else {
        *out = model;
    }
    ae__onnx_free(m);
    ae__free(m);
    return rc;
}

typedef int (*import_fn)(void *out, const void *data, size_t size, const ae_onnx_import_options *opts,
                         const char *who);

static int imp_model(void *out, const void *data, size_t size, const ae_onnx_import_options *opts,
                     const char *who)
{
    return import_model(out, data, size, opts, who);
}

static int imp_encoder(void *out, const void *data, size_t size, const ae_onnx_import_options *opts,
                       const char *who)
{
    return import_any(out, NULL, data, size, opts, NULL, who);
}

static int imp_decoder(void *out, const void *data, size_t size, const ae_onnx_import_options *opts,
                       const char *who)
{
    return import_any(NULL, out, data, size, opts, NULL, who);
}

/* A public import: the header check, then the bytes (data, size) or the
 * file at path (data NULL), handed to fn. */
static int import_entry(void *out, const void *data, size_t size, const char *path,
                        const ae_onnx_import_options *opts, unsigned header_version, import_fn fn,
                        const char *who)
{
    int rc = ae__check_header(header_version, who);
    if (rc < 0)
        return rc;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out is NULL", who);
    if (data == NULL && path == NULL)
        return ae__error(AE_ERR_INVALID, "%s: path is NULL", who);
    if (data != NULL)
        return fn(out, data, size, opts, who);
    unsigned char *buf;
    size_t len;
    if ((rc = read_file(path, &buf, &len, who)) < 0)
        return rc;
    rc = fn(out, buf, len, opts, who);
    ae__free(buf);
    return rc;
}

#define IMPORT_FUNCTIONS(obj, type, fn)                                                             \
    int ae_##obj##_import_onnx_v(type **out, const char *path, const ae_onnx_import_options *opts,  \
                                 unsigned header_version)                                           \
    {                                                                                               \
        return import_entry(out, NULL, 0, path, opts, header_version, fn,                           \
                            "ae_" #obj "_import_onnx");                                            \
    }                                                                                               \
    int ae_##obj##_import_onnx_memory_v(type **out, const void *data, size_t size,                  \
                                        const ae_onnx_import_options *opts, unsigned header_version) \
    {                                                                                               \
        if (data == NULL)                                                                           \
            return ae__error(AE_ERR_INVALID, "ae_" #obj "_import_onnx_memory: data is NULL");       \
        return import_entry(out, data, size, NULL, opts, header_version, fn,                        \
                            "ae_" #obj "_import_onnx_memory");                                     \
    }

IMPORT_FUNCTIONS(model, ae_model, imp_model)
IMPORT_FUNCTIONS(encoder, ae_encoder, imp_encoder)
IMPORT_FUNCTIONS(decoder, ae_decoder, imp_decoder)

/* ---- the detector in metadata_props ------------------------------------------ */

/* A metadata value as a NUL-terminated string in buf. */
static int meta_str(const ae__onnx_model *m, const char *key, char *buf, size_t size)
{
    ae__pbs v;
    if (!ae__onnx_meta(m, key, &v) || v.n >= size)
        return 0;
    memcpy(buf, v.p, v.n);
    buf[v.n] = '\0';
    return 1;
}

static int meta_double(const ae__onnx_model *m, const char *key, double *out)
{
    char buf[64], *end;
    if (!meta_str(m, key, buf, sizeof buf))
        return 0;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end != '\0')
        return -1;
    *out = v;
    return 1;
}

int ae_detector_import_onnx_memory_v(ae_detector **out, const void *data, size_t size,
                                     unsigned header_version)
{
    static const char who[] = "ae_detector_import_onnx_memory";
    int rc = ae__check_header(header_version, who);
    if (rc < 0)
        return rc;
    if (out == NULL || data == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out or data is NULL", who);
    ae__onnx_model *m = ae__calloc(1, sizeof *m);
    if (m == NULL)
        return AE_ERR_NOMEM;
    ae_detector *det = NULL;
    char score[32], rule[32];
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    double t = 0.0;
    int has_t = 0;
    if ((rc = ae__onnx_parse(m, data, size, who)) < 0)
        goto done;
    if (!meta_str(m, "libae.detector.score", score, sizeof score) ||
        !meta_str(m, "libae.detector.rule", rule, sizeof rule)) {
        rc = ae__error(AE_ERR_NOT_FOUND, "%s: the file holds no libae.detector entries", who);
        goto done;
    }
    o.score = o.rule = -1;
    for (int k = 0; k < 16; k++) {
        if (strcmp(ae_score_name(k), score) == 0)
            o.score = k;
        if (strcmp(ae_threshold_rule_name(k), rule) == 0)
            o.rule = k;
    }
    if (o.score < 0 || o.rule < 0 || meta_double(m, "libae.detector.k", &o.k) < 0 ||
        meta_double(m, "libae.detector.quantile", &o.quantile) < 0 ||
        (has_t = meta_double(m, "libae.detector.threshold", &t)) < 0) {
        rc = ae__error(AE_ERR_FORMAT, "%s: malformed libae.detector entries (score '%s', rule '%s')", who,
                       score, rule);
        goto done;
    }
    if ((rc = ae_detector_create(&det, &o)) < 0) {
        rc = rc == AE_ERR_INVALID ? ae__error(AE_ERR_FORMAT, "%s: bad detector settings: %s", who, ae_last_error())
                                  : rc;
        goto done;
    }
    if (has_t && (rc = ae_detector_set_threshold(det, t)) < 0) {
        rc = ae__error(AE_ERR_FORMAT, "%s: bad threshold", who);
        goto done;
    }
    *out = det;
    det = NULL;
done:
    ae_detector_destroy(det);
    ae__onnx_free(m);
    ae__free(m);
    return rc;
}
