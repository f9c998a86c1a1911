#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds and runs the example agent
# (examples/sql_agent, offline model, no network): the trace trees go to stdout, the OTLP-JSON
# lines to build/demo/sql_agent.jsonl (validated with otlp-check when it is there).
# Extra arguments go to the agent, e.g. scripts/demo.sh --questions 10 --db-error 0.2
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${AGENTRACE_DEMO_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAGENTRACE_BUILD_TESTS=OFF -DAGENTRACE_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target example_sql_agent -j"$(nproc)" >/dev/null
check=${AGENTRACE_OTLP_CHECK:-$(pwd)/../shared/otlp-check/otlp-check}
mkdir -p "$build/demo" && cd "$build/demo"
../examples/sql_agent "$@"
if [ -f sql_agent.jsonl ] && [ -x "$check" ] && command -v node >/dev/null; then
  "$check" validate --no-orphans "$(pwd)/sql_agent.jsonl" || exit 1
fi
echo "OTLP-JSON written to $(pwd)/sql_agent.jsonl"
