# SPDX-License-Identifier: MIT
# BM_Span*SharedLib: the span loops built into a shared library (bench/shared_lib/spans.cpp).
add_library(agentrace_bench_spans SHARED ${CMAKE_CURRENT_SOURCE_DIR}/shared_lib/spans.cpp)
target_link_libraries(agentrace_bench_spans PRIVATE agentrace::agentrace agentrace_warnings
  benchmark::benchmark)
target_include_directories(agentrace_bench PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/shared_lib)
target_link_libraries(agentrace_bench PRIVATE agentrace_bench_spans)
