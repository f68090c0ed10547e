/* SPDX-License-Identifier: MIT */
/*
 * params.c - parameter access (ae/params.h): the tensors of an encoder,
 * decoder or model listed layer by layer (each layer's parameters, then its
 * state tensors), copied out and in; freezing; the model summary.
 *
 * A tensor index is resolved by walking the layers; the tensors themselves
 * are described by ae__kind_tensor(), the one description net.c uses too.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ae/params.h"
#include "nn.h"

/* The nets of an object: one (encoder or decoder) or two (a model). */
typedef struct netlist {
    ae__net *nets[2];
    int parts[2];
    size_t n;
} netlist;

static netlist of_model(const ae_model *m)
{
    netlist l = {{&m->enc->net, &m->dec->net}, {AE_PART_ENCODER, AE_PART_DECODER}, 2};
    return l;
}

static netlist of_net(const ae__net *net, int part)
{
    netlist l = {{(ae__net *)(uintptr_t)net, NULL}, {part, 0}, 1}; /* getters only read */
    return l;
}

/* Where tensor index lies: its layer, its index within the layer's
 * parameters or states, its view and its offset among its role. */
typedef struct where {
    ae__layer *layer;
    int part;
    size_t layer_index, t;
    int state;
    ae_param_view view;
    size_t offset;
} where;

static int locate(const netlist *nl, size_t index, where *w, const char *who)
{
    size_t k = 0, offs[2] = {0, 0};
    for (size_t j = 0; j < nl->n; j++)
        for (size_t i = 0; i < nl->nets[j]->n; i++) {
            ae__layer *l = &nl->nets[j]->layers[i];
            for (int state = 0; state < 2; state++) {
                size_t n = state ? l->n_states : l->n_tensors;
                for (size_t t = 0; t < n; t++, k++) {
                    ae_param_view v;
                    int rc = ae__kind_tensor(l->kind, l->state, state, t, &v);
                    if (rc < 0)
                        return rc;
                    if (k == index) {
                        w->layer = l;
                        w->part = nl->parts[j];
                        w->layer_index = i;
                        w->t = t;
                        w->state = state;
                        w->view = v;
                        w->offset = offs[state];
                        return AE_OK;
                    }
                    offs[state] += v.count;
                }
            }
        }
    return ae__error(AE_ERR_NOT_FOUND, "%s: tensor %zu out of range (%zu tensors)", who, index, k);
}

static size_t count_tensors(const netlist *nl)
{
    size_t n = 0;
    for (size_t j = 0; j < nl->n; j++)
        n += ae__net_tensor_count(nl->nets[j]) + ae__net_state_count(nl->nets[j]);
    return n;
}

size_t ae_model_tensor_count(const ae_model *model)
{
    if (model == NULL)
        return 0;
    netlist nl = of_model(model);
    return count_tensors(&nl);
}

size_t ae_encoder_tensor_count(const ae_encoder *enc)
{
    if (enc == NULL)
        return 0;
    netlist nl = of_net(&enc->net, AE_PART_ENCODER);
    return count_tensors(&nl);
}

size_t ae_decoder_tensor_count(const ae_decoder *dec)
{
    if (dec == NULL)
        return 0;
    netlist nl = of_net(&dec->net, AE_PART_DECODER);
    return count_tensors(&nl);
}

static void tensor_name(char *buf, size_t size, const where *w)
{
    const char *part = w->part == AE_PART_ENCODER ? "encoder" : "decoder";
    if (w->view.name != NULL && w->view.name[0] != '\0')
        snprintf(buf, size, "%s.%zu.%s", part, w->layer_index, w->view.name);
    else
        snprintf(buf, size, "%s.%zu.%s%zu", part, w->layer_index, w->state ? "state" : "param",
                 w->t);
}

static int info(const netlist *nl, const void *obj, size_t index, ae_tensor_info *out,
                const char *who)
{
    if (obj == NULL || out == NULL)
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who, obj == NULL ? "object" : "info");
    where w;
    int rc = locate(nl, index, &w, who);
    if (rc < 0)
        return rc;
    ae_tensor_info t;
    memset(&t, 0, sizeof t);
    t.struct_size = sizeof t;
    tensor_name(t.name, sizeof t.name, &w);
    t.layer_kind = w.layer->kind->name;
    t.part = w.part;
    t.layer = w.layer_index;
    t.role = w.state ? AE_TENSOR_STATE : AE_TENSOR_PARAMETER;
    t.trainable = !w.state && !w.layer->frozen;
    t.shape = w.view.shape;
    t.count = w.view.count;
    t.offset = w.offset;
    return ae__fill_struct(out, &t, sizeof t, sizeof t, who);
}

int ae_model_tensor_info(const ae_model *model, size_t index, ae_tensor_info *out)
{
    netlist nl;
    if (model != NULL)
        nl = of_model(model);
    return info(&nl, model, index, out, "ae_model_tensor_info");
}

int ae_encoder_tensor_info(const ae_encoder *enc, size_t index, ae_tensor_info *out)
{
    netlist nl;
    if (enc != NULL)
        nl = of_net(&enc->net, AE_PART_ENCODER);
    return info(&nl, enc, index, out, "ae_encoder_tensor_info");
}

int ae_decoder_tensor_info(const ae_decoder *dec, size_t index, ae_tensor_info *out)
{
    netlist nl;
    if (dec != NULL)
        nl = of_net(&dec->net, AE_PART_DECODER);
    return info(&nl, dec, index, out, "ae_decoder_tensor_info");
}

int ae_model_tensor_find(const ae_model *model, const char *name, size_t *index)
{
    if (model == NULL || name == NULL || index == NULL)
        return ae__error(AE_ERR_INVALID, "ae_model_tensor_find: %s is NULL",
                         model == NULL ? "model" : name == NULL ? "name" : "index");
    netlist nl = of_model(model);
    const size_t n = count_tensors(&nl);
    char buf[AE_TENSOR_NAME_MAX + 1];
    for (size_t k = 0; k < n; k++) {
        where w;
        int rc = locate(&nl, k, &w, "ae_model_tensor_find");
        if (rc < 0)
            return rc;
        tensor_name(buf, sizeof buf, &w);
        if (strcmp(buf, name) == 0) {
            *index = k;
            return AE_OK;
        }
    }
    return ae__error(AE_ERR_NOT_FOUND, "ae_model_tensor_find: no tensor is named '%s'", name);
}

/* The index of the first value of src that is NaN or infinite, or n. */
static size_t first_non_finite(const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(src[i]))
            return i;
    return n;
}

static int copy_tensor(const netlist *nl, const void *obj, size_t index, float *dst,
                       const float *src, size_t count, const char *who)
{
    if (obj == NULL || (dst == NULL && src == NULL))
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who,
                         obj == NULL ? "object" : src == NULL ? "src" : "dst");
    where w;
    int rc = locate(nl, index, &w, who);
    if (rc < 0)
        return rc;
    char name[AE_TENSOR_NAME_MAX + 1];
    tensor_name(name, sizeof name, &w);
    if (count != w.view.count)
        return ae__error(AE_ERR_SHAPE, "%s: tensor %zu (%s) has %zu floats, count is %zu", who,
                         index, name, w.view.count, count);
    if (dst != NULL) {
        memcpy(dst, w.view.value, count * sizeof *dst);
        return AE_OK;
    }
    size_t bad = first_non_finite(src, count);
    if (bad < count)
        return ae__error(AE_ERR_INVALID, "%s: value %zu for tensor %s is %g", who, bad, name,
                         (double)src[bad]);
    memcpy(w.view.value, src, count * sizeof *src);
    return AE_OK;
}

/* NULL buffers are told apart from the object: the getter passes its dst
 * and a NULL src, the setter the reverse; a NULL buffer of either is an
 * error reported as such. */
#define GETTER(fn, T, NL)                                                                 \
    int fn(const T *obj, size_t index, float *dst, size_t count)                          \
    {                                                                                     \
        netlist nl;                                                                       \
        if (obj != NULL)                                                                  \
            nl = NL;                                                                      \
        if (obj != NULL && dst == NULL)                                                   \
            return ae__error(AE_ERR_INVALID, #fn ": dst is NULL");                        \
        return copy_tensor(&nl, obj, index, dst, NULL, count, #fn);                       \
    }
#define SETTER(fn, T, NL)                                                                 \
    int fn(T *obj, size_t index, const float *src, size_t count)                          \
    {                                                                                     \
        netlist nl;                                                                       \
        if (obj != NULL)                                                                  \
            nl = NL;                                                                      \
        if (obj != NULL && src == NULL)                                                   \
            return ae__error(AE_ERR_INVALID, #fn ": src is NULL");                        \
        return copy_tensor(&nl, obj, index, NULL, src, count, #fn);                       \
    }

GETTER(ae_model_tensor_get, ae_model, of_model(obj))
SETTER(ae_model_tensor_set, ae_model, of_model(obj))
GETTER(ae_encoder_tensor_get, ae_encoder, of_net(&obj->net, AE_PART_ENCODER))
SETTER(ae_encoder_tensor_set, ae_encoder, of_net(&obj->net, AE_PART_ENCODER))
GETTER(ae_decoder_tensor_get, ae_decoder, of_net(&obj->net, AE_PART_DECODER))
SETTER(ae_decoder_tensor_set, ae_decoder, of_net(&obj->net, AE_PART_DECODER))

/* Walks every parameter tensor of the model in order: copies it into
 * flat (get) or from flat (set). */
static int params_copy(const ae_model *model, float *out, const float *in, size_t count,
                       const char *who)
{
    if (model == NULL || (out == NULL && in == NULL))
        return ae__error(AE_ERR_INVALID, "%s: %s is NULL", who,
                         model == NULL ? "model" : in == NULL ? "src" : "dst");
    const size_t total = ae_model_param_count(model);
    if (count != total)
        return ae__error(AE_ERR_SHAPE, "%s: the model has %zu parameters, count is %zu", who,
                         total, count);
    if (in != NULL) {
        size_t bad = first_non_finite(in, count);
        if (bad < count)
            return ae__error(AE_ERR_INVALID, "%s: value %zu is %g", who, bad, (double)in[bad]);
    }
    netlist nl = of_model(model);
    size_t off = 0;
    for (size_t j = 0; j < nl.n; j++)
        for (size_t i = 0; i < nl.nets[j]->n; i++) {
            ae__layer *l = &nl.nets[j]->layers[i];
            for (size_t t = 0; t < l->n_tensors; t++) {
                ae_param_view v;
                int rc = ae__kind_tensor(l->kind, l->state, 0, t, &v);
                if (rc < 0)
                    return rc;
                if (out != NULL)
                    memcpy(out + off, v.value, v.count * sizeof *out);
                else
                    memcpy(v.value, in + off, v.count * sizeof *in);
                off += v.count;
            }
        }
    return AE_OK;
}

int ae_model_params_get(const ae_model *model, float *dst, size_t count)
{
    if (model != NULL && dst == NULL)
        return ae__error(AE_ERR_INVALID, "ae_model_params_get: dst is NULL");
    return params_copy(model, dst, NULL, count, "ae_model_params_get");
}

int ae_model_params_set(ae_model *model, const float *src, size_t count)
{
    if (model != NULL && src == NULL)
        return ae__error(AE_ERR_INVALID, "ae_model_params_set: src is NULL");
    return params_copy(model, NULL, src, count, "ae_model_params_set");
}

/* ---- freezing ---------------------------------------------------------- */

static int set_trainable(ae__net *net, size_t layer, int trainable, const char *who)
{
    if (trainable != 0 && trainable != 1)
        return ae__error(AE_ERR_INVALID, "%s: trainable is %d, expected 0 or 1", who, trainable);
    if (layer != AE_ALL_LAYERS && layer >= net->n)
        return ae__error(AE_ERR_NOT_FOUND, "%s: layer %zu out of range (%zu layers)", who, layer,
                         net->n);
    for (size_t i = 0; i < net->n; i++)
        if (layer == AE_ALL_LAYERS || i == layer)
            net->layers[i].frozen = !trainable;
    return AE_OK;
}

int ae_encoder_set_trainable(ae_encoder *enc, size_t layer, int trainable)
{
    if (enc == NULL)
        return ae__error(AE_ERR_INVALID, "ae_encoder_set_trainable: enc is NULL");
    return set_trainable(&enc->net, layer, trainable, "ae_encoder_set_trainable");
}

int ae_decoder_set_trainable(ae_decoder *dec, size_t layer, int trainable)
{
    if (dec == NULL)
        return ae__error(AE_ERR_INVALID, "ae_decoder_set_trainable: dec is NULL");
    return set_trainable(&dec->net, layer, trainable, "ae_decoder_set_trainable");
}

static size_t layer_floats(ae__layer *l, int state)
{
    size_t total = 0, n = state ? l->n_states : l->n_tensors;
    for (size_t t = 0; t < n; t++) {
        ae_param_view v;
        if (ae__kind_tensor(l->kind, l->state, state, t, &v) == AE_OK)
            total += v.count;
    }
    return total;
}

size_t ae_model_trainable_count(const ae_model *model)
{
    if (model == NULL)
        return 0;
    netlist nl = of_model(model);
    size_t total = 0;
    for (size_t j = 0; j < nl.n; j++)
        for (size_t i = 0; i < nl.nets[j]->n; i++)
            if (!nl.nets[j]->layers[i].frozen)
                total += layer_floats(&nl.nets[j]->layers[i], 0);
    return total;
}

/* ---- summary ------------------------------------------------------------ */

typedef struct text {
    char *buf;
    size_t size, len;
} text;

__attribute__((format(printf, 2, 3))) static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *at = t->len < t->size ? t->buf + t->len : NULL;
    int n = vsnprintf(at, at ? t->size - t->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
}

int ae_model_summary(const ae_model *model, char *buf, size_t size, size_t *length)
{
    if (model == NULL || (buf == NULL && size > 0))
        return ae__error(AE_ERR_INVALID, "ae_model_summary: %s is NULL",
                         model == NULL ? "model" : "buf");
    text t = {buf, size, 0};
    char shape[64];
    netlist nl = of_model(model);
    size_t total = 0, frozen = 0, states = 0;
    put(&t, "%-14s %-18s %-18s %12s\n", "Layer", "Kind", "Output shape", "Parameters");
    for (size_t j = 0; j < nl.n; j++) {
        const ae__net *net = nl.nets[j];
        for (size_t i = 0; i < net->n; i++) {
            ae__layer *l = &net->layers[i];
            char name[32];
            snprintf(name, sizeof name, "%s.%zu", j == 0 ? "encoder" : "decoder", i);
            size_t p = layer_floats(l, 0), s = layer_floats(l, 1);
            put(&t, "%-14s %-18s %-18s %12zu%s\n", name, l->kind->name,
                ae__shape_str(&l->out, shape, sizeof shape), p,
                l->frozen && p > 0 ? "  frozen" : "");
            total += p;
            states += s;
            if (l->frozen)
                frozen += p;
        }
    }
    char lat[64], out[64];
    put(&t, "Input %s, latent %s, output %s\n",
        ae__shape_str(&model->enc->net.input, shape, sizeof shape),
        ae__shape_str(&model->enc->net.output, lat, sizeof lat),
        ae__shape_str(&model->dec->net.output, out, sizeof out));
    put(&t, "Parameters: %zu (trainable %zu, frozen %zu); state values: %zu\n", total,
        total - frozen, frozen, states);
    if (length != NULL)
        *length = t.len;
    if (size > 0 && t.len >= size)
        return ae__error(AE_ERR_LIMIT, "ae_model_summary: the summary has %zu bytes, the buffer %zu",
                         t.len + 1, size);
    return AE_OK;
}
