/* SPDX-License-Identifier: MIT */
/**
 * @file ae/onnx.h
 * @brief ONNX interchange: export an encoder, a decoder or a model to an
 *        ONNX file, and import one back (added in 1.1).
 *
 * Export writes ONNX opset 13 (IR version 7), float32, NCHW, one node per
 * built-in layer (two or three where ONNX needs them):
 *
 * | libae kind         | ONNX nodes                                              |
 * |--------------------|---------------------------------------------------------|
 * | dense              | [Flatten] Gemm (transB = 1) [activation]                |
 * | conv2d             | Conv (pads, strides, dilations) [activation]            |
 * | conv2d_transpose   | ConvTranspose (pads, output_padding...) [activation]    |
 * | maxpool2d          | MaxPool (kernel_shape, strides, pads)                   |
 * | upsample2d         | Resize (nearest, asymmetric, floor; integer scales)     |
 * | reshape, flatten   | Reshape (shape [-1, dims...]), Flatten (axis 1)         |
 * | batchnorm          | BatchNormalization (epsilon, momentum = 1 - libae's)    |
 * | activation         | Relu, LeakyRelu (alpha), Sigmoid, Tanh; identity: Identity |
 * | dropout            | Dropout (ratio; the identity at inference)              |
 * | gaussian_sample    | [Flatten] Slice (the means: its inference output)       |
 *
 * The graph input is "x" (an encoder or a model) or "z" (a decoder), the
 * output "z" (an encoder) or "x_hat" (a decoder; a model outputs "x_hat"
 * and "z"), each with a symbolic batch dimension "N" unless a batch size is
 * given. A node's doc_string keeps what ONNX has no attribute for (the
 * padding mode, the initializer, batch normalization's exact momentum), so
 * a libae → ONNX → libae round trip gives the same layers and bit-identical
 * parameters and outputs. A layer of a custom kind exports through the
 * onnx_node slot of its vtable (ae/sys/layer.h) and is refused with
 * AE_ERR_UNSUPPORTED without one.
 *
 * Import reads the same subset from ONNX files of any producer (PyTorch's
 * torch.onnx.export among them): one float32 input of layout N x dims, a
 * chain of nodes each consuming the previous node's output, weights as
 * initializers or Constant nodes (float32; int64 for shapes), opsets 11
 * to 21 of the default domain. It also takes MatMul followed by Add as a
 * dense layer, and Identity as nothing; a Slice only as libae's own
 * gaussian_sample (its doc_string says so). Anything else (another op, an
 * attribute value libae cannot honour, a branch, external data) is refused
 * with AE_ERR_UNSUPPORTED and a message naming the node and its op. The
 * bytes are treated as hostile: every count and size is bounded (the
 * AE_ONNX_*_MAX limits), every length checked, and malformed protobuf
 * gives AE_ERR_FORMAT.
 *
 * A model with a scaler attached (ae_model_set_scaler(), ae/scaler.h)
 * takes raw data in libae, but its ONNX graph does not scale: the graph
 * takes scaled inputs x' = (x - shift) / scale, feature by feature (in the
 * flattened order of the input), and gives scaled reconstructions (undo
 * with x = x_hat * scale + shift). Export writes the scaler's settings as
 * metadata_props: "libae.scaler.kind" ("standard" or "minmax"),
 * "libae.scaler.features" (the input size) and "libae.scaler.shift" and
 * "libae.scaler.scale" (that many comma-separated floats, printed with
 * %.9g so they read back exactly). ae_model_import_onnx() reads them back
 * and attaches the scaler, so libae -> ONNX -> libae keeps it bit for bit;
 * malformed entries (a wrong count, a value that is not a finite number in
 * plain decimal syntax, a scale <= 0, an unknown kind, an entry missing)
 * give AE_ERR_FORMAT naming the key. Encoder and decoder exports carry no
 * scaler (those handles never scale).
 *
 * Thread safety: every function here may run on several threads at once
 * on different objects; an exported model is only read.
 *
 * These functions are part of the stable 1.x API (symbol node AE_1.1):
 * the options structs grow only by appending fields, and the set of ops
 * import accepts only ever grows.
 */
#ifndef AE_ONNX_H
#define AE_ONNX_H

#include "anomaly.h"
#include "common.h"
#include "decoder.h"
#include "encoder.h"
#include "model.h"
#include "pca.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The ONNX operator set version export writes. */
#define AE_ONNX_OPSET 13

/** Largest ONNX file import reads and export writes, in bytes (2 GiB - 1,
 *  protobuf's limit). */
#define AE_ONNX_MAX_SIZE 2147483647u
/** Most nodes (and most initializers) a graph may have on import. */
#define AE_ONNX_NODES_MAX 8192u
/** Most metadata_props entries a file may have on import. */
#define AE_ONNX_METADATA_MAX 1024u

/** Export settings. Start from AE_ONNX_EXPORT_OPTIONS_INIT. */
typedef struct ae_onnx_export_options {
    uint32_t struct_size; /**< sizeof(ae_onnx_export_options) */
    /** Batch dimension of the graph's input and outputs: 0 (default) for a
     *  symbolic "N", else that fixed size. */
    uint32_t batch;
    /** NULL, or a detector whose error kind, rule, k, quantile and (when
     *  fitted) threshold are written as metadata_props "libae.detector.*"
     *  (read back by ae_detector_import_onnx()). Only read. */
    const ae_detector *detector;
    /** NULL, or a fitted PCA whose settings (components, features, solver)
     *  are written as metadata_props "libae.pca.*". Only read. */
    const ae_pca *pca;
} ae_onnx_export_options;

/** Defaults: symbolic batch, no detector, no PCA. */
#define AE_ONNX_EXPORT_OPTIONS_INIT {sizeof(ae_onnx_export_options), 0, NULL, NULL}

/** Import settings. Start from AE_ONNX_IMPORT_OPTIONS_INIT. */
typedef struct ae_onnx_import_options {
    uint32_t struct_size; /**< sizeof(ae_onnx_import_options) */
    /** Model import only: the name of the value where the encoder ends (the
     *  latent). NULL (default): the file's "libae.latent" metadata, else
     *  the graph output other than the last value of the chain (a PyTorch
     *  module returning (x_hat, z) gives one). */
    const char *latent;
    /** Seed of the created encoders' and decoders' generators (used only if
     *  layers are added to them later). */
    uint64_t seed;
} ae_onnx_import_options;

/** Defaults: latent from the file, seed 0. */
#define AE_ONNX_IMPORT_OPTIONS_INIT {sizeof(ae_onnx_import_options), NULL, 0}

/**
 * Writes a model (encoder then decoder, outputs "x_hat" and "z") as an
 * ONNX file, atomically (a temporary file renamed over @p path). The model
 * is only read: safe while other threads run inference on it. A model's
 * scaler goes into the "libae.scaler.*" metadata_props; the graph itself
 * takes scaled inputs (see the file comment).
 * @param model  the model
 * @param path   the file to write
 * @param opts   NULL for AE_ONNX_EXPORT_OPTIONS_INIT
 * @return AE_OK, AE_ERR_INVALID (NULL, struct_size too small, an empty
 *         encoder or decoder, a custom kind's onnx_node filling its node
 *         badly), AE_ERR_UNSUPPORTED (a layer of a custom kind without an
 *         onnx_node hook, or whose hook refuses: the message names it),
 *         AE_ERR_STATE (an unfitted PCA in the options), AE_ERR_LIMIT (the file would pass
 *         AE_ONNX_MAX_SIZE), AE_ERR_NUMERIC (a weight or state value is
 *         NaN or infinite, which the importer refuses: the message names
 *         the layer, tensor and index), AE_ERR_VERSION (a newer struct setting fields
 *         this library does not know), AE_ERR_IO, AE_ERR_NOMEM; on failure
 *         @p path is untouched.
 */
AE_API int ae_model_export_onnx(const ae_model *model, const char *path,
                                const ae_onnx_export_options *opts);

/**
 * Writes a model as ONNX into a new buffer (as ae_model_export_onnx()).
 * @param model      the model
 * @param[out] data  receives the buffer; free it with ae_buffer_free()
 * @param[out] size  receives its size in bytes
 * @param opts       NULL for AE_ONNX_EXPORT_OPTIONS_INIT
 * @return as ae_model_export_onnx() (no AE_ERR_IO); outputs untouched on
 *         failure.
 */
AE_API int ae_model_export_onnx_memory(const ae_model *model, void **data, size_t *size,
                                       const ae_onnx_export_options *opts);

/**
 * Writes an encoder as an ONNX file (input "x", output "z").
 * @param enc   the encoder (only read)
 * @param path  the file to write
 * @param opts  NULL for AE_ONNX_EXPORT_OPTIONS_INIT
 * @return as ae_model_export_onnx().
 */
AE_API int ae_encoder_export_onnx(const ae_encoder *enc, const char *path,
                                  const ae_onnx_export_options *opts);

/**
 * Writes an encoder as ONNX into a new buffer.
 * @param enc        the encoder (only read)
 * @param[out] data  receives the buffer; free it with ae_buffer_free()
 * @param[out] size  receives its size in bytes
 * @param opts       NULL for AE_ONNX_EXPORT_OPTIONS_INIT
 * @return as ae_model_export_onnx_memory().
 */
AE_API int ae_encoder_export_onnx_memory(const ae_encoder *enc, void **data, size_t *size,
                                         const ae_onnx_export_options *opts);

/**
 * Writes a decoder as an ONNX file (input "z", output "x_hat").
 * @param dec   the decoder (only read)
 * @param path  the file to write
 * @param opts  NULL for AE_ONNX_EXPORT_OPTIONS_INIT
 * @return as ae_model_export_onnx().
 */
AE_API int ae_decoder_export_onnx(const ae_decoder *dec, const char *path,
                                  const ae_onnx_export_options *opts);

/**
 * Writes a decoder as ONNX into a new buffer.
 * @param dec        the decoder (only read)
 * @param[out] data  receives the buffer; free it with ae_buffer_free()
 * @param[out] size  receives its size in bytes
 * @param opts       NULL for AE_ONNX_EXPORT_OPTIONS_INIT
 * @return as ae_model_export_onnx_memory().
 */
AE_API int ae_decoder_export_onnx_memory(const ae_decoder *dec, void **data, size_t *size,
                                         const ae_onnx_export_options *opts);

/** @cond AE_INTERNAL */
AE_API int ae_model_import_onnx_v(ae_model **out, const char *path,
                                  const ae_onnx_import_options *opts, unsigned header_version);
AE_API int ae_model_import_onnx_memory_v(ae_model **out, const void *data, size_t size,
                                         const ae_onnx_import_options *opts,
                                         unsigned header_version);
AE_API int ae_encoder_import_onnx_v(ae_encoder **out, const char *path,
                                    const ae_onnx_import_options *opts, unsigned header_version);
AE_API int ae_encoder_import_onnx_memory_v(ae_encoder **out, const void *data, size_t size,
                                           const ae_onnx_import_options *opts,
                                           unsigned header_version);
AE_API int ae_decoder_import_onnx_v(ae_decoder **out, const char *path,
                                    const ae_onnx_import_options *opts, unsigned header_version);
AE_API int ae_decoder_import_onnx_memory_v(ae_decoder **out, const void *data, size_t size,
                                           const ae_onnx_import_options *opts,
                                           unsigned header_version);
AE_API int ae_detector_import_onnx_memory_v(ae_detector **out, const void *data, size_t size,
                                            unsigned header_version);
/** @endcond */

/**
 * Reads an ONNX file into a new model: the nodes up to the latent (see
 * ae_onnx_import_options.latent) become the encoder, the rest the decoder.
 * "libae.scaler.*" metadata_props, when present, attach a scaler (see the
 * file comment).
 *
 * Macro arguments: (out, path, opts):
 * - @p out (ae_model **): receives the model (untouched on failure); the
 *   caller owns it (ae_model_destroy()).
 * - @p path (const char *): the file.
 * - @p opts (const ae_onnx_import_options *): NULL for the defaults.
 *
 * @return AE_OK, AE_ERR_INVALID (NULL, struct_size too small), AE_ERR_IO,
 *         AE_ERR_FORMAT (not a well-formed ONNX model, a NaN or infinite
 *         weight, malformed libae.scaler entries), AE_ERR_LIMIT (a count or size past a limit), AE_ERR_UNSUPPORTED (an op,
 *         attribute, type or graph shape import does not take: the message
 *         names the node and op), AE_ERR_NOT_FOUND (no latent found, or
 *         the named one is not a value of the chain), AE_ERR_SHAPE (a
 *         weight's dims do not fit its layer, or the graph's declared
 *         output shape differs from what its layers compute), AE_ERR_NOMEM,
 *         AE_ERR_VERSION (headers of another major version).
 */
#define ae_model_import_onnx(...) ae_model_import_onnx_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Reads ONNX bytes into a new model.
 *
 * Macro arguments: (out, data, size, opts): as ae_model_import_onnx(),
 * with @p data (const void *, only read during the call) and @p size
 * (size_t) in place of the path.
 *
 * @return as ae_model_import_onnx() (no AE_ERR_IO).
 */
#define ae_model_import_onnx_memory(...) \
    ae_model_import_onnx_memory_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Reads an ONNX file's whole graph into a new encoder.
 *
 * Macro arguments: (out, path, opts): @p out (ae_encoder **, the caller
 * owns it), @p path, @p opts (NULL for the defaults; latent is ignored).
 *
 * @return as ae_model_import_onnx() (without AE_ERR_NOT_FOUND).
 */
#define ae_encoder_import_onnx(...) ae_encoder_import_onnx_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Reads ONNX bytes into a new encoder.
 *
 * Macro arguments: (out, data, size, opts).
 *
 * @return as ae_encoder_import_onnx() (no AE_ERR_IO).
 */
#define ae_encoder_import_onnx_memory(...) \
    ae_encoder_import_onnx_memory_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Reads an ONNX file's whole graph into a new decoder.
 *
 * Macro arguments: (out, path, opts): @p out (ae_decoder **, the caller
 * owns it), @p path, @p opts (NULL for the defaults; latent is ignored).
 *
 * @return as ae_encoder_import_onnx().
 */
#define ae_decoder_import_onnx(...) ae_decoder_import_onnx_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Reads ONNX bytes into a new decoder.
 *
 * Macro arguments: (out, data, size, opts).
 *
 * @return as ae_decoder_import_onnx() (no AE_ERR_IO).
 */
#define ae_decoder_import_onnx_memory(...) \
    ae_decoder_import_onnx_memory_v(__VA_ARGS__, AE_VERSION_NUMBER)

/**
 * Reads the anomaly detector an export stored in the metadata_props
 * (ae_onnx_export_options.detector): its error kind, rule, k, quantile
 * and threshold (fitted when the file has one).
 *
 * Macro arguments: (out, data, size): @p out (ae_detector **, the caller
 * owns it), @p data and @p size (the ONNX bytes, only read).
 *
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_FORMAT (malformed file or
 *         detector entries), AE_ERR_LIMIT, AE_ERR_NOT_FOUND (the file holds
 *         no detector), AE_ERR_NOMEM, AE_ERR_VERSION.
 */
#define ae_detector_import_onnx_memory(...) \
    ae_detector_import_onnx_memory_v(__VA_ARGS__, AE_VERSION_NUMBER)

#ifdef __cplusplus
}
#endif
#endif /* AE_ONNX_H */
