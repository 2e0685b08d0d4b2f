# kernels/conv_desc: benchdnn-style convolution descriptors (--conv, the convs shape sets).
nnbench_add_test(conv_desc_should_parse_benchdnn_descriptors SOURCES conv_desc_should_parse_benchdnn_descriptors.c
                 LIBS nnb_conv_desc LABELS convs)
