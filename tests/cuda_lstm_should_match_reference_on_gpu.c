/*
 * Every CUDA LSTM runner against its CPU reference on a real device: forward
 * outputs and every gradient (bench/check.h, normwise relative error, default
 * fp32 tolerance max(1e-4, 8 eps sqrt((I+H) T L))), over fusers, launch
 * geometries (partial blocks, capped grids, several elements per thread), both
 * executors, one and several layers, I != H, B = 1, T = 1. Create-time
 * rejections are checked too. Without a usable device it prints why and exits
 * 77, which ctest reports as skipped.
 *
 * Precisions (ABI 1.3): tf32, bf16 and fp16 of the cuDNN LSTMs and the hand-written engine against the same
 * references on the rounded problem (cuda_precision_check.h: tol = factor * u * L, factor 4 for the engine and
 * 8 for cuDNN, which also stores its states and outputs in 16 bits; bf16/fp16 errors at least 10x fp32's). A
 * precision the device is too old for is noted and skipped (available()'s reason).
 */
#include "cuda_precision_check.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static nnb_registry reg;

static const nnb_runner_desc *find(const char *name, const char *device) {
    const nnb_loaded_runner *r = nnb_registry_find_on(&reg, name, device);
    return r ? r->desc : NULL;
}

static nnb_config small_config(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L) {
    nnb_config cfg = nnb_test_lstm_config(T, B, I, H, L, 7);
    cfg.threads = 2;
    return cfg;
}

/* runner (cuda) vs reference (cpu); optional references that are not built are noted, not failed. */
static void check(const char *runner, const char *reference, const nnb_config *cfg, int reference_required) {
    const nnb_runner_desc *got = find(runner, NNB_DEVICE_CUDA), *ref = find(reference, NNB_DEVICE_CPU);
    CHECK_MSG(got != NULL, "cuda runner %s not found", runner);
    if (!ref) {
        CHECK_MSG(!reference_required, "reference %s not found", reference);
        printf("note: reference %s not built here; %s not checked\n", reference, runner);
        return;
    }
    if (!got)
        return;
    nnb_test_check_descs(got, ref, cfg, 0, got->backward ? 6 : 3);
}

static void expect_create_error(const char *runner, const nnb_config *cfg, const char *needle) {
    const nnb_runner_desc *d = find(runner, NNB_DEVICE_CUDA);
    if (!d)
        return;
    char err[512] = "";
    void *m = d->create(cfg, err, sizeof err);
    CHECK_MSG(m == NULL, "%s: create should have failed (%s)", runner, needle);
    if (m)
        d->destroy(m);
    CHECK_MSG(strstr(err, needle) != NULL, "%s: error \"%s\" does not mention \"%s\"", runner, err, needle);
}

static void check_describe(const char *runner, const nnb_config *cfg) {
    const nnb_runner_desc *d = find(runner, NNB_DEVICE_CUDA);
    char err[512] = "", buf[4096] = "";
    void *m = d ? d->create(cfg, err, sizeof err) : NULL;
    CHECK_MSG(m != NULL, "%s: create failed: %s", runner, err);
    if (!m)
        return;
    CHECK(d->describe(m, buf, sizeof buf) == 0);
    CHECK_MSG(strstr(buf, "\"sm\":") && strstr(buf, "\"executor\":") && strstr(buf, "\"tf32\":false"),
              "%s: describe() lacks device/executor/tf32: %s", runner, buf);
    d->destroy(m);
}

/* Every precision-capable runner in tf32, bf16 and fp16 (cuda_precision_check.h). */
static void check_precision_matrix(void) {
    static const int reduced[] = {NNB_PRECISION_TF32, NNB_PRECISION_BF16, NNB_PRECISION_FP16};
    static const struct {
        const char *runner, *reference;
        double factor;
    } matrix[] = {{"cudnn", "py", 8},           {"aten", "py", 4},          {"jit", "py", 4}, {"jit_premul", "py", 4},
                  {"jit_premul_bias", "py", 4}, {"jit_multilayer", "py", 4}};
    const int64_t layers[] = {1, 3};
    for (size_t r = 0; r < sizeof matrix / sizeof *matrix; r++)
        for (int l = 0; l < 2; l++) {
            const nnb_runner_desc *got = find(matrix[r].runner, NNB_DEVICE_CUDA);
            const nnb_runner_desc *ref = find(matrix[r].reference, NNB_DEVICE_CPU);
            CHECK_MSG(got && ref, "%s or %s not found", matrix[r].runner, matrix[r].reference);
            if (got && ref)
                cuda_precision_check(got, ref, small_config(7, 3, 10, 16, layers[l]), matrix[r].factor, reduced, 3);
        }
    nnb_config cfg = small_config(5, 4, 9, 37, 2);
    cfg.executor = "graph";
    cfg.fuser = "old";
    const nnb_runner_desc *jit = find("jit", NNB_DEVICE_CUDA), *py = find("py", NNB_DEVICE_CPU);
    const nnb_runner_desc *vl_cudnn = find("vl_cudnn", NNB_DEVICE_CUDA), *vl_py = find("vl_py", NNB_DEVICE_CPU);
    if (jit && py)
        cuda_precision_check(jit, py, cfg, 4, reduced, 3);
    if (vl_cudnn && vl_py) /* lengths 30..99 */
        cuda_precision_check(vl_cudnn, vl_py, small_config(0, 5, 6, 8, 1), 8, reduced, 3);
    const nnb_runner_desc *ln = find("jit_layernorm", NNB_DEVICE_CUDA), *py_ln = find("py_layernorm", NNB_DEVICE_CPU);
    if (ln && py_ln) /* py_layernorm is the variants plugin's (optional) */
        for (int64_t l = 1; l <= 3; l += 2)
            cuda_precision_check(ln, py_ln, small_config(5, 3, 7, 37, l), 16, reduced, 3);
}

int main(void) {
    nnb_test_load_runners(&reg);
    const nnb_runner_desc *probe = find("cudnn", NNB_DEVICE_CUDA);
    CHECK_MSG(probe != NULL, "plugin nnb_cuda_lstm not loaded from %s", nnb_test_env("NNBENCH_RUNNER_DIR"));
    if (!probe)
        return nnb_test_finish();
    nnb_config cfg = small_config(7, 3, 10, 12, 1);
    char why[256] = "";
    if (!probe->available(&cfg, why, sizeof why)) {
        printf("SKIP: %s\n", why);
        CHECK_MSG(strncmp(why, "cuda: no device", 15) == 0, "unexpected reason: %s", why);
        nnb_test_finish();
        nnb_registry_free(&reg);
        return 77;
    }

    static const char *const fixed[] = {"cudnn", "aten", "jit", "jit_multilayer", "jit_premul", "jit_premul_bias"};
    const int64_t layers[] = {1, 3};
    for (size_t r = 0; r < sizeof fixed / sizeof *fixed; r++)
        for (size_t l = 0; l < 2; l++) {
            cfg = small_config(7, 3, 10, 13, layers[l]); /* I != H, H not a multiple of 32 */
            check(fixed[r], "py", &cfg, 1);
        }
    /* B = 1, T = 1 */
    cfg = small_config(1, 1, 5, 6, 2);
    for (size_t r = 0; r < sizeof fixed / sizeof *fixed; r++)
        check(fixed[r], "py", &cfg, 1);

    /* fusers x geometries x executors on the fused runner and premul_bias */
    static const char *const fusers[] = {"te", "old", "none"};
    const int geos[][3] = {{0, 0, 0}, {32, 1, 1}, {64, 2, 3}, {1024, 0, 5}}; /* size, cap, loop */
    static const char *const executors[] = {"eager", "graph"};
    for (int f = 0; f < 3; f++)
        for (int g = 0; g < 4; g++)
            for (int e = 0; e < 2; e++) {
                cfg = small_config(5, 4, 9, 37, 2);
                cfg.fuser = fusers[f];
                cfg.cuda_pointwise_block_size = geos[g][0];
                cfg.cuda_pointwise_block_count = geos[g][1];
                cfg.cuda_pointwise_loop_level = geos[g][2];
                cfg.executor = executors[e];
                check("jit", "py", &cfg, 1);
                check("jit_premul_bias", "py", &cfg, 1);
            }
    cfg = small_config(6, 3, 8, 16, 2);
    cfg.executor = "graph";
    check("cudnn", "py", &cfg, 1);
    check("aten", "py", &cfg, 1);

    /* variable length (T from the lengths: 30..99) */
    cfg = small_config(0, 5, 6, 8, 1);
    check("vl_cudnn", "vl_py", &cfg, 1);
    check("vl_jit", "vl_py", &cfg, 1);
    cfg.num_layers = 2;
    check("vl_cudnn", "vl_py", &cfg, 1);
    check("vl_jit", "vl_py", &cfg, 1);

    /* runners with their own references */
    cfg = small_config(6, 3, 8, 11, 1);
    check("jit_simple", "py_simple", &cfg, 0);
    check("cudnn_layernorm", "py_cudnn_layernorm", &cfg, 0);
    check("jit_dropout", "py", &cfg, 1);   /* one layer: no dropout at all */
    check("cudnn_dropout", "py", &cfg, 1); /* likewise */
    cfg.num_layers = 3;
    check("jit_dropout", "py_dropout", &cfg, 0);
    for (int l = 1; l <= 3; l += 2)
        for (int e = 0; e < 2; e++) {
            cfg = small_config(5, 3, 7, 37, l); /* LN over 4H = 148 and H = 37: partial warps */
            cfg.fuser = e ? "old" : "te";
            cfg.executor = executors[e];
            check("jit_layernorm", "py_layernorm", &cfg, 0);
            check("jit_layernorm_decom", "py_layernorm", &cfg, 0);
        }

    /* rejected settings */
    cfg = small_config(4, 2, 4, 8, 1);
    cfg.cuda_pointwise_block_size = 48;
    expect_create_error("jit", &cfg, "multiple of 32");
    cfg.cuda_pointwise_block_size = 2048;
    expect_create_error("jit_premul", &cfg, "multiple of 32");
    cfg = small_config(4, 2, 4, 8, 1);
    cfg.executor = "lazy";
    expect_create_error("cudnn", &cfg,
                        "cudnn: --executor 'lazy' is not supported by this runner (supported: eager, graph)");
    expect_create_error("jit", &cfg,
                        "jit: --executor 'lazy' is not supported by this runner (supported: eager, graph)");
    cfg = small_config(4, 2, 4, 8, 1);
    cfg.fuser = "nvfuser";
    expect_create_error("jit", &cfg,
                        "jit: --fuser 'nvfuser' is not supported by this runner (supported: te, old, none)");
    cfg = small_config(4, 2, 4, 8, 2);
    expect_create_error("jit_simple", &cfg, "single-layer");

    cfg = small_config(4, 2, 4, 8, 1);
    check_describe("cudnn", &cfg);
    check_describe("jit", &cfg);

    check_precision_matrix();

    int rc = nnb_test_finish();
    nnb_registry_free(&reg);
    return rc;
}
