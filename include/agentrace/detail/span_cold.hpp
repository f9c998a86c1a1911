// SPDX-License-Identifier: MIT
// A span's uncommon paths, compiled once: spans (detail/span_core.hpp) reach them through
// registry_hooks (producer.hpp), which set_queue_capacity() installs, so that an instrumented
// file compiles a call through a pointer instead of these bodies. Each concerns a span that
// began on a thread with a state (the hooks are installed then), except span_begin_other, which
// span_core calls only once it has found them.
#pragma once

#include <atomic>
#include <cstdint>
#include <new>
#include <utility>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/producer.hpp"
#include "agentrace/detail/remote_end.hpp"
#include "agentrace/detail/span_core.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// A span begun while tracing records in any configuration but the common one (`on` not 0):
/// begin() with the recording state's bits tested at run time. `parent`: the explicit parent, or
/// nullptr for the thread's current context.
inline void span_begin_other(span_core& s, const span_site* site, const span_context* parent,
                             std::uint8_t on) noexcept {
  thread_locals& t = this_thread_locals();
  s.begin(t, site, parent ? *parent : t.current, on);
}

/// The end of a recording span after shutdown() began (recording_state is 0; no clock is read), or
/// on a thread without a state (exiting, or its allocation failed): the context is restored as
/// usual (`scope`: the object began the span, see span_core::finish_recording), the span is
/// counted as dropped_not_running.
inline void span_finish_not_running(span_core& s, bool scope) noexcept {
  thread_locals& t = this_thread_locals();
  s.state_ = span_core::st_none;
  if (scope) s.restore_context(t, s.rec_.span_id);
  dropped_not_running.fetch_add(1, std::memory_order_relaxed);
  s.rec_.reset();
}

/// A span's end in any configuration but the common one, or after shutdown() began.
inline void span_finish_other(span_core& s, std::uint8_t on) noexcept {
  if (on == recording_off)
    span_finish_not_running(s, true);
  else
    s.finish_recording<true>(on);
}

/// An unsampled span's end (it is counted), on the thread whose state is `ts` (may be null).
inline void count_unsampled(thread_state* ts) noexcept {
  if (!ts || !recording_state.load(std::memory_order_relaxed)) [[unlikely]] {
    dropped_not_running.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  thread_counters::bump(ts->counters.dropped_unsampled);
}

/// The end of a span whose state is not st_recording (and not st_none).
inline void span_end_other(span_core& s) noexcept {
  switch (s.state_) {
    case span_core::st_unsampled: {  // context owner: restore the context, count it
      s.state_ = span_core::st_none;
      thread_locals& t = this_thread_locals();
      s.restore_context(t, s.self_.ctx.span_id);
      count_unsampled(this_thread(t));
      break;
    }
    case span_core::st_carried: {
      const std::uint8_t on = recording_state.load(std::memory_order_relaxed);
      if (on == recording_off)
        span_finish_not_running(s, false);
      else
        s.finish_recording<false>(on);
      break;
    }
    case span_core::st_carried_unsampled:
      s.state_ = span_core::st_none;
      count_unsampled(this_thread());
      break;
    case span_core::st_scope: {  // moved from: the scope closes
      s.state_ = span_core::st_none;
      thread_locals& t = this_thread_locals();
      s.restore_context(t, s.self_.ctx.span_id);
      break;
    }
    default: break;
  }
}

/// A full queue: the span is counted as dropped_queue_full (`c`: its thread's counters).
inline void span_drop_queue_full(span_core& s, thread_counters& c) noexcept {
  thread_counters::bump(c.dropped_queue_full);
  s.rec_.reset();
}

/// A span scope that closes while it is not the current context. On its own chain it closed out
/// of order: a child, a context_scope or a coroutine is current, and whoever restores this span
/// later gets what it replaced (context.hpp). On another chain (the object was destroyed or ended
/// on another thread without being moved) it is reported to its chain's thread (remote_end.hpp).
inline void span_ended_not_current(std::uint64_t id, std::uint64_t chain,
                                   const span_context& replaced) noexcept {
  if (chain != tls.chain) {
    report_remote_end(chain, id, replaced);
    return;
  }
  note_ended_out_of_order(id, replaced);
}

/// span_core::take for a recording span: `to` (empty) carries `from`'s record from now on;
/// `from` keeps the scope if it began the span.
inline void span_take_record(span_core& to, span_core& from) noexcept {
  from.rec_.end_ticks = 0;  // not set until the span ends: the move copies it
  ::new (static_cast<void*>(&to.rec_)) span_record(span_record::relocate, std::move(from.rec_));
  const std::uint64_t id = from.rec_.span_id;
  from.rec_.~span_record();
  to.uncaught_ = from.uncaught_;
  to.state_ = span_core::st_carried;
  if (from.state_ & span_core::st_scope) {
    ::new (static_cast<void*>(&from.self_)) unsampled_self{span_context{{}, id, 0, false}};
    from.state_ = span_core::st_scope;
  } else {
    from.state_ = span_core::st_none;
  }
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
