/* SPDX-License-Identifier: MIT */
/*
 * helper.c - libae's side of tests/onnx/check.py (make check) and
 * tests/onnx/ort.mjs (make check-onnx):
 *
 *   helper models DIR      writes DIR/{dense,conv,custom}.aem, .onnx (model),
 *                          _enc.onnx, _dec.onnx, .in.f32 (inputs),
 *                          .out.f32 (libae's reconstructions, 8 samples)
 *                          and .shape.json (the per-sample input dims);
 *                          custom holds a custom kind exported through its
 *                          onnx_node hook (as Mul), so it has no import
 *   helper run ONNX IN OUT COUNT   imports ONNX as a model (latent from
 *                          the file) and writes its reconstruction of the
 *                          COUNT samples of IN (raw float32) to OUT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_models.h"

#define SAMPLES 8

static int write_f32(const char *path, const float *x, size_t n)
{
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(x, sizeof *x, n, f) == n;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : 1;
}

static int models(const char *dir)
{
    static const char *const names[3] = {"dense", "conv", "custom"};
    char path[4096];
    if (om_scale_register(1) != AE_OK)
        return 1;
    for (int k = 0; k < 3; k++) {
        ae_model *m;
        if ((k == 2 ? om_custom(&m) : k ? om_conv(&m) : om_dense(&m)) != AE_OK)
            return 1;
        ae_shape in;
        ae_encoder_input_shape(ae_model_encoder(m), &in);
        size_t n = 1;
        for (uint32_t d = 0; d < in.rank; d++)
            n *= in.dims[d];
        float *x = malloc(SAMPLES * n * sizeof *x), *y = malloc(SAMPLES * n * sizeof *y);
        om_inputs(x, SAMPLES * n, 99 + (uint64_t)k);
        int rc = ae_model_reconstruct(m, x, SAMPLES, y);
#define P(fmt) (snprintf(path, sizeof path, fmt, dir, names[k]), path)
        /* the dense model's file carries a fitted detector (ae-convert passes it on) */
        ae_detector *det = NULL;
        ae_save_options so = AE_SAVE_OPTIONS_INIT;
        if (rc == AE_OK && k == 0 && (rc = ae_detector_create(&det, NULL)) == AE_OK &&
            (rc = ae_detector_set_threshold(det, 0.0123456789)) == AE_OK)
            so.detector = det;
        if (rc == AE_OK)
            rc = ae_model_save(m, P("%s/%s.aem"), &so);
        ae_detector_destroy(det);
        if (rc == AE_OK)
            rc = ae_model_export_onnx(m, P("%s/%s.onnx"), NULL);
        /* the dense model again with a scaler: its settings go into metadata_props */
        if (rc == AE_OK && k == 0) {
            ae_dataset *ds = NULL;
            ae_scaler *sc = NULL;
            if ((rc = ae_dataset_from_memory(&ds, x, NULL, SAMPLES, &in, AE_DATASET_COPY)) == AE_OK &&
                (rc = ae_scaler_create(&sc, AE_SCALER_STANDARD)) == AE_OK &&
                (rc = ae_scaler_fit(sc, ds)) == AE_OK && (rc = ae_model_set_scaler(m, sc)) == AE_OK)
                rc = ae_model_export_onnx(m, P("%s/%s_scaled.onnx"), NULL);
            if (rc == AE_OK)
                rc = ae_model_set_scaler(m, NULL);
            ae_scaler_destroy(sc);
            ae_dataset_destroy(ds);
        }
        if (rc == AE_OK)
            rc = ae_encoder_export_onnx(ae_model_encoder(m), P("%s/%s_enc.onnx"), NULL);
        if (rc == AE_OK)
            rc = ae_decoder_export_onnx(ae_model_decoder(m), P("%s/%s_dec.onnx"), NULL);
        if (rc == AE_OK)
            rc = write_f32(P("%s/%s.in.f32"), x, SAMPLES * n) || write_f32(P("%s/%s.out.f32"), y, SAMPLES * n);
        FILE *js = rc == AE_OK ? fopen(P("%s/%s.shape.json"), "w") : NULL;
        if (js != NULL) {
            for (uint32_t d = 0; d < in.rank; d++)
                fprintf(js, "%s%u", d ? ", " : "[", in.dims[d]);
            rc = fprintf(js, "]\n") < 0 || fclose(js) != 0;
        }
        free(x);
        free(y);
        ae_model_destroy(m);
        if (rc != AE_OK) {
            fprintf(stderr, "helper: %s: %s\n", names[k], ae_last_error());
            return 1;
        }
    }
    return 0;
}

static int run(const char *onnx, const char *in, const char *out, size_t count)
{
    ae_model *m;
    int rc = ae_model_import_onnx(&m, onnx, NULL);
    if (rc < 0) {
        fprintf(stderr, "helper: %s: %s: %s\n", onnx, ae_strerror(rc), ae_last_error());
        return 1;
    }
    ae_shape s;
    ae_encoder_input_shape(ae_model_encoder(m), &s);
    size_t n = 1;
    for (uint32_t d = 0; d < s.rank; d++)
        n *= s.dims[d];
    float *x = malloc(count * n * sizeof *x), *y = malloc(count * n * sizeof *y);
    FILE *f = fopen(in, "rb");
    if (f == NULL || fread(x, sizeof *x, count * n, f) != count * n) {
        fprintf(stderr, "helper: cannot read %zu x %zu floats from %s\n", count, n, in);
        rc = 1;
    }
    if (f != NULL)
        fclose(f);
    if (rc == 0 && (rc = ae_model_reconstruct(m, x, count, y)) != AE_OK)
        fprintf(stderr, "helper: reconstruct: %s\n", ae_last_error());
    if (rc == 0)
        rc = write_f32(out, y, count * n);
    free(x);
    free(y);
    ae_model_destroy(m);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "models") == 0)
        return models(argv[2]);
    if (argc == 6 && strcmp(argv[1], "run") == 0)
        return run(argv[2], argv[3], argv[4], (size_t)strtoul(argv[5], NULL, 10));
    fprintf(stderr, "usage: helper models DIR | helper run ONNX IN OUT COUNT\n");
    return 2;
}
