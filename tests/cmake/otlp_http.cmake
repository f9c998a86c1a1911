# SPDX-License-Identifier: MIT
# OTLP/HTTP exporter and HTTP client tests: need agentrace::http (libcurl, zlib) and, for the receiver tests,
# node (otlp-check receive).
if(AGENTRACE_HAVE_HTTP)
  agentrace_add_test(otlp_http_test ${CMAKE_CURRENT_SOURCE_DIR}/otlp_http_test.cpp LIBS agentrace::http)
  agentrace_add_test(http_client_test ${CMAKE_CURRENT_SOURCE_DIR}/http_client_test.cpp
                     LIBS agentrace::http)
endif()
