# A throw-away single-node Slurm cluster (tests/slurm/slurm_cluster.sh: munged, slurmctld and
# slurmd as root, everything in a temporary folder, ports of its own) runs an array job and
# --dependency=afterok jobs, as `nnbench sweep --slurm` submits them. Needs root and Debian's
# Slurm (tools/install-deps.sh --slurm); reports itself skipped (77) without them.
add_test(NAME slurm_should_run_array_and_dependent_jobs
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/slurm/slurm_should_run_array_and_dependent_jobs.sh)
set_tests_properties(slurm_should_run_array_and_dependent_jobs PROPERTIES
  SKIP_RETURN_CODE 77 LABELS slurm TIMEOUT 300 RUN_SERIAL TRUE)

# nnbench sweep --slurm on that cluster: a 4-shard array job and its afterok merge, a shard that never ran
# (named by an afterany merge), a failed shard (its afterok merge cancelled).
nnbench_add_test(slurm_sweep_should_shard_over_slurm SOURCES slurm_sweep_should_shard_over_slurm.c LABELS slurm)
add_dependencies(slurm_sweep_should_shard_over_slurm nnbench test_empty)
set_tests_properties(slurm_sweep_should_shard_over_slurm PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 400 RUN_SERIAL TRUE)
