# The installed layout (docs/installing.md): `cmake --install` of this build tree into a
# temporary prefix, examples/out-of-tree-runner built against it with make and pkg-config
# only, run by the installed nnbench, and the installed tree moved. Installs what is built,
# never rebuilds; needs make and pkg-config (tools/install-deps.sh).
nnbench_add_test(install_should_run_out_of_tree_runner SOURCES install_should_run_out_of_tree_runner.c
  LIBS PkgConfig::CJSON LABELS install
  ARGS ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR} $<CONFIG> ${PKG_CONFIG_EXECUTABLE} ${CMAKE_C_COMPILER})
# What `cmake --install` copies must exist when the test runs.
add_dependencies(install_should_run_out_of_tree_runner nnbench nnbench-compare)
set_tests_properties(install_should_run_out_of_tree_runner PROPERTIES TIMEOUT 120)
