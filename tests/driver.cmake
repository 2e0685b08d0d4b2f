# Driver, loader, CLI and harness tests, with their test plugins.
set(good_dir ${NNBENCH_TEST_PLUGIN_DIR}/good)
set(broken_dir ${NNBENCH_TEST_PLUGIN_DIR}/broken)

function(nnb_test_plugin target dir source)
  add_library(${target} MODULE ${source})
  set_target_properties(${target} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${dir} C_VISIBILITY_PRESET hidden)
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/include)
  foreach(def IN LISTS ARGN)
    target_compile_definitions(${target} PRIVATE ${def})
  endforeach()
endfunction()

nnb_test_plugin(test_empty ${good_dir} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/empty_runner.c)
nnb_test_plugin(test_crashing ${good_dir} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/crashing_runners.c)
# Crashes for real, also in the sanitizer build (UBSan would stop the null store before it faults).
target_compile_options(test_crashing PRIVATE -fno-sanitize=all)
nnb_test_plugin(no_entry ${broken_dir} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/broken_plugins.c BROKEN_KIND=1)
nnb_test_plugin(wrong_abi ${broken_dir} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/broken_plugins.c BROKEN_KIND=2)
nnb_test_plugin(bad_descriptor ${broken_dir} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/broken_plugins.c BROKEN_KIND=3)
nnb_test_plugin(dup_a ${broken_dir} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/broken_plugins.c BROKEN_KIND=4)
nnb_test_plugin(dup_b ${broken_dir} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/broken_plugins.c BROKEN_KIND=4)
nnb_test_plugin(survivor ${broken_dir} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/broken_plugins.c BROKEN_KIND=5)
nnb_test_plugin(old_minor ${broken_dir} ${CMAKE_CURRENT_SOURCE_DIR}/plugins/broken_plugins.c BROKEN_KIND=6)
file(MAKE_DIRECTORY ${broken_dir})
file(WRITE ${broken_dir}/not_a_plugin.so "this is a text file, not a shared object\n")
add_custom_target(nnb_test_plugins DEPENDS test_empty test_crashing no_entry wrong_abi bad_descriptor dup_a dup_b survivor old_minor)

nnbench_add_test(loader_should_report_broken_plugins SOURCES loader_should_report_broken_plugins.c)
nnbench_add_test(cli_should_reject_bad_input SOURCES cli_should_reject_bad_input.c)
nnbench_add_test(driver_should_time_and_report SOURCES driver_should_time_and_report.c LIBS PkgConfig::CJSON)
nnbench_add_test(stats_should_summarise_samples SOURCES stats_should_summarise_samples.c)
nnbench_add_test(check_should_compare_tensors SOURCES check_should_compare_tensors.c)
nnbench_add_test(npy_should_round_trip SOURCES npy_should_round_trip.c)
foreach(t loader_should_report_broken_plugins cli_should_reject_bad_input driver_should_time_and_report)
  add_dependencies(${t} nnb_test_plugins nnbench)
endforeach()
nnbench_add_test(robust_stats_should_decide_with_confidence SOURCES robust_stats_should_decide_with_confidence.c)
nnbench_add_test(ab_should_decide_paired_comparisons SOURCES ab_should_decide_paired_comparisons.c LIBS PkgConfig::CJSON)
add_dependencies(ab_should_decide_paired_comparisons nnb_test_plugins nnbench)
nnbench_add_test(dump_should_keep_last_gradients SOURCES dump_should_keep_last_gradients.c)
add_dependencies(dump_should_keep_last_gradients nnbench)
nnbench_add_test(isolate_should_survive_crashing_runners SOURCES isolate_should_survive_crashing_runners.c LIBS PkgConfig::CJSON)
add_dependencies(isolate_should_survive_crashing_runners nnb_test_plugins nnbench)
# Independent sources for the library probe: what OpenBLAS says of itself and CMake's oneDNN version.
nnbench_add_test(libraries_should_describe_what_is_loaded SOURCES libraries_should_describe_what_is_loaded.c)
target_compile_definitions(libraries_should_describe_what_is_loaded PRIVATE
                           $<$<BOOL:${NNB_HAVE_DNNL}>:NNB_EXPECTED_ONEDNN="${dnnl_VERSION}">
                           $<$<BOOL:${NNB_HAVE_CBLAS}>:NNB_EXPECT_OPENBLAS=1>)
# --progress: per-runner lines, the live line, and never's stderr exactly fastrnns' table.
nnbench_add_test(progress_should_tell_how_far_a_run_is SOURCES progress_should_tell_how_far_a_run_is.c
                 LIBS PkgConfig::CJSON)
add_dependencies(progress_should_tell_how_far_a_run_is nnb_test_plugins nnbench)
# --list's capability columns and the missing NVIDIA driver said once, --ab within a group, --check's
# verdict before the row, --measure-peak's peak printed.
# inproc: --no-isolate runs put OpenBLAS threads in nnbench's own process (LeakSanitizer off there, .ci/sanitizers).
nnbench_add_test(driver_should_say_what_runs_here SOURCES driver_should_say_what_runs_here.c LIBS ${CMAKE_DL_LIBS}
                 LABELS driver inproc)
add_dependencies(driver_should_say_what_runs_here nnb_test_plugins nnbench)
