/*
 * The CUDA ResNet execution plan (runners/cuda/resnet/resnet_plan.h) against
 * the architecture table and hand-computed cases, for resnet18 and resnet50,
 * unfused and fused (jit), at the test size (N=2, S=64) and the default one
 * (N=32, S=224):
 *   - descriptors: every activation's dims are the table's, strides packed NCHW;
 *   - convolutions: every conv step's geometry class matches its layer, classes
 *     are distinct, counts hand-computed (resnet18: 20 convs in 11 geometries);
 *   - fusion: which bn layers fold with relu / add+relu (hand-counted), where
 *     the fused step runs, what it reads and writes;
 *   - gradients: the plan's overwrite / accumulate / alias decisions, replayed
 *     on a linearised network (every op passes its output gradient to each
 *     input), give at every read exactly the gradient an independent
 *     accumulate-everything pass over the arch table computes (exact integers);
 *   - fc: the cuBLAS GEMM dims, hand-written, and executed with a plain
 *     column-major GEMM against the row-major definitions (tolerance 1e-5
 *     relative: float sums of 512..2048 products in another order);
 *   - workspace bookkeeping and the int-overflow error;
 *   - inference buffers (nnb_resnet_plan_infer_slots): replaying the steps in execution order, every
 *     activation a step reads is still in its slot (never overwritten before its last reader, fused steps
 *     at their own position included), no step writes the slot of one of its inputs, slots are large enough
 *     at the full batch, the input and the logits are external, and only a few slots are needed.
 */
#include "nnb_support.h"
#include "resnet_plan.h"
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

static int same_tensor_shape(const nnb_plan_tensor *t, nnb_resnet_shape s) {
    return t->n == s.n && t->c == s.c && t->h == s.h && t->w == s.w;
}

static void check_descriptors(const nnb_resnet_arch *a, const nnb_resnet_plan *p) {
    int bad = 0;
    for (int i = 0; i < a->num_acts; i++) {
        const nnb_plan_tensor *t = &p->act_desc[i];
        if (!same_tensor_shape(t, a->acts[i]) || t->stride_w != 1 || t->stride_h != t->w ||
            t->stride_c != t->h * t->w || t->stride_n != t->c * t->h * t->w)
            bad++;
    }
    CHECK_MSG(bad == 0, "resnet%d: %d activation descriptors differ from the table / packed NCHW", a->depth, bad);
}

static void check_convs(const nnb_resnet_arch *a, const nnb_resnet_plan *p) {
    int convs = 0, uses = 0, bad = 0;
    for (int i = 0; i < p->num_steps; i++) {
        const nnb_plan_step *s = &p->steps[i];
        const nnb_resnet_layer *l = &a->layers[i];
        if (l->op != NNB_RESNET_CONV) {
            bad += s->conv_class != -1;
            continue;
        }
        convs++;
        if (s->op != NNB_STEP_CONV || s->conv_class < 0 || s->conv_class >= p->num_conv_classes) {
            bad++;
            continue;
        }
        const nnb_plan_conv *c = &p->convs[s->conv_class];
        if (!same_tensor_shape(&c->x, l->in) || !same_tensor_shape(&c->y, l->out) || c->k != l->out.c ||
            c->c != l->in.c || c->r != l->kernel || c->stride != l->stride || c->pad != l->pad)
            bad++;
    }
    for (int k = 0; k < p->num_conv_classes; k++) {
        uses += p->convs[k].uses;
        for (int j = 0; j < k; j++)
            if (!memcmp(&p->convs[j].x, &p->convs[k].x, sizeof p->convs[k].x) && p->convs[j].k == p->convs[k].k &&
                p->convs[j].r == p->convs[k].r && p->convs[j].stride == p->convs[k].stride)
                bad++;
    }
    CHECK_MSG(bad == 0, "resnet%d: %d convolution class mismatches", a->depth, bad);
    CHECK_MSG(uses == convs, "resnet%d: class uses %d != convolutions %d", a->depth, uses, convs);
    CHECK(convs == (a->depth == 18 ? 20 : 53));
    /* resnet18: conv1, layer1's one 3x3 geometry, and per later stage: strided 3x3, 3x3, 1x1 downsample. */
    if (a->depth == 18)
        CHECK(p->num_conv_classes == 11);
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static void check_fusion(const nnb_resnet_arch *a, const nnb_resnet_plan *p) {
    int blocks = a->depth == 18 ? 8 : 16, downsamples = a->depth == 18 ? 3 : 4;
    if (!p->fused) {
        int bad = 0;
        for (int i = 0; i < p->num_steps; i++)
            bad += p->steps[i].layer != i || p->steps[i].src != a->layers[i].src ||
                   p->steps[i].src2 != a->layers[i].src2 || p->steps[i].dst != a->layers[i].dst ||
                   p->steps[i].op == NNB_STEP_SKIP || p->steps[i].op == NNB_STEP_BN_RELU ||
                   p->steps[i].op == NNB_STEP_BN_ADD_RELU;
        CHECK_MSG(bad == 0, "resnet%d unfused: %d steps differ from their layers", a->depth, bad);
        CHECK(p->fused_bn_relu == 0 && p->fused_bn_add_relu == 0);
        return;
    }
    /* stem bn1 + (bn1 per basic block | bn1, bn2 per bottleneck); the last bn of every block with add+relu */
    CHECK(p->fused_bn_relu == (a->depth == 18 ? 1 + blocks : 1 + 2 * blocks));
    CHECK(p->fused_bn_add_relu == blocks);
    int plain_bn = 0, skips = 0, bad = 0;
    for (int i = 0; i < p->num_steps; i++) {
        const nnb_plan_step *s = &p->steps[i];
        const nnb_resnet_layer *l = &a->layers[i];
        if (s->op == NNB_STEP_SKIP)
            skips++;
        if (s->op == NNB_STEP_BN) {
            plain_bn++;
            bad += !ends_with(l->name, "downsample.1");
        }
        if (s->op == NNB_STEP_BN_RELU) /* at the bn, writing the relu's output; the relu is folded */
            bad += l->op != NNB_RESNET_BN || a->layers[i + 1].op != NNB_RESNET_RELU || s->layer != i ||
                   s->src != l->src || s->dst != a->layers[i + 1].dst || p->steps[i + 1].op != NNB_STEP_SKIP;
        if (s->op == NNB_STEP_BN_ADD_RELU) { /* at the add, with the block's last bn, writing the relu's output */
            const nnb_resnet_layer *bn = &a->layers[s->layer];
            bad += l->op != NNB_RESNET_ADD || bn->op != NNB_RESNET_BN ||
                   !ends_with(bn->name, a->depth == 18 ? "bn2" : "bn3") || bn->dst != l->src || s->src != bn->src ||
                   s->src2 != l->src2 || a->layers[i + 1].op != NNB_RESNET_RELU || s->dst != a->layers[i + 1].dst ||
                   p->steps[s->layer].op != NNB_STEP_SKIP || p->steps[i + 1].op != NNB_STEP_SKIP;
            bad += s->src_grad != NNB_GRAD_OVERWRITE || s->src2_grad != NNB_GRAD_OVERWRITE;
        }
    }
    CHECK_MSG(bad == 0, "resnet%d fused: %d fused steps misplaced", a->depth, bad);
    CHECK(plain_bn == downsamples);
    CHECK(skips == p->fused_bn_relu + 2 * p->fused_bn_add_relu);
}

/* Linearised network: d(input) += d(output) for every input of every layer. */
static void reference_gradients(const nnb_resnet_arch *a, double *g) {
    memset(g, 0, sizeof *g * (size_t)a->num_acts);
    g[a->num_acts - 1] = 1;
    for (int i = a->num_layers - 1; i >= 0; i--) {
        const nnb_resnet_layer *l = &a->layers[i];
        g[l->src] += g[l->dst];
        if (l->src2 >= 0)
            g[l->src2] += g[l->dst];
    }
}

/* Replays the plan's backward write modes on the same linearised network. */
static void check_gradient_flow(const nnb_resnet_arch *a, const nnb_resnet_plan *p) {
    double *ref = malloc(sizeof *ref * (size_t)a->num_acts), *buf = malloc(sizeof *buf * (size_t)a->num_acts);
    for (int i = 0; i < a->num_acts; i++)
        buf[i] = -1e9; /* "never written" */
    reference_gradients(a, ref);
    int logits = a->num_acts - 1, bad_reads = 0, bad_modes = 0;
    buf[p->grad_owner[logits]] = 1;
    CHECK(p->grad_owner[logits] == logits);
    for (int i = p->num_steps - 1; i >= 0; i--) {
        const nnb_plan_step *s = &p->steps[i];
        if (s->op == NNB_STEP_SKIP)
            continue;
        double gy = buf[p->grad_owner[s->dst]];
        if (gy != ref[s->dst])
            bad_reads++;
        int inputs[2] = {s->src, s->src2};
        nnb_grad_mode modes[2] = {s->src_grad, s->src2_grad};
        for (int k = 0; k < 2; k++) {
            if (inputs[k] < 0) {
                bad_modes += modes[k] != NNB_GRAD_NONE;
                continue;
            }
            int o = p->grad_owner[inputs[k]];
            if (modes[k] == NNB_GRAD_NONE)
                bad_modes += o != p->grad_owner[s->dst] || s->op != NNB_STEP_ADD;
            else if (modes[k] == NNB_GRAD_OVERWRITE)
                buf[o] = gy;
            else
                buf[o] += gy;
        }
    }
    CHECK_MSG(bad_reads == 0, "resnet%d %s: %d steps read an incomplete gradient", a->depth,
              p->fused ? "fused" : "unfused", bad_reads);
    CHECK_MSG(bad_modes == 0, "resnet%d %s: %d inconsistent gradient modes", a->depth, p->fused ? "fused" : "unfused",
              bad_modes);
    CHECK_MSG(buf[p->grad_owner[0]] == ref[0], "resnet%d: dx gets %g paths, expected %g", a->depth,
              buf[p->grad_owner[0]], ref[0]);
    free(ref);
    free(buf);
}

/* Hand cases of the unfused resnet18 plan: layer1.0 (identity shortcut), layer2.0 (downsample). */
static void check_resnet18_modes(const nnb_resnet_arch *a, const nnb_resnet_plan *p) {
    int conv1 = -1, add10 = -1, c10 = -1, add20 = -1, c20 = -1, ds20 = -1;
    for (int i = 0; i < a->num_layers; i++) {
        const char *n = a->layers[i].name;
        if (!strcmp(n, "conv1"))
            conv1 = i;
        if (!strcmp(n, "layer1.0.add"))
            add10 = i;
        if (!strcmp(n, "layer1.0.conv1"))
            c10 = i;
        if (!strcmp(n, "layer2.0.add"))
            add20 = i;
        if (!strcmp(n, "layer2.0.conv1"))
            c20 = i;
        if (!strcmp(n, "layer2.0.downsample.0"))
            ds20 = i;
    }
    if (conv1 < 0 || add10 < 0 || c10 < 0 || add20 < 0 || c20 < 0 || ds20 < 0) {
        CHECK_MSG(0, "resnet18 layer names not found");
        return;
    }
    CHECK(p->steps[conv1].src_grad == NNB_GRAD_OVERWRITE);  /* dx */
    CHECK(p->steps[add10].src_grad == NNB_GRAD_NONE);       /* bn2 output: aliased */
    CHECK(p->steps[add10].src2_grad == NNB_GRAD_OVERWRITE); /* block input: first of two writers */
    CHECK(p->steps[c10].src_grad == NNB_GRAD_ACCUMULATE);   /* ... conv1 is the second */
    CHECK(p->steps[add20].src_grad == NNB_GRAD_NONE && p->steps[add20].src2_grad == NNB_GRAD_NONE);
    CHECK(p->steps[ds20].src_grad == NNB_GRAD_OVERWRITE);
    CHECK(p->steps[c20].src_grad == NNB_GRAD_ACCUMULATE);
    CHECK(p->grad_owner[a->layers[add10].src] == a->layers[add10].dst);
    CHECK(p->grad_owner[a->layers[add10].src2] == a->layers[add10].src2);
    CHECK(p->readers[a->layers[add10].src2] == 2);
}

/* Column-major C (m x n, ldc) = op(A) op(B), as cublasSgemm with alpha 1, beta 0. */
static void colmajor_sgemm(const nnb_plan_gemm *g, const float *A, const float *B, float *C) {
    for (int j = 0; j < g->n; j++)
        for (int i = 0; i < g->m; i++) {
            double sum = 0;
            for (int l = 0; l < g->k; l++) {
                float a = g->transa ? A[l + (size_t)i * g->lda] : A[i + (size_t)l * g->lda];
                float b = g->transb ? B[j + (size_t)l * g->ldb] : B[l + (size_t)j * g->ldb];
                sum += (double)a * b;
            }
            C[i + (size_t)j * g->ldc] = (float)sum;
        }
}

static double rel_err(const float *got, const double *ref, size_t n) {
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabs(ref[i]) > max_ref)
            max_ref = fabs(ref[i]);
        if (fabs(got[i] - ref[i]) > max_diff)
            max_diff = fabs(got[i] - ref[i]);
    }
    return max_diff / (max_ref > 0 ? max_ref : 1);
}

static void check_fc(const nnb_resnet_arch *a, const nnb_resnet_plan *p) {
    int N = (int)a->batch, C = a->depth == 18 ? 512 : 2048, O = 1000;
    CHECK(p->fc_in == C && p->fc_out == O && p->batch == N);
    nnb_plan_gemm f = {1, 0, O, N, C, C, C, O}, dx = {0, 0, C, N, O, C, O, C}, dw = {0, 1, C, O, N, C, O, C};
    CHECK(!memcmp(&p->fc_fwd, &f, sizeof f));
    CHECK(!memcmp(&p->fc_dx, &dx, sizeof dx));
    CHECK(!memcmp(&p->fc_dw, &dw, sizeof dw));
    if (N > 4)
        return; /* the numeric check at the small size only */
    float *x = malloc(sizeof(float) * (size_t)N * C), *w = malloc(sizeof(float) * (size_t)O * C);
    float *g = malloc(sizeof(float) * (size_t)N * O), *out = malloc(sizeof(float) * (size_t)O * C);
    double *ref = malloc(sizeof(double) * (size_t)O * C);
    nnb_fill_normal(x, (size_t)N * C, 7, "x");
    nnb_fill_normal(w, (size_t)O * C, 7, "w");
    nnb_fill_normal(g, (size_t)N * O, 7, "g");
    /* logits (N, O) = x (N, C) w^T */
    colmajor_sgemm(&p->fc_fwd, w, x, out);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double s = 0;
            for (int c = 0; c < C; c++)
                s += (double)x[n * C + c] * w[(size_t)o * C + c];
            ref[n * O + o] = s;
        }
    CHECK_MSG(rel_err(out, ref, (size_t)N * O) < 1e-5, "fc forward GEMM mapping");
    /* dx (N, C) = g (N, O) w */
    colmajor_sgemm(&p->fc_dx, w, g, out);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int o = 0; o < O; o++)
                s += (double)g[n * O + o] * w[(size_t)o * C + c];
            ref[n * C + c] = s;
        }
    CHECK_MSG(rel_err(out, ref, (size_t)N * C) < 1e-5, "fc dx GEMM mapping");
    /* dw (O, C) = g^T x */
    colmajor_sgemm(&p->fc_dw, x, g, out);
    for (int o = 0; o < O; o++)
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int n = 0; n < N; n++)
                s += (double)g[n * O + o] * x[n * C + c];
            ref[(size_t)o * C + c] = s;
        }
    CHECK_MSG(rel_err(out, ref, (size_t)O * C) < 1e-5, "fc dw GEMM mapping");
    free(x), free(w), free(g), free(out), free(ref);
}

static void check_infer_slots(const nnb_resnet_arch *a, const nnb_resnet_plan *p) {
    int *slot = malloc(sizeof *slot * (size_t)a->num_acts), *content = malloc(sizeof *content * (size_t)a->num_acts);
    size_t *floats = calloc((size_t)a->num_acts, sizeof *floats);
    int count = nnb_resnet_plan_infer_slots(p, slot, floats), logits = a->num_acts - 1;
    const char *what = p->fused ? "fused" : "unfused";
    CHECK_MSG(count >= 2 && count <= 6, "resnet%d %s: %d inference slots", a->depth, what, count);
    CHECK(slot[0] == -1 && slot[logits] == -1);
    for (int k = 0; k < a->num_acts; k++)
        content[k] = -1;
    int stale = 0, aliased = 0, small = 0, missing = 0;
    for (int i = 0; i < p->num_steps; i++) {
        const nnb_plan_step *s = &p->steps[i];
        if (s->op == NNB_STEP_SKIP)
            continue;
        const int inputs[2] = {s->src, s->src2};
        for (int j = 0; j < 2; j++) {
            int in = inputs[j];
            if (in <= 0) /* none, or the input buffer */
                continue;
            if (slot[in] < 0 || content[slot[in]] != in)
                stale++;
            if (slot[in] >= 0 && slot[in] == slot[s->dst])
                aliased++;
        }
        if (s->dst == logits)
            continue;
        if (slot[s->dst] < 0 || slot[s->dst] >= count) {
            missing++;
            continue;
        }
        if (floats[slot[s->dst]] < nnb_resnet_shape_count(a->acts[s->dst]))
            small++;
        content[slot[s->dst]] = s->dst;
    }
    CHECK_MSG(stale == 0, "resnet%d %s: %d reads of an activation no longer in its slot", a->depth, what, stale);
    CHECK_MSG(aliased == 0, "resnet%d %s: %d steps write the slot of an input", a->depth, what, aliased);
    CHECK_MSG(small == 0 && missing == 0, "resnet%d %s: %d slots too small, %d outputs without one", a->depth, what,
              small, missing);
    printf("resnet%d %s N=%lld S=%lld: %d inference slots\n", a->depth, what, (long long)a->batch,
           (long long)a->image_size, count);
    free(slot), free(content), free(floats);
}

static void check_case(int depth, int64_t n, int64_t s) {
    nnb_resnet_arch a;
    char err[256];
    if (nnb_resnet_arch_build(&a, depth, n, s, err, sizeof err)) {
        CHECK_MSG(0, "arch: %s", err);
        return;
    }
    for (int fused = 0; fused <= 1; fused++) {
        nnb_resnet_plan p;
        int rc = nnb_resnet_plan_build(&p, &a, fused, err, sizeof err);
        CHECK_MSG(rc == 0, "plan resnet%d N=%lld S=%lld fused=%d: %s", depth, (long long)n, (long long)s, fused, err);
        if (rc)
            continue;
        CHECK(p.num_steps == a.num_layers && p.num_acts == a.num_acts);
        CHECK(p.max_bn_channels == (depth == 18 ? 512 : 2048));
        check_descriptors(&a, &p);
        check_convs(&a, &p);
        check_fusion(&a, &p);
        check_gradient_flow(&a, &p);
        if (depth == 18 && !fused)
            check_resnet18_modes(&a, &p);
        check_fc(&a, &p);
        check_infer_slots(&a, &p);
        nnb_resnet_plan_free(&p);
    }
    nnb_resnet_arch_free(&a);
}

static void check_workspace_and_limits(void) {
    size_t req[4] = {3, 100, 0, 7};
    CHECK(nnb_plan_workspace_bytes(req, 4) == 100);
    CHECK(nnb_plan_workspace_bytes(req, 0) == 0);
    /* conv1's output (64, 64, 1024, 1024) has 2^32 elements: beyond cuDNN's int descriptors */
    nnb_resnet_arch a;
    nnb_resnet_plan p;
    char err[256] = "";
    if (nnb_resnet_arch_build(&a, 18, 64, 2048, err, sizeof err)) {
        CHECK_MSG(0, "arch: %s", err);
        return;
    }
    CHECK(nnb_resnet_plan_build(&p, &a, 0, err, sizeof err) == -1);
    CHECK_STR_CONTAINS(err, "exceeds cuDNN");
    nnb_resnet_plan_free(&p); /* safe on a failed plan */
    nnb_resnet_arch_free(&a);
}

int main(void) {
    check_case(18, 2, 64);
    check_case(50, 2, 64);
    check_case(18, 32, 224);
    check_case(50, 32, 224);
    check_case(18, 1, 33); /* the smallest train-mode input for N = 1 */
    check_workspace_and_limits();
    return nnb_test_finish();
}
