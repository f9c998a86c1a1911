// SPDX-License-Identifier: MIT
// The collector's log-record queue: bounded, lock-free for the emitting threads (emit_event
// never waits), drained in bulk by the collector. One per process, in static storage.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/concurrent_queue.hpp"
#include "agentrace/event.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

class log_queue final : public log_sink {
 public:
  /// False (and counted) when `capacity` records are already queued.
  bool push(log_record&& r) noexcept override {
    if (size_.fetch_add(1, std::memory_order_acq_rel) >=
        capacity_.load(std::memory_order_relaxed)) {
      size_.fetch_sub(1, std::memory_order_relaxed);
      dropped_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    bool ok = false;
    try {
      ok = q_.enqueue(std::move(r));
    } catch (...) {  // std::bad_alloc: counted as a drop like a full queue
    }
    if (!ok) {
      size_.fetch_sub(1, std::memory_order_relaxed);
      dropped_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    emitted_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /// Moves up to `max` records to the end of `out`; returns how many.
  std::size_t drain(std::vector<log_record>& out, std::size_t max) {
    const std::size_t n = q_.try_dequeue_bulk(std::back_inserter(out), max);
    size_.fetch_sub(n, std::memory_order_relaxed);
    return n;
  }

  void set_capacity(std::size_t n) noexcept { capacity_.store(n, std::memory_order_relaxed); }
  std::uint64_t emitted() const noexcept { return emitted_.load(std::memory_order_relaxed); }
  std::uint64_t dropped_queue_full() const noexcept {
    return dropped_full_.load(std::memory_order_relaxed);
  }

 private:
  moodycamel::ConcurrentQueue<log_record> q_;
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> capacity_{2048};
  std::atomic<std::uint64_t> emitted_{0}, dropped_full_{0};
};

/// The process's log queue (never destroyed: a thread may still emit while the process exits).
inline log_queue& process_log_queue() {
  static log_queue* q = new log_queue;  // NOLINT(cppcoreguidelines-owning-memory)
  return *q;
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
