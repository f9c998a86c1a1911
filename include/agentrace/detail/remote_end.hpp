// SPDX-License-Identifier: MIT
// Span scopes that close on another thread than the one whose context chain they belong to,
// reported back to that thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/producer.hpp"

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
// Scopes that closed away from their chain with nothing to repair there: the chain was a
// coroutine's (its frame is being destroyed, or another thread ended the span through a
// reference), or its thread has exited. Not a loss; stats() reports it. (A note lost to out of
// memory is counted in context_entries_lost.)
inline std::atomic<std::uint64_t> remote_ends_unrepaired{0};

/// On a thread whose current chain is not `chain`, the chain span `id` is current on. Notes it for
/// the live thread that owns `chain` (thread_state.hpp, post_remote_end); nothing is noted for a
/// coroutine's chain or an exited thread.
AGENTRACE_DETAIL_COLD inline void report_remote_end(std::uint64_t chain, std::uint64_t id,
                                                    const span_context& replaced) noexcept {
  if (const registry_hooks* h = installed_registry_hooks.load(std::memory_order_acquire))
    h->report_remote_end(chain, id, replaced);
  else
    remote_ends_unrepaired.fetch_add(1, std::memory_order_relaxed);
}

/// The begin-time check: one relaxed load of a flag in the thread's own state.
AGENTRACE_DETAIL_ALWAYS_INLINE inline void take_remote_ends_if_any(thread_state* ts) noexcept {
  if (ts->remote_ended.load(std::memory_order_relaxed) != 0) [[unlikely]]
    installed_registry_hooks.load(std::memory_order_acquire)->take_remote_ends(ts);  // set: a note
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
