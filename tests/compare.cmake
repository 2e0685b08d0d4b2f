# nnbench-compare (tools/compare): the tool on the fixtures of tests/data/compare and on bad
# input, given its path as the argument, and its core library called directly.
foreach(test compare_should_judge_result_files compare_should_reject_bad_input)
  nnbench_add_test(${test} SOURCES ${test}.c ARGS $<TARGET_FILE:nnbench-compare> LABELS compare)
  add_dependencies(${test} nnbench-compare)
endforeach()
nnbench_add_test(compare_core_should_parse_and_compare SOURCES compare_core_should_parse_and_compare.c
                 LIBS nnb_compare_core LABELS compare)
nnbench_add_test(compare_should_compare_units_sweeps_and_serves SOURCES compare_should_compare_units_sweeps_and_serves.c
                 ARGS $<TARGET_FILE:nnbench-compare> LABELS compare)
add_dependencies(compare_should_compare_units_sweeps_and_serves nnbench-compare)
