# nnb_plot (tools/plot): the SVG line-plot writer, its output read back as numbers.
nnbench_add_test(plot_should_place_points_on_scales SOURCES plot_should_place_points_on_scales.c LIBS nnb_plot
                 LABELS plot fast)
nnbench_add_test(plot_should_style_and_label_without_overlap SOURCES plot_should_style_and_label_without_overlap.c
                 LIBS nnb_plot LABELS plot fast)
