/*
 * The cuDNN `conv` runner (plugin nnb_cuda_conv) against the plain reference kernels/conv_ref, on a real device
 * (label gpu; exits 77, reported skipped, where no CUDA device is usable): y, dx, dw, db in every precision the
 * device offers, on shapes with groups, depthwise, stride 2, padding, dilation, odd and non-square sizes, 1x1 and
 * one 3-D problem, with cuDNN's heuristics and with measured (find) algorithms; the backward parts equal the whole
 * backward; infer(n) equals the forward's first n samples; describe() names each direction's algorithm.
 *
 * Loaded with dlopen, so the test needs neither the driver's --conv parser nor the conv_ref plugin. The reference
 * reads the runner's own params() (the seeded problem rounded to the precision), so only the runner's arithmetic
 * differs. Tolerance, normwise (max |got - ref| / max |ref| per tensor): fp32 1e-3 (FMA math; FFT and Winograd
 * algorithms, which cuDNN's heuristics may pick, lose a few more digits than direct summation); tf32 8e-3 (operands
 * rounded to 10 bits, u = 2^-11, accumulated in fp32 over up to ~600 terms); fp16 4e-3 (results stored in half:
 * 2u = 2^-10 for the rounding of each result plus the accumulation); bf16 1.6e-2 (stored in bfloat16: 4u = 2^-6).
 * Estimates made without a device: every error is printed so they can be tightened from the first real run.
 */
#include "conv_ref.h"
#include "test_support.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static const double tolerance[NNB_PRECISION_COUNT] = {1e-3, 8e-3, 1.6e-2, 4e-3};
static int ran;

static nnb_conv_problem problem(int64_t g, int64_t mb, int64_t ic, int64_t ih, int64_t iw, int64_t oc, int64_t kh,
                                int64_t kw, int64_t s, int64_t p, int64_t d) {
    nnb_conv_problem q = {.struct_size = sizeof q,
                          .ndims = 4,
                          .g = g,
                          .mb = mb,
                          .ic = ic,
                          .oc = oc,
                          .id = 1,
                          .ih = ih,
                          .iw = iw,
                          .od = 1,
                          .kd = 1,
                          .kh = kh,
                          .kw = kw,
                          .sd = 1,
                          .sh = s,
                          .sw = s,
                          .ph = p,
                          .pw = p,
                          .dh = d,
                          .dw = d,
                          .has_bias = 1,
                          .name = "test"};
    q.oh = (ih + 2 * p - ((kh - 1) * (d + 1) + 1)) / s + 1;
    q.ow = (iw + 2 * p - ((kw - 1) * (d + 1) + 1)) / s + 1;
    return q;
}

static const nnb_tensor *find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

static int64_t count_of(const nnb_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

static double normwise(const float *got, const float *ref, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)got[i] - ref[i]));
        den = fmax(den, fabs((double)ref[i]));
    }
    return den > 0 ? num / den : num;
}

static void compare(const char *what, const nnb_tensor_list *outs, const char *name, const float *ref, int p) {
    const nnb_tensor *t = find(outs, name);
    CHECK_MSG(t != NULL, "%s: no output %s", what, name);
    if (!t)
        return;
    double e = normwise(t->data, ref, count_of(t));
    printf("  %s %s %s: error %.3g (tolerance %.3g)\n", what, nnb_precision_name(p), name, e, tolerance[p]);
    CHECK_MSG(e <= tolerance[p], "%s %s %s: error %.3g > %.3g", what, nnb_precision_name(p), name, e, tolerance[p]);
}

static void check_one(const nnb_runner_desc *d, const nnb_conv_problem *q, int p, const char *algo) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.conv = q, cfg.precision = p, cfg.conv_algo = algo, cfg.allow_tf32 = p == NNB_PRECISION_TF32;
    char err[1024] = "";
    if (!d->available(&cfg, err, sizeof err)) {
        printf("  %s: not available here: %s\n", nnb_precision_name(p), err);
        return;
    }
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create (%s, %s): %s", nnb_precision_name(p), algo, err);
    if (!m)
        return;
    ran++;
    nnb_tensor_list params, outs;
    CHECK(d->forward(m, err, sizeof err) == 0 && d->backward(m, err, sizeof err) == 0);
    CHECK(d->params(m, &params, err, sizeof err) == 0 && d->outputs(m, &outs, err, sizeof err) == 0);
    nnb_conv_geom g = {q->g,  q->mb, q->ic, q->oc, q->id, q->ih, q->iw, q->od, q->oh, q->ow, q->kd,
                       q->kh, q->kw, q->sd, q->sh, q->sw, q->pd, q->ph, q->pw, q->dd, q->dh, q->dw};
    const float *x = find(&params, "x")->data, *w = find(&params, "w")->data, *b = find(&params, "b")->data;
    const float *gy = find(&params, "grad_y")->data;
    int64_t nx = nnb_conv_geom_x_count(&g), nw = nnb_conv_geom_w_count(&g), ny = nnb_conv_geom_y_count(&g);
    float *y = malloc((size_t)ny * 4), *dx = malloc((size_t)nx * 4), *dw = malloc((size_t)nw * 4);
    float *db = malloc((size_t)q->oc * 4);
    nnb_conv_ref_forward(&g, x, w, b, y);
    nnb_conv_ref_backward_data(&g, gy, w, dx);
    nnb_conv_ref_backward_weights(&g, x, gy, dw, db);
    compare(algo, &outs, "y", y, p);
    compare(algo, &outs, "dx", dx, p);
    compare(algo, &outs, "dw", dw, p);
    compare(algo, &outs, "db", db, p);
    /* parts, one at a time, give the same results */
    CHECK(d->backward_part_count(m) == 2);
    CHECK(!strcmp(d->backward_part_name(m, 0), "bwd_data") && !strcmp(d->backward_part_name(m, 1), "bwd_weights"));
    CHECK(d->backward_part(m, 1, err, sizeof err) == 0 && d->backward_part(m, 0, err, sizeof err) == 0);
    CHECK(d->outputs(m, &outs, err, sizeof err) == 0);
    compare("parts", &outs, "dx", dx, p);
    compare("parts", &outs, "dw", dw, p);
    /* infer(1): the first sample of the forward */
    CHECK(d->infer(m, 1, err, sizeof err) == 0 && d->outputs(m, &outs, err, sizeof err) == 0);
    CHECK(outs.count == 1 && outs.items[0].shape[0] == 1);
    CHECK_MSG(normwise(outs.items[0].data, y, ny / q->mb) <= tolerance[p], "infer(1) differs from the forward");
    static char info[4096];
    CHECK(d->describe(m, info, sizeof info) == 0);
    CHECK_STR_CONTAINS(info, "\"bwd_w\":{\"algo\":\"");
    printf("  %s\n", info);
    free(y), free(dx), free(dw), free(db);
    d->destroy(m);
}

int main(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s/nnb_cuda_conv.so", nnb_test_env("NNBENCH_RUNNER_DIR"));
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK_MSG(h != NULL, "dlopen %s: %s", path, dlerror());
    if (!h)
        return nnb_test_finish();
    nnb_plugin_entry_fn entry = (nnb_plugin_entry_fn)dlsym(h, NNB_PLUGIN_ENTRY_SYMBOL);
    const nnb_runner_desc *d = &entry()->runners[0];
    nnb_config probe;
    nnb_config_defaults(&probe);
    char why[512] = "";
    if (!d->available(&probe, why, sizeof why)) {
        printf("skipped: %s\n", why);
        return 77;
    }
    nnb_conv_problem cases[] = {
        problem(1, 2, 3, 9, 7, 5, 3, 5, 2, 1, 1),     problem(2, 2, 4, 8, 8, 6, 3, 3, 1, 1, 0),
        problem(8, 2, 8, 10, 10, 8, 3, 3, 1, 1, 0),   problem(1, 3, 16, 7, 7, 32, 1, 1, 1, 0, 0),
        problem(1, 4, 64, 14, 14, 64, 3, 3, 1, 1, 0),
    };
    nnb_conv_problem q3 = problem(1, 2, 3, 6, 7, 4, 3, 3, 1, 1, 0);
    q3.ndims = 5, q3.id = 5, q3.kd = 3, q3.sd = 2, q3.pd = 1, q3.od = 3;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        for (int p = 0; p < NNB_PRECISION_COUNT; p++) {
            printf("case %zu:\n", i);
            check_one(d, &cases[i], p, "auto");
            check_one(d, &cases[i], p, "find");
        }
    check_one(d, &q3, NNB_PRECISION_FP32, "auto");
    CHECK_MSG(ran > 0, "no precision ran on this device");
    return nnb_test_finish();
}
