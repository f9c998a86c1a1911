// SPDX-License-Identifier: MIT
// The span loops of BM_SpanEmpty and BM_SpanNested, built into a shared library (-fPIC), as code
// that traces from inside a plugin or a Python extension module is. There every thread_local is
// reached through __tls_get_addr (the general-dynamic TLS model) and globals through the GOT;
// hot_path.cpp calls these to measure what that costs next to the same loops in the executable.
#include <agentrace/agentrace.hpp>
#include <benchmark/benchmark.h>

#include "spans.hpp"

void agentrace_bench_so_span_empty(benchmark::State& state) {
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.empty");
    benchmark::DoNotOptimize(s);
  }
}

void agentrace_bench_so_span_nested(benchmark::State& state) {
  for (auto _ : state) {
    AGENTRACE_SPAN(parent, "bench.parent");
    {
      AGENTRACE_SPAN(child, "bench.child");
      benchmark::DoNotOptimize(child);
    }
    benchmark::DoNotOptimize(parent);
  }
}
