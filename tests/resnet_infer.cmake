# ResNet inference entry (ABI 1.2 infer, load_param) of the CPU runners: the references against golden
# torchvision eval() logits (tests/data/resnet_infer, made by tools/pytorch_compare/resnet_infer_golden.py),
# load_param's refusals, and the oneDNN runners against the references.
# --onednn: the oneDNN plugin is built, so these two tests hold its runners to the same checks.
set(nnb_resnet_infer_args "")
if(TARGET nnb_cpu_resnet)
  set(nnb_resnet_infer_args --onednn)
endif()
nnbench_add_test(resnet_load_param_should_reject_bad_tensors SOURCES resnet_load_param_should_reject_bad_tensors.c
                 LIBS nnb_resnet_arch LABELS resnet ARGS ${nnb_resnet_infer_args})
add_dependencies(resnet_load_param_should_reject_bad_tensors nnb_cpu_resnet_ref)
nnbench_add_test(resnet_infer_should_match_torchvision_eval SOURCES resnet_infer_should_match_torchvision_eval.c
                 LIBS nnb_resnet_arch LABELS resnet ARGS ${nnb_resnet_infer_args})
add_dependencies(resnet_infer_should_match_torchvision_eval nnb_cpu_resnet_ref)
if(TARGET nnb_cpu_resnet)
  add_dependencies(resnet_load_param_should_reject_bad_tensors nnb_cpu_resnet)
  add_dependencies(resnet_infer_should_match_torchvision_eval nnb_cpu_resnet)
  nnbench_add_test(resnet_infer_should_match_reference SOURCES resnet_infer_should_match_reference.c
                   LIBS nnb_resnet_arch Threads::Threads LABELS resnet)
  add_dependencies(resnet_infer_should_match_reference nnb_cpu_resnet nnb_cpu_resnet_ref)
endif()
