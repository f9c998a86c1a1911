# SPDX-License-Identifier: MIT
# AGENTRACE_COMPILED_LIB=ON: agentrace::agentrace is a library (static; shared with
# BUILD_SHARED_LIBS) compiled from src/agentrace.cpp: start(), the `tracing` handle, the
# collector, configuration from the environment and the console, OTLP-JSON and (libcurl and zlib
# found) OTLP/HTTP exporters; and from src/agentrace_eval.cpp and src/agentrace_eval_writers.cpp:
# the light eval entry points of <agentrace/eval/light.hpp> (reader, span statistics, query;
# datasets, the HTML report). Its users get
# AGENTRACE_COMPILED_LIB, so <agentrace/setup.hpp> and <agentrace/eval/light.hpp> declare what
# the library defines instead of compiling it again.
if(AGENTRACE_SINGLE_HEADER)
  message(FATAL_ERROR "AGENTRACE_COMPILED_LIB builds the library from include/; "
                      "it does not go with AGENTRACE_SINGLE_HEADER")
endif()
target_compile_definitions(agentrace PUBLIC AGENTRACE_COMPILED_LIB)
set_target_properties(agentrace PROPERTIES
  VERSION ${PROJECT_VERSION}
  # 0.x: a new minor version may break the ABI
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
# The warnings of agentrace's own targets (agentrace_warnings is not exported, so not linked).
target_compile_options(agentrace PRIVATE -Wall -Wextra -Wpedantic
  $<$<BOOL:${AGENTRACE_WERROR}>:-Werror>)
if(AGENTRACE_HAVE_HTTP)
  target_compile_definitions(agentrace PRIVATE AGENTRACE_DETAIL_LIB_HTTP=1)
  target_link_libraries(agentrace PRIVATE CURL::libcurl ZLIB::ZLIB)
endif()
