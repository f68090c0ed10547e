/* SPDX-License-Identifier: MIT */
/* shape.c - per-sample shape helpers. */
#include <stdio.h>

#include "core.h"

size_t ae__shape_size(const ae_shape *shape)
{
    if (shape == NULL || shape->rank == 0 || shape->rank > AE_MAX_RANK)
        return 0;
    size_t n = 1;
    for (uint32_t i = 0; i < shape->rank; i++)
        if (!ae__mul_size(n, shape->dims[i], &n))
            return 0;
    return n;
}

int ae__shape_check(const ae_shape *shape, const char *what)
{
    if (shape == NULL)
        return ae__error(AE_ERR_INVALID, "%s: shape is NULL", what);
    if (shape->rank == 0 || shape->rank > AE_MAX_RANK)
        return ae__error(AE_ERR_INVALID, "%s: shape rank %u, expected 1 to %d", what,
                         shape->rank, AE_MAX_RANK);
    for (uint32_t i = 0; i < AE_MAX_RANK; i++) {
        if (i < shape->rank && shape->dims[i] == 0)
            return ae__error(AE_ERR_INVALID, "%s: shape dim %u is 0", what, i);
        if (i >= shape->rank && shape->dims[i] != 0)
            return ae__error(AE_ERR_INVALID, "%s: shape dim %u is %u past rank %u (must be 0)",
                             what, i, shape->dims[i], shape->rank);
    }
    size_t n = ae__shape_size(shape);
    if (n == 0 || n > (size_t)INT32_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: shape has more than 2^31-1 elements", what);
    return AE_OK;
}

int ae__shape_equal(const ae_shape *a, const ae_shape *b)
{
    if (a->rank != b->rank)
        return 0;
    for (uint32_t i = 0; i < a->rank && i < AE_MAX_RANK; i++)
        if (a->dims[i] != b->dims[i])
            return 0;
    return 1;
}

const char *ae__shape_str(const ae_shape *shape, char *buf, size_t size)
{
    int used = snprintf(buf, size, "{");
    for (uint32_t i = 0; i < shape->rank && i < AE_MAX_RANK && used > 0 && (size_t)used < size; i++)
        used += snprintf(buf + used, size - (size_t)used, i ? ", %u" : "%u", shape->dims[i]);
    if (used > 0 && (size_t)used < size)
        snprintf(buf + used, size - (size_t)used, "}");
    return buf;
}
