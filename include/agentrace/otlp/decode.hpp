// SPDX-License-Identifier: MIT
// What an OTLP/HTTP client reads from answers: partial_success of an Export*ServiceResponse and
// the message of a google.rpc.Status, from a JSON or a protobuf body whatever the Content-Type
// says (some receivers answer JSON to protobuf requests). A body that is neither gives nullopt.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/otlp/fields.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::otlp {

/// Export*PartialSuccess: rejected spans / data points / log records, and the message.
struct partial_success_info {
  std::uint64_t rejected = 0;
  std::string message;
};

/// google.rpc.Status: the receiver's code and message.
struct status_info {
  std::int64_t code = 0;
  std::string message;
};

namespace detail {

/// Reads the top-level fields of one protobuf message. next() is false at the end or on a
/// malformed message (then ok() is false).
class proto_reader {
 public:
  explicit proto_reader(std::string_view b) noexcept : p_(b.data()), end_(b.data() + b.size()) {}

  bool next() noexcept {
    if (p_ == end_) return false;
    std::uint64_t tag = 0;
    if (!varint(tag) || (tag >> 3) == 0) return fail();
    number_ = static_cast<std::uint32_t>(tag >> 3);
    wire_ = static_cast<std::uint8_t>(tag & 7);
    switch (wire_) {
      case 0: return varint(value_) || fail();
      case 1:
        if (end_ - p_ < 8) return fail();
        p_ += 8;
        return true;
      case 5:
        if (end_ - p_ < 4) return fail();
        p_ += 4;
        return true;
      case 2: {
        std::uint64_t n = 0;
        if (!varint(n) || n > static_cast<std::uint64_t>(end_ - p_)) return fail();
        bytes_ = std::string_view(p_, static_cast<std::size_t>(n));
        p_ += n;
        return true;
      }
      default: return fail();  // groups are not used by OTLP
    }
  }
  std::uint32_t number() const noexcept { return number_; }
  std::uint8_t wire() const noexcept { return wire_; }
  std::uint64_t value() const noexcept { return value_; }
  std::string_view bytes() const noexcept { return bytes_; }
  bool ok() const noexcept { return ok_; }

 private:
  bool varint(std::uint64_t& v) noexcept {
    v = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      const auto b = static_cast<unsigned char>(*p_++);
      v |= std::uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) return true;
    }
    return false;
  }
  bool fail() noexcept {
    ok_ = false;
    p_ = end_;
    return false;
  }

  const char* p_;
  const char* end_;
  std::uint32_t number_ = 0;
  std::uint8_t wire_ = 0;
  std::uint64_t value_ = 0;
  std::string_view bytes_{};
  bool ok_ = true;
};

/// The body as a JSON object, or a discarded value.
inline nlohmann::json json_object(std::string_view body) {
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || body[first] != '{')
    return nlohmann::json::value_t::discarded;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return nlohmann::json::value_t::discarded;
  return j;
}

inline std::uint64_t json_count(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer())
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, v.get<std::int64_t>()));
  std::uint64_t n = 0;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    std::from_chars(s.data(), s.data() + s.size(), n);
  }
  return n;
}

}  // namespace detail

/// partial_success of an Export{Trace,Metrics,Logs}ServiceResponse; nullopt when the body has
/// none (full success) or is neither JSON nor protobuf.
inline std::optional<partial_success_info> decode_partial_success(std::string_view body) {
  if (body.empty()) return std::nullopt;
  if (const auto j = detail::json_object(body); !j.is_discarded()) {
    auto ps = j.find(export_trace_response::partial_success.json);
    if (ps == j.end() || !ps->is_object()) return std::nullopt;
    partial_success_info out;
    for (const std::string_view k : {export_trace_partial_success::rejected_spans.json,
                                     export_logs_partial_success::rejected_log_records.json,
                                     std::string_view("rejectedDataPoints")})
      if (auto r = ps->find(k); r != ps->end()) out.rejected = detail::json_count(*r);
    if (auto m = ps->find(export_trace_partial_success::error_message.json);
        m != ps->end() && m->is_string())
      out.message = m->get<std::string>();
    return out;
  }
  detail::proto_reader r(body);
  std::optional<partial_success_info> out;
  while (r.next()) {
    if (r.number() != export_trace_response::partial_success.number || r.wire() != 2) continue;
    partial_success_info ps;
    detail::proto_reader f(r.bytes());
    while (f.next()) {
      if (f.number() == export_trace_partial_success::rejected_spans.number && f.wire() == 0)
        ps.rejected = static_cast<std::int64_t>(f.value()) < 0 ? 0 : f.value();
      else if (f.number() == export_trace_partial_success::error_message.number && f.wire() == 2)
        ps.message = std::string(f.bytes());
    }
    if (!f.ok()) return std::nullopt;
    out = std::move(ps);
  }
  if (!r.ok()) return std::nullopt;
  return out;
}

/// The google.rpc.Status of an error answer (JSON {"code":..,"message":..} or protobuf).
inline std::optional<status_info> decode_status(std::string_view body) {
  if (body.empty()) return std::nullopt;
  if (const auto j = detail::json_object(body); !j.is_discarded()) {
    status_info st;
    if (auto m = j.find(rpc_status::message.json); m != j.end() && m->is_string())
      st.message = m->get<std::string>();
    if (auto c = j.find(rpc_status::code.json); c != j.end() && c->is_number_integer())
      st.code = c->get<std::int64_t>();
    return st;
  }
  detail::proto_reader r(body);
  status_info st;
  bool any = false;
  while (r.next()) {
    if (r.number() == rpc_status::code.number && r.wire() == 0) {
      st.code = static_cast<std::int64_t>(r.value());
      any = true;
    } else if (r.number() == rpc_status::message.number && r.wire() == 2) {
      st.message = std::string(r.bytes());
      any = true;
    }
  }
  if (!r.ok() || !any) return std::nullopt;
  return st;
}

}  // namespace agentrace::otlp

AGENTRACE_DETAIL_VISIBILITY_END
