// SPDX-License-Identifier: MIT
// Helpers for the eval tests: temporary files, an agent run that writes fixtures through our own
// exporter, running the CLI, and a fake OpenAI-compatible server on 127.0.0.1 (port 0).
#pragma once

#include <agentrace/agentrace.hpp>
#include <nlohmann/json.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/http_server.hpp"

namespace eval_test {

namespace fs = std::filesystem;

/// A fresh directory under the build tree for one test.
inline fs::path temp_dir(const std::string& name) {
  fs::path p =
      fs::path(AGENTRACE_BINARY_DIR) / "eval-tmp" / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

inline void write_file(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::binary);
  out << content;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l))
    if (!l.empty()) out.push_back(l);
  return out;
}

struct run_result {
  int code = -1;
  std::string out, err;
};

/// Runs a shell command, capturing stdout and stderr.
inline run_result run(const std::string& cmd, const fs::path& dir) {
  const fs::path o = dir / "stdout.txt", e = dir / "stderr.txt";
  const std::string full = cmd + " >" + o.string() + " 2>" + e.string();
  const int st = std::system(full.c_str());
  run_result r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_file(o);
  r.err = read_file(e);
  return r;
}

inline std::string fixture(const std::string& name) {
  return std::string(AGENTRACE_SOURCE_DIR) + "/tests/fixtures/" + name;
}

// ------------------------------------------------------------- agent fixture

namespace keys {
inline constexpr agentrace::key<std::string> op{"gen_ai.operation.name"};
inline constexpr agentrace::key<std::string> model{"gen_ai.request.model"};
inline constexpr agentrace::key<std::int64_t> in_tokens{"gen_ai.usage.input_tokens"};
inline constexpr agentrace::key<std::int64_t> out_tokens{"gen_ai.usage.output_tokens"};
inline constexpr agentrace::key<std::string> input{"gen_ai.input.messages"};
inline constexpr agentrace::key<std::string> output{"gen_ai.output.messages"};
inline constexpr agentrace::key<std::string> system{"gen_ai.system_instructions"};
inline constexpr agentrace::key<std::string> sql{"db.query.text"};
inline constexpr agentrace::key<std::int64_t> rows{"db.response.returned_rows"};
inline constexpr agentrace::key<std::string> task{"app.task"};
}  // namespace keys

inline std::string user_msg(const std::string& text) {
  return R"([{"role":"user","parts":[{"type":"text","content":")" + text + R"("}]}])";
}
inline std::string assistant_msg(const std::string& text) {
  return R"([{"role":"assistant","parts":[{"type":"text","content":")" + text +
         R"("}],"finish_reason":"stop"}])";
}

inline void chat(const std::string& in, const std::string& out, std::int64_t tin, std::int64_t tout,
                 bool fail = false) {
  agentrace::span<"chat gpt-4o", agentrace::span_kind::client> c;
  c.set(keys::op, "chat")
      .set(keys::model, "gpt-4o")
      .set(keys::in_tokens, tin)
      .set(keys::out_tokens, tout);
  c.set(keys::system, R"([{"type":"text","content":"You write SQLite."}])");
  c.set(keys::input, in);
  c.set(keys::output, out);
  if (fail) c.error("model refused");
}

inline void db(const std::string& sql, std::int64_t rows, const char* error = nullptr,
               std::chrono::milliseconds sleep = std::chrono::milliseconds(0)) {
  agentrace::span<"db.query", agentrace::span_kind::client> q;
  q.set(keys::sql, sql);
  if (sleep.count()) std::this_thread::sleep_for(sleep);  // a slow query (duration, not sync)
  if (error)
    q.error(error);
  else
    q.set(keys::rows, rows);
}

/// An agent's run recorded by our own exporter into `path`: 3 tasks.
///  task 1 ok: chat + db.query;
///  task 2: sql.generate fails (db error), then a second sql.generate succeeds (a correction);
///  task 3: 20 fast db.query spans and one slow one (50 ms).
/// Returns the spans as the memory exporter saw them.
inline std::vector<agentrace::span_data> record_agent_run(const std::string& path) {
  auto mem = agentrace::memory();
  {
    auto tracing = agentrace::start({.service_name = "sql-agent",
                                     .exporters = {mem, agentrace::otlp_json_file(path)},
                                     .read_environment = false});
    {
      AGENTRACE_SPAN(t, "agent.task");
      t.set(keys::task, "count orders");
      chat(user_msg("How many orders?"), assistant_msg("SELECT count(*) FROM orders"), 120, 12);
      db("SELECT count(*) FROM orders", 1);
    }
    {
      AGENTRACE_SPAN(t, "agent.task");
      t.set(keys::task, "top customers");
      {
        AGENTRACE_SPAN(g, "sql.generate");
        chat(user_msg("Top customers by revenue?"),
             assistant_msg("SELECT customer, SUM(total) FROM orders"), 300, 20);
        db("SELECT customer, SUM(total) FROM orders", 0, "no such column: total");
        g.error("query failed");
      }
      {
        AGENTRACE_SPAN(g, "sql.generate");
        chat(user_msg("Top customers by revenue? The column total does not exist; use amount."),
             assistant_msg("SELECT customer, SUM(amount) FROM orders GROUP BY customer"), 5000, 25);
        db("SELECT customer, SUM(amount) FROM orders GROUP BY customer", 3);
      }
    }
    {
      AGENTRACE_SPAN(t, "agent.task");
      t.set(keys::task, "scan");
      for (int i = 0; i < 20; ++i) db("SELECT 1", 1);
      db("SELECT * FROM big", 1000, nullptr, std::chrono::milliseconds(50));
    }
    tracing.force_flush();
  }
  return mem->spans();
}

// --------------------------------------------------------- fake LLM server

/// One scripted answer: status, body, delay.
using fake_answer = test_support::http_reply;

/// An OpenAI-compatible chat-completions server on 127.0.0.1 (port 0) answering from a script
/// (the last answer repeats), one answer per connection. Records every request.
class fake_llm : public test_support::http_server {
 public:
  explicit fake_llm(std::vector<fake_answer> script) : http_server(close_each(std::move(script))) {}

  std::string base_url() const { return url("/v1"); }
  /// The request bodies.
  std::vector<std::string> requests() const { return each(&test_support::http_request::body); }
  /// The request lines ("POST /v1/chat/completions HTTP/1.1").
  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (const auto& r : http_server::requests()) out.push_back(r.request_line());
    return out;
  }
  std::vector<std::string> auth_headers() const {
    std::vector<std::string> out;
    for (const auto& r : http_server::requests()) out.push_back(r.header("authorization"));
    return out;
  }
  /// When each request arrived (steady clock), in arrival order.
  std::vector<std::chrono::steady_clock::time_point> arrivals() const {
    std::vector<std::chrono::steady_clock::time_point> out;
    for (const auto& r : http_server::requests()) out.push_back(r.arrived);
    return out;
  }

  /// A chat-completions body whose message content is `content`.
  static std::string completion(const std::string& content, const std::string& id = "chatcmpl-1") {
    nlohmann::json j = {{"id", id},
                        {"object", "chat.completion"},
                        {"model", "judge-1"},
                        {"choices",
                         {{{"index", 0},
                           {"message", {{"role", "assistant"}, {"content", content}}},
                           {"finish_reason", "stop"}}}},
                        {"usage", {{"prompt_tokens", 100}, {"completion_tokens", 20}}}};
    return j.dump();
  }

 private:
  static std::vector<fake_answer> close_each(std::vector<fake_answer> script) {
    for (auto& a : script) a.close = true;
    return script;
  }
  std::vector<std::string> each(std::string test_support::http_request::*field) const {
    std::vector<std::string> out;
    for (const auto& r : http_server::requests()) out.push_back(r.*field);
    return out;
  }
};

}  // namespace eval_test
