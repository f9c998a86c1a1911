// SPDX-License-Identifier: MIT
// agentrace 0.1.0: single-header edition of include/agentrace/exporters/prometheus.hpp.
// Generated — do not edit. Made by scripts/amalgamate.py from the headers under include/;
// change those and run `python3 scripts/amalgamate.py`.
// Builds on <agentrace/agentrace.hpp>: keep that single header beside this one.
// Builds on <agentrace/span.hpp>: keep that single header beside this one.
#pragma once

// amalgamated: include/agentrace/exporters/prometheus.hpp
// SPDX-License-Identifier: MIT
// A Prometheus endpoint: GET /metrics served by civetweb (Debian: libcivetweb-dev; CMake target
// agentrace::prometheus), text format 0.0.4, or OpenMetrics with exemplars when the scraper's
// Accept header asks for it. A pull exporter: each scrape collects the span-derived metrics and
// the instruments at that moment (cumulative). Host and port: prometheus_options, else
// OTEL_EXPORTER_PROMETHEUS_HOST / OTEL_EXPORTER_PROMETHEUS_PORT, else localhost:9464.

#include <civetweb.h>
#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <agentrace/agentrace.hpp>
#include <agentrace/span.hpp>

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

struct prometheus_options {
  std::string host{};  // empty: OTEL_EXPORTER_PROMETHEUS_HOST, else localhost
  int port = -1;       // < 0: OTEL_EXPORTER_PROMETHEUS_PORT, else 9464; 0 picks a free port
  bool read_environment = true;
};

/// Serves GET /metrics; other paths answer 404.
class prometheus_exporter final : public exporter {
 public:
  /// Starts the server. Throws std::runtime_error naming the address when it cannot listen.
  explicit prometheus_exporter(prometheus_options o = {}) {
    if (o.host.empty() && o.read_environment)
      if (auto h = detail::env("OTEL_EXPORTER_PROMETHEUS_HOST")) o.host = detail::trim(*h);
    if (o.host.empty()) o.host = "localhost";
    if (o.port < 0) {
      const std::uint64_t p =
          o.read_environment ? detail::env_uint("OTEL_EXPORTER_PROMETHEUS_PORT", 9464) : 9464;
      if (p > 65535)
        throw std::runtime_error(
            fmt::format("agentrace: OTEL_EXPORTER_PROMETHEUS_PORT={} is not a port", p));
      o.port = static_cast<int>(p);
    }
    host_ = o.host == "localhost" ? "127.0.0.1" : o.host;
    static const bool initialised = [] {
      mg_init_library(0);
      return true;
    }();
    (void)initialised;
    const std::string ports = host_ + ":" + std::to_string(o.port);
    const char* options[] = {"listening_ports", ports.c_str(), "num_threads", "2", nullptr};
    mg_callbacks callbacks{};
    callbacks.log_message = [](const mg_connection*, const char*) { return 1; };  // quiet
    ctx_ = mg_start(&callbacks, nullptr, options);
    if (!ctx_)
      throw std::runtime_error(
          fmt::format("agentrace: the Prometheus endpoint cannot listen on {}", ports));
    mg_server_port sp[4]{};
    const int n = mg_get_server_ports(ctx_, 4, sp);
    port_ = n > 0 ? sp[0].port : o.port;
    mg_set_request_handler(ctx_, "/metrics", &prometheus_exporter::handle, this);
  }
  ~prometheus_exporter() override { stop(); }
  prometheus_exporter(const prometheus_exporter&) = delete;
  prometheus_exporter& operator=(const prometheus_exporter&) = delete;

  std::string_view name() const noexcept override { return "prometheus"; }
  export_result export_spans(const export_batch&) override { return export_result::success; }
  void attach_metrics(const metrics_source& source, const resource& res) override {
    std::lock_guard<std::mutex> lock(mu_);  // waits for a scrape in progress
    source_ = source;
    resource_ = res;
  }
  void shutdown(std::chrono::milliseconds) override { stop(); }

  /// The port it listens on (the one picked when 0 was asked for).
  int port() const noexcept { return port_; }
  /// http://HOST:PORT/metrics
  std::string url() const { return fmt::format("http://{}:{}/metrics", host_, port_); }
  /// Scrapes answered so far.
  std::uint64_t scrapes() const noexcept { return scrapes_.load(std::memory_order_relaxed); }

 private:
  void stop() {
    mg_context* c = nullptr;
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      c = ctx_;
      ctx_ = nullptr;
    }
    if (c) mg_stop(c);  // waits for the requests in progress
  }

  static int handle(mg_connection* conn, void* self_) {
    auto* self = static_cast<prometheus_exporter*>(self_);
    const mg_request_info* ri = mg_get_request_info(conn);
    if (!ri || std::strcmp(ri->request_method, "GET") != 0) {
      mg_send_http_error(conn, 405, "%s", "only GET /metrics");
      return 405;
    }
    const char* accept = mg_get_header(conn, "Accept");
    const prometheus_format f = prometheus_format_for(accept ? accept : "");
    std::string body;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      std::vector<metric_data> data;
      if (self->source_) data = self->source_();
      prometheus_text(body, data, self->resource_, f);
    }
    self->scrapes_.fetch_add(1, std::memory_order_relaxed);
    const std::string head = fmt::format(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        prometheus_content_type(f), body.size());
    mg_write(conn, head.data(), head.size());
    mg_write(conn, body.data(), body.size());
    return 200;
  }

  std::string host_;
  int port_{0};
  mg_context* ctx_{nullptr};
  std::mutex stop_mu_;
  std::mutex mu_;  // source_ and resource_, held while a scrape collects
  metrics_source source_;
  resource resource_;
  std::atomic<std::uint64_t> scrapes_{0};
};

/// A Prometheus endpoint (options unset here come from OTEL_EXPORTER_PROMETHEUS_*).
inline std::shared_ptr<prometheus_exporter> prometheus(prometheus_options o = {}) {
  return std::make_shared<prometheus_exporter>(std::move(o));
}

namespace detail {
// OTEL_METRICS_EXPORTER=prometheus
inline const bool prometheus_registered =
    register_exporter_factory("prometheus", [](std::string_view) -> exporter_ptr {
      try {
        return prometheus();
      } catch (const std::exception& e) {
        diag("prometheus: {}", e.what());
        return nullptr;
      }
    });
}  // namespace detail

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
