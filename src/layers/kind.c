/* SPDX-License-Identifier: MIT */
/*
 * kind.c - every call into a layer kind's vtable goes through here (as
 * SQLite's os.c wraps its VFS): optional slots are tested in one place,
 * user data reaches the callbacks, and a callback's code becomes a status.
 */
#include <string.h>

#include "layer.h"

/* A callback's return value as a status; a value that is not one gets a
 * message naming the kind and the slot (the kind set none). */
static int status(const ae__kind *k, const char *slot, int rc)
{
    if (rc == ae__layer_status(rc))
        return rc;
    return ae__error(AE_ERR_INVALID, "layer kind '%s': %s() returned %d, not AE_OK or an "
                     "AE_ERR_* code", k->vt.type_name, slot, rc);
}

int ae__kind_create(const ae__kind *k, void **state, ae_shape *out, const ae_layer_create_args *a)
{
    *state = NULL;
    int rc = k->vt.create(state, out, a);
    if (rc > 0 && *state != NULL) { /* made, then said something else: not kept */
        k->vt.destroy(*state);
        *state = NULL;
    }
    return status(k, "create", rc);
}

void ae__kind_destroy(const ae__kind *k, void *state)
{
    if (state != NULL)
        k->vt.destroy(state);
}

unsigned ae__kind_version(const ae__kind *k) { return k->vt.type_version; }

int ae__kind_trains(const ae__kind *k) { return k->vt.backward != NULL; }

size_t ae__kind_workspace(const ae__kind *k, const void *state, size_t batch)
{
    return k->vt.workspace_size ? k->vt.workspace_size(state, batch) : 0;
}

int ae__kind_forward(const ae__kind *k, void *state, ae_layer_ctx *ctx, const float *x, float *y)
{
    ctx->user_data = k->user_data;
    return status(k, "forward", k->vt.forward(state, ctx, x, y));
}

int ae__kind_backward(const ae__kind *k, void *state, ae_layer_ctx *ctx, const float *x,
                      const float *y, const float *dy, float *dx)
{
    ctx->user_data = k->user_data;
    return status(k, "backward", k->vt.backward(state, ctx, x, y, dy, dx));
}

int ae__kind_loss_term(const ae__kind *k, void *state, ae_layer_ctx *ctx, double *loss)
{
    *loss = 0.0;
    if (k->vt.loss_term == NULL)
        return AE_OK;
    ctx->user_data = k->user_data;
    return status(k, "loss_term", k->vt.loss_term(state, ctx, loss));
}

size_t ae__kind_tensor_count(const ae__kind *k, const void *state, int is_state)
{
    size_t (*count)(const void *) = is_state ? k->vt.state_count : k->vt.param_count;
    return count ? count(state) : 0;
}

int ae__kind_tensor(const ae__kind *k, void *state, int is_state, size_t index, ae_param_view *v)
{
    memset(v, 0, sizeof *v);
    v->struct_size = sizeof *v;
    return is_state ? status(k, "state_get", k->vt.state_get(state, index, v))
                    : status(k, "param_get", k->vt.param_get(state, index, v));
}

int ae__kind_has_extra(const ae__kind *k)
{
    return k->vt.extra_size != NULL && k->vt.extra_save != NULL && k->vt.extra_load != NULL;
}

size_t ae__kind_extra_size(const ae__kind *k, const void *state)
{
    return ae__kind_has_extra(k) ? k->vt.extra_size(state) : 0;
}

int ae__kind_extra_save(const ae__kind *k, const void *state, void *buf, size_t size)
{
    return status(k, "extra_save", k->vt.extra_save(state, buf, size));
}

int ae__kind_extra_load(const ae__kind *k, void *state, const void *buf, size_t size)
{
    return status(k, "extra_load", k->vt.extra_load(state, buf, size));
}

int ae__kind_has_onnx(const ae__kind *k) { return k->vt.onnx_node != NULL; }

int ae__kind_onnx_node(const ae__kind *k, const void *state, ae_layer_onnx_node *node)
{
    memset(node, 0, sizeof *node);
    node->struct_size = sizeof *node;
    return status(k, "onnx_node", k->vt.onnx_node(state, node));
}

int ae__tensor_view_check(const ae_param_view *v, const char *who, const char *where)
{
    char buf[64];
    const char *name = v->name ? v->name : "";
    const size_t nl = strlen(name);
    if (nl > AE__TENSOR_NAME_MAX)
        return ae__error(AE_ERR_LIMIT, "%s: %s is named with %zu bytes, at most %u", who, where, nl,
                         AE__TENSOR_NAME_MAX);
    for (size_t i = 0; i < nl; i++)
        if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
            return ae__error(AE_ERR_INVALID, "%s: %s's name has bytes outside printable ASCII", who,
                             where);
    if (ae__shape_check(&v->shape, who) < 0 || ae__shape_size(&v->shape) != v->count)
        return ae__error(AE_ERR_INVALID, "%s: %s ('%s') has %zu values but shape %s", who, where,
                         name, v->count, ae__shape_str(&v->shape, buf, sizeof buf));
    return AE_OK;
}
