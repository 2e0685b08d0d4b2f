/*
 * `conv`: one convolution layer (the convs group, --conv DESC) on the CPU with oneDNN 2.6's C API.
 *
 *   forward       y = conv(x, w) + b                            (forward_training when a backward runs)
 *   backward      "bwd_data" (dx), then "bwd_weights" (dw, db)   (ABI 1.3 backward parts, timed one by one too)
 *   infer(n)      forward_inference over the first n samples    (nnbench serve)
 *
 * Layouts: every primitive is created with format_tag any, so oneDNN picks its blocked layouts (nChw16c,
 * ABcd16b16a, ... or AMX's). The host tensors of runners/common/conv_data (NCHW / OIHW fp32) are reordered
 * into those layouts once, in create(), and the results back only when outputs() is called: the timed
 * forward, backward parts and infer run the convolution primitives and nothing else (no reorders, no
 * allocation: the scratchpad is the runner's, user mode, made in create()). grad_y does not change between
 * iterations, so no backward_setup is needed; outputs are overwritten by each pass, so no zero_grad.
 *
 * --conv-dir: only the backward primitives asked for are built, and backward() runs just those (forward()
 * always runs the forward: it is the forward phase whatever the driver reports). --conv-algo: auto
 * (dnnl_convolution_auto: oneDNN picks), direct, winograd (refused where oneDNN has none for the problem).
 *
 * --dtype bf16: src, weights, dst, diff_src and diff_dst in bf16; bias, diff_bias and diff_weights in f32
 * (oneDNN accumulates every bf16 convolution in f32; an f32 weight gradient is what a mixed-precision
 * optimizer consumes). Results are widened to fp32 in outputs(), so y and dx carry bf16's rounding.
 *
 * infer(n): one forward_inference primitive per distinct n, built on the first infer(n) and kept (nnbench serve
 * warms every batch size before it measures, so the build is never in a measured request); its input is the
 * first n samples of x, reordered into its layout when it is built.
 */
#include "conv_dnnl_internal.h"
#include "nnb_precision.h"

#include <dnnl_debug.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --conv-algo (NULL, empty, or a config older than ABI 1.3: auto). */
static int parse_algo(const nnb_config *cfg, dnnl_alg_kind_t *alg, const char **name, char *err, size_t err_len) {
    int known = cfg->struct_size >= offsetof(nnb_config, conv_algo) + sizeof cfg->conv_algo;
    const char *a = known && cfg->conv_algo && *cfg->conv_algo ? cfg->conv_algo : "auto";
    if (!strcmp(a, "auto"))
        *alg = dnnl_convolution_auto, *name = "auto";
    else if (!strcmp(a, "direct"))
        *alg = dnnl_convolution_direct, *name = "direct";
    else if (!strcmp(a, "winograd"))
        *alg = dnnl_convolution_winograd, *name = "winograd";
    else
        return nnb_fail(err, err_len, "conv: --conv-algo '%s' is not one oneDNN offers (valid: auto, direct, winograd)",
                        a);
    return 0;
}

/* fp32 always; bf16 where the CPU has it (the one wording of kernels/precision). */
static int precision_ok(int precision, char *reason, size_t len) {
    if (precision != NNB_PRECISION_FP32 && precision != NNB_PRECISION_BF16) {
        const char *n = nnb_precision_name(precision);
        snprintf(reason, len, "conv: --dtype %s is not supported by this runner (supported: fp32, bf16)", n ? n : "?");
        return 0;
    }
    return nnb_cpu_precision_available(precision, reason, len);
}

static int config_precision(const nnb_config *cfg) {
    return cfg->struct_size >= offsetof(nnb_config, precision) + sizeof cfg->precision ? cfg->precision
                                                                                       : NNB_PRECISION_FP32;
}

static int conv_available(const nnb_config *cfg, char *reason, size_t reason_len) {
    return precision_ok(config_precision(cfg), reason, reason_len);
}

static void conv_destroy(void *p) {
    cd_model *m = p;
    if (!m)
        return;
    cd_model_free(m);
    free(m);
}

static void *conv_create(const nnb_config *cfg, char *err, size_t err_len) {
    dnnl_alg_kind_t alg = dnnl_convolution_auto;
    const char *algo_name = "auto";
    if (nnb_check_fuser_executor("conv", cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    if (!precision_ok(config_precision(cfg), err, err_len) || parse_algo(cfg, &alg, &algo_name, err, err_len))
        return NULL;
    cd_model *m = calloc(1, sizeof *m);
    if (!m) {
        nnb_fail(err, err_len, "conv: out of memory");
        return NULL;
    }
    double t0 = nnb_now_seconds();
    char msg[400];
    if (nnb_conv_data_init(&m->d, cfg, msg, sizeof msg)) {
        nnb_fail(err, err_len, "conv: %s", msg);
        free(m);
        return NULL;
    }
    m->alg = alg;
    m->algo_name = algo_name;
    m->threads = cfg->threads;
    m->dt = m->d.precision == NNB_PRECISION_BF16 ? dnnl_bf16 : dnnl_f32;
    m->dw_dt = dnnl_f32;
    m->infer = calloc((size_t)m->d.geom.mb + 1, sizeof *m->infer);
    if (!m->infer) {
        nnb_fail(err, err_len, "conv: out of memory");
        goto fail;
    }
    nnb_set_threads(m->threads);
    if (cd_build(m, err, err_len))
        goto fail;
    m->create_ms = (nnb_now_seconds() - t0) * 1e3;
    return m;
fail:
    conv_destroy(m);
    return NULL;
}

static int conv_forward(void *p, char *err, size_t err_len) {
    cd_model *m = p;
    nnb_set_threads(m->threads);
    m->last_infer_n = 0;
    return cd_execute(m, &m->p[CD_FWD], err, err_len);
}

/* The backward parts --conv-dir asks for, in backward order: conv_data's list (built primitives match it). */
static int conv_part_count(void *p) { return ((cd_model *)p)->d.part_count; }

static int part_prim(const cd_model *m, int part) {
    return m->d.parts[part] == NNB_CONV_PART_BWD_DATA ? CD_BWD_DATA : CD_BWD_WEIGHTS;
}

static const char *conv_part_name(void *p, int part) {
    cd_model *m = p;
    return part >= 0 && part < m->d.part_count ? nnb_conv_part_name(m->d.parts[part]) : NULL;
}

static int conv_backward_part(void *p, int part, char *err, size_t err_len) {
    cd_model *m = p;
    if (part < 0 || part >= conv_part_count(m))
        return nnb_fail(err, err_len, "conv: backward part %d outside 0..%d", part, conv_part_count(m) - 1);
    nnb_set_threads(m->threads);
    m->last_infer_n = 0;
    return cd_execute(m, &m->p[part_prim(m, part)], err, err_len);
}

static int conv_backward(void *p, char *err, size_t err_len) {
    cd_model *m = p;
    for (int i = 0; i < conv_part_count(m); i++)
        CD_TRY(conv_backward_part(m, i, err, err_len));
    return 0;
}

static int conv_infer(void *p, int64_t n, char *err, size_t err_len) {
    cd_model *m = p;
    if (n < 1 || n > m->d.geom.mb)
        return nnb_fail(err, err_len, "conv: infer: n = %lld outside 1..%lld (the problem's mb)", (long long)n,
                        (long long)m->d.geom.mb);
    nnb_set_threads(m->threads);
    cd_infer *net;
    CD_TRY(cd_infer_net(m, n, &net, err, err_len));
    CD_TRY(cd_execute(m, &net->p, err, err_len));
    m->last_infer_n = n;
    return 0;
}

static int conv_params(void *p, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = nnb_conv_data_params(&((cd_model *)p)->d);
    return 0;
}

/* The results into the host tensors (untimed reorders from the library layouts). */
static int conv_outputs(void *p, nnb_tensor_list *out, char *err, size_t err_len) {
    cd_model *m = p;
    if (m->last_infer_n) {
        CD_TRY(cd_fetch(m, &m->infer[m->last_infer_n]->y, err, err_len));
        m->infer_y = m->d.outputs[0]; /* y */
        m->infer_y.shape[0] = m->last_infer_n;
        out->count = 1;
        out->items = &m->infer_y;
        return 0;
    }
    CD_TRY(cd_fetch(m, &m->y, err, err_len));
    if (m->p[CD_BWD_DATA].prim)
        CD_TRY(cd_fetch(m, &m->dx, err, err_len));
    if (m->p[CD_BWD_WEIGHTS].prim) {
        CD_TRY(cd_fetch(m, &m->dw, err, err_len));
        if (m->d.has_bias)
            CD_TRY(cd_fetch(m, &m->db, err, err_len));
    }
    *out = nnb_conv_data_outputs(&m->d);
    return 0;
}

/* w or b by value (serve --weights), rounded to the run's precision as create() rounds them, then every copy
 * in a primitive's layout made again. */
static int conv_load_param(void *p, const nnb_tensor *value, char *err, size_t err_len) {
    cd_model *m = p;
    const nnb_tensor *t = NULL;
    for (int i = 0; i < m->d.param_count; i++)
        if (!strcmp(m->d.params[i].name, value->name))
            t = &m->d.params[i];
    if (!t || !strcmp(t->name, "x") || !strcmp(t->name, "grad_y"))
        return nnb_fail(err, err_len, "conv: load_param: '%s' is not a parameter of this convolution (w%s)",
                        value->name, m->d.has_bias ? ", b" : "");
    int same = value->dtype == NNB_F32 && value->ndim == t->ndim;
    for (int i = 0; same && i < t->ndim; i++)
        same = value->shape[i] == t->shape[i];
    if (!same) {
        char want[96], got[96];
        nnb_shape_text(want, sizeof want, t->ndim, t->shape);
        nnb_shape_text(got, sizeof got, value->ndim, value->shape);
        return nnb_fail(err, err_len, "conv: load_param: %s is float32 %s, got %s %s", t->name, want,
                        nnb_dtype_name(value->dtype), got);
    }
    float *dst = (float *)t->data;
    size_t n = (size_t)(t->name[0] == 'w' ? m->d.w_count : m->d.geom.oc);
    memcpy(dst, value->data, n * sizeof *dst);
    nnb_round_to_precision(dst, n, m->d.precision);
    return cd_refresh_copies(m, dst, err, err_len);
}

static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

static const char *alg_name(dnnl_alg_kind_t a) {
    return a == dnnl_convolution_direct     ? "direct"
           : a == dnnl_convolution_winograd ? "winograd"
           : a == dnnl_convolution_auto     ? "auto"
                                            : "?";
}

/* "fwd":{"impl":...,"algorithm":...,"src_format":...,"weights_format":...} for one built primitive. */
static void describe_prim(const cd_prim *p, const char *key, int src_arg, int w_arg, char *buf, size_t len,
                          size_t *used) {
    char src[48], w[48];
    cd_format_string(cd_pd_md(p->pd, src_arg), src, sizeof src);
    cd_format_string(cd_pd_md(p->pd, w_arg), w, sizeof w);
    nnb_appendf(buf, len, used,
                ",\"%s\":{\"impl\":\"%s\",\"algorithm\":\"%s\",\"%s_format\":\"%s\",\"%s_format\":\"%s\"}", key,
                p->impl, alg_name(p->alg), src_arg == DNNL_ARG_SRC ? "src" : "diff_dst", src,
                w_arg == DNNL_ARG_WEIGHTS ? "weights" : "diff_weights", w);
}

static int conv_describe(void *p, char *buf, size_t len) {
    cd_model *m = p;
    const dnnl_version_t *v = dnnl_version();
    const cd_prim *f = &m->p[CD_FWD];
    size_t used = 0;
    const char *impl = f->impl, *colon = strchr(impl, ':');
    nnb_appendf(buf, len, &used,
                "{\"library\":\"oneDNN %d.%d.%d\",\"api\":\"C\",\"kernel\":\"convolution\",\"impl\":\"%s\","
                "\"isa\":\"%s\",\"cpu_isa\":\"%s\",\"algorithm_requested\":\"%s\",\"dtype\":\"%s\","
                "\"weight_grad_dtype\":\"%s\",\"threads\":%d,\"reorders\":\"inputs at create, results in outputs(); "
                "none timed\",\"scratchpad_bytes\":%zu,\"create_ms\":%.3f",
                v->major, v->minor, v->patch, impl, colon ? colon + 1 : impl, isa_name(dnnl_get_effective_cpu_isa()),
                m->algo_name, dnnl_dt2str(m->dt), dnnl_dt2str(m->dw_dt), m->threads, m->scratch_bytes, m->create_ms);
    describe_prim(f, "fwd", DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, buf, len, &used);
    if (m->p[CD_BWD_DATA].pd)
        describe_prim(&m->p[CD_BWD_DATA], "bwd_data", DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, buf, len, &used);
    if (m->p[CD_BWD_WEIGHTS].pd)
        describe_prim(&m->p[CD_BWD_WEIGHTS], "bwd_weights", DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS, buf, len, &used);
    if (m->last_infer_n)
        nnb_appendf(buf, len, &used, ",\"infer\":{\"n\":%lld,\"impl\":\"%s\"}", (long long)m->last_infer_n,
                    m->infer[m->last_infer_n]->p.impl);
    nnb_appendf(buf, len, &used, "}");
    return used < len ? 0 : -1;
}

static double conv_forward_flops(void *p) { return nnb_conv_forward_flops(&((cd_model *)p)->d); }
static double conv_backward_flops(void *p) {
    cd_model *m = p;
    return nnb_conv_backward_flops(&m->d, m->d.dirs);
}

/* Normwise tolerance against conv_ref (double accumulation): fp32 rounding grows with the longest reduction,
 * K = max(ic/g * kd*kh*kw (y), oc/g * kd*kh*kw (dx), mb * od*oh*ow (dw, db)), as 8 eps sqrt(K) (at least 1e-4,
 * the driver's floor); bf16 adds the rounding of y and dx to bf16, at most u = 2^-8 of max|ref|, doubled. */
static double conv_check_tolerance(const nnb_config *cfg) {
    if (cfg->struct_size < offsetof(nnb_config, conv_algo) + sizeof cfg->conv_algo || !cfg->conv)
        return 0;
    const nnb_conv_problem *c = cfg->conv;
    double k = (double)(c->kd * c->kh * c->kw);
    double kmax =
        fmax(fmax((double)(c->ic / c->g) * k, (double)(c->oc / c->g) * k), (double)(c->mb * c->od * c->oh * c->ow));
    double tol = fmax(1e-4, 8.0 * FLT_EPSILON * sqrt(kmax));
    if (config_precision(cfg) == NNB_PRECISION_BF16)
        tol += 2.0 * nnb_precision_unit_roundoff(NNB_PRECISION_BF16);
    return tol;
}

static const nnb_runner_desc runners[] = {{
    .struct_size = sizeof(nnb_runner_desc),
    .name = "conv",
    .group = NNB_GROUP_CONVS,
    .device = NNB_DEVICE_CPU,
    .description = "one convolution layer (--conv), oneDNN primitives in their own layouts: fwd, bwd_data, bwd_weights",
    .reference = "conv_ref",
    .available = conv_available,
    .create = conv_create,
    .forward = conv_forward,
    .backward = conv_backward,
    .params = conv_params,
    .outputs = conv_outputs,
    .describe = conv_describe,
    .forward_flops = conv_forward_flops,
    .backward_flops = conv_backward_flops,
    .destroy = conv_destroy,
    .check_tolerance = conv_check_tolerance,
    .infer = conv_infer,
    .load_param = conv_load_param,
    .precisions = NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_BF16),
    .backward_part_count = conv_part_count,
    .backward_part_name = conv_part_name,
    .backward_part = conv_backward_part,
}};

static const nnb_plugin plugin = {
    .abi_major = NNB_ABI_MAJOR,
    .abi_minor = NNB_ABI_MINOR,
    .struct_size = sizeof(nnb_plugin),
    .name = "cpu_conv",
    .runner_count = (int)(sizeof runners / sizeof runners[0]),
    .runners = runners,
};

NNB_DEFINE_PLUGIN(plugin)
