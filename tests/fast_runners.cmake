# nnb_cpu_fast runners (runners/cpu/fast). Need the reference plugin built beside them.
nnbench_add_test(fast_lstm_should_match_reference SOURCES fast_lstm_should_match_reference.c LABELS fast)
nnbench_add_test(fast_runners_should_reject_bad_config SOURCES fast_runners_should_reject_bad_config.c LABELS fast)
nnbench_add_test(fast_simple_should_match_finite_differences SOURCES fast_simple_should_match_finite_differences.c
                 LABELS fast)
nnbench_add_test(fast_lstm_bf16_should_match_reference SOURCES fast_lstm_bf16_should_match_reference.c
                 LIBS nnb_precision LABELS fast)
# Building a test builds the plugins it loads.
foreach(t fast_lstm_should_match_reference fast_lstm_bf16_should_match_reference fast_runners_should_reject_bad_config
          fast_simple_should_match_finite_differences)
  add_dependencies(${t} nnb_cpu_fast)
  if(TARGET nnb_cpu_reference)
    add_dependencies(${t} nnb_cpu_reference)
  endif()
endforeach()
