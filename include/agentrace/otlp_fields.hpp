// SPDX-License-Identifier: MIT
// The OTLP/JSON field mapping, in one place for the writer (exporters/otlp_json.hpp) and the
// reader (eval/). Names are the proto3 JSON (lowerCamelCase) names; enums are integers.
#pragma once

#include <cstdint>
#include <string_view>

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::otlp {

namespace field {
inline constexpr std::string_view resource_spans = "resourceSpans";
inline constexpr std::string_view resource = "resource";
inline constexpr std::string_view scope_spans = "scopeSpans";
inline constexpr std::string_view scope = "scope";
inline constexpr std::string_view spans = "spans";
inline constexpr std::string_view schema_url = "schemaUrl";
inline constexpr std::string_view name = "name";
inline constexpr std::string_view version = "version";
inline constexpr std::string_view attributes = "attributes";
inline constexpr std::string_view dropped_attributes_count = "droppedAttributesCount";
inline constexpr std::string_view trace_id = "traceId";
inline constexpr std::string_view span_id = "spanId";
inline constexpr std::string_view parent_span_id = "parentSpanId";
inline constexpr std::string_view trace_state = "traceState";
inline constexpr std::string_view flags = "flags";
inline constexpr std::string_view kind = "kind";
inline constexpr std::string_view start_time = "startTimeUnixNano";
inline constexpr std::string_view end_time = "endTimeUnixNano";
inline constexpr std::string_view time = "timeUnixNano";
inline constexpr std::string_view events = "events";
inline constexpr std::string_view dropped_events_count = "droppedEventsCount";
inline constexpr std::string_view links = "links";
inline constexpr std::string_view dropped_links_count = "droppedLinksCount";
inline constexpr std::string_view status = "status";
inline constexpr std::string_view code = "code";
inline constexpr std::string_view message = "message";
inline constexpr std::string_view key = "key";
inline constexpr std::string_view value = "value";
inline constexpr std::string_view string_value = "stringValue";
inline constexpr std::string_view bool_value = "boolValue";
inline constexpr std::string_view int_value = "intValue";
inline constexpr std::string_view double_value = "doubleValue";
inline constexpr std::string_view array_value = "arrayValue";
inline constexpr std::string_view kvlist_value = "kvlistValue";
inline constexpr std::string_view bytes_value = "bytesValue";
inline constexpr std::string_view values = "values";
}  // namespace field

/// Span flags bits beyond the W3C trace flags (trace.proto SpanFlags).
inline constexpr std::uint32_t flag_has_is_remote = 0x100;
inline constexpr std::uint32_t flag_is_remote = 0x200;

}  // namespace agentrace::otlp

AGENTRACE_DETAIL_VISIBILITY_END
