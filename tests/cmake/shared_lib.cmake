# SPDX-License-Identifier: MIT
# A plugin built as a shared library with hidden visibility records spans for the test executable
# (tests/shared_lib_test.cpp): agentrace's process-wide state must have one copy per process.
add_library(agentrace_test_plugin SHARED ${CMAKE_CURRENT_SOURCE_DIR}/shared_lib/plugin.cpp)
target_link_libraries(agentrace_test_plugin PRIVATE agentrace::agentrace agentrace_warnings)
set_target_properties(agentrace_test_plugin PROPERTIES CXX_VISIBILITY_PRESET hidden
                                                       VISIBILITY_INLINES_HIDDEN ON)
agentrace_add_test(shared_lib_test ${CMAKE_CURRENT_SOURCE_DIR}/shared_lib_test.cpp
                   LIBS agentrace_test_plugin)
