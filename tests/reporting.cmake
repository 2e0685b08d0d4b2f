# Reporting: fastrnns table, OSS/AI-PEP JSON lines, full JSON results, run context.
# All four use the in-memory results of tests/fixture (known numbers; expected
# strings were produced by fastrnns' own formatting code and Python's json/repr).
set(NNB_REPORTING_FIXTURE ${CMAKE_SOURCE_DIR}/tests/fixture/results_fixture.c)
foreach(test reporting_should_format_table_like_fastrnns reporting_should_print_oss_and_pep_json
             reporting_should_write_full_json_atomically reporting_should_collect_run_context)
  nnbench_add_test(${test} SOURCES ${test}.c ${NNB_REPORTING_FIXTURE} LIBS nnb_reporting LABELS reporting)
  target_include_directories(${test} PRIVATE ${CMAKE_SOURCE_DIR}/tests/fixture)
endforeach()
# Independent source for the context test: the project version.
target_compile_definitions(reporting_should_collect_run_context PRIVATE NNB_EXPECTED_VERSION="${PROJECT_VERSION}")
