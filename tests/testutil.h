/* testutil.h - helpers shared by the Check suites. */
#ifndef AE_TESTUTIL_H
#define AE_TESTUTIL_H

#include <stddef.h>

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

#endif
