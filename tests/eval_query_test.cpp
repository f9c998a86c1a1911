// SPDX-License-Identifier: MIT
// Queries: syntax, errors pointing at the offending token, the builder, and selection of whole
// traces (streaming and per trace), asserted span by span.
#include <agentrace/eval/query.hpp>
#include <agentrace/eval/reader.hpp>
#include <catch2/catch.hpp>

#include <chrono>

#include "eval_helpers.hpp"

using namespace agentrace;
using namespace agentrace::eval;
using namespace eval_test;
using namespace std::chrono_literals;

TEST_CASE("queries parse and print back canonically") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"errors", "errors"},
      {"ERROR", "errors"},
      {"db.query > p95", "db.query > p95"},
      {"duration>200ms", "duration > 200ms"},
      {"duration >= 1.5s", "duration >= 1500ms"},
      {"\"chat gpt-4o\" > 2s", "\"chat gpt-4o\" > 2s"},
      {"gen_ai.usage.input_tokens > 4000", "gen_ai.usage.input_tokens > 4000"},
      {"gen_ai.request.model = gpt-4o", "gen_ai.request.model = gpt-4o"},
      {"db.query.text ~ 'orders'", "db.query.text ~ orders"},
      {"error.type exists", "error.type exists"},
      {"resource.service.name != \"sql agent\"", "resource.service.name != \"sql agent\""},
      {"errors and db.query > p99 or not (x = 1 or y < 2.5)",
       "errors and db.query > p99 or not (x = 1 or y < 2.5)"},
      {"errors && !(status = ok) || kind = client", "errors and not status = ok or kind = client"},
      {"start >= 2026-01-01T00:00:00Z and end < 1767225601000000000",
       "start >= 2026-01-01T00:00:00Z and end < 1767225601000000000"},
      {"(a exists and (b exists and c exists))", "a exists and b exists and c exists"},
      {"name = \"SELECT orders\"", "name = \"SELECT orders\""},
  };
  for (const auto& [in, canonical] : cases) {
    INFO(in);
    const query q = query::parse(in);
    CHECK(q.to_string() == canonical);
    CHECK(query::parse(q.to_string()).to_string() == canonical);
  }
  CHECK(query::parse("db.query > p95").needs_stats());
  CHECK_FALSE(query::parse("duration > 5ms").needs_stats());
  const query t = query::parse("start >= 2026-01-01T00:00:01.5+01:00");
  CHECK(t.atoms()[0].value.ns == 1767225600000000000ull - 3600000000000ull + 1500000000ull);
}

TEST_CASE("bad queries name the offending token with a column and a caret") {
  struct bad {
    std::string q;
    std::size_t column;
    std::string message;
  };
  const std::vector<bad> cases = {
      {"errors and and", 12, "expected a predicate, got 'and'"},
      {"", 1, "empty query"},
      {"db.query >", 11, "unexpected end of query: expected a value after '>'"},
      {"db.query p95", 10, "expected an operator"},
      {"(errors", 8, "expected ')' to close the '(' at column 1"},
      {"errors)", 7, "expected 'and', 'or' or the end of the query, got ')'"},
      {"duration > 200xs", 12, "'200xs' is not a number or a duration"},
      {"duration > fast", 12, "'duration' compares with a duration"},
      {"db.query > p0", 12, "percentile must be in (0, 100]"},
      {"status = broken", 10, "status is one of unset, ok, error"},
      {"name > x", 6, "'name' supports =, != and ~ only"},
      {"x = \"open", 5, "unterminated string"},
      {"a & b", 3, "unexpected '&'"},
      {"duration ~ 5ms", 10, "'~' (contains) works on strings only"},
  };
  for (const auto& c : cases) {
    INFO(c.q);
    try {
      (void)query::parse(c.q);
      FAIL("no error");
    } catch (const query_error& e) {
      CHECK(e.column() == c.column);
      CHECK_THAT(e.message(), Catch::Contains(c.message));
      // The caret sits under the column.
      const std::string w = e.what();
      const std::string caret_line = w.substr(w.rfind('\n') + 1);
      CHECK(caret_line == "  " + std::string(c.column - 1, ' ') + "^");
    }
  }
}

TEST_CASE("the builder makes the same queries as the syntax") {
  CHECK((q::errors() || (q::span("db.query") > q::p(95))).to_string() ==
        "errors or db.query > p95");
  CHECK((q::attr("gen_ai.usage.input_tokens") > 4000 && !q::errors()).to_string() ==
        "gen_ai.usage.input_tokens > 4000 and not errors");
  CHECK((q::duration() > 200ms).to_string() == "duration > 200ms");
  CHECK((q::duration() > q::p(99)).to_string() == "duration > p99");
  CHECK(q::resource("service.name").exists().to_string() == "resource.service.name exists");
  CHECK((q::attr("db.query.text").contains("orders")).to_string() == "db.query.text ~ orders");
  CHECK((q::name() == "SELECT orders").to_string() == "name = \"SELECT orders\"");
  CHECK((q::status() == "ok" || q::kind() == "client").to_string() ==
        "status = ok or kind = client");
  CHECK((q::attr("flag") == true).to_string() == "flag = true");
  CHECK((q::attr("ratio") < 0.5).to_string() == "ratio < 0.5");
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1767225600));
  CHECK((q::start() >= t0).to_string() == "start >= 1767225600000000000");
  // Builder and parser agree on structure too: (a or b) and c keeps its parentheses.
  CHECK(((q::errors() || q::attr("x") == 1) && q::attr("y").exists()).to_string() ==
        "(errors or x = 1) and y exists");
}

namespace {
struct agent_fixture {
  std::vector<span_data> written;
  std::vector<trace> traces;
  span_stats stats;
  std::string path;
  // The trace whose agent.task has app.task == task.
  const trace& by_task(const std::string& task) const {
    for (const auto& t : traces)
      for (const auto& s : t.spans())
        if (const auto* v = s.attr("app.task"); v && std::get<std::string>(*v) == task) return t;
    throw std::runtime_error("no task " + task);
  }
};

agent_fixture make_fixture(const std::string& name) {
  agent_fixture f;
  const auto dir = temp_dir(name);
  f.path = (dir / "agent.jsonl").string();
  f.written = record_agent_run(f.path);
  reader r;
  f.traces = read_traces({f.path}, r);
  f.stats = span_stats::of(f.traces);
  return f;
}

std::vector<trace_id> select_ids(const agent_fixture& f, const std::string& text) {
  const query q = query::parse(text);
  // Streaming (what the CLI does) and per-trace evaluation must agree.
  selector sel(q, &f.stats);
  reader r;
  r.read_file(f.path, [&](read_span&& s) { sel.add(s); });
  std::vector<trace_id> streamed;
  for (const auto& s : sel.finish()) streamed.push_back(s.id);
  std::vector<trace_id> whole;
  for (const auto& t : f.traces)
    if (match(q, t, &f.stats)) whole.push_back(t.id());
  CHECK(streamed == whole);
  return streamed;
}
}  // namespace

TEST_CASE("selection of whole traces over an agent's run and span by span") {
  const auto f = make_fixture("query-select");
  REQUIRE(f.traces.size() == 3);
  const trace& ok = f.by_task("count orders");
  const trace& retry = f.by_task("top customers");
  const trace& scan = f.by_task("scan");

  CHECK(select_ids(f, "errors") == std::vector<trace_id>{retry.id()});
  CHECK(select_ids(f, "not errors") == std::vector<trace_id>{ok.id(), scan.id()});
  CHECK(select_ids(f, "db.query > p95") == std::vector<trace_id>{scan.id()});
  CHECK(select_ids(f, "gen_ai.usage.input_tokens > 4000") == std::vector<trace_id>{retry.id()});
  CHECK(select_ids(f, "duration > 40ms") == std::vector<trace_id>{scan.id()});
  CHECK(select_ids(f, "app.task = \"count orders\" or db.response.returned_rows >= 1000") ==
        std::vector<trace_id>{ok.id(), scan.id()});
  CHECK(select_ids(f, "resource.service.name = sql-agent and not errors") ==
        std::vector<trace_id>{ok.id(), scan.id()});
  CHECK(select_ids(f, "resource.service.name = other").empty());
  CHECK(select_ids(f, "db.query.text ~ amount and errors") == std::vector<trace_id>{retry.id()});
  CHECK(select_ids(f, "error.type exists").empty());
  CHECK(select_ids(f, "kind = client and status = error") == std::vector<trace_id>{retry.id()});
  // A time window: everything that starts at or after the retry task's start.
  const std::string from = std::to_string(retry.start_unix_ns());
  CHECK(select_ids(f, "start >= " + from + " and name = agent.task") ==
        std::vector<trace_id>{retry.id(), scan.id()});
  CHECK(select_ids(f, "end < " + from) == std::vector<trace_id>{ok.id()});

  // Reasons name the spans.
  const auto m = match(query::parse("errors and db.query > p95 or errors"), retry, &f.stats);
  REQUIRE(m);
  std::size_t failed_db = trace::npos, failed_gen = trace::npos;
  for (std::size_t i = 0; i < retry.spans().size(); ++i) {
    if (retry.spans()[i].name == "db.query" && retry.spans()[i].status == status_code::error)
      failed_db = i;
    if (retry.spans()[i].name == "sql.generate" && retry.spans()[i].status == status_code::error)
      failed_gen = i;
  }
  REQUIRE(failed_db != trace::npos);
  REQUIRE(m->reasons.size() == 1);
  const bool names_a_failed_span =
      m->reasons[0].find(to_hex(retry.spans()[failed_db].span_id)) != std::string::npos ||
      m->reasons[0].find(to_hex(retry.spans()[failed_gen].span_id)) != std::string::npos;
  CHECK(names_a_failed_span);
  CHECK_THAT(m->reasons[0], Catch::StartsWith("errors: span "));

  const auto slow = match(query::parse("db.query > p95"), scan, &f.stats);
  REQUIRE(slow);
  std::size_t slowest = 0;
  for (std::size_t i = 0; i < scan.spans().size(); ++i)
    if (scan.spans()[i].duration_ns() > scan.spans()[slowest].duration_ns() &&
        scan.spans()[i].name == "db.query")
      slowest = i;
  CHECK_THAT(slow->reasons[0], Catch::Contains(to_hex(scan.spans()[slowest].span_id)));
  CHECK_THAT(slow->reasons[0], Catch::Contains("> p95 of \"db.query\""));

  const auto neg = match(query::parse("not errors"), ok);
  REQUIRE(neg);
  CHECK(neg->reasons == std::vector<std::string>{"not errors: the trace does not match it"});
}

TEST_CASE("percentile queries need statistics") {
  CHECK_THROWS_AS(selector(query::parse("db.query > p95")), std::invalid_argument);
  std::string many = "a exists";
  for (int i = 0; i < 64; ++i) many += " or a exists";
  CHECK_THROWS_AS(selector(query::parse(many)), std::invalid_argument);
}
