# SPDX-License-Identifier: MIT
# The current context after out-of-order and cross-thread span ends; the console exporter's
# idle-time printing.
agentrace_add_test(context_restore_test ${CMAKE_CURRENT_SOURCE_DIR}/context_restore_test.cpp)
agentrace_add_test(console_idle_test ${CMAKE_CURRENT_SOURCE_DIR}/console_idle_test.cpp)
