// SPDX-License-Identifier: MIT
// The OpenAI-compatible chat client against a fake server on 127.0.0.1 (port 0) started by the
// test: request shape (path, JSON body, headers), usage parsing, streaming, and HTTP errors on
// the GenAI span as error.type.
#include <agentrace/agentrace.hpp>
#include <agentrace/genai.hpp>
#include <agentrace/llm/openai.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "support/http_server.hpp"
#include "support/tracing.hpp"

using nlohmann::json;
namespace llm = agentrace::llm;
namespace genai = agentrace::genai;

namespace {

/// The OpenAI-compatible endpoint under test: the shared test server, its API under /v1.
struct fake_server : test_support::http_server {
  std::string base_url() const { return url("/v1"); }
};

const char* ok_body = R"({
  "id": "chatcmpl-123", "object": "chat.completion", "model": "gpt-test-2024",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "SELECT 1"},
               "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 57, "completion_tokens": 9, "total_tokens": 66,
            "prompt_tokens_details": {"cached_tokens": 32},
            "completion_tokens_details": {"reasoning_tokens": 4}}
})";

llm::chat_request sample_request() {
  llm::chat_request r;
  r.model = "gpt-test";
  r.messages = {{"system", "You write SQL."}, {"user", "How many orders?"}};
  r.temperature = 0.25;
  r.max_tokens = 64;
  return r;
}

using test_support::int_attr;
using test_support::str_attr;

/// One traced call: an inference span around chat(), the result recorded on it.
llm::chat_result traced_chat(llm::openai_client& c, const llm::chat_request& r) {
  const auto server = llm::server_of(c.options().base_url);
  genai::inference_span span({.provider = "openai",
                              .model = r.model,
                              .server_address = server.address,
                              .server_port = server.port});
  llm::chat_result res = c.chat(r);
  llm::record_result(span, res);
  return res;
}

}  // namespace

TEST_CASE("chat: request shape (path, JSON body, headers) and response parsing") {
  fake_server srv;
  srv.push({.status = 200, .body = ok_body});
  llm::openai_client client(
      {.base_url = srv.base_url() + "/", .api_key = "sk-test-abcdefghijklmnop"});
  const llm::chat_result r = client.chat(sample_request());

  const auto reqs = srv.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].target == "/v1/chat/completions");
  CHECK(reqs[0].header("Authorization") == "Bearer sk-test-abcdefghijklmnop");
  CHECK(reqs[0].header("Content-Type") == "application/json");
  const json body = json::parse(reqs[0].body);
  CHECK(body["model"] == "gpt-test");
  CHECK(body["messages"] == json::parse(R"([{"role":"system","content":"You write SQL."},
                                            {"role":"user","content":"How many orders?"}])"));
  CHECK(body["temperature"] == 0.25);
  CHECK(body["max_tokens"] == 64);
  CHECK_FALSE(body.contains("stream"));

  REQUIRE(r.ok);
  CHECK(r.http_status == 200);
  CHECK(r.id == "chatcmpl-123");
  CHECK(r.model == "gpt-test-2024");
  CHECK(r.content == "SELECT 1");
  CHECK(r.finish_reasons == std::vector<std::string>{"stop"});
  CHECK(r.input_tokens == 57);
  CHECK(r.output_tokens == 9);
  CHECK(r.cached_input_tokens == 32);
  CHECK(r.reasoning_tokens == 4);
}

TEST_CASE("no API key: no Authorization header") {
  fake_server srv;
  srv.push({.status = 200, .body = ok_body});
  llm::openai_client client({.base_url = srv.base_url()});
  CHECK(client.chat(sample_request()).ok);
  CHECK(srv.requests().at(0).header("Authorization").empty());
}

TEST_CASE_METHOD(
    test_support::memory_tracing,
    "a traced call records server, response, usage and finish reasons; never the key") {
  fake_server srv;
  srv.push({.status = 200, .body = ok_body});
  llm::openai_client client({.base_url = srv.base_url(), .api_key = "sk-test-abcdefghijklmnop"});
  REQUIRE(traced_chat(client, sample_request()).ok);
  REQUIRE(tracing.force_flush());
  const auto s = mem->find("chat gpt-test");
  REQUIRE(s);
  CHECK(s->kind == agentrace::span_kind::client);
  CHECK(s->status == agentrace::status_code::unset);
  CHECK(str_attr(*s, "gen_ai.provider.name") == "openai");
  CHECK(str_attr(*s, "server.address") == "127.0.0.1");
  CHECK(int_attr(*s, "server.port") == srv.port());
  CHECK(str_attr(*s, "gen_ai.response.id") == "chatcmpl-123");
  CHECK(str_attr(*s, "gen_ai.response.model") == "gpt-test-2024");
  CHECK(int_attr(*s, "gen_ai.usage.input_tokens") == 57);
  CHECK(int_attr(*s, "gen_ai.usage.output_tokens") == 9);
  CHECK(int_attr(*s, "gen_ai.usage.cache_read.input_tokens") == 32);
  CHECK(int_attr(*s, "gen_ai.usage.reasoning.output_tokens") == 4);
  CHECK(std::get<std::vector<std::string>>(*s->attr("gen_ai.response.finish_reasons")) ==
        std::vector<std::string>{"stop"});
  for (const auto& [k, v] : s->attributes)
    if (auto* str = std::get_if<std::string>(&v)) CHECK(str->find("sk-test") == std::string::npos);
}

TEST_CASE_METHOD(test_support::memory_tracing,
                 "HTTP errors become a span error with error.type = the status code") {
  fake_server srv;
  srv.push(
      {.status = 429,
       .body = R"({"error":{"message":"Rate limit reached for gpt-test","type":"requests"}})"});
  srv.push({.status = 500, .body = "upstream exploded"});
  srv.push({.status = 200, .body = "this is not JSON"});
  llm::openai_client client({.base_url = srv.base_url(), .api_key = "k"});
  auto req = sample_request();
  const auto r429 = traced_chat(client, req);
  CHECK_FALSE(r429.ok);
  CHECK(r429.http_status == 429);
  CHECK(r429.error_type == "429");
  CHECK(r429.error.find("Rate limit reached") != std::string::npos);
  req.model = "m500";
  const auto r500 = traced_chat(client, req);
  CHECK(r500.error_type == "500");
  req.model = "mbad";
  const auto rbad = traced_chat(client, req);
  CHECK_FALSE(rbad.ok);
  CHECK(rbad.error_type == "invalid_response");
  REQUIRE(tracing.force_flush());

  const auto s = mem->find("chat gpt-test");
  REQUIRE(s);
  CHECK(s->status == agentrace::status_code::error);
  CHECK(str_attr(*s, "error.type") == "429");
  CHECK(s->status_message.find("Rate limit reached") != std::string::npos);
  CHECK(s->attr("gen_ai.usage.input_tokens") == nullptr);
  CHECK(str_attr(*mem->find("chat m500"), "error.type") == "500");
  CHECK(mem->find("chat m500")->status == agentrace::status_code::error);
  CHECK(str_attr(*mem->find("chat mbad"), "error.type") == "invalid_response");
}

TEST_CASE("transport errors: connection refused is error.type connect") {
  int port;
  {
    fake_server srv;  // find a free port, then close it
    port = srv.port();
  }
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  llm::openai_client client({.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1",
                             .timeout = std::chrono::milliseconds(2000)});
  const auto r = traced_chat(client, sample_request());
  CHECK_FALSE(r.ok);
  CHECK(r.http_status == 0);
  CHECK(r.error_type == "connect");
  REQUIRE(tracing.force_flush());
  CHECK(str_attr(*mem->find("chat gpt-test"), "error.type") == "connect");
}

TEST_CASE_METHOD(
    test_support::memory_tracing,
    "streaming: deltas as they arrive, usage from the last chunk, time to first chunk") {
  fake_server srv;
  srv.push(
      {.status = 200,
       .pieces = {"data: {\"id\":\"c-9\",\"model\":\"gpt-test-2024\",\"choices\":[{\"index\":0,"
                  "\"delta\":{\"role\":\"assistant\",\"content\":\"There \"}}]}\n\n",
                  ": keep-alive comment\n\ndata: {\"id\":\"c-9\",\"choices\":[{\"index\":0,"
                  "\"delta\":{\"content\":\"are 3\"}}]}\n",
                  "\ndata: {\"id\":\"c-9\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" "
                  "orders.\"},"
                  "\"finish_reason\":null}]}\n\ndata: {\"id\":\"c-9\",\"choices\":[{\"index\":0,"
                  "\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n",
                  "data: {\"id\":\"c-9\",\"choices\":[],\"usage\":{\"prompt_tokens\":20,"
                  "\"completion_tokens\":4}}\n\ndata: [DONE]\n\n"},
       .gap = std::chrono::milliseconds(40)});
  llm::openai_client client({.base_url = srv.base_url(), .api_key = "k"});
  std::vector<std::string> deltas;
  llm::chat_result r;
  {
    genai::inference_span span({.provider = "openai", .model = "gpt-test", .stream = true});
    r = client.chat_stream(sample_request(), [&](std::string_view d) {
      span.chunk();
      deltas.emplace_back(d);
    });
    llm::record_result(span, r);
  }
  REQUIRE(r.ok);
  CHECK(deltas == std::vector<std::string>{"There ", "are 3", " orders."});
  CHECK(r.content == "There are 3 orders.");
  CHECK(r.id == "c-9");
  CHECK(r.model == "gpt-test-2024");
  CHECK(r.finish_reasons == std::vector<std::string>{"stop"});
  CHECK(r.input_tokens == 20);
  CHECK(r.output_tokens == 4);
  const json body = json::parse(srv.requests().at(0).body);
  CHECK(body["stream"] == true);
  CHECK(body["stream_options"]["include_usage"] == true);
  CHECK(srv.requests().at(0).header("Accept") == "text/event-stream");

  REQUIRE(tracing.force_flush());
  const auto s = mem->find("chat gpt-test");
  REQUIRE(s);
  const double ttfc = std::get<double>(*s->attr("gen_ai.response.time_to_first_chunk"));
  CHECK(ttfc > 0);
  // The span covers the whole stream: three gaps of 40 ms came after the first chunk.
  CHECK(static_cast<double>(s->duration_ns()) / 1e9 >= ttfc + 0.110);
  CHECK(int_attr(*s, "gen_ai.usage.output_tokens") == 4);
  CHECK(std::get<bool>(*s->attr("gen_ai.request.stream")));
}

TEST_CASE("streaming: an HTTP error is read from the body, not streamed") {
  fake_server srv;
  srv.push({.status = 401, .body = R"({"error":{"message":"Incorrect API key provided"}})"});
  llm::openai_client client({.base_url = srv.base_url(), .api_key = "bad"});
  bool called = false;
  const auto r = client.chat_stream(sample_request(), [&](std::string_view) { called = true; });
  CHECK_FALSE(r.ok);
  CHECK_FALSE(called);
  CHECK(r.error_type == "401");
  CHECK(r.error.find("Incorrect API key") != std::string::npos);
}

TEST_CASE("server_of: server.address and server.port of a base URL") {
  CHECK(llm::server_of("https://api.openai.com/v1").address == "api.openai.com");
  CHECK(llm::server_of("https://api.openai.com/v1").port == 443);
  CHECK(llm::server_of("http://localhost:8080/v1").address == "localhost");
  CHECK(llm::server_of("http://localhost:8080/v1").port == 8080);
  CHECK(llm::server_of("http://[::1]:11434").address == "::1");
  CHECK(llm::server_of("http://[::1]:11434").port == 11434);
  CHECK(llm::server_of("http://user:pw@host/x").address == "host");
  CHECK(llm::server_of("http://user:pw@host/x").port == 80);
}
