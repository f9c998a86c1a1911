// SPDX-License-Identifier: MIT
// Fast JSON string writing into fmt buffers: escaping, UTF-8 validation (invalid bytes become
// U+FFFD so the output is always valid JSON), and truncation to a number of code points.
#pragma once

#include <fmt/compile.h>
#include <fmt/format.h>

#include <array>
#include <cstring>

#include <cstdint>
#include <string_view>

#include "agentrace/detail/ascii.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// Appends raw bytes. Buffer: fmt::memory_buffer, or std::string (the GenAI content writer
/// builds attribute values in place, so a prompt is not copied a second time).
template <class Buffer>
inline void append(Buffer& b, std::string_view s) {
  b.append(s.data(), s.data() + s.size());
}

/// Length of the valid UTF-8 sequence starting at p (1..4), or 0 if invalid.
inline std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else
    return 0;
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

/// Bytes of the first `max` code points of s (0: all of s), an invalid byte counting as one
/// code point as the writers do; a valid UTF-8 sequence is never split.
inline std::size_t code_point_prefix(std::string_view s, std::size_t max) noexcept {
  if (max == 0 || s.size() <= max) return s.size();
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* p = b;
  const auto* end = b + s.size();
  for (std::size_t n = 0; n < max && p < end; ++n) {
    const std::size_t len = utf8_sequence_length(p, end);
    p += len ? len : 1;
  }
  return static_cast<std::size_t>(p - b);
}

/// Copies the UTF-8 sequence at p (advancing p), or writes U+FFFD for an invalid byte (p moves
/// past that byte). Returns the end of what was written (at most 4 bytes).
inline char* put_utf8_sequence(char* out, const unsigned char*& p,
                               const unsigned char* end) noexcept {
  const std::size_t n = utf8_sequence_length(p, end);
  if (n == 0) {
    std::memcpy(out, "\xEF\xBF\xBD", 3);  // U+FFFD REPLACEMENT CHARACTER
    ++p;
    return out + 3;
  }
  std::memcpy(out, p, n);
  p += n;
  return out + n;
}

/// Copies s to out as valid UTF-8 (each invalid byte becomes U+FFFD, as in the JSON writer);
/// out has room for 3 * s.size() bytes. Returns the end.
inline char* put_utf8(char* out, std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char* run = p;
    while (run < end && *run < 0x80) ++run;
    std::memcpy(out, p, static_cast<std::size_t>(run - p));
    out += run - p;
    p = run;
    if (p == end) break;
    out = put_utf8_sequence(out, p, end);
  }
  return out;
}

/// Bytes put_utf8 writes for s.
inline std::size_t utf8_sanitized_size(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t n = 0;
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      ++n;
      continue;
    }
    const std::size_t len = utf8_sequence_length(p, end);
    n += len ? len : 3;
    p += len ? len : 1;
  }
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
          const char esc[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
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

/// Two lowercase hex digits per byte value.
inline constexpr char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/// Writes the 16 lowercase hex digits of v at out; returns the end.
inline char* put_hex64(char* out, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    std::memcpy(out + 2 * i, hex_pairs + 2 * (v & 0xff), 2);
    v >>= 8;
  }
  return out + 16;
}

/// Lowercase hex of a 64-bit value, 16 digits.
inline void write_hex64(fmt::memory_buffer& b, std::uint64_t v) {
  char out[16];
  put_hex64(out, v);
  b.append(out, out + 16);
}

/// Writes the decimal digits of v at out (at most 20); returns the end.
inline char* put_uint(char* out, std::uint64_t v) noexcept {
  const fmt::format_int f(v);
  std::memcpy(out, f.data(), f.size());
  return out + f.size();
}

inline void write_uint(fmt::memory_buffer& b, std::uint64_t v) {
  const fmt::format_int f(v);
  b.append(f.data(), f.data() + f.size());
}

inline void write_int(fmt::memory_buffer& b, std::int64_t v) {
  const fmt::format_int f(v);
  b.append(f.data(), f.data() + f.size());
}

/// A double as JSON at out (at most 32 bytes): shortest round-trip form; NaN and infinities as
/// the proto3 JSON strings. Returns the end.
inline char* put_double(char* out, double v) noexcept {
  auto lit = [&](std::string_view s) {
    std::memcpy(out, s.data(), s.size());
    return out + s.size();
  };
  if (v != v) return lit("\"NaN\"");
  if (v == __builtin_inf()) return lit("\"Infinity\"");
  if (v == -__builtin_inf()) return lit("\"-Infinity\"");
  return fmt::format_to(out, FMT_COMPILE("{}"), v);
}

/// A double as JSON: shortest round-trip form; NaN and infinities as the proto3 JSON strings.
inline void write_double(fmt::memory_buffer& b, double v) {
  char out[32];
  b.append(out, put_double(out, v));
}

/// Bytes a JSON string of `s` may take at most (quotes; \u00XX escapes and U+FFFD replacements
/// are at most 6 bytes per input byte).
constexpr std::size_t json_string_bound(std::size_t n) noexcept { return 6 * n + 2; }

/// Writes s as a quoted JSON string at out, which has room for json_string_bound(s.size())
/// bytes (no truncation); returns the end. Same output as write_json_string without a limit.
inline char* put_json_string(char* out, std::string_view s) noexcept {
  // 1 for bytes copied as they are: printable ASCII other than '"' and '\\'.
  static constexpr auto plain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    return t;
  }();
  *out++ = '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char* run = p;
    while (run < end && plain[*run]) ++run;
    std::memcpy(out, p, static_cast<std::size_t>(run - p));
    out += run - p;
    p = run;
    if (p == end) break;
    const unsigned char c = *p;
    if (c == '"' || c == '\\') {
      *out++ = '\\';
      *out++ = static_cast<char>(c);
      ++p;
    } else if (c < 0x20) {
      *out++ = '\\';
      switch (c) {
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        default: {
          const char esc[5] = {'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
          std::memcpy(out, esc, 5);
          out += 5;
        }
      }
      ++p;
    } else {
      out = put_utf8_sequence(out, p, end);
    }
  }
  *out++ = '"';
  return out;
}

/// Writes into a fmt::memory_buffer through a plain pointer: the caller reserves an upper bound
/// once, then writes pieces without a capacity check each; commit() sets the buffer's size.
class raw_out {
 public:
  raw_out(fmt::memory_buffer& b, std::size_t max_bytes) : b_(b) { reopen(max_bytes); }
  raw_out(const raw_out&) = delete;
  raw_out& operator=(const raw_out&) = delete;

  /// Sets the buffer's size to what was written. Call before the buffer is used directly.
  void commit() noexcept { b_.resize(static_cast<std::size_t>(p_ - b_.data())); }
  /// After commit() and direct use of the buffer: room for max_bytes more.
  void reopen(std::size_t max_bytes) {
    const std::size_t used = b_.size();
    b_.resize(used + max_bytes);
    p_ = b_.data() + used;
  }

  template <std::size_t N>
  void lit(const char (&s)[N]) noexcept {
    std::memcpy(p_, s, N - 1);
    p_ += N - 1;
  }
  void ch(char c) noexcept { *p_++ = c; }
  void hex64(std::uint64_t v) noexcept { p_ = put_hex64(p_, v); }
  void uint(std::uint64_t v) noexcept { p_ = put_uint(p_, v); }
  void sint(std::int64_t v) noexcept {
    const fmt::format_int f(v);
    std::memcpy(p_, f.data(), f.size());
    p_ += f.size();
  }
  void dbl(double v) noexcept { p_ = put_double(p_, v); }
  void str(std::string_view s) noexcept { p_ = put_json_string(p_, s); }

 private:
  fmt::memory_buffer& b_;
  char* p_;
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
