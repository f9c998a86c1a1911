// SPDX-License-Identifier: MIT
// Process lifecycle: fork() (then exit, restart, exec; from a thread other than main), thread
// churn under a slow exporter (thread states stay bounded), and the exit paths (std::exit() with
// a handle local to main, a return from main with a static handle, a span in a static
// destructor).
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core_test_util.hpp"

// The fork tests start threads in children of a process that has several: ThreadSanitizer
// supports that only when told not to stop such a child (it warns instead).
#if defined(__SANITIZE_THREAD__)
#define AGENTRACE_LIFECYCLE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AGENTRACE_LIFECYCLE_TSAN 1
#endif
#endif
#if defined(AGENTRACE_LIFECYCLE_TSAN)
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }
#endif

namespace {
using namespace std::chrono_literals;

agentrace::config memory_config(const std::shared_ptr<agentrace::memory_exporter>& mem) {
  agentrace::config c;
  c.exporters = {mem};
  c.read_environment = false;
  return c;
}

/// A forked child: its stderr goes to a pipe the parent reads, and it is killed if it has not
/// finished within 30 s (a hang shows as a signal, not as a stuck test).
class child_process {
 public:
  /// Forks; returns true in the child.
  bool fork_now() {
    std::cout.flush();
    std::fflush(nullptr);  // nothing buffered in the parent is written twice
    REQUIRE(::pipe(err_) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(err_[0]);
      ::dup2(err_[1], 2);
      ::close(err_[1]);
      ::alarm(30);
      return true;
    }
    ::close(err_[1]);
    return false;
  }
  /// In the parent: waits for the child; its exit code, or -signal if it was killed.
  int wait() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(err_[0], buf, sizeof buf);
      if (n <= 0) break;
      stderr_text_.append(buf, static_cast<std::size_t>(n));
    }
    ::close(err_[0]);
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? -WTERMSIG(status) : -1000;
  }
  const std::string& stderr_text() const { return stderr_text_; }

 private:
  int err_[2]{-1, -1};
  pid_t pid_{-1};
  std::string stderr_text_;
};

/// Trace ids of `n` new root spans drawn on this thread.
std::vector<agentrace::trace_id> root_ids(int n) {
  std::vector<agentrace::trace_id> out;
  for (int i = 0; i < n; ++i) {
    agentrace::span<"root"> s{agentrace::span_context{}};  // no valid parent: a new trace
    out.push_back(s.context().trace_id);
  }
  return out;
}

}  // namespace

TEST_CASE("fork then exit: the child's ended spans are counted and reported, the parent exports",
          "[lifecycle][fork]") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  const auto before = tracing.stats();
  child_process child;
  bool in_child = false;
  {
    AGENTRACE_SPAN(open, "open.at.fork");
    in_child = child.fork_now();
  }  // ends in both processes
  if (in_child) {
    {
      AGENTRACE_SPAN(late, "begun.in.child");  // tracing is off in the child: not recorded
    }
    std::exit(0);  // the handle is not destroyed; the exit hook reports
  }
  REQUIRE(child.wait() == 0);
  INFO("child stderr: " << child.stderr_text());
  CHECK(child.stderr_text().find("1 spans ended in this forked process") != std::string::npos);
  REQUIRE(tracing.force_flush());
  const auto s = tracing.stats();
  CHECK(s.spans_ended - before.spans_ended == 1);
  CHECK(s.spans_exported - before.spans_exported == 1);
  CHECK(s.dropped_not_running == before.dropped_not_running);
  REQUIRE(mem->size() == 1);
  CHECK(mem->spans()[0].name == "open.at.fork");
}

TEST_CASE("fork then restart: the child exports its own spans, with ids the parent never draws",
          "[lifecycle][fork]") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  (void)root_ids(10);  // the thread's generator has a state to copy
  int ids_pipe[2];
  REQUIRE(::pipe(ids_pipe) == 0);
  child_process child;
  if (child.fork_now()) {
    ::close(ids_pipe[0]);
    bool ok = false;
    try {
      auto child_mem = agentrace::memory();
      tracing = agentrace::start(memory_config(child_mem));  // drops the parent's handle
      const auto ids = root_ids(32);
      const auto s = tracing.stats();
      const bool flushed = tracing.shutdown();
      ok = flushed && child_mem->size() == 32 && s.spans_ended == 32 &&
           tracing.stats().spans_exported == 32;
      if (!ok)
        std::fprintf(stderr, "child: flushed %d, exported %zu, ended %llu\n", flushed,
                     child_mem->size(), static_cast<unsigned long long>(s.spans_ended));
      const ssize_t want = static_cast<ssize_t>(ids.size() * sizeof(agentrace::trace_id));
      ok = ::write(ids_pipe[1], ids.data(), static_cast<std::size_t>(want)) == want && ok;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    ::_exit(ok ? 0 : 1);  // never back into the test runner
  }
  ::close(ids_pipe[1]);
  const auto parent_ids = root_ids(32);
  std::vector<agentrace::trace_id> child_ids(32);
  std::size_t got = 0;
  while (got < child_ids.size() * sizeof(agentrace::trace_id)) {
    const ssize_t n = ::read(ids_pipe[0], reinterpret_cast<char*>(child_ids.data()) + got,
                             child_ids.size() * sizeof(agentrace::trace_id) - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(ids_pipe[0]);
  const int code = child.wait();
  INFO("child stderr: " << child.stderr_text());
  REQUIRE(code == 0);
  REQUIRE(got == child_ids.size() * sizeof(agentrace::trace_id));
  std::set<std::string> parent_set;
  for (const auto& t : parent_ids) parent_set.insert(agentrace::to_hex(t));
  for (const auto& t : child_ids) CHECK(parent_set.count(agentrace::to_hex(t)) == 0);
  REQUIRE(tracing.force_flush());
  CHECK(mem->size() == 42);  // the parent's 10 + 32, unaffected by the child
}

TEST_CASE("fork then exec while other threads record: the parent is unaffected",
          "[lifecycle][fork]") {
  auto mem = agentrace::memory();
  auto c = memory_config(mem);
  c.max_queue_size = 65536;
  auto tracing = agentrace::start(c);
  const auto before = tracing.stats();
  std::atomic<bool> stop{false};
  std::vector<std::thread> producers;
  for (int t = 0; t < 2; ++t)
    producers.emplace_back([&] {
      while (!stop.load()) {
        std::thread([] {  // thread states come and go while the parent forks
          for (int i = 0; i < 50; ++i) {
            AGENTRACE_SPAN(s, "producer");
          }
        })
            .join();
      }
    });
  for (int i = 0; i < 10; ++i) {
    child_process child;
    if (child.fork_now()) {
      ::execl("/bin/sh", "sh", "-c", "exit 7", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    REQUIRE(child.wait() == 7);
  }
  stop = true;
  for (auto& p : producers) p.join();
  REQUIRE(tracing.force_flush());
  const auto s = tracing.stats();
  const auto ended = s.spans_ended - before.spans_ended;
  CHECK(ended > 0);
  CHECK(s.spans_exported - before.spans_exported + s.dropped_queue_full -
            before.dropped_queue_full ==
        ended);
  CHECK(mem->size() == s.spans_exported - before.spans_exported);
}

TEST_CASE("fork from a thread other than main: the child starts tracing with that thread alone",
          "[lifecycle][fork]") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(memory_config(mem));
  int code = -1;
  std::string err;
  std::thread([&] {
    { AGENTRACE_SPAN(s, "forking.thread"); }
    child_process child;
    if (child.fork_now()) {
      // The only thread here: no main thread, no collector thread.
      auto child_mem = agentrace::memory();
      bool ok = false;
      try {
        auto own = agentrace::start(memory_config(child_mem));
        for (int i = 0; i < 10; ++i) {
          AGENTRACE_SPAN(s, "child.span");
        }
        std::thread([] { AGENTRACE_SPAN(s, "child.thread.span"); }).join();
        ok = own.shutdown() && child_mem->size() == 11;
        if (!ok) std::fprintf(stderr, "child exported %zu spans\n", child_mem->size());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child: %s\n", e.what());
      }
      ::_exit(ok ? 0 : 1);
    }
    code = child.wait();
    err = child.stderr_text();
  }).join();
  INFO("child stderr: " << err);
  CHECK(code == 0);
  REQUIRE(tracing.force_flush());
  CHECK(mem->size() == 1);
}

TEST_CASE("fork while another thread waits in force_flush: the child drops the handle at once",
          "[lifecycle][fork]") {
  auto rec = std::make_shared<test_util::recording_exporter>();
  agentrace::config c;
  c.exporters = {rec};
  c.read_environment = false;
  auto tracing = agentrace::start(c);
  rec->block();  // the collector stays in its export: a force_flush() waits
  { AGENTRACE_SPAN(s, "before.fork"); }
  REQUIRE(tracing.force_flush(1ms) == false);  // queued, the export is blocked
  REQUIRE(rec->wait_in_export(1, 10s));
  std::atomic<bool> waiting{false};
  bool flushed = false;
  std::thread waiter([&] {
    waiting = true;
    flushed = tracing.force_flush(20s);
  });
  while (!waiting.load()) std::this_thread::yield();
  std::this_thread::sleep_for(50ms);  // inside the wait (not needed for correctness)
  child_process child;
  if (child.fork_now()) {
    tracing = agentrace::tracing{};  // the inherited collector, with a waiter that is not here
    ::_exit(0);
  }
  const int code = child.wait();
  INFO("child stderr: " << child.stderr_text());
  CHECK(code == 0);  // a hang would end in SIGALRM
  rec->unblock();
  waiter.join();
  CHECK(flushed);
  CHECK(rec->count() == 1);
}

namespace {
/// Sleeps in every export, like an exporter talking to a slow backend.
class slow_exporter final : public agentrace::exporter {
 public:
  explicit slow_exporter(std::chrono::milliseconds per_batch) : per_batch_(per_batch) {}
  std::string_view name() const noexcept override { return "slow"; }
  agentrace::export_result export_spans(const agentrace::export_batch& batch) override {
    std::this_thread::sleep_for(per_batch_);
    spans += batch.spans.size();
    return agentrace::export_result::success;
  }
  std::atomic<std::uint64_t> spans{0};

 private:
  std::chrono::milliseconds per_batch_;
};

}  // namespace

TEST_CASE("thread churn under a slow exporter: thread states stay bounded and are freed",
          "[lifecycle][threads]") {
  auto slow = std::make_shared<slow_exporter>(20ms);
  agentrace::config c;
  c.exporters = {slow};
  c.read_environment = false;
  c.max_export_batch_size = 64;
  c.schedule_delay = 1ms;
  auto tracing = agentrace::start(c);
  const auto before = tracing.stats();
  const auto created_before = agentrace::detail::thread_state_counts().created;
  constexpr int groups = 500, at_once = 4, spans_each = 5;
  std::size_t most_alive = 0;
  for (int g = 0; g < groups; ++g) {
    std::vector<std::thread> ts;
    for (int t = 0; t < at_once; ++t)
      ts.emplace_back([] {
        for (int i = 0; i < spans_each; ++i) {
          AGENTRACE_SPAN(s, "short.lived");
        }
      });
    for (auto& t : ts) t.join();
    most_alive = std::max(most_alive, agentrace::detail::thread_state_counts().alive);
  }
  const auto counts = agentrace::detail::thread_state_counts();
  // The threads alive, the exited states waiting to be drained, this thread's.
  static_assert(agentrace::detail::max_exited_states <= 16);
  constexpr std::size_t bound = at_once + 16 + 1;
  WARN("states alive at most " << most_alive << ", created " << counts.created - created_before
                               << " for " << groups * at_once
                               << " threads (memory: scripts/thread-churn.sh)");
  CHECK(most_alive <= bound);
  REQUIRE(tracing.force_flush(60s));
  const auto after = agentrace::detail::thread_state_counts();
  CHECK(after.exited == 0);  // every exited thread's state was drained and freed
  CHECK(after.alive <= 1);   // this thread's, if it had one
  const auto s = tracing.stats();
  const auto ended = s.spans_ended - before.spans_ended;
  CHECK(ended == std::uint64_t{groups} * at_once * spans_each);
  // Every span is exported or counted: the counters of freed states are kept.
  CHECK(s.spans_exported - before.spans_exported + s.dropped_queue_full -
            before.dropped_queue_full ==
        ended);
  CHECK(slow->spans.load() == s.spans_exported - before.spans_exported);
}

namespace {
struct helper_run {
  int code;
  std::string err;
  std::vector<std::string> names;
};
helper_run run_exit_helper(const std::string& mode, int n) {
  const std::string out = test_util::otlp_out_path("lifecycle_" + mode);
  const std::string err = out + ".stderr";
  std::filesystem::remove(out);
  const std::string cmd = std::string("'") + AGENTRACE_EXIT_HELPER + "' " + mode + " '" + out +
                          "' " + std::to_string(n) + " 2>'" + err + "'";
  const int status = std::system(cmd.c_str());
  helper_run r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, test_util::read_file(err), {}};
  for (const auto& s : test_util::all_spans(test_util::read_json_lines(out)))
    r.names.push_back(s.at("name").get<std::string>());
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}
std::size_t count(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), x));
}
}  // namespace

TEST_CASE("std::exit() with the handle local to main exports every span that ended",
          "[lifecycle][exit]") {
  const auto r = run_exit_helper("exit", 20000);
  INFO("helper stderr: " << r.err);
  CHECK(r.code == 0);
  CHECK(count(r.names, "work") == 20000);
  CHECK(count(r.names, "work.thread") == 20000);
  CHECK(count(r.names, "static.destructor") == 1);  // begun in a static destructor
  CHECK(r.names.size() == 40001);
  CHECK(r.err.find("dropped") == std::string::npos);
}

TEST_CASE("a return from main with a static handle exports every span, a static destructor's too",
          "[lifecycle][exit]") {
  const auto r = run_exit_helper("return", 20000);
  INFO("helper stderr: " << r.err);
  CHECK(r.code == 0);
  CHECK(count(r.names, "work") == 20000);
  CHECK(count(r.names, "work.thread") == 20000);
  CHECK(count(r.names, "static.destructor") == 1);
  CHECK(r.names.size() == 40001);
  CHECK(r.err.find("dropped") == std::string::npos);
}
