// SPDX-License-Identifier: MIT
// Test helpers for context tests: a small thread-pool executor that checks, after every job, that
// the job left the worker's context as it found it (no context leaks), and span-tree helpers.
#pragma once

#include <agentrace/agentrace.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace test_support {

/// N worker threads running posted jobs in FIFO order. After each job the worker's current
/// context must be what it was before the job (a coroutine that suspended on this thread must
/// have given the thread its context back); every violation is counted in `leaks`.
class executor {
 public:
  explicit executor(std::size_t threads = 1) {
    for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
  }
  ~executor() { stop(); }
  executor(const executor&) = delete;
  executor& operator=(const executor&) = delete;

  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

  /// Runs what is queued, then joins the workers.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }

  bool on_worker() const {
    for (const auto& t : workers_)
      if (t.get_id() == std::this_thread::get_id()) return true;
    return false;
  }

  /// `co_await ex.schedule()`: continues on a worker of this executor.
  auto schedule() {
    struct awaiter {
      executor* ex;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) {
        ex->post([h] { h.resume(); });
      }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }

  /// `co_await ex.after(d)`: continues on a worker of this executor once `d` has passed (the
  /// worker sleeps: this is the latency being measured, not synchronisation).
  auto after(std::chrono::milliseconds d) {
    struct awaiter {
      executor* ex;
      std::chrono::milliseconds d;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) {
        ex->post([h, d = d] {
          std::this_thread::sleep_for(d);
          h.resume();
        });
      }
      void await_resume() const noexcept {}
    };
    return awaiter{this, d};
  }

  std::atomic<int> leaks{0};
  std::atomic<int> jobs_run{0};

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      const agentrace::span_context before = agentrace::current_context();
      job();
      if (!(agentrace::current_context() == before)) ++leaks;
      ++jobs_run;
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_{false};
  std::vector<std::thread> workers_;
};

/// Exported spans by name (names must be unique in the test), with parent lookups.
struct span_tree {
  explicit span_tree(std::vector<agentrace::span_data> v) : spans(std::move(v)) {}
  std::vector<agentrace::span_data> spans;

  const agentrace::span_data& get(std::string_view name) const {
    const agentrace::span_data* found = nullptr;
    for (const auto& s : spans)
      if (s.name == name) {
        if (found) throw std::runtime_error("span name not unique: " + std::string(name));
        found = &s;
      }
    if (!found) throw std::runtime_error("no span named " + std::string(name));
    return *found;
  }
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& s : spans) n += s.name == name;
    return n;
  }
  /// True when `child` is a direct child of `parent` (same trace, parent id).
  bool is_child(std::string_view child, std::string_view parent) const {
    const auto& c = get(child);
    const auto& p = get(parent);
    return c.trace_id == p.trace_id && c.parent_span_id == p.span_id;
  }
};

}  // namespace test_support
