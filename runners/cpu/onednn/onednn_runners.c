/*
 * fastrnns' "cudnn" runners on the CPU: the vendor library's LSTM, which on the
 * CPU is oneDNN (C API). See docs/onednn-runners.md.
 *
 *   cudnn            oneDNN LSTM, forward training + backward, all --numLayers
 *   cudnn_dropout    layer-by-layer oneDNN LSTMs, dropout p=0.4 between layers (binary mul)
 *   cudnn_layernorm  forward only: oneDNN LSTM + fastrnns' T x 3 layer norms (layer_normalization)
 *   vl_cudnn         variable length, packed-sequence semantics: sorted batch, one segment per
 *                    distinct length, states carried between segments
 *   py_cudnn_layernorm (hidden) plain reference for cudnn_layernorm
 *
 * cudnn and cudnn_dropout also serve (ABI 1.2): infer(n) runs one forward_inference LSTM primitive per layer
 * group (dropout off) on the first n sequences, from a plan built at n's first call and cached per n.
 *
 * This file: entry points, inference, describe and the plugin table; the training plans create() builds are
 * in onednn_plans.c, the oneDNN LSTM machinery in onednn_lstm*.c.
 */
#include "nnb_precision.h"
#include "onednn_runners_internal.h"
#include "plain_lstm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ inference (ABI 1.2) */

/* infer()'s buffers for n up to B; its plans are built per n at first use. */
static int alloc_infer(runner *r, char *err, size_t err_len) {
    const nnb_lstm_data *d = &r->d;
    if (nnb_lstm_infer_bufs_init(&r->inf, d, NNB_INFER_PACK_X | NNB_INFER_PACK_STATES, err, err_len))
        return -1;
    onx_model *m = &r->m;
    const size_t tbh = (size_t)(d->T * d->B * d->H); /* fits: checked by nnb_lstm_data_init */
    const size_t tbi = (size_t)(d->T * d->B * d->I), lbh = (size_t)(d->L * d->B * d->H);
    for (int i = 0; i < 2 && i + 1 < m->group_count; i++)
        if (!(r->inf_mid[i] = onx_data_buffer(m, tbh)))
            return nnb_fail(err, err_len, "out of memory for inference buffers");
    const int f32 = m->data_dt == dnnl_f32; /* else bf16 buffers of their own */
    r->inf_x = f32 ? (void *)r->inf.x : onx_data_buffer(m, tbi);
    r->inf_hx = f32 ? (void *)r->inf.hx : onx_data_buffer(m, lbh);
    r->inf_y = f32 ? (void *)r->inf.y : onx_data_buffer(m, tbh);
    r->inf_hy = f32 ? (void *)r->inf.hy : onx_data_buffer(m, lbh);
    if (!r->inf_x || !r->inf_hx || !r->inf_y || !r->inf_hy)
        return nnb_fail(err, err_len, "out of memory for inference buffers");
    r->inf_plans = (onx_steps *)calloc((size_t)d->B + 1, sizeof *r->inf_plans);
    return r->inf_plans ? 0 : nnb_fail(err, err_len, "out of memory");
}

/* Batch n's plan: group g reads x (or group g-1's output) and its layers' rows of hx, cx (packed to (L, n, H) when
 * n < B), and writes its layers' rows of hy, cy and its output (T, n, H); the top group writes y. No dropout. */
static int build_infer_plan(runner *r, int64_t n, onx_steps *plan, char *err, size_t err_len) {
    nnb_lstm_data *d = &r->d;
    onx_model *m = &r->m;
    const double t0 = nnb_now_seconds();
    const int packed = n < d->B;
    void *x = packed ? r->inf_x : r->x_data;    /* (T, n, I) */
    void *hx = packed ? r->inf_hx : r->hx_data; /* (L, n, H) */
    float *cx = packed ? r->inf.cx : d->cx;     /* (L, n, H) */
    const int G = m->group_count;
    onx_steps s = {0};
    for (int g = 0; g < G; g++) {
        const size_t s0 = (size_t)(m->groups[g].first * n * d->H); /* the group's first layer in (L, n, H) */
        onx_io io = {.src_layer = g == 0 ? x : r->inf_mid[(g - 1) & 1],
                     .src_iter = onx_data_at(m, hx, s0),
                     .src_iter_c = cx + s0,
                     .dst_layer = g == G - 1 ? r->inf_y : r->inf_mid[g & 1],
                     .dst_iter = onx_data_at(m, r->inf_hy, s0),
                     .dst_iter_c = r->inf.cy + s0};
        onx_step st;
        if (onx_add_infer_call(m, d, g, d->T, n, &io, &st, err, err_len) || onx_push(&s, &st, err, err_len)) {
            free(s.v);
            return -1;
        }
    }
    if (onx_bind_infer_scratch(m, &s, err, err_len)) {
        free(s.v);
        return -1;
    }
    *plan = s;
    r->inf_plan_count++;
    r->inf_plan_ms += 1e3 * (nnb_now_seconds() - t0);
    return 0;
}

/* dst (rows, n, W) = the first n of the B columns of src (rows, B, W); es bytes per element. */
static void pack_columns(const void *src, int64_t rows, int64_t B, int64_t W, int64_t n, size_t es, void *dst) {
    for (int64_t t = 0; t < rows; t++)
        memcpy((char *)dst + (size_t)(t * n * W) * es, (const char *)src + (size_t)(t * B * W) * es,
               (size_t)(n * W) * es);
}

/* infer(n)'s inputs where its plan reads them. fp32: nnb_lstm_infer_inputs (packs x, hx, cx when n < B). bf16:
 * the same packing from the bf16 copies of x and hx made at create, so both precisions do the same work. */
static void infer_inputs(runner *r, int64_t n) {
    nnb_lstm_data *d = &r->d;
    const float *x, *hx, *cx; /* the plan's memories wrap these very pointers */
    if (r->m.data_dt == dnnl_f32) {
        nnb_lstm_infer_inputs(&r->inf, d, n, &x, &hx, &cx);
        return;
    }
    if (n == d->B)
        return;
    pack_columns(r->x_data, d->T, d->B, d->I, n, r->m.data_size, r->inf_x);
    pack_columns(r->hx_data, d->L, d->B, d->H, n, r->m.data_size, r->inf_hx);
    nnb_lstm_pack_columns(d->cx, d->L, d->B, d->H, n, r->inf.cx);
}

static int infer(void *model, int64_t n, char *err, size_t err_len) {
    runner *r = (runner *)model;
    nnb_lstm_data *d = &r->d;
    if (nnb_lstm_infer_check_batch(d, n, r->name, err, err_len))
        return -1;
    onx_steps *plan = &r->inf_plans[n];
    if (!plan->n && build_infer_plan(r, n, plan, err, err_len))
        return -1;
    infer_inputs(r, n);
    if (onx_run(&r->m, plan, err, err_len))
        return -1;
    nnb_lstm_infer_done(&r->inf, d, n);
    r->inferred = 1;
    return 0;
}

/* Into the PyTorch arrays, then every reordered copy of the layer's group (forward, backward, inference formats);
 * when a reorder fails the old values go back. */
static int load_param(void *model, const nnb_tensor *value, char *err, size_t err_len) {
    runner *r = (runner *)model;
    nnb_lstm_data *d = &r->d;
    float *dst;
    int64_t layer;
    nnb_lstm_param_kind kind;
    size_t count;
    if (nnb_lstm_param_lookup(d, value, r->name, &dst, &layer, &kind, &count, err, err_len))
        return -1;
    float *old = nnb_alloc_floats(count);
    if (!old)
        return nnb_fail(err, err_len, "%s: load_param: out of memory", r->name);
    memcpy(old, dst, sizeof(float) * count);
    memmove(dst, value->data, sizeof(float) * count); /* value may be params()' own view of dst */
    nnb_round_to_precision(dst, count, r->precision); /* params() shows the values the primitives use */
    int g = 0;
    while (g + 1 < r->m.group_count && r->m.groups[g + 1].first <= layer)
        g++;
    int rc = onx_refresh_group_weights(&r->m, d, g, err, err_len);
    if (rc) {
        memcpy(dst, old, sizeof(float) * count);
        onx_refresh_group_weights(&r->m, d, g, NULL, 0);
    }
    nnb_free(old);
    return rc;
}

/* ------------------------------------------------------------------ runner entry points */

static void destroy(void *model) {
    runner *r = (runner *)model;
    if (!r)
        return;
    for (int64_t n = 0; r->inf_plans && n <= r->d.B; n++)
        free(r->inf_plans[n].v);
    free(r->inf_plans);
    nnb_lstm_infer_bufs_free(&r->inf);
    onx_model_free(&r->m);
    nnb_lstm_data_free(&r->d);
    nnb_free(r->ln_input);
    nnb_free(r->ln_out);
    free(r);
}

/* cfg's --dtype (fp32 for a driver older than ABI 1.3). */
static int config_precision(const nnb_config *cfg) {
    return cfg->struct_size >= offsetof(nnb_config, precision) + sizeof cfg->precision ? cfg->precision
                                                                                       : NNB_PRECISION_FP32;
}

/* Declared precisions this CPU cannot run are refused in the one wording (nnb_cpu_precision_available). */
static int available(const nnb_config *cfg, char *reason, size_t reason_len) {
    return nnb_cpu_precision_available(config_precision(cfg), reason, reason_len);
}

/* d's x, hx (read by the first layer) and y, hy (written by the top one) in the model's data type. */
static int data_views(runner *r, char *err, size_t err_len) {
    nnb_lstm_data *d = &r->d;
    onx_model *m = &r->m;
    const size_t tbi = (size_t)(d->T * d->B * d->I), tbh = (size_t)(d->T * d->B * d->H);
    const size_t lbh = (size_t)(d->L * d->B * d->H); /* all fit: checked by nnb_lstm_data_init */
    const int f32 = m->data_dt == dnnl_f32;
    r->x_data = onx_data_copy(m, d->x, tbi);
    r->hx_data = onx_data_copy(m, d->hx, lbh);
    if (r->kind == KIND_VL) /* its outputs come from the packed per-segment buffers (onr_vl_outputs) */
        return r->x_data && r->hx_data ? 0 : nnb_fail(err, err_len, "out of memory");
    r->y_data = f32 ? (void *)d->y : onx_data_buffer(m, tbh);
    r->hy_data = f32 ? (void *)d->hy : onx_data_buffer(m, lbh);
    return r->x_data && r->hx_data && r->y_data && r->hy_data ? 0 : nnb_fail(err, err_len, "out of memory");
}

static runner *create_kind(runner_kind kind, const char *name, const nnb_config *cfg, char *err, size_t err_len) {
    /* oneDNN's own kernels: --fuser does not apply (describe() says so); its primitives run eagerly. */
    if (nnb_check_fuser_executor(name, cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    nnb_set_threads(cfg->threads); /* oneDNN runs on the OpenMP runtime */
    runner *r = (runner *)calloc(1, sizeof *r);
    if (!r) {
        nnb_fail(err, err_len, "out of memory");
        return NULL;
    }
    r->kind = kind;
    r->name = name;
    r->threads = cfg->threads;
    r->precision = config_precision(cfg);
    const int backward = kind == KIND_CUDNN || kind == KIND_DROPOUT || kind == KIND_VL;
    int rc = nnb_lstm_data_init(&r->d, cfg, kind == KIND_VL, 0, err, err_len);
    if (!rc && kind != KIND_PLAIN_LAYERNORM)
        rc = onx_model_init(&r->m, backward, r->precision, err, err_len);
    if (!rc && kind != KIND_PLAIN_LAYERNORM)
        rc = data_views(r, err, err_len);
    if (!rc && (kind == KIND_LAYERNORM || kind == KIND_PLAIN_LAYERNORM))
        rc = onr_alloc_ln_input(r, cfg->seed, err, err_len);
    if (!rc && kind == KIND_VL)
        rc = onr_build_vl(r, err, err_len);
    if (!rc && (kind == KIND_CUDNN || kind == KIND_DROPOUT || kind == KIND_LAYERNORM))
        rc = onr_build_fixed(r, cfg->seed, err, err_len);
    if (!rc && kind == KIND_LAYERNORM)
        rc = onr_push_layer_norm_steps(r, err, err_len);
    if (!rc && kind != KIND_PLAIN_LAYERNORM)
        rc = onx_finalize(&r->m, err, err_len);
    if (!rc && (kind == KIND_CUDNN || kind == KIND_DROPOUT))
        rc = alloc_infer(r, err, err_len);
    if (rc) {
        destroy(r);
        return NULL;
    }
    for (int i = 0; i < r->m.prim_count; i++)
        r->lstm_prims += r->m.prims[i]->L > 0;
    return r;
}

static void *create_cudnn(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_CUDNN, "cudnn", cfg, err, err_len);
}
static void *create_dropout(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_DROPOUT, "cudnn_dropout", cfg, err, err_len);
}
static void *create_layernorm(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_LAYERNORM, "cudnn_layernorm", cfg, err, err_len);
}
static void *create_vl(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_VL, "vl_cudnn", cfg, err, err_len);
}
static void *create_plain_layernorm(const nnb_config *cfg, char *err, size_t err_len) {
    return create_kind(KIND_PLAIN_LAYERNORM, "py_cudnn_layernorm", cfg, err, err_len);
}

/* Timed: the plan's primitive executions only (inputs already sit in oneDNN memories). */
static int forward(void *model, char *err, size_t err_len) {
    runner *r = (runner *)model;
    r->inferred = 0;
    return onx_run(&r->m, &r->m.fwd, err, err_len);
}

static int backward(void *model, char *err, size_t err_len) {
    runner *r = (runner *)model;
    r->inferred = 0;
    return onx_run(&r->m, &r->m.bwd, err, err_len);
}

/* Untimed: oneDNN's LSTM backward accumulates into diff weights and bias. */
static int zero_grad(void *model, char *err, size_t err_len) {
    (void)err, (void)err_len;
    onx_zero_weight_grads(&((runner *)model)->m);
    return 0;
}

static int params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = nnb_lstm_data_params(&((runner *)model)->d);
    return 0;
}

/* Untimed, lazy: bring results back to PyTorch's layout. */
static int outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    runner *r = (runner *)model;
    nnb_lstm_data *d = &r->d;
    const onx_model *m = &r->m;
    if (r->inferred) {
        const int64_t n = r->inf.n; /* bf16: widen the plan's results into the fp32 views */
        if (m->data_dt != dnnl_f32) {
            onx_data_to_f32(m, r->inf_y, r->inf.y, (size_t)(d->T * n * d->H));
            onx_data_to_f32(m, r->inf_hy, r->inf.hy, (size_t)(d->L * n * d->H));
        }
        *out = nnb_lstm_infer_outputs(&r->inf);
        return 0;
    }
    if (r->kind == KIND_VL)
        onr_vl_outputs(r);
    else if (r->kind != KIND_PLAIN_LAYERNORM && m->data_dt != dnnl_f32) {
        onx_data_to_f32(m, r->y_data, d->y, (size_t)(d->T * d->B * d->H));
        onx_data_to_f32(m, r->hy_data, d->hy, (size_t)(d->L * d->B * d->H));
    }
    if (r->kind != KIND_PLAIN_LAYERNORM && onx_export_weight_grads(&r->m, d, err, err_len))
        return -1;
    *out = nnb_lstm_data_outputs(d);
    if (r->kind == KIND_LAYERNORM || r->kind == KIND_PLAIN_LAYERNORM)
        out->count = 3; /* y, hy, cy */
    return 0;
}

static double forward_flops(void *model) { return nnb_lstm_forward_flops(&((runner *)model)->d); }
static double backward_flops(void *model) { return nnb_lstm_backward_flops(&((runner *)model)->d); }

/* ------------------------------------------------------------------ plain reference for cudnn_layernorm */

static int plain_layernorm_forward(void *model, char *err, size_t err_len) {
    runner *r = (runner *)model;
    nnb_lstm_data *d = &r->d;
    if (onx_plain_lstm_forward(d, err, err_len))
        return -1;
    for (int64_t t = 0; t < d->T; t++) {
        onx_plain_layer_norm(r->ln_input, r->ln_out, d->B, 4 * d->H, LN_EPS); /* ln_i */
        onx_plain_layer_norm(r->ln_input, r->ln_out, d->B, 4 * d->H, LN_EPS); /* ln_h */
        onx_plain_layer_norm(d->cy, d->cy, d->L * d->B, d->H, LN_EPS);        /* cy = ln_c(cy) */
    }
    return 0;
}

/* ------------------------------------------------------------------ describe */

static const char *plan_note(const runner *r) {
    switch (r->kind) {
    case KIND_CUDNN:
        return "one oneDNN LSTM primitive per layer group (all layers in one when every layer input is H, "
               "else layer 0 and layers 1..L-1); weights reordered once at create";
    case KIND_DROPOUT:
        return "one oneDNN LSTM primitive per layer; dropout p=0.4 on layer inputs above layer 0 by oneDNN binary mul "
               "with nnb_dropout_mask, and the same mask on the way back";
    case KIND_LAYERNORM:
        return "oneDNN LSTM (forward training) then T x {ln_i(ln_input1), ln_h(ln_input1), cy=ln_c(cy)} with oneDNN "
               "layer_normalization (gain 1, bias 0, eps 1e-5)";
    case KIND_VL:
        return "batch sorted by length, time cut into segments between distinct lengths; per layer, one oneDNN LSTM "
               "call per segment over the active (shrinking) batch, states carried in place (prefix rows of the "
               "previous segment's dst_iter); backward in reverse with diff_dst_iter carried; x and grad_y packed "
               "once at create";
    case KIND_PLAIN_LAYERNORM:
        return "plain double-accumulating loops (kernels/lstm_cell_math.h) then T plain layer norms";
    }
    return "";
}

static int describe(void *model, char *buf, size_t buf_len) {
    runner *r = (runner *)model;
    size_t used = 0;
    if (buf_len)
        buf[0] = 0;
    const dnnl_version_t *ver = dnnl_version();
    nnb_appendf(buf, buf_len, &used,
                "{\"runner\":\"%s\",\"library\":\"oneDNN\",\"version\":\"%d.%d.%d\",\"git_hash\":\"%s\",", r->name,
                ver->major, ver->minor, ver->patch, ver->hash ? ver->hash : "");
    nnb_appendf(buf, buf_len, &used, "\"cpu_runtime\":\"%s\",\"isa\":\"%s\",\"threads\":%d,",
                dnnl_runtime2str(ver->cpu_runtime), dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()), r->threads);
    nnb_appendf(buf, buf_len, &used, "\"fuser\":\"n/a (library kernels)\",\"executor\":\"eager\",\"plan\":\"%s\"",
                plan_note(r));
    if (r->kind == KIND_PLAIN_LAYERNORM) {
        nnb_appendf(buf, buf_len, &used, "}");
        return used < buf_len ? 0 : -1;
    }
    const onx_model *m = &r->m;
    const onx_prim *p = NULL;
    for (int i = 0; i < m->prim_count && !p; i++)
        if (m->prims[i]->L > 0)
            p = m->prims[i];
    const char *data = dnnl_dt2str(m->data_dt), *precision = nnb_precision_name(r->precision);
    nnb_appendf(buf, buf_len, &used,
                ",\"algorithm\":\"vanilla_lstm\",\"prop_kind\":\"forward_training\",\"precision\":\"%s\","
                "\"data_type\":\"%s\",\"data_types\":{\"src_layer\":\"%s\",\"src_iter\":\"%s\",\"weights\":\"%s\","
                "\"dst_layer\":\"%s\",\"cell_state\":\"f32\",\"bias\":\"f32\",\"gradients\":\"f32\"}",
                precision ? precision : "?", data, data, data, data, data);
    /* impl: the forward primitive's impl_info_str ("brgemm" in bf16, "ref" = gemm-based in f32) with the ISA oneDNN
     * dispatches to on this CPU, e.g. "brgemm:avx512_core_amx" */
    const char *isa = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
    if (!strncmp(isa, "cpu_isa_", 8))
        isa += 8;
    nnb_appendf(buf, buf_len, &used, ",\"impl\":\"%s:%s\",\"forward_impl\":\"%s\"", p ? onx_impl_name(p->fwd_pd) : "?",
                isa, p ? onx_impl_name(p->fwd_pd) : "?");
    if (m->with_backward)
        nnb_appendf(buf, buf_len, &used, ",\"backward_impl\":\"%s\"", p ? onx_impl_name(p->bwd_pd) : "?");
    for (int i = 0; i < m->prim_count; i++) /* binary (dropout) or layer norm */
        if (m->prims[i]->L == 0) {
            const char *kind = r->kind == KIND_DROPOUT ? "dropout_impl" : "layer_norm_impl";
            nnb_appendf(buf, buf_len, &used, ",\"%s\":\"%s\"", kind, onx_impl_name(m->prims[i]->fwd_pd));
            break;
        }
    if (p) {
        nnb_appendf(
            buf, buf_len, &used, ",\"weights_format\":{\"forward\":\"%s\"",
            onx_format_name(dnnl_primitive_desc_query_md(p->fwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER)));
        if (m->with_backward)
            nnb_appendf(buf, buf_len, &used, ",\"backward\":\"%s\",\"diff\":\"%s\"",
                        onx_format_name(
                            dnnl_primitive_desc_query_md(p->bwd_pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER)),
                        onx_format_name(dnnl_primitive_desc_query_md(p->bwd_pd, dnnl_query_exec_arg_md,
                                                                     DNNL_ARG_DIFF_WEIGHTS_LAYER)));
        nnb_appendf(buf, buf_len, &used, "}");
    }
    nnb_appendf(buf, buf_len, &used, ",\"layer_groups\":[");
    for (int g = 0; g < m->group_count; g++)
        nnb_appendf(buf, buf_len, &used, "%s{\"first_layer\":%lld,\"layers\":%lld,\"input\":%lld}", g ? "," : "",
                    (long long)m->groups[g].first, (long long)m->groups[g].count, (long long)m->groups[g].in);
    nnb_appendf(buf, buf_len, &used,
                "],\"lstm_primitive_shapes\":%d,\"forward_executions\":%d,\"backward_executions\":%d", r->lstm_prims,
                m->fwd.n, m->bwd.n);
    if (r->kind == KIND_VL)
        nnb_appendf(buf, buf_len, &used, ",\"segments\":%d,\"packed_rows\":%lld", r->vl.S, (long long)r->vl.rows);
    if (r->kind == KIND_DROPOUT)
        nnb_appendf(buf, buf_len, &used, ",\"dropout\":%.2f", (double)DROPOUT_P);
    nnb_appendf(buf, buf_len, &used, ",\"scratchpad\":\"user\",\"scratchpad_bytes\":%zu,\"workspace_bytes\":%zu",
                m->scratch_bytes, m->workspace_bytes);
    int inf_copies = 0; /* weight copies in inference formats, over all groups */
    for (int g = 0; g < m->group_count; g++)
        inf_copies += m->groups[g].infer_w_count;
    if (r->inf_plans)
        nnb_appendf(buf, buf_len, &used,
                    ",\"infer\":{\"prop_kind\":\"forward_inference\",\"workspace\":false,\"dropout\":false,"
                    "\"impl\":\"%s\",\"weights_format\":\"%s\",\"weight_copies\":%d,\"plans\":%d,"
                    "\"plan_create_ms\":%.3f,\"scratchpad_bytes\":%zu}",
                    m->infer_prim_count ? onx_impl_name(m->infer_prims[0]->pd) : "not built yet",
                    m->infer_prim_count ? onx_format_name(dnnl_primitive_desc_query_md(
                                              m->infer_prims[0]->pd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER))
                                        : "not built yet",
                    inf_copies, r->inf_plan_count, r->inf_plan_ms, m->infer_scratch_bytes);
    nnb_appendf(buf, buf_len, &used, "}");
    return used < buf_len ? 0 : -1;
}

/* ------------------------------------------------------------------ plugin */

/* SERVES: 1 for the runners with infer() and load_param() (ABI 1.2). */
/* PRECISIONS: the oneDNN runners compute in fp32 or bf16 (oneDNN 2.6 has no f16 LSTM on the CPU); the plain
 * reference serves --check in every precision, computing plainly on the data rounded to it. */
#define ONX_PRECISIONS (NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_BF16))
#define EVERY_PRECISION ((1u << NNB_PRECISION_COUNT) - 1u)
#define ONX_RUNNER(NAME, GROUP, DESC, REF, FLAGS, CREATE, FWD, BWD, BWD_FLOPS, SERVES, PRECISIONS)                     \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = NAME, .group = GROUP, .device = NNB_DEVICE_CPU,                \
        .description = DESC, .reference = REF, .flags = FLAGS,                                                         \
        .available = (PRECISIONS) == ONX_PRECISIONS ? available : NULL, .create = CREATE, .forward = FWD,              \
        .backward = BWD, .zero_grad = zero_grad, .params = params, .outputs = outputs, .describe = describe,           \
        .forward_flops = forward_flops, .backward_flops = BWD_FLOPS, .destroy = destroy,                               \
        .infer = (SERVES) ? infer : NULL, .load_param = (SERVES) ? load_param : NULL, .precisions = PRECISIONS         \
    }

static const nnb_runner_desc runners[] = {
    ONX_RUNNER("cudnn", NNB_GROUP_RNNS, "vendor library LSTM on the CPU: oneDNN vanilla_lstm, f32 or bf16, training",
               "py", 0, create_cudnn, forward, backward, backward_flops, 1, ONX_PRECISIONS),
    ONX_RUNNER("cudnn_dropout", NNB_GROUP_RNNS, "oneDNN LSTM per layer with dropout 0.4 between layers", "py_dropout",
               NNB_FLAG_HIDDEN, create_dropout, forward, backward, backward_flops, 1, ONX_PRECISIONS),
    ONX_RUNNER("cudnn_layernorm", NNB_GROUP_RNNS, "oneDNN LSTM + fastrnns' layer-norm lower bound (forward only)",
               "py_cudnn_layernorm", NNB_FLAG_HIDDEN, create_layernorm, forward, NULL, NULL, 0, ONX_PRECISIONS),
    ONX_RUNNER("vl_cudnn", NNB_GROUP_VL_RNNS, "oneDNN LSTM over length-sorted segments (packed-sequence semantics)",
               "vl_py", 0, create_vl, forward, backward, backward_flops, 0, ONX_PRECISIONS),
    ONX_RUNNER("py_cudnn_layernorm", NNB_GROUP_RNNS, "plain reference for cudnn_layernorm", NULL,
               NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN, create_plain_layernorm, plain_layernorm_forward, NULL, NULL, 0,
               EVERY_PRECISION),
};

static const nnb_plugin plugin = {
    NNB_ABI_MAJOR, NNB_ABI_MINOR, sizeof(nnb_plugin), "cpu_onednn", (int)(sizeof runners / sizeof *runners), runners};

NNB_DEFINE_PLUGIN(plugin)
