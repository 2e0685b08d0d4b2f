#include "onednn_lstm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ bookkeeping */

float *onx_buffer(onx_model *m, size_t floats) {
    if (nnb_grow(&m->bufs, &m->buf_cap, m->buf_count + 1, sizeof *m->bufs))
        return NULL;
    float *p = nnb_alloc_floats(floats);
    if (p)
        m->bufs[m->buf_count++] = p;
    return p;
}

void *onx_bytes(onx_model *m, size_t bytes) {
    if (bytes > SIZE_MAX - sizeof(float))
        return NULL;
    return onx_buffer(m, (bytes + sizeof(float) - 1) / sizeof(float));
}

/* A memory object over a host pointer we own. */
static int wrap_mem(onx_model *m, const dnnl_memory_desc_t *md, void *ptr, dnnl_memory_t *out, char *err,
                    size_t err_len) {
    return nnb_dnnl_wrap(&m->mems, m->engine, md, ptr, out, err, err_len);
}

/* 64-byte aligned, not zeroed: workspace and scratchpad are written before they are read, and
 * clearing hundreds of MB would only inflate create_ms. Released with the model's buffers. */
static void *raw_buffer(onx_model *m, size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded < bytes || nnb_grow(&m->bufs, &m->buf_cap, m->buf_count + 1, sizeof *m->bufs))
        return NULL;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (p)
        m->bufs[m->buf_count++] = p;
    return p;
}

/* A memory object over a fresh zeroed buffer of md's size. */
static int new_mem(onx_model *m, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len) {
    size_t bytes = dnnl_memory_desc_get_size(md);
    float *p = onx_buffer(m, (bytes + sizeof(float) - 1) / sizeof(float));
    if (!p)
        return nnb_fail(err, err_len, "out of memory (%zu bytes for a oneDNN memory)", bytes);
    return wrap_mem(m, md, p, out, err, err_len);
}

static int plain_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag, char *err,
                    size_t err_len) {
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    NNB_DNNL_TRY(dnnl_memory_desc_init_by_tag(md, ndims, d, dnnl_f32, tag));
    return 0;
}

static const dnnl_memory_desc_t *arg_md(const_dnnl_primitive_desc_t pd, int arg) {
    return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
}

static int md_empty(const dnnl_memory_desc_t *md) { return !md || dnnl_memory_desc_get_size(md) == 0; }

/* One-off reorder (create time or outputs(), never timed). */
static int reorder(onx_model *m, dnnl_memory_t from, dnnl_memory_t to, char *err, size_t err_len) {
    const dnnl_memory_desc_t *src_md, *dst_md;
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(from, &src_md));
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(to, &dst_md));
    dnnl_primitive_desc_t pd;
    NNB_DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, src_md, m->engine, dst_md, m->engine, NULL));
    dnnl_primitive_t prim;
    dnnl_status_t st = dnnl_primitive_create(&prim, pd);
    dnnl_primitive_desc_destroy(pd);
    NNB_DNNL_TRY(st);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    st = dnnl_primitive_execute(prim, m->stream, 2, args);
    if (st == dnnl_success)
        st = dnnl_stream_wait(m->stream);
    dnnl_primitive_destroy(prim);
    NNB_DNNL_TRY(st);
    return 0;
}

int onx_push(onx_steps *s, const onx_step *step, char *err, size_t err_len) {
    if (nnb_grow(&s->v, &s->cap, s->n + 1, sizeof *s->v))
        return nnb_fail(err, err_len, "out of memory");
    s->v[s->n++] = *step;
    return 0;
}

onx_step onx_zero_step(void *ptr, size_t bytes) {
    onx_step s;
    memset(&s, 0, sizeof s);
    s.zero_ptr = ptr;
    s.zero_bytes = bytes;
    return s;
}

static void add_arg(onx_step *s, int arg, dnnl_memory_t mem) {
    s->args[s->nargs].arg = arg;
    s->args[s->nargs].memory = mem;
    s->nargs++;
}

/* Scratchpad is user-managed: leave a slot that onx_finalize binds to the shared buffer. */
static void add_scratch_slot(onx_step *s, const_dnnl_primitive_desc_t pd) {
    const dnnl_memory_desc_t *md = arg_md(pd, DNNL_ARG_SCRATCHPAD);
    if (md_empty(md))
        return;
    s->scratch_md = md;
    s->scratch_arg = s->nargs;
    add_arg(s, DNNL_ARG_SCRATCHPAD, NULL);
}

/* Primitives other than the LSTM ones (binary, layer norm), kept for destroy(). */
static int keep_prim(onx_model *m, dnnl_primitive_desc_t pd, dnnl_primitive_t prim, char *err, size_t err_len) {
    onx_prim *p = (onx_prim *)calloc(1, sizeof *p);
    if (!p || nnb_grow(&m->prims, &m->prim_cap, m->prim_count + 1, sizeof *m->prims)) {
        free(p);
        dnnl_primitive_destroy(prim);
        dnnl_primitive_desc_destroy(pd);
        return nnb_fail(err, err_len, "out of memory");
    }
    p->fwd_pd = pd;
    p->fwd = prim;
    m->prims[m->prim_count++] = p;
    return 0;
}

/* ------------------------------------------------------------------ model */

int onx_model_init(onx_model *m, int with_backward, char *err, size_t err_len) {
    memset(m, 0, sizeof *m);
    m->with_backward = with_backward;
    NNB_DNNL_TRY(dnnl_engine_create(&m->engine, dnnl_cpu, 0));
    NNB_DNNL_TRY(dnnl_stream_create(&m->stream, m->engine, dnnl_stream_default_flags));
    NNB_DNNL_TRY(dnnl_primitive_attr_create(&m->attr));
    NNB_DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(m->attr, dnnl_scratchpad_mode_user));
    return 0;
}

void onx_model_free(onx_model *m) {
    onx_prim **prims = m->prims;
    for (int i = 0; i < m->prim_count; i++) {
        if (prims[i]->fwd)
            dnnl_primitive_destroy(prims[i]->fwd);
        if (prims[i]->bwd)
            dnnl_primitive_destroy(prims[i]->bwd);
        if (prims[i]->fwd_pd)
            dnnl_primitive_desc_destroy(prims[i]->fwd_pd);
        if (prims[i]->bwd_pd)
            dnnl_primitive_desc_destroy(prims[i]->bwd_pd);
        free(prims[i]);
    }
    free(m->prims);
    for (int i = 0; i < m->infer_prim_count; i++) {
        if (m->infer_prims[i]->prim)
            dnnl_primitive_destroy(m->infer_prims[i]->prim);
        if (m->infer_prims[i]->pd)
            dnnl_primitive_desc_destroy(m->infer_prims[i]->pd);
        free(m->infer_prims[i]);
    }
    free(m->infer_prims);
    free(m->infer_scratch);
    free(m->infer_scratch_mems);
    for (int g = 0; g < m->group_count; g++)
        free(m->groups[g].infer_w);
    nnb_dnnl_release(&m->mems);
    for (int i = 0; i < m->buf_count; i++)
        nnb_free(m->bufs[i]);
    free(m->bufs);
    free(m->groups);
    free(m->fwd.v);
    free(m->bwd.v);
    if (m->attr)
        dnnl_primitive_attr_destroy(m->attr);
    if (m->stream)
        dnnl_stream_destroy(m->stream);
    if (m->engine)
        dnnl_engine_destroy(m->engine);
    memset(m, 0, sizeof *m);
}

int onx_set_groups(onx_model *m, const int64_t *layer_counts, int count, int64_t I, int64_t H, char *err,
                   size_t err_len) {
    m->groups = (onx_group *)calloc((size_t)count, sizeof *m->groups);
    if (!m->groups)
        return nnb_fail(err, err_len, "out of memory");
    m->group_count = count;
    int64_t first = 0;
    for (int g = 0; g < count; g++) {
        m->groups[g].first = first;
        m->groups[g].count = layer_counts[g];
        m->groups[g].in = first == 0 ? I : H;
        first += layer_counts[g];
    }
    return 0;
}

/* ------------------------------------------------------------------ LSTM primitives */

/* Descriptors of one shape: activations in PyTorch's (plain) layouts, weights "any". */
typedef struct lstm_mds {
    dnnl_memory_desc_t src_layer, iter, w_layer, w_iter, bias, dst_layer;
} lstm_mds;

static int lstm_descs(lstm_mds *d, int64_t T, int64_t N, int64_t in, int64_t H, int64_t L, char *err, size_t err_len) {
    const int64_t src[] = {T, N, in}, dst[] = {T, N, H}, iter[] = {L, 1, N, H};
    const int64_t wl[] = {L, 1, in, 4, H}, wi[] = {L, 1, H, 4, H}, b[] = {L, 1, 4, H};
    if (plain_md(&d->src_layer, 3, src, dnnl_tnc, err, err_len) ||
        plain_md(&d->dst_layer, 3, dst, dnnl_tnc, err, err_len) ||
        plain_md(&d->iter, 4, iter, dnnl_ldnc, err, err_len) ||
        plain_md(&d->w_layer, 5, wl, dnnl_format_tag_any, err, err_len) ||
        plain_md(&d->w_iter, 5, wi, dnnl_format_tag_any, err, err_len) ||
        plain_md(&d->bias, 4, b, dnnl_format_tag_any, err, err_len))
        return -1;
    return 0;
}

static int create_lstm_prim(onx_model *m, onx_prim *p, char *err, size_t err_len) {
    lstm_mds d;
    if (lstm_descs(&d, p->T, p->N, p->in, p->H, p->L, err, err_len))
        return -1;
    dnnl_rnn_desc_t fd;
    NNB_DNNL_TRY(dnnl_lstm_forward_desc_init(&fd, dnnl_forward_training, dnnl_unidirectional_left2right, &d.src_layer,
                                             &d.iter, &d.iter, &d.w_layer, &d.w_iter, &d.bias, &d.dst_layer, &d.iter,
                                             &d.iter, 0));
    NNB_DNNL_TRY(dnnl_primitive_desc_create(&p->fwd_pd, &fd, m->attr, m->engine, NULL));
    NNB_DNNL_TRY(dnnl_primitive_create(&p->fwd, p->fwd_pd));
    if (!m->with_backward)
        return 0;
    dnnl_rnn_desc_t bd;
    NNB_DNNL_TRY(dnnl_lstm_backward_desc_init(&bd, dnnl_backward, dnnl_unidirectional_left2right, &d.src_layer, &d.iter,
                                              &d.iter, &d.w_layer, &d.w_iter, &d.bias, &d.dst_layer, &d.iter, &d.iter,
                                              &d.src_layer, &d.iter, &d.iter, &d.w_layer, &d.w_iter, &d.bias,
                                              &d.dst_layer, &d.iter, &d.iter, 0));
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

/* The group's PyTorch weights staged in user formats, the source of every reorder into the library's. */
typedef struct staged_weights {
    float *wl, *wi, *b;    /* (count, 1, 4, H, in), (count, 1, 4, H, H) "ldgoi"; (count, 1, 4, H) "ldgo" */
    dnnl_memory_t user[3]; /* over wl, wi, b */
} staged_weights;

static void unstage_weights(staged_weights *s) {
    for (int i = 0; i < 3; i++)
        if (s->user[i])
            dnnl_memory_destroy(s->user[i]);
    nnb_free(s->wl);
    nnb_free(s->wi);
    nnb_free(s->b);
    memset(s, 0, sizeof *s);
}

/* PyTorch's (4H, in) per layer is exactly oneDNN's ldgoi (g, o, i) for one layer, so staging is a memcpy per
 * layer; the one oneDNN bias is b_ih + b_hh. */
static int stage_weights(onx_model *m, const nnb_lstm_data *d, const onx_group *g, staged_weights *s, char *err,
                         size_t err_len) {
    memset(s, 0, sizeof *s);
    const int64_t H = d->H, in = g->in, cnt = g->count;
    const int64_t wl_dims[] = {cnt, 1, in, 4, H}, wi_dims[] = {cnt, 1, H, 4, H}, b_dims[] = {cnt, 1, 4, H};
    dnnl_memory_desc_t md[3];
    if (plain_md(&md[0], 5, wl_dims, dnnl_ldgoi, err, err_len) ||
        plain_md(&md[1], 5, wi_dims, dnnl_ldgoi, err, err_len) || plain_md(&md[2], 4, b_dims, dnnl_ldgo, err, err_len))
        return -1;
    const size_t wl_n = (size_t)(4 * H * in), wi_n = (size_t)(4 * H * H), b_n = (size_t)(4 * H);
    s->wl = nnb_alloc_floats(wl_n * (size_t)cnt);
    s->wi = nnb_alloc_floats(wi_n * (size_t)cnt);
    s->b = nnb_alloc_floats(b_n * (size_t)cnt);
    if (!s->wl || !s->wi || !s->b) {
        unstage_weights(s);
        return nnb_fail(err, err_len, "out of memory staging layer weights");
    }
    for (int64_t k = 0; k < cnt; k++) {
        int64_t layer = g->first + k;
        memcpy(s->wl + (size_t)k * wl_n, d->w_ih[layer], sizeof(float) * wl_n);
        memcpy(s->wi + (size_t)k * wi_n, d->w_hh[layer], sizeof(float) * wi_n);
        for (size_t e = 0; e < b_n; e++)
            s->b[(size_t)k * b_n + e] = d->b_ih[layer][e] + d->b_hh[layer][e];
    }
    float *data[3] = {s->wl, s->wi, s->b};
    for (int i = 0; i < 3; i++)
        if (dnnl_memory_create(&s->user[i], &md[i], m->engine, data[i]) != dnnl_success) {
            s->user[i] = NULL;
            unstage_weights(s);
            return nnb_fail(err, err_len, "dnnl_memory_create failed for staged weights (%s:%d)", __FILE__, __LINE__);
        }
    return 0;
}

static const int weight_args[3] = {DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS};

static dnnl_memory_t *weight_slot(onx_weights *w, int i) { return i == 0 ? &w->layer : i == 1 ? &w->iter : &w->bias; }

/* The staged weights reordered into `to`, leaving out the memories `same` already holds (NULL: none). */
static int reorder_weights(onx_model *m, const staged_weights *s, onx_weights *to, onx_weights *same, char *err,
                           size_t err_len) {
    for (int i = 0; i < 3; i++)
        if ((!same || *weight_slot(to, i) != *weight_slot(same, i)) &&
            reorder(m, s->user[i], *weight_slot(to, i), err, err_len))
            return -1;
    return 0;
}

/* Fresh memories in the formats pd wants for its weights arguments (bwd: reuse `same`'s where they agree). */
static int weights_mems(onx_model *m, const_dnnl_primitive_desc_t pd, const onx_weights *same,
                        const_dnnl_primitive_desc_t same_pd, onx_weights *out, char *err, size_t err_len) {
    for (int i = 0; i < 3; i++) {
        dnnl_memory_t *slot = weight_slot(out, i);
        if (same && dnnl_memory_desc_equal(arg_md(pd, weight_args[i]), arg_md(same_pd, weight_args[i])))
            *slot = *weight_slot((onx_weights *)same, i);
        else if (new_mem(m, arg_md(pd, weight_args[i]), slot, err, err_len))
            return -1;
    }
    return 0;
}

/* The group's weights in the forward's formats (and the backward's where they differ: with oneDNN 2.6 the forward
 * wants ldigo, the backward ldgoi), reordered from the PyTorch arrays; the gradients' memories. */
static int create_group_weights(onx_model *m, const nnb_lstm_data *d, onx_group *g, const onx_prim *p, char *err,
                                size_t err_len) {
    staged_weights s;
    if (stage_weights(m, d, g, &s, err, err_len))
        return -1;
    onx_weights fw = {0}, bw = {0};
    int rc =
        weights_mems(m, p->fwd_pd, NULL, NULL, &fw, err, err_len) || reorder_weights(m, &s, &fw, NULL, err, err_len);
    if (!rc && m->with_backward)
        rc = weights_mems(m, p->bwd_pd, &fw, p->fwd_pd, &bw, err, err_len) ||
             reorder_weights(m, &s, &bw, &fw, err, err_len) ||
             new_mem(m, arg_md(p->bwd_pd, DNNL_ARG_DIFF_WEIGHTS_LAYER), &g->dw_layer, err, err_len) ||
             new_mem(m, arg_md(p->bwd_pd, DNNL_ARG_DIFF_WEIGHTS_ITER), &g->dw_iter, err, err_len) ||
             new_mem(m, arg_md(p->bwd_pd, DNNL_ARG_DIFF_BIAS), &g->dbias, err, err_len);
    unstage_weights(&s);
    if (rc)
        return -1;
    g->w_layer = fw.layer, g->w_iter = fw.iter, g->bias = fw.bias;
    g->bw_layer = bw.layer, g->bw_iter = bw.iter, g->bbias = bw.bias;
    g->shape_owner = p;
    return 0;
}

int onx_refresh_group_weights(onx_model *m, const nnb_lstm_data *d, int gi, char *err, size_t err_len) {
    onx_group *g = &m->groups[gi];
    if (!g->shape_owner)
        return 0; /* no call made yet: the weights are staged from d when the first is */
    staged_weights s;
    if (stage_weights(m, d, g, &s, err, err_len))
        return -1;
    onx_weights fw = {g->w_layer, g->w_iter, g->bias}, bw = {g->bw_layer, g->bw_iter, g->bbias};
    int rc = reorder_weights(m, &s, &fw, NULL, err, err_len);
    if (!rc && m->with_backward)
        rc = reorder_weights(m, &s, &bw, &fw, err, err_len);
    for (int i = 0; !rc && i < g->infer_w_count; i++)
        rc = reorder_weights(m, &s, &g->infer_w[i], NULL, err, err_len);
    unstage_weights(&s);
    return rc;
}

/* Every call of a group shares its weights: the formats oneDNN picks must agree across shapes. */
static int same_weight_formats(const onx_prim *a, const onx_prim *b, int with_backward) {
    static const int fwd_args[] = {DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS};
    static const int bwd_args[] = {DNNL_ARG_WEIGHTS_LAYER,      DNNL_ARG_WEIGHTS_ITER,      DNNL_ARG_BIAS,
                                   DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS};
    for (int i = 0; i < 3; i++)
        if (!dnnl_memory_desc_equal(arg_md(a->fwd_pd, fwd_args[i]), arg_md(b->fwd_pd, fwd_args[i])))
            return 0;
    if (with_backward)
        for (int i = 0; i < 6; i++)
            if (!dnnl_memory_desc_equal(arg_md(a->bwd_pd, bwd_args[i]), arg_md(b->bwd_pd, bwd_args[i])))
                return 0;
    return 1;
}

int onx_add_call(onx_model *m, const nnb_lstm_data *d, int gi, int64_t T, int64_t N, const onx_io *io,
                 onx_step *fwd_step, onx_step *bwd_step, char *err, size_t err_len) {
    onx_group *g = &m->groups[gi];
    onx_prim *p = get_prim(m, T, N, g->in, d->H, g->count, err, err_len);
    if (!p)
        return -1;
    if (!g->shape_owner) {
        if (create_group_weights(m, d, g, p, err, err_len))
            return -1;
    } else if (!same_weight_formats(g->shape_owner, p, m->with_backward)) {
        return nnb_fail(err, err_len, "oneDNN chose different weight formats for T=%lld N=%lld than for T=%lld N=%lld",
                        (long long)T, (long long)N, (long long)g->shape_owner->T, (long long)g->shape_owner->N);
    }

    lstm_mds md;
    if (lstm_descs(&md, T, N, g->in, d->H, g->count, err, err_len))
        return -1;
    dnnl_memory_t src_layer, src_iter, src_iter_c, dst_layer, dst_iter, dst_iter_c, ws = NULL;
    if (wrap_mem(m, &md.src_layer, io->src_layer, &src_layer, err, err_len) ||
        wrap_mem(m, &md.iter, io->src_iter, &src_iter, err, err_len) ||
        wrap_mem(m, &md.iter, io->src_iter_c, &src_iter_c, err, err_len) ||
        wrap_mem(m, &md.dst_layer, io->dst_layer, &dst_layer, err, err_len) ||
        wrap_mem(m, &md.iter, io->dst_iter, &dst_iter, err, err_len) ||
        wrap_mem(m, &md.iter, io->dst_iter_c, &dst_iter_c, err, err_len))
        return -1;
    const dnnl_memory_desc_t *ws_md = arg_md(p->fwd_pd, DNNL_ARG_WORKSPACE);
    if (!md_empty(ws_md)) {
        void *buf = raw_buffer(m, dnnl_memory_desc_get_size(ws_md));
        if (!buf)
            return nnb_fail(err, err_len, "out of memory (%zu bytes of workspace)", dnnl_memory_desc_get_size(ws_md));
        if (wrap_mem(m, ws_md, buf, &ws, err, err_len))
            return -1;
        m->workspace_bytes += dnnl_memory_desc_get_size(ws_md);
    }

    memset(fwd_step, 0, sizeof *fwd_step);
    fwd_step->prim = p->fwd;
    add_arg(fwd_step, DNNL_ARG_SRC_LAYER, src_layer);
    add_arg(fwd_step, DNNL_ARG_SRC_ITER, src_iter);
    add_arg(fwd_step, DNNL_ARG_SRC_ITER_C, src_iter_c);
    add_arg(fwd_step, DNNL_ARG_WEIGHTS_LAYER, g->w_layer);
    add_arg(fwd_step, DNNL_ARG_WEIGHTS_ITER, g->w_iter);
    add_arg(fwd_step, DNNL_ARG_BIAS, g->bias);
    add_arg(fwd_step, DNNL_ARG_DST_LAYER, dst_layer);
    add_arg(fwd_step, DNNL_ARG_DST_ITER, dst_iter);
    add_arg(fwd_step, DNNL_ARG_DST_ITER_C, dst_iter_c);
    if (ws)
        add_arg(fwd_step, DNNL_ARG_WORKSPACE, ws);
    add_scratch_slot(fwd_step, p->fwd_pd);
    if (!m->with_backward)
        return 0;

    dnnl_memory_t dsrc_layer, dsrc_iter, dsrc_iter_c, ddst_layer, ddst_iter, ddst_iter_c;
    if (wrap_mem(m, &md.src_layer, io->diff_src_layer, &dsrc_layer, err, err_len) ||
        wrap_mem(m, &md.iter, io->diff_src_iter, &dsrc_iter, err, err_len) ||
        wrap_mem(m, &md.iter, io->diff_src_iter_c, &dsrc_iter_c, err, err_len) ||
        wrap_mem(m, &md.dst_layer, io->diff_dst_layer, &ddst_layer, err, err_len) ||
        wrap_mem(m, &md.iter, io->diff_dst_iter, &ddst_iter, err, err_len) ||
        wrap_mem(m, &md.iter, io->diff_dst_iter_c, &ddst_iter_c, err, err_len))
        return -1;
    memset(bwd_step, 0, sizeof *bwd_step);
    bwd_step->prim = p->bwd;
    add_arg(bwd_step, DNNL_ARG_SRC_LAYER, src_layer);
    add_arg(bwd_step, DNNL_ARG_SRC_ITER, src_iter);
    add_arg(bwd_step, DNNL_ARG_SRC_ITER_C, src_iter_c);
    add_arg(bwd_step, DNNL_ARG_WEIGHTS_LAYER, g->bw_layer);
    add_arg(bwd_step, DNNL_ARG_WEIGHTS_ITER, g->bw_iter);
    add_arg(bwd_step, DNNL_ARG_BIAS, g->bbias);
    add_arg(bwd_step, DNNL_ARG_DST_LAYER, dst_layer);
    add_arg(bwd_step, DNNL_ARG_DST_ITER, dst_iter);
    add_arg(bwd_step, DNNL_ARG_DST_ITER_C, dst_iter_c);
    if (ws)
        add_arg(bwd_step, DNNL_ARG_WORKSPACE, ws);
    add_arg(bwd_step, DNNL_ARG_DIFF_SRC_LAYER, dsrc_layer);
    add_arg(bwd_step, DNNL_ARG_DIFF_SRC_ITER, dsrc_iter);
    add_arg(bwd_step, DNNL_ARG_DIFF_SRC_ITER_C, dsrc_iter_c);
    add_arg(bwd_step, DNNL_ARG_DIFF_WEIGHTS_LAYER, g->dw_layer);
    add_arg(bwd_step, DNNL_ARG_DIFF_WEIGHTS_ITER, g->dw_iter);
    add_arg(bwd_step, DNNL_ARG_DIFF_BIAS, g->dbias);
    add_arg(bwd_step, DNNL_ARG_DIFF_DST_LAYER, ddst_layer);
    add_arg(bwd_step, DNNL_ARG_DIFF_DST_ITER, ddst_iter);
    add_arg(bwd_step, DNNL_ARG_DIFF_DST_ITER_C, ddst_iter_c);
    add_scratch_slot(bwd_step, p->bwd_pd);
    return 0;
}

/* ------------------------------------------------------------------ inference */

static size_t max_scratch(const onx_steps *s, size_t best);

static int create_infer_prim(onx_model *m, onx_infer_prim *p, char *err, size_t err_len) {
    lstm_mds d;
    if (lstm_descs(&d, p->T, p->N, p->in, p->H, p->L, err, err_len))
        return -1;
    dnnl_rnn_desc_t fd;
    NNB_DNNL_TRY(dnnl_lstm_forward_desc_init(&fd, dnnl_forward_inference, dnnl_unidirectional_left2right, &d.src_layer,
                                             &d.iter, &d.iter, &d.w_layer, &d.w_iter, &d.bias, &d.dst_layer, &d.iter,
                                             &d.iter, 0));
    NNB_DNNL_TRY(dnnl_primitive_desc_create(&p->pd, &fd, m->attr, m->engine, NULL));
    NNB_DNNL_TRY(dnnl_primitive_create(&p->prim, p->pd));
    return 0;
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

/* Do w's memories have the formats pd wants for its weights arguments? */
static int weights_fit(onx_weights *w, const_dnnl_primitive_desc_t pd) {
    for (int i = 0; i < 3; i++) {
        const dnnl_memory_desc_t *md;
        if (dnnl_memory_get_memory_desc(*weight_slot(w, i), &md) != dnnl_success ||
            !dnnl_memory_desc_equal(md, arg_md(pd, weight_args[i])))
            return 0;
    }
    return 1;
}

/* The group's weights in the formats pd wants: the forward's when they agree, else the copy made for those formats
 * (reordered from d the first time a plan needs them). */
static int infer_weights(onx_model *m, const nnb_lstm_data *d, onx_group *g, const_dnnl_primitive_desc_t pd,
                         onx_weights *out, char *err, size_t err_len) {
    onx_weights fw = {g->w_layer, g->w_iter, g->bias};
    if (weights_fit(&fw, pd)) {
        *out = fw;
        return 0;
    }
    for (int i = 0; i < g->infer_w_count; i++)
        if (weights_fit(&g->infer_w[i], pd)) {
            *out = g->infer_w[i];
            return 0;
        }
    if (nnb_grow(&g->infer_w, &g->infer_w_cap, g->infer_w_count + 1, sizeof *g->infer_w))
        return nnb_fail(err, err_len, "out of memory");
    onx_weights w = {0};
    staged_weights s;
    if (weights_mems(m, pd, NULL, NULL, &w, err, err_len) || stage_weights(m, d, g, &s, err, err_len))
        return -1;
    int rc = reorder_weights(m, &s, &w, NULL, err, err_len);
    unstage_weights(&s);
    if (rc)
        return -1;
    g->infer_w[g->infer_w_count++] = w;
    *out = w;
    return 0;
}

int onx_add_infer_call(onx_model *m, const nnb_lstm_data *d, int gi, int64_t T, int64_t N, const onx_io *io,
                       onx_step *step, char *err, size_t err_len) {
    onx_group *g = &m->groups[gi];
    if (!g->shape_owner)
        return nnb_fail(err, err_len, "inference call of layer group %d before its training call", gi);
    onx_infer_prim *p = get_infer_prim(m, T, N, g->in, d->H, g->count, err, err_len);
    onx_weights w = {0};
    if (!p || infer_weights(m, d, g, p->pd, &w, err, err_len))
        return -1;
    lstm_mds md;
    if (lstm_descs(&md, T, N, g->in, d->H, g->count, err, err_len))
        return -1;
    dnnl_memory_t src_layer, src_iter, src_iter_c, dst_layer, dst_iter, dst_iter_c;
    if (wrap_mem(m, &md.src_layer, io->src_layer, &src_layer, err, err_len) ||
        wrap_mem(m, &md.iter, io->src_iter, &src_iter, err, err_len) ||
        wrap_mem(m, &md.iter, io->src_iter_c, &src_iter_c, err, err_len) ||
        wrap_mem(m, &md.dst_layer, io->dst_layer, &dst_layer, err, err_len) ||
        wrap_mem(m, &md.iter, io->dst_iter, &dst_iter, err, err_len) ||
        wrap_mem(m, &md.iter, io->dst_iter_c, &dst_iter_c, err, err_len))
        return -1;
    if (!md_empty(arg_md(p->pd, DNNL_ARG_WORKSPACE)))
        return nnb_fail(err, err_len, "oneDNN's forward_inference LSTM asks for a workspace");
    memset(step, 0, sizeof *step);
    step->prim = p->prim;
    add_arg(step, DNNL_ARG_SRC_LAYER, src_layer);
    add_arg(step, DNNL_ARG_SRC_ITER, src_iter);
    add_arg(step, DNNL_ARG_SRC_ITER_C, src_iter_c);
    add_arg(step, DNNL_ARG_WEIGHTS_LAYER, w.layer);
    add_arg(step, DNNL_ARG_WEIGHTS_ITER, w.iter);
    add_arg(step, DNNL_ARG_BIAS, w.bias);
    add_arg(step, DNNL_ARG_DST_LAYER, dst_layer);
    add_arg(step, DNNL_ARG_DST_ITER, dst_iter);
    add_arg(step, DNNL_ARG_DST_ITER_C, dst_iter_c);
    add_scratch_slot(step, p->pd);
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
    size_t need = max_scratch(s, 0);
    if (need > m->infer_scratch_bytes && grow_infer_scratch(m, need, err, err_len))
        return -1;
    for (int i = 0; i < s->n; i++) {
        onx_step *st = &s->v[i];
        if (!st->scratch_md)
            continue;
        if (nnb_grow(&m->infer_scratch_mems, &m->infer_scratch_mem_cap, m->infer_scratch_mem_count + 1,
                     sizeof *m->infer_scratch_mems))
            return nnb_fail(err, err_len, "out of memory");
        if (wrap_mem(m, st->scratch_md, m->infer_scratch, &st->args[st->scratch_arg].memory, err, err_len))
            return -1;
        m->infer_scratch_mems[m->infer_scratch_mem_count++] = st->args[st->scratch_arg].memory;
    }
    return 0;
}

/* ------------------------------------------------------------------ other primitives */

int onx_binary_step(onx_model *m, dnnl_alg_kind_t alg, int64_t rows, int64_t cols, float *a, float *b, float *c,
                    onx_step *step, char *err, size_t err_len) {
    const int64_t dims[] = {rows, cols};
    dnnl_memory_desc_t md;
    if (plain_md(&md, 2, dims, dnnl_ab, err, err_len))
        return -1;
    dnnl_binary_desc_t bd;
    NNB_DNNL_TRY(dnnl_binary_desc_init(&bd, alg, &md, &md, &md));
    dnnl_primitive_desc_t pd;
    NNB_DNNL_TRY(dnnl_primitive_desc_create(&pd, &bd, m->attr, m->engine, NULL));
    dnnl_primitive_t prim;
    dnnl_status_t st = dnnl_primitive_create(&prim, pd);
    if (st != dnnl_success)
        dnnl_primitive_desc_destroy(pd);
    NNB_DNNL_TRY(st);
    if (keep_prim(m, pd, prim, err, err_len))
        return -1;
    dnnl_memory_t ma, mb, mc;
    if (wrap_mem(m, &md, a, &ma, err, err_len) || wrap_mem(m, &md, b, &mb, err, err_len) ||
        wrap_mem(m, &md, c, &mc, err, err_len))
        return -1;
    memset(step, 0, sizeof *step);
    step->prim = prim;
    add_arg(step, DNNL_ARG_SRC_0, ma);
    add_arg(step, DNNL_ARG_SRC_1, mb);
    add_arg(step, DNNL_ARG_DST, mc);
    add_scratch_slot(step, pd);
    return 0;
}

int onx_layer_norm_step(onx_model *m, int64_t rows, int64_t cols, float eps, float *src, float *dst, onx_step *step,
                        char *err, size_t err_len) {
    const int64_t dims[] = {rows, cols};
    dnnl_memory_desc_t md;
    if (plain_md(&md, 2, dims, dnnl_ab, err, err_len))
        return -1;
    dnnl_layer_normalization_desc_t ld;
    /* flags 0: no scale/shift (gain 1, bias 0), statistics computed from the data */
    NNB_DNNL_TRY(dnnl_layer_normalization_forward_desc_init(&ld, dnnl_forward_inference, &md, NULL, eps, 0));
    dnnl_primitive_desc_t pd;
    NNB_DNNL_TRY(dnnl_primitive_desc_create(&pd, &ld, m->attr, m->engine, NULL));
    dnnl_primitive_t prim;
    dnnl_status_t st = dnnl_primitive_create(&prim, pd);
    if (st != dnnl_success)
        dnnl_primitive_desc_destroy(pd);
    NNB_DNNL_TRY(st);
    if (keep_prim(m, pd, prim, err, err_len))
        return -1;
    dnnl_memory_t ms, md_;
    if (wrap_mem(m, &md, src, &ms, err, err_len))
        return -1;
    if (dst == src)
        md_ = ms;
    else if (wrap_mem(m, &md, dst, &md_, err, err_len))
        return -1;
    memset(step, 0, sizeof *step);
    step->prim = prim;
    add_arg(step, DNNL_ARG_SRC, ms);
    add_arg(step, DNNL_ARG_DST, md_);
    add_scratch_slot(step, pd);
    return 0;
}

/* ------------------------------------------------------------------ running */

static size_t max_scratch(const onx_steps *s, size_t best) {
    for (int i = 0; i < s->n; i++)
        if (s->v[i].scratch_md && dnnl_memory_desc_get_size(s->v[i].scratch_md) > best)
            best = dnnl_memory_desc_get_size(s->v[i].scratch_md);
    return best;
}

static int bind_scratch(onx_model *m, onx_steps *s, char *err, size_t err_len) {
    for (int i = 0; i < s->n; i++) {
        onx_step *st = &s->v[i];
        if (!st->scratch_md)
            continue;
        if (wrap_mem(m, st->scratch_md, m->scratch, &st->args[st->scratch_arg].memory, err, err_len))
            return -1;
    }
    return 0;
}

int onx_finalize(onx_model *m, char *err, size_t err_len) {
    m->scratch_bytes = max_scratch(&m->bwd, max_scratch(&m->fwd, 0));
    if (m->scratch_bytes) {
        m->scratch = raw_buffer(m, m->scratch_bytes);
        if (!m->scratch)
            return nnb_fail(err, err_len, "out of memory (%zu bytes of scratchpad)", m->scratch_bytes);
    }
    if (bind_scratch(m, &m->fwd, err, err_len) || bind_scratch(m, &m->bwd, err, err_len))
        return -1;
    return 0;
}

int onx_run(onx_model *m, const onx_steps *steps, char *err, size_t err_len) {
    for (int i = 0; i < steps->n; i++) {
        const onx_step *s = &steps->v[i];
        if (s->prim) {
            NNB_DNNL_TRY(dnnl_primitive_execute(s->prim, m->stream, s->nargs, s->args));
        } else {
            NNB_DNNL_TRY(dnnl_stream_wait(m->stream));
            memset(s->zero_ptr, 0, s->zero_bytes);
        }
    }
    NNB_DNNL_TRY(dnnl_stream_wait(m->stream));
    return 0;
}

static void zero_mem(dnnl_memory_t mem) {
    const dnnl_memory_desc_t *md;
    void *p = NULL;
    if (!mem || dnnl_memory_get_memory_desc(mem, &md) || dnnl_memory_get_data_handle(mem, &p) || !p)
        return;
    memset(p, 0, dnnl_memory_desc_get_size(md));
}

void onx_zero_weight_grads(onx_model *m) {
    for (int g = 0; g < m->group_count; g++) {
        zero_mem(m->groups[g].dw_layer);
        zero_mem(m->groups[g].dw_iter);
        zero_mem(m->groups[g].dbias);
    }
}

/* Reorder a library-format memory into a plain host array of the given dims and tag. */
static int export_plain(onx_model *m, dnnl_memory_t from, int ndims, const int64_t *dims, dnnl_format_tag_t tag,
                        float *to, char *err, size_t err_len) {
    dnnl_memory_desc_t md;
    if (plain_md(&md, ndims, dims, tag, err, err_len))
        return -1;
    dnnl_memory_t user;
    NNB_DNNL_TRY(dnnl_memory_create(&user, &md, m->engine, to));
    int rc = reorder(m, from, user, err, err_len);
    dnnl_memory_destroy(user);
    return rc;
}

int onx_export_weight_grads(onx_model *m, nnb_lstm_data *d, char *err, size_t err_len) {
    if (!m->with_backward)
        return 0;
    const int64_t H = d->H;
    for (int gi = 0; gi < m->group_count; gi++) {
        const onx_group *g = &m->groups[gi];
        if (!g->shape_owner)
            continue;
        const int64_t cnt = g->count, in = g->in;
        const int64_t wl_dims[] = {cnt, 1, in, 4, H}, wi_dims[] = {cnt, 1, H, 4, H}, b_dims[] = {cnt, 1, 4, H};
        size_t wl_n = (size_t)(4 * H * in), wi_n = (size_t)(4 * H * H), b_n = (size_t)(4 * H);
        float *wl = nnb_alloc_floats(wl_n * (size_t)cnt), *wi = nnb_alloc_floats(wi_n * (size_t)cnt);
        float *b = nnb_alloc_floats(b_n * (size_t)cnt);
        int rc = (!wl || !wi || !b) ? nnb_fail(err, err_len, "out of memory exporting weight gradients") : 0;
        if (!rc)
            rc = export_plain(m, g->dw_layer, 5, wl_dims, dnnl_ldgoi, wl, err, err_len);
        if (!rc)
            rc = export_plain(m, g->dw_iter, 5, wi_dims, dnnl_ldgoi, wi, err, err_len);
        if (!rc)
            rc = export_plain(m, g->dbias, 4, b_dims, dnnl_ldgo, b, err, err_len);
        for (int64_t k = 0; !rc && k < cnt; k++) {
            int64_t layer = g->first + k;
            memcpy(d->dw_ih[layer], wl + (size_t)k * wl_n, sizeof(float) * wl_n);
            memcpy(d->dw_hh[layer], wi + (size_t)k * wi_n, sizeof(float) * wi_n);
            /* one bias in oneDNN: its gradient is the gradient of both PyTorch biases */
            memcpy(d->db_ih[layer], b + (size_t)k * b_n, sizeof(float) * b_n);
            memcpy(d->db_hh[layer], b + (size_t)k * b_n, sizeof(float) * b_n);
        }
        nnb_free(wl);
        nnb_free(wi);
        nnb_free(b);
        if (rc)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------------ describe helpers */

const char *onx_impl_name(const_dnnl_primitive_desc_t pd) {
    const char *s = NULL;
    if (!pd || dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s)
        return "?";
    return s;
}

/* Plain formats are named by their dimension order, outermost first (as oneDNN's verbose mode
 * does: "abcde" is ldigo, "abdec" is ldgoi); blocked or packed formats by their kind. */
const char *onx_format_name(const dnnl_memory_desc_t *md) {
    static __thread char name[48];
    if (!md)
        return "none";
    if (md->format_kind == dnnl_format_kind_rnn_packed)
        return "rnn_packed";
    if (md->format_kind != dnnl_blocked)
        return dnnl_fmt_kind2str(md->format_kind);
    const dnnl_blocking_desc_t *blk = &md->format_desc.blocking;
    if (blk->inner_nblks > 0)
        return "blocked";
    int order[DNNL_MAX_NDIMS];
    for (int i = 0; i < md->ndims; i++)
        order[i] = i;
    for (int i = 1; i < md->ndims; i++) /* stable sort by stride, descending */
        for (int j = i; j > 0 && blk->strides[order[j]] > blk->strides[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    int n = 0;
    for (int i = 0; i < md->ndims; i++)
        name[n++] = (char)('a' + order[i]);
    name[n] = 0;
    static const char *const known[][2] = {{"abcde", " (ldigo)"}, {"abdec", " (ldgoi)"}, {"abcd", " (ldgo)"}};
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
        if (!strcmp(name, known[k][0]))
            snprintf(name + n, sizeof name - (size_t)n, "%s", known[k][1]);
    return name;
}
