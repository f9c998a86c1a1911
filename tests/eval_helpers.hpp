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

/// One scripted answer.
struct fake_answer {
  int status = 200;
  std::string body;
  std::chrono::milliseconds delay{0};
  std::string headers{};  // extra header lines, each ending in \r\n (e.g. "Retry-After: 1\r\n")
};

/// An OpenAI-compatible chat-completions server on 127.0.0.1 (port 0) answering from a script
/// (the last answer repeats). Records every request body. One connection at a time per thread.
class fake_llm {
 public:
  explicit fake_llm(std::vector<fake_answer> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("fake_llm: cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~fake_llm() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : workers_) t.join();
  }
  fake_llm(const fake_llm&) = delete;
  fake_llm& operator=(const fake_llm&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::string> paths() const {
    std::lock_guard<std::mutex> lock(mu_);
    return paths_;
  }
  std::vector<std::string> auth_headers() const {
    std::lock_guard<std::mutex> lock(mu_);
    return auth_;
  }
  /// When each request arrived (steady clock), in arrival order.
  std::vector<std::chrono::steady_clock::time_point> arrivals() const {
    std::lock_guard<std::mutex> lock(mu_);
    return arrivals_;
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
  void serve() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        if (stop_) return;
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      workers_.emplace_back([this, c] { handle(c); });
    }
  }
  void handle(int c) {
    std::string buf;
    char tmp[65536];
    std::size_t header_end = std::string::npos, need = 0;
    while (true) {
      const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) {
        ::close(c);
        return;
      }
      buf.append(tmp, static_cast<std::size_t>(n));
      if (header_end == std::string::npos) {
        header_end = buf.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          std::string lower = buf.substr(0, header_end);
          for (auto& ch : lower)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          const auto cl = lower.find("content-length:");
          need = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15));
        }
      }
      if (header_end != std::string::npos && buf.size() >= header_end + 4 + need) break;
    }
    fake_answer ans;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string head = buf.substr(0, header_end);
      paths_.push_back(head.substr(0, head.find("\r\n")));
      std::string lower = head;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      const auto au = lower.find("authorization:");
      auth_.push_back(
          au == std::string::npos ? "" : head.substr(au + 15, head.find("\r\n", au) - au - 15));
      requests_.push_back(buf.substr(header_end + 4, need));
      arrivals_.push_back(std::chrono::steady_clock::now());
      ans = script_[std::min(next_++, script_.size() - 1)];
    }
    if (ans.delay.count()) std::this_thread::sleep_for(ans.delay);
    const std::string reason = ans.status == 200   ? "OK"
                               : ans.status == 429 ? "Too Many Requests"
                               : ans.status == 503 ? "Service Unavailable"
                                                   : "Error";
    const std::string resp = "HTTP/1.1 " + std::to_string(ans.status) + " " + reason +
                             "\r\nContent-Type: application/json\r\nConnection: close\r\n" +
                             ans.headers + "Content-Length: " + std::to_string(ans.body.size()) +
                             "\r\n\r\n" + ans.body;
    ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
    ::close(c);
  }

  std::vector<fake_answer> script_;
  std::size_t next_ = 0;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> workers_;
  mutable std::mutex mu_;
  std::vector<std::string> requests_, paths_, auth_;
  std::vector<std::chrono::steady_clock::time_point> arrivals_;
};

}  // namespace eval_test
