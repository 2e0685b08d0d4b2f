# Every command in README.md and docs/*.md runs as written (tests/docs_commands.sh): the short ones are run
# from a fresh copy of the tracked files, the others are listed with a reason in docs_long_commands.txt.
# The check itself on a fixture with one command of each kind (tests/data/docs_commands).
add_test(NAME docs_should_run_as_written
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/docs_commands.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
add_test(NAME docs_check_should_name_failing_commands
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/docs_commands_selftest.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(docs_check_should_name_failing_commands PROPERTIES LABELS docs TIMEOUT 900)
# inproc: single-runner commands keep OpenBLAS threads in nnbench's own process (LeakSanitizer off there,
# .ci/sanitizers).
set_tests_properties(docs_should_run_as_written PROPERTIES LABELS "docs;inproc" TIMEOUT 900)
