// SPDX-License-Identifier: MIT
// Helpers shared by the core tests: a recording exporter, OTLP-JSON lines reading and lookup.
#pragma once

#include <agentrace/agentrace.hpp>

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace test_util {

using json = nlohmann::json;

/// The identity of an exported span, as a recording exporter keeps it (no owned strings, so
/// hundreds of thousands of spans stay cheap).
struct span_ids {
  agentrace::trace_id trace_id;
  std::uint64_t span_id;
  std::uint64_t parent_span_id;
  std::uint32_t thread_index;
};

/// An exporter that records the size of every batch and the ids of every span; it can be told
/// to block inside export_spans (a collector that cannot drain) or to report failure.
class recording_exporter final : public agentrace::exporter {
 public:
  std::string_view name() const noexcept override { return "recording"; }

  agentrace::export_result export_spans(const agentrace::export_batch& batch) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++calls_in_export_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !blocked_; });
    batch_sizes_.push_back(batch.spans.size());
    for (const auto& r : batch.spans)
      ids_.push_back({r.trace_id, r.span_id, r.parent_span_id, r.thread_index});
    cv_.notify_all();
    if (throw_) throw std::runtime_error("recording exporter told to throw");
    return fail_ ? agentrace::export_result::failure : agentrace::export_result::success;
  }
  void shutdown(std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++shutdowns_;
  }

  void block() {
    std::lock_guard<std::mutex> lock(mu_);
    blocked_ = true;
  }
  void unblock() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      blocked_ = false;
    }
    cv_.notify_all();
  }
  /// Waits until the collector has entered export_spans at least n times.
  bool wait_in_export(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return calls_in_export_ >= n; });
  }
  void set_fail(bool f) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = f;
  }
  void set_throw(bool t) {
    std::lock_guard<std::mutex> lock(mu_);
    throw_ = t;
  }
  std::vector<std::size_t> batch_sizes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batch_sizes_;
  }
  std::vector<span_ids> ids() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_;
  }
  std::size_t count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ids_.size();
  }
  int shutdowns() const {
    std::lock_guard<std::mutex> lock(mu_);
    return shutdowns_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool blocked_{false}, fail_{false}, throw_{false};
  std::size_t calls_in_export_{0};
  int shutdowns_{0};
  std::vector<std::size_t> batch_sizes_;
  std::vector<span_ids> ids_;
};

/// A path for an OTLP-JSON file named `name`. Under the CTest fixture that feeds otlp-check
/// (AGENTRACE_TEST_OTLP_DIR set) the name is stable; otherwise it is unique to this process, so
/// that tests running in parallel never write a file otlp-check is reading.
inline std::string otlp_out_path(const std::string& name) {
  namespace fs = std::filesystem;
  if (const char* dir = std::getenv("AGENTRACE_TEST_OTLP_DIR"); dir && *dir) {
    fs::create_directories(dir);
    return (fs::path(dir) / (name + ".jsonl")).string();
  }
  const fs::path dir = fs::path(AGENTRACE_BINARY_DIR) / "tests" / "otlp_tmp";
  fs::create_directories(dir);
  return (dir / (name + "." + std::to_string(::getpid()) + ".jsonl")).string();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Parses a JSON-lines file: one ExportTraceServiceRequest per non-empty line. Throws
/// nlohmann::json::parse_error on invalid JSON (invalid UTF-8 included).
inline std::vector<json> read_json_lines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

/// Every span of every request, in file order.
inline std::vector<json> all_spans(const std::vector<json>& requests) {
  std::vector<json> out;
  for (const auto& r : requests)
    for (const auto& rs : r.at("resourceSpans"))
      for (const auto& ss : rs.at("scopeSpans"))
        for (const auto& s : ss.at("spans")) out.push_back(s);
  return out;
}

/// The span named `name` (the first one); throws if there is none.
inline json span_named(const std::vector<json>& requests, std::string_view name) {
  for (const auto& s : all_spans(requests))
    if (s.at("name").get<std::string>() == name) return s;
  throw std::runtime_error("no span named " + std::string(name));
}

/// The AnyValue of attribute `key` in an OTLP attribute list, or null JSON when absent.
inline json attr(const json& attributes, std::string_view key) {
  for (const auto& kv : attributes)
    if (kv.at("key").get<std::string>() == key) return kv.at("value");
  return nullptr;
}

/// How many times `key` occurs in an attribute list (OTLP requires unique keys).
inline std::size_t count_key(const json& attributes, std::string_view key) {
  std::size_t n = 0;
  for (const auto& kv : attributes) n += kv.at("key").get<std::string>() == key;
  return n;
}

/// An OTLP id in hex, as the exporter must write it.
inline std::string hex(const agentrace::trace_id& t) { return agentrace::to_hex(t); }
inline std::string hex(std::uint64_t id) { return agentrace::to_hex(id); }

/// Redirects a stdio stream's file descriptor into a temporary file while alive; text() gives
/// what was written.
class capture_fd {
 public:
  capture_fd(std::FILE* stream, const std::string& path) : stream_(stream), path_(path) {
    std::fflush(stream_);
    saved_ = ::dup(::fileno(stream_));
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot open " + path_);
    ::dup2(::fileno(f), ::fileno(stream_));
    std::fclose(f);
  }
  ~capture_fd() { restore(); }
  capture_fd(const capture_fd&) = delete;
  capture_fd& operator=(const capture_fd&) = delete;
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stream_);
    ::dup2(saved_, ::fileno(stream_));
    ::close(saved_);
    saved_ = -1;
  }
  std::string text() {
    restore();
    return read_file(path_);
  }

 private:
  std::FILE* stream_;
  std::string path_;
  int saved_{-1};
};

}  // namespace test_util
