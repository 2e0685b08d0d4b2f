/*
 * The conv_ref runner (group convs) as the driver sees it, without the driver:
 *   - the plugin (dlopen'ed from the build tree) exports conv_ref: group convs, cpu, a reference, all four
 *     precisions, backward parts;
 *   - create() without a problem fails naming --conv;
 *   - outputs equal kernels/conv_ref on the runner's own params() bit for bit (the runner adds nothing);
 *   - backward() equals backward_part(0) then (1) bit for bit, the parts named bwd_data, bwd_weights;
 *   - conv_dirs: bwd_d or bwd_w alone runs one part (named so), lists only its gradients, and counts its FLOPs;
 *     fwd alone has no parts and a backward that does nothing;
 *   - infer(n) = the forward's first n samples, y's batch axis n long; n outside 1..mb refused;
 *   - load_param takes w and b (rounded to the precision), refuses inputs, unknown names and wrong shapes
 *     naming the tensor and both shapes;
 *   - bf16 / fp16: params() are the seeded tensors rounded to the precision, and the outputs are the kernel's on
 *     them; describe() is JSON saying which implementation ran.
 */
#include "conv_data.h"
#include "conv_ref.h"
#include "conv_ref_runner.h"
#include "nnb_precision.h"
#include "test_support.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static const nnb_runner_desc *const D = &nnb_conv_ref_runner_desc;

/* g2 mb3 ic4 ih7 iw6 oc6 oh4 ow6 kh3 kw3 sh2 ph1 pw1 dh1 ("ref_test"), with bias. */
static nnb_conv_problem test_problem(void) {
    nnb_conv_problem p = {.struct_size = sizeof p,
                          .ndims = 4,
                          .g = 2,
                          .mb = 3,
                          .ic = 4,
                          .oc = 6,
                          .id = 1,
                          .ih = 7,
                          .iw = 6,
                          .od = 1,
                          .oh = 3,
                          .ow = 6,
                          .kd = 1,
                          .kh = 3,
                          .kw = 3,
                          .sd = 1,
                          .sh = 2,
                          .sw = 1,
                          .pd = 0,
                          .ph = 1,
                          .pw = 1,
                          .dd = 0,
                          .dh = 1,
                          .dw = 0,
                          .has_bias = 1,
                          .name = "ref_test"};
    return p; /* oh = (7 + 2 - 5) / 2 + 1 = 3, ow = (6 + 2 - 3) + 1 = 6 */
}

static nnb_config config(const nnb_conv_problem *p, uint32_t dirs, int precision) {
    nnb_config c;
    nnb_config_defaults(&c);
    c.conv = p;
    c.conv_dirs = dirs;
    c.precision = precision;
    c.seed = 7;
    return c;
}

static void *create(const nnb_config *c) {
    char err[512] = "";
    void *m = D->create(c, err, sizeof err);
    CHECK_MSG(m != NULL, "create: %s", err);
    return m;
}

static const nnb_tensor *find(nnb_tensor_list l, const char *name) {
    for (int i = 0; i < l.count; i++)
        if (!strcmp(l.items[i].name, name))
            return &l.items[i];
    return NULL;
}

static int64_t count(const nnb_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

static nnb_tensor_list list(void *m, int params) {
    nnb_tensor_list l = {0, NULL};
    char err[256];
    CHECK((params ? D->params(m, &l, err, sizeof err) : D->outputs(m, &l, err, sizeof err)) == 0);
    return l;
}

static int same_bits(const nnb_tensor *a, const float *b) { return a && !memcmp(a->data, b, count(a) * 4); }

static nnb_conv_geom geom(const nnb_conv_problem *p) {
    return (nnb_conv_geom){p->g,  p->mb, p->ic, p->oc, p->id, p->ih, p->iw, p->od, p->oh, p->ow, p->kd,
                           p->kh, p->kw, p->sd, p->sh, p->sw, p->pd, p->ph, p->pw, p->dd, p->dh, p->dw};
}

static void check_plugin_entry(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/nnb_cpu_conv_ref.so", nnb_test_env("NNBENCH_RUNNER_DIR"));
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK_MSG(h != NULL, "dlopen %s: %s", path, dlerror());
    if (!h)
        return;
    nnb_plugin_entry_fn entry = (nnb_plugin_entry_fn)dlsym(h, "nnbench_plugin_entry");
    const nnb_plugin *pl = entry ? entry() : NULL;
    CHECK(pl && pl->abi_major == NNB_ABI_MAJOR && pl->runner_count == 1);
    const nnb_runner_desc *d = pl ? &pl->runners[0] : NULL;
    CHECK(d && !strcmp(d->name, "conv_ref") && !strcmp(d->group, NNB_GROUP_CONVS) && !strcmp(d->device, "cpu"));
    CHECK(d && (d->flags & NNB_FLAG_REFERENCE) && !(d->flags & NNB_FLAG_HIDDEN));
    for (int p = 0; d && p < NNB_PRECISION_COUNT; p++)
        CHECK_MSG(nnb_runner_supports_precision(d, p), "conv_ref does not declare %s", nnb_precision_name(p));
    CHECK(d && d->backward_part_count && d->backward_part_name && d->backward_part && d->infer && d->load_param);
}

/* --check creates the reference with the checked runner's --conv-algo: any name is accepted (and ignored). */
static void check_any_algo(const nnb_conv_problem *p) {
    const char *algos[] = {"winograd", "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM", "find", "direct"};
    for (int i = 0; i < 4; i++) {
        nnb_config c = config(p, NNB_CONV_DIR_ALL, NNB_PRECISION_FP32);
        c.conv_algo = algos[i];
        void *m = create(&c);
        char desc[1024] = "";
        CHECK(m && D->describe(m, desc, sizeof desc) == 0);
        CHECK_STR_CONTAINS(desc, "\"algo\":\"direct\"");
        if (m)
            D->destroy(m);
    }
}

static void check_missing_problem(void) {
    nnb_config c = config(NULL, NNB_CONV_DIR_ALL, NNB_PRECISION_FP32);
    char err[512] = "";
    CHECK(D->create(&c, err, sizeof err) == NULL);
    CHECK_STR_CONTAINS(err, "--conv");
    CHECK_STR_CONTAINS(err, "conv_ref");
    printf("no problem: %s\n", err);
}

/* Forward and whole backward against the kernel on params(); parts against the whole, bit for bit. */
static void check_passes_and_parts(const nnb_conv_problem *p) {
    nnb_config c = config(p, NNB_CONV_DIR_ALL, NNB_PRECISION_FP32);
    void *whole = create(&c), *parts = create(&c);
    char err[256];
    if (!whole || !parts)
        return;
    CHECK(D->backward_part_count(parts) == 2);
    CHECK(!strcmp(D->backward_part_name(parts, 0), "bwd_data") &&
          !strcmp(D->backward_part_name(parts, 1), "bwd_weights"));
    CHECK(D->backward_part_name(parts, 2) == NULL && D->backward_part(parts, 2, err, sizeof err) == -1);
    CHECK(D->forward(whole, err, sizeof err) == 0 && D->backward(whole, err, sizeof err) == 0);
    CHECK(D->forward(parts, err, sizeof err) == 0);
    CHECK(D->backward_part(parts, 0, err, sizeof err) == 0 && D->backward_part(parts, 1, err, sizeof err) == 0);

    nnb_tensor_list in = list(whole, 1), out = list(whole, 0), out_parts = list(parts, 0);
    CHECK(in.count == 4 && out.count == 4 && out_parts.count == 4);
    nnb_conv_geom g = geom(p);
    int64_t ny = nnb_conv_geom_y_count(&g), nx = nnb_conv_geom_x_count(&g), nw = nnb_conv_geom_w_count(&g);
    float *y = malloc(ny * 4), *dx = malloc(nx * 4), *dw = malloc(nw * 4), *db = malloc(p->oc * 4);
    const float *x = find(in, "x")->data, *w = find(in, "w")->data, *b = find(in, "b")->data;
    const float *gy = find(in, "grad_y")->data;
    nnb_conv_ref_forward(&g, x, w, b, y), nnb_conv_ref_backward_data(&g, gy, w, dx);
    nnb_conv_ref_backward_weights(&g, x, gy, dw, db);
    const char *names[] = {"y", "dx", "dw", "db"};
    const float *want[] = {y, dx, dw, db};
    for (int k = 0; k < 4; k++) {
        CHECK_MSG(same_bits(find(out, names[k]), want[k]), "backward's %s differs from the kernel's", names[k]);
        CHECK_MSG(same_bits(find(out_parts, names[k]), want[k]), "the parts' %s differs from the kernel's", names[k]);
    }
    double macs = 3.0 * 6 * 3 * 6 * (4 / 2) * 3 * 3;
    CHECK(D->forward_flops(whole) == 2 * macs && D->backward_flops(whole) == 4 * macs);
    free(y), free(dx), free(dw), free(db);
    D->destroy(whole), D->destroy(parts);
}

/* One direction alone: its part only, its gradients only, its FLOPs only. */
static void check_dirs(const nnb_conv_problem *p, uint32_t dirs, const char *part, const char *const *grads,
                       int ngrads) {
    nnb_config c = config(p, dirs, NNB_PRECISION_FP32);
    void *m = create(&c);
    char err[256];
    if (!m)
        return;
    CHECK_MSG(D->backward_part_count(m) == (part ? 1 : 0), "dirs 0x%x: %d parts", dirs, D->backward_part_count(m));
    if (part)
        CHECK_MSG(!strcmp(D->backward_part_name(m, 0), part), "dirs 0x%x: part %s", dirs, D->backward_part_name(m, 0));
    CHECK(D->forward(m, err, sizeof err) == 0 && D->backward(m, err, sizeof err) == 0);
    nnb_tensor_list out = list(m, 0);
    CHECK_MSG(out.count == 1 + ngrads && find(out, "y"), "dirs 0x%x: %d outputs", dirs, out.count);
    for (int k = 0; k < ngrads; k++) {
        const nnb_tensor *t = find(out, grads[k]);
        double norm = 0;
        for (int64_t i = 0; t && i < count(t); i++)
            norm += fabs(((const float *)t->data)[i]);
        CHECK_MSG(t && norm > 0, "dirs 0x%x: %s missing or not computed", dirs, grads[k]);
    }
    CHECK(D->backward_flops(m) == (part ? D->forward_flops(m) : 0.0));
    D->destroy(m);
}

static void check_infer(const nnb_conv_problem *p) {
    nnb_config c = config(p, NNB_CONV_DIR_ALL, NNB_PRECISION_FP32);
    void *m = create(&c);
    char err[256];
    if (!m)
        return;
    CHECK(D->forward(m, err, sizeof err) == 0);
    int64_t per_sample = p->oc * p->oh * p->ow;
    float *full = malloc(p->mb * per_sample * 4);
    memcpy(full, find(list(m, 0), "y")->data, p->mb * per_sample * 4);
    CHECK(D->infer(m, 2, err, sizeof err) == 0);
    nnb_tensor_list out = list(m, 0);
    const nnb_tensor *y = find(out, "y");
    CHECK(out.count == 1 && y && y->shape[0] == 2 && y->shape[1] == p->oc && count(y) == 2 * per_sample);
    CHECK_MSG(y && !memcmp(y->data, full, 2 * per_sample * 4), "infer(2) differs from the forward's first samples");
    CHECK(D->infer(m, 0, err, sizeof err) == -1);
    CHECK(D->infer(m, p->mb + 1, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "1..3");
    CHECK(D->forward(m, err, sizeof err) == 0 && list(m, 0).count == 4 && find(list(m, 0), "y")->shape[0] == 3);
    free(full);
    D->destroy(m);
}

/* load_param must fail with a message containing every one of `want` (NULL-terminated). */
static void expect_refusal(void *m, const nnb_tensor *v, const char *const *want) {
    char err[512] = "";
    CHECK_MSG(D->load_param(m, v, err, sizeof err) != 0, "load_param '%s' accepted a bad tensor", v->name);
    for (int i = 0; want[i]; i++)
        CHECK_STR_CONTAINS(err, want[i]);
}

static void check_load_param(const nnb_conv_problem *p) {
    nnb_config c = config(p, NNB_CONV_DIR_ALL, NNB_PRECISION_BF16);
    void *m = create(&c);
    if (!m)
        return;
    float vals[6 * 2 * 3 * 3];
    for (int i = 0; i < 108; i++)
        vals[i] = 1.0f + (float)i / 1024.0f; /* 1 + i/1024: not all bf16-representable */
    nnb_tensor v = {.name = "w", .dtype = NNB_F32, .ndim = 4, .shape = {6, 2, 3, 2}, .data = vals};
    expect_refusal(m, &v, (const char *const[]){"'w'", "(6, 2, 3, 2)", "(6, 2, 3, 3)", NULL});
    v.shape[3] = 3, v.dtype = NNB_F64;
    expect_refusal(m, &v, (const char *const[]){"'w'", "float64", "float32", NULL});
    v.dtype = NNB_F32, v.name = "x";
    expect_refusal(m, &v, (const char *const[]){"'x'", "input", NULL});
    v.name = "grad_y";
    expect_refusal(m, &v, (const char *const[]){"'grad_y'", "input", NULL});
    v.name = "w_nope";
    expect_refusal(m, &v, (const char *const[]){"'w_nope'", "no such parameter", NULL});
    v.name = "w";
    char err[512] = "";
    CHECK_MSG(D->load_param(m, &v, err, sizeof err) == 0, "load_param w: %s", err);
    const float *w = find(list(m, 1), "w")->data;
    int rounded = 1;
    for (int i = 0; i < 108; i++)
        rounded &= w[i] == nnb_round_bf16(vals[i]);
    CHECK_MSG(rounded, "load_param under bf16 does not round w to bf16");
    nnb_tensor b = {.name = "b", .dtype = NNB_F32, .ndim = 1, .shape = {6}, .data = vals};
    CHECK_MSG(D->load_param(m, &b, err, sizeof err) == 0, "load_param b: %s", err);
    CHECK(((const float *)find(list(m, 1), "b")->data)[5] == nnb_round_bf16(vals[5]));
    D->destroy(m);
}

/* Reduced precisions: the data rounded (and not all equal to fp32's), the outputs the kernel's on them. */
static void check_precision(const nnb_conv_problem *p, int precision, float (*round)(float)) {
    nnb_config c32 = config(p, NNB_CONV_DIR_ALL, NNB_PRECISION_FP32), c = config(p, NNB_CONV_DIR_ALL, precision);
    void *m32 = create(&c32), *m = create(&c);
    char err[256];
    if (!m32 || !m)
        return;
    nnb_tensor_list in32 = list(m32, 1), in = list(m, 1);
    for (int k = 0; k < in.count; k++) {
        const float *a = in32.items[k].data, *r = in.items[k].data;
        int64_t n = count(&in.items[k]), same_as_rounded = 0, changed = 0;
        for (int64_t i = 0; i < n; i++)
            same_as_rounded += r[i] == round(a[i]), changed += r[i] != a[i];
        CHECK_MSG(same_as_rounded == n && changed > 0, "%s %s: %lld of %lld rounded, %lld changed",
                  nnb_precision_name(precision), in.items[k].name, (long long)same_as_rounded, (long long)n,
                  (long long)changed);
    }
    CHECK(D->forward(m, err, sizeof err) == 0);
    nnb_conv_geom g = geom(p);
    float *y = malloc(nnb_conv_geom_y_count(&g) * 4);
    nnb_conv_ref_forward(&g, find(in, "x")->data, find(in, "w")->data, find(in, "b")->data, y);
    CHECK_MSG(same_bits(find(list(m, 0), "y"), y), "%s: y is not the kernel's on the rounded data",
              nnb_precision_name(precision));
    char desc[1024];
    CHECK(D->describe(m, desc, sizeof desc) == 0);
    cJSON *j = cJSON_Parse(desc);
    const cJSON *impl = cJSON_GetObjectItemCaseSensitive(j, "impl");
    CHECK_MSG(cJSON_IsString(impl) && !strcmp(impl->valuestring, "reference direct loops, double accumulation"),
              "describe: %s", desc);
    char rounded_to[64];
    snprintf(rounded_to, sizeof rounded_to, "\"data\":\"seeded fp32 rounded to %s\"", nnb_precision_name(precision));
    CHECK_STR_CONTAINS(desc, rounded_to);
    CHECK_STR_CONTAINS(desc, "ref_test");
    cJSON_Delete(j);
    free(y);
    D->destroy(m32), D->destroy(m);
}

/* tf32 is a CUDA math mode: the data stay fp32, bit for bit. */
static void check_tf32_data(const nnb_conv_problem *p) {
    nnb_config c32 = config(p, NNB_CONV_DIR_ALL, NNB_PRECISION_FP32),
               c = config(p, NNB_CONV_DIR_ALL, NNB_PRECISION_TF32);
    void *m32 = create(&c32), *m = create(&c);
    if (!m32 || !m)
        return;
    nnb_tensor_list in32 = list(m32, 1), in = list(m, 1);
    for (int k = 0; k < in.count; k++)
        CHECK_MSG(same_bits(&in.items[k], in32.items[k].data), "tf32 changed %s", in.items[k].name);
    D->destroy(m32), D->destroy(m);
}

/* nnb_conv_check_tolerance: 1e-4 on a small fp32 problem; the precision's roundoff on top; the backward-weights
 * reduction (mb * oh * ow) dominating for a large batch; 0 (the driver's default) without a problem. */
static void check_tolerance_helper(const nnb_conv_problem *p) {
    nnb_config c = config(p, NNB_CONV_DIR_ALL, NNB_PRECISION_FP32);
    CHECK_NEAR(nnb_conv_check_tolerance(&c), 1e-4, 0);
    c.precision = NNB_PRECISION_BF16;
    CHECK_NEAR(nnb_conv_check_tolerance(&c), 1e-4 + 4 * 0x1p-8, 1e-12);
    c.precision = NNB_PRECISION_FP16;
    CHECK_NEAR(nnb_conv_check_tolerance(&c), 1e-4 + 4 * 0x1p-11, 1e-12);
    nnb_conv_problem big = *p;
    big.mb = 1 << 20; /* K = 2^20 * 18 */
    c = config(&big, NNB_CONV_DIR_ALL, NNB_PRECISION_FP32);
    CHECK_NEAR(nnb_conv_check_tolerance(&c), 8 * 0x1p-23 * sqrt(18.0 * (1 << 20)), 1e-12);
    c.conv = NULL;
    CHECK(nnb_conv_check_tolerance(&c) == 0.0);
}

int main(void) {
    nnb_conv_problem p = test_problem();
    check_plugin_entry();
    check_missing_problem();
    check_any_algo(&p);
    check_passes_and_parts(&p);
    check_dirs(&p, NNB_CONV_DIR_FWD | NNB_CONV_DIR_BWD_D, "bwd_data", (const char *const[]){"dx"}, 1);
    check_dirs(&p, NNB_CONV_DIR_BWD_W, "bwd_weights", (const char *const[]){"dw", "db"}, 2);
    check_dirs(&p, NNB_CONV_DIR_FWD, NULL, NULL, 0);
    check_infer(&p);
    check_load_param(&p);
    check_precision(&p, NNB_PRECISION_BF16, nnb_round_bf16);
    check_precision(&p, NNB_PRECISION_FP16, nnb_round_fp16);
    check_tf32_data(&p);
    check_tolerance_helper(&p);
    return nnb_test_finish();
}
