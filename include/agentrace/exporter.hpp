// SPDX-License-Identifier: MIT
// The exporter interface (one call per batch) and the conversion of records to the owned span
// model (span_data.hpp) for exporters that keep spans (console tree, in-memory store).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/detail/setup_decl.hpp"
#include "agentrace/detail/text.hpp"
#include "agentrace/event.hpp"
#include "agentrace/metrics/data.hpp"
#include "agentrace/record.hpp"
#include "agentrace/span_data.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Resource attributes (service.name, telemetry.sdk.*, OTEL_RESOURCE_ATTRIBUTES ...), owned.
struct resource {
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string_view get(std::string_view key) const noexcept {
    for (const auto& [k, v] : attributes)
      if (k == key) return v;
    return {};
  }
};

/// What an exporter receives: records plus what it needs to interpret them. Valid for the
/// duration of the call only.
struct export_batch {
  std::span<const span_record> spans;
  const agentrace::resource& resource;
  const detail::clock_converter& clock;
  const span_limits& limits;
  std::string_view scope_name;
  std::string_view scope_version;
  std::uint64_t dropped_spans_total = 0;  // cumulative drops so far, reported in the telemetry
};

/// Log records for the exporters (OTLP logs). Valid for the duration of the call only.
struct log_batch {
  std::span<const log_record> records;
  const agentrace::resource& resource;
  std::string_view scope_name;
  std::string_view scope_version;
};

/// How a pull exporter (the Prometheus endpoint) reads the metrics when it is asked for them:
/// callable from any thread while set.
using metrics_source = std::function<std::vector<metric_data>()>;

/// The result of one export call.
enum class export_result : std::uint8_t { success, failure };

/// An exporter: one call per batch, never concurrently (the collector thread calls it).
class exporter {
 public:
  virtual ~exporter() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual export_result export_spans(const export_batch& batch) = 0;
  /// Log records (events); exporters that do not carry logs keep the default (ignore them).
  virtual export_result export_logs(const log_batch&) { return export_result::success; }
  /// Metrics (span-derived and instruments), every export interval and at shutdown; exporters
  /// that do not carry metrics keep the default (ignore them).
  virtual export_result export_metrics(const metrics_batch&) { return export_result::success; }
  /// Pull exporters keep `source` (and the resource) to collect the metrics when scraped; the
  /// collector sets it at start when metrics are on, and an empty one before it shuts down.
  virtual void attach_metrics(const metrics_source& /*source*/, const resource& /*res*/) {}
  /// Delivers anything buffered, within the timeout. Returns false on timeout/failure.
  virtual bool force_flush(std::chrono::milliseconds) { return true; }
  /// Last call; flushes what it can within the timeout.
  virtual void shutdown(std::chrono::milliseconds timeout) { force_flush(timeout); }
  /// Called by the collector thread after each drain cycle (every few milliseconds, whether or
  /// not spans arrived), never concurrently with the other calls. Exporters that hold spans back
  /// (the console assembles whole traces) release what has become due. Default: nothing.
  virtual void on_idle(std::chrono::steady_clock::time_point /*now*/) {}
  /// Spans this exporter accepted but could not deliver (it counts; the collector reports).
  virtual std::uint64_t spans_failed() const noexcept { return 0; }
  /// spans_failed() by reason; exporters that know why override it.
  virtual export_failures failures() const noexcept {
    export_failures f;
    f.other = spans_failed();
    return f;
  }
};

namespace detail {

/// The value of inline slot `i` as an owned attr_value.
inline attr_value slot_value(const span_record& r, std::size_t i) {
  const attr_slot& s = r.attrs[i];
  switch (s.type()) {
    case slot_type::boolean: return attr_value{s.as_bool()};
    case slot_type::int64: return attr_value{s.as_int()};
    case slot_type::float64: return attr_value{s.as_double()};
    case slot_type::static_str:
    case slot_type::owned_str: return attr_value{std::in_place_type<std::string>, s.as_string()};
  }
  return {};
}

/// Applies the attribute value length limit to a string or to each string of an array.
inline void limit_value_length(attr_value& v, std::uint32_t max) noexcept {
  if (max == 0) return;
  if (auto* str = std::get_if<std::string>(&v))
    truncate_code_points(*str, max);
  else if (auto* arr = std::get_if<std::vector<std::string>>(&v))
    for (auto& e : *arr) truncate_code_points(e, max);
}

/// Calls f(key, index_or_ext_attr) for each attribute in recording order, keeping only the last
/// value of a key set twice (OpenTelemetry: setting an existing key replaces its value) and at
/// most `limit` attributes. Returns how many were dropped by the limit.
template <class Inline, class Ext>
std::uint32_t for_each_attribute(const span_record& r, std::uint32_t limit, Inline&& on_inline,
                                 Ext&& on_ext) {
  const span_ext* ext = r.ext();
  const std::size_t n_ext = ext ? ext->attributes.size() : 0;
  const std::size_t total = r.n_attrs + n_ext;
  auto key_at = [&](std::size_t i) -> std::string_view {
    if (i < r.n_attrs) return r.attrs[i].key_name();
    return ext->attributes[i - r.n_attrs].key;
  };
  std::uint32_t emitted = 0, dropped = 0;
  for (std::size_t i = 0; i < total; ++i) {
    const std::string_view k = key_at(i);
    bool replaced = false;
    for (std::size_t j = i + 1; j < total && !replaced; ++j) replaced = key_at(j) == k;
    if (replaced) continue;
    if (emitted >= limit) {  // OpenTelemetry count limits: 0 allows none
      ++dropped;
      continue;
    }
    ++emitted;
    if (i < r.n_attrs)
      on_inline(k, i);
    else
      on_ext(ext->attributes[i - r.n_attrs]);
  }
  return dropped + (ext ? ext->dropped_attributes : 0);
}

}  // namespace detail

/// Fills `d` (reusing its storage) from a record: the span as every exporter that keeps spans
/// sees it, limited to the attributes whose key `keep_key` accepts, and without events, links,
/// trace state and code location unless `details` (the tail sampler presents to its rule only
/// what the rule reads).
template <class KeepKey>
void fill_span_data(span_data& d, const span_record& r, const detail::clock_converter& clock,
                    const span_limits& limits, KeepKey&& keep_key, bool details) {
  d.trace_id = r.trace_id;
  d.span_id = r.span_id;
  d.parent_span_id = r.parent_span_id;
  d.flags = r.flags;
  d.parent_remote = r.parent_remote;
  d.name.assign(r.name());
  d.kind = r.kind();
  d.start_unix_ns = clock.to_unix_ns(r.start_ticks);
  d.end_unix_ns = d.start_unix_ns + static_cast<std::uint64_t>(std::max<std::int64_t>(
                                        0, clock.duration_ns(r.start_ticks, r.end_ticks)));
  d.status = r.status;
  d.status_message.clear();
  d.trace_state.clear();
  d.events.clear();
  d.links.clear();
  d.dropped_events = d.dropped_links = 0;
  d.code_file.clear();
  d.code_function.clear();
  d.code_line = 0;
  if (r.site && details) {
    d.code_file = r.site->file;
    d.code_line = r.site->line;
    d.code_function = r.site->function;
  }
  // The same limits as the OTLP-JSON writer applies, so that every exporter sees the same span.
  const std::uint32_t max_len = limits.attribute_value_length;
  std::size_t n = 0;  // attributes in `d` so far: the entries already there are reused
  auto put = [&](std::string_view k, attr_value v) {
    if (n == d.attributes.size()) d.attributes.emplace_back();
    auto& [key, value] = d.attributes[n++];
    key.assign(k);
    value = std::move(v);
    detail::limit_value_length(value, max_len);
  };
  d.dropped_attributes = detail::for_each_attribute(
      r, limits.attribute_count,
      [&](std::string_view k, std::size_t i) {
        if (keep_key(k)) put(k, detail::slot_value(r, i));
      },
      [&](const attribute& a) {
        if (keep_key(a.key)) put(a.key, a.value);
      });
  d.attributes.resize(n);
  auto copy_attributes = [&](const std::vector<attribute>& from, std::uint32_t limit,
                             std::vector<std::pair<std::string, attr_value>>& to) {
    std::uint32_t dropped = 0;
    for (const auto& a : from) {
      if (to.size() >= limit) {
        ++dropped;
        continue;
      }
      to.emplace_back(std::string(a.key), a.value);
      detail::limit_value_length(to.back().second, max_len);
    }
    return dropped;
  };
  if (const detail::span_ext* x = r.ext()) {
    d.status_message = x->status_message;
    if (!details) return;
    d.trace_state = x->trace_state;
    for (const auto& e : x->events) {
      event_view ev{clock.to_unix_ns(e.ticks), std::string(e.name), {}, e.dropped_attributes};
      ev.dropped_attributes +=
          copy_attributes(e.attributes, limits.event_attribute_count, ev.attributes);
      d.events.push_back(std::move(ev));
    }
    for (const auto& l : x->links) {
      link_view lv{l.context, l.trace_state, {}, l.dropped_attributes};
      lv.dropped_attributes +=
          copy_attributes(l.attributes, limits.link_attribute_count, lv.attributes);
      d.links.push_back(std::move(lv));
    }
    d.dropped_events = x->dropped_events;
    d.dropped_links = x->dropped_links;
  }
}

/// Converts a record to owned span_data (used by exporters that keep spans).
inline span_data to_span_data(const span_record& r, const detail::clock_converter& clock,
                              const span_limits& limits = {}) {
  span_data d;
  fill_span_data(
      d, r, clock, limits, [](std::string_view) { return true; }, true);
  return d;
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
