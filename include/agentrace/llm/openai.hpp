// SPDX-License-Identifier: MIT
// The one OpenAI-compatible chat-completions client, shared by the example agent and the eval
// judge. Uses agentrace::http::client (target agentrace::http). It records no spans itself:
// callers wrap it in GenAI spans (semconv) so the span carries what they need.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agentrace/config.hpp"
#include "agentrace/http/client.hpp"

namespace agentrace::llm {

struct chat_message {
  std::string role{};  // "system", "user", "assistant"
  std::string content{};
};

struct chat_request {
  std::string model{};
  std::vector<chat_message> messages{};
  std::optional<double> temperature{};
  std::optional<std::int64_t> max_tokens{};
  bool json_object = false;  // response_format {"type":"json_object"}
};

struct chat_result {
  bool ok = false;
  long http_status = 0;
  std::string error{};       // why it failed: HTTP status + server message, or transport error
  std::string error_type{};  // for error.type: the HTTP status code, "timeout", "connect", ...
  std::string id{};
  std::string model{};       // the model that answered (response.model)
  std::string content{};     // choices[0].message.content
  std::vector<std::string> finish_reasons{};
  std::optional<std::int64_t> input_tokens{}, output_tokens{}, cached_input_tokens{}, reasoning_tokens{};
};

struct openai_options {
  std::string base_url = "https://api.openai.com/v1";  // OPENAI_BASE_URL
  std::string api_key{};                                 // OPENAI_API_KEY (sent as Bearer)
  std::chrono::milliseconds timeout{60000};
  http::header_list extra_headers{};

  /// OPENAI_BASE_URL and OPENAI_API_KEY over the defaults.
  static openai_options from_env() {
    openai_options o;
    if (auto v = agentrace::detail::env("OPENAI_BASE_URL")) o.base_url = *v;
    if (auto v = agentrace::detail::env("OPENAI_API_KEY")) o.api_key = *v;
    return o;
  }
};

/// Builds the JSON body of a chat-completions request.
inline std::string chat_request_body(const chat_request& r) {
  nlohmann::json j;
  j["model"] = r.model;
  j["messages"] = nlohmann::json::array();
  for (const auto& m : r.messages) j["messages"].push_back({{"role", m.role}, {"content", m.content}});
  if (r.temperature) j["temperature"] = *r.temperature;
  if (r.max_tokens) j["max_tokens"] = *r.max_tokens;
  if (r.json_object) j["response_format"] = {{"type", "json_object"}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// Parses a chat-completions response body into `out` (fields it finds). False + out.error when
/// the body is not the expected shape.
inline bool parse_chat_response(const std::string& body, chat_result& out) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    out.error = "response is not a JSON object";
    out.error_type = "invalid_response";
    return false;
  }
  auto str = [](const nlohmann::json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto int_at = [](const nlohmann::json& o, const char* k) -> std::optional<std::int64_t> {
    auto it = o.find(k);
    if (it == o.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  out.id = str(j, "id");
  out.model = str(j, "model");
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty()) {
    out.error = "response has no choices";
    out.error_type = "invalid_response";
    return false;
  }
  for (const auto& c : *choices) {
    if (!c.is_object()) continue;
    if (auto fr = str(c, "finish_reason"); !fr.empty()) out.finish_reasons.push_back(fr);
  }
  const auto& first = (*choices)[0];
  if (first.is_object()) {
    auto msg = first.find("message");
    if (msg != first.end() && msg->is_object()) out.content = str(*msg, "content");
  }
  auto usage = j.find("usage");
  if (usage != j.end() && usage->is_object()) {
    out.input_tokens = int_at(*usage, "prompt_tokens");
    out.output_tokens = int_at(*usage, "completion_tokens");
    auto pd = usage->find("prompt_tokens_details");
    if (pd != usage->end() && pd->is_object()) out.cached_input_tokens = int_at(*pd, "cached_tokens");
    auto cd = usage->find("completion_tokens_details");
    if (cd != usage->end() && cd->is_object()) out.reasoning_tokens = int_at(*cd, "reasoning_tokens");
  }
  return true;
}

/// Chat completions over HTTP (POST {base_url}/chat/completions). Not thread-safe: one client
/// per thread (it keeps its connection alive).
class openai_client {
 public:
  explicit openai_client(openai_options o = openai_options::from_env()) : opt_(std::move(o)) {}

  const openai_options& options() const noexcept { return opt_; }

  chat_result chat(const chat_request& r) {
    http::request req;
    std::string base = opt_.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    req.url = base + "/chat/completions";
    req.headers = {{"Content-Type", "application/json"}};
    if (!opt_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + opt_.api_key);
    for (const auto& h : opt_.extra_headers) req.headers.push_back(h);
    req.body = chat_request_body(r);
    req.timeout = opt_.timeout;
    const http::response res = http_.send(req);
    chat_result out;
    out.http_status = res.status;
    if (res.error != http::transport_error::none) {
      out.error = "transport: " + res.error_message;
      switch (res.error) {
        case http::transport_error::timeout: out.error_type = "timeout"; break;
        case http::transport_error::connect: out.error_type = "connect"; break;
        default: out.error_type = "transport";
      }
      return out;
    }
    if (res.status < 200 || res.status >= 300) {
      out.error_type = std::to_string(res.status);
      out.error = "HTTP " + std::to_string(res.status);
      const auto j = nlohmann::json::parse(res.body, nullptr, false);
      if (!j.is_discarded() && j.is_object()) {
        auto e = j.find("error");
        if (e != j.end() && e->is_object() && e->contains("message") && (*e)["message"].is_string())
          out.error += ": " + (*e)["message"].get<std::string>();
      }
      return out;
    }
    out.ok = parse_chat_response(res.body, out);
    return out;
  }

 private:
  openai_options opt_;
  http::client http_;
};

}  // namespace agentrace::llm
