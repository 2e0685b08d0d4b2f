/*
 * The oneDNN runners (cudnn, cudnn_dropout, cudnn_layernorm, vl_cudnn) in bf16 (ABI 1.3, --dtype bf16):
 *   - they declare fp32 and bf16 only (oneDNN 2.6 has no f16 LSTM on the CPU), and available() answers for bf16
 *     exactly as nnb_cpu_precision_available does, in its words, on any CPU;
 *   - params() hands out the seeded problem rounded to bf16: every value bf16-exact and equal to the fp32 run's
 *     value rounded to nearest even (the same problem in both precisions);
 *   - every output and gradient matches the plain double LSTM (tests/onednn_plain_lstm.h) on those params
 *     within the bf16 tolerance, and cudnn_layernorm's layer-normed cy matches py_cudnn_layernorm's;
 *   - the error is at least 10x the fp32 run's on the same problem: proof that the run really was bf16.
 * Without avx512_bf16 or AMX only the refusal is checked, then the test skips (77) with the reason.
 *
 * Tolerance (the driver's --check rule for bf16, docs/precision.md): normwise max error relative to max |ref|
 *     tol = max(fp32 tolerance, 8 u sqrt(L)),  u = 2^-8 (bf16's unit roundoff), L = layers
 * oneDNN's bf16 LSTM multiplies bf16 data (exact products, f32 accumulation) and rounds each step's h to bf16
 * (8 roundings of u are the budget; errors add up across the L stacked layers like a random walk).
 */
#include "nnb_precision.h"
#include "onednn_plain_lstm.h"
#include "test_support.h"

#include <float.h>
#include <math.h>

#define SKIP_RETURN_CODE 77
#define BF16_ROUNDINGS 8.0 /* the driver's NNB_CHECK_ROUNDINGS */

static const char *const runners[] = {"cudnn", "cudnn_dropout", "cudnn_layernorm", "vl_cudnn"};

static double bf16_tolerance(const nnb_config *cfg) {
    double fp32 = nnb_default_tolerance(cfg, NNB_GROUP_RNNS);
    double term = BF16_ROUNDINGS * nnb_precision_unit_roundoff(NNB_PRECISION_BF16) * sqrt((double)cfg->num_layers);
    return fp32 > term ? fp32 : term;
}

/* max |got - ref| / max |ref| */
static double rel_error(const float *got, const double *ref, int64_t n) {
    double max_ref = 0, max_err = 0;
    for (int64_t e = 0; e < n; e++) {
        double diff = fabs((double)got[e] - ref[e]);
        if (!(diff <= max_err))
            max_err = diff; /* NaN sticks */
        if (fabs(ref[e]) > max_ref)
            max_ref = fabs(ref[e]);
    }
    return max_err / (max_ref > 1e-30 ? max_ref : 1e-30);
}

/* The errors of one run, per output, against the plain LSTM on the run's own params. */
typedef struct run_errors {
    int count;
    char names[40][24];
    double err[40];
    float *params_copy; /* x of the run (T, B, I), to compare the two precisions' problems */
    int64_t x_count;
} run_errors;

static void record(run_errors *r, const nnb_tensor_list *outs, const char *name, const double *ref, int64_t n) {
    const nnb_tensor *t = find(outs, name);
    CHECK_MSG(t != NULL, "no output %s", name);
    if (!t || r->count >= 40)
        return;
    snprintf(r->names[r->count], sizeof r->names[r->count], "%s", name);
    r->err[r->count++] = rel_error((const float *)t->data, ref, n);
}

/* Every float of every parameter is bf16-exact. */
static void check_params_bf16(const char *name, const nnb_tensor_list *params) {
    for (int i = 0; i < params->count; i++) {
        const nnb_tensor *t = &params->items[i];
        if (t->dtype != NNB_F32)
            continue; /* lengths */
        int64_t n = 1, inexact = 0;
        for (int k = 0; k < t->ndim; k++)
            n *= t->shape[k];
        for (int64_t e = 0; e < n; e++)
            inexact += nnb_round_bf16(((const float *)t->data)[e]) != ((const float *)t->data)[e];
        CHECK_MSG(inexact == 0, "%s bf16: %lld values of %s are not bf16", name, (long long)inexact, t->name);
    }
}

/* The outputs of runner `name` against those of the plain-math runner `ref` (same cfg). */
static double error_against_runner(const nnb_registry *reg, const char *ref, const nnb_config *cfg,
                                   const nnb_tensor_list *outs, const char *tensor) {
    const nnb_runner_desc *d = nnb_test_runner(reg, ref);
    char err[512] = "";
    void *model = d ? d->create(cfg, err, sizeof err) : NULL;
    CHECK_MSG(model != NULL, "%s create: %s", ref, err);
    if (!model)
        return INFINITY;
    nnb_tensor_list ref_outs;
    double e = INFINITY;
    if (nnb_run_once(d, model, 0, err, sizeof err) == 0 && d->outputs(model, &ref_outs, err, sizeof err) == 0) {
        const nnb_tensor *r = find(&ref_outs, tensor), *g = find(outs, tensor);
        int64_t n = 1;
        for (int k = 0; r && k < r->ndim; k++)
            n *= r->shape[k];
        double *rd = (double *)calloc((size_t)n, sizeof *rd);
        for (int64_t i = 0; r && g && rd && i < n; i++)
            rd[i] = ((const float *)r->data)[i];
        if (r && g && rd)
            e = rel_error((const float *)g->data, rd, n);
        free(rd);
    }
    d->destroy(model);
    return e;
}

/* One run of `name` in cfg's precision, its errors against the plain LSTM. */
static int measure(const nnb_registry *reg, const char *name, const nnb_config *cfg, run_errors *out) {
    memset(out, 0, sizeof *out);
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    if (!d)
        return -1;
    const int backward = d->backward != NULL, dropout = !strcmp(name, "cudnn_dropout");
    char err[512] = "";
    void *model = d->create(cfg, err, sizeof err);
    CHECK_MSG(model != NULL, "%s create (%s): %s", name, nnb_precision_name(cfg->precision), err);
    if (!model)
        return -1;
    nnb_tensor_list params, outs;
    int rc = nnb_run_once(d, model, backward, err, sizeof err);
    if (!rc)
        rc = d->params(model, &params, err, sizeof err);
    if (!rc)
        rc = d->outputs(model, &outs, err, sizeof err);
    CHECK_MSG(rc == 0, "%s run: %s", name, err);
    if (rc) {
        d->destroy(model);
        return -1;
    }
    if (cfg->precision == NNB_PRECISION_BF16)
        check_params_bf16(name, &params);
    const nnb_tensor *x = find(&params, "x");
    out->x_count = x->shape[0] * x->shape[1] * x->shape[2];
    out->params_copy = (float *)malloc(sizeof(float) * (size_t)out->x_count);
    memcpy(out->params_copy, x->data, sizeof(float) * (size_t)out->x_count);
    plain_in p;
    plain_from_params(&p, &params, cfg, dropout ? 0.4f : 0.0f);
    plain_out o;
    memset(&o, 0, sizeof o);
    plain_lstm(&p, &o);
    const int64_t T = p.T, B = p.B, H = p.H, L = p.L, I = p.I;
    record(out, &outs, "y", o.y, T * B * H);
    record(out, &outs, "hy", o.hy, L * B * H);
    if (backward) {
        record(out, &outs, "cy", o.cy, L * B * H);
        record(out, &outs, "dx", o.dx, T * B * I);
        record(out, &outs, "dhx", o.dhx, L * B * H);
        record(out, &outs, "dcx", o.dcx, L * B * H);
        char nm[32];
        for (int64_t k = 0; k < L; k++) {
            snprintf(nm, sizeof nm, "dw_ih_l%lld", (long long)k),
                record(out, &outs, nm, o.dw_ih[k], 4 * H * (k ? H : I));
            snprintf(nm, sizeof nm, "dw_hh_l%lld", (long long)k), record(out, &outs, nm, o.dw_hh[k], 4 * H * H);
            snprintf(nm, sizeof nm, "db_ih_l%lld", (long long)k), record(out, &outs, nm, o.db[k], 4 * H);
        }
    } else if (out->count < 40) { /* cudnn_layernorm: cy is layer-normed, against its plain reference */
        snprintf(out->names[out->count], sizeof out->names[0], "cy");
        out->err[out->count++] = error_against_runner(reg, "py_cudnn_layernorm", cfg, &outs, "cy");
    }
    plain_free(&o, L);
    d->destroy(model);
    return 0;
}

static void check_bf16(const nnb_registry *reg, const char *name, nnb_config c) {
    run_errors e32, e16;
    c.precision = NNB_PRECISION_FP32;
    int rc = measure(reg, name, &c, &e32);
    c.precision = NNB_PRECISION_BF16;
    rc |= measure(reg, name, &c, &e16);
    if (!rc) {
        const double tol = bf16_tolerance(&c);
        double max32 = 0, max16 = 0;
        printf("%s T=%lld B=%lld I=%lld H=%lld L=%lld tol %.3g:", name, (long long)c.seq_length,
               (long long)c.mini_batch, (long long)c.input_size, (long long)c.hidden_size, (long long)c.num_layers,
               tol);
        for (int i = 0; i < e16.count && i < e32.count; i++) {
            printf(" %s %.2g/%.2g", e16.names[i], e16.err[i], e32.err[i]);
            CHECK_MSG(e16.err[i] <= tol, "%s bf16 %s: rel err %.3g > tol %.3g", name, e16.names[i], e16.err[i], tol);
            max32 = e32.err[i] > max32 ? e32.err[i] : max32;
            max16 = e16.err[i] > max16 ? e16.err[i] : max16;
        }
        printf("\n");
        /* y carries the forward's bf16 rounding in every runner */
        CHECK_MSG(e16.err[0] >= 10 * e32.err[0], "%s: bf16 y error %.3g is not 10x the fp32 one %.3g", name, e16.err[0],
                  e32.err[0]);
        CHECK_MSG(max16 >= 10 * max32, "%s: bf16 max error %.3g is not 10x the fp32 one %.3g", name, max16, max32);
        int same = e16.x_count == e32.x_count;
        for (int64_t i = 0; same && i < e16.x_count; i++)
            same = e16.params_copy[i] == nnb_round_bf16(e32.params_copy[i]);
        CHECK_MSG(same, "%s: bf16 x is not the fp32 x rounded to bf16", name);
    }
    free(e32.params_copy);
    free(e16.params_copy);
}

/* y (T, n, H) of a run against the first n sequences of the plain LSTM on params (dropout off). */
static double infer_error(const nnb_tensor_list *params, const nnb_tensor_list *outs, const nnb_config *cfg,
                          int64_t n) {
    plain_in p;
    plain_from_params(&p, params, cfg, 0);
    plain_out o;
    memset(&o, 0, sizeof o);
    plain_lstm(&p, &o);
    const int64_t T = p.T, B = p.B, H = p.H;
    double *ref = (double *)calloc((size_t)(T * n * H), sizeof *ref);
    for (int64_t t = 0; t < T; t++)
        memcpy(ref + t * n * H, o.y + t * B * H, sizeof(double) * (size_t)(n * H));
    const nnb_tensor *y = find(outs, "y");
    double e = y && y->shape[1] == n ? rel_error((const float *)y->data, ref, T * n * H) : INFINITY;
    free(ref);
    plain_free(&o, p.L);
    return e;
}

/* ABI 1.2 serving in bf16: infer(n) gives the first n sequences of the plain LSTM within the bf16 tolerance;
 * load_param rounds the loaded weight to bf16 (params() shows it) and the next run uses it. */
static void check_serving_bf16(const nnb_registry *reg, const char *name, nnb_config c) {
    c.precision = NNB_PRECISION_BF16;
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    char err[512] = "";
    void *model = d ? d->create(&c, err, sizeof err) : NULL;
    CHECK_MSG(model != NULL, "%s create: %s", name, err);
    if (!model)
        return;
    const double tol = bf16_tolerance(&c);
    nnb_tensor_list params, outs;
    CHECK(d->params(model, &params, err, sizeof err) == 0);
    const int64_t ns[2] = {c.mini_batch, 1};
    for (int i = 0; i < 2; i++) {
        int rc = d->infer(model, ns[i], err, sizeof err);
        CHECK_MSG(rc == 0, "%s infer(%lld): %s", name, (long long)ns[i], err);
        if (rc || d->outputs(model, &outs, err, sizeof err))
            continue;
        double e = infer_error(&params, &outs, &c, ns[i]);
        printf("%s bf16 infer(%lld): y rel err %.3g (tol %.3g)\n", name, (long long)ns[i], e, tol);
        CHECK_MSG(e <= tol && e > 0, "%s bf16 infer(%lld): y rel err %.3g, tol %.3g", name, (long long)ns[i], e, tol);
    }
    const nnb_tensor *w = find(&params, "w_ih_l0");
    const int64_t n = w->shape[0] * w->shape[1];
    float *v = (float *)malloc(sizeof(float) * (size_t)n);
    for (int64_t e = 0; e < n; e++)
        v[e] = ((const float *)w->data)[e] * 1.37f + 1e-3f; /* not bf16-exact */
    nnb_tensor value = *w;
    value.data = v;
    CHECK_MSG(d->load_param(model, &value, err, sizeof err) == 0, "%s load_param: %s", name, err);
    CHECK(d->params(model, &params, err, sizeof err) == 0);
    w = find(&params, "w_ih_l0");
    int rounded = 1;
    for (int64_t e = 0; e < n && rounded; e++)
        rounded = ((const float *)w->data)[e] == nnb_round_bf16(v[e]);
    CHECK_MSG(rounded, "%s bf16 load_param: params() does not show the loaded weight rounded to bf16", name);
    if (d->infer(model, c.mini_batch, err, sizeof err) == 0 && d->outputs(model, &outs, err, sizeof err) == 0) {
        double e = infer_error(&params, &outs, &c, c.mini_batch);
        CHECK_MSG(e <= tol, "%s bf16 infer after load_param: y rel err %.3g, tol %.3g", name, e, tol);
    }
    free(v);
    d->destroy(model);
}

/* Declared precisions, and available()'s answer = nnb_cpu_precision_available's, word for word. */
static int check_declared_and_refusal(const nnb_registry *reg) {
    char want[256] = "", got[256] = "";
    const int bf16_here = nnb_cpu_precision_available(NNB_PRECISION_BF16, want, sizeof want);
    for (size_t i = 0; i < sizeof runners / sizeof *runners; i++) {
        const nnb_runner_desc *d = nnb_test_runner(reg, runners[i]);
        if (!d)
            continue;
        CHECK_MSG(nnb_runner_supports_precision(d, NNB_PRECISION_FP32) &&
                      nnb_runner_supports_precision(d, NNB_PRECISION_BF16),
                  "%s does not declare fp32 and bf16", d->name);
        CHECK_MSG(!nnb_runner_supports_precision(d, NNB_PRECISION_FP16) &&
                      !nnb_runner_supports_precision(d, NNB_PRECISION_TF32),
                  "%s declares fp16 or tf32, which oneDNN 2.6's CPU LSTM lacks", d->name);
        nnb_config c = nnb_test_lstm_config(3, 2, 4, 4, 1, 1);
        CHECK_MSG(d->available && d->available(&c, got, sizeof got) == 1, "%s refuses fp32", d->name);
        c.precision = NNB_PRECISION_BF16;
        got[0] = 0;
        CHECK_MSG(d->available && d->available(&c, got, sizeof got) == bf16_here, "%s: available(bf16) is not %d",
                  d->name, bf16_here);
        if (!bf16_here)
            CHECK_MSG(!strcmp(got, want), "%s refuses bf16 with '%s', not '%s'", d->name, got, want);
    }
    if (!bf16_here)
        printf("SKIP numeric checks: %s\n", want);
    return bf16_here;
}

int main(void) {
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    if (!check_declared_and_refusal(&reg)) {
        nnb_registry_free(&reg);
        return nnb_test_finish() ? 1 : SKIP_RETURN_CODE;
    }
    /* one and several layers, I != H, B = 1, and wide enough for the blocked kernels */
    const int64_t fixed[][5] = {{5, 3, 4, 4, 1}, {4, 3, 6, 7, 3}, {6, 1, 19, 9, 2}, {12, 8, 64, 64, 2}};
    for (size_t s = 0; s < sizeof fixed / sizeof *fixed; s++) {
        nnb_config c = nnb_test_lstm_config(fixed[s][0], fixed[s][1], fixed[s][2], fixed[s][3], fixed[s][4], 11);
        check_bf16(&reg, "cudnn", c);
        check_bf16(&reg, "cudnn_dropout", c);
        check_bf16(&reg, "cudnn_layernorm", c);
    }
    check_serving_bf16(&reg, "cudnn", nnb_test_lstm_config(6, 5, 12, 16, 2, 5));
    check_serving_bf16(&reg, "cudnn_dropout", nnb_test_lstm_config(6, 5, 12, 16, 3, 5));
    const int64_t vl[][4] = {{4, 3, 5, 1}, {24, 3, 4, 2}, {8, 32, 32, 1}};
    for (size_t s = 0; s < sizeof vl / sizeof *vl; s++)
        check_bf16(&reg, "vl_cudnn", nnb_test_lstm_config(0, vl[s][0], vl[s][1], vl[s][2], vl[s][3], 11));
    nnb_registry_free(&reg);
    return nnb_test_finish();
}
