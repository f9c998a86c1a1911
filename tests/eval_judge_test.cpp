// SPDX-License-Identifier: MIT
// The LLM judge against a fake OpenAI-compatible server on 127.0.0.1: good verdict, malformed
// verdict (retried once), HTTP 429 / 500, timeout, bounded concurrency, and the
// gen_ai.evaluation.result telemetry (valid OTLP-JSON, parented to the judged spans).
#include <agentrace/eval/judge.hpp>
#include <agentrace/eval/reader.hpp>
#include <catch2/catch.hpp>

#include "eval_helpers.hpp"

using namespace agentrace;
using namespace agentrace::eval;
using namespace eval_test;
using nlohmann::json;

namespace {
trace example_trace() {
  reader r;
  auto t = read_traces({fixture("example-otlp-trace.json")}, r);
  REQUIRE(t.size() == 1);
  return std::move(t[0]);
}

std::string good_verdict(const std::string& label = "fail") {
  return json({{"score", 0.25},
               {"label", label},
               {"explanation", "The SQL used a column that does not exist."},
               {"spans",
                {{{"span_id", "53995c3f42cd8ad8"}, {"label", "root_cause"}, {"note", "bad column"}},
                 {{"span_id", "b7ad6b7169203331"}, {"label", "incorrect"}}}}})
      .dump();
}

judge_options options_for(const fake_llm& srv) {
  judge_options o;
  o.endpoint = srv.base_url();
  o.model = "judge-1";
  o.api_key = "sk-test";
  o.timeout = std::chrono::milliseconds(3000);
  o.backoff = std::chrono::milliseconds(10);
  return o;
}

verdict judge_one(const fake_llm&, const trace& t, judge_options o) {
  auto v = judge_all({{&t, {"errors: span \"SELECT orders\""}}}, o);
  REQUIRE(v.size() == 1);
  return v[0];
}
}  // namespace

TEST_CASE("a good verdict is validated and kept and with per-span labels") {
  const trace t = example_trace();
  fake_llm srv(
      {{200, fake_llm::completion("```json\n" + good_verdict() + "\n```", "chatcmpl-77")}});
  const verdict v = judge_one(srv, t, options_for(srv));
  INFO(v.error);
  REQUIRE(v.ok);
  CHECK(v.attempts == 1);
  CHECK(v.score == 0.25);
  CHECK(v.label == "fail");
  CHECK(v.explanation == "The SQL used a column that does not exist.");
  REQUIRE(v.spans.size() == 2);
  CHECK(v.spans[0].span_id == 0x53995c3f42cd8ad8ull);
  CHECK(v.spans[0].label == "root_cause");
  CHECK(v.spans[0].note == "bad column");
  CHECK(v.response_id == "chatcmpl-77");
  CHECK(v.root_span_id == 0x00f067aa0ba902b7ull);

  const auto reqs = srv.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(srv.paths()[0] == "POST /v1/chat/completions HTTP/1.1");
  CHECK(srv.auth_headers()[0] == "Bearer sk-test");
  const json body = json::parse(reqs[0]);
  CHECK(body["model"] == "judge-1");
  CHECK(body["response_format"]["type"] == "json_object");
  CHECK(body["temperature"] == 0.0);
  REQUIRE(body["messages"].size() == 2);
  const std::string prompt = body["messages"][1]["content"];
  CHECK_THAT(
      prompt,
      Catch::Contains("[53995c3f42cd8ad8] SELECT orders (40.00 ms) ERROR: no such column: total"));
  CHECK_THAT(prompt, Catch::Contains("- errors: span \"SELECT orders\""));

  const json line = json::parse(verdict_line(v, &t));
  CHECK(line["ok"] == true);
  CHECK(line["spans"][0]["name"] == "SELECT orders");
  CHECK(line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_CASE("a malformed verdict is retried once with the problem explained") {
  const trace t = example_trace();
  fake_llm srv({{200, fake_llm::completion(R"({"score": 7, "label": "pass", "explanation": "x"})")},
                {200, fake_llm::completion(good_verdict("pass"))}});
  const verdict v = judge_one(srv, t, options_for(srv));
  REQUIRE(v.ok);
  CHECK(v.attempts == 2);
  CHECK(v.label == "pass");
  const auto reqs = srv.requests();
  REQUIRE(reqs.size() == 2);
  const json second = json::parse(reqs[1]);
  REQUIRE(second["messages"].size() == 4);
  CHECK(second["messages"][2]["role"] == "assistant");
  CHECK_THAT(second["messages"][3]["content"].get<std::string>(),
             Catch::Contains("\"score\" must be between 0 and 1"));
}

TEST_CASE("a verdict malformed twice becomes an evaluation error") {
  const trace t = example_trace();
  SECTION("not JSON") {
    fake_llm srv({{200, fake_llm::completion("I think it failed.")}});
    const verdict v = judge_one(srv, t, options_for(srv));
    CHECK_FALSE(v.ok);
    CHECK(v.attempts == 2);
    CHECK(v.error_type == "invalid_verdict");
    CHECK_THAT(v.error, Catch::Contains("no JSON object"));
    const json line = json::parse(verdict_line(v));
    CHECK(line["ok"] == false);
    CHECK(line["error_type"] == "invalid_verdict");
  }
  SECTION("a span id that is not in the trace") {
    fake_llm srv(
        {{200,
          fake_llm::completion(
              R"({"score":1,"label":"pass","explanation":"","spans":[{"span_id":"1234567812345678","label":"x"}]})")}});
    const verdict v = judge_one(srv, t, options_for(srv));
    CHECK_FALSE(v.ok);
    CHECK_THAT(v.error, Catch::Contains("1234567812345678\" is not a span of this trace"));
  }
}

TEST_CASE("HTTP 429 and 500 are retried with backoff and then recorded") {
  const trace t = example_trace();
  SECTION("429 then success") {
    fake_llm srv({{429, R"({"error":{"message":"slow down"}})"},
                  {200, fake_llm::completion(good_verdict())}});
    const verdict v = judge_one(srv, t, options_for(srv));
    CHECK(v.ok);
    CHECK(v.attempts == 2);
  }
  SECTION("429 every time") {
    fake_llm srv({{429, R"({"error":{"message":"slow down"}})"}});
    auto o = options_for(srv);
    o.max_retries = 2;
    const verdict v = judge_one(srv, t, o);
    CHECK_FALSE(v.ok);
    CHECK(v.attempts == 3);
    CHECK(v.error_type == "429");
    CHECK(v.error == "HTTP 429: slow down");
    CHECK(srv.requests().size() == 3);
  }
  SECTION("500 every time") {
    fake_llm srv({{500, "oops"}});
    auto o = options_for(srv);
    o.max_retries = 1;
    const verdict v = judge_one(srv, t, o);
    CHECK_FALSE(v.ok);
    CHECK(v.attempts == 2);
    CHECK(v.error_type == "500");
  }
  SECTION("400 is not retried") {
    fake_llm srv({{400, R"({"error":{"message":"bad model"}})"}});
    const verdict v = judge_one(srv, t, options_for(srv));
    CHECK_FALSE(v.ok);
    CHECK(v.attempts == 1);
    CHECK(v.error_type == "400");
  }
}

TEST_CASE("Retry-After on 429 and 503 sets the wait before the retry, up to a bound") {
  using std::chrono::milliseconds;
  const trace t = example_trace();
  auto gap = [](const fake_llm& srv) {
    const auto a = srv.arrivals();
    REQUIRE(a.size() >= 2);
    return std::chrono::duration_cast<milliseconds>(a[1] - a[0]);
  };
  SECTION("429 with Retry-After: 1 waits a second, not the 10 ms backoff") {
    fake_llm srv({{.status = 429,
                   .body = R"({"error":{"message":"slow down"}})",
                   .headers = "Retry-After: 1\r\n"},
                  {200, fake_llm::completion(good_verdict())}});
    const verdict v = judge_one(srv, t, options_for(srv));
    CHECK(v.ok);
    CHECK(v.error.empty());
    CHECK(v.attempts == 2);
    CHECK(gap(srv) >= milliseconds(1000));
    CHECK(gap(srv) < milliseconds(5000));
  }
  SECTION("503 with Retry-After as an HTTP-date in the past retries at once") {
    fake_llm srv({{.status = 503,
                   .body = "busy",
                   .headers = "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n"},
                  {200, fake_llm::completion(good_verdict())}});
    auto o = options_for(srv);
    o.backoff = milliseconds(3000);  // would be used without a Retry-After
    const verdict v = judge_one(srv, t, o);
    CHECK(v.ok);
    CHECK(gap(srv) < milliseconds(2000));
  }
  SECTION("a Retry-After over the bound is not retried and the error says why") {
    fake_llm srv({{.status = 503, .body = "busy", .headers = "Retry-After: 120\r\n"},
                  {200, fake_llm::completion(good_verdict())}});
    auto o = options_for(srv);
    o.max_retry_after = milliseconds(2000);
    const verdict v = judge_one(srv, t, o);
    CHECK_FALSE(v.ok);
    CHECK(v.attempts == 1);
    CHECK(v.error_type == "503");
    CHECK_THAT(v.error, Catch::Contains("retry after 120000 ms, more than the 2000 ms allowed"));
  }
}

TEST_CASE("a request that times out is retried and then recorded as a timeout") {
  const trace t = example_trace();
  fake_llm srv({{200, fake_llm::completion(good_verdict()), std::chrono::milliseconds(1500)}});
  auto o = options_for(srv);
  o.timeout = std::chrono::milliseconds(200);
  o.max_retries = 1;
  const auto start = std::chrono::steady_clock::now();
  const verdict v = judge_one(srv, t, o);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(v.ok);
  CHECK(v.error_type == "timeout");
  CHECK(v.attempts == 2);
  CHECK(took < std::chrono::milliseconds(1400));  // it did not wait for the slow answers
}

TEST_CASE("several traces with bounded concurrency - verdicts come back in order") {
  const trace t = example_trace();
  fake_llm srv({{200, fake_llm::completion(good_verdict()), std::chrono::milliseconds(100)}});
  auto o = options_for(srv);
  o.concurrency = 3;
  std::vector<judge_item> items(7, judge_item{&t, {}});
  std::atomic<int> seen{0};
  const auto start = std::chrono::steady_clock::now();
  const auto v = judge_all(items, o, [&](const verdict&) { ++seen; });
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(v.size() == 7);
  for (const auto& x : v) CHECK(x.ok);
  CHECK(seen == 7);
  CHECK(srv.requests().size() == 7);
  CHECK(took >= std::chrono::milliseconds(300));  // 7 requests of 100 ms, 3 at a time: 3 rounds
}

TEST_CASE("verdicts become gen_ai.evaluation.result spans parented to the judged spans") {
  const auto dir = temp_dir("judge-telemetry");
  const trace t = example_trace();
  fake_llm srv({{200, fake_llm::completion(good_verdict(), "chatcmpl-9")}, {500, "x"}});
  auto o = options_for(srv);
  o.concurrency = 1;
  o.max_retries = 0;
  std::vector<judge_item> items{{&t, {}}, {&t, {}}};
  const auto verdicts = judge_all(items, o);
  REQUIRE(verdicts[0].ok);
  REQUIRE_FALSE(verdicts[1].ok);
  const std::string out = (dir / "eval.jsonl").string();
  {
    const evaluation_records recs(verdicts, "sql_correctness");
    auto file = agentrace::otlp_json_file(out);
    CHECK(export_evaluations(*file, recs) == export_result::success);
  }
  const auto check = run(std::string(AGENTRACE_OTLP_CHECK) + " validate " + out, dir);
  INFO(check.out << check.err);
  CHECK(check.code == 0);

  reader r;
  std::vector<read_span> spans;
  r.read_file(out, [&](read_span&& s) { spans.push_back(std::move(s)); });
  REQUIRE(spans.size() == 4);  // verdict + 2 span labels, and the error
  for (const auto& s : spans) {
    CHECK(s.span.trace_id == t.id());
    CHECK(s.span.name == "gen_ai.evaluation.result");
    CHECK(std::get<std::string>(*s.span.attr("gen_ai.evaluation.name")) == "sql_correctness");
    REQUIRE(s.span.events.size() == 1);
    CHECK(s.span.events[0].name == "gen_ai.evaluation.result");
    CHECK(s.span.start_unix_ns <= s.span.end_unix_ns);
    CHECK(std::get<std::string>(*s.resource->attr("service.name")) == "agentrace-eval");
  }
  CHECK(spans[0].span.parent_span_id == 0x00f067aa0ba902b7ull);
  CHECK(std::get<double>(*spans[0].span.attr("gen_ai.evaluation.score.value")) == 0.25);
  CHECK(std::get<std::string>(*spans[0].span.attr("gen_ai.evaluation.score.label")) == "fail");
  CHECK(std::get<std::string>(*spans[0].span.attr("gen_ai.response.id")) == "chatcmpl-9");
  CHECK(spans[1].span.parent_span_id == 0x53995c3f42cd8ad8ull);
  CHECK(std::get<std::string>(*spans[1].span.attr("gen_ai.evaluation.score.label")) ==
        "root_cause");
  CHECK(std::get<std::string>(*spans[1].span.attr("gen_ai.evaluation.explanation")) ==
        "bad column");
  CHECK(spans[2].span.parent_span_id == 0xb7ad6b7169203331ull);
  CHECK(spans[3].span.parent_span_id == 0x00f067aa0ba902b7ull);
  CHECK(spans[3].span.status == status_code::error);
  CHECK(std::get<std::string>(*spans[3].span.attr("error.type")) == "500");
  CHECK(spans[3].span.attr("gen_ai.evaluation.score.value") == nullptr);
  // Exact times survive the trip (the records carry Unix ns through the exporter).
  CHECK(spans[0].span.start_unix_ns == verdicts[0].start_unix_ns);
  CHECK(spans[0].span.end_unix_ns == verdicts[0].end_unix_ns);
}
