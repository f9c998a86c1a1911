// SPDX-License-Identifier: MIT
// Queries that select whole traces, one syntax for the CLI and a C++ builder:
//   errors                          a span has status ERROR
//   db.query > p95                  a span named db.query is slower than the p95 of its name
//   duration > p99                  any span slower than the p99 of its own name
//   "chat gpt-4o" > 2s              a span with that name took longer than 2 s
//   duration > 200ms                any span longer than 200 ms
//   gen_ai.usage.input_tokens > 4000    span attribute predicate (=, !=, <, <=, >, >=, ~ contains)
//   db.query.text exists            the attribute is present
//   resource.service.name = sql-agent   resource attribute predicate
//   name = "SELECT orders"  status = error  kind = client
//   start >= 2026-01-01T00:00:00Z  end < 1767225600000000000   time window (RFC 3339 or Unix ns)
//   a and b, a or b, not a, (a)     combinations (also &&, ||, !)
// Every predicate asks "does some span of the trace satisfy it"; and/or/not combine those
// answers per trace.
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

/// A parsed or built query. Cheap to copy; immutable.
class query {
 public:
  enum class node_type : std::uint8_t { atom, all, any, negate };
  struct node {
    node_type type = node_type::atom;
    std::uint32_t atom = 0;  // index into atoms() for node_type::atom
    std::vector<node> kids;
  };

  /// Parses the query syntax (see the top of this header). Throws query_error.
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
  friend class query_parser;

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

/// The recursive-descent parser behind query::parse.
class query_parser {
 public:
  explicit query_parser(std::string_view text) : text_(text) { lex(); }

  query parse() {
    if (toks_.size() == 1) fail(toks_[0], "empty query: expected a predicate such as 'errors'");
    query q;
    q.root_ = parse_or(q);
    if (cur().t != tok::end)
      fail(cur(), "expected 'and', 'or' or the end of the query, got '" + cur().text + "'");
    return q;
  }

 private:
  enum class tok : std::uint8_t { word, string, lparen, rparen, op, and_, or_, not_, end };
  struct token {
    tok t;
    std::string text;
    std::size_t col;  // 1-based
  };

  [[noreturn]] void fail(const token& t, const std::string& msg) const {
    throw query_error(std::string(text_), t.col, msg);
  }

  void lex() {
    std::size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      const std::size_t col = i + 1;
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (c == '(') {
        toks_.push_back({tok::lparen, "(", col});
        ++i;
      } else if (c == ')') {
        toks_.push_back({tok::rparen, ")", col});
        ++i;
      } else if (c == '"' || c == '\'') {
        std::string s;
        std::size_t j = i + 1;
        bool closed = false;
        while (j < text_.size()) {
          if (text_[j] == '\\' && j + 1 < text_.size()) {
            s += text_[j + 1];
            j += 2;
          } else if (text_[j] == c) {
            closed = true;
            ++j;
            break;
          } else {
            s += text_[j++];
          }
        }
        if (!closed) throw query_error(std::string(text_), col, "unterminated string");
        toks_.push_back({tok::string, s, col});
        i = j;
      } else if (c == '&' || c == '|') {
        if (i + 1 < text_.size() && text_[i + 1] == c) {
          toks_.push_back({c == '&' ? tok::and_ : tok::or_, std::string(2, c), col});
          i += 2;
        } else {
          throw query_error(std::string(text_), col,
                            std::string("unexpected '") + c + "' (use and / or)");
        }
      } else if (c == '=' || c == '!' || c == '<' || c == '>' || c == '~') {
        std::string o(1, c);
        if (i + 1 < text_.size() && text_[i + 1] == '=' && c != '~') o += '=';
        i += o.size();
        if (o == "!")
          toks_.push_back({tok::not_, o, col});
        else
          toks_.push_back({tok::op, o, col});
      } else {
        std::size_t j = i;
        while (j < text_.size() && detail::is_word_char(text_[j])) ++j;
        std::string w(text_.substr(i, j - i));
        std::string lower = w;
        for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower == "and")
          toks_.push_back({tok::and_, w, col});
        else if (lower == "or")
          toks_.push_back({tok::or_, w, col});
        else if (lower == "not")
          toks_.push_back({tok::not_, w, col});
        else
          toks_.push_back({tok::word, w, col});
        i = j;
      }
    }
    toks_.push_back({tok::end, "", text_.size() + 1});
  }

  const token& cur() const { return toks_[pos_]; }
  const token& take() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  query::node parse_or(query& q) {
    query::node first = parse_and(q);
    if (cur().t != tok::or_) return first;
    query::node n;
    n.type = query::node_type::any;
    n.kids.push_back(std::move(first));
    while (cur().t == tok::or_) {
      take();
      n.kids.push_back(parse_and(q));
    }
    return n;
  }
  query::node parse_and(query& q) {
    query::node first = parse_unary(q);
    if (cur().t != tok::and_) return first;
    query::node n;
    n.type = query::node_type::all;
    n.kids.push_back(std::move(first));
    while (cur().t == tok::and_) {
      take();
      n.kids.push_back(parse_unary(q));
    }
    return n;
  }
  query::node parse_unary(query& q) {
    const token& t = cur();
    if (t.t == tok::not_) {
      take();
      query::node n;
      n.type = query::node_type::negate;
      n.kids.push_back(parse_unary(q));
      return n;
    }
    if (t.t == tok::lparen) {
      take();
      query::node inner = parse_or(q);
      if (cur().t != tok::rparen)
        fail(cur(), "expected ')' to close the '(' at column " + std::to_string(t.col));
      take();
      return inner;
    }
    if (t.t == tok::word || t.t == tok::string) return parse_atom(q);
    if (t.t == tok::end) fail(t, "unexpected end of query: expected a predicate");
    fail(t, "expected a predicate, got '" + t.text + "'");
  }

  static bool lower_eq(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
    return true;
  }

  literal parse_value(const token& t) {
    literal v;
    v.text = t.text;
    if (t.t == tok::string) {
      v.k = literal::kind::string;
      return v;
    }
    const std::string& w = t.text;
    if (w.size() > 1 && (w[0] == 'p' || w[0] == 'P') &&
        std::isdigit(static_cast<unsigned char>(w[1]))) {
      char* end = nullptr;
      const double p = std::strtod(w.c_str() + 1, &end);
      if (end == w.c_str() + w.size()) {
        if (!(p > 0 && p <= 100)) fail(t, "percentile must be in (0, 100], got '" + w + "'");
        v.k = literal::kind::percentile;
        v.percentile = p;
        return v;
      }
    }
    if (lower_eq(w, "true") || lower_eq(w, "false")) {
      v.k = literal::kind::boolean;
      v.boolean = lower_eq(w, "true");
      return v;
    }
    if (auto ts = detail::parse_rfc3339(w)) {
      v.k = literal::kind::time;
      v.ns = *ts;
      return v;
    }
    const bool numeric_start = std::isdigit(static_cast<unsigned char>(w[0])) ||
                               ((w[0] == '-' || w[0] == '.') && w.size() > 1);
    if (numeric_start) {
      char* end = nullptr;
      const double d = std::strtod(w.c_str(), &end);
      if (end == w.c_str() + w.size()) {
        v.k = literal::kind::number;
        v.number = d;
        std::int64_t i = 0;
        auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), i);
        if (ec == std::errc() && p == w.data() + w.size()) {
          v.is_integer = true;
          v.integer = i;
        }
        return v;
      }
      if (auto ns = detail::parse_duration(w)) {
        v.k = literal::kind::duration;
        v.ns = *ns;
        return v;
      }
      if (std::isdigit(static_cast<unsigned char>(w[0])) && w.find_first_of("0123456789") == 0 &&
          w.find_first_not_of("0123456789.") != std::string::npos &&
          w.find('-') == std::string::npos)
        fail(t, "'" + w + "' is not a number or a duration (units: ns, us, ms, s, m, h)");
    }
    v.k = literal::kind::string;  // a bare word: gen_ai.request.model = gpt-4o
    return v;
  }

  static bool parse_op(const std::string& s, compare_op& o) {
    if (s == "=" || s == "==")
      o = compare_op::eq;
    else if (s == "!=")
      o = compare_op::ne;
    else if (s == "<")
      o = compare_op::lt;
    else if (s == "<=")
      o = compare_op::le;
    else if (s == ">")
      o = compare_op::gt;
    else if (s == ">=")
      o = compare_op::ge;
    else if (s == "~")
      o = compare_op::contains;
    else
      return false;
    return true;
  }

  query::node parse_atom(query& q) {
    const token subj = take();
    atom a;
    using K = atom::kind;
    const std::string& w = subj.text;
    const bool bare = subj.t == tok::word;
    if (bare && (lower_eq(w, "errors") || lower_eq(w, "error"))) {
      a.k = K::errors;
      return push(q, std::move(a));
    }
    const token& next = cur();
    if (next.t == tok::word && lower_eq(next.text, "exists")) {
      take();
      set_attribute_subject(a, subj);
      a.op = compare_op::exists;
      return push(q, std::move(a));
    }
    if (next.t != tok::op) {
      if (next.t == tok::end)
        fail(next,
             "unexpected end of query: expected an operator (=, !=, <, <=, >, >=, ~) or 'exists' "
             "after '" +
                 w + "'");
      fail(next, "expected an operator (=, !=, <, <=, >, >=, ~) or 'exists' after '" + w +
                     "', got '" + next.text + "'");
    }
    const token op_tok = take();
    if (!parse_op(op_tok.text, a.op)) fail(op_tok, "unknown operator '" + op_tok.text + "'");
    const token val_tok = take();
    if (val_tok.t != tok::word && val_tok.t != tok::string) {
      if (val_tok.t == tok::end)
        fail(val_tok, "unexpected end of query: expected a value after '" + op_tok.text + "'");
      fail(val_tok, "expected a value after '" + op_tok.text + "', got '" + val_tok.text + "'");
    }
    a.value = parse_value(val_tok);
    const auto vk = a.value.k;
    const bool ordered =
        a.op != compare_op::eq && a.op != compare_op::ne && a.op != compare_op::contains;
    auto want_time_or_duration = [&](literal::kind want, const char* what) {
      if (vk == literal::kind::number && a.value.is_integer && a.value.integer >= 0 &&
          want == literal::kind::time) {
        a.value.k = literal::kind::time;
        a.value.ns = static_cast<std::uint64_t>(a.value.integer);
        a.value.text.clear();
        return;
      }
      if (vk != want && !(want == literal::kind::duration && vk == literal::kind::percentile))
        fail(val_tok,
             std::string("'") + w + "' compares with " + what + ", got '" + val_tok.text + "'");
      if (a.op == compare_op::contains) fail(op_tok, "'~' (contains) works on strings only");
    };
    if (bare && lower_eq(w, "duration")) {
      a.k = K::duration;
      want_time_or_duration(literal::kind::duration,
                            "a duration such as 200ms or a percentile such as p95");
    } else if (bare && lower_eq(w, "start")) {
      a.k = K::start;
      want_time_or_duration(literal::kind::time,
                            "a time (RFC 3339 such as 2026-01-01T00:00:00Z, or Unix ns)");
    } else if (bare && lower_eq(w, "end")) {
      a.k = K::end;
      want_time_or_duration(literal::kind::time,
                            "a time (RFC 3339 such as 2026-01-01T00:00:00Z, or Unix ns)");
    } else if (bare && lower_eq(w, "name")) {
      a.k = K::name;
      a.value.k = literal::kind::string;
      if (ordered) fail(op_tok, "'name' supports =, != and ~ only");
    } else if (bare && lower_eq(w, "status")) {
      a.k = K::status;
      a.value.k = literal::kind::string;
      if (a.op != compare_op::eq && a.op != compare_op::ne)
        fail(op_tok, "'status' supports = and != only");
      if (a.value.text != "ok" && a.value.text != "error" && a.value.text != "unset")
        fail(val_tok, "status is one of unset, ok, error; got '" + a.value.text + "'");
    } else if (bare && lower_eq(w, "kind")) {
      a.k = K::span_kind;
      a.value.k = literal::kind::string;
      if (a.op != compare_op::eq && a.op != compare_op::ne)
        fail(op_tok, "'kind' supports = and != only");
      static const char* const kinds[] = {"internal", "server", "client", "producer", "consumer"};
      bool ok = false;
      for (const char* k : kinds) ok = ok || a.value.text == k;
      if (!ok)
        fail(val_tok, "kind is one of internal, server, client, producer, consumer; got '" +
                          a.value.text + "'");
    } else if (vk == literal::kind::duration || vk == literal::kind::percentile) {
      a.k = K::named_duration;  // db.query > p95, "chat gpt-4o" > 2s
      a.subject = w;
      if (a.op == compare_op::contains) fail(op_tok, "'~' (contains) works on strings only");
    } else {
      set_attribute_subject(a, subj);
      if (vk == literal::kind::time) {  // a date-like value compared with an attribute: a string
        a.value.k = literal::kind::string;
      }
    }
    return push(q, std::move(a));
  }

  static void set_attribute_subject(atom& a, const token& subj) {
    constexpr std::string_view res = "resource.";
    if (subj.t == tok::word && subj.text.size() > res.size() &&
        subj.text.compare(0, res.size(), res) == 0) {
      a.k = atom::kind::resource_attribute;
      a.subject = subj.text.substr(res.size());
    } else {
      a.k = atom::kind::attribute;
      a.subject = subj.text;
    }
  }

  static query::node push(query& q, atom a) {
    q.atoms_.push_back(std::move(a));
    query::node n;
    n.type = query::node_type::atom;
    n.atom = static_cast<std::uint32_t>(q.atoms_.size() - 1);
    return n;
  }

  std::string_view text_;
  std::vector<token> toks_;
  std::size_t pos_ = 0;
};

inline query query::parse(std::string_view text) { return query_parser(text).parse(); }

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
    if (k_ == atom::kind::name || k_ == atom::kind::status || k_ == atom::kind::span_kind)
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

}  // namespace q

// ---------------------------------------------------------------- evaluation

namespace detail {

inline std::string ms_text(std::uint64_t ns) {
  return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
}

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

inline std::string short_value(const attr_value& v) {
  std::string s = std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return "";
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>)
          return fmt::format("{}", x);
        else if constexpr (std::is_same_v<T, std::string>)
          return x;
        else {
          std::string out = "[";
          for (std::size_t i = 0; i < x.size(); ++i) {
            if (i) out += ",";
            out += fmt::format("{}", static_cast<typename T::value_type>(x[i]));
          }
          return out + "]";
        }
      },
      v);
  if (s.size() > 80) {
    std::size_t cut = 77;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
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

/// Does this span satisfy the predicate? When it does and `why` is given, *why says how
/// ("span \"db.query\" 53995c3f42cd8ad8 took 80.12 ms > p95 45.20 ms").
inline bool atom_matches(const atom& a, const span_data& s, const resource_info* r,
                         const span_stats* stats, std::string* why = nullptr) {
  using K = atom::kind;
  auto span_label = [&] { return fmt::format("span \"{}\" {}", s.name, to_hex(s.span_id)); };
  switch (a.k) {
    case K::errors:
      if (s.status != status_code::error) return false;
      if (why)
        *why = fmt::format("{} has status ERROR{}{}", span_label(),
                           s.status_message.empty() ? "" : ": ",
                           detail::short_value(attr_value{s.status_message}));
      return true;
    case K::status: {
      const bool eq = a.value.text == detail::status_text(s.status);
      const bool m = a.op == compare_op::eq ? eq : !eq;
      if (m && why)
        *why = fmt::format("{} has status {}", span_label(), detail::status_text(s.status));
      return m;
    }
    case K::span_kind: {
      const bool eq = a.value.text == detail::kind_text(s.kind);
      const bool m = a.op == compare_op::eq ? eq : !eq;
      if (m && why) *why = fmt::format("{} has kind {}", span_label(), detail::kind_text(s.kind));
      return m;
    }
    case K::name: {
      const bool m = a.op == compare_op::contains
                         ? s.name.find(a.value.text) != std::string::npos
                         : detail::compare_values(std::string_view(s.name), a.op,
                                                  std::string_view(a.value.text));
      if (m && why) *why = span_label();
      return m;
    }
    case K::named_duration:
      if (s.name != a.subject) return false;
      [[fallthrough]];
    case K::duration: {
      std::uint64_t limit = a.value.ns;
      std::string limit_text = detail::format_ns_literal(limit);
      if (a.value.k == literal::kind::percentile) {
        if (!stats) return false;
        auto p = stats->percentile(s.name, a.value.percentile);
        if (!p) return false;
        limit = *p;
        limit_text =
            fmt::format("p{} of \"{}\" = {}", a.value.percentile, s.name, detail::ms_text(limit));
      }
      const bool m = detail::compare_values(s.duration_ns(), a.op, limit);
      if (m && why)
        *why = fmt::format("{} took {} ({} {})", span_label(), detail::ms_text(s.duration_ns()),
                           detail::op_text(a.op), limit_text);
      return m;
    }
    case K::start:
    case K::end: {
      const std::uint64_t t = a.k == K::start ? s.start_unix_ns : s.end_unix_ns;
      const bool m = detail::compare_values(t, a.op, a.value.ns);
      if (m && why)
        *why = fmt::format("{} {} at {} ns", span_label(), a.k == K::start ? "starts" : "ends", t);
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
        *why = fmt::format("{} has {}{}={}", span_label(),
                           a.k == K::resource_attribute ? "resource " : "", a.subject,
                           detail::short_value(*v));
      return true;
    }
  }
  return false;
}

/// A selected trace and why it was selected (one line per satisfied predicate).
struct selection {
  trace_id id{};
  std::vector<std::string> reasons;
};

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
// Why a true node is true.
inline void explain(const query& q, const query::node& n, std::uint64_t mask,
                    const std::vector<std::string>& atom_reasons, std::vector<std::string>& out) {
  switch (n.type) {
    case query::node_type::atom:
      out.push_back(query::atom_text(q.atoms()[n.atom]) + ": " + atom_reasons[n.atom]);
      return;
    case query::node_type::negate:
      out.push_back("not " + q.node_to_string(n.kids[0]) + ": the trace does not match it");
      return;
    case query::node_type::all:
      for (const auto& k : n.kids) explain(q, k, mask, atom_reasons, out);
      return;
    case query::node_type::any:
      for (const auto& k : n.kids)
        if (eval_node(k, mask)) return explain(q, k, mask, atom_reasons, out);
      return;
  }
}
}  // namespace detail

/// Streams spans (from the reader or a store) and selects whole traces. Keeps one small entry
/// per trace (a bit per predicate and the first reason of each), never the spans.
class selector {
 public:
  /// `stats` (finished) is needed when q.needs_stats(); it must outlive the selector.
  explicit selector(query q, const span_stats* stats = nullptr) : q_(std::move(q)), stats_(stats) {
    if (q_.atoms().size() > 64)
      throw std::invalid_argument("a query may have at most 64 predicates");
    if (q_.needs_stats() && !stats_)
      throw std::invalid_argument("this query compares with percentiles: pass span statistics");
  }

  void add(const span_data& s, const resource_info* r) {
    auto [it, inserted] = index_.try_emplace(s.trace_id, entries_.size());
    if (inserted) entries_.push_back(entry{s.trace_id, 0, {}});
    entry& e = entries_[it->second];
    const auto& atoms = q_.atoms();
    for (std::size_t i = 0; i < atoms.size(); ++i) {
      if ((e.mask >> i) & 1u) continue;
      std::string why;
      if (atom_matches(atoms[i], s, r, stats_, &why)) {
        e.mask |= std::uint64_t(1) << i;
        if (e.reasons.size() < atoms.size()) e.reasons.resize(atoms.size());
        e.reasons[i] = std::move(why);
      }
    }
  }
  void add(const read_span& s) { add(s.span, s.resource.get()); }

  /// The selected traces in the order they were first seen.
  std::vector<selection> finish() const {
    std::vector<selection> out;
    for (const auto& e : entries_) {
      if (!detail::eval_node(q_.root(), e.mask)) continue;
      selection sel{e.id, {}};
      std::vector<std::string> reasons = e.reasons;
      reasons.resize(q_.atoms().size());
      detail::explain(q_, q_.root(), e.mask, reasons, sel.reasons);
      out.push_back(std::move(sel));
    }
    return out;
  }
  std::size_t traces_seen() const noexcept { return entries_.size(); }
  const query& get_query() const noexcept { return q_; }

 private:
  struct entry {
    trace_id id;
    std::uint64_t mask;
    std::vector<std::string> reasons;
  };
  query q_;
  const span_stats* stats_;
  std::unordered_map<trace_id, std::size_t, trace_id_hash> index_;
  std::vector<entry> entries_;
};

/// Whole-trace evaluation: the selection (with reasons) if `t` matches.
inline std::optional<selection> match(const query& q, const trace& t,
                                      const span_stats* stats = nullptr) {
  selector sel(q, stats);
  for (std::size_t i = 0; i < t.spans().size(); ++i) sel.add(t.spans()[i], t.resource(i));
  if (t.spans().empty()) return std::nullopt;
  auto out = sel.finish();
  if (out.empty()) return std::nullopt;
  return std::move(out.front());
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
