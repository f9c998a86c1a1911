// SPDX-License-Identifier: MIT
// Thread hand-off (context_scope, bind_context) and tracing switched off at run time (before
// start(), after shutdown(), OTEL_SDK_DISABLED).
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <future>
#include <latch>
#include <memory>
#include <stop_token>
#include <thread>

#include "context_support.hpp"

using test_support::executor;
using test_support::span_tree;

namespace {
inline constexpr agentrace::key<std::string> k_text{"test.text"};

agentrace::tracing start_memory(const std::shared_ptr<agentrace::memory_exporter>& mem) {
  return agentrace::start({.exporters = {mem}, .read_environment = false});
}
}  // namespace

TEST_CASE("context_scope carries a captured context to another thread and restores it") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  agentrace::span_context parent_ctx, during, after;
  {
    AGENTRACE_SPAN(parent, "parent");
    parent_ctx = agentrace::current_context();
    std::thread t([ctx = parent_ctx, &during, &after] {
      {
        agentrace::context_scope in(ctx);
        during = agentrace::current_context();
        AGENTRACE_SPAN(child, "child");
        { AGENTRACE_SPAN(grandchild, "grandchild"); }
      }
      after = agentrace::current_context();
    });
    t.join();
  }
  CHECK(during == parent_ctx);
  CHECK_FALSE(after.valid());  // the worker's own (empty) context is back
  REQUIRE(tracing.force_flush());
  span_tree tree(mem->spans());
  CHECK(tree.is_child("child", "parent"));
  CHECK(tree.is_child("grandchild", "child"));
  CHECK_FALSE(tree.get("child").parent_remote);
}

TEST_CASE("context_scope nests and an empty context detaches") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  {
    AGENTRACE_SPAN(a, "a");
    const auto a_ctx = a.context();
    {
      agentrace::context_scope detach(agentrace::span_context{});
      CHECK(detach.previous() == a_ctx);
      AGENTRACE_SPAN(fresh, "fresh");  // a new trace
      {
        agentrace::context_scope back(a_ctx);
        AGENTRACE_SPAN(under_a, "under_a");
      }
      CHECK(agentrace::current_context() == fresh.context());
    }
    CHECK(agentrace::current_context() == a_ctx);
  }
  REQUIRE(tracing.force_flush());
  span_tree tree(mem->spans());
  CHECK(tree.get("fresh").parent_span_id == 0);
  CHECK_FALSE(tree.get("fresh").trace_id == tree.get("a").trace_id);
  CHECK(tree.is_child("under_a", "a"));
}

TEST_CASE("bind_context runs pool jobs under the context captured when they were bound") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  executor pool(3);
  constexpr int jobs = 30;
  std::latch done(jobs);
  std::atomic<int> wrong_context{0};
  {
    AGENTRACE_SPAN(request, "request");
    const auto ctx = request.context();
    for (int i = 0; i < jobs; ++i)
      pool.post(agentrace::bind_context([&, ctx] {
        if (!(agentrace::current_context() == ctx)) ++wrong_context;
        AGENTRACE_SPAN(job, "job");
        done.count_down();
      }));
    done.wait();
  }
  pool.stop();
  CHECK(wrong_context == 0);
  CHECK(pool.leaks == 0);  // each job gave its worker the worker's context back
  REQUIRE(tracing.force_flush());
  const auto spans = mem->spans();
  REQUIRE(spans.size() == std::size_t(jobs + 1));
  const auto request = *mem->find("request");
  int under = 0;
  for (const auto& s : spans) under += s.name == "job" && s.parent_span_id == request.span_id;
  CHECK(under == jobs);
}

TEST_CASE("bind_context works with std::jthread, arguments, results and move-only callables") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  agentrace::span_context seen_in_thread;
  {
    AGENTRACE_SPAN(owner, "owner");
    // std::jthread passes its stop_token when the callable takes one: the wrapper forwards it.
    std::jthread worker(agentrace::bind_context([&](std::stop_token st, int n) {
                          seen_in_thread = agentrace::current_context();
                          AGENTRACE_SPAN(w, "jthread.work");
                          w.set(k_text, std::to_string(n));
                          CHECK_FALSE(st.stop_requested());
                        }),
                        5);
    worker.join();
    CHECK(seen_in_thread == owner.context());

    auto bound =
        agentrace::bind_context([p = std::make_unique<int>(41)](int add) { return *p + add; });
    CHECK(bound(1) == 42);
    CHECK(bound.context() == owner.context());

    // Captured at bind time, not call time.
    auto later = agentrace::bind_context([] { return agentrace::current_context(); });
    {
      AGENTRACE_SPAN(other, "other");
      CHECK(later() == owner.context());
      CHECK(agentrace::current_context() == other.context());
    }
    // std::packaged_task: move-only, invoked as an rvalue on another thread.
    std::packaged_task<agentrace::span_context()> pt([] { return agentrace::current_context(); });
    auto fut = pt.get_future();
    std::thread(agentrace::bind_context(std::move(pt))).join();
    CHECK(fut.get() == owner.context());
  }
  REQUIRE(tracing.force_flush());
  span_tree tree(mem->spans());
  CHECK(tree.is_child("jthread.work", "owner"));
  CHECK(std::get<std::string>(*tree.get("jthread.work").attr("test.text")) == "5");
}

TEST_CASE("bind_context calls pointers to members as std::invoke does") {
  struct counter {
    int value = 1;
    int add(int n) { return value += n; }
    int get() const { return value; }
  };
  counter c;
  auto add = agentrace::bind_context(&counter::add);
  CHECK(add(c, 2) == 3);   // on a reference
  CHECK(add(&c, 4) == 7);  // on a pointer
  auto owned = std::make_unique<counter>();
  CHECK(add(owned, 9) == 10);  // on a smart pointer
  const counter& cref = c;
  CHECK(agentrace::bind_context(&counter::get)(cref) == 7);
  auto field = agentrace::bind_context(&counter::value);
  field(c) = 20;  // a data member: a reference to it
  CHECK(c.value == 20);
  CHECK(field(&c) == 20);
}

TEST_CASE("before start() and after shutdown() spans record nothing and touch no context") {
  REQUIRE_FALSE(agentrace::detail::recording_state.load());
  {
    AGENTRACE_SPAN(s, "before.start");
    CHECK_FALSE(s.is_recording());
    CHECK_FALSE(s.context().valid());
    CHECK_FALSE(agentrace::current_context().valid());  // no context bookkeeping either
    s.set(k_text, std::string(1000, 'x'));              // not copied: nothing to leak (ASan checks)
    s.event("e", {{k_text, "v"}});
    agentrace::span<"before.start.typed"> t;
    CHECK_FALSE(t.is_recording());
  }
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  const auto before = tracing.stats();
  { AGENTRACE_SPAN(s, "during"); }
  // A span that began while tracing was on and ends after shutdown: counted, not exported, and it
  // still restores the context.
  auto straddling = std::make_unique<agentrace::scoped_span>();
  static constexpr agentrace::span_site site{"straddling"};
  *straddling = agentrace::scoped_span(&site);
  REQUIRE(straddling->is_recording());
  REQUIRE(tracing.shutdown());
  {
    AGENTRACE_SPAN(s, "after.shutdown");
    CHECK_FALSE(s.is_recording());
    s.set(k_text, std::string(1000, 'y'));
  }
  straddling.reset();
  CHECK_FALSE(agentrace::current_context().valid());
  const auto after = tracing.stats();
  CHECK(after.spans_ended - before.spans_ended == 1);  // stats are cumulative per process
  CHECK(mem->size() == 1);
  CHECK(mem->find("during"));
  CHECK(after.dropped_not_running == before.dropped_not_running + 1);
}

TEST_CASE("OTEL_SDK_DISABLED=true turns tracing off at run time") {
  ::setenv("OTEL_SDK_DISABLED", "TRUE", 1);  // case-insensitive
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}});
  CHECK_FALSE(tracing);
  CHECK_FALSE(agentrace::detail::recording_state.load());
  {
    AGENTRACE_SPAN(s, "disabled");
    CHECK_FALSE(s.is_recording());
    CHECK_FALSE(agentrace::current_context().valid());
  }
  CHECK_FALSE(tracing.force_flush());
  CHECK(mem->size() == 0);
  CHECK(tracing.stats().spans_ended == 0);
  // read_environment = false ignores it; "1" is not "true" (OpenTelemetry booleans).
  {
    auto t2 = agentrace::start({.exporters = {mem}, .read_environment = false});
    CHECK(t2);
  }
  ::setenv("OTEL_SDK_DISABLED", "1", 1);
  auto t3 = agentrace::start({.exporters = {mem}});
  CHECK(t3);
  { AGENTRACE_SPAN(s, "enabled"); }
  REQUIRE(t3.force_flush());
  CHECK(mem->find("enabled"));
  ::unsetenv("OTEL_SDK_DISABLED");
}
