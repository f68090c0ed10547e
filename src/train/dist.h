/* SPDX-License-Identifier: MIT */
/* dist.h - what the training loop (train.c) uses of dist.c. */
#ifndef AE_TRAIN_DIST_H
#define AE_TRAIN_DIST_H

#include "ae/dist.h"

/* Reads and checks a caller's collective (and flags) into dst. */
int ae__dist_take(ae_collective *dst, const ae_collective *c, int flags, const char *who);
/* Sums n floats of buf over the ranks (det: gather to rank 0 into tmp,
 * world * n floats there, sum in rank order, broadcast); AE_ERR_IO when a
 * collective fails. */
int ae__dist_reduce(const ae_collective *c, float *buf, size_t n, int det, float *tmp,
                    const char *who);
/* The step's reduction: its gradient scaled by its rows / total_rows, with
 * n_extra (<= AE__STEP_EXTRA) floats of extra appended and summed too; on
 * failure the pending gradient is dropped. */
int ae__dist_step(ae_step *step, const ae_collective *c, size_t total_rows, int det, float *tmp,
                  float *extra, size_t n_extra, const char *who);
/* Start: rank 0's regions (weights, optimizer buffers, layer state) and
 * optimizer step count to every rank; AE_ERR_STATE on every rank when the
 * models' history lengths differ. */
int ae__dist_start(const ae_collective *c, float *const *at, const size_t *count, size_t n,
                   uint64_t *steps, uint64_t history, const char *who);
/* The regions' mean over the ranks (AE_DIST_SYNC_STATE). */
int ae__dist_average(const ae_collective *c, float *const *at, const size_t *count, size_t n,
                     const char *who);

#endif
