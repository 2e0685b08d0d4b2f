# nnbench history add/list/show/export and the ingest of result files (tools/history/ingest), and
# --print-json pytest-benchmark (reporting/pytest_benchmark.c).
nnbench_add_test(ingest_should_read_every_format SOURCES ingest_should_read_every_format.c
                 LIBS nnb_history_ingest LABELS history)
