// SPDX-License-Identifier: MIT
// The one HTTP client (libcurl) behind the OTLP/HTTP exporter, the OpenAI-compatible chat client
// and the eval judge. Part of the optional target agentrace::http (links libcurl and zlib).
// Blocking, one connection kept alive per client object; use one client per thread (cancel() is
// the one call another thread may make).
#pragma once

#include <curl/curl.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrace/detail/ascii.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/version.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

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
  bool gzip = false;                          // compress the body and send Content-Encoding: gzip
  std::chrono::milliseconds timeout{10000};   // whole request; 0 = no limit
  std::size_t max_response_bytes = 4u << 20;  // OTLP: clients MUST limit responses (4 MiB)
  /// When set, a 2xx response body goes to this callback as it arrives (server-sent events)
  /// instead of into response::body; returning false aborts the transfer. Other statuses are
  /// still stored in response::body, so the caller can read the error.
  std::function<bool(std::string_view)> on_body{};
};

/// What a transport failure was, for retry decisions.
enum class transport_error : std::uint8_t {
  none = 0,   // a response arrived (any status)
  connect,    // could not connect / resolve (retryable)
  timeout,    // the timeout passed (retryable within the caller's deadline)
  dropped,    // connection closed without a full response (retryable)
  too_large,  // response body over max_response_bytes (not retryable)
  other,      // anything else (bad URL, TLS, ...)
  cancelled   // client::cancel() was called (from another thread)
};

struct response {
  long status = 0;        // HTTP status, 0 when no response arrived
  header_list headers{};  // names lowercased
  std::string body{};
  transport_error error = transport_error::none;
  std::string error_message{};  // curl's description; never contains request headers

  bool ok() const noexcept {
    return error == transport_error::none && status >= 200 && status < 300;
  }
  /// The first header named `name` (case-insensitive).
  std::optional<std::string_view> header(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (agentrace::detail::iequals(k, name)) return std::string_view(v);
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
  explicit client(tls_options tls = {},
                  std::string user_agent = std::string("agentrace/") + AGENTRACE_VERSION_STRING)
      : tls_(std::move(tls)), user_agent_(std::move(user_agent)) {
    detail::global_init_once();
    curl_ = curl_easy_init();
    multi_ = curl_multi_init();
    if (!curl_ || !multi_) {
      if (curl_) curl_easy_cleanup(curl_);
      if (multi_) curl_multi_cleanup(multi_);
      throw std::runtime_error("agentrace: curl_easy_init / curl_multi_init failed");
    }
  }
  ~client() {
    curl_easy_cleanup(curl_);
    curl_multi_cleanup(multi_);  // closes the kept-alive connections
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  const std::string& user_agent() const noexcept { return user_agent_; }

  /// Thread-safe: makes the send() in progress return at once with transport_error::cancelled,
  /// and every later one too until resume(). For shutdown deadlines (a request can otherwise
  /// block for its whole timeout against a server that never answers).
  void cancel() noexcept {
    cancelled_.store(true, std::memory_order_release);
    curl_multi_wakeup(multi_);  // documented as callable from any thread
  }
  /// Undoes cancel().
  void resume() noexcept { cancelled_.store(false, std::memory_order_release); }

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
    sink s{&res, req.max_response_bytes, false, req.on_body ? &req.on_body : nullptr, 0, false};
    char errbuf[CURL_ERROR_SIZE] = {};
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
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, errbuf);  // details (TLS...), never headers
    const CURLcode rc = perform();
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, nullptr);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &res.status);
    if (rc != CURLE_OK) {
      res.error_message = rc == CURLE_ABORTED_BY_CALLBACK ? "cancelled by client::cancel()"
                                                          : curl_easy_strerror(rc);
      if (rc != CURLE_ABORTED_BY_CALLBACK && errbuf[0])
        res.error_message += std::string(": ") + errbuf;
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
          if (s.aborted) res.error_message = "aborted by the body callback";
          break;
        case CURLE_ABORTED_BY_CALLBACK: res.error = transport_error::cancelled; break;
        default: res.error = transport_error::other;
      }
      if (res.error != transport_error::too_large) res.status = 0;
    }
    return res;
  }

 private:
  // curl_easy_perform, but through our own multi handle so that cancel() can wake it up; the
  // multi handle keeps the connection cache, so connections are still reused across sends.
  CURLcode perform() {
    if (cancelled_.load(std::memory_order_acquire)) return CURLE_ABORTED_BY_CALLBACK;
    if (curl_multi_add_handle(multi_, curl_) != CURLM_OK) return CURLE_FAILED_INIT;
    CURLcode rc = CURLE_FAILED_INIT;
    for (;;) {
      int running = 0;
      if (curl_multi_perform(multi_, &running) != CURLM_OK) break;
      bool finished = false;
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi_, &left))
        if (m->msg == CURLMSG_DONE && m->easy_handle == curl_) {
          rc = m->data.result;
          finished = true;
        }
      if (finished || running == 0) break;
      if (cancelled_.load(std::memory_order_acquire) ||
          curl_multi_poll(multi_, nullptr, 0, 1000, nullptr) != CURLM_OK ||
          cancelled_.load(std::memory_order_acquire)) {
        rc = CURLE_ABORTED_BY_CALLBACK;
        break;
      }
    }
    curl_multi_remove_handle(multi_, curl_);
    return rc;
  }

  struct sink {
    response* res;
    std::size_t limit;
    bool too_large;
    const std::function<bool(std::string_view)>* stream;  // request::on_body, if set
    long status;   // of the response being received (from its status line)
    bool aborted;  // the stream callback returned false
  };
  static std::size_t on_body(char* p, std::size_t size, std::size_t n, void* ud) {
    auto* s = static_cast<sink*>(ud);
    const std::size_t len = size * n;
    if (s->stream && s->status >= 200 && s->status < 300) {
      if ((*s->stream)(std::string_view(p, len))) return len;
      s->aborted = true;
      return 0;  // makes curl fail with CURLE_WRITE_ERROR
    }
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
    if (line.rfind("HTTP/", 0) == 0) {  // a new response (after 100 etc.)
      s->res->headers.clear();
      const std::size_t sp = line.find(' ');
      s->status =
          sp == std::string_view::npos ? 0 : std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    }
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string k = agentrace::detail::to_lower(line.substr(0, colon));
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
      v = agentrace::detail::trim_view(v);
      s->res->headers.emplace_back(std::move(k), std::string(v));
    }
    return len;
  }

  CURL* curl_{nullptr};
  CURLM* multi_{nullptr};
  std::atomic<bool> cancelled_{false};
  tls_options tls_;
  std::string user_agent_{};
};

/// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date (IMF-fixdate, RFC 850 or
/// asctime form). Returns the wait from `now` (0 for a date in the past); nullopt when the value
/// is neither.
inline std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view v,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) {
  v = agentrace::detail::trim_view(v);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::uint64_t secs = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec == std::errc::result_out_of_range || secs > 86400u * 365u) secs = 86400u * 365u;
    (void)p;
    return std::chrono::milliseconds(secs * 1000);
  }
  // An HTTP-date names its month and ends in a year or "GMT"; curl_getdate parses all three
  // forms (and more, which the check on letters below narrows down).
  if (std::none_of(v.begin(), v.end(),
                   [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
    return std::nullopt;
  const std::string s(v);
  const std::time_t t = curl_getdate(s.c_str(), nullptr);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  const auto when = std::chrono::system_clock::from_time_t(t);
  if (when <= now) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(when - now);
}

}  // namespace agentrace::http

AGENTRACE_DETAIL_VISIBILITY_END
