# nnbench_add_runner(<target> SOURCES ... [LIBS ...])
#   Builds a runner plugin (a MODULE library) into the build tree's runner folder
#   and installs it into lib/nnbench/runners. Only the entry symbol is exported.
function(nnbench_add_runner target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX "" OUTPUT_NAME "${target}"
    LIBRARY_OUTPUT_DIRECTORY ${NNBENCH_RUNNER_BUILD_DIR}
    C_VISIBILITY_PRESET hidden CUDA_VISIBILITY_PRESET hidden)
  target_link_libraries(${target} PRIVATE nnb_runner_support ${ARG_LIBS})
  # nodelete: OpenMP/BLAS worker threads a plugin started may outlive dlclose().
  target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,-z,nodelete)
  install(TARGETS ${target} LIBRARY DESTINATION ${NNBENCH_RUNNER_SUBDIR})
endfunction()

# nnbench_add_test(<name> SOURCES ... [LIBS ...] [LABELS ...] [ARGS ...])
#   One ctest executable per unit, named <unit>_should_<behaviour>.
function(nnbench_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE nnb_test_support ${ARG_LIBS})
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS} WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests)
  set_tests_properties(${name} PROPERTIES
    ENVIRONMENT "OMP_WAIT_POLICY=passive;NNBENCH_TEST_DATA=${CMAKE_SOURCE_DIR}/tests/data;NNBENCH_BIN=${CMAKE_BINARY_DIR}/bin/nnbench;NNBENCH_RUNNER_DIR=${NNBENCH_RUNNER_BUILD_DIR};NNBENCH_TEST_PLUGIN_DIR=${NNBENCH_TEST_PLUGIN_DIR}")
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
