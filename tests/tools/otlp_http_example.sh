#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the otlp_http example against `otlp-check receive` on 127.0.0.1. PROTOCOL "default": no
# protocol variable, so the bodies must be protobuf; "http/json": JSON. Every span (3 tasks x 3)
# must arrive on /v1/traces and every event (3) on /v1/logs, in that encoding.
# Usage: otlp_http_example.sh EXAMPLE OTLP_CHECK PROTOCOL
set -u
example=$1 check=$2 protocol=$3
command -v node >/dev/null 2>&1 || { echo "SKIPPED: node is not installed, otlp-check cannot run"; exit 77; }
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
"$check" receive --port 0 --out "$dir/traces.jsonl" --out-logs "$dir/logs.jsonl" --timeout 120 \
  >"$dir/rx.out" 2>"$dir/rx.err" &
pid=$!
i=0
while ! grep -q '^listening: ' "$dir/rx.out" 2>/dev/null; do
  i=$((i + 1))
  [ $i -gt 1200 ] && { echo "FAIL: the receiver did not start"; cat "$dir/rx.err"; exit 1; }
  sleep 0.1
done
url=$(sed -n 's|^listening: \(http://[^/]*\)/.*|\1|p' "$dir/rx.out")
set -- env -u OTEL_EXPORTER_OTLP_PROTOCOL -u OTEL_EXPORTER_OTLP_TRACES_PROTOCOL \
  -u OTEL_EXPORTER_OTLP_LOGS_PROTOCOL -u OTEL_TRACES_EXPORTER -u OTEL_LOGS_EXPORTER \
  -u AGENTRACE_OTLP_FILE -u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT -u OTEL_EXPORTER_OTLP_LOGS_ENDPOINT \
  "OTEL_EXPORTER_OTLP_ENDPOINT=$url"
if [ "$protocol" = default ]; then
  want=protobuf
else
  want=json
  set -- "$@" "OTEL_EXPORTER_OTLP_PROTOCOL=$protocol"
fi
"$@" "$example" >"$dir/example.out" 2>&1
rc=$?
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
cat "$dir/example.out"
fail=0
[ $rc -eq 0 ] || { echo "FAIL: the example exited with $rc"; fail=1; }
posts=$(grep -c "POST /v1/traces ($want) -> 200" "$dir/rx.err")
others=$(grep "POST /v1/" "$dir/rx.err" | grep -vc "($want)")
log_posts=$(grep -c "POST /v1/logs ($want) -> 200" "$dir/rx.err")
echo "receiver: $posts $want trace requests, $log_posts $want log requests, $others in another encoding"
[ "$posts" -ge 1 ] && [ "$log_posts" -ge 1 ] && [ "$others" -eq 0 ] || { echo "FAIL: not all requests were $want"; cat "$dir/rx.err"; fail=1; }
grep -q "spans delivered: 9 " "$dir/example.out" || { echo "FAIL: the example did not deliver 9 spans"; fail=1; }
grep -q "log records delivered: 3," "$dir/example.out" || { echo "FAIL: the example did not deliver 3 events"; fail=1; }
python3 - "$dir/traces.jsonl" "$dir/logs.jsonl" <<'PY' || fail=1
import json, sys
spans = [s for line in open(sys.argv[1]) if line.strip()
         for rs in json.loads(line)["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
logs = [r for line in open(sys.argv[2]) if line.strip()
        for rl in json.loads(line)["resourceLogs"] for sl in rl["scopeLogs"] for r in sl["logRecords"]]
roots = {s["spanId"] for s in spans if s["name"] == "agent.task"}
ok = len(spans) == 9 and len(roots) == 3 and len(logs) == 3 and {r["spanId"] for r in logs} == roots
print("arrived: %d spans, %d events linked to the task spans: %s" % (len(spans), len(logs), ok))
sys.exit(0 if ok else 1)
PY
exit $fail
