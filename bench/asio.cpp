// SPDX-License-Identifier: MIT
// The context switch per co_await of an asio::awaitable on a traced executor (agentrace/asio.hpp)
// next to the same co_await on the bare executor, in the same binary: one coroutine on a
// one-thread io_context awaits asio::post(use_awaitable) once per iteration (a suspension, a
// resumption through the executor). A span is held across the co_await in the *Span variants.
#if AGENTRACE_BENCH_ASIO
#include <agentrace/agentrace.hpp>
#include <agentrace/asio.hpp>
#include <benchmark/benchmark.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

namespace {

asio::awaitable<void> post_loop(benchmark::State& state) {
  for (auto _ : state) co_await asio::post(asio::use_awaitable);
}

asio::awaitable<void> post_loop_with_span(benchmark::State& state) {
  AGENTRACE_SPAN(s, "bench.request");  // not recording here (tracing not started): a context
  for (auto _ : state) co_await asio::post(asio::use_awaitable);
}

template <bool Traced, bool Span>
void run(benchmark::State& state) {
  asio::io_context io(1);
  auto body = Span ? post_loop_with_span(state) : post_loop(state);
  if constexpr (Traced)
    asio::co_spawn(agentrace::asio::traced(io.get_executor()), std::move(body), asio::detached);
  else
    asio::co_spawn(io.get_executor(), std::move(body), asio::detached);
  io.run();
}

void BM_AsioPostAwaitBare(benchmark::State& state) { run<false, false>(state); }
BENCHMARK(BM_AsioPostAwaitBare);
void BM_AsioPostAwaitTraced(benchmark::State& state) { run<true, false>(state); }
BENCHMARK(BM_AsioPostAwaitTraced);
void BM_AsioPostAwaitTracedSpan(benchmark::State& state) { run<true, true>(state); }
BENCHMARK(BM_AsioPostAwaitTracedSpan);

}  // namespace
#endif  // AGENTRACE_BENCH_ASIO
