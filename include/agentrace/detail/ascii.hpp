// SPDX-License-Identifier: MIT
// ASCII text helpers, locale-independent: case-insensitive comparison, lower / upper case,
// trimming spaces and tabs, hex digits in and out. Header names, environment values, trace ids
// and keywords are ASCII; bytes >= 0x80 pass through unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

constexpr char to_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char to_upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

/// True when `a` and `b` are equal ignoring ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

/// True when `s` starts with `prefix`, ignoring ASCII case.
constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline void to_lower_in_place(std::string& s) noexcept {
  for (auto& c : s) c = to_lower(c);
}
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  to_lower_in_place(out);
  return out;
}
inline std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = to_upper(c);
  return out;
}

constexpr bool is_space_or_tab(char c) noexcept { return c == ' ' || c == '\t'; }

/// `s` without leading and trailing spaces and tabs.
constexpr std::string_view trim_view(std::string_view s) noexcept {
  while (!s.empty() && is_space_or_tab(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space_or_tab(s.back())) s.remove_suffix(1);
  return s;
}
/// A copy of `s` without leading and trailing spaces and tabs.
inline std::string trim(std::string_view s) { return std::string(trim_view(s)); }

inline constexpr char hex_digits[] = "0123456789abcdef";

/// Appends the 16 lowercase hex digits of `v`.
inline void append_hex(std::string& out, std::uint64_t v) {
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(hex_digits[(v >> shift) & 0xF]);
}
/// Appends the 2 lowercase hex digits of `b`.
inline void append_hex_byte(std::string& out, unsigned char b) {
  out.push_back(hex_digits[b >> 4]);
  out.push_back(hex_digits[b & 0xF]);
}

enum class hex_case : std::uint8_t { any, lower_only };

/// The value of hex digit `c` (0-15), or -1. With hex_case::lower_only, 'A'-'F' are not digits.
constexpr int hex_value(char c, hex_case accept = hex_case::any) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (accept == hex_case::any && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Parses `s` (at most 16 hex digits) into `out`; false (out untouched) on any other character.
constexpr bool parse_hex(std::string_view s, std::uint64_t& out,
                         hex_case accept = hex_case::any) noexcept {
  if (s.size() > 16) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    const int d = hex_value(c, accept);
    if (d < 0) return false;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  out = v;
  return true;
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
