# kernels/conv_desc: benchdnn-style convolution descriptors (--conv, the convs shape sets).
nnbench_add_test(conv_desc_should_parse_benchdnn_descriptors SOURCES conv_desc_should_parse_benchdnn_descriptors.c
                 LIBS nnb_conv_desc LABELS convs)

# The convs group in the driver: a counting fake convolution runner in its own plugin folder (so other driver tests
# see no convs runner), timed end to end through the nnbench binary.
add_library(test_convs MODULE ${CMAKE_CURRENT_SOURCE_DIR}/plugins/fake_conv_runner.c)
set_target_properties(test_convs PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${NNBENCH_TEST_PLUGIN_DIR}/convs
                                            C_VISIBILITY_PRESET hidden)
target_include_directories(test_convs PRIVATE ${CMAKE_SOURCE_DIR}/include)
nnbench_add_test(convs_driver_should_time_backward_parts SOURCES convs_driver_should_time_backward_parts.c
                 LIBS PkgConfig::CJSON LABELS convs)
add_dependencies(convs_driver_should_time_backward_parts test_convs nnbench)

# shapes/resnet50_convs.shapes is exactly what the resnet50 runner's architecture table gives.
add_test(NAME resnet50_conv_shapes_should_match_the_arch_table
         COMMAND nnb_resnet_conv_shapes --check ${CMAKE_SOURCE_DIR}/tools/sweep/shapes/resnet50_convs.shapes)
set_tests_properties(resnet50_conv_shapes_should_match_the_arch_table PROPERTIES LABELS "convs;sweep")

# Every shipped convs shape set plans (each point's --conv parses and checks) with the common arguments its header
# asks for.
foreach(set resnet50_convs deepbench_conv_train deepbench_conv_inference)
  add_test(NAME convs_shape_set_${set}_should_plan
           COMMAND nnbench sweep --shapes ${CMAKE_SOURCE_DIR}/tools/sweep/shapes/${set}.shapes --conv-no-bias
                   --list-points)
  set_tests_properties(convs_shape_set_${set}_should_plan PROPERTIES LABELS "convs;sweep")
endforeach()
