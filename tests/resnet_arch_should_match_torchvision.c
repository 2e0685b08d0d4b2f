/*
 * The ResNet architecture table against torchvision's published numbers:
 * parameter counts (torchvision docs: resnet18 11,689,512, resnet50 25,557,032),
 * state_dict keys and shapes, multiply-adds at 224x224 (torchvision docs:
 * 1.81 GFLOPS and 4.09 GFLOPS, which are multiply-adds per image), feature-map
 * sizes, the train-mode minimum image size, and the seeded initialisation.
 */
#include "nnb_support.h"
#include "resnet_arch.h"
#include "resnet_init.h"
#include "test_support.h"

#include <string.h>

static void check_param(const nnb_resnet_arch *a, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2,
                        int64_t d3) {
    int i = nnb_resnet_find_param(a, name);
    CHECK_MSG(i >= 0, "resnet%d: missing state_dict key %s", a->depth, name);
    if (i < 0)
        return;
    const nnb_resnet_param *p = &a->params[i];
    int64_t want[4] = {d0, d1, d2, d3};
    int ok = p->ndim == ndim;
    for (int d = 0; d < ndim && ok; d++)
        ok = p->shape[d] == want[d];
    CHECK_MSG(ok, "resnet%d: %s has the wrong shape", a->depth, name);
}

static int count_learnable_tensors(const nnb_resnet_arch *a) {
    int n = 0;
    for (int i = 0; i < a->num_params; i++)
        n += a->params[i].learnable;
    return n;
}

static void check_resnet18(void) {
    nnb_resnet_arch a;
    char err[256];
    CHECK(nnb_resnet_arch_build(&a, 18, 1, 224, err, sizeof err) == 0);
    CHECK(a.num_weights == 11689512);
    /* torchvision's state_dict has 122 entries: 102 here plus 20 num_batches_tracked. */
    CHECK(a.num_params == 102);
    CHECK(count_learnable_tensors(&a) == 62);
    CHECK(!strcmp(a.params[0].name, "conv1.weight"));
    CHECK(!strcmp(a.params[1].name, "bn1.weight"));
    CHECK(!strcmp(a.params[4].name, "bn1.running_var"));
    CHECK(!strcmp(a.params[5].name, "layer1.0.conv1.weight"));
    CHECK(!strcmp(a.params[a.num_params - 2].name, "fc.weight"));
    CHECK(!strcmp(a.params[a.num_params - 1].grad_name, "dfc.bias"));
    CHECK(nnb_resnet_find_param(&a, "layer1.0.downsample.0.weight") < 0);
    check_param(&a, "conv1.weight", 4, 64, 3, 7, 7);
    check_param(&a, "layer1.1.conv2.weight", 4, 64, 64, 3, 3);
    check_param(&a, "layer2.0.conv1.weight", 4, 128, 64, 3, 3);
    check_param(&a, "layer2.0.downsample.0.weight", 4, 128, 64, 1, 1);
    check_param(&a, "layer2.0.downsample.1.running_mean", 1, 128, 0, 0, 0);
    check_param(&a, "layer4.1.bn2.bias", 1, 512, 0, 0, 0);
    check_param(&a, "fc.weight", 2, 1000, 512, 0, 0);
    check_param(&a, "fc.bias", 1, 1000, 0, 0, 0);
    double macs = a.forward_flops / 2.0;
    CHECK_MSG(macs > 1.80e9 && macs < 1.83e9, "resnet18 MACs %.4g, torchvision 1.81G", macs);
    CHECK(a.backward_flops == 2.0 * a.forward_flops);
    /* Stem 56x56 after maxpool, layer4 at 7x7, logits (1, 1000). */
    nnb_resnet_shape logits = a.acts[a.num_acts - 1];
    CHECK(logits.n == 1 && logits.c == 1000 && logits.h == 1 && logits.w == 1);
    for (int i = 0; i < a.num_layers; i++) {
        const nnb_resnet_layer *l = &a.layers[i];
        if (!strcmp(l->name, "maxpool"))
            CHECK(l->out.h == 56 && l->out.w == 56 && l->out.c == 64);
        if (!strcmp(l->name, "avgpool"))
            CHECK(l->in.h == 7 && l->in.c == 512);
        if (l->op == NNB_RESNET_ADD)
            CHECK(l->src2 >= 0 && a.acts[l->src2].c == l->out.c);
    }
    nnb_resnet_arch_free(&a);
}

static void check_resnet50(void) {
    nnb_resnet_arch a;
    char err[256];
    CHECK(nnb_resnet_arch_build(&a, 50, 2, 224, err, sizeof err) == 0);
    CHECK(a.num_weights == 25557032);
    /* torchvision: 320 state_dict entries = 267 here + 53 num_batches_tracked. */
    CHECK(a.num_params == 267);
    check_param(&a, "layer1.0.conv1.weight", 4, 64, 64, 1, 1);
    check_param(&a, "layer1.0.conv3.weight", 4, 256, 64, 1, 1);
    check_param(&a, "layer1.0.downsample.0.weight", 4, 256, 64, 1, 1);
    check_param(&a, "layer1.1.conv1.weight", 4, 64, 256, 1, 1);
    check_param(&a, "layer3.5.bn3.running_var", 1, 1024, 0, 0, 0);
    check_param(&a, "layer4.2.conv3.weight", 4, 2048, 512, 1, 1);
    check_param(&a, "fc.weight", 2, 1000, 2048, 0, 0);
    /* Stride on the 3x3 convolution (torchvision >= 0.4, "ResNet v1.5"). */
    int block_input = -1;
    for (int i = 0; i < a.num_layers; i++) {
        const nnb_resnet_layer *l = &a.layers[i];
        if (!strcmp(l->name, "layer2.0.conv1")) {
            CHECK(l->stride == 1 && l->out.h == 56);
            block_input = l->src;
        }
        if (!strcmp(l->name, "layer2.0.conv2"))
            CHECK(l->stride == 2 && l->out.h == 28 && l->kernel == 3);
        if (!strcmp(l->name, "layer2.0.downsample.0"))
            CHECK(l->stride == 2 && l->out.h == 28 && l->src == block_input);
    }
    double macs = a.forward_flops / 2.0 / 2.0; /* per image, N = 2 */
    CHECK_MSG(macs > 4.08e9 && macs < 4.13e9, "resnet50 MACs %.4g, torchvision 4.09G", macs);
    nnb_resnet_arch_free(&a);
}

static void check_minimum_size(void) {
    nnb_resnet_arch a;
    char err[256] = "";
    /* N = 1: layer4 maps must be 2x2, i.e. S >= 33 (33 -> 17 -> 9 -> 5 -> 3 -> 2). */
    CHECK(nnb_resnet_min_image_size(18, 1) == 33);
    CHECK(nnb_resnet_min_image_size(50, 2) == 1);
    CHECK(nnb_resnet_arch_build(&a, 50, 1, 32, err, sizeof err) != 0);
    const char *msg = err;
    CHECK_STR_CONTAINS(msg, "minimum is 33");
    CHECK(nnb_resnet_arch_build(&a, 34, 1, 224, err, sizeof err) != 0);
    CHECK(nnb_resnet_arch_build(&a, 18, 1, 33, err, sizeof err) == 0);
    CHECK(a.layers[a.num_layers - 2].in.h == 2);
    nnb_resnet_arch_free(&a);
    CHECK(nnb_resnet_depth_from_name("resnet50_jit") == 50 && nnb_resnet_depth_from_name("lstm") == 0);
}

/* Kaiming fan-out std and nn.Linear bounds, measured on the drawn values. */
static void check_initialisation(void) {
    nnb_resnet_arch a;
    char err[256];
    CHECK(nnb_resnet_arch_build(&a, 18, 2, 64, err, sizeof err) == 0);
    float *w = nnb_alloc_floats(a.param_floats);
    nnb_resnet_init_params(&a, w, 7);
    const nnb_resnet_param *p = &a.params[nnb_resnet_find_param(&a, "layer4.0.conv2.weight")];
    double ss = 0;
    for (size_t i = 0; i < p->count; i++)
        ss += (double)w[p->offset + i] * w[p->offset + i];
    double want_std = sqrt(2.0 / (512.0 * 9.0));
    CHECK_NEAR(sqrt(ss / (double)p->count), want_std, 0.01 * want_std); /* 2.4M draws: ~0.05% sampling error */
    p = &a.params[nnb_resnet_find_param(&a, "fc.weight")];
    float lo = 1, hi = -1;
    for (size_t i = 0; i < p->count; i++) {
        lo = fminf(lo, w[p->offset + i]);
        hi = fmaxf(hi, w[p->offset + i]);
    }
    CHECK(lo >= -1.0f / sqrtf(512.0f) && hi <= 1.0f / sqrtf(512.0f) && hi > 0.99f / sqrtf(512.0f));
    CHECK(w[a.params[nnb_resnet_find_param(&a, "bn1.running_var")].offset] == 1.0f);
    CHECK(w[a.params[nnb_resnet_find_param(&a, "bn1.weight")].offset] == 1.0f);
    CHECK(w[a.params[nnb_resnet_find_param(&a, "bn1.bias")].offset] == 0.0f);
    /* Same seed, same values; another tensor's stream differs. */
    float *w2 = nnb_alloc_floats(a.param_floats);
    nnb_resnet_init_params(&a, w2, 7);
    CHECK(memcmp(w, w2, a.param_floats * sizeof(float)) == 0);
    CHECK(w[a.params[nnb_resnet_find_param(&a, "layer1.0.conv1.weight")].offset] !=
          w[a.params[nnb_resnet_find_param(&a, "layer1.0.conv2.weight")].offset]);
    nnb_free(w);
    nnb_free(w2);
    nnb_resnet_arch_free(&a);
}

int main(void) {
    check_resnet18();
    check_resnet50();
    check_minimum_size();
    check_initialisation();
    return nnb_test_finish();
}
