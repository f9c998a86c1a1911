// SPDX-License-Identifier: MIT
// Spans that end on another thread than the one they began on, reported back to their origin.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/thread_state.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// A span ends on thread B but began on thread A, where it may still be the current context (it
// was moved to B, or B ended it through a pointer). B cannot touch A's thread-local context, so
// it leaves a note here and raises A's thread_state::remote_ended; A reads its notes at its next
// span begin or end (one load of a flag in its own thread_state) and treats them as spans that
// ended out of order (context.hpp): a current context, or a saved one restored later, that names
// such a span becomes that span's nearest still-live ancestor.
// A thread's number as span records keep it (narrower than thread_state::index: it wraps).
using origin_index = decltype(span_record::thread_index);
inline origin_index origin_of(std::uint32_t thread_index) noexcept {
  return static_cast<origin_index>(thread_index);
}

struct remote_end {
  origin_index origin;  // the thread the span began on (origin_of(thread_state::index))
  std::uint64_t span_id;
  span_context replaced;  // what the span replaced as its origin thread's current context
};

struct remote_end_board {
  static constexpr std::size_t capacity = 4096;  // the oldest notes are forgotten first
  std::mutex mu;
  std::vector<remote_end> notes;
};

inline remote_end_board& remote_ends() {
  // Leaked on purpose, like globals(): threads that exit after main() returns may still post.
  static remote_end_board* b = new remote_end_board();
  return *b;
}

/// On the thread where span `id` ended, which is not the thread it began on (`origin`). Nothing
/// is noted for an origin thread that has exited.
/// (After 65,536 threads the numbers wrap: a note may then reach another live thread with the
/// same number, where it does nothing, since it names a span id that thread never had.)
AGENTRACE_DETAIL_COLD inline void report_remote_end(origin_index origin, std::uint64_t id,
                                                    const span_context& replaced) noexcept {
  auto& g = globals();
  auto& b = remote_ends();
  // Under globals().mu a thread cannot exit (hand its state to the free list) or start (take a
  // state over) meanwhile. Lock order: globals().mu, then the board's (take_remote_ends takes
  // only the board's).
  std::lock_guard<std::mutex> lock(g.mu);
  for (thread_state* t : g.states) {
    if (origin_of(t->index) != origin) continue;
    if (std::find(g.free.begin(), g.free.end(), t) != g.free.end()) return;  // it has exited
    try {
      std::lock_guard<std::mutex> board_lock(b.mu);
      if (b.notes.size() >= remote_end_board::capacity) b.notes.erase(b.notes.begin());
      b.notes.push_back(remote_end{origin, id, replaced});
    } catch (...) {  // out of memory: the origin thread keeps a stale current context
      return;
    }
    t->remote_ended.store(1, std::memory_order_release);
    return;
  }
}

/// On the origin thread `ts`: takes the notes left for it and repairs its current context.
AGENTRACE_DETAIL_COLD inline void take_remote_ends(thread_state* ts) noexcept {
  ts->remote_ended.exchange(0, std::memory_order_acquire);
  auto& b = remote_ends();
  {
    std::lock_guard<std::mutex> lock(b.mu);
    auto mine = [&](const remote_end& n) { return n.origin == origin_of(ts->index); };
    for (const remote_end& n : b.notes)
      if (mine(n)) note_ended_out_of_order(n.span_id, n.replaced);
    b.notes.erase(std::remove_if(b.notes.begin(), b.notes.end(), mine), b.notes.end());
  }
  restore_resolved(tls.current);
}

/// The begin-time check: one relaxed load of a flag in the thread's own state.
AGENTRACE_DETAIL_ALWAYS_INLINE inline void take_remote_ends_if_any(thread_state* ts) noexcept {
  if (ts->remote_ended.load(std::memory_order_relaxed) != 0) [[unlikely]]
    take_remote_ends(ts);
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
