# SPDX-License-Identifier: MIT
# A plugin built as a shared library with hidden visibility records spans for the test executable
# (tests/shared_lib_test.cpp): agentrace's process-wide state must have one copy per process.
add_library(agentrace_test_plugin SHARED ${CMAKE_CURRENT_SOURCE_DIR}/shared_lib/plugin.cpp)
target_link_libraries(agentrace_test_plugin PRIVATE agentrace::agentrace agentrace_warnings)
set_target_properties(agentrace_test_plugin PROPERTIES CXX_VISIBILITY_PRESET hidden
                                                       VISIBILITY_INLINES_HIDDEN ON)
agentrace_add_test(shared_lib_test ${CMAKE_CURRENT_SOURCE_DIR}/shared_lib_test.cpp
                   LIBS agentrace_test_plugin)

# The same plugin opened with dlopen by an executable that exports its symbols (-rdynamic).
agentrace_add_test(shared_lib_dlopen_test ${CMAKE_CURRENT_SOURCE_DIR}/shared_lib_dlopen_test.cpp
                   LIBS ${CMAKE_DL_LIBS})
set_target_properties(shared_lib_dlopen_test PROPERTIES ENABLE_EXPORTS ON)
add_dependencies(shared_lib_dlopen_test agentrace_test_plugin)
target_compile_definitions(shared_lib_dlopen_test PRIVATE
  AGENTRACE_TEST_PLUGIN_PATH="$<TARGET_FILE:agentrace_test_plugin>")
