// SPDX-License-Identifier: MIT
// Database client spans shaped by the OpenTelemetry database conventions, and the small SQL
// reader behind them: the operation and tables of a SQL text, its summary, and the text with its
// literals replaced by `?`.
//
//   agentrace::db_span q({.system = "sqlite", .namespace_ = "shop"});
//   q.query("SELECT * FROM orders WHERE id = 42");   // name "SELECT orders", text "... id = ?"
//   q.returned_rows(1);
#pragma once

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrace/detail/ascii.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/genai/content.hpp"
#include "agentrace/genai/spans.hpp"
#include "agentrace/semconv/semconv.hpp"
#include "agentrace/span.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// What a SQL text is about: the operation, the tables it names, and the low-cardinality
/// summary the conventions use as span name ("SELECT orders customers").
struct sql_info {
  std::string operation{};            // SELECT, INSERT, ... (upper case)
  std::vector<std::string> tables{};  // in order of appearance, without duplicates
  std::string summary{};
};

namespace detail {
inline constexpr span_site site_db{"db", span_kind::client, "", 0, ""};

struct sql_token {
  enum kind_t : std::uint8_t { word, quoted_ident, string_lit, number, punct } kind;
  std::string_view text;
  std::size_t begin;
};

/// A small SQL tokenizer (comments skipped): enough for summaries and sanitizing.
inline std::vector<sql_token> sql_tokens(std::string_view s) {
  std::vector<sql_token> out;
  const std::size_t n = s.size();
  std::size_t i = 0;
  auto ident = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; };
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      const std::size_t e = s.find("*/", i + 2);
      i = e == std::string_view::npos ? n : e + 2;
    } else if (c == '\'') {
      std::size_t j = i + 1;
      while (j < n) {
        if (s[j] == '\'') {
          if (j + 1 < n && s[j + 1] == '\'') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      const std::size_t e = j < n ? j + 1 : n;
      out.push_back({sql_token::string_lit, s.substr(i, e - i), i});
      i = e;
    } else if (c == '"' || c == '`' || c == '[') {
      const char close = c == '[' ? ']' : static_cast<char>(c);
      const std::size_t j = s.find(close, i + 1);
      const std::size_t e = j == std::string_view::npos ? n : j + 1;
      out.push_back({sql_token::quoted_ident, s.substr(i, e - i), i});
      i = e;
    } else if (std::isdigit(c) ||
               (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      std::size_t j = i;
      if (c == '0' && j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X')) j += 2;
      while (j < n && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' ||
                       ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
        ++j;
      out.push_back({sql_token::number, s.substr(i, j - i), i});
      i = j;
    } else if (ident(c)) {
      std::size_t j = i;
      while (j < n && ident(static_cast<unsigned char>(s[j]))) ++j;
      out.push_back({sql_token::word, s.substr(i, j - i), i});
      i = j;
    } else {
      out.push_back({sql_token::punct, s.substr(i, 1), i});
      ++i;
    }
  }
  return out;
}

inline bool word_is(const sql_token& t, std::string_view w) {
  return t.kind == sql_token::word && iequals(t.text, w);
}
}  // namespace detail

/// Reads the operation and the tables out of a SQL text (no full parse: keywords FROM, JOIN,
/// INTO, UPDATE, TABLE introduce table names).
inline sql_info parse_sql(std::string_view sql) {
  using detail::sql_token;
  using detail::word_is;
  sql_info info;
  const auto toks = detail::sql_tokens(sql);
  std::size_t i = 0;
  if (!toks.empty() && toks[0].kind == sql_token::word) {
    if (word_is(toks[0], "WITH")) {
      // The statement after the CTEs: the first DML keyword at parenthesis depth 0.
      int depth = 0;
      for (std::size_t k = 1; k < toks.size(); ++k) {
        if (toks[k].kind == sql_token::punct)
          depth += toks[k].text == "(" ? 1 : toks[k].text == ")" ? -1 : 0;
        if (depth == 0 && (word_is(toks[k], "SELECT") || word_is(toks[k], "INSERT") ||
                           word_is(toks[k], "UPDATE") || word_is(toks[k], "DELETE"))) {
          info.operation = detail::to_upper(toks[k].text);
          break;
        }
      }
    } else {
      info.operation = detail::to_upper(toks[0].text);
    }
  }
  auto add_table = [&](std::string_view name) {
    std::string t(name);
    if (t.size() >= 2 && (t.front() == '"' || t.front() == '`' || t.front() == '['))
      t = t.substr(1, t.size() - 2);
    if (t.empty()) return;
    if (std::find(info.tables.begin(), info.tables.end(), t) == info.tables.end())
      info.tables.push_back(std::move(t));
  };
  // A (possibly schema-qualified) name starting at token k; returns the index after it.
  auto name_at = [&](std::size_t k) -> std::size_t {
    if (k >= toks.size()) return k;
    if (toks[k].kind != sql_token::word && toks[k].kind != sql_token::quoted_ident) return k;
    std::size_t e = k + 1;
    std::string_view last = toks[k].text;
    while (e + 1 < toks.size() && toks[e].text == "." &&
           (toks[e + 1].kind == sql_token::word || toks[e + 1].kind == sql_token::quoted_ident)) {
      last = toks[e + 1].text;
      e += 2;
    }
    const std::size_t b = toks[k].begin;
    const std::size_t len = toks[e - 1].begin + last.size() - b;
    add_table(e == k + 1 ? toks[k].text : sql.substr(b, len));
    return e;
  };
  static constexpr std::string_view not_tables[] = {"SELECT", "WITH", "VALUES", "LATERAL",
                                                    "ONLY",   "IF",   "NOT",    "EXISTS"};
  auto is_reserved = [&](const sql_token& t) {
    for (auto w : not_tables)
      if (word_is(t, w)) return true;
    return false;
  };
  for (; i < toks.size(); ++i) {
    const sql_token& t = toks[i];
    const bool intro = word_is(t, "FROM") || word_is(t, "JOIN") || word_is(t, "INTO") ||
                       word_is(t, "UPDATE") || word_is(t, "TABLE");
    if (!intro) continue;
    std::size_t k = i + 1;
    while (k < toks.size() && is_reserved(toks[k]) && !word_is(toks[k], "SELECT")) ++k;
    if (k >= toks.size() || toks[k].text == "(" || word_is(toks[k], "SELECT")) continue;
    std::size_t e = name_at(k);
    // FROM a x, b y: more tables after commas (aliases skipped).
    if (word_is(t, "FROM")) {
      while (e < toks.size()) {
        std::size_t a = e;
        if (a < toks.size() && word_is(toks[a], "AS")) ++a;
        if (a < toks.size() && toks[a].kind == sql_token::word && !word_is(toks[a], "WHERE") &&
            !word_is(toks[a], "JOIN") && !word_is(toks[a], "INNER") && !word_is(toks[a], "LEFT") &&
            !word_is(toks[a], "GROUP") && !word_is(toks[a], "ORDER") && !word_is(toks[a], "LIMIT"))
          ++a;
        if (a < toks.size() && toks[a].text == ",") {
          e = name_at(a + 1);
          if (e == a + 1) break;
        } else {
          break;
        }
      }
    }
    i = e > i ? e - 1 : i;
  }
  info.summary = info.operation;
  for (const auto& t : info.tables) {
    if (info.summary.size() + 1 + t.size() > 255) break;
    if (!info.summary.empty()) info.summary.push_back(' ');
    info.summary += t;
  }
  return info;
}

/// The SQL text with its literals (strings, numbers) replaced by `?`, as the conventions ask for
/// a non-parameterized db.query.text. Comments are removed.
inline std::string sanitize_sql(std::string_view sql) {
  using detail::sql_token;
  std::string out;
  out.reserve(sql.size());
  const auto toks = detail::sql_tokens(sql);
  std::size_t prev_end = 0;
  for (const auto& t : toks) {
    // Keep the whitespace between tokens (one space where a comment was).
    if (t.begin > prev_end) {
      std::string_view gap = sql.substr(prev_end, t.begin - prev_end);
      const bool comment =
          gap.find("--") != std::string_view::npos || gap.find("/*") != std::string_view::npos;
      if (comment)
        out.push_back(' ');
      else
        out.append(gap);
    }
    if (t.kind == sql_token::string_lit || t.kind == sql_token::number)
      out.push_back('?');
    else
      out.append(t.text);
    prev_end = t.begin + t.text.size();
  }
  return out;
}

/// Options of a database client span.
struct db_options {
  genai::string_arg system{};         // db.system.name (required): sqlite, postgresql, ...
  genai::string_arg namespace_{};     // db.namespace: the database name
  genai::string_arg collection{};     // db.collection.name (single table)
  genai::string_arg operation{};      // db.operation.name: SELECT ...
  genai::string_arg query_summary{};  // db.query.summary; the span name when set
  genai::string_arg server_address{};
  std::int64_t server_port = 0;
};

/// A database call, kind CLIENT, named as the database conventions say: `{db.query.summary}`,
/// else `{db.operation.name} {target}` (target: collection, else namespace, else server), else
/// `{db.system.name}`. query() fills what the options left out from the SQL text itself.
class db_span : public genai::genai_span {
 public:
  explicit db_span(const db_options& o) : genai_span(&detail::site_db) { init(o); }
  db_span(const db_options& o, const span_context& parent) : genai_span(&detail::site_db, parent) {
    init(o);
  }

  /// Records the query: db.query.text (sanitized unless `sanitized` is false, for parameterized
  /// text), and operation / collection / summary derived from it when the options had none.
  db_span& query(std::string_view sql, bool sanitize = true) {
    if (!is_recording()) return *this;
    sql_info info = parse_sql(sql);
    if (sanitize)
      set(semconv::db::query_text, sanitize_sql(sql));
    else
      set(semconv::db::query_text, sql);
    if (operation_.empty() && !info.operation.empty()) {
      operation_ = info.operation;
      set(semconv::db::operation_name, info.operation);
    }
    if (collection_.empty() && info.tables.size() == 1) {
      collection_ = target_ = info.tables[0];
      set(semconv::db::collection_name, info.tables[0]);
    }
    if (!has_summary_ && !info.summary.empty()) {
      has_summary_ = true;
      set(semconv::db::query_summary, info.summary);
      set_name(std::move(info.summary));
    } else if (!has_summary_) {
      rename();
    }
    return *this;
  }
  /// db.response.returned_rows.
  db_span& returned_rows(std::int64_t n) {
    if (is_recording()) set(semconv::db::response_returned_rows, n);
    return *this;
  }
  /// A failed call: error.type (e.g. "SQLITE_ERROR"), db.response.status_code when given, and
  /// status ERROR with the database's message (redacted: it may echo literals of the query).
  db_span& fail(std::string error_type, std::string message, std::string status_code = {}) {
    if (!is_recording()) return *this;
    if (!status_code.empty()) set(semconv::db::response_status_code, std::move(status_code));
    genai::redact(message);
    genai_span::fail(std::move(error_type), message);
    return *this;
  }

 private:
  void init(const db_options& o) {
    if (!is_recording()) return;
    genai::detail::put(*this, semconv::db::system_name, o.system);
    genai::detail::put(*this, semconv::db::namespace_, o.namespace_);
    genai::detail::put(*this, semconv::db::collection_name, o.collection);
    genai::detail::put(*this, semconv::db::operation_name, o.operation);
    genai::detail::put(*this, semconv::db::query_summary, o.query_summary);
    genai::detail::put_server(*this, o.server_address, o.server_port);
    operation_ = std::string(o.operation.view());
    collection_ = std::string(o.collection.view());
    has_summary_ = !o.query_summary.empty();
    system_ = std::string(o.system.view());
    target_ = !o.collection.empty()       ? std::string(o.collection.view())
              : !o.namespace_.empty()     ? std::string(o.namespace_.view())
              : !o.server_address.empty() ? std::string(o.server_address.view())
                                          : std::string();
    if (has_summary_)
      set_name(std::string(o.query_summary.view()));
    else
      rename();
  }
  void rename() {
    if (!operation_.empty())
      set_name(genai::detail::join_name(operation_, target_));
    else if (!system_.empty())
      set_name(system_);
  }
  std::string operation_, collection_, system_, target_;
  bool has_summary_ = false;
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
