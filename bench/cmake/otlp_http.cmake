# SPDX-License-Identifier: MIT
# bench/otlp_http.cpp needs agentrace::http; without it the file compiles to nothing.
if(AGENTRACE_HAVE_HTTP)
  if(NOT AGENTRACE_OTLP_CHECK)
    set(AGENTRACE_OTLP_CHECK "${CMAKE_SOURCE_DIR}/../shared/otlp-check/otlp-check" CACHE FILEPATH
        "otlp-check (validates OTLP-JSON; needs node and npm)")
  endif()
  target_link_libraries(agentrace_bench PRIVATE agentrace::http)
  target_compile_definitions(agentrace_bench PRIVATE AGENTRACE_BENCH_HTTP=1
    AGENTRACE_OTLP_CHECK="${AGENTRACE_OTLP_CHECK}")
endif()
