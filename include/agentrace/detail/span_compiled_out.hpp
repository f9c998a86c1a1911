// SPDX-License-Identifier: MIT
// Spans with tracing compiled out (AGENTRACE_ENABLED=0): the same API, type-checked, doing nothing.
//
// Included by span.hpp only. The types live in their own inline namespace, so they are different
// types from the compiled-in ones: translation units built with and without tracing link into
// one program without violating the one-definition rule. Macros never evaluate their arguments;
// member functions are empty inline functions (their arguments are evaluated as for any call, so
// compute costly values inside AGENTRACE_SET, which does not).
#pragma once

#include <concepts>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {
inline namespace compiled_out {

/// scoped_span with tracing compiled out: empty, never recording, no context.
class scoped_span {
 public:
  constexpr scoped_span() noexcept = default;
  constexpr explicit scoped_span(const span_site*) noexcept {}
  constexpr scoped_span(const span_site*, const span_context&) noexcept {}
  constexpr scoped_span(scoped_span&&) noexcept = default;
  constexpr scoped_span& operator=(scoped_span&&) noexcept = default;
  scoped_span(const scoped_span&) = delete;
  scoped_span& operator=(const scoped_span&) = delete;

  constexpr void end() noexcept {}
  constexpr bool is_recording() const noexcept { return false; }
  constexpr span_context context() const noexcept { return {}; }

  template <class T, class V>
    requires(!std::same_as<T, std::string> && detail::settable_as<T, V>)
  constexpr scoped_span& set(const key<T>&, V&&) noexcept { return *this; }
  constexpr scoped_span& set(const key<std::string>&, static_string) noexcept { return *this; }
  template <class S>
    requires(std::convertible_to<S, std::string_view> && !std::is_array_v<std::remove_cvref_t<S>>)
  constexpr scoped_span& set(const key<std::string>&, S&&) noexcept { return *this; }
  constexpr scoped_span& event(static_string, std::initializer_list<kv> = {}) noexcept {
    return *this;
  }
  constexpr scoped_span& link(const span_context&, std::initializer_list<kv> = {}) noexcept {
    return *this;
  }
  constexpr scoped_span& set_status(status_code, std::string_view = {}) noexcept { return *this; }
  constexpr scoped_span& error(std::string_view = {}) noexcept { return *this; }
  constexpr scoped_span& ok() noexcept { return *this; }
  constexpr scoped_span& record_exception(const std::exception&) noexcept { return *this; }
  template <class S>
    requires std::convertible_to<S, std::string>
  constexpr scoped_span& set_name(S&&) noexcept { return *this; }
  template <class S>
    requires std::convertible_to<S, std::string>
  constexpr scoped_span& set_trace_state(S&&) noexcept { return *this; }
};

/// span<Name, Kind> with tracing compiled out.
// [[gnu::unused]]: a trivial type, so g++ -Wunused-variable would flag every
// `agentrace::span<"name"> s;` not used again (the compiled-in span's destructor ends it).
template <detail::fixed_string Name, span_kind Kind = span_kind::internal>
class [[gnu::unused]] span : public scoped_span {
 public:
  static constexpr span_site site{Name.view(), Kind, "", 0, ""};
  constexpr span() noexcept = default;
  constexpr explicit span(const span_context&) noexcept {}
};

/// in_span with tracing compiled out: calls `f` (with an empty span if it takes one).
template <detail::fixed_string Name, span_kind Kind = span_kind::internal, class F>
decltype(auto) in_span(F&& f) {
  if constexpr (std::is_invocable_v<F&&, scoped_span&>) {
    scoped_span s;
    return std::forward<F>(f)(s);
  } else {
    return std::forward<F>(f)();
  }
}

}  // namespace compiled_out
}  // namespace agentrace

// The site record is still built at compile time (the name is checked: a literal, not empty) and
// costs nothing at run time. Arguments go into `if (false)` statements: fully type-checked, never
// evaluated, removed by the compiler. (Not `if constexpr (false)` nor decltype: a function used
// only there would then count as unused, and clang warns about it.)
#define AGENTRACE_SPAN(var, ...)                                                            \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);            \
  [[maybe_unused]] ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) }

#define AGENTRACE_SPAN_CHILD_OF(var, parent, ...)                                           \
  if (false) static_cast<void>(static_cast<const ::agentrace::span_context&>(parent));      \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);            \
  [[maybe_unused]] ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) }

#define AGENTRACE_SET(span, key, value)    \
  do {                                     \
    if (false) (span).set((key), (value)); \
  } while (false)

#define AGENTRACE_EVENT(span, ...)        \
  do {                                    \
    if (false) (span).event(__VA_ARGS__); \
  } while (false)

AGENTRACE_DETAIL_VISIBILITY_END
