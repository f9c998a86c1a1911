# SPDX-License-Identifier: MIT
# Process lifecycle: fork, thread churn, exit paths. lifecycle_test runs lifecycle_exit_helper
# (a program that leaves through std::exit() or a return from main) and reads what it exported.
add_executable(lifecycle_exit_helper ${CMAKE_CURRENT_SOURCE_DIR}/lifecycle_exit_helper.cpp)
target_link_libraries(lifecycle_exit_helper PRIVATE agentrace::agentrace agentrace_warnings)
agentrace_add_test(lifecycle_test ${CMAKE_CURRENT_SOURCE_DIR}/lifecycle_test.cpp)
add_dependencies(lifecycle_test lifecycle_exit_helper)
target_compile_definitions(lifecycle_test PRIVATE
  AGENTRACE_EXIT_HELPER="$<TARGET_FILE:lifecycle_exit_helper>")
