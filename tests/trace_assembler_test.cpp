// SPDX-License-Identifier: MIT
// detail/trace_assembler.hpp: child-first arrival, stragglers, bounds that release incomplete
// traces, take_all, and the tree the console prints from.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

namespace {
using namespace std::chrono_literals;
using agentrace::assembly_options;
using agentrace::span_data;
using agentrace::detail::trace_assembler;
using clk = trace_assembler::clock;

span_data sp(std::uint64_t trace, std::uint64_t id, std::uint64_t parent, bool remote = false,
             std::uint64_t start = 0) {
  span_data s;
  s.trace_id = {trace, trace};
  s.span_id = id;
  s.parent_span_id = parent;
  s.parent_remote = remote;
  s.start_unix_ns = start;
  s.end_unix_ns = start + 1;
  s.name = "s" + std::to_string(id);
  return s;
}

std::vector<std::uint64_t> ids(const agentrace::detail::assembled_trace& t) {
  std::vector<std::uint64_t> out;
  for (const auto& s : t.spans) out.push_back(s.span_id);
  return out;
}

const clk::time_point T{};  // a fixed origin: the tests pass time explicitly
}  // namespace

TEST_CASE("children arrive first; the trace is ready once its root ended + straggler wait",
          "[assembler]") {
  trace_assembler a({.straggler_wait = 200ms});
  CHECK(a.add(sp(1, 3, 2), T).empty());
  CHECK(a.add(sp(1, 2, 1), T + 1ms).empty());
  CHECK(a.take_ready(T + 500ms).empty());  // no root yet: held
  CHECK(a.add(sp(1, 1, 0), T + 1s).empty());
  CHECK(a.pending_traces() == 1);
  CHECK(a.pending_spans() == 3);
  CHECK(a.take_ready(T + 1s + 199ms).empty());  // stragglers may still come
  auto ready = a.take_ready(T + 1s + 200ms);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].complete);
  CHECK(ready[0].id == agentrace::trace_id{1, 1});
  CHECK(ids(ready[0]) == std::vector<std::uint64_t>{3, 2, 1});  // arrival order
  CHECK(a.pending_traces() == 0);
  CHECK(a.pending_spans() == 0);
  CHECK(a.released_incomplete() == 0);
}

TEST_CASE("a straggler that ends after its root is kept with its trace", "[assembler]") {
  trace_assembler a({.straggler_wait = 200ms});
  a.add(sp(1, 1, 0), T);
  a.add(sp(1, 2, 1), T + 150ms);           // a child that outlived its parent
  CHECK(a.take_ready(T + 250ms).empty());  // the wait restarts at the straggler
  auto ready = a.take_ready(T + 350ms);
  REQUIRE(ready.size() == 1);
  CHECK(ids(ready[0]) == std::vector<std::uint64_t>{1, 2});
  // One that comes after the release starts an entry of its own, released incomplete later.
  a.add(sp(1, 3, 1), T + 400ms);
  CHECK(a.take_ready(T + 10s).empty());
  auto all = a.take_all();
  REQUIRE(all.size() == 1);
  CHECK_FALSE(all[0].complete);
  CHECK(ids(all[0]) == std::vector<std::uint64_t>{3});
}

TEST_CASE("a span with a remote parent is the local root", "[assembler]") {
  trace_assembler a({.straggler_wait = 0ms});
  a.add(sp(5, 2, 1, /*remote=*/true), T);
  auto ready = a.take_ready(T);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].complete);
}

TEST_CASE("traces are released in arrival order; unrelated traces do not wait for each other",
          "[assembler]") {
  trace_assembler a({.straggler_wait = 10ms});
  a.add(sp(1, 11, 10), T);
  a.add(sp(2, 20, 0), T + 1ms);
  a.add(sp(3, 30, 0), T + 2ms);
  auto ready = a.take_ready(T + 20ms);
  REQUIRE(ready.size() == 2);
  CHECK(ready[0].id == agentrace::trace_id{2, 2});
  CHECK(ready[1].id == agentrace::trace_id{3, 3});
  CHECK(a.pending_traces() == 1);
}

TEST_CASE("bounds: too many traces releases the oldest, incomplete, and counts it", "[assembler]") {
  trace_assembler a({.max_traces = 2, .max_spans = 100});
  CHECK(a.add(sp(1, 11, 10), T).empty());
  CHECK(a.add(sp(2, 21, 20), T).empty());
  CHECK(a.add(sp(1, 12, 10), T).empty());
  auto out = a.add(sp(3, 31, 30), T);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == agentrace::trace_id{1, 1});
  CHECK_FALSE(out[0].complete);
  CHECK(ids(out[0]) == std::vector<std::uint64_t>{11, 12});
  CHECK(a.released_incomplete() == 1);
  CHECK(a.pending_traces() == 2);
  CHECK(a.pending_spans() == 2);
}

TEST_CASE("bounds: too many spans releases whole traces until under the bound", "[assembler]") {
  trace_assembler a({.max_traces = 100, .max_spans = 3});
  a.add(sp(1, 11, 10), T);
  a.add(sp(1, 12, 10), T);
  a.add(sp(2, 21, 20), T);
  auto out = a.add(sp(2, 22, 20), T);  // 4 spans held > 3
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == agentrace::trace_id{1, 1});
  CHECK(a.pending_spans() == 2);
  auto big = trace_assembler({.max_spans = 2});
  big.add(sp(7, 1, 9), T);
  big.add(sp(7, 2, 9), T);
  auto out2 = big.add(sp(7, 3, 9), T);  // a single trace larger than the bound
  REQUIRE(out2.size() == 1);
  CHECK(out2[0].spans.size() == 3);
  CHECK(big.pending_spans() == 0);
  CHECK(big.released_incomplete() == 1);
}

TEST_CASE("a trace whose root never ends is released after max_wait, incomplete", "[assembler]") {
  trace_assembler a({.straggler_wait = 10ms, .max_wait = 1s});
  a.add(sp(1, 2, 1), T);
  a.add(sp(1, 3, 1), T + 900ms);
  CHECK(a.take_ready(T + 999ms).empty());
  auto out = a.take_ready(T + 1s);
  REQUIRE(out.size() == 1);
  CHECK_FALSE(out[0].complete);
  CHECK(out[0].spans.size() == 2);
  CHECK(a.released_incomplete() == 1);
}

TEST_CASE("take_all releases everything; complete only where the root was seen", "[assembler]") {
  trace_assembler a;
  a.add(sp(1, 1, 0), T);
  a.add(sp(2, 5, 4), T);
  auto all = a.take_all();
  REQUIRE(all.size() == 2);
  CHECK(all[0].complete);
  CHECK_FALSE(all[1].complete);
  CHECK(a.pending_traces() == 0);
  CHECK(a.take_all().empty());
}

TEST_CASE("next_due: the earliest time a held trace is due; nothing is released before it",
          "[assembler]") {
  trace_assembler a({.straggler_wait = 200ms, .max_wait = 5s});
  CHECK(a.next_due() == clk::time_point::max());  // nothing held
  a.add(sp(1, 2, 1), T);                          // no root yet: due at max_wait
  CHECK(a.next_due() == T + 5s);
  a.add(sp(2, 1, 0), T + 100ms);  // a root: due after the straggler wait
  CHECK(a.next_due() == T + 300ms);
  CHECK(a.take_ready(T + 299ms).empty());
  CHECK(a.pending_traces() == 2);
  auto out = a.take_ready(T + 300ms);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == agentrace::trace_id{2, 2});
  CHECK(a.next_due() == T + 5s);  // recomputed from what is still held
  // A straggler after its root moves that trace's time on; next_due may stay earlier (a pass
  // that finds nothing), never later than a trace that is due.
  a.add(sp(3, 1, 0), T + 1s);
  a.add(sp(3, 2, 1), T + 1s + 150ms);
  CHECK(a.next_due() <= T + 1s + 350ms);
  CHECK(a.take_ready(T + 1s + 300ms).empty());
  CHECK(a.next_due() == T + 1s + 350ms);
  CHECK(a.take_ready(T + 1s + 350ms).size() == 1);
  CHECK(a.take_all().size() == 1);
  CHECK(a.next_due() == clk::time_point::max());
}

TEST_CASE("a released trace's span vector is reused by the next trace", "[assembler]") {
  trace_assembler a({.straggler_wait = 0ms});
  a.add(sp(1, 1, 0), T);
  auto out = a.take_ready(T);
  REQUIRE(out.size() == 1);
  const span_data* storage = out[0].spans.data();
  a.recycle(std::move(out[0].spans));
  a.add(sp(2, 1, 0), T);
  auto again = a.take_ready(T);
  REQUIRE(again.size() == 1);
  CHECK(again[0].spans.data() == storage);
  CHECK(ids(again[0]) == std::vector<std::uint64_t>{1});
  CHECK(again[0].id == agentrace::trace_id{2, 2});
}

TEST_CASE("trace_tree: roots and children in start order; missing parents become roots",
          "[assembler]") {
  std::vector<span_data> v = {sp(1, 4, 2, false, 40), sp(1, 3, 1, false, 30),
                              sp(1, 2, 1, false, 20), sp(1, 1, 0, false, 10),
                              sp(1, 9, 8, false, 5),  sp(1, 7, 7, false, 50)};
  const agentrace::detail::trace_tree t(v);
  // Roots: span 9 (parent 8 missing, start 5), span 1 (start 10), span 7 (its own parent).
  CHECK(t.roots == std::vector<std::size_t>{4, 3, 5});
  CHECK(t.children[3] == std::vector<std::size_t>{2, 1});  // span 1: spans 2 then 3
  CHECK(t.children[2] == std::vector<std::size_t>{0});     // span 2: span 4
  CHECK(t.children[0].empty());
}
