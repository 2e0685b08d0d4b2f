# Reference LSTM (runners/cpu/reference): core against PyTorch golden data and finite differences, and the plugin.
nnbench_add_test(reference_should_match_pytorch_golden SOURCES reference_should_match_pytorch_golden.c
                 LIBS nnb_lstm_ref PkgConfig::CJSON LABELS reference)
nnbench_add_test(reference_should_match_finite_differences SOURCES reference_should_match_finite_differences.c
                 LIBS nnb_lstm_ref LABELS reference)
nnbench_add_test(reference_plugin_should_produce_consistent_outputs
                 SOURCES reference_plugin_should_produce_consistent_outputs.c
                 LIBS nnb_lstm_ref PkgConfig::CJSON LABELS reference)
add_dependencies(reference_plugin_should_produce_consistent_outputs nnb_cpu_reference)
