// SPDX-License-Identifier: MIT
// Per-thread producer state, the process-wide span queue and the registry that sums per-thread
// counters for stats() and force_flush().
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/concurrent_queue.hpp"
#include "agentrace/detail/random.hpp"
#include "agentrace/record.hpp"

namespace agentrace::detail {

using span_queue = concurrent_queue<span_record>;

// Tracing is recording (start() done, shutdown() not begun). Release on start, acquire on the
// hot path's first check would cost nothing more than relaxed on x86; relaxed is enough because a
// thread that sees `true` late only misses spans begun before it saw it.
inline std::atomic<bool> tracing_on{false};

// Counters written by their owning thread only (plain load + store, no RMW, no lock prefix).
// The collector reads them with acquire loads; `enqueued` is stored with release after a
// successful try_enqueue, so a collector that sees the count can dequeue the records.
struct thread_counters {
  std::atomic<std::uint64_t> ended{0};
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
  std::uint64_t dropped_thread_exit{0};
};

struct thread_state;

/// The process-wide queue and thread registry. The queue is created by the first start() and
/// lives until the process exits: producer tokens in other threads' TLS refer to it, and a
/// token must never outlive its queue.
struct global_state {
  std::mutex mu;
  std::unique_ptr<span_queue> queue;  // guarded by mu for creation; never replaced
  std::size_t queue_capacity{0};
  std::atomic<span_queue*> queue_ptr{nullptr};
  std::vector<thread_state*> threads;  // live threads that recorded a span
  counters_snapshot retired{};         // sums of threads that have exited
  std::atomic<std::uint64_t> dropped_thread_exit{0};
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
  explicit thread_state(span_queue& q) : queue(&q), token(q) {}
  span_queue* queue;
  producer_token token;
  id_generator ids;
  thread_counters counters;
  std::uint32_t index{0};
  // Raised by another thread that ended a span begun here (detail/remote_end.hpp).
  std::atomic<std::uint32_t> remote_ended{0};
  const unsigned int* uncaught{uncaught_counter_slow()};  // this thread's count, or nullptr
};

/// std::uncaught_exceptions() of the calling thread, whose state is `ts` (may be null).
AGENTRACE_DETAIL_ALWAYS_INLINE inline int uncaught_exceptions(const thread_state* ts) noexcept {
  if (ts && ts->uncaught) [[likely]]
    return static_cast<int>(*ts->uncaught);
  return std::uncaught_exceptions();
}

inline constinit thread_local thread_state* tls_state = nullptr;
inline constinit thread_local bool tls_exited = false;

/// Owns the thread's state; its destructor runs at thread exit.
struct thread_state_owner {
  std::unique_ptr<thread_state> state;
  ~thread_state_owner() {
    tls_exited = true;
    tls_state = nullptr;
    if (!state) return;
    auto& g = globals();
    std::lock_guard<std::mutex> lock(g.mu);
    auto& c = state->counters;
    g.retired.ended += c.ended.load(std::memory_order_acquire);
    g.retired.enqueued += c.enqueued.load(std::memory_order_acquire);
    g.retired.dropped_queue_full += c.dropped_queue_full.load(std::memory_order_acquire);
    g.retired.dropped_unsampled += c.dropped_unsampled.load(std::memory_order_acquire);
    std::erase(g.threads, state.get());
    // Records this thread enqueued stay in the queue: the producer is only marked inactive.
    state.reset();
  }
};

/// The queue if tracing was ever started in this process.
inline span_queue* queue_if_created() noexcept {
  return globals().queue_ptr.load(std::memory_order_acquire);
}

/// Creates the queue on first use; later calls return the same queue (its capacity is fixed).
inline span_queue& ensure_queue(std::size_t capacity) {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  if (!g.queue) {
    // Enough blocks for `capacity` spans; try_enqueue never allocates more.
    g.queue = std::make_unique<span_queue>(capacity);
    g.queue_capacity = capacity;
    g.queue_ptr.store(g.queue.get(), std::memory_order_release);
  }
  return *g.queue;
}

/// Slow path of this_thread(): the thread's first span (allocates the state and the token).
/// Returns nullptr, and the span is not recorded, if that fails (out of memory).
AGENTRACE_DETAIL_NOINLINE inline thread_state* create_thread_state() noexcept {
  if (tls_exited) return nullptr;
  span_queue* q = queue_if_created();
  if (!q) return nullptr;
  static thread_local thread_state_owner owner;
  try {
    auto state = std::make_unique<thread_state>(*q);
    auto& g = globals();
    {
      std::lock_guard<std::mutex> lock(g.mu);
      state->index = g.next_thread_index++;
      g.threads.push_back(state.get());
    }
    owner.state = std::move(state);
  } catch (...) {
    return nullptr;
  }
  tls_state = owner.state.get();
  return tls_state;
}

/// This thread's producer state, or nullptr while the thread is exiting.
AGENTRACE_DETAIL_ALWAYS_INLINE inline thread_state* this_thread() noexcept {
  if (thread_state* s = tls_state) [[likely]]
    return s;
  return create_thread_state();
}

/// Sums of all threads' counters, live and exited.
inline counters_snapshot sum_counters() {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  counters_snapshot s = g.retired;
  for (thread_state* t : g.threads) {
    s.ended += t->counters.ended.load(std::memory_order_acquire);
    s.enqueued += t->counters.enqueued.load(std::memory_order_acquire);
    s.dropped_queue_full += t->counters.dropped_queue_full.load(std::memory_order_acquire);
    s.dropped_unsampled += t->counters.dropped_unsampled.load(std::memory_order_acquire);
  }
  s.dropped_thread_exit = g.dropped_thread_exit.load(std::memory_order_relaxed);
  return s;
}

}  // namespace agentrace::detail
