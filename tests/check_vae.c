/* SPDX-License-Identifier: MIT */
/*
 * check_vae.c - variational autoencoders: the Gaussian sampling layer's KL
 * term in training (beta, the loss reduction, the history's split), the
 * encoder's Gaussian, decodes of the prior and the VAE scores.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

enum { IN = 12, K = 3, N = 96 };

/* IN -> 8 relu -> 2K -> gaussian_sample(beta) | K -> 8 relu -> IN sigmoid */
static ae_model *vae(float beta, int sample)
{
    const ae_shape in = {1, {IN, 0, 0, 0}}, lat = {1, {K, 0, 0, 0}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *m;
    ae_gaussian_sample_options g = AE_GAUSSIAN_SAMPLE_OPTIONS_INIT;
    g.beta = beta;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 3), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 8, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, sample ? 2 * K : K, AE_ACT_IDENTITY), AE_OK);
    if (sample)
        ck_assert_int_eq(ae_encoder_add_gaussian_sample_ex(enc, &g), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, 4), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 8, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, IN, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&m, enc, dec), AE_OK);
    return m;
}

static ae_dataset *data(float *x)
{
    ae_dataset *ds;
    test_subspace_data(x, N, IN, 2, 5);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, N, &(ae_shape){1, {IN, 0, 0, 0}}, AE_DATASET_COPY), AE_OK);
    return ds;
}

/* The step's loss is the reduced BCE plus beta * KL; the terms are
 * reported apart; beta scales them; the per-sample sum is size times the
 * mean. */
START_TEST(the_kl_term_joins_the_loss_scaled_by_beta)
{
    float x[N * IN];
    test_subspace_data(x, N, IN, 2, 5);
    double terms[2], loss[2][2];
    for (int b = 0; b < 2; b++)
        for (int red = 0; red < 2; red++) {
            ae_model *m = vae(b ? 2.0f : 1.0f, 1);
            ae_optimizer *opt;
            ae_step *step;
            ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
            ae_step_options so = AE_STEP_OPTIONS_INIT;
            so.batch_size = 16;
            so.loss = AE_LOSS_BCE;
            so.loss_reduction = red ? AE_REDUCE_SUM_PER_SAMPLE : AE_REDUCE_MEAN;
            ck_assert_int_eq(ae_step_create(&step, m, opt, &so), AE_OK);
            double t;
            ck_assert_int_eq(ae_step_loss_terms(step, &t), AE_ERR_STATE);
            ck_assert_int_eq(ae_step_compute(step, x, NULL, 16, &loss[b][red]), AE_OK);
            ck_assert_int_eq(ae_step_loss_terms(step, &t), AE_OK);
            ck_assert_msg(t > 0.0, "KL %g", t);
            if (red == 0)
                terms[b] = t;
            else
                ck_assert_double_eq_tol(t, terms[b], 1e-9); /* the same draws */
            ck_assert_int_eq(ae_step_loss_terms(NULL, &t), AE_ERR_INVALID);
            ck_assert_int_eq(ae_step_loss_terms(step, NULL), AE_ERR_INVALID);
            ae_step_destroy(step);
            ae_optimizer_destroy(opt);
            ae_model_destroy(m);
        }
    ck_assert_double_eq_tol(terms[1], 2.0 * terms[0], 1e-9);
    for (int b = 0; b < 2; b++)
        ck_assert_double_eq_tol(loss[b][1] - terms[b], IN * (loss[b][0] - terms[b]), 1e-6);
    /* an unknown reduction is refused by the step and by training */
    ae_model *m = vae(1.0f, 1);
    ae_optimizer *opt;
    ae_step *step = NULL;
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.loss_reduction = 2;
    ck_assert_int_eq(ae_step_create(&step, m, opt, &so), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "unknown loss_reduction 2"));
    so.loss_reduction = AE_REDUCE_MEAN;
    so.reserved = 1;
    ck_assert_int_eq(ae_step_create(&step, m, opt, &so), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "reserved field is 1"));
    ae_dataset *ds;
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, N, &(ae_shape){1, {IN, 0, 0, 0}}, AE_DATASET_COPY), AE_OK);
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.loss_reduction = -1;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_ERR_INVALID);
    ae_dataset_destroy(ds);
    ae_optimizer_destroy(opt);
    ae_model_destroy(m);
    /* the adders refuse a bad beta */
    ae_encoder *enc;
    ae_decoder *dec;
    ae_gaussian_sample_options g = AE_GAUSSIAN_SAMPLE_OPTIONS_INIT;
    ck_assert_int_eq(ae_encoder_create(&enc, &(ae_shape){1, {4, 0, 0, 0}}, 1), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &(ae_shape){1, {4, 0, 0, 0}}, 1), AE_OK);
    g.beta = -0.5f;
    ck_assert_int_eq(ae_encoder_add_gaussian_sample_ex(enc, &g), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_encoder_add_gaussian_sample_ex: "));
    g.beta = INFINITY;
    ck_assert_int_eq(ae_decoder_add_gaussian_sample_ex(dec, &g), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_add_gaussian_sample_ex(enc, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_add_gaussian_sample_ex(NULL, &g), AE_ERR_INVALID);
    g.beta = 3.0f;
    ck_assert_int_eq(ae_decoder_add_gaussian_sample_ex(dec, &g), AE_OK);
    ck_assert_uint_eq(ae_decoder_layer_count(dec), 1);
    /* ae-inspect's decoding of its config: beta */
    const unsigned char beta_half[4] = {0x00, 0x00, 0x00, 0x3f}; /* 0.5f, little-endian */
    char text[64];
    ck_assert_int_eq(ae_layer_describe(AE_LAYER_GAUSSIAN_SAMPLE, beta_half, 4, text, sizeof text,
                                       NULL), AE_OK);
    ck_assert_str_eq(text, "beta=0.5");
    ck_assert_int_eq(ae_layer_describe(AE_LAYER_GAUSSIAN_SAMPLE, NULL, 0, text, sizeof text, NULL),
                     AE_ERR_NOT_FOUND);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

/* Training: the history's terms are the KL part of the training loss, the
 * validation loss is in the same unit (per sample), the KL pulls the
 * latents towards N(0, I), beta is saved with the model. */
START_TEST(training_reports_the_terms_and_the_model_file_keeps_beta)
{
    float x[N * IN];
    ae_dataset *ds = data(x);
    ae_model *m = vae(0.5f, 1), *plain = vae(0.0f, 1);
    ae_optimizer *opt, *opt2;
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_int_eq(ae_optimizer_create(&opt2, NULL), AE_OK);
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 30;
    to.batch_size = 16;
    to.seed = 2;
    to.loss = AE_LOSS_BCE;
    to.loss_reduction = AE_REDUCE_SUM_PER_SAMPLE;
    to.validation = ds;
    ck_assert_int_eq(ae_model_train(m, opt, ds, &to), AE_OK);
    ck_assert_int_eq(ae_model_train(plain, opt2, ds, &to), AE_OK);
    double loss, val, terms, t0;
    ck_assert_int_eq(ae_model_history_get(m, 29, &loss, &val), AE_OK);
    ck_assert_int_eq(ae_model_history_terms(m, 29, &terms), AE_OK);
    ck_assert_int_eq(ae_model_history_terms(plain, 29, &t0), AE_OK);
    ck_assert_double_eq(t0, 0.0); /* beta 0: no term */
    ck_assert_msg(terms > 0.0 && terms < loss, "terms %g of %g", terms, loss);
    double per_value;
    ck_assert_int_eq(ae_model_evaluate(m, ds, AE_LOSS_BCE, &per_value), AE_OK);
    ck_assert_double_eq_tol(val, IN * per_value, 1e-6); /* the validation loss, summed */
    ck_assert_int_eq(ae_model_history_terms(m, 30, &terms), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_history_terms(NULL, 0, &terms), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_history_terms(m, 0, NULL), AE_ERR_INVALID);
    /* with beta the means are pulled in: smaller than without */
    float mu[N * K], lv[N * K], mu0[N * K];
    ck_assert_int_eq(ae_encoder_encode_gaussian(ae_model_encoder(m), x, N, mu, lv), AE_OK);
    ck_assert_int_eq(ae_encoder_encode_gaussian(ae_model_encoder(plain), x, N, mu0, NULL), AE_OK);
    double s = 0.0, s0 = 0.0;
    for (size_t i = 0; i < N * K; i++) {
        s += (double)mu[i] * mu[i];
        s0 += (double)mu0[i] * mu0[i];
    }
    ck_assert_msg(s < s0, "sum mu^2 %g with the KL, %g without", s, s0);

    void *buf;
    size_t size;
    ae_file *f;
    ae_model *back;
    ck_assert_int_eq(ae_model_save_memory(m, &buf, &size, NULL), AE_OK);
    ck_assert_int_eq(ae_file_open_memory(&f, buf, size, NULL), AE_OK);
    ck_assert_int_eq(ae_file_load_model(&back, f), AE_OK);
    ck_assert_int_eq(ae_model_history_terms(back, 0, &terms), AE_OK);
    ck_assert(isnan(terms)); /* files keep the sums only */
    /* the loaded model trains with the same beta: same step, same loss */
    ae_optimizer *o3, *o4;
    ae_step *s3, *s4;
    ae_step_options so = AE_STEP_OPTIONS_INIT;
    so.loss = AE_LOSS_BCE;
    ck_assert_int_eq(ae_optimizer_create(&o3, NULL), AE_OK);
    ck_assert_int_eq(ae_optimizer_create(&o4, NULL), AE_OK);
    ck_assert_int_eq(ae_step_create(&s3, m, o3, &so), AE_OK);
    ck_assert_int_eq(ae_step_create(&s4, back, o4, &so), AE_OK);
    double a, b;
    ck_assert_int_eq(ae_step_compute(s3, x, NULL, 8, NULL), AE_OK);
    ck_assert_int_eq(ae_step_compute(s4, x, NULL, 8, NULL), AE_OK);
    ck_assert_int_eq(ae_step_loss_terms(s3, &a), AE_OK);
    ck_assert_int_eq(ae_step_loss_terms(s4, &b), AE_OK);
    ck_assert_double_eq(a, b);
    /* and so does one through ONNX (beta rides in the node's libae hint) */
    void *ox;
    size_t osize;
    ae_model *via_onnx;
    ae_optimizer *o5;
    ae_step *s5;
    ck_assert_int_eq(ae_model_export_onnx_memory(m, &ox, &osize, NULL), AE_OK);
    ck_assert_int_eq(ae_model_import_onnx_memory(&via_onnx, ox, osize, NULL), AE_OK);
    ck_assert_int_eq(ae_optimizer_create(&o5, NULL), AE_OK);
    ck_assert_int_eq(ae_step_create(&s5, via_onnx, o5, &so), AE_OK);
    ck_assert_int_eq(ae_step_compute(s5, x, NULL, 8, NULL), AE_OK);
    ck_assert_int_eq(ae_step_loss_terms(s5, &b), AE_OK);
    ck_assert_double_eq_tol(a, b, 1e-6 * fabs(a));
    ae_step_destroy(s5);
    ae_optimizer_destroy(o5);
    ae_model_destroy(via_onnx);
    ae_buffer_free(ox);
    ae_step_destroy(s3);
    ae_step_destroy(s4);
    ae_optimizer_destroy(o3);
    ae_optimizer_destroy(o4);
    ae_file_close(f);
    ae_buffer_free(buf);
    ae_model_destroy(back);
    ae_optimizer_destroy(opt);
    ae_optimizer_destroy(opt2);
    ae_model_destroy(m);
    ae_model_destroy(plain);
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

/* The encoder's Gaussian is the dense layer's output split in two; encode
 * gives the same means. Errors. */
START_TEST(encode_gaussian_gives_the_means_and_log_variances)
{
    float x[N * IN], mu[N * K], lv[N * K], z[N * K];
    test_subspace_data(x, N, IN, 2, 6);
    ae_model *m = vae(1.0f, 1), *plain = vae(1.0f, 0);
    const ae_encoder *e = ae_model_encoder(m);
    ck_assert_int_eq(ae_encoder_encode_gaussian(e, x, N, mu, lv), AE_OK);
    ck_assert_int_eq(ae_encoder_encode(e, x, N, z), AE_OK);
    ck_assert_int_eq(memcmp(mu, z, sizeof z), 0);
    float lv2[N * K];
    ck_assert_int_eq(ae_encoder_encode_gaussian(e, x, N, NULL, lv2), AE_OK);
    ck_assert_int_eq(memcmp(lv, lv2, sizeof lv), 0);
    int differs = 0;
    for (size_t i = 0; i < N * K; i++)
        differs |= lv[i] != mu[i];
    ck_assert(differs);
    ck_assert_int_eq(ae_encoder_encode_gaussian(NULL, x, N, mu, lv), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_encode_gaussian(e, NULL, N, mu, lv), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_encode_gaussian(e, x, N, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_encode_gaussian(e, x, 0, mu, lv), AE_ERR_INVALID);
    ck_assert_int_eq(ae_encoder_encode_gaussian(ae_model_encoder(plain), x, N, mu, lv),
                     AE_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "does not end in a gaussian_sample layer"));
    ae_model_destroy(m);
    ae_model_destroy(plain);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

/* ae_model_sample() decodes N(0, I) draws: the same as decoding them by
 * hand with the same generator; reproducible by seed. */
START_TEST(sampling_the_prior_decodes_standard_normal_latents)
{
    enum { S = 5 };
    ae_model *m = vae(1.0f, 1);
    float a[S * IN], b[S * IN], c[S * IN];
    ck_assert_int_eq(ae_model_sample(m, S, 11, a), AE_OK);
    ck_assert_int_eq(ae_model_sample(m, S, 11, b), AE_OK);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_int_eq(ae_model_sample(m, S, 12, c), AE_OK);
    ck_assert_int_ne(memcmp(a, c, sizeof a), 0);
    /* the latents' law: decoding z = 0 (the prior's mean) differs from the
     * samples, and the samples vary around it */
    float z0[K] = {0}, x0[IN];
    ck_assert_int_eq(ae_decoder_decode(ae_model_decoder(m), z0, 1, x0), AE_OK);
    int differs = 0;
    for (size_t i = 0; i < IN; i++)
        differs |= a[i] != x0[i];
    ck_assert(differs);
    ck_assert_int_eq(ae_model_sample(NULL, S, 1, a), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_sample(m, S, 1, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_sample(m, 0, 1, a), AE_ERR_INVALID);
    ae_model_destroy(m);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

/* The scores against a direct computation: one draw with the same
 * generator is hard to replay from outside, so check their structure: the
 * reconstruction probability (log-mean-exp) is at most the expected
 * reconstruction term (Jensen), the ELBO adds a KL >= 0, the scores do not
 * depend on batching, and the anomaly kinds use them. */
START_TEST(vae_scores_are_consistent_and_feed_the_anomaly_calls)
{
    float x[N * IN];
    ae_dataset *ds = data(x);
    ae_model *m = vae(1.0f, 1), *plain = vae(1.0f, 0);
    double nelbo[N], rp[N], n1[N], r1[N], kinds[N];
    ck_assert_int_eq(ae_model_vae_score(m, x, N, 8, 5, nelbo, rp), AE_OK);
    for (size_t i = 0; i < N; i++) {
        ck_assert_msg(isfinite(nelbo[i]) && rp[i] > 0.0 && rp[i] <= nelbo[i] + 1e-9,
                      "sample %zu: nelbo %g recon %g", i, nelbo[i], rp[i]);
    }
    /* fewer samples in the call: the same scores (sample i's draws are
     * seeded with its index in the call) */
    for (size_t c = 1; c <= 3; c++) {
        double a[3], b[3];
        ck_assert_int_eq(ae_model_vae_score(m, x, c, 8, 5, a, b), AE_OK);
        ck_assert_double_eq_tol(a[c - 1], nelbo[c - 1], 1e-4); /* GEMM rounding */
        ck_assert_double_eq_tol(b[c - 1], rp[c - 1], 1e-4);
    }
    /* one draw: the reconstruction probability is the draw's -log p */
    ck_assert_int_eq(ae_model_vae_score(m, x, N, 1, 5, n1, r1), AE_OK);
    double kl_min = INFINITY;
    for (size_t i = 0; i < N; i++)
        kl_min = fmin(kl_min, n1[i] - r1[i]);
    ck_assert_msg(kl_min >= 0.0, "a KL below 0: %g", kl_min);
    /* the anomaly kinds: AE_VAE_SCORE_SAMPLES draws, seed 0 */
    double ref[N];
    ck_assert_int_eq(ae_model_vae_score(m, x, N, AE_VAE_SCORE_SAMPLES, 0, ref, NULL), AE_OK);
    ck_assert_int_eq(ae_model_score(m, x, N, AE_SCORE_NELBO, kinds), AE_OK);
    ck_assert_int_eq(memcmp(kinds, ref, sizeof ref), 0);
    ck_assert_int_eq(ae_model_score_dataset(m, ds, AE_SCORE_NELBO, kinds), AE_OK);
    ck_assert_int_eq(memcmp(kinds, ref, sizeof ref), 0);
    ck_assert_int_eq(ae_model_vae_score(m, x, N, AE_VAE_SCORE_SAMPLES, 0, NULL, ref), AE_OK);
    ck_assert_int_eq(ae_model_score_dataset(m, ds, AE_SCORE_RECON_PROB, kinds), AE_OK);
    ck_assert_int_eq(memcmp(kinds, ref, sizeof ref), 0);
    ck_assert_str_eq(ae_score_name(AE_SCORE_NELBO), "nelbo");
    ck_assert_str_eq(ae_score_name(AE_SCORE_RECON_PROB), "recon_prob");
    ae_detector *det;
    ae_detector_options dopt = AE_DETECTOR_OPTIONS_INIT;
    dopt.score = AE_SCORE_NELBO;
    ck_assert_int_eq(ae_detector_create(&det, &dopt), AE_OK);
    ck_assert_int_eq(ae_detector_fit(det, m, ds), AE_OK);
    ae_detector_destroy(det);
    /* errors */
    ck_assert_int_eq(ae_score_compute(kinds, AE_SCORE_NELBO, x, x, N, IN), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "need the model"));
    ck_assert_int_eq(ae_model_score(plain, x, N, AE_SCORE_NELBO, kinds), AE_ERR_STATE);
    ck_assert_int_eq(ae_model_vae_score(NULL, x, N, 1, 0, nelbo, rp), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_vae_score(m, NULL, N, 1, 0, nelbo, rp), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_vae_score(m, x, N, 1, 0, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_vae_score(m, x, 0, 1, 0, nelbo, rp), AE_ERR_INVALID);
    ck_assert_int_eq(ae_model_vae_score(m, x, N, 0, 0, nelbo, rp), AE_ERR_INVALID);
    double keep = nelbo[0];
    x[5] = 1.5f;
    ck_assert_int_eq(ae_model_vae_score(m, x, N, 1, 0, nelbo, rp), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "x in [0, 1]"));
    ck_assert_double_eq(nelbo[0], keep); /* untouched */
    ae_model_destroy(m);
    ae_model_destroy(plain);
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

Suite *ae_vae_suite(void)
{
    Suite *s = suite_create("vae");
    TCase *tc = tcase_create("vae");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_kl_term_joins_the_loss_scaled_by_beta);
    tcase_add_test(tc, training_reports_the_terms_and_the_model_file_keeps_beta);
    tcase_add_test(tc, encode_gaussian_gives_the_means_and_log_variances);
    tcase_add_test(tc, sampling_the_prior_decodes_standard_normal_latents);
    tcase_add_test(tc, vae_scores_are_consistent_and_feed_the_anomaly_calls);
    suite_add_tcase(s, tc);
    return s;
}
