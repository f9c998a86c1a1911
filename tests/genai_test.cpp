// SPDX-License-Identifier: MIT
// genai.hpp: span shapes, streaming, content capture (switch, JSON shape, size limit, redaction),
// SQL summaries and sanitizing, database client spans.
#include <agentrace/agentrace.hpp>
#include <agentrace/genai.hpp>
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/tracing.hpp"

namespace genai = agentrace::genai;
namespace gen_ai = agentrace::semconv::gen_ai;
using nlohmann::json;
using strings = std::vector<std::string>;

namespace {

using test_support::int_attr;
using test_support::str_attr;

/// Every string that reached the exporter: names, string attributes (arrays too), status
/// messages, event attributes.
std::string everything(const std::vector<agentrace::span_data>& spans) {
  std::string all;
  auto add = [&](const agentrace::attr_value& v) {
    if (auto* s = std::get_if<std::string>(&v)) all += *s + "\n";
    if (auto* a = std::get_if<strings>(&v))
      for (const auto& s : *a) all += s + "\n";
  };
  for (const auto& s : spans) {
    all += s.name + "\n" + s.status_message + "\n";
    for (const auto& [k, v] : s.attributes) add(v);
    for (const auto& e : s.events)
      for (const auto& [k, v] : e.attributes) add(v);
  }
  return all;
}

void capture_on(std::size_t max_bytes = genai::default_max_content_bytes) {
  genai::configure_content(
      {.capture = true, .max_value_bytes = max_bytes, .read_environment = false});
}

}  // namespace

TEST_CASE_METHOD(
    test_support::memory_tracing,
    "inference span: name, kind, required attributes, response, usage, finish reasons") {
  const std::string model = "gpt-4o";
  {
    genai::inference_span s({.provider = gen_ai::provider_name_values::openai,
                             .model = model,
                             .server_address = "api.openai.com",
                             .server_port = 443,
                             .conversation_id = std::string("conv-1")});
    s.set(gen_ai::request_temperature, 0.2).set(gen_ai::request_max_tokens, 100);
    s.response("chatcmpl-1", "gpt-4o-2024-08-06")
        .usage({.input_tokens = 120,
                .output_tokens = 30,
                .cache_read_input_tokens = 100,
                .reasoning_output_tokens = 5})
        .finish_reasons({"stop"});
  }
  {
    genai::inference_span s({.provider = "llama.cpp",
                             .model = "qwen2.5-7b",
                             .operation = gen_ai::operation_name_values::text_completion,
                             .kind = agentrace::span_kind::internal});
  }
  REQUIRE(tracing.force_flush());
  const auto c = mem->find("chat gpt-4o");
  REQUIRE(c);
  CHECK(c->kind == agentrace::span_kind::client);
  CHECK(str_attr(*c, "gen_ai.operation.name") == "chat");
  CHECK(str_attr(*c, "gen_ai.provider.name") == "openai");
  CHECK(str_attr(*c, "gen_ai.request.model") == "gpt-4o");
  CHECK(str_attr(*c, "server.address") == "api.openai.com");
  CHECK(int_attr(*c, "server.port") == 443);
  CHECK(str_attr(*c, "gen_ai.conversation.id") == "conv-1");
  CHECK(str_attr(*c, "gen_ai.response.id") == "chatcmpl-1");
  CHECK(str_attr(*c, "gen_ai.response.model") == "gpt-4o-2024-08-06");
  CHECK(int_attr(*c, "gen_ai.usage.input_tokens") == 120);
  CHECK(int_attr(*c, "gen_ai.usage.output_tokens") == 30);
  CHECK(int_attr(*c, "gen_ai.usage.cache_read.input_tokens") == 100);
  CHECK(int_attr(*c, "gen_ai.usage.reasoning.output_tokens") == 5);
  CHECK(c->attr("gen_ai.usage.cache_creation.input_tokens") == nullptr);  // unset: not recorded
  CHECK(c->attr("gen_ai.request.stream") == nullptr);
  CHECK(std::get<strings>(*c->attr("gen_ai.response.finish_reasons")) == strings{"stop"});
  CHECK(c->status == agentrace::status_code::unset);  // success leaves the status unset

  const auto t = mem->find("text_completion qwen2.5-7b");
  REQUIRE(t);
  CHECK(t->kind == agentrace::span_kind::internal);
  CHECK(str_attr(*t, "gen_ai.operation.name") == "text_completion");
  CHECK(str_attr(*t, "gen_ai.provider.name") == "llama.cpp");
}

TEST_CASE_METHOD(
    test_support::memory_tracing,
    "streaming: time to first chunk is recorded once, the span covers the whole stream") {
  {
    genai::inference_span s({.provider = "openai", .model = "m", .stream = true});
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    s.chunk();
    CHECK(s.first_chunk_seen());
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    s.chunk();  // later chunks do not move it
  }
  REQUIRE(tracing.force_flush());
  const auto s = mem->find("chat m");
  REQUIRE(s);
  CHECK(std::get<bool>(*s->attr("gen_ai.request.stream")));
  const double ttfc = std::get<double>(*s->attr("gen_ai.response.time_to_first_chunk"));
  CHECK(ttfc >= 0.030);
  // Recorded at the first chunk: the second one came 60 ms later and did not move it.
  CHECK(static_cast<double>(s->duration_ns()) / 1e9 >= ttfc + 0.060);
}

TEST_CASE_METHOD(test_support::memory_tracing,
                 "agent, workflow, tool, embeddings and retrieval spans are named and shaped") {
  {
    genai::workflow_span w({.name = "support_flow"});
    genai::agent_span a(
        {.name = "router", .id = "agent-7", .description = "routes", .data_source_id = "shop"});
    { genai::agent_span anon({}); }
    { genai::agent_span remote({.name = "remote", .kind = agentrace::span_kind::client}); }
    genai::tool_span t(
        {.name = "run_sql", .call_id = "call_1", .type = gen_ai::tool_type_values::function});
    genai::embeddings_span e(
        {.provider = "openai", .model = "text-embedding-3-small", .dimension_count = 1536});
    genai::retrieval_span r({.data_source_id = "docs", .top_k = 5});
  }
  REQUIRE(tracing.force_flush());
  const auto w = mem->find("invoke_workflow support_flow");
  REQUIRE(w);
  CHECK(str_attr(*w, "gen_ai.operation.name") == "invoke_workflow");
  CHECK(str_attr(*w, "gen_ai.workflow.name") == "support_flow");
  const auto a = mem->find("invoke_agent router");
  REQUIRE(a);
  CHECK(a->kind == agentrace::span_kind::internal);
  CHECK(a->parent_span_id == w->span_id);
  CHECK(str_attr(*a, "gen_ai.operation.name") == "invoke_agent");
  CHECK(str_attr(*a, "gen_ai.agent.name") == "router");
  CHECK(str_attr(*a, "gen_ai.agent.id") == "agent-7");
  CHECK(str_attr(*a, "gen_ai.agent.description") == "routes");
  CHECK(str_attr(*a, "gen_ai.data_source.id") == "shop");
  const auto anon = mem->find("invoke_agent");
  REQUIRE(anon);
  CHECK(anon->attr("gen_ai.agent.name") == nullptr);
  CHECK(mem->find("invoke_agent remote")->kind == agentrace::span_kind::client);
  const auto t = mem->find("execute_tool run_sql");
  REQUIRE(t);
  CHECK(t->kind == agentrace::span_kind::internal);
  CHECK(str_attr(*t, "gen_ai.operation.name") == "execute_tool");
  CHECK(str_attr(*t, "gen_ai.tool.name") == "run_sql");
  CHECK(str_attr(*t, "gen_ai.tool.call.id") == "call_1");
  CHECK(str_attr(*t, "gen_ai.tool.type") == "function");
  const auto e = mem->find("embeddings text-embedding-3-small");
  REQUIRE(e);
  CHECK(e->kind == agentrace::span_kind::client);
  CHECK(str_attr(*e, "gen_ai.operation.name") == "embeddings");
  CHECK(int_attr(*e, "gen_ai.embeddings.dimension.count") == 1536);
  const auto r = mem->find("retrieval docs");
  REQUIRE(r);
  CHECK(r->kind == agentrace::span_kind::client);
  CHECK(str_attr(*r, "gen_ai.operation.name") == "retrieval");
  CHECK(str_attr(*r, "gen_ai.data_source.id") == "docs");
  CHECK(std::get<double>(*r->attr("gen_ai.request.top_k")) == 5.0);
}

TEST_CASE_METHOD(test_support::memory_tracing,
                 "a failed GenAI operation has status ERROR and error.type") {
  {
    genai::inference_span s({.provider = "openai", .model = "m"});
    s.fail("429", "rate limited");
  }
  {
    genai::tool_span t({.name = "t"});
    t.fail("", "no class given");
  }
  REQUIRE(tracing.force_flush());
  const auto s = mem->find("chat m");
  CHECK(s->status == agentrace::status_code::error);
  CHECK(s->status_message == "rate limited");
  CHECK(str_attr(*s, "error.type") == "429");
  CHECK(str_attr(*mem->find("execute_tool t"), "error.type") == "_OTHER");
}

TEST_CASE("content capture is off by default and leaves no content on spans") {
  ::unsetenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  genai::configure_content();  // the environment (unset) and the defaults
  CHECK_FALSE(genai::capture_content());
  {
    genai::inference_span s({.provider = "openai", .model = "m"});
    s.input_messages({genai::message::user("what is secret?")});
    s.output_messages({genai::message::assistant("nothing", "stop")});
    s.system_instructions({genai::part::text("be nice")});
    genai::tool_span t({.name = "x"});
    t.arguments(R"({"a":1})").result("2");
  }
  REQUIRE(tracing.force_flush());
  for (const auto& s : mem->spans()) {
    CHECK(s.attr("gen_ai.input.messages") == nullptr);
    CHECK(s.attr("gen_ai.output.messages") == nullptr);
    CHECK(s.attr("gen_ai.system_instructions") == nullptr);
    CHECK(s.attr("gen_ai.tool.call.arguments") == nullptr);
    CHECK(s.attr("gen_ai.tool.call.result") == nullptr);
  }
  CHECK(everything(mem->spans()).find("secret") == std::string::npos);
}

TEST_CASE("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT switches capture; config wins") {
  struct row {
    const char* value;
    bool on;
  };
  for (const row r : {row{"true", true}, row{"TRUE", true}, row{"SPAN_ONLY", true},
                      row{"span_and_event", true}, row{"false", false}, row{"NO_CONTENT", false},
                      row{"EVENT_ONLY", false}, row{"yes please", false}}) {
    ::setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", r.value, 1);
    INFO(r.value);
    CHECK(genai::configure_content().capture == r.on);
    CHECK(genai::capture_content() == r.on);
  }
  ::setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true", 1);
  CHECK_FALSE(genai::configure_content({.capture = false}).capture);
  CHECK_FALSE(genai::configure_content({.read_environment = false}).capture);
  ::setenv("AGENTRACE_GENAI_CONTENT_MAX_BYTES", "1234", 1);
  CHECK(genai::configure_content().max_value_bytes == 1234);
  CHECK(genai::configure_content({.max_value_bytes = 99}).max_value_bytes == 99);
  ::unsetenv("AGENTRACE_GENAI_CONTENT_MAX_BYTES");
  ::unsetenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
  CHECK(genai::configure_content().max_value_bytes == genai::default_max_content_bytes);
}

TEST_CASE_METHOD(test_support::memory_tracing,
                 "captured content has the schema's shape: role, parts, finish_reason") {
  capture_on();
  {
    genai::inference_span s({.provider = "openai", .model = "m"});
    std::vector<genai::message> in;
    in.push_back(genai::message::user("How many \"orders\"?\n"));
    genai::message call;
    call.role = "assistant";
    call.parts.push_back(genai::part::tool_call("call_1", "run_sql", R"({"sql":"SELECT 1"})"));
    in.push_back(std::move(call));
    in.push_back(genai::message::tool("call_1", R"([[1]])"));
    genai::message free_text;
    free_text.role = "assistant";
    free_text.parts.push_back(genai::part::tool_call("call_2", "t", "not json {"));
    free_text.parts.push_back(genai::part::reasoning("thinking"));
    in.push_back(std::move(free_text));
    s.input_messages(std::move(in));
    s.output_messages({genai::message::assistant("There are 3.", "stop")});
    s.system_instructions({genai::part::text("You write SQL."), genai::part::text("Be brief.")});
    genai::tool_span t({.name = "run_sql"});
    t.arguments(R"({"sql": "SELECT 1"})").result("plain text result");
  }
  REQUIRE(tracing.force_flush());
  const auto s = mem->find("chat m");
  REQUIRE(s);
  const json in = json::parse(str_attr(*s, "gen_ai.input.messages"));
  REQUIRE(in.is_array());
  REQUIRE(in.size() == 4);
  CHECK(in[0] ==
        json::parse(
            R"({"role":"user","parts":[{"type":"text","content":"How many \"orders\"?\n"}]})"));
  CHECK(
      in[1]["parts"][0] ==
      json::parse(
          R"({"type":"tool_call","id":"call_1","name":"run_sql","arguments":{"sql":"SELECT 1"}})"));
  CHECK(
      in[2] ==
      json::parse(
          R"({"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":[[1]]}]})"));
  CHECK(in[3]["parts"][0]["arguments"] == "not json {");  // not JSON: kept as a string
  CHECK(in[3]["parts"][1] == json::parse(R"({"type":"reasoning","content":"thinking"})"));
  for (const auto& m : in) CHECK_FALSE(m.contains("finish_reason"));
  const json out = json::parse(str_attr(*s, "gen_ai.output.messages"));
  CHECK(
      out ==
      json::parse(
          R"([{"role":"assistant","parts":[{"type":"text","content":"There are 3."}],"finish_reason":"stop"}])"));
  const json sys = json::parse(str_attr(*s, "gen_ai.system_instructions"));
  CHECK(
      sys ==
      json::parse(
          R"([{"type":"text","content":"You write SQL."},{"type":"text","content":"Be brief."}])"));
  const auto t = mem->find("execute_tool run_sql");
  CHECK(json::parse(str_attr(*t, "gen_ai.tool.call.arguments")) ==
        json::parse(R"({"sql":"SELECT 1"})"));
  CHECK(json::parse(str_attr(*t, "gen_ai.tool.call.result")) == "plain text result");
}

TEST_CASE("the size limit cuts inside the content, keeps the JSON valid and never drops the span") {
  std::mt19937 rng(7);
  const std::string alphabet[] = {"a", "b", " ", "\"", "\\", "\n", "\x01", "é", "€", "😀", "\xff"};
  auto random_text = [&](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += alphabet[rng() % std::size(alphabet)];
    return s;
  };
  for (int round = 0; round < 300; ++round) {
    const std::size_t limit = 100 + rng() % 2000;
    const genai::content_settings st{true, limit, {}};
    std::vector<genai::message> msgs;
    std::vector<std::string> originals;
    const std::size_t n = 1 + rng() % 4;
    for (std::size_t i = 0; i < n; ++i) {
      std::string text = random_text(rng() % 1500);
      originals.push_back(text);
      msgs.push_back(i % 2 ? genai::message::assistant(std::move(text), "stop")
                           : genai::message::user(std::move(text)));
    }
    const std::string out = genai::input_messages_json(std::move(msgs), st);
    INFO("round " << round << " limit " << limit);
    const json j = json::parse(out, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    REQUIRE(j.is_array());
    REQUIRE(j.size() >= 1);
    // The structure of one message always fits in these limits, so the limit holds.
    CHECK(out.size() <= limit);
    // Kept messages are the newest; their contents are the originals or cut prefixes + marker.
    const std::size_t first = n - j.size();
    for (std::size_t i = 0; i < j.size(); ++i) {
      const std::string content = j[i]["parts"][0]["content"];
      // Invalid UTF-8 bytes become U+FFFD on output: compare against the sanitised original.
      const std::string original = json::parse([&] {
        fmt::memory_buffer b;
        agentrace::detail::write_json_string(b, originals[first + i]);
        return std::string(b.data(), b.size());
      }());
      const std::string marker = "…[truncated]";
      if (content != original) {
        REQUIRE(content.size() >= marker.size());
        CHECK(content.compare(content.size() - marker.size(), marker.size(), marker) == 0);
        const std::string prefix = content.substr(0, content.size() - marker.size());
        CHECK(original.compare(0, prefix.size(), prefix) == 0);
      }
    }
  }
}

TEST_CASE("the size limit: contents within it are untouched, long ones shrink first") {
  const genai::content_settings st{true, 400, {}};
  std::vector<genai::message> msgs;
  msgs.push_back(genai::message::user("short question"));
  msgs.push_back(genai::message::assistant(std::string(5000, 'x'), "stop"));
  const json j = json::parse(genai::input_messages_json(std::move(msgs), st));
  CHECK(j[0]["parts"][0]["content"] == "short question");
  const std::string cut = j[1]["parts"][0]["content"];
  CHECK(cut.size() > 200);  // the budget goes to the long content
  CHECK(cut.size() < 400);
  const genai::content_settings big{true, 100000, {}};
  CHECK(genai::input_messages_json({genai::message::user(std::string(5000, 'y'))}, big).size() ==
        5000 + std::string(R"([{"role":"user","parts":[{"type":"text","content":""}]}])").size());
  // When even the structure does not fit, the oldest input messages are left out.
  const genai::content_settings tiny{true, 90, {}};
  std::vector<genai::message> many;
  for (int i = 0; i < 10; ++i) many.push_back(genai::message::user("message " + std::to_string(i)));
  const json k = json::parse(genai::input_messages_json(std::move(many), tiny));
  REQUIRE(k.size() >= 1);
  CHECK(k.back()["parts"][0]["content"] == "message 9");
  // A free-form value (tool arguments) too: cut JSON becomes a valid JSON string.
  const std::string args = R"({"sql":")" + std::string(1000, 'z') + R"("})";
  const std::string v = genai::content_value(args, true, st);
  CHECK(v.size() <= 400);
  CHECK(json::parse(v).is_string());
}

TEST_CASE("content strings are moved into the recorder, not copied before redaction") {
  std::string big(100000, 'q');
  const char* data = big.data();
  const char* seen = nullptr;
  const genai::content_settings st{true, 1 << 20, [&](std::string& s) { seen = s.data(); }};
  std::vector<genai::message> msgs;
  msgs.push_back(genai::message::user(std::move(big)));
  const std::string out = genai::input_messages_json(std::move(msgs), st);
  CHECK(seen == data);  // the redactor worked on the caller's buffer
  CHECK(out.size() ==
        100000 + std::string(R"([{"role":"user","parts":[{"type":"text","content":""}]}])").size());
}

TEST_CASE("the default redactor masks API keys, bearer tokens, emails and secrets") {
  struct row {
    std::string in, out;
  };
  const row rows[] = {
      {"key sk-proj-AbCdEfGhIjKlMnOpQrStUv12 end", "key [REDACTED:api_key] end"},
      {"sk-ant-api03-abcdefghijklmnopqrstuvwx", "[REDACTED:api_key]"},
      {"stripe sk_live_51HxYzAbCdEfGh", "stripe [REDACTED:api_key]"},
      {"aws AKIAIOSFODNN7EXAMPLE.", "aws [REDACTED:api_key]."},
      {"gh ghp_0123456789abcdefghijABCDEFGHIJ012345", "gh [REDACTED:api_key]"},
      {"slack xoxb-1234567890-abcdefghij", "slack [REDACTED:api_key]"},
      {"g AIzaSyA-1234567890abcdefghijklmnopqrstu", "g [REDACTED:api_key]"},
      {"Authorization: Bearer abc.DEF-123_xyz==", "Authorization: Bearer [REDACTED]"},
      {"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
       "token [REDACTED:token]"},
      {"mail jane.doe+tag@example.co.uk, thanks", "mail [REDACTED:email], thanks"},
      {"password=hunter2 and api_key: abc123", "password=[REDACTED] and api_key: [REDACTED]"},
      {R"({"q":"sk-abcdefghijklmnopqrstuvwxyz"})", R"({"q":"[REDACTED:api_key]"})"},
      // Not secrets:
      {"task-force-abcdefghijklmnopqrstuvwxyz", "task-force-abcdefghijklmnopqrstuvwxyz"},
      {"sk-short", "sk-short"},
      {"tokens: 12, passwords are hashed", "tokens: 12, passwords are hashed"},
      {"user@localhost and @handle", "user@localhost and @handle"},
      {"the bearer of bad news", "the bearer of bad news"},
  };
  for (const auto& r : rows) {
    std::string s = r.in;
    genai::default_redactor(s);
    CHECK(s == r.out);
  }
}

TEST_CASE("the default redactor masks credentials as configs and tool arguments write them") {
  struct row {
    std::string in, out;
  };
  const row rows[] = {
      // JSON, as tool-call arguments carry it; the result stays valid JSON.
      {R"({"password":"hunter2"})", R"({"password":"[REDACTED]"})"},
      {R"({"user":"amy", "api_key": "abc123def"})", R"({"user":"amy", "api_key": "[REDACTED]"})"},
      {R"({"password": "a\"b c", "x": 1})", R"({"password": "[REDACTED]", "x": 1})"},
      {R"({"api_key": 12345678})", R"({"api_key": "[REDACTED]"})"},
      {R"({"client_secret":'s3cr3t'})", R"({"client_secret":'[REDACTED]'})"},
      // JSON inside a JSON string (arguments serialised twice).
      {R"({"args":"{\"password\":\"hunter2\"}"})", R"({"args":"{\"password\":\"[REDACTED]\"}"})"},
      // YAML / .env / logs.
      {R"(password: "hunter 2 with spaces")", R"(password: "[REDACTED]")"},
      {"DB_URL=x\nPASSWD=hunter2\n", "DB_URL=x\nPASSWD=[REDACTED]\n"},
      // HTTP credentials.
      {"Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [REDACTED]"},
      {R"({"headers":{"Authorization":"Basic dXNlcjpwYXNz"}})",
       R"({"headers":{"Authorization":"Basic [REDACTED]"}})"},
      {"curl -H 'X-Auth: Basic dXNlcjpwYXNz' url", "curl -H 'X-Auth: Basic [REDACTED]' url"},
      {"Authorization: Token abcdef123456", "Authorization: Token [REDACTED]"},
      // Card numbers (Luhn-valid), bare, grouped, in JSON.
      {"card 4111 1111 1111 1111 exp 12/29", "card [REDACTED:card] exp 12/29"},
      {"4111-1111-1111-1111", "[REDACTED:card]"},
      {"pay with 4111111111111111.", "pay with [REDACTED:card]."},
      {"amex 378282246310005 or 3782 822463 10005", "amex [REDACTED:card] or [REDACTED:card]"},
      {R"({"card":"5555555555554444"})", R"({"card":"[REDACTED:card]"})"},
      // Not secrets:
      {"order 4111111111111112", "order 4111111111111112"},  // fails the Luhn check
      {"ts 1767225600000000000", "ts 1767225600000000000"},  // a timestamp
      {"id 79927398713", "id 79927398713"},                  // Luhn-valid, too short
      {"span 53995c3f42cd8ad8", "span 53995c3f42cd8ad8"},
      {"call +1 555-123-4567", "call +1 555-123-4567"},
      {"1 2 3 4 5 6 7 8 9 1 2 3 4 5 6 7", "1 2 3 4 5 6 7 8 9 1 2 3 4 5 6 7"},
      {"4111 1111 1111 1111 1111", "4111 1111 1111 1111 1111"},  // 20 digits
      {"Basic knowledge of SQL", "Basic knowledge of SQL"},
      {R"({"password_hint":"x"})", R"({"password_hint":"x"})"},
      {R"({"password":{"type":"string"}})", R"({"password":{"type":"string"}})"},
      {R"({"password": null, "api_key": ""})", R"({"password": null, "api_key": ""})"},
  };
  for (const auto& r : rows) {
    std::string s = r.in;
    genai::default_redactor(s);
    CHECK(s == r.out);
  }
}

TEST_CASE_METHOD(
    test_support::memory_tracing,
    "JSON-structured content: secrets in tool arguments are masked and the JSON stays valid") {
  capture_on();
  {
    genai::tool_span t({.name = "login"});
    t.arguments(
        R"({"user":"amy","password":"hunter2","api_key": 1234567890,"card":"4111 1111 1111 1111",)"
        R"("headers":{"Authorization":"Basic dXNlcjpwYXNzd29yZA=="},"note":"order 4111111111111112"})");
  }
  REQUIRE(tracing.force_flush());
  const auto spans = mem->spans();
  REQUIRE(spans.size() == 1);
  const std::string args = str_attr(spans[0], "gen_ai.tool.call.arguments");
  INFO(args);
  const auto j = nlohmann::json::parse(args);  // still valid JSON
  CHECK(j["user"] == "amy");
  CHECK(j["password"] == "[REDACTED]");
  CHECK(j["api_key"] == "[REDACTED]");
  CHECK(j["card"] == "[REDACTED:card]");
  CHECK(j["headers"]["Authorization"] == "Basic [REDACTED]");
  CHECK(j["note"] == "order 4111111111111112");
  CHECK(args.find("hunter2") == std::string::npos);
  CHECK(args.find("dXNlcjpw") == std::string::npos);
}

TEST_CASE_METHOD(test_support::memory_tracing,
                 "redaction runs before anything is recorded: no secret reaches the exporter") {
  capture_on();
  const std::string key = "sk-proj-ZyXwVuTsRqPoNmLkJiHg9876";
  const std::string mail = "ceo@bigcorp.example";
  {
    genai::inference_span s({.provider = "openai", .model = "m"});
    s.system_instructions({genai::part::text("Use key " + key)});
    s.input_messages({genai::message::user("My key is " + key + ", mail " + mail)});
    s.output_messages({genai::message::assistant("Noted " + mail, "stop")});
    genai::tool_span t({.name = "email"});
    t.arguments(R"({"to":")" + mail + R"(","auth":"Bearer )" + key + R"("})");
    genai::db_span d({.system = "sqlite"});
    d.query("SELECT * FROM users WHERE email = '" + mail + "'");
    d.fail("SQLITE_ERROR", "no such column: " + mail);
  }
  // A custom hook replaces the default one and sees every content string first.
  genai::configure_content({.capture = true,
                            .redactor =
                                [](std::string& s) {
                                  for (std::size_t p; (p = s.find("Zebra")) != std::string::npos;)
                                    s.replace(p, 5, "*****");
                                },
                            .read_environment = false});
  {
    genai::agent_span a({.name = "a"});
    a.input_messages({genai::message::user("password is Zebra")});
  }
  REQUIRE(tracing.force_flush());
  const std::string all = everything(mem->spans());
  CHECK(all.find(key) == std::string::npos);
  CHECK(all.find("ZyXwVuTs") == std::string::npos);
  CHECK(all.find(mail) == std::string::npos);
  CHECK(all.find("Zebra") == std::string::npos);
  CHECK(all.find("[REDACTED:api_key]") != std::string::npos);
  CHECK(all.find("[REDACTED:email]") != std::string::npos);
  CHECK(all.find("password is *****") != std::string::npos);
  const auto t = mem->find("execute_tool email");
  CHECK(json::parse(str_attr(*t, "gen_ai.tool.call.arguments"))["to"] == "[REDACTED:email]");
}

TEST_CASE("SQL summaries: operation and tables") {
  struct row {
    const char* sql;
    const char* op;
    strings tables;
  };
  const row rows[] = {
      {"SELECT * FROM orders WHERE id = 1", "SELECT", {"orders"}},
      {"select c.name from customers c join orders o on o.cid = c.id left join items i on 1",
       "SELECT",
       {"customers", "orders", "items"}},
      {"SELECT a FROM t1 x, t2 AS y, main.t3 WHERE 1", "SELECT", {"t1", "t2", "main.t3"}},
      {"INSERT INTO \"Order Lines\"(a) VALUES (1)", "INSERT", {"Order Lines"}},
      {"UPDATE employees SET salary = salary * 1.1", "UPDATE", {"employees"}},
      {"DELETE FROM sessions", "DELETE", {"sessions"}},
      {"WITH r AS (SELECT * FROM orders) SELECT count(*) FROM r", "SELECT", {"orders", "r"}},
      {"SELECT x FROM (SELECT y FROM inner_t) sub", "SELECT", {"inner_t"}},
      {"-- comment FROM fake\nSELECT 1 /* FROM fake2 */", "SELECT", {}},
      {"CREATE TABLE IF NOT EXISTS logs(a)", "CREATE", {"logs"}},
  };
  for (const auto& r : rows) {
    INFO(r.sql);
    const auto info = genai::parse_sql(r.sql);
    CHECK(info.operation == r.op);
    CHECK(info.tables == r.tables);
  }
  CHECK(genai::parse_sql("SELECT a FROM x JOIN y ON 1").summary == "SELECT x y");
  CHECK(genai::parse_sql("").summary.empty());
}

TEST_CASE("SQL sanitizing replaces literals with ? and keeps the rest") {
  CHECK(genai::sanitize_sql("SELECT * FROM t WHERE name = 'O''Brien' AND age > 42 AND x = 1.5e3") ==
        "SELECT * FROM t WHERE name = ? AND age > ? AND x = ?");
  CHECK(genai::sanitize_sql("SELECT t1.c2, \"col 3\" FROM t1 LIMIT 10") ==
        "SELECT t1.c2, \"col 3\" FROM t1 LIMIT ?");
  CHECK(genai::sanitize_sql("SELECT 0x1F, -5 -- secret 'x'\nFROM t") == "SELECT ?, -? FROM t");
  CHECK(genai::sanitize_sql("SELECT 'unterminated") == "SELECT ?");
}

TEST_CASE("database client span: named by the conventions, query text, rows, errors") {
  namespace db = agentrace::semconv::db;
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  {
    genai::db_span s({.system = db::system_name_values::sqlite, .namespace_ = "shop"});
    s.query("SELECT name FROM customers WHERE country = 'Germany'").returned_rows(7);
  }
  {
    genai::db_span s({.system = "postgresql", .query_summary = "SELECT wuser_table"});
    s.query("SELECT * FROM other");  // a summary from the options wins
  }
  { genai::db_span s({.system = "postgresql", .namespace_ = "crm", .operation = "VACUUM"}); }
  { genai::db_span s({.system = "redis"}); }
  {
    genai::db_span s({.system = "sqlite", .namespace_ = "hr"});
    s.query("SELECT x FROM employees", false);
    s.fail("SQLITE_ERROR", "no such column: x", "1");
  }
  REQUIRE(tracing.force_flush());
  const auto a = mem->find("SELECT customers");
  REQUIRE(a);
  CHECK(a->kind == agentrace::span_kind::client);
  CHECK(str_attr(*a, "db.system.name") == "sqlite");
  CHECK(str_attr(*a, "db.namespace") == "shop");
  CHECK(str_attr(*a, "db.operation.name") == "SELECT");
  CHECK(str_attr(*a, "db.collection.name") == "customers");
  CHECK(str_attr(*a, "db.query.summary") == "SELECT customers");
  CHECK(str_attr(*a, "db.query.text") == "SELECT name FROM customers WHERE country = ?");
  CHECK(int_attr(*a, "db.response.returned_rows") == 7);
  CHECK(a->status == agentrace::status_code::unset);
  REQUIRE(mem->find("SELECT wuser_table"));
  CHECK(mem->find("VACUUM crm"));
  CHECK(mem->find("redis"));
  const auto e = mem->find("SELECT employees");
  REQUIRE(e);
  CHECK(str_attr(*e, "db.query.text") == "SELECT x FROM employees");
  CHECK(e->status == agentrace::status_code::error);
  CHECK(e->status_message == "no such column: x");
  CHECK(str_attr(*e, "error.type") == "SQLITE_ERROR");
  CHECK(str_attr(*e, "db.response.status_code") == "1");
}

TEST_CASE_METHOD(test_support::memory_tracing,
                 "helpers started with an explicit parent join that parent's trace") {
  agentrace::span_context parent;
  {
    AGENTRACE_SPAN(session, "session");
    parent = agentrace::current_context();
    std::thread([&] {
      genai::agent_span a({.name = "worker"}, parent);
      genai::inference_span c({.provider = "p", .model = "m"});
    }).join();
  }
  REQUIRE(tracing.force_flush());
  const auto session = mem->find("session");
  const auto a = mem->find("invoke_agent worker");
  const auto c = mem->find("chat m");
  REQUIRE((session && a && c));
  CHECK(a->trace_id == session->trace_id);
  CHECK(a->parent_span_id == session->span_id);
  CHECK(c->parent_span_id == a->span_id);
}
