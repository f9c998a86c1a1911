// SPDX-License-Identifier: MIT
// The SQL agent's language model: an interface, and the offline model that runs anywhere —
// deterministic rules mapping question patterns to SQL and to answers, with configurable latency
// and a configurable rate of wrong SQL (so that failures and corrections show up in traces).
#pragma once

#include <agentrace/genai.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "databases.hpp"

namespace sql_agent {

struct chat_message {
  std::string role;  // system, user, assistant
  std::string content;
};

/// One model call. `prompt_name` names the prompt template (gen_ai.prompt.name).
struct llm_request {
  agentrace::static_string prompt_name{"unnamed"};
  std::vector<chat_message> messages;  // a system message first, then the conversation
  double temperature = 0.0;
  std::int64_t max_tokens = 512;
  bool stream = false;
};

struct llm_response {
  bool ok = false;
  std::string content;
  std::string id;
  std::string model;
  std::vector<std::string> finish_reasons;
  agentrace::genai::token_usage usage;
  std::string error_type;  // error.type when !ok: HTTP status, "timeout", ...
  std::string error;
};

/// Called with each chunk of a streamed response.
using chunk_fn = std::function<void(std::string_view)>;

/// A chat model. One object per thread (implementations need not be thread-safe).
class llm {
 public:
  virtual ~llm() = default;
  /// gen_ai.provider.name.
  virtual std::string_view provider() const = 0;
  /// gen_ai.request.model.
  virtual const std::string& model() const = 0;
  virtual std::string server_address() const { return {}; }
  virtual std::int64_t server_port() const { return 0; }
  /// True for a model running inside the process (inference span kind INTERNAL).
  virtual bool in_process() const { return false; }
  /// True when complete() streams (calls on_chunk as chunks arrive).
  virtual bool can_stream() const { return false; }
  virtual llm_response complete(const llm_request& req, const chunk_fn& on_chunk) = 0;
};

using llm_factory = std::function<std::unique_ptr<llm>()>;

// ---- deterministic randomness ---------------------------------------------------------------

/// splitmix64: decisions are a pure function of (seed, question, step, attempt), so a run is
/// the same whatever the thread scheduling.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline std::uint64_t hash_text(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}
/// A uniform double in [0,1) from a key.
inline double unit(std::uint64_t key) { return static_cast<double>(mix(key) >> 11) * 0x1.0p-53; }

// ---- the offline model's rules ----------------------------------------------------------------

/// A question pattern with the SQL that answers it and how to word the answer.
struct rule {
  std::string source;
  std::regex pattern;  // matched against the question (case-insensitive)
  std::function<std::string(const std::vector<std::string>&)> sql;
  std::function<std::string(const std::vector<std::string>&, const nlohmann::json&)> answer;
};

namespace detail {
inline std::string cell(const nlohmann::json& rows, std::size_t r = 0, std::size_t c = 0) {
  if (!rows.is_array() || rows.size() <= r || !rows[r].is_array() || rows[r].size() <= c)
    return "nothing";
  const auto& v = rows[r][c];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_float()) {
    const double d = v.get<double>();
    char buf[64];
    if (std::floor(d) == d && std::fabs(d) < 1e15)
      std::snprintf(buf, sizeof buf, "%.0f", d);
    else
      std::snprintf(buf, sizeof buf, "%.2f", d);
    return buf;
  }
  if (v.is_null()) return "nothing";
  return v.dump();
}
inline std::string month_number(const std::string& name) {
  for (std::size_t i = 0; i < std::size(seed_data::months); ++i) {
    std::string m = seed_data::months[i];
    if (m.size() == name.size() && std::equal(m.begin(), m.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%02zu", i + 1);
      return buf;
    }
  }
  return "00";
}
inline std::string sql_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += '\'';
    q += c;
  }
  return q + "'";
}
}  // namespace detail

/// The rules of the offline model (one set per process; std::regex objects are read-only here).
inline const std::vector<rule>& rules() {
  using detail::cell;
  using detail::sql_quote;
  using groups = std::vector<std::string>;
  using rows_t = nlohmann::json;
  const auto flags = std::regex::ECMAScript | std::regex::icase | std::regex::optimize;
  static const std::vector<rule> r = {
      {"shop",
       std::regex(R"(how many customers (?:do we have |are there )?in ([a-z ]+?)\??$)", flags),
       [](const groups& g) {
         return "SELECT COUNT(*) AS customers FROM customers WHERE country = " + sql_quote(g[1]);
       },
       [](const groups& g, const rows_t& rows) {
         return "There are " + cell(rows) + " customers in " + g[1] + ".";
       }},
      {"shop", std::regex(R"(top (\d+) products by revenue)", flags),
       [](const groups& g) {
         return "SELECT p.name, ROUND(SUM(o.quantity * p.price), 2) AS revenue FROM orders o "
                "JOIN products p ON p.id = o.product_id WHERE o.status = 'shipped' "
                "GROUP BY p.name ORDER BY revenue DESC LIMIT " +
                g[1];
       },
       [](const groups& g, const rows_t& rows) {
         std::string s = "The top " + g[1] + " products by revenue are ";
         for (std::size_t i = 0; i < rows.size(); ++i)
           s += (i ? (i + 1 == rows.size() ? " and " : ", ") : "") + cell(rows, i, 0) + " (" +
                cell(rows, i, 1) + ")";
         return s + ".";
       }},
      {"shop", std::regex(R"(how many orders were shipped in ([a-z]+))", flags),
       [](const groups& g) {
         return "SELECT COUNT(*) FROM orders WHERE status = 'shipped' AND "
                "strftime('%m', order_date) = '" +
                detail::month_number(g[1]) + "'";
       },
       [](const groups& g, const rows_t& rows) {
         return cell(rows) + " orders were shipped in " + g[1] + " 2024.";
       }},
      {"shop", std::regex(R"(which customer spent the most)", flags),
       [](const groups&) {
         return std::string(
             "SELECT c.name, ROUND(SUM(o.quantity * p.price), 2) AS spent FROM orders o "
             "JOIN customers c ON c.id = o.customer_id JOIN products p ON p.id = o.product_id "
             "WHERE o.status != 'cancelled' GROUP BY c.id ORDER BY spent DESC LIMIT 1");
       },
       [](const groups&, const rows_t& rows) {
         return cell(rows, 0, 0) + " spent the most: " + cell(rows, 0, 1) + " in total.";
       }},
      {"shop", std::regex(R"(average order value in the ([a-z]+) category)", flags),
       [](const groups& g) {
         return "SELECT ROUND(AVG(o.quantity * p.price), 2) FROM orders o JOIN products p "
                "ON p.id = o.product_id WHERE p.category = " +
                sql_quote(g[1]);
       },
       [](const groups& g, const rows_t& rows) {
         return "The average order value in the " + g[1] + " category is " + cell(rows) + ".";
       }},
      {"hr", std::regex(R"(average salary in (?:the )?([a-z]+))", flags),
       [](const groups& g) {
         return "SELECT ROUND(AVG(e.salary)) FROM employees e JOIN departments d "
                "ON d.id = e.department_id WHERE d.name = " +
                sql_quote(g[1]);
       },
       [](const groups& g, const rows_t& rows) {
         return "The average salary in " + g[1] + " is " + cell(rows) + ".";
       }},
      {"hr", std::regex(R"(which department has the most employees)", flags),
       [](const groups&) {
         return std::string(
             "SELECT d.name, COUNT(*) AS headcount FROM employees e JOIN departments d "
             "ON d.id = e.department_id GROUP BY d.name ORDER BY headcount DESC LIMIT 1");
       },
       [](const groups&, const rows_t& rows) {
         return cell(rows, 0, 0) + " has the most employees (" + cell(rows, 0, 1) + ").";
       }},
      {"hr", std::regex(R"(who was hired most recently)", flags),
       [](const groups&) {
         return std::string(
             "SELECT name, title, hire_date FROM employees ORDER BY hire_date DESC LIMIT 1");
       },
       [](const groups&, const rows_t& rows) {
         return cell(rows, 0, 0) + " (" + cell(rows, 0, 1) + ") was hired most recently, on " +
                cell(rows, 0, 2) + ".";
       }},
      {"hr", std::regex(R"(how many employees earn more than (\d+))", flags),
       [](const groups& g) { return "SELECT COUNT(*) FROM employees WHERE salary > " + g[1]; },
       [](const groups& g, const rows_t& rows) {
         return cell(rows) + " employees earn more than " + g[1] + ".";
       }},
      {"flights", std::regex(R"(cheapest flight from ([a-z]+) to ([a-z]+))", flags),
       [](const groups& g) {
         return "SELECT f.carrier, f.departure, f.price FROM flights f JOIN airports a "
                "ON a.code = f.origin JOIN airports b ON b.code = f.destination WHERE a.city = " +
                sql_quote(g[1]) + " AND b.city = " + sql_quote(g[2]) +
                " AND f.status != 'cancelled' ORDER BY f.price LIMIT 1";
       },
       [](const groups& g, const rows_t& rows) {
         if (rows.empty()) return "There is no flight from " + g[1] + " to " + g[2] + ".";
         return "The cheapest flight from " + g[1] + " to " + g[2] + " is " + cell(rows, 0, 0) +
                " on " + cell(rows, 0, 1) + " for " + cell(rows, 0, 2) + " EUR.";
       }},
      {"flights", std::regex(R"(which carrier has the most delayed flights)", flags),
       [](const groups&) {
         return std::string(
             "SELECT carrier, COUNT(*) AS delayed FROM flights WHERE status = 'delayed' "
             "GROUP BY carrier ORDER BY delayed DESC LIMIT 1");
       },
       [](const groups&, const rows_t& rows) {
         return cell(rows, 0, 0) + " has the most delayed flights (" + cell(rows, 0, 1) + ").";
       }},
      {"flights", std::regex(R"(how many flights leave from ([a-z]+))", flags),
       [](const groups& g) {
         return "SELECT COUNT(*) FROM flights f JOIN airports a ON a.code = f.origin "
                "WHERE a.city = " +
                sql_quote(g[1]);
       },
       [](const groups& g, const rows_t& rows) {
         return cell(rows) + " flights leave from " + g[1] + ".";
       }},
  };
  return r;
}

/// The rule matching `question` and its capture groups, if any.
inline const rule* match_rule(const std::string& question, std::vector<std::string>* groups) {
  for (const auto& r : rules()) {
    std::smatch m;
    if (std::regex_search(question, m, r.pattern)) {
      if (groups) {
        groups->clear();
        for (const auto& g : m) groups->push_back(g.str());
      }
      return &r;
    }
  }
  return nullptr;
}

/// `n` questions drawn from the rules' templates (deterministic for a seed).
inline std::vector<std::string> make_questions(std::size_t n, std::uint64_t seed) {
  using namespace seed_data;
  static constexpr const char* categories[] = {"electronics", "furniture", "grocery", "stationery"};
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = mix(seed * 1000003u + i);
    auto pick = [&](std::uint64_t salt, std::size_t count) {
      return static_cast<std::size_t>(mix(k ^ salt) % count);
    };
    std::string q;
    switch (pick(1, 12)) {
      case 0:
        q = std::string("How many customers do we have in ") +
            countries[pick(2, std::size(countries))] + "?";
        break;
      case 1:
        q = "What are the top " + std::to_string(2 + pick(3, 3)) + " products by revenue?";
        break;
      case 2:
        q = std::string("How many orders were shipped in ") + months[pick(4, 12)] + " 2024?";
        break;
      case 3: q = "Which customer spent the most?"; break;
      case 4:
        q = std::string("What is the average order value in the ") + categories[pick(5, 4)] +
            " category?";
        break;
      case 5:
        q = std::string("What is the average salary in ") +
            departments[pick(6, std::size(departments))] + "?";
        break;
      case 6: q = "Which department has the most employees?"; break;
      case 7: q = "Who was hired most recently?"; break;
      case 8:
        q = "How many employees earn more than " + std::to_string(60000 + 10000 * pick(7, 4)) + "?";
        break;
      case 9: {
        const std::size_t a = pick(8, std::size(airports));
        std::size_t b = pick(9, std::size(airports) - 1);
        if (b >= a) ++b;
        q = std::string("What is the cheapest flight from ") + airports[a].city + " to " +
            airports[b].city + "?";
        break;
      }
      case 10: q = "Which carrier has the most delayed flights?"; break;
      default:
        q = std::string("How many flights leave from ") +
            airports[pick(10, std::size(airports))].city + "?";
    }
    out.push_back(std::move(q));
  }
  return out;
}

/// Turns a correct query into a plausible wrong one (misspelt column or table, or a syntax error).
inline std::string break_sql(const std::string& sql, std::uint64_t key) {
  static const std::pair<const char*, const char*> columns[] = {
      {"country", "contry"},      {"price", "prize"},     {"salary", "salery"},
      {"status", "state"},        {"quantity", "qty"},    {"hire_date", "hired_on"},
      {"order_date", "date"},     {"carrier", "airline"}, {"department_id", "dept_id"},
      {"origin", "from_airport"}, {"category", "kind"}};
  static const std::pair<const char*, const char*> tables[] = {{"orders", "order_lines"},
                                                               {"employees", "staff"},
                                                               {"flights", "flight"},
                                                               {"customers", "customer"},
                                                               {"departments", "department"}};
  auto replace_word = [&](const std::string& from,
                          const std::string& to) -> std::optional<std::string> {
    const std::regex w("\\b" + from + "\\b");
    if (!std::regex_search(sql, w)) return std::nullopt;
    return std::regex_replace(sql, w, to, std::regex_constants::format_first_only);
  };
  const std::uint64_t kind = mix(key) % 3;
  if (kind == 0)
    for (const auto& [from, to] : columns)
      if (auto s = replace_word(from, to)) return *s;
  if (kind <= 1)
    for (const auto& [from, to] : tables) {  // a table after FROM/JOIN (not an alias)
      const std::regex t("\\b(FROM|JOIN) " + std::string(from) + "\\b");
      if (std::regex_search(sql, t))
        return std::regex_replace(sql, t, "$1 " + std::string(to),
                                  std::regex_constants::format_first_only);
    }
  // Syntax error: the model forgot a keyword.
  if (auto s = replace_word("FROM", "FORM")) return *s;
  return "SELEC" + sql.substr(6);
}

/// Options of the offline model.
struct offline_options {
  std::uint64_t seed = 42;
  double wrong_sql_rate = 0.3;                  // first attempts that produce wrong SQL
  std::chrono::milliseconds latency{20};        // mean latency of a call (uniform 0.5x..1.5x)
  std::chrono::milliseconds chunk_interval{3};  // between streamed chunks
  std::string model = "offline-sql-1";
};

/// The offline model: answers route / generate_sql / answer prompts from the rules.
class offline_llm final : public llm {
 public:
  explicit offline_llm(offline_options o = {}) : opt_(std::move(o)) {}

  std::string_view provider() const override { return "agentrace.offline"; }
  const std::string& model() const override { return opt_.model; }
  bool in_process() const override { return true; }
  bool can_stream() const override { return true; }

  llm_response complete(const llm_request& req, const chunk_fn& on_chunk) override {
    llm_response r;
    const std::string question = question_of(req);
    const std::string_view prompt = req.prompt_name.view();
    std::size_t failures = 0;  // earlier wrong SQL in this conversation
    for (const auto& m : req.messages) failures += m.role == "assistant";
    const std::uint64_t key =
        mix(opt_.seed ^ hash_text(question) ^ hash_text(prompt) ^ (failures * 0x100000001b3ull));
    std::vector<std::string> groups;
    const rule* ru = match_rule(question, &groups);
    if (prompt == "route") {
      r.content = ru ? ru->source : route_by_keywords(question);
    } else if (prompt == "generate_sql") {
      if (!ru) {
        r.content = "SELECT 'I do not know how to answer that' AS answer";
      } else {
        r.content = ru->sql(groups);
        // First attempts go wrong at the configured rate, corrections at half of it.
        const double rate = failures == 0 ? opt_.wrong_sql_rate : opt_.wrong_sql_rate / 2;
        if (unit(key ^ 0x5eed) < rate) r.content = break_sql(r.content, key);
      }
    } else if (prompt == "answer") {
      const nlohmann::json rows = rows_of(req);
      r.content = ru ? ru->answer(groups, rows) : "I do not know how to answer that.";
    } else {
      r.content = "I can only route, write SQL and answer.";
    }
    // Latency: uniform in [0.5, 1.5] x the mean; streamed responses spread the rest over chunks.
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
        opt_.latency * (0.5 + unit(key ^ 0x1a7e)));
    std::this_thread::sleep_for(latency);
    if (req.stream && on_chunk) {
      std::size_t pos = 0;
      while (pos < r.content.size()) {
        std::size_t next = r.content.find(' ', pos + 1);
        if (next == std::string::npos) next = r.content.size();
        if (pos) std::this_thread::sleep_for(opt_.chunk_interval);
        on_chunk(std::string_view(r.content).substr(pos, next - pos));
        pos = next;
      }
    }
    r.ok = true;
    r.model = opt_.model;
    r.id = "offline-" + std::to_string(mix(key) % 1000000000);
    r.finish_reasons = {"stop"};
    // Token counts: ~4 characters per token, 4 tokens of framing per message; a retry reuses the
    // cached prefix (system prompt + question).
    std::int64_t in = 0, prefix = 0;
    for (std::size_t i = 0; i < req.messages.size(); ++i) {
      const std::int64_t t = 4 + static_cast<std::int64_t>(req.messages[i].content.size() + 3) / 4;
      in += t;
      if (i < 2) prefix += t;
    }
    r.usage.input_tokens = in;
    r.usage.output_tokens = 1 + static_cast<std::int64_t>(r.content.size() + 3) / 4;
    if (failures > 0) r.usage.cache_read_input_tokens = prefix;
    return r;
  }

 private:
  /// The question: the first user message, or the "Question:" line of an answer prompt.
  static std::string question_of(const llm_request& req) {
    for (const auto& m : req.messages) {
      if (m.role != "user") continue;
      const std::string_view c = m.content;
      if (c.rfind("Question: ", 0) == 0) {
        const std::size_t e = c.find('\n');
        return std::string(
            c.substr(10, e == std::string_view::npos ? std::string_view::npos : e - 10));
      }
      return m.content;
    }
    return {};
  }
  static nlohmann::json rows_of(const llm_request& req) {
    for (const auto& m : req.messages) {
      const std::size_t p = m.content.find("\nRows: ");
      if (m.role == "user" && p != std::string::npos) {
        auto j = nlohmann::json::parse(m.content.substr(p + 7), nullptr, false);
        if (!j.is_discarded()) return j;
      }
    }
    return nlohmann::json::array();
  }
  static std::string route_by_keywords(const std::string& q) {
    std::string l = q;
    for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* w : {"flight", "airport", "carrier"})
      if (l.find(w) != std::string::npos) return "flights";
    for (const char* w : {"salary", "employee", "department", "hired"})
      if (l.find(w) != std::string::npos) return "hr";
    for (const char* w : {"customer", "order", "product", "revenue"})
      if (l.find(w) != std::string::npos) return "shop";
    return "none";
  }

  offline_options opt_;
};

}  // namespace sql_agent
