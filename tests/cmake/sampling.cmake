# SPDX-License-Identifier: MIT
# Tail sampling (tail_sampling.hpp); with SQLite also over the sql_agent example's workload,
# compared with `agentrace-eval select` when the CLI is built.
agentrace_add_test(tail_sampling_test ${CMAKE_CURRENT_SOURCE_DIR}/tail_sampling_test.cpp)
if(SQLite3_FOUND)
  target_link_libraries(tail_sampling_test PRIVATE SQLite::SQLite3)
  target_include_directories(tail_sampling_test PRIVATE ${CMAKE_SOURCE_DIR}/examples/sql_agent)
  target_compile_definitions(tail_sampling_test PRIVATE AGENTRACE_TAIL_SAMPLING_SQL_AGENT=1)
  if(AGENTRACE_BUILD_CLI AND EXISTS ${CMAKE_SOURCE_DIR}/tools/agentrace-eval/CMakeLists.txt)
    target_compile_definitions(tail_sampling_test PRIVATE
      AGENTRACE_EVAL_CLI="$<TARGET_FILE:agentrace-eval>")
    add_dependencies(tail_sampling_test agentrace-eval)
  endif()
endif()
