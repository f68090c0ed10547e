/* SPDX-License-Identifier: MIT */
/**
 * @file ae/dist.h
 * @brief Data-parallel training across processes with collectives the host
 *        supplies (MPI or anything else): libae never links a transport.
 *
 * The host fills an ae_collective (its rank, the world size, an all-reduce
 * sum and a broadcast over float buffers, optionally a gather for the
 * deterministic mode) and passes it to ae_model_train() through
 * ae_train_options.collective, or drives a step handle itself with
 * ae_step_allreduce(). examples/mpi/ holds an Open MPI adapter.
 *
 * With a collective, ae_model_train() on every rank (each holding the same
 * dataset, or at least the same count) trains as one process with
 * batch_size as the GLOBAL batch:
 * - the sample order of each epoch is ae_train_order(); rank r takes every
 *   world-th sample of it starting at r (ae_shard()), batch_size / world per
 *   step, so the ranks' rows of step k together are the rows of the
 *   one-process batch k;
 * - per step ONE reduction over one contiguous buffer: the gradient
 *   (ae_step_gradients()), each rank's mean scaled by its rows over the
 *   global batch's, with the batch loss and a status word appended;
 * - the epoch loss is the global batch losses' mean, the validation loss
 *   each rank's slice of the validation set reduced the same way, so early
 *   stopping, schedules and the divergence checks decide alike everywhere;
 * - at the start rank 0's weights, optimizer state and layer state are
 *   broadcast (the ranks need not be seeded alike);
 * - batch normalization keeps per-rank statistics (each rank normalizes its
 *   own rows); AE_DIST_SYNC_STATE averages the layers' running statistics
 *   over the ranks at the end of every epoch;
 * - a failure on one rank (NaN loss, a layer error) reaches the others
 *   through that step's reduction: every rank returns an error in the same
 *   step, none waits for a collective the failed one never calls. A
 *   collective that returns nonzero stops training with AE_ERR_IO; making
 *   a dead peer return rather than hang (timeouts, MPI_ERRORS_RETURN) is the
 *   adapter's job.
 *
 * Equivalence: with MPI's all-reduce the result equals the one-process
 * training within float rounding (the ranks' partial sums are added in
 * another order). With AE_DIST_DETERMINISTIC the scaled gradients are
 * gathered to rank 0, summed in rank order and broadcast: bit-for-bit
 * reproducible for a given world size, and bit-identical to one process
 * that computes each global batch as world consecutive ae_step_compute()
 * calls over the ranks' rows, summing their scaled gradients in rank order
 * (docs/distributed.md). Training randomness (dropout, noise) is seeded per
 * rank.
 */
#ifndef AE_DIST_H
#define AE_DIST_H

#include "common.h"
#include "step.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Sums @p count floats in place across all ranks: on return every rank's
 * @p buf holds the same element-wise sum. Return 0, or nonzero on failure
 * (training stops with AE_ERR_IO).
 */
typedef int (*ae_allreduce_fn)(float *buf, size_t count, void *user);

/**
 * Copies rank @p root's @p count floats into @p buf on every rank. Return 0
 * or nonzero on failure.
 */
typedef int (*ae_broadcast_fn)(float *buf, size_t count, int root, void *user);

/**
 * Gathers @p count floats from every rank to @p root: there @p recv (world
 * size * count floats) receives rank 0's, then rank 1's, and so on; @p recv
 * is NULL on the other ranks. Return 0 or nonzero on failure.
 */
typedef int (*ae_gather_fn)(const float *send, float *recv, size_t count, int root, void *user);

/** Collectives supplied by the host. Start from AE_COLLECTIVE_INIT;
 *  struct_size versions it (later fields are appended). */
typedef struct ae_collective {
    uint32_t struct_size;          /**< sizeof(ae_collective) */
    int32_t rank;                  /**< this process, 0 .. size - 1 */
    int32_t size;                  /**< ranks, >= 1 */
    ae_allreduce_fn allreduce_sum; /**< required */
    ae_broadcast_fn broadcast;     /**< required */
    ae_gather_fn gather;           /**< required by AE_DIST_DETERMINISTIC, else may be NULL */
    void *user;                    /**< passed to the three functions */
} ae_collective;

/** One rank of one: no communication. */
#define AE_COLLECTIVE_INIT {sizeof(ae_collective), 0, 1, NULL, NULL, NULL, NULL}

/** Flags of ae_step_allreduce() and ae_train_options.collective_flags. */
enum ae_dist_flag {
    /** Gather in rank order, sum on rank 0, broadcast: bit-for-bit
     *  reproducible (needs ae_collective.gather). */
    AE_DIST_DETERMINISTIC = 1,
    /** ae_model_train(): average the layers' state tensors (batch
     *  normalization's running statistics) over the ranks after every
     *  epoch; without it each rank keeps its own. */
    AE_DIST_SYNC_STATE = 2
};

/**
 * The samples rank @p rank trains on in epoch @p epoch: every
 * @p world-th entry of ae_train_order(count, seed, epoch, shuffle), starting
 * at entry @p rank. Over the ranks the shards are disjoint and cover
 * 0 .. count - 1; their sizes differ by at most one; every rank computes
 * the same permutation, reshuffled each epoch. Entry j of the shard is entry
 * rank + j * world of the order, so the first b entries of every shard make
 * up the order's first b * world entries (the first global batch).
 * @param[out] indices  ae_shard_size(count, rank, world) entries
 * @param count         samples in the whole dataset, >= 1
 * @param seed          the training seed
 * @param epoch         the epoch, counted over the model's history
 * @param shuffle       1 to shuffle, 0 for the identity order
 * @param rank          0 .. world - 1
 * @param world         ranks, >= 1
 * @param[out] n        the shard's size, or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL indices, count 0, shuffle not 0 or 1,
 *         world < 1, rank out of range) or AE_ERR_NOMEM.
 */
AE_API int ae_shard(size_t *indices, size_t count, uint64_t seed, uint64_t epoch, int shuffle,
                    int rank, int world, size_t *n);

/**
 * The size of rank @p rank's shard of @p count samples over @p world ranks:
 * count / world, plus one for the first count % world ranks.
 * @param count  samples in the dataset
 * @param rank   this process's rank, 0 to world - 1
 * @param world  ranks in all, >= 1
 * @return that size; 0 for world < 1 or rank out of range.
 */
AE_API size_t ae_shard_size(size_t count, int rank, int world);

/**
 * Reduces the step's pending gradient across the ranks: afterwards every
 * rank holds the mean gradient over the global batch (each rank's mean
 * weighted by its pending rows over @p total_rows) and ae_step_apply()
 * applies it, also on a rank that computed nothing in this step (it
 * contributes nothing and still takes part). Call it on every rank, once
 * per update, before clipping.
 * @param step        the handle, with or without a pending gradient
 * @param c           the collectives
 * @param total_rows  the rows of this update over all ranks (the sum of the
 *                    ranks' pending rows), >= 1
 * @param flags       0 or AE_DIST_DETERMINISTIC (which allocates a gather
 *                    buffer of world size * ae_model_trainable_count()
 *                    floats on rank 0 for the call)
 * @return AE_OK, AE_ERR_INVALID (NULL, total_rows 0 or below this rank's
 *         rows, unknown flags, a bad collective: struct_size, size < 1,
 *         rank out of range, a NULL function), AE_ERR_IO (a collective
 *         failed: the pending gradient is dropped), AE_ERR_NOMEM.
 */
AE_API int ae_step_allreduce(ae_step *step, const ae_collective *c, size_t total_rows,
                             int flags);

#ifdef __cplusplus
}
#endif
#endif /* AE_DIST_H */
