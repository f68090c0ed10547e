/* SPDX-License-Identifier: MIT */
/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *fa_alloc(void *user, size_t size)
{
    failing_allocator *fa = user;
    fa->calls++;
    if (fa->fail_at != 0 && fa->calls == fa->fail_at)
        return NULL;
    void *p = aligned_alloc(64, (size + 63) / 64 * 64);
    if (p != NULL)
        fa->live++;
    return p;
}

static void fa_free(void *user, void *ptr, size_t size)
{
    failing_allocator *fa = user;
    (void)size;
    if (ptr != NULL)
        fa->live--;
    free(ptr);
}

void failing_allocator_install(failing_allocator *fa, size_t fail_at)
{
    ae_allocator a = AE_ALLOCATOR_INIT;
    memset(fa, 0, sizeof *fa);
    fa->fail_at = fail_at;
    a.user = fa;
    a.alloc = fa_alloc;
    a.free = fa_free;
    ck_assert_int_eq(ae_set_allocator(&a), AE_OK);
}

void failing_allocator_remove(void)
{
    ck_assert_int_eq(ae_set_allocator(NULL), AE_OK);
}

const char *test_tmpdir(void)
{
    static char dir[64];
    if (dir[0] == '\0') {
        snprintf(dir, sizeof dir, "/tmp/ae-test-XXXXXX");
        if (mkdtemp(dir) == NULL)
            ck_abort_msg("mkdtemp failed");
    }
    return dir;
}

uint64_t test_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

float test_rand_uniform(uint64_t *state)
{
    return (float)(test_rand_next(state) >> 40) * (1.0f / 16777216.0f);
}

void test_subspace_data(float *x, size_t count, size_t features, size_t rank,
                        uint64_t seed)
{
    uint64_t st = seed;
    float *basis = malloc(features * rank * sizeof *basis);
    float *z = malloc(rank * sizeof *z);
    ck_assert_ptr_nonnull(basis);
    ck_assert_ptr_nonnull(z);
    /* |B z| <= 1 when every entry of B is at most 1/rank in magnitude. */
    for (size_t i = 0; i < features * rank; i++)
        basis[i] = (2.0f * test_rand_uniform(&st) - 1.0f) / (float)rank;
    for (size_t s = 0; s < count; s++) {
        for (size_t k = 0; k < rank; k++)
            z[k] = 2.0f * test_rand_uniform(&st) - 1.0f;
        for (size_t j = 0; j < features; j++) {
            float v = 0.0f;
            for (size_t k = 0; k < rank; k++)
                v += basis[j * rank + k] * z[k];
            x[s * features + j] = 0.5f + 0.45f * v;
        }
    }
    free(z);
    free(basis);
}
