# history changes (tools/history/changes) and its method (stats/changepoint.c): docs/history-changes.md.
nnbench_add_test(changepoint_should_find_known_steps SOURCES changepoint_should_find_known_steps.c LIBS nnb_stats
                 LABELS history)
# The binary's `history changes` on stores built through the store API (nnb_store_add_file).
nnbench_add_test(history_changes_should_report_steps SOURCES history_changes_should_report_steps.c
                 LIBS nnb_store PkgConfig::CJSON LABELS history)
add_dependencies(history_changes_should_report_steps nnbench)
# "confirmed": the rank-sum test of tools/history/changes/changes_confirm.c against hand-worked values.
nnbench_add_test(history_changes_should_confirm_by_rank_sum SOURCES history_changes_should_confirm_by_rank_sum.c
                 LIBS nnb_history_changes LABELS history)
