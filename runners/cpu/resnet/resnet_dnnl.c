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
 *
 * Files: this one holds the runner interface (model lifecycle, the timed passes, describe, the plugin table);
 * the net builders and the oneDNN plumbing are listed in resnet_dnnl_internal.h.
 */
#include "resnet_dnnl_internal.h"

#include "nnb_precision.h"
#include "resnet_init.h"

#include <nnbench/runner.h>

#include <dnnl_debug.h>

#include <stdlib.h>
#include <string.h>

static void model_destroy(void *p) {
    model *m = p;
    if (!m)
        return;
    for (int i = 0; i < m->nprims; i++)
        dnnl_primitive_destroy(m->prims[i]);
    for (int i = 0; i < m->npds; i++)
        dnnl_primitive_desc_destroy(m->pds[i]);
    rd_infer_free(m);
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

/* Training forward and backward nets, every primitive and memory created once, here. */
static int build_network(model *m, char *err, size_t err_len) {
    const nnb_resnet_arch *a = &m->arch;
    for (int i = 0; i < a->num_layers; i++) {
        m->consumers[a->layers[i].src]++;
        if (a->layers[i].src2 >= 0)
            m->consumers[a->layers[i].src2]++;
    }
    TRY(rd_build_forward(m, err, err_len));
    return rd_build_backward(m, err, err_len);
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
    m->precision = cfg->precision == NNB_PRECISION_BF16 ? NNB_PRECISION_BF16 : NNB_PRECISION_FP32;
    m->dt = m->precision == NNB_PRECISION_BF16 ? dnnl_bf16 : dnnl_f32;
    nnb_set_threads(cfg->threads);
    if (cfg->precision != NNB_PRECISION_FP32 && cfg->precision != NNB_PRECISION_BF16) {
        nnb_fail(err, err_len, "%s: --dtype %s is not supported (fp32, bf16)", name,
                 nnb_precision_name(cfg->precision) ? nnb_precision_name(cfg->precision) : "?");
        goto fail;
    }
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
    /* The seeded problem rounded to the precision before any copy is made, so params() shows what runs. */
    nnb_resnet_round_to_precision(a, m->precision, m->params, m->x);
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
    if (build_network(m, err, err_len) || rd_infer_setup(m, err, err_len))
        goto fail;
    if (rd_run_reorder(m, m->x_reorder, m->x_plain, m->act_mem[0], err, err_len))
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
    return rd_run_steps(m, &m->fwd, err, err_len);
}

/* One inference pass over the first n samples of x: the input reorder (when needed) and the layers of the
 * net for n, built on the first use of that n (build_infer_net). Running statistics are only read. */
static int rn_infer(void *p, int64_t n, char *err, size_t err_len) {
    model *m = p;
    if (n < 1 || n > m->arch.batch)
        return nnb_fail(err, err_len, "%s: infer: n = %lld outside 1..%lld (the batch the model was created for)",
                        m->name, (long long)n, (long long)m->arch.batch);
    nnb_set_threads(m->threads);
    TRY(rd_infer(m, n, err, err_len));
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
    if (pp->kind == NNB_RESNET_CONV_WEIGHT || pp->kind == NNB_RESNET_FC_WEIGHT || pp->kind == NNB_RESNET_FC_BIAS)
        nnb_round_to_precision(m->params + pp->offset, pp->count, m->precision); /* as create rounds them */
    if (pp->kind == NNB_RESNET_CONV_WEIGHT || pp->kind == NNB_RESNET_FC_WEIGHT)
        return rd_refresh_weights(m, pp->layer, err, err_len);
    return 0;
}

static int rn_backward_setup(void *p, char *err, size_t err_len) {
    model *m = p;
    return rd_run_reorder(m, m->grad_logits_reorder, m->grad_logits_plain, m->diff_mem[m->arch.num_acts - 1], err,
                          err_len);
}

static int rn_backward(void *p, char *err, size_t err_len) {
    model *m = p;
    nnb_set_threads(m->threads);
    return rd_run_steps(m, &m->bwd, err, err_len);
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
    TRY(rd_run_reorder(m, m->logits_reorder, m->act_mem[a->num_acts - 1], m->logits_plain, err, err_len));
    if (!m->own_input_grad) /* else dx is written in NCHW directly */
        TRY(rd_run_reorder(m, m->dx_reorder, m->diff_mem[0], m->dx_plain, err, err_len));
    for (int i = 0; i < a->num_layers; i++) {
        const layer_state *s = &m->ls[i];
        if (s->diff_weights_reorder)
            TRY(rd_run_reorder(m, s->diff_weights_reorder, s->diff_weights, s->diff_weights_plain, err, err_len));
    }
    out->count = m->n_out;
    out->items = m->out_tensors;
    return 0;
}

/* The ISA part of a oneDNN implementation name ("brg:avx512_core_amx" -> "avx512_core_amx"), else the name. */
static const char *impl_isa(const char *impl) {
    const char *colon = strchr(impl, ':');
    return colon ? colon + 1 : impl;
}

/* What each tensor is stored in: the data the convolutions and the fc read, and what stays f32. */
static const char *data_types(const model *m) {
    return m->dt == dnnl_bf16
               ? "activations, conv and fc weights, data gradients, logits: bf16; weight gradients, fc bias and its "
                 "gradient, BatchNorm parameters, statistics and gradients: f32; outputs() widened to f32"
               : "f32";
}

static int rn_describe(void *p, char *buf, size_t len) {
    model *m = p;
    const dnnl_version_t *v = dnnl_version();
    size_t used = 0;
    nnb_appendf(buf, len, &used,
                "{\"precision\":\"%s\",\"data_types\":\"%s\",\"isa\":\"%s\",\"body_conv_fwd_impl\":\"%s\","
                "\"body_conv_bwd_data_impl\":\"%s\",\"body_conv_bwd_weights_impl\":\"%s\",\"fc_impl\":\"%s\",",
                nnb_precision_name(m->precision), data_types(m), impl_isa(m->impl_body_fwd), m->impl_body_fwd,
                m->impl_body_bwd_data, m->impl_body_bwd_weights, m->impl_fc_fwd);
    nnb_appendf(buf, len, &used,
                "\"library\":\"oneDNN %d.%d.%d\",\"api\":\"C\",\"model\":\"resnet%d\",\"fused\":%s,"
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
    rd_describe_infer(m, buf, len, &used);
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

/* --check tolerance in bf16 (forward outputs in the max norm; gradients in the L2 norm against 10x it), from
 * u = 2^-8. A bf16 step is the exact step on data rounded by u at every stored tensor, so its distance from the
 * reference (fp32 math on the rounded inputs) is the problem's own response to u-sized perturbations. Measured at
 * N=2, S=33 (the fp32 runner with every weight moved by up to u): ResNet-18's logits move by 3.4u and its
 * gradients by 0.26 (L2), ResNet-50's logits by 69u and gradients by 1.4: train-mode BatchNorm over a small batch
 * amplifies rounding layer by layer (docs/resnet.md, "bf16"). Hence 32u for ResNet-18 (bf16 measured: 4.4u
 * forward, 0.45 gradients) and 128u for ResNet-50 (93u forward, gradients 1.7: its bf16 training-step check
 * catches only gross errors; its eval-mode inference, well conditioned, is held to 8u by the tests). */
static double bf16_tolerance(const nnb_config *cfg, int depth) {
    return (depth == 50 ? 128 : 32) * nnb_precision_unit_roundoff(cfg->precision);
}

static double resnet18_check_tolerance(const nnb_config *cfg) {
    return cfg->precision == NNB_PRECISION_BF16 ? bf16_tolerance(cfg, 18) : 0; /* fp32: the driver's default */
}

/* See nnb_resnet_check_tolerance: ResNet-50 gradients are judged in the L2 norm. */
static double resnet50_check_tolerance(const nnb_config *cfg) {
    return cfg->precision == NNB_PRECISION_BF16 ? bf16_tolerance(cfg, 50) : nnb_resnet_check_tolerance(50);
}

/* fp32 always; bf16 where the CPU has avx512_bf16 or AMX, refused in the one wording every CPU runner uses. */
static int rn_available(const nnb_config *cfg, char *reason, size_t reason_len) {
    return nnb_cpu_precision_available(cfg->precision, reason, reason_len);
}

#define DNNL_RUNNER(NAME, CREATE, DESC, REF, FLAGS, TOL)                                                               \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = NAME, .group = NNB_GROUP_CNNS, .device = NNB_DEVICE_CPU,       \
        .description = DESC, .reference = REF, .flags = FLAGS, .check_tolerance = TOL, .create = CREATE,               \
        .available = rn_available,                                                                                     \
        .precisions = NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_BF16),                   \
        .forward = rn_forward, .backward_setup = rn_backward_setup, .backward = rn_backward, .params = rn_params,      \
        .outputs = rn_outputs, .describe = rn_describe, .forward_flops = model_forward_flops,                          \
        .backward_flops = model_backward_flops, .destroy = model_destroy, .infer = rn_infer,                           \
        .load_param = rn_load_param,                                                                                   \
    }

static const nnb_runner_desc runners[] = {
    DNNL_RUNNER("resnet18", create_resnet18, "ResNet-18 train step and inference, oneDNN primitives per layer",
                "resnet18_ref", NNB_FLAG_CHECK_GRADIENTS_L2, resnet18_check_tolerance),
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
