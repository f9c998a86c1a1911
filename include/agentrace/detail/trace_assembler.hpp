// SPDX-License-Identifier: MIT
// Assembles finished spans into whole traces. Spans arrive child-first (a parent ends after its
// children), so a trace is held until its local root (no parent, or a remote parent) has ended,
// plus a short wait for stragglers (children that outlive their parent). Bounded: when too many
// traces or spans are held, the oldest trace is released incomplete and counted. The same
// assembler holds span_data (console, in-memory store) and span_records (the tail sampler).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/trace_hash.hpp"
#include "agentrace/detail/trace_tree.hpp"
#include "agentrace/exporter.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// How spans are gathered into whole traces (console exporter, eval::trace_store): how long to
/// wait for stragglers after a trace's local root ended, and the bounds that release a trace
/// early (marked incomplete).
struct assembly_options {
  std::chrono::milliseconds straggler_wait{200};
  std::chrono::milliseconds max_wait{30000};  // a trace whose root never ends is released then
  std::size_t max_traces{1024};
  std::size_t max_spans{65536};
};

}  // namespace agentrace

namespace agentrace::detail {

/// One assembled trace, spans in arrival order.
template <class Span>
struct basic_assembled_trace {
  trace_id id{};
  std::vector<Span> spans;
  bool complete{true};  // false: released by a bound before its local root ended
};

/// Gathers spans of any type with trace_id, parent_span_id and parent_remote members.
template <class Span>
class basic_trace_assembler {
 public:
  using assembled_trace = basic_assembled_trace<Span>;
  using clock = std::chrono::steady_clock;
  explicit basic_trace_assembler(assembly_options o = {}) : opt_(o) {}

  /// Adds a span; returns traces the bounds forced out (incomplete).
  std::vector<assembled_trace> add(Span&& s, clock::time_point now = clock::now()) {
    const bool local_root = s.parent_span_id == 0 || s.parent_remote;
    const trace_key k = key(s.trace_id);
    // Spans of one trace tend to arrive together: the last trace added to is not looked up.
    entry* e = last_ != nullptr && last_key_ == k ? last_ : nullptr;
    if (!e) {
      auto [it, inserted] = pending_.try_emplace(k);
      e = &it->second;
      if (inserted) {
        e->first_seen = now;
        e->trace.id = s.trace_id;
        if (!spare_.empty()) {
          e->trace.spans = std::move(spare_.back());
          spare_.pop_back();
        } else {
          e->trace.spans.reserve(8);
        }
        order_.push_back(k);
      }
      last_ = e;
      last_key_ = k;
    }
    e->last_seen = now;
    if (local_root) e->root_seen = true;
    e->trace.spans.push_back(std::move(s));
    ++span_count_;
    next_due_ = std::min(next_due_, e->due(opt_));
    std::vector<assembled_trace> out;
    while ((pending_.size() > opt_.max_traces || span_count_ > opt_.max_spans) && !order_.empty()) {
      out.push_back(release(order_.front(), false));
      order_.pop_front();
      ++released_incomplete_;
    }
    return out;
  }

  /// Traces whose local root ended at least straggler_wait ago (or that waited max_wait);
  /// `ended`: every trace whose local root ended, without waiting for stragglers (a flush).
  std::vector<assembled_trace> take_ready(clock::time_point now = clock::now(),
                                          bool ended = false) {
    std::vector<assembled_trace> out;
    if (now < next_due_ && !ended) return out;  // nothing is due yet: no trace is looked at
    next_due_ = clock::time_point::max();
    std::size_t kept = 0;  // one pass: the traces still held move up in `order_`
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const entry& e = pending_.find(order_[i])->second;
      const bool ready = e.root_seen && (ended || now - e.last_seen >= opt_.straggler_wait);
      const bool expired = now - e.first_seen >= opt_.max_wait;
      if (ready || expired) {
        if (!ready) ++released_incomplete_;
        out.push_back(release(order_[i], ready));
      } else {
        next_due_ = std::min(next_due_, e.due(opt_));
        order_[kept++] = order_[i];
      }
    }
    order_.resize(kept);
    return out;
  }

  /// The oldest trace held, released incomplete and counted (a bound its owner keeps, such as
  /// the tail sampler's bytes); nullopt when nothing is held.
  std::optional<assembled_trace> take_oldest() {
    if (order_.empty()) return std::nullopt;
    assembled_trace t = release(order_.front(), false);
    order_.pop_front();
    ++released_incomplete_;
    return t;
  }

  /// Everything held, complete or not (flush / shutdown).
  std::vector<assembled_trace> take_all() {
    std::vector<assembled_trace> out;
    for (const trace_key& k : order_) out.push_back(release(k, pending_.find(k)->second.root_seen));
    order_.clear();
    next_due_ = clock::time_point::max();
    return out;
  }

  /// Gives back the span vector of a trace taken out and emptied, whose storage the next new
  /// trace reuses (a few are kept, of a modest capacity).
  void recycle(std::vector<Span>&& spans) {
    if (spare_.size() >= max_spare || spans.capacity() == 0 || spans.capacity() > 64) return;
    spans.clear();
    spare_.push_back(std::move(spans));
  }

  /// No trace is due before this time (take_ready() before it returns nothing): the earliest
  /// time a held trace's local root ended plus straggler_wait, or it reaches max_wait; an
  /// earlier time when a span came after its trace's local root. time_point::max() when
  /// nothing is held.
  clock::time_point next_due() const noexcept { return next_due_; }

  std::size_t pending_traces() const noexcept { return pending_.size(); }
  std::size_t pending_spans() const noexcept { return span_count_; }
  std::uint64_t released_incomplete() const noexcept { return released_incomplete_; }

 private:
  using trace_key = std::pair<std::uint64_t, std::uint64_t>;
  struct key_hash {
    std::size_t operator()(const trace_key& k) const noexcept {
      return static_cast<std::size_t>(::agentrace::detail::trace_key(trace_id{k.first, k.second}));
    }
  };
  struct entry {
    assembled_trace trace;
    clock::time_point first_seen, last_seen;
    bool root_seen{false};
    clock::time_point due(const assembly_options& o) const noexcept {
      return root_seen ? later(last_seen, o.straggler_wait) : later(first_seen, o.max_wait);
    }
  };
  static trace_key key(const trace_id& t) { return {t.hi, t.lo}; }
  // t + d, at most time_point::max() (a wait of years set by the environment).
  static clock::time_point later(clock::time_point t, std::chrono::milliseconds d) noexcept {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::time_point::max() - t);
    if (d >= left) return clock::time_point::max();
    return t + std::chrono::duration_cast<clock::duration>(d);
  }

  // Takes the trace out of `pending_`; the caller removes `k` from `order_`.
  assembled_trace release(const trace_key& k, bool complete) {
    auto it = pending_.find(k);
    assembled_trace t = std::move(it->second.trace);
    t.complete = complete;
    span_count_ -= t.spans.size();
    if (last_ == &it->second) last_ = nullptr;
    pending_.erase(it);
    return t;
  }

  assembly_options opt_;
  std::unordered_map<trace_key, entry, key_hash> pending_;
  std::deque<trace_key> order_;  // arrival order of traces
  std::size_t span_count_{0};
  std::uint64_t released_incomplete_{0};
  clock::time_point next_due_{clock::time_point::max()};
  static constexpr std::size_t max_spare = 64;
  std::vector<std::vector<Span>> spare_;  // emptied span vectors to reuse (recycle())
  entry* last_{nullptr};  // the trace the last span was added to (nodes do not move)
  trace_key last_key_{};
};

using assembled_trace = basic_assembled_trace<span_data>;
using trace_assembler = basic_trace_assembler<span_data>;

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
