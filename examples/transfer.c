/* SPDX-License-Identifier: MIT */
/*
 * transfer - a new head on an autoencoder's encoder: Fashion-MNIST classes
 * from few labels.
 *
 * Pretrains the dense autoencoder 784 -> 64 (relu) -> 784 (sigmoid) on the
 * 60000 training images without their labels, keeps the encoder and drops
 * the decoder. Then, with only N labelled training images (N/10 per class,
 * drawn with a seed), it trains a 10-class softmax head (dense 64 -> 10,
 * softmax cross-entropy) on
 *   (a) the frozen encoder (ae_encoder_set_trainable(..., 0)),
 *   (b) the encoder fine-tuned with the head,
 *   (c) the same 784-64-10 network from random weights,
 *   (d) the 64 PCA components of the pixels (ae_pca),
 * and reports the accuracy on the 10000 test images for each N. Every head
 * starts from its own copy of the pretrained encoder (ae_encoder_clone()).
 * <out>/transfer.png plots accuracy against N. Run with --help.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ae.h>

#include "common/cli.h"
#include "common/data.h"
#include "common/plot.h"

#define PROG "transfer"
#define CLASSES 10
#define MAX_SIZES 8
#define SIZES_DEFAULT "100,1000,10000,60000"
#define SIZES_QUICK "100,1000"
#define KEY_N 1000u /* the N of the last line, always run */

enum { V_FROZEN, V_FINETUNE, V_SCRATCH, V_PCA, VARIANTS };
static const char *const variant_names[VARIANTS] = {"frozen", "fine-tuned", "scratch", "PCA-64"};
static const char *const variant_keys[VARIANTS] = {"frozen", "finetune", "scratch", "pca"};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"Train a Fashion-MNIST classifier from few labels on an autoencoder's\n"
"encoder, and compare it with the same network from scratch and with PCA.\n"
"\n"
"The autoencoder is the one of the reconstruct example, a dense encoder\n"
"784 -> 64 (relu) and decoder 64 -> 784 (sigmoid), pretrained with Adam on\n"
"the mean squared error over the 60000 training images, labels unused. Its\n"
"decoder is dropped. For each N of --sizes, N labelled training images\n"
"(N/10 of each class, drawn with --seed) train a new head, a dense layer of\n"
"10 class scores with softmax cross-entropy, on:\n"
"  frozen      the pretrained encoder, frozen (only the head learns)\n"
"  fine-tuned  the pretrained encoder, trained with the head\n"
"  scratch     the same encoder from random weights, trained with the head\n"
"  PCA-64      the first 64 principal components of the pixels (ae_pca,\n"
"              fitted on the 60000 training images)\n"
"and the accuracy on the 10000 test images is measured. Every head uses\n"
"Adam (--lr) and batches of --batch images.\n"
"\n"
"Options:\n"
"  --sizes LIST  labelled images, comma-separated multiples of 10 in\n"
"                10..60000; 1000 is always added, as the last line reports\n"
"                it (default " SIZES_DEFAULT ")\n"
"  --epochs N    pretraining passes over the 60000 images, 0..1000000\n"
"                (default 10; 0 keeps the random encoder)\n"
"  --head-epochs N\n"
"                head training passes for N <= 1000 labels, 1..1000000\n"
"                (default 200); larger N train N/1000 times fewer, but\n"
"                at least 1/20 as many (20 for 10000, 10 for 60000)\n"
"  --quick       a short run: --sizes " SIZES_QUICK " --epochs 2\n"
"                --head-epochs 20 (options after it override these)\n"
"  --latent N    latent features of the autoencoder (the head's inputs),\n"
"                1..4096 (default 64; PCA keeps 64 components)\n"
"  --noise F     pretrain as a denoising autoencoder: each input pixel is\n"
"                zeroed with probability F (masking noise), 0..0.95\n"
"                (default 0: a plain autoencoder)\n"
"  --conv        a convolutional encoder instead of the dense one:\n"
"                conv 16 3x3 /2, conv 32 3x3 /2 (relu, same padding),\n"
"                flatten, dense to the latent (relu); its decoder mirrors it\n"
"  --batch N     images per optimizer step, pretraining and heads,\n"
"                1..1048576 (default 32)\n"
"  --lr X        Adam's learning rate, pretraining and heads, 1e-6..1\n"
"                (default 0.001)\n"
"  --seed N      seeds the weights, the shuffling and the choice of the\n"
"                labelled images, 0..2^64-1 (default 1)\n"
"  --data DIR    the dataset folder, see Data (default\n"
"                " DATA_DEFAULT_DIR ")\n"
"  --out DIR     folder for the picture, created if missing (default out)\n"
"  --threads N   threads for libae's matrix products, 1..1024 (default:\n"
"                AE_NUM_THREADS, else OpenBLAS's count)\n"
"  -h, --help    print this help and exit\n"
CLI_HELP_SYNTAX
"\n"
"Output:\n"
"  stderr        the data sizes, a line per pretraining epoch (on a\n"
"                terminal a progress bar), a line per head trained (its N,\n"
"                epochs, accuracy and seconds), the picture's name; a\n"
"                warning when libae's divergence check stopped a head early\n"
"                (it goes on with the weights of the last good epoch)\n"
"  stdout        a table: N, head epochs, then the test accuracy of the\n"
"                frozen, fine-tuned, scratch and PCA-64 heads; then one\n"
"                last line (4 decimals each):\n"
"                acc_frozen_1000=... acc_finetune_1000=...\n"
"                acc_scratch_1000=... acc_pca_1000=...\n"
"  DIR/transfer.png\n"
"                test accuracy against N (log scale), one line per head;\n"
"                replaced if there\n"
"\n");
    cli_help_common(f, 1);
    fprintf(f,
"Examples:\n"
"  " PROG "                          # the measured run (see the docs)\n"
"  " PROG " --quick                  # a short look, well under a minute\n"
"  " PROG " --sizes 100,1000 --noise 0.3   # a denoising encoder\n"
"  " PROG " --sizes 1000 --latent 256      # a wider latent\n"
"\n"
"See also: docs/examples/transfer.md and docs/training.md in the libae\n"
"sources.\n");
}

/* What the command line chose. */
typedef struct setup {
    uint32_t sizes[MAX_SIZES];
    size_t n_sizes;
    uint32_t epochs, head_epochs, batch, latent;
    double lr, noise;
    int conv;
    uint64_t seed;
} setup;

/* Reads --sizes into s->sizes, sorted, without repeats, with KEY_N added.
 * Returns 0, or prints the problem and returns -1. */
static int parse_sizes(setup *s, const char *text)
{
    s->n_sizes = 0;
    const char *p = text;
    for (;;) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(p, &end, 10);
        if (end == p || errno != 0 || v < 10 || v > 60000 || v % 10 != 0 ||
            (*end != ',' && *end != '\0') || *p == '-' || *p == '+') {
            cli_usage_error(PROG, "--sizes: '%s': expected multiples of 10 in 10..60000, "
                                  "separated by commas", text);
            return -1;
        }
        int seen = 0;
        for (size_t i = 0; i < s->n_sizes; i++)
            seen |= s->sizes[i] == v;
        if (!seen) {
            if (s->n_sizes == MAX_SIZES - 1) {
                cli_usage_error(PROG, "--sizes: at most %d sizes", MAX_SIZES - 1);
                return -1;
            }
            s->sizes[s->n_sizes++] = (uint32_t)v;
        }
        if (*end == '\0')
            break;
        p = end + 1;
    }
    int has_key = 0;
    for (size_t i = 0; i < s->n_sizes; i++)
        has_key |= s->sizes[i] == KEY_N;
    if (!has_key)
        s->sizes[s->n_sizes++] = KEY_N;
    for (size_t i = 1; i < s->n_sizes; i++) /* insertion sort */
        for (size_t j = i; j > 0 && s->sizes[j - 1] > s->sizes[j]; j--) {
            uint32_t t = s->sizes[j];
            s->sizes[j] = s->sizes[j - 1];
            s->sizes[j - 1] = t;
        }
    return 0;
}

/* Head epochs for n labels: E up to 1000 labels, then E * 1000 / n (the
 * same number of samples seen), but at least E / 20. */
static uint32_t head_epochs_for(const setup *s, uint32_t n)
{
    const uint64_t e = s->head_epochs;
    uint64_t k = (e * KEY_N + n - 1) / n;
    const uint64_t floor = e / 20 > 0 ? e / 20 : 1;
    if (k > e)
        k = e;
    if (k < floor)
        k = floor;
    return (uint32_t)k;
}

/* A new encoder of the architecture --conv and --latent choose. */
static int build_encoder(ae_encoder **out, const setup *s, uint32_t h, uint32_t w, uint64_t seed)
{
    ae_encoder *enc = NULL;
    int rc;
    if (s->conv) {
        const ae_shape in = {3, {1, h, w}};
        if ((rc = ae_encoder_create(&enc, &in, seed)) < 0 ||
            (rc = ae_encoder_add_conv2d(enc, 16, 3, 2, AE_PAD_SAME, AE_ACT_RELU)) < 0 ||
            (rc = ae_encoder_add_conv2d(enc, 32, 3, 2, AE_PAD_SAME, AE_ACT_RELU)) < 0 ||
            (rc = ae_encoder_add_flatten(enc)) < 0 ||
            (rc = ae_encoder_add_dense(enc, s->latent, AE_ACT_RELU)) < 0)
            goto fail;
    } else {
        const ae_shape in = {1, {h * w}};
        if ((rc = ae_encoder_create(&enc, &in, seed)) < 0 ||
            (rc = ae_encoder_add_dense(enc, s->latent, AE_ACT_RELU)) < 0)
            goto fail;
    }
    *out = enc;
    return AE_OK;
fail:
    ae_encoder_destroy(enc);
    return rc;
}

/* The decoder that mirrors build_encoder()'s encoder. */
static int build_decoder(ae_decoder **out, const setup *s, uint32_t h, uint32_t w, uint64_t seed)
{
    const ae_shape latent = {1, {s->latent}};
    ae_decoder *dec = NULL;
    int rc;
    if ((rc = ae_decoder_create(&dec, &latent, seed)) < 0)
        return rc;
    if (s->conv) {
        const uint32_t h4 = (h + 3) / 4, w4 = (w + 3) / 4;
        const ae_shape grid = {3, {32, h4, w4}};
        if ((rc = ae_decoder_add_dense(dec, 32 * h4 * w4, AE_ACT_RELU)) < 0 ||
            (rc = ae_decoder_add_reshape(dec, &grid)) < 0 ||
            (rc = ae_decoder_add_conv2d_transpose(dec, 16, 3, 2, AE_PAD_SAME, AE_ACT_RELU)) < 0 ||
            (rc = ae_decoder_add_conv2d_transpose(dec, 1, 3, 2, AE_PAD_SAME, AE_ACT_SIGMOID)) < 0)
            goto fail;
    } else if ((rc = ae_decoder_add_dense(dec, h * w, AE_ACT_SIGMOID)) < 0) {
        goto fail;
    }
    *out = dec;
    return AE_OK;
fail:
    ae_decoder_destroy(dec);
    return rc;
}

static int make_adam(ae_optimizer **out, const setup *s)
{
    ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
    oo.learning_rate = (float)s->lr;
    return ae_optimizer_create(out, &oo);
}

/* Pretrains the autoencoder on the training images (labels unused) and
 * hands its encoder out (ae_model_release()); the decoder is freed. */
static int pretrain(ae_encoder **out, const setup *s, const ae_dataset *train,
                    const ae_dataset *test, uint32_t h, uint32_t w)
{
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL;
    ae_optimizer *opt = NULL;
    int rc;
    if ((rc = build_encoder(&enc, s, h, w, s->seed)) < 0 ||
        (rc = build_decoder(&dec, s, h, w, s->seed + 1)) < 0 ||
        (rc = ae_model_create(&model, enc, dec)) < 0)
        goto done;
    enc = NULL; /* the model owns them now */
    dec = NULL;
    if (s->epochs > 0) {
        if ((rc = make_adam(&opt, s)) < 0)
            goto done;
        ae_train_options to = AE_TRAIN_OPTIONS_INIT;
        to.epochs = s->epochs;
        to.batch_size = s->batch;
        to.seed = s->seed + 2;
        to.loss = AE_LOSS_MSE;
        if (s->noise > 0.0) {
            to.noise = AE_NOISE_MASKING;
            to.noise_amount = (float)s->noise;
        }
        cli_progress progress;
        cli_progress_init(&progress, stderr, "test");
        to.validation = test;
        to.progress = cli_progress_callback;
        to.progress_user = &progress;
        double t0 = cli_now();
        if ((rc = ae_model_train(model, opt, train, &to)) < 0)
            goto done;
        fprintf(stderr, "%s: pretrained %u epochs in %.1f s\n", PROG, s->epochs, cli_now() - t0);
    }
    ae_model_release(model, out, NULL); /* keep the encoder, drop the decoder */
    model = NULL;
done:
    ae_optimizer_destroy(opt);
    ae_model_destroy(model);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    return rc;
}

/* The input side of the PCA head: the 64 components as they are (an
 * identity activation, no parameters), so the head is the same decoder. */
static int pca_encoder(ae_encoder **out, uint32_t features)
{
    const ae_shape in = {1, {features}};
    ae_encoder *enc = NULL;
    int rc;
    if ((rc = ae_encoder_create(&enc, &in, 0)) < 0 ||
        (rc = ae_encoder_add_activation(enc, AE_ACT_IDENTITY)) < 0) {
        ae_encoder_destroy(enc);
        return rc;
    }
    *out = enc;
    return AE_OK;
}

/* Joins @p enc (taken over, also on failure) to a new head of CLASSES
 * scores, freezes the encoder when asked, trains on the labelled samples
 * and measures the accuracy on the test samples. */
static int train_head(double *acc, ae_encoder *enc, int freeze, const setup *s,
                      const ae_dataset *labelled, uint32_t epochs, uint64_t seed,
                      const float *x_test, const int32_t *y_test, size_t n_test, float *scores,
                      int32_t *pred)
{
    ae_decoder *head = NULL;
    ae_model *model = NULL;
    ae_optimizer *opt = NULL;
    ae_shape latent;
    int rc;
    if ((rc = ae_encoder_latent_shape(enc, &latent)) < 0 ||
        (rc = ae_decoder_create(&head, &latent, seed)) < 0 ||
        (rc = ae_decoder_add_dense(head, CLASSES, AE_ACT_IDENTITY)) < 0 ||
        (rc = ae_model_create(&model, enc, head)) < 0)
        goto done;
    enc = NULL;
    head = NULL;
    if (freeze && (rc = ae_encoder_set_trainable(ae_model_encoder(model), AE_ALL_LAYERS, 0)) < 0)
        goto done;
    if ((rc = make_adam(&opt, s)) < 0)
        goto done;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = epochs;
    to.batch_size = s->batch;
    to.seed = seed + 1;
    to.loss = AE_LOSS_SOFTMAX_CE;
    rc = ae_model_train_pairs(model, opt, labelled, NULL, &to);
    if (rc == AE_ERR_NUMERIC) {
        /* libae stops when an epoch's loss grows 100-fold; a head that fits
         * its few labels to a loss near 0 can trip that with one unlucky
         * epoch. The model is back at the end of the last good epoch: go on
         * with it, and say so. */
        fprintf(stderr, "%s: warning: %s; going on with the last good epoch's weights\n", PROG,
                ae_last_error());
        rc = AE_OK;
    }
    if (rc < 0 ||
        (rc = ae_model_reconstruct(model, x_test, n_test, scores)) < 0 ||
        (rc = ae_metrics_argmax(pred, scores, n_test, CLASSES)) < 0 ||
        (rc = ae_metrics_accuracy(acc, y_test, pred, n_test)) < 0)
        goto done;
done:
    ae_optimizer_destroy(opt);
    ae_model_destroy(model);
    ae_decoder_destroy(head);
    ae_encoder_destroy(enc);
    return rc;
}

/* The first n / CLASSES training samples of each class in a seeded
 * shuffle of all of them. Returns the count found (n unless a class is
 * short of samples). */
static size_t pick_labelled(size_t *picked, size_t n, const size_t *order, size_t n_train,
                            const int32_t *y_train)
{
    size_t per_class[CLASSES] = {0}, found = 0;
    for (size_t i = 0; i < n_train && found < n; i++) {
        const int32_t c = y_train[order[i]];
        if (c >= 0 && c < CLASSES && per_class[c] < n / CLASSES) {
            per_class[c]++;
            picked[found++] = order[i];
        }
    }
    return found;
}

/* x in pixels of the plot box for N (log scale) and y for an accuracy. */
typedef struct chart {
    int x0, y0, w, h;
    double lx_min, lx_max, y_min, y_max;
} chart;

static int chart_x(const chart *c, double n)
{
    return c->x0 + (int)lround((log10(n) - c->lx_min) / (c->lx_max - c->lx_min) * (c->w - 1));
}

static int chart_y(const chart *c, double v)
{
    return c->y0 + c->h - 1 - (int)lround((v - c->y_min) / (c->y_max - c->y_min) * (c->h - 1));
}

/* <out>/transfer.png: accuracy against N, one line per head. */
static int write_plot(const char *out_dir, const setup *s, double acc[][VARIANTS])
{
    const int width = 900, height = 600;
    plot_canvas cv;
    if (plot_canvas_init(&cv, width, height, PLOT_WHITE) != 0)
        return cli_error(PROG, "out of memory");
    double lo = 1.0, hi = 0.0;
    for (size_t i = 0; i < s->n_sizes; i++)
        for (int v = 0; v < VARIANTS; v++) {
            lo = fmin(lo, acc[i][v]);
            hi = fmax(hi, acc[i][v]);
        }
    chart c = {100, 60, 560, 460, 0, 0, floor(lo * 20.0) / 20.0, ceil(hi * 20.0) / 20.0};
    if (!(c.y_max > c.y_min))
        c.y_max = c.y_min + 0.05;
    c.lx_min = log10((double)s->sizes[0]) - 0.15;
    c.lx_max = log10((double)s->sizes[s->n_sizes - 1]) + 0.15;
    plot_text_centred(&cv, c.x0 + c.w / 2, 20, "Test accuracy against labelled images", 2,
                      PLOT_BLACK);
    char buf[32];
    for (double v = c.y_min; v <= c.y_max + 1e-9; v += 0.05) { /* y grid every 0.05 */
        const int gy = chart_y(&c, v);
        plot_fill_rect(&cv, c.x0, gy, c.w, 1, PLOT_LIGHT);
        plot_fill_rect(&cv, c.x0 - 4, gy, 4, 1, PLOT_BLACK);
        snprintf(buf, sizeof buf, "%.2f", v);
        plot_text(&cv, c.x0 - 8 - plot_text_width(buf, 2), gy - 7, buf, 2, PLOT_BLACK);
    }
    for (size_t i = 0; i < s->n_sizes; i++) { /* a tick per N */
        const int gx = chart_x(&c, s->sizes[i]);
        plot_fill_rect(&cv, gx, c.y0, 1, c.h, PLOT_LIGHT);
        plot_fill_rect(&cv, gx, c.y0 + c.h, 1, 4, PLOT_BLACK);
        snprintf(buf, sizeof buf, "%u", (unsigned)s->sizes[i]);
        plot_text_centred(&cv, gx, c.y0 + c.h + 8, buf, 2, PLOT_BLACK);
    }
    plot_rect(&cv, c.x0 - 1, c.y0 - 1, c.w + 2, c.h + 2, PLOT_BLACK);
    plot_text_centred(&cv, c.x0 + c.w / 2, c.y0 + c.h + 34,
                      "labelled training images N (log scale)", 2, PLOT_BLACK);
    plot_text_up(&cv, 10, c.y0 + c.h / 2 - plot_text_width("test accuracy", 2) / 2,
                 "test accuracy", 2, PLOT_BLACK);
    for (int v = 0; v < VARIANTS; v++) {
        const uint32_t colour = plot_palette(v);
        for (size_t i = 0; i < s->n_sizes; i++) {
            const int x = chart_x(&c, s->sizes[i]), y = chart_y(&c, acc[i][v]);
            if (i > 0) {
                const int px = chart_x(&c, s->sizes[i - 1]), py = chart_y(&c, acc[i - 1][v]);
                for (int d = -1; d <= 1; d++)
                    plot_line(&cv, px, py + d, x, y + d, colour);
            }
            plot_marker(&cv, x, y, 5, colour);
        }
    }
    plot_legend(&cv, c.x0 + c.w + 20, c.y0, variant_names, VARIANTS, 2);
    int status = plot_save(PROG, &cv, out_dir, PROG ".png");
    plot_canvas_free(&cv);
    return status;
}

int main(int argc, char **argv)
{
    setup s = {{0}, 0, 10, 200, 32, 64, 1e-3, 0.0, 0, 1};
    const char *sizes_text = NULL, *data_dir = DATA_DEFAULT_DIR, *out_dir = "out";
    uint32_t threads = 0;
    int quick = 0;
    /* --quick sets defaults that options given after it override: look
     * for it first, then parse everything with those defaults. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0)
            break;
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
    if (quick) {
        s.epochs = 2;
        s.head_epochs = 20;
        sizes_text = SIZES_QUICK;
    }
    const cli_option options[] = {
        {"sizes", CLI_STRING, &sizes_text, 0, 0, 0, 0},
        {"epochs", CLI_U32, &s.epochs, 0, 1000000, 0, 0},
        {"head-epochs", CLI_U32, &s.head_epochs, 1, 1000000, 0, 0},
        {"quick", CLI_FLAG, &quick, 0, 0, 0, 0},
        {"latent", CLI_U32, &s.latent, 1, 4096, 0, 0},
        {"noise", CLI_DOUBLE, &s.noise, 0, 0, 0.0, 0.95},
        {"conv", CLI_FLAG, &s.conv, 0, 0, 0, 0},
        {"batch", CLI_U32, &s.batch, 1, 1048576, 0, 0},
        {"lr", CLI_DOUBLE, &s.lr, 0, 0, 1e-6, 1.0},
        {"seed", CLI_U64, &s.seed, 0, 0, 0, 0},
        {"data", CLI_STRING, &data_dir, 0, 0, 0, 0},
        {"out", CLI_STRING, &out_dir, 0, 0, 0, 0},
        CLI_THREADS_OPTION(threads),
    };
    int start = cli_start(PROG, argc, argv, options, sizeof options / sizeof options[0], usage,
                          &threads);
    if (start != CLI_CONTINUE)
        return start;
    if (parse_sizes(&s, sizes_text != NULL ? sizes_text : SIZES_DEFAULT) != 0)
        return CLI_EXIT_USAGE;

    ae_dataset *train = NULL, *test = NULL, *pca_train = NULL;
    ae_pca *pca = NULL;
    ae_encoder *pretrained = NULL;
    float *x_test = NULL, *x_block = NULL, *z_train = NULL, *z_test = NULL, *scores = NULL;
    int32_t *y_train = NULL, *y_test = NULL, *pred = NULL;
    size_t *order = NULL, *picked = NULL;
    double acc[MAX_SIZES][VARIANTS];
    int status = CLI_EXIT_FAILURE, rc;
    const double t_start = cli_now();

    if (cli_mkdir_p(out_dir) != 0) {
        cli_error(PROG, "cannot create directory %s: %s", out_dir, strerror(errno));
        goto done;
    }
    uint32_t h, w;
    if ((rc = data_load_mnist_images(data_dir, 1, &train, &test, &h, &w)) < 0)
        goto lib_fail;
    const uint32_t size = h * w;
    const size_t n_train = ae_dataset_count(train), n_test = ae_dataset_count(test);
    const ae_shape pca_shape = {1, {64}};
    fprintf(stderr, "%s: %zu training images (labels used: N of them), %zu test images, %ux%u\n",
            PROG, n_train, n_test, (unsigned)h, (unsigned)w);

    x_test = malloc(n_test * size * sizeof *x_test);
    x_block = malloc(n_test * size * sizeof *x_block);
    z_train = malloc(n_train * 64 * sizeof *z_train);
    z_test = malloc(n_test * 64 * sizeof *z_test);
    scores = malloc(n_test * CLASSES * sizeof *scores);
    y_train = malloc(n_train * sizeof *y_train);
    y_test = malloc(n_test * sizeof *y_test);
    pred = malloc(n_test * sizeof *pred);
    order = malloc(n_train * sizeof *order);
    picked = malloc(n_train * sizeof *picked);
    if (x_test == NULL || x_block == NULL || z_train == NULL || z_test == NULL || scores == NULL ||
        y_train == NULL || y_test == NULL || pred == NULL || order == NULL || picked == NULL) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_train; i++)
        if ((rc = ae_dataset_label(train, i, &y_train[i])) < 0)
            goto lib_fail;
    if ((rc = ae_dataset_get_batch(test, 0, n_test, x_test, y_test)) < 0)
        goto lib_fail;

    /* 1. pretrain without labels; keep the encoder */
    if ((rc = pretrain(&pretrained, &s, train, test, h, w)) < 0)
        goto lib_fail;

    /* 2. PCA-64 of the pixels, fitted without labels as well */
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = 64;
    double t0 = cli_now();
    if ((rc = ae_pca_create(&pca, &po)) < 0 || (rc = ae_pca_fit_dataset(pca, train)) < 0)
        goto lib_fail;
    for (size_t first = 0; first < n_train; first += n_test) { /* in blocks, through x_block */
        const size_t rows = n_train - first < n_test ? n_train - first : n_test;
        if ((rc = ae_dataset_get_batch(train, first, rows, x_block, NULL)) < 0 ||
            (rc = ae_pca_transform(pca, x_block, rows, z_train + first * 64)) < 0)
            goto lib_fail;
    }
    if ((rc = ae_pca_transform(pca, x_test, n_test, z_test)) < 0 ||
        (rc = ae_dataset_from_memory(&pca_train, z_train, y_train, n_train, &pca_shape,
                                     AE_DATASET_BORROW)) < 0)
        goto lib_fail;
    fprintf(stderr, "%s: PCA-64 fitted and applied in %.1f s\n", PROG, cli_now() - t0);

    /* 3. the heads, for each N */
    if ((rc = ae_train_order(order, n_train, s.seed + 3, 0, 1)) < 0)
        goto lib_fail;
    for (size_t k = 0; k < s.n_sizes; k++) {
        const uint32_t n = s.sizes[k], epochs = head_epochs_for(&s, n);
        const size_t found = pick_labelled(picked, n, order, n_train, y_train);
        if (found != n) {
            cli_error(PROG, "%s: fewer than %u training images in some class", data_dir,
                      (unsigned)(n / CLASSES));
            goto done;
        }
        ae_dataset *lab = NULL, *lab_pca = NULL;
        if ((rc = ae_dataset_select(&lab, train, picked, n)) < 0)
            goto lib_fail;
        if ((rc = ae_dataset_select(&lab_pca, pca_train, picked, n)) < 0) {
            ae_dataset_destroy(lab);
            goto lib_fail;
        }
        for (int v = 0; v < VARIANTS && rc >= 0; v++) {
            ae_encoder *enc = NULL;
            const uint64_t head_seed = s.seed + 10 + 10 * (uint64_t)v;
            t0 = cli_now();
            if (v == V_FROZEN || v == V_FINETUNE)
                rc = ae_encoder_clone(&enc, pretrained); /* each head its own copy */
            else if (v == V_SCRATCH)
                rc = build_encoder(&enc, &s, h, w, head_seed + 5);
            else
                rc = pca_encoder(&enc, 64);
            if (rc < 0)
                break;
            if (v == V_PCA)
                rc = train_head(&acc[k][v], enc, 0, &s, lab_pca, epochs, head_seed, z_test,
                                y_test, n_test, scores, pred);
            else
                rc = train_head(&acc[k][v], enc, v == V_FROZEN, &s, lab, epochs, head_seed,
                                x_test, y_test, n_test, scores, pred);
            if (rc >= 0)
                fprintf(stderr, "%s: N=%u %-10s %u epochs: test accuracy %.4f (%.1f s)\n", PROG,
                        (unsigned)n, variant_names[v], (unsigned)epochs, acc[k][v],
                        cli_now() - t0);
        }
        ae_dataset_destroy(lab);
        ae_dataset_destroy(lab_pca);
        if (rc < 0)
            goto lib_fail;
    }
    if (write_plot(out_dir, &s, acc) != CLI_EXIT_OK)
        goto done;

    printf("%6s %7s", "N", "epochs");
    for (int v = 0; v < VARIANTS; v++)
        printf(" %10s", variant_names[v]);
    printf("\n");
    size_t key = 0;
    for (size_t k = 0; k < s.n_sizes; k++) {
        printf("%6u %7u", (unsigned)s.sizes[k], (unsigned)head_epochs_for(&s, s.sizes[k]));
        for (int v = 0; v < VARIANTS; v++)
            printf(" %10.4f", acc[k][v]);
        printf("\n");
        if (s.sizes[k] == KEY_N)
            key = k;
    }
    fprintf(stderr, "%s: %.1f s in all\n", PROG, cli_now() - t_start);
    for (int v = 0; v < VARIANTS; v++)
        printf("acc_%s_%u=%.4f%s", variant_keys[v], KEY_N, acc[key][v],
               v + 1 < VARIANTS ? " " : "\n");
    if (fflush(stdout) != 0) {
        status = cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;

lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    ae_dataset_destroy(pca_train);
    ae_dataset_destroy(train);
    ae_dataset_destroy(test);
    ae_pca_destroy(pca);
    ae_encoder_destroy(pretrained);
    free(x_test);
    free(x_block);
    free(z_train);
    free(z_test);
    free(scores);
    free(y_train);
    free(y_test);
    free(pred);
    free(order);
    free(picked);
    return status;
}
