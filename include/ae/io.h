/* SPDX-License-Identifier: MIT */
/**
 * @file ae/io.h
 * @brief Model files: save and load a model, an encoder or a decoder
 *        (optionally with the optimizer state, training settings and
 *        history, user metadata, a PCA, an anomaly detector and a
 *        nearest-neighbour index) through a
 *        path, a memory buffer or user callbacks; inspect a file.
 *
 * The byte layout, the limits a reader enforces and the compatibility
 * promise are in docs/format.md (format 1.0). In short: little-endian
 * fixed-width fields, a PNG-style magic, CRC-32 per section, 64-byte
 * aligned tensor data, an explicit file length, and a reader that treats
 * every byte as hostile.
 *
 * @code
 * // train, save with the optimizer so training can resume bit for bit
 * ae_save_options so = AE_SAVE_OPTIONS_INIT;
 * so.optimizer = opt;
 * rc = ae_model_save(model, "model.aem", &so);
 *
 * // another program: only the encoder
 * ae_encoder *enc;
 * rc = ae_encoder_load(&enc, "model.aem");
 *
 * // everything, from memory
 * ae_file *f;
 * rc = ae_file_open_memory(&f, data, size, NULL);
 * rc = ae_file_load_model(&model, f);
 * rc = ae_file_load_optimizer(&opt, f, model);
 * const char *author;
 * if (ae_file_metadata_get(f, "author", &author) == AE_OK) ...
 * ae_file_close(f);
 * @endcode
 *
 * Saving never changes the objects saved. Saving to a path is atomic: the
 * bytes go to a temporary file in the same folder, which is flushed,
 * fsync()ed and renamed over the path, and the folder is fsync()ed; an
 * interrupted save leaves the old file (if any) untouched.
 *
 * Thread safety: saving an object while another thread trains it is not
 * allowed; an open ae_file may be read by several threads at once.
 */
#ifndef AE_IO_H
#define AE_IO_H

#include "anomaly.h"
#include "common.h"
#include "decoder.h"
#include "encoder.h"
#include "model.h"
#include "optimizer.h"
#include "pca.h"
#include "search.h"
#include "train.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Format version libae writes (docs/format.md); it reads major 1. */
#define AE_FILE_FORMAT_MAJOR 1
/** The newest minor format version libae writes. A file says the lowest
 *  minor that holds what it stores: 1 with an index (section KNNI) or a
 *  model's scaler (section SCAL), both added in 1.1, else 0, so files
 *  without them stay 1.0 files. */
#define AE_FILE_FORMAT_MINOR 1

/** Largest file a reader accepts unless told a smaller limit. */
#define AE_FILE_MAX_SIZE ((uint64_t)1 << 36)
/** Most user metadata pairs in a file. */
#define AE_FILE_METADATA_MAX 1024u
/** Longest metadata key (bytes; printable ASCII without space). */
#define AE_FILE_KEY_MAX 255u
/** Longest metadata value (bytes; no NUL). */
#define AE_FILE_VALUE_MAX 65535u

/* ------------------------------------------------------------------------ */
/* Callbacks                                                                */
/* ------------------------------------------------------------------------ */

/**
 * Writes all @p size bytes of @p data. Return 0 on success, anything else
 * to fail the save with AE_ERR_IO. Called on the saving thread, during the
 * save only.
 * @param user  the pointer given to the save call, unchanged
 * @param data  the next bytes of the file (valid during the call only)
 * @param size  their count, >= 1
 * @return 0 on success, non-zero to fail.
 */
typedef int (*ae_write_fn)(void *user, const void *data, size_t size);

/**
 * Reads up to @p size bytes into @p data and stores how many in @p *got;
 * 0 bytes means the end of the data (fewer than asked is fine: the library
 * calls again); once it has reported the end, the callback is not called
 * again (since 1.1.0). Return 0 on success, anything else to fail with
 * AE_ERR_IO.
 * Called on the opening thread, during ae_file_open_callback() only.
 * @param user       the pointer given to ae_file_open_callback(), unchanged
 * @param[out] data  room for @p size bytes
 * @param size       bytes wanted, >= 1
 * @param[out] got   bytes stored, 0 to @p size (more is an AE_ERR_IO)
 * @return 0 on success, non-zero to fail.
 */
typedef int (*ae_read_fn)(void *user, void *data, size_t size, size_t *got);

/* ------------------------------------------------------------------------ */
/* Saving                                                                   */
/* ------------------------------------------------------------------------ */

/** What a save stores besides the network. Start from AE_SAVE_OPTIONS_INIT. */
typedef struct ae_save_options {
    uint32_t struct_size;               /**< sizeof(ae_save_options) */
    /** The optimizer training the model (model saves only): its kind,
     *  hyper-parameters, step count and moments, so that training resumes
     *  bit for bit. It must be bound to this model or not bound at all
     *  (never trained). NULL: not stored. */
    const ae_optimizer *optimizer;
    /** Training settings to record (the scalar fields: epochs, batch_size,
     *  seed, loss, shuffle, noise, noise_amount). NULL: not stored. The
     *  format records AE_LOSS_MSE and AE_LOSS_BCE only (every 1.x reader
     *  takes the file): settings with a loss added in 1.1 are refused with
     *  AE_ERR_INVALID; save without them. */
    const ae_train_options *training;
    size_t metadata_count;              /**< user key/value pairs */
    const char *const *metadata_keys;   /**< metadata_count keys, unique */
    const char *const *metadata_values; /**< metadata_count values */
    const ae_pca *pca;                  /**< a fitted PCA to store too, or NULL */
    const ae_detector *detector;        /**< an anomaly detector to store too, or NULL */
    /* Appended in 1.1 */
    /** A nearest-neighbour index to store too (section KNNI, format 1.1:
     *  a 1.0 reader skips it and loads the rest), or NULL. */
    const ae_index *index;
} ae_save_options;

/** Defaults: the network (and a model's history) only. */
#define AE_SAVE_OPTIONS_INIT \
    {sizeof(ae_save_options), NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL}

/**
 * Saves a model (encoder, decoder and training history) to @p path,
 * atomically: a new file in the same folder, renamed over the old one.
 * Only a regular file is replaced, and it keeps its permission bits; a
 * symbolic link is followed (the file it leads to is replaced, the link
 * stays). A path naming a device (such as /dev/null), a FIFO, a socket or
 * a folder, or a link leading nowhere, gives AE_ERR_IO and is left as it
 * is (since 1.1; 1.0 put a regular file in its place). Every other save to
 * a path does the same.
 * @param model  the model (only read, not kept)
 * @param path   the file to create or replace
 * @param opts   what to store besides the network, read during the call
 *               only (nothing it points to is kept); NULL for
 *               AE_SAVE_OPTIONS_INIT
 * @return AE_OK; AE_ERR_INVALID (NULL, a bad option: an invalid or
 *         duplicate metadata key, a NULL key or value, invalid training
 *         settings, an optimizer with an encoder or decoder save, a layer
 *         kind setting only some of the extra_* slots); AE_ERR_STATE (the
 *         optimizer is bound to another model, a network has no layers,
 *         the PCA is not fitted); AE_ERR_LIMIT (a name, count or size past
 *         the format's limits); AE_ERR_NUMERIC (a parameter, state
 *         tensor or optimizer buffer holds NaN or infinity, which no
 *         reader accepts: the message names the network, layer, tensor and
 *         index; nothing is written and a file at @p path stays as it
 *         was); AE_ERR_IO (with the system's reason);
 *         AE_ERR_VERSION (a newer options struct setting fields this
 *         library does not know); AE_ERR_NOMEM; or what a layer's
 *         extra_save() returned. Every check and allocation happens
 *         before the new file replaces the old one: on any failure the
 *         file at @p path is the old one (or absent if there was none).
 */
AE_API int ae_model_save(const ae_model *model, const char *path,
                         const ae_save_options *opts);

/**
 * Saves a model into a new buffer.
 * @param model      the model (only read, not kept)
 * @param[out] data  the buffer, from the libae allocator (untouched on
 *                   failure). The caller owns it: free it with
 *                   ae_buffer_free().
 * @param[out] size  its size in bytes (untouched on failure)
 * @param opts       as for ae_model_save(); NULL for AE_SAVE_OPTIONS_INIT
 * @return as ae_model_save(); also AE_ERR_LIMIT when the file does not fit
 *         in memory.
 */
AE_API int ae_model_save_memory(const ae_model *model, void **data, size_t *size,
                                const ae_save_options *opts);

/**
 * Saves a model through @p write (called with chunks of the file in order).
 * On failure the callback may have received part of the file.
 * @param model  the model (only read, not kept)
 * @param write  the callback (not kept)
 * @param user   handed to @p write unchanged
 * @param opts   as for ae_model_save(); NULL for AE_SAVE_OPTIONS_INIT
 * @return as ae_model_save() (AE_ERR_IO when @p write fails).
 */
AE_API int ae_model_save_callback(const ae_model *model, ae_write_fn write, void *user,
                                  const ae_save_options *opts);

/**
 * Saves an encoder alone (see ae_model_save(); no optimizer, no history).
 * @param enc   the encoder (only read, not kept)
 * @param path  the file to create or replace
 * @param opts  as for ae_model_save(), without optimizer; may be NULL
 * @return as ae_model_save().
 */
AE_API int ae_encoder_save(const ae_encoder *enc, const char *path,
                           const ae_save_options *opts);
/**
 * Saves an encoder alone into a new buffer (see ae_model_save_memory()).
 * @param enc        the encoder (only read, not kept)
 * @param[out] data  the buffer; the caller owns it (ae_buffer_free())
 * @param[out] size  its size in bytes
 * @param opts       as for ae_encoder_save(); may be NULL
 * @return as ae_model_save_memory().
 */
AE_API int ae_encoder_save_memory(const ae_encoder *enc, void **data, size_t *size,
                                  const ae_save_options *opts);
/**
 * Saves an encoder alone through a callback (see ae_model_save_callback()).
 * @param enc    the encoder (only read, not kept)
 * @param write  the callback (not kept)
 * @param user   handed to @p write unchanged
 * @param opts   as for ae_encoder_save(); may be NULL
 * @return as ae_model_save_callback().
 */
AE_API int ae_encoder_save_callback(const ae_encoder *enc, ae_write_fn write, void *user,
                                    const ae_save_options *opts);

/**
 * Saves a decoder alone (see ae_model_save(); no optimizer, no history).
 * @param dec   the decoder (only read, not kept)
 * @param path  the file to create or replace
 * @param opts  as for ae_model_save(), without optimizer; may be NULL
 * @return as ae_model_save().
 */
AE_API int ae_decoder_save(const ae_decoder *dec, const char *path,
                           const ae_save_options *opts);
/**
 * Saves a decoder alone into a new buffer (see ae_model_save_memory()).
 * @param dec        the decoder (only read, not kept)
 * @param[out] data  the buffer; the caller owns it (ae_buffer_free())
 * @param[out] size  its size in bytes
 * @param opts       as for ae_decoder_save(); may be NULL
 * @return as ae_model_save_memory().
 */
AE_API int ae_decoder_save_memory(const ae_decoder *dec, void **data, size_t *size,
                                  const ae_save_options *opts);
/**
 * Saves a decoder alone through a callback (see ae_model_save_callback()).
 * @param dec    the decoder (only read, not kept)
 * @param write  the callback (not kept)
 * @param user   handed to @p write unchanged
 * @param opts   as for ae_decoder_save(); may be NULL
 * @return as ae_model_save_callback().
 */
AE_API int ae_decoder_save_callback(const ae_decoder *dec, ae_write_fn write, void *user,
                                    const ae_save_options *opts);

/**
 * Frees a buffer from an ae_*_save_memory() call. Thread-safe.
 * @param data  the buffer, or NULL (a no-op)
 */
AE_API void ae_buffer_free(void *data);

/**
 * Saves a fitted PCA alone to @p path, atomically (a file without a
 * network; ae_pca_load() reads it, and so does ae_file_load_pca() for any
 * file holding a PCA).
 * @param pca   the PCA (only read, not kept)
 * @param path  the file to create or replace
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_STATE (not fitted),
 *         AE_ERR_IO, AE_ERR_NOMEM.
 */
AE_API int ae_pca_save(const ae_pca *pca, const char *path);

/**
 * Saves an anomaly detector (error kind, rule, threshold) alone to
 * @p path, atomically. Attach it to a model file instead with
 * ae_save_options.detector. An unfitted detector is saved, and loads
 * back, unfitted.
 * @param det   the detector (only read, not kept)
 * @param path  the file to create or replace
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_IO, AE_ERR_NOMEM.
 */
AE_API int ae_detector_save(const ae_detector *det, const char *path);

/**
 * Saves a nearest-neighbour index alone to @p path, atomically (a file
 * without a network, format 1.1; ae_index_load() reads it). Attach it to
 * an encoder or model file instead with ae_save_options.index. Safe while
 * other threads search the index.
 * @param idx   the index (only read, not kept)
 * @param path  the file to create or replace
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_IO, AE_ERR_NOMEM.
 */
AE_API int ae_index_save(const ae_index *idx, const char *path);

/* ------------------------------------------------------------------------ */
/* Loading: shortcuts                                                       */
/* ------------------------------------------------------------------------ */

/** @cond AE_INTERNAL */
AE_API int ae_model_load_v(ae_model **out, const char *path, unsigned header_version);
AE_API int ae_encoder_load_v(ae_encoder **out, const char *path, unsigned header_version);
AE_API int ae_decoder_load_v(ae_decoder **out, const char *path, unsigned header_version);
AE_API int ae_pca_load_v(ae_pca **out, const char *path, unsigned header_version);
AE_API int ae_detector_load_v(ae_detector **out, const char *path, unsigned header_version);
AE_API int ae_index_load_v(ae_index **out, const char *path, unsigned header_version);
/** @endcond */

/**
 * Loads the model (encoder, decoder, history) of the file at @p path: the
 * same as ae_file_open() + ae_file_load_model() + ae_file_close().
 * Thread-safe (several loads may run at once).
 *
 * Macro arguments: (out, path):
 * - @p out (ae_model **): receives the model (untouched on failure). The
 *   caller owns it: free it with ae_model_destroy().
 * - @p path (const char *): the file, closed on return.
 *
 * @return AE_OK or an error of those calls (AE_ERR_INVALID for a NULL
 *         argument, AE_ERR_VERSION for headers of another major version).
 */
#define ae_model_load(...) ae_model_load_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Loads the encoder of a model or encoder file: ae_file_open() +
 * ae_file_load_encoder() + ae_file_close(). Thread-safe.
 *
 * Macro arguments: (out, path):
 * - @p out (ae_encoder **): receives the encoder (untouched on failure).
 *   The caller owns it: free it with ae_encoder_destroy().
 * - @p path (const char *): the file, closed on return.
 *
 * @return AE_OK or an error of those calls.
 */
#define ae_encoder_load(...) ae_encoder_load_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Loads the decoder of a model or decoder file: ae_file_open() +
 * ae_file_load_decoder() + ae_file_close(). Thread-safe.
 *
 * Macro arguments: (out, path):
 * - @p out (ae_decoder **): receives the decoder (untouched on failure).
 *   The caller owns it: free it with ae_decoder_destroy().
 * - @p path (const char *): the file, closed on return.
 *
 * @return AE_OK or an error of those calls.
 */
#define ae_decoder_load(...) ae_decoder_load_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Loads the PCA stored in a file: ae_file_open() + ae_file_load_pca() +
 * ae_file_close(). Thread-safe.
 *
 * Macro arguments: (out, path):
 * - @p out (ae_pca **): receives the PCA (untouched on failure). The
 *   caller owns it: free it with ae_pca_destroy().
 * - @p path (const char *): the file, closed on return.
 *
 * @return AE_OK or an error of those calls.
 */
#define ae_pca_load(...) ae_pca_load_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Loads the anomaly detector stored in a file: ae_file_open() +
 * ae_file_load_detector() + ae_file_close(). Thread-safe.
 *
 * Macro arguments: (out, path):
 * - @p out (ae_detector **): receives the detector (untouched on failure).
 *   The caller owns it: free it with ae_detector_destroy().
 * - @p path (const char *): the file, closed on return.
 *
 * @return AE_OK or an error of those calls.
 */
#define ae_detector_load(...) ae_detector_load_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Loads the nearest-neighbour index stored in a file: ae_file_open() +
 * ae_file_load_index() + ae_file_close(). Thread-safe.
 *
 * Macro arguments: (out, path):
 * - @p out (ae_index **): receives the index (untouched on failure). The
 *   caller owns it: free it with ae_index_destroy().
 * - @p path (const char *): the file, closed on return.
 *
 * @return AE_OK or an error of those calls (AE_ERR_INVALID for a NULL
 *         argument, AE_ERR_VERSION for headers of another major version).
 */
#define ae_index_load(...) ae_index_load_v(__VA_ARGS__, AE_VERSION_NUMBER)

/* ------------------------------------------------------------------------ */
/* Loading and inspecting: the open file                                    */
/* ------------------------------------------------------------------------ */

/**
 * An opened, fully validated model file held in memory: every CRC checked,
 * every count, size, offset, enum and index validated against
 * docs/format.md. Opening needs no layer kind to be registered (an
 * inspector can describe files with unknown kinds); loading a network does.
 */
typedef struct ae_file ae_file;

/** Options of ae_file_open(). Start from AE_OPEN_OPTIONS_INIT. */
typedef struct ae_open_options {
    uint32_t struct_size; /**< sizeof(ae_open_options) */
    /** Largest file accepted, in bytes (0: AE_FILE_MAX_SIZE; larger values
     *  are capped to it). Bounds the memory an untrusted source can make
     *  the reader allocate. */
    uint64_t max_size;
} ae_open_options;

/** Defaults: files up to AE_FILE_MAX_SIZE. */
#define AE_OPEN_OPTIONS_INIT {sizeof(ae_open_options), 0}

/** @cond AE_INTERNAL */
AE_API int ae_file_open_v(ae_file **out, const char *path, const ae_open_options *opts,
                          unsigned header_version);
AE_API int ae_file_open_memory_v(ae_file **out, const void *data, size_t size,
                                 const ae_open_options *opts, unsigned header_version);
AE_API int ae_file_open_callback_v(ae_file **out, ae_read_fn read, void *user,
                                   const ae_open_options *opts, unsigned header_version);
/** @endcond */

/**
 * Reads and validates the file at @p path. The whole file is read into
 * memory and the path is closed before the call returns. Thread-safe.
 *
 * Macro arguments: (out, path, opts):
 * - @p out (ae_file **): receives the open file (untouched on failure).
 *   The caller owns it: close it with ae_file_close().
 * - @p path (const char *): the file.
 * - @p opts (const ae_open_options *): read during the call only; NULL
 *   means AE_OPEN_OPTIONS_INIT.
 *
 * @return AE_OK; AE_ERR_INVALID (NULL, bad options); AE_ERR_IO (cannot
 *         open or read, with the system's reason); AE_ERR_FORMAT (not a
 *         model file, damaged, truncated, bytes after the declared end:
 *         the message says what and where); AE_ERR_CHECKSUM (a CRC
 *         mismatch, naming the section); AE_ERR_VERSION (another major
 *         version, an unknown required section or flag); AE_ERR_LIMIT (a
 *         count or size past docs/format.md's limits or max_size);
 *         AE_ERR_NOMEM.
 */
#define ae_file_open(...) ae_file_open_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Validates a file held in memory. Thread-safe.
 *
 * Macro arguments: (out, data, size, opts):
 * - @p out (ae_file **): receives the open file (untouched on failure).
 *   The caller owns it: close it with ae_file_close().
 * - @p data (const void *): the file's bytes, copied: the buffer may be
 *   freed as soon as the call returns.
 * - @p size (size_t): their count.
 * - @p opts (const ae_open_options *): read during the call only; NULL
 *   means AE_OPEN_OPTIONS_INIT.
 *
 * @return as ae_file_open() (AE_ERR_LIMIT when @p size exceeds max_size).
 */
#define ae_file_open_memory(...) ae_file_open_memory_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Reads a file through @p read until the declared end, then asks for one
 * more byte: getting one is an error (bytes beyond the declared end).
 * Thread-safe (the callback runs on the calling thread).
 *
 * Macro arguments: (out, read, user, opts):
 * - @p out (ae_file **): receives the open file (untouched on failure).
 *   The caller owns it: close it with ae_file_close().
 * - @p read (ae_read_fn): the callback, used during this call only.
 * - @p user (void *): handed to @p read unchanged.
 * - @p opts (const ae_open_options *): read during the call only; NULL
 *   means AE_OPEN_OPTIONS_INIT.
 *
 * @return as ae_file_open() (AE_ERR_IO when @p read fails or reports more
 *         bytes than asked).
 */
#define ae_file_open_callback(...) ae_file_open_callback_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Frees an open file. Strings and pointers obtained from it (metadata,
 * type names, config blobs) become invalid; objects loaded from it are
 * independent and live on. Not while another thread reads it.
 * @param file  the file, or NULL (a no-op)
 */
AE_API void ae_file_close(ae_file *file);

/**
 * Creates the model the file holds (encoder, decoder, training history).
 * Each layer is created from its type name and config, then its tensors and
 * extra state are overwritten from the file. The model does not depend on
 * the file, which may be closed at once. Safe from several threads at once
 * on the same file.
 * @param[out] out  the model (untouched on failure). The caller owns it:
 *                  free it with ae_model_destroy().
 * @param file      the open file (only read)
 * @return AE_OK; AE_ERR_INVALID (NULL); AE_ERR_NOT_FOUND (the file holds
 *         no model, or a layer kind is not registered: the message names
 *         it); AE_ERR_VERSION (a layer's type version is newer than the
 *         registered kind's); AE_ERR_FORMAT (a created layer disagrees
 *         with the file: output shape, tensor count, sizes; or its config
 *         or extra state was refused); AE_ERR_LIMIT (a layer refused its
 *         config with AE_ERR_LIMIT); AE_ERR_NOMEM.
 */
AE_API int ae_file_load_model(ae_model **out, const ae_file *file);

/**
 * Creates the encoder of a model or encoder file (independent of the
 * file).
 * @param[out] out  the encoder (untouched on failure). The caller owns it:
 *                  free it with ae_encoder_destroy().
 * @param file      the open file (only read)
 * @return as ae_file_load_model() (AE_ERR_NOT_FOUND: no encoder in the
 *         file).
 */
AE_API int ae_file_load_encoder(ae_encoder **out, const ae_file *file);

/**
 * Creates the decoder of a model or decoder file (independent of the
 * file).
 * @param[out] out  the decoder (untouched on failure). The caller owns it:
 *                  free it with ae_decoder_destroy().
 * @param file      the open file (only read)
 * @return as ae_file_load_model() (AE_ERR_NOT_FOUND: no decoder in the
 *         file).
 */
AE_API int ae_file_load_decoder(ae_decoder **out, const ae_file *file);

/**
 * Creates the optimizer stored with the model and binds it to @p model,
 * a model loaded from this file: training @p model with it continues
 * exactly where the saved run stopped. An optimizer that was saved before
 * its first step comes back unbound (it binds at its first training).
 * Not while another thread trains @p model.
 * @param[out] out  the optimizer, with its hyper-parameters, step count and
 *                  moments (untouched on failure). The caller owns it:
 *                  free it with ae_optimizer_destroy().
 * @param file      the open file (only read)
 * @param model     the model to bind to (only read; the optimizer
 *                  remembers which model it is, and keeps no pointer)
 * @return AE_OK; AE_ERR_INVALID (NULL); AE_ERR_NOT_FOUND (no optimizer in
 *         the file); AE_ERR_SHAPE (@p model's trainable tensors are not the
 *         file's); AE_ERR_FORMAT (the stored settings were refused);
 *         AE_ERR_NOMEM.
 */
AE_API int ae_file_load_optimizer(ae_optimizer **out, const ae_file *file, ae_model *model);

/**
 * Creates the PCA stored in the file (independent of the file).
 * @param[out] out  the fitted PCA (untouched on failure). The caller owns
 *                  it: free it with ae_pca_destroy().
 * @param file      the open file (only read)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOT_FOUND (none stored),
 *         AE_ERR_FORMAT (the stored state is refused by ae_pca_set_state()),
 *         AE_ERR_NOMEM.
 */
AE_API int ae_file_load_pca(ae_pca **out, const ae_file *file);

/**
 * Creates the anomaly detector stored in the file (independent of the
 * file; fitted when it was saved fitted).
 * @param[out] out  the detector (untouched on failure). The caller owns
 *                  it: free it with ae_detector_destroy().
 * @param file      the open file (only read)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOT_FOUND (none stored),
 *         AE_ERR_FORMAT (stored settings refused), AE_ERR_NOMEM.
 */
AE_API int ae_file_load_detector(ae_detector **out, const ae_file *file);

/**
 * Creates the nearest-neighbour index stored in the file (section KNNI;
 * independent of the file), as ae_index_create() would from the stored
 * vectors: the same results, bit for bit. Safe from several threads at
 * once on the same file.
 * @param[out] out  the index (untouched on failure). The caller owns it:
 *                  free it with ae_index_destroy().
 * @param file      the open file (only read)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOT_FOUND (none stored),
 *         AE_ERR_NOMEM.
 */
AE_API int ae_file_load_index(ae_index **out, const ae_file *file);

/**
 * The recorded training settings: fills the scalar fields of @p out
 * (struct_size must be set, as AE_TRAIN_OPTIONS_INIT does; the pointer
 * fields become NULL).
 * @param file          the open file
 * @param[in,out] out   struct_size read; the fields that fit written and
 *                      struct_size set to the bytes written (untouched on
 *                      failure)
 * @return AE_OK, AE_ERR_INVALID (NULL, struct_size below the first
 *         released layout), AE_ERR_NOT_FOUND (the file records none).
 */
AE_API int ae_file_get_training(const ae_file *file, ae_train_options *out);

/**
 * Number of user metadata pairs.
 * @param file  the open file, or NULL
 * @return the count, 0 for NULL.
 */
AE_API size_t ae_file_metadata_count(const ae_file *file);

/**
 * Metadata pair @p index (in the writer's order). Either output may be
 * NULL.
 * @param file        the open file
 * @param index       0 to ae_file_metadata_count() - 1
 * @param[out] key    the key, a NUL-terminated string owned by the file,
 *                    valid until ae_file_close(); or NULL
 * @param[out] value  the value, owned likewise; or NULL
 * @return AE_OK or AE_ERR_INVALID (NULL file, index out of range).
 */
AE_API int ae_file_metadata_at(const ae_file *file, size_t index, const char **key,
                               const char **value);

/**
 * The value stored under @p key.
 * @param file        the open file
 * @param key         the key (compared byte for byte)
 * @param[out] value  the value, a NUL-terminated string owned by the file,
 *                    valid until ae_file_close() (untouched on failure)
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOT_FOUND (no such key).
 */
AE_API int ae_file_metadata_get(const ae_file *file, const char *key, const char **value);

/** What a file holds (INFO section). */
enum ae_file_kind {
    AE_FILE_NONE = 0,    /**< no network: a PCA and/or a detector */
    AE_FILE_MODEL = 1,   /**< encoder and decoder */
    AE_FILE_ENCODER = 2, /**< an encoder alone */
    AE_FILE_DECODER = 3  /**< a decoder alone */
};

/** A summary of an open file. Filled up to the caller's struct_size. */
typedef struct ae_file_info {
    uint32_t struct_size;      /**< sizeof(ae_file_info), set by the caller */
    uint32_t format_major;     /**< format version of the file */
    uint32_t format_minor;     /**< minor format version of the file */
    uint32_t writer_version;   /**< AE_VERSION_NUMBER of the library that wrote it */
    int kind;                  /**< ae_file_kind */
    uint64_t file_size;        /**< bytes */
    size_t sections;           /**< see ae_file_get_section() */
    size_t encoder_layers;     /**< 0 when the file has no encoder */
    size_t decoder_layers;     /**< 0 when the file has no decoder */
    size_t tensors;            /**< parameter and state tensors (ae_file_get_tensor()) */
    uint64_t param_floats;     /**< values of the parameters (ae_model_param_count()) */
    uint64_t state_floats;     /**< values of the state tensors */
    size_t history_length;     /**< epochs of training history */
    size_t metadata_count;     /**< user metadata pairs */
    int has_training;          /**< 1 when training settings are recorded */
    int has_optimizer;         /**< 1 when an optimizer is stored */
    int optimizer_kind;        /**< its ae_optimizer_kind (-1 without) */
    uint64_t optimizer_steps;  /**< its step count */
    int has_pca;               /**< 1 when a PCA is stored */
    int has_detector;          /**< 1 when a detector is stored */
    /* Appended in 1.1 */
    int has_index;             /**< 1 when a nearest-neighbour index is stored (KNNI) */
} ae_file_info;

/** Initializer for ae_file_info. */
#define AE_FILE_INFO_INIT \
    {sizeof(ae_file_info), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/** One layer record of an open file. Filled up to the caller's struct_size. */
typedef struct ae_file_layer {
    uint32_t struct_size;  /**< sizeof(ae_file_layer), set by the caller */
    int decoder;           /**< 0: an encoder layer, 1: a decoder layer */
    size_t index;          /**< position within its network */
    const char *type_name; /**< layer kind (valid until ae_file_close()) */
    uint32_t type_version; /**< the kind's version when written */
    ae_shape input;        /**< per-sample input shape */
    ae_shape output;       /**< per-sample output shape */
    const void *config;    /**< config blob (valid until ae_file_close()), NULL when empty */
    size_t config_size;    /**< bytes in config */
    size_t params;         /**< parameter tensors (param_count()) */
    size_t states;         /**< state tensors (state_count()) */
    uint64_t floats;       /**< values of all its tensors */
    size_t extra_size;     /**< bytes of extra state (extra_size()), 0 for none */
    int registered;        /**< 1 when this process can create the kind now */
} ae_file_layer;

/** Initializer for ae_file_layer. */
#define AE_FILE_LAYER_INIT \
    {sizeof(ae_file_layer), 0, 0, NULL, 0, {0, {0, 0, 0, 0}}, {0, {0, 0, 0, 0}}, NULL, 0, \
     0, 0, 0, 0, 0}

/**
 * Layer @p index of the file, counting the encoder's layers first, then
 * the decoder's.
 * @param file          the open file
 * @param index         0 to encoder_layers + decoder_layers - 1
 *                      (ae_file_get_info())
 * @param[in,out] out   struct_size set by the caller (AE_FILE_LAYER_INIT);
 *                      the fields both sides know are written and
 *                      struct_size becomes their size. type_name and
 *                      config point into the file: valid until
 *                      ae_file_close().
 * @return AE_OK or AE_ERR_INVALID (NULL, struct_size too small, index out
 *         of range).
 */
AE_API int ae_file_get_layer(const ae_file *file, size_t index, ae_file_layer *out);

/** One entry of the tensor table. Filled up to the caller's struct_size. */
typedef struct ae_file_tensor {
    uint32_t struct_size; /**< sizeof(ae_file_tensor), set by the caller */
    size_t layer;         /**< ae_file_get_layer() index of its layer */
    int state;            /**< 0: a parameter (param_get()), 1: a state tensor (state_get()) */
    size_t index;         /**< index within the layer among its parameters or its states */
    const char *name;     /**< as the layer named it (valid until ae_file_close()) */
    ae_shape shape;       /**< the tensor's shape */
    uint64_t count;       /**< values */
    uint64_t offset;      /**< byte offset of its data in the file (64-byte aligned) */
} ae_file_tensor;

/** Initializer for ae_file_tensor. */
#define AE_FILE_TENSOR_INIT \
    {sizeof(ae_file_tensor), 0, 0, 0, NULL, {0, {0, 0, 0, 0}}, 0, 0}

/**
 * Tensor @p index of the file's tensor table.
 * @param file          the open file
 * @param index         0 to ae_file_info.tensors - 1
 * @param[in,out] out   struct_size set by the caller (AE_FILE_TENSOR_INIT);
 *                      the fields both sides know are written and
 *                      struct_size becomes their size. name points into
 *                      the file: valid until ae_file_close().
 * @return AE_OK or AE_ERR_INVALID (NULL, struct_size too small, index out
 *         of range).
 */
AE_API int ae_file_get_tensor(const ae_file *file, size_t index, ae_file_tensor *out);

/** One section of the file. Filled up to the caller's struct_size. */
typedef struct ae_file_section {
    uint32_t struct_size; /**< sizeof(ae_file_section), set by the caller */
    char type[5];         /**< four characters and a NUL ("INFO") */
    uint32_t flags;       /**< bit 0: required */
    uint64_t offset;      /**< of its header in the file */
    uint64_t size;        /**< payload bytes */
    uint32_t crc;         /**< stored CRC-32 (verified when the file was opened) */
    int known;            /**< 1 when this library understands the type */
} ae_file_section;

/** Initializer for ae_file_section. */
#define AE_FILE_SECTION_INIT \
    {sizeof(ae_file_section), {0, 0, 0, 0, 0}, 0, 0, 0, 0, 0}

/**
 * Section @p index of the file, in file order.
 * @param file          the open file
 * @param index         0 to ae_file_info.sections - 1
 * @param[in,out] out   struct_size set by the caller (AE_FILE_SECTION_INIT);
 *                      the fields both sides know are written and
 *                      struct_size becomes their size
 * @return AE_OK or AE_ERR_INVALID (NULL, struct_size too small, index out
 *         of range).
 */
AE_API int ae_file_get_section(const ae_file *file, size_t index, ae_file_section *out);

/**
 * A summary of the file.
 * @param file          the open file
 * @param[in,out] out   struct_size set by the caller (AE_FILE_INFO_INIT);
 *                      the fields both sides know are written and
 *                      struct_size becomes their size
 * @return AE_OK or AE_ERR_INVALID (NULL, struct_size too small).
 */
AE_API int ae_file_get_info(const ae_file *file, ae_file_info *out);

#ifdef __cplusplus
}
#endif
#endif /* AE_IO_H */
