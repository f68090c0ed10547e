/* SPDX-License-Identifier: MIT */
/*
 * reconstruct - the basic autoencoder on Fashion-MNIST.
 *
 * Trains a dense autoencoder 784 -> 64 (relu) -> 784 (sigmoid) with Adam and
 * the mean squared error, measures the test MSE and draws ten test images
 * over their reconstructions in <out>/reconstruct.png. --save keeps the
 * model (with the optimizer, so training can resume bit for bit); --load
 * starts from a saved model instead. Run with --help.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ae.h>

#include "common/cli.h"
#include "common/data.h"
#include "common/plot.h"

#define PROG "reconstruct"
#define LATENT 64u   /* latent features */
#define SHOWN 10u    /* test images drawn in the PNG */

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"Train the basic autoencoder on Fashion-MNIST and show its reconstructions.\n"
"\n"
"The model is a dense encoder 784 -> 64 (relu) and a dense decoder\n"
"64 -> 784 (sigmoid), Glorot-uniform initialised, trained with Adam\n"
"(learning rate 1e-3, epsilon 1e-7) on the mean squared error between each\n"
"image and its reconstruction. The test set is evaluated after every epoch.\n"
"\n"
"Options:\n"
"  --epochs N   passes over the 60000 training images, 0..1000000 (default\n"
"               10; 0 only evaluates the untrained or loaded model)\n"
"  --batch N    images per optimizer step, 1..1048576 (default 32)\n"
"  --seed N     seeds the initial weights and the shuffling, 0..2^64-1\n"
"               (default 1); the same seed gives the same result on the\n"
"               same machine and thread count\n"
"  --data DIR   the dataset folder, see Data (default\n"
"               " DATA_DEFAULT_DIR ")\n"
"  --out DIR    folder for the picture, created if missing (default out)\n"
"  --save PATH  after training, save the model, the optimizer state, the\n"
"               training settings and the test MSE to PATH (a libae model\n"
"               file, written atomically; ae-inspect describes it)\n"
"  --load PATH  start from the model and optimizer saved in PATH instead of\n"
"               a new model: --epochs N trains N more epochs exactly as an\n"
"               uninterrupted run would; --epochs 0 only evaluates it (the\n"
"               same test_mse as when it was saved). The batch size and\n"
"               shuffling seed recorded in the file are used unless --batch\n"
"               or --seed is given\n"
"  --patience N stop early after N epochs without an improvement of the\n"
"               validation loss and keep the best epoch's weights, 0..1000\n"
"               (default 0: run every epoch)\n"
"  --val N      hold the last N training images out as the validation set\n"
"               (0..59999; default 0: the test set validates, as the per-epoch\n"
"               test loss always did; give --val for a model selection that\n"
"               never sees the test set)\n"
"  --lr-schedule NAME\n"
"               constant (default), step (halved every 10 epochs), cosine\n"
"               (from 1e-3 to 0 over --epochs), plateau (halved after 2\n"
"               epochs without improvement)\n"
"  --clip NORM  clip each update's gradient to this global L2 norm, > 0\n"
"               (default: no clipping)\n"
"  --threads N  threads for libae's matrix products, 1..1024 (default:\n"
"               AE_NUM_THREADS, else OpenBLAS's count); small products\n"
"               always run on one\n"
"  -h, --help   print this help and exit\n"
CLI_HELP_SYNTAX
"\n"
"Output:\n"
"  stderr       the data and model sizes, a line per epoch (training loss,\n"
"               test loss, seconds), on a terminal a progress bar; a line\n"
"               for --load and one for --save\n"
"  stdout       one line: test_mse=<test MSE, 6 decimals>\n"
"               train_seconds=<training time, 2 decimals>\n"
"               best_epoch=<1-based epoch of the lowest validation loss>\n"
"               epochs_run=<epochs this run trained>\n"
"  DIR/reconstruct.png\n"
"               the first 10 test images (top row) over their\n"
"               reconstructions (bottom row), upscaled 2x, titled with the\n"
"               model and its epochs, rows labelled, the test MSE and each\n"
"               image's MSE written in; replaced if there\n"
"\n");
    cli_help_common(f, 0);
    fprintf(f,
"Examples:\n"
"  " PROG " --epochs 1                # a quick run\n"
"  " PROG " --save m.aem              # 10 epochs; keep the model\n"
"  " PROG " --load m.aem --epochs 5 --save m.aem\n"
"                                        # 5 more, as if never stopped\n"
"  " PROG " --load m.aem --epochs 0   # evaluate the saved model\n"
"  " PROG " --epochs 40 --patience 3 --lr-schedule cosine --val 5000\n"
"                                        # early stopping on held-out images\n"
"\n"
"See also: docs/examples/reconstruct.md in the libae sources; ae-inspect(1).\n");
}

/* Writes <out_dir>/reconstruct.png: the first SHOWN test images above their
 * reconstructions, labelled with the model, the epochs and the MSEs.
 * Returns an exit status (messages printed). */
static int write_grid(const char *prog, const char *out_dir, ae_model *model,
                      const ae_dataset *test, uint32_t h, uint32_t w, double test_mse)
{
    size_t n = ae_dataset_count(test);
    size_t shown = n < SHOWN ? n : SHOWN;
    size_t size = (size_t)h * w;
    int status = CLI_EXIT_FAILURE, rc;
    float *x = NULL, *xr = NULL;
    char *path = NULL;
    const float *tiles[2 * SHOWN] = {NULL};
    char notes[SHOWN][16], title[96], sub[96], note[48];
    const char *tile_notes[2 * SHOWN] = {NULL};

    x = malloc(shown * size * sizeof *x);
    xr = malloc(shown * size * sizeof *xr);
    path = cli_path_join(out_dir, PROG ".png");
    if (x == NULL || xr == NULL || path == NULL) {
        cli_error(prog, "out of memory");
        goto done;
    }
    if ((rc = ae_dataset_get_batch(test, 0, shown, x, NULL)) < 0 ||
        (rc = ae_model_reconstruct(model, x, shown, xr)) < 0) {
        cli_lib_error(prog, rc);
        goto done;
    }
    double e[SHOWN];
    if ((rc = ae_score_compute(e, AE_SCORE_MSE, x, xr, shown, size)) < 0) {
        cli_lib_error(prog, rc);
        goto done;
    }
    for (size_t i = 0; i < shown; i++) {
        snprintf(notes[i], sizeof notes[i], "%.4f", e[i]);
        tiles[i] = x + i * size; /* row 0: the images; row 1 (shown on): theirs */
        tiles[shown + i] = xr + i * size;
        tile_notes[shown + i] = notes[i];
    }
    const size_t epochs = ae_model_history_length(model);
    snprintf(title, sizeof title, "Fashion-MNIST through a %zu-%zu-%zu autoencoder, %zu epoch%s",
             size, ae_encoder_latent_size(ae_model_encoder(model)), size, epochs,
             epochs == 1 ? "" : "s");
    snprintf(sub, sizeof sub, "the first %zu of %zu test images, each with its MSE", shown, n);
    snprintf(note, sizeof note, "test MSE %.4f", test_mse);
    const char *labels[2] = {"test image", "reconstruction"}, *row_notes[2] = {NULL, note};
    plot_image_rows f = {.title = title, .subtitle = sub, .rows = 2, .cols = (int)shown,
                         .row_labels = labels, .row_notes = row_notes, .images = tiles,
                         .image_notes = tile_notes, .h = (int)h, .w = (int)w, .scale = 2,
                         .lo = 0.0f, .hi = 1.0f, .label_width = 230};
    char msg[512];
    if (plot_image_rows_write(&f, path, msg, sizeof msg) != 0) {
        cli_error(prog, "%s", msg);
        goto done;
    }
    status = CLI_EXIT_OK;
done:
    free(x);
    free(xr);
    free(path);
    return status;
}

/* 1 when the command line sets option --name (as "--name V" or "--name=V"). */
static int option_given(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "--", 2) == 0 && strncmp(argv[i] + 2, name, n) == 0 &&
            (argv[i][2 + n] == '\0' || argv[i][2 + n] == '='))
            return 1;
    return 0;
}

/* Loads the model and, when the file holds one, its optimizer; takes the
 * recorded batch size and shuffling seed into *to unless the command line
 * set them. Returns a library status. */
static int load_model(const char *path, ae_model **model, ae_optimizer **opt,
                      ae_train_options *to, int keep_batch, int keep_seed)
{
    ae_file *f;
    int rc = ae_file_open(&f, path, NULL);
    if (rc < 0)
        return rc;
    if ((rc = ae_file_load_model(model, f)) < 0)
        goto done;
    rc = ae_file_load_optimizer(opt, f, *model);
    if (rc == AE_ERR_NOT_FOUND) {
        ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
        rc = ae_optimizer_create(opt, &oo);
    }
    if (rc < 0) {
        ae_model_destroy(*model);
        *model = NULL;
        goto done;
    }
    ae_train_options saved = AE_TRAIN_OPTIONS_INIT;
    if (ae_file_get_training(f, &saved) == AE_OK) {
        if (!keep_batch)
            to->batch_size = saved.batch_size;
        if (!keep_seed)
            to->seed = saved.seed;
    }
    fprintf(stderr, "%s: loaded %s: %zu epochs trained, optimizer at step %llu\n", PROG, path,
            ae_model_history_length(*model), (unsigned long long)ae_optimizer_steps(*opt));
done:
    ae_file_close(f);
    return rc;
}

/* Saves the model with its optimizer, training settings and test MSE. */
static int save_model(const char *path, const ae_model *model, const ae_optimizer *opt,
                      const ae_train_options *to, double test_mse)
{
    char mse[32];
    snprintf(mse, sizeof mse, "%.6f", test_mse);
    const char *keys[] = {"example", "dataset", "test_mse"};
    const char *values[] = {PROG, "fashion-mnist", mse};
    ae_save_options so = AE_SAVE_OPTIONS_INIT;
    so.optimizer = opt;
    so.training = to;
    so.metadata_count = 3;
    so.metadata_keys = keys;
    so.metadata_values = values;
    int rc = ae_model_save(model, path, &so);
    if (rc == AE_OK)
        fprintf(stderr, "%s: saved %s\n", PROG, path);
    return rc;
}

int main(int argc, char **argv)
{
    uint32_t epochs = 10, batch = 32;
    uint64_t seed = 1;
    const char *data_dir = DATA_DEFAULT_DIR, *out_dir = "out", *save_path = NULL,
               *load_path = NULL;
    uint32_t threads = 0; /* --threads: 0 keeps the default */
    uint32_t patience = 0, val_count = 0;
    double clip = 0.0;
    const char *schedule = "constant";
    const cli_option options[] = {
        {"epochs", CLI_U32, &epochs, 0, 1000000, 0, 0},
        {"batch", CLI_U32, &batch, 1, 1048576, 0, 0},
        {"seed", CLI_U64, &seed, 0, 0, 0, 0},
        {"data", CLI_STRING, &data_dir, 0, 0, 0, 0},
        {"out", CLI_STRING, &out_dir, 0, 0, 0, 0},
        {"save", CLI_STRING, &save_path, 0, 0, 0, 0},
        {"load", CLI_STRING, &load_path, 0, 0, 0, 0},
        {"patience", CLI_U32, &patience, 0, 1000, 0, 0},
        {"val", CLI_U32, &val_count, 0, 59999, 0, 0},
        {"lr-schedule", CLI_STRING, &schedule, 0, 0, 0, 0},
        {"clip", CLI_DOUBLE, &clip, 0, 0, 1e-30, 1e30},
        CLI_THREADS_OPTION(threads),
    };
    int start = cli_start(PROG, argc, argv, options, sizeof options / sizeof options[0], usage,
                          &threads);
    if (start != CLI_CONTINUE)
        return start;

    static const char *const schedules[] = {"constant", "step", "cosine", "plateau"};
    int lr_schedule = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(schedule, schedules[i]) == 0)
            lr_schedule = i; /* AE_LR_CONSTANT .. AE_LR_PLATEAU */
    if (lr_schedule < 0)
        return cli_usage_error(PROG, "--lr-schedule: '%s' is not constant, step, cosine or plateau",
                               schedule);
    ae_dataset *train = NULL, *test = NULL, *fit = NULL, *val = NULL;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL;
    ae_optimizer *opt = NULL;
    int status = CLI_EXIT_FAILURE, rc;

    /* Fail on an unusable output directory before spending time training. */
    if (cli_mkdir_p(out_dir) != 0) {
        cli_error(PROG, "cannot create directory %s: %s", out_dir, strerror(errno));
        goto done;
    }
    uint32_t h, w;
    if ((rc = data_load_mnist_images(data_dir, 0, &train, &test, &h, &w)) < 0)
        goto lib_fail;
    const ae_shape input = {1, {h * w}}, latent = {1, {LATENT}};
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = epochs;
    to.batch_size = batch;
    to.seed = seed + 2;
    to.loss = AE_LOSS_MSE;

    if (load_path != NULL) {
        if ((rc = load_model(load_path, &model, &opt, &to, option_given(argc, argv, "batch"),
                             option_given(argc, argv, "seed"))) < 0)
            goto lib_fail;
        ae_shape in;
        if ((rc = ae_encoder_input_shape(ae_model_encoder(model), &in)) < 0)
            goto lib_fail;
        if (in.rank != 1 || in.dims[0] != h * w) {
            cli_error(PROG, "%s: the model takes %u values, the images have %u", load_path,
                      (unsigned)in.dims[0], (unsigned)(h * w));
            goto done;
        }
    } else {
        /* Distinct seeds for the two weight initialisations and the shuffling. */
        if ((rc = ae_encoder_create(&enc, &input, seed)) < 0 ||
            (rc = ae_encoder_add_dense(enc, LATENT, AE_ACT_RELU)) < 0 ||
            (rc = ae_decoder_create(&dec, &latent, seed + 1)) < 0 ||
            (rc = ae_decoder_add_dense(dec, h * w, AE_ACT_SIGMOID)) < 0 ||
            (rc = ae_model_create(&model, enc, dec)) < 0)
            goto lib_fail;
        enc = NULL; /* the model owns them now */
        dec = NULL;

        ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
        if ((rc = ae_optimizer_create(&opt, &oo)) < 0)
            goto lib_fail;
    }

    fprintf(stderr, "%s: %zu training and %zu test images of %ux%u, %u-%u-%u model, "
            "%zu parameters\n", PROG, ae_dataset_count(train), ae_dataset_count(test),
            (unsigned)h, (unsigned)w, (unsigned)(h * w), LATENT, (unsigned)(h * w),
            ae_model_param_count(model));

    /* The validation set: the last --val training images, or the test set. */
    if (val_count > 0) {
        if (val_count >= ae_dataset_count(train)) {
            cli_error(PROG, "--val %u: only %zu training images", (unsigned)val_count,
                      ae_dataset_count(train));
            goto done;
        }
        if ((rc = ae_dataset_subset(&fit, train, 0, ae_dataset_count(train) - val_count)) < 0 ||
            (rc = ae_dataset_subset(&val, train, ae_dataset_count(train) - val_count, val_count)) < 0)
            goto lib_fail;
    }
    ae_train_result result = AE_TRAIN_RESULT_INIT;
    to.patience = patience;
    to.restore_best = patience > 0;
    to.lr_schedule = lr_schedule;
    if (lr_schedule == AE_LR_PLATEAU)
        to.lr_step_epochs = 2;
    to.clip_norm = (float)clip;
    to.result = &result;

    cli_progress progress;
    cli_progress_init(&progress, stderr, val != NULL ? "val" : "test");
    to.validation = val != NULL ? val : test;
    to.progress = cli_progress_callback;
    to.progress_user = &progress;

    double t0 = cli_now();
    rc = ae_model_train(model, opt, fit != NULL ? fit : train, &to);
    double train_seconds = cli_now() - t0;
    if (rc < 0)
        goto lib_fail;

    double test_mse;
    if ((rc = ae_model_evaluate(model, test, AE_LOSS_MSE, &test_mse)) < 0)
        goto lib_fail;
    if ((status = write_grid(PROG, out_dir, model, test, h, w, test_mse)) != CLI_EXIT_OK)
        goto done;
    if (save_path != NULL && (rc = save_model(save_path, model, opt, &to, test_mse)) < 0)
        goto lib_fail;

    printf("test_mse=%.6f train_seconds=%.2f best_epoch=%d epochs_run=%u\n", test_mse,
           train_seconds, (int)result.best_epoch + 1, (unsigned)result.epochs_run);
    if (fflush(stdout) != 0) {
        status = cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;

lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    ae_optimizer_destroy(opt);
    ae_model_destroy(model);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_dataset_destroy(fit);
    ae_dataset_destroy(val);
    ae_dataset_destroy(train);
    ae_dataset_destroy(test);
    return status;
}
