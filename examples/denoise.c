/* SPDX-License-Identifier: MIT */
/*
 * denoise - a convolutional denoising autoencoder on Fashion-MNIST (the
 * model of TensorFlow's "Intro to Autoencoders" tutorial).
 *
 * Trains on <x + noise, x> pairs, the noise drawn afresh for every batch by
 * ae_model_train() (additive Gaussian, factor 0.2, clipped to [0, 1]);
 * measures how far the denoised test images are from the clean ones (and,
 * for scale, how far the noisy ones are) and draws noisy / denoised / clean
 * rows in <out>/denoise.png. Run with --help.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ae.h>

#include "common/cli.h"
#include "common/data.h"
#include "common/plot.h"

#define PROG "denoise"
#define SHOWN 10u /* test images drawn in the PNG */

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"Train a convolutional denoising autoencoder on Fashion-MNIST.\n"
"\n"
"The model (TensorFlow's denoising tutorial) takes 1x28x28 images:\n"
"  encoder  conv 16 3x3 stride 2 same relu   -> 16x14x14\n"
"           conv  8 3x3 stride 2 same relu   ->  8x7x7 (latent)\n"
"  decoder  conv_transpose  8 3x3 stride 2 same relu -> 8x14x14\n"
"           conv_transpose 16 3x3 stride 2 same relu -> 16x28x28\n"
"           conv 1 3x3 same sigmoid                  -> 1x28x28\n"
"Each training batch is corrupted on the fly with additive Gaussian noise\n"
"(x + factor * N(0, 1), clipped to [0, 1]), fresh for every step, and the\n"
"loss is the mean squared error between the model's output and the clean\n"
"batch. Adam (learning rate 1e-3, epsilon 1e-7). The test images get one\n"
"fixed draw of the same noise; after every epoch the denoised test MSE is\n"
"shown.\n"
"\n"
"Options:\n"
"  --epochs N   passes over the 60000 training images, 0..1000000 (default\n"
"               10; 0 only evaluates the untrained model)\n"
"  --batch N    images per optimizer step, 1..1048576 (default 32)\n"
"  --noise F    noise factor, 0..10 (default 0.2)\n"
"  --seed N     seeds the initial weights, the shuffling and the noise,\n"
"               0..2^64-1 (default 1); the same seed gives the same result\n"
"               on the same machine and thread count\n"
"  --data DIR   the dataset folder, see Data (default\n"
"               " DATA_DEFAULT_DIR ")\n"
"  --out DIR    folder for the picture, created if missing (default out)\n"
"  --threads N  threads for libae's matrix products, 1..1024 (default:\n"
"               AE_NUM_THREADS, else OpenBLAS's count); small products\n"
"               always run on one\n"
"  -h, --help   print this help and exit\n"
CLI_HELP_SYNTAX
"\n"
"Output:\n"
"  stderr       the data and model sizes, a line per epoch (training loss,\n"
"               denoised test MSE, seconds), on a terminal a progress bar\n"
"  stdout       one line: test_mse=<MSE of the denoised test images\n"
"               against the clean ones, 6 decimals>\n"
"               identity_mse=<MSE of the noisy test images themselves>\n"
"               train_seconds=<training time, 2 decimals>\n"
"  DIR/denoise.png\n"
"               the first 10 test images: noisy (top row), denoised\n"
"               (middle) and clean (bottom), upscaled 2x, titled with the\n"
"               noise factor and epochs, rows labelled with their test MSE,\n"
"               each image with its own; replaced if there\n"
"\n");
    cli_help_common(f, 0);
    fprintf(f,
"Examples:\n"
"  " PROG " --epochs 1                    # a quick run\n"
"  " PROG " --noise 0.5 --out noisy       # stronger noise, picture in noisy/\n"
"\n"
"See also: docs/examples/denoise.md in the libae sources.\n");
}

/* The noisy test set and where the denoised images go: what the epoch
 * lines and the final line measure. */
typedef struct evaluation {
    const ae_model *model;
    const float *clean, *noisy;
    float *denoised;
    size_t count, size;
    cli_progress bar;
    int status; /* the first library error inside the callback */
} evaluation;

/* MSE of the model's output on the noisy test images against the clean ones. */
static int denoised_mse(evaluation *ev, double *mse)
{
    int rc = ae_model_reconstruct(ev->model, ev->noisy, ev->count, ev->denoised);
    if (rc < 0)
        return rc;
    return ae_loss_compute(mse, AE_LOSS_MSE, ev->clean, ev->denoised, ev->count, ev->size);
}

/* The progress callback: the cli bar, with the denoised test MSE as the
 * epoch's validation loss. */
static int on_progress(const ae_progress *p, void *user)
{
    evaluation *ev = user;
    if (p->event != AE_PROGRESS_EPOCH)
        return cli_progress_callback(p, &ev->bar);
    ae_progress q = *p;
    int rc = denoised_mse(ev, &q.val_loss);
    if (rc < 0) {
        ev->status = rc;
        return 1; /* stop training; main reports the error */
    }
    return cli_progress_callback(&q, &ev->bar);
}

/* Writes <out_dir>/denoise.png: noisy, denoised and clean rows. */
static int write_grid(const char *out_dir, const evaluation *ev, uint32_t h, uint32_t w,
                      double noise, uint32_t epochs, double test_mse, double identity_mse)
{
    const size_t shown = ev->count < SHOWN ? ev->count : SHOWN;
    const float *tiles[3 * SHOWN] = {NULL};
    const char *tile_notes[3 * SHOWN] = {NULL};
    char notes[2][SHOWN][16], title[96], sub[96], rn[2][40];
    double e[2][SHOWN];
    int rc;
    if ((rc = ae_score_compute(e[0], AE_SCORE_MSE, ev->clean, ev->noisy, shown, ev->size)) < 0 ||
        (rc = ae_score_compute(e[1], AE_SCORE_MSE, ev->clean, ev->denoised, shown, ev->size)) < 0)
        return cli_lib_error(PROG, rc);
    for (size_t i = 0; i < shown; i++) {
        tiles[i] = ev->noisy + i * ev->size;
        tiles[shown + i] = ev->denoised + i * ev->size;
        tiles[2 * shown + i] = ev->clean + i * ev->size;
        for (size_t r = 0; r < 2; r++) {
            snprintf(notes[r][i], sizeof notes[r][i], "%.4f", e[r][i]);
            tile_notes[r * shown + i] = notes[r][i];
        }
    }
    snprintf(title, sizeof title, "Denoising: Gaussian noise of factor %g, %u epoch%s", noise,
             (unsigned)epochs, epochs == 1 ? "" : "s");
    snprintf(sub, sizeof sub,
             "the first %zu of %zu test images, each with its MSE against the clean one",
             shown, ev->count);
    snprintf(rn[0], sizeof rn[0], "test MSE %.4f", identity_mse);
    snprintf(rn[1], sizeof rn[1], "test MSE %.4f", test_mse);
    const char *labels[3] = {"noisy input", "denoised", "clean"}, *row_notes[3] = {rn[0], rn[1], NULL};
    plot_image_rows f = {.title = title, .subtitle = sub, .rows = 3, .cols = (int)shown,
                         .row_labels = labels, .row_notes = row_notes, .images = tiles,
                         .image_notes = tile_notes, .h = (int)h, .w = (int)w, .scale = 2,
                         .lo = 0.0f, .hi = 1.0f, .label_width = 200};
    char *path = cli_path_join(out_dir, PROG ".png");
    if (path == NULL)
        return cli_error(PROG, "out of memory");
    char msg[512];
    int status = CLI_EXIT_OK;
    if (plot_image_rows_write(&f, path, msg, sizeof msg) != 0)
        status = cli_error(PROG, "%s", msg);
    free(path);
    return status;
}

int main(int argc, char **argv)
{
    uint32_t epochs = 10, batch = 32;
    uint64_t seed = 1;
    double noise = 0.2;
    const char *data_dir = DATA_DEFAULT_DIR, *out_dir = "out";
    uint32_t threads = 0; /* --threads: 0 keeps the default */
    const cli_option options[] = {
        {"epochs", CLI_U32, &epochs, 0, 1000000, 0, 0},
        {"batch", CLI_U32, &batch, 1, 1048576, 0, 0},
        {"noise", CLI_DOUBLE, &noise, 0, 0, 0.0, 10.0},
        {"seed", CLI_U64, &seed, 0, 0, 0, 0},
        {"data", CLI_STRING, &data_dir, 0, 0, 0, 0},
        {"out", CLI_STRING, &out_dir, 0, 0, 0, 0},
        CLI_THREADS_OPTION(threads),
    };
    int start = cli_start(PROG, argc, argv, options, sizeof options / sizeof options[0], usage,
                          &threads);
    if (start != CLI_CONTINUE)
        return start;

    ae_dataset *train = NULL, *test = NULL;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL;
    ae_optimizer *opt = NULL;
    evaluation ev;
    memset(&ev, 0, sizeof ev);
    float *buf = NULL;
    int status = CLI_EXIT_FAILURE, rc;

    if (cli_mkdir_p(out_dir) != 0) {
        cli_error(PROG, "cannot create directory %s: %s", out_dir, strerror(errno));
        goto done;
    }
    if ((rc = data_load_mnist_dir(data_dir, 0, &train, &test)) < 0)
        goto lib_fail;
    ae_shape img;
    if ((rc = ae_dataset_shape(train, &img)) < 0)
        goto lib_fail;
    if (img.rank != 3 || img.dims[0] != 1 || img.dims[1] % 4 != 0 || img.dims[2] % 4 != 0) {
        cli_error(PROG, "%s: expected greyscale images with sides divisible by 4", data_dir);
        goto done;
    }
    const uint32_t h = img.dims[1], w = img.dims[2];

    /* The noisy test set, one fixed draw. */
    ev.count = ae_dataset_count(test);
    ev.size = (size_t)h * w;
    buf = malloc(3 * ev.count * ev.size * sizeof *buf);
    if (buf == NULL) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    ev.clean = buf;
    ev.noisy = buf + ev.count * ev.size;
    ev.denoised = buf + 2 * ev.count * ev.size;
    if ((rc = ae_dataset_get_batch(test, 0, ev.count, buf, NULL)) < 0)
        goto lib_fail;
    memcpy(buf + ev.count * ev.size, buf, ev.count * ev.size * sizeof *buf);
    if ((rc = ae_noise_apply(buf + ev.count * ev.size, ev.count * ev.size,
                             AE_NOISE_GAUSSIAN, (float)noise, seed + 3)) < 0)
        goto lib_fail;

    /* The tutorial's model. The transposed convolutions use "same" padding
     * with output padding 1, so 7 -> 14 -> 28 (Keras's automatic output
     * padding, AE_OUTPUT_PADDING_AUTO, gives the same shapes here). */
    const ae_shape latent = {3, {8, h / 4, w / 4}};
    ae_conv2d_transpose_options up = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    up.kernel_h = up.kernel_w = 3;
    up.stride_h = up.stride_w = 2;
    up.padding = AE_PAD_SAME;
    up.output_padding_h = up.output_padding_w = 1;
    up.activation = AE_ACT_RELU;
    if ((rc = ae_encoder_create(&enc, &img, seed)) < 0 ||
        (rc = ae_encoder_add_conv2d(enc, 16, 3, 2, AE_PAD_SAME, AE_ACT_RELU)) < 0 ||
        (rc = ae_encoder_add_conv2d(enc, 8, 3, 2, AE_PAD_SAME, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_create(&dec, &latent, seed + 1)) < 0)
        goto lib_fail;
    up.filters = 8;
    if ((rc = ae_decoder_add_conv2d_transpose_ex(dec, &up)) < 0)
        goto lib_fail;
    up.filters = 16;
    if ((rc = ae_decoder_add_conv2d_transpose_ex(dec, &up)) < 0 ||
        (rc = ae_decoder_add_conv2d(dec, 1, 3, 1, AE_PAD_SAME, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(&model, enc, dec)) < 0)
        goto lib_fail;
    enc = NULL; /* the model owns them now */
    dec = NULL;
    ev.model = model;

    ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
    if ((rc = ae_optimizer_create(&opt, &oo)) < 0)
        goto lib_fail;

    fprintf(stderr, "%s: %zu training and %zu test images of %ux%u, conv model with %zu "
            "parameters, noise factor %g\n", PROG, ae_dataset_count(train), ev.count,
            (unsigned)h, (unsigned)w, ae_model_param_count(model), noise);

    cli_progress_init(&ev.bar, stderr, "test");
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = epochs;
    to.batch_size = batch;
    to.seed = seed + 2;
    to.loss = AE_LOSS_MSE;
    to.noise = AE_NOISE_GAUSSIAN;
    to.noise_amount = (float)noise;
    to.progress = on_progress;
    to.progress_user = &ev;

    double t0 = cli_now();
    rc = ae_model_train(model, opt, train, &to);
    double train_seconds = cli_now() - t0;
    if (ev.status < 0)
        rc = ev.status;
    if (rc < 0)
        goto lib_fail;

    double test_mse, identity_mse;
    if ((rc = denoised_mse(&ev, &test_mse)) < 0 ||
        (rc = ae_loss_compute(&identity_mse, AE_LOSS_MSE, ev.clean, ev.noisy, ev.count,
                              ev.size)) < 0)
        goto lib_fail;
    if ((status = write_grid(out_dir, &ev, h, w, noise, epochs, test_mse, identity_mse)) !=
        CLI_EXIT_OK)
        goto done;

    printf("test_mse=%.6f identity_mse=%.6f train_seconds=%.2f\n", test_mse, identity_mse,
           train_seconds);
    if (fflush(stdout) != 0) {
        status = cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;

lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    free(buf);
    ae_optimizer_destroy(opt);
    ae_model_destroy(model);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_dataset_destroy(train);
    ae_dataset_destroy(test);
    return status;
}
