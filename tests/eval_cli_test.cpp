// SPDX-License-Identifier: MIT
// agentrace-eval, the built binary: outputs and exit codes of every command.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>

#include <cstdio>
#include <set>
#include <string>

#include "eval_helpers.hpp"

using namespace eval_test;
using nlohmann::json;

namespace {
const std::string cli = AGENTRACE_EVAL_CLI;
const std::string example = fixture("example-otlp-trace.json");

std::string q(const std::string& s) { return "'" + s + "'"; }

struct agent_files {
  fs::path dir;
  std::string jsonl;
};
agent_files agent(const std::string& name) {
  agent_files f{temp_dir(name), {}};
  f.jsonl = (f.dir / "agent.jsonl").string();
  record_agent_run(f.jsonl);
  return f;
}
}  // namespace

TEST_CASE("cli: stats as a table and as JSON") {
  const auto dir = temp_dir("cli-stats");
  auto r = run(cli + " stats " + example, dir);
  CHECK(r.code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() >= 7);
  CHECK(lines[0] ==
        "3 spans in 1 trace, 1 error, 2026-01-01T00:00:00.000Z .. 2026-01-01T00:00:02.350Z");
  CHECK_THAT(r.out, Catch::Contains("SELECT orders                   1       1  100.0%      40.000 "
                                    "     40.000      40.000      40.000"));
  CHECK_THAT(r.out, Catch::Contains("gpt-4o-mini         1           412            38"));

  r = run(cli + " stats --json " + example, dir);
  CHECK(r.code == 0);
  const json j = json::parse(r.out);
  CHECK(j["spans"] == 3);
  CHECK(j["errors"] == 1);
  CHECK(j["names"].size() == 3);
  CHECK(j["models"][0]["input_tokens"] == 412);

  write_file(dir / "empty.jsonl", "");
  r = run(cli + " stats " + (dir / "empty.jsonl").string(), dir);
  CHECK(r.code == 1);
}

TEST_CASE("cli: show draws a waterfall - unknown ids exit 1 and bad ids 2") {
  const auto dir = temp_dir("cli-show");
  auto r = run(cli + " show 4bf92f35 --no-color --width 20 " + example, dir);
  CHECK(r.code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 5);
  CHECK_THAT(lines[0], Catch::StartsWith("trace 4bf92f3577b34da6a3ce929d0e0e4736"));
  CHECK_THAT(lines[4], Catch::Contains("ERROR no such column: total"));
  r = run(cli + " show 0123456789abcdef0123456789abcdef " + example, dir);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("no trace 0123456789abcdef0123456789abcdef"));
  r = run(cli + " show not-hex " + example, dir);
  CHECK(r.code == 2);
}

TEST_CASE("cli: select prints ids with reasons - exit codes 0 and 1 and 2") {
  const auto f = agent("cli-select");
  auto r = run(cli + " select errors " + f.jsonl, f.dir);
  CHECK(r.code == 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].size() > 34);
  CHECK(lines[0].substr(32, 18) == "  errors: span \"db");
  CHECK_THAT(r.err, Catch::Contains("1 of 3 traces matched"));

  r = run(cli + " select " + q("db.query > p95") + " --json " + f.jsonl, f.dir);
  CHECK(r.code == 0);
  lines = lines_of(r.out);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(json::parse(lines[0])["reasons"][0].get<std::string>(),
             Catch::Contains("> p95 of \"db.query\""));

  r = run(cli + " select " + q("gen_ai.usage.input_tokens > 100000") + " " + f.jsonl, f.dir);
  CHECK(r.code == 1);
  CHECK(r.out.empty());

  r = run(cli + " select " + q("errors and and") + " " + f.jsonl, f.dir);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("bad query at column 12: expected a predicate, got 'and'\n  "
                                    "errors and and\n             ^"));

  CHECK(run(cli + " select errors " + (f.dir / "missing.jsonl").string(), f.dir).code == 2);
  CHECK(run(cli + " select errors --bogus " + f.jsonl, f.dir).code == 2);
  CHECK(run(cli + " frobnicate " + f.jsonl, f.dir).code == 2);
  CHECK(run(cli + " select", f.dir).code == 2);
  r = run(cli + " --help", f.dir);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Contains("usage: agentrace-eval COMMAND"));
}

TEST_CASE("cli: select --otlp writes the selected traces as valid OTLP-JSON") {
  const auto f = agent("cli-otlp");
  const std::string out = (f.dir / "selected.jsonl").string();
  auto r = run(cli + " select " + q("not errors") + " --otlp " + out + " " + f.jsonl, f.dir);
  REQUIRE(r.code == 0);
  const auto check =
      run(std::string(AGENTRACE_OTLP_CHECK) + " validate --no-orphans " + out, f.dir);
  INFO(check.out << check.err);
  CHECK(check.code == 0);
  CHECK_THAT(check.out, Catch::Contains("ok: 2 requests, 25 spans, 2 traces"));
  // Reading the output again selects the same traces.
  auto again = run(cli + " select " + q("not errors") + " " + out, f.dir);
  CHECK(again.code == 0);
  CHECK(lines_of(again.out) == lines_of(r.out));
  // And the JSON is the same span for span: stats agree on the selected names.
  auto s1 = run(cli + " stats --json " + out, f.dir);
  const json j = json::parse(s1.out);
  CHECK(j["spans"] == 25);
  CHECK(j["errors"] == 0);
}

TEST_CASE("cli: dataset eval and dataset finetune") {
  const auto f = agent("cli-dataset");
  const std::string tpl = (f.dir / "tpl.txt").string();
  write_file(tpl, "Judge {{trace_id}}: {{reasons}}");
  auto r = run(cli + " dataset eval errors --template " + tpl + " " + f.jsonl, f.dir);
  REQUIRE(r.code == 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 1);
  const json rec = json::parse(lines[0]);
  CHECK(rec["errors"] == 2);
  CHECK(rec["tree"][0]["children"].size() == 2);
  CHECK(rec["judge_prompt"].get<std::string>().rfind(
            "Judge " + rec["trace_id"].get<std::string>() + ": - errors: span", 0) == 0);

  r = run(cli + " dataset finetune " + q("resource.service.name = sql-agent") +
              " --metadata --out " + (f.dir / "ft.jsonl").string() + " " + f.jsonl,
          f.dir);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Catch::Contains("3 examples (1 correction pairs)"));
  lines = lines_of(read_file(f.dir / "ft.jsonl"));
  REQUIRE(lines.size() == 3);
  int corrections = 0;
  for (const auto& l : lines) {
    const json j = json::parse(l);
    REQUIRE(j["messages"].size() == 3);
    CHECK(j["messages"][0]["role"] == "system");
    CHECK(j["messages"][2]["role"] == "assistant");
    if (j["metadata"]["kind"] == "correction") {
      ++corrections;
      CHECK(j["messages"][1]["content"] == "Top customers by revenue?");
      CHECK(j["messages"][2]["content"] ==
            "SELECT customer, SUM(amount) FROM orders GROUP BY customer");
    }
  }
  CHECK(corrections == 1);
  r = run(cli + " dataset finetune " + q("name = agent.task and not gen_ai.request.model exists") +
              " " + example,
          f.dir);
  CHECK(r.code == 1);
}

TEST_CASE("cli: malformed input is reported with file:line and skipped - --strict exits 2") {
  const auto dir = temp_dir("cli-malformed");
  const std::string good = read_file(example);
  std::string one_line;
  for (char c : good)
    if (c != '\n') one_line += c;
  const std::string path = (dir / "mixed.jsonl").string();
  write_file(path, one_line + "\n{\"resourceSpans\":[\n" + one_line + "\n");
  auto r = run(cli + " select errors " + path, dir);
  CHECK(r.code == 0);
  CHECK_THAT(r.err, Catch::Contains(path + ":2: truncated JSON line"));
  CHECK_THAT(r.err, Catch::Contains("skipped 1 bad line(s)"));
  CHECK(lines_of(r.out).size() == 1);  // the same trace twice: de-duplicated
  r = run(cli + " select errors --strict " + path, dir);
  CHECK(r.code == 2);
  r = run(cli + " stats -q " + path, dir);
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  // stdin works too.
  r = run("cat " + path + " | " + cli + " stats --json -q -", dir);
  CHECK(r.code == 0);
  CHECK(json::parse(r.out)["spans"] == 3);
}

namespace {
// `n` copies of the example trace on one line each, each with its own trace id: about 2.2 KiB
// per line, 3 spans per trace, one of them an error.
std::string many_traces(std::size_t n) {
  std::string one_line;
  for (char c : read_file(example))
    if (c != '\n') one_line += c;
  const std::string id = "4bf92f3577b34da6a3ce929d0e0e4736";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string mine = fmt::format("{:032x}", i + 1);
    std::string l = one_line;
    for (auto p = l.find(id); p != std::string::npos; p = l.find(id, p)) l.replace(p, 32, mine);
    out += l;
    out += '\n';
  }
  return out;
}
}  // namespace

TEST_CASE("cli: pipes, FIFOs and process substitution are read whole, by every command") {
  const auto dir = temp_dir("cli-pipes");
  const std::string small = (dir / "small.jsonl").string(), big = (dir / "big.jsonl").string();
  write_file(small, many_traces(1));
  write_file(big, many_traces(1000));  // over 2 MiB: more than any peek or pipe buffer
  REQUIRE(fs::file_size(big) > (2u << 20));
  auto spans_of = [](const run_result& r) {
    INFO(r.err);
    REQUIRE(r.code == 0);
    return json::parse(r.out)["spans"].get<int>();
  };
  SECTION("process substitution, small and large") {
    CHECK(spans_of(run("bash -c '" + cli + " stats --json <(cat " + small + ")'", dir)) == 3);
    CHECK(spans_of(run("bash -c '" + cli + " stats --json <(cat " + big + ")'", dir)) == 3000);
    // select reads twice (statistics for p95, then selection), dataset three times.
    auto r =
        run("bash -c '" + cli + " select \"errors or duration > p99\" <(cat " + big + ")'", dir);
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(lines_of(r.out).size() == 1000);
    r = run("bash -c '" + cli + " dataset eval errors --limit 3 <(cat " + big + ")'", dir);
    CHECK(r.code == 0);
    CHECK(lines_of(r.out).size() == 3);
    r = run("bash -c '" + cli + " show 00000000000000000000000000000300 <(cat " + big + ")'", dir);
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("SELECT orders"));
  }
  SECTION("a FIFO") {
    const std::string fifo = (dir / "traces.fifo").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(spans_of(run("cat " + big + " > " + fifo + " & " + cli + " stats --json " + fifo, dir)) ==
          3000);
  }
  SECTION("standard input, large") {
    CHECK(spans_of(run(cli + " stats --json - < " + big, dir)) == 3000);
    CHECK(spans_of(run("cat " + big + " | " + cli + " stats --json -", dir)) == 3000);
  }
  SECTION("a diagnostic names the pipe, not the temporary copy") {
    const std::string bad = (dir / "bad.jsonl").string();
    write_file(bad, "{\"resourceSpans\":\n");
    auto r = run("bash -c '" + cli + " stats <(cat " + bad + ")'", dir);
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Catch::Contains("/dev/fd/"));
    CHECK_THAT(r.err, !Catch::Contains("agentrace-eval-input-"));
  }
}

namespace {
// One OTLP request line holding `spans` (JSON objects) for trace 4bf9...4736.
std::string request_line(const std::string& spans, const std::string& scope = R"({"name":"s"})") {
  return R"({"resourceSpans":[{"resource":{"attributes":[]},"scopeSpans":[{"scope":)" + scope +
         R"(,"spans":[)" + spans + "]}]}]}\n";
}
std::string span_json(const std::string& id, const std::string& extra = "",
                      const std::string& parent = "") {
  return R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":")" + id + "\"" +
         (parent.empty() ? "" : R"(,"parentSpanId":")" + parent + "\"") +
         R"(,"name":"op","startTimeUnixNano":"1000","endTimeUnixNano":"2000")" + extra + "}";
}
}  // namespace

TEST_CASE("cli: bad input gets the same file:line: diagnostic from every command; --strict fails") {
  const auto dir = temp_dir("cli-bad-input");
  struct bad_case {
    std::string name, line, message;
  };
  const bad_case cases[] = {
      {"event name is an object",
       span_json("0000000000000002", R"(,"events":[{"name":{"x":1},"timeUnixNano":"1500"}])"),
       "expected a string or number, got an object"},
      {"event time is an array",
       span_json("0000000000000002", R"(,"events":[{"name":"e","timeUnixNano":[1]}])"),
       "expected a string or number, got an array"},
      {"status message is an array",
       span_json("0000000000000002", R"(,"status":{"code":2,"message":[]})"),
       "expected a string or number, got an array"},
      {"status code is an object", span_json("0000000000000002", R"(,"status":{"code":{}})"),
       "expected a string or number, got an object"},
      {"link span id is an object",
       span_json("0000000000000002",
                 R"(,"links":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":{}}])"),
       "expected a string or number, got an object"},
      {"attribute string value is an object",
       span_json("0000000000000002",
                 R"(,"attributes":[{"key":"app.x","value":{"stringValue":{"a":1}}}])"),
       "expected a scalar, got an object"},
      {"attribute int value is 2^64",
       span_json("0000000000000002",
                 R"(,"attributes":[{"key":"app.n","value":{"intValue":"18446744073709551616"}}])"),
       "not a 64-bit integer"},
      {"duplicate keys",
       R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"0000000000000002","name":"a","name":"b","startTimeUnixNano":"1000","endTimeUnixNano":"2000"})",
       "duplicate key \"name\""},
      {"end before start",
       R"({"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"0000000000000002","name":"op","startTimeUnixNano":"5000","endTimeUnixNano":"1000"})",
       "endTimeUnixNano is before startTimeUnixNano"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const std::string path = (dir / "bad.jsonl").string();
    write_file(path, request_line(span_json("0000000000000001")) + request_line(c.line));
    for (const std::string cmd : {" stats ", " select errors ", " show 4bf9 "}) {
      INFO(cmd);
      auto r = run(cli + cmd + path, dir);
      CHECK_THAT(r.err, Catch::Contains(path + ":2: ") && Catch::Contains(c.message));
      CHECK(r.code != 2);
      r = run(cli + cmd + "--strict " + path, dir);
      CHECK(r.code == 2);
    }
  }
  // A scope name that is an object.
  const std::string path = (dir / "scope.jsonl").string();
  write_file(path, request_line(span_json("0000000000000001"), R"({"name":{"x":1}})"));
  const auto r = run(cli + " stats --strict " + path, dir);
  CHECK_THAT(r.err, Catch::Contains(path + ":1: ") &&
                        Catch::Contains("expected a string or number, got an object"));
  CHECK(r.code == 2);
}

TEST_CASE("cli: a parent cycle is reported at file:line by every command; no span is lost") {
  const auto dir = temp_dir("cli-cycle");
  const std::string path = (dir / "cycle.jsonl").string();
  // Line 1: root 1 and span 2, whose parent is 4; line 2: 3 under 2; line 3: 4 under 3. So
  // 2 -> 4 -> 3 -> 2 is a cycle under nobody, first read on line 1.
  write_file(path, request_line(span_json("0000000000000001") + "," +
                                span_json("0000000000000002", "", "0000000000000004")) +
                       request_line(span_json("0000000000000003", "", "0000000000000002")) +
                       request_line(span_json("0000000000000004", "", "0000000000000003")));
  const std::string expected = path +
                               ":1: span 0000000000000002 is its own ancestor, a parent cycle of "
                               "3 spans: 0000000000000002 -> 0000000000000004 (line 3) -> "
                               "0000000000000003 (line 2) -> 0000000000000002";
  for (const std::string cmd : {" stats ", " select errors ", " select 'op = x' ", " show 4bf9 ",
                                " dataset eval errors "}) {
    INFO(cmd);
    auto r = run(cli + cmd + path, dir);
    INFO(r.out << r.err);
    CHECK_THAT(r.err, Catch::Contains(expected));
    CHECK(r.code != 2);
    r = run(cli + cmd + "--strict " + path, dir);
    CHECK(r.code == 2);
  }
  auto r = run(cli + " show 4bf9 " + path, dir);
  std::size_t ops = 0;
  for (const auto& l : lines_of(r.out)) ops += l.find("op") != std::string::npos;
  CHECK(ops == 4);  // every span is shown
  // Through a pipe (read once), and across two files: the place names the other file.
  const std::string second = (dir / "more.jsonl").string();
  write_file(path, request_line(span_json("0000000000000001") + "," +
                                span_json("0000000000000002", "", "0000000000000004")));
  write_file(second, request_line(span_json("0000000000000004", "", "0000000000000002")));
  r = run("cat " + second + " | " + cli + " stats " + path + " -", dir);
  INFO(r.err);
  CHECK_THAT(r.err, Catch::Contains(path + ":1: span 0000000000000002 is its own ancestor, a "
                                           "parent cycle of 2 spans: 0000000000000002 -> "
                                           "0000000000000004 (<stdin>:1) -> 0000000000000002"));
  // No cycle, no report (a long chain and a duplicated span are not cycles).
  write_file(path, request_line(span_json("0000000000000001") + "," +
                                span_json("0000000000000002", "", "0000000000000001") + "," +
                                span_json("0000000000000002", "", "0000000000000001")));
  r = run(cli + " stats " + path, dir);
  CHECK_THAT(r.err, !Catch::Contains("ancestor"));
}

TEST_CASE("cli: a directory as FILE is refused with a message that says so") {
  const auto dir = temp_dir("cli-dir");
  for (const std::string cmd : {" stats ", " select errors ", " show 4bf9 "}) {
    const auto r = run(cli + cmd + dir.string(), dir);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("'" + dir.string() + "' is a directory"));
  }
}

#if AGENTRACE_EVAL_HAVE_JUDGE
TEST_CASE("cli: judge against a fake OpenAI-compatible server and with telemetry") {
  const auto dir = temp_dir("cli-judge");
  const std::string verdict =
      R"({"score":0.2,"label":"fail","explanation":"wrong column","spans":[{"span_id":"53995c3f42cd8ad8","label":"root_cause"}]})";
  fake_llm srv({{200, fake_llm::completion(verdict)}});
  const std::string out = (dir / "verdicts.jsonl").string(),
                    tel = (dir / "telemetry.jsonl").string();
  auto r = run("OPENAI_API_KEY=sk-cli " + cli + " judge errors --endpoint " + srv.base_url() +
                   " --model judge-1 --out " + out + " --telemetry " + tel +
                   " --evaluation-spans " + example,
               dir);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Catch::Contains("1 verdicts, 0 evaluation errors"));
  const json v = json::parse(lines_of(read_file(out)).at(0));
  CHECK(v["ok"] == true);
  CHECK(v["score"] == 0.2);
  CHECK(v["spans"][0]["name"] == "SELECT orders");
  CHECK(srv.auth_headers().at(0) == "Bearer sk-cli");
  const auto check = run(std::string(AGENTRACE_OTLP_CHECK) + " validate " + tel, dir);
  INFO(check.out << check.err);
  CHECK(check.code == 0);
  // Two log records (root + the labelled span), mirrored as two spans (--evaluation-spans).
  CHECK_THAT(check.out, Catch::Contains("ok: 2 requests, 2 spans, 1 traces"));
  CHECK_THAT(check.out, Catch::Contains("2 log records"));

  // --dry-run prints the requests and sends nothing.
  r = run(
      cli + " judge errors --dry-run --endpoint http://127.0.0.1:9/v1/chat/completions --model m " +
          example,
      dir);
  REQUIRE(r.code == 0);
  const json req = json::parse(lines_of(r.out).at(0));
  CHECK(req["url"] == "http://127.0.0.1:9/v1/chat/completions");
  CHECK(req["body"]["model"] == "m");
  CHECK(srv.requests().size() == 1);

  CHECK(run(cli + " judge errors --model m " + example, dir).code == 2);  // no endpoint
  CHECK(run(cli + " judge " + q("name = nothing") + " --endpoint " + srv.base_url() +
                " --model m " + example,
            dir)
            .code == 1);
}

TEST_CASE("cli: judge verdicts arrive on /v1/logs as gen_ai.evaluation.result log records") {
  const auto dir = temp_dir("cli-judge-logs");
  const std::string verdict =
      R"({"score":0.2,"label":"fail","explanation":"wrong column","spans":[{"span_id":"53995c3f42cd8ad8","label":"root_cause"}]})";
  const std::string protocol = GENERATE(std::string("http/protobuf"), std::string("http/json"));
  INFO(protocol);
  fake_llm srv({{200, fake_llm::completion(verdict)}});
  const std::string got = (dir / "logs.jsonl").string();
  // A real OTLP receiver on 127.0.0.1 (port 0: it picks one and says which), gone after the
  // one request it expects.
  FILE* rx =
      ::popen((std::string(AGENTRACE_OTLP_CHECK) +
               " receive --port 0 --max-requests 1 --timeout 60 -q --out-logs " + got + " --out " +
               (dir / "other.jsonl").string() + " 2>" + (dir / "receiver.log").string())
                  .c_str(),
              "r");
  REQUIRE(rx != nullptr);
  char line[256] = {};
  REQUIRE(std::fgets(line, sizeof line, rx) != nullptr);
  std::string url(line);  // listening: http://127.0.0.1:PORT/v1/traces
  REQUIRE(url.rfind("listening: ", 0) == 0);
  url = url.substr(11, url.find("/v1/") - 11);
  auto r =
      run("OPENAI_API_KEY=sk OTEL_TRACES_EXPORTER=none OTEL_EXPORTER_OTLP_PROTOCOL=" + protocol +
              " OTEL_EXPORTER_OTLP_ENDPOINT=" + url + " " + cli + " judge errors --endpoint " +
              srv.base_url() + " --model judge-1 " + example,
          dir);
  ::pclose(rx);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto lines = lines_of(read_file(got));
  REQUIRE(lines.size() == 1);
  const json req = json::parse(lines[0]);
  const auto& recs = req["resourceLogs"][0]["scopeLogs"][0]["logRecords"];
  REQUIRE(recs.size() == 2);
  std::set<std::string> linked;
  for (const auto& rec : recs) {
    CHECK(rec["eventName"] == "gen_ai.evaluation.result");
    CHECK(rec["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736");
    linked.insert(rec["spanId"].get<std::string>());
    bool named = false;
    for (const auto& a : rec["attributes"])
      named |= a["key"] == "gen_ai.evaluation.name" && a["value"]["stringValue"] == "agent_task";
    CHECK(named);
  }
  CHECK(linked.count("53995c3f42cd8ad8") == 1);  // the labelled span
  CHECK(linked.size() == 2);                     // and the judged trace's root span
}

TEST_CASE("cli: judge exits 3 and says how many evaluations failed") {
  const auto dir = temp_dir("cli-judge-failed");
  const auto f = agent("cli-judge-failed-agent");
  const std::string good = fake_llm::completion(R"({"score":1,"label":"pass","explanation":""})");
  SECTION("every evaluation fails") {
    fake_llm srv({{400, R"({"error":{"message":"bad model"}})"}});
    const auto r =
        run(cli + " judge errors --endpoint " + srv.base_url() + " --model m " + example, dir);
    INFO(r.err);
    CHECK(r.code == 3);
    CHECK_THAT(r.err, Catch::Contains("0 verdicts, 1 evaluation errors"));
    CHECK_THAT(r.err, Catch::Contains("1 of 1 evaluations failed"));
  }
  SECTION("one of two fails") {
    fake_llm srv({{200, good}, {400, R"({"error":{"message":"bad model"}})"}});
    const auto r =
        run(cli + " judge " + q("name = agent.task") + " --limit 2 --concurrency 1 --endpoint " +
                srv.base_url() + " --model m " + f.jsonl,
            dir);
    INFO(r.err);
    CHECK(r.code == 3);
    CHECK_THAT(r.err, Catch::Contains("1 of 2 evaluations failed"));
  }
  SECTION("none fails: exit 0") {
    fake_llm srv({{200, good}});
    const auto r = run(cli + " judge " + q("name = agent.task") + " --limit 2 --endpoint " +
                           srv.base_url() + " --model m " + f.jsonl,
                       dir);
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK_THAT(r.err, Catch::Contains("2 verdicts, 0 evaluation errors"));
    CHECK_THAT(r.err, !Catch::Contains("failed"));
  }
}

TEST_CASE("cli: judge with no telemetry option and no OTEL variables sends telemetry nowhere") {
  const auto dir = temp_dir("cli-judge-quiet");
  // A listener on the OTLP/HTTP default port sees any connection the CLI would make there. When
  // the port is taken by something else, the CLI's stderr still shows any export attempt.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(4318);
  const bool listening =
      ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 16) == 0;
  if (!listening) WARN("127.0.0.1:4318 is in use; checking stderr only");
  fake_llm srv({{200, fake_llm::completion(R"({"score":1,"label":"pass","explanation":""})")}});
  const auto r =
      run("env -u OTEL_TRACES_EXPORTER -u AGENTRACE_OTLP_FILE -u OTEL_EXPORTER_OTLP_ENDPOINT "
          "-u OTEL_EXPORTER_OTLP_TRACES_ENDPOINT -u OTEL_LOGS_EXPORTER -u "
          "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT " +
              cli + " judge errors --endpoint " + srv.base_url() + " --model m " + example,
          dir);
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.err, !Catch::Contains("not delivered"));
  CHECK_THAT(r.err, !Catch::Contains("4318"));
  if (listening) {
    pollfd p{fd, POLLIN, 0};
    CHECK(::poll(&p, 1, 0) == 0);  // no connection is waiting
  }
  ::close(fd);
}
#endif
