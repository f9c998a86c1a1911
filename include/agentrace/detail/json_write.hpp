// SPDX-License-Identifier: MIT
// Fast JSON string writing into fmt buffers: escaping, UTF-8 validation (invalid bytes become
// U+FFFD so the output is always valid JSON), and truncation to a number of code points.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

namespace agentrace::detail {

/// Appends raw bytes. Buffer: fmt::memory_buffer, or std::string (the GenAI content writer
/// builds attribute values in place, so a prompt is not copied a second time).
template <class Buffer>
inline void append(Buffer& b, std::string_view s) { b.append(s.data(), s.data() + s.size()); }

/// Length of the valid UTF-8 sequence starting at p (1..4), or 0 if invalid.
inline std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
  else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
  else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
  else return 0;
  if (static_cast<std::size_t>(end - p) < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/// What write_json_string(b, s, n) would write: `bytes` of output without the quotes for the
/// longest prefix of s whose output fits in `max_bytes` (0 = no limit), `code_points` of it, and
/// whether that prefix is all of s. Lets callers cut a value inside a string and keep valid JSON.
struct json_string_extent {
  std::size_t bytes = 0;
  std::size_t code_points = 0;
  bool complete = true;
};
inline json_string_extent json_string_size(std::string_view s, std::size_t max_bytes = 0) noexcept {
  json_string_extent e;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    std::size_t in = 1, out;
    if (c >= 0x20 && c < 0x80) {
      out = (c == '"' || c == '\\') ? 2 : 1;
    } else if (c < 0x20) {
      out = (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') ? 2 : 6;
    } else {
      const std::size_t n = utf8_sequence_length(p, end);
      in = n ? n : 1;
      out = n ? n : 3;  // invalid byte -> U+FFFD (3 bytes)
    }
    if (max_bytes && e.bytes + out > max_bytes) {
      e.complete = false;
      return e;
    }
    e.bytes += out;
    ++e.code_points;
    p += in;
  }
  return e;
}

/// Writes s as a quoted JSON string. max_code_points 0 = no limit.
template <class Buffer>
inline void write_json_string(Buffer& b, std::string_view s, std::size_t max_code_points = 0) {
  static constexpr char hex[] = "0123456789abcdef";
  b.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t code_points = 0;
  while (p < end) {
    if (max_code_points && code_points == max_code_points) break;
    // Copy a run of plain ASCII in one go.
    const unsigned char* run = p;
    while (run < end && *run >= 0x20 && *run < 0x80 && *run != '"' && *run != '\\' &&
           (!max_code_points || code_points < max_code_points)) {
      ++run;
      ++code_points;
    }
    if (run != p) {
      b.append(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(run));
      p = run;
      continue;
    }
    const unsigned char c = *p;
    ++code_points;
    if (c == '"' || c == '\\') {
      b.push_back('\\');
      b.push_back(static_cast<char>(c));
      ++p;
    } else if (c < 0x20) {
      switch (c) {
        case '\n': append(b, "\\n"); break;
        case '\r': append(b, "\\r"); break;
        case '\t': append(b, "\\t"); break;
        case '\b': append(b, "\\b"); break;
        case '\f': append(b, "\\f"); break;
        default: {
          const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
          b.append(esc, esc + 6);
        }
      }
      ++p;
    } else {
      const std::size_t n = utf8_sequence_length(p, end);
      if (n == 0) {
        append(b, "\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        ++p;
      } else {
        b.append(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(p + n));
        p += n;
      }
    }
  }
  b.push_back('"');
}

/// Lowercase hex of a 64-bit value, 16 digits.
inline void write_hex64(fmt::memory_buffer& b, std::uint64_t v) {
  static constexpr char hex[] = "0123456789abcdef";
  char out[16];
  for (int i = 15; i >= 0; --i) {
    out[i] = hex[v & 0xF];
    v >>= 4;
  }
  b.append(out, out + 16);
}

inline void write_uint(fmt::memory_buffer& b, std::uint64_t v) {
  char out[20];
  int i = 20;
  do {
    out[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  b.append(out + i, out + 20);
}

inline void write_int(fmt::memory_buffer& b, std::int64_t v) {
  if (v < 0) {
    b.push_back('-');
    write_uint(b, static_cast<std::uint64_t>(0) - static_cast<std::uint64_t>(v));
  } else {
    write_uint(b, static_cast<std::uint64_t>(v));
  }
}

/// A double as JSON: shortest round-trip form; NaN and infinities as the proto3 JSON strings.
inline void write_double(fmt::memory_buffer& b, double v) {
  if (v != v) return append(b, "\"NaN\"");
  if (v == __builtin_inf()) return append(b, "\"Infinity\"");
  if (v == -__builtin_inf()) return append(b, "\"-Infinity\"");
  fmt::format_to(std::back_inserter(b), "{}", v);
}

}  // namespace agentrace::detail
