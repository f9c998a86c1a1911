# SPDX-License-Identifier: MIT
agentrace_add_test(hot_path_test ${CMAKE_CURRENT_SOURCE_DIR}/hot_path_test.cpp)
