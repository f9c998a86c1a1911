// SPDX-License-Identifier: MIT
// agentrace 0.1.0: single-header edition of include/agentrace/http/client.hpp, include/agentrace/llm/openai.hpp.
// Generated — do not edit. Made by scripts/amalgamate.py from the headers under include/;
// change those and run `python3 scripts/amalgamate.py`.
// Builds on <agentrace/agentrace.hpp>: keep that single header beside this one.
// Builds on <agentrace/span.hpp>: keep that single header beside this one.
#pragma once

// amalgamated: include/agentrace/http/client.hpp
// SPDX-License-Identifier: MIT
// The one HTTP client (libcurl) behind the OTLP/HTTP exporter, the OpenAI-compatible chat client
// and the eval judge. Part of the optional target agentrace::http (links libcurl and zlib).
// Blocking, one connection kept alive per client object; use one client per thread (cancel() is
// the one call another thread may make).

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

#include <agentrace/span.hpp>
#include <agentrace/agentrace.hpp>

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
// amalgamated: include/agentrace/llm/openai.hpp
// SPDX-License-Identifier: MIT
// The one OpenAI-compatible chat-completions client, shared by the example agent and the eval
// judge. Uses agentrace::http::client (target agentrace::http). It records no spans itself:
// callers wrap it in GenAI spans (semconv) so the span carries what they need.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

// amalgamated: include/agentrace/genai.hpp
// SPDX-License-Identifier: MIT
// GenAI spans shaped by the OpenTelemetry GenAI conventions (inference `chat {model}`,
// `invoke_agent {name}`, `execute_tool {name}`, `embeddings {model}`, `retrieval {source}`,
// `invoke_workflow {name}`), a database client span, and opt-in message content capture with
// redaction and a size limit that keeps the JSON valid. One include for genai/content.hpp,
// genai/redaction.hpp, genai/messages.hpp, genai/spans.hpp and db.hpp.
//
//   genai::agent_span agent({.name = "router"});
//   {
//     genai::inference_span chat({.provider = "openai", .model = "gpt-4o"});
//     auto r = client.chat(req);
//     chat.response(r.id, r.model).usage({.input_tokens = 12, .output_tokens = 3})
//         .finish_reasons(std::move(r.finish_reasons));
//     chat.input_messages(std::move(messages));   // recorded only when capture is on
//   }

// amalgamated: include/agentrace/db.hpp
// SPDX-License-Identifier: MIT
// Database client spans shaped by the OpenTelemetry database conventions, and the small SQL
// reader behind them: the operation and tables of a SQL text, its summary, and the text with its
// literals replaced by `?`.
//
//   agentrace::db_span q({.system = "sqlite", .namespace_ = "shop"});
//   q.query("SELECT * FROM orders WHERE id = 42");   // name "SELECT orders", text "... id = ?"
//   q.returned_rows(1);

#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// amalgamated: include/agentrace/genai/content.hpp
// SPDX-License-Identifier: MIT
// Content capture settings of GenAI spans: whether message content is recorded, the per-value
// size limit and the redactor, from code or from the environment.

#include <atomic>
#include <cctype>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

// amalgamated: include/agentrace/genai/redaction.hpp
// SPDX-License-Identifier: MIT
// The default redactor of GenAI content: masks API keys, bearer and Basic credentials,
// password-style assignments (plain, quoted and JSON, also JSON inside a string), payment card
// numbers (Luhn-checked) and email addresses in a string, in place.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

namespace detail {

struct redaction {
  std::size_t begin, end;
  std::string_view mask;
};

// ASCII classes (locale-independent, inlined: the redactor scans every content byte).
inline bool is_alpha(unsigned char c) noexcept { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
inline bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_word(unsigned char c) noexcept { return is_alpha(c) || is_digit(c) || c == '_'; }
inline bool is_key_char(unsigned char c) noexcept { return is_word(c) || c == '-'; }
inline bool is_upper_or_digit(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || is_digit(c);
}
inline bool is_token_char(unsigned char c) noexcept {
  return is_word(c) || c == '-' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
}
inline bool is_email_local(unsigned char c) noexcept {
  return is_word(c) || c == '.' || c == '%' || c == '+' || c == '-';
}
inline bool is_email_domain(unsigned char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '.' || c == '-';
}
inline bool is_value_char(unsigned char c) noexcept {
  // A secret value in `password=...`: stops at whitespace, quotes and JSON/markup structure, so
  // masking it keeps JSON text valid.
  return c > 0x20 && c != '"' && c != '\'' && c != '`' && c != ',' && c != ';' && c != '{' &&
         c != '}' && c != '[' && c != ']' && c != '<' && c != '>' && c != '\\';
}
inline bool starts_at(std::string_view s, std::size_t i, std::string_view w) noexcept {
  return s.size() - i >= w.size() && s.compare(i, w.size(), w) == 0;
}

/// Length of a run of chars satisfying `pred` from i.
template <class Pred>
std::size_t run(std::string_view s, std::size_t i, Pred pred) noexcept {
  std::size_t n = 0;
  while (i + n < s.size() && pred(static_cast<unsigned char>(s[i + n]))) ++n;
  return n;
}

/// True if `t` is base64 whose decoded bytes are printable ASCII with a ':' (HTTP Basic's
/// "user:password"), so that "Basic knowledge" and the like are left alone.
inline bool is_basic_credentials(std::string_view t) noexcept {
  while (!t.empty() && t.back() == '=') t.remove_suffix(1);
  if (t.size() < 4) return false;
  std::uint32_t acc = 0;
  int bits = 0;
  bool colon = false;
  for (const char ch : t) {
    const auto c = static_cast<unsigned char>(ch);
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else
      return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      const auto byte = static_cast<unsigned char>((acc >> bits) & 0xFF);
      if (byte < 0x20 || byte > 0x7E) return false;
      colon = colon || byte == ':';
    }
  }
  return colon;
}

/// The value of `key: value` / `key=value` / `"key": "value"` starting at j, just after the key
/// word: the key's closing quote (`"`, `'`, or `\"` inside JSON-escaped text), `:` or `=`, then a
/// quoted value (masked up to its closing quote, escapes skipped) or a bare one (up to
/// whitespace or JSON structure). A bare value after a JSON key is masked with a JSON string, so
/// the document stays valid; JSON literals (null, true, false) are not secrets. For
/// `authorization`, a scheme word (Basic, Bearer, ...) is kept.
inline bool match_assignment(std::string_view s, std::size_t j, bool has_scheme, redaction& r) {
  const std::size_t n = s.size();
  bool json_key = false;
  if (j < n && (s[j] == '"' || s[j] == '\'')) {
    json_key = s[j] == '"';
    ++j;
  } else if (j + 1 < n && s[j] == '\\' && s[j + 1] == '"') {
    j += 2;
  }
  while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
  if (j >= n || (s[j] != '=' && s[j] != ':')) return false;
  ++j;
  while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
  std::size_t b = j, e = j;
  bool quoted = true;
  if (j < n && (s[j] == '"' || s[j] == '\'')) {  // "value" or 'value'
    const char q = s[j];
    b = e = j + 1;
    while (e < n && s[e] != q) e += (s[e] == '\\' && q == '"') ? 2 : 1;
    e = std::min(e, n);
  } else if (j + 1 < n && s[j] == '\\' && s[j + 1] == '"') {  // \"value\" (JSON inside a string)
    b = j + 2;
    const std::size_t close = s.find("\\\"", b);
    e = close == std::string_view::npos ? n : close;
  } else {
    quoted = false;
    e = j + run(s, j, is_value_char);
  }
  if (has_scheme) {  // keep "Basic " / "Bearer " and mask what follows
    const std::size_t w = run(s, b, is_alpha);
    const std::size_t limit = quoted ? e : n;
    std::size_t k = b + w;
    if (w > 0 && k < limit && (s[k] == ' ' || s[k] == '\t')) {
      while (k < limit && (s[k] == ' ' || s[k] == '\t')) ++k;
      b = k;
      if (!quoted) e = b + run(s, b, is_token_char);
    }
  }
  if (e <= b) return false;
  const std::string_view v = s.substr(b, e - b);
  if (!quoted && json_key) {
    if (v == "null" || v == "true" || v == "false") return false;
    r = {b, e, "\"[REDACTED]\""};
    return true;
  }
  r = {b, e, "[REDACTED]"};
  return true;
}

/// A payment card number starting at word start i: 13 to 19 digits, bare or in groups of 4-6
/// split by one kind of separator (' ' or '-'; the last group 3-6), the first digit 2-6 (the
/// card networks' ranges), and a valid Luhn check digit, so that ordinary numbers (ids,
/// timestamps, phone numbers) are left alone.
inline bool match_card(std::string_view s, std::size_t i, redaction& r) noexcept {
  const std::size_t n = s.size();
  unsigned char digits[19];
  std::size_t count = 0, group = 0, k = i;
  char sep = 0;
  while (k < n) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (is_digit(c)) {
      if (count == 19) return false;
      digits[count++] = static_cast<unsigned char>(c - '0');
      ++group;
      ++k;
    } else if ((c == ' ' || c == '-') && (sep == 0 || sep == static_cast<char>(c)) && group >= 4 &&
               group <= 6 && k + 1 < n && is_digit(static_cast<unsigned char>(s[k + 1]))) {
      sep = static_cast<char>(c);
      group = 0;
      ++k;
    } else {
      break;
    }
  }
  if (k < n && is_word(static_cast<unsigned char>(s[k]))) return false;  // part of a longer word
  if (count < 13 || digits[0] < 2 || digits[0] > 6) return false;
  if (sep && (group < 3 || group > 6)) return false;
  unsigned sum = 0;
  for (std::size_t d = 0; d < count; ++d) {
    unsigned v = digits[count - 1 - d];
    if (d % 2 == 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  if (sum % 10 != 0) return false;
  r = {i, k, "[REDACTED:card]"};
  return true;
}

/// The secret starting at word start i, if any: its [begin, end) and mask.
inline bool match_secret(std::string_view s, std::size_t i, redaction& r) {
  const std::size_t n = s.size();
  const auto c = static_cast<unsigned char>(s[i]);
  auto key_after = [&](std::size_t prefix_len, std::size_t min_len, auto pred) -> bool {
    const std::size_t len = run(s, i + prefix_len, pred);
    if (len < min_len) return false;
    r = {i, i + prefix_len + len, "[REDACTED:api_key]"};
    return true;
  };
  switch (c) {  // case-sensitive key prefixes
    case 's':
    case 'p':
    case 'r':
      if (i + 2 < n && s[i + 1] == 'k' && s[i + 2] == '-') return key_after(3, 16, is_key_char);
      if (starts_at(s, i, "sk_live_") || starts_at(s, i, "sk_test_") || starts_at(s, i, "rk_live_"))
        return key_after(8, 10, is_key_char);
      break;
    case 'A':
      if (starts_at(s, i, "AKIA") || starts_at(s, i, "ASIA"))
        return key_after(4, 16, is_upper_or_digit);
      if (starts_at(s, i, "AIza")) return key_after(4, 30, is_key_char);
      break;
    case 'g':
      if (starts_at(s, i, "github_pat_")) return key_after(11, 20, is_key_char);
      if (i + 3 < n && s[i + 1] == 'h' &&
          std::string_view("psoru").find(s[i + 2]) != std::string_view::npos && s[i + 3] == '_')
        return key_after(4, 20, is_key_char);
      break;
    case 'x':
      if (starts_at(s, i, "xox") && i + 4 < n && s[i + 4] == '-')
        return key_after(5, 10, is_key_char);
      break;
    case 'e':
      if (starts_at(s, i, "eyJ")) {  // JWT: three base64url segments
        const std::size_t a = run(s, i, is_key_char);
        if (a >= 10 && i + a < n && s[i + a] == '.') {
          const std::size_t b = run(s, i + a + 1, is_key_char);
          if (b >= 10 && i + a + 1 + b < n && s[i + a + 1 + b] == '.') {
            r = {i, i + a + 2 + b + run(s, i + a + 2 + b, is_key_char), "[REDACTED:token]"};
            return true;
          }
        }
      }
      break;
    default: break;
  }
  const unsigned char lc = c | 0x20;
  if (lc == 'b' && agentrace::detail::istarts_with(s.substr(i), "bearer") && i + 6 < n &&
      (s[i + 6] == ' ' || s[i + 6] == '\t')) {
    std::size_t j = i + 6;
    while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
    const std::size_t t = run(s, j, is_token_char);
    if (t < 8) return false;
    r = {j, j + t, "[REDACTED]"};
    return true;
  }
  if (lc == 'b' && agentrace::detail::istarts_with(s.substr(i), "basic") && i + 5 < n &&
      (s[i + 5] == ' ' || s[i + 5] == '\t')) {
    // HTTP Basic credentials anywhere: base64 of "user:password".
    std::size_t j = i + 5;
    while (j < n && (s[j] == ' ' || s[j] == '\t')) ++j;
    const std::size_t t = run(s, j, is_token_char);
    if (!is_basic_credentials(s.substr(j, t))) return false;
    r = {j, j + t, "[REDACTED]"};
    return true;
  }
  if (lc != 'p' && lc != 'a' && lc != 's' && lc != 'c' && lc != 'r') return false;
  for (std::string_view w :
       {std::string_view("password"), std::string_view("passwd"), std::string_view("api_key"),
        std::string_view("api-key"), std::string_view("apikey"), std::string_view("secret"),
        std::string_view("access_token"), std::string_view("authorization"),
        std::string_view("auth_token"), std::string_view("client_secret"),
        std::string_view("refresh_token"), std::string_view("private_key")}) {
    if (static_cast<unsigned char>(w[0]) != lc ||
        !agentrace::detail::istarts_with(s.substr(i), w) ||
        (i + w.size() < n && is_word(static_cast<unsigned char>(s[i + w.size()]))))
      continue;
    return match_assignment(s, i + w.size(), w == "authorization", r);
  }
  return false;
}

inline void find_redactions(std::string_view s, std::vector<redaction>& out) {
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '@') {
      // email: local@domain.tld
      std::size_t b = i;
      while (b > 0 && is_email_local(static_cast<unsigned char>(s[b - 1]))) --b;
      std::size_t e = i + 1 + run(s, i + 1, is_email_domain);
      while (e > i + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;  // trailing punctuation
      const std::string_view domain = s.substr(i + 1, e - i - 1);
      const std::size_t dot = domain.rfind('.');
      if (b < i && dot != std::string_view::npos && dot > 0 && domain.size() - dot - 1 >= 2 &&
          std::all_of(domain.begin() + static_cast<std::ptrdiff_t>(dot) + 1, domain.end(),
                      [](char ch) { return is_alpha(static_cast<unsigned char>(ch)); }))
        out.push_back({b, e, "[REDACTED:email]"});
      ++i;
      continue;
    }
    if (!is_word(c)) {
      ++i;
      continue;
    }
    // The start of a word (the previous char is not a word char): secrets start only here.
    redaction r{};
    if (is_alpha(c) ? match_secret(s, i, r) : is_digit(c) && match_card(s, i, r)) {
      out.push_back(r);
      i = r.end;
      continue;
    }
    i += run(s, i, is_word);
  }
}

}  // namespace detail

/// Masks secrets in `s` in place: API keys (sk-..., sk_live_..., AKIA..., ghp_..., xox?-...,
/// AIza..., JWTs), bearer tokens (`Bearer xyz` -> `Bearer [REDACTED]`), HTTP Basic credentials,
/// the values of password / passwd / secret / api_key / access_token / authorization / ... keys
/// written `key=v`, `key: v`, `key: "v"`, `{"key": "v"}` or `{\"key\":\"v\"}` (JSON stays
/// valid), card numbers that pass the Luhn check (`[REDACTED:card]`) and email addresses.
inline void default_redactor(std::string& s) {
  std::vector<detail::redaction> found;
  detail::find_redactions(s, found);
  if (found.empty()) return;
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;  // the longer one wins
  });
  std::string out;
  out.reserve(s.size());
  std::size_t pos = 0;
  for (const auto& r : found) {
    if (r.begin < pos) continue;  // overlaps one already masked
    out.append(s, pos, r.begin - pos);
    out.append(r.mask);
    pos = r.end;
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

/// Runs on every content string before it is recorded; edits it in place.
using redactor_fn = std::function<void(std::string&)>;

/// Default per-value limit of a content attribute, in bytes of its JSON text.
inline constexpr std::size_t default_max_content_bytes = 32 * 1024;

/// How content capture is configured. Unset fields are filled from the environment:
/// OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT (true / SPAN_ONLY / SPAN_AND_EVENT turn
/// capture on; false / NO_CONTENT / EVENT_ONLY leave it off) and
/// AGENTRACE_GENAI_CONTENT_MAX_BYTES.
struct content_config {
  std::optional<bool> capture{};            // record gen_ai.input/output messages etc. Default off
  std::size_t max_value_bytes = 0;          // 0: env, else default_max_content_bytes
  redactor_fn redactor = default_redactor;  // empty: no redaction
  bool read_environment = true;
};

/// The settings in force (immutable once published).
struct content_settings {
  bool capture = false;
  std::size_t max_value_bytes = default_max_content_bytes;
  redactor_fn redactor{};
};

namespace detail {
inline std::atomic<const content_settings*> current_content{nullptr};
inline std::mutex content_mu;
// Every settings object ever published stays alive: readers take a plain pointer without a
// reference count, and configure() is rare (start-up, tests).
inline std::vector<std::unique_ptr<content_settings>>& content_store() {
  static std::vector<std::unique_ptr<content_settings>> v;
  return v;
}

inline std::optional<bool> capture_from_env() {
  auto v = agentrace::detail::env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
  if (!v) return std::nullopt;
  const std::string t = agentrace::detail::to_lower(agentrace::detail::trim_view(*v));
  if (t == "true" || t == "span_only" || t == "span_and_event") return true;
  if (t == "false" || t == "no_content") return false;
  if (t == "event_only") {
    agentrace::detail::diag(
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=EVENT_ONLY: agentrace records content "
        "on spans only; content is not captured");
    return false;
  }
  agentrace::detail::diag(
      "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT='{}' is not true, false, NO_CONTENT, "
      "SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT; content is not captured",
      t);
  return false;
}
}  // namespace detail

/// Publishes new content settings for the whole process (thread-safe; spans that are recording
/// content right now finish with the settings they started with).
inline const content_settings& configure_content(content_config c = {}) {
  auto s = std::make_unique<content_settings>();
  std::optional<bool> capture = c.capture;
  if (!capture && c.read_environment) capture = detail::capture_from_env();
  s->capture = capture.value_or(false);
  std::size_t max_bytes = c.max_value_bytes;
  if (max_bytes == 0 && c.read_environment)
    max_bytes = static_cast<std::size_t>(agentrace::detail::env_uint(
        "AGENTRACE_GENAI_CONTENT_MAX_BYTES", default_max_content_bytes));
  s->max_value_bytes = max_bytes ? max_bytes : default_max_content_bytes;
  s->redactor = std::move(c.redactor);
  std::lock_guard<std::mutex> lock(detail::content_mu);
  const content_settings* p = s.get();
  detail::content_store().push_back(std::move(s));
  detail::current_content.store(p, std::memory_order_release);
  return *p;
}

/// The content settings in force; the first call without configure_content() reads the
/// environment.
inline const content_settings& content() {
  if (const content_settings* p = detail::current_content.load(std::memory_order_acquire))
      [[likely]]
    return *p;
  {
    std::lock_guard<std::mutex> lock(detail::content_mu);
    if (const content_settings* p = detail::current_content.load(std::memory_order_acquire))
      return *p;
  }
  return configure_content();
}

/// True when message content is recorded on spans.
inline bool capture_content() { return content().capture; }

/// Applies the configured redactor to `s` (used for content and for error messages that may
/// echo user input, such as a database's error text).
inline void redact(std::string& s) {
  const auto& r = content().redactor;
  if (r && !s.empty()) r(s);
}

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/genai/spans.hpp
// SPDX-License-Identifier: MIT
// GenAI spans shaped by the OpenTelemetry GenAI conventions: inference `chat {model}`,
// `invoke_agent {name}`, `execute_tool {name}`, `embeddings {model}`, `retrieval {source}`,
// `invoke_workflow {name}`, with usage, finish reasons, errors and opt-in content.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// amalgamated: include/agentrace/genai/messages.hpp
// SPDX-License-Identifier: MIT
// Messages and parts in the schema of gen_ai.input.messages / gen_ai.output.messages /
// gen_ai.system_instructions, and their JSON: redacted and cut to the size limit so that the
// JSON stays valid.

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

/// The part types agentrace writes (discriminator "type").
enum class part_type : std::uint8_t { text, reasoning, tool_call, tool_call_response, uri };

/// One part of a message. Strings are owned; pass them with std::move to avoid copies.
struct part {
  part_type type = part_type::text;
  std::string content{};  // text/reasoning: the text; tool_call: arguments (JSON); tool_call_
                          // response: response (JSON or text); uri: the URI
  std::string id{};       // tool_call, tool_call_response: the call id
  std::string name{};     // tool_call: the tool name; uri: the modality (image, video, audio)

  static part text(std::string s) { return {part_type::text, std::move(s), {}, {}}; }
  static part reasoning(std::string s) { return {part_type::reasoning, std::move(s), {}, {}}; }
  static part tool_call(std::string id, std::string name, std::string arguments_json) {
    return {part_type::tool_call, std::move(arguments_json), std::move(id), std::move(name)};
  }
  static part tool_call_response(std::string id, std::string response) {
    return {part_type::tool_call_response, std::move(response), std::move(id), {}};
  }
  static part uri(std::string modality, std::string uri) {
    return {part_type::uri, std::move(uri), {}, std::move(modality)};
  }
};

/// A chat message (input) or output message (with finish_reason, required on output).
struct message {
  std::string role{};  // system, user, assistant, tool (or a custom role)
  std::vector<part> parts{};
  std::string finish_reason{};  // output messages: stop, length, content_filter, tool_call, error
  std::string name{};           // optional participant name

  static message user(std::string text) { return make("user", std::move(text)); }
  static message system(std::string text) { return make("system", std::move(text)); }
  static message assistant(std::string text, std::string finish_reason = {}) {
    message m = make("assistant", std::move(text));
    m.finish_reason = std::move(finish_reason);
    return m;
  }
  static message tool(std::string call_id, std::string response) {
    message m;
    m.role = "tool";
    m.parts.push_back(part::tool_call_response(std::move(call_id), std::move(response)));
    return m;
  }

 private:
  static message make(const char* role, std::string text) {
    message m;
    m.role = role;
    m.parts.push_back(part::text(std::move(text)));
    return m;
  }
};

namespace detail {

/// Appended inside a string cut by the size limit.
inline constexpr std::string_view truncation_marker = "…[truncated]";

/// Counts bytes instead of storing them (same interface as the output string).
struct byte_counter {
  std::size_t n = 0;
  void push_back(char) noexcept { ++n; }
  void append(const char* b, const char* e) noexcept { n += static_cast<std::size_t>(e - b); }
  void pop_back() noexcept { --n; }
  std::size_t size() const noexcept { return n; }
};

/// Writes one content leaf: whole when it fits in `cap` (+ the marker it would otherwise need),
/// else its first bytes up to `cap` and the marker, still one valid JSON string. A leaf holding
/// JSON (`raw`) is written as is when whole, as a string when cut. cap == npos: no limit.
template <class Sink>
void write_leaf(Sink& out, std::string_view s, bool raw, std::size_t cap) {
  const std::size_t m = truncation_marker.size();
  if (raw) {
    if (cap == std::string_view::npos || s.size() <= cap + m + 2) {
      agentrace::detail::append(out, s);
      return;
    }
  } else if (cap == std::string_view::npos) {
    agentrace::detail::write_json_string(out, s);
    return;
  }
  const auto whole = agentrace::detail::json_string_size(s, cap + m + 1);
  if (!raw && whole.complete && whole.bytes <= cap + m) {
    agentrace::detail::write_json_string(out, s);
    return;
  }
  // (json_string_size treats 0 as "no limit")
  const std::size_t keep = cap ? agentrace::detail::json_string_size(s, cap).code_points : 0;
  if (keep == 0) {
    out.push_back('"');
  } else {
    agentrace::detail::write_json_string(out, s, keep);
    out.pop_back();  // reopen the string to append the marker inside it
  }
  agentrace::detail::append(out, truncation_marker);
  out.push_back('"');
}

/// A leaf's JSON-text size when written whole.
inline std::size_t leaf_size(std::string_view s, bool raw) {
  return raw ? s.size() : agentrace::detail::json_string_size(s).bytes + 2;
}

/// True when a tool argument / response is JSON to embed as is (else it is written as a string).
inline bool is_json(std::string_view s) {
  return !s.empty() && nlohmann::json::accept(s.begin(), s.end());
}

template <class Sink>
void write_part(Sink& out, const part& p, bool raw, std::size_t cap) {
  using agentrace::detail::append;
  using agentrace::detail::write_json_string;
  switch (p.type) {
    case part_type::text:
    case part_type::reasoning:
      append(out, p.type == part_type::text ? "{\"type\":\"text\",\"content\":"
                                            : "{\"type\":\"reasoning\",\"content\":");
      write_leaf(out, p.content, false, cap);
      break;
    case part_type::tool_call:
      append(out, "{\"type\":\"tool_call\",");
      if (!p.id.empty()) {
        append(out, "\"id\":");
        write_json_string(out, p.id);
        out.push_back(',');
      }
      append(out, "\"name\":");
      write_json_string(out, p.name);
      if (!p.content.empty()) {
        append(out, ",\"arguments\":");
        write_leaf(out, p.content, raw, cap);
      }
      break;
    case part_type::tool_call_response:
      append(out, "{\"type\":\"tool_call_response\",");
      if (!p.id.empty()) {
        append(out, "\"id\":");
        write_json_string(out, p.id);
        out.push_back(',');
      }
      append(out, "\"response\":");
      write_leaf(out, p.content, raw, cap);
      break;
    case part_type::uri:
      append(out, "{\"type\":\"uri\",\"modality\":");
      write_json_string(out, p.name.empty() ? std::string_view("image") : std::string_view(p.name));
      append(out, ",\"uri\":");
      write_leaf(out, p.content, false, cap);
      break;
  }
  out.push_back('}');
}

/// Whether a part's content leaf is embedded JSON.
inline bool part_raw(const part& p) {
  return (p.type == part_type::tool_call || p.type == part_type::tool_call_response) &&
         is_json(p.content);
}

enum class doc_kind : std::uint8_t { input_messages, output_messages, system_instructions };

/// The items of a content document: messages, or parts (system instructions).
struct content_doc {
  doc_kind kind;
  std::vector<message>* messages = nullptr;
  std::vector<part>* parts = nullptr;
  std::vector<bool> raw;  // per part, in document order
  std::size_t first = 0;  // first item written (older items dropped when even the structure
  std::size_t last = 0;   // does not fit) ... one past the last item written
};

template <class Sink>
void write_doc(Sink& out, const content_doc& d, std::size_t cap) {
  using agentrace::detail::append;
  using agentrace::detail::write_json_string;
  out.push_back('[');
  std::size_t leaf = 0;
  if (d.kind == doc_kind::system_instructions) {
    for (std::size_t i = 0; i < d.parts->size(); ++i) {
      if (i >= d.first && i < d.last) {
        if (i > d.first) out.push_back(',');
        write_part(out, (*d.parts)[i], d.raw[leaf], cap);
      }
      ++leaf;
    }
  } else {
    for (std::size_t i = 0; i < d.messages->size(); ++i) {
      const message& m = (*d.messages)[i];
      const bool on = i >= d.first && i < d.last;
      if (on) {
        if (i > d.first) out.push_back(',');
        append(out, "{\"role\":");
        write_json_string(out, m.role);
        if (!m.name.empty()) {
          append(out, ",\"name\":");
          write_json_string(out, m.name);
        }
        append(out, ",\"parts\":[");
      }
      for (std::size_t k = 0; k < m.parts.size(); ++k, ++leaf) {
        if (!on) continue;
        if (k) out.push_back(',');
        write_part(out, m.parts[k], d.raw[leaf], cap);
      }
      if (on) {
        out.push_back(']');
        if (d.kind == doc_kind::output_messages) {
          append(out, ",\"finish_reason\":");
          write_json_string(out, m.finish_reason);
        }
        out.push_back('}');
      }
    }
  }
  out.push_back(']');
}

/// Leaf sizes (whole) of the items in [first, last).
inline void leaf_sizes(const content_doc& d, std::vector<std::size_t>& sizes) {
  sizes.clear();
  std::size_t leaf = 0;
  auto visit = [&](const part& p, bool on) {
    if (on) sizes.push_back(leaf_size(p.content, d.raw[leaf]));
    ++leaf;
  };
  if (d.kind == doc_kind::system_instructions) {
    for (std::size_t i = 0; i < d.parts->size(); ++i)
      visit((*d.parts)[i], i >= d.first && i < d.last);
  } else {
    for (std::size_t i = 0; i < d.messages->size(); ++i)
      for (const part& p : (*d.messages)[i].parts) visit(p, i >= d.first && i < d.last);
  }
}

/// Renders `d` in at most `limit` bytes when possible: contents are cut at a common cap (the
/// largest that fits: long contents shrink first, short ones stay whole); when the structure
/// alone is too large, the oldest input messages (or the last output items) are left out, and at
/// least one item is always kept. The result is always valid JSON.
inline std::string render_doc(content_doc& d, std::size_t limit) {
  const std::size_t items =
      d.kind == doc_kind::system_instructions ? d.parts->size() : d.messages->size();
  d.first = 0;
  d.last = items;
  // The common case, one pass: everything fits. Content is escaped straight into the value.
  std::string out;
  {
    std::size_t raw = 2;
    if (d.kind == doc_kind::system_instructions) {
      for (const part& p : *d.parts) raw += p.content.size() + p.id.size() + p.name.size() + 64;
    } else {
      for (const message& m : *d.messages) {
        raw += m.role.size() + m.name.size() + m.finish_reason.size() + 64;
        for (const part& p : m.parts) raw += p.content.size() + p.id.size() + p.name.size() + 64;
      }
    }
    out.reserve(std::min(raw, limit + 64));
    write_doc(out, d, std::string_view::npos);
    if (out.size() <= limit) return out;
    out.clear();
  }
  // A leaf of whole size s written with cap c takes at most min(s, c + mm) bytes (quotes and
  // marker included), and exactly min(s, mm) with c = 0.
  const std::size_t mm = truncation_marker.size() + 2;
  std::vector<std::size_t> sizes;
  for (;;) {
    leaf_sizes(d, sizes);
    byte_counter c0;
    write_doc(c0, d, 0);
    std::size_t cut_total = 0;
    for (std::size_t s : sizes) cut_total += std::min(s, mm);
    const std::size_t skeleton = c0.size() - cut_total;  // the structure without any leaf
    auto bound = [&](std::size_t cap) {
      std::size_t t = skeleton;
      for (std::size_t s : sizes) t += std::min(s, cap + mm);
      return t;
    };
    if (bound(0) <= limit || d.last - d.first <= 1) {
      std::size_t lo = 0, hi = 0;
      for (std::size_t s : sizes) hi = std::max(hi, s);
      while (lo < hi) {  // largest cap whose bound fits
        const std::size_t mid = lo + (hi - lo + 1) / 2;
        if (bound(mid) <= limit)
          lo = mid;
        else
          hi = mid - 1;
      }
      byte_counter exact;
      write_doc(exact, d, lo);
      out.reserve(exact.size());
      write_doc(out, d, lo);
      return out;
    }
    if (d.kind == doc_kind::input_messages)
      ++d.first;  // the oldest message goes first
    else
      --d.last;
  }
}

inline void redact_parts(std::vector<part>& parts, const redactor_fn& r) {
  if (!r) return;
  for (part& p : parts)
    if (!p.content.empty()) r(p.content);
}

inline void mark_raw(content_doc& d) {
  if (d.kind == doc_kind::system_instructions) {
    for (const part& p : *d.parts) d.raw.push_back(part_raw(p));
  } else {
    for (const message& m : *d.messages)
      for (const part& p : m.parts) d.raw.push_back(part_raw(p));
  }
}

}  // namespace detail

/// The JSON of gen_ai.input.messages for `msgs` under `settings`: redacted (in place, in the
/// moved-in strings) and limited to settings.max_value_bytes. Exposed for tests and exporters of
/// events; spans use inference_span::input_messages().
inline std::string input_messages_json(std::vector<message> msgs,
                                       const content_settings& settings = content()) {
  for (auto& m : msgs) detail::redact_parts(m.parts, settings.redactor);
  detail::content_doc d{detail::doc_kind::input_messages, &msgs, nullptr, {}};
  detail::mark_raw(d);
  return detail::render_doc(d, settings.max_value_bytes);
}
/// The JSON of gen_ai.output.messages (each message carries its finish_reason).
inline std::string output_messages_json(std::vector<message> msgs,
                                        const content_settings& settings = content()) {
  for (auto& m : msgs) detail::redact_parts(m.parts, settings.redactor);
  detail::content_doc d{detail::doc_kind::output_messages, &msgs, nullptr, {}};
  detail::mark_raw(d);
  return detail::render_doc(d, settings.max_value_bytes);
}
/// The JSON of gen_ai.system_instructions (an array of parts).
inline std::string system_instructions_json(std::vector<part> parts,
                                            const content_settings& settings = content()) {
  detail::redact_parts(parts, settings.redactor);
  detail::content_doc d{detail::doc_kind::system_instructions, nullptr, &parts, {}};
  detail::mark_raw(d);
  return detail::render_doc(d, settings.max_value_bytes);
}
/// One free-form content value (tool arguments / result, retrieval query): redacted; embedded as
/// is when it is JSON (`as_json`), else as a JSON string; limited like messages.
inline std::string content_value(std::string s, bool as_json,
                                 const content_settings& settings = content()) {
  if (settings.redactor && !s.empty()) settings.redactor(s);
  const bool raw = as_json && detail::is_json(s);
  if (!as_json) {
    // A plain string attribute: cut on a UTF-8 boundary, with the marker.
    if (s.size() <= settings.max_value_bytes) return s;
    const std::size_t keep = settings.max_value_bytes > detail::truncation_marker.size()
                                 ? settings.max_value_bytes - detail::truncation_marker.size()
                                 : 0;
    agentrace::detail::cut_utf8(s, keep, detail::truncation_marker);
    return s;
  }
  std::string out;
  if (detail::leaf_size(s, raw) <= settings.max_value_bytes) {
    detail::write_leaf(out, s, raw, std::string_view::npos);
    return out;
  }
  const std::size_t over = detail::truncation_marker.size() + 2;
  const std::size_t cap = settings.max_value_bytes > over ? settings.max_value_bytes - over : 0;
  detail::write_leaf(out, s, raw, cap);
  return out;
}

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

namespace gen_ai = semconv::gen_ai;

// ================================================================================================
// string arguments: literals stay pointers, runtime strings are copied once into the span
// ================================================================================================

/// A string for a span option: a literal (or static_string constant) is recorded as a pointer
/// without a copy; a std::string / std::string_view is viewed and copied once when recorded, so it
/// must outlive the constructor call it is passed to.
class string_arg {
 public:
  constexpr string_arg() noexcept {}  // NOLINT(modernize-use-equals-default): st_ needs its init
  template <std::size_t N>
  consteval string_arg(const char (&s)[N]) noexcept : st_(s), static_(true) {}  // NOLINT
  constexpr string_arg(static_string s) noexcept : st_(s), static_(true) {}     // NOLINT
  string_arg(std::string_view s) noexcept : rt_(s) {}                           // NOLINT
  string_arg(const std::string& s) noexcept : rt_(s) {}                         // NOLINT

  constexpr bool empty() const noexcept { return static_ ? st_.size() == 0 : rt_.empty(); }
  constexpr std::string_view view() const noexcept { return static_ ? st_.view() : rt_; }
  constexpr bool is_static() const noexcept { return static_; }
  constexpr static_string static_value() const noexcept { return st_; }

 private:
  static_string st_{""};
  std::string_view rt_{};
  bool static_ = false;
};

namespace detail {
/// Sets a string attribute from a string_arg (nothing when empty).
inline void put(scoped_span& s, const key<std::string>& k, const string_arg& v) {
  if (v.empty()) return;
  if (v.is_static())
    s.set(k, v.static_value());
  else
    s.set(k, v.view());
}
inline std::string join_name(std::string_view op, std::string_view target) {
  std::string n;
  n.reserve(op.size() + 1 + target.size());
  n.append(op);
  if (!target.empty()) {
    n.push_back(' ');
    n.append(target);
  }
  return n;
}
}  // namespace detail

// ================================================================================================
// spans
// ================================================================================================

/// Token usage of one model call (fields left unset are not recorded).
struct token_usage {
  std::optional<std::int64_t> input_tokens{};   // includes cached input tokens
  std::optional<std::int64_t> output_tokens{};  // includes reasoning tokens
  std::optional<std::int64_t> cache_read_input_tokens{};
  std::optional<std::int64_t> cache_creation_input_tokens{};
  std::optional<std::int64_t> reasoning_output_tokens{};
};

namespace detail {
inline constexpr span_site site_inference_client{"chat", span_kind::client, "", 0, ""};
inline constexpr span_site site_inference_internal{"chat", span_kind::internal, "", 0, ""};
inline constexpr span_site site_agent_internal{"invoke_agent", span_kind::internal, "", 0, ""};
inline constexpr span_site site_agent_client{"invoke_agent", span_kind::client, "", 0, ""};
inline constexpr span_site site_workflow{"invoke_workflow", span_kind::internal, "", 0, ""};
inline constexpr span_site site_tool{"execute_tool", span_kind::internal, "", 0, ""};
inline constexpr span_site site_embeddings{"embeddings", span_kind::client, "", 0, ""};
inline constexpr span_site site_retrieval{"retrieval", span_kind::client, "", 0, ""};

inline void put_server(scoped_span& s, const string_arg& address, std::int64_t port) {
  if (address.empty()) return;
  put(s, semconv::server::address, address);
  if (port > 0) s.set(semconv::server::port, port);
}
}  // namespace detail

/// What every GenAI span can record after it started: the response, usage, finish reasons,
/// content (opt-in) and errors. Derived types only add constructors (and streaming).
class genai_span : public scoped_span {
 public:
  using scoped_span::scoped_span;

  /// gen_ai.response.id and gen_ai.response.model (empty strings are skipped).
  genai_span& response(std::string id, std::string model = {}) {
    if (!is_recording()) return *this;
    if (!id.empty()) set(gen_ai::response_id, std::move(id));
    if (!model.empty()) set(gen_ai::response_model, std::move(model));
    return *this;
  }
  /// gen_ai.usage.* (unset fields are skipped).
  genai_span& usage(const token_usage& u) {
    if (!is_recording()) return *this;
    if (u.input_tokens) set(gen_ai::usage_input_tokens, *u.input_tokens);
    if (u.output_tokens) set(gen_ai::usage_output_tokens, *u.output_tokens);
    if (u.cache_read_input_tokens)
      set(gen_ai::usage_cache_read_input_tokens, *u.cache_read_input_tokens);
    if (u.cache_creation_input_tokens)
      set(gen_ai::usage_cache_creation_input_tokens, *u.cache_creation_input_tokens);
    if (u.reasoning_output_tokens)
      set(gen_ai::usage_reasoning_output_tokens, *u.reasoning_output_tokens);
    return *this;
  }
  /// gen_ai.response.finish_reasons (one per choice).
  genai_span& finish_reasons(std::vector<std::string> reasons) {
    if (is_recording() && !reasons.empty())
      set(gen_ai::response_finish_reasons, std::move(reasons));
    return *this;
  }
  /// Marks the operation failed: error.type (low-cardinality class: "429", "timeout",
  /// "SQLITE_ERROR", an exception type) and status ERROR with `description`.
  genai_span& fail(std::string error_type, std::string_view description = {}) {
    if (!is_recording()) return *this;
    set(semconv::error::type, error_type.empty() ? std::string("_OTHER") : std::move(error_type));
    error(description);
    return *this;
  }

  /// gen_ai.input.messages, when capture is on (otherwise the strings are just released).
  genai_span& input_messages(std::vector<message> msgs) {
    if (is_recording() && capture_content())
      set(gen_ai::input_messages, input_messages_json(std::move(msgs)));
    return *this;
  }
  /// gen_ai.output.messages, when capture is on.
  genai_span& output_messages(std::vector<message> msgs) {
    if (is_recording() && capture_content())
      set(gen_ai::output_messages, output_messages_json(std::move(msgs)));
    return *this;
  }
  /// gen_ai.system_instructions, when capture is on.
  genai_span& system_instructions(std::vector<part> parts) {
    if (is_recording() && capture_content())
      set(gen_ai::system_instructions, system_instructions_json(std::move(parts)));
    return *this;
  }
};

/// Options of an inference span (`{operation} {model}`).
struct inference_options {
  string_arg provider{};  // gen_ai.provider.name (required): "openai", ... or a custom lowercase id
  string_arg model{};     // gen_ai.request.model; the span name is "{operation} {model}"
  static_string operation = gen_ai::operation_name_values::chat;  // chat, text_completion, ...
  string_arg server_address{};
  std::int64_t server_port = 0;
  string_arg conversation_id{};
  bool stream = false;                 // sets gen_ai.request.stream = true
  span_kind kind = span_kind::client;  // internal for a model running in-process
};

/// An LLM call: `chat gpt-4o`, kind CLIENT. For a streamed response, call chunk() as each chunk
/// arrives: the first call records gen_ai.response.time_to_first_chunk; the span covers the whole
/// stream (end it after the last chunk).
class inference_span : public genai_span {
 public:
  explicit inference_span(const inference_options& o)
      : genai_span(o.kind == span_kind::internal ? &detail::site_inference_internal
                                                 : &detail::site_inference_client) {
    init(o);
  }
  inference_span(const inference_options& o, const span_context& parent)
      : genai_span(o.kind == span_kind::internal ? &detail::site_inference_internal
                                                 : &detail::site_inference_client,
                   parent) {
    init(o);
  }

  /// A chunk of a streamed response arrived. The first call records the time to first chunk.
  inference_span& chunk() {
    if (first_chunk_seen_ || !is_recording()) return *this;
    first_chunk_seen_ = true;
    const std::chrono::duration<double> d = std::chrono::steady_clock::now() - start_;
    set(gen_ai::response_time_to_first_chunk, d.count());
    return *this;
  }
  bool first_chunk_seen() const noexcept { return first_chunk_seen_; }

 private:
  void init(const inference_options& o) {
    if (!is_recording()) return;
    start_ = std::chrono::steady_clock::now();
    set(gen_ai::operation_name, o.operation);
    detail::put(*this, gen_ai::provider_name, o.provider);
    detail::put(*this, gen_ai::request_model, o.model);
    detail::put_server(*this, o.server_address, o.server_port);
    detail::put(*this, gen_ai::conversation_id, o.conversation_id);
    if (o.stream) set(gen_ai::request_stream, true);
    set_name(detail::join_name(o.operation.view(), o.model.view()));
  }
  std::chrono::steady_clock::time_point start_{};
  bool first_chunk_seen_ = false;
};

/// Options of an agent invocation (`invoke_agent {name}`).
struct agent_options {
  string_arg name{};  // gen_ai.agent.name; the span is "invoke_agent" when empty
  string_arg id{};
  string_arg description{};
  string_arg version{};
  string_arg provider{};  // gen_ai.provider.name, when a provider runs the agent
  string_arg model{};     // gen_ai.request.model, when the agent uses one model
  string_arg conversation_id{};
  string_arg data_source_id{};
  string_arg server_address{};
  std::int64_t server_port = 0;
  span_kind kind = span_kind::internal;  // client for a remote agent service
};

/// An agent invocation: `invoke_agent {name}`, INTERNAL for an in-process agent.
class agent_span : public genai_span {
 public:
  explicit agent_span(const agent_options& o) : genai_span(site(o)) { init(o); }
  agent_span(const agent_options& o, const span_context& parent) : genai_span(site(o), parent) {
    init(o);
  }

 private:
  static const span_site* site(const agent_options& o) noexcept {
    return o.kind == span_kind::client ? &detail::site_agent_client : &detail::site_agent_internal;
  }
  void init(const agent_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::invoke_agent);
    detail::put(*this, gen_ai::agent_name, o.name);
    detail::put(*this, gen_ai::agent_id, o.id);
    detail::put(*this, gen_ai::agent_description, o.description);
    detail::put(*this, gen_ai::agent_version, o.version);
    detail::put(*this, gen_ai::provider_name, o.provider);
    detail::put(*this, gen_ai::request_model, o.model);
    detail::put(*this, gen_ai::conversation_id, o.conversation_id);
    detail::put(*this, gen_ai::data_source_id, o.data_source_id);
    detail::put_server(*this, o.server_address, o.server_port);
    if (!o.name.empty()) set_name(detail::join_name("invoke_agent", o.name.view()));
  }
};

/// Options of a workflow invocation (`invoke_workflow {name}`).
struct workflow_options {
  string_arg name{};  // gen_ai.workflow.name
  string_arg conversation_id{};
};

/// A multi-agent workflow run: `invoke_workflow {name}`, INTERNAL.
class workflow_span : public genai_span {
 public:
  explicit workflow_span(const workflow_options& o) : genai_span(&detail::site_workflow) {
    init(o);
  }
  workflow_span(const workflow_options& o, const span_context& parent)
      : genai_span(&detail::site_workflow, parent) {
    init(o);
  }

 private:
  void init(const workflow_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::invoke_workflow);
    detail::put(*this, gen_ai::workflow_name, o.name);
    detail::put(*this, gen_ai::conversation_id, o.conversation_id);
    if (!o.name.empty()) set_name(detail::join_name("invoke_workflow", o.name.view()));
  }
};

/// Options of a tool execution (`execute_tool {name}`).
struct tool_options {
  string_arg name{};     // gen_ai.tool.name (required)
  string_arg call_id{};  // gen_ai.tool.call.id
  string_arg type{};     // function, extension, datastore
  string_arg description{};
};

/// A tool execution: `execute_tool {name}`, INTERNAL.
class tool_span : public genai_span {
 public:
  explicit tool_span(const tool_options& o) : genai_span(&detail::site_tool) { init(o); }
  tool_span(const tool_options& o, const span_context& parent)
      : genai_span(&detail::site_tool, parent) {
    init(o);
  }

  /// gen_ai.tool.call.arguments (opt-in content): JSON embedded as is, anything else as a string.
  tool_span& arguments(std::string json) {
    if (is_recording() && capture_content())
      set(gen_ai::tool_call_arguments, content_value(std::move(json), true));
    return *this;
  }
  /// gen_ai.tool.call.result (opt-in content).
  tool_span& result(std::string json) {
    if (is_recording() && capture_content())
      set(gen_ai::tool_call_result, content_value(std::move(json), true));
    return *this;
  }

 private:
  void init(const tool_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::execute_tool);
    detail::put(*this, gen_ai::tool_name, o.name);
    detail::put(*this, gen_ai::tool_call_id, o.call_id);
    detail::put(*this, gen_ai::tool_type, o.type);
    detail::put(*this, gen_ai::tool_description, o.description);
    set_name(detail::join_name("execute_tool", o.name.view()));
  }
};

/// Options of an embeddings call (`embeddings {model}`).
struct embeddings_options {
  string_arg provider{};
  string_arg model{};
  string_arg server_address{};
  std::int64_t server_port = 0;
  std::int64_t dimension_count = 0;  // gen_ai.embeddings.dimension.count when > 0
};

/// An embeddings call: `embeddings {model}`, CLIENT.
class embeddings_span : public genai_span {
 public:
  explicit embeddings_span(const embeddings_options& o) : genai_span(&detail::site_embeddings) {
    init(o);
  }
  embeddings_span(const embeddings_options& o, const span_context& parent)
      : genai_span(&detail::site_embeddings, parent) {
    init(o);
  }

 private:
  void init(const embeddings_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::embeddings);
    detail::put(*this, gen_ai::provider_name, o.provider);
    detail::put(*this, gen_ai::request_model, o.model);
    detail::put_server(*this, o.server_address, o.server_port);
    if (o.dimension_count > 0) set(gen_ai::embeddings_dimension_count, o.dimension_count);
    set_name(detail::join_name("embeddings", o.model.view()));
  }
};

/// Options of a retrieval (`retrieval {data_source_id}`).
struct retrieval_options {
  string_arg data_source_id{};  // gen_ai.data_source.id
  string_arg provider{};
  string_arg model{};
  string_arg server_address{};
  std::int64_t server_port = 0;
  double top_k = 0;  // gen_ai.request.top_k when > 0
};

/// A retrieval from a data source: `retrieval {data_source_id}`, CLIENT.
class retrieval_span : public genai_span {
 public:
  explicit retrieval_span(const retrieval_options& o) : genai_span(&detail::site_retrieval) {
    init(o);
  }
  retrieval_span(const retrieval_options& o, const span_context& parent)
      : genai_span(&detail::site_retrieval, parent) {
    init(o);
  }

  /// gen_ai.retrieval.query.text (opt-in content).
  retrieval_span& query(std::string text) {
    if (is_recording() && capture_content())
      set(gen_ai::retrieval_query_text, content_value(std::move(text), false));
    return *this;
  }
  /// gen_ai.retrieval.documents (opt-in content): JSON such as [{"id":"doc_1","score":0.9}].
  retrieval_span& documents(std::string json) {
    if (is_recording() && capture_content())
      set(gen_ai::retrieval_documents, content_value(std::move(json), true));
    return *this;
  }

 private:
  void init(const retrieval_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::retrieval);
    detail::put(*this, gen_ai::data_source_id, o.data_source_id);
    detail::put(*this, gen_ai::provider_name, o.provider);
    detail::put(*this, gen_ai::request_model, o.model);
    detail::put_server(*this, o.server_address, o.server_port);
    if (o.top_k > 0) set(gen_ai::request_top_k, o.top_k);
    set_name(detail::join_name("retrieval", o.data_source_id.view()));
  }
};

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// What a SQL text is about: the operation, the tables it names, and the low-cardinality
/// summary the conventions use as span name ("SELECT orders customers").
struct sql_info {
  std::string operation{};            // SELECT, INSERT, ... (upper case)
  std::vector<std::string> tables{};  // in order of appearance, without duplicates
  std::string summary{};
};

namespace detail {
inline constexpr span_site site_db{"db", span_kind::client, "", 0, ""};

struct sql_token {
  enum kind_t : std::uint8_t { word, quoted_ident, string_lit, number, punct } kind;
  std::string_view text;
  std::size_t begin;
};

/// A small SQL tokenizer (comments skipped): enough for summaries and sanitizing.
inline std::vector<sql_token> sql_tokens(std::string_view s) {
  std::vector<sql_token> out;
  const std::size_t n = s.size();
  std::size_t i = 0;
  auto ident = [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; };
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (c == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      const std::size_t e = s.find("*/", i + 2);
      i = e == std::string_view::npos ? n : e + 2;
    } else if (c == '\'') {
      std::size_t j = i + 1;
      while (j < n) {
        if (s[j] == '\'') {
          if (j + 1 < n && s[j + 1] == '\'') {
            j += 2;
            continue;
          }
          break;
        }
        ++j;
      }
      const std::size_t e = j < n ? j + 1 : n;
      out.push_back({sql_token::string_lit, s.substr(i, e - i), i});
      i = e;
    } else if (c == '"' || c == '`' || c == '[') {
      const char close = c == '[' ? ']' : static_cast<char>(c);
      const std::size_t j = s.find(close, i + 1);
      const std::size_t e = j == std::string_view::npos ? n : j + 1;
      out.push_back({sql_token::quoted_ident, s.substr(i, e - i), i});
      i = e;
    } else if (std::isdigit(c) ||
               (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      std::size_t j = i;
      if (c == '0' && j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X')) j += 2;
      while (j < n && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '.' ||
                       ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E'))))
        ++j;
      out.push_back({sql_token::number, s.substr(i, j - i), i});
      i = j;
    } else if (ident(c)) {
      std::size_t j = i;
      while (j < n && ident(static_cast<unsigned char>(s[j]))) ++j;
      out.push_back({sql_token::word, s.substr(i, j - i), i});
      i = j;
    } else {
      out.push_back({sql_token::punct, s.substr(i, 1), i});
      ++i;
    }
  }
  return out;
}

inline bool word_is(const sql_token& t, std::string_view w) {
  return t.kind == sql_token::word && iequals(t.text, w);
}
}  // namespace detail

/// Reads the operation and the tables out of a SQL text (no full parse: keywords FROM, JOIN,
/// INTO, UPDATE, TABLE introduce table names).
inline sql_info parse_sql(std::string_view sql) {
  using detail::sql_token;
  using detail::word_is;
  sql_info info;
  const auto toks = detail::sql_tokens(sql);
  std::size_t i = 0;
  if (!toks.empty() && toks[0].kind == sql_token::word) {
    if (word_is(toks[0], "WITH")) {
      // The statement after the CTEs: the first DML keyword at parenthesis depth 0.
      int depth = 0;
      for (std::size_t k = 1; k < toks.size(); ++k) {
        if (toks[k].kind == sql_token::punct)
          depth += toks[k].text == "(" ? 1 : toks[k].text == ")" ? -1 : 0;
        if (depth == 0 && (word_is(toks[k], "SELECT") || word_is(toks[k], "INSERT") ||
                           word_is(toks[k], "UPDATE") || word_is(toks[k], "DELETE"))) {
          info.operation = detail::to_upper(toks[k].text);
          break;
        }
      }
    } else {
      info.operation = detail::to_upper(toks[0].text);
    }
  }
  auto add_table = [&](std::string_view name) {
    std::string t(name);
    if (t.size() >= 2 && (t.front() == '"' || t.front() == '`' || t.front() == '['))
      t = t.substr(1, t.size() - 2);
    if (t.empty()) return;
    if (std::find(info.tables.begin(), info.tables.end(), t) == info.tables.end())
      info.tables.push_back(std::move(t));
  };
  // A (possibly schema-qualified) name starting at token k; returns the index after it.
  auto name_at = [&](std::size_t k) -> std::size_t {
    if (k >= toks.size()) return k;
    if (toks[k].kind != sql_token::word && toks[k].kind != sql_token::quoted_ident) return k;
    std::size_t e = k + 1;
    std::string_view last = toks[k].text;
    while (e + 1 < toks.size() && toks[e].text == "." &&
           (toks[e + 1].kind == sql_token::word || toks[e + 1].kind == sql_token::quoted_ident)) {
      last = toks[e + 1].text;
      e += 2;
    }
    const std::size_t b = toks[k].begin;
    const std::size_t len = toks[e - 1].begin + last.size() - b;
    add_table(e == k + 1 ? toks[k].text : sql.substr(b, len));
    return e;
  };
  static constexpr std::string_view not_tables[] = {"SELECT", "WITH", "VALUES", "LATERAL",
                                                    "ONLY",   "IF",   "NOT",    "EXISTS"};
  auto is_reserved = [&](const sql_token& t) {
    for (auto w : not_tables)
      if (word_is(t, w)) return true;
    return false;
  };
  for (; i < toks.size(); ++i) {
    const sql_token& t = toks[i];
    const bool intro = word_is(t, "FROM") || word_is(t, "JOIN") || word_is(t, "INTO") ||
                       word_is(t, "UPDATE") || word_is(t, "TABLE");
    if (!intro) continue;
    std::size_t k = i + 1;
    while (k < toks.size() && is_reserved(toks[k]) && !word_is(toks[k], "SELECT")) ++k;
    if (k >= toks.size() || toks[k].text == "(" || word_is(toks[k], "SELECT")) continue;
    std::size_t e = name_at(k);
    // FROM a x, b y: more tables after commas (aliases skipped).
    if (word_is(t, "FROM")) {
      while (e < toks.size()) {
        std::size_t a = e;
        if (a < toks.size() && word_is(toks[a], "AS")) ++a;
        if (a < toks.size() && toks[a].kind == sql_token::word && !word_is(toks[a], "WHERE") &&
            !word_is(toks[a], "JOIN") && !word_is(toks[a], "INNER") && !word_is(toks[a], "LEFT") &&
            !word_is(toks[a], "GROUP") && !word_is(toks[a], "ORDER") && !word_is(toks[a], "LIMIT"))
          ++a;
        if (a < toks.size() && toks[a].text == ",") {
          e = name_at(a + 1);
          if (e == a + 1) break;
        } else {
          break;
        }
      }
    }
    i = e > i ? e - 1 : i;
  }
  info.summary = info.operation;
  for (const auto& t : info.tables) {
    if (info.summary.size() + 1 + t.size() > 255) break;
    if (!info.summary.empty()) info.summary.push_back(' ');
    info.summary += t;
  }
  return info;
}

/// The SQL text with its literals (strings, numbers) replaced by `?`, as the conventions ask for
/// a non-parameterized db.query.text. Comments are removed.
inline std::string sanitize_sql(std::string_view sql) {
  using detail::sql_token;
  std::string out;
  out.reserve(sql.size());
  const auto toks = detail::sql_tokens(sql);
  std::size_t prev_end = 0;
  for (const auto& t : toks) {
    // Keep the whitespace between tokens (one space where a comment was).
    if (t.begin > prev_end) {
      std::string_view gap = sql.substr(prev_end, t.begin - prev_end);
      const bool comment =
          gap.find("--") != std::string_view::npos || gap.find("/*") != std::string_view::npos;
      if (comment)
        out.push_back(' ');
      else
        out.append(gap);
    }
    if (t.kind == sql_token::string_lit || t.kind == sql_token::number)
      out.push_back('?');
    else
      out.append(t.text);
    prev_end = t.begin + t.text.size();
  }
  return out;
}

/// Options of a database client span.
struct db_options {
  genai::string_arg system{};         // db.system.name (required): sqlite, postgresql, ...
  genai::string_arg namespace_{};     // db.namespace: the database name
  genai::string_arg collection{};     // db.collection.name (single table)
  genai::string_arg operation{};      // db.operation.name: SELECT ...
  genai::string_arg query_summary{};  // db.query.summary; the span name when set
  genai::string_arg server_address{};
  std::int64_t server_port = 0;
};

/// A database call, kind CLIENT, named as the database conventions say: `{db.query.summary}`,
/// else `{db.operation.name} {target}` (target: collection, else namespace, else server), else
/// `{db.system.name}`. query() fills what the options left out from the SQL text itself.
class db_span : public genai::genai_span {
 public:
  explicit db_span(const db_options& o) : genai_span(&detail::site_db) { init(o); }
  db_span(const db_options& o, const span_context& parent) : genai_span(&detail::site_db, parent) {
    init(o);
  }

  /// Records the query: db.query.text (sanitized unless `sanitized` is false, for parameterized
  /// text), and operation / collection / summary derived from it when the options had none.
  db_span& query(std::string_view sql, bool sanitize = true) {
    if (!is_recording()) return *this;
    sql_info info = parse_sql(sql);
    if (sanitize)
      set(semconv::db::query_text, sanitize_sql(sql));
    else
      set(semconv::db::query_text, sql);
    if (operation_.empty() && !info.operation.empty()) {
      operation_ = info.operation;
      set(semconv::db::operation_name, info.operation);
    }
    if (collection_.empty() && info.tables.size() == 1) {
      collection_ = target_ = info.tables[0];
      set(semconv::db::collection_name, info.tables[0]);
    }
    if (!has_summary_ && !info.summary.empty()) {
      has_summary_ = true;
      set(semconv::db::query_summary, info.summary);
      set_name(std::move(info.summary));
    } else if (!has_summary_) {
      rename();
    }
    return *this;
  }
  /// db.response.returned_rows.
  db_span& returned_rows(std::int64_t n) {
    if (is_recording()) set(semconv::db::response_returned_rows, n);
    return *this;
  }
  /// A failed call: error.type (e.g. "SQLITE_ERROR"), db.response.status_code when given, and
  /// status ERROR with the database's message (redacted: it may echo literals of the query).
  db_span& fail(std::string error_type, std::string message, std::string status_code = {}) {
    if (!is_recording()) return *this;
    if (!status_code.empty()) set(semconv::db::response_status_code, std::move(status_code));
    genai::redact(message);
    genai_span::fail(std::move(error_type), message);
    return *this;
  }

 private:
  void init(const db_options& o) {
    if (!is_recording()) return;
    genai::detail::put(*this, semconv::db::system_name, o.system);
    genai::detail::put(*this, semconv::db::namespace_, o.namespace_);
    genai::detail::put(*this, semconv::db::collection_name, o.collection);
    genai::detail::put(*this, semconv::db::operation_name, o.operation);
    genai::detail::put(*this, semconv::db::query_summary, o.query_summary);
    genai::detail::put_server(*this, o.server_address, o.server_port);
    operation_ = std::string(o.operation.view());
    collection_ = std::string(o.collection.view());
    has_summary_ = !o.query_summary.empty();
    system_ = std::string(o.system.view());
    target_ = !o.collection.empty()       ? std::string(o.collection.view())
              : !o.namespace_.empty()     ? std::string(o.namespace_.view())
              : !o.server_address.empty() ? std::string(o.server_address.view())
                                          : std::string();
    if (has_summary_)
      set_name(std::string(o.query_summary.view()));
    else
      rename();
  }
  void rename() {
    if (!operation_.empty())
      set_name(genai::detail::join_name(operation_, target_));
    else if (!system_.empty())
      set_name(system_);
  }
  std::string operation_, collection_, system_, target_;
  bool has_summary_ = false;
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

// The database client span and the SQL reader live in namespace agentrace (agentrace/db.hpp);
// these names keep code written against genai::db_span and friends compiling.
using agentrace::db_options;
using agentrace::db_span;
using agentrace::parse_sql;
using agentrace::sanitize_sql;
using agentrace::sql_info;

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END

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
