#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes OTLP-JSON lines of synthetic agent runs, as agentrace's exporter writes them.

Each trace is one task of a SQL agent in a conversation: agent.task > (chat, db.query, tool
call)..., with token usage (cache reads and reasoning included), varied latencies, an error in
about one task in 25 (a failed query followed by a corrected retry) and exception events.
Deterministic for a given --seed. Used by the report's browser test and its benchmark.

usage: gen-agent-traces.py --spans N [--seed S] [--content] > out.jsonl
"""
import argparse
import json
import random
import sys

T0 = 1767225600_000_000_000  # 2026-01-01T00:00:00Z


def attr(k, v):
    if isinstance(v, bool):
        return {"key": k, "value": {"boolValue": v}}
    if isinstance(v, int):
        return {"key": k, "value": {"intValue": str(v)}}
    if isinstance(v, float):
        return {"key": k, "value": {"doubleValue": v}}
    return {"key": k, "value": {"stringValue": v}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spans", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--content", action="store_true", help="capture prompts and completions")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    out = sys.stdout
    made = 0
    trace_no = 0
    batch = []
    span_counter = 0
    models = ["gpt-4o", "gpt-4o-mini", "o3-mini", "local-llama"]

    def new_id():
        nonlocal span_counter
        span_counter += 1
        return "%016x" % ((span_counter * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF | 1)

    def flush():
        if not batch:
            return
        req = {"resourceSpans": [{"resource": {"attributes": [
            attr("service.name", "sql-agent"), attr("telemetry.sdk.name", "agentrace")]},
            "scopeSpans": [{"scope": {"name": "agentrace", "version": "0.1.0"},
                            "spans": list(batch)}]}]}
        out.write(json.dumps(req, separators=(",", ":")) + "\n")
        batch.clear()

    def span(tid, sid, parent, name, kind, start, dur, attrs, error=None, events=None):
        s = {"traceId": tid, "spanId": sid, "flags": 257, "name": name, "kind": kind,
             "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + dur),
             "attributes": attrs, "status": {}}
        if parent:
            s["parentSpanId"] = parent
        if error:
            s["status"] = {"code": 2, "message": error}
        if events:
            s["events"] = events
        batch.append(s)
        if len(batch) >= 256:
            flush()

    while made < a.spans:
        trace_no += 1
        tid = "%016x%016x" % (0x4bf92f3577b34da6 + trace_no, rnd.getrandbits(64) | 1)
        root = new_id()
        start = T0 + trace_no * 2_000_000_000
        conv = "conv-%d" % (trace_no // 4)
        failing = rnd.random() < 0.04
        t = start + 1_000_000
        children = []
        steps = rnd.randint(2, 8)
        for step in range(steps):
            model = models[rnd.randrange(len(models))]
            dur = int(rnd.lognormvariate(19.5, 0.6))  # ~300 ms
            tin = rnd.randint(200, 6000)
            cache = rnd.randint(0, tin // 2) if rnd.random() < 0.5 else 0
            tout = rnd.randint(10, 600)
            reason = rnd.randint(0, tout // 2) if model == "o3-mini" else 0
            attrs = [attr("gen_ai.operation.name", "chat"), attr("gen_ai.provider.name", "openai"),
                     attr("gen_ai.request.model", model), attr("gen_ai.conversation.id", conv),
                     attr("gen_ai.usage.input_tokens", tin), attr("gen_ai.usage.output_tokens", tout)]
            if cache:
                attrs.append(attr("gen_ai.usage.cache_read.input_tokens", cache))
            if reason:
                attrs.append(attr("gen_ai.usage.reasoning.output_tokens", reason))
            if a.content:
                attrs.append(attr("gen_ai.input.messages", json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": "step %d of task %d" % (step, trace_no)}]}])))
                attrs.append(attr("gen_ai.output.messages", json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "SELECT %d" % step}],
                      "finish_reason": "stop"}])))
            children.append(("chat " + model, 3, t, dur, attrs, None, None))
            t += dur + 200_000
            qdur = int(rnd.lognormvariate(15.5, 1.0))  # ~5 ms, long tail
            sql = "SELECT customer, SUM(amount) FROM orders WHERE day = %d GROUP BY customer" % step
            qattrs = [attr("db.system.name", "sqlite"), attr("db.query.text", sql)]
            if failing and step == 0:
                ev = [{"timeUnixNano": str(t + qdur), "name": "exception", "attributes": [
                    attr("exception.type", "sqlite3.OperationalError"),
                    attr("exception.message", "no such column: total")]}]
                children.append(("db.query", 3, t, qdur, qattrs + [attr("error.type", "OperationalError")],
                                 "no such column: total", ev))
            else:
                children.append(("db.query", 3, t, qdur, qattrs + [attr("db.response.returned_rows", rnd.randint(0, 500))],
                                 None, None))
            t += qdur + 100_000
            if rnd.random() < 0.3:
                tdur = int(rnd.lognormvariate(17, 0.5))
                children.append(("execute_tool search_docs", 1, t, tdur,
                                 [attr("gen_ai.operation.name", "execute_tool"),
                                  attr("gen_ai.tool.name", "search_docs")], None, None))
                t += tdur
        n = min(len(children) + 1, a.spans - made)
        span(tid, root, None, "agent.task", 1, start, t - start + 500_000,
             [attr("app.task", "report %d" % trace_no), attr("gen_ai.conversation.id", conv)],
             "query failed" if failing else None)
        for c in children[: n - 1]:
            name, kind, cs, cd, at, err, ev = c
            span(tid, new_id(), root, name, kind, cs, cd, at, err, ev)
        made += n
    flush()


if __name__ == "__main__":
    main()
