/* SPDX-License-Identifier: MIT */
/*
 * index.h - what the model file code needs of a nearest-neighbour index
 * (src/analysis/search.c) beyond the public ae/search.h: the stored
 * vectors without a copy, and building an index from a file's
 * little-endian floats.
 */
#ifndef AE_ANALYSIS_INDEX_H
#define AE_ANALYSIS_INDEX_H

#include <stddef.h>

#include "ae/search.h"

/* The count * dim stored floats, row-major. */
const float *ae__index_vectors(const ae_index *idx);

/* Builds an index from count * dim little-endian binary32 values at
 * @p bytes (any alignment), as ae_index_create() would from the floats;
 * @p who names the caller in messages. */
int ae__index_from_le(ae_index **out, const unsigned char *bytes, size_t count, size_t dim,
                      int metric, const char *who);

#endif
