/* SPDX-License-Identifier: MIT */
/*
 * export.c - writes a chain of nets (an encoder, a decoder or both) as an
 * ONNX ModelProto: the graph's input and outputs, one group of nodes per
 * layer (kinds.c), metadata_props.
 */
#include <stdio.h>
#include <string.h>

#include "ae/anomaly.h"
#include "ae/pca.h"
#include "data/scaler.h"
#include "io/io.h"
#include "onnx.h"

/* ---- node and tensor helpers used by kinds.c ------------------------------ */

void ae__onnx_node_begin(ae__onnx_out *o, const char *op, const char *name, const char *const *in,
                         size_t n_in, const char *out, const char *doc)
{
    ae__pbw_begin(&o->w, ONNX_GRAPH_NODE);
    for (size_t i = 0; i < n_in; i++)
        ae__pbw_string(&o->w, ONNX_NODE_INPUT, in[i]);
    ae__pbw_string(&o->w, ONNX_NODE_OUTPUT, out);
    ae__pbw_string(&o->w, ONNX_NODE_NAME, name);
    ae__pbw_string(&o->w, ONNX_NODE_OP_TYPE, op);
    if (doc != NULL)
        ae__pbw_string(&o->w, ONNX_NODE_DOC_STRING, doc);
}

void ae__onnx_node_end(ae__onnx_out *o) { ae__pbw_end(&o->w); }

static void attr_begin(ae__onnx_out *o, const char *name, int type)
{
    ae__pbw_begin(&o->w, ONNX_NODE_ATTRIBUTE);
    ae__pbw_string(&o->w, ONNX_ATTR_NAME, name);
    ae__pbw_varint(&o->w, ONNX_ATTR_TYPE, (uint64_t)type);
}

void ae__onnx_attr_int(ae__onnx_out *o, const char *name, int64_t v)
{
    attr_begin(o, name, ONNX_AT_INT);
    ae__pbw_int64(&o->w, ONNX_ATTR_I, v);
    ae__pbw_end(&o->w);
}

void ae__onnx_attr_float(ae__onnx_out *o, const char *name, float v)
{
    attr_begin(o, name, ONNX_AT_FLOAT);
    ae__pbw_float(&o->w, ONNX_ATTR_F, v);
    ae__pbw_end(&o->w);
}

void ae__onnx_attr_string(ae__onnx_out *o, const char *name, const char *v)
{
    attr_begin(o, name, ONNX_AT_STRING);
    ae__pbw_string(&o->w, ONNX_ATTR_S, v);
    ae__pbw_end(&o->w);
}

void ae__onnx_attr_ints(ae__onnx_out *o, const char *name, const int64_t *v, size_t n)
{
    attr_begin(o, name, ONNX_AT_INTS);
    for (size_t i = 0; i < n; i++) /* proto2 repeated int64: not packed */
        ae__pbw_int64(&o->w, ONNX_ATTR_INTS, v[i]);
    ae__pbw_end(&o->w);
}

static void tensor_head(ae__onnx_out *o, const char *name, const int64_t *dims, size_t rank,
                        int dtype)
{
    ae__pbw_begin(&o->w, ONNX_GRAPH_INITIALIZER);
    for (size_t i = 0; i < rank; i++)
        ae__pbw_int64(&o->w, ONNX_TENSOR_DIMS, dims[i]);
    ae__pbw_varint(&o->w, ONNX_TENSOR_DATA_TYPE, (uint64_t)dtype);
    ae__pbw_string(&o->w, ONNX_TENSOR_NAME, name);
}

void ae__onnx_init_floats(ae__onnx_out *o, const char *name, const int64_t *dims, size_t rank,
                          const float *f)
{
    size_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    tensor_head(o, name, dims, rank, ONNX_FLOAT);
    ae__pbw_floats(&o->w, ONNX_TENSOR_RAW_DATA, f, n);
    ae__pbw_end(&o->w);
}

void ae__onnx_init_int64(ae__onnx_out *o, const char *name, const int64_t *dims, size_t rank,
                         const int64_t *v)
{
    size_t n = 1;
    unsigned char raw[8 * 8];
    for (size_t i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    for (size_t i = 0; i < n && i < 8; i++)
        for (int k = 0; k < 8; k++)
            raw[8 * i + (size_t)k] = (unsigned char)((uint64_t)v[i] >> (8 * k));
    tensor_head(o, name, dims, rank, ONNX_INT64);
    ae__pbw_bytes(&o->w, ONNX_TENSOR_RAW_DATA, raw, 8 * (n < 8 ? n : 8));
    ae__pbw_end(&o->w);
}

/* ---- the graph ------------------------------------------------------------ */

static void value_info(ae__onnx_out *o, uint32_t field, const char *name, const ae_shape *s,
                       uint32_t batch)
{
    ae__pbw_begin(&o->w, field);
    ae__pbw_string(&o->w, ONNX_VALUE_NAME, name);
    ae__pbw_begin(&o->w, ONNX_VALUE_TYPE);
    ae__pbw_begin(&o->w, ONNX_TYPE_TENSOR);
    ae__pbw_varint(&o->w, ONNX_TTYPE_ELEM_TYPE, ONNX_FLOAT);
    ae__pbw_begin(&o->w, ONNX_TTYPE_SHAPE);
    ae__pbw_begin(&o->w, ONNX_SHAPE_DIM);
    if (batch == 0)
        ae__pbw_string(&o->w, ONNX_DIM_PARAM, "N");
    else
        ae__pbw_varint(&o->w, ONNX_DIM_VALUE, batch);
    ae__pbw_end(&o->w);
    for (uint32_t i = 0; i < s->rank; i++) {
        ae__pbw_begin(&o->w, ONNX_SHAPE_DIM);
        ae__pbw_varint(&o->w, ONNX_DIM_VALUE, s->dims[i]);
        ae__pbw_end(&o->w);
    }
    ae__pbw_end(&o->w);
    ae__pbw_end(&o->w);
    ae__pbw_end(&o->w);
    ae__pbw_end(&o->w);
}

static void meta(ae__onnx_out *o, const char *key, const char *value)
{
    ae__pbw_begin(&o->w, ONNX_MODEL_METADATA_PROPS);
    ae__pbw_string(&o->w, ONNX_ENTRY_KEY, key);
    ae__pbw_string(&o->w, ONNX_ENTRY_VALUE, value);
    ae__pbw_end(&o->w);
}

static void meta_num(ae__onnx_out *o, const char *key, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.17g", v);
    meta(o, key, buf);
}

/* The scaler's settings: kind, features, and shift and scale as
 * comma-separated floats printed with %.9g (9 significant digits give every
 * float back exactly through strtof). */
static int meta_scaler(ae__onnx_out *o, const ae_scaler *sc)
{
    char *buf = ae__alloc(sc->n * AE__ONNX_SCALER_CHARS + 1);
    if (buf == NULL)
        return AE_ERR_NOMEM;
    meta(o, "libae.scaler.kind", ae_scaler_kind_name(sc->kind));
    meta_num(o, "libae.scaler.features", (double)sc->n);
    for (int k = 0; k < 2; k++) {
        const float *v = k ? sc->scale : sc->shift;
        size_t len = 0;
        for (size_t i = 0; i < sc->n; i++)
            len += (size_t)snprintf(buf + len, AE__ONNX_SCALER_CHARS + 1, "%s%.9g", i ? "," : "", (double)v[i]);
        meta(o, k ? "libae.scaler.scale" : "libae.scaler.shift", buf);
    }
    ae__free(buf);
    return AE_OK;
}

/* The custom kinds the chain holds, refused before anything is written. */
static int check_kinds(const ae__net *const *nets, size_t n_nets, const char *const *prefix,
                       const char *who)
{
    for (size_t k = 0; k < n_nets; k++) {
        if (nets[k]->n == 0)
            return ae__error(AE_ERR_INVALID, "%s: the %s has no layers", who, prefix[k]);
        for (size_t i = 0; i < nets[k]->n; i++)
            if (ae__onnx_exporter(nets[k]->layers[i].kind) == NULL)
                return ae__error(AE_ERR_UNSUPPORTED,
                                 "%s: layer %zu of the %s is of kind '%s', which has no ONNX export "
                                 "(a custom kind needs the onnx_node slot of its vtable)",
                                 who, i, prefix[k], nets[k]->layers[i].kind->name);
    }
    return AE_OK;
}

/* The importer refuses NaN and infinity, as the model-file reader does:
 * never write them (the model-file writer's rule, ae__first_nonfinite()). */
static int check_finite(const ae__net *const *nets, size_t n_nets, const char *const *prefix,
                        const char *who)
{
    for (size_t k = 0; k < n_nets; k++)
        for (size_t i = 0; i < nets[k]->n; i++) {
            const ae__layer *l = &nets[k]->layers[i];
            for (size_t t = 0; t < l->n_tensors + l->n_states; t++) {
                ae_param_view v;
                int st = t >= l->n_tensors;
                size_t j = st ? t - l->n_tensors : t;
                int rc = ae__kind_tensor(l->kind, l->state, st, j, &v);
                if (rc < 0)
                    return rc;
                size_t bad = v.value != NULL ? ae__first_nonfinite(v.value, v.count) : v.count;
                if (bad < v.count)
                    return ae__error(AE_ERR_NUMERIC, "%s: %s layer %zu: %s %zu value %zu is %s; an"
                                     " ONNX file of libae cannot hold it (did training diverge?)",
                                     who, prefix[k], i, st ? "state tensor" : "parameter", j,
                                     bad, v.value[bad] != v.value[bad] ? "NaN" : "infinite");
            }
        }
    return AE_OK;
}

int ae__onnx_export(const ae__net *const *nets, size_t n_nets, const char *const *prefix,
                    const ae_scaler *scaler, const ae_onnx_export_options *opts, unsigned char **data,
                    size_t *size, const char *who)
{
    ae_onnx_export_options o = AE_ONNX_EXPORT_OPTIONS_INIT;
    int rc;
    if (opts != NULL &&
        (rc = ae__take_struct(&o, opts, AE__LAYOUT_END(ae_onnx_export_options, pca), sizeof o, who)) < 0)
        return rc;
    if ((rc = check_kinds(nets, n_nets, prefix, who)) < 0 ||
        (rc = check_finite(nets, n_nets, prefix, who)) < 0)
        return rc;
    if (o.pca != NULL && ae_pca_n_components(o.pca) == 0)
        return ae__error(AE_ERR_STATE, "%s: the PCA is not fitted", who);

    ae__onnx_out out;
    memset(&out, 0, sizeof out);
    ae__pbw_init(&out.w, AE_ONNX_MAX_SIZE);
    ae__pbw_varint(&out.w, ONNX_MODEL_IR_VERSION, AE__ONNX_IR);
    ae__pbw_string(&out.w, ONNX_MODEL_PRODUCER_NAME, "libae");
    ae__pbw_string(&out.w, ONNX_MODEL_PRODUCER_VERSION, ae_version_string());
    ae__pbw_begin(&out.w, ONNX_MODEL_OPSET_IMPORT);
    ae__pbw_string(&out.w, ONNX_OPSET_DOMAIN, "");
    ae__pbw_varint(&out.w, ONNX_OPSET_VERSION, AE_ONNX_OPSET);
    ae__pbw_end(&out.w);

    const int is_decoder = n_nets == 1 && strcmp(prefix[0], "decoder") == 0;
    const char *in_name = is_decoder ? "z" : "x";
    const char *out_name = n_nets == 1 && !is_decoder ? "z" : "x_hat";

    ae__pbw_begin(&out.w, ONNX_MODEL_GRAPH);
    ae__pbw_string(&out.w, ONNX_GRAPH_NAME, n_nets == 2 ? "autoencoder" : prefix[0]);
    char cur[64], next[64];
    snprintf(cur, sizeof cur, "%s", in_name);
    rc = AE_OK;
    for (size_t k = 0; k < n_nets && rc == AE_OK; k++) {
        out.prefix = prefix[k];
        for (size_t i = 0; i < nets[k]->n && rc == AE_OK; i++) {
            const ae__layer *l = &nets[k]->layers[i];
            const int last = i + 1 == nets[k]->n;
            if (last && k + 1 == n_nets)
                snprintf(next, sizeof next, "%s", out_name);
            else if (last && n_nets == 2)
                snprintf(next, sizeof next, "z");
            else
                snprintf(next, sizeof next, "%s.%zu.y", prefix[k], i);
            out.index = i;
            snprintf(out.name, sizeof out.name, "%s.%zu", prefix[k], i);
            rc = ae__onnx_exporter(l->kind)(&out, l, cur, next);
            snprintf(cur, sizeof cur, "%s", next);
        }
    }
    value_info(&out, ONNX_GRAPH_INPUT, in_name, &nets[0]->input, o.batch);
    value_info(&out, ONNX_GRAPH_OUTPUT, out_name, &nets[n_nets - 1]->output, o.batch);
    if (n_nets == 2)
        value_info(&out, ONNX_GRAPH_OUTPUT, "z", &nets[0]->output, o.batch);
    ae__pbw_end(&out.w);

    meta(&out, "libae.version", ae_version_string());
    meta(&out, "libae.kind", n_nets == 2 ? "model" : prefix[0]);
    if (n_nets == 2)
        meta(&out, "libae.latent", "z");
    if (o.detector != NULL) {
        ae_detector_options d = AE_DETECTOR_OPTIONS_INIT;
        double t;
        if (rc == AE_OK)
            rc = ae_detector_get_options(o.detector, &d);
        if (rc == AE_OK) {
            meta(&out, "libae.detector.score", ae_score_name(d.score));
            meta(&out, "libae.detector.rule", ae_threshold_rule_name(d.rule));
            meta_num(&out, "libae.detector.k", d.k);
            meta_num(&out, "libae.detector.quantile", d.quantile);
            if (ae_detector_threshold(o.detector, &t) == AE_OK)
                meta_num(&out, "libae.detector.threshold", t);
        }
    }
    if (o.pca != NULL) {
        meta_num(&out, "libae.pca.n_components", (double)ae_pca_n_components(o.pca));
        meta_num(&out, "libae.pca.n_features", (double)ae_pca_n_features(o.pca));
        meta(&out, "libae.pca.solver", ae_pca_solver_used(o.pca) == AE_PCA_EXACT ? "exact" : "randomized");
    }
    if (scaler != NULL && rc == AE_OK)
        rc = meta_scaler(&out, scaler);
    for (size_t i = 0; i < out.n_domains; i++) {
        ae__pbw_begin(&out.w, ONNX_MODEL_OPSET_IMPORT);
        ae__pbw_string(&out.w, ONNX_OPSET_DOMAIN, out.domains[i]);
        ae__pbw_varint(&out.w, ONNX_OPSET_VERSION, 1);
        ae__pbw_end(&out.w);
        ae__free(out.domains[i]);
    }
    if (rc == AE_OK && out.w.failed)
        rc = out.w.failed == AE_ERR_LIMIT
                 ? ae__error(AE_ERR_LIMIT, "%s: the ONNX file would pass %u bytes", who, AE_ONNX_MAX_SIZE)
                 : ae__error(AE_ERR_NOMEM, "%s: out of memory", who);
    if (rc < 0) {
        ae__pbw_fini(&out.w);
        return rc;
    }
    *data = out.w.buf;
    *size = out.w.len;
    return AE_OK;
}
