// SPDX-License-Identifier: MIT
// Hot-path cost of spans, as ratios against reading steady_clock twice in the same binary.
// A live collector drains the queue as in production (into an exporter that only counts).
//
// Two regimes, both reported with the fraction of spans dropped (counter `dropped`):
//  - the span benchmarks run with a queue large enough and a drain frequent enough (1 ms) that
//    the collector keeps up: nearly every span takes the enqueue path;
//  - the *QueueFull variants pause draining (the collector is alive but waits an hour), so after
//    the first 65,536 spans every span takes the drop path (overload).
// AGENTRACE_BENCH_DEFAULTS=1 runs the same benchmarks with the library's default settings
// (2,048 spans per thread, drain every 5 ms): at tens of millions of spans per second that queue
// is full most of the time, so most spans take the drop path.
#include <agentrace/agentrace.hpp>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>

#include "spans.hpp"  // bench/shared_lib: the same span loops in a shared library

namespace {

inline constexpr agentrace::key<std::int64_t> k_tokens{"bench.tokens"};
inline constexpr agentrace::key<double> k_temp{"bench.temperature"};
inline constexpr agentrace::key<bool> k_stream{"bench.stream"};
inline constexpr agentrace::key<std::string> k_model{"bench.model"};

class counting_exporter final : public agentrace::exporter {
 public:
  std::string_view name() const noexcept override { return "count"; }
  agentrace::export_result export_spans(const agentrace::export_batch& b) override {
    spans += b.spans.size();
    return agentrace::export_result::success;
  }
  std::uint64_t spans = 0;
};

bool library_defaults() {
  const char* v = std::getenv("AGENTRACE_BENCH_DEFAULTS");
  return v && *v && *v != '0';
}

// Each thread has its own queue of max_queue_size spans; the largest one can hold (65,536,
// max_thread_queue_size) absorbs the 1 ms between drains at tens of millions of spans per second.
constexpr std::size_t bench_queue_size = agentrace::detail::max_thread_queue_size;

agentrace::config bench_config(bool draining) {
  agentrace::config c;
  c.service_name = "bench";
  c.exporters = {std::make_shared<counting_exporter>()};
  c.read_environment = false;
  if (library_defaults() && draining) return c;
  c.max_queue_size = bench_queue_size;
  c.drain_interval = draining ? std::chrono::milliseconds(1) : std::chrono::hours(1);
  c.schedule_delay = draining ? std::chrono::milliseconds(0) : std::chrono::hours(1);
  c.drain_on_demand = draining;
  return c;
}

// A thread's queue is sized when the thread records its first span and keeps that size while
// the thread lives. Benchmarks of other files start their own tracing (with the default
// capacity) before these run on the main thread, so the capacity is set here, before main().
const bool queue_created = [] {
  agentrace::detail::set_queue_capacity(library_defaults() ? agentrace::defaults::max_queue_size
                                                           : bench_queue_size);
  return true;
}();

// Tracing runs for the whole benchmark process; the QueueFull variants swap in a collector that
// does not drain, and put the draining one back afterwards.
std::optional<agentrace::tracing>& live() {
  static std::optional<agentrace::tracing> t;
  return t;
}
agentrace::tracing& live_tracing() {
  if (!live()) live().emplace(agentrace::start(bench_config(true)));
  return *live();
}
void restart(bool draining) {
  live().reset();  // shutdown: exports what is queued
  live().emplace(agentrace::start(bench_config(draining)));
}

// Brackets the timed loop (thread 0 only; the other threads wait at the start and stop
// barriers, so the bracket covers every thread's spans) and reports the dropped fraction.
class drop_meter {
 public:
  explicit drop_meter(benchmark::State& state) : state_(state) {
    if (state_.thread_index() == 0) before_ = live_tracing().stats();
  }
  ~drop_meter() {
    if (state_.thread_index() != 0) return;
    const agentrace::stats after = live_tracing().stats();
    const double ended = static_cast<double>(after.spans_ended - before_.spans_ended);
    const double dropped =
        static_cast<double>(after.dropped_queue_full - before_.dropped_queue_full);
    state_.counters["dropped"] = ended > 0 ? dropped / ended : 0.0;
  }

 private:
  benchmark::State& state_;
  agentrace::stats before_{};
};

void BM_SteadyClockTwoReads(benchmark::State& state) {
  for (auto _ : state) {
    auto a = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(a);
    auto b = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(BM_SteadyClockTwoReads);

void BM_SpanClockTwoReads(benchmark::State& state) {
  live_tracing();
  for (auto _ : state) {
    auto a = agentrace::detail::now_ticks();
    benchmark::DoNotOptimize(a);
    auto b = agentrace::detail::now_ticks();
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(BM_SpanClockTwoReads);

// Why a span's few extra instructions cost more than their count suggests: the span clock read
// twice, then a chain of N dependent multiplies (3 cycles each) that starts afresh each
// iteration and feeds nothing in the next. If the clock read overlapped the instructions before
// it, a chain shorter than the two reads would be hidden; measured, every multiply past the
// first few adds its latency (bench/README.md). The Independent variant runs N
// multiplies that do not depend on each other.
template <bool Dependent>
void span_clock_then_chain(benchmark::State& state) {
  live_tracing();  // the span clock (TSC or steady_clock) is chosen by start()
  const auto n = state.range(0);
  for (auto _ : state) {
    auto a = agentrace::detail::now_ticks();
    benchmark::DoNotOptimize(a);
    auto b = agentrace::detail::now_ticks();
    benchmark::DoNotOptimize(b);
    std::uint64_t v = 12345;
    benchmark::DoNotOptimize(v);
    for (std::int64_t i = 0; i < n; ++i) {
      if constexpr (Dependent) {
        v *= 0x9e3779b97f4a7c15ull;
        benchmark::DoNotOptimize(v);
      } else {
        std::uint64_t w = v * (0x9e3779b97f4a7c15ull + static_cast<std::uint64_t>(i));
        benchmark::DoNotOptimize(w);
      }
    }
  }
}
void BM_SpanClockThenDependentChain(benchmark::State& state) { span_clock_then_chain<true>(state); }
BENCHMARK(BM_SpanClockThenDependentChain)->Arg(0)->Arg(8)->Arg(16)->Arg(32);
void BM_SpanClockThenIndependent(benchmark::State& state) { span_clock_then_chain<false>(state); }
BENCHMARK(BM_SpanClockThenIndependent)->Arg(16)->Arg(32);

void span_empty(benchmark::State& state) {
  live_tracing();
  drop_meter m(state);
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.empty");
    benchmark::DoNotOptimize(s);
  }
}

void BM_SpanEmpty(benchmark::State& state) { span_empty(state); }
BENCHMARK(BM_SpanEmpty);
BENCHMARK(BM_SpanEmpty)->Threads(2);

void span_four_attrs(benchmark::State& state) {
  live_tracing();
  drop_meter m(state);
  std::int64_t i = 0;
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.four_attrs");
    s.set(k_tokens, ++i).set(k_temp, 0.7).set(k_stream, true).set(k_model, "gpt-4o-mini");
    benchmark::DoNotOptimize(s);
  }
}
void BM_SpanFourAttrs(benchmark::State& state) { span_four_attrs(state); }
BENCHMARK(BM_SpanFourAttrs);

void span_nested(benchmark::State& state) {
  live_tracing();
  drop_meter m(state);
  for (auto _ : state) {
    AGENTRACE_SPAN(parent, "bench.parent");
    {
      AGENTRACE_SPAN(child, "bench.child");
      benchmark::DoNotOptimize(child);
    }
    benchmark::DoNotOptimize(parent);
  }
}
void BM_SpanNested(benchmark::State& state) { span_nested(state); }
BENCHMARK(BM_SpanNested);

// The floor under BM_SpanEmpty, in the same run: what a span costs without its logic (context,
// ids, sampling, exception and shutdown checks): the span clock read twice, a record built on
// the stack and moved into the thread's queue with try_enqueue, as a span does. The difference
// to BM_SpanEmpty is what the span's own logic costs.
void BM_SpanFloorClockRecordEnqueue(benchmark::State& state) {
  live_tracing();
  static constexpr agentrace::span_site site{"bench.floor"};
  alignas(agentrace::span_record) unsigned char storage[sizeof(agentrace::span_record)];
  std::uint64_t i = 0, failed = 0;
  for (auto _ : state) {
    agentrace::detail::thread_state* ts = agentrace::detail::this_thread();
    auto* r = ::new (static_cast<void*>(storage))
        agentrace::span_record(&site, agentrace::trace_id{i + 1, i + 2}, i + 3, 0,
                               agentrace::detail::pack_flags_remote(3, false), 1);
    r->start_ticks = agentrace::detail::now_ticks();
    ++i;
    benchmark::DoNotOptimize(storage);
    r->end_ticks = agentrace::detail::now_ticks();
    if (ts->queue->try_enqueue(std::move(*r)))
      agentrace::detail::thread_counters::bump(ts->counters.enqueued);  // as a span does
    else
      ++failed;
    r->~span_record();
  }
  state.counters["dropped"] =
      static_cast<double>(failed) / static_cast<double>(std::max<std::uint64_t>(i, 1));
}
BENCHMARK(BM_SpanFloorClockRecordEnqueue);

// Below that floor: the clock pair and the record moved into a plain ring of N records on this
// thread (memory from the queue's allocator, so huge pages where the queue gets them), no queue
// and no collector, and no cache hint (with no other core to read the lines, demoting them only
// makes the producer fetch them back: measured +5 ns). N = 64 stays in L1; N = 65,536 is the
// bench queue's size. The steps from
// BM_SpanClockTwoReads to this, to the floor and to BM_SpanEmpty say where a span's time goes.
void BM_SpanFloorClockRecordRing(benchmark::State& state) {
  live_tracing();  // the span clock (TSC or steady_clock) is chosen by start()
  static constexpr agentrace::span_site site{"bench.ring"};
  using agentrace::span_record;
  const auto n = static_cast<std::size_t>(state.range(0));
  auto* ring = static_cast<span_record*>(
      agentrace::detail::allocate_ring(n * sizeof(span_record), alignof(span_record)));
  if (!ring) {
    state.SkipWithError("out of memory");
    return;
  }
  alignas(span_record) unsigned char storage[sizeof(span_record)];
  std::uint64_t i = 0;
  for (auto _ : state) {
    auto* r = ::new (static_cast<void*>(storage))
        span_record(&site, agentrace::trace_id{i + 1, i + 2}, i + 3, 0,
                    agentrace::detail::pack_flags_remote(3, false), 1);
    r->start_ticks = agentrace::detail::now_ticks();
    benchmark::DoNotOptimize(storage);
    r->end_ticks = agentrace::detail::now_ticks();
    auto* slot = ::new (static_cast<void*>(&ring[i & (n - 1)]))
        span_record(span_record::relocate, std::move(*r));
    benchmark::DoNotOptimize(slot);
    benchmark::ClobberMemory();
    slot->~span_record();  // owns nothing: no work, as for a dequeued record
    r->~span_record();
    ++i;
  }
  std::free(ring);
}
BENCHMARK(BM_SpanFloorClockRecordRing)->Arg(64)->Arg(65536);

// The BM_SpanEmpty and BM_SpanNested loops compiled into a shared library (-fPIC), as code that
// traces from a plugin or a Python extension module is: thread_locals through __tls_get_addr,
// globals through the GOT. Compare with the loops above in the same run. Fails loudly if the
// library's spans were not recorded (e.g. a second copy of agentrace's globals in the library).
template <void (*Loop)(benchmark::State&), std::uint64_t SpansPerIteration>
void shared_lib(benchmark::State& state) {
  const std::uint64_t before = live_tracing().stats().spans_ended;
  {
    drop_meter m(state);
    Loop(state);
  }
  const std::uint64_t ended = live_tracing().stats().spans_ended - before;
  if (ended < state.iterations() * SpansPerIteration)
    state.SkipWithError("the shared library's spans were not recorded");
}
void BM_SpanEmptySharedLib(benchmark::State& state) {
  shared_lib<agentrace_bench_so_span_empty, 1>(state);
}
BENCHMARK(BM_SpanEmptySharedLib);
void BM_SpanNestedSharedLib(benchmark::State& state) {
  shared_lib<agentrace_bench_so_span_nested, 2>(state);
}
BENCHMARK(BM_SpanNestedSharedLib);

// Overload: the collector does not drain, the queue fills and every further span is dropped
// (and counted).
template <void (*Body)(benchmark::State&)>
void queue_full(benchmark::State& state) {
  if (state.thread_index() == 0) restart(false);
  Body(state);
  if (state.thread_index() == 0) restart(true);
}
void BM_SpanEmptyQueueFull(benchmark::State& state) { queue_full<span_empty>(state); }
BENCHMARK(BM_SpanEmptyQueueFull);
void BM_SpanFourAttrsQueueFull(benchmark::State& state) { queue_full<span_four_attrs>(state); }
BENCHMARK(BM_SpanFourAttrsQueueFull);
void BM_SpanNestedQueueFull(benchmark::State& state) { queue_full<span_nested>(state); }
BENCHMARK(BM_SpanNestedQueueFull);

}  // namespace
