// SPDX-License-Identifier: MIT
// OTLP/HTTP exporter: option parsing (unit), and export against a real receiver on loopback
// (`otlp-check receive`, which validates every body and injects faults) or a raw socket peer.
#include <agentrace/agentrace.hpp>
#include <agentrace/event.hpp>
#include <agentrace/exporters/otlp_http.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/http_server.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

long long ms_since(steady::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
}

// A file name in the build tree, removed when the test process exits.
std::string temp_path(const std::string& stem) {
  struct registry {
    std::mutex mu;
    std::vector<std::string> paths;
    ~registry() {
      for (const auto& p : paths) std::remove(p.c_str());
    }
  };
  static registry r;
  static std::atomic<int> n{0};
  std::string p = std::string(AGENTRACE_BINARY_DIR) + "/otlp_http_test_" +
                  std::to_string(::getpid()) + "_" + std::to_string(n++) + "_" + stem;
  std::lock_guard<std::mutex> lock(r.mu);
  r.paths.push_back(p);
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A free TCP port on 127.0.0.1 (bound, then released), for a receiver started later.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string traces_url(int port) {
  return "http://127.0.0.1:" + std::to_string(port) + "/v1/traces";
}

// `otlp-check receive --port P --out FILE ARGS...` (or another server printing the same first
// line), killed (SIGTERM) at the end of the test.
class receiver {
 public:
  explicit receiver(std::vector<std::string> args, int port = 0)
      : out_(temp_path("received.jsonl")), log_(temp_path("receiver.log")) {
    std::vector<std::string> argv_s = {AGENTRACE_OTLP_CHECK, "receive", "--port",
                                       std::to_string(port), "--out",   out_};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    spawn(argv_s);
  }
  struct command_t {};
  receiver(command_t, std::vector<std::string> argv_s)
      : out_(temp_path("unused.jsonl")), log_(temp_path("server.log")) {
    spawn(argv_s);
  }
  ~receiver() { stop(); }
  receiver(const receiver&) = delete;
  receiver& operator=(const receiver&) = delete;

 private:
  void spawn(std::vector<std::string>& argv_s) {
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addopen(&fa, 2, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    stdout_fd_ = fds[0];
    // The first line is "listening: http://127.0.0.1:PORT/v1/traces" (npm may install first).
    const std::string line = read_line(60s);
    const std::string prefix = "listening: ";
    INFO("receiver said: " << line << "\nlog: " << read_file(log_));
    REQUIRE(line.rfind(prefix, 0) == 0);
    url_ = line.substr(prefix.size());
  }

 public:
  const std::string& url() const { return url_; }

  // Stops it (SIGTERM) and returns its summary line "received: X ok, Y rejected, ...".
  std::string stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      summary_ = read_line(10s);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
      ::close(stdout_fd_);
    }
    return summary_;
  }

  // Span ids of every accepted request, in arrival order (duplicates kept).
  std::vector<std::string> span_ids() const {
    std::vector<std::string> ids;
    std::ifstream in(out_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line);
      if (!j.contains("resourceSpans") && j.contains("resourceMetrics")) continue;
      for (const auto& rs : j.at("resourceSpans"))
        for (const auto& ss : rs.at("scopeSpans"))
          for (const auto& s : ss.at("spans")) ids.push_back(s.at("spanId").get<std::string>());
    }
    return ids;
  }
  std::size_t out_bytes() const { return read_file(out_).size(); }
  const std::string& out_path() const { return out_; }
  std::string log() const { return read_file(log_); }

 private:
  std::string read_line(std::chrono::milliseconds timeout) {
    const auto deadline = steady::now() + timeout;
    for (;;) {
      const std::size_t nl = buffered_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffered_.substr(0, nl);
        buffered_.erase(0, nl + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      if (left.count() <= 0) return buffered_;
      pollfd p{stdout_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[512];
      const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
      if (n <= 0) return buffered_;
      buffered_.append(buf, static_cast<std::size_t>(n));
    }
  }

  std::string out_, log_, url_, buffered_, summary_;
  pid_t pid_{-1};
  int stdout_fd_{-1};
};

// The OTLP/HTTP peer: the shared test server answering every request with `status` + `body`, or
// a black hole that never accepts (the kernel completes the handshake).
struct raw_server : test_support::http_server {
  explicit raw_server(int status = 200, std::string body = R"({"partialSuccess":{}})",
                      bool black_hole = false)
      : http_server({{status, std::move(body)}}, black_hole) {}
  std::string url() const { return traces_url(port()); }
};

// stderr of this process, redirected into a file while alive.
class stderr_capture {
 public:
  stderr_capture() : path_(temp_path("stderr.txt")) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~stderr_capture() {
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
  }
  std::string text() const {
    std::fflush(stderr);
    return read_file(path_);
  }

 private:
  std::string path_;
  int saved_{-1};
};

std::size_t count_of(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

using agentrace::otlp::encoding;

// Exporter options for tests: explicit endpoint, small backoffs, no environment.
agentrace::otlp_http_options test_options(const std::string& url,
                                          encoding enc = encoding::protobuf) {
  agentrace::otlp_http_options o;
  o.endpoint = url;
  o.protocol = enc;
  o.read_environment = false;
  o.timeout = 10s;
  o.initial_backoff = 20ms;
  o.max_backoff = 200ms;
  return o;
}

// Tracing with `exp` only; batches of `batch` spans, exported when full or flushed.
agentrace::tracing start_with(agentrace::exporter_ptr exp, std::size_t batch = 10) {
  return agentrace::start({.service_name = "otlp-http-test",
                           .exporters = {std::move(exp)},
                           .max_export_batch_size = batch,
                           .schedule_delay = 60s,
                           .read_environment = false});
}

// Ends n spans on this thread; returns their span ids (hex).
std::vector<std::string> emit(std::size_t n) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) {
    AGENTRACE_SPAN(s, "test.span");
    ids.push_back(agentrace::to_hex(s.context().span_id));
  }
  return ids;
}

void require_exactly_once(std::vector<std::string> got, std::vector<std::string> want) {
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  REQUIRE(got.size() == want.size());
  CHECK(got == want);
}

const char* protocol_name(encoding e) {
  return e == encoding::protobuf ? "http/protobuf" : "http/json";
}

// Runs the test case once per OTLP/HTTP encoding (`enc`).
#define FOR_BOTH_ENCODINGS                                           \
  const encoding enc = GENERATE(encoding::protobuf, encoding::json); \
  INFO("encoding: " << protocol_name(enc))

struct env_guard {
  explicit env_guard(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const auto& [k, v] : vars) {
      names.emplace_back(k);
      ::setenv(k, v, 1);
    }
  }
  ~env_guard() {
    for (const auto& n : names) ::unsetenv(n.c_str());
  }
  std::vector<std::string> names;
};

}  // namespace

// ---------------------------------------------------------------- unit: options and parsing

TEST_CASE(
    "otlp_http: endpoint from code, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "
    "OTEL_EXPORTER_OTLP_ENDPOINT") {
  using agentrace::detail::resolve_otlp_http_options;
  agentrace::otlp_http_options o;
  CHECK(resolve_otlp_http_options(o).endpoint == "http://localhost:4318/v1/traces");
  {
    env_guard e{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}};
    CHECK(resolve_otlp_http_options(o).endpoint == "http://collector:4318/v1/traces");
  }
  {
    env_guard e{{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://gw.example.com/otlp/"}};
    CHECK(resolve_otlp_http_options(o).endpoint == "https://gw.example.com/otlp/v1/traces");
  }
  {
    env_guard e{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
                {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://other:9999/custom/path"}};
    CHECK(resolve_otlp_http_options(o).endpoint == "http://other:9999/custom/path");
    o.endpoint = "http://code:1/x";  // code wins
    CHECK(resolve_otlp_http_options(o).endpoint == "http://code:1/x");
    o.endpoint.clear();
    o.read_environment = false;
    CHECK(resolve_otlp_http_options(o).endpoint == "http://localhost:4318/v1/traces");
    o.read_environment = true;
  }
  {
    env_guard e{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://other:9999"}};  // no path: "/"
    CHECK(resolve_otlp_http_options(o).endpoint == "http://other:9999/");
  }
  {
    env_guard e{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://nope"},
                {"OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"}};
    stderr_capture cap;
    CHECK(resolve_otlp_http_options(o).endpoint == "http://localhost:4318/v1/traces");
    CHECK(cap.text().find("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != std::string::npos);
  }
  CHECK(agentrace::detail::redact_url("https://user:pa55@host:1/v1/traces?key=abc#f") ==
        "https://host:1/v1/traces");
  CHECK(agentrace::detail::redact_url("http://host/p@th") == "http://host/p@th");
}

TEST_CASE("otlp_http: headers from OTEL_EXPORTER_OTLP_[TRACES_]HEADERS, percent-decoded") {
  using agentrace::detail::resolve_otlp_http_options;
  env_guard e{{"OTEL_EXPORTER_OTLP_HEADERS",
               "Authorization=Bearer%20abc%2Cdef, x-tenant = t1 ,X-Both=general"},
              {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-both=traces"}};
  agentrace::otlp_http_options o;
  o.headers = {{"X-Code", "c"}, {"x-tenant", "from-code"}};
  const auto r = resolve_otlp_http_options(o);
  const agentrace::http::header_list want = {{"Authorization", "Bearer abc,def"},
                                             {"x-tenant", "from-code"},
                                             {"X-Both", "traces"},
                                             {"X-Code", "c"}};
  CHECK(r.headers == want);

  SECTION("malformed lists are ignored and reported without their values") {
    env_guard bad{{"OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%zzsecret-value"},
                  {"OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                   "x-ok=1,X-Bad%0D%0AInjected=evil-value,"
                   "x-crlf=a%0D%0Ab-secret"}};
    stderr_capture cap;
    const auto r2 = resolve_otlp_http_options({});
    const agentrace::http::header_list want2 = {{"x-ok", "1"}};
    CHECK(r2.headers == want2);
    const std::string err = cap.text();
    CHECK(err.find("OTEL_EXPORTER_OTLP_HEADERS is malformed") != std::string::npos);
    CHECK(err.find("x-crlf") != std::string::npos);
    CHECK(err.find("secret-value") == std::string::npos);
    CHECK(err.find("b-secret") == std::string::npos);
    CHECK(err.find("evil-value") == std::string::npos);
  }
}

TEST_CASE("otlp_http: timeout, compression, TLS files and protocol from the environment") {
  using agentrace::detail::resolve_otlp_http_options;
  {
    const auto r = resolve_otlp_http_options({});
    CHECK(*r.timeout == 10000ms);
    CHECK(*r.gzip == false);
    CHECK(r.tls.ca_file.empty());
  }
  {
    env_guard e{{"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
                {"OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"},
                {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "/etc/traces-ca.pem"},
                {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/client.pem"},
                {"OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/client.key"}};
    auto r = resolve_otlp_http_options({});
    CHECK(*r.timeout == 2500ms);
    CHECK(*r.gzip);
    CHECK(r.tls.ca_file == "/etc/traces-ca.pem");
    CHECK(r.tls.client_cert_file == "/etc/client.pem");
    CHECK(r.tls.client_key_file == "/etc/client.key");
    env_guard e2{{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0"},
                 {"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none"}};
    r = resolve_otlp_http_options({});
    CHECK(*r.timeout == 0ms);  // no limit
    CHECK_FALSE(*r.gzip);
    agentrace::otlp_http_options code;
    code.timeout = 123ms;
    code.gzip = true;
    r = resolve_otlp_http_options(code);
    CHECK(*r.timeout == 123ms);
    CHECK(*r.gzip);
  }
  {
    env_guard e{{"OTEL_EXPORTER_OTLP_TIMEOUT", "-5"},
                {"OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"},
                {"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}};
    stderr_capture cap;
    const auto r = resolve_otlp_http_options({});
    CHECK(*r.timeout == 10000ms);
    CHECK_FALSE(*r.gzip);
    CHECK(*r.protocol == encoding::protobuf);  // grpc: reported, the default used
    const std::string err = cap.text();
    CHECK(err.find("OTEL_EXPORTER_OTLP_TIMEOUT") != std::string::npos);
    CHECK(err.find("zstd") != std::string::npos);
    CHECK(err.find("OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not supported") != std::string::npos);
  }
  {
    CHECK(*resolve_otlp_http_options({}).protocol == encoding::protobuf);  // the default
    env_guard e{{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}};
    CHECK(*resolve_otlp_http_options({}).protocol == encoding::json);
    env_guard e2{{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"}};
    CHECK(*resolve_otlp_http_options({}).protocol == encoding::protobuf);  // the signal's wins
    agentrace::otlp_http_options logs;
    logs.signal = agentrace::otlp_signal::logs;
    CHECK(*resolve_otlp_http_options(logs).protocol == encoding::json);  // TRACES_ is not for logs
    env_guard e3{{"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "http/protobuf"},
                 {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}};
    const auto r = resolve_otlp_http_options(logs);
    CHECK(*r.protocol == encoding::protobuf);
    CHECK(r.endpoint == "http://collector:4318/v1/logs");
    agentrace::otlp_http_options code;
    code.protocol = encoding::json;
    CHECK(*resolve_otlp_http_options(code).protocol == encoding::json);  // code wins
  }
}

TEST_CASE("otlp_http: Retry-After as delay-seconds or HTTP-date") {
  using agentrace::detail::parse_retry_after;
  // 2015-10-21 07:28:00 UTC
  const auto now = std::chrono::system_clock::from_time_t(1445412480);
  CHECK(parse_retry_after("120", now) == 120000ms);
  CHECK(parse_retry_after(" 0 ", now) == 0ms);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now) == 30000ms);      // IMF-fixdate
  CHECK(parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now) == 60000ms);  // RFC 850
  CHECK(parse_retry_after("Wed Oct 21 07:28:05 2015", now) == 5000ms);            // asctime
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == 0ms);          // past
  CHECK_FALSE(parse_retry_after("", now));
  CHECK_FALSE(parse_retry_after("-1", now));
  CHECK_FALSE(parse_retry_after("1.5", now));
  CHECK_FALSE(parse_retry_after("soon", now));
  CHECK(parse_retry_after("99999999999999999999999", now) ==
        std::chrono::milliseconds(86400000ll * 365));
}

TEST_CASE("otlp_http: backoff grows exponentially, with jitter, up to the maximum") {
  using agentrace::detail::backoff_delay;
  const std::uint64_t lo = 0, hi = ~std::uint64_t{0};
  CHECK(backoff_delay(1, 100ms, 5000ms, 2.0, lo) == 50ms);
  CHECK(backoff_delay(1, 100ms, 5000ms, 2.0, hi) == 100ms);
  CHECK(backoff_delay(3, 100ms, 5000ms, 2.0, hi) == 400ms);
  CHECK(backoff_delay(3, 100ms, 5000ms, 2.0, lo) == 200ms);
  CHECK(backoff_delay(20, 100ms, 5000ms, 2.0, hi) == 5000ms);
  CHECK(backoff_delay(20, 100ms, 5000ms, 2.0, lo) == 2500ms);
  agentrace::detail::id_generator g;
  std::set<long long> seen;
  for (int i = 0; i < 50; ++i) {
    const auto d = backoff_delay(2, 100ms, 5000ms, 2.0, g.next());
    CHECK(d >= 100ms);
    CHECK(d <= 200ms);
    seen.insert(d.count());
  }
  CHECK(seen.size() > 10);  // jittered
  CHECK(agentrace::detail::otlp_retryable_status(429));
  CHECK(agentrace::detail::otlp_retryable_status(503));
  CHECK_FALSE(agentrace::detail::otlp_retryable_status(400));
  CHECK_FALSE(agentrace::detail::otlp_retryable_status(500));
  CHECK_FALSE(agentrace::detail::otlp_retryable_status(501));
}

TEST_CASE(
    "otlp_http: OTEL_TRACES_EXPORTER and OTEL_LOGS_EXPORTER default to otlp when the OTLP/HTTP "
    "exporter is linked in") {
  ::unsetenv("OTEL_TRACES_EXPORTER");
  ::unsetenv("OTEL_LOGS_EXPORTER");
  ::unsetenv("AGENTRACE_OTLP_FILE");
  auto names = [] {
    std::vector<std::string> n;
    for (const auto& e : agentrace::exporters_from_env()) n.emplace_back(e->name());
    return n;
  };
  CHECK(names() == std::vector<std::string>{"otlp/http", "otlp/http/logs"});
  {
    env_guard e{{"OTEL_TRACES_EXPORTER", "none"}, {"OTEL_LOGS_EXPORTER", "none"}};
    CHECK(names().empty());
  }
  {
    env_guard e{{"OTEL_TRACES_EXPORTER", "none"}};
    CHECK(names() == std::vector<std::string>{"otlp/http/logs"});
  }
  {
    env_guard e{{"OTEL_TRACES_EXPORTER", "console,otlp"},
                {"OTEL_LOGS_EXPORTER", "none"},
                {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"}};
    CHECK(names() == std::vector<std::string>{"console", "otlp/http"});
    auto exps = agentrace::exporters_from_env();
    auto* h = dynamic_cast<agentrace::otlp_http_exporter*>(exps[1].get());
    REQUIRE(h);
    CHECK(h->options().endpoint == "http://127.0.0.1:1/v1/traces");
  }
  {
    env_guard e{{"OTEL_TRACES_EXPORTER", "none"},
                {"OTEL_LOGS_EXPORTER", "otlp,console"},
                {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1"}};
    auto exps = agentrace::exporters_from_env();
    REQUIRE(exps.size() == 2);
    auto* h = dynamic_cast<agentrace::otlp_http_exporter*>(exps[0].get());
    REQUIRE(h);
    CHECK(h->options().endpoint == "http://127.0.0.1:1/v1/logs");
    CHECK(exps[1]->name() == "console");
  }
  {
    env_guard e{{"OTEL_LOGS_EXPORTER", "zipkin"}};
    stderr_capture cap;
    CHECK(names() == std::vector<std::string>{"otlp/http"});
    CHECK(cap.text().find("OTEL_LOGS_EXPORTER names 'zipkin'") != std::string::npos);
  }
  {
    const std::string path = temp_path("file.jsonl");
    env_guard e{{"AGENTRACE_OTLP_FILE", path.c_str()}, {"OTEL_LOGS_EXPORTER", "none"}};
    CHECK(names() == std::vector<std::string>{"otlp/file"});
  }
}

// ---------------------------------------------------------------- against a real receiver

TEST_CASE("otlp_http: spans from several threads arrive exactly once") {
  receiver rx({});
  auto exp = agentrace::otlp_http(test_options(rx.url()));
  auto tracing = start_with(exp, 64);
  std::mutex mu;
  std::vector<std::string> want;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      auto ids = emit(250);
      std::lock_guard<std::mutex> lock(mu);
      want.insert(want.end(), ids.begin(), ids.end());
    });
  for (auto& t : threads) t.join();
  REQUIRE(tracing.force_flush(20s));
  const auto s = exp->stats();
  CHECK(s.spans_delivered == 1000);
  CHECK(s.retries == 0);
  CHECK(s.failures.total() == 0);
  CHECK(s.requests == s.batches_delivered);
  tracing.shutdown();
  const std::string summary = rx.stop();
  INFO(rx.log());
  CHECK(summary.find("0 rejected, 0 injected-faults, spans: 1000") != std::string::npos);
  require_exactly_once(rx.span_ids(), want);
}

TEST_CASE("otlp_http: 503 with Retry-After (seconds) is retried after the wait it asks for") {
  FOR_BOTH_ENCODINGS;
  receiver rx({"--fail-first", "2", "--status", "503", "--retry-after", "1"});
  auto exp = agentrace::otlp_http(test_options(rx.url(), enc));  // own backoff: 20 ms
  auto tracing = start_with(exp);
  const auto want = emit(10);
  const auto t0 = steady::now();
  REQUIRE(tracing.force_flush(20s));
  CHECK(ms_since(t0) >= 1950);  // two waits of 1 s
  const auto s = exp->stats();
  CHECK(s.requests == 3);
  CHECK(s.retries == 2);
  CHECK(s.spans_delivered == 10);
  CHECK(rx.stop().find("1 ok, 0 rejected, 2 injected-faults") != std::string::npos);
  require_exactly_once(rx.span_ids(), want);
}

TEST_CASE("otlp_http: Retry-After as an HTTP-date is honoured") {
  FOR_BOTH_ENCODINGS;
  // Far enough ahead that starting the receiver on a loaded machine leaves the first attempt
  // well before the date.
  const std::time_t when = std::time(nullptr) + 5;
  char date[64];
  std::tm tm{};
  ::gmtime_r(&when, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  receiver rx({"--fail-first", "1", "--status", "429", "--retry-after", date});
  auto exp = agentrace::otlp_http(test_options(rx.url(), enc));  // own backoff: 20 ms
  auto tracing = start_with(exp);
  const auto want = emit(10);
  // The first attempt comes well before the date, the retry not before it.
  REQUIRE(std::chrono::system_clock::now() + 500ms < std::chrono::system_clock::from_time_t(when));
  REQUIRE(tracing.force_flush(20s));
  CHECK(std::chrono::system_clock::now() >= std::chrono::system_clock::from_time_t(when));
  CHECK(exp->stats().retries == 1);
  rx.stop();
  require_exactly_once(rx.span_ids(), want);
}

TEST_CASE("otlp_http: 429 without Retry-After is retried with exponential backoff") {
  FOR_BOTH_ENCODINGS;
  receiver rx({"--fail-first", "3", "--status", "429"});
  auto o = test_options(rx.url(), enc);
  o.initial_backoff = 40ms;
  o.max_backoff = 1000ms;
  auto exp = agentrace::otlp_http(o);
  auto tracing = start_with(exp);
  const auto want = emit(10);
  const auto t0 = steady::now();
  REQUIRE(tracing.force_flush(20s));
  // Waits of at least 20 + 40 + 80 ms (each is random in [d/2, d], d = 40, 80, 160 ms).
  CHECK(ms_since(t0) >= 140);
  const auto s = exp->stats();
  CHECK(s.retries == 3);
  CHECK(s.requests == 4);
  CHECK(rx.stop().find("1 ok, 0 rejected, 3 injected-faults") != std::string::npos);
  require_exactly_once(rx.span_ids(), want);
}

TEST_CASE("otlp_http: connections dropped without an answer are retried") {
  FOR_BOTH_ENCODINGS;
  receiver rx({"--drop-connection-first", "2"});
  auto exp = agentrace::otlp_http(test_options(rx.url(), enc));
  auto tracing = start_with(exp);
  const auto want = emit(25);  // batches of 10, 10, 5
  REQUIRE(tracing.force_flush(20s));
  const auto s = exp->stats();
  CHECK(s.retries == 2);
  CHECK(s.spans_delivered == 25);
  CHECK(s.failures.total() == 0);
  CHECK(rx.stop().find("3 ok, 0 rejected, 2 injected-faults") != std::string::npos);
  require_exactly_once(rx.span_ids(), want);
}

TEST_CASE("otlp_http: 400 and other non-retryable answers are counted, never retried") {
  FOR_BOTH_ENCODINGS;
  const int status = GENERATE(400, 500, 413);
  receiver rx({"--fail-first", "1", "--status", std::to_string(status)});
  auto exp = agentrace::otlp_http(test_options(rx.url(), enc));
  auto tracing = start_with(exp);
  emit(10);
  CHECK_FALSE(tracing.force_flush(20s));  // the batch failed
  const auto want = emit(10);
  CHECK(tracing.force_flush(20s));
  const auto s = exp->stats();
  CHECK(s.requests == 2);
  CHECK(s.retries == 0);
  CHECK(s.failures.rejected == 10);
  CHECK(s.failures.total() == 10);
  CHECK(s.spans_delivered == 10);
  CHECK(tracing.stats().exporter_failures.rejected == 10);
  CHECK(tracing.stats().spans_failed_in_exporters == 10);
  CHECK(exp->last_error().find("HTTP " + std::to_string(status)) != std::string::npos);
  CHECK(rx.stop().find("1 ok, 0 rejected, 1 injected-faults") != std::string::npos);
  require_exactly_once(rx.span_ids(), want);
}

TEST_CASE("otlp_http: partialSuccess rejected spans are counted, reported once, not retried") {
  FOR_BOTH_ENCODINGS;
  receiver rx({"--success-body",
               R"({"partialSuccess":{"rejectedSpans":"3","errorMessage":"3 spans too old"}})"});
  auto exp = agentrace::otlp_http(test_options(rx.url(), enc));
  stderr_capture cap;
  {
    auto tracing = start_with(exp);
    emit(20);
    tracing.force_flush(20s);
    const auto s = exp->stats();
    CHECK(s.requests == 2);
    CHECK(s.retries == 0);
    CHECK(s.failures.rejected == 6);
    CHECK(s.spans_delivered == 14);
    CHECK(tracing.stats().exporter_failures.rejected == 6);
  }
  CHECK(count_of(cap.text(), "3 spans too old") == 1);
  CHECK(rx.stop().find("2 ok") != std::string::npos);
  CHECK(rx.span_ids().size() == 20);
}

TEST_CASE("otlp_http: a slow collector does not hold up the collector thread") {
  receiver rx({"--delay-ms", "800"});  // every answer takes 0.8 s
  auto exp = agentrace::otlp_http(test_options(rx.url()));
  auto tracing = start_with(exp);
  const auto want = emit(50);  // 5 batches
  const auto t0 = steady::now();
  CHECK_FALSE(tracing.force_flush(200ms));  // every batch handed over, none answered yet
  CHECK(ms_since(t0) < 800);
  const auto s = exp->stats();
  REQUIRE(s.spans_accepted == 50);
  CHECK(s.batches_delivered == 0);
  CHECK(s.buffered_batches == 5);
  REQUIRE(tracing.force_flush(20s));  // then they arrive, one after the other
  CHECK(exp->stats().spans_delivered == 50);
  rx.stop();
  require_exactly_once(rx.span_ids(), want);
}

TEST_CASE(
    "otlp_http: collector down at start, up later: buffered spans arrive, the excess is counted") {
  const int port = free_port();
  auto o = test_options(traces_url(port));
  o.max_buffer_batches = 4;  // the batch being retried + 3 waiting
  auto exp = agentrace::otlp_http(o);
  auto tracing = start_with(exp);
  const auto ids = emit(60);                // 6 batches of 10
  CHECK_FALSE(tracing.force_flush(300ms));  // hands every batch over; none can be delivered
  REQUIRE(exp->stats().spans_accepted == 60);
  CHECK(exp->stats().failures.buffer_full == 20);  // batches 5 and 6
  CHECK(exp->stats().peak_buffered_batches == 4);
  std::this_thread::sleep_for(300ms);  // the collector stays down a while longer
  receiver rx({}, port);
  REQUIRE(tracing.force_flush(20s));
  const auto s = exp->stats();
  CHECK(s.retries > 0);
  CHECK(s.spans_delivered == 40);
  CHECK(s.failures.total() == 20);
  CHECK(tracing.stats().exporter_failures.buffer_full == 20);
  rx.stop();
  require_exactly_once(rx.span_ids(), std::vector<std::string>(ids.begin(), ids.begin() + 40));
}

TEST_CASE(
    "otlp_http: collector never up: memory bounded, drops counted exactly, shutdown in time") {
  const int port = free_port();
  auto o = test_options(traces_url(port));
  o.max_buffer_batches = 3;
  auto exp = agentrace::otlp_http(o);
  auto tracing = start_with(exp);
  const auto exported_before = tracing.stats().spans_exported;  // cumulative per process
  emit(80);                                                     // 8 batches of 10
  CHECK_FALSE(tracing.force_flush(300ms));
  REQUIRE(exp->stats().spans_accepted == 80);
  CHECK(exp->stats().failures.buffer_full == 50);
  CHECK(exp->stats().peak_buffered_batches == 3);
  CHECK(exp->stats().buffered_batches == 3);
  emit(30);  // still dropped while the buffer is full
  CHECK_FALSE(tracing.force_flush(100ms));
  CHECK(exp->stats().failures.buffer_full == 80);
  CHECK(exp->stats().peak_buffered_batches == 3);
  const auto t0 = steady::now();
  tracing.shutdown(400ms);
  const auto took = ms_since(t0);
  CHECK(took < 400 + 300);
  const auto st = tracing.stats();
  CHECK(st.spans_exported - exported_before == 110);  // handed to the exporter ...
  CHECK(st.spans_failed_in_exporters == 110);         // ... which gave up on each, by reason:
  CHECK(st.exporter_failures.buffer_full == 80);
  CHECK(st.exporter_failures.shutdown + st.exporter_failures.retries_exhausted == 30);
  CHECK(exp->stats().spans_delivered == 0);
  CHECK(exp->stats().buffered_batches == 0);
  CHECK(exp->stats().buffered_bytes == 0);
}

TEST_CASE("otlp_http: the buffer bound in bytes holds whatever the batch sizes") {
  const int port = free_port();
  auto o = test_options(traces_url(port));
  o.max_buffer_batches = 1000;
  o.max_buffer_bytes = 20000;
  auto exp = agentrace::otlp_http(o);
  auto tracing = start_with(exp, 20);
  emit(400);
  CHECK_FALSE(tracing.force_flush(300ms));
  const auto s = exp->stats();
  REQUIRE(s.spans_accepted == 400);
  CHECK(s.peak_buffered_bytes <= 20000);
  CHECK(s.peak_buffered_bytes > 10000);
  CHECK(s.failures.buffer_full > 0);
  CHECK(s.failures.buffer_full % 20 == 0);
  tracing.shutdown(100ms);
  CHECK(exp->stats().failures.total() == 400);
}

TEST_CASE("otlp_http: shutdown cancels a request a silent peer never answers, by its deadline") {
  raw_server hole(200, "", /*black_hole=*/true);
  auto exp = agentrace::otlp_http(test_options(hole.url()));  // request timeout 10 s
  auto tracing = start_with(exp);
  emit(10);
  CHECK_FALSE(tracing.force_flush(200ms));
  const auto t0 = steady::now();
  tracing.shutdown(300ms);
  CHECK(ms_since(t0) < 300 + 300);
  CHECK(exp->stats().failures.shutdown == 10);
  CHECK(exp->last_error().find("shutdown") != std::string::npos);
}

TEST_CASE("otlp_http: the auth header from OTEL_EXPORTER_OTLP_HEADERS is sent") {
  FOR_BOTH_ENCODINGS;
  receiver rx({"--require-header", "Authorization: Bearer s3cr3t-t0ken"});
  env_guard e{{"OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20s3cr3t-t0ken"},
              {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", rx.url().c_str()},
              {"OTEL_EXPORTER_OTLP_PROTOCOL", protocol_name(enc)},
              {"OTEL_LOGS_EXPORTER", "none"}};
  ::unsetenv("OTEL_TRACES_EXPORTER");  // the default: otlp
  stderr_capture cap;
  auto tracing = agentrace::start({.service_name = "otlp-http-test", .max_export_batch_size = 10});
  const auto want = emit(30);
  REQUIRE(tracing.force_flush(20s));
  CHECK(tracing.stats().spans_failed_in_exporters == 0);
  tracing.shutdown();
  CHECK(rx.stop().find("3 ok, 0 rejected") != std::string::npos);
  require_exactly_once(rx.span_ids(), want);
  CHECK(cap.text().find("s3cr3t") == std::string::npos);
}

TEST_CASE(
    "otlp_http: without the auth header a 401 is counted and not retried and secrets stay out of "
    "logs") {
  receiver rx({"--require-header", "Authorization: Bearer s3cr3t-t0ken"});
  const bool wrong_token = GENERATE(false, true);
  auto o = test_options(rx.url());
  if (wrong_token) o.headers = {{"Authorization", "Bearer wr0ng-t0ken-value"}};
  auto exp = agentrace::otlp_http(o);
  stderr_capture cap;
  {
    auto tracing = start_with(exp);
    emit(20);
    CHECK_FALSE(tracing.force_flush(20s));
    const auto s = exp->stats();
    CHECK(s.requests == 2);
    CHECK(s.retries == 0);
    CHECK(s.failures.rejected == 20);
  }
  const std::string err = cap.text();
  CHECK(err.find("HTTP 401") != std::string::npos);
  CHECK(err.find("wr0ng") == std::string::npos);
  CHECK(exp->last_error().find("wr0ng") == std::string::npos);
  CHECK(rx.stop().find("0 ok, 2 rejected") != std::string::npos);
}

TEST_CASE("otlp_http: a peer echoing the credential back does not get it into errors or logs") {
  raw_server echo(
      403, R"({"message":"token Bearer wr0ng-t0ken-value is not allowed; wr0ng-t0ken-value"})");
  auto o = test_options(echo.url());
  o.headers = {{"Authorization", "Bearer wr0ng-t0ken-value"}};
  auto exp = agentrace::otlp_http(o);
  stderr_capture cap;
  {
    auto tracing = start_with(exp);
    emit(10);
    CHECK_FALSE(tracing.force_flush(20s));
  }
  REQUIRE(echo.requests().size() == 1);
  CHECK(echo.requests()[0].headers.at("authorization") == "Bearer wr0ng-t0ken-value");
  const std::string err = cap.text();
  CHECK(err.find("HTTP 403") != std::string::npos);
  CHECK(err.find("is not allowed") != std::string::npos);
  CHECK(err.find("wr0ng") == std::string::npos);
  CHECK(exp->last_error().find("wr0ng") == std::string::npos);
}

TEST_CASE("otlp_http: gzip bodies are decoded and validated by the receiver") {
  FOR_BOTH_ENCODINGS;
  receiver rx({});
  env_guard e{{"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"}};
  auto o = test_options(rx.url(), enc);
  o.read_environment = true;
  auto exp = agentrace::otlp_http(o);
  REQUIRE(*exp->options().gzip);
  auto tracing = start_with(exp, 100);
  const auto want = emit(300);
  REQUIRE(tracing.force_flush(20s));
  const auto sent = exp->stats().bytes_sent;
  CHECK(rx.stop().find("3 ok, 0 rejected") != std::string::npos);
  require_exactly_once(rx.span_ids(), want);
  CHECK(sent * 4 < rx.out_bytes());  // what arrived, decompressed, is much larger
}

TEST_CASE(
    "otlp_http: requests are POST /v1/traces, in the chosen encoding, agentrace User-Agent, one "
    "kept-alive connection") {
  FOR_BOTH_ENCODINGS;
  raw_server peer;
  auto o = test_options(peer.url(), enc);
  o.headers = {{"X-Custom", "v"}};
  auto exp = agentrace::otlp_http(o);
  auto tracing = start_with(exp);
  for (int i = 0; i < 3; ++i) {
    emit(10);
    REQUIRE(tracing.force_flush(20s));
  }
  const auto reqs = peer.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(peer.connections() == 1);
  for (const auto& r : reqs) {
    CHECK(r.method == "POST");
    CHECK(r.target == "/v1/traces");
    CHECK(r.headers.at("content-type") ==
          (enc == encoding::json ? "application/json" : "application/x-protobuf"));
    CHECK(r.headers.at("user-agent") == std::string("agentrace/") + AGENTRACE_VERSION_STRING);
    CHECK(r.headers.at("x-custom") == "v");
    CHECK(r.headers.count("content-encoding") == 0);
    if (enc == encoding::json) {
      const auto j = nlohmann::json::parse(r.body);
      CHECK(j.at("resourceSpans")[0].at("scopeSpans")[0].at("spans").size() == 10);
    } else {
      CHECK_FALSE(nlohmann::json::accept(r.body));  // binary
      CHECK(r.body.at(0) == '\x0a');                // field 1 (resource_spans), length-delimited
    }
  }
}

// An https peer (node) with a self-signed certificate; with a client CA it requires mTLS.
constexpr const char* https_server_js = R"(
const https = require('https'), fs = require('fs');
const [key, cert, clientCa] = process.argv.slice(2);
const opts = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
if (clientCa) Object.assign(opts, { ca: fs.readFileSync(clientCa), requestCert: true, rejectUnauthorized: true });
let n = 0;
const srv = https.createServer(opts, (req, res) => {
  let size = 0;
  req.on('data', (c) => { size += c.length; });
  req.on('end', () => {
    n++;
    process.stderr.write(`${req.method} ${req.url} ${req.headers['content-type']} ${size}\n`);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"partialSuccess":{}}');
  });
});
srv.listen(0, '127.0.0.1', () => process.stdout.write(`listening: https://127.0.0.1:${srv.address().port}/v1/traces\n`));
process.on('SIGTERM', () => { process.stdout.write(`received: ${n}\n`); process.exit(0); });
)";

// A self-signed certificate for 127.0.0.1 (key, cert) made with the openssl command.
std::pair<std::string, std::string> make_certificate(const std::string& stem) {
  const std::string key = temp_path(stem + "-key.pem"), cert = temp_path(stem + "-cert.pem");
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  return {key, cert};
}

TEST_CASE("otlp_http: https with the CA and client certificate from OTEL_EXPORTER_OTLP_*") {
  const auto [server_key, server_cert] = make_certificate("server");
  const auto [client_key, client_cert] = make_certificate("client");
  const std::string js = temp_path("https_server.js");
  std::ofstream(js) << https_server_js;
  receiver peer(receiver::command_t{},
                {"/usr/bin/env", "node", js, server_key, server_cert, client_cert});
  env_guard e{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", peer.url().c_str()},
              {"OTEL_EXPORTER_OTLP_CERTIFICATE", server_cert.c_str()}};
  auto o = test_options("", encoding::json);  // the server logs the Content-Type
  o.endpoint.clear();
  o.read_environment = true;

  SECTION("with the client certificate: delivered") {
    env_guard mtls{{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", client_cert.c_str()},
                   {"OTEL_EXPORTER_OTLP_CLIENT_KEY", client_key.c_str()}};
    auto exp = agentrace::otlp_http(o);
    auto tracing = start_with(exp);
    emit(20);
    REQUIRE(tracing.force_flush(20s));
    CHECK(exp->stats().spans_delivered == 20);
    CHECK(peer.stop() == "received: 2");
    CHECK(count_of(peer.log(), "POST /v1/traces application/json") == 2);
  }
  SECTION("without it the server refuses every request; counted when the timeout runs out") {
    // With TLS 1.3 the server rejects a missing client certificate after the handshake, which
    // the client sees as a connection dropped without an answer: retried until the timeout.
    o.timeout = 500ms;
    auto exp = agentrace::otlp_http(o);
    auto tracing = start_with(exp);
    emit(10);
    CHECK_FALSE(tracing.force_flush(20s));
    CHECK(exp->stats().failures.retries_exhausted == 10);
    CHECK(exp->stats().spans_delivered == 0);
    CHECK(peer.stop() == "received: 0");
  }
}

TEST_CASE("otlp_http: https to a server the CA file does not vouch for fails, not retried") {
  const auto [server_key, server_cert] = make_certificate("server");
  const auto [other_key, other_cert] = make_certificate("other");
  const std::string js = temp_path("https_server.js");
  std::ofstream(js) << https_server_js;
  receiver peer(receiver::command_t{}, {"/usr/bin/env", "node", js, server_key, server_cert});
  auto o = test_options(peer.url());
  o.tls.ca_file = other_cert;
  auto exp = agentrace::otlp_http(o);
  auto tracing = start_with(exp);
  emit(10);
  CHECK_FALSE(tracing.force_flush(20s));
  CHECK(exp->stats().failures.other == 10);
  CHECK(exp->stats().retries == 0);
  CHECK(exp->last_error().find("not retried") != std::string::npos);
  CHECK(peer.stop() == "received: 0");
}

TEST_CASE("otlp_http: batches larger than max_request_bytes are split") {
  raw_server peer;
  auto o = test_options(peer.url(), encoding::json);
  o.max_request_bytes = 3000;
  auto exp = agentrace::otlp_http(o);
  auto tracing = start_with(exp, 64);
  emit(64);
  REQUIRE(tracing.force_flush(20s));
  std::size_t spans = 0;
  const auto reqs = peer.requests();
  CHECK(reqs.size() > 1);
  for (const auto& r : reqs) {
    CHECK(r.body.size() <= 3000);
    spans +=
        nlohmann::json::parse(r.body).at("resourceSpans")[0].at("scopeSpans")[0].at("spans").size();
  }
  CHECK(spans == 64);
  CHECK(exp->stats().spans_delivered == 64);
}

// ---------------------------------------------------------------- one encoder, two encodings

namespace {

// Runs a shell command; returns its exit code and (stdout + stderr).
std::pair<int, std::string> run_command(const std::string& cmd) {
  const std::string out = temp_path("cmd.txt");
  const int rc = std::system((cmd + " > " + out + " 2>&1").c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, read_file(out)};
}

// `otlp-check validate --strict ARGS FILE` on `body` written to a file.
std::pair<int, std::string> otlp_check_validate(const std::string& args, const std::string& body) {
  const std::string f = temp_path("body.bin");
  std::ofstream(f, std::ios::binary) << body;
  return run_command(std::string(AGENTRACE_OTLP_CHECK) + " validate --strict " + args + " " + f);
}

// proto3 equivalence: fields at their default value (0, "0", "", false, [], {}) are the same
// as absent, so they are removed; what is left must be identical.
nlohmann::json without_defaults(const nlohmann::json& j) {
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : j.items()) {
      nlohmann::json c = without_defaults(v);
      const bool dflt = c.is_null() || (c.is_object() && c.empty()) ||
                        (c.is_array() && c.empty()) || (c.is_string() && (c == "" || c == "0")) ||
                        (c.is_boolean() && !c.get<bool>()) || (c.is_number() && c == 0);
      if (!dflt) out[k] = std::move(c);
    }
    return out;
  }
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : j) out.push_back(without_defaults(v));
    return out;
  }
  return j;
}

// What `rx` wrote to --out (protobuf bodies converted to OTLP/JSON), one message per request.
std::vector<nlohmann::json> received_without_defaults(const receiver& rx) {
  std::vector<nlohmann::json> got;
  std::istringstream lines(read_file(rx.out_path()));
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) got.push_back(without_defaults(nlohmann::json::parse(line)));
  return got;
}

constexpr agentrace::span_site rich_site{"rich.span", agentrace::span_kind::client, __FILE__,
                                         __LINE__, "test"};
inline constexpr agentrace::key<std::int64_t> k_int{"app.int"};
inline constexpr agentrace::key<double> k_dbl{"app.double"};
inline constexpr agentrace::key<bool> k_bool{"app.bool"};
inline constexpr agentrace::key<std::string> k_str{"app.str"};
inline constexpr agentrace::key<std::string> k_owned{"app.owned"};

// Spans with every attribute type (inline slots and arrays), events, links with trace state,
// a remote parent, error status, dropped counts, non-ASCII and invalid UTF-8 strings.
std::vector<agentrace::span_record> rich_records(std::uint64_t t0) {
  using agentrace::detail::slot_type;
  std::vector<agentrace::span_record> out(3);
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto& r = out[i];
    r.site = &rich_site;
    r.trace_id = {0x0af7651916cd43ddull, 0x8448eb211c80319cull + i};
    r.span_id = 0xb7ad6b7169203331ull + i;
    r.parent_span_id = i ? 0x1111 : 0;
    r.parent_remote = i == 1;
    r.flags = 1;
    r.start_ticks = t0 + i * 1000;
    r.end_ticks = r.start_ticks + 123'456'789;
    r.push_slot(k_int.name(), slot_type::int64, static_cast<std::uint64_t>(-42 - std::int64_t(i)));
    r.push_slot(k_dbl.name(), slot_type::float64, std::bit_cast<std::uint64_t>(0.25 + double(i)));
    r.push_slot(k_bool.name(), slot_type::boolean, 1);
    r.push_static_string(k_str.name(), "h\xc3\xa9llo w\xc3\xb6rld, a longer static value");
    r.push_slot(k_owned.name(), slot_type::owned_str,
                reinterpret_cast<std::uint64_t>(new std::string("bad \xff utf-8 \"q\"")));
    if (i == 0) continue;
    auto& x = r.extension();
    using agentrace::attr_value;
    x.attributes.push_back({"app.ints", attr_value{std::vector<std::int64_t>{1, -2, 3}}});
    x.attributes.push_back({"app.doubles", attr_value{std::vector<double>{0.5, -1e300}}});
    x.attributes.push_back({"app.bools", attr_value{std::vector<bool>{true, false}}});
    x.attributes.push_back(
        {"app.strs", attr_value{std::vector<std::string>{"a", "", "\xe2\x82\xac"}}});
    x.attributes.push_back({"app.empty", attr_value{}});
    x.attributes.push_back({"app.big", attr_value{std::int64_t{1} << 60}});
    x.trace_state = "vendor=abc,other=1";
    x.status_message = "it failed: \xf0\x9f\x92\xa5";
    r.set_status(agentrace::status_code::error);
    x.events.push_back({r.start_ticks + 5,
                        "cache.miss",
                        {{"db.collection.name", attr_value{std::string("sales")}},
                         {"retry", attr_value{std::int64_t{2}}}},
                        1});
    x.events.push_back({r.start_ticks + 6, "second", {}, 0});
    agentrace::span_context lc{{0x1234, 0x5678}, 0x9abc, 1, true};
    x.links.push_back({lc, "k=v", {{"link.kind", attr_value{std::string("follows")}}}, 2});
    x.links.push_back({agentrace::span_context{{1, 2}, 3, 0, false}, "", {}, 0});
    x.dropped_events = 3;
    x.dropped_links = 1;
    x.dropped_attributes = 4;
  }
  return out;
}

std::vector<agentrace::log_record> rich_logs(std::uint64_t t0) {
  using agentrace::attr_value;
  std::vector<agentrace::log_record> out;
  agentrace::log_record a;
  a.time_unix_ns = t0;
  a.observed_time_unix_ns = t0 + 10;
  a.event_name = "gen_ai.evaluation.result";
  a.severity = agentrace::severity::warn;
  a.context = {{0x0af7651916cd43ddull, 0x8448eb211c80319cull}, 0xb7ad6b7169203331ull, 1, false};
  a.attributes = {{"gen_ai.evaluation.name", attr_value{std::string("relevance")}},
                  {"gen_ai.evaluation.score.value", attr_value{0.75}},
                  {"n", attr_value{std::int64_t{-7}}},
                  {"ok", attr_value{true}},
                  {"list", attr_value{std::vector<std::string>{"x", "\xc3\xa9"}}}};
  a.body = attr_value{std::string("body text \xff")};
  out.push_back(a);
  agentrace::log_record b;  // no span, no event name, unspecified severity, array body
  b.time_unix_ns = t0 + 1;
  b.observed_time_unix_ns = t0 + 2;
  b.severity = agentrace::severity::unspecified;
  b.body = attr_value{std::vector<std::int64_t>{1, 2}};
  out.push_back(b);
  return out;
}

}  // namespace

TEST_CASE(
    "otlp encoder: every span field in protobuf is accepted by otlp-check, and is the "
    "same message as the JSON") {
  const std::uint64_t t0 = 1'760'000'000'000'000'000ull;
  const auto records = rich_records(t0);
  agentrace::config cfg;
  cfg.service_name = "encoder-test";
  cfg.read_environment = false;
  const agentrace::resource res = agentrace::make_resource(cfg);
  const auto clock = agentrace::detail::clock_converter::unix_ns(t0);
  agentrace::span_limits limits;
  if (GENERATE(false, true)) {  // limits hit: counts and value length
    limits.attribute_count = 6;
    limits.attribute_value_length = 4;
    limits.event_attribute_count = 1;
    limits.link_attribute_count = 0;
  }
  INFO("value length limit: " << limits.attribute_value_length);
  const agentrace::export_batch batch{records, res, clock, limits, "agentrace", "1.2.3", 5};

  fmt::memory_buffer json_buf, proto_buf;
  agentrace::serialize_otlp_json(batch, json_buf);
  agentrace::serialize_otlp_protobuf(batch, proto_buf);
  const std::string json_body(json_buf.data(), json_buf.size());
  const std::string proto_body(proto_buf.data(), proto_buf.size());
  {
    const auto [rc, out] = otlp_check_validate("--protobuf --signal traces", proto_body);
    INFO(out);
    CHECK(rc == 0);
    CHECK(out.find("ok: 1 requests, 3 spans") != std::string::npos);
  }
  {
    const auto [rc, out] = otlp_check_validate("", json_body);
    INFO(out);
    CHECK(rc == 0);
  }
  // The receiver converts the protobuf body to OTLP/JSON: the same message as our JSON.
  receiver rx({});
  for (const encoding enc : {encoding::json, encoding::protobuf}) {
    auto exp = agentrace::otlp_http(test_options(rx.url(), enc));
    CHECK(exp->export_spans(batch) == agentrace::export_result::success);
    CHECK(exp->force_flush(20s));
  }
  rx.stop();
  const auto got = received_without_defaults(rx);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == without_defaults(nlohmann::json::parse(json_body)));
  CHECK(got[1].dump() == got[0].dump());
  // Something of each kind is there (the comparison is not between two empty messages).
  const auto& spans = got[1]["resourceSpans"][0]["scopeSpans"][0]["spans"];
  REQUIRE(spans.size() == 3);
  CHECK(spans[1]["events"].size() == 2);
  CHECK(spans[1]["links"].size() == 2);
  CHECK(spans[1]["status"]["code"] == 2);
  CHECK(spans[1]["traceState"] == "vendor=abc,other=1");
  CHECK(spans[1]["flags"] == 0x301);  // sampled, HAS_IS_REMOTE, IS_REMOTE
}

TEST_CASE(
    "otlp encoder: log records in protobuf are accepted by otlp-check, and are the same "
    "message as the JSON") {
  const std::uint64_t t0 = 1'760'000'000'000'000'000ull;
  const auto logs = rich_logs(t0);
  agentrace::config cfg;
  cfg.service_name = "encoder-test";
  cfg.read_environment = false;
  const agentrace::resource res = agentrace::make_resource(cfg);
  const agentrace::log_batch batch{logs, res, "agentrace", "1.2.3"};
  fmt::memory_buffer json_buf, proto_buf;
  agentrace::serialize_otlp_json(batch, json_buf);
  agentrace::serialize_otlp_protobuf(batch, proto_buf);
  const std::string json_body(json_buf.data(), json_buf.size());
  const std::string proto_body(proto_buf.data(), proto_buf.size());
  {
    const auto [rc, out] = otlp_check_validate("--protobuf --signal logs", proto_body);
    INFO(out);
    CHECK(rc == 0);
    CHECK(out.find("2 log records") != std::string::npos);
  }
  {
    const auto [rc, out] = otlp_check_validate("--signal logs", json_body);
    INFO(out);
    CHECK(rc == 0);
  }
  receiver rx({});
  const std::string logs_url = rx.url().substr(0, rx.url().size() - 6) + "logs";  // /v1/logs
  for (const encoding enc : {encoding::json, encoding::protobuf}) {
    auto o = test_options(logs_url, enc);
    o.signal = agentrace::otlp_signal::logs;
    auto exp = agentrace::otlp_http(o);
    CHECK(exp->export_logs(batch) == agentrace::export_result::success);
    CHECK(exp->force_flush(20s));
  }
  rx.stop();
  const auto got = received_without_defaults(rx);
  REQUIRE(got.size() == 2);
  CHECK(got[0] == without_defaults(nlohmann::json::parse(json_body)));
  CHECK(got[1].dump() == got[0].dump());
  const auto& recs = got[1]["resourceLogs"][0]["scopeLogs"][0]["logRecords"];
  REQUIRE(recs.size() == 2);
  CHECK(recs[0]["eventName"] == "gen_ai.evaluation.result");
  CHECK(recs[0]["spanId"] == "b7ad6b7169203331");
  CHECK(recs[0]["severityNumber"] == 13);
}

TEST_CASE("events: emit_event goes through the collector to /v1/logs, linked to its span") {
  FOR_BOTH_ENCODINGS;
  receiver rx({});
  const std::string logs_url = rx.url().substr(0, rx.url().size() - 6) + "logs";
  auto traces = agentrace::otlp_http(test_options(rx.url(), enc));
  auto lo = test_options(logs_url, enc);
  lo.signal = agentrace::otlp_signal::logs;
  auto logs = agentrace::otlp_http(lo);
  auto tracing = agentrace::start({.service_name = "events-test",
                                   .exporters = {traces, logs},
                                   .schedule_delay = 60s,
                                   .read_environment = false});
  const auto before = tracing.stats();
  std::string span_id, other_id;
  agentrace::span_context other;
  {
    AGENTRACE_SPAN(judged, "judged.span");
    other = judged.context();
    other_id = agentrace::to_hex(other.span_id);
  }
  {
    AGENTRACE_SPAN(s, "with.event");
    span_id = agentrace::to_hex(s.context().span_id);
    CHECK(agentrace::emit_event("app.cache_miss", {{k_int, 3}, {k_str, "orders"}}));
    CHECK(agentrace::emit_event(other, "gen_ai.evaluation.result", {{k_dbl, 0.5}},
                                agentrace::severity::info));
  }
  REQUIRE(tracing.force_flush(20s));
  const auto after = tracing.stats();
  CHECK(after.logs_emitted - before.logs_emitted == 2);
  CHECK(after.logs_exported - before.logs_exported == 2);
  CHECK(logs->stats().spans_delivered == 2);  // log records, for a logs exporter
  tracing.shutdown();
  rx.stop();
  std::map<std::string, std::string> span_of_event;
  std::istringstream lines(read_file(rx.out_path()));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("resourceLogs")) continue;
    for (const auto& r : j["resourceLogs"][0]["scopeLogs"][0]["logRecords"])
      span_of_event[r.at("eventName").get<std::string>()] = r.at("spanId").get<std::string>();
  }
  REQUIRE(span_of_event.size() == 2);
  CHECK(span_of_event["app.cache_miss"] == span_id);
  CHECK(span_of_event["gen_ai.evaluation.result"] == other_id);
}

TEST_CASE("events: a full log queue drops and counts, never waits; no collector: counted too") {
  const std::uint64_t not_running = agentrace::detail::logs_dropped_not_running.load();
  CHECK_FALSE(agentrace::emit_event("no.collector"));
  CHECK(agentrace::detail::logs_dropped_not_running.load() == not_running + 1);

  auto mem = agentrace::otlp_json_file(temp_path("events.jsonl"));
  auto tracing = agentrace::start({.service_name = "events-test",
                                   .exporters = {mem},
                                   .schedule_delay = 60s,
                                   .read_environment = false});
  agentrace::detail::process_log_queue().set_capacity(4);
  const auto before = tracing.stats();
  int accepted = 0;
  for (int i = 0; i < 2000; ++i) accepted += agentrace::emit_event("flood") ? 1 : 0;
  REQUIRE(tracing.force_flush(20s));
  const auto after = tracing.stats();
  agentrace::detail::process_log_queue().set_capacity(2048);
  CHECK(after.logs_emitted - before.logs_emitted == static_cast<std::uint64_t>(accepted));
  CHECK(after.logs_dropped_queue_full - before.logs_dropped_queue_full ==
        static_cast<std::uint64_t>(2000 - accepted));
  CHECK(accepted < 2000);
  CHECK(after.logs_exported - before.logs_exported == static_cast<std::uint64_t>(accepted));
}

TEST_CASE(
    "metrics: span-derived metrics go to /v1/metrics, accepted by the receiver, and carry "
    "exemplars of the spans sent to /v1/traces") {
  FOR_BOTH_ENCODINGS;
  receiver rx({});
  const std::string metrics_url = rx.url().substr(0, rx.url().size() - 6) + "metrics";
  auto traces = agentrace::otlp_http(test_options(rx.url(), enc));
  auto mo = test_options(metrics_url, enc);
  mo.signal = agentrace::otlp_signal::metrics;
  auto metrics = agentrace::otlp_http(mo);
  agentrace::config cfg{.service_name = "metrics-http-test",
                        .exporters = {traces, metrics},
                        .schedule_delay = 60s,
                        .read_environment = false};
  cfg.metrics.enabled = true;
  auto tracing = agentrace::start(cfg);
  for (int i = 0; i < 5; ++i) {
    AGENTRACE_SPAN(s, "metered");
    if (i == 0) s.error("first one fails");
  }
  REQUIRE(tracing.force_flush(20s));
  CHECK(metrics->stats().spans_delivered > 0);  // data points, for a metrics exporter
  CHECK(tracing.stats().metric_exports_failed == 0);
  tracing.shutdown();
  rx.stop();
  const std::vector<std::string> sent = rx.span_ids();
  const std::set<std::string> sent_ids(sent.begin(), sent.end());
  REQUIRE(sent_ids.size() == 5);
  std::int64_t calls = 0;
  std::size_t exemplars = 0, requests = 0;
  std::istringstream lines(read_file(rx.out_path()));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    if (!j.contains("resourceMetrics")) continue;
    ++requests;
    calls = 0;  // cumulative: the last request has the totals
    for (const auto& m : j["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]) {
      if (m.at("name") == "traces.span.metrics.calls")
        for (const auto& p : m["sum"]["dataPoints"])
          calls += std::stoll(p.at("asInt").get<std::string>());
      if (m.at("name") == "traces.span.metrics.duration")
        for (const auto& p : m["histogram"]["dataPoints"])
          for (const auto& e : p.value("exemplars", nlohmann::json::array())) {
            ++exemplars;
            CHECK(sent_ids.count(e.at("spanId").get<std::string>()) == 1);
          }
    }
  }
  CHECK(requests == 2);  // the flush and the final export at shutdown
  CHECK(calls == 5);
  CHECK(exemplars >= 2);  // the errored span's series and the others'
}

TEST_CASE(
    "metrics: an export that outlasts OTEL_METRIC_EXPORT_TIMEOUT is given up on at the timeout "
    "and its data points counted lost") {
  // Every answer comes 5 s late; the exporter's own timeout (10 s) would wait for it.
  receiver rx({"--delay-ms", "5000"});
  const std::string metrics_url = rx.url().substr(0, rx.url().size() - 6) + "metrics";
  auto mo = test_options(metrics_url);
  mo.signal = agentrace::otlp_signal::metrics;
  auto metrics = agentrace::otlp_http(mo);
  agentrace::config cfg{.service_name = "metrics-timeout-test",
                        .exporters = {metrics},
                        .schedule_delay = 60s,
                        .read_environment = false};
  cfg.metrics.enabled = true;
  std::optional<env_guard> env;
  SECTION("from config::metrics") { cfg.metrics.export_timeout = 300ms; }
  SECTION("from OTEL_METRIC_EXPORT_TIMEOUT") {
    env.emplace(std::initializer_list<std::pair<const char*, const char*>>{
        {"OTEL_METRIC_EXPORT_TIMEOUT", "300"}});
    cfg.read_environment = true;
  }
  auto tracing = agentrace::start(cfg);
  REQUIRE(tracing.get()->metric_export_timeout() == 300ms);
  for (int i = 0; i < 3; ++i) {
    AGENTRACE_SPAN(s, "late");
  }
  const auto t0 = steady::now();
  CHECK_FALSE(tracing.force_flush(20s));  // the export was given up on
  const auto waited = steady::now() - t0;
  CHECK(waited >= 250ms);
  CHECK(waited < 3s);  // at the export timeout, not at the answer (5 s) or the exporter's 10 s
  const auto f = metrics->failures();
  CHECK(f.retries_exhausted >= 2);  // the calls sum and the duration histogram's point
  CHECK(metrics->stats().spans_delivered == 0);
  CHECK(tracing.stats().exporter_failures.retries_exhausted == f.retries_exhausted);
  tracing.shutdown(1s);
}
