// SPDX-License-Identifier: MIT
// Per-thread producer state, the process-wide span queue and the registry that sums per-thread
// counters for stats() and force_flush().
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
#include "agentrace/detail/concurrent_queue.hpp"
#include "agentrace/detail/random.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

using span_queue = concurrent_queue<span_record>;

// Drain on demand: a thread whose queue has taken another half of its capacity since it last
// asked wakes the collector instead of waiting for its next timed drain (OpenTelemetry's batch
// processor does the same when a batch's worth is queued). The condition variable outlives every
// collector (only the active one waits on it); notify_one costs no system call while the
// collector is awake. A wake-up that races with the collector going to sleep is lost; the timed
// drain then comes at most one drain interval later.
inline std::atomic<bool> drain_on_demand{true};
inline std::atomic<bool> drain_requested{false};
// Leaked: producers may touch it at exit. Made anew in place in a forked child (collector.hpp):
// the parent's collector may have been waiting on it, and a waiter that does not exist in the
// child could block a notify there.
inline std::condition_variable& collector_wakeup() {
  static auto* cv = new std::condition_variable();
  return *cv;
}
// How often (in spans enqueued) a thread tests whether to wake the collector; a power of two.
inline constexpr std::uint64_t wake_check_interval = 64;
AGENTRACE_DETAIL_NOINLINE inline void request_drain() noexcept {
  if (!drain_on_demand.load(std::memory_order_relaxed)) return;
  drain_requested.store(true, std::memory_order_relaxed);
  collector_wakeup().notify_one();
}

// Counters written by their owning thread only (plain load + store, no RMW, no lock prefix).
// The collector reads them with acquire loads; `enqueued` is stored with release after a
// successful try_enqueue, so a collector that sees the count can dequeue the records.
// A span that ends is counted once, in the counter of where it went (a span that ended is one
// of these: spans ended = their sum), so the enqueue path bumps one counter, not two.
struct thread_counters {
  std::atomic<std::uint64_t> enqueued{0};
  std::atomic<std::uint64_t> dropped_queue_full{0};
  std::atomic<std::uint64_t> dropped_unsampled{0};

  AGENTRACE_DETAIL_ALWAYS_INLINE static void bump(std::atomic<std::uint64_t>& c,
                                                  std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }
};

struct counters_snapshot {
  std::uint64_t ended{0};
  std::uint64_t enqueued{0};
  std::uint64_t dropped_queue_full{0};
  std::uint64_t dropped_unsampled{0};
};

struct thread_state;

/// The most spans one thread's queue can hold: an explicit producer can only use as many blocks
/// as its initial block index has entries (queue_traits).
inline constexpr std::size_t max_thread_queue_size =
    queue_traits::BLOCK_SIZE * queue_traits::EXPLICIT_INITIAL_INDEX_SIZE;

/// The registry of per-thread span queues.
///
/// Why one queue per thread: a moodycamel explicit producer keeps every block it has ever
/// filled and reuses them only itself. With one queue shared by all threads, a thread that once
/// filled it would own every block for as long as it lives, and every other thread would drop
/// all its spans as "queue full" while the queue sat empty. With its own queue, a thread that
/// floods can only fill its own, and the block ring it cycles through is as large as its backlog,
/// not as the queue: a collector that keeps up keeps that ring small and in cache.
///
/// A thread's state outlives the thread only while its queue holds spans. When a thread exits,
/// its state (queue, producer token, counters) goes to the exited list, still holding the spans it
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

// std::uncaught_exceptions() is a call into libstdc++ that finds its thread-local data through
// __tls_get_addr: ~4 ns, twice per span. Under the Itanium C++ ABI (GCC and Clang on Linux and
// macOS, with libstdc++, libc++abi or libcxxrt) it reads the uncaughtExceptions field of the
// thread's __cxa_eh_globals, whose address __cxa_get_globals() returns and which stays put for
// the thread's life. Each thread_state keeps that address; a one-time self-test checks the
// field against std::uncaught_exceptions() while an exception is in flight, and the standard
// call is used where the ABI is not there or the test fails.
#if defined(__cpp_exceptions) && __has_include(<cxxabi.h>) && \
    (defined(__GLIBCXX__) || defined(_LIBCPPABI_VERSION) || defined(_LIBCPP_VERSION))
#define AGENTRACE_DETAIL_EH_GLOBALS 1
struct cxa_eh_globals_view {
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

inline const unsigned int* uncaught_counter_slow() noexcept {
  static const bool abi_ok = [] {
    bool ok = false;
    struct probe {
      bool& ok;
      ~probe() {
        const auto* g = reinterpret_cast<const cxa_eh_globals_view*>(abi::__cxa_get_globals());
        const int n = std::uncaught_exceptions();
        ok = g != nullptr && n >= 1 && g->uncaught_exceptions == static_cast<unsigned>(n);
      }
    };
    try {
      probe p{ok};
      throw 0;
    } catch (int) {
    }
    return ok;
  }();
  if (!abi_ok) return nullptr;
  return &reinterpret_cast<const cxa_eh_globals_view*>(abi::__cxa_get_globals())
              ->uncaught_exceptions;
}
#else
#define AGENTRACE_DETAIL_EH_GLOBALS 0
inline const unsigned int* uncaught_counter_slow() noexcept { return nullptr; }
#endif

// Aligned to a cache line: two threads' states never share one.
struct alignas(64) thread_state {
  explicit thread_state(std::size_t capacity)
      : queue(std::make_unique<span_queue>(capacity)),
        token(*queue),
        capacity(capacity),
        wake_mask(std::bit_floor(std::max<std::size_t>(capacity / 2, wake_check_interval)) - 1) {}
  std::unique_ptr<span_queue> queue;  // this thread's (one explicit producer: `token`)
  producer_token token;
  id_generator ids;
  thread_counters counters;
  std::size_t capacity;  // of `queue`, in spans (before moodycamel's rounding to blocks)
  // The thread asks the collector to drain each time its enqueue count is a multiple of
  // wake_mask + 1: half the queue, rounded down to a power of two (at least
  // wake_check_interval spans, so that finish() can test the count against that constant first).
  std::uint64_t wake_mask;
  std::uint32_t index{0};  // the thread's number (span_record::thread_index; informative only)
  // The owning thread's context chain id (context.hpp, next_chain_id): 64 bits, never reused, so
  // a span scope closed on another thread is reported to this thread and no other.
  std::uint64_t chain{0};
  // Raised by another thread that ended a span begun here (detail/remote_end.hpp).
  std::atomic<std::uint32_t> remote_ended{0};
  // The owning thread's count, or nullptr; set again when another thread takes the state over
  // (create_thread_state).
  const unsigned int* uncaught{uncaught_counter_slow()};
  // Set (under globals().mu) while the state is on the exited list; read without the lock by the
  // collector to skip the lock for live threads' states. Last: off the hot path's fields.
  std::atomic<bool> exited{false};
};

/// finish() calls this when a thread's enqueue count `n` is a multiple of wake_check_interval:
/// drain on demand when it is a multiple of the thread's wake_mask + 1.
AGENTRACE_DETAIL_NOINLINE inline void request_drain_at(const thread_state* ts,
                                                       std::uint64_t n) noexcept {
  if ((n & ts->wake_mask) == 0) request_drain();
}

/// std::uncaught_exceptions() of the calling thread, whose state is `ts` (may be null).
AGENTRACE_DETAIL_ALWAYS_INLINE inline int uncaught_exceptions(const thread_state* ts) noexcept {
  if (ts && ts->uncaught) [[likely]]
    return static_cast<int>(*ts->uncaught);
  return std::uncaught_exceptions();
}
/// The same for a span that loaded the recording state `on` and holds a state `ts` (not null):
/// with recording_eh_abi set, every state's counter pointer is set (no test).
AGENTRACE_DETAIL_ALWAYS_INLINE inline int uncaught_exceptions(const thread_state* ts,
                                                              std::uint8_t on) noexcept {
  if (on & recording_eh_abi) return static_cast<int>(*ts->uncaught);
  return uncaught_exceptions(ts);
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

/// Sets the capacity of per-thread queues created from now on (start() does it). Clamped to
/// what one queue can hold.
inline std::size_t set_queue_capacity(std::size_t capacity) noexcept {
  capacity = std::clamp<std::size_t>(capacity, 1, max_thread_queue_size);
  globals().queue_capacity.store(capacity, std::memory_order_release);
  return capacity;
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

/// Slow path of this_thread(): the thread's first span. Takes over an exited state of the
/// current capacity (an empty one, or at the bound the emptiest: see global_state), or allocates
/// one (queue and token). Returns nullptr, and the span is not recorded, if tracing was never
/// started or allocation fails.
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

/// This thread's producer state, or nullptr while the thread is exiting.
AGENTRACE_DETAIL_ALWAYS_INLINE inline thread_state* this_thread(thread_locals& t) noexcept {
  if (thread_state* s = t.state) [[likely]]
    return s;
  return create_thread_state();
}
/// The same, for callers that do not hold the thread's locals already.
AGENTRACE_DETAIL_ALWAYS_INLINE inline thread_state* this_thread() noexcept {
  return this_thread(tls);
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
