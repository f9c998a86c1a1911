// SPDX-License-Identifier: MIT
// OTLP/HTTP exporter: POSTs OTLP batches (protobuf by default, or JSON) to an OpenTelemetry
// Collector (or any OTLP/HTTP receiver) from its own thread, through a bounded buffer, with
// retries. One exporter sends one signal: traces (/v1/traces), metrics (/v1/metrics) or logs
// (/v1/logs).
// Target agentrace::http.
//
//   collector thread                       export thread (one per exporter)
//   export_spans(batch) ─ serialize ─► bounded buffer ─► POST /v1/traces ─► retry / give up
//                          (full: drop + count)         (429/502/503/504, connection failures:
//                                                        backoff + jitter, Retry-After)
//
// The collector thread only serializes and appends; a slow or dead collector never blocks it.
// Memory: at most max_buffer_bytes of serialized batches (the batch being sent included), plus
// one gzip copy of the batch being sent and the serializer's reused buffer.
#pragma once

#include <curl/curl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "agentrace/config.hpp"
#include "agentrace/detail/ascii.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/random.hpp"
#include "agentrace/detail/text.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/exporters/otlp_json.hpp"
#include "agentrace/otlp/decode.hpp"
#include "agentrace/otlp/logs.hpp"
#include "agentrace/otlp/metrics.hpp"
#include "agentrace/otlp/traces.hpp"
#include "agentrace/http/client.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// The signal an OTLP/HTTP exporter sends.
enum class otlp_signal : std::uint8_t { traces, logs, metrics };

/// Options of the OTLP/HTTP exporter. Unset fields are filled from the OTEL_EXPORTER_OTLP_*
/// environment variables (the signal's variants, TRACES_ or LOGS_, win over the general ones),
/// then the defaults of the OpenTelemetry specification.
struct otlp_http_options {
  /// traces: export_spans to /v1/traces; logs: export_logs (events) to /v1/logs.
  otlp_signal signal = otlp_signal::traces;
  /// Body encoding: http/protobuf (the default) or http/json. Unset:
  /// OTEL_EXPORTER_OTLP_[TRACES_|LOGS_]PROTOCOL; any other value (grpc...) is reported at start
  /// and the default used.
  std::optional<otlp::encoding> protocol{};
  /// Full URL of the traces endpoint, used as is. Unset: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as
  /// is), else OTEL_EXPORTER_OTLP_ENDPOINT + "v1/traces", else http://localhost:4318/v1/traces.
  std::string endpoint{};
  /// Request headers (authorization...), over OTEL_EXPORTER_OTLP_[TRACES_]HEADERS. Their values
  /// never appear in diagnostics or error messages.
  http::header_list headers{};
  /// Per batch, retries included. OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT (ms), default 10 s;
  /// 0 = no limit.
  std::optional<std::chrono::milliseconds> timeout{};
  /// gzip request bodies. OTEL_EXPORTER_OTLP_[TRACES_]COMPRESSION=gzip|none, default none.
  std::optional<bool> gzip{};
  /// PEM files for https: OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE (CA), ..._CLIENT_CERTIFICATE
  /// and ..._CLIENT_KEY (mTLS).
  http::tls_options tls{};
  /// Bounded buffer between the collector thread and the export thread, the batch being sent
  /// included. A batch that does not fit is dropped and counted (failures().buffer_full).
  std::size_t max_buffer_bytes = 8u << 20;
  std::size_t max_buffer_batches = 64;
  /// Batches that serialize to more are split (the spec recommends receivers accept 64 MiB).
  std::size_t max_request_bytes = 64u << 20;
  /// Backoff between retries when the answer has no Retry-After: the n-th wait is uniformly
  /// random in [d/2, d] with d = min(max_backoff, initial_backoff * backoff_multiplier^(n-1)).
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{5000};
  double backoff_multiplier = 2.0;
  /// false: ignore every environment variable.
  bool read_environment = true;
};

/// What the exporter has done so far (a snapshot).
struct otlp_http_stats {
  std::uint64_t spans_accepted = 0;   // handed over by export_spans
  std::uint64_t spans_delivered = 0;  // acknowledged by the receiver (partialSuccess excluded)
  std::uint64_t batches_delivered = 0;
  std::uint64_t requests = 0;  // HTTP attempts, retries included
  std::uint64_t retries = 0;
  std::uint64_t bytes_sent = 0;      // request bodies as sent (after gzip)
  std::size_t buffered_batches = 0;  // now, the batch being sent included
  std::size_t buffered_bytes = 0;
  std::size_t peak_buffered_batches = 0;  // high-water marks
  std::size_t peak_buffered_bytes = 0;
  export_failures failures{};
};

namespace detail {

/// True when `url` starts with http:// or https:// and has a host.
inline bool valid_http_url(std::string_view url) noexcept {
  std::size_t p = 0;
  if (url.size() > 7 && iequals(url.substr(0, 7), "http://"))
    p = 7;
  else if (url.size() > 8 && iequals(url.substr(0, 8), "https://"))
    p = 8;
  else
    return false;
  return p < url.size() && url[p] != '/' && url.find_first_of(" \t\r\n") == std::string_view::npos;
}

/// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT rule: as is, but "/" added when the URL has no path.
inline std::string otlp_signal_url(std::string_view url) {
  std::string out(url);
  const std::size_t host = out.find("://");
  const std::size_t start = host == std::string::npos ? 0 : host + 3;
  if (out.find_first_of("/?#", start) == std::string::npos) out.push_back('/');
  return out;
}

/// OTEL_EXPORTER_OTLP_ENDPOINT rule: the base URL, "/" ensured, then "v1/traces" (or the
/// signal's path).
inline std::string otlp_base_url_to_traces(std::string_view base,
                                           std::string_view path = "v1/traces") {
  std::string out(base);
  if (out.empty() || out.back() != '/') out.push_back('/');
  out += path;
  return out;
}

/// The protocol named by an OTEL_EXPORTER_OTLP_*PROTOCOL value; nullopt for grpc and others.
inline std::optional<otlp::encoding> parse_otlp_protocol(std::string_view v) {
  const std::string t = trim(v);
  if (t == "http/protobuf") return otlp::encoding::protobuf;
  if (t == "http/json") return otlp::encoding::json;
  return std::nullopt;
}

/// A URL fit for diagnostics: no user:password@, no query, no fragment.
inline std::string redact_url(std::string_view url) {
  std::string out(url.substr(0, url.find_first_of("?#")));
  const std::size_t host = out.find("://");
  const std::size_t start = host == std::string::npos ? 0 : host + 3;
  const std::size_t slash = out.find('/', start);
  const std::size_t at = out.rfind('@', slash == std::string::npos ? out.size() : slash);
  if (at != std::string::npos && at >= start) out.erase(start, at + 1 - start);
  return out;
}

/// RFC 9110 token characters (header names).
inline bool http_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

/// Adds `extra` to `into`, replacing headers of the same name (case-insensitive). Headers the
/// exporter sets itself, bad names and values with control characters (header injection) are
/// skipped and reported by name only. `source` names where they came from.
inline void merge_headers(http::header_list& into, const http::header_list& extra,
                          const char* source) {
  for (const auto& header : extra) {
    const std::string& k = header.first;
    const std::string& v = header.second;
    if (!http_token(k)) {
      diag("{}: header name '{}' is not a valid HTTP token; skipped", source, k);
      continue;
    }
    if (v.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      diag("{}: the value of header '{}' contains CR, LF or NUL; skipped", source, k);
      continue;
    }
    if (iequals(k, "content-type") || iequals(k, "content-encoding") ||
        iequals(k, "content-length")) {
      diag("{}: header '{}' is set by the exporter; skipped", source, k);
      continue;
    }
    auto it =
        std::find_if(into.begin(), into.end(), [&](const auto& h) { return iequals(h.first, k); });
    if (it != into.end())
      it->second = v;
    else
      into.emplace_back(k, v);
  }
}

/// Parses an OTEL_EXPORTER_OTLP_[TRACES_]HEADERS value ("k1=v1,k2=v2", values percent-decoded).
/// nullopt when malformed; the caller reports that without the value.
inline std::optional<http::header_list> parse_otlp_headers(std::string_view s) {
  auto kv = parse_key_value_list(s);
  if (!kv) return std::nullopt;
  return http::header_list(kv->begin(), kv->end());
}

using http::parse_retry_after;  // Retry-After: one parser for every HTTP client

/// The n-th (1-based) backoff before a retry: uniformly random in [d/2, d],
/// d = min(max, initial * multiplier^(n-1)). `random` is a uniform 64-bit value.
inline std::chrono::milliseconds backoff_delay(unsigned attempt, std::chrono::milliseconds initial,
                                               std::chrono::milliseconds max, double multiplier,
                                               std::uint64_t random) {
  double d = static_cast<double>(initial.count());
  for (unsigned i = 1; i < attempt && d < static_cast<double>(max.count()); ++i)
    d *= std::max(multiplier, 1.0);
  d = std::min(d, static_cast<double>(max.count()));
  const double u = static_cast<double>(random >> 11) / static_cast<double>(1ull << 53);  // [0, 1)
  return std::chrono::milliseconds(std::llround(d / 2 + u * (d / 2)));
}

/// HTTP answers the OTLP specification lets a client retry.
inline bool otlp_retryable_status(long status) noexcept {
  return status == 429 || status == 502 || status == 503 || status == 504;
}
/// Transport failures the OTLP specification lets a client retry: no connection, a connection
/// dropped without an answer, and a timeout (only while the export deadline allows).
inline bool otlp_retryable_transport(http::transport_error e) noexcept {
  return e == http::transport_error::connect || e == http::transport_error::dropped ||
         e == http::transport_error::timeout;
}

/// The first value of the first set variable among `names`.
inline std::optional<std::string> first_env(std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (auto v = env(n)) return v;
  return std::nullopt;
}

/// `opts` with every unset field filled from the environment (if `opts.read_environment`) and
/// the defaults: endpoint, headers, timeout, gzip and tls are final afterwards.
inline otlp_http_options resolve_otlp_http_options(otlp_http_options opts) {
  const bool use_env = opts.read_environment;
  const std::string_view signal = opts.signal == otlp_signal::logs      ? "LOGS"
                                  : opts.signal == otlp_signal::metrics ? "METRICS"
                                                                        : "TRACES";
  // OTEL_EXPORTER_OTLP_<SIGNAL>_<what>
  auto var = [signal](const char* what) {
    return "OTEL_EXPORTER_OTLP_" + std::string(signal) + "_" + what;
  };
  const std::string_view path = opts.signal == otlp_signal::logs      ? "v1/logs"
                                : opts.signal == otlp_signal::metrics ? "v1/metrics"
                                                                      : "v1/traces";
  const std::string default_endpoint = "http://localhost:4318/" + std::string(path);
  if (opts.endpoint.empty() && use_env) {
    if (auto v = env(var("ENDPOINT").c_str())) {
      if (valid_http_url(trim(*v)))
        opts.endpoint = otlp_signal_url(trim(*v));
      else
        diag("{}='{}' is not an http(s) URL; ignored", var("ENDPOINT"), redact_url(*v));
    }
    if (opts.endpoint.empty()) {
      if (auto v = env("OTEL_EXPORTER_OTLP_ENDPOINT")) {
        if (valid_http_url(trim(*v)))
          opts.endpoint = otlp_base_url_to_traces(trim(*v), path);
        else
          diag("OTEL_EXPORTER_OTLP_ENDPOINT='{}' is not an http(s) URL; ignored", redact_url(*v));
      }
    }
  }
  if (opts.endpoint.empty()) opts.endpoint = default_endpoint;

  http::header_list headers;
  if (use_env) {
    for (const std::string& name : {std::string("OTEL_EXPORTER_OTLP_HEADERS"), var("HEADERS")}) {
      auto v = env(name.c_str());
      if (!v) continue;
      if (auto h = parse_otlp_headers(*v))
        merge_headers(headers, *h, name.c_str());
      else  // never print the value: it holds credentials
        diag("{} is malformed (want name1=value1,name2=value2 with %-encoding); ignored", name);
    }
  }
  merge_headers(headers, opts.headers, "otlp_http_options::headers");
  opts.headers = std::move(headers);

  if (!opts.timeout) {
    std::uint64_t ms = 10000;
    if (use_env) {
      ms = env_uint("OTEL_EXPORTER_OTLP_TIMEOUT", ms);
      ms = env_uint(var("TIMEOUT").c_str(), ms);
    }
    opts.timeout = std::chrono::milliseconds(ms);
  }
  if (!opts.gzip) {
    opts.gzip = false;
    if (use_env) {
      if (auto v = first_env({var("COMPRESSION").c_str(), "OTEL_EXPORTER_OTLP_COMPRESSION"})) {
        const std::string c = to_lower(trim_view(*v));
        if (c == "gzip")
          opts.gzip = true;
        else if (c != "none")
          diag("OTEL_EXPORTER_OTLP_COMPRESSION='{}' is not gzip or none; using none", c);
      }
    }
  }
  if (use_env) {
    auto fill = [](std::string& field, const std::string& signal_var, const char* general) {
      if (!field.empty()) return;
      if (auto v = first_env({signal_var.c_str(), general})) field = *v;
    };
    fill(opts.tls.ca_file, var("CERTIFICATE"), "OTEL_EXPORTER_OTLP_CERTIFICATE");
    fill(opts.tls.client_cert_file, var("CLIENT_CERTIFICATE"),
         "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE");
    fill(opts.tls.client_key_file, var("CLIENT_KEY"), "OTEL_EXPORTER_OTLP_CLIENT_KEY");
    if (!opts.protocol) {
      const std::string signal_var = var("PROTOCOL");
      for (const char* name : {signal_var.c_str(), "OTEL_EXPORTER_OTLP_PROTOCOL"}) {
        auto p = env(name);
        if (!p) continue;
        opts.protocol = parse_otlp_protocol(*p);
        if (!opts.protocol)
          diag(
              "{}='{}' is not supported (agentrace speaks http/protobuf and http/json, not "
              "grpc); using http/protobuf",
              name, trim(*p));
        break;
      }
    }
  }
  if (!opts.protocol) opts.protocol = otlp::encoding::protobuf;
  if (opts.max_buffer_batches == 0) opts.max_buffer_batches = 1;
  if (opts.initial_backoff.count() <= 0) opts.initial_backoff = std::chrono::milliseconds(1);
  if (opts.max_backoff < opts.initial_backoff) opts.max_backoff = opts.initial_backoff;
  return opts;
}

/// Replaces every header value (and each long word of it) in `msg` by "***", so that a server
/// echoing a credential back cannot make it reach a log.
inline std::string scrub_secrets(std::string msg, const http::header_list& headers) {
  auto erase_all = [&](std::string_view secret) {
    if (secret.empty()) return;
    for (std::size_t p = msg.find(secret); p != std::string::npos; p = msg.find(secret, p + 3))
      msg.replace(p, secret.size(), "***");
  };
  for (const auto& [k, v] : headers) {
    erase_all(v);
    std::string_view rest = v;
    while (!rest.empty()) {
      const std::size_t sp = rest.find_first_of(" \t,;");
      const std::string_view word = rest.substr(0, sp);
      if (word.size() >= 6) erase_all(word);
      rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    }
  }
  return msg;
}

}  // namespace detail

/// OTLP/HTTP exporter (protobuf or JSON bodies). Thread use: export_spans, force_flush and shutdown
/// from the collector thread (never concurrently), stats() from anywhere.
class otlp_http_exporter final : public exporter {
 public:
  /// Resolves `opts` (environment, defaults) and starts the export thread.
  explicit otlp_http_exporter(otlp_http_options opts = {})
      : opt_(detail::resolve_otlp_http_options(std::move(opts))),
        url_for_logs_(detail::redact_url(opt_.endpoint)),
        client_(opt_.tls) {
    if (!detail::valid_http_url(opt_.endpoint))
      detail::diag("otlp/http: endpoint '{}' is not an http(s) URL; every export will fail",
                   url_for_logs_);
    request_.url = opt_.endpoint;
    request_.headers = opt_.headers;
    request_.headers.emplace_back("Content-Type", *opt_.protocol == otlp::encoding::protobuf
                                                      ? "application/x-protobuf"
                                                      : "application/json");
    if (*opt_.gzip) request_.headers.emplace_back("Content-Encoding", "gzip");
    thread_ = std::thread([this] { run(); });
  }
  ~otlp_http_exporter() override { shutdown(std::chrono::milliseconds(0)); }
  otlp_http_exporter(const otlp_http_exporter&) = delete;
  otlp_http_exporter& operator=(const otlp_http_exporter&) = delete;

  std::string_view name() const noexcept override {
    switch (opt_.signal) {
      case otlp_signal::logs: return "otlp/http/logs";
      case otlp_signal::metrics: return "otlp/http/metrics";
      default: return "otlp/http";
    }
  }

  /// The resolved options (endpoint, headers, timeout...).
  const otlp_http_options& options() const noexcept { return opt_; }

  /// Serializes the batch and appends it to the buffer; never waits for the network. A batch
  /// that does not fit is dropped and counted (failures().buffer_full); it still returns
  /// success, because the exporter accounts for it (stats().exporter_failures).
  export_result export_spans(const export_batch& batch) override {
    if (batch.spans.empty() || opt_.signal != otlp_signal::traces) return export_result::success;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return export_result::failure;
      accepted_ += batch.spans.size();
      if (buffered_batches_ >= opt_.max_buffer_batches) {  // full: skip serializing
        drop_locked(batch.spans.size());
        return export_result::success;
      }
    }
    enqueue_split(batch);
    work_cv_.notify_one();
    return export_result::success;
  }

  /// Log records (an exporter made for otlp_signal::logs; others ignore them): serialized and
  /// buffered like spans; the counts in stats() and failures() are then log records.
  export_result export_logs(const log_batch& batch) override {
    if (batch.records.empty() || opt_.signal != otlp_signal::logs) return export_result::success;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return export_result::failure;
      accepted_ += batch.records.size();
      if (buffered_batches_ >= opt_.max_buffer_batches) {
        drop_locked(batch.records.size());
        return export_result::success;
      }
    }
    buf_.clear();
    if (*opt_.protocol == otlp::encoding::protobuf)
      serialize_otlp_protobuf(batch, buf_);
    else
      serialize_otlp_json(batch, buf_);
    enqueue_buffer(batch.records.size());
    work_cv_.notify_one();
    return export_result::success;
  }

  /// Metrics (an exporter made for otlp_signal::metrics; others ignore them): serialized and
  /// buffered like spans; the counts in stats() and failures() are then data points. A batch
  /// not delivered within its export_timeout (from this call, retries included) or the
  /// exporter's timeout, whichever ends first, is given up on (failures().retries_exhausted).
  export_result export_metrics(const metrics_batch& batch) override {
    if (batch.metrics.empty() || opt_.signal != otlp_signal::metrics) return export_result::success;
    const clock::time_point deadline = batch.export_timeout.count() > 0
                                           ? clock::now() + batch.export_timeout
                                           : clock::time_point::max();
    std::size_t points = 0;
    for (const metric_data& m : batch.metrics) points += m.points.size();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return export_result::failure;
      accepted_ += points;
      if (buffered_batches_ >= opt_.max_buffer_batches) {
        drop_locked(points);
        return export_result::success;
      }
    }
    buf_.clear();
    if (*opt_.protocol == otlp::encoding::protobuf)
      serialize_otlp_protobuf(batch, buf_);
    else
      serialize_otlp_json(batch, buf_);
    enqueue_buffer(points, deadline);
    work_cv_.notify_one();
    return export_result::success;
  }

  /// Waits until every batch handed over before the call is delivered or given up on. False
  /// on timeout, or when spans were given up on since the previous force_flush (or the start).
  bool force_flush(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mu_);
    const std::uint64_t target = enqueued_seq_;
    const bool done =
        done_cv_.wait_until(lock, deadline, [&] { return completed_seq_ >= target || finished_; });
    const bool ok = done && completed_seq_ >= target && failures_.total() == failures_at_flush_;
    failures_at_flush_ = failures_.total();
    return ok;
  }

  /// Delivers what is buffered until `timeout` has passed, then gives up on the rest (counted in
  /// failures().shutdown), stops the export thread and returns, by the deadline.
  void shutdown(std::chrono::milliseconds timeout) override {
    const auto deadline =
        std::chrono::steady_clock::now() + std::max(timeout, std::chrono::milliseconds(0));
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      stop_deadline_ = deadline;
      ++stop_generation_;
      work_cv_.notify_all();
      if (!done_cv_.wait_until(lock, deadline, [&] { return finished_; })) {
        abandon_ = true;
        work_cv_.notify_all();
        client_.cancel();  // a request in flight returns at once
      }
    }
    if (thread_.joinable()) thread_.join();
    const export_failures f = failures();
    if (f.total() > 0)
      detail::diag(
          "otlp/http: {} spans not delivered to {} (buffer full: {}, rejected: {}, "
          "retries exhausted: {}, shutdown: {}, other: {})",
          ull(f.total()), url_for_logs_, ull(f.buffer_full), ull(f.rejected),
          ull(f.retries_exhausted), ull(f.shutdown), ull(f.other));
  }

  std::uint64_t spans_failed() const noexcept override { return failures().total(); }
  export_failures failures() const noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

  otlp_http_stats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    otlp_http_stats s;
    s.spans_accepted = accepted_;
    s.spans_delivered = delivered_;
    s.batches_delivered = batches_delivered_;
    s.requests = requests_;
    s.retries = retries_;
    s.bytes_sent = bytes_sent_;
    s.buffered_batches = buffered_batches_;
    s.buffered_bytes = buffered_bytes_;
    s.peak_buffered_batches = peak_batches_;
    s.peak_buffered_bytes = peak_bytes_;
    s.failures = failures_;
    return s;
  }

  /// The most recent failure, for humans (status, the receiver's message, or the transport
  /// error); header values are scrubbed from it. Empty if nothing failed.
  std::string last_error() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }

 private:
  struct item {
    std::string body;       // serialized ExportTraceServiceRequest
    std::size_t bytes = 0;  // body.size() when buffered (what the buffer bound counts)
    std::size_t spans = 0;
    // Metrics: the export's own deadline (OTEL_METRIC_EXPORT_TIMEOUT from the export call).
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  };
  enum class reason : std::uint8_t { rejected, retries_exhausted, shutdown, other };
  using clock = std::chrono::steady_clock;

  static unsigned long long ull(std::uint64_t v) noexcept {
    return static_cast<unsigned long long>(v);
  }

  // Collector thread: serializes `batch`, halving it while it is larger than one request may be.
  void enqueue_split(const export_batch& batch) {
    buf_.clear();
    if (*opt_.protocol == otlp::encoding::protobuf)
      serialize_otlp_protobuf(batch, buf_);
    else
      serialize_otlp_json(batch, buf_);
    const std::size_t limit = std::min(opt_.max_request_bytes, opt_.max_buffer_bytes);
    if (buf_.size() > limit && batch.spans.size() > 1) {
      const std::size_t half = batch.spans.size() / 2;
      for (auto part : {batch.spans.first(half), batch.spans.subspan(half)}) {
        export_batch b{part,
                       batch.resource,
                       batch.clock,
                       batch.limits,
                       batch.scope_name,
                       batch.scope_version,
                       batch.dropped_spans_total};
        enqueue_split(b);
      }
      return;
    }
    enqueue_buffer(batch.spans.size());
  }

  // Collector thread: buffers the request in buf_ holding `items` spans or log records.
  void enqueue_buffer(std::size_t items, clock::time_point deadline = clock::time_point::max()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (buf_.size() > opt_.max_request_bytes) {
      failures_.rejected += items;
      note_failure_locked(reason::rejected,
                          fmt::format("a request serializes to {} bytes, more than "
                                      "max_request_bytes ({})",
                                      buf_.size(), opt_.max_request_bytes));
      return;
    }
    if (buffered_batches_ >= opt_.max_buffer_batches ||
        buffered_bytes_ + buf_.size() > opt_.max_buffer_bytes) {
      drop_locked(items);
      return;
    }
    queue_.push_back(item{std::string(buf_.data(), buf_.size()), buf_.size(), items, deadline});
    ++enqueued_seq_;
    ++buffered_batches_;
    buffered_bytes_ += buf_.size();
    peak_batches_ = std::max(peak_batches_, buffered_batches_);
    peak_bytes_ = std::max(peak_bytes_, buffered_bytes_);
  }

  void drop_locked(std::size_t spans) {
    failures_.buffer_full += spans;
    if (!reported_buffer_full_) {
      reported_buffer_full_ = true;
      detail::diag(
          "otlp/http: export buffer full ({} batches / {} bytes max) while {} is slow "
          "or down; dropping batches (counted in stats().exporter_failures.buffer_full)",
          opt_.max_buffer_batches, opt_.max_buffer_bytes, url_for_logs_);
    }
  }

  // Records a failure message (scrubbed); the first of each reason is also printed.
  void note_failure_locked(reason r, std::string msg) {
    last_error_ = detail::scrub_secrets(std::move(msg), opt_.headers);
    auto& reported = reported_[static_cast<std::size_t>(r)];
    if (!reported) {
      reported = true;
      detail::diag("otlp/http: {} (further failures of this kind are counted, not printed)",
                   last_error_);
    }
  }

  // Export thread.
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty() || abandon_ || (stopping_ && clock::now() >= stop_deadline_)) break;
      item it = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      deliver(it);
      lock.lock();
      --buffered_batches_;
      buffered_bytes_ -= it.bytes;
      ++completed_seq_;
      done_cv_.notify_all();
    }
    for (const item& it : queue_) {  // the shutdown deadline passed
      failures_.shutdown += it.spans;
      buffered_bytes_ -= it.bytes;
      --buffered_batches_;
      ++completed_seq_;
    }
    queue_.clear();
    finished_ = true;
    done_cv_.notify_all();
  }

  // The deadline that applies now: the batch's, or shutdown's when earlier. `by_shutdown` tells
  // which.
  clock::time_point effective_deadline(clock::time_point batch_deadline, bool& by_shutdown) {
    std::lock_guard<std::mutex> lock(mu_);
    by_shutdown = abandon_ || (stopping_ && stop_deadline_ <= batch_deadline);
    if (abandon_) return clock::time_point::min();
    return by_shutdown ? stop_deadline_ : batch_deadline;
  }

  // Sleeps until `t`; returns early (false) when shutdown changed the deadlines.
  bool sleep_until(clock::time_point t) {
    std::unique_lock<std::mutex> lock(mu_);
    const std::uint64_t gen = stop_generation_;
    return !work_cv_.wait_until(lock, t, [&] { return stop_generation_ != gen || abandon_; });
  }

  void finish(const item& it, std::optional<reason> r, std::string msg, std::size_t rejected = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!r) {
      ++batches_delivered_;
      delivered_ += it.spans - rejected;
      if (rejected) {
        failures_.rejected += rejected;
        note_failure_locked(reason::rejected, std::move(msg));
      } else if (!msg.empty() && !reported_partial_warning_) {
        reported_partial_warning_ = true;
        detail::diag("otlp/http: {}", detail::scrub_secrets(std::move(msg), opt_.headers));
      }
      return;
    }
    switch (*r) {
      case reason::rejected: failures_.rejected += it.spans; break;
      case reason::retries_exhausted: failures_.retries_exhausted += it.spans; break;
      case reason::shutdown: failures_.shutdown += it.spans; break;
      case reason::other: failures_.other += it.spans; break;
    }
    note_failure_locked(*r, std::move(msg));
  }

  // Sends one batch, retrying while the OTLP rules and the deadlines allow.
  void deliver(item& it) {
    const auto start = clock::now();
    const auto batch_deadline = std::min(
        it.deadline, opt_.timeout->count() > 0 ? start + *opt_.timeout : clock::time_point::max());
    if (*opt_.gzip) {
      try {
        request_.body = http::gzip_compress(it.body);
      } catch (const std::exception& e) {
        return finish(it, reason::other, e.what());
      }
      std::string().swap(it.body);
    } else {
      request_.body = std::move(it.body);
    }
    std::string last;  // why the previous attempt failed
    for (unsigned attempt = 1;; ++attempt) {
      bool by_shutdown = false;
      const auto deadline = effective_deadline(batch_deadline, by_shutdown);
      const auto now = clock::now();
      if (now >= deadline)
        return finish(it, by_shutdown ? reason::shutdown : reason::retries_exhausted,
                      give_up_message(last, by_shutdown));
      request_.timeout =
          deadline == clock::time_point::max()
              ? std::chrono::milliseconds(0)
              : std::max(std::chrono::milliseconds(1),
                         std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
      http::response res = client_.send(request_);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++requests_;
        bytes_sent_ += request_.body.size();
      }
      if (res.ok()) {
        auto [rejected, message] = partial_success(res.body, it.spans);
        return finish(it, std::nullopt, std::move(message), rejected);
      }
      last = describe(res);
      if (res.error == http::transport_error::cancelled)
        return finish(it, reason::shutdown, give_up_message(last, true));
      const bool retryable = res.error == http::transport_error::none
                                 ? detail::otlp_retryable_status(res.status)
                                 : detail::otlp_retryable_transport(res.error);
      if (!retryable)
        return finish(it,
                      res.error == http::transport_error::none ? reason::rejected : reason::other,
                      fmt::format("{}: {}; not retried", url_for_logs_, last));
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (!reported_retrying_) {
          reported_retrying_ = true;
          detail::diag(
              "otlp/http: {}: {}; retrying (the first such failure; later ones are "
              "counted, not printed)",
              url_for_logs_, detail::scrub_secrets(last, opt_.headers));
        }
      }
      std::chrono::milliseconds wait = detail::backoff_delay(
          attempt, opt_.initial_backoff, opt_.max_backoff, opt_.backoff_multiplier, rng_.next());
      if (res.error == http::transport_error::none)
        if (auto ra = res.header("retry-after"))
          if (auto d = detail::parse_retry_after(*ra); d && d->count() > 0) wait = *d;
      const auto wake = clock::now() + wait;
      for (;;) {
        const auto d = effective_deadline(batch_deadline, by_shutdown);
        if (wake >= d)
          return finish(it, by_shutdown ? reason::shutdown : reason::retries_exhausted,
                        give_up_message(last, by_shutdown));
        if (sleep_until(wake)) break;
      }
      std::lock_guard<std::mutex> lock(mu_);
      ++retries_;
    }
  }

  std::string give_up_message(const std::string& last, bool by_shutdown) const {
    return fmt::format("{}: gave up on a batch {}{}{}", url_for_logs_,
                       by_shutdown ? "at the shutdown deadline" : "when the export timeout ran out",
                       last.empty() ? "" : "; last attempt: ", last);
  }

  // "HTTP 503: <message>" or the transport error, for messages.
  static std::string describe(const http::response& res) {
    if (res.error != http::transport_error::none && res.error != http::transport_error::too_large)
      return "no answer (" + res.error_message + ")";
    std::string s = "HTTP " + std::to_string(res.status);
    if (res.error == http::transport_error::too_large)
      return s + " with a response over the size limit";
    // The receiver's message: google.rpc.Status in either encoding, whatever the Content-Type.
    if (auto st = otlp::decode_status(res.body); st && !st->message.empty()) {
      std::string msg = std::move(st->message);
      detail::cut_utf8(msg, 300);
      s += ": " + msg;
    }
    return s;
  }

  // OTLP partialSuccess, from a JSON or protobuf answer: (rejected items, message). Message
  // non-empty means report it.
  std::pair<std::size_t, std::string> partial_success(const std::string& body,
                                                      std::size_t items) const {
    const auto ps = otlp::decode_partial_success(body);
    if (!ps) return {0, {}};
    const std::uint64_t rejected = std::min<std::uint64_t>(ps->rejected, items);
    if (rejected == 0 && ps->message.empty()) return {0, {}};
    const char* what = opt_.signal == otlp_signal::logs      ? "log records"
                       : opt_.signal == otlp_signal::metrics ? "data points"
                                                             : "spans";
    return {static_cast<std::size_t>(rejected),
            fmt::format("{} accepted a batch partially: {} of {} {} rejected{}{}", url_for_logs_,
                        rejected, items, what, ps->message.empty() ? "" : ": ", ps->message)};
  }

  const otlp_http_options opt_;
  const std::string url_for_logs_;
  http::client client_;  // used by the export thread only (cancel() excepted)
  http::request request_;
  detail::id_generator rng_;
  fmt::memory_buffer buf_;  // collector thread

  mutable std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<item> queue_;
  std::size_t buffered_batches_ = 0, buffered_bytes_ = 0, peak_batches_ = 0, peak_bytes_ = 0;
  std::uint64_t enqueued_seq_ = 0, completed_seq_ = 0;
  std::uint64_t accepted_ = 0, delivered_ = 0, batches_delivered_ = 0, requests_ = 0, retries_ = 0,
                bytes_sent_ = 0;
  export_failures failures_{};
  std::uint64_t failures_at_flush_ = 0;  // failures_.total() when force_flush last returned
  std::string last_error_;
  bool reported_[4] = {false, false, false, false};
  bool reported_buffer_full_ = false, reported_partial_warning_ = false, reported_retrying_ = false;
  bool stopping_ = false, abandon_ = false, finished_ = false;
  clock::time_point stop_deadline_ = clock::time_point::max();
  std::uint64_t stop_generation_ = 0;
  std::thread thread_;
};

/// An OTLP/HTTP exporter (options unset here come from OTEL_EXPORTER_OTLP_* and the defaults).
inline std::shared_ptr<otlp_http_exporter> otlp_http(otlp_http_options opts = {}) {
  return std::make_shared<otlp_http_exporter>(std::move(opts));
}

/// An OTLP/HTTP exporter for log records (events): /v1/logs, OTEL_EXPORTER_OTLP_LOGS_* and the
/// general OTEL_EXPORTER_OTLP_* variables.
inline std::shared_ptr<otlp_http_exporter> otlp_http_logs(otlp_http_options opts = {}) {
  opts.signal = otlp_signal::logs;
  return std::make_shared<otlp_http_exporter>(std::move(opts));
}

/// An OTLP/HTTP exporter for metrics: /v1/metrics, OTEL_EXPORTER_OTLP_METRICS_* and the general
/// OTEL_EXPORTER_OTLP_* variables.
inline std::shared_ptr<otlp_http_exporter> otlp_http_metrics(otlp_http_options opts = {}) {
  opts.signal = otlp_signal::metrics;
  return std::make_shared<otlp_http_exporter>(std::move(opts));
}

namespace detail {
// OTEL_TRACES_EXPORTER=otlp (and the specification's default, see exporters_from_env).
inline const bool otlp_http_registered =
    register_exporter_factory("otlp",
                              [](std::string_view) -> exporter_ptr {
                                try {
                                  return otlp_http();
                                } catch (const std::exception& e) {
                                  diag("otlp/http: cannot create the exporter: {}", e.what());
                                  return nullptr;
                                }
                              }) &&
    // OTEL_LOGS_EXPORTER=otlp
    register_exporter_factory("otlp/logs",
                              [](std::string_view) -> exporter_ptr {
                                try {
                                  return otlp_http_logs();
                                } catch (const std::exception& e) {
                                  diag("otlp/http: cannot create the logs exporter: {}", e.what());
                                  return nullptr;
                                }
                              }) &&
    // OTEL_METRICS_EXPORTER=otlp
    register_exporter_factory("otlp/metrics", [](std::string_view) -> exporter_ptr {
      try {
        return otlp_http_metrics();
      } catch (const std::exception& e) {
        diag("otlp/http: cannot create the metrics exporter: {}", e.what());
        return nullptr;
      }
    });
}  // namespace detail

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
