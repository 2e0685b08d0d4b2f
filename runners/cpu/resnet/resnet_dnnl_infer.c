/*
 * Inference nets of the ResNet runners (ABI 1.2 infer, load_param): one oneDNN forward_inference net per
 * distinct batch n, built on the first infer(n), its activations in a few buffers shared by every layer and
 * every n, and its primitives sharing one user scratchpad so any thread may run them. Separate from the
 * training nets: nothing here is kept for a backward, and only the weight copies are shared with training.
 */
#include "resnet_dnnl_internal.h"

#include "resnet_init.h"

#include <dnnl_debug.h>

#include <stdlib.h>
#include <string.h>

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
    return rd_wrap_mem(m, &t->md[a], NULL, &t->mem[a], err, err_len);
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
    int rc = st == dnnl_success ? rd_make_primitive(m, desc, attr, NULL, pd, prim, err, err_len)
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
    step *st = rd_push_step(&t->steps, prim, li);
    if (!st)
        return nnb_fail(err, err_len, "out of memory");
    for (int i = 0; i < n; i++)
        rd_arg(st, names[i], mems[i]);
    const dnnl_memory_desc_t *smd = rd_pd_md(pd, DNNL_ARG_SCRATCHPAD);
    size_t bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (bytes) {
        if (nnb_grow(&t->scratch, &t->cap_scratch, t->nscratch + 1, sizeof *t->scratch))
            return nnb_fail(err, err_len, "out of memory");
        TRY(rd_wrap_mem(m, smd, NULL, &t->scratch[t->nscratch], err, err_len)); /* bound by bind_infer_net */
        rd_arg(st, DNNL_ARG_SCRATCHPAD, t->scratch[t->nscratch++]);
        t->scratch_need = bytes > t->scratch_need ? bytes : t->scratch_need;
    }
    if (out)
        *out = st;
    return 0;
}

/* A workspace when the primitive wants one (inference primitives should not). */
static int maybe_workspace(model *m, const_dnnl_primitive_desc_t pd, step *st, char *err, size_t err_len) {
    const dnnl_memory_desc_t *ws = rd_pd_md(pd, DNNL_ARG_WORKSPACE);
    if (!ws || dnnl_memory_desc_get_size(ws) == 0)
        return 0;
    dnnl_memory_t mem;
    TRY(rd_alloc_mem(m, ws, &mem, err, err_len));
    rd_arg(st, DNNL_ARG_WORKSPACE, mem);
    return 0;
}

/* The request's input: the first n samples of x (N, 3, S, S), a prefix of it in NCHW. When the first
 * convolution wants another layout, reordering them is the net's first step, inside the timed infer (per
 * request, as a server does it); when it takes NCHW, it reads x where it is. */
static int infer_input(model *m, infer_net *t, const dnnl_memory_desc_t *conv_src, char *err, size_t err_len) {
    int64_t xd[4];
    batch_dims(m->arch.acts[0], t->n, xd);
    dnnl_memory_desc_t x_md;
    rd_md_init(&x_md, 4, xd, dnnl_nchw);
    dnnl_memory_t x_plain;
    TRY(rd_wrap_mem(m, &x_md, m->x, &x_plain, err, err_len));
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
                 ? rd_make_reorder_attr(m, x_plain, t->mem[0], attr, &pd, &r, err, err_len)
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
    rd_md_init_dt(&src_any, 4, sd, dnnl_format_tag_any, m->dt);
    rd_md_init_dt(&w_any, 4, wd, dnnl_format_tag_any, m->dt);
    rd_md_init_dt(&dst_any, 4, dd, dnnl_format_tag_any, m->dt);
    dnnl_dims_t strides = {l->stride, l->stride}, pad = {l->pad, l->pad};
    dnnl_convolution_desc_t cd;
    NNB_DNNL_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                                    l->src == 0 ? &src_any : &t->md[l->src], &w_any, NULL, &dst_any,
                                                    strides, pad, pad));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(infer_primitive(m, &cd, 0, &pd, &prim, err, err_len));
    if (l->src == 0)
        TRY(infer_input(m, t, rd_pd_md(pd, DNNL_ARG_SRC), err, err_len));
    t->md[l->dst] = *rd_pd_md(pd, DNNL_ARG_DST);
    TRY(slot_mem(m, t, l->dst, err, err_len));
    dnnl_memory_t w;
    TRY(rd_weights_in(m, li, rd_pd_md(pd, DNNL_ARG_WEIGHTS), &w, err, err_len)); /* shared with training when alike */
    if (!strcmp(l->name, "layer1.0.conv1")) {
        rd_format_string(&t->md[l->dst], m->fmt_infer_act, sizeof m->fmt_infer_act);
        rd_format_string(rd_pd_md(pd, DNNL_ARG_WEIGHTS), m->fmt_infer_weights, sizeof m->fmt_infer_weights);
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
    t->md[l->dst] = *rd_pd_md(pd, DNNL_ARG_DST);
    TRY(slot_mem(m, t, l->dst, err, err_len));
    /* weight, bias, running_mean, running_var: (C) each, read where params keeps them */
    const nnb_resnet_param *p = &m->arch.params[l->param];
    const int names[4] = {DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE};
    dnnl_memory_t mems[6] = {t->mem[l->src], t->mem[l->dst]};
    for (int i = 0; i < 4; i++)
        TRY(rd_wrap_mem(m, rd_pd_md(pd, names[i]), m->params + p[i].offset, &mems[2 + i], err, err_len));
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
    NNB_DNNL_TRY(rd_pool_desc_init(&pdd, l, dnnl_forward_inference, &t->md[l->src], dd));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(infer_primitive(m, &pdd, 0, &pd, &prim, err, err_len));
    t->md[l->dst] = *rd_pd_md(pd, DNNL_ARG_DST);
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
    rd_md_init_dt(&w_any, 4, wd, dnnl_format_tag_any, m->dt);
    rd_md_init(&b_md, 1, bd, dnnl_x);
    rd_md_init(&logits_md, 2, dd, dnnl_nc); /* f32 logits from bf16 data too: oneDNN accumulates in f32 */
    dnnl_inner_product_desc_t id;
    NNB_DNNL_TRY(
        dnnl_inner_product_forward_desc_init(&id, dnnl_forward_inference, &t->md[l->src], &w_any, &b_md, &logits_md));
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    TRY(infer_primitive(m, &id, 0, &pd, &prim, err, err_len));
    t->md[l->dst] = *rd_pd_md(pd, DNNL_ARG_DST);
    t->slot[l->dst] = -1;
    TRY(rd_wrap_mem(m, &t->md[l->dst], m->infer_logits, &t->mem[l->dst], err, err_len));
    dnnl_memory_t w, bias;
    TRY(rd_weights_in(m, li, rd_pd_md(pd, DNNL_ARG_WEIGHTS), &w, err, err_len));
    TRY(rd_wrap_mem(m, rd_pd_md(pd, DNNL_ARG_BIAS), m->params + m->arch.params[l->param + 1].offset, &bias, err,
                    err_len));
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
int rd_infer_setup(model *m, char *err, size_t err_len) {
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

void rd_infer_free(model *m) {
    for (int64_t n = 1; m->infer && n <= m->arch.batch; n++)
        free_infer_net(m->infer[n]);
    for (int s = 0; m->infer_buf && s <= m->infer_num_slots; s++)
        nnb_free(m->infer_buf[s]);
    free(m->infer), free(m->infer_slot), free(m->infer_buf), free(m->infer_buf_bytes), free(m->infer_tensors);
    nnb_free(m->infer_logits);
}

int rd_infer(model *m, int64_t n, char *err, size_t err_len) {
    if (!m->infer[n] && build_infer_net(m, n, err, err_len))
        return -1;
    return rd_run_steps(m, &m->infer[n]->steps, err, err_len);
}

/* describe()'s "infer" object: what the inference nets run and, per n built so far, its size and build time. */
void rd_describe_infer(const model *m, char *buf, size_t len, size_t *used) {
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
