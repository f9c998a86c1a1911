// SPDX-License-Identifier: MIT
// Queries that select whole traces, one syntax for the CLI and a C++ builder:
//   errors                          a span has status ERROR
//   db.query > p95                  a span named db.query is slower than the p95 of its name
//   duration > p99                  any span slower than the p99 of its own name
//   "chat gpt-4o" > 2s              a span with that name took longer than 2 s
//   duration > 200ms                any span longer than 200 ms
//   gen_ai.usage.input_tokens > 4000    span attribute predicate (=, !=, <, <=, >, >=, ~ contains)
//   db.query.text exists            the attribute is present
//   resource.service.name = sql-agent   resource attribute predicate
//   name = "SELECT orders"  status = error  kind = client
//   conversation = conv-42         gen_ai.conversation.id (else session.id) of a span
//   start >= 2026-01-01T00:00:00Z  end < 1767225600000000000   time window (RFC 3339 or Unix ns)
//   a and b, a or b, not a, (a)     combinations (also &&, ||, !)
// Every predicate asks "does some span of the trace satisfy it"; and/or/not combine those
// answers per trace.
#pragma once

#include "agentrace/eval/detail/query_parser.hpp"
#include "agentrace/eval/query_types.hpp"
#include "agentrace/eval/selection.hpp"
