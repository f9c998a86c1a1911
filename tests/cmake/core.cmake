# SPDX-License-Identifier: MIT
agentrace_add_test(span_test ${CMAKE_CURRENT_SOURCE_DIR}/span_test.cpp)
