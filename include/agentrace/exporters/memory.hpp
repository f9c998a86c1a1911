// SPDX-License-Identifier: MIT
// In-memory exporter: keeps every exported span (owned copies) for tests and for code that
// looks at its own traces.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/exporter.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

class memory_exporter final : public exporter {
 public:
  std::string_view name() const noexcept override { return "memory"; }

  export_result export_spans(const export_batch& batch) override {
    std::vector<span_data> converted;
    converted.reserve(batch.spans.size());
    for (const auto& r : batch.spans)
      converted.push_back(to_span_data(r, batch.clock, batch.limits));
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& d : converted) spans_.push_back(std::move(d));
      ++batches_;
    }
    cv_.notify_all();
    return export_result::success;
  }

  /// A copy of every span exported so far.
  std::vector<span_data> spans() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_.size();
  }
  std::size_t batches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  /// The first span named `name`, if any.
  std::optional<span_data> find(std::string_view name) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : spans_)
      if (s.name == name) return s;
    return std::nullopt;
  }
  /// Waits until at least n spans were exported; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return spans_.size() >= n; });
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    spans_.clear();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<span_data> spans_;
  std::size_t batches_{0};
};

inline std::shared_ptr<memory_exporter> memory() { return std::make_shared<memory_exporter>(); }

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
