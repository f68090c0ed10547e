/* SPDX-License-Identifier: MIT */
/* pinned.c - the values the stability promise pins (docs/stability.md):
 * every enumerator of the public headers and the sentinel constants callers
 * pass as plain numbers. Model files store these values and programs compile
 * them in, so a value never changes within a major version; abidiff cannot
 * see them (the functions take int). scripts/check-pinned.sh (make check)
 * compiles this file against include/ and requires a line here for every
 * enumerator. A release that adds values adds a section; no line is ever
 * edited. */
#include <ae.h>
#include <ae/sys/layer.h>

#define PIN(name, value) _Static_assert((name) == (value), #name " is pinned to " #value)

/* ---- 1.0.0 ---- */
PIN(AE_DATASET_COPY, 0);
PIN(AE_DATASET_BORROW, 1);
PIN(AE_IDX_SCALE, 0);
PIN(AE_IDX_NO_SCALE, 1);
PIN(AE_PCA_AUTO, 0);
PIN(AE_PCA_EXACT, 1);
PIN(AE_PCA_RANDOMIZED, 2);
PIN(AE_INTERP_LINEAR, 0);
PIN(AE_INTERP_SPHERICAL, 1);
PIN(AE_PROGRESS_BATCH, 0);
PIN(AE_PROGRESS_EPOCH, 1);
PIN(AE_NOISE_NONE, 0);
PIN(AE_NOISE_GAUSSIAN, 1);
PIN(AE_NOISE_MASKING, 2);
PIN(AE_NOISE_SALT_PEPPER, 3);
PIN(AE_ACT_IDENTITY, 0);
PIN(AE_ACT_RELU, 1);
PIN(AE_ACT_LEAKY_RELU, 2);
PIN(AE_ACT_SIGMOID, 3);
PIN(AE_ACT_TANH, 4);
PIN(AE_INIT_GLOROT_UNIFORM, 0);
PIN(AE_INIT_GLOROT_NORMAL, 1);
PIN(AE_INIT_HE_UNIFORM, 2);
PIN(AE_INIT_HE_NORMAL, 3);
PIN(AE_PAD_VALID, 0);
PIN(AE_PAD_SAME, 1);
PIN(AE_PAD_EXPLICIT, 2);
PIN(AE_OK, 0);
PIN(AE_ERR_INVALID, -1);
PIN(AE_ERR_NOMEM, -2);
PIN(AE_ERR_SHAPE, -3);
PIN(AE_ERR_IO, -4);
PIN(AE_ERR_FORMAT, -5);
PIN(AE_ERR_VERSION, -6);
PIN(AE_ERR_NOT_FOUND, -7);
PIN(AE_ERR_UNSUPPORTED, -8);
PIN(AE_ERR_NUMERIC, -9);
PIN(AE_ERR_CANCELLED, -10);
PIN(AE_ERR_STATE, -11);
PIN(AE_ERR_LIMIT, -12);
PIN(AE_ERR_CHECKSUM, -13);
PIN(AE_ERR_EXISTS, -14);
PIN(AE_OPT_SGD, 0);
PIN(AE_OPT_ADAM, 1);
PIN(AE_OPT_ADAMW, 2);
PIN(AE_LOSS_MSE, 0);
PIN(AE_LOSS_BCE, 1);
PIN(AE_FILE_NONE, 0);
PIN(AE_FILE_MODEL, 1);
PIN(AE_FILE_ENCODER, 2);
PIN(AE_FILE_DECODER, 3);
PIN(AE_SCORE_MSE, 0);
PIN(AE_SCORE_MAE, 1);
PIN(AE_SCORE_BCE, 2);
PIN(AE_THRESHOLD_MEAN_STD, 0);
PIN(AE_THRESHOLD_QUANTILE, 1);
PIN(AE_THRESHOLD_FIXED, 2);
PIN(AE_LAYER_ABI_VERSION, 1);
PIN(AE_OUTPUT_PADDING_AUTO, -1);
PIN(AE_CSV_NO_LABEL, -1);
PIN(AE_CSV_LAST_COLUMN, -2);
PIN(AE_FILE_FORMAT_MAJOR, 1);
PIN(AE_MAX_RANK, 4);

/* Added in 1.1 */
PIN(AE_METRIC_EUCLIDEAN, 0);
PIN(AE_METRIC_COSINE, 1);
PIN(AE_LOSS_MAE, 2);
PIN(AE_LOSS_SOFTMAX_CE, 3);
PIN(AE_LOSS_CUSTOM, 4);
PIN(AE_LR_CONSTANT, 0);
PIN(AE_LR_STEP, 1);
PIN(AE_LR_COSINE, 2);
PIN(AE_LR_PLATEAU, 3);
PIN(AE_PART_ENCODER, 0);
PIN(AE_PART_DECODER, 1);
PIN(AE_TENSOR_PARAMETER, 0);
PIN(AE_TENSOR_STATE, 1);
PIN(AE_ONNX_ATTR_FLOAT, 1);
PIN(AE_ONNX_ATTR_INT, 2);
PIN(AE_ONNX_ATTR_STRING, 3);
PIN(AE_ONNX_ATTR_INTS, 7);
PIN(AE_SCALER_STANDARD, 0);
PIN(AE_SCALER_MINMAX, 1);
PIN(AE_NOISE_CLIP_DATA, 0);
PIN(AE_NOISE_CLIP_RANGE, 1);
PIN(AE_NOISE_CLIP_NONE, 2);

/* ---- 1.1.0 (distributed training) ---- */
PIN(AE_DIST_DETERMINISTIC, 1);
PIN(AE_DIST_SYNC_STATE, 2);
