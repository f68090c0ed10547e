/* SPDX-License-Identifier: MIT */
/**
 * @file ae/sys/layer.h
 * @brief The extender's API: the generic layer vtable, parameter views,
 *        the random generator and error reporting for custom layers.
 *
 * Every layer kind, built-in or custom, is an ae_layer_vtable registered
 * under a unique type name. A layer instance is created from its input shape
 * and an opaque config blob (bytes the kind defines; stored verbatim in model
 * files, so write it in a fixed little-endian layout). The library then:
 *
 *  - asks it for its parameters (value and gradient buffers, float32),
 *    which the optimizer updates and model files store, and for its state
 *    tensors (state_count/state_get), which model files store too;
 *  - calls forward() on batches: x is batch * in_size floats, y is
 *    batch * out_size floats, row-major, batch-first;
 *  - in training, calls backward() with the same x and y and dy = dL/dy.
 *    It must write dL/dx into dx (when dx is not NULL) and *overwrite*
 *    each parameter's gradient with dL/dparam for this batch.
 *
 * Dispatch happens once per layer per batch. Rules a layer must keep:
 *  - forward() in inference mode (ctx->training == 0) must not modify the
 *    state: several threads may run it at once. Scratch memory comes from
 *    ctx->workspace (workspace_size() bytes, 64-byte aligned), which is kept
 *    unchanged between the forward() and backward() of one training step.
 *  - never abort, exit or print; report errors by returning an ae_status
 *    after ae_error_set(). A callback returning anything else (a positive
 *    value, an unknown negative one) fails the call with AE_ERR_INVALID and
 *    a message naming the kind and the slot; a create() that made its
 *    state and then returned a positive value has that state destroyed.
 *  - at most 256 parameter tensors and 256 state tensors, each named with
 *    at most 63 printable ASCII bytes and holding as many values as its
 *    shape says (what model files can keep). Adding a layer asks for
 *    every view and refuses one that breaks these rules (AE_ERR_LIMIT for
 *    the counts and a long name, AE_ERR_INVALID otherwise; since 1.1:
 *    before, a save found them, or too large a count hung the add).
 *
 * The vtable is versioned by struct_size: slots are only ever appended, and
 * the library reads a slot only when the registered struct_size covers it.
 * This header is the "systems" API: stable within a major version.
 */
#ifndef AE_SYS_LAYER_H
#define AE_SYS_LAYER_H

#include "../common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the layer ABI described here; put it in abi_version. */
#define AE_LAYER_ABI_VERSION 1

/** Longest type name, in bytes without the terminating NUL. */
#define AE_LAYER_NAME_MAX 63

/** Largest config blob a layer may take. */
#define AE_LAYER_CONFIG_MAX 4096u

/**
 * Opaque seeded random generator (xoshiro256**), owned by the library. A
 * layer gets one in ae_layer_create_args.rng (valid during create() only)
 * and in ae_layer_ctx.rng (valid during that forward() or backward()
 * only); it must not keep the pointer. Drawing advances the generator: not
 * thread-safe on one generator.
 */
typedef struct ae_rng ae_rng;

/**
 * Next 64 random bits.
 * @param rng  the generator the library handed to the layer
 * @return 64 uniformly distributed bits.
 */
AE_API uint64_t ae_rng_next(ae_rng *rng);
/**
 * Uniform float in [0, 1) (24 random bits; never 1.0).
 * @param rng  the generator the library handed to the layer
 * @return the value.
 */
AE_API float ae_rng_uniform(ae_rng *rng);
/**
 * Standard normal float (mean 0, standard deviation 1; Box-Muller).
 * @param rng  the generator the library handed to the layer
 * @return the value, always finite.
 */
AE_API float ae_rng_normal(ae_rng *rng);

/**
 * Sets this thread's detail message (printf format) and returns @p status,
 * so a layer can write `return ae_error_set(AE_ERR_SHAPE, "...", n);`.
 * Thread-safe (the message is thread-local); messages longer than 511
 * bytes are truncated.
 * @param status  returned unchanged (an ae_status)
 * @param format  printf format of the message, or NULL to clear it
 * @param ...     the format's arguments
 * @return @p status.
 */
AE_API int ae_error_set(int status, const char *format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** One parameter (or state) tensor of a layer. */
typedef struct ae_param_view {
    uint32_t struct_size; /**< set by the library before param_get() */
    const char *name;     /**< short name, unique within the layer ("weight") */
    float *value;         /**< count floats, owned by the layer */
    float *grad;          /**< count floats, owned by the layer (NULL for state tensors) */
    size_t count;         /**< number of floats */
    ae_shape shape;       /**< logical shape; product == count */
} ae_param_view;

/** What create() receives. */
typedef struct ae_layer_create_args {
    uint32_t struct_size;   /**< sizeof as filled by the library */
    ae_shape input;         /**< per-sample input shape */
    const void *config;     /**< config bytes (may be NULL when size is 0) */
    size_t config_size;     /**< <= AE_LAYER_CONFIG_MAX */
    ae_rng *rng;            /**< for parameter initialisation */
    void *user_data;        /**< given at registration */
} ae_layer_create_args;

/** What forward() and backward() receive besides their tensors. */
typedef struct ae_layer_ctx {
    uint32_t struct_size;  /**< sizeof as filled by the library */
    size_t batch;          /**< samples in this call, >= 1 */
    int training;          /**< 1 in a training step, 0 in inference */
    void *workspace;       /**< workspace_size(state, batch) bytes, or NULL */
    ae_rng *rng;           /**< training-time randomness (NULL in inference) */
    void *user_data;       /**< given at registration */
} ae_layer_ctx;

/** Types of the attributes of ae_layer_onnx_attr (values pinned: ONNX's
 *  AttributeProto.AttributeType numbers). Added in 1.1. */
enum ae_layer_onnx_attr_type {
    AE_ONNX_ATTR_FLOAT = 1,  /**< one float (f) */
    AE_ONNX_ATTR_INT = 2,    /**< one int64 (i) */
    AE_ONNX_ATTR_STRING = 3, /**< a UTF-8 string (s) */
    AE_ONNX_ATTR_INTS = 7    /**< n_ints int64 values (ints) */
};

/** One attribute of the node an onnx_node() hook describes. Added in 1.1;
 *  its layout stays fixed for all of 1.x (it is an array element). */
typedef struct ae_layer_onnx_attr {
    const char *name;    /**< attribute name, as the op's schema spells it */
    int type;            /**< ae_layer_onnx_attr_type */
    float f;             /**< AE_ONNX_ATTR_FLOAT */
    int64_t i;           /**< AE_ONNX_ATTR_INT */
    const char *s;       /**< AE_ONNX_ATTR_STRING */
    const int64_t *ints; /**< AE_ONNX_ATTR_INTS: n_ints values */
    size_t n_ints;       /**< AE_ONNX_ATTR_INTS: at most 64 */
} ae_layer_onnx_attr;

/** The ONNX node a layer exports as (the vtable's onnx_node slot, added in
 *  1.1). The library sets struct_size and zeroes the rest before the call. */
typedef struct ae_layer_onnx_node {
    uint32_t struct_size;            /**< set by the library */
    const char *op_type;             /**< the op, e.g. "Elu"; required */
    /** NULL or "" for ONNX's default domain (opset 13), else the kind's own
     *  domain, which the file imports at version 1. */
    const char *domain;
    const ae_layer_onnx_attr *attrs; /**< attr_count attributes (may be NULL when 0) */
    size_t attr_count;               /**< at most 64 */
    /** How many of the layer's parameter tensors (param_get() order) follow
     *  the layer's input as the node's inputs, each as an initializer named
     *  "<node name>.<tensor name>" with the tensor's shape. */
    size_t params;
} ae_layer_onnx_node;

/** A layer kind. Fill it with AE_LAYER_VTABLE_INIT, then set the slots. */
typedef struct ae_layer_vtable {
    uint32_t struct_size;  /**< sizeof(ae_layer_vtable) as compiled by you */
    uint32_t abi_version;  /**< AE_LAYER_ABI_VERSION */
    const char *type_name; /**< unique name, [A-Za-z0-9_.:-], 1..AE_LAYER_NAME_MAX bytes */
    uint32_t type_version; /**< version of the config/parameter layout */

    /**
     * Creates an instance for args->input; writes the per-sample output
     * shape to @p output and the instance to @p state. Required.
     * Return AE_ERR_INVALID for a bad config, AE_ERR_SHAPE for an input it
     * cannot take (after ae_error_set()).
     */
    int (*create)(void **state, ae_shape *output, const ae_layer_create_args *args);

    /** Frees an instance. Required. */
    void (*destroy)(void *state);

    /** Number of parameter tensors. Optional: NULL means none. */
    size_t (*param_count)(const void *state);

    /** Describes parameter tensor @p index into @p view. Required when
     *  param_count is set. The buffers and the name belong to the layer and
     *  must stay valid while it exists (an optimizer recognizes the tensors
     *  by their addresses). Return AE_OK or an ae_status. */
    int (*param_get)(void *state, size_t index, ae_param_view *view);

    /** Scratch bytes needed for a batch. Optional: NULL means none. */
    size_t (*workspace_size)(const void *state, size_t batch);

    /** y = f(x). Required. Return AE_OK, or an ae_status after
     *  ae_error_set() (any other value counts as AE_ERR_INVALID); the error
     *  reaches the caller of encode, decode, reconstruct or train. */
    int (*forward)(void *state, const ae_layer_ctx *ctx, const float *x, float *y);

    /**
     * Gradients for one training batch (see the file comment). Optional:
     * NULL makes the kind inference-only, and training a model that holds
     * it fails with AE_ERR_UNSUPPORTED.
     */
    int (*backward)(void *state, const ae_layer_ctx *ctx, const float *x,
                    const float *y, const float *dy, float *dx);

    /* ---- appended in 0.1: non-trainable state ---------------------------- */

    /**
     * Number of state tensors: values the layer keeps besides its trainable
     * parameters, such as batch normalization's running statistics.
     * Model files store them next to the parameters; the optimizer never
     * sees them, parameter counts leave them out, and only the layer
     * changes them (in a training forward()). Optional: NULL means none.
     */
    size_t (*state_count)(const void *state);

    /** Describes state tensor @p index into @p view (grad is left NULL).
     *  Required when state_count is set. */
    int (*state_get)(void *state, size_t index, ae_param_view *view);

    /* ---- appended in 0.1: extra state bytes for model files -------------- */

    /**
     * Bytes of extra state a model file must keep besides the config, the
     * parameters and the state tensors: anything that is not a float
     * tensor (a counter, an integer table...). Returns the size, at most
     * AE_LAYER_STATE_MAX, 0 when there is none right now. Optional: NULL
     * means never any. extra_size, extra_save and extra_load are set
     * together or not at all (ae_layer_register() refuses a kind that
     * sets only some of them with AE_ERR_INVALID).
     */
    size_t (*extra_size)(const void *state);

    /**
     * Writes exactly @p size bytes (what extra_size() just returned) into
     * @p buf, in a fixed little-endian layout of the kind's choosing (like
     * the config blob). Must not change the state.
     */
    int (*extra_save)(const void *state, void *buf, size_t size);

    /**
     * Restores the extra state from @p size bytes (1 .. AE_LAYER_STATE_MAX)
     * a model file held, after create() with the saved config and after
     * the parameter and state tensors were filled. The bytes come from a
     * file: treat them as hostile, and return AE_ERR_FORMAT (after
     * ae_error_set()) for anything extra_save() would not have written.
     */
    int (*extra_load)(void *state, const void *buf, size_t size);

    /* ---- appended in 1.1: a loss term of the layer's own ---------------- */

    /**
     * How a layer adds a term to the training loss (a variational layer's
     * KL divergence, an activity penalty): after the training forward() of
     * a batch, the library calls loss_term() and adds *loss to the batch's
     * loss (what training reports and early stopping watches). The term's
     * gradient is the layer's to apply: its backward() adds d(term)/dx to
     * dx and d(term)/dparam to its parameter gradients, besides what dy
     * brings. Reduce the term as the main loss is (a mean over the batch,
     * scaled by a weight the config holds) so that the two add up. Called
     * only in training steps, never in inference or evaluation. Optional:
     * NULL means no term. Return AE_OK or an ae_status.
     */
    int (*loss_term)(void *state, const ae_layer_ctx *ctx, double *loss);

    /* ---- appended in 1.1: ONNX export (ae/onnx.h) ------------------------ */

    /**
     * Describes this instance as one ONNX node for ae_model_export_onnx()
     * and its siblings: the node reads the layer's input (N x its input
     * shape, float32) and writes its output. Fill @p node (see
     * ae_layer_onnx_node); the strings and arrays it points to must stay
     * valid until the export call returns (static data or the state). Must
     * not change the state. Return AE_OK, or AE_ERR_UNSUPPORTED (after
     * ae_error_set()) for an instance that has no ONNX form. Optional:
     * NULL (as for a kind built against 1.0) makes export refuse the layer
     * with AE_ERR_UNSUPPORTED. Import does not read such nodes back (their
     * op is not one it knows); export-only.
     */
    int (*onnx_node)(const void *state, ae_layer_onnx_node *node);
} ae_layer_vtable;

/** Largest extra state (extra_size()) a layer may keep in a model file. */
#define AE_LAYER_STATE_MAX (1u << 24)

/** Initializer: struct_size and abi_version set, every slot NULL. */
#define AE_LAYER_VTABLE_INIT \
    {sizeof(ae_layer_vtable), AE_LAYER_ABI_VERSION, NULL, 0, NULL, NULL, NULL, \
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/**
 * Registers a layer kind process-wide. The vtable is copied; @p user_data is
 * handed to create(), forward() and backward(), and released with
 * @p user_free (may be NULL) once the kind is unregistered and no layer of
 * it is left. Thread-safe (the registry is guarded by a mutex).
 * @param vtable     the kind (copied, type name included: the struct and
 *                   its strings need not outlive the call)
 * @param user_data  handed to the kind's callbacks; owned by the caller
 *                   until registration succeeds, then released with
 *                   @p user_free (never on failure)
 * @param user_free  called once with @p user_data when the kind is gone
 *                   (on the thread that drops the last reference), or NULL
 * @return AE_OK, AE_ERR_INVALID (NULL, missing required slot, param_count
 *         or state_count without its getter, only some of the extra_*
 *         slots, bad name, struct_size too small), AE_ERR_VERSION
 *         (abi_version unknown, or a newer struct setting slots this library
 *         does not know), AE_ERR_EXISTS (the name is taken by a registered
 *         or built-in kind), AE_ERR_NOMEM.
 */
AE_API int ae_layer_register(const ae_layer_vtable *vtable, void *user_data,
                             void (*user_free)(void *user_data));

/**
 * Removes a custom kind. Layers of that kind that still exist keep working
 * (they hold a reference); user_free runs when the last one is gone.
 * Built-in kinds cannot be removed. Once removed, the name can be
 * registered again; loading a file that uses it fails until then.
 * Thread-safe.
 * @param type_name  the kind's name
 * @return AE_OK, AE_ERR_INVALID (NULL), AE_ERR_NOT_FOUND (no such kind)
 *         or AE_ERR_UNSUPPORTED (a built-in kind).
 */
AE_API int ae_layer_unregister(const char *type_name);

/**
 * Whether a kind of that name (built-in or custom) is registered.
 * Thread-safe.
 * @param type_name  the name, or NULL
 * @return 1 when registered, else 0 (NULL included).
 */
AE_API int ae_layer_is_registered(const char *type_name);

#ifdef __cplusplus
}
#endif
#endif /* AE_SYS_LAYER_H */
