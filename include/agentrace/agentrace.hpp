// SPDX-License-Identifier: MIT
// agentrace — a C++20 header-only tracer for LLM agents that speaks OpenTelemetry.
//
// Quickstart:
//   auto tracing = agentrace::start({.service_name = "my-agent",
//                                    .exporters = {agentrace::console()}});
//   {
//     AGENTRACE_SPAN(s, "agent.step");
//     s.set(my_keys::retries, 2);
//   }
//
//   agent threads                          collector thread
//   span begin/end ── one fixed-size ──►   drain in bulk ─► clocks ─► batch ─► exporters
//   (no lock, no alloc)   record, lock-free queue (drop + count when full)    (OTLP-JSON, console,
//                                                                               memory, OTLP/HTTP)
#pragma once

#include "agentrace/version.hpp"
#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/sampler.hpp"
#include "agentrace/record.hpp"
#include "agentrace/span.hpp"
#include "agentrace/event.hpp"
#include "agentrace/semconv/semconv.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/config.hpp"
#include "agentrace/metrics.hpp"
#include "agentrace/collector.hpp"
#include "agentrace/coro.hpp"
#include "agentrace/propagation.hpp"
#include "agentrace/exporters/console.hpp"
#include "agentrace/exporters/memory.hpp"
#include "agentrace/exporters/otlp_json.hpp"
#include "agentrace/exporters/prometheus_text.hpp"
