/* SPDX-License-Identifier: MIT */
/*
 * import.c - turns a parsed ONNX graph into nets: walks the node chain from
 * the graph input, asks the per-kind table (kinds.c) for each node's layer
 * spec, fuses libae's own "<node>.act" activations back into their layer,
 * takes a "libae:" doc_string config when it agrees with the attributes,
 * adds the layers and copies the weights in.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "layers/im2col.h"
#include "nn/nn.h"
#include "onnx.h"

typedef struct importer {
    const ae__onnx_model *m;
    const char *who;
    ae__net *nets[2];
    size_t n_nets, cur_net;
    ae__onnx_spec pending;
    int has_pending;
} importer;

static int pbs_same(ae__pbs a, ae__pbs b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* ---- doc_string hints ------------------------------------------------------- */

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Decodes "libae:<kind> cfg=<hex>" for `kind` into cfg (exactly size bytes). */
static int hint_config(ae__pbs doc, const char *kind, unsigned char *cfg, size_t size)
{
    char head[96];
    int k = snprintf(head, sizeof head, "libae:%s cfg=", kind);
    if (k < 0 || (size_t)k >= sizeof head || doc.n != (size_t)k + 2 * size ||
        memcmp(doc.p, head, (size_t)k) != 0)
        return 0;
    for (size_t i = 0; i < size; i++) {
        int hi = hexval(doc.p[(size_t)k + 2 * i]), lo = hexval(doc.p[(size_t)k + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        cfg[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

static int same_u32(const unsigned char *a, const unsigned char *b, size_t off)
{
    return ae__get_u32(a + off) == ae__get_u32(b + off);
}

/* Whether two conv (or transposed conv) configs compute the same thing on
 * input shape `in`. */
static int conv_equivalent(const unsigned char *a, const unsigned char *b, size_t size, int transpose,
                           const ae_shape *in)
{
    ae__conv_cfg x, y;
    if (ae__conv_cfg_parse("onnx", a, size, transpose, &x) < 0 ||
        ae__conv_cfg_parse("onnx", b, size, transpose, &y) < 0 || in->rank != 3)
        return 0;
    if (x.filters != y.filters || x.kh != y.kh || x.kw != y.kw || x.sh != y.sh || x.sw != y.sw ||
        x.dh != y.dh || x.dw != y.dw || x.act != y.act || x.use_bias != y.use_bias ||
        (x.act == AE_ACT_LEAKY_RELU && x.slope != y.slope))
        return 0;
    const size_t k[2] = {x.kh, x.kw}, s[2] = {x.sh, x.sw}, d[2] = {x.dh, x.dw};
    for (int a2 = 0; a2 < 2; a2++) {
        size_t p0[2] = {a2 ? x.pl : x.pt, a2 ? y.pl : y.pt}, p1[2] = {a2 ? x.pr : x.pb, a2 ? y.pr : y.pb};
        size_t out[2];
        const int64_t op[2] = {a2 ? x.opw : x.oph, a2 ? y.opw : y.oph};
        const int mode[2] = {x.padding, y.padding};
        for (int j = 0; j < 2; j++) {
            int rc = transpose ? ae__conv_transpose_axis("onnx", "axis", in->dims[1 + a2], k[a2], s[a2], d[a2],
                                                         mode[j], &p0[j], p1[j], op[j], &out[j])
                               : ae__conv_axis("onnx", "axis", in->dims[1 + a2], k[a2], s[a2], d[a2], mode[j],
                                               &p0[j], &p1[j], &out[j]);
            if (rc < 0)
                return 0;
        }
        if (p0[0] != p0[1] || out[0] != out[1])
            return 0;
    }
    return 1;
}

static int pool_equivalent(const unsigned char *a, const unsigned char *b, const ae_shape *in)
{
    if (in->rank != 3)
        return 0;
    for (size_t off = 0; off < 16; off += 4)
        if (!same_u32(a, b, off))
            return 0;
    for (int ax = 0; ax < 2; ax++) {
        size_t p0[2], p1[2], out[2];
        const unsigned char *c[2] = {a, b};
        for (int j = 0; j < 2; j++) {
            uint32_t mode = ae__get_u32(c[j] + 16);
            p0[j] = ae__get_u32(c[j] + 20 + 8 * ax);
            p1[j] = ae__get_u32(c[j] + 24 + 8 * ax);
            if (mode > AE_PAD_EXPLICIT ||
                ae__conv_axis("onnx", "axis", in->dims[1 + ax], ae__get_u32(c[j] + 4 * ax),
                              ae__get_u32(c[j] + 8 + 4 * ax), 1, (int)mode, &p0[j], &p1[j], &out[j]) < 0)
                return 0;
        }
        if (p0[0] != p0[1] || out[0] != out[1])
            return 0;
    }
    return 1;
}

/* Replaces the spec's config by the node's libae hint when the hint
 * computes the same function: it restores what ONNX cannot say (padding
 * mode, initializer, the exact momentum and leaky slope). */
static void apply_hint(ae__onnx_spec *s, const ae_shape *in)
{
    unsigned char h[sizeof s->config];
    const unsigned char *c = s->config;
    if (s->node == NULL || s->config_size == 0 || !hint_config(s->node->doc, s->kind, h, s->config_size))
        return;
    int ok = 0;
    if (strcmp(s->kind, AE_LAYER_DENSE) == 0)
        ok = same_u32(c, h, 0) && same_u32(c, h, 4) && same_u32(c, h, 12) &&
             (ae__get_u32(c + 4) != AE_ACT_LEAKY_RELU || same_u32(c, h, 16));
    else if (strcmp(s->kind, AE_LAYER_ACTIVATION) == 0)
        ok = same_u32(c, h, 0) && (ae__get_u32(c) != AE_ACT_LEAKY_RELU || same_u32(c, h, 4));
    else if (strcmp(s->kind, AE_LAYER_CONV2D) == 0)
        ok = conv_equivalent(c, h, s->config_size, 0, in);
    else if (strcmp(s->kind, AE_LAYER_CONV2D_TRANSPOSE) == 0)
        ok = conv_equivalent(c, h, s->config_size, 1, in);
    else if (strcmp(s->kind, AE_LAYER_MAXPOOL2D) == 0)
        ok = pool_equivalent(c, h, in);
    else if (strcmp(s->kind, AE_LAYER_BATCHNORM) == 0)
        ok = same_u32(c, h, 4);
    else if (strcmp(s->kind, AE_LAYER_GAUSSIAN_SAMPLE) == 0) /* beta: training only */
        ok = isfinite(ae__get_f32(h)) && ae__get_f32(h) >= 0.0f;
    if (ok)
        memcpy(s->config, h, s->config_size);
}

/* ---- building ------------------------------------------------------------------ */

static int fill_tensor(const importer *im, const ae__layer *l, const ae__onnx_spec *s, size_t i)
{
    char nb[200];
    const ae__onnx_tensor *t = s->tensor[i];
    ae_param_view v;
    int found = 0;
    for (int state = 0; state < 2 && !found; state++) {
        size_t n = state ? l->n_states : l->n_tensors;
        for (size_t k = 0; k < n && !found; k++)
            found = ae__kind_tensor(l->kind, l->state, state, k, &v) == AE_OK && v.name != NULL &&
                    strcmp(v.name, s->tname[i]) == 0;
    }
    if (!found)
        return ae__error(AE_ERR_INVALID, "%s: %s: the layer has no tensor '%s'", im->who,
                         ae__onnx_node_str(s->node, nb, sizeof nb), s->tname[i]);
    int dims_ok = t->count == v.count;
    if (dims_ok && t->rank >= 2) { /* a weight: its dims must be the layer's (a bias may be 1 x n) */
        dims_ok = t->rank == v.shape.rank;
        for (size_t d = 0; dims_ok && d < t->rank; d++) {
            size_t src = s->transpose[i] ? t->rank - 1 - d : d;
            dims_ok = (uint64_t)t->dims[src] == v.shape.dims[d];
        }
        if (!dims_ok && t->rank == 2 && v.shape.rank == 1 && (t->dims[0] == 1 || t->dims[1] == 1))
            dims_ok = 1;
    }
    if (!dims_ok) {
        char buf[64];
        return ae__error(AE_ERR_SHAPE, "%s: %s: tensor '%.*s' (%zu values) does not fit the layer's '%s' %s",
                         im->who, ae__onnx_node_str(s->node, nb, sizeof nb),
                         (int)(t->name.n > 64 ? 64 : t->name.n), (const char *)t->name.p, t->count,
                         s->tname[i], ae__shape_str(&v.shape, buf, sizeof buf));
    }
    /* as the model-file loader: weights are finite, or inference is garbage
     * (and NaN reaches code that assumes numbers) */
    float *dst = v.value, *tmp = NULL;
    if (s->transpose[i] && (dst = tmp = ae__alloc(t->count * sizeof *tmp)) == NULL)
        return AE_ERR_NOMEM;
    ae__onnx_tensor_floats(t, dst);
    for (size_t k = 0; k < t->count; k++)
        if (!isfinite(dst[k])) {
            ae__free(tmp);
            return ae__error(AE_ERR_FORMAT, "%s: %s: tensor '%.*s' holds a NaN or infinite value at %zu",
                             im->who, ae__onnx_node_str(s->node, nb, sizeof nb),
                             (int)(t->name.n > 64 ? 64 : t->name.n), (const char *)t->name.p, k);
        }
    if (tmp == NULL)
        return AE_OK;
    /* K x units (MatMul, Gemm without transB) into units x K */
    const size_t rows = (size_t)t->dims[0], cols = (size_t)t->dims[1];
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            v.value[c * rows + r] = tmp[r * cols + c];
    ae__free(tmp);
    return AE_OK;
}

/* What a layer may allocate at creation besides 3 copies of its tensors. */
#define IMPORT_SLACK ((size_t)16 << 20)

static int flush(importer *im)
{
    char nb[200], msg[512];
    if (!im->has_pending)
        return AE_OK;
    im->has_pending = 0;
    ae__onnx_spec *s = &im->pending;
    if (s->kind == NULL)
        return AE_OK;
    ae__net *net = im->nets[im->cur_net];
    apply_hint(s, &net->output);
    /* create() allocates from the config and the chain's shape before the
     * weights can be compared with the layer: bound it by what the file
     * stores for the layer (values, gradients, a copy), as the model-file
     * loader does, so a hostile graph cannot cost GBs. */
    size_t floats = 0, budget;
    for (size_t i = 0; i < s->n_tensors; i++)
        floats += s->tensor[i]->count;
    if (!ae__mul_size(floats, 3 * sizeof(float), &budget) || !ae__add_size(budget, IMPORT_SLACK, &budget))
        budget = SIZE_MAX;
    ae__alloc_budget_begin(budget);
    int rc = ae__net_add(net, s->kind, s->config_size ? s->config : NULL, s->config_size, im->who);
    if (ae__alloc_budget_end())
        return ae__error(AE_ERR_SHAPE, "%s: %s: the layer would need more memory than the %zu bytes "
                         "its %zu tensors allow (its weights do not fit the chain's shape)",
                         im->who, ae__onnx_node_str(s->node, nb, sizeof nb), budget, s->n_tensors);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "%s", ae_last_error());
        return ae__error(rc == AE_ERR_INVALID ? AE_ERR_UNSUPPORTED : rc, "%s: %s: %s", im->who,
                         ae__onnx_node_str(s->node, nb, sizeof nb), msg);
    }
    for (size_t i = 0; i < s->n_tensors; i++)
        if ((rc = fill_tensor(im, &net->layers[net->n - 1], s, i)) < 0)
            return rc;
    return AE_OK;
}

/* libae's "<layer>.act" node right after its layer: fused back into it. */
static int fuse_activation(importer *im, const ae__onnx_node *n)
{
    ae__onnx_spec *p = &im->pending;
    if (!im->has_pending || p->kind == NULL || p->node == NULL)
        return 0;
    const ae__pbs pn = p->node->name;
    if (pn.n == 0 || n->name.n != pn.n + 4 || memcmp(n->name.p, pn.p, pn.n) != 0 ||
        memcmp(n->name.p + pn.n, ".act", 4) != 0)
        return 0;
    size_t act_off, slope_off;
    if (strcmp(p->kind, AE_LAYER_DENSE) == 0)
        act_off = 4, slope_off = 16;
    else if (strcmp(p->kind, AE_LAYER_CONV2D) == 0)
        act_off = 48, slope_off = 60;
    else if (strcmp(p->kind, AE_LAYER_CONV2D_TRANSPOSE) == 0)
        act_off = 56, slope_off = 68;
    else
        return 0;
    if (ae__get_u32(p->config + act_off) != AE_ACT_IDENTITY)
        return 0;
    ae__onnx_spec a;
    ae__onnx_ctx c;
    memset(&a, 0, sizeof a);
    memset(&c, 0, sizeof c);
    c.m = im->m;
    c.who = im->who;
    if (ae__pbs_eq(n->op, "Identity") || ae__onnx_importer(n) == NULL ||
        ae__onnx_importer(n)(&c, n, &a) < 0 || a.kind == NULL || strcmp(a.kind, AE_LAYER_ACTIVATION) != 0)
        return 0;
    memcpy(p->config + act_off, a.config, 4);
    memcpy(p->config + slope_off, a.config + 4, 4);
    p->value = n->out[0];
    return 1;
}

/* The graph input: the one input that is not an initializer. */
static int find_input(const importer *im, const ae__onnx_value **out)
{
    const ae__onnx_model *m = im->m;
    const ae__onnx_value *in = NULL;
    for (size_t i = 0; i < m->n_in; i++) {
        if (ae__onnx_find_tensor(m, m->in[i].name) != NULL)
            continue;
        if (in != NULL)
            return ae__error(AE_ERR_UNSUPPORTED, "%s: the graph has more than one input", im->who);
        in = &m->in[i];
    }
    if (in == NULL)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: the graph has no input", im->who);
    if (in->elem != ONNX_FLOAT)
        return ae__error(AE_ERR_UNSUPPORTED, "%s: the graph input '%.*s' is not a float32 tensor", im->who,
                         (int)(in->name.n > 64 ? 64 : in->name.n), (const char *)in->name.p);
    if (!in->has_shape || in->rank < 2 || in->rank > 1 + AE_MAX_RANK)
        return ae__error(AE_ERR_UNSUPPORTED,
                         "%s: the graph input '%.*s' needs a known shape of 2 to 5 dims, batch first",
                         im->who, (int)(in->name.n > 64 ? 64 : in->name.n), (const char *)in->name.p);
    for (size_t d = 1; d < in->rank; d++)
        if (in->dims[d] < 1 || in->dims[d] > UINT32_MAX)
            return ae__error(AE_ERR_UNSUPPORTED,
                             "%s: the graph input '%.*s' has an unknown or bad dim %zu (only the batch may vary)",
                             im->who, (int)(in->name.n > 64 ? 64 : in->name.n), (const char *)in->name.p, d);
    *out = in;
    return AE_OK;
}

/* A value some node reads. */
static int is_consumed(const ae__onnx_model *m, ae__pbs name)
{
    for (size_t i = 0; i < m->n_nodes; i++)
        for (size_t k = 0; k < m->nodes[i].n_in; k++)
            if (pbs_same(m->nodes[i].in[k], name))
                return 1;
    return 0;
}

static int is_output(const ae__onnx_model *m, ae__pbs name)
{
    for (size_t i = 0; i < m->n_out; i++)
        if (pbs_same(m->out[i].name, name))
            return 1;
    return 0;
}

/* The latent for a model import: the option, the metadata, else the one
 * graph output another node reads. */
static int find_latent(const importer *im, const char *opt, ae__pbs *out)
{
    const ae__onnx_model *m = im->m;
    if (opt != NULL) {
        out->p = (const unsigned char *)opt;
        out->n = strlen(opt);
        return AE_OK;
    }
    if (ae__onnx_meta(m, "libae.latent", out))
        return AE_OK;
    size_t found = 0;
    for (size_t i = 0; i < m->n_out; i++)
        if (is_consumed(m, m->out[i].name)) {
            *out = m->out[i].name;
            found++;
        }
    if (found == 1)
        return AE_OK;
    return ae__error(AE_ERR_NOT_FOUND,
                     "%s: cannot tell where the encoder ends: name the latent value "
                     "(ae_onnx_import_options.latent), or give the graph a second output for it",
                     im->who);
}

int ae__onnx_build(const ae__onnx_model *m, ae_encoder **enc_out, ae_decoder **dec_out,
                   const char *latent_opt, uint64_t seed, const char *who)
{
    importer im;
    const ae__onnx_value *in = NULL;
    ae__pbs latent = {NULL, 0};
    ae_encoder *enc = NULL;
    ae_decoder *dec = NULL;
    char nb[200];
    int rc;
    memset(&im, 0, sizeof im);
    im.m = m;
    im.who = who;
    if ((rc = find_input(&im, &in)) < 0)
        return rc;
    const int split = enc_out != NULL && dec_out != NULL;
    if (split && (rc = find_latent(&im, latent_opt, &latent)) < 0)
        return rc;
    ae_shape shape = {(uint32_t)(in->rank - 1), {0, 0, 0, 0}};
    for (size_t d = 1; d < in->rank; d++)
        shape.dims[d - 1] = (uint32_t)in->dims[d];
    if (enc_out != NULL) {
        if ((rc = ae_encoder_create(&enc, &shape, seed)) < 0)
            return rc;
        im.nets[0] = &enc->net;
    } else {
        if ((rc = ae_decoder_create(&dec, &shape, seed)) < 0)
            return rc;
        im.nets[0] = &dec->net;
    }
    im.n_nets = 1;

    ae__pbs cur = in->name;
    int split_done = 0;
    if (split && pbs_same(latent, cur)) {
        rc = ae__error(AE_ERR_NOT_FOUND, "%s: the latent is the graph input", who);
        goto fail;
    }
    for (size_t i = 0; i < m->n_nodes; i++) {
        const ae__onnx_node *n = &m->nodes[i];
        if (ae__pbs_eq(n->op, "Constant") && n->domain.n == 0)
            continue;
        if (n->n_in == 0 || !pbs_same(n->in[0], cur)) {
            rc = ae__error(AE_ERR_UNSUPPORTED,
                           "%s: %s does not continue the chain (its first input is not '%.*s'): "
                           "only a straight sequence of layers is supported",
                           who, ae__onnx_node_str(n, nb, sizeof nb), (int)(cur.n > 64 ? 64 : cur.n),
                           (const char *)cur.p);
            goto fail;
        }
        for (size_t k = 1; k < n->n_in; k++)
            if (pbs_same(n->in[k], cur)) {
                rc = ae__error(AE_ERR_UNSUPPORTED, "%s: %s reads the chain's value twice", who,
                               ae__onnx_node_str(n, nb, sizeof nb));
                goto fail;
            }
        ae__onnx_import_fn fn = ae__onnx_importer(n);
        if (fn == NULL) {
            rc = ae__error(AE_ERR_UNSUPPORTED, "%s: %s: op not supported (see docs/interop.md for the ops import reads)",
                           who, ae__onnx_node_str(n, nb, sizeof nb));
            goto fail;
        }
        if (!fuse_activation(&im, n)) {
            if ((rc = flush(&im)) < 0)
                goto fail;
            ae__onnx_ctx c;
            memset(&c, 0, sizeof c);
            c.m = m;
            c.who = who;
            c.shape = im.nets[im.cur_net]->output;
            c.next = NULL;
            for (size_t j = i + 1; j < m->n_nodes && c.next == NULL; j++)
                if (!ae__pbs_eq(m->nodes[j].op, "Constant"))
                    c.next = &m->nodes[j];
            memset(&im.pending, 0, sizeof im.pending);
            im.pending.node = n;
            im.pending.value = n->out[0];
            int used = fn(&c, n, &im.pending);
            if (used < 0) {
                rc = used;
                goto fail;
            }
            if (used) { /* MatMul + Add */
                im.pending.value = c.next->out[0];
                i = (size_t)(c.next - m->nodes);
                im.pending.node = n;
            }
            im.has_pending = 1;
        }
        cur = im.pending.value;
        if (split && !split_done && pbs_same(cur, latent)) {
            if ((rc = flush(&im)) < 0)
                goto fail;
            if (enc->net.n == 0) {
                rc = ae__error(AE_ERR_UNSUPPORTED, "%s: the encoder would have no layers", who);
                goto fail;
            }
            if ((rc = ae_decoder_create(&dec, &enc->net.output, seed)) < 0)
                goto fail;
            im.nets[1] = &dec->net;
            im.cur_net = 1;
            split_done = 1;
        }
    }
    if ((rc = flush(&im)) < 0)
        goto fail;
    if (split && !split_done) {
        rc = ae__error(AE_ERR_NOT_FOUND, "%s: the latent '%.*s' is not a value of the chain", who,
                       (int)(latent.n > 64 ? 64 : latent.n), (const char *)latent.p);
        goto fail;
    }
    if (!is_output(m, cur)) {
        rc = ae__error(AE_ERR_UNSUPPORTED, "%s: the chain ends in '%.*s', which is not a graph output", who,
                       (int)(cur.n > 64 ? 64 : cur.n), (const char *)cur.p);
        goto fail;
    }
    ae__net *last = im.nets[im.cur_net];
    if (last->n == 0) {
        rc = ae__error(AE_ERR_UNSUPPORTED, "%s: the %s would have no layers", who,
                       im.cur_net == 1 || enc == NULL ? "decoder" : "encoder");
        goto fail;
    }
    /* the graph's own idea of its output shape, when it has one */
    for (size_t i = 0; i < m->n_out; i++) {
        const ae__onnx_value *o = &m->out[i];
        if (!pbs_same(o->name, cur) || !o->has_shape)
            continue;
        int ok = o->rank == 1 + last->output.rank;
        for (size_t d = 1; ok && d < o->rank; d++)
            ok = o->dims[d] < 0 || (uint64_t)o->dims[d] == last->output.dims[d - 1];
        if (!ok) {
            char buf[64];
            rc = ae__error(AE_ERR_SHAPE, "%s: the graph says its output has %zu dims that differ from what "
                           "its layers compute: N x %s", who, o->rank,
                           ae__shape_str(&last->output, buf, sizeof buf));
            goto fail;
        }
    }
    if (enc_out != NULL)
        *enc_out = enc;
    if (dec_out != NULL)
        *dec_out = dec;
    return AE_OK;
fail:
    ae_encoder_destroy(enc);
    ae_decoder_destroy(dec);
    return rc;
}
