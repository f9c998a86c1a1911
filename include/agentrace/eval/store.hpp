// SPDX-License-Identifier: MIT
// In-process reflection: an exporter that keeps the last N complete traces (bounded in count
// and bytes), assembled by the shared trace assembler, and answers the same queries as the CLI
// from any thread while the collector keeps writing ("show me my last failed task").
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/trace_assembler.hpp"
#include "agentrace/eval/dataset.hpp"
#include "agentrace/eval/query.hpp"
#include "agentrace/eval/stats.hpp"
#include "agentrace/eval/trace.hpp"
#include "agentrace/exporter.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

struct store_options {
  std::size_t max_traces = 64;                   // the last N traces are kept
  std::size_t max_bytes = std::size_t(8) << 20;  // and at most this many bytes of them (approx.)
  bool keep_incomplete = true;  // traces the assembler released before their root ended
  agentrace::assembly_options assembly{};
};

/// A trace the store answers with, and why it matched.
struct stored_match {
  std::shared_ptr<const trace> t;
  std::vector<std::string> reasons;
};

class trace_store final : public exporter {
 public:
  explicit trace_store(store_options o = {}) : opt_(o), assembler_(o.assembly) {}

  std::string_view name() const noexcept override { return "trace_store"; }

  export_result export_spans(const export_batch& batch) override {
    std::vector<span_data> converted;
    converted.reserve(batch.spans.size());
    for (const auto& r : batch.spans)
      converted.push_back(to_span_data(r, batch.clock, batch.limits));
    resource_ptr res = resource_for(batch);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : converted) keep(assembler_.add(std::move(s)), res);
    keep(assembler_.take_ready(), res);
    return export_result::success;
  }

  bool force_flush(std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    keep(assembler_.take_all(), last_resource_);
    return true;
  }

  /// The kept traces, oldest first (a snapshot: safe to use while spans keep arriving).
  std::vector<std::shared_ptr<const trace>> traces() const {
    std::lock_guard<std::mutex> lock(mu_);
    release_ready();
    return {traces_.begin(), traces_.end()};
  }

  /// Traces matching `q`, newest first, at most `limit` (0: all). Percentiles in the query
  /// refer to the spans held in the store.
  std::vector<stored_match> select(const query& q, std::size_t limit = 0) const {
    const auto snap = traces();
    std::optional<span_stats> st;
    if (q.needs_stats()) st = span_stats::of(snap);
    std::vector<stored_match> out;
    for (auto it = snap.rbegin(); it != snap.rend(); ++it) {
      auto m = match(q, **it, st ? &*st : nullptr);
      if (!m) continue;
      out.push_back({*it, std::move(m->reasons)});
      if (limit && out.size() == limit) break;
    }
    return out;
  }
  std::vector<stored_match> select(std::string_view q, std::size_t limit = 0) const {
    return select(query::parse(q), limit);
  }

  /// The most recent trace matching `q` ("my last failed task": last("errors")).
  std::optional<stored_match> last(const query& q) const {
    auto v = select(q, 1);
    if (v.empty()) return std::nullopt;
    return std::move(v.front());
  }
  std::optional<stored_match> last(std::string_view q) const { return last(query::parse(q)); }

  /// Statistics over the kept traces.
  span_stats stats() const { return span_stats::of(traces()); }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return traces_.size();
  }
  std::size_t bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
  }
  /// Traces dropped to stay within the bounds.
  std::uint64_t evicted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return evicted_;
  }

 private:
  resource_ptr resource_for(const export_batch& batch) {
    std::lock_guard<std::mutex> lock(mu_);
    // The resource never changes during a run: convert it once.
    if (!last_resource_ || last_resource_src_ != &batch.resource ||
        last_resource_->attributes.size() != batch.resource.attributes.size()) {
      auto r = std::make_shared<resource_info>();
      for (const auto& [k, v] : batch.resource.attributes)
        r->attributes.emplace_back(k, attr_value{std::in_place_type<std::string>, v});
      r->scope_name = std::string(batch.scope_name);
      r->scope_version = std::string(batch.scope_version);
      last_resource_ = std::move(r);
      last_resource_src_ = &batch.resource;
    }
    return last_resource_;
  }

  void release_ready() const { keep(assembler_.take_ready(), last_resource_); }

  void keep(std::vector<agentrace::detail::assembled_trace> done, const resource_ptr& res) const {
    for (auto& a : done) {
      if (!a.complete && !opt_.keep_incomplete) continue;
      std::vector<resource_ptr> rs(a.spans.size(), res);
      auto t = std::make_shared<const trace>(a.id, std::move(a.spans), std::move(rs), a.complete);
      const std::size_t b = t->approx_bytes();
      traces_.push_back(std::move(t));
      sizes_.push_back(b);
      bytes_ += b;
      while (traces_.size() > 1 && (traces_.size() > opt_.max_traces || bytes_ > opt_.max_bytes)) {
        bytes_ -= sizes_.front();
        traces_.pop_front();
        sizes_.pop_front();
        ++evicted_;
      }
      if (traces_.size() > opt_.max_traces) {  // max_traces == 0
        bytes_ = 0;
        traces_.clear();
        sizes_.clear();
        ++evicted_;
      }
    }
  }

  store_options opt_;
  mutable std::mutex mu_;
  // Queries may release traces whose straggler wait has passed, so these change under the
  // lock from const members too.
  mutable agentrace::detail::trace_assembler assembler_;
  mutable std::deque<std::shared_ptr<const trace>> traces_;
  mutable std::deque<std::size_t> sizes_;
  mutable std::size_t bytes_ = 0;
  mutable std::uint64_t evicted_ = 0;
  resource_ptr last_resource_;
  const agentrace::resource* last_resource_src_ = nullptr;
};

/// A store to pass to start({.exporters = {store}}) and query later.
inline std::shared_ptr<trace_store> store(store_options o = {}) {
  return std::make_shared<trace_store>(o);
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
