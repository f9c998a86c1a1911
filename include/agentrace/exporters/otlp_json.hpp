// SPDX-License-Identifier: MIT
// OTLP/JSON lines (the OpenTelemetry Collector's file-exporter format) to a file or stdout: one
// Export*ServiceRequest per batch and line, written by the OTLP encoder (otlp/traces.hpp).
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/config.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/otlp/logs.hpp"
#include "agentrace/otlp/metrics.hpp"
#include "agentrace/otlp/traces.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Writes OTLP/JSON lines to a FILE* (a file it opened, or stdout). One line per batch,
/// flushed after each batch so that a crash loses at most the batch being written.
class otlp_json_exporter final : public exporter {
 public:
  /// Writes to stdout.
  otlp_json_exporter() : out_(stdout), owned_(false) {}
  /// Writes to `path`, truncating it (or appending when `append` is true). Throws
  /// std::runtime_error naming the path and the reason if it cannot be opened.
  explicit otlp_json_exporter(const std::string& path, bool append = false)
      : out_(std::fopen(path.c_str(), append ? "ab" : "wb")), owned_(true), path_(path) {
    if (!out_)
      throw std::runtime_error(fmt::format("agentrace: cannot open OTLP-JSON output '{}': {}", path,
                                           std::strerror(errno)));
  }
  ~otlp_json_exporter() override {
    if (owned_ && out_) std::fclose(out_);
  }
  otlp_json_exporter(const otlp_json_exporter&) = delete;
  otlp_json_exporter& operator=(const otlp_json_exporter&) = delete;

  std::string_view name() const noexcept override { return owned_ ? "otlp/file" : "otlp/stdout"; }

  export_result export_spans(const export_batch& batch) override {
    buf_.clear();
    serialize_otlp_json(batch, buf_);
    buf_.push_back('\n');
    const bool ok =
        std::fwrite(buf_.data(), 1, buf_.size(), out_) == buf_.size() && std::fflush(out_) == 0;
    if (!ok) {
      failed_.fetch_add(batch.spans.size(), std::memory_order_relaxed);
      return export_result::failure;
    }
    return export_result::success;
  }
  /// Log records: one ExportLogsServiceRequest line per batch, in the same file.
  export_result export_logs(const log_batch& batch) override {
    if (batch.records.empty()) return export_result::success;
    return write_line(batch) ? export_result::success : export_result::failure;
  }
  /// Metrics: one ExportMetricsServiceRequest line per export, in the same file (as the
  /// OpenTelemetry Collector's file exporter writes every signal).
  export_result export_metrics(const metrics_batch& batch) override {
    if (batch.metrics.empty()) return export_result::success;
    return write_line(batch) ? export_result::success : export_result::failure;
  }
  // Read by stats() on any thread while the collector writes it.
  std::uint64_t spans_failed() const noexcept override {
    return failed_.load(std::memory_order_relaxed);
  }

 private:
  // One request as one OTLP/JSON line, flushed; false when it could not be written.
  template <class Batch>
  bool write_line(const Batch& batch) {
    buf_.clear();
    serialize_otlp_json(batch, buf_);
    buf_.push_back('\n');
    return std::fwrite(buf_.data(), 1, buf_.size(), out_) == buf_.size() && std::fflush(out_) == 0;
  }

  std::FILE* out_;
  bool owned_;
  std::string path_;
  fmt::memory_buffer buf_;
  std::atomic<std::uint64_t> failed_{0};
};

#if AGENTRACE_DETAIL_SETUP_DEFINITIONS
AGENTRACE_SETUP_INLINE exporter_ptr otlp_json_file(const std::string& path, bool append) {
  return std::make_shared<otlp_json_exporter>(path, append);
}
#endif
/// OTLP/JSON lines to stdout (OTEL_TRACES_EXPORTER=otlp/stdout).
inline exporter_ptr otlp_json_stdout() { return std::make_shared<otlp_json_exporter>(); }

namespace detail {
inline const bool otlp_json_registered =
    register_exporter_factory("otlp/stdout", [](std::string_view) { return otlp_json_stdout(); }) &&
    register_exporter_factory(
        "otlp/file", [](std::string_view path) { return otlp_json_file(std::string(path)); });
}  // namespace detail

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
