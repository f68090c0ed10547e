/* SPDX-License-Identifier: MIT */
/*
 * net.h - a sequential stack of layers: what an encoder and a decoder are.
 * Models chain two nets; inference and training walk the chain as one list.
 */
#ifndef AE_NN_NET_H
#define AE_NN_NET_H

#include "ae/common.h"
#include "ae/sys/layer.h"
#include "core/core.h"
#include "layers/layer.h"

typedef struct ae__layer {
    ae__kind *kind;
    void *state;
    ae_shape in, out;
    size_t in_size, out_size;  /* floats per sample */
    unsigned char *config;     /* copy of the config blob (may be NULL) */
    size_t config_size;
    size_t n_tensors;          /* parameter tensors */
    size_t n_states;           /* state tensors */
    int frozen;                /* not trainable (ae_encoder_set_trainable()) */
} ae__layer;

typedef struct ae__net {
    ae_shape input, output;    /* output == input while empty */
    size_t in_size, out_size;
    ae__layer *layers;
    size_t n, cap;
    ae_rng rng;                /* initialises the parameters of added layers */
    int owned;                 /* belongs to a model */
} ae__net;

/* A layer callback's return value as a libae status: AE_OK and the pinned
 * AE_ERR_* codes pass through; anything else (a positive value, an unknown
 * negative one) becomes AE_ERR_INVALID. */
static inline int ae__layer_status(int rc)
{
    return rc == AE_OK || (rc < 0 && rc >= AE__ERR_LOWEST) ? rc : AE_ERR_INVALID;
}

int ae__net_init(ae__net *net, const ae_shape *input, uint64_t seed, const char *who);
void ae__net_fini(ae__net *net);
/* Appends a layer; on failure the net is unchanged. */
int ae__net_add(ae__net *net, const char *type_name, const void *config, size_t config_size,
                const char *who);
int ae__net_add_dense(ae__net *net, const ae_dense_options *opts, const char *who);
int ae__net_add_activation(ae__net *net, int activation, const char *who);
/* The spatial kinds: check the options struct, write the config blob and
 * go through ae__net_add (the layer's create validates the values). */
int ae__net_add_conv2d(ae__net *net, const ae_conv2d_options *opts, const char *who);
int ae__net_add_conv2d_transpose(ae__net *net, const ae_conv2d_transpose_options *opts,
                                 const char *who);
int ae__net_add_maxpool2d(ae__net *net, const ae_pool2d_options *opts, const char *who);
int ae__net_add_upsample2d(ae__net *net, const ae_upsample2d_options *opts, const char *who);
int ae__net_add_reshape(ae__net *net, const ae_shape *shape, const char *who);
int ae__net_add_flatten(ae__net *net, const char *who);
int ae__net_add_dropout(ae__net *net, const ae_dropout_options *opts, const char *who);
int ae__net_add_batchnorm(ae__net *net, const ae_batchnorm_options *opts, const char *who);
size_t ae__net_param_floats(const ae__net *net);
size_t ae__net_tensor_count(const ae__net *net);
/* Describes parameter tensor t (state 0) or state tensor t (state 1) of
 * the layer into view; a failing layer code is mapped by ae__layer_status(). */
int ae__layer_view(ae__layer *l, size_t t, int state, ae_param_view *view);
/* Fills views[0 .. tensor_count) with the parameter tensors in layer order. */
int ae__net_params(ae__net *net, ae_param_view *views);
/* The same for the layers' state tensors (vtable state_count/state_get:
 * batch normalization's running statistics), which the optimizer never
 * sees and model files store. */
size_t ae__net_state_count(const ae__net *net);
int ae__net_states(ae__net *net, ae_param_view *views);

/* Inference over a chain of nets (encoder, decoder or both), in chunks,
 * with scratch memory of its own: safe to call from several threads. */
int ae__chain_run(const ae__net *const *nets, size_t n_nets, const float *x, size_t count,
                  float *y, const char *who);

#endif
