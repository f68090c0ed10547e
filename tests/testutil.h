/* SPDX-License-Identifier: MIT */
/* testutil.h - helpers shared by the Check suites. */
#ifndef AE_TESTUTIL_H
#define AE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ae.h"

/* A libc-backed allocator that counts calls and can fail the Nth one
 * (1-based; 0 = never). Install with failing_allocator_install(). */
typedef struct failing_allocator {
    size_t calls;   /* alloc() calls so far */
    size_t fail_at; /* the call that returns NULL, 0 for none */
    size_t live;    /* blocks outstanding */
} failing_allocator;

/* Installs a (reset) counting allocator failing at call fail_at. */
void failing_allocator_install(failing_allocator *fa, size_t fail_at);
/* Restores libc's allocator. */
void failing_allocator_remove(void);

/* A temporary directory for the calling test (created on first use). */
const char *test_tmpdir(void);

/* A tiny seeded generator for test data (splitmix64), independent of the
 * library's own: next 64 bits, and a uniform float in [0, 1). */
uint64_t test_rand_next(uint64_t *state);
float test_rand_uniform(uint64_t *state);

/* Fills x (count * features floats) with samples on an affine subspace of
 * dimension rank: x = 0.5 + 0.45 * B z with z uniform in [-1, 1]^rank and
 * B fixed by seed, scaled so that every value lies in [0.05, 0.95]. */
void test_subspace_data(float *x, size_t count, size_t features, size_t rank,
                        uint64_t seed);

#endif
