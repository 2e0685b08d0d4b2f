/*
 * Each oneDNN layer wrapper of the CPU ResNet runners (convolution, batch norm
 * training with running statistics, ReLU in place, max pool, residual add,
 * gradient accumulation into an activation read twice, global average pool,
 * inner product; and the fused BN+ReLU / add+ReLU variants) against the plain
 * C double-precision reference layers, on a small hand-made network with
 * awkward shapes: non-square odd input (13x11), channel counts that are not
 * multiples of the 16-channel blocks (3, 20, 24), 7x7/3x3/1x1 convolutions with
 * stride 2 and padding, max pool windows hanging over the border, a shortcut
 * with a strided 1x1 convolution and one identity shortcut, BN over 12 values
 * per channel.
 *
 * The wrappers are the runner's own code (its plugin file resnet_dnnl.c is
 * compiled into this test and its net builders, library nnb_resnet_dnnl, linked
 * in; its model is built from the hand-made table instead of ResNet's);
 * the reference is plugin nnb_cpu_resnet_ref's model (nnb_resnet_ref), linked in.
 *
 * The wrappers' inference path (ABI 1.2 infer: forward_inference primitives, BatchNorm with the running
 * statistics, the same fusions) against the reference's eval mode on the same table, for n = 3, 1, 2.
 *
 * Tolerance: normwise relative error per tensor (max|got - ref| / max|ref|)
 * <= 1e-4. Measured worst: printed below (about 1e-6: the network is shallow
 * and the reductions short); a wrong stride, padding, layout or gradient term
 * gives O(1e-1).
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "../runners/cpu/resnet/resnet_dnnl.c"

#include "conv_input_grad.h" /* whether the stem's own input gradient can run here */
#include "resnet_ref.h"
#include "test_support.h"

/* The reference model (plugin nnb_cpu_resnet_ref's code, linked in) as a descriptor. */
static const nnb_runner_desc ref_desc_of_test = {
    .struct_size = sizeof(nnb_runner_desc),
    .name = "awkward_ref",
    .group = NNB_GROUP_CNNS,
    .device = NNB_DEVICE_CPU,
    .description = "plain C double-precision reference on the hand-made table",
    .flags = NNB_FLAG_REFERENCE,
    .forward = nnb_resnet_ref_forward,
    .backward = nnb_resnet_ref_backward,
    .params = nnb_resnet_ref_params,
    .outputs = nnb_resnet_ref_outputs,
    .describe = nnb_resnet_ref_describe,
    .forward_flops = nnb_resnet_ref_forward_flops,
    .backward_flops = nnb_resnet_ref_backward_flops,
    .destroy = nnb_resnet_ref_destroy,
};

typedef struct table {
    nnb_resnet_arch a;
} table;

static int act(nnb_resnet_arch *a, int64_t c, int64_t h, int64_t w) {
    a->acts[a->num_acts] = (nnb_resnet_shape){a->batch, c, h, w};
    return a->num_acts++;
}

static void param(nnb_resnet_arch *a, int layer, const char *module, const char *suffix, nnb_resnet_param_kind kind,
                  int ndim, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    nnb_resnet_param *p = &a->params[a->num_params++];
    snprintf(p->name, sizeof p->name, "%s.%s", module, suffix);
    p->kind = kind;
    p->learnable = kind != NNB_RESNET_BN_RUNNING_MEAN && kind != NNB_RESNET_BN_RUNNING_VAR;
    if (p->learnable)
        snprintf(p->grad_name, sizeof p->grad_name, "d%s.%s", module, suffix);
    p->layer = layer;
    p->ndim = ndim;
    int64_t d[4] = {d0, d1, d2, d3};
    p->count = 1;
    for (int i = 0; i < ndim; i++)
        p->shape[i] = d[i], p->count *= (size_t)d[i];
    p->offset = a->param_floats;
    a->param_floats += p->count;
}

static int layer(nnb_resnet_arch *a, nnb_resnet_op op, const char *name, int src, int src2, int64_t out_c, int k,
                 int stride, int pad) {
    nnb_resnet_layer *l = &a->layers[a->num_layers];
    int li = a->num_layers++;
    memset(l, 0, sizeof *l);
    l->op = op;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->src = src, l->src2 = src2, l->block = -1, l->param = -1;
    l->in = a->acts[src];
    l->kernel = k, l->stride = stride, l->pad = pad;
    int64_t h = l->in.h, w = l->in.w, c = l->in.c;
    if (op == NNB_RESNET_CONV || op == NNB_RESNET_MAXPOOL)
        h = (h + 2 * pad - k) / stride + 1, w = (w + 2 * pad - k) / stride + 1;
    if (op == NNB_RESNET_CONV || op == NNB_RESNET_FC)
        c = out_c;
    if (op == NNB_RESNET_AVGPOOL || op == NNB_RESNET_FC)
        h = w = 1;
    l->dst = act(a, c, h, w);
    l->out = a->acts[l->dst];
    if (op == NNB_RESNET_CONV) {
        l->param = a->num_params, l->param_count = 1;
        param(a, li, name, "weight", NNB_RESNET_CONV_WEIGHT, 4, out_c, l->in.c, k, k);
    } else if (op == NNB_RESNET_BN) {
        l->param = a->num_params, l->param_count = 4;
        param(a, li, name, "weight", NNB_RESNET_BN_WEIGHT, 1, c, 0, 0, 0);
        param(a, li, name, "bias", NNB_RESNET_BN_BIAS, 1, c, 0, 0, 0);
        param(a, li, name, "running_mean", NNB_RESNET_BN_RUNNING_MEAN, 1, c, 0, 0, 0);
        param(a, li, name, "running_var", NNB_RESNET_BN_RUNNING_VAR, 1, c, 0, 0, 0);
    } else if (op == NNB_RESNET_FC) {
        l->param = a->num_params, l->param_count = 2;
        param(a, li, name, "weight", NNB_RESNET_FC_WEIGHT, 2, out_c, l->in.c, 0, 0);
        param(a, li, name, "bias", NNB_RESNET_FC_BIAS, 1, out_c, 0, 0, 0);
    }
    return l->dst;
}

/* x (3, 3, 13, 11) -> conv7x7 s2 p3 -> bn -> relu -> maxpool -> [conv3x3 s2 p1 -> bn] + [conv1x1 s2 -> bn]
 * -> relu -> [conv3x3 -> bn -> relu -> conv3x3 -> bn] + identity -> relu -> avgpool -> fc (1000). */
static void build_awkward(nnb_resnet_arch *a) {
    memset(a, 0, sizeof *a);
    a->depth = 0, a->batch = 3, a->image_size = 13;
    a->layers = calloc(64, sizeof *a->layers);
    a->acts = calloc(64, sizeof *a->acts);
    a->params = calloc(128, sizeof *a->params);
    int x = act(a, 3, 13, 11);
    int t = layer(a, NNB_RESNET_CONV, "stem", x, -1, 20, 7, 2, 3); /* (20, 7, 6) */
    t = layer(a, NNB_RESNET_BN, "stem_bn", t, -1, 0, 0, 0, 0);
    t = layer(a, NNB_RESNET_RELU, "stem_relu", t, -1, 0, 0, 0, 0);
    int in = layer(a, NNB_RESNET_MAXPOOL, "pool", t, -1, 0, 3, 2, 1); /* (20, 4, 3) */
    t = layer(a, NNB_RESNET_CONV, "a.conv", in, -1, 24, 3, 2, 1);     /* (24, 2, 2) */
    t = layer(a, NNB_RESNET_BN, "a.bn", t, -1, 0, 0, 0, 0);
    int s = layer(a, NNB_RESNET_CONV, "a.down", in, -1, 24, 1, 2, 0); /* (24, 2, 2) */
    s = layer(a, NNB_RESNET_BN, "a.down_bn", s, -1, 0, 0, 0, 0);
    t = layer(a, NNB_RESNET_ADD, "a.add", t, s, 0, 0, 0, 0);
    in = layer(a, NNB_RESNET_RELU, "a.relu", t, -1, 0, 0, 0, 0);
    t = layer(a, NNB_RESNET_CONV, "b.conv1", in, -1, 24, 3, 1, 1);
    t = layer(a, NNB_RESNET_BN, "b.bn1", t, -1, 0, 0, 0, 0);
    t = layer(a, NNB_RESNET_RELU, "b.relu1", t, -1, 0, 0, 0, 0);
    t = layer(a, NNB_RESNET_CONV, "b.conv2", t, -1, 24, 3, 1, 1);
    t = layer(a, NNB_RESNET_BN, "b.bn2", t, -1, 0, 0, 0, 0);
    t = layer(a, NNB_RESNET_ADD, "b.add", t, in, 0, 0, 0, 0);
    t = layer(a, NNB_RESNET_RELU, "b.relu2", t, -1, 0, 0, 0, 0);
    t = layer(a, NNB_RESNET_AVGPOOL, "avgpool", t, -1, 0, 0, 0, 0);
    layer(a, NNB_RESNET_FC, "fc", t, -1, NNB_RESNET_CLASSES, 0, 0, 0);
    for (int i = 0; i < a->num_params; i++)
        if (a->params[i].learnable)
            a->num_weights += (int64_t)a->params[i].count;
}

static void compare(const char *what, void *got, void *ref, const nnb_runner_desc *gd, const nnb_runner_desc *rd) {
    char err[512] = "";
    nnb_tensor_list pg, pr, og, orf;
    CHECK(gd->params(got, &pg, err, sizeof err) == 0 && rd->params(ref, &pr, err, sizeof err) == 0);
    CHECK_MSG(nnb_compare_params(&pr, &pg, err, sizeof err) == 0, "%s: inputs differ: %s", what, err);
    CHECK_MSG(nnb_run_once(gd, got, 1, err, sizeof err) == 0, "%s: %s", what, err);
    CHECK_MSG(nnb_run_once(rd, ref, 1, err, sizeof err) == 0, "%s: %s", what, err);
    CHECK(gd->outputs(got, &og, err, sizeof err) == 0 && rd->outputs(ref, &orf, err, sizeof err) == 0);
    nnb_tensor_check *checks = NULL;
    int count = 0;
    int fails = nnb_compare_tensors(&orf, &og, 1e-4, &checks, &count, err, sizeof err);
    CHECK_MSG(fails == 0, "%s: %d tensors differ (%s)", what, fails, err);
    double worst = 0;
    const char *worst_name = "";
    for (int i = 0; i < count; i++) {
        CHECK_MSG(checks[i].pass, "%s: %s max_rel %.3g > 1e-4", what, checks[i].name, checks[i].max_rel_err);
        if (checks[i].max_rel_err >= worst)
            worst = checks[i].max_rel_err, worst_name = checks[i].name;
    }
    CHECK_MSG(count == 2 + 17 + 10, "%s: compared %d tensors", what, count); /* logits, dx, 17 grads, 10 running */
    printf("%s: %d tensors, worst %s %.3g\n", what, count, worst_name, worst);
    free(checks);
}

/* The inference path (ABI 1.2 infer) of the same wrappers on the same table, after compare()'s training step
 * (so the running statistics are non-trivial, and the same in both up to fp32): infer(n) logits vs the
 * reference's eval mode for n = 3, 1, 2, and twice the same n gives bitwise the same logits. Also 1e-4. */
static void compare_infer(const char *what, void *got, void *ref) {
    char err[512] = "";
    static float first[3 * NNB_RESNET_CLASSES];
    for (int64_t n = 3; n >= 1; n = n == 3 ? 1 : n == 1 ? 2 : 0) {
        nnb_tensor_list og, orf;
        int ok = rn_infer(got, n, err, sizeof err) == 0;
        CHECK_MSG(ok, "%s infer(%lld): %s", what, (long long)n, err);
        ok = ok && nnb_resnet_ref_infer(ref, n, err, sizeof err) == 0;
        CHECK_MSG(ok, "%s reference infer(%lld): %s", what, (long long)n, err);
        if (!ok || rn_outputs(got, &og, err, sizeof err) || nnb_resnet_ref_outputs(ref, &orf, err, sizeof err))
            return;
        CHECK(og.count == 1 + 10 && orf.count == 1 + 10 && og.items[0].shape[0] == n && orf.items[0].shape[0] == n);
        const float *g = og.items[0].data, *r = orf.items[0].data;
        double diff = 0, scale = 1e-30;
        for (int64_t i = 0; i < n * NNB_RESNET_CLASSES; i++)
            diff = fmax(diff, fabs((double)g[i] - r[i])), scale = fmax(scale, fabs((double)r[i]));
        printf("%s: infer(%lld) vs reference eval: %.3g\n", what, (long long)n, diff / scale);
        CHECK_MSG(diff / scale <= 1e-4, "%s: infer(%lld) vs reference eval: %.3g > 1e-4", what, (long long)n,
                  diff / scale);
        if (n == 3)
            memcpy(first, g, sizeof first);
    }
    nnb_tensor_list og;
    CHECK(rn_infer(got, 3, err, sizeof err) == 0 && rn_outputs(got, &og, err, sizeof err) == 0);
    CHECK_MSG(memcmp(og.items[0].data, first, sizeof first) == 0, "%s: infer(3) twice differs", what);
}

int main(void) {
    nnb_config cfg;
    nnb_config_defaults(&cfg);
    cfg.threads = 2;
    cfg.seed = 3;
    char err[512] = "";
    const nnb_runner_desc *dnnl_desc = &runners[0], *ref_desc = &ref_desc_of_test;
    /* Pass 0: the stem's input gradient by oneDNN; pass 1: by kernels/cnn_cpu where the CPU allows
     * (fused variant in the second pass only: the stem's backward does not depend on fusion). */
    for (int pass = 0; pass < 3; pass++) {
        int fused = pass == 2, own = pass >= 1;
        setenv("NNB_RESNET_INPUT_GRAD", own ? "own" : "onednn", 1);
        nnb_resnet_arch a, b;
        build_awkward(&a);
        build_awkward(&b);
        void *got = model_create_from_arch(&a, fused ? "awkward_jit" : "awkward", fused, &cfg, err, sizeof err);
        CHECK_MSG(got != NULL, "create: %s", err);
        void *ref = nnb_resnet_ref_create_from_arch(&b, "awkward_ref", &cfg, err, sizeof err);
        CHECK_MSG(ref != NULL, "create reference: %s", err);
        if (got && ref) {
            compare(fused ? "fused wrappers vs reference"
                    : own ? "wrappers (own stem dx) vs reference"
                          : "wrappers vs reference",
                    got, ref, dnnl_desc, ref_desc);
            compare_infer(fused ? "fused wrappers" : own ? "wrappers (own stem dx)" : "wrappers", got, ref);
            char info[4096];
            CHECK(rn_describe(got, info, sizeof info) == 0);
            printf("%s\n", info);
            const char *s = info;
            CHECK_STR_CONTAINS(s, "\"internal_reorders\":0");
            if (own && nnb_conv_input_grad_available())
                CHECK_STR_CONTAINS(s, "own avx512 direct");
            else
                CHECK(strstr(s, "own avx512 direct") == NULL);
            /* With AVX-512 the two 24-channel adds sit in padded nChw16c and the runner leaves add+ReLU
             * unfused there (fusion_fallbacks 2; see build_add_fwd); on AVX2 (nChw8c) they fuse. Either way
             * the comparison above is what guards the values. */
        }
        model_destroy(got);
        nnb_resnet_ref_destroy(ref);
    }
    /* A misspelt choice is a create error naming the variable, not a silent default. */
    setenv("NNB_RESNET_INPUT_GRAD", "onedn", 1);
    nnb_resnet_arch bad;
    build_awkward(&bad);
    void *m = model_create_from_arch(&bad, "awkward", 0, &cfg, err, sizeof err);
    CHECK(m == NULL);
    CHECK_STR_CONTAINS(err, "NNB_RESNET_INPUT_GRAD='onedn' (valid: own, onednn)");
    model_destroy(m);
    unsetenv("NNB_RESNET_INPUT_GRAD");
    return nnb_test_finish();
}
