/*
 * The LSTM calls of the oneDNN machinery (onednn_lstm.h): forward-training/backward primitive pairs and
 * forward_inference primitives, cached by shape, and the steps of one call (group, T, N) over the caller's host
 * arrays; the inference plans' own scratchpad. Separate from the plumbing (onednn_lstm.c), which knows no LSTM,
 * and from the weights (onednn_lstm_weights.c), which know PyTorch's layout.
 */
#include "onednn_lstm_internal.h"

#include <stdlib.h>
#include <string.h>

/* Descriptors of one shape: activations in PyTorch's (plain) layouts, weights "any". Layer data, hidden states
 * and weights in dt (f32 or bf16); cell states, bias and every gradient f32 (onednn_lstm.h). */
typedef struct lstm_mds {
    dnnl_memory_desc_t src_layer, iter, iter_c, w_layer, w_iter, bias, dst_layer;
    dnnl_memory_desc_t diff_src_layer, diff_iter, diff_w_layer, diff_w_iter, diff_dst_layer;
} lstm_mds;

static int lstm_descs(lstm_mds *d, dnnl_data_type_t dt, int64_t T, int64_t N, int64_t in, int64_t H, int64_t L,
                      char *err, size_t err_len) {
    const int64_t src[] = {T, N, in}, dst[] = {T, N, H}, iter[] = {L, 1, N, H};
    const int64_t wl[] = {L, 1, in, 4, H}, wi[] = {L, 1, H, 4, H}, b[] = {L, 1, 4, H};
    const dnnl_format_tag_t any = dnnl_format_tag_any;
    if (onx_typed_md(&d->src_layer, 3, src, dt, dnnl_tnc, err, err_len) ||
        onx_typed_md(&d->dst_layer, 3, dst, dt, dnnl_tnc, err, err_len) ||
        onx_typed_md(&d->iter, 4, iter, dt, dnnl_ldnc, err, err_len) ||
        onx_plain_md(&d->iter_c, 4, iter, dnnl_ldnc, err, err_len) ||
        onx_typed_md(&d->w_layer, 5, wl, dt, any, err, err_len) ||
        onx_typed_md(&d->w_iter, 5, wi, dt, any, err, err_len) || onx_plain_md(&d->bias, 4, b, any, err, err_len) ||
        onx_plain_md(&d->diff_src_layer, 3, src, dnnl_tnc, err, err_len) ||
        onx_plain_md(&d->diff_dst_layer, 3, dst, dnnl_tnc, err, err_len) ||
        onx_plain_md(&d->diff_iter, 4, iter, dnnl_ldnc, err, err_len) ||
        onx_plain_md(&d->diff_w_layer, 5, wl, any, err, err_len) ||
        onx_plain_md(&d->diff_w_iter, 5, wi, any, err, err_len))
        return -1;
    return 0;
}

/* A forward LSTM primitive (training or inference, per prop) of the shape d describes. */
static int lstm_forward_prim(onx_model *m, const lstm_mds *d, dnnl_prop_kind_t prop, dnnl_primitive_desc_t *pd,
                             dnnl_primitive_t *prim, char *err, size_t err_len) {
    dnnl_rnn_desc_t fd;
    NNB_DNNL_TRY(dnnl_lstm_forward_desc_init(&fd, prop, dnnl_unidirectional_left2right, &d->src_layer, &d->iter,
                                             &d->iter_c, &d->w_layer, &d->w_iter, &d->bias, &d->dst_layer, &d->iter,
                                             &d->iter_c, 0));
    NNB_DNNL_TRY(dnnl_primitive_desc_create(pd, &fd, m->attr, m->engine, NULL));
    NNB_DNNL_TRY(dnnl_primitive_create(prim, *pd));
    return 0;
}

/* Memories over the six host arrays of one call (layer input, its two states, layer output, its two states):
 * the forward's (data types of the model) or their gradients' (f32). */
static int wrap_call_mems(onx_model *m, const lstm_mds *md, int diff, void *const ptr[6], dnnl_memory_t mem[6],
                          char *err, size_t err_len) {
    const dnnl_memory_desc_t *fwd[6] = {&md->src_layer, &md->iter, &md->iter_c, &md->dst_layer, &md->iter, &md->iter_c};
    const dnnl_memory_desc_t *bwd[6] = {&md->diff_src_layer, &md->diff_iter, &md->diff_iter,
                                        &md->diff_dst_layer, &md->diff_iter, &md->diff_iter};
    for (int i = 0; i < 6; i++)
        if (onx_wrap_mem(m, diff ? bwd[i] : fwd[i], ptr[i], &mem[i], err, err_len))
            return -1;
    return 0;
}

/* The forward arguments every LSTM execution takes: sources and destinations (wrap_call_mems order), weights. */
static void add_forward_args(onx_step *s, const dnnl_memory_t io[6], dnnl_memory_t w_layer, dnnl_memory_t w_iter,
                             dnnl_memory_t bias) {
    static const int src[3] = {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C};
    static const int dst[3] = {DNNL_ARG_DST_LAYER, DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C};
    for (int i = 0; i < 3; i++)
        onx_add_arg(s, src[i], io[i]);
    onx_add_arg(s, DNNL_ARG_WEIGHTS_LAYER, w_layer);
    onx_add_arg(s, DNNL_ARG_WEIGHTS_ITER, w_iter);
    onx_add_arg(s, DNNL_ARG_BIAS, bias);
    for (int i = 0; i < 3; i++)
        onx_add_arg(s, dst[i], io[3 + i]);
}

static int create_lstm_prim(onx_model *m, onx_prim *p, char *err, size_t err_len) {
    lstm_mds d;
    if (lstm_descs(&d, m->data_dt, p->T, p->N, p->in, p->H, p->L, err, err_len))
        return -1;
    if (lstm_forward_prim(m, &d, dnnl_forward_training, &p->fwd_pd, &p->fwd, err, err_len))
        return -1;
    if (!m->with_backward)
        return 0;
    dnnl_rnn_desc_t bd;
    NNB_DNNL_TRY(dnnl_lstm_backward_desc_init(
        &bd, dnnl_backward, dnnl_unidirectional_left2right, &d.src_layer, &d.iter, &d.iter_c, &d.w_layer, &d.w_iter,
        &d.bias, &d.dst_layer, &d.iter, &d.iter_c, &d.diff_src_layer, &d.diff_iter, &d.diff_iter, &d.diff_w_layer,
        &d.diff_w_iter, &d.bias, &d.diff_dst_layer, &d.diff_iter, &d.diff_iter, 0));
    NNB_DNNL_TRY(dnnl_primitive_desc_create(&p->bwd_pd, &bd, m->attr, m->engine, p->fwd_pd));
    NNB_DNNL_TRY(dnnl_primitive_create(&p->bwd, p->bwd_pd));
    return 0;
}

/* The cached primitive pair of this shape, created on first use. */
static onx_prim *get_prim(onx_model *m, int64_t T, int64_t N, int64_t in, int64_t H, int64_t L, char *err,
                          size_t err_len) {
    onx_prim **prims = m->prims;
    for (int i = 0; i < m->prim_count; i++) {
        onx_prim *p = prims[i];
        if (p->T == T && p->N == N && p->in == in && p->H == H && p->L == L)
            return p;
    }
    onx_prim *p = (onx_prim *)calloc(1, sizeof *p);
    if (!p || nnb_grow(&m->prims, &m->prim_cap, m->prim_count + 1, sizeof *m->prims)) {
        free(p);
        nnb_fail(err, err_len, "out of memory");
        return NULL;
    }
    p->T = T, p->N = N, p->in = in, p->H = H, p->L = L;
    m->prims[m->prim_count++] = p; /* tracked before creation so destroy() cleans up */
    if (create_lstm_prim(m, p, err, err_len))
        return NULL;
    return p;
}

/* Every call of a group shares its weights: the formats oneDNN picks must agree across shapes. */
static int same_weight_formats(const onx_prim *a, const onx_prim *b, int with_backward) {
    static const int fwd_args[] = {DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS};
    static const int bwd_args[] = {DNNL_ARG_WEIGHTS_LAYER,      DNNL_ARG_WEIGHTS_ITER,      DNNL_ARG_BIAS,
                                   DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS};
    for (int i = 0; i < 3; i++)
        if (!dnnl_memory_desc_equal(onx_arg_md(a->fwd_pd, fwd_args[i]), onx_arg_md(b->fwd_pd, fwd_args[i])))
            return 0;
    if (with_backward)
        for (int i = 0; i < 6; i++)
            if (!dnnl_memory_desc_equal(onx_arg_md(a->bwd_pd, bwd_args[i]), onx_arg_md(b->bwd_pd, bwd_args[i])))
                return 0;
    return 1;
}

/* The forward primitive's workspace (kept for the backward), or NULL when it needs none. */
static int call_workspace(onx_model *m, const onx_prim *p, dnnl_memory_t *ws, char *err, size_t err_len) {
    const dnnl_memory_desc_t *ws_md = onx_arg_md(p->fwd_pd, DNNL_ARG_WORKSPACE);
    *ws = NULL;
    if (onx_md_empty(ws_md))
        return 0;
    void *buf = onx_raw_buffer(m, dnnl_memory_desc_get_size(ws_md));
    if (!buf)
        return nnb_fail(err, err_len, "out of memory (%zu bytes of workspace)", dnnl_memory_desc_get_size(ws_md));
    if (onx_wrap_mem(m, ws_md, buf, ws, err, err_len))
        return -1;
    m->workspace_bytes += dnnl_memory_desc_get_size(ws_md);
    return 0;
}

/* The backward step of a call: the forward's arguments (backward weights), workspace, and the gradients. */
static int backward_step(onx_model *m, const onx_prim *p, const onx_group *g, const lstm_mds *md, const onx_io *io,
                         const dnnl_memory_t fwd_io[6], dnnl_memory_t ws, onx_step *step, char *err, size_t err_len) {
    void *const diff_ptr[6] = {io->diff_src_layer, io->diff_src_iter, io->diff_src_iter_c,
                               io->diff_dst_layer, io->diff_dst_iter, io->diff_dst_iter_c};
    dnnl_memory_t diff[6];
    if (wrap_call_mems(m, md, 1, diff_ptr, diff, err, err_len))
        return -1;
    memset(step, 0, sizeof *step);
    step->prim = p->bwd;
    add_forward_args(step, fwd_io, g->bw_layer, g->bw_iter, g->bbias);
    if (ws)
        onx_add_arg(step, DNNL_ARG_WORKSPACE, ws);
    onx_add_arg(step, DNNL_ARG_DIFF_SRC_LAYER, diff[0]);
    onx_add_arg(step, DNNL_ARG_DIFF_SRC_ITER, diff[1]);
    onx_add_arg(step, DNNL_ARG_DIFF_SRC_ITER_C, diff[2]);
    onx_add_arg(step, DNNL_ARG_DIFF_WEIGHTS_LAYER, g->dw_layer);
    onx_add_arg(step, DNNL_ARG_DIFF_WEIGHTS_ITER, g->dw_iter);
    onx_add_arg(step, DNNL_ARG_DIFF_BIAS, g->dbias);
    onx_add_arg(step, DNNL_ARG_DIFF_DST_LAYER, diff[3]);
    onx_add_arg(step, DNNL_ARG_DIFF_DST_ITER, diff[4]);
    onx_add_arg(step, DNNL_ARG_DIFF_DST_ITER_C, diff[5]);
    onx_add_scratch_slot(step, p->bwd_pd);
    return 0;
}

/* io's forward pointers, in wrap_call_mems order. */
#define FORWARD_PTRS(io)                                                                                               \
    { (io)->src_layer, (io)->src_iter, (io)->src_iter_c, (io)->dst_layer, (io)->dst_iter, (io)->dst_iter_c }

int onx_add_call(onx_model *m, const nnb_lstm_data *d, int gi, int64_t T, int64_t N, const onx_io *io,
                 onx_step *fwd_step, onx_step *bwd_step, char *err, size_t err_len) {
    onx_group *g = &m->groups[gi];
    onx_prim *p = get_prim(m, T, N, g->in, d->H, g->count, err, err_len);
    if (!p)
        return -1;
    if (!g->shape_owner) {
        if (onx_create_group_weights(m, d, g, p, err, err_len))
            return -1;
    } else if (!same_weight_formats(g->shape_owner, p, m->with_backward)) {
        return nnb_fail(err, err_len, "oneDNN chose different weight formats for T=%lld N=%lld than for T=%lld N=%lld",
                        (long long)T, (long long)N, (long long)g->shape_owner->T, (long long)g->shape_owner->N);
    }
    lstm_mds md;
    void *const ptr[6] = FORWARD_PTRS(io);
    dnnl_memory_t mem[6], ws;
    if (lstm_descs(&md, m->data_dt, T, N, g->in, d->H, g->count, err, err_len) ||
        wrap_call_mems(m, &md, 0, ptr, mem, err, err_len) || call_workspace(m, p, &ws, err, err_len))
        return -1;
    memset(fwd_step, 0, sizeof *fwd_step);
    fwd_step->prim = p->fwd;
    add_forward_args(fwd_step, mem, g->w_layer, g->w_iter, g->bias);
    if (ws)
        onx_add_arg(fwd_step, DNNL_ARG_WORKSPACE, ws);
    onx_add_scratch_slot(fwd_step, p->fwd_pd);
    return m->with_backward ? backward_step(m, p, g, &md, io, mem, ws, bwd_step, err, err_len) : 0;
}

/* ------------------------------------------------------------------ inference */

static int create_infer_prim(onx_model *m, onx_infer_prim *p, char *err, size_t err_len) {
    lstm_mds d;
    if (lstm_descs(&d, m->data_dt, p->T, p->N, p->in, p->H, p->L, err, err_len))
        return -1;
    return lstm_forward_prim(m, &d, dnnl_forward_inference, &p->pd, &p->prim, err, err_len);
}

/* The cached forward_inference primitive of this shape, created on first use. */
static onx_infer_prim *get_infer_prim(onx_model *m, int64_t T, int64_t N, int64_t in, int64_t H, int64_t L, char *err,
                                      size_t err_len) {
    for (int i = 0; i < m->infer_prim_count; i++) {
        onx_infer_prim *p = m->infer_prims[i];
        if (p->T == T && p->N == N && p->in == in && p->H == H && p->L == L)
            return p;
    }
    onx_infer_prim *p = (onx_infer_prim *)calloc(1, sizeof *p);
    if (!p || nnb_grow(&m->infer_prims, &m->infer_prim_cap, m->infer_prim_count + 1, sizeof *m->infer_prims)) {
        free(p);
        nnb_fail(err, err_len, "out of memory");
        return NULL;
    }
    p->T = T, p->N = N, p->in = in, p->H = H, p->L = L;
    m->infer_prims[m->infer_prim_count++] = p; /* tracked before creation so destroy() cleans up */
    return create_infer_prim(m, p, err, err_len) ? NULL : p;
}

int onx_add_infer_call(onx_model *m, const nnb_lstm_data *d, int gi, int64_t T, int64_t N, const onx_io *io,
                       onx_step *step, char *err, size_t err_len) {
    onx_group *g = &m->groups[gi];
    if (!g->shape_owner)
        return nnb_fail(err, err_len, "inference call of layer group %d before its training call", gi);
    onx_infer_prim *p = get_infer_prim(m, T, N, g->in, d->H, g->count, err, err_len);
    onx_weights w = {0};
    if (!p || onx_infer_weights(m, d, g, p->pd, &w, err, err_len))
        return -1;
    lstm_mds md;
    void *const ptr[6] = FORWARD_PTRS(io);
    dnnl_memory_t mem[6];
    if (lstm_descs(&md, m->data_dt, T, N, g->in, d->H, g->count, err, err_len) ||
        wrap_call_mems(m, &md, 0, ptr, mem, err, err_len))
        return -1;
    if (!onx_md_empty(onx_arg_md(p->pd, DNNL_ARG_WORKSPACE)))
        return nnb_fail(err, err_len, "oneDNN's forward_inference LSTM asks for a workspace");
    memset(step, 0, sizeof *step);
    step->prim = p->prim;
    add_forward_args(step, mem, w.layer, w.iter, w.bias);
    onx_add_scratch_slot(step, p->pd);
    return 0;
}

/* A bigger inference scratchpad; every memory bound to the old one moves to it. */
static int grow_infer_scratch(onx_model *m, size_t bytes, char *err, size_t err_len) {
    size_t rounded = (bytes + 63) / 64 * 64;
    void *p = rounded >= bytes ? aligned_alloc(64, rounded) : NULL;
    if (!p)
        return nnb_fail(err, err_len, "out of memory (%zu bytes of inference scratchpad)", bytes);
    for (int i = 0; i < m->infer_scratch_mem_count; i++)
        if (dnnl_memory_set_data_handle(m->infer_scratch_mems[i], p) != dnnl_success) {
            free(p); /* unreachable in practice: a CPU memory takes any pointer */
            return nnb_fail(err, err_len, "dnnl_memory_set_data_handle failed (%s:%d)", __FILE__, __LINE__);
        }
    free(m->infer_scratch);
    m->infer_scratch = p;
    m->infer_scratch_bytes = bytes;
    return 0;
}

int onx_bind_infer_scratch(onx_model *m, onx_steps *s, char *err, size_t err_len) {
    size_t need = onx_max_scratch(s, 0);
    if (need > m->infer_scratch_bytes && grow_infer_scratch(m, need, err, err_len))
        return -1;
    for (int i = 0; i < s->n; i++) {
        onx_step *st = &s->v[i];
        if (!st->scratch_md)
            continue;
        if (nnb_grow(&m->infer_scratch_mems, &m->infer_scratch_mem_cap, m->infer_scratch_mem_count + 1,
                     sizeof *m->infer_scratch_mems))
            return nnb_fail(err, err_len, "out of memory");
        if (onx_wrap_mem(m, st->scratch_md, m->infer_scratch, &st->args[st->scratch_arg].memory, err, err_len))
            return -1;
        m->infer_scratch_mems[m->infer_scratch_mem_count++] = st->args[st->scratch_arg].memory;
    }
    return 0;
}
