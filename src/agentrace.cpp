// SPDX-License-Identifier: MIT
// The agentrace library of compiled mode (CMake option AGENTRACE_COMPILED_LIB): start(), the
// `tracing` handle, the collector, configuration from the environment and the built-in
// exporters (console, OTLP-JSON, and OTLP/HTTP when libcurl was found), compiled once here
// instead of in every program's file that starts tracing. One translation unit: a program that
// links the static library and calls start() gets all of it, with every exporter that
// OTEL_TRACES_EXPORTER can name registered.
#ifndef AGENTRACE_COMPILED_LIB
#error "src/agentrace.cpp is built by the CMake option AGENTRACE_COMPILED_LIB"
#endif
#define AGENTRACE_DETAIL_BUILDING_LIB 1

#include "agentrace/setup.hpp"
#include "agentrace/collector.hpp"
#include "agentrace/exporters/console.hpp"
#include "agentrace/exporters/otlp_json.hpp"
#if defined(AGENTRACE_DETAIL_LIB_HTTP)
#include "agentrace/exporters/otlp_http.hpp"
#endif
