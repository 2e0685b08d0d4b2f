/*
 * oneDNN plumbing of the ResNet runners: the model's buffers and memory objects, primitive and reorder
 * creation (every one kept for destroy), step lists and their execution, memory-descriptor helpers, and the
 * per-layout copies of the weights. Separate from the net builders (forward, backward, inference), which
 * only describe layers and use these to create and wire them.
 */
#include "resnet_dnnl_internal.h"

#include <dnnl_debug.h>

#include <stdio.h>
#include <string.h>

/* ---- ownership helpers ---- */

static int new_buffer(model *m, size_t bytes, char *err, size_t err_len) {
    if (nnb_grow(&m->bufs, &m->cap_bufs, m->nbufs + 1, sizeof *m->bufs))
        return nnb_fail(err, err_len, "out of memory");
    void *p = nnb_alloc_bytes(bytes);
    if (!p)
        return nnb_fail(err, err_len, "%s: cannot allocate %zu bytes", m->name, bytes);
    m->bufs[m->nbufs] = (buffer){p, bytes, 0, 0};
    return m->nbufs++;
}

/* A gradient buffer of exactly `bytes`: a pooled one if free, else a new one. Returns its index or -1. */
int rd_pool_get(model *m, size_t bytes, char *err, size_t err_len) {
    for (int i = 0; i < m->nbufs; i++)
        if (m->bufs[i].pooled && m->bufs[i].bytes == bytes) {
            m->bufs[i].pooled = 0;
            return i;
        }
    return new_buffer(m, bytes, err, err_len);
}

/* A memory object over `handle` (a buffer the model owns, or a params/grads slice). */
int rd_wrap_mem(model *m, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out, char *err, size_t err_len) {
    return nnb_dnnl_wrap(&m->mems, m->eng, md, handle, out, err, err_len);
}

/* A memory object over a new buffer of the md's size. */
int rd_alloc_mem(model *m, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len) {
    int b = new_buffer(m, dnnl_memory_desc_get_size(md), err, err_len);
    if (b < 0)
        return -1;
    return rd_wrap_mem(m, md, m->bufs[b].ptr, out, err, err_len);
}

int rd_make_primitive(model *m, const_dnnl_op_desc_t desc, const_dnnl_primitive_attr_t attr,
                      const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, dnnl_primitive_t *prim, char *err,
                      size_t err_len) {
    NNB_DNNL_TRY(dnnl_primitive_desc_create(pd, desc, attr, m->eng, hint));
    if (nnb_grow(&m->pds, &m->cap_pds, m->npds + 1, sizeof *m->pds))
        return nnb_fail(err, err_len, "out of memory");
    m->pds[m->npds++] = *pd;
    char impl[96];
    rd_impl_name(*pd, impl, sizeof impl);
    if (!strncmp(impl, "ref", 3) && strlen(m->slow_impls) + strlen(impl) + 40 < sizeof m->slow_impls) {
        size_t n = strlen(m->slow_impls);
        snprintf(m->slow_impls + n, sizeof m->slow_impls - n, "%s%s:%s", n ? " " : "",
                 m->cur_layer ? m->cur_layer : "?", impl);
    }
    NNB_DNNL_TRY(dnnl_primitive_create(prim, *pd));
    if (nnb_grow(&m->prims, &m->cap_prims, m->nprims + 1, sizeof *m->prims))
        return nnb_fail(err, err_len, "out of memory");
    m->prims[m->nprims++] = *prim;
    return 0;
}

int rd_make_reorder_attr(model *m, dnnl_memory_t src, dnnl_memory_t dst, const_dnnl_primitive_attr_t attr,
                         dnnl_primitive_desc_t *pd_out, dnnl_primitive_t *prim, char *err, size_t err_len) {
    const dnnl_memory_desc_t *smd, *dmd;
    dnnl_primitive_desc_t pd;
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(src, &smd));
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(dst, &dmd));
    NNB_DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, smd, m->eng, dmd, m->eng, attr));
    if (pd_out)
        *pd_out = pd;
    if (nnb_grow(&m->pds, &m->cap_pds, m->npds + 1, sizeof *m->pds))
        return nnb_fail(err, err_len, "out of memory");
    m->pds[m->npds++] = pd;
    NNB_DNNL_TRY(dnnl_primitive_create(prim, pd));
    if (nnb_grow(&m->prims, &m->cap_prims, m->nprims + 1, sizeof *m->prims))
        return nnb_fail(err, err_len, "out of memory");
    m->prims[m->nprims++] = *prim;
    return 0;
}

int rd_make_reorder(model *m, dnnl_memory_t src, dnnl_memory_t dst, dnnl_primitive_t *prim, char *err, size_t err_len) {
    return rd_make_reorder_attr(m, src, dst, NULL, NULL, prim, err, err_len);
}

int rd_run_reorder(model *m, dnnl_primitive_t r, dnnl_memory_t src, dnnl_memory_t dst, char *err, size_t err_len) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    NNB_DNNL_TRY(dnnl_primitive_execute(r, m->stream, 2, args));
    NNB_DNNL_TRY(dnnl_stream_wait(m->stream));
    return 0;
}

step *rd_push_step(step_list *l, dnnl_primitive_t prim, int layer) {
    if (nnb_grow(&l->items, &l->cap, l->count + 1, sizeof *l->items))
        return NULL;
    step *s = &l->items[l->count++];
    memset(s, 0, sizeof *s);
    s->prim = prim;
    s->layer = layer;
    return s;
}

void rd_arg(step *s, int name, dnnl_memory_t mem) {
    s->args[s->nargs].arg = name;
    s->args[s->nargs].memory = mem;
    s->nargs++;
}

const dnnl_memory_desc_t *rd_pd_md(const_dnnl_primitive_desc_t pd, int exec_arg) {
    return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, exec_arg);
}

void rd_md_init_dt(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag, dnnl_data_type_t dt) {
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(md, ndims, d, dt, tag); /* cannot fail for these dims and tags */
}

void rd_md_init(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag) {
    rd_md_init_dt(md, ndims, dims, tag, dnnl_f32);
}

/* oneDNN-style layout string of a blocked md: dims by decreasing stride (upper case when blocked) and
 * the inner blocks, e.g. "aBcd16b" (= nChw16c) or "abcd" (= nchw). */
void rd_format_string(const dnnl_memory_desc_t *md, char *out, size_t len) {
    if (md->format_kind != dnnl_blocked) {
        snprintf(out, len, "%s", dnnl_fmt_kind2str(md->format_kind));
        return;
    }
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    int order[DNNL_MAX_NDIMS], n = md->ndims;
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 0; i < n; i++) /* stable sort by decreasing stride */
        for (int j = i + 1; j < n; j++)
            if (b->strides[order[j]] > b->strides[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    size_t pos = 0;
    for (int i = 0; i < n && pos + 1 < len; i++) {
        int blocked = 0;
        for (int k = 0; k < b->inner_nblks; k++)
            blocked |= b->inner_idxs[k] == order[i];
        out[pos++] = (char)((blocked ? 'A' : 'a') + order[i]);
    }
    out[pos] = '\0';
    for (int k = 0; k < b->inner_nblks && pos + 1 < len; k++) {
        int w = snprintf(out + pos, len - pos, "%lld%c", (long long)b->inner_blks[k], 'a' + (int)b->inner_idxs[k]);
        if (w < 0)
            break;
        pos += (size_t)w;
        if (pos >= len)
            pos = len - 1;
    }
}

void rd_impl_name(const_dnnl_primitive_desc_t pd, char *out, size_t len) {
    const char *s = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s)
        s = "?";
    snprintf(out, len, "%s", s);
}

void rd_act_dims(const nnb_resnet_shape s, int64_t *d) { d[0] = s.n, d[1] = s.c, d[2] = s.h, d[3] = s.w; }

/* torchvision's weights as oneDNN sees them, OIHW: conv (out_c, in_c, k, k); fc (1000, C, 1, 1) = (1000, C). */
static void weights_plain_md(const nnb_resnet_layer *l, dnnl_memory_desc_t *md) {
    int64_t k = l->op == NNB_RESNET_CONV ? l->kernel : 1, wd[4] = {l->out.c, l->in.c, k, k};
    rd_md_init(md, 4, wd, dnnl_oihw);
}

/* Layer li's weights in layout md: the copy already made for it, else a new one, reordered from params now.
 * These reorders run in whichever thread builds a net or calls load_param; none of them asks oneDNN for a
 * scratchpad (measured for both ResNets: their per-thread library scratchpad is not involved). */
int rd_weights_in(model *m, int li, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len) {
    layer_state *s = &m->ls[li];
    for (int i = 0; i < s->nwcopies; i++)
        if (dnnl_memory_desc_equal(&s->wcopies[i].md, md)) {
            *out = s->wcopies[i].mem;
            return 0;
        }
    if (nnb_grow(&s->wcopies, &s->cap_wcopies, s->nwcopies + 1, sizeof *s->wcopies))
        return nnb_fail(err, err_len, "out of memory");
    const nnb_resnet_layer *l = &m->arch.layers[li];
    weight_copy *c = &s->wcopies[s->nwcopies];
    dnnl_memory_desc_t plain;
    weights_plain_md(l, &plain);
    c->md = *md;
    TRY(rd_wrap_mem(m, &plain, m->params + m->arch.params[l->param].offset, &c->user, err, err_len));
    TRY(rd_alloc_mem(m, md, &c->mem, err, err_len));
    TRY(rd_make_reorder(m, c->user, c->mem, &c->reorder, err, err_len));
    TRY(rd_run_reorder(m, c->reorder, c->user, c->mem, err, err_len));
    s->nwcopies++;
    *out = c->mem;
    return 0;
}

/* After load_param changed layer li's weights in params: every copy again. */
int rd_refresh_weights(model *m, int li, char *err, size_t err_len) {
    const layer_state *s = &m->ls[li];
    for (int i = 0; i < s->nwcopies; i++)
        TRY(rd_run_reorder(m, s->wcopies[i].reorder, s->wcopies[i].user, s->wcopies[i].mem, err, err_len));
    return 0;
}

/* ---- running the step lists ---- */

int rd_run_steps(model *m, const step_list *l, char *err, size_t err_len) {
    for (int i = 0; i < l->count; i++) {
        const step *s = &l->items[i];
        if (s->input_grad) {
            TRY(rd_run_input_grad(m, s->layer, err, err_len));
        } else if (s->prim) {
            NNB_DNNL_TRY(dnnl_primitive_execute(s->prim, m->stream, s->nargs, s->args));
        } else {
            NNB_DNNL_TRY(dnnl_stream_wait(m->stream)); /* (the CPU stream is in-order and synchronous) */
            TRY(rd_update_running_stats(m, s->layer, err, err_len));
        }
    }
    NNB_DNNL_TRY(dnnl_stream_wait(m->stream));
    return 0;
}
