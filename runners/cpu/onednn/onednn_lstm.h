/*
 * LSTM through oneDNN's C API: the machinery shared by the oneDNN runners.
 *
 * A model is a plan of "steps" (one primitive execution each, or the zeroing of
 * a small host buffer) built once at create time and replayed by forward() and
 * backward(). The LSTM layers are split into groups, each group run by one
 * oneDNN LSTM primitive with `count` layers, and the time axis into segments of
 * constant active batch (one segment for fixed-length runs; one per distinct
 * sequence length for variable-length runs, see docs/onednn-runners.md):
 *
 *   forward : for group g, for segment s:       lstm_fwd(g, s)   (+ dropout between groups)
 *   backward: for group g desc, for segment s desc: lstm_bwd(g, s) (+ dropout backward)
 *
 * Weights are converted from PyTorch's layout once, at create, into the formats
 * the primitives prefer (format_tag any, then query). Gradients of the weights
 * are kept in the library's formats and converted back only by outputs().
 *
 * Precision (ABI 1.3): the layer data and hidden states (src/dst_layer, src/dst_iter) and the weights are in
 * data_dt, f32 or bf16; the cell states, the bias and every gradient stay f32 (oneDNN 2.6's bf16 LSTM: bf16
 * diff tensors are unimplemented, f32 bias is required, f32 cell state is allowed and more accurate). onx_io's
 * void pointers hold data_dt elements, its float pointers f32.
 *
 * Inference (ABI 1.2 infer(n)): forward_inference primitives (no workspace),
 * cached by shape and made at the first call of a shape; they read the group's
 * forward weights when the library wants the same formats for them, else a copy
 * reordered once per format. Their scratchpad is one buffer of their own, grown
 * as plans need. onx_refresh_group_weights (load_param) re-reorders every copy.
 */
#ifndef NNB_ONEDNN_LSTM_H
#define NNB_ONEDNN_LSTM_H

#include "lstm_data.h"
#include "nnb_dnnl_support.h"
#include "nnb_support.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#define ONX_MAX_ARGS 24

typedef struct onx_step {
    dnnl_primitive_t prim; /* NULL: host step, zero zero_bytes at zero_ptr */
    int nargs;
    dnnl_exec_arg_t args[ONX_MAX_ARGS];
    const dnnl_memory_desc_t *scratch_md; /* user-managed scratchpad this execution needs, or NULL */
    int scratch_arg;                      /* index of the DNNL_ARG_SCRATCHPAD entry in args */
    void *zero_ptr;
    size_t zero_bytes;
} onx_step;

typedef struct onx_steps {
    onx_step *v;
    int n, cap;
} onx_steps;

/* Forward-training and backward LSTM primitives of one shape (shared by every call of that shape). */
typedef struct onx_prim {
    int64_t T, N, in, H, L;
    dnnl_primitive_desc_t fwd_pd, bwd_pd;
    dnnl_primitive_t fwd, bwd;
} onx_prim;

/* One copy of a group's weights and bias in the formats some primitive wants. */
typedef struct onx_weights {
    dnnl_memory_t layer, iter, bias;
} onx_weights;

/* A forward_inference LSTM primitive of one shape. */
typedef struct onx_infer_prim {
    int64_t T, N, in, H, L;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
} onx_infer_prim;

/* Layers [first, first + count) run by one primitive per segment; all inputs of width `in`. */
typedef struct onx_group {
    int64_t first, count, in;
    dnnl_memory_t w_layer, w_iter, bias;    /* forward primitive's formats */
    dnnl_memory_t bw_layer, bw_iter, bbias; /* backward primitive's formats (may alias the above) */
    dnnl_memory_t dw_layer, dw_iter, dbias; /* gradients in the backward primitive's formats */
    const onx_prim *shape_owner;            /* the primitive whose formats the memories follow */
    onx_weights *infer_w;                   /* copies in inference formats other than the forward's */
    int infer_w_count, infer_w_cap;
} onx_group;

/* Host pointers of one primitive call; states are (count, 1, N, H), layers (T, N, width). The void pointers
 * hold the model's data_dt, the float ones f32. */
typedef struct onx_io {
    void *src_layer, *src_iter;
    float *src_iter_c;
    void *dst_layer, *dst_iter;
    float *dst_iter_c;
    float *diff_src_layer, *diff_src_iter, *diff_src_iter_c;
    float *diff_dst_layer, *diff_dst_iter, *diff_dst_iter_c;
} onx_io;

typedef struct onx_model {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_primitive_attr_t attr; /* user-managed scratchpad: no allocation inside the timed region */
    int with_backward;
    dnnl_data_type_t data_dt; /* layer data, hidden states, weights: dnnl_f32 or dnnl_bf16 */
    size_t data_size;         /* bytes of one data_dt element */

    onx_prim **prims; /* LSTM primitive pairs (cached by shape) and the other primitives */
    int prim_count, prim_cap;
    onx_group *groups;
    int group_count;

    onx_steps fwd, bwd;

    nnb_dnnl_memories mems; /* every memory object, released at destroy */
    void **bufs;            /* every host buffer we allocated, released at destroy */
    int buf_count, buf_cap;
    void *scratch; /* shared user scratchpad (one of bufs) */
    size_t scratch_bytes, workspace_bytes;

    onx_infer_prim **infer_prims; /* inference primitives, cached by shape */
    int infer_prim_count, infer_prim_cap;
    void *infer_scratch; /* the inference plans' scratchpad (owned, grown) */
    size_t infer_scratch_bytes;
    dnnl_memory_t *infer_scratch_mems; /* every memory over infer_scratch, re-pointed when it grows */
    int infer_scratch_mem_count, infer_scratch_mem_cap;
} onx_model;

/* precision: NNB_PRECISION_FP32 or NNB_PRECISION_BF16 (anything else fails with err). */
int onx_model_init(onx_model *m, int with_backward, int precision, char *err, size_t err_len);
void onx_model_free(onx_model *m);

/* Host buffer owned by the model (zeroed, 64-byte aligned); NULL on overflow or no memory. */
float *onx_buffer(onx_model *m, size_t floats);
void *onx_bytes(onx_model *m, size_t bytes);
/* Host buffer of n data_dt elements (zeroed, owned by the model); NULL on overflow or no memory. */
void *onx_data_buffer(onx_model *m, size_t n);
/* src's n floats in data_dt: src itself in f32, else a fresh owned buffer rounded from src (untimed). */
void *onx_data_copy(onx_model *m, float *src, size_t n);
/* The address of element i of a data_dt array. */
static inline void *onx_data_at(const onx_model *m, void *base, size_t i) { return (char *)base + i * m->data_size; }
/* n data_dt elements widened to f32 (a copy in f32). */
void onx_data_to_f32(const onx_model *m, const void *src, float *dst, size_t n);

/* Define the groups (count entries of layer counts, in order); group 0 takes input I, others H. */
int onx_set_groups(onx_model *m, const int64_t *layer_counts, int count, int64_t I, int64_t H, char *err,
                   size_t err_len);

/* Build the primitives of one call (group g, T steps, batch N) and fill its forward and backward
 * steps (bwd_step untouched when the model has no backward). The group's weights memories are
 * created at its first call, from the PyTorch weights in d. */
int onx_add_call(onx_model *m, const nnb_lstm_data *d, int g, int64_t T, int64_t N, const onx_io *io,
                 onx_step *fwd_step, onx_step *bwd_step, char *err, size_t err_len);

/* The inference step of one call (group g, T steps, batch N; only io's src_* and dst_* are used): a
 * forward_inference primitive (cached by shape) on the group's weights in its formats (the forward's, or a
 * copy reordered from d when the library wants others). Needs the group's onx_add_call first. Bind the
 * plan's scratchpads with onx_bind_infer_scratch once its steps are made. */
int onx_add_infer_call(onx_model *m, const nnb_lstm_data *d, int g, int64_t T, int64_t N, const onx_io *io,
                       onx_step *step, char *err, size_t err_len);

/* Bind the scratchpad of every step of an inference plan to the shared inference scratchpad, growing it (and
 * re-pointing the plans bound before) when this plan needs more. */
int onx_bind_infer_scratch(onx_model *m, onx_steps *s, char *err, size_t err_len);

/* load_param: group g's weights and bias restaged from d (PyTorch layout, bias = b_ih + b_hh) and reordered
 * into every copy the primitives read (forward, backward, inference formats). */
int onx_refresh_group_weights(onx_model *m, const nnb_lstm_data *d, int g, char *err, size_t err_len);

/* Elementwise primitive a (op) b -> c on (rows, cols) arrays, as a step (e.g. dropout masks): a and c of type
 * ac_dt, b f32. */
int onx_binary_step(onx_model *m, dnnl_alg_kind_t alg, int64_t rows, int64_t cols, dnnl_data_type_t ac_dt, void *a,
                    float *b, void *c, onx_step *step, char *err, size_t err_len);

/* Layer normalization (gain 1, bias 0) over the last axis of (rows, cols) arrays of type dt: src -> dst (may
 * alias). */
int onx_layer_norm_step(onx_model *m, int64_t rows, int64_t cols, float eps, dnnl_data_type_t dt, void *src, void *dst,
                        onx_step *step, char *err, size_t err_len);

onx_step onx_zero_step(void *ptr, size_t bytes);
int onx_push(onx_steps *s, const onx_step *step, char *err, size_t err_len);

/* After every step is pushed: allocate the shared scratchpad and bind it. */
int onx_finalize(onx_model *m, char *err, size_t err_len);

/* Timed parts: run the steps, then wait for the stream. */
int onx_run(onx_model *m, const onx_steps *steps, char *err, size_t err_len);

/* zero_grad: the LSTM backward accumulates into diff weights and bias. */
void onx_zero_weight_grads(onx_model *m);

/* outputs(): convert the weight gradients of every group back to PyTorch's layout in d
 * (dw_ih, dw_hh; db_ih = db_hh = diff_bias). */
int onx_export_weight_grads(onx_model *m, nnb_lstm_data *d, char *err, size_t err_len);

/* Implementation names and formats, for describe(). */
const char *onx_impl_name(const_dnnl_primitive_desc_t pd);
const char *onx_format_name(const dnnl_memory_desc_t *md);

#endif
