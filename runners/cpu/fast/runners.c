/* nnb_cpu_fast: the fast CPU LSTM runners (fastrnns names) on lstm_engine. */
#include "lstm_engine.h"
#include "py_simple.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fast_model {
    const char *name;
    lstm_engine e;
    int inferred; /* outputs() lists infer()'s results: the last run was infer(), not forward() */
} fast_model;

/* jit_simple's views: the data's, without y and grad_y, plus grad_hy. */
static int build_simple_views(lstm_engine *e, char *err, size_t err_len) {
    nnb_tensor_list p = nnb_lstm_data_params(&e->d), o = nnb_lstm_data_outputs(&e->d);
    e->simple_params = nnb_alloc_bytes(sizeof(nnb_tensor) * (size_t)(p.count + 1));
    e->simple_outputs = nnb_alloc_bytes(sizeof(nnb_tensor) * (size_t)o.count);
    if (!e->simple_params || !e->simple_outputs)
        return nnb_fail(err, err_len, "out of memory");
    int n = 0;
    for (int i = 0; i < p.count; i++)
        if (strcmp(p.items[i].name, "grad_y"))
            e->simple_params[n++] = p.items[i];
    nnb_tensor g = {.name = "grad_hy", .dtype = NNB_F32, .ndim = 3, .shape = {1, e->B, e->H}, .data = e->grad_hy};
    e->simple_params[n++] = g;
    e->simple_param_count = n;
    n = 0;
    for (int i = 0; i < o.count; i++)
        if (strcmp(o.items[i].name, "y"))
            e->simple_outputs[n++] = o.items[i];
    e->simple_output_count = n;
    return 0;
}

static void *create_with(const nnb_config *cfg, const char *name, lstm_engine_opts o, char *err, size_t err_len) {
    /* Every fuser (aten runs unfused by definition, but a fuser name is still checked); CPU runners run eagerly. */
    if (nnb_check_fuser_executor(name, cfg, nnb_every_fuser, nnb_eager_only, err, err_len))
        return NULL;
    if (o.simple && cfg->num_layers > 1) {
        nnb_fail(err, err_len, "%s is a single-layer cell loop by definition: --numLayers %lld not supported", name,
                 (long long)cfg->num_layers);
        return NULL;
    }
    fast_model *m = nnb_alloc_bytes(sizeof *m);
    if (!m) {
        nnb_fail(err, err_len, "out of memory");
        return NULL;
    }
    m->name = name;
    if (lstm_engine_create(&m->e, cfg, &o, err, err_len) || (o.simple && build_simple_views(&m->e, err, err_len))) {
        lstm_engine_destroy(&m->e);
        nnb_free(m);
        return NULL;
    }
    const char *forced = getenv("NNB_CPU_GEMM");
    if (m->e.gemm == NNB_GEMM_BF16_PORTABLE && !(forced && *forced)) /* never timed silently */
        fprintf(stderr,
                "%s: bf16 GEMMs run on the PORTABLE scalar emulation (this CPU has no avx512_bf16): correct, but "
                "its times say nothing about bf16 hardware\n",
                name);
    return m;
}

#define CREATE_FN(fn, rname, ...)                                                                                      \
    static void *fn(const nnb_config *cfg, char *err, size_t err_len) {                                                \
        lstm_engine_opts o = {__VA_ARGS__};                                                                            \
        return create_with(cfg, rname, o, err, err_len);                                                               \
    }

CREATE_FN(create_aten, "aten", .mode = MODE_ATEN, .force_unfused = 1, .infer = 1)
CREATE_FN(create_jit, "jit", .mode = MODE_JIT, .infer = 1)
CREATE_FN(create_premul, "jit_premul", .mode = MODE_PREMUL, .infer = 1)
CREATE_FN(create_premul_bias, "jit_premul_bias", .mode = MODE_PREMUL_BIAS, .infer = 1)
CREATE_FN(create_simple, "jit_simple", .mode = MODE_JIT, .simple = 1)
CREATE_FN(create_multilayer, "jit_multilayer", .mode = MODE_JIT, .infer = 1)
CREATE_FN(create_vl, "vl_jit", .mode = MODE_PREMUL, .variable = 1)

static int forward(void *model, char *err, size_t err_len) {
    (void)err;
    (void)err_len;
    fast_model *m = model;
    m->inferred = 0;
    return lstm_engine_forward(&m->e);
}

/* ABI 1.2: the forward on the first n sequences, in buffers of its own (lstm_engine.h). */
static int infer(void *model, int64_t n, char *err, size_t err_len) {
    fast_model *m = model;
    if (nnb_lstm_infer_check_batch(&m->e.d, n, m->name, err, err_len))
        return -1;
    m->inferred = 1;
    return lstm_engine_infer(&m->e, n);
}

static int load_param(void *model, const nnb_tensor *value, char *err, size_t err_len) {
    fast_model *m = model;
    return lstm_engine_load_param(&m->e, value, m->name, err, err_len);
}

static int backward(void *model, char *err, size_t err_len) {
    (void)err;
    (void)err_len;
    fast_model *m = model;
    m->inferred = 0; /* outputs(): the training forward's and the gradients again */
    return lstm_engine_backward(&m->e);
}

static int zero_grad(void *model, char *err, size_t err_len) {
    (void)err;
    (void)err_len;
    nnb_lstm_data_zero_grads(&((fast_model *)model)->e.d);
    return 0;
}

static int params(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err;
    (void)err_len;
    lstm_engine *e = &((fast_model *)model)->e;
    if (e->simple) {
        out->count = e->simple_param_count;
        out->items = e->simple_params;
    } else {
        *out = nnb_lstm_data_params(&e->d);
    }
    return 0;
}

static int outputs(void *model, nnb_tensor_list *out, char *err, size_t err_len) {
    (void)err;
    (void)err_len;
    lstm_engine *e = &((fast_model *)model)->e;
    if (((fast_model *)model)->inferred) {
        *out = nnb_lstm_infer_outputs(&e->inf->io);
    } else if (e->simple) {
        out->count = e->simple_output_count;
        out->items = e->simple_outputs;
    } else {
        *out = nnb_lstm_data_outputs(&e->d);
    }
    return 0;
}

static int describe(void *model, char *buf, size_t len) {
    fast_model *m = model;
    return lstm_engine_describe(&m->e, m->name, buf, len);
}

static double fwd_flops(void *model) { return nnb_lstm_forward_flops(&((fast_model *)model)->e.d); }
static double bwd_flops(void *model) { return nnb_lstm_backward_flops(&((fast_model *)model)->e.d); }

static void destroy(void *model) {
    if (!model)
        return;
    lstm_engine_destroy(&((fast_model *)model)->e);
    nnb_free(model);
}

/* jit_simple (and py_simple) are single-layer by definition: say so before create. */
int fast_single_layer_available(const nnb_config *cfg, char *reason, size_t reason_len) {
    if (cfg->num_layers <= 1)
        return 1;
    nnb_fail(reason, reason_len, "single-layer by definition: --numLayers %lld not supported",
             (long long)cfg->num_layers);
    return 0;
}

/* fp32, and bf16 (bf16 GEMM operands, fp32 accumulation and cell math) on every CPU: avx512_bf16 where the CPU has
 * it, else the portable emulation, which describe() ("gemm") and a stderr line name. fp16: not offered. */
#define FAST_PRECISIONS (NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_BF16))

/* serves: 1 for the fixed-length runners that have infer() and load_param() (ABI 1.2). */
#define FAST_RUNNER(rname, rgroup, desc, ref, fl, create_fn, serves)                                                   \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = rname, .group = rgroup, .device = NNB_DEVICE_CPU,              \
        .description = desc, .reference = ref, .flags = fl,                                                            \
        .available = ((fl)&NNB_FLAG_SINGLE_LAYER) ? fast_single_layer_available : NULL, .create = create_fn,           \
        .forward = forward, .backward = backward, .zero_grad = zero_grad, .params = params, .outputs = outputs,        \
        .describe = describe, .forward_flops = fwd_flops, .backward_flops = bwd_flops, .destroy = destroy,             \
        .infer = (serves) ? infer : NULL, .load_param = (serves) ? load_param : NULL, .precisions = FAST_PRECISIONS    \
    }

static const nnb_runner_desc runners[] = {
    FAST_RUNNER("aten", NNB_GROUP_RNNS, "unfused LSTM: per-step GEMMs, one pass per pointwise op", "py", 0, create_aten,
                1),
    FAST_RUNNER("jit", NNB_GROUP_RNNS, "LSTM with per-step GEMMs and one fused cell pass (--fuser)", "py", 0,
                create_jit, 1),
    FAST_RUNNER("jit_premul", NNB_GROUP_RNNS, "LSTM with x.W_ih^T premultiplied for all steps", "py", 0, create_premul,
                1),
    FAST_RUNNER("jit_premul_bias", NNB_GROUP_RNNS, "premul LSTM with b_ih folded into the premultiplication", "py", 0,
                create_premul_bias, 1),
    FAST_RUNNER("jit_simple", NNB_GROUP_RNNS, "single-layer cell loop returning the final (h, c)", "py_simple",
                NNB_FLAG_SINGLE_LAYER, create_simple, 0),
    FAST_RUNNER("jit_multilayer", NNB_GROUP_RNNS, "fused LSTM over --numLayers layers", "py", 0, create_multilayer, 1),
    FAST_RUNNER("vl_jit", NNB_GROUP_VL_RNNS, "variable-length LSTM over the packed, length-sorted batch", "vl_py", 0,
                create_vl, 0),
    PY_SIMPLE_RUNNER,
};

static const nnb_plugin plugin = {.abi_major = NNB_ABI_MAJOR,
                                  .abi_minor = NNB_ABI_MINOR,
                                  .struct_size = sizeof(nnb_plugin),
                                  .name = "cpu_fast",
                                  .runner_count = (int)(sizeof runners / sizeof *runners),
                                  .runners = runners};

NNB_DEFINE_PLUGIN(plugin)
