# Backend detection. Each backend sets NNB_HAVE_<X> and a reason string for the
# configure-time summary; runners whose backend is missing are simply not built.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# cJSON: required, every JSON read and write goes through it.
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson)

# The results store of nnbench history (tools/history/store): SQLite, and libpq for PostgreSQL.
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)

# OpenMP (our own parallel passes).
find_package(OpenMP COMPONENTS C)
set(NNB_HAVE_OPENMP ${OpenMP_C_FOUND})

# CBLAS through OpenBLAS.
pkg_check_modules(OPENBLAS IMPORTED_TARGET openblas)
set(NNB_HAVE_CBLAS ${OPENBLAS_FOUND})
set(NNB_CBLAS_WHY "libopenblas-dev not found")
if(NNB_HAVE_CBLAS)
  set(NNB_CBLAS_WHY "OpenBLAS ${OPENBLAS_VERSION}")
endif()

# oneDNN, through its C API only. Debian's dnnl-config.cmake insists on the
# OpenCL development files (its GPU runtime is OpenCL), which a recommends-free
# install lacks and which we never use, so the header and library are found
# directly and wrapped in the same DNNL::dnnl target the config would give.
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
find_library(DNNL_LIBRARY dnnl)
set(NNB_HAVE_DNNL OFF)
set(NNB_DNNL_WHY "libdnnl-dev not found")
if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
  file(STRINGS "${DNNL_INCLUDE_DIR}/oneapi/dnnl/dnnl_version.h" _dnnl_version_lines
       REGEX "^#define DNNL_VERSION_(MAJOR|MINOR|PATCH) +[0-9]+")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*DNNL_VERSION_${_part} +([0-9]+).*" "\\1" _dnnl_${_part} "${_dnnl_version_lines}")
  endforeach()
  set(dnnl_VERSION "${_dnnl_MAJOR}.${_dnnl_MINOR}.${_dnnl_PATCH}")
  if(NOT TARGET DNNL::dnnl)
    add_library(DNNL::dnnl UNKNOWN IMPORTED)
    set_target_properties(DNNL::dnnl PROPERTIES IMPORTED_LOCATION "${DNNL_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
  endif()
  set(NNB_HAVE_DNNL ON)
  set(NNB_DNNL_WHY "oneDNN ${dnnl_VERSION}")
endif()

# CUDA toolkit, cuBLAS, cuDNN, NVTX3.
set(NNB_HAVE_CUDA OFF)
set(NNB_HAVE_CUDNN OFF)
set(NNB_HAVE_CUBLAS OFF)
set(NNB_HAVE_NVTX OFF)
set(NNB_CUDA_WHY "disabled (NNBENCH_CUDA=OFF)")
if(NOT NNBENCH_CUDA STREQUAL "OFF")
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      # Ampere and Hopper machine code, plus PTX for anything newer.
      set(CMAKE_CUDA_ARCHITECTURES 80-real 90-real 90-virtual)
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    find_package(CUDAToolkit)
  endif()
  if(CUDAToolkit_FOUND)
    set(NNB_HAVE_CUDA ON)
    set(NNB_CUDA_WHY "CUDA ${CUDAToolkit_VERSION}")
    if(TARGET CUDA::cublas)
      set(NNB_HAVE_CUBLAS ON)
    endif()
    if(TARGET CUDA::nvtx3)
      set(NNB_HAVE_NVTX ON)
    endif()
    find_path(CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/include)
    find_library(CUDNN_LIBRARY cudnn HINTS ${CUDAToolkit_LIBRARY_DIR} /usr/lib/x86_64-linux-gnu)
    if(CUDNN_INCLUDE_DIR AND CUDNN_LIBRARY)
      set(NNB_HAVE_CUDNN ON)
      add_library(nnb_cudnn INTERFACE)
      target_include_directories(nnb_cudnn INTERFACE ${CUDNN_INCLUDE_DIR})
      target_link_libraries(nnb_cudnn INTERFACE ${CUDNN_LIBRARY})
    endif()
  else()
    set(NNB_CUDA_WHY "CUDA toolkit (nvcc) not found")
    if(NNBENCH_CUDA STREQUAL "ON")
      message(FATAL_ERROR "NNBENCH_CUDA=ON but no CUDA toolkit was found")
    endif()
  endif()
endif()

function(nnbench_print_backend_summary)
  set(ok "✓")
  set(no "✗")
  message(STATUS "")
  message(STATUS "nnbench ${PROJECT_VERSION} backends:")
  message(STATUS "  ${ok} CPU       (always)")
  foreach(pair "CBLAS;NNB_HAVE_CBLAS;${NNB_CBLAS_WHY}" "oneDNN;NNB_HAVE_DNNL;${NNB_DNNL_WHY}"
          "OpenMP;NNB_HAVE_OPENMP;libgomp" "CUDA;NNB_HAVE_CUDA;${NNB_CUDA_WHY}"
          "cuBLAS;NNB_HAVE_CUBLAS;with CUDA" "cuDNN;NNB_HAVE_CUDNN;${CUDNN_LIBRARY}"
          "NVTX3;NNB_HAVE_NVTX;with CUDA")
    list(GET pair 0 label)
    list(GET pair 1 var)
    list(GET pair 2 why)
    string(LENGTH "${label}" len)
    math(EXPR pad "9 - ${len}")
    string(REPEAT " " ${pad} spaces)
    if(${var})
      message(STATUS "  ${ok} ${label}${spaces} (${why})")
    else()
      message(STATUS "  ${no} ${label}${spaces} (not found)")
    endif()
  endforeach()
  message(STATUS "")
endfunction()
