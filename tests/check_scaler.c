/* SPDX-License-Identifier: MIT */
/* check_scaler.c - the scaler (ae/scaler.h): fitting, transforms, scaled
 * datasets, a model that takes raw data (train, evaluate, reconstruct,
 * encode, score), the SCAL section of model files (round trip, hostile
 * bytes, what a reader without it does), and noise's clipping range. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "core/core.h"
#include "data/noise.h"
#include "io/io.h"
#include "testutil.h"

enum { N = 40, F = 5 };
static const ae_shape in_shape = {1, {F}};

/* Features of very different units: feature j ~ offset j*100 - 50, spread 10^(j-2);
 * feature 3 is constant. */
static void raw_table(float *x, size_t count, uint64_t seed)
{
    uint64_t st = seed;
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < F; j++) {
            float u = test_rand_uniform(&st) - 0.5f;
            x[i * F + j] = j == 3 ? 7.0f : (float)j * 100.0f - 50.0f + u * powf(10.0f, (float)j - 2.0f);
        }
}

static ae_dataset *raw_dataset(size_t count, uint64_t seed, int labelled)
{
    float *x = malloc(count * F * sizeof *x);
    int32_t *lab = malloc(count * sizeof *lab);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(lab);
    raw_table(x, count, seed);
    for (size_t i = 0; i < count; i++)
        lab[i] = (int32_t)(i % 3);
    ae_dataset *ds = NULL;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, labelled ? lab : NULL, count, &in_shape,
                                            AE_DATASET_COPY),
                     AE_OK);
    free(x);
    free(lab);
    return ds;
}

static ae_scaler *fitted(int kind, const ae_dataset *ds)
{
    ae_scaler *sc = NULL;
    ck_assert_int_eq(ae_scaler_create(&sc, kind), AE_OK);
    ck_assert_int_eq(ae_scaler_fit(sc, ds), AE_OK);
    return sc;
}

static ae_model *small_model(uint64_t seed)
{
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *m = NULL;
    const ae_shape lat = {1, {2}};
    ck_assert_int_eq(ae_encoder_create(&enc, &in_shape, seed), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 2, AE_ACT_TANH), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, seed + 1), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, F, AE_ACT_IDENTITY), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

START_TEST(standard_scaler_gives_mean_0_and_deviation_1)
{
    ae_dataset *ds = raw_dataset(N, 1, 0);
    ae_scaler *sc = fitted(AE_SCALER_STANDARD, ds);
    ck_assert_uint_eq(ae_scaler_features(sc), F);
    ck_assert_int_eq(ae_scaler_kind(sc), AE_SCALER_STANDARD);
    ck_assert_str_eq(ae_scaler_kind_name(AE_SCALER_STANDARD), "standard");
    ck_assert_str_eq(ae_scaler_kind_name(42), "unknown");
    float x[N * F], y[N * F], back[N * F], shift[F], scale[F];
    for (size_t i = 0; i < N; i++)
        memcpy(x + i * F, ae_dataset_sample(ds, i), F * sizeof(float));
    ck_assert_int_eq(ae_scaler_transform(sc, x, N, y), AE_OK);
    ck_assert_int_eq(ae_scaler_params(sc, shift, scale), AE_OK);
    ck_assert_float_eq(scale[3], 1.0f); /* the constant feature */
    for (size_t j = 0; j < F; j++) {
        double m = 0, v = 0;
        for (size_t i = 0; i < N; i++)
            m += y[i * F + j];
        m /= N;
        for (size_t i = 0; i < N; i++)
            v += (y[i * F + j] - m) * (y[i * F + j] - m);
        v /= N;
        /* float inputs: feature 0 (-50 +- 0.005) is resolved to ~1e-3 of its spread */
        ck_assert_double_eq_tol(m, 0.0, 5e-3);
        ck_assert_double_eq_tol(v, j == 3 ? 0.0 : 1.0, 5e-3);
        ck_assert(scale[j] > 0.0f);
    }
    ck_assert_int_eq(ae_scaler_inverse_transform(sc, y, N, back), AE_OK);
    for (size_t i = 0; i < N * F; i++)
        ck_assert_float_eq_tol(back[i], x[i], 1e-4f * (1.0f + fabsf(x[i])));
    /* in place gives the same bits */
    ck_assert_int_eq(ae_scaler_transform(sc, x, N, x), AE_OK);
    ck_assert_mem_eq(x, y, sizeof y);
    ae_scaler_destroy(sc);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(minmax_scaler_maps_training_data_to_0_1)
{
    ae_dataset *ds = raw_dataset(N, 2, 0);
    ae_scaler *sc = fitted(AE_SCALER_MINMAX, ds);
    ae_dataset *sd = NULL;
    ck_assert_int_eq(ae_scaler_apply(&sd, sc, ds), AE_OK);
    for (size_t j = 0; j < F; j++) {
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < N; i++) {
            float v = ae_dataset_sample(sd, i)[j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        ck_assert_float_eq_tol(lo, 0.0f, 1e-6f);
        ck_assert_float_eq_tol(hi, j == 3 ? 0.0f : 1.0f, 1e-5f);
    }
    ae_dataset_destroy(sd);
    ae_scaler_destroy(sc);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(apply_keeps_shape_and_labels)
{
    ae_dataset *ds = raw_dataset(N, 3, 1), *sd = NULL;
    ae_scaler *sc = fitted(AE_SCALER_STANDARD, ds);
    ck_assert_int_eq(ae_scaler_apply(&sd, sc, ds), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(sd), N);
    ck_assert_int_eq(ae_dataset_has_labels(sd), 1);
    float y[F];
    for (size_t i = 0; i < N; i++) {
        int32_t a, b;
        ck_assert_int_eq(ae_dataset_label(ds, i, &a), AE_OK);
        ck_assert_int_eq(ae_dataset_label(sd, i, &b), AE_OK);
        ck_assert_int_eq(a, b);
        ck_assert_int_eq(ae_scaler_transform(sc, ae_dataset_sample(ds, i), 1, y), AE_OK);
        ck_assert_mem_eq(y, ae_dataset_sample(sd, i), sizeof y);
    }
    ae_dataset_destroy(sd);
    ae_scaler_destroy(sc);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(scaler_errors)
{
    ae_scaler *sc = NULL;
    ae_dataset *ds = raw_dataset(4, 4, 0), *sd = NULL;
    float x[F] = {0}, y[F];
    ck_assert_int_eq(ae_scaler_create(NULL, AE_SCALER_STANDARD), AE_ERR_INVALID);
    ck_assert_int_eq(ae_scaler_create(&sc, 2), AE_ERR_INVALID);
    ck_assert_ptr_null(sc);
    ck_assert_int_eq(ae_scaler_create(&sc, AE_SCALER_STANDARD), AE_OK);
    ck_assert_uint_eq(ae_scaler_features(sc), 0);
    ck_assert_uint_eq(ae_scaler_features(NULL), 0);
    ck_assert_int_eq(ae_scaler_kind(NULL), AE_ERR_INVALID);
    /* not fitted */
    ck_assert_int_eq(ae_scaler_transform(sc, x, 1, y), AE_ERR_STATE);
    ck_assert_int_eq(ae_scaler_inverse_transform(sc, x, 1, y), AE_ERR_STATE);
    ck_assert_int_eq(ae_scaler_params(sc, NULL, NULL), AE_ERR_STATE);
    ck_assert_int_eq(ae_scaler_apply(&sd, sc, ds), AE_ERR_STATE);
    /* NULL and count 0 */
    ck_assert_int_eq(ae_scaler_fit(sc, NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ds is NULL"));
    ck_assert_int_eq(ae_scaler_fit(sc, ds), AE_OK);
    ck_assert_int_eq(ae_scaler_transform(sc, NULL, 1, y), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "x is NULL"));
    ck_assert_int_eq(ae_scaler_transform(sc, x, 0, y), AE_ERR_INVALID);
    ck_assert_int_eq(ae_scaler_inverse_transform(sc, x, 1, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_scaler_params(NULL, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_scaler_apply(NULL, sc, ds), AE_ERR_INVALID);
    /* another sample size */
    const ae_shape s3 = {1, {3}};
    ae_dataset *d3 = NULL;
    ck_assert_int_eq(ae_dataset_from_memory(&d3, x, NULL, 1, &s3, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_scaler_apply(&sd, sc, d3), AE_ERR_SHAPE);
    ck_assert_ptr_null(sd);
    /* a NaN in the data: named, and the old fit kept */
    float shift[F], shift2[F];
    ck_assert_int_eq(ae_scaler_params(sc, shift, NULL), AE_OK);
    float bad[2 * F] = {0};
    bad[F + 2] = NAN;
    ae_dataset *dn = NULL;
    ck_assert_int_eq(ae_dataset_from_memory(&dn, bad, NULL, 2, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_scaler_fit(sc, dn), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "sample 1, feature 2 is NaN"));
    ck_assert_int_eq(ae_scaler_params(sc, shift2, NULL), AE_OK);
    ck_assert_mem_eq(shift, shift2, sizeof shift);
    ae_dataset_destroy(dn);
    /* a feature from -FLT_MAX to FLT_MAX: its range has no float (1.0 gave
     * it scale 1, and the transform infinities); the old fit is kept */
    ae_scaler *mm = NULL;
    ck_assert_int_eq(ae_scaler_create(&mm, AE_SCALER_MINMAX), AE_OK);
    bad[F + 2] = FLT_MAX;
    bad[2] = -FLT_MAX;
    ck_assert_int_eq(ae_dataset_from_memory(&dn, bad, NULL, 2, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_scaler_fit(mm, dn), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "feature 2's range, 6.80565e+38, overflows float"));
    ck_assert_uint_eq(ae_scaler_features(mm), 0);
    bad[2] = FLT_MAX / 2; /* a range of FLT_MAX / 2 is fine */
    ae_dataset_destroy(dn);
    ck_assert_int_eq(ae_dataset_from_memory(&dn, bad, NULL, 2, &in_shape, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_scaler_fit(mm, dn), AE_OK);
    ck_assert_int_eq(ae_scaler_transform(mm, bad + F, 1, y), AE_OK);
    ck_assert_float_eq(y[2], 1.0f);
    ae_scaler_destroy(mm);
    ae_dataset_destroy(dn);
    ae_dataset_destroy(d3);
    ae_scaler_destroy(sc);
    ae_scaler_destroy(NULL);
    ae_dataset_destroy(ds);
}
END_TEST

/* Training a model with the scaler attached on raw data gives the same
 * model as training it without on the scaled copy; then every input-taking
 * call of the scaled model takes raw data. */
START_TEST(a_model_with_a_scaler_takes_raw_data)
{
    ae_dataset *raw = raw_dataset(N, 5, 0), *scaled = NULL;
    ae_scaler *sc = fitted(AE_SCALER_STANDARD, raw);
    ck_assert_int_eq(ae_scaler_apply(&scaled, sc, raw), AE_OK);
    ae_model *a = small_model(11), *b = small_model(11);
    ck_assert_ptr_null(ae_model_get_scaler(a));
    ck_assert_int_eq(ae_model_set_scaler(a, sc), AE_OK);
    ck_assert_ptr_nonnull(ae_model_get_scaler(a));
    ck_assert_ptr_ne(ae_model_get_scaler(a), sc); /* a copy */
    ae_optimizer *oa = NULL, *ob = NULL;
    ck_assert_int_eq(ae_optimizer_create(&oa, NULL), AE_OK);
    ck_assert_int_eq(ae_optimizer_create(&ob, NULL), AE_OK);
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 3;
    to.batch_size = 8;
    to.validation = raw;
    ck_assert_int_eq(ae_model_train(a, oa, raw, &to), AE_OK);
    to.validation = scaled;
    ck_assert_int_eq(ae_model_train(b, ob, scaled, &to), AE_OK);
    for (size_t e = 0; e < 3; e++) {
        double ta, va, tb, vb;
        ck_assert_int_eq(ae_model_history_get(a, e, &ta, &va), AE_OK);
        ck_assert_int_eq(ae_model_history_get(b, e, &tb, &vb), AE_OK);
        ck_assert_double_eq(ta, tb);
        ck_assert_double_eq(va, vb);
    }
    float x[N * F], xs[N * F], ra[N * F], rb[N * F], za[N * 2], zb[N * 2];
    for (size_t i = 0; i < N; i++)
        memcpy(x + i * F, ae_dataset_sample(raw, i), F * sizeof(float));
    ck_assert_int_eq(ae_scaler_transform(sc, x, N, xs), AE_OK);
    /* reconstruct: raw in, raw out */
    ck_assert_int_eq(ae_model_reconstruct(a, x, N, ra), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(b, xs, N, rb), AE_OK);
    ck_assert_int_eq(ae_scaler_inverse_transform(sc, rb, N, rb), AE_OK);
    ck_assert_mem_eq(ra, rb, sizeof ra);
    /* encode */
    ck_assert_int_eq(ae_model_encode(a, x, N, za), AE_OK);
    ck_assert_int_eq(ae_model_encode(b, xs, N, zb), AE_OK);
    ck_assert_mem_eq(za, zb, sizeof za);
    ck_assert_int_eq(ae_encoder_encode(ae_model_encoder(b), xs, N, zb), AE_OK);
    ck_assert_mem_eq(za, zb, sizeof za);
    /* scores and the loss: on the scaled values */
    double ea[N], eb[N], la, lb;
    ck_assert_int_eq(ae_model_score(a, x, N, AE_SCORE_MSE, ea), AE_OK);
    ck_assert_int_eq(ae_model_score(b, xs, N, AE_SCORE_MSE, eb), AE_OK);
    ck_assert_mem_eq(ea, eb, sizeof ea);
    ck_assert_int_eq(ae_model_score_dataset(a, raw, AE_SCORE_MAE, ea), AE_OK);
    ck_assert_int_eq(ae_model_score_dataset(b, scaled, AE_SCORE_MAE, eb), AE_OK);
    ck_assert_mem_eq(ea, eb, sizeof ea);
    ck_assert_int_eq(ae_model_evaluate(a, raw, AE_LOSS_MSE, &la), AE_OK);
    ck_assert_int_eq(ae_model_evaluate(b, scaled, AE_LOSS_MSE, &lb), AE_OK);
    ck_assert_double_eq(la, lb);
    /* detaching: the model takes scaled data again */
    ck_assert_int_eq(ae_model_set_scaler(a, NULL), AE_OK);
    ck_assert_ptr_null(ae_model_get_scaler(a));
    ck_assert_int_eq(ae_model_reconstruct(a, xs, N, ra), AE_OK);
    ck_assert_int_eq(ae_model_reconstruct(b, xs, N, rb), AE_OK);
    ck_assert_mem_eq(ra, rb, sizeof ra);
    ae_optimizer_destroy(oa);
    ae_optimizer_destroy(ob);
    ae_model_destroy(a);
    ae_model_destroy(b);
    ae_scaler_destroy(sc);
    ae_dataset_destroy(scaled);
    ae_dataset_destroy(raw);
}
END_TEST

START_TEST(set_scaler_errors)
{
    ae_dataset *raw = raw_dataset(N, 6, 0);
    ae_model *m = small_model(3);
    ae_scaler *sc = NULL;
    float x[F] = {0}, z[2];
    ck_assert_int_eq(ae_scaler_create(&sc, AE_SCALER_MINMAX), AE_OK);
    ck_assert_int_eq(ae_model_set_scaler(NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_set_scaler(m, sc), AE_ERR_STATE); /* not fitted */
    const ae_shape s3 = {1, {3}};
    ae_dataset *d3 = NULL;
    ck_assert_int_eq(ae_dataset_from_memory(&d3, x, NULL, 1, &s3, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_scaler_fit(sc, d3), AE_OK);
    ck_assert_int_eq(ae_model_set_scaler(m, sc), AE_ERR_SHAPE);
    ck_assert_ptr_null(ae_model_get_scaler(m));
    ck_assert_ptr_null(ae_model_get_scaler(NULL));
    ck_assert_int_eq(ae_model_encode(NULL, x, 1, z), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "model is NULL"));
    ck_assert_int_eq(ae_model_encode(m, x, 0, z), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_encode(m, x, 1, NULL), AE_ERR_INVALID);
    ae_dataset_destroy(d3);
    ae_scaler_destroy(sc);
    ae_model_destroy(m);
    ae_dataset_destroy(raw);
}
END_TEST

/* Saves a model with a scaler to memory. */
static void save_scaled(ae_model **model, void **buf, size_t *size, int kind)
{
    ae_dataset *raw = raw_dataset(N, 7, 0);
    ae_scaler *sc = fitted(kind, raw);
    *model = small_model(5);
    ck_assert_int_eq(ae_model_set_scaler(*model, sc), AE_OK);
    ck_assert_int_eq(ae_model_save_memory(*model, buf, size, NULL), AE_OK);
    ae_scaler_destroy(sc);
    ae_dataset_destroy(raw);
}

/* The SCAL section's payload in a saved file (offset of its header). */
static size_t find_section(const unsigned char *b, size_t size, const char *type)
{
    for (size_t off = 64; off + 64 <= size;) {
        uint64_t len = ae__rd64(b + off + 8);
        if (memcmp(b + off, type, 4) == 0)
            return off;
        off += 64 + (size_t)ae__align64(len);
    }
    ck_abort_msg("no %s section", type);
    return 0;
}

START_TEST(the_scaler_is_saved_and_loaded_with_the_model)
{
    for (int kind = AE_SCALER_STANDARD; kind <= AE_SCALER_MINMAX; kind++) {
        ae_model *m = NULL, *l = NULL;
        void *buf = NULL;
        size_t size = 0;
        save_scaled(&m, &buf, &size, kind);
        const unsigned char *b = buf;
        ck_assert_uint_eq(ae__rd16(b + 10), 1); /* format 1.1: it holds a SCAL section */
        size_t off = find_section(b, size, "SCAL");
        ck_assert_uint_eq(ae__rd32(b + off + 4), AE__SECTION_REQUIRED);
        ae_file *f = NULL;
        ck_assert_int_eq(ae_file_open_memory(&f, buf, size, NULL), AE_OK);
        ck_assert_int_eq(ae_file_load_model(&l, f), AE_OK);
        ae_scaler *fs = NULL;
        ck_assert_int_eq(ae_file_load_scaler(&fs, f), AE_OK);
        ck_assert_int_eq(ae_scaler_kind(fs), kind);
        ae_file_close(f);
        float s1[F], c1[F], s2[F], c2[F];
        ck_assert_int_eq(ae_scaler_params(ae_model_get_scaler(m), s1, c1), AE_OK);
        ck_assert_int_eq(ae_scaler_params(ae_model_get_scaler(l), s2, c2), AE_OK);
        ck_assert_mem_eq(s1, s2, sizeof s1);
        ck_assert_mem_eq(c1, c2, sizeof c1);
        ck_assert_int_eq(ae_scaler_params(fs, s2, c2), AE_OK);
        ck_assert_mem_eq(c1, c2, sizeof c1);
        float x[3 * F], r1[3 * F], r2[3 * F];
        raw_table(x, 3, 99);
        ck_assert_int_eq(ae_model_reconstruct(m, x, 3, r1), AE_OK);
        ck_assert_int_eq(ae_model_reconstruct(l, x, 3, r2), AE_OK);
        ck_assert_mem_eq(r1, r2, sizeof r1);
        /* re-saving gives the same bytes */
        void *buf2 = NULL;
        size_t size2 = 0;
        ck_assert_int_eq(ae_model_save_memory(l, &buf2, &size2, NULL), AE_OK);
        ck_assert_uint_eq(size, size2);
        ck_assert_mem_eq(buf, buf2, size);
        ae_buffer_free(buf2);
        ae_scaler_destroy(fs);
        ae_model_destroy(l);
        ae_model_destroy(m);
        ae_buffer_free(buf);
    }
    /* without a scaler: format 1.0, no SCAL, ae_file_load_scaler says so */
    ae_model *m = small_model(5);
    void *buf = NULL;
    size_t size = 0;
    ck_assert_int_eq(ae_model_save_memory(m, &buf, &size, NULL), AE_OK);
    ck_assert_uint_eq(ae__rd16((const unsigned char *)buf + 10), 0);
    ae_file *f = NULL;
    ae_scaler *fs = NULL;
    ck_assert_int_eq(ae_file_open_memory(&f, buf, size, NULL), AE_OK);
    ck_assert_int_eq(ae_file_load_scaler(&fs, f), AE_ERR_NOT_FOUND);
    ck_assert_int_eq(ae_file_load_scaler(NULL, f), AE_ERR_INVALID);
    ck_assert_ptr_null(fs);
    ae_file_close(f);
    ae_buffer_free(buf);
    ae_model_destroy(m);
}
END_TEST

/* Rewrites the section CRC after a payload edit (section at off). */
static void fix_crc(unsigned char *b, size_t off)
{
    uint64_t len = ae__rd64(b + off + 8);
    uint32_t crc = ae__crc32(0, b + off + 64, (size_t)len);
    ae__le32(b + off + 60, ae__crc32(crc, b + off, 60));
}

START_TEST(hostile_scal_sections_are_refused)
{
    ae_model *m = NULL;
    void *buf = NULL;
    size_t size = 0;
    save_scaled(&m, &buf, &size, AE_SCALER_STANDARD);
    unsigned char *copy = malloc(size);
    ck_assert_ptr_nonnull(copy);
    const size_t off = find_section(buf, size, "SCAL"), p = off + 64;
    const size_t scale0 = p + (size_t)ae__align64(64 + 4 * F);
    struct {
        size_t at;
        uint32_t value;
        int code;
        const char *says;
    } cases[] = {
        {p, 2, AE_ERR_FORMAT, "kind 2"},                           /* unknown kind */
        {p + 4, F + 1, AE_ERR_FORMAT, "features"},                 /* not the input size */
        {p + 4, 0, AE_ERR_FORMAT, "features"},
        {p + 4, 0xFFFFFFFFu, AE_ERR_FORMAT, "features"},
        {p + 20, 1, AE_ERR_FORMAT, "reserved"},
        {p + 64 + 4 * F, 1, AE_ERR_FORMAT, "padding"},
        {scale0, 0, AE_ERR_FORMAT, "scale 0"},                     /* scale 0 */
        {scale0 + 4, 0xBF800000u, AE_ERR_FORMAT, "scale -1"},      /* negative */
        {p + 64, 0x7FC00000u, AE_ERR_FORMAT, "shift nan"},         /* NaN shift */
        {off + 4, 0, AE_ERR_FORMAT, "REQUIRED"},                   /* flag cleared */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(copy, buf, size);
        ae__le32(copy + cases[c].at, cases[c].value);
        fix_crc(copy, off);
        ae_file *f = NULL;
        ck_assert_msg(ae_file_open_memory(&f, copy, size, NULL) == cases[c].code, "case %zu: %s",
                      c, ae_last_error());
        ck_assert_msg(strstr(ae_last_error(), "SCAL") != NULL && strstr(ae_last_error(), cases[c].says),
                      "case %zu: %s", c, ae_last_error());
        ck_assert_ptr_null(f);
    }
    /* a payload one byte short or long: the section sizes disagree */
    memcpy(copy, buf, size);
    ae__le64(copy + off + 8, ae__rd64(copy + off + 8) - 4);
    fix_crc(copy, off);
    ae_file *f = NULL;
    ck_assert_int_eq(ae_file_open_memory(&f, copy, size, NULL), AE_ERR_FORMAT);
    /* A reader that does not know SCAL (libae 1.0) meets an unknown REQUIRED
     * section: it refuses the file rather than ignore the scaler. */
    memcpy(copy, buf, size);
    memcpy(copy + off, "SCAX", 4);
    fix_crc(copy, off);
    ck_assert_int_eq(ae_file_open_memory(&f, copy, size, NULL), AE_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "required but unknown"));
    free(copy);
    ae_buffer_free(buf);
    ae_model_destroy(m);
}
END_TEST

START_TEST(noise_range_follows_the_data_or_the_options)
{
    float x[64], y[64];
    for (size_t i = 0; i < 64; i++)
        x[i] = (float)i / 63.0f * 6.0f - 3.0f; /* standardised-looking: [-3, 3] */
    /* [0, 1] (ae_noise_apply) wipes out negative values; the data's range keeps them */
    memcpy(y, x, sizeof x);
    ck_assert_int_eq(ae_noise_apply(y, 64, AE_NOISE_GAUSSIAN, 0.1f, 9), AE_OK);
    for (size_t i = 0; i < 64; i++)
        ck_assert(y[i] >= 0.0f && y[i] <= 1.0f);
    memcpy(y, x, sizeof x);
    ck_assert_int_eq(ae_noise_apply_range(y, 64, AE_NOISE_GAUSSIAN, 0.1f, 9, -3.0f, 3.0f), AE_OK);
    size_t negative = 0;
    for (size_t i = 0; i < 64; i++) {
        ck_assert(y[i] >= -3.0f && y[i] <= 3.0f);
        negative += y[i] < 0.0f;
    }
    ck_assert_uint_ge(negative, 25);
    /* with [0, 1] it is ae_noise_apply, bit for bit */
    float a[64], b[64];
    for (size_t i = 0; i < 64; i++)
        a[i] = b[i] = (float)i / 64.0f;
    ck_assert_int_eq(ae_noise_apply(a, 64, AE_NOISE_SALT_PEPPER, 0.5f, 3), AE_OK);
    ck_assert_int_eq(ae_noise_apply_range(b, 64, AE_NOISE_SALT_PEPPER, 0.5f, 3, 0.0f, 1.0f), AE_OK);
    ck_assert_mem_eq(a, b, sizeof a);
    /* salt and pepper write the range's ends */
    for (size_t i = 0; i < 64; i++)
        b[i] = 0.5f;
    ck_assert_int_eq(ae_noise_apply_range(b, 64, AE_NOISE_SALT_PEPPER, 1.0f, 3, -2.0f, 5.0f), AE_OK);
    for (size_t i = 0; i < 64; i++)
        ck_assert(b[i] == -2.0f || b[i] == 5.0f);
    /* bad ranges */
    ck_assert_int_eq(ae_noise_apply_range(b, 64, AE_NOISE_GAUSSIAN, 0.1f, 3, 1.0f, 1.0f), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply_range(b, 64, AE_NOISE_GAUSSIAN, 0.1f, 3, NAN, 1.0f), AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply_range(b, 64, AE_NOISE_GAUSSIAN, 0.1f, 3, 0.0f, INFINITY),
                     AE_ERR_INVALID);
    ck_assert_int_eq(ae_noise_apply_range(NULL, 64, AE_NOISE_GAUSSIAN, 0.1f, 3, 0.0f, 1.0f),
                     AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_noise_apply_range: x is NULL"));
    /* training's range: the data's min and max by default */
    ae_dataset *ds = NULL;
    const ae_shape s8 = {1, {8}};
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, 8, &s8, AE_DATASET_COPY), AE_OK);
    float lo, hi;
    ck_assert_int_eq(ae__noise_range(AE_NOISE_GAUSSIAN, AE_NOISE_CLIP_DATA, 0, 0, ds, &lo, &hi, "t"), AE_OK);
    ck_assert_float_eq(lo, -3.0f);
    ck_assert_float_eq(hi, 3.0f);
    ck_assert_int_eq(ae__noise_range(AE_NOISE_GAUSSIAN, AE_NOISE_CLIP_RANGE, -1, 2, ds, &lo, &hi, "t"), AE_OK);
    ck_assert_float_eq(lo, -1.0f);
    ck_assert_float_eq(hi, 2.0f);
    ck_assert_int_eq(ae__noise_range(AE_NOISE_GAUSSIAN, AE_NOISE_CLIP_NONE, 0, 0, ds, &lo, &hi, "t"), AE_OK);
    ck_assert(isinf(lo) && isinf(hi) && lo < 0);
    ck_assert_int_eq(ae__noise_range(AE_NOISE_SALT_PEPPER, AE_NOISE_CLIP_NONE, 0, 0, ds, &lo, &hi, "t"), AE_OK);
    ck_assert_float_eq(lo, -3.0f);
    ck_assert_int_eq(ae__noise_range(AE_NOISE_GAUSSIAN, AE_NOISE_CLIP_RANGE, 2, 1, ds, &lo, &hi, "t"),
                     AE_ERR_INVALID);
    ck_assert_int_eq(ae__noise_range(AE_NOISE_GAUSSIAN, 7, 0, 1, ds, &lo, &hi, "t"), AE_ERR_INVALID);
    /* and ae_model_train checks them */
    ae_model *m = NULL;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    const ae_shape lat = {1, {2}};
    ck_assert_int_eq(ae_encoder_create(&enc, &s8, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 2, AE_ACT_TANH), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 8, AE_ACT_IDENTITY), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    ae_optimizer *opt = NULL;
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 1;
    to.noise = AE_NOISE_GAUSSIAN;
    to.noise_amount = 0.1f;
    to.noise_clip = AE_NOISE_CLIP_RANGE;
    to.noise_min = 1.0f;
    to.noise_max = 0.0f;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "noise range"));
    to.noise_clip = AE_NOISE_CLIP_DATA;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    /* a loop of one's own: the step handle takes the range too */
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    ae_step *st = NULL;
    ck_assert_float_eq(so.noise_min, 0.0f);
    ck_assert_float_eq(so.noise_max, 1.0f);
    so.noise = AE_NOISE_GAUSSIAN;
    so.noise_amount = 0.1f;
    so.noise_min = so.noise_max = 1.0f;
    ck_assert_int_eq(ae_step_create(&st, m, opt, &so), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "noise range"));
    so.noise_min = -3.0f;
    so.noise_max = 3.0f;
    ck_assert_int_eq(ae_step_create(&st, m, opt, &so), AE_OK);
    ae_step_destroy(st);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    ae_dataset_destroy(ds);
}
END_TEST

Suite *ae_scaler_suite(void)
{
    Suite *s = suite_create("scaler");
    TCase *tc = tcase_create("scaler");
    tcase_add_test(tc, standard_scaler_gives_mean_0_and_deviation_1);
    tcase_add_test(tc, minmax_scaler_maps_training_data_to_0_1);
    tcase_add_test(tc, apply_keeps_shape_and_labels);
    tcase_add_test(tc, scaler_errors);
    tcase_add_test(tc, a_model_with_a_scaler_takes_raw_data);
    tcase_add_test(tc, set_scaler_errors);
    tcase_add_test(tc, the_scaler_is_saved_and_loaded_with_the_model);
    tcase_add_test(tc, hostile_scal_sections_are_refused);
    tcase_add_test(tc, noise_range_follows_the_data_or_the_options);
    suite_add_tcase(s, tc);
    return s;
}
