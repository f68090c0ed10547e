/* SPDX-License-Identifier: MIT */
/*
 * search - image search with the encoder of a Fashion-MNIST autoencoder.
 *
 * Trains the basic dense autoencoder 784 -> 64 (relu) -> 784 (sigmoid) as
 * the reconstruct example does (or loads one), keeps the encoder, encodes
 * the 60000 training images and indexes their latents (ae_index), then
 * queries the index with the 10000 test images. It does the same with
 * PCA-64 projections and with the raw pixels, and reports for each the
 * precision@10 (the share of a query's 10 nearest training images that
 * have its class) and the search time per query. <out>/search.png shows
 * queries with their 8 nearest training images. Run with --help.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ae.h>

#include "common/cli.h"
#include "common/data.h"
#include "common/plot.h"

#define PROG "search"
#define LATENT 64u  /* latent features, and PCA components */
#define K 10u       /* neighbours for precision@K */
#define SHOWN_K 8u  /* neighbours drawn per query */
#define CLASSES 10
#define ROWS 10     /* queries drawn: the first test image of each class */

static const char *const class_names[CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"Search Fashion-MNIST by image with an autoencoder's latent code, PCA-64\n"
"and raw pixels, and compare them.\n"
"\n"
"The model is the one of the reconstruct example: a dense encoder\n"
"784 -> 64 (relu) and decoder 64 -> 784 (sigmoid), trained with Adam on the\n"
"mean squared error (same seeds, so the same weights). The decoder is then\n"
"dropped: the encoder maps the 60000 training images to 64-number latents,\n"
"an exact Euclidean index (ae_index) holds them, and every test image is a\n"
"query. The same is done with a PCA-64 fitted on the training pixels and\n"
"with the 784 raw pixels.\n"
"\n"
"Options:\n"
"  --epochs N   passes over the 60000 training images, 0..1000000 (default\n"
"               10; 0 searches with the untrained or loaded encoder)\n"
"  --batch N    images per optimizer step, 1..1048576 (default 32)\n"
"  --seed N     seeds the initial weights and the shuffling, 0..2^64-1\n"
"               (default 1, as reconstruct)\n"
"  --queries N  test images used as queries, the first N, 1..10000\n"
"               (default 10000)\n"
"  --load PATH  take the encoder of a model or encoder file (such as\n"
"               reconstruct --save writes) instead of training one\n"
"  --save PATH  save the encoder with its index of the 60000 training\n"
"               latents (an encoder file, written atomically; ae-inspect\n"
"               shows the KNNI section)\n"
"  --data DIR   the dataset folder, see Data (default\n"
"               " DATA_DEFAULT_DIR ")\n"
"  --out DIR    folder for the picture, created if missing (default out)\n"
"  --threads N  threads for libae's matrix products and searches, 1..1024\n"
"               (default: AE_NUM_THREADS, else OpenBLAS's count); the\n"
"               times of docs/examples/search.md are for 1\n"
"  -h, --help   print this help and exit\n"
CLI_HELP_SYNTAX
"\n"
"Output:\n"
"  stderr       the data sizes, a line per epoch (on a terminal a progress\n"
"               bar), a line per representation indexed, the picture's name\n"
"  stdout       a table: representation, dimensions, precision@10,\n"
"               microseconds per query (search only, queries in one batch;\n"
"               wall time, then the process's CPU time, which a busy\n"
"               machine disturbs less), seconds to build the index; then one\n"
"               last line (wall times):\n"
"               p10_ae=<4 decimals> p10_pca=<4 decimals>\n"
"               p10_pixels=<4 decimals> query_us_ae=<1 decimal>\n"
"               query_us_pixels=<1 decimal>\n"
"  DIR/search.png\n"
"               the first test image of each class (left column) and its 8\n"
"               nearest training images by AE latent, framed green when of\n"
"               the query's class and red otherwise; replaced if there\n"
"\n");
    cli_help_common(f, 1);
    fprintf(f,
"Examples:\n"
"  " PROG " --threads 1              # the measured run (about a minute)\n"
"  " PROG " --epochs 1 --queries 1000  # a quick look\n"
"  reconstruct --save m.aem && " PROG " --load m.aem --epochs 0\n"
"  " PROG " --save index.aem         # keep the encoder and its index\n"
"\n"
"See also: docs/examples/search.md and docs/search.md in the libae\n"
"sources; ae-inspect(1).\n");
}

/* One representation searched: its vectors and what was measured. */
typedef struct rep {
    const char *name;
    size_t dim;
    float *train, *test;   /* n_train x dim, n_query x dim (train may be borrowed) */
    size_t *nn;            /* n_query x K results */
    double p10, query_us, query_cpu_us, build_s;
} rep;

/* CPU seconds of the process (all its threads), for the table: on a busy
 * machine the wall time per query grows, the CPU time much less. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Indexes r->train, searches the queries in one batch, scores precision@K.
 * Keeps the index in *keep when keep is not NULL. Returns a library status. */
static int measure(rep *r, size_t n_train, size_t n_query, const int32_t *y_train,
                   const int32_t *y_test, ae_index **keep)
{
    ae_index *idx;
    double t0 = cli_now();
    int rc = ae_index_create(&idx, r->train, n_train, r->dim, NULL);
    if (rc < 0)
        return rc;
    r->build_s = cli_now() - t0;
    t0 = cli_now();
    double c0 = cpu_now();
    rc = ae_index_search(idx, r->test, n_query, K, r->nn, NULL);
    double seconds = cli_now() - t0, cpu_seconds = cpu_now() - c0;
    if (rc == AE_OK && keep != NULL)
        *keep = idx;
    else
        ae_index_destroy(idx);
    if (rc < 0)
        return rc;
    size_t same = 0;
    for (size_t q = 0; q < n_query; q++)
        for (size_t i = 0; i < K; i++)
            same += y_train[r->nn[q * K + i]] == y_test[q];
    r->p10 = (double)same / ((double)n_query * K);
    r->query_us = seconds / (double)n_query * 1e6;
    r->query_cpu_us = cpu_seconds / (double)n_query * 1e6;
    fprintf(stderr, "%s: %s: %zu vectors of %zu indexed in %.2f s, %zu queries in %.2f s\n", PROG,
            r->name, n_train, r->dim, r->build_s, n_query, seconds);
    return AE_OK;
}

/* Draws the first test query of each class with its SHOWN_K nearest
 * training images (AE latents) into <out>/search.png. */
static int write_picture(const char *out_dir, const rep *ae, const float *x_train,
                         const float *x_test, const int32_t *y_train, const int32_t *y_test,
                         size_t n_query, uint32_t h, uint32_t w)
{
    const int scale = 2, tile = (int)w * scale, gap = 6, frame = 2;
    const int left = 150, top = 40, qgap = 24;
    const int width = left + tile + qgap + (int)SHOWN_K * (tile + gap) + 10;
    const int height = top + ROWS * (tile + gap) + 10;
    plot_canvas c;
    if (plot_canvas_init(&c, width, height, PLOT_WHITE) != 0)
        return cli_error(PROG, "out of memory");
    plot_text(&c, left, 10, "query", 2, PLOT_BLACK);
    plot_text(&c, left + tile + qgap, 10, "8 nearest by AE latent", 2, PLOT_BLACK);
    const size_t size = (size_t)h * w;
    int row = 0;
    for (int cls = 0; cls < CLASSES; cls++) {
        size_t q = 0;
        while (q < n_query && y_test[q] != cls)
            q++;
        if (q == n_query)
            continue;
        const int y = top + row * (tile + gap);
        plot_text(&c, 10, y + tile / 2 - 8, class_names[cls], 2, PLOT_BLACK);
        plot_image(&c, left, y, x_test + q * size, (int)h, (int)w, scale, 0.0f, 1.0f);
        for (unsigned i = 0; i < SHOWN_K; i++) {
            size_t t = ae->nn[q * K + i];
            int x = left + tile + qgap + (int)i * (tile + gap);
            uint32_t colour = y_train[t] == cls ? 0x2ca02cu : 0xd62728u;
            for (int f = 1; f <= frame; f++)
                plot_rect(&c, x - f, y - f, tile + 2 * f, tile + 2 * f, colour);
            plot_image(&c, x, y, x_train + t * size, (int)h, (int)w, scale, 0.0f, 1.0f);
        }
        row++;
    }
    int status = plot_save(PROG, &c, out_dir, PROG ".png");
    plot_canvas_free(&c);
    return status;
}

/* Trains the reconstruct example's model; hands its encoder out. */
static int train_encoder(ae_encoder **out, const ae_dataset *train, const ae_dataset *test,
                         uint32_t size, uint32_t epochs, uint32_t batch, uint64_t seed)
{
    const ae_shape input = {1, {size}}, latent = {1, {LATENT}};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL;
    ae_optimizer *opt = NULL;
    int rc;
    if ((rc = ae_encoder_create(&enc, &input, seed)) < 0 ||
        (rc = ae_encoder_add_dense(enc, LATENT, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_create(&dec, &latent, seed + 1)) < 0 ||
        (rc = ae_decoder_add_dense(dec, size, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(&model, enc, dec)) < 0)
        goto done;
    enc = NULL; /* the model owns them now */
    dec = NULL;
    ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
    if ((rc = ae_optimizer_create(&opt, &oo)) < 0)
        goto done;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = epochs;
    to.batch_size = batch;
    to.seed = seed + 2;
    to.loss = AE_LOSS_MSE;
    cli_progress progress;
    cli_progress_init(&progress, stderr, "test");
    to.validation = test;
    to.progress = cli_progress_callback;
    to.progress_user = &progress;
    double t0 = cli_now();
    if ((rc = ae_model_train(model, opt, train, &to)) < 0)
        goto done;
    fprintf(stderr, "%s: trained %u epochs in %.2f s\n", PROG, epochs, cli_now() - t0);
    /* keep the encoder, drop the decoder */
    ae_model_release(model, out, NULL);
    model = NULL;
done:
    ae_optimizer_destroy(opt);
    ae_model_destroy(model);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    return rc;
}

int main(int argc, char **argv)
{
    uint32_t epochs = 10, batch = 32, queries = 10000;
    uint64_t seed = 1;
    const char *data_dir = DATA_DEFAULT_DIR, *out_dir = "out", *load_path = NULL,
               *save_path = NULL;
    uint32_t threads = 0;
    const cli_option options[] = {
        {"epochs", CLI_U32, &epochs, 0, 1000000, 0, 0},
        {"batch", CLI_U32, &batch, 1, 1048576, 0, 0},
        {"seed", CLI_U64, &seed, 0, 0, 0, 0},
        {"queries", CLI_U32, &queries, 1, 10000, 0, 0},
        {"load", CLI_STRING, &load_path, 0, 0, 0, 0},
        {"save", CLI_STRING, &save_path, 0, 0, 0, 0},
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
    ae_pca *pca = NULL;
    ae_index *ae_idx = NULL;
    float *x_train = NULL, *x_test = NULL;
    int32_t *y_train = NULL, *y_test = NULL;
    rep reps[3] = {{"AE latent", LATENT, NULL, NULL, NULL, 0, 0, 0, 0},
                   {"PCA-64", LATENT, NULL, NULL, NULL, 0, 0, 0, 0},
                   {"pixels", 0, NULL, NULL, NULL, 0, 0, 0, 0}};
    int status = CLI_EXIT_FAILURE, rc;

    if (cli_mkdir_p(out_dir) != 0) {
        cli_error(PROG, "cannot create directory %s: %s", out_dir, strerror(errno));
        goto done;
    }
    uint32_t h, w;
    if ((rc = data_load_mnist_images(data_dir, 1, &train, &test, &h, &w)) < 0)
        goto lib_fail;
    const uint32_t size = h * w;
    const size_t n_train = ae_dataset_count(train);
    const size_t n_query = queries < ae_dataset_count(test) ? queries : ae_dataset_count(test);
    fprintf(stderr, "%s: %zu training images indexed, %zu test images as queries, %ux%u\n", PROG,
            n_train, n_query, (unsigned)h, (unsigned)w);

    x_train = malloc(n_train * size * sizeof *x_train);
    x_test = malloc(n_query * size * sizeof *x_test);
    y_train = malloc(n_train * sizeof *y_train);
    y_test = malloc(n_query * sizeof *y_test);
    int short_of_memory = x_train == NULL || x_test == NULL || y_train == NULL || y_test == NULL;
    for (int i = 0; i < 3; i++) {
        if (i < 2) {
            reps[i].train = malloc(n_train * LATENT * sizeof(float));
            reps[i].test = malloc(n_query * LATENT * sizeof(float));
            short_of_memory |= reps[i].train == NULL || reps[i].test == NULL;
        }
        reps[i].nn = malloc(n_query * K * sizeof *reps[i].nn);
        short_of_memory |= reps[i].nn == NULL;
    }
    if (short_of_memory) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    if ((rc = ae_dataset_get_batch(train, 0, n_train, x_train, y_train)) < 0 ||
        (rc = ae_dataset_get_batch(test, 0, n_query, x_test, y_test)) < 0)
        goto lib_fail;

    /* the encoder: trained here, or loaded */
    if (load_path != NULL) {
        if ((rc = ae_encoder_load(&enc, load_path)) < 0)
            goto lib_fail;
        ae_shape in;
        if ((rc = ae_encoder_input_shape(enc, &in)) < 0)
            goto lib_fail;
        if (in.rank != 1 || in.dims[0] != size || ae_encoder_latent_size(enc) == 0) {
            cli_error(PROG, "%s: the encoder takes %u values, the images have %u", load_path,
                      (unsigned)in.dims[0], (unsigned)size);
            goto done;
        }
        reps[0].dim = ae_encoder_latent_size(enc);
        if (reps[0].dim > LATENT) {
            float *a = realloc(reps[0].train, n_train * reps[0].dim * sizeof(float));
            if (a != NULL)
                reps[0].train = a;
            float *b = realloc(reps[0].test, n_query * reps[0].dim * sizeof(float));
            if (b != NULL)
                reps[0].test = b;
            if (a == NULL || b == NULL) {
                cli_error(PROG, "out of memory");
                goto done;
            }
        }
        fprintf(stderr, "%s: loaded the encoder of %s (latent %zu)\n", PROG, load_path,
                reps[0].dim);
    }
    if (enc == NULL && epochs > 0 &&
        (rc = train_encoder(&enc, train, test, size, epochs, batch, seed)) < 0)
        goto lib_fail;
    if (enc == NULL) { /* --epochs 0 without --load: the untrained encoder */
        const ae_shape input = {1, {size}};
        if ((rc = ae_encoder_create(&enc, &input, seed)) < 0 ||
            (rc = ae_encoder_add_dense(enc, LATENT, AE_ACT_RELU)) < 0)
            goto lib_fail;
    }
    double t0 = cli_now();
    if ((rc = ae_encoder_encode(enc, x_train, n_train, reps[0].train)) < 0 ||
        (rc = ae_encoder_encode(enc, x_test, n_query, reps[0].test)) < 0)
        goto lib_fail;
    fprintf(stderr, "%s: encoded %zu images in %.2f s\n", PROG, n_train + n_query,
            cli_now() - t0);

    /* PCA-64 on the training pixels */
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = LATENT;
    t0 = cli_now();
    if ((rc = ae_pca_create(&pca, &po)) < 0 || (rc = ae_pca_fit(pca, x_train, n_train, size)) < 0 ||
        (rc = ae_pca_transform(pca, x_train, n_train, reps[1].train)) < 0 ||
        (rc = ae_pca_transform(pca, x_test, n_query, reps[1].test)) < 0)
        goto lib_fail;
    fprintf(stderr, "%s: PCA-64 fitted and applied in %.2f s\n", PROG, cli_now() - t0);

    reps[2].dim = size;
    reps[2].train = x_train;
    reps[2].test = x_test;
    for (int i = 0; i < 3; i++)
        if ((rc = measure(&reps[i], n_train, n_query, y_train, y_test,
                          i == 0 ? &ae_idx : NULL)) < 0)
            goto lib_fail;

    if ((status = write_picture(out_dir, &reps[0], x_train, x_test, y_train, y_test, n_query, h,
                                w)) != CLI_EXIT_OK)
        goto done;
    status = CLI_EXIT_FAILURE;
    if (save_path != NULL) {
        ae_save_options so = AE_SAVE_OPTIONS_INIT;
        so.index = ae_idx;
        const char *keys[] = {"example", "dataset"};
        const char *values[] = {PROG, "fashion-mnist train, 60000 latents"};
        so.metadata_count = 2;
        so.metadata_keys = keys;
        so.metadata_values = values;
        if ((rc = ae_encoder_save(enc, save_path, &so)) < 0)
            goto lib_fail;
        fprintf(stderr, "%s: saved %s\n", PROG, save_path);
    }

    printf("%-10s %6s %8s %10s %10s %9s\n", "vectors", "dims", "p@10", "us/query", "CPU us/q",
           "build s");
    for (int i = 0; i < 3; i++)
        printf("%-10s %6zu %8.4f %10.1f %10.1f %9.3f\n", reps[i].name, reps[i].dim, reps[i].p10,
               reps[i].query_us, reps[i].query_cpu_us, reps[i].build_s);
    printf("p10_ae=%.4f p10_pca=%.4f p10_pixels=%.4f query_us_ae=%.1f query_us_pixels=%.1f\n",
           reps[0].p10, reps[1].p10, reps[2].p10, reps[0].query_us, reps[2].query_us);
    if (fflush(stdout) != 0) {
        status = cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;

lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    for (int i = 0; i < 2; i++) {
        free(reps[i].train);
        free(reps[i].test);
    }
    for (int i = 0; i < 3; i++)
        free(reps[i].nn);
    ae_index_destroy(ae_idx);
    ae_pca_destroy(pca);
    ae_encoder_destroy(enc);
    ae_dataset_destroy(train);
    ae_dataset_destroy(test);
    free(x_train);
    free(x_test);
    free(y_train);
    free(y_test);
    return status;
}
