/* SPDX-License-Identifier: MIT */
/*
 * load.c - building an encoder or a decoder from an opened, validated model
 * file: each layer created from its type name and config, then its tensors
 * and extra state overwritten from the file; and their path shortcuts.
 * Only inference code: a program that loads an encoder and encodes links
 * this, the reader and the network, not the model, optimizer or analysis
 * loaders (load_model.c, load_analysis.c).
 */
#include <stdio.h>
#include <string.h>

#include "ae/io.h"
#include "io.h"
#include "nn/nn.h"

static const char *net_name(int which) { return which ? "decoder" : "encoder"; }

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
        int rc = ae__kind_tensor(nl->kind, nl->state, state, index, &v);
        if (rc != AE_OK)
            return refused(rc, who, which, i, l->type_name, "describing a tensor");
        if (v.count != ft->count || !ae__shape_equal(&v.shape, &ft->shape))
            return ae__error(AE_ERR_FORMAT, "%s: %s layer %zu ('%s'): %s %zu has %zu values %s, "
                             "the file %llu values %s", who, net_name(which), i, l->type_name,
                             state ? "state tensor" : "parameter", index, v.count,
                             ae__shape_str(&v.shape, a, sizeof a),
                             (unsigned long long)ft->count, ae__shape_str(&ft->shape, b, sizeof b));
        ae__copy_f32le(v.value, ft->data, v.count);
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
        unsigned have = ae__kind_version(k);
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
            if (!ae__kind_has_extra(nl->kind))
                return ae__error(AE_ERR_FORMAT, "%s: %s layer %zu ('%s') has %zu bytes of extra "
                                 "state in the file, but its kind keeps none", who,
                                 net_name(which), i, l->type_name, l->extra_size);
            if ((rc = ae__kind_extra_load(nl->kind, nl->state, l->extra, l->extra_size)) < 0)
                return refused(rc, who, which, i,
                               l->type_name, "its extra state was refused");
        }
    }
    memcpy(net->rng.s, n->rng, sizeof net->rng.s);
    return AE_OK;
}

const char *ae__file_kind_text(int kind)
{
    switch (kind) {
    case AE_FILE_MODEL: return "a model";
    case AE_FILE_ENCODER: return "an encoder alone";
    case AE_FILE_DECODER: return "a decoder alone";
    default: return "no network";
    }
}

/* Loads net `which` (0 encoder, 1 decoder) into a new handle of `size`
 * bytes whose first member is the net (struct ae_encoder, ae_decoder). */
int ae__load_net(const ae_file *f, int which, void **out, size_t size, const char *who)
{
    if (!f->nets[which].present)
        return ae__error(AE_ERR_NOT_FOUND, "%s: the file holds %s, no %s", who,
                         ae__file_kind_text(f->kind), net_name(which));
    ae__net *net = ae__calloc(1, size);
    if (net == NULL)
        return AE_ERR_NOMEM;
    int rc = build_net(f, which, net, who);
    if (rc < 0) {
        ae__net_fini(net);
        ae__free(net);
        return rc;
    }
    *out = net;
    return AE_OK;
}

int ae_file_load_encoder(ae_encoder **out, const ae_file *f)
{
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS("ae_file_load_encoder", "file, out", f, out);
    return ae__load_net(f, 0, (void **)out, sizeof **out, "ae_file_load_encoder");
}

int ae_file_load_decoder(ae_decoder **out, const ae_file *f)
{
    if (f == NULL || out == NULL)
        return AE__NULL_ARG_AS("ae_file_load_decoder", "file, out", f, out);
    return ae__load_net(f, 1, (void **)out, sizeof **out, "ae_file_load_decoder");
}

int ae_encoder_load_v(ae_encoder **out, const char *path, unsigned header_version)
{
    AE__LOAD_SHORTCUT(ae_encoder, ae_file_load_encoder, "ae_encoder_load");
}

int ae_decoder_load_v(ae_decoder **out, const char *path, unsigned header_version)
{
    AE__LOAD_SHORTCUT(ae_decoder, ae_file_load_decoder, "ae_decoder_load");
}

