// SPDX-License-Identifier: MIT
// Span context (ids + flags) and the thread's current context.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

inline constexpr char hex_digits[] = "0123456789abcdef";
inline void append_hex(std::string& out, std::uint64_t v) {
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(hex_digits[(v >> shift) & 0xF]);
}
}  // namespace detail

/// The current context of this thread (the innermost live span, or an installed context).
inline span_context current_context() noexcept { return detail::tls_current; }

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
