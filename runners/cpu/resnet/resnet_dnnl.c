/*
 * ResNet-18 / ResNet-50 training step on the CPU with oneDNN (C API, 2.6).
 *
 *   resnet18, resnet50          one oneDNN primitive per layer of the arch table: convolution, batch
 *                               normalization (training), ReLU (eltwise), max / average pooling, inner
 *                               product, binary add for the residual sum; forward and backward.
 *   resnet18_jit, resnet50_jit  same math, fused: BatchNorm+ReLU (dnnl_fuse_norm_relu, forward and backward)
 *                               and residual add+ReLU (binary add with an eltwise ReLU post-op; backward
 *                               through ReLU uses its output, as PyTorch's in-place ReLU does).
 *
 * Layout: every primitive and memory is created once in create(). Convolutions choose their layouts
 * (format_tag any); every other layer takes the layout of its input, so the blocked layout (nChw16c on
 * AVX-512) runs from the first convolution to the logits without reorders. Reorders happen only at the
 * edges: x and grad_logits into the network's layouts (create / backward_setup), weights into the
 * convolutions' layouts (create), and logits, dx and weight gradients back to torchvision's plain layouts
 * in outputs(). None is timed.
 *
 * Memory: ReLU and the residual add run in place (as PyTorch's inplace=True); gradient buffers come from
 * a pool, reused once the gradient's last reader (the producing layer's backward) has run. An activation
 * read by two layers (a block input) gets its second gradient contribution through a scratch buffer and
 * an in-place binary add.
 *
 * BatchNorm running statistics: oneDNN returns the batch mean and (biased) variance; the runner updates
 * running_mean/var itself after each BN (momentum 0.1, unbiased variance), inside forward as PyTorch does.
 */
#include "conv_input_grad.h"
#include "nnb_dnnl_support.h"
#include "nnb_support.h"
#include "resnet_arch.h"
#include "resnet_init.h"

#include <nnbench/runner.h>

#include <dnnl.h>
#include <dnnl_debug.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef struct layer_state {
    dnnl_primitive_desc_t fwd_pd; /* hint for the backward primitives */
    dnnl_memory_t weights;        /* CONV, FC: in the primitive's layout */
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
    /* Stem input gradient by kernels/cnn_cpu instead of oneDNN's backward data (see build_conv_bwd). */
    int own_input_grad;
    float *stem_wt; /* (ceil(k/16), r, r, c, 16): the stem weights rearranged, redone each backward */
    char fmt_act[48], fmt_weights[48];
    const char *cur_layer; /* layer being built, for slow_impls */
    char slow_impls[1024]; /* "layer:impl" of primitives that got oneDNN's reference (ref:) kernels */
} model;

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
static int pool_get(model *m, size_t bytes, char *err, size_t err_len) {
    for (int i = 0; i < m->nbufs; i++)
        if (m->bufs[i].pooled && m->bufs[i].bytes == bytes) {
            m->bufs[i].pooled = 0;
            return i;
        }
    return new_buffer(m, bytes, err, err_len);
}

/* A memory object over `handle` (a buffer the model owns, or a params/grads slice). */
static int wrap_mem(model *m, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out, char *err,
                    size_t err_len) {
    return nnb_dnnl_wrap(&m->mems, m->eng, md, handle, out, err, err_len);
}

/* A memory object over a new buffer of the md's size. */
static int alloc_mem(model *m, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len) {
    int b = new_buffer(m, dnnl_memory_desc_get_size(md), err, err_len);
    if (b < 0)
        return -1;
    return wrap_mem(m, md, m->bufs[b].ptr, out, err, err_len);
}

static void impl_name(const_dnnl_primitive_desc_t pd, char *out, size_t len);

static int make_primitive(model *m, const_dnnl_op_desc_t desc, const_dnnl_primitive_attr_t attr,
                          const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, dnnl_primitive_t *prim,
                          char *err, size_t err_len) {
    NNB_DNNL_TRY(dnnl_primitive_desc_create(pd, desc, attr, m->eng, hint));
    if (nnb_grow(&m->pds, &m->cap_pds, m->npds + 1, sizeof *m->pds))
        return nnb_fail(err, err_len, "out of memory");
    m->pds[m->npds++] = *pd;
    char impl[96];
    impl_name(*pd, impl, sizeof impl);
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

static int make_reorder(model *m, dnnl_memory_t src, dnnl_memory_t dst, dnnl_primitive_t *prim, char *err,
                        size_t err_len) {
    const dnnl_memory_desc_t *smd, *dmd;
    dnnl_primitive_desc_t pd;
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(src, &smd));
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(dst, &dmd));
    NNB_DNNL_TRY(dnnl_reorder_primitive_desc_create(&pd, smd, m->eng, dmd, m->eng, NULL));
    if (nnb_grow(&m->pds, &m->cap_pds, m->npds + 1, sizeof *m->pds))
        return nnb_fail(err, err_len, "out of memory");
    m->pds[m->npds++] = pd;
    NNB_DNNL_TRY(dnnl_primitive_create(prim, pd));
    if (nnb_grow(&m->prims, &m->cap_prims, m->nprims + 1, sizeof *m->prims))
        return nnb_fail(err, err_len, "out of memory");
    m->prims[m->nprims++] = *prim;
    return 0;
}

static int run_reorder(model *m, dnnl_primitive_t r, dnnl_memory_t src, dnnl_memory_t dst, char *err, size_t err_len) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    NNB_DNNL_TRY(dnnl_primitive_execute(r, m->stream, 2, args));
    NNB_DNNL_TRY(dnnl_stream_wait(m->stream));
    return 0;
}

static step *push_step(step_list *l, dnnl_primitive_t prim, int layer) {
    if (nnb_grow(&l->items, &l->cap, l->count + 1, sizeof *l->items))
        return NULL;
    step *s = &l->items[l->count++];
    memset(s, 0, sizeof *s);
    s->prim = prim;
    s->layer = layer;
    return s;
}

static void arg(step *s, int name, dnnl_memory_t mem) {
    s->args[s->nargs].arg = name;
    s->args[s->nargs].memory = mem;
    s->nargs++;
}

static const dnnl_memory_desc_t *pd_md(const_dnnl_primitive_desc_t pd, int exec_arg) {
    return dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, exec_arg);
}

static void md_init(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag) {
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(md, ndims, d, dnnl_f32, tag); /* cannot fail for these dims and tags */
}

/* oneDNN-style layout string of a blocked md: dims by decreasing stride (upper case when blocked) and
 * the inner blocks, e.g. "aBcd16b" (= nChw16c) or "abcd" (= nchw). */
static void format_string(const dnnl_memory_desc_t *md, char *out, size_t len) {
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

static void impl_name(const_dnnl_primitive_desc_t pd, char *out, size_t len) {
    const char *s = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s)
        s = "?";
    snprintf(out, len, "%s", s);
}

static void act_dims(const nnb_resnet_shape s, int64_t *d) { d[0] = s.n, d[1] = s.c, d[2] = s.h, d[3] = s.w; }

static int alloc_act(model *m, int a, char *err, size_t err_len) {
    return alloc_mem(m, &m->act_md[a], &m->act_mem[a], err, err_len);
}

/* ---- forward construction, one function per layer kind ---- */

static int build_conv_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t sd[4], wd[4] = {l->out.c, l->in.c, l->kernel, l->kernel}, dd[4];
    act_dims(l->in, sd);
    act_dims(l->out, dd);
    dnnl_memory_desc_t src_any, w_any, dst_any, w_plain;
    md_init(&src_any, 4, sd, dnnl_format_tag_any);
    md_init(&w_any, 4, wd, dnnl_format_tag_any);
    md_init(&dst_any, 4, dd, dnnl_format_tag_any);
    md_init(&w_plain, 4, wd, dnnl_oihw);
    dnnl_dims_t strides = {l->stride, l->stride}, pad = {l->pad, l->pad};
    /* Only the network's input lets the convolution choose; inside, it takes the layout it is given. */
    const dnnl_memory_desc_t *src_md = l->src == 0 ? &src_any : &m->act_md[l->src];
    dnnl_convolution_desc_t cd;
    NNB_DNNL_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, src_md, &w_any,
                                                    NULL, &dst_any, strides, pad, pad));
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &cd, NULL, NULL, &s->fwd_pd, &prim, err, err_len));
    if (l->src == 0) {
        m->act_md[0] = *pd_md(s->fwd_pd, DNNL_ARG_SRC);
        TRY(alloc_act(m, 0, err, err_len));
        int64_t xd[4];
        act_dims(m->arch.acts[0], xd);
        dnnl_memory_desc_t x_md;
        md_init(&x_md, 4, xd, dnnl_nchw);
        TRY(wrap_mem(m, &x_md, m->x, &m->x_plain, err, err_len));
        TRY(make_reorder(m, m->x_plain, m->act_mem[0], &m->x_reorder, err, err_len));
        impl_name(s->fwd_pd, m->impl_conv1_fwd, sizeof m->impl_conv1_fwd);
    }
    m->act_md[l->dst] = *pd_md(s->fwd_pd, DNNL_ARG_DST);
    TRY(alloc_act(m, l->dst, err, err_len));
    /* Weights: torchvision OIHW into the convolution's layout, once. */
    dnnl_memory_t w_user;
    dnnl_primitive_t r;
    TRY(wrap_mem(m, &w_plain, m->params + m->arch.params[l->param].offset, &w_user, err, err_len));
    TRY(alloc_mem(m, pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS), &s->weights, err, err_len));
    TRY(make_reorder(m, w_user, s->weights, &r, err, err_len));
    TRY(run_reorder(m, r, w_user, s->weights, err, err_len));
    if (!strcmp(l->name, "layer1.0.conv1")) {
        format_string(&m->act_md[l->dst], m->fmt_act, sizeof m->fmt_act);
        format_string(pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS), m->fmt_weights, sizeof m->fmt_weights);
    }
    step *st = push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    arg(st, DNNL_ARG_WEIGHTS, s->weights);
    arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    return 0;
}

static unsigned bn_flags(const model *m, int li) {
    return dnnl_use_scale | dnnl_use_shift | (m->ls[li].fuse_relu ? dnnl_fuse_norm_relu : 0u);
}

static int build_bn_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    dnnl_batch_normalization_desc_t bd;
    NNB_DNNL_TRY(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_training, &m->act_md[l->src],
                                                            (float)NNB_RESNET_BN_EPS, bn_flags(m, li)));
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &bd, NULL, NULL, &s->fwd_pd, &prim, err, err_len));
    if (!m->impl_bn[0])
        impl_name(s->fwd_pd, m->impl_bn, sizeof m->impl_bn);
    m->act_md[l->dst] = *pd_md(s->fwd_pd, DNNL_ARG_DST);
    TRY(alloc_act(m, l->dst, err, err_len));
    dnnl_memory_t scale, shift;
    const nnb_resnet_param *p = &m->arch.params[l->param];
    TRY(wrap_mem(m, pd_md(s->fwd_pd, DNNL_ARG_SCALE), m->params + p[0].offset, &scale, err, err_len));
    TRY(wrap_mem(m, pd_md(s->fwd_pd, DNNL_ARG_SHIFT), m->params + p[1].offset, &shift, err, err_len));
    TRY(alloc_mem(m, pd_md(s->fwd_pd, DNNL_ARG_MEAN), &s->mean, err, err_len));
    TRY(alloc_mem(m, pd_md(s->fwd_pd, DNNL_ARG_VARIANCE), &s->var, err, err_len));
    step *st = push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    arg(st, DNNL_ARG_SCALE, scale);
    arg(st, DNNL_ARG_SHIFT, shift);
    arg(st, DNNL_ARG_MEAN, s->mean);
    arg(st, DNNL_ARG_VARIANCE, s->var);
    if (s->fuse_relu) {
        TRY(alloc_mem(m, pd_md(s->fwd_pd, DNNL_ARG_WORKSPACE), &s->workspace, err, err_len));
        arg(st, DNNL_ARG_WORKSPACE, s->workspace);
    }
    if (!push_step(&m->fwd, NULL, li))
        return nnb_fail(err, err_len, "out of memory"); /* running statistics */
    return 0;
}

static int build_relu_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    if (m->consumers[l->src] != 1)
        return nnb_fail(err, err_len, "%s: in-place ReLU needs a single reader of its input", l->name);
    m->act_md[l->dst] = m->act_md[l->src];
    m->act_mem[l->dst] = m->act_mem[l->src]; /* in place */
    if (s->relu_fused_into_bn)
        return 0;
    dnnl_eltwise_desc_t ed;
    NNB_DNNL_TRY(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd,
                                                &m->act_md[l->src], 0.f, 0.f));
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &ed, NULL, NULL, &s->fwd_pd, &prim, err, err_len)); /* also the backward's hint */
    if (s->relu_fused_into_add)
        return 0;
    step *st = push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    return 0;
}

static int build_pool_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int max = l->op == NNB_RESNET_MAXPOOL;
    int64_t dd[4];
    act_dims(l->out, dd);
    dnnl_memory_desc_t dst_any;
    md_init(&dst_any, 4, dd, dnnl_format_tag_any);
    dnnl_dims_t strides = {max ? l->stride : 1, max ? l->stride : 1},
                kernel = {max ? l->kernel : l->in.h, max ? l->kernel : l->in.w};
    dnnl_dims_t dil = {0, 0}, pad = {max ? l->pad : 0, max ? l->pad : 0};
    dnnl_pooling_v2_desc_t pd_desc;
    NNB_DNNL_TRY(dnnl_pooling_v2_forward_desc_init(&pd_desc, dnnl_forward_training,
                                                   max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding,
                                                   &m->act_md[l->src], &dst_any, strides, kernel, dil, pad, pad));
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &pd_desc, NULL, NULL, &s->fwd_pd, &prim, err, err_len));
    m->act_md[l->dst] = *pd_md(s->fwd_pd, DNNL_ARG_DST);
    TRY(alloc_act(m, l->dst, err, err_len));
    step *st = push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    if (max) {
        TRY(alloc_mem(m, pd_md(s->fwd_pd, DNNL_ARG_WORKSPACE), &s->workspace, err, err_len));
        arg(st, DNNL_ARG_WORKSPACE, s->workspace);
    }
    return 0;
}

static int build_add_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    if (m->consumers[l->src] != 1)
        return nnb_fail(err, err_len, "%s: in-place add needs a single reader of its first input", l->name);
    m->act_md[l->dst] = m->act_md[l->src];
    m->act_mem[l->dst] = m->act_mem[l->src]; /* in place over the last BN's output */
    if (s->fuse_relu && m->act_md[l->src].padded_dims[1] != m->act_md[l->src].dims[1]) {
        /* oneDNN 2.6.3's binary add with a ReLU post-op gives wrong values when the channel count does not
         * fill the layout's blocks (24 channels in nChw16c: found by resnet_layers_should_match_reference).
         * ResNet's channel counts are multiples of 64; elsewhere the ReLU stays a separate primitive. */
        s->fuse_relu = 0;
        m->ls[li + 1].relu_fused_into_add = 0;
        m->fusion_fallbacks++;
    }
    dnnl_binary_desc_t bd;
    NNB_DNNL_TRY(
        dnnl_binary_desc_init(&bd, dnnl_binary_add, &m->act_md[l->src], &m->act_md[l->src2], &m->act_md[l->dst]));
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (s->fuse_relu) {
        NNB_DNNL_TRY(dnnl_primitive_attr_create(&attr));
        NNB_DNNL_TRY(dnnl_post_ops_create(&po));
        NNB_DNNL_TRY(dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f));
        NNB_DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    dnnl_primitive_t prim;
    int rc = make_primitive(m, &bd, attr, NULL, &s->fwd_pd, &prim, err, err_len);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    TRY(rc);
    step *st = push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC_0, m->act_mem[l->src]);
    arg(st, DNNL_ARG_SRC_1, m->act_mem[l->src2]);
    arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    return 0;
}

static int build_fc_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t wd[4] = {l->out.c, l->in.c, 1, 1}, bd[1] = {l->out.c}, dd[2] = {l->out.n, l->out.c};
    dnnl_memory_desc_t w_any, b_md, dst_any, w_plain, logits_md;
    md_init(&w_any, 4, wd, dnnl_format_tag_any);
    md_init(&w_plain, 4, wd, dnnl_oihw); /* = torchvision's (1000, C) */
    md_init(&b_md, 1, bd, dnnl_x);
    md_init(&dst_any, 2, dd, dnnl_format_tag_any);
    md_init(&logits_md, 2, dd, dnnl_nc);
    dnnl_inner_product_desc_t id;
    NNB_DNNL_TRY(
        dnnl_inner_product_forward_desc_init(&id, dnnl_forward_training, &m->act_md[l->src], &w_any, &b_md, &dst_any));
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &id, NULL, NULL, &s->fwd_pd, &prim, err, err_len));
    m->act_md[l->dst] = *pd_md(s->fwd_pd, DNNL_ARG_DST);
    TRY(alloc_act(m, l->dst, err, err_len));
    dnnl_memory_t w_user, bias;
    dnnl_primitive_t r;
    const nnb_resnet_param *p = &m->arch.params[l->param];
    TRY(wrap_mem(m, &w_plain, m->params + p[0].offset, &w_user, err, err_len));
    TRY(alloc_mem(m, pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS), &s->weights, err, err_len));
    TRY(make_reorder(m, w_user, s->weights, &r, err, err_len));
    TRY(run_reorder(m, r, w_user, s->weights, err, err_len));
    TRY(wrap_mem(m, pd_md(s->fwd_pd, DNNL_ARG_BIAS), m->params + p[1].offset, &bias, err, err_len));
    TRY(wrap_mem(m, &logits_md, m->logits, &m->logits_plain, err, err_len));
    TRY(make_reorder(m, m->act_mem[l->dst], m->logits_plain, &m->logits_reorder, err, err_len));
    step *st = push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    arg(st, DNNL_ARG_WEIGHTS, s->weights);
    arg(st, DNNL_ARG_BIAS, bias);
    arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    return 0;
}

/* ---- backward construction ---- */

/* Memory that layer li's backward writes the gradient of activation a into (layout md). The first
 * contribution goes straight into a's gradient buffer; a later one into a scratch buffer, then
 * accumulate() adds it in place. *scratch is the buffer index to add and release, or -1. */
static int grad_target(model *m, int a, const dnnl_memory_desc_t *md, dnnl_memory_t *out, int *scratch, char *err,
                       size_t err_len) {
    int b = pool_get(m, dnnl_memory_desc_get_size(md), err, err_len);
    if (b < 0)
        return -1;
    TRY(wrap_mem(m, md, m->bufs[b].ptr, out, err, err_len));
    if (!m->diff_mem[a]) {
        m->diff_mem[a] = *out;
        m->diff_buf[a] = b;
        m->bufs[b].refs++;
        *scratch = -1;
    } else {
        *scratch = b;
    }
    return 0;
}

/* diff[a] += scratch memory (in-place binary add), then the scratch buffer returns to the pool. */
static int accumulate(model *m, int a, dnnl_memory_t add, int scratch, char *err, size_t err_len) {
    const dnnl_memory_desc_t *md, *amd;
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(m->diff_mem[a], &md));
    NNB_DNNL_TRY(dnnl_memory_get_memory_desc(add, &amd));
    dnnl_binary_desc_t bd;
    NNB_DNNL_TRY(dnnl_binary_desc_init(&bd, dnnl_binary_add, md, amd, md));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &bd, NULL, NULL, &pd, &prim, err, err_len));
    step *st = push_step(&m->bwd, prim, -1);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC_0, m->diff_mem[a]);
    arg(st, DNNL_ARG_SRC_1, add);
    arg(st, DNNL_ARG_DST, m->diff_mem[a]);
    if (scratch >= 0)
        m->bufs[scratch].pooled = 1;
    return 0;
}

/* Gradient of a is the gradient of d (ReLU in place, residual add): share d's buffer, or add it in. */
static int share_grad(model *m, int a, int d, char *err, size_t err_len) {
    if (!m->diff_mem[a]) {
        m->diff_mem[a] = m->diff_mem[d];
        m->diff_buf[a] = m->diff_buf[d];
        m->bufs[m->diff_buf[d]].refs++;
        return 0;
    }
    return accumulate(m, a, m->diff_mem[d], -1, err, err_len);
}

/* After layer li's backward (the last reader of its output's gradient), that buffer may be reused. */
static void release_grad(model *m, int d) {
    int b = m->diff_buf[d];
    if (b < 0 || d == m->arch.num_acts - 1)
        return; /* grad_logits stays (set once per backward_setup) */
    if (--m->bufs[b].refs == 0)
        m->bufs[b].pooled = 1;
}

/* diff_weights in the backward primitive's layout, plus the reorder to torchvision's layout (outputs()). */
static int weight_grads(model *m, int li, const_dnnl_primitive_desc_t bwd_pd, const dnnl_memory_desc_t *plain_md,
                        char *err, size_t err_len) {
    layer_state *s = &m->ls[li];
    const nnb_resnet_layer *l = &m->arch.layers[li];
    TRY(alloc_mem(m, pd_md(bwd_pd, DNNL_ARG_DIFF_WEIGHTS), &s->diff_weights, err, err_len));
    TRY(wrap_mem(m, plain_md, m->grads + m->arch.params[l->param].offset, &s->diff_weights_plain, err, err_len));
    return make_reorder(m, s->diff_weights, s->diff_weights_plain, &s->diff_weights_reorder, err, err_len);
}

/* The stem's input gradient (dx) goes to kernels/cnn_cpu when it can: AVX-512, a shape it supports, and the
 * output gradient in nChw16c. oneDNN 2.6's blocked backward-data pads the 3 input channels to 16 and takes
 * about 6x the stem's forward time at ResNet sizes (docs/resnet.md). NNB_RESNET_INPUT_GRAD=onednn keeps
 * oneDNN's primitive (for A/B comparisons and for the tests of that path). */
static int use_own_input_grad(const model *m, const nnb_resnet_layer *l) {
    const char *force = getenv("NNB_RESNET_INPUT_GRAD");
    if (l->src != 0 || (force && !strcmp(force, "onednn")))
        return 0;
    if (!nnb_conv_input_grad_available() || !nnb_conv_input_grad_supported(l->in.c, l->kernel, l->stride))
        return 0;
    int64_t yd[4];
    act_dims(l->out, yd);
    dnnl_memory_desc_t blocked;
    md_init(&blocked, 4, yd, dnnl_aBcd16b);
    return dnnl_memory_desc_equal(&blocked, &m->act_md[l->dst]);
}

/* dx = the stem's input gradient, from its output gradient (nChw16c) and the current weights. */
static int run_input_grad(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    void *dy = NULL;
    NNB_DNNL_TRY(dnnl_stream_wait(m->stream));
    NNB_DNNL_TRY(dnnl_memory_get_data_handle(m->diff_mem[l->dst], &dy));
    nnb_conv_input_grad_prepare_weights(l->out.c, l->in.c, l->kernel, m->params + m->arch.params[l->param].offset,
                                        m->stem_wt);
    nnb_conv_input_grad_nchw16c(l->in.n, l->in.c, l->in.h, l->in.w, l->out.c, l->kernel, l->stride, l->pad, l->out.h,
                                l->out.w, m->stem_wt, dy, m->dx, m->threads < 1 ? 1 : m->threads);
    return 0;
}

static int build_own_input_grad(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    size_t n = nnb_conv_input_grad_weights_floats(l->out.c, l->in.c, l->kernel);
    m->stem_wt = n ? nnb_alloc_floats(n) : NULL;
    step *st = m->stem_wt ? push_step(&m->bwd, NULL, li) : NULL;
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    st->input_grad = 1;
    m->own_input_grad = 1;
    snprintf(m->impl_conv1_bwd_data, sizeof m->impl_conv1_bwd_data,
             "own avx512 direct, nChw16c dy to NCHW dx (kernels/cnn_cpu)");
    return 0;
}

static int build_conv_bwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t sd[4], wd[4] = {l->out.c, l->in.c, l->kernel, l->kernel};
    act_dims(l->in, sd);
    dnnl_memory_desc_t w_any, w_plain, src_any;
    md_init(&w_any, 4, wd, dnnl_format_tag_any);
    md_init(&w_plain, 4, wd, dnnl_oihw);
    md_init(&src_any, 4, sd, dnnl_format_tag_any);
    dnnl_dims_t strides = {l->stride, l->stride}, pad = {l->pad, l->pad};
    const dnnl_memory_desc_t *dst_md = &m->act_md[l->dst];

    dnnl_convolution_desc_t wdsc;
    NNB_DNNL_TRY(dnnl_convolution_backward_weights_desc_init(&wdsc, dnnl_convolution_direct, &m->act_md[l->src], &w_any,
                                                             NULL, dst_md, strides, pad, pad));
    dnnl_primitive_desc_t wpd;
    dnnl_primitive_t wprim;
    TRY(make_primitive(m, &wdsc, NULL, s->fwd_pd, &wpd, &wprim, err, err_len));
    TRY(weight_grads(m, li, wpd, &w_plain, err, err_len));
    step *st = push_step(&m->bwd, wprim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    arg(st, DNNL_ARG_DIFF_WEIGHTS, s->diff_weights);
    if (use_own_input_grad(m, l)) {
        impl_name(wpd, m->impl_conv1_bwd_weights, sizeof m->impl_conv1_bwd_weights);
        return build_own_input_grad(m, li, err, err_len);
    }

    /* Data gradient; for the network input (dx) the primitive picks the layout. */
    dnnl_convolution_desc_t dd;
    NNB_DNNL_TRY(dnnl_convolution_backward_data_desc_init(
        &dd, dnnl_convolution_direct, l->src == 0 ? &src_any : &m->act_md[l->src], &w_any, dst_md, strides, pad, pad));
    dnnl_primitive_desc_t dpd;
    dnnl_primitive_t dprim;
    TRY(make_primitive(m, &dd, NULL, s->fwd_pd, &dpd, &dprim, err, err_len));
    /* The backward-data kernels want the weights transposed-blocked (e.g. ABcd16a16b vs the forward's
     * ABcd16b16a). Weights do not change between iterations (no optimizer step), so that copy is made
     * once, here; a training loop would redo this reorder after each weight update. */
    dnnl_memory_t bwd_weights = s->weights;
    if (!dnnl_memory_desc_equal(pd_md(dpd, DNNL_ARG_WEIGHTS), pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS))) {
        dnnl_memory_t w_user;
        dnnl_primitive_t r;
        TRY(wrap_mem(m, &w_plain, m->params + m->arch.params[l->param].offset, &w_user, err, err_len));
        TRY(alloc_mem(m, pd_md(dpd, DNNL_ARG_WEIGHTS), &bwd_weights, err, err_len));
        TRY(make_reorder(m, w_user, bwd_weights, &r, err, err_len));
        TRY(run_reorder(m, r, w_user, bwd_weights, err, err_len));
    }
    dnnl_memory_t target;
    int scratch;
    TRY(grad_target(m, l->src, pd_md(dpd, DNNL_ARG_DIFF_SRC), &target, &scratch, err, err_len));
    st = push_step(&m->bwd, dprim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    arg(st, DNNL_ARG_WEIGHTS, bwd_weights);
    arg(st, DNNL_ARG_DIFF_SRC, target);
    if (scratch >= 0)
        TRY(accumulate(m, l->src, target, scratch, err, err_len));
    if (l->src == 0) {
        impl_name(wpd, m->impl_conv1_bwd_weights, sizeof m->impl_conv1_bwd_weights);
        impl_name(dpd, m->impl_conv1_bwd_data, sizeof m->impl_conv1_bwd_data);
        int64_t xd[4];
        act_dims(m->arch.acts[0], xd);
        dnnl_memory_desc_t x_md;
        md_init(&x_md, 4, xd, dnnl_nchw);
        TRY(wrap_mem(m, &x_md, m->dx, &m->dx_plain, err, err_len));
        TRY(make_reorder(m, m->diff_mem[0], m->dx_plain, &m->dx_reorder, err, err_len));
    }
    return 0;
}

static int build_bn_bwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    dnnl_batch_normalization_desc_t bd;
    NNB_DNNL_TRY(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &m->act_md[l->dst], &m->act_md[l->src],
                                                             (float)NNB_RESNET_BN_EPS, bn_flags(m, li)));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &bd, NULL, s->fwd_pd, &pd, &prim, err, err_len));
    const nnb_resnet_param *p = &m->arch.params[l->param];
    dnnl_memory_t scale, shift, dscale, dshift, target;
    TRY(wrap_mem(m, pd_md(pd, DNNL_ARG_SCALE), m->params + p[0].offset, &scale, err, err_len));
    TRY(wrap_mem(m, pd_md(s->fwd_pd, DNNL_ARG_SHIFT), m->params + p[1].offset, &shift, err, err_len));
    TRY(wrap_mem(m, pd_md(pd, DNNL_ARG_DIFF_SCALE), m->grads + p[0].offset, &dscale, err, err_len));
    TRY(wrap_mem(m, pd_md(pd, DNNL_ARG_DIFF_SHIFT), m->grads + p[1].offset, &dshift, err, err_len));
    int scratch;
    TRY(grad_target(m, l->src, pd_md(pd, DNNL_ARG_DIFF_SRC), &target, &scratch, err, err_len));
    step *st = push_step(&m->bwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    arg(st, DNNL_ARG_MEAN, s->mean);
    arg(st, DNNL_ARG_VARIANCE, s->var);
    arg(st, DNNL_ARG_SCALE, scale);
    arg(st, DNNL_ARG_SHIFT, shift);
    arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    arg(st, DNNL_ARG_DIFF_SRC, target);
    arg(st, DNNL_ARG_DIFF_SCALE, dscale);
    arg(st, DNNL_ARG_DIFF_SHIFT, dshift);
    if (s->fuse_relu)
        arg(st, DNNL_ARG_WORKSPACE, s->workspace);
    if (scratch >= 0)
        TRY(accumulate(m, l->src, target, scratch, err, err_len));
    return 0;
}

static int build_relu_bwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    TRY(share_grad(m, l->src, l->dst, err, err_len)); /* in place on the gradient too */
    if (s->relu_fused_into_bn)
        return 0; /* the BN's backward applies the ReLU mask */
    dnnl_eltwise_desc_t ed;
    NNB_DNNL_TRY(dnnl_eltwise_backward_desc_init(&ed, dnnl_eltwise_relu_use_dst_for_bwd, &m->act_md[l->dst],
                                                 &m->act_md[l->dst], 0.f, 0.f));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &ed, NULL, s->fwd_pd, &pd, &prim, err, err_len));
    step *st = push_step(&m->bwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    arg(st, DNNL_ARG_DIFF_SRC, m->diff_mem[l->dst]);
    return 0;
}

static int build_pool_bwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int max = l->op == NNB_RESNET_MAXPOOL;
    dnnl_dims_t strides = {max ? l->stride : 1, max ? l->stride : 1},
                kernel = {max ? l->kernel : l->in.h, max ? l->kernel : l->in.w};
    dnnl_dims_t dil = {0, 0}, pad = {max ? l->pad : 0, max ? l->pad : 0};
    dnnl_pooling_v2_desc_t pdd;
    NNB_DNNL_TRY(dnnl_pooling_v2_backward_desc_init(&pdd, max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding,
                                                    &m->act_md[l->src], &m->act_md[l->dst], strides, kernel, dil, pad,
                                                    pad));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &pdd, NULL, s->fwd_pd, &pd, &prim, err, err_len));
    dnnl_memory_t target;
    int scratch;
    TRY(grad_target(m, l->src, pd_md(pd, DNNL_ARG_DIFF_SRC), &target, &scratch, err, err_len));
    step *st = push_step(&m->bwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    arg(st, DNNL_ARG_DIFF_SRC, target);
    if (max)
        arg(st, DNNL_ARG_WORKSPACE, s->workspace);
    if (scratch >= 0)
        TRY(accumulate(m, l->src, target, scratch, err, err_len));
    return 0;
}

static int build_fc_bwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t wd[4] = {l->out.c, l->in.c, 1, 1}, bd[1] = {l->out.c}, gd[2] = {l->out.n, l->out.c};
    dnnl_memory_desc_t w_any, w_plain, b_md, g_md;
    md_init(&w_any, 4, wd, dnnl_format_tag_any);
    md_init(&w_plain, 4, wd, dnnl_oihw);
    md_init(&b_md, 1, bd, dnnl_x);
    md_init(&g_md, 2, gd, dnnl_nc);
    /* The upstream gradient: grad_logits (plain) into the logits' layout, in backward_setup. */
    TRY(alloc_mem(m, &m->act_md[l->dst], &m->diff_mem[l->dst], err, err_len));
    TRY(wrap_mem(m, &g_md, m->grad_logits, &m->grad_logits_plain, err, err_len));
    TRY(make_reorder(m, m->grad_logits_plain, m->diff_mem[l->dst], &m->grad_logits_reorder, err, err_len));

    dnnl_inner_product_desc_t wdsc;
    NNB_DNNL_TRY(
        dnnl_inner_product_backward_weights_desc_init(&wdsc, &m->act_md[l->src], &w_any, &b_md, &m->act_md[l->dst]));
    dnnl_primitive_desc_t wpd;
    dnnl_primitive_t wprim;
    TRY(make_primitive(m, &wdsc, NULL, s->fwd_pd, &wpd, &wprim, err, err_len));
    TRY(weight_grads(m, li, wpd, &w_plain, err, err_len));
    dnnl_memory_t dbias;
    TRY(wrap_mem(m, pd_md(wpd, DNNL_ARG_DIFF_BIAS), m->grads + m->arch.params[l->param + 1].offset, &dbias, err,
                 err_len));
    step *st = push_step(&m->bwd, wprim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    arg(st, DNNL_ARG_DIFF_WEIGHTS, s->diff_weights);
    arg(st, DNNL_ARG_DIFF_BIAS, dbias);

    dnnl_inner_product_desc_t dd;
    NNB_DNNL_TRY(dnnl_inner_product_backward_data_desc_init(&dd, &m->act_md[l->src], pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS),
                                                            &m->act_md[l->dst]));
    dnnl_primitive_desc_t dpd;
    dnnl_primitive_t dprim;
    TRY(make_primitive(m, &dd, NULL, s->fwd_pd, &dpd, &dprim, err, err_len));
    dnnl_memory_t target;
    int scratch;
    TRY(grad_target(m, l->src, pd_md(dpd, DNNL_ARG_DIFF_SRC), &target, &scratch, err, err_len));
    st = push_step(&m->bwd, dprim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    arg(st, DNNL_ARG_WEIGHTS, s->weights);
    arg(st, DNNL_ARG_DIFF_SRC, target);
    if (scratch >= 0)
        TRY(accumulate(m, l->src, target, scratch, err, err_len));
    return 0;
}

/* Which ReLUs the fused variant folds into the preceding BN or residual add. */
static void plan_fusion(model *m) {
    const nnb_resnet_arch *a = &m->arch;
    for (int i = 0; i + 1 < a->num_layers; i++) {
        const nnb_resnet_layer *l = &a->layers[i], *next = &a->layers[i + 1];
        if (!m->fused || next->op != NNB_RESNET_RELU || next->src != l->dst)
            continue;
        if (l->op == NNB_RESNET_BN) {
            m->ls[i].fuse_relu = 1;
            m->ls[i + 1].relu_fused_into_bn = 1;
        } else if (l->op == NNB_RESNET_ADD) {
            m->ls[i].fuse_relu = 1;
            m->ls[i + 1].relu_fused_into_add = 1;
        }
    }
}

static int build_network(model *m, char *err, size_t err_len) {
    const nnb_resnet_arch *a = &m->arch;
    for (int i = 0; i < a->num_layers; i++) {
        m->consumers[a->layers[i].src]++;
        if (a->layers[i].src2 >= 0)
            m->consumers[a->layers[i].src2]++;
    }
    plan_fusion(m);
    for (int i = 0; i < a->num_layers; i++) {
        m->cur_layer = a->layers[i].name;
        switch (a->layers[i].op) {
        case NNB_RESNET_CONV: TRY(build_conv_fwd(m, i, err, err_len)); break;
        case NNB_RESNET_BN: TRY(build_bn_fwd(m, i, err, err_len)); break;
        case NNB_RESNET_RELU: TRY(build_relu_fwd(m, i, err, err_len)); break;
        case NNB_RESNET_MAXPOOL:
        case NNB_RESNET_AVGPOOL: TRY(build_pool_fwd(m, i, err, err_len)); break;
        case NNB_RESNET_ADD: TRY(build_add_fwd(m, i, err, err_len)); break;
        case NNB_RESNET_FC: TRY(build_fc_fwd(m, i, err, err_len)); break;
        }
    }
    for (int i = a->num_layers - 1; i >= 0; i--) {
        const nnb_resnet_layer *l = &a->layers[i];
        m->cur_layer = l->name;
        switch (l->op) {
        case NNB_RESNET_CONV: TRY(build_conv_bwd(m, i, err, err_len)); break;
        case NNB_RESNET_BN: TRY(build_bn_bwd(m, i, err, err_len)); break;
        case NNB_RESNET_RELU: TRY(build_relu_bwd(m, i, err, err_len)); break;
        case NNB_RESNET_MAXPOOL:
        case NNB_RESNET_AVGPOOL: TRY(build_pool_bwd(m, i, err, err_len)); break;
        case NNB_RESNET_ADD:
            TRY(share_grad(m, l->src, l->dst, err, err_len));
            TRY(share_grad(m, l->src2, l->dst, err, err_len));
            break;
        case NNB_RESNET_FC: TRY(build_fc_bwd(m, i, err, err_len)); break;
        }
        release_grad(m, l->dst);
    }
    return 0;
}

/* ---- running statistics ---- */

static int update_running_stats(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    const nnb_resnet_param *p = &m->arch.params[l->param];
    float *rm = m->params + p[2].offset, *rv = m->params + p[3].offset;
    void *mh, *vh;
    NNB_DNNL_TRY(dnnl_memory_get_data_handle(m->ls[li].mean, &mh));
    NNB_DNNL_TRY(dnnl_memory_get_data_handle(m->ls[li].var, &vh));
    const float *mean = mh, *var = vh;
    const double count = (double)l->in.n * (double)l->in.h * (double)l->in.w;
    const float mom = (float)NNB_RESNET_BN_MOMENTUM, unbias = (float)(count / (count - 1.0));
    for (int64_t c = 0; c < l->in.c; c++) {
        rm[c] = (1.0f - mom) * rm[c] + mom * mean[c];
        rv[c] = (1.0f - mom) * rv[c] + mom * var[c] * unbias;
    }
    return 0;
}

static int run_steps(model *m, const step_list *l, char *err, size_t err_len) {
    for (int i = 0; i < l->count; i++) {
        const step *s = &l->items[i];
        if (s->input_grad) {
            TRY(run_input_grad(m, s->layer, err, err_len));
        } else if (s->prim) {
            NNB_DNNL_TRY(dnnl_primitive_execute(s->prim, m->stream, s->nargs, s->args));
        } else {
            NNB_DNNL_TRY(dnnl_stream_wait(m->stream)); /* (the CPU stream is in-order and synchronous) */
            TRY(update_running_stats(m, s->layer, err, err_len));
        }
    }
    NNB_DNNL_TRY(dnnl_stream_wait(m->stream));
    return 0;
}

/* ---- runner interface ---- */

static void model_destroy(void *p) {
    model *m = p;
    if (!m)
        return;
    for (int i = 0; i < m->nprims; i++)
        dnnl_primitive_destroy(m->prims[i]);
    for (int i = 0; i < m->npds; i++)
        dnnl_primitive_desc_destroy(m->pds[i]);
    nnb_dnnl_release(&m->mems);
    for (int i = 0; i < m->nbufs; i++)
        nnb_free(m->bufs[i].ptr);
    free(m->prims), free(m->pds), free(m->bufs);
    free(m->fwd.items), free(m->bwd.items);
    if (m->stream)
        dnnl_stream_destroy(m->stream);
    if (m->eng)
        dnnl_engine_destroy(m->eng);
    free(m->act_md), free(m->act_mem), free(m->diff_mem), free(m->diff_buf), free(m->consumers), free(m->ls);
    nnb_free(m->params), nnb_free(m->grads), nnb_free(m->x), nnb_free(m->grad_logits), nnb_free(m->logits);
    nnb_free(m->dx);
    nnb_free(m->stem_wt);
    free(m->in_tensors), free(m->out_tensors);
    nnb_resnet_arch_free(&m->arch);
    free(m);
}

/* Builds the oneDNN model for an architecture table (taken over: freed with the model). The runners pass
 * the ResNet tables; tests pass small hand-made tables with awkward shapes (any table that starts with a
 * convolution on acts[0] and ends with fc). */
static void *model_create_from_arch(nnb_resnet_arch *arch, const char *name, int fused, const nnb_config *cfg,
                                    char *err, size_t err_len) {
    model *m = calloc(1, sizeof *m);
    if (!m) {
        nnb_resnet_arch_free(arch);
        nnb_fail(err, err_len, "%s: out of memory", name);
        return NULL;
    }
    m->arch = *arch;
    memset(arch, 0, sizeof *arch);
    m->name = name;
    m->fused = fused;
    m->threads = cfg->threads;
    m->seed = cfg->seed;
    nnb_set_threads(cfg->threads);
    const char *input_grad = getenv("NNB_RESNET_INPUT_GRAD"); /* see use_own_input_grad */
    if (input_grad && *input_grad && strcmp(input_grad, "own") && strcmp(input_grad, "onednn")) {
        nnb_fail(err, err_len, "%s: NNB_RESNET_INPUT_GRAD='%s' (valid: own, onednn)", name, input_grad);
        goto fail;
    }
    const nnb_resnet_arch *a = &m->arch;
    if (nnb_resnet_alloc_host(a, cfg->seed, &m->params, &m->grads, &m->x, &m->grad_logits, &m->logits, &m->dx) ||
        nnb_resnet_tensor_lists(a, m->params, m->grads, m->x, m->grad_logits, m->logits, m->dx, &m->in_tensors,
                                &m->n_in, &m->out_tensors, &m->n_out)) {
        nnb_fail(err, err_len, "%s: out of memory (N=%lld, S=%lld)", name, (long long)a->batch,
                 (long long)a->image_size);
        goto fail;
    }
    m->act_md = calloc((size_t)a->num_acts, sizeof *m->act_md);
    m->act_mem = calloc((size_t)a->num_acts, sizeof *m->act_mem);
    m->diff_mem = calloc((size_t)a->num_acts, sizeof *m->diff_mem);
    m->diff_buf = malloc((size_t)a->num_acts * sizeof *m->diff_buf);
    m->consumers = calloc((size_t)a->num_acts, sizeof *m->consumers);
    m->ls = calloc((size_t)a->num_layers, sizeof *m->ls);
    if (!m->act_md || !m->act_mem || !m->diff_mem || !m->diff_buf || !m->consumers || !m->ls) {
        nnb_fail(err, err_len, "%s: out of memory", name);
        goto fail;
    }
    for (int i = 0; i < a->num_acts; i++)
        m->diff_buf[i] = -1;
    dnnl_status_t st = dnnl_engine_create(&m->eng, dnnl_cpu, 0);
    if (st != dnnl_success) {
        nnb_fail(err, err_len, "dnnl_engine_create: %s (%s:%d)", dnnl_status2str(st), __FILE__, __LINE__);
        goto fail;
    }
    st = dnnl_stream_create(&m->stream, m->eng, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        nnb_fail(err, err_len, "dnnl_stream_create: %s (%s:%d)", dnnl_status2str(st), __FILE__, __LINE__);
        goto fail;
    }
    if (build_network(m, err, err_len))
        goto fail;
    if (run_reorder(m, m->x_reorder, m->x_plain, m->act_mem[0], err, err_len))
        goto fail;
    return m;
fail:
    model_destroy(m);
    return NULL;
}

static void *rn_create(const nnb_config *cfg, const char *name, int fused, char *err, size_t err_len) {
    /* --fuser does not apply (oneDNN's own kernels; the fusion is the runner's, _jit); one primitive list. */
    if (nnb_check_fuser_executor(name, cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    nnb_resnet_arch arch;
    if (nnb_resnet_arch_build(&arch, nnb_resnet_depth_from_name(name), cfg->cnn_batch, cfg->image_size, err, err_len))
        return NULL;
    return model_create_from_arch(&arch, name, fused, cfg, err, err_len);
}

static int rn_forward(void *p, char *err, size_t err_len) {
    model *m = p;
    nnb_set_threads(m->threads);
    return run_steps(m, &m->fwd, err, err_len);
}

static int rn_backward_setup(void *p, char *err, size_t err_len) {
    model *m = p;
    return run_reorder(m, m->grad_logits_reorder, m->grad_logits_plain, m->diff_mem[m->arch.num_acts - 1], err,
                       err_len);
}

static int rn_backward(void *p, char *err, size_t err_len) {
    model *m = p;
    nnb_set_threads(m->threads);
    return run_steps(m, &m->bwd, err, err_len);
}

static int rn_params(void *p, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    model *m = p;
    out->count = m->n_in;
    out->items = m->in_tensors;
    return 0;
}

/* Converts logits, dx and weight gradients to torchvision layouts (untimed). */
static int rn_outputs(void *p, nnb_tensor_list *out, char *err, size_t err_len) {
    model *m = p;
    const nnb_resnet_arch *a = &m->arch;
    TRY(run_reorder(m, m->logits_reorder, m->act_mem[a->num_acts - 1], m->logits_plain, err, err_len));
    if (!m->own_input_grad) /* else dx is written in NCHW directly */
        TRY(run_reorder(m, m->dx_reorder, m->diff_mem[0], m->dx_plain, err, err_len));
    for (int i = 0; i < a->num_layers; i++) {
        const layer_state *s = &m->ls[i];
        if (s->diff_weights_reorder)
            TRY(run_reorder(m, s->diff_weights_reorder, s->diff_weights, s->diff_weights_plain, err, err_len));
    }
    out->count = m->n_out;
    out->items = m->out_tensors;
    return 0;
}

static int rn_describe(void *p, char *buf, size_t len) {
    model *m = p;
    const dnnl_version_t *v = dnnl_version();
    int n = snprintf(buf, len,
                     "{\"library\":\"oneDNN %d.%d.%d\",\"api\":\"C\",\"model\":\"resnet%d\",\"fused\":%s,"
                     "\"fusions\":\"%s\",\"conv1_fwd_impl\":\"%s\",\"conv1_bwd_data_impl\":\"%s\","
                     "\"conv1_bwd_weights_impl\":\"%s\",\"bn_impl\":\"%s\",\"activation_format\":\"%s\","
                     "\"weights_format\":\"%s\",\"forward_primitives\":%d,\"backward_primitives\":%d,"
                     "\"internal_reorders\":%d,\"fusion_fallbacks\":%d,\"slow_reference_kernels\":\"%s\",\"threads\":%"
                     "d,\"batch\":%lld,\"image_size\":%lld}",
                     v->major, v->minor, v->patch, m->arch.depth, m->fused ? "true" : "false",
                     m->fused ? "bn+relu (dnnl_fuse_norm_relu), add+relu (binary post-op)" : "none", m->impl_conv1_fwd,
                     m->impl_conv1_bwd_data, m->impl_conv1_bwd_weights, m->impl_bn, m->fmt_act, m->fmt_weights,
                     m->fwd.count, m->bwd.count, m->internal_reorders, m->fusion_fallbacks, m->slow_impls, m->threads,
                     (long long)m->arch.batch, (long long)m->arch.image_size);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static double model_forward_flops(void *p) { return ((model *)p)->arch.forward_flops; }
static double model_backward_flops(void *p) { return ((model *)p)->arch.backward_flops; }

static void *create_resnet18(const nnb_config *c, char *e, size_t l) { return rn_create(c, "resnet18", 0, e, l); }
static void *create_resnet50(const nnb_config *c, char *e, size_t l) { return rn_create(c, "resnet50", 0, e, l); }
static void *create_resnet18_jit(const nnb_config *c, char *e, size_t l) {
    return rn_create(c, "resnet18_jit", 1, e, l);
}
static void *create_resnet50_jit(const nnb_config *c, char *e, size_t l) {
    return rn_create(c, "resnet50_jit", 1, e, l);
}

/* ---- descriptor ---- */

/* See nnb_resnet_check_tolerance: ResNet-50 gradients are judged in the L2 norm. */
static double resnet50_check_tolerance(const nnb_config *cfg) {
    (void)cfg;
    return nnb_resnet_check_tolerance(50);
}

#define DNNL_RUNNER(NAME, CREATE, DESC, REF, FLAGS, TOL)                                                               \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = NAME, .group = NNB_GROUP_CNNS, .device = NNB_DEVICE_CPU,       \
        .description = DESC, .reference = REF, .flags = FLAGS, .check_tolerance = TOL, .create = CREATE,               \
        .forward = rn_forward, .backward_setup = rn_backward_setup, .backward = rn_backward, .params = rn_params,      \
        .outputs = rn_outputs, .describe = rn_describe, .forward_flops = model_forward_flops,                          \
        .backward_flops = model_backward_flops, .destroy = model_destroy,                                              \
    }

static const nnb_runner_desc runners[] = {
    DNNL_RUNNER("resnet18", create_resnet18, "ResNet-18 train step, oneDNN primitives per layer", "resnet18_ref", 0,
                NULL),
    DNNL_RUNNER("resnet18_jit", create_resnet18_jit, "ResNet-18 train step, oneDNN with BN+ReLU and add+ReLU fused",
                "resnet18", 0, NULL),
    DNNL_RUNNER("resnet50", create_resnet50, "ResNet-50 train step, oneDNN primitives per layer", "resnet50_ref",
                NNB_FLAG_CHECK_GRADIENTS_L2, resnet50_check_tolerance),
    DNNL_RUNNER("resnet50_jit", create_resnet50_jit, "ResNet-50 train step, oneDNN with BN+ReLU and add+ReLU fused",
                "resnet50", 0, NULL),
};

static const nnb_plugin plugin = {
    .abi_major = NNB_ABI_MAJOR,
    .abi_minor = NNB_ABI_MINOR,
    .struct_size = sizeof(nnb_plugin),
    .name = "cpu_resnet",
    .runner_count = (int)(sizeof runners / sizeof runners[0]),
    .runners = runners,
};

NNB_DEFINE_PLUGIN(plugin)
