/*
 * The training forward net of the ResNet runners: one builder per layer kind (convolution, BatchNorm with the
 * running-statistics step, in-place ReLU, pooling, residual add, fc), the plan of which ReLUs the _jit variants
 * fuse, and the running-statistics update the BatchNorm steps run. Separate from the backward and inference
 * nets, which read the layouts and fusion flags these builders leave in the model.
 */
#include "resnet_dnnl_internal.h"

#include <string.h>

static int alloc_act(model *m, int a, char *err, size_t err_len) {
    return rd_alloc_mem(m, &m->act_md[a], &m->act_mem[a], err, err_len);
}

static int build_conv_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t sd[4], wd[4] = {l->out.c, l->in.c, l->kernel, l->kernel}, dd[4];
    rd_act_dims(l->in, sd);
    rd_act_dims(l->out, dd);
    dnnl_memory_desc_t src_any, w_any, dst_any;
    rd_md_init_dt(&src_any, 4, sd, dnnl_format_tag_any, m->dt);
    rd_md_init_dt(&w_any, 4, wd, dnnl_format_tag_any, m->dt);
    rd_md_init_dt(&dst_any, 4, dd, dnnl_format_tag_any, m->dt);
    dnnl_dims_t strides = {l->stride, l->stride}, pad = {l->pad, l->pad};
    /* Only the network's input lets the convolution choose; inside, it takes the layout it is given. */
    const dnnl_memory_desc_t *src_md = l->src == 0 ? &src_any : &m->act_md[l->src];
    dnnl_convolution_desc_t cd;
    NNB_DNNL_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, src_md, &w_any,
                                                    NULL, &dst_any, strides, pad, pad));
    dnnl_primitive_t prim;
    TRY(rd_make_primitive(m, &cd, NULL, NULL, &s->fwd_pd, &prim, err, err_len));
    if (l->src == 0) {
        m->act_md[0] = *rd_pd_md(s->fwd_pd, DNNL_ARG_SRC);
        TRY(alloc_act(m, 0, err, err_len));
        int64_t xd[4];
        rd_act_dims(m->arch.acts[0], xd);
        dnnl_memory_desc_t x_md;
        rd_md_init(&x_md, 4, xd, dnnl_nchw);
        TRY(rd_wrap_mem(m, &x_md, m->x, &m->x_plain, err, err_len));
        TRY(rd_make_reorder(m, m->x_plain, m->act_mem[0], &m->x_reorder, err, err_len));
        rd_impl_name(s->fwd_pd, m->impl_conv1_fwd, sizeof m->impl_conv1_fwd);
    }
    m->act_md[l->dst] = *rd_pd_md(s->fwd_pd, DNNL_ARG_DST);
    TRY(alloc_act(m, l->dst, err, err_len));
    /* Weights: torchvision OIHW into the convolution's layout (again after load_param). */
    TRY(rd_weights_in(m, li, rd_pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS), &s->weights, err, err_len));
    if (!strcmp(l->name, "layer1.0.conv1")) {
        rd_impl_name(s->fwd_pd, m->impl_body_fwd, sizeof m->impl_body_fwd);
        rd_format_string(&m->act_md[l->dst], m->fmt_act, sizeof m->fmt_act);
        rd_format_string(rd_pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS), m->fmt_weights, sizeof m->fmt_weights);
    }
    step *st = rd_push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    rd_arg(st, DNNL_ARG_WEIGHTS, s->weights);
    rd_arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    return 0;
}

unsigned rd_bn_flags(const model *m, int li) {
    return dnnl_use_scale | dnnl_use_shift | (m->ls[li].fuse_relu ? dnnl_fuse_norm_relu : 0u);
}

static int build_bn_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    dnnl_batch_normalization_desc_t bd;
    NNB_DNNL_TRY(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_training, &m->act_md[l->src],
                                                            (float)NNB_RESNET_BN_EPS, rd_bn_flags(m, li)));
    dnnl_primitive_t prim;
    TRY(rd_make_primitive(m, &bd, NULL, NULL, &s->fwd_pd, &prim, err, err_len));
    if (!m->impl_bn[0])
        rd_impl_name(s->fwd_pd, m->impl_bn, sizeof m->impl_bn);
    m->act_md[l->dst] = *rd_pd_md(s->fwd_pd, DNNL_ARG_DST);
    TRY(alloc_act(m, l->dst, err, err_len));
    dnnl_memory_t scale, shift;
    const nnb_resnet_param *p = &m->arch.params[l->param];
    TRY(rd_wrap_mem(m, rd_pd_md(s->fwd_pd, DNNL_ARG_SCALE), m->params + p[0].offset, &scale, err, err_len));
    TRY(rd_wrap_mem(m, rd_pd_md(s->fwd_pd, DNNL_ARG_SHIFT), m->params + p[1].offset, &shift, err, err_len));
    TRY(rd_alloc_mem(m, rd_pd_md(s->fwd_pd, DNNL_ARG_MEAN), &s->mean, err, err_len));
    TRY(rd_alloc_mem(m, rd_pd_md(s->fwd_pd, DNNL_ARG_VARIANCE), &s->var, err, err_len));
    step *st = rd_push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    rd_arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    rd_arg(st, DNNL_ARG_SCALE, scale);
    rd_arg(st, DNNL_ARG_SHIFT, shift);
    rd_arg(st, DNNL_ARG_MEAN, s->mean);
    rd_arg(st, DNNL_ARG_VARIANCE, s->var);
    if (s->fuse_relu) {
        TRY(rd_alloc_mem(m, rd_pd_md(s->fwd_pd, DNNL_ARG_WORKSPACE), &s->workspace, err, err_len));
        rd_arg(st, DNNL_ARG_WORKSPACE, s->workspace);
    }
    if (!rd_push_step(&m->fwd, NULL, li))
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
    TRY(rd_make_primitive(m, &ed, NULL, NULL, &s->fwd_pd, &prim, err, err_len)); /* also the backward's hint */
    if (s->relu_fused_into_add)
        return 0;
    step *st = rd_push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    rd_arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    return 0;
}

rd_pool_geometry rd_pool_geometry_of(const nnb_resnet_layer *l) {
    const int max = l->op == NNB_RESNET_MAXPOOL;
    rd_pool_geometry g = {.alg = max ? dnnl_pooling_max : dnnl_pooling_avg_exclude_padding,
                          .strides = {max ? l->stride : 1, max ? l->stride : 1},
                          .kernel = {max ? l->kernel : l->in.h, max ? l->kernel : l->in.w},
                          .dil = {0, 0},
                          .pad = {max ? l->pad : 0, max ? l->pad : 0}};
    return g;
}

/* Layer l's max or (global) average pooling for prop, from src into a destination of dims dd (format any). */
dnnl_status_t rd_pool_desc_init(dnnl_pooling_v2_desc_t *d, const nnb_resnet_layer *l, dnnl_prop_kind_t prop,
                                const dnnl_memory_desc_t *src, const int64_t *dd) {
    dnnl_memory_desc_t dst_any; /* in the source's data type */
    rd_md_init_dt(&dst_any, 4, dd, dnnl_format_tag_any, src->data_type);
    const rd_pool_geometry g = rd_pool_geometry_of(l);
    return dnnl_pooling_v2_forward_desc_init(d, prop, g.alg, src, &dst_any, g.strides, g.kernel, g.dil, g.pad, g.pad);
}

static int build_pool_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t dd[4];
    rd_act_dims(l->out, dd);
    dnnl_pooling_v2_desc_t pd_desc;
    NNB_DNNL_TRY(rd_pool_desc_init(&pd_desc, l, dnnl_forward_training, &m->act_md[l->src], dd));
    dnnl_primitive_t prim;
    TRY(rd_make_primitive(m, &pd_desc, NULL, NULL, &s->fwd_pd, &prim, err, err_len));
    m->act_md[l->dst] = *rd_pd_md(s->fwd_pd, DNNL_ARG_DST);
    TRY(alloc_act(m, l->dst, err, err_len));
    step *st = rd_push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    rd_arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    if (l->op == NNB_RESNET_MAXPOOL) { /* max pooling keeps its argmax for backward */
        TRY(rd_alloc_mem(m, rd_pd_md(s->fwd_pd, DNNL_ARG_WORKSPACE), &s->workspace, err, err_len));
        rd_arg(st, DNNL_ARG_WORKSPACE, s->workspace);
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
    int rc = rd_make_primitive(m, &bd, attr, NULL, &s->fwd_pd, &prim, err, err_len);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    TRY(rc);
    step *st = rd_push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC_0, m->act_mem[l->src]);
    rd_arg(st, DNNL_ARG_SRC_1, m->act_mem[l->src2]);
    rd_arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
    return 0;
}

static int build_fc_fwd(model *m, int li, char *err, size_t err_len) {
    const nnb_resnet_layer *l = &m->arch.layers[li];
    layer_state *s = &m->ls[li];
    int64_t wd[4] = {l->out.c, l->in.c, 1, 1}, bd[1] = {l->out.c}, dd[2] = {l->out.n, l->out.c};
    dnnl_memory_desc_t w_any, b_md, dst_any, logits_md;
    rd_md_init_dt(&w_any, 4, wd, dnnl_format_tag_any, m->dt);
    rd_md_init(&b_md, 1, bd, dnnl_x);                           /* f32 in bf16 too */
    rd_md_init_dt(&dst_any, 2, dd, dnnl_format_tag_any, m->dt); /* bf16: its gradient must be bf16 as well */
    rd_md_init(&logits_md, 2, dd, dnnl_nc);
    dnnl_inner_product_desc_t id;
    NNB_DNNL_TRY(
        dnnl_inner_product_forward_desc_init(&id, dnnl_forward_training, &m->act_md[l->src], &w_any, &b_md, &dst_any));
    dnnl_primitive_t prim;
    TRY(rd_make_primitive(m, &id, NULL, NULL, &s->fwd_pd, &prim, err, err_len));
    rd_impl_name(s->fwd_pd, m->impl_fc_fwd, sizeof m->impl_fc_fwd);
    m->act_md[l->dst] = *rd_pd_md(s->fwd_pd, DNNL_ARG_DST);
    TRY(alloc_act(m, l->dst, err, err_len));
    dnnl_memory_t bias;
    const nnb_resnet_param *p = &m->arch.params[l->param];
    TRY(rd_weights_in(m, li, rd_pd_md(s->fwd_pd, DNNL_ARG_WEIGHTS), &s->weights, err, err_len));
    TRY(rd_wrap_mem(m, rd_pd_md(s->fwd_pd, DNNL_ARG_BIAS), m->params + p[1].offset, &bias, err, err_len));
    TRY(rd_wrap_mem(m, &logits_md, m->logits, &m->logits_plain, err, err_len));
    TRY(rd_make_reorder(m, m->act_mem[l->dst], m->logits_plain, &m->logits_reorder, err, err_len));
    step *st = rd_push_step(&m->fwd, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    rd_arg(st, DNNL_ARG_SRC, m->act_mem[l->src]);
    rd_arg(st, DNNL_ARG_WEIGHTS, s->weights);
    rd_arg(st, DNNL_ARG_BIAS, bias);
    rd_arg(st, DNNL_ARG_DST, m->act_mem[l->dst]);
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

int rd_build_forward(model *m, char *err, size_t err_len) {
    const nnb_resnet_arch *a = &m->arch;
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
    return 0;
}

int rd_update_running_stats(model *m, int li, char *err, size_t err_len) {
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
