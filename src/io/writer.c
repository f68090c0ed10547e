/* SPDX-License-Identifier: MIT */
/*
 * writer.c - saving models, encoders, decoders, PCAs and detectors in the
 * model file format (docs/format.md).
 *
 * A save first gathers everything it will write (the tensor views, the
 * layers' extra state, the optimizer's buffers, validated options), then
 * runs each section's emitter into a measuring sink for its size and CRC,
 * and finally writes the header and the sections into the real sink. The
 * saved objects are only read.
 */
#include <math.h>
#include <string.h>

#include "ae/io.h"
#include "io.h"
#include "nn/nn.h"
#include "optim/optimizer.h"

typedef struct job job;

typedef struct tensor_ref {
    uint32_t net, layer, role, index;
    ae_param_view view;
} tensor_ref;

typedef struct extra_ref {
    uint32_t net, layer;
    unsigned char *bytes;
    size_t size;
} extra_ref;

typedef struct section_out {
    uint32_t type, flags;
    int (*emit)(ae__sink *s, const job *j);
    uint64_t size;
    uint32_t crc; /* of the payload */
} section_out;

struct job {
    const char *who;
    int kind;
    ae__net *nets[2];          /* NULL when absent */
    const ae_model *model;     /* for the history (model saves) */
    ae_save_options o;         /* zero-extended copy */
    ae_train_options train;    /* zero-extended copy, when o.training */
    size_t n_tensors;
    tensor_ref *tensors;
    size_t n_extras;
    extra_ref *extras;
    /* optimizer */
    size_t opt_n;              /* bound tensors (0 when not bound) */
    uint32_t opt_buffers;
    int opt_bound;
    /* PCA */
    uint32_t pca_d, pca_k, pca_solver;
    double pca_total;
    float *pca_mean, *pca_comp;
    double *pca_var;
    /* detector */
    ae_detector_options det;
    double det_threshold;
    int det_fitted;
    uint32_t minor;            /* format minor: the lowest that holds the file */
    /* sections */
    section_out sec[16];
    size_t n_sec;
};

static void job_free(job *j)
{
    ae__free(j->tensors);
    for (size_t i = 0; i < j->n_extras; i++)
        ae__free(j->extras[i].bytes);
    ae__free(j->extras);
    ae__free(j->pca_mean);
    ae__free(j->pca_comp);
    ae__free(j->pca_var);
}

/* param_get()/state_get() take a non-const state; saving only reads it. */
static ae__net *unconst(const ae__net *net) { return (ae__net *)(uintptr_t)net; }

/* ---- gathering ------------------------------------------------------------------ */

static int check_view(const job *j, const ae_param_view *v, uint32_t net, size_t layer,
                      const char *role, size_t index)
{
    char where[96];
    snprintf(where, sizeof where, "%s layer %zu: %s %zu", net ? "decoder" : "encoder", layer, role,
             index);
    return ae__tensor_view_check(v, j->who, where);
}

/* The reader refuses a file holding NaN or infinity (the rule of
 * ae__f32_bits_finite()): refuse to write one, before any byte is written
 * (a save to a path keeps the file there), naming the tensor and index. */
static int check_finite(const job *j, const float *x, size_t count, uint32_t net, size_t layer,
                        const char *role, size_t index, const char *name)
{
    size_t bad = ae__first_nonfinite(x, count);
    if (bad == count)
        return AE_OK;
    return ae__error(AE_ERR_NUMERIC, "%s: %s layer %zu: %s %zu ('%s') value %zu is %s; a model "
                     "file cannot hold it (did training diverge?)", j->who,
                     net ? "decoder" : "encoder", layer, role, index, name ? name : "", bad,
                     isnan(x[bad]) ? "NaN" : "infinite");
}

static int gather_net(job *j, uint32_t which)
{
    ae__net *net = j->nets[which];
    if (net->n == 0)
        return ae__error(AE_ERR_STATE, "%s: the %s has no layers", j->who,
                         which ? "decoder" : "encoder");
    if (net->n > AE__LAYERS_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: %zu layers, a file holds at most %u per network",
                         j->who, net->n, AE__LAYERS_MAX);
    for (size_t i = 0; i < net->n; i++) {
        ae__layer *l = &net->layers[i];
        if (l->n_tensors > AE__LAYER_TENSORS_MAX || l->n_states > AE__LAYER_TENSORS_MAX)
            return ae__error(AE_ERR_LIMIT, "%s: layer %zu ('%s') has %zu parameter and %zu state "
                             "tensors, a file holds at most %u each", j->who, i, l->kind->name,
                             l->n_tensors, l->n_states, AE__LAYER_TENSORS_MAX);
        for (size_t t = 0; t < l->n_tensors + l->n_states; t++) {
            tensor_ref *r = &j->tensors[j->n_tensors];
            int state = t >= l->n_tensors;
            size_t index = state ? t - l->n_tensors : t;
            memset(r, 0, sizeof *r);
            r->net = which;
            r->layer = (uint32_t)i;
            r->role = (uint32_t)state;
            r->index = (uint32_t)index;
            int rc = ae__kind_tensor(l->kind, l->state, state, index, &r->view);
            if (rc < 0)
                return rc;
            if (r->view.value == NULL)
                return ae__error(AE_ERR_INVALID, "%s: layer %zu ('%s') gave no values for tensor "
                                 "%zu", j->who, i, l->kind->name, t);
            if ((rc = check_view(j, &r->view, which, i, state ? "state tensor" : "parameter",
                                 index)) < 0 ||
                (rc = check_finite(j, r->view.value, r->view.count, which, i,
                                   state ? "state tensor" : "parameter", index, r->view.name)) < 0)
                return rc;
            j->n_tensors++;
        }
        /* Extra state through the optional slots (registration takes all
         * three or none). */
        size_t size = ae__kind_extra_size(l->kind, l->state);
        if (size == 0)
            continue;
        if (size > AE_LAYER_STATE_MAX)
            return ae__error(AE_ERR_LIMIT, "%s: layer %zu ('%s') has %zu bytes of extra state, at "
                             "most %u", j->who, i, l->kind->name, size, AE_LAYER_STATE_MAX);
        extra_ref *e = &j->extras[j->n_extras];
        e->bytes = ae__calloc(1, size);
        if (e->bytes == NULL)
            return AE_ERR_NOMEM;
        e->net = which;
        e->layer = (uint32_t)i;
        e->size = size;
        j->n_extras++;
        int rc = ae__kind_extra_save(l->kind, l->state, e->bytes, size);
        if (rc < 0)
            return rc;
    }
    return AE_OK;
}

static int gather_optimizer(job *j)
{
    const ae_optimizer *opt = j->o.optimizer;
    if (j->kind != AE_FILE_MODEL)
        return ae__error(AE_ERR_INVALID, "%s: optimizer state is saved with a whole model only",
                         j->who);
    j->opt_buffers = (uint32_t)ae__optimizer_buffers(opt);
    size_t n = 0;
    j->opt_bound = ae__optimizer_bound(opt, &n);
    if (!j->opt_bound)
        return AE_OK;
    /* Bound: to exactly this model's parameter list (what training binds). */
    size_t k = 0;
    for (size_t t = 0; t < j->n_tensors; t++) {
        const tensor_ref *r = &j->tensors[t];
        if (r->role != 0)
            continue;
        const float *value;
        size_t count;
        float *b0, *b1;
        if (k >= n)
            break;
        ae__optimizer_tensor(opt, k, &value, &count, &b0, &b1);
        if (value != r->view.value || count != r->view.count)
            break;
        int rc;
        if ((b0 && (rc = check_finite(j, b0, count, r->net, r->layer, "optimizer buffer 0 of "
                                      "parameter", r->index, r->view.name)) < 0) ||
            (b1 && (rc = check_finite(j, b1, count, r->net, r->layer, "optimizer buffer 1 of "
                                      "parameter", r->index, r->view.name)) < 0))
            return rc;
        k++;
    }
    size_t params = 0;
    for (size_t t = 0; t < j->n_tensors; t++)
        params += j->tensors[t].role == 0;
    if (k != n || n != params)
        return ae__error(AE_ERR_STATE, "%s: the optimizer is bound to another model (%zu tensors, "
                         "this model has %zu parameter tensors)", j->who, n, params);
    j->opt_n = n;
    return AE_OK;
}

static int gather_pca(job *j)
{
    const ae_pca *pca = j->o.pca;
    size_t d = ae_pca_n_features(pca), k = ae_pca_n_components(pca);
    if (d == 0 || k == 0)
        return ae__error(AE_ERR_STATE, "%s: the PCA is not fitted", j->who);
    if (d > (size_t)INT32_MAX || k > d)
        return ae__error(AE_ERR_LIMIT, "%s: PCA of %zu components over %zu features", j->who, k, d);
    size_t kd;
    if (!ae__mul_size(k, d, &kd))
        return ae__error(AE_ERR_LIMIT, "%s: PCA size overflows", j->who);
    j->pca_mean = ae__alloc(d * sizeof(float));
    j->pca_comp = ae__alloc(kd * sizeof(float));
    j->pca_var = ae__alloc(k * sizeof(double));
    if (j->pca_mean == NULL || j->pca_comp == NULL || j->pca_var == NULL)
        return AE_ERR_NOMEM;
    int rc;
    if ((rc = ae_pca_get_mean(pca, j->pca_mean, d)) < 0 ||
        (rc = ae_pca_get_components(pca, j->pca_comp, kd)) < 0 ||
        (rc = ae_pca_get_explained_variance(pca, j->pca_var, NULL, k, &j->pca_total)) < 0)
        return rc;
    j->pca_d = (uint32_t)d;
    j->pca_k = (uint32_t)k;
    int solver = ae_pca_solver_used(pca);
    j->pca_solver = solver >= 0 && solver <= AE_PCA_RANDOMIZED ? (uint32_t)solver : 0;
    return AE_OK;
}

static int gather_detector(job *j)
{
    ae_detector_options o = AE_DETECTOR_OPTIONS_INIT;
    int rc = ae_detector_get_options(j->o.detector, &o);
    if (rc < 0)
        return rc;
    j->det = o;
    j->det_fitted = ae_detector_is_fitted(j->o.detector);
    j->det_threshold = 0.0;
    if (j->det_fitted && (rc = ae_detector_threshold(j->o.detector, &j->det_threshold)) < 0)
        return rc;
    return AE_OK;
}

static int key_valid(const char *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
            return 0;
    return n > 0;
}

static int check_options(job *j, const ae_save_options *o)
{
    const char *who = j->who;
    int rc;
    memset(&j->o, 0, sizeof j->o);
    if (o != NULL) {
        if ((rc = ae__take_struct(&j->o, o, AE__LAYOUT_END(ae_save_options, detector), sizeof j->o,
                                  who)) < 0)
            return rc;
    }
    const ae_save_options *s = &j->o;
    if (s->metadata_count > AE_FILE_METADATA_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: %zu metadata pairs, at most %u", who, s->metadata_count,
                         AE_FILE_METADATA_MAX);
    if (s->metadata_count > 0 && (s->metadata_keys == NULL || s->metadata_values == NULL))
        return ae__error(AE_ERR_INVALID, "%s: metadata_count is %zu but the key or value array is "
                         "NULL", who, s->metadata_count);
    for (size_t i = 0; i < s->metadata_count; i++) {
        const char *k = s->metadata_keys[i], *v = s->metadata_values[i];
        if (k == NULL || v == NULL)
            return ae__error(AE_ERR_INVALID, "%s: metadata pair %zu has a NULL key or value", who, i);
        size_t kl = strlen(k), vl = strlen(v);
        if (kl > AE_FILE_KEY_MAX || vl > AE_FILE_VALUE_MAX)
            return ae__error(AE_ERR_LIMIT, "%s: metadata pair %zu: key of %zu bytes, value of %zu "
                             "(at most %u and %u)", who, i, kl, vl, AE_FILE_KEY_MAX,
                             AE_FILE_VALUE_MAX);
        if (!key_valid(k, kl))
            return ae__error(AE_ERR_INVALID, "%s: metadata key %zu ('%s') must be 1 to %u bytes of "
                             "printable ASCII without space", who, i, k, AE_FILE_KEY_MAX);
        for (size_t q = 0; q < i; q++)
            if (strcmp(s->metadata_keys[q], k) == 0)
                return ae__error(AE_ERR_INVALID, "%s: metadata key '%s' is given twice (pairs %zu "
                                 "and %zu)", who, k, q, i);
    }
    if (s->training != NULL) {
        const ae_train_options *t = s->training;
        if ((rc = ae__check_struct(t, t->struct_size, offsetof(ae_train_options, noise), sizeof *t,
                                   who)) < 0)
            return rc;
        memset(&j->train, 0, sizeof j->train);
        memcpy(&j->train, t, t->struct_size < sizeof *t ? t->struct_size : sizeof *t);
        t = &j->train;
        if (t->batch_size == 0 || !ae__loss_valid(t->loss) || (t->shuffle != 0 && t->shuffle != 1) ||
            t->noise < AE_NOISE_NONE || t->noise > AE_NOISE_SALT_PEPPER ||
            !isfinite(t->noise_amount) || t->noise_amount < 0.0f)
            return ae__error(AE_ERR_INVALID, "%s: training settings to record are invalid (batch "
                             "%u, loss %d, shuffle %d, noise %d, amount %g)", who, t->batch_size,
                             t->loss, t->shuffle, t->noise, (double)t->noise_amount);
    }
    return AE_OK;
}

/* ---- emitters ---------------------------------------------------------------- */

static int put_shape(ae__sink *s, const ae_shape *sh)
{
    unsigned char b[20];
    ae__le32(b, sh->rank);
    for (int i = 0; i < AE_MAX_RANK; i++)
        ae__le32(b + 4 + 4 * i, sh->dims[i]);
    return ae__emit(s, b, sizeof b);
}

static int emit_info(ae__sink *s, const job *j)
{
    unsigned char b[AE__INFO_SIZE];
    memset(b, 0, sizeof b);
    ae__le32(b, ae_version());
    ae__le32(b + 4, (uint32_t)j->kind);
    return ae__emit(s, b, sizeof b);
}

static int emit_user(ae__sink *s, const job *j)
{
    int rc;
    if ((rc = ae__emit_u32(s, (uint32_t)j->o.metadata_count)) < 0 || (rc = ae__emit_u32(s, 0)) < 0)
        return rc;
    for (size_t i = 0; i < j->o.metadata_count; i++) {
        const char *k = j->o.metadata_keys[i], *v = j->o.metadata_values[i];
        size_t kl = strlen(k), vl = strlen(v);
        if ((rc = ae__emit_u32(s, (uint32_t)kl)) < 0 || (rc = ae__emit_u32(s, (uint32_t)vl)) < 0 ||
            (rc = ae__emit(s, k, kl)) < 0 || (rc = ae__emit(s, v, vl)) < 0)
            return rc;
    }
    return AE_OK;
}

static int emit_tran(ae__sink *s, const job *j)
{
    const ae_train_options *t = &j->train;
    unsigned char b[AE__TRAN_SIZE];
    memset(b, 0, sizeof b);
    ae__le32(b, t->epochs);
    ae__le32(b + 4, t->batch_size);
    ae__le64(b + 8, t->seed);
    ae__le32(b + 16, (uint32_t)t->loss);
    ae__le32(b + 20, (uint32_t)t->shuffle);
    ae__le32(b + 24, (uint32_t)t->noise);
    uint32_t amount;
    memcpy(&amount, &t->noise_amount, 4);
    ae__le32(b + 28, amount);
    return ae__emit(s, b, sizeof b);
}

static int emit_hist(ae__sink *s, const job *j)
{
    const ae_model *m = j->model;
    int rc = ae__emit_u64(s, m->history_len);
    if (rc == AE_OK)
        rc = ae__emit_doubles(s, m->history, 2 * m->history_len);
    return rc;
}

static int emit_net(ae__sink *s, const ae__net *net)
{
    int rc;
    if ((rc = put_shape(s, &net->input)) < 0 || (rc = ae__emit_u32(s, (uint32_t)net->n)) < 0)
        return rc;
    for (int i = 0; i < 4; i++)
        if ((rc = ae__emit_u64(s, net->rng.s[i])) < 0)
            return rc;
    for (size_t i = 0; i < net->n; i++) {
        const ae__layer *l = &net->layers[i];
        size_t nl = strlen(l->kind->name);
        if ((rc = ae__emit_u32(s, (uint32_t)nl)) < 0 || (rc = ae__emit(s, l->kind->name, nl)) < 0 ||
            (rc = ae__emit_u32(s, ae__kind_version(l->kind))) < 0 ||
            (rc = put_shape(s, &l->out)) < 0 || (rc = ae__emit_u32(s, (uint32_t)l->n_tensors)) < 0 ||
            (rc = ae__emit_u32(s, (uint32_t)l->n_states)) < 0 ||
            (rc = ae__emit_u32(s, (uint32_t)l->config_size)) < 0 ||
            (rc = ae__emit(s, l->config, l->config_size)) < 0)
            return rc;
    }
    return AE_OK;
}

static int emit_encr(ae__sink *s, const job *j) { return emit_net(s, j->nets[0]); }
static int emit_decr(ae__sink *s, const job *j) { return emit_net(s, j->nets[1]); }

static int emit_xtra(ae__sink *s, const job *j)
{
    int rc;
    if ((rc = ae__emit_u32(s, (uint32_t)j->n_extras)) < 0 || (rc = ae__emit_u32(s, 0)) < 0)
        return rc;
    for (size_t i = 0; i < j->n_extras; i++) {
        const extra_ref *e = &j->extras[i];
        if ((rc = ae__emit_u32(s, e->net)) < 0 || (rc = ae__emit_u32(s, e->layer)) < 0 ||
            (rc = ae__emit_u64(s, e->size)) < 0 || (rc = ae__emit(s, e->bytes, e->size)) < 0)
            return rc;
    }
    return AE_OK;
}

static int emit_tens(ae__sink *s, const job *j)
{
    int rc;
    if ((rc = ae__emit_u32(s, (uint32_t)j->n_tensors)) < 0 || (rc = ae__emit_u32(s, 0)) < 0)
        return rc;
    uint64_t offset = 0;
    for (size_t i = 0; i < j->n_tensors; i++) {
        const tensor_ref *r = &j->tensors[i];
        unsigned char b[AE__TENSOR_RECORD];
        memset(b, 0, sizeof b);
        ae__le32(b, r->net);
        ae__le32(b + 4, r->layer);
        ae__le32(b + 8, r->index);
        ae__le32(b + 16, r->role);
        ae__le32(b + 20, r->view.shape.rank);
        for (int q = 0; q < AE_MAX_RANK; q++)
            ae__le32(b + 24 + 4 * q, r->view.shape.dims[q]);
        ae__le64(b + 40, r->view.count);
        ae__le64(b + 48, offset);
        if (r->view.name != NULL)
            memcpy(b + 56, r->view.name, strlen(r->view.name));
        if ((rc = ae__emit(s, b, sizeof b)) < 0)
            return rc;
        offset = ae__align64(offset + 4 * (uint64_t)r->view.count);
    }
    return AE_OK;
}

static int emit_data(ae__sink *s, const job *j)
{
    for (size_t i = 0; i < j->n_tensors; i++) {
        const ae_param_view *v = &j->tensors[i].view;
        int rc = ae__emit_floats(s, v->value, v->count);
        if (rc == AE_OK && i + 1 < j->n_tensors)
            rc = ae__emit_zeros(s, (size_t)(ae__align64(s->written) - s->written));
        if (rc < 0)
            return rc;
    }
    return AE_OK;
}

static int emit_optm(ae__sink *s, const job *j)
{
    const ae_optimizer *opt = j->o.optimizer;
    const ae_optimizer_options *o = ae__optimizer_options(opt);
    const uint32_t nb = j->opt_buffers;
    const uint64_t n = (uint64_t)j->opt_n * nb;
    unsigned char b[AE__OPTM_HEADER];
    memset(b, 0, sizeof b);
    ae__le32(b, (uint32_t)o->kind);
    uint32_t u;
    memcpy(&u, &o->learning_rate, 4);
    ae__le32(b + 4, u);
    memcpy(&u, &o->momentum, 4);
    ae__le32(b + 8, u);
    ae__le32(b + 12, (uint32_t)o->nesterov);
    memcpy(&u, &o->beta1, 4);
    ae__le32(b + 16, u);
    memcpy(&u, &o->beta2, 4);
    ae__le32(b + 20, u);
    memcpy(&u, &o->epsilon, 4);
    ae__le32(b + 24, u);
    memcpy(&u, &o->weight_decay, 4);
    ae__le32(b + 28, u);
    ae__le64(b + 32, ae_optimizer_steps(opt));
    ae__le32(b + 40, nb);
    ae__le32(b + 44, (uint32_t)n);
    ae__le32(b + 48, (uint32_t)j->opt_bound);
    int rc = ae__emit(s, b, sizeof b);
    if (rc < 0)
        return rc;
    /* The record table, then the buffers. */
    uint64_t offset = ae__align64(AE__OPTM_HEADER + n * AE__OPT_RECORD);
    size_t k = 0;
    for (size_t t = 0; t < j->n_tensors && j->opt_bound; t++) {
        if (j->tensors[t].role != 0)
            continue;
        for (uint32_t q = 0; q < nb; q++) {
            unsigned char r[AE__OPT_RECORD];
            memset(r, 0, sizeof r);
            ae__le32(r, (uint32_t)t);
            ae__le32(r + 4, q);
            ae__le64(r + 8, j->tensors[t].view.count);
            ae__le64(r + 16, offset);
            if ((rc = ae__emit(s, r, sizeof r)) < 0)
                return rc;
            offset = ae__align64(offset + 4 * (uint64_t)j->tensors[t].view.count);
        }
        k++;
    }
    for (size_t i = 0; i < j->opt_n && nb > 0; i++) {
        const float *value;
        size_t count;
        float *buf[2];
        ae__optimizer_tensor(opt, i, &value, &count, &buf[0], &buf[1]);
        for (uint32_t q = 0; q < nb; q++) {
            if ((rc = ae__emit_zeros(s, (size_t)(ae__align64(s->written) - s->written))) < 0 ||
                (rc = buf[q] != NULL ? ae__emit_floats(s, buf[q], count)
                                     : ae__emit_zeros(s, count * sizeof(float))) < 0) /* frozen */
                return rc;
        }
    }
    (void)k;
    return AE_OK;
}

static int emit_pcas(ae__sink *s, const job *j)
{
    unsigned char b[AE__PCAS_HEADER];
    memset(b, 0, sizeof b);
    ae__le32(b, j->pca_d);
    ae__le32(b + 4, j->pca_k);
    ae__le32(b + 8, j->pca_solver);
    uint64_t u;
    memcpy(&u, &j->pca_total, 8);
    ae__le64(b + 16, u);
    int rc;
    if ((rc = ae__emit(s, b, sizeof b)) < 0 || (rc = ae__emit_floats(s, j->pca_mean, j->pca_d)) < 0 ||
        (rc = ae__emit_zeros(s, (size_t)(ae__align64(s->written) - s->written))) < 0 ||
        (rc = ae__emit_floats(s, j->pca_comp, (size_t)j->pca_k * j->pca_d)) < 0 ||
        (rc = ae__emit_zeros(s, (size_t)(ae__align64(s->written) - s->written))) < 0)
        return rc;
    return ae__emit_doubles(s, j->pca_var, j->pca_k);
}

static int emit_knni(ae__sink *s, const job *j) { return ae__knni_emit(s, j->o.index); }

static int emit_detc(ae__sink *s, const job *j)
{
    unsigned char b[AE__DETC_SIZE];
    memset(b, 0, sizeof b);
    ae__le32(b, (uint32_t)j->det.score);
    ae__le32(b + 4, (uint32_t)j->det.rule);
    uint64_t u;
    memcpy(&u, &j->det.k, 8);
    ae__le64(b + 8, u);
    memcpy(&u, &j->det.quantile, 8);
    ae__le64(b + 16, u);
    memcpy(&u, &j->det_threshold, 8);
    ae__le64(b + 24, u);
    ae__le32(b + 32, (uint32_t)j->det_fitted);
    return ae__emit(s, b, sizeof b);
}

static int emit_scal(ae__sink *s, const job *j)
{
    return ae__scal_emit(s, ae_model_get_scaler(j->model));
}

/* ---- assembling ------------------------------------------------------------------- */

static void add_section(job *j, uint32_t type, uint32_t flags,
                        int (*emit)(ae__sink *, const job *))
{
    section_out *s = &j->sec[j->n_sec++];
    memset(s, 0, sizeof *s);
    s->type = type;
    s->flags = flags;
    s->emit = emit;
}

/* Sizes and CRCs every section; returns the file size. */
static int measure(job *j, uint64_t *file_size)
{
    uint64_t total = AE__HEADER_SIZE;
    for (size_t i = 0; i < j->n_sec; i++) {
        ae__sink m;
        ae__sink_measure(&m);
        int rc = j->sec[i].emit(&m, j);
        if (rc < 0)
            return rc;
        j->sec[i].size = m.written;
        j->sec[i].crc = m.crc;
        total += AE__SECTION_HEADER + ae__align64(m.written);
    }
    *file_size = total;
    return AE_OK;
}

static int write_all(job *j, ae__sink *s, uint64_t file_size)
{
    unsigned char h[AE__HEADER_SIZE];
    memset(h, 0, sizeof h);
    memcpy(h, AE__MAGIC, AE__MAGIC_SIZE);
    ae__le16(h + 8, AE_FILE_FORMAT_MAJOR);
    ae__le16(h + 10, (uint16_t)j->minor);
    ae__le32(h + 12, AE__BOM);
    ae__le32(h + 16, AE__HEADER_SIZE);
    ae__le32(h + 28, (uint32_t)j->n_sec);
    ae__le64(h + 32, file_size);
    ae__le32(h + 60, ae__crc32(0, h, 60));
    int rc = ae__emit(s, h, sizeof h);
    for (size_t i = 0; i < j->n_sec && rc == AE_OK; i++) {
        const section_out *sec = &j->sec[i];
        unsigned char sh[AE__SECTION_HEADER];
        memset(sh, 0, sizeof sh);
        ae__le32(sh, sec->type);
        ae__le32(sh + 4, sec->flags);
        ae__le64(sh + 8, sec->size);
        ae__le32(sh + 60, ae__crc32(sec->crc, sh, 60)); /* payload, then header */
        uint64_t start = s->written;
        if ((rc = ae__emit(s, sh, sizeof sh)) < 0 || (rc = sec->emit(s, j)) < 0)
            break;
        if (s->written - start - AE__SECTION_HEADER != sec->size)
            return ae__error(AE_ERR_STATE, "%s: a layer changed while it was saved", j->who);
        rc = ae__emit_zeros(s, (size_t)(ae__align64(sec->size) - sec->size));
    }
    return rc;
}

/* Where a save goes. */
typedef struct dest {
    const char *path;
    void **data;
    size_t *size;
    ae_write_fn write;
    void *user;
} dest;

static int save(int kind, const ae__net *enc, const ae__net *dec, const ae_model *model,
                const ae_save_options *opts, const dest *d, const char *who)
{
    job j;
    memset(&j, 0, sizeof j);
    j.who = who;
    j.kind = kind;
    j.nets[0] = enc ? unconst(enc) : NULL;
    j.nets[1] = dec ? unconst(dec) : NULL;
    j.model = model;
    int rc = check_options(&j, opts);
    if (rc < 0)
        return rc;

    size_t tensors = 0, layers = 0;
    for (int n = 0; n < 2; n++)
        if (j.nets[n] != NULL) {
            tensors += ae__net_tensor_count(j.nets[n]) + ae__net_state_count(j.nets[n]);
            layers += j.nets[n]->n;
        }
    if (tensors > AE__TENSORS_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: %zu tensors, a file holds at most %u", who, tensors,
                         AE__TENSORS_MAX);
    j.tensors = ae__calloc(tensors ? tensors : 1, sizeof *j.tensors);
    j.extras = ae__calloc(layers ? layers : 1, sizeof *j.extras);
    if (j.tensors == NULL || j.extras == NULL) {
        rc = AE_ERR_NOMEM;
        goto done;
    }
    for (uint32_t n = 0; n < 2; n++)
        if (j.nets[n] != NULL && (rc = gather_net(&j, n)) < 0)
            goto done;
    if ((j.o.optimizer && (rc = gather_optimizer(&j)) < 0) ||
        (j.o.pca && (rc = gather_pca(&j)) < 0) || (j.o.detector && (rc = gather_detector(&j)) < 0))
        goto done;

    add_section(&j, AE__SEC_INFO, AE__SECTION_REQUIRED, emit_info);
    if (j.o.metadata_count > 0)
        add_section(&j, AE__SEC_USER, 0, emit_user);
    if (j.o.training != NULL)
        add_section(&j, AE__SEC_TRAN, 0, emit_tran);
    if (kind == AE_FILE_MODEL)
        add_section(&j, AE__SEC_HIST, 0, emit_hist);
    if (j.nets[0] != NULL)
        add_section(&j, AE__SEC_ENCR, AE__SECTION_REQUIRED, emit_encr);
    if (j.nets[1] != NULL)
        add_section(&j, AE__SEC_DECR, AE__SECTION_REQUIRED, emit_decr);
    if (j.n_extras > 0)
        add_section(&j, AE__SEC_XTRA, AE__SECTION_REQUIRED, emit_xtra);
    if (j.nets[0] != NULL || j.nets[1] != NULL) {
        add_section(&j, AE__SEC_TENS, AE__SECTION_REQUIRED, emit_tens);
        add_section(&j, AE__SEC_DATA, AE__SECTION_REQUIRED, emit_data);
    }
    if (j.o.optimizer != NULL)
        add_section(&j, AE__SEC_OPTM, 0, emit_optm);
    if (j.o.pca != NULL)
        add_section(&j, AE__SEC_PCAS, 0, emit_pcas);
    if (j.o.detector != NULL)
        add_section(&j, AE__SEC_DETC, 0, emit_detc);
    if (j.o.index != NULL) { /* format 1.1; may-ignore: a 1.0 reader skips it */
        add_section(&j, AE__SEC_KNNI, 0, emit_knni);
        j.minor = 1;
    }
    if (model != NULL && ae_model_get_scaler(model) != NULL) { /* format 1.1; REQUIRED */
        add_section(&j, AE__SEC_SCAL, AE__SECTION_REQUIRED, emit_scal);
        j.minor = 1;
    }

    uint64_t file_size;
    if ((rc = measure(&j, &file_size)) < 0)
        goto done;
    ae__sink s;
    if (d->path != NULL) {
        ae__atomic a;
        if ((rc = ae__atomic_open(&a, d->path, &s, who)) < 0)
            goto done;
        if ((rc = write_all(&j, &s, file_size)) < 0) {
            ae__atomic_abort(&a);
            goto done;
        }
        rc = ae__atomic_commit(&a, who);
    } else if (d->data != NULL) {
        if (file_size > SIZE_MAX) {
            rc = ae__error(AE_ERR_LIMIT, "%s: %llu bytes do not fit in memory", who,
                           (unsigned long long)file_size);
            goto done;
        }
        unsigned char *buf = ae__alloc((size_t)file_size);
        if (buf == NULL) {
            rc = AE_ERR_NOMEM;
            goto done;
        }
        ae__sink_memory(&s, buf, (size_t)file_size, who);
        if ((rc = write_all(&j, &s, file_size)) < 0) {
            ae__free(buf);
            goto done;
        }
        *d->data = buf;
        *d->size = (size_t)file_size;
    } else {
        ae__sink_callback(&s, d->write, d->user, who);
        rc = write_all(&j, &s, file_size);
    }
done:
    job_free(&j);
    return rc;
}

/* ---- public entry points ------------------------------------------------------------ */

static int to_path(const char *path, dest *d, const char *who)
{
    if (path == NULL)
        return ae__error(AE_ERR_INVALID, "%s: path is NULL", who);
    memset(d, 0, sizeof *d);
    d->path = path;
    return AE_OK;
}

static int to_memory(void **data, size_t *size, dest *d, const char *who)
{
    if (data == NULL || size == NULL)
        return AE__NULL_ARG(who, data, size);
    memset(d, 0, sizeof *d);
    d->data = data;
    d->size = size;
    return AE_OK;
}

static int to_callback(ae_write_fn write, void *user, dest *d, const char *who)
{
    if (write == NULL)
        return ae__error(AE_ERR_INVALID, "%s: write is NULL", who);
    memset(d, 0, sizeof *d);
    d->write = write;
    d->user = user;
    return AE_OK;
}

#define MODEL_SAVE(model, who)                                                                     \
    ((model) == NULL ? ae__error(AE_ERR_INVALID, "%s: model is NULL", who)                         \
                     : save(AE_FILE_MODEL, &(model)->enc->net, &(model)->dec->net, (model), opts, \
                            &d, who))

int ae_model_save(const ae_model *model, const char *path, const ae_save_options *opts)
{
    static const char who[] = "ae_model_save";
    dest d;
    int rc = to_path(path, &d, who);
    return rc < 0 ? rc : MODEL_SAVE(model, who);
}

int ae_model_save_memory(const ae_model *model, void **data, size_t *size,
                         const ae_save_options *opts)
{
    static const char who[] = "ae_model_save_memory";
    dest d;
    int rc = to_memory(data, size, &d, who);
    return rc < 0 ? rc : MODEL_SAVE(model, who);
}

int ae_model_save_callback(const ae_model *model, ae_write_fn write, void *user,
                           const ae_save_options *opts)
{
    static const char who[] = "ae_model_save_callback";
    dest d;
    int rc = to_callback(write, user, &d, who);
    return rc < 0 ? rc : MODEL_SAVE(model, who);
}

#define NET_SAVE(obj, kind, what, who)                                                       \
    ((obj) == NULL ? ae__error(AE_ERR_INVALID, "%s: " what " is NULL", who)                  \
                   : save(kind, (kind) == AE_FILE_ENCODER ? &(obj)->net : NULL,             \
                          (kind) == AE_FILE_DECODER ? &(obj)->net : NULL, NULL, opts, &d, who))

int ae_encoder_save(const ae_encoder *enc, const char *path, const ae_save_options *opts)
{
    static const char who[] = "ae_encoder_save";
    dest d;
    int rc = to_path(path, &d, who);
    return rc < 0 ? rc : NET_SAVE(enc, AE_FILE_ENCODER, "encoder", who);
}

int ae_encoder_save_memory(const ae_encoder *enc, void **data, size_t *size,
                           const ae_save_options *opts)
{
    static const char who[] = "ae_encoder_save_memory";
    dest d;
    int rc = to_memory(data, size, &d, who);
    return rc < 0 ? rc : NET_SAVE(enc, AE_FILE_ENCODER, "encoder", who);
}

int ae_encoder_save_callback(const ae_encoder *enc, ae_write_fn write, void *user,
                             const ae_save_options *opts)
{
    static const char who[] = "ae_encoder_save_callback";
    dest d;
    int rc = to_callback(write, user, &d, who);
    return rc < 0 ? rc : NET_SAVE(enc, AE_FILE_ENCODER, "encoder", who);
}

int ae_decoder_save(const ae_decoder *dec, const char *path, const ae_save_options *opts)
{
    static const char who[] = "ae_decoder_save";
    dest d;
    int rc = to_path(path, &d, who);
    return rc < 0 ? rc : NET_SAVE(dec, AE_FILE_DECODER, "decoder", who);
}

int ae_decoder_save_memory(const ae_decoder *dec, void **data, size_t *size,
                           const ae_save_options *opts)
{
    static const char who[] = "ae_decoder_save_memory";
    dest d;
    int rc = to_memory(data, size, &d, who);
    return rc < 0 ? rc : NET_SAVE(dec, AE_FILE_DECODER, "decoder", who);
}

int ae_decoder_save_callback(const ae_decoder *dec, ae_write_fn write, void *user,
                             const ae_save_options *opts)
{
    static const char who[] = "ae_decoder_save_callback";
    dest d;
    int rc = to_callback(write, user, &d, who);
    return rc < 0 ? rc : NET_SAVE(dec, AE_FILE_DECODER, "decoder", who);
}

void ae_buffer_free(void *data) { ae__free(data); }

int ae_pca_save(const ae_pca *pca, const char *path)
{
    static const char who[] = "ae_pca_save";
    dest d;
    if (pca == NULL)
        return ae__error(AE_ERR_INVALID, "%s: pca is NULL", who);
    int rc = to_path(path, &d, who);
    if (rc < 0)
        return rc;
    ae_save_options o = AE_SAVE_OPTIONS_INIT;
    o.pca = pca;
    return save(AE_FILE_NONE, NULL, NULL, NULL, &o, &d, who);
}

int ae_detector_save(const ae_detector *det, const char *path)
{
    static const char who[] = "ae_detector_save";
    dest d;
    if (det == NULL)
        return ae__error(AE_ERR_INVALID, "%s: detector is NULL", who);
    int rc = to_path(path, &d, who);
    if (rc < 0)
        return rc;
    ae_save_options o = AE_SAVE_OPTIONS_INIT;
    o.detector = det;
    return save(AE_FILE_NONE, NULL, NULL, NULL, &o, &d, who);
}

int ae_index_save(const ae_index *idx, const char *path)
{
    static const char who[] = "ae_index_save";
    dest d;
    if (idx == NULL)
        return ae__error(AE_ERR_INVALID, "%s: index is NULL", who);
    int rc = to_path(path, &d, who);
    if (rc < 0)
        return rc;
    ae_save_options o = AE_SAVE_OPTIONS_INIT;
    o.index = idx;
    return save(AE_FILE_NONE, NULL, NULL, NULL, &o, &d, who);
}
