/* SPDX-License-Identifier: MIT */
/*
 * pool.h - libae's own worker threads: one job at a time split into parts
 * that the calling thread and the workers share (src/core/pool.c).
 *
 * Used where a whole piece of a training step splits into independent
 * blocks (a dense layer's rows, then its weight gradient's rows; a
 * convolution's samples; the loss; the batch gather; the optimizer
 * update), so the element-wise work runs on
 * every thread and not only the products, as OpenBLAS's threads do.
 * Inference does not use it: it shares whole chunks between threads of its
 * own (src/nn/net.c), so its bits never depend on the setting.
 *
 * Results never depend on which thread runs a part: the split is a function
 * of the sizes and ae_set_num_threads() only (ae__pool_parts), and when the
 * pool is busy (another thread of the program, or a part that asks again)
 * the same parts run one after the other on the caller: the same bits.
 * Parts are claimed by whichever thread is free (the caller too), so a
 * worker that gets no core never stalls the job. Inside a part, products
 * run on one thread (ae__blas_single).
 */
#ifndef AE_CORE_POOL_H
#define AE_CORE_POOL_H

#include <stddef.h>

/* The most parts a job is split into (the pool's workers + 1). */
#define AE__POOL_MAX_PARTS 64

typedef void ae__pool_fn(void *arg, int part, int parts);

/*
 * How many parts a job of `rows` rows and `work` multiply-adds (or
 * element operations) is split into: 1 when the thread setting is 1, when
 * the job is below AE__POOL_MIN_WORK (waking a thread costs more than it
 * saves), on a thread that runs a part already, or when fewer than
 * `min_rows` rows would fall to each part; else the setting (at most the
 * processors online, and AE__POOL_MAX_PARTS), capped so each
 * part gets `min_rows` rows.
 */
int ae__pool_parts(size_t rows, size_t min_rows, double work);

/* The most parts ae__pool_parts() can ever return in this process: the
 * processors online, at most AE__POOL_MAX_PARTS (for sizing per-part
 * scratch ahead, whatever the thread setting will be). */
int ae__pool_cpus(void);

/* Runs fn(arg, p, parts) for p = 0 .. parts-1, each once, on whichever of
 * the caller and the workers claims it, and returns when all are done.
 * parts <= 1 runs fn(arg, 0, 1) on the caller. Never fails: without workers
 * (busy, or a thread could not be started) the parts run on the caller in
 * order. */
void ae__pool_run(ae__pool_fn *fn, void *arg, int parts);

/* Part `part` of `n` items split into `parts` ranges [*lo, *hi), every
 * boundary but the last a multiple of `align` (>= 1). */
void ae__pool_range(size_t n, int part, int parts, size_t align, size_t *lo, size_t *hi);

#endif /* AE_CORE_POOL_H */
