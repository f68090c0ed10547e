/* SPDX-License-Identifier: MIT */
/* layer_harness.c - see layer_harness.h. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "layer_harness.h"
#include "nn/nn.h"

static uint64_t rs = 1;
void lay_seed(uint64_t seed) { rs = seed; }

float lay_urand(void) /* uniform in [-1, 1) */
{
    rs += 0x9E3779B97F4A7C15ull;
    uint64_t z = rs;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (float)(z >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

float *lay_falloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}

float *lay_rand_input(size_t n)
{
    float *x = lay_falloc(n);
    for (size_t i = 0; i < n; i++)
        x[i] = lay_urand();
    return x;
}

float *lay_spread_input(size_t n)
{
    float *x = lay_falloc(n);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.05f * (float)i - 0.025f * (float)n;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)((lay_urand() + 1.0f) * 0.5f * (float)(i + 1)) % (i + 1);
        float t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
    return x;
}

static int lay_create(lay *l, const char *type_name, ae_shape in, const void *cfg, size_t size,
                      uint64_t seed)
{
    memset(l, 0, sizeof *l);
    int rc = ae__kind_acquire(type_name, &l->kind);
    if (rc < 0)
        return rc;
    l->in = in;
    ae_layer_create_args a;
    memset(&a, 0, sizeof a);
    a.struct_size = sizeof a;
    a.input = in;
    a.config = cfg;
    a.config_size = size;
    ae__rng_seed(&l->rng, seed);
    a.rng = &l->rng;
    a.user_data = l->kind->user_data;
    rc = ae__kind_create(l->kind, &l->state, &l->out, &a);
    if (rc == AE_OK) {
        l->in_size = ae__shape_size(&in);
        l->out_size = ae__shape_size(&l->out);
    } else {
        ae__kind_release(l->kind);
        l->kind = NULL;
        l->state = NULL;
    }
    return rc;
}

int lay_try(lay *l, const char *type_name, ae_shape in, const void *cfg, size_t size)
{
    return lay_create(l, type_name, in, cfg, size, 7);
}

void lay_make_seed(lay *l, const char *type_name, ae_shape in, const void *cfg, size_t size,
                   uint64_t seed)
{
    int rc = lay_create(l, type_name, in, cfg, size, seed);
    ck_assert_msg(rc == AE_OK, "create %s: %s", type_name, ae_last_error());
}

void lay_make(lay *l, const char *type_name, ae_shape in, const void *cfg, size_t size)
{
    lay_make_seed(l, type_name, in, cfg, size, 7);
}

void lay_free(lay *l)
{
    if (l->kind != NULL) {
        ae__kind_destroy(l->kind, l->state);
        ae__kind_release(l->kind);
    }
    free(l->ws);
    memset(l, 0, sizeof *l);
}

size_t lay_config(unsigned char *cfg, const char *type_name, const void *opts)
{
    const ae__builtin *b = ae__builtin_find(type_name);
    ck_assert_ptr_nonnull(b);
    return b->config(cfg, opts);
}

static void *lay_ws(lay *l, size_t batch)
{
    if (l->ws_batch != batch) {
        free(l->ws);
        size_t n = ae__kind_workspace(l->kind, l->state, batch);
        l->ws = NULL;
        if (n) {
            l->ws = aligned_alloc(64, (n + 63) / 64 * 64);
            ck_assert_ptr_nonnull(l->ws);
        }
        l->ws_batch = batch;
    }
    return l->ws;
}

static ae_layer_ctx lay_ctx(lay *l, size_t batch, int training, ae_rng *rng)
{
    ae_layer_ctx c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.batch = batch;
    c.training = training;
    c.workspace = lay_ws(l, batch);
    c.rng = rng;
    return c;
}

void lay_fwd(lay *l, size_t batch, int training, ae_rng *rng, const float *x, float *y)
{
    ae_layer_ctx c = lay_ctx(l, batch, training, rng);
    int rc = ae__kind_forward(l->kind, l->state, &c, x, y);
    ck_assert_msg(rc == AE_OK, "%s forward: %s", l->kind->name, ae_last_error());
}

void lay_bwd(lay *l, size_t batch, int training, const float *x, const float *y, const float *dy,
             float *dx)
{
    ae_layer_ctx c = lay_ctx(l, batch, training, NULL);
    int rc = ae__kind_backward(l->kind, l->state, &c, x, y, dy, dx);
    ck_assert_msg(rc == AE_OK, "%s backward: %s", l->kind->name, ae_last_error());
}

size_t lay_nparams(lay *l) { return ae__kind_tensor_count(l->kind, l->state, 0); }

static ae_param_view lay_view(lay *l, int state, size_t i)
{
    ae_param_view v;
    ck_assert_int_eq(ae__kind_tensor(l->kind, l->state, state, i, &v), AE_OK);
    return v;
}

ae_param_view lay_param(lay *l, size_t i) { return lay_view(l, 0, i); }
ae_param_view lay_state(lay *l, size_t i) { return lay_view(l, 1, i); }

void lay_randomize_params(lay *l)
{
    const int bn = strcmp(l->kind->name, AE_LAYER_BATCHNORM) == 0;
    for (size_t p = 0; p < lay_nparams(l); p++) {
        ae_param_view v = lay_param(l, p);
        for (size_t i = 0; i < v.count; i++)
            v.value[i] = 0.5f * lay_urand() + (bn && strcmp(v.name, "weight") == 0 ? 1.0f : 0.0f);
    }
}

/* ---- finite differences --------------------------------------------------- */

/* L = sum(y * r) plus the layer's own loss term (loss_term: a Gaussian
 * sampling layer's KL, whose gradient backward() adds), the training
 * forward re-seeding its generator each time so dropout draws the same
 * mask and gaussian_sample the same eps. */
static double fd_loss(lay *l, size_t batch, const float *x, const float *r, float *y)
{
    ae_rng rng;
    ae__rng_seed(&rng, 99);
    lay_fwd(l, batch, 1, &rng, x, y);
    ae_layer_ctx c = lay_ctx(l, batch, 1, &rng);
    double s = 0.0;
    ck_assert_int_eq(ae__kind_loss_term(l->kind, l->state, &c, &s), AE_OK);
    for (size_t i = 0; i < batch * l->out_size; i++)
        s += (double)y[i] * (double)r[i];
    return s;
}

double lay_fd(lay *l, size_t batch, const float *x, const float *r, float *y, float *v, float h)
{
    const float keep = *v;
    const float step[4] = {2.0f * h, h, -h, -2.0f * h};
    double f[4];
    for (int k = 0; k < 4; k++) {
        *v = keep + step[k];
        f[k] = fd_loss(l, batch, x, r, y);
    }
    *v = keep;
    return (-f[0] + 8.0 * f[1] - 8.0 * f[2] + f[3]) / (12.0 * (double)h);
}

static void rel_check(const double *num, const float *ana, size_t n, const char *what,
                      const char *layer)
{
    double d = 0.0, a = 0.0, b = 0.0;
    for (size_t i = 0; i < n; i++) {
        d += (num[i] - ana[i]) * (num[i] - ana[i]);
        a += num[i] * num[i];
        b += (double)ana[i] * ana[i];
    }
    double rel = sqrt(d) / fmax(fmax(sqrt(a), sqrt(b)), 1e-12);
    ck_assert_msg(rel <= 1e-3, "%s: gradient of %s off by relative %.3g", layer, what, rel);
    ck_assert_msg(sqrt(b) > 1e-6 || sqrt(a) < 1e-6, "%s: gradient of %s vanished", layer, what);
}

void lay_gradcheck(lay *l, size_t batch, float *x, float h)
{
    const size_t ni = batch * l->in_size, no = batch * l->out_size;
    float *y = lay_falloc(no), *r = lay_falloc(no), *dx = lay_falloc(ni);
    for (size_t i = 0; i < no; i++)
        r[i] = lay_urand();
    fd_loss(l, batch, x, r, y);
    lay_bwd(l, batch, 1, x, y, r, dx);
    /* keep the analytic parameter gradients before forward passes run again */
    const size_t np = lay_nparams(l);
    float *grads[8] = {0};
    ck_assert_uint_le(np, 8);
    for (size_t p = 0; p < np; p++) {
        ae_param_view v = lay_param(l, p);
        grads[p] = lay_falloc(v.count);
        memcpy(grads[p], v.grad, v.count * sizeof(float));
    }
    double *num = calloc(ni, sizeof(double));
    ck_assert_ptr_nonnull(num);
    for (size_t i = 0; i < ni; i++)
        num[i] = lay_fd(l, batch, x, r, y, &x[i], h);
    rel_check(num, dx, ni, "the input", l->kind->name);
    free(num);
    for (size_t p = 0; p < np; p++) {
        ae_param_view v = lay_param(l, p);
        double *pn = calloc(v.count, sizeof(double));
        ck_assert_ptr_nonnull(pn);
        for (size_t i = 0; i < v.count; i++)
            pn[i] = lay_fd(l, batch, x, r, y, &v.value[i], h);
        rel_check(pn, grads[p], v.count, v.name, l->kind->name);
        free(pn);
        free(grads[p]);
    }
    free(y);
    free(r);
    free(dx);
}

static void assert_close(const float *a, const float *b, size_t n, float tol, const char *what,
                         const char *layer)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i])),
                      "%s: %s[%zu]: %.7g, expected %.7g", layer, what, i, (double)a[i],
                      (double)b[i]);
}

void lay_batch_equals_single(lay *l, size_t batch, int training, const float *x)
{
    const size_t ni = l->in_size, no = l->out_size, np = lay_nparams(l);
    float *dy = lay_rand_input(batch * no);
    float *y = lay_falloc(batch * no), *dx = lay_falloc(batch * ni);
    float *y1 = lay_falloc(no), *dx1 = lay_falloc(ni);
    float *dw[8] = {0}, *acc[8] = {0};
    ck_assert_uint_le(np, 8);
    lay_fwd(l, batch, training, NULL, x, y);
    if (training)
        lay_bwd(l, batch, training, x, y, dy, dx);
    for (size_t p = 0; p < np && training; p++) {
        ae_param_view w = lay_param(l, p);
        dw[p] = lay_falloc(w.count);
        acc[p] = lay_falloc(w.count);
        memcpy(dw[p], w.grad, w.count * sizeof(float));
    }
    for (size_t i = 0; i < batch; i++) {
        lay_fwd(l, 1, training, NULL, x + i * ni, y1);
        assert_close(y1, y + i * no, no, 1e-5f, "batched y", l->kind->name);
        if (!training)
            continue;
        lay_bwd(l, 1, training, x + i * ni, y1, dy + i * no, dx1);
        assert_close(dx1, dx + i * ni, ni, 1e-5f, "batched dx", l->kind->name);
        for (size_t p = 0; p < np; p++) {
            ae_param_view w = lay_param(l, p);
            for (size_t j = 0; j < w.count; j++)
                acc[p][j] += w.grad[j];
        }
    }
    for (size_t p = 0; p < np && training; p++) {
        assert_close(dw[p], acc[p], lay_param(l, p).count, 1e-3f, "batched parameter gradient",
                     l->kind->name);
        free(dw[p]);
        free(acc[p]);
    }
    free(dy);
    free(y);
    free(dx);
    free(y1);
    free(dx1);
}

void lay_round_trip(const char *type_name, ae_shape in, const void *cfg, size_t size)
{
    ae_encoder *enc = NULL, *back = NULL;
    ae_file *f = NULL;
    void *data = NULL;
    size_t bytes = 0;
    ck_assert_int_eq(ae_encoder_create(&enc, &in, 11), AE_OK);
    ck_assert_msg(ae_encoder_add_layer(enc, type_name, cfg, size) == AE_OK, "%s: %s", type_name,
                  ae_last_error());
    /* parameters away from their initial values, so loading must set them */
    lay_randomize_params(&(lay){.kind = enc->net.layers[0].kind, .state = enc->net.layers[0].state});
    ck_assert_int_eq(ae_encoder_save_memory(enc, &data, &bytes, NULL), AE_OK);
    ck_assert_int_eq(ae_file_open_memory(&f, data, bytes, NULL), AE_OK);
    ck_assert_msg(ae_file_load_encoder(&back, f) == AE_OK, "%s: %s", type_name, ae_last_error());
    ck_assert_uint_eq(ae_encoder_layer_count(back), 1);
    ck_assert_uint_eq(ae_encoder_param_count(back), ae_encoder_param_count(enc));
    const size_t n = 3, ni = ae__shape_size(&in), no = ae_encoder_latent_size(enc);
    ck_assert_uint_eq(ae_encoder_latent_size(back), no);
    float *x = lay_rand_input(n * ni), *z = lay_falloc(n * no), *z2 = lay_falloc(n * no);
    ck_assert_int_eq(ae_encoder_encode(enc, x, n, z), AE_OK);
    ck_assert_int_eq(ae_encoder_encode(back, x, n, z2), AE_OK);
    ck_assert_msg(memcmp(z, z2, n * no * sizeof(float)) == 0, "%s: loaded layer encodes differently",
                  type_name);
    free(x);
    free(z);
    free(z2);
    ae_file_close(f);
    ae_buffer_free(data);
    ae_encoder_destroy(back);
    ae_encoder_destroy(enc);
}
