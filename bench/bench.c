/* SPDX-License-Identifier: MIT */
/*
 * bench.c - libae's side of the benchmarks (bench/run.py drives it).
 *
 * A small server: one command per line on stdin, one JSON object per line
 * on stdout (bench/torch_peer.py speaks the same protocol for PyTorch).
 *
 *   info                               versions, CPU, OpenBLAS, thread settings
 *   init KIND LATENT PATH              writes the initial weights of the dense
 *                                      (KIND dense, LATENT units) or conv model
 *                                      (KIND conv, LATENT 0) to PATH: raw
 *                                      float32 in PyTorch's parameter order
 *   run WORKLOAD THREADS key=value...  one timed repetition (see below)
 *   gemm THREADS b=B [latent=L]        cblas_sgemm alone on the dense AE's five
 *                                      GEMM shapes at batch B: GFLOP/s each and
 *                                      the GEMM-only ceiling of a training step
 *   gemm_threads b=B [latent=L]        the same shapes timed at 1 and at 2
 *                                      threads, interleaved: median speedup
 *   drop                               frees the cached workloads
 *   quit
 *
 * Workloads (the first `run` of a workload, parameters and thread count
 * sets it up and runs it once untimed, the warm-up; every `run` after that
 * is one timed repetition):
 *   train_dense b= latent= n= max_s=
 *                               one epoch over the first n training images,
 *                               shuffled, Adam, MSE, stopped after max_s
 *                               seconds if not done: samples/s
 *   train_vae b= latent= n= max_s=
 *                               PyTorch's VAE example (784-400-(20+20)-20-
 *                               400-784), BCE summed per sample + KL, Adam
 *                               1e-3 (epsilon 1e-8, PyTorch's): samples/s
 *   train_conv b= n= noise=     the denoising tutorial's conv AE, Gaussian
 *                               noise (factor 0.2) on every batch: samples/s
 *   encode1 latent= calls=      ae_encoder_encode() of one sample 784 ->
 *                               latent: median microseconds per call
 *   infer_dense latent= n=      ae_model_reconstruct() of the first n test
 *   infer_conv n=               images in one call: milliseconds
 *   search latent= n= q= k=     ae_index_search() of the first q test images
 *                               among the first n training images, k nearest,
 *                               in one call: microseconds per query. The
 *                               vectors are the images encoded by the dense
 *                               model's (initial, shared) encoder, or the
 *                               raw pixels for latent=0
 *
 * This program is part of the benchmarks, not of libae: it links the static
 * library, uses only the public API (ae_model_params_get() writes the
 * initial weights) and calls cblas_sgemm directly for the GEMM ceiling.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ae.h>

#define MAX_WORDS 16

static ae_dataset *train_set, *test_set;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *param(char **words, int n, const char *key, const char *def)
{
    size_t len = strlen(key);
    for (int i = 0; i < n; i++)
        if (strncmp(words[i], key, len) == 0 && words[i][len] == '=')
            return words[i] + len + 1;
    return def;
}

static size_t param_size(char **words, int n, const char *key, size_t def)
{
    const char *v = param(words, n, key, NULL);
    return v != NULL ? (size_t)strtoull(v, NULL, 10) : def;
}

/* ---- models (the examples' architectures and seeds) ----------------------- */

static int dense_model(ae_model **out, uint32_t latent)
{
    const ae_shape in = {1, {784}}, lat = {1, {latent}};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    int rc;
    if ((rc = ae_encoder_create(&enc, &in, 1)) < 0 ||
        (rc = ae_encoder_add_dense(enc, latent, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_create(&dec, &lat, 2)) < 0 ||
        (rc = ae_decoder_add_dense(dec, 784, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(out, enc, dec)) < 0) {
        ae_encoder_destroy(enc);
        ae_decoder_destroy(dec);
    }
    return rc;
}

/* PyTorch's VAE example: 784-400-(k+k), the Gaussian sampling layer,
 * k-400-784. */
static int vae_model(ae_model **out, uint32_t latent)
{
    const ae_shape in = {1, {784}}, lat = {1, {latent}};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    int rc;
    if ((rc = ae_encoder_create(&enc, &in, 1)) < 0 ||
        (rc = ae_encoder_add_dense(enc, 400, AE_ACT_RELU)) < 0 ||
        (rc = ae_encoder_add_dense(enc, 2 * latent, AE_ACT_IDENTITY)) < 0 ||
        (rc = ae_encoder_add_gaussian_sample(enc)) < 0 ||
        (rc = ae_decoder_create(&dec, &lat, 2)) < 0 ||
        (rc = ae_decoder_add_dense(dec, 400, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_add_dense(dec, 784, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(out, enc, dec)) < 0) {
        ae_encoder_destroy(enc);
        ae_decoder_destroy(dec);
    }
    return rc;
}

static int conv_model(ae_model **out)
{
    const ae_shape in = {3, {1, 28, 28}}, lat = {3, {8, 7, 7}};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    ae_conv2d_transpose_options up = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
    up.kernel_h = up.kernel_w = 3;
    up.stride_h = up.stride_w = 2;
    up.padding = AE_PAD_SAME;
    up.output_padding_h = up.output_padding_w = 1;
    up.activation = AE_ACT_RELU;
    int rc;
    if ((rc = ae_encoder_create(&enc, &in, 1)) < 0 ||
        (rc = ae_encoder_add_conv2d(enc, 16, 3, 2, AE_PAD_SAME, AE_ACT_RELU)) < 0 ||
        (rc = ae_encoder_add_conv2d(enc, 8, 3, 2, AE_PAD_SAME, AE_ACT_RELU)) < 0 ||
        (rc = ae_decoder_create(&dec, &lat, 2)) < 0)
        goto fail;
    up.filters = 8;
    if ((rc = ae_decoder_add_conv2d_transpose_ex(dec, &up)) < 0)
        goto fail;
    up.filters = 16;
    if ((rc = ae_decoder_add_conv2d_transpose_ex(dec, &up)) < 0 ||
        (rc = ae_decoder_add_conv2d(dec, 1, 3, 1, AE_PAD_SAME, AE_ACT_SIGMOID)) < 0 ||
        (rc = ae_model_create(out, enc, dec)) < 0)
        goto fail;
    return AE_OK;
fail:
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    return rc;
}

/* Writes every parameter of the model, tensor by tensor in the order of
 * ae_model_tensor_info() (layer by layer), as raw float32. */
static int dump_params(ae_model *m, const char *path)
{
    const size_t total = ae_model_param_count(m);
    float *v = malloc((total ? total : 1) * sizeof *v);
    FILE *f = v != NULL ? fopen(path, "wb") : NULL;
    int ok = f != NULL && ae_model_params_get(m, v, total) == AE_OK &&
             fwrite(v, sizeof(float), total, f) == total;
    free(v);
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok ? (int)total : -1;
}

/* ---- workloads ----------------------------------------------------------------- */

enum { TRAIN, ENCODE1, INFER, SEARCH };

typedef struct workload {
    char key[256];
    int kind;
    const char *unit;
    ae_model *model;
    ae_optimizer *opt;
    ae_dataset *data;
    ae_train_options to;
    size_t n, calls;
    double max_s; /* training passes stop after this many seconds */
    float *x, *y;
    ae_index *index; /* search: the indexed vectors; x holds n queries */
    size_t k;
    size_t *nn;
    struct workload *next;
} workload;

static workload *cache;

static void workload_free(workload *w)
{
    ae_model_destroy(w->model);
    ae_optimizer_destroy(w->opt);
    ae_dataset_destroy(w->data);
    free(w->x);
    free(w->y);
    ae_index_destroy(w->index);
    free(w->nn);
    free(w);
}

/* Stops a training pass once it has run max_s seconds. */
typedef struct cap {
    double start, max_s, end;
    size_t samples, batch;
} cap;

static int cap_progress(const ae_progress *p, void *user)
{
    cap *c = user;
    if (p->event != AE_PROGRESS_BATCH)
        return 0;
    c->samples = (p->batch + 1) * c->batch;
    c->end = now();
    return c->end - c->start > c->max_s;
}

static double workload_run(workload *w)
{
    if (w->kind == TRAIN) {
        cap c = {now(), w->max_s, 0.0, 0, w->to.batch_size};
        w->to.progress = cap_progress;
        w->to.progress_user = &c;
        int rc = ae_model_train(w->model, w->opt, w->data, &w->to);
        if (rc < 0 && rc != AE_ERR_CANCELLED)
            return -1.0;
        if (c.samples > w->n)
            c.samples = w->n;
        return (double)c.samples / (c.end - c.start);
    }
    if (w->kind == ENCODE1) {
        enum { BLOCK = 100 };
        size_t blocks = w->calls / BLOCK ? w->calls / BLOCK : 1;
        double *means = malloc(blocks * sizeof *means);
        const ae_encoder *enc = ae_model_encoder(w->model);
        if (means == NULL)
            return -1.0;
        for (size_t b = 0; b < blocks; b++) {
            double t0 = now();
            for (int i = 0; i < BLOCK; i++)
                if (ae_encoder_encode(enc, w->x, 1, w->y) < 0) {
                    free(means);
                    return -1.0;
                }
            means[b] = (now() - t0) / BLOCK * 1e6;
        }
        for (size_t i = 1; i < blocks; i++) /* insertion sort: few blocks */
            for (size_t j = i; j > 0 && means[j] < means[j - 1]; j--) {
                double t = means[j];
                means[j] = means[j - 1];
                means[j - 1] = t;
            }
        double med = means[blocks / 2];
        free(means);
        return med;
    }
    double t0 = now();
    if (w->kind == SEARCH) {
        if (ae_index_search(w->index, w->x, w->n, w->k, w->nn, w->y) < 0)
            return -1.0;
        return (now() - t0) / (double)w->n * 1e6;
    }
    if (ae_model_reconstruct(w->model, w->x, w->n, w->y) < 0)
        return -1.0;
    return (now() - t0) * 1e3;
}

/* The search workload: its vectors (encoded or raw) indexed, its queries in
 * w->x. Returns a libae status. */
static int search_setup(workload *w, uint32_t latent, size_t n)
{
    const size_t dim = latent ? latent : 784;
    float *px = malloc(n * 784 * sizeof *px), *pq = malloc(w->n * 784 * sizeof *pq);
    float *z = latent ? malloc(n * dim * sizeof *z) : NULL;
    w->x = latent ? malloc(w->n * dim * sizeof *w->x) : NULL;
    w->y = malloc(w->n * w->k * sizeof *w->y);
    w->nn = malloc(w->n * w->k * sizeof *w->nn);
    int rc = AE_ERR_NOMEM;
    if (px == NULL || pq == NULL || (latent && (z == NULL || w->x == NULL)) || w->y == NULL ||
        w->nn == NULL)
        goto done;
    if ((rc = ae_dataset_get_batch(train_set, 0, n, px, NULL)) < 0 ||
        (rc = ae_dataset_get_batch(test_set, 0, w->n, pq, NULL)) < 0)
        goto done;
    if (latent) {
        if ((rc = dense_model(&w->model, latent)) < 0 ||
            (rc = ae_encoder_encode(ae_model_encoder(w->model), px, n, z)) < 0 ||
            (rc = ae_encoder_encode(ae_model_encoder(w->model), pq, w->n, w->x)) < 0)
            goto done;
    } else {
        w->x = pq;
        pq = NULL;
    }
    rc = ae_index_create(&w->index, latent ? z : px, n, dim, NULL);
done:
    free(px);
    free(pq);
    free(z);
    return rc;
}

static workload *workload_new(const char *name, char **p, int np)
{
    workload *w = calloc(1, sizeof *w);
    int rc = AE_OK, conv = strstr(name, "conv") != NULL;
    if (w == NULL)
        return NULL;
    uint32_t latent = (uint32_t)param_size(p, np, "latent", 64);
    if (strncmp(name, "train_", 6) == 0) {
        w->kind = TRAIN;
        w->unit = "samples/s";
        w->n = param_size(p, np, "n", 20480);
        w->max_s = atof(param(p, np, "max_s", "1e9"));
        w->to = (ae_train_options)AE_TRAIN_OPTIONS_INIT;
        w->to.epochs = 1;
        w->to.batch_size = (uint32_t)param_size(p, np, "b", 32);
        w->to.seed = 3;
        w->to.loss = AE_LOSS_MSE;
        if (conv) {
            w->to.noise = AE_NOISE_GAUSSIAN;
            w->to.noise_amount = (float)atof(param(p, np, "noise", "0.2"));
        }
        ae_optimizer_options oo = AE_OPTIMIZER_OPTIONS_INIT;
        const int vae = strcmp(name, "train_vae") == 0;
        if (vae) {
            latent = (uint32_t)param_size(p, np, "latent", 20);
            w->to.batch_size = (uint32_t)param_size(p, np, "b", 128);
            w->to.loss = AE_LOSS_BCE;
            w->to.loss_reduction = AE_REDUCE_SUM_PER_SAMPLE;
            oo.epsilon = 1e-8f;
        }
        if ((rc = ae_dataset_subset(&w->data, train_set, 0, w->n)) < 0 ||
            (rc = vae    ? vae_model(&w->model, latent)
                  : conv ? conv_model(&w->model)
                         : dense_model(&w->model, latent)) < 0 ||
            (rc = ae_optimizer_create(&w->opt, &oo)) < 0)
            goto fail;
    } else if (strcmp(name, "encode1") == 0) {
        w->kind = ENCODE1;
        w->unit = "us";
        w->calls = param_size(p, np, "calls", 2000);
        w->x = malloc(784 * sizeof(float));
        w->y = malloc(latent * sizeof(float));
        if (w->x == NULL || w->y == NULL || (rc = dense_model(&w->model, latent)) < 0 ||
            (rc = ae_dataset_get_batch(test_set, 0, 1, w->x, NULL)) < 0)
            goto fail;
    } else if (strncmp(name, "infer_", 6) == 0) {
        w->kind = INFER;
        w->unit = "ms";
        w->n = param_size(p, np, "n", 10000);
        w->x = malloc(w->n * 784 * sizeof(float));
        w->y = malloc(w->n * 784 * sizeof(float));
        if (w->x == NULL || w->y == NULL ||
            (rc = conv ? conv_model(&w->model) : dense_model(&w->model, latent)) < 0 ||
            (rc = ae_dataset_get_batch(test_set, 0, w->n, w->x, NULL)) < 0)
            goto fail;
    } else if (strcmp(name, "search") == 0) {
        w->kind = SEARCH;
        w->unit = "us";
        w->n = param_size(p, np, "q", 1000); /* queries */
        w->k = param_size(p, np, "k", 10);
        if ((rc = search_setup(w, latent, param_size(p, np, "n", 60000))) < 0)
            goto fail;
    } else {
        free(w);
        return NULL;
    }
    return w;
fail:
    fprintf(stderr, "bench: %s: %s: %s\n", name, ae_strerror(rc), ae_last_error());
    workload_free(w);
    return NULL;
}

static void json_params(char **p, int np)
{
    printf("\"params\": {");
    for (int i = 0; i < np; i++) {
        const char *eq = strchr(p[i], '=');
        if (eq == NULL)
            continue;
        printf("%s\"%.*s\": \"%s\"", i ? ", " : "", (int)(eq - p[i]), p[i], eq + 1);
    }
    printf("}");
}

static void cmd_run(char **words, int n)
{
    if (n < 3) {
        printf("{\"error\": \"usage: run WORKLOAD THREADS key=value...\"}\n");
        return;
    }
    const char *name = words[1];
    int threads = atoi(words[2]);
    char key[256];
    int len = snprintf(key, sizeof key, "%s %d", name, threads);
    for (int i = 3; i < n && len > 0 && (size_t)len < sizeof key; i++)
        len += snprintf(key + len, sizeof key - (size_t)len, " %s", words[i]);
    if (ae_set_num_threads(threads) < 0) {
        printf("{\"error\": \"threads %d: %s\"}\n", threads, ae_last_error());
        return;
    }
    workload *w = cache;
    while (w != NULL && strcmp(w->key, key) != 0)
        w = w->next;
    if (w == NULL) {
        w = workload_new(name, words + 3, n - 3);
        if (w == NULL) {
            printf("{\"error\": \"cannot set up workload %s\"}\n", name);
            return;
        }
        snprintf(w->key, sizeof w->key, "%s", key);
        w->next = cache;
        cache = w;
        workload_run(w); /* warm-up */
    }
    double v = workload_run(w);
    if (v < 0) {
        printf("{\"error\": \"%s: %s\"}\n", name, ae_last_error());
        return;
    }
    printf("{\"side\": \"libae\", \"workload\": \"%s\", \"threads\": %d, ", name, threads);
    json_params(words + 3, n - 3);
    printf(", \"unit\": \"%s\", \"value\": %.6g}\n", w->unit, v);
}

/* ---- the GEMM ceiling ------------------------------------------------------------ */

typedef struct shape {
    const char *what;
    int ta, tb;
    size_t m, n, k;
} shape;

static double time_gemm(const shape *s, const float *a, const float *b, float *c)
{
    size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    double best[7];
    for (int r = 0; r < 7; r++) {
        int reps = 0;
        double t0 = now(), t;
        do {
            cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                        s->tb ? CblasTrans : CblasNoTrans, (int)s->m, (int)s->n, (int)s->k, 1.0f, a,
                        (int)lda, b, (int)ldb, 0.0f, c, (int)s->n);
            reps++;
            t = now() - t0;
        } while (t < 0.02);
        best[r] = t / reps;
    }
    for (int i = 1; i < 7; i++)
        for (int j = i; j > 0 && best[j] < best[j - 1]; j--) {
            double t = best[j];
            best[j] = best[j - 1];
            best[j - 1] = t;
        }
    return best[3];
}

static void cmd_gemm(char **words, int n)
{
    int threads = n > 1 ? atoi(words[1]) : 1;
    size_t b = param_size(words + 2, n - 2, "b", 32), lat = param_size(words + 2, n - 2, "latent", 64);
    const size_t in = 784;
    /* forward x W1^T, z W2^T; backward dW2 = dz^T z, dz2 W2, dW1 = dh^T x
     * (the first layer's dx is not needed) */
    const shape shapes[5] = {
        {"enc fwd  (b x 784) (784 x L)", 0, 1, b, lat, in},
        {"dec fwd  (b x L) (L x 784)", 0, 1, b, in, lat},
        {"dec dW   (784 x b) (b x L)", 1, 0, in, lat, b},
        {"dec dX   (b x 784) (784 x L)", 0, 0, b, lat, in},
        {"enc dW   (L x b) (b x 784)", 1, 0, lat, in, b},
    };
    size_t big = (b > lat ? b : lat) * in;
    float *a = malloc(big * sizeof *a), *bb = malloc(big * sizeof *bb), *c = malloc(big * sizeof *c);
    if (a == NULL || bb == NULL || c == NULL) {
        printf("{\"error\": \"out of memory\"}\n");
        goto done;
    }
    for (size_t i = 0; i < big; i++) {
        a[i] = (float)(i % 97) / 97.0f - 0.5f;
        bb[i] = (float)(i % 89) / 89.0f - 0.5f;
        c[i] = 0.0f;
    }
    openblas_set_num_threads(threads);
    double step = 0.0;
    printf("{\"side\": \"cblas_sgemm\", \"threads\": %d, \"b\": %zu, \"latent\": %zu, \"shapes\": [",
           threads, b, lat);
    for (int i = 0; i < 5; i++) {
        const shape *s = &shapes[i];
        double t = time_gemm(s, a, bb, c);
        step += t;
        printf("%s{\"what\": \"%s\", \"m\": %zu, \"n\": %zu, \"k\": %zu, \"us\": %.3f, \"gflops\": %.3f}",
               i ? ", " : "", s->what, s->m, s->n, s->k, t * 1e6,
               2.0 * (double)s->m * (double)s->n * (double)s->k / t * 1e-9);
    }
    /* one sample through the encoder: y = W x with W L x 784 */
    double gemv_best = 1e9;
    for (int r = 0; r < 7; r++) {
        double t0 = now();
        for (int i = 0; i < 1000; i++)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)lat, (int)in, 1.0f, bb, (int)in, a, 1,
                        0.0f, c, 1);
        double t = (now() - t0) / 1000;
        gemv_best = t < gemv_best ? t : gemv_best;
    }
    printf("], \"step_us\": %.3f, \"ceiling_samples_per_s\": %.1f, \"sgemv_us\": %.3f}\n",
           step * 1e6, (double)b / step, gemv_best * 1e6);
done:
    free(a);
    free(bb);
    free(c);
}

/* cblas_sgemm at 1 and at 2 threads on the dense AE's five shapes, batch b,
 * rounds interleaved: the data behind AE_GEMM_THREAD_FLOPS in
 * src/core/blas.c. Prints the median of 1-thread time / 2-thread time. */
static void cmd_gemm_threads(char **words, int n)
{
    size_t b = param_size(words + 1, n - 1, "b", 32), lat = param_size(words + 1, n - 1, "latent", 64);
    const size_t in = 784;
    const shape shapes[5] = {
        {"enc fwd", 0, 1, b, lat, in}, {"dec fwd", 0, 1, b, in, lat}, {"dec dW", 1, 0, in, lat, b},
        {"dec dX", 0, 0, b, lat, in},  {"enc dW", 1, 0, lat, in, b},
    };
    size_t big = (b > lat ? b : lat) * in;
    float *a = calloc(big, sizeof *a), *bb = calloc(big, sizeof *bb), *c = calloc(big, sizeof *c);
    if (a == NULL || bb == NULL || c == NULL) {
        printf("{\"error\": \"out of memory\"}\n");
        goto done;
    }
    printf("{\"side\": \"cblas_sgemm\", \"b\": %zu, \"latent\": %zu, \"speedups\": [", b, lat);
    for (int i = 0; i < 5; i++) {
        double r[9];
        for (int k = 0; k < 9; k++) {
            openblas_set_num_threads(1);
            double t1 = time_gemm(&shapes[i], a, bb, c);
            openblas_set_num_threads(2);
            double t2 = time_gemm(&shapes[i], a, bb, c);
            r[k] = t1 / t2;
        }
        for (int x = 1; x < 9; x++)
            for (int y = x; y > 0 && r[y] < r[y - 1]; y--) {
                double t = r[y];
                r[y] = r[y - 1];
                r[y - 1] = t;
            }
        printf("%s{\"what\": \"%s\", \"mnk\": %zu, \"speedup_2_threads\": %.3f}", i ? ", " : "",
               shapes[i].what, shapes[i].m * shapes[i].n * shapes[i].k, r[4]);
    }
    printf("]}\n");
done:
    free(a);
    free(bb);
    free(c);
}

/* ---- main -------------------------------------------------------------------------- */

static void cmd_info(void)
{
    const char *ct = getenv("OPENBLAS_CORETYPE");
    char cpu[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f != NULL) {
        char line[512];
        while (fgets(line, sizeof line, f) != NULL)
            if (strncmp(line, "model name", 10) == 0) {
                char *p = strchr(line, ':');
                if (p != NULL) {
                    p += 2;
                    p[strcspn(p, "\n")] = '\0';
                    snprintf(cpu, sizeof cpu, "%s", p);
                }
                break;
            }
        fclose(f);
    }
    const char *env = getenv("AE_NUM_THREADS");
    printf("{\"side\": \"libae\", \"version\": \"%s\", \"threads_default\": %d, "
           "\"AE_NUM_THREADS\": \"%s\", \"OPENBLAS_CORETYPE\": \"%s\", \"openblas_config\": \"%s\", "
           "\"openblas_core\": \"%s\", \"cpu\": \"%s\", \"cpus\": %d}\n",
           ae_version_string(), ae_get_num_threads(), env ? env : "(unset)", ct ? ct : "(unset)",
           openblas_get_config(), openblas_get_corename(), cpu, openblas_get_num_procs());
}

int main(int argc, char **argv)
{
    const char *dir = getenv("AE_BENCH_DATA");
    char path[1024], line[1024];
    int rc;
    if (dir == NULL)
        dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    if ((rc = ae_dataset_load_idx(&train_set, path, NULL, AE_IDX_SCALE)) < 0) {
        fprintf(stderr, "bench: %s: %s\n", path, ae_last_error());
        return 1;
    }
    snprintf(path, sizeof path, "%s/t10k-images-idx3-ubyte.gz", dir);
    if ((rc = ae_dataset_load_idx(&test_set, path, NULL, AE_IDX_SCALE)) < 0) {
        fprintf(stderr, "bench: %s: %s\n", path, ae_last_error());
        return 1;
    }
    /* the datasets are {1, 28, 28}; the dense models take {784}: same floats */
    while (fgets(line, sizeof line, stdin) != NULL) {
        char *words[MAX_WORDS];
        int n = 0;
        for (char *t = strtok(line, " \t\r\n"); t != NULL && n < MAX_WORDS; t = strtok(NULL, " \t\r\n"))
            words[n++] = t;
        if (n == 0)
            continue;
        if (strcmp(words[0], "quit") == 0)
            break;
        if (strcmp(words[0], "info") == 0) {
            cmd_info();
        } else if (strcmp(words[0], "run") == 0) {
            cmd_run(words, n);
        } else if (strcmp(words[0], "gemm") == 0) {
            cmd_gemm(words, n);
        } else if (strcmp(words[0], "gemm_threads") == 0) {
            cmd_gemm_threads(words, n);
        } else if (strcmp(words[0], "drop") == 0) {
            while (cache != NULL) {
                workload *w = cache;
                cache = w->next;
                workload_free(w);
            }
            printf("{\"ok\": true}\n");
        } else if (strcmp(words[0], "init") == 0 && n == 4) {
            ae_model *m = NULL;
            int count = -1;
            if ((strcmp(words[1], "conv") == 0  ? conv_model(&m)
                 : strcmp(words[1], "vae") == 0 ? vae_model(&m, (uint32_t)atoi(words[2]))
                                                : dense_model(&m, (uint32_t)atoi(words[2]))) == AE_OK)
                count = dump_params(m, words[3]);
            ae_model_destroy(m);
            if (count < 0)
                printf("{\"error\": \"init %s: cannot write %s\"}\n", words[1], words[3]);
            else
                printf("{\"ok\": true, \"floats\": %d}\n", count);
        } else {
            printf("{\"error\": \"unknown command %s\"}\n", words[0]);
        }
        fflush(stdout);
    }
    while (cache != NULL) {
        workload *w = cache;
        cache = w->next;
        workload_free(w);
    }
    ae_dataset_destroy(train_set);
    ae_dataset_destroy(test_set);
    return 0;
}
