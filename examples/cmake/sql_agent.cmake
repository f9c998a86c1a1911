# SPDX-License-Identifier: MIT
# examples/sql_agent: the natural-language-to-SQL agent (README demo). Needs SQLite3; uses
# agentrace::http for the OpenAI-compatible model when libcurl is there (offline otherwise).
if(SQLite3_FOUND)
  add_executable(example_sql_agent ${CMAKE_CURRENT_SOURCE_DIR}/sql_agent/main.cpp)
  set_target_properties(example_sql_agent PROPERTIES OUTPUT_NAME sql_agent)
  target_link_libraries(example_sql_agent PRIVATE agentrace::agentrace agentrace_warnings SQLite::SQLite3)
  if(AGENTRACE_HAVE_HTTP)
    target_link_libraries(example_sql_agent PRIVATE agentrace::http)
    target_compile_definitions(example_sql_agent PRIVATE AGENTRACE_SQL_AGENT_HAVE_HTTP=1)
  else()
    target_compile_definitions(example_sql_agent PRIVATE AGENTRACE_SQL_AGENT_HAVE_HTTP=0)
  endif()
  # The /metrics endpoint (OTEL_METRICS_EXPORTER=prometheus) when civetweb is there.
  if(AGENTRACE_HAVE_PROMETHEUS)
    target_link_libraries(example_sql_agent PRIVATE agentrace::prometheus)
    target_compile_definitions(example_sql_agent PRIVATE AGENTRACE_SQL_AGENT_HAVE_PROMETHEUS=1)
  else()
    target_compile_definitions(example_sql_agent PRIVATE AGENTRACE_SQL_AGENT_HAVE_PROMETHEUS=0)
  endif()
else()
  message(STATUS "agentrace: SQLite3 not found; the sql_agent example is not built")
endif()
