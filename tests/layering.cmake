# Layering: kernels/ depend on nothing above them (runners/, bench/, reporting/). The check
# (layering/kernels_layering_check.cmake) runs at configure time, failing configure, and as a test.
set(NNB_KERNELS_LAYERING_CHECK ${CMAKE_CURRENT_LIST_DIR}/layering/kernels_layering_check.cmake)
function(nnbench_check_kernels_layering)
  set(SRC ${CMAKE_SOURCE_DIR})
  include(${NNB_KERNELS_LAYERING_CHECK})
endfunction()
nnbench_check_kernels_layering()
add_test(NAME kernels_should_include_nothing_from_runners_or_bench
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -P ${NNB_KERNELS_LAYERING_CHECK})
# The check itself: it must fail on includes from above (two in the fixture), on a tree without kernels/ files and
# without a source directory (the configure-time slip that once had it check 0 files and pass).
set(expect_failure ${CMAKE_CURRENT_LIST_DIR}/layering/expect_check_failure.cmake)
add_test(NAME kernels_layering_check_should_reject_includes_from_above
         COMMAND ${CMAKE_COMMAND} -DCHECK=${NNB_KERNELS_LAYERING_CHECK}
                 -DSRC=${CMAKE_CURRENT_LIST_DIR}/layering/fixture_reaching_above
                 "-DEXPECT=plugin_state.h.*includes a header from above.*bench/driver.h.*includes a header from above.*4 includes checked, 2 reaching above"
                 -P ${expect_failure})
add_test(NAME kernels_layering_check_should_refuse_a_tree_without_kernels
         COMMAND ${CMAKE_COMMAND} -DCHECK=${NNB_KERNELS_LAYERING_CHECK}
                 -DSRC=${CMAKE_CURRENT_LIST_DIR}/layering/fixture_without_kernels "-DEXPECT=no kernels/ files under SRC"
                 -P ${expect_failure})
add_test(NAME kernels_layering_check_should_refuse_to_run_without_a_source_dir
         COMMAND ${CMAKE_COMMAND} -DCHECK=${NNB_KERNELS_LAYERING_CHECK} "-DEXPECT=is not a source directory"
                 -P ${expect_failure})
# Layering of the whole tree: each top-level folder includes and links only what its rule allows.
add_test(NAME layers_should_depend_one_way
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/layering/layers_should_depend_one_way.cmake)
add_test(NAME layers_check_should_catch_violations
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/layering/layers_check_should_catch_violations.cmake)
