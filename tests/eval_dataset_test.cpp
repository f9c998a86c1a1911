// SPDX-License-Identifier: MIT
// Writers: the text waterfall, evaluation records (compact tree + judge prompt) and fine-tuning
// examples with correction pairs, asserted span by span.
#include <agentrace/eval/dataset.hpp>
#include <agentrace/eval/reader.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "eval_helpers.hpp"

using namespace agentrace;
using namespace agentrace::eval;
using namespace eval_test;
using nlohmann::json;

namespace {
std::vector<trace> read_fixture(const std::string& path) {
  reader r;
  auto t = read_traces({path}, r);
  REQUIRE(r.counts().diagnostics == 0);
  return t;
}
const trace& by_task(const std::vector<trace>& traces, const std::string& task) {
  for (const auto& t : traces)
    for (const auto& s : t.spans())
      if (const auto* v = s.attr("app.task"); v && std::get<std::string>(*v) == task) return t;
  throw std::runtime_error("no task " + task);
}
std::vector<std::size_t> named(const trace& t, const std::string& name) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < t.spans().size(); ++i)
    if (t.spans()[i].name == name) out.push_back(i);
  std::sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
    return t.spans()[a].start_unix_ns < t.spans()[b].start_unix_ns;
  });
  return out;
}
}  // namespace

TEST_CASE("the waterfall shows the tree and bars and durations and errors and key attributes") {
  const auto traces = read_fixture(fixture("example-otlp-trace.json"));
  REQUIRE(traces.size() == 1);
  waterfall_options o;
  o.bar_width = 20;
  const std::string w = render_waterfall(traces[0], o);
  const auto lines = lines_of(w);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] ==
        "trace 4bf92f3577b34da6a3ce929d0e0e4736  nl2sql-agent  3 spans  2350.00 ms  1 error");
  CHECK_THAT(lines[2], Catch::StartsWith("invoke_agent sql_router"));
  CHECK_THAT(lines[2], Catch::Contains("████████████████████  2350.00 ms"));  // full width
  CHECK_THAT(lines[3], Catch::StartsWith("├─ chat gpt-4o-mini"));
  // 1.2 s of 2.35 s starting at 10 ms: about half the bar.
  CHECK_THAT(lines[3], Catch::Contains("██████████          "));
  CHECK_THAT(lines[3], Catch::Contains("1200.00 ms  model=gpt-4o-mini  tokens=412→38"));
  CHECK_THAT(lines[4], Catch::StartsWith("└─ SELECT orders"));
  CHECK_THAT(lines[4], Catch::Contains("40.00 ms  ERROR no such column: total"));
  CHECK_THAT(lines[4], Catch::Contains("sql=\"SELECT customer, SUM(total)"));
  CHECK_THAT(lines[4], Catch::Contains("error.type=SQLITE_ERROR"));
  // The error's bar starts after the chat's (at 1.22 s of 2.35 s).
  CHECK(lines[4].find("▒") > lines[3].find("█"));
}

TEST_CASE("an evaluation record holds the compact tree and captured content and the judge prompt") {
  const auto dir = temp_dir("dataset-eval");
  const std::string path = (dir / "agent.jsonl").string();
  record_agent_run(path);
  const auto traces = read_fixture(path);
  const trace& t = by_task(traces, "top customers");
  fmt::memory_buffer b;
  write_eval_record(b, t, {"errors: span \"db.query\" failed"});
  const json j = json::parse(std::string(b.data(), b.size()));
  CHECK(j["trace_id"] == to_hex(t.id()));
  CHECK(j["service"] == "sql-agent");
  CHECK(j["selected_because"] == json::array({"errors: span \"db.query\" failed"}));
  CHECK(j["spans"] == 7);
  CHECK(j["errors"] == 2);
  REQUIRE(j["tree"].size() == 1);
  const json& root = j["tree"][0];
  CHECK(root["name"] == "agent.task");
  CHECK_FALSE(root.contains("attributes"));  // app.task is not a key attribute
  REQUIRE(root["children"].size() == 2);
  const auto gens = named(t, "sql.generate");
  const auto chats = named(t, "chat gpt-4o");
  const auto dbs = named(t, "db.query");
  for (int g = 0; g < 2; ++g) {
    const json& gen = root["children"][g];
    CHECK(gen["name"] == "sql.generate");
    CHECK(gen["span_id"] == to_hex(t.spans()[gens[g]].span_id));
    CHECK(gen["status"] == (g == 0 ? "error" : "unset"));
    REQUIRE(gen["children"].size() == 2);
    const json& chat = gen["children"][0];
    CHECK(chat["name"] == "chat gpt-4o");
    CHECK(chat["span_id"] == to_hex(t.spans()[chats[g]].span_id));
    CHECK(chat["attributes"]["gen_ai.request.model"] == "gpt-4o");
    CHECK(chat["input"][0]["parts"][0]["content"].get<std::string>().rfind(
              "Top customers by revenue?", 0) == 0);
    CHECK(chat["output"][0]["role"] == "assistant");
    CHECK(chat["system"][0]["content"] == "You write SQLite.");
    const json& db = gen["children"][1];
    CHECK(db["span_id"] == to_hex(t.spans()[dbs[g]].span_id));
    CHECK(db["attributes"]["db.query.text"] ==
          std::get<std::string>(*t.spans()[dbs[g]].attr("db.query.text")));
    if (g == 0) {
      CHECK(db["status"] == "error");
      CHECK(db["error"] == "no such column: total");
    } else {
      CHECK(db["attributes"]["db.response.returned_rows"] == 3);
    }
    CHECK(gen["start_ms"].get<double>() >= 0);
    CHECK(gen["duration_ms"].get<double>() >= chat["duration_ms"].get<double>());
  }
  const std::string prompt = j["judge_prompt"];
  CHECK_THAT(prompt, Catch::Contains("- errors: span \"db.query\" failed"));
  CHECK_THAT(prompt, Catch::Contains("[" + to_hex(t.spans()[dbs[0]].span_id) + "] db.query ("));
  CHECK_THAT(prompt, Catch::Contains("ERROR: no such column: total"));
  CHECK_THAT(prompt, Catch::Contains(std::string(default_rubric)));
  CHECK_THAT(prompt, Catch::Contains("\"score\""));

  // A custom template.
  eval_record_options o;
  o.judge_template = "ID={{trace_id}} WHY={{reasons}}TREE_JSON={{tree_json}} {{unknown}}";
  b.clear();
  write_eval_record(b, t, {"r1"}, o);
  const json j2 = json::parse(std::string(b.data(), b.size()));
  const std::string p2 = j2["judge_prompt"];
  CHECK(p2.rfind("ID=" + to_hex(t.id()) + " WHY=- r1\nTREE_JSON=[{\"name\":\"agent.task\"", 0) ==
        0);
  CHECK_THAT(p2, Catch::EndsWith(" {{unknown}}"));
  CHECK(json::parse(p2.substr(p2.find("TREE_JSON=") + 10,
                              p2.rfind(" {{") - p2.find("TREE_JSON=") - 10)) == j2["tree"]);
}

TEST_CASE("fine-tuning examples: successful LLM calls and correction pairs") {
  const auto dir = temp_dir("dataset-finetune");
  const std::string path = (dir / "agent.jsonl").string();
  record_agent_run(path);
  const auto traces = read_fixture(path);
  const trace& ok = by_task(traces, "count orders");
  const trace& retry = by_task(traces, "top customers");
  const trace& scan = by_task(traces, "scan");

  CHECK(finetune_examples(scan).empty());

  const auto ex_ok = finetune_examples(ok);
  REQUIRE(ex_ok.size() == 1);
  CHECK(ex_ok[0].messages == json::parse(R"([
    {"role":"system","content":"You write SQLite."},
    {"role":"user","content":"How many orders?"},
    {"role":"assistant","content":"SELECT count(*) FROM orders"}])"));
  CHECK_FALSE(ex_ok[0].correction);
  CHECK(ex_ok[0].span_id == to_hex(ok.spans()[named(ok, "chat gpt-4o")[0]].span_id));

  const auto chats = named(retry, "chat gpt-4o");
  REQUIRE(chats.size() == 2);
  const auto ex = finetune_examples(retry);
  // The first chat sits in a failed step: only the second is a plain example; plus one pair.
  REQUIRE(ex.size() == 2);
  CHECK_FALSE(ex[0].correction);
  CHECK(ex[0].span_id == to_hex(retry.spans()[chats[1]].span_id));
  CHECK(ex[0].messages[1]["content"] ==
        "Top customers by revenue? The column total does not exist; use amount.");
  CHECK(ex[1].correction);
  CHECK(ex[1].source_span_id == to_hex(retry.spans()[chats[0]].span_id));
  CHECK(ex[1].span_id == to_hex(retry.spans()[chats[1]].span_id));
  CHECK(ex[1].messages == json::parse(R"([
    {"role":"system","content":"You write SQLite."},
    {"role":"user","content":"Top customers by revenue?"},
    {"role":"assistant","content":"SELECT customer, SUM(amount) FROM orders GROUP BY customer"}])"));

  const json line = json::parse(finetune_line(ex[1], true));
  CHECK(line["messages"] == ex[1].messages);
  CHECK(line["metadata"]["kind"] == "correction");
  CHECK(line["metadata"]["failed_span_id"] == ex[1].source_span_id);
  CHECK(json::parse(finetune_line(ex[1])).size() == 1);  // only "messages" by default

  finetune_options only_pairs;
  only_pairs.plain = false;
  CHECK(finetune_examples(retry, only_pairs).size() == 1);
}

TEST_CASE("chat messages from semantic-convention parts and tool calls and OpenAI-style content") {
  const auto in = eval::detail::to_chat_messages(
      R"([{"role":"user","parts":[{"type":"text","content":"weather?"}]},
          {"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_weather","arguments":{"city":"Paris"}}]},
          {"role":"tool","parts":[{"type":"tool_call_response","id":"c1","response":{"temp":20}}]},
          {"role":"user","content":"thanks"}])",
      false);
  REQUIRE(in);
  CHECK(*in == json::parse(R"([
    {"role":"user","content":"weather?"},
    {"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
    {"role":"tool","tool_call_id":"c1","content":"{\"temp\":20}"},
    {"role":"user","content":"thanks"}])"));
  CHECK_FALSE(eval::detail::to_chat_messages("not json", false));
  CHECK_FALSE(eval::detail::to_chat_messages("[1,2]", false));
  // The Collector-form fixture: one successful chat span with captured content.
  const auto traces = read_fixture(fixture("example-otlp-trace.json"));
  const auto ex = finetune_examples(traces[0]);
  REQUIRE(ex.size() == 1);
  CHECK(ex[0].messages == json::parse(R"([{"role":"user","content":"Top 3 customers by revenue?"},
                                          {"role":"assistant","content":"SELECT ..."}])"));
}
