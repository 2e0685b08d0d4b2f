# The command-line layer (cmdline/): suggestions, spellings, output paths.
nnbench_add_test(cmdline_should_suggest_and_normalise SOURCES cmdline_should_suggest_and_normalise.c
                 LIBS nnb_cmdline LABELS cmdline)
