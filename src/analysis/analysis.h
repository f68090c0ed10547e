/* SPDX-License-Identifier: MIT */
/*
 * analysis.h - internal linear algebra shared by pca.c and latent.c: the
 * LAPACK routines libae takes from OpenBLAS (Debian's libopenblas carries
 * the Fortran LAPACK symbols, not LAPACKE, so they are declared here with
 * gfortran's hidden string-length arguments) and a symmetric eigen-solver
 * built on them.
 */
#ifndef AE_ANALYSIS_H
#define AE_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

/* Fortran LAPACK (column-major, 32-bit integers as Debian builds it). */
void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n,
             double *a, const int *lda, const double *vl, const double *vu,
             const int *il, const int *iu, const double *abstol, int *m,
             double *w, double *z, const int *ldz, int *isuppz, double *work,
             const int *lwork, int *iwork, const int *liwork, int *info,
             size_t jobz_len, size_t range_len, size_t uplo_len);
void sgeqrf_(const int *m, const int *n, float *a, const int *lda, float *tau,
             float *work, const int *lwork, int *info);
void sorgqr_(const int *m, const int *n, const int *k, float *a, const int *lda,
             const float *tau, float *work, const int *lwork, int *info);

/*
 * The k largest eigenvalues of the symmetric n x n matrix @p a (either
 * triangle may be used; @p a is destroyed) in decreasing order into
 * @p values, and their unit eigenvectors as the k rows of @p vectors
 * (k x n, row-major). 1 <= k <= n <= INT_MAX. Returns AE_OK,
 * AE_ERR_NOMEM or AE_ERR_NUMERIC (LAPACK failed), naming @p who.
 */
int ae__sym_eig_top(double *a, size_t n, size_t k, double *values,
                    double *vectors, const char *who);

/* The VAE scores of count samples whose first is sample index0 of the
 * caller's set (the draws of sample i are seeded with seed and i); vae.c.
 * Either output may be NULL; no argument checks besides the model's
 * shape and x in [0, 1]. */
struct ae_model;
int ae__vae_scores(const struct ae_model *model, const float *x, size_t count, size_t index0,
                   uint32_t samples, uint64_t seed, double *nelbo, double *recon, const char *who);

#endif
