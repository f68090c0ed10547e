/* SPDX-License-Identifier: MIT */
/*
 * latent - a look inside the latent space of a Fashion-MNIST autoencoder.
 *
 * Trains the basic dense autoencoder 784 -> 64 (relu) -> 784 (sigmoid),
 * then, with libae's latent tools and PCA:
 *   latent_scatter.png        test latents projected to 2-D by PCA, one
 *                             colour per class, with a legend;
 *   latent_classes.png        the same projection, one panel per class;
 *   latent_neighbourhood.png  decoded z + N(0, sigma^2 I), a row per sigma;
 *   latent_interpolation.png  linear and spherical paths between the latents
 *                             of two test images of different classes;
 *   latent_samples.png        latents drawn uniformly from the latent
 *                             bounding box, and from a Gaussian fitted to
 *                             the training latents, decoded.
 * and a text summary (per-class statistics, how far sampled latents land
 * from real ones). Run with --help.
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

#define PROG "latent"
#define LATENT 64u
#define CLASSES 10
#define N_SIGMAS 5
#define PER_SIGMA 8
#define STEPS 10
#define SAMPLES 24 /* per sampling method */
#define NN_REF 10000u /* training latents searched for nearest neighbours */

static const char *const class_names[CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"Train the basic autoencoder on Fashion-MNIST and draw its latent space.\n"
"\n"
"The model is the one of the reconstruct example: a dense encoder\n"
"784 -> 64 (relu) and decoder 64 -> 784 (sigmoid), trained with Adam on the\n"
"mean squared error. Then the test images are encoded and the latents are\n"
"projected to 2-D by a PCA fitted on the training latents, perturbed with\n"
"Gaussian noise, interpolated and sampled; every latent made is decoded.\n"
"\n"
"Options:\n"
"  --epochs N   passes over the 60000 training images, 0..1000000\n"
"               (default 10)\n"
"  --batch N    images per optimizer step, 1..1048576 (default 32)\n"
"  --seed N     seeds the weights, the shuffling and every sampling,\n"
"               0..2^64-1 (default 1); the same seed gives the same\n"
"               pictures on the same machine and thread count\n"
"  --from N     class of the first interpolation image, 0..9 (default 0,\n"
"               T-shirt/top); the first test image of that class is used\n"
"  --to N       class of the second one, 0..9, not --from (default 9,\n"
"               Ankle boot)\n"
"  --data DIR   the dataset folder, see Data (default\n"
"               " DATA_DEFAULT_DIR ")\n"
"  --out DIR    folder for the pictures, created if missing (default out)\n"
"  --threads N  threads for libae's matrix products, 1..1024 (default:\n"
"               AE_NUM_THREADS, else OpenBLAS's count); small products\n"
"               always run on one\n"
"  -h, --help   print this help and exit\n"
CLI_HELP_SYNTAX
"\n"
"Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,\n"
"6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.\n"
"\n"
"Output:\n"
"  stderr       a line when training starts, a line per epoch, on a\n"
"               terminal a progress bar; a line per picture written\n"
"  stdout       the test MSE and the PCA's explained variance, the\n"
"               per-class latent statistics as a table, the sampling\n"
"               distances, then one last line:\n"
"               test_mse=<6 decimals> pca2_explained=<ratio, 4 decimals>\n"
"               nn_test=<d> nn_gaussian=<d> nn_uniform=<d>\n"
"               where nn_X is the mean distance from a latent of kind X to\n"
"               its nearest training latent (4 decimals): real test latents,\n"
"               Gaussian samples and uniform box samples\n"
"  DIR/latent_scatter.png, DIR/latent_classes.png,\n"
"  DIR/latent_neighbourhood.png, DIR/latent_interpolation.png,\n"
"  DIR/latent_samples.png   the pictures (docs/tutorial.md); replaced\n"
"\n");
    cli_help_common(f, 1);
    fprintf(f,
"Examples:\n"
"  " PROG " --epochs 1                     # a quick run\n"
"  " PROG " --from 5 --to 7                # interpolate Sandal -> Sneaker\n"
"  " PROG " | tail -n 1                    # the result line only\n"
"\n"
"See also: docs/examples/latent.md and docs/tutorial.md in the libae\n"
"sources.\n");
}

/* Everything the figures need, owned by main(). */
typedef struct run {
    const char *out_dir;
    uint64_t seed;
    uint32_t h, w;           /* image size */
    size_t n_test;
    ae_model *model;
    ae_dataset *test;        /* images, labelled */
    float *z_train;          /* NN_REF training latents */
    size_t n_ref;
    float *z_test;           /* n_test x LATENT */
    int32_t *y_test;         /* n_test labels */
    float *p2;               /* n_test x 2: PCA projection of z_test */
    double evr[2];           /* explained variance ratio of the two axes */
    float lo[LATENT], hi[LATENT];         /* training latent bounds */
    float mean[LATENT], cov[LATENT * LATENT]; /* Gaussian fitted to them */
} run;

static int save(const plot_canvas *c, const char *dir, const char *name)
{
    return plot_save(PROG, c, dir, name);
}

static int scatter_figure(const run *r)
{
    plot_canvas c;
    if (plot_canvas_init(&c, 1060, 760, PLOT_WHITE) != 0)
        return cli_error(PROG, "out of memory");
    char xl[64], yl[64];
    snprintf(xl, sizeof xl, "PC 1 (%.1f %% of the latent variance)", 100.0 * r->evr[0]);
    snprintf(yl, sizeof yl, "PC 2 (%.1f %% of the latent variance)", 100.0 * r->evr[1]);
    float *px = malloc(r->n_test * sizeof *px), *py = malloc(r->n_test * sizeof *py);
    if (px == NULL || py == NULL) {
        free(px);
        free(py);
        plot_canvas_free(&c);
        return cli_error(PROG, "out of memory");
    }
    /* Every class stays visible: translucent points, drawn class by class
     * in turn (the i-th point of each class, then the (i+1)-th, ...), so
     * no class is painted over all the others, and where two classes
     * overlap their colours mix. */
    int32_t *cls = malloc(r->n_test * sizeof *cls);
    size_t *next = calloc(CLASSES, sizeof *next);
    if (cls == NULL || next == NULL) {
        free(px);
        free(py);
        free(cls);
        free(next);
        plot_canvas_free(&c);
        return cli_error(PROG, "out of memory");
    }
    size_t n_in = 0; /* points with a class label in range */
    for (size_t i = 0; i < r->n_test; i++)
        n_in += r->y_test[i] >= 0 && r->y_test[i] < CLASSES;
    for (size_t m = 0; m < n_in;)
        for (int k = 0; k < CLASSES && m < n_in; k++) {
            while (next[k] < r->n_test && r->y_test[next[k]] != k)
                next[k]++;
            if (next[k] < r->n_test) {
                px[m] = r->p2[2 * next[k]];
                py[m] = r->p2[2 * next[k] + 1];
                cls[m++] = k;
                next[k]++;
            }
        }
    plot_scatter_spec s = {.px = px, .py = py, .cls = cls, .n = n_in,
                           .n_classes = CLASSES, .xlabel = xl, .ylabel = yl, .text_scale = 2,
                           .marker = 1, .alpha = 0.35f};
    s.title = "Fashion-MNIST test latents (64-D), projected to 2-D by PCA";
    plot_scatter(&c, 0, 0, 800, 760, &s);
    plot_text(&c, 815, 60, "class", 2, PLOT_BLACK);
    plot_legend(&c, 810, 84, class_names, CLASSES, 2);
    int status = save(&c, r->out_dir, "latent_scatter.png");
    free(px);
    free(py);
    free(cls);
    free(next);
    plot_canvas_free(&c);
    return status;
}

static int classes_figure(const run *r)
{
    enum { PW = 300, PH = 300, COLS = 5 };
    plot_canvas c;
    if (plot_canvas_init(&c, COLS * PW + 20, 2 * PH + 60, PLOT_WHITE) != 0)
        return cli_error(PROG, "out of memory");
    float *px = malloc(2 * r->n_test * sizeof *px);
    int32_t *cls = malloc(r->n_test * sizeof *cls);
    if (px == NULL || cls == NULL) {
        free(px);
        free(cls);
        plot_canvas_free(&c);
        return cli_error(PROG, "out of memory");
    }
    float *py = px + r->n_test;
    float xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < r->n_test; i++) {
        px[i] = r->p2[2 * i];
        py[i] = r->p2[2 * i + 1];
        xmin = fminf(xmin, px[i]);
        xmax = fmaxf(xmax, px[i]);
        ymin = fminf(ymin, py[i]);
        ymax = fmaxf(ymax, py[i]);
    }
    plot_text_centred(&c, c.width / 2, 8,
                      "Test latents by class (same PCA axes; other classes in grey)", 2,
                      PLOT_BLACK);
    const float mx = 0.04f * (xmax - xmin), my = 0.04f * (ymax - ymin);
    for (int k = 0; k < CLASSES; k++) {
        /* the other classes first, in light grey, then this class on top */
        size_t m = 0;
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < r->n_test; i++)
                if ((r->y_test[i] == k) == (pass == 1)) {
                    cls[m] = pass ? k : -1;
                    px[m] = r->p2[2 * i];
                    py[m] = r->p2[2 * i + 1];
                    m++;
                }
        plot_scatter_spec s = {.px = px, .py = py, .cls = cls, .n = m, .n_classes = CLASSES,
                               .title = class_names[k], .xlabel = "PC 1", .ylabel = "PC 2",
                               .text_scale = 1, .title_scale = 2, .marker = 0,
                               .xmin = xmin - mx, .xmax = xmax + mx,
                               .ymin = ymin - my, .ymax = ymax + my};
        plot_scatter(&c, 10 + (k % COLS) * PW, 40 + (k / COLS) * PH, PW, PH, &s);
    }
    int status = save(&c, r->out_dir, "latent_classes.png");
    free(px);
    free(cls);
    plot_canvas_free(&c);
    return status;
}

static int neighbourhood_figure(const run *r, const float *x_test)
{
    const int scale = 2, tile = 28 * scale, gap = 6, left = 220, top = 70;
    const size_t size = (size_t)r->h * r->w;
    /* sigmas as multiples of the typical spread of a latent unit */
    double spread = 0.0;
    for (size_t j = 0; j < LATENT; j++)
        spread += sqrt(r->cov[j * LATENT + j]);
    spread /= LATENT;
    const double mult[N_SIGMAS] = {0.0, 0.25, 0.5, 1.0, 2.0};
    float sigmas[N_SIGMAS];
    for (int s = 0; s < N_SIGMAS; s++)
        sigmas[s] = (float)(mult[s] * spread);

    float *zs = malloc(N_SIGMAS * PER_SIGMA * LATENT * sizeof *zs);
    float *xs = malloc(N_SIGMAS * PER_SIGMA * size * sizeof *xs);
    plot_canvas c = {0, 0, NULL};
    int status = CLI_EXIT_FAILURE, rc;
    if (zs == NULL || xs == NULL ||
        plot_canvas_init(&c, left + (PER_SIGMA + 1) * (tile + gap) + 2 * gap,
                         top + N_SIGMAS * (tile + gap) + 56, PLOT_WHITE) != 0) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    /* the first test image */
    if ((rc = ae_latent_neighbourhood(zs, r->z_test, LATENT, sigmas, N_SIGMAS, PER_SIGMA,
                                      r->seed + 10)) < 0 ||
        (rc = ae_latent_decode(ae_model_decoder(r->model), zs, N_SIGMAS * PER_SIGMA, LATENT,
                               xs)) < 0) {
        cli_lib_error(PROG, rc);
        goto done;
    }
    plot_text(&c, 10, 8, "Neighbourhood sampling: decode(z + N(0, " PLOT_SIGMA "^2 I))", 2,
              PLOT_BLACK);
    plot_text_centred(&c, 20 + tile / 2, 40, "input", 2, PLOT_BLACK);
    plot_text(&c, left, 40, "8 samples per row", 2, PLOT_BLACK);
    plot_image(&c, 20, top, x_test, (int)r->h, (int)r->w, scale, 0.0f, 1.0f);
    for (int s = 0; s < N_SIGMAS; s++) {
        char label[48];
        snprintf(label, sizeof label, PLOT_SIGMA " = %.2f", (double)sigmas[s]);
        int y = top + s * (tile + gap);
        plot_text(&c, left - 10 - plot_text_width(label, 2), y + tile / 2 - 7, label, 2,
                  PLOT_BLACK);
        for (int k = 0; k < PER_SIGMA; k++)
            plot_image(&c, left + k * (tile + gap), y, xs + (size_t)(s * PER_SIGMA + k) * size,
                       (int)r->h, (int)r->w, scale, 0.0f, 1.0f);
    }
    char foot[128];
    snprintf(foot, sizeof foot, PLOT_SIGMA " = 0, 1/4, 1/2, 1, 2 x the mean std of a\n"
             "latent unit (%.2f); the first row is z itself", spread);
    plot_text(&c, 10, c.height - 40, foot, 2, PLOT_GREY);
    status = save(&c, r->out_dir, "latent_neighbourhood.png");
done:
    plot_canvas_free(&c);
    free(zs);
    free(xs);
    return status;
}

static int interpolation_figure(const run *r, int from, int to, size_t ia, size_t ib,
                                const float *xa, const float *xb)
{
    const int scale = 2, tile = 28 * scale, gap = 6, left = 170, top = 90;
    const size_t size = (size_t)r->h * r->w;
    float *zs = malloc(2 * STEPS * LATENT * sizeof *zs);
    float *xs = malloc(2 * STEPS * size * sizeof *xs);
    plot_canvas c = {0, 0, NULL};
    int status = CLI_EXIT_FAILURE, rc;
    const int width = left + (STEPS + 2) * (tile + gap) + 30;
    if (zs == NULL || xs == NULL ||
        plot_canvas_init(&c, width, top + 2 * (tile + gap) + 50, PLOT_WHITE) != 0) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    const float *za = r->z_test + ia * LATENT, *zb = r->z_test + ib * LATENT;
    if ((rc = ae_latent_interpolate(zs, za, zb, LATENT, STEPS, AE_INTERP_LINEAR)) < 0 ||
        (rc = ae_latent_interpolate(zs + STEPS * LATENT, za, zb, LATENT, STEPS,
                                    AE_INTERP_SPHERICAL)) < 0 ||
        (rc = ae_latent_decode(ae_model_decoder(r->model), zs, 2 * STEPS, LATENT, xs)) < 0) {
        cli_lib_error(PROG, rc);
        goto done;
    }
    char title[128];
    snprintf(title, sizeof title, "Interpolating between two test latents: %s -> %s",
             class_names[from], class_names[to]);
    plot_text(&c, 10, 8, title, 2, PLOT_BLACK);
    const int x0 = left + tile + gap + 10; /* first decoded column */
    plot_text_centred(&c, left + tile / 2, 40, "input", 2, PLOT_BLACK);
    plot_text_centred(&c, x0 + (STEPS + 0) * (tile + gap) + 10 + tile / 2, 40, "input", 2,
                      PLOT_BLACK);
    for (int k = 0; k < STEPS; k++) {
        char t[16];
        snprintf(t, sizeof t, "%.2f", (double)k / (STEPS - 1));
        plot_text_centred(&c, x0 + k * (tile + gap) + tile / 2, 64, t, 2, PLOT_BLACK);
    }
    plot_text_centred(&c, x0 + (STEPS * (tile + gap)) / 2, 40, "decoded at t =", 2,
                      PLOT_BLACK);
    const char *rows[2] = {"linear", "spherical"};
    for (int m = 0; m < 2; m++) {
        int y = top + m * (tile + gap);
        plot_text(&c, 10, y + tile / 2 - 8, rows[m], 2, PLOT_BLACK);
        plot_image(&c, left, y, xa, (int)r->h, (int)r->w, scale, 0.0f, 1.0f);
        for (int k = 0; k < STEPS; k++)
            plot_image(&c, x0 + k * (tile + gap), y, xs + (size_t)(m * STEPS + k) * size,
                       (int)r->h, (int)r->w, scale, 0.0f, 1.0f);
        plot_image(&c, x0 + STEPS * (tile + gap) + 10, y, xb, (int)r->h, (int)r->w, scale, 0.0f,
                   1.0f);
    }
    plot_text(&c, 10, c.height - 26,
              "t = 0 and t = 1 decode the two latents exactly (the reconstructions)", 2,
              PLOT_GREY);
    status = save(&c, r->out_dir, "latent_interpolation.png");
done:
    plot_canvas_free(&c);
    free(zs);
    free(xs);
    return status;
}

/* Mean distance from each of the n latents z to its nearest latent in ref. */
static double mean_nn_distance(const float *z, size_t n, const float *ref, size_t n_ref)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY;
        for (size_t k = 0; k < n_ref; k++) {
            double d = 0.0;
            for (size_t j = 0; j < LATENT && d < best; j++) {
                double e = (double)z[i * LATENT + j] - ref[k * LATENT + j];
                d += e * e;
            }
            if (d < best)
                best = d;
        }
        total += sqrt(best);
    }
    return total / (double)n;
}

static int samples_figure(const run *r, double nn[3])
{
    enum { COLS = 12 };
    const int scale = 2, tile = 28 * scale, gap = 6, top = 44;
    const size_t size = (size_t)r->h * r->w;
    const int block = (SAMPLES / COLS) * (tile + gap) + 50;
    float *zs = malloc(2 * SAMPLES * LATENT * sizeof *zs);
    float *xs = malloc(2 * SAMPLES * size * sizeof *xs);
    plot_canvas c = {0, 0, NULL};
    int status = CLI_EXIT_FAILURE, rc;
    if (zs == NULL || xs == NULL ||
        plot_canvas_init(&c, COLS * (tile + gap) + 20, top + 2 * block + 10, PLOT_WHITE) != 0) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    if ((rc = ae_latent_sample_uniform(zs, SAMPLES, r->lo, r->hi, LATENT, r->seed + 20)) < 0 ||
        (rc = ae_latent_sample_gaussian(zs + SAMPLES * LATENT, SAMPLES, r->mean, r->cov, LATENT,
                                        r->seed + 21)) < 0 ||
        (rc = ae_latent_decode(ae_model_decoder(r->model), zs, 2 * SAMPLES, LATENT, xs)) < 0) {
        cli_lib_error(PROG, rc);
        goto done;
    }
    nn[1] = mean_nn_distance(zs + SAMPLES * LATENT, SAMPLES, r->z_train, r->n_ref);
    nn[2] = mean_nn_distance(zs, SAMPLES, r->z_train, r->n_ref);
    char line[160];
    plot_text(&c, 10, 8, "Decoding random latents", 2, PLOT_BLACK);
    for (int m = 0; m < 2; m++) {
        int y = top + m * block;
        plot_text(&c, 10, y, m == 0 ? "uniform in the latent bounding box"
                                    : "from a Gaussian fitted to the training latents",
                  2, PLOT_BLACK);
        snprintf(line, sizeof line,
                 "mean distance to the nearest training latent: %.2f (real test latents %.2f)",
                 nn[2 - m], nn[0]);
        plot_text(&c, 10, y + 20, line, 1, PLOT_BLACK);
        for (int k = 0; k < SAMPLES; k++)
            plot_image(&c, 10 + (k % COLS) * (tile + gap), y + 36 + (k / COLS) * (tile + gap),
                       xs + (size_t)(m * SAMPLES + k) * size, (int)r->h, (int)r->w, scale, 0.0f,
                       1.0f);
    }
    status = save(&c, r->out_dir, "latent_samples.png");
done:
    plot_canvas_free(&c);
    free(zs);
    free(xs);
    return status;
}

/* Per-class table: count, centroid norm, spread (RMS distance to the
 * centroid) and the nearest other class by centroid distance. */
static int class_table(const ae_dataset *z_test)
{
    size_t counts[CLASSES];
    float *means = malloc(CLASSES * LATENT * sizeof *means);
    float *sds = malloc(CLASSES * LATENT * sizeof *sds);
    int rc = means && sds ? ae_latent_class_stats(z_test, CLASSES, LATENT, counts, means, sds)
                          : AE_ERR_NOMEM;
    if (rc < 0) {
        free(means);
        free(sds);
        return rc == AE_ERR_NOMEM ? cli_error(PROG, "out of memory") : cli_lib_error(PROG, rc);
    }
    printf("%-12s %6s %10s %8s  %s\n", "class", "count", "|centroid|", "spread",
           "nearest class (centroid distance)");
    for (size_t k = 0; k < CLASSES; k++) {
        double norm = 0.0, spread = 0.0, best = INFINITY;
        size_t nearest = 0;
        for (size_t j = 0; j < LATENT; j++) {
            norm += (double)means[k * LATENT + j] * means[k * LATENT + j];
            spread += (double)sds[k * LATENT + j] * sds[k * LATENT + j];
        }
        for (size_t o = 0; o < CLASSES; o++) {
            if (o == k)
                continue;
            double d = 0.0;
            for (size_t j = 0; j < LATENT; j++) {
                double e = (double)means[k * LATENT + j] - means[o * LATENT + j];
                d += e * e;
            }
            if (d < best) {
                best = d;
                nearest = o;
            }
        }
        printf("%-12s %6zu %10.3f %8.3f  %s (%.3f)\n", class_names[k], counts[k], sqrt(norm),
               sqrt(spread), class_names[nearest], sqrt(best));
    }
    free(means);
    free(sds);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    uint32_t epochs = 10, batch = 32, from = 0, to = 9;
    uint64_t seed = 1;
    const char *data_dir = DATA_DEFAULT_DIR, *out_dir = "out";
    uint32_t threads = 0; /* --threads: 0 keeps the default */
    const cli_option options[] = {
        {"epochs", CLI_U32, &epochs, 0, 1000000, 0, 0},
        {"batch", CLI_U32, &batch, 1, 1048576, 0, 0},
        {"seed", CLI_U64, &seed, 0, 0, 0, 0},
        {"from", CLI_U32, &from, 0, CLASSES - 1, 0, 0},
        {"to", CLI_U32, &to, 0, CLASSES - 1, 0, 0},
        {"data", CLI_STRING, &data_dir, 0, 0, 0, 0},
        {"out", CLI_STRING, &out_dir, 0, 0, 0, 0},
        CLI_THREADS_OPTION(threads),
    };
    int start = cli_start(PROG, argc, argv, options, sizeof options / sizeof options[0], usage,
                          &threads);
    if (start != CLI_CONTINUE)
        return start;
    if (from == to)
        return cli_usage_error(PROG, "--from and --to are both class %u: pick two classes",
                               (unsigned)from);

    run r;
    memset(&r, 0, sizeof r);
    r.out_dir = out_dir;
    r.seed = seed;
    ae_dataset *train = NULL, *z_train = NULL, *z_test = NULL;
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_optimizer *opt = NULL;
    ae_pca *pca = NULL;
    float *x_pair = NULL;
    int status = CLI_EXIT_FAILURE, rc;

    if (cli_mkdir_p(out_dir) != 0) {
        cli_error(PROG, "cannot create directory %s: %s", out_dir, strerror(errno));
        goto done;
    }
    if ((rc = data_load_mnist_images(data_dir, 1, &train, &r.test, &r.h, &r.w)) < 0)
        goto lib_fail;
    const ae_shape input = {1, {r.h * r.w}}, latent = {1, {LATENT}};

    if ((rc = ae_encoder_create(&enc, &input, seed)) < 0 ||
        (rc = ae_encoder_add_dense(enc, LATENT, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_create(&dec, &latent, seed + 1)) < 0 ||
        (rc = ae_decoder_add_dense(dec, r.h * r.w, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(&r.model, enc, dec)) < 0)
        goto lib_fail;
    enc = NULL;
    dec = NULL;
    if ((rc = ae_optimizer_create(&opt, NULL)) < 0)
        goto lib_fail;

    fprintf(stderr, "%s: training the %u-%u-%u autoencoder for %u epochs\n", PROG,
            (unsigned)(r.h * r.w), LATENT, (unsigned)(r.h * r.w), (unsigned)epochs);
    cli_progress progress;
    cli_progress_init(&progress, stderr, "test");
    ae_train_options to_opts = AE_TRAIN_OPTIONS_INIT;
    to_opts.epochs = epochs;
    to_opts.batch_size = batch;
    to_opts.seed = seed + 2;
    to_opts.validation = r.test;
    to_opts.progress = cli_progress_callback;
    to_opts.progress_user = &progress;
    if ((rc = ae_model_train(r.model, opt, train, &to_opts)) < 0)
        goto lib_fail;
    double test_mse;
    if ((rc = ae_model_evaluate(r.model, r.test, AE_LOSS_MSE, &test_mse)) < 0)
        goto lib_fail;

    /* Latents of both sets, their bounds and Gaussian, and a 2-D PCA. */
    const ae_encoder *e = ae_model_encoder(r.model);
    if ((rc = ae_latent_encode(&z_train, e, train)) < 0 ||
        (rc = ae_latent_encode(&z_test, e, r.test)) < 0 ||
        (rc = ae_latent_bounds(z_train, r.lo, r.hi, LATENT)) < 0 ||
        (rc = ae_latent_fit_gaussian(z_train, r.mean, r.cov, LATENT)) < 0)
        goto lib_fail;
    r.n_test = ae_dataset_count(z_test);
    r.n_ref = ae_dataset_count(z_train) < NN_REF ? ae_dataset_count(z_train) : NN_REF;
    r.z_test = malloc(r.n_test * LATENT * sizeof *r.z_test);
    r.y_test = malloc(r.n_test * sizeof *r.y_test);
    r.p2 = malloc(r.n_test * 2 * sizeof *r.p2);
    r.z_train = malloc(r.n_ref * LATENT * sizeof *r.z_train);
    x_pair = malloc(3 * (size_t)r.h * r.w * sizeof *x_pair);
    if (!r.z_test || !r.y_test || !r.p2 || !r.z_train || !x_pair) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = 2;
    po.seed = seed;
    if ((rc = ae_dataset_get_batch(z_test, 0, r.n_test, r.z_test, r.y_test)) < 0 ||
        (rc = ae_dataset_get_batch(z_train, 0, r.n_ref, r.z_train, NULL)) < 0 ||
        (rc = ae_pca_create(&pca, &po)) < 0 || (rc = ae_pca_fit_dataset(pca, z_train)) < 0 ||
        (rc = ae_pca_transform(pca, r.z_test, r.n_test, r.p2)) < 0 ||
        (rc = ae_pca_get_explained_variance(pca, NULL, r.evr, 2, NULL)) < 0)
        goto lib_fail;

    /* The first test image of each interpolation class. */
    size_t ia = r.n_test, ib = r.n_test;
    for (size_t i = 0; i < r.n_test; i++) {
        if (ia == r.n_test && r.y_test[i] == (int32_t)from)
            ia = i;
        if (ib == r.n_test && r.y_test[i] == (int32_t)to)
            ib = i;
    }
    if (ia == r.n_test || ib == r.n_test) {
        cli_error(PROG, "the test set has no image of class %u", ia == r.n_test ? from : to);
        goto done;
    }
    const size_t size = (size_t)r.h * r.w;
    if ((rc = ae_dataset_get_batch(r.test, 0, 1, x_pair, NULL)) < 0 ||
        (rc = ae_dataset_get_batch(r.test, ia, 1, x_pair + size, NULL)) < 0 ||
        (rc = ae_dataset_get_batch(r.test, ib, 1, x_pair + 2 * size, NULL)) < 0)
        goto lib_fail;

    double nn[3];
    nn[0] = mean_nn_distance(r.z_test, SAMPLES, r.z_train, r.n_ref);
    if ((status = scatter_figure(&r)) != CLI_EXIT_OK ||
        (status = classes_figure(&r)) != CLI_EXIT_OK ||
        (status = neighbourhood_figure(&r, x_pair)) != CLI_EXIT_OK ||
        (status = interpolation_figure(&r, (int)from, (int)to, ia, ib, x_pair + size,
                                       x_pair + 2 * size)) != CLI_EXIT_OK ||
        (status = samples_figure(&r, nn)) != CLI_EXIT_OK)
        goto done;
    status = CLI_EXIT_FAILURE;

    printf("test MSE %.6f; PCA of the latents: PC 1 explains %.1f %%, PC 2 %.1f %%\n\n",
           test_mse, 100.0 * r.evr[0], 100.0 * r.evr[1]);
    if ((status = class_table(z_test)) != CLI_EXIT_OK)
        goto done;
    printf("\nmean distance to the nearest of %zu training latents (%d latents each):\n"
           "  real test latents %.4f\n  Gaussian samples  %.4f\n  uniform samples   %.4f\n\n",
           r.n_ref, SAMPLES, nn[0], nn[1], nn[2]);
    printf("test_mse=%.6f pca2_explained=%.4f nn_test=%.4f nn_gaussian=%.4f nn_uniform=%.4f\n",
           test_mse, r.evr[0] + r.evr[1], nn[0], nn[1], nn[2]);
    if (fflush(stdout) != 0) {
        status = cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;

lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    free(x_pair);
    free(r.z_test);
    free(r.y_test);
    free(r.p2);
    free(r.z_train);
    ae_pca_destroy(pca);
    ae_optimizer_destroy(opt);
    ae_model_destroy(r.model);
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    ae_dataset_destroy(z_train);
    ae_dataset_destroy(z_test);
    ae_dataset_destroy(train);
    ae_dataset_destroy(r.test);
    return status;
}
