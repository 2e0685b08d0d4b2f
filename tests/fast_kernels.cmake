# nnb_cpu_kernels and nnb_fuser units (kernels/cpu, fuser).
nnbench_add_test(cpu_kernels_should_match_plain_loops SOURCES cpu_kernels_should_match_plain_loops.c
                 LIBS nnb_cpu_kernels LABELS fast)
