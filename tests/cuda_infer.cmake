# ABI 1.2 inference (infer, infer_io, load_param) of the CUDA runners on a real device, against the CPU
# references (label gpu); exits 77 (reported as skipped) where no device is usable, after checking that the
# serving runners have the entries and report "cuda: no device". The CPU-shim coverage of the same code is in
# cuda_lstm_engine_should_match_reference_on_cpu (tests/cuda.cmake) and the ResNet kernel / plan tests
# (tests/cuda_resnet.cmake).
if(TARGET nnb_cuda_lstm OR TARGET nnb_cuda_resnet)
  nnbench_add_test(cuda_infer_should_match_reference_on_gpu
    SOURCES cuda_infer_should_match_reference_on_gpu.c
    LIBS nnb_resnet_arch CUDA::cudart_static LABELS gpu)
  set_tests_properties(cuda_infer_should_match_reference_on_gpu PROPERTIES SKIP_RETURN_CODE 77)
  foreach(dep nnb_cuda_lstm nnb_cuda_resnet nnb_cpu_reference nnb_cpu_resnet_ref)
    if(TARGET ${dep})
      add_dependencies(cuda_infer_should_match_reference_on_gpu ${dep})
    endif()
  endforeach()
endif()
