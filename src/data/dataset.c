/* SPDX-License-Identifier: MIT */
/*
 * dataset.c - datasets as an immutable shared store plus a view.
 *
 * The store holds the samples (float32, sample-major), the optional labels,
 * the per-sample shape and an atomic reference count. It is either owned
 * (freed with the last view) or borrowed from the caller. A view is what an
 * ae_dataset handle is: the store, plus either an index array (the store
 * positions of the view's samples, in order) or NULL for the identity run
 * first, first + 1, ..., first + count - 1. Subsets, selections, filters and
 * splits make new views of the same store; only ae_dataset_shuffle() changes
 * a view, and it never touches the store.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "core/kernels.h"
#include "data/dataset.h"

typedef struct ds_store {
    atomic_size_t refs;
    const float *data;     /* count * sample_size floats */
    const int32_t *labels; /* count labels, or NULL */
    float *own_data;       /* freed with the store; NULL when borrowed */
    int32_t *own_labels;
    size_t count;
    size_t sample_size;
    ae_shape shape;
    /* Owned stores only (borrowed memory is the caller's): whether every
     * value passes each ae__dataset_check (finite, within [0, 1]), learnt
     * on the first ae__dataset_find() that asks (UNKNOWN until then).
     * Racing writers store the same answer. */
    atomic_int known[AE__DATASET_CHECKS];
} ds_store;

enum { UNKNOWN, ALL_PASS, NOT_ALL };

struct ae_dataset {
    ds_store *store;
    uint32_t *index; /* store positions, or NULL for first + i */
    size_t first;
    size_t count;
};

/* Store positions fit in uint32_t because counts are capped. */
_Static_assert(AE_DATASET_MAX_COUNT <= UINT32_MAX, "index type too small");

/* ---- store and view plumbing ------------------------------------------ */

static void store_release(ds_store *st)
{
    if (st == NULL || atomic_fetch_sub(&st->refs, 1) != 1)
        return;
    ae__free(st->own_data);
    ae__free(st->own_labels);
    ae__free(st);
}

/* Store position of view sample i. */
static inline size_t view_pos(const ae_dataset *ds, size_t i)
{
    return ds->index != NULL ? ds->index[i] : ds->first + i;
}

/* A new view of @p st; takes @p index (may be NULL) only on success. */
static int view_new(ae_dataset **out, ds_store *st, uint32_t *index,
                    size_t first, size_t count)
{
    ae_dataset *ds = ae__alloc(sizeof *ds);
    if (ds == NULL)
        return AE_ERR_NOMEM;
    ds->store = st;
    ds->index = index;
    ds->first = first;
    ds->count = count;
    atomic_fetch_add(&st->refs, 1);
    *out = ds;
    return AE_OK;
}

/* Index array of @p count entries, with its failure message. */
static uint32_t *index_alloc(size_t count)
{
    return ae__calloc(count, sizeof(uint32_t));
}

/* Checks shape and count, gives the number of floats. */
static int check_layout(size_t count, const ae_shape *shape, size_t *total,
                        const char *what)
{
    int rc = ae__check_count(count, 1, sizeof(float), "count", what);
    if (rc < 0)
        return rc;
    if (count > AE_DATASET_MAX_COUNT)
        return ae__error(AE_ERR_LIMIT, "%s: %zu samples, at most %u allowed", what, count,
                         AE_DATASET_MAX_COUNT);
    if (shape == NULL)
        return ae__error(AE_ERR_INVALID, "%s: shape is NULL", what);
    rc = ae__shape_check(shape, what);
    if (rc == AE_ERR_INVALID)
        return AE_ERR_SHAPE; /* a malformed shape; the message is set */
    if (rc < 0)
        return rc;
    /* A count up to AE_DATASET_MAX_COUNT is a real count: too many samples
     * of this shape is a limit (as in 1.0), not a bad argument. */
    size_t n = ae__shape_size(shape), bytes;
    if (!ae__mul_size(count, n, total) || !ae__mul_size(*total, sizeof(float), &bytes) ||
        bytes > (size_t)PTRDIFF_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: %zu samples of %zu floats overflow the address space",
                         what, count, n);
    return AE_OK;
}

/* A store over the given arrays (owned ones are freed with it). */
static int make_dataset(ae_dataset **out, const float *data, const int32_t *labels,
                        float *own_data, int32_t *own_labels, size_t count,
                        const ae_shape *shape)
{
    ae_dataset *ds = NULL;
    ds_store *st = ae__calloc(1, sizeof *st);
    if (st == NULL)
        return AE_ERR_NOMEM;
    atomic_init(&st->refs, 0);
    for (int c = 0; c < AE__DATASET_CHECKS; c++)
        atomic_init(&st->known[c], UNKNOWN);
    st->data = data;
    st->labels = labels;
    st->count = count;
    st->sample_size = ae__shape_size(shape);
    st->shape = *shape;
    int rc = view_new(&ds, st, NULL, 0, count);
    if (rc < 0) {
        ae__free(st);
        return rc;
    }
    st->own_data = own_data;
    st->own_labels = own_labels;
    *out = ds;
    return AE_OK;
}

const float *ae__dataset_row(const ae_dataset *ds, size_t i)
{
    return ds->store->data + view_pos(ds, i) * ds->store->sample_size;
}

/* Index of the first of n values that fails the check, or n. */
AE__VECTOR_CLONES
static size_t first_failing(int check, const float *x, size_t n)
{
    if (check == AE__DATASET_FINITE)
        return ae__first_nonfinite(x, n);
    size_t i = 0;
    while (i < n && x[i] >= 0.0f && x[i] <= 1.0f) /* NaN fails */
        i++;
    return i;
}

/* The first failing value of the view in view order, if any. */
static int view_find(const ae_dataset *ds, int check, size_t *sample, size_t *feature)
{
    const size_t size = ds->store->sample_size;
    for (size_t i = 0; i < ds->count; i++) {
        const size_t j = first_failing(check, ae__dataset_row(ds, i), size);
        if (j < size) {
            *sample = i;
            *feature = j;
            return 1;
        }
    }
    return 0;
}

int ae__dataset_find(const ae_dataset *ds, int check, size_t *sample, size_t *feature)
{
    ds_store *st = ds->store;
    if (st->own_data == NULL)
        return view_find(ds, check, sample, feature);
    int known = atomic_load(&st->known[check]);
    if (known == UNKNOWN) {
        /* one sequential pass over the whole store answers for every view */
        const size_t total = st->count * st->sample_size;
        known = first_failing(check, st->data, total) == total ? ALL_PASS : NOT_ALL;
        atomic_store(&st->known[check], known);
    }
    return known == ALL_PASS ? 0 : view_find(ds, check, sample, feature);
}

int ae__dataset_adopt(ae_dataset **out, float *data, int32_t *labels, size_t count,
                      const ae_shape *shape)
{
    size_t total;
    int rc = check_layout(count, shape, &total, "dataset");
    if (rc < 0)
        return rc;
    return make_dataset(out, data, labels, data, labels, count, shape);
}

/* ---- construction and destruction ------------------------------------- */

int ae_dataset_from_memory_v(ae_dataset **out, const float *data, const int32_t *labels,
                             size_t count, const ae_shape *shape, unsigned flags,
                             unsigned header_version)
{
    static const char what[] = "ae_dataset_from_memory";
    float *own_data = NULL;
    int32_t *own_labels = NULL;
    size_t total;
    int rc = ae__check_header(header_version, what);
    if (rc < 0)
        return rc;
    if (out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: out is NULL", what);
    if (data == NULL)
        return ae__error(AE_ERR_INVALID, "%s: data is NULL", what);
    if (flags & ~(unsigned)AE_DATASET_BORROW)
        return ae__error(AE_ERR_INVALID, "%s: unknown flags 0x%x", what, flags);
    if ((rc = check_layout(count, shape, &total, what)) < 0)
        return rc;

    if (flags & AE_DATASET_BORROW)
        return make_dataset(out, data, labels, NULL, NULL, count, shape);

    own_data = ae__alloc(total * sizeof(float));
    if (own_data == NULL)
        goto nomem;
    memcpy(own_data, data, total * sizeof(float));
    if (labels != NULL) {
        own_labels = ae__alloc(count * sizeof(int32_t));
        if (own_labels == NULL)
            goto nomem;
        memcpy(own_labels, labels, count * sizeof(int32_t));
    }
    rc = make_dataset(out, own_data, own_labels, own_data, own_labels, count, shape);
    if (rc < 0)
        goto fail;
    return AE_OK;

nomem:
    rc = AE_ERR_NOMEM;
fail:
    ae__free(own_data);
    ae__free(own_labels);
    return rc;
}

void ae_dataset_destroy(ae_dataset *ds)
{
    if (ds == NULL)
        return;
    store_release(ds->store);
    ae__free(ds->index);
    ae__free(ds);
}

/* ---- queries ------------------------------------------------------------ */

size_t ae_dataset_count(const ae_dataset *ds) { return ds != NULL ? ds->count : 0; }

size_t ae_dataset_sample_size(const ae_dataset *ds)
{
    return ds != NULL ? ds->store->sample_size : 0;
}

int ae_dataset_shape(const ae_dataset *ds, ae_shape *out)
{
    if (ds == NULL || out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_dataset_shape: %s is NULL",
                         ds == NULL ? "dataset" : "out");
    *out = ds->store->shape;
    return AE_OK;
}

int ae_dataset_has_labels(const ae_dataset *ds)
{
    return ds != NULL && ds->store->labels != NULL;
}

const float *ae_dataset_sample(const ae_dataset *ds, size_t index)
{
    if (ds == NULL) {
        ae__error(AE_ERR_INVALID, "ae_dataset_sample: dataset is NULL");
        return NULL;
    }
    if (index >= ds->count) {
        ae__error(AE_ERR_INVALID, "ae_dataset_sample: index %zu, dataset has %zu samples",
                  index, ds->count);
        return NULL;
    }
    return ae__dataset_row(ds, index);
}

int ae_dataset_label(const ae_dataset *ds, size_t index, int32_t *out)
{
    if (ds == NULL || out == NULL)
        return ae__error(AE_ERR_INVALID, "ae_dataset_label: %s is NULL",
                         ds == NULL ? "dataset" : "out");
    if (ds->store->labels == NULL)
        return ae__error(AE_ERR_STATE, "ae_dataset_label: the dataset has no labels");
    if (index >= ds->count)
        return ae__error(AE_ERR_INVALID, "ae_dataset_label: index %zu, dataset has %zu samples",
                         index, ds->count);
    *out = ds->store->labels[view_pos(ds, index)];
    return AE_OK;
}

/* Fails unless [first, first + count) is a non-empty range of the view. */
static int check_range(const ae_dataset *ds, size_t first, size_t count, const char *what)
{
    int rc = ae__check_count(count, ae_dataset_sample_size(ds), sizeof(float), "count", what);
    if (rc < 0)
        return rc;
    if (first > ds->count || count > ds->count - first)
        return ae__error(AE_ERR_INVALID,
                         "%s: samples [%zu, %zu + %zu) are past the end of %zu samples", what,
                         first, first, count, ds->count);
    return AE_OK;
}

int ae_dataset_get_batch(const ae_dataset *ds, size_t first, size_t count, float *x,
                         int32_t *labels)
{
    static const char what[] = "ae_dataset_get_batch";
    if (ds == NULL || x == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what, ds == NULL ? "dataset" : "x");
    int rc = check_range(ds, first, count, what);
    if (rc < 0)
        return rc;
    const ds_store *st = ds->store;
    if (labels != NULL && st->labels == NULL)
        return ae__error(AE_ERR_STATE, "%s: labels asked of a dataset without labels", what);

    size_t n = st->sample_size;
    if (ds->index == NULL) {
        size_t start = ds->first + first;
        memcpy(x, st->data + start * n, count * n * sizeof(float));
        if (labels != NULL)
            memcpy(labels, st->labels + start, count * sizeof(int32_t));
        return AE_OK;
    }
    for (size_t i = 0; i < count; i++) {
        size_t pos = ds->index[first + i];
        memcpy(x + i * n, st->data + pos * n, n * sizeof(float));
        if (labels != NULL)
            labels[i] = st->labels[pos];
    }
    return AE_OK;
}

/* ---- new views ------------------------------------------------------------ */

int ae_dataset_subset(ae_dataset **out, const ae_dataset *ds, size_t first, size_t count)
{
    static const char what[] = "ae_dataset_subset";
    if (out == NULL || ds == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what, out == NULL ? "out" : "dataset");
    int rc = check_range(ds, first, count, what);
    if (rc < 0)
        return rc;
    if (ds->index == NULL)
        return view_new(out, ds->store, NULL, ds->first + first, count);

    uint32_t *index = index_alloc(count);
    if (index == NULL)
        return AE_ERR_NOMEM;
    memcpy(index, ds->index + first, count * sizeof *index);
    rc = view_new(out, ds->store, index, 0, count);
    if (rc < 0)
        ae__free(index);
    return rc;
}

int ae_dataset_select(ae_dataset **out, const ae_dataset *ds, const size_t *indices,
                      size_t count)
{
    static const char what[] = "ae_dataset_select";
    if (out == NULL || ds == NULL || indices == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         out == NULL ? "out" : ds == NULL ? "dataset" : "indices");
    int rc = ae__check_count(count, 1, sizeof(size_t), "count", what);
    if (rc < 0)
        return rc;
    if (count > AE_DATASET_MAX_COUNT)
        return ae__error(AE_ERR_LIMIT, "%s: %zu indices, at most %u allowed", what, count,
                         AE_DATASET_MAX_COUNT);
    for (size_t i = 0; i < count; i++)
        if (indices[i] >= ds->count)
            return ae__error(AE_ERR_INVALID, "%s: indices[%zu] is %zu, dataset has %zu samples",
                             what, i, indices[i], ds->count);

    uint32_t *index = index_alloc(count);
    if (index == NULL)
        return AE_ERR_NOMEM;
    for (size_t i = 0; i < count; i++)
        index[i] = (uint32_t)view_pos(ds, indices[i]);
    rc = view_new(out, ds->store, index, 0, count);
    if (rc < 0)
        ae__free(index);
    return rc;
}

int ae_dataset_filter_label(ae_dataset **out, const ae_dataset *ds, int32_t label)
{
    static const char what[] = "ae_dataset_filter_label";
    if (out == NULL || ds == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what, out == NULL ? "out" : "dataset");
    const int32_t *labels = ds->store->labels;
    if (labels == NULL)
        return ae__error(AE_ERR_STATE, "%s: the dataset has no labels", what);
    size_t matches = 0;
    for (size_t i = 0; i < ds->count; i++)
        matches += labels[view_pos(ds, i)] == label;
    if (matches == 0)
        return ae__error(AE_ERR_NOT_FOUND, "%s: none of the %zu samples has label %d", what,
                         ds->count, (int)label);

    uint32_t *index = index_alloc(matches);
    if (index == NULL)
        return AE_ERR_NOMEM;
    for (size_t i = 0, j = 0; i < ds->count; i++) {
        size_t pos = view_pos(ds, i);
        if (labels[pos] == label)
            index[j++] = (uint32_t)pos;
    }
    int rc = view_new(out, ds->store, index, 0, matches);
    if (rc < 0)
        ae__free(index);
    return rc;
}

/* Fisher-Yates over index[0, n) with a generator seeded by @p seed. */
static void permute(uint32_t *index, size_t n, uint64_t seed)
{
    ae_rng rng;
    ae__rng_seed(&rng, seed);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ae__rng_below(&rng, i);
        uint32_t t = index[i - 1];
        index[i - 1] = index[j];
        index[j] = t;
    }
}

int ae_dataset_split(ae_dataset **first, ae_dataset **second, const ae_dataset *ds,
                     double fraction, uint64_t seed)
{
    static const char what[] = "ae_dataset_split";
    uint32_t *all = NULL, *a = NULL, *b = NULL;
    ae_dataset *da = NULL;
    int rc;
    if (first == NULL || second == NULL || ds == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", what,
                         first == NULL ? "first" : second == NULL ? "second" : "dataset");
    if (first == second)
        return ae__error(AE_ERR_INVALID, "%s: first and second point to the same place", what);
    if (!(fraction > 0.0 && fraction < 1.0))
        return ae__error(AE_ERR_INVALID, "%s: fraction %g is not in (0, 1)", what, fraction);
    size_t n = ds->count;
    size_t k = (size_t)(fraction * (double)n + 0.5);
    if (k == 0 || k >= n)
        return ae__error(AE_ERR_INVALID,
                         "%s: fraction %g of %zu samples leaves the %s part empty", what,
                         fraction, n, k == 0 ? "first" : "second");

    if ((all = index_alloc(n)) == NULL || (a = index_alloc(k)) == NULL ||
        (b = index_alloc(n - k)) == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++)
        all[i] = (uint32_t)view_pos(ds, i);
    permute(all, n, seed);
    memcpy(a, all, k * sizeof *a);
    memcpy(b, all + k, (n - k) * sizeof *b);
    if ((rc = view_new(&da, ds->store, a, 0, k)) < 0)
        goto fail;
    a = NULL;
    if ((rc = view_new(second, ds->store, b, 0, n - k)) < 0)
        goto fail;
    *first = da;
    ae__free(all);
    return AE_OK;

nomem:
    rc = AE_ERR_NOMEM;
fail:
    ae_dataset_destroy(da);
    ae__free(all);
    ae__free(a);
    ae__free(b);
    return rc;
}

int ae_dataset_shuffle(ae_dataset *ds, uint64_t seed)
{
    if (ds == NULL)
        return ae__error(AE_ERR_INVALID, "ae_dataset_shuffle: dataset is NULL");
    if (ds->index == NULL) {
        uint32_t *index = index_alloc(ds->count);
        if (index == NULL)
            return AE_ERR_NOMEM;
        for (size_t i = 0; i < ds->count; i++)
            index[i] = (uint32_t)(ds->first + i);
        ds->index = index;
        ds->first = 0;
    }
    permute(ds->index, ds->count, seed);
    return AE_OK;
}
