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
