/* SPDX-License-Identifier: MIT */
/*
 * search_ivf.c - where an approximate index would take over from the
 * exact one (ae_index): a measurement, not a library feature.
 *
 * Database: 64-number codes of Fashion-MNIST images (PCA-64 of the pixels,
 * fitted on the 60000 training images; their nearest-neighbour structure is
 * that of the AE latents: precision@10 0.808 against 0.812,
 * docs/examples/search.md). Sizes past 60000 are made by repeating the
 * training codes with Gaussian jitter (5 % of each component's standard
 * deviation), so the clusters keep their shape. Queries: the codes of the
 * first 1000 test images, k = 10, one thread.
 *
 * Exact: ae_index_search(). Approximate: an IVF prototype written here on
 * top of libae: a coarse quantizer of nlist = 4 sqrt(N) centroids found by
 * 8 rounds of k-means in the space of the first 16 principal components of
 * the codes (ae_pca; each assignment round is an ae_index search with
 * k = 1), inverted lists holding the full 64-number codes contiguously,
 * and a batched search: the queries' nprobe nearest centroids (an
 * ae_index search), then, list by list, one cblas_sgemm of the queries
 * probing that list against its codes, and a top-10 per query. For each
 * size the table gives the smallest nprobe (1, 2, 4, ...) whose recall@10
 * against the exact results is at least 0.95, and its time per query
 * in a batch of 1000 and one query per call (the first 100 queries). All
 * times are CPU time, the best of 3 runs after a warm-up, so a busy
 * machine disturbs them less.
 *
 *   make bench-search            # or: build/bench/search_ivf [DATA_DIR]
 *
 * Prints a markdown table on stdout (progress on stderr).
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ae.h>

#define D 64u       /* code length */
#define P 16u       /* PCA components of the coarse quantizer */
#define K 10u       /* neighbours */
#define NQ 1000u    /* queries */
#define ROUNDS 8    /* k-means rounds */
#define TARGET 0.95 /* recall@10 asked of the IVF */
#define REPEATS 3   /* timings: the best of */

/* CPU seconds of the process: everything runs on one thread, and CPU time
 * is what a busy machine disturbs least (wall time on an idle one). */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "search_ivf: %s: %s: %s\n", what, ae_strerror(rc), ae_last_error());
    exit(1);
}

#define CHECK(call)                  \
    do {                             \
        int rc_ = (call);            \
        if (rc_ < 0)                 \
            die(#call, rc_);         \
    } while (0)

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "search_ivf: out of memory\n");
        exit(1);
    }
    return p;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return ((double)((z ^ (z >> 31)) >> 11) + 0.5) / 9007199254740992.0;
}
static double gaussian(void) { return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform()); }

/* ---- the IVF prototype -------------------------------------------------- */

typedef struct ivf {
    size_t n, nlist;
    ae_pca *pca;         /* codes -> P components */
    ae_index *coarse;    /* nlist centroids in PCA space */
    size_t *start;       /* nlist + 1 offsets into ids/codes */
    uint32_t *ids;       /* database index of each listed code */
    float *codes;        /* n x D, list by list */
    float *norms;        /* n squared norms, same order */
} ivf;

static void ivf_build(ivf *v, const float *x, size_t n, size_t nlist)
{
    v->n = n;
    v->nlist = nlist;
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = P;
    CHECK(ae_pca_create(&v->pca, &po));
    CHECK(ae_pca_fit(v->pca, x, n, D));
    float *p = xmalloc(n * P * sizeof *p), *cent = xmalloc(nlist * P * sizeof *cent);
    CHECK(ae_pca_transform(v->pca, x, n, p));
    for (size_t c = 0; c < nlist; c++) /* seeded distinct-ish samples */
        memcpy(cent + c * P, p + (size_t)(uniform() * (double)n) * P, P * sizeof *cent);
    size_t *assign = xmalloc(n * sizeof *assign), *count = xmalloc(nlist * sizeof *count);
    double *sum = xmalloc(nlist * P * sizeof *sum);
    for (int r = 0; r < ROUNDS; r++) {
        ae_index *ci;
        CHECK(ae_index_create(&ci, cent, nlist, P, NULL));
        CHECK(ae_index_search(ci, p, n, 1, assign, NULL));
        ae_index_destroy(ci);
        memset(count, 0, nlist * sizeof *count);
        memset(sum, 0, nlist * P * sizeof *sum);
        for (size_t i = 0; i < n; i++) {
            count[assign[i]]++;
            for (size_t j = 0; j < P; j++)
                sum[assign[i] * P + j] += p[i * P + j];
        }
        for (size_t c = 0; c < nlist; c++)
            if (count[c] > 0) /* an empty list keeps its centroid */
                for (size_t j = 0; j < P; j++)
                    cent[c * P + j] = (float)(sum[c * P + j] / (double)count[c]);
    }
    CHECK(ae_index_create(&v->coarse, cent, nlist, P, NULL));
    CHECK(ae_index_search(v->coarse, p, n, 1, assign, NULL));
    v->start = xmalloc((nlist + 1) * sizeof *v->start);
    memset(count, 0, nlist * sizeof *count);
    for (size_t i = 0; i < n; i++)
        count[assign[i]]++;
    v->start[0] = 0;
    for (size_t c = 0; c < nlist; c++)
        v->start[c + 1] = v->start[c] + count[c];
    v->ids = xmalloc(n * sizeof *v->ids);
    v->codes = xmalloc(n * D * sizeof *v->codes);
    v->norms = xmalloc(n * sizeof *v->norms);
    memset(count, 0, nlist * sizeof *count);
    for (size_t i = 0; i < n; i++) {
        size_t at = v->start[assign[i]] + count[assign[i]]++;
        v->ids[at] = (uint32_t)i;
        memcpy(v->codes + at * D, x + i * D, D * sizeof(float));
        double s = 0.0;
        for (size_t j = 0; j < D; j++)
            s += (double)x[i * D + j] * x[i * D + j];
        v->norms[at] = (float)s;
    }
    free(p);
    free(cent);
    free(assign);
    free(count);
    free(sum);
}

static void ivf_free(ivf *v)
{
    ae_pca_destroy(v->pca);
    ae_index_destroy(v->coarse);
    free(v->start);
    free(v->ids);
    free(v->codes);
    free(v->norms);
}

/* The K best of nq queries (ids), probing nprobe lists each. */
static void ivf_search(const ivf *v, const float *q, size_t nq, size_t nprobe, uint32_t *out)
{
    float *pq = xmalloc(nq * P * sizeof *pq);
    size_t *probe = xmalloc(nq * nprobe * sizeof *probe);
    CHECK(ae_pca_transform(v->pca, q, nq, pq));
    CHECK(ae_index_search(v->coarse, pq, nq, nprobe, probe, NULL));
    /* queries per list */
    size_t *qstart = xmalloc((v->nlist + 1) * sizeof *qstart), *fill = xmalloc(v->nlist * sizeof *fill);
    size_t *qlist = xmalloc(nq * nprobe * sizeof *qlist);
    memset(fill, 0, v->nlist * sizeof *fill);
    for (size_t i = 0; i < nq * nprobe; i++)
        fill[probe[i]]++;
    qstart[0] = 0;
    for (size_t c = 0; c < v->nlist; c++)
        qstart[c + 1] = qstart[c] + fill[c];
    memset(fill, 0, v->nlist * sizeof *fill);
    for (size_t i = 0; i < nq * nprobe; i++)
        qlist[qstart[probe[i]] + fill[probe[i]]++] = i / nprobe;
    /* top-K per query: scores and ids, unsorted, with the worst tracked */
    float *best = xmalloc(nq * K * sizeof *best);
    for (size_t i = 0; i < nq * K; i++)
        best[i] = INFINITY;
    memset(out, 0, nq * K * sizeof *out);
    size_t max_q = 0, max_len = 0;
    for (size_t c = 0; c < v->nlist; c++) {
        max_q = qstart[c + 1] - qstart[c] > max_q ? qstart[c + 1] - qstart[c] : max_q;
        max_len = v->start[c + 1] - v->start[c] > max_len ? v->start[c + 1] - v->start[c] : max_len;
    }
    float *qs = xmalloc(max_q * D * sizeof *qs), *prod = xmalloc(max_q * max_len * sizeof *prod);
    for (size_t c = 0; c < v->nlist; c++) {
        size_t m = qstart[c + 1] - qstart[c], len = v->start[c + 1] - v->start[c];
        if (m == 0 || len == 0)
            continue;
        for (size_t i = 0; i < m; i++)
            memcpy(qs + i * D, q + qlist[qstart[c] + i] * D, D * sizeof *qs);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)len, D, -2.0f, qs, D,
                    v->codes + v->start[c] * D, D, 0.0f, prod, (int)len);
        for (size_t i = 0; i < m; i++) {
            size_t qi = qlist[qstart[c] + i];
            float *b = best + qi * K;
            uint32_t *o = out + qi * K;
            size_t worst = 0;
            for (size_t r = 1; r < K; r++)
                worst = b[r] > b[worst] ? r : worst;
            const float *row = prod + i * len, *nrm = v->norms + v->start[c];
            for (size_t j = 0; j < len; j++) {
                float s = nrm[j] + row[j];
                if (s < b[worst]) {
                    b[worst] = s;
                    o[worst] = v->ids[v->start[c] + j];
                    for (size_t r = 0; r < K; r++)
                        worst = b[r] > b[worst] ? r : worst;
                }
            }
        }
    }
    free(pq);
    free(probe);
    free(qstart);
    free(fill);
    free(qlist);
    free(best);
    free(qs);
    free(prod);
}

/* CPU microseconds per query when the first ONE_BY_ONE queries come one
 * call at a time (best of REPEATS), for the exact index or the IVF. */
#define ONE_BY_ONE 100u
static double exact_single_us(const ae_index *idx, const float *q)
{
    size_t nn[K];
    double best = INFINITY;
    for (int r = 0; r < REPEATS; r++) {
        double t0 = now();
        for (size_t i = 0; i < ONE_BY_ONE; i++)
            CHECK(ae_index_search(idx, q + i * D, 1, K, nn, NULL));
        best = fmin(best, (now() - t0) / ONE_BY_ONE * 1e6);
    }
    return best;
}

static double ivf_single_us(const ivf *v, const float *q, size_t nprobe)
{
    uint32_t nn[K];
    double best = INFINITY;
    for (int r = 0; r < REPEATS; r++) {
        double t0 = now();
        for (size_t i = 0; i < ONE_BY_ONE; i++)
            ivf_search(v, q + i * D, 1, nprobe, nn);
        best = fmin(best, (now() - t0) / ONE_BY_ONE * 1e6);
    }
    return best;
}

/* Share of the exact K neighbours the approximate ones found. */
static double recall(const size_t *exact, const uint32_t *approx, size_t nq)
{
    size_t hit = 0;
    for (size_t i = 0; i < nq; i++)
        for (size_t a = 0; a < K; a++)
            for (size_t b = 0; b < K; b++)
                hit += exact[i * K + a] == approx[i * K + b];
    return (double)hit / (double)(nq * K);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    char tr[1024], te[1024];
    snprintf(tr, sizeof tr, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(te, sizeof te, "%s/t10k-images-idx3-ubyte.gz", dir);
    CHECK(ae_set_num_threads(1));
    ae_dataset *train, *test;
    CHECK(ae_dataset_load_idx(&train, tr, NULL, 0));
    CHECK(ae_dataset_load_idx(&test, te, NULL, 0));
    const size_t n0 = ae_dataset_count(train), px = ae_dataset_sample_size(train);
    float *x = xmalloc(n0 * px * sizeof *x), *xq = xmalloc(NQ * px * sizeof *xq);
    CHECK(ae_dataset_get_batch(train, 0, n0, x, NULL));
    CHECK(ae_dataset_get_batch(test, 0, NQ, xq, NULL));
    ae_pca *pca;
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = D;
    CHECK(ae_pca_create(&pca, &po));
    CHECK(ae_pca_fit(pca, x, n0, px));
    float *codes = xmalloc(n0 * D * sizeof *codes), *q = xmalloc(NQ * D * sizeof *q);
    CHECK(ae_pca_transform(pca, x, n0, codes));
    CHECK(ae_pca_transform(pca, xq, NQ, q));
    double sd[D];
    for (size_t j = 0; j < D; j++) {
        double s = 0.0, s2 = 0.0;
        for (size_t i = 0; i < n0; i++) {
            s += codes[i * D + j];
            s2 += (double)codes[i * D + j] * codes[i * D + j];
        }
        sd[j] = sqrt(s2 / (double)n0 - (s / (double)n0) * (s / (double)n0));
    }
    free(x);
    free(xq);

    static const size_t sizes[] = {250,   500,   1000,   2000,   4000,  7500,
                                   15000, 30000, 60000, 120000, 240000, 480000};
    printf("| vectors N | exact us/query | IVF lists | nprobe | recall@10 | IVF us/query | "
           "IVF / exact | IVF build s | exact, 1 at a time | IVF, 1 at a time | IVF / exact |\n"
           "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t n = sizes[s];
        float *db = xmalloc(n * D * sizeof *db);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < D; j++)
                db[i * D + j] = codes[(i % n0) * D + j] +
                                (i < n0 ? 0.0f : (float)(0.05 * sd[j] * gaussian()));
        ae_index *idx;
        CHECK(ae_index_create(&idx, db, n, D, NULL));
        size_t *exact = xmalloc(NQ * K * sizeof *exact);
        CHECK(ae_index_search(idx, q, NQ, K, exact, NULL)); /* warm-up */
        double exact_us = INFINITY, t0;
        for (int r = 0; r < REPEATS; r++) {
            t0 = now();
            CHECK(ae_index_search(idx, q, NQ, K, exact, NULL));
            exact_us = fmin(exact_us, (now() - t0) / NQ * 1e6);
        }
        double exact1_us = exact_single_us(idx, q);
        ae_index_destroy(idx);

        ivf v;
        size_t nlist = (size_t)(4.0 * sqrt((double)n) + 0.5);
        t0 = now();
        ivf_build(&v, db, n, nlist);
        double build_s = now() - t0;
        uint32_t *approx = xmalloc(NQ * K * sizeof *approx);
        size_t nprobe = 1;
        double rec = 0.0, ivf_us = 0.0;
        for (; nprobe <= nlist; nprobe *= 2) {
            ivf_search(&v, q, NQ, nprobe, approx); /* warm-up */
            ivf_us = INFINITY;
            for (int r = 0; r < REPEATS; r++) {
                t0 = now();
                ivf_search(&v, q, NQ, nprobe, approx);
                ivf_us = fmin(ivf_us, (now() - t0) / NQ * 1e6);
            }
            rec = recall(exact, approx, NQ);
            fprintf(stderr, "N %zu: exact %.1f us; IVF nlist %zu nprobe %zu recall %.3f %.1f us\n",
                    n, exact_us, nlist, nprobe, rec, ivf_us);
            if (rec >= TARGET)
                break;
        }
        double ivf1_us = ivf_single_us(&v, q, nprobe);
        printf("| %zu | %.1f | %zu | %zu | %.3f | %.1f | %.2f | %.2f | %.1f | %.1f | %.2f |\n", n,
               exact_us, nlist, nprobe, rec, ivf_us, ivf_us / exact_us, build_s, exact1_us,
               ivf1_us, ivf1_us / exact1_us);
        fflush(stdout);
        ivf_free(&v);
        free(approx);
        free(exact);
        free(db);
    }
    free(codes);
    free(q);
    ae_pca_destroy(pca);
    ae_dataset_destroy(train);
    ae_dataset_destroy(test);
    return 0;
}
