# SPDX-License-Identifier: MIT
# Context area: coroutines, thread hand-off, W3C Trace Context, sampling, compile-out / runtime-off.
agentrace_add_test(coro_test ${CMAKE_CURRENT_SOURCE_DIR}/coro_test.cpp)
agentrace_add_test(context_test ${CMAKE_CURRENT_SOURCE_DIR}/context_test.cpp)
agentrace_add_test(propagation_test ${CMAKE_CURRENT_SOURCE_DIR}/propagation_test.cpp)
agentrace_add_test(sampler_test ${CMAKE_CURRENT_SOURCE_DIR}/sampler_test.cpp)
# disabled_test.cpp compiles tracing out itself (#define AGENTRACE_ENABLED 0 before the include);
# disabled_enabled_tu.cpp is a compiled-in translation unit linked into the same program.
agentrace_add_test(disabled_test ${CMAKE_CURRENT_SOURCE_DIR}/disabled_test.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/disabled_enabled_tu.cpp)
# agentrace/asio.hpp against standalone Asio (Debian libasio-dev; scripts/install-deps.sh).
find_path(AGENTRACE_ASIO_INCLUDE_DIR asio.hpp)
# clang 14 cannot assemble Asio's coroutine frames under AddressSanitizer ("Cannot represent a
# difference across sections"): there asio_test is left out; the gcc and tsan jobs run it.
set(AGENTRACE_ASIO_BUILDS ON)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 15
   AND CMAKE_CXX_FLAGS MATCHES "sanitize=[a-z,]*address")
  set(AGENTRACE_ASIO_BUILDS OFF)
  message(STATUS "clang ${CMAKE_CXX_COMPILER_VERSION} with AddressSanitizer: asio_test is not built")
endif()
if(AGENTRACE_ASIO_INCLUDE_DIR AND AGENTRACE_ASIO_BUILDS)
  agentrace_add_test(asio_test ${CMAKE_CURRENT_SOURCE_DIR}/asio_test.cpp)
  target_include_directories(asio_test PRIVATE ${AGENTRACE_ASIO_INCLUDE_DIR})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # Asio 1.22 enables co_await for clang only with <experimental/coroutine> (libc++); clang 14
    # with libstdc++'s <coroutine> works as well.
    target_compile_definitions(asio_test PRIVATE ASIO_HAS_CO_AWAIT=1)
  endif()
elseif(NOT AGENTRACE_ASIO_INCLUDE_DIR)
  message(WARNING "asio.hpp not found (install libasio-dev): asio_test is not built")
endif()
if(TARGET asio_test AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # g++ 12 pairs Asio's recycling operator delete of coroutine frames with the global new.
  target_compile_options(asio_test PRIVATE -Wno-mismatched-new-delete)
endif()
