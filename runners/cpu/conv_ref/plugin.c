/* Plugin nnb_cpu_conv_ref: the convolution reference conv_ref (conv_ref_runner.h). Built always, so every conv
 * runner (oneDNN, cuDNN) has its --check reference whichever backends are built. */
#include "conv_ref_runner.h"

static const nnb_plugin plugin = {
    .abi_major = NNB_ABI_MAJOR,
    .abi_minor = NNB_ABI_MINOR,
    .struct_size = sizeof(nnb_plugin),
    .name = "cpu_conv_ref",
    .runner_count = 1,
    .runners = &nnb_conv_ref_runner_desc,
};

NNB_DEFINE_PLUGIN(plugin)
