# CUDA ResNet runners (runners/cuda/resnet). The plan and the kernels' source
# are pure C / C-compatible: those tests need neither a GPU nor CUDA.
nnbench_add_test(cuda_resnet_plan_should_match_arch_table
  SOURCES cuda_resnet_plan_should_match_arch_table.c ${CMAKE_SOURCE_DIR}/runners/cuda/resnet/resnet_plan.c
  LIBS nnb_resnet_arch nnb_runner_support LABELS resnet)
target_include_directories(cuda_resnet_plan_should_match_arch_table PRIVATE ${CMAKE_SOURCE_DIR}/runners/cuda/resnet)

nnbench_add_test(cuda_resnet_kernels_should_match_on_cpu
  SOURCES cuda_resnet_kernels_should_match_on_cpu.c LABELS resnet)
target_include_directories(cuda_resnet_kernels_should_match_on_cpu PRIVATE
  ${CMAKE_SOURCE_DIR}/runners/cuda/resnet ${CMAKE_SOURCE_DIR}/kernels/cuda ${CMAKE_SOURCE_DIR}/kernels/precision)

# Every CUDA ResNet runner against the CPU reference on a real device (label
# gpu); exits 77 (reported as skipped) where no device exists. The references (plugin nnb_cpu_resnet_ref)
# are always built: no oneDNN needed.
if(TARGET nnb_cuda_resnet)
  nnbench_add_test(cuda_resnet_should_match_reference_on_gpu
    SOURCES cuda_resnet_should_match_reference_on_gpu.c LABELS gpu resnet)
  set_tests_properties(cuda_resnet_should_match_reference_on_gpu PROPERTIES SKIP_RETURN_CODE 77)
  add_dependencies(cuda_resnet_should_match_reference_on_gpu nnb_cuda_resnet nnb_cpu_resnet_ref)
endif()
