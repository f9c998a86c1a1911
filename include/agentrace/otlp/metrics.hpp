// SPDX-License-Identifier: MIT
// ExportMetricsServiceRequest: one traversal for either writer (otlp/encoder.hpp).
#pragma once

#include <cstdint>
#include <span>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/metrics/data.hpp"
#include "agentrace/otlp/encoder.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {
namespace otlp {

/// The exemplars of a data point (repeated field `f`).
template <class W>
void write_exemplars(W& w, const field_desc& f, const std::vector<agentrace::exemplar>& ex) {
  w.begin_array(f);
  for (const agentrace::exemplar& e : ex) {
    w.begin_item(f);
    w.fixed64(exemplar::time, e.time_unix_ns);
    w.double_(exemplar::as_double, e.value);
    if (e.span_id != 0) {
      w.id(exemplar::span_id, e.span_id);
      w.id(exemplar::trace_id, e.trace_id);
    }
    w.end_item();
  }
  w.end_array();
}

/// One Metric element of ScopeMetrics.metrics.
template <class W>
void write_metric(W& w, const metric_data& m) {
  w.begin_item(scope_metrics::metrics, 2);
  w.string(metric::name, m.name);
  if (!m.description.empty()) w.string(metric::description, m.description);
  if (!m.unit.empty()) w.string(metric::unit, m.unit);
  const auto temporality = static_cast<std::uint32_t>(m.temporality);
  if (m.type == metric_type::histogram) {
    w.begin(metric::histogram);
    w.begin_array(histogram::data_points);
    for (const metric_point& p : m.points) {
      w.begin_item(histogram::data_points, 2);
      w.fixed64(histogram_data_point::start_time, p.start_unix_ns);
      w.fixed64(histogram_data_point::time, p.time_unix_ns);
      w.fixed64(histogram_data_point::count, p.count);
      w.double_(histogram_data_point::sum, p.sum);
      w.packed_fixed64(histogram_data_point::bucket_counts, p.bucket_counts);
      w.packed_double(histogram_data_point::explicit_bounds, m.bounds);
      write_exemplars(w, histogram_data_point::exemplars, p.exemplars);
      write_attributes(w, histogram_data_point::attributes, p.attributes);
      if (p.count > 0 && p.has_min_max) {
        w.double_(histogram_data_point::min, p.min);
        w.double_(histogram_data_point::max, p.max);
      }
      w.end_item();
    }
    w.end_array();
    w.enum_(histogram::aggregation_temporality, temporality);
    w.end();
  } else {
    const field_desc& data = m.type == metric_type::sum ? metric::sum : metric::gauge;
    w.begin(data);
    w.begin_array(sum::data_points);
    for (const metric_point& p : m.points) {
      w.begin_item(sum::data_points, 2);
      if (p.start_unix_ns) w.fixed64(number_data_point::start_time, p.start_unix_ns);
      w.fixed64(number_data_point::time, p.time_unix_ns);
      if (p.is_int)
        w.sfixed64(number_data_point::as_int, p.int_value);
      else
        w.double_(number_data_point::as_double, p.double_value);
      write_exemplars(w, number_data_point::exemplars, p.exemplars);
      write_attributes(w, number_data_point::attributes, p.attributes);
      w.end_item();
    }
    w.end_array();
    if (m.type == metric_type::sum) {
      w.enum_(sum::aggregation_temporality, temporality);
      if (m.monotonic) w.boolean(sum::is_monotonic, true);
    }
    w.end();
  }
  w.end_item();
}

/// ExportMetricsServiceRequest for `batch`: one resource, one scope.
template <class W>
void write_metrics_request(W& w, const metrics_batch& batch) {
  write_one_resource_request(
      w, export_metrics_request::resource_metrics,
      {resource_metrics::resource, resource_metrics::scope_metrics, scope_metrics::scope,
       scope_metrics::metrics},
      batch.resource.attributes, batch.scope_name, batch.scope_version, [](W&) {},
      [&](W& ww) {
        for (const metric_data& m : batch.metrics) write_metric(ww, m);
      });
}

}  // namespace otlp

/// Appends one ExportMetricsServiceRequest as OTLP/JSON (no trailing newline).
inline void serialize_otlp_json(const metrics_batch& batch, fmt::memory_buffer& out) {
  otlp::json_writer w(out);
  otlp::write_metrics_request(w, batch);
}

/// Appends one ExportMetricsServiceRequest in protobuf binary.
inline void serialize_otlp_protobuf(const metrics_batch& batch, fmt::memory_buffer& out) {
  otlp::proto_writer w(out);
  otlp::write_metrics_request(w, batch);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
