/* SPDX-License-Identifier: MIT */
/* check_optimizer.c - SGD (plain, momentum, Nesterov, weight decay), Adam and
 * AdamW against the update rules written out here in double precision;
 * learning-rate changes, reset, binding, option validation, NULL handles,
 * allocation failures and a convergence sanity check. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ae.h"
#include "ae/sys/layer.h"
#include "optim/optimizer.h"
#include "testutil.h"

/* Two parameter tensors, a tiny one and one longer than a 64-byte line,
 * so the state slices of both are exercised. */
#define NA 3
#define NB 19
#define NT (NA + NB)
#define MAX_STEPS 3

static const float w_start[NA] = {1.0f, -2.0f, 1.5f};
static const float g_table[MAX_STEPS][NA] = {
    {0.5f, -1.25f, 2.0f},
    {0.25f, 0.75f, -1.5f},
    {-0.125f, 0.375f, 0.875f},
};

static float initial_w(size_t i)
{
    return i < NA ? w_start[i] : 1.0f + 0.0625f * (float)(i - NA);
}

static float grad_at(size_t step, size_t i)
{
    return i < NA ? g_table[step][i] : (float)(1.5 * sin((double)(i + 3 * step)));
}

typedef struct params {
    float w[NT];
    float g[NT];
    ae_param_view view[2];
} params;

static void params_init(params *p)
{
    for (size_t i = 0; i < NT; i++)
        p->w[i] = initial_w(i);
    memset(p->g, 0, sizeof p->g);
    memset(p->view, 0, sizeof p->view);
    p->view[0] = (ae_param_view){sizeof(ae_param_view), "a", p->w, p->g, NA, {1, {NA, 0, 0, 0}}};
    p->view[1] = (ae_param_view){sizeof(ae_param_view), "b", p->w + NA, p->g + NA, NB,
                                 {1, {NB, 0, 0, 0}}};
}

static void params_set_grad(params *p, size_t step)
{
    for (size_t i = 0; i < NT; i++)
        p->g[i] = grad_at(step, i);
}

/* ---- the reference: PyTorch's update rules, in double ------------------ */

typedef struct reference {
    double w[NT], m[NT], v[NT];
    int t;
} reference;

static void reference_init(reference *r)
{
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < NT; i++)
        r->w[i] = initial_w(i);
}

/* torch.optim.SGD, dampening 0: the first step copies d into the buffer. */
static void reference_sgd(reference *r, size_t step, double lr, double momentum,
                          double wd, int nesterov)
{
    r->t++;
    for (size_t i = 0; i < NT; i++) {
        double d = (double)grad_at(step, i) + wd * r->w[i];
        if (momentum != 0.0) {
            r->m[i] = r->t == 1 ? d : momentum * r->m[i] + d;
            d = nesterov ? d + momentum * r->m[i] : r->m[i];
        }
        r->w[i] -= lr * d;
    }
}

/* torch.optim.Adam (decoupled 0) and torch.optim.AdamW (decoupled 1). */
static void reference_adam(reference *r, size_t step, double lr, double b1, double b2,
                           double eps, double wd, int decoupled)
{
    r->t++;
    double bc1 = 1.0 - pow(b1, r->t), bc2 = 1.0 - pow(b2, r->t);
    for (size_t i = 0; i < NT; i++) {
        double d = grad_at(step, i);
        if (decoupled)
            r->w[i] *= 1.0 - lr * wd;
        else
            d += wd * r->w[i];
        r->m[i] = b1 * r->m[i] + (1.0 - b1) * d;
        r->v[i] = b2 * r->v[i] + (1.0 - b2) * d * d;
        double denom = sqrt(r->v[i]) / sqrt(bc2) + eps;
        r->w[i] -= lr / bc1 * r->m[i] / denom;
    }
}

static void reference_step(reference *r, const ae_optimizer_options *o, size_t step, double lr)
{
    if (o->kind == AE_OPT_SGD)
        reference_sgd(r, step, lr, o->momentum, o->weight_decay, o->nesterov);
    else
        reference_adam(r, step, lr, o->beta1, o->beta2, o->epsilon, o->weight_decay,
                       o->kind == AE_OPT_ADAMW);
}

static void assert_close(const float *got, const double *want, size_t step)
{
    for (size_t i = 0; i < NT; i++)
        ck_assert_msg(fabs((double)got[i] - want[i]) <= 1e-6 * fabs(want[i]),
                      "step %zu, w[%zu] = %.9g, expected %.9g", step + 1, i,
                      (double)got[i], want[i]);
}

/* Runs MAX_STEPS steps of @p o; lrs (or NULL for the option's rate) gives
 * the learning rate to set before each step. */
static void run_against_reference(const ae_optimizer_options *o, const float *lrs)
{
    ae_optimizer *opt = NULL;
    params p;
    reference r;
    params_init(&p);
    reference_init(&r);
    ck_assert_int_eq(ae_optimizer_create(&opt, o), AE_OK);
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_OK);
    for (size_t s = 0; s < MAX_STEPS; s++) {
        double lr = o->learning_rate;
        if (lrs != NULL) {
            ck_assert_int_eq(ae_optimizer_set_learning_rate(opt, lrs[s]), AE_OK);
            lr = lrs[s];
        }
        params_set_grad(&p, s);
        ae__optimizer_step(opt, p.view, 2, 0);
        reference_step(&r, o, s, lr);
        assert_close(p.w, r.w, s);
        ck_assert_uint_eq(ae_optimizer_steps(opt), s + 1);
    }
    ae_optimizer_destroy(opt);
}

static ae_optimizer_options options_of(int kind)
{
    ae_optimizer_options o = AE_OPTIMIZER_OPTIONS_INIT;
    ck_assert_int_eq(ae_optimizer_options_default(&o, kind), AE_OK);
    return o;
}

/* ---- update rules ------------------------------------------------------ */

START_TEST(sgd_plain_subtracts_lr_times_gradient)
{
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    o.learning_rate = 0.1f;
    run_against_reference(&o, NULL);
}
END_TEST

START_TEST(sgd_momentum_starts_from_the_first_gradient_then_accumulates)
{
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    o.learning_rate = 0.05f;
    o.momentum = 0.9f;
    run_against_reference(&o, NULL);
}
END_TEST

START_TEST(sgd_nesterov_adds_momentum_times_velocity_to_the_gradient)
{
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    o.learning_rate = 0.05f;
    o.momentum = 0.8f;
    o.nesterov = 1;
    run_against_reference(&o, NULL);
}
END_TEST

START_TEST(sgd_weight_decay_adds_wd_times_w_to_the_gradient)
{
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    o.learning_rate = 0.1f;
    o.weight_decay = 0.2f;
    run_against_reference(&o, NULL);
    o.momentum = 0.5f;
    run_against_reference(&o, NULL);
}
END_TEST

START_TEST(sgd_step_by_hand)
{
    /* One element written out: w 1, g 0.5 then 0.25, lr 0.1, momentum 0.9,
     * wd 0.2. Step 1: d = 0.5 + 0.2 = 0.7, buf = 0.7, w = 0.93.
     * Step 2: d = 0.25 + 0.186 = 0.436, buf = 0.63 + 0.436 = 1.066,
     * w = 0.93 - 0.1066 = 0.8234. */
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    ae_optimizer *opt = NULL;
    float w = 1.0f, g = 0.5f;
    ae_param_view v = {sizeof v, "w", &w, &g, 1, {1, {1, 0, 0, 0}}};
    o.learning_rate = 0.1f;
    o.momentum = 0.9f;
    o.weight_decay = 0.2f;
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
    ck_assert_int_eq(ae__optimizer_bind(opt, &v, 1), AE_OK);
    ae__optimizer_step(opt, &v, 1, 0);
    ck_assert_float_eq_tol(w, 0.93f, 1e-6f);
    g = 0.25f;
    ae__optimizer_step(opt, &v, 1, 0);
    ck_assert_float_eq_tol(w, 0.8234f, 1e-6f);
    ae_optimizer_destroy(opt);
}
END_TEST

START_TEST(adam_matches_the_bias_corrected_rule)
{
    ae_optimizer_options o = options_of(AE_OPT_ADAM);
    o.learning_rate = 0.01f;
    run_against_reference(&o, NULL);
    /* Larger epsilon and other betas, so each term of the rule matters. */
    o.beta1 = 0.5f;
    o.beta2 = 0.75f;
    o.epsilon = 0.1f;
    run_against_reference(&o, NULL);
}
END_TEST

START_TEST(adam_first_step_moves_each_weight_by_about_lr)
{
    /* t = 1: m/(1-b1) = g and sqrt(v/(1-b2)) = |g|, so w -= lr*g/(|g|+eps). */
    ae_optimizer_options o = options_of(AE_OPT_ADAM);
    ae_optimizer *opt = NULL;
    params p;
    params_init(&p);
    params_set_grad(&p, 0);
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_OK);
    ae__optimizer_step(opt, p.view, 2, 0);
    for (size_t i = 0; i < NT; i++) {
        double g = grad_at(0, i);
        double want = initial_w(i) - 1e-3 * g / (fabs(g) + 1e-7);
        ck_assert_double_eq_tol(p.w[i], want, 1e-6 * fabs(want));
    }
    ae_optimizer_destroy(opt);
}
END_TEST

START_TEST(adam_weight_decay_is_l2_on_the_gradient)
{
    ae_optimizer_options o = options_of(AE_OPT_ADAM);
    o.learning_rate = 0.01f;
    o.weight_decay = 0.5f;
    run_against_reference(&o, NULL);
}
END_TEST

START_TEST(adamw_decays_weights_before_the_adam_step)
{
    ae_optimizer_options o = options_of(AE_OPT_ADAMW);
    ck_assert_float_eq(o.weight_decay, 0.01f);
    o.learning_rate = 0.01f;
    run_against_reference(&o, NULL);
    o.weight_decay = 2.0f;
    run_against_reference(&o, NULL);
}
END_TEST

START_TEST(adamw_with_zero_gradient_only_shrinks_weights)
{
    ae_optimizer_options o = options_of(AE_OPT_ADAMW);
    ae_optimizer *opt = NULL;
    params p;
    params_init(&p);
    o.learning_rate = 0.1f;
    o.weight_decay = 0.5f;
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_OK);
    ae__optimizer_step(opt, p.view, 2, 0);
    for (size_t i = 0; i < NT; i++)
        ck_assert_double_eq_tol(p.w[i], initial_w(i) * 0.95, 1e-6 * fabs(initial_w(i)));
    ae_optimizer_destroy(opt);
}
END_TEST

START_TEST(set_learning_rate_applies_from_the_next_step)
{
    static const float lrs[MAX_STEPS] = {0.05f, 0.01f, 0.2f};
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    o.momentum = 0.9f;
    run_against_reference(&o, lrs);
    o = options_of(AE_OPT_ADAM);
    run_against_reference(&o, lrs);
    o = options_of(AE_OPT_ADAMW);
    run_against_reference(&o, lrs);
}
END_TEST

START_TEST(set_learning_rate_rejects_bad_values_and_keeps_the_old_one)
{
    static const float bad[] = {0.0f, -0.1f, NAN, INFINITY};
    ae_optimizer *opt = NULL;
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_float_eq(ae_optimizer_learning_rate(opt), 1e-3f);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(ae_optimizer_set_learning_rate(opt, bad[i]), AE_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(ae_last_error(), "learning_rate"));
        ck_assert_float_eq(ae_optimizer_learning_rate(opt), 1e-3f);
    }
    ck_assert_int_eq(ae_optimizer_set_learning_rate(opt, 0.5f), AE_OK);
    ck_assert_float_eq(ae_optimizer_learning_rate(opt), 0.5f);
    ae_optimizer_destroy(opt);
}
END_TEST

/* ---- state: steps, reset, binding --------------------------------------- */

START_TEST(reset_forgets_steps_and_moments)
{
    static const int kinds[] = {AE_OPT_SGD, AE_OPT_ADAM, AE_OPT_ADAMW};
    for (size_t k = 0; k < 3; k++) {
        ae_optimizer_options o = options_of(kinds[k]);
        ae_optimizer *used = NULL, *fresh = NULL;
        params p, q;
        o.momentum = kinds[k] == AE_OPT_SGD ? 0.9f : 0.0f;
        params_init(&p);
        ck_assert_int_eq(ae_optimizer_create(&used, &o), AE_OK);
        ck_assert_int_eq(ae_optimizer_create(&fresh, &o), AE_OK);
        ck_assert_int_eq(ae__optimizer_bind(used, p.view, 2), AE_OK);
        for (size_t s = 0; s < 2; s++) {
            params_set_grad(&p, s);
            ae__optimizer_step(used, p.view, 2, 0);
        }
        ck_assert_uint_eq(ae_optimizer_steps(used), 2);
        ae_optimizer_reset(used);
        ck_assert_uint_eq(ae_optimizer_steps(used), 0);

        /* The next step from the same weights equals a fresh optimizer's first. */
        params_init(&q);
        memcpy(q.w, p.w, sizeof q.w);
        ck_assert_int_eq(ae__optimizer_bind(used, p.view, 2), AE_OK);
        ck_assert_int_eq(ae__optimizer_bind(fresh, q.view, 2), AE_OK);
        params_set_grad(&p, 2);
        params_set_grad(&q, 2);
        ae__optimizer_step(used, p.view, 2, 0);
        ae__optimizer_step(fresh, q.view, 2, 0);
        for (size_t i = 0; i < NT; i++)
            ck_assert_float_eq(p.w[i], q.w[i]);
        ck_assert_uint_eq(ae_optimizer_steps(used), 1);
        ae_optimizer_destroy(used);
        ae_optimizer_destroy(fresh);
    }
}
END_TEST

START_TEST(binding_again_to_the_same_list_keeps_the_state)
{
    /* Two ae_model_train() calls: the moments carry over. */
    ae_optimizer_options o = options_of(AE_OPT_ADAM);
    ae_optimizer *opt = NULL;
    params p;
    reference r;
    params_init(&p);
    reference_init(&r);
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
    for (size_t s = 0; s < MAX_STEPS; s++) {
        ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_OK);
        params_set_grad(&p, s);
        ae__optimizer_step(opt, p.view, 2, 0);
        reference_step(&r, &o, s, o.learning_rate);
        assert_close(p.w, r.w, s);
    }
    ck_assert_uint_eq(ae_optimizer_steps(opt), MAX_STEPS);
    ae_optimizer_destroy(opt);
}
END_TEST

START_TEST(binding_to_another_list_is_a_state_error)
{
    ae_optimizer *opt = NULL;
    params p, q;
    params_init(&p);
    params_init(&q);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_OK);

    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 1), AE_ERR_STATE); /* fewer tensors */
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_optimizer_reset"));
    ck_assert_int_eq(ae__optimizer_bind(opt, q.view, 2), AE_ERR_STATE); /* other buffers */
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_optimizer_reset"));
    p.view[1].count = NB - 1;                                           /* other size */
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "tensor 1"));
    p.view[1].count = NB;
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_OK);

    ae_optimizer_reset(opt);
    ck_assert_int_eq(ae__optimizer_bind(opt, q.view, 2), AE_OK);
    ae_optimizer_destroy(opt);
}
END_TEST

START_TEST(bind_rejects_missing_buffers)
{
    ae_optimizer *opt = NULL;
    params p;
    params_init(&p);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_int_eq(ae__optimizer_bind(opt, NULL, 2), AE_ERR_INVALID);
    p.view[1].grad = NULL;
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "tensor 1"));
    p.view[1].grad = p.g + NA;
    p.view[0].value = NULL;
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "tensor 0"));
    /* Nothing was bound by the failures. */
    p.view[0].value = p.w;
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 1), AE_OK);
    ae_optimizer_destroy(opt);
}
END_TEST

START_TEST(steps_count_once_per_step_call)
{
    ae_optimizer *opt = NULL;
    params p;
    params_init(&p);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 0);
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_OK);
    for (uint64_t s = 1; s <= 5; s++) {
        ae__optimizer_step(opt, p.view, 2, 0);
        ck_assert_uint_eq(ae_optimizer_steps(opt), s);
    }
    ae_optimizer_destroy(opt);
}
END_TEST

/* ---- options ------------------------------------------------------------ */

START_TEST(options_default_fills_each_kind)
{
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    ck_assert_uint_eq(o.struct_size, sizeof o);
    ck_assert_int_eq(o.kind, AE_OPT_SGD);
    ck_assert_float_eq(o.learning_rate, 0.01f);
    ck_assert_float_eq(o.momentum, 0.0f);
    ck_assert_int_eq(o.nesterov, 0);
    ck_assert_float_eq(o.weight_decay, 0.0f);

    o = options_of(AE_OPT_ADAM);
    ck_assert_int_eq(o.kind, AE_OPT_ADAM);
    ck_assert_float_eq(o.learning_rate, 1e-3f);
    ck_assert_float_eq(o.beta1, 0.9f);
    ck_assert_float_eq(o.beta2, 0.999f);
    ck_assert_float_eq(o.epsilon, 1e-7f);
    ck_assert_float_eq(o.weight_decay, 0.0f);

    o = options_of(AE_OPT_ADAMW);
    ck_assert_int_eq(o.kind, AE_OPT_ADAMW);
    ck_assert_float_eq(o.learning_rate, 1e-3f);
    ck_assert_float_eq(o.beta1, 0.9f);
    ck_assert_float_eq(o.beta2, 0.999f);
    ck_assert_float_eq(o.weight_decay, 0.01f);

    ae_optimizer_options init = AE_OPTIMIZER_OPTIONS_INIT;
    o = options_of(AE_OPT_ADAM);
    ck_assert_int_eq(memcmp(&o, &init, sizeof o), 0);
}
END_TEST

START_TEST(options_default_rejects_null_and_unknown_kind)
{
    ae_optimizer_options o = AE_OPTIMIZER_OPTIONS_INIT;
    memset(&o, 0x5a, sizeof o);
    ck_assert_int_eq(ae_optimizer_options_default(NULL, AE_OPT_SGD), AE_ERR_INVALID);
    ck_assert_int_eq(ae_optimizer_options_default(&o, 3), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "kind 3"));
    ck_assert_int_eq(ae_optimizer_options_default(&o, -1), AE_ERR_INVALID);
    ck_assert_uint_eq(o.struct_size, 0x5a5a5a5au); /* untouched */
}
END_TEST

/* The defaults go only into the fields the caller's struct has: a program
 * built against newer headers keeps its appended fields, an uninitialized
 * struct_size below the 1.0 layout is refused. */
START_TEST(options_default_honours_the_callers_struct_size)
{
    struct {
        ae_optimizer_options o;
        uint64_t appended_later;
    } newer;
    memset(&newer, 0x5a, sizeof newer);
    newer.o.struct_size = (uint32_t)sizeof newer;
    ck_assert_int_eq(ae_optimizer_options_default(&newer.o, AE_OPT_SGD), AE_OK);
    ck_assert_uint_eq(newer.o.struct_size, sizeof(ae_optimizer_options));
    ck_assert_int_eq(newer.o.kind, AE_OPT_SGD);
    ck_assert_float_eq(newer.o.learning_rate, 0.01f);
    ck_assert_uint_eq(newer.appended_later, 0x5a5a5a5a5a5a5a5aull);

    ae_optimizer_options o = AE_OPTIMIZER_OPTIONS_INIT;
    o.struct_size = 4;
    ck_assert_int_eq(ae_optimizer_options_default(&o, AE_OPT_SGD), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "_INIT"));
    ck_assert_int_eq(o.kind, AE_OPT_ADAM); /* untouched */
}
END_TEST

static const struct bad_option {
    int kind;
    const char *field;
    double value;
} bad_options[] = {
    {AE_OPT_SGD, "kind", 3},
    {AE_OPT_SGD, "kind", -1},
    {AE_OPT_SGD, "learning_rate", 0},
    {AE_OPT_SGD, "learning_rate", -0.5},
    {AE_OPT_ADAM, "learning_rate", NAN},
    {AE_OPT_ADAMW, "learning_rate", INFINITY},
    {AE_OPT_SGD, "momentum", -0.1},
    {AE_OPT_SGD, "momentum", 1},
    {AE_OPT_SGD, "momentum", NAN},
    {AE_OPT_SGD, "nesterov", 2},
    {AE_OPT_SGD, "nesterov", 1}, /* with momentum 0 */
    {AE_OPT_SGD, "weight_decay", -0.01},
    {AE_OPT_SGD, "weight_decay", INFINITY},
    {AE_OPT_ADAM, "weight_decay", NAN},
    {AE_OPT_ADAMW, "weight_decay", -1},
    {AE_OPT_ADAM, "beta1", -0.1},
    {AE_OPT_ADAM, "beta1", 1},
    {AE_OPT_ADAMW, "beta1", NAN},
    {AE_OPT_ADAM, "beta2", 1},
    {AE_OPT_ADAMW, "beta2", 1.5},
    {AE_OPT_ADAM, "epsilon", 0},
    {AE_OPT_ADAM, "epsilon", -1e-8},
    {AE_OPT_ADAMW, "epsilon", INFINITY},
};
#define N_BAD_OPTIONS (int)(sizeof bad_options / sizeof bad_options[0])

START_TEST(create_rejects_each_invalid_option)
{
    const struct bad_option *b = &bad_options[_i];
    ae_optimizer_options o = options_of(b->kind);
    float f = (float)b->value;
    ae_optimizer *opt = (ae_optimizer *)0x1;
    char expect[64];
    if (strcmp(b->field, "kind") == 0)
        o.kind = (int)b->value;
    else if (strcmp(b->field, "learning_rate") == 0)
        o.learning_rate = f;
    else if (strcmp(b->field, "momentum") == 0)
        o.momentum = f;
    else if (strcmp(b->field, "nesterov") == 0)
        o.nesterov = (int)b->value;
    else if (strcmp(b->field, "weight_decay") == 0)
        o.weight_decay = f;
    else if (strcmp(b->field, "beta1") == 0)
        o.beta1 = f;
    else if (strcmp(b->field, "beta2") == 0)
        o.beta2 = f;
    else
        o.epsilon = f;
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_ERR_INVALID);
    ck_assert_ptr_eq(opt, (ae_optimizer *)0x1);
    /* The message names the field and its value. */
    snprintf(expect, sizeof expect, "%s is %g", b->field, (double)f);
    ck_assert_msg(strstr(ae_last_error(), expect) != NULL, "'%s' lacks '%s'",
                  ae_last_error(), expect);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(create_ignores_fields_the_kind_does_not_use)
{
    ae_optimizer *opt = NULL;
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    o.beta1 = 7.0f;
    o.epsilon = 0.0f;
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
    ae_optimizer_destroy(opt);
    o = options_of(AE_OPT_ADAM);
    o.momentum = 3.0f;
    o.nesterov = 1;
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
    ae_optimizer_destroy(opt);
}
END_TEST

START_TEST(create_checks_struct_size_and_header_version)
{
    ae_optimizer *opt = (ae_optimizer *)0x1;
    struct {
        ae_optimizer_options o;
        uint64_t future;
    } big;
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    o.struct_size = 8;
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "struct_size"));

    memset(&big, 0, sizeof big);
    big.o = options_of(AE_OPT_SGD);
    big.o.struct_size = sizeof big;
    big.future = 1;
    ck_assert_int_eq(ae_optimizer_create(&opt, &big.o), AE_ERR_VERSION);
    ck_assert_ptr_eq(opt, (ae_optimizer *)0x1);
    big.future = 0; /* a newer caller leaving new fields zero is fine */
    ck_assert_int_eq(ae_optimizer_create(&opt, &big.o), AE_OK);
    ck_assert_float_eq(ae_optimizer_learning_rate(opt), 0.01f);
    ae_optimizer_destroy(opt);

    opt = (ae_optimizer *)0x1;
    ck_assert_int_eq(ae_optimizer_create_v(&opt, NULL, (AE_VERSION_MAJOR + 1) * 10000u),
                     AE_ERR_VERSION);
    ck_assert_ptr_eq(opt, (ae_optimizer *)0x1);
}
END_TEST

START_TEST(null_handles_are_rejected_or_ignored)
{
    params p;
    params_init(&p);
    ck_assert_int_eq(ae_optimizer_create(NULL, NULL), AE_ERR_INVALID);
    ae_optimizer_destroy(NULL);
    ae_optimizer_reset(NULL);
    ck_assert_float_eq(ae_optimizer_learning_rate(NULL), 0.0f);
    ck_assert_uint_eq(ae_optimizer_steps(NULL), 0);
    ck_assert_int_eq(ae_optimizer_set_learning_rate(NULL, 0.1f), AE_ERR_INVALID);
    ck_assert_int_eq(ae__optimizer_bind(NULL, p.view, 2), AE_ERR_INVALID);
    ae__optimizer_step(NULL, p.view, 2, 0);
    ck_assert_float_eq(p.w[0], w_start[0]);
}
END_TEST

START_TEST(step_before_bind_changes_nothing)
{
    ae_optimizer *opt = NULL;
    params p;
    params_init(&p);
    params_set_grad(&p, 0);
    ck_assert_int_eq(ae_optimizer_create(&opt, NULL), AE_OK);
    ae__optimizer_step(opt, p.view, 2, 0);
    ck_assert_uint_eq(ae_optimizer_steps(opt), 0);
    ck_assert_float_eq(p.w[0], w_start[0]);
    ae_optimizer_destroy(opt);
}
END_TEST

/* ---- memory -------------------------------------------------------------- */

/* Allocations of create + bind: the handle, the table, the state block. */
static size_t allocations_for(const ae_optimizer_options *o)
{
    failing_allocator fa;
    ae_optimizer *opt = NULL;
    params p;
    params_init(&p);
    failing_allocator_install(&fa, 0);
    ck_assert_int_eq(ae_optimizer_create(&opt, o), AE_OK);
    ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_OK);
    params_set_grad(&p, 0);
    size_t calls = fa.calls;
    ae__optimizer_step(opt, p.view, 2, 0);
    ck_assert_uint_eq(fa.calls, calls); /* steps never allocate */
    ae_optimizer_destroy(opt);
    ck_assert_uint_eq(fa.live, 0);
    failing_allocator_remove();
    return calls;
}

START_TEST(sgd_keeps_velocity_only_with_momentum)
{
    ae_optimizer_options o = options_of(AE_OPT_SGD);
    ck_assert_uint_eq(allocations_for(&o), 2); /* handle and table */
    o.momentum = 0.5f;
    ck_assert_uint_eq(allocations_for(&o), 3);
    o = options_of(AE_OPT_ADAM);
    ck_assert_uint_eq(allocations_for(&o), 3);
}
END_TEST

START_TEST(out_of_memory_in_create_or_bind_leaks_nothing)
{
    ae_optimizer_options o = options_of(AE_OPT_ADAMW);
    for (size_t fail_at = 1; fail_at <= 3; fail_at++) {
        failing_allocator fa;
        ae_optimizer *opt = NULL;
        params p;
        params_init(&p);
        failing_allocator_install(&fa, fail_at);
        if (fail_at == 1) {
            opt = (ae_optimizer *)0x1;
            ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_ERR_NOMEM);
            ck_assert_ptr_eq(opt, (ae_optimizer *)0x1);
            ck_assert_uint_eq(fa.live, 0);
        } else {
            ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
            ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_ERR_NOMEM);
            ck_assert_ptr_nonnull(strstr(ae_last_error(), "out of memory"));
            ck_assert_uint_eq(fa.live, 1); /* only the handle */
            /* Still unbound: a retry binds and steps normally. */
            ck_assert_int_eq(ae__optimizer_bind(opt, p.view, 2), AE_OK);
            params_set_grad(&p, 0);
            ae__optimizer_step(opt, p.view, 2, 0);
            ck_assert_uint_eq(ae_optimizer_steps(opt), 1);
            ae_optimizer_destroy(opt);
        }
        ck_assert_uint_eq(fa.live, 0);
        failing_allocator_remove();
    }
}
END_TEST

/* ---- convergence --------------------------------------------------------- */

START_TEST(adam_minimises_a_quadratic)
{
    /* f(w) = sum((w - t)^2), gradient 2(w - t). */
    static const float target[5] = {0.5f, -1.5f, 3.0f, 0.0f, -0.25f};
    float w[5] = {0}, g[5];
    ae_param_view v = {sizeof v, "w", w, g, 5, {1, {5, 0, 0, 0}}};
    ae_optimizer_options o = options_of(AE_OPT_ADAM);
    ae_optimizer *opt = NULL;
    o.learning_rate = 0.05f;
    ck_assert_int_eq(ae_optimizer_create(&opt, &o), AE_OK);
    ck_assert_int_eq(ae__optimizer_bind(opt, &v, 1), AE_OK);
    for (int s = 0; s < 500; s++) {
        for (int i = 0; i < 5; i++)
            g[i] = 2.0f * (w[i] - target[i]);
        ae__optimizer_step(opt, &v, 1, 0);
    }
    for (int i = 0; i < 5; i++)
        ck_assert_float_eq_tol(w[i], target[i], 1e-3f);
    ae_optimizer_destroy(opt);
}
END_TEST

Suite *ae_optimizer_suite(void)
{
    Suite *s = suite_create("optimizer");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, sgd_plain_subtracts_lr_times_gradient);
    tcase_add_test(tc, sgd_momentum_starts_from_the_first_gradient_then_accumulates);
    tcase_add_test(tc, sgd_nesterov_adds_momentum_times_velocity_to_the_gradient);
    tcase_add_test(tc, sgd_weight_decay_adds_wd_times_w_to_the_gradient);
    tcase_add_test(tc, sgd_step_by_hand);
    tcase_add_test(tc, adam_matches_the_bias_corrected_rule);
    tcase_add_test(tc, adam_first_step_moves_each_weight_by_about_lr);
    tcase_add_test(tc, adam_weight_decay_is_l2_on_the_gradient);
    tcase_add_test(tc, adamw_decays_weights_before_the_adam_step);
    tcase_add_test(tc, adamw_with_zero_gradient_only_shrinks_weights);
    tcase_add_test(tc, set_learning_rate_applies_from_the_next_step);
    tcase_add_test(tc, set_learning_rate_rejects_bad_values_and_keeps_the_old_one);
    tcase_add_test(tc, adam_minimises_a_quadratic);
    suite_add_tcase(s, tc);

    tc = tcase_create("state");
    tcase_add_test(tc, reset_forgets_steps_and_moments);
    tcase_add_test(tc, binding_again_to_the_same_list_keeps_the_state);
    tcase_add_test(tc, binding_to_another_list_is_a_state_error);
    tcase_add_test(tc, bind_rejects_missing_buffers);
    tcase_add_test(tc, steps_count_once_per_step_call);
    tcase_add_test(tc, step_before_bind_changes_nothing);
    tcase_add_test(tc, sgd_keeps_velocity_only_with_momentum);
    tcase_add_test(tc, out_of_memory_in_create_or_bind_leaks_nothing);
    suite_add_tcase(s, tc);

    tc = tcase_create("options");
    tcase_add_test(tc, options_default_fills_each_kind);
    tcase_add_test(tc, options_default_rejects_null_and_unknown_kind);
    tcase_add_test(tc, options_default_honours_the_callers_struct_size);
    tcase_add_loop_test(tc, create_rejects_each_invalid_option, 0, N_BAD_OPTIONS);
    tcase_add_test(tc, create_ignores_fields_the_kind_does_not_use);
    tcase_add_test(tc, create_checks_struct_size_and_header_version);
    tcase_add_test(tc, null_handles_are_rejected_or_ignored);
    suite_add_tcase(s, tc);
    return s;
}
