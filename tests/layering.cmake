# Layering: kernels/ depend on nothing above them (runners/, bench/, reporting/).
add_test(NAME kernels_should_include_nothing_from_runners_or_bench
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/kernels_should_include_nothing_from_runners_or_bench.cmake)
