/* SPDX-License-Identifier: MIT */
/*
 * pca_vs_ae - PCA against autoencoders with the same 64-number code.
 *
 * Fits PCA with 64 components on the Fashion-MNIST training images, trains
 * the dense autoencoder 784-64-784 and a deeper one, 784-256-64-256-784,
 * and compares their test reconstruction MSE and time to fit. Draws the
 * same test images reconstructed by each in <out>/pca_vs_ae.png. Run with
 * --help.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ae.h>

#include "common/cli.h"
#include "common/data.h"
#include "common/plot.h"

#define PROG "pca_vs_ae"
#define LATENT 64u
#define HIDDEN 256u
#define CLASSES 10
#define N_METHODS 3

static const char *const class_names[CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"Compare PCA with 64 components against two autoencoders with a 64-number\n"
"latent on Fashion-MNIST: test reconstruction MSE, time to fit, pictures.\n"
"\n"
"  PCA-64    exact PCA (covariance eigen-decomposition, LAPACK) fitted on the\n"
"            60000 training images: the best linear 64-number code\n"
"  AE-64     dense 784 -> 64 (relu) -> 784 (sigmoid), as in reconstruct\n"
"  deep AE   dense 784 -> 256 (relu) -> 64 (relu) -> 256 (relu) -> 784\n"
"            (sigmoid)\n"
"Both autoencoders train with Adam (learning rate 1e-3) on the mean squared\n"
"error, for the same number of epochs.\n"
"\n"
"Options:\n"
"  --epochs N   passes over the training images for each autoencoder,\n"
"               0..1000000 (default 10)\n"
"  --batch N    images per optimizer step, 1..1048576 (default 32)\n"
"  --seed N     seeds the weights and the shuffling, 0..2^64-1 (default 1);\n"
"               the same seed gives the same result on the same machine\n"
"               and thread count\n"
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
"  stderr       a line per model fitted, a line per epoch, on a terminal a\n"
"               progress bar; a line for the picture\n"
"  stdout       a table (method, parameters, seconds to fit, test MSE, MSE\n"
"               relative to PCA-64), a line comparing them, then one last\n"
"               line: pca_mse=<6 decimals> ae_mse=<6 decimals>\n"
"               deep_ae_mse=<6 decimals>\n"
"  DIR/pca_vs_ae.png\n"
"               the first test image of each class (top row) and its\n"
"               reconstruction by PCA-64, AE-64 and the deep AE (rows\n"
"               below); replaced if there\n"
"\n");
    cli_help_common(f, 1);
    fprintf(f,
"Examples:\n"
"  " PROG " --epochs 1                  # a quick run\n"
"  " PROG " --epochs 30 --threads 4     # longer training, 4 threads\n"
"\n"
"See also: docs/examples/pca_vs_ae.md and docs/tutorial.md in the libae\n"
"sources.\n");
}

/* Builds and trains one autoencoder; *seconds gets the training time. */
static int train_ae(ae_model **out, const ae_dataset *train, const ae_dataset *test,
                    uint32_t features, int deep, uint32_t epochs, uint32_t batch, uint64_t seed,
                    double *seconds)
{
    const ae_shape input = {1, {features}}, latent = {1, {LATENT}};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL;
    ae_optimizer *opt = NULL;
    int rc;
    if ((rc = ae_encoder_create(&enc, &input, seed)) < 0 ||
        (deep && (rc = ae_encoder_add_dense(enc, HIDDEN, AE_ACT_RELU)) < 0) ||
        (rc = ae_encoder_add_dense(enc, LATENT, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_create(&dec, &latent, seed + 1)) < 0 ||
        (deep && (rc = ae_decoder_add_dense(dec, HIDDEN, AE_ACT_RELU)) < 0) ||
        (rc = ae_decoder_add_dense(dec, features, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(&model, enc, dec)) < 0)
        goto fail;
    enc = NULL;
    dec = NULL;
    if ((rc = ae_optimizer_create(&opt, NULL)) < 0)
        goto fail;
    fprintf(stderr, "%s: training the %s autoencoder (%zu parameters), %u epochs\n", PROG,
            deep ? "deep 784-256-64-256-784" : "784-64-784", ae_model_param_count(model),
            (unsigned)epochs);
    cli_progress progress;
    cli_progress_init(&progress, stderr, "test");
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = epochs;
    to.batch_size = batch;
    to.seed = seed + 2;
    to.validation = test;
    to.progress = cli_progress_callback;
    to.progress_user = &progress;
    double t0 = cli_now();
    if ((rc = ae_model_train(model, opt, train, &to)) < 0)
        goto fail;
    *seconds = cli_now() - t0;
    ae_optimizer_destroy(opt);
    *out = model;
    return AE_OK;
fail:
    ae_optimizer_destroy(opt);
    ae_model_destroy(model);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    return rc;
}

/* The picture: originals on top, one row per method. */
static int picture(const char *out_dir, const float *x, const float *const rec[N_METHODS],
                   const char *const labels[N_METHODS], const double mse[N_METHODS],
                   uint32_t h, uint32_t w)
{
    const size_t size = (size_t)h * w;
    const float *images[(N_METHODS + 1) * CLASSES];
    const char *row_labels[N_METHODS + 1] = {"original"}, *row_notes[N_METHODS + 1] = {NULL};
    char notes[N_METHODS][48];
    for (int row = 0; row <= N_METHODS; row++) {
        if (row > 0) {
            row_labels[row] = labels[row - 1];
            snprintf(notes[row - 1], sizeof notes[row - 1], "test MSE %.5f", mse[row - 1]);
            row_notes[row] = notes[row - 1];
        }
        for (int k = 0; k < CLASSES; k++)
            images[row * CLASSES + k] = (row == 0 ? x : rec[row - 1]) + (size_t)k * size;
    }
    plot_image_rows f = {.title = "The same test images through three 64-number codes",
                         .subtitle = "first test image of each class; MSE over all 10000",
                         .footer = "PCA: z = (x - mean) W^T, x~ = z W + mean;"
                                   " autoencoders: x~ = D(E(x))",
                         .rows = N_METHODS + 1, .cols = CLASSES, .col_names = class_names,
                         .row_labels = row_labels, .row_notes = row_notes, .images = images,
                         .h = (int)h, .w = (int)w, .scale = 3, .lo = 0.0f, .hi = 1.0f,
                         .label_width = 250};
    char err[512];
    char *path = cli_path_join(out_dir, PROG ".png");
    int status = CLI_EXIT_OK;
    if (path == NULL)
        status = cli_error(PROG, "out of memory");
    else if (plot_image_rows_write(&f, path, err, sizeof err) != 0)
        status = cli_error(PROG, "%s", err);
    else
        fprintf(stderr, "%s: wrote %s\n", PROG, path);
    free(path);
    return status;
}

int main(int argc, char **argv)
{
    uint32_t epochs = 10, batch = 32;
    uint64_t seed = 1;
    const char *data_dir = DATA_DEFAULT_DIR, *out_dir = "out";
    uint32_t threads = 0; /* --threads: 0 keeps the default */
    const cli_option options[] = {
        {"epochs", CLI_U32, &epochs, 0, 1000000, 0, 0},
        {"batch", CLI_U32, &batch, 1, 1048576, 0, 0},
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
    ae_model *ae = NULL, *deep = NULL;
    ae_pca *pca = NULL;
    float *x = NULL, *rec = NULL, *z = NULL;
    int status = CLI_EXIT_FAILURE, rc;

    if (cli_mkdir_p(out_dir) != 0) {
        cli_error(PROG, "cannot create directory %s: %s", out_dir, strerror(errno));
        goto done;
    }
    uint32_t h, w;
    if ((rc = data_load_mnist_images(data_dir, 1, &train, &test, &h, &w)) < 0)
        goto lib_fail;
    const uint32_t features = h * w;
    const size_t size = features;

    /* PCA-64 on the training images. */
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = LATENT;
    po.solver = AE_PCA_EXACT;
    double seconds[N_METHODS], mse[N_METHODS], evr[LATENT];
    fprintf(stderr, "%s: fitting PCA with %u components on %zu images\n", PROG, LATENT,
            ae_dataset_count(train));
    double t0 = cli_now();
    if ((rc = ae_pca_create(&pca, &po)) < 0 || (rc = ae_pca_fit_dataset(pca, train)) < 0)
        goto lib_fail;
    seconds[0] = cli_now() - t0;
    if ((rc = ae_pca_evaluate(pca, test, &mse[0])) < 0 ||
        (rc = ae_pca_get_explained_variance(pca, NULL, evr, LATENT, NULL)) < 0)
        goto lib_fail;
    double explained = 0.0;
    for (size_t i = 0; i < LATENT; i++)
        explained += evr[i];

    if ((rc = train_ae(&ae, train, test, features, 0, epochs, batch, seed, &seconds[1])) < 0 ||
        (rc = ae_model_evaluate(ae, test, AE_LOSS_MSE, &mse[1])) < 0 ||
        (rc = train_ae(&deep, train, test, features, 1, epochs, batch, seed + 10,
                       &seconds[2])) < 0 ||
        (rc = ae_model_evaluate(deep, test, AE_LOSS_MSE, &mse[2])) < 0)
        goto lib_fail;

    /* The first test image of each class, through each method. */
    x = malloc(CLASSES * size * sizeof *x);
    rec = malloc(N_METHODS * CLASSES * size * sizeof *rec);
    z = malloc(CLASSES * LATENT * sizeof *z);
    if (x == NULL || rec == NULL || z == NULL) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    int found = 0;
    for (size_t i = 0, n = ae_dataset_count(test); i < n; i++) {
        int32_t label;
        if ((rc = ae_dataset_label(test, i, &label)) < 0)
            goto lib_fail;
        if (label >= 0 && label < CLASSES && (found & (1 << label)) == 0) {
            found |= 1 << label;
            memcpy(x + (size_t)label * size, ae_dataset_sample(test, i), size * sizeof *x);
        }
        if (found == (1 << CLASSES) - 1)
            break;
    }
    if (found != (1 << CLASSES) - 1) {
        cli_error(PROG, "the test set lacks an image of some class");
        goto done;
    }
    if ((rc = ae_pca_transform(pca, x, CLASSES, z)) < 0 ||
        (rc = ae_pca_inverse_transform(pca, z, CLASSES, rec)) < 0 ||
        (rc = ae_model_reconstruct(ae, x, CLASSES, rec + CLASSES * size)) < 0 ||
        (rc = ae_model_reconstruct(deep, x, CLASSES, rec + 2 * CLASSES * size)) < 0)
        goto lib_fail;
    const float *const recs[N_METHODS] = {rec, rec + CLASSES * size, rec + 2 * CLASSES * size};
    const char *const labels[N_METHODS] = {"PCA-64", "AE-64", "deep AE"};
    if ((status = picture(out_dir, x, recs, labels, mse, h, w)) != CLI_EXIT_OK)
        goto done;

    const char *const names[N_METHODS] = {"PCA-64 (exact)", "AE-64 784-64-784",
                                          "deep AE 784-256-64-256-784"};
    const size_t params[N_METHODS] = {LATENT * size + size, ae_model_param_count(ae),
                                      ae_model_param_count(deep)};
    printf("%-28s %10s %12s %10s %8s\n", "method", "parameters", "fit seconds", "test MSE",
           "vs PCA");
    for (int m = 0; m < N_METHODS; m++)
        printf("%-28s %10zu %12.2f %10.6f %8.3f\n", names[m], params[m], seconds[m], mse[m],
               mse[m] / mse[0]);
    printf("PCA-64 explains %.4f of the training variance; the deep AE's MSE is %.3f x "
           "PCA-64's (bar: <= 0.8)\n",
           explained, mse[2] / mse[0]);
    printf("pca_mse=%.6f ae_mse=%.6f deep_ae_mse=%.6f\n", mse[0], mse[1], mse[2]);
    if (fflush(stdout) != 0) {
        status = cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;

lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    free(x);
    free(rec);
    free(z);
    ae_pca_destroy(pca);
    ae_model_destroy(ae);
    ae_model_destroy(deep);
    ae_dataset_destroy(train);
    ae_dataset_destroy(test);
    return status;
}
