/* SPDX-License-Identifier: MIT */
/*
 * model.c - an encoder joined to a decoder; inference over the chain,
 * evaluation over a dataset, and the per-epoch history.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "ae/train.h"
#include "data/dataset.h"
#include "data/scaler.h"
#include "nn.h"

int ae_model_create(ae_model **out, ae_encoder *enc, ae_decoder *dec)
{
    char a[64], b[64];
    if (out == NULL || enc == NULL || dec == NULL)
        return AE__NULL_ARG("ae_model_create", out, enc, dec);
    if (enc->net.owned || dec->net.owned)
        return ae__error(AE_ERR_STATE, "ae_model_create: the %s already belongs to a model",
                         enc->net.owned ? "encoder" : "decoder");
    if (enc->net.n == 0 || dec->net.n == 0)
        return ae__error(AE_ERR_STATE, "ae_model_create: the %s has no layers",
                         enc->net.n == 0 ? "encoder" : "decoder");
    if (!ae__shape_equal(&enc->net.output, &dec->net.input))
        return ae__error(AE_ERR_SHAPE, "ae_model_create: encoder latent shape %s, decoder takes %s",
                         ae__shape_str(&enc->net.output, a, sizeof a),
                         ae__shape_str(&dec->net.input, b, sizeof b));
    static atomic_uint_fast64_t next_id = 1;
    ae_model *m = ae__calloc(1, sizeof *m);
    if (m == NULL)
        return AE_ERR_NOMEM;
    m->id = (uint64_t)atomic_fetch_add(&next_id, 1);
    m->enc = enc;
    m->dec = dec;
    enc->net.owned = dec->net.owned = 1;
    *out = m;
    return AE_OK;
}

void ae_model_release(ae_model *model, ae_encoder **enc, ae_decoder **dec)
{
    if (model == NULL)
        return;
    model->enc->net.owned = model->dec->net.owned = 0;
    if (enc != NULL)
        *enc = model->enc;
    else
        ae_encoder_destroy(model->enc);
    if (dec != NULL)
        *dec = model->dec;
    else
        ae_decoder_destroy(model->dec);
    ae_scaler_destroy(model->scaler);
    ae__free(model->history);
    ae__free(model->history_terms);
    ae__free(model);
}

void ae_model_destroy(ae_model *model) { ae_model_release(model, NULL, NULL); }

ae_encoder *ae_model_encoder(ae_model *model) { return model ? model->enc : NULL; }

ae_decoder *ae_model_decoder(ae_model *model) { return model ? model->dec : NULL; }

size_t ae_model_param_count(const ae_model *model)
{
    return model ? ae__net_param_floats(&model->enc->net) + ae__net_param_floats(&model->dec->net)
                 : 0;
}

int ae_model_reconstruct(const ae_model *model, const float *x, size_t count, float *xr)
{
    if (model == NULL || x == NULL || xr == NULL)
        return AE__NULL_ARG("ae_model_reconstruct", model, x, xr);
    int rc = ae__check_count(count, AE__MAX(model->enc->net.in_size, model->dec->net.out_size),
                             sizeof(float), "count", "ae_model_reconstruct");
    if (rc < 0)
        return rc;
    if (model->scaler == NULL)
        return ae__model_forward(model, x, count, xr, "ae_model_reconstruct");
    /* raw in, raw out: scale, run, and scale the reconstruction back (the
     * count check above bounds count * features * sizeof(float)) */
    float *xs = ae__alloc(count * model->scaler->n * sizeof(float));
    if (xs == NULL)
        return AE_ERR_NOMEM;
    ae__scaler_forward(model->scaler, x, count, xs);
    rc = ae__model_forward(model, xs, count, xr, "ae_model_reconstruct");
    if (rc == AE_OK)
        ae__scaler_inverse(model->scaler, xr, count, xr);
    ae__free(xs);
    return rc;
}

int ae__model_forward(const ae_model *model, const float *x, size_t count, float *xr,
                      const char *who)
{
    const ae__net *nets[2] = {&model->enc->net, &model->dec->net};
    return ae__chain_run(nets, 2, x, count, xr, who);
}

int ae_model_evaluate(const ae_model *model, const ae_dataset *ds, int loss, double *out_loss)
{
    enum { CHUNK = AE__CHUNK };
    if (model == NULL || ds == NULL || out_loss == NULL)
        return AE__NULL_ARG("ae_model_evaluate", model, ds, out_loss);
    if (!ae__loss_known(loss))
        return ae__error(AE_ERR_INVALID, "ae_model_evaluate: %s loss %d",
                         loss == AE_LOSS_CUSTOM ? "it cannot evaluate the custom" : "unknown", loss);
    const size_t n = ae_dataset_count(ds), size = ae_dataset_sample_size(ds);
    const size_t in_size = model->enc->net.in_size, out_size = model->dec->net.out_size;
    if (size != in_size || size != out_size)
        return ae__error(AE_ERR_SHAPE,
                         "ae_model_evaluate: samples have %zu values, the model takes %zu and gives %zu",
                         size, in_size, out_size);
    if (n == 0)
        return ae__error(AE_ERR_INVALID, "ae_model_evaluate: the dataset is empty");
    float *buf = ae__alloc(2 * CHUNK * size * sizeof(float));
    if (buf == NULL)
        return AE_ERR_NOMEM;
    float *x = buf, *xr = buf + CHUNK * size;
    double sum = 0.0;
    int rc = AE_OK;
    const ae__net *nets[2] = {&model->enc->net, &model->dec->net};
    for (size_t first = 0; first < n && rc == AE_OK; first += CHUNK) {
        size_t b = n - first < CHUNK ? n - first : CHUNK;
        for (size_t i = 0; i < b; i++)
            memcpy(x + i * size, ae__dataset_row(ds, first + i), size * sizeof(float));
        if (model->scaler != NULL) /* raw data in; the loss is on the scaled values */
            ae__scaler_forward(model->scaler, x, b, x);
        rc = ae__loss_check_targets(loss, x, b * size, "ae_model_evaluate");
        if (rc == AE_OK)
            rc = ae__chain_run(nets, 2, x, b, xr, "ae_model_evaluate");
        if (rc == AE_OK)
            sum += ae__loss_rows(loss, xr, x, b, size, NULL, 1.0);
    }
    ae__free(buf);
    if (rc == AE_OK)
        *out_loss = sum / ae__loss_norm(loss, n, size);
    return rc;
}

int ae__model_history_push(ae_model *m, double train_loss, double val_loss)
{
    if (m->history_len == m->history_cap) {
        size_t cap = m->history_cap ? 2 * m->history_cap : 16;
        double *grown = ae__alloc(cap * 2 * sizeof(double));
        if (grown == NULL)
            return AE_ERR_NOMEM;
        if (m->history_len)
            memcpy(grown, m->history, m->history_len * 2 * sizeof(double));
        ae__free(m->history);
        m->history = grown;
        m->history_cap = cap;
    }
    m->history[2 * m->history_len] = train_loss;
    m->history[2 * m->history_len + 1] = val_loss;
    m->history_len++;
    return AE_OK;
}

int ae__model_history_set_terms(ae_model *m, double terms)
{
    if (m->history_len == 0)
        return AE_OK;
    const size_t at = m->history_len - 1;
    if (at >= m->terms_cap) {
        size_t cap = m->history_cap > at + 1 ? m->history_cap : at + 1;
        double *grown = ae__alloc(cap * sizeof(double));
        if (grown == NULL)
            return AE_ERR_NOMEM;
        if (m->terms_len)
            memcpy(grown, m->history_terms, m->terms_len * sizeof(double));
        ae__free(m->history_terms);
        m->history_terms = grown;
        m->terms_cap = cap;
    }
    for (size_t i = m->terms_len; i < at; i++)
        m->history_terms[i] = NAN; /* epochs loaded from a file */
    m->history_terms[at] = terms;
    m->terms_len = at + 1;
    return AE_OK;
}

int ae_model_history_terms(const ae_model *model, size_t epoch, double *terms)
{
    if (model == NULL || terms == NULL)
        return ae__error(AE_ERR_INVALID, "ae_model_history_terms: %s is NULL",
                         model == NULL ? "model" : "terms");
    if (epoch >= model->history_len)
        return ae__error(AE_ERR_INVALID, "ae_model_history_terms: epoch %zu, history has %zu",
                         epoch, model->history_len);
    *terms = epoch < model->terms_len ? model->history_terms[epoch] : NAN;
    return AE_OK;
}

size_t ae_model_history_length(const ae_model *model) { return model ? model->history_len : 0; }

int ae_model_history_get(const ae_model *model, size_t epoch, double *train_loss, double *val_loss)
{
    if (model == NULL)
        return ae__error(AE_ERR_INVALID, "ae_model_history_get: model is NULL");
    if (epoch >= model->history_len)
        return ae__error(AE_ERR_INVALID, "ae_model_history_get: epoch %zu, history has %zu", epoch,
                         model->history_len);
    if (train_loss != NULL)
        *train_loss = model->history[2 * epoch];
    if (val_loss != NULL)
        *val_loss = model->history[2 * epoch + 1];
    return AE_OK;
}
