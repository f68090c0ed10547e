/* SPDX-License-Identifier: MIT */
/*
 * custom_layer - a user-defined layer kind, trained, saved and loaded.
 *
 * Defines "example.affine" through the extender's vtable (ae/sys/layer.h):
 * y = gamma * x + beta per feature, with trainable gamma and beta and, as
 * extra state kept in model files, the number of training samples it has
 * seen. Builds 784 -> dense 64 (relu) -> affine | 64 -> dense 784 (sigmoid),
 * trains it on Fashion-MNIST, saves it, shows that loading fails with a
 * clear error while the kind is not registered, registers it again, loads
 * the file and checks that the reloaded model gives the same test MSE.
 * Run with --help.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ae.h>
#include <ae/sys/layer.h>

#include "common/cli.h"
#include "common/data.h"

#define PROG "custom_layer"
#define KIND "example.affine"
#define LATENT 64u

/* ---- the layer kind ---------------------------------------------------- */

/* What the program learns from the layers (handed over as user_data). */
typedef struct affine_stats {
    unsigned long long loaded_seen; /* samples seen, as restored from a file */
} affine_stats;

typedef struct affine {
    size_t n;            /* features per sample */
    float *gamma, *beta; /* parameters */
    float *dgamma, *dbeta;
    unsigned long long seen; /* training samples seen: the extra state */
    affine_stats *stats;
} affine;

static void affine_destroy(void *state)
{
    affine *a = state;
    if (a == NULL)
        return;
    free(a->gamma);
    free(a);
}

/* Config: the initial gamma as a little-endian float32 (4 bytes). Configs
 * also come from model files: check them. */
static int affine_create(void **state, ae_shape *output, const ae_layer_create_args *args)
{
    if (args->config_size != 4)
        return ae_error_set(AE_ERR_INVALID, KIND ": config of %zu bytes, expected 4",
                            args->config_size);
    const unsigned char *c = args->config;
    uint32_t bits = (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
                    (uint32_t)c[3] << 24;
    float g0;
    memcpy(&g0, &bits, sizeof g0);
    if (!(g0 > -1e6f && g0 < 1e6f))
        return ae_error_set(AE_ERR_INVALID, KIND ": initial gamma %g is out of range", (double)g0);
    size_t n = 1;
    for (uint32_t i = 0; i < args->input.rank; i++)
        n *= args->input.dims[i];
    affine *a = calloc(1, sizeof *a);
    float *buf = a ? calloc(4 * n, sizeof *buf) : NULL;
    if (buf == NULL) {
        free(a);
        return ae_error_set(AE_ERR_NOMEM, KIND ": out of memory for %zu features", n);
    }
    a->n = n;
    a->gamma = buf;
    a->beta = buf + n;
    a->dgamma = buf + 2 * n;
    a->dbeta = buf + 3 * n;
    for (size_t i = 0; i < n; i++)
        a->gamma[i] = g0;
    a->stats = args->user_data;
    *output = args->input;
    *state = a;
    return AE_OK;
}

static size_t affine_param_count(const void *state)
{
    (void)state;
    return 2;
}

static int affine_param_get(void *state, size_t index, ae_param_view *v)
{
    affine *a = state;
    v->name = index == 0 ? "gamma" : "beta";
    v->value = index == 0 ? a->gamma : a->beta;
    v->grad = index == 0 ? a->dgamma : a->dbeta;
    v->count = a->n;
    v->shape.rank = 1;
    v->shape.dims[0] = (uint32_t)a->n;
    return AE_OK;
}

static int affine_forward(void *state, const ae_layer_ctx *ctx, const float *x, float *y)
{
    affine *a = state;
    for (size_t b = 0; b < ctx->batch; b++)
        for (size_t i = 0; i < a->n; i++)
            y[b * a->n + i] = a->gamma[i] * x[b * a->n + i] + a->beta[i];
    if (ctx->training) /* inference must not change the state; training may */
        a->seen += ctx->batch;
    return AE_OK;
}

static int affine_backward(void *state, const ae_layer_ctx *ctx, const float *x, const float *y,
                           const float *dy, float *dx)
{
    affine *a = state;
    (void)y;
    memset(a->dgamma, 0, a->n * sizeof *a->dgamma);
    memset(a->dbeta, 0, a->n * sizeof *a->dbeta);
    for (size_t b = 0; b < ctx->batch; b++)
        for (size_t i = 0; i < a->n; i++) {
            const float g = dy[b * a->n + i];
            a->dgamma[i] += g * x[b * a->n + i];
            a->dbeta[i] += g;
            if (dx != NULL)
                dx[b * a->n + i] = g * a->gamma[i];
        }
    return AE_OK;
}

/* Extra state: the sample counter as 8 little-endian bytes. */
static size_t affine_extra_size(const void *state)
{
    (void)state;
    return 8;
}

static int affine_extra_save(const void *state, void *buf, size_t size)
{
    const affine *a = state;
    unsigned char *b = buf;
    for (size_t i = 0; i < size; i++)
        b[i] = (unsigned char)(a->seen >> (8 * i));
    return AE_OK;
}

static int affine_extra_load(void *state, const void *buf, size_t size)
{
    affine *a = state;
    const unsigned char *b = buf;
    if (size != 8)
        return ae_error_set(AE_ERR_FORMAT, KIND ": %zu bytes of state, expected 8", size);
    a->seen = 0;
    for (size_t i = 0; i < 8; i++)
        a->seen |= (unsigned long long)b[i] << (8 * i);
    if (a->stats != NULL)
        a->stats->loaded_seen = a->seen;
    return AE_OK;
}

static int affine_register(affine_stats *stats)
{
    ae_layer_vtable vt = AE_LAYER_VTABLE_INIT;
    vt.type_name = KIND;
    vt.type_version = 1;
    vt.create = affine_create;
    vt.destroy = affine_destroy;
    vt.param_count = affine_param_count;
    vt.param_get = affine_param_get;
    vt.forward = affine_forward;
    vt.backward = affine_backward;
    vt.extra_size = affine_extra_size;
    vt.extra_save = affine_extra_save;
    vt.extra_load = affine_extra_load;
    return ae_layer_register(&vt, stats, NULL);
}

/* ---- the program ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"Train, save and load an autoencoder with a user-defined layer kind.\n"
"\n"
"The kind \"" KIND "\" (y = gamma * x + beta per feature; its extra state,\n"
"kept in model files, counts the training samples it has seen) follows a\n"
"dense 784 -> 64 relu encoder layer; the decoder is dense 64 -> 784 sigmoid.\n"
"The model trains with Adam (batch 32) on the first --train images, is\n"
"saved to DIR/custom_layer.aem, must fail to load while the kind is\n"
"unregistered, loads again once it is registered, and must give the same\n"
"test MSE (over the 10000 test images) as before saving.\n"
"\n"
"Options:\n"
"  --epochs N   passes over the training images, 0..1000 (default 2)\n"
"  --train N    training images used, 1..60000 (default 10000)\n"
"  --seed N     seeds the weights and the shuffling, 0..2^64-1 (default 1)\n"
"  --data DIR   the dataset folder, see Data (default\n"
"               " DATA_DEFAULT_DIR ")\n"
"  --out DIR    folder for custom_layer.aem, created if missing (default out)\n"
"  --threads N  threads for libae's matrix products, 1..1024 (default:\n"
"               AE_NUM_THREADS, else OpenBLAS's count)\n"
"  -h, --help   print this help and exit\n"
CLI_HELP_SYNTAX
"\n"
"Output:\n"
"  stderr       a line per epoch, on a terminal a progress bar; a line for\n"
"               the saved file and one with the error loading it without\n"
"               the kind gave\n"
"  stdout       one line: test_mse=<MSE of the trained model>\n"
"               reloaded_test_mse=<MSE after loading>\n"
"               samples_seen=<the layer's restored counter>\n"
"  DIR/custom_layer.aem\n"
"               the model file; replaced if there\n"
"An unexpected load result or a different MSE after loading exits with 1.\n"
"\n");
    cli_help_common(f, 0);
    fprintf(f,
"Examples:\n"
"  " PROG " --epochs 1 --train 1000  # a quick run\n"
"  " PROG " && ae-inspect out/custom_layer.aem\n"
"                                        # the file, kind marked\n"
"\n"
"See also: docs/examples/custom_layer.md and docs/custom-layers.md in the\n"
"libae sources; ae-inspect(1).\n");
}

int main(int argc, char **argv)
{
    uint32_t epochs = 2, train_count = 10000;
    uint64_t seed = 1;
    const char *data_dir = DATA_DEFAULT_DIR, *out_dir = "out";
    uint32_t threads = 0; /* --threads: 0 keeps the default */
    const cli_option options[] = {
        {"epochs", CLI_U32, &epochs, 0, 1000, 0, 0},
        {"train", CLI_U32, &train_count, 1, 60000, 0, 0},
        {"seed", CLI_U64, &seed, 0, 0, 0, 0},
        {"data", CLI_STRING, &data_dir, 0, 0, 0, 0},
        {"out", CLI_STRING, &out_dir, 0, 0, 0, 0},
        CLI_THREADS_OPTION(threads),
    };
    int start = cli_start(PROG, argc, argv, options, sizeof options / sizeof options[0], usage,
                          &threads);
    if (start != CLI_CONTINUE)
        return start;

    ae_dataset *all = NULL, *train = NULL, *test = NULL;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL, *loaded = NULL;
    ae_optimizer *opt = NULL;
    affine_stats stats = {0};
    char *path = NULL;
    int status = CLI_EXIT_FAILURE, rc;

    if (cli_mkdir_p(out_dir) != 0) {
        cli_error(PROG, "cannot create directory %s: %s", out_dir, strerror(errno));
        goto done;
    }
    if ((path = cli_path_join(out_dir, PROG ".aem")) == NULL) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    if ((rc = affine_register(&stats)) < 0 ||
        (rc = data_load_mnist_dir(data_dir, 0, &all, &test)) < 0)
        goto lib_fail;
    size_t n = ae_dataset_count(all) < train_count ? ae_dataset_count(all) : train_count;
    if ((rc = ae_dataset_subset(&train, all, 0, n)) < 0)
        goto lib_fail;
    const uint32_t size = (uint32_t)ae_dataset_sample_size(train);
    const ae_shape input = {1, {size}}, latent = {1, {LATENT}};
    const unsigned char one[4] = {0x00, 0x00, 0x80, 0x3f}; /* 1.0f, little-endian */

    /* The custom layer goes in like a built-in one, by type name and config. */
    if ((rc = ae_encoder_create(&enc, &input, seed)) < 0 ||
        (rc = ae_encoder_add_dense(enc, LATENT, AE_ACT_RELU)) < 0 ||
        (rc = ae_encoder_add_layer(enc, KIND, one, sizeof one)) < 0 ||
        (rc = ae_decoder_create(&dec, &latent, seed + 1)) < 0 ||
        (rc = ae_decoder_add_dense(dec, size, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(&model, enc, dec)) < 0)
        goto lib_fail;
    enc = NULL;
    dec = NULL;
    if ((rc = ae_optimizer_create(&opt, NULL)) < 0)
        goto lib_fail;

    cli_progress progress;
    cli_progress_init(&progress, stderr, "test");
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = epochs;
    to.seed = seed + 2;
    to.validation = test;
    to.progress = cli_progress_callback;
    to.progress_user = &progress;
    if ((rc = ae_model_train(model, opt, train, &to)) < 0)
        goto lib_fail;
    double mse, reloaded_mse;
    if ((rc = ae_model_evaluate(model, test, AE_LOSS_MSE, &mse)) < 0)
        goto lib_fail;

    /* Save: the layer is stored by type name, version and config, with its
     * parameters and its extra state. */
    if ((rc = ae_model_save(model, path, NULL)) < 0)
        goto lib_fail;
    fprintf(stderr, "%s: saved %s\n", PROG, path);
    ae_model_destroy(model);
    model = NULL;

    /* Without the kind, the file cannot become a model: the error names it. */
    if ((rc = ae_layer_unregister(KIND)) < 0)
        goto lib_fail;
    rc = ae_model_load(&loaded, path);
    if (rc != AE_ERR_NOT_FOUND) {
        cli_error(PROG, "loading without the kind gave %d, expected AE_ERR_NOT_FOUND", rc);
        goto done;
    }
    fprintf(stderr, "%s: without the kind: %s: %s\n", PROG, ae_strerror(rc), ae_last_error());

    /* Registered again, it loads and computes what it did. */
    if ((rc = affine_register(&stats)) < 0 || (rc = ae_model_load(&loaded, path)) < 0 ||
        (rc = ae_model_evaluate(loaded, test, AE_LOSS_MSE, &reloaded_mse)) < 0)
        goto lib_fail;
    if (reloaded_mse != mse) {
        cli_error(PROG, "the reloaded model gives test MSE %.9f, the saved one %.9f",
                  reloaded_mse, mse);
        goto done;
    }
    printf("test_mse=%.6f reloaded_test_mse=%.6f samples_seen=%llu\n", mse, reloaded_mse,
           stats.loaded_seen);
    if (fflush(stdout) != 0) {
        cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;

lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    ae_model_destroy(loaded);
    ae_model_destroy(model);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_optimizer_destroy(opt);
    ae_dataset_destroy(train);
    ae_dataset_destroy(all);
    ae_dataset_destroy(test);
    ae_layer_unregister(KIND);
    free(path);
    return status;
}
