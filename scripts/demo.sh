#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, runs the example agent; the trace
# trees go to stdout and the OTLP-JSON file to ./build/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAGENTRACE_BUILD_TESTS=OFF -DAGENTRACE_BUILD_BENCH=OFF >/dev/null
cmake --build build --target example_quickstart -j"$(nproc)" >/dev/null
mkdir -p build/demo && cd build/demo
../examples/quickstart
echo "OTLP-JSON written to $(pwd)/quickstart.jsonl"
