// SPDX-License-Identifier: MIT
// Metrics: the collector's cost per span with span-derived metrics on vs off (the same batch
// observed and serialized, or only serialized), and the cost of recording into instruments, as
// ratios against BM_SteadyClockTwoReads (bench/hot_path.cpp) in the same run.
#include <agentrace/agentrace.hpp>
#include <benchmark/benchmark.h>

#include <time.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <bit>
#include <cstddef>
#include <vector>

namespace {

inline constexpr agentrace::key<std::string> k_op{"gen_ai.operation.name"};
inline constexpr agentrace::key<std::string> k_provider{"gen_ai.provider.name"};
inline constexpr agentrace::key<std::string> k_model{"gen_ai.request.model"};
inline constexpr agentrace::key<std::int64_t> k_in{"gen_ai.usage.input_tokens"};
inline constexpr agentrace::key<std::int64_t> k_out{"gen_ai.usage.output_tokens"};
inline constexpr agentrace::key<std::string> k_route{"app.route"};
inline constexpr agentrace::key<std::int64_t> k_code{"app.code"};

constexpr agentrace::span_site chat_site{"chat gpt-4o-mini", agentrace::span_kind::client, __FILE__,
                                         __LINE__, "bench"};
constexpr agentrace::span_site tool_site{"tool.sql", agentrace::span_kind::internal, __FILE__,
                                         __LINE__, "bench"};

// 512 spans: every fourth an inference span with GenAI attributes, the others tool spans with
// one attribute; a few errors.
struct metrics_fixture {
  std::vector<agentrace::span_record> records;
  agentrace::resource res;
  agentrace::detail::clock_converter clock;
  agentrace::span_limits limits;

  metrics_fixture() : records(512) {
    using agentrace::detail::slot_type;
    for (std::size_t i = 0; i < records.size(); ++i) {
      auto& r = records[i];
      const bool chat = i % 4 == 0;
      r.site = chat ? &chat_site : &tool_site;
      r.trace_id = {0x0123456789abcdefull + i, 0xfedcba9876543210ull};
      r.span_id = 0x1000 + i;
      r.parent_span_id = i ? 0x1000 + i - 1 : 0;
      r.flags = 1;
      r.start_ticks = 1'000'000 * i;
      r.end_ticks = r.start_ticks + 123'456 * (1 + i % 7);
      if (i % 50 == 0) r.set_status(agentrace::status_code::error);
      if (chat) {
        r.push_static_string(k_op.name(), "chat");
        r.push_static_string(k_provider.name(), "openai");
        r.push_static_string(k_model.name(), "gpt-4o-mini");
        r.push_slot(k_in.name(), slot_type::int64, 100 + i);
        r.push_slot(k_out.name(), slot_type::int64, 20 + i % 13);
      } else {
        r.push_slot(k_code.name(), slot_type::int64, 200);
      }
    }
    agentrace::config cfg;
    cfg.service_name = "bench";
    cfg.read_environment = false;
    res = agentrace::make_resource(cfg);
  }
};

template <bool Metrics>
void collector_bench(benchmark::State& state) {
  const metrics_fixture f;
  agentrace::span_metrics metrics({}, "bench");
  fmt::memory_buffer buf;
  for (auto _ : state) {
    if constexpr (Metrics) metrics.observe(f.records, f.clock);
    buf.clear();
    agentrace::export_batch batch{f.records, f.res, f.clock, f.limits, "agentrace", "0.1.0", 0};
    agentrace::serialize_otlp_protobuf(batch, buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * f.records.size()));
}
// Collector CPU per span: protobuf serialization only (what an exporter costs)...
void BM_CollectorSpanMetricsOff(benchmark::State& state) { collector_bench<false>(state); }
// ... and with the span-derived metrics observing the same batch first (target <= 1.3x).
void BM_CollectorSpanMetricsOn(benchmark::State& state) { collector_bench<true>(state); }
// The span metrics alone (observe only), per span.
void BM_SpanMetricsObserve(benchmark::State& state) {
  const metrics_fixture f;
  agentrace::span_metrics metrics({}, "bench");
  for (auto _ : state) metrics.observe(f.records, f.clock);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * f.records.size()));
}
// On vs off in one benchmark: each iteration serializes the batch alone and observes and
// serializes it, in alternating order, each timed by the thread's CPU clock; `on_off_ratio` is
// the median of the iterations' on/off ratios. Noise common to the pair (another process
// taking the caches, a slower core) cancels in the ratio, which the separate benchmarks above
// measure minutes apart. `on_ns_per_span` / `off_ns_per_span`: the medians of each side.
double thread_cpu_ns() noexcept {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}
double median(std::vector<double>& v) {
  if (v.empty()) return 0;
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}
void BM_CollectorSpanMetricsRatio(benchmark::State& state) {
  const metrics_fixture f;
  agentrace::span_metrics metrics({}, "bench");
  fmt::memory_buffer buf;
  auto batch = [&](bool on) {
    const double t0 = thread_cpu_ns();
    if (on) metrics.observe(f.records, f.clock);
    buf.clear();
    agentrace::export_batch b{f.records, f.res, f.clock, f.limits, "agentrace", "0.1.0", 0};
    agentrace::serialize_otlp_protobuf(b, buf);
    benchmark::DoNotOptimize(buf.data());
    return thread_cpu_ns() - t0;
  };
  std::vector<double> on, off, ratio;
  bool on_first = false;
  for (auto _ : state) {
    double t_on = 0, t_off = 0;
    if (on_first) {
      t_on = batch(true);
      t_off = batch(false);
    } else {
      t_off = batch(false);
      t_on = batch(true);
    }
    on_first = !on_first;
    on.push_back(t_on);
    off.push_back(t_off);
    if (t_off > 0) ratio.push_back(t_on / t_off);
  }
  const auto n = static_cast<double>(f.records.size());
  state.counters["on_off_ratio"] = median(ratio);
  state.counters["on_ns_per_span"] = median(on) / n;
  state.counters["off_ns_per_span"] = median(off) / n;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 2 * f.records.size()));
}
BENCHMARK(BM_SpanMetricsObserve);
BENCHMARK(BM_CollectorSpanMetricsOff);
BENCHMARK(BM_CollectorSpanMetricsOn);
BENCHMARK(BM_CollectorSpanMetricsRatio);

agentrace::counter<std::int64_t> bench_counter{"bench.counter"};
agentrace::histogram<double> bench_histogram{"bench.histogram", "s"};

void BM_CounterAdd(benchmark::State& state) {
  for (auto _ : state) bench_counter.add(1);
}
void BM_CounterAddTwoAttrs(benchmark::State& state) {
  for (auto _ : state) bench_counter.add(1, {{k_route, "/chat"}, {k_code, 200}});
}
void BM_HistogramRecord(benchmark::State& state) {
  double v = 0;
  for (auto _ : state) {
    bench_histogram.record(v);
    v = v < 9000 ? v + 37 : 0;
  }
}
void BM_HistogramRecordOneAttr(benchmark::State& state) {
  double v = 0;
  for (auto _ : state) {
    bench_histogram.record(v, {{k_route, "/chat"}});
    v = v < 9000 ? v + 37 : 0;
  }
}
BENCHMARK(BM_CounterAdd)->Threads(1)->Threads(2);
BENCHMARK(BM_CounterAddTwoAttrs)->Threads(1)->Threads(2);
BENCHMARK(BM_HistogramRecord)->Threads(1)->Threads(2);
BENCHMARK(BM_HistogramRecordOneAttr)->Threads(1)->Threads(2);

// Memory per series: the heap a new series takes, measured as the growth of the heap in use
// (glibc's mallinfo2) over 1000 new series, divided by 1000: a counter and a histogram (default
// buckets) with two attributes, and a span-metrics series (traces.span.metrics.duration and
// .calls share it) of a span with a name of its own. The span metrics' figure includes their
// vector's spare capacity, as a process holds it.
std::size_t heap_in_use() noexcept {
#if defined(__GLIBC__)
  return mallinfo2().uordblks;
#else
  return 0;
#endif
}
void BM_MemoryPerSeries(benchmark::State& state) {
  constexpr int n = 1000;
  std::vector<agentrace::span_record> spans(n);
  for (int i = 0; i < n; ++i) {
    auto& r = spans[static_cast<std::size_t>(i)];
    r.site = &tool_site;
    r.trace_id = {1, static_cast<std::uint64_t>(i) + 1};
    r.span_id = static_cast<std::uint64_t>(i) + 1;
    r.end_ticks = 1000;
    r.extension().name = fmt::format("tool.sql.query-{:04}", i);
  }
  const agentrace::detail::clock_converter clock;
  auto per_series = [](std::size_t before, std::size_t after) {
    return static_cast<double>(after - before) / n;
  };
  double counter_bytes = 0, histogram_bytes = 0, span_bytes = 0;
  for (auto _ : state) {
    {
      agentrace::counter<std::int64_t> c{"bench.memory.counter", "", "", 2 * n};
      agentrace::histogram<double> h{"bench.memory.histogram", "s", "",
                                     agentrace::default_histogram_buckets, 2 * n};
      std::size_t before = heap_in_use();
      for (int i = 0; i < n; ++i) c.add(1, {{k_route, "/chat"}, {k_code, i}});
      counter_bytes = per_series(before, heap_in_use());
      before = heap_in_use();
      for (int i = 0; i < n; ++i) h.record(0.5, {{k_route, "/chat"}, {k_code, i}});
      histogram_bytes = per_series(before, heap_in_use());
    }
    agentrace::span_metrics metrics({}, "bench");
    const std::size_t before = heap_in_use();
    metrics.observe(spans, clock);
    span_bytes = per_series(before, heap_in_use());
    if (metrics.stats().series != n) state.SkipWithError("not one series per span name");
  }
  if (heap_in_use() == 0) state.SkipWithError("no mallinfo2: not glibc");
  state.counters["counter_series_bytes"] = counter_bytes;
  state.counters["histogram_series_bytes"] = histogram_bytes;
  state.counters["span_metrics_series_bytes"] = span_bytes;
}
BENCHMARK(BM_MemoryPerSeries)->Iterations(20);

}  // namespace
