/* SPDX-License-Identifier: MIT */
/*
 * kinds.c - the per-kind mapping between libae layers and ONNX nodes:
 * one export function per built-in kind, one import function per ONNX op,
 * and the two tables at the end that name them.
 *
 * A libae layer with a fused activation exports as its node named
 * "<prefix>.<i>" plus an activation node "<prefix>.<i>.act"; a dense layer
 * on a shaped input gets a Flatten node "<prefix>.<i>.flatten" first. The
 * main node's doc_string is "libae:<kind> cfg=<hex config blob>", which
 * import uses (after checking it agrees with the ONNX attributes) to give
 * back the exact config, padding mode and initializer included.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/im2col.h"
#include "onnx.h"

/* ======================================================================= */
/* export                                                                  */
/* ======================================================================= */

static const ae_param_view *find_view(const ae__layer *l, const char *name, int state,
                                      ae_param_view *v)
{
    size_t n = state ? l->n_states : l->n_tensors;
    for (size_t t = 0; t < n; t++)
        if (ae__kind_tensor(l->kind, l->state, state, t, v) == AE_OK && v->name != NULL &&
            strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

/* Writes the layer's tensor `pname` as initializer "<node>.<pname>" with dims
 * (NULL dims: the view's own shape); returns its name in buf, or NULL when
 * the layer has no such tensor. */
static const char *tensor_init(ae__onnx_out *o, const ae__layer *l, const char *pname, int state,
                               const int64_t *dims, size_t rank, char *buf, size_t size)
{
    ae_param_view v;
    int64_t d[AE_MAX_RANK];
    if (find_view(l, pname, state, &v) == NULL)
        return NULL;
    if (dims == NULL) {
        for (uint32_t i = 0; i < v.shape.rank; i++)
            d[i] = v.shape.dims[i];
        dims = d;
        rank = v.shape.rank;
    }
    snprintf(buf, size, "%s.%s", o->name, pname);
    ae__onnx_init_floats(o, buf, dims, rank, v.value);
    return buf;
}

static void hint(char *doc, size_t size, const ae__layer *l)
{
    int k = snprintf(doc, size, "libae:%s cfg=", l->kind->name);
    for (size_t i = 0; i < l->config_size && k >= 0 && (size_t)k + 3 < size; i++)
        k += snprintf(doc + k, size - (size_t)k, "%02x", l->config[i]);
}

static const char *act_op(int act)
{
    switch (act) {
    case AE_ACT_RELU: return "Relu";
    case AE_ACT_LEAKY_RELU: return "LeakyRelu";
    case AE_ACT_SIGMOID: return "Sigmoid";
    case AE_ACT_TANH: return "Tanh";
    default: return "Identity";
    }
}

static void act_node(ae__onnx_out *o, const char *name, int act, float slope, const char *in,
                     const char *out, const char *doc)
{
    ae__onnx_node_begin(o, act_op(act), name, &in, 1, out, doc);
    if (act == AE_ACT_LEAKY_RELU)
        ae__onnx_attr_float(o, "alpha", slope);
    ae__onnx_node_end(o);
}

/* The node of a layer with a fused activation: the main node writes `pre`
 * when there is an activation, else straight to out. */
static const char *pre_value(const ae__onnx_out *o, int act, const char *out, char *buf, size_t size)
{
    if (act == AE_ACT_IDENTITY)
        return out;
    snprintf(buf, size, "%s.pre", o->name);
    return buf;
}

static void fused_act(ae__onnx_out *o, int act, float slope, const char *pre, const char *out)
{
    char name[80];
    if (act == AE_ACT_IDENTITY)
        return;
    snprintf(name, sizeof name, "%s.act", o->name);
    act_node(o, name, act, slope, pre, out, NULL);
}

static int export_dense(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    const unsigned char *c = l->config;
    const int act = (int)ae__get_u32(c + 4);
    const float slope = ae__get_f32(c + 16);
    char flat[80], fname[80], w[96], b[96], pre[80], doc[256];
    const char *x = in;
    if (l->in.rank > 1) {
        snprintf(fname, sizeof fname, "%s.flatten", o->name);
        snprintf(flat, sizeof flat, "%s.flat", o->name);
        ae__onnx_node_begin(o, "Flatten", fname, &in, 1, flat, NULL);
        ae__onnx_attr_int(o, "axis", 1);
        ae__onnx_node_end(o);
        x = flat;
    }
    const char *inputs[3] = {x, tensor_init(o, l, "weight", 0, NULL, 0, w, sizeof w),
                             tensor_init(o, l, "bias", 0, NULL, 0, b, sizeof b)};
    const char *y = pre_value(o, act, out, pre, sizeof pre);
    hint(doc, sizeof doc, l);
    ae__onnx_node_begin(o, "Gemm", o->name, inputs, inputs[2] ? 3 : 2, y, doc);
    ae__onnx_attr_int(o, "transB", 1);
    ae__onnx_node_end(o);
    fused_act(o, act, slope, y, out);
    return AE_OK;
}

static int export_conv(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    const int transpose = strcmp(l->kind->name, AE_LAYER_CONV2D_TRANSPOSE) == 0;
    const char *who = transpose ? "conv2d_transpose" : "conv2d";
    ae__conv_cfg c;
    size_t p0[2], p1[2], len[2], opad[2] = {0, 0};
    int rc = ae__conv_cfg_parse(who, l->config, l->config_size, transpose, &c);
    if (rc < 0)
        return rc;
    const size_t k[2] = {c.kh, c.kw}, s[2] = {c.sh, c.sw}, d[2] = {c.dh, c.dw};
    const size_t pe[2] = {c.pb, c.pr};
    const int64_t op[2] = {c.oph, c.opw};
    p0[0] = c.pt;
    p0[1] = c.pl;
    for (int a = 0; a < 2; a++) {
        const size_t n = l->in.dims[1 + a];
        const char *axis = a ? "width" : "height";
        if (!transpose) {
            p1[a] = pe[a];
            rc = ae__conv_axis(who, axis, n, k[a], s[a], d[a], c.padding, &p0[a], &p1[a], &len[a]);
        } else {
            rc = ae__conv_transpose_axis(who, axis, n, k[a], s[a], d[a], c.padding, &p0[a], pe[a],
                                         op[a], &len[a]);
            const int64_t full = (int64_t)((n - 1) * s[a] + d[a] * (k[a] - 1) + 1);
            if (c.padding == AE_PAD_EXPLICIT) {
                p1[a] = pe[a];
                opad[a] = op[a] < 0 ? 0 : (size_t)op[a];
            } else {
                const int64_t dlt = full - (int64_t)p0[a] - (int64_t)len[a];
                p1[a] = dlt > 0 ? (size_t)dlt : 0;
                opad[a] = dlt < 0 ? (size_t)-dlt : 0;
            }
        }
        if (rc < 0)
            return rc;
    }
    const int64_t ks[2] = {(int64_t)k[0], (int64_t)k[1]}, st[2] = {(int64_t)s[0], (int64_t)s[1]},
                  di[2] = {(int64_t)d[0], (int64_t)d[1]},
                  pads[4] = {(int64_t)p0[0], (int64_t)p0[1], (int64_t)p1[0], (int64_t)p1[1]},
                  ops[2] = {(int64_t)opad[0], (int64_t)opad[1]};
    char w[96], b[96], pre[80], doc[256];
    const char *inputs[3] = {in, tensor_init(o, l, "weight", 0, NULL, 0, w, sizeof w),
                             tensor_init(o, l, "bias", 0, NULL, 0, b, sizeof b)};
    const char *y = pre_value(o, c.act, out, pre, sizeof pre);
    hint(doc, sizeof doc, l);
    ae__onnx_node_begin(o, transpose ? "ConvTranspose" : "Conv", o->name, inputs, inputs[2] ? 3 : 2,
                        y, doc);
    ae__onnx_attr_ints(o, "kernel_shape", ks, 2);
    ae__onnx_attr_ints(o, "strides", st, 2);
    ae__onnx_attr_ints(o, "dilations", di, 2);
    ae__onnx_attr_ints(o, "pads", pads, 4);
    if (transpose)
        ae__onnx_attr_ints(o, "output_padding", ops, 2);
    ae__onnx_node_end(o);
    fused_act(o, c.act, c.slope, y, out);
    return AE_OK;
}

static int export_maxpool(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    uint32_t f[9];
    size_t p0[2], p1[2], len[2];
    for (int i = 0; i < 9; i++)
        f[i] = ae__get_u32(l->config + 4 * i);
    p0[0] = f[5];
    p1[0] = f[6];
    p0[1] = f[7];
    p1[1] = f[8];
    for (int a = 0; a < 2; a++) {
        int rc = ae__conv_axis("maxpool2d", a ? "width" : "height", l->in.dims[1 + a], f[a], f[2 + a], 1,
                               (int)f[4], &p0[a], &p1[a], &len[a]);
        if (rc < 0)
            return rc;
    }
    const int64_t ks[2] = {f[0], f[1]}, st[2] = {f[2], f[3]},
                  pads[4] = {(int64_t)p0[0], (int64_t)p0[1], (int64_t)p1[0], (int64_t)p1[1]};
    char doc[256];
    hint(doc, sizeof doc, l);
    ae__onnx_node_begin(o, "MaxPool", o->name, &in, 1, out, doc);
    ae__onnx_attr_ints(o, "kernel_shape", ks, 2);
    ae__onnx_attr_ints(o, "strides", st, 2);
    ae__onnx_attr_ints(o, "pads", pads, 4);
    ae__onnx_node_end(o);
    return AE_OK;
}

static int export_upsample(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    const float scales[4] = {1.0f, 1.0f, (float)ae__get_u32(l->config), (float)ae__get_u32(l->config + 4)};
    const int64_t dims[1] = {4};
    char sname[96];
    snprintf(sname, sizeof sname, "%s.scales", o->name);
    ae__onnx_init_floats(o, sname, dims, 1, scales);
    const char *inputs[3] = {in, "", sname};
    ae__onnx_node_begin(o, "Resize", o->name, inputs, 3, out, NULL);
    ae__onnx_attr_string(o, "mode", "nearest");
    ae__onnx_attr_string(o, "coordinate_transformation_mode", "asymmetric");
    ae__onnx_attr_string(o, "nearest_mode", "floor");
    ae__onnx_node_end(o);
    return AE_OK;
}

static int export_reshape(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    int64_t shape[1 + AE_MAX_RANK], dims[1] = {1 + (int64_t)l->out.rank};
    char sname[96];
    shape[0] = -1;
    for (uint32_t i = 0; i < l->out.rank; i++)
        shape[1 + i] = l->out.dims[i];
    snprintf(sname, sizeof sname, "%s.shape", o->name);
    ae__onnx_init_int64(o, sname, dims, 1, shape);
    const char *inputs[2] = {in, sname};
    ae__onnx_node_begin(o, "Reshape", o->name, inputs, 2, out, NULL);
    ae__onnx_node_end(o);
    return AE_OK;
}

static int export_flatten(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    (void)l;
    ae__onnx_node_begin(o, "Flatten", o->name, &in, 1, out, NULL);
    ae__onnx_attr_int(o, "axis", 1);
    ae__onnx_node_end(o);
    return AE_OK;
}

static int export_batchnorm(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    char n[4][96], doc[256];
    const char *inputs[5] = {in, tensor_init(o, l, "weight", 0, NULL, 0, n[0], sizeof n[0]),
                             tensor_init(o, l, "bias", 0, NULL, 0, n[1], sizeof n[1]),
                             tensor_init(o, l, "running_mean", 1, NULL, 0, n[2], sizeof n[2]),
                             tensor_init(o, l, "running_var", 1, NULL, 0, n[3], sizeof n[3])};
    for (int i = 1; i < 5; i++)
        if (inputs[i] == NULL)
            return ae__error(AE_ERR_INVALID, "batchnorm: a tensor is missing");
    hint(doc, sizeof doc, l);
    ae__onnx_node_begin(o, "BatchNormalization", o->name, inputs, 5, out, doc);
    ae__onnx_attr_float(o, "epsilon", ae__get_f32(l->config + 4));
    ae__onnx_attr_float(o, "momentum", (float)(1.0 - (double)ae__get_f32(l->config)));
    ae__onnx_node_end(o);
    return AE_OK;
}

static int export_activation(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    char doc[256];
    hint(doc, sizeof doc, l);
    act_node(o, o->name, (int)ae__get_u32(l->config), ae__get_f32(l->config + 4), in, out, doc);
    return AE_OK;
}

static int export_dropout(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    const float rate = ae__get_f32(l->config);
    char rname[96];
    snprintf(rname, sizeof rname, "%s.ratio", o->name);
    ae__onnx_init_floats(o, rname, NULL, 0, &rate);
    const char *inputs[2] = {in, rname};
    ae__onnx_node_begin(o, "Dropout", o->name, inputs, 2, out, NULL);
    ae__onnx_node_end(o);
    return AE_OK;
}

/* A VAE's Gaussian sample: at inference z = mu, the first half of the
 * (flattened) input, so a Slice; the doc_string hint lets import give back
 * the sampling layer (its training behaviour). */
static int export_gaussian_sample(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    const int64_t one[1] = {1}, start[1] = {0}, end[1] = {(int64_t)l->out.dims[0]}, axis[1] = {1};
    char flat[80], fname[80], names[3][96], doc[128];
    const char *x = in;
    if (l->in.rank > 1) {
        snprintf(fname, sizeof fname, "%s.flatten", o->name);
        snprintf(flat, sizeof flat, "%s.flat", o->name);
        ae__onnx_node_begin(o, "Flatten", fname, &in, 1, flat, NULL);
        ae__onnx_attr_int(o, "axis", 1);
        ae__onnx_node_end(o);
        x = flat;
    }
    static const char *const suffix[3] = {"starts", "ends", "axes"};
    const int64_t *values[3] = {start, end, axis};
    for (int i = 0; i < 3; i++) {
        snprintf(names[i], sizeof names[i], "%s.%s", o->name, suffix[i]);
        ae__onnx_init_int64(o, names[i], one, 1, values[i]);
    }
    const char *inputs[4] = {x, names[0], names[1], names[2]};
    hint(doc, sizeof doc, l);
    ae__onnx_node_begin(o, "Slice", o->name, inputs, 4, out, doc);
    ae__onnx_node_end(o);
    return AE_OK;
}

/* A custom kind's node, from its onnx_node hook. */
static int export_custom(ae__onnx_out *o, const ae__layer *l, const char *in, const char *out)
{
    const char *who = l->kind->name;
    ae_layer_onnx_node node;
    int rc = ae__kind_onnx_node(l->kind, l->state, &node);
    if (rc < 0)
        return rc;
    if (node.op_type == NULL || node.op_type[0] == '\0' || strlen(node.op_type) > AE__ONNX_NAME_MAX)
        return ae__error(AE_ERR_INVALID, "%s: onnx_node gave no op_type", who);
    if (node.attr_count > AE__ONNX_ATTRS_MAX || (node.attr_count > 0 && node.attrs == NULL))
        return ae__error(AE_ERR_INVALID, "%s: onnx_node gave %zu attributes (at most %u, attrs set)", who,
                         node.attr_count, AE__ONNX_ATTRS_MAX);
    if (node.params > l->n_tensors)
        return ae__error(AE_ERR_INVALID, "%s: onnx_node asks for %zu parameter tensors, the layer has %zu",
                         who, node.params, l->n_tensors);
    const char *inputs[1 + AE__ONNX_NODE_IN];
    char names[AE__ONNX_NODE_IN][96];
    if (node.params + 1 > AE__ONNX_NODE_IN)
        return ae__error(AE_ERR_INVALID, "%s: onnx_node asks for %zu inputs (at most %u)", who,
                         node.params + 1, AE__ONNX_NODE_IN);
    inputs[0] = in;
    for (size_t t = 0; t < node.params; t++) {
        ae_param_view v;
        int64_t dims[AE_MAX_RANK];
        if ((rc = ae__kind_tensor(l->kind, l->state, 0, t, &v)) < 0)
            return rc;
        if (v.name == NULL || v.shape.rank < 1 || v.shape.rank > AE_MAX_RANK || ae__shape_size(&v.shape) != v.count)
            return ae__error(AE_ERR_INVALID, "%s: parameter %zu has no name or a shape that does not fit it", who, t);
        for (uint32_t d = 0; d < v.shape.rank; d++)
            dims[d] = v.shape.dims[d];
        snprintf(names[t], sizeof names[t], "%s.%s", o->name, v.name);
        ae__onnx_init_floats(o, names[t], dims, v.shape.rank, v.value);
        inputs[1 + t] = names[t];
    }
    for (size_t i = 0; i < node.attr_count; i++) {
        const ae_layer_onnx_attr *a = &node.attrs[i];
        int ok = a->name != NULL && a->name[0] != '\0';
        if (a->type == AE_ONNX_ATTR_STRING)
            ok = ok && a->s != NULL;
        else if (a->type == AE_ONNX_ATTR_INTS)
            ok = ok && a->n_ints <= AE__ONNX_INTS_MAX * 4 && (a->n_ints == 0 || a->ints != NULL);
        else
            ok = ok && (a->type == AE_ONNX_ATTR_FLOAT || a->type == AE_ONNX_ATTR_INT);
        if (!ok)
            return ae__error(AE_ERR_INVALID, "%s: onnx_node attribute %zu is incomplete or of unknown type %d",
                             who, i, a->type);
    }
    const char *domain = node.domain != NULL && node.domain[0] != '\0' ? node.domain : NULL;
    if (domain != NULL) {
        size_t k = 0;
        while (k < o->n_domains && strcmp(o->domains[k], domain) != 0)
            k++;
        if (k == o->n_domains) {
            if (k == AE__ONNX_DOMAINS_MAX)
                return ae__error(AE_ERR_LIMIT, "%s: more than %u custom domains", who, AE__ONNX_DOMAINS_MAX);
            if ((o->domains[k] = ae__strdup(domain)) == NULL)
                return AE_ERR_NOMEM;
            o->n_domains++;
        }
    }
    ae__onnx_node_begin(o, node.op_type, o->name, inputs, 1 + node.params, out, NULL);
    if (domain != NULL)
        ae__pbw_string(&o->w, ONNX_NODE_DOMAIN, domain);
    for (size_t i = 0; i < node.attr_count; i++) {
        const ae_layer_onnx_attr *a = &node.attrs[i];
        switch (a->type) {
        case AE_ONNX_ATTR_FLOAT: ae__onnx_attr_float(o, a->name, a->f); break;
        case AE_ONNX_ATTR_INT: ae__onnx_attr_int(o, a->name, a->i); break;
        case AE_ONNX_ATTR_STRING: ae__onnx_attr_string(o, a->name, a->s); break;
        default: ae__onnx_attr_ints(o, a->name, a->ints, a->n_ints); break;
        }
    }
    ae__onnx_node_end(o);
    return AE_OK;
}

static const struct {
    const char *kind;
    ae__onnx_export_fn fn;
} exporters[] = {
    {AE_LAYER_DENSE, export_dense},
    {AE_LAYER_CONV2D, export_conv},
    {AE_LAYER_CONV2D_TRANSPOSE, export_conv},
    {AE_LAYER_MAXPOOL2D, export_maxpool},
    {AE_LAYER_UPSAMPLE2D, export_upsample},
    {AE_LAYER_RESHAPE, export_reshape},
    {AE_LAYER_FLATTEN, export_flatten},
    {AE_LAYER_BATCHNORM, export_batchnorm},
    {AE_LAYER_ACTIVATION, export_activation},
    {AE_LAYER_DROPOUT, export_dropout},
    {AE_LAYER_GAUSSIAN_SAMPLE, export_gaussian_sample},
};

ae__onnx_export_fn ae__onnx_exporter(const ae__kind *kind)
{
    if (!kind->builtin)
        return ae__kind_has_onnx(kind) ? export_custom : NULL;
    for (size_t i = 0; i < sizeof exporters / sizeof exporters[0]; i++)
        if (strcmp(exporters[i].kind, kind->name) == 0)
            return exporters[i].fn;
    return NULL;
}

/* ======================================================================= */
/* import                                                                  */
/* ======================================================================= */

#define NODE(n) ae__onnx_node_str(n, nb, sizeof nb)

static int unsupported(const ae__onnx_ctx *c, const ae__onnx_node *n, const char *what)
{
    char nb[200];
    return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: %s", c->who, NODE(n), what);
}

/* Input i of the node as a constant float tensor (or int64 with want_int). */
static int const_input(const ae__onnx_ctx *c, const ae__onnx_node *n, size_t i, int optional,
                       int dtype, const ae__onnx_tensor **out)
{
    char nb[200];
    *out = NULL;
    if (i >= n->n_in || n->in[i].n == 0) {
        if (optional)
            return AE_OK;
        return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: input %zu is missing", c->who, NODE(n), i);
    }
    const ae__onnx_tensor *t = ae__onnx_find_tensor(c->m, n->in[i]);
    if (t == NULL)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: input '%.*s' is not an initializer or a Constant",
                         c->who, NODE(n), (int)(n->in[i].n > 64 ? 64 : n->in[i].n),
                         (const char *)n->in[i].p);
    if (t->dtype != dtype)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: input '%.*s' has data type %d, expected %d (%s)",
                         c->who, NODE(n), (int)(t->name.n > 64 ? 64 : t->name.n),
                         (const char *)t->name.p, t->dtype, dtype, dtype == ONNX_FLOAT ? "float32" : "int64");
    *out = t;
    return AE_OK;
}

/* The node has only `max` meaningful outputs (later ones must be unnamed). */
static int check_outputs(const ae__onnx_ctx *c, const ae__onnx_node *n, size_t max)
{
    for (size_t i = max; i < n->n_out; i++)
        if (n->out[i].n > 0)
            return unsupported(c, n, "an extra output is used (only the first is supported)");
    return AE_OK;
}

/* Reads an int attribute with a default. */
static int attr_int(const ae__onnx_ctx *c, const ae__onnx_node *n, const char *name, int64_t def,
                    int64_t *v)
{
    ae__onnx_attr a;
    int r = ae__onnx_attr_get(n, name, &a, c->who);
    *v = r == 1 ? a.i : def;
    return r < 0 ? r : AE_OK;
}

static int attr_float(const ae__onnx_ctx *c, const ae__onnx_node *n, const char *name, float def,
                      float *v)
{
    ae__onnx_attr a;
    int r = ae__onnx_attr_get(n, name, &a, c->who);
    *v = r == 1 ? a.f : def;
    return r < 0 ? r : AE_OK;
}

/* String attribute compared with the accepted values; *idx = index or -1 absent. */
static int attr_string(const ae__onnx_ctx *c, const ae__onnx_node *n, const char *name,
                       const char *const *accepted, size_t count, int *idx)
{
    ae__onnx_attr a;
    char nb[200];
    int r = ae__onnx_attr_get(n, name, &a, c->who);
    *idx = -1;
    if (r <= 0)
        return r;
    for (size_t i = 0; i < count; i++)
        if (ae__pbs_eq(a.s, accepted[i])) {
            *idx = (int)i;
            return AE_OK;
        }
    return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: %s = '%.*s' is not supported", c->who, NODE(n), name,
                     (int)(a.s.n > 40 ? 40 : a.s.n), (const char *)a.s.p);
}

/* Two ints (one per spatial axis), default def. */
static int attr_pair(const ae__onnx_ctx *c, const ae__onnx_node *n, const char *name, int64_t def,
                     int64_t lo, int64_t v[2])
{
    ae__onnx_attr a;
    char nb[200];
    int r = ae__onnx_attr_get(n, name, &a, c->who);
    v[0] = v[1] = def;
    if (r < 0)
        return r;
    if (r == 0)
        return AE_OK;
    if (a.n_ints != 2 || a.ints[0] < lo || a.ints[1] < lo || a.ints[0] > AE_SPATIAL_MAX ||
        a.ints[1] > AE_SPATIAL_MAX)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: %s must be 2 values from %lld to %u", c->who,
                         NODE(n), name, (long long)lo, AE_SPATIAL_MAX);
    v[0] = a.ints[0];
    v[1] = a.ints[1];
    return AE_OK;
}

/* pads [top, left, bottom, right] (ONNX order: begins, then ends). */
static int attr_pads(const ae__onnx_ctx *c, const ae__onnx_node *n, int64_t p[4])
{
    ae__onnx_attr a;
    char nb[200];
    int r = ae__onnx_attr_get(n, "pads", &a, c->who);
    p[0] = p[1] = p[2] = p[3] = 0;
    if (r <= 0)
        return r;
    if (a.n_ints != 4)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: pads must have 4 values", c->who, NODE(n));
    for (int i = 0; i < 4; i++) {
        if (a.ints[i] < 0 || a.ints[i] > AE_SPATIAL_MAX)
            return ae__error(AE_ERR_UNSUPPORTED, "%s: %s: pad %lld outside 0 to %u", c->who, NODE(n),
                             (long long)a.ints[i], AE_SPATIAL_MAX);
        p[i] = a.ints[i];
    }
    return AE_OK;
}

/* auto_pad: NOTSET (0), VALID (1), SAME_UPPER (2); others refused. */
static int attr_auto_pad(const ae__onnx_ctx *c, const ae__onnx_node *n, int allow_same, int *mode)
{
    static const char *const modes[] = {"NOTSET", "VALID", "SAME_UPPER"};
    int idx, rc = attr_string(c, n, "auto_pad", modes, allow_same ? 3 : 2, &idx);
    *mode = idx < 0 ? 0 : idx;
    return rc;
}

static int need_rank3(const ae__onnx_ctx *c, const ae__onnx_node *n)
{
    char buf[64], msg[128];
    if (c->shape.rank == 3)
        return AE_OK;
    snprintf(msg, sizeof msg, "expects an N x C x H x W input, the chain's value is N x %s",
             ae__shape_str(&c->shape, buf, sizeof buf));
    return unsupported(c, n, msg);
}

static void add_tensor(ae__onnx_spec *s, const char *name, const ae__onnx_tensor *t, int transpose)
{
    if (t == NULL)
        return;
    s->tname[s->n_tensors] = name;
    s->tensor[s->n_tensors] = t;
    s->transpose[s->n_tensors++] = transpose;
}

/* The spec's kind and config blob, written by the kind's catalogue row
 * from its options (src/layers/catalog.c). */
static void builtin_spec(ae__onnx_spec *s, const char *kind, const void *opts)
{
    s->kind = kind;
    s->config_size = ae__builtin_find(kind)->config(s->config, opts);
}

/* An activation layer's blob (docs/format.md: u32 activation, f32 slope),
 * written here because the catalogue's adder fixes the slope. */
#define ACTIVATION_CONFIG 8
static void activation_spec(ae__onnx_spec *s, int act, float slope)
{
    s->kind = AE_LAYER_ACTIVATION;
    ae__put_u32(s->config, (uint32_t)act);
    ae__put_f32(s->config + 4, slope);
    s->config_size = ACTIVATION_CONFIG;
}

static void dense_spec(ae__onnx_spec *s, size_t units, int use_bias)
{
    ae_dense_options o = AE_DENSE_OPTIONS_INIT;
    o.units = (uint32_t)units;
    o.use_bias = use_bias;
    builtin_spec(s, AE_LAYER_DENSE, &o);
}

static int import_gemm(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    const ae__onnx_tensor *w, *b;
    int64_t ta, tb;
    float alpha, beta;
    int rc;
    if ((rc = const_input(c, n, 1, 0, ONNX_FLOAT, &w)) < 0 || (rc = const_input(c, n, 2, 1, ONNX_FLOAT, &b)) < 0 ||
        (rc = attr_int(c, n, "transA", 0, &ta)) < 0 || (rc = attr_int(c, n, "transB", 0, &tb)) < 0 ||
        (rc = attr_float(c, n, "alpha", 1.0f, &alpha)) < 0 || (rc = attr_float(c, n, "beta", 1.0f, &beta)) < 0)
        return rc;
    if (ta != 0 || alpha != 1.0f || (b != NULL && beta != 1.0f))
        return unsupported(c, n, "transA, alpha and beta must keep their defaults");
    if (w->rank != 2)
        return unsupported(c, n, "the weight must be a matrix");
    const size_t units = (size_t)(tb ? w->dims[0] : w->dims[1]);
    if (units == 0 || units > UINT32_MAX)
        return unsupported(c, n, "the weight has no units");
    if (b != NULL && b->count != units)
        return ae__error(AE_ERR_SHAPE, "%s: Gemm '%.*s': bias of %zu values for %zu units", c->who,
                         (int)(n->name.n > 64 ? 64 : n->name.n), (const char *)n->name.p, b->count, units);
    dense_spec(s, units, b != NULL);
    add_tensor(s, "weight", w, !tb);
    add_tensor(s, "bias", b, 0);
    return 0;
}

static int import_matmul(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    const ae__onnx_tensor *w, *b = NULL;
    int rc;
    if ((rc = const_input(c, n, 1, 0, ONNX_FLOAT, &w)) < 0)
        return rc;
    if (w->rank != 2 || c->shape.rank != 1)
        return unsupported(c, n, "only N x K times a K x units matrix is supported");
    const size_t units = (size_t)w->dims[1];
    if (units == 0 || units > UINT32_MAX)
        return unsupported(c, n, "the weight has no units");
    const ae__onnx_node *a = c->next;
    int fused = 0;
    if (a != NULL && ae__pbs_eq(a->op, "Add") && a->n_in == 2 && a->domain.n == 0) {
        size_t other = 2;
        if (a->in[0].n == n->out[0].n && memcmp(a->in[0].p, n->out[0].p, n->out[0].n) == 0)
            other = 1;
        else if (a->in[1].n == n->out[0].n && memcmp(a->in[1].p, n->out[0].p, n->out[0].n) == 0)
            other = 0;
        if (other < 2 && (b = ae__onnx_find_tensor(c->m, a->in[other])) != NULL && b->dtype == ONNX_FLOAT &&
            b->count == units)
            fused = 1;
        else
            b = NULL;
    }
    dense_spec(s, units, b != NULL);
    add_tensor(s, "weight", w, 1);
    add_tensor(s, "bias", b, 0);
    if (fused)
        s->node = a; /* messages name the Add; it produces the value */
    return fused;
}

/* The fields conv2d and conv2d_transpose options share; explicit pads
 * only with AE_PAD_EXPLICIT (the other modes compute their own). */
#define CONV_COMMON(o, mode_)                                      \
    do {                                                           \
        (o).filters = (uint32_t)filters;                           \
        (o).kernel_h = (uint32_t)ks[0];                            \
        (o).kernel_w = (uint32_t)ks[1];                            \
        (o).stride_h = (uint32_t)st[0];                            \
        (o).stride_w = (uint32_t)st[1];                            \
        (o).dilation_h = (uint32_t)di[0];                          \
        (o).dilation_w = (uint32_t)di[1];                          \
        (o).padding = (mode_);                                     \
        if ((o).padding == AE_PAD_EXPLICIT) {                      \
            (o).pad_top = (uint32_t)pads[0];                       \
            (o).pad_left = (uint32_t)pads[1];                      \
            (o).pad_bottom = (uint32_t)pads[2];                    \
            (o).pad_right = (uint32_t)pads[3];                     \
        }                                                          \
    } while (0)

static int import_conv(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    const int transpose = ae__pbs_eq(n->op, "ConvTranspose");
    const ae__onnx_tensor *w, *b;
    int64_t group, ks[2], st[2], di[2], pads[4], op[2];
    int mode, rc;
    ae__onnx_attr a;
    if ((rc = need_rank3(c, n)) < 0 || (rc = const_input(c, n, 1, 0, ONNX_FLOAT, &w)) < 0 ||
        (rc = const_input(c, n, 2, 1, ONNX_FLOAT, &b)) < 0 || (rc = attr_int(c, n, "group", 1, &group)) < 0 ||
        (rc = attr_pair(c, n, "strides", 1, 1, st)) < 0 || (rc = attr_pair(c, n, "dilations", 1, 1, di)) < 0 ||
        (rc = attr_pads(c, n, pads)) < 0 || (rc = attr_auto_pad(c, n, !transpose, &mode)) < 0 ||
        (rc = attr_pair(c, n, "output_padding", 0, 0, op)) < 0)
        return rc;
    if (group != 1)
        return unsupported(c, n, "grouped convolutions are not supported");
    if (w->rank != 4 || w->dims[2] < 1 || w->dims[3] < 1 || w->dims[2] > AE_SPATIAL_MAX ||
        w->dims[3] > AE_SPATIAL_MAX || w->dims[0] < 1 || w->dims[1] < 1)
        return unsupported(c, n, "the weight must be a 4-d tensor");
    if ((rc = attr_pair(c, n, "kernel_shape", w->dims[2], 1, ks)) < 0)
        return rc;
    if (ks[0] != w->dims[2] || ks[1] != w->dims[3])
        return unsupported(c, n, "kernel_shape does not match the weight");
    if (transpose && (rc = ae__onnx_attr_get(n, "output_shape", &a, c->who)) != 0)
        return rc < 0 ? rc : unsupported(c, n, "output_shape is not supported (give pads and output_padding)");
    const size_t filters = (size_t)(transpose ? w->dims[1] : w->dims[0]);
    if (filters > INT32_MAX || (b != NULL && b->count != filters))
        return unsupported(c, n, "the bias does not match the filters");
    if (mode != 0 && (pads[0] || pads[1] || pads[2] || pads[3]))
        return unsupported(c, n, "auto_pad with pads");
    if (transpose) {
        ae_conv2d_transpose_options o = AE_CONV2D_TRANSPOSE_OPTIONS_INIT;
        CONV_COMMON(o, AE_PAD_EXPLICIT);
        o.output_padding_h = (int32_t)op[0];
        o.output_padding_w = (int32_t)op[1];
        o.use_bias = b != NULL;
        builtin_spec(s, AE_LAYER_CONV2D_TRANSPOSE, &o);
    } else {
        ae_conv2d_options o = AE_CONV2D_OPTIONS_INIT;
        CONV_COMMON(o, mode == 1 ? AE_PAD_VALID : mode == 2 ? AE_PAD_SAME : AE_PAD_EXPLICIT);
        o.use_bias = b != NULL;
        builtin_spec(s, AE_LAYER_CONV2D, &o);
    }
    add_tensor(s, "weight", w, 0);
    add_tensor(s, "bias", b, 0);
    return 0;
}

static int import_maxpool(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    int64_t ks[2], st[2], di[2], pads[4], ceil, order;
    int mode, rc;
    ae__onnx_attr a;
    if ((rc = need_rank3(c, n)) < 0 || (rc = check_outputs(c, n, 1)) < 0 ||
        (rc = attr_pair(c, n, "strides", 1, 1, st)) < 0 || (rc = attr_pair(c, n, "dilations", 1, 1, di)) < 0 ||
        (rc = attr_pads(c, n, pads)) < 0 || (rc = attr_auto_pad(c, n, 1, &mode)) < 0 ||
        (rc = attr_int(c, n, "ceil_mode", 0, &ceil)) < 0 ||
        (rc = attr_int(c, n, "storage_order", 0, &order)) < 0)
        return rc;
    if ((rc = ae__onnx_attr_get(n, "kernel_shape", &a, c->who)) <= 0)
        return rc < 0 ? rc : unsupported(c, n, "kernel_shape is missing");
    if ((rc = attr_pair(c, n, "kernel_shape", 1, 1, ks)) < 0)
        return rc;
    if (ceil != 0 || di[0] != 1 || di[1] != 1)
        return unsupported(c, n, "ceil_mode and dilations are not supported");
    if (mode != 0 && (pads[0] || pads[1] || pads[2] || pads[3]))
        return unsupported(c, n, "auto_pad with pads");
    ae_pool2d_options o = AE_POOL2D_OPTIONS_INIT;
    o.pool_h = (uint32_t)ks[0];
    o.pool_w = (uint32_t)ks[1];
    o.stride_h = (uint32_t)st[0];
    o.stride_w = (uint32_t)st[1];
    o.padding = mode == 1 ? AE_PAD_VALID : mode == 2 ? AE_PAD_SAME : AE_PAD_EXPLICIT;
    if (mode == 0) {
        o.pad_top = (uint32_t)pads[0];
        o.pad_left = (uint32_t)pads[1];
        o.pad_bottom = (uint32_t)pads[2];
        o.pad_right = (uint32_t)pads[3];
    }
    builtin_spec(s, AE_LAYER_MAXPOOL2D, &o);
    return 0;
}

/* An integer factor >= 1 from a float scale, or 0. */
static uint32_t int_factor(double f)
{
    return f >= 1.0 && f <= AE_SPATIAL_MAX && f == floor(f) ? (uint32_t)f : 0;
}

static int import_resize(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    static const char *const modes[] = {"nearest"};
    static const char *const ctm[] = {"half_pixel", "pytorch_half_pixel", "asymmetric"};
    static const char *const nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor"};
    const ae__onnx_tensor *scales, *sizes;
    int mode, coord, near, rc;
    uint32_t f[2];
    if ((rc = need_rank3(c, n)) < 0 || (rc = attr_string(c, n, "mode", modes, 1, &mode)) < 0 ||
        (rc = attr_string(c, n, "coordinate_transformation_mode", ctm, 3, &coord)) < 0 ||
        (rc = attr_string(c, n, "nearest_mode", nearest, 3, &near)) < 0 ||
        (rc = const_input(c, n, 2, 1, ONNX_FLOAT, &scales)) < 0 ||
        (rc = const_input(c, n, 3, 1, ONNX_INT64, &sizes)) < 0)
        return rc;
    if (mode != 0)
        return unsupported(c, n, "only mode 'nearest' is supported");
    if (coord < 0)
        coord = 0; /* half_pixel */
    if (near < 0)
        near = 0; /* round_prefer_floor */
    /* Integer upsampling picks x[i / s] with asymmetric + floor, and with
     * half-pixel centres + rounding; other pairs pick other pixels. */
    if ((coord == 2) != (near == 2))
        return unsupported(c, n, "this coordinate_transformation_mode / nearest_mode pair is not "
                                 "nearest-neighbour upsampling by an integer factor");
    if (scales != NULL && scales->count == 4) {
        float v[4];
        ae__onnx_tensor_floats(scales, v);
        if (v[0] != 1.0f || v[1] != 1.0f)
            return unsupported(c, n, "scales must keep the batch and channels");
        f[0] = int_factor(v[2]);
        f[1] = int_factor(v[3]);
    } else if (sizes != NULL) {
        int64_t v[4];
        if ((rc = ae__onnx_tensor_int64(sizes, v, 4, c->who)) < 0)
            return rc;
        if (sizes->count != 4 || v[1] != c->shape.dims[0])
            return unsupported(c, n, "sizes must have 4 values and keep the channels");
        f[0] = v[2] > 0 && v[2] % c->shape.dims[1] == 0 ? int_factor((double)(v[2] / c->shape.dims[1])) : 0;
        f[1] = v[3] > 0 && v[3] % c->shape.dims[2] == 0 ? int_factor((double)(v[3] / c->shape.dims[2])) : 0;
    } else {
        return unsupported(c, n, "needs 4 constant scales or sizes");
    }
    if (f[0] == 0 || f[1] == 0)
        return unsupported(c, n, "only integer upsampling factors are supported");
    ae_upsample2d_options o = AE_UPSAMPLE2D_OPTIONS_INIT;
    o.size_h = f[0];
    o.size_w = f[1];
    builtin_spec(s, AE_LAYER_UPSAMPLE2D, &o);
    return 0;
}

static int import_reshape(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    const ae__onnx_tensor *t;
    int64_t v[1 + AE_MAX_RANK], allowzero;
    int rc;
    if ((rc = const_input(c, n, 1, 0, ONNX_INT64, &t)) < 0 || (rc = attr_int(c, n, "allowzero", 0, &allowzero)) < 0)
        return rc;
    if (t->count < 2 || t->count > 1 + AE_MAX_RANK)
        return unsupported(c, n, "the target shape must have 2 to 5 dims (batch first)");
    if ((rc = ae__onnx_tensor_int64(t, v, 1 + AE_MAX_RANK, c->who)) < 0)
        return rc;
    const size_t size = ae__shape_size(&c->shape);
    ae_shape out = {(uint32_t)(t->count - 1), {0, 0, 0, 0}};
    size_t known = 1, infer = 0;
    if (v[0] < -1)
        return unsupported(c, n, "bad batch dim in the target shape");
    for (size_t i = 1; i < t->count; i++) {
        int64_t d = v[i];
        if (d == 0 && !allowzero && i - 1 < c->shape.rank)
            d = c->shape.dims[i - 1];
        if (d == -1 && v[0] != -1 && infer == 0) {
            infer = i;
            continue;
        }
        if (d < 1 || d > UINT32_MAX || !ae__mul_size(known, (size_t)d, &known))
            return unsupported(c, n, "the target shape must keep the batch first and name every other dim");
        out.dims[i - 1] = (uint32_t)d;
    }
    if (infer) {
        if (known == 0 || size % known != 0 || size / known > UINT32_MAX)
            return unsupported(c, n, "the target shape does not fit the input");
        out.dims[infer - 1] = (uint32_t)(size / known);
    }
    builtin_spec(s, AE_LAYER_RESHAPE, &out);
    return 0;
}

static int import_flatten(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    int64_t axis;
    int rc;
    if ((rc = attr_int(c, n, "axis", 1, &axis)) < 0)
        return rc;
    if (axis != 1 && axis != -(int64_t)c->shape.rank)
        return unsupported(c, n, "only axis 1 (keep the batch) is supported");
    /* the Flatten libae writes before a dense layer or a Gaussian sample:
     * those layers flatten by themselves */
    const ae__onnx_node *g = c->next;
    if (g != NULL && (ae__pbs_eq(g->op, "Gemm") || ae__pbs_eq(g->op, "Slice")) &&
        n->name.n == g->name.n + 8 && g->name.n > 0 &&
        memcmp(n->name.p, g->name.p, g->name.n) == 0 && memcmp(n->name.p + g->name.n, ".flatten", 8) == 0)
        return 0; /* kind stays NULL */
    builtin_spec(s, AE_LAYER_FLATTEN, NULL);
    return 0;
}

static int import_batchnorm(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    const ae__onnx_tensor *t[4];
    float eps, momentum;
    int64_t training;
    int rc;
    for (size_t i = 0; i < 4; i++)
        if ((rc = const_input(c, n, 1 + i, 0, ONNX_FLOAT, &t[i])) < 0)
            return rc;
    if ((rc = check_outputs(c, n, 1)) < 0 || (rc = attr_float(c, n, "epsilon", 1e-5f, &eps)) < 0 ||
        (rc = attr_float(c, n, "momentum", 0.9f, &momentum)) < 0 ||
        (rc = attr_int(c, n, "training_mode", 0, &training)) < 0)
        return rc;
    if (training != 0)
        return unsupported(c, n, "training_mode must be 0");
    for (size_t i = 0; i < 4; i++)
        if (t[i]->count != c->shape.dims[0])
            return unsupported(c, n, "its tensors must have one value per channel");
    ae_batchnorm_options o = AE_BATCHNORM_OPTIONS_INIT;
    o.epsilon = eps;
    o.momentum = (float)(1.0 - (double)momentum);
    if (!(o.momentum >= 0.0f && o.momentum <= 1.0f))
        return unsupported(c, n, "momentum outside 0 to 1");
    builtin_spec(s, AE_LAYER_BATCHNORM, &o);
    add_tensor(s, "weight", t[0], 0);
    add_tensor(s, "bias", t[1], 0);
    add_tensor(s, "running_mean", t[2], 0);
    add_tensor(s, "running_var", t[3], 0);
    return 0;
}

static int import_activation(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    int act;
    float slope = AE_LEAKY_RELU_SLOPE;
    int rc;
    if (ae__pbs_eq(n->op, "Relu"))
        act = AE_ACT_RELU;
    else if (ae__pbs_eq(n->op, "Sigmoid"))
        act = AE_ACT_SIGMOID;
    else if (ae__pbs_eq(n->op, "Tanh"))
        act = AE_ACT_TANH;
    else if (ae__pbs_eq(n->op, "LeakyRelu"))
        act = AE_ACT_LEAKY_RELU;
    else if (ae__pbs_eq(n->op, "Identity") && !(n->doc.n > 6 && memcmp(n->doc.p, "libae:", 6) == 0))
        return 0; /* nothing to add */
    else
        act = AE_ACT_IDENTITY;
    if (act == AE_ACT_LEAKY_RELU && (rc = attr_float(c, n, "alpha", 0.01f, &slope)) < 0)
        return rc;
    if (!(slope >= 0.0f && slope <= 1e6f))
        return unsupported(c, n, "alpha must be finite and >= 0");
    activation_spec(s, act, slope);
    return 0;
}

static int import_dropout(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    const ae__onnx_tensor *r, *tm;
    float rate;
    int rc;
    if ((rc = check_outputs(c, n, 1)) < 0 || (rc = attr_float(c, n, "ratio", 0.5f, &rate)) < 0 ||
        (rc = const_input(c, n, 1, 1, ONNX_FLOAT, &r)) < 0)
        return rc;
    if (n->n_in > 2 && n->in[2].n > 0) {
        tm = ae__onnx_find_tensor(c->m, n->in[2]);
        if (tm == NULL || tm->count != 1 || tm->data.n != 1 || tm->data.p[0] != 0)
            return unsupported(c, n, "training_mode must be a constant false");
    }
    if (r != NULL) {
        if (r->count != 1)
            return unsupported(c, n, "ratio must be a scalar");
        ae__onnx_tensor_floats(r, &rate);
    }
    if (!(rate >= 0.0f && rate < 1.0f))
        return unsupported(c, n, "ratio must be in [0, 1)");
    ae_dropout_options o = AE_DROPOUT_OPTIONS_INIT;
    o.rate = rate;
    builtin_spec(s, AE_LAYER_DROPOUT, &o);
    return 0;
}

/* Slice: only libae's own Gaussian sample (the doc_string says so), whose
 * inference output is the first half of its input. */
static int import_slice(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s)
{
    static const char hint_text[] = "libae:" AE_LAYER_GAUSSIAN_SAMPLE " cfg=";
    const ae__onnx_tensor *t[4];
    int64_t v[4] = {0, 0, 1, 1};
    int rc;
    if (n->doc.n < sizeof hint_text - 1 || memcmp(n->doc.p, hint_text, sizeof hint_text - 1) != 0)
        return unsupported(c, n, "Slice is read only as libae's gaussian_sample layer");
    for (size_t i = 0; i < 4; i++) {
        if ((rc = const_input(c, n, 1 + i, i >= 2, ONNX_INT64, &t[i])) < 0)
            return rc;
        if (t[i] != NULL && (t[i]->count != 1 || (rc = ae__onnx_tensor_int64(t[i], &v[i], 1, c->who)) < 0))
            return t[i]->count != 1 ? unsupported(c, n, "starts, ends, axes and steps must have one value") : rc;
    }
    const size_t size = ae__shape_size(&c->shape);
    if (t[2] == NULL || v[0] != 0 || v[2] != 1 || v[3] != 1 || size % 2 != 0 || v[1] != (int64_t)(size / 2))
        return unsupported(c, n, "not the first half of the values along axis 1");
    /* beta (training only) comes back from the hint's config (apply_hint) */
    ae_gaussian_sample_options g = AE_GAUSSIAN_SAMPLE_OPTIONS_INIT;
    builtin_spec(s, AE_LAYER_GAUSSIAN_SAMPLE, &g);
    return 0;
}

static const struct {
    const char *op;
    ae__onnx_import_fn fn;
} importers[] = {
    {"Gemm", import_gemm},
    {"MatMul", import_matmul},
    {"Conv", import_conv},
    {"ConvTranspose", import_conv},
    {"MaxPool", import_maxpool},
    {"Resize", import_resize},
    {"Reshape", import_reshape},
    {"Flatten", import_flatten},
    {"BatchNormalization", import_batchnorm},
    {"Relu", import_activation},
    {"LeakyRelu", import_activation},
    {"Sigmoid", import_activation},
    {"Tanh", import_activation},
    {"Identity", import_activation},
    {"Dropout", import_dropout},
    {"Slice", import_slice},
};

ae__onnx_import_fn ae__onnx_importer(const ae__onnx_node *n)
{
    if (n->domain.n > 0 && !ae__pbs_eq(n->domain, "ai.onnx"))
        return NULL;
    for (size_t i = 0; i < sizeof importers / sizeof importers[0]; i++)
        if (ae__pbs_eq(n->op, importers[i].op))
            return importers[i].fn;
    return NULL;
}
