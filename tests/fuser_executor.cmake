# Every runner refuses a --fuser / --executor it cannot honour in the same words (runners/common's
# nnb_check_fuser_executor). With the CUDA and cuDNN headers the hand-written CUDA LSTM runners are created on
# the CPU too, through the emulated runtime (as cuda_lstm_engine_should_match_reference_on_cpu).
set(nnb_fe_test runners_should_reject_unsupported_fuser_and_executor)
if(NNB_HAVE_CUDA AND NNB_HAVE_CUDNN)
  set(NNB_FE_CUDA_LSTM_DIR ${CMAKE_SOURCE_DIR}/runners/cuda/lstm)
  nnbench_add_test(${nnb_fe_test}
    SOURCES ${nnb_fe_test}.c ${NNB_FE_CUDA_LSTM_DIR}/custom_lstm.c ${NNB_FE_CUDA_LSTM_DIR}/custom_lstm_schedule.c ${NNB_FE_CUDA_LSTM_DIR}/cuda_common.c
            ${CMAKE_SOURCE_DIR}/runners/cuda/common/nnb_cuda_util.c ${NNB_FE_CUDA_LSTM_DIR}/layernorm_lstm.c
            ${CMAKE_SOURCE_DIR}/runners/cuda/common/nnb_cuda_precision.c
            ${NNB_FE_CUDA_LSTM_DIR}/emulation/fake_cuda.c
    LIBS nnb_runner_support)
  target_compile_definitions(${nnb_fe_test} PRIVATE NNB_TEST_EMULATED_CUDA=1)
  target_include_directories(${nnb_fe_test} PRIVATE
    ${NNB_FE_CUDA_LSTM_DIR} ${CMAKE_SOURCE_DIR}/runners/cuda/common ${CMAKE_SOURCE_DIR}/kernels/cuda ${CMAKE_SOURCE_DIR}/kernels
    ${CUDAToolkit_INCLUDE_DIRS} ${CUDNN_INCLUDE_DIR})
else()
  nnbench_add_test(${nnb_fe_test} SOURCES ${nnb_fe_test}.c LIBS nnb_runner_support)
endif()
# Creates every CPU runner in this process: OpenBLAS's worker threads (see .ci/sanitizers, label inproc).
set_tests_properties(${nnb_fe_test} PROPERTIES LABELS inproc)
