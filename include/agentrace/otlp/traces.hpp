// SPDX-License-Identifier: MIT
// ExportTraceServiceRequest: one traversal per message, for either writer (otlp/encoder.hpp).
// A span is written by write_span() from a span_source: the collector's records (with the span
// limits applied here) and owned span_data (read back, or built off the hot path) are two
// sources of the same traversal; events, links and status are written once, below.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/otlp/encoder.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Spans with owned data (read back, or built off the hot path) that share one resource and
/// instrumentation scope: one resourceSpans element.
struct span_data_group {
  const std::vector<std::pair<std::string, attr_value>>* resource_attributes = nullptr;
  std::string_view scope_name{};
  std::string_view scope_version{};
  std::vector<const span_data*> spans{};
};

namespace otlp {

/// The header fields of a span, whatever it is read from.
struct span_header {
  agentrace::trace_id trace_id{};
  std::uint64_t span_id = 0;
  std::uint64_t parent_span_id = 0;
  std::string_view trace_state{};
  std::uint32_t flags = 0;  // W3C flags | SpanFlags bits
  std::string_view name{};
  span_kind kind = span_kind::internal;
  std::uint64_t start_unix_ns = 0;
  std::uint64_t end_unix_ns = 0;
  status_code status = status_code::unset;
  std::string_view status_message{};
  std::uint32_t dropped_events = 0;
  std::uint32_t dropped_links = 0;
};

/// SpanFlags of a span or link: the W3C flags, HAS_IS_REMOTE, and IS_REMOTE when remote.
constexpr std::uint32_t span_flags(std::uint8_t w3c, bool remote) noexcept {
  return w3c | flag_has_is_remote | (remote ? flag_is_remote : 0u);
}

/// One Span.Event element.
template <class W, class Range>
void write_event(W& w, std::uint64_t time_unix_ns, std::string_view name, const Range& attrs,
                 std::uint32_t limit, std::uint32_t dropped, std::uint32_t max_len) {
  w.begin_item(span::events);
  w.fixed64(event::time, time_unix_ns);
  w.string(event::name, name.empty() ? std::string_view("event") : name);
  dropped += write_attributes(w, event::attributes, attrs, limit, max_len);
  write_dropped(w, event::dropped_attributes_count, dropped);
  w.end_item();
}

/// One Span.Link element.
template <class W, class Range>
void write_link(W& w, const span_context& c, std::string_view trace_state, const Range& attrs,
                std::uint32_t limit, std::uint32_t dropped, std::uint32_t max_len) {
  w.begin_item(span::links);
  w.id(link::trace_id, c.trace_id);
  w.id(link::span_id, c.span_id);
  if (!trace_state.empty()) w.string(link::trace_state, trace_state);
  w.fixed32(link::flags, span_flags(c.flags, c.remote));
  dropped += write_attributes(w, link::attributes, attrs, limit, max_len);
  write_dropped(w, link::dropped_attributes_count, dropped);
  w.end_item();
}

/// One Span element of ScopeSpans.spans. `attributes(w)` writes the attribute list and returns
/// how many attributes were dropped; `events(w)` and `links(w)` write their elements.
template <class W, class Attrs, class Events, class Links>
void write_span(W& w, const span_header& h, Attrs&& attributes, Events&& events, Links&& links,
                std::uint32_t max_len) {
  w.begin_item(scope_spans::spans, 2);
  w.id(span::trace_id, h.trace_id);
  w.id(span::span_id, h.span_id);
  if (h.parent_span_id) w.id(span::parent_span_id, h.parent_span_id);
  if (!h.trace_state.empty()) w.string(span::trace_state, h.trace_state);
  w.fixed32(span::flags, h.flags);
  w.string(span::name, h.name);
  w.enum_(span::kind, static_cast<std::uint32_t>(h.kind));
  w.fixed64(span::start_time, h.start_unix_ns);
  w.fixed64(span::end_time, std::max(h.end_unix_ns, h.start_unix_ns));
  w.begin_array(span::attributes);
  const std::uint32_t dropped_attributes = attributes(w);
  w.end_array();
  write_dropped(w, span::dropped_attributes_count, dropped_attributes);
  events(w);
  write_dropped(w, span::dropped_events_count, h.dropped_events);
  links(w);
  write_dropped(w, span::dropped_links_count, h.dropped_links);
  w.begin(span::status);
  if (h.status != status_code::unset) {
    w.enum_(status::code, static_cast<std::uint32_t>(h.status));
    if (h.status == status_code::error && !h.status_message.empty())
      w.string(status::message, h.status_message, max_len);
  }
  w.end();
  w.end_item();
}

/// A span record as the collector hands it over (ticks converted here, span limits applied).
template <class W>
void write_span(W& w, const span_record& r, const agentrace::detail::clock_converter& clock,
                const span_limits& limits) {
  const std::uint32_t max_len = limits.attribute_value_length;
  const agentrace::detail::span_ext* x = r.ext();
  span_header h;
  h.trace_id = r.trace_id;
  h.span_id = r.span_id;
  h.parent_span_id = r.parent_span_id;
  h.flags = span_flags(r.flags, r.parent_remote);
  h.name = r.name();
  h.kind = r.kind();
  h.start_unix_ns = clock.to_unix_ns(r.start_ticks);
  const std::int64_t dur = clock.duration_ns(r.start_ticks, r.end_ticks);
  h.end_unix_ns = h.start_unix_ns + static_cast<std::uint64_t>(dur > 0 ? dur : 0);
  h.status = r.status;
  if (x) {
    h.trace_state = x->trace_state;
    h.status_message = x->status_message;
    h.dropped_events = x->dropped_events;
    h.dropped_links = x->dropped_links;
  }
  write_span(
      w, h,
      [&](W& ww) {
        return agentrace::detail::for_each_attribute(
            r, limits.attribute_count,
            [&](std::string_view, std::size_t i) {
              ww.slot_attribute(span::attributes, r.attrs[i], max_len);
            },
            [&](const attribute& a) {
              write_key_value(ww, span::attributes, a.key,
                              [&](W& v) { write_any_value(v, a.value, max_len); });
            });
      },
      [&](W& ww) {
        if (!x || x->events.empty()) return;
        ww.begin_array(span::events);
        for (const auto& e : x->events)
          write_event(ww, clock.to_unix_ns(e.ticks), e.name, e.attributes,
                      limits.event_attribute_count, e.dropped_attributes, max_len);
        ww.end_array();
      },
      [&](W& ww) {
        if (!x || x->links.empty()) return;
        ww.begin_array(span::links);
        for (const auto& l : x->links)
          write_link(ww, l.context, l.trace_state, l.attributes, limits.link_attribute_count,
                     l.dropped_attributes, max_len);
        ww.end_array();
      },
      max_len);
}

/// A span with owned data (its limits were applied when it was made).
template <class W>
void write_span(W& w, const span_data& s) {
  span_header h;
  h.trace_id = s.trace_id;
  h.span_id = s.span_id;
  h.parent_span_id = s.parent_span_id;
  h.trace_state = s.trace_state;
  h.flags = span_flags(s.flags, s.parent_remote);
  h.name = s.name;
  h.kind = s.kind;
  h.start_unix_ns = s.start_unix_ns;
  h.end_unix_ns = s.end_unix_ns;
  h.status = s.status;
  h.status_message = s.status_message;
  h.dropped_events = s.dropped_events;
  h.dropped_links = s.dropped_links;
  write_span(
      w, h,
      [&](W& ww) {
        for (const auto& a : s.attributes)  // (no structured binding: clang 14 cannot capture it)
          write_key_value(ww, span::attributes, a.first,
                          [&](W& x) { write_any_value(x, a.second, 0); });
        return s.dropped_attributes;
      },
      [&](W& ww) {
        if (s.events.empty()) return;
        ww.begin_array(span::events);
        for (const event_view& e : s.events)
          write_event(ww, e.time_unix_ns, e.name, e.attributes, UINT32_MAX, e.dropped_attributes,
                      0);
        ww.end_array();
      },
      [&](W& ww) {
        if (s.links.empty()) return;
        ww.begin_array(span::links);
        for (const link_view& l : s.links)
          write_link(ww, l.context, l.trace_state, l.attributes, UINT32_MAX, l.dropped_attributes,
                     0);
        ww.end_array();
      },
      0);
}

inline constexpr envelope_fields span_envelope{
    resource_spans::resource, resource_spans::scope_spans, scope_spans::scope, scope_spans::spans};

/// ExportTraceServiceRequest for a collector batch: one resource, one scope (whose attribute
/// agentrace.spans.dropped carries the spans this process has lost so far).
template <class W>
void write_trace_request(W& w, const export_batch& batch) {
  write_one_resource_request(
      w, export_trace_request::resource_spans, span_envelope, batch.resource.attributes,
      batch.scope_name, batch.scope_version,
      [&](W& ww) {
        ww.begin_array(scope::attributes);
        write_key_value(ww, scope::attributes, "agentrace.spans.dropped", [&](W& v) {
          v.int64(any_value::int_value, static_cast<std::int64_t>(batch.dropped_spans_total));
        });
        ww.end_array();
      },
      [&](W& ww) {
        for (const span_record& r : batch.spans) write_span(ww, r, batch.clock, batch.limits);
      });
}

/// ExportTraceServiceRequest holding `groups` (one resourceSpans element each).
template <class W>
void write_trace_request(W& w, std::span<const span_data_group> groups) {
  static const std::vector<std::pair<std::string, attr_value>> none;
  w.begin_request();
  w.begin_array(export_trace_request::resource_spans);
  for (const span_data_group& g : groups) {
    w.begin_item(export_trace_request::resource_spans, 3);
    write_resource_scope(
        w, span_envelope, g.resource_attributes ? *g.resource_attributes : none, g.scope_name,
        g.scope_version, [](W&) {},
        [&](W& ww) {
          for (const span_data* s : g.spans) write_span(ww, *s);
        });
    w.end_item();
  }
  w.end_array();
  w.end_request();
}

}  // namespace otlp

/// Appends one ExportTraceServiceRequest as OTLP/JSON (no trailing newline) for `batch`.
inline void serialize_otlp_json(const export_batch& batch, fmt::memory_buffer& out) {
  otlp::json_writer w(out);
  otlp::write_trace_request(w, batch);
}

/// Appends one ExportTraceServiceRequest as OTLP/JSON (no trailing newline) holding `groups`.
inline void serialize_otlp_json(std::span<const span_data_group> groups, fmt::memory_buffer& out) {
  otlp::json_writer w(out);
  otlp::write_trace_request(w, groups);
}

/// Appends one ExportTraceServiceRequest in protobuf binary for `batch`.
inline void serialize_otlp_protobuf(const export_batch& batch, fmt::memory_buffer& out) {
  otlp::proto_writer w(out);
  otlp::write_trace_request(w, batch);
}

/// Appends one ExportTraceServiceRequest in protobuf binary holding `groups`.
inline void serialize_otlp_protobuf(std::span<const span_data_group> groups,
                                    fmt::memory_buffer& out) {
  otlp::proto_writer w(out);
  otlp::write_trace_request(w, groups);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
