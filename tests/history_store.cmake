# The results store (tools/history/store): each case in store_test_cases.c runs on both backends.
nnbench_add_test(store_should_keep_runs_once
  SOURCES store_should_keep_runs_once.c store_test_cases.c LIBS nnb_store PkgConfig::SQLITE3)
set_tests_properties(store_should_keep_runs_once PROPERTIES TIMEOUT 300)
