#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Peak memory of `agentrace-eval stats` against the number of spans read.

Writes OTLP-JSON lines of N spans (agentrace's agent shape: traces of 10 spans, 4 attributes
each, 512 spans per request line) for each N, runs `agentrace-eval stats -q` over each file and
reports the peak resident set of the process, and the bytes per span above the peak over a
file of 1,000 spans (the process, its libraries and its buffers). Linear memory means the
bytes per span stay the same as N grows.

  python3 bench/eval_memory.py BUILD_DIR/tools/agentrace-eval/agentrace-eval [N...]
  (default N: 1000000 5000000; the files go to $TMPDIR and are removed afterwards)
"""
import os
import resource
import subprocess
import sys
import tempfile


def write_spans(path, n):
    head = ('{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":'
            '{"stringValue":"sql-agent"}}]},"scopeSpans":[{"scope":{"name":"agentrace"},'
            '"spans":[')
    with open(path, "w") as f:
        made = 0
        trace_hi = 0x4BF92F3577B34DA6
        root = 0
        while made < n:
            spans = []
            for _ in range(min(512, n - made)):
                if made % 10 == 0:
                    trace_hi += 1
                    root = 0
                span = (made * 0x9E3779B97F4A7C15 | 1) & 0xFFFFFFFFFFFFFFFF
                start = 1767225600000000000 + made * 1000
                parent = ',"parentSpanId":"%016x"' % root if root else ""
                status = '"code":2,"message":"failed"' if made % 50 == 0 else ""
                spans.append(
                    '{"traceId":"%016xa3ce929d0e0e4736","spanId":"%016x"%s,"name":"%s",'
                    '"kind":%d,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":['
                    '{"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o"}},'
                    '{"key":"gen_ai.usage.input_tokens","value":{"intValue":"%d"}},'
                    '{"key":"gen_ai.usage.output_tokens","value":{"intValue":"%d"}}],'
                    '"status":{%s}}'
                    % (trace_hi, span, parent, "chat gpt-4o" if root else "agent.task",
                       3 if root else 1, start, start + 1000 + made % 997, 100 + made % 4000,
                       10 + made % 300, status))
                if not root:
                    root = span
                made += 1
            f.write(head + ",".join(spans) + "]}]}]}\n")


def peak_rss_kib(cli, path):
    """Peak RSS (KiB) of one `stats` run, read from the child's own rusage via a wrapper."""
    code = ("import resource,subprocess,sys;"
            "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL);"
            "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, cli, "stats", "-q", path],
                         check=True, capture_output=True, text=True).stdout.split()
    if out[0] != "0":
        sys.exit("agentrace-eval stats failed on %s (exit %s)" % (path, out[0]))
    return int(out[1])


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cli = sys.argv[1]
    sizes = [int(a) for a in sys.argv[2:]] or [1000000, 5000000]
    with tempfile.TemporaryDirectory(prefix="agentrace-eval-memory-") as d:
        base_file = os.path.join(d, "base.jsonl")
        write_spans(base_file, 1000)
        base = peak_rss_kib(cli, base_file)
        print("baseline (1,000 spans): peak RSS %.1f MiB" % (base / 1024))
        per_span = []
        for n in sizes:
            path = os.path.join(d, "spans-%d.jsonl" % n)
            write_spans(path, n)
            peak = peak_rss_kib(cli, path)
            os.remove(path)
            b = (peak - base) * 1024 / n
            per_span.append(b)
            print("%10d spans: peak RSS %7.1f MiB, %5.1f bytes per span above the baseline"
                  % (n, peak / 1024, b))
        if len(per_span) > 1:
            print("bytes per span, largest / smallest input: %.2f (1.00 = linear)"
                  % (per_span[-1] / per_span[0]))


if __name__ == "__main__":
    main()
