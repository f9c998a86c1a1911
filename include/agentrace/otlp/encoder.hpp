// SPDX-License-Identifier: MIT
// The OTLP encoder's two writers and the parts every signal shares (attributes, AnyValue,
// resource, instrumentation scope). A message is written by one traversal (otlp/traces.hpp,
// otlp/logs.hpp) that calls a writer once per field with the field's description
// (otlp/fields.hpp); json_writer turns that into OTLP/JSON, proto_writer into proto3 binary.
//
// Both write into a caller's fmt::memory_buffer, reused from batch to batch: after the buffer
// has grown to a batch's size nothing is allocated. proto_writer writes each embedded message's
// length in front of it after the message (back-patched): a one-byte placeholder (two for a
// span), moved when the length needs more bytes; lengths are minimal varints.
#pragma once

#include <fmt/format.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/otlp/fields.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::otlp {

/// The two encodings of OTLP/HTTP bodies.
enum class encoding : std::uint8_t { protobuf, json };

namespace detail {

/// Appends to a fmt::memory_buffer through a plain pointer, checking capacity per piece; the
/// buffer's size is set when the writer is done (commit(), or the destructor).
class buffer_cursor {
 public:
  explicit buffer_cursor(fmt::memory_buffer& b) noexcept
      : b_(b), p_(b.data() + b.size()), end_(b.data() + b.capacity()) {}
  buffer_cursor(const buffer_cursor&) = delete;
  buffer_cursor& operator=(const buffer_cursor&) = delete;
  ~buffer_cursor() { commit(); }

  /// Sets the buffer's size to what was written.
  void commit() noexcept { b_.resize(offset()); }

 protected:
  std::size_t offset() const noexcept { return static_cast<std::size_t>(p_ - b_.data()); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void ensure(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) [[unlikely]]
      grow(n);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void put(const void* s, std::size_t n) noexcept {
    std::memcpy(p_, s, n);
    p_ += n;
  }

  fmt::memory_buffer& b_;
  char* p_;
  char* end_;

 private:
  AGENTRACE_DETAIL_NOINLINE void grow(std::size_t n) {
    const std::size_t used = offset();
    b_.resize(used);
    b_.reserve(std::max(used + n, 2 * b_.capacity()));
    p_ = b_.data() + used;
    end_ = b_.data() + b_.capacity();
  }
};

}  // namespace detail

/// OTLP/JSON (proto3 JSON mapping as the OTLP specification restricts it: lowerCamelCase keys,
/// hex ids, enums as integers, 64-bit integers as decimal strings).
class json_writer : public detail::buffer_cursor {
 public:
  static constexpr encoding format = encoding::json;
  using buffer_cursor::buffer_cursor;

  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_request() { open('{'); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_request() { close('}'); }
  /// An embedded message.
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin(const field_desc& f) {
    key(f);
    open('{');
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end() { close('}'); }
  /// A repeated field; each element is begin_item(f) ... end_item().
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_array(const field_desc& f) {
    key(f);
    open('[');
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_array() { close(']'); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_item(const field_desc&, std::size_t = 1) {
    ensure(2);
    sep();
    *p_++ = '{';
    first_ = true;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_item() { close('}'); }

  /// A string; max_code_points 0 = whole.
  void string(const field_desc& f, std::string_view s, std::uint32_t max_code_points = 0) {
    key(f);
    if (max_code_points == 0 || s.size() <= max_code_points) {
      ensure(agentrace::detail::json_string_bound(s.size()));
      p_ = agentrace::detail::put_json_string(p_, s);
    } else {
      commit();
      agentrace::detail::write_json_string(b_, s, max_code_points);
      p_ = b_.data() + b_.size();
      end_ = b_.data() + b_.capacity();
    }
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void id(const field_desc& f, const agentrace::trace_id& t) {
    key(f);
    ensure(34);
    *p_++ = '"';
    p_ = agentrace::detail::put_hex64(p_, t.hi);
    p_ = agentrace::detail::put_hex64(p_, t.lo);
    *p_++ = '"';
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void id(const field_desc& f, std::uint64_t span_id) {
    key(f);
    ensure(18);
    *p_++ = '"';
    p_ = agentrace::detail::put_hex64(p_, span_id);
    *p_++ = '"';
  }
  /// A KeyValue element of `f` holding an inline attribute slot: one capacity check, then
  /// stores through a local pointer.
  void slot_attribute(const field_desc& f, const agentrace::detail::attr_slot& a,
                      std::uint32_t max_len) {
    using agentrace::detail::json_string_bound;
    using agentrace::detail::slot_type;
    const bool is_str = a.type() == slot_type::static_str || a.type() == slot_type::owned_str;
    if (is_str && max_len != 0) [[unlikely]] {
      begin_item(f);
      string(key_value::key, a.key_name());
      begin(key_value::value);
      string(any_value::string_value, a.as_string(), max_len);
      end();
      end_item();
      return;
    }
    const std::string_view k = a.key_name();
    ensure(64 + json_string_bound(k.size()) +
           (is_str ? json_string_bound(a.as_string().size()) : 0));
    char* p = p_;
    if (!first_) *p++ = ',';
    first_ = false;
    auto lit = [&p](std::string_view s) {
      std::memcpy(p, s.data(), s.size());
      p += s.size();
    };
    lit("{\"key\":");
    p = agentrace::detail::put_json_string(p, k);
    lit(",\"value\":{");
    switch (a.type()) {
      case slot_type::boolean:
        lit(a.as_bool() ? "\"boolValue\":true" : "\"boolValue\":false");
        break;
      case slot_type::int64: {
        lit("\"intValue\":\"");
        const fmt::format_int n(a.as_int());
        std::memcpy(p, n.data(), n.size());
        p += n.size();
        *p++ = '"';
        break;
      }
      case slot_type::float64:
        lit("\"doubleValue\":");
        p = agentrace::detail::put_double(p, a.as_double());
        break;
      default: lit("\"stringValue\":"); p = agentrace::detail::put_json_string(p, a.as_string());
    }
    lit("}}");
    p_ = p;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void uint32(const field_desc& f, std::uint32_t v) { number(f, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void enum_(const field_desc& f, std::uint32_t v) { number(f, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void fixed32(const field_desc& f, std::uint32_t v) {
    number(f, v);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void int64(const field_desc& f, std::int64_t v) {
    key(f);
    ensure(24);
    *p_++ = '"';
    const fmt::format_int s(v);
    put(s.data(), s.size());
    *p_++ = '"';
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void fixed64(const field_desc& f, std::uint64_t v) {
    key(f);
    ensure(24);
    *p_++ = '"';
    p_ = agentrace::detail::put_uint(p_, v);
    *p_++ = '"';
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void boolean(const field_desc& f, bool v) {
    key(f);
    ensure(5);
    if (v)
      put("true", 4);
    else
      put("false", 5);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void double_(const field_desc& f, double v) {
    key(f);
    ensure(32);
    p_ = agentrace::detail::put_double(p_, v);
  }
  /// A signed 64-bit integer of a sfixed64 field (as int64 in JSON: a decimal string).
  AGENTRACE_DETAIL_ALWAYS_INLINE void sfixed64(const field_desc& f, std::int64_t v) { int64(f, v); }
  /// A packed repeated fixed64 field: an array of decimal strings.
  void packed_fixed64(const field_desc& f, std::span<const std::uint64_t> v) {
    key(f);
    ensure(2 + 23 * v.size());
    *p_++ = '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) *p_++ = ',';
      *p_++ = '"';
      p_ = agentrace::detail::put_uint(p_, v[i]);
      *p_++ = '"';
    }
    *p_++ = ']';
  }
  /// A packed repeated double field: an array of numbers.
  void packed_double(const field_desc& f, std::span<const double> v) {
    key(f);
    ensure(2 + 33 * v.size());
    *p_++ = '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) *p_++ = ',';
      p_ = agentrace::detail::put_double(p_, v[i]);
    }
    *p_++ = ']';
  }

 private:
  AGENTRACE_DETAIL_ALWAYS_INLINE void sep() noexcept {
    if (!first_) *p_++ = ',';
    first_ = false;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void key(const field_desc& f) {
    ensure(f.json.size() + 4);
    char* p = p_;
    if (!first_) *p++ = ',';
    first_ = false;
    *p++ = '"';
    std::memcpy(p, f.json.data(), f.json.size());
    p += f.json.size();
    *p++ = '"';
    *p++ = ':';
    p_ = p;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void open(char c) {
    ensure(1);
    *p_++ = c;
    first_ = true;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void close(char c) {
    ensure(1);
    *p_++ = c;
    first_ = false;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void number(const field_desc& f, std::uint64_t v) {
    key(f);
    ensure(20);
    p_ = agentrace::detail::put_uint(p_, v);
  }

  bool first_ = true;
};

/// Proto3 binary: write-only, fields in the order the traversal gives them (decoders accept any
/// order), every value the traversal writes is on the wire (it leaves out what it omits).
class proto_writer : public detail::buffer_cursor {
 public:
  static constexpr encoding format = encoding::protobuf;
  using buffer_cursor::buffer_cursor;

  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_request() {}
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_request() {}
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin(const field_desc& f, std::size_t placeholder = 1) {
    open(f, placeholder);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end() { close(); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_array(const field_desc&) {}
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_array() {}
  /// `placeholder`: bytes reserved for the length (moved when it needs another size).
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_item(const field_desc& f, std::size_t placeholder = 1) {
    open(f, placeholder);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_item() { close(); }

  void string(const field_desc& f, std::string_view s, std::uint32_t max_code_points = 0) {
    if (max_code_points) s = s.substr(0, agentrace::detail::code_point_prefix(s, max_code_points));
    if (ascii(s)) [[likely]] {
      ensure(12 + s.size());
      tag(f);
      varint(s.size());
      p_ = copy_small(p_, s.data(), s.size());
      return;
    }
    const std::size_t n = agentrace::detail::utf8_sanitized_size(s);
    ensure(12 + n);
    tag(f);
    varint(n);
    p_ = agentrace::detail::put_utf8(p_, s);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void id(const field_desc& f, const agentrace::trace_id& t) {
    ensure(18);
    tag(f);
    *p_++ = 16;
    big_endian(t.hi);
    big_endian(t.lo);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void id(const field_desc& f, std::uint64_t span_id) {
    ensure(10);
    tag(f);
    *p_++ = 8;
    big_endian(span_id);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void uint32(const field_desc& f, std::uint32_t v) { scalar(f, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void enum_(const field_desc& f, std::uint32_t v) { scalar(f, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void int64(const field_desc& f, std::int64_t v) {
    scalar(f, static_cast<std::uint64_t>(v));
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void boolean(const field_desc& f, bool v) { scalar(f, v ? 1 : 0); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void fixed32(const field_desc& f, std::uint32_t v) {
    ensure(6);
    tag(f);
    little_endian(v);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void fixed64(const field_desc& f, std::uint64_t v) {
    ensure(10);
    tag(f);
    little_endian(v);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void double_(const field_desc& f, double v) {
    fixed64(f, std::bit_cast<std::uint64_t>(v));
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void sfixed64(const field_desc& f, std::int64_t v) {
    fixed64(f, static_cast<std::uint64_t>(v));
  }
  /// A packed repeated fixed64 field (written only when not empty, as proto3 does).
  void packed_fixed64(const field_desc& f, std::span<const std::uint64_t> v) {
    if (v.empty()) return;
    ensure(12 + 8 * v.size());
    tag(f);
    varint(8 * v.size());
    for (const std::uint64_t x : v) little_endian(x);
  }
  /// A packed repeated double field (written only when not empty).
  void packed_double(const field_desc& f, std::span<const double> v) {
    if (v.empty()) return;
    ensure(12 + 8 * v.size());
    tag(f);
    varint(8 * v.size());
    for (const double x : v) little_endian(std::bit_cast<std::uint64_t>(x));
  }

  /// A KeyValue element of `f` holding an inline attribute slot: its sizes are computed, not
  /// back-patched (the common case: ASCII key, short value).
  void slot_attribute(const field_desc& f, const agentrace::detail::attr_slot& a,
                      std::uint32_t max_len) {
    using agentrace::detail::slot_type;
    const std::string_view k = a.key_name();
    std::string_view str;
    std::uint64_t scalar = 0;
    std::size_t value_len;  // the AnyValue's length
    switch (a.type()) {
      case slot_type::boolean:
        scalar = a.as_bool();
        value_len = 2;
        break;
      case slot_type::int64:
        scalar = static_cast<std::uint64_t>(a.as_int());
        value_len = 1 + varint_size(scalar);
        break;
      case slot_type::float64:
        scalar = std::bit_cast<std::uint64_t>(a.as_double());
        value_len = 9;
        break;
      default:
        str = a.as_string();
        if (max_len) str = str.substr(0, agentrace::detail::code_point_prefix(str, max_len));
        value_len = 1 + varint_size(str.size()) + str.size();
    }
    if (k.size() >= 0x80 || value_len >= 0x80 || !ascii(k) || !ascii(str)) [[unlikely]] {
      begin_item(f);
      string(key_value::key, k);
      begin(key_value::value);
      switch (a.type()) {
        case slot_type::boolean: boolean(any_value::bool_value, scalar != 0); break;
        case slot_type::int64:
          int64(any_value::int_value, static_cast<std::int64_t>(scalar));
          break;
        case slot_type::float64: fixed64(any_value::double_value, scalar); break;
        default: string(any_value::string_value, str);
      }
      end();
      end_item();
      return;
    }
    const std::size_t kv_len = 2 + k.size() + 2 + value_len;
    ensure(2 + 2 + kv_len);
    // Through a local pointer: stores through char* could alias p_, which would make the
    // compiler reload and store it after every byte.
    char* p = p_;
    const std::uint32_t t = f.tag();
    if (t < 0x80) {
      *p++ = static_cast<char>(t);
    } else {
      *p++ = static_cast<char>((t & 0x7f) | 0x80);
      *p++ = static_cast<char>(t >> 7);
    }
    p = put_varint(p, kv_len);
    *p++ = static_cast<char>(key_value::key.tag());
    *p++ = static_cast<char>(k.size());
    p = copy_small(p, k.data(), k.size());
    *p++ = static_cast<char>(key_value::value.tag());
    *p++ = static_cast<char>(value_len);
    switch (a.type()) {
      case slot_type::boolean:
        *p++ = static_cast<char>(any_value::bool_value.tag());
        *p++ = static_cast<char>(scalar);
        break;
      case slot_type::int64:
        *p++ = static_cast<char>(any_value::int_value.tag());
        p = put_varint(p, scalar);
        break;
      case slot_type::float64:
        *p++ = static_cast<char>(any_value::double_value.tag());
        if constexpr (std::endian::native == std::endian::big) scalar = byteswap(scalar);
        std::memcpy(p, &scalar, 8);
        p += 8;
        break;
      default:
        *p++ = static_cast<char>(any_value::string_value.tag());
        *p++ = static_cast<char>(str.size());
        p = copy_small(p, str.data(), str.size());
    }
    p_ = p;
  }

  /// Copies n bytes (short strings mostly) without a call.
  AGENTRACE_DETAIL_ALWAYS_INLINE static char* copy_small(char* dst, const char* src,
                                                         std::size_t n) noexcept {
    if (n >= 8 && n <= 16) {
      std::uint64_t a, b;
      std::memcpy(&a, src, 8);
      std::memcpy(&b, src + n - 8, 8);
      std::memcpy(dst, &a, 8);
      std::memcpy(dst + n - 8, &b, 8);
    } else if (n > 16 && n <= 32) {
      std::uint64_t w[4];
      std::memcpy(&w[0], src, 8);
      std::memcpy(&w[1], src + 8, 8);
      std::memcpy(&w[2], src + n - 16, 8);
      std::memcpy(&w[3], src + n - 8, 8);
      std::memcpy(dst, &w[0], 8);
      std::memcpy(dst + 8, &w[1], 8);
      std::memcpy(dst + n - 16, &w[2], 8);
      std::memcpy(dst + n - 8, &w[3], 8);
    } else if (n < 8) {
      for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
    } else {
      std::memcpy(dst, src, n);
    }
    return dst + n;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE static char* put_varint(char* p, std::uint64_t v) noexcept {
    while (v >= 0x80) {
      *p++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
  }

  static bool ascii(std::string_view s) noexcept {
    std::size_t i = 0;
    std::uint64_t high = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      high |= w;
    }
    for (; i < s.size(); ++i) high |= static_cast<unsigned char>(s[i]);
    return (high & 0x8080808080808080ull) == 0;
  }

  static constexpr std::size_t varint_size(std::uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
      v >>= 7;
      ++n;
    }
    return n;
  }

 private:
  AGENTRACE_DETAIL_ALWAYS_INLINE void tag(const field_desc& f) noexcept {
    const std::uint32_t t = f.tag();
    if (t < 0x80) {
      *p_++ = static_cast<char>(t);
    } else {  // field numbers up to 2047 (every OTLP field)
      *p_++ = static_cast<char>((t & 0x7f) | 0x80);
      *p_++ = static_cast<char>(t >> 7);
    }
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void varint(std::uint64_t v) noexcept { p_ = put_varint(p_, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void scalar(const field_desc& f, std::uint64_t v) {
    ensure(12);
    tag(f);
    varint(v);
  }
  template <class T>
  AGENTRACE_DETAIL_ALWAYS_INLINE void little_endian(T v) noexcept {
    if constexpr (std::endian::native == std::endian::big) v = byteswap(v);
    put(&v, sizeof v);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void big_endian(std::uint64_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) v = byteswap(v);
    put(&v, sizeof v);
  }
  template <class T>
  static T byteswap(T v) noexcept {
    T r = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      r = static_cast<T>((r << 8) | (v & 0xff));
      v = static_cast<T>(v >> 8);
    }
    return r;
  }

  AGENTRACE_DETAIL_ALWAYS_INLINE void open(const field_desc& f, std::size_t placeholder) {
    ensure(2 + placeholder);
    tag(f);
    p_ += placeholder;
    stack_[depth_++] = {static_cast<std::uint32_t>(offset()),
                        static_cast<std::uint8_t>(placeholder)};
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void close() {
    const auto [body, reserved] = stack_[--depth_];
    const std::size_t len = offset() - body;
    const std::size_t n = varint_size(len);
    char* b = b_.data() + body;
    if (n != reserved) {
      if (n > reserved) ensure(n - reserved);
      b = b_.data() + body;  // ensure may have moved the buffer
      std::memmove(b - reserved + n, b, len);
      p_ = p_ - reserved + n;
    }
    char* q = b - reserved;
    std::uint64_t v = len;
    while (v >= 0x80) {
      *q++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *q = static_cast<char>(v);
  }

  struct frame {
    std::uint32_t body;  // offset of the message's first byte
    std::uint8_t reserved;
  };
  frame stack_[24]{};  // OTLP nests at most ~12 deep (AnyValue arrays one level)
  int depth_ = 0;
};

namespace detail {

inline std::string_view kv_key(const attribute& a) noexcept { return a.key; }
inline const attr_value& kv_value(const attribute& a) noexcept { return a.value; }
template <class V>
std::string_view kv_key(const std::pair<std::string, V>& a) noexcept {
  return a.first;
}
template <class V>
const V& kv_value(const std::pair<std::string, V>& a) noexcept {
  return a.second;
}

}  // namespace detail

/// The value of an AnyValue message (the caller has opened it). monostate: an empty string.
template <class W>
void write_any_value(W& w, const attr_value& v, std::uint32_t max_len) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          w.string(any_value::string_value, {});
        } else if constexpr (std::is_same_v<T, bool>) {
          w.boolean(any_value::bool_value, x);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          w.int64(any_value::int_value, x);
        } else if constexpr (std::is_same_v<T, double>) {
          w.double_(any_value::double_value, x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          w.string(any_value::string_value, x, max_len);
        } else {
          w.begin(any_value::array_value);
          w.begin_array(array_value::values);
          for (const auto& e : x) {
            w.begin_item(array_value::values);
            write_any_value(w, attr_value{typename T::value_type(e)}, max_len);
            w.end_item();
          }
          w.end_array();
          w.end();
        }
      },
      v);
}

/// A plain string as AnyValue (resource attributes).
template <class W>
void write_any_value(W& w, const std::string& v, std::uint32_t max_len) {
  w.string(any_value::string_value, v, max_len);
}

/// One KeyValue element of the repeated field `f`; `value(w)` writes the AnyValue's content.
template <class W, class Value>
void write_key_value(W& w, const field_desc& f, std::string_view key, Value&& value) {
  w.begin_item(f);
  w.string(key_value::key, key);
  w.begin(key_value::value);
  value(w);
  w.end();
  w.end_item();
}

/// Writes the entries of `attrs` (attribute, or pairs of key and attr_value / string) as the
/// repeated KeyValue field `f`, at most `limit` of them; returns how many were left out.
template <class W, class Range>
std::uint32_t write_attributes(W& w, const field_desc& f, const Range& attrs,
                               std::uint32_t limit = UINT32_MAX, std::uint32_t max_len = 0) {
  w.begin_array(f);
  std::uint32_t n = 0, dropped = 0;
  for (const auto& a : attrs) {
    if (n >= limit) {  // OpenTelemetry count limits: 0 allows none
      ++dropped;
      continue;
    }
    ++n;
    write_key_value(w, f, detail::kv_key(a),
                    [&](W& ww) { write_any_value(ww, detail::kv_value(a), max_len); });
  }
  w.end_array();
  return dropped;
}

/// A dropped_*_count field, written when not 0.
template <class W>
void write_dropped(W& w, const field_desc& f, std::uint32_t n) {
  if (n) w.uint32(f, n);
}

/// Resource message (field `f` of the enclosing message) with `attrs` (no limits apply).
template <class W, class Range>
void write_resource(W& w, const field_desc& f, const Range& attrs) {
  w.begin(f);
  write_attributes(w, otlp::resource::attributes, attrs);
  w.end();
}

/// InstrumentationScope message; `attributes(w)` writes its attributes (or nothing).
template <class W, class Attrs>
void write_scope(W& w, const field_desc& f, std::string_view name, std::string_view version,
                 Attrs&& attributes) {
  w.begin(f);
  w.string(scope::name, name);
  w.string(scope::version, version);
  attributes(w);
  w.end();
}

/// The fields every signal nests the same way: Resource<Signal> { resource, scope_<signal>s {
/// scope, <items> } }.
struct envelope_fields {
  const field_desc& resource;    // Resource<Signal>.resource
  const field_desc& scope_list;  // Resource<Signal>.scope_<signal>s
  const field_desc& scope;       // Scope<Signal>.scope
  const field_desc& items;       // Scope<Signal>.<spans | log_records | metrics>
};

/// One Resource<Signal> element's body: the resource, and one Scope<Signal> holding the scope
/// (with the attributes `scope_attributes(w)` writes) and the items `items(w)` writes.
template <class W, class Range, class ScopeAttrs, class Items>
void write_resource_scope(W& w, const envelope_fields& f, const Range& resource_attributes,
                          std::string_view scope_name, std::string_view scope_version,
                          ScopeAttrs&& scope_attributes, Items&& items) {
  write_resource(w, f.resource, resource_attributes);
  w.begin_array(f.scope_list);
  w.begin_item(f.scope_list, 3);
  write_scope(w, f.scope, scope_name, scope_version, scope_attributes);
  w.begin_array(f.items);
  items(w);
  w.end_array();
  w.end_item();
  w.end_array();
}

/// An Export<Signal>ServiceRequest with one resource and one scope (`resources`: its repeated
/// Resource<Signal> field).
template <class W, class Range, class ScopeAttrs, class Items>
void write_one_resource_request(W& w, const field_desc& resources, const envelope_fields& f,
                                const Range& resource_attributes, std::string_view scope_name,
                                std::string_view scope_version, ScopeAttrs&& scope_attributes,
                                Items&& items) {
  w.begin_request();
  w.begin_array(resources);
  w.begin_item(resources, 3);
  write_resource_scope(w, f, resource_attributes, scope_name, scope_version, scope_attributes,
                       items);
  w.end_item();
  w.end_array();
  w.end_request();
}

}  // namespace agentrace::otlp

AGENTRACE_DETAIL_VISIBILITY_END
