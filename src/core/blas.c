/* SPDX-License-Identifier: MIT */
/*
 * blas.c - the one place libae calls BLAS (cblas_sgemm, cblas_sgemv) and
 * the thread setting (ae_set_num_threads) that goes with it.
 *
 * Threads: the setting is process-wide. Its default is read once, the first
 * time libae needs it: AE_NUM_THREADS when it holds an integer from 1 to
 * AE_MAX_THREADS, else OpenBLAS's own count at that moment
 * (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or the number of cores).
 *
 * OpenBLAS has one global thread count, so each call chooses: products
 * below AE_GEMM_THREAD_FLOPS multiply-adds run on one thread (measured on a
 * 2-core EPYC with OpenBLAS 0.3.21: below it, waking the second thread costs
 * more than it saves, up to 2x on batch-32 dense layers), larger ones on the
 * setting. openblas_set_num_threads() is called only when the wanted count
 * differs from OpenBLAS's current one. When two threads of the caller run
 * libae at once, one may change the count under the other's call: the
 * product is still right, but may run on fewer threads and (OpenBLAS's
 * results depend on how it splits a product) differ in the last bits.
 *
 * Own kernels: a product that runs on one thread and falls in the class of
 * shapes where libae's own kernels measured faster than OpenBLAS in both
 * OPENBLAS_CORETYPE settings (ae__gemm_shape_kept, src/core/gemm.c) runs on
 * them; everything else calls CBLAS. The choice depends on the shape and
 * the thread setting only, so results stay the same bits for a fixed
 * setting.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core.h"
#include "core/gemm.h"

/* Multiply-adds (m*n*k) from which a GEMM uses more than one thread; and
 * the same for GEMV (m*n). See bench/README.md for the measurements. */
#ifndef AE_GEMM_THREAD_FLOPS
#define AE_GEMM_THREAD_FLOPS (4u << 20)
#endif
#define AE_GEMV_THREAD_FLOPS (1u << 20)
/* Skinny products (a side below this, e.g. the 8-channel convolutions of the
 * denoising tutorial) stay on one thread whatever their size: they are
 * bound by memory, and splitting them measured slower. */
#define AE_GEMM_THREAD_MIN_DIM 32

static atomic_int setting;          /* the current setting; 0 until first read */
static _Thread_local int single;    /* this thread's products run on one thread */
static int default_threads = 1;     /* written once under default_once */
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

int ae__threads_parse(const char *s)
{
    long v = 0;
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
        if (v > AE_MAX_THREADS)
            return 0;
    }
    return (int)v;
}

static void read_default(void)
{
    int n = ae__threads_parse(getenv("AE_NUM_THREADS"));
#ifdef OPENBLAS_CONFIG_H
    if (n == 0)
        n = openblas_get_num_threads();
#endif
    default_threads = n >= 1 ? (n <= AE_MAX_THREADS ? n : AE_MAX_THREADS) : 1;
}

static int default_count(void)
{
    pthread_once(&default_once, read_default);
    return default_threads;
}

int ae__threads(void)
{
    int n = atomic_load_explicit(&setting, memory_order_relaxed);
    if (n == 0) {
        int expected = 0;
        atomic_compare_exchange_strong(&setting, &expected, default_count());
        n = atomic_load(&setting);
    }
    return n;
}

int ae_set_num_threads(int n)
{
    if (n < 0 || n > AE_MAX_THREADS)
        return ae__error(AE_ERR_INVALID, "ae_set_num_threads: %d threads, expected 1 to %d (0: the default)",
                         n, AE_MAX_THREADS);
    atomic_store(&setting, n == 0 ? default_count() : n);
    return AE_OK;
}

int ae_get_num_threads(void) { return ae__threads(); }

int ae__blas_single(int on)
{
    int was = single;
    single = on;
    return was;
}

/* Tells OpenBLAS to use `want` threads from its next call on, if it is not
 * set so already (asked each time: the program may set it too). */
static void blas_threads(int want)
{
#ifdef OPENBLAS_CONFIG_H
    (void)default_count(); /* OpenBLAS's own default is read before libae changes it */
    if (openblas_get_num_threads() != want)
        openblas_set_num_threads(want);
#else
    (void)want;
#endif
}

/* BLAS threads for an m x n x k product: the setting, or 1 for products
 * too small or too skinny to gain from a split. */
static int product_threads(size_t m, size_t n, size_t k)
{
    int t = single ? 1 : ae__threads();
    if (t > 1 && ((double)m * (double)n * (double)k < (double)AE_GEMM_THREAD_FLOPS ||
                  m < AE_GEMM_THREAD_MIN_DIM || n < AE_GEMM_THREAD_MIN_DIM ||
                  k < AE_GEMM_THREAD_MIN_DIM))
        t = 1;
    return t;
}

void ae__gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k,
              float alpha, const float *a, size_t lda, const float *b,
              size_t ldb, float beta, float *c, size_t ldc)
{
    int t = product_threads(m, n, k);
    /* One-thread products of the shapes where libae's own kernels measured
     * faster than OpenBLAS (src/core/gemm.c, bench/README.md) run on them. */
    if (t == 1) {
        int path = ae__gemm_path();
        if (path != AE_GEMM_BLAS && ae__gemm_shape_kept(trans_a, trans_b, m, n, k) &&
            ae__gemm_run(path, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0)
            return;
    }
    blas_threads(t);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
                alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void ae__gemv(int trans_a, size_t m, size_t n, float alpha, const float *a, size_t lda,
              const float *x, float beta, float *y)
{
    int t = single ? 1 : ae__threads();
    if (t > 1 && (double)m * (double)n < (double)AE_GEMV_THREAD_FLOPS)
        t = 1;
    blas_threads(t);
    cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, (int)m, (int)n, alpha, a,
                (int)lda, x, 1, beta, y, 1);
}

void ae__dgemm(size_t m, size_t n, size_t k, double alpha, const double *a, size_t lda,
               const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
    blas_threads(product_threads(m, n, k));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, alpha, a,
                (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

void ae__dsyrk(int trans, size_t n, size_t k, double alpha, const double *a, size_t lda,
               double beta, double *c, size_t ldc)
{
    blas_threads(product_threads(n, n, k));
    cblas_dsyrk(CblasRowMajor, CblasUpper, trans ? CblasTrans : CblasNoTrans, (int)n, (int)k,
                alpha, a, (int)lda, beta, c, (int)ldc);
}
