/*
 * The hand-written CUDA runners' host code (runners/cuda/lstm/custom_lstm.c,
 * cuda_common.c) and kernel source, run on the CPU against a stand-in for
 * cudart/cuBLAS (runners/cuda/lstm/emulation/fake_cuda.c: BLAS-definition
 * sgemm/sgemv, synchronous memory operations, graph capture recorded and
 * replayed), and checked against the CPU references like the GPU test does:
 * forward outputs and every gradient, over fusers, launch geometries, both
 * executors, 1 and 3 layers, I != H, B = 1, T = 1, variable length. What this
 * cannot cover (real cuBLAS, real launches) is covered by the gpu-labelled
 * cuda_lstm_should_match_reference_on_gpu. Tolerance: bench/check.h's default.
 *
 * Inference (ABI 1.2, cuda_lstm_infer_check.h): infer(n) for n = 1, 3, B of every runner that serves
 * (aten, jit, jit_multilayer, jit_premul, jit_premul_bias, jit_simple, jit_dropout with dropout off) against
 * columns 0..n-1 of py's forward, over fusers, geometries, both executors (infer itself is never captured),
 * 1 and 3 layers, B = 1; the per-step GEMMs on n rows and the premul GEMM as a strided-batched one over the T
 * steps (n < B) through the stand-in's cublasSgemmStridedBatched; infer_io's layout by a pitched copy in and
 * out; load_param round trips and refusals; backward refused after infer until a forward.
 */
#define _POSIX_C_SOURCE 200809L
#include "cuda_lstm_infer_check.h"
#include "custom_lstm.h"
#include "layernorm_lstm.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int nnb_cuda_available(const nnb_config *cfg, char *reason, size_t reason_len);

static nnb_registry reg;

/* As plugin.c's descriptors (serves: infer, infer_io, load_param). */
#define EMULATED(runner_name, grp, create_fn, serves)                                                                  \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = runner_name, .group = grp, .device = NNB_DEVICE_CUDA,          \
        .description = "emulated", .available = nnb_cuda_available, .create = create_fn,                               \
        .forward = nnb_cu_lstm_forward, .backward = nnb_cu_lstm_backward, .params = nnb_cu_lstm_params,                \
        .outputs = nnb_cu_lstm_outputs, .describe = nnb_cu_lstm_describe, .forward_flops = nnb_cu_lstm_forward_flops,  \
        .backward_flops = nnb_cu_lstm_backward_flops, .destroy = nnb_cu_lstm_destroy,                                  \
        .infer = (serves) ? nnb_cu_lstm_infer : NULL, .infer_io = (serves) ? nnb_cu_lstm_infer_io : NULL,              \
        .load_param = (serves) ? nnb_cu_lstm_load_param : NULL,                                                        \
    }
#define DESC(runner, grp, serves) EMULATED(#runner, grp, nnb_cu_lstm_create_##runner, serves)

static const nnb_runner_desc runners[] = {
    DESC(aten, NNB_GROUP_RNNS, 1),
    DESC(jit, NNB_GROUP_RNNS, 1),
    DESC(jit_multilayer, NNB_GROUP_RNNS, 1),
    DESC(jit_premul, NNB_GROUP_RNNS, 1),
    DESC(jit_premul_bias, NNB_GROUP_RNNS, 1),
    DESC(jit_simple, NNB_GROUP_RNNS, 1),
    DESC(jit_dropout, NNB_GROUP_RNNS, 1),
    DESC(vl_jit, NNB_GROUP_VL_RNNS, 0),
    EMULATED("jit_layernorm", NNB_GROUP_RNNS, nnb_ln_lstm_create, 0),
    EMULATED("jit_layernorm_decom", NNB_GROUP_RNNS, nnb_ln_lstm_create_decom, 0),
};

static const nnb_runner_desc *emulated(const char *name) {
    for (size_t i = 0; i < sizeof runners / sizeof *runners; i++)
        if (!strcmp(runners[i].name, name))
            return &runners[i];
    return NULL;
}

static nnb_config small_config(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L) {
    return nnb_test_lstm_config(T, B, I, H, L, 11);
}

static void check(const char *runner, const char *reference, const nnb_config *cfg, int reference_required) {
    const nnb_runner_desc *got = emulated(runner);
    const nnb_loaded_runner *ref = nnb_registry_find_on(&reg, reference, NNB_DEVICE_CPU);
    if (!ref) {
        CHECK_MSG(!reference_required, "reference %s not found", reference);
        printf("note: reference %s not built here; %s not checked\n", reference, runner);
        return;
    }
    nnb_test_check_descs(got, ref->desc, cfg, 0, 6);
}

/* Device memory is host memory here: a pitched copy is a loop of memcpy. */
static int host_copy2d(void *ctx, void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t rows,
                       int to_device) {
    (void)ctx, (void)to_device;
    for (size_t r = 0; r < rows; r++)
        memcpy((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
    return 0;
}

static void check_infer(const char *runner, const nnb_config *cfg) {
    const nnb_loaded_runner *ref = nnb_registry_find_on(&reg, "py", NNB_DEVICE_CPU);
    CHECK_MSG(ref != NULL, "reference py not found");
    if (!ref)
        return;
    lstm_infer_env env = {host_copy2d, NULL, 1};
    lstm_infer_check(emulated(runner), ref->desc, cfg, &env);
}

static void check_infer_matrix(void) {
    static const char *const serving[] = {"aten", "jit", "jit_multilayer", "jit_premul", "jit_premul_bias"};
    const int64_t layers[] = {1, 3};
    for (size_t r = 0; r < sizeof serving / sizeof *serving; r++)
        for (size_t l = 0; l < 2; l++) {
            nnb_config cfg = small_config(4, 5, 7, 9, layers[l]); /* n = 1, 3, 5; I != H */
            check_infer(serving[r], &cfg);
        }
    nnb_config cfg = small_config(3, 1, 4, 6, 2); /* B = 1: n = 1 only */
    check_infer("jit_premul", &cfg);
    check_infer("jit", &cfg);
    static const char *const fusers[] = {"te", "old", "none"};
    const int geos[][3] = {{0, 0, 0}, {32, 1, 3}};
    static const char *const executors[] = {"eager", "graph"};
    for (int f = 0; f < 3; f++)
        for (int e = 0; e < 2; e++) {
            cfg = small_config(3, 4, 5, 37, 2);
            cfg.fuser = fusers[f];
            cfg.cuda_pointwise_block_size = geos[e][0];
            cfg.cuda_pointwise_block_count = geos[e][1];
            cfg.cuda_pointwise_loop_level = geos[e][2];
            cfg.executor = executors[e];
            check_infer("jit", &cfg);
            check_infer("jit_premul_bias", &cfg);
        }
    cfg = small_config(4, 5, 6, 8, 1);
    check_infer("jit_simple", &cfg);
    cfg.num_layers = 3; /* inference: dropout off, so py's forward without dropout */
    check_infer("jit_dropout", &cfg);
    cfg.executor = "graph";
    check_infer("jit_dropout", &cfg);
    check_infer("jit_premul", &cfg);
}

static void expect_create_error(const char *runner, const nnb_config *cfg, const char *needle) {
    const nnb_runner_desc *d = emulated(runner);
    char err[512] = "";
    void *m = d->create(cfg, err, sizeof err);
    CHECK_MSG(m == NULL, "%s: create should have failed (%s)", runner, needle);
    if (m)
        d->destroy(m);
    CHECK_MSG(strstr(err, needle) != NULL, "%s: error \"%s\" does not mention \"%s\"", runner, err, needle);
}

static void check_describe(void) {
    nnb_config cfg = small_config(3, 2, 4, 8, 1);
    cfg.fuser = "old";
    cfg.cuda_pointwise_block_size = 128;
    cfg.cuda_pointwise_loop_level = 4;
    cfg.executor = "graph";
    char err[512] = "", buf[4096] = "";
    void *m = nnb_cu_lstm_create_jit(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create: %s", err);
    if (!m)
        return;
    CHECK(nnb_cu_lstm_describe(m, buf, sizeof buf) == 0);
    cJSON *json = cJSON_Parse(buf);
    CHECK_MSG(json != NULL && cJSON_IsObject(json), "describe() is not a JSON object: %s", buf);
    cJSON_Delete(json);
    const char *needles[] = {"\"fuser\":\"old\"",      "\"block_size\":128", "\"loop_level\":4",
                             "\"executor\":\"graph\"", "\"tf32\":false",     "\"sm\":\"9.0\""};
    for (size_t i = 0; i < sizeof needles / sizeof *needles; i++)
        CHECK_MSG(strstr(buf, needles[i]) != NULL, "describe() lacks %s: %s", needles[i], buf);
    nnb_cu_lstm_destroy(m);
}

int main(void) {
    nnb_test_load_runners(&reg);
    static const char *const fixed[] = {"aten", "jit", "jit_multilayer", "jit_premul", "jit_premul_bias"};
    const int64_t layers[] = {1, 3};
    for (size_t r = 0; r < sizeof fixed / sizeof *fixed; r++)
        for (size_t l = 0; l < 2; l++) {
            nnb_config cfg = small_config(5, 3, 10, 13, layers[l]);
            check(fixed[r], "py", &cfg, 1);
        }
    for (size_t r = 0; r < sizeof fixed / sizeof *fixed; r++) {
        nnb_config cfg = small_config(1, 1, 5, 6, 2);
        check(fixed[r], "py", &cfg, 1);
    }
    static const char *const fusers[] = {"te", "old", "none"};
    const int geos[][3] = {{0, 0, 0}, {32, 1, 1}, {64, 2, 3}};
    static const char *const executors[] = {"eager", "graph"};
    for (int f = 0; f < 3; f++)
        for (int g = 0; g < 3; g++)
            for (int e = 0; e < 2; e++) {
                nnb_config cfg = small_config(4, 3, 7, 37, 2);
                cfg.fuser = fusers[f];
                cfg.cuda_pointwise_block_size = geos[g][0];
                cfg.cuda_pointwise_block_count = geos[g][1];
                cfg.cuda_pointwise_loop_level = geos[g][2];
                cfg.executor = executors[e];
                check("jit", "py", &cfg, 1);
                check("jit_premul_bias", "py", &cfg, 1);
            }
    nnb_config cfg = small_config(4, 2, 6, 8, 2);
    cfg.executor = "graph";
    check("aten", "py", &cfg, 1);

    cfg = small_config(0, 4, 5, 6, 1); /* lengths 30..99 */
    check("vl_jit", "vl_py", &cfg, 1);
    cfg.num_layers = 2;
    cfg.executor = "graph";
    check("vl_jit", "vl_py", &cfg, 1);

    cfg = small_config(5, 3, 6, 9, 1);
    check("jit_dropout", "py", &cfg, 1); /* one layer: no dropout */
    check("jit_simple", "py_simple", &cfg, 0);
    cfg.num_layers = 3;
    check("jit_dropout", "py_dropout", &cfg, 0);

    /* LayerNorm LSTM: 1 and 3 layers, both fused variants, both executors, a capped grid */
    for (int l = 0; l < 2; l++)
        for (int e = 0; e < 2; e++) {
            cfg = small_config(4, 3, 7, 10, layers[l]);
            cfg.fuser = e ? "old" : "te";
            cfg.executor = executors[e];
            cfg.cuda_pointwise_block_size = e ? 32 : 0;
            cfg.cuda_pointwise_block_count = e ? 1 : 0;
            check("jit_layernorm", "py_layernorm", &cfg, 0);
            check("jit_layernorm_decom", "py_layernorm", &cfg, 0);
        }
    cfg = small_config(4, 2, 4, 8, 1);
    cfg.fuser = "none";
    expect_create_error("jit_layernorm", &cfg,
                        "jit_layernorm: --fuser 'none' is not supported by this runner (supported: te, old)");

    cfg = small_config(4, 2, 4, 8, 1);
    cfg.cuda_pointwise_block_size = 48;
    expect_create_error("jit", &cfg, "multiple of 32");
    cfg = small_config(4, 2, 4, 8, 1);
    cfg.cuda_pointwise_loop_level = 100;
    expect_create_error("jit_premul", &cfg, "loop_level");
    cfg = small_config(4, 2, 4, 8, 1);
    cfg.executor = "lazy";
    expect_create_error("jit", &cfg,
                        "jit: --executor 'lazy' is not supported by this runner (supported: eager, graph)");
    cfg = small_config(4, 2, 4, 8, 1);
    cfg.fuser = "nvfuser";
    expect_create_error("jit", &cfg,
                        "jit: --fuser 'nvfuser' is not supported by this runner (supported: te, old, none)");
    cfg = small_config(4, 2, 4, 8, 2);
    expect_create_error("jit_simple", &cfg, "single-layer");
    check_describe();
    check_infer_matrix();

    /* no device: available() says why, create fails with the same reason */
    setenv("NNB_FAKE_CUDA_NO_DEVICE", "1", 1);
    char why[256] = "";
    cfg = small_config(4, 2, 4, 8, 1);
    CHECK(nnb_cuda_available(&cfg, why, sizeof why) == 0);
    CHECK_MSG(strncmp(why, "cuda: no device", 15) == 0, "reason: %s", why);
    expect_create_error("jit", &cfg, "cuda: no device");
    unsetenv("NNB_FAKE_CUDA_NO_DEVICE");

    int rc = nnb_test_finish();
    nnb_registry_free(&reg);
    return rc;
}
