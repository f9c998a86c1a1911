#!/usr/bin/env bash
# Builds agentrace_bench (RelWithDebInfo: g++ -O2 -g, the build bench/README.md's figures come
# from) and runs it as bench/README.md reports it: medians of 5 repetitions, then prints the
# hot-path ratios against their targets (CPU time).
#   scripts/bench.sh                               # every benchmark
#   scripts/bench.sh --benchmark_filter='Span|Steady'  # extra arguments go to the benchmark
#   AGENTRACE_BENCH_DEFAULTS=1 scripts/bench.sh    # the library's default queue settings
set -euo pipefail
cd "$(dirname "$0")/.."
build=${AGENTRACE_BENCH_BUILD_DIR:-build/bench}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTRACE_BUILD_TESTS=OFF \
  -DAGENTRACE_BUILD_EXAMPLES=OFF -DAGENTRACE_BUILD_CLI=OFF >/dev/null
cmake --build "$build" --target agentrace_bench -j"$(nproc)" >/dev/null
out="$build/bench/results.json"
"$build/bench/agentrace_bench" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json "$@"
command -v python3 >/dev/null || exit 0
python3 - "$out" <<'PY'
import json, sys
runs = {b["run_name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]
        if b.get("aggregate_name") == "median"}
def ns(name):
    b = runs.get(name)
    if not b: return None
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
    return b["cpu_time"] * scale
steady = ns("BM_SteadyClockTwoReads")
print("\nratios (median CPU time), target in brackets:")
if steady:
    for name, target in [("BM_SpanEmpty", 0.8), ("BM_SpanFourAttrs", 1.2), ("BM_SpanNested", 1.6),
                         ("BM_SpanEmptyQueueFull", 0.8), ("BM_SpanFourAttrsQueueFull", 1.2),
                         ("BM_SpanNestedQueueFull", 1.6), ("BM_SpanUnsampled", 0.25)]:
        v = ns(name)
        if v is None: continue
        d = runs[name].get("dropped")
        extra = f", dropped {d:.1%}" if d is not None else ""
        print(f"  {name:28s} {v:7.1f} ns = {v / steady:4.2f} x steady pair [<= {target}]"
              f" {'ok' if v / steady <= target else 'MISSED'}{extra}")
one, two = ns("BM_SpanEmpty"), ns("BM_SpanEmpty/threads:2")
if one and two:
    d = runs["BM_SpanEmpty/threads:2"].get("dropped")
    extra = f", dropped {d:.1%}" if d is not None else ""
    print(f"  {'BM_SpanEmpty/threads:2':28s} {two:7.1f} ns = {two / one:4.2f} x one thread [<= 1.5]"
          f" {'ok' if two / one <= 1.5 else 'MISSED'}{extra}")
sm = runs.get("BM_CollectorSpanMetricsRatio")
if sm:
    r = sm["on_off_ratio"]
    print(f"  {'collector, span metrics on':28s} {r:7.2f} x off (median of alternated batches)"
          f" [<= 1.3] {'ok' if r <= 1.3 else 'MISSED'}")
ser = runs.get("BM_SerializeOtlpJson")
if ser:
    r = ser["items_per_second"] / 1e6
    print(f"  {'BM_SerializeOtlpJson':28s} {r:7.2f} M spans/s [>= 2] {'ok' if r >= 2 else 'MISSED'}")
PY
