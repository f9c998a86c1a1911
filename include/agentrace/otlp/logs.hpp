// SPDX-License-Identifier: MIT
// ExportLogsServiceRequest: one traversal for either writer (otlp/encoder.hpp).
#pragma once

#include <cstdint>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/event.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/otlp/encoder.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {
namespace otlp {

/// Severity text for the first number of each range ("INFO"...), empty for unspecified.
constexpr std::string_view severity_text(agentrace::severity s) noexcept {
  switch (s) {
    case agentrace::severity::trace: return "TRACE";
    case agentrace::severity::debug: return "DEBUG";
    case agentrace::severity::info: return "INFO";
    case agentrace::severity::warn: return "WARN";
    case agentrace::severity::error: return "ERROR";
    case agentrace::severity::fatal: return "FATAL";
    default: return {};
  }
}

/// One LogRecord element of ScopeLogs.log_records.
template <class W>
void write_log_record(W& w, const agentrace::log_record& r) {
  w.begin_item(scope_logs::log_records, 2);
  w.fixed64(log_record::time, r.time_unix_ns);
  w.fixed64(log_record::observed_time, r.observed_time_unix_ns);
  if (r.severity != agentrace::severity::unspecified) {
    w.enum_(log_record::severity_number, static_cast<std::uint32_t>(r.severity));
    w.string(log_record::severity_text, severity_text(r.severity));
  }
  if (!r.event_name.empty()) w.string(log_record::event_name, r.event_name);
  if (!std::holds_alternative<std::monostate>(r.body)) {
    w.begin(log_record::body);
    write_any_value(w, r.body, 0);
    w.end();
  }
  write_attributes(w, log_record::attributes, r.attributes);
  if (r.context.valid()) {
    w.id(log_record::trace_id, r.context.trace_id);
    w.id(log_record::span_id, r.context.span_id);
    w.fixed32(log_record::flags, r.context.flags);
  }
  w.end_item();
}

/// ExportLogsServiceRequest for `batch`: one resource, one scope.
template <class W>
void write_logs_request(W& w, const log_batch& batch) {
  write_one_resource_request(
      w, export_logs_request::resource_logs,
      {resource_logs::resource, resource_logs::scope_logs, scope_logs::scope,
       scope_logs::log_records},
      batch.resource.attributes, batch.scope_name, batch.scope_version, [](W&) {},
      [&](W& ww) {
        for (const agentrace::log_record& r : batch.records) write_log_record(ww, r);
      });
}

}  // namespace otlp

/// Appends one ExportLogsServiceRequest as OTLP/JSON (no trailing newline).
inline void serialize_otlp_json(const log_batch& batch, fmt::memory_buffer& out) {
  otlp::json_writer w(out);
  otlp::write_logs_request(w, batch);
}

/// Appends one ExportLogsServiceRequest in protobuf binary.
inline void serialize_otlp_protobuf(const log_batch& batch, fmt::memory_buffer& out) {
  otlp::proto_writer w(out);
  otlp::write_logs_request(w, batch);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
