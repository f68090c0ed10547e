/* SPDX-License-Identifier: MIT */
/* check_core.c - versions, error strings and messages, the allocator hooks,
 * shapes and the seeded generator. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "ae/sys/layer.h"
#include "core/core.h"
#include "testutil.h"

START_TEST(version_matches_header)
{
    ck_assert_uint_eq(ae_version(), AE_VERSION_NUMBER);
    ck_assert_str_eq(ae_version_string(), AE_VERSION_STRING);
}
END_TEST

START_TEST(header_major_mismatch_is_reported)
{
    ae_encoder *enc = (ae_encoder *)0x1;
    ae_shape in = {1, {4, 0, 0, 0}};
    int rc = ae_encoder_create_v(&enc, &in, 1, (AE_VERSION_MAJOR + 1) * 10000u);
    ck_assert_int_eq(rc, AE_ERR_VERSION);
    ck_assert_ptr_eq(enc, (ae_encoder *)0x1); /* output untouched */
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "major"));
}
END_TEST

/* The constructors are variadic macros: a compound literal with commas
 * inside its braces passes through as one argument. */
START_TEST(create_macros_accept_compound_literals)
{
    ae_encoder *enc = NULL;
    ck_assert_int_eq(ae_encoder_create(&enc, &(ae_shape){1, {4, 0, 0, 0}}, 1), AE_OK);
    ck_assert_uint_eq(ae_encoder_latent_size(enc), 4);
    ae_encoder_destroy(enc);
}
END_TEST

START_TEST(strerror_never_null)
{
    for (int code = -20; code <= 5; code++) {
        const char *s = ae_strerror(code);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_gt((int)strlen(s), 0);
    }
    ck_assert_str_eq(ae_strerror(AE_ERR_NOMEM), "out of memory");
    ck_assert_str_eq(ae_strerror(12345), "unknown error");
}
END_TEST

START_TEST(error_message_is_thread_local_detail)
{
    ae_clear_error();
    ck_assert_str_eq(ae_last_error(), "");
    ck_assert_int_eq(ae_error_set(AE_ERR_SHAPE, "dense: input has %d features", 780), AE_ERR_SHAPE);
    ck_assert_str_eq(ae_last_error(), "dense: input has 780 features");
}
END_TEST

START_TEST(allocator_hooks_see_every_block)
{
    failing_allocator fa;
    failing_allocator_install(&fa, 0);
    void *p = ae__alloc(100);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 64, 0);
    ck_assert_uint_eq(fa.calls, 1);
    ck_assert_uint_eq(ae_live_allocations(), 1);
    /* Changing the allocator while blocks are live is refused. */
    ck_assert_int_eq(ae_set_allocator(NULL), AE_ERR_STATE);
    ae__free(p);
    ck_assert_uint_eq(fa.live, 0);
    failing_allocator_remove();
}
END_TEST

START_TEST(allocator_failure_gives_nomem)
{
    failing_allocator fa;
    failing_allocator_install(&fa, 1);
    ck_assert_ptr_null(ae__alloc(16));
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "out of memory"));
    failing_allocator_remove();
}
END_TEST

START_TEST(allocator_rejects_bad_struct)
{
    ae_allocator a = AE_ALLOCATOR_INIT;
    ck_assert_int_eq(ae_set_allocator(&a), AE_ERR_INVALID); /* no callbacks */
    a.struct_size = 4;
    ck_assert_int_eq(ae_set_allocator(&a), AE_ERR_INVALID);
    /* A newer, larger struct whose unknown tail is set is refused. */
    struct {
        ae_allocator a;
        void *future;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.a.struct_size = sizeof newer;
    newer.a.alloc = NULL;
    newer.future = &newer;
    ck_assert_int_eq(ae_set_allocator(&newer.a), AE_ERR_VERSION);
}
END_TEST

START_TEST(shape_checks)
{
    ae_shape ok = {3, {1, 28, 28, 0}};
    ae_shape zero_rank = {0, {0}};
    ae_shape zero_dim = {2, {3, 0, 0, 0}};
    ae_shape junk_tail = {1, {3, 7, 0, 0}};
    ae_shape huge = {3, {65536, 65536, 65536, 0}};
    char buf[64];
    ck_assert_int_eq(ae__shape_check(&ok, "t"), AE_OK);
    ck_assert_uint_eq(ae__shape_size(&ok), 784);
    ck_assert_str_eq(ae__shape_str(&ok, buf, sizeof buf), "{1, 28, 28}");
    ck_assert_int_eq(ae__shape_check(&zero_rank, "t"), AE_ERR_INVALID);
    ck_assert_int_eq(ae__shape_check(&zero_dim, "t"), AE_ERR_INVALID);
    ck_assert_int_eq(ae__shape_check(&junk_tail, "t"), AE_ERR_INVALID);
    ck_assert_int_eq(ae__shape_check(&huge, "t"), AE_ERR_LIMIT);
    ck_assert_int_eq(ae__shape_check(NULL, "t"), AE_ERR_INVALID);
}
END_TEST

START_TEST(rng_is_seeded_and_well_spread)
{
    ae_rng a, b;
    ae__rng_seed(&a, 7);
    ae__rng_seed(&b, 7);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(ae_rng_next(&a), ae_rng_next(&b));
    double sum = 0, sum2 = 0, usum = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        float u = ae_rng_uniform(&a);
        ck_assert(u >= 0.0f && u < 1.0f);
        usum += u;
        double z = ae_rng_normal(&a);
        sum += z;
        sum2 += z * z;
    }
    ck_assert_double_eq_tol(usum / n, 0.5, 0.01);
    ck_assert_double_eq_tol(sum / n, 0.0, 0.02);
    ck_assert_double_eq_tol(sum2 / n, 1.0, 0.03);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_lt(ae__rng_below(&a, 10), 10);
}
END_TEST

START_TEST(struct_size_check)
{
    struct {
        uint32_t size;
        uint32_t a;
        uint32_t future;
    } s = {12, 1, 0};
    ck_assert_int_eq(ae__check_struct(&s, 12, 8, 8, "t"), AE_OK); /* zero tail */
    s.future = 5;
    ck_assert_int_eq(ae__check_struct(&s, 12, 8, 8, "t"), AE_ERR_VERSION);
    ck_assert_int_eq(ae__check_struct(&s, 4, 8, 8, "t"), AE_ERR_INVALID);
    /* A size kilobytes past ours is no version of the struct: refused
     * without reading its "tail" (garbage such as UINT32_MAX read 4 GB
     * past the caller's struct). Up to the bound a zero tail is fine. */
    unsigned char *big = calloc(1, 8 + AE__STRUCT_GROWTH_MAX + 1);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(ae__check_struct(big, 8 + AE__STRUCT_GROWTH_MAX, 8, 8, "t"), AE_OK);
    ck_assert_int_eq(ae__check_struct(big, 8 + AE__STRUCT_GROWTH_MAX + 1, 8, 8, "t"),
                     AE_ERR_INVALID);
    free(big);
    ae_optimizer *opt = (ae_optimizer *)0x1;
    ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
    oo.struct_size = UINT32_MAX;
    ck_assert_int_eq(ae_optimizer_create(&opt, &oo), AE_ERR_INVALID);
    ck_assert_msg(strstr(ae_last_error(), "struct_size 4294967295 is not the size of any version"),
                  "%s", ae_last_error());
    ck_assert_ptr_eq(opt, (ae_optimizer *)0x1);
}
END_TEST

static int null_arg_probe(const void *model, const float *x, const double *out_loss)
{
    if (model == NULL || x == NULL || out_loss == NULL)
        return AE__NULL_ARG("probe", model, x, out_loss);
    return AE_OK;
}

START_TEST(null_argument_errors_name_the_argument)
{
    int m = 0;
    float x = 0;
    double l = 0;
    ck_assert_int_eq(null_arg_probe(NULL, &x, &l), AE_ERR_INVALID);
    ck_assert_str_eq(ae_last_error(), "probe: model is NULL");
    ck_assert_int_eq(null_arg_probe(&m, NULL, NULL), AE_ERR_INVALID);
    ck_assert_str_eq(ae_last_error(), "probe: x is NULL"); /* the first NULL one */
    ck_assert_int_eq(null_arg_probe(&m, &x, NULL), AE_ERR_INVALID);
    ck_assert_str_eq(ae_last_error(), "probe: out_loss is NULL");
    ck_assert_int_eq(null_arg_probe(&m, &x, &l), AE_OK);
    /* the public functions that took several pointers said "a, b or c is NULL" */
    float z[4];
    ck_assert_int_eq(ae_encoder_encode(NULL, &x, 1, z), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_encoder_encode: encoder is NULL"));
    ck_assert_int_eq(ae_model_evaluate((const ae_model *)&m, NULL, AE_LOSS_MSE, &l), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_model_evaluate: ds is NULL"));
    ck_assert_int_eq(ae_file_metadata_get((const ae_file *)&m, "k", NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_file_metadata_get: value is NULL"));
    ck_assert_int_eq(ae_model_train(NULL, NULL, NULL, NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_model_train: model is NULL"));
}
END_TEST

Suite *ae_core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, version_matches_header);
    tcase_add_test(tc, header_major_mismatch_is_reported);
    tcase_add_test(tc, create_macros_accept_compound_literals);
    tcase_add_test(tc, strerror_never_null);
    tcase_add_test(tc, error_message_is_thread_local_detail);
    tcase_add_test(tc, allocator_hooks_see_every_block);
    tcase_add_test(tc, allocator_failure_gives_nomem);
    tcase_add_test(tc, allocator_rejects_bad_struct);
    tcase_add_test(tc, shape_checks);
    tcase_add_test(tc, rng_is_seeded_and_well_spread);
    tcase_add_test(tc, struct_size_check);
    tcase_add_test(tc, null_argument_errors_name_the_argument);
    suite_add_tcase(s, tc);
    return s;
}
