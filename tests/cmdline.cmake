# The command-line layer (cmdline/): suggestions, spellings, output paths.
nnbench_add_test(cmdline_should_suggest_and_normalise SOURCES cmdline_should_suggest_and_normalise.c
                 LIBS nnb_cmdline LABELS cmdline)
# The real binaries (nnbench and its subcommands, nnbench-compare): -h, spellings, fixes named, output folders.
# inproc: a single vl_jit run is not isolated, so OpenBLAS threads live in nnbench's own process (.ci/sanitizers).
nnbench_add_test(cmdline_should_name_fixes_on_every_command SOURCES cmdline_should_name_fixes_on_every_command.c
                 LABELS cmdline inproc)
add_dependencies(cmdline_should_name_fixes_on_every_command nnbench nnbench-compare)
