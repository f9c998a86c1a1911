// SPDX-License-Identifier: MIT
// Tracing compiled out in this translation unit (AGENTRACE_ENABLED=0) while the rest of
// agentrace_bench has it compiled in: BM_SpanCompiledOut must be indistinguishable from
// BM_EmptyLoop. The compiled-out types live in their own inline namespace (no ODR clash).
#undef AGENTRACE_ENABLED
#define AGENTRACE_ENABLED 0
#include <agentrace/agentrace.hpp>
#include <benchmark/benchmark.h>

#include <string>

namespace {

inline constexpr agentrace::key<std::int64_t> k_tokens{"bench.tokens"};
inline constexpr agentrace::key<std::string> k_prompt{"bench.prompt"};

std::string serialise_prompt() { return std::string(4096, 'p'); }  // never called

void BM_EmptyLoop(benchmark::State& state) {
  for (auto _ : state) benchmark::ClobberMemory();
}
BENCHMARK(BM_EmptyLoop);

void BM_SpanCompiledOut(benchmark::State& state) {
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "bench.compiled_out");
    s.set(k_tokens, 42);
    AGENTRACE_SET(s, k_prompt, serialise_prompt());
    { AGENTRACE_SPAN(child, "bench.compiled_out.child"); }
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_SpanCompiledOut);

}  // namespace
