// SPDX-License-Identifier: MIT
// OTLP/HTTP: spans/s delivered end to end to a local `otlp-check receive` (BM_ExportOtlpHttp),
// and the agent-side cost of a span while the exporter keeps retrying against a dead endpoint
// (BM_SpanEmptyDeadCollector, to compare with BM_SpanEmpty in bench/hot_path.cpp).
//
// Both start and stop their own tracing; only one may be active in a process, and hot_path.cpp
// keeps its own running until the process exits once its first benchmark has run. So these are
// registered before the default-priority static initializers of the other files (init_priority),
// which makes Google Benchmark run them first.
#if AGENTRACE_BENCH_HTTP
#include <agentrace/agentrace.hpp>
#include <agentrace/exporters/otlp_http.hpp>
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace {

inline constexpr agentrace::key<std::int64_t> k_tokens{"gen_ai.usage.input_tokens"};
inline constexpr agentrace::key<std::string> k_model{"gen_ai.request.model"};
inline constexpr agentrace::key<double> k_temp{"gen_ai.request.temperature"};
inline constexpr agentrace::key<bool> k_stream{"app.stream"};

// One `otlp-check receive --port 0 -q --no-roundtrip` for the whole run (killed at exit).
class local_receiver {
 public:
  local_receiver() {
    const char* path = std::getenv("OTLP_CHECK");
    std::string exe = path && *path ? path : AGENTRACE_OTLP_CHECK;
    if (::access(exe.c_str(), X_OK) != 0) {
      error_ = "otlp-check not found at " + exe + " (set OTLP_CHECK)";
      return;
    }
    std::vector<std::string> args = {exe, "receive", "--port", "0", "-q", "--no-roundtrip"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    if (::pipe(fds) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    fd_ = fds[0];
    if (rc != 0) {
      error_ = "cannot start otlp-check";
      pid_ = -1;
      return;
    }
    std::string line;
    char c;
    pollfd p{fd_, POLLIN, 0};
    while (line.find('\n') == std::string::npos && ::poll(&p, 1, 60000) > 0 &&
           ::read(fd_, &c, 1) == 1)
      line.push_back(c);
    const std::string prefix = "listening: ";
    if (line.rfind(prefix, 0) != 0) {
      error_ = "otlp-check receive did not start (is node installed?)";
      return;
    }
    url_ = line.substr(prefix.size(), line.size() - prefix.size() - 1);
  }
  ~local_receiver() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  const std::string& url() const { return url_; }
  const std::string& error() const { return error_; }

 private:
  pid_t pid_{-1};
  int fd_{-1};
  std::string url_, error_;
};

local_receiver& receiver() {
  static local_receiver r;
  return r;
}

// An HTTP sink in this process that answers every request 200 at once (one connection at a
// time, kept alive): what the exporter side can deliver when the receiver costs nothing.
class null_peer {
 public:
  null_peer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 4);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/v1/traces";
    std::thread([fd = fd_] { serve(fd); }).detach();  // lives as long as the process
  }
  const std::string& url() const { return url_; }

 private:
  static void serve(int listen_fd) {
    static constexpr std::string_view ok =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    std::string in;
    std::vector<char> buf(1 << 16);
    for (;;) {
      const int c = ::accept(listen_fd, nullptr, nullptr);
      if (c < 0) return;
      in.clear();
      for (;;) {
        const std::size_t end = in.find("\r\n\r\n");
        if (end != std::string::npos) {
          std::size_t length = 0;
          std::string head = in.substr(0, end);
          for (auto& ch : head)
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
          const std::size_t cl = head.find("content-length:");
          if (cl != std::string::npos) length = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
          if (in.size() >= end + 4 + length) {
            in.erase(0, end + 4 + length);
            if (::write(c, ok.data(), ok.size()) < 0) break;
            continue;
          }
        }
        const ssize_t n = ::read(c, buf.data(), buf.size());
        if (n <= 0) break;
        in.append(buf.data(), static_cast<std::size_t>(n));
      }
      ::close(c);
    }
  }
  int fd_{-1};
  std::string url_;
};

// A port on 127.0.0.1 with nothing listening: connections are refused at once.
std::string dead_url() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/v1/traces";
}

// Spans with four attributes, 512 per batch; each iteration ends 512 spans and waits until the
// peer has acknowledged them (force_flush).
void export_to(benchmark::State& state, const std::string& url) {
  if (agentrace::detail::collector_active.load()) {
    state.SkipWithError("tracing already started in this process; run this benchmark first");
    return;
  }
  agentrace::otlp_http_options o;
  o.endpoint = url;
  o.gzip = state.range(0) != 0;
  o.read_environment = false;
  auto exp = agentrace::otlp_http(o);
  auto tracing = agentrace::start({.service_name = "bench",
                                   .exporters = {exp},
                                   .max_export_batch_size = 512,
                                   .read_environment = false});
  std::int64_t i = 0;
  bool ok = true;
  for (auto _ : state) {
    for (int n = 0; n < 512; ++n) {
      AGENTRACE_SPAN(s, "bench.export");
      s.set(k_tokens, ++i).set(k_temp, 0.7).set(k_stream, true).set(k_model, "gpt-4o-mini");
    }
    ok = tracing.force_flush(std::chrono::seconds(30)) && ok;
  }
  tracing.shutdown(std::chrono::seconds(5));
  const auto s = exp->stats();
  if (!ok || s.failures.total() != 0) state.SkipWithError("some spans were not delivered");
  state.SetItemsProcessed(static_cast<std::int64_t>(s.spans_delivered));
  state.counters["bytes_per_span"] =
      s.spans_delivered ? static_cast<double>(s.bytes_sent) / static_cast<double>(s.spans_delivered)
                        : 0;
}

// To `otlp-check receive` (node, validating every request). Arg: 1 = gzip.
void BM_ExportOtlpHttp(benchmark::State& state) {
  if (!receiver().error().empty()) {
    state.SkipWithError(receiver().error().c_str());
    return;
  }
  export_to(state, receiver().url());
}

// To null_peer: the exporter side's own limit. Arg: 1 = gzip.
void BM_ExportOtlpHttpNullPeer(benchmark::State& state) {
  static null_peer peer;
  export_to(state, peer.url());
}

// BM_SpanEmpty's loop, while the only exporter retries against a refused port (default
// backoff and timeout) and drops what its buffer cannot hold.
void BM_SpanEmptyDeadCollector(benchmark::State& state) {
  if (agentrace::detail::collector_active.load()) {
    state.SkipWithError("tracing already started in this process; run this benchmark first");
    return;
  }
  agentrace::otlp_http_options o;
  o.endpoint = dead_url();
  o.read_environment = false;
  auto exp = agentrace::otlp_http(o);
  auto tracing =
      agentrace::start({.service_name = "bench", .exporters = {exp}, .read_environment = false});
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.empty");
    benchmark::DoNotOptimize(s);
  }
  const auto before = exp->stats();
  tracing.shutdown(std::chrono::milliseconds(200));
  state.counters["requests"] = static_cast<double>(before.requests);
  state.counters["dropped_buffer_full"] = static_cast<double>(before.failures.buffer_full);
}

struct registrar {
  registrar() {
    benchmark::RegisterBenchmark("BM_ExportOtlpHttp", BM_ExportOtlpHttp)
        ->Arg(0)
        ->Arg(1)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_ExportOtlpHttpNullPeer", BM_ExportOtlpHttpNullPeer)
        ->Arg(0)
        ->Arg(1)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("BM_SpanEmptyDeadCollector", BM_SpanEmptyDeadCollector);
  }
};
// Runs before the BENCHMARK() registrations of the other files (see the top of the file).
__attribute__((init_priority(60000))) registrar registered;

}  // namespace
#endif  // AGENTRACE_BENCH_HTTP
