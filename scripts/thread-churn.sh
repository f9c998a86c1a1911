#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds agentrace_thread_churn (Release) and runs it: 5,000 short-lived threads, 8 at a time,
# while the exporter takes 200 ms per batch. Prints thread states and RSS; fails when the states
# alive exceed the threads alive plus the bound on exited states, or a span is neither exported
# nor counted.
#   scripts/thread-churn.sh                 # THREADS AT_ONCE SPANS DELAY_MS = 5000 8 10 200
#   scripts/thread-churn.sh 20000 16 5 50
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AGENTRACE_BENCH_BUILD_DIR:-build/bench-release}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAGENTRACE_BUILD_TESTS=OFF \
  -DAGENTRACE_BUILD_EXAMPLES=OFF -DAGENTRACE_BUILD_CLI=OFF >/dev/null
cmake --build "$build" --target agentrace_thread_churn -j"$(nproc)" >/dev/null
exec "$build/bench/agentrace_thread_churn" "$@"
