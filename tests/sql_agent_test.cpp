// SPDX-License-Identifier: MIT
// The sql_agent example: runs the agent for a fixed seed, reads its OTLP-JSON back and checks
// the tree (router -> generate SQL -> db query -> answer), the correction loop (sibling attempts,
// the failing one in ERROR with error.type and the database's message), token usage, content
// (absent unless enabled, redacted when enabled), fault injection, and the example binary's
// output against otlp-check.
#include <agentrace/agentrace.hpp>
#include <agentrace/genai.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "agent.hpp"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

/// A span as read back from OTLP-JSON.
struct span {
  std::string trace, id, parent, name;
  int kind = 0;
  int status = 0;
  std::string status_message;
  std::uint64_t start = 0, end = 0;
  std::map<std::string, json> attrs;                       // decoded AnyValue
  std::vector<std::pair<std::string, std::string>> links;  // (trace id, span id)

  bool has(const std::string& k) const { return attrs.count(k) != 0; }
  std::string str(const std::string& k) const {
    auto it = attrs.find(k);
    return it != attrs.end() && it->second.is_string() ? it->second.get<std::string>() : "";
  }
  std::int64_t num(const std::string& k) const {
    auto it = attrs.find(k);
    return it != attrs.end() && it->second.is_number_integer() ? it->second.get<std::int64_t>()
                                                               : -1;
  }
};

json any_value(const json& v) {
  if (v.contains("stringValue")) return v["stringValue"];
  if (v.contains("boolValue")) return v["boolValue"];
  if (v.contains("doubleValue")) return v["doubleValue"];
  if (v.contains("intValue"))  // OTLP-JSON: int64 as a decimal string
    return v["intValue"].is_string() ? json(std::stoll(v["intValue"].get<std::string>()))
                                     : v["intValue"];
  if (v.contains("arrayValue")) {
    json a = json::array();
    for (const auto& e : v["arrayValue"].value("values", json::array())) a.push_back(any_value(e));
    return a;
  }
  return nullptr;
}

std::vector<span> read_otlp(const fs::path& file) {
  std::vector<span> out;
  std::ifstream in(file);
  REQUIRE(in);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json req = json::parse(line);
    for (const auto& rs : req["resourceSpans"])
      for (const auto& ss : rs["scopeSpans"])
        for (const auto& s : ss["spans"]) {
          span x;
          x.trace = s["traceId"];
          x.id = s["spanId"];
          x.parent = s.value("parentSpanId", "");
          x.name = s["name"];
          x.kind = s.value("kind", 0);
          x.start = std::stoull(s["startTimeUnixNano"].get<std::string>());
          x.end = std::stoull(s["endTimeUnixNano"].get<std::string>());
          if (s.contains("status")) {
            x.status = s["status"].value("code", 0);
            x.status_message = s["status"].value("message", "");
          }
          for (const auto& a : s.value("attributes", json::array()))
            x.attrs[a["key"]] = any_value(a["value"]);
          for (const auto& l : s.value("links", json::array()))
            x.links.emplace_back(l["traceId"], l["spanId"]);
          out.push_back(std::move(x));
        }
  }
  return out;
}

/// Children of `id`, in start order.
std::vector<const span*> children(const std::vector<span>& all, const std::string& id) {
  std::vector<const span*> c;
  for (const auto& s : all)
    if (s.parent == id) c.push_back(&s);
  std::sort(c.begin(), c.end(), [](const span* a, const span* b) { return a->start < b->start; });
  return c;
}

/// A fresh directory under the system temp dir, removed when the test ends.
struct owned_temp_dir {
  fs::path path;
  explicit owned_temp_dir(const std::string& tag)
      : path(fs::temp_directory_path() /
             ("agentrace_sql_agent_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~owned_temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  owned_temp_dir(const owned_temp_dir&) = delete;
  owned_temp_dir& operator=(const owned_temp_dir&) = delete;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

sql_agent::llm_factory offline(sql_agent::offline_options o = {}) {
  o.latency = std::chrono::milliseconds(2);
  o.chunk_interval = std::chrono::milliseconds(1);
  return [o] { return std::make_unique<sql_agent::offline_llm>(o); };
}

constexpr int kind_internal = 1, kind_client = 3, status_error = 2;

/// Checks one chat span and returns its input + output tokens.
std::pair<std::int64_t, std::int64_t> check_chat(const span& c, const char* prompt) {
  INFO(c.name << " " << prompt);
  CHECK(c.name == "chat offline-sql-1");
  CHECK(c.kind == kind_internal);  // an in-process model
  CHECK(c.str("gen_ai.operation.name") == "chat");
  CHECK(c.str("gen_ai.provider.name") == "agentrace.offline");
  CHECK(c.str("gen_ai.request.model") == "offline-sql-1");
  CHECK(c.str("gen_ai.prompt.name") == prompt);
  CHECK(c.str("gen_ai.response.model") == "offline-sql-1");
  CHECK_FALSE(c.str("gen_ai.response.id").empty());
  CHECK(c.attrs.at("gen_ai.response.finish_reasons") == json::array({"stop"}));
  CHECK(c.num("gen_ai.usage.input_tokens") > 0);
  CHECK(c.num("gen_ai.usage.output_tokens") > 0);
  CHECK(c.status == 0);
  return {c.num("gen_ai.usage.input_tokens"), c.num("gen_ai.usage.output_tokens")};
}

const char* content_keys[] = {"gen_ai.input.messages", "gen_ai.output.messages",
                              "gen_ai.system_instructions"};

}  // namespace

TEST_CASE("the agent's trace: router -> generate SQL -> db query -> answer, with corrections") {
  const owned_temp_dir scratch("tree");
  const fs::path& dir = scratch.path;
  auto mem = agentrace::memory();
  auto tracing =
      agentrace::start({.service_name = "sql-agent-test",
                        .exporters = {mem, agentrace::otlp_json_file((dir / "t.jsonl").string())},
                        .read_environment = false});
  agentrace::genai::configure_content({.read_environment = false});  // content off
  const auto questions = sql_agent::make_questions(6, 42);
  sql_agent::run_options opt;
  opt.data_dir = dir / "data";
  opt.concurrency = 2;
  opt.agent.seed = 42;
  opt.agent.conversation_id = "conv-tree";
  const auto answers = sql_agent::run(questions, offline(), opt);
  tracing.shutdown();

  for (const auto& a : answers) {
    INFO(a.question);
    CHECK(a.ok);
    CHECK_FALSE(a.text.empty());
  }
  const auto spans = read_otlp(dir / "t.jsonl");
  CHECK(spans.size() == mem->size());

  // One trace per question, rooted in its router; the run is a trace of its own whose
  // workflow span links to every question's root. All share the run's conversation id.
  std::vector<const span*> roots;
  for (const auto& s : spans)
    if (s.parent.empty()) roots.push_back(&s);
  REQUIRE(roots.size() == questions.size() + 1);
  const span* run_span = nullptr;
  std::vector<const span*> routers;
  for (const span* r : roots) {
    if (r->name == "invoke_workflow sql_agent")
      run_span = r;
    else
      routers.push_back(r);
  }
  REQUIRE(run_span);
  CHECK(run_span->str("gen_ai.operation.name") == "invoke_workflow");
  CHECK(run_span->str("gen_ai.conversation.id") == "conv-tree");
  CHECK(children(spans, run_span->id).empty());
  REQUIRE(routers.size() == questions.size());
  std::map<std::string, std::string> trace_of_root;  // router span id -> its trace
  for (const span* r : routers) {
    CHECK(r->trace != run_span->trace);
    CHECK(r->str("gen_ai.conversation.id") == "conv-tree");
    trace_of_root[r->id] = r->trace;
  }
  std::set<std::string> question_traces;
  for (const auto& [id, t] : trace_of_root) question_traces.insert(t);
  CHECK(question_traces.size() == questions.size());
  REQUIRE(run_span->links.size() == questions.size());
  for (const auto& [t, id] : run_span->links) CHECK(trace_of_root.at(id) == t);
  std::map<std::string, std::string> parent_trace;  // every span is in its question's trace
  for (const auto& s : spans) parent_trace[s.id] = s.trace;
  for (const auto& s : spans) {
    if (!s.parent.empty()) CHECK(parent_trace.at(s.parent) == s.trace);
    for (const char* k : content_keys) CHECK_FALSE(s.has(k));  // capture is off
  }

  REQUIRE(routers.size() == questions.size());
  int failed_attempts = 0;
  for (const span* router : routers) {
    CHECK(router->name == "invoke_agent router");
    CHECK(router->kind == kind_internal);
    CHECK(router->str("gen_ai.operation.name") == "invoke_agent");
    CHECK(router->str("gen_ai.agent.name") == "router");
    const std::int64_t index = router->num("sql_agent.question.index");
    REQUIRE(index >= 0);
    const std::string& question = questions.at(static_cast<std::size_t>(index));
    INFO(question);
    const auto* rule = sql_agent::match_rule(question, nullptr);
    REQUIRE(rule);

    const auto rc = children(spans, router->id);
    REQUIRE(rc.size() == 2);
    auto [in, out] = check_chat(*rc[0], "route");
    const span& analyst = *rc[1];
    CHECK(analyst.name == "invoke_agent sql_analyst");
    CHECK(analyst.str("gen_ai.data_source.id") == rule->source);

    const auto ac = children(spans, analyst.id);
    REQUIRE(ac.size() >= 2);
    const std::size_t attempts = ac.size() - 1;
    std::int64_t analyst_in = 0, analyst_out = 0;
    for (std::size_t i = 0; i < attempts; ++i) {
      const span& attempt = *ac[i];
      CHECK(attempt.name == "sql.attempt");
      CHECK(attempt.num("sql_agent.attempt") == static_cast<std::int64_t>(i + 1));
      const auto steps = children(spans, attempt.id);
      REQUIRE(steps.size() == 2);
      auto [ci, co] = check_chat(*steps[0], "generate_sql");
      analyst_in += ci;
      analyst_out += co;
      if (i > 0) CHECK(steps[0]->num("gen_ai.usage.cache_read.input_tokens") > 0);
      const span& q = *steps[1];
      CHECK(q.kind == kind_client);
      CHECK(q.name.rfind("SELECT ", 0) == 0);
      CHECK(q.str("db.system.name") == "sqlite");
      CHECK(q.str("db.namespace") == rule->source);
      CHECK(q.str("db.operation.name") == "SELECT");
      CHECK(q.name == q.str("db.query.summary"));
      CHECK_FALSE(q.str("db.query.text").empty());
      CHECK(q.str("db.query.text").find('\'') == std::string::npos);  // literals sanitized
      const bool last = i + 1 == attempts;
      if (last) {  // the attempt that worked
        CHECK(attempt.status == 0);
        CHECK(q.status == 0);
        CHECK(q.num("db.response.returned_rows") >= 0);
        CHECK_FALSE(q.has("error.type"));
      } else {  // a failed attempt, then a sibling that corrects it
        ++failed_attempts;
        CHECK(attempt.status == status_error);
        CHECK(attempt.str("error.type") == "SQLITE_ERROR");
        CHECK(q.status == status_error);
        CHECK(q.str("error.type") == "SQLITE_ERROR");
        CHECK(q.str("db.response.status_code") == "1");
        CHECK_FALSE(q.status_message.empty());
        CHECK(attempt.status_message == q.status_message);  // the database's own message
        const bool sqlite_says = q.status_message.find("no such") != std::string::npos ||
                                 q.status_message.find("syntax error") != std::string::npos;
        CHECK(sqlite_says);
        CHECK_FALSE(q.has("db.response.returned_rows"));
      }
    }
    const span& answer = *ac.back();
    auto [ai, ao] = check_chat(answer, "answer");
    analyst_in += ai;
    analyst_out += ao;
    CHECK(answer.attrs.at("gen_ai.request.stream") == true);
    CHECK(answer.attrs.at("gen_ai.response.time_to_first_chunk").get<double>() > 0);
    // Agents carry the usage of the calls they made.
    CHECK(analyst.num("gen_ai.usage.input_tokens") == analyst_in);
    CHECK(analyst.num("gen_ai.usage.output_tokens") == analyst_out);
    CHECK(router->num("gen_ai.usage.input_tokens") == in + analyst_in);
    CHECK(router->num("gen_ai.usage.output_tokens") == out + analyst_out);
    CHECK(router->status == 0);
  }
  CHECK(failed_attempts >= 1);  // the default run shows the correction loop
}

TEST_CASE("a seed fixes the run whatever the concurrency") {
  const owned_temp_dir scratch("seed");
  const fs::path& dir = scratch.path;
  auto tracing = agentrace::start({.exporters = {}, .read_environment = false});
  const auto questions = sql_agent::make_questions(8, 7);
  sql_agent::run_options opt;
  opt.data_dir = dir / "data";
  opt.agent.seed = 7;
  opt.concurrency = 1;
  const auto a = sql_agent::run(questions, offline({.seed = 7}), opt);
  opt.concurrency = 4;
  const auto b = sql_agent::run(questions, offline({.seed = 7}), opt);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].source == b[i].source);
    CHECK(a[i].sql == b[i].sql);
    CHECK(a[i].attempts == b[i].attempts);
    CHECK(a[i].text == b[i].text);
    CHECK(a[i].input_tokens == b[i].input_tokens);
  }
  CHECK(sql_agent::make_questions(8, 8) != questions);
}

TEST_CASE("content, when enabled, is recorded in the schema's shape and redacted everywhere") {
  const owned_temp_dir scratch("content");
  const fs::path& dir = scratch.path;
  auto mem = agentrace::memory();
  auto tracing =
      agentrace::start({.exporters = {mem, agentrace::otlp_json_file((dir / "c.jsonl").string())},
                        .read_environment = false});
  agentrace::genai::configure_content({.capture = true, .read_environment = false});
  const std::string key = "sk-proj-Qw3rTy8uIoPaSdFgHjKl42";
  const std::string mail = "jane.doe@example.org";
  const std::vector<std::string> questions = {
      "My API key is " + key + " and my mail is " + mail +
          ". How many customers do we have in Germany?",
      "Bearer abcdefghijklmnop1234: which department has the most employees?"};
  sql_agent::run_options opt;
  opt.data_dir = dir / "data";
  opt.agent.seed = 3;
  opt.agent.max_attempts = 6;  // corrections go wrong half the time at this rate
  const auto answers = sql_agent::run(questions, offline({.seed = 3, .wrong_sql_rate = 1.0}), opt);
  tracing.shutdown();
  CHECK(answers[0].ok);
  CHECK(answers[1].ok);

  // Nothing secret reached either exporter.
  std::string seen;
  for (const auto& s : mem->spans()) {
    seen += s.name + s.status_message;
    for (const auto& [k, v] : s.attributes)
      if (auto* str = std::get_if<std::string>(&v)) seen += *str;
  }
  const std::string file = slurp(dir / "c.jsonl");
  for (const std::string& secret : {key, mail, std::string("abcdefghijklmnop1234")}) {
    CHECK(seen.find(secret) == std::string::npos);
    CHECK(file.find(secret) == std::string::npos);
  }
  CHECK(file.find("[REDACTED:api_key]") != std::string::npos);
  CHECK(file.find("[REDACTED:email]") != std::string::npos);
  CHECK(file.find("Bearer [REDACTED]") != std::string::npos);

  // Every chat carries its content; shapes follow the schema.
  std::size_t chats = 0;
  for (const auto& s : read_otlp(dir / "c.jsonl")) {
    if (s.name.rfind("chat ", 0) != 0) continue;
    ++chats;
    const json in = json::parse(s.str("gen_ai.input.messages"));
    REQUIRE(in.is_array());
    REQUIRE_FALSE(in.empty());
    for (const auto& m : in) {
      CHECK(m["role"].is_string());
      CHECK(m["parts"][0]["type"] == "text");
      CHECK(m["parts"][0]["content"].is_string());
    }
    const json outm = json::parse(s.str("gen_ai.output.messages"));
    CHECK(outm[0]["role"] == "assistant");
    CHECK(outm[0]["finish_reason"] == "stop");
    const json sys = json::parse(s.str("gen_ai.system_instructions"));
    CHECK(sys[0]["type"] == "text");
  }
  CHECK(chats >= 2 * 4);  // route, >= 2 SQL attempts (wrong rate 1), answer
}

TEST_CASE("fault injection: database errors exhaust the attempts, slow queries show") {
  const owned_temp_dir scratch("faults");
  const fs::path& dir = scratch.path;
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  agentrace::genai::configure_content({.read_environment = false});
  sql_agent::run_options opt;
  opt.data_dir = dir / "data";
  opt.agent.db_error_rate = 1.0;
  opt.agent.slow_db_rate = 1.0;
  opt.agent.slow_ms = std::chrono::milliseconds(30);
  opt.agent.max_attempts = 2;
  const auto answers = sql_agent::run({"Which carrier has the most delayed flights?"},
                                      offline({.wrong_sql_rate = 0}), opt);
  tracing.shutdown();
  REQUIRE(answers.size() == 1);
  CHECK_FALSE(answers[0].ok);
  CHECK(answers[0].attempts == 2);
  std::size_t queries = 0;
  for (const auto& s : mem->spans()) {
    if (s.kind != agentrace::span_kind::client) continue;
    ++queries;
    CHECK(s.status == agentrace::status_code::error);
    CHECK(s.status_message == "database is locked");
    CHECK(std::get<std::string>(*s.attr("error.type")) == "SQLITE_BUSY");
    CHECK(std::get<std::string>(*s.attr("db.response.status_code")) == "5");
    CHECK(s.duration_ns() >= 30'000'000u);
  }
  CHECK(queries == 2);
  const auto analyst = mem->find("invoke_agent sql_analyst");
  REQUIRE(analyst);
  CHECK(analyst->status == agentrace::status_code::error);
  CHECK(std::get<std::string>(*analyst->attr("error.type")) == "sql_attempts_exhausted");
  CHECK(mem->find("invoke_agent router")->status == agentrace::status_code::error);
  CHECK(mem->find("invoke_workflow sql_agent")->status == agentrace::status_code::error);
  CHECK_FALSE(mem->find("chat offline-sql-1") == std::nullopt);
}

#ifdef AGENTRACE_SQL_AGENT_BIN
TEST_CASE("the example binary's default run prints trees and writes OTLP-JSON otlp-check accepts") {
  const owned_temp_dir scratch("bin");
  const fs::path& dir = scratch.path;
  const std::string cmd = "cd '" + dir.string() +
                          "' && env -u OTEL_TRACES_EXPORTER -u AGENTRACE_OTLP_FILE "
                          "-u OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT '" +
                          AGENTRACE_SQL_AGENT_BIN + "' --seed 42 > out.txt 2> err.txt";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const std::string out = slurp(dir / "out.txt");
  CHECK(out.find("└─ invoke_workflow sql_agent") != std::string::npos);  // its own trace
  CHECK(out.find("invoke_agent router") != std::string::npos);
  CHECK(out.find("ERROR") != std::string::npos);  // a failed attempt is in the default run
  CHECK(out.find("6/6 answered") != std::string::npos);
  REQUIRE(fs::exists(dir / "sql_agent.jsonl"));
  REQUIRE(fs::exists(dir / "sql_agent_data" / "shop.db"));
  const fs::path check = AGENTRACE_OTLP_CHECK;
  INFO("otlp-check at " << check << " (configure with -DAGENTRACE_OTLP_CHECK=...)");
  REQUIRE(fs::exists(check));
  const std::string validate = "'" + check.string() + "' validate --no-orphans --strict '" +
                               (dir / "sql_agent.jsonl").string() + "' > '" +
                               (dir / "check.txt").string() + "' 2>&1";
  const int rc = std::system(validate.c_str());
  INFO(slurp(dir / "check.txt"));
  CHECK(rc == 0);
  CHECK(slurp(dir / "check.txt").find("ok: ") != std::string::npos);
}

TEST_CASE(
    "the example binary's metrics equal its traces: calls per span name, token sums, "
    "complete buckets, exemplars of exported spans") {
  const owned_temp_dir scratch("binmetrics");
  const fs::path& dir = scratch.path;
  const std::string cmd = "cd '" + dir.string() +
                          "' && env -u OTEL_TRACES_EXPORTER -u AGENTRACE_OTLP_FILE "
                          "-u OTEL_METRICS_EXPORTER '" +
                          AGENTRACE_SQL_AGENT_BIN +
                          "' --seed 42 --questions 8 --no-console > out.txt 2> err.txt";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::map<std::string, std::int64_t> spans_per_name;
  std::map<std::string, std::int64_t> tokens;  // input / output, from the chat spans
  std::set<std::string> span_ids;
  json last_metrics;
  std::istringstream lines(slurp(dir / "sql_agent.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const json req = json::parse(line);
    if (req.contains("resourceMetrics")) last_metrics = req;  // cumulative: the last has all
    if (!req.contains("resourceSpans")) continue;
    for (const auto& rs : req["resourceSpans"])
      for (const auto& ss : rs["scopeSpans"])
        for (const auto& sp : ss["spans"]) {
          ++spans_per_name[sp["name"].get<std::string>()];
          span_ids.insert(sp["traceId"].get<std::string>() + sp["spanId"].get<std::string>());
          bool genai = false;
          std::int64_t in = -1, out = -1;
          for (const auto& a : sp.value("attributes", json::array())) {
            const std::string k = a["key"];
            if (k == "gen_ai.operation.name") genai = true;
            if (k == "gen_ai.usage.input_tokens")
              in = std::stoll(a["value"]["intValue"].get<std::string>());
            if (k == "gen_ai.usage.output_tokens")
              out = std::stoll(a["value"]["intValue"].get<std::string>());
          }
          if (genai && in >= 0) tokens["input"] += in;
          if (genai && out >= 0) tokens["output"] += out;
        }
  }
  REQUIRE(!spans_per_name.empty());
  REQUIRE(last_metrics.is_object());
  std::map<std::string, std::int64_t> calls_per_name;
  std::map<std::string, double> token_sums;
  std::size_t exemplars = 0, histogram_points = 0;
  auto attr = [](const json& p, const std::string& key) {
    for (const auto& a : p.value("attributes", json::array()))
      if (a["key"] == key) return a["value"].value("stringValue", std::string());
    return std::string();
  };
  for (const auto& m : last_metrics["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]) {
    const std::string name = m["name"];
    if (name == "traces.span.metrics.calls")
      for (const auto& p : m["sum"]["dataPoints"])
        calls_per_name[attr(p, "span.name")] += std::stoll(p["asInt"].get<std::string>());
    if (!m.contains("histogram")) continue;
    const std::size_t bounds = m["histogram"]["dataPoints"][0]["explicitBounds"].size();
    for (const auto& p : m["histogram"]["dataPoints"]) {
      ++histogram_points;
      REQUIRE(p["bucketCounts"].size() == bounds + 1);
      std::uint64_t sum = 0;
      for (const auto& c : p["bucketCounts"]) sum += std::stoull(c.get<std::string>());
      CHECK(sum == std::stoull(p["count"].get<std::string>()));
      for (const auto& e : p.value("exemplars", json::array())) {
        ++exemplars;
        CHECK(span_ids.count(e["traceId"].get<std::string>() + e["spanId"].get<std::string>()) ==
              1);
      }
      if (name == "gen_ai.client.token.usage")
        token_sums[attr(p, "gen_ai.token.type")] += p["sum"].get<double>();
    }
  }
  CHECK(calls_per_name == spans_per_name);
  CHECK(token_sums["input"] == static_cast<double>(tokens["input"]));
  CHECK(token_sums["output"] == static_cast<double>(tokens["output"]));
  CHECK(tokens["input"] > 0);
  CHECK(histogram_points > 0);
  CHECK(exemplars > 0);
  CHECK(slurp(dir / "sql_agent.jsonl").find("\"sql_agent.questions\"") != std::string::npos);
}

TEST_CASE("the example binary reads questions longer than the argument limit from a file") {
  const owned_temp_dir scratch("binqfile");
  const fs::path& dir = scratch.path;
  // 200 KiB in one question: more than one command-line argument may hold (128 KiB).
  const std::string long_question =
      "how many flights leave from Paris? " + std::string(200 * 1024, 'x');
  {
    std::ofstream q(dir / "questions.txt", std::ios::binary);
    q << long_question << "\r\n\nhow many customers are there?\n";
  }
  const std::string env = "cd '" + dir.string() +
                          "' && env -u OTEL_TRACES_EXPORTER -u AGENTRACE_OTLP_FILE '" +
                          AGENTRACE_SQL_AGENT_BIN + "' --no-console";
  REQUIRE(std::system((env + " --questions-file questions.txt > out.txt 2> err.txt").c_str()) == 0);
  const std::string out = slurp(dir / "out.txt");
  INFO(out);
  CHECK(out.find("sql_agent: 2 question(s)") != std::string::npos);
  CHECK(out.find(long_question) != std::string::npos);  // asked whole
  CHECK(out.find("how many customers are there?") != std::string::npos);
  // Standard input works too; a missing or empty file is a usage error that names the file.
  REQUIRE(std::system((env + " --questions-file - < questions.txt > out2.txt 2>&1").c_str()) == 0);
  CHECK(slurp(dir / "out2.txt").find("sql_agent: 2 question(s)") != std::string::npos);
  CHECK(WEXITSTATUS(std::system((env + " --questions-file nope.txt > out3.txt 2>&1").c_str())) ==
        2);
  CHECK(slurp(dir / "out3.txt").find("--questions-file: cannot read 'nope.txt'") !=
        std::string::npos);
  { std::ofstream empty(dir / "empty.txt"); }
  CHECK(WEXITSTATUS(std::system((env + " --questions-file empty.txt > out4.txt 2>&1").c_str())) ==
        2);
  CHECK(slurp(dir / "out4.txt").find("no question in 'empty.txt'") != std::string::npos);
}

TEST_CASE(
    "the example binary with content capture: a secret in a question never reaches the file") {
  const owned_temp_dir scratch("binsecret");
  const fs::path& dir = scratch.path;
  const std::string cmd = "cd '" + dir.string() +
                          "' && env -u OTEL_TRACES_EXPORTER -u AGENTRACE_OTLP_FILE '" +
                          AGENTRACE_SQL_AGENT_BIN +
                          "' --capture-content --question 'key sk-live-0123456789abcdefXYZ, how "
                          "many flights leave from Paris?' > out.txt 2> err.txt";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const std::string file = slurp(dir / "sql_agent.jsonl");
  CHECK(file.find("gen_ai.input.messages") != std::string::npos);
  CHECK(file.find("0123456789abcdefXYZ") == std::string::npos);
  // The console exporter's trees (before the program's own summary, which repeats the
  // question as typed) show the content redacted.
  const std::string out = slurp(dir / "out.txt");
  const std::string trees = out.substr(0, out.find("\nQ1 "));
  CHECK(trees.find("gen_ai.input.messages") != std::string::npos);
  CHECK(trees.find("0123456789abcdefXYZ") == std::string::npos);
}
#endif
