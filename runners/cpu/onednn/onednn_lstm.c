/*
 * oneDNN LSTM machinery (onednn_lstm.h), the plumbing: model lifetime, host buffers and memory objects, one-off
 * reorders, step lists, the non-LSTM primitives (binary, layer norm), the shared scratchpad and running the
 * plans; implementation and format names for describe(). The LSTM calls and the weights live in their own files
 * (onednn_lstm_internal.h) because they are the part that knows the LSTM's shapes and PyTorch's layout.
 */
#include "onednn_lstm_internal.h"

#include "nnb_precision.h"

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

void *onx_data_buffer(onx_model *m, size_t n) {
    if (n > SIZE_MAX / m->data_size)
        return NULL;
    return onx_bytes(m, n * m->data_size);
}

void *onx_data_copy(onx_model *m, float *src, size_t n) {
    if (m->data_dt == dnnl_f32)
        return src;
    uint16_t *dst = (uint16_t *)onx_data_buffer(m, n);
    if (dst)
        nnb_f32_to_bf16_array(dst, src, n);
    return dst;
}

void onx_data_to_f32(const onx_model *m, const void *src, float *dst, size_t n) {
    if (m->data_dt == dnnl_f32) {
        if ((const float *)src != dst)
            memmove(dst, src, sizeof(float) * n);
    } else {
        nnb_bf16_to_f32_array(dst, (const uint16_t *)src, n);
    }
}

/* A memory object over a host pointer we own. */
int onx_wrap_mem(onx_model *m, const dnnl_memory_desc_t *md, void *ptr, dnnl_memory_t *out, char *err, size_t err_len) {
    return nnb_dnnl_wrap(&m->mems, m->engine, md, ptr, out, err, err_len);
}

/* 64-byte aligned, not zeroed: workspace and scratchpad are written before they are read, and
 * clearing hundreds of MB would only inflate create_ms. Released with the model's buffers. */
void *onx_raw_buffer(onx_model *m, size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded < bytes || nnb_grow(&m->bufs, &m->buf_cap, m->buf_count + 1, sizeof *m->bufs))
        return NULL;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (p)
        m->bufs[m->buf_count++] = p;
    return p;
}

/* A memory object over a fresh zeroed buffer of md's size. */
int onx_new_mem(onx_model *m, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len) {
    size_t bytes = dnnl_memory_desc_get_size(md);
    float *p = onx_buffer(m, (bytes + sizeof(float) - 1) / sizeof(float));
    if (!p)
        return nnb_fail(err, err_len, "out of memory (%zu bytes for a oneDNN memory)", bytes);
    return onx_wrap_mem(m, md, p, out, err, err_len);
}

int onx_typed_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_data_type_t dt, dnnl_format_tag_t tag,
                 char *err, size_t err_len) {
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    NNB_DNNL_TRY(dnnl_memory_desc_init_by_tag(md, ndims, d, dt, tag));
    return 0;
}

int onx_plain_md(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag, char *err,
                 size_t err_len) {
    return onx_typed_md(md, ndims, dims, dnnl_f32, tag, err, err_len);
}

const dnnl_memory_desc_t *onx_arg_md(const_dnnl_primitive_desc_t pd, int arg) {
    return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
}

int onx_md_empty(const dnnl_memory_desc_t *md) { return !md || dnnl_memory_desc_get_size(md) == 0; }

/* One-off reorder (create time or outputs(), never timed). */
int onx_reorder(onx_model *m, dnnl_memory_t from, dnnl_memory_t to, char *err, size_t err_len) {
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

void onx_add_arg(onx_step *s, int arg, dnnl_memory_t mem) {
    s->args[s->nargs].arg = arg;
    s->args[s->nargs].memory = mem;
    s->nargs++;
}

/* Scratchpad is user-managed: leave a slot that onx_finalize binds to the shared buffer. */
void onx_add_scratch_slot(onx_step *s, const_dnnl_primitive_desc_t pd) {
    const dnnl_memory_desc_t *md = onx_arg_md(pd, DNNL_ARG_SCRATCHPAD);
    if (onx_md_empty(md))
        return;
    s->scratch_md = md;
    s->scratch_arg = s->nargs;
    onx_add_arg(s, DNNL_ARG_SCRATCHPAD, NULL);
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

int onx_model_init(onx_model *m, int with_backward, int precision, char *err, size_t err_len) {
    memset(m, 0, sizeof *m);
    m->with_backward = with_backward;
    if (precision != NNB_PRECISION_FP32 && precision != NNB_PRECISION_BF16)
        return nnb_fail(err, err_len, "oneDNN LSTM: precision %d is neither fp32 nor bf16", precision);
    m->data_dt = precision == NNB_PRECISION_BF16 ? dnnl_bf16 : dnnl_f32;
    m->data_size = precision == NNB_PRECISION_BF16 ? sizeof(uint16_t) : sizeof(float);
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

/* ------------------------------------------------------------------ other primitives */

int onx_binary_step(onx_model *m, dnnl_alg_kind_t alg, int64_t rows, int64_t cols, dnnl_data_type_t ac_dt, void *a,
                    float *b, void *c, onx_step *step, char *err, size_t err_len) {
    const int64_t dims[] = {rows, cols};
    dnnl_memory_desc_t md, md_b;
    if (onx_typed_md(&md, 2, dims, ac_dt, dnnl_ab, err, err_len) || onx_plain_md(&md_b, 2, dims, dnnl_ab, err, err_len))
        return -1;
    dnnl_binary_desc_t bd;
    NNB_DNNL_TRY(dnnl_binary_desc_init(&bd, alg, &md, &md_b, &md));
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
    if (onx_wrap_mem(m, &md, a, &ma, err, err_len) || onx_wrap_mem(m, &md_b, b, &mb, err, err_len) ||
        onx_wrap_mem(m, &md, c, &mc, err, err_len))
        return -1;
    memset(step, 0, sizeof *step);
    step->prim = prim;
    onx_add_arg(step, DNNL_ARG_SRC_0, ma);
    onx_add_arg(step, DNNL_ARG_SRC_1, mb);
    onx_add_arg(step, DNNL_ARG_DST, mc);
    onx_add_scratch_slot(step, pd);
    return 0;
}

int onx_layer_norm_step(onx_model *m, int64_t rows, int64_t cols, float eps, dnnl_data_type_t dt, void *src, void *dst,
                        onx_step *step, char *err, size_t err_len) {
    const int64_t dims[] = {rows, cols};
    dnnl_memory_desc_t md;
    if (onx_typed_md(&md, 2, dims, dt, dnnl_ab, err, err_len))
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
    if (onx_wrap_mem(m, &md, src, &ms, err, err_len))
        return -1;
    if (dst == src)
        md_ = ms;
    else if (onx_wrap_mem(m, &md, dst, &md_, err, err_len))
        return -1;
    memset(step, 0, sizeof *step);
    step->prim = prim;
    onx_add_arg(step, DNNL_ARG_SRC, ms);
    onx_add_arg(step, DNNL_ARG_DST, md_);
    onx_add_scratch_slot(step, pd);
    return 0;
}

/* ------------------------------------------------------------------ running */

size_t onx_max_scratch(const onx_steps *s, size_t best) {
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
        if (onx_wrap_mem(m, st->scratch_md, m->scratch, &st->args[st->scratch_arg].memory, err, err_len))
            return -1;
    }
    return 0;
}

int onx_finalize(onx_model *m, char *err, size_t err_len) {
    m->scratch_bytes = onx_max_scratch(&m->bwd, onx_max_scratch(&m->fwd, 0));
    if (m->scratch_bytes) {
        m->scratch = onx_raw_buffer(m, m->scratch_bytes);
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
