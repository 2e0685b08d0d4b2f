/*
 * ABI 1.2 inference of every CUDA runner that serves, on a real device, against the CPU references.
 *
 * LSTM (cudnn, aten, jit, jit_multilayer, jit_premul, jit_premul_bias, jit_simple, jit_dropout with dropout
 * off): cuda_lstm_infer_check.h against py's forward columns (infer(n) for n = 1, 3, B; infer_io by
 * cudaMemcpy2DAsync in and out on the model's stream; load_param round trips and refusals; backward refused
 * after infer), 1 and 3 layers, I != H, H not a multiple of 32, B = 1, both executors, default tolerance.
 *
 * ResNet (resnet18, resnet50, resnet18_jit, resnet50_jit) against resnet18_ref / resnet50_ref (eval mode, in
 * double) at N = 4, S = 40:
 *   - every BatchNorm's running statistics and affine parameters replaced through load_param (in both), so
 *     eval-mode BN is tested away from its initial (0, 1) statistics; params() and outputs() show the values;
 *   - infer(n), n = 1, 3, N: outputs() lists logits (n, 1000) and the running statistics, unchanged; logits
 *     within 2e-3 normwise of the reference's infer(n); a second infer(n) agrees;
 *   - infer_io: one row, 3 S S 4 bytes in and 4000 out per sample; the input zeroed, the first n samples
 *     copied in, infer(n), the logits copied out: equal to outputs() and to the reference;
 *   - forward, infer(1), backward: the training step's outputs still match the reference's step (infer runs in
 *     buffers of its own), with the --check tolerances of the train-step GPU test (2e-3, gradients of
 *     resnet50 in L2 at 10x);
 *   - load_param refusals (shape naming both shapes, dtype, unknown name, the input x).
 * Tolerances are estimates made without a device (fp32 cuDNN, FMA math, against double); every error is
 * printed so they can be tightened from the first run.
 *
 * Without a usable device: every serving runner's descriptor has infer, infer_io and load_param, available()
 * says "cuda: no device (...)" and create() fails with it; then exit 77 (ctest: skipped).
 */
#include "cuda_lstm_infer_check.h"
#include "resnet_arch.h"
#include "test_support.h"

#include <cuda_runtime_api.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RESNET_TOL 2e-3

static nnb_registry reg;
static cudaStream_t stream;

static const char *const lstm_runners[] = {
    "cudnn", "aten", "jit", "jit_multilayer", "jit_premul", "jit_premul_bias", "jit_simple", "jit_dropout"};
static const char *const resnet_runners[][2] = {{"resnet18", "resnet18_ref"},
                                                {"resnet50", "resnet50_ref"},
                                                {"resnet18_jit", "resnet18_ref"},
                                                {"resnet50_jit", "resnet50_ref"}};

static const nnb_runner_desc *find(const char *name, const char *device) {
    const nnb_loaded_runner *r = nnb_registry_find_on(&reg, name, device);
    return r ? r->desc : NULL;
}

static int serves(const nnb_runner_desc *d) {
    return d && d->struct_size > offsetof(nnb_runner_desc, load_param) && d->infer && d->infer_io && d->load_param;
}

/* Pitched copies on the models' stream, waited for (one row: a plain copy, its pitch may be 0). */
static int device_copy2d(void *ctx, void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t rows,
                         int to_device) {
    (void)ctx;
    enum cudaMemcpyKind kind = to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
    cudaError_t st = rows <= 1 ? cudaMemcpyAsync(dst, src, width, kind, stream)
                               : cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, rows, kind, stream);
    if (st == cudaSuccess)
        st = cudaStreamSynchronize(stream);
    if (st != cudaSuccess)
        printf("copy failed: %s\n", cudaGetErrorString(st));
    return st == cudaSuccess ? 0 : -1;
}

/* ---------------------------------------------------------------- LSTM */

static nnb_config lstm_config(int64_t T, int64_t B, int64_t I, int64_t H, int64_t L) {
    nnb_config cfg = nnb_test_lstm_config(T, B, I, H, L, 7);
    cfg.threads = 2;
    cfg.cuda_stream = stream;
    return cfg;
}

static void check_lstm(const char *runner, const nnb_config *cfg) {
    const nnb_runner_desc *got = find(runner, NNB_DEVICE_CUDA), *ref = find("py", NNB_DEVICE_CPU);
    CHECK_MSG(got && ref, "%s (cuda) or py (cpu) missing", runner);
    if (!got || !ref)
        return;
    lstm_infer_env env = {device_copy2d, NULL, 0};
    lstm_infer_check(got, ref, cfg, &env);
}

static void check_lstms(void) {
    const int64_t layers[] = {1, 3};
    for (size_t r = 0; r < sizeof lstm_runners / sizeof *lstm_runners; r++)
        for (int l = 0; l < 2; l++) {
            if (!strcmp(lstm_runners[r], "jit_simple") && layers[l] > 1)
                continue;
            nnb_config cfg = lstm_config(6, 5, 10, 13, layers[l]); /* n = 1, 3, 5 */
            check_lstm(lstm_runners[r], &cfg);
        }
    nnb_config cfg = lstm_config(4, 1, 5, 6, 2); /* B = 1 */
    check_lstm("cudnn", &cfg);
    check_lstm("jit_premul", &cfg);
    cfg = lstm_config(5, 7, 9, 37, 2);
    cfg.executor = "graph"; /* forward/backward replayed from graphs; infer eager beside them */
    check_lstm("cudnn", &cfg);
    check_lstm("jit_premul", &cfg);
    cfg.executor = NULL;
    cfg.fuser = "old";
    cfg.cuda_pointwise_block_size = 64;
    cfg.cuda_pointwise_block_count = 1;
    cfg.cuda_pointwise_loop_level = 3;
    check_lstm("jit", &cfg);
    check_lstm("jit_premul_bias", &cfg);
}

/* --------------------------------------------------------------- ResNet */

static size_t count_of(const nnb_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

static const nnb_tensor *find_tensor(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

/* Normwise relative error of got against ref, n floats. */
static double rel_error(const float *got, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!(d <= num))
            num = isnan(d) ? INFINITY : d;
        if (fabs(ref[i]) > den)
            den = fabs(ref[i]);
    }
    return num / (den > 1e-30 ? den : 1e-30);
}

/* Seeded values for the BN tensors: running mean ~ +-0.3, variance in [0.6, 1.6], gamma ~ 1 +- 0.2, beta +- 0.1. */
static void bn_values(const nnb_resnet_param *p, float *v, int salt) {
    for (size_t i = 0; i < p->count; i++) {
        double s = sin(0.37 * (double)i + 0.11 * salt + (double)p->offset * 1e-3);
        switch (p->kind) {
        case NNB_RESNET_BN_RUNNING_MEAN: v[i] = (float)(0.3 * s); break;
        case NNB_RESNET_BN_RUNNING_VAR: v[i] = (float)(1.1 + 0.5 * s); break;
        case NNB_RESNET_BN_WEIGHT: v[i] = (float)(1.0 + 0.2 * s); break;
        default: v[i] = (float)(0.1 * s); break;
        }
    }
}

static int is_bn(const nnb_resnet_param *p) {
    return p->kind == NNB_RESNET_BN_WEIGHT || p->kind == NNB_RESNET_BN_BIAS || p->kind == NNB_RESNET_BN_RUNNING_MEAN ||
           p->kind == NNB_RESNET_BN_RUNNING_VAR;
}

static nnb_tensor param_tensor(const nnb_resnet_param *p, const float *data) {
    nnb_tensor t;
    memset(&t, 0, sizeof t);
    t.name = p->name;
    t.dtype = NNB_F32;
    t.ndim = p->ndim;
    for (int i = 0; i < p->ndim; i++)
        t.shape[i] = p->shape[i];
    t.data = data;
    return t;
}

/* Every BN tensor into both models; then got's params()/outputs() must show them. */
static void load_bn(const nnb_resnet_arch *a, const nnb_runner_desc *got, void *gm, const nnb_runner_desc *ref,
                    void *rm, const char *what) {
    char err[512] = "";
    float *v = malloc(sizeof(float) * 2048);
    int loaded = 0;
    for (int k = 0; k < a->num_params; k++) {
        const nnb_resnet_param *p = &a->params[k];
        if (!is_bn(p))
            continue;
        bn_values(p, v, k);
        nnb_tensor t = param_tensor(p, v);
        int rc = got->load_param(gm, &t, err, sizeof err);
        CHECK_MSG(rc == 0, "%s load_param(%s): %s", what, p->name, err);
        rc = ref->load_param(rm, &t, err, sizeof err);
        CHECK_MSG(rc == 0, "%s: reference load_param(%s): %s", what, p->name, err);
        loaded++;
    }
    CHECK(loaded > 0);
    nnb_tensor_list params;
    CHECK(got->params(gm, &params, err, sizeof err) == 0);
    int mismatches = 0;
    for (int k = 0; k < a->num_params; k++) {
        const nnb_resnet_param *p = &a->params[k];
        if (!is_bn(p) || !p->learnable)
            continue;
        const nnb_tensor *t = find_tensor(&params, p->name);
        bn_values(p, v, k);
        mismatches += !t || memcmp(t->data, v, p->count * sizeof(float)) != 0;
    }
    CHECK_MSG(mismatches == 0, "%s: params() shows %d BN tensors other than loaded", what, mismatches);
    free(v);
}

/* outputs() after infer(n): logits (n, 1000) as the reference's, the running statistics as loaded. */
static void compare_infer(const nnb_resnet_arch *a, const nnb_tensor_list *got, const nnb_tensor_list *ref, int64_t n,
                          const char *what) {
    const nnb_tensor *gl = find_tensor(got, "logits"), *rl = find_tensor(ref, "logits");
    CHECK_MSG(gl && rl, "%s infer(%lld): logits missing", what, (long long)n);
    CHECK_MSG(got->count == ref->count, "%s infer(%lld): %d outputs, the reference lists %d", what, (long long)n,
              got->count, ref->count);
    if (!gl || !rl)
        return;
    CHECK_MSG(gl->ndim == 2 && gl->shape[0] == n && gl->shape[1] == NNB_RESNET_CLASSES,
              "%s infer(%lld): logits shape (%lld, %lld)", what, (long long)n, (long long)gl->shape[0],
              (long long)gl->shape[1]);
    double e = rel_error(gl->data, rl->data, (size_t)n * NNB_RESNET_CLASSES);
    CHECK_MSG(e <= RESNET_TOL, "%s infer(%lld): logits rel err %.3g > %.3g", what, (long long)n, e, RESNET_TOL);
    printf("%s infer(%lld): logits rel err %.3g\n", what, (long long)n, e);
    float *v = malloc(sizeof(float) * 2048);
    int stats = 0, bad = 0;
    for (int k = 0; k < a->num_params; k++) {
        const nnb_resnet_param *p = &a->params[k];
        if (p->learnable)
            continue;
        const nnb_tensor *t = find_tensor(got, p->name);
        bn_values(p, v, k);
        stats++;
        bad += !t || count_of(t) != p->count || memcmp(t->data, v, p->count * sizeof(float)) != 0;
    }
    CHECK_MSG(bad == 0, "%s infer(%lld): %d of %d running statistics not as loaded", what, (long long)n, bad, stats);
    free(v);
}

static void check_resnet_io(const nnb_runner_desc *got, void *gm, const nnb_runner_desc *ref, void *rm,
                            const nnb_config *cfg, const float *x, int64_t n, const char *what) {
    nnb_infer_io io;
    memset(&io, 0, sizeof io);
    io.struct_size = sizeof io;
    char err[512] = "";
    CHECK_MSG(got->infer_io(gm, &io, err, sizeof err) == 0, "%s infer_io: %s", what, err);
    size_t sample = (size_t)(3 * cfg->image_size * cfg->image_size) * sizeof(float), N = (size_t)cfg->cnn_batch;
    CHECK_MSG(io.input && io.input_rows == 1 && io.input_sample_bytes == sample && io.output && io.output_rows == 1 &&
                  io.output_sample_bytes == NNB_RESNET_CLASSES * sizeof(float),
              "%s infer_io: input rows %zu sample %zu, output rows %zu sample %zu", what, io.input_rows,
              io.input_sample_bytes, io.output_rows, io.output_sample_bytes);
    if (!io.input || !io.output || io.input_sample_bytes != sample)
        return;
    float *zeros = calloc(N, sample), *resp = malloc((size_t)n * io.output_sample_bytes);
    int rc = device_copy2d(NULL, io.input, 0, zeros, 0, N * sample, 1, 1) ||
             device_copy2d(NULL, io.input, 0, x, 0, (size_t)n * sample, 1, 1);
    CHECK_MSG(rc == 0, "%s: request copy failed", what);
    nnb_tensor_list out, rout;
    if (!rc && got->infer(gm, n, err, sizeof err) == 0 &&
        device_copy2d(NULL, resp, 0, io.output, 0, (size_t)n * io.output_sample_bytes, 1, 0) == 0 &&
        got->outputs(gm, &out, err, sizeof err) == 0) {
        const nnb_tensor *l = find_tensor(&out, "logits");
        CHECK_MSG(l && !memcmp(l->data, resp, (size_t)n * io.output_sample_bytes),
                  "%s infer_io(n=%lld): response != outputs() logits", what, (long long)n);
        if (ref->infer(rm, n, err, sizeof err) == 0 && ref->outputs(rm, &rout, err, sizeof err) == 0) {
            const nnb_tensor *rl = find_tensor(&rout, "logits");
            double e = rl ? rel_error(resp, rl->data, (size_t)n * NNB_RESNET_CLASSES) : INFINITY;
            CHECK_MSG(e <= RESNET_TOL, "%s infer_io(n=%lld): response rel err %.3g", what, (long long)n, e);
        }
    } else {
        CHECK_MSG(0, "%s infer_io(n=%lld) round trip: %s", what, (long long)n, err);
    }
    CHECK(device_copy2d(NULL, io.input, 0, x, 0, N * sample, 1, 1) == 0); /* x back for what follows */
    free(zeros), free(resp);
}

static void expect_load_error(const nnb_runner_desc *d, void *m, const nnb_tensor *t, const char *what,
                              const char *needle1, const char *needle2) {
    char err[512] = "";
    CHECK_MSG(d->load_param(m, t, err, sizeof err) != 0, "%s: load_param(%s) should fail", what, t->name);
    CHECK_MSG(strstr(err, needle1) != NULL, "%s: load_param error \"%s\" lacks \"%s\"", what, err, needle1);
    if (needle2)
        CHECK_MSG(strstr(err, needle2) != NULL, "%s: load_param error \"%s\" lacks \"%s\"", what, err, needle2);
}

static void check_resnet(const char *runner, const char *reference) {
    const nnb_runner_desc *got = find(runner, NNB_DEVICE_CUDA), *ref = find(reference, NNB_DEVICE_CPU);
    CHECK_MSG(serves(got) && serves(ref), "%s (cuda) or %s (cpu) missing, or without infer/load_param", runner,
              reference);
    if (!serves(got) || !serves(ref))
        return;
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.cnn_batch = 4;
    cfg.image_size = 40;
    cfg.seed = 5;
    cfg.threads = 2;
    cfg.cuda_stream = stream;
    char what[96], err[512] = "";
    snprintf(what, sizeof what, "%s vs %s (N=4 S=40)", runner, reference);
    nnb_resnet_arch a;
    if (nnb_resnet_arch_build(&a, nnb_resnet_depth_from_name(runner), cfg.cnn_batch, cfg.image_size, err, sizeof err)) {
        CHECK_MSG(0, "arch: %s", err);
        return;
    }
    nnb_config rcfg = cfg;
    rcfg.cuda_stream = NULL;
    void *gm = got->create(&cfg, err, sizeof err);
    CHECK_MSG(gm != NULL, "%s create: %s", what, err);
    void *rm = gm ? ref->create(&rcfg, err, sizeof err) : NULL;
    CHECK_MSG(!gm || rm != NULL, "%s reference create: %s", what, err);
    if (!gm || !rm) {
        if (gm)
            got->destroy(gm);
        nnb_resnet_arch_free(&a);
        return;
    }
    load_bn(&a, got, gm, ref, rm, what);
    nnb_tensor_list params;
    CHECK(got->params(gm, &params, err, sizeof err) == 0);
    const nnb_tensor *xt = find_tensor(&params, "x");
    float *x = xt ? malloc(count_of(xt) * sizeof(float)) : NULL;
    if (x)
        memcpy(x, xt->data, count_of(xt) * sizeof(float));

    const int64_t ns[] = {1, 3, cfg.cnn_batch};
    for (int i = 0; i < 3; i++) {
        nnb_tensor_list out, rout;
        int rc = got->infer(gm, ns[i], err, sizeof err);
        CHECK_MSG(rc == 0, "%s infer(%lld): %s", what, (long long)ns[i], err);
        if (rc || got->outputs(gm, &out, err, sizeof err) || ref->infer(rm, ns[i], err, sizeof err) ||
            ref->outputs(rm, &rout, err, sizeof err)) {
            CHECK_MSG(rc != 0, "%s infer(%lld) outputs: %s", what, (long long)ns[i], err);
            continue;
        }
        compare_infer(&a, &out, &rout, ns[i], what);
        /* again: the same (no state kept) */
        const nnb_tensor *l = find_tensor(&out, "logits");
        float *first = l ? malloc(count_of(l) * sizeof(float)) : NULL;
        if (first)
            memcpy(first, l->data, count_of(l) * sizeof(float));
        if (first && got->infer(gm, ns[i], err, sizeof err) == 0 && got->outputs(gm, &out, err, sizeof err) == 0) {
            l = find_tensor(&out, "logits");
            CHECK_MSG(l && rel_error(l->data, first, count_of(l)) <= 1e-6, "%s: a second infer(%lld) differs", what,
                      (long long)ns[i]);
        }
        free(first);
    }
    CHECK_MSG(got->infer(gm, 0, err, sizeof err) != 0 && strstr(err, "n = 0"), "%s: infer(0) should fail: %s", what,
              err);
    CHECK_MSG(got->infer(gm, cfg.cnn_batch + 1, err, sizeof err) != 0, "%s: infer(N + 1) should fail", what);
    if (x)
        for (int i = 0; i < 3; i++)
            check_resnet_io(got, gm, ref, rm, &cfg, x, ns[i], what);

    /* the training step is unaffected by an infer between its forward and backward */
    nnb_tensor_list gout, rout;
    int rc = got->forward(gm, err, sizeof err) || got->infer(gm, 1, err, sizeof err) ||
             got->backward(gm, err, sizeof err) || got->outputs(gm, &gout, err, sizeof err);
    CHECK_MSG(rc == 0, "%s forward, infer, backward: %s", what, err);
    if (!rc && nnb_run_once(ref, rm, 1, err, sizeof err) == 0 && ref->outputs(rm, &rout, err, sizeof err) == 0) {
        nnb_tensor_check *checks = NULL;
        int count = 0;
        double grad_tol = (got->flags & NNB_FLAG_CHECK_GRADIENTS_L2) ? 10 * RESNET_TOL : 0;
        int failing =
            nnb_compare_tensors_l2_grads(&rout, &gout, RESNET_TOL, grad_tol, &checks, &count, err, sizeof err);
        CHECK_MSG(failing == 0 && count > 10, "%s: training step after infer: %d of %d tensors fail (%s)", what,
                  failing, count, failing < 0 ? err : "");
        for (int k = 0; k < count; k++)
            if (!checks[k].pass)
                printf("  %s: %s rel %.3g > %.3g\n", what, checks[k].name, checks[k].max_rel_err, checks[k].tolerance);
        free(checks);
    }

    /* refusals */
    int conv1 = nnb_resnet_find_param(&a, "conv1.weight");
    if (conv1 >= 0) {
        float *w = calloc(a.params[conv1].count + 64, sizeof(float));
        nnb_tensor t = param_tensor(&a.params[conv1], w);
        t.shape[3] = 3; /* (64, 3, 7, 3) */
        expect_load_error(got, gm, &t, what, "(64, 3, 7, 3)", "(64, 3, 7, 7)");
        t = param_tensor(&a.params[conv1], w);
        t.dtype = NNB_F64;
        expect_load_error(got, gm, &t, what, "conv1.weight", NULL);
        t.dtype = NNB_F32;
        t.name = "conv9.weight";
        expect_load_error(got, gm, &t, what, "conv9.weight", NULL);
        free(w);
    }
    if (xt) {
        nnb_tensor t = *xt;
        t.data = x;
        expect_load_error(got, gm, &t, what, "x", NULL);
    }
    char info[8192];
    CHECK(got->describe(gm, info, sizeof info) == 0);
    CHECK_STR_CONTAINS(info, "\"infer\":{\"bn\":");
    free(x);
    got->destroy(gm);
    ref->destroy(rm);
    nnb_resnet_arch_free(&a);
}

/* ------------------------------------------------------------------ main */

/* Without a device: the entries exist, available() says why, create() fails with it. */
static void check_no_device(const char *name, const nnb_config *cfg) {
    const nnb_runner_desc *d = find(name, NNB_DEVICE_CUDA);
    CHECK_MSG(serves(d), "%s (cuda): missing, or without infer/infer_io/load_param", name);
    if (!d)
        return;
    char why[256] = "", err[512] = "";
    CHECK(d->available(cfg, why, sizeof why) == 0);
    CHECK_STR_CONTAINS(why, "cuda: no device (");
    void *m = d->create(cfg, err, sizeof err);
    CHECK_MSG(m == NULL, "%s: create succeeded without a device", name);
    if (m)
        d->destroy(m);
    CHECK_STR_CONTAINS(err, "cuda: no device (");
}

int main(void) {
    nnb_test_load_runners(&reg);
    nnb_config cfg = lstm_config(4, 3, 5, 6, 1);
    cfg.cnn_batch = 2;
    cfg.image_size = 32;
    cfg.cuda_stream = NULL;
    const nnb_runner_desc *probe = find("cudnn", NNB_DEVICE_CUDA);
    if (!probe)
        probe = find("resnet18", NNB_DEVICE_CUDA);
    CHECK_MSG(probe != NULL, "no CUDA plugin loaded from %s", nnb_test_env("NNBENCH_RUNNER_DIR"));
    if (!probe)
        return nnb_test_finish();
    char why[256] = "";
    if (!probe->available(&cfg, why, sizeof why)) {
        for (size_t r = 0; r < sizeof lstm_runners / sizeof *lstm_runners; r++)
            if (find("cudnn", NNB_DEVICE_CUDA))
                check_no_device(lstm_runners[r], &cfg);
        for (size_t r = 0; r < sizeof resnet_runners / sizeof *resnet_runners; r++)
            if (find("resnet18", NNB_DEVICE_CUDA))
                check_no_device(resnet_runners[r][0], &cfg);
        nnb_registry_free(&reg);
        if (nnb_test_failed)
            return nnb_test_finish();
        printf("SKIP: %s\n", why);
        nnb_test_finish();
        return 77;
    }
    cudaError_t st = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
    CHECK_MSG(st == cudaSuccess, "cudaStreamCreateWithFlags: %s", cudaGetErrorString(st));
    if (st != cudaSuccess)
        return nnb_test_finish();
    if (find("cudnn", NNB_DEVICE_CUDA))
        check_lstms();
    if (find("resnet18", NNB_DEVICE_CUDA))
        for (size_t r = 0; r < sizeof resnet_runners / sizeof *resnet_runners; r++)
            check_resnet(resnet_runners[r][0], resnet_runners[r][1]);
    cudaStreamDestroy(stream);
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
