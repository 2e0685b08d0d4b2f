# The convolution reference (kernels/conv_ref) and its runner conv_ref (runners/cpu/conv_ref, group convs):
# against PyTorch golden data (tests/data/conv_golden, made by tools/pytorch_compare/conv_golden.py), finite
# differences, and the runner's contract (backward parts, --conv-dir, infer, load_param, precisions, errors).
nnbench_add_test(conv_ref_should_match_pytorch_golden SOURCES conv_ref_should_match_pytorch_golden.c
                 LIBS nnb_conv_ref_runner PkgConfig::CJSON LABELS conv)
nnbench_add_test(conv_ref_should_match_finite_differences SOURCES conv_ref_should_match_finite_differences.c
                 LIBS nnb_conv_ref LABELS conv)
nnbench_add_test(conv_ref_runner_should_follow_the_runner_contract
                 SOURCES conv_ref_runner_should_follow_the_runner_contract.c
                 LIBS nnb_conv_ref_runner nnb_precision PkgConfig::CJSON ${CMAKE_DL_LIBS} LABELS conv)
add_dependencies(conv_ref_runner_should_follow_the_runner_contract nnb_cpu_conv_ref)
