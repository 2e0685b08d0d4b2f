# ResNet architecture table, plain C CNN reference, the reference runners (always built) and the oneDNN
# ResNet runners.
nnbench_add_test(resnet_arch_should_match_torchvision SOURCES resnet_arch_should_match_torchvision.c
                 LIBS nnb_resnet_arch nnb_resnet_init LABELS resnet)
nnbench_add_test(cnn_ref_should_match_finite_differences SOURCES cnn_ref_should_match_finite_differences.c
                 LIBS nnb_cnn_ref nnb_resnet_init LABELS resnet)
# The references alone, through their plugin: needs no oneDNN.
nnbench_add_test(resnet_ref_runners_should_follow_the_arch_table
                 SOURCES resnet_ref_runners_should_follow_the_arch_table.c LIBS nnb_resnet_init LABELS resnet)
add_dependencies(resnet_ref_runners_should_follow_the_arch_table nnb_cpu_resnet_ref)
if(TARGET nnb_cpu_resnet)
  nnbench_add_test(resnet_runners_should_match_reference SOURCES resnet_runners_should_match_reference.c
                   LIBS nnb_resnet_arch LABELS resnet)
  add_dependencies(resnet_runners_should_match_reference nnb_cpu_resnet nnb_cpu_resnet_ref)
  # bf16 (ABI 1.3 precision) against the reference on the rounded data, and against fp32's error; skips (77)
  # without avx512_bf16 or AMX.
  nnbench_add_test(resnet_bf16_should_match_reference SOURCES resnet_bf16_should_match_reference.c
                   LIBS nnb_resnet_arch nnb_precision LABELS resnet)
  set_tests_properties(resnet_bf16_should_match_reference PROPERTIES SKIP_RETURN_CODE 77)
  add_dependencies(resnet_bf16_should_match_reference nnb_cpu_resnet nnb_cpu_resnet_ref)
  # Compiles the plugin file in and links its net builders, to drive its layer wrappers on hand-made tables.
  nnbench_add_test(resnet_layers_should_match_reference SOURCES resnet_layers_should_match_reference.c
                   LIBS nnb_resnet_dnnl nnb_resnet_ref nnb_runner_support
                   LABELS resnet)
endif()

# The build machine is shared and oversubscribed: OpenMP threads that spin while waiting for their
# sibling (the default) make the reference's many small parallel loops several times slower there.
foreach(t cnn_ref_should_match_finite_differences resnet_runners_should_match_reference
          resnet_bf16_should_match_reference
          resnet_layers_should_match_reference resnet_ref_runners_should_follow_the_arch_table)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT "OMP_WAIT_POLICY=passive")
  endif()
endforeach()

# The hand-written stem input-gradient kernel (kernels/cnn_cpu) against the reference convolution.
if(TARGET nnb_cnn_cpu)
  nnbench_add_test(conv_input_grad_should_match_reference SOURCES conv_input_grad_should_match_reference.c
                   LIBS nnb_cnn_cpu nnb_cnn_ref nnb_runner_support LABELS resnet)
endif()
