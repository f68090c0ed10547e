/* SPDX-License-Identifier: MIT */
/*
 * dist.c - data-parallel training over host-supplied collectives
 * (ae/dist.h): the shard of an epoch, the one reduction per step (the flat
 * gradient with a few floats appended), and the helpers the training loop
 * (train.c) uses to start the ranks alike and keep them agreeing.
 *
 * Deterministic mode: every rank's buffer is gathered to rank 0, summed
 * there in rank order (row 0 copied, then rows 1 .. world - 1 added), and
 * the sum broadcast; the all-reduce mode leaves the order to the host.
 */
#include <math.h>
#include <string.h>

#include "ae/dist.h"
#include "ae/params.h"
#include "core/core.h"
#include "train/dist.h"
#include "train/train.h"

int ae__dist_take(ae_collective *dst, const ae_collective *c, int flags, const char *who)
{
    ae_collective d = AE_COLLECTIVE_INIT;
    if (c == NULL)
        return ae__error(AE_ERR_INVALID, "%s: collective is NULL", who);
    int rc = ae__take_struct(&d, c, sizeof d, sizeof d, who);
    if (rc < 0)
        return rc;
    if (d.size < 1 || d.rank < 0 || d.rank >= d.size)
        return ae__error(AE_ERR_INVALID, "%s: collective rank %d of size %d (expected size >= 1,"
                         " 0 <= rank < size)", who, (int)d.rank, (int)d.size);
    if (d.allreduce_sum == NULL || d.broadcast == NULL)
        return ae__error(AE_ERR_INVALID, "%s: the collective's %s is NULL", who,
                         d.allreduce_sum == NULL ? "allreduce_sum" : "broadcast");
    if (flags & ~(AE_DIST_DETERMINISTIC | AE_DIST_SYNC_STATE))
        return ae__error(AE_ERR_INVALID, "%s: unknown collective flags 0x%x", who, (unsigned)flags);
    if ((flags & AE_DIST_DETERMINISTIC) && d.gather == NULL)
        return ae__error(AE_ERR_INVALID, "%s: AE_DIST_DETERMINISTIC needs the collective's gather",
                         who);
    *dst = d;
    return AE_OK;
}

size_t ae_shard_size(size_t count, int rank, int world)
{
    if (world < 1 || rank < 0 || rank >= world)
        return 0;
    return count / (size_t)world + ((size_t)rank < count % (size_t)world);
}

int ae_shard(size_t *indices, size_t count, uint64_t seed, uint64_t epoch, int shuffle, int rank,
             int world, size_t *n)
{
    const char *who = "ae_shard";
    if (indices == NULL || count == 0)
        return ae__error(AE_ERR_INVALID, "%s: %s", who,
                         indices == NULL ? "indices is NULL" : "count is 0");
    if (shuffle != 0 && shuffle != 1)
        return ae__error(AE_ERR_INVALID, "%s: shuffle is %d, expected 0 or 1", who, shuffle);
    if (world < 1 || rank < 0 || rank >= world)
        return ae__error(AE_ERR_INVALID, "%s: rank %d of world %d (expected world >= 1,"
                         " 0 <= rank < world)", who, rank, world);
    size_t *order = ae__calloc(count, sizeof *order);
    if (order == NULL)
        return AE_ERR_NOMEM;
    ae__train_order(order, count, seed, epoch, shuffle);
    size_t k = 0;
    for (size_t i = (size_t)rank; i < count; i += (size_t)world)
        indices[k++] = order[i];
    ae__free(order);
    if (n != NULL)
        *n = k;
    return AE_OK;
}

int ae__dist_reduce(const ae_collective *c, float *buf, size_t n, int det, float *tmp,
                    const char *who)
{
    if (c->size == 1)
        return AE_OK;
    int bad;
    if (!det) {
        bad = c->allreduce_sum(buf, n, c->user);
    } else {
        bad = c->gather(buf, c->rank == 0 ? tmp : NULL, n, 0, c->user);
        if (!bad && c->rank == 0) {
            memcpy(buf, tmp, n * sizeof(float));
            for (int32_t r = 1; r < c->size; r++) {
                const float *t = tmp + (size_t)r * n;
                for (size_t i = 0; i < n; i++)
                    buf[i] += t[i];
            }
        }
        if (!bad)
            bad = c->broadcast(buf, n, 0, c->user);
    }
    if (bad)
        return ae__error(AE_ERR_IO, "%s: a collective failed on rank %d (%s returned %d)", who,
                         (int)c->rank, det ? "gather or broadcast" : "allreduce_sum", bad);
    return AE_OK;
}

int ae__dist_step(ae_step *step, const ae_collective *c, size_t total_rows, int det, float *tmp,
                  float *extra, size_t n_extra, const char *who)
{
    size_t n, rows;
    float *buf = ae__step_reduce_buffer(step, &n, &rows);
    const float w = (float)((double)rows / (double)total_rows);
    for (size_t i = 0; i < n; i++)
        buf[i] *= w;
    if (n_extra)
        memcpy(buf + n, extra, n_extra * sizeof(float));
    int rc = ae__dist_reduce(c, buf, n + n_extra, det, tmp, who);
    if (rc < 0) {
        ae_step_discard(step);
        return rc;
    }
    if (n_extra)
        memcpy(extra, buf + n, n_extra * sizeof(float));
    ae__step_reduced(step);
    return AE_OK;
}

int ae_step_allreduce(ae_step *step, const ae_collective *c, size_t total_rows, int flags)
{
    const char *who = "ae_step_allreduce";
    ae_collective d;
    if (step == NULL)
        return ae__error(AE_ERR_INVALID, "%s: step is NULL", who);
    int rc = ae__dist_take(&d, c, flags, who);
    if (rc < 0)
        return rc;
    if (flags & AE_DIST_SYNC_STATE)
        return ae__error(AE_ERR_INVALID, "%s: AE_DIST_SYNC_STATE is a training option", who);
    size_t n, rows;
    ae__step_reduce_buffer(step, &n, &rows);
    if (total_rows == 0 || total_rows < rows)
        return ae__error(AE_ERR_INVALID, "%s: total_rows is %zu, this rank has %zu", who,
                         total_rows, rows);
    float *tmp = NULL;
    const int det = (flags & AE_DIST_DETERMINISTIC) != 0;
    if (det && d.rank == 0 && d.size > 1) {
        size_t cells;
        if (!ae__mul_size(n ? n : 1, (size_t)d.size, &cells) ||
            !ae__mul_size(cells, sizeof(float), &cells))
            return ae__error(AE_ERR_LIMIT, "%s: the gather buffer overflows", who);
        if ((tmp = ae__alloc(cells)) == NULL)
            return AE_ERR_NOMEM;
    }
    rc = ae__dist_step(step, &d, total_rows, det, tmp, NULL, 0, who);
    ae__free(tmp);
    return rc;
}

/* A count as three floats of 22 bits each (exact in a float). */
static void pack_u64(float *f, uint64_t v)
{
    for (int i = 0; i < 3; i++, v >>= 22)
        f[i] = (float)(v & 0x3FFFFF);
}

static uint64_t unpack_u64(const float *f)
{
    uint64_t v = 0;
    for (int i = 3; i-- > 0;)
        v = (v << 22) | (uint64_t)f[i];
    return v;
}

int ae__dist_start(const ae_collective *c, float *const *at, const size_t *count, size_t n,
                   uint64_t *steps, uint64_t history, const char *who)
{
    if (c->size == 1)
        return AE_OK;
    /* rank 0's history length and step count; do all ranks agree on the history? */
    float f[7];
    pack_u64(f, history);
    pack_u64(f + 3, *steps);
    if (c->broadcast(f, 6, 0, c->user))
        goto failed;
    f[6] = unpack_u64(f) != history ? 1.0f : 0.0f;
    float differ = f[6];
    if (c->allreduce_sum(&differ, 1, c->user))
        goto failed;
    if (differ != 0.0f)
        return ae__error(AE_ERR_STATE, "%s: the ranks' models have trained different numbers of"
                         " epochs (rank 0: %llu, rank %d: %llu); load the same file on every rank",
                         who, (unsigned long long)unpack_u64(f), (int)c->rank,
                         (unsigned long long)history);
    *steps = unpack_u64(f + 3);
    for (size_t i = 0; i < n; i++)
        if (count[i] && c->broadcast(at[i], count[i], 0, c->user))
            goto failed;
    return AE_OK;
failed:
    return ae__error(AE_ERR_IO, "%s: a collective failed on rank %d while rank 0's model was"
                     " broadcast", who, (int)c->rank);
}

int ae__dist_average(const ae_collective *c, float *const *at, const size_t *count, size_t n,
                     const char *who)
{
    if (c->size == 1)
        return AE_OK;
    const float inv = 1.0f / (float)c->size;
    for (size_t i = 0; i < n; i++) {
        if (count[i] == 0)
            continue;
        if (c->allreduce_sum(at[i], count[i], c->user))
            return ae__error(AE_ERR_IO, "%s: a collective failed on rank %d while the layers'"
                             " statistics were averaged", who, (int)c->rank);
        for (size_t j = 0; j < count[i]; j++)
            at[i][j] *= inv;
    }
    return AE_OK;
}
