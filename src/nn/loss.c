/* SPDX-License-Identifier: MIT */
/*
 * loss.c - reconstruction losses, reduced as the mean over every element.
 * Sums run in double so a 10,000-image evaluation does not lose digits.
 */
#include <math.h>

#include "nn.h"

/* Keras's epsilon: predictions are clamped to [eps, 1 - eps] for BCE. */
#define AE_BCE_EPS 1e-7f

int ae__loss_valid(int loss) { return loss == AE_LOSS_MSE || loss == AE_LOSS_BCE; }

int ae__loss_known(int loss) { return loss >= AE_LOSS_MSE && loss <= AE_LOSS_SOFTMAX_CE; }

double ae__loss_norm(int loss, size_t rows, size_t width)
{
    return loss == AE_LOSS_SOFTMAX_CE ? (double)rows : (double)rows * (double)width;
}

int ae__loss_check_targets(int loss, const float *target, size_t n, const char *who)
{
    if (loss != AE_LOSS_BCE)
        return AE_OK;
    for (size_t i = 0; i < n; i++)
        if (!(target[i] >= 0.0f && target[i] <= 1.0f))
            return ae__error(AE_ERR_INVALID,
                             "%s: binary cross-entropy needs targets in [0, 1]; value %zu is %g",
                             who, i, (double)target[i]);
    return AE_OK;
}

/* Sum over rows of -sum_k t_k log softmax(p)_k, with the gradient
 * g * (softmax(p) * sum_k t_k - t) when grad is not NULL. */
static double softmax_ce(const float *pred, const float *target, size_t rows, size_t width,
                         float *grad, float g)
{
    double sum = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *p = pred + r * width, *t = target + r * width;
        float max = p[0];
        for (size_t k = 1; k < width; k++)
            max = p[k] > max ? p[k] : max;
        double z = 0.0, tsum = 0.0, dot = 0.0;
        for (size_t k = 0; k < width; k++) {
            z += exp((double)(p[k] - max));
            tsum += (double)t[k];
            dot += (double)t[k] * (double)(p[k] - max);
        }
        const double logz = log(z);
        sum += tsum * logz - dot;
        if (grad != NULL)
            for (size_t k = 0; k < width; k++)
                grad[r * width + k] =
                    g * (float)(exp((double)(p[k] - max) - logz) * tsum - (double)t[k]);
    }
    return sum;
}

double ae__loss_rows(int loss, const float *pred, const float *target, size_t rows, size_t width,
                     float *grad, double scale)
{
    const size_t n = rows * width;
    if (loss == AE_LOSS_SOFTMAX_CE)
        return softmax_ce(pred, target, rows, width, grad, (float)(1.0 / scale)) / scale;
    if (loss == AE_LOSS_MAE) {
        const float g = (float)(1.0 / scale);
        double sum = 0.0;
        for (size_t i = 0; i < n; i++) {
            const float d = pred[i] - target[i];
            sum += fabs((double)d);
            if (grad != NULL)
                grad[i] = d > 0.0f ? g : d < 0.0f ? -g : 0.0f;
        }
        return sum / scale;
    }
    return ae__loss(loss, pred, target, n, grad, scale);
}

/* Sum of squared differences, and grad[i] = g2 * (pred[i] - target[i]) when
 * grad is not NULL. Eight double partial sums added in a fixed order: the
 * loop vectorizes (a training step's hot path) and gives the same bits on
 * every ISA. */
AE__VECTOR_CLONES
static double squared_error(const float *restrict pred, const float *restrict target, size_t n,
                            float *restrict grad, float g2)
{
    double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
    if (grad != NULL) {
        for (; i + 8 <= n; i += 8)
            for (size_t k = 0; k < 8; k++) {
                const float d = pred[i + k] - target[i + k];
                acc[k] += (double)d * (double)d;
                grad[i + k] = g2 * d;
            }
    } else {
        for (; i + 8 <= n; i += 8)
            for (size_t k = 0; k < 8; k++) {
                const float d = pred[i + k] - target[i + k];
                acc[k] += (double)d * (double)d;
            }
    }
    double sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) {
        const float d = pred[i] - target[i];
        sum += (double)d * (double)d;
        if (grad != NULL)
            grad[i] = g2 * d;
    }
    return sum;
}

/* The prediction clamped to [eps, 1 - eps]; NaN gives eps, as fmaxf did
 * (a comparison, not a call: the loops below vectorize). */
static inline float bce_clamp(float p)
{
    p = p > AE_BCE_EPS ? p : AE_BCE_EPS;
    return p < 1.0f - AE_BCE_EPS ? p : 1.0f - AE_BCE_EPS;
}

/* grad[i] = g (p - t) / (p (1 - p)): no logarithm, so it runs apart from
 * the sum, vectorized. */
AE__VECTOR_CLONES
static void bce_grad(const float *restrict pred, const float *restrict target, size_t n,
                     float *restrict grad, float g)
{
    for (size_t i = 0; i < n; i++) {
        const float p = bce_clamp(pred[i]), t = target[i];
        grad[i] = g * (p - t) / (p * (1.0f - p));
    }
}

/* -sum t log p + (1 - t) log(1 - p), the logarithms in double. A target
 * of exactly 0 or 1 (most pixels of an image) needs one logarithm: the
 * other term is a zero times a finite value, which adds nothing, so the
 * sum has the same bits as with both. */
static double bce_sum(const float *pred, const float *target, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float p = bce_clamp(pred[i]), t = target[i];
        if (t == 0.0f)
            sum -= log(1.0 - (double)p);
        else if (t == 1.0f)
            sum -= log((double)p);
        else
            sum -= (double)t * log((double)p) + (1.0 - (double)t) * log(1.0 - (double)p);
    }
    return sum;
}

double ae__recon_sum(int kind, const float *pred, const float *target, size_t n, float *grad,
                     float g)
{
    double sum = 0.0;
    switch (kind) {
    case AE__RECON_SQUARED:
        return squared_error(pred, target, n, grad, 2.0f * g);
    case AE__RECON_ABSOLUTE:
        for (size_t i = 0; i < n; i++) {
            const float d = pred[i] - target[i];
            sum += fabs((double)d);
            if (grad != NULL)
                grad[i] = d > 0.0f ? g : d < 0.0f ? -g : 0.0f;
        }
        return sum;
    default: /* AE__RECON_BCE */
        if (grad != NULL)
            bce_grad(pred, target, n, grad, g);
        return bce_sum(pred, target, n);
    }
}

double ae__loss(int loss, const float *pred, const float *target, size_t n, float *grad,
                double scale)
{
    const int kind = loss == AE_LOSS_BCE ? AE__RECON_BCE : AE__RECON_SQUARED;
    return ae__recon_sum(kind, pred, target, n, grad, (float)(1.0 / scale)) / scale;
}

const char *ae_loss_name(int loss)
{
    switch (loss) {
    case AE_LOSS_MSE: return "mse";
    case AE_LOSS_BCE: return "bce";
    case AE_LOSS_MAE: return "mae";
    case AE_LOSS_SOFTMAX_CE: return "softmax_ce";
    case AE_LOSS_CUSTOM: return "custom";
    default: return "unknown";
    }
}

int ae_loss_compute(double *out_loss, int loss, const float *x, const float *xr, size_t count,
                    size_t size)
{
    size_t n;
    if (out_loss == NULL || x == NULL || xr == NULL)
        return ae__error(AE_ERR_INVALID, "ae_loss_compute: %s is NULL",
                         out_loss == NULL ? "out_loss" : x == NULL ? "x" : "xr");
    if (!ae__loss_known(loss))
        return ae__error(AE_ERR_INVALID, "ae_loss_compute: %s loss %d",
                         loss == AE_LOSS_CUSTOM ? "it cannot compute the custom" : "unknown", loss);
    if (size == 0)
        return ae__error(AE_ERR_INVALID, "ae_loss_compute: count %zu and size %zu must be > 0",
                         count, size);
    int rc = ae__check_count_limit(count, size, sizeof(float), "count", "ae_loss_compute");
    if (rc < 0)
        return rc;
    n = count * size;
    if ((rc = ae__loss_check_targets(loss, x, n, "ae_loss_compute")) < 0)
        return rc;
    *out_loss = ae__loss_rows(loss, xr, x, count, size, NULL, ae__loss_norm(loss, count, size));
    return AE_OK;
}
