# SPDX-License-Identifier: MIT
# bench/asio.cpp needs standalone Asio's headers (libasio-dev); without them it compiles to nothing.
find_path(AGENTRACE_ASIO_INCLUDE_DIR asio.hpp)
# As for asio_test (tests/cmake/context.cmake): not with clang 14 and AddressSanitizer.
set(AGENTRACE_BENCH_ASIO ON)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 15
   AND CMAKE_CXX_FLAGS MATCHES "sanitize=[a-z,]*address")
  set(AGENTRACE_BENCH_ASIO OFF)
endif()
if(AGENTRACE_ASIO_INCLUDE_DIR AND AGENTRACE_BENCH_ASIO)
  target_include_directories(agentrace_bench PRIVATE ${AGENTRACE_ASIO_INCLUDE_DIR})
  target_compile_definitions(agentrace_bench PRIVATE AGENTRACE_BENCH_ASIO=1)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")  # as in tests/cmake/context.cmake
    target_compile_definitions(agentrace_bench PRIVATE ASIO_HAS_CO_AWAIT=1)
  endif()
endif()
if(AGENTRACE_ASIO_INCLUDE_DIR AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 pairs Asio's recycling operator delete of coroutine frames with the global new.
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/asio.cpp PROPERTIES
    COMPILE_OPTIONS -Wno-mismatched-new-delete)
endif()
