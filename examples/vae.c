/* SPDX-License-Identifier: MIT */
/*
 * vae - a variational autoencoder on Fashion-MNIST, against the plain one.
 *
 * Trains the architecture of PyTorch's own VAE example, 784-400-(20+20)-20-
 * 400-784 (ReLU, sigmoid output, BCE summed per sample + KL, Adam 1e-3,
 * batch 128), printing per epoch the train and test negative ELBO, and the
 * plain autoencoder of the same shape (784-400-20-400-784, BCE). Then draws
 * the lecture's experiments side by side, AE left, VAE right:
 *   vae_samples.png        decodes of random latents: uniform in the AE's
 *                          latent box, N(0, I) for the VAE (ae_model_sample);
 *   vae_neighbourhood.png  decode(z + N(0, sigma^2 I)) around one test latent;
 *   vae_interpolation.png  a straight line between two test latents;
 *   vae_scatter.png        the test latents by class, PCA to 2-D;
 *   vae_grid.png           with 2-d latents (two more models): the decoded
 *                          grid (--grid-epochs 0 skips it).
 * Run with --help.
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

#define PROG "vae"
#define HIDDEN 400u
#define CLASSES 10
#define TILES 16    /* decodes per model in the samples figure */
#define STEPS 10    /* interpolation steps */
#define GRID 15     /* the 2-d grid's side */
#define SCALE 2     /* pixels per image pixel in the figures */

static const char *const class_names[CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

static void usage(FILE *f)
{
    fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"Train a variational autoencoder on Fashion-MNIST and compare it with the\n"
"plain autoencoder of the same shape.\n"
"\n"
"The VAE is PyTorch's example: a dense encoder 784 -> 400 (relu) -> 2 x 20\n"
"(the means and log-variances of q(z|x)), a Gaussian sampling layer\n"
"(z = mu + exp(lv/2) eps, and the KL term), a decoder 20 -> 400 (relu) ->\n"
"784 (sigmoid); the loss is the binary cross-entropy summed over the pixels\n"
"plus the KL divergence (the negative ELBO, nats per sample), Adam 1e-3,\n"
"batch 128. The plain AE has the same layers without the sampling (its\n"
"latent is the 20 outputs of 400 -> 20) and trains on the BCE alone.\n"
"\n"
"Options:\n"
"  --epochs N       passes over the 60000 training images, 1..1000000\n"
"                   (default 10), for the AE and the VAE\n"
"  --latent N       latent size, 2..1024 (default 20)\n"
"  --beta X         weight of the KL term, 0..1000 (default 1)\n"
"  --grid-epochs N  epochs of the two 2-d models behind vae_grid.png,\n"
"                   0..1000000 (default 5; 0: no grid figure)\n"
"  --seed N         seeds the weights, the shuffling and every sampling,\n"
"                   0..2^64-1 (default 1)\n"
"  --data DIR       the dataset folder, see Data (default\n"
"                   " DATA_DEFAULT_DIR ")\n"
"  --out DIR        folder for the pictures, created if missing (default out)\n"
"  --threads N      threads for libae's matrix products, 1..1024 (default:\n"
"                   AE_NUM_THREADS, else OpenBLAS's count)\n"
"  -h, --help       print this help and exit\n"
CLI_HELP_SYNTAX
"\n"
"Output:\n"
"  stderr       a line per model trained\n"
"  stdout       the VAE's per-epoch table (train negative ELBO with its\n"
"               reconstruction and KL terms, test negative ELBO, seconds),\n"
"               the AE's test BCE, the anomaly scores' means, then one last\n"
"               line: test_nelbo=<2 decimals> samples_per_s=<VAE training\n"
"               samples per second>\n"
"  DIR/vae_samples.png, DIR/vae_neighbourhood.png, DIR/vae_interpolation.png,\n"
"  DIR/vae_scatter.png, DIR/vae_grid.png   the pictures; replaced\n"
"\n");
    cli_help_common(f, 1);
    fprintf(f,
"Examples:\n"
"  " PROG " --epochs 1 --grid-epochs 0      # a quick run\n"
"  " PROG " --beta 4                        # a beta-VAE\n"
"  " PROG " | tail -n 1                     # the result line only\n"
"\n"
"See also: docs/examples/vae.md and docs/tutorial.md in the libae sources.\n");
}

/* PyTorch's nn.Linear initialisation, as its example gets it: weights and
 * biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (parameters are data:
 * ae_model_tensor_set()). A splitmix64 stream seeded with seed. */
static int torch_init(ae_model *m, uint64_t seed)
{
    int rc = AE_OK;
    uint32_t fan_in = 1;
    for (size_t t = 0; t < ae_model_tensor_count(m) && rc == AE_OK; t++) {
        ae_tensor_info ti = AE_TENSOR_INFO_INIT;
        if ((rc = ae_model_tensor_info(m, t, &ti)) < 0)
            break;
        if (ti.shape.rank == 2)
            fan_in = ti.shape.dims[1]; /* a weight {out, in}; its bias follows */
        float *v = malloc(ti.count * sizeof *v);
        if (v == NULL)
            return AE_ERR_NOMEM;
        const double a = 1.0 / sqrt((double)fan_in);
        for (size_t i = 0; i < ti.count; i++) {
            uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            v[i] = (float)(a * (2.0 * (double)(z >> 11) / 9007199254740992.0 - 1.0));
        }
        rc = ae_model_tensor_set(m, t, v, ti.count);
        free(v);
    }
    return rc;
}

/* A dense AE (vae 0) or VAE (vae 1) 784-400-k-400-784. */
static int build(ae_model **out, size_t size, uint32_t k, int vae, float beta, uint64_t seed)
{
    const ae_shape input = {1, {(uint32_t)size}}, latent = {1, {k}};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_gaussian_sample_options g = AE_GAUSSIAN_SAMPLE_OPTIONS_INIT;
    g.beta = beta;
    int rc;
    if ((rc = ae_encoder_create(&enc, &input, seed)) < 0 ||
        (rc = ae_encoder_add_dense(enc, HIDDEN, AE_ACT_RELU)) < 0 ||
        (rc = ae_encoder_add_dense(enc, vae ? 2 * k : k, AE_ACT_IDENTITY)) < 0 ||
        (vae && (rc = ae_encoder_add_gaussian_sample_ex(enc, &g)) < 0) ||
        (rc = ae_decoder_create(&dec, &latent, seed + 1)) < 0 ||
        (rc = ae_decoder_add_dense(dec, HIDDEN, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_add_dense(dec, (uint32_t)size, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(out, enc, dec)) < 0) {
        ae_encoder_destroy(enc);
        ae_decoder_destroy(dec);
        return rc;
    }
    if ((rc = torch_init(*out, seed)) < 0) {
        ae_model_destroy(*out);
        *out = NULL;
    }
    return rc;
}

/* The mean of the VAE's one-draw negative ELBO over a set (as PyTorch's
 * example tests). */
static int mean_nelbo(const ae_model *m, const float *x, size_t n, uint64_t seed, double *out)
{
    double *s = malloc(n * sizeof *s);
    if (s == NULL)
        return AE_ERR_NOMEM;
    int rc = ae_model_vae_score(m, x, n, 1, seed, s, NULL);
    double sum = 0.0;
    for (size_t i = 0; i < n && rc == AE_OK; i++)
        sum += s[i];
    *out = sum / (double)n;
    free(s);
    return rc;
}

/* Trains one model for epochs, one ae_model_train() call per epoch; with
 * table set prints the VAE's per-epoch line. Adds the training seconds. */
static int train(ae_model *m, const ae_dataset *train_set, const float *x_test, size_t n_test,
                 uint32_t epochs, uint64_t seed, int table, double *seconds)
{
    ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
    /* PyTorch's epsilon 1e-8 for its loss summed over the batch; ours is
     * the batch's mean, 128 times smaller: the same steps need 1e-8 / 128 */
    oo.epsilon = 1e-8f / 128.0f;
    ae_optimizer *opt;
    int rc = ae_optimizer_create(&opt, &oo);
    if (rc < 0)
        return rc;
    ae_train_options to = AE_TRAIN_OPTIONS_INIT;
    to.epochs = 1;
    to.batch_size = 128;
    to.seed = seed;
    to.loss = AE_LOSS_BCE;
    to.loss_reduction = AE_REDUCE_SUM_PER_SAMPLE;
    if (table)
        printf("| epoch | train -ELBO | reconstruction | KL | test -ELBO | seconds |\n"
               "|---|---|---|---|---|---|\n");
    for (uint32_t e = 0; e < epochs && rc == AE_OK; e++) {
        const double t0 = cli_now();
        if ((rc = ae_model_train(m, opt, train_set, &to)) < 0)
            break;
        const double dt = cli_now() - t0;
        *seconds += dt;
        if (!table)
            continue;
        const size_t last = ae_model_history_length(m) - 1;
        double loss, terms, test;
        if ((rc = ae_model_history_get(m, last, &loss, NULL)) < 0 ||
            (rc = ae_model_history_terms(m, last, &terms)) < 0 ||
            (rc = mean_nelbo(m, x_test, n_test, seed + 1000 + e, &test)) < 0)
            break;
        printf("| %u | %.2f | %.2f | %.2f | %.2f | %.1f |\n", (unsigned)(e + 1), loss,
               loss - terms, terms, test, dt);
        fflush(stdout);
    }
    ae_optimizer_destroy(opt);
    return rc;
}

static int save(const plot_canvas *c, const char *dir, const char *name)
{
    return plot_save(PROG, c, dir, name);
}

/* Everything the figures need, owned by main(). */
typedef struct run {
    const char *out_dir;
    uint64_t seed;
    int h, w;
    size_t size, n_test;
    uint32_t k;
    ae_model *m[2];      /* AE, VAE */
    const float *x_test;
    const int32_t *y_test;
    float *z[2];         /* test latents (means for the VAE) */
    float *lo, *hi;      /* the AE's test latent box */
} run;

/* Two blocks of tiles, AE left and VAE right, rows x cols each, with
 * titles; img[m] holds rows * cols images. */
static int pair_figure(const run *r, const char *name, const char *title, const char *sub[2],
                       float *const img[2], int rows, int cols, const char *foot)
{
    const int tile = r->w * SCALE, gap = 4, blockw = cols * (tile + gap), top = 64;
    plot_canvas c;
    if (plot_canvas_init(&c, 2 * blockw + 60, top + rows * (tile + gap) + 40, PLOT_WHITE) != 0)
        return cli_error(PROG, "out of memory");
    plot_text(&c, 10, 8, title, 2, PLOT_BLACK);
    for (int m = 0; m < 2; m++) {
        const int x0 = 10 + m * (blockw + 40);
        plot_text(&c, x0, 38, sub[m], 1, PLOT_BLACK);
        for (int i = 0; i < rows * cols; i++)
            plot_image(&c, x0 + (i % cols) * (tile + gap), top + (i / cols) * (tile + gap),
                       img[m] + (size_t)i * r->size, r->h, r->w, SCALE, 0.0f, 1.0f);
    }
    if (foot != NULL)
        plot_text(&c, 10, c.height - 24, foot, 1, PLOT_GREY);
    int status = save(&c, r->out_dir, name);
    plot_canvas_free(&c);
    return status;
}

static int samples_figure(const run *r, float *buf[2])
{
    float *z = malloc((size_t)TILES * r->k * sizeof *z);
    if (z == NULL)
        return cli_error(PROG, "out of memory");
    int rc = ae_latent_sample_uniform(z, TILES, r->lo, r->hi, r->k, r->seed + 11);
    if (rc == AE_OK)
        rc = ae_latent_decode(ae_model_decoder(r->m[0]), z, TILES, r->k, buf[0]);
    if (rc == AE_OK)
        rc = ae_model_sample(r->m[1], TILES, r->seed + 12, buf[1]);
    free(z);
    if (rc < 0)
        return cli_lib_error(PROG, rc);
    const char *sub[2] = {"AE: z uniform in the box of the test latents",
                          "VAE: z ~ N(0, I), ae_model_sample()"};
    return pair_figure(r, "vae_samples.png", "Decoding random latents", sub, buf, 4, 4, NULL);
}

static int neighbourhood_figure(const run *r, float *buf[2])
{
    static const float sigmas[3] = {0.5f, 1.0f, 2.0f};
    enum { per = 6 };
    float *z = malloc((size_t)(3 * per) * r->k * sizeof *z);
    if (z == NULL)
        return cli_error(PROG, "out of memory");
    int rc = AE_OK;
    for (int m = 0; m < 2 && rc == AE_OK; m++) {
        /* sigma in units of the model's own latent spread: the mean over
         * the units of their standard deviation over the test latents */
        double spread = 0.0;
        for (uint32_t j = 0; j < r->k; j++) {
            double s1 = 0.0, s2 = 0.0;
            for (size_t i = 0; i < r->n_test; i++) {
                const double v = r->z[m][i * r->k + j];
                s1 += v;
                s2 += v * v;
            }
            const double mean = s1 / (double)r->n_test;
            spread += sqrt(fmax(s2 / (double)r->n_test - mean * mean, 0.0)) / r->k;
        }
        float sig[3];
        for (int s = 0; s < 3; s++)
            sig[s] = (float)(sigmas[s] * spread);
        rc = ae_latent_neighbourhood(z, r->z[m], r->k, sig, 3, (size_t)per, r->seed + 20);
        if (rc == AE_OK)
            rc = ae_latent_decode(ae_model_decoder(r->m[m]), z, (size_t)(3 * per), r->k, buf[m]);
    }
    free(z);
    if (rc < 0)
        return cli_lib_error(PROG, rc);
    const char *sub[2] = {"AE", "VAE"};
    return pair_figure(r, "vae_neighbourhood.png",
                       "decode(z + N(0, " PLOT_SIGMA "^2 I)) around test image 0", sub, buf, 3,
                       per, "rows: " PLOT_SIGMA " = 0.5, 1, 2 times the mean spread (std) of the model's latent units");
}

static int interpolation_figure(const run *r, size_t ia, size_t ib, float *buf[2])
{
    float *z = malloc((size_t)STEPS * r->k * sizeof *z);
    if (z == NULL)
        return cli_error(PROG, "out of memory");
    int rc = AE_OK;
    for (int m = 0; m < 2 && rc == AE_OK; m++) {
        rc = ae_latent_interpolate(z, r->z[m] + ia * r->k, r->z[m] + ib * r->k, r->k, STEPS,
                                   AE_INTERP_LINEAR);
        if (rc == AE_OK)
            rc = ae_latent_decode(ae_model_decoder(r->m[m]), z, STEPS, r->k, buf[m]);
    }
    free(z);
    if (rc < 0)
        return cli_lib_error(PROG, rc);
    const char *sub[2] = {"AE", "VAE"};
    return pair_figure(r, "vae_interpolation.png", "Linear interpolation between two test latents",
                       sub, buf, 2, STEPS / 2, "T-shirt/top -> Ankle boot, read row by row");
}

static int scatter_figure(const run *r)
{
    plot_canvas c;
    if (plot_canvas_init(&c, 1500, 700, PLOT_WHITE) != 0)
        return cli_error(PROG, "out of memory");
    float *p2 = malloc(r->n_test * 2 * sizeof *p2), *px = malloc(2 * r->n_test * sizeof *px);
    int status = CLI_EXIT_OK;
    if (p2 == NULL || px == NULL) {
        status = cli_error(PROG, "out of memory");
        goto out;
    }
    for (int m = 0; m < 2 && status == CLI_EXIT_OK; m++) {
        ae_pca *pca = NULL;
        ae_pca_options po = AE_PCA_OPTIONS_INIT;
        po.n_components = 2;
        po.seed = r->seed;
        int rc = ae_pca_create(&pca, &po);
        if (rc == AE_OK)
            rc = ae_pca_fit(pca, r->z[m], r->n_test, r->k);
        if (rc == AE_OK)
            rc = ae_pca_transform(pca, r->z[m], r->n_test, p2);
        ae_pca_destroy(pca);
        if (rc < 0) {
            status = cli_lib_error(PROG, rc);
            break;
        }
        float *py = px + r->n_test;
        for (size_t i = 0; i < r->n_test; i++) {
            px[i] = p2[2 * i];
            py[i] = p2[2 * i + 1];
        }
        plot_scatter_spec s = {.px = px, .py = py, .cls = r->y_test, .n = r->n_test,
                               .n_classes = CLASSES,
                               .title = m == 0 ? "AE latents (PCA)" : "VAE latent means (PCA)",
                               .xlabel = "PC 1", .ylabel = "PC 2", .text_scale = 1,
                               .title_scale = 2, .marker = 1};
        plot_scatter(&c, m * 620, 0, 620, 700, &s);
    }
    if (status == CLI_EXIT_OK) {
        plot_legend(&c, 1250, 60, class_names, CLASSES, 2);
        status = save(&c, r->out_dir, "vae_scatter.png");
    }
out:
    free(p2);
    free(px);
    plot_canvas_free(&c);
    return status;
}

/* Two 2-d models: the decoded grid, the AE over its test box, the VAE over
 * the N(0, 1) quantiles 0.05 .. 0.95 of both axes. */
static int grid_figure(const run *r, const ae_dataset *train_set, uint32_t epochs)
{
    ae_model *m[2] = {NULL, NULL};
    float *img[2] = {NULL, NULL}, *z = malloc((size_t)GRID * GRID * 2 * sizeof *z);
    float *zt = malloc(r->n_test * 2 * sizeof *zt);
    int rc = AE_OK, status = CLI_EXIT_FAILURE;
    double secs = 0.0;
    if (z == NULL || zt == NULL) {
        status = cli_error(PROG, "out of memory");
        goto out;
    }
    for (int v = 0; v < 2; v++) {
        fprintf(stderr, "%s: training the 2-d %s for %u epochs\n", PROG, v ? "VAE" : "AE",
                (unsigned)epochs);
        img[v] = malloc((size_t)GRID * GRID * r->size * sizeof *img[v]);
        if (img[v] == NULL) {
            status = cli_error(PROG, "out of memory");
            goto out;
        }
        if ((rc = build(&m[v], r->size, 2, v, 1.0f, r->seed + 40 + (uint64_t)v)) < 0 ||
            (rc = train(m[v], train_set, NULL, 0, epochs, r->seed + 2, 0, &secs)) < 0 ||
            (rc = ae_encoder_encode(ae_model_encoder(m[v]), r->x_test, r->n_test, zt)) < 0)
            goto lib_fail;
        float lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
        for (size_t i = 0; i < r->n_test; i++)
            for (int d = 0; d < 2; d++) {
                lo[d] = fminf(lo[d], zt[2 * i + (size_t)d]);
                hi[d] = fmaxf(hi[d], zt[2 * i + (size_t)d]);
            }
        for (int i = 0; i < GRID; i++)
            for (int j = 0; j < GRID; j++) {
                const double t[2] = {(j + 0.5) / GRID, 1.0 - (i + 0.5) / GRID};
                for (int d = 0; d < 2; d++) {
                    double q = 0.05 + 0.9 * t[d];
                    /* the normal quantile by bisection on erfc */
                    double a = -6.0, b = 6.0;
                    for (int it = 0; it < 60; it++) {
                        const double mid = 0.5 * (a + b);
                        if (0.5 * erfc(-mid / sqrt(2.0)) < q)
                            a = mid;
                        else
                            b = mid;
                    }
                    z[(size_t)(i * GRID + j) * 2 + (size_t)d] =
                        v ? (float)(0.5 * (a + b)) : (float)(lo[d] + t[d] * (hi[d] - lo[d]));
                }
            }
        if ((rc = ae_latent_decode(ae_model_decoder(m[v]), z, (size_t)GRID * GRID, 2, img[v])) < 0)
            goto lib_fail;
    }
    const char *sub[2] = {"AE: a 15 x 15 grid over its latent box",
                          "VAE: a 15 x 15 grid over N(0, I)'s quantiles 5 % .. 95 %"};
    status = pair_figure(r, "vae_grid.png", "2-d latents, decoded on a grid", sub, img, GRID, GRID,
                         NULL);
    goto out;
lib_fail:
    status = cli_lib_error(PROG, rc);
out:
    for (int v = 0; v < 2; v++) {
        ae_model_destroy(m[v]);
        free(img[v]);
    }
    free(z);
    free(zt);
    return status;
}

int main(int argc, char **argv)
{
    uint32_t epochs = 10, k = 20, grid_epochs = 5, threads = 0;
    uint64_t seed = 1;
    double beta = 1.0;
    const char *data_dir = DATA_DEFAULT_DIR, *out_dir = "out";
    const cli_option options[] = {
        {"epochs", CLI_U32, &epochs, 1, 1000000, 0, 0},
        {"latent", CLI_U32, &k, 2, 1024, 0, 0},
        {"beta", CLI_DOUBLE, &beta, 0, 0, 0.0, 1000.0},
        {"grid-epochs", CLI_U32, &grid_epochs, 0, 1000000, 0, 0},
        {"seed", CLI_U64, &seed, 0, 0, 0, 0},
        {"data", CLI_STRING, &data_dir, 0, 0, 0, 0},
        {"out", CLI_STRING, &out_dir, 0, 0, 0, 0},
        CLI_THREADS_OPTION(threads),
    };
    int start = cli_start(PROG, argc, argv, options, sizeof options / sizeof options[0], usage,
                          &threads);
    if (start != CLI_CONTINUE)
        return start;

    run r;
    memset(&r, 0, sizeof r);
    r.out_dir = out_dir;
    r.seed = seed;
    r.k = k;
    ae_dataset *train_set = NULL, *test = NULL;
    float *x_test = NULL, *buf[2] = {NULL, NULL};
    int32_t *y_test = NULL;
    double *score = NULL;
    int status = CLI_EXIT_FAILURE, rc;
    if (cli_mkdir_p(out_dir) != 0) {
        cli_error(PROG, "cannot create directory %s: %s", out_dir, strerror(errno));
        goto done;
    }
    uint32_t h, w;
    if ((rc = data_load_mnist_images(data_dir, 1, &train_set, &test, &h, &w)) < 0)
        goto lib_fail;
    r.h = (int)h;
    r.w = (int)w;
    r.size = (size_t)r.h * (size_t)r.w;
    r.n_test = ae_dataset_count(test);
    x_test = malloc(r.n_test * r.size * sizeof *x_test);
    y_test = malloc(r.n_test * sizeof *y_test);
    r.z[0] = malloc(r.n_test * k * sizeof *r.z[0]);
    r.z[1] = malloc(r.n_test * k * sizeof *r.z[1]);
    r.lo = malloc(2 * (size_t)k * sizeof *r.lo);
    score = malloc(r.n_test * 4 * sizeof *score);
    buf[0] = malloc((size_t)GRID * GRID * r.size * sizeof *buf[0]);
    buf[1] = malloc((size_t)GRID * GRID * r.size * sizeof *buf[1]);
    if (!x_test || !y_test || !r.z[0] || !r.z[1] || !r.lo || !score || !buf[0] || !buf[1]) {
        cli_error(PROG, "out of memory");
        goto done;
    }
    r.hi = r.lo + k;
    if ((rc = ae_dataset_get_batch(test, 0, r.n_test, x_test, y_test)) < 0)
        goto lib_fail;
    r.x_test = x_test;
    r.y_test = y_test;

    /* The VAE, then the plain AE of the same shape. */
    double vae_seconds = 0.0, ae_seconds = 0.0;
    if ((rc = build(&r.m[1], r.size, k, 1, (float)beta, seed)) < 0)
        goto lib_fail;
    fprintf(stderr, "%s: training the VAE 784-%u-(%u+%u)-%u-%u-784 for %u epochs\n", PROG, HIDDEN,
            k, k, k, HIDDEN, epochs);
    printf("VAE, negative ELBO in nats per sample (train: the epoch's mean over its batches; "
           "test: one draw of z per image)\n\n");
    if ((rc = train(r.m[1], train_set, x_test, r.n_test, epochs, seed + 2, 1, &vae_seconds)) <
        0)
        goto lib_fail;
    double test_nelbo, mean_nelbo16 = 0.0, mean_rp = 0.0, mean_bce[2] = {0.0, 0.0};
    if ((rc = mean_nelbo(r.m[1], x_test, r.n_test, seed + 999, &test_nelbo)) < 0)
        goto lib_fail;
    fprintf(stderr, "%s: training the AE 784-%u-%u-%u-784 for %u epochs\n", PROG, HIDDEN, k,
            HIDDEN, epochs);
    if ((rc = build(&r.m[0], r.size, k, 0, 1.0f, seed)) < 0 ||
        (rc = train(r.m[0], train_set, NULL, 0, epochs, seed + 2, 0, &ae_seconds)) < 0)
        goto lib_fail;

    /* Anomaly scores: the reconstruction BCE of both (summed per image),
     * the VAE's negative ELBO and reconstruction probability. */
    for (int m = 0; m < 2; m++) {
        if ((rc = ae_model_score(r.m[m], x_test, r.n_test, AE_SCORE_BCE, score)) < 0)
            goto lib_fail;
        for (size_t i = 0; i < r.n_test; i++)
            mean_bce[m] += score[i] * (double)r.size / (double)r.n_test;
    }
    if ((rc = ae_model_vae_score(r.m[1], x_test, r.n_test, AE_VAE_SCORE_SAMPLES, seed, score,
                                 score + r.n_test)) < 0)
        goto lib_fail;
    for (size_t i = 0; i < r.n_test; i++) {
        mean_nelbo16 += score[i] / (double)r.n_test;
        mean_rp += score[r.n_test + i] / (double)r.n_test;
    }
    printf("\nTest set, nats per image: AE reconstruction BCE %.2f; VAE reconstruction BCE (of "
           "the mean) %.2f, negative ELBO (%u draws) %.2f, reconstruction probability -log %.2f\n",
           mean_bce[0], mean_bce[1], AE_VAE_SCORE_SAMPLES, mean_nelbo16, mean_rp);

    /* Latents: the AE's codes, the VAE's means; the AE's box. */
    for (int m = 0; m < 2; m++)
        if ((rc = ae_encoder_encode(ae_model_encoder(r.m[m]), x_test, r.n_test, r.z[m])) < 0)
            goto lib_fail;
    for (uint32_t j = 0; j < k; j++) {
        r.lo[j] = INFINITY;
        r.hi[j] = -INFINITY;
    }
    for (size_t i = 0; i < r.n_test; i++)
        for (uint32_t j = 0; j < k; j++) {
            r.lo[j] = fminf(r.lo[j], r.z[0][i * k + j]);
            r.hi[j] = fmaxf(r.hi[j], r.z[0][i * k + j]);
        }
    size_t ia = r.n_test, ib = r.n_test;
    for (size_t i = 0; i < r.n_test; i++) {
        if (ia == r.n_test && y_test[i] == 0)
            ia = i;
        if (ib == r.n_test && y_test[i] == 9)
            ib = i;
    }
    if (ia == r.n_test || ib == r.n_test) {
        cli_error(PROG, "the test set lacks class 0 or 9");
        goto done;
    }
    if ((status = samples_figure(&r, buf)) != CLI_EXIT_OK ||
        (status = neighbourhood_figure(&r, buf)) != CLI_EXIT_OK ||
        (status = interpolation_figure(&r, ia, ib, buf)) != CLI_EXIT_OK ||
        (status = scatter_figure(&r)) != CLI_EXIT_OK ||
        (grid_epochs > 0 && (status = grid_figure(&r, train_set, grid_epochs)) != CLI_EXIT_OK))
        goto done;

    printf("\ntest_nelbo=%.2f samples_per_s=%.0f\n", test_nelbo,
           (double)epochs * (double)ae_dataset_count(train_set) / vae_seconds);
    if (fflush(stdout) != 0) {
        status = cli_error(PROG, "cannot write to stdout: %s", strerror(errno));
        goto done;
    }
    status = CLI_EXIT_OK;
    goto done;
lib_fail:
    status = cli_lib_error(PROG, rc);
done:
    free(x_test);
    free(y_test);
    free(r.z[0]);
    free(r.z[1]);
    free(r.lo);
    free(score);
    free(buf[0]);
    free(buf[1]);
    ae_model_destroy(r.m[0]);
    ae_model_destroy(r.m[1]);
    ae_dataset_destroy(train_set);
    ae_dataset_destroy(test);
    return status;
}
