/* SPDX-License-Identifier: MIT */
/*
 * count.c - the check every public function taking a count and a buffer
 * makes first (core.h): what cannot be a real buffer is refused before any
 * arithmetic on the count (chunking, scratch sizes) can wrap.
 */
#include <stdint.h>

#include "core/core.h"

static int check(size_t count, size_t per, size_t elem, const char *name, const char *who,
                 int too_large)
{
    size_t values, bytes;
    if (count == 0)
        return ae__error(AE_ERR_INVALID, "%s: %s is 0", who, name);
    if (per == 0)
        per = 1;
    if (!ae__mul_size(count, per, &values) || !ae__mul_size(values, elem, &bytes) ||
        bytes > (size_t)PTRDIFF_MAX)
        return ae__error(too_large,
                         "%s: %s is %zu: %zu items of %zu values of %zu bytes overflow any buffer"
                         " (an object holds at most %td bytes; an n - 1 with n = 0?)",
                         who, name, count, count, per, elem, PTRDIFF_MAX);
    return AE_OK;
}

int ae__check_count(size_t count, size_t per, size_t elem, const char *name, const char *who)
{
    return check(count, per, elem, name, who, AE_ERR_INVALID);
}

int ae__check_count_limit(size_t count, size_t per, size_t elem, const char *name,
                          const char *who)
{
    return check(count, per, elem, name, who, AE_ERR_LIMIT);
}
