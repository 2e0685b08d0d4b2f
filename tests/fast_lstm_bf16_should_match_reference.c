/*
 * The fast LSTM runners in bf16 (--dtype bf16: GEMM operands rounded to bf16, fp32 accumulation and cell math)
 * against their plain references (py, vl_py, py_simple: fp32/double math on the same bf16-rounded problem), every
 * output and gradient, on the shapes of fast_lstm_should_match_reference plus a longer one. Threads 2.
 *
 * Tolerance (normwise, max |got - ref| / max |ref| per tensor): docs/precision.md's for bf16,
 *     tol = 8 u sqrt(L),  u = 2^-8 the bf16 unit roundoff, L the layers
 * The inputs and weights are bf16 already (rounded once for every precision), so the error enters where an fp32
 * activation (h, or dG in backward) is rounded to bf16 for a GEMM: a relative u per element whatever K (fp32
 * accumulation adds only K 2^-24); the cell is contractive, so T does not enter; layers add in quadrature. Measured
 * here: 0.4u to 0.8u (printed per runner), as docs/precision.md's numpy model at the default sizes.
 *
 * Also: the bf16 run's error is at least 10x the fp32 run's on the same problem (it really computed in bf16);
 * every GEMM path (NNB_CPU_GEMM=portable, avx512_bf16, amx: those this CPU has) passes the same check, and the
 * portable path gives the same bits as the vdpbf16ps kernels through the whole forward and backward; serving in
 * bf16: load_param rounds to bf16, infer(n) gives the forward's first n sequences.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "nnb_precision.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

typedef struct shape {
    int64_t T, B, I, H, L;
} shape;

static const shape shapes[] = {
    {16, 8, 32, 64, 1}, {1, 1, 3, 1, 1},   {3, 2, 4, 5, 1},   {7, 3, 10, 8, 2},    {5, 3, 20, 37, 3},
    {1, 1, 7, 19, 1},   {9, 1, 33, 40, 2}, {4, 9, 17, 23, 1}, {40, 16, 64, 96, 1},
};
static const char *const runners[] = {"aten", "jit", "jit_premul", "jit_premul_bias", "jit_multilayer"};
enum { RUNNER_COUNT = sizeof runners / sizeof *runners };

static double bf16_tolerance(const nnb_config *cfg) {
    return 8.0 * nnb_precision_unit_roundoff(NNB_PRECISION_BF16) * sqrt((double)cfg->num_layers);
}

static nnb_config config_for(const shape *s, int precision) {
    nnb_config cfg = nnb_test_lstm_config(s->T, s->B, s->I, s->H, s->L, 0);
    cfg.threads = 2, cfg.fuser = "te", cfg.precision = precision;
    return cfg;
}

/* Check runner vs reference; returns the largest normwise error over its tensors (-1 when it did not run). */
static double checked_error(const nnb_registry *reg, const char *runner, const char *reference, const nnb_config *cfg,
                            double tol) {
    const char *dtype = cfg->precision == NNB_PRECISION_BF16 ? "bf16" : "fp32";
    const nnb_runner_desc *got = nnb_test_runner(reg, runner), *ref = nnb_test_runner(reg, reference);
    if (!got || !ref)
        return -1;
    nnb_runner_result res;
    memset(&res, 0, sizeof res);
    char err[512] = "";
    int rc = nnb_check_runner(got, ref, cfg, tol, &res, err, sizeof err);
    CHECK_MSG(rc == 0 && res.check_count > 0, "%s %s: %s", runner, dtype, err);
    double worst = rc == 0 ? 0.0 : -1.0;
    for (int i = 0; i < res.check_count; i++) {
        const nnb_tensor_check *c = &res.checks[i];
        CHECK_MSG(c->pass, "%s %s T=%lld B=%lld I=%lld H=%lld L=%lld: %s max_rel %.3g > tol %.3g", runner, dtype,
                  (long long)cfg->seq_length, (long long)cfg->mini_batch, (long long)cfg->input_size,
                  (long long)cfg->hidden_size, (long long)cfg->num_layers, c->name, c->max_rel_err, c->tolerance);
        worst = c->max_rel_err > worst ? c->max_rel_err : worst;
    }
    free(res.checks);
    return worst;
}

/* Every output and gradient of one run (forward + backward) of runner under NNB_CPU_GEMM=impl, concatenated. */
static float *run_outputs(const nnb_registry *reg, const char *runner, const nnb_config *cfg, const char *impl,
                          size_t *count) {
    const nnb_runner_desc *d = nnb_test_runner(reg, runner);
    char err[512] = "";
    setenv("NNB_CPU_GEMM", impl, 1);
    void *m = d ? d->create(cfg, err, sizeof err) : NULL;
    unsetenv("NNB_CPU_GEMM");
    CHECK_MSG(m != NULL, "%s with NNB_CPU_GEMM=%s: %s", runner, impl, err);
    if (!m)
        return NULL;
    char desc[4096] = "", want[64];
    CHECK(d->describe(m, desc, sizeof desc) == 0);
    snprintf(want, sizeof want, "\"gemm\":\"%s\"", impl);
    CHECK_STR_CONTAINS(desc, want); /* describe() names the path that ran */
    float *all = NULL;
    *count = 0;
    nnb_tensor_list out;
    if (nnb_run_once(d, m, 1, err, sizeof err) == 0 && d->outputs(m, &out, err, sizeof err) == 0) {
        for (int i = 0; i < out.count; i++) {
            size_t n = 1;
            for (int k = 0; k < out.items[i].ndim; k++)
                n *= (size_t)out.items[i].shape[k];
            all = realloc(all, sizeof(float) * (*count + n));
            memcpy(all + *count, out.items[i].data, sizeof(float) * n);
            *count += n;
        }
    }
    CHECK_MSG(all != NULL, "%s with NNB_CPU_GEMM=%s did not run: %s", runner, impl, err);
    d->destroy(m);
    return all;
}

static const nnb_tensor *named(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

/* Serving in bf16: load_param rounds the loaded weight to bf16 (params() shows what the run uses), and infer(n)
 * gives the training forward's first n sequences (the same GEMMs and cell on fewer rows). */
static void check_serving(const nnb_registry *reg) {
    const shape s = {5, 6, 24, 40, 1};
    nnb_config cfg = config_for(&s, NNB_PRECISION_BF16);
    const nnb_runner_desc *d = nnb_test_runner(reg, "jit_premul");
    char err[512] = "";
    void *m = d ? d->create(&cfg, err, sizeof err) : NULL;
    CHECK_MSG(m != NULL, "jit_premul bf16: %s", err);
    if (!m)
        return;
    const int64_t n = 4 * s.H * s.H;
    float *w = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        w[i] = (float)((i % 97) - 48) / 300.0f; /* thirds and such: not bf16 values */
    nnb_tensor t = {.name = "w_hh_l0", .dtype = NNB_F32, .ndim = 2, .shape = {4 * s.H, s.H}, .data = w};
    CHECK_MSG(d->load_param(m, &t, err, sizeof err) == 0, "load_param: %s", err);
    nnb_tensor_list p;
    CHECK(d->params(m, &p, err, sizeof err) == 0);
    const nnb_tensor *got = named(&p, "w_hh_l0");
    int bad = got == NULL;
    for (int64_t i = 0; got && i < n; i++)
        bad += ((const float *)got->data)[i] != nnb_round_bf16(w[i]);
    CHECK_MSG(!bad, "load_param in bf16: %d weights not rounded to bf16", bad);
    CHECK(nnb_run_once(d, m, 0, err, sizeof err) == 0);
    nnb_tensor_list o;
    CHECK(d->outputs(m, &o, err, sizeof err) == 0);
    const nnb_tensor *y = named(&o, "y");
    float *yf = y ? malloc(sizeof(float) * (size_t)(s.T * s.B * s.H)) : NULL;
    if (yf)
        memcpy(yf, y->data, sizeof(float) * (size_t)(s.T * s.B * s.H));
    const int64_t k = 3;
    CHECK_MSG(d->infer(m, k, err, sizeof err) == 0, "infer(%lld): %s", (long long)k, err);
    CHECK(d->outputs(m, &o, err, sizeof err) == 0);
    const nnb_tensor *yi = named(&o, "y");
    double worst = yi && yf ? 0.0 : 1.0;
    for (int64_t t2 = 0; yi && yf && t2 < s.T; t2++)
        for (int64_t b = 0; b < k; b++)
            for (int64_t j = 0; j < s.H; j++) {
                double e =
                    fabs((double)((const float *)yi->data)[(t2 * k + b) * s.H + j] - yf[(t2 * s.B + b) * s.H + j]);
                worst = e > worst ? e : worst;
            }
    CHECK_MSG(worst <= 1e-6, "infer(3) in bf16 differs from the forward's first 3 sequences by %.3g", worst);
    free(w), free(yf);
    d->destroy(m);
}

static void check_forced_paths(const nnb_registry *reg) {
    const shape s = {6, 5, 19, 37, 2};
    nnb_config cfg = config_for(&s, NNB_PRECISION_BF16);
    const char *paths[] = {"portable", "avx512_bf16", "amx"};
    for (int i = 0; i < 3; i++) {
        if ((i == 1 && !nnb_cpu_has_avx512_bf16()) || (i == 2 && !(nnb_cpu_has_amx_bf16() && nnb_cpu_amx_ready()))) {
            printf("NOTE: no %s here: that path is not checked\n", paths[i]);
            continue;
        }
        setenv("NNB_CPU_GEMM", paths[i], 1);
        for (int r = 0; r < RUNNER_COUNT; r++)
            checked_error(reg, runners[r], "py", &cfg, bf16_tolerance(&cfg));
        cfg.mini_batch = 7, cfg.seq_length = 99;
        checked_error(reg, "vl_jit", "vl_py", &cfg, bf16_tolerance(&cfg));
        cfg.mini_batch = s.B, cfg.seq_length = s.T;
        unsetenv("NNB_CPU_GEMM");
    }
    if (!nnb_cpu_has_avx512_bf16()) {
        printf("NOTE: no avx512_bf16 here: the portable path is checked against the reference only\n");
        return;
    }
    for (int r = 0; r < RUNNER_COUNT; r++) {
        size_t np = 0, na = 0;
        float *p = run_outputs(reg, runners[r], &cfg, "portable", &np);
        float *a = run_outputs(reg, runners[r], &cfg, "avx512_bf16", &na);
        CHECK_MSG(p && a && np == na && !memcmp(p, a, sizeof(float) * np),
                  "%s: portable and avx512_bf16 runs differ in their bits", runners[r]);
        free(p), free(a);
    }
}

int main(void) {
    nnb_registry reg;
    nnb_registry_init(&reg);
    nnb_test_load_runners(&reg);
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        nnb_config cfg = config_for(&shapes[s], NNB_PRECISION_BF16), f32 = config_for(&shapes[s], NNB_PRECISION_FP32);
        const double tol = bf16_tolerance(&cfg);
        for (int r = 0; r < RUNNER_COUNT; r++) {
            double e16 = checked_error(&reg, runners[r], "py", &cfg, tol);
            printf("%-16s T=%-3lld L=%lld bf16 max error %.3g (tol %.3g)\n", runners[r], (long long)cfg.seq_length,
                   (long long)cfg.num_layers, e16, tol);
            if (shapes[s].T >= 3) { /* from step 2 on, h entering a GEMM is computed (not a bf16 input) */
                double e32 = checked_error(&reg, runners[r], "py", &f32, 0);
                CHECK_MSG(e16 >= 10 * e32, "%s: bf16 error %.3g is not 10x the fp32 error %.3g", runners[r], e16, e32);
            }
        }
        if (shapes[s].L == 1)
            checked_error(&reg, "jit_simple", "py_simple", &cfg, tol);
        if (shapes[s].T <= 9 && shapes[s].H <= 40) { /* variable length: T from the lengths (30..99) */
            cfg.mini_batch = shapes[s].B + 2;
            cfg.seq_length = 99;
            checked_error(&reg, "vl_jit", "vl_py", &cfg, bf16_tolerance(&cfg));
        }
    }
    check_forced_paths(&reg);
    check_serving(&reg);
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
