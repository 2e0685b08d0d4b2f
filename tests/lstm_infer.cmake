# ABI 1.2 infer(n) / load_param of the CPU LSTM runners that serve: py (reference plugin), the fixed-length fast
# runners, and cudnn / cudnn_dropout when oneDNN is built. `lstm_infer_should_match_forward --bench` times them.
if(TARGET nnb_cpu_reference)
  nnbench_add_test(lstm_infer_should_match_forward SOURCES lstm_infer_should_match_forward.c LABELS fast onednn)
  add_dependencies(lstm_infer_should_match_forward nnb_cpu_reference nnb_cpu_fast)
  if(TARGET nnb_cpu_onednn)
    add_dependencies(lstm_infer_should_match_forward nnb_cpu_onednn)
  endif()
endif()
