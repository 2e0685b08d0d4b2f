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
 *
 * Inference (ABI 1.2 infer(n), load_param): a second network per distinct batch n <= N, built on the first
 * infer(n) (build_infer_net) and kept: forward_inference primitives, BatchNorm with the running statistics
 * (use_global_stats), the same fusions, activations in three buffers shared by every layer and every n, the
 * input reorder inside infer, the logits written plain. Weights in each layout a primitive wants are made
 * once per layout (weights_in) and made again by load_param (refresh_weights); everything else a primitive
 * reads (BatchNorm parameters and statistics, fc bias) it reads in params, where load_param writes.
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

static int make_reorder_attr(model *m, dnnl_memory_t src, dnnl_memory_t dst, const_dnnl_primitive_attr_t attr,
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

static int make_reorder(model *m, dnnl_memory_t src, dnnl_memory_t dst, dnnl_primitive_t *prim, char *err,
                        size_t err_len) {
    return make_reorder_attr(m, src, dst, NULL, NULL, prim, err, err_len);
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

/* torchvision's weights as oneDNN sees them, OIHW: conv (out_c, in_c, k, k); fc (1000, C, 1, 1) = (1000, C). */
static void weights_plain_md(const nnb_resnet_layer *l, dnnl_memory_desc_t *md) {
    int64_t k = l->op == NNB_RESNET_CONV ? l->kernel : 1, wd[4] = {l->out.c, l->in.c, k, k};
    md_init(md, 4, wd, dnnl_oihw);
}

/* Layer li's weights in layout md: the copy already made for it, else a new one, reordered from params now.
 * These reorders run in whichever thread builds a net or calls load_param; none of them asks oneDNN for a
 * scratchpad (measured for both ResNets: their per-thread library scratchpad is not involved). */
static int weights_in(model *m, int li, const dnnl_memory_desc_t *md, dnnl_memory_t *out, char *err, size_t err_len) {
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
    TRY(wrap_mem(m, &plain, m->params + m->arch.params[l->param].offset, &c->user, err, err_len));
    TRY(alloc_mem(m, md, &c->mem, err, err_len));
    TRY(make_reorder(m, c->user, c->mem, &c->reorder, err, err_len));
    TRY(run_reorder(m, c->reorder, c->user, c->mem, err, err_len));
    s->nwcopies++;
    *out = c->mem;
    return 0;
}

/* After load_param changed layer li's weights in params: every copy again. */
static int refresh_weights(model *m, int li, char *err, size_t err_len) {
    const layer_state *s = &m->ls[li];
    for (int i = 0; i < s->nwcopies; i++)
        TRY(run_reorder(m, s->wcopies[i].reorder, s->wcopies[i].user, s->wcopies[i].mem, err, err_len));
    return 0;
}

/* ---- forward construction, one function per layer kind ---- */

static int build_conv_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t sd[4], wd[4] = {l->out.c, l->in.c, l->kernel, l->kernel}, dd[4];
    act_dims(l->in, sd);
    act_dims(l->out, dd);
    dnnl_memory_desc_t src_any, w_any, dst_any;
    md_init(&src_any, 4, sd, dnnl_format_tag_any);
    md_init(&w_any, 4, wd, dnnl_format_tag_any);
    md_init(&dst_any, 4, dd, dnnl_format_tag_any);
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
    /* Weights: torchvision OIHW into the convolution's layout (again after load_param). */
    TRY(weights_in(m, li, pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS), &s->weights, err, err_len));
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

/* Layer l's max or (global) average pooling for prop, from src into a destination of dims dd (format any). */
static dnnl_status_t pool_desc_init(dnnl_pooling_v2_desc_t *d, const nnb_resnet_layer *l, dnnl_prop_kind_t prop,
                                    const dnnl_memory_desc_t *src, const int64_t *dd) {
    int max = l->op == NNB_RESNET_MAXPOOL;
    dnnl_memory_desc_t dst_any;
    md_init(&dst_any, 4, dd, dnnl_format_tag_any);
    dnnl_dims_t strides = {max ? l->stride : 1, max ? l->stride : 1},
                kernel = {max ? l->kernel : l->in.h, max ? l->kernel : l->in.w};
    dnnl_dims_t dil = {0, 0}, pad = {max ? l->pad : 0, max ? l->pad : 0};
    return dnnl_pooling_v2_forward_desc_init(d, prop, max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding, src,
                                             &dst_any, strides, kernel, dil, pad, pad);
}

static int build_pool_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t dd[4];
    act_dims(l->out, dd);
    dnnl_pooling_v2_desc_t pd_desc;
    NNB_DNNL_TRY(pool_desc_init(&pd_desc, l, dnnl_forward_training, &m->act_md[l->src], dd));
    dnnl_primitive_t prim;
    TRY(make_primitive(m, &pd_desc, NULL, NULL, &s->fwd_pd, &prim, err, err_len));
    m->act_md[l->dst] = *pd_md(s->fwd_pd, DNNL_ARG_DST);
    TRY(alloc_act(m, l->dst, err, err_len));
    step *st = push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    if (l->op == NNB_RESNET_MAXPOOL) { /* max pooling keeps its argmax for backward */
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
    dnnl_memory_desc_t w_any, b_md, dst_any, logits_md;
    md_init(&w_any, 4, wd, dnnl_format_tag_any);
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
    dnnl_memory_t bias;
    const nnb_resnet_param *p = &m->arch.params[l->param];
    TRY(weights_in(m, li, pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS), &s->weights, err, err_len));
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
     * once, here (and again by load_param); a training loop would redo this reorder after each update. */
    dnnl_memory_t bwd_weights;
    TRY(weights_in(m, li, pd_md(dpd, DNNL_ARG_WEIGHTS), &bwd_weights, err, err_len));
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

/* ---- inference (ABI 1.2 infer): one network per distinct n ---- */

/* The inference network for batch n: oneDNN's forward_inference everywhere, BatchNorm normalising with the
 * running statistics (dnnl_use_global_stats | use_scale | use_shift: torchvision's eval(), nothing folded, read
 * from params directly so load_param needs no refresh), ReLU and the residual add in place and fused exactly
 * where the training network fuses them, max and global average pooling without workspace, and the fc writing
 * the plain (n, 1000) logits. Nothing is kept for a backward, so activations live in the model's few shared
 * inference buffers (slots), bound once the net is built. */
typedef struct infer_net {
    int64_t n;
    step_list steps;        /* the input reorder (when the first convolution wants another layout), the layers */
    dnnl_memory_desc_t *md; /* (num_acts) layouts at batch n */
    dnnl_memory_t *mem;     /* (num_acts) in-place layers share their input's; handles set by bind_infer_net */
    int *slot;              /* (num_acts) shared buffer of mem[a]; -1: x itself, or the plain logits */
    dnnl_memory_t *scratch; /* (nscratch) the scratchpads of the steps that need one, over the shared one */
    int nscratch, cap_scratch;
    size_t scratch_need; /* bytes: the largest of them */
    double build_ms;
} infer_net;

static void free_infer_net(infer_net *t) {
    if (!t)
        return;
    free(t->steps.items), free(t->md), free(t->mem), free(t->slot), free(t->scratch);
    free(t);
}

/* NCHW dims of s at batch n. */
static void batch_dims(nnb_resnet_shape s, int64_t n, int64_t *d) { d[0] = n, d[1] = s.c, d[2] = s.h, d[3] = s.w; }

/* mem[a] in layout md[a], in activation a's slot; its data handle is set by bind_infer_net. */
static int slot_mem(model *m, infer_net *t, int a, char *err, size_t err_len) {
    t->slot[a] = m->infer_slot[a];
    return wrap_mem(m, &t->md[a], NULL, &t->mem[a], err, err_len);
}

/* ReLU or add writing over its input (as the training network does; the slot plan puts them in place). */
static int alias_input(model *m, infer_net *t, const nnb_resnet_layer *l, char *err, size_t err_len) {
    if (m->infer_slot[l->dst] != m->infer_slot[l->src])
        return nnb_fail(err, err_len, "%s: in-place %s needs a single reader of its input", l->name,
                        nnb_resnet_op_name(l->op));
    t->md[l->dst] = t->md[l->src];
    t->mem[l->dst] = t->mem[l->src];
    t->slot[l->dst] = t->slot[l->src];
    return 0;
}

/* Every inference primitive manages no scratchpad of its own (dnnl_scratchpad_mode_user): oneDNN's library
 * scratchpad is per thread, so a primitive must run in the thread that created it, and a server builds a net
 * in one thread (its first request) and runs it in others. They share the model's one scratchpad instead,
 * the last of its inference buffers. relu_post_op: the add's fused ReLU. */
static int infer_primitive(model *m, const_dnnl_op_desc_t desc, int relu_post_op, dnnl_primitive_desc_t *pd,
                           dnnl_primitive_t *prim, char *err, size_t err_len) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && relu_post_op) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success)
            st = dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, 0.f, 0.f);
        if (st == dnnl_success)
            st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    int rc = st == dnnl_success ? make_primitive(m, desc, attr, NULL, pd, prim, err, err_len)
                                : nnb_fail(err, err_len, "inference primitive attributes: %s (%s:%d)",
                                           dnnl_status2str(st), __FILE__, __LINE__);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return rc;
}

/* Appends the step (prim with n arguments, and its scratchpad when it needs one); *out: the step, if wanted. */
static int infer_step(model *m, infer_net *t, const_dnnl_primitive_desc_t pd, dnnl_primitive_t prim, int li, int n,
                      const int *names, const dnnl_memory_t *mems, step **out, char *err, size_t err_len) {
    step *st = push_step(&t->steps, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    for (int i = 0; i < n; i++)
        arg(st, names[i], mems[i]);
    const dnnl_memory_desc_t *smd = pd_md(pd, DNNL_ARG_SCRATCHPAD);
    size_t bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (bytes) {
        if (nnb_grow(&t->scratch, &t->cap_scratch, t->nscratch + 1, sizeof *t->scratch))
            return nnb_fail(err, err_len, "out of memory");
        TRY(wrap_mem(m, smd, NULL, &t->scratch[t->nscratch], err, err_len)); /* bound by bind_infer_net */
        arg(st, DNNL_ARG_SCRATCHPAD, t->scratch[t->nscratch++]);
        t->scratch_need = bytes > t->scratch_need ? bytes : t->scratch_need;
    }
    if (out)
        *out = st;
    return 0;
}

/* A workspace when the primitive wants one (inference primitives should not). */
static int maybe_workspace(model *m, const_dnnl_primitive_desc_t pd, step *st, char *err, size_t err_len) {
    const dnnl_memory_desc_t *ws = pd_md(pd, DNNL_ARG_WORKSPACE);
    if (!ws || dnnl_memory_desc_get_size(ws) == 0)
        return 0;
    dnnl_memory_t mem;
    TRY(alloc_mem(m, ws, &mem, err, err_len));
    arg(st, DNNL_ARG_WORKSPACE, mem);
    return 0;
}

/* The request's input: the first n samples of x (N, 3, S, S), a prefix of it in NCHW. When the first
 * convolution wants another layout, reordering them is the net's first step, inside the timed infer (per
 * request, as a server does it); when it takes NCHW, it reads x where it is. */
static int infer_input(model *m, infer_net *t, const dnnl_memory_desc_t *conv_src, char *err, size_t err_len) {
    int64_t xd[4];
    batch_dims(m->arch.acts[0], t->n, xd);
    dnnl_memory_desc_t x_md;
    md_init(&x_md, 4, xd, dnnl_nchw);
    dnnl_memory_t x_plain;
    TRY(wrap_mem(m, &x_md, m->x, &x_plain, err, err_len));
    t->md[0] = *conv_src;
    m->infer_input_reorder = !dnnl_memory_desc_equal(&x_md, conv_src);
    if (!m->infer_input_reorder) {
        t->mem[0] = x_plain;
        t->slot[0] = -1;
        return 0;
    }
    TRY(slot_mem(m, t, 0, err, err_len));
    dnnl_primitive_attr_t attr;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t r;
    NNB_DNNL_TRY(dnnl_primitive_attr_create(&attr));
    dnnl_status_t st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user); /* infer_primitive */
    int rc = st == dnnl_success
                 ? make_reorder_attr(m, x_plain, t->mem[0], attr, &pd, &r, err, err_len)
                 : nnb_fail(err, err_len, "dnnl_primitive_attr_set_scratchpad_mode: %s", dnnl_status2str(st));
    dnnl_primitive_attr_destroy(attr);
    TRY(rc);
    return infer_step(m, t, pd, r, -1, 2, (const int[]){DNNL_ARG_FROM, DNNL_ARG_TO},
                      (const dnnl_memory_t[]){x_plain, t->mem[0]}, NULL, err, err_len);
}

static int infer_conv(model *m, infer_net *t, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    int64_t sd[4], wd[4] = {l->out.c, l->in.c, l->kernel, l->kernel}, dd[4];
    batch_dims(l->in, t->n, sd);
    batch_dims(l->out, t->n, dd);
    dnnl_memory_desc_t src_any, w_any, dst_any;
    md_init(&src_any, 4, sd, dnnl_format_tag_any);
    md_init(&w_any, 4, wd, dnnl_format_tag_any);
    md_init(&dst_any, 4, dd, dnnl_format_tag_any);
    dnnl_dims_t strides = {l->stride, l->stride}, pad = {l->pad, l->pad};
    dnnl_convolution_desc_t cd;
    NNB_DNNL_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                                    l->src == 0 ? &src_any : &t->md[l->src], &w_any, NULL, &dst_any,
                                                    strides, pad, pad));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(infer_primitive(m, &cd, 0, &pd, &prim, err, err_len));
    if (l->src == 0)
        TRY(infer_input(m, t, pd_md(pd, DNNL_ARG_SRC), err, err_len));
    t->md[l->dst] = *pd_md(pd, DNNL_ARG_DST);
    TRY(slot_mem(m, t, l->dst, err, err_len));
    dnnl_memory_t w;
    TRY(weights_in(m, li, pd_md(pd, DNNL_ARG_WEIGHTS), &w, err, err_len)); /* shared with training when alike */
    if (!strcmp(l->name, "layer1.0.conv1")) {
        format_string(&t->md[l->dst], m->fmt_infer_act, sizeof m->fmt_infer_act);
        format_string(pd_md(pd, DNNL_ARG_WEIGHTS), m->fmt_infer_weights, sizeof m->fmt_infer_weights);
    }
    return infer_step(m, t, pd, prim, li, 3, (const int[]){DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                      (const dnnl_memory_t[]){t->mem[l->src], w, t->mem[l->dst]}, NULL, err, err_len);
}

static int infer_bn(model *m, infer_net *t, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    unsigned flags =
        dnnl_use_global_stats | dnnl_use_scale | dnnl_use_shift | (m->ls[li].fuse_relu ? dnnl_fuse_norm_relu : 0u);
    dnnl_batch_normalization_desc_t bd;
    NNB_DNNL_TRY(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_inference, &t->md[l->src],
                                                            (float)NNB_RESNET_BN_EPS, flags));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(infer_primitive(m, &bd, 0, &pd, &prim, err, err_len));
    t->md[l->dst] = *pd_md(pd, DNNL_ARG_DST);
    TRY(slot_mem(m, t, l->dst, err, err_len));
    /* weight, bias, running_mean, running_var: (C) each, read where params keeps them */
    const nnb_resnet_param *p = &m->arch.params[l->param];
    const int names[4] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    dnnl_memory_t mems[6] = {t->mem[l->src], t->mem[l->dst]};
    for (int i = 0; i < 4; i++)
        TRY(wrap_mem(m, pd_md(pd, names[i]), m->params + p[i].offset, &mems[2 + i], err, err_len));
    step *st = NULL;
    TRY(infer_step(
        m, t, pd, prim, li, 6,
        (const int[]){DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE},
        mems, &st, err, err_len));
    return maybe_workspace(m, pd, st, err, err_len);
}

/* An in-place eltwise ReLU over activation a (md[a], mem[a]), as layer li's step. */
static int push_relu(model *m, infer_net *t, int li, int a, char *err, size_t err_len) {
    dnnl_eltwise_desc_t ed;
    NNB_DNNL_TRY(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, dnnl_eltwise_relu, &t->md[a], 0.f, 0.f));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(infer_primitive(m, &ed, 0, &pd, &prim, err, err_len));
    return infer_step(m, t, pd, prim, li, 2, (const int[]){DNNL_ARG_SRC, DNNL_ARG_DST},
                      (const dnnl_memory_t[]){t->mem[a], t->mem[a]}, NULL, err, err_len);
}

static int infer_relu(model *m, infer_net *t, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    const layer_state *s = &m->ls[li];
    TRY(alias_input(m, t, l, err, err_len));
    if (s->relu_fused_into_bn || s->relu_fused_into_add)
        return 0; /* done by the preceding BN or add */
    return push_relu(m, t, li, l->dst, err, err_len);
}

static int infer_pool(model *m, infer_net *t, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    int64_t dd[4];
    batch_dims(l->out, t->n, dd);
    dnnl_pooling_v2_desc_t pdd;
    NNB_DNNL_TRY(pool_desc_init(&pdd, l, dnnl_forward_inference, &t->md[l->src], dd));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(infer_primitive(m, &pdd, 0, &pd, &prim, err, err_len));
    t->md[l->dst] = *pd_md(pd, DNNL_ARG_DST);
    TRY(slot_mem(m, t, l->dst, err, err_len));
    step *st = NULL;
    TRY(infer_step(m, t, pd, prim, li, 2, (const int[]){DNNL_ARG_SRC, DNNL_ARG_DST},
                   (const dnnl_memory_t[]){t->mem[l->src], t->mem[l->dst]}, &st, err, err_len));
    return maybe_workspace(m, pd, st, err, err_len);
}

static int infer_add(model *m, infer_net *t, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    TRY(alias_input(m, t, l, err, err_len));
    dnnl_binary_desc_t bd;
    NNB_DNNL_TRY(dnnl_binary_desc_init(&bd, dnnl_binary_add, &t->md[l->src], &t->md[l->src2], &t->md[l->dst]));
    /* add+ReLU fused where training fuses it (build_add_fwd decided), except where this net's layout pads the
     * channels (the oneDNN 2.6.3 post-op bug build_add_fwd avoids): there the ReLU follows as its own step. */
    const int fuse = m->ls[li].fuse_relu, padded = t->md[l->src].padded_dims[1] != t->md[l->src].dims[1];
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(infer_primitive(m, &bd, fuse && !padded, &pd, &prim, err, err_len));
    TRY(infer_step(m, t, pd, prim, li, 3, (const int[]){DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST},
                   (const dnnl_memory_t[]){t->mem[l->src], t->mem[l->src2], t->mem[l->dst]}, NULL, err, err_len));
    return fuse && padded ? push_relu(m, t, li, l->dst, err, err_len) : 0;
}

/* The fc writes the logits (n, 1000) plain, straight into what outputs() hands out: no reorder after it. */
static int infer_fc(model *m, infer_net *t, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    int64_t wd[4] = {l->out.c, l->in.c, 1, 1}, bd[1] = {l->out.c}, dd[2] = {t->n, l->out.c};
    dnnl_memory_desc_t w_any, b_md, logits_md;
    md_init(&w_any, 4, wd, dnnl_format_tag_any);
    md_init(&b_md, 1, bd, dnnl_x);
    md_init(&logits_md, 2, dd, dnnl_nc);
    dnnl_inner_product_desc_t id;
    NNB_DNNL_TRY(
        dnnl_inner_product_forward_desc_init(&id, dnnl_forward_inference, &t->md[l->src], &w_any, &b_md, &logits_md));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(infer_primitive(m, &id, 0, &pd, &prim, err, err_len));
    t->md[l->dst] = *pd_md(pd, DNNL_ARG_DST);
    t->slot[l->dst] = -1;
    TRY(wrap_mem(m, &t->md[l->dst], m->infer_logits, &t->mem[l->dst], err, err_len));
    dnnl_memory_t w, bias;
    TRY(weights_in(m, li, pd_md(pd, DNNL_ARG_WEIGHTS), &w, err, err_len));
    TRY(wrap_mem(m, pd_md(pd, DNNL_ARG_BIAS), m->params + m->arch.params[l->param + 1].offset, &bias, err, err_len));
    return infer_step(m, t, pd, prim, li, 4, (const int[]){DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST},
                      (const dnnl_memory_t[]){t->mem[l->src], w, bias, t->mem[l->dst]}, NULL, err, err_len);
}

static int bind_infer_net(model *m, const infer_net *t, char *err, size_t err_len) {
    for (int a = 0; a < m->arch.num_acts; a++)
        if (t->slot[a] >= 0)
            NNB_DNNL_TRY(dnnl_memory_set_data_handle(t->mem[a], m->infer_buf[t->slot[a]]));
    for (int i = 0; i < t->nscratch; i++) /* the scratchpad: the buffer after the activation slots */
        NNB_DNNL_TRY(dnnl_memory_set_data_handle(t->scratch[i], m->infer_buf[m->infer_num_slots]));
    return 0;
}

/* Bytes net t needs in shared buffer b: the largest layout of its activations in slot b, or (the last) its
 * largest scratchpad. */
static size_t infer_need(const model *m, const infer_net *t, int b) {
    if (b == m->infer_num_slots)
        return t->scratch_need;
    size_t need = 0;
    for (int a = 0; a < m->arch.num_acts; a++)
        if (t->slot[a] == b && dnnl_memory_desc_get_size(&t->md[a]) > need)
            need = dnnl_memory_desc_get_size(&t->md[a]);
    return need;
}

/* Grows the shared buffers to what net t needs, then points t's memories, and every other net's when a buffer
 * moved, at them. One set of buffers serves every n. */
static int fit_infer_slots(model *m, infer_net *t, char *err, size_t err_len) {
    int moved = 0, rc = 0;
    for (int b = 0; b <= m->infer_num_slots && rc == 0; b++) {
        size_t need = infer_need(m, t, b);
        if (need <= m->infer_buf_bytes[b])
            continue;
        void *p = nnb_alloc_bytes(need);
        if (!p) {
            rc = nnb_fail(err, err_len, "%s: cannot allocate %zu bytes for inference activations", m->name, need);
            break;
        }
        nnb_free(m->infer_buf[b]);
        m->infer_buf[b] = p;
        m->infer_buf_bytes[b] = need;
        moved = 1;
    }
    for (int64_t n = 1; moved && n <= m->arch.batch; n++) /* also when a later buffer failed */
        if (m->infer[n])
            TRY(bind_infer_net(m, m->infer[n], err, err_len));
    return rc ? rc : bind_infer_net(m, t, err, err_len);
}

static int build_infer_layers(model *m, infer_net *t, char *err, size_t err_len) {
    const nnb_resnet_arch *a = &m->arch;
    for (int i = 0; i < a->num_layers; i++) {
        m->cur_layer = a->layers[i].name;
        switch (a->layers[i].op) {
        case NNB_RESNET_CONV: TRY(infer_conv(m, t, i, err, err_len)); break;
        case NNB_RESNET_BN: TRY(infer_bn(m, t, i, err, err_len)); break;
        case NNB_RESNET_RELU: TRY(infer_relu(m, t, i, err, err_len)); break;
        case NNB_RESNET_MAXPOOL:
        case NNB_RESNET_AVGPOOL: TRY(infer_pool(m, t, i, err, err_len)); break;
        case NNB_RESNET_ADD: TRY(infer_add(m, t, i, err, err_len)); break;
        case NNB_RESNET_FC: TRY(infer_fc(m, t, i, err, err_len)); break;
        }
    }
    return fit_infer_slots(m, t, err, err_len);
}

/* The net for batch n, on the first infer(n): its primitives are created then, inside that (timed) call;
 * a server warms up every batch size it will use (measured cost: docs/resnet.md). Primitives, memories and
 * weight copies join the model's lists (released at destroy); a failed build leaves no net behind. */
static int build_infer_net(model *m, int64_t n, char *err, size_t err_len) {
    const double t0 = nnb_now_seconds();
    const int na = m->arch.num_acts;
    infer_net *t = calloc(1, sizeof *t);
    if (t) {
        t->n = n;
        t->md = calloc((size_t)na, sizeof *t->md);
        t->mem = calloc((size_t)na, sizeof *t->mem);
        t->slot = malloc((size_t)na * sizeof *t->slot);
    }
    if (!t || !t->md || !t->mem || !t->slot) {
        free_infer_net(t);
        return nnb_fail(err, err_len, "%s: out of memory", m->name);
    }
    for (int a = 0; a < na; a++)
        t->slot[a] = -1;
    if (build_infer_layers(m, t, err, err_len)) {
        free_infer_net(t);
        return -1;
    }
    t->build_ms = (nnb_now_seconds() - t0) * 1e3;
    m->infer[n] = t;
    return 0;
}

/* The per-model inference state that does not depend on n (made in create; cheap, no primitives). */
static int infer_setup(model *m, char *err, size_t err_len) {
    const nnb_resnet_arch *a = &m->arch;
    m->infer = calloc((size_t)a->batch + 1, sizeof *m->infer);
    m->infer_slot = malloc((size_t)a->num_acts * sizeof *m->infer_slot);
    m->infer_logits = nnb_alloc_floats(nnb_resnet_shape_count(a->acts[a->num_acts - 1]));
    m->infer_num_slots = m->infer_slot ? nnb_resnet_plan_inference_slots(a, 1, m->infer_slot) : -1;
    if (m->infer_num_slots > 0) {
        /* the activation slots, then the shared scratchpad */
        m->infer_buf = calloc((size_t)m->infer_num_slots + 1, sizeof *m->infer_buf);
        m->infer_buf_bytes = calloc((size_t)m->infer_num_slots + 1, sizeof *m->infer_buf_bytes);
    }
    if (!m->infer || !m->infer_logits || !m->infer_buf || !m->infer_buf_bytes ||
        nnb_resnet_infer_tensor_list(a, m->params, m->infer_logits, &m->infer_tensors, &m->n_infer))
        return nnb_fail(err, err_len, "%s: out of memory", m->name);
    return 0;
}

static void infer_free(model *m) {
    for (int64_t n = 1; m->infer && n <= m->arch.batch; n++)
        free_infer_net(m->infer[n]);
    for (int s = 0; m->infer_buf && s <= m->infer_num_slots; s++)
        nnb_free(m->infer_buf[s]);
    free(m->infer), free(m->infer_slot), free(m->infer_buf), free(m->infer_buf_bytes), free(m->infer_tensors);
    nnb_free(m->infer_logits);
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
    infer_free(m);
    nnb_dnnl_release(&m->mems);
    for (int i = 0; i < m->nbufs; i++)
        nnb_free(m->bufs[i].ptr);
    free(m->prims), free(m->pds), free(m->bufs);
    free(m->fwd.items), free(m->bwd.items);
    if (m->stream)
        dnnl_stream_destroy(m->stream);
    if (m->eng)
        dnnl_engine_destroy(m->eng);
    for (int i = 0; m->ls && i < m->arch.num_layers; i++)
        free(m->ls[i].wcopies);
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
    if (build_network(m, err, err_len) || infer_setup(m, err, err_len))
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
    m->last_infer_n = 0;
    return run_steps(m, &m->fwd, err, err_len);
}

/* One inference pass over the first n samples of x: the input reorder (when needed) and the layers of the
 * net for n, built on the first use of that n (build_infer_net). Running statistics are only read. */
static int rn_infer(void *p, int64_t n, char *err, size_t err_len) {
    model *m = p;
    if (n < 1 || n > m->arch.batch)
        return nnb_fail(err, err_len, "%s: infer: n = %lld outside 1..%lld (the batch the model was created for)",
                        m->name, (long long)n, (long long)m->arch.batch);
    nnb_set_threads(m->threads);
    if (!m->infer[n] && build_infer_net(m, n, err, err_len))
        return -1;
    TRY(run_steps(m, &m->infer[n]->steps, err, err_len));
    m->last_infer_n = n;
    return 0;
}

/* Into the packed params (the training and inference primitives read BatchNorm parameters, running statistics
 * and the fc bias there), then every reordered copy of a convolution's or the fc's weights again. */
static int rn_load_param(void *p, const nnb_tensor *value, char *err, size_t err_len) {
    model *m = p;
    int k = nnb_resnet_load_param_index(&m->arch, m->name, value, err, err_len);
    if (k < 0)
        return -1;
    const nnb_resnet_param *pp = &m->arch.params[k];
    memcpy(m->params + pp->offset, value->data, pp->count * sizeof(float));
    if (pp->kind == NNB_RESNET_CONV_WEIGHT || pp->kind == NNB_RESNET_FC_WEIGHT)
        return refresh_weights(m, pp->layer, err, err_len);
    return 0;
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
    if (m->last_infer_n) { /* logits (n, 1000), written plain by the inference fc; running statistics */
        m->infer_tensors[0].shape[0] = m->last_infer_n;
        out->count = m->n_infer;
        out->items = m->infer_tensors;
        return 0;
    }
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

/* describe()'s "infer" object: what the inference nets run and, per n built so far, its size and build time. */
static void describe_infer(const model *m, char *buf, size_t len, size_t *used) {
    size_t bytes = 0;
    int copies = 0;
    for (int s = 0; s < m->infer_num_slots; s++)
        bytes += m->infer_buf_bytes[s];
    for (int i = 0; i < m->arch.num_layers; i++)
        copies += m->ls[i].nwcopies;
    nnb_appendf(buf, len, used,
                ",\"infer\":{\"prop_kind\":\"forward_inference\",\"bn\":\"use_global_stats (running statistics), "
                "use_scale, use_shift\",\"input_reorder\":%s,\"activation_format\":\"%s\",\"weights_format\":\"%s\","
                "\"shared_buffers\":%d,\"shared_buffer_bytes\":%zu,\"scratchpad\":\"user, shared\","
                "\"scratchpad_bytes\":%zu,\"weight_copies\":%d,\"nets\":[",
                m->infer_input_reorder ? "true" : "false", m->fmt_infer_act, m->fmt_infer_weights, m->infer_num_slots,
                bytes, m->infer_buf_bytes ? m->infer_buf_bytes[m->infer_num_slots] : (size_t)0, copies);
    const char *sep = "";
    for (int64_t n = 1; n <= m->arch.batch; n++)
        if (m->infer[n]) {
            nnb_appendf(buf, len, used, "%s{\"n\":%lld,\"steps\":%d,\"build_ms\":%.1f}", sep, (long long)n,
                        m->infer[n]->steps.count, m->infer[n]->build_ms);
            sep = ",";
        }
    nnb_appendf(buf, len, used, "]}");
}

static int rn_describe(void *p, char *buf, size_t len) {
    model *m = p;
    const dnnl_version_t *v = dnnl_version();
    size_t used = 0;
    nnb_appendf(buf, len, &used,
                "{\"library\":\"oneDNN %d.%d.%d\",\"api\":\"C\",\"model\":\"resnet%d\",\"fused\":%s,"
                "\"fusions\":\"%s\",\"conv1_fwd_impl\":\"%s\",\"conv1_bwd_data_impl\":\"%s\","
                "\"conv1_bwd_weights_impl\":\"%s\",\"bn_impl\":\"%s\",\"activation_format\":\"%s\","
                "\"weights_format\":\"%s\",\"forward_primitives\":%d,\"backward_primitives\":%d,"
                "\"internal_reorders\":%d,\"fusion_fallbacks\":%d,\"slow_reference_kernels\":\"%s\",\"threads\":%"
                "d,\"batch\":%lld,\"image_size\":%lld",
                v->major, v->minor, v->patch, m->arch.depth, m->fused ? "true" : "false",
                m->fused ? "bn+relu (dnnl_fuse_norm_relu), add+relu (binary post-op)" : "none", m->impl_conv1_fwd,
                m->impl_conv1_bwd_data, m->impl_conv1_bwd_weights, m->impl_bn, m->fmt_act, m->fmt_weights, m->fwd.count,
                m->bwd.count, m->internal_reorders, m->fusion_fallbacks, m->slow_impls, m->threads,
                (long long)m->arch.batch, (long long)m->arch.image_size);
    describe_infer(m, buf, len, &used);
    nnb_appendf(buf, len, &used, "}");
    return used < len ? 0 : -1;
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
        .backward_flops = model_backward_flops, .destroy = model_destroy, .infer = rn_infer,                           \
        .load_param = rn_load_param,                                                                                   \
    }

static const nnb_runner_desc runners[] = {
    DNNL_RUNNER("resnet18", create_resnet18, "ResNet-18 train step and inference, oneDNN primitives per layer",
                "resnet18_ref", 0, NULL),
    DNNL_RUNNER("resnet18_jit", create_resnet18_jit,
                "ResNet-18 train step and inference, oneDNN, BN+ReLU and add+ReLU fused", "resnet18", 0, NULL),
    DNNL_RUNNER("resnet50", create_resnet50, "ResNet-50 train step and inference, oneDNN primitives per layer",
                "resnet50_ref", NNB_FLAG_CHECK_GRADIENTS_L2, resnet50_check_tolerance),
    DNNL_RUNNER("resnet50_jit", create_resnet50_jit,
                "ResNet-50 train step and inference, oneDNN, BN+ReLU and add+ReLU fused", "resnet50", 0, NULL),
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
