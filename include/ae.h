/* SPDX-License-Identifier: MIT */
/**
 * @file ae.h
 * @brief libae: an embeddable C library for autoencoders with a stable ABI.
 *
 * Include this one header. Link with `pkg-config --cflags --libs ae`.
 *
 * An autoencoder is an encoder E mapping an input x to a smaller latent z and
 * a decoder D mapping z back to x~ = D(E(x)) ≈ x, trained together on <X, X>.
 *
 * @code
 * #include <ae.h>
 *
 * ae_dataset *train;  ae_encoder *enc;  ae_decoder *dec;
 * ae_model *model;    ae_optimizer *opt;
 * ae_shape in = {1, {784}}, latent = {1, {64}};
 * ae_dataset_load_idx(&train, "train-images-idx3-ubyte.gz", NULL, 0);
 * ae_encoder_create(&enc, &in, 1);      ae_encoder_add_dense(enc, 64, AE_ACT_RELU);
 * ae_decoder_create(&dec, &latent, 2);  ae_decoder_add_dense(dec, 784, AE_ACT_SIGMOID);
 * ae_model_create(&model, enc, dec);    // the model owns enc and dec now
 * ae_optimizer_create(&opt, NULL);      // Adam, lr 1e-3
 * ae_train_options to = AE_TRAIN_OPTIONS_INIT;
 * ae_model_train(model, opt, train, &to);
 * @endcode
 *
 * Conventions (every header):
 * - functions that can fail return int: AE_OK or a negative AE_ERR_* code;
 *   ae_last_error() gives the detail; outputs are written only on success
 *   (exceptions, each said in its doc comment: the arrays inference fills
 *   in chunks, ae_encoder_encode(), ae_decoder_decode(),
 *   ae_model_reconstruct() and ae_latent_decode(), are unspecified after a
 *   failure; a failed ae_model_train() keeps the steps it completed; a
 *   failed save through a callback may have written part of the file);
 * - argument order, one rule per kind of function:
 *   - a function that makes a new object takes the `**out` for it first:
 *     ae_model_create(&model, enc, dec), ae_file_load_model(&model, file),
 *     ae_dataset_subset(&view, ds, first, count);
 *   - a function of an object, named ae_<object>_<verb>, takes that object
 *     first, its inputs next and the places it writes results last; an
 *     options pointer, when there is one, comes after them:
 *     ae_encoder_encode(enc, x, count, z), ae_dataset_label(ds, i, &label),
 *     ae_model_save_memory(model, &data, &size, opts);
 *   - a function of no object that fills arrays the caller passes
 *     (thresholds, metrics, loss, noise, latent generators) takes the array
 *     it writes first, as memcpy() does: ae_metrics_roc_auc(&auc, scores,
 *     labels, n), ae_noise_apply(x, n, AE_NOISE_GAUSSIAN, 0.2f, seed);
 *   - a buffer is followed by its size; targets come before predictions
 *     (ae_loss_compute(), ae_score_compute());
 * - counts: every function taking a count of items and buffers of them
 *   refuses, with AE_ERR_INVALID and a message naming the count, a count
 *   whose buffers could not exist (more than PTRDIFF_MAX bytes, or a size
 *   product that overflows: SIZE_MAX - k, what an n - 1 with n = 0 gives),
 *   besides the count 0 its doc comment refuses (since 1.1.0). The
 *   functions whose doc comment has said AE_ERR_LIMIT for such a size
 *   since 1.0 keep it: the dataset constructors (for counts up to
 *   AE_DATASET_MAX_COUNT of samples too large together),
 *   ae_loss_compute(), ae_latent_class_stats(), ae_latent_interpolate()
 *   and the latent samplers;
 * - destructors accept NULL; every object has exactly one owner, said in the
 *   doc comment of the function that hands it out;
 * - structs you fill start with struct_size and have an ..._INIT macro;
 * - thread safety is stated per header: objects are read-safe from several
 *   threads once built, and changed by one thread at a time;
 * - the library never aborts, exits or prints.
 */
#ifndef AE_H
#define AE_H

#include "ae/anomaly.h"
#include "ae/common.h"
#include "ae/dataset.h"
#include "ae/decoder.h"
#include "ae/dist.h"
#include "ae/encoder.h"
#include "ae/io.h"
#include "ae/latent.h"
#include "ae/metrics.h"
#include "ae/layer.h"
#include "ae/model.h"
#include "ae/onnx.h"
#include "ae/optimizer.h"
#include "ae/params.h"
#include "ae/pca.h"
#include "ae/scaler.h"
#include "ae/search.h"
#include "ae/step.h"
#include "ae/train.h"
#include "ae/vae.h"

#endif /* AE_H */
