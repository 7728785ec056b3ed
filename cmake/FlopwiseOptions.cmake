# Warning and sanitizer flags applied to flopwise's own targets only, so that
# generated code and third-party headers never break a -Werror build.
function(flopwise_target_options target)
  get_target_property(_type ${target} TYPE)
  if(_type STREQUAL "INTERFACE_LIBRARY")
    return()
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter>
    $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra,-Wno-unused-parameter>)
  # `#pragma omp simd` in the CPU kernels is a hint: clang warns when it cannot
  # vectorize such a loop for the target (a reduction around a call), which
  # must not fail a -Werror build on a machine with other vector units.
  target_compile_options(${target} PRIVATE
    $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:Clang>>:-Wno-pass-failed>)
  if(FLOPWISE_WERROR)
    # CUDA: nvcc's own warnings and those of the host compiler on .cu files.
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>
      $<$<COMPILE_LANGUAGE:CUDA>:--Werror=all-warnings -Xcompiler=-Werror>)
  endif()
  if(FLOPWISE_THREAD_SAFETY)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Wthread-safety -Werror=thread-safety>)
  endif()
  if(FLOPWISE_SANITIZE)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${FLOPWISE_SANITIZE} -fno-omit-frame-pointer>)
    target_link_options(${target} PRIVATE -fsanitize=${FLOPWISE_SANITIZE})
  endif()
endfunction()

# flopwise_add_library(NAME SOURCES ... [PUBLIC deps...] [PRIVATE deps...]):
# a static library of flopwise's own code, built with flopwise_target_options.
# Its headers are included by their path from the repository root
# ("db/store.h"), in it and in everything that links it.
function(flopwise_add_library name)
  cmake_parse_arguments(L "" "" "SOURCES;PUBLIC;PRIVATE" ${ARGN})
  add_library(${name} ${L_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${L_PUBLIC} PRIVATE ${L_PRIVATE})
  flopwise_target_options(${name})
endfunction()

# flopwise_add_executable(NAME SOURCES ... [LIBS ...]): a program of
# flopwise's own, linked to LIBS, built with flopwise_target_options.
function(flopwise_add_executable name)
  cmake_parse_arguments(E "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${E_SOURCES})
  target_link_libraries(${name} PRIVATE ${E_LIBS})
  flopwise_target_options(${name})
endfunction()

# flopwise_test(NAME SOURCES... LIBS ...): a GoogleTest executable registered
# with ctest, one ctest entry per TEST().
function(flopwise_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  flopwise_add_executable(${name} SOURCES ${T_SOURCES}
    LIBS ${T_LIBS} GTest::gtest GTest::gtest_main)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  gtest_discover_tests(${name}
    DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}"
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()
