// SPDX-License-Identifier: MIT
// The query types: a predicate (atom), a query combining predicates with and / or / not, its
// canonical text, and the C++ builder (namespace q). The syntax and its parser:
// agentrace/eval/query.hpp, which also defines query::parse.
#pragma once

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
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
#include "agentrace/eval/stats.hpp"
#include "agentrace/eval/trace.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// A query that does not parse: the column (1-based) of the offending token, and what() shows
/// the query with a caret under it.
class query_error : public std::invalid_argument {
 public:
  query_error(std::string text, std::size_t column, std::string message)
      : std::invalid_argument(render(text, column, message)),
        text_(std::move(text)),
        column_(column),
        message_(std::move(message)) {}
  std::size_t column() const noexcept { return column_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& text() const noexcept { return text_; }

 private:
  static std::string render(const std::string& text, std::size_t column, const std::string& msg) {
    std::string caret(column > 0 ? column - 1 : 0, ' ');
    return fmt::format("bad query at column {}: {}\n  {}\n  {}^", column, msg, text, caret);
  }
  std::string text_;
  std::size_t column_;
  std::string message_;
};

enum class compare_op : std::uint8_t { eq, ne, lt, le, gt, ge, exists, contains };

/// The right-hand side of a predicate.
struct literal {
  enum class kind : std::uint8_t { none, number, string, boolean, duration, percentile, time };
  kind k = kind::none;
  double number = 0;
  bool is_integer = false;
  std::int64_t integer = 0;
  std::string text;  // string value, or the literal as written (for messages)
  bool boolean = false;
  std::uint64_t ns = 0;  // duration / time (Unix ns)
  double percentile = 0;
};

/// One predicate over a span.
struct atom {
  enum class kind : std::uint8_t {
    errors,             // status ERROR
    status,             // status op unset|ok|error
    span_kind,          // kind op internal|server|client|producer|consumer
    name,               // span name op string
    duration,           // any span's duration op duration / percentile of its own name
    start,              // span start op time
    end,                // span end op time
    named_duration,     // span named `subject`: duration op duration / percentile
    attribute,          // span attribute `subject` op value (or exists)
    conversation,       // the span's gen_ai.conversation.id (else session.id) op string
    resource_attribute  // resource attribute `subject` op value (or exists)
  };
  kind k = kind::errors;
  std::string subject;
  compare_op op = compare_op::exists;
  literal value;
};

namespace detail {

inline std::string format_ns_literal(std::uint64_t ns) {
  if (ns != 0 && ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns != 0 && ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns != 0 && ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  return fmt::format("{}ns", ns);
}

inline bool is_word_char(char c) {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '(':
    case ')':
    case '!':
    case '=':
    case '<':
    case '>':
    case '~':
    case '"':
    case '\'':
    case '&':
    case '|': return false;
    default: return true;
  }
}

inline std::string quote_if_needed(std::string_view s) {
  bool plain = !s.empty();
  for (char c : s) plain = plain && is_word_char(c);
  static const char* const reserved[] = {"and", "or", "not", "exists", "errors", "error"};
  for (const char* r : reserved) plain = plain && s != r;
  if (plain) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

inline const char* op_text(compare_op o) {
  switch (o) {
    case compare_op::eq: return "=";
    case compare_op::ne: return "!=";
    case compare_op::lt: return "<";
    case compare_op::le: return "<=";
    case compare_op::gt: return ">";
    case compare_op::ge: return ">=";
    case compare_op::exists: return "exists";
    case compare_op::contains: return "~";
  }
  return "?";
}

inline std::string literal_text(const literal& v) {
  switch (v.k) {
    case literal::kind::none: return "";
    case literal::kind::number:
      return v.is_integer ? fmt::format("{}", v.integer) : fmt::format("{}", v.number);
    case literal::kind::string: return quote_if_needed(v.text);
    case literal::kind::boolean: return v.boolean ? "true" : "false";
    case literal::kind::duration: return format_ns_literal(v.ns);
    case literal::kind::percentile: return fmt::format("p{}", v.percentile);
    case literal::kind::time: return v.text.empty() ? fmt::format("{}", v.ns) : v.text;
  }
  return "";
}

// Days from 1970-01-01 for a civil date (Howard Hinnant's algorithm).
inline std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// RFC 3339 (2026-01-01T00:00:00Z, fractional seconds, +hh:mm offsets) -> Unix ns.
inline std::optional<std::uint64_t> parse_rfc3339(std::string_view s) {
  auto num = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, se;
  if (!num(0, 4, y) || s.size() < 19 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' ||
      !num(8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, h) ||
      s[13] != ':' || !num(14, 2, mi) || s[16] != ':' || !num(17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t p = 19;
  std::uint64_t frac = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    std::uint64_t scale = 100'000'000;
    const std::size_t p0 = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      frac += static_cast<std::uint64_t>(s[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
    if (p == p0) return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int oh, om;
    if (!num(p + 1, 2, oh) || p + 3 >= s.size() || s[p + 3] != ':' || !num(p + 4, 2, om))
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[p] == '+' ? 1 : -1);
    p += 6;
  } else {
    return std::nullopt;
  }
  if (p != s.size()) return std::nullopt;
  const std::int64_t secs =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
      mi * 60 + se - offset_s;
  if (secs < 0) return std::nullopt;
  return static_cast<std::uint64_t>(secs) * 1'000'000'000ull + frac;
}

/// "200ms", "1.5s", "250us", "10ns", "2m", "1h" -> ns.
inline std::optional<std::uint64_t> parse_duration(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0 || i == s.size()) return std::nullopt;
  const std::string_view unit = s.substr(i);
  double scale;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us" || unit == "\xC2\xB5s")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m" || unit == "min")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    return std::nullopt;
  const std::string numtext(s.substr(0, i));
  char* end = nullptr;
  const double v = std::strtod(numtext.c_str(), &end);
  if (end != numtext.c_str() + numtext.size()) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(v * scale));
}

}  // namespace detail

namespace detail {
class query_parser;
}  // namespace detail

/// A parsed or built query. Cheap to copy; immutable.
class query {
 public:
  enum class node_type : std::uint8_t { atom, all, any, negate };
  struct node {
    node_type type = node_type::atom;
    std::uint32_t atom = 0;  // index into atoms() for node_type::atom
    std::vector<node> kids;
  };

  /// Parses the query syntax (see agentrace/eval/query.hpp). Throws query_error.
  static query parse(std::string_view text);

  /// One predicate.
  explicit query(atom a) { atoms_.push_back(std::move(a)); }

  const std::vector<atom>& atoms() const noexcept { return atoms_; }
  const node& root() const noexcept { return root_; }
  /// True when a predicate compares with a percentile (statistics must be computed first).
  bool needs_stats() const noexcept {
    for (const auto& a : atoms_)
      if (a.value.k == literal::kind::percentile) return true;
    return false;
  }
  /// The canonical text of the query (parses back to the same query).
  std::string to_string() const { return node_text(root_, 0); }
  /// The canonical text of a sub-expression (parenthesised when compound).
  std::string node_to_string(const node& n) const { return node_text(n, 3); }
  /// The canonical text of one predicate.
  static std::string atom_text(const atom& a) {
    using K = atom::kind;
    switch (a.k) {
      case K::errors: return "errors";
      case K::status:
        return fmt::format("status {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::span_kind:
        return fmt::format("kind {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::name:
        return fmt::format("name {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::duration:
        return fmt::format("duration {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::start:
        return fmt::format("start {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::end:
        return fmt::format("end {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::named_duration:
        return fmt::format("{} {} {}", detail::quote_if_needed(a.subject), detail::op_text(a.op),
                           detail::literal_text(a.value));
      case K::conversation:
        return fmt::format("conversation {} {}", detail::op_text(a.op),
                           detail::literal_text(a.value));
      case K::attribute:
      case K::resource_attribute: {
        const std::string subj = (a.k == K::resource_attribute ? "resource." : "") + a.subject;
        if (a.op == compare_op::exists) return detail::quote_if_needed(subj) + " exists";
        return fmt::format("{} {} {}", detail::quote_if_needed(subj), detail::op_text(a.op),
                           detail::literal_text(a.value));
      }
    }
    return "?";
  }

  friend query operator&&(query a, query b) {
    return combine(std::move(a), std::move(b), node_type::all);
  }
  friend query operator||(query a, query b) {
    return combine(std::move(a), std::move(b), node_type::any);
  }
  friend query operator!(query a) {
    node n;
    n.type = node_type::negate;
    n.kids.push_back(std::move(a.root_));
    a.root_ = std::move(n);
    return a;
  }

 private:
  query() = default;
  friend class detail::query_parser;

  static void shift(node& n, std::uint32_t by) {
    if (n.type == node_type::atom) n.atom += by;
    for (auto& k : n.kids) shift(k, by);
  }
  static query combine(query a, query b, node_type t) {
    shift(b.root_, static_cast<std::uint32_t>(a.atoms_.size()));
    for (auto& x : b.atoms_) a.atoms_.push_back(std::move(x));
    node n;
    n.type = t;
    // Flatten a and (b and c) into one list.
    auto add = [&](node&& k) {
      if (k.type == t)
        for (auto& kk : k.kids) n.kids.push_back(std::move(kk));
      else
        n.kids.push_back(std::move(k));
    };
    add(std::move(a.root_));
    add(std::move(b.root_));
    a.root_ = std::move(n);
    return a;
  }
  // prec: 0 top, 1 inside or, 2 inside and, 3 inside not
  std::string node_text(const node& n, int prec) const {
    switch (n.type) {
      case node_type::atom: return atom_text(atoms_[n.atom]);
      case node_type::negate: return "not " + node_text(n.kids[0], 3);
      case node_type::all:
      case node_type::any: {
        const bool all = n.type == node_type::all;
        std::string s;
        for (std::size_t i = 0; i < n.kids.size(); ++i) {
          if (i) s += all ? " and " : " or ";
          s += node_text(n.kids[i], all ? 2 : 1);
        }
        const int mine = all ? 2 : 1;
        return prec > mine ? "(" + s + ")" : s;
      }
    }
    return "";
  }

  std::vector<atom> atoms_;
  node root_;
};

/// The builder: `q::errors() || (q::span("db.query") > q::p(95))`, `q::attr("k") > 4000`.
namespace q {

struct percentile {
  double value;
};
/// The p-th percentile of the span's own name, for duration comparisons.
inline percentile p(double v) { return {v}; }

inline query errors() { return query(atom{}); }

/// A subject that comparison operators turn into a predicate.
class field {
 public:
  field(atom::kind k, std::string subject) : k_(k), subject_(std::move(subject)) {}

  template <class V>
  query operator==(const V& v) const {
    return make(compare_op::eq, v);
  }
  template <class V>
  query operator!=(const V& v) const {
    return make(compare_op::ne, v);
  }
  template <class V>
  query operator<(const V& v) const {
    return make(compare_op::lt, v);
  }
  template <class V>
  query operator<=(const V& v) const {
    return make(compare_op::le, v);
  }
  template <class V>
  query operator>(const V& v) const {
    return make(compare_op::gt, v);
  }
  template <class V>
  query operator>=(const V& v) const {
    return make(compare_op::ge, v);
  }
  /// The attribute is present.
  query exists() const {
    atom a;
    a.k = k_;
    a.subject = subject_;
    a.op = compare_op::exists;
    return query(std::move(a));
  }
  /// The string value contains `s`.
  query contains(const std::string& s) const { return make(compare_op::contains, s); }

 private:
  template <class V>
  query make(compare_op o, const V& v) const {
    atom a;
    a.k = k_;
    a.subject = subject_;
    a.op = o;
    a.value = to_literal(v);
    if (k_ == atom::kind::name || k_ == atom::kind::status || k_ == atom::kind::span_kind ||
        k_ == atom::kind::conversation)
      a.value.k = literal::kind::string;
    return query(std::move(a));
  }
  static literal to_literal(const percentile& p) {
    literal l;
    l.k = literal::kind::percentile;
    l.percentile = p.value;
    return l;
  }
  template <class Rep, class Period>
  static literal to_literal(const std::chrono::duration<Rep, Period>& d) {
    literal l;
    l.k = literal::kind::duration;
    l.ns =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
    return l;
  }
  template <class Clock, class Dur>
  static literal to_literal(const std::chrono::time_point<Clock, Dur>& t) {
    literal l;
    l.k = literal::kind::time;
    l.ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
    return l;
  }
  static literal to_literal(bool b) {
    literal l;
    l.k = literal::kind::boolean;
    l.boolean = b;
    return l;
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  static literal to_literal(T v) {
    literal l;
    l.k = literal::kind::number;
    l.number = static_cast<double>(v);
    if constexpr (std::is_integral_v<T>) {
      l.is_integer = true;
      l.integer = static_cast<std::int64_t>(v);
    }
    return l;
  }
  static literal to_literal(std::string_view s) {
    literal l;
    l.k = literal::kind::string;
    l.text = std::string(s);
    return l;
  }
  static literal to_literal(const std::string& s) { return to_literal(std::string_view(s)); }
  static literal to_literal(const char* s) { return to_literal(std::string_view(s)); }

  atom::kind k_;
  std::string subject_;
};

/// A span attribute.
inline field attr(std::string key) { return field(atom::kind::attribute, std::move(key)); }
/// A resource attribute.
inline field resource(std::string key) {
  return field(atom::kind::resource_attribute, std::move(key));
}
/// The duration of spans named `name` (compare with a std::chrono duration or q::p(95)).
inline field span(std::string name) { return field(atom::kind::named_duration, std::move(name)); }
/// Any span's duration (a percentile compares each span with its own name's).
inline field duration() { return field(atom::kind::duration, {}); }
inline field start() { return field(atom::kind::start, {}); }
inline field end() { return field(atom::kind::end, {}); }
inline field name() { return field(atom::kind::name, {}); }
inline field status() { return field(atom::kind::status, {}); }
inline field kind() { return field(atom::kind::span_kind, {}); }
/// The conversation a span belongs to (gen_ai.conversation.id, else session.id).
inline field conversation() { return field(atom::kind::conversation, {}); }

}  // namespace q

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
