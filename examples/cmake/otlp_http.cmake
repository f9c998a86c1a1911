# SPDX-License-Identifier: MIT
# The OTLP/HTTP example needs agentrace::http (libcurl, zlib); it lives in its own folder so that
# the generic examples/*.cpp glob does not build it without them.
if(AGENTRACE_HAVE_HTTP)
  add_executable(example_otlp_http ${CMAKE_CURRENT_SOURCE_DIR}/otlp_http/main.cpp)
  set_target_properties(example_otlp_http PROPERTIES OUTPUT_NAME otlp_http)
  target_link_libraries(example_otlp_http PRIVATE agentrace::http agentrace_warnings)
endif()
