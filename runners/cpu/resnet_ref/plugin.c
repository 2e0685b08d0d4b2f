/*
 * Plugin nnb_cpu_resnet_ref: the hidden ResNet references resnet18_ref / resnet50_ref (plain C, double
 * precision; resnet_ref.h). Built always: it needs only kernels/cnn_ref and the architecture table, so the
 * CPU oneDNN and the CUDA ResNet runners are checked against it whichever backends are built.
 */
#include "resnet_ref.h"

#include <nnbench/runner.h>

static void *create_resnet18_ref(const nnb_config *c, char *e, size_t l) {
    return nnb_resnet_ref_create(c, "resnet18_ref", e, l);
}
static void *create_resnet50_ref(const nnb_config *c, char *e, size_t l) {
    return nnb_resnet_ref_create(c, "resnet50_ref", e, l);
}

/* A reference computes plainly in fp32/fp64 on the data rounded to the run's precision, so it serves --check in
 * every precision (docs/precision.md). */
#define EVERY_PRECISION                                                                                                \
    (NNB_PRECISION_BIT(NNB_PRECISION_FP32) | NNB_PRECISION_BIT(NNB_PRECISION_TF32) |                                   \
     NNB_PRECISION_BIT(NNB_PRECISION_BF16) | NNB_PRECISION_BIT(NNB_PRECISION_FP16))

#define REF_RUNNER(NAME, CREATE, DESC)                                                                                 \
    {                                                                                                                  \
        .struct_size = sizeof(nnb_runner_desc), .name = NAME, .group = NNB_GROUP_CNNS, .device = NNB_DEVICE_CPU,       \
        .description = DESC, .reference = NULL, .flags = NNB_FLAG_REFERENCE | NNB_FLAG_HIDDEN, .create = CREATE,       \
        .forward = nnb_resnet_ref_forward, .backward = nnb_resnet_ref_backward, .params = nnb_resnet_ref_params,       \
        .outputs = nnb_resnet_ref_outputs, .describe = nnb_resnet_ref_describe,                                        \
        .forward_flops = nnb_resnet_ref_forward_flops, .backward_flops = nnb_resnet_ref_backward_flops,                \
        .destroy = nnb_resnet_ref_destroy, .infer = nnb_resnet_ref_infer, .load_param = nnb_resnet_ref_load_param,     \
        .precisions = EVERY_PRECISION,                                                                                 \
    }

static const nnb_runner_desc runners[] = {
    REF_RUNNER("resnet18_ref", create_resnet18_ref,
               "ResNet-18 train step and eval-mode inference, plain C double-precision reference"),
    REF_RUNNER("resnet50_ref", create_resnet50_ref,
               "ResNet-50 train step and eval-mode inference, plain C double-precision reference"),
};

static const nnb_plugin plugin = {
    .abi_major = NNB_ABI_MAJOR,
    .abi_minor = NNB_ABI_MINOR,
    .struct_size = sizeof(nnb_plugin),
    .name = "cpu_resnet_ref",
    .runner_count = (int)(sizeof runners / sizeof runners[0]),
    .runners = runners,
};

NNB_DEFINE_PLUGIN(plugin)
