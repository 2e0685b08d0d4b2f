/*
 * The oneDNN ResNets (resnet18, resnet50 and their _jit variants) in bf16 against the plain reference computing
 * on the same rounded data (resnet18_ref / resnet50_ref: double math on the bf16-rounded x and conv/fc weights),
 * N=2, S=33, threads 2, seed 11; and the same runners in fp32, so the bf16 errors are shown to be bf16's:
 *   - params(): x and conv/fc weights are bf16 values (rounding them again changes nothing) and differ from the
 *     fp32 run's; BatchNorm parameters are the fp32 ones, untouched; the reference sees the identical inputs.
 *   - every output within the bf16 tolerance (runner's check_tolerance; derivation in docs/resnet.md, "bf16"):
 *     forward outputs (logits, running statistics) in the max norm, gradients in the L2 norm against 10x it.
 *   - the worst bf16 error at least 10x the worst fp32 one, forward and gradients apart: bf16 really ran.
 *   - describe() names the precision, the data types and oneDNN's implementations; fp16 and tf32 are not
 *     declared, and available() refuses tf32 in the shared wording.
 * Skips (77) on a CPU without avx512_bf16 or AMX, with the reason.
 */
#include "nnb_precision.h"
#include "resnet_arch.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static nnb_config small_config(int precision) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.cnn_batch = 2;
    cfg.image_size = 33;
    cfg.threads = 2;
    cfg.seed = 11;
    cfg.precision = precision;
    return cfg;
}

static const char *precision_name(const nnb_config *cfg) {
    return cfg->precision == NNB_PRECISION_BF16 ? "bf16" : "fp32";
}

static const nnb_tensor *find_tensor(nnb_tensor_list l, const char *name) {
    for (int i = 0; i < l.count; i++)
        if (!strcmp(l.items[i].name, name))
            return &l.items[i];
    return NULL;
}

static size_t count_of(const nnb_tensor *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= (size_t)t->shape[d];
    return n;
}

/* max-norm relative error for forward outputs, L2 relative error for gradients ("d..."), as --check judges them. */
static double tensor_error(const nnb_tensor *t, const nnb_tensor *r) {
    const float *x = t->data, *y = r->data;
    double diff2 = 0, ref2 = 0, max_diff = 0, max_ref = 1e-30;
    for (size_t k = 0; k < count_of(t); k++) {
        double d = (double)x[k] - (double)y[k];
        diff2 += d * d, ref2 += (double)y[k] * y[k];
        max_diff = fmax(max_diff, fabs(d)), max_ref = fmax(max_ref, fabs((double)y[k]));
    }
    return t->name[0] == 'd' ? sqrt(diff2 / fmax(ref2, 1e-300)) : max_diff / max_ref;
}

/* One training step of d on cfg; outputs in *out (the model stays alive for them: destroy it after). With
 * perturb > 0, every conv and fc weight is first multiplied by 1 + perturb * r, r uniform in [-1, 1]. */
static void *run_step(const nnb_runner_desc *d, const nnb_config *cfg, double perturb, nnb_tensor_list *out) {
    char err[512] = "";
    void *m = d->create(cfg, err, sizeof err);
    nnb_tensor_list in;
    if (m && perturb > 0 && d->params(m, &in, err, sizeof err) == 0) {
        srand(7);
        for (int i = 0; i < in.count; i++) {
            const nnb_tensor *t = &in.items[i];
            if (!strstr(t->name, "weight") ||
                (!strstr(t->name, "conv") && !strstr(t->name, "downsample.0") && strncmp(t->name, "fc.", 3)))
                continue;
            float *v = malloc(count_of(t) * sizeof *v);
            for (size_t k = 0; v && k < count_of(t); k++)
                v[k] = ((const float *)t->data)[k] * (float)(1 + perturb * (2.0 * rand() / RAND_MAX - 1));
            nnb_tensor moved = *t;
            moved.data = v;
            CHECK_MSG(v && d->load_param(m, &moved, err, sizeof err) == 0, "%s: load_param %s: %s", d->name, t->name,
                      err);
            free(v);
        }
    }
    if (!m || nnb_run_once(d, m, 1, err, sizeof err) || d->outputs(m, out, err, sizeof err)) {
        CHECK_MSG(0, "%s (%s): %s", d->name, precision_name(cfg), err);
        if (m)
            d->destroy(m);
        return NULL;
    }
    return m;
}

/* The training step in bf16 against the reference on the same rounded data. Every tensor within
 *   - the runner's --check tolerance (forward max-norm tol, gradients L2 10 tol), and
 *   - 4 max(s, u): s the problem's own response to a u-sized perturbation (the fp32 runner with its weights
 *     moved by up to u relative), u = 2^-8. bf16 is the exact step on data rounded by u at every stored tensor,
 *     so its error is of the size of s; a bug is not, wherever s is small;
 * and the worst bf16 error at least 10x the worst fp32 one (forward and gradients apart). */
static void bf16_step_against_reference(const nnb_registry *reg, const char *name, const char *ref) {
    const nnb_runner_desc *a = nnb_test_runner(reg, name), *b = nnb_test_runner(reg, ref);
    if (!a || !b)
        return;
    nnb_config fp32 = small_config(NNB_PRECISION_FP32), bf16 = small_config(NNB_PRECISION_BF16);
    const double u = nnb_precision_unit_roundoff(NNB_PRECISION_BF16), tol = a->check_tolerance(&bf16);
    nnb_tensor_list o16, r16, o32, r32, op;
    void *m[5] = {run_step(a, &bf16, 0, &o16), run_step(b, &bf16, 0, &r16), run_step(a, &fp32, 0, &o32),
                  run_step(b, &fp32, 0, &r32), run_step(a, &fp32, u, &op)};
    const nnb_runner_desc *owner[5] = {a, b, a, b, a};
    if (!m[0] || !m[1] || !m[2] || !m[3] || !m[4])
        goto done;
    double worst16[2] = {0, 0}, worst32[2] = {0, 0}, worst_ratio = 0; /* [0] forward, [1] gradients */
    for (int i = 0; i < o16.count; i++) {
        const nnb_tensor *t = &o16.items[i], *r = find_tensor(r16, t->name), *t32 = find_tensor(o32, t->name),
                         *ref32 = find_tensor(r32, t->name), *moved = find_tensor(op, t->name);
        if (!r || !t32 || !ref32 || !moved)
            continue;
        const int grad = t->name[0] == 'd';
        double e16 = tensor_error(t, r), e32 = tensor_error(t32, ref32), sens = tensor_error(moved, t32);
        double allowed = 4 * fmax(sens, u), check_tol = grad ? 10 * tol : tol;
        CHECK_MSG(e16 <= allowed, "bf16 %s vs %s: %s error %.3g > 4 max(sensitivity %.3g, u)", name, ref, t->name, e16,
                  sens);
        CHECK_MSG(e16 <= check_tol, "bf16 %s vs %s: %s error %.3g > --check tolerance %.3g", name, ref, t->name, e16,
                  check_tol);
        worst16[grad] = fmax(worst16[grad], e16), worst32[grad] = fmax(worst32[grad], e32);
        worst_ratio = fmax(worst_ratio, e16 / fmax(sens, u));
    }
    printf("%s vs %s, training step: worst forward max-rel bf16 %.3g fp32 %.3g, worst gradient L2 bf16 %.3g fp32 "
           "%.3g; --check tolerance %.3g (gradients %.3g); worst bf16 error / max(sensitivity, u) %.3g\n",
           name, ref, worst16[0], worst32[0], worst16[1], worst32[1], tol, 10 * tol, worst_ratio);
    CHECK_MSG(worst16[0] >= 10 * worst32[0] && worst16[1] >= 10 * worst32[1], "%s: bf16 errors at least 10x fp32's",
              name);
done:
    for (int i = 0; i < 5; i++)
        if (m[i])
            owner[i]->destroy(m[i]);
}

/* A _jit variant against its unfused runner, both bf16: the same kernels, so the same values (within tol). */
static void bf16_fused_against_unfused(const nnb_registry *reg, const char *name, const char *ref) {
    const nnb_runner_desc *a = nnb_test_runner(reg, name), *b = nnb_test_runner(reg, ref);
    if (!a || !b)
        return;
    nnb_config bf16 = small_config(NNB_PRECISION_BF16);
    nnb_tensor_list oa, ob;
    void *ma = run_step(a, &bf16, 0, &oa), *mb = run_step(b, &bf16, 0, &ob);
    double worst = 0;
    for (int i = 0; ma && mb && i < oa.count; i++) {
        const nnb_tensor *r = find_tensor(ob, oa.items[i].name);
        CHECK_MSG(r != NULL, "%s has %s", ref, oa.items[i].name);
        if (r)
            worst = fmax(worst, tensor_error(&oa.items[i], r));
    }
    CHECK_MSG(ma && mb && worst <= 1e-6, "bf16 %s vs %s: worst error %.3g", name, ref, worst);
    if (ma)
        a->destroy(ma);
    if (mb)
        b->destroy(mb);
}

/* Eval-mode inference (BatchNorm on the running statistics: no batch statistics to amplify rounding) of the
 * whole batch: logits' max-norm relative error against the reference's on the same rounded data; -1 on failure. */
static double infer_error(const nnb_runner_desc *a, const nnb_runner_desc *b, const nnb_config *cfg) {
    char err[512] = "";
    double e = -1;
    void *ma = a->create(cfg, err, sizeof err), *mb = ma ? b->create(cfg, err, sizeof err) : NULL;
    nnb_tensor_list la, lb;
    if (!ma || !mb || a->infer(ma, cfg->cnn_batch, err, sizeof err) || b->infer(mb, cfg->cnn_batch, err, sizeof err) ||
        a->outputs(ma, &la, err, sizeof err) || b->outputs(mb, &lb, err, sizeof err)) {
        CHECK_MSG(0, "%s infer: %s", a->name, err);
        goto done;
    }
    const nnb_tensor *x = find_tensor(la, "logits"), *y = find_tensor(lb, "logits");
    CHECK(x && y && count_of(x) == count_of(y));
    if (!x || !y)
        goto done;
    double max_diff = 0, max_ref = 1e-30;
    for (size_t k = 0; k < count_of(x); k++) {
        const float *u = x->data, *v = y->data;
        max_diff = fmax(max_diff, fabs((double)u[k] - v[k])), max_ref = fmax(max_ref, fabs((double)v[k]));
    }
    e = max_diff / max_ref;
    printf("%s %s vs %s infer: logits max-rel %.3g\n", precision_name(cfg), a->name, b->name, e);
done:
    if (ma)
        a->destroy(ma);
    if (mb)
        b->destroy(mb);
    return e;
}

/* params(): x and the conv/fc weights rounded to bf16, BatchNorm untouched; describe() says what ran. */
static void bf16_params_and_describe(const nnb_registry *reg, const char *name) {
    const nnb_runner_desc *d = nnb_test_runner(reg, name);
    if (!d)
        return;
    CHECK(nnb_runner_supports_precision(d, NNB_PRECISION_BF16) && nnb_runner_supports_precision(d, NNB_PRECISION_FP32));
    CHECK(!nnb_runner_supports_precision(d, NNB_PRECISION_FP16) &&
          !nnb_runner_supports_precision(d, NNB_PRECISION_TF32));
    nnb_config tf32 = small_config(NNB_PRECISION_TF32), bf16 = small_config(NNB_PRECISION_BF16),
               fp32 = small_config(NNB_PRECISION_FP32);
    char reason[256] = "", want[256] = "";
    CHECK(d->available && d->available(&tf32, reason, sizeof reason) == 0);
    nnb_cpu_precision_available(NNB_PRECISION_TF32, want, sizeof want);
    CHECK_MSG(!strcmp(reason, want), "%s refuses tf32 in the shared words: '%s'", name, reason);
    CHECK(d->available(&bf16, reason, sizeof reason) == 1);
    char err[512] = "";
    void *m16 = d->create(&bf16, err, sizeof err), *m32 = d->create(&fp32, err, sizeof err);
    CHECK_MSG(m16 && m32, "%s: %s", name, err);
    nnb_tensor_list p16, p32;
    if (!m16 || !m32 || d->params(m16, &p16, err, sizeof err) || d->params(m32, &p32, err, sizeof err))
        goto done;
    const char *rounded[] = {"x", "conv1.weight", "layer1.0.conv1.weight", "fc.weight", "fc.bias"};
    for (int i = 0; i < 5; i++) {
        const nnb_tensor *t = find_tensor(p16, rounded[i]), *u = find_tensor(p32, rounded[i]);
        CHECK_MSG(t && u, "%s: params() has %s", name, rounded[i]);
        if (!t || !u)
            continue;
        const float *v = t->data, *w = u->data;
        size_t not_bf16 = 0, changed = 0;
        for (size_t k = 0; k < count_of(t); k++)
            not_bf16 += v[k] != nnb_round_bf16(v[k]), changed += v[k] != w[k];
        CHECK_MSG(not_bf16 == 0 && changed > 0, "%s: %s is bf16 (%zu values are not) and differs from fp32's", name,
                  rounded[i], not_bf16);
    }
    const nnb_tensor *bn16 = find_tensor(p16, "bn1.weight"), *bn32 = find_tensor(p32, "bn1.weight");
    CHECK_MSG(bn16 && bn32 && !memcmp(bn16->data, bn32->data, count_of(bn16) * sizeof(float)),
              "%s: BatchNorm parameters stay fp32", name);
    char info[8192];
    CHECK(d->describe(m16, info, sizeof info) == 0);
    printf("%s bf16: %s\n", name, info);
    const char *s = info;
    CHECK_STR_CONTAINS(s, "\"precision\":\"bf16\"");
    CHECK_STR_CONTAINS(s, "\"data_types\":\"activations, conv and fc weights");
    CHECK_STR_CONTAINS(s, "\"body_conv_fwd_impl\":\"");
    CHECK_STR_CONTAINS(s, "\"isa\":\"");
done:
    if (m16)
        d->destroy(m16);
    if (m32)
        d->destroy(m32);
}

/* Eval-mode inference in bf16: within 8u of the reference (roundings of D stored tensors add up like sqrt(D) u;
 * D ~ 64 for ResNet-50), and at least 10x fp32's error. */
static void bf16_infer_against_reference(const nnb_registry *reg, const char *name, const char *ref) {
    const nnb_runner_desc *a = nnb_test_runner(reg, name), *b = nnb_test_runner(reg, ref);
    if (!a || !b)
        return;
    nnb_config fp32 = small_config(NNB_PRECISION_FP32), bf16 = small_config(NNB_PRECISION_BF16);
    double e32 = infer_error(a, b, &fp32), e16 = infer_error(a, b, &bf16);
    const double u = nnb_precision_unit_roundoff(NNB_PRECISION_BF16);
    CHECK_MSG(e16 >= 0 && e16 <= 8 * u, "bf16 %s infer: logits error %.3g > 8u = %.3g", name, e16, 8 * u);
    CHECK_MSG(e16 >= 10 * e32, "%s infer: bf16 error %.3g at least 10x fp32's %.3g", name, e16, e32);
}

int main(void) {
    char why[256];
    if (!nnb_cpu_precision_available(NNB_PRECISION_BF16, why, sizeof why)) {
        printf("SKIP: %s\n", why);
        return 77;
    }
    nnb_registry reg;
    nnb_test_load_runners(&reg);
    bf16_params_and_describe(&reg, "resnet18");
    bf16_infer_against_reference(&reg, "resnet18", "resnet18_ref");
    bf16_infer_against_reference(&reg, "resnet50", "resnet50_ref");
    bf16_step_against_reference(&reg, "resnet18", "resnet18_ref");
    bf16_step_against_reference(&reg, "resnet50", "resnet50_ref");
    bf16_fused_against_unfused(&reg, "resnet18_jit", "resnet18");
    bf16_fused_against_unfused(&reg, "resnet50_jit", "resnet50");
    return nnb_test_finish();
}
