/* SPDX-License-Identifier: MIT */
/*
 * gemm_table.c - libae's own GEMM kernels (src/core/gemm*.c) against
 * cblas_sgemm on the shapes libae's training and inference use: the dense
 * AE's five products at several batch sizes and the convolutional
 * denoising AE's im2col products. bench/run.py runs it twice, with
 * OPENBLAS_CORETYPE as the environment sets it and with it unset (a child
 * process each: OpenBLAS reads the variable once, when it loads).
 *
 *   gemm_table [ROUNDS]     one JSON line per shape
 *
 * Every side is timed in thread CPU time (CLOCK_THREAD_CPUTIME_ID: on one
 * BLAS thread the product runs on the calling thread), each sample at
 * least 2 ms of repeated calls; the sides alternate within each round,
 * their order reversed every other round, so the load of the shared
 * machine hits them alike. A side's figure is its median over the rounds,
 * a ratio the median of the per-round ratios (cblas time / kernel time:
 * above 1 the kernel is faster).
 *
 * A white-box measurement, not a user's program: it includes
 * src/core/gemm.h, the kernels' internal interface (no public API exposes
 * them), and links the static library; so it lives under tests/, not
 * bench/ (whose programs use include/ only). make bench builds and runs it.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/gemm.h"

typedef struct shape {
    const char *what;
    int ta, tb;
    size_t m, n, k;
} shape;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* side: -1 cblas_sgemm, else a kernel path. Seconds of CPU per call. */
static double time_side(int side, const shape *s, const float *a, const float *b, float *c)
{
    size_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    int reps = 0;
    double t0 = cpu_now(), t;
    do {
        if (side < 0)
            cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                        s->tb ? CblasTrans : CblasNoTrans, (int)s->m, (int)s->n, (int)s->k, 1.0f, a,
                        (int)lda, b, (int)ldb, 0.0f, c, (int)s->n);
        else
            ae__gemm_run(side, s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
        reps++;
        t = cpu_now() - t0;
    } while (t < 0.002);
    return t / reps;
}

static const char *path_name(int path)
{
    static const char *const names[] = {"blas", "generic", "avx2", "avx512"};
    return path >= 0 && path <= 3 ? names[path] : "?";
}

#define MAX_ROUNDS 101

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 11;
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 11;
    openblas_set_num_threads(1);
    enum { N_SHAPES = 5 * 5 + 9 };
    shape shapes[N_SHAPES];
    static const size_t batches[] = {8, 32, 128, 256, 512};
    int ns = 0;
    for (int i = 0; i < 5; i++) {
        size_t b = batches[i];
        shapes[ns++] = (shape){"dense enc fwd", 0, 1, b, 64, 784};
        shapes[ns++] = (shape){"dense dec fwd", 0, 1, b, 784, 64};
        shapes[ns++] = (shape){"dense dec dW", 1, 0, 784, 64, b};
        shapes[ns++] = (shape){"dense dec dX", 0, 0, b, 64, 784};
        shapes[ns++] = (shape){"dense enc dW", 1, 0, 64, 784, b};
    }
    /* the conv denoising AE at batch 32 (src/layers/conv2d*.c): forward
     * W col, dW = dz col^T, dcol = W^T dz; 8 channels, 3x3 kernels */
    shapes[ns++] = (shape){"conv fwd", 0, 0, 8, 392, 144};
    shapes[ns++] = (shape){"conv dW", 0, 1, 8, 144, 392};
    shapes[ns++] = (shape){"conv dcol", 1, 0, 144, 392, 8};
    shapes[ns++] = (shape){"conv fwd", 0, 0, 8, 441, 144};
    shapes[ns++] = (shape){"conv dW", 0, 1, 8, 144, 441};
    shapes[ns++] = (shape){"conv dcol", 1, 0, 144, 441, 8};
    shapes[ns++] = (shape){"convT fwd", 1, 0, 72, 882, 8};
    shapes[ns++] = (shape){"convT dW", 0, 1, 8, 72, 882};
    shapes[ns++] = (shape){"conv1 dW", 0, 1, 16, 9, 6272};

    int paths[2], np = 0;
    if (ae__gemm_path_available(AE_GEMM_AVX512))
        paths[np++] = AE_GEMM_AVX512;
    if (ae__gemm_path_available(AE_GEMM_AVX2))
        paths[np++] = AE_GEMM_AVX2;
    size_t big = 784 * 512 + 6272 * 16;
    float *a = malloc(big * sizeof *a), *b = malloc(big * sizeof *b), *c = malloc(big * sizeof *c);
    if (a == NULL || b == NULL || c == NULL)
        return 1;
    for (size_t i = 0; i < big; i++) {
        a[i] = (float)(i % 97) / 97.0f - 0.5f;
        b[i] = (float)(i % 89) / 89.0f - 0.5f;
        c[i] = 0.0f;
    }
    const char *ct = getenv("OPENBLAS_CORETYPE");
    for (int x = 0; x < ns; x++) {
        const shape *s = &shapes[x];
        double tb[MAX_ROUNDS], tk[2][MAX_ROUNDS], ratio[2][MAX_ROUNDS];
        for (int side = -1; side < np; side++) /* warm-up */
            time_side(side < 0 ? -1 : paths[side], s, a, b, c);
        for (int r = 0; r < rounds; r++) {
            if (r % 2 == 0)
                tb[r] = time_side(-1, s, a, b, c);
            for (int p = 0; p < np; p++)
                tk[p][r] = time_side(paths[p], s, a, b, c);
            if (r % 2 == 1)
                tb[r] = time_side(-1, s, a, b, c);
            for (int p = 0; p < np; p++)
                ratio[p][r] = tb[r] / tk[p][r];
        }
        printf("{\"what\": \"%s\", \"ta\": %d, \"tb\": %d, \"m\": %zu, \"n\": %zu, \"k\": %zu, "
               "\"coretype\": \"%s\", \"rounds\": %d, \"path\": \"%s\", \"kept\": %d, "
               "\"cblas_us\": %.3f, \"kernels\": [",
               s->what, s->ta, s->tb, s->m, s->n, s->k, ct ? ct : "", rounds,
               path_name(ae__gemm_path()), ae__gemm_shape_kept(s->ta, s->tb, s->m, s->n, s->k),
               1e6 * median(tb, rounds));
        for (int p = 0; p < np; p++)
            printf("%s{\"path\": \"%s\", \"us\": %.3f, \"speedup\": %.3f}", p ? ", " : "",
                   path_name(paths[p]), 1e6 * median(tk[p], rounds),
                   median(ratio[p], rounds));
        printf("]}\n");
        fflush(stdout);
    }
    free(a);
    free(b);
    free(c);
    return 0;
}
