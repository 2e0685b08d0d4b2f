# Tests of the CPU LSTM variants (runners/cpu/variants).
if(TARGET nnb_variants_reference)
  nnbench_add_test(variants_should_match_finite_differences
    SOURCES variants_should_match_finite_differences.c
    LIBS nnb_variants_double_problem
    LABELS variants)
  nnbench_add_test(variants_should_follow_layernorm_and_dropout_semantics
    SOURCES variants_should_follow_layernorm_and_dropout_semantics.c
    LIBS nnb_variants_double_problem
    LABELS variants)
  # These load the plugins from the build tree: build nnb_cpu_variants (and nnb_cpu_reference for py) first.
  nnbench_add_test(variants_should_match_reference SOURCES variants_should_match_reference.c LABELS variants)
  add_dependencies(variants_should_match_reference nnb_cpu_variants nnb_cpu_variants_omp)
  if(TARGET nnb_cpu_reference)
    add_dependencies(variants_should_match_reference nnb_cpu_reference)
  endif()
  nnbench_add_test(variants_should_reject_bad_config SOURCES variants_should_reject_bad_config.c LABELS variants)
  add_dependencies(variants_should_reject_bad_config nnb_cpu_variants)
endif()
