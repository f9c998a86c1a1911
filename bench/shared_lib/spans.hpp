// SPDX-License-Identifier: MIT
// Span loops built into a shared library (spans.cpp).
#pragma once

#include <benchmark/benchmark.h>

void agentrace_bench_so_span_empty(benchmark::State& state);
void agentrace_bench_so_span_nested(benchmark::State& state);
