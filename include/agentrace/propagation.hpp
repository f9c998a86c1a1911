// SPDX-License-Identifier: MIT
// W3C Trace Context across processes: `traceparent` and `tracestate` injected into and extracted
// from any header carrier (a map, a list of pairs, or a getter / setter).
//
// Parsing is strict, as https://www.w3.org/TR/trace-context/ and its test suite require: lowercase
// hex only, all-zero ids and version ff invalid, version 00 exactly 55 characters, higher versions
// parsed by their version-00 prefix; tracestate: at most 32 members, key and value grammar, no
// duplicate keys, several headers combined, anything invalid discards the whole tracestate, and a
// tracestate is never read when the traceparent is invalid. Invalid input yields an invalid
// context (the next span starts a new trace); no input crashes or throws.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "agentrace/context.hpp"
#include "agentrace/detail/ascii.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

inline constexpr std::string_view traceparent_header = "traceparent";
inline constexpr std::string_view tracestate_header = "tracestate";

/// What extract() found.
struct extracted_context {
  /// The remote parent: valid and `remote` when a valid traceparent was present, else invalid.
  span_context context{};
  /// The tracestate that came with it, normalised (members joined by ','); empty when absent,
  /// invalid, or when the traceparent was invalid.
  std::string trace_state{};

  bool valid() const noexcept { return context.valid(); }
  explicit operator bool() const noexcept { return valid(); }
};

namespace detail {

/// Parses lowercase hex digits (uppercase is invalid in traceparent).
inline bool parse_lower_hex(std::string_view s, std::uint64_t& out) noexcept {
  return parse_hex(s, out, hex_case::lower_only);
}

inline bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_keychar(char c) noexcept {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/// tracestate key: `simple-key` = (lcalpha / DIGIT) 0*255 keychar, or the multi-tenant
/// `tenant@system` form with tenant = (lcalpha / DIGIT) 0*240 keychar and
/// system = lcalpha 0*13 keychar, as the W3C test suite checks them.
inline bool valid_trace_state_key(std::string_view k) noexcept {
  const std::size_t at = k.find('@');
  auto run = [](std::string_view s, std::size_t max, bool digit_first) {
    if (s.empty() || s.size() > max) return false;
    if (!(is_lcalpha(s[0]) || (digit_first && is_digit(s[0])))) return false;
    for (char c : s.substr(1))
      if (!is_keychar(c)) return false;
    return true;
  };
  if (at == std::string_view::npos) return run(k, 256, true);
  return run(k.substr(0, at), 241, true) && run(k.substr(at + 1), 14, false);
}

/// tracestate value: 1 to 256 printable ASCII characters except ',' and '=', not ending in a space.
inline bool valid_trace_state_value(std::string_view v) noexcept {
  if (v.empty() || v.size() > 256 || v.back() == ' ') return false;
  for (char c : v)
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  return true;
}

}  // namespace detail

/// Parses a traceparent header value; nullopt when it is invalid. The context is marked remote.
inline std::optional<span_context> parse_traceparent(std::string_view v) noexcept {
  v = detail::trim_view(v);
  if (v.size() < 55) return std::nullopt;
  std::uint64_t version = 0;
  if (!detail::parse_lower_hex(v.substr(0, 2), version) || v[2] != '-') return std::nullopt;
  if (version == 0xff) return std::nullopt;
  // Version 00 is exactly 55 characters; a higher version may carry more fields after a '-'.
  if (version == 0 ? v.size() != 55 : (v.size() > 55 && v[55] != '-')) return std::nullopt;
  span_context ctx;
  std::uint64_t flags = 0;
  if (!detail::parse_lower_hex(v.substr(3, 16), ctx.trace_id.hi) ||
      !detail::parse_lower_hex(v.substr(19, 16), ctx.trace_id.lo) || v[35] != '-' ||
      !detail::parse_lower_hex(v.substr(36, 16), ctx.span_id) || v[52] != '-' ||
      !detail::parse_lower_hex(v.substr(53, 2), flags))
    return std::nullopt;
  if (!ctx.trace_id.valid() || ctx.span_id == 0) return std::nullopt;
  // Keep the flags this specification level defines (sampled, random); others are reserved and
  // must be zero in what we send.
  ctx.flags = static_cast<std::uint8_t>(flags & (flag_sampled | flag_random));
  ctx.remote = true;
  return ctx;
}

/// The traceparent header value of `ctx` (version 00); empty for an invalid context.
inline std::string format_traceparent(const span_context& ctx) {
  if (!ctx.valid()) return {};
  std::string s;
  s.reserve(55);
  s += "00-";
  detail::append_hex(s, ctx.trace_id.hi);
  detail::append_hex(s, ctx.trace_id.lo);
  s.push_back('-');
  detail::append_hex(s, ctx.span_id);
  s.push_back('-');
  const unsigned f = ctx.flags & (flag_sampled | flag_random);
  detail::append_hex_byte(s, static_cast<unsigned char>(f));
  return s;
}

/// Parses a tracestate value (several header fields may be passed joined by ','). Returns the
/// normalised list (members without surrounding whitespace, joined by ','; empty when there are
/// none), or nullopt when it is invalid: more than 32 members, a bad key or value, a duplicate key.
inline std::optional<std::string> parse_tracestate(std::string_view v) {
  std::string out;
  std::vector<std::string_view> keys;
  std::size_t members = 0;
  while (true) {
    const std::size_t comma = v.find(',');
    const std::string_view m = detail::trim_view(v.substr(0, comma));
    if (!m.empty()) {
      if (++members > 32) return std::nullopt;
      const std::size_t eq = m.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      const std::string_view key = m.substr(0, eq), value = m.substr(eq + 1);
      if (!detail::valid_trace_state_key(key) || !detail::valid_trace_state_value(value))
        return std::nullopt;
      for (std::string_view k : keys)
        if (k == key) return std::nullopt;
      keys.push_back(key);
      if (!out.empty()) out.push_back(',');
      out.append(m);
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

/// The value of `key` in a (valid, normalised) tracestate, if present.
inline std::optional<std::string_view> trace_state_get(std::string_view ts, std::string_view key) {
  while (!ts.empty()) {
    const std::size_t comma = ts.find(',');
    const std::string_view m = ts.substr(0, comma);
    const std::size_t eq = m.find('=');
    if (eq != std::string_view::npos && m.substr(0, eq) == key) return m.substr(eq + 1);
    if (comma == std::string_view::npos) break;
    ts.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

/// `ts` with `key=value` as its left-most member (an existing entry for `key` is removed: W3C
/// "modified keys MUST be moved to the beginning"); the right-most members are dropped to keep at
/// most 32. nullopt when key or value are invalid.
inline std::optional<std::string> trace_state_put(std::string_view ts, std::string_view key,
                                                  std::string_view value) {
  if (!detail::valid_trace_state_key(key) || !detail::valid_trace_state_value(value))
    return std::nullopt;
  std::string out;
  out.append(key).push_back('=');
  out.append(value);
  std::size_t members = 1;
  while (!ts.empty() && members < 32) {
    const std::size_t comma = ts.find(',');
    const std::string_view m = ts.substr(0, comma);
    const std::size_t eq = m.find('=');
    if (!m.empty() && !(eq != std::string_view::npos && m.substr(0, eq) == key)) {
      out.push_back(',');
      out.append(m);
      ++members;
    }
    if (comma == std::string_view::npos) break;
    ts.remove_prefix(comma + 1);
  }
  return out;
}

namespace detail {

/// Anything iterable whose elements have `first` (header name) and `second` (value), e.g.
/// std::map, std::unordered_map, std::multimap, std::vector<std::pair<std::string, std::string>>.
template <class C>
concept header_range = requires(const C& c) {
  c.begin();
  c.end();
  {std::string_view(c.begin()->first)};
  {std::string_view(c.begin()->second)};
};

/// A getter: `f("traceparent")` returns the value as something convertible to string_view (empty:
/// absent) or as a std::optional of it.
template <class G>
concept header_getter = std::invocable<const G&, std::string_view> && !header_range<G>;

template <class S>
concept header_setter = std::invocable<S&, std::string_view, std::string_view>;

template <class R>
std::optional<std::string_view> getter_result(const R& r) {
  if constexpr (requires {
                  r.has_value();
                  *r;
                }) {
    if (!r.has_value()) return std::nullopt;
    return std::string_view(*r);
  } else if constexpr (std::is_pointer_v<R>) {
    if (!r) return std::nullopt;
    return std::string_view(r);
  } else {
    std::string_view v(r);
    if (v.empty()) return std::nullopt;
    return v;
  }
}

/// Builds the result from the header values found: one traceparent exactly (two are invalid:
/// W3C test suite), any number of tracestate fields combined in order.
inline extracted_context extract_from(std::size_t n_parent, std::string_view parent,
                                      const std::vector<std::string_view>& states) {
  extracted_context out;
  if (n_parent != 1) return out;
  auto ctx = parse_traceparent(parent);
  if (!ctx) return out;  // MUST NOT parse tracestate then
  out.context = *ctx;
  if (!states.empty()) {
    std::string joined;
    for (std::size_t i = 0; i < states.size(); ++i) {
      if (i) joined.push_back(',');
      joined.append(states[i]);
    }
    if (auto ts = parse_tracestate(joined)) out.trace_state = std::move(*ts);
  }
  return out;
}

}  // namespace detail

/// Extracts the remote parent from a header carrier: a map / multimap / list of (name, value)
/// pairs (names compared case-insensitively), or a getter `(std::string_view name) -> value`.
/// Begin the local span with it: `AGENTRACE_SPAN_CHILD_OF(s, in.context, "handle", server)`.
template <class Carrier>
  requires detail::header_range<Carrier> || detail::header_getter<Carrier> extracted_context
  extract(const Carrier& carrier) {
    try {
      std::size_t n_parent = 0;
      std::string_view parent;
      std::vector<std::string_view> states;
      if constexpr (detail::header_range<Carrier>) {
        for (const auto& h : carrier) {
          const std::string_view name(h.first);
          if (detail::iequals(name, traceparent_header)) {
            ++n_parent;
            parent = std::string_view(h.second);
          } else if (detail::iequals(name, tracestate_header)) {
            states.emplace_back(h.second);
          }
        }
        return detail::extract_from(n_parent, parent, states);
      } else {
        const auto p = carrier(traceparent_header);
        const auto pv = detail::getter_result(p);
        if (pv) {
          n_parent = 1;
          parent = *pv;
        }
        const auto s = carrier(tracestate_header);
        if (auto sv = detail::getter_result(s)) states.push_back(*sv);
        return detail::extract_from(n_parent, parent, states);
      }
    } catch (...) {  // out of memory, or a throwing getter: start a new trace
      return {};
    }
  }

/// Writes `traceparent` (and `tracestate` when `trace_state` is not empty) for `ctx` into a header
/// carrier: a map / list of pairs (existing entries of either name, in any case, are replaced)
/// or a setter `(std::string_view name, std::string_view value)`. Nothing is written for an
/// invalid context. An unsampled context is written with its sampled flag clear.
template <class Carrier>
void inject(Carrier&& carrier, const span_context& ctx, std::string_view trace_state = {}) {
  using C = std::remove_reference_t<Carrier>;
  if (!ctx.valid()) return;
  const std::string tp = format_traceparent(ctx);
  if constexpr (detail::header_setter<C>) {
    carrier(traceparent_header, tp);
    if (!trace_state.empty()) carrier(tracestate_header, trace_state);
  } else {
    static_assert(detail::header_range<C>,
                  "agentrace::inject: the carrier must be a map, a list of pairs or a setter");
    for (auto it = carrier.begin(); it != carrier.end();) {
      const std::string_view name(it->first);
      if (detail::iequals(name, traceparent_header) || detail::iequals(name, tracestate_header))
        it = carrier.erase(it);
      else
        ++it;
    }
    using key_t = std::remove_cvref_t<decltype(carrier.begin()->first)>;
    using value_t = std::remove_cvref_t<decltype(carrier.begin()->second)>;
    auto put = [&](std::string_view k, std::string_view v) {
      if constexpr (requires { carrier.emplace_back(key_t(k), value_t(v)); })
        carrier.emplace_back(key_t(k), value_t(v));
      else
        carrier.emplace(key_t(k), value_t(v));
    };
    put(traceparent_header, tp);
    if (!trace_state.empty()) put(tracestate_header, trace_state);
  }
}

/// inject() of the thread's current context.
template <class Carrier>
void inject(Carrier&& carrier) {
  inject(std::forward<Carrier>(carrier), current_context());
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
