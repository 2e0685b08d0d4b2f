# history changes (tools/history/changes) and its method (stats/changepoint.c): docs/history-changes.md.
nnbench_add_test(changepoint_should_find_known_steps SOURCES changepoint_should_find_known_steps.c LIBS nnb_stats
                 LABELS history)
