/*
 * Internals of the oneDNN LSTM machinery (onednn_lstm.h), shared by its three files; only they include this.
 *
 *   onednn_lstm.c          plumbing: model lifetime, buffers, memories, reorders, steps, other primitives, running
 *   onednn_lstm_calls.c    LSTM primitives (training pair, inference) cached by shape, and the steps of one call
 *   onednn_lstm_weights.c  weights: staged from PyTorch's layout, copies in the library's formats, gradients back
 *
 * Memories and buffers made here belong to the model (released by onx_model_free). Functions with
 * `char *err, size_t err_len` return 0 (or a pointer), else -1 (NULL) with one line in err.
 */
#ifndef NNB_ONEDNN_LSTM_INTERNAL_H
#define NNB_ONEDNN_LSTM_INTERNAL_H

#include "onednn_lstm.h"

/* ---- onednn_lstm.c ---- */

/* A memory object over a host pointer the model owns (or a caller's that outlives the model). */
int onx_wrap_mem(onx_model *m, const dnnl_memory_desc_t *md, void *ptr, dnnl_memory_t *out, char *err, size_t err_len);
/* 64-byte aligned, not zeroed, owned by the model; NULL when out of memory. */
void *onx_raw_buffer(onx_model *m, size_t bytes);
/* A memory object over a fresh zeroed buffer of md's size. */
int onx_new_mem(onx_model *m, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len);
int onx_plain_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag, char *err,
                 size_t err_len); /* f32 */
int onx_typed_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_data_type_t dt, dnnl_format_tag_t tag,
                 char *err, size_t err_len);
const dnnl_memory_desc_t *onx_arg_md(const_dnnl_primitive_desc_t pd, int arg);
int onx_md_empty(const dnnl_memory_desc_t *md);
/* One-off reorder (create time or outputs(), never timed). */
int onx_reorder(onx_model *m, dnnl_memory_t from, dnnl_memory_t to, char *err, size_t err_len);
void onx_add_arg(onx_step *s, int arg, dnnl_memory_t mem);
/* Leaves the step's scratchpad slot, bound later to a shared buffer (none when pd needs no scratchpad). */
void onx_add_scratch_slot(onx_step *s, const_dnnl_primitive_desc_t pd);
/* The largest scratchpad the steps need, at least best. */
size_t onx_max_scratch(const onx_steps *s, size_t best);

/* ---- onednn_lstm_weights.c ---- */

/* Group g's weights in the formats of p's forward (and backward) primitive, reordered from d; the gradients'
 * memories. Called at the group's first call; p becomes g->shape_owner. */
int onx_create_group_weights(onx_model *m, const nnb_lstm_data *d, onx_group *g, const onx_prim *p, char *err,
                             size_t err_len);
/* The group's weights in the formats inference primitive pd wants: the forward's, or a copy made once. */
int onx_infer_weights(onx_model *m, const nnb_lstm_data *d, onx_group *g, const_dnnl_primitive_desc_t pd,
                      onx_weights *out, char *err, size_t err_len);

#endif
