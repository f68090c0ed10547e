/* SPDX-License-Identifier: MIT */
/* check_clone.c - ae_encoder_clone() and ae_decoder_clone(): deep copies
 * with the same tensors (bit for bit), outputs, frozen layers and none of
 * the original's model; independence; error paths and allocation failures. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

/* {1, 8, 8} -> conv2d(4, 3x3, same) -> batchnorm -> flatten -> dense(6) */
static ae_encoder *make_encoder(uint64_t seed)
{
    const ae_shape in = {3, {1, 8, 8, 0}};
    ae_encoder *enc;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, seed), AE_OK);
    ck_assert_int_eq(ae_encoder_add_conv2d(enc, 4, 3, 1, AE_PAD_SAME, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_encoder_add_batchnorm(enc), AE_OK);
    ck_assert_int_eq(ae_encoder_add_flatten(enc), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(enc, 6, AE_ACT_RELU), AE_OK);
    return enc;
}

static ae_decoder *make_decoder(uint64_t seed)
{
    const ae_shape lat = {1, {6, 0, 0, 0}};
    ae_decoder *dec;
    ck_assert_int_eq(ae_decoder_create(&dec, &lat, seed), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 32, AE_ACT_RELU), AE_OK);
    ck_assert_int_eq(ae_decoder_add_dense(dec, 64, AE_ACT_SIGMOID), AE_OK);
    return dec;
}

/* Every tensor (parameters and state) set to seeded values in [0.05, 0.95),
 * so that nothing is left at its initial value. */
static void scramble(ae_encoder *enc, uint64_t seed)
{
    for (size_t i = 0; i < ae_encoder_tensor_count(enc); i++) {
        ae_tensor_info t = AE_TENSOR_INFO_INIT;
        ck_assert_int_eq(ae_encoder_tensor_info(enc, i, &t), AE_OK);
        float *v = malloc(t.count * sizeof *v);
        ck_assert_ptr_nonnull(v);
        for (size_t j = 0; j < t.count; j++)
            v[j] = 0.05f + 0.9f * test_rand_uniform(&seed);
        ck_assert_int_eq(ae_encoder_tensor_set(enc, i, v, t.count), AE_OK);
        free(v);
    }
}

/* Every tensor of a and b equal bit for bit (returns 1) or not (0). */
static int same_tensors(const ae_encoder *a, const ae_encoder *b)
{
    if (ae_encoder_tensor_count(a) != ae_encoder_tensor_count(b))
        return 0;
    int same = 1;
    for (size_t i = 0; i < ae_encoder_tensor_count(a) && same; i++) {
        ae_tensor_info ta = AE_TENSOR_INFO_INIT, tb = AE_TENSOR_INFO_INIT;
        ck_assert_int_eq(ae_encoder_tensor_info(a, i, &ta), AE_OK);
        ck_assert_int_eq(ae_encoder_tensor_info(b, i, &tb), AE_OK);
        if (ta.count != tb.count || strcmp(ta.name, tb.name) != 0)
            return 0;
        float *va = malloc(ta.count * sizeof *va), *vb = malloc(ta.count * sizeof *vb);
        ck_assert(va != NULL && vb != NULL);
        ck_assert_int_eq(ae_encoder_tensor_get(a, i, va, ta.count), AE_OK);
        ck_assert_int_eq(ae_encoder_tensor_get(b, i, vb, tb.count), AE_OK);
        same = memcmp(va, vb, ta.count * sizeof *va) == 0;
        free(va);
        free(vb);
    }
    return same;
}

START_TEST(clone_copies_weights_state_and_frozen_layers)
{
    enum { N = 5 };
    ae_encoder *enc = make_encoder(1);
    scramble(enc, 7);
    ck_assert_int_eq(ae_encoder_set_trainable(enc, 0, 0), AE_OK); /* the conv frozen */
    ae_model *m;
    ck_assert_int_eq(ae_model_create(&m, enc, make_decoder(2)), AE_OK);

    /* a copy of the model's encoder: the same tensors and outputs */
    ae_encoder *copy = NULL;
    ck_assert_int_eq(ae_encoder_clone(&copy, ae_model_encoder(m)), AE_OK);
    ck_assert_ptr_nonnull(copy);
    ck_assert_ptr_ne(copy, ae_model_encoder(m));
    ck_assert(same_tensors(copy, ae_model_encoder(m)));
    float x[N * 64], za[N * 6], zb[N * 6];
    uint64_t s = 3;
    for (size_t i = 0; i < N * 64; i++)
        x[i] = test_rand_uniform(&s);
    ck_assert_int_eq(ae_encoder_encode(ae_model_encoder(m), x, N, za), AE_OK);
    ck_assert_int_eq(ae_encoder_encode(copy, x, N, zb), AE_OK);
    ck_assert_mem_eq(za, zb, sizeof za);

    /* the copy belongs to no model: it joins one, with the same frozen layer */
    ae_model *m2;
    ck_assert_int_eq(ae_model_create(&m2, copy, make_decoder(2)), AE_OK);
    ck_assert_uint_lt(ae_model_trainable_count(m), ae_model_param_count(m));
    ck_assert_uint_eq(ae_model_trainable_count(m2), ae_model_trainable_count(m));

    /* independent: changing the copy leaves the original as it was */
    ae_tensor_info t = AE_TENSOR_INFO_INIT;
    ck_assert_int_eq(ae_encoder_tensor_info(ae_model_encoder(m2), 0, &t), AE_OK);
    float *zero = calloc(t.count, sizeof *zero);
    ck_assert_ptr_nonnull(zero);
    ck_assert_int_eq(ae_encoder_tensor_set(ae_model_encoder(m2), 0, zero, t.count), AE_OK);
    free(zero);
    ck_assert(!same_tensors(ae_model_encoder(m2), ae_model_encoder(m)));
    float zc[N * 6];
    ck_assert_int_eq(ae_encoder_encode(ae_model_encoder(m), x, N, zc), AE_OK);
    ck_assert_mem_eq(za, zc, sizeof za);
    ck_assert_int_eq(ae_encoder_set_trainable(ae_model_encoder(m2), AE_ALL_LAYERS, 1), AE_OK);
    ck_assert_uint_lt(ae_model_trainable_count(m), ae_model_trainable_count(m2));

    /* a free-standing copy takes more layers, the original stays as it is */
    ae_encoder *again;
    ck_assert_int_eq(ae_encoder_clone(&again, ae_model_encoder(m)), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(again, 3, AE_ACT_IDENTITY), AE_OK);
    ck_assert_uint_eq(ae_encoder_latent_size(again), 3);
    ck_assert_uint_eq(ae_encoder_latent_size(ae_model_encoder(m)), 6);
    ck_assert_uint_eq(ae_encoder_layer_count(again), ae_encoder_layer_count(ae_model_encoder(m)) + 1);
    ae_encoder_destroy(again);

    /* the decoder likewise */
    ae_decoder *dcopy;
    ck_assert_int_eq(ae_decoder_clone(&dcopy, ae_model_decoder(m)), AE_OK);
    float ya[N * 64], yb[N * 64];
    ck_assert_int_eq(ae_decoder_decode(ae_model_decoder(m), za, N, ya), AE_OK);
    ck_assert_int_eq(ae_decoder_decode(dcopy, za, N, yb), AE_OK);
    ck_assert_mem_eq(ya, yb, sizeof ya);
    ck_assert_uint_eq(ae_decoder_param_count(dcopy), ae_decoder_param_count(ae_model_decoder(m)));
    ck_assert_int_eq(ae_decoder_add_dense(dcopy, 2, AE_ACT_IDENTITY), AE_OK);
    ck_assert_uint_eq(ae_decoder_output_size(dcopy), 2);
    ae_decoder_destroy(dcopy);

    ae_model_destroy(m2);
    ae_model_destroy(m);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}
END_TEST

START_TEST(clone_rejects_null_and_fails_cleanly)
{
    ae_encoder *enc = make_encoder(1), *out = (ae_encoder *)&enc;
    ae_decoder *dec = make_decoder(2), *dout = (ae_decoder *)&dec;
    ck_assert_int_eq(ae_encoder_clone(NULL, enc), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_encoder_clone"));
    ck_assert_int_eq(ae_encoder_clone(&out, NULL), AE_ERR_INVALID);
    ck_assert_ptr_eq(out, (ae_encoder *)&enc);
    ck_assert_int_eq(ae_decoder_clone(NULL, dec), AE_ERR_INVALID);
    ck_assert_int_eq(ae_decoder_clone(&dout, NULL), AE_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(ae_last_error(), "ae_decoder_clone"));
    ck_assert_ptr_eq(dout, (ae_decoder *)&dec);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ck_assert_uint_eq(ae_live_allocations(), 0);

    /* every allocation failing in turn (the originals made under the same
     * allocator): AE_ERR_NOMEM, the output untouched, nothing leaked; then
     * success */
    const ae_shape in = {1, {16, 0, 0, 0}}, lat = {1, {4, 0, 0, 0}};
    int ok = 0;
    for (size_t fail_at = 1; fail_at < 400 && !ok; fail_at++) {
        failing_allocator fa;
        failing_allocator_install(&fa, fail_at);
        enc = NULL;
        dec = NULL;
        out = (ae_encoder *)&enc;
        dout = (ae_decoder *)&dec;
        int rc = ae_encoder_create(&enc, &in, 1);
        if (rc == AE_OK && (rc = ae_encoder_add_dense(enc, 4, AE_ACT_RELU)) == AE_OK &&
            (rc = ae_encoder_add_batchnorm(enc)) == AE_OK &&
            (rc = ae_decoder_create(&dec, &lat, 2)) == AE_OK &&
            (rc = ae_decoder_add_dense(dec, 16, AE_ACT_SIGMOID)) == AE_OK) {
            rc = ae_encoder_clone(&out, enc);
            if (rc == AE_OK) {
                rc = ae_decoder_clone(&dout, dec);
                ok = rc == AE_OK;
                if (ok)
                    ae_decoder_destroy(dout);
                else
                    ck_assert_ptr_eq(dout, (ae_decoder *)&dec);
                ae_encoder_destroy(out);
            } else {
                ck_assert_ptr_eq(out, (ae_encoder *)&enc);
            }
        }
        if (!ok)
            ck_assert_int_eq(rc, AE_ERR_NOMEM);
        ae_encoder_destroy(enc);
        ae_decoder_destroy(dec);
        ck_assert_uint_eq(ae_live_allocations(), 0);
        failing_allocator_remove();
    }
    ck_assert(ok);
}
END_TEST

Suite *ae_clone_suite(void)
{
    Suite *s = suite_create("clone");
    TCase *tc = tcase_create("clone");
    tcase_add_test(tc, clone_copies_weights_state_and_frozen_layers);
    tcase_add_test(tc, clone_rejects_null_and_fails_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
