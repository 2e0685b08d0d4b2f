/*
 * Every CUDA ResNet runner (resnet18, resnet50, resnet18_jit, resnet50_jit on
 * device cuda) against the plain CPU reference (resnet18_ref / resnet50_ref) at
 * N=2, S=64: logits, dx, the running statistics after the step and every
 * parameter gradient, with bit-identical seeded inputs (nnb_check_runner).
 * Exits 77 (ctest: skipped) when no CUDA device is usable; the CPU reference
 * plugin (nnb_cpu_resnet_ref) needs no oneDNN and is always built, so its
 * absence is a failure.
 *
 * Tolerance 2e-3, normwise relative (max |got - ref| / max |ref| per tensor):
 * float32 cuDNN (FMA math, TF32 off; Winograd/FFT algorithms allowed, as
 * PyTorch) against a double-precision reference, through up to 50 layers of
 * train-mode BatchNorm whose statistics at N=2, S=64 rest on as few as 8
 * values per channel (layer4: 2x2 maps), which amplifies rounding. The value
 * is an estimate made without a device; every tensor's error is printed so it
 * can be tightened from the first real run.
 *
 * --dtype tf32 (ABI 1.3; skipped with available()'s reason on a device before 8.0): the same runners with TF32
 * tensor-op math against the same reference, within 64 u_tf32 = 64 * 2^-11 ~ 0.031: convolutions and the fc
 * round both operands to 10 mantissa bits (2u per product sum), compounded through the same BatchNorm
 * amplification that the fp32 bound of 2e-3 allows for; also an estimate made without a device, printed per
 * tensor. describe() must say "tf32":true and "precision":"tf32".
 *
 * --dtype bf16 / fp16 (16-bit activations, weights and activation gradients, fp32 compute; cuda_resnet.h):
 * within 32 u (bf16 0.125, fp16 0.0156; every stored activation is one more rounding of at most u, and the
 * same BatchNorm amplification applies), an estimate printed per tensor like the others; and the largest error
 * at least 10x the fp32 run's (proof that 16 bits ran). describe() names the precision.
 */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#define TOLERANCE 2e-3
#define TF32_TOLERANCE (64.0 / 2048.0)
#define BF16_TOLERANCE (32.0 / 256.0)
#define FP16_TOLERANCE (32.0 / 2048.0)

static const char *const runners[][2] = {
    {"resnet18", "resnet18_ref"},
    {"resnet50", "resnet50_ref"},
    {"resnet18_jit", "resnet18_ref"},
    {"resnet50_jit", "resnet50_ref"},
};

static void check_describe(const nnb_runner_desc *d, const nnb_config *cfg) {
    char err[512] = "";
    void *m = d->create(cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s create: %s", d->name, err);
    if (!m)
        return;
    static char info[8192];
    CHECK(d->describe(m, info, sizeof info) == 0);
    printf("%s: %s\n", d->name, info);
    CHECK_STR_CONTAINS(info, "\"tf32\":false");
    CHECK_STR_CONTAINS(info, "CUDNN_FMA_MATH");
    CHECK_STR_CONTAINS(info, "\"conv_fwd_algos\":{\"");
    CHECK_STR_CONTAINS(info, "\"workspace_bytes\":");
    if (strstr(d->name, "_jit"))
        CHECK_STR_CONTAINS(info, "\"fusion\":{\"bn_relu\":");
    CHECK(d->forward_flops(m) > 0 && d->backward_flops(m) == 2 * d->forward_flops(m));
    d->destroy(m);
}

/* runner (cuda) vs ref at cfg within tol: every tensor's error recorded, the worst printed and returned (-1 when it
 * could not run). */
static double check_pair(const nnb_runner_desc *got, const nnb_runner_desc *ref, const nnb_config *cfg, double tol) {
    nnb_runner_result res;
    memset(&res, 0, sizeof res);
    char err[512] = "";
    const char *dtype = nnb_precision_name(cfg->precision);
    int rc = nnb_check_runner(got, ref, cfg, tol, &res, err, sizeof err);
    CHECK_MSG(rc == 0, "%s %s vs %s: %s", got->name, dtype, ref->name, err);
    CHECK_MSG(rc != 0 || res.check_count > 0, "%s compared no tensors", got->name);
    double worst = 0;
    const char *worst_name = "";
    for (int k = 0; k < res.check_count; k++) {
        const nnb_tensor_check *c = &res.checks[k];
        CHECK_MSG(c->pass, "%s %s vs %s: %s max_abs %.3g max_rel %.3g > tol %.3g", got->name, dtype, ref->name, c->name,
                  c->max_abs_err, c->max_rel_err, c->tolerance);
        if (!(c->max_rel_err <= worst))
            worst = c->max_rel_err, worst_name = c->name;
    }
    printf("%s %s vs %s: %d tensors, worst %s rel %.3g (tol %.3g)\n", got->name, dtype, ref->name, res.check_count,
           worst_name, worst, tol);
    free(res.checks);
    return rc ? -1 : worst;
}

/* --dtype p within tol, said so in describe(); skipped (noted) where available() refuses (devices before 8.0 for
 * tf32 and bf16, 7.0 for fp16). 16-bit precisions: at least 10x the fp32 error e32. */
static void check_precision(const nnb_runner_desc *got, const nnb_runner_desc *ref, nnb_config cfg, int p, double tol,
                            double e32) {
    char why[256] = "", err[512] = "", info[8192] = "", want[64];
    cfg.precision = p;
    CHECK_MSG(nnb_runner_supports_precision(got, p), "%s does not declare %s", got->name, nnb_precision_name(p));
    if (!got->available(&cfg, why, sizeof why)) {
        printf("note: %s %s not checked: %s\n", got->name, nnb_precision_name(p), why);
        return;
    }
    void *m = got->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "%s %s: create failed: %s", got->name, nnb_precision_name(p), err);
    if (!m)
        return;
    CHECK(got->describe(m, info, sizeof info) == 0);
    snprintf(want, sizeof want, "\"precision\":\"%s\"", nnb_precision_name(p));
    CHECK_STR_CONTAINS(info, want);
    if (p == NNB_PRECISION_TF32)
        CHECK_STR_CONTAINS(info, "\"tf32\":true");
    got->destroy(m);
    double e = check_pair(got, ref, &cfg, tol);
    if (p == NNB_PRECISION_BF16 || p == NNB_PRECISION_FP16)
        CHECK_MSG(e >= 10 * e32, "%s %s: error %.3g is not 10x the fp32 run's %.3g", got->name, nnb_precision_name(p),
                  e, e32);
}

int main(void) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.cnn_batch = 2;
    cfg.image_size = 64;
    cfg.seed = 5;

    const nnb_loaded_runner *first = nnb_registry_find_on(&reg, runners[0][0], NNB_DEVICE_CUDA);
    CHECK_MSG(first != NULL, "runner resnet18 (cuda) not found in %s", nnb_test_env("NNBENCH_RUNNER_DIR"));
    if (!first)
        return nnb_test_finish();
    char reason[256] = "";
    if (!first->desc->available(&cfg, reason, sizeof reason)) {
        /* Without a device every runner must say so, and create() must fail cleanly with the same reason. */
        CHECK_STR_CONTAINS(reason, "cuda: no device (");
        for (size_t i = 0; i < sizeof runners / sizeof runners[0]; i++) {
            const nnb_loaded_runner *r = nnb_registry_find_on(&reg, runners[i][0], NNB_DEVICE_CUDA);
            CHECK_MSG(r != NULL, "runner %s (cuda) not found", runners[i][0]);
            if (!r)
                continue;
            char why[256] = "", err[512] = "";
            CHECK(r->desc->available(&cfg, why, sizeof why) == 0);
            void *m = r->desc->create(&cfg, err, sizeof err);
            CHECK_MSG(m == NULL, "%s: create succeeded without a device", runners[i][0]);
            if (m)
                r->desc->destroy(m);
            CHECK_STR_CONTAINS(err, "cuda: no device (");
            nnb_config graph = cfg; /* a setting the runners cannot honour: refused before any device work */
            graph.executor = "graph";
            m = r->desc->create(&graph, err, sizeof err);
            CHECK(m == NULL);
            if (m)
                r->desc->destroy(m);
            char want[160];
            snprintf(want, sizeof want, "%s: --executor 'graph' is not supported by this runner (supported: eager)",
                     runners[i][0]);
            CHECK_STR_CONTAINS(err, want);
        }
        if (nnb_test_failed)
            return nnb_test_finish();
        printf("SKIP: %s\n", reason);
        return 77;
    }
    if (!nnb_registry_find_on(&reg, "resnet18_ref", NNB_DEVICE_CPU)) {
        CHECK_MSG(0, "CPU reference resnet18_ref not found (plugin nnb_cpu_resnet_ref is always built)");
        return nnb_test_finish();
    }

    for (size_t i = 0; i < sizeof runners / sizeof runners[0]; i++) {
        const nnb_loaded_runner *got = nnb_registry_find_on(&reg, runners[i][0], NNB_DEVICE_CUDA);
        const nnb_loaded_runner *ref = nnb_registry_find_on(&reg, runners[i][1], NNB_DEVICE_CPU);
        CHECK_MSG(got && ref, "%s (cuda) or %s (cpu) missing", runners[i][0], runners[i][1]);
        if (!got || !ref)
            continue;
        CHECK(got->desc->reference && !strcmp(got->desc->reference, runners[i][1]));
        check_describe(got->desc, &cfg);

        double e32 = check_pair(got->desc, ref->desc, &cfg, TOLERANCE);
        check_precision(got->desc, ref->desc, cfg, NNB_PRECISION_TF32, TF32_TOLERANCE, e32);
        check_precision(got->desc, ref->desc, cfg, NNB_PRECISION_BF16, BF16_TOLERANCE, e32);
        check_precision(got->desc, ref->desc, cfg, NNB_PRECISION_FP16, FP16_TOLERANCE, e32);
    }
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
