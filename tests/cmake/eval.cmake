# SPDX-License-Identifier: MIT
# Self-evaluation (include/agentrace/eval/, tools/agentrace-eval/).
set(_eval ${CMAKE_CURRENT_SOURCE_DIR})
agentrace_add_test(eval_reader_test ${_eval}/eval_reader_test.cpp)
agentrace_add_test(eval_stats_test ${_eval}/eval_stats_test.cpp)
agentrace_add_test(eval_query_test ${_eval}/eval_query_test.cpp)
agentrace_add_test(eval_dataset_test ${_eval}/eval_dataset_test.cpp)
agentrace_add_test(eval_store_test ${_eval}/eval_store_test.cpp)
if(AGENTRACE_HAVE_HTTP)
  agentrace_add_test(eval_judge_test ${_eval}/eval_judge_test.cpp LIBS agentrace::http)
endif()
# The CLI tests run the built binary.
if(AGENTRACE_BUILD_CLI AND EXISTS ${CMAKE_SOURCE_DIR}/tools/agentrace-eval/CMakeLists.txt)
  agentrace_add_test(eval_cli_test ${_eval}/eval_cli_test.cpp)
  target_compile_definitions(eval_cli_test PRIVATE
    AGENTRACE_EVAL_CLI="$<TARGET_FILE:agentrace-eval>"
    AGENTRACE_EVAL_HAVE_JUDGE=$<BOOL:${AGENTRACE_HAVE_HTTP}>)
  add_dependencies(eval_cli_test agentrace-eval)
  agentrace_add_test(eval_report_test ${_eval}/eval_report_test.cpp)
  target_compile_definitions(eval_report_test PRIVATE AGENTRACE_EVAL_CLI="$<TARGET_FILE:agentrace-eval>")
  add_dependencies(eval_report_test agentrace-eval)
endif()
# The HTML report in headless Chromium (Debian's chromium; fails when missing with CI=true, skips
# otherwise). Driven over the DevTools pipe by node, with no npm packages.
if(AGENTRACE_BUILD_CLI AND EXISTS ${CMAKE_SOURCE_DIR}/tools/agentrace-eval/CMakeLists.txt)
  find_program(AGENTRACE_NODE node)
  find_program(AGENTRACE_PYTHON3 python3)
  if(AGENTRACE_NODE AND AGENTRACE_PYTHON3)
    add_test(NAME eval_report_browser
      COMMAND ${AGENTRACE_NODE} ${_eval}/report_browser_test.mjs $<TARGET_FILE:agentrace-eval>
              ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/eval-tmp/report-browser)
    set_tests_properties(eval_report_browser PROPERTIES TIMEOUT 90 SKIP_RETURN_CODE 77)
  endif()
endif()
