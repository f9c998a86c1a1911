// SPDX-License-Identifier: MIT
// Context area costs, as ratios against BM_SteadyClockTwoReads (hot_path.cpp, same binary):
// unsampled spans (no clock read, no enqueue), tracing off at run time, context hand-off,
// coroutine suspend/resume with and without the context following, W3C inject/extract.
#include <agentrace/agentrace.hpp>
#include <benchmark/benchmark.h>

#include <map>

namespace {

// Tracing on for one benchmark run. Unsampled spans never reach the queue, so no collector is
// needed: when no other benchmark file has started one, this sets the per-thread queue capacity
// (hot_path.cpp's) and switches recording on for the run only.
class bench_tracing {
 public:
  bench_tracing() : was_on_(agentrace::detail::recording_state.load()) {
    if (!was_on_) {
      // The byte start() would publish: the span clock chosen as start() chooses it (else it is
      // still steady_clock, and spans would take the out-of-line path for other
      // configurations).
      agentrace::detail::set_span_clock_once();
      agentrace::detail::set_queue_capacity(agentrace::detail::max_thread_queue_size);
      agentrace::detail::recording_state.store(agentrace::detail::started_recording_state());
    }
  }
  ~bench_tracing() { agentrace::detail::recording_state.store(was_on_); }
  bench_tracing(const bench_tracing&) = delete;
  bench_tracing& operator=(const bench_tracing&) = delete;

 private:
  std::uint8_t was_on_;
};

// A span whose parent (here: extracted from another process) is not sampled: the default
// parent-based sampler does not sample it. Most spans of a sampled-down service are like this.
void BM_SpanUnsampled(benchmark::State& state) {
  bench_tracing on;
  const agentrace::span_context parent{
      {0x0123456789abcdefull, 0x0fedcba987654321ull}, 0x42, 0, true};
  agentrace::context_scope in(parent);
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.unsampled");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SpanUnsampled);

// A root span the sampler drops (parentbased_always_off): also draws a new trace id.
void BM_SpanUnsampledRoot(benchmark::State& state) {
  bench_tracing on;
  const agentrace::sampler before = agentrace::active_sampler();
  agentrace::detail::install_sampler(
      agentrace::sampler::parent_based(agentrace::sampler::always_off()));
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.unsampled_root");
    benchmark::DoNotOptimize(s);
  }
  agentrace::detail::install_sampler(before);
}
BENCHMARK(BM_SpanUnsampledRoot);

// Tracing not started / shut down: one relaxed load and two compares (recording_common, then 0).
void BM_SpanRuntimeOff(benchmark::State& state) {
  const std::uint8_t was_on = agentrace::detail::recording_state.load();
  agentrace::detail::recording_state.store(agentrace::detail::recording_off);
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.runtime_off");
    benchmark::DoNotOptimize(s);
  }
  agentrace::detail::recording_state.store(was_on);
}
BENCHMARK(BM_SpanRuntimeOff);

// Thread hand-off: installing and restoring a captured context.
void BM_ContextScope(benchmark::State& state) {
  const agentrace::span_context ctx{{1, 2}, 3, agentrace::flag_sampled, false};
  for (auto _ : state) {
    agentrace::context_scope in(ctx);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_ContextScope);

// One suspend + resume of a coroutine, without and with the context following it.
struct parked {
  std::coroutine_handle<> h;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> c) noexcept { h = c; }
  void await_resume() const noexcept {}
};
template <class Promise>
struct loop_coro {
  struct promise_type : Promise {
    loop_coro get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> h;
};
struct plain_promise {
  std::suspend_always initial_suspend() noexcept { return {}; }
  std::suspend_always final_suspend() noexcept { return {}; }
};
template <class P>
loop_coro<P> spin(parked& p) {
  for (;;) co_await p;
}
template <class P>
void run_spin(benchmark::State& state) {
  parked p;
  auto c = spin<P>(p);
  c.h.resume();
  for (auto _ : state) p.h.resume();
  c.h.destroy();
}
void BM_CoroResumePlain(benchmark::State& state) { run_spin<plain_promise>(state); }
BENCHMARK(BM_CoroResumePlain);
struct traced_promise : agentrace::context_promise<loop_coro<traced_promise>::promise_type> {};
void BM_CoroResumeWithContext(benchmark::State& state) { run_spin<traced_promise>(state); }
BENCHMARK(BM_CoroResumeWithContext);

void BM_W3CInject(benchmark::State& state) {
  const agentrace::span_context ctx{
      {0x0123456789abcdefull, 0x0fedcba987654321ull}, 0x42, agentrace::flag_sampled, false};
  std::map<std::string, std::string> headers{{"content-type", "application/json"}};
  for (auto _ : state) {
    agentrace::inject(headers, ctx);
    benchmark::DoNotOptimize(headers);
  }
}
BENCHMARK(BM_W3CInject);

void BM_W3CExtract(benchmark::State& state) {
  const std::map<std::string, std::string> headers{
      {"content-type", "application/json"},
      {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
      {"tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}};
  for (auto _ : state) {
    auto in = agentrace::extract(headers);
    benchmark::DoNotOptimize(in);
  }
}
BENCHMARK(BM_W3CExtract);

}  // namespace
