/* SPDX-License-Identifier: MIT */
/* check_latent.c - latent tools: encoding a dataset, decoding with a size
 * check, per-class statistics, bounds, the fitted Gaussian, neighbourhood
 * sampling, interpolation (exact ends) and seeded sampling. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

static void assert_msg_has(const char *needle)
{
    ck_assert_msg(strstr(ae_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
                  ae_last_error(), needle);
}

static ae_dataset *matrix_ds(const float *z, const int32_t *labels, size_t n, uint32_t dim)
{
    ae_dataset *ds = NULL;
    ae_shape shape = {1, {dim, 0, 0, 0}};
    ck_assert_int_eq(ae_dataset_from_memory(&ds, z, labels, n, &shape, AE_DATASET_COPY), AE_OK);
    return ds;
}

/* ---- encode / decode ------------------------------------------------------- */

START_TEST(encode_matches_the_encoder_and_keeps_labels)
{
    enum { N = 300, IN = 6, Z = 3 }; /* more than one internal batch */
    float *x = malloc(N * IN * sizeof(float));
    int32_t labels[N];
    for (int i = 0; i < N * IN; i++)
        x[i] = (float)((i * 37) % 101) / 101.0f;
    for (int i = 0; i < N; i++)
        labels[i] = i % 4;
    ae_dataset *ds = matrix_ds(x, labels, N, IN);
    ae_encoder *enc = NULL;
    ae_shape in = {1, {IN, 0, 0, 0}};
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 3), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, Z, AE_ACT_TANH), AE_OK);

    ae_dataset *zs = NULL;
    ck_assert_int_eq(ae_latent_encode(&zs, enc, ds), AE_OK);
    ck_assert_uint_eq(ae_dataset_count(zs), N);
    ck_assert_uint_eq(ae_dataset_sample_size(zs), Z);
    ck_assert_int_eq(ae_dataset_has_labels(zs), 1);
    float *want = malloc(N * Z * sizeof(float));
    ck_assert_int_eq(ae_encoder_encode(enc, x, N, want), AE_OK);
    for (size_t i = 0; i < N; i++) {
        int32_t l;
        ck_assert_mem_eq(ae_dataset_sample(zs, i), want + i * Z, Z * sizeof(float));
        ck_assert_int_eq(ae_dataset_label(zs, i, &l), AE_OK);
        ck_assert_int_eq(l, labels[i]);
    }
    ae_dataset_destroy(zs);

    /* unlabelled in, unlabelled out */
    ae_dataset *plain = matrix_ds(x, NULL, N, IN);
    ck_assert_int_eq(ae_latent_encode(&zs, enc, plain), AE_OK);
    ck_assert_int_eq(ae_dataset_has_labels(zs), 0);
    ae_dataset_destroy(zs);
    ae_dataset_destroy(plain);

    /* wrong width */
    zs = (ae_dataset *)0x1;
    ae_dataset *wide = matrix_ds(x, NULL, N / 2, 2 * IN);
    ck_assert_int_eq(ae_latent_encode(&zs, enc, wide), AE_ERR_SHAPE);
    assert_msg_has("samples have 12 values, the encoder takes 6");
    ck_assert_ptr_eq(zs, (ae_dataset *)0x1);
    ck_assert_int_eq(ae_latent_encode(NULL, enc, ds), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_encode(&zs, NULL, ds), AE_ERR_INVALID);
    ae_dataset_destroy(wide);

    ae_encoder *empty = NULL;
    ck_assert_int_eq(ae_encoder_create(&empty, &in, 3), AE_OK);
    ck_assert_int_eq(ae_latent_encode(&zs, empty, ds), AE_ERR_STATE);
    ae_encoder_destroy(empty);

    ae_encoder_destroy(enc);
    ae_dataset_destroy(ds);
    free(want);
    free(x);
}
END_TEST

START_TEST(decode_checks_the_latent_size)
{
    enum { N = 600, Z = 4, OUT = 5 };
    ae_decoder *dec = NULL;
    ae_shape zshape = {1, {Z, 0, 0, 0}};
    ck_assert_int_eq(ae_decoder_create(&dec, &zshape, 9), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, OUT, AE_ACT_SIGMOID), AE_OK);
    float *z = malloc(N * Z * sizeof(float));
    float *a = malloc(N * OUT * sizeof(float)), *b = malloc(N * OUT * sizeof(float));
    for (int i = 0; i < N * Z; i++)
        z[i] = (float)sin(i);
    ck_assert_int_eq(ae_latent_decode(dec, z, N, Z, a), AE_OK);
    ck_assert_int_eq(ae_decoder_decode(dec, z, N, b), AE_OK);
    ck_assert_mem_eq(a, b, N * OUT * sizeof(float));
    ck_assert_int_eq(ae_latent_decode(dec, z, N, Z + 1, a), AE_ERR_SHAPE);
    assert_msg_has("latents have 5 values, the decoder takes 4");
    ck_assert_int_eq(ae_latent_decode(dec, z, 0, Z, a), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_decode(NULL, z, N, Z, a), AE_ERR_INVALID);
    ae_decoder_destroy(dec);
    free(z);
    free(a);
    free(b);
}
END_TEST

/* ---- statistics ------------------------------------------------------------ */

START_TEST(class_stats_give_counts_means_and_stddevs)
{
    /* class 0: (0,10), (2,10); class 2: (1,-1), (3,-3), (5,-5); class 1 empty */
    const float z[] = {0, 10, 1, -1, 2, 10, 3, -3, 5, -5};
    const int32_t l[] = {0, 2, 0, 2, 2};
    ae_dataset *ds = matrix_ds(z, l, 5, 2);
    size_t counts[3];
    float means[6], sds[6];
    ck_assert_int_eq(ae_latent_class_stats(ds, 3, 2, counts, means, sds), AE_OK);
    ck_assert_uint_eq(counts[0], 2);
    ck_assert_uint_eq(counts[1], 0);
    ck_assert_uint_eq(counts[2], 3);
    ck_assert_float_eq(means[0], 1.0f);
    ck_assert_float_eq(means[1], 10.0f);
    ck_assert_float_eq(means[2], 0.0f);
    ck_assert_float_eq(means[3], 0.0f);
    ck_assert_float_eq(means[4], 3.0f);
    ck_assert_float_eq(means[5], -3.0f);
    ck_assert_float_eq_tol(sds[0], 1.0f, 1e-6f);
    ck_assert_float_eq(sds[1], 0.0f);
    ck_assert_float_eq(sds[2], 0.0f);
    ck_assert_float_eq_tol(sds[4], sqrtf(8.0f / 3.0f), 1e-6f);
    ck_assert_float_eq_tol(sds[5], sqrtf(8.0f / 3.0f), 1e-6f);
    /* any single output will do */
    ck_assert_int_eq(ae_latent_class_stats(ds, 3, 2, counts, NULL, NULL), AE_OK);
    ck_assert_int_eq(ae_latent_class_stats(ds, 3, 2, NULL, NULL, NULL), AE_ERR_INVALID);
    /* a label past n_classes is named */
    ck_assert_int_eq(ae_latent_class_stats(ds, 2, 2, counts, means, sds), AE_ERR_INVALID);
    assert_msg_has("sample 1 has label 2, outside [0, 2)");
    ck_assert_int_eq(ae_latent_class_stats(ds, 0, 2, counts, means, sds), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_class_stats(ds, 3, 3, counts, means, sds), AE_ERR_SHAPE);
    assert_msg_has("dim is 3 but the latents have 2 values each");
    ae_dataset_destroy(ds);
    ae_dataset *plain = matrix_ds(z, NULL, 5, 2);
    ck_assert_int_eq(ae_latent_class_stats(plain, 3, 2, counts, means, sds), AE_ERR_STATE);
    assert_msg_has("no labels");
    ae_dataset_destroy(plain);
}
END_TEST

START_TEST(bounds_are_the_per_dimension_extremes)
{
    const float z[] = {0, 10, -1, 1, 2, 10, 3, -3, 5, -5, 0, 0};
    ae_dataset *ds = matrix_ds(z, NULL, 4, 3);
    float lo[3], hi[3];
    ck_assert_int_eq(ae_latent_bounds(ds, lo, hi, 3), AE_OK);
    /* rows (0, 10, -1), (1, 2, 10), (3, -3, 5), (-5, 0, 0) */
    ck_assert_float_eq(lo[0], -5.0f);
    ck_assert_float_eq(hi[0], 3.0f);
    ck_assert_float_eq(lo[1], -3.0f);
    ck_assert_float_eq(hi[1], 10.0f);
    ck_assert_float_eq(lo[2], -1.0f);
    ck_assert_float_eq(hi[2], 10.0f);
    ck_assert_int_eq(ae_latent_bounds(ds, lo, hi, 2), AE_ERR_SHAPE);
    ck_assert_int_eq(ae_latent_bounds(ds, NULL, hi, 3), AE_ERR_INVALID);
    ae_dataset_destroy(ds);
}
END_TEST

/* ---- interpolation ------------------------------------------------------------ */

START_TEST(interpolation_ends_are_exact_both_ways)
{
    enum { D = 5, K = 7 };
    const float z0[D] = {0.1f, -3.3f, 1e-7f, 7.77f, 0.3333333f};
    const float z1[D] = {-2.2f, 0.7f, 5.5f, 1e-3f, -0.123456f};
    float out[K * D];
    for (int mode = AE_INTERP_LINEAR; mode <= AE_INTERP_SPHERICAL; mode++) {
        ck_assert_int_eq(ae_latent_interpolate(out, z0, z1, D, K, mode), AE_OK);
        ck_assert_mem_eq(out, z0, sizeof z0);
        ck_assert_mem_eq(out + (K - 1) * D, z1, sizeof z1);
    }
    ck_assert_int_eq(ae_latent_interpolate(out, z0, z1, D, 2, AE_INTERP_LINEAR), AE_OK);
    ck_assert_mem_eq(out, z0, sizeof z0);
    ck_assert_mem_eq(out + D, z1, sizeof z1);
}
END_TEST

START_TEST(linear_interpolation_is_evenly_spaced)
{
    const float z0[2] = {0.0f, 4.0f}, z1[2] = {4.0f, 0.0f};
    float out[5 * 2];
    ck_assert_int_eq(ae_latent_interpolate(out, z0, z1, 2, 5, AE_INTERP_LINEAR), AE_OK);
    for (int i = 0; i < 5; i++) {
        ck_assert_float_eq_tol(out[2 * i], (float)i, 1e-6f);
        ck_assert_float_eq_tol(out[2 * i + 1], 4.0f - (float)i, 1e-6f);
    }
}
END_TEST

START_TEST(spherical_interpolation_follows_the_arc)
{
    /* Two orthogonal unit vectors: slerp stays on the unit circle, at
     * angles i * 90 / 4 degrees, where the straight line dips to 0.707. */
    const float z0[2] = {1.0f, 0.0f}, z1[2] = {0.0f, 1.0f};
    float out[5 * 2];
    ck_assert_int_eq(ae_latent_interpolate(out, z0, z1, 2, 5, AE_INTERP_SPHERICAL), AE_OK);
    for (int i = 0; i < 5; i++) {
        double a = (double)i * 3.14159265358979 / 8.0;
        ck_assert_float_eq_tol(out[2 * i], (float)cos(a), 1e-6f);
        ck_assert_float_eq_tol(out[2 * i + 1], (float)sin(a), 1e-6f);
    }
    /* parallel ends: falls back to the line */
    const float p0[2] = {1.0f, 1.0f}, p1[2] = {3.0f, 3.0f};
    ck_assert_int_eq(ae_latent_interpolate(out, p0, p1, 2, 3, AE_INTERP_SPHERICAL), AE_OK);
    ck_assert_float_eq_tol(out[2], 2.0f, 1e-6f);
    ck_assert_float_eq_tol(out[3], 2.0f, 1e-6f);
    /* a zero end: linear too */
    const float zero[2] = {0.0f, 0.0f};
    ck_assert_int_eq(ae_latent_interpolate(out, zero, p1, 2, 3, AE_INTERP_SPHERICAL), AE_OK);
    ck_assert_float_eq_tol(out[2], 1.5f, 1e-6f);
}
END_TEST

START_TEST(interpolation_rejects_bad_arguments)
{
    const float z0[2] = {0, 1}, z1[2] = {1, 0};
    float out[8];
    ck_assert_int_eq(ae_latent_interpolate(out, z0, z1, 2, 1, AE_INTERP_LINEAR), AE_ERR_INVALID);
    assert_msg_has("steps is 1, at least 2");
    ck_assert_int_eq(ae_latent_interpolate(out, z0, z1, 2, 0, AE_INTERP_LINEAR), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_interpolate(out, z0, z1, 0, 4, AE_INTERP_LINEAR), AE_ERR_INVALID);
    assert_msg_has("dim is 0");
    ck_assert_int_eq(ae_latent_interpolate(out, z0, z1, 2, 4, 9), AE_ERR_INVALID);
    assert_msg_has("unknown mode 9");
    ck_assert_int_eq(ae_latent_interpolate(out, NULL, z1, 2, 4, 0), AE_ERR_INVALID);
    const float bad[2] = {0, INFINITY};
    ck_assert_int_eq(ae_latent_interpolate(out, z0, bad, 2, 4, 0), AE_ERR_INVALID);
    assert_msg_has("z1[1] is not finite");
}
END_TEST

/* ---- sampling -------------------------------------------------------------------- */

START_TEST(neighbourhood_is_seeded_and_scales_with_sigma)
{
    enum { D = 4, PER = 2000 };
    const float z[D] = {1, -2, 3, 0.5f};
    const float sigmas[3] = {0.0f, 0.5f, 2.0f};
    float *a = malloc(3 * PER * D * sizeof(float)), *b = malloc(3 * PER * D * sizeof(float));
    ck_assert_int_eq(ae_latent_neighbourhood(a, z, D, sigmas, 3, PER, 42), AE_OK);
    ck_assert_int_eq(ae_latent_neighbourhood(b, z, D, sigmas, 3, PER, 42), AE_OK);
    ck_assert_mem_eq(a, b, 3 * PER * D * sizeof(float));
    ck_assert_int_eq(ae_latent_neighbourhood(b, z, D, sigmas, 3, PER, 43), AE_OK);
    ck_assert(memcmp(a + PER * D, b + PER * D, PER * D * sizeof(float)) != 0);
    for (int s = 0; s < 3; s++) {
        double sum = 0.0, sq = 0.0;
        for (int r = 0; r < PER; r++)
            for (int j = 0; j < D; j++) {
                double e = a[(s * PER + r) * D + j] - z[j];
                if (s == 0)
                    ck_assert(e == 0.0); /* sigma 0: exact copies of z */
                sum += e;
                sq += e * e;
            }
        double sd = sqrt(sq / (PER * D));
        ck_assert_double_eq_tol(sum / (PER * D), 0.0, 0.1 * sigmas[s] + 1e-12);
        ck_assert_double_eq_tol(sd, sigmas[s], 0.05 * sigmas[s] + 1e-12);
    }
    float sig_bad[2] = {0.1f, -1.0f};
    ck_assert_int_eq(ae_latent_neighbourhood(a, z, D, sig_bad, 2, 3, 1), AE_ERR_INVALID);
    assert_msg_has("sigmas[1] is -1");
    sig_bad[1] = NAN;
    ck_assert_int_eq(ae_latent_neighbourhood(a, z, D, sig_bad, 2, 3, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_neighbourhood(a, z, D, sigmas, 0, 3, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_neighbourhood(a, z, D, sigmas, 3, 0, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_neighbourhood(a, z, 0, sigmas, 3, 2, 1), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_neighbourhood(a, z, D, sigmas, 3, SIZE_MAX / 2, 1), AE_ERR_LIMIT);
    free(a);
    free(b);
}
END_TEST

START_TEST(sizes_too_large_to_hold_are_refused_before_any_input_is_read)
{
    /* A dim whose rows overflow is AE_ERR_LIMIT; the tools checked the
     * inputs' values first and so read dim floats past 4 (ASan: a stack
     * overflow; here also a wrong code). */
    const float z0[4] = {0.0f, 1.0f, 2.0f, 3.0f}, z1[4] = {1.0f, 1.0f, 1.0f, 1.0f};
    float out[16];
    const size_t huge = SIZE_MAX / 2;
    ck_assert_int_eq(ae_latent_interpolate(out, z0, z1, huge, 3, AE_INTERP_LINEAR), AE_ERR_LIMIT);
    ck_assert_int_eq(ae_latent_sample_uniform(out, 3, z0, z1, huge, 1), AE_ERR_LIMIT);
    ck_assert_int_eq(ae_latent_sample_uniform(out, huge, z0, z1, 4, 1), AE_ERR_LIMIT);
}
END_TEST

START_TEST(spreads_near_flt_max_stay_finite_or_fail)
{
    /* Finite inputs whose outputs overflow float came back as infinities
     * (and NaN for the widest box) with AE_OK. */
    const float lo[2] = {-FLT_MAX, 0.0f}, hi[2] = {FLT_MAX, 1.0f}, z[2] = {0.0f, 0.0f};
    const float sig[1] = {FLT_MAX};
    float out[64 * 2];
    ck_assert_int_eq(ae_latent_sample_uniform(out, 64, lo, hi, 2, 3), AE_OK);
    int positive = 0; /* 1.0 gave -FLT_MAX every time: lo + inf * u */
    for (size_t i = 0; i < 64; i++) {
        ck_assert(isfinite(out[2 * i]) && out[2 * i] < FLT_MAX);
        ck_assert(out[2 * i + 1] >= 0.0f && out[2 * i + 1] < 1.0f);
        positive += out[2 * i] > 0.0f;
    }
    ck_assert_msg(positive > 16 && positive < 48, "%d of 64 positive", positive);
    ck_assert_int_eq(ae_latent_neighbourhood(out, z, 2, sig, 1, 8, 1), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "overflows float"), "%s", ae_last_error());
    float big[4 * 2] = {-FLT_MAX, 0.0f, FLT_MAX, 1.0f, -FLT_MAX, 0.5f, FLT_MAX, 0.2f};
    const ae_shape two = {1, {2}};
    ae_dataset *ds;
    float m2[2], c2[4];
    ck_assert_int_eq(ae_dataset_from_memory(&ds, big, NULL, 4, &two, AE_DATASET_COPY), AE_OK);
    ck_assert_int_eq(ae_latent_fit_gaussian(ds, m2, c2, 2), AE_ERR_NUMERIC);
    ck_assert_msg(strstr(ae_last_error(), "covariance entry 0 overflows"), "%s", ae_last_error());
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(uniform_sampling_stays_in_the_box_and_is_seeded)
{
    enum { N = 1000, D = 3 };
    const float lo[D] = {-1.0f, 2.0f, 5.0f}, hi[D] = {1.0f, 2.0f, 9.0f};
    float *a = malloc(N * D * sizeof(float)), *b = malloc(N * D * sizeof(float));
    ck_assert_int_eq(ae_latent_sample_uniform(a, N, lo, hi, D, 7), AE_OK);
    ck_assert_int_eq(ae_latent_sample_uniform(b, N, lo, hi, D, 7), AE_OK);
    ck_assert_mem_eq(a, b, N * D * sizeof(float));
    double mean0 = 0.0;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) {
            ck_assert(a[i * D + j] >= lo[j]);
            ck_assert(a[i * D + j] < hi[j] || lo[j] == hi[j]);
        }
        ck_assert_float_eq(a[i * D + 1], 2.0f); /* lo == hi pins the dimension */
        mean0 += a[i * D];
    }
    ck_assert_double_eq_tol(mean0 / N, 0.0, 0.1);
    const float inverted[D] = {1.0f, 2.0f, 5.0f};
    ck_assert_int_eq(ae_latent_sample_uniform(a, N, inverted, lo, D, 7), AE_ERR_INVALID);
    assert_msg_has("lo[0] = 1 is above hi[0] = -1");
    ck_assert_int_eq(ae_latent_sample_uniform(a, 0, lo, hi, D, 7), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_sample_uniform(NULL, N, lo, hi, D, 7), AE_ERR_INVALID);
    free(a);
    free(b);
}
END_TEST

START_TEST(gaussian_fit_and_sampling_reproduce_the_covariance)
{
    /* Latents with a known correlated covariance and a dead (constant)
     * dimension, as ReLU latents have. */
    enum { N = 20000, D = 3 };
    float *z = malloc(N * D * sizeof(float));
    ck_assert_int_eq(ae_latent_sample_uniform(z, N, (const float[]){0, 0, 0},
                                              (const float[]){1, 1, 0}, D, 1),
                     AE_OK);
    for (int i = 0; i < N; i++) { /* (u, u + v, 0) */
        z[i * D + 1] += z[i * D];
        z[i * D + 2] = 0.0f;
    }
    ae_dataset *ds = matrix_ds(z, NULL, N, D);
    float mean[D], cov[D * D];
    ck_assert_int_eq(ae_latent_fit_gaussian(ds, mean, cov, D), AE_OK);
    ck_assert_float_eq_tol(mean[0], 0.5f, 0.01f);
    ck_assert_float_eq_tol(mean[1], 1.0f, 0.01f);
    ck_assert_float_eq(mean[2], 0.0f);
    ck_assert_float_eq_tol(cov[0], 1.0f / 12, 0.005f);
    ck_assert_float_eq_tol(cov[1], 1.0f / 12, 0.005f);
    ck_assert_float_eq_tol(cov[4], 2.0f / 12, 0.005f);
    ck_assert_float_eq(cov[1], cov[3]);
    ck_assert_float_eq(cov[8], 0.0f);

    float *s = malloc(N * D * sizeof(float)), *t = malloc(N * D * sizeof(float));
    ck_assert_int_eq(ae_latent_sample_gaussian(s, N, mean, cov, D, 5), AE_OK);
    ck_assert_int_eq(ae_latent_sample_gaussian(t, N, mean, cov, D, 5), AE_OK);
    ck_assert_mem_eq(s, t, N * D * sizeof(float));
    ae_dataset *sds = matrix_ds(s, NULL, N, D);
    float m2[D], c2[D * D];
    ck_assert_int_eq(ae_latent_fit_gaussian(sds, m2, c2, D), AE_OK);
    for (int j = 0; j < D; j++)
        ck_assert_float_eq_tol(m2[j], mean[j], 0.01f);
    for (int j = 0; j < D * D; j++)
        ck_assert_float_eq_tol(c2[j], cov[j], 0.01f);
    for (int i = 0; i < N; i++) /* the dead dimension stays dead */
        ck_assert_float_eq_tol(s[i * D + 2], 0.0f, 1e-6f);
    ae_dataset_destroy(sds);

    /* bad covariances */
    float asym[4] = {1, 0.5f, 0.2f, 1};
    ck_assert_int_eq(ae_latent_sample_gaussian(s, 4, mean, asym, 2, 5), AE_ERR_INVALID);
    assert_msg_has("not symmetric");
    float indef[4] = {1, 2, 2, 1};
    ck_assert_int_eq(ae_latent_sample_gaussian(s, 4, mean, indef, 2, 5), AE_ERR_INVALID);
    assert_msg_has("not positive semi-definite");
    ck_assert_int_eq(ae_latent_sample_gaussian(s, 0, mean, cov, D, 5), AE_ERR_INVALID);
    ck_assert_int_eq(ae_latent_fit_gaussian(ds, mean, cov, 2), AE_ERR_SHAPE);
    ae_dataset *one = matrix_ds(z, NULL, 1, D);
    ck_assert_int_eq(ae_latent_fit_gaussian(one, mean, cov, D), AE_ERR_INVALID);
    assert_msg_has("at least 2 needed");
    ae_dataset_destroy(one);
    ae_dataset_destroy(ds);
    free(s);
    free(t);
    free(z);
}
END_TEST

START_TEST(latent_tools_leak_nothing_when_memory_runs_out)
{
    enum { N = 40, D = 3 };
    float z[N * D];
    int32_t l[N];
    for (int i = 0; i < N * D; i++)
        z[i] = (float)((i * 7) % 11);
    for (int i = 0; i < N; i++)
        l[i] = i % 2;
    int ok = 0;
    for (size_t fail_at = 1; fail_at < 100 && !ok; fail_at++) {
        failing_allocator fa;
        failing_allocator_install(&fa, fail_at);
        ae_dataset *ds = NULL;
        ae_shape shape = {1, {D, 0, 0, 0}};
        float mean[D], cov[D * D], out[5 * D], means[2 * D];
        size_t counts[2];
        int rc = ae_dataset_from_memory(&ds, z, l, N, &shape, AE_DATASET_BORROW);
        if (rc == AE_OK)
            rc = ae_latent_fit_gaussian(ds, mean, cov, D);
        if (rc == AE_OK)
            rc = ae_latent_class_stats(ds, 2, D, counts, means, NULL);
        if (rc == AE_OK)
            rc = ae_latent_sample_gaussian(out, 5, mean, cov, D, 1);
        ae_dataset_destroy(ds);
        ok = rc == AE_OK;
        if (!ok)
            ck_assert_int_eq(rc, AE_ERR_NOMEM);
        ck_assert_uint_eq(ae_live_allocations(), 0);
        failing_allocator_remove();
    }
    ck_assert(ok);
}
END_TEST

Suite *ae_latent_suite(void)
{
    Suite *s = suite_create("latent");
    TCase *tc = tcase_create("encode");
    tcase_add_test(tc, encode_matches_the_encoder_and_keeps_labels);
    tcase_add_test(tc, decode_checks_the_latent_size);
    suite_add_tcase(s, tc);
    tc = tcase_create("stats");
    tcase_add_test(tc, class_stats_give_counts_means_and_stddevs);
    tcase_add_test(tc, bounds_are_the_per_dimension_extremes);
    suite_add_tcase(s, tc);
    tc = tcase_create("interpolate");
    tcase_add_test(tc, interpolation_ends_are_exact_both_ways);
    tcase_add_test(tc, linear_interpolation_is_evenly_spaced);
    tcase_add_test(tc, spherical_interpolation_follows_the_arc);
    tcase_add_test(tc, interpolation_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("sample");
    tcase_add_test(tc, neighbourhood_is_seeded_and_scales_with_sigma);
    tcase_add_test(tc, uniform_sampling_stays_in_the_box_and_is_seeded);
    tcase_add_test(tc, spreads_near_flt_max_stay_finite_or_fail);
    tcase_add_test(tc, sizes_too_large_to_hold_are_refused_before_any_input_is_read);
    tcase_add_test(tc, gaussian_fit_and_sampling_reproduce_the_covariance);
    tcase_add_test(tc, latent_tools_leak_nothing_when_memory_runs_out);
    suite_add_tcase(s, tc);
    return s;
}
