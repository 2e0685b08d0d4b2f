# Layering (scripts in tests/layering/, not *.cmake here: tests/CMakeLists.txt includes those).
# kernels/ depend on nothing above them (runners/, bench/, reporting/).
add_test(NAME kernels_should_include_nothing_from_runners_or_bench
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/kernels_should_include_nothing_from_runners_or_bench.cmake)
# Layering of the whole tree: each top-level folder includes and links only what its rule allows.
add_test(NAME layers_should_depend_one_way
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/layering/layers_should_depend_one_way.cmake)
add_test(NAME layers_check_should_catch_violations
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/layering/layers_check_should_catch_violations.cmake)
