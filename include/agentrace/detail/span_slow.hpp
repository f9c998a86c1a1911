// SPDX-License-Identifier: MIT
// A recording span's slower work, compiled once: spans (span.hpp) reach it through
// registry_hooks (producer.hpp), which set_queue_capacity() installs, so that an instrumented
// file compiles a call through a pointer instead of these bodies.
#pragma once

#include <cxxabi.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>

#include "agentrace/attributes.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/producer.hpp"
#include "agentrace/record.hpp"
#include "agentrace/semconv/exception.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// scoped_span::event: an event with its own timestamp, or counted as dropped past the limit.
inline void span_add_event(span_record& rec, std::string_view name, const kv* attrs,
                           std::size_t n) {
  auto& ext = rec.extension();
  if (ext.events.size() >= limit_event_count.load(std::memory_order_relaxed)) {
    ++ext.dropped_events;
    return;
  }
  event_data e;
  e.ticks = now_ticks();
  e.name = name;
  e.attributes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) e.attributes.push_back(attrs[i].attr);
  ext.events.push_back(std::move(e));
}

/// scoped_span::link, once it has checked that the span records and `ctx` is valid: a link, or
/// counted as dropped past the limit.
inline void span_add_link(span_record& rec, const span_context& ctx, const kv* attrs,
                          std::size_t n) {
  auto& ext = rec.extension();
  if (ext.links.size() >= limit_link_count.load(std::memory_order_relaxed)) {
    ++ext.dropped_links;
    return;
  }
  link_data l;
  l.context = ctx;
  l.attributes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) l.attributes.push_back(attrs[i].attr);
  ext.links.push_back(std::move(l));
}

inline std::string demangle(const char* mangled) {
  int status = 0;
  char* p = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string out = (status == 0 && p) ? std::string(p) : std::string(mangled);
  std::free(p);  // if std::string threw, the name would leak: not on this path (a few bytes)
  return out;
}

/// scoped_span::set_status, once it has checked that the span records, its status is not OK
/// (final) and `code` is not UNSET. OpenTelemetry: a description is kept only with ERROR.
inline void span_set_status(span_record& rec, status_code code, std::string_view description) {
  rec.set_status(code);
  if (code == status_code::error && !description.empty())
    rec.extension().status_message.assign(description);
  else if (auto* e = rec.ext())
    e->status_message.clear();
}

/// scoped_span::overflow: an attribute that did not fit the record's inline slots (or that
/// replaces one set there before, or is not numeric, boolean or a string).
inline void span_overflow(span_record& rec, std::string_view key, attr_value&& v) {
  auto& ext = rec.extension();
  // OpenTelemetry: setting a key that is already set replaces its value, even at the limit.
  for (auto& a : ext.attributes)
    if (a.key == key) {
      a.value = std::move(v);
      return;
    }
  if (rec.n_attrs + ext.attributes.size() >=
      limit_attribute_count.load(std::memory_order_relaxed)) {
    bool inline_key = false;
    for (std::uint8_t i = 0; i < rec.n_attrs && !inline_key; ++i)
      inline_key = rec.attrs[i].key_name() == key;
    if (!inline_key) {
      ++ext.dropped_attributes;
      return;
    }
  }
  ext.attributes.push_back(attribute{key, std::move(v)});
}

/// span_overflow for a boolean, integer or double attribute, as the inline slot's `type` and
/// `word` (so that the span's file builds no attr_value).
inline void span_overflow_word(span_record& rec, std::string_view key, slot_type type,
                               std::uint64_t word) {
  attr_value v;
  switch (type) {
    case slot_type::boolean: v.emplace<bool>(word != 0); break;
    case slot_type::int64: v.emplace<std::int64_t>(static_cast<std::int64_t>(word)); break;
    case slot_type::float64: v.emplace<double>(std::bit_cast<double>(word)); break;
    default: return;  // string slots come through span_overflow_string
  }
  span_overflow(rec, key, std::move(v));
}

/// span_overflow for a string attribute: `owned` (taken, then freed) if not null, else a copy
/// of `v`.
inline void span_overflow_string(span_record& rec, std::string_view key, std::string_view v,
                                 std::string* owned) {
  attr_value a;
  if (owned) {
    a.emplace<std::string>(std::move(*owned));
    delete owned;
  } else {
    a.emplace<std::string>(v);
  }
  span_overflow(rec, key, std::move(a));
}

/// scoped_span::record_exception, once it has checked that the span records: an `exception` event
/// with exception.type (demangled) and exception.message (what()), and status ERROR (unless the
/// status is OK, which is final).
inline void span_record_exception(span_record& rec, const std::exception& e) {
  const kv attrs[] = {{semconv::exception::type, demangle(typeid(e).name())},
                      {semconv::exception::message, std::string_view(e.what())}};
  span_add_event(rec, "exception", attrs, 2);
  if (rec.status != status_code::ok) span_set_status(rec, status_code::error, e.what());
}

/// scoped_span's end while an exception unwinds through its scope: an `exception` event and
/// status ERROR, unless the exception was recorded just before (in_span, or record_exception and
/// a rethrow in a catch block).
inline void span_mark_unwinding(span_record& rec) noexcept {
  static constexpr std::string_view what = "exception thrown through the span's scope";
  try {
    const auto* e = rec.ext();
    const bool recorded = rec.status == status_code::error && e && !e->events.empty() &&
                          e->events.back().name == "exception";
    if (!recorded) {
      const kv attrs[] = {{semconv::exception::message, what}};
      span_add_event(rec, "exception", attrs, 1);
    }
    if (rec.status != status_code::error) span_set_status(rec, status_code::error, what);
  } catch (...) {  // out of memory while unwinding: keep the status at least
    rec.set_status(status_code::error);
  }
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
