/* SPDX-License-Identifier: MIT */
/*
 * anomaly - anomaly detection by reconstruction error.
 *
 * Fashion-MNIST, one-class protocol: for a class c, train an autoencoder on
 * the 6000 training images of c only, score all 10000 test images by how
 * badly they are reconstructed, and measure how well the score separates
 * the 1000 test images of c (normal) from the 9000 others (anomalies): ROC
 * AUC, average precision, and precision/recall at the threshold mean + k
 * std of the training errors. --class c runs one class, the default runs
 * all ten and prints a table with the mean.
 *
 * CSV: --csv PATH --label-column N runs the same recipe on a user's table
 * (rows whose label is --normal-label are normal).
 *
 * --save PATH stores the model with its fitted detector in a libae model
 * file; --load PATH scores with it instead of training.
 *
 * The score: the mean squared error between the input and its
 * reconstruction after both are smoothed by a 3x3 box filter ("smooth").
 * Plain MSE (also printed) scores a one-pixel misplacement of a fine
 * texture like a missing sleeve; smoothing first keeps the shape errors and
 * averages the pixel noise away. Run with --help.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ae.h>
#include <ae/sys/layer.h> /* ae_error_set() */

#include "common/cli.h"
#include "common/data.h"
#include "common/plot.h"

#define PROG "anomaly"
#define CLASSES 10
#define SHOWN 10       /* least and most anomalous samples drawn */
#define BINS 48        /* histogram bins */
#define CHUNK 1000     /* samples reconstructed per call */
#define ALL_CLASSES UINT32_MAX
#define LAST_COLUMN UINT32_MAX

static const char *const class_names[CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"       " PROG " --csv PATH [--label-column N] [--normal-label L] [OPTION]...\n"
"Anomaly detection by reconstruction error: train an autoencoder on normal\n"
"data only, then flag the samples it reconstructs badly.\n"
"\n"
"Fashion-MNIST (default), the one-class protocol: for a class c, train on\n"
"the 6000 training images of c, score all 10000 test images and measure how\n"
"well the score tells the 1000 test images of c (normal) from the 9000\n"
"others (anomalies). The model is dense 784 -> LATENT (relu) -> 784\n"
"(sigmoid), trained with Adam (learning rate 1e-3) on the mean squared\n"
"error. Without --class, all ten classes run in turn.\n"
"\n"
"CSV: the same recipe on a table of numbers, one sample per row, with an\n"
"integer label column ('.' decimal point; empty cells, NaN and infinities\n"
"are refused). The rows are split at random into a training part and a\n"
"test part (--test-fraction; or --test-csv gives the test rows); the model\n"
"trains on the training rows whose label is --normal-label; every test row\n"
"is scored, and rows with any other label are the anomalies. Each column is\n"
"standardised by the mean and deviation of the normal training rows (a\n"
"libae scaler kept in the model, --scale). The model is dense\n"
"F -> H (relu) -> LATENT (relu) -> H (relu) -> F (linear; sigmoid for\n"
"values scaled to [0, 1]) with H = min(64, max(8, F/2)) and\n"
"LATENT = min(16, max(2, F/8)) unless --hidden, --latent are given. It\n"
"trains for about --steps optimizer steps (150): more lets an autoencoder\n"
"learn to rebuild the anomalies too (docs/examples/anomaly.md).\n"
"\n"
"Scores (--score):\n"
"  smooth  MSE between input and reconstruction after both are averaged\n"
"          over 3x3 pixel neighbourhoods (images only; the default for them)\n"
"  mse     mean squared error (the default for CSV)\n"
"  mae     mean absolute error\n"
"  bce     binary cross-entropy\n"
"The threshold is mean + K * std of the scores of the normal training\n"
"samples (the TensorFlow anomaly tutorial's rule with K = 1); a sample\n"
"scoring above it is flagged as an anomaly.\n"
"\n");
    fprintf(f,
"Options:\n"
"  --class C         run class C only, 0..9 (default: all ten)\n"
"  --epochs N        passes over the normal training data, 1..1000000\n"
"                    (default 20; CSV: from --steps)\n"
"  --batch N         samples per optimizer step, 1..1048576 (default 64)\n"
"  --latent N        latent size, 1..4096 (default 64 for Fashion-MNIST;\n"
"                    CSV: see above)\n"
"  --score S         smooth, mse, mae or bce (default smooth; mse with --csv)\n"
"  --k K             threshold = mean + K * std, -10..10 (default 1)\n"
"  --seed N          seeds the weights, the shuffling and the CSV split,\n"
"                    0..2^64-1 (default 1)\n"
"  --data DIR        the dataset folder, see Data (default\n"
"                    " DATA_DEFAULT_DIR ")\n"
"  --out DIR         folder for the pictures, created if missing\n"
"                    (default out)\n"
"  --csv PATH        read this CSV file instead of Fashion-MNIST\n"
"  --label-column N  0-based column of the integer labels, 0..65535\n"
"                    (default: the last column)\n"
"  --normal-label L  the label of normal rows, a 32-bit integer (default 0;\n"
"                    with --load, the one saved in the file)\n"
"  --header          the CSV's first line holds column names\n"
"  --delimiter D     the CSV's cell separator: , ; | or tab (default ,)\n"
"  --test-fraction F share of the CSV rows kept for testing, 0.05..0.95\n"
"                    (default 0.2)\n"
"  --test-csv PATH   the test rows, from another CSV file (no split)\n"
"  --scale S         standard: each column to mean 0, deviation 1 (default);\n"
"                    minmax (or column): each column to [0, 1] by its range;\n"
"                    global: one range for all columns (for time series,\n"
"                    whose shape it keeps)\n"
"  --output O        the last layer: linear (default with standard) or\n"
"                    sigmoid (default with minmax and global)\n"
"  --hidden N        CSV: hidden width H, 1..4096 (default: see above)\n"
"  --steps N         CSV: optimizer steps when --epochs is not given,\n"
"                    1..100000000 (default 150)\n"
"  --patience N      CSV: stop when the validation loss has not improved for\n"
"                    N epochs and keep the best epoch's weights, 0..1000000\n"
"                    (default 0: no early stopping)\n"
"  --val-fraction F  CSV: share of the normal training rows held out for\n"
"                    early stopping, 0.05..0.5 (default 0.2)\n"
"  --save PATH       save the model with its fitted detector (and its\n"
"                    scaler) to PATH (a libae model file), with what scoring\n"
"                    again needs as metadata: the score, the class or normal\n"
"                    label (--scale global: the range); needs --class or --csv\n"
"  --load PATH       score with a model saved by --save instead of training:\n"
"                    Fashion-MNIST runs its class; CSV scores every row\n"
"                    (--score, --epochs, --k and the training options are\n"
"                    then the file's)\n"
"  --threads N       threads for libae's matrix products, 1..1024 (default:\n"
"                    AE_NUM_THREADS, else OpenBLAS's count); small products\n"
"                    always run on one\n"
"  -h, --help        print this help and exit\n"
CLI_HELP_SYNTAX
"--label-column, --normal-label, --header, --delimiter, --test-fraction,\n"
"--test-csv, --scale, --output, --hidden, --steps, --patience and\n"
"--val-fraction need --csv; --class and --score smooth do not go with\n"
"--csv, nor --score with --load.\n"
"\n");
    fprintf(f,
"Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,\n"
"6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.\n"
"\n"
"Output:\n"
"  stderr   one line per trained, saved or loaded model, one per picture\n"
"  stdout   Fashion-MNIST: a table with one row per class: ROC AUC of the\n"
"           score, ROC AUC of plain MSE for comparison, average precision,\n"
"           the threshold, precision and recall of the anomaly class at it,\n"
"           training seconds; then the means, and one last line:\n"
"             mean_auroc=<4 decimals>\n"
"           CSV: the sizes, the same measures, and one last line:\n"
"             auroc=<d> ap=<d> threshold=<d> precision=<d> recall=<d>\n"
"  DIR/anomaly_class<C>.png (Fashion-MNIST) or DIR/anomaly_csv.png:\n"
"           the least and the most anomalous test samples with their\n"
"           scores, and histograms of the scores of normal and anomalous\n"
"           test samples with the threshold marked; replaced if there\n"
"\n");
    cli_help_common(f, 1);
    fprintf(f,
"Examples:\n"
"  " PROG " --class 7                     # one class, Sneaker\n"
"  " PROG " --epochs 5 | tail -n 1        # all ten classes, quickly\n"
"  " PROG " --class 7 --save sneaker.aem  # keep model and detector\n"
"  " PROG " --load sneaker.aem            # score class 7 with them\n"
"  " PROG " --csv ecg.csv --header       # your own table\n"
"\n"
"See also: docs/examples/anomaly.md in the libae sources (with a CSV to\n"
"try); ae-inspect(1).\n");
}

/* ------------------------------------------------------------------------ */
/* Settings and results                                                     */
/* ------------------------------------------------------------------------ */

enum { SCORE_SMOOTH = -1 }; /* besides AE_SCORE_MSE, _MAE, _BCE */

typedef struct settings {
    uint32_t epochs, batch, latent;
    uint32_t hidden;       /* CSV: hidden width, 0 for the default */
    uint32_t steps;        /* CSV: optimizer steps when --epochs is not given */
    uint32_t patience;     /* CSV: early stopping after this many epochs without a
                              better validation loss; 0 trains every epoch */
    double val_fraction;   /* CSV: share of the normal training rows held out */
    uint64_t seed;
    int score;      /* SCORE_SMOOTH or an ae_score_kind */
    double k;
    const char *out_dir;
    const char *save_path; /* --save, or NULL */
    const char *load_path; /* --load, or NULL */
} settings;

/* A scored test set, and what the figure needs to draw its samples. */
typedef struct scored {
    size_t n;
    const float *x;        /* n samples (raw values, for the figure) */
    size_t size;           /* values per sample */
    uint32_t h, w;         /* image size, or 0 for rows drawn as curves */
    float lo, hi;          /* value range drawn */
    double *err;           /* n scores */
    int32_t *anomaly;      /* n: 1 anomaly, 0 normal */
    const int32_t *label;  /* n original labels, or NULL */
    const char *const *names; /* label names (labels 0..CLASSES-1), or NULL */
} scored;

typedef struct result {
    double auroc, auroc_mse, ap, threshold, seconds;
    ae_binary_metrics m;
} result;

static const char *score_label(int score)
{
    return score == SCORE_SMOOTH ? "smooth" : ae_score_name(score);
}

/* ------------------------------------------------------------------------ */
/* Model, reconstruction, scores                                            */
/* ------------------------------------------------------------------------ */

/* Builds F -> [hidden ->] latent -> [hidden ->] F and trains it on @p train. */
/* Trains dense features -> [hidden] -> latent -> [hidden] -> features on
 * @p train. CSV tables: @p sc (or NULL) is attached to the model first, so
 * it trains on, and later scores, raw rows; the output is linear for
 * standardised values (@p linear_out), else a sigmoid; with @p val and
 * s->patience training stops early on the validation loss and keeps the
 * best epoch's weights (ae_train_options.patience, restore_best). */
static int train_model(ae_model **out, const ae_dataset *train, uint32_t features,
                       uint32_t hidden, const settings *s, const char *what, double *seconds,
                       const ae_scaler *sc, int linear_out, const ae_dataset *val)
{
    const ae_shape input = {1, {features}}, latent = {1, {s->latent}};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_model *model = NULL;
    ae_optimizer *opt = NULL;
    int rc;
    if ((rc = ae_encoder_create(&enc, &input, s->seed)) < 0 ||
        (hidden && (rc = ae_encoder_add_dense(enc, hidden, AE_ACT_RELU)) < 0) ||
        (rc = ae_encoder_add_dense(enc, s->latent, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_create(&dec, &latent, s->seed + 1)) < 0 ||
        (hidden && (rc = ae_decoder_add_dense(dec, hidden, AE_ACT_RELU)) < 0) ||
        (rc = ae_decoder_add_dense(dec, features, linear_out ? AE_ACT_IDENTITY : AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(&model, enc, dec)) < 0)
        goto fail;
    enc = NULL;
    dec = NULL;
    if ((rc = ae_model_set_scaler(model, sc)) < 0 || (rc = ae_optimizer_create(&opt, NULL)) < 0)
        goto fail;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = s->epochs;
    to.batch_size = s->batch;
    to.seed = s->seed + 2;
    ae_train_result res = AE_TRAIN_RESULT_INIT;
    if (val != NULL && s->patience > 0) {
        to.validation = val;
        to.patience = s->patience;
        to.restore_best = 1;
        to.result = &res;
    }
    double t0 = cli_now();
    if ((rc = ae_model_train(model, opt, train, &to)) < 0)
        goto fail;
    if (res.stopped_early)
        fprintf(stderr, "%s: %s: stopped early after epoch %u, kept epoch %d (validation loss "
                "%.6f)\n", PROG, what, (unsigned)res.epochs_run, (int)res.best_epoch + 1,
                res.best_loss);
    *seconds = cli_now() - t0;
    double loss = NAN;
    size_t epochs = ae_model_history_length(model);
    if (epochs > 0)
        ae_model_history_get(model, epochs - 1, &loss, NULL);
    fprintf(stderr, "%s: %s: trained %zu parameters on %zu samples, %zu epochs, %.1f s, loss %.6f\n",
            PROG, what, ae_model_param_count(model), ae_dataset_count(train), epochs, *seconds,
            loss);
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

/* xr = D(E(x)) for n samples, CHUNK at a time. */
static int reconstruct(const ae_model *m, const float *x, size_t n, size_t size, float *xr)
{
    for (size_t first = 0; first < n; first += CHUNK) {
        size_t b = n - first < CHUNK ? n - first : CHUNK;
        int rc = ae_model_reconstruct(m, x + first * size, b, xr + first * size);
        if (rc < 0)
            return rc;
    }
    return AE_OK;
}

/* dst = src averaged over 3x3 neighbourhoods (those inside the image), for
 * n single-channel h x w images. */
static void smooth(float *dst, const float *src, size_t n, uint32_t h, uint32_t w)
{
    const size_t size = (size_t)h * w;
    for (size_t i = 0; i < n; i++) {
        const float *s = src + i * size;
        float *d = dst + i * size;
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) {
                float sum = 0.0f;
                int count = 0;
                for (uint32_t yy = y ? y - 1 : 0; yy <= y + 1 && yy < h; yy++)
                    for (uint32_t xx = x ? x - 1 : 0; xx <= x + 1 && xx < w; xx++) {
                        sum += s[yy * w + xx];
                        count++;
                    }
                d[y * w + x] = sum / (float)count;
            }
    }
}

/* Scores n samples against their reconstructions. For the smooth score,
 * @p xs holds the smoothed inputs (or NULL to smooth x here) and xr is
 * smoothed in place. */
static int score(double *err, int kind, const float *x, const float *xs, float *xr, size_t n,
                 size_t size, uint32_t h, uint32_t w)
{
    if (kind != SCORE_SMOOTH)
        return ae_score_compute(err, kind, x, xr, n, size);
    float *tmp = malloc(n * size * sizeof *tmp);
    if (tmp == NULL)
        return ae_error_set(AE_ERR_NOMEM, "out of memory smoothing %zu images", n);
    smooth(tmp, xr, n, h, w);
    memcpy(xr, tmp, n * size * sizeof *tmp);
    if (xs == NULL)
        smooth(tmp, x, n, h, w);
    int rc = ae_score_compute(err, AE_SCORE_MSE, xs != NULL ? xs : tmp, xr, n, size);
    free(tmp);
    return rc;
}

/* A detector fitted on the normal training scores: mean + k std. */
static int fit_detector(ae_detector **out, const double *err, size_t n, const settings *s)
{
    ae_detector *det = NULL;
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    o.score = s->score == SCORE_SMOOTH ? AE_SCORE_MSE : s->score;
    o.rule = AE_THRESHOLD_MEAN_STD;
    o.k = s->k;
    int rc;
    if ((rc = ae_detector_create(&det, &o)) >= 0 && (rc = ae_detector_fit_errors(det, err, n)) >= 0)
        *out = det;
    else
        ae_detector_destroy(det);
    return rc;
}

/* The detector's threshold, and the test scores measured: ROC AUC, average
 * precision, the confusion at the threshold. */
static int measure(result *r, const ae_detector *det, const scored *t)
{
    int rc;
    if ((rc = ae_detector_threshold(det, &r->threshold)) >= 0 &&
        (rc = ae_metrics_roc_auc(&r->auroc, t->err, t->anomaly, t->n)) >= 0 &&
        (rc = ae_metrics_pr_auc(&r->ap, t->err, t->anomaly, t->n)) >= 0) {
        r->m = (ae_binary_metrics)AE_BINARY_METRICS_INIT;
        rc = ae_metrics_at_threshold(&r->m, t->err, t->anomaly, t->n, r->threshold);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Saving and loading the model with its detector                           */
/* ------------------------------------------------------------------------ */

#define META_MAX 4

/* Metadata stored with the model: what the example needs to score again. */
typedef struct meta {
    size_t n;
    const char *keys[META_MAX];
    const char *values[META_MAX];
} meta;

static void meta_add(meta *m, const char *key, const char *value)
{
    m->keys[m->n] = key;
    m->values[m->n] = value;
    m->n++;
}

/* Saves the model, the fitted detector and @p md to @p path (atomically),
 * then reads the detector back as a deployment would. */
static int save_model(const char *path, const ae_model *model, const ae_detector *det,
                      const meta *md)
{
    ae_save_options so = AE_SAVE_OPTIONS_INIT;
    ae_detector *back = NULL;
    double t0, t1;
    so.detector = det;
    so.metadata_count = md->n;
    so.metadata_keys = md->keys;
    so.metadata_values = md->values;
    int rc;
    if ((rc = ae_model_save(model, path, &so)) < 0 || (rc = ae_detector_load(&back, path)) < 0 ||
        (rc = ae_detector_threshold(det, &t0)) < 0 || (rc = ae_detector_threshold(back, &t1)) < 0)
        goto done;
    if (t0 != t1)
        rc = ae_error_set(AE_ERR_FORMAT, "%s: the threshold read back, %.17g, is not %.17g", path,
                          t1, t0);
    else
        fprintf(stderr, "%s: saved the model and its detector (threshold %.6f) to %s\n", PROG, t0,
                path);
done:
    ae_detector_destroy(back);
    return rc;
}

/* Opens a saved model file and creates its model and detector. */
static int load_model(const char *path, ae_file **file, ae_model **model, ae_detector **det)
{
    ae_file *f = NULL;
    ae_model *m = NULL;
    int rc;
    if ((rc = ae_file_open(&f, path, NULL)) < 0 || (rc = ae_file_load_model(&m, f)) < 0 ||
        (rc = ae_file_load_detector(det, f)) < 0) {
        ae_model_destroy(m);
        ae_file_close(f);
        return rc;
    }
    fprintf(stderr, "%s: loaded a model of %zu parameters and its detector from %s\n", PROG,
            ae_model_param_count(m), path);
    *file = f;
    *model = m;
    return AE_OK;
}

/* The score a file was fitted with (its "anomaly.score" metadata). */
static int file_score(const ae_file *f, const char *path, int *score)
{
    const char *v;
    int rc = ae_file_metadata_get(f, "anomaly.score", &v);
    if (rc < 0)
        return ae_error_set(rc, "%s: no 'anomaly.score' metadata; was it saved by " PROG "?",
                            path);
    for (int k = SCORE_SMOOTH; k <= AE_SCORE_BCE; k++)
        if (strcmp(v, score_label(k)) == 0) {
            *score = k;
            return AE_OK;
        }
    return ae_error_set(AE_ERR_FORMAT, "%s: unknown score '%s'", path, v);
}

/* ------------------------------------------------------------------------ */
/* The figure                                                               */
/* ------------------------------------------------------------------------ */

typedef struct ranked {
    double e;
    size_t i;
} ranked;

static int by_error(const void *a, const void *b)
{
    double x = ((const ranked *)a)->e, y = ((const ranked *)b)->e;
    return (x > y) - (x < y);
}

/* A sample drawn in a tile x tile box: an image, or a row as a curve. */
static void draw_sample(plot_canvas *c, int x, int y, int tile, const scored *t, size_t i)
{
    const float *v = t->x + i * t->size;
    if (t->h > 0) {
        plot_image(c, x, y, v, (int)t->h, (int)t->w, tile / (int)t->w, t->lo, t->hi);
        return;
    }
    plot_rect(c, x, y, tile, tile, PLOT_LIGHT);
    float span = t->hi > t->lo ? t->hi - t->lo : 1.0f;
    int px = 0, py = 0;
    for (size_t j = 0; j < t->size; j++) {
        float f = (v[j] - t->lo) / span;
        f = f < 0.0f ? 0.0f : f > 1.0f ? 1.0f : f;
        int qx = x + 2 + (int)((double)j * (tile - 5) / (double)(t->size > 1 ? t->size - 1 : 1));
        int qy = y + tile - 3 - (int)(f * (float)(tile - 5));
        if (j > 0)
            plot_line(c, px, py, qx, qy, PLOT_BLACK);
        px = qx;
        py = qy;
    }
}

/* A row of samples with their scores (and labels, when known). */
static void sample_row(plot_canvas *c, int y, const char *caption, const ranked *pick,
                       size_t count, const scored *t, int tile, int gap, uint32_t colour)
{
    plot_text(c, 20, y, caption, 2, colour);
    y += 24;
    for (size_t k = 0; k < count; k++) {
        int x = 20 + (int)k * (tile + gap);
        size_t i = pick[k].i;
        draw_sample(c, x, y, tile, t, i);
        plot_rect(c, x - 2, y - 2, tile + 4, tile + 4,
                  t->anomaly[i] ? plot_palette(1) : plot_palette(0));
        char text[48];
        snprintf(text, sizeof text, "%.5f", pick[k].e);
        plot_text_centred(c, x + tile / 2, y + tile + 6, text, 1, PLOT_BLACK);
        if (t->label != NULL) {
            int32_t l = t->label[i];
            if (t->names != NULL && l >= 0 && l < CLASSES)
                snprintf(text, sizeof text, "%s", t->names[l]);
            else
                snprintf(text, sizeof text, "label %d", (int)l);
            plot_text_centred(c, x + tile / 2, y + tile + 18, text, 1, PLOT_GREY);
        }
    }
}

/* Histograms of the normal and anomalous test scores (each normalised to
 * its own count, on a log axis when every score is positive), with the
 * threshold as a vertical line. */
static void histogram(plot_canvas *c, int x0, int y0, int w, int h, const scored *t,
                      double threshold, const char *score_name)
{
    double lo = INFINITY, hi = -INFINITY;
    int logx = 1;
    for (size_t i = 0; i < t->n; i++) {
        lo = fmin(lo, t->err[i]);
        hi = fmax(hi, t->err[i]);
        if (!(t->err[i] > 0.0))
            logx = 0;
    }
    if (logx && threshold > 0.0) {
        lo = log10(fmin(lo, threshold));
        hi = log10(fmax(hi, threshold));
    } else {
        logx = 0;
        lo = fmin(lo, threshold);
        hi = fmax(hi, threshold);
    }
    if (!(hi > lo))
        hi = lo + 1.0;
    double pad = 0.02 * (hi - lo);
    lo -= pad;
    hi += pad;

    double frac[2][BINS] = {{0}}, n[2] = {0, 0}, top = 0.0;
    for (size_t i = 0; i < t->n; i++) {
        double v = logx ? log10(t->err[i]) : t->err[i];
        int b = (int)((v - lo) / (hi - lo) * BINS);
        b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
        frac[t->anomaly[i] != 0][b] += 1.0;
        n[t->anomaly[i] != 0] += 1.0;
    }
    for (int g = 0; g < 2; g++)
        for (int b = 0; b < BINS; b++) {
            frac[g][b] = n[g] > 0 ? frac[g][b] / n[g] : 0.0;
            top = fmax(top, frac[g][b]);
        }
    if (!(top > 0.0))
        top = 1.0;

    /* frame, bars, threshold */
    plot_rect(c, x0, y0, w, h, PLOT_BLACK);
    for (int g = 0; g < 2; g++)
        for (int b = 0; b < BINS; b++) {
            int bx = x0 + (int)((double)b * w / BINS), bw = (int)((double)(b + 1) * w / BINS) - (bx - x0);
            int bh = (int)(frac[g][b] / top * (h - 10));
            int half = bw / 2;
            if (bh > 0)
                plot_fill_rect(c, bx + g * half, y0 + h - bh, half > 1 ? half - (g == 0) : 1, bh,
                               plot_palette(g));
        }
    double tv = logx ? log10(threshold) : threshold;
    int tx = x0 + (int)((tv - lo) / (hi - lo) * w);
    uint32_t red = plot_palette(3);
    for (int d = -1; d <= 1; d++)
        plot_line(c, tx + d, y0, tx + d, y0 + h, red);
    char text[96];
    snprintf(text, sizeof text, "threshold %.5f", threshold);
    plot_text(c, tx + 6 + plot_text_width(text, 1) > x0 + w ? tx - 6 - plot_text_width(text, 1)
                                                             : tx + 6,
              y0 + 6, text, 1, red);

    /* x ticks: powers of ten on a log axis, 5 even steps otherwise */
    for (int k = 0; k <= 20; k++) {
        double v;
        if (logx) {
            v = floor(lo) + k;
            if (v > hi)
                break;
            if (v < lo)
                continue;
            snprintf(text, sizeof text, "1e%d", (int)v);
        } else {
            if (k > 5)
                break;
            v = lo + (hi - lo) * k / 5.0;
            snprintf(text, sizeof text, "%.3g", v);
        }
        int px = x0 + (int)((v - lo) / (hi - lo) * w);
        plot_line(c, px, y0 + h, px, y0 + h + 5, PLOT_BLACK);
        plot_text_centred(c, px, y0 + h + 9, text, 1, PLOT_BLACK);
    }
    snprintf(text, sizeof text, "%s score of the test samples%s", score_name,
             logx ? " (log scale)" : "");
    plot_text_centred(c, x0 + w / 2, y0 + h + 24, text, 2, PLOT_BLACK);
    plot_text_up(c, x0 - 22, y0 + h / 2 - plot_text_width("share per bin", 1) / 2,
                 "share per bin", 1, PLOT_BLACK);

    /* legend */
    const char *const legend[2] = {"normal", "anomalous"};
    for (int g = 0; g < 2; g++) {
        int ly = y0 + 24 + g * 16;
        plot_fill_rect(c, x0 + 10, ly, 12, 10, plot_palette(g));
        snprintf(text, sizeof text, "%s (%.0f)", legend[g], n[g]);
        plot_text(c, x0 + 28, ly + 1, text, 1, PLOT_BLACK);
    }
}

/* Writes DIR/NAME: least and most anomalous samples, and the histogram. */
static int figure(const settings *s, const char *name, const char *title, const scored *t,
                  const result *r)
{
    ranked *rk = malloc(t->n * sizeof *rk);
    if (rk == NULL)
        return cli_error(PROG, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        rk[i].e = t->err[i];
        rk[i].i = i;
    }
    qsort(rk, t->n, sizeof *rk, by_error);
    size_t shown = t->n < SHOWN ? t->n : SHOWN;
    ranked most[SHOWN];
    for (size_t k = 0; k < shown; k++)
        most[k] = rk[t->n - 1 - k];

    const int tile = t->h > 0 ? (int)t->w * 3 : 84, gap = 22;
    const int width = 40 + SHOWN * (tile + gap), rows_h = 24 + tile + 34;
    const int hist_y = 70 + 2 * (rows_h + 10) + 10, hist_h = 260;
    plot_canvas c;
    if (plot_canvas_init(&c, width < 900 ? 900 : width, hist_y + hist_h + 50, PLOT_WHITE) != 0) {
        free(rk);
        return cli_error(PROG, "out of memory");
    }
    plot_text(&c, 20, 10, title, 2, PLOT_BLACK);
    char line[160];
    snprintf(line, sizeof line,
             "ROC AUC %.4f   AP %.4f   at the threshold: precision %.3f, recall %.3f "
             "(anomaly = positive)",
             r->auroc, r->ap, r->m.precision, r->m.recall);
    plot_text(&c, 20, 34, line, 1, PLOT_GREY);
    snprintf(line, sizeof line, "frame: blue = normal, orange = anomaly; number = %s score",
             score_label(s->score));
    plot_text(&c, 20, 48, line, 1, PLOT_GREY);
    sample_row(&c, 70, "least anomalous test samples", rk, shown, t, tile, gap, plot_palette(0));
    sample_row(&c, 70 + rows_h + 10, "most anomalous test samples", most, shown, t, tile, gap,
               plot_palette(1));
    histogram(&c, 60, hist_y, c.width - 90, hist_h, t, r->threshold, score_label(s->score));
    free(rk);

    int status = plot_save(PROG, &c, s->out_dir, name);
    plot_canvas_free(&c);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Fashion-MNIST: the one-class protocol                                    */
/* ------------------------------------------------------------------------ */

static int run_mnist(const settings *s0, const char *data_dir, uint32_t only)
{
    ae_dataset *train = NULL, *test = NULL, *normal = NULL;
    ae_model *model = NULL;
    ae_detector *det = NULL;
    ae_file *file = NULL;
    float *x_test = NULL, *xs_test = NULL, *xr_test = NULL, *x_tr = NULL, *xr_tr = NULL;
    double *err = NULL, *err_mse = NULL, *err_tr = NULL;
    int32_t *y_test = NULL, *anomaly = NULL;
    result res[CLASSES];
    settings s = *s0;
    int status = CLI_EXIT_FAILURE, rc, ran = 0;

    /* A saved model brings its detector, its score and its class. */
    if (s.load_path != NULL) {
        const char *v;
        char *end;
        if ((rc = load_model(s.load_path, &file, &model, &det)) < 0 ||
            (rc = file_score(file, s.load_path, &s.score)) < 0)
            goto lib_fail;
        if (ae_file_metadata_get(file, "anomaly.normal_class", &v) < 0 ||
            strtoul(v, &end, 10) >= CLASSES || *end != '\0' || end == v) {
            cli_error(PROG, "%s: no valid 'anomaly.normal_class' metadata", s.load_path);
            goto done;
        }
        uint32_t c = (uint32_t)strtoul(v, NULL, 10);
        if (only != ALL_CLASSES && only != c) {
            cli_error(PROG, "%s was fitted on class %u, not --class %u", s.load_path,
                      (unsigned)c, (unsigned)only);
            goto done;
        }
        only = c;
    }

    uint32_t h, w;
    if ((rc = data_load_mnist_images(data_dir, 1, &train, &test, &h, &w)) < 0)
        goto lib_fail;
    const size_t size = (size_t)h * w, n = ae_dataset_count(test);
    x_test = malloc(n * size * sizeof *x_test);
    xr_test = malloc(n * size * sizeof *xr_test);
    xs_test = s.score == SCORE_SMOOTH ? malloc(n * size * sizeof *xs_test) : NULL;
    err = malloc(n * sizeof *err);
    err_mse = malloc(n * sizeof *err_mse);
    y_test = malloc(n * sizeof *y_test);
    anomaly = malloc(n * sizeof *anomaly);
    if (!x_test || !xr_test || (s.score == SCORE_SMOOTH && !xs_test) || !err || !err_mse ||
        !y_test || !anomaly) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    if ((rc = ae_dataset_get_batch(test, 0, n, x_test, y_test)) < 0)
        goto lib_fail;
    if (xs_test != NULL)
        smooth(xs_test, x_test, n, h, w);

    if (s.load_path != NULL)
        printf("one-class Fashion-MNIST: model and detector from %s, score %s\n", s.load_path,
               score_label(s.score));
    else
        printf("one-class Fashion-MNIST: dense %zu-%u-%zu, %u epochs, batch %u, score %s, "
               "threshold mean + %g std\n",
               size, (unsigned)s.latent, size, (unsigned)s.epochs, (unsigned)s.batch,
               score_label(s.score), s.k);
    printf("%-5s %-12s %8s %9s %7s %10s %9s %7s %8s\n", "class", "name", "auroc", "auroc_mse",
           "ap", "threshold", "precision", "recall", "seconds");
    fflush(stdout);
    for (uint32_t c = 0; c < CLASSES; c++) {
        if (only != ALL_CLASSES && c != only)
            continue;
        result *r = &res[c];
        memset(r, 0, sizeof *r);
        if (s.load_path == NULL) {
            /* train on class c, fit the threshold on its training scores */
            char what[64];
            snprintf(what, sizeof what, "class %u (%s)", (unsigned)c, class_names[c]);
            if ((rc = ae_dataset_filter_label(&normal, train, (int32_t)c)) < 0 ||
                (rc = train_model(&model, normal, (uint32_t)size, 0, &s, what, &r->seconds, NULL, 0,
                                 NULL)) < 0)
                goto lib_fail;
            size_t n_tr = ae_dataset_count(normal);
            x_tr = malloc(n_tr * size * sizeof *x_tr);
            xr_tr = malloc(n_tr * size * sizeof *xr_tr);
            err_tr = malloc(n_tr * sizeof *err_tr);
            if (!x_tr || !xr_tr || !err_tr) {
                cli_error(PROG, "out of memory");
                goto done;
            }
            if ((rc = ae_dataset_get_batch(normal, 0, n_tr, x_tr, NULL)) < 0 ||
                (rc = reconstruct(model, x_tr, n_tr, size, xr_tr)) < 0 ||
                (rc = score(err_tr, s.score, x_tr, NULL, xr_tr, n_tr, size, h, w)) < 0 ||
                (rc = fit_detector(&det, err_tr, n_tr, &s)) < 0)
                goto lib_fail;
        }

        /* scores of every test image; plain MSE too, for comparison */
        if ((rc = reconstruct(model, x_test, n, size, xr_test)) < 0 ||
            (rc = ae_score_compute(err_mse, AE_SCORE_MSE, x_test, xr_test, n, size)) < 0 ||
            (rc = score(err, s.score, x_test, xs_test, xr_test, n, size, h, w)) < 0)
            goto lib_fail;
        for (size_t i = 0; i < n; i++)
            anomaly[i] = y_test[i] != (int32_t)c;
        scored t = {n, x_test, size, h, w, 0.0f, 1.0f, err, anomaly, y_test, class_names};
        if ((rc = measure(r, det, &t)) < 0 ||
            (rc = ae_metrics_roc_auc(&r->auroc_mse, err_mse, anomaly, n)) < 0)
            goto lib_fail;

        char name[64], title[128];
        snprintf(name, sizeof name, "anomaly_class%u.png", (unsigned)c);
        if (s.load_path != NULL)
            snprintf(title, sizeof title, "Normal = %s (class %u): saved model, %zu test images",
                     class_names[c], (unsigned)c, n);
        else
            snprintf(title, sizeof title,
                     "Normal = %s (class %u): trained on %zu images, %zu test images",
                     class_names[c], (unsigned)c, ae_dataset_count(normal), n);
        if ((status = figure(&s, name, title, &t, r)) != CLI_EXIT_OK)
            goto done;
        status = CLI_EXIT_FAILURE;
        if (s.save_path != NULL) {
            char cls[16];
            meta md = {0, {NULL}, {NULL}};
            snprintf(cls, sizeof cls, "%u", (unsigned)c);
            meta_add(&md, "anomaly.score", score_label(s.score));
            meta_add(&md, "anomaly.normal_class", cls);
            if ((rc = save_model(s.save_path, model, det, &md)) < 0)
                goto lib_fail;
        }

        printf("%-5u %-12s %8.4f %9.4f %7.4f %10.6f %9.4f %7.4f %8.2f\n", (unsigned)c,
               class_names[c], r->auroc, r->auroc_mse, r->ap, r->threshold, r->m.precision,
               r->m.recall, r->seconds);
        fflush(stdout);
        ran++;
        ae_detector_destroy(det);
        ae_model_destroy(model);
        ae_dataset_destroy(normal);
        free(x_tr);
        free(xr_tr);
        free(err_tr);
        det = NULL;
        model = NULL;
        normal = NULL;
        x_tr = xr_tr = NULL;
        err_tr = NULL;
    }

    result mean;
    memset(&mean, 0, sizeof mean);
    for (uint32_t c = 0; c < CLASSES; c++) {
        if (only != ALL_CLASSES && c != only)
            continue;
        mean.auroc += res[c].auroc / ran;
        mean.auroc_mse += res[c].auroc_mse / ran;
        mean.ap += res[c].ap / ran;
        mean.m.precision += res[c].m.precision / ran;
        mean.m.recall += res[c].m.recall / ran;
        mean.seconds += res[c].seconds;
    }
    printf("%-5s %-12s %8.4f %9.4f %7.4f %10s %9.4f %7.4f %8.2f\n", "mean", "", mean.auroc,
           mean.auroc_mse, mean.ap, "", mean.m.precision, mean.m.recall, mean.seconds);
    printf("mean_auroc=%.4f\n", mean.auroc);
    if (fflush(stdout) != 0) {
        status = cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;

lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    ae_file_close(file);
    ae_detector_destroy(det);
    ae_model_destroy(model);
    ae_dataset_destroy(normal);
    ae_dataset_destroy(train);
    ae_dataset_destroy(test);
    free(x_test);
    free(xs_test);
    free(xr_test);
    free(x_tr);
    free(xr_tr);
    free(err);
    free(err_mse);
    free(err_tr);
    free(y_test);
    free(anomaly);
    return status;
}

/* ------------------------------------------------------------------------ */
/* CSV                                                                      */
/* ------------------------------------------------------------------------ */

enum { SCALE_STANDARD, SCALE_MINMAX, SCALE_GLOBAL }; /* --scale */

typedef struct csv_settings {
    const char *path;
    const char *test_path; /* --test-csv: the test rows (no split), or NULL */
    uint32_t label_column; /* or LAST_COLUMN */
    int32_t normal;
    int normal_given;      /* --normal-label was on the command line */
    int header;
    char delimiter;
    double test_fraction;
    int scale;             /* SCALE_* */
    int linear_out;        /* --output linear (default with standardised values) */
} csv_settings;

/* Copies every sample (and label) of a view. */
static int fetch(const ae_dataset *ds, float **x, int32_t **y)
{
    size_t n = ae_dataset_count(ds), size = ae_dataset_sample_size(ds);
    *x = malloc(n * size * sizeof **x);
    if (y != NULL)
        *y = malloc(n * sizeof **y);
    if (*x == NULL || (y != NULL && *y == NULL))
        return ae_error_set(AE_ERR_NOMEM, "out of memory copying %zu rows", n);
    return ae_dataset_get_batch(ds, 0, n, *x, y != NULL ? *y : NULL);
}

/* "v0,v1,..." with every float exact ("%.9g"), in a new malloc()ed string. */
static char *format_floats(const float *v, size_t n)
{
    char *s = malloc(n * 17 + 1), *p = s;
    if (s == NULL)
        return NULL;
    for (size_t j = 0; j < n; j++)
        p += sprintf(p, "%s%.9g", j ? "," : "", (double)v[j]);
    return s;
}

/* Reads n floats written by format_floats() from metadata @p key. */
static int parse_floats(const ae_file *f, const char *path, const char *key, float *v, size_t n)
{
    const char *text, *p;
    int rc = ae_file_metadata_get(f, key, &text);
    if (rc < 0)
        return ae_error_set(rc, "%s: no '%s' metadata; was it saved by " PROG " --csv?", path,
                            key);
    p = text;
    for (size_t j = 0; j < n; j++) {
        char *end;
        v[j] = strtof(p, &end);
        if (end == p || (*end != (j + 1 < n ? ',' : '\0')))
            return ae_error_set(AE_ERR_FORMAT, "%s: '%s' does not hold %zu numbers (the table's "
                                "columns)", path, key, n);
        p = end + 1;
    }
    return AE_OK;
}

static const char *scale_label(int scale)
{
    return scale == SCALE_STANDARD ? "standard" : scale == SCALE_MINMAX ? "minmax" : "global";
}

static int load_table(ae_dataset **out, const char *path, const csv_settings *cs)
{
    ae_csv_options o = AE_CSV_OPTIONS_INIT;
    o.header = cs->header;
    o.label_column = cs->label_column == LAST_COLUMN ? AE_CSV_LAST_COLUMN : (int)cs->label_column;
    o.delimiter = cs->delimiter;
    return ae_dataset_load_csv(out, path, &o);
}

/* --scale global: one [min, max] over every value of the normal training
 * rows for all columns (series keep their shape); lo gets the minimum and
 * span the range, per column (all equal). */
static void global_range(const float *x, size_t n, size_t f, float *lo, float *span)
{
    float a = INFINITY, b = -INFINITY;
    for (size_t i = 0; i < n * f; i++) {
        a = fminf(a, x[i]);
        b = fmaxf(b, x[i]);
    }
    for (size_t j = 0; j < f; j++) {
        lo[j] = a;
        span[j] = b > a ? b - a : 1.0f;
    }
}

static void scale_rows(float *x, size_t n, size_t f, const float *lo, const float *span)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < f; j++)
            x[i * f + j] = (x[i * f + j] - lo[j]) / span[j];
}

static int run_csv(const settings *s0, const csv_settings *cs0)
{
    ae_dataset *all = NULL, *test_all = NULL, *part_train = NULL, *part_test = NULL;
    ae_dataset *normal_view = NULL, *fit_view = NULL, *val_view = NULL;
    ae_dataset *train = NULL, *val = NULL, *test = NULL;
    ae_model *model = NULL;
    ae_detector *det = NULL;
    ae_scaler *sc = NULL;
    ae_file *file = NULL;
    float *x_tr = NULL, *x_val = NULL, *x_te = NULL, *disp = NULL, *lo = NULL, *hi = NULL;
    int32_t *y_te = NULL, *anomaly = NULL, *flags = NULL;
    double *err = NULL;
    char *lo_text = NULL, *span_text = NULL;
    settings s = *s0;
    csv_settings cs = *cs0;
    int status = CLI_EXIT_FAILURE, rc;
    int manual = 0; /* values scaled here (--scale global, or an old saved model) */

    if ((rc = load_table(&all, cs.path, &cs)) < 0)
        goto lib_fail;
    const size_t f = ae_dataset_sample_size(all);
    lo = malloc(f * sizeof *lo);
    hi = malloc(f * sizeof *hi);
    if (!lo || !hi) {
        cli_error(PROG, "out of memory");
        goto done;
    }

    size_t n_tr = 0, n_val = 0, n_te;
    const ae_dataset *tested;
    if (s.load_path != NULL) {
        /* A saved model brings its detector, score, normal label and scaler
         * (older files: the scaling as metadata); every row is scored. */
        const char *v;
        if ((rc = load_model(s.load_path, &file, &model, &det)) < 0 ||
            (rc = file_score(file, s.load_path, &s.score)) < 0)
            goto lib_fail;
        if (ae_model_get_scaler(model) == NULL) {
            manual = 1;
            if ((rc = parse_floats(file, s.load_path, "anomaly.scale_min", lo, f)) < 0 ||
                (rc = parse_floats(file, s.load_path, "anomaly.scale_span", hi, f)) < 0)
                goto lib_fail;
        }
        if (!cs.normal_given && ae_file_metadata_get(file, "anomaly.normal_label", &v) == AE_OK)
            cs.normal = (int32_t)strtol(v, NULL, 10);
        tested = all;
    } else {
        /* Split (or take --test-csv), train on the normal training rows,
         * minus a validation share when stopping early. */
        if (cs.test_path != NULL) {
            if ((rc = load_table(&test_all, cs.test_path, &cs)) < 0)
                goto lib_fail;
            if (ae_dataset_sample_size(test_all) != f) {
                cli_error(PROG, "%s has %zu values per row, %s has %zu", cs.test_path,
                          ae_dataset_sample_size(test_all), cs.path, f);
                goto done;
            }
            tested = test_all;
        } else {
            if ((rc = ae_dataset_split(&part_test, &part_train, all, cs.test_fraction,
                                       s.seed + 3)) < 0)
                goto lib_fail;
            tested = part_test;
        }
        if ((rc = ae_dataset_filter_label(&normal_view, part_train ? part_train : all,
                                          cs.normal)) < 0) {
            if (rc == AE_ERR_NOT_FOUND)
                cli_error(PROG, "%s: no training row has the normal label %d (--normal-label)",
                          cs.path, (int)cs.normal);
            else
                cli_lib_error(PROG, rc);
            goto done;
        }
        const ae_dataset *fit = normal_view;
        if (s.patience > 0 && s.val_fraction > 0.0) {
            if ((rc = ae_dataset_split(&val_view, &fit_view, normal_view, s.val_fraction,
                                       s.seed + 4)) < 0)
                goto lib_fail;
            fit = fit_view;
            n_val = ae_dataset_count(val_view);
        }
        n_tr = ae_dataset_count(fit);
        if (cs.scale == SCALE_GLOBAL) {
            /* scaled here to [0, 1] by one range: copies of the rows */
            manual = 1;
            const ae_shape row = {1, {(uint32_t)f}};
            if ((rc = fetch(fit, &x_tr, NULL)) < 0 ||
                (val_view != NULL && (rc = fetch(val_view, &x_val, NULL)) < 0))
                goto lib_fail;
            global_range(x_tr, n_tr, f, lo, hi);
            scale_rows(x_tr, n_tr, f, lo, hi);
            if (x_val != NULL)
                scale_rows(x_val, n_val, f, lo, hi);
            if ((rc = ae_dataset_from_memory(&train, x_tr, NULL, n_tr, &row,
                                             AE_DATASET_BORROW)) < 0 ||
                (x_val != NULL && (rc = ae_dataset_from_memory(&val, x_val, NULL, n_val, &row,
                                                               AE_DATASET_BORROW)) < 0))
                goto lib_fail;
        } else {
            /* the library's scaler, fitted on the normal training rows and
             * attached to the model: it trains and scores raw rows */
            if ((rc = ae_scaler_create(&sc, cs.scale == SCALE_STANDARD ? AE_SCALER_STANDARD
                                                                        : AE_SCALER_MINMAX)) < 0 ||
                (rc = ae_scaler_fit(sc, fit)) < 0)
                goto lib_fail;
        }
        char held[64] = "";
        if (n_val > 0)
            snprintf(held, sizeof held, " (%zu more held out for early stopping)", n_val);
        printf("%s: %zu rows of %zu values; training on %zu normal rows (label %d)%s, "
               "testing on %zu rows\n",
               cs.path, ae_dataset_count(all), f, n_tr, (int)cs.normal, held,
               ae_dataset_count(tested));
    }
    n_te = ae_dataset_count(tested);
    if ((rc = fetch(tested, &x_te, &y_te)) < 0)
        goto lib_fail;
    if (manual)
        scale_rows(x_te, n_te, f, lo, hi);
    anomaly = malloc(n_te * sizeof *anomaly);
    flags = malloc(n_te * sizeof *flags);
    err = malloc(n_te * sizeof *err);
    disp = malloc(n_te * f * sizeof *disp);
    if (!anomaly || !flags || !err || !disp) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    const ae_shape row = {1, {(uint32_t)f}};
    if ((rc = ae_dataset_from_memory(&test, x_te, y_te, n_te, &row, AE_DATASET_BORROW)) < 0)
        goto lib_fail;
    size_t n_anom = 0;
    for (size_t i = 0; i < n_te; i++)
        n_anom += (size_t)(anomaly[i] = y_te[i] != cs.normal);

    result r;
    memset(&r, 0, sizeof r);
    uint32_t hidden = s.hidden ? s.hidden : (uint32_t)(f / 2 < 8 ? 8 : f / 2 > 64 ? 64 : f / 2);
    if (s.load_path != NULL) {
        printf("%s: %zu rows of %zu values, all scored with %s (normal label %d, %zu "
               "anomalous)\n",
               cs.path, n_te, f, s.load_path, (int)cs.normal, n_anom);
    } else {
        if (s.latent == 0)
            s.latent = (uint32_t)(f / 8 < 2 ? 2 : f / 8 > 16 ? 16 : f / 8);
        if (s.epochs == 0) { /* about s.steps optimizer steps, whatever the table's size */
            size_t per_epoch = (n_tr + s.batch - 1) / s.batch;
            s.epochs = (uint32_t)((s.steps + per_epoch / 2) / per_epoch);
            s.epochs = s.epochs ? s.epochs : 1;
        }
        const ae_dataset *tr = train != NULL ? train : fit_view != NULL ? fit_view : normal_view;
        const ae_dataset *va = val != NULL ? val : val_view;
        if ((rc = train_model(&model, tr, (uint32_t)f, hidden, &s, "csv", &r.seconds, sc,
                              cs.linear_out, va)) < 0)
            goto lib_fail;
        /* The detector scores with the model itself: fit on the normal
         * training rows. */
        ae_detector_options dopt = AE_DETECTOR_OPTIONS_INIT;
        dopt.score = s.score;
        dopt.k = s.k;
        if ((rc = ae_detector_create(&det, &dopt)) < 0 || (rc = ae_detector_fit(det, model, tr)) < 0)
            goto lib_fail;
    }

    /* ... and predicts the test rows. */
    size_t flagged = 0;
    if ((rc = ae_detector_predict(det, model, test, flags, err)) < 0)
        goto lib_fail;
    for (size_t i = 0; i < n_te; i++)
        flagged += (size_t)flags[i];
    /* drawn as curves of the values the model sees (scaled) */
    const ae_scaler *msc = ae_model_get_scaler(model);
    if (msc != NULL)
        rc = ae_scaler_transform(msc, x_te, n_te, disp);
    else
        memcpy(disp, x_te, n_te * f * sizeof *disp);
    if (rc < 0)
        goto lib_fail;
    float dlo = INFINITY, dhi = -INFINITY;
    for (size_t i = 0; i < n_te * f; i++) {
        dlo = fminf(dlo, disp[i]);
        dhi = fmaxf(dhi, disp[i]);
    }
    scored t = {n_te, disp, f, 0, 0, dlo, dhi, err, anomaly, y_te, NULL};
    if ((rc = measure(&r, det, &t)) < 0)
        goto lib_fail;

    char title[160];
    snprintf(title, sizeof title, "Normal = label %d of %.60s: %zu training rows, %zu test rows",
             (int)cs.normal, cs.path, n_tr, n_te);
    if ((status = figure(&s, "anomaly_csv.png", title, &t, &r)) != CLI_EXIT_OK)
        goto done;
    status = CLI_EXIT_FAILURE;
    if (s.save_path != NULL) {
        char label[16];
        meta md = {0, {NULL}, {NULL}};
        snprintf(label, sizeof label, "%d", (int)cs.normal);
        meta_add(&md, "anomaly.score", score_label(s.score));
        meta_add(&md, "anomaly.normal_label", label);
        if (manual) { /* the library's scaler travels in the model file itself */
            lo_text = format_floats(lo, f);
            span_text = format_floats(hi, f);
            if (lo_text == NULL || span_text == NULL) {
                cli_error(PROG, "out of memory");
                goto done;
            }
            meta_add(&md, "anomaly.scale_min", lo_text);
            meta_add(&md, "anomaly.scale_span", span_text);
        }
        if ((rc = save_model(s.save_path, model, det, &md)) < 0)
            goto lib_fail;
    }

    if (s.load_path == NULL)
        printf("model: dense %zu-%u-%u-%u-%zu, %zu epochs, %s scaling, %s score, threshold "
               "mean + %g std = %.6f\n",
               f, (unsigned)hidden, (unsigned)s.latent, (unsigned)hidden, f,
               ae_model_history_length(model), scale_label(cs.scale), score_label(s.score), s.k,
               r.threshold);
    printf("flagged %zu of %zu test rows: tp %zu fp %zu tn %zu fn %zu, accuracy %.4f, F1 %.4f\n",
           flagged, n_te, r.m.tp, r.m.fp, r.m.tn, r.m.fn, r.m.accuracy, r.m.f1);
    printf("auroc=%.4f ap=%.4f threshold=%.6f precision=%.4f recall=%.4f\n", r.auroc, r.ap,
           r.threshold, r.m.precision, r.m.recall);
    if (fflush(stdout) != 0) {
        status = cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;

lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    ae_file_close(file);
    ae_detector_destroy(det);
    ae_model_destroy(model);
    ae_scaler_destroy(sc);
    ae_dataset_destroy(train);
    ae_dataset_destroy(val);
    ae_dataset_destroy(test);
    ae_dataset_destroy(fit_view);
    ae_dataset_destroy(val_view);
    ae_dataset_destroy(normal_view);
    ae_dataset_destroy(part_train);
    ae_dataset_destroy(part_test);
    ae_dataset_destroy(test_all);
    ae_dataset_destroy(all);
    free(x_tr);
    free(x_val);
    free(x_te);
    free(disp);
    free(y_te);
    free(lo);
    free(hi);
    free(anomaly);
    free(flags);
    free(err);
    free(lo_text);
    free(span_text);
    return status;
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    settings s = {0, 64, 0, 0, 150, 0, 0.2, 1, SCORE_SMOOTH, 1.0, "out", NULL, NULL};
    uint32_t only = ALL_CLASSES;
    uint32_t threads = 0; /* --threads: 0 keeps the default */
    const char *data_dir = DATA_DEFAULT_DIR, *score_text = NULL, *normal_text = NULL,
               *delim_text = ",", *scale_text = "standard";
    csv_settings cs = {NULL, NULL, LAST_COLUMN, 0, 0, 0, ',', 0.2, SCALE_STANDARD, 0};
    const char *output_text = NULL;
    const cli_option options[] = {
        {"class", CLI_U32, &only, 0, CLASSES - 1, 0, 0},
        {"epochs", CLI_U32, &s.epochs, 1, 1000000, 0, 0},
        {"batch", CLI_U32, &s.batch, 1, 1048576, 0, 0},
        {"latent", CLI_U32, &s.latent, 1, 4096, 0, 0},
        {"score", CLI_STRING, &score_text, 0, 0, 0, 0},
        {"k", CLI_DOUBLE, &s.k, 0, 0, -10.0, 10.0},
        {"seed", CLI_U64, &s.seed, 0, 0, 0, 0},
        {"data", CLI_STRING, &data_dir, 0, 0, 0, 0},
        {"out", CLI_STRING, &s.out_dir, 0, 0, 0, 0},
        {"csv", CLI_STRING, &cs.path, 0, 0, 0, 0},
        {"label-column", CLI_U32, &cs.label_column, 0, AE_CSV_MAX_COLUMNS - 1, 0, 0},
        {"normal-label", CLI_STRING, &normal_text, 0, 0, 0, 0},
        {"header", CLI_FLAG, &cs.header, 0, 0, 0, 0},
        {"delimiter", CLI_STRING, &delim_text, 0, 0, 0, 0},
        {"test-fraction", CLI_DOUBLE, &cs.test_fraction, 0, 0, 0.05, 0.95},
        {"test-csv", CLI_STRING, &cs.test_path, 0, 0, 0, 0},
        {"hidden", CLI_U32, &s.hidden, 1, 4096, 0, 0},
        {"output", CLI_STRING, &output_text, 0, 0, 0, 0},
        {"patience", CLI_U32, &s.patience, 0, 1000000, 0, 0},
        {"steps", CLI_U32, &s.steps, 1, 100000000, 0, 0},
        {"val-fraction", CLI_DOUBLE, &s.val_fraction, 0, 0, 0.05, 0.5},
        {"scale", CLI_STRING, &scale_text, 0, 0, 0, 0},
        {"save", CLI_STRING, &s.save_path, 0, 0, 0, 0},
        {"load", CLI_STRING, &s.load_path, 0, 0, 0, 0},
        CLI_THREADS_OPTION(threads),
    };
    int start = cli_start(PROG, argc, argv, options, sizeof options / sizeof options[0], usage,
                          &threads);
    if (start != CLI_CONTINUE)
        return start;

    /* checks cli_parse cannot make */
    if (s.load_path != NULL && score_text != NULL)
        return cli_usage_error(PROG, "--score comes from the model file with --load");
    if (s.save_path != NULL && cs.path == NULL && only == ALL_CLASSES && s.load_path == NULL)
        return cli_usage_error(PROG, "--save stores one model: give --class C (or --csv)");
    if (score_text == NULL)
        s.score = cs.path != NULL ? AE_SCORE_MSE : SCORE_SMOOTH;
    else if (strcmp(score_text, "smooth") == 0)
        s.score = SCORE_SMOOTH;
    else if (strcmp(score_text, "mse") == 0)
        s.score = AE_SCORE_MSE;
    else if (strcmp(score_text, "mae") == 0)
        s.score = AE_SCORE_MAE;
    else if (strcmp(score_text, "bce") == 0)
        s.score = AE_SCORE_BCE;
    else
        return cli_usage_error(PROG, "--score: '%s' is not smooth, mse, mae or bce", score_text);
    if (cs.path == NULL) {
        const char *csv_only[] = {"label-column", "normal-label", "header", "delimiter",
                                  "test-fraction", "scale", "test-csv", "hidden",
                                  "patience", "val-fraction", "output", "steps"};
        for (int i = 1; i < argc; i++)
            for (size_t k = 0; k < sizeof csv_only / sizeof csv_only[0]; k++)
                if (strncmp(argv[i], "--", 2) == 0 &&
                    strncmp(argv[i] + 2, csv_only[k], strlen(csv_only[k])) == 0 &&
                    (argv[i][2 + strlen(csv_only[k])] == '\0' ||
                     argv[i][2 + strlen(csv_only[k])] == '='))
                    return cli_usage_error(PROG, "--%s needs --csv", csv_only[k]);
        if (s.latent == 0)
            s.latent = 64;
    } else {
        if (only != ALL_CLASSES)
            return cli_usage_error(PROG, "--class is for Fashion-MNIST, not with --csv");
        if (s.score == SCORE_SMOOTH)
            return cli_usage_error(PROG, "--score smooth needs images; use mse, mae or bce "
                                         "with --csv");
        if (normal_text != NULL) {
            char *end;
            errno = 0;
            long v = strtol(normal_text, &end, 10);
            if (*end != '\0' || errno != 0 || v < INT32_MIN || v > INT32_MAX)
                return cli_usage_error(PROG, "--normal-label: '%s' is not a 32-bit integer",
                                       normal_text);
            cs.normal = (int32_t)v;
            cs.normal_given = 1;
        }
        if (strcmp(delim_text, "tab") == 0 || strcmp(delim_text, "\\t") == 0)
            cs.delimiter = '\t';
        else if (strlen(delim_text) == 1 && strchr(",;|\t", delim_text[0]) != NULL)
            cs.delimiter = delim_text[0];
        else
            return cli_usage_error(PROG, "--delimiter: '%s' is not one of , ; | tab",
                                   delim_text);
        if (strcmp(scale_text, "standard") == 0)
            cs.scale = SCALE_STANDARD;
        else if (strcmp(scale_text, "minmax") == 0 || strcmp(scale_text, "column") == 0)
            cs.scale = SCALE_MINMAX;
        else if (strcmp(scale_text, "global") == 0)
            cs.scale = SCALE_GLOBAL;
        else
            return cli_usage_error(PROG, "--scale: '%s' is not standard, minmax or global",
                                   scale_text);
        cs.linear_out = cs.scale == SCALE_STANDARD;
        if (output_text != NULL && strcmp(output_text, "linear") == 0)
            cs.linear_out = 1;
        else if (output_text != NULL && strcmp(output_text, "sigmoid") == 0)
            cs.linear_out = 0;
        else if (output_text != NULL)
            return cli_usage_error(PROG, "--output: '%s' is not linear or sigmoid", output_text);
    }
    if (s.epochs == 0 && cs.path == NULL) /* CSV: from --steps and the table's size */
        s.epochs = 20;
    if (cli_mkdir_p(s.out_dir) != 0)
        return cli_error(PROG, "cannot create directory %s: %s", s.out_dir, strerror(errno));
    return cs.path != NULL ? run_csv(&s, &cs) : run_mnist(&s, data_dir, only);
}
