# nnbench serve (bench/serve*.c): percentiles, summaries and verdicts on fixed schedules, the dynamic batcher
# with real threads, and whole runs through the binary on the test plugins' spin and empty runners.
nnbench_add_test(serve_should_batch_and_measure SOURCES serve_should_batch_and_measure.c LIBS nnb_serve
                 LABELS serve)
add_dependencies(serve_should_batch_and_measure nnbench test_empty test_crashing)
# The table and --json-out agree on every figure both show (spin runner through the binary).
nnbench_add_test(serve_should_print_what_it_writes SOURCES serve_should_print_what_it_writes.c LIBS PkgConfig::CJSON
                 LABELS serve)
add_dependencies(serve_should_print_what_it_writes nnbench test_empty)
# --weights on --dump's layout, with the real LSTM and ResNet runners and their references.
if(TARGET nnb_cpu_resnet AND TARGET nnb_cpu_fast)
  # inproc: OpenBLAS and oneDNN threads in this process (the sanitizer run keeps LeakSanitizer off here).
  nnbench_add_test(serve_should_load_exported_weights SOURCES serve_should_load_exported_weights.c LIBS nnb_serve
                   LABELS serve inproc)
  add_dependencies(serve_should_load_exported_weights nnbench nnb_cpu_resnet nnb_cpu_resnet_ref nnb_cpu_fast
                   nnb_cpu_reference)
endif()
