// SPDX-License-Identifier: MIT
// Span context (ids + flags) and the thread's current context.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "agentrace/detail/compiler.hpp"

namespace agentrace {

/// 128-bit trace id, kept as two words (hi = first 8 bytes in W3C/OTLP hex order).
struct trace_id {
  std::uint64_t hi{0};
  std::uint64_t lo{0};
  constexpr bool valid() const noexcept { return (hi | lo) != 0; }
  friend constexpr bool operator==(const trace_id&, const trace_id&) = default;
};

/// W3C trace-flags bits.
inline constexpr std::uint8_t flag_sampled = 0x01;
inline constexpr std::uint8_t flag_random = 0x02;

/// Identifies a span across threads and processes.
struct span_context {
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
  std::uint8_t flags{0};
  bool remote{false};

  constexpr bool valid() const noexcept { return trace_id.valid() && span_id != 0; }
  constexpr bool sampled() const noexcept { return (flags & flag_sampled) != 0; }
  friend constexpr bool operator==(const span_context&, const span_context&) = default;
};

namespace detail {
// The thread's current context. Trivially constructible, so access needs no TLS init guard.
inline constinit thread_local span_context tls_current{};

/// `dst = src`, field by field, each through a register (opaque, compiler.hpp): contexts are
/// written field by field on the hot path, and a whole-struct copy (overlapping 16-byte loads of a
/// 26-byte struct) would stall on store forwarding when it reads them back soon after.
AGENTRACE_DETAIL_ALWAYS_INLINE inline void assign_context(span_context& dst,
                                                          const span_context& src) noexcept {
  // clang-analyzer 14 does not model a coroutine's promise construction: from await_transform
  // (coro.hpp) it sees coroutine_context's members as uninitialized. They never are.
  dst.trace_id.hi = opaque(src.trace_id.hi);  // NOLINT(clang-analyzer-core.CallAndMessage)
  dst.trace_id.lo = opaque(src.trace_id.lo);
  dst.span_id = opaque(src.span_id);
  dst.flags = opaque(src.flags);
  dst.remote = opaque(src.remote);
}

inline constexpr char hex_digits[] = "0123456789abcdef";
inline void append_hex(std::string& out, std::uint64_t v) {
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(hex_digits[(v >> shift) & 0xF]);
}
}  // namespace detail

/// The current context of this thread (the innermost live span, or an installed context).
inline span_context current_context() noexcept { return detail::tls_current; }

/// Installs `ctx` as the thread's current context for the guard's lifetime, then restores the
/// context the thread had before. The way to carry a context to another thread:
///
///     auto ctx = agentrace::current_context();          // on the thread that has it
///     pool.post([ctx] {
///       agentrace::context_scope in(ctx);               // on the worker
///       AGENTRACE_SPAN(s, "tool.run");                  // a child of the captured span
///     });
///
/// Installing an invalid (empty) context detaches: spans begun under it start new traces.
/// A remote context (extract()) makes the spans begun under it children of the remote span.
class [[nodiscard]] context_scope {
 public:
  explicit context_scope(const span_context& ctx) noexcept {
    detail::assign_context(prev_, detail::tls_current);
    detail::assign_context(detail::tls_current, ctx);
  }
  ~context_scope() { detail::assign_context(detail::tls_current, prev_); }
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

  /// The context that was current before this guard and is restored by its destructor.
  const span_context& previous() const noexcept { return prev_; }

 private:
  span_context prev_;
};

/// A callable that runs `F` under a captured context (see bind_context).
template <class F>
class context_bound {
 public:
  template <class G>
  context_bound(const span_context& ctx, G&& f) : ctx_(ctx), f_(std::forward<G>(f)) {}

  template <class... Args>
    requires std::invocable<F&, Args...>
  decltype(auto) operator()(Args&&... args) & {
    context_scope in(ctx_);
    return std::invoke(f_, std::forward<Args>(args)...);
  }
  template <class... Args>
    requires std::invocable<const F&, Args...>
  decltype(auto) operator()(Args&&... args) const& {
    context_scope in(ctx_);
    return std::invoke(f_, std::forward<Args>(args)...);
  }
  template <class... Args>
    requires std::invocable<F&&, Args...>
  decltype(auto) operator()(Args&&... args) && {
    context_scope in(ctx_);
    return std::invoke(std::move(f_), std::forward<Args>(args)...);
  }

  /// The context the callable runs under.
  const span_context& context() const noexcept { return ctx_; }

 private:
  span_context ctx_;
  F f_;
};

/// Wraps `f` so that it runs under the context current *now*, on whichever thread calls it:
/// `pool.post(agentrace::bind_context([&] { ... }))`,
/// `std::jthread t(agentrace::bind_context([](std::stop_token st) { ... }))`.
/// Arguments are forwarded; the thread's own context is restored after each call.
template <class F>
context_bound<std::decay_t<F>> bind_context(F&& f) {
  return context_bound<std::decay_t<F>>(detail::tls_current, std::forward<F>(f));
}

/// Wraps `f` so that it runs under `ctx`.
template <class F>
context_bound<std::decay_t<F>> bind_context(const span_context& ctx, F&& f) {
  return context_bound<std::decay_t<F>>(ctx, std::forward<F>(f));
}

/// Lowercase hex of a trace id (32 chars) / span id (16 chars).
inline std::string to_hex(const trace_id& id) {
  std::string s;
  s.reserve(32);
  detail::append_hex(s, id.hi);
  detail::append_hex(s, id.lo);
  return s;
}
inline std::string to_hex(std::uint64_t span_id) {
  std::string s;
  s.reserve(16);
  detail::append_hex(s, span_id);
  return s;
}

}  // namespace agentrace
