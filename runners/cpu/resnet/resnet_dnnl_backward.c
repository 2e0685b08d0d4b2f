/*
 * The backward net of the ResNet runners: one builder per layer kind, last layer first, over a pool of
 * gradient buffers reused once a gradient's last reader has run; a second gradient contribution is added in
 * place; the stem's input gradient may come from kernels/cnn_cpu instead of oneDNN (use_own_input_grad).
 * Separate from the forward builders: it only reads the layouts, workspaces and fusion flags they chose.
 */
#include "resnet_dnnl_internal.h"

#include "conv_input_grad.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Memory that layer li's backward writes the gradient of activation a into (layout md). The first
 * contribution goes straight into a's gradient buffer; a later one into a scratch buffer, then
 * accumulate() adds it in place. *scratch is the buffer index to add and release, or -1. */
static int grad_target(model *m, int a, const dnnl_memory_desc_t *md, dnnl_memory_t *out, int *scratch, char *err,
                       size_t err_len) {
    int b = rd_pool_get(m, dnnl_memory_desc_get_size(md), err, err_len);
    if (b < 0)
        return -1;
    TRY(rd_wrap_mem(m, md, m->bufs[b].ptr, out, err, err_len));
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
    TRY(rd_make_primitive(m, &bd, NULL, NULL, &pd, &prim, err, err_len));
    step *st = rd_push_step(&m->bwd, prim, -1);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC_0, m->diff_mem[a]);
    rd_arg(st, DNNL_ARG_SRC_1, add);
    rd_arg(st, DNNL_ARG_DST, m->diff_mem[a]);
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
    TRY(rd_alloc_mem(m, rd_pd_md(bwd_pd, DNNL_ARG_DIFF_WEIGHTS), &s->diff_weights, err, err_len));
    TRY(rd_wrap_mem(m, plain_md, m->grads + m->arch.params[l->param].offset, &s->diff_weights_plain, err, err_len));
    return rd_make_reorder(m, s->diff_weights, s->diff_weights_plain, &s->diff_weights_reorder, err, err_len);
}

/* The stem's input gradient (dx) goes to kernels/cnn_cpu when it can: AVX-512, a shape it supports, and the
 * output gradient in nChw16c f32 (never in bf16, where oneDNN's primitive computes it). oneDNN 2.6's blocked
 * backward-data pads the 3 input channels to 16 and takes about 6x the stem's forward time at ResNet sizes
 * (docs/resnet.md). NNB_RESNET_INPUT_GRAD=onednn keeps oneDNN's primitive (for A/B comparisons and for the tests of
 * that path). */
static int use_own_input_grad(const model *m, const nnb_resnet_layer *l) {
    const char *force = getenv("NNB_RESNET_INPUT_GRAD");
    if (l->src != 0 || (force && !strcmp(force, "onednn")))
        return 0;
    if (!nnb_conv_input_grad_available() || !nnb_conv_input_grad_supported(l->in.c, l->kernel, l->stride))
        return 0;
    int64_t yd[4];
    rd_act_dims(l->out, yd);
    dnnl_memory_desc_t blocked;
    rd_md_init(&blocked, 4, yd, dnnl_aBcd16b);
    return dnnl_memory_desc_equal(&blocked, &m->act_md[l->dst]);
}

/* dx = the stem's input gradient, from its output gradient (nChw16c) and the current weights. */
int rd_run_input_grad(model *m, int li, char *err, size_t err_len) {
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
    step *st = m->stem_wt ? rd_push_step(&m->bwd, NULL, li) : NULL;
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
    rd_act_dims(l->in, sd);
    /* Weight gradients stay f32 (bf16 data too: oneDNN accumulates them in f32); weights and data gradients are
     * in the network's data type. */
    dnnl_memory_desc_t dw_any, w_any, w_plain, src_any;
    rd_md_init(&dw_any, 4, wd, dnnl_format_tag_any);
    rd_md_init_dt(&w_any, 4, wd, dnnl_format_tag_any, m->dt);
    rd_md_init(&w_plain, 4, wd, dnnl_oihw);
    rd_md_init_dt(&src_any, 4, sd, dnnl_format_tag_any, m->dt);
    dnnl_dims_t strides = {l->stride, l->stride}, pad = {l->pad, l->pad};
    const dnnl_memory_desc_t *dst_md = &m->act_md[l->dst];

    dnnl_convolution_desc_t wdsc;
    NNB_DNNL_TRY(dnnl_convolution_backward_weights_desc_init(&wdsc, dnnl_convolution_direct, &m->act_md[l->src],
                                                             &dw_any, NULL, dst_md, strides, pad, pad));
    dnnl_primitive_desc_t wpd;
    dnnl_primitive_t wprim;
    TRY(rd_make_primitive(m, &wdsc, NULL, s->fwd_pd, &wpd, &wprim, err, err_len));
    TRY(weight_grads(m, li, wpd, &w_plain, err, err_len));
    step *st = rd_push_step(&m->bwd, wprim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    rd_arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    rd_arg(st, DNNL_ARG_DIFF_WEIGHTS, s->diff_weights);
    if (use_own_input_grad(m, l)) {
        rd_impl_name(wpd, m->impl_conv1_bwd_weights, sizeof m->impl_conv1_bwd_weights);
        return build_own_input_grad(m, li, err, err_len);
    }

    /* Data gradient; for the network input (dx) the primitive picks the layout. */
    dnnl_convolution_desc_t dd;
    NNB_DNNL_TRY(dnnl_convolution_backward_data_desc_init(
        &dd, dnnl_convolution_direct, l->src == 0 ? &src_any : &m->act_md[l->src], &w_any, dst_md, strides, pad, pad));
    dnnl_primitive_desc_t dpd;
    dnnl_primitive_t dprim;
    TRY(rd_make_primitive(m, &dd, NULL, s->fwd_pd, &dpd, &dprim, err, err_len));
    /* The backward-data kernels want the weights transposed-blocked (e.g. ABcd16a16b vs the forward's
     * ABcd16b16a). Weights do not change between iterations (no optimizer step), so that copy is made
     * once, here (and again by load_param); a training loop would redo this reorder after each update. */
    dnnl_memory_t bwd_weights;
    TRY(rd_weights_in(m, li, rd_pd_md(dpd, DNNL_ARG_WEIGHTS), &bwd_weights, err, err_len));
    dnnl_memory_t target;
    int scratch;
    TRY(grad_target(m, l->src, rd_pd_md(dpd, DNNL_ARG_DIFF_SRC), &target, &scratch, err, err_len));
    st = rd_push_step(&m->bwd, dprim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    rd_arg(st, DNNL_ARG_WEIGHTS, bwd_weights);
    rd_arg(st, DNNL_ARG_DIFF_SRC, target);
    if (scratch >= 0)
        TRY(accumulate(m, l->src, target, scratch, err, err_len));
    if (!strcmp(l->name, "layer1.0.conv1")) {
        rd_impl_name(wpd, m->impl_body_bwd_weights, sizeof m->impl_body_bwd_weights);
        rd_impl_name(dpd, m->impl_body_bwd_data, sizeof m->impl_body_bwd_data);
    }
    if (l->src == 0) {
        rd_impl_name(wpd, m->impl_conv1_bwd_weights, sizeof m->impl_conv1_bwd_weights);
        rd_impl_name(dpd, m->impl_conv1_bwd_data, sizeof m->impl_conv1_bwd_data);
        int64_t xd[4];
        rd_act_dims(m->arch.acts[0], xd);
        dnnl_memory_desc_t x_md;
        rd_md_init(&x_md, 4, xd, dnnl_nchw);
        TRY(rd_wrap_mem(m, &x_md, m->dx, &m->dx_plain, err, err_len));
        TRY(rd_make_reorder(m, m->diff_mem[0], m->dx_plain, &m->dx_reorder, err, err_len));
    }
    return 0;
}

static int build_bn_bwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    dnnl_batch_normalization_desc_t bd;
    NNB_DNNL_TRY(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &m->act_md[l->dst], &m->act_md[l->src],
                                                             (float)NNB_RESNET_BN_EPS, rd_bn_flags(m, li)));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(rd_make_primitive(m, &bd, NULL, s->fwd_pd, &pd, &prim, err, err_len));
    const nnb_resnet_param *p = &m->arch.params[l->param];
    dnnl_memory_t scale, shift, dscale, dshift, target;
    TRY(rd_wrap_mem(m, rd_pd_md(pd, DNNL_ARG_SCALE), m->params + p[0].offset, &scale, err, err_len));
    TRY(rd_wrap_mem(m, rd_pd_md(s->fwd_pd, DNNL_ARG_SHIFT), m->params + p[1].offset, &shift, err, err_len));
    TRY(rd_wrap_mem(m, rd_pd_md(pd, DNNL_ARG_DIFF_SCALE), m->grads + p[0].offset, &dscale, err, err_len));
    TRY(rd_wrap_mem(m, rd_pd_md(pd, DNNL_ARG_DIFF_SHIFT), m->grads + p[1].offset, &dshift, err, err_len));
    int scratch;
    TRY(grad_target(m, l->src, rd_pd_md(pd, DNNL_ARG_DIFF_SRC), &target, &scratch, err, err_len));
    step *st = rd_push_step(&m->bwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    rd_arg(st, DNNL_ARG_MEAN, s->mean);
    rd_arg(st, DNNL_ARG_VARIANCE, s->var);
    rd_arg(st, DNNL_ARG_SCALE, scale);
    rd_arg(st, DNNL_ARG_SHIFT, shift);
    rd_arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    rd_arg(st, DNNL_ARG_DIFF_SRC, target);
    rd_arg(st, DNNL_ARG_DIFF_SCALE, dscale);
    rd_arg(st, DNNL_ARG_DIFF_SHIFT, dshift);
    if (s->fuse_relu)
        rd_arg(st, DNNL_ARG_WORKSPACE, s->workspace);
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
    TRY(rd_make_primitive(m, &ed, NULL, s->fwd_pd, &pd, &prim, err, err_len));
    step *st = rd_push_step(&m->bwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    rd_arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    rd_arg(st, DNNL_ARG_DIFF_SRC, m->diff_mem[l->dst]);
    return 0;
}

static int build_pool_bwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    const rd_pool_geometry g = rd_pool_geometry_of(l);
    dnnl_pooling_v2_desc_t pdd;
    NNB_DNNL_TRY(dnnl_pooling_v2_backward_desc_init(&pdd, g.alg, &m->act_md[l->src], &m->act_md[l->dst], g.strides,
                                                    g.kernel, g.dil, g.pad, g.pad));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(rd_make_primitive(m, &pdd, NULL, s->fwd_pd, &pd, &prim, err, err_len));
    dnnl_memory_t target;
    int scratch;
    TRY(grad_target(m, l->src, rd_pd_md(pd, DNNL_ARG_DIFF_SRC), &target, &scratch, err, err_len));
    step *st = rd_push_step(&m->bwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    rd_arg(st, DNNL_ARG_DIFF_SRC, target);
    if (l->op == NNB_RESNET_MAXPOOL)
        rd_arg(st, DNNL_ARG_WORKSPACE, s->workspace);
    if (scratch >= 0)
        TRY(accumulate(m, l->src, target, scratch, err, err_len));
    return 0;
}

static int build_fc_bwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t wd[4] = {l->out.c, l->in.c, 1, 1}, bd[1] = {l->out.c}, gd[2] = {l->out.n, l->out.c};
    dnnl_memory_desc_t w_any, w_plain, b_md, g_md;
    rd_md_init(&w_any, 4, wd, dnnl_format_tag_any); /* the weight gradient: f32 in bf16 too */
    rd_md_init(&w_plain, 4, wd, dnnl_oihw);
    rd_md_init(&b_md, 1, bd, dnnl_x);
    rd_md_init(&g_md, 2, gd, dnnl_nc);
    /* The upstream gradient: grad_logits (plain) into the logits' layout, in backward_setup. */
    TRY(rd_alloc_mem(m, &m->act_md[l->dst], &m->diff_mem[l->dst], err, err_len));
    TRY(rd_wrap_mem(m, &g_md, m->grad_logits, &m->grad_logits_plain, err, err_len));
    TRY(rd_make_reorder(m, m->grad_logits_plain, m->diff_mem[l->dst], &m->grad_logits_reorder, err, err_len));

    dnnl_inner_product_desc_t wdsc;
    NNB_DNNL_TRY(
        dnnl_inner_product_backward_weights_desc_init(&wdsc, &m->act_md[l->src], &w_any, &b_md, &m->act_md[l->dst]));
    dnnl_primitive_desc_t wpd;
    dnnl_primitive_t wprim;
    TRY(rd_make_primitive(m, &wdsc, NULL, s->fwd_pd, &wpd, &wprim, err, err_len));
    TRY(weight_grads(m, li, wpd, &w_plain, err, err_len));
    dnnl_memory_t dbias;
    TRY(rd_wrap_mem(m, rd_pd_md(wpd, DNNL_ARG_DIFF_BIAS), m->grads + m->arch.params[l->param + 1].offset, &dbias, err,
                    err_len));
    step *st = rd_push_step(&m->bwd, wprim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    rd_arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    rd_arg(st, DNNL_ARG_DIFF_WEIGHTS, s->diff_weights);
    rd_arg(st, DNNL_ARG_DIFF_BIAS, dbias);

    dnnl_inner_product_desc_t dd;
    NNB_DNNL_TRY(dnnl_inner_product_backward_data_desc_init(&dd, &m->act_md[l->src],
                                                            rd_pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS), &m->act_md[l->dst]));
    dnnl_primitive_desc_t dpd;
    dnnl_primitive_t dprim;
    TRY(rd_make_primitive(m, &dd, NULL, s->fwd_pd, &dpd, &dprim, err, err_len));
    dnnl_memory_t target;
    int scratch;
    TRY(grad_target(m, l->src, rd_pd_md(dpd, DNNL_ARG_DIFF_SRC), &target, &scratch, err, err_len));
    st = rd_push_step(&m->bwd, dprim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_DIFF_DST, m->diff_mem[l->dst]);
    rd_arg(st, DNNL_ARG_WEIGHTS, s->weights);
    rd_arg(st, DNNL_ARG_DIFF_SRC, target);
    if (scratch >= 0)
        TRY(accumulate(m, l->src, target, scratch, err, err_len));
    return 0;
}

/* Which ReLUs the fused variant folds into the preceding BN or residual add. */

int rd_build_backward(model *m, char *err, size_t err_len) {
    const nnb_resnet_arch *a = &m->arch;
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
