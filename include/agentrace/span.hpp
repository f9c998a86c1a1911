// SPDX-License-Identifier: MIT
// The hot path: RAII spans with compile-time names.
#pragma once

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/thread_state.hpp"
#include "agentrace/record.hpp"

namespace agentrace {

/// Semantic-convention keys the core itself writes.
namespace semconv::exception {
inline constexpr key<std::string> type{"exception.type"};
inline constexpr key<std::string> message{"exception.message"};
inline constexpr key<std::string> stacktrace{"exception.stacktrace"};
}  // namespace semconv::exception

namespace detail {

/// A string usable as a template argument: `agentrace::span<"llm.chat">`.
template <std::size_t N>
struct fixed_string {
  char data[N]{};
  consteval fixed_string(const char (&s)[N]) noexcept {  // NOLINT
    for (std::size_t i = 0; i < N; ++i) data[i] = s[i];
  }
  constexpr std::string_view view() const noexcept { return {data, N - 1}; }
};

consteval span_site make_site(const char* file, std::uint32_t line, const char* function,
                              std::string_view name, span_kind kind = span_kind::internal) {
  // A span name must be a compile-time constant and must not be empty.
  if (name.empty()) throw "agentrace: a span name must not be empty";
  return span_site{name, kind, file, line, function};
}

/// Root sampling decision: the W3C flags a new trace starts with. Replaced by the sampler
/// machinery (sampler.hpp) when it is configured; always-on by default.
inline std::uint8_t (*root_flags_fn)(const trace_id&) noexcept = nullptr;

inline std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> p(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                           std::free);
  return (status == 0 && p) ? std::string(p.get()) : std::string(mangled);
}

// Spans that ended while tracing was off (after shutdown began) or while their thread was exiting.
inline std::atomic<std::uint64_t> dropped_not_running{0};

}  // namespace detail

/// A span while it is alive. Move-only; may be empty (default-constructed, or tracing off);
/// ends itself when destroyed, or earlier by `end()` (idempotent). While alive and recording it is
/// the thread's current context, so spans begun inside it become its children.
class scoped_span {
 public:
  scoped_span() noexcept = default;

  /// Begins a span whose parent is the thread's current context (a new trace if there is none).
  explicit scoped_span(const span_site* site) noexcept {
    if (detail::tracing_on.load(std::memory_order_relaxed)) [[likely]]
      begin(site, detail::tls_current);
  }

  /// Begins a span with an explicit parent (e.g. extracted from a traceparent header). An
  /// invalid parent starts a new trace.
  scoped_span(const span_site* site, const span_context& parent) noexcept {
    if (detail::tracing_on.load(std::memory_order_relaxed)) [[likely]]
      begin(site, parent);
  }

  scoped_span(scoped_span&& o) noexcept
      : rec_(std::move(o.rec_)), prev_(o.prev_), uncaught_(o.uncaught_), recording_(o.recording_) {
    o.recording_ = false;
  }
  scoped_span& operator=(scoped_span&& o) noexcept {
    if (this != &o) {
      end();
      rec_ = std::move(o.rec_);
      prev_ = o.prev_;
      uncaught_ = o.uncaught_;
      recording_ = std::exchange(o.recording_, false);
    }
    return *this;
  }
  scoped_span(const scoped_span&) = delete;
  scoped_span& operator=(const scoped_span&) = delete;

  ~scoped_span() {
    if (recording_) finish();
  }

  /// Ends the span now. Further calls, and the destructor, do nothing.
  void end() noexcept {
    if (recording_) finish();
  }

  bool is_recording() const noexcept { return recording_; }

  /// This span's context (invalid when the span is empty).
  span_context context() const noexcept {
    if (!recording_) return {};
    return span_context{rec_.trace_id, rec_.span_id, rec_.flags, false};
  }

  /// Sets a numeric or boolean attribute. A value of another type than the key's does not compile.
  template <class T, class V>
    requires(!std::same_as<T, std::string> && detail::settable_as<T, V>)
  scoped_span& set(const key<T>& k, V&& v) noexcept {
    if (!recording_) return *this;
    if constexpr (std::same_as<T, bool> || std::same_as<T, std::int64_t> ||
                  std::same_as<T, double>) {
      if (rec_.n_attrs < detail::inline_attrs) [[likely]] {
        detail::attr_slot& s = slot(k.name());
        if constexpr (std::same_as<T, bool>) {
          rec_.types[rec_.n_attrs] = detail::slot_type::boolean;
          s.v.b = v;
        } else if constexpr (std::same_as<T, std::int64_t>) {
          rec_.types[rec_.n_attrs] = detail::slot_type::int64;
          s.v.i = static_cast<std::int64_t>(v);
        } else {
          rec_.types[rec_.n_attrs] = detail::slot_type::float64;
          s.v.d = static_cast<double>(v);
        }
        ++rec_.n_attrs;
        return *this;
      }
    }
    overflow(k.name(), detail::to_attr_value<T>(std::forward<V>(v)));
    return *this;
  }

  /// Sets a string attribute from a literal: stored as a pointer, never copied.
  scoped_span& set(const key<std::string>& k, static_string v) noexcept {
    if (!recording_) return *this;
    if (rec_.n_attrs < detail::inline_attrs) [[likely]] {
      detail::attr_slot& s = slot(k.name());
      rec_.types[rec_.n_attrs++] = detail::slot_type::static_str;
      s.v.s = v.data();
      s.str_len = static_cast<std::uint32_t>(v.size());
      return *this;
    }
    overflow(k.name(), attr_value{std::in_place_type<std::string>, v.view()});
    return *this;
  }

  /// Sets a string attribute from a runtime string: copied once (moved when an rvalue
  /// std::string is passed, so a prompt is never copied at all).
  template <class S>
    requires(std::convertible_to<S, std::string_view> &&
             !std::is_array_v<std::remove_cvref_t<S>>)
  scoped_span& set(const key<std::string>& k, S&& v) {
    if (!recording_) return *this;
    std::string* owned;
    if constexpr (std::is_same_v<std::remove_cvref_t<S>, std::string> &&
                  std::is_rvalue_reference_v<S&&>)
      owned = new std::string(std::forward<S>(v));
    else
      owned = new std::string(std::string_view(v));
    if (rec_.n_attrs < detail::inline_attrs) {
      detail::attr_slot& s = slot(k.name());
      rec_.types[rec_.n_attrs++] = detail::slot_type::owned_str;
      s.v.owned = owned;
      return *this;
    }
    overflow(k.name(), attr_value{std::in_place_type<std::string>, std::move(*owned)});
    delete owned;
    return *this;
  }

  /// Adds an event with its own timestamp: `s.event("cache.miss", {{db::collection_name, "x"}})`.
  scoped_span& event(static_string name, std::initializer_list<kv> attrs = {}) {
    if (!recording_) return *this;
    auto& ext = rec_.extension();
    if (ext.events.size() >= limit_events()) {
      ++ext.dropped_events;
      return *this;
    }
    detail::event_data e;
    e.ticks = detail::now_ticks();
    e.name = name.view();
    e.attributes.reserve(attrs.size());
    for (const kv& a : attrs) e.attributes.push_back(a.attr);
    ext.events.push_back(std::move(e));
    return *this;
  }

  /// Links this span to another span's context (e.g. the request that caused a batch job).
  scoped_span& link(const span_context& ctx, std::initializer_list<kv> attrs = {}) {
    if (!recording_ || !ctx.valid()) return *this;
    auto& ext = rec_.extension();
    if (ext.links.size() >= limit_links()) {
      ++ext.dropped_links;
      return *this;
    }
    detail::link_data l;
    l.context = ctx;
    for (const kv& a : attrs) l.attributes.push_back(a.attr);
    ext.links.push_back(std::move(l));
    return *this;
  }

  /// Sets the status. OpenTelemetry: a description is kept only with ERROR; OK is final.
  scoped_span& set_status(status_code code, std::string_view description = {}) {
    if (!recording_ || rec_.status == status_code::ok) return *this;
    if (code == status_code::unset) return *this;
    rec_.status = code;
    if (code == status_code::error && !description.empty())
      rec_.extension().status_message.assign(description);
    else if (rec_.ext)
      rec_.ext->status_message.clear();
    return *this;
  }
  /// Status ERROR with a description.
  scoped_span& error(std::string_view description = {}) {
    return set_status(status_code::error, description);
  }
  scoped_span& ok() { return set_status(status_code::ok); }

  /// Records a caught exception: an `exception` event with exception.type (demangled) and
  /// exception.message (what()), and status ERROR.
  scoped_span& record_exception(const std::exception& e) {
    if (!recording_) return *this;
    std::string type = detail::demangle(typeid(e).name());
    event("exception", {{semconv::exception::type, std::move(type)},
                        {semconv::exception::message, std::string_view(e.what())}});
    return set_status(status_code::error, e.what());
  }

  /// Replaces the compile-time name with a runtime one (semantic conventions name LLM spans
  /// `chat {model}`). Allocates; keep the compile-time name where it will do.
  scoped_span& set_name(std::string name) {
    if (recording_) rec_.extension().name = std::move(name);
    return *this;
  }

  /// Records the W3C tracestate this span carries (propagated to children by the propagator).
  scoped_span& set_trace_state(std::string ts) {
    if (recording_) rec_.extension().trace_state = std::move(ts);
    return *this;
  }

 private:
  void begin(const span_site* site, const span_context& parent) noexcept {
    detail::thread_state* ts = detail::this_thread();
    if (!ts) [[unlikely]]
      return;
    rec_.site = site;
    if (parent.valid()) {
      rec_.trace_id = parent.trace_id;
      rec_.parent_span_id = parent.span_id;
      rec_.flags = parent.flags;
      rec_.parent_remote = parent.remote;
    } else {
      rec_.trace_id = trace_id{ts->ids.next(), ts->ids.next_nonzero()};
      rec_.flags = detail::root_flags_fn ? detail::root_flags_fn(rec_.trace_id)
                                         : std::uint8_t(flag_sampled | flag_random);
    }
    rec_.span_id = ts->ids.next_nonzero();
    rec_.thread_index = ts->index;
    prev_ = detail::tls_current;
    detail::tls_current = span_context{rec_.trace_id, rec_.span_id, rec_.flags, false};
    uncaught_ = std::uncaught_exceptions();
    recording_ = true;
    rec_.start_ticks = detail::now_ticks();
  }

  void finish() noexcept {
    rec_.end_ticks = detail::now_ticks();
    recording_ = false;
    if (std::uncaught_exceptions() > uncaught_) [[unlikely]]
      mark_unwinding();
    // Restore the context this span replaced, unless something else became current meanwhile
    // (a span ended out of order, or on another thread than it began).
    if (detail::tls_current.span_id == rec_.span_id) detail::tls_current = prev_;
    // The ending thread's producer token: a span may end on another thread than it began.
    detail::thread_state* ts = detail::this_thread();
    if (!ts || !detail::tracing_on.load(std::memory_order_relaxed)) [[unlikely]] {
      detail::dropped_not_running.fetch_add(1, std::memory_order_relaxed);
      rec_.reset();
      return;
    }
    auto& c = ts->counters;
    detail::thread_counters::bump(c.ended);
    if (!(rec_.flags & flag_sampled)) [[unlikely]] {
      detail::thread_counters::bump(c.dropped_unsampled);
      rec_.reset();
      return;
    }
    if (ts->queue->try_enqueue(ts->token, std::move(rec_))) [[likely]] {
      detail::thread_counters::bump(c.enqueued);
    } else {
      detail::thread_counters::bump(c.dropped_queue_full);
      rec_.reset();
    }
  }

  detail::attr_slot& slot(std::string_view key) noexcept {
    detail::attr_slot& s = rec_.attrs[rec_.n_attrs];
    s.key = key.data();
    s.key_len = static_cast<std::uint32_t>(key.size());
    return s;
  }

  void overflow(std::string_view key, attr_value v) {
    auto& ext = rec_.extension();
    if (ext.attributes.size() + detail::inline_attrs >= limit_attributes()) {
      ++ext.dropped_attributes;
      return;
    }
    ext.attributes.push_back(attribute{key, std::move(v)});
  }

  void mark_unwinding() noexcept {
    try {
      event("exception", {{semconv::exception::message,
                           std::string_view("exception thrown through the span's scope")}});
      set_status(status_code::error, "exception thrown through the span's scope");
    } catch (...) {  // out of memory while unwinding: keep the status at least
      rec_.status = status_code::error;
    }
  }

  static std::size_t limit_attributes() noexcept;
  static std::size_t limit_events() noexcept;
  static std::size_t limit_links() noexcept;

  span_record rec_;
  span_context prev_{};
  int uncaught_{0};
  bool recording_{false};
};

namespace detail {
// Span limits as the collector configured them (OTEL_SPAN_*_COUNT_LIMIT); read off the hot path
// only (overflow attributes, events, links).
inline std::atomic<std::uint32_t> limit_attribute_count{128};
inline std::atomic<std::uint32_t> limit_event_count{128};
inline std::atomic<std::uint32_t> limit_link_count{128};
}  // namespace detail

inline std::size_t scoped_span::limit_attributes() noexcept {
  return detail::limit_attribute_count.load(std::memory_order_relaxed);
}
inline std::size_t scoped_span::limit_events() noexcept {
  return detail::limit_event_count.load(std::memory_order_relaxed);
}
inline std::size_t scoped_span::limit_links() noexcept {
  return detail::limit_link_count.load(std::memory_order_relaxed);
}

/// The macro-free form: `agentrace::span<"llm.chat", agentrace::span_kind::client> s;`.
template <detail::fixed_string Name, span_kind Kind = span_kind::internal>
class span : public scoped_span {
 public:
  static constexpr span_site site{Name.view(), Kind, "", 0, ""};
  span() noexcept : scoped_span(&site) {}
  explicit span(const span_context& parent) noexcept : scoped_span(&site, parent) {}
};

/// Runs `f` inside a span named `Name`. An exception leaving `f` is recorded with its type and
/// message (record_exception), then rethrown. `f` may take the span by reference.
template <detail::fixed_string Name, span_kind Kind = span_kind::internal, class F>
decltype(auto) in_span(F&& f) {
  span<Name, Kind> s;
  try {
    if constexpr (std::is_invocable_v<F&&, scoped_span&>)
      return std::forward<F>(f)(static_cast<scoped_span&>(s));
    else
      return std::forward<F>(f)();
  } catch (const std::exception& e) {
    s.record_exception(e);
    throw;
  }
}

}  // namespace agentrace

#define AGENTRACE_DETAIL_CAT2(a, b) a##b
#define AGENTRACE_DETAIL_CAT(a, b) AGENTRACE_DETAIL_CAT2(a, b)

/// `AGENTRACE_SPAN(var, "name")` or `AGENTRACE_SPAN(var, "name", agentrace::span_kind::client)`:
/// declares `var`, a span that begins here and ends at the end of the scope. The name must be a
/// string literal; name, kind, file, line and function live in one static constexpr record.
#define AGENTRACE_SPAN(var, ...)                                                             \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);             \
  ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) }

/// Like AGENTRACE_SPAN with an explicit parent context: `AGENTRACE_SPAN_CHILD_OF(var, parent, "name")`.
#define AGENTRACE_SPAN_CHILD_OF(var, parent, ...)                                             \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);             \
  ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__), (parent) }
