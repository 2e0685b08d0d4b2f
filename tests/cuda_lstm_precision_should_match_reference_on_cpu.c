/*
 * The hand-written CUDA LSTM engine (runners/cuda/lstm/custom_lstm.c) in bf16 and fp16 on the CPU, through the
 * emulated runtime (runners/cuda/lstm/emulation/fake_cuda.c: cublasGemmEx / cublasGemmStridedBatchedEx reading
 * 16-bit A and B exactly, fp32 C; the device fp32 -> 16-bit conversion is the real kernel source), against the
 * plain CPU references (py, py_simple, vl_py, py_dropout: double accumulation) on the same problem: the seeded
 * data rounded to the precision (nnb_lstm_data), which check.c also requires bit for bit in params().
 *
 * What the engine rounds is every GEMM operand it makes itself: h after each cell step and the gate gradients
 * after each cell backward (weights, x and hx are already representable). Each rounding is a relative
 * perturbation of at most u (unit roundoff: bf16 2^-8, fp16 2^-11) of one GEMM input; accumulation is fp32, so a
 * GEMM output with both operands rounded moves by at most 2u * sum |a_i b_i|. Along the sequence the cell's gains
 * stay below 1 (sigmoid' <= 1/4, tanh' <= 1, forget gate < 1), so a step's rounding does not compound with T
 * (measured here: T = 99 gives 0.44u, T = 5 about 0.5u); stacked layers add theirs. Hence the tolerance on every
 * output and gradient, by the normwise relative error check.c measures:
 *     tol = 4 * u * L     (2u per GEMM, doubled for the backward's chain through the rounded dgates)
 * i.e. bf16 0.0156 * L, fp16 0.00195 * L; the largest errors measured are near u (bf16 1.1u, fp16 1.5u at L = 3).
 * Proof that 16 bits really ran: the largest error over all tensors is at least 10x the fp32 run's on the same
 * problem (cublasSgemm path, emulated in double).
 *
 * Also: a device older than a precision needs is refused by available() with the one wording, and
 * describe() says what ran.
 */
#define _POSIX_C_SOURCE 200809L
#include "custom_lstm.h"
#include "nnb_cuda_precision.h"
#include "nnb_precision.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int nnb_cuda_available(const nnb_config *cfg, char *reason, size_t reason_len);

static nnb_registry reg;

#define EMULATED(runner)                                                                                               \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = #runner, .group = NNB_GROUP_RNNS, .device = NNB_DEVICE_CUDA,   \
        .description = "emulated", .available = nnb_cuda_precision_available, .create = nnb_cu_lstm_create_##runner,   \
        .forward = nnb_cu_lstm_forward, .backward = nnb_cu_lstm_backward, .params = nnb_cu_lstm_params,                \
        .outputs = nnb_cu_lstm_outputs, .describe = nnb_cu_lstm_describe, .forward_flops = nnb_cu_lstm_forward_flops,  \
        .backward_flops = nnb_cu_lstm_backward_flops, .destroy = nnb_cu_lstm_destroy,                                  \
        .precisions = NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32) |                  \
                      NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16),                   \
    }

static const nnb_runner_desc runners[] = {EMULATED(aten),        EMULATED(jit),
                                          EMULATED(jit_premul),  EMULATED(jit_premul_bias),
                                          EMULATED(jit_dropout), EMULATED(vl_jit)};

static const nnb_runner_desc *emulated(const char *name) {
    for (size_t i = 0; i < sizeof runners / sizeof *runners; i++)
        if (!strcmp(runners[i].name, name))
            return &runners[i];
    return NULL;
}

static double tolerance(const nnb_config *cfg) {
    return 4.0 * nnb_precision_unit_roundoff(cfg->precision) * (double)cfg->num_layers;
}

/* Runs runner against reference at cfg (tol, or nnb_check_runner's default with tol 0) and returns the largest
 * normwise relative error over every compared tensor; -1 when it could not run. */
static double largest_error(const nnb_runner_desc *got, const nnb_runner_desc *ref, const nnb_config *cfg, double tol,
                            const char *what) {
    nnb_runner_result res;
    memset(&res, 0, sizeof res);
    char err[512] = "";
    int rc = nnb_check_runner(got, ref, cfg, tol, &res, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: %s", what, err);
    if (rc)
        return -1;
    CHECK_MSG(res.check_count >= 3, "%s compared only %d tensors", what, res.check_count);
    double worst = 0;
    for (int i = 0; i < res.check_count; i++) {
        const nnb_tensor_check *c = &res.checks[i];
        CHECK_MSG(c->pass, "%s: %s max_rel %.3g > tol %.3g", what, c->name, c->max_rel_err, c->tolerance);
        if (c->max_rel_err > worst)
            worst = c->max_rel_err;
    }
    free(res.checks);
    return worst;
}

/* runner in bf16 and fp16 against reference: within 4 u L, and at least 10x the fp32 run's error. */
static void check_precisions(const char *runner, const char *reference, nnb_config cfg) {
    const nnb_runner_desc *got = emulated(runner);
    const nnb_loaded_runner *ref = nnb_registry_find_on(&reg, reference, NNB_DEVICE_CPU);
    if (!ref) {
        CHECK_MSG(strcmp(reference, "py") != 0, "reference py not found");
        printf("note: reference %s not built here; %s not checked\n", reference, runner);
        return;
    }
    char what[256];
    cfg.precision = NNB_PRECISION_FP32;
    snprintf(what, sizeof what, "%s fp32 vs %s (L=%lld)", runner, reference, (long long)cfg.num_layers);
    double e32 = largest_error(got, ref->desc, &cfg, 0, what);
    const int lows[] = {NNB_PRECISION_BF16, NNB_PRECISION_FP16};
    for (int i = 0; i < 2; i++) {
        cfg.precision = lows[i];
        double tol = tolerance(&cfg);
        snprintf(what, sizeof what, "%s %s vs %s (L=%lld, fuser %s)", runner, nnb_precision_name(lows[i]), reference,
                 (long long)cfg.num_layers, cfg.fuser ? cfg.fuser : "te");
        double e = largest_error(got, ref->desc, &cfg, tol, what);
        printf("%-52s error %.3g (tol %.3g), fp32 error %.3g, ratio %.0f\n", what, e, tol, e32,
               e32 > 0 ? e / e32 : 0.0);
        CHECK_MSG(e >= 10 * e32, "%s: error %.3g is not 10x the fp32 run's %.3g: did 16 bits really run?", what, e,
                  e32);
    }
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

    check_describe(NNB_PRECISION_BF16, "cublasGemmEx (bf16 A and B, fp32 C, CUBLAS_COMPUTE_32F)");
    check_describe(NNB_PRECISION_FP16, "\"precision\":\"fp16\"");
    check_describe(NNB_PRECISION_TF32, "\"tf32\":true");
    check_refusal();
    int rc = nnb_test_finish();
    nnb_registry_free(&reg);
    return rc;
}
