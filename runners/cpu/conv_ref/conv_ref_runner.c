/* The conv_ref runner: see conv_ref_runner.h. */
#include "conv_ref_runner.h"

#include "conv_data.h"
#include "conv_ref.h"
#include "nnb_support.h"

#include <stdlib.h>
#include <string.h>

#define RUNNER_NAME "conv_ref"

typedef struct conv_ref_model {
    nnb_conv_data d;
    int64_t last_infer_n; /* 0: the last pass was a training forward (or none) */
    char problem[128];    /* the descriptor's name for describe(), JSON-safe; "" when unnamed */
} conv_ref_model;

/* The problem's name as a JSON string body: quotes, backslashes and control characters dropped. */
static void plain_name(char *dst, size_t len, const char *name) {
    size_t k = 0;
    for (const char *s = name ? name : ""; *s && k + 1 < len; s++)
        if (*s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
            dst[k++] = *s;
    dst[k] = 0;
}

static void conv_ref_destroy(void *p) {
    conv_ref_model *m = p;
    if (!m)
        return;
    nnb_conv_data_free(&m->d);
    free(m);
}

/* --conv-algo is not checked: --check creates the reference with the checked runner's settings (winograd, a cuDNN
 * algorithm name...), and the reference has its one algorithm, direct loops (describe() says so). */
static void *conv_ref_create(const nnb_config *cfg, char *err, size_t err_len) {
    char msg[512];
    if (nnb_check_fuser_executor(RUNNER_NAME, cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    conv_ref_model *m = calloc(1, sizeof *m);
    if (!m) {
        nnb_fail(err, err_len, RUNNER_NAME ": out of memory");
        return NULL;
    }
    if (nnb_conv_data_init(&m->d, cfg, msg, sizeof msg)) {
        nnb_fail(err, err_len, RUNNER_NAME ": %s", msg);
        free(m);
        return NULL;
    }
    plain_name(m->problem, sizeof m->problem, cfg->conv->name);
    return m;
}

/* The kernels fail only on invalid geometry (create() refused it) or when their accumulator does not fit. */
static int kernel_failed(const char *pass, char *err, size_t err_len) {
    return nnb_fail(err, err_len, RUNNER_NAME ": %s: out of memory for the double accumulator", pass);
}

static int conv_ref_forward(void *p, char *err, size_t err_len) {
    conv_ref_model *m = p;
    m->last_infer_n = 0;
    if (nnb_conv_ref_forward(&m->d.geom, m->d.x, m->d.w, m->d.b, m->d.y))
        return kernel_failed("forward", err, err_len);
    return 0;
}

static int conv_ref_part_count(void *p) { return ((conv_ref_model *)p)->d.part_count; }

static const char *conv_ref_part_name(void *p, int part) {
    const conv_ref_model *m = p;
    return part >= 0 && part < m->d.part_count ? nnb_conv_part_name(m->d.parts[part]) : NULL;
}

static int conv_ref_part(void *p, int part, char *err, size_t err_len) {
    conv_ref_model *m = p;
    nnb_conv_data *d = &m->d;
    if (part < 0 || part >= d->part_count)
        return nnb_fail(err, err_len, RUNNER_NAME ": backward part %d of %d", part, d->part_count);
    if (d->parts[part] == NNB_CONV_PART_BWD_DATA)
        return nnb_conv_ref_backward_data(&d->geom, d->grad_y, d->w, d->dx) ? kernel_failed("bwd_data", err, err_len)
                                                                            : 0;
    return nnb_conv_ref_backward_weights(&d->geom, d->x, d->grad_y, d->dw, d->db)
               ? kernel_failed("bwd_weights", err, err_len)
               : 0;
}

/* The parts --conv-dir asks for, in order (none with --conv-dir fwd). */
static int conv_ref_backward(void *p, char *err, size_t err_len) {
    conv_ref_model *m = p;
    for (int k = 0; k < m->d.part_count; k++)
        if (conv_ref_part(p, k, err, err_len))
            return -1;
    return 0;
}

/* The forward on the first n samples: y's first n samples, the same sums in the same order as forward(). */
static int conv_ref_infer(void *p, int64_t n, char *err, size_t err_len) {
    conv_ref_model *m = p;
    nnb_conv_geom g;
    char msg[256];
    if (nnb_conv_data_infer_geom(&m->d, n, &g, msg, sizeof msg))
        return nnb_fail(err, err_len, RUNNER_NAME ": %s", msg);
    if (nnb_conv_ref_forward(&g, m->d.x, m->d.w, m->d.b, m->d.y))
        return kernel_failed("infer", err, err_len);
    m->last_infer_n = n;
    return 0;
}

static int conv_ref_params(void *p, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = nnb_conv_data_params(&((conv_ref_model *)p)->d);
    return 0;
}

static int conv_ref_outputs(void *p, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    conv_ref_model *m = p;
    *out = m->last_infer_n ? nnb_conv_data_infer_outputs(&m->d, m->last_infer_n) : nnb_conv_data_outputs(&m->d);
    return 0;
}

static int conv_ref_load_param(void *p, const nnb_tensor *value, char *err, size_t err_len) {
    return nnb_conv_data_load_param(&((conv_ref_model *)p)->d, RUNNER_NAME, value, err, err_len);
}

static int conv_ref_describe(void *p, char *buf, size_t len) {
    const conv_ref_model *m = p;
    const nnb_conv_data *d = &m->d;
    size_t used = 0;
    const char *prec = nnb_precision_name(d->precision);
    int rounded = d->precision == NNB_PRECISION_BF16 || d->precision == NNB_PRECISION_FP16;
    nnb_appendf(
        buf, len, &used,
        "{\"library\":\"plain C (kernels/conv_ref)\",\"impl\":\"reference direct loops, double "
        "accumulation\",\"kernel\":\"nnb_conv_ref\",\"isa\":\"scalar\",\"algo\":\"direct\",\"precision\":\"%s\","
        "\"data\":\"seeded fp32%s%s\",\"math\":\"fp32 products, fp64 accumulation\",\"problem\":\"%s\","
        "\"ndims\":%d,\"bias\":%s,\"backward_parts\":[",
        prec ? prec : "fp32", rounded ? " rounded to " : "", rounded ? prec : "", m->problem, d->ndims,
        d->has_bias ? "true" : "false");
    for (int k = 0; k < d->part_count; k++)
        nnb_appendf(buf, len, &used, "%s\"%s\"", k ? "," : "", nnb_conv_part_name(d->parts[k]));
    nnb_appendf(buf, len, &used, "],\"threads\":1}");
    return used < len ? 0 : -1;
}

static double conv_ref_forward_flops(void *p) { return nnb_conv_forward_flops(&((conv_ref_model *)p)->d); }
static double conv_ref_backward_flops(void *p) {
    const nnb_conv_data *d = &((conv_ref_model *)p)->d;
    return nnb_conv_backward_flops(d, d->dirs);
}

const nnb_runner_desc nnb_conv_ref_runner_desc = {
    .struct_size = sizeof(nnb_runner_desc),
    .name = RUNNER_NAME,
    .group = NNB_GROUP_CONVS,
    .device = NNB_DEVICE_CPU,
    .description = "one convolution layer (--conv), plain C direct loops with double accumulation (the reference)",
    .reference = NULL,
    .flags = NNB_FLAG_REFERENCE,
    .create = conv_ref_create,
    .forward = conv_ref_forward,
    .backward = conv_ref_backward,
    .params = conv_ref_params,
    .outputs = conv_ref_outputs,
    .describe = conv_ref_describe,
    .forward_flops = conv_ref_forward_flops,
    .backward_flops = conv_ref_backward_flops,
    .destroy = conv_ref_destroy,
    .infer = conv_ref_infer,
    .load_param = conv_ref_load_param,
    .precisions = NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32) |
                  NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16),
    .backward_part_count = conv_ref_part_count,
    .backward_part_name = conv_ref_part_name,
    .backward_part = conv_ref_part,
};
