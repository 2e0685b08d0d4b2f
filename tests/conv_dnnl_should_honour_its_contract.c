/*
 * The oneDNN `conv` runner's contract beyond its numbers (those: conv_dnnl_should_match_reference):
 *   - backward parts: "bwd_data" then "bwd_weights"; running them one by one gives exactly what backward() gives;
 *     --conv-dir builds and runs only the parts asked for (FLOPs follow);
 *   - --conv-algo: direct and auto match the reference, winograd either matches or is refused in the documented
 *     words, an unknown name is refused listing the valid ones; describe() names the implementation oneDNN chose,
 *     the algorithm it resolved and the data type;
 *   - infer(n): the first n samples of the forward's y, for several n; n outside 1..mb refused;
 *   - load_param: new weights (rounded to the precision) reach every primitive; a wrong name or shape is refused;
 *   - refusals: no --conv problem, an unsupported --dtype; available() uses kernels/precision's wording.
 * Tolerance where values are compared with conv_ref or across primitives: 4 eps sqrt(K) (see the other test).
 */
#include "conv_dnnl_support.h"
#include "nnb_precision.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static nnb_conv_problem problem(void) {
    return conv_problem_2d(1, 3, 16, 12, 12, 24, 3, 3, 1, 1, 1, 1, 0, 0, "contract_3x3");
}

static const nnb_tensor *find(const nnb_tensor_list *l, const char *name) {
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->items[i].name, name))
            return &l->items[i];
    return NULL;
}

static size_t bytes_of(const nnb_tensor *t) {
    size_t n = 4;
    for (int i = 0; i < t->ndim; i++)
        n *= (size_t)t->shape[i];
    return n;
}

/* A copy of every output, to compare after another pass. */
static void *snapshot(const nnb_tensor_list *out, size_t *total) {
    *total = 0;
    for (int i = 0; i < out->count; i++)
        *total += bytes_of(&out->items[i]);
    char *s = malloc(*total), *p = s;
    for (int i = 0; i < out->count; i++) {
        memcpy(p, out->items[i].data, bytes_of(&out->items[i]));
        p += bytes_of(&out->items[i]);
    }
    return s;
}

static void parts_equal_whole(const nnb_runner_desc *d) {
    nnb_conv_problem p = problem();
    nnb_config cfg = conv_config(&p, NNB_PRECISION_FP32);
    char err[512] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create: %s", err);
    if (!m)
        return;
    CHECK(d->backward_part_count(m) == 2);
    CHECK(!strcmp(d->backward_part_name(m, 0), "bwd_data") && !strcmp(d->backward_part_name(m, 1), "bwd_weights"));
    CHECK(d->backward_part_name(m, 2) == NULL);
    CHECK(d->backward_part(m, 2, err, sizeof err) != 0);
    nnb_tensor_list out;
    size_t n1, n2;
    CHECK(d->forward(m, err, sizeof err) == 0 && d->backward(m, err, sizeof err) == 0);
    CHECK(d->outputs(m, &out, err, sizeof err) == 0);
    void *whole = snapshot(&out, &n1);
    CHECK(d->forward(m, err, sizeof err) == 0);
    CHECK(d->backward_part(m, 0, err, sizeof err) == 0 && d->backward_part(m, 1, err, sizeof err) == 0);
    CHECK(d->outputs(m, &out, err, sizeof err) == 0);
    void *parts = snapshot(&out, &n2);
    CHECK_MSG(n1 == n2 && !memcmp(whole, parts, n1), "backward parts differ from the whole backward");
    free(whole), free(parts);
    CHECK(d->forward_flops(m) == 2.0 * 3 * 24 * 12 * 12 * 16 * 9);
    CHECK(d->backward_flops(m) == 2 * d->forward_flops(m));
    d->destroy(m);
}

/* --conv-dir bwd_w: one part, dw right, dx never written (zeros); fwd: no part, backward() does nothing. */
static void dirs_select_parts(const nnb_runner_desc *d) {
    nnb_conv_problem p = problem();
    nnb_config cfg = conv_config(&p, NNB_PRECISION_FP32);
    cfg.conv_dirs = NNB_CONV_DIR_BWD_W;
    char err[512] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create: %s", err);
    if (!m)
        return;
    CHECK(d->backward_part_count(m) == 1 && !strcmp(d->backward_part_name(m, 0), "bwd_weights"));
    CHECK(d->backward_flops(m) == d->forward_flops(m));
    nnb_tensor_list out;
    CHECK(d->forward(m, err, sizeof err) == 0 && d->backward(m, err, sizeof err) == 0);
    CHECK(d->outputs(m, &out, err, sizeof err) == 0);
    /* outputs() lists what ran (runners/common/conv_data.h): dw and db, not dx */
    const nnb_tensor *dx = find(&out, "dx"), *dw = find(&out, "dw");
    CHECK_MSG(dx == NULL, "bwd_w only: dx should not be listed");
    CHECK(dw != NULL);
    double dw_max = 0;
    for (size_t i = 0; dw && i < bytes_of(dw) / 4; i++)
        dw_max = fmax(dw_max, fabs(((const float *)dw->data)[i]));
    CHECK_MSG(dw_max > 0, "bwd_w only: max|dw| %g (want > 0)", dw_max);
    d->destroy(m);

    cfg.conv_dirs = NNB_CONV_DIR_FWD;
    m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create: %s", err);
    if (!m)
        return;
    CHECK(d->backward_part_count(m) == 0 && d->backward_flops(m) == 0);
    CHECK(d->forward(m, err, sizeof err) == 0 && d->backward(m, err, sizeof err) == 0);
    d->destroy(m);
}

static void check_describe(const nnb_runner_desc *d, void *m, const char *dtype) {
    char info[4096];
    CHECK(d->describe(m, info, sizeof info) == 0);
    printf("describe: %s\n", info);
    CHECK_STR_CONTAINS(info, dtype);
    CHECK_STR_CONTAINS(info, "\"bwd_weights\":{\"impl\":\"");
    CHECK_STR_CONTAINS(info, "\"threads\":2");
    const char *impl = strstr(info, "\"impl\":\"");
    CHECK_MSG(impl && impl[8] != '?' && strchr(impl + 8, ':') < strchr(impl + 8, '"'),
              "describe() names no implementation: %s", info);
}

/* One algorithm on the 3x3 problem: 0 when it ran and matched conv_ref, 1 when refused (message in err). */
static int run_algo(const nnb_runner_desc *d, const char *algo, int precision, char *err, size_t err_len) {
    nnb_conv_problem p = problem();
    nnb_config cfg = conv_config(&p, precision);
    cfg.conv_algo = algo;
    void *m = d->create(&cfg, err, err_len);
    if (!m)
        return 1;
    check_describe(d, m, precision == NNB_PRECISION_BF16 ? "\"dtype\":\"bf16\"" : "\"dtype\":\"f32\"");
    d->destroy(m);
    conv_errors e, k = conv_reduction_lengths(&p);
    conv_run_against_reference(d, &cfg, 1, &e);
    double u = precision == NNB_PRECISION_BF16 ? nnb_precision_unit_roundoff(precision) : 0;
    /* Winograd's transforms lose more than direct summation: a looser bound, still far below a wrong result. */
    double scale = !strcmp(algo, "winograd") ? 100.0 : 4.0;
    CHECK_MSG(e.y <= u + scale * FLT_EPSILON * sqrt(k.y) && e.dx <= u + scale * FLT_EPSILON * sqrt(k.dx) &&
                  e.dw <= scale * FLT_EPSILON * sqrt(k.dw),
              "--conv-algo %s: errors y %.3g dx %.3g dw %.3g", algo, e.y, e.dx, e.dw);
    return 0;
}

static void algorithms(const nnb_runner_desc *d) {
    char err[512] = "";
    CHECK_MSG(run_algo(d, "direct", NNB_PRECISION_FP32, err, sizeof err) == 0, "direct: %s", err);
    CHECK_MSG(run_algo(d, "auto", NNB_PRECISION_FP32, err, sizeof err) == 0, "auto: %s", err);
    if (run_algo(d, "winograd", NNB_PRECISION_FP32, err, sizeof err)) {
        printf("winograd fp32 refused: %s\n", err);
        CHECK_STR_CONTAINS(err, "--conv-algo winograd: oneDNN has no winograd implementation for this problem on "
                                "this CPU");
        CHECK_STR_CONTAINS(err, "use direct or auto");
    }
    CHECK(run_algo(d, "fft", NNB_PRECISION_FP32, err, sizeof err) == 1);
    CHECK_STR_CONTAINS(err, "--conv-algo 'fft'");
    CHECK_STR_CONTAINS(err, "valid: auto, direct, winograd");
    char reason[256];
    if (nnb_cpu_precision_available(NNB_PRECISION_BF16, reason, sizeof reason)) {
        CHECK_MSG(run_algo(d, "direct", NNB_PRECISION_BF16, err, sizeof err) == 0, "bf16 direct: %s", err);
        if (run_algo(d, "winograd", NNB_PRECISION_BF16, err, sizeof err)) {
            printf("winograd bf16 refused: %s\n", err);
            CHECK_STR_CONTAINS(err, "oneDNN has no winograd implementation");
        }
    }
}

/* infer(n) gives the forward's first n samples of y; then forward gives every output again. */
static void infer_prefixes(const nnb_runner_desc *d) {
    nnb_conv_problem p = problem();
    nnb_config cfg = conv_config(&p, NNB_PRECISION_FP32);
    char err[512] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create: %s", err);
    if (!m)
        return;
    nnb_tensor_list out;
    CHECK(d->forward(m, err, sizeof err) == 0 && d->outputs(m, &out, err, sizeof err) == 0);
    const nnb_tensor *y = find(&out, "y");
    size_t per_sample = bytes_of(y) / 4 / (size_t)p.mb;
    float *full = malloc(bytes_of(y));
    memcpy(full, y->data, bytes_of(y));
    double tol = 4.0 * FLT_EPSILON * sqrt(16.0 * 9.0);
    int64_t ns[] = {1, 2, 3, 1};
    for (int i = 0; i < 4; i++) {
        CHECK_MSG(d->infer(m, ns[i], err, sizeof err) == 0, "infer(%lld): %s", (long long)ns[i], err);
        CHECK(d->outputs(m, &out, err, sizeof err) == 0);
        CHECK(out.count == 1 && !strcmp(out.items[0].name, "y") && out.items[0].shape[0] == ns[i]);
        const float *got = out.items[0].data;
        double diff = 0, scale = 1e-30;
        for (size_t j = 0; j < per_sample * (size_t)ns[i]; j++) {
            diff = fmax(diff, fabs((double)got[j] - full[j]));
            scale = fmax(scale, fabs((double)full[j]));
        }
        CHECK_MSG(diff / scale <= tol, "infer(%lld) differs from forward: %.3g", (long long)ns[i], diff / scale);
    }
    CHECK(d->infer(m, 0, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "outside 1..3");
    CHECK(d->infer(m, 4, err, sizeof err) != 0);
    CHECK(d->forward(m, err, sizeof err) == 0 && d->outputs(m, &out, err, sizeof err) == 0);
    CHECK(out.count == 4 && find(&out, "y")->shape[0] == 3);
    free(full);
    d->destroy(m);
}

/* New w and b by value: forward, backward and infer use them (rounded to bf16 in a bf16 run). */
static void load_param(const nnb_runner_desc *d, int precision) {
    nnb_conv_problem p = problem();
    nnb_config cfg = conv_config(&p, precision);
    char err[512] = "";
    void *m = d->create(&cfg, err, sizeof err);
    CHECK_MSG(m != NULL, "create: %s", err);
    if (!m)
        return;
    nnb_tensor_list in;
    CHECK(d->params(m, &in, err, sizeof err) == 0);
    const nnb_tensor *w = find(&in, "w");
    size_t n = bytes_of(w) / 4;
    float *nw = malloc(n * 4), nb[24];
    for (size_t i = 0; i < n; i++)
        nw[i] = 0.3f * (float)sin((double)i) + 1e-3f; /* not bf16 values: load_param must round them */
    for (int i = 0; i < 24; i++)
        nb[i] = (float)i / 7.0f;
    nnb_tensor tw = *w, tb = *find(&in, "b");
    tw.data = nw, tb.data = nb;
    CHECK_MSG(d->load_param(m, &tw, err, sizeof err) == 0, "load_param w: %s", err);
    CHECK_MSG(d->load_param(m, &tb, err, sizeof err) == 0, "load_param b: %s", err);
    CHECK(((const float *)w->data)[5] == nnb_round_bf16(nw[5]) || precision != NNB_PRECISION_BF16);
    CHECK(((const float *)w->data)[5] == nw[5] || precision != NNB_PRECISION_FP32);
    CHECK(d->forward(m, err, sizeof err) == 0 && d->backward(m, err, sizeof err) == 0);
    conv_errors e, k = conv_reduction_lengths(&p);
    double u = precision == NNB_PRECISION_BF16 ? nnb_precision_unit_roundoff(precision) : 0;
    if (!conv_model_errors(d, m, &p, &e))
        CHECK_MSG(e.y <= u + 4 * FLT_EPSILON * sqrt(k.y) && e.dx <= u + 4 * FLT_EPSILON * sqrt(k.dx),
                  "after load_param (%s): y %.3g dx %.3g", nnb_precision_name(precision), e.y, e.dx);
    tw.name = "x";
    CHECK(d->load_param(m, &tw, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "'x' is not a parameter");
    tw.name = "w";
    tw.shape[0] = 5;
    CHECK(d->load_param(m, &tw, err, sizeof err) != 0);
    CHECK_STR_CONTAINS(err, "w is float32 (24, 16, 3, 3), got float32 (5, 16, 3, 3)");
    free(nw);
    d->destroy(m);
}

static void refusals(const nnb_runner_desc *d) {
    nnb_conv_problem p = problem();
    nnb_config cfg = conv_config(&p, NNB_PRECISION_FP32);
    char err[512] = "", want[256] = "";
    cfg.conv = NULL;
    CHECK(d->create(&cfg, err, sizeof err) == NULL);
    CHECK_STR_CONTAINS(err, "--conv");
    cfg = conv_config(&p, NNB_PRECISION_FP16);
    CHECK(d->available(&cfg, err, sizeof err) == 0);
    CHECK_STR_CONTAINS(err, "supported: fp32, bf16");
    CHECK(d->create(&cfg, err, sizeof err) == NULL);
    CHECK_STR_CONTAINS(err, "--dtype fp16");
    cfg = conv_config(&p, NNB_PRECISION_BF16);
    int can = nnb_cpu_precision_available(NNB_PRECISION_BF16, want, sizeof want);
    CHECK(d->available(&cfg, err, sizeof err) == can);
    if (!can)
        CHECK(!strcmp(err, want));
    CHECK(nnb_runner_supports_precision(d, NNB_PRECISION_BF16) &&
          !nnb_runner_supports_precision(d, NNB_PRECISION_TF32));
}

int main(void) {
    const nnb_runner_desc *d = conv_dnnl_runner();
    if (!d)
        return nnb_test_finish();
    CHECK(!strcmp(d->group, NNB_GROUP_CONVS) && !strcmp(d->device, NNB_DEVICE_CPU) &&
          !strcmp(d->reference, "conv_ref"));
    parts_equal_whole(d);
    dirs_select_parts(d);
    algorithms(d);
    infer_prefixes(d);
    load_param(d, NNB_PRECISION_FP32);
    char reason[256];
    if (nnb_cpu_precision_available(NNB_PRECISION_BF16, reason, sizeof reason))
        load_param(d, NNB_PRECISION_BF16);
    refusals(d);
    return nnb_test_finish();
}
