# The installed layout (docs/installing.md), the same as the build tree's:
#   bin/nnbench, bin/nnbench-compare              install() in cmd/ and tools/compare/
#   lib/nnbench/runners/*.so                      every nnbench_add_runner plugin (NnbenchHelpers.cmake)
#   include/nnbench/runner.h                      the plugin ABI, all an out-of-tree plugin needs
#   lib/pkgconfig/nnbench-runner.pc               its Cflags and runnerdir (where plugins go)
# Test plugins (tests/, test-plugins/) are never installed.

install(FILES ${CMAKE_SOURCE_DIR}/include/nnbench/runner.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/nnbench)

# pkg-config file. Every path in it is relative to ${pcfiledir}, so the file works
# for any `cmake --install --prefix P` and after the installed tree is moved.
string(REGEX REPLACE "/nnbench/runners$" "" NNB_PC_LIBDIR "${NNBENCH_RUNNER_SUBDIR}") # lib
set(NNB_PC_INSTALL_DIR ${NNB_PC_LIBDIR}/pkgconfig)
file(RELATIVE_PATH NNB_PC_PREFIX_FROM_PCFILEDIR /nnb-prefix/${NNB_PC_INSTALL_DIR} /nnb-prefix)
string(REGEX REPLACE "/$" "" NNB_PC_PREFIX_FROM_PCFILEDIR "${NNB_PC_PREFIX_FROM_PCFILEDIR}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(NNB_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(NNB_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
file(STRINGS ${CMAKE_SOURCE_DIR}/include/nnbench/runner.h _nnb_abi_lines REGEX "^#define NNB_ABI_(MAJOR|MINOR) +[0-9]+")
foreach(_part MAJOR MINOR)
  string(REGEX REPLACE ".*NNB_ABI_${_part} +([0-9]+).*" "\\1" NNB_PC_ABI_${_part} "${_nnb_abi_lines}")
endforeach()
configure_file(${CMAKE_SOURCE_DIR}/cmake/nnbench-runner.pc.in ${CMAKE_BINARY_DIR}/pkgconfig/nnbench-runner.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/pkgconfig/nnbench-runner.pc DESTINATION ${NNB_PC_INSTALL_DIR})
