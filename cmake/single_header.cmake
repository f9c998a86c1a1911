# SPDX-License-Identifier: MIT
# AGENTRACE_SINGLE_HEADER=ON: agentrace::agentrace resolves <agentrace/...> from single_include/.
# Code that includes an internal header (tests of detail/ headers, optional parts) finds a
# forwarding stub that includes the single header holding it, so the whole test suite runs
# against the single headers and nothing from include/.
find_package(Python3 COMPONENTS Interpreter REQUIRED)
set(_agentrace_stubs ${CMAKE_CURRENT_BINARY_DIR}/single_header_stubs)
file(REMOVE_RECURSE ${_agentrace_stubs})
execute_process(COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/scripts/amalgamate.py
                        --stubs ${_agentrace_stubs}
                RESULT_VARIABLE _agentrace_rc OUTPUT_QUIET ERROR_VARIABLE _agentrace_err)
if(NOT _agentrace_rc EQUAL 0)
  message(FATAL_ERROR "scripts/amalgamate.py --stubs failed: ${_agentrace_err}")
endif()
execute_process(COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/scripts/amalgamate.py --check
                RESULT_VARIABLE _agentrace_rc OUTPUT_QUIET ERROR_VARIABLE _agentrace_err)
if(NOT _agentrace_rc EQUAL 0)
  message(WARNING "AGENTRACE_SINGLE_HEADER: the tests will use a stale single header:\n${_agentrace_err}")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${CMAKE_CURRENT_SOURCE_DIR}/scripts/amalgamate.json)
target_include_directories(agentrace INTERFACE $<BUILD_INTERFACE:${_agentrace_stubs}>)
