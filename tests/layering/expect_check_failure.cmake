# Runs the kernels layering check on a fixture tree and passes only when the check fails with the expected message:
# a check that cannot fail is no check.
#   cmake -DCHECK=<kernels_layering_check.cmake> [-DSRC=<tree>] -DEXPECT=<regex> -P expect_check_failure.cmake
set(args "")
if(DEFINED SRC)
  set(args -DSRC=${SRC})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} ${args} -P ${CHECK} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(rc EQUAL 0)
  message(FATAL_ERROR "the layering check passed on '${SRC}'; it must fail there")
endif()
string(REGEX REPLACE "[ \t\r\n]+" " " flat "${out}") # CMake wraps long messages
if(NOT flat MATCHES "${EXPECT}")
  message(FATAL_ERROR "the layering check failed on '${SRC}' without saying '${EXPECT}'")
endif()
