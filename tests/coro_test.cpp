// SPDX-License-Identifier: MIT
// Coroutines: the context follows the coroutine across suspensions and threads. Structure is
// asserted from the exported ids; every executor job is checked for context leaks.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <latch>
#include <stdexcept>
#include <thread>

#include "context_support.hpp"

using namespace std::chrono_literals;
using test_support::executor;
using test_support::span_tree;

namespace {

inline constexpr agentrace::key<std::int64_t> k_index{"test.index"};

agentrace::tracing start_memory(const std::shared_ptr<agentrace::memory_exporter>& mem) {
  return agentrace::start({.exporters = {mem}, .read_environment = false});
}

// A user's own coroutine type built with the promise mixin: starts eagerly, destroys itself when
// it finishes (fire and forget), counts down a latch at the end.
struct detached {
  struct promise_type : agentrace::context_promise<promise_type> {
    detached get_return_object() noexcept { return {}; }
    auto initial_suspend() noexcept { return wrap_initial(std::suspend_never{}); }
    auto final_suspend() noexcept { return wrap_final(std::suspend_never{}); }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

detached spawn(agentrace::task<> t, std::latch& done) {
  co_await std::move(t);
  done.count_down();
}

// Another one: eager, suspends at the end, owned (destroyed by its owner, also while suspended).
class owned {
 public:
  struct promise_type : agentrace::context_promise<promise_type> {
    owned get_return_object() noexcept {
      return owned(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    auto initial_suspend() noexcept { return wrap_initial(std::suspend_never{}); }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
    // final_suspend: the mixin's (suspend_always, wrapped)
  };
  explicit owned(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  owned(owned&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  ~owned() { reset(); }
  void reset() {
    if (h_) std::exchange(h_, {}).destroy();
  }
  bool done() const { return h_.done(); }

 private:
  std::coroutine_handle<promise_type> h_;
};

// Parks the coroutine: keeps its handle and never resumes it.
struct parking {
  std::coroutine_handle<> h;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> c) noexcept { h = c; }
  void await_resume() const noexcept {}
};

// The kernel thread id. Not std::this_thread::get_id(): clang treats pthread_self() as a pure
// function and reuses its result across co_await (llvm-project#47177), a thread hop included.
long thread_id() { return ::syscall(SYS_gettid); }

struct hop_record {
  long began_on = 0, resumed_on = 0;
  agentrace::span_context span_on_a, current_on_a, current_on_b;
};

agentrace::task<> hop(executor& a, executor& b, hop_record& r) {
  co_await a.schedule();
  AGENTRACE_SPAN(s, "hop");
  r.began_on = thread_id();
  r.span_on_a = s.context();
  r.current_on_a = agentrace::current_context();
  co_await b.after(30ms);
  r.resumed_on = thread_id();
  r.current_on_b = agentrace::current_context();
  AGENTRACE_SPAN(inner, "hop.inner");
}

}  // namespace

TEST_CASE("a coroutine that suspends on thread A and resumes on thread B keeps its context") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  executor a(1), b(1);
  hop_record r;
  agentrace::span_context root_ctx;
  {
    AGENTRACE_SPAN(root, "root");
    root_ctx = root.context();
    agentrace::sync_wait(hop(a, b, r));
    // The main thread got its own context back.
    CHECK(agentrace::current_context() == root_ctx);
  }
  // Thread A has no context left behind by the coroutine that suspended on it.
  agentrace::span_context on_a_after{};
  std::latch probed(1);
  a.post([&] {
    on_a_after = agentrace::current_context();
    probed.count_down();
  });
  probed.wait();
  a.stop();
  b.stop();
  CHECK_FALSE(on_a_after.valid());
  CHECK(a.leaks == 0);
  CHECK(b.leaks == 0);

  CHECK(r.began_on != r.resumed_on);
  CHECK(r.current_on_a == r.span_on_a);
  CHECK(r.current_on_b == r.span_on_a);  // re-installed on B

  REQUIRE(tracing.force_flush());
  span_tree t(mem->spans());
  REQUIRE(t.spans.size() == 3);
  CHECK(t.is_child("hop", "root"));
  CHECK(t.is_child("hop.inner", "hop"));
  // The span held across co_await ended on B after the 30 ms wait: its duration covers it.
  CHECK(t.get("hop").duration_ns() >= 30'000'000u);
  CHECK(t.get("hop").duration_ns() < 30'000'000'000u);
  CHECK(t.get("hop").span_id == r.span_on_a.span_id);
}

namespace {
agentrace::task<> interleaved_worker(std::int64_t i, executor& ex, int steps,
                                     std::vector<std::int64_t>& order) {
  co_await ex.schedule();
  AGENTRACE_SPAN(w, "worker");
  w.set(k_index, i);
  for (int k = 0; k < steps; ++k) {
    AGENTRACE_SPAN(step, "step");
    step.set(k_index, i);
    order.push_back(i);      // one executor thread: no race
    co_await ex.schedule();  // yield: the other coroutines run in between
  }
}
}  // namespace

TEST_CASE("many coroutines interleaved on one thread each keep their own context") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  constexpr int n = 64, steps = 5;
  executor ex(1);
  std::vector<std::int64_t> order;
  std::latch done(n), all_spawned(1);
  ex.post([&] { all_spawned.wait(); });  // the executor starts once every coroutine waits in line
  for (std::int64_t i = 0; i < n; ++i) spawn(interleaved_worker(i, ex, steps, order), done);
  all_spawned.count_down();
  done.wait();
  ex.stop();
  CHECK(ex.leaks == 0);
  CHECK_FALSE(agentrace::current_context().valid());

  // Interleaved round robin on the one thread: step k of every coroutine, then step k + 1.
  REQUIRE(order.size() == std::size_t(n * steps));
  int out_of_turn = 0;
  for (std::size_t j = 0; j < order.size(); ++j) out_of_turn += order[j] != std::int64_t(j % n);
  CHECK(out_of_turn == 0);

  REQUIRE(tracing.force_flush());
  const auto spans = mem->spans();
  REQUIRE(spans.size() == std::size_t(n + n * steps));
  std::map<std::int64_t, agentrace::span_data> workers;
  for (const auto& s : spans)
    if (s.name == "worker") workers[std::get<std::int64_t>(*s.attr("test.index"))] = s;
  REQUIRE(workers.size() == std::size_t(n));
  std::map<std::int64_t, int> steps_under;
  int misplaced = 0;
  for (const auto& s : spans) {
    if (s.name != "step") continue;
    const auto i = std::get<std::int64_t>(*s.attr("test.index"));
    const auto& w = workers.at(i);
    if (s.parent_span_id == w.span_id && s.trace_id == w.trace_id)
      ++steps_under[i];
    else
      ++misplaced;
  }
  CHECK(misplaced == 0);
  for (const auto& [i, w] : workers) {
    CHECK(w.parent_span_id == 0);  // each coroutine was created without a context: its own trace
    CHECK(steps_under[i] == steps);
  }
}

namespace {
agentrace::task<int> level3(executor& p) {
  AGENTRACE_SPAN(s, "l3");
  co_await p.schedule();
  co_return 3;
}
agentrace::task<int> level2(executor& p) {
  AGENTRACE_SPAN(s, "l2");
  co_await p.schedule();
  const int v = co_await level3(p);
  { AGENTRACE_SPAN(after, "l2.after"); }
  co_return v + 2;
}
agentrace::task<int> level1(executor& p) {
  AGENTRACE_SPAN(s, "l1");
  const int v = co_await level2(p);
  auto lazy = level3(p);  // created under l1: that is its context, wherever it is awaited
  {
    AGENTRACE_SPAN(other, "l1.other");
    co_await p.schedule();
    co_await lazy;  // lvalue await: the result stays in the task
  }
  co_return v + 1;
}
}  // namespace

TEST_CASE("nested coroutines each with spans nest under each other on a thread pool") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  executor pool(4);
  CHECK(agentrace::sync_wait(level1(pool)) == 6);
  pool.stop();
  CHECK(pool.leaks == 0);
  REQUIRE(tracing.force_flush());
  span_tree t(mem->spans());
  REQUIRE(t.spans.size() == 6);
  CHECK(t.get("l1").parent_span_id == 0);
  CHECK(t.is_child("l2", "l1"));
  CHECK(t.is_child("l2.after", "l2"));
  CHECK(t.is_child("l1.other", "l1"));
  int l3_under_l2 = 0, l3_under_l1 = 0;
  for (const auto& s : t.spans) {
    if (s.name != "l3") continue;
    l3_under_l2 += s.parent_span_id == t.get("l2").span_id;
    l3_under_l1 += s.parent_span_id == t.get("l1").span_id;
  }
  CHECK(l3_under_l2 == 1);
  CHECK(l3_under_l1 == 1);  // the task created under l1, awaited inside l1.other
}

namespace {
agentrace::task<int> thrower(executor& p) {
  AGENTRACE_SPAN(s, "thrower");
  co_await p.schedule();
  throw std::runtime_error("tool failed");
}
agentrace::task<int> catcher(executor& p, agentrace::span_context& mine,
                             agentrace::span_context& after_catch) {
  AGENTRACE_SPAN(s, "catcher");
  mine = s.context();
  try {
    co_return co_await thrower(p);
  } catch (const std::runtime_error& e) {
    after_catch = agentrace::current_context();
    s.record_exception(e);
  }
  co_return -1;
}
}  // namespace

TEST_CASE("an exception thrown across co_await propagates and the context stays right") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  executor pool(2);
  agentrace::span_context mine, after_catch;
  CHECK(agentrace::sync_wait(catcher(pool, mine, after_catch)) == -1);
  CHECK(after_catch == mine);  // back in the catcher's span after the throw on a pool thread

  // Not caught in any coroutine: sync_wait rethrows it in the caller, whose context is intact.
  {
    AGENTRACE_SPAN(outer, "outer");
    const auto outer_ctx = outer.context();
    CHECK_THROWS_WITH(agentrace::sync_wait(thrower(pool)), "tool failed");
    CHECK(agentrace::current_context() == outer_ctx);
  }
  pool.stop();
  CHECK(pool.leaks == 0);

  REQUIRE(tracing.force_flush());
  const auto spans = mem->spans();
  REQUIRE(spans.size() == 4);
  const auto catcher_span = *mem->find("catcher");
  const auto outer_span = *mem->find("outer");
  int errors = 0, under_catcher = 0, under_outer = 0;
  for (const auto& s : spans) {
    if (s.name != "thrower") continue;
    errors += s.status == agentrace::status_code::error;
    under_catcher += s.parent_span_id == catcher_span.span_id;
    under_outer += s.parent_span_id == outer_span.span_id;
  }
  CHECK(errors == 2);  // the exception went through the span's scope
  CHECK(under_catcher == 1);
  CHECK(under_outer == 1);
  CHECK(catcher_span.status == agentrace::status_code::error);
}

namespace {
agentrace::task<> victim(parking& p) {
  AGENTRACE_SPAN(s, "victim");
  { AGENTRACE_SPAN(before, "victim.before"); }
  co_await p;
  AGENTRACE_SPAN(never, "victim.never");
}
owned top(parking& p) {
  AGENTRACE_SPAN(s, "top");
  co_await victim(p);
}
}  // namespace

TEST_CASE("a coroutine destroyed while suspended ends its spans and leaks nothing") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  const auto before = tracing.stats();  // stats are per process
  executor other(1);
  agentrace::span_context root_ctx;
  {
    AGENTRACE_SPAN(root, "root");
    root_ctx = root.context();
    parking p1, p2;
    {
      owned t1 = top(p1);  // runs eagerly into victim, which parks
      REQUIRE(p1.h);
      CHECK_FALSE(t1.done());
      CHECK(agentrace::current_context() == root_ctx);  // given back at the suspension
    }  // destroyed here, on this thread, while suspended
    CHECK(agentrace::current_context() == root_ctx);

    // The same, destroyed on another thread.
    auto t2 = std::make_shared<owned>(top(p2));
    REQUIRE(p2.h);
    std::latch destroyed(1);
    other.post([&] {
      t2->reset();
      destroyed.count_down();
    });
    destroyed.wait();
  }
  other.stop();
  CHECK(other.leaks == 0);
  const auto s = tracing.stats();
  REQUIRE(tracing.force_flush());
  const auto spans = mem->spans();
  REQUIRE(spans.size() == 7);  // root, 2 x (top, victim, victim.before); never victim.never
  CHECK_FALSE(mem->find("victim.never"));
  const auto root_span = *mem->find("root");
  std::map<std::uint64_t, const agentrace::span_data*> by_id;
  for (const auto& sp : spans) by_id[sp.span_id] = &sp;
  int tops = 0, victims = 0;
  for (const auto& sp : spans) {
    if (sp.name == "top") {
      ++tops;
      CHECK(sp.parent_span_id == root_span.span_id);
    } else if (sp.name == "victim") {
      ++victims;
      REQUIRE(by_id.count(sp.parent_span_id));
      CHECK(by_id[sp.parent_span_id]->name == "top");
    }
  }
  CHECK(tops == 2);
  CHECK(victims == 2);
  CHECK(s.dropped_total() - before.dropped_total() == 0);
}

namespace {
// Composition instead of inheritance: a promise that keeps its own await_transform and holds a
// coroutine_context member, using the awaitable adapter.
struct counted_await {
  struct promise_type {
    agentrace::coroutine_context ctx;
    int awaits = 0;
    counted_await get_return_object() noexcept {
      return counted_await{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    auto initial_suspend() noexcept { return ctx.wrap_initial(std::suspend_always{}); }
    auto final_suspend() noexcept { return ctx.wrap_final(std::suspend_always{}); }
    template <class A>
    auto await_transform(A&& a) {
      ++awaits;
      return ctx.wrap_in_place(std::forward<A>(a));
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> h;
  ~counted_await() {
    if (h) h.destroy();
  }
};

counted_await adapter_user(executor& a, executor& b, std::latch& done) {
  AGENTRACE_SPAN(s, "adapter.outer");
  co_await a.schedule();
  { AGENTRACE_SPAN(x, "adapter.on_a"); }
  co_await b.schedule();
  { AGENTRACE_SPAN(y, "adapter.on_b"); }
  s.end();
  done.count_down();
}
}  // namespace

TEST_CASE("a coroutine type with its own await_transform uses the awaitable adapter") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  executor a(1), b(1);
  std::latch done(1);
  agentrace::span_context root_ctx;
  {
    AGENTRACE_SPAN(root, "root");
    root_ctx = root.context();
    auto c = adapter_user(a, b, done);                              // lazy: created under root
    agentrace::context_scope elsewhere(agentrace::span_context{});  // started without a context
    c.h.resume();
    CHECK_FALSE(agentrace::current_context().valid());  // suspended: our (empty) context is back
    done.wait();
    a.stop();
    b.stop();
    CHECK(c.h.promise().awaits == 2);
  }
  CHECK(a.leaks == 0);
  CHECK(b.leaks == 0);
  REQUIRE(tracing.force_flush());
  span_tree t(mem->spans());
  CHECK(t.is_child("adapter.outer", "root"));
  CHECK(t.is_child("adapter.on_a", "adapter.outer"));
  CHECK(t.is_child("adapter.on_b", "adapter.outer"));
}

TEST_CASE("an eager coroutine gives the starting thread its context back when it suspends") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  executor pool(1);
  std::latch done(1);
  agentrace::span_context main_ctx;
  {
    AGENTRACE_SPAN(main_span, "main");
    main_ctx = main_span.context();
    spawn(
        [](executor& p) -> agentrace::task<> {
          AGENTRACE_SPAN(s, "spawned");
          co_await p.after(5ms);
          AGENTRACE_SPAN(t, "spawned.later");
        }(pool),
        done);
    CHECK(agentrace::current_context() == main_ctx);
    {
      AGENTRACE_SPAN(sibling, "main.sibling");  // must not be under "spawned"
    }
    done.wait();
  }
  pool.stop();
  CHECK(pool.leaks == 0);
  REQUIRE(tracing.force_flush());
  span_tree t(mem->spans());
  CHECK(t.is_child("spawned", "main"));
  CHECK(t.is_child("spawned.later", "spawned"));
  CHECK(t.is_child("main.sibling", "main"));
}

TEST_CASE("task basics: lazy, move-only results, empty task") {
  auto make = []() -> agentrace::task<std::unique_ptr<int>> { co_return std::make_unique<int>(7); };
  auto t = make();
  CHECK_FALSE(t.done());
  auto p = agentrace::sync_wait(std::move(t));
  REQUIRE(p);
  CHECK(*p == 7);
  agentrace::task<int> empty;
  CHECK_FALSE(empty.valid());
  CHECK_THROWS_AS(agentrace::sync_wait(std::move(empty)), std::logic_error);
}
