/* Execution plan of the CUDA ResNet runners: see resnet_plan.h. */
#include "resnet_plan.h"

#include "nnb_support.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *nnb_step_op_name(nnb_step_op op) {
    switch (op) {
    case NNB_STEP_SKIP: return "skip";
    case NNB_STEP_CONV: return "conv";
    case NNB_STEP_BN: return "bn";
    case NNB_STEP_RELU: return "relu";
    case NNB_STEP_MAXPOOL: return "maxpool";
    case NNB_STEP_ADD: return "add";
    case NNB_STEP_AVGPOOL: return "avgpool";
    case NNB_STEP_FC: return "fc";
    case NNB_STEP_BN_RELU: return "bn_relu";
    case NNB_STEP_BN_ADD_RELU: return "bn_add_relu";
    }
    return "?";
}

void nnb_resnet_plan_free(nnb_resnet_plan *p) {
    if (!p)
        return;
    free(p->steps);
    free(p->act_desc);
    free(p->act_used);
    free(p->grad_owner);
    free(p->readers);
    free(p->convs);
    memset(p, 0, sizeof *p);
}

size_t nnb_plan_workspace_bytes(const size_t *requests, int count) {
    size_t most = 0;
    for (int i = 0; i < count; i++)
        if (requests[i] > most)
            most = requests[i];
    return most;
}

/* Packed NCHW descriptor; -1 when a dimension or the element count exceeds int (cuDNN's 4-D descriptors). */
static int packed_nchw(nnb_plan_tensor *t, nnb_resnet_shape s) {
    size_t total = nnb_resnet_shape_count(s);
    if (total == 0 || total > (size_t)INT_MAX)
        return -1;
    t->n = (int)s.n, t->c = (int)s.c, t->h = (int)s.h, t->w = (int)s.w;
    t->stride_w = 1;
    t->stride_h = t->w;
    t->stride_c = t->h * t->w;
    t->stride_n = t->c * t->stride_c;
    return 0;
}

/* The single layer reading activation a, or -1 when none or several read it. */
static int sole_reader(const nnb_resnet_arch *a, int act) {
    int found = -1;
    for (int i = 0; i < a->num_layers; i++) {
        const nnb_resnet_layer *l = &a->layers[i];
        if (l->src == act || l->src2 == act) {
            if (found >= 0)
                return -1;
            found = i;
        }
    }
    return found;
}

static void unfused_steps(nnb_resnet_plan *p, const nnb_resnet_arch *a) {
    for (int i = 0; i < a->num_layers; i++) {
        const nnb_resnet_layer *l = &a->layers[i];
        nnb_plan_step *s = &p->steps[i];
        s->layer = i;
        s->src = l->src;
        s->src2 = l->src2;
        s->dst = l->dst;
        s->conv_class = -1;
        switch (l->op) {
        case NNB_RESNET_CONV: s->op = NNB_STEP_CONV; break;
        case NNB_RESNET_BN: s->op = NNB_STEP_BN; break;
        case NNB_RESNET_RELU: s->op = NNB_STEP_RELU; break;
        case NNB_RESNET_MAXPOOL: s->op = NNB_STEP_MAXPOOL; break;
        case NNB_RESNET_ADD: s->op = NNB_STEP_ADD; break;
        case NNB_RESNET_AVGPOOL: s->op = NNB_STEP_AVGPOOL; break;
        case NNB_RESNET_FC: s->op = NNB_STEP_FC; break;
        }
    }
}

/* Folds bn -> relu and bn -> add -> relu (see resnet_plan.h). */
static void fuse_steps(nnb_resnet_plan *p, const nnb_resnet_arch *a) {
    for (int i = 0; i < a->num_layers; i++) {
        if (a->layers[i].op != NNB_RESNET_BN)
            continue;
        int r = sole_reader(a, a->layers[i].dst);
        if (r < 0)
            continue;
        const nnb_resnet_layer *next = &a->layers[r];
        if (next->op == NNB_RESNET_RELU) {
            p->steps[i] =
                (nnb_plan_step){NNB_STEP_BN_RELU, i, a->layers[i].src, -1, next->dst, NNB_GRAD_NONE, NNB_GRAD_NONE, -1};
            p->steps[r].op = NNB_STEP_SKIP;
            p->fused_bn_relu++;
        } else if (next->op == NNB_RESNET_ADD && next->src == a->layers[i].dst) {
            int relu = sole_reader(a, next->dst);
            if (relu < 0 || a->layers[relu].op != NNB_RESNET_RELU)
                continue;
            p->steps[r] = (nnb_plan_step){
                NNB_STEP_BN_ADD_RELU, i, a->layers[i].src, next->src2, a->layers[relu].dst, NNB_GRAD_NONE,
                NNB_GRAD_NONE,        -1};
            p->steps[i].op = NNB_STEP_SKIP;
            p->steps[relu].op = NNB_STEP_SKIP;
            p->fused_bn_add_relu++;
        }
    }
}

static int same_conv(const nnb_plan_conv *a, const nnb_plan_conv *b) {
    return !memcmp(&a->x, &b->x, sizeof a->x) && !memcmp(&a->y, &b->y, sizeof a->y) && a->k == b->k && a->c == b->c &&
           a->r == b->r && a->stride == b->stride && a->pad == b->pad;
}

/* Groups the convolutions by geometry; algorithms are then chosen once per class. */
static int classify_convs(nnb_resnet_plan *p, const nnb_resnet_arch *a) {
    p->convs = calloc((size_t)a->num_layers, sizeof *p->convs);
    if (!p->convs)
        return -1;
    for (int i = 0; i < p->num_steps; i++) {
        nnb_plan_step *s = &p->steps[i];
        if (s->op != NNB_STEP_CONV)
            continue;
        const nnb_resnet_layer *l = &a->layers[s->layer];
        nnb_plan_conv c = {p->act_desc[s->src], p->act_desc[s->dst], (int)l->out.c, (int)l->in.c,
                           l->kernel,           l->stride,           l->pad,        0};
        int k = 0;
        while (k < p->num_conv_classes && !same_conv(&p->convs[k], &c))
            k++;
        if (k == p->num_conv_classes)
            p->convs[p->num_conv_classes++] = c;
        p->convs[k].uses++;
        s->conv_class = k;
    }
    return 0;
}

/* Readers, used activations, gradient owners and backward write modes (see resnet_plan.h). */
static int plan_gradients(nnb_resnet_plan *p, char *err, size_t err_len) {
    int logits = p->num_acts - 1;
    for (int i = 0; i < p->num_steps; i++) {
        const nnb_plan_step *s = &p->steps[i];
        if (s->op == NNB_STEP_SKIP)
            continue;
        p->readers[s->src]++;
        if (s->src2 >= 0)
            p->readers[s->src2]++;
        p->act_used[s->src] = p->act_used[s->dst] = 1;
        if (s->src2 >= 0)
            p->act_used[s->src2] = 1;
    }
    for (int a = 0; a < p->num_acts; a++)
        p->grad_owner[a] = p->act_used[a] ? a : -1;
    for (int i = p->num_steps - 1; i >= 0; i--) {
        const nnb_plan_step *s = &p->steps[i];
        if (s->op != NNB_STEP_ADD)
            continue;
        if (p->readers[s->src] == 1)
            p->grad_owner[s->src] = p->grad_owner[s->dst];
        if (p->readers[s->src2] == 1)
            p->grad_owner[s->src2] = p->grad_owner[s->dst];
    }
    unsigned char *written = calloc((size_t)p->num_acts, 1);
    if (!written)
        return nnb_fail(err, err_len, "resnet plan: out of memory");
    written[logits] = 1; /* the upstream gradient */
    for (int i = p->num_steps - 1; i >= 0; i--) {
        nnb_plan_step *s = &p->steps[i];
        if (s->op == NNB_STEP_SKIP)
            continue;
        int out_owner = p->grad_owner[s->dst];
        if (!written[out_owner]) {
            free(written);
            return nnb_fail(err, err_len, "resnet plan: step %d reads a gradient nobody wrote (internal)", i);
        }
        int inputs[2] = {s->src, s->src2};
        nnb_grad_mode *modes[2] = {&s->src_grad, &s->src2_grad};
        for (int k = 0; k < 2; k++) {
            *modes[k] = NNB_GRAD_NONE;
            if (inputs[k] < 0)
                continue;
            int o = p->grad_owner[inputs[k]];
            if (o == out_owner)
                continue; /* aliased: the add passes its output gradient through */
            *modes[k] = written[o] ? NNB_GRAD_ACCUMULATE : NNB_GRAD_OVERWRITE;
            written[o] = 1;
        }
        /* cudnnBatchNormalizationBackwardEx writes dz without blending. */
        if (s->op == NNB_STEP_BN_ADD_RELU && s->src2_grad != NNB_GRAD_OVERWRITE) {
            free(written);
            return nnb_fail(err, err_len, "resnet plan: fused step %d would accumulate into dz (internal)", i);
        }
    }
    free(written);
    return 0;
}

static nnb_plan_gemm gemm(int transa, int transb, int m, int n, int k, int lda, int ldb, int ldc) {
    nnb_plan_gemm g = {transa, transb, m, n, k, lda, ldb, ldc};
    return g;
}

int nnb_resnet_plan_build(nnb_resnet_plan *p, const nnb_resnet_arch *a, int fused, char *err, size_t err_len) {
    memset(p, 0, sizeof *p);
    p->fused = fused != 0;
    p->num_steps = a->num_layers;
    p->num_acts = a->num_acts;
    p->steps = calloc((size_t)a->num_layers, sizeof *p->steps);
    p->act_desc = calloc((size_t)a->num_acts, sizeof *p->act_desc);
    p->act_used = calloc((size_t)a->num_acts, 1);
    p->grad_owner = calloc((size_t)a->num_acts, sizeof *p->grad_owner);
    p->readers = calloc((size_t)a->num_acts, sizeof *p->readers);
    if (!p->steps || !p->act_desc || !p->act_used || !p->grad_owner || !p->readers) {
        nnb_resnet_plan_free(p);
        return nnb_fail(err, err_len, "resnet plan: out of memory");
    }
    for (int i = 0; i < a->num_acts; i++)
        if (packed_nchw(&p->act_desc[i], a->acts[i])) {
            nnb_resnet_plan_free(p);
            return nnb_fail(err, err_len,
                            "resnet%d: activation %d (%lld, %lld, %lld, %lld) exceeds cuDNN's 2^31-1 elements",
                            a->depth, i, (long long)a->acts[i].n, (long long)a->acts[i].c, (long long)a->acts[i].h,
                            (long long)a->acts[i].w);
        }
    unfused_steps(p, a);
    if (p->fused)
        fuse_steps(p, a);
    if (classify_convs(p, a)) {
        nnb_resnet_plan_free(p);
        return nnb_fail(err, err_len, "resnet plan: out of memory");
    }
    if (plan_gradients(p, err, err_len)) {
        nnb_resnet_plan_free(p);
        return -1;
    }
    for (int i = 0; i < a->num_layers; i++) {
        const nnb_resnet_layer *l = &a->layers[i];
        if (l->op == NNB_RESNET_BN && l->out.c > p->max_bn_channels)
            p->max_bn_channels = (int)l->out.c;
        if (l->op != NNB_RESNET_FC)
            continue;
        p->fc_in = (int)l->in.c;
        p->fc_out = (int)l->out.c;
        p->batch = (int)l->in.n;
    }
    int C = p->fc_in, O = p->fc_out, N = p->batch;
    p->fc_fwd = gemm(1, 0, O, N, C, C, C, O);
    p->fc_dx = gemm(0, 0, C, N, O, C, O, C);
    p->fc_dw = gemm(0, 1, C, O, N, C, O, C);
    return 0;
}

static size_t plan_tensor_floats(const nnb_plan_tensor *t) {
    return (size_t)t->n * (size_t)t->c * (size_t)t->h * (size_t)t->w;
}

int nnb_resnet_plan_infer_slots(const nnb_resnet_plan *p, int *slot, size_t *slot_floats) {
    int logits = p->num_acts - 1, num_slots = 0;
    int *left = calloc((size_t)p->num_acts, sizeof *left);   /* (num_acts) readers still to run */
    int *owner = calloc((size_t)p->num_acts, sizeof *owner); /* (slots) activation held, -1 when free */
    if (!left || !owner) {
        free(left), free(owner);
        return -1;
    }
    for (int a = 0; a < p->num_acts; a++)
        slot[a] = -1;
    for (int i = 0; i < p->num_steps; i++) {
        const nnb_plan_step *s = &p->steps[i];
        if (s->op == NNB_STEP_SKIP)
            continue;
        left[s->src]++;
        if (s->src2 >= 0)
            left[s->src2]++;
    }
    for (int i = 0; i < p->num_steps; i++) {
        const nnb_plan_step *s = &p->steps[i];
        if (s->op == NNB_STEP_SKIP)
            continue;
        if (s->dst != logits && s->dst != 0) { /* a free slot: the inputs are still held, so never theirs */
            int k = 0;
            while (k < num_slots && owner[k] >= 0)
                k++;
            if (k == num_slots)
                slot_floats[num_slots++] = 0;
            owner[k] = s->dst;
            slot[s->dst] = k;
            size_t need = plan_tensor_floats(&p->act_desc[s->dst]);
            if (need > slot_floats[k])
                slot_floats[k] = need;
        }
        const int inputs[2] = {s->src, s->src2};
        for (int j = 0; j < 2; j++)
            if (inputs[j] >= 0 && --left[inputs[j]] == 0 && slot[inputs[j]] >= 0)
                owner[slot[inputs[j]]] = -1;
        if (left[s->dst] == 0 && slot[s->dst] >= 0) /* written, never read: free at once */
            owner[slot[s->dst]] = -1;
    }
    free(left), free(owner);
    return num_slots;
}
