/*
 * Internals of the oneDNN ResNet runners (plugin nnb_cpu_resnet), shared by the files that build and run the
 * model. Not an interface: only these files and tests/resnet_layers_should_match_reference.c include it.
 *
 * Ownership: the model owns every primitive, primitive descriptor, memory object and buffer it creates
 * (created through the helpers of resnet_dnnl_memory.c, released by model_destroy in resnet_dnnl.c).
 * Every function with `char *err, size_t err_len` returns 0, or -1 with one line in err.
 *
 *   resnet_dnnl.c           runner interface: model lifecycle, the timed passes, describe, plugin table
 *   resnet_dnnl_memory.c    oneDNN plumbing: buffers, memories, primitives, reorders, step lists, weight copies
 *   resnet_dnnl_forward.c   training forward net, one builder per layer kind; fusion plan; running statistics
 *   resnet_dnnl_backward.c  backward net: gradient buffer pool, accumulation, the stem's own input gradient
 *   resnet_dnnl_infer.c     inference nets (ABI 1.2 infer), one per distinct batch n, over shared buffers
 */
#ifndef NNB_RESNET_DNNL_INTERNAL_H
#define NNB_RESNET_DNNL_INTERNAL_H

#include "nnb_dnnl_support.h"
#include "nnb_support.h"
#include "resnet_arch.h"

#include <dnnl.h>

#include <stddef.h>
#include <stdint.h>

#define TRY(expr)                                                                                                      \
    do {                                                                                                               \
        if ((expr) != 0)                                                                                               \
            return -1;                                                                                                 \
    } while (0)

/* One unit of work in forward or backward: a primitive with its arguments, or (prim NULL) the running
 * statistics update of BN layer `layer`, or (input_grad) the stem's input gradient by kernels/cnn_cpu. */
typedef struct step {
    dnnl_primitive_t prim;
    int layer;
    int input_grad;
    int nargs;
    dnnl_exec_arg_t args[10];
} step;

typedef struct step_list {
    step *items;
    int count, cap;
} step_list;

/* One copy of a layer's weights in a primitive's layout, made from torchvision's OIHW weights in params by a
 * reorder that load_param runs again. */
typedef struct weight_copy {
    dnnl_memory_desc_t md;
    dnnl_memory_t user, mem; /* over params (OIHW); the copy (md) */
    dnnl_primitive_t reorder;
} weight_copy;

typedef struct layer_state {
    dnnl_primitive_desc_t fwd_pd; /* hint for the backward primitives */
    dnnl_memory_t weights;        /* CONV, FC: in the training forward primitive's layout */
    weight_copy *wcopies;         /* CONV, FC: every layout a primitive wants (training and inference), once */
    int nwcopies, cap_wcopies;    /* wcopies in use, allocated */
    dnnl_memory_t diff_weights;   /* CONV, FC: in the backward-weights primitive's layout */
    dnnl_memory_t diff_weights_plain;
    dnnl_primitive_t diff_weights_reorder; /* to OIHW, in outputs() */
    dnnl_memory_t mean, var, workspace;    /* BN (workspace: fused ReLU mask), MAXPOOL (workspace) */
    int relu_fused_into_bn;                /* RELU: done by the preceding BN (forward and backward) */
    int relu_fused_into_add;               /* RELU: forward done by the preceding ADD's post-op */
    int fuse_relu;                         /* BN or ADD: applies the following ReLU */
} layer_state;

/* Plain buffers of the gradient pool, and every buffer the model owns. */
typedef struct buffer {
    void *ptr;
    size_t bytes;
    int refs;   /* activations whose gradient lives here and whose producer's backward has not run */
    int pooled; /* free for reuse */
} buffer;

typedef struct model {
    nnb_resnet_arch arch;
    const char *name;
    int fused;
    int threads;
    int precision;       /* nnb_precision: fp32, or bf16 (activations, conv/fc weights and their gradients) */
    dnnl_data_type_t dt; /* the network's data type: dnnl_f32, or dnnl_bf16 (BatchNorm, biases stay f32) */
    uint64_t seed;
    int internal_reorders; /* reorders inside the timed passes: 0 by construction, reported */
    int fusion_fallbacks;  /* add+ReLU left unfused (channel-padded layouts, see build_add_fwd) */

    dnnl_engine_t eng;
    dnnl_stream_t stream;

    dnnl_memory_desc_t *act_md; /* (num_acts) */
    dnnl_memory_t *act_mem;     /* (num_acts), in-place layers share their input's memory */
    dnnl_memory_t *diff_mem;    /* (num_acts) */
    int *diff_buf;              /* (num_acts) index into bufs, -1 none */
    int *consumers;             /* (num_acts) layers reading each activation */
    layer_state *ls;            /* (num_layers) */
    step_list fwd, bwd;

    buffer *bufs;
    int nbufs, cap_bufs;
    nnb_dnnl_memories mems; /* every memory object, released at destroy */
    dnnl_primitive_t *prims;
    int nprims, cap_prims;
    dnnl_primitive_desc_t *pds;
    int npds, cap_pds;

    /* torchvision layouts, as params() / outputs() show them */
    float *params;      /* (param_floats) packed in arch.params order; running statistics updated by forward */
    float *grads;       /* (param_floats) */
    float *x;           /* (N, 3, S, S) */
    float *grad_logits; /* (N, 1000) */
    float *logits;      /* (N, 1000) */
    float *dx;          /* (N, 3, S, S) */
    dnnl_primitive_t x_reorder, grad_logits_reorder, logits_reorder, dx_reorder;
    dnnl_memory_t x_plain, grad_logits_plain, logits_plain, dx_plain;

    nnb_tensor *in_tensors, *out_tensors;
    int n_in, n_out;

    char impl_conv1_fwd[96], impl_conv1_bwd_data[96], impl_conv1_bwd_weights[96], impl_bn[96];
    /* layer1.0.conv1's implementations (a body convolution, unlike the 3-channel stem) and the fc's */
    char impl_body_fwd[96], impl_body_bwd_data[96], impl_body_bwd_weights[96], impl_fc_fwd[96];
    /* Stem input gradient by kernels/cnn_cpu instead of oneDNN's backward data (see build_conv_bwd). */
    int own_input_grad;
    float *stem_wt; /* (ceil(k/16), r, r, c, 16): the stem weights rearranged, redone each backward */
    char fmt_act[48], fmt_weights[48];
    const char *cur_layer; /* layer being built, for slow_impls */
    char slow_impls[1024]; /* "layer:impl" of primitives that got oneDNN's reference (ref:) kernels */

    /* Inference (ABI 1.2 infer): one network per distinct n, built on its first use (see build_infer_net). */
    struct infer_net **infer; /* (N + 1) by n; NULL until infer(n) first runs */
    int *infer_slot;          /* (num_acts) shared buffer of each activation (nnb_resnet_plan_inference_slots) */
    int infer_num_slots;
    void **infer_buf;          /* (infer_num_slots + 1) the slots, then the scratchpad; every n, largest need */
    size_t *infer_buf_bytes;   /* (infer_num_slots + 1) */
    float *infer_logits;       /* (N, 1000) plain: the inference fc writes its first n rows */
    nnb_tensor *infer_tensors; /* outputs() after infer: logits (n, 1000), running statistics */
    int n_infer;
    int64_t last_infer_n;    /* 0: the last pass was a training forward (or none) */
    int infer_input_reorder; /* the last built net reorders x (else its first layer reads x as it is) */
    char fmt_infer_act[48], fmt_infer_weights[48]; /* layer1.0.conv1's in the last built net */
} model;

/* ---- resnet_dnnl_memory.c: oneDNN plumbing ---- */

/* A gradient buffer of exactly `bytes`: a pooled one if free, else a new one. Returns its index or -1. */
int rd_pool_get(model *m, size_t bytes, char *err, size_t err_len);
/* A memory object over `handle` (a buffer the model owns, or a params/grads slice; NULL: set later). */
int rd_wrap_mem(model *m, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out, char *err, size_t err_len);
/* A memory object over a new buffer of the md's size. */
int rd_alloc_mem(model *m, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len);
/* Descriptor and primitive for desc (attr, hint may be NULL), both kept; records oneDNN reference kernels. */
int rd_make_primitive(model *m, const_dnnl_op_desc_t desc, const_dnnl_primitive_attr_t attr,
                      const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, dnnl_primitive_t *prim, char *err,
                      size_t err_len);
/* A reorder from src's layout to dst's (attr, pd_out may be NULL), kept by the model. */
int rd_make_reorder_attr(model *m, dnnl_memory_t src, dnnl_memory_t dst, const_dnnl_primitive_attr_t attr,
                         dnnl_primitive_desc_t *pd_out, dnnl_primitive_t *prim, char *err, size_t err_len);
int rd_make_reorder(model *m, dnnl_memory_t src, dnnl_memory_t dst, dnnl_primitive_t *prim, char *err, size_t err_len);
/* Runs reorder r from src to dst and waits for it. */
int rd_run_reorder(model *m, dnnl_primitive_t r, dnnl_memory_t src, dnnl_memory_t dst, char *err, size_t err_len);
/* Appends a zeroed step for prim (NULL: see step) of layer `layer`; NULL when out of memory. */
step *rd_push_step(step_list *l, dnnl_primitive_t prim, int layer);
void rd_arg(step *s, int name, dnnl_memory_t mem);
const dnnl_memory_desc_t *rd_pd_md(const_dnnl_primitive_desc_t pd, int exec_arg);
void rd_md_init(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag); /* f32 */
void rd_md_init_dt(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag, dnnl_data_type_t dt);
/* oneDNN-style layout string of md, e.g. "aBcd16b" (= nChw16c); impl_name: the primitive's implementation. */
void rd_format_string(const dnnl_memory_desc_t *md, char *out, size_t len);
void rd_impl_name(const_dnnl_primitive_desc_t pd, char *out, size_t len);
/* NCHW dims of s. */
void rd_act_dims(const nnb_resnet_shape s, int64_t *d);
/* Layer li's weights in layout md: an existing copy, else a new one reordered from params now. */
int rd_weights_in(model *m, int li, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len);
/* After load_param changed layer li's weights in params: every copy again. */
int rd_refresh_weights(model *m, int li, char *err, size_t err_len);
/* Runs a step list (primitives, running statistics updates, the stem's input gradient) and waits. */
int rd_run_steps(model *m, const step_list *l, char *err, size_t err_len);

/* ---- resnet_dnnl_forward.c: the training forward net ---- */

/* Plans the fusions (fused variant), then appends every layer's forward to m->fwd. Needs m->consumers. */
int rd_build_forward(model *m, char *err, size_t err_len);
/* BatchNorm flags of layer li (training): scale, shift, and the fused ReLU where planned. */
unsigned rd_bn_flags(const model *m, int li);
/* Layer l's pooling as oneDNN takes it: max pooling's window, stride and padding, or the global average. */
typedef struct rd_pool_geometry {
    dnnl_alg_kind_t alg;
    dnnl_dims_t strides, kernel, dil, pad;
} rd_pool_geometry;
rd_pool_geometry rd_pool_geometry_of(const nnb_resnet_layer *l);
/* Layer l's max or (global) average pooling for prop, from src into a destination of dims dd (format any). */
dnnl_status_t rd_pool_desc_init(dnnl_pooling_v2_desc_t *d, const nnb_resnet_layer *l, dnnl_prop_kind_t prop,
                                const dnnl_memory_desc_t *src, const int64_t *dd);
/* running_mean/var of BN layer li from the batch statistics of its last forward (momentum, unbiased var). */
int rd_update_running_stats(model *m, int li, char *err, size_t err_len);

/* ---- resnet_dnnl_backward.c: the backward net ---- */

/* Appends every layer's backward to m->bwd, last layer first. Needs the forward net built. */
int rd_build_backward(model *m, char *err, size_t err_len);
/* dx = the stem's input gradient by kernels/cnn_cpu (a step with input_grad set). */
int rd_run_input_grad(model *m, int li, char *err, size_t err_len);

/* ---- resnet_dnnl_infer.c: inference nets ---- */

/* The per-model inference state that does not depend on n (made in create; no primitives). */
int rd_infer_setup(model *m, char *err, size_t err_len);
/* Frees every inference net and the shared buffers (the primitives belong to the model's lists). */
void rd_infer_free(model *m);
/* One inference pass over the first n (1..batch) samples of x; builds the net for n on its first use. */
int rd_infer(model *m, int64_t n, char *err, size_t err_len);
/* describe()'s "infer" object, appended to buf. */
void rd_describe_infer(const model *m, char *buf, size_t len, size_t *used);

#endif
