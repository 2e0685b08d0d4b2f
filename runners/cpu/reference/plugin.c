/*
 * Plugin nnb_cpu_reference: the plain C reference LSTM runners every other LSTM
 * runner is checked against.
 *   py     (rnns):    fixed length T = --seqLength.
 *   vl_py  (vl_rnns): packed variable-length batch, lengths from nnb_lstm_data
 *                     (uniform in 30..99, T = max length); --seqLength ignored.
 * Both run the float instantiation of lstm_ref on the shared seeded buffers of
 * nnb_lstm_data. Fusers and executors are JIT/CUDA notions; this eager code has
 * neither, as fastrnns' py runner, and describe() says so: every --fuser name is
 * accepted, an executor other than eager refused (nnb_check_fuser_executor).
 * py also serves (ABI 1.2): infer(n) is the same forward on the first n sequences (x columns packed into
 * (T, n, I), states into (L, n, H)), bit-identical to the forward's columns; load_param copies into the
 * arrays the forward reads (it transposes the weights on every call, so there is no other copy).
 */
#include "lstm_data.h"
#include "lstm_infer.h"
#include "lstm_ref.h"
#include "nnb_support.h"

#include <nnbench/runner.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct ref_model {
    nnb_lstm_data data;  /* inputs, parameters, outputs (shared layout) */
    nnb_ref_lstm_f lstm; /* saved activations and scratch */
    nnb_ref_lstm_params_f params;
    nnb_ref_lstm_grads_f grads;
    int threads;
    nnb_lstm_infer_bufs inf; /* infer(n)'s packed inputs and outputs (py only) */
    int inferred;            /* outputs() lists infer()'s results: the last call was infer(), not forward() */
} ref_model;

static void ref_destroy(void *model) {
    ref_model *m = (ref_model *)model;
    if (!m)
        return;
    nnb_ref_lstm_free_f(&m->lstm);
    nnb_lstm_infer_bufs_free(&m->inf);
    nnb_lstm_data_free(&m->data);
    free(m);
}

static void *ref_create(const nnb_config *cfg, int variable, char *err, size_t err_len) {
    /* No fusion to choose, and eager only: a CUDA executor is refused, not ignored. */
    if (nnb_check_fuser_executor(variable ? "vl_py" : "py", cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    ref_model *m = (ref_model *)calloc(1, sizeof *m);
    if (!m) {
        nnb_fail(err, err_len, "out of memory");
        return NULL;
    }
    nnb_lstm_data *d = &m->data;
    if (nnb_lstm_data_init(d, cfg, variable, 0, err, err_len) ||
        nnb_ref_lstm_init_f(&m->lstm, d->T, d->B, d->I, d->H, d->L, d->lengths, err, err_len) ||
        (!variable && nnb_lstm_infer_bufs_init(&m->inf, d, NNB_INFER_PACK_X | NNB_INFER_PACK_STATES, err, err_len))) {
        ref_destroy(m);
        return NULL;
    }
    m->params = (nnb_ref_lstm_params_f){d->w_ih, d->w_hh, d->b_ih, d->b_hh};
    m->grads = (nnb_ref_lstm_grads_f){d->dw_ih, d->dw_hh, d->db_ih, d->db_hh};
    m->threads = cfg->threads;
    return m;
}

static void *py_create(const nnb_config *cfg, char *err, size_t err_len) { return ref_create(cfg, 0, err, err_len); }
static void *vl_py_create(const nnb_config *cfg, char *err, size_t err_len) { return ref_create(cfg, 1, err, err_len); }

static int ref_forward(void *model, char *err, size_t err_len) {
    (void)err, (void)err_len;
    ref_model *m = (ref_model *)model;
    nnb_lstm_data *d = &m->data;
    nnb_set_threads(m->threads);
    nnb_ref_lstm_forward_f(&m->lstm, &m->params, d->x, d->hx, d->cx, d->y, d->hy, d->cy);
    m->inferred = 0;
    return 0;
}

/* The forward on the first n sequences, into infer()'s own outputs. */
static int ref_infer(void *model, int64_t n, char *err, size_t err_len) {
    ref_model *m = (ref_model *)model;
    nnb_lstm_data *d = &m->data;
    if (nnb_lstm_infer_check_batch(d, n, "py", err, err_len))
        return -1;
    const float *x, *hx, *cx; /* (T, n, I), (L, n, H) */
    nnb_lstm_infer_inputs(&m->inf, d, n, &x, &hx, &cx);
    nnb_set_threads(m->threads);
    nnb_ref_lstm_infer_f(&m->lstm, &m->params, n, x, hx, cx, m->inf.y, m->inf.hy, m->inf.cy);
    nnb_lstm_infer_done(&m->inf, d, n);
    m->inferred = 1;
    return 0;
}

/* The forward reads the PyTorch arrays directly: copying into them is all. */
static int ref_load_param(void *model, const nnb_tensor *value, char *err, size_t err_len) {
    int64_t layer;
    nnb_lstm_param_kind kind;
    return nnb_lstm_load_param(&((ref_model *)model)->data, value, "py", &layer, &kind, err, err_len);
}

static int ref_backward(void *model, char *err, size_t err_len) {
    ref_model *m = (ref_model *)model;
    nnb_lstm_data *d = &m->data;
    nnb_set_threads(m->threads);
    if (nnb_ref_lstm_backward_f(&m->lstm, &m->params, d->x, d->grad_y, d->dx, d->dhx, d->dcx, &m->grads))
        return nnb_fail(err, err_len, "backward called before forward");
    return 0;
}

static int ref_params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    *out = nnb_lstm_data_params(&((ref_model *)model)->data);
    return 0;
}

static int ref_outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err, (void)err_len;
    ref_model *m = (ref_model *)model;
    *out = m->inferred ? nnb_lstm_infer_outputs(&m->inf) : nnb_lstm_data_outputs(&m->data);
    return 0;
}

static int ref_describe(void *model, char *buf, size_t buf_len) {
    const ref_model *m = (const ref_model *)model;
#ifdef _OPENMP
    const char *openmp = "true";
#else
    const char *openmp = "false";
#endif
    int n = snprintf(buf, buf_len,
                     "{\"implementation\":\"plain C reference\",\"precision\":\"fp32\",\"openmp\":%s,\"threads\":%d,"
                     "\"gemm_isa\":\"%s\",\"fuser\":\"none (eager)\",\"executor\":\"eager\","
                     "\"variable_length\":%s,\"num_layers\":%lld}",
                     openmp, m->threads, nnb_ref_lstm_isa(), m->data.variable ? "true" : "false", (long long)m->data.L);
    return n < 0 || (size_t)n >= buf_len ? -1 : 0;
}

static double ref_forward_flops(void *model) { return nnb_lstm_forward_flops(&((ref_model *)model)->data); }
static double ref_backward_flops(void *model) { return nnb_lstm_backward_flops(&((ref_model *)model)->data); }

/* A reference computes plainly in fp32/fp64 on the data rounded to the run's precision, so it serves --check in
 * every precision (docs/precision.md). */
#define EVERY_PRECISION                                                                                                \
    (NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32) |                                   \
     NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16))

#define REF_RUNNER(NAME, GROUP, DESCRIPTION, CREATE, INFER, LOAD_PARAM)                                                \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = NAME, .group = GROUP, .device = NNB_DEVICE_CPU,                \
        .description = DESCRIPTION, .reference = NULL, .flags = NNB_FLAG_REFERENCE, .create = CREATE,                  \
        .forward = ref_forward, .backward = ref_backward, .params = ref_params, .outputs = ref_outputs,                \
        .describe = ref_describe, .forward_flops = ref_forward_flops, .backward_flops = ref_backward_flops,            \
        .destroy = ref_destroy, .infer = INFER, .load_param = LOAD_PARAM, .precisions = EVERY_PRECISION,               \
    }

static const nnb_runner_desc runners[] = {
    REF_RUNNER("py", NNB_GROUP_RNNS, "plain C reference LSTM (PyTorch nn.LSTM semantics), fp32", py_create, ref_infer,
               ref_load_param),
    REF_RUNNER("vl_py", NNB_GROUP_VL_RNNS,
               "plain C reference LSTM on a packed variable-length batch (lengths 30..99), fp32", vl_py_create, NULL,
               NULL),
};

static const nnb_plugin plugin = {
    .abi_major = NNB_ABI_MAJOR,
    .abi_minor = NNB_ABI_MINOR,
    .struct_size = sizeof(nnb_plugin),
    .name = "cpu_reference",
    .runner_count = (int)(sizeof runners / sizeof *runners),
    .runners = runners,
};

NNB_DEFINE_PLUGIN(plugin)
