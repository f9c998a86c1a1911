// SPDX-License-Identifier: MIT
// agentrace/asio.hpp: hundreds of asio::awaitable coroutines on multi-threaded pools, with timers,
// hops to another pool, co_spawn of nested coroutines, strands, spans that end out of order and
// spans carried to other threads; every span's trace and parent are checked against the structure
// the program built, and plain spans begun afterwards on every pool thread must be roots.
#include <agentrace/agentrace.hpp>
#include <agentrace/asio.hpp>
#include <catch2/catch.hpp>

#include "request_tree.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <atomic>
#include <barrier>
#include <chrono>
#include <latch>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace {

using ::asio::awaitable;
using ::asio::use_awaitable;
using pool_executor = ::asio::thread_pool::executor_type;

inline constexpr agentrace::key<std::int64_t> request_key{"test.request"};

awaitable<void> sleep_ms(int ms) {
  ::asio::steady_timer t(co_await ::asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(use_awaitable);
}

awaitable<void> nested(std::int64_t i) {
  AGENTRACE_SPAN(g, "grandchild");
  g.set(request_key, i);
  co_await sleep_ms(static_cast<int>(i % 3));
  co_await ::asio::post(use_awaitable);  // resumes through the coroutine's own executor
}

awaitable<void> on_other_pool(std::int64_t i) {
  AGENTRACE_SPAN(s, "other.pool");
  s.set(request_key, i);
  co_await sleep_ms(1);
}

// The structure each request builds (checked in verify()):
//   request ── child ── grandchild
//           │        └─ other.pool            (a coroutine co_spawned on the other pool)
//           ├─ ooo.a ── ooo.b ── ooo.c        (ooo.a ends before ooo.b)
//           ├─ ooo.d                          (after ooo.b: not under the ended ooo.a)
//           ├─ handed.off                     (moved to the other pool and ended there)
//           └─ after.handoff
awaitable<void> request(std::int64_t i, pool_executor other_raw,
                        agentrace::asio::traced_executor<pool_executor> other) {
  AGENTRACE_SPAN(root, "request");
  root.set(request_key, i);
  co_await sleep_ms(static_cast<int>(i % 4));
  co_await ::asio::post(other_raw, use_awaitable);  // a hop through another pool
  {
    AGENTRACE_SPAN(child, "child");
    child.set(request_key, i);
    co_await nested(i);
    co_await ::asio::co_spawn(other, on_other_pool(i), use_awaitable);
  }
  {
    std::optional<agentrace::span<"ooo.a">> a;
    a.emplace();
    a->set(request_key, i);
    AGENTRACE_SPAN(b, "ooo.b");
    b.set(request_key, i);
    co_await sleep_ms(1);
    a.reset();  // ends a while b is current, maybe on another thread than a began on
    co_await ::asio::post(other_raw, use_awaitable);
    {
      AGENTRACE_SPAN(c, "ooo.c");
      c.set(request_key, i);
    }
    b.end();  // back to the request, not to the ended ooo.a
    co_await sleep_ms(1);
    AGENTRACE_SPAN(d, "ooo.d");
    d.set(request_key, i);
  }
  {
    AGENTRACE_SPAN(h, "handed.off");
    h.set(request_key, i);
    ::asio::post(other_raw, [s = agentrace::scoped_span(std::move(h))]() mutable { s.end(); });
  }
  AGENTRACE_SPAN(e, "after.handoff");
  e.set(request_key, i);
  co_await sleep_ms(1);
}

struct run_result {
  std::vector<agentrace::span_data> spans;
  int errors = 0;
  int plain_threads = 0;
  int dirty_threads = 0;  // pool threads left with a context, or a set of ended spans
};

// Every thread of `pool` (n threads) begins a plain span at once: each must be a root.
void plain_spans_everywhere(::asio::thread_pool& pool, int n, run_result& r, std::mutex& mu) {
  std::barrier all(n);
  std::latch done(n);
  for (int k = 0; k < n; ++k)
    ::asio::post(pool, [&] {
      all.arrive_and_wait();  // n tasks at once: one per thread
      const bool dirty =
          agentrace::current_context().valid() || agentrace::detail::tls.ended != nullptr;
      { AGENTRACE_SPAN(p, "plain"); }  // verify(): its parent must be none
      {
        std::lock_guard<std::mutex> lock(mu);
        r.dirty_threads += dirty ? 1 : 0;
        ++r.plain_threads;
      }
      done.count_down();
    });
  done.wait();
}

run_result run_requests(int n, int threads, int other_threads) {
  auto m = agentrace::memory();
  auto tracing =
      agentrace::start({.exporters = {m}, .max_queue_size = 65536, .read_environment = false});
  run_result r;
  std::atomic<int> errors{0};
  {
    ::asio::thread_pool pool(static_cast<std::size_t>(threads));
    ::asio::thread_pool other_pool(static_cast<std::size_t>(other_threads));
    auto ex = agentrace::asio::traced(pool.get_executor());
    auto strand_ex = agentrace::asio::traced(::asio::make_strand(pool.get_executor()));
    auto other = agentrace::asio::traced(other_pool.get_executor());
    std::latch finished(n);
    auto on_done = [&](std::exception_ptr e) {
      if (e) ++errors;
      finished.count_down();
    };
    {
      AGENTRACE_SPAN(spawner, "spawner");
      for (int i = 0; i < n; i += 2) {  // even requests: children of the spawner
        if (i % 6 == 0)
          ::asio::co_spawn(strand_ex, request(i, other_pool.get_executor(), other), on_done);
        else
          ::asio::co_spawn(ex, request(i, other_pool.get_executor(), other), on_done);
      }
    }
    for (int i = 1; i < n; i += 2)  // odd requests: roots
      ::asio::co_spawn(ex, request(i, other_pool.get_executor(), other), on_done);
    finished.wait();
    std::mutex mu;
    plain_spans_everywhere(pool, threads, r, mu);
    plain_spans_everywhere(other_pool, other_threads, r, mu);
    pool.join();
    other_pool.join();
  }
  CHECK_FALSE(agentrace::current_context().valid());
  REQUIRE(tracing.force_flush());
  const auto st = tracing.stats();
  CHECK(st.dropped_queue_full == 0);
  r.errors = errors.load();
  r.spans = m->spans();
  return r;
}

void verify(const run_result& r, int n, int threads, int other_threads) {
  CHECK(r.errors == 0);
  CHECK(r.plain_threads == threads + other_threads);
  CHECK(r.dirty_threads == 0);
  test_support::check_spawned_requests(r.spans,
                                       {{"child", "request"},
                                        {"grandchild", "child"},
                                        {"other.pool", "child"},
                                        {"ooo.a", "request"},
                                        {"ooo.b", "ooo.a"},
                                        {"ooo.c", "ooo.b"},
                                        {"ooo.d", "request"},
                                        {"handed.off", "request"},
                                        {"after.handoff", "request"}},
                                       n, threads + other_threads);
}

}  // namespace

TEST_CASE("asio: 300 coroutines on two multi-threaded pools keep their context", "[asio]") {
  constexpr int n = 300, threads = 4, other_threads = 3;
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    const run_result r = run_requests(n, threads, other_threads);
    verify(r, n, threads, other_threads);
  }
}

TEST_CASE("asio: post from ordinary code carries the poster's context", "[asio]") {
  auto m = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {m}, .read_environment = false});
  ::asio::thread_pool pool(2);
  auto ex = agentrace::asio::traced(pool.get_executor());
  agentrace::span_context outer;
  std::latch done(2);
  {
    AGENTRACE_SPAN(o, "outer");
    outer = o.context();
    ::asio::post(ex, [&] {
      AGENTRACE_SPAN(in, "in.posted");
      done.count_down();
    });
  }
  ::asio::post(ex, [&] {  // posted with no context: a root
    AGENTRACE_SPAN(in, "in.unrelated");
    done.count_down();
  });
  done.wait();
  pool.join();
  REQUIRE(tracing.force_flush());
  int checked = 0;
  for (const auto& s : m->spans()) {
    if (s.name == "in.posted") {
      CHECK(s.parent_span_id == outer.span_id);
      ++checked;
    }
    if (s.name == "in.unrelated") {
      CHECK(s.parent_span_id == 0);
      ++checked;
    }
  }
  CHECK(checked == 2);
}
