/* SPDX-License-Identifier: MIT */
/*
 * onnx.h - ONNX export and import (docs/interop.md).
 *
 * Field numbers: onnx/onnx.proto (ONNX 1.12, as Debian's python3-onnx
 * ships it). Export walks a chain of nets and writes one ModelProto;
 * import parses a ModelProto into the structures below (every count and
 * size bounded, every slice inside the input), turns the node chain into
 * layer specs (kinds.c, the per-kind table) and builds the nets from them.
 */
#ifndef AE_ONNX_ONNX_H
#define AE_ONNX_ONNX_H

#include "ae/onnx.h"
#include "ae/scaler.h"
#include "nn/net.h"
#include "pb.h"

/* ---- onnx.proto field numbers ------------------------------------------- */
/* ModelProto */
#define ONNX_MODEL_IR_VERSION 1
#define ONNX_MODEL_PRODUCER_NAME 2
#define ONNX_MODEL_PRODUCER_VERSION 3
#define ONNX_MODEL_DOC_STRING 6
#define ONNX_MODEL_GRAPH 7
#define ONNX_MODEL_OPSET_IMPORT 8
#define ONNX_MODEL_METADATA_PROPS 14
#define ONNX_MODEL_FUNCTIONS 25
/* OperatorSetIdProto */
#define ONNX_OPSET_DOMAIN 1
#define ONNX_OPSET_VERSION 2
/* StringStringEntryProto */
#define ONNX_ENTRY_KEY 1
#define ONNX_ENTRY_VALUE 2
/* GraphProto */
#define ONNX_GRAPH_NODE 1
#define ONNX_GRAPH_NAME 2
#define ONNX_GRAPH_INITIALIZER 5
#define ONNX_GRAPH_INPUT 11
#define ONNX_GRAPH_OUTPUT 12
#define ONNX_GRAPH_SPARSE_INITIALIZER 15
/* NodeProto */
#define ONNX_NODE_INPUT 1
#define ONNX_NODE_OUTPUT 2
#define ONNX_NODE_NAME 3
#define ONNX_NODE_OP_TYPE 4
#define ONNX_NODE_ATTRIBUTE 5
#define ONNX_NODE_DOC_STRING 6
#define ONNX_NODE_DOMAIN 7
/* AttributeProto */
#define ONNX_ATTR_NAME 1
#define ONNX_ATTR_F 2
#define ONNX_ATTR_I 3
#define ONNX_ATTR_S 4
#define ONNX_ATTR_T 5
#define ONNX_ATTR_FLOATS 7
#define ONNX_ATTR_INTS 8
#define ONNX_ATTR_TYPE 20
#define ONNX_ATTR_REF_ATTR_NAME 21
/* AttributeProto.AttributeType */
#define ONNX_AT_FLOAT 1
#define ONNX_AT_INT 2
#define ONNX_AT_STRING 3
#define ONNX_AT_TENSOR 4
#define ONNX_AT_INTS 7
/* TensorProto */
#define ONNX_TENSOR_DIMS 1
#define ONNX_TENSOR_DATA_TYPE 2
#define ONNX_TENSOR_SEGMENT 3
#define ONNX_TENSOR_FLOAT_DATA 4
#define ONNX_TENSOR_INT32_DATA 5
#define ONNX_TENSOR_INT64_DATA 7
#define ONNX_TENSOR_NAME 8
#define ONNX_TENSOR_RAW_DATA 9
#define ONNX_TENSOR_DOC_STRING 12
#define ONNX_TENSOR_EXTERNAL_DATA 13
#define ONNX_TENSOR_DATA_LOCATION 14
/* TensorProto.DataType */
#define ONNX_FLOAT 1
#define ONNX_INT64 7
/* ValueInfoProto */
#define ONNX_VALUE_NAME 1
#define ONNX_VALUE_TYPE 2
/* TypeProto, TypeProto.Tensor, TensorShapeProto(.Dimension) */
#define ONNX_TYPE_TENSOR 1
#define ONNX_TTYPE_ELEM_TYPE 1
#define ONNX_TTYPE_SHAPE 2
#define ONNX_SHAPE_DIM 1
#define ONNX_DIM_VALUE 1
#define ONNX_DIM_PARAM 2

/* IR version export writes (opset 13's: IR_VERSION_2020_5_8). */
#define AE__ONNX_IR 7
/* Default-domain opsets import accepts. */
#define AE__ONNX_OPSET_MIN 11
#define AE__ONNX_OPSET_MAX 21

/* ---- import limits (besides the public AE_ONNX_*_MAX) ------------------- */
#define AE__ONNX_NAME_MAX 4096u   /* bytes of a value, node or op name */
#define AE__ONNX_IO_MAX 64u       /* graph inputs, outputs, opset imports */
#define AE__ONNX_NODE_IN 8u       /* inputs of one node */
#define AE__ONNX_NODE_OUT 4u      /* outputs of one node */
#define AE__ONNX_ATTRS_MAX 64u    /* attributes of one node */
#define AE__ONNX_INTS_MAX 16u     /* ints of one attribute */
#define AE__ONNX_RANK_MAX 8u      /* dims of a tensor or value */

/* A tensor: an initializer, a Constant node's value or an attribute's. */
typedef struct ae__onnx_tensor {
    ae__pbs name;
    int32_t dtype;
    int64_t dims[AE__ONNX_RANK_MAX];
    size_t rank;
    size_t count;     /* product of dims */
    ae__pbs data;     /* raw_data, or the packed float_data / int64_data */
    int packed_int64; /* data is packed varints (int64_data) */
} ae__onnx_tensor;

/* A graph input or output. */
typedef struct ae__onnx_value {
    ae__pbs name;
    int32_t elem;    /* 0 when the type is absent */
    size_t rank;     /* 0 when the shape is absent */
    int has_shape;
    int64_t dims[AE__ONNX_RANK_MAX]; /* -1 for a symbolic or absent dim */
} ae__onnx_value;

typedef struct ae__onnx_node {
    ae__pbs in[AE__ONNX_NODE_IN], out[AE__ONNX_NODE_OUT];
    size_t n_in, n_out;
    ae__pbs name, op, domain, doc;
    ae__pbs raw;     /* the NodeProto bytes: attributes are found in it */
} ae__onnx_node;

typedef struct ae__onnx_model {
    int64_t ir, opset;
    ae__onnx_node *nodes;
    size_t n_nodes;
    ae__onnx_tensor *inits;  /* initializers, then Constant nodes' values */
    size_t n_inits;
    size_t *index;           /* hash table over inits by name (index + 1, 0 empty) */
    size_t index_size;       /* a power of two, at least 2 * n_inits */
    ae__onnx_value in[AE__ONNX_IO_MAX], out[AE__ONNX_IO_MAX];
    size_t n_in, n_out;
    ae__pbs meta_key[AE_ONNX_METADATA_MAX], meta_value[AE_ONNX_METADATA_MAX];
    size_t n_meta;
} ae__onnx_model;

/* Parses a whole ModelProto (data must outlive the model). AE_ERR_FORMAT,
 * AE_ERR_LIMIT, AE_ERR_UNSUPPORTED or AE_ERR_NOMEM with a message. */
int ae__onnx_parse(ae__onnx_model *m, const void *data, size_t size, const char *who);
void ae__onnx_free(ae__onnx_model *m);
/* A metadata value by key; 1 when found. */
int ae__onnx_meta(const ae__onnx_model *m, const char *key, ae__pbs *value);

/* One attribute of a node, parsed. */
typedef struct ae__onnx_attr {
    int64_t type;
    float f;
    int64_t i;
    ae__pbs s;
    int64_t ints[AE__ONNX_INTS_MAX];
    size_t n_ints;
} ae__onnx_attr;

/* Finds attribute `name` of a node: 1 found, 0 absent, < 0 an error
 * (malformed, too many ints, a reference attribute) with the message set. */
int ae__onnx_attr_get(const ae__onnx_node *n, const char *name, ae__onnx_attr *a, const char *who);

/* ---- export -------------------------------------------------------------- */

#define AE__ONNX_DOMAINS_MAX 8u /* custom domains one export may import */

typedef struct ae__onnx_out {
    ae__pbw w;
    char *domains[AE__ONNX_DOMAINS_MAX]; /* custom kinds' domains (copies) */
    size_t n_domains;
    const char *prefix; /* "encoder" or "decoder" */
    size_t index;       /* layer index within the net */
    char name[64];      /* the layer's node name: prefix.index */
} ae__onnx_out;

/* The per-kind export function: writes the layer's node(s) from value `in`
 * to value `out` (with its initializers). */
typedef int (*ae__onnx_export_fn)(ae__onnx_out *o, const ae__layer *l, const char *in,
                                  const char *out);

/* Writes a node: op, inputs, one output, name; attributes are added
 * between ae__onnx_node_begin() and ae__onnx_node_end(). */
void ae__onnx_node_begin(ae__onnx_out *o, const char *op, const char *name, const char *const *in,
                         size_t n_in, const char *out, const char *doc);
void ae__onnx_node_end(ae__onnx_out *o);
void ae__onnx_attr_int(ae__onnx_out *o, const char *name, int64_t v);
void ae__onnx_attr_float(ae__onnx_out *o, const char *name, float v);
void ae__onnx_attr_string(ae__onnx_out *o, const char *name, const char *v);
void ae__onnx_attr_ints(ae__onnx_out *o, const char *name, const int64_t *v, size_t n);
/* An initializer: float32 (f) or int64 (i) data of the given dims. */
void ae__onnx_init_floats(ae__onnx_out *o, const char *name, const int64_t *dims, size_t rank,
                          const float *f);
void ae__onnx_init_int64(ae__onnx_out *o, const char *name, const int64_t *dims, size_t rank,
                         const int64_t *v);

/* Writes nets[0..n_nets) (named prefix[k]: "encoder", "decoder") as one
 * ONNX model into a new buffer (ae__free()); scaler (the model's, or NULL)
 * goes into the libae.scaler.* metadata_props. */
int ae__onnx_export(const ae__net *const *nets, size_t n_nets, const char *const *prefix,
                    const ae_scaler *scaler, const ae_onnx_export_options *opts, unsigned char **data,
                    size_t *size, const char *who);

/* Bytes one value of libae.scaler.shift or .scale may take, its comma
 * included (%.9g writes at most 15): the bound import holds a value to. */
#define AE__ONNX_SCALER_CHARS 24u

/* ---- import: layer specs ------------------------------------------------- */

/* What one node (or a fused pair) becomes: a built-in kind with its config
 * blob, and the tensors that fill its parameters and state by name. */
#define AE__ONNX_SPEC_TENSORS 4
typedef struct ae__onnx_spec {
    const char *kind;          /* AE_LAYER_*, or NULL: nothing (Identity, a merged Flatten) */
    unsigned char config[AE__CONFIG_BUF];
    size_t config_size;
    const char *tname[AE__ONNX_SPEC_TENSORS];           /* "weight", "bias", ... */
    const ae__onnx_tensor *tensor[AE__ONNX_SPEC_TENSORS];
    int transpose[AE__ONNX_SPEC_TENSORS];               /* a MatMul weight: K x units */
    size_t n_tensors;
    const ae__onnx_node *node; /* for messages */
    ae__pbs value;             /* the value it produces */
} ae__onnx_spec;

/* What an import function sees of the graph. */
typedef struct ae__onnx_ctx {
    const ae__onnx_model *m;
    const char *who;
    ae_shape shape;            /* per-sample shape of the chain's current value */
    ae__onnx_spec *prev;       /* the previous spec, or NULL */
    const ae__onnx_node *next; /* the next node, or NULL */
} ae__onnx_ctx;

/* Returns 1 when the node was consumed together with the next one (MatMul + Add). */
typedef int (*ae__onnx_import_fn)(ae__onnx_ctx *c, const ae__onnx_node *n, ae__onnx_spec *s);

/* Builds an encoder (enc set), a decoder (dec set) or both, split at the
 * latent, from a parsed model (import.c). */
int ae__onnx_build(const ae__onnx_model *m, ae_encoder **enc, ae_decoder **dec, const char *latent_opt,
                   uint64_t seed, const char *who);

/* The per-kind table (kinds.c): the built-in kinds by name, a custom kind
 * through its onnx_node hook; NULL when the kind has no ONNX form. */
ae__onnx_export_fn ae__onnx_exporter(const ae__kind *kind);
ae__onnx_import_fn ae__onnx_importer(const ae__onnx_node *n);

/* A tensor by value name (initializer or Constant), or NULL. */
const ae__onnx_tensor *ae__onnx_find_tensor(const ae__onnx_model *m, ae__pbs name);
/* The float values of a float32 tensor: dst gets t->count floats. */
void ae__onnx_tensor_floats(const ae__onnx_tensor *t, float *dst);
/* The int64 values of an int64 tensor (at most max); 0 or < 0 with a message. */
int ae__onnx_tensor_int64(const ae__onnx_tensor *t, int64_t *dst, size_t max, const char *who);
/* "node 'name' (op)" for messages, into buf. */
const char *ae__onnx_node_str(const ae__onnx_node *n, char *buf, size_t size);

#endif
