# nnbench history add/list/show/export and the ingest of result files (tools/history/ingest), and
# --print-json pytest-benchmark (reporting/pytest_benchmark.c).
nnbench_add_test(ingest_should_read_every_format SOURCES ingest_should_read_every_format.c
                 LIBS nnb_history_ingest LABELS history)
foreach(test history_should_add_list_show_export pytest_benchmark_should_carry_upload_fields)
  nnbench_add_test(${test} SOURCES ${test}.c LIBS PkgConfig::CJSON LABELS history)
  add_dependencies(${test} nnbench)
endforeach()
