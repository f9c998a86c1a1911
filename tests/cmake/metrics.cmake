# SPDX-License-Identifier: MIT
# Metrics: span-derived RED and GenAI metrics, exemplars, cardinality, temporality, instruments,
# their OTLP encodings (otlp-check validates JSON and protobuf), the Prometheus exposition, and
# the /metrics endpoint scraped by a real Prometheus (Debian package prometheus) when the
# endpoint's library (civetweb) is there.
agentrace_add_test(metrics_test ${CMAKE_CURRENT_SOURCE_DIR}/metrics_test.cpp)
if(AGENTRACE_HAVE_PROMETHEUS AND AGENTRACE_HAVE_HTTP)
  target_link_libraries(metrics_test PRIVATE agentrace::prometheus agentrace::http)
  target_compile_definitions(metrics_test PRIVATE AGENTRACE_TEST_PROMETHEUS=1)
  # The SQL agent example scraped by a real Prometheus.
  if(AGENTRACE_BUILD_EXAMPLES AND SQLite3_FOUND)
    add_dependencies(metrics_test example_sql_agent)
    target_compile_definitions(metrics_test PRIVATE
      AGENTRACE_SQL_AGENT_BIN="$<TARGET_FILE:example_sql_agent>")
  endif()
endif()
