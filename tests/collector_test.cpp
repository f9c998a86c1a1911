// SPDX-License-Identifier: MIT
// collector.hpp: many threads, exactly-once export, the full queue, force_flush, shutdown,
// threads that exit early, stats() invariants, exporter failures.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core_test_util.hpp"
#include "support/tracing.hpp"

namespace {
using namespace std::chrono_literals;
using test_util::recording_exporter;

inline constexpr agentrace::key<std::int64_t> k_i{"i"};

/// Every span that ended while tracing was on is exported, failed, dropped or still queued.
void check_invariants(const agentrace::stats& s) {
  INFO("ended " << s.spans_ended << " exported " << s.spans_exported << " failed "
                << s.spans_export_failed << " queue_full " << s.dropped_queue_full << " unsampled "
                << s.dropped_unsampled << " queued " << s.queued());
  CHECK(s.spans_exported + s.spans_export_failed + s.dropped_queue_full + s.dropped_unsampled +
            s.queued() ==
        s.spans_ended);
  CHECK(s.dropped_total() == s.dropped_queue_full + s.dropped_not_running + s.spans_export_failed);
}

std::size_t blocks_of_64(std::size_t n) { return (n + 63) / 64 * 64; }

}  // namespace

TEST_CASE("4 threads x 100,000 spans: each exported exactly once, parents consistent",
          "[collector][threads]") {
  constexpr int threads = 4;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  // Under a sanitizer each span costs ~100x more; 4 x 20,000 keeps the test's point (every span
  // of every thread exactly once) inside CTest's timeout on 2 loaded cores.
  constexpr int pairs_per_thread = 10'000;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
  constexpr int pairs_per_thread = 10'000;
#else
  constexpr int pairs_per_thread = 50'000;  // parent + child = 100,000 spans per thread
#endif
#else
  constexpr int pairs_per_thread = 50'000;  // parent + child = 100,000 spans per thread
#endif
  auto rec = std::make_shared<recording_exporter>();
  agentrace::config c;
  c.exporters = {rec};
  c.read_environment = false;
  c.max_queue_size = 1 << 16;  // per thread, the most there is: with drains every 1 ms and on
                               // demand, nothing is dropped unless the collector gets no CPU
  c.max_export_batch_size = 4096;
  c.schedule_delay = 1ms;
  c.drain_interval = 1ms;
  auto tracing = agentrace::start(c);
  const auto before = tracing.stats();

  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < pairs_per_thread; ++i) {
        AGENTRACE_SPAN(parent, "parent");
        parent.set(k_i, i);
        AGENTRACE_SPAN(child, "child");
      }
    });
  go = true;
  for (auto& th : pool) th.join();
  REQUIRE(tracing.force_flush());
  const auto s = tracing.stats();
  check_invariants(s);
  const std::uint64_t ended = s.spans_ended - before.spans_ended;
  const std::uint64_t exported = s.spans_exported - before.spans_exported;
  const std::uint64_t dropped = s.dropped_queue_full - before.dropped_queue_full;
  CHECK(ended == std::uint64_t{threads} * pairs_per_thread * 2);
  CHECK(exported + dropped == ended);
  CHECK(s.queued() == 0);
  CHECK(s.spans_export_failed - before.spans_export_failed == 0);

  const auto ids = rec->ids();
  CHECK(ids.size() == exported);
  std::unordered_map<std::uint64_t, const test_util::span_ids*> by_id;
  by_id.reserve(ids.size());
  std::size_t duplicates = 0;
  for (const auto& x : ids) duplicates += !by_id.emplace(x.span_id, &x).second;
  CHECK(duplicates == 0);

  // Each parent is a root with exactly one child; a child names its parent, in the same trace.
  std::size_t roots = 0, children = 0, orphans = 0, bad_trace = 0;
  std::map<std::uint32_t, std::size_t> per_thread;
  for (const auto& x : ids) {
    ++per_thread[x.thread_index];
    if (x.parent_span_id == 0) {
      ++roots;
      continue;
    }
    ++children;
    auto it = by_id.find(x.parent_span_id);
    if (it == by_id.end()) {
      ++orphans;
      continue;
    }
    bad_trace += !(it->second->trace_id == x.trace_id) || it->second->parent_span_id != 0 ||
                 it->second->thread_index != x.thread_index;
  }
  CHECK(bad_trace == 0);
  CHECK(per_thread.size() == threads);
  if (dropped == 0) {
    CHECK(orphans == 0);
    CHECK(roots == children);
    for (const auto& [thread, n] : per_thread) CHECK(n == pairs_per_thread * 2);
  } else {
    WARN(dropped << " spans were dropped (queue full); each dropped parent orphans one child");
    CHECK(orphans <= dropped);
  }
}

TEST_CASE("queue full: the drop count is exact while the collector cannot drain", "[collector]") {
  auto rec = std::make_shared<recording_exporter>();
  agentrace::config c;
  c.exporters = {rec};
  c.read_environment = false;
  c.max_queue_size = 100;  // the ring rounds up to a multiple of 64: 128
  c.max_export_batch_size = 100;
  c.schedule_delay = std::chrono::hours(1);  // the collector sleeps: nothing drains until flush
  c.drain_interval = std::chrono::hours(1);
  c.drain_on_demand = false;  // nor when the queue is half full
  auto tracing = agentrace::start(c);
  const auto before = tracing.stats();
  const bool fresh_queue = before.spans_ended == 0 &&
                           agentrace::detail::globals().queue_capacity.load() == c.max_queue_size;
  // More than the queue holds (its capacity was fixed by this process's first start()).
  const std::uint64_t cap = blocks_of_64(agentrace::detail::globals().queue_capacity.load());
  const std::uint64_t n = cap + 1000;
  // A fresh thread: its producer owns no blocks yet.
  std::thread([&] {
    for (std::uint64_t i = 0; i < n; ++i) {
      AGENTRACE_SPAN(s, "flood");
    }
  }).join();
  const auto mid = tracing.stats();
  const std::uint64_t dropped_mid = mid.dropped_queue_full - before.dropped_queue_full;
  CHECK(mid.spans_ended - before.spans_ended == n);
  CHECK(mid.spans_exported == before.spans_exported);  // nothing exported yet
  CHECK(dropped_mid > 0);
  CHECK(mid.queued() == n - dropped_mid);
  CHECK(n - dropped_mid <= cap);
  if (fresh_queue) CHECK(n - dropped_mid == cap);  // exactly the blocks' capacity

  REQUIRE(tracing.force_flush());
  const auto s = tracing.stats();
  check_invariants(s);
  const std::uint64_t exported = s.spans_exported - before.spans_exported;
  const std::uint64_t dropped = s.dropped_queue_full - before.dropped_queue_full;
  CHECK(dropped == dropped_mid);  // flushing drops nothing more
  CHECK(exported + dropped == n);
  CHECK(dropped == n - exported);
  CHECK(rec->count() == exported);
  CHECK(s.queued() == 0);
  // The loss travels with the telemetry: shutdown reports it and stats keep it.
  CHECK(s.dropped_total() >= dropped);
}

TEST_CASE("a blocked exporter never blocks the hot path; drops are exact", "[collector]") {
  auto rec = std::make_shared<recording_exporter>();
  agentrace::config c;
  c.exporters = {rec};
  c.read_environment = false;
  c.max_queue_size = 256;
  c.max_export_batch_size = 10;
  c.schedule_delay = 1ms;
  auto tracing = agentrace::start(c);
  rec->block();
  const auto before = tracing.stats();
  { AGENTRACE_SPAN(first, "first"); }
  REQUIRE(rec->wait_in_export(1, 10s));  // the collector is now stuck inside export_spans
  // More than the queue holds (its capacity was fixed by this process's first start()).
  const std::uint64_t n = std::max<std::uint64_t>(
      5000, blocks_of_64(agentrace::detail::globals().queue_capacity.load()) + 1000);
  const auto t0 = std::chrono::steady_clock::now();
  std::thread([&] {
    for (std::uint64_t i = 0; i < n; ++i) {
      AGENTRACE_SPAN(s, "while.blocked");
    }
  }).join();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed < 5s);  // the spans never wait on the exporter
  const auto mid = tracing.stats();
  const std::uint64_t dropped = mid.dropped_queue_full - before.dropped_queue_full;
  CHECK(dropped > 0);
  CHECK_FALSE(tracing.force_flush(50ms));  // cannot finish while the exporter is stuck
  rec->unblock();
  REQUIRE(tracing.force_flush());
  const auto s = tracing.stats();
  check_invariants(s);
  CHECK(s.dropped_queue_full - before.dropped_queue_full == dropped);
  CHECK(s.spans_exported - before.spans_exported + dropped == n + 1);
  CHECK(rec->count() == s.spans_exported - before.spans_exported);
}

TEST_CASE("force_flush returns true and exports everything that ended before it", "[collector]") {
  auto mem = agentrace::memory();
  agentrace::config c;
  c.exporters = {mem};
  c.read_environment = false;
  c.schedule_delay = std::chrono::hours(1);
  c.drain_interval = std::chrono::hours(1);
  auto tracing = agentrace::start(c);
  const auto exported_before = tracing.stats().spans_exported;  // stats are per process
  for (int round = 1; round <= 3; ++round) {
    for (int i = 0; i < 100; ++i) {
      AGENTRACE_SPAN(s, "span");
    }
    REQUIRE(tracing.force_flush(10s));
    CHECK(mem->size() == static_cast<std::size_t>(round * 100));
    const auto s = tracing.stats();
    check_invariants(s);
    CHECK(s.queued() == 0);
    CHECK(s.spans_exported - exported_before == static_cast<std::uint64_t>(round * 100));
  }
  REQUIRE(tracing.force_flush());  // nothing pending: still true
  CHECK(mem->size() == 300);
}

TEST_CASE_METHOD(test_support::memory_tracing, "force_flush from several threads at once",
                 "[collector]") {
  std::vector<std::thread> pool;
  std::atomic<int> ok{0}, saw_own{0};  // Catch assertions are for the main thread only
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        AGENTRACE_SPAN(s, "s");
      }
      ok += tracing.force_flush(10s);
      saw_own += mem->size() >= 250;  // at least this thread's own spans are out
    });
  for (auto& th : pool) th.join();
  CHECK(ok == 4);
  CHECK(saw_own == 4);
  CHECK(mem->size() == 1000);
}

TEST_CASE("shutdown exports all that ended before it; later spans are counted, not exported",
          "[collector]") {
  auto rec = std::make_shared<recording_exporter>();
  agentrace::config c;
  c.exporters = {rec};
  c.read_environment = false;
  c.schedule_delay = std::chrono::hours(1);
  c.drain_interval = std::chrono::hours(1);
  auto tracing = agentrace::start(c);
  const auto before = tracing.stats();  // stats are per process
  agentrace::scoped_span straddling;
  {
    AGENTRACE_SPAN(s, "straddles.shutdown");
    straddling = std::move(s);
  }
  // On a new thread, whose queue is created now with this session's capacity (2048): this
  // thread's queue kept the capacity in force at its first span, which an earlier test in this
  // process may have made smaller than 777, and then the drains on demand could not keep up.
  std::thread([] {
    for (int i = 0; i < 777; ++i) {
      AGENTRACE_SPAN(s, "before");
    }
  }).join();
  REQUIRE(tracing.shutdown());
  CHECK(rec->count() == 777);
  CHECK(rec->shutdowns() == 1);
  straddling.end();  // began while tracing was on, ended after shutdown
  {
    AGENTRACE_SPAN(s, "after");
    CHECK_FALSE(s.is_recording());
  }
  const auto s = tracing.stats();
  check_invariants(s);
  CHECK(s.spans_ended - before.spans_ended == 777);
  CHECK(s.spans_exported - before.spans_exported == 777);
  CHECK(s.dropped_not_running - before.dropped_not_running == 1);
  CHECK_FALSE(tracing.force_flush());  // after shutdown
  CHECK(tracing.shutdown());           // idempotent
  CHECK(rec->shutdowns() == 1);
  CHECK(rec->count() == 777);
}

TEST_CASE("the RAII handle's destructor flushes", "[collector]") {
  auto mem = agentrace::memory();
  {
    auto tracing = agentrace::start(
        {.exporters = {mem}, .schedule_delay = std::chrono::hours(1), .read_environment = false});
    for (int i = 0; i < 50; ++i) {
      AGENTRACE_SPAN(s, "s");
    }
  }
  CHECK(mem->size() == 50);
}

TEST_CASE("a thread that exits early loses nothing", "[collector]") {
  auto rec = std::make_shared<recording_exporter>();
  agentrace::config c;
  c.exporters = {rec};
  c.read_environment = false;
  c.schedule_delay = std::chrono::hours(1);
  c.drain_interval = std::chrono::hours(1);
  auto tracing = agentrace::start(c);
  const auto before = tracing.stats();  // stats are per process
  std::set<std::uint64_t> expected;
  std::mutex mu;
  for (int t = 0; t < 8; ++t)
    std::thread([&] {
      for (int i = 0; i < 300; ++i) {
        AGENTRACE_SPAN(s, "short.lived");
        std::lock_guard<std::mutex> lock(mu);
        expected.insert(s.context().span_id);
      }
    }).join();  // every thread has exited before the collector drains anything
  CHECK(rec->count() == 0);
  const auto mid = tracing.stats();
  CHECK(mid.spans_ended - before.spans_ended == 2400);  // counters of exited threads are kept
  CHECK(mid.queued() - before.queued() == 2400);
  REQUIRE(tracing.force_flush());
  std::set<std::uint64_t> got;
  for (const auto& x : rec->ids()) got.insert(x.span_id);
  CHECK(got.size() == rec->count());
  CHECK(got == expected);
  const auto s = tracing.stats();
  check_invariants(s);
  CHECK(s.spans_exported - before.spans_exported == 2400);
}

TEST_CASE_METHOD(test_support::memory_tracing, "a span may end on another thread than it began on",
                 "[collector]") {
  const auto ended_before = tracing.stats().spans_ended;
  agentrace::scoped_span moved;
  {
    AGENTRACE_SPAN(s, "begun.here");
    moved = std::move(s);
  }
  std::thread([&] { moved.end(); }).join();
  REQUIRE(tracing.force_flush());
  CHECK(mem->size() == 1);
  CHECK(tracing.stats().spans_ended - ended_before == 1);
}

TEST_CASE("stats are cumulative across start/shutdown cycles; a second start() throws",
          "[collector]") {
  auto mem = agentrace::memory();
  std::uint64_t first_exported = 0;
  {
    auto t1 = agentrace::start({.exporters = {mem}, .read_environment = false});
    CHECK_THROWS_AS(agentrace::start({.exporters = {mem}, .read_environment = false}),
                    std::logic_error);
    { AGENTRACE_SPAN(s, "cycle.1"); }
    REQUIRE(t1.shutdown());
    first_exported = t1.stats().spans_exported;
    CHECK(first_exported >= 1);
  }
  auto t2 = agentrace::start({.exporters = {mem}, .read_environment = false});
  REQUIRE(t2);
  { AGENTRACE_SPAN(s, "cycle.2"); }
  REQUIRE(t2.force_flush());
  CHECK(t2.stats().spans_exported == first_exported + 1);
  CHECK(mem->find("cycle.1"));
  CHECK(mem->find("cycle.2"));
}

TEST_CASE("a failing or throwing exporter is counted, and the others still get the batch",
          "[collector]") {
  auto failing = std::make_shared<recording_exporter>();
  auto good = agentrace::memory();
  failing->set_fail(true);
  agentrace::config c;
  c.exporters = {failing, good};
  c.read_environment = false;
  auto tracing = agentrace::start(c);
  const auto before = tracing.stats();  // stats are per process
  for (int i = 0; i < 20; ++i) {
    AGENTRACE_SPAN(s, "s");
  }
  CHECK(tracing.force_flush());  // every span is accounted for, even if an export failed
  auto s = tracing.stats();
  check_invariants(s);
  CHECK(s.spans_export_failed - before.spans_export_failed == 20);
  CHECK(s.spans_exported - before.spans_exported == 0);
  CHECK(good->size() == 20);
  failing->set_fail(false);
  failing->set_throw(true);
  for (int i = 0; i < 5; ++i) {
    AGENTRACE_SPAN(x, "x");
  }
  tracing.force_flush();
  s = tracing.stats();
  check_invariants(s);
  CHECK(s.spans_export_failed - before.spans_export_failed == 25);
  CHECK(good->size() == 25);
  CHECK(s.dropped_total() - before.dropped_total() == 25);
}

TEST_CASE("batches respect max_export_batch_size", "[collector]") {
  auto rec = std::make_shared<recording_exporter>();
  agentrace::config c;
  c.exporters = {rec};
  c.read_environment = false;
  c.max_export_batch_size = 7;
  c.schedule_delay = std::chrono::hours(1);
  c.drain_interval = std::chrono::hours(1);
  auto tracing = agentrace::start(c);
  CHECK(tracing.get()->max_export_batch_size() == 7);
  for (int i = 0; i < 50; ++i) {
    AGENTRACE_SPAN(s, "s");
  }
  REQUIRE(tracing.force_flush());
  const auto sizes = rec->batch_sizes();
  CHECK(sizes == std::vector<std::size_t>{7, 7, 7, 7, 7, 7, 7, 1});
}

TEST_CASE("the schedule delay exports without a flush", "[collector]") {
  auto mem = agentrace::memory();
  agentrace::config c;
  c.exporters = {mem};
  c.read_environment = false;
  c.schedule_delay = 20ms;
  auto tracing = agentrace::start(c);
  { AGENTRACE_SPAN(s, "timer"); }
  CHECK(mem->wait_for(1, 5s));
}

// Regression: with one queue shared by all threads, moodycamel's explicit producers never gave
// blocks back, so a thread that once filled the queue kept every block while it lived and every
// other thread dropped all its spans although the queue was empty. Each thread has its own queue.
TEST_CASE("after one thread's burst fills its queue, other threads still enqueue", "[collector]") {
  auto rec = std::make_shared<recording_exporter>();
  agentrace::config c;
  c.exporters = {rec};
  c.read_environment = false;
  c.max_queue_size = 1024;
  c.schedule_delay = std::chrono::hours(1);  // nothing drains during the burst: it fills the queue
  c.drain_interval = std::chrono::hours(1);
  c.drain_on_demand = false;  // nor when the queue is half full
  auto tracing = agentrace::start(c);
  const std::size_t cap = blocks_of_64(agentrace::detail::globals().queue_capacity.load());
  std::atomic<int> phase{0};
  std::thread burst([&] {
    for (std::size_t i = 0; i < cap; ++i) {
      AGENTRACE_SPAN(s, "burst");
    }
    phase = 1;
    while (phase.load() != 2) std::this_thread::yield();  // stays alive, keeps its producer
  });
  while (phase.load() != 1) std::this_thread::yield();
  REQUIRE(tracing.force_flush());
  const auto before = tracing.stats();
  REQUIRE(before.queued() == 0);  // the queue is empty
  std::thread([] {
    for (int i = 0; i < 100; ++i) {
      AGENTRACE_SPAN(s, "other.thread");
    }
  }).join();
  REQUIRE(tracing.force_flush());
  const auto after = tracing.stats();
  phase = 2;
  burst.join();
  CHECK(after.dropped_queue_full - before.dropped_queue_full == 0);
  CHECK(after.spans_exported - before.spans_exported == 100);
}

TEST_CASE("a thread whose queue fills up wakes the collector before its timed drain",
          "[collector]") {
  auto rec = std::make_shared<recording_exporter>();
  agentrace::config c;
  c.exporters = {rec};
  c.read_environment = false;
  c.max_queue_size = 256;                    // wakes every 128 spans
  c.schedule_delay = std::chrono::hours(1);  // no timed drain and no timed export
  c.drain_interval = std::chrono::hours(1);
  auto tracing = agentrace::start(c);
  const auto before = tracing.stats();
  // 20 queues' worth, at a pace the collector can follow once woken (it is never woken by time).
  constexpr int n = 20 * 256;
  std::thread([&] {
    for (int i = 0; i < n; ++i) {
      { AGENTRACE_SPAN(s, "paced"); }
      if (i % 32 == 31) std::this_thread::sleep_for(1ms);
    }
  }).join();
  const auto mid = tracing.stats();
  const std::uint64_t dropped = mid.dropped_queue_full - before.dropped_queue_full;
  // Without the wake-up, everything past the first 256 spans is dropped (19/20 of them).
  INFO("dropped " << dropped << " of " << n);
  CHECK(dropped < n / 4);
  REQUIRE(tracing.force_flush());
  const auto s = tracing.stats();
  check_invariants(s);
  CHECK(s.spans_exported - before.spans_exported + dropped == static_cast<std::uint64_t>(n));
}
