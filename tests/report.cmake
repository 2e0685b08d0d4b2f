# nnbench report (tools/report, docs/report.md): the pages without a browser (self-contained, escaped,
# bad input refused, store pages with change points), and drawn in headless Chromium (label browser;
# skipped, exit 77, where Chromium cannot start: tools/install-deps.sh --browser).
add_library(report_store_fixture STATIC report_store_fixture.c)
target_link_libraries(report_store_fixture PUBLIC nnb_store)
nnbench_add_test(report_should_write_self_contained_pages SOURCES report_should_write_self_contained_pages.c
                 LIBS nnb_html_report report_store_fixture LABELS report)
nnbench_add_test(report_should_draw_in_a_browser SOURCES report_should_draw_in_a_browser.c
                 LIBS nnb_html_report report_store_fixture LABELS "report;browser")
foreach(test report_should_write_self_contained_pages report_should_draw_in_a_browser)
  target_compile_definitions(${test} PRIVATE NNB_CHARTJS_PATH="${NNB_CHARTJS_PATH}")
  add_dependencies(${test} nnbench)
  set_tests_properties(${test} PROPERTIES SKIP_RETURN_CODE 77)
endforeach()
