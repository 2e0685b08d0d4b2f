# The layering check on a fixture tree (tests/data/layering) that breaks each rule once: it must fail and
# name every violation, accept a listed known one, and refuse a listed one that no longer occurs.
#   cmake -DSRC=<source dir> -P layers_check_should_catch_violations.cmake
cmake_minimum_required(VERSION 3.25)
set(check ${CMAKE_CURRENT_LIST_DIR}/layers_should_depend_one_way.cmake)
set(fixture ${SRC}/tests/data/layering)
set(failures 0)

# run_check(<known list> <expected summary> <expected messages...>)
function(run_check known summary)
  execute_process(COMMAND ${CMAKE_COMMAND} -DSRC=${fixture} "-DKNOWN=${known}" -P ${check}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX REPLACE "[ \t\n]+" " " all "${out}${err}")
  set(ok TRUE)
  if(rc EQUAL 0)
    message(SEND_ERROR "KNOWN='${known}': the check passed on a tree with violations")
    set(ok FALSE)
  endif()
  foreach(expected IN ITEMS "${summary}" ${ARGN})
    string(FIND "${all}" "${expected}" at)
    if(at EQUAL -1)
      message(SEND_ERROR "KNOWN='${known}': expected '${expected}' in the check's output:\n${out}${err}")
      set(ok FALSE)
    endif()
  endforeach()
  if(ok)
    message(STATUS "KNOWN='${known}': failed as expected with '${summary}'")
  endif()
endfunction()

run_check("" "11 files in 10 layers, 18 includes checked (16 of project headers), 3 links checked: 7 violations"
          "newdir/ holds sources but has no layer rule"
          "bench/b.c -> tools/t/t.h: bench/ may not use tools/"
          "tools/t/t.c -> bench/b.h: tools/ may not use bench/"
          "stats/s.c -> reporting/r.h: stats/ may not use reporting/ (may use: include)"
          "cmdline/c.c -> bench/b.h: cmdline/ may not use bench/"
          "kernels/k.c -> tools/t/t.h: kernels/ may not use tools/"
          "nnbench -> nnb_t: bench/ may not use tools/")
run_check("bench/b.c -> tools/t/t.h" "6 violations, 1 known and listed to remove")
run_check("gone -> away" "8 violations, 0 known" "known violation 'gone -> away' no longer occurs")
