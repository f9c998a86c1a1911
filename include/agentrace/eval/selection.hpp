// SPDX-License-Identifier: MIT
// Query evaluation: whether a span satisfies a predicate, which traces a query selects and why
// (the spans that matched each predicate).
#pragma once

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/conversation.hpp"
#include "agentrace/eval/stats.hpp"
#include "agentrace/eval/trace.hpp"
#include "agentrace/eval/types.hpp"
#include "agentrace/detail/text.hpp"
#include "agentrace/eval/query_types.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

namespace detail {

template <class T>
bool compare_values(const T& a, compare_op o, const T& b) {
  switch (o) {
    case compare_op::eq: return a == b;
    case compare_op::ne: return a != b;
    case compare_op::lt: return a < b;
    case compare_op::le: return a <= b;
    case compare_op::gt: return a > b;
    case compare_op::ge: return a >= b;
    default: return false;
  }
}

inline std::optional<double> to_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const std::string t(s);
  char* end = nullptr;
  const double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return std::nullopt;
  return d;
}

// A scalar attribute value against a literal.
template <class T>
bool scalar_matches(const T& x, compare_op o, const literal& v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (v.k == literal::kind::boolean)
      return compare_values(x, o, v.boolean) && (o == compare_op::eq || o == compare_op::ne);
    if (v.k == literal::kind::string)
      return compare_values(std::string_view(x ? "true" : "false"), o, std::string_view(v.text));
    return false;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    if (v.k == literal::kind::number) {
      if (v.is_integer) return compare_values(x, o, v.integer);
      return compare_values(static_cast<double>(x), o, v.number);
    }
    if (v.k == literal::kind::duration || v.k == literal::kind::time)
      return compare_values(static_cast<double>(x), o, static_cast<double>(v.ns));
    if (v.k == literal::kind::string && (o == compare_op::eq || o == compare_op::ne))
      return compare_values(std::to_string(x), o, v.text);
    return false;
  } else if constexpr (std::is_same_v<T, double>) {
    if (v.k == literal::kind::number) return compare_values(x, o, v.number);
    return false;
  } else {  // string
    if (o == compare_op::contains)
      return v.k == literal::kind::string && x.find(v.text) != std::string::npos;
    if (v.k == literal::kind::number) {
      auto n = to_number(x);
      return n && compare_values(*n, o, v.number);
    }
    if (v.k == literal::kind::boolean)
      return compare_values(std::string_view(x), o, std::string_view(v.boolean ? "true" : "false"));
    return compare_values(std::string_view(x), o, std::string_view(v.text));
  }
}

inline bool value_matches(const attr_value& val, compare_op o, const literal& v) {
  if (o == compare_op::exists) return true;
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return false;
        else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                           std::is_same_v<T, double> || std::is_same_v<T, std::string>)
          return scalar_matches(x, o, v);
        else {
          // Arrays: some element matches (for !=: no element equals).
          if (o == compare_op::ne) {
            for (const auto& e : x)
              if (scalar_matches(static_cast<typename T::value_type>(e), compare_op::eq, v))
                return false;
            return true;
          }
          for (const auto& e : x)
            if (scalar_matches(static_cast<typename T::value_type>(e), o, v)) return true;
          return false;
        }
      },
      val);
}

/// A value in a "why it matched" text: strings unquoted, cut at 80 bytes.
inline std::string short_value(const attr_value& v) {
  return agentrace::detail::value_text(v, quote_strings::no, 80);
}

inline const char* status_text(status_code c) {
  return c == status_code::error ? "error" : c == status_code::ok ? "ok" : "unset";
}
inline const char* kind_text(span_kind k) {
  switch (k) {
    case span_kind::internal: return "internal";
    case span_kind::server: return "server";
    case span_kind::client: return "client";
    case span_kind::producer: return "producer";
    case span_kind::consumer: return "consumer";
  }
  return "internal";
}

}  // namespace detail

/// Where `> pNN` predicates get the percentile of a span name: span statistics (offline, exact)
/// or any object with the same `percentile(name, p)` member (the tail sampler's running
/// quantiles). Holds a pointer: the object must outlive it.
class percentile_source {
 public:
  percentile_source() = default;
  percentile_source(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): "no statistics"
  template <class Source>
    requires requires(const Source& s) {
      { s.percentile(std::string_view{}, 0.0) } -> std::same_as<std::optional<std::uint64_t>>;
    }
  percentile_source(const Source* s)  // NOLINT(google-explicit-constructor): as a span_stats*
      : self_(s), get_(s ? &call<Source> : nullptr) {}

  explicit operator bool() const noexcept { return get_ != nullptr; }
  std::optional<std::uint64_t> percentile(std::string_view name, double p) const {
    return get_ ? get_(self_, name, p) : std::nullopt;
  }

 private:
  template <class Source>
  static std::optional<std::uint64_t> call(const void* self, std::string_view name, double p) {
    return static_cast<const Source*>(self)->percentile(name, p);
  }
  const void* self_ = nullptr;
  std::optional<std::uint64_t> (*get_)(const void*, std::string_view, double) = nullptr;
};

/// Does this span satisfy the predicate? When it does and `why` is given, *why says how
/// ("span \"db.query\" 53995c3f42cd8ad8 took 80.12 ms > p95 45.20 ms").
inline bool atom_matches(const atom& a, const span_data& s, const resource_info* r,
                         percentile_source stats, std::string* why = nullptr) {
  using K = atom::kind;
  // The texts are built by appending (the tail sampler explains every trace it keeps).
  auto span_label = [&]() -> std::string& {  // `span "NAME" SPANID`, into *why
    why->assign("span \"").append(s.name).append("\" ");
    agentrace::detail::append_hex(*why, s.span_id);
    return *why;
  };
  switch (a.k) {
    case K::errors:
      if (s.status != status_code::error) return false;
      if (why) {
        span_label().append(" has status ERROR");
        if (!s.status_message.empty())
          why->append(": ").append(detail::short_value(attr_value{s.status_message}));
      }
      return true;
    case K::status: {
      const bool eq = a.value.text == detail::status_text(s.status);
      const bool m = a.op == compare_op::eq ? eq : !eq;
      if (m && why) span_label().append(" has status ").append(detail::status_text(s.status));
      return m;
    }
    case K::span_kind: {
      const bool eq = a.value.text == detail::kind_text(s.kind);
      const bool m = a.op == compare_op::eq ? eq : !eq;
      if (m && why) span_label().append(" has kind ").append(detail::kind_text(s.kind));
      return m;
    }
    case K::name: {
      const bool m = a.op == compare_op::contains
                         ? s.name.find(a.value.text) != std::string::npos
                         : detail::compare_values(std::string_view(s.name), a.op,
                                                  std::string_view(a.value.text));
      if (m && why) span_label();
      return m;
    }
    case K::named_duration:
      if (s.name != a.subject) return false;
      [[fallthrough]];
    case K::duration: {
      std::uint64_t limit = a.value.ns;
      if (a.value.k == literal::kind::percentile) {
        if (!stats) return false;
        auto p = stats.percentile(s.name, a.value.percentile);
        if (!p) return false;
        limit = *p;
      }
      const bool m = detail::compare_values(s.duration_ns(), a.op, limit);
      if (m && why) {  // the texts only for a match that is explained
        const std::string limit_text = a.value.k == literal::kind::percentile
                                           ? fmt::format("p{} of \"{}\" = {}", a.value.percentile,
                                                         s.name, detail::duration_text(limit))
                                           : detail::format_ns_literal(limit);
        span_label()
            .append(" took ")
            .append(detail::duration_text(s.duration_ns()))
            .append(" (")
            .append(detail::op_text(a.op))
            .append(" ")
            .append(limit_text)
            .append(")");
      }
      return m;
    }
    case K::start:
    case K::end: {
      const std::uint64_t t = a.k == K::start ? s.start_unix_ns : s.end_unix_ns;
      const bool m = detail::compare_values(t, a.op, a.value.ns);
      if (m && why)
        span_label()
            .append(a.k == K::start ? " starts at " : " ends at ")
            .append(std::to_string(t))
            .append(" ns");
      return m;
    }
    case K::conversation: {
      const std::string_view c = conversation_of(s, r);
      if (c.empty()) return false;  // only spans that name a conversation compare
      const bool m = a.op == compare_op::contains
                         ? c.find(a.value.text) != std::string_view::npos
                         : detail::compare_values(c, a.op, std::string_view(a.value.text));
      if (m && why) span_label().append(" is in conversation ").append(c);
      return m;
    }
    case K::attribute:
    case K::resource_attribute: {
      const attr_value* v = nullptr;
      if (a.k == K::attribute)
        v = s.attr(a.subject);
      else if (r)
        v = r->attr(a.subject);
      if (!v || !detail::value_matches(*v, a.op, a.value)) return false;
      if (why)
        span_label()
            .append(a.k == K::resource_attribute ? " has resource " : " has ")
            .append(a.subject)
            .append("=")
            .append(detail::short_value(*v));
      return true;
    }
  }
  return false;
}

namespace detail {
inline bool eval_node(const query::node& n, std::uint64_t mask) {
  switch (n.type) {
    case query::node_type::atom: return (mask >> n.atom) & 1u;
    case query::node_type::negate: return !eval_node(n.kids[0], mask);
    case query::node_type::all:
      for (const auto& k : n.kids)
        if (!eval_node(k, mask)) return false;
      return true;
    case query::node_type::any:
      for (const auto& k : n.kids)
        if (eval_node(k, mask)) return true;
      return false;
  }
  return false;
}
// The text of each predicate of `q` (query::atom_text), by index.
inline std::vector<std::string> atom_texts(const query& q) {
  std::vector<std::string> out;
  out.reserve(q.atoms().size());
  for (const auto& a : q.atoms()) out.push_back(query::atom_text(a));
  return out;
}
// Why a true node is true: for each predicate that makes it true, "its text: its reason".
inline void explain(const query& q, const query::node& n, std::uint64_t mask,
                    const std::vector<std::string>& texts,
                    const std::vector<std::string>& atom_reasons, std::vector<std::string>& out) {
  switch (n.type) {
    case query::node_type::atom: {
      std::string line;
      line.reserve(texts[n.atom].size() + 2 + atom_reasons[n.atom].size());
      line.append(texts[n.atom]).append(": ").append(atom_reasons[n.atom]);
      out.push_back(std::move(line));
      return;
    }
    case query::node_type::negate:
      out.push_back("not " + q.node_to_string(n.kids[0]) + ": the trace does not match it");
      return;
    case query::node_type::all:
      for (const auto& k : n.kids) explain(q, k, mask, texts, atom_reasons, out);
      return;
    case query::node_type::any:
      for (const auto& k : n.kids)
        if (eval_node(k, mask)) return explain(q, k, mask, texts, atom_reasons, out);
      return;
  }
}
}  // namespace detail

/// Streams spans (from the reader or a store) and selects whole traces. Keeps one small entry
/// per trace (a bit per predicate and the first reason of each), never the spans.
class selector {
 public:
  /// `stats` (finished span_stats, or running quantiles) is needed when q.needs_stats(); it
  /// must outlive the selector.
  /// `explain` false: finish() gives no reasons (the selection is the same, and faster).
  explicit selector(query q, percentile_source stats = nullptr, bool explain = true)
      : q_(std::move(q)), stats_(stats), explain_(explain) {
    if (q_.atoms().size() > 64)
      throw std::invalid_argument("a query may have at most 64 predicates");
    if (q_.needs_stats() && !stats_)
      throw std::invalid_argument("this query compares with percentiles: pass span statistics");
    if (explain_) atom_texts_ = detail::atom_texts(q_);
  }

  void add(const span_data& s, const resource_info* r) {
    auto [it, inserted] = index_.try_emplace(s.trace_id, entries_.size());
    if (inserted) entries_.push_back(entry{s.trace_id, 0, {}});
    entry& e = entries_[it->second];
    const auto& atoms = q_.atoms();
    for (std::size_t i = 0; i < atoms.size(); ++i) {
      if ((e.mask >> i) & 1u) continue;
      std::string why;
      if (atom_matches(atoms[i], s, r, stats_, explain_ ? &why : nullptr)) {
        e.mask |= std::uint64_t(1) << i;
        if (!explain_) continue;
        if (e.reasons.size() < atoms.size()) e.reasons.resize(atoms.size());
        e.reasons[i] = std::move(why);
      }
    }
  }
  void add(const read_span& s) { add(s.span, s.resource.get()); }
  /// Every span of `t`, with its resource.
  void add(const trace& t) {
    for (std::size_t i = 0; i < t.spans().size(); ++i) add(t.spans()[i], t.resource(i));
  }

  /// The selected traces in the order they were first seen.
  std::vector<selection> finish() const {
    std::vector<selection> out;
    for (const auto& e : entries_) {
      if (!detail::eval_node(q_.root(), e.mask)) continue;
      selection sel{e.id, {}};
      if (!explain_) {
        out.push_back(std::move(sel));
        continue;
      }
      std::vector<std::string> reasons = e.reasons;
      reasons.resize(q_.atoms().size());
      detail::explain(q_, q_.root(), e.mask, atom_texts_, reasons, sel.reasons);
      out.push_back(std::move(sel));
    }
    return out;
  }
  std::size_t traces_seen() const noexcept { return entries_.size(); }
  /// Forgets every trace seen (keeps the query and the allocations), to select again.
  void clear() noexcept {
    index_.clear();
    entries_.clear();
  }
  const query& get_query() const noexcept { return q_; }

 private:
  struct entry {
    trace_id id;
    std::uint64_t mask;
    std::vector<std::string> reasons;
  };
  query q_;
  percentile_source stats_;
  bool explain_ = true;
  std::vector<std::string> atom_texts_;  // when explaining
  std::unordered_map<trace_id, std::size_t, trace_id_hash> index_;
  std::vector<entry> entries_;
};

/// Whole-trace evaluation: the selection (with reasons) if `t` matches.
inline std::optional<selection> match(const query& q, const trace& t,
                                      percentile_source stats = nullptr) {
  selector sel(q, stats);
  sel.add(t);
  if (t.spans().empty()) return std::nullopt;
  auto out = sel.finish();
  if (out.empty()) return std::nullopt;
  return std::move(out.front());
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
