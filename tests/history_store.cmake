# The results store (tools/history/store): each case in store_test_cases.c runs on both backends.
nnbench_add_test(store_should_keep_runs_once
  SOURCES store_should_keep_runs_once.c store_test_cases.c LIBS nnb_store PkgConfig::SQLITE3)
set_tests_properties(store_should_keep_runs_once PROPERTIES TIMEOUT 300)

# The same cases on a throw-away PostgreSQL (postgres/pg_cluster.sh: initdb in a temporary folder, a unix
# socket only); needs Debian's postgresql (tools/install-deps.sh --postgres), reports itself skipped (77)
# without it.
nnbench_add_test(store_should_work_on_postgresql
  SOURCES store_should_work_on_postgresql.c store_test_cases.c LIBS nnb_store PkgConfig::LIBPQ LABELS postgres)
set_tests_properties(store_should_work_on_postgresql PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
