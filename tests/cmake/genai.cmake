# SPDX-License-Identifier: MIT
# GenAI conventions (semconv/, genai.hpp), the OpenAI-compatible client, the sql_agent example.
agentrace_add_test(semconv_test ${CMAKE_CURRENT_SOURCE_DIR}/semconv_test.cpp)
agentrace_add_test(genai_test ${CMAKE_CURRENT_SOURCE_DIR}/genai_test.cpp)
if(AGENTRACE_HAVE_HTTP)
  agentrace_add_test(openai_test ${CMAKE_CURRENT_SOURCE_DIR}/openai_test.cpp LIBS agentrace::http)
endif()
if(SQLite3_FOUND)
  agentrace_add_test(sql_agent_test ${CMAKE_CURRENT_SOURCE_DIR}/sql_agent_test.cpp
                     LIBS SQLite::SQLite3)
  target_include_directories(sql_agent_test PRIVATE ${CMAKE_SOURCE_DIR}/examples/sql_agent)
  if(AGENTRACE_BUILD_EXAMPLES)
    # The example binary itself is run too (its output must pass otlp-check).
    add_dependencies(sql_agent_test example_sql_agent)
    target_compile_definitions(sql_agent_test PRIVATE
      AGENTRACE_SQL_AGENT_BIN="$<TARGET_FILE:example_sql_agent>")
  endif()
endif()
