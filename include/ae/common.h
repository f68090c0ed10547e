/* SPDX-License-Identifier: MIT */
/**
 * @file ae/common.h
 * @brief Export macros, versions, error codes, error messages and allocator
 *        hooks shared by every libae header.
 *
 * Everything here is part of the stable ABI. Error codes are pinned: a value
 * never changes meaning, new codes are only ever added.
 */
#ifndef AE_COMMON_H
#define AE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a declaration as part of libae's exported interface. */
#if defined(AE_STATIC_BUILD)
#define AE_API
#elif defined(__GNUC__) && __GNUC__ >= 4
#define AE_API __attribute__((visibility("default")))
#else
#define AE_API
#endif

/* ------------------------------------------------------------------------ */
/* Versions                                                                 */
/* ------------------------------------------------------------------------ */

/** Major version: changes only when the ABI breaks (it is the SONAME). */
#define AE_VERSION_MAJOR 1
/** Minor version: grows when functions or appended struct fields are added. */
#define AE_VERSION_MINOR 1
/** Patch version: bug fixes only. */
#define AE_VERSION_PATCH 0
/** The version as one number, MAJOR * 10000 + MINOR * 100 + PATCH. */
#define AE_VERSION_NUMBER \
    (AE_VERSION_MAJOR * 10000 + AE_VERSION_MINOR * 100 + AE_VERSION_PATCH)
/** The version as a string, "MAJOR.MINOR.PATCH". */
#define AE_VERSION_STRING "1.1.0"

/**
 * The version of the library actually linked, as AE_VERSION_NUMBER would
 * spell it. Compare with AE_VERSION_NUMBER to see the header the program was
 * compiled against. Thread-safe.
 * @return MAJOR * 10000 + MINOR * 100 + PATCH of the linked library.
 */
AE_API unsigned ae_version(void);

/**
 * The linked library's version as a string. Thread-safe.
 * @return "MAJOR.MINOR.PATCH", a static string (never NULL, never freed).
 */
AE_API const char *ae_version_string(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * Status codes. Every function that can fail returns int: AE_OK (0) on
 * success or one of these negative values. The values are pinned forever.
 * On failure a function leaves its outputs untouched and leaks nothing;
 * ae_last_error() then tells what was wrong, with the numbers.
 */
enum ae_status {
    AE_OK = 0,                /**< success */
    AE_ERR_INVALID = -1,      /**< an argument is invalid (NULL, zero, out of range) */
                              /**< Typical causes: a NULL pointer, a zero count,
                               *   an unknown enum value, a struct_size below the
                               *   oldest layout (fill structs with their _INIT
                               *   macro). */
    AE_ERR_NOMEM = -2,        /**< an allocation failed */
                              /**< The allocator returned NULL, or a size
                               *   overflowed before it was asked. */
    AE_ERR_SHAPE = -3,        /**< tensor or sample shapes do not match */
                              /**< Typical causes: a dataset whose sample size is
                               *   not the model's input size, an encoder latent
                               *   shape the decoder does not take, an input a
                               *   layer cannot handle. */
    AE_ERR_IO = -4,           /**< a file could not be opened, read or written */
                              /**< The detail message gives the system's reason;
                               *   a failing read or write callback gives it too. */
    AE_ERR_FORMAT = -5,       /**< input data is malformed or truncated */
                              /**< Typical causes: a damaged model, IDX or CSV
                               *   file; stored state that a layer, PCA or
                               *   detector refuses. */
    AE_ERR_VERSION = -6,      /**< header/library or file version mismatch */
                              /**< Typical causes: a program compiled against
                               *   headers of another major version, a struct
                               *   newer than the library that sets fields it
                               *   does not know, a file or layer kind of a
                               *   newer version. */
    AE_ERR_NOT_FOUND = -7,    /**< a named thing (layer kind, file) does not exist */
                              /**< Also: a metadata key, an object the file does
                               *   not hold, a label no sample has. */
    AE_ERR_UNSUPPORTED = -8,  /**< the operation is not supported by this object */
                              /**< Typical causes: an IDX element type other than
                               *   unsigned byte, training through a layer kind
                               *   without backward(), unregistering a built-in
                               *   kind. */
    AE_ERR_NUMERIC = -9,      /**< a computation produced NaN or infinity */
                              /**< Typical causes: a training loss or weight that
                               *   diverged (lower the learning rate), NaN in PCA
                               *   input, a LAPACK failure. */
    AE_ERR_CANCELLED = -10,   /**< a user callback asked to stop */
                              /**< A training progress callback returned non-zero. */
    AE_ERR_STATE = -11,       /**< the call is not allowed in the object's current state */
                              /**< Typical causes: a detector or PCA not fitted
                               *   yet, an encoder or decoder that belongs to a
                               *   model, an optimizer bound to another model, a
                               *   network without layers, live allocations when
                               *   the allocator is changed. */
    AE_ERR_LIMIT = -12,       /**< a size or count exceeds a documented limit */
                              /**< Typical causes: AE_DATASET_MAX_COUNT,
                               *   AE_CSV_MAX_LINE, the model file limits, a size
                               *   whose product overflows size_t. */
    AE_ERR_CHECKSUM = -13,    /**< stored data failed its checksum */
                              /**< A model file section whose CRC-32 does not
                               *   match: the file was damaged after it was
                               *   written. */
    AE_ERR_EXISTS = -14       /**< the name is already taken (layer registration) */
                              /**< ae_layer_register() of a name that is
                               *   registered or built in. */
};

/**
 * A short, static English description of a status code, such as
 * "out of memory". Thread-safe.
 * @param status  an ae_status value (any int is accepted)
 * @return a static string, never NULL and never freed: unknown codes give
 *         "unknown error".
 */
AE_API const char *ae_strerror(int status);

/**
 * The detail message of the last failed libae call on this thread, such as
 * "dense: input has 780 features, layer expects 784". The message is
 * thread-local: a failure on one thread never changes another's.
 * Successful calls do not clear it: use the return code to detect errors,
 * this function to explain them.
 * @return the message, owned by the library: never NULL (an empty string
 *         when there is none), valid until the next libae call on the same
 *         thread.
 */
AE_API const char *ae_last_error(void);

/** Clears this thread's detail message (other threads' are untouched). */
AE_API void ae_clear_error(void);

/* ------------------------------------------------------------------------ */
/* Allocator hooks                                                          */
/* ------------------------------------------------------------------------ */

/**
 * A user allocator. alloc() returns memory aligned to at least 64 bytes
 * (libae hands it to BLAS kernels) or NULL; free() releases what alloc()
 * returned, with the size it was asked for, and accepts NULL. Both receive
 * @c user unchanged. OpenBLAS's own internal buffers are not covered. The
 * callbacks are called from whichever thread calls into libae, possibly
 * from several at once: they must be thread-safe.
 */
typedef struct ae_allocator {
    uint32_t struct_size; /**< sizeof(ae_allocator) as compiled by the caller */
    void *user;           /**< passed to both callbacks */
    void *(*alloc)(void *user, size_t size); /**< returns size bytes aligned to at least 64, or NULL */
    void (*free)(void *user, void *ptr, size_t size); /**< releases ptr (NULL allowed) of size bytes */
} ae_allocator;

/** Initializer for an ae_allocator (fill in alloc, free and user). */
#define AE_ALLOCATOR_INIT {sizeof(ae_allocator), NULL, NULL, NULL}

/**
 * Installs the process-wide allocator used for every libae allocation, or
 * restores libc's (aligned_alloc/free) when @p allocator is NULL.
 *
 * Call it before creating any libae object: while memory from the current
 * allocator is still in use it fails with AE_ERR_STATE and changes nothing.
 * Not thread-safe with respect to other libae calls.
 *
 * @param allocator  the hooks, copied (the struct need not outlive the
 *                   call; @c user must stay valid while the allocator is
 *                   installed), or NULL for libc's
 * @return AE_OK, AE_ERR_INVALID (struct_size too small or a NULL callback),
 *         AE_ERR_VERSION (a newer struct that sets fields this library does
 *         not know) or AE_ERR_STATE (blocks from the current allocator are
 *         still live).
 */
AE_API int ae_set_allocator(const ae_allocator *allocator);

/**
 * Number of blocks libae has allocated and not yet freed (leak checks).
 * Thread-safe (an atomic counter).
 * @return the count of live blocks, 0 when every object has been destroyed.
 */
AE_API size_t ae_live_allocations(void);

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */
/* ------------------------------------------------------------------------ */

/** Most threads ae_set_num_threads() accepts. */
#define AE_MAX_THREADS 1024

/**
 * Sets how many threads libae's computations may use, process-wide.
 * Training (1.1 on) splits each step of a large enough batch between the
 * calling thread and up to n - 1 worker threads of libae's own: a dense
 * layer's products and element-wise work by rows of the batch and by
 * units, a convolution's (conv2d, conv2d_transpose, 1.1) by samples, the
 * loss, the gathering of a shuffled batch, and the optimizer update (models
 * from 32,768 parameters after a batch of 32 rows or more, else from
 * 262,144), each product then on one BLAS thread; a step uses at most as
 * many of these threads as there are processors online (a convolution at
 * most 4). The workers are started the first time a step needs them, spin
 * up to a millisecond after each piece of work, then sleep until the next;
 * they end with the process (or when libae is unloaded), and a child of
 * fork() starts its own. Other products (dense layers at batches too small
 * to split) go to OpenBLAS with that many threads;
 * products too small to gain from more threads always run on one, so a
 * larger setting never slows a small problem down. Inference (encode,
 * decode, reconstruct, and what is built on them) shares its chunks of 256
 * samples between the calling thread and up to n - 1 threads it starts for
 * the call, each product on one BLAS thread.
 *
 * The default, read once the first time libae needs it: the environment
 * variable AE_NUM_THREADS when it holds an integer from 1 to AE_MAX_THREADS
 * (anything else is ignored), else OpenBLAS's own count at that moment
 * (OPENBLAS_NUM_THREADS, or the number of cores).
 *
 * Determinism: inference results depend only on the inputs and the count,
 * never on the setting. Training with the same seed, data, options and
 * setting gives the same bits; another setting may change the last bits,
 * because the work is split differently (a product's rows run on other
 * kernels, OpenBLAS splits products its own way, the loss adds per-thread
 * sums).
 *
 * libae calls openblas_set_num_threads() itself before its products; a
 * program that also uses OpenBLAS directly should set its own count before
 * each of its calls. Thread-safe. A change made while other threads run
 * libae calls applies to their next products. Training while other threads
 * train or infer with a setting above 1 is safe too, but OpenBLAS's count
 * is process-wide: a concurrent call may run a product on fewer threads
 * (slower, and for training different in the last bits).
 *
 * @param n 1 to AE_MAX_THREADS, or 0 to restore the default.
 * @return AE_OK or AE_ERR_INVALID (n negative or above AE_MAX_THREADS).
 */
AE_API int ae_set_num_threads(int n);

/**
 * The current thread setting. Thread-safe.
 * @return the count ae_set_num_threads() set, or the default; at least 1.
 */
AE_API int ae_get_num_threads(void);

/* ------------------------------------------------------------------------ */
/* Shapes                                                                   */
/* ------------------------------------------------------------------------ */

/** Maximum rank of a per-sample shape. */
#define AE_MAX_RANK 4

/**
 * The shape of one sample (the batch dimension is never part of it).
 * Dense data is rank 1 ({1, {784}}); images are rank 3 in channel-first
 * order, {3, {C, H, W}}. Unused dims must be 0. Tensors are float32,
 * row-major, batch-first: sample i starts at i * (product of dims).
 */
typedef struct ae_shape {
    uint32_t rank;              /**< number of dims used, 1 to AE_MAX_RANK */
    uint32_t dims[AE_MAX_RANK]; /**< the sizes; dims past the rank are 0 */
} ae_shape;

#ifdef __cplusplus
}
#endif
#endif /* AE_COMMON_H */
