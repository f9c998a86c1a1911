// SPDX-License-Identifier: MIT
// Setup, for the one file that starts tracing: agentrace::start(), its configuration, the
// `tracing` handle and the console and OTLP-JSON file exporters. Instrumented files include
// <agentrace/span.hpp> only.
//
//   #include <agentrace/setup.hpp>
//   auto tracing = agentrace::start({.service_name = "my-agent",
//                                    .exporters = {agentrace::console()}});
//
// Header-only (the default), this header also brings the collector and those exporters, which
// are compiled in the file that includes it. Built with the CMake option AGENTRACE_COMPILED_LIB,
// they are compiled once into the agentrace library and this header only declares them.
#pragma once

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/setup_decl.hpp"

#if !defined(AGENTRACE_COMPILED_LIB)
#include "agentrace/collector.hpp"
#include "agentrace/exporters/console.hpp"
#include "agentrace/exporters/otlp_json.hpp"
#endif
