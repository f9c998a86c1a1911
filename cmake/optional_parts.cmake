# SPDX-License-Identifier: MIT
# Optional parts that need extra libraries live in their own targets so that the core
# (agentrace::agentrace) needs only fmt, concurrentqueue and nlohmann_json.

# agentrace::http — the libcurl client (include/agentrace/http/) used by the OTLP/HTTP exporter,
# the OpenAI-compatible chat client (include/agentrace/llm/) and the eval judge.
find_package(CURL QUIET)
find_package(ZLIB QUIET)
if(CURL_FOUND AND ZLIB_FOUND)
  add_library(agentrace_http INTERFACE)
  add_library(agentrace::http ALIAS agentrace_http)
  target_link_libraries(agentrace_http INTERFACE agentrace::agentrace CURL::libcurl ZLIB::ZLIB)
  set(AGENTRACE_HAVE_HTTP ON)
else()
  message(STATUS "agentrace: libcurl or zlib not found; OTLP/HTTP, the chat client and the judge are off")
  set(AGENTRACE_HAVE_HTTP OFF)
endif()

# SQLite: only the sql_agent example uses it.
find_package(SQLite3 QUIET)

# agentrace::prometheus — the /metrics endpoint (include/agentrace/exporters/prometheus.hpp),
# served by civetweb (Debian: libcivetweb-dev).
# Found by header and library: Debian 12's civetweb CMake config names /usr/bin/civetweb, which
# only the separate civetweb package installs, and fails without it.
find_path(AGENTRACE_CIVETWEB_INCLUDE_DIR civetweb.h)
find_library(AGENTRACE_CIVETWEB_LIBRARY civetweb)
if(AGENTRACE_CIVETWEB_INCLUDE_DIR AND AGENTRACE_CIVETWEB_LIBRARY)
  add_library(agentrace_prometheus INTERFACE)
  add_library(agentrace::prometheus ALIAS agentrace_prometheus)
  target_include_directories(agentrace_prometheus INTERFACE ${AGENTRACE_CIVETWEB_INCLUDE_DIR})
  target_link_libraries(agentrace_prometheus INTERFACE agentrace::agentrace
    ${AGENTRACE_CIVETWEB_LIBRARY})
  set(AGENTRACE_HAVE_PROMETHEUS ON)
else()
  message(STATUS "agentrace: civetweb not found (libcivetweb-dev); the Prometheus endpoint is off")
  set(AGENTRACE_HAVE_PROMETHEUS OFF)
endif()
