# Precision as an axis (--dtype, docs/precision.md): the command line, the one refusal wording over every runner
# and dtype, old (ABI 1.2) plugins fp32-only, --check's tolerance per dtype, the dtype and errors in the JSON.
nnb_test_plugin(test_abi12 ${NNBENCH_TEST_PLUGIN_DIR}/abi12 ${CMAKE_CURRENT_SOURCE_DIR}/plugins/abi12_runner.c)
nnb_test_plugin(test_precision ${NNBENCH_TEST_PLUGIN_DIR}/precision
                ${CMAKE_CURRENT_SOURCE_DIR}/plugins/precision_runners.c)
target_link_libraries(test_precision PRIVATE nnb_precision)

nnbench_add_test(precision_cli_should_parse_dtype SOURCES precision_cli_should_parse_dtype.c)
nnbench_add_test(precision_tolerance_should_follow_unit_roundoff SOURCES precision_tolerance_should_follow_unit_roundoff.c)
nnbench_add_test(precision_refusal_should_use_one_wording SOURCES precision_refusal_should_use_one_wording.c
                 LIBS nnb_precision)
nnbench_add_test(precision_json_should_carry_dtype_and_errors SOURCES precision_json_should_carry_dtype_and_errors.c
                 LIBS PkgConfig::CJSON)
foreach(t precision_refusal_should_use_one_wording precision_json_should_carry_dtype_and_errors)
  add_dependencies(${t} test_abi12 test_precision nnb_test_plugins nnbench)
endforeach()
nnbench_add_test(precision_rounding_should_round_to_nearest_even
                 SOURCES precision_rounding_should_round_to_nearest_even.c LIBS nnb_precision nnb_runner_support)
