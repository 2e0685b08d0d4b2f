/*
 * The LSTM groups' weights (onednn_lstm.h): PyTorch's arrays staged in oneDNN's user formats, reordered into the
 * formats each primitive wants (forward, backward, inference: one copy per distinct format), restaged by
 * load_param, and the weight gradients brought back to PyTorch's layout for outputs(). Separate from the calls
 * because this is the only part that knows PyTorch's weight layout.
 */
#include "onednn_lstm_internal.h"

#include <stdlib.h>
#include <string.h>

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
    if (onx_plain_md(&md[0], 5, wl_dims, dnnl_ldgoi, err, err_len) ||
        onx_plain_md(&md[1], 5, wi_dims, dnnl_ldgoi, err, err_len) ||
        onx_plain_md(&md[2], 4, b_dims, dnnl_ldgo, err, err_len))
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
            onx_reorder(m, s->user[i], *weight_slot(to, i), err, err_len))
            return -1;
    return 0;
}

/* Fresh memories in the formats pd wants for its weights arguments (bwd: reuse `same`'s where they agree). */
static int weights_mems(onx_model *m, const_dnnl_primitive_desc_t pd, const onx_weights *same,
                        const_dnnl_primitive_desc_t same_pd, onx_weights *out, char *err, size_t err_len) {
    for (int i = 0; i < 3; i++) {
        dnnl_memory_t *slot = weight_slot(out, i);
        if (same && dnnl_memory_desc_equal(onx_arg_md(pd, weight_args[i]), onx_arg_md(same_pd, weight_args[i])))
            *slot = *weight_slot((onx_weights *)same, i);
        else if (onx_new_mem(m, onx_arg_md(pd, weight_args[i]), slot, err, err_len))
            return -1;
    }
    return 0;
}

/* The group's weights in the forward's formats (and the backward's where they differ: with oneDNN 2.6 the forward
 * wants ldigo, the backward ldgoi), reordered from the PyTorch arrays; the gradients' memories. */
int onx_create_group_weights(onx_model *m, const nnb_lstm_data *d, onx_group *g, const onx_prim *p, char *err,
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
             onx_new_mem(m, onx_arg_md(p->bwd_pd, DNNL_ARG_DIFF_WEIGHTS_LAYER), &g->dw_layer, err, err_len) ||
             onx_new_mem(m, onx_arg_md(p->bwd_pd, DNNL_ARG_DIFF_WEIGHTS_ITER), &g->dw_iter, err, err_len) ||
             onx_new_mem(m, onx_arg_md(p->bwd_pd, DNNL_ARG_DIFF_BIAS), &g->dbias, err, err_len);
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

/* Do w's memories have the formats pd wants for its weights arguments? */
static int weights_fit(onx_weights *w, const_dnnl_primitive_desc_t pd) {
    for (int i = 0; i < 3; i++) {
        const dnnl_memory_desc_t *md;
        if (dnnl_memory_get_memory_desc(*weight_slot(w, i), &md) != dnnl_success ||
            !dnnl_memory_desc_equal(md, onx_arg_md(pd, weight_args[i])))
            return 0;
    }
    return 1;
}

/* The group's weights in the formats pd wants: the forward's when they agree, else the copy made for those formats
 * (reordered from d the first time a plan needs them). */
int onx_infer_weights(onx_model *m, const nnb_lstm_data *d, onx_group *g, const_dnnl_primitive_desc_t pd,
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

/* ------------------------------------------------------------------ gradients */

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
    if (onx_plain_md(&md, ndims, dims, tag, err, err_len))
        return -1;
    dnnl_memory_t user;
    NNB_DNNL_TRY(dnnl_memory_create(&user, &md, m->engine, to));
    int rc = onx_reorder(m, from, user, err, err_len);
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
