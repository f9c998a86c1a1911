// SPDX-License-Identifier: MIT
// agentrace 0.1.0: single-header edition of include/agentrace/setup.hpp.
// Generated — do not edit. Made by scripts/amalgamate.py from the headers under include/;
// change those and run `python3 scripts/amalgamate.py`.
// Builds on <agentrace/span.hpp>: keep that single header beside this one.
// Builds on <agentrace/agentrace.hpp>: keep that single header beside this one.
#pragma once

// amalgamated: include/agentrace/setup.hpp
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

#include <agentrace/span.hpp>
#include <agentrace/agentrace.hpp>

#if !defined(AGENTRACE_COMPILED_LIB)
#endif
