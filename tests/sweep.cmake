# nnbench sweep / merge (tools/sweep): the grid, shards and shape sets through the library; whole sweeps,
# merges and bad command lines through the nnbench binary with the test plugins' spin runner.
nnbench_add_test(sweep_should_expand_and_shard_grids SOURCES sweep_should_expand_and_shard_grids.c
                 LIBS nnb_sweep nnb_driver_core LABELS sweep fast)
nnbench_add_test(sweep_should_run_merge_and_summarise SOURCES sweep_should_run_merge_and_summarise.c
                 LABELS sweep)
add_dependencies(sweep_should_run_merge_and_summarise nnbench test_empty test_crashing)
nnbench_add_test(sweep_should_report_plan_and_progress SOURCES sweep_should_report_plan_and_progress.c
                 LIBS nnb_sweep nnb_driver_core LABELS sweep)
add_dependencies(sweep_should_report_plan_and_progress nnbench test_empty)
