// SPDX-License-Identifier: MIT
// exporters/console.hpp: render_trace for a known tree (structure, ERROR marking, values,
// the incomplete marker) and the exporter end to end.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <cstdio>

#include "core_test_util.hpp"

namespace {
using agentrace::span_data;
using agentrace::detail::assembled_trace;

constexpr std::uint64_t t0 = 1'700'000'000'000'000'000ull;
constexpr std::uint64_t ms = 1'000'000;

span_data make(std::uint64_t id, std::uint64_t parent, std::string name, std::uint64_t start,
               std::uint64_t end) {
  span_data s;
  s.trace_id = {0x1111111111111111ull, 0x2222222222222222ull};
  s.span_id = id;
  s.parent_span_id = parent;
  s.name = std::move(name);
  s.start_unix_ns = start;
  s.end_unix_ns = end;
  return s;
}

/// A task with a failing query and an LLM call that used a tool; children arrive first.
assembled_trace known_trace() {
  assembled_trace t;
  t.id = {0x1111111111111111ull, 0x2222222222222222ull};
  auto tool = make(4, 3, "tool", t0 + 5 * ms, t0 + 6 * ms);
  auto query = make(2, 1, "db.query", t0 + 1 * ms, t0 + 3 * ms + ms / 4);
  query.status = agentrace::status_code::error;
  query.status_message = "timeout after 2 s";
  query.attributes = {{"rows", std::int64_t{42}}};
  query.events.push_back({t0 + 3 * ms,
                          "exception",
                          {{"exception.type", std::string("std::runtime_error")},
                           {"exception.message", std::string("boom")}}});
  query.events.push_back({t0 + 2 * ms, "not.an.exception", {{"hidden", std::string("x")}}});
  auto llm = make(3, 1, "llm.chat", t0 + 4 * ms, t0 + 10 * ms);
  llm.attributes = {{"temperature", 0.5},
                    {"ok", true},
                    {"tags", std::vector<std::string>{"a", "b"}},
                    {"ids", std::vector<std::int64_t>{1, 2}},
                    {"flags", std::vector<bool>{true, false}}};
  auto root = make(1, 0, "agent.task", t0, t0 + 12 * ms + ms / 2);
  root.attributes = {{"app.question", std::string("How many?\nReally?")}};
  t.spans = {tool, query, llm, root};
  return t;
}

agentrace::console_options no_color() {
  agentrace::console_options o;
  o.color = 0;
  return o;
}

}  // namespace

TEST_CASE("render_trace: a known tree, exactly", "[console]") {
  const std::string out =
      agentrace::detail::render_trace(known_trace(), "svc", no_color(), /*color=*/false);
  const std::string expected =
      "trace 11111111111111112222222222222222 (svc, 4 spans, 12.50 ms, 1 error)\n"
      "└─ agent.task  12.50 ms  app.question=\"How many? Really?\"\n"
      "   ├─ db.query  2.25 ms  ERROR \"timeout after 2 s\"  rows=42"
      "  exception.type=\"std::runtime_error\"  exception.message=\"boom\"\n"
      "   └─ llm.chat  6.00 ms  temperature=0.5  ok=true  tags=[\"a\", \"b\"]  ids=[1, 2]"
      "  flags=[true, false]\n"
      "      └─ tool  1.00 ms\n";
  CHECK(out == expected);
}

TEST_CASE("render_trace: an incomplete trace shows its orphans as roots", "[console]") {
  auto t = known_trace();
  t.spans.pop_back();  // the root never arrived
  t.complete = false;
  const std::string out = agentrace::detail::render_trace(t, "svc", no_color(), false);
  const std::string expected =
      "trace 11111111111111112222222222222222 (svc, 3 spans, 9.00 ms, 1 error, incomplete)\n"
      "├─ db.query  2.25 ms  ERROR \"timeout after 2 s\"  rows=42"
      "  exception.type=\"std::runtime_error\"  exception.message=\"boom\"\n"
      "└─ llm.chat  6.00 ms  temperature=0.5  ok=true  tags=[\"a\", \"b\"]  ids=[1, 2]"
      "  flags=[true, false]\n"
      "   └─ tool  1.00 ms\n";
  CHECK(out == expected);
}

TEST_CASE("render_trace: colours, hidden attributes, cut values, short durations", "[console]") {
  assembled_trace t;
  t.id = {1, 2};
  auto s = make(9, 0, "one", t0, t0 + 1234);
  s.trace_id = t.id;
  s.status = agentrace::status_code::error;
  s.attributes = {
      {"long", std::string("abcdefghijklmnop")},
      {"wide", std::string("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9")}};
  t.spans = {s};
  auto o = no_color();
  o.max_value_length = 10;
  const std::string cut = agentrace::detail::render_trace(t, "svc", o, false);
  CHECK(cut ==
        "trace 00000000000000010000000000000002 (svc, 1 span, 0.001 ms, 1 error)\n"
        "└─ one  0.001 ms  ERROR  long=\"abcdefghi…  wide=\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9…\n");
  o.show_attributes = false;
  const std::string colored = agentrace::detail::render_trace(t, "svc", o, true);
  CHECK(colored.find("\x1b[31mERROR\x1b[0m") != std::string::npos);
  CHECK(colored.find("long=") == std::string::npos);
  CHECK(agentrace::detail::duration_text(15 * 1'000'000'000ull) == "15.00 s");
  CHECK(agentrace::detail::duration_text(999'999) == "1.000 ms");
}

TEST_CASE("the console exporter prints one tree per trace, assembled from child-first spans",
          "[console]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  agentrace::console_options o;
  o.out = f;
  o.color = 0;
  auto tracing = agentrace::start({.service_name = "console-test",
                                   .exporters = {agentrace::console(o)},
                                   .read_environment = false});
  {
    AGENTRACE_SPAN(task, "agent.task");
    static constexpr agentrace::key<std::int64_t> rows{"app.rows"};
    {
      AGENTRACE_SPAN(q, "db.query");
      q.set(rows, 42);
      q.error("bad table");
    }
    { AGENTRACE_SPAN(p, "agent.plan"); }
  }
  { AGENTRACE_SPAN(other, "second.trace"); }
  REQUIRE(tracing.shutdown());
  std::rewind(f);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  INFO(out);
  CHECK(std::count(out.begin(), out.end(), '\n') == 6);
  const auto first = out.find("(console-test, 3 spans, ");
  const auto second = out.find("(console-test, 1 span, ");
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  CHECK(first < second);  // traces in the order they arrived
  CHECK(out.find(", 1 error)") != std::string::npos);
  CHECK(out.find("\n└─ agent.task  ") != std::string::npos);
  CHECK(out.find("\n   ├─ db.query  ") != std::string::npos);  // earlier start, first child
  CHECK(out.find("ERROR \"bad table\"  app.rows=42\n") != std::string::npos);
  CHECK(out.find("\n   └─ agent.plan  ") != std::string::npos);
  CHECK(out.find("\n└─ second.trace  ") != std::string::npos);
  CHECK(out.find("incomplete") == std::string::npos);
  CHECK(out.find("\x1b[") == std::string::npos);  // colour off
}

TEST_CASE("the console exporter prints one line per event, with the span it belongs to",
          "[console]") {
  std::FILE* f = std::tmpfile();
  REQUIRE(f);
  agentrace::console_options o;
  o.out = f;
  o.color = 0;
  auto tracing = agentrace::start({.service_name = "console-test",
                                   .exporters = {agentrace::console(o)},
                                   .read_environment = false});
  std::string span_id;
  {
    AGENTRACE_SPAN(task, "agent.task");
    span_id = agentrace::to_hex(task.context().span_id);
    static constexpr agentrace::key<std::int64_t> rows{"app.rows"};
    CHECK(agentrace::emit_event("app.cache_miss", {{rows, 7}}, agentrace::severity::warn));
  }
  REQUIRE(tracing.shutdown());
  std::rewind(f);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
  std::fclose(f);
  INFO(out);
  CHECK(out.find("event app.cache_miss WARN trace=") != std::string::npos);
  CHECK(out.find(" span=" + span_id + "  app.rows=7\n") != std::string::npos);
}
