# Layering: every top-level source folder is a layer, and its includes and links go only to the layers
# its rule below allows (docs/design.md, "Layers and the command line").
#   cmake -DSRC=<source dir> [-DKNOWN=<list>] -P layers_should_depend_one_way.cmake
# An include is resolved the way the compiler finds it: the including file's own folder first, then any
# project header whose path ends with the included name (the include directories are per target, so a
# name is matched against every project header). Names that match no project header (libc, cJSON, CUDA)
# are outside the project and not judged. Links are the target_link_libraries() calls in each layer's
# CMake files, judged by the layer of the target being linked.
cmake_minimum_required(VERSION 3.25)

# "<layer>: <layers it may use>". A layer may always use itself and include/ (the public <nnbench/...>
# headers); "*" means any layer. A top-level folder with C or CUDA sources and no rule fails the check.
set(rules
    "cmd: *" # the dispatcher: owns main() of nnbench, routes to the driver and the tools
    "bench: stats reporting cmdline kernels"
    "tools: stats reporting cmdline kernels runners" # lstm_gemm_bench times the runners' support code
    "reporting: stats"
    "runners: kernels fuser"
    "fuser: kernels runners" # fuser.c uses runners/common's nnb_support.h
    "examples:" # the out-of-tree runner: the public ABI only
    "stats:"
    "cmdline:"
    "kernels:")
# Violations known and still to remove, "<file or target> -> <header or target>". An entry that no longer
# occurs fails the check, so the list stays true: delete it with the code that removes the violation.
if(NOT DEFINED KNOWN)
  set(KNOWN
  )
endif()
# Top-level folders that are not layers (tests may use any layer).
set(not_layers tests docs cmake include)

foreach(rule IN LISTS rules)
  if(NOT rule MATCHES "^([a-z_]+):(.*)$")
    message(FATAL_ERROR "bad rule '${rule}': expected '<layer>: <layers it may use>'")
  endif()
  set(layer ${CMAKE_MATCH_1})
  separate_arguments(allowed_${layer} UNIX_COMMAND "${CMAKE_MATCH_2}")
  list(APPEND layers ${layer})
endforeach()

function(layer_of path out)
  string(REGEX MATCH "^[^/]+" first "${path}")
  set(${out} "${first}" PARENT_SCOPE)
endfunction()

# may_use(<from layer> <to layer> <out>): TRUE when the rules allow it.
function(may_use from to out)
  set(ok FALSE)
  if(from STREQUAL to OR to STREQUAL "include" OR "*" IN_LIST allowed_${from} OR to IN_LIST allowed_${from})
    set(ok TRUE)
  endif()
  set(${out} ${ok} PARENT_SCOPE)
endfunction()

set(bad 0)
set(known_hit "")
# report(<from layer> <to layer> <what>): an error, unless <what> is a known violation.
macro(report from to what)
  if("${what}" IN_LIST KNOWN)
    list(APPEND known_hit "${what}")
  else()
    string(REPLACE ";" " " may "${allowed_${from}} include")
    message(SEND_ERROR "${what}: ${from}/ may not use ${to}/ (may use: ${may})")
    math(EXPR bad "${bad} + 1")
  endif()
endmacro()

# Every top-level folder with sources needs a rule; build trees (CMakeCache.txt) are skipped.
file(GLOB tops LIST_DIRECTORIES true RELATIVE ${SRC} ${SRC}/*)
foreach(top IN LISTS tops)
  if(NOT IS_DIRECTORY ${SRC}/${top} OR top MATCHES "^\\." OR top IN_LIST not_layers OR top IN_LIST layers
     OR EXISTS ${SRC}/${top}/CMakeCache.txt)
    continue()
  endif()
  file(GLOB_RECURSE sources ${SRC}/${top}/*.c ${SRC}/${top}/*.h ${SRC}/${top}/*.cu ${SRC}/${top}/*.cuh)
  if(sources)
    message(SEND_ERROR "${top}/ holds sources but has no layer rule: add one to ${CMAKE_CURRENT_LIST_FILE}")
    math(EXPR bad "${bad} + 1")
  endif()
endforeach()

# Index of the project's headers by file name.
set(files "")
foreach(dir IN LISTS layers ITEMS include)
  file(GLOB_RECURSE headers RELATIVE ${SRC} ${SRC}/${dir}/*.h ${SRC}/${dir}/*.cuh)
  foreach(h IN LISTS headers)
    get_filename_component(name ${h} NAME)
    list(APPEND "hdr_${name}" ${h})
  endforeach()
  if(NOT dir STREQUAL "include")
    file(GLOB_RECURSE sources RELATIVE ${SRC} ${SRC}/${dir}/*.c ${SRC}/${dir}/*.h ${SRC}/${dir}/*.cu
         ${SRC}/${dir}/*.cuh)
    list(APPEND files ${sources})
  endif()
endforeach()

# Includes.
set(checked 0)
set(resolved 0)
foreach(f IN LISTS files)
  layer_of(${f} from)
  get_filename_component(fdir ${f} DIRECTORY)
  file(STRINGS ${SRC}/${f} lines REGEX "^[ \t]*#[ \t]*include")
  foreach(l IN LISTS lines)
    math(EXPR checked "${checked} + 1")
    if(NOT l MATCHES "[\"<]([^\">]+)[\">]")
      continue()
    endif()
    set(inc ${CMAKE_MATCH_1})
    set(targets "")
    if(EXISTS ${SRC}/${fdir}/${inc} AND NOT IS_DIRECTORY ${SRC}/${fdir}/${inc})
      get_filename_component(real ${SRC}/${fdir}/${inc} ABSOLUTE)
      file(RELATIVE_PATH real ${SRC} ${real})
      set(targets ${real})
    else()
      string(REGEX REPLACE "^(\\.\\.?/)+" "" tail "${inc}")
      get_filename_component(name "${tail}" NAME)
      string(LENGTH "/${tail}" tail_len)
      foreach(h IN LISTS "hdr_${name}")
        string(LENGTH "/${h}" h_len)
        math(EXPR start "${h_len} - ${tail_len}")
        if(start GREATER_EQUAL 0)
          string(SUBSTRING "/${h}" ${start} -1 h_tail)
          if(h_tail STREQUAL "/${tail}")
            list(APPEND targets ${h})
          endif()
        endif()
      endforeach()
    endif()
    if(NOT targets)
      continue() # outside the project
    endif()
    math(EXPR resolved "${resolved} + 1")
    # A name found in several layers is fine when the rules allow any of them.
    set(ok FALSE)
    foreach(t IN LISTS targets)
      layer_of(${t} to)
      may_use(${from} ${to} allowed)
      if(allowed)
        set(ok TRUE)
      endif()
    endforeach()
    if(NOT ok)
      list(GET targets 0 t)
      layer_of(${t} to)
      report(${from} ${to} "${f} -> ${t}")
    endif()
  endforeach()
endforeach()

# Links: first which layer defines each target, then every target_link_libraries() call.
set(cmake_files "")
foreach(layer IN LISTS layers)
  file(GLOB_RECURSE lists RELATIVE ${SRC} ${SRC}/${layer}/CMakeLists.txt ${SRC}/${layer}/*.cmake)
  list(APPEND cmake_files ${lists})
endforeach()
foreach(c IN LISTS cmake_files)
  layer_of(${c} layer)
  file(READ ${SRC}/${c} text)
  string(REGEX REPLACE "#[^\n]*" "" text "${text}")
  string(REGEX MATCHALL "(add_library|add_executable|nnbench_add_runner)\\([ \t\n]*[A-Za-z0-9_.+-]+" defs "${text}")
  foreach(d IN LISTS defs)
    string(REGEX REPLACE ".*\\([ \t\n]*" "" target "${d}")
    set(target_layer_${target} ${layer})
  endforeach()
endforeach()
set(links 0)
foreach(c IN LISTS cmake_files)
  layer_of(${c} file_layer)
  file(READ ${SRC}/${c} text)
  string(REGEX REPLACE "#[^\n]*" "" text "${text}")
  string(REGEX MATCHALL "target_link_libraries\\([^)]*\\)" calls "${text}")
  foreach(call IN LISTS calls)
    string(REGEX REPLACE "^target_link_libraries\\((.*)\\)$" "\\1" args "${call}")
    string(REGEX REPLACE "[ \t\n]+" ";" args "${args}")
    list(FILTER args EXCLUDE REGEX "^(PUBLIC|PRIVATE|INTERFACE|)$")
    list(POP_FRONT args target)
    set(from ${file_layer})
    if(DEFINED target_layer_${target})
      set(from ${target_layer_${target}})
    endif()
    foreach(item IN LISTS args)
      if(NOT DEFINED target_layer_${item})
        continue() # a system or imported library
      endif()
      math(EXPR links "${links} + 1")
      may_use(${from} ${target_layer_${item}} allowed)
      if(NOT allowed)
        report(${from} ${target_layer_${item}} "${target} -> ${item}")
      endif()
    endforeach()
  endforeach()
endforeach()

foreach(k IN LISTS KNOWN)
  if(NOT k IN_LIST known_hit)
    message(SEND_ERROR "known violation '${k}' no longer occurs: delete it from KNOWN in ${CMAKE_CURRENT_LIST_FILE}")
    math(EXPR bad "${bad} + 1")
  endif()
endforeach()

list(LENGTH files nfiles)
list(LENGTH layers nlayers)
list(REMOVE_DUPLICATES known_hit)
list(LENGTH known_hit nknown)
message(STATUS "${nfiles} files in ${nlayers} layers, ${checked} includes checked (${resolved} of project "
               "headers), ${links} links checked: ${bad} violations, ${nknown} known and listed to remove")
if(nfiles EQUAL 0 OR checked EQUAL 0 OR links EQUAL 0)
  message(FATAL_ERROR "nothing was checked under ${SRC}: is SRC the source folder?")
endif()
