# SPDX-License-Identifier: MIT
# agentrace_thread_churn: thread states and memory under thread churn with a slow exporter
# (bench/thread_churn/thread_churn.cpp; scripts/thread-churn.sh runs it). Not a Google Benchmark:
# it counts, it does not time.
add_executable(agentrace_thread_churn ${CMAKE_CURRENT_SOURCE_DIR}/thread_churn/thread_churn.cpp)
target_link_libraries(agentrace_thread_churn PRIVATE agentrace::agentrace agentrace_warnings)
