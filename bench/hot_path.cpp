// SPDX-License-Identifier: MIT
// Hot-path cost of spans, as ratios against reading steady_clock twice in the same binary.
// A live collector drains the queue as in production (into an exporter that only counts).
#include <agentrace/agentrace.hpp>
#include <benchmark/benchmark.h>

#include <chrono>

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

// Tracing runs for the whole benchmark process.
agentrace::tracing& live_tracing() {
  static agentrace::tracing t = agentrace::start(
      {.service_name = "bench", .exporters = {std::make_shared<counting_exporter>()},
       .read_environment = false});
  return t;
}

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

void BM_SpanEmpty(benchmark::State& state) {
  live_tracing();
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.empty");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SpanEmpty);
BENCHMARK(BM_SpanEmpty)->Threads(2);

void BM_SpanFourAttrs(benchmark::State& state) {
  live_tracing();
  std::int64_t i = 0;
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.four_attrs");
    s.set(k_tokens, ++i).set(k_temp, 0.7).set(k_stream, true).set(k_model, "gpt-4o-mini");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SpanFourAttrs);

void BM_SpanNested(benchmark::State& state) {
  live_tracing();
  for (auto _ : state) {
    AGENTRACE_SPAN(parent, "bench.parent");
    {
      AGENTRACE_SPAN(child, "bench.child");
      benchmark::DoNotOptimize(child);
    }
    benchmark::DoNotOptimize(parent);
  }
}
BENCHMARK(BM_SpanNested);

}  // namespace
