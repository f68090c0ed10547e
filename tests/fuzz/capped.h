/* SPDX-License-Identifier: MIT */
/*
 * capped.h - the allocator the fuzz targets install through the public
 * hook, as docs/format.md advises for untrusted input: blocks over 64 MiB
 * and more than 256 MiB live are refused (the library then reports
 * AE_ERR_NOMEM), so a hostile input cannot make a run exhaust memory.
 */
#ifndef AE_FUZZ_CAPPED_H
#define AE_FUZZ_CAPPED_H

#include <stdlib.h>

#include "ae.h"

#define BLOCK_CAP ((size_t)64 << 20)
#define LIVE_CAP ((size_t)256 << 20)

static size_t live_bytes;

static void *capped_alloc(void *user, size_t size)
{
    (void)user;
    if (size > BLOCK_CAP || live_bytes + size > LIVE_CAP)
        return NULL;
    void *p = aligned_alloc(64, (size + 63) / 64 * 64);
    if (p != NULL)
        live_bytes += size;
    return p;
}

static void capped_free(void *user, void *ptr, size_t size)
{
    (void)user;
    if (ptr != NULL)
        live_bytes -= size;
    free(ptr);
}

/* Installs the capped allocator; aborts if the library refuses it. */
static void capped_install(void)
{
    ae_allocator a = AE_ALLOCATOR_INIT;
    a.alloc = capped_alloc;
    a.free = capped_free;
    if (ae_set_allocator(&a) != AE_OK)
        abort();
}

#endif
