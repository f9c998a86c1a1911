// SPDX-License-Identifier: MIT
// Span scopes that close on another thread than the one whose context chain they belong to,
// reported back to that thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/thread_state.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// A span is current on the context chain where it began (context.hpp). Its scope normally closes
// on that chain; a span object that is not moved but destroyed (or ended) on another thread -- the
// last owner of a shared_ptr, a request object freed by a worker -- closes it elsewhere. That
// thread cannot touch the origin thread's thread-local context, so it leaves a note here and raises
// the origin's thread_state::remote_ended; the origin reads its notes at its next span begin (one
// load of a flag in its own thread_state) and treats them as spans that ended out of order.
//
// Notes are keyed by the chain's 64-bit id (never reused) and are not bounded: each names a span
// that was current on a live thread, and the origin consumes them at its next span begin while
// its own chain is current.
struct remote_end {
  std::uint64_t chain;  // the origin thread's chain (thread_state::chain)
  std::uint64_t span_id;
  span_context replaced;  // what the span replaced as its chain's current context
};

struct remote_end_board {
  std::mutex mu;
  std::vector<remote_end> notes;
};

inline remote_end_board& remote_ends() {
  // Leaked on purpose, like globals(): threads that exit after main() returns may still post.
  static remote_end_board* b = new remote_end_board();
  return *b;
}

// Scopes that closed away from their chain with nothing to repair there: the chain was a
// coroutine's (its frame is being destroyed, or another thread ended the span through a
// reference), or its thread has exited; or memory ran out for the note.
inline std::atomic<std::uint64_t> remote_ends_unrepaired{0};

/// On a thread whose current chain is not `chain`, the chain span `id` is current on. Notes it for
/// the live thread that owns `chain`; nothing is noted for a coroutine's chain or an exited thread.
AGENTRACE_DETAIL_COLD inline void report_remote_end(std::uint64_t chain, std::uint64_t id,
                                                    const span_context& replaced) noexcept {
  auto& g = globals();
  auto& b = remote_ends();
  // Under globals().mu a thread cannot exit (hand its state to the free list) or start (take a
  // state over) meanwhile. Lock order: globals().mu, then the board's (take_remote_ends takes
  // only the board's).
  std::lock_guard<std::mutex> lock(g.mu);
  for (thread_state* t : g.states) {
    if (t->chain != chain) continue;
    if (std::find(g.free.begin(), g.free.end(), t) != g.free.end()) break;  // it has exited
    try {
      std::lock_guard<std::mutex> board_lock(b.mu);
      b.notes.push_back(remote_end{chain, id, replaced});
    } catch (...) {
      break;
    }
    t->remote_ended.store(1, std::memory_order_release);
    return;
  }
  remote_ends_unrepaired.fetch_add(1, std::memory_order_relaxed);
}

/// On the origin thread `ts`: takes the notes left for its chain and repairs its current context.
/// While a coroutine's chain is current here the notes wait (the flag stays raised).
AGENTRACE_DETAIL_COLD inline void take_remote_ends(thread_state* ts) noexcept {
  if (tls.chain != ts->chain) return;
  ts->remote_ended.exchange(0, std::memory_order_acquire);
  auto& b = remote_ends();
  {
    std::lock_guard<std::mutex> lock(b.mu);
    auto mine = [&](const remote_end& n) { return n.chain == ts->chain; };
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
