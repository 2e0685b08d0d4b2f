/*
 * Test plugin "precision": a runner declaring every precision and its reference, with a known rounding error.
 *   dtype_scale      rnns/cpu, hidden: y = x * 1.1 rounded to the run's precision (what a runner storing
 *                    its output in bf16 or fp16 does); available() refuses what this CPU cannot run, in the
 *                    shared wording (nnb_cpu_precision_available: tf32 always, bf16/fp16 without the ISA)
 *   dtype_scale_ref  rnns/cpu, hidden reference: y = x * 1.1 in double, rounded to fp32 only
 * Both see the same problem: x (2, 3) = 0.1 * i + 0.01 rounded to the run's precision (params() shows it), so
 * --check measures only the output's rounding: a max_rel error of at most u (2^-8 in bf16).
 */
#include <nnbench/runner.h>

#include "nnb_precision.h"

#include <stdio.h>
#include <stdlib.h>

#define EVERY_PRECISION                                                                                                \
    (NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32) |                                   \
     NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16))

typedef struct scale_model {
    int precision, rounds_output;
    float x[6], y[6];
    nnb_tensor in[1], out[1];
} scale_model;

static void view(nnb_tensor *t, const char *name, float *data) {
    *t = (nnb_tensor){.name = name, .dtype = NNB_F32, .ndim = 2, .shape = {2, 3}, .data = data};
}

static void *create(const nnb_config *cfg, int rounds_output, char *err, size_t err_len) {
    scale_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    m->precision = cfg->precision;
    m->rounds_output = rounds_output;
    for (int i = 0; i < 6; i++)
        m->x[i] = 0.1f * (float)i + 0.01f; // (2, 3)
    nnb_round_to_precision(m->x, 6, cfg->precision);
    view(&m->in[0], "x", m->x);
    view(&m->out[0], "y", m->y);
    return m;
}

static void *scale_create(const nnb_config *cfg, char *err, size_t err_len) { return create(cfg, 1, err, err_len); }
static void *ref_create(const nnb_config *cfg, char *err, size_t err_len) { return create(cfg, 0, err, err_len); }

static int scale_available(const nnb_config *cfg, char *reason, size_t reason_len) {
    return nnb_cpu_precision_available(cfg->precision, reason, reason_len);
}

static int scale_forward(void *model, char *err, size_t err_len) {
    (void)err, (void)err_len;
    scale_model *m = model;
    for (int i = 0; i < 6; i++)
        m->y[i] = (float)((double)m->x[i] * 1.1);
    if (m->rounds_output)
        nnb_round_to_precision(m->y, 6, m->precision == NNB_PRECISION_TF32 ? NNB_PRECISION_FP32 : m->precision);
    return 0;
}

static int scale_params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = (nnb_tensor_list){1, ((scale_model *)model)->in};
    return 0;
}

static int scale_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = (nnb_tensor_list){1, ((scale_model *)model)->out};
    return 0;
}

static void scale_destroy(void *model) { free(model); }

#define SCALE_RUNNER(NAME, DESC, REF, FLAGS, AVAILABLE, CREATE)                                                        \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = NAME, .group = NNB_GROUP_RNNS, .device = NNB_DEVICE_CPU,       \
        .description = DESC, .reference = REF, .flags = NNB_FLAG_HIDDEN | (FLAGS), .available = AVAILABLE,             \
        .create = CREATE, .forward = scale_forward, .params = scale_params, .outputs = scale_outputs,                  \
        .destroy = scale_destroy, .precisions = EVERY_PRECISION,                                                       \
    }

static const nnb_runner_desc runners[] = {
    SCALE_RUNNER("dtype_scale", "y = 1.1 x rounded to the precision", "dtype_scale_ref", 0, scale_available,
                 scale_create),
    SCALE_RUNNER("dtype_scale_ref", "y = 1.1 x in double", NULL, NNB_FLAG_REFERENCE, NULL, ref_create),
};

static const nnb_plugin plugin = {
    NNB_ABI_MAJOR, NNB_ABI_MINOR, sizeof(nnb_plugin), "precision", (int)(sizeof runners / sizeof *runners), runners};

NNB_DEFINE_PLUGIN(plugin)
