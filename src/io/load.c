/* SPDX-License-Identifier: MIT */
/*
 * load.c - building objects from an opened, validated model file: networks
 * (each layer created from its type name and config, then its tensors and
 * extra state overwritten from the file), models with their history, the
 * optimizer bound to a loaded model, PCAs and detectors; and the
 * path shortcuts (ae_model_load() ...).
 */
#include <stdio.h>
#include <string.h>

#include "ae/io.h"
#include "io.h"
#include "nn/nn.h"
#include "optim/optimizer.h"

static const char *net_name(int which) { return which ? "decoder" : "encoder"; }

static void copy_floats(float *dst, const unsigned char *src, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, n * sizeof *dst);
#else
    for (size_t i = 0; i < n; i++)
        dst[i] = ae__rdf32(src + 4 * i);
#endif
}

/* A layer's own error, reported as the file's fault (a config or state it
 * refused) unless it is a resource or lookup failure. */
static int refused(int rc, const char *who, int which, size_t i, const char *kind,
                   const char *what)
{
    char detail[256];
    snprintf(detail, sizeof detail, "%s", ae_last_error());
    if (rc == AE_ERR_NOMEM || rc == AE_ERR_NOT_FOUND || rc == AE_ERR_LIMIT)
        return rc;
    return ae__error(AE_ERR_FORMAT, "%s: %s layer %zu ('%s'): %s: %s", who, net_name(which), i,
                     kind, what, detail);
}

static int fill_tensors(const ae_file *f, int which, size_t i, ae__layer *nl,
                        const ae__io_layer *l, const char *who)
{
    char a[64], b[64];
    for (size_t t = 0; t < l->n_params + l->n_states; t++) {
        const ae__io_tensor *ft = &f->tensors[l->first_tensor + t];
        int state = t >= l->n_params;
        size_t index = state ? t - l->n_params : t;
        ae_param_view v;
        memset(&v, 0, sizeof v);
        v.struct_size = sizeof v;
        int rc = state ? nl->kind->vt.state_get(nl->state, index, &v)
                       : nl->kind->vt.param_get(nl->state, index, &v);
        if (rc != AE_OK)
            return refused(rc, who, which, i, l->type_name, "describing a tensor");
        if (v.count != ft->count || !ae__shape_equal(&v.shape, &ft->shape))
            return ae__error(AE_ERR_FORMAT, "%s: %s layer %zu ('%s'): %s %zu has %zu values %s, "
                             "the file %llu values %s", who, net_name(which), i, l->type_name,
                             state ? "state tensor" : "parameter", index, v.count,
                             ae__shape_str(&v.shape, a, sizeof a),
                             (unsigned long long)ft->count, ae__shape_str(&ft->shape, b, sizeof b));
        copy_floats(v.value, ft->data, v.count);
    }
    return AE_OK;
}

/* Memory a layer may allocate while it is created during a load: room for
 * values, gradients and a copy of every tensor the file stores for it, plus
 * AE_LOAD_LAYER_SLACK for its own bookkeeping. */
#define AE_LOAD_LAYER_SLACK ((size_t)16 << 20)
static size_t layer_budget(const ae_file *f, const ae__io_layer *l)
{
    size_t floats = 0;
    for (size_t t = 0; t < l->n_params + l->n_states; t++)
        floats += (size_t)f->tensors[l->first_tensor + t].count;
    size_t bytes;
    if (!ae__mul_size(floats, 3 * sizeof(float), &bytes) ||
        !ae__add_size(bytes, AE_LOAD_LAYER_SLACK, &bytes))
        return SIZE_MAX;
    return bytes;
}

/* Builds net @p which of the file into @p net (zeroed by the caller; on
 * failure it holds what was built, for ae__net_fini()). */
static int build_net(const ae_file *f, int which, ae__net *net, const char *who)
{
    char a[64], b[64];
    const ae__io_net *n = &f->nets[which];
    int rc = ae__net_init(net, &n->input, 0, who);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n->n_layers; i++) {
        const ae__io_layer *l = &n->layers[i];
        ae__kind *k;
        if (ae__kind_acquire(l->type_name, &k) < 0)
            return ae__error(AE_ERR_NOT_FOUND, "%s: %s layer %zu is of kind '%s', which is not "
                             "registered (register it with ae_layer_register() before loading)",
                             who, net_name(which), i, l->type_name);
        uint32_t have = k->vt.type_version;
        ae__kind_release(k);
        if (l->type_version > have)
            return ae__error(AE_ERR_VERSION, "%s: %s layer %zu ('%s') was written by version %u of "
                             "its kind, this process has version %u", who, net_name(which), i,
                             l->type_name, l->type_version, have);
        /* A layer's create() allocates from its config before its tensors
         * can be compared with the file's: bound what it may take by what
         * the file stores for it, so a damaged config cannot cost GBs. */
        size_t budget = layer_budget(f, l);
        ae__alloc_budget_begin(budget);
        rc = ae__net_add(net, l->type_name, l->config, l->config_size, who);
        if (ae__alloc_budget_end())
            return ae__error(AE_ERR_FORMAT, "%s: %s layer %zu ('%s'): its config asks for more "
                             "than the %zu bytes its %zu stored tensors allow", who,
                             net_name(which), i, l->type_name, budget, l->n_params + l->n_states);
        if (rc < 0)
            return refused(rc, who, which, i, l->type_name, "its config was refused");
        ae__layer *nl = &net->layers[net->n - 1];
        if (!ae__shape_equal(&nl->out, &l->out))
            return ae__error(AE_ERR_FORMAT, "%s: %s layer %zu ('%s') gives %s, the file says %s",
                             who, net_name(which), i, l->type_name,
                             ae__shape_str(&nl->out, a, sizeof a), ae__shape_str(&l->out, b, sizeof b));
        if (nl->n_tensors != l->n_params || nl->n_states != l->n_states)
            return ae__error(AE_ERR_FORMAT, "%s: %s layer %zu ('%s') has %zu parameter and %zu "
                             "state tensors, the file %zu and %zu", who, net_name(which), i,
                             l->type_name, nl->n_tensors, nl->n_states, l->n_params, l->n_states);
        if ((rc = fill_tensors(f, which, i, nl, l, who)) < 0)
            return rc;
        if (l->extra != NULL) {
            const ae_layer_vtable *vt = &nl->kind->vt;
            if (vt->extra_size == NULL || vt->extra_save == NULL || vt->extra_load == NULL)
                return ae__error(AE_ERR_FORMAT, "%s: %s layer %zu ('%s') has %zu bytes of extra "
                                 "state in the file, but its kind keeps none", who,
                                 net_name(which), i, l->type_name, l->extra_size);
            if ((rc = ae__layer_status(vt->extra_load(nl->state, l->extra, l->extra_size))) < 0)
                return refused(rc, who, which, i,
                               l->type_name, "its extra state was refused");
        }
    }
    memcpy(net->rng.s, n->rng, sizeof net->rng.s);
    return AE_OK;
}

static const char *kind_text(int kind)
{
    switch (kind) {
    case AE_FILE_MODEL: return "a model";
    case AE_FILE_ENCODER: return "an encoder alone";
    case AE_FILE_DECODER: return "a decoder alone";
    default: return "no network";
    }
}

static int load_encoder(const ae_file *f, ae_encoder **out, const char *who)
{
    if (!f->nets[0].present)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds %s, no encoder", who,
                         kind_text(f->kind));
    ae_encoder *e = ae__calloc(1, sizeof *e);
    if (e == NULL)
        return AE_ERR_NOMEM;
    int rc = build_net(f, 0, &e->net, who);
    if (rc < 0) {
        ae_encoder_destroy(e);
        return rc;
    }
    *out = e;
    return AE_OK;
}

static int load_decoder(const ae_file *f, ae_decoder **out, const char *who)
{
    if (!f->nets[1].present)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds %s, no decoder", who,
                         kind_text(f->kind));
    ae_decoder *d = ae__calloc(1, sizeof *d);
    if (d == NULL)
        return AE_ERR_NOMEM;
    int rc = build_net(f, 1, &d->net, who);
    if (rc < 0) {
        ae_decoder_destroy(d);
        return rc;
    }
    *out = d;
    return AE_OK;
}

int ae_file_load_encoder(ae_encoder **out, const ae_file *f)
{
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS("ae_file_load_encoder", "file, out", f, out);
    return load_encoder(f, out, "ae_file_load_encoder");
}

int ae_file_load_decoder(ae_decoder **out, const ae_file *f)
{
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS("ae_file_load_decoder", "file, out", f, out);
    return load_decoder(f, out, "ae_file_load_decoder");
}

int ae_file_load_model(ae_model **out, const ae_file *f)
{
    static const char who[] = "ae_file_load_model";
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS(who, "file, out", f, out);
    if (f->kind != AE_FILE_MODEL)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds %s, not a model", who,
                         kind_text(f->kind));
    ae_encoder *e = NULL;
    ae_decoder *d = NULL;
    ae_model *m = NULL;
    int rc;
    if ((rc = load_encoder(f, &e, who)) < 0 || (rc = load_decoder(f, &d, who)) < 0 ||
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
                copy_floats(buf[q], f->optrecs[r].data, count);
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

int ae_file_load_pca(ae_pca **out, const ae_file *f)
{
    static const char who[] = "ae_file_load_pca";
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS(who, "file, out", f, out);
    if (!f->has_pca)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds no PCA", who);
    const size_t d = f->pca_features, k = f->pca_components, kd = k * d; /* < 2^62 */
    float *mean = ae__alloc(d * sizeof *mean), *comp = ae__alloc(kd * sizeof *comp);
    double *var = ae__alloc(k * sizeof *var);
    ae_pca *pca = NULL;
    int rc = AE_ERR_NOMEM;
    if (mean == NULL || comp == NULL || var == NULL)
        goto done;
    copy_floats(mean, f->pca_mean, d);
    copy_floats(comp, f->pca_comp, kd);
    for (size_t i = 0; i < k; i++)
        var[i] = ae__rdf64(f->pca_var + 8 * i);
    ae_pca_options po = AE_PCA_OPTIONS_INIT;
    po.n_components = f->pca_components;
    if ((rc = ae_pca_create(&pca, &po)) < 0)
        goto done;
    if ((rc = ae_pca_set_state(pca, d, k, mean, comp, var, f->pca_total)) < 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", ae_last_error());
        if (rc != AE_ERR_NOMEM)
            rc = ae__error(AE_ERR_FORMAT, "%s: the stored PCA was refused: %s", who, detail);
        goto done;
    }
    *out = pca;
    pca = NULL;
done:
    ae_pca_destroy(pca);
    ae__free(mean);
    ae__free(comp);
    ae__free(var);
    return rc;
}

int ae_file_load_detector(ae_detector **out, const ae_file *f)
{
    static const char who[] = "ae_file_load_detector";
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS(who, "file, out", f, out);
    if (!f->has_detector)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds no detector", who);
    ae_detector *det = NULL;
    int rc = ae_detector_create(&det, &f->det);
    if (rc == AE_OK && f->det_fitted)
        rc = ae_detector_set_threshold(det, f->det_threshold);
    if (rc < 0) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s", ae_last_error());
        ae_detector_destroy(det);
        return rc == AE_ERR_NOMEM ? rc
                                  : ae__error(AE_ERR_FORMAT, "%s: the stored detector was refused: "
                                              "%s", who, detail);
    }
    *out = det;
    return AE_OK;
}

/* ---- path shortcuts ------------------------------------------------------------- */

#define SHORTCUT(type, fn, who)                                          \
    do {                                                                 \
        ae_file *f;                                                      \
        type *obj;                                                       \
        int rc = ae__check_header(header_version, who);                  \
        if (rc < 0)                                                      \
            return rc;                                                   \
        if (out == NULL || path == NULL)                                 \
            return AE__NULL_ARG(who, out, path); \
        if ((rc = ae_file_open_v(&f, path, NULL, header_version)) < 0)   \
            return rc;                                                   \
        rc = fn(&obj, f);                                                \
        ae_file_close(f);                                                \
        if (rc == AE_OK)                                                 \
            *out = obj;                                                  \
        return rc;                                                       \
    } while (0)

int ae_model_load_v(ae_model **out, const char *path, unsigned header_version)
{
    SHORTCUT(ae_model, ae_file_load_model, "ae_model_load");
}

int ae_encoder_load_v(ae_encoder **out, const char *path, unsigned header_version)
{
    SHORTCUT(ae_encoder, ae_file_load_encoder, "ae_encoder_load");
}

int ae_decoder_load_v(ae_decoder **out, const char *path, unsigned header_version)
{
    SHORTCUT(ae_decoder, ae_file_load_decoder, "ae_decoder_load");
}

int ae_pca_load_v(ae_pca **out, const char *path, unsigned header_version)
{
    SHORTCUT(ae_pca, ae_file_load_pca, "ae_pca_load");
}

int ae_detector_load_v(ae_detector **out, const char *path, unsigned header_version)
{
    SHORTCUT(ae_detector, ae_file_load_detector, "ae_detector_load");
}
