// SPDX-License-Identifier: MIT
// The HTTP/1.1 peer of the tests: a real server on 127.0.0.1 (an ephemeral port) that answers
// from a script and records every request. Each connection is served by its own thread, with
// keep-alive, so clients that reuse connections and clients that run in parallel both work.
#pragma once

#include <agentrace/detail/ascii.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace test_support {

/// A TCP port on 127.0.0.1 that was free a moment ago (for a server the test starts in another
/// process, which must be told its port before it binds).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof a;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  if (port == 0) throw std::runtime_error("no free port on 127.0.0.1");
  return port;
}

/// One request as the server received it.
struct http_request {
  std::string method, target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  int connection = 0;  // 1 for the first accepted connection, 2 for the next, ...
  std::chrono::steady_clock::time_point arrived{};  // when its head had been read

  /// The value of header `name` (any case), or "" when absent.
  std::string header(std::string_view name) const {
    const auto it = headers.find(agentrace::detail::to_lower(name));
    return it == headers.end() ? std::string() : it->second;
  }
  /// The request line, e.g. "POST /v1/traces HTTP/1.1".
  std::string request_line() const { return method + " " + target + " HTTP/1.1"; }
};

/// One scripted answer.
struct http_reply {
  int status = 200;
  std::string body{};
  std::chrono::milliseconds delay{0};  // before answering
  // A streamed body (server-sent events): written piece by piece, `gap` apart, then the
  // connection is closed (it delimits the body).
  std::vector<std::string> pieces{};
  std::chrono::milliseconds gap{0};
  bool close = false;     // Connection: close after this answer
  std::string headers{};  // extra header lines, each ending in \r\n ("Retry-After: 1\r\n")
};

class http_server {
 public:
  /// Answers with the script in order, the last answer repeating; with no script (and nothing
  /// pushed), every request gets a 500. A black hole listens but never accepts (the kernel
  /// completes the handshake; no answer ever comes).
  explicit http_server(std::vector<http_reply> script = {}, bool black_hole = false)
      : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 16) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("http_server: cannot listen on 127.0.0.1");
    port_ = ntohs(a.sin_port);
    if (!black_hole) acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~http_server() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
    ::close(fd_);
  }
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  int port() const { return port_; }
  /// "http://127.0.0.1:{port}{path}".
  std::string url(std::string_view path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  /// Appends an answer to the script.
  void push(http_reply r) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.push_back(std::move(r));
  }
  std::vector<http_request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int connections() const { return connections_.load(); }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      const int id = ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      workers_.emplace_back([this, c, id] {
        serve(c, id);
        ::close(c);
      });
    }
  }

  // Requests of one connection until the client closes it, a reply closes it, or the server stops.
  void serve(int c, int id) {
    std::string buf;
    for (;;) {
      std::size_t head_end = 0;
      while ((head_end = buf.find("\r\n\r\n")) == std::string::npos)
        if (!read_more(c, buf)) return;
      http_request r = parse_head(std::string_view(buf).substr(0, head_end));
      r.arrived = std::chrono::steady_clock::now();
      r.connection = id;
      const std::string length = r.header("content-length");
      const std::size_t n = length.empty() ? 0 : std::stoul(length);
      buf.erase(0, head_end + 4);
      while (buf.size() < n)
        if (!read_more(c, buf)) return;
      r.body = buf.substr(0, n);
      buf.erase(0, n);
      const http_reply rep = record(std::move(r));
      if (rep.delay.count()) std::this_thread::sleep_for(rep.delay);
      if (!rep.pieces.empty()) {
        write_all(c, "HTTP/1.1 " + std::to_string(rep.status) +
                         " X\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n");
        for (std::size_t i = 0; i < rep.pieces.size(); ++i) {
          if (i) std::this_thread::sleep_for(rep.gap);
          write_all(c, rep.pieces[i]);
        }
        return;
      }
      write_all(
          c, "HTTP/1.1 " + std::to_string(rep.status) + " X\r\nContent-Type: application/json\r\n" +
                 (rep.close ? "Connection: close\r\n" : "") + rep.headers +
                 "Content-Length: " + std::to_string(rep.body.size()) + "\r\n\r\n" + rep.body);
      if (rep.close) return;
    }
  }

  static http_request parse_head(std::string_view head) {
    http_request r;
    std::size_t line_end = head.find("\r\n");
    const std::string_view first = head.substr(0, line_end);
    const std::size_t sp1 = first.find(' ');
    const std::size_t sp2 = first.find(' ', sp1 + 1);
    r.method = std::string(first.substr(0, sp1));
    r.target = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
    while (line_end != std::string_view::npos) {
      const std::size_t next = head.find("\r\n", line_end + 2);
      const std::string_view line =
          head.substr(line_end + 2, next == std::string_view::npos ? std::string_view::npos
                                                                   : next - line_end - 2);
      const std::size_t colon = line.find(':');
      if (colon != std::string_view::npos)
        r.headers[agentrace::detail::to_lower(line.substr(0, colon))] =
            agentrace::detail::trim(line.substr(colon + 1));
      line_end = next;
    }
    return r;
  }

  http_reply record(http_request r) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(std::move(r));
    if (script_.empty()) return {500, R"({"error":{"message":"no reply scripted"}})"};
    const std::size_t i = std::min(next_++, script_.size() - 1);
    return script_[i];
  }

  bool read_more(int c, std::string& buf) const {
    char tmp[65536];
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      const int pr = ::poll(&p, 1, 20);
      if (pr == 0) continue;
      if (pr < 0) return false;
      const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }
  static void write_all(int c, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(c, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<http_reply> script_;
  std::size_t next_ = 0;
  std::vector<http_request> requests_;
};

}  // namespace test_support
