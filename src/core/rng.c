/* SPDX-License-Identifier: MIT */
/*
 * rng.c - xoshiro256** (Blackman & Vigna), seeded through splitmix64.
 * Same seed, same stream, on every platform.
 */
#include <math.h>

#include "core.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void ae__rng_seed(ae_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&seed);
}

uint64_t ae_rng_next(ae_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float ae_rng_uniform(ae_rng *rng)
{
    /* 24 random bits: every value is exactly representable, never 1.0. */
    return (float)(ae_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

float ae_rng_normal(ae_rng *rng)
{
    /* Box-Muller in double; u1 in (0, 1] keeps log finite. */
    double u1 = ((double)(ae_rng_next(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(ae_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t ae__rng_below(ae_rng *rng, uint64_t n)
{
    /* Lemire's nearly divisionless method would do; rejection is simpler. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = ae_rng_next(rng);
    } while (r >= limit);
    return r % n;
}
