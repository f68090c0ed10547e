/* SPDX-License-Identifier: MIT */
/*
 * noise.c - corruption models for denoising autoencoders, applied to a
 * batch on the fly (training draws fresh noise every step) or to a buffer
 * (ae_noise_apply, for test sets and examples).
 *
 *  - AE_NOISE_GAUSSIAN:     x + amount * N(0, 1), clipped to [lo, hi];
 *  - AE_NOISE_MASKING:      each value set to 0 with probability amount;
 *  - AE_NOISE_SALT_PEPPER:  each value replaced with probability amount by
 *                           lo or hi (even odds).
 * [lo, hi] is [0, 1] for ae_noise_apply(), the caller's for
 * ae_noise_apply_range(), and for training the data's own range unless
 * the options say otherwise (ae__noise_range()).
 *
 * Normals come in pairs from one 64-bit draw (Box-Muller on two 24-bit
 * uniforms): the tails are cut at 5.8 standard deviations, which noise
 * does not miss, and a 784-pixel image costs 392 logarithms, not 784.
 */
#include <math.h>
#include <string.h>

#include "dataset.h"
#include "noise.h"

#define U24 (1.0f / 16777216.0f)

int ae__noise_check(int noise, float amount, const char *who)
{
    switch (noise) {
    case AE_NOISE_NONE:
        return AE_OK;
    case AE_NOISE_GAUSSIAN:
        if (!(amount >= 0.0f && isfinite(amount)))
            return ae__error(AE_ERR_INVALID,
                             "%s: gaussian noise factor %g must be finite and >= 0", who,
                             (double)amount);
        return AE_OK;
    case AE_NOISE_MASKING:
    case AE_NOISE_SALT_PEPPER:
        if (!(amount >= 0.0f && amount <= 1.0f))
            return ae__error(AE_ERR_INVALID, "%s: %s noise fraction %g must be in [0, 1]", who,
                             noise == AE_NOISE_MASKING ? "masking" : "salt-and-pepper",
                             (double)amount);
        return AE_OK;
    default:
        return ae__error(AE_ERR_INVALID,
                         "%s: unknown noise %d (0 none, 1 gaussian, 2 masking, 3 salt-and-pepper)",
                         who, noise);
    }
}

static inline float clip(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }
#define clip01(v) clip((v), lo, hi)

static void gaussian(float amount, float lo, float hi, ae_rng *rng, const float *src, float *dst,
                     size_t n)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        uint64_t r = ae_rng_next(rng);
        float u1 = (float)((r >> 40) + 1) * U24; /* (0, 1] */
        float u2 = (float)((r >> 16) & 0xFFFFFF) * U24;
        float rad = amount * sqrtf(-2.0f * logf(u1)), t = 6.2831853f * u2;
        dst[i] = clip01(src[i] + rad * cosf(t));
        dst[i + 1] = clip01(src[i + 1] + rad * sinf(t));
    }
    if (i < n) {
        uint64_t r = ae_rng_next(rng);
        float u1 = (float)((r >> 40) + 1) * U24, u2 = (float)((r >> 16) & 0xFFFFFF) * U24;
        dst[i] = clip01(src[i] + amount * sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2));
    }
}

/* Two 24-bit uniforms per draw; a value is hit when its uniform < p. */
static void masking(float amount, int salt, float lo, float hi, ae_rng *rng, const float *src,
                    float *dst, size_t n)
{
    const uint32_t limit = (uint32_t)lroundf(amount * 16777216.0f);
    for (size_t i = 0; i < n; i += 2) {
        uint64_t r = ae_rng_next(rng);
        uint32_t a = (uint32_t)(r >> 40), b = (uint32_t)(r >> 16) & 0xFFFFFF;
        uint32_t c = (uint32_t)r & 0xFFFF; /* salt-or-pepper bits */
        dst[i] = a < limit ? (salt ? ((c & 1) ? hi : lo) : 0.0f) : src[i];
        if (i + 1 < n)
            dst[i + 1] = b < limit ? (salt ? (((c >> 1) & 1) ? hi : lo) : 0.0f) : src[i + 1];
    }
}

void ae__noise_apply_range(int noise, float amount, float lo, float hi, ae_rng *rng,
                           const float *src, float *dst, size_t n)
{
    switch (noise) {
    case AE_NOISE_GAUSSIAN:
        gaussian(amount, lo, hi, rng, src, dst, n);
        break;
    case AE_NOISE_MASKING:
        masking(amount, 0, lo, hi, rng, src, dst, n);
        break;
    case AE_NOISE_SALT_PEPPER:
        masking(amount, 1, lo, hi, rng, src, dst, n);
        break;
    default:
        if (dst != src)
            memmove(dst, src, n * sizeof(float));
        break;
    }
}

void ae__noise_apply(int noise, float amount, ae_rng *rng, const float *src, float *dst, size_t n)
{
    ae__noise_apply_range(noise, amount, 0.0f, 1.0f, rng, src, dst, n);
}

static int check_range(float lo, float hi, const char *who)
{
    if (!(isfinite(lo) && isfinite(hi) && lo < hi))
        return ae__error(AE_ERR_INVALID, "%s: noise range [%g, %g] must be finite with min < max",
                         who, (double)lo, (double)hi);
    return AE_OK;
}

int ae__noise_range(int noise, int clip_kind, float min, float max, const ae_dataset *data, float *lo,
                    float *hi, const char *who)
{
    if (clip_kind == AE_NOISE_CLIP_RANGE) {
        *lo = min;
        *hi = max;
        return check_range(min, max, who);
    }
    if (clip_kind != AE_NOISE_CLIP_DATA && clip_kind != AE_NOISE_CLIP_NONE)
        return ae__error(AE_ERR_INVALID, "%s: unknown noise_clip %d (0 data, 1 range, 2 none)", who,
                         clip_kind);
    const size_t count = ae_dataset_count(data), size = ae_dataset_sample_size(data);
    float a = INFINITY, b = -INFINITY;
    for (size_t i = 0; i < count; i++) {
        const float *x = ae__dataset_row(data, i);
        for (size_t j = 0; j < size; j++) {
            a = x[j] < a ? x[j] : a;
            b = x[j] > b ? x[j] : b;
        }
    }
    if (!(a <= b)) /* empty, or all NaN: the 1.0 range */
        a = 0.0f, b = 1.0f;
    *lo = a;
    *hi = b;
    if (clip_kind == AE_NOISE_CLIP_NONE && noise == AE_NOISE_GAUSSIAN)
        *lo = -INFINITY, *hi = INFINITY; /* no clip; salt and pepper keep the data's */
    return AE_OK;
}

static int noise_apply(float *x, size_t count, int noise, float amount, uint64_t seed, float lo,
                       float hi, const char *who)
{
    if (x == NULL)
        return AE__NULL_ARG(who, x);
    int rc = ae__check_count(count, 1, sizeof(float), "count", who);
    if (rc == AE_OK)
        rc = ae__noise_check(noise, amount, who);
    if (rc == AE_OK)
        rc = check_range(lo, hi, who);
    if (rc < 0)
        return rc;
    ae_rng rng;
    ae__rng_seed(&rng, seed);
    ae__noise_apply_range(noise, amount, lo, hi, &rng, x, x, count);
    return AE_OK;
}

int ae_noise_apply(float *x, size_t count, int noise, float amount, uint64_t seed)
{
    return noise_apply(x, count, noise, amount, seed, 0.0f, 1.0f, "ae_noise_apply");
}

int ae_noise_apply_range(float *x, size_t count, int noise, float amount, uint64_t seed, float lo,
                         float hi)
{
    return noise_apply(x, count, noise, amount, seed, lo, hi, "ae_noise_apply_range");
}
