# SPDX-License-Identifier: MIT
# OTLP/HTTP exporter and HTTP client tests: need agentrace::http (libcurl, zlib) and, for the receiver tests,
# node (otlp-check receive).
if(AGENTRACE_HAVE_HTTP)
  agentrace_add_test(otlp_http_test ${CMAKE_CURRENT_SOURCE_DIR}/otlp_http_test.cpp LIBS agentrace::http)
  agentrace_add_test(http_client_test ${CMAKE_CURRENT_SOURCE_DIR}/http_client_test.cpp
                     LIBS agentrace::http)
endif()

# The otlp_http example against a real receiver: protobuf with no protocol variable, JSON with
# OTEL_EXPORTER_OTLP_PROTOCOL=http/json; every span and event must arrive.
if(AGENTRACE_HAVE_HTTP AND AGENTRACE_BUILD_EXAMPLES)
  foreach(_protocol default http/json)
    string(REPLACE "/" "_" _name "${_protocol}")
    add_test(NAME example_otlp_http:${_name}
             COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tools/otlp_http_example.sh
                     $<TARGET_FILE:example_otlp_http> ${AGENTRACE_OTLP_CHECK} ${_protocol})
    set_tests_properties(example_otlp_http:${_name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  endforeach()
endif()
