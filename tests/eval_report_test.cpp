// SPDX-License-Identifier: MIT
// Price tables and cost per usage kind, preference pairs, the HTML report's content and bounds,
// and the CLI commands over them (report, dataset preference, stats --prices).
#include <agentrace/eval/cost.hpp>
#include <agentrace/eval/preference.hpp>
#include <agentrace/eval/reader.hpp>
#include <agentrace/eval/report.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "eval_helpers.hpp"

using namespace agentrace;
using namespace agentrace::eval;
using namespace eval_test;
using nlohmann::json;

namespace {
const std::string cli = AGENTRACE_EVAL_CLI;

span_data llm_span(const std::string& model, std::int64_t in, std::int64_t out,
                   std::int64_t cache_read = -1, std::int64_t cache_write = -1,
                   std::int64_t reasoning = -1) {
  span_data s;
  s.trace_id = {1, 2};
  s.span_id = 3;
  s.name = "chat " + model;
  s.attributes.emplace_back("gen_ai.request.model",
                            attr_value{std::in_place_type<std::string>, model});
  s.attributes.emplace_back("gen_ai.usage.input_tokens", attr_value{in});
  s.attributes.emplace_back("gen_ai.usage.output_tokens", attr_value{out});
  if (cache_read >= 0)
    s.attributes.emplace_back("gen_ai.usage.cache_read.input_tokens", attr_value{cache_read});
  if (cache_write >= 0)
    s.attributes.emplace_back("gen_ai.usage.cache_creation.input_tokens", attr_value{cache_write});
  if (reasoning >= 0)
    s.attributes.emplace_back("gen_ai.usage.reasoning.output_tokens", attr_value{reasoning});
  return s;
}

std::string price_error_of(const std::string& text) {
  try {
    (void)price_table::parse(text, "prices.json");
  } catch (const price_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("cost: each usage kind is priced separately, cached and reasoning tokens included") {
  const auto t = price_table::parse(
      R"({"unit":"per_million","models":{"m":{"input":2,"output":8,"cache_read":0.5,
          "cache_write":2.5,"reasoning":16}}})",
      "p.json");
  const model_price* p = t.find("m");
  REQUIRE(p);
  // 1000 input of which 400 cache reads and 100 cache writes; 300 output of which 100 reasoning.
  const token_usage u = usage_of(llm_span("m", 1000, 300, 400, 100, 100));
  CHECK(u.input == 1000);
  CHECK(u.cache_read == 400);
  CHECK(u.cache_write == 100);
  CHECK(u.reasoning == 100);
  const double want = (500 * 2 + 400 * 0.5 + 100 * 2.5 + 200 * 8 + 100 * 16) * 1e-6;
  CHECK(cost_of(u, *p) == Approx(want).epsilon(1e-12));
  // Without their own price, cache tokens cost as input and reasoning as output.
  const auto plain = price_table::parse(R"({"models":{"m":{"input":2,"output":8}}})", "p.json");
  CHECK(cost_of(u, *plain.find("m")) == Approx((1000 * 2 + 300 * 8) * 1e-6).epsilon(1e-12));
  // Per-token unit, per model.
  const auto per_token = price_table::parse(
      R"({"models":{"m":{"unit":"per_token","input":0.001,"output":0.002}}})", "p");
  CHECK(per_token.find("m")->input == 0.001);
}

TEST_CASE("cost: LiteLLM's price file is read as is, provider prefixes resolve, no guessing") {
  const auto t = price_table::parse(R"({
    "sample_spec": {"max_tokens": "LEGACY", "input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
    "gpt-4o": {"input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
               "cache_read_input_token_cost": 1.25e-06, "litellm_provider": "openai", "mode": "chat"},
    "anthropic/claude-x": {"input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
               "cache_creation_input_token_cost": 3.75e-06, "output_cost_per_reasoning_token": 2e-05},
    "dall-e-3": {"output_cost_per_image": 0.04, "mode": "image_generation"}
  })",
                                    "litellm.json");
  CHECK(t.size() == 2);
  REQUIRE(t.find("gpt-4o"));
  CHECK(t.find("gpt-4o")->cache_read == 1.25e-06);
  CHECK_FALSE(t.find("gpt-4o")->cache_write);
  REQUIRE(t.find("claude-x"));  // "anthropic/claude-x"
  CHECK(t.find("claude-x")->reasoning == 2e-05);
  CHECK(t.find("gpt-4o-2024-08-06") == nullptr);  // similar is not the same
  CHECK(t.find("GPT-4O") == nullptr);
  CHECK(t.find("dall-e-3") == nullptr);
  CHECK(t.find("sample_spec") == nullptr);
}

TEST_CASE("cost: a bad price table says what and where") {
  CHECK_THAT(price_error_of("{"), Catch::Contains("prices.json: not JSON"));
  CHECK_THAT(price_error_of(R"({"models":{"m":{"input":1}}})"),
             Catch::Contains("model 'm' has no \"output\" price"));
  CHECK_THAT(price_error_of(R"({"models":{"m":{"input":"1","output":2}}})"),
             Catch::Contains("model 'm' \"input\" is not a number"));
  CHECK_THAT(price_error_of(R"({"models":{"m":{"input":1,"output":-2}}})"),
             Catch::Contains("is negative"));
  CHECK_THAT(price_error_of(R"({"models":{"m":{"input":1,"output":2,"cached":1}}})"),
             Catch::Contains("unknown field \"cached\""));
  CHECK_THAT(price_error_of(R"({"unit":"per_thousand","models":{}})"),
             Catch::Contains("\"unit\" must be"));
  CHECK_THAT(price_error_of(R"({"gpt":{"mode":"chat"}})"), Catch::Contains("no model with"));
}

TEST_CASE("stats: cost per model, per trace and per span name; unpriced models listed") {
  const auto t = price_table::parse(R"({"models":{"a":{"input":1,"output":2}}})", "p");
  span_stats st;
  st.set_prices(&t);
  auto s1 = llm_span("a", 1000, 100);
  auto s2 = llm_span("a", 2000, 0);
  s2.span_id = 4;
  s2.trace_id = {5, 6};
  auto s3 = llm_span("b", 500, 50);
  s3.span_id = 5;
  for (const auto* s : {&s1, &s2, &s3}) st.add(*s);
  CHECK(st.cost_usd() == Approx((1000 + 200 + 2000) * 1e-6));
  const auto models = st.by_model();
  REQUIRE(models.size() == 2);
  CHECK(models[0].model == "a");
  CHECK(models[0].priced);
  CHECK_FALSE(models[1].priced);
  CHECK(models[1].cost_usd == 0);
  CHECK(st.unpriced_models() == std::vector<std::string>{"b"});
  const auto tc = st.by_trace_cost();
  REQUIRE(tc.size() == 2);
  CHECK(tc[0].id == trace_id{5, 6});
  CHECK(tc[0].cost_usd == Approx(2000e-6));
  for (const auto& r : st.by_name())
    if (r.name == "chat a") CHECK(r.cost_usd == Approx(3200e-6));
}

TEST_CASE("preference pairs: the failed attempt is non-preferred, the corrected retry preferred") {
  const auto dir = temp_dir("preference");
  const std::string path = (dir / "agent.jsonl").string();
  record_agent_run(path);
  reader r;
  const auto traces = read_traces({path}, r);
  std::size_t pairs = 0, without = 0;
  for (const auto& t : traces) {
    const auto res = preference_pairs(t);
    without += res.without_content;
    for (const auto& p : res.pairs) {
      ++pairs;
      const json j = json::parse(preference_line(p, true));
      REQUIRE(j["input"]["messages"].size() == 2);
      CHECK(j["input"]["messages"][0]["role"] == "system");
      CHECK(j["input"]["messages"][1]["content"] == "Top customers by revenue?");
      CHECK(j["non_preferred_output"] ==
            json::parse(
                R"([{"role":"assistant","content":"SELECT customer, SUM(total) FROM orders"}])"));
      CHECK(
          j["preferred_output"] ==
          json::parse(
              R"([{"role":"assistant","content":"SELECT customer, SUM(amount) FROM orders GROUP BY customer"}])"));
      CHECK(j["metadata"]["trace_id"] == to_hex(t.id()));
      CHECK(j["metadata"]["failed_span_id"] != j["metadata"]["corrected_span_id"]);
    }
  }
  CHECK(pairs == 1);
  CHECK(without == 0);

  // A step that failed and its successful retry, neither with captured content: counted, not
  // written.
  span_data root, bad, good;
  root.trace_id = bad.trace_id = good.trace_id = {7, 8};
  root.span_id = 1;
  root.name = "task";
  root.end_unix_ns = 100;
  bad.span_id = 2;
  good.span_id = 3;
  bad.parent_span_id = good.parent_span_id = 1;
  bad.name = good.name = "step";
  bad.start_unix_ns = 10;
  bad.end_unix_ns = 20;
  bad.status = status_code::error;
  good.start_unix_ns = 30;
  good.end_unix_ns = 40;
  const trace t({7, 8}, {root, bad, good}, {});
  const auto res = preference_pairs(t);
  CHECK(res.pairs.empty());
  CHECK(res.without_content == 1);
}

TEST_CASE("report: summary numbers, histograms, selected traces, escaping and the size bound") {
  const auto dir = temp_dir("report-writer");
  const std::string path = (dir / "agent.jsonl").string();
  record_agent_run(path);
  reader r;
  auto traces = read_traces({path}, r);
  span_stats st;
  for (const auto& t : traces)
    for (const auto& s : t.spans()) st.add(s);
  st.finish();
  // A span name with markup must come out as text.
  std::vector<report_trace> drawn;
  for (const auto& t : traces)
    if (t.error_count()) drawn.push_back({&t, {"errors: <b>failed</b>"}});
  REQUIRE(drawn.size() == 1);
  report_options o;
  o.title = "a <title>";
  fmt::memory_buffer b;
  write_report(b, st, drawn, nullptr, o);
  const std::string html(b.data(), b.size());
  CHECK_THAT(html, Catch::Contains("<title>a &lt;title&gt;</title>"));
  CHECK_THAT(html, Catch::Contains("selected: errors: &lt;b&gt;failed&lt;/b&gt;"));
  CHECK_THAT(html, Catch::Contains("data-trace-id=\"" + to_hex(drawn[0].t->id()) + "\""));
  CHECK_THAT(html, Catch::Contains("<b id=\"sum-spans\">" + std::to_string(st.spans()) + "</b>"));
  for (const auto& row : st.by_name()) {
    CHECK_THAT(html, Catch::Contains("<td class=\"p95\">" +
                                     agentrace::eval::detail::report_ms(row.p95) + "</td>"));
    CHECK_THAT(html, Catch::Contains("data-p95-ms=\"" +
                                     agentrace::eval::detail::report_ms(row.p95) + "\""));
  }
  // The embedded data never closes its script element early.
  const auto data = html.find("id=\"agentrace-data\">");
  REQUIRE(data != std::string::npos);
  const auto end = html.find("</script>", data);
  CHECK(html.substr(data, end - data).find('<') == std::string::npos);
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);

  // The detail budget: once used up, spans keep their timing but not their attributes.
  report_options tight;
  tight.detail_budget = 200;
  fmt::memory_buffer small;
  write_report(small, st, drawn, nullptr, tight);
  const std::string s2(small.data(), small.size());
  CHECK_THAT(s2, Catch::Contains("\"detail\":false"));
  CHECK(s2.size() < html.size());
  report_options few;
  few.max_spans_per_trace = 2;
  fmt::memory_buffer cut;
  write_report(cut, st, drawn, nullptr, few);
  CHECK_THAT(std::string(cut.data(), cut.size()), Catch::Contains("more spans not drawn"));
}

TEST_CASE("cli: report writes one HTML file with the errored and slowest traces") {
  const auto dir = temp_dir("cli-report");
  const std::string path = (dir / "agent.jsonl").string();
  record_agent_run(path);
  const std::string out = (dir / "r.html").string();
  auto res = run(cli + " report " + path + " -o " + out, dir);
  REQUIRE(res.code == 0);
  CHECK_THAT(res.err, Catch::Contains("wrote " + out));
  const std::string html = read_file(out);
  const auto errored = lines_of(run(cli + " select errors " + path, dir).out);
  REQUIRE(errored.size() == 1);
  CHECK_THAT(html, Catch::Contains("data-trace-id=\"" + errored[0].substr(0, 32) + "\""));
  CHECK_THAT(html, Catch::Contains("slowest &quot;db.query&quot; span"));
  // With a query: only its traces.
  res = run(cli + " report 'db.query > 40ms' " + path + " -o " + out, dir);
  REQUIRE(res.code == 0);
  const std::string q = read_file(out);
  CHECK_THAT(q, Catch::Contains("Traces matching db.query &gt; 40ms: 1 shown"));
  CHECK_THAT(q, Catch::Contains("db.query &gt; 40ms: span"));
  res = run(cli + " report 'bad query ((' " + path + " -o " + out, dir);
  CHECK(res.code == 2);
  res = run(cli + " report " + path + " --prices " + (dir / "missing.json").string() + " -o " + out,
            dir);
  CHECK(res.code == 2);
  CHECK_THAT(res.err, Catch::Contains("cannot read price table"));
}

TEST_CASE("cli: stats --prices adds cost per model, name and trace; dataset preference") {
  const auto dir = temp_dir("cli-prices");
  const std::string path = (dir / "agent.jsonl").string();
  record_agent_run(path);
  write_file(dir / "p.json", R"({"models":{"gpt-4o":{"input":2.5,"output":10}}})");
  auto res = run(cli + " stats --json --prices " + (dir / "p.json").string() + " " + path, dir);
  REQUIRE(res.code == 0);
  const json j = json::parse(res.out);
  // gpt-4o: 120+300+5000 input, 12+20+25 output tokens.
  const double want = (5420 * 2.5 + 57 * 10) * 1e-6;
  CHECK(j["cost_usd"].get<double>() == Approx(want));
  CHECK(j["models"][0]["cost_usd"].get<double>() == Approx(want));
  CHECK(j["unpriced_models"].empty());
  CHECK(j["trace_costs"].size() == 2);
  res = run(cli + " stats --prices " + (dir / "p.json").string() + " " + path, dir);
  CHECK_THAT(res.out, Catch::Contains("total cost $0.0141"));

  res = run(cli + " dataset preference errors " + path, dir);
  CHECK(res.code == 0);
  const auto lines = lines_of(res.out);
  REQUIRE(lines.size() == 1);
  const json p = json::parse(lines[0]);
  CHECK(p.contains("input"));
  CHECK(p["preferred_output"][0]["role"] == "assistant");
  CHECK_THAT(res.err,
             Catch::Contains("1 preference pairs; skipped 0 correction(s) without captured"));
}

namespace {
// Three traces: one names conversation c1 on a child span, one only through its resource's
// session.id, one names none.
std::string conversation_input() {
  const auto span = [](const std::string& tid, const std::string& sid, const std::string& parent,
                       std::uint64_t start, const std::string& attrs) {
    return R"({"traceId":")" + tid + R"(","spanId":")" + sid + R"(",)" +
           (parent.empty() ? "" : R"("parentSpanId":")" + parent + R"(",)") +
           R"("name":"step","kind":1,"startTimeUnixNano":")" + std::to_string(start) +
           R"(","endTimeUnixNano":")" + std::to_string(start + 1000000) + R"(","attributes":[)" +
           attrs + "]}";
  };
  const auto line = [](const std::string& resource_attrs, const std::string& spans) {
    return R"({"resourceSpans":[{"resource":{"attributes":[)" + resource_attrs +
           R"(]},"scopeSpans":[{"scope":{"name":"t"},"spans":[)" + spans + "]}]}]}\n";
  };
  const std::string conv = R"({"key":"gen_ai.conversation.id","value":{"stringValue":"c1"}})";
  const std::string session = R"({"key":"session.id","value":{"stringValue":"c1"}})";
  const std::string a(32, 'a'), b(32, 'b'), c(32, 'c');
  return line("", span(a, "1000000000000001", "", 3000000000, "") + "," +
                      span(a, "1000000000000002", "1000000000000001", 3000000100, conv)) +
         line(session, span(b, "2000000000000001", "", 1000000000, "")) +
         line("", span(c, "3000000000000001", "", 2000000000, ""));
}
}  // namespace

TEST_CASE("conversations: stats --by conversation, the select predicate, show --conversation") {
  const auto dir = temp_dir("cli-conversation");
  const std::string path = (dir / "conv.jsonl").string();
  write_file(path, conversation_input());
  auto res = run(cli + " stats --by conversation --json " + path, dir);
  REQUIRE(res.code == 0);
  const json j = json::parse(res.out);
  REQUIRE(j["conversations"].size() == 2);
  CHECK(j["conversations"][0]["conversation"] == "c1");
  CHECK(j["conversations"][0]["traces"] == 2);
  CHECK(j["conversations"][0]["spans"] == 3);
  CHECK(j["conversations"][1]["conversation"].is_null());
  CHECK(j["conversations"][1]["traces"] == 1);

  res = run(cli + " select 'conversation = c1' " + path, dir);
  REQUIRE(res.code == 0);
  auto lines = lines_of(res.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].substr(0, 32) == std::string(32, 'a'));
  CHECK(lines[1].substr(0, 32) == std::string(32, 'b'));
  CHECK(run(cli + " select 'conversation = c2' " + path, dir).code == 1);
  CHECK(query::parse("conversation != c1").to_string() == "conversation != c1");
  CHECK(run(cli + " select 'conversation > c1' " + path, dir).code == 2);

  res = run(cli + " show --conversation c1 --no-color " + path, dir);
  REQUIRE(res.code == 0);
  lines = lines_of(res.out);
  REQUIRE(lines.size() >= 5);
  CHECK(lines[0] == "conversation c1: 2 traces");
  // In start order: the session.id trace started first.
  const auto first = res.out.find("trace " + std::string(32, 'b'));
  const auto second = res.out.find("trace " + std::string(32, 'a'));
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(first < second);
  CHECK(run(cli + " show --conversation nope " + path, dir).code == 1);
}

TEST_CASE("cli: a progress line on a terminal only, and never with --no-progress") {
  const auto dir = temp_dir("cli-progress");
  const std::string path = (dir / "agent.jsonl").string();
  record_agent_run(path);
  const std::string env = "AGENTRACE_EVAL_PROGRESS_DELAY_MS=0 ";
  // stderr is a file: no progress line.
  auto res = run(env + cli + " stats " + path, dir);
  REQUIRE(res.code == 0);
  CHECK(res.err.find("pass 1:") == std::string::npos);
  // stderr is a terminal (script(1) gives the command a pseudo-terminal).
  if (std::system("command -v script >/dev/null 2>&1") != 0) FAIL("script(1) is not installed");
  res = run("script -qec \"" + env + cli + " stats " + path + " >/dev/null\" /dev/null", dir);
  CHECK_THAT(res.out, Catch::Contains("agentrace-eval: pass 1: 0.0 of 0.0 MB ("));
  CHECK_THAT(res.out, Catch::Contains("\r\x1b[K"));  // cleared at the end
  res =
      run("script -qec \"" + env + cli + " stats --no-progress " + path + " >/dev/null\" /dev/null",
          dir);
  CHECK(res.out.find("pass 1:") == std::string::npos);
}
