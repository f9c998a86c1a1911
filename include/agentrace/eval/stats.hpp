// SPDX-License-Identifier: MIT
// Statistics per span name (count, error rate, p50/p95/p99/max duration) and token totals per
// model, accumulated in one streaming pass. Memory grows with the spans read, without
// reallocation peaks: 8 bytes per span for exact percentiles (in 512-byte blocks), 11-22 bytes
// per span for the set that counts duplicates once, and 11-22 bytes per trace for the trace count.
#pragma once

#include <algorithm>
#include <cmath>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/cost.hpp"
#include "agentrace/eval/trace.hpp"
#include "agentrace/eval/types.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// Token totals of the spans that name a model (gen_ai.request.model, else response.model).
struct model_usage {
  std::string model;
  std::uint64_t spans = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  token_usage usage{};  // every kind (input_tokens/output_tokens repeat usage.input/output)
  bool priced = false;  // the price table has this model (span_stats::set_prices)
  double cost_usd = 0;
};

/// Cost of one trace.
struct trace_cost {
  trace_id id{};
  double cost_usd = 0;
};

namespace detail {
/// A set of 64-bit keys (open addressing, 8 bytes a slot, at most 3/4 full), in 64 shards that
/// grow one at a time: 11-22 bytes per key, and growing never holds more than 1/64 of the set
/// twice. Keys should be well mixed (the shard is chosen by the top bits). 0 is a valid key.
class u64_set {
 public:
  /// True if `k` was not in the set (and is now).
  bool insert(std::uint64_t k) {
    if (k == 0) {
      const bool fresh = !has_zero_;
      has_zero_ = true;
      size_ += fresh;
      return fresh;
    }
    shard& sh = shards_[k >> 58];
    if ((sh.size + 1) * 4 > sh.slots.size() * 3) grow(sh);
    if (place(sh.slots, k)) {
      ++sh.size;
      ++size_;
      return true;
    }
    return false;
  }
  std::uint64_t size() const noexcept { return size_; }

 private:
  struct shard {
    std::vector<std::uint64_t> slots;
    std::size_t size = 0;
  };
  static bool place(std::vector<std::uint64_t>& t, std::uint64_t k) {
    const std::size_t mask = t.size() - 1;
    std::size_t i = static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    while (t[i] != 0) {
      if (t[i] == k) return false;
      i = (i + 1) & mask;
    }
    t[i] = k;
    return true;
  }
  static void grow(shard& sh) {
    std::vector<std::uint64_t> bigger(sh.slots.empty() ? 64 : sh.slots.size() * 2, 0);
    for (std::uint64_t k : sh.slots)
      if (k) place(bigger, k);
    sh.slots.swap(bigger);
  }
  std::array<shard, 64> shards_{};
  std::uint64_t size_ = 0;
  bool has_zero_ = false;
};

}  // namespace detail

/// The nearest-rank percentile of sorted values: the smallest value such that at least p% of
/// the values are <= it (rank ceil(p/100 * n), 1-based). p in (0, 100].
/// The 0-based index of that value among n > 0 sorted values.
inline std::size_t nearest_rank_index(std::size_t n, double p) {
  const double r = std::ceil(p / 100.0 * static_cast<double>(n));
  std::size_t rank = r < 1 ? 1 : static_cast<std::size_t>(r);
  if (rank > n) rank = n;
  return rank - 1;
}
template <class Sorted>
std::uint64_t nearest_rank_of(const Sorted& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[nearest_rank_index(sorted.size(), p)];
}
inline std::uint64_t nearest_rank(const std::vector<std::uint64_t>& sorted, double p) {
  return nearest_rank_of(sorted, p);
}

/// Attribute keys statistics need (so a scan can skip all the others).
inline const std::vector<std::string>& stats_attribute_keys() { return usage_attribute_keys(); }

/// Accumulates spans; call finish() before reading percentiles.
class span_stats {
 public:
  /// Adds a span; a span id seen before in the same trace is counted as a duplicate only.
  void add(const span_data& s) {
    if (!seen_.insert(detail::span_key(s.trace_id, s.span_id))) {
      ++duplicates_;
      return;
    }
    ++spans_;
    traces_.insert(detail::trace_key(s.trace_id));
    auto [it, inserted] = index_.try_emplace(s.name, names_.size());
    if (inserted) names_.push_back(entry{s.name, {}, 0, 0, {}, 0});
    entry& e = names_[it->second];
    const std::uint64_t d = s.duration_ns();
    e.durations.push_back(d);
    if (e.durations.size() == 1 || d > e.slowest) {
      e.slowest = d;
      e.slowest_trace = s.trace_id;
    }
    if (s.status == status_code::error) {
      ++e.errors;
      ++errors_;
    }
    first_ = std::min(first_, s.start_unix_ns);
    last_ = std::max(last_, s.end_unix_ns);
    const std::string_view model = model_of(s);
    const token_usage u = usage_of(s);
    if (!model.empty() || u.any) {
      const std::string key = model.empty() ? std::string("(no model)") : std::string(model);
      auto [mit, mnew] = model_index_.try_emplace(key, models_.size());
      if (mnew) {
        models_.push_back(model_usage{key, 0, 0, 0, {}, false, 0});
        if (prices_) models_.back().priced = prices_->find(key) != nullptr;
      }
      model_usage& m = models_[mit->second];
      ++m.spans;
      m.usage += u;
      m.input_tokens = m.usage.input;
      m.output_tokens = m.usage.output;
      if (prices_ && u.any)
        if (const model_price* p = prices_->find(key)) {
          const double c = cost_of(u, *p);
          m.cost_usd += c;
          e.cost += c;
          trace_costs_[s.trace_id] += c;
          cost_ += c;
        }
    }
    finished_ = false;
  }

  /// Sorts the durations (idempotent).
  void finish() {
    if (finished_) return;
    for (auto& e : names_) std::sort(e.durations.begin(), e.durations.end());
    finished_ = true;
  }

  /// The table, most frequent names first (ties by name).
  std::vector<name_stats> by_name() {
    finish();
    std::vector<name_stats> out;
    out.reserve(names_.size());
    for (const auto& e : names_) {
      name_stats r;
      r.name = e.name;
      r.count = e.durations.size();
      r.errors = e.errors;
      r.error_rate = r.count ? static_cast<double>(r.errors) / static_cast<double>(r.count) : 0;
      r.p50 = nearest_rank_of(e.durations, 50);
      r.p95 = nearest_rank_of(e.durations, 95);
      r.p99 = nearest_rank_of(e.durations, 99);
      r.max = e.durations.empty() ? 0 : e.durations.back();
      for (auto d : e.durations) r.total += d;
      r.cost_usd = e.cost;
      r.slowest_trace = e.slowest_trace;
      out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end(), [](const name_stats& a, const name_stats& b) {
      return a.count != b.count ? a.count > b.count : a.name < b.name;
    });
    return out;
  }

  /// Token totals per model, most input tokens first.
  std::vector<model_usage> by_model() const {
    std::vector<model_usage> out = models_;
    std::sort(out.begin(), out.end(), [](const model_usage& a, const model_usage& b) {
      return a.input_tokens != b.input_tokens ? a.input_tokens > b.input_tokens : a.model < b.model;
    });
    return out;
  }

  /// Prices LLM usage from now on (`t` must outlive the statistics; nullptr: no prices).
  void set_prices(const price_table* t) noexcept { prices_ = t; }
  bool has_prices() const noexcept { return prices_ != nullptr; }
  /// Total priced cost in US dollars.
  double cost_usd() const noexcept { return cost_; }
  /// Models with usage but no price (empty without a price table).
  std::vector<std::string> unpriced_models() const {
    std::vector<std::string> out;
    if (!prices_) return out;
    for (const auto& m : models_)
      if (!m.priced) out.push_back(m.model);
    std::sort(out.begin(), out.end());
    return out;
  }
  /// Cost per trace (traces with priced usage only), most expensive first; at most `limit`
  /// (0: all).
  std::vector<trace_cost> by_trace_cost(std::size_t limit = 0) const {
    std::vector<trace_cost> out;
    out.reserve(trace_costs_.size());
    for (const auto& [id, c] : trace_costs_) out.push_back({id, c});
    std::sort(out.begin(), out.end(), [](const trace_cost& a, const trace_cost& b) {
      if (a.cost_usd != b.cost_usd) return a.cost_usd > b.cost_usd;
      return a.id.hi != b.id.hi ? a.id.hi < b.id.hi : a.id.lo < b.id.lo;
    });
    if (limit && out.size() > limit) out.resize(limit);
    return out;
  }
  /// Sorted durations of the spans named `name` (empty if none). Requires finish().
  const std::deque<std::uint64_t>& durations(std::string_view name) const {
    static const std::deque<std::uint64_t> none;
    auto it = index_.find(std::string(name));
    return it == index_.end() ? none : names_[it->second].durations;
  }

  /// The p-th percentile (nearest rank) of durations of spans named `name`; nullopt if none.
  /// Requires finish() (const: does not sort).
  std::optional<std::uint64_t> percentile(std::string_view name, double p) const {
    auto it = index_.find(std::string(name));
    if (it == index_.end() || !finished_) return std::nullopt;
    return nearest_rank_of(names_[it->second].durations, p);
  }

  std::uint64_t spans() const noexcept { return spans_; }
  std::uint64_t traces() const noexcept { return traces_.size(); }
  std::uint64_t errors() const noexcept { return errors_; }
  /// Spans skipped because their (trace id, span id) was already counted.
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  std::uint64_t first_start_unix_ns() const noexcept { return spans_ ? first_ : 0; }
  std::uint64_t last_end_unix_ns() const noexcept { return last_; }
  bool finished() const noexcept { return finished_; }

  /// Statistics of every span of `traces`.
  template <class Range>
  static span_stats of(const Range& traces) {
    span_stats st;
    for (const auto& t : traces)
      for (const auto& s : deref(t).spans()) st.add(s);
    st.finish();
    return st;
  }

 private:
  template <class T>
  static const trace& deref(const T& t) {
    if constexpr (std::is_same_v<std::decay_t<T>, trace>)
      return t;
    else
      return *t;
  }
  struct entry {
    std::string name;
    std::deque<std::uint64_t> durations;  // blocks: no reallocation peak as it grows
    std::uint64_t errors;
    std::uint64_t slowest = 0;
    trace_id slowest_trace{};
    double cost = 0;
  };
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<entry> names_;
  std::unordered_map<std::string, std::size_t> model_index_;
  std::vector<model_usage> models_;
  detail::u64_set traces_;  // trace_key digests
  const price_table* prices_ = nullptr;
  std::unordered_map<trace_id, double, trace_id_hash> trace_costs_;
  double cost_ = 0;
  detail::u64_set seen_;
  std::uint64_t spans_ = 0, errors_ = 0, duplicates_ = 0;
  std::uint64_t first_ = UINT64_MAX, last_ = 0;
  bool finished_ = true;
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
