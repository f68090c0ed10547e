/* SPDX-License-Identifier: MIT */
/*
 * ae-convert - converts between libae model files and ONNX files.
 *
 *   ae-convert [--as model|encoder|decoder] [--latent NAME] [--batch N] IN OUT
 *
 * The direction follows the names: an OUT ending in ".onnx" is an export
 * of the libae file IN (ae_*_export_onnx(), with the file's anomaly
 * detector and PCA settings as metadata), any other OUT an import of the
 * ONNX file IN (ae_*_import_onnx(), then ae_*_save(); a detector in the
 * ONNX metadata is saved with a model). Exit status: 0 done; 1 a file
 * could not be read, converted or written (one line on stderr); 2 a bad
 * command line. The manual page is man/ae-convert.1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ae.h>

#define PROG "ae-convert"

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [--as KIND] [--latent NAME] [--batch N] IN OUT\n"
"Convert a libae model file to ONNX, or an ONNX file to a libae model file.\n"
"\n"
"When OUT ends in \".onnx\", IN is a libae file (model, encoder or decoder)\n"
"and OUT becomes its ONNX export (opset 13): an anomaly detector or PCA\n"
"stored in IN goes into the ONNX metadata_props. Otherwise IN is an ONNX\n"
"file (from libae or another producer, such as PyTorch) and OUT becomes a\n"
"libae file; a libae detector in its metadata is saved with a model.\n"
"Files are written atomically; OUT is untouched on failure.\n"
"\n"
"Options:\n"
"  --as KIND      import as a model (default), an encoder or a decoder\n"
"  --latent NAME  import as a model: the ONNX value where the encoder ends\n"
"                 (default: the file's libae.latent metadata, else the\n"
"                 graph output that another node reads)\n"
"  --batch N      export: a fixed batch size instead of a symbolic \"N\"\n"
"  -h, --help     print this help on stdout and exit 0\n"
"\n"
"Output:\n"
"  stdout: one line, \"IN -> OUT: <what was converted>\"\n"
"  stderr: on failure, \"" PROG ": FILE: <error>: <detail>\" (an unsupported\n"
"  ONNX node is named with its op)\n"
"\n"
"Exit status:\n"
"  0  converted\n"
"  1  IN could not be read or converted, or OUT could not be written\n"
"  2  a bad command line\n"
"\n"
"Examples:\n"
"  " PROG " model.aem model.onnx          libae -> ONNX (Netron, ONNX Runtime)\n"
"  " PROG " torch_ae.onnx model.aem       PyTorch's export -> libae\n"
"  " PROG " --as encoder enc.onnx enc.aem an encoder alone\n"
"\n"
"See also: the ae-convert(1) and ae-inspect(1) manual pages;\n"
"docs/interop.md and include/ae/onnx.h in the libae sources.\n");
}

static int fail(const char *path, int rc)
{
    fprintf(stderr, PROG ": %s: %s: %s\n", path, ae_strerror(rc), ae_last_error());
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int to_onnx(const char *in, const char *out, uint32_t batch)
{
    ae_file *f;
    int rc = ae_file_open(&f, in, NULL);
    if (rc < 0)
        return fail(in, rc);
    ae_file_info info = AE_FILE_INFO_INIT;
    ae_onnx_export_options o = AE_ONNX_EXPORT_OPTIONS_INIT;
    ae_detector *det = NULL;
    ae_pca *pca = NULL;
    ae_model *model = NULL;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    const char *what = "";
    o.batch = batch;
    ae_file_get_info(f, &info);
    if (info.has_detector && (rc = ae_file_load_detector(&det, f)) < 0)
        goto done;
    if (info.has_pca && (rc = ae_file_load_pca(&pca, f)) < 0)
        goto done;
    o.detector = det;
    o.pca = pca;
    switch (info.kind) {
    case AE_FILE_MODEL:
        what = "a model";
        if ((rc = ae_file_load_model(&model, f)) == AE_OK)
            rc = ae_model_export_onnx(model, out, &o);
        break;
    case AE_FILE_ENCODER:
        what = "an encoder";
        if ((rc = ae_file_load_encoder(&enc, f)) == AE_OK)
            rc = ae_encoder_export_onnx(enc, out, &o);
        break;
    case AE_FILE_DECODER:
        what = "a decoder";
        if ((rc = ae_file_load_decoder(&dec, f)) == AE_OK)
            rc = ae_decoder_export_onnx(dec, out, &o);
        break;
    default:
        fprintf(stderr, PROG ": %s: the file holds no network\n", in);
        rc = 1;
        goto done;
    }
done:
    ae_file_close(f);
    ae_model_destroy(model);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_detector_destroy(det);
    ae_pca_destroy(pca);
    if (rc == 1)
        return 1;
    if (rc < 0)
        return fail(rc == AE_ERR_IO ? out : in, rc);
    printf("%s -> %s: %s%s%s as ONNX opset %d\n", in, out, what, det ? " with its detector" : "",
           pca ? " and PCA settings" : "", AE_ONNX_OPSET);
    return 0;
}

/* Reads a whole file (for the detector's metadata). */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    if (fp == NULL)
        return NULL;
    for (;;) {
        if (n == cap) {
            unsigned char *b = cap > AE_ONNX_MAX_SIZE ? NULL : realloc(buf, cap ? 2 * cap : 65536);
            if (b == NULL) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = b;
            cap = cap ? 2 * cap : 65536;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    fclose(fp);
    *len = n;
    return buf;
}

static int from_onnx(const char *in, const char *out, const char *as, const char *latent)
{
    ae_onnx_import_options o = AE_ONNX_IMPORT_OPTIONS_INIT;
    ae_save_options so = AE_SAVE_OPTIONS_INIT;
    ae_detector *det = NULL;
    int rc;
    o.latent = latent;
    if (strcmp(as, "encoder") == 0) {
        ae_encoder *enc;
        if ((rc = ae_encoder_import_onnx(&enc, in, &o)) < 0)
            return fail(in, rc);
        rc = ae_encoder_save(enc, out, NULL);
        ae_encoder_destroy(enc);
    } else if (strcmp(as, "decoder") == 0) {
        ae_decoder *dec;
        if ((rc = ae_decoder_import_onnx(&dec, in, &o)) < 0)
            return fail(in, rc);
        rc = ae_decoder_save(dec, out, NULL);
        ae_decoder_destroy(dec);
    } else {
        ae_model *model;
        if ((rc = ae_model_import_onnx(&model, in, &o)) < 0) {
            fail(in, rc);
            if (rc == AE_ERR_NOT_FOUND)
                fprintf(stderr, PROG ": (an encoder or decoder alone? use --as encoder or --as decoder)\n");
            return 1;
        }
        size_t len;
        unsigned char *bytes = slurp(in, &len);
        if (bytes != NULL && ae_detector_import_onnx_memory(&det, bytes, len) == AE_OK)
            so.detector = det;
        free(bytes);
        rc = ae_model_save(model, out, &so);
        ae_model_destroy(model);
    }
    if (rc < 0) {
        ae_detector_destroy(det);
        return fail(out, rc);
    }
    printf("%s -> %s: %s%s\n", in, out, strcmp(as, "encoder") == 0 ? "an encoder"
                                        : strcmp(as, "decoder") == 0 ? "a decoder" : "a model",
           det ? " with its detector" : "");
    ae_detector_destroy(det);
    return 0;
}

int main(int argc, char **argv)
{
    const char *as = "model", *latent = NULL, *files[2];
    size_t n_files = 0;
    unsigned long batch = 0;
    int only_files = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_files && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)) {
            usage(stdout);
            return 0;
        } else if (!only_files && strcmp(argv[i], "--") == 0) {
            only_files = 1;
        } else if (!only_files && (strcmp(argv[i], "--as") == 0 || strcmp(argv[i], "--latent") == 0 ||
                                   strcmp(argv[i], "--batch") == 0)) {
            if (i + 1 >= argc) {
                fprintf(stderr, PROG ": %s needs a value (see --help)\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (strcmp(a, "--as") == 0) {
                if (strcmp(v, "model") != 0 && strcmp(v, "encoder") != 0 && strcmp(v, "decoder") != 0) {
                    fprintf(stderr, PROG ": --as takes model, encoder or decoder, not '%s'\n", v);
                    return 2;
                }
                as = v;
            } else if (strcmp(a, "--latent") == 0) {
                latent = v;
            } else {
                char *end;
                errno = 0;
                batch = strtoul(v, &end, 10);
                if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || batch == 0 || batch > UINT32_MAX) {
                    fprintf(stderr, PROG ": --batch takes a whole number from 1 to %u, not '%s'\n",
                            UINT32_MAX, v);
                    return 2;
                }
            }
        } else if (!only_files && a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, PROG ": unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (n_files == 2) {
            fprintf(stderr, PROG ": more than two files (see --help)\n");
            return 2;
        } else {
            files[n_files++] = a;
        }
    }
    if (n_files != 2) {
        fprintf(stderr, PROG ": needs IN and OUT (see --help)\n");
        return 2;
    }
    if (ends_with(files[1], ".onnx"))
        return to_onnx(files[0], files[1], (uint32_t)batch);
    return from_onnx(files[0], files[1], as, latent);
}
