# nnb_cpu_kernels and nnb_fuser units (kernels/cpu, fuser).
nnbench_add_test(cpu_kernels_should_match_plain_loops SOURCES cpu_kernels_should_match_plain_loops.c
                 LIBS nnb_cpu_kernels LABELS fast)
nnbench_add_test(cpu_gemm_bf16_should_match_portable_bit_for_bit
                 SOURCES cpu_gemm_bf16_should_match_portable_bit_for_bit.c LIBS nnb_cpu_kernels LABELS fast)
