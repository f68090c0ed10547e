/* SPDX-License-Identifier: MIT */
/* noise.h - the corruption models of denoising training (enum ae_noise). */
#ifndef AE_DATA_NOISE_H
#define AE_DATA_NOISE_H

#include <stddef.h>

#include "ae/train.h"
#include "core/core.h"

/* AE_OK when (noise, amount) is a valid pair, else AE_ERR_INVALID with a
 * message naming `who`. */
int ae__noise_check(int noise, float amount, const char *who);

/* dst[i] = corrupted src[i] for i < n, drawing from rng; dst may be src.
 * AE_NOISE_NONE copies. (noise, amount) must have passed ae__noise_check. */
void ae__noise_apply(int noise, float amount, ae_rng *rng, const float *src, float *dst,
                     size_t n);

#endif
