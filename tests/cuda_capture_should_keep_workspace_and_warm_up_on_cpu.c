/*
 * How the hand-written CUDA LSTM runners (runners/cuda/lstm) drive cuBLAS and graph capture, on the emulated
 * runtime (runners/cuda/lstm/emulation/fake_cuda.h), which counts what a real GPU would punish:
 * - cublasSetStream resets a handle's workspace to cuBLAS's default pool: no cuBLAS call, eager or captured,
 *   may run on that pool (the fixed 32 MiB workspace must be set again after every stream change), else
 *   capture would allocate;
 * - with --executor graph no cuBLAS call nor kernel launch inside a capture may be the first of its kind
 *   (lazy loading, library set-up): forward and backward run once eagerly before the capture;
 * - a cuBLAS call failing inside a capture gives one message naming the runner, the failed call, file and line;
 * - --cuda-device N: the runner selects device N (and describes it), a device that does not exist is
 *   reported unavailable with the reason, and create fails with the same reason.
 * Every runner is exercised in fp32 and in bf16 (ABI 1.3: cublasGemmEx and the device conversion kernel must
 * keep the same discipline).
 * Outputs against the CPU references are cuda_lstm_engine_should_match_reference_on_cpu's job.
 */
#define _POSIX_C_SOURCE 200809L
#include "custom_lstm.h"
#include "emulation/fake_cuda.h"
#include "layernorm_lstm.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

int nnb_cuda_available(const nnb_config *cfg, char *reason, size_t reason_len);

typedef void *(*create_fn)(const nnb_config *, char *, size_t);

typedef struct runner {
    const char *name;
    create_fn create;
} runner;

static const runner runners[] = {
    {"aten", nnb_cu_lstm_create_aten},
    {"jit", nnb_cu_lstm_create_jit},
    {"jit_premul_bias", nnb_cu_lstm_create_jit_premul_bias},
    {"jit_dropout", nnb_cu_lstm_create_jit_dropout},
    {"vl_jit", nnb_cu_lstm_create_vl_jit},
    {"jit_layernorm", nnb_ln_lstm_create},
};

static nnb_config config(const char *executor) {
    nnb_config cfg = nnb_test_lstm_config(3, 4, 5, 6, 2, 7);
    cfg.executor = executor;
    return cfg;
}

/* The precisions every runner is exercised in. */
static const int precisions[] = {NNB_PRECISION_FP32, NNB_PRECISION_BF16};
static int precision_count(const runner *r) { return (void)r, (int)(sizeof precisions / sizeof *precisions); }
static const char *dtype_of(int p) { return nnb_precision_name(p) ? nnb_precision_name(p) : "?"; }

/* create, one training step and (where served) one infer; the counts of all of it. */
static nnb_fake_cuda_counts exercise(const runner *r, const char *executor, int precision) {
    nnb_config cfg = config(executor);
    cfg.precision = precision;
    char err[1024] = "";
    nnb_fake_cuda_reset();
    void *m = r->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s (%s): create: %s", r->name, executor, err);
    if (!m)
        return nnb_fake_cuda_get_counts();
    CHECK_MSG(nnb_cuda_lstm_forward(m, err, sizeof err) == 0, "%s forward: %s", r->name, err);
    CHECK_MSG(nnb_cuda_lstm_backward(m, err, sizeof err) == 0, "%s backward: %s", r->name, err);
    if (strcmp(r->name, "vl_jit") && strcmp(r->name, "jit_layernorm")) /* those two do not serve */
        CHECK_MSG(nnb_cuda_lstm_infer(m, 2, err, sizeof err) == 0, "%s infer(2): %s", r->name, err);
    nnb_cuda_lstm_destroy(m);
    return nnb_fake_cuda_get_counts();
}

static void workspace_survives_every_stream_change(void) {
    static const char *const executors[] = {"eager", "graph"};
    for (size_t i = 0; i < sizeof runners / sizeof *runners; i++)
        for (int e = 0; e < 2 * precision_count(&runners[i]); e++) {
            nnb_fake_cuda_counts c = exercise(&runners[i], executors[e % 2], precisions[e / 2]);
            CHECK_MSG(c.stream_changes >= 2, "%s (%s): %d stream changes: the emulation is not in the path",
                      runners[i].name, executors[e % 2], c.stream_changes);
            CHECK_MSG(c.calls_on_default_pool == 0,
                      "%s (%s, %s): %d cuBLAS calls on the default workspace pool (workspace lost at a stream change)",
                      runners[i].name, executors[e % 2], dtype_of(precisions[e / 2]), c.calls_on_default_pool);
            if (e % 2 == 1) {
                CHECK_MSG(c.captures == 2 && c.captured_cublas_calls > 0, "%s: %d captures, %d cuBLAS calls captured",
                          runners[i].name, c.captures, c.captured_cublas_calls);
                CHECK_MSG(c.captured_on_default_pool == 0, "%s: %d captured calls would allocate", runners[i].name,
                          c.captured_on_default_pool);
            }
        }
}

static void capture_never_holds_a_first_call(void) {
    for (size_t i = 0; i < sizeof runners / sizeof *runners; i++)
        for (int p = 0; p < precision_count(&runners[i]); p++) {
            nnb_fake_cuda_counts c = exercise(&runners[i], "graph", precisions[p]);
            const char *dtype = dtype_of(precisions[p]);
            CHECK_MSG(c.captured_cold == 0, "%s %s: %d cuBLAS calls captured before the handle ever ran eagerly",
                      runners[i].name, dtype, c.captured_cold);
            CHECK_MSG(c.captured_cold_kernels == 0,
                      "%s %s: %d kernel launches captured before the kernel ever ran eagerly", runners[i].name, dtype,
                      c.captured_cold_kernels);
        }
}

static void capture_failure_names_the_call(void) {
    nnb_config cfg = config("graph");
    char err[1024] = "";
    nnb_fake_cuda_reset();
    nnb_fake_cuda_fail_cublas_in_capture(1);
    void *m = nnb_cu_lstm_create_jit(&cfg, err, sizeof err);
    nnb_fake_cuda_fail_cublas_in_capture(0);
    CHECK_MSG(m == NULL, "create succeeded although cuBLAS failed inside the capture");
    nnb_cuda_lstm_destroy(m);
    const char *want = "jit: capturing a CUDA graph failed: cublasSgemm(";
    CHECK_MSG(strncmp(err, want, strlen(want)) == 0, "message: '%s', expected it to start with '%s'", err, want);
    CHECK_MSG(strstr(err, ") failed: fake error (") != NULL, "no status in: %s", err);
    CHECK_MSG(strstr(err, ".h:") != NULL || strstr(err, ".c:") != NULL, "no file:line in: %s", err);
    CHECK_MSG(strstr(err + 1, "capturing a CUDA graph failed") == strstr(err, "capturing a CUDA graph failed"),
              "the prefix repeats: %s", err);
}

static void device_is_honoured(void) {
    setenv("NNB_FAKE_CUDA_DEVICES", "2", 1);
    nnb_config cfg = config("graph");
    cfg.cuda_device = 1;
    char err[1024] = "", why[256] = "", desc[4096] = "";
    CHECK(nnb_cuda_available(&cfg, why, sizeof why) == 1);
    nnb_fake_cuda_reset();
    void *m = nnb_cu_lstm_create_jit(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create on device 1: %s", err);
    nnb_fake_cuda_counts c = nnb_fake_cuda_get_counts();
    CHECK_MSG(c.set_device_calls >= 1 && c.current_device == 1, "device set: %d (%d calls)", c.current_device,
              c.set_device_calls);
    if (m) {
        CHECK(nnb_cuda_lstm_describe(m, desc, sizeof desc) == 0);
        CHECK_MSG(strstr(desc, "\"device_index\":1,") != NULL, "describe: %s", desc);
    }
    nnb_cuda_lstm_destroy(m);

    cfg.cuda_device = 2; /* two devices: 0 and 1 */
    CHECK(nnb_cuda_available(&cfg, why, sizeof why) == 0);
    CHECK_MSG(!strcmp(why, "cuda: device 2 requested, 2 present"), "reason: %s", why);
    m = nnb_cu_lstm_create_jit(&cfg, err, sizeof err);
    CHECK(m == NULL);
    CHECK_MSG(strstr(err, "cuda: device 2 requested, 2 present") != NULL, "create: %s", err);
    nnb_cuda_lstm_destroy(m);
    unsetenv("NNB_FAKE_CUDA_DEVICES");
}

int main(void) {
    workspace_survives_every_stream_change();
    capture_never_holds_a_first_call();
    capture_failure_names_the_call();
    device_is_honoured();
    return nnb_test_finish();
}
