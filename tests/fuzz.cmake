# Fuzzing (tests/fuzz/README.md). Always: the fuzz targets' entry points, built
# without libFuzzer, run on every seed of tests/fuzz/corpus/<target>/ and every
# crash reproducer of tests/fuzz/regressions/<target>/ (an ordinary test, any
# compiler). With -DNNBENCH_FUZZ=ON (clang only): the libFuzzer executables,
# in <build>/fuzz (tests/fuzz/CMakeLists.txt; tools/fuzz/run-fuzzers.sh runs them).
option(NNBENCH_FUZZ "Build libFuzzer targets (needs clang)" OFF)

set(NNB_FUZZ_DIR ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
set(NNB_FUZZ_TARGETS fuzz_cli fuzz_npy fuzz_compare_json fuzz_sweep_inputs)
set(NNB_FUZZ_LIBS_fuzz_cli nnb_driver_core)
set(NNB_FUZZ_LIBS_fuzz_npy nnb_reporting)
set(NNB_FUZZ_LIBS_fuzz_compare_json nnb_compare_core)
set(NNB_FUZZ_LIBS_fuzz_sweep_inputs nnb_sweep nnb_driver_core)

# Each entry point under its own name (nnb_<target>_one_input), so all of them link into one test.
set(entry_objects "")
foreach(target IN LISTS NNB_FUZZ_TARGETS)
  add_library(nnb_${target}_entry OBJECT ${NNB_FUZZ_DIR}/${target}.c)
  target_compile_definitions(nnb_${target}_entry PRIVATE LLVMFuzzerTestOneInput=nnb_${target}_one_input)
  target_link_libraries(nnb_${target}_entry PUBLIC ${NNB_FUZZ_LIBS_${target}})
  list(APPEND entry_objects nnb_${target}_entry)
endforeach()
nnbench_add_test(fuzz_regressions_should_not_crash SOURCES fuzz_regressions_should_not_crash.c
                 LIBS ${entry_objects} ARGS ${NNB_FUZZ_DIR}/corpus ${NNB_FUZZ_DIR}/regressions LABELS fuzz)

if(NNBENCH_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR
      "NNBENCH_FUZZ=ON needs clang (libFuzzer), but the C compiler is ${CMAKE_C_COMPILER_ID} "
      "(${CMAKE_C_COMPILER}). Configure a separate build folder with clang, e.g.\n"
      "  CC=clang cmake -S . -B build-fuzz -DNNBENCH_FUZZ=ON -DNNBENCH_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "
      "-DCMAKE_C_FLAGS=\"-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined\"\n"
      "or run tools/fuzz/run-fuzzers.sh, which does that.")
  endif()
  add_subdirectory(${NNB_FUZZ_DIR} ${CMAKE_BINARY_DIR}/fuzz)
endif()
