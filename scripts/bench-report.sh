#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Measures `agentrace-eval report` against `agentrace-eval stats` over the same input of N
# synthetic agent spans (default 1,000,000; scripts/gen-agent-traces.py): wall and CPU time
# of each, alternated over ROUNDS rounds in one run, the median ratio report/stats (target
# <= 2), the peak resident memory of each and the report's size.
# usage: scripts/bench-report.sh [AGENTRACE_EVAL] [SPANS] [ROUNDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cli="${1:-$here/../build/dev/tools/agentrace-eval/agentrace-eval}"
spans="${2:-1000000}"
rounds="${3:-3}"
[ -x "$cli" ] || { echo "bench-report: no agentrace-eval at $cli (build it, or pass its path)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "bench-report: generating $spans spans..."
python3 "$here/gen-agent-traces.py" --spans "$spans" --seed 11 >"$work/in.jsonl"
echo "input: $(stat -c %s "$work/in.jsonl") bytes"
python3 - "$cli" "$work" "$rounds" <<'PY'
import os, resource, statistics, subprocess, sys, time
cli, work, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
inp = os.path.join(work, "in.jsonl")
out = os.path.join(work, "report.html")
cmds = {"stats": [cli, "stats", "--no-progress", inp],
        "report": [cli, "report", "--no-progress", inp, "-o", out]}
res = {k: [] for k in cmds}
for r in range(rounds):
    for name, cmd in cmds.items():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        if status != 0:
            sys.exit(f"{name} failed with status {status}")
        cpu = ru.ru_utime + ru.ru_stime
        res[name].append((wall, cpu, ru.ru_maxrss))
        print(f"round {r + 1} {name:6}: wall {wall:6.2f} s  cpu {cpu:6.2f} s  peak RSS {ru.ru_maxrss / 1024:7.1f} MiB")
ratios_cpu = [rp[1] / st[1] for st, rp in zip(res["stats"], res["report"])]
ratios_wall = [rp[0] / st[0] for st, rp in zip(res["stats"], res["report"])]
print(f"report/stats CPU time: median {statistics.median(ratios_cpu):.2f}x (target <= 2.00x), rounds {', '.join(f'{x:.2f}' for x in ratios_cpu)}")
print(f"report/stats wall time: median {statistics.median(ratios_wall):.2f}x, rounds {', '.join(f'{x:.2f}' for x in ratios_wall)}")
print(f"peak RSS: stats {max(x[2] for x in res['stats']) / 1024:.1f} MiB, report {max(x[2] for x in res['report']) / 1024:.1f} MiB")
print(f"report size: {os.path.getsize(out)} bytes")
PY
