// SPDX-License-Identifier: MIT
// The current context after spans end out of order (a parent before its child, under a
// context_scope, moved spans, unsampled spans in the chain, inside coroutines) and after a span
// ends on another thread than it began on: it always goes back to the nearest still-live span.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <coroutine>
#include <exception>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include "context_support.hpp"
#include "request_tree.hpp"

using test_support::executor;
using test_support::span_tree;

namespace {

agentrace::tracing start_memory(const std::shared_ptr<agentrace::memory_exporter>& mem) {
  return agentrace::start({.exporters = {mem}, .read_environment = false});
}

agentrace::span_context cur() { return agentrace::current_context(); }

std::size_t ended_entries() {
  const auto* set = agentrace::detail::tls.ended;
  return set ? set->entries.size() : 0;
}

agentrace::span_context with_sampled(agentrace::span_context c, bool sampled) {
  c.flags = sampled ? static_cast<std::uint8_t>(c.flags | agentrace::flag_sampled)
                    : static_cast<std::uint8_t>(c.flags & ~agentrace::flag_sampled);
  return c;
}

}  // namespace

TEST_CASE("a parent ended before its child: the context goes back to the nearest live ancestor") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  agentrace::span_context x_ctx, p_ctx, c_ctx;
  {
    AGENTRACE_SPAN(x, "x");
    x_ctx = x.context();
    {
      AGENTRACE_SPAN(p, "p");
      p_ctx = p.context();
      AGENTRACE_SPAN(c, "c");
      c_ctx = c.context();
      p.end();
      CHECK(cur() == c_ctx);       // the child is still current
      { AGENTRACE_SPAN(d, "d"); }  // a child of c
      CHECK(cur() == c_ctx);
    }  // c ends: x, not the ended p, is current again
    CHECK(cur() == x_ctx);
    CHECK(ended_entries() == 0);
    AGENTRACE_SPAN(after, "after");
  }
  CHECK_FALSE(cur().valid());
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  REQUIRE(t.spans.size() == 5);
  CHECK(t.is_child("p", "x"));
  CHECK(t.is_child("c", "p"));  // recorded parents are unchanged
  CHECK(t.is_child("d", "c"));
  CHECK(t.is_child("after", "x"));
}

TEST_CASE("a root ended before its child leaves no context behind") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  {
    AGENTRACE_SPAN(parent, "parent");
    AGENTRACE_SPAN(child, "child");
    parent.end();
  }
  CHECK_FALSE(cur().valid());
  { AGENTRACE_SPAN(next, "next"); }
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  CHECK(t.get("next").parent_span_id == 0);
  CHECK_FALSE(t.get("next").trace_id == t.get("parent").trace_id);
}

// Six nested spans, every other one unsampled (begun under an explicit unsampled parent), ended
// in each of the 720 orders: after every end, the current context is the innermost span still
// alive, and nothing is left in the out-of-order table at the end.
TEST_CASE(
    "every end order of six nested spans, sampled and unsampled: the innermost live span "
    "is current") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  const auto unsampled_before = tracing.stats().dropped_unsampled;  // stats are per process
  static constexpr agentrace::span_site site =
      agentrace::detail::make_site(__FILE__, __LINE__, "perm", "perm");
  constexpr int n = 6;
  std::array<int, n> order{0, 1, 2, 3, 4, 5};
  int orders = 0, unsampled_seen = 0;
  do {
    std::array<std::optional<agentrace::scoped_span>, n> s;
    std::array<agentrace::span_context, n> ctx{};
    for (int i = 0; i < n; ++i) {
      const bool sampled = i % 2 == 0;
      if (i == 0)
        s[i].emplace(&site);
      else
        s[i].emplace(&site, with_sampled(ctx[i - 1], sampled));
      ctx[i] = s[i]->context();
      REQUIRE(ctx[i].sampled() == sampled);
      REQUIRE(cur() == ctx[i]);
    }
    unsampled_seen += !ctx[1].sampled();
    std::array<bool, n> alive{};
    alive.fill(true);
    for (int k = 0; k < n; ++k) {
      s[order[k]]->end();
      alive[order[k]] = false;
      int innermost = -1;
      for (int i = 0; i < n; ++i)
        if (alive[i]) innermost = i;
      const auto expected = innermost < 0 ? agentrace::span_context{} : ctx[innermost];
      REQUIRE(cur() == expected);
    }
    REQUIRE(ended_entries() == 0);
    if (++orders % 50 == 0) REQUIRE(tracing.force_flush());  // keep this thread's queue short
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(orders == 720);
  CHECK(unsampled_seen == 720);
  REQUIRE(tracing.force_flush());
  CHECK(m->spans().size() == 720u * 3u);  // the sampled half
  CHECK(tracing.stats().dropped_unsampled - unsampled_before == 720u * 3u);
}

TEST_CASE("several out-of-order ends, then new spans take the nearest live ancestor as parent") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  std::optional<agentrace::span<"a">> a;
  std::optional<agentrace::span<"b">> b;
  std::optional<agentrace::span<"c">> c;
  std::optional<agentrace::span<"d">> d;
  a.emplace();
  b.emplace();
  c.emplace();
  d.emplace();
  const auto a_ctx = a->context(), d_ctx = d->context();
  c->end();  // c, then b: both ended under d
  b->end();
  CHECK(cur() == d_ctx);
  { agentrace::span<"e"> e; }  // a child of d
  d->end();                    // d had replaced c, c had replaced b, b had replaced a
  CHECK(cur() == a_ctx);
  { agentrace::span<"f"> f; }  // a child of a
  a->end();
  CHECK_FALSE(cur().valid());
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  CHECK(t.is_child("e", "d"));
  CHECK(t.is_child("f", "a"));
  CHECK(t.is_child("d", "c"));
}

TEST_CASE("moved spans: the scope stays where the span began, move-assignment ends the target") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  agentrace::span_context x_ctx;
  {
    AGENTRACE_SPAN(x, "x");
    x_ctx = x.context();
    std::optional<agentrace::scoped_span> holder;
    {
      AGENTRACE_SPAN(p, "p");
      const auto p_ctx = p.context();
      holder.emplace(std::move(p));  // the move ctor: the span moves, its scope stays with `p`
      CHECK(cur() == p_ctx);
      CHECK_FALSE(p.context().valid());
      CHECK(holder->context() == p_ctx);
      AGENTRACE_SPAN(c, "c");
      holder->end();  // the span ends through its new owner; the scope is `p`'s
      CHECK(cur() == c.context());
    }
    CHECK(cur() == x_ctx);
    CHECK(ended_entries() == 0);

    // Move-assignment onto a live span ends it; here the target is the source's grandparent.
    agentrace::scoped_span target;
    {
      AGENTRACE_SPAN(t0, "t0");
      target = std::move(t0);  // empty target: nothing ends
    }  // t0's scope closes: x is current again, while `target` still carries t0's span
    CHECK(cur() == x_ctx);
    AGENTRACE_SPAN(t1, "t1");
    target.end();
    t1.end();
    target = [] {  // a span returned from a function: its scope closed on return
      AGENTRACE_SPAN(r, "returned");
      return agentrace::scoped_span(std::move(r));
    }();
    CHECK(cur() == x_ctx);
    target.end();
    AGENTRACE_SPAN(t2, "t2");
    AGENTRACE_SPAN(mid, "mid");
    AGENTRACE_SPAN(src, "src");
    const auto src_ctx = src.context();
    t2 = std::move(src);  // ends t2 (an ancestor of src) out of order; src's scope stays
    CHECK(cur() == src_ctx);
    t2.end();  // src ends; its scope is still open
    CHECK(cur() == src_ctx);
    src.end();  // src's scope closes: back to mid (alive)
    CHECK(cur() == mid.context());
    mid.end();
    CHECK(cur() == x_ctx);  // t2 ended: x
    CHECK(ended_entries() == 0);
  }
  CHECK_FALSE(cur().valid());
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  CHECK(t.is_child("c", "p"));
  CHECK(t.is_child("t0", "x"));
  CHECK(t.is_child("t1", "x"));
  CHECK(t.is_child("returned", "x"));
  CHECK(t.is_child("mid", "t2"));
  CHECK(t.is_child("src", "mid"));
}

TEST_CASE("a span that ends under a context_scope is not restored when the scope closes") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  AGENTRACE_SPAN(x, "x");
  {
    std::optional<agentrace::span<"p">> p;
    p.emplace();
    {
      agentrace::context_scope detach(agentrace::span_context{});
      p->end();
    }
    CHECK(cur() == x.context());
  }
  CHECK(ended_entries() == 0);
}

namespace {
agentrace::task<> out_of_order_in_coroutine(executor& ex, agentrace::span_context& seen_after) {
  co_await ex.schedule();  // from here on, on the executor's one worker thread
  AGENTRACE_SPAN(p, "co.p");
  std::optional<agentrace::span<"co.c">> c;
  c.emplace();
  p.end();
  co_await ex.schedule();  // suspends; resumes on the same thread, where p ended
  { agentrace::span<"co.d"> d; }
  c.reset();
  seen_after = agentrace::current_context();  // the coroutine's own context: the caller's span
  AGENTRACE_SPAN(q, "co.q");
}
}  // namespace

TEST_CASE("inside a coroutine, a parent ended before its child is not restored") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  executor ex(1);
  agentrace::span_context root_ctx, seen_after;
  {
    AGENTRACE_SPAN(root, "root");
    root_ctx = root.context();
    agentrace::sync_wait(out_of_order_in_coroutine(ex, seen_after));
    CHECK(cur() == root_ctx);
  }
  ex.stop();
  CHECK(ex.leaks == 0);
  CHECK(seen_after == root_ctx);
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  CHECK(t.is_child("co.p", "root"));
  CHECK(t.is_child("co.c", "co.p"));
  CHECK(t.is_child("co.d", "co.c"));
  CHECK(t.is_child("co.q", "root"));
}

// ---- spans that end on another thread than the one they began on ----

TEST_CASE("a span moved to another thread and ended there: its scope stays on the origin") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  agentrace::span_context x_ctx, s_ctx;
  {
    AGENTRACE_SPAN(x, "x");
    x_ctx = x.context();
    AGENTRACE_SPAN(s, "handed.off");
    s_ctx = s.context();
    std::thread([h = std::move(s)]() mutable { h.end(); }).join();
    CHECK(cur() == s_ctx);  // the scope that began it is still open here
    s.end();                // closes it
    { AGENTRACE_SPAN(r, "r"); }
    CHECK(cur() == x_ctx);
    { AGENTRACE_SPAN(r2, "r2"); }
    CHECK(cur() == x_ctx);
  }
  CHECK_FALSE(cur().valid());
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  REQUIRE(t.spans.size() == 4);
  CHECK(t.is_child("handed.off", "x"));
  CHECK(t.is_child("r", "x"));
  CHECK(t.is_child("r2", "x"));
}

TEST_CASE("a root span handed to another thread: the origin's next span starts a new trace") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  {
    AGENTRACE_SPAN(s, "request");
    std::thread([h = std::move(s)]() mutable { h.end(); }).join();
  }
  AGENTRACE_SPAN(next, "next");
  CHECK(next.context().valid());
  next.end();
  CHECK_FALSE(cur().valid());
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  CHECK(t.get("next").parent_span_id == 0);
  CHECK_FALSE(t.get("next").trace_id == t.get("request").trace_id);
}

TEST_CASE("a handed-off span is current only in the scope that began it (the documented rule)") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  AGENTRACE_SPAN(x, "x");
  std::latch may_end(1);
  std::thread worker;
  {
    AGENTRACE_SPAN(s, "in.flight");
    worker = std::thread([h = std::move(s), &may_end]() mutable {
      may_end.wait();
      agentrace::context_scope in(h.context());  // the worker's spans nest under it explicitly
      { AGENTRACE_SPAN(w, "on.worker"); }
      h.end();
    });
  }
  { AGENTRACE_SPAN(during, "during"); }  // unrelated work: the span's scope has closed here
  may_end.count_down();
  worker.join();
  { AGENTRACE_SPAN(after, "after"); }
  CHECK(cur() == x.context());
  x.end();
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  CHECK(t.is_child("during", "x"));
  CHECK(t.is_child("on.worker", "in.flight"));
  CHECK(t.is_child("after", "x"));
}

TEST_CASE("the ways a span can leave its thread: shared ownership, unsampled, under a child") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  AGENTRACE_SPAN(x, "x");
  const auto x_ctx = x.context();
  {  // ended by the last owner, on another thread, without being moved
    auto shared = std::make_shared<agentrace::span<"shared">>();
    std::thread([p = std::move(shared)]() mutable { p.reset(); }).join();
  }
  { AGENTRACE_SPAN(a1, "after.shared"); }
  CHECK(cur() == x_ctx);
  {  // unsampled
    agentrace::scoped_span u(&agentrace::span<"unsampled">::site, with_sampled(x_ctx, false));
    CHECK_FALSE(u.context().sampled());
    std::thread([h = std::move(u)]() mutable { h.end(); }).join();
  }
  { AGENTRACE_SPAN(a2, "after.unsampled"); }
  CHECK(cur() == x_ctx);
  {  // moved away while a child begun after it is current here; the child ends later
    std::optional<agentrace::span<"moved.parent">> p;
    p.emplace();
    AGENTRACE_SPAN(child, "child.here");
    std::thread([h = std::move(*p)]() mutable { h.end(); }).join();
    CHECK(cur() == child.context());
  }  // child ends: it restores x, not its ended parent
  { AGENTRACE_SPAN(a3, "after.child"); }
  CHECK(cur() == x_ctx);
  x.end();
  CHECK_FALSE(cur().valid());
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  CHECK(t.is_child("after.shared", "x"));
  CHECK(t.is_child("after.unsampled", "x"));
  CHECK(t.is_child("child.here", "moved.parent"));
  CHECK(t.is_child("after.child", "x"));
}

TEST_CASE("a span ended on another thread after its origin thread exited is still exported") {
  auto m = agentrace::memory();
  auto tracing = start_memory(m);
  const std::uint64_t unrepaired = tracing.stats().remote_ends_unrepaired;
  std::optional<agentrace::scoped_span> carried;
  std::thread([&] {
    agentrace::span<"from.exited"> s;
    carried.emplace(std::move(s));
  }).join();
  carried->end();  // the origin thread is gone: nothing to repair, nothing to crash
  CHECK_FALSE(cur().valid());
  CHECK(tracing.stats().remote_ends_unrepaired == unrepaired);  // the scope closed at home
  std::optional<agentrace::span<"left.behind">> left;           // begun there, never moved
  std::thread([&] { left.emplace(); }).join();
  left.reset();  // its scope closes here, away from its exited thread: nothing to repair
  CHECK_FALSE(cur().valid());
  CHECK(tracing.stats().remote_ends_unrepaired == unrepaired + 1);  // counted, not a loss
  CHECK(tracing.stats().context_entries_lost == 0);
  REQUIRE(tracing.force_flush());
  span_tree t(m->spans());
  CHECK(t.spans.size() == 2);
}

TEST_CASE("a span of thread 65,537 closed on thread 1 is reported to its own thread") {
  // Chain ids (and thread numbers) are made to collide modulo 65,536 between this thread and the
  // worker: an identity that wrapped would take the worker's span for one of this thread's.
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  { AGENTRACE_SPAN(warm, "warm.up"); }  // this thread's state (and chain) exists
  const std::uint64_t here = agentrace::detail::tls.chain;
  const std::uint32_t here_index = agentrace::detail::tls.state->index;
  REQUIRE(here != 0);
  {
    auto& g = agentrace::detail::globals();
    std::lock_guard<std::mutex> lock(g.mu);
    g.next_thread_index = here_index + 65536;
  }
  agentrace::detail::next_chain_id.store(here + 65536);
  std::shared_ptr<agentrace::span<"from.worker">> carried;
  std::latch begun(1), closed(1);
  agentrace::span_context worker_after, from_worker;
  std::thread worker([&] {
    carried = std::make_shared<agentrace::span<"from.worker">>();  // current on the worker
    from_worker = carried->context();
    CHECK(agentrace::detail::tls.chain == here + 65536);
    CHECK(agentrace::detail::tls.state->index == here_index + 65536);
    begun.count_down();
    closed.wait();
    AGENTRACE_SPAN(next, "worker.next");  // the worker's context was repaired: a new root
    worker_after = next.context();
  });
  begun.wait();
  AGENTRACE_SPAN(x, "x");
  carried.reset();  // the span's object is destroyed here, not on the thread it is current on
  CHECK(cur() == x.context());
  CHECK(ended_entries() == 0);  // not taken for one of this thread's spans
  closed.count_down();
  worker.join();
  x.end();
  REQUIRE(tracing.force_flush());
  span_tree t(mem->spans());
  CHECK(t.get("worker.next").parent_span_id == 0);
  CHECK_FALSE(t.get("worker.next").trace_id == from_worker.trace_id);
  CHECK(worker_after.valid());
}

// ---- hundreds of coroutines at once: agentrace::task and a user promise with context_promise ----

namespace {

inline constexpr agentrace::key<std::int64_t> request_key{"test.request"};

// Fire-and-forget driver: awaits a task from ordinary code, then counts down.
struct detached_driver {
  struct promise_type {
    detached_driver get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};
detached_driver drive(agentrace::task<> t, std::latch& done) {
  co_await std::move(t);
  done.count_down();
}

// A user's eager, fire-and-forget coroutine type with the context behaviour.
struct user_job {
  struct promise_type : agentrace::context_promise<promise_type> {
    user_job get_return_object() noexcept { return {}; }
    auto initial_suspend() noexcept { return wrap_initial(std::suspend_never{}); }
    auto final_suspend() noexcept { return wrap_final(std::suspend_never{}); }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

agentrace::task<> nested_step(executor& ex, std::int64_t i) {
  agentrace::span<"grandchild"> g;
  g.set(request_key, i);
  co_await ex.schedule();
}

// The same structure as the Asio test's requests (request_tree.hpp edges below), with hops
// between two executors' threads instead of timers. (The template form of spans: clang 14
// rejects the macro's consteval call in a coroutine template.)
template <class Body>
Body request_body(executor& ex, executor& other, std::int64_t i, std::latch* done) {
  agentrace::span<"request"> root;
  root.set(request_key, i);
  co_await ex.schedule();
  co_await other.schedule();
  {
    agentrace::span<"child"> child;
    child.set(request_key, i);
    co_await nested_step(other, i);
  }
  {
    std::optional<agentrace::span<"ooo.a">> a;
    a.emplace();
    a->set(request_key, i);
    agentrace::span<"ooo.b"> b;
    b.set(request_key, i);
    co_await ex.schedule();
    a.reset();  // a ends while b is current
    co_await other.schedule();
    {
      agentrace::span<"ooo.c"> c;
      c.set(request_key, i);
    }
    b.end();
    co_await ex.schedule();
    agentrace::span<"ooo.d"> d;
    d.set(request_key, i);
  }
  {
    agentrace::span<"handed.off"> h;
    h.set(request_key, i);
    auto carried = std::make_shared<agentrace::scoped_span>(std::move(h));
    other.post([carried] { carried->end(); });
  }
  agentrace::span<"after.handoff"> e;
  e.set(request_key, i);
  co_await other.schedule();
  if (done) done->count_down();
}

const std::vector<std::pair<std::string, std::string>> request_edges = {
    {"child", "request"},      {"grandchild", "child"},     {"ooo.a", "request"},
    {"ooo.b", "ooo.a"},        {"ooo.c", "ooo.b"},          {"ooo.d", "request"},
    {"handed.off", "request"}, {"after.handoff", "request"}};

template <bool UserPromise>
void run_concurrent_requests(int n) {
  auto m = agentrace::memory();
  auto tracing =
      agentrace::start({.exporters = {m}, .max_queue_size = 65536, .read_environment = false});
  executor ex(3), other(2);
  std::latch done(n);
  {
    agentrace::span<"spawner"> spawner;  // even requests: its children
    for (int i = 0; i < n; i += 2) {
      if constexpr (UserPromise)
        request_body<user_job>(ex, other, i, &done);
      else
        drive(request_body<agentrace::task<>>(ex, other, i, nullptr), done);
    }
  }
  for (int i = 1; i < n; i += 2) {  // odd requests: roots
    if constexpr (UserPromise)
      request_body<user_job>(ex, other, i, &done);
    else
      drive(request_body<agentrace::task<>>(ex, other, i, nullptr), done);
  }
  done.wait();
  // Plain spans on every worker afterwards: roots.
  std::latch plain(5);
  std::atomic<int> dirty{0};
  for (auto* e : {&ex, &other})
    for (int k = 0; k < (e == &ex ? 3 : 2); ++k)
      e->post([&] {
        if (agentrace::current_context().valid() || agentrace::detail::tls.ended) ++dirty;
        { agentrace::span<"plain"> p; }
        plain.count_down();
      });
  plain.wait();
  ex.stop();
  other.stop();
  CHECK(ex.leaks == 0);
  CHECK(other.leaks == 0);
  CHECK(dirty == 0);
  CHECK_FALSE(cur().valid());
  REQUIRE(tracing.force_flush());
  CHECK(tracing.stats().dropped_queue_full == 0);
  test_support::check_spawned_requests(m->spans(), request_edges, n, 5);
}

}  // namespace

TEST_CASE("300 agentrace::task coroutines hopping between two pools keep their structure") {
  for (int round = 0; round < 3; ++round) run_concurrent_requests<false>(300);
}

TEST_CASE("300 coroutines of a user promise with context_promise keep their structure") {
  for (int round = 0; round < 3; ++round) run_concurrent_requests<true>(300);
}
