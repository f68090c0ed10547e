/* SPDX-License-Identifier: MIT */
/* check_search.c - the nearest-neighbour index (ae/search.h): results
 * against a double-precision brute force (Euclidean and cosine, across
 * tiles and query blocks), ties, k = count, batches against single queries,
 * the thread setting, concurrent searches, the getters, and every error
 * path (NULL, zero sizes, limits, non-finite values, options, versions,
 * allocation failures). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "testutil.h"

static void assert_msg_has(const char *needle)
{
    ck_assert_msg(strstr(ae_last_error(), needle) != NULL, "message \"%s\" lacks \"%s\"",
                  ae_last_error(), needle);
}

static void teardown(void)
{
    ae_set_num_threads(0);
    ck_assert_uint_eq(ae_live_allocations(), 0);
}

/* count * dim uniform floats in [-1, 1) (malloc). */
static float *random_vectors(size_t count, size_t dim, uint64_t seed)
{
    float *x = malloc(count * dim * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < count * dim; i++)
        x[i] = 2.0f * test_rand_uniform(&seed) - 1.0f;
    return x;
}

/* The reference: distance of q to x in double. */
static double ref_distance(const float *q, const float *x, size_t dim, int metric)
{
    double dot = 0.0, qq = 0.0, xx = 0.0, dd = 0.0;
    for (size_t j = 0; j < dim; j++) {
        dot += (double)q[j] * x[j];
        qq += (double)q[j] * q[j];
        xx += (double)x[j] * x[j];
        dd += ((double)q[j] - x[j]) * ((double)q[j] - x[j]);
    }
    if (metric == AE_METRIC_EUCLIDEAN)
        return sqrt(dd);
    return qq > 0.0 && xx > 0.0 ? 1.0 - dot / sqrt(qq * xx) : 1.0;
}

/* Checks the search results of query q against the reference: the k
 * distances are the k smallest (within tol), increasing, and each is the
 * distance of the vector named. */
static void check_against_reference(const float *x, size_t n, size_t dim, const float *q,
                                    size_t k, const size_t *idx, const float *dist, int metric,
                                    double tol)
{
    double *all = malloc(n * sizeof *all);
    ck_assert_ptr_nonnull(all);
    for (size_t i = 0; i < n; i++)
        all[i] = ref_distance(q, x + i * dim, dim, metric);
    /* the k-th smallest reference distance */
    for (size_t r = 0; r < k; r++) {
        ck_assert_uint_lt(idx[r], n);
        double d = all[idx[r]];
        ck_assert_msg(fabs(d - dist[r]) <= tol, "result %zu: distance %g, reference %g", r,
                      (double)dist[r], d);
        if (r > 0)
            ck_assert(dist[r] >= dist[r - 1]);
        for (size_t p = 0; p < r; p++)
            ck_assert_uint_ne(idx[p], idx[r]);
    }
    /* nothing outside the results is nearer than the last result */
    double last = all[idx[k - 1]];
    for (size_t i = 0; i < n; i++) {
        int in = 0;
        for (size_t r = 0; r < k; r++)
            in |= idx[r] == i;
        if (!in)
            ck_assert_msg(all[i] >= last - tol, "vector %zu at %g is nearer than result %zu at %g",
                          i, all[i], k - 1, last);
    }
    free(all);
}

static void search_matches_reference(int metric)
{
    /* 5000 vectors: two tiles; 300 queries: three blocks */
    enum { N = 5000, D = 9, Q = 300, K = 7 };
    float *x = random_vectors(N, D, 11), *q = random_vectors(Q, D, 12);
    ae_index *idx;
    ae_index_options o = AE_INDEX_OPTIONS_INIT;
    o.metric = metric;
    ck_assert_int_eq(ae_index_create(&idx, x, N, D, &o), AE_OK);
    size_t *res = malloc(Q * K * sizeof *res);
    float *dist = malloc(Q * K * sizeof *dist);
    ck_assert_int_eq(ae_index_search(idx, q, Q, K, res, dist), AE_OK);
    for (size_t i = 0; i < Q; i += 7)
        check_against_reference(x, N, D, q + i * D, K, res + i * K, dist + i * K, metric, 1e-4);
    free(res);
    free(dist);
    ae_index_destroy(idx);
    free(x);
    free(q);
}

START_TEST(euclidean_search_finds_the_k_nearest)
{
    search_matches_reference(AE_METRIC_EUCLIDEAN);
}
END_TEST

START_TEST(cosine_search_finds_the_k_nearest)
{
    search_matches_reference(AE_METRIC_COSINE);
}
END_TEST

START_TEST(reversed_order_exercises_every_heap_replacement)
{
    /* x_i = n - i on a line: every new vector is nearer to the query 0 than
     * all before it, so the heap is replaced at every step. */
    enum { N = 4500, K = 5 };
    float x[N];
    for (size_t i = 0; i < N; i++)
        x[i] = (float)(N - i);
    ae_index *idx;
    ck_assert_int_eq(ae_index_create(&idx, x, N, 1, NULL), AE_OK);
    const float q = 0.0f;
    size_t res[K];
    float dist[K];
    ck_assert_int_eq(ae_index_search(idx, &q, 1, K, res, dist), AE_OK);
    for (size_t r = 0; r < K; r++) {
        ck_assert_uint_eq(res[r], N - 1 - r);
        ck_assert_float_eq_tol(dist[r], (float)(r + 1), 1e-6f);
    }
    ae_index_destroy(idx);
}
END_TEST

START_TEST(ties_keep_the_lower_index_first)
{
    /* four copies of one vector and one farther vector */
    const float x[] = {1, 2, 9, 9, 1, 2, 1, 2, 1, 2};
    const float q[] = {1, 2};
    ae_index *idx;
    ck_assert_int_eq(ae_index_create(&idx, x, 5, 2, NULL), AE_OK);
    size_t res[5];
    float dist[5];
    ck_assert_int_eq(ae_index_search(idx, q, 1, 5, res, dist), AE_OK);
    const size_t want[] = {0, 2, 3, 4, 1};
    for (size_t r = 0; r < 5; r++)
        ck_assert_uint_eq(res[r], want[r]);
    ck_assert_float_eq(dist[0], 0.0f);
    ck_assert_float_eq_tol(dist[4], sqrtf(64 + 49), 1e-5f);
    ae_index_destroy(idx);
}
END_TEST

START_TEST(k_equal_to_the_count_sorts_everything)
{
    enum { N = 40, D = 3 };
    float *x = random_vectors(N, D, 5), *q = random_vectors(2, D, 6);
    ae_index *idx;
    ck_assert_int_eq(ae_index_create(&idx, x, N, D, NULL), AE_OK);
    size_t res[2 * N];
    float dist[2 * N];
    ck_assert_int_eq(ae_index_search(idx, q, 2, N, res, dist), AE_OK);
    for (size_t i = 0; i < 2; i++)
        check_against_reference(x, N, D, q + i * D, N, res + i * N, dist + i * N,
                                AE_METRIC_EUCLIDEAN, 1e-5);
    ae_index_destroy(idx);
    free(x);
    free(q);
}
END_TEST

START_TEST(cosine_ignores_length_and_zero_vectors_are_at_distance_one)
{
    const float x[] = {0, 0, 3, 0, 0, 5, -2, 0};
    ae_index *idx;
    ae_index_options o = AE_INDEX_OPTIONS_INIT;
    o.metric = AE_METRIC_COSINE;
    ck_assert_int_eq(ae_index_create(&idx, x, 4, 2, &o), AE_OK);
    const float q[] = {0.5f, 0, 0, 0};
    size_t res[8];
    float dist[8];
    ck_assert_int_eq(ae_index_search(idx, q, 2, 4, res, dist), AE_OK);
    /* q0 along x: vector 1 (same direction), then 0 and 2 (orthogonal or
     * zero: 1), then 3 (opposite: 2) */
    const size_t want[] = {1, 0, 2, 3};
    const float wd[] = {0, 1, 1, 2};
    for (size_t r = 0; r < 4; r++) {
        ck_assert_uint_eq(res[r], want[r]);
        ck_assert_float_eq_tol(dist[r], wd[r], 1e-6f);
    }
    /* the zero query: cosine 0 with everything, index order */
    for (size_t r = 0; r < 4; r++) {
        ck_assert_uint_eq(res[4 + r], r);
        ck_assert_float_eq_tol(dist[4 + r], 1.0f, 1e-6f);
    }
    ae_index_destroy(idx);
}
END_TEST

START_TEST(a_batch_gives_the_results_of_single_queries)
{
    enum { N = 700, D = 16, Q = 150, K = 4 };
    float *x = random_vectors(N, D, 21), *q = random_vectors(Q, D, 22);
    ae_index *idx;
    ck_assert_int_eq(ae_index_create(&idx, x, N, D, NULL), AE_OK);
    size_t *res = malloc(Q * K * sizeof *res);
    float *dist = malloc(Q * K * sizeof *dist);
    ck_assert_int_eq(ae_index_search(idx, q, Q, K, res, dist), AE_OK);
    for (size_t i = 0; i < Q; i++) {
        size_t one[K];
        float od[K];
        ck_assert_int_eq(ae_index_search(idx, q + i * D, 1, K, one, NULL), AE_OK);
        ck_assert_int_eq(ae_index_search(idx, q + i * D, 1, K, one, od), AE_OK);
        for (size_t r = 0; r < K; r++) {
            ck_assert_uint_eq(one[r], res[i * K + r]);
            ck_assert_float_eq_tol(od[r], dist[i * K + r], 1e-5f);
        }
    }
    free(res);
    free(dist);
    ae_index_destroy(idx);
    free(x);
    free(q);
}
END_TEST

START_TEST(results_do_not_depend_on_the_thread_setting)
{
    enum { N = 3000, D = 12, Q = 1000, K = 6 };
    float *x = random_vectors(N, D, 31), *q = random_vectors(Q, D, 32);
    ae_index *idx;
    ck_assert_int_eq(ae_index_create(&idx, x, N, D, NULL), AE_OK);
    size_t *r1 = malloc(Q * K * sizeof *r1), *r3 = malloc(Q * K * sizeof *r3);
    float *d1 = malloc(Q * K * sizeof *d1), *d3 = malloc(Q * K * sizeof *d3);
    ck_assert_int_eq(ae_set_num_threads(1), AE_OK);
    ck_assert_int_eq(ae_index_search(idx, q, Q, K, r1, d1), AE_OK);
    ck_assert_int_eq(ae_set_num_threads(3), AE_OK);
    ck_assert_int_eq(ae_index_search(idx, q, Q, K, r3, d3), AE_OK);
    ck_assert_mem_eq(r1, r3, Q * K * sizeof *r1);
    ck_assert_mem_eq(d1, d3, Q * K * sizeof *d1);
    free(r1);
    free(r3);
    free(d1);
    free(d3);
    ae_index_destroy(idx);
    free(x);
    free(q);
}
END_TEST

typedef struct searcher {
    const ae_index *idx;
    const float *q;
    size_t res[200 * 3];
    int rc;
} searcher;

static void *search_thread(void *arg)
{
    searcher *s = arg;
    s->rc = ae_index_search(s->idx, s->q, 200, 3, s->res, NULL);
    return NULL;
}

START_TEST(several_threads_search_one_index_at_once)
{
    enum { N = 2000, D = 8, T = 4 };
    float *x = random_vectors(N, D, 41), *q = random_vectors(200, D, 42);
    ae_index *idx;
    ck_assert_int_eq(ae_index_create(&idx, x, N, D, NULL), AE_OK);
    size_t want[200 * 3];
    ck_assert_int_eq(ae_index_search(idx, q, 200, 3, want, NULL), AE_OK);
    ck_assert_int_eq(ae_set_num_threads(2), AE_OK);
    static searcher s[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        s[t].idx = idx;
        s[t].q = q;
        ck_assert_int_eq(pthread_create(&th[t], NULL, search_thread, &s[t]), 0);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        ck_assert_int_eq(s[t].rc, AE_OK);
        ck_assert_mem_eq(s[t].res, want, sizeof want);
    }
    ae_index_destroy(idx);
    free(x);
    free(q);
}
END_TEST

START_TEST(getters_give_back_what_was_indexed)
{
    enum { N = 30, D = 5 };
    float *x = random_vectors(N, D, 51);
    ae_index *idx;
    ae_index_options o = AE_INDEX_OPTIONS_INIT;
    o.metric = AE_METRIC_COSINE;
    ck_assert_int_eq(ae_index_create(&idx, x, N, D, &o), AE_OK);
    ck_assert_uint_eq(ae_index_count(idx), N);
    ck_assert_uint_eq(ae_index_dim(idx), D);
    ck_assert_uint_eq(ae_index_count(NULL), 0);
    ck_assert_uint_eq(ae_index_dim(NULL), 0);
    ae_index_options got = AE_INDEX_OPTIONS_INIT;
    ck_assert_int_eq(ae_index_get_options(idx, &got), AE_OK);
    ck_assert_int_eq(got.metric, AE_METRIC_COSINE);
    ck_assert_uint_eq(got.struct_size, sizeof got);
    float back[N * D];
    ck_assert_int_eq(ae_index_get_vectors(idx, 0, N, back), AE_OK);
    ck_assert_mem_eq(back, x, sizeof back);
    ck_assert_int_eq(ae_index_get_vectors(idx, N - 2, 2, back), AE_OK);
    ck_assert_mem_eq(back, x + (N - 2) * D, 2 * D * sizeof *x);
    ae_index_destroy(idx);
    ae_index_destroy(NULL);
    free(x);
}
END_TEST

START_TEST(an_index_of_a_dataset_equals_one_of_its_floats)
{
    enum { N = 50, D = 6 };
    float *x = random_vectors(N, D, 61), *q = random_vectors(3, D, 62);
    ae_dataset *ds;
    const ae_shape sh = {2, {2, 3}};
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, N, &sh, 0), AE_OK);
    ae_index *a, *b;
    ck_assert_int_eq(ae_index_create_dataset(&a, ds, NULL), AE_OK);
    ck_assert_int_eq(ae_index_create(&b, x, N, D, NULL), AE_OK);
    ck_assert_uint_eq(ae_index_dim(a), D);
    size_t ra[3 * 4], rb[3 * 4];
    float da[3 * 4], db[3 * 4];
    ck_assert_int_eq(ae_index_search(a, q, 3, 4, ra, da), AE_OK);
    ck_assert_int_eq(ae_index_search(b, q, 3, 4, rb, db), AE_OK);
    ck_assert_mem_eq(ra, rb, sizeof ra);
    ck_assert_mem_eq(da, db, sizeof da);
    ae_index_destroy(a);
    ae_index_destroy(b);
    ae_dataset_destroy(ds);
    free(x);
    free(q);
}
END_TEST

/* ---- errors ----------------------------------------------------------------- */

START_TEST(create_rejects_bad_arguments)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    ae_index *idx = (ae_index *)(uintptr_t)1, *keep = idx;
    ck_assert_int_eq(ae_index_create(NULL, x, 3, 2, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_create(&idx, NULL, 3, 2, NULL), AE_ERR_INVALID);
    assert_msg_has("x is NULL");
    ck_assert_int_eq(ae_index_create(&idx, x, 0, 2, NULL), AE_ERR_INVALID);
    assert_msg_has("count is 0");
    ck_assert_int_eq(ae_index_create(&idx, x, 3, 0, NULL), AE_ERR_INVALID);
    assert_msg_has("dim is 0");
    ck_assert_int_eq(ae_index_create(&idx, x, 1, (size_t)AE_INDEX_MAX_DIM + 1, NULL),
                     AE_ERR_LIMIT);
    ck_assert_int_eq(ae_index_create(&idx, x, (size_t)AE_INDEX_MAX_COUNT + 1, 1, NULL),
                     AE_ERR_LIMIT);
    x[3] = NAN;
    ck_assert_int_eq(ae_index_create(&idx, x, 3, 2, NULL), AE_ERR_INVALID);
    assert_msg_has("value 1 of vector 1 is not finite");
    x[3] = INFINITY;
    ck_assert_int_eq(ae_index_create(&idx, x, 3, 2, NULL), AE_ERR_INVALID);
    x[3] = 3e19f; /* finite, but its square is not a float */
    ck_assert_int_eq(ae_index_create(&idx, x, 3, 2, NULL), AE_ERR_INVALID);
    assert_msg_has("squared norm");
    x[3] = 4;
    ae_index_options o = AE_INDEX_OPTIONS_INIT;
    o.metric = 2;
    ck_assert_int_eq(ae_index_create(&idx, x, 3, 2, &o), AE_ERR_INVALID);
    assert_msg_has("unknown metric 2");
    o.metric = AE_METRIC_EUCLIDEAN;
    o.struct_size = 2;
    ck_assert_int_eq(ae_index_create(&idx, x, 3, 2, &o), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_create_v(&idx, x, 3, 2, NULL, 20000), AE_ERR_VERSION);
    ck_assert_int_eq(ae_index_create_dataset(NULL, NULL, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_create_dataset(&idx, NULL, NULL), AE_ERR_INVALID);
    assert_msg_has("ds is NULL");
    ck_assert_int_eq(ae_index_create_dataset_v(&idx, NULL, NULL, 20000), AE_ERR_VERSION);
    ck_assert_ptr_eq(idx, keep); /* untouched */
}
END_TEST

START_TEST(create_dataset_rejects_bad_options_and_values)
{
    float x[4] = {1, 2, NAN, 4};
    ae_dataset *ds;
    const ae_shape sh = {1, {2}};
    ck_assert_int_eq(ae_dataset_from_memory(&ds, x, NULL, 2, &sh, 0), AE_OK);
    ae_index *idx = NULL;
    ae_index_options o = AE_INDEX_OPTIONS_INIT;
    o.metric = -1;
    ck_assert_int_eq(ae_index_create_dataset(&idx, ds, &o), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_create_dataset(&idx, ds, NULL), AE_ERR_INVALID);
    assert_msg_has("not finite");
    ck_assert_ptr_null(idx);
    ae_dataset_destroy(ds);
}
END_TEST

START_TEST(search_rejects_bad_arguments_and_leaves_outputs_alone)
{
    const float x[6] = {1, 2, 3, 4, 5, 6};
    ae_index *idx;
    ck_assert_int_eq(ae_index_create(&idx, x, 3, 2, NULL), AE_OK);
    float q[4] = {1, 1, 2, 2};
    size_t res[6] = {77, 77, 77, 77, 77, 77};
    float dist[6] = {-1, -1, -1, -1, -1, -1};
    ck_assert_int_eq(ae_index_search(NULL, q, 1, 1, res, dist), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_search(idx, NULL, 1, 1, res, dist), AE_ERR_INVALID);
    assert_msg_has("queries is NULL");
    ck_assert_int_eq(ae_index_search(idx, q, 1, 1, NULL, dist), AE_ERR_INVALID);
    assert_msg_has("indices is NULL");
    ck_assert_int_eq(ae_index_search(idx, q, 0, 1, res, dist), AE_ERR_INVALID);
    assert_msg_has("count is 0");
    ck_assert_int_eq(ae_index_search(idx, q, 1, 0, res, dist), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_search(idx, q, 1, 4, res, dist), AE_ERR_INVALID);
    assert_msg_has("k is 4; expected 1 to the index's 3 vectors");
    ck_assert_int_eq(ae_index_search(idx, q, SIZE_MAX / 2, 3, res, dist), AE_ERR_LIMIT);
    q[3] = NAN;
    ck_assert_int_eq(ae_index_search(idx, q, 2, 3, res, dist), AE_ERR_INVALID);
    assert_msg_has("query value 1 of vector 1 is not finite");
    for (int i = 0; i < 6; i++) {
        ck_assert_uint_eq(res[i], 77);
        ck_assert_float_eq(dist[i], -1.0f);
    }
    ae_index_destroy(idx);
}
END_TEST

START_TEST(getters_reject_bad_arguments)
{
    const float x[6] = {1, 2, 3, 4, 5, 6};
    ae_index *idx;
    ck_assert_int_eq(ae_index_create(&idx, x, 3, 2, NULL), AE_OK);
    float out[6];
    ck_assert_int_eq(ae_index_get_vectors(NULL, 0, 1, out), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_get_vectors(idx, 0, 1, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_get_vectors(idx, 0, 0, out), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_get_vectors(idx, 2, 2, out), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_get_vectors(idx, SIZE_MAX, 2, out), AE_ERR_INVALID);
    ae_index_options o = AE_INDEX_OPTIONS_INIT;
    ck_assert_int_eq(ae_index_get_options(NULL, &o), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_get_options(idx, NULL), AE_ERR_INVALID);
    o.struct_size = 3;
    ck_assert_int_eq(ae_index_get_options(idx, &o), AE_ERR_INVALID);
    ae_index_destroy(idx);
}
END_TEST

START_TEST(allocation_failures_leak_nothing)
{
    enum { N = 200, D = 4 };
    float *x = random_vectors(N, D, 71), *q = random_vectors(300, D, 72);
    int ok = 0;
    for (size_t fail_at = 1; fail_at < 50 && !ok; fail_at++) {
        failing_allocator fa;
        failing_allocator_install(&fa, fail_at);
        ae_index *idx = NULL;
        size_t res[300 * 2];
        int rc = ae_index_create(&idx, x, N, D, NULL);
        if (rc == AE_OK) {
            rc = ae_index_search(idx, q, 300, 2, res, NULL);
            ok = rc == AE_OK;
            ae_index_destroy(idx);
        }
        if (!ok)
            ck_assert_int_eq(rc, AE_ERR_NOMEM);
        ck_assert_uint_eq(ae_live_allocations(), 0);
        failing_allocator_remove();
    }
    ck_assert(ok);
    free(x);
    free(q);
}
END_TEST

Suite *ae_search_suite(void)
{
    Suite *s = suite_create("search");
    TCase *tc = tcase_create("search");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, euclidean_search_finds_the_k_nearest);
    tcase_add_test(tc, cosine_search_finds_the_k_nearest);
    tcase_add_test(tc, reversed_order_exercises_every_heap_replacement);
    tcase_add_test(tc, ties_keep_the_lower_index_first);
    tcase_add_test(tc, k_equal_to_the_count_sorts_everything);
    tcase_add_test(tc, cosine_ignores_length_and_zero_vectors_are_at_distance_one);
    tcase_add_test(tc, a_batch_gives_the_results_of_single_queries);
    tcase_add_test(tc, results_do_not_depend_on_the_thread_setting);
    tcase_add_test(tc, several_threads_search_one_index_at_once);
    tcase_add_test(tc, getters_give_back_what_was_indexed);
    tcase_add_test(tc, an_index_of_a_dataset_equals_one_of_its_floats);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, create_rejects_bad_arguments);
    tcase_add_test(tc, create_dataset_rejects_bad_options_and_values);
    tcase_add_test(tc, search_rejects_bad_arguments_and_leaves_outputs_alone);
    tcase_add_test(tc, getters_reject_bad_arguments);
    tcase_add_test(tc, allocation_failures_leak_nothing);
    suite_add_tcase(s, tc);
    return s;
}
