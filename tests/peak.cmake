# kernels/peak: FLOPs per instruction of every peak kernel against the multiply-adds its own arithmetic counts;
# one test per kind, skipped (77) with the reason where the CPU lacks the kind's ISA.
nnbench_add_test(peak_should_count_flops_per_instruction SOURCES peak_should_count_flops_per_instruction.c
                 LIBS nnb_fma_peak ARGS fp32_fma LABELS peak)
set_tests_properties(peak_should_count_flops_per_instruction PROPERTIES SKIP_RETURN_CODE 77)
foreach(kind bf16_dot bf16_amx fp16_fma)
  add_test(NAME peak_should_count_flops_per_instruction_${kind} COMMAND peak_should_count_flops_per_instruction ${kind})
  set_tests_properties(peak_should_count_flops_per_instruction_${kind} PROPERTIES SKIP_RETURN_CODE 77 LABELS peak)
endforeach()
# The driver's choice of peak for a run's precision (planted peaks, nothing timed).
nnbench_add_test(peak_should_follow_the_run_precision SOURCES peak_should_follow_the_run_precision.c LIBS nnb_driver
                 LABELS peak)
