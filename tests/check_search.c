/* SPDX-License-Identifier: MIT */
/* check_search.c - the nearest-neighbour index (ae/search.h): results
 * against a double-precision brute force (Euclidean and cosine, across
 * tiles and query blocks), ties, k = count, batches against single queries,
 * the thread setting, concurrent searches, the getters, and every error
 * path (NULL, zero sizes, limits, non-finite values, options, versions,
 * allocation failures); the KNNI section of model files: round trips, the
 * format minor, what a reader without KNNI does, and hostile payloads. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ae.h"
#include "io/io.h"
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
    ck_assert_int_eq(ae_index_search(idx, q, SIZE_MAX / 2, 3, res, dist), AE_ERR_INVALID);
    assert_msg_has("overflow any buffer");
    ck_assert_int_eq(ae_index_search(idx, q, SIZE_MAX / 32, 3, res, dist), AE_ERR_INVALID);
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
    for (size_t fail_at = 1; fail_at < 200 && !ok; fail_at++) {
        failing_allocator fa;
        failing_allocator_install(&fa, fail_at);
        ae_index *idx = NULL, *from_ds = NULL;
        ae_dataset *ds = NULL;
        const ae_shape sh = {1, {D}};
        size_t res[300 * 2];
        void *saved = NULL;
        size_t bytes;
        ae_encoder *enc = NULL;
        int rc = ae_index_create(&idx, x, N, D, NULL);
        if (rc == AE_OK)
            rc = ae_index_search(idx, q, 300, 2, res, NULL);
        if (rc == AE_OK)
            rc = ae_dataset_from_memory(&ds, x, NULL, N, &sh, 0);
        if (rc == AE_OK)
            rc = ae_index_create_dataset(&from_ds, ds, NULL);
        if (rc == AE_OK && (rc = ae_encoder_create(&enc, &sh, 1)) == AE_OK &&
            (rc = ae_encoder_add_dense(enc, 2, AE_ACT_RELU)) == AE_OK) {
            ae_save_options so = AE_SAVE_OPTIONS_INIT;
            so.index = idx;
            rc = ae_encoder_save_memory(enc, &saved, &bytes, &so);
        }
        ok = rc == AE_OK;
        ae_buffer_free(saved);
        ae_encoder_destroy(enc);
        ae_index_destroy(from_ds);
        ae_dataset_destroy(ds);
        ae_index_destroy(idx);
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

/* ---- the KNNI section ---------------------------------------------------------- */

/* A one-layer encoder 6 -> 3 and an index of 40 random 6-float vectors
 * (both malloc'ed / created; the caller frees). */
static void make_encoder_and_index(ae_encoder **enc, ae_index **idx, float **x, int metric)
{
    const ae_shape in = {1, {6}};
    ck_assert_int_eq(ae_encoder_create(enc, &in, 3), AE_OK);
    ck_assert_int_eq(ae_encoder_add_dense(*enc, 3, AE_ACT_RELU), AE_OK);
    *x = random_vectors(40, 6, 81);
    ae_index_options o = AE_INDEX_OPTIONS_INIT;
    o.metric = metric;
    ck_assert_int_eq(ae_index_create(idx, *x, 40, 6, &o), AE_OK);
}

/* Saves enc with idx into memory; returns the bytes (ae_buffer_free). */
static unsigned char *save_with_index(const ae_encoder *enc, const ae_index *idx, size_t *size)
{
    void *data;
    ae_save_options so = AE_SAVE_OPTIONS_INIT;
    so.index = idx;
    ck_assert_int_eq(ae_encoder_save_memory(enc, &data, size, &so), AE_OK);
    return data;
}

/* Where the KNNI section's header starts, or 0. */
static size_t knni_offset(const unsigned char *b, size_t size)
{
    ae_file *f;
    ck_assert_int_eq(ae_file_open_memory(&f, b, size, NULL), AE_OK);
    ae_file_info info = AE_FILE_INFO_INIT;
    ck_assert_int_eq(ae_file_get_info(f, &info), AE_OK);
    size_t at = 0;
    for (size_t i = 0; i < info.sections; i++) {
        ae_file_section sec = AE_FILE_SECTION_INIT;
        ck_assert_int_eq(ae_file_get_section(f, i, &sec), AE_OK);
        if (strcmp(sec.type, "KNNI") == 0)
            at = (size_t)sec.offset;
    }
    ae_file_close(f);
    return at;
}

/* Recomputes the CRC of the section whose header is at @p at. */
static void reseal(unsigned char *b, size_t at)
{
    uint64_t n = ae__rd64(b + at + 8);
    uint32_t c = ae__crc32(0, b + at + 64, (size_t)n);
    ae__le32(b + at + 60, ae__crc32(c, b + at, 60));
}

START_TEST(an_index_saved_with_the_encoder_loads_back_bit_for_bit)
{
    for (int metric = 0; metric < 2; metric++) {
        ae_encoder *enc;
        ae_index *idx, *back;
        float *x;
        make_encoder_and_index(&enc, &idx, &x, metric);
        size_t size;
        unsigned char *b = save_with_index(enc, idx, &size);
        ae_file *f;
        ck_assert_int_eq(ae_file_open_memory(&f, b, size, NULL), AE_OK);
        ae_file_info info = AE_FILE_INFO_INIT;
        ck_assert_int_eq(ae_file_get_info(f, &info), AE_OK);
        ck_assert_int_eq(info.has_index, 1);
        ck_assert_int_eq(info.kind, AE_FILE_ENCODER);
        ck_assert_uint_eq(info.format_minor, 1); /* a 1.1 feature */
        ck_assert_int_eq(ae_file_load_index(&back, f), AE_OK);
        ae_encoder *enc2;
        ck_assert_int_eq(ae_file_load_encoder(&enc2, f), AE_OK);
        ae_file_close(f);
        ck_assert_uint_eq(ae_index_count(back), 40);
        ck_assert_uint_eq(ae_index_dim(back), 6);
        ae_index_options o = AE_INDEX_OPTIONS_INIT;
        ck_assert_int_eq(ae_index_get_options(back, &o), AE_OK);
        ck_assert_int_eq(o.metric, metric);
        float v[40 * 6];
        ck_assert_int_eq(ae_index_get_vectors(back, 0, 40, v), AE_OK);
        ck_assert_mem_eq(v, x, sizeof v);
        size_t r1[5 * 4], r2[5 * 4];
        float d1[5 * 4], d2[5 * 4];
        ck_assert_int_eq(ae_index_search(idx, x + 6, 5, 4, r1, d1), AE_OK);
        ck_assert_int_eq(ae_index_search(back, x + 6, 5, 4, r2, d2), AE_OK);
        ck_assert_mem_eq(r1, r2, sizeof r1);
        ck_assert_mem_eq(d1, d2, sizeof d1);
        /* saving what was loaded gives the same bytes */
        size_t size2;
        unsigned char *b2 = save_with_index(enc2, back, &size2);
        ck_assert_uint_eq(size2, size);
        ck_assert_mem_eq(b2, b, size);
        ae_buffer_free(b2);
        ae_buffer_free(b);
        ae_encoder_destroy(enc2);
        ae_encoder_destroy(enc);
        ae_index_destroy(idx);
        ae_index_destroy(back);
        free(x);
    }
}
END_TEST

START_TEST(files_without_an_index_stay_format_1_0)
{
    ae_encoder *enc;
    ae_index *idx, *none = NULL;
    float *x;
    make_encoder_and_index(&enc, &idx, &x, AE_METRIC_EUCLIDEAN);
    /* a 1.0 program's ae_save_options ends before .index: it is not read */
    ae_save_options so = AE_SAVE_OPTIONS_INIT;
    so.struct_size = (uint32_t)offsetof(ae_save_options, index);
    void *data;
    size_t size;
    ck_assert_int_eq(ae_encoder_save_memory(enc, &data, &size, &so), AE_OK);
    ae_file *f;
    ck_assert_int_eq(ae_file_open_memory(&f, data, size, NULL), AE_OK);
    ae_file_info info = AE_FILE_INFO_INIT;
    ck_assert_int_eq(ae_file_get_info(f, &info), AE_OK);
    ck_assert_uint_eq(info.format_minor, 0);
    ck_assert_int_eq(info.has_index, 0);
    ck_assert_int_eq(ae_file_load_index(&none, f), AE_ERR_NOT_FOUND);
    assert_msg_has("holds no index");
    ck_assert_ptr_null(none);
    /* a 1.0 program's ae_file_info ends before has_index: never written */
    unsigned char old[sizeof(ae_file_info) + 8];
    memset(old, 0xab, sizeof old);
    ae_file_info *oi = (ae_file_info *)(void *)old;
    oi->struct_size = (uint32_t)offsetof(ae_file_info, has_index);
    ck_assert_int_eq(ae_file_get_info(f, oi), AE_OK);
    ck_assert_uint_eq(oi->struct_size, offsetof(ae_file_info, has_index));
    ck_assert_uint_eq(old[offsetof(ae_file_info, has_index)], 0xab);
    ae_file_close(f);
    ae_buffer_free(data);
    ae_encoder_destroy(enc);
    ae_index_destroy(idx);
    free(x);
}
END_TEST

START_TEST(a_reader_without_knni_skips_it_and_loads_the_encoder)
{
    /* What a 1.0 reader sees: a may-ignore section of a type it does not
     * know. Renaming KNNI to an unknown type puts this reader in its
     * place: the file opens, the encoder loads, the index is not found. */
    ae_encoder *enc, *back;
    ae_index *idx, *none = NULL;
    float *x;
    make_encoder_and_index(&enc, &idx, &x, AE_METRIC_EUCLIDEAN);
    size_t size;
    unsigned char *b = save_with_index(enc, idx, &size);
    size_t at = knni_offset(b, size);
    ck_assert_uint_gt(at, 0);
    ck_assert_uint_eq(ae__rd32(b + at + 4), 0); /* not REQUIRED */
    b[at + 3] = 'Z';
    reseal(b, at);
    ae_file *f;
    ck_assert_int_eq(ae_file_open_memory(&f, b, size, NULL), AE_OK);
    ck_assert_int_eq(ae_file_load_encoder(&back, f), AE_OK);
    ck_assert_int_eq(ae_file_load_index(&none, f), AE_ERR_NOT_FOUND);
    ae_file_close(f);
    ae_encoder_destroy(back);
    ae_buffer_free(b);
    ae_encoder_destroy(enc);
    ae_index_destroy(idx);
    free(x);
}
END_TEST

/* Opens b after patch() changed the KNNI payload, expecting @p want. */
static void expect_refused(const ae_encoder *enc, const ae_index *idx,
                           void (*patch)(unsigned char *payload), int want, const char *msg)
{
    size_t size;
    unsigned char *b = save_with_index(enc, idx, &size);
    size_t at = knni_offset(b, size);
    patch(b + at + 64);
    reseal(b, at);
    ae_file *f = NULL;
    ck_assert_int_eq(ae_file_open_memory(&f, b, size, NULL), want);
    assert_msg_has(msg);
    ck_assert_ptr_null(f);
    ae_buffer_free(b);
}

static void metric_2(unsigned char *p) { ae__le32(p + 4, 2); }
static void reserved(unsigned char *p) { p[40] = 1; }
static void dim_0(unsigned char *p) { ae__le32(p, 0); }
static void count_0(unsigned char *p) { ae__le64(p + 8, 0); }
static void count_more(unsigned char *p) { ae__le64(p + 8, 41); }
static void count_huge(unsigned char *p) { ae__le64(p + 8, (uint64_t)1 << 40); }
static void dim_huge(unsigned char *p) { ae__le32(p, AE_INDEX_MAX_DIM + 1); }
static void dim_other(unsigned char *p) { ae__le32(p, 4); ae__le64(p + 8, 60); } /* same floats */
static void a_nan(unsigned char *p) { ae__le32(p + 64 + 4 * 77, 0x7fc00000u); }
static void an_inf(unsigned char *p) { ae__le32(p + 64 + 4 * 5, 0xff800000u); }
static void huge_norm(unsigned char *p) { ae__le32(p + 64 + 4 * 8, 0x5fd0f000u); } /* ~3e19 */

START_TEST(hostile_knni_payloads_are_refused)
{
    ae_encoder *enc;
    ae_index *idx;
    float *x;
    make_encoder_and_index(&enc, &idx, &x, AE_METRIC_EUCLIDEAN);
    expect_refused(enc, idx, metric_2, AE_ERR_FORMAT, "unknown metric 2");
    expect_refused(enc, idx, reserved, AE_ERR_FORMAT, "reserved byte 40");
    expect_refused(enc, idx, dim_0, AE_ERR_FORMAT, "40 vectors of 0 floats");
    expect_refused(enc, idx, count_0, AE_ERR_FORMAT, "0 vectors of 6 floats");
    expect_refused(enc, idx, count_more, AE_ERR_FORMAT, "41 vectors of 6 floats need 1048");
    expect_refused(enc, idx, count_huge, AE_ERR_LIMIT, "past the limits");
    expect_refused(enc, idx, dim_huge, AE_ERR_LIMIT, "past the limits");
    expect_refused(enc, idx, a_nan, AE_ERR_FORMAT, "value 5 of vector 12 is NaN");
    expect_refused(enc, idx, an_inf, AE_ERR_FORMAT, "value 5 of vector 0 is infinite");
    expect_refused(enc, idx, huge_norm, AE_ERR_FORMAT, "vector 1 has a squared norm");
    /* consistent sizes another way round are a valid index of 60 x 4 */
    size_t size;
    unsigned char *b = save_with_index(enc, idx, &size);
    size_t at = knni_offset(b, size);
    dim_other(b + at + 64);
    reseal(b, at);
    ae_index *back;
    ck_assert_int_eq(ae_index_load_v(&back, NULL, AE_VERSION_NUMBER), AE_ERR_INVALID);
    ae_file *f;
    ck_assert_int_eq(ae_file_open_memory(&f, b, size, NULL), AE_OK);
    ck_assert_int_eq(ae_file_load_index(&back, f), AE_OK);
    ck_assert_uint_eq(ae_index_dim(back), 4);
    ck_assert_uint_eq(ae_index_count(back), 60);
    ae_index_destroy(back);
    ae_file_close(f);
    ae_buffer_free(b);
    ae_encoder_destroy(enc);
    ae_index_destroy(idx);
    free(x);
}
END_TEST

START_TEST(an_index_alone_saves_and_loads_through_a_path)
{
    ae_encoder *enc;
    ae_index *idx, *back = NULL;
    float *x;
    make_encoder_and_index(&enc, &idx, &x, AE_METRIC_COSINE);
    char path[512], missing[512], plain[512];
    snprintf(path, sizeof path, "%s/index.aem", test_tmpdir());
    snprintf(missing, sizeof missing, "%s/no/such/dir/index.aem", test_tmpdir());
    snprintf(plain, sizeof plain, "%s/plain.aem", test_tmpdir());
    ck_assert_int_eq(ae_index_save(idx, path), AE_OK);
    ck_assert_int_eq(ae_index_load(&back, path), AE_OK);
    float v[40 * 6];
    ck_assert_int_eq(ae_index_get_vectors(back, 0, 40, v), AE_OK);
    ck_assert_mem_eq(v, x, sizeof v);
    ae_index_destroy(back);
    ae_file *f;
    ck_assert_int_eq(ae_file_open(&f, path, NULL), AE_OK);
    ae_file_info info = AE_FILE_INFO_INIT;
    ck_assert_int_eq(ae_file_get_info(f, &info), AE_OK);
    ck_assert_int_eq(info.kind, AE_FILE_NONE);
    ae_file_close(f);
    /* errors */
    back = NULL;
    ck_assert_int_eq(ae_index_save(NULL, path), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_save(idx, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_save(idx, missing), AE_ERR_IO);
    ck_assert_int_eq(ae_index_load(NULL, path), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_load(&back, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_index_load(&back, missing), AE_ERR_IO);
    ck_assert_int_eq(ae_index_load_v(&back, path, 20000), AE_ERR_VERSION);
    ck_assert_int_eq(ae_encoder_save(enc, plain, NULL), AE_OK);
    ck_assert_int_eq(ae_index_load(&back, plain), AE_ERR_NOT_FOUND);
    ck_assert_ptr_null(back);
    ck_assert_int_eq(ae_file_load_index(&back, NULL), AE_ERR_INVALID);
    ck_assert_int_eq(ae_file_open(&f, plain, NULL), AE_OK);
    ck_assert_int_eq(ae_file_load_index(NULL, f), AE_ERR_INVALID);
    ae_file_close(f);
    ae_encoder_destroy(enc);
    ae_index_destroy(idx);
    free(x);
}
END_TEST

START_TEST(loading_an_index_under_allocation_failures_leaks_nothing)
{
    ae_encoder *enc;
    ae_index *idx;
    float *x;
    make_encoder_and_index(&enc, &idx, &x, AE_METRIC_EUCLIDEAN);
    size_t size;
    unsigned char *b = save_with_index(enc, idx, &size);
    ae_encoder_destroy(enc);
    ae_index_destroy(idx);
    /* the buffer is libae's: copy it so no block is live when the
     * counting allocator is installed */
    unsigned char *copy = malloc(size);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, b, size);
    ae_buffer_free(b);
    int ok = 0;
    for (size_t fail_at = 1; fail_at < 40 && !ok; fail_at++) {
        failing_allocator fa;
        failing_allocator_install(&fa, fail_at);
        ae_file *f;
        int rc = ae_file_open_memory(&f, copy, size, NULL);
        if (rc == AE_OK) {
            rc = ae_file_load_index(&idx, f);
            ok = rc == AE_OK;
            if (ok)
                ae_index_destroy(idx);
            ae_file_close(f);
        }
        if (!ok)
            ck_assert_int_eq(rc, AE_ERR_NOMEM);
        ck_assert_uint_eq(ae_live_allocations(), 0);
        failing_allocator_remove();
    }
    ck_assert(ok);
    free(copy);
    free(x);
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
    tc = tcase_create("file");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, an_index_saved_with_the_encoder_loads_back_bit_for_bit);
    tcase_add_test(tc, files_without_an_index_stay_format_1_0);
    tcase_add_test(tc, a_reader_without_knni_skips_it_and_loads_the_encoder);
    tcase_add_test(tc, hostile_knni_payloads_are_refused);
    tcase_add_test(tc, an_index_alone_saves_and_loads_through_a_path);
    tcase_add_test(tc, loading_an_index_under_allocation_failures_leaks_nothing);
    suite_add_tcase(s, tc);
    return s;
}
