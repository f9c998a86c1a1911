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
