/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - every libae allocation goes through the installed allocator.
 * Each block carries a 64-byte header holding its size, so ae__free() can
 * give the user's free() the size it asked for and the data stays 64-byte
 * aligned for BLAS.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "kernels.h"

#define AE_ALIGN 64

static void *libc_alloc(void *user, size_t size)
{
    (void)user;
    size_t rounded = ae__round_up(size, AE_ALIGN);
    return aligned_alloc(AE_ALIGN, rounded);
}

static void libc_free(void *user, void *ptr, size_t size)
{
    (void)user;
    (void)size;
    free(ptr);
}

static ae_allocator current = {sizeof(ae_allocator), NULL, libc_alloc, libc_free};
static atomic_size_t live_blocks;

int ae_set_allocator(const ae_allocator *allocator)
{
    ae_allocator a = AE_ALLOCATOR_INIT;
    if (allocator != NULL) {
        int rc = ae__take_struct(&a, allocator, AE__LAYOUT_END(ae_allocator, free), sizeof a,
                                 "ae_set_allocator");
        if (rc < 0)
            return rc;
        allocator = &a;
        if (allocator->alloc == NULL || allocator->free == NULL)
            return ae__error(AE_ERR_INVALID, "ae_set_allocator: alloc and free must both be set");
    }
    size_t live = atomic_load(&live_blocks);
    if (live != 0)
        return ae__error(AE_ERR_STATE,
                         "ae_set_allocator: %zu blocks from the current allocator are still in use;"
                         " destroy every libae object first", live);
    if (allocator == NULL) {
        current.user = NULL;
        current.alloc = libc_alloc;
        current.free = libc_free;
    } else {
        current.user = allocator->user;
        current.alloc = allocator->alloc;
        current.free = allocator->free;
    }
    return AE_OK;
}

size_t ae_live_allocations(void) { return atomic_load(&live_blocks); }

static _Thread_local int budget_on, budget_hit;
static _Thread_local size_t budget_left;

void ae__alloc_budget_begin(size_t bytes)
{
    budget_on = 1;
    budget_hit = 0;
    budget_left = bytes;
}

int ae__alloc_budget_end(void)
{
    int hit = budget_hit;
    budget_on = budget_hit = 0;
    return hit;
}

void *ae__alloc(size_t size)
{
    size_t total;
    if (size == 0)
        size = 1;
    if (!ae__add_size(size, AE_ALIGN, &total)) {
        ae__error(AE_ERR_NOMEM, "allocation of %zu bytes overflows", size);
        return NULL;
    }
    if (budget_on) {
        if (total > budget_left) {
            budget_hit = 1;
            ae__error(AE_ERR_NOMEM, "allocation of %zu bytes passes the %zu bytes left in this"
                      " operation's budget", size, budget_left);
            return NULL;
        }
        budget_left -= total;
    }
    unsigned char *block = current.alloc(current.user, total);
    if (block == NULL) {
        ae__error(AE_ERR_NOMEM, "out of memory allocating %zu bytes", size);
        return NULL;
    }
    memcpy(block, &total, sizeof total);
    atomic_fetch_add(&live_blocks, 1);
    return block + AE_ALIGN;
}

void *ae__calloc(size_t count, size_t size)
{
    size_t bytes;
    if (!ae__mul_size(count, size, &bytes)) {
        ae__error(AE_ERR_NOMEM, "allocation of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    void *p = ae__alloc(bytes);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

void ae__free(void *ptr)
{
    if (ptr == NULL)
        return;
    unsigned char *block = (unsigned char *)ptr - AE_ALIGN;
    size_t total;
    memcpy(&total, block, sizeof total);
    atomic_fetch_sub(&live_blocks, 1);
    current.free(current.user, block, total);
}

char *ae__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = ae__alloc(n);
    if (copy != NULL)
        memcpy(copy, s, n);
    return copy;
}
