// SPDX-License-Identifier: MIT
// Every OTLP message field agentrace writes, in one place: its proto3 JSON name, field number
// and type (opentelemetry-proto v1.7.0). The encoder (otlp/encoder.hpp) writes a message by
// walking these descriptions once with either writer (OTLP/JSON or protobuf binary); the reader
// (eval/) looks fields up by the same JSON names. A new message (metrics) is a new namespace of
// descriptions here and a traversal in its own header; the writers stay as they are.
#pragma once

#include <cstdint>
#include <string_view>

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::otlp {

/// How a field is written. Each type has one protobuf wire type and one OTLP/JSON form.
enum class field_type : std::uint8_t {
  message,         // embedded message: length-delimited / JSON object
  string,          // length-delimited UTF-8 / JSON string
  id,              // bytes (trace / span id): raw bytes / lowercase hex string
  uint32,          // varint / JSON number
  enum_,           // varint / JSON number (OTLP/JSON writes enums as integers)
  int64,           // varint (two's complement) / JSON string of decimal digits
  boolean,         // varint / true, false
  double_,         // fixed64 (IEEE 754) / JSON number ("NaN", "Infinity", "-Infinity")
  fixed64,         // fixed64 / JSON string of decimal digits (times)
  fixed32,         // fixed32 / JSON number (flags)
  sfixed64,        // fixed64 (two's complement) / JSON string of decimal digits (asInt)
  packed_fixed64,  // packed repeated fixed64 / JSON array of decimal strings (bucketCounts)
  packed_double,   // packed repeated double / JSON array of numbers (explicitBounds)
};

/// Protobuf wire types.
enum class wire_type : std::uint8_t { varint = 0, i64 = 1, len = 2, i32 = 5 };

constexpr wire_type wire_of(field_type t) noexcept {
  switch (t) {
    case field_type::message:
    case field_type::string:
    case field_type::id:
    case field_type::packed_fixed64:
    case field_type::packed_double: return wire_type::len;
    case field_type::double_:
    case field_type::fixed64:
    case field_type::sfixed64: return wire_type::i64;
    case field_type::fixed32: return wire_type::i32;
    default: return wire_type::varint;
  }
}

/// One field of one message.
struct field_desc {
  std::string_view json;  // lowerCamelCase name
  std::uint32_t number;
  field_type type;
  /// The protobuf tag (number << 3 | wire type); every tag here fits in two varint bytes.
  constexpr std::uint32_t tag() const noexcept {
    return (number << 3) | static_cast<std::uint32_t>(wire_of(type));
  }
};

using ft = field_type;

// collector/*/v1/*_service.proto
namespace export_trace_request {
inline constexpr field_desc resource_spans{"resourceSpans", 1, ft::message};
}
namespace export_metrics_request {
inline constexpr field_desc resource_metrics{"resourceMetrics", 1, ft::message};
}
namespace export_logs_request {
inline constexpr field_desc resource_logs{"resourceLogs", 1, ft::message};
}
namespace export_trace_response {
inline constexpr field_desc partial_success{"partialSuccess", 1, ft::message};
}
namespace export_trace_partial_success {
inline constexpr field_desc rejected_spans{"rejectedSpans", 1, ft::int64};
inline constexpr field_desc error_message{"errorMessage", 2, ft::string};
}  // namespace export_trace_partial_success
namespace export_logs_partial_success {
inline constexpr field_desc rejected_log_records{"rejectedLogRecords", 1, ft::int64};
inline constexpr field_desc error_message{"errorMessage", 2, ft::string};
}  // namespace export_logs_partial_success
/// google.rpc.Status, the body of an OTLP/HTTP protobuf error answer.
namespace rpc_status {
inline constexpr field_desc code{"code", 1, ft::int64};
inline constexpr field_desc message{"message", 2, ft::string};
}  // namespace rpc_status

// common/v1/common.proto, resource/v1/resource.proto
namespace any_value {
inline constexpr field_desc string_value{"stringValue", 1, ft::string};
inline constexpr field_desc bool_value{"boolValue", 2, ft::boolean};
inline constexpr field_desc int_value{"intValue", 3, ft::int64};
inline constexpr field_desc double_value{"doubleValue", 4, ft::double_};
inline constexpr field_desc array_value{"arrayValue", 5, ft::message};
inline constexpr field_desc kvlist_value{"kvlistValue", 6, ft::message};
inline constexpr field_desc bytes_value{"bytesValue", 7, ft::string};
}  // namespace any_value
namespace array_value {
inline constexpr field_desc values{"values", 1, ft::message};
}
namespace key_value {
inline constexpr field_desc key{"key", 1, ft::string};
inline constexpr field_desc value{"value", 2, ft::message};
}  // namespace key_value
namespace scope {
inline constexpr field_desc name{"name", 1, ft::string};
inline constexpr field_desc version{"version", 2, ft::string};
inline constexpr field_desc attributes{"attributes", 3, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 4, ft::uint32};
}  // namespace scope
namespace resource {
inline constexpr field_desc attributes{"attributes", 1, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 2, ft::uint32};
}  // namespace resource

// trace/v1/trace.proto
namespace resource_spans {
inline constexpr field_desc resource{"resource", 1, ft::message};
inline constexpr field_desc scope_spans{"scopeSpans", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace resource_spans
namespace scope_spans {
inline constexpr field_desc scope{"scope", 1, ft::message};
inline constexpr field_desc spans{"spans", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace scope_spans
namespace span {
inline constexpr field_desc trace_id{"traceId", 1, ft::id};
inline constexpr field_desc span_id{"spanId", 2, ft::id};
inline constexpr field_desc trace_state{"traceState", 3, ft::string};
inline constexpr field_desc parent_span_id{"parentSpanId", 4, ft::id};
inline constexpr field_desc name{"name", 5, ft::string};
inline constexpr field_desc kind{"kind", 6, ft::enum_};
inline constexpr field_desc start_time{"startTimeUnixNano", 7, ft::fixed64};
inline constexpr field_desc end_time{"endTimeUnixNano", 8, ft::fixed64};
inline constexpr field_desc attributes{"attributes", 9, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 10, ft::uint32};
inline constexpr field_desc events{"events", 11, ft::message};
inline constexpr field_desc dropped_events_count{"droppedEventsCount", 12, ft::uint32};
inline constexpr field_desc links{"links", 13, ft::message};
inline constexpr field_desc dropped_links_count{"droppedLinksCount", 14, ft::uint32};
inline constexpr field_desc status{"status", 15, ft::message};
inline constexpr field_desc flags{"flags", 16, ft::fixed32};
}  // namespace span
namespace event {
inline constexpr field_desc time{"timeUnixNano", 1, ft::fixed64};
inline constexpr field_desc name{"name", 2, ft::string};
inline constexpr field_desc attributes{"attributes", 3, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 4, ft::uint32};
}  // namespace event
namespace link {
inline constexpr field_desc trace_id{"traceId", 1, ft::id};
inline constexpr field_desc span_id{"spanId", 2, ft::id};
inline constexpr field_desc trace_state{"traceState", 3, ft::string};
inline constexpr field_desc attributes{"attributes", 4, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 5, ft::uint32};
inline constexpr field_desc flags{"flags", 6, ft::fixed32};
}  // namespace link
namespace status {
inline constexpr field_desc message{"message", 2, ft::string};
inline constexpr field_desc code{"code", 3, ft::enum_};
}  // namespace status

// logs/v1/logs.proto
namespace resource_logs {
inline constexpr field_desc resource{"resource", 1, ft::message};
inline constexpr field_desc scope_logs{"scopeLogs", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace resource_logs
namespace scope_logs {
inline constexpr field_desc scope{"scope", 1, ft::message};
inline constexpr field_desc log_records{"logRecords", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace scope_logs
namespace log_record {
inline constexpr field_desc time{"timeUnixNano", 1, ft::fixed64};
inline constexpr field_desc severity_number{"severityNumber", 2, ft::enum_};
inline constexpr field_desc severity_text{"severityText", 3, ft::string};
inline constexpr field_desc body{"body", 5, ft::message};
inline constexpr field_desc attributes{"attributes", 6, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 7, ft::uint32};
inline constexpr field_desc flags{"flags", 8, ft::fixed32};
inline constexpr field_desc trace_id{"traceId", 9, ft::id};
inline constexpr field_desc span_id{"spanId", 10, ft::id};
inline constexpr field_desc observed_time{"observedTimeUnixNano", 11, ft::fixed64};
inline constexpr field_desc event_name{"eventName", 12, ft::string};
}  // namespace log_record

// metrics/v1/metrics.proto
namespace resource_metrics {
inline constexpr field_desc resource{"resource", 1, ft::message};
inline constexpr field_desc scope_metrics{"scopeMetrics", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace resource_metrics
namespace scope_metrics {
inline constexpr field_desc scope{"scope", 1, ft::message};
inline constexpr field_desc metrics{"metrics", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace scope_metrics
namespace metric {
inline constexpr field_desc name{"name", 1, ft::string};
inline constexpr field_desc description{"description", 2, ft::string};
inline constexpr field_desc unit{"unit", 3, ft::string};
inline constexpr field_desc gauge{"gauge", 5, ft::message};
inline constexpr field_desc sum{"sum", 7, ft::message};
inline constexpr field_desc histogram{"histogram", 9, ft::message};
}  // namespace metric
namespace gauge {
inline constexpr field_desc data_points{"dataPoints", 1, ft::message};
}
namespace sum {
inline constexpr field_desc data_points{"dataPoints", 1, ft::message};
inline constexpr field_desc aggregation_temporality{"aggregationTemporality", 2, ft::enum_};
inline constexpr field_desc is_monotonic{"isMonotonic", 3, ft::boolean};
}  // namespace sum
namespace histogram {
inline constexpr field_desc data_points{"dataPoints", 1, ft::message};
inline constexpr field_desc aggregation_temporality{"aggregationTemporality", 2, ft::enum_};
}  // namespace histogram
namespace number_data_point {
inline constexpr field_desc start_time{"startTimeUnixNano", 2, ft::fixed64};
inline constexpr field_desc time{"timeUnixNano", 3, ft::fixed64};
inline constexpr field_desc as_double{"asDouble", 4, ft::double_};
inline constexpr field_desc exemplars{"exemplars", 5, ft::message};
inline constexpr field_desc as_int{"asInt", 6, ft::sfixed64};
inline constexpr field_desc attributes{"attributes", 7, ft::message};
}  // namespace number_data_point
namespace histogram_data_point {
inline constexpr field_desc start_time{"startTimeUnixNano", 2, ft::fixed64};
inline constexpr field_desc time{"timeUnixNano", 3, ft::fixed64};
inline constexpr field_desc count{"count", 4, ft::fixed64};
inline constexpr field_desc sum{"sum", 5, ft::double_};
inline constexpr field_desc bucket_counts{"bucketCounts", 6, ft::packed_fixed64};
inline constexpr field_desc explicit_bounds{"explicitBounds", 7, ft::packed_double};
inline constexpr field_desc exemplars{"exemplars", 8, ft::message};
inline constexpr field_desc attributes{"attributes", 9, ft::message};
inline constexpr field_desc min{"min", 11, ft::double_};
inline constexpr field_desc max{"max", 12, ft::double_};
}  // namespace histogram_data_point
namespace exemplar {
inline constexpr field_desc time{"timeUnixNano", 2, ft::fixed64};
inline constexpr field_desc as_double{"asDouble", 3, ft::double_};
inline constexpr field_desc span_id{"spanId", 4, ft::id};
inline constexpr field_desc trace_id{"traceId", 5, ft::id};
inline constexpr field_desc as_int{"asInt", 6, ft::sfixed64};
inline constexpr field_desc filtered_attributes{"filteredAttributes", 7, ft::message};
}  // namespace exemplar

/// The JSON names alone, for readers (eval/): derived from the descriptions above.
namespace field {
inline constexpr std::string_view resource_spans = export_trace_request::resource_spans.json;
inline constexpr std::string_view resource = resource_spans::resource.json;
inline constexpr std::string_view scope_spans = resource_spans::scope_spans.json;
inline constexpr std::string_view scope = scope_spans::scope.json;
inline constexpr std::string_view spans = scope_spans::spans.json;
inline constexpr std::string_view schema_url = resource_spans::schema_url.json;
inline constexpr std::string_view name = span::name.json;
inline constexpr std::string_view version = scope::version.json;
inline constexpr std::string_view attributes = span::attributes.json;
inline constexpr std::string_view dropped_attributes_count = span::dropped_attributes_count.json;
inline constexpr std::string_view trace_id = span::trace_id.json;
inline constexpr std::string_view span_id = span::span_id.json;
inline constexpr std::string_view parent_span_id = span::parent_span_id.json;
inline constexpr std::string_view trace_state = span::trace_state.json;
inline constexpr std::string_view flags = span::flags.json;
inline constexpr std::string_view kind = span::kind.json;
inline constexpr std::string_view start_time = span::start_time.json;
inline constexpr std::string_view end_time = span::end_time.json;
inline constexpr std::string_view time = event::time.json;
inline constexpr std::string_view events = span::events.json;
inline constexpr std::string_view dropped_events_count = span::dropped_events_count.json;
inline constexpr std::string_view links = span::links.json;
inline constexpr std::string_view dropped_links_count = span::dropped_links_count.json;
inline constexpr std::string_view status = span::status.json;
inline constexpr std::string_view code = status::code.json;
inline constexpr std::string_view message = status::message.json;
inline constexpr std::string_view key = key_value::key.json;
inline constexpr std::string_view value = key_value::value.json;
inline constexpr std::string_view string_value = any_value::string_value.json;
inline constexpr std::string_view bool_value = any_value::bool_value.json;
inline constexpr std::string_view int_value = any_value::int_value.json;
inline constexpr std::string_view double_value = any_value::double_value.json;
inline constexpr std::string_view array_value = any_value::array_value.json;
inline constexpr std::string_view kvlist_value = any_value::kvlist_value.json;
inline constexpr std::string_view bytes_value = any_value::bytes_value.json;
inline constexpr std::string_view values = array_value::values.json;
}  // namespace field

/// Span flags bits beyond the W3C trace flags (trace.proto SpanFlags).
inline constexpr std::uint32_t flag_has_is_remote = 0x100;
inline constexpr std::uint32_t flag_is_remote = 0x200;

}  // namespace agentrace::otlp

AGENTRACE_DETAIL_VISIBILITY_END
