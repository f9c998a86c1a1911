# SPDX-License-Identifier: MIT
# libFuzzer targets (clang++ only): the OTLP-JSON reader and the traceparent/tracestate parser,
# each with a seed corpus in tests/fuzz/corpus/. With AGENTRACE_BUILD_FUZZ=ON, CTest runs each
# for AGENTRACE_FUZZ_SECONDS (label "fuzz"); scripts/fuzz.sh runs them for longer.
option(AGENTRACE_BUILD_FUZZ "Build the libFuzzer targets and run them briefly in CTest (clang)" OFF)
set(AGENTRACE_FUZZ_SECONDS 10 CACHE STRING "Seconds each fuzz target runs in CTest")
if(AGENTRACE_BUILD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "AGENTRACE_BUILD_FUZZ needs clang++ (libFuzzer); this is ${CMAKE_CXX_COMPILER_ID}")
  endif()
  set(_fuzz ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
  foreach(_target reader propagation)
    add_executable(fuzz_${_target} ${_fuzz}/${_target}_fuzz.cpp)
    target_link_libraries(fuzz_${_target} PRIVATE agentrace::agentrace agentrace_warnings)
    target_compile_options(fuzz_${_target} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${_target} PRIVATE -fsanitize=fuzzer)
    # New inputs go to a corpus under the build tree; the seeds in the source tree are only read.
    add_test(NAME fuzz:${_target}
             COMMAND ${CMAKE_COMMAND} -DFUZZER=$<TARGET_FILE:fuzz_${_target}>
                     -DCORPUS=${CMAKE_CURRENT_BINARY_DIR}/fuzz-corpus/${_target}
                     -DSEEDS=${_fuzz}/corpus/${_target} -DSECONDS=${AGENTRACE_FUZZ_SECONDS}
                     -P ${_fuzz}/run_fuzzer.cmake
             WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
    set_tests_properties(fuzz:${_target} PROPERTIES LABELS fuzz TIMEOUT 300)
  endforeach()
endif()
