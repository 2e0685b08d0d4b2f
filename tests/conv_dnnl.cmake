# The oneDNN convolution runner `conv` (runners/cpu/conv) against kernels/conv_ref, and its contract: backward
# parts, --conv-dir, --conv-algo, describe(), infer(n), refusals. The plugin is dlopen()ed from the build tree, so
# oneDNN's OpenMP workers live in the test's process: label inproc (LeakSanitizer's tracer crashes on them at exit,
# .ci/sanitizers runs these without it).
# (The support library is also what the cuDNN conv runner's gpu test uses: tests/cuda_conv.cmake.)
add_library(nnb_conv_dnnl_test_support STATIC conv_dnnl_support.c)
target_link_libraries(nnb_conv_dnnl_test_support PUBLIC nnb_test_support nnb_conv_ref nnb_precision ${CMAKE_DL_LIBS})
target_include_directories(nnb_conv_dnnl_test_support PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
if(TARGET nnb_cpu_conv)
  nnbench_add_test(conv_dnnl_should_match_reference SOURCES conv_dnnl_should_match_reference.c
                   LIBS nnb_conv_dnnl_test_support LABELS convs inproc)
  add_dependencies(conv_dnnl_should_match_reference nnb_cpu_conv)
endif()
if(TARGET nnb_cpu_conv)
  nnbench_add_test(conv_dnnl_should_honour_its_contract SOURCES conv_dnnl_should_honour_its_contract.c
                   LIBS nnb_conv_dnnl_test_support LABELS convs inproc)
  add_dependencies(conv_dnnl_should_honour_its_contract nnb_cpu_conv)
endif()
