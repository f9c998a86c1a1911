// SPDX-License-Identifier: MIT
// Context that follows the work: an agent step written as coroutines that hop between threads,
// the two ways to get that (agentrace::task<T>, or your own coroutine type with the
// context_promise mixin), a thread-pool hand-off with bind_context, and the W3C traceparent
// header an outgoing request would carry. Prints one trace tree.
#include <agentrace/agentrace.hpp>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <latch>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace app {
inline constexpr agentrace::key<std::string> question{"app.question"};
inline constexpr agentrace::key<std::int64_t> documents{"app.documents"};
}  // namespace app

// A minimal thread pool; `co_await pool.schedule()` continues on one of its threads.
class thread_pool {
 public:
  explicit thread_pool(int n) {
    for (int i = 0; i < n; ++i)
      threads_.emplace_back([this](std::stop_token st) {
        for (;;) {
          std::function<void()> job;
          {
            std::unique_lock lock(mu_);
            cv_.wait(lock, st, [&] { return !jobs_.empty(); });
            if (jobs_.empty()) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
          }
          job();
        }
      });
  }
  void post(std::function<void()> job) {
    {
      std::lock_guard lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }
  auto schedule() {
    struct awaiter {
      thread_pool* pool;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) {
        pool->post([h] { h.resume(); });
      }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }

 private:
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::jthread> threads_;  // last: stopped and joined first
};

// Way 1: agentrace::task<T>. Spans nest correctly whichever thread resumes the coroutine.
agentrace::task<int> retrieve(thread_pool& pool, std::string q) {
  AGENTRACE_SPAN(s, "tool.retrieve", agentrace::span_kind::client);
  co_await pool.schedule();  // now on a pool thread; `s` is still the current span here
  s.set(app::documents, static_cast<std::int64_t>(q.size() % 5 + 1));
  co_return static_cast<int>(q.size() % 5 + 1);
}

agentrace::task<std::string> answer(thread_pool& pool, std::string q) {
  AGENTRACE_SPAN(s, "agent.answer");
  s.set(app::question, q);
  const int docs = co_await retrieve(pool, q);
  {
    AGENTRACE_SPAN(llm, "llm.chat", agentrace::span_kind::client);
    std::map<std::string, std::string> headers;  // an outgoing HTTP request's headers
    agentrace::inject(headers);                  // traceparent of llm.chat
    std::printf("outgoing traceparent: %s\n", headers["traceparent"].c_str());
    co_await pool.schedule();
  }
  co_return "answer from " + std::to_string(docs) + " documents";
}

// Way 2: your own coroutine type. Derive its promise from agentrace::context_promise and wrap
// the awaiters initial_suspend / final_suspend return; every co_await is handled for you.
struct fire_and_forget {
  struct promise_type : agentrace::context_promise<promise_type> {
    fire_and_forget get_return_object() noexcept { return {}; }
    auto initial_suspend() noexcept { return wrap_initial(std::suspend_never{}); }
    auto final_suspend() noexcept { return wrap_final(std::suspend_never{}); }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

fire_and_forget audit(thread_pool& pool, std::latch& done) {
  AGENTRACE_SPAN(s, "agent.audit");  // a child of the span current where audit() was called
  co_await pool.schedule();
  { AGENTRACE_SPAN(check, "audit.check"); }
  done.count_down();
}

int main() {
  auto tracing = agentrace::start({
      .service_name = "coroutine-example",
      .exporters = agentrace::exporters_from_env_or({agentrace::console()}),
  });
  thread_pool pool(2);
  {
    AGENTRACE_SPAN(request, "agent.request", agentrace::span_kind::server);
    std::latch audited(1), handed_off(1);
    audit(pool, audited);  // runs on, in the background
    const std::string a = agentrace::sync_wait(answer(pool, "How many orders shipped in May?"));
    std::printf("%s\n", a.c_str());
    // Plain thread-pool hand-off: the job runs under the context it was bound in.
    pool.post(agentrace::bind_context([&] {
      AGENTRACE_SPAN(s, "agent.summarise");
      handed_off.count_down();
    }));
    audited.wait();
    handed_off.wait();
  }
  tracing.force_flush();
}
