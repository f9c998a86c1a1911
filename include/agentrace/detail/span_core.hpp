// SPDX-License-Identifier: MIT
// A span's state and its hot path (begin and end), under scoped_span (span.hpp). Not in the
// inline namespace that AGENTRACE_ENABLED selects, so that the setup side can compile the span's
// uncommon paths (detail/span_cold.hpp) for every translation unit whose spans are compiled in,
// whatever its own setting.
#pragma once

#include <atomic>
#include <cstdint>
#include <new>

#include "agentrace/context.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/producer.hpp"
#include "agentrace/detail/remote_end.hpp"
#include "agentrace/detail/sampling.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// An unsampled span's state (its context); also what a moved-from span keeps of its span (the id
// its scope restores the context for).
struct unsampled_self {
  span_context ctx;
};

// Spans that ended while tracing was off (after shutdown began) or while their thread was exiting.
inline std::atomic<std::uint64_t> dropped_not_running{0};

/// What scoped_span holds, and its begin and end. The paths every span takes are inline here; the
/// uncommon ones (another configuration than the common one, unsampled and moved spans, a full
/// queue, a scope closed out of order, the end after shutdown) are compiled once, on the setup
/// side (detail/span_cold.hpp), and reached through registry_hooks (producer.hpp): each of them
/// concerns a span that began on a thread with a state, which exists only once the hooks are
/// installed. The one exception, a span begun in another configuration, finds them or records
/// nothing, as begin() does on a thread without a state.
struct span_core {
  // Constructs nothing: the constructor that begins the span writes each member once.
  span_core() noexcept {}  // NOLINT(modernize-use-equals-default): the unions have no default
  /// An empty span.
  struct empty_t {};
  explicit span_core(empty_t) noexcept : state_(st_none) {}
  span_core(const span_core&) = delete;
  span_core& operator=(const span_core&) = delete;
  ~span_core() {}  // NOLINT(modernize-use-equals-default): scoped_span ends rec_'s lifetime

  // begin() and finish() are the hot path. Every value is computed in registers and stored once;
  // fields are copied at the width they were written (opaque, see compiler.hpp); rare
  // work (thread setup, unwinding, shutdown, drops) is out of line. Each reaches the thread's
  // locals through one reference `t` (thread_locals: one address computation, which in
  // a shared library is one __tls_get_addr call instead of one per access).
  // What each constructor does, with one load of the recording state. `parent`: the explicit
  // parent, or nullptr for the thread's current context (a constant where this is inlined).
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_any(const span_site* site,
                                                const span_context* parent) noexcept {
    const std::uint8_t on = recording_state.load(std::memory_order_relaxed);
    if (on == recording_common) [[likely]] {
      thread_locals& t = this_thread_locals();
      begin(t, site, parent ? *parent : t.current, recording_common);
    } else if (on == recording_off) {
      state_ = st_none;
    } else {
      begin_other(site, parent, on);
    }
  }

  // `on` is the recording state the constructor loaded (not 0): it also says which clock to read,
  // whether the sampler is the default one and whether the ABI's exception counter is there. In
  // the common configuration the constructor passes the constant recording_common, so
  // none of these is tested at run time (begin_other: any other configuration).
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin(thread_locals& t, const span_site* site,
                                            const span_context& parent, std::uint8_t on) noexcept {
    // rec_ comes to life here, built once from registers (it is not zeroed first).
    thread_state* ts = this_thread(t);
    if (!ts) [[unlikely]] {
      state_ = st_none;
      return;
    }
    take_remote_ends_if_any(ts);  // a span begun here ended elsewhere: repair `cur` first
    span_context& cur = t.current;
    // Loads: the context this span replaces (restored at the end) and the parent (often the same).
    assign_context(prev_, cur);
    chain_ = t.chain;
    std::uint64_t hi = opaque(parent.trace_id.hi), lo = opaque(parent.trace_id.lo);
    std::uint64_t parent_id = opaque(parent.span_id);
    const std::uint16_t parent_fr = opaque(flags_remote(parent));
    // This span's flags and its parent's remote byte as one word, the same two bytes the
    // record's misc word starts with: a child under the default sampler takes its parent's word
    // as it is.
    std::uint16_t fr = parent_fr;
    std::uint64_t id;
    if ((hi | lo) == 0 || parent_id == 0) {  // no valid parent: a new trace
      ts->ids.next_root_ids(hi, lo, id);
      parent_id = 0;
      fr = pack_flags_remote((on & recording_sample_as_parent)  // sampler.hpp
                                 ? static_cast<std::uint8_t>(flag_random | flag_sampled)
                                 : sample_root(lo),
                             false);
    } else {
      id = ts->ids.next_nonzero();
      if (!(on & recording_sample_as_parent)) {  // else the parent's flags as they are
        const bool remote = remote_of(parent_fr);
        fr = pack_flags_remote(sample_child(lo, flags_of(parent_fr), remote), remote);
      }
    }
    const std::uint8_t flags = flags_of(fr);
    if (!(flags & flag_sampled)) [[unlikely]] {
      begin_unsampled(cur, hi, lo, id, flags);  // the context only: no record, no clock
      return;
    }
    ::new (static_cast<void*>(&rec_)) span_record(site, trace_id{hi, lo}, id, parent_id, fr,
                                                  static_cast<std::uint16_t>(ts->index));
    cur.trace_id.hi = hi;
    cur.trace_id.lo = lo;
    cur.span_id = id;
    set_flags_remote(cur, pack_flags_remote(flags, false));
    uncaught_ = uncaught_exceptions(ts, on);
    state_ = st_recording;
    rec_.start_ticks = now_ticks(on);
  }

  // A span begun while tracing records in any configuration but the common one (`on` not 0):
  // begin() with the recording state's bits tested at run time (span_cold.hpp). `parent` as for
  // begin_any(). Tracing was started if the hooks are there; if not, nothing is recorded, as
  // begin() does on a thread without a state.
  AGENTRACE_DETAIL_NOINLINE void begin_other(const span_site* site, const span_context* parent,
                                             std::uint8_t on) noexcept {
    if (const registry_hooks* h = installed_registry_hooks.load(std::memory_order_acquire))
      h->span_begin_other(*this, site, parent, on);
    else
      state_ = st_none;
  }

  AGENTRACE_DETAIL_ALWAYS_INLINE void finish() noexcept {
    // One load and one comparison: tracing still records, in the common configuration.
    const std::uint8_t on = recording_state.load(std::memory_order_relaxed);
    if (on == recording_common) [[likely]]
      finish_recording<true>(recording_common);
    else
      finish_other(on);
  }

  // A span's end in any configuration but the common one, or after shutdown() began.
  AGENTRACE_DETAIL_NOINLINE void finish_other(std::uint8_t on) noexcept {
    span_slow_paths().span_finish_other(*this, on);
  }

  // The end of a span whose state is not st_recording (and not st_none): unsampled, carried by a
  // new owner, or a moved-from span's scope.
  AGENTRACE_DETAIL_NOINLINE void end_other() noexcept { span_slow_paths().span_end_other(*this); }

  // `on`: the recording state finish() loaded (not 0), as for begin(). `Scope`: this object began
  // the span (it closes the span's scope); false for a span carried by a new owner (moved).
  template <bool Scope>
  AGENTRACE_DETAIL_ALWAYS_INLINE void finish_recording(std::uint8_t on) noexcept {
    const std::uint64_t end = now_ticks(on);
    // The ending thread's state: a span may end on another thread than it began.
    thread_locals& t = this_thread_locals();
    thread_state* ts = this_thread(t);
    if (!ts) [[unlikely]] {  // the thread is exiting (or its state could not be allocated)
      finish_not_running(Scope);
      return;
    }
    if (uncaught_exceptions(ts, on) > uncaught_) [[unlikely]]
      mark_unwinding();  // while still recording: it adds an event and sets the status
    state_ = st_none;
    if constexpr (Scope) restore_context(t, rec_.span_id);
    rec_.end_ticks = end;
    auto& c = ts->counters;
    if (ts->queue->try_enqueue(std::move(rec_))) [[likely]] {
      const std::uint64_t n = c.enqueued.load(std::memory_order_relaxed) + 1;
      c.enqueued.store(n, std::memory_order_release);
      // wake_mask + 1 is a multiple of wake_check_interval: a constant test here, the
      // thread's own mask only then (no load of it per span).
      if ((n & (wake_check_interval - 1)) == 0) [[unlikely]]
        request_drain_at(ts, n);
    } else {
      drop_queue_full(c);
    }
    // rec_'s lifetime ends here without its destructor: it was moved into the queue (the move
    // leaves it owning nothing) or reset by the drop path, so the destructor would only test
    // two fields the call just zeroed.
  }

  // An unsampled span (context owner): it becomes the current context and keeps its own in self_
  // (the union's other member), nothing else; each field is written once, from registers.
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_unsampled(span_context& cur, std::uint64_t hi,
                                                      std::uint64_t lo, std::uint64_t id,
                                                      std::uint8_t flags) noexcept {
    cur.trace_id.hi = hi;
    cur.trace_id.lo = lo;
    cur.span_id = id;
    set_flags_remote(cur, pack_flags_remote(flags, false));
    ::new (static_cast<void*>(&self_))
        unsampled_self{span_context{trace_id{hi, lo}, id, flags, false}};
    state_ = st_unsampled;
  }

  // Closes the scope of span `id`, which this object began: restores the context it replaced
  // (or, if that span has ended meanwhile, its nearest live ancestor); if something else is
  // current (the scope closes out of order, or on another chain than it began on), notes it
  // instead.
  AGENTRACE_DETAIL_ALWAYS_INLINE void restore_context(thread_locals& t, std::uint64_t id) noexcept {
    span_context& cur = t.current;
    if (cur.span_id == id) [[likely]] {
      if (t.ended == nullptr) [[likely]]
        assign_context(cur, prev_);
      else
        restore_resolved(prev_);
    } else {
      ended_not_current(id, chain_, prev_);
    }
  }

  // A span scope that closes while it is not the current context (span_cold.hpp).
  AGENTRACE_DETAIL_COLD static void ended_not_current(std::uint64_t id, std::uint64_t chain,
                                                      const span_context& replaced) noexcept {
    span_slow_paths().span_ended_not_current(id, chain, replaced);
  }

  // Moves a span to a new owner (this, empty). The owner carries the span (rec_ or self_) and
  // ends it wherever it goes; the scope stays with `o` when `o` began the span (st_scope: it keeps
  // the id, prev_ and chain_, and closes the scope when it ends or is destroyed). A recording
  // span's record is relocated out of line (span_cold.hpp).
  void take(span_core& o) noexcept {
    if (o.state_ & st_self) [[unlikely]] {
      self_ = o.self_;
      state_ = st_carried_unsampled;
      o.state_ = static_cast<std::uint8_t>(o.state_ & st_scope);  // st_scope (keeps self_) or none
      return;
    }
    if (!(o.state_ & st_record)) return;
    span_slow_paths().span_take_record(*this, o);
  }

  // The end of a recording span after shutdown() began, or on a thread without a state
  // (span_cold.hpp). `scope`: as Scope for finish_recording.
  AGENTRACE_DETAIL_COLD void finish_not_running(bool scope) noexcept {
    span_slow_paths().span_finish_not_running(*this, scope);
  }
  AGENTRACE_DETAIL_NOINLINE void drop_queue_full(thread_counters& c) noexcept {
    span_slow_paths().span_drop_queue_full(*this, c);
  }

  void mark_unwinding() noexcept { span_slow_paths().mark_unwinding(rec_); }

  // The record under construction. A union member: constructed by begin() (not zeroed first),
  // destroyed by finish(); alive exactly while state_ has st_record, so every use checks it.
  union {
    span_record rec_;
    unsampled_self self_;  // an unsampled span's own context (context owner)
  };
  // The context this span replaced; written by begin() before any read. A union member so that
  // constructing a span does not zero it first (span_context's members have initialisers: five
  // dead stores per span on the hot path).
  union {
    span_context prev_;
  };
  std::uint64_t chain_;  // the context chain the span began on (context.hpp); set by begin()
  int uncaught_;         // uncaught exceptions when the span began; set by begin()
  // What the object holds, as bits: the span's record (rec_ alive), an unsampled span's context
  // or a moved-from span's id (self_ alive), and the span's scope (the object began the span:
  // ending it restores prev_ on chain_). Written once by each constructor (by begin() when it
  // begins one), so that a span is not zeroed first and then written again.
  enum : std::uint8_t {
    st_none = 0,  // empty or ended
    st_record = 1,
    st_self = 2,
    st_scope = 4,                         // moved from: only the scope is left to close
    st_recording = st_record | st_scope,  // begun here, sampled
    st_unsampled = st_self | st_scope,    // begun here, not sampled (context owner)
    st_carried = st_record,               // moved here, sampled
    st_carried_unsampled = st_self,       // moved here, not sampled
  };
  std::uint8_t state_;
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
