/* SPDX-License-Identifier: MIT */
/* check_layers.c - the built-in layer kinds through their vtables
 * (finite-difference gradient checks of dense and activation, reference
 * values, initializers, config validation), the losses' gradients, and a
 * custom layer written here with the public extender's API only
 * (registration rules, user data, unregistering while in use, training). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae/sys/layer.h"
#include "core/core.h"
#include "layers/layer.h"
#include "nn/nn.h"
#include "layer_harness.h"
#include "testutil.h"

/* The config blobs' sizes, as the kinds' files define them (model files store
 * these blobs, so they never change within a type_version). */
#define AE__DENSE_CONFIG_SIZE 20
#define AE__ACTIVATION_CONFIG_SIZE 8

/* An activation layer's blob with any slope (the adder writes the default). */
static void act_cfg(unsigned char cfg[AE__ACTIVATION_CONFIG_SIZE], int act, float slope)
{
    ae__le32(cfg, (uint32_t)act);
    ae__lef32(cfg + 4, slope);
}

/* ------------------------------------------------------------------------ */
/* Finite differences                                                       */
/* ------------------------------------------------------------------------ */

/*
 * The checked scalar is L = sum_i r_i y_i (summed in double) for a fixed
 * random r, so dL/dy = r is what backward() receives.
 *
 * Step: H = 2^-5, and every input, weight and bias is a multiple of 2^-12
 * below 2 in magnitude, so v +- H and v +- 2H are exact in float32 and the
 * step taken is the step divided by. The derivative is the fourth-order
 * central difference (-L(v+2H) + 8 L(v+H) - 8 L(v-H) + L(v-2H)) / 12H:
 * its truncation error (~H^4 f^(5)/30, below 1e-7 here) is negligible, and
 * the float32 rounding of y (~3e-8 per output) contributes about 1e-6.
 *
 * Error: |a - n| / max(1e-2, |a| + |n|). The sum makes it symmetric and at
 * most 1; the floor turns it into an absolute test |a - n| <= 1e-5 for
 * derivatives that are (nearly) zero - relu's flat side, saturated units -
 * where a pure relative error would only measure rounding noise. 1e-5 is
 * ten times the noise above yet 10^4 times smaller than the typical
 * gradients here (0.1 to 1), so a wrong factor, a missing term or a
 * transposed index fails loudly.
 */
#define FD_H 0.03125f
#define FD_TOL 1e-3

static double rel_err(double a, double n)
{
    return fabs(a - n) / fmax(1e-2, fabs(a) + fabs(n));
}

/* A multiple of 2^-10 * scale in [-scale, scale); scale a power of two. */
static float qrand(uint64_t *st, float scale)
{
    int k = (int)(test_rand_next(st) >> 53) - 1024; /* [-1024, 1024) */
    return (float)k / 1024.0f * scale;
}

/* Compares analytic gradients with numeric ones over n values at v. */
static double check_values(lay *l, size_t batch, float *x, const float *r, float *y, float *v,
                           const float *analytic, size_t n, double *max_abs)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double num = lay_fd(l, batch, x, r, y, &v[i], FD_H);
        double e = rel_err(analytic[i], num);
        if (e > worst)
            worst = e;
        if (fabs(analytic[i]) > *max_abs)
            *max_abs = fabs(analytic[i]);
    }
    return worst;
}

/* ------------------------------------------------------------------------ */
/* Dense                                                                    */
/* ------------------------------------------------------------------------ */

static void dense_cfg(unsigned char cfg[AE__DENSE_CONFIG_SIZE], uint32_t units, int act, int init,
                      int use_bias, float slope)
{
    ae_dense_options o = AE_DENSE_OPTIONS_INIT;
    o.units = units;
    o.activation = act;
    o.init = init;
    o.use_bias = use_bias;
    o.slope = slope;
    lay_config(cfg, AE_LAYER_DENSE, &o);
}

/* Smallest |pre-activation| of a dense layer over a batch. */
static double dense_min_preact(const float *w, const float *b, const float *x, size_t batch,
                               size_t in, size_t out)
{
    double m = INFINITY;
    for (size_t s = 0; s < batch; s++)
        for (size_t j = 0; j < out; j++) {
            double z = b ? (double)b[j] : 0.0;
            for (size_t k = 0; k < in; k++)
                z += (double)w[j * in + k] * (double)x[s * in + k];
            if (fabs(z) < m)
                m = fabs(z);
        }
    return m;
}

static void dense_gradcheck(int act, int use_bias)
{
    enum { BATCH = 3, UNITS = 4, IN = 6 };
    const ae_shape in = {2, {2, 3, 0, 0}}; /* flattened to 6 */
    unsigned char cfg[AE__DENSE_CONFIG_SIZE];
    float x[BATCH * IN], y[BATCH * UNITS], r[BATCH * UNITS], dx[BATCH * IN];
    float dw[UNITS * IN], db[UNITS], dw2[UNITS * IN], db2[UNITS];
    uint64_t st = 1000u + (uint64_t)act;
    lay l;

    dense_cfg(cfg, UNITS, act, AE_INIT_GLOROT_UNIFORM, use_bias, 0.125f);
    lay_make_seed(&l, AE_LAYER_DENSE, in, cfg, sizeof cfg, 7);
    ck_assert_uint_eq(l.out.rank, 1);
    ck_assert_uint_eq(l.out.dims[0], UNITS);
    ck_assert_uint_eq(l.in_size, IN);
    ck_assert_uint_eq(lay_nparams(&l), use_bias ? 2 : 1);
    ae_param_view w = lay_param(&l, 0), b;
    ck_assert_str_eq(w.name, "weight");
    ck_assert_uint_eq(w.count, UNITS * IN);
    ck_assert_uint_eq(w.shape.rank, 2);
    ck_assert_uint_eq(w.shape.dims[0], UNITS);
    ck_assert_uint_eq(w.shape.dims[1], IN);
    memset(&b, 0, sizeof b);
    if (use_bias) {
        b = lay_param(&l, 1);
        ck_assert_str_eq(b.name, "bias");
        ck_assert_uint_eq(b.count, UNITS);
    }

    /* Exactly representable parameters and inputs (see FD_H); inputs are
     * redrawn until no pre-activation lies within reach of a kink: a step
     * of 2H moves a pre-activation by at most 2H * max(|x|, |w|, 1). */
    for (size_t i = 0; i < w.count; i++)
        w.value[i] = qrand(&st, 0.5f);
    for (size_t i = 0; use_bias && i < b.count; i++)
        b.value[i] = qrand(&st, 0.25f);
    for (size_t i = 0; i < BATCH * UNITS; i++)
        r[i] = qrand(&st, 1.0f);
    int tries = 0;
    do {
        for (size_t i = 0; i < BATCH * IN; i++)
            x[i] = qrand(&st, 1.0f);
        ck_assert_int_lt(++tries, 1000);
    } while (dense_min_preact(w.value, use_bias ? b.value : NULL, x, BATCH, IN, UNITS) <
             2.5 * FD_H);

    lay_fwd(&l, BATCH, 1, NULL, x, y);
    lay_bwd(&l, BATCH, 1, x, y, r, dx);
    memcpy(dw, w.grad, sizeof dw);
    if (use_bias)
        memcpy(db, b.grad, sizeof db);

    /* Without dx (the first layer in training) the parameter gradients are
     * the same; a second backward overwrites rather than accumulates. */
    lay_fwd(&l, BATCH, 1, NULL, x, y);
    lay_bwd(&l, BATCH, 1, x, y, r, NULL);
    memcpy(dw2, w.grad, sizeof dw2);
    ck_assert_int_eq(memcmp(dw, dw2, sizeof dw), 0);
    if (use_bias) {
        memcpy(db2, b.grad, sizeof db2);
        ck_assert_int_eq(memcmp(db, db2, sizeof db), 0);
    }

    double max_abs = 0.0;
    double ew = check_values(&l, BATCH, x, r, y, w.value, dw, w.count, &max_abs);
    double eb = use_bias ? check_values(&l, BATCH, x, r, y, b.value, db, b.count, &max_abs) : 0.0;
    double ex = check_values(&l, BATCH, x, r, y, x, dx, BATCH * IN, &max_abs);
    ck_assert_msg(ew <= FD_TOL, "dense %s: weight gradient error %g", ae_activation_name(act), ew);
    ck_assert_msg(eb <= FD_TOL, "dense %s: bias gradient error %g", ae_activation_name(act), eb);
    ck_assert_msg(ex <= FD_TOL, "dense %s: input gradient error %g", ae_activation_name(act), ex);
    ck_assert_msg(max_abs > 0.05, "dense %s: gradients are all tiny (%g)", ae_activation_name(act),
                  max_abs);
    lay_free(&l);
}

START_TEST(dense_gradients_match_finite_differences)
{
    dense_gradcheck(_i, 1);
}
END_TEST

START_TEST(dense_without_bias_gradients_match_finite_differences)
{
    dense_gradcheck(_i, 0);
}
END_TEST

START_TEST(dense_computes_hand_checked_outputs)
{
    /* W = [[1, 2, 3], [-1, 0, 1]], b = [0.5, -1]; x0 = [1, 1, 1], x1 = [0, -2, 4]
     * pre-activations: x0 -> [6.5, -1], x1 -> [8.5, 3]. */
    static const float wv[6] = {1, 2, 3, -1, 0, 1}, bv[2] = {0.5f, -1.0f};
    static const float x[6] = {1, 1, 1, 0, -2, 4};
    static const double z[4] = {6.5, -1.0, 8.5, 3.0};
    const ae_shape in = {1, {3, 0, 0, 0}};
    for (int act = AE_ACT_IDENTITY; act <= AE_ACT_TANH; act++) {
        unsigned char cfg[AE__DENSE_CONFIG_SIZE];
        float y[4];
        lay l;
        dense_cfg(cfg, 2, act, AE_INIT_HE_NORMAL, 1, AE_LEAKY_RELU_SLOPE);
        lay_make_seed(&l, AE_LAYER_DENSE, in, cfg, sizeof cfg, 3);
        ae_param_view w = lay_param(&l, 0), b = lay_param(&l, 1);
        memcpy(w.value, wv, sizeof wv);
        memcpy(b.value, bv, sizeof bv);
        lay_fwd(&l, 2, 1, NULL, x, y);
        for (int i = 0; i < 4; i++) {
            double e;
            switch (act) {
            case AE_ACT_RELU: e = z[i] > 0 ? z[i] : 0.0; break;
            case AE_ACT_LEAKY_RELU: e = z[i] > 0 ? z[i] : 0.01 * z[i]; break;
            case AE_ACT_SIGMOID: e = 1.0 / (1.0 + exp(-z[i])); break;
            case AE_ACT_TANH: e = tanh(z[i]); break;
            default: e = z[i]; break;
            }
            ck_assert_msg(fabs((double)y[i] - e) <= 1e-6 * fmax(1.0, fabs(e)),
                          "%s output %d: %.9g, expected %.9g", ae_activation_name(act), i,
                          (double)y[i], e);
        }
        lay_free(&l);
    }
}
END_TEST

START_TEST(dense_initializers_follow_their_distributions)
{
    enum { N = 64 };
    const ae_shape in = {1, {N, 0, 0, 0}};
    /* Glorot/He bounds and standard deviations for fan_in = fan_out = 64. */
    const double glorot_limit = sqrt(6.0 / (2 * N)), he_limit = sqrt(6.0 / N);
    const double expect_std[4] = {glorot_limit / sqrt(3.0), sqrt(2.0 / (2 * N)),
                                  he_limit / sqrt(3.0), sqrt(2.0 / N)};
    const double limit[4] = {glorot_limit, INFINITY, he_limit, INFINITY};
    for (int init = AE_INIT_GLOROT_UNIFORM; init <= AE_INIT_HE_NORMAL; init++) {
        unsigned char cfg[AE__DENSE_CONFIG_SIZE];
        lay a, b, c;
        dense_cfg(cfg, N, AE_ACT_IDENTITY, init, 1, AE_LEAKY_RELU_SLOPE);
        lay_make_seed(&a, AE_LAYER_DENSE, in, cfg, sizeof cfg, 11);
        lay_make_seed(&b, AE_LAYER_DENSE, in, cfg, sizeof cfg, 11);
        lay_make_seed(&c, AE_LAYER_DENSE, in, cfg, sizeof cfg, 12);
        ae_param_view wa = lay_param(&a, 0), wb = lay_param(&b, 0), wc = lay_param(&c, 0);
        ae_param_view ba = lay_param(&a, 1);
        double sum = 0.0, sq = 0.0, mx = 0.0;
        for (size_t i = 0; i < wa.count; i++) {
            sum += wa.value[i];
            sq += (double)wa.value[i] * wa.value[i];
            mx = fmax(mx, fabs(wa.value[i]));
        }
        double mean = sum / (double)wa.count;
        double sd = sqrt(sq / (double)wa.count - mean * mean);
        ck_assert_msg(mx <= limit[init], "init %d: |w| reaches %g > %g", init, mx, limit[init]);
        ck_assert_msg(fabs(mean) < 0.1 * expect_std[init], "init %d: mean %g", init, mean);
        ck_assert_msg(fabs(sd / expect_std[init] - 1.0) < 0.07, "init %d: std %g, expected %g", init,
                      sd, expect_std[init]);
        for (size_t i = 0; i < ba.count; i++)
            ck_assert(ba.value[i] == 0.0f);
        ck_assert_int_eq(memcmp(wa.value, wb.value, wa.count * sizeof(float)), 0);
        ck_assert_int_ne(memcmp(wa.value, wc.value, wa.count * sizeof(float)), 0);
        lay_free(&a);
        lay_free(&b);
        lay_free(&c);
    }
}
END_TEST

START_TEST(dense_rejects_bad_configs)
{
    const ae_shape in = {1, {5, 0, 0, 0}};
    unsigned char cfg[AE__DENSE_CONFIG_SIZE];
    ae_encoder *enc;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    struct {
        uint32_t units;
        int act, init, use_bias;
        float slope;
        const char *word;
    } bad[] = {
        {0, AE_ACT_RELU, 0, 1, 0.01f, "units"},
        {4, 5, 0, 1, 0.01f, "activation"},
        {4, -1, 0, 1, 0.01f, "activation"},
        {4, AE_ACT_RELU, 4, 1, 0.01f, "initializer"},
        {4, AE_ACT_RELU, 0, 2, 0.01f, "use_bias"},
        {4, AE_ACT_LEAKY_RELU, 0, 1, -0.5f, "slope"},
        {4, AE_ACT_LEAKY_RELU, 0, 1, NAN, "slope"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dense_cfg(cfg, bad[i].units, bad[i].act, bad[i].init, bad[i].use_bias, bad[i].slope);
        ck_assert_int_eq(ae_encoder_add_layer(enc, AE_LAYER_DENSE, cfg, sizeof cfg), AE_ERR_INVALID);
        ck_assert_msg(strstr(ae_last_error(), bad[i].word) != NULL, "case %zu: '%s'", i,
                      ae_last_error());
    }
    dense_cfg(cfg, 4, AE_ACT_RELU, 0, 1, 0.01f);
    ck_assert_int_eq(ae_encoder_add_layer(enc, AE_LAYER_DENSE, cfg, sizeof cfg - 1), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "19"));
    ck_assert_int_eq(ae_encoder_add_layer(enc, AE_LAYER_DENSE, NULL, 0), AE_ERR_INVALID);
    ck_assert_uint_eq(ae_encoder_layer_count(enc), 0);
    /* The failures did not consume the initialisation stream. */
    ck_assert_int_eq(ae_encoder_add_layer(enc, AE_LAYER_DENSE, cfg, sizeof cfg), AE_OK);
    ae_encoder *fresh;
    ck_assert_int_eq(ae_encoder_create(&fresh, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_layer(fresh, AE_LAYER_DENSE, cfg, sizeof cfg), AE_OK);
    ae_param_view pa[2], pb[2];
    ck_assert_uint_eq(ae__net_tensor_count(&enc->net), 2);
    ck_assert_int_eq(ae__net_params(&enc->net, pa), AE_OK);
    ck_assert_int_eq(ae__net_params(&fresh->net, pb), AE_OK);
    ck_assert_int_eq(memcmp(pa[0].value, pb[0].value, pa[0].count * sizeof(float)), 0);
    ae_encoder_destroy(fresh);
    ae_encoder_destroy(enc);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Activation layer                                                         */
/* ------------------------------------------------------------------------ */

START_TEST(activation_gradients_match_finite_differences)
{
    enum { BATCH = 2 };
    const int act = _i;
    const ae_shape in = {3, {2, 2, 3, 0}}; /* 12 values, shape kept */
    unsigned char cfg[AE__ACTIVATION_CONFIG_SIZE];
    float x[BATCH * 12], y[BATCH * 12], r[BATCH * 12], dx[BATCH * 12];
    uint64_t st = 77u + (uint64_t)act;
    lay l;

    act_cfg(cfg, act, 0.125f);
    lay_make_seed(&l, AE_LAYER_ACTIVATION, in, cfg, sizeof cfg, 1);
    ck_assert_int_eq(ae__shape_equal(&l.out, &in), 1);
    ck_assert_uint_eq(lay_nparams(&l), 0);
    /* Inputs at least 2.5H away from relu's kink at 0, both signs. */
    for (size_t i = 0; i < BATCH * 12; i++) {
        float v;
        do
            v = 2.0f * qrand(&st, 1.0f);
        while (fabsf(v) < 2.5f * FD_H);
        x[i] = v;
        r[i] = qrand(&st, 1.0f);
    }
    lay_fwd(&l, BATCH, 1, NULL, x, y);
    lay_bwd(&l, BATCH, 1, x, y, r, dx);
    double max_abs = 0.0;
    double e = check_values(&l, BATCH, x, r, y, x, dx, BATCH * 12, &max_abs);
    ck_assert_msg(e <= FD_TOL, "activation %s: input gradient error %g", ae_activation_name(act), e);
    ck_assert_msg(max_abs > 0.05, "activation %s: gradients are all tiny", ae_activation_name(act));
    lay_free(&l);
}
END_TEST

START_TEST(activation_computes_hand_checked_outputs)
{
    const ae_shape in = {1, {4, 0, 0, 0}};
    const float x[4] = {-2.0f, -0.5f, 0.0f, 3.0f};
    unsigned char cfg[AE__ACTIVATION_CONFIG_SIZE];
    float y[4];
    lay l;
    act_cfg(cfg, AE_ACT_RELU, AE_LEAKY_RELU_SLOPE);
    lay_make_seed(&l, AE_LAYER_ACTIVATION, in, cfg, sizeof cfg, 1);
    lay_fwd(&l, 1, 1, NULL, x, y);
    ck_assert(y[0] == 0.0f && y[1] == 0.0f && y[2] == 0.0f && y[3] == 3.0f);
    lay_free(&l);
    act_cfg(cfg, AE_ACT_LEAKY_RELU, AE_LEAKY_RELU_SLOPE);
    lay_make_seed(&l, AE_LAYER_ACTIVATION, in, cfg, sizeof cfg, 1);
    lay_fwd(&l, 1, 1, NULL, x, y);
    ck_assert_float_eq_tol(y[0], -0.02f, 1e-7f);
    ck_assert_float_eq_tol(y[1], -0.005f, 1e-7f);
    ck_assert(y[2] == 0.0f && y[3] == 3.0f);
    lay_free(&l);
    act_cfg(cfg, AE_ACT_SIGMOID, 0.0f);
    lay_make_seed(&l, AE_LAYER_ACTIVATION, in, cfg, sizeof cfg, 1);
    lay_fwd(&l, 1, 1, NULL, x, y);
    ck_assert_float_eq_tol(y[2], 0.5f, 1e-7f);
    ck_assert_double_eq_tol(y[3], 1.0 / (1.0 + exp(-3.0)), 1e-7);
    lay_free(&l);
    act_cfg(cfg, AE_ACT_TANH, 0.0f);
    lay_make_seed(&l, AE_LAYER_ACTIVATION, in, cfg, sizeof cfg, 1);
    lay_fwd(&l, 1, 1, NULL, x, y);
    ck_assert_double_eq_tol(y[0], tanh(-2.0), 1e-7);
    ck_assert(y[2] == 0.0f);
    lay_free(&l);
    ck_assert_str_eq(ae_activation_name(AE_ACT_LEAKY_RELU), "leaky_relu");
    ck_assert_str_eq(ae_activation_name(AE_ACT_IDENTITY), "identity");
    ck_assert_str_eq(ae_activation_name(99), "unknown");
}
END_TEST

/* Non-finite inputs (a diverged or damaged model) propagate instead of
 * hitting undefined behaviour in the vectorised exp (checked under UBSan). */
START_TEST(sigmoid_propagates_nan_and_saturates_at_infinities)
{
    const ae_shape in = {1, {4, 0, 0, 0}};
    const float x[4] = {NAN, INFINITY, -INFINITY, 1e30f};
    unsigned char cfg[AE__ACTIVATION_CONFIG_SIZE];
    float y[4];
    lay l;
    act_cfg(cfg, AE_ACT_SIGMOID, 0.0f);
    lay_make_seed(&l, AE_LAYER_ACTIVATION, in, cfg, sizeof cfg, 1);
    lay_fwd(&l, 1, 1, NULL, x, y);
    ck_assert(isnan(y[0]));
    ck_assert_float_eq_tol(y[1], 1.0f, 1e-7f);
    ck_assert_float_eq_tol(y[2], 0.0f, 1e-7f);
    ck_assert_float_eq_tol(y[3], 1.0f, 1e-7f);
    lay_free(&l);
}
END_TEST

START_TEST(activation_rejects_bad_configs)
{
    const ae_shape in = {1, {5, 0, 0, 0}};
    unsigned char cfg[AE__ACTIVATION_CONFIG_SIZE];
    ae_decoder *dec;
    ck_assert_int_eq(ae_decoder_create(&dec, &in, 1), AE_OK);
    act_cfg(cfg, 7, 0.01f);
    ck_assert_int_eq(ae_decoder_add_layer(dec, AE_LAYER_ACTIVATION, cfg, sizeof cfg), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "7"));
    act_cfg(cfg, AE_ACT_LEAKY_RELU, -1.0f);
    ck_assert_int_eq(ae_decoder_add_layer(dec, AE_LAYER_ACTIVATION, cfg, sizeof cfg), AE_ERR_INVALID);
    act_cfg(cfg, AE_ACT_RELU, 0.01f);
    ck_assert_int_eq(ae_decoder_add_layer(dec, AE_LAYER_ACTIVATION, cfg, 4), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_add_activation(dec, 5), AE_ERR_INVALID);
    ck_assert_uint_eq(ae_decoder_layer_count(dec), 0);
    ck_assert_int_eq(ae_decoder_add_layer(dec, AE_LAYER_ACTIVATION, cfg, sizeof cfg), AE_OK);
    ck_assert_uint_eq(ae_decoder_layer_count(dec), 1);
    ck_assert_uint_eq(ae_decoder_param_count(dec), 0);
    ae_decoder_destroy(dec);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Losses                                                                   */
/* ------------------------------------------------------------------------ */

/* d(mean loss)/d(pred) from ae__loss (what training uses) against a
 * fourth-order central difference of the loss value, which ae__loss sums in
 * double. Predictions stay in [0.25, 0.75] (inside BCE's clamp) and are
 * multiples of 2^-10, so pred +- 2h (h = 2^-7) is exact. */
START_TEST(loss_gradients_match_finite_differences)
{
    enum { N = 6 };
    const int loss = _i;
    const float h = 0.0078125f;
    float pred[N], target[N], grad[N];
    uint64_t st = 5u + (uint64_t)loss;
    for (size_t i = 0; i < N; i++) {
        pred[i] = 0.5f + qrand(&st, 0.25f);
        target[i] = (float)(test_rand_next(&st) >> 54) / 1024.0f; /* [0, 1) */
    }
    target[0] = 0.0f;
    target[1] = 1.0f;
    double value = ae__loss(loss, pred, target, N, grad, (double)N), check;
    ck_assert_int_eq(ae_loss_compute(&check, loss, target, pred, 2, 3), AE_OK);
    ck_assert(value == check);
    double worst = 0.0;
    for (size_t i = 0; i < N; i++) {
        const float keep = pred[i];
        const float step[4] = {2 * h, h, -h, -2 * h};
        double f[4];
        for (int k = 0; k < 4; k++) {
            pred[i] = keep + step[k];
            f[k] = ae__loss(loss, pred, target, N, NULL, (double)N);
        }
        pred[i] = keep;
        double num = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12.0 * (double)h);
        worst = fmax(worst, rel_err(grad[i], num));
        ck_assert(fabs(grad[i]) > 0.0 || fabs(num) < 1e-6);
    }
    ck_assert_msg(worst <= FD_TOL, "%s gradient error %g", ae_loss_name(loss), worst);
}
END_TEST

START_TEST(loss_gradient_is_for_the_mean_over_scale_elements)
{
    /* Training passes scale = batch * features: the gradient is that of the
     * mean, so it shrinks with the scale while the value is sum / scale. */
    const float pred[2] = {0.75f, 0.25f}, target[2] = {0.5f, 0.5f};
    float g1[2], g8[2];
    double v1 = ae__loss(AE_LOSS_MSE, pred, target, 2, g1, 2.0);
    double v8 = ae__loss(AE_LOSS_MSE, pred, target, 2, g8, 16.0);
    ck_assert_double_eq_tol(v1, 0.0625, 1e-12);
    ck_assert_double_eq_tol(v8, 0.0078125, 1e-12);
    ck_assert_float_eq_tol(g1[0], 0.25f, 1e-7f); /* 2 * 0.25 / 2 */
    ck_assert_float_eq_tol(g1[1], -0.25f, 1e-7f);
    ck_assert_float_eq_tol(g8[0], 0.03125f, 1e-8f);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* A custom layer through the public extender's API only                    */
/* ------------------------------------------------------------------------ */

/*
 * "test.scale": y = a * x + c element-wise, shape unchanged, two scalar
 * parameters. Config: 8 bytes, f32 a then f32 c (little-endian).
 * Every callback checks that it received the registered user data, that
 * forward() sees training == 1 with an rng exactly in training, and that
 * the workspace is there, aligned and kept from forward() to backward().
 */
typedef struct scale_layer {
    float p[2]; /* a, c */
    float g[2];
    size_t size;
} scale_layer;

typedef struct tracker {
    int creates, destroys, forwards, train_forwards, backwards, frees;
    int bad_user_data, bad_ctx;
    scale_layer *made[8];
    int n_made;
    int fail_create; /* when set, create() fails with this code */
    int fail_param_get; /* when set, param_get() fails with this code */
    /* misbehaviours (0: none): create() makes its state, then returns
     * this; param_count() reports this many; forward() returns this;
     * parameter 1's count disagrees with its shape */
    int create_returns;
    size_t param_count;
    int forward_returns;
    int bad_count;
} tracker;

static tracker trk;

static void tracker_reset(void)
{
    memset(&trk, 0, sizeof trk);
}

static float le_f32(const unsigned char *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &v, 4);
    return f;
}

static void put_f32(unsigned char *p, float f)
{
    uint32_t v;
    memcpy(&v, &f, 4);
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int scale_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    if (args->user_data != &trk)
        trk.bad_user_data++;
    if (trk.fail_create != 0)
        return ae_error_set(trk.fail_create, "test.scale: asked to fail");
    if (args->config_size != 8 || args->config == NULL)
        return ae_error_set(AE_ERR_INVALID, "test.scale: config is %zu bytes, expected 8",
                            args->config_size);
    scale_layer *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ae_error_set(AE_ERR_NOMEM, "test.scale: out of memory");
    s->p[0] = le_f32(args->config);
    s->p[1] = le_f32((const unsigned char *)args->config + 4);
    s->size = 1;
    for (uint32_t i = 0; i < args->input.rank; i++)
        s->size *= args->input.dims[i];
    *output = args->input;
    *state = s;
    trk.creates++;
    if (trk.n_made < 8)
        trk.made[trk.n_made++] = s;
    return trk.create_returns;
}

static void scale_destroy(void *state)
{
    trk.destroys++;
    free(state);
}

static size_t scale_param_count(const void *state)
{
    (void)state;
    return trk.param_count ? trk.param_count : 2;
}

static int scale_param_get(void *state, size_t index, ae_param_view *v)
{
    scale_layer *s = state;
    if (trk.fail_param_get != 0)
        return ae_error_set(trk.fail_param_get, "test.scale: param_get asked to fail");
    if (index > 1)
        return ae_error_set(AE_ERR_INVALID, "test.scale: no parameter %zu", index);
    v->name = index == 0 ? "a" : "c";
    v->value = &s->p[index];
    v->grad = &s->g[index];
    v->count = index == 1 && trk.bad_count ? 2 : 1;
    memset(&v->shape, 0, sizeof v->shape);
    v->shape.rank = 1;
    v->shape.dims[0] = 1;
    return AE_OK;
}

/* The workspace holds a copy of x: forward() fills all of it (so a short
 * buffer shows under ASan/valgrind) and backward() checks it is intact. */
static size_t scale_workspace_size(const void *state, size_t batch)
{
    const scale_layer *s = state;
    return batch * s->size * sizeof(float);
}

static int scale_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    const scale_layer *s = state;
    float *ws = ctx->workspace;
    if (ctx->user_data != &trk)
        trk.bad_user_data++;
    if ((ctx->training != 0) != (ctx->rng != NULL) || ctx->batch == 0 || ws == NULL ||
        (uintptr_t)ws % 64 != 0) {
        trk.bad_ctx++;
        return ae_error_set(AE_ERR_INVALID, "test.scale: bad context");
    }
    trk.forwards++;
    trk.train_forwards += ctx->training != 0;
    for (size_t i = 0; i < ctx->batch * s->size; i++) {
        ws[i] = x[i];
        y[i] = s->p[0] * x[i] + s->p[1];
    }
    return trk.forward_returns;
}

static int scale_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                          const float *dy, float *dx)
{
    scale_layer *s = state;
    double ga = 0.0, gc = 0.0;
    (void)y;
    if (ctx->user_data != &trk)
        trk.bad_user_data++;
    if (ctx->training != 1)
        trk.bad_ctx++;
    trk.backwards++;
    if (ctx->workspace == NULL ||
        memcmp(ctx->workspace, x, ctx->batch * s->size * sizeof(float)) != 0)
        trk.bad_ctx++;
    for (size_t i = 0; i < ctx->batch * s->size; i++) {
        ga += (double)dy[i] * x[i];
        gc += dy[i];
        if (dx != NULL)
            dx[i] = s->p[0] * dy[i];
    }
    s->g[0] = (float)ga;
    s->g[1] = (float)gc;
    return AE_OK;
}

static void tracker_free(void *user)
{
    if (user != &trk)
        trk.bad_user_data++;
    trk.frees++;
}

static ae_layer_vtable scale_vtable(const char *name)
{
    ae_layer_vtable vt = AE_LAYER_VTABLE_INIT;
    vt.type_name = name;
    vt.type_version = 1;
    vt.create = scale_create;
    vt.destroy = scale_destroy;
    vt.param_count = scale_param_count;
    vt.param_get = scale_param_get;
    vt.workspace_size = scale_workspace_size;
    vt.forward = scale_forward;
    vt.backward = scale_backward;
    return vt;
}

static void scale_config(unsigned char cfg[8], float a, float c)
{
    put_f32(cfg, a);
    put_f32(cfg + 4, c);
}

static ae_dataset *make_data(size_t count, size_t features, size_t rank, uint64_t seed)
{
    ae_shape shape = {1, {(uint32_t)features, 0, 0, 0}};
    float *x = malloc(count * features * sizeof *x);
    ae_dataset *ds = NULL;
    ck_assert_ptr_nonnull(x);
    test_subspace_data(x, count, features, rank, seed);
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, count, &shape, AE_DATASET_COPY), AE_OK);
    free(x);
    return ds;
}

START_TEST(custom_layer_learns_the_identity_with_its_own_parameters)
{
    /* encoder: scale(a1, c1); decoder: scale(a2, c2). The reconstruction is
     * a1 a2 x + (a2 c1 + c2): training must drive the slope to 1 and the
     * offset to 0, starting from slope 0.15 and offset 0.1. */
    const ae_shape in = {1, {4, 0, 0, 0}};
    unsigned char cfg[8];
    ae_layer_vtable vt = scale_vtable("test.scale");
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *model;
    ae_optimizer *opt;
    ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    tracker_reset();
    ck_assert_int_eq(ae_layer_register(&vt, &trk, tracker_free), AE_OK);
    ck_assert_int_eq(ae_layer_is_registered("test.scale"), 1);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &in, 2), AE_OK);
    scale_config(cfg, 0.3f, 0.2f);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_OK);
    scale_config(cfg, 0.5f, 0.0f);
    ck_assert_int_eq(ae_decoder_add_layer(dec, "test.scale", cfg, sizeof cfg), AE_OK);
    ck_assert_uint_eq(ae_encoder_param_count(enc), 2);
    ck_assert_int_eq(ae_model_create(&model, enc, dec), AE_OK);
    ck_assert_int_eq(trk.creates, 2);
    scale_layer *e = trk.made[0], *d = trk.made[1];

    ae_dataset *ds = make_data(64, 4, 2, 9);
    ck_assert_int_eq(ae_optimizer_options_default(&oo, AE_OPT_ADAM), AE_OK);
    oo.learning_rate = 0.05f;
    ck_assert_int_eq(ae_optimizer_create(&opt, &oo), AE_OK);
    to.epochs = 60;
    to.batch_size = 16;
    to.seed = 3;
    ck_assert_int_eq(ae_model_train(model, opt, ds, &to), AE_OK);
    double slope = (double)e->p[0] * d->p[0], offset = (double)d->p[0] * e->p[1] + d->p[1];
    ck_assert_msg(fabs(slope - 1.0) < 0.05 && fabs(offset) < 0.05, "slope %g, offset %g", slope,
                  offset);
    double first, last;
    ck_assert_int_eq(ae_model_history_get(model, 0, &first, NULL), AE_OK);
    ck_assert_int_eq(ae_model_history_get(model, 59, &last, NULL), AE_OK);
    ck_assert(last < 0.05 * first);

    /* Every callback saw the registered user data and a coherent context. */
    ck_assert_int_eq(trk.bad_user_data, 0);
    ck_assert_int_eq(trk.bad_ctx, 0);
    ck_assert_int_eq(trk.backwards, 2 * 60 * 4);
    ck_assert_int_eq(trk.train_forwards, 2 * 60 * 4);
    int before = trk.forwards;
    float x[4] = {0.1f, 0.2f, 0.3f, 0.4f}, xr[4];
    ck_assert_int_eq(ae_model_reconstruct(model, x, 1, xr), AE_OK);
    ck_assert_int_eq(trk.forwards, before + 2);
    ck_assert_int_eq(trk.train_forwards, 2 * 60 * 4);
    ck_assert_int_eq(trk.bad_ctx, 0);

    ae_model_destroy(model);
    ck_assert_int_eq(trk.destroys, 2);
    ck_assert_int_eq(trk.frees, 0);
    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_OK);
    ck_assert_int_eq(trk.frees, 1);
    ck_assert_int_eq(ae_layer_is_registered("test.scale"), 0);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(custom_layer_trains_with_dense_layers)
{
    /* encoder: scale, dense(4); decoder: dense(8), on 8 features in a
     * 3-dimensional subspace. The loss falls and the custom parameters move. */
    const ae_shape in = {1, {8, 0, 0, 0}}, latent = {1, {4, 0, 0, 0}};
    unsigned char cfg[8];
    ae_layer_vtable vt = scale_vtable("test.scale");
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *model;
    ae_optimizer *opt;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    tracker_reset();
    ck_assert_int_eq(ae_layer_register(&vt, &trk, tracker_free), AE_OK);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    scale_config(cfg, 0.5f, 0.25f);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 4, AE_ACT_IDENTITY), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &latent, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 8, AE_ACT_IDENTITY), AE_OK);
    ck_assert_int_eq(ae_model_create(&model, enc, dec), AE_OK);
    ck_assert_uint_eq(ae_model_param_count(model), 2 + 8 * 4 + 4 + 4 * 8 + 8);
    ae_dataset *ds = make_data(128, 8, 3, 4);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_int_eq(ae_optimizer_set_learning_rate(opt, 0.01f), AE_OK);
    to.epochs = 30;
    to.seed = 8;
    ck_assert_int_eq(ae_model_train(model, opt, ds, &to), AE_OK);
    double first, last;
    ck_assert_int_eq(ae_model_history_get(model, 0, &first, NULL), AE_OK);
    ck_assert_int_eq(ae_model_history_get(model, 29, &last, NULL), AE_OK);
    ck_assert_msg(last < 0.5 * first, "loss %g -> %g", first, last);
    scale_layer *s = trk.made[0];
    ck_assert(s->p[0] != 0.5f && s->p[1] != 0.25f);
    ck_assert_int_eq(trk.bad_user_data, 0);
    ck_assert_int_eq(trk.bad_ctx, 0);
    ae_model_destroy(model);
    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_OK);
    ck_assert_int_eq(trk.frees, 1);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(unregistering_a_kind_in_use_keeps_its_layers_working)
{
    const ae_shape in = {1, {4, 0, 0, 0}}, latent = {1, {2, 0, 0, 0}};
    unsigned char cfg[8];
    ae_layer_vtable vt = scale_vtable("test.scale");
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *model;
    ae_optimizer *opt;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f}, z1[4], z2[4];
    tracker_reset();
    ck_assert_int_eq(ae_layer_register(&vt, &trk, tracker_free), AE_OK);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    scale_config(cfg, 2.0f, -1.0f);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 2, AE_ACT_TANH), AE_OK);
    ck_assert_int_eq(ae_encoder_encode(enc, x, 2, z1), AE_OK);

    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_OK);
    ck_assert_int_eq(ae_layer_is_registered("test.scale"), 0);
    ck_assert_int_eq(trk.frees, 0); /* a layer still holds the kind */
    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_ERR_NOT_FOUND);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "test.scale"));

    /* The name is free again: a new registration is a different kind. */
    ck_assert_int_eq(ae_layer_register(&vt, &trk, NULL), AE_OK);
    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_OK);

    ck_assert_int_eq(ae_encoder_encode(enc, x, 2, z2), AE_OK);
    ck_assert_int_eq(memcmp(z1, z2, sizeof z1), 0);
    ck_assert_int_eq(ae_decoder_create(&dec, &latent, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 4, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&model, enc, dec), AE_OK);
    ae_dataset *ds = make_data(16, 4, 2, 1);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    to.epochs = 2;
    to.batch_size = 8;
    ck_assert_int_eq(ae_model_train(model, opt, ds, &to), AE_OK);
    ck_assert_int_eq(trk.backwards, 4);
    ck_assert_int_eq(trk.frees, 0);
    ae_model_destroy(model);
    ck_assert_int_eq(trk.destroys, trk.creates);
    ck_assert_int_eq(trk.frees, 1);
    ck_assert_int_eq(trk.bad_user_data, 0);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(user_free_runs_at_unregister_when_no_layer_is_left)
{
    ae_layer_vtable vt = scale_vtable("test.scale");
    tracker_reset();
    ck_assert_int_eq(ae_layer_register(&vt, &trk, tracker_free), AE_OK);
    ck_assert_int_eq(trk.frees, 0);
    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_OK);
    ck_assert_int_eq(trk.frees, 1);
    ck_assert_int_eq(trk.bad_user_data, 0);
    /* A NULL user_free is fine. */
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_OK);
    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_OK);
    ck_assert_int_eq(trk.frees, 1);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(registration_errors_give_documented_codes)
{
    ae_layer_vtable vt;
    char name[AE_LAYER_NAME_MAX + 2];
    tracker_reset();

    ck_assert_int_eq(ae_layer_register(NULL, NULL, NULL), AE_ERR_INVALID);

    vt = scale_vtable("test.reg");
    vt.create = NULL;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "create"));
    vt = scale_vtable("test.reg");
    vt.forward = NULL;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_INVALID);
    vt = scale_vtable("test.reg");
    vt.destroy = NULL;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_INVALID);
    vt = scale_vtable("test.reg");
    vt.param_get = NULL; /* param_count without param_get */
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_INVALID);

    const char *bad_names[] = {NULL, "", "has space", "a/b", "tab\t", "é"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        vt = scale_vtable(bad_names[i]);
        ck_assert_msg(ae_layer_register(&vt, NULL, NULL) == AE_ERR_INVALID, "name %zu", i);
    }
    memset(name, 'x', sizeof name);
    name[AE_LAYER_NAME_MAX + 1] = '\0'; /* 64 characters: one too many */
    vt = scale_vtable(name);
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_INVALID);
    name[AE_LAYER_NAME_MAX] = '\0'; /* 63: the longest allowed */
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_OK);
    ck_assert_int_eq(ae_layer_is_registered(name), 1);
    ck_assert_int_eq(ae_layer_unregister(name), AE_OK);
    vt = scale_vtable("Ok_name.v1:x-y");
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_OK);
    ck_assert_int_eq(ae_layer_unregister("Ok_name.v1:x-y"), AE_OK);

    vt = scale_vtable("test.reg");
    vt.struct_size = (uint32_t)offsetof(ae_layer_vtable, backward);
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_INVALID);
    vt.struct_size = 0;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_INVALID);

    vt = scale_vtable("test.reg");
    vt.abi_version = AE_LAYER_ABI_VERSION + 1;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_VERSION);
    vt.abi_version = 0;
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_VERSION);

    /* A newer, larger vtable is fine while its unknown slots are zero. */
    struct {
        ae_layer_vtable vt;
        void *later[2];
    } big;
    memset(&big, 0, sizeof big);
    big.vt = scale_vtable("test.big");
    big.vt.struct_size = sizeof big;
    ck_assert_int_eq(ae_layer_register(&big.vt, NULL, NULL), AE_OK);
    ck_assert_int_eq(ae_layer_unregister("test.big"), AE_OK);
    big.later[1] = &big;
    ck_assert_int_lt(ae_layer_register(&big.vt, NULL, NULL), 0);
    ck_assert_int_eq(ae_layer_is_registered("test.big"), 0);

    vt = scale_vtable("test.reg");
    ck_assert_int_eq(ae_layer_register(&vt, &trk, tracker_free), AE_OK);
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_EXISTS);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "test.reg"));
    ck_assert_int_eq(trk.frees, 0);
    ck_assert_int_eq(ae_layer_unregister("test.reg"), AE_OK);
    ck_assert_int_eq(trk.frees, 1);

    vt = scale_vtable(AE_LAYER_DENSE);
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_EXISTS);
    vt = scale_vtable(AE_LAYER_ACTIVATION);
    ck_assert_int_eq(ae_layer_register(&vt, NULL, NULL), AE_ERR_EXISTS);

    ck_assert_int_eq(ae_layer_unregister(NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_layer_unregister("test.never"), AE_ERR_NOT_FOUND);
    ck_assert_int_eq(ae_layer_unregister(AE_LAYER_DENSE), AE_ERR_UNSUPPORTED);
    ck_assert_int_eq(ae_layer_is_registered(AE_LAYER_DENSE), 1);
    ck_assert_int_eq(ae_layer_is_registered(AE_LAYER_ACTIVATION), 1);
    ck_assert_int_eq(ae_layer_is_registered(NULL), 0);
    ck_assert_int_eq(ae_layer_is_registered("test.never"), 0);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

/* A bogus function address: slots past a vtable's struct_size must never
 * be read, let alone called. */
static size_t poison_count(const void *state)
{
    (void)state;
    ck_abort_msg("a slot past struct_size was called");
    return 0;
}

START_TEST(older_vtable_layouts_keep_working)
{
    /* Built against the first layout (ending with backward): whatever
     * follows in memory is not part of the caller's struct. */
    const ae_shape in = {1, {4, 0, 0, 0}};
    unsigned char cfg[8];
    ae_layer_vtable vt = scale_vtable("test.old");
    ae_encoder *enc;
    float x[4] = {1, 2, 3, 4}, z[4];
    tracker_reset();
    vt.struct_size = (uint32_t)(offsetof(ae_layer_vtable, backward) + sizeof vt.backward);
    vt.state_count = poison_count;
    vt.state_get = NULL;
    ck_assert_int_eq(ae_layer_register(&vt, &trk, NULL), AE_OK);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    scale_config(cfg, 2.0f, 1.0f);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.old", cfg, sizeof cfg), AE_OK);
    ck_assert_int_eq(ae_encoder_encode(enc, x, 1, z), AE_OK);
    ck_assert(z[0] == 3.0f && z[3] == 9.0f);
    ae_encoder_destroy(enc);
    ck_assert_int_eq(ae_layer_unregister("test.old"), AE_OK);

    /* A size covering state_count but not state_get: state_get counts as
     * absent, so state_count without it is refused. */
    vt = scale_vtable("test.half");
    vt.struct_size = (uint32_t)offsetof(ae_layer_vtable, state_get);
    vt.state_count = scale_param_count;
    vt.state_get = scale_param_get;
    ck_assert_int_eq(ae_layer_register(&vt, &trk, NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "state_get"));
    /* A size ending inside a slot: that slot counts as absent too. */
    vt.struct_size = (uint32_t)(offsetof(ae_layer_vtable, state_count) + 4);
    vt.state_count = poison_count;
    ck_assert_int_eq(ae_layer_register(&vt, &trk, NULL), AE_OK);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.half", cfg, sizeof cfg), AE_OK);
    ae_encoder_destroy(enc);
    ck_assert_int_eq(ae_layer_unregister("test.half"), AE_OK);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(adding_an_unknown_kind_is_not_found)
{
    const ae_shape in = {1, {4, 0, 0, 0}};
    ae_encoder *enc;
    ae_decoder *dec;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "no_such_kind", NULL, 0), AE_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "no_such_kind"));
    ck_assert_int_eq(ae_decoder_add_layer(dec, "other.kind", "x", 1), AE_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "other.kind"));
    ck_assert_uint_eq(ae_encoder_layer_count(enc), 0);
    ck_assert_uint_eq(ae_decoder_layer_count(dec), 0);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(custom_create_errors_reach_the_caller)
{
    const ae_shape in = {1, {4, 0, 0, 0}};
    unsigned char cfg[8];
    ae_layer_vtable vt = scale_vtable("test.scale");
    ae_encoder *enc;
    tracker_reset();
    ck_assert_int_eq(ae_layer_register(&vt, &trk, tracker_free), AE_OK);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    /* The kind's own config check. */
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, 4), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "expected 8"));
    scale_config(cfg, 1.0f, 0.0f);
    trk.fail_create = AE_ERR_SHAPE;
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_ERR_SHAPE);
    ck_assert_str_eq(ae_last_error(), "test.scale: asked to fail");
    trk.fail_create = 5; /* not a status: reported as invalid */
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_ERR_INVALID);
    trk.fail_create = 0;
    ck_assert_uint_eq(ae_encoder_layer_count(enc), 0);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_OK);
    ck_assert_uint_eq(ae_encoder_layer_count(enc), 1);
    ae_encoder_destroy(enc);
    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_OK);
    ck_assert_int_eq(trk.frees, 1);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

/* A layer callback's code reaches the caller as a status: pinned codes as
 * they are, anything else (positive, unknown negative) as AE_ERR_INVALID;
 * here param_get() when training collects the parameters. */
START_TEST(custom_param_get_errors_reach_the_caller_as_statuses)
{
    const ae_shape in = {1, {4, 0, 0, 0}}, latent = {1, {4, 0, 0, 0}};
    unsigned char cfg[8];
    ae_layer_vtable vt = scale_vtable("test.scale");
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *model;
    ae_optimizer *opt;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 1;
    tracker_reset();
    ck_assert_int_eq(ae_layer_register(&vt, &trk, NULL), AE_OK);
    scale_config(cfg, 1.0f, 0.0f);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &latent, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 4, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&model, enc, dec), AE_OK);
    ae_dataset *ds = make_data(8, 4, 2, 3);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    trk.fail_param_get = 7; /* not a status */
    ck_assert_int_eq(ae_model_train(model, opt, ds, &to), AE_ERR_INVALID);
    trk.fail_param_get = -1000; /* no such status */
    ck_assert_int_eq(ae_model_train(model, opt, ds, &to), AE_ERR_INVALID);
    trk.fail_param_get = AE_ERR_NOMEM;
    ck_assert_int_eq(ae_model_train(model, opt, ds, &to), AE_ERR_NOMEM);
    ck_assert_str_eq(ae_last_error(), "test.scale: param_get asked to fail");
    trk.fail_param_get = 0;
    ck_assert_int_eq(ae_model_train(model, opt, ds, &to), AE_OK);
    ae_model_destroy(model);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_OK);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(misbehaving_custom_kinds_are_refused_with_a_message)
{
    /* What a hostile-input audit found: a param_count() of SIZE_MAX hung
     * the add, a return value that is not a status left ae_last_error()
     * empty (and a create() that made its state leaked it), and a view
     * whose count is not its shape's size was only caught at save. */
    const ae_shape in = {1, {4, 0, 0, 0}};
    unsigned char cfg[8];
    ae_layer_vtable vt = scale_vtable("test.scale");
    ae_encoder *enc;
    float x[4] = {1, 2, 3, 4}, z[4];
    tracker_reset();
    ck_assert_int_eq(ae_layer_register(&vt, &trk, NULL), AE_OK);
    scale_config(cfg, 1.0f, 0.0f);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);

    trk.param_count = SIZE_MAX;
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_ERR_LIMIT);
    ck_assert_msg(strstr(ae_last_error(), "reports 18446744073709551615 parameter"), "%s",
                  ae_last_error());
    trk.param_count = 257;
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_ERR_LIMIT);
    trk.param_count = 0;
    trk.bad_count = 1;
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_ERR_INVALID);
    ck_assert_msg(strstr(ae_last_error(), "parameter 1 ('c') has 2 values but shape"), "%s",
                  ae_last_error());
    trk.bad_count = 0;
    trk.create_returns = 7;
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_ERR_INVALID);
    ck_assert_msg(strstr(ae_last_error(), "'test.scale': create() returned 7, not AE_OK"), "%s",
                  ae_last_error());
    ck_assert_int_eq(trk.destroys, trk.creates); /* every state made was destroyed */
    ck_assert_uint_eq(ae_encoder_layer_count(enc), 0);

    trk.create_returns = 0;
    ck_assert_int_eq(ae_encoder_add_layer(enc, "test.scale", cfg, sizeof cfg), AE_OK);
    trk.forward_returns = 3;
    ck_assert_int_eq(ae_encoder_encode(enc, x, 1, z), AE_ERR_INVALID);
    ck_assert_msg(strstr(ae_last_error(), "'test.scale': forward() returned 3, not AE_OK"), "%s",
                  ae_last_error());
    trk.forward_returns = 0;
    ck_assert_int_eq(ae_encoder_encode(enc, x, 1, z), AE_OK);
    ae_encoder_destroy(enc);
    ck_assert_int_eq(trk.destroys, trk.creates);
    ck_assert_int_eq(ae_layer_unregister("test.scale"), AE_OK);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(a_kind_without_backward_is_inference_only)
{
    const ae_shape in = {1, {4, 0, 0, 0}}, latent = {1, {3, 0, 0, 0}};
    unsigned char cfg[8];
    ae_layer_vtable vt = scale_vtable("test.fwd_only");
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *model;
    ae_optimizer *opt;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    float x[4] = {0.5f, 0.25f, 0.75f, 1.0f}, xr[4];
    vt.backward = NULL;
    tracker_reset();
    ck_assert_int_eq(ae_layer_register(&vt, &trk, NULL), AE_OK);
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 3, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &latent, 2), AE_OK);
    scale_config(cfg, 1.5f, 0.0f);
    ck_assert_int_eq(ae_decoder_add_layer(dec, "test.fwd_only", cfg, sizeof cfg), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 4, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&model, enc, dec), AE_OK);
    ae_dataset *ds = make_data(8, 4, 2, 3);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_int_eq(ae_model_train(model, opt, ds, &to), AE_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "test.fwd_only"));
    ck_assert_uint_eq(ae_model_history_length(model), 0);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 0);
    ck_assert_int_eq(ae_model_reconstruct(model, x, 1, xr), AE_OK);
    ck_assert_int_eq(trk.forwards, 1);
    ae_model_destroy(model);
    ck_assert_int_eq(ae_layer_unregister("test.fwd_only"), AE_OK);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST


/* ------------------------------------------------------------------------ */
/* One row per built-in kind: gradient check, batch equivalence, save/load   */
/* ------------------------------------------------------------------------ */

/* A kind's row: the input, the options its public adder takes (through the
 * catalogue's config encoder), the batch, the finite-difference step, and
 * how its batch equivalence is checked. */
typedef struct layer_row {
    const char *kind;
    ae_shape in;
    const void *opts;
    size_t batch;
    float h;
    int spread;       /* inputs kept 0.05 apart (max pooling: no ties within a step) */
    int train_batch;  /* batch equivalence in training (0: inference; batch
                         statistics or random draws couple the samples) */
} layer_row;

static const layer_row layer_rows[] = {
    {AE_LAYER_DENSE, {1, {6, 0, 0, 0}},
     &(ae_dense_options){sizeof(ae_dense_options), 4, AE_ACT_TANH, AE_INIT_GLOROT_UNIFORM, 1,
                         AE_LEAKY_RELU_SLOPE}, 3, 1e-2f, 0, 1},
    {AE_LAYER_ACTIVATION, {1, {7, 0, 0, 0}}, &(int){AE_ACT_SIGMOID}, 2, 1e-2f, 0, 1},
    {AE_LAYER_CONV2D, {3, {2, 5, 6, 0}},
     &(ae_conv2d_options){sizeof(ae_conv2d_options), 3, 3, 3, 1, 1, 1, 1, AE_PAD_SAME, 0, 0, 0, 0,
                          AE_ACT_TANH, AE_INIT_GLOROT_UNIFORM, 1, AE_LEAKY_RELU_SLOPE},
     2, 1e-2f, 0, 1},
    {AE_LAYER_CONV2D_TRANSPOSE, {3, {2, 3, 3, 0}},
     &(ae_conv2d_transpose_options){sizeof(ae_conv2d_transpose_options), 2, 3, 3, 2, 2, 1, 1,
                                    AE_PAD_SAME, 0, 0, 0, 0, AE_OUTPUT_PADDING_AUTO,
                                    AE_OUTPUT_PADDING_AUTO, AE_ACT_SIGMOID,
                                    AE_INIT_GLOROT_UNIFORM, 1, AE_LEAKY_RELU_SLOPE},
     2, 1e-2f, 0, 1},
    {AE_LAYER_MAXPOOL2D, {3, {2, 6, 6, 0}},
     &(ae_pool2d_options){sizeof(ae_pool2d_options), 2, 2, 0, 0, AE_PAD_VALID, 0, 0, 0, 0}, 2,
     1e-3f, 1, 1},
    {AE_LAYER_MAXPOOL2D, {3, {2, 7, 6, 0}},
     &(ae_pool2d_options){sizeof(ae_pool2d_options), 3, 3, 2, 2, AE_PAD_SAME, 0, 0, 0, 0}, 2,
     1e-3f, 1, 1},
    {AE_LAYER_MAXPOOL2D, {3, {1, 6, 5, 0}},
     &(ae_pool2d_options){sizeof(ae_pool2d_options), 3, 2, 2, 1, AE_PAD_EXPLICIT, 1, 1, 1, 1}, 3,
     1e-3f, 1, 1},
    {AE_LAYER_UPSAMPLE2D, {3, {2, 3, 2, 0}},
     &(ae_upsample2d_options){sizeof(ae_upsample2d_options), 2, 3}, 2, 1e-2f, 0, 1},
    {AE_LAYER_RESHAPE, {3, {2, 3, 4, 0}}, &(ae_shape){2, {6, 4, 0, 0}}, 2, 1e-2f, 0, 1},
    {AE_LAYER_FLATTEN, {3, {2, 3, 4, 0}}, NULL, 2, 1e-2f, 0, 1},
    {AE_LAYER_DROPOUT, {3, {2, 3, 3, 0}}, &(ae_dropout_options){sizeof(ae_dropout_options), 0.3f},
     3, 1e-2f, 0, 0},
    {AE_LAYER_BATCHNORM, {3, {3, 2, 3, 0}},
     &(ae_batchnorm_options){sizeof(ae_batchnorm_options), 0.1f, 1e-5f}, 4, 1e-2f, 0, 0},
    {AE_LAYER_BATCHNORM, {1, {5, 0, 0, 0}},
     &(ae_batchnorm_options){sizeof(ae_batchnorm_options), 0.1f, 1e-5f}, 6, 1e-2f, 0, 0},
    {AE_LAYER_GAUSSIAN_SAMPLE, {1, {8, 0, 0, 0}},
     &(ae_gaussian_sample_options){sizeof(ae_gaussian_sample_options), 1.0f}, 3, 1e-2f, 0, 0},
    {AE_LAYER_GAUSSIAN_SAMPLE, {1, {6, 0, 0, 0}},
     &(ae_gaussian_sample_options){sizeof(ae_gaussian_sample_options), 0.0f}, 2, 1e-2f, 0, 0},
};
#define N_LAYER_ROWS ((int)(sizeof layer_rows / sizeof layer_rows[0]))

/* The row's layer (random parameters) and its config blob. */
static size_t row_make(lay *l, const layer_row *r, unsigned char *cfg)
{
    size_t size = lay_config(cfg, r->kind, r->opts);
    lay_make(l, r->kind, r->in, size ? cfg : NULL, size);
    lay_randomize_params(l);
    return size;
}

START_TEST(layer_row_gradients_match_finite_differences)
{
    const layer_row *r = &layer_rows[_i];
    unsigned char cfg[AE__CONFIG_BUF];
    lay l;
    row_make(&l, r, cfg);
    float *x = r->spread ? lay_spread_input(r->batch * l.in_size)
                         : lay_rand_input(r->batch * l.in_size);
    lay_gradcheck(&l, r->batch, x, r->h);
    free(x);
    lay_free(&l);
}
END_TEST

START_TEST(layer_row_batch_equals_its_samples)
{
    const layer_row *r = &layer_rows[_i];
    unsigned char cfg[AE__CONFIG_BUF];
    lay l;
    row_make(&l, r, cfg);
    float *x = lay_rand_input(r->batch * l.in_size);
    lay_batch_equals_single(&l, r->batch, r->train_batch, x);
    free(x);
    lay_free(&l);
}
END_TEST

START_TEST(layer_row_round_trips_through_a_model_file)
{
    const layer_row *r = &layer_rows[_i];
    unsigned char cfg[AE__CONFIG_BUF];
    size_t size = lay_config(cfg, r->kind, r->opts);
    lay_round_trip(r->kind, r->in, size ? cfg : NULL, size);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

/* The catalogue: every built-in kind has a row here, is registered under
 * its name, and its options row is consistent with its public struct. */
START_TEST(every_catalogue_kind_has_a_harness_row)
{
    for (size_t i = 0; i < ae__builtin_count; i++) {
        const ae__builtin *b = &ae__builtins[i];
        const char *name = b->vt->type_name;
        int found = 0;
        for (int k = 0; k < N_LAYER_ROWS; k++)
            found |= strcmp(layer_rows[k].kind, name) == 0;
        ck_assert_msg(found, "built-in kind '%s' has no row in layer_rows[]", name);
        ck_assert(ae_layer_is_registered(name));
        ck_assert_ptr_eq(ae__builtin_find(name), b);
        ck_assert_uint_le(b->opts_size, AE__OPTS_BUF);
        ck_assert_uint_le(b->opts_oldest, b->opts_size);
        if (b->opts_oldest > 0) { /* a versioned struct: its defaults say its size */
            uint32_t size;
            memcpy(&size, b->defaults, sizeof size);
            ck_assert_uint_eq(size, b->opts_size);
        }
    }
    ck_assert_ptr_null(ae__builtin_find("no-such-kind"));
    /* every public type name is a catalogue kind, and there are no others */
    static const char *const public_names[] = {
        AE_LAYER_DENSE,     AE_LAYER_ACTIVATION, AE_LAYER_CONV2D,  AE_LAYER_CONV2D_TRANSPOSE,
        AE_LAYER_MAXPOOL2D, AE_LAYER_UPSAMPLE2D, AE_LAYER_RESHAPE, AE_LAYER_FLATTEN,
        AE_LAYER_DROPOUT,   AE_LAYER_BATCHNORM,  AE_LAYER_GAUSSIAN_SAMPLE};
    for (size_t i = 0; i < sizeof public_names / sizeof public_names[0]; i++)
        ck_assert_msg(ae__builtin_find(public_names[i]) != NULL, "'%s' is not in the catalogue",
                      public_names[i]);
    ck_assert_uint_eq(ae__builtin_count, sizeof public_names / sizeof public_names[0]);
}
END_TEST

/* Options are checked in one place (the kind's create()), so one mistake
 * reads the same whichever check finds it: the adder's name, then the
 * kind's (1.0 said "ae_encoder_add_dense_ex: unknown activation 9" but
 * "dense: leaky slope -1 ..."). */
START_TEST(adder_messages_name_the_adder_then_the_kind)
{
    const ae_shape in = {1, {4, 0, 0, 0}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_dense_options o = AE_DENSE_OPTIONS_INIT;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &in, 1), AE_OK);
    o.units = 3;
    o.activation = 9;
    ck_assert_int_eq(ae_encoder_add_dense_ex(enc, &o), AE_ERR_INVALID);
    ck_assert_str_eq(ae_last_error(), "ae_encoder_add_dense_ex: dense: unknown activation 9");
    o.activation = -2;
    ck_assert_int_eq(ae_decoder_add_dense_ex(dec, &o), AE_ERR_INVALID);
    ck_assert_str_eq(ae_last_error(), "ae_decoder_add_dense_ex: dense: unknown activation -2");
    o.activation = AE_ACT_LEAKY_RELU;
    o.slope = -1.0f;
    ck_assert_int_eq(ae_encoder_add_dense_ex(enc, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_encoder_add_dense_ex: dense: leaky slope -1"));
    ck_assert_int_eq(ae_encoder_add_dropout(enc, 1.5f), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_encoder_add_dropout: dropout: rate 1.5"));
    ck_assert_int_eq(ae_encoder_add_reshape(enc, NULL), AE_ERR_INVALID);
    ck_assert_str_eq(ae_last_error(), "ae_encoder_add_reshape: shape is NULL");
    ck_assert_uint_eq(ae_encoder_layer_count(enc) + ae_decoder_layer_count(dec), 0);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
}
END_TEST

/* The name switches cover their enums: a value has a name exactly when the
 * library accepts it (adding an enumerator without its name fails here). */
START_TEST(name_switches_cover_their_enums)
{
    for (int v = -3; v < 32; v++) {
        ck_assert_int_eq(strcmp(ae_activation_name(v), "unknown") != 0, ae__activation_valid(v));
        ck_assert_int_eq(strcmp(ae_loss_name(v), "unknown") != 0,
                         ae__loss_known(v) || v == AE_LOSS_CUSTOM); /* what training takes */
    }
}
END_TEST

/* ------------------------------------------------------------------------ */
/* Gaussian sampling (the VAE's reparameterisation)                        */
/* ------------------------------------------------------------------------ */

START_TEST(gaussian_sample_is_the_mean_in_inference_and_reparameterised_in_training)
{
    enum { B = 2, K = 3 };
    const ae_shape in = {1, {2 * K, 0, 0, 0}};
    /* per sample: mu[3], log-variance[3] */
    float x[B * 2 * K] = {0.5f, -1.0f, 2.0f, 0.0f, -2.0f, 1.0f,
                          -0.25f, 0.75f, 0.0f, 0.5f, -0.5f, -3.0f};
    float z[B * K], z2[B * K], dz[B * K], dx[B * 2 * K];
    const float beta = 0.5f;
    unsigned char cfg[AE__CONFIG_BUF];
    const size_t cfg_size = lay_config(cfg, AE_LAYER_GAUSSIAN_SAMPLE,
                                       &(ae_gaussian_sample_options){
                                           sizeof(ae_gaussian_sample_options), beta});
    ck_assert_uint_eq(cfg_size, 4);
    lay l;
    /* the config is beta: 4 bytes, finite and >= 0 */
    ck_assert_int_eq(lay_try(&l, AE_LAYER_GAUSSIAN_SAMPLE, in, NULL, 0), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "config is 0 bytes, expected 4"));
    unsigned char bad[4];
    lay_config(bad, AE_LAYER_GAUSSIAN_SAMPLE,
               &(ae_gaussian_sample_options){sizeof(ae_gaussian_sample_options), -1.0f});
    ck_assert_int_eq(lay_try(&l, AE_LAYER_GAUSSIAN_SAMPLE, in, bad, 4), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "beta -1"));
    lay_config(bad, AE_LAYER_GAUSSIAN_SAMPLE,
               &(ae_gaussian_sample_options){sizeof(ae_gaussian_sample_options), NAN});
    ck_assert_int_eq(lay_try(&l, AE_LAYER_GAUSSIAN_SAMPLE, in, bad, 4), AE_ERR_INVALID);
    lay_make(&l, AE_LAYER_GAUSSIAN_SAMPLE, in, cfg, cfg_size);
    ck_assert_uint_eq(l.out.rank, 1);
    ck_assert_uint_eq(l.out.dims[0], K);
    ck_assert_uint_eq(lay_nparams(&l), 0);

    lay_fwd(&l, B, 0, NULL, x, z); /* inference: the mean, bit for bit */
    for (size_t s = 0; s < B; s++)
        for (size_t j = 0; j < K; j++)
            ck_assert_float_eq(z[s * K + j], x[s * 2 * K + j]);

    ae_rng rng, same;
    ae__rng_seed(&rng, 42);
    ae__rng_seed(&same, 42);
    lay_fwd(&l, B, 1, &rng, x, z);
    for (size_t s = 0; s < B; s++)
        for (size_t j = 0; j < K; j++) {
            const float mu = x[s * 2 * K + j], lv = x[s * 2 * K + K + j];
            const double eps = ae_rng_normal(&same); /* drawn in output order */
            ck_assert_double_eq_tol(z[s * K + j], mu + exp(0.5 * lv) * eps, 1e-5);
        }
    /* the loss term: beta * KL(N(mu, exp(lv)) || N(0, I)), the batch's mean */
    double kl = 0.0, term = -1.0;
    for (size_t s = 0; s < B; s++)
        for (size_t j = 0; j < K; j++) {
            const double mu = x[s * 2 * K + j], lv = x[s * 2 * K + K + j];
            kl += -0.5 * (1.0 + lv - mu * mu - exp(lv));
        }
    ae_layer_ctx tc;
    memset(&tc, 0, sizeof tc);
    tc.struct_size = sizeof tc;
    tc.batch = B;
    tc.training = 1;
    tc.workspace = l.ws; /* the training forward's */
    ck_assert_int_eq(ae__kind_loss_term(l.kind, l.state, &tc, &term), AE_OK);
    ck_assert_double_eq_tol(term, beta * kl / B, 1e-5);
    /* backward: dmu = dz + beta mu / B, dlv = dz (z - mu) / 2 + beta (exp(lv) - 1) / (2 B) */
    for (size_t i = 0; i < B * K; i++)
        dz[i] = 0.25f * (float)(i + 1);
    lay_bwd(&l, B, 1, x, z, dz, dx);
    for (size_t s = 0; s < B; s++)
        for (size_t j = 0; j < K; j++) {
            const float d = dz[s * K + j], mu = x[s * 2 * K + j], lv = x[s * 2 * K + K + j];
            ck_assert_double_eq_tol(dx[s * 2 * K + j], d + beta * mu / B, 1e-6);
            ck_assert_double_eq_tol(dx[s * 2 * K + K + j],
                                    0.5 * d * (z[s * K + j] - mu) +
                                        0.5 * beta * (exp(lv) - 1.0) / B,
                                    1e-4);
        }
    /* inference backward adds no KL gradient */
    lay_bwd(&l, B, 0, x, z, dz, dx);
    for (size_t s = 0; s < B; s++)
        for (size_t j = 0; j < K; j++)
            ck_assert_float_eq(dx[s * 2 * K + j], dz[s * K + j]);
    /* the same seed draws the same eps; another seed others */
    ae__rng_seed(&rng, 42);
    lay_fwd(&l, B, 1, &rng, x, z2);
    ck_assert_int_eq(memcmp(z, z2, sizeof z), 0);
    ae__rng_seed(&rng, 43);
    lay_fwd(&l, B, 1, &rng, x, z2);
    ck_assert_int_ne(memcmp(z, z2, sizeof z), 0);
    /* training without a generator is refused */
    ae_layer_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.batch = B;
    c.training = 1;
    ck_assert_int_eq(ae__kind_forward(l.kind, l.state, &c, x, z), AE_ERR_INVALID);
    lay_free(&l);
}
END_TEST

START_TEST(gaussian_sample_adders_check_their_arguments)
{
    const ae_shape odd = {1, {5, 0, 0, 0}}, even = {1, {6, 0, 0, 0}}, latent = {1, {3, 0, 0, 0}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *model;
    ae_shape s;
    ck_assert_int_eq(ae_encoder_add_gaussian_sample(NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_encoder_add_gaussian_sample: encoder is NULL"));
    ck_assert_int_eq(ae_decoder_add_gaussian_sample(NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_decoder_add_gaussian_sample: decoder is NULL"));

    ck_assert_int_eq(ae_encoder_create(&enc, &odd, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_gaussian_sample(enc), AE_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_encoder_add_gaussian_sample: gaussian_sample:"));
    ck_assert_uint_eq(ae_encoder_layer_count(enc), 0);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 6, AE_ACT_IDENTITY), AE_OK);
    ck_assert_int_eq(ae_encoder_add_gaussian_sample(enc), AE_OK);
    ck_assert_int_eq(ae_encoder_latent_shape(enc, &s), AE_OK);
    ck_assert_uint_eq(s.rank, 1);
    ck_assert_uint_eq(s.dims[0], 3);

    ck_assert_int_eq(ae_decoder_create(&dec, &latent, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 6, AE_ACT_IDENTITY), AE_OK);
    ck_assert_int_eq(ae_decoder_add_gaussian_sample(dec), AE_OK);
    ck_assert_uint_eq(ae_decoder_output_size(dec), 3);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 5, AE_ACT_IDENTITY), AE_OK);

    /* a model owns them: no more layers */
    ae_decoder *dec2;
    ck_assert_int_eq(ae_decoder_create(&dec2, &latent, 3), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec2, 5, AE_ACT_SIGMOID), AE_OK);
    ck_assert_int_eq(ae_model_create(&model, enc, dec2), AE_OK);
    ck_assert_int_eq(ae_encoder_add_gaussian_sample(enc), AE_ERR_STATE);
    ck_assert_int_eq(ae_decoder_add_gaussian_sample(dec2), AE_ERR_STATE);
    ae_model_destroy(model);
    ae_decoder_destroy(dec);
    (void)even;
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

/* A small VAE (no KL term yet): trains on the reconstruction loss, encodes
 * to the mean deterministically, and its file loads back bit for bit. */
START_TEST(gaussian_sample_trains_in_a_model_and_encodes_the_mean)
{
    const ae_shape in = {1, {8, 0, 0, 0}}, latent = {1, {3, 0, 0, 0}};
    ae_encoder *enc;
    ae_decoder *dec;
    ae_model *model, *back;
    ae_optimizer *opt;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 1), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 6, AE_ACT_IDENTITY), AE_OK);
    ck_assert_int_eq(ae_encoder_add_gaussian_sample(enc), AE_OK);
    ck_assert_int_eq(ae_decoder_create(&dec, &latent, 2), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 8, AE_ACT_IDENTITY), AE_OK);
    ck_assert_int_eq(ae_model_create(&model, enc, dec), AE_OK);
    ae_dataset *ds = make_data(128, 8, 3, 4);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_int_eq(ae_optimizer_set_learning_rate(opt, 0.01f), AE_OK);
    to.epochs = 20;
    to.seed = 8;
    ck_assert_int_eq(ae_model_train(model, opt, ds, &to), AE_OK);
    double first, last;
    ck_assert_int_eq(ae_model_history_get(model, 0, &first, NULL), AE_OK);
    ck_assert_int_eq(ae_model_history_get(model, 19, &last, NULL), AE_OK);
    ck_assert_msg(isfinite(last) && last < first, "loss %g -> %g", first, last);

    float x[2 * 8], z[2 * 3], z2[2 * 3], mu[2 * 6];
    test_subspace_data(x, 2, 8, 3, 9);
    ck_assert_int_eq(ae_encoder_encode(enc, x, 2, z), AE_OK);
    ck_assert_int_eq(ae_encoder_encode(enc, x, 2, z2), AE_OK);
    ck_assert_int_eq(memcmp(z, z2, sizeof z), 0);
    /* the latent is the first half of the dense layer's output */
    const ae__layer *d = &enc->net.layers[0];
    lay dl = {.kind = d->kind, .state = d->state, .in = d->in, .out = d->out,
              .in_size = d->in_size, .out_size = d->out_size};
    lay_fwd(&dl, 2, 0, NULL, x, mu);
    free(dl.ws);
    for (size_t s = 0; s < 2; s++)
        for (size_t j = 0; j < 3; j++)
            ck_assert_float_eq(z[s * 3 + j], mu[s * 6 + j]);

    void *data;
    size_t size;
    ck_assert_int_eq(ae_model_save_memory(model, &data, &size, NULL), AE_OK);
    ae_file *f;
    ck_assert_int_eq(ae_file_open_memory(&f, data, size, NULL), AE_OK);
    ck_assert_int_eq(ae_file_load_model(&back, f), AE_OK);
    ck_assert_int_eq(ae_encoder_encode(ae_model_encoder(back), x, 2, z2), AE_OK);
    ck_assert_int_eq(memcmp(z, z2, sizeof z), 0);
    ae_file_close(f);
    ae_buffer_free(data);
    ae_model_destroy(back);
    ae_model_destroy(model);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(ds);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

Suite *ae_layers_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc = tcase_create("gradients");
    tcase_add_loop_test(tc, dense_gradients_match_finite_differences, AE_ACT_IDENTITY,
                        AE_ACT_TANH + 1);
    tcase_add_loop_test(tc, dense_without_bias_gradients_match_finite_differences,
                        AE_ACT_IDENTITY, AE_ACT_TANH + 1);
    tcase_add_loop_test(tc, activation_gradients_match_finite_differences, AE_ACT_IDENTITY,
                        AE_ACT_TANH + 1);
    tcase_add_loop_test(tc, loss_gradients_match_finite_differences, AE_LOSS_MSE,
                        AE_LOSS_BCE + 1);
    tcase_add_test(tc, loss_gradient_is_for_the_mean_over_scale_elements);
    suite_add_tcase(s, tc);

    tc = tcase_create("builtins");
    tcase_add_test(tc, dense_computes_hand_checked_outputs);
    tcase_add_test(tc, dense_initializers_follow_their_distributions);
    tcase_add_test(tc, dense_rejects_bad_configs);
    tcase_add_test(tc, activation_computes_hand_checked_outputs);
    tcase_add_test(tc, activation_rejects_bad_configs);
    suite_add_tcase(s, tc);

    tc = tcase_create("catalogue");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, layer_row_gradients_match_finite_differences, 0, N_LAYER_ROWS);
    tcase_add_loop_test(tc, layer_row_batch_equals_its_samples, 0, N_LAYER_ROWS);
    tcase_add_loop_test(tc, layer_row_round_trips_through_a_model_file, 0, N_LAYER_ROWS);
    tcase_add_test(tc, every_catalogue_kind_has_a_harness_row);
    tcase_add_test(tc, name_switches_cover_their_enums);
    tcase_add_test(tc, adder_messages_name_the_adder_then_the_kind);
    tcase_add_test(tc, gaussian_sample_is_the_mean_in_inference_and_reparameterised_in_training);
    tcase_add_test(tc, gaussian_sample_adders_check_their_arguments);
    tcase_add_test(tc, gaussian_sample_trains_in_a_model_and_encodes_the_mean);
    suite_add_tcase(s, tc);

    tc = tcase_create("custom");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, custom_layer_learns_the_identity_with_its_own_parameters);
    tcase_add_test(tc, custom_layer_trains_with_dense_layers);
    tcase_add_test(tc, unregistering_a_kind_in_use_keeps_its_layers_working);
    tcase_add_test(tc, user_free_runs_at_unregister_when_no_layer_is_left);
    tcase_add_test(tc, registration_errors_give_documented_codes);
    tcase_add_test(tc, older_vtable_layouts_keep_working);
    tcase_add_test(tc, adding_an_unknown_kind_is_not_found);
    tcase_add_test(tc, custom_create_errors_reach_the_caller);
    tcase_add_test(tc, a_kind_without_backward_is_inference_only);
    tcase_add_test(tc, custom_param_get_errors_reach_the_caller_as_statuses);
    tcase_add_test(tc, misbehaving_custom_kinds_are_refused_with_a_message);
    tcase_add_test(tc, sigmoid_propagates_nan_and_saturates_at_infinities);
    suite_add_tcase(s, tc);
    return s;
}
