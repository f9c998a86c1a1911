// SPDX-License-Identifier: MIT
// agentrace 0.1.0: single-header edition of include/agentrace/http/client.hpp, include/agentrace/llm/openai.hpp.
// Generated — do not edit. Made by scripts/amalgamate.py from the headers under include/;
// change those and run `python3 scripts/amalgamate.py`.
// Builds on <agentrace/agentrace.hpp>: keep that single header beside this one.
#pragma once

// amalgamated: include/agentrace/http/client.hpp
// SPDX-License-Identifier: MIT
// The one HTTP client (libcurl) behind the OTLP/HTTP exporter, the OpenAI-compatible chat client
// and the eval judge. Part of the optional target agentrace::http (links libcurl and zlib).
// Blocking, one connection kept alive per client object; use one client per thread.

#include <curl/curl.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentrace/agentrace.hpp>

namespace agentrace::http {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// TLS settings (the OTEL_EXPORTER_OTLP_CERTIFICATE family maps onto these).
struct tls_options {
  std::string ca_file{};           // PEM bundle to verify the server with (empty: system default)
  std::string client_cert_file{};  // PEM client certificate for mTLS
  std::string client_key_file{};   // PEM client key for mTLS
};

struct request {
  std::string method = "POST";
  std::string url{};
  header_list headers{};  // e.g. {"Content-Type", "application/json"}; never logged
  std::string body{};
  bool gzip = false;    // compress the body and send Content-Encoding: gzip
  std::chrono::milliseconds timeout{10000};  // whole request; 0 = no limit
  std::size_t max_response_bytes = 4u << 20;  // OTLP: clients MUST limit responses (4 MiB)
};

/// What a transport failure was, for retry decisions.
enum class transport_error : std::uint8_t {
  none = 0,     // a response arrived (any status)
  connect,      // could not connect / resolve (retryable)
  timeout,      // the timeout passed (retryable within the caller's deadline)
  dropped,      // connection closed without a full response (retryable)
  too_large,    // response body over max_response_bytes (not retryable)
  other         // anything else (bad URL, TLS, ...)
};

struct response {
  long status = 0;                  // HTTP status, 0 when no response arrived
  header_list headers{};              // names lowercased
  std::string body{};
  transport_error error = transport_error::none;
  std::string error_message{};        // curl's description; never contains request headers

  bool ok() const noexcept { return error == transport_error::none && status >= 200 && status < 300; }
  /// The first header named `name` (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          }))
        return std::string_view(v);
    return std::nullopt;
  }
};

/// gzip-compresses `in` (RFC 1952). Throws std::runtime_error if zlib fails.
inline std::string gzip_compress(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("agentrace: zlib deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("agentrace: zlib deflate failed");
  out.resize(zs.total_out);
  return out;
}

namespace detail {
inline void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}
}  // namespace detail

/// A blocking HTTP client over one libcurl easy handle (connection reuse / keep-alive).
/// Not thread-safe: one client per thread.
class client {
 public:
  explicit client(tls_options tls = {}, std::string user_agent = std::string("agentrace/") +
                                                                  AGENTRACE_VERSION_STRING)
      : tls_(std::move(tls)), user_agent_(std::move(user_agent)) {
    detail::global_init_once();
    curl_ = curl_easy_init();
    if (!curl_) throw std::runtime_error("agentrace: curl_easy_init failed");
  }
  ~client() {
    if (curl_) curl_easy_cleanup(curl_);
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  const std::string& user_agent() const noexcept { return user_agent_; }

  response send(const request& req) {
    response res;
    curl_easy_reset(curl_);  // keeps the connection cache
    std::string body_storage;
    const std::string* body = &req.body;
    curl_slist* hdrs = nullptr;
    for (const auto& [k, v] : req.headers) hdrs = curl_slist_append(hdrs, (k + ": " + v).c_str());
    if (req.gzip) {
      body_storage = gzip_compress(req.body);
      body = &body_storage;
      hdrs = curl_slist_append(hdrs, "Content-Encoding: gzip");
    }
    hdrs = curl_slist_append(hdrs, "Expect:");  // no 100-continue round trip
    sink s{&res, req.max_response_bytes, false};
    curl_easy_setopt(curl_, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_USERAGENT, user_agent_.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L);
    if (req.method == "POST") {
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    } else if (req.method != "GET") {
      curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    if (req.timeout.count() > 0) {
      curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
      curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.timeout.count()));
    }
    if (!tls_.ca_file.empty()) curl_easy_setopt(curl_, CURLOPT_CAINFO, tls_.ca_file.c_str());
    if (!tls_.client_cert_file.empty())
      curl_easy_setopt(curl_, CURLOPT_SSLCERT, tls_.client_cert_file.c_str());
    if (!tls_.client_key_file.empty())
      curl_easy_setopt(curl_, CURLOPT_SSLKEY, tls_.client_key_file.c_str());
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &client::on_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &client::on_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &s);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &res.status);
    if (rc != CURLE_OK) {
      res.error_message = curl_easy_strerror(rc);
      switch (rc) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY: res.error = transport_error::connect; break;
        case CURLE_OPERATION_TIMEDOUT: res.error = transport_error::timeout; break;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE: res.error = transport_error::dropped; break;
        case CURLE_WRITE_ERROR:
          res.error = s.too_large ? transport_error::too_large : transport_error::other;
          break;
        default: res.error = transport_error::other;
      }
      if (res.error != transport_error::too_large) res.status = 0;
    }
    return res;
  }

 private:
  struct sink {
    response* res;
    std::size_t limit;
    bool too_large;
  };
  static std::size_t on_body(char* p, std::size_t size, std::size_t n, void* ud) {
    auto* s = static_cast<sink*>(ud);
    const std::size_t len = size * n;
    if (s->res->body.size() + len > s->limit) {
      s->too_large = true;
      return 0;  // makes curl fail with CURLE_WRITE_ERROR
    }
    s->res->body.append(p, len);
    return len;
  }
  static std::size_t on_header(char* p, std::size_t size, std::size_t n, void* ud) {
    auto* s = static_cast<sink*>(ud);
    const std::size_t len = size * n;
    std::string_view line(p, len);
    if (line.rfind("HTTP/", 0) == 0) s->res->headers.clear();  // a new response (after 100 etc.)
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string k(line.substr(0, colon));
      for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
        v.remove_suffix(1);
      s->res->headers.emplace_back(std::move(k), std::string(v));
    }
    return len;
  }

  CURL* curl_{nullptr};
  tls_options tls_;
  std::string user_agent_{};
};

}  // namespace agentrace::http
// amalgamated: include/agentrace/llm/openai.hpp
// SPDX-License-Identifier: MIT
// The one OpenAI-compatible chat-completions client, shared by the example agent and the eval
// judge. Uses agentrace::http::client (target agentrace::http). It records no spans itself:
// callers wrap it in GenAI spans (semconv) so the span carries what they need.

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>


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
