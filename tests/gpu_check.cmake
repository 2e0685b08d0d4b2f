# tools/gpu-check.sh's plan and its no-GPU exit (77), on any machine.
nnbench_add_test(gpu_check_should_plan_within_eight_minutes SOURCES gpu_check_should_plan_within_eight_minutes.c)
target_compile_definitions(gpu_check_should_plan_within_eight_minutes PRIVATE NNB_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
