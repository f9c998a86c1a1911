// SPDX-License-Identifier: MIT
// Metrics as the exporters see them: owned points with their attributes, one metric_data per
// metric, in a metrics_batch that also names the resource and the instrumentation scope.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

struct resource;

/// OTLP AggregationTemporality (values as in OTLP).
enum class aggregation_temporality : std::uint8_t { delta = 1, cumulative = 2 };

/// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.
enum class temporality_preference : std::uint8_t { cumulative, delta, lowmemory };

/// The kind of a metric's data.
enum class metric_type : std::uint8_t { sum, gauge, histogram };

/// A measurement that stands for its bucket: the span it came from.
struct exemplar {
  std::uint64_t time_unix_ns{0};
  double value{0};
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
};

/// One data point (one series of a metric).
struct metric_point {
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::uint64_t start_unix_ns{0};
  std::uint64_t time_unix_ns{0};
  // sum, gauge
  bool is_int{true};
  std::int64_t int_value{0};
  double double_value{0};
  // histogram
  std::uint64_t count{0};
  double sum{0}, min{0}, max{0};
  bool has_min_max{true};                    // false: min and max are not known (delta)
  std::vector<std::uint64_t> bucket_counts;  // bounds + 1
  std::vector<exemplar> exemplars;
};

/// One metric with its points.
struct metric_data {
  std::string name;
  std::string description;
  std::string unit;
  metric_type type{metric_type::sum};
  aggregation_temporality temporality{aggregation_temporality::cumulative};
  bool monotonic{true};        // sums
  std::vector<double> bounds;  // histograms: explicit bucket boundaries
  std::vector<metric_point> points;
};

/// What an exporter receives for metrics. Valid for the duration of the call only.
struct metrics_batch {
  std::span<const metric_data> metrics;
  const agentrace::resource& resource;
  std::string_view scope_name;
  std::string_view scope_version;
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
