/* SPDX-License-Identifier: MIT */
/**
 * @file ae/dataset.h
 * @brief Datasets: samples (float32, one ae_shape each) with optional labels.
 *
 * A dataset is an immutable block of samples plus an ordered view of it.
 * Subsets, selections and splits share the parent's block (no copy) and stay
 * valid after the parent is destroyed. Reading a dataset from several threads
 * at once is safe; ae_dataset_shuffle() is the only call that changes one.
 *
 * @code
 * ae_dataset *train;
 * int rc = ae_dataset_load_idx(&train,
 *     "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
 *     "/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz", 0);
 * if (rc < 0) fprintf(stderr, "%s: %s\n", ae_strerror(rc), ae_last_error());
 * @endcode
 */
#ifndef AE_DATASET_H
#define AE_DATASET_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque dataset handle. */
typedef struct ae_dataset ae_dataset;

/** Flags for ae_dataset_from_memory(). */
enum ae_dataset_flags {
    AE_DATASET_COPY = 0,  /**< copy the caller's arrays (default) */
    AE_DATASET_BORROW = 1 /**< use the caller's arrays in place: they must stay
                               alive and unchanged while any dataset made from
                               them (subsets included) exists */
};

/** Flags for ae_dataset_load_idx(). */
enum ae_idx_flags {
    AE_IDX_SCALE = 0,   /**< divide unsigned-byte values by 255 into [0,1] (default) */
    AE_IDX_NO_SCALE = 1 /**< keep the raw values */
};

/**
 * Options of ae_dataset_load_idx_opts() (added in 1.1.0). Start from
 * AE_IDX_OPTIONS_INIT.
 */
typedef struct ae_idx_options {
    uint32_t struct_size; /**< sizeof(ae_idx_options) */
    unsigned flags;       /**< ae_idx_flags: AE_IDX_SCALE or AE_IDX_NO_SCALE */
    uint64_t max_bytes;   /**< most bytes the dataset may take (the samples as
                               floats plus the labels as int32): a header
                               declaring more fails with AE_ERR_LIMIT before
                               any data are read; 0: no limit but the
                               file's */
} ae_idx_options;

/** Defaults: values scaled to [0, 1], no byte limit. */
#define AE_IDX_OPTIONS_INIT {sizeof(ae_idx_options), AE_IDX_SCALE, 0}

/** Most samples a dataset holds (2^31 - 1). */
#define AE_DATASET_MAX_COUNT 2147483647u

/** @cond AE_INTERNAL */
AE_API int ae_dataset_from_memory_v(ae_dataset **out, const float *data,
                                    const int32_t *labels, size_t count,
                                    const ae_shape *shape, unsigned flags,
                                    unsigned header_version);
AE_API int ae_dataset_load_idx_v(ae_dataset **out, const char *images_path,
                                 const char *labels_path, unsigned flags,
                                 unsigned header_version);
AE_API int ae_dataset_load_idx_opts_v(ae_dataset **out, const char *images_path,
                                      const char *labels_path,
                                      const ae_idx_options *opts,
                                      unsigned header_version);
/** @endcond */

/**
 * Makes a dataset of @p count samples of shape @p shape from memory.
 * Thread-safe (several datasets may be made at once).
 *
 * Macro arguments: (out, data, labels, count, shape, flags):
 * - @p out (ae_dataset **): receives the new dataset (untouched on
 *   failure). The caller owns it: free it with ae_dataset_destroy().
 * - @p data (const float *): count * (product of shape dims) floats,
 *   sample-major.
 * - @p labels (const int32_t *): count labels, or NULL for an unlabelled
 *   dataset.
 * - @p count (size_t): samples, 1 to AE_DATASET_MAX_COUNT.
 * - @p shape (const ae_shape *): the per-sample shape (copied).
 * - @p flags (unsigned): AE_DATASET_COPY copies @p data and @p labels (the
 *   caller may free them on return); AE_DATASET_BORROW keeps pointers to
 *   them instead: they stay the caller's, and must stay alive and
 *   unchanged until every dataset made from them (subsets, selections and
 *   splits included) is destroyed.
 *
 * @return AE_OK, AE_ERR_INVALID (NULL out, data or shape, count 0, unknown
 *         flags), AE_ERR_SHAPE (rank not 1 to AE_MAX_RANK, a zero dim, or a
 *         dim set past the rank), AE_ERR_LIMIT (count above
 *         AE_DATASET_MAX_COUNT, or the size overflows), AE_ERR_NOMEM or
 *         AE_ERR_VERSION (header and library majors differ).
 */
#define ae_dataset_from_memory(...) ae_dataset_from_memory_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Reads IDX files (the MNIST format), plain or gzip-compressed (detected
 * from the content, not the name). The images file gives the samples: an
 * unsigned-byte IDX of rank 2 to 4; rank 3 files (N, H, W) become samples
 * of shape {1, H, W} (channel-first, one channel), rank 4 files (N, C, H, W)
 * become {C, H, W}, rank 2 files (N, F) become {F}. The optional labels file
 * is an unsigned-byte rank-1 IDX with the same count. Each file must hold
 * exactly the data its header declares: one rule for plain and gzip files,
 * nothing may follow the data (since 1.1.0 this includes bytes after the
 * end of a gzip stream that are not another gzip member; gzip files of
 * several members are read as one stream). Memory: the dataset is
 * allocated once, at its exact size, when the file can hold it (a gzip
 * file declaring more than 16 times its size is first inflated once to
 * check that it does); from a pipe it grows as data arrive. Use
 * ae_dataset_load_idx_opts() to cap the bytes a file may make the loader
 * allocate. zlib's internal buffers are not allocated through the
 * allocator hooks. Thread-safe (several files may load at once).
 *
 * Macro arguments: (out, images_path, labels_path, flags):
 * - @p out (ae_dataset **): receives the new dataset (untouched on
 *   failure). The caller owns it: free it with ae_dataset_destroy(). It
 *   holds its own copy of the data; the files are closed on return.
 * - @p images_path (const char *): the images file.
 * - @p labels_path (const char *): the labels file, or NULL for an
 *   unlabelled dataset.
 * - @p flags (unsigned): AE_IDX_SCALE (values / 255) or AE_IDX_NO_SCALE.
 *
 * @return AE_OK, AE_ERR_INVALID (NULL out or images_path, unknown flags),
 *         AE_ERR_IO (cannot open/read), AE_ERR_FORMAT
 *         (bad magic, rank below 2, truncated, trailing bytes, counts
 *         disagree), AE_ERR_UNSUPPORTED (element type other than unsigned
 *         byte, rank above 4), AE_ERR_LIMIT (dimensions overflow or exceed
 *         AE_DATASET_MAX_COUNT), AE_ERR_NOMEM, AE_ERR_VERSION.
 */
#define ae_dataset_load_idx(...) ae_dataset_load_idx_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * ae_dataset_load_idx() with options (added in 1.1.0): the flags, and a
 * limit on the bytes the dataset may take, checked against the headers
 * before any data are read (for a service loading files it does not
 * trust).
 *
 * Macro arguments: (out, images_path, labels_path, opts): as for
 * ae_dataset_load_idx(), with @p opts (const ae_idx_options *) read during
 * the call only; NULL means AE_IDX_OPTIONS_INIT.
 *
 * @return as ae_dataset_load_idx(); also AE_ERR_LIMIT when the samples (as
 *         floats) and labels would take more than opts->max_bytes, and
 *         AE_ERR_INVALID (NULL, unknown flags, struct_size smaller than the
 *         first layout) or AE_ERR_VERSION (a newer options struct setting
 *         fields this library does not know).
 */
#define ae_dataset_load_idx_opts(...) ae_dataset_load_idx_opts_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Frees a dataset. Other views of the same data (subsets, selections,
 * splits) live on; the samples are freed with the last of them. Not while
 * another thread uses @p ds.
 * @param ds  the dataset, or NULL (a no-op)
 */
AE_API void ae_dataset_destroy(ae_dataset *ds);

/**
 * Number of samples in the view.
 * @param ds  the dataset, or NULL
 * @return the count (at least 1), 0 for NULL.
 */
AE_API size_t ae_dataset_count(const ae_dataset *ds);

/**
 * Floats per sample (product of the shape's dims).
 * @param ds  the dataset, or NULL
 * @return the sample size, 0 for NULL.
 */
AE_API size_t ae_dataset_sample_size(const ae_dataset *ds);

/**
 * Writes the per-sample shape to @p out.
 * @param ds        the dataset
 * @param[out] out  the shape (untouched on failure)
 * @return AE_OK or AE_ERR_INVALID (NULL).
 */
AE_API int ae_dataset_shape(const ae_dataset *ds, ae_shape *out);

/**
 * Whether the dataset has labels.
 * @param ds  the dataset, or NULL
 * @return 1 when it has labels, 0 when not or when @p ds is NULL.
 */
AE_API int ae_dataset_has_labels(const ae_dataset *ds);

/**
 * Pointer to sample @p index of the view, without a copy.
 * @param ds     the dataset
 * @param index  position in the view, < ae_dataset_count(ds)
 * @return sample_size floats owned by the dataset's data (read-only),
 *         valid while any view of that data exists (and, for
 *         AE_DATASET_BORROW, while the caller's arrays do); NULL when
 *         @p ds is NULL or index >= count (the detail message says which).
 */
AE_API const float *ae_dataset_sample(const ae_dataset *ds, size_t index);

/**
 * Reads the label of sample @p index.
 * @param ds        the dataset
 * @param index     position in the view, < ae_dataset_count(ds)
 * @param[out] out  the label (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, index out of range) or
 *         AE_ERR_STATE (the dataset has no labels).
 */
AE_API int ae_dataset_label(const ae_dataset *ds, size_t index, int32_t *out);

/**
 * Copies samples [first, first + count) of the view into @p x
 * (count * sample_size floats) and, when @p labels is not NULL, their labels.
 * @param ds           the dataset
 * @param first        first position in the view
 * @param count        samples, >= 1; first + count <= ae_dataset_count(ds)
 * @param[out] x       count * sample_size floats (untouched on failure)
 * @param[out] labels  count labels, or NULL when not wanted (untouched on
 *                     failure)
 * @return AE_OK, AE_ERR_INVALID (NULL ds or x, zero count, range past the
 *         end) or AE_ERR_STATE (labels asked of an unlabelled dataset).
 */
AE_API int ae_dataset_get_batch(const ae_dataset *ds, size_t first, size_t count,
                                float *x, int32_t *labels);

/**
 * A view of samples [first, first + count) of @p ds, sharing its data.
 * @param[out] out  the new view (untouched on failure). The caller owns it:
 *                  free it with ae_dataset_destroy(); it stays valid after
 *                  @p ds is destroyed.
 * @param ds        the dataset (only read)
 * @param first     first position in the view of @p ds
 * @param count     samples, >= 1; first + count <= ae_dataset_count(ds)
 * @return AE_OK, AE_ERR_INVALID (NULL, count 0, range past the end) or
 *         AE_ERR_NOMEM.
 */
AE_API int ae_dataset_subset(ae_dataset **out, const ae_dataset *ds,
                             size_t first, size_t count);

/**
 * A view of the samples of @p ds at @p indices (in that order; repeats
 * allowed), sharing its data.
 * @param[out] out  the new view (untouched on failure); the caller owns it
 *                  (ae_dataset_destroy()), and it outlives @p ds
 * @param ds        the dataset (only read)
 * @param indices   @p count positions in the view of @p ds (copied)
 * @param count     entries, 1 to AE_DATASET_MAX_COUNT
 * @return AE_OK, AE_ERR_INVALID (NULL, an index out of range, count 0),
 *         AE_ERR_LIMIT (count above AE_DATASET_MAX_COUNT) or AE_ERR_NOMEM.
 */
AE_API int ae_dataset_select(ae_dataset **out, const ae_dataset *ds,
                             const size_t *indices, size_t count);

/**
 * A view of the samples of @p ds whose label is @p label, in the view's
 * order.
 * @param[out] out  the new view (untouched on failure); the caller owns it
 *                  (ae_dataset_destroy()), and it outlives @p ds
 * @param ds        a labelled dataset (only read)
 * @param label     the label to keep
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_STATE (no labels),
 *         AE_ERR_NOT_FOUND (no sample has that label) or AE_ERR_NOMEM.
 */
AE_API int ae_dataset_filter_label(ae_dataset **out, const ae_dataset *ds,
                                   int32_t label);

/**
 * Splits @p ds at random (seeded) into two views: @p first gets
 * round(fraction * count) samples, @p second the rest. Both must be
 * non-empty. The same seed gives the same split on every machine.
 * @param[out] first   the first view; the caller owns it
 *                     (ae_dataset_destroy()), and it outlives @p ds
 * @param[out] second  the other view, owned likewise
 * @param ds           the dataset (only read)
 * @param fraction     share of the samples for @p first, in (0, 1)
 * @param seed         seeds the permutation
 * @return AE_OK, AE_ERR_INVALID (NULL, first == second, fraction outside
 *         (0,1), a part would be empty) or AE_ERR_NOMEM; on failure neither
 *         output is written.
 */
AE_API int ae_dataset_split(ae_dataset **first, ae_dataset **second,
                            const ae_dataset *ds, double fraction,
                            uint64_t seed);

/**
 * Reorders the view at random with a seeded generator (the same seed gives
 * the same order on every machine). The samples themselves do not move;
 * other views of the same data keep their order. Not safe while another
 * thread reads @p ds.
 * @param ds    the dataset
 * @param seed  seeds the permutation
 * @return AE_OK, AE_ERR_INVALID (NULL) or AE_ERR_NOMEM (the view's first
 *         shuffle allocates its index); on failure the order is unchanged.
 */
AE_API int ae_dataset_shuffle(ae_dataset *ds, uint64_t seed);

/* ------------------------------------------------------------------------ */
/* CSV                                                                      */
/* ------------------------------------------------------------------------ */

/** Longest line ae_dataset_load_csv() accepts, in bytes (end of line excluded). */
#define AE_CSV_MAX_LINE 1048576u
/** Most columns (label column included) ae_dataset_load_csv() accepts in a row. */
#define AE_CSV_MAX_COLUMNS 65536u
/** ae_csv_options.label_column: the file has no label column. */
#define AE_CSV_NO_LABEL (-1)
/** ae_csv_options.label_column: the last column holds the labels. */
#define AE_CSV_LAST_COLUMN (-2)

/** Options of ae_dataset_load_csv(). Start from AE_CSV_OPTIONS_INIT. */
typedef struct ae_csv_options {
    uint32_t struct_size; /**< sizeof(ae_csv_options) */
    int header;           /**< 1: the first non-blank line holds column names and
                               is skipped unread; 0: every line is data */
    int label_column;     /**< 0-based index of the column of integer labels,
                               AE_CSV_LAST_COLUMN or AE_CSV_NO_LABEL */
    char delimiter;       /**< the cell separator: ',', ';', '\\t' or '|' */
    /* Appended in 1.1 */
    uint64_t max_bytes;   /**< most bytes the dataset may take (the samples
                               as floats plus the labels as int32): a file
                               with more rows fails with AE_ERR_LIMIT, naming
                               the line, and the loader never reserves more;
                               0: no limit but AE_DATASET_MAX_COUNT rows */
} ae_csv_options;

/** Defaults: no header, no label column, comma-separated, no byte limit. */
#define AE_CSV_OPTIONS_INIT {sizeof(ae_csv_options), 0, AE_CSV_NO_LABEL, ',', 0}

/** @cond AE_INTERNAL */
AE_API int ae_dataset_load_csv_v(ae_dataset **out, const char *path,
                                 const ae_csv_options *opts,
                                 unsigned header_version);
/** @endcond */

/**
 * Reads a CSV file of numbers: one sample per line, one feature per cell,
 * for tabular and time-series data (an ECG beat per row). Samples get the
 * shape {F} (rank 1), F being the number of columns less the label column;
 * the label column, if any, holds integers (written as 3, 3.0 or 3e0) that
 * become the labels. Every row must have the same number of cells.
 *
 * Cells are parsed as C numbers with '.' as decimal point whatever the
 * locale; spaces and tabs around a cell and one pair of double quotes are
 * ignored; empty cells, NaN and infinities are refused, and so are values
 * outside the float range. Lines end with LF or CRLF; blank lines are
 * skipped; a UTF-8 byte-order mark is ignored.
 *
 * Limits: AE_CSV_MAX_LINE bytes per line, AE_CSV_MAX_COLUMNS columns,
 * AE_DATASET_MAX_COUNT rows, and opts->max_bytes when set (since 1.1.0)
 * (AE_ERR_LIMIT beyond them).
 *
 * Every error message names the file, the line and the column, both counted
 * from 1 as editors and spreadsheets show them, e.g.
 * "data.csv: line 7, column 3: 'abc' is not a number".
 *
 * Thread-safe (it shares nothing; several files may load at once) as long
 * as no thread changes the C locale meanwhile.
 *
 * Macro arguments: (out, path, opts):
 * - @p out (ae_dataset **): receives the new dataset (untouched on
 *   failure). The caller owns it: free it with ae_dataset_destroy().
 * - @p path (const char *): the file, closed on return.
 * - @p opts (const ae_csv_options *): read during the call only; NULL
 *   means AE_CSV_OPTIONS_INIT.
 *
 * @return AE_OK; AE_ERR_INVALID (NULL, bad options); AE_ERR_IO (cannot
 *         open or read); AE_ERR_FORMAT (a cell is not a number, a row has
 *         too few or too many cells, no data rows, a label is not an
 *         integer, the label column is past the last column, no feature
 *         column left); AE_ERR_LIMIT (see Limits; a label_column past
 *         AE_CSV_MAX_COLUMNS); AE_ERR_NOMEM; AE_ERR_VERSION (headers of
 *         another major version, or a newer options struct setting fields
 *         this library does not know).
 */
#define ae_dataset_load_csv(...) ae_dataset_load_csv_v(__VA_ARGS__, AE_VERSION_NUMBER)

#ifdef __cplusplus
}
#endif
#endif /* AE_DATASET_H */
