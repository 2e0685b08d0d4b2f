/* ResNet-18 / ResNet-50 architecture table: see resnet_arch.h. */
#include "resnet_arch.h"

#include "../kernel_util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generous fixed capacities: resnet50 has 161 layers, 162 activations, 267 parameters. */
#define MAX_LAYERS 256
#define MAX_ACTS 256
#define MAX_PARAMS 512

typedef struct builder {
    nnb_resnet_arch *a;
    int block; /* current block index, -1 outside blocks */
    int failed;
} builder;

static int64_t conv_out_size(int64_t in, int k, int stride, int pad) { return (in + 2 * pad - k) / stride + 1; }

size_t nnb_resnet_shape_count(nnb_resnet_shape s) {
    size_t nc, hw, total;
    if (s.n < 0 || s.c < 0 || s.h < 0 || s.w < 0)
        return 0;
    if (nnb_kernel_mul_size(&nc, (size_t)s.n, (size_t)s.c) || nnb_kernel_mul_size(&hw, (size_t)s.h, (size_t)s.w) ||
        nnb_kernel_mul_size(&total, nc, hw))
        return 0;
    return total;
}

static int new_act(builder *b, nnb_resnet_shape s) {
    nnb_resnet_arch *a = b->a;
    if (a->num_acts >= MAX_ACTS) {
        b->failed = 1;
        return 0;
    }
    a->acts[a->num_acts] = s;
    return a->num_acts++;
}

static void add_param(builder *b, int layer, const char *module, const char *suffix, nnb_resnet_param_kind kind,
                      int ndim, const int64_t *shape) {
    nnb_resnet_arch *a = b->a;
    if (a->num_params >= MAX_PARAMS) {
        b->failed = 1;
        return;
    }
    nnb_resnet_param *p = &a->params[a->num_params++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", module, suffix);
    p->kind = kind;
    p->learnable = kind != NNB_RESNET_BN_RUNNING_MEAN && kind != NNB_RESNET_BN_RUNNING_VAR;
    if (p->learnable) { /* "d" + name; names are well under NNB_RESNET_NAME_MAX - 1 */
        p->grad_name[0] = 'd';
        memcpy(p->grad_name + 1, p->name, sizeof p->grad_name - 2);
        p->grad_name[sizeof p->grad_name - 1] = '\0';
    }
    p->layer = layer;
    p->ndim = ndim;
    p->count = 1;
    for (int d = 0; d < ndim; d++) {
        p->shape[d] = shape[d];
        p->count *= (size_t)shape[d]; /* parameter sizes are fixed and small: no overflow */
    }
    p->offset = a->param_floats;
    a->param_floats += p->count;
    if (p->learnable)
        a->num_weights += (int64_t)p->count;
}

/* Appends a layer reading src (and src2) and writing a new activation of shape out; returns the layer. */
static nnb_resnet_layer *add_layer(builder *b, nnb_resnet_op op, const char *name, int src, int src2,
                                   nnb_resnet_shape out) {
    nnb_resnet_arch *a = b->a;
    if (a->num_layers >= MAX_LAYERS || b->failed) {
        b->failed = 1;
        return NULL;
    }
    nnb_resnet_layer *l = &a->layers[a->num_layers++];
    memset(l, 0, sizeof *l);
    l->op = op;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->block = b->block;
    l->src = src;
    l->src2 = src2;
    l->in = a->acts[src];
    l->out = out;
    l->dst = new_act(b, out);
    l->param = -1;
    return l;
}

/* conv (no bias); returns the output activation. */
static int conv(builder *b, const char *name, int src, int64_t out_c, int k, int stride, int pad) {
    nnb_resnet_shape in = b->a->acts[src];
    nnb_resnet_shape out = {in.n, out_c, conv_out_size(in.h, k, stride, pad), conv_out_size(in.w, k, stride, pad)};
    nnb_resnet_layer *l = add_layer(b, NNB_RESNET_CONV, name, src, -1, out);
    if (!l)
        return 0;
    l->kernel = k;
    l->stride = stride;
    l->pad = pad;
    l->param = b->a->num_params;
    l->param_count = 1;
    l->fwd_flops = 2.0 * (double)out.n * (double)out.c * (double)out.h * (double)out.w * (double)in.c * k * k;
    int64_t wshape[4] = {out_c, in.c, k, k};
    add_param(b, b->a->num_layers - 1, name, "weight", NNB_RESNET_CONV_WEIGHT, 4, wshape);
    return l->dst;
}

static int bn(builder *b, const char *name, int src) {
    nnb_resnet_shape s = b->a->acts[src];
    nnb_resnet_layer *l = add_layer(b, NNB_RESNET_BN, name, src, -1, s);
    if (!l)
        return 0;
    int layer = b->a->num_layers - 1;
    l->param = b->a->num_params;
    l->param_count = 4;
    int64_t c[1] = {s.c};
    add_param(b, layer, name, "weight", NNB_RESNET_BN_WEIGHT, 1, c);
    add_param(b, layer, name, "bias", NNB_RESNET_BN_BIAS, 1, c);
    add_param(b, layer, name, "running_mean", NNB_RESNET_BN_RUNNING_MEAN, 1, c);
    add_param(b, layer, name, "running_var", NNB_RESNET_BN_RUNNING_VAR, 1, c);
    return l->dst;
}

static int simple(builder *b, nnb_resnet_op op, const char *name, int src, int src2) {
    nnb_resnet_layer *l = add_layer(b, op, name, src, src2, b->a->acts[src]);
    return l ? l->dst : 0;
}

static int maxpool(builder *b, const char *name, int src) {
    nnb_resnet_shape in = b->a->acts[src];
    nnb_resnet_shape out = {in.n, in.c, conv_out_size(in.h, 3, 2, 1), conv_out_size(in.w, 3, 2, 1)};
    nnb_resnet_layer *l = add_layer(b, NNB_RESNET_MAXPOOL, name, src, -1, out);
    if (!l)
        return 0;
    l->kernel = 3;
    l->stride = 2;
    l->pad = 1;
    return l->dst;
}

static int avgpool(builder *b, const char *name, int src) {
    nnb_resnet_shape in = b->a->acts[src];
    nnb_resnet_shape out = {in.n, in.c, 1, 1};
    nnb_resnet_layer *l = add_layer(b, NNB_RESNET_AVGPOOL, name, src, -1, out);
    return l ? l->dst : 0;
}

static int fc(builder *b, const char *name, int src) {
    nnb_resnet_shape in = b->a->acts[src];
    nnb_resnet_shape out = {in.n, NNB_RESNET_CLASSES, 1, 1};
    nnb_resnet_layer *l = add_layer(b, NNB_RESNET_FC, name, src, -1, out);
    if (!l)
        return 0;
    int layer = b->a->num_layers - 1;
    l->param = b->a->num_params;
    l->param_count = 2;
    l->fwd_flops = 2.0 * (double)in.n * (double)NNB_RESNET_CLASSES * (double)in.c;
    int64_t wshape[2] = {NNB_RESNET_CLASSES, in.c}, bshape[1] = {NNB_RESNET_CLASSES};
    add_param(b, layer, name, "weight", NNB_RESNET_FC_WEIGHT, 2, wshape);
    add_param(b, layer, name, "bias", NNB_RESNET_FC_BIAS, 1, bshape);
    return l->dst;
}

/* Shortcut of a block: its input, or downsample.0 (conv1x1 stride s) + downsample.1 (bn). */
static int shortcut(builder *b, const char *prefix, int src, int64_t out_c, int stride) {
    nnb_resnet_shape in = b->a->acts[src];
    if (stride == 1 && in.c == out_c)
        return src;
    char name[NNB_RESNET_NAME_MAX];
    snprintf(name, sizeof name, "%s.downsample.0", prefix);
    int t = conv(b, name, src, out_c, 1, stride, 0);
    snprintf(name, sizeof name, "%s.downsample.1", prefix);
    return bn(b, name, t);
}

/* "<prefix>.<s>" in the caller's name buffer. */
#define NAME(s) (snprintf(name, sizeof name, "%s.%s", prefix, s), name)

static int basic_block(builder *b, const char *prefix, int src, int64_t planes, int stride) {
    char name[NNB_RESNET_NAME_MAX];
    int t = conv(b, NAME("conv1"), src, planes, 3, stride, 1);
    t = bn(b, NAME("bn1"), t);
    t = simple(b, NNB_RESNET_RELU, NAME("relu1"), t, -1);
    t = conv(b, NAME("conv2"), t, planes, 3, 1, 1);
    t = bn(b, NAME("bn2"), t);
    int s = shortcut(b, prefix, src, planes, stride);
    t = simple(b, NNB_RESNET_ADD, NAME("add"), t, s);
    return simple(b, NNB_RESNET_RELU, NAME("relu2"), t, -1);
}

static int bottleneck(builder *b, const char *prefix, int src, int64_t planes, int stride) {
    char name[NNB_RESNET_NAME_MAX];
    int t = conv(b, NAME("conv1"), src, planes, 1, 1, 0);
    t = bn(b, NAME("bn1"), t);
    t = simple(b, NNB_RESNET_RELU, NAME("relu1"), t, -1);
    t = conv(b, NAME("conv2"), t, planes, 3, stride, 1);
    t = bn(b, NAME("bn2"), t);
    t = simple(b, NNB_RESNET_RELU, NAME("relu2"), t, -1);
    t = conv(b, NAME("conv3"), t, planes * 4, 1, 1, 0);
    t = bn(b, NAME("bn3"), t);
    int s = shortcut(b, prefix, src, planes * 4, stride);
    t = simple(b, NNB_RESNET_ADD, NAME("add"), t, s);
    return simple(b, NNB_RESNET_RELU, NAME("relu3"), t, -1);
}
#undef NAME

int nnb_resnet_depth_from_name(const char *name) {
    if (!name)
        return 0;
    if (!strncmp(name, "resnet18", 8))
        return 18;
    if (!strncmp(name, "resnet50", 8))
        return 50;
    return 0;
}

/* Side of the smallest (layer4) feature maps for input side S. */
static int64_t final_map_side(int64_t s) {
    s = conv_out_size(s, 7, 2, 3); /* conv1 */
    s = conv_out_size(s, 3, 2, 1); /* maxpool */
    for (int stage = 1; stage < 4; stage++)
        s = conv_out_size(s, 3, 2, 1); /* layer2..4 first blocks */
    return s;
}

int64_t nnb_resnet_min_image_size(int depth, int64_t batch) {
    if ((depth != 18 && depth != 50) || batch < 1)
        return -1;
    /* Maps only shrink along the network, so the layer4 BN is the binding one. */
    for (int64_t s = 1;; s++)
        if (batch * final_map_side(s) * final_map_side(s) >= 2)
            return s;
}

int nnb_resnet_arch_build(nnb_resnet_arch *a, int depth, int64_t batch, int64_t image_size, char *err, size_t err_len) {
    memset(a, 0, sizeof *a);
    if (depth != 18 && depth != 50)
        return nnb_kernel_fail(err, err_len, "resnet: depth %d not supported (18 or 50)", depth);
    if (batch < 1)
        return nnb_kernel_fail(err, err_len, "resnet: batch %lld must be >= 1", (long long)batch);
    int64_t min_s = nnb_resnet_min_image_size(depth, batch);
    if (image_size < min_s)
        return nnb_kernel_fail(err, err_len,
                               "resnet%d: image size %lld too small for batch %lld in train mode: minimum is %lld "
                               "(BatchNorm needs more than one value per channel)",
                               depth, (long long)image_size, (long long)batch, (long long)min_s);
    /* The largest activation must fit in size_t (and in int64 arithmetic). */
    nnb_resnet_shape biggest = {batch, 256, image_size, image_size};
    if (image_size > (int64_t)1 << 24 || batch > (int64_t)1 << 30 || nnb_resnet_shape_count(biggest) == 0 ||
        nnb_resnet_shape_count(biggest) > SIZE_MAX / 16)
        return nnb_kernel_fail(err, err_len, "resnet%d: N=%lld, S=%lld overflows buffer sizes", depth, (long long)batch,
                               (long long)image_size);

    a->depth = depth;
    a->batch = batch;
    a->image_size = image_size;
    a->layers = calloc(MAX_LAYERS, sizeof *a->layers);
    a->acts = calloc(MAX_ACTS, sizeof *a->acts);
    a->params = calloc(MAX_PARAMS, sizeof *a->params);
    if (!a->layers || !a->acts || !a->params) {
        nnb_resnet_arch_free(a);
        return nnb_kernel_fail(err, err_len, "resnet%d: out of memory", depth);
    }

    builder b = {a, -1, 0};
    nnb_resnet_shape xs = {batch, 3, image_size, image_size};
    int t = new_act(&b, xs);
    t = conv(&b, "conv1", t, 64, 7, 2, 3);
    t = bn(&b, "bn1", t);
    t = simple(&b, NNB_RESNET_RELU, "relu", t, -1);
    t = maxpool(&b, "maxpool", t);

    static const int blocks18[4] = {2, 2, 2, 2}, blocks50[4] = {3, 4, 6, 3};
    const int *blocks = depth == 18 ? blocks18 : blocks50;
    int block = 0;
    for (int stage = 0; stage < 4; stage++) {
        int64_t planes = (int64_t)64 << stage;
        for (int i = 0; i < blocks[stage]; i++, block++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", stage + 1, i);
            int stride = (stage > 0 && i == 0) ? 2 : 1;
            b.block = block;
            t = depth == 18 ? basic_block(&b, prefix, t, planes, stride) : bottleneck(&b, prefix, t, planes, stride);
        }
    }
    b.block = -1;
    t = avgpool(&b, "avgpool", t);
    t = fc(&b, "fc", t);
    if (b.failed) {
        nnb_resnet_arch_free(a);
        return nnb_kernel_fail(err, err_len, "resnet%d: architecture table overflow (internal)", depth);
    }
    for (int i = 0; i < a->num_layers; i++)
        a->forward_flops += a->layers[i].fwd_flops;
    a->backward_flops = 2.0 * a->forward_flops;
    return 0;
}

void nnb_resnet_arch_free(nnb_resnet_arch *a) {
    if (!a)
        return;
    free(a->layers);
    free(a->acts);
    free(a->params);
    memset(a, 0, sizeof *a);
}

int nnb_resnet_find_param(const nnb_resnet_arch *a, const char *name) {
    for (int i = 0; i < a->num_params; i++)
        if (!strcmp(a->params[i].name, name))
            return i;
    return -1;
}

/* A free slot (a new one when none is free); -1 when out of room (cannot happen: at most num_acts slots). */
static int take_slot(int *busy, int *num_slots, int cap) {
    for (int s = 0; s < *num_slots; s++)
        if (!busy[s]) {
            busy[s] = 1;
            return s;
        }
    if (*num_slots >= cap)
        return -1;
    busy[*num_slots] = 1;
    return (*num_slots)++;
}

int nnb_resnet_plan_inference_slots(const nnb_resnet_arch *a, int in_place, int *slot) {
    int *last_read = malloc((size_t)a->num_acts * sizeof *last_read); /* (num_acts) last layer reading each */
    int *busy = calloc((size_t)a->num_acts, sizeof *busy);            /* (num_acts) per slot */
    if (!last_read || !busy) {
        free(last_read), free(busy);
        return -1;
    }
    for (int i = 0; i < a->num_acts; i++)
        last_read[i] = a->num_layers; /* never read (the logits): kept to the end */
    for (int i = 0; i < a->num_layers; i++) {
        last_read[a->layers[i].src] = i;
        if (a->layers[i].src2 >= 0)
            last_read[a->layers[i].src2] = i;
    }
    int num_slots = 0;
    slot[0] = take_slot(busy, &num_slots, a->num_acts);
    for (int i = 0; i < a->num_layers && num_slots >= 0; i++) {
        const nnb_resnet_layer *l = &a->layers[i];
        int over_input = in_place && (l->op == NNB_RESNET_RELU || l->op == NNB_RESNET_ADD) && last_read[l->src] == i;
        slot[l->dst] = over_input ? slot[l->src] : take_slot(busy, &num_slots, a->num_acts);
        if (slot[l->dst] < 0)
            num_slots = -1;
        const int inputs[2] = {l->src, l->src2};
        for (int k = 0; k < 2 && num_slots >= 0; k++)
            if (inputs[k] >= 0 && last_read[inputs[k]] == i && slot[inputs[k]] != slot[l->dst])
                busy[slot[inputs[k]]] = 0;
    }
    free(last_read), free(busy);
    return num_slots;
}

const char *nnb_resnet_op_name(nnb_resnet_op op) {
    switch (op) {
    case NNB_RESNET_CONV: return "conv";
    case NNB_RESNET_BN: return "bn";
    case NNB_RESNET_RELU: return "relu";
    case NNB_RESNET_MAXPOOL: return "maxpool";
    case NNB_RESNET_ADD: return "add";
    case NNB_RESNET_AVGPOOL: return "avgpool";
    case NNB_RESNET_FC: return "fc";
    }
    return "?";
}

double nnb_resnet_check_tolerance(int depth) { return depth == 50 ? 5e-3 : 0.0; }
