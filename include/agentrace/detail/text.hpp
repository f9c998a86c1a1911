// SPDX-License-Identifier: MIT
// Text for people and limits on text: a duration with one precision rule, an attribute value for
// display, and strings cut without splitting a UTF-8 sequence (by bytes with an ellipsis, or by
// code points as the OTLP attribute length limit counts them).
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "agentrace/attributes.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// A duration for people: "0.123 ms" below 1 ms, "12.34 ms" below 10 s, "12.34 s" from there.
inline std::string duration_text(std::uint64_t ns) {
  if (ns < 1'000'000) return fmt::format("{:.3f} ms", static_cast<double>(ns) / 1e6);
  if (ns < 10'000'000'000ULL) return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

/// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence and appends `ellipsis`;
/// nothing happens when `s` already fits.
inline void cut_utf8(std::string& s, std::size_t max, std::string_view ellipsis = "…") {
  if (s.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s.append(ellipsis);
}

/// Replaces line breaks and tabs with spaces, so that the text stays on one line.
inline void one_line(std::string& s) noexcept {
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
}

/// How value_text() shows strings.
enum class quote_strings : std::uint8_t { no, yes };

/// An attribute value for display, on one line: numbers and booleans as text, arrays as
/// `[a, b]`, strings quoted or not; cut to `max_len` bytes with "…" (0: no limit).
inline std::string value_text(const attr_value& v, quote_strings quote, std::size_t max_len) {
  const bool q = quote == quote_strings::yes;
  std::string s = std::visit(
      [q](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return "";
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>)
          return fmt::format("{}", x);
        else if constexpr (std::is_same_v<T, std::string>)
          return q ? fmt::format("\"{}\"", x) : x;
        else {
          std::string out = "[";
          bool first = true;
          for (const auto& e : x) {
            if (!first) out += ", ";
            first = false;
            if constexpr (std::is_same_v<typename T::value_type, std::string>)
              out += q ? fmt::format("\"{}\"", e) : e;
            else
              out += fmt::format("{}", static_cast<typename T::value_type>(e));
          }
          return out + "]";
        }
      },
      v);
  one_line(s);
  if (max_len) cut_utf8(s, max_len);
  return s;
}

/// A Unix time in nanoseconds as RFC 3339 UTC text with milliseconds
/// (`2026-05-01T12:00:00.250Z`).
inline std::string rfc3339_text(std::uint64_t unix_ns) {
  const auto secs = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, (unix_ns / 1'000'000) % 1000);
}

/// Cuts `s` to at most `max` code points (0: no limit), counting an invalid byte as one code
/// point as the OTLP-JSON writer does; a valid UTF-8 sequence is never split.
inline void truncate_code_points(std::string& s, std::size_t max) noexcept {
  s.resize(code_point_prefix(s, max));
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
