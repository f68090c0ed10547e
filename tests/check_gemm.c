/* SPDX-License-Identifier: MIT */
/* check_gemm.c - libae's own GEMM kernels (src/core/gemm*.c) against
 * cblas_sgemm, on every path this machine can run. */
#include <cblas.h>
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/gemm.h"
#include "testutil.h"

static const int paths[] = {AE_GEMM_GENERIC, AE_GEMM_AVX2, AE_GEMM_AVX512};

typedef struct prod {
    int ta, tb;
    size_t m, n, k, lda, ldb, ldc;
    float alpha, beta;
    float *a, *b, *c0; /* c0: C before the product */
} prod;

static float *random_floats(uint64_t *st, size_t count)
{
    float *v = malloc((count ? count : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < count; i++)
        v[i] = 2.0f * test_rand_uniform(st) - 1.0f;
    return v;
}

/* Random operands with leading dimensions a little over the minimum. */
static void prod_make(prod *p, uint64_t *st, int ta, int tb, size_t m, size_t n, size_t k)
{
    p->ta = ta;
    p->tb = tb;
    p->m = m;
    p->n = n;
    p->k = k;
    p->lda = (ta ? m : k) + (size_t)(test_rand_next(st) % 3);
    p->ldb = (tb ? k : n) + (size_t)(test_rand_next(st) % 3);
    p->ldc = n + (size_t)(test_rand_next(st) % 3);
    static const float alphas[] = {1.0f, 1.0f, -0.5f, 2.0f};
    static const float betas[] = {0.0f, 0.0f, 1.0f, 0.75f};
    p->alpha = alphas[test_rand_next(st) % 4];
    p->beta = betas[test_rand_next(st) % 4];
    p->a = random_floats(st, (ta ? k : m) * p->lda);
    p->b = random_floats(st, (tb ? n : k) * p->ldb);
    p->c0 = random_floats(st, m * p->ldc);
}

static void prod_free(prod *p)
{
    free(p->a);
    free(p->b);
    free(p->c0);
}

static float *prod_c(const prod *p)
{
    float *c = malloc(p->m * p->ldc * sizeof *c);
    ck_assert_ptr_nonnull(c);
    memcpy(c, p->c0, p->m * p->ldc * sizeof *c);
    return c;
}

static double op_a(const prod *p, size_t i, size_t q) { return p->ta ? p->a[q * p->lda + i] : p->a[i * p->lda + q]; }
static double op_b(const prod *p, size_t q, size_t j) { return p->tb ? p->b[j * p->ldb + q] : p->b[q * p->ldb + j]; }

/* Checks `got` (a kernel's C) against `want` (cblas_sgemm's). Both sum k
 * products recursively, in some order, one or two roundings per term, then
 * scale by alpha and add beta * C (up to 3 more roundings). Each is then
 * within gamma(k + 3) * (|alpha| sum |a_ip b_pj| + |beta c_ij|) of the exact
 * value, gamma(n) = n u / (1 - n u), u = 2^-24 (Higham, Accuracy and
 * Stability of Numerical Algorithms, 3.1); so they differ by at most twice
 * that. Entries of C outside the product (the ldc padding) must be left as
 * they were. */
static void check_close(const prod *p, const float *got, const float *want, int path)
{
    const double u = ldexp(1.0, -24), nu = (double)(p->k + 3) * u, gamma = nu / (1.0 - nu);
    for (size_t i = 0; i < p->m; i++)
        for (size_t j = 0; j < p->ldc; j++) {
            size_t at = i * p->ldc + j;
            if (j >= p->n) {
                ck_assert_msg(memcmp(&got[at], &p->c0[at], sizeof(float)) == 0,
                              "path %d wrote C's padding at (%zu, %zu)", path, i, j);
                continue;
            }
            double mag = 0.0;
            for (size_t q = 0; q < p->k; q++)
                mag += fabs(op_a(p, i, q) * op_b(p, q, j));
            double bound = 2.0 * gamma * (fabs(p->alpha) * mag + fabs(p->beta * p->c0[at]));
            ck_assert_msg(fabs((double)got[at] - (double)want[at]) <= bound,
                          "path %d, %s%s m=%zu n=%zu k=%zu alpha=%g beta=%g: C(%zu, %zu) = %.9g, "
                          "cblas %.9g, bound %.3g",
                          path, p->ta ? "A^T" : "A", p->tb ? "B^T" : "B", p->m, p->n, p->k,
                          (double)p->alpha, (double)p->beta, i, j, (double)got[at],
                          (double)want[at], bound);
        }
}

static void cblas_ref(const prod *p, float *c)
{
    cblas_sgemm(CblasRowMajor, p->ta ? CblasTrans : CblasNoTrans, p->tb ? CblasTrans : CblasNoTrans,
                (int)p->m, (int)p->n, (int)p->k, p->alpha, p->a, (int)p->lda, p->b, (int)p->ldb,
                p->beta, c, (int)p->ldc);
}

/* Runs the product on every available path; checks it against CBLAS,
 * checks that a second run gives the same bits, and that computing the
 * rows in two parts (a split as threads would make it) gives the same bits
 * too: the result does not depend on the blocking. */
static void check_product(const prod *p)
{
    float *want = prod_c(p);
    cblas_ref(p, want);
    for (size_t x = 0; x < sizeof paths / sizeof paths[0]; x++) {
        int path = paths[x];
        if (!ae__gemm_path_available(path))
            continue;
        float *got = prod_c(p), *again = prod_c(p);
        ck_assert_int_eq(ae__gemm_run(path, p->ta, p->tb, p->m, p->n, p->k, p->alpha, p->a, p->lda,
                                      p->b, p->ldb, p->beta, got, p->ldc),
                         0);
        check_close(p, got, want, path);
        size_t top = (p->m + 1) / 2;
        const float *a2 = p->ta ? p->a + top : p->a + top * p->lda;
        ck_assert_int_eq(ae__gemm_run(path, p->ta, p->tb, top, p->n, p->k, p->alpha, p->a, p->lda,
                                      p->b, p->ldb, p->beta, again, p->ldc),
                         0);
        if (top < p->m)
            ck_assert_int_eq(ae__gemm_run(path, p->ta, p->tb, p->m - top, p->n, p->k, p->alpha, a2,
                                          p->lda, p->b, p->ldb, p->beta, again + top * p->ldc,
                                          p->ldc),
                             0);
        ck_assert_msg(memcmp(got, again, p->m * p->ldc * sizeof *got) == 0,
                      "path %d: the same product in two row blocks differs in its bits", path);
        free(got);
        free(again);
    }
    free(want);
}

START_TEST(kernels_match_cblas_on_random_shapes)
{
    uint64_t st = 0x5eedu + (uint64_t)_i;
    /* edge sizes: 1, odd, around the tiles (6 and 8 rows; 16 and 32 columns) */
    static const size_t edge[] = {1, 2, 3, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 65};
    for (int t = 0; t < 4; t++)
        for (int r = 0; r < 6; r++) {
            size_t m = edge[test_rand_next(&st) % 15], n = edge[test_rand_next(&st) % 15],
                   k = edge[test_rand_next(&st) % 15];
            if (r == 5) { /* one larger product of each case */
                m = 40 + test_rand_next(&st) % 90;
                n = 60 + test_rand_next(&st) % 140;
                k = 100 + test_rand_next(&st) % 300;
            }
            prod p;
            prod_make(&p, &st, t & 1, t >> 1, m, n, k);
            check_product(&p);
            prod_free(&p);
        }
}
END_TEST

/* The dense autoencoder's five products at batch 32 and the 8-channel
 * convolution's shapes, on every path. */
START_TEST(kernels_match_cblas_on_the_autoencoder_shapes)
{
    uint64_t st = 77;
    const size_t b = 32, in = 784, lat = 64;
    const struct { int ta, tb; size_t m, n, k; } shapes[] = {
        {0, 1, b, lat, in}, {0, 1, b, in, lat}, {1, 0, in, lat, b}, {0, 0, b, in, lat},
        {1, 0, lat, in, b}, {0, 0, 8, 196, 72},  {0, 1, 8, 72, 196}, {1, 0, 72, 196, 8},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        prod p;
        prod_make(&p, &st, shapes[i].ta, shapes[i].tb, shapes[i].m, shapes[i].n, shapes[i].k);
        check_product(&p);
        prod_free(&p);
    }
}
END_TEST

START_TEST(kernels_decline_what_blas_handles)
{
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, c[4] = {9, 9, 9, 9};
    ck_assert_int_eq(ae__gemm_run(AE_GEMM_BLAS, 0, 0, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2), -1);
    ck_assert_int_eq(ae__gemm_run(AE_GEMM_GENERIC, 0, 0, 2, 2, 0, 1.0f, a, 2, b, 2, 0.0f, c, 2), -1);
    ck_assert_int_eq(ae__gemm_run(AE_GEMM_GENERIC, 0, 0, 2, 2, 2, 0.0f, a, 2, b, 2, 0.0f, c, 2), -1);
    ck_assert_int_eq(ae__gemm_run(AE_GEMM_GENERIC, 0, 0, 0, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2), -1);
    ck_assert_int_eq(ae__gemm_run(99, 0, 0, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2), -1);
    for (int i = 0; i < 4; i++)
        ck_assert_float_eq(c[i], 9.0f);
    /* beta 0: C is not read (a NaN there does not survive) */
    c[0] = NAN;
    ck_assert_int_eq(ae__gemm_run(AE_GEMM_GENERIC, 0, 0, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2), 0);
    ck_assert_float_eq(c[0], 1.0f);
    ck_assert_float_eq(c[3], 4.0f);
}
END_TEST

START_TEST(kernel_switch_parses)
{
    ck_assert_int_eq(ae__gemm_parse_kernel(NULL), AE_GEMM_AUTO);
    ck_assert_int_eq(ae__gemm_parse_kernel(""), AE_GEMM_AUTO);
    ck_assert_int_eq(ae__gemm_parse_kernel("auto"), AE_GEMM_AUTO);
    ck_assert_int_eq(ae__gemm_parse_kernel("blas"), AE_GEMM_BLAS);
    ck_assert_int_eq(ae__gemm_parse_kernel("generic"), AE_GEMM_GENERIC);
    ck_assert_int_eq(ae__gemm_parse_kernel("avx2"), AE_GEMM_AVX2);
    ck_assert_int_eq(ae__gemm_parse_kernel("avx512"), AE_GEMM_AVX512);
    ck_assert_int_eq(ae__gemm_parse_kernel("AVX2 "), -2);
    ck_assert(ae__gemm_path_available(AE_GEMM_GENERIC));
    ck_assert(!ae__gemm_path_available(7));
    int path = ae__gemm_path();
    ck_assert(path >= AE_GEMM_BLAS && path <= AE_GEMM_AVX512 && ae__gemm_path_available(path));
}
END_TEST

/* ae__gemm sends a kept one-thread shape to the chosen path: the same bits
 * as ae__gemm_run on that path. */
START_TEST(gemm_dispatch_uses_the_chosen_kernel)
{
    int path = ae__gemm_path();
    uint64_t st = 5;
    prod p;
    prod_make(&p, &st, 0, 0, 32, 64, 784); /* a dense layer's dX, a kept shape */
    p.alpha = 1.0f;
    p.beta = 0.0f;
    ck_assert(ae__gemm_shape_kept(0, 0, p.m, p.n, p.k));
    ck_assert(ae__gemm_shape_kept(0, 1, 128, p.n, p.k));     /* the encoder's forward at 128 */
    ck_assert(!ae__gemm_shape_kept(0, 1, p.m, p.n, p.k));    /* ... at 32: CBLAS */
    ck_assert(!ae__gemm_shape_kept(0, 1, p.m, 784, 64));     /* the decoder's: CBLAS */
    ck_assert(!ae__gemm_shape_kept(1, 0, 784, p.n, p.m));    /* a weight gradient: CBLAS */
    if (path == AE_GEMM_BLAS) {
        prod_free(&p);
        return;
    }
    int was = ae__blas_single(1);
    float *got = prod_c(&p), *want = prod_c(&p);
    ae__gemm(0, 0, p.m, p.n, p.k, 1.0f, p.a, p.lda, p.b, p.ldb, 0.0f, got, p.ldc);
    ck_assert_int_eq(ae__gemm_run(path, 0, 0, p.m, p.n, p.k, 1.0f, p.a, p.lda, p.b, p.ldb, 0.0f,
                                  want, p.ldc),
                     0);
    ck_assert(memcmp(got, want, p.m * p.ldc * sizeof *got) == 0);
    ae__blas_single(was);
    free(got);
    free(want);
    prod_free(&p);
}
END_TEST

Suite *ae_gemm_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("gemm");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, kernels_match_cblas_on_random_shapes, 0, 3);
    tcase_add_test(tc, kernels_match_cblas_on_the_autoencoder_shapes);
    tcase_add_test(tc, kernels_decline_what_blas_handles);
    tcase_add_test(tc, kernel_switch_parses);
    tcase_add_test(tc, gemm_dispatch_uses_the_chosen_kernel);
    suite_add_tcase(s, tc);
    return s;
}
