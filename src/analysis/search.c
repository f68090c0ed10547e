/* SPDX-License-Identifier: MIT */
/*
 * search.c - the exact nearest-neighbour index of ae/search.h.
 *
 * The index keeps the vectors as given and one number per vector: its
 * squared norm (Euclidean) or its inverse norm (cosine, 0 for a zero
 * vector). A search takes the queries in blocks of up to QUERY_BLOCK and
 * the stored vectors in tiles of TILE; one sgemm per (block, tile) gives
 * c = -alpha q.x for the whole tile, and each query's row is scanned into
 * a bounded max-heap of its k best so far:
 *   Euclidean  score = ||x||^2 - 2 q.x   (||q - x||^2 minus ||q||^2)
 *   cosine     score = -q.x / ||x||      (-(cos) times ||q||)
 * Both rank a query's candidates exactly as the distance does, so the
 * per-query constant is added only to the k results at the end. The scan
 * checks 16 scores at a time against the heap's worst with a branch-free
 * loop (vectorized); only chunks holding a better score take the heap path,
 * which after the first tile is rare. Blocks go to the calling thread and
 * up to ae_get_num_threads() - 1 helpers; every product runs on one BLAS
 * thread and the block boundaries do not depend on the workers, so the
 * results do not depend on the thread setting.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "ae/search.h"
#include "analysis/index.h"
#include "core/core.h"

#define QUERY_BLOCK 128u  /* queries per matrix product */
#define TILE 4096u        /* stored vectors per matrix product */
#define SCAN_CHUNK 16u    /* scores checked at once against the worst */
#define HEAP_BUDGET (1u << 20) /* heap entries per worker (block * k) */
#define MAX_WORKERS 64

struct ae_index {
    size_t n, d;
    ae_index_options opts;
    float *x;   /* n * d, row-major */
    float *aux; /* n: ||x||^2 (Euclidean) or 1 / ||x|| (cosine, 0 for 0) */
};

/* One heap entry: a score and the vector's index. */
typedef struct cand {
    float s;
    uint32_t i;
} cand;

/* ---- building ------------------------------------------------------------ */

/* The squared norm of v (dim floats) in double, or -1 when a value is not
 * finite (its position in *bad). */
static double norm2(const float *v, size_t dim, size_t *bad)
{
    double s = 0.0;
    for (size_t j = 0; j < dim; j++) {
        if (!isfinite(v[j])) {
            *bad = j;
            return -1.0;
        }
        s += (double)v[j] * (double)v[j];
    }
    return s;
}

/* Checks count vectors: finite values, squared norms representable as
 * floats. Fills aux (when not NULL) with what the metric keeps. */
static int check_vectors(const float *x, size_t count, size_t dim, int metric, float *aux,
                         const char *what, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        size_t bad = 0;
        double s = norm2(x + i * dim, dim, &bad);
        if (s < 0.0)
            return ae__error(AE_ERR_INVALID, "%s: %s value %zu of vector %zu is not finite (%g)",
                             what, name, bad, i, (double)x[i * dim + bad]);
        if (s > 3.0e38)
            return ae__error(AE_ERR_INVALID, "%s: %s vector %zu has a squared norm of %g, past "
                             "what single precision holds", what, name, i, s);
        if (aux != NULL)
            aux[i] = metric == AE_METRIC_COSINE ? (s > 0.0 ? (float)(1.0 / sqrt(s)) : 0.0f)
                                                : (float)s;
    }
    return AE_OK;
}

static int check_sizes(size_t count, size_t dim, const char *what)
{
    if (count == 0 || dim == 0)
        return ae__error(AE_ERR_INVALID, "%s: %s is 0", what, count == 0 ? "count" : "dim");
    if (count > AE_INDEX_MAX_COUNT || dim > AE_INDEX_MAX_DIM)
        return ae__error(AE_ERR_LIMIT, "%s: %zu vectors of %zu floats; an index holds at most "
                         "%u vectors of at most %u floats", what, count, dim, AE_INDEX_MAX_COUNT,
                         AE_INDEX_MAX_DIM);
    return AE_OK;
}

/* A new index with room for count * dim floats, or NULL (NOMEM set). */
static ae_index *index_alloc(size_t count, size_t dim, const ae_index_options *o,
                             const char *what)
{
    size_t floats;
    if (!ae__mul_size(count, dim, &floats) || floats > SIZE_MAX / sizeof(float)) {
        ae__error(AE_ERR_NOMEM, "%s: %zu x %zu floats overflow the address space", what, count,
                  dim);
        return NULL;
    }
    ae_index *idx = ae__calloc(1, sizeof *idx);
    if (idx == NULL)
        return NULL;
    idx->x = ae__alloc(floats * sizeof(float));
    idx->aux = ae__alloc(count * sizeof(float));
    if (idx->x == NULL || idx->aux == NULL) {
        ae_index_destroy(idx);
        return NULL;
    }
    idx->n = count;
    idx->d = dim;
    idx->opts = *o;
    return idx;
}

/* Reads the caller's options into *o (defaults for NULL) and checks them. */
static int take_options(ae_index_options *o, const ae_index_options *opts, const char *what)
{
    static const ae_index_options defaults = AE_INDEX_OPTIONS_INIT;
    *o = defaults;
    int rc;
    if (opts != NULL &&
        (rc = ae__take_struct(o, opts, AE__LAYOUT_END(ae_index_options, metric), sizeof *o,
                              "ae_index_options")) < 0)
        return rc;
    if (o->metric != AE_METRIC_EUCLIDEAN && o->metric != AE_METRIC_COSINE)
        return ae__error(AE_ERR_INVALID, "%s: unknown metric %d (AE_METRIC_EUCLIDEAN 0, "
                         "AE_METRIC_COSINE 1)", what, o->metric);
    return AE_OK;
}

/* Builds from x (NULL: the floats are already in the new index's x). */
static int build(ae_index **out, ae_index *idx, const char *what)
{
    int rc = check_vectors(idx->x, idx->n, idx->d, idx->opts.metric, idx->aux, what, "stored");
    if (rc < 0) {
        ae_index_destroy(idx);
        return rc;
    }
    *out = idx;
    return AE_OK;
}

int ae_index_create_v(ae_index **out, const float *x, size_t count, size_t dim,
                      const ae_index_options *opts, unsigned header_version)
{
    static const char what[] = "ae_index_create";
    ae_index_options o;
    int rc = ae__check_header(header_version, what);
    if (rc < 0)
        return rc;
    if (out == NULL || x == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what, out == NULL ? "out" : "x");
    if ((rc = check_sizes(count, dim, what)) < 0 || (rc = take_options(&o, opts, what)) < 0)
        return rc;
    ae_index *idx = index_alloc(count, dim, &o, what);
    if (idx == NULL)
        return AE_ERR_NOMEM;
    memcpy(idx->x, x, count * dim * sizeof(float));
    return build(out, idx, what);
}

int ae_index_create_dataset_v(ae_index **out, const ae_dataset *ds, const ae_index_options *opts,
                              unsigned header_version)
{
    static const char what[] = "ae_index_create_dataset";
    ae_index_options o;
    int rc = ae__check_header(header_version, what);
    if (rc < 0)
        return rc;
    if (out == NULL || ds == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what, out == NULL ? "out" : "ds");
    size_t count = ae_dataset_count(ds), dim = ae_dataset_sample_size(ds);
    if ((rc = check_sizes(count, dim, what)) < 0 || (rc = take_options(&o, opts, what)) < 0)
        return rc;
    ae_index *idx = index_alloc(count, dim, &o, what);
    if (idx == NULL)
        return AE_ERR_NOMEM;
    if ((rc = ae_dataset_get_batch(ds, 0, count, idx->x, NULL)) < 0) {
        ae_index_destroy(idx);
        return rc;
    }
    return build(out, idx, what);
}

int ae__index_from_le(ae_index **out, const unsigned char *bytes, size_t count, size_t dim,
                      int metric, const char *who)
{
    ae_index_options o = AE_INDEX_OPTIONS_INIT, given = AE_INDEX_OPTIONS_INIT;
    given.metric = metric;
    int rc = check_sizes(count, dim, who);
    if (rc < 0 || (rc = take_options(&o, &given, who)) < 0)
        return rc;
    ae_index *idx = index_alloc(count, dim, &o, who);
    if (idx == NULL)
        return AE_ERR_NOMEM;
    for (size_t i = 0, n = count * dim; i < n; i++) {
        const unsigned char *p = bytes + 4 * i;
        uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        memcpy(&idx->x[i], &v, 4);
    }
    return build(out, idx, who);
}

void ae_index_destroy(ae_index *idx)
{
    if (idx == NULL)
        return;
    ae__free(idx->x);
    ae__free(idx->aux);
    ae__free(idx);
}

size_t ae_index_count(const ae_index *idx) { return idx ? idx->n : 0; }
size_t ae_index_dim(const ae_index *idx) { return idx ? idx->d : 0; }
const float *ae__index_vectors(const ae_index *idx) { return idx->x; }

int ae_index_get_options(const ae_index *idx, ae_index_options *out)
{
    static const char what[] = "ae_index_get_options";
    if (idx == NULL)
        return ae__error(AE_ERR_INVALID, "%s: index is NULL", what);
    return ae__fill_struct(out, &idx->opts, sizeof idx->opts,
                           AE__LAYOUT_END(ae_index_options, metric), what);
}

int ae_index_get_vectors(const ae_index *idx, size_t first, size_t count, float *out)
{
    static const char what[] = "ae_index_get_vectors";
    if (idx == NULL || out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what, idx == NULL ? "index" : "out");
    if (count == 0 || first > idx->n || count > idx->n - first)
        return ae__error(AE_ERR_INVALID, "%s: vectors %zu .. %zu + %zu - 1 asked of an index of "
                         "%zu (count must be >= 1)", what, first, first, count, idx->n);
    memcpy(out, idx->x + first * idx->d, count * idx->d * sizeof(float));
    return AE_OK;
}

/* ---- the bounded heap: the k best (lowest score, then lowest index) ------- */

/* a ranks after b */
static inline int worse(cand a, cand b) { return a.s > b.s || (a.s == b.s && a.i > b.i); }

static void sift_down(cand *h, size_t n, size_t i)
{
    cand v = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && worse(h[c + 1], h[c]))
            c++;
        if (!worse(h[c], v))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
}

/* Offers candidate c to the heap h of *size entries (at most k). */
static inline void offer(cand *h, size_t *size, size_t k, cand c)
{
    if (*size < k) {
        size_t i = (*size)++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (!worse(c, h[p]))
                break;
            h[i] = h[p];
            i = p;
        }
        h[i] = c;
    } else if (worse(h[0], c)) {
        h[0] = c;
        sift_down(h, k, 0);
    }
}

/* Sorts a heap of n entries best first (heapsort: pops the worst to the
 * end). */
static void heap_sort(cand *h, size_t n)
{
    for (size_t m = n; m > 1; m--) {
        cand t = h[0];
        h[0] = h[m - 1];
        h[m - 1] = t;
        sift_down(h, m - 1, 0);
    }
}

/* ---- scanning a row of scores ---------------------------------------------- */

/* Whether any of SCAN_CHUNK scores (a[j] + c[j], or a[j] * c[j]) lies below
 * worst: branch-free, so the compiler vectorizes it. */
AE__VECTOR_CLONES
static int any_below_sum(const float *a, const float *c, float worst)
{
    int any = 0;
    for (unsigned j = 0; j < SCAN_CHUNK; j++)
        any |= a[j] + c[j] < worst;
    return any;
}

AE__VECTOR_CLONES
static int any_below_prod(const float *a, const float *c, float worst)
{
    int any = 0;
    for (unsigned j = 0; j < SCAN_CHUNK; j++)
        any |= a[j] * c[j] < worst;
    return any;
}

/* Offers scores j0 .. j1 - 1 of a row; `first` is the index of score 0. */
static void offer_range(cand *h, size_t *size, size_t k, const float *a, const float *c,
                        size_t j0, size_t j1, int cosine, size_t first)
{
    for (size_t j = j0; j < j1; j++) {
        float s = cosine ? a[j] * c[j] : a[j] + c[j];
        if (*size == k && !(s < h[0].s)) /* the common case; NaN never enters */
            continue;
        if (s != s) /* cannot happen with checked inputs; keeps the heap ordered */
            s = INFINITY;
        offer(h, size, k, (cand){s, (uint32_t)(first + j)});
    }
}

/* Scans one row of n scores (aux a, products c) into the heap. */
static void scan_row(cand *h, size_t *size, size_t k, const float *a, const float *c, size_t n,
                     int cosine, size_t first)
{
    size_t j = 0;
    for (; j + SCAN_CHUNK <= n; j += SCAN_CHUNK) {
        if (*size == k && !(cosine ? any_below_prod(a + j, c + j, h[0].s)
                                   : any_below_sum(a + j, c + j, h[0].s)))
            continue;
        offer_range(h, size, k, a, c, j, j + SCAN_CHUNK, cosine, first);
    }
    offer_range(h, size, k, a, c, j, n, cosine, first);
}

/* ---- searching ----------------------------------------------------------- */

typedef struct search_job {
    const ae_index *idx;
    const float *q;
    size_t count, k, block, workers;
    size_t *indices;
    float *distances;
    unsigned char *scratch;
    size_t per_worker;    /* scratch bytes per worker, 64-byte multiple */
    size_t prod_bytes;    /* the products' part of it */
} search_job;

static void search_blocks(const search_job *j, size_t w)
{
    const ae_index *idx = j->idx;
    const size_t n = idx->n, d = idx->d, k = j->k;
    const int cosine = idx->opts.metric == AE_METRIC_COSINE;
    unsigned char *mine = j->scratch + w * j->per_worker;
    float *prod = (float *)(void *)mine;
    cand *heaps = (cand *)(void *)(mine + j->prod_bytes);
    size_t sizes[QUERY_BLOCK];
    for (size_t q0 = w * j->block; q0 < j->count; q0 += j->workers * j->block) {
        const size_t qb = j->count - q0 < j->block ? j->count - q0 : j->block;
        const float *q = j->q + q0 * d;
        memset(sizes, 0, sizeof sizes);
        for (size_t t0 = 0; t0 < n; t0 += TILE) {
            const size_t tn = n - t0 < TILE ? n - t0 : TILE;
            const float alpha = cosine ? -1.0f : -2.0f;
            if (qb == 1) /* a matrix-vector product: no packing of the tile */
                ae__gemv(0, tn, d, alpha, idx->x + t0 * d, d, q, 0.0f, prod);
            else
                ae__gemm(0, 1, qb, tn, d, alpha, q, d, idx->x + t0 * d, d, 0.0f, prod, tn);
            for (size_t r = 0; r < qb; r++)
                scan_row(heaps + r * k, &sizes[r], k, idx->aux + t0, prod + r * tn, tn, cosine,
                         t0);
        }
        for (size_t r = 0; r < qb; r++) {
            cand *h = heaps + r * k;
            heap_sort(h, k);
            size_t bad = 0;
            double qn2 = norm2(q + r * d, d, &bad);
            size_t *oi = j->indices + (q0 + r) * k;
            for (size_t i = 0; i < k; i++)
                oi[i] = h[i].i;
            if (j->distances == NULL)
                continue;
            float *od = j->distances + (q0 + r) * k;
            double qinv = qn2 > 0.0 ? 1.0 / sqrt(qn2) : 0.0;
            for (size_t i = 0; i < k; i++) {
                double v = cosine ? 1.0 + (double)h[i].s * qinv : (double)h[i].s + qn2;
                if (cosine)
                    v = v < 0.0 ? 0.0 : v > 2.0 ? 2.0 : v;
                else
                    v = v > 0.0 ? sqrt(v) : 0.0;
                od[i] = (float)v;
            }
        }
    }
}

typedef struct search_worker {
    const search_job *job;
    size_t w;
} search_worker;

static void *search_worker_main(void *arg)
{
    search_worker *sw = arg;
    ae__blas_single(1);
    search_blocks(sw->job, sw->w);
    return NULL;
}

int ae_index_search(const ae_index *idx, const float *queries, size_t count, size_t k,
                    size_t *indices, float *distances)
{
    static const char what[] = "ae_index_search";
    if (idx == NULL || queries == NULL || indices == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         idx == NULL ? "index" : queries == NULL ? "queries" : "indices");
    int rc = ae__check_count(count, idx->d, sizeof(float), "count", what);
    if (rc < 0)
        return rc;
    if (k == 0 || k > idx->n)
        return ae__error(AE_ERR_INVALID, "%s: k is %zu; expected 1 to the index's %zu vectors",
                         what, k, idx->n);
    if ((rc = ae__check_count(count, k, sizeof(size_t), "count", what)) < 0 ||
        (rc = check_vectors(queries, count, idx->d, idx->opts.metric, NULL, what, "query")) < 0)
        return rc;

    search_job j;
    memset(&j, 0, sizeof j);
    j.idx = idx;
    j.q = queries;
    j.count = count;
    j.k = k;
    j.indices = indices;
    j.distances = distances;
    size_t block = HEAP_BUDGET / k;
    block = block < 1 ? 1 : block > QUERY_BLOCK ? QUERY_BLOCK : block;
    j.block = count < block ? count : block;
    const size_t tile = idx->n < TILE ? idx->n : TILE;
    const size_t blocks = (count + j.block - 1) / j.block;
    size_t workers = (size_t)ae__threads();
    workers = workers < blocks ? workers : blocks;
    j.workers = workers < MAX_WORKERS ? workers : MAX_WORKERS;
    /* sizes stay small: block <= 128, tile <= 4096, block * k <= max(k, 2^20) */
    j.prod_bytes = (j.block * tile * sizeof(float) + 63) / 64 * 64;
    size_t heap_bytes = j.block * k * sizeof(cand), total;
    if (!ae__add_size(j.prod_bytes, heap_bytes, &j.per_worker) ||
        !ae__add_size(j.per_worker, 63, &j.per_worker) ||
        !ae__mul_size(j.per_worker / 64 * 64, j.workers, &total))
        return ae__error(AE_ERR_LIMIT, "%s: scratch memory size overflows", what);
    j.per_worker = j.per_worker / 64 * 64;
    j.scratch = ae__alloc(total);
    if (j.scratch == NULL)
        return AE_ERR_NOMEM;

    int was_single = ae__blas_single(1);
    if (j.workers == 1) {
        search_blocks(&j, 0);
    } else {
        search_worker sw[MAX_WORKERS];
        pthread_t th[MAX_WORKERS];
        int started[MAX_WORKERS];
        for (size_t w = 1; w < j.workers; w++) {
            sw[w].job = &j;
            sw[w].w = w;
            started[w] = pthread_create(&th[w], NULL, search_worker_main, &sw[w]) == 0;
        }
        search_blocks(&j, 0);
        for (size_t w = 1; w < j.workers; w++) {
            if (started[w])
                pthread_join(th[w], NULL);
            else /* a helper that could not start: its blocks run here */
                search_blocks(&j, w);
        }
    }
    ae__blas_single(was_single);
    ae__free(j.scratch);
    return AE_OK;
}
