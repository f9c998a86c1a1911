// SPDX-License-Identifier: MIT
// The one HTTP client (libcurl) behind the OTLP/HTTP exporter, the OpenAI-compatible chat client
// and the eval judge. Part of the optional target agentrace::http (links libcurl and zlib).
// Blocking, one connection kept alive per client object; use one client per thread.
#pragma once

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

#include "agentrace/version.hpp"

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
