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

int ae__net_init(ae__net *net, const ae_shape *input, uint64_t seed, const char *who);
void ae__net_fini(ae__net *net);
/* Appends a layer; on failure the net is unchanged. */
int ae__net_add(ae__net *net, const char *type_name, const void *config, size_t config_size,
                const char *who);
/* Appends a built-in kind through its catalogue row: reads opts (its
 * options struct at the caller's size over the defaults, a plain value, or
 * nothing), writes the config blob and goes through ae__net_add, where the
 * kind's create() validates it: the one check, messages prefixed by who. */
int ae__net_add_builtin(ae__net *net, const char *type_name, const void *opts, const char *who);
size_t ae__net_param_floats(const ae__net *net);
size_t ae__net_tensor_count(const ae__net *net);
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
