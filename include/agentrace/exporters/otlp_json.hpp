// SPDX-License-Identifier: MIT
// OTLP/JSON: one ExportTraceServiceRequest per batch, written with fmt into a reused buffer.
// As JSON lines (the OpenTelemetry file-exporter format) to a file or stdout; the OTLP/HTTP
// exporter posts the same bytes.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/config.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/otlp_fields.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

namespace detail {

class otlp_json_writer {
 public:
  explicit otlp_json_writer(fmt::memory_buffer& b, std::uint32_t max_len)
      : b_(b), max_len_(max_len) {}

  void key(std::string_view k) {
    b_.push_back('"');
    append(b_, k);
    append(b_, "\":");
  }

  // Resource attributes: exempt from the span limits.
  void string_attribute(std::string_view k, std::string_view v) {
    append(b_, "{\"key\":");
    write_json_string(b_, k);
    append(b_, ",\"value\":{\"stringValue\":");
    write_json_string(b_, v);
    append(b_, "}}");
  }

  void int_attribute(std::string_view k, std::int64_t v) {
    append(b_, "{\"key\":");
    write_json_string(b_, k);
    append(b_, ",\"value\":{\"intValue\":\"");
    write_int(b_, v);
    append(b_, "\"}}");
  }

  void any_value(const attr_value& v) {
    b_.push_back('{');
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            key(otlp::field::string_value);
            append(b_, "\"\"");
          } else if constexpr (std::is_same_v<T, bool>) {
            key(otlp::field::bool_value);
            append(b_, x ? "true" : "false");
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            key(otlp::field::int_value);
            b_.push_back('"');
            write_int(b_, x);
            b_.push_back('"');
          } else if constexpr (std::is_same_v<T, double>) {
            key(otlp::field::double_value);
            write_double(b_, x);
          } else if constexpr (std::is_same_v<T, std::string>) {
            key(otlp::field::string_value);
            write_json_string(b_, x, max_len_);
          } else {
            append(b_, "\"arrayValue\":{\"values\":[");
            bool first = true;
            for (const auto& e : x) {
              if (!first) b_.push_back(',');
              first = false;
              any_value(attr_value{typename T::value_type(e)});
            }
            append(b_, "]}");
          }
        },
        v);
    b_.push_back('}');
  }

  void attribute(std::string_view k, const attr_value& v) {
    append(b_, "{\"key\":");
    write_json_string(b_, k);
    append(b_, ",\"value\":");
    any_value(v);
    b_.push_back('}');
  }

  void slot_attribute(const span_record& r, std::size_t i) {
    const attr_slot& s = r.attrs[i];
    append(b_, "{\"key\":");
    write_json_string(b_, s.key_name());
    append(b_, ",\"value\":{");
    switch (s.type()) {
      case slot_type::boolean:
        append(b_, s.as_bool() ? "\"boolValue\":true" : "\"boolValue\":false");
        break;
      case slot_type::int64:
        append(b_, "\"intValue\":\"");
        write_int(b_, s.as_int());
        b_.push_back('"');
        break;
      case slot_type::float64:
        append(b_, "\"doubleValue\":");
        write_double(b_, s.as_double());
        break;
      case slot_type::static_str:
      case slot_type::owned_str:
        append(b_, "\"stringValue\":");
        write_json_string(b_, s.as_string(), max_len_);
        break;
    }
    append(b_, "}}");
  }

  // Attribute lists limited to `limit` entries; returns how many were left out.
  template <class Range>
  std::uint32_t attribute_list(const Range& attrs, std::uint32_t limit) {
    append(b_, "\"attributes\":[");
    std::uint32_t n = 0, dropped = 0;
    for (const auto& a : attrs) {
      if (n >= limit) {  // OpenTelemetry count limits: 0 allows none
        ++dropped;
        continue;
      }
      if (n++) b_.push_back(',');
      attribute(a.key, a.value);
    }
    b_.push_back(']');
    return dropped;
  }

  void span(const span_record& r, const clock_converter& clock, const span_limits& limits) {
    // Written through raw_out: one capacity check for the fixed part and the inline attributes
    // (bounded by their lengths), then plain stores. Attribute values are not truncated on this
    // path, so it needs no code-point counting; with a value length limit the spans are written
    // by span_limited().
    if (max_len_ != 0) return span_limited(r, clock, limits);
    const std::string_view name = r.name();
    const bool has_state = r.ext() && !r.ext()->trace_state.empty();
    raw_out o(b_, 320 + json_string_bound(name.size()));
    o.lit("{\"traceId\":\"");
    o.hex64(r.trace_id.hi);
    o.hex64(r.trace_id.lo);
    o.lit("\",\"spanId\":\"");
    o.hex64(r.span_id);
    o.ch('"');
    if (r.parent_span_id) {
      o.lit(",\"parentSpanId\":\"");
      o.hex64(r.parent_span_id);
      o.ch('"');
    }
    if (has_state) {
      o.commit();
      append(b_, ",\"traceState\":");
      write_json_string(b_, r.ext()->trace_state);
      o.reopen(320 + json_string_bound(name.size()));
    }
    std::uint32_t flags = r.flags | otlp::flag_has_is_remote;
    if (r.parent_remote) flags |= otlp::flag_is_remote;
    o.lit(",\"flags\":");
    o.uint(flags);
    o.lit(",\"name\":");
    o.str(name);
    o.lit(",\"kind\":");
    o.uint(static_cast<std::uint32_t>(r.kind()));
    const std::uint64_t start = clock.to_unix_ns(r.start_ticks);
    const std::int64_t dur = clock.duration_ns(r.start_ticks, r.end_ticks);
    o.lit(",\"startTimeUnixNano\":\"");
    o.uint(start);
    o.lit("\",\"endTimeUnixNano\":\"");
    o.uint(start + static_cast<std::uint64_t>(dur > 0 ? dur : 0));
    o.lit("\",\"attributes\":[");
    o.commit();

    std::size_t bound = 8;
    for (std::size_t i = 0; i < r.n_attrs; ++i) bound += slot_bound(r, i);
    o.reopen(bound);
    bool first = true, raw_open = true;
    const std::uint32_t dropped_attrs = for_each_attribute(
        r, limits.attribute_count,
        [&](std::string_view, std::size_t i) {
          if (!first) o.ch(',');
          first = false;
          slot_attribute(o, r, i);
        },
        [&](const agentrace::attribute& a) {
          if (raw_open) {  // extension attributes come after every inline one
            o.commit();
            raw_open = false;
          }
          if (!first) b_.push_back(',');
          first = false;
          attribute(a.key, a.value);
        });
    if (raw_open) o.commit();
    b_.push_back(']');
    if (dropped_attrs) {
      append(b_, ",\"droppedAttributesCount\":");
      write_uint(b_, dropped_attrs);
    }
    if (const auto* x = r.ext()) events_and_links(*x, clock, limits);
    status(r);
  }

  // The same output as span() (attribute values truncated to max_len_ code points).
  void span_limited(const span_record& r, const clock_converter& clock, const span_limits& limits) {
    append(b_, "{\"traceId\":\"");
    write_hex64(b_, r.trace_id.hi);
    write_hex64(b_, r.trace_id.lo);
    append(b_, "\",\"spanId\":\"");
    write_hex64(b_, r.span_id);
    b_.push_back('"');
    if (r.parent_span_id) {
      append(b_, ",\"parentSpanId\":\"");
      write_hex64(b_, r.parent_span_id);
      b_.push_back('"');
    }
    if (r.ext() && !r.ext()->trace_state.empty()) {
      append(b_, ",\"traceState\":");
      write_json_string(b_, r.ext()->trace_state);
    }
    std::uint32_t flags = r.flags | otlp::flag_has_is_remote;
    if (r.parent_remote) flags |= otlp::flag_is_remote;
    append(b_, ",\"flags\":");
    write_uint(b_, flags);
    append(b_, ",\"name\":");
    write_json_string(b_, r.name());
    append(b_, ",\"kind\":");
    write_uint(b_, static_cast<std::uint32_t>(r.kind()));
    const std::uint64_t start = clock.to_unix_ns(r.start_ticks);
    const std::int64_t dur = clock.duration_ns(r.start_ticks, r.end_ticks);
    append(b_, ",\"startTimeUnixNano\":\"");
    write_uint(b_, start);
    append(b_, "\",\"endTimeUnixNano\":\"");
    write_uint(b_, start + static_cast<std::uint64_t>(dur > 0 ? dur : 0));
    append(b_, "\",\"attributes\":[");
    bool first = true;
    const std::uint32_t dropped_attrs = for_each_attribute(
        r, limits.attribute_count,
        [&](std::string_view, std::size_t i) {
          if (!first) b_.push_back(',');
          first = false;
          slot_attribute(r, i);
        },
        [&](const agentrace::attribute& a) {
          if (!first) b_.push_back(',');
          first = false;
          attribute(a.key, a.value);
        });
    b_.push_back(']');
    if (dropped_attrs) {
      append(b_, ",\"droppedAttributesCount\":");
      write_uint(b_, dropped_attrs);
    }
    if (const auto* x = r.ext()) events_and_links(*x, clock, limits);
    status(r);
  }

  void status(const span_record& r) {
    append(b_, ",\"status\":{");
    if (r.status != status_code::unset) {
      append(b_, "\"code\":");
      write_uint(b_, static_cast<std::uint32_t>(r.status));
      if (r.status == status_code::error && r.ext() && !r.ext()->status_message.empty()) {
        append(b_, ",\"message\":");
        write_json_string(b_, r.ext()->status_message, max_len_);
      }
    }
    append(b_, "}}");
  }

  void attribute_pairs(const std::vector<std::pair<std::string, attr_value>>& attrs) {
    append(b_, "\"attributes\":[");
    for (std::size_t i = 0; i < attrs.size(); ++i) {
      if (i) b_.push_back(',');
      attribute(attrs[i].first, attrs[i].second);
    }
    b_.push_back(']');
  }

  void dropped(std::string_view field, std::uint32_t n) {
    if (!n) return;
    b_.push_back(',');
    key(field);
    write_uint(b_, n);
  }

  // A span that was read back or built off the hot path (owned data, Unix times).
  void span(const span_data& s) {
    append(b_, "{\"traceId\":\"");
    write_hex64(b_, s.trace_id.hi);
    write_hex64(b_, s.trace_id.lo);
    append(b_, "\",\"spanId\":\"");
    write_hex64(b_, s.span_id);
    b_.push_back('"');
    if (s.parent_span_id) {
      append(b_, ",\"parentSpanId\":\"");
      write_hex64(b_, s.parent_span_id);
      b_.push_back('"');
    }
    if (!s.trace_state.empty()) {
      append(b_, ",\"traceState\":");
      write_json_string(b_, s.trace_state);
    }
    std::uint32_t flags = s.flags | otlp::flag_has_is_remote;
    if (s.parent_remote) flags |= otlp::flag_is_remote;
    append(b_, ",\"flags\":");
    write_uint(b_, flags);
    append(b_, ",\"name\":");
    write_json_string(b_, s.name);
    append(b_, ",\"kind\":");
    write_uint(b_, static_cast<std::uint32_t>(s.kind));
    append(b_, ",\"startTimeUnixNano\":\"");
    write_uint(b_, s.start_unix_ns);
    append(b_, "\",\"endTimeUnixNano\":\"");
    write_uint(b_, std::max(s.end_unix_ns, s.start_unix_ns));
    append(b_, "\",");
    attribute_pairs(s.attributes);
    dropped(otlp::field::dropped_attributes_count, s.dropped_attributes);
    if (!s.events.empty()) {
      append(b_, ",\"events\":[");
      for (std::size_t i = 0; i < s.events.size(); ++i) {
        const event_view& e = s.events[i];
        if (i) b_.push_back(',');
        append(b_, "{\"timeUnixNano\":\"");
        write_uint(b_, e.time_unix_ns);
        append(b_, "\",\"name\":");
        write_json_string(b_,
                          e.name.empty() ? std::string_view("event") : std::string_view(e.name));
        b_.push_back(',');
        attribute_pairs(e.attributes);
        b_.push_back('}');
      }
      b_.push_back(']');
    }
    dropped(otlp::field::dropped_events_count, s.dropped_events);
    if (!s.links.empty()) {
      append(b_, ",\"links\":[");
      for (std::size_t i = 0; i < s.links.size(); ++i) {
        const link_view& l = s.links[i];
        if (i) b_.push_back(',');
        append(b_, "{\"traceId\":\"");
        write_hex64(b_, l.context.trace_id.hi);
        write_hex64(b_, l.context.trace_id.lo);
        append(b_, "\",\"spanId\":\"");
        write_hex64(b_, l.context.span_id);
        b_.push_back('"');
        if (!l.trace_state.empty()) {
          append(b_, ",\"traceState\":");
          write_json_string(b_, l.trace_state);
        }
        std::uint32_t lf = l.context.flags | otlp::flag_has_is_remote;
        if (l.context.remote) lf |= otlp::flag_is_remote;
        append(b_, ",\"flags\":");
        write_uint(b_, lf);
        b_.push_back(',');
        attribute_pairs(l.attributes);
        b_.push_back('}');
      }
      b_.push_back(']');
    }
    dropped(otlp::field::dropped_links_count, s.dropped_links);
    append(b_, ",\"status\":{");
    if (s.status != status_code::unset) {
      append(b_, "\"code\":");
      write_uint(b_, static_cast<std::uint32_t>(s.status));
      if (s.status == status_code::error && !s.status_message.empty()) {
        append(b_, ",\"message\":");
        write_json_string(b_, s.status_message, max_len_);
      }
    }
    append(b_, "}}");
  }

  // Upper bound of slot_attribute(raw_out&, ...)'s output.
  static std::size_t slot_bound(const span_record& r, std::size_t i) noexcept {
    const attr_slot& s = r.attrs[i];
    std::size_t n = 48 + json_string_bound(s.key_name().size());
    switch (s.type()) {
      case slot_type::static_str:
      case slot_type::owned_str: return n + json_string_bound(s.as_string().size());
      default: return n + 32;
    }
  }

  void slot_attribute(raw_out& o, const span_record& r, std::size_t i) noexcept {
    const attr_slot& s = r.attrs[i];
    o.lit("{\"key\":");
    o.str(s.key_name());
    o.lit(",\"value\":{");
    switch (s.type()) {
      case slot_type::boolean:
        if (s.as_bool())
          o.lit("\"boolValue\":true");
        else
          o.lit("\"boolValue\":false");
        break;
      case slot_type::int64:
        o.lit("\"intValue\":\"");
        o.sint(s.as_int());
        o.ch('"');
        break;
      case slot_type::float64:
        o.lit("\"doubleValue\":");
        o.dbl(s.as_double());
        break;
      case slot_type::static_str:
      case slot_type::owned_str:
        o.lit("\"stringValue\":");
        o.str(s.as_string());
        break;
    }
    o.lit("}}");
  }

  void events_and_links(const span_ext& x, const clock_converter& clock,
                        const span_limits& limits) {
    if (!x.events.empty()) {
      append(b_, ",\"events\":[");
      bool first = true;
      for (const auto& e : x.events) {
        if (!first) b_.push_back(',');
        first = false;
        append(b_, "{\"timeUnixNano\":\"");
        write_uint(b_, clock.to_unix_ns(e.ticks));
        append(b_, "\",\"name\":");
        write_json_string(b_, e.name);
        b_.push_back(',');
        const auto d =
            attribute_list(e.attributes, limits.event_attribute_count) + e.dropped_attributes;
        if (d) {
          append(b_, ",\"droppedAttributesCount\":");
          write_uint(b_, d);
        }
        b_.push_back('}');
      }
      b_.push_back(']');
    }
    if (x.dropped_events) {
      append(b_, ",\"droppedEventsCount\":");
      write_uint(b_, x.dropped_events);
    }
    if (!x.links.empty()) {
      append(b_, ",\"links\":[");
      bool first = true;
      for (const auto& l : x.links) {
        if (!first) b_.push_back(',');
        first = false;
        append(b_, "{\"traceId\":\"");
        write_hex64(b_, l.context.trace_id.hi);
        write_hex64(b_, l.context.trace_id.lo);
        append(b_, "\",\"spanId\":\"");
        write_hex64(b_, l.context.span_id);
        b_.push_back('"');
        if (!l.trace_state.empty()) {
          append(b_, ",\"traceState\":");
          write_json_string(b_, l.trace_state);
        }
        std::uint32_t flags = l.context.flags | otlp::flag_has_is_remote;
        if (l.context.remote) flags |= otlp::flag_is_remote;
        append(b_, ",\"flags\":");
        write_uint(b_, flags);
        b_.push_back(',');
        const auto d =
            attribute_list(l.attributes, limits.link_attribute_count) + l.dropped_attributes;
        if (d) {
          append(b_, ",\"droppedAttributesCount\":");
          write_uint(b_, d);
        }
        b_.push_back('}');
      }
      b_.push_back(']');
    }
    if (x.dropped_links) {
      append(b_, ",\"droppedLinksCount\":");
      write_uint(b_, x.dropped_links);
    }
  }

 private:
  fmt::memory_buffer& b_;
  std::uint32_t max_len_;
};

}  // namespace detail

/// Appends one ExportTraceServiceRequest (no trailing newline) for `batch` to `out`.
inline void serialize_otlp_json(const export_batch& batch, fmt::memory_buffer& out) {
  detail::otlp_json_writer w(out, batch.limits.attribute_value_length);
  using detail::append;
  append(out, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
  bool first = true;
  for (const auto& [k, v] : batch.resource.attributes) {
    if (!first) out.push_back(',');
    first = false;
    w.string_attribute(k, v);
  }
  append(out, "]},\"scopeSpans\":[{\"scope\":{\"name\":");
  detail::write_json_string(out, batch.scope_name);
  append(out, ",\"version\":");
  detail::write_json_string(out, batch.scope_version);
  append(out, ",\"attributes\":[");
  // Spans this process has lost so far travel with the telemetry itself.
  w.int_attribute("agentrace.spans.dropped", static_cast<std::int64_t>(batch.dropped_spans_total));
  append(out, "]},\"spans\":[");
  first = true;
  for (const span_record& r : batch.spans) {
    if (!first) out.push_back(',');
    first = false;
    w.span(r, batch.clock, batch.limits);
  }
  append(out, "]}]}]}");
}

/// Spans with owned data (read back, or built off the hot path) that share one resource and
/// instrumentation scope: one resourceSpans element.
struct span_data_group {
  const std::vector<std::pair<std::string, attr_value>>* resource_attributes = nullptr;
  std::string_view scope_name{};
  std::string_view scope_version{};
  std::vector<const span_data*> spans{};
};

/// Appends one ExportTraceServiceRequest (no trailing newline) holding `groups`.
inline void serialize_otlp_json(std::span<const span_data_group> groups, fmt::memory_buffer& out) {
  detail::otlp_json_writer w(out, 0);
  using detail::append;
  append(out, "{\"resourceSpans\":[");
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const span_data_group& grp = groups[g];
    if (g) out.push_back(',');
    append(out, "{\"resource\":{");
    static const std::vector<std::pair<std::string, attr_value>> none;
    w.attribute_pairs(grp.resource_attributes ? *grp.resource_attributes : none);
    append(out, "},\"scopeSpans\":[{\"scope\":{\"name\":");
    detail::write_json_string(out, grp.scope_name);
    append(out, ",\"version\":");
    detail::write_json_string(out, grp.scope_version);
    append(out, "},\"spans\":[");
    for (std::size_t i = 0; i < grp.spans.size(); ++i) {
      if (i) out.push_back(',');
      w.span(*grp.spans[i]);
    }
    append(out, "]}]}");
  }
  append(out, "]}");
}

/// Writes OTLP/JSON lines to a FILE* (a file it opened, or stdout). One line per batch,
/// flushed after each batch so that a crash loses at most the batch being written.
class otlp_json_exporter final : public exporter {
 public:
  /// Writes to stdout.
  otlp_json_exporter() : out_(stdout), owned_(false) {}
  /// Writes to `path`, truncating it (or appending when `append` is true). Throws
  /// std::runtime_error naming the path and the reason if it cannot be opened.
  explicit otlp_json_exporter(const std::string& path, bool append = false)
      : out_(std::fopen(path.c_str(), append ? "ab" : "wb")), owned_(true), path_(path) {
    if (!out_)
      throw std::runtime_error(fmt::format("agentrace: cannot open OTLP-JSON output '{}': {}", path,
                                           std::strerror(errno)));
  }
  ~otlp_json_exporter() override {
    if (owned_ && out_) std::fclose(out_);
  }
  otlp_json_exporter(const otlp_json_exporter&) = delete;
  otlp_json_exporter& operator=(const otlp_json_exporter&) = delete;

  std::string_view name() const noexcept override { return owned_ ? "otlp/file" : "otlp/stdout"; }

  export_result export_spans(const export_batch& batch) override {
    buf_.clear();
    serialize_otlp_json(batch, buf_);
    buf_.push_back('\n');
    const bool ok =
        std::fwrite(buf_.data(), 1, buf_.size(), out_) == buf_.size() && std::fflush(out_) == 0;
    if (!ok) {
      failed_.fetch_add(batch.spans.size(), std::memory_order_relaxed);
      return export_result::failure;
    }
    return export_result::success;
  }
  // Read by stats() on any thread while the collector writes it.
  std::uint64_t spans_failed() const noexcept override {
    return failed_.load(std::memory_order_relaxed);
  }

 private:
  std::FILE* out_;
  bool owned_;
  std::string path_;
  fmt::memory_buffer buf_;
  std::atomic<std::uint64_t> failed_{0};
};

/// OTLP/JSON lines to a file (the OpenTelemetry Collector's file-exporter format).
inline exporter_ptr otlp_json_file(const std::string& path, bool append = false) {
  return std::make_shared<otlp_json_exporter>(path, append);
}
/// OTLP/JSON lines to stdout (OTEL_TRACES_EXPORTER=otlp/stdout).
inline exporter_ptr otlp_json_stdout() { return std::make_shared<otlp_json_exporter>(); }

namespace detail {
inline const bool otlp_json_registered =
    register_exporter_factory("otlp/stdout", [](std::string_view) { return otlp_json_stdout(); }) &&
    register_exporter_factory(
        "otlp/file", [](std::string_view path) { return otlp_json_file(std::string(path)); });
}  // namespace detail

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
