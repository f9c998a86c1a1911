// SPDX-License-Identifier: MIT
// The recursive-descent parser of the query syntax (see agentrace/eval/query.hpp).
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
#include "agentrace/detail/ascii.hpp"
#include "agentrace/eval/query_types.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval::detail {

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
        const std::string lower = agentrace::detail::to_lower(w);
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
    if (agentrace::detail::iequals(w, "true") || agentrace::detail::iequals(w, "false")) {
      v.k = literal::kind::boolean;
      v.boolean = agentrace::detail::iequals(w, "true");
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
    if (bare &&
        (agentrace::detail::iequals(w, "errors") || agentrace::detail::iequals(w, "error"))) {
      a.k = K::errors;
      return push(q, std::move(a));
    }
    const token& next = cur();
    if (next.t == tok::word && agentrace::detail::iequals(next.text, "exists")) {
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
    if (bare && agentrace::detail::iequals(w, "duration")) {
      a.k = K::duration;
      want_time_or_duration(literal::kind::duration,
                            "a duration such as 200ms or a percentile such as p95");
    } else if (bare && agentrace::detail::iequals(w, "start")) {
      a.k = K::start;
      want_time_or_duration(literal::kind::time,
                            "a time (RFC 3339 such as 2026-01-01T00:00:00Z, or Unix ns)");
    } else if (bare && agentrace::detail::iequals(w, "end")) {
      a.k = K::end;
      want_time_or_duration(literal::kind::time,
                            "a time (RFC 3339 such as 2026-01-01T00:00:00Z, or Unix ns)");
    } else if (bare && agentrace::detail::iequals(w, "name")) {
      a.k = K::name;
      a.value.k = literal::kind::string;
      if (ordered) fail(op_tok, "'name' supports =, != and ~ only");
    } else if (bare && agentrace::detail::iequals(w, "status")) {
      a.k = K::status;
      a.value.k = literal::kind::string;
      if (a.op != compare_op::eq && a.op != compare_op::ne)
        fail(op_tok, "'status' supports = and != only");
      if (a.value.text != "ok" && a.value.text != "error" && a.value.text != "unset")
        fail(val_tok, "status is one of unset, ok, error; got '" + a.value.text + "'");
    } else if (bare && agentrace::detail::iequals(w, "kind")) {
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
    } else if (bare && agentrace::detail::iequals(w, "conversation")) {
      a.k = K::conversation;
      a.value.k = literal::kind::string;
      if (a.op != compare_op::eq && a.op != compare_op::ne && a.op != compare_op::contains)
        fail(op_tok, "'conversation' supports =, != and ~ only");
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

}  // namespace agentrace::eval::detail

namespace agentrace::eval {

inline query query::parse(std::string_view text) { return detail::query_parser(text).parse(); }

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
