// SPDX-License-Identifier: MIT
// In-process reflection: the trace store keeps the last N complete traces within a byte bound
// and answers queries from other threads while the collector keeps writing.
#include <agentrace/eval/store.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "eval_helpers.hpp"

using namespace agentrace;
using namespace agentrace::eval;
using namespace eval_test;

namespace {
inline constexpr agentrace::key<std::int64_t> k_task{"app.task_no"};
inline constexpr agentrace::key<std::string> k_blob{"app.blob"};

void run_task(std::int64_t n, bool fail) {
  AGENTRACE_SPAN(t, "agent.task");
  t.set(k_task, n);
  {
    AGENTRACE_SPAN(step, "agent.step");
    if (fail) step.error("tool failed");
  }
}
}  // namespace

TEST_CASE("the store keeps the last N complete traces and finds the last failed task") {
  auto st = eval::store({.max_traces = 5});
  auto tracing =
      agentrace::start({.service_name = "reflect", .exporters = {st}, .read_environment = false});
  for (int i = 0; i < 12; ++i) run_task(i, i == 3 || i == 9);
  REQUIRE(tracing.force_flush());
  const auto traces = st->traces();
  REQUIRE(traces.size() == 5);
  CHECK(st->evicted() == 7);
  for (std::size_t i = 0; i < traces.size(); ++i) {
    CHECK(traces[i]->complete());
    REQUIRE(traces[i]->spans().size() == 2);
    const auto& root = traces[i]->spans()[traces[i]->roots().front()];
    CHECK(std::get<std::int64_t>(*root.attr("app.task_no")) == static_cast<std::int64_t>(7 + i));
    CHECK(traces[i]->service_name() == "reflect");
  }
  const auto last_failed = st->last("errors");
  REQUIRE(last_failed);
  const trace& t = *last_failed->t;
  CHECK(std::get<std::int64_t>(*t.spans()[t.roots().front()].attr("app.task_no")) == 9);
  REQUIRE(last_failed->reasons.size() == 1);
  CHECK_THAT(last_failed->reasons[0], Catch::Contains("\"agent.step\""));
  CHECK_THAT(last_failed->reasons[0], Catch::Contains("tool failed"));
  // What the agent puts into its own prompt.
  const std::string text = render_tree_text(t);
  CHECK_THAT(text, Catch::Contains("] agent.task ("));
  CHECK_THAT(text, Catch::Contains("  - ["));
  CHECK_THAT(text, Catch::Contains("] agent.step ("));
  CHECK_THAT(text, Catch::Contains("ERROR: tool failed"));
  CHECK(st->select("not errors").size() == 4);
  CHECK(st->select("app.task_no >= 10").size() == 2);
  CHECK(st->select(q::errors() || q::attr("app.task_no") == 7, 1).size() == 1);
  CHECK(st->stats().spans() == 10);
  CHECK(st->select("agent.step > p50").size() >= 1);
}

TEST_CASE("the byte bound evicts the oldest traces") {
  auto st = eval::store({.max_traces = 1000, .max_bytes = 64 * 1024});
  auto tracing = agentrace::start({.exporters = {st}, .read_environment = false});
  for (int i = 0; i < 40; ++i) {
    AGENTRACE_SPAN(t, "big");
    t.set(k_blob, std::string(8 * 1024, 'x'));
  }
  REQUIRE(tracing.force_flush());
  CHECK(st->bytes() <= 64 * 1024);
  CHECK(st->size() >= 4);
  CHECK(st->size() < 40);
  CHECK(st->evicted() == 40 - st->size());
}

TEST_CASE("queries from other threads while the collector writes") {
  auto st =
      eval::store({.max_traces = 50, .assembly = {.straggler_wait = std::chrono::milliseconds(0)}});
  auto tracing = agentrace::start({.exporters = {st},
                                   .max_queue_size = 65536,
                                   .drain_interval = std::chrono::milliseconds(1),
                                   .read_environment = false});
  std::atomic<bool> done{false};
  std::atomic<std::size_t> queries{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r)
    readers.emplace_back([&] {
      while (!done.load()) {
        for (const auto& m : st->select("errors"))
          for (const auto& s : m.t->spans()) (void)s.name.size();  // touch the snapshot
        (void)st->stats();
        queries.fetch_add(1);
      }
    });
  std::thread writer([] {
    for (int i = 0; i < 400; ++i) run_task(i, i % 4 == 0);
  });
  writer.join();
  REQUIRE(tracing.force_flush());
  done = true;
  for (auto& t : readers) t.join();
  CHECK(queries.load() > 0);
  const auto traces = st->traces();
  REQUIRE(traces.size() == 50);
  std::size_t failed = 0;
  for (const auto& t : traces) {
    CHECK(t->complete());
    REQUIRE(t->spans().size() == 2);
    CHECK(t->orphans().empty());
    const auto n = std::get<std::int64_t>(*t->spans()[t->roots().front()].attr("app.task_no"));
    CHECK(n >= 350);  // the newest 50 of 400
    failed += n % 4 == 0;
  }
  CHECK(failed == 12);
  CHECK(st->select("errors").size() == failed);
}
