// SPDX-License-Identifier: MIT
// The names, units and bucket boundaries of the metrics agentrace derives from spans, in one
// place: the GenAI conventions' token metric is being renamed upstream, and the span metrics
// follow the OpenTelemetry Collector's spanmetrics connector.
#pragma once

#include <array>
#include <string_view>

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::metric_names {

/// RED metrics per {service.name, span.name, span.kind, status.code} (spanmetrics connector).
inline constexpr std::string_view span_calls = "traces.span.metrics.calls";
inline constexpr std::string_view span_duration = "traces.span.metrics.duration";
/// GenAI client metrics (semantic conventions for generative AI, metrics).
inline constexpr std::string_view genai_operation_duration = "gen_ai.client.operation.duration";
inline constexpr std::string_view genai_token_usage = "gen_ai.client.token.usage";
inline constexpr std::string_view genai_time_to_first_chunk =
    "gen_ai.client.operation.time_to_first_chunk";

/// Attribute of the one series that takes every point past a metric's cardinality limit.
inline constexpr std::string_view overflow_attribute = "otel.metric.overflow";

/// Bucket boundaries (seconds) of gen_ai.client.operation.duration and time to first chunk, as
/// the GenAI conventions advise.
inline constexpr std::array<double, 14> genai_duration_buckets{
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
/// Bucket boundaries ({token}) of gen_ai.client.token.usage.
inline constexpr std::array<double, 14> genai_token_buckets{
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
/// Default bucket boundaries (seconds) of traces.span.metrics.duration: the spanmetrics
/// connector's default (2 ms to 15 s), in seconds.
inline constexpr std::array<double, 16> span_duration_buckets{
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15};

}  // namespace agentrace::metric_names

AGENTRACE_DETAIL_VISIBILITY_END
