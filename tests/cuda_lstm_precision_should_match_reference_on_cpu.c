/*
 * The hand-written CUDA LSTM engine (runners/cuda/lstm/custom_lstm.c) in bf16 and fp16 on the CPU, through the
 * emulated runtime (runners/cuda/lstm/emulation/fake_cuda.c: cublasGemmEx / cublasGemmStridedBatchedEx reading
 * 16-bit A and B exactly, fp32 C; the device fp32 -> 16-bit conversion is the real kernel source), against the
 * plain CPU references (py, py_simple, vl_py, py_dropout: double accumulation) on the same problem: the seeded
 * data rounded to the precision (nnb_lstm_data), which check.c also requires bit for bit in params().
 *
 * What the engine rounds is every GEMM operand it makes itself: h after each cell step and the gate gradients
 * after each cell backward (weights, x and hx are already representable). Tolerance and the 10x-fp32 proof:
 * cuda_precision_check.h (tol = 4 u L; measured here: bf16 about 0.5u to 1.3u, fp16 0.4u to 1.5u). The
 * LayerNorm runners likewise (LayerNorms and their parameters fp32), within 16 u L (measured up to 4.5u bf16,
 * 7.6u fp16 at L = 3).
 *
 * Also: infer(n) in bf16 (x's 16-bit copy refreshed from the fp32 input infer_io hands out, the premul GEMM as
 * cublasGemmStridedBatchedEx for n < B) gives the forward's outputs; a device older than a precision needs is
 * refused by available() with the one wording; describe() says what ran.
 */
#define _POSIX_C_SOURCE 200809L
#include "cuda_precision_check.h"
#include "custom_lstm.h"
#include "layernorm_lstm.h"
#include "nnb_cuda_precision.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int nnb_cuda_available(const nnb_config *cfg, char *reason, size_t reason_len);

static nnb_registry reg;

#define EMULATED(runner)                                                                                               \
    {                                                                                                                  \
        .infer = nnb_cu_lstm_infer, .struct_size = sizeof(nnb_runner_desc), .name = #runner, .group = NNB_GROUP_RNNS,  \
        .device = NNB_DEVICE_CUDA, .description = "emulated", .available = nnb_cuda_precision_available,               \
        .create = nnb_cu_lstm_create_##runner, .forward = nnb_cu_lstm_forward, .backward = nnb_cu_lstm_backward,       \
        .params = nnb_cu_lstm_params, .outputs = nnb_cu_lstm_outputs, .describe = nnb_cu_lstm_describe,                \
        .forward_flops = nnb_cu_lstm_forward_flops, .backward_flops = nnb_cu_lstm_backward_flops,                      \
        .destroy = nnb_cu_lstm_destroy,                                                                                \
        .precisions = NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32) |                  \
                      NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16),                   \
    }

#define EMULATED_LN(runner_name, create_fn)                                                                            \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = runner_name, .group = NNB_GROUP_RNNS,                          \
        .device = NNB_DEVICE_CUDA, .description = "emulated", .available = nnb_cuda_precision_available,               \
        .create = create_fn, .forward = nnb_ln_lstm_forward, .backward = nnb_ln_lstm_backward,                         \
        .params = nnb_ln_lstm_params, .outputs = nnb_ln_lstm_outputs, .describe = nnb_ln_lstm_describe,                \
        .forward_flops = nnb_ln_lstm_forward_flops, .backward_flops = nnb_ln_lstm_backward_flops,                      \
        .destroy = nnb_ln_lstm_destroy,                                                                                \
    }

static const nnb_runner_desc runners[] = {EMULATED(aten),
                                          EMULATED(jit),
                                          EMULATED(jit_premul),
                                          EMULATED(jit_premul_bias),
                                          EMULATED(jit_dropout),
                                          EMULATED(vl_jit),
                                          EMULATED_LN("jit_layernorm", nnb_ln_lstm_create),
                                          EMULATED_LN("jit_layernorm_decom", nnb_ln_lstm_create_decom)};

static const nnb_runner_desc *emulated(const char *name) {
    for (size_t i = 0; i < sizeof runners / sizeof *runners; i++)
        if (!strcmp(runners[i].name, name))
            return &runners[i];
    return NULL;
}

/* runner in bf16 and fp16 against reference (cuda_precision_check.h): factor 4 for the engine, 16 for the
 * LayerNorm runners (their LayerNorms amplify rounding, as their fp32 check_tolerance allows for too). */
static void check_precisions(const char *runner, const char *reference, nnb_config cfg) {
    double factor = strstr(runner, "layernorm") ? 16.0 : 4.0;
    static const int lows[] = {NNB_PRECISION_BF16, NNB_PRECISION_FP16};
    const nnb_loaded_runner *ref = nnb_registry_find_on(&reg, reference, NNB_DEVICE_CPU);
    if (!ref) {
        CHECK_MSG(strcmp(reference, "py") != 0, "reference py not found");
        printf("note: reference %s not built here; %s not checked\n", reference, runner);
        return;
    }
    cuda_precision_check(emulated(runner), ref->desc, cfg, factor, lows, 2);
}

static void check_refusal(void) {
    nnb_config cfg = nnb_test_lstm_config(3, 2, 4, 8, 1, 5);
    char why[256] = "";
    setenv("NNB_FAKE_CUDA_CC", "75", 1);
    cfg.precision = NNB_PRECISION_BF16;
    CHECK(nnb_cuda_precision_available(&cfg, why, sizeof why) == 0);
    CHECK_STR_CONTAINS(why, "bf16 needs a GPU of compute capability 8.0 or newer; device 0 is 7.5");
    cfg.precision = NNB_PRECISION_TF32;
    CHECK(nnb_cuda_precision_available(&cfg, why, sizeof why) == 0);
    CHECK_STR_CONTAINS(why, "tf32 needs a GPU of compute capability 8.0 or newer; device 0 is 7.5");
    cfg.precision = NNB_PRECISION_FP16; /* Turing has fp16 tensor cores */
    CHECK(nnb_cuda_precision_available(&cfg, why, sizeof why) == 1);
    setenv("NNB_FAKE_CUDA_CC", "60", 1);
    CHECK(nnb_cuda_precision_available(&cfg, why, sizeof why) == 0);
    CHECK_STR_CONTAINS(why, "fp16 needs a GPU of compute capability 7.0 or newer; device 0 is 6.0");
    cfg.precision = NNB_PRECISION_FP32;
    CHECK(nnb_cuda_precision_available(&cfg, why, sizeof why) == 1);
    unsetenv("NNB_FAKE_CUDA_CC");
    setenv("NNB_FAKE_CUDA_NO_DEVICE", "1", 1); /* no device: the reason stays the no-device one */
    cfg.precision = NNB_PRECISION_BF16;
    CHECK(nnb_cuda_precision_available(&cfg, why, sizeof why) == 0);
    CHECK_MSG(strncmp(why, "cuda: no device", 15) == 0, "reason: %s", why);
    unsetenv("NNB_FAKE_CUDA_NO_DEVICE");
}

/* The tensor named name of a list, or NULL. */
static const nnb_tensor *named(nnb_tensor_list l, const char *name) {
    for (int i = 0; i < l.count; i++)
        if (!strcmp(l.items[i].name, name))
            return &l.items[i];
    return NULL;
}

/* infer(n) in bf16 against the forward of the same model: the same schedule on the first n rows, so in the
 * emulation (double accumulation per element) y, hy and cy of those rows are bit-identical. n < B takes the
 * premul GEMM as cublasGemmStridedBatchedEx over 16-bit operands (strides in elements). */
static void check_infer_bf16(const char *runner) {
    nnb_config cfg = nnb_test_lstm_config(4, 5, 7, 9, 2, 11);
    cfg.precision = NNB_PRECISION_BF16;
    const nnb_runner_desc *d = emulated(runner);
    char err[512] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s bf16: create: %s", runner, err);
    if (!m)
        return;
    nnb_tensor_list out;
    CHECK(d->forward(m, err, sizeof err) == 0 && d->outputs(m, &out, err, sizeof err) == 0);
    const char *names[] = {"y", "hy", "cy"};
    const int64_t steps[] = {4, 2, 2}, B = 5, H = 9;
    float *fwd[3];
    for (int i = 0; i < 3; i++) {
        const nnb_tensor *t = named(out, names[i]);
        size_t n = (size_t)(steps[i] * B * H);
        fwd[i] = (float *)malloc(n * sizeof(float));
        memcpy(fwd[i], t->data, n * sizeof(float));
    }
    const int64_t ns[] = {5, 3, 1};
    for (int k = 0; k < 3; k++) {
        int64_t n = ns[k];
        CHECK_MSG(d->infer(m, n, err, sizeof err) == 0, "%s bf16 infer(%lld): %s", runner, (long long)n, err);
        CHECK(d->outputs(m, &out, err, sizeof err) == 0);
        for (int i = 0; i < 3; i++) {
            const nnb_tensor *t = named(out, names[i]);
            const float *got = (const float *)t->data;
            int same = t->shape[1] == n;
            for (int64_t r = 0; same && r < steps[i]; r++)
                same = !memcmp(got + r * n * H, fwd[i] + r * B * H, sizeof(float) * (size_t)(n * H));
            CHECK_MSG(same, "%s bf16: infer(%lld)'s %s differs from the forward's first %lld rows", runner,
                      (long long)n, names[i], (long long)n);
        }
    }
    for (int i = 0; i < 3; i++)
        free(fwd[i]);
    d->destroy(m);
}

static void check_describe(int precision, const char *needle) {
    nnb_config cfg = nnb_test_lstm_config(3, 2, 4, 8, 1, 5);
    cfg.precision = precision;
    char err[512] = "", buf[4096] = "";
    void *m = nnb_cu_lstm_create_jit_premul(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create: %s", err);
    if (!m)
        return;
    CHECK(nnb_cu_lstm_describe(m, buf, sizeof buf) == 0);
    cJSON *json = cJSON_Parse(buf);
    CHECK_MSG(json != NULL, "describe() is not JSON: %s", buf);
    cJSON_Delete(json);
    CHECK_STR_CONTAINS(buf, needle);
    nnb_cu_lstm_destroy(m);
}

int main(void) {
    nnb_test_load_runners(&reg);
    static const char *const fixed[] = {"aten", "jit", "jit_premul", "jit_premul_bias"};
    for (size_t r = 0; r < sizeof fixed / sizeof *fixed; r++) {
        check_precisions(fixed[r], "py", nnb_test_lstm_config(5, 3, 10, 13, 1, 11));
        check_precisions(fixed[r], "py", nnb_test_lstm_config(5, 3, 10, 13, 3, 11));
    }
    nnb_config cfg = nnb_test_lstm_config(4, 3, 7, 37, 2, 11);
    cfg.fuser = "old";
    cfg.executor = "graph";
    check_precisions("jit", "py", cfg);
    cfg.fuser = "none";
    check_precisions("jit_premul_bias", "py", cfg);
    /* jit_simple (jit's schedule) is not here: it rounds its own upstream gradient grad_hy to the precision, which
     * py_simple (runners/cpu/fast) must do too before the two can be compared bit for bit in params() */
    check_precisions("jit_dropout", "py_dropout", nnb_test_lstm_config(5, 3, 6, 9, 3, 11));
    check_precisions("vl_jit", "vl_py", nnb_test_lstm_config(0, 4, 5, 6, 1, 11)); /* lengths 30..99 */
    for (int64_t l = 1; l <= 3; l += 2) { /* LayerNorm LSTM: LayerNorms and their parameters fp32 */
        nnb_config ln = nnb_test_lstm_config(4, 3, 7, 10, l, 11);
        check_precisions("jit_layernorm", "py_layernorm", ln);
        ln.executor = "graph";
        check_precisions("jit_layernorm_decom", "py_layernorm", ln);
    }

    check_infer_bf16("jit_premul");
    check_infer_bf16("jit");
    check_describe(NNB_PRECISION_BF16, "cublasGemmEx (bf16 A and B, fp32 C, CUBLAS_COMPUTE_32F)");
    check_describe(NNB_PRECISION_FP16, "\"precision\":\"fp16\"");
    check_describe(NNB_PRECISION_TF32, "\"tf32\":true");
    check_refusal();
    int rc = nnb_test_finish();
    nnb_registry_free(&reg);
    return rc;
}
