/* SPDX-License-Identifier: MIT */
/*
 * load_model.c - a model (both networks and the history) and the optimizer
 * bound to it, from an opened model file; ae_model_load().
 */
#include <stdio.h>
#include <string.h>

#include "ae/io.h"
#include "io.h"
#include "nn/nn.h"
#include "optim/optimizer.h"

int ae_file_load_model(ae_model **out, const ae_file *f)
{
    static const char who[] = "ae_file_load_model";
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS(who, "file, out", f, out);
    if (f->kind != AE_FILE_MODEL)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds %s, not a model", who,
                         ae__file_kind_text(f->kind));
    ae_encoder *e = NULL;
    ae_decoder *d = NULL;
    ae_model *m = NULL;
    int rc;
    if ((rc = ae__load_net(f, 0, (void **)&e, sizeof *e, who)) < 0 ||
        (rc = ae__load_net(f, 1, (void **)&d, sizeof *d, who)) < 0 ||
        (rc = ae_model_create(&m, e, d)) < 0)
        goto fail;
    e = NULL;
    d = NULL;
    for (size_t i = 0; i < f->history_len; i++)
        if ((rc = ae__model_history_push(m, ae__rdf64(f->history + 16 * i),
                                         ae__rdf64(f->history + 16 * i + 8))) < 0)
            goto fail;
    if ((rc = ae__scal_attach(m, f)) < 0)
        goto fail;
    *out = m;
    return AE_OK;
fail:
    ae_model_destroy(m);
    ae_encoder_destroy(e);
    ae_decoder_destroy(d);
    return rc;
}

int ae_file_load_optimizer(ae_optimizer **out, const ae_file *f, ae_model *model)
{
    static const char who[] = "ae_file_load_optimizer";
    char a[64], b[64];
    if (f == NULL || model == NULL || out == NULL)
        return AE__NULL_ARG_AS(who, "file, model, out", f, model, out);
    if (!f->has_optimizer)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds no optimizer", who);
    ae__net *nets[2] = {&model->enc->net, &model->dec->net};
    const size_t n0 = ae__net_tensor_count(nets[0]), n = n0 + ae__net_tensor_count(nets[1]);
    ae_param_view *views = ae__calloc(n ? n : 1, sizeof *views);
    ae_optimizer *opt = NULL;
    if (views == NULL)
        return AE_ERR_NOMEM;
    int rc = ae__net_params(nets[0], views);
    if (rc == AE_OK)
        rc = ae__net_params(nets[1], views + n0);
    if (rc < 0)
        goto done;
    /* The model's parameters must be the file's, tensor for tensor. */
    size_t k = 0;
    for (size_t t = 0; t < f->n_tensors; t++) {
        const ae__io_tensor *ft = &f->tensors[t];
        if (ft->role != 0)
            continue;
        if (k >= n || views[k].count != ft->count || !ae__shape_equal(&views[k].shape, &ft->shape)) {
            rc = ae__error(AE_ERR_SHAPE, "%s: the model's parameter %zu is %s, the file's is %s: "
                           "load the optimizer with the model from the same file", who, k,
                           k < n ? ae__shape_str(&views[k].shape, a, sizeof a) : "missing",
                           ae__shape_str(&ft->shape, b, sizeof b));
            goto done;
        }
        k++;
    }
    if (k != n) {
        rc = ae__error(AE_ERR_SHAPE, "%s: the model has %zu parameter tensors, the file %zu", who,
                       n, k);
        goto done;
    }
    if ((rc = ae_optimizer_create(&opt, &f->opt)) < 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", ae_last_error());
        if (rc != AE_ERR_NOMEM)
            rc = ae__error(AE_ERR_FORMAT, "%s: the stored settings were refused: %s", who, detail);
        goto done;
    }
    if (f->opt_bound) {
        if ((rc = ae__optimizer_bind_owner(opt, model->id, views, n)) < 0)
            goto done;
        for (size_t i = 0, r = 0; i < n && f->opt_buffers > 0; i++) {
            const float *value;
            size_t count;
            float *buf[2];
            ae__optimizer_tensor(opt, i, &value, &count, &buf[0], &buf[1]);
            for (uint32_t q = 0; q < f->opt_buffers; q++, r++)
                ae__copy_f32le(buf[q], f->optrecs[r].data, count);
        }
    }
    ae__optimizer_set_steps(opt, f->opt_steps);
    *out = opt;
    opt = NULL;
done:
    ae_optimizer_destroy(opt);
    ae__free(views);
    return rc;
}

int ae_model_load_v(ae_model **out, const char *path, unsigned header_version)
{
    AE__LOAD_SHORTCUT(ae_model, ae_file_load_model, "ae_model_load");
}

