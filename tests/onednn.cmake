# oneDNN runners (runners/cpu/onednn): only with oneDNN.
if(NNB_HAVE_DNNL)
  foreach(t onednn_should_match_reference onednn_should_repeat_iterations)
    nnbench_add_test(${t} SOURCES ${CMAKE_CURRENT_LIST_DIR}/${t}.c LIBS nnb_runner_support DNNL::dnnl PkgConfig::CJSON LABELS onednn)
    add_dependencies(${t} nnb_cpu_onednn)
    # the reference plugin (py, vl_py, py_dropout) is checked against too when it is built
    if(TARGET nnb_cpu_reference)
      add_dependencies(${t} nnb_cpu_reference)
    endif()
    if(TARGET nnb_cpu_variants)
      add_dependencies(${t} nnb_cpu_variants)
    endif()
  endforeach()
endif()
