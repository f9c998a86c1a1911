// SPDX-License-Identifier: MIT
// The registry of per-thread producer states (detail/producer.hpp): creates and hands them over,
// frees those of exited threads once drained, sums their counters for stats() and force_flush(),
// wakes the collector on demand and carries notes of span scopes closed on another thread. The
// setup side (collector.hpp) includes it; instrumented code reaches it only through the hooks
// set_queue_capacity() installs.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/producer.hpp"
#include "agentrace/detail/random.hpp"
#include "agentrace/detail/remote_end.hpp"
#include "agentrace/detail/span_cold.hpp"
#include "agentrace/detail/span_slow.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// Drain on demand (drain_on_demand, drain_requested: producer.hpp): a thread whose queue has
// taken another half of its capacity since it last asked wakes the collector instead of waiting for
// its next timed drain (OpenTelemetry's batch processor does the same when a batch's worth is
// queued). The condition variable outlives every collector (only the active one waits on it);
// notify_one costs no system call while the collector is awake. A wake-up that races with the
// collector going to sleep is lost; the timed drain then comes at most one drain interval later.
// Leaked: producers may touch it at exit. Made anew in place in a forked child (collector.hpp):
// the parent's collector may have been waiting on it, and a waiter that does not exist in the
// child could block a notify there.
inline std::condition_variable& collector_wakeup() {
  static auto* cv = new std::condition_variable();
  return *cv;
}
AGENTRACE_DETAIL_NOINLINE inline void request_drain() noexcept {
  if (!drain_on_demand.load(std::memory_order_relaxed)) return;
  drain_requested.store(true, std::memory_order_relaxed);
  collector_wakeup().notify_one();
}

/// The registry of per-thread span queues.
///
/// Why one queue per thread: each has a single producer, so an enqueue takes no lock and no
/// read-modify-write (span_ring.hpp), and a thread that floods can only fill its own queue: the
/// other threads keep recording.
///
/// A thread's state outlives the thread only while its queue holds spans. When a thread exits,
/// its state (queue, counters) goes to the exited list, still holding the spans it
/// enqueued; the collector drains it like any other and frees it once it is empty and still
/// exited (release_if_drained), after adding its counters to the registry's retired sums.
///
/// A thread that starts takes an exited state of the current capacity over: an empty one if there
/// is one; else, when max_exited_states exited states are waiting to be drained already, the
/// emptiest of them, spans and all (they are drained as before, and take room in the new thread's
/// queue: what does not fit is dropped and counted as queue full, as for any thread); only below
/// that bound does it allocate a state of its own. So however slow the collector, the states
/// alive are at most the threads alive plus max_exited_states, and they fall back to the threads
/// alive once the exited ones are drained.
///
/// Who reads a state through a raw pointer, and why freeing is safe: the registry (under mu),
/// remote_end.hpp's report_remote_end (under mu), the thread itself (tls.state, until it exits)
/// and the collector's drain (its own snapshot; only the collector frees, from its own thread,
/// after it is done with the state in that pass).
inline constexpr std::size_t max_exited_states = 16;

struct global_state {
  std::mutex mu;
  std::vector<thread_state*> states;  // every state alive (live or exited); guarded by mu
  std::vector<thread_state*> free;    // states of exited threads; guarded by mu
  counters_snapshot retired{};        // counters of the states freed; guarded by mu
  std::uint64_t states_created{0};    // states ever allocated; guarded by mu
  // In a forked child: the parent's states, copied by fork() and never used (their threads do
  // not exist here, their spans are the parent's to export). Kept reachable, never freed.
  std::vector<thread_state*> inherited;
  // Capacity of queues created from now on (the active collector's max_queue_size); 0 until
  // the first start(): a thread records nothing before tracing was ever started.
  std::atomic<std::size_t> queue_capacity{0};
  std::uint32_t next_thread_index{1};
};

inline global_state& globals() {
  // Leaked on purpose: threads that exit after main() returns still touch it.
  static global_state* g = new global_state();
  return *g;
}

/// Whether the calling thread is the process's main thread (its thread-local objects are
/// destroyed by exit(), before the static destructors and atexit handlers run).
inline bool is_main_thread() noexcept {
#if defined(__linux__)
  return ::gettid() == ::getpid();
#else
  static const std::thread::id main_id = std::this_thread::get_id();
  return std::this_thread::get_id() == main_id;
#endif
}

/// Returns the thread's state to the exited list at thread exit. Not on the main thread: exit()
/// destroys its thread-local objects first, and spans that begin or end in static destructors
/// and atexit handlers afterwards (while tracing is still on) are still recorded in its state.
struct thread_state_owner {
  thread_state* state{nullptr};
  ~thread_state_owner() {
    if (state && is_main_thread()) return;  // the state stays with the thread until the end
    tls.exited = true;
    tls.state = nullptr;
    delete tls.ended;  // the thread's chain ends with it
    tls.ended = nullptr;
    if (!state) return;
    auto& g = globals();
    std::lock_guard<std::mutex> lock(g.mu);
    // The spans still queued stay there: the collector drains exited states too, then frees them.
    g.free.push_back(state);
    state->exited.store(true, std::memory_order_release);
    state = nullptr;
  }
};

/// The calling thread's owner of its state.
inline thread_state_owner& this_thread_owner() noexcept {
  static thread_local thread_state_owner owner;
  return owner;
}

/// On the collector's thread, after it has drained `st` in this pass: frees the state if its
/// thread has exited and its queue is empty, adding its counters to the retired sums. True if
/// it was freed (the caller must not use `st` again).
inline bool release_if_drained(thread_state* st) {
  if (!st->exited.load(std::memory_order_acquire)) return false;
  auto& g = globals();
  {
    std::lock_guard<std::mutex> lock(g.mu);
    auto it = std::find(g.free.begin(), g.free.end(), st);
    // Taken over by a new thread meanwhile, or spans left: not now.
    if (it == g.free.end() || st->queue->size_approx() != 0) return false;
    g.free.erase(it);
    g.states.erase(std::find(g.states.begin(), g.states.end(), st));
    g.retired.enqueued += st->counters.enqueued.load(std::memory_order_acquire);
    g.retired.dropped_queue_full += st->counters.dropped_queue_full.load(std::memory_order_acquire);
    g.retired.dropped_unsampled += st->counters.dropped_unsampled.load(std::memory_order_acquire);
  }
  delete st;
  return true;
}

/// How many thread states are allocated, and how many of those belong to exited threads.
struct state_counts {
  std::size_t alive{0};
  std::size_t exited{0};
  std::uint64_t created{0};  // ever allocated
};
inline state_counts thread_state_counts() {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  return {g.states.size(), g.free.size(), g.states_created};
}

/// Bytes of a core's private L2 cache as the C library reports it (once per process: on a hybrid
/// CPU, whichever core kind it reports), or 0 where it cannot be told.
inline std::size_t l2_cache_bytes() noexcept {
#if defined(_SC_LEVEL2_CACHE_SIZE)
  const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (v > 0) return static_cast<std::size_t>(v);
#endif
  return 0;
}

/// Whether a thread whose queue holds `capacity` records demotes the records it enqueues
/// (context.hpp, thread_locals::demote_records): when the first line of every record, all an empty
/// span writes, would not fit in L2 together. Not where the L2 size is unknown.
inline bool demote_records_for(std::size_t capacity) noexcept {
  static const std::size_t l2 = l2_cache_bytes();
  return l2 != 0 && capacity * 64 >= l2;
}

/// Slow path of this_thread() (through registry_hooks): the thread's first span. Takes over an
/// exited state of the current capacity (an empty one, or at the bound the emptiest: see
/// global_state), or allocates one (its queue). Returns nullptr, and the span is not recorded, if
/// tracing was never started or allocation fails.
AGENTRACE_DETAIL_NOINLINE inline thread_state* create_thread_state() noexcept {
  if (tls.exited) return nullptr;
  auto& g = globals();
  const std::size_t capacity = g.queue_capacity.load(std::memory_order_acquire);
  if (capacity == 0) return nullptr;
  thread_state_owner& owner = this_thread_owner();
  try {
    std::unique_lock<std::mutex> lock(g.mu);
    thread_state* st = nullptr;
    auto best = g.free.end();
    std::size_t best_size = 0;
    for (auto it = g.free.begin(); it != g.free.end(); ++it) {
      if ((*it)->capacity != capacity) continue;
      const std::size_t n = (*it)->queue->size_approx();
      if (best == g.free.end() || n < best_size) {
        best = it;
        best_size = n;
        if (n == 0) break;
      }
    }
    // A state still holding spans is taken over only when the exited ones are at their bound.
    if (best != g.free.end() && (best_size == 0 || g.free.size() >= max_exited_states)) {
      st = *best;
      g.free.erase(best);
      st->exited.store(false, std::memory_order_relaxed);
    }
    if (!st) {
      lock.unlock();
      auto fresh = std::make_unique<thread_state>(capacity);
      lock.lock();
      g.states.reserve(g.states.size() + 1);
      st = fresh.release();
      g.states.push_back(st);
      ++g.states_created;
    }
    st->index = g.next_thread_index++;
    st->chain = thread_chain_id();
    owner.state = st;
  } catch (...) {
    return nullptr;
  }
  tls.demote_records = demote_records_for(owner.state->capacity);
  // This thread's counter: a state taken over from an exited thread still points into that
  // thread's thread-local storage, which is gone.
  owner.state->uncaught = uncaught_counter_slow();
  if (tls.chain == 0) tls.chain = owner.state->chain;  // else a coroutine's chain is installed
  tls.state = owner.state;
  return tls.state;
}

// Span scopes closed on another thread than their chain's (remote_end.hpp): the notes.
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

/// remote_end.hpp's report_remote_end, through registry_hooks: on a thread whose current chain is
/// not `chain`, the chain span `id` is current on. Notes it for the live thread that owns `chain`;
/// nothing is noted for a coroutine's chain or an exited thread.
AGENTRACE_DETAIL_COLD inline void post_remote_end(std::uint64_t chain, std::uint64_t id,
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
      context_entries_lost.fetch_add(1, std::memory_order_relaxed);  // out of memory for the note
      return;
    }
    t->remote_ended.store(1, std::memory_order_release);
    return;
  }
  remote_ends_unrepaired.fetch_add(1, std::memory_order_relaxed);
}

/// remote_end.hpp's take_remote_ends_if_any, through registry_hooks: on the origin thread `ts`,
/// takes the notes left for its chain and repairs its current context.
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

/// Sets the capacity of per-thread queues created from now on (start() does it), clamped to what
/// one queue can hold, and installs the hooks through which spans reach the registry.
inline std::size_t set_queue_capacity(std::size_t capacity) noexcept {
  static constexpr registry_hooks hooks{
      .create_thread_state = &create_thread_state,
      .request_drain = &request_drain,
      .report_remote_end = &post_remote_end,
      .take_remote_ends = &take_remote_ends,
      .add_event = &span_add_event,
      .add_link = &span_add_link,
      .record_exception = &span_record_exception,
      .set_status = &span_set_status,
      .overflow = &span_overflow,
      .overflow_word = &span_overflow_word,
      .overflow_string = &span_overflow_string,
      .mark_unwinding = &span_mark_unwinding,
      .span_begin_other = &span_begin_other,
      .span_finish_other = &span_finish_other,
      .span_end_other = &span_end_other,
      .span_finish_not_running = &span_finish_not_running,
      .span_drop_queue_full = &span_drop_queue_full,
      .span_ended_not_current = &span_ended_not_current,
      .span_take_record = &span_take_record,
  };
  capacity = std::clamp<std::size_t>(capacity, 1, max_thread_queue_size);
  installed_registry_hooks.store(&hooks, std::memory_order_release);
  globals().queue_capacity.store(capacity, std::memory_order_release);
  return capacity;
}

/// The states whose queues the collector drains (all of them, live and exited), copied into
/// `out`.
inline void snapshot_states(std::vector<thread_state*>& out) {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  out.assign(g.states.begin(), g.states.end());
}

/// Sums of all threads' counters, live and exited.
inline counters_snapshot sum_counters() {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  counters_snapshot s = g.retired;
  for (thread_state* t : g.states) {
    s.enqueued += t->counters.enqueued.load(std::memory_order_acquire);
    s.dropped_queue_full += t->counters.dropped_queue_full.load(std::memory_order_acquire);
    s.dropped_unsampled += t->counters.dropped_unsampled.load(std::memory_order_acquire);
  }
  s.ended = s.enqueued + s.dropped_queue_full + s.dropped_unsampled;
  return s;
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
