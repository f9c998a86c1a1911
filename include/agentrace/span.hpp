// SPDX-License-Identifier: MIT
// The hot path: RAII spans with compile-time names.
#pragma once

#include <bit>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/remote_end.hpp"
#include "agentrace/detail/producer.hpp"
#include "agentrace/record.hpp"
#include "agentrace/semconv/exception.hpp"  // the keys record_exception writes
#include "agentrace/detail/sampling.hpp"
#include "agentrace/detail/span_core.hpp"
#include "agentrace/propagation.hpp"  // inject/extract: instrumented code carries contexts

/// 1 (default): tracing compiled in. 0 (CMake -DAGENTRACE_ENABLED=OFF, or defined before the first
/// include in a translation unit): every span type and macro compiles to nothing that runs, while
/// arguments are still type-checked. The two variants live in different inline namespaces, so
/// translation units built either way can be linked into one program.
#ifndef AGENTRACE_ENABLED
#define AGENTRACE_ENABLED 1
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

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

}  // namespace detail

#if AGENTRACE_ENABLED
inline namespace compiled_in {

/// A span while it is alive. Move-only; may be empty (default-constructed, or tracing off);
/// ends itself when destroyed, or earlier by `end()` (idempotent). A span the sampler did not
/// sample is not recording (attributes, events and its end are ignored; it reads no clock and is
/// never enqueued) but still has ids and is still the current context, so its children and
/// injected headers carry its trace id and the cleared sampled flag.
///
/// The current context (docs/context-design.md): a span is the current context of the context
/// chain it began on (the thread's own, or the coroutine's that runs there) from its begin until
/// its scope closes -- the end of the object that began it, or its `end()` -- so spans begun
/// meanwhile become its children. Moving a span hands it off: the new owner carries the span and
/// ends it wherever it goes, but the context stays with the scope that began it, which restores
/// the context it replaced when it closes. Spans may end in any order: a scope that closes while
/// it is not the current context (a parent ended before its child) is skipped when the context
/// comes back to it, so a new span never takes an ended span of this chain as its parent.
class scoped_span : private detail::span_core {
 public:
  scoped_span() noexcept : span_core(empty_t{}) {}

  /// Begins a span whose parent is the thread's current context (a new trace if there is none).
  AGENTRACE_DETAIL_ALWAYS_INLINE explicit scoped_span(const span_site* site) noexcept {
    begin_any(site, nullptr);
  }

  /// Begins a span with an explicit parent (e.g. extracted from a traceparent header). An
  /// invalid parent starts a new trace.
  AGENTRACE_DETAIL_ALWAYS_INLINE scoped_span(const span_site* site,
                                             const span_context& parent) noexcept {
    begin_any(site, &parent);
  }

  scoped_span(scoped_span&& o) noexcept : span_core(empty_t{}) { take(o); }
  scoped_span& operator=(scoped_span&& o) noexcept {
    if (this != &o) {
      // `parent = std::move(child)` ends the parent while the child is current: it is noted as
      // ended out of order, so that the child's scope, when it closes, restores what the parent
      // replaced.
      end();
      take(o);
    }
    return *this;
  }
  scoped_span(const scoped_span&) = delete;
  scoped_span& operator=(const scoped_span&) = delete;

  AGENTRACE_DETAIL_ALWAYS_INLINE ~scoped_span() {
    if (state_ == st_recording)
      finish();
    else if (state_ != st_none) [[unlikely]]
      end_other();
  }

  /// Ends the span now (and, on the object that began it, closes its scope: the context it
  /// replaced is current again). Further calls, and the destructor, do nothing.
  void end() noexcept {
    if (state_ == st_recording)
      finish();
    else if (state_ != st_none) [[unlikely]]
      end_other();
  }

  /// True while the span records (begun, sampled, not ended).
  bool is_recording() const noexcept { return (state_ & st_record) != 0; }

  /// This span's context (invalid when the span is empty, moved from or ended). Unsampled spans
  /// have one too.
  span_context context() const noexcept {
    if (state_ & st_record) return span_context{rec_.trace_id, rec_.span_id, rec_.flags, false};
    if (state_ & st_self) [[unlikely]]
      return self_.ctx;
    return {};
  }

  /// Sets a numeric or boolean attribute. A value of another type than the key's does not compile.
  template <class T, class V>
    requires(!std::same_as<T, std::string> && detail::settable_as<T, V>)
  scoped_span& set(const key<T>& k, V&& v) noexcept {
    if (!is_recording()) return *this;
    if constexpr (std::same_as<T, bool> || std::same_as<T, std::int64_t> ||
                  std::same_as<T, double>) {
      detail::slot_type type;
      std::uint64_t word;
      if constexpr (std::same_as<T, bool>) {
        type = detail::slot_type::boolean;
        word = v ? 1u : 0u;
      } else if constexpr (std::same_as<T, std::int64_t>) {
        type = detail::slot_type::int64;
        word = static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
      } else {
        type = detail::slot_type::float64;
        word = std::bit_cast<std::uint64_t>(static_cast<double>(v));
      }
      if (rec_.push_slot(k.name(), type, word)) [[likely]]
        return *this;
      // Past the inline slots: the value as a word, so that no attr_value is built (and
      // destroyed) here.
      detail::span_slow_paths().overflow_word(rec_, k.name(), type, word);
    } else {
      overflow(k.name(), detail::to_attr_value<T>(std::forward<V>(v)));
    }
    return *this;
  }

  /// Sets a string attribute from a literal: stored as a pointer, never copied.
  scoped_span& set(const key<std::string>& k, static_string v) noexcept {
    if (!is_recording()) return *this;
    if (rec_.push_static_string(k.name(), v.view())) [[likely]]
      return *this;
    detail::span_slow_paths().overflow_string(rec_, k.name(), v.view(), nullptr);
    return *this;
  }

  /// Sets a string attribute from a runtime string: copied once (moved when an rvalue
  /// std::string is passed, so a prompt is never copied at all).
  template <class S>
    requires(std::convertible_to<S, std::string_view> && !std::is_array_v<std::remove_cvref_t<S>>)
  scoped_span& set(const key<std::string>& k, S&& v) {
    if (!is_recording()) return *this;
    std::string* owned;
    if constexpr (std::is_same_v<std::remove_cvref_t<S>, std::string> &&
                  std::is_rvalue_reference_v<S&&>)
      owned = new std::string(std::forward<S>(v));
    else
      owned = new std::string(std::string_view(v));
    if (rec_.push_slot(k.name(), detail::slot_type::owned_str,
                       reinterpret_cast<std::uintptr_t>(owned)))
      return *this;
    detail::span_slow_paths().overflow_string(rec_, k.name(), {}, owned);  // takes `owned`
    return *this;
  }

  /// Adds an event with its own timestamp: `s.event("cache.miss", {{db::collection_name, "x"}})`.
  scoped_span& event(static_string name, std::initializer_list<kv> attrs = {}) {
    if (is_recording())
      detail::span_slow_paths().add_event(rec_, name.view(), attrs.begin(), attrs.size());
    return *this;
  }

  /// Links this span to another span's context (e.g. the request that caused a batch job).
  scoped_span& link(const span_context& ctx, std::initializer_list<kv> attrs = {}) {
    if (is_recording() && ctx.valid())
      detail::span_slow_paths().add_link(rec_, ctx, attrs.begin(), attrs.size());
    return *this;
  }

  /// Sets the status. OpenTelemetry: a description is kept only with ERROR; OK is final.
  scoped_span& set_status(status_code code, std::string_view description = {}) {
    if (!is_recording() || rec_.status == status_code::ok) return *this;
    if (code == status_code::unset) return *this;
    detail::span_slow_paths().set_status(rec_, code, description);
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
    if (is_recording()) detail::span_slow_paths().record_exception(rec_, e);
    return *this;
  }

  /// Replaces the compile-time name with a runtime one (semantic conventions name LLM spans
  /// `chat {model}`). Allocates; keep the compile-time name where it will do.
  scoped_span& set_name(std::string name) {
    if (is_recording()) rec_.extension().name = std::move(name);
    return *this;
  }

  /// Records the W3C tracestate this span carries (propagated to children by the propagator).
  scoped_span& set_trace_state(std::string ts) {
    if (is_recording()) rec_.extension().trace_state = std::move(ts);
    return *this;
  }

  // The span's state, begin and end: detail::span_core (detail/span_core.hpp).
 private:
  void overflow(std::string_view key, attr_value v) {
    detail::span_slow_paths().overflow(rec_, key, std::move(v));
  }
};

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

}  // namespace compiled_in
#endif  // AGENTRACE_ENABLED

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

#define AGENTRACE_DETAIL_CAT2(a, b) a##b
#define AGENTRACE_DETAIL_CAT(a, b) AGENTRACE_DETAIL_CAT2(a, b)

#if !AGENTRACE_ENABLED
#include "agentrace/detail/span_compiled_out.hpp"
#else

/// `AGENTRACE_SPAN(var, "name")` or `AGENTRACE_SPAN(var, "name", agentrace::span_kind::client)`:
/// declares `var`, a span that begins here and ends at the end of the scope. The name must be a
/// string literal; name, kind, file, line and function live in one static constexpr record.
#define AGENTRACE_SPAN(var, ...)                                                            \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);            \
  ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) }

/// Like AGENTRACE_SPAN with an explicit parent context: `AGENTRACE_SPAN_CHILD_OF(var, parent,
/// "name")`.
#define AGENTRACE_SPAN_CHILD_OF(var, parent, ...)                                           \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);            \
  ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__), (parent) }

/// `AGENTRACE_SET(span, key, value)`: sets an attribute, evaluating `value` only when `span` is
/// recording. For values that cost something to compute (serialised prompts): nothing is computed
/// for unsampled spans, before start() or when tracing is compiled out.
#define AGENTRACE_SET(span, key, value)                    \
  do {                                                     \
    if ((span).is_recording()) (span).set((key), (value)); \
  } while (false)

/// `AGENTRACE_EVENT(span, "name", {{key, value}, ...})`: adds an event; its attributes are
/// evaluated only when `span` is recording.
#define AGENTRACE_EVENT(span, ...)                        \
  do {                                                    \
    if ((span).is_recording()) (span).event(__VA_ARGS__); \
  } while (false)

#endif  // AGENTRACE_ENABLED
