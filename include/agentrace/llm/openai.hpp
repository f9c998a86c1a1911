// SPDX-License-Identifier: MIT
// The one OpenAI-compatible chat-completions client, shared by the example agent and the eval
// judge. Uses agentrace::http::client (target agentrace::http). It records no spans itself:
// callers wrap it in GenAI spans (semconv) so the span carries what they need.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agentrace/config.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/genai.hpp"
#include "agentrace/http/client.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

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
  bool stream = false;       // "stream": true with usage in the last chunk (chat_stream sets it)
};

struct chat_result {
  bool ok = false;
  long http_status = 0;
  std::string error{};       // why it failed: HTTP status + server message, or transport error
  std::string error_type{};  // for error.type: the HTTP status code, "timeout", "connect", ...
  std::optional<std::chrono::milliseconds> retry_after{};  // the answer's Retry-After, if any
  std::string id{};
  std::string model{};    // the model that answered (response.model)
  std::string content{};  // choices[0].message.content
  std::vector<std::string> finish_reasons{};
  std::optional<std::int64_t> input_tokens{}, output_tokens{}, cached_input_tokens{},
      reasoning_tokens{};
};

struct openai_options {
  std::string base_url = "https://api.openai.com/v1";  // OPENAI_BASE_URL
  std::string api_key{};                               // OPENAI_API_KEY (sent as Bearer)
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
  for (const auto& m : r.messages)
    j["messages"].push_back({{"role", m.role}, {"content", m.content}});
  if (r.temperature) j["temperature"] = *r.temperature;
  if (r.max_tokens) j["max_tokens"] = *r.max_tokens;
  if (r.json_object) j["response_format"] = {{"type", "json_object"}};
  if (r.stream) {
    j["stream"] = true;
    j["stream_options"] = {{"include_usage", true}};
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline void parse_usage(const nlohmann::json& j, chat_result& out);

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
  parse_usage(j, out);
  return true;
}

/// Reads "usage" (prompt_tokens, completion_tokens, cached and reasoning details) into `out`.
inline void parse_usage(const nlohmann::json& j, chat_result& out) {
  auto int_at = [](const nlohmann::json& o, const char* k) -> std::optional<std::int64_t> {
    auto it = o.find(k);
    if (it == o.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
  };
  auto usage = j.find("usage");
  if (usage != j.end() && usage->is_object()) {
    out.input_tokens = int_at(*usage, "prompt_tokens");
    out.output_tokens = int_at(*usage, "completion_tokens");
    auto pd = usage->find("prompt_tokens_details");
    if (pd != usage->end() && pd->is_object())
      out.cached_input_tokens = int_at(*pd, "cached_tokens");
    auto cd = usage->find("completion_tokens_details");
    if (cd != usage->end() && cd->is_object())
      out.reasoning_tokens = int_at(*cd, "reasoning_tokens");
  }
}

/// Chat completions over HTTP (POST {base_url}/chat/completions). Not thread-safe: one client
/// per thread (it keeps its connection alive).
class openai_client {
 public:
  explicit openai_client(openai_options o = openai_options::from_env()) : opt_(std::move(o)) {}

  const openai_options& options() const noexcept { return opt_; }

  chat_result chat(const chat_request& r) {
    http::request req = make_request(r);
    req.body = chat_request_body(r);
    const http::response res = http_.send(req);
    chat_result out;
    if (!check_response(res, out)) return out;
    out.ok = parse_chat_response(res.body, out);
    return out;
  }

  /// A streamed chat completion ("stream": true): `on_delta` receives each piece of content as
  /// it arrives; the result holds the whole content, finish reasons and usage (asked for with
  /// stream_options.include_usage), like chat().
  chat_result chat_stream(const chat_request& r,
                          const std::function<void(std::string_view delta)>& on_delta) {
    chat_request sr = r;
    sr.stream = true;
    http::request req = make_request(sr);
    req.body = chat_request_body(sr);
    req.headers.emplace_back("Accept", "text/event-stream");
    chat_result out;
    std::string pending;  // an incomplete SSE line
    bool done = false, bad = false;
    std::vector<std::pair<std::size_t, std::string>> reasons;  // by choice index
    req.on_body = [&](std::string_view chunk) {
      pending.append(chunk);
      std::size_t start = 0, nl;
      while ((nl = pending.find('\n', start)) != std::string::npos) {
        std::string_view line(pending.data() + start, nl - start);
        start = nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.rfind("data:", 0) != 0) continue;  // comments, event:, id:, blank lines
        line.remove_prefix(5);
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        if (line == "[DONE]") {
          done = true;
          continue;
        }
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
          bad = true;
          continue;
        }
        stream_event(j, out, reasons, on_delta);
      }
      pending.erase(0, start);
      return true;
    };
    const http::response res = http_.send(req);
    if (!check_response(res, out)) return out;
    if (!out.error.empty()) return out;  // an error event inside the stream
    std::sort(reasons.begin(), reasons.end());
    for (auto& [i, fr] : reasons) out.finish_reasons.push_back(std::move(fr));
    if (bad && out.finish_reasons.empty()) {
      out.error = "stream has events that are not JSON objects";
      out.error_type = "invalid_response";
      return out;
    }
    if (!done && out.finish_reasons.empty()) {
      out.error = "stream ended before a finish reason or [DONE]";
      out.error_type = "incomplete_stream";
      return out;
    }
    out.ok = true;
    return out;
  }

 private:
  http::request make_request(const chat_request&) const {
    http::request req;
    std::string base = opt_.base_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    req.url = base + "/chat/completions";
    req.headers = {{"Content-Type", "application/json"}};
    if (!opt_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + opt_.api_key);
    for (const auto& h : opt_.extra_headers) req.headers.push_back(h);
    req.timeout = opt_.timeout;
    return req;
  }

  static void stream_event(const nlohmann::json& j, chat_result& out,
                           std::vector<std::pair<std::size_t, std::string>>& reasons,
                           const std::function<void(std::string_view)>& on_delta) {
    auto e = j.find("error");
    if (e != j.end() && e->is_object()) {
      out.error = "stream error";
      if (e->contains("message") && (*e)["message"].is_string())
        out.error += ": " + (*e)["message"].get<std::string>();
      out.error_type = e->contains("type") && (*e)["type"].is_string()
                           ? (*e)["type"].get<std::string>()
                           : std::string("stream_error");
      return;
    }
    if (out.id.empty() && j.contains("id") && j["id"].is_string())
      out.id = j["id"].get<std::string>();
    if (out.model.empty() && j.contains("model") && j["model"].is_string())
      out.model = j["model"].get<std::string>();
    auto choices = j.find("choices");
    if (choices != j.end() && choices->is_array()) {
      for (const auto& c : *choices) {
        if (!c.is_object()) continue;
        const std::size_t index = c.contains("index") && c["index"].is_number_unsigned()
                                      ? c["index"].get<std::size_t>()
                                      : 0;
        auto d = c.find("delta");
        if (index == 0 && d != c.end() && d->is_object() && d->contains("content") &&
            (*d)["content"].is_string()) {
          const auto& piece = (*d)["content"].get_ref<const std::string&>();
          if (!piece.empty()) {
            out.content += piece;
            if (on_delta) on_delta(piece);
          }
        }
        auto fr = c.find("finish_reason");
        if (fr != c.end() && fr->is_string()) reasons.emplace_back(index, fr->get<std::string>());
      }
    }
    parse_usage(j, out);
  }

  /// Transport errors and non-2xx statuses into `out` (false); true for a 2xx response.
  static bool check_response(const http::response& res, chat_result& out) {
    out.http_status = res.status;
    if (res.error != http::transport_error::none) {
      out.error = "transport: " + res.error_message;
      switch (res.error) {
        case http::transport_error::timeout: out.error_type = "timeout"; break;
        case http::transport_error::connect: out.error_type = "connect"; break;
        default: out.error_type = "transport";
      }
      return false;
    }
    if (res.status < 200 || res.status >= 300) {
      out.error_type = std::to_string(res.status);
      out.error = "HTTP " + std::to_string(res.status);
      if (auto ra = res.header("retry-after")) out.retry_after = http::parse_retry_after(*ra);
      const auto j = nlohmann::json::parse(res.body, nullptr, false);
      if (!j.is_discarded() && j.is_object()) {
        auto e = j.find("error");
        if (e != j.end() && e->is_object() && e->contains("message") && (*e)["message"].is_string())
          out.error += ": " + (*e)["message"].get<std::string>();
      }
      return false;
    }
    return true;
  }

  openai_options opt_;
  http::client http_;
};

/// server.address / server.port of a base URL ("https://api.openai.com/v1" -> api.openai.com,
/// 443). Port 0 when the URL has neither a port nor a known scheme.
struct server_endpoint {
  std::string address{};
  std::int64_t port = 0;
};
inline server_endpoint server_of(std::string_view url) {
  server_endpoint e;
  std::int64_t port = 0;
  const std::size_t scheme_end = url.find("://");
  if (scheme_end != std::string_view::npos) {
    const std::string_view scheme = url.substr(0, scheme_end);
    port = scheme == "https" ? 443 : scheme == "http" ? 80 : 0;
    url.remove_prefix(scheme_end + 3);
  }
  url = url.substr(0, url.find_first_of("/?#"));
  if (const std::size_t at = url.rfind('@'); at != std::string_view::npos)
    url.remove_prefix(at + 1);
  std::string_view host = url;
  if (!url.empty() && url.front() == '[') {  // [IPv6]:port
    const std::size_t close = url.find(']');
    host = url.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
    url.remove_prefix(close == std::string_view::npos ? url.size() : close + 1);
    if (!url.empty() && url.front() == ':')
      url.remove_prefix(1);
    else
      url = {};
  } else if (const std::size_t colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    url.remove_prefix(colon + 1);
  } else {
    url = {};
  }
  if (!url.empty()) {
    std::int64_t p = 0;
    const auto [ptr, ec] = std::from_chars(url.data(), url.data() + url.size(), p);
    if (ec == std::errc() && ptr == url.data() + url.size()) port = p;
  }
  e.address = std::string(host);
  e.port = port;
  return e;
}

/// gen_ai.usage.* of a result.
inline genai::token_usage usage_of(const chat_result& r) {
  return {.input_tokens = r.input_tokens,
          .output_tokens = r.output_tokens,
          .cache_read_input_tokens = r.cached_input_tokens,
          .cache_creation_input_tokens = std::nullopt,
          .reasoning_output_tokens = r.reasoning_tokens};
}

/// Records a result on a GenAI span: response id and model, usage and finish reasons; a failed
/// call as error.type (HTTP status "429", "timeout", "connect", ...) and status ERROR.
inline void record_result(genai::genai_span& s, const chat_result& r) {
  if (!r.ok) {
    s.fail(r.error_type, r.error);
    return;
  }
  s.response(r.id, r.model).usage(usage_of(r)).finish_reasons(r.finish_reasons);
}

}  // namespace agentrace::llm

AGENTRACE_DETAIL_VISIBILITY_END
