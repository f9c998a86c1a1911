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
  void ensure(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) [[unlikely]]
      grow(n);
  }
  void put(const void* s, std::size_t n) noexcept {
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

  void begin_request() { open('{'); }
  void end_request() { close('}'); }
  /// An embedded message.
  void begin(const field_desc& f) {
    key(f);
    open('{');
  }
  void end() { close('}'); }
  /// A repeated field; each element is begin_item(f) ... end_item().
  void begin_array(const field_desc& f) {
    key(f);
    open('[');
  }
  void end_array() { close(']'); }
  void begin_item(const field_desc&, std::size_t = 1) {
    ensure(2);
    sep();
    *p_++ = '{';
    first_ = true;
  }
  void end_item() { close('}'); }

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
  void id(const field_desc& f, const agentrace::trace_id& t) {
    key(f);
    ensure(34);
    *p_++ = '"';
    p_ = agentrace::detail::put_hex64(p_, t.hi);
    p_ = agentrace::detail::put_hex64(p_, t.lo);
    *p_++ = '"';
  }
  void id(const field_desc& f, std::uint64_t span_id) {
    key(f);
    ensure(18);
    *p_++ = '"';
    p_ = agentrace::detail::put_hex64(p_, span_id);
    *p_++ = '"';
  }
  void uint32(const field_desc& f, std::uint32_t v) { number(f, v); }
  void enum_(const field_desc& f, std::uint32_t v) { number(f, v); }
  void fixed32(const field_desc& f, std::uint32_t v) { number(f, v); }
  void int64(const field_desc& f, std::int64_t v) {
    key(f);
    ensure(24);
    *p_++ = '"';
    const fmt::format_int s(v);
    put(s.data(), s.size());
    *p_++ = '"';
  }
  void fixed64(const field_desc& f, std::uint64_t v) {
    key(f);
    ensure(24);
    *p_++ = '"';
    p_ = agentrace::detail::put_uint(p_, v);
    *p_++ = '"';
  }
  void boolean(const field_desc& f, bool v) {
    key(f);
    ensure(5);
    if (v)
      put("true", 4);
    else
      put("false", 5);
  }
  void double_(const field_desc& f, double v) {
    key(f);
    ensure(32);
    p_ = agentrace::detail::put_double(p_, v);
  }

 private:
  void sep() noexcept {
    if (!first_) *p_++ = ',';
    first_ = false;
  }
  void key(const field_desc& f) {
    ensure(f.json.size() + 4);
    sep();
    *p_++ = '"';
    put(f.json.data(), f.json.size());
    *p_++ = '"';
    *p_++ = ':';
  }
  void open(char c) {
    ensure(1);
    *p_++ = c;
    first_ = true;
  }
  void close(char c) {
    ensure(1);
    *p_++ = c;
    first_ = false;
  }
  void number(const field_desc& f, std::uint64_t v) {
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

  void begin_request() {}
  void end_request() {}
  void begin(const field_desc& f, std::size_t placeholder = 1) { open(f, placeholder); }
  void end() { close(); }
  void begin_array(const field_desc&) {}
  void end_array() {}
  /// `placeholder`: bytes reserved for the length (moved when it needs another size).
  void begin_item(const field_desc& f, std::size_t placeholder = 1) { open(f, placeholder); }
  void end_item() { close(); }

  void string(const field_desc& f, std::string_view s, std::uint32_t max_code_points = 0) {
    if (max_code_points) s = s.substr(0, agentrace::detail::code_point_prefix(s, max_code_points));
    bool ascii = true;
    for (const char c : s) ascii &= static_cast<unsigned char>(c) < 0x80;
    if (ascii) {
      ensure(12 + s.size());
      tag(f);
      varint(s.size());
      put(s.data(), s.size());
      return;
    }
    const std::size_t n = agentrace::detail::utf8_sanitized_size(s);
    ensure(12 + n);
    tag(f);
    varint(n);
    p_ = agentrace::detail::put_utf8(p_, s);
  }
  void id(const field_desc& f, const agentrace::trace_id& t) {
    ensure(18);
    tag(f);
    *p_++ = 16;
    big_endian(t.hi);
    big_endian(t.lo);
  }
  void id(const field_desc& f, std::uint64_t span_id) {
    ensure(10);
    tag(f);
    *p_++ = 8;
    big_endian(span_id);
  }
  void uint32(const field_desc& f, std::uint32_t v) { scalar(f, v); }
  void enum_(const field_desc& f, std::uint32_t v) { scalar(f, v); }
  void int64(const field_desc& f, std::int64_t v) { scalar(f, static_cast<std::uint64_t>(v)); }
  void boolean(const field_desc& f, bool v) { scalar(f, v ? 1 : 0); }
  void fixed32(const field_desc& f, std::uint32_t v) {
    ensure(6);
    tag(f);
    little_endian(v);
  }
  void fixed64(const field_desc& f, std::uint64_t v) {
    ensure(10);
    tag(f);
    little_endian(v);
  }
  void double_(const field_desc& f, double v) { fixed64(f, std::bit_cast<std::uint64_t>(v)); }

  static constexpr std::size_t varint_size(std::uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
      v >>= 7;
      ++n;
    }
    return n;
  }

 private:
  void tag(const field_desc& f) noexcept {
    const std::uint32_t t = f.tag();
    if (t < 0x80) {
      *p_++ = static_cast<char>(t);
    } else {  // field numbers up to 2047 (every OTLP field)
      *p_++ = static_cast<char>((t & 0x7f) | 0x80);
      *p_++ = static_cast<char>(t >> 7);
    }
  }
  void varint(std::uint64_t v) noexcept {
    while (v >= 0x80) {
      *p_++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void scalar(const field_desc& f, std::uint64_t v) {
    ensure(12);
    tag(f);
    varint(v);
  }
  template <class T>
  void little_endian(T v) noexcept {
    if constexpr (std::endian::native == std::endian::big) v = byteswap(v);
    put(&v, sizeof v);
  }
  void big_endian(std::uint64_t v) noexcept {
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

  void open(const field_desc& f, std::size_t placeholder) {
    ensure(2 + placeholder);
    tag(f);
    p_ += placeholder;
    stack_[depth_++] = {static_cast<std::uint32_t>(offset()), static_cast<std::uint8_t>(placeholder)};
  }
  void close() {
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

/// The value of an inline attribute slot of a span record.
template <class W>
void write_slot_value(W& w, const agentrace::detail::attr_slot& s, std::uint32_t max_len) {
  using agentrace::detail::slot_type;
  switch (s.type()) {
    case slot_type::boolean: w.boolean(any_value::bool_value, s.as_bool()); break;
    case slot_type::int64: w.int64(any_value::int_value, s.as_int()); break;
    case slot_type::float64: w.double_(any_value::double_value, s.as_double()); break;
    case slot_type::static_str:
    case slot_type::owned_str: w.string(any_value::string_value, s.as_string(), max_len); break;
  }
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

}  // namespace agentrace::otlp

AGENTRACE_DETAIL_VISIBILITY_END
