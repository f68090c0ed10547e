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

/* The same with the clipping range [lo, hi] (Gaussian clip; the values
 * salt and pepper write); ae__noise_apply() is [0, 1]. lo may be -inf and
 * hi +inf for no clip (salt and pepper then must not run). */
void ae__noise_apply_range(int noise, float amount, float lo, float hi, ae_rng *rng,
                           const float *src, float *dst, size_t n);

/* Training's range from ae_train_options' noise_clip, noise_min and
 * noise_max: the options' range, or the smallest and largest value of
 * @p data. With AE_NOISE_CLIP_NONE and Gaussian noise lo and hi are
 * -inf/+inf. AE_ERR_INVALID
 * for an unknown clip kind or a bad range. */
int ae__noise_range(int noise, int clip_kind, float min, float max, const ae_dataset *data, float *lo,
                    float *hi, const char *who);

#endif
