/* SPDX-License-Identifier: MIT */
/*
 * layer_harness.h - one harness for layer tests (tests/check_layers.c,
 * tests/check_conv.c): a layer instance driven through its kind as the
 * library drives it, the finite-difference gradient check, the
 * batch-equals-samples check and the save/load round trip. A built-in kind
 * gets all three from one row of layer_rows[] in check_layers.c.
 */
#ifndef AE_TESTS_LAYER_HARNESS_H
#define AE_TESTS_LAYER_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "ae.h"
#include "ae/sys/layer.h"
#include "layers/layer.h"

/* A layer instance of a registered kind. */
typedef struct lay {
    ae__kind *kind;
    void *state;
    ae_shape in, out;
    size_t in_size, out_size;
    void *ws;
    size_t ws_batch;
    ae_rng rng; /* its create()'s generator */
} lay;

/* Creates a layer of kind `type_name` (init seed 7 / `seed`); lay_try
 * returns the status, lay_make asserts AE_OK. */
int lay_try(lay *l, const char *type_name, ae_shape in, const void *cfg, size_t size);
void lay_make(lay *l, const char *type_name, ae_shape in, const void *cfg, size_t size);
void lay_make_seed(lay *l, const char *type_name, ae_shape in, const void *cfg, size_t size,
                   uint64_t seed);
void lay_free(lay *l);
/* A built-in kind's config blob from its options (through the catalogue's
 * encoder): returns its size. opts as the public adder takes them. */
size_t lay_config(unsigned char *cfg, const char *type_name, const void *opts);

/* forward/backward; the workspace stays between them as in training. */
void lay_fwd(lay *l, size_t batch, int training, ae_rng *rng, const float *x, float *y);
void lay_bwd(lay *l, size_t batch, int training, const float *x, const float *y,
             const float *dy, float *dx);
size_t lay_nparams(lay *l);
ae_param_view lay_param(lay *l, size_t i);
ae_param_view lay_state(lay *l, size_t i);

/* The numeric derivative of L = sum(r * y) (y = training forward of x, the
 * generator re-seeded each time so random masks and eps stay fixed) with
 * respect to *v: the fourth-order central difference with step h. */
double lay_fd(lay *l, size_t batch, const float *x, const float *r, float *y, float *v, float h);
/* Checks dL/dx and every parameter's gradient against lay_fd (relative
 * error of the whole gradient at most 1e-3, and not vanishing). */
void lay_gradcheck(lay *l, size_t batch, float *x, float h);
/* A batch gives what its samples give one by one: in training (no
 * generator) forward, dx and the summed parameter gradients; in inference
 * (training 0: kinds whose training couples samples or draws) forward. */
void lay_batch_equals_single(lay *l, size_t batch, int training, const float *x);
/* An encoder of this one layer, saved to memory and loaded back, encodes
 * bit for bit as before and holds the same tensors. */
void lay_round_trip(const char *type_name, ae_shape in, const void *cfg, size_t size);

/* Test data: uniform in [-1, 1) (a generator of the harness's own), and
 * values spaced 0.05 apart in random order (no ties for max pooling). */
/* Restarts the data generator at seed. */
void lay_seed(uint64_t seed);
float lay_urand(void);
float *lay_rand_input(size_t n);
float *lay_spread_input(size_t n);
/* Random parameters (batchnorm's gamma around 1) so every one matters. */
void lay_randomize_params(lay *l);
float *lay_falloc(size_t n);

#endif
