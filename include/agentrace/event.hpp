// SPDX-License-Identifier: MIT
// Events as OpenTelemetry log records (OTLP logs): an event name, a severity, attributes and a
// body, linked to a span (the current one by default). Light, like span.hpp: no fmt, no JSON,
// no queue here. emit_event() hands the record to the collector's bounded log queue without
// waiting; when the queue is full, or tracing is not running, the record is dropped and counted
// (agentrace::stats: logs_dropped_queue_full, logs_dropped_not_running).
//
//   agentrace::emit_event("gen_ai.evaluation.result",
//                         {{semconv::gen_ai::evaluation_name, "relevance"},
//                          {semconv::gen_ai::evaluation_score_value, 0.8}});
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// OpenTelemetry SeverityNumber (the first of each range; values as in OTLP).
enum class severity : std::uint8_t {
  unspecified = 0,
  trace = 1,
  debug = 5,
  info = 9,
  warn = 13,
  error = 17,
  fatal = 21
};

/// One log record. `event_name` and attribute keys are views of static storage (string
/// literals, key constants); values and the body are owned.
struct log_record {
  std::uint64_t time_unix_ns = 0;           // when it happened; 0: when emitted
  std::uint64_t observed_time_unix_ns = 0;  // set by emit_event
  std::string_view event_name{};            // e.g. "gen_ai.evaluation.result"
  agentrace::severity severity = severity::info;
  std::vector<attribute> attributes{};
  attr_value body{};       // std::monostate: no body
  span_context context{};  // the span it belongs to; invalid: none
};

namespace detail {

/// Where emit_event puts records: the collector installs its log queue (static storage, so a
/// thread that read the pointer just before shutdown still finds a live object).
struct log_sink {
  /// False when the record was dropped (counted by the sink).
  virtual bool push(log_record&& r) noexcept = 0;
  virtual ~log_sink() = default;
};
inline std::atomic<log_sink*> active_log_sink{nullptr};
/// Records emitted while no collector was running.
inline std::atomic<std::uint64_t> logs_dropped_not_running{0};

inline std::uint64_t unix_now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace detail

/// Hands `r` to the collector (never waits). Its context defaults to the current span's when
/// not valid; times default to now. False when it was dropped (counted).
inline bool emit_event(log_record r) noexcept {
  detail::log_sink* sink = detail::active_log_sink.load(std::memory_order_acquire);
  if (!sink) {
    detail::logs_dropped_not_running.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  r.observed_time_unix_ns = detail::unix_now_ns();
  if (r.time_unix_ns == 0) r.time_unix_ns = r.observed_time_unix_ns;
  if (!r.context.valid()) r.context = current_context();
  return sink->push(std::move(r));
}

/// An event named `name` (static storage) with `attrs`, linked to the current span.
inline bool emit_event(std::string_view name, std::initializer_list<kv> attrs = {},
                       severity sev = severity::info, attr_value body = {}) {
  log_record r;
  r.event_name = name;
  r.severity = sev;
  r.body = std::move(body);
  r.attributes.reserve(attrs.size());
  for (const kv& a : attrs) r.attributes.push_back(a.attr);
  return emit_event(std::move(r));
}

/// The same, linked to the span `ctx` (e.g. the span an evaluation judged).
inline bool emit_event(const span_context& ctx, std::string_view name,
                       std::initializer_list<kv> attrs = {}, severity sev = severity::info,
                       attr_value body = {}) {
  log_record r;
  r.event_name = name;
  r.severity = sev;
  r.body = std::move(body);
  r.context = ctx;
  r.attributes.reserve(attrs.size());
  for (const kv& a : attrs) r.attributes.push_back(a.attr);
  return emit_event(std::move(r));
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
