/* SPDX-License-Identifier: MIT */
/*
 * layer.h - the layer-kind registry and the built-in kinds.
 *
 * A kind is a registered ae_layer_vtable (copied, zero-extended to this
 * library's layout) plus its user data. Instances hold a reference to their
 * kind, so unregistering a kind in use is safe.
 */
#ifndef AE_LAYERS_LAYER_H
#define AE_LAYERS_LAYER_H

#include "ae/layer.h"
#include "ae/sys/layer.h"
#include "core/core.h"
#include "core/kernels.h"

typedef struct ae__kind {
    ae_layer_vtable vt;  /* full-size copy; slots past the user's size are NULL */
    char name[AE_LAYER_NAME_MAX + 1];
    void *user_data;
    void (*user_free)(void *);
    int builtin;
} ae__kind;

/* Finds a kind by name and takes a reference; AE_ERR_NOT_FOUND if none. */
int ae__kind_acquire(const char *name, ae__kind **out);
/* Drops a reference taken by ae__kind_acquire. NULL is a no-op. */
void ae__kind_release(ae__kind *kind);

/* Fills n weights from `init` (ae_init) with the given fans. */
void ae__init_weights(float *w, size_t n, size_t fan_in, size_t fan_out, int init, ae_rng *rng);

/* One block for a weight tensor of wn values and a bias of nb (0: none),
 * each followed by its gradient: *w, *dw, *b, *db (b and db NULL without a
 * bias). The weights are drawn from `init` with the given fans, the rest is
 * zero. AE_OK or AE_ERR_NOMEM; free with ae__free(*w). */
int ae__weight_bias_alloc(size_t wn, size_t nb, int init, size_t fan_in, size_t fan_out,
                          ae_rng *rng, float **w, float **dw, float **b, float **db);

/* param_get for a layer with one weight tensor of shape wshape and a bias
 * of nb values (b NULL: no bias): index 0 is "weight", 1 is "bias". */
int ae__weight_bias_view(const char *who, size_t index, ae_param_view *v, float *w, float *dw,
                         const ae_shape *wshape, float *b, float *db, size_t nb);

/* ---- the catalogue of built-in kinds (catalog.c) ---------------------- */

/*
 * One row per built-in kind: everything the library knows about it besides
 * its own file. The adders (ae__net_add_builtin), the registry, the loaders
 * and the tests read this table; docs/custom-layers.md lists what adding a
 * kind takes.
 */
typedef struct ae__builtin {
    const ae_layer_vtable *vt; /* the kind's vtable (its type_name is the key) */
    const char *opts_null;     /* the message when the adder passes NULL ("dense options are NULL") */
    size_t opts_size;          /* bytes of it in this library (0: the kind takes nothing) */
    size_t opts_oldest;        /* a versioned options struct's oldest (1.0) size; 0: a plain value */
    const void *defaults;      /* the struct's AE_*_OPTIONS_INIT value (versioned structs) */
    /* Writes the config blob from the options (taken at our size, defaults
     * filled); returns its size, at most AE__CONFIG_BUF. The kind's create()
     * validates the blob: that is the one place options are checked. */
    size_t (*config)(unsigned char *out, const void *opts);
} ae__builtin;

/* Largest options struct and config blob a built-in kind has. */
#define AE__OPTS_BUF 128
#define AE__CONFIG_BUF 128

extern const ae__builtin ae__builtins[];
extern const size_t ae__builtin_count;
/* Their registry entries, row for row (filled once by the registry). */
extern ae__kind ae__builtin_kinds[];
/* The row of a built-in kind, or NULL. */
const ae__builtin *ae__builtin_find(const char *type_name);

/* ---- calls into a kind (kind.c): the only code that reads kind->vt ----- */

/* A layer callback's return value as a libae status: AE_OK and the pinned
 * AE_ERR_* codes pass through; anything else (a positive value, an unknown
 * negative one) becomes AE_ERR_INVALID. */
static inline int ae__layer_status(int rc)
{
    return rc == AE_OK || (rc < 0 && rc >= AE__ERR_LOWEST) ? rc : AE_ERR_INVALID;
}

/* Parameter tensors, and state tensors, a layer may have (the model
 * file's limit, checked when the layer is added). */
#define AE__LAYER_TENSORS_MAX 256u
/* Bytes of a tensor name, at most (the file's 64-byte field). */
#define AE__TENSOR_NAME_MAX 63u

/* The rules a layer's tensor view follows so it can be saved and cloned:
 * a name of at most AE__TENSOR_NAME_MAX printable ASCII bytes, a valid
 * shape whose size is the count. AE_OK, or the status with a message
 * "WHO: WHERE ..." (WHERE names the layer and the tensor). */
int ae__tensor_view_check(const ae_param_view *v, const char *who, const char *where);

int ae__kind_create(const ae__kind *k, void **state, ae_shape *out, const ae_layer_create_args *a);
void ae__kind_destroy(const ae__kind *k, void *state);
unsigned ae__kind_version(const ae__kind *k);
/* 1 when the kind trains (has backward()). */
int ae__kind_trains(const ae__kind *k);
size_t ae__kind_workspace(const ae__kind *k, const void *state, size_t batch);
/* forward()/backward() with ctx->user_data set to the kind's; statuses mapped. */
int ae__kind_forward(const ae__kind *k, void *state, ae_layer_ctx *ctx, const float *x, float *y);
int ae__kind_backward(const ae__kind *k, void *state, ae_layer_ctx *ctx, const float *x,
                      const float *y, const float *dy, float *dx);
/* The layer's own loss term after a training forward() (the loss_term
 * slot, appended in 1.1): *loss is 0 when the kind has none. */
int ae__kind_loss_term(const ae__kind *k, void *state, ae_layer_ctx *ctx, double *loss);
/* Parameter tensors (state == 0) or state tensors (1): count and views. */
size_t ae__kind_tensor_count(const ae__kind *k, const void *state, int is_state);
/* Clears *v, sets its struct_size and asks the kind; status mapped. */
int ae__kind_tensor(const ae__kind *k, void *state, int is_state, size_t index, ae_param_view *v);
/* Extra state: 1 when the kind keeps some (all three slots set). */
int ae__kind_has_extra(const ae__kind *k);
size_t ae__kind_extra_size(const ae__kind *k, const void *state);
int ae__kind_extra_save(const ae__kind *k, const void *state, void *buf, size_t size);
int ae__kind_extra_load(const ae__kind *k, void *state, const void *buf, size_t size);
/* ONNX export (src/onnx/): 1 when the kind has the onnx_node slot; the
 * call clears *node, sets its struct_size and asks the kind. */
int ae__kind_has_onnx(const ae__kind *k);
int ae__kind_onnx_node(const ae__kind *k, const void *state, ae_layer_onnx_node *node);

#endif
