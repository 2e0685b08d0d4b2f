# CUDA LSTM runners' tests. The first two need no GPU (nor CUDA): they compile
# the kernels' source and the weight mapping for the CPU and always run.
nnbench_add_test(cuda_kernels_should_match_cell_math_on_cpu
  SOURCES cuda_kernels_should_match_cell_math_on_cpu.c)
target_include_directories(cuda_kernels_should_match_cell_math_on_cpu PRIVATE
  ${CMAKE_SOURCE_DIR}/kernels/cuda ${CMAKE_SOURCE_DIR}/kernels)

nnbench_add_test(cuda_weight_mapping_should_follow_cudnn_layout
  SOURCES cuda_weight_mapping_should_follow_cudnn_layout.c ${CMAKE_SOURCE_DIR}/runners/cuda/lstm/cudnn_weight_map.c)
target_include_directories(cuda_weight_mapping_should_follow_cudnn_layout PRIVATE
  ${CMAKE_SOURCE_DIR}/runners/cuda/lstm)

# Every CUDA runner against its CPU reference on a real device (label gpu);
# exits 77 (reported as skipped) where no device is usable.
if(TARGET nnb_cuda_lstm)
  nnbench_add_test(cuda_lstm_should_match_reference_on_gpu
    SOURCES cuda_lstm_should_match_reference_on_gpu.c LIBS nnb_precision LABELS gpu)
  set_tests_properties(cuda_lstm_should_match_reference_on_gpu PROPERTIES SKIP_RETURN_CODE 77)
  add_dependencies(cuda_lstm_should_match_reference_on_gpu nnb_cuda_lstm)
  if(TARGET nnb_cpu_reference)
    add_dependencies(cuda_lstm_should_match_reference_on_gpu nnb_cpu_reference)
  endif()
endif()

# The hand-written runners' host code and kernels on the CPU, with a stand-in
# for cudart/cuBLAS (needs the CUDA and cuDNN headers only, no GPU).
if(NNB_HAVE_CUDA AND NNB_HAVE_CUDNN)
  set(NNB_CUDA_LSTM_DIR ${CMAKE_SOURCE_DIR}/runners/cuda/lstm)
  nnbench_add_test(cuda_lstm_engine_should_match_reference_on_cpu
    SOURCES cuda_lstm_engine_should_match_reference_on_cpu.c ${NNB_CUDA_LSTM_DIR}/custom_lstm.c ${NNB_CUDA_LSTM_DIR}/custom_lstm_schedule.c
            ${NNB_CUDA_LSTM_DIR}/cuda_common.c ${CMAKE_SOURCE_DIR}/runners/cuda/common/nnb_cuda_util.c ${CMAKE_SOURCE_DIR}/runners/cuda/common/nnb_cuda_precision.c
            ${NNB_CUDA_LSTM_DIR}/layernorm_lstm.c
            ${NNB_CUDA_LSTM_DIR}/emulation/fake_cuda.c
    LIBS nnb_runner_support PkgConfig::CJSON)
  target_include_directories(cuda_lstm_engine_should_match_reference_on_cpu PRIVATE
    ${NNB_CUDA_LSTM_DIR} ${CMAKE_SOURCE_DIR}/runners/cuda/common ${CMAKE_SOURCE_DIR}/kernels/cuda ${CMAKE_SOURCE_DIR}/kernels
    ${CUDAToolkit_INCLUDE_DIRS} ${CUDNN_INCLUDE_DIR})
  if(TARGET nnb_cpu_reference)
    add_dependencies(cuda_lstm_engine_should_match_reference_on_cpu nnb_cpu_reference)
  endif()
endif()

# Stream, workspace and capture discipline of the same runners on the emulated runtime, which counts cuBLAS work
# on the default workspace pool, captured first uses and the device selected (issue 22, items 1-4).
if(NNB_HAVE_CUDA AND NNB_HAVE_CUDNN)
  nnbench_add_test(cuda_capture_should_keep_workspace_and_warm_up_on_cpu
    SOURCES cuda_capture_should_keep_workspace_and_warm_up_on_cpu.c ${NNB_CUDA_LSTM_DIR}/custom_lstm.c ${NNB_CUDA_LSTM_DIR}/custom_lstm_schedule.c
            ${NNB_CUDA_LSTM_DIR}/cuda_common.c ${CMAKE_SOURCE_DIR}/runners/cuda/common/nnb_cuda_util.c ${CMAKE_SOURCE_DIR}/runners/cuda/common/nnb_cuda_precision.c
            ${NNB_CUDA_LSTM_DIR}/layernorm_lstm.c ${NNB_CUDA_LSTM_DIR}/emulation/fake_cuda.c
    LIBS nnb_runner_support)
  target_include_directories(cuda_capture_should_keep_workspace_and_warm_up_on_cpu PRIVATE
    ${NNB_CUDA_LSTM_DIR} ${CMAKE_SOURCE_DIR}/runners/cuda/common ${CMAKE_SOURCE_DIR}/kernels/cuda ${CMAKE_SOURCE_DIR}/kernels
    ${CUDAToolkit_INCLUDE_DIRS} ${CUDNN_INCLUDE_DIR})
endif()

# The same engine in bf16 and fp16 (issue 20): 16-bit GEMM operands through the stand-in's cublasGemmEx, against
# the CPU references on the rounded problem, within a tolerance from the unit roundoff and at least 10x fp32's error.
if(NNB_HAVE_CUDA AND NNB_HAVE_CUDNN)
  nnbench_add_test(cuda_lstm_precision_should_match_reference_on_cpu
    SOURCES cuda_lstm_precision_should_match_reference_on_cpu.c ${NNB_CUDA_LSTM_DIR}/custom_lstm.c ${NNB_CUDA_LSTM_DIR}/custom_lstm_schedule.c
            ${NNB_CUDA_LSTM_DIR}/cuda_common.c ${CMAKE_SOURCE_DIR}/runners/cuda/common/nnb_cuda_util.c
            ${CMAKE_SOURCE_DIR}/runners/cuda/common/nnb_cuda_precision.c ${NNB_CUDA_LSTM_DIR}/emulation/fake_cuda.c
            ${NNB_CUDA_LSTM_DIR}/layernorm_lstm.c
    LIBS nnb_runner_support PkgConfig::CJSON)
  target_include_directories(cuda_lstm_precision_should_match_reference_on_cpu PRIVATE
    ${NNB_CUDA_LSTM_DIR} ${CMAKE_SOURCE_DIR}/runners/cuda/common ${CMAKE_SOURCE_DIR}/kernels/cuda ${CMAKE_SOURCE_DIR}/kernels
    ${CUDAToolkit_INCLUDE_DIRS} ${CUDNN_INCLUDE_DIR})
  foreach(ref_plugin nnb_cpu_reference nnb_cpu_fast nnb_cpu_variants) # py, py_simple, py_dropout, py_layernorm
    if(TARGET ${ref_plugin})
      add_dependencies(cuda_lstm_precision_should_match_reference_on_cpu ${ref_plugin})
    endif()
  endforeach()
endif()
