# The convs group's cuDNN runner (runners/cuda/conv). Its plan needs no device: the CPU test hands the plan's
# geometry to cuDNN's own descriptor calls (which run without a GPU). The runner itself against the plain
# reference runs only on a real device (label gpu; skipped elsewhere).
if(TARGET nnb_cuda_conv)
  nnbench_add_test(cuda_conv_plan_should_match_cudnn_geometry
    SOURCES cuda_conv_plan_should_match_cudnn_geometry.c ${CMAKE_SOURCE_DIR}/runners/cuda/conv/cuda_conv_plan.c
            ${CMAKE_SOURCE_DIR}/runners/cuda/conv/cuda_conv_create.c
    LIBS nnb_cuda_util nnb_conv_data nnb_precision nnb_cudnn nnb_conv_dnnl_test_support CUDA::cudart_static
    LABELS convs)
  target_include_directories(cuda_conv_plan_should_match_cudnn_geometry PRIVATE ${CMAKE_SOURCE_DIR}/runners/cuda/conv)

  nnbench_add_test(cuda_conv_should_match_reference_on_gpu
    SOURCES cuda_conv_should_match_reference_on_gpu.c LIBS nnb_conv_dnnl_test_support LABELS gpu convs)
  set_tests_properties(cuda_conv_should_match_reference_on_gpu PROPERTIES SKIP_RETURN_CODE 77)
  add_dependencies(cuda_conv_should_match_reference_on_gpu nnb_cuda_conv)
endif()
