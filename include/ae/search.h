/* SPDX-License-Identifier: MIT */
/**
 * @file ae/search.h
 * @brief Nearest-neighbour search over vectors (latents, PCA projections,
 *        raw pixels): an exact index, queried in batches. Added in 1.1.
 *
 * Image search with an autoencoder keeps the encoder and drops the
 * decoder: encode every image of a collection once, index the latents,
 * then encode a query image and ask for the k stored latents closest to
 * it. The index is exact (brute force): for a batch of queries it computes
 * every query-vector dot product with one matrix product per block
 * (cblas_sgemm), adds the squared norms it stored when it was built, and
 * keeps each query's k best with a bounded heap (a partial selection, not
 * a sort of all distances).
 *
 * Distances (ae_metric):
 * - AE_METRIC_EUCLIDEAN: ||q - x||, computed as
 *   sqrt(max(0, ||q||^2 + ||x||^2 - 2 q.x)) in single precision: exact up
 *   to float rounding relative to the norms (two vectors closer than about
 *   1e-3 of their norm may come out in either order, and a vector's
 *   distance to itself may be a small positive number instead of 0).
 * - AE_METRIC_COSINE: 1 - q.x / (||q|| ||x||), in [0, 2]. A zero vector
 *   (stored or queried) has cosine 0 with everything: distance 1.
 *
 * Results come nearest first; equal distances keep the lower index first,
 * so results are deterministic. They depend only on the stored vectors,
 * the queries and their batch, never on the thread setting
 * (ae_set_num_threads()): a call shares its blocks of queries between the
 * calling thread and helper threads it starts, each product on one BLAS
 * thread.
 *
 * Cost: a batch of q queries over n vectors of d floats takes about
 * q n d multiply-adds plus q n comparisons; scratch memory is 2 MiB of
 * products and up to 128 k heap entries of 8 bytes per thread.
 * docs/search.md says where an approximate index would take over.
 *
 * Saving: ae_save_options.index stores an index in a model file next to
 * the encoder (section `KNNI`, docs/format.md); ae_file_load_index() and
 * ae_index_load() read it back; ae_index_save() writes one alone.
 *
 * Thread safety: create and destroy need the index to themselves; search,
 * the getters and saving only read it, and may run from several threads
 * at once on the same index.
 *
 * @code
 * float *z = malloc(60000 * 64 * sizeof *z);         // latents of the collection
 * ae_encoder_encode(enc, images, 60000, z);
 * ae_index *idx;
 * ae_index_create(&idx, z, 60000, 64, NULL);         // Euclidean
 * size_t nn[10 * 8];  float dist[10 * 8];
 * ae_index_search(idx, query_latents, 10, 8, nn, dist); // 8 neighbours of 10 queries
 * ae_index_destroy(idx);
 * @endcode
 */
#ifndef AE_SEARCH_H
#define AE_SEARCH_H

#include "common.h"
#include "dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque nearest-neighbour index. */
typedef struct ae_index ae_index;

/** Distances an index ranks by (values pinned). */
enum ae_metric {
    AE_METRIC_EUCLIDEAN = 0, /**< ||q - x|| */
    AE_METRIC_COSINE = 1     /**< 1 - cos(q, x) */
};

/** Most floats per vector an index takes (the matrix products take int
 *  sizes). */
#define AE_INDEX_MAX_DIM 65536u
/** Most vectors an index holds. */
#define AE_INDEX_MAX_COUNT 0x7fffffffu

/** Index options. Start from AE_INDEX_OPTIONS_INIT. */
typedef struct ae_index_options {
    uint32_t struct_size; /**< sizeof(ae_index_options) */
    int metric;           /**< ae_metric (AE_METRIC_EUCLIDEAN) */
} ae_index_options;

/** Defaults: Euclidean distance. */
#define AE_INDEX_OPTIONS_INIT {sizeof(ae_index_options), AE_METRIC_EUCLIDEAN}

/** @cond AE_INTERNAL */
AE_API int ae_index_create_v(ae_index **out, const float *x, size_t count, size_t dim,
                             const ae_index_options *opts, unsigned header_version);
AE_API int ae_index_create_dataset_v(ae_index **out, const ae_dataset *ds,
                                     const ae_index_options *opts, unsigned header_version);
/** @endcond */

/**
 * Builds an index over @p count vectors of @p dim floats (row-major),
 * copied; their squared norms are computed once here. Vector i of @p x is
 * result index i. Thread-safe (it shares nothing).
 *
 * Macro arguments: (out, x, count, dim, opts):
 * - @p out (ae_index **): receives the index (untouched on failure). The
 *   caller owns it: free it with ae_index_destroy().
 * - @p x (const float *): count * dim floats, all finite (copied, not kept).
 * - @p count (size_t): vectors, 1 .. AE_INDEX_MAX_COUNT.
 * - @p dim (size_t): floats per vector, 1 .. AE_INDEX_MAX_DIM.
 * - @p opts (const ae_index_options *): read during the call only; NULL
 *   means AE_INDEX_OPTIONS_INIT.
 *
 * @return AE_OK; AE_ERR_INVALID (NULL out or x, count or dim 0, a value
 *         not finite (the message gives its place), bad struct_size,
 *         unknown metric); AE_ERR_LIMIT (count or dim past the limits);
 *         AE_ERR_VERSION (headers of another major version, or a newer
 *         struct setting fields this library does not know); AE_ERR_NOMEM.
 */
#define ae_index_create(...) ae_index_create_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Builds an index over every sample of @p ds, flattened (dim =
 * ae_dataset_sample_size()), as ae_index_create(). Thread-safe.
 *
 * Macro arguments: (out, ds, opts):
 * - @p out (ae_index **): receives the index (untouched on failure). The
 *   caller owns it: free it with ae_index_destroy().
 * - @p ds (const ae_dataset *): the samples (only read, not kept).
 * - @p opts (const ae_index_options *): NULL means AE_INDEX_OPTIONS_INIT.
 *
 * @return as ae_index_create() (AE_ERR_INVALID also for a NULL dataset).
 */
#define ae_index_create_dataset(...) ae_index_create_dataset_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Frees an index. Not while another thread uses it.
 * @param idx  the index, or NULL (a no-op)
 */
AE_API void ae_index_destroy(ae_index *idx);

/**
 * Number of vectors in the index. Thread-safe.
 * @param idx  the index, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_index_count(const ae_index *idx);

/**
 * Floats per vector. Thread-safe.
 * @param idx  the index, or NULL
 * @return the dimension, 0 for NULL.
 */
AE_API size_t ae_index_dim(const ae_index *idx);

/**
 * The options the index was built with. Thread-safe.
 * @param idx           the index (only read)
 * @param[in,out] out   struct_size set by the caller (AE_INDEX_OPTIONS_INIT);
 *                      the fields both sides know are written and
 *                      struct_size becomes their size (untouched on failure)
 * @return AE_OK or AE_ERR_INVALID (NULL, struct_size too small).
 */
AE_API int ae_index_get_options(const ae_index *idx, ae_index_options *out);

/**
 * Copies vectors @p first .. @p first + @p count - 1 as stored (the
 * values given to ae_index_create(), bit for bit) into @p out. Thread-safe.
 * @param idx       the index (only read)
 * @param first     the first vector
 * @param count     vectors, >= 1, first + count <= ae_index_count()
 * @param[out] out  count * ae_index_dim() floats (untouched on failure)
 * @return AE_OK or AE_ERR_INVALID (NULL, count 0, a range past the end).
 */
AE_API int ae_index_get_vectors(const ae_index *idx, size_t first, size_t count, float *out);

/**
 * The @p k stored vectors nearest to each of @p count queries, nearest
 * first (ties: lower index first). Query q's results are
 * indices[q * k .. q * k + k - 1] and the same places of @p distances.
 * Safe from several threads at once on the same index; uses up to
 * ae_get_num_threads() threads itself. Batches are faster per query than
 * single queries: one matrix product serves up to 128 queries, while a
 * single query is a matrix-vector product, bound by memory.
 * @param idx             the index (only read)
 * @param queries         count * ae_index_dim() floats, all finite
 * @param count           queries, >= 1
 * @param k               neighbours per query, 1 .. ae_index_count()
 * @param[out] indices    count * k vector indices (untouched on failure)
 * @param[out] distances  count * k distances (ae_metric), or NULL when
 *                        only the indices are wanted (untouched on failure)
 * @return AE_OK; AE_ERR_INVALID (NULL idx, queries or indices, count 0,
 *         k 0 or above the count, a query value not finite, count so large
 *         that the queries or results could not be one buffer);
 *         AE_ERR_NOMEM.
 */
AE_API int ae_index_search(const ae_index *idx, const float *queries, size_t count, size_t k,
                           size_t *indices, float *distances);

#ifdef __cplusplus
}
#endif
#endif /* AE_SEARCH_H */
