// SPDX-License-Identifier: MIT
// What a span's begin and end need of their thread: its producer state (span queue, id generator,
// counters), reached from the thread's locals. Light on purpose: every instrumented file compiles
// it. The registry that creates, lists and frees the states (mutex, condition variable, thread
// exit) is detail/thread_state.hpp, which only the setup side includes; the hot path reaches it
// through the few cold hooks below, installed when tracing is configured.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

#include "agentrace/context.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/random.hpp"
#include "agentrace/detail/span_ring.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

using span_queue = spsc_ring<span_record>;

inline std::atomic<bool> drain_on_demand{true};
inline std::atomic<bool> drain_requested{false};
// How often (in spans enqueued) a thread tests whether to wake the collector; a power of two.
inline constexpr std::uint64_t wake_check_interval = 64;

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
struct span_core;

/// The most spans one thread's queue can hold (set_queue_capacity clamps to it).
inline constexpr std::size_t max_thread_queue_size = std::size_t{64} * 1024;

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
      : queue(new span_queue(capacity)), capacity(capacity), wake_mask(wake_mask_for(capacity)) {}
  ~thread_state() { delete queue; }
  thread_state(const thread_state&) = delete;
  thread_state& operator=(const thread_state&) = delete;
  // This thread's (it is the one producer); owned (a raw pointer: <memory> is no light header).
  span_queue* queue;
  id_generator ids;
  thread_counters counters;
  std::size_t capacity;  // of `queue`, in spans (before the ring's rounding to runs of slots)
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

  // Half of `capacity`, at least wake_check_interval, rounded down to a power of two, less one.
  static constexpr std::uint64_t wake_mask_for(std::size_t capacity) noexcept {
    std::uint64_t half = capacity / 2 < wake_check_interval ? wake_check_interval : capacity / 2;
    std::uint64_t p = 1;
    while (p <= half / 2) p <<= 1;
    return p - 1;
  }
};

// Span limits as the collector configured them (OTEL_SPAN_*_COUNT_LIMIT); read off the hot path
// only (overflow attributes, events, links).
inline std::atomic<std::uint32_t> limit_attribute_count{128};
inline std::atomic<std::uint32_t> limit_event_count{128};
inline std::atomic<std::uint32_t> limit_link_count{128};

/// What spans call of the setup side, rarely, through pointers so that the code is compiled once
/// (in the file that starts tracing) and not in every instrumented file. The registry
/// (detail/thread_state.hpp): a thread's first span, a drain request every half queue, a span
/// scope closed on another thread. A recording span's slower work (detail/span_slow.hpp): events,
/// the status, attributes beyond the record's inline slots, the exception noted while unwinding.
/// A span's uncommon paths (detail/span_cold.hpp): its begin and end in another configuration than
/// the common one, unsampled and moved spans, a full queue, a scope closed out of order, the end
/// after shutdown. Null until set_queue_capacity() installs them (start() does): until then no
/// thread has a state, so no span records and none of them is called but create_thread_state,
/// which then finds nothing, and span_begin_other, which is not called then (span_core); a span
/// records, or has a context of its own, only on a thread that has a state, so such a span
/// always finds them installed.
struct registry_hooks {
  thread_state* (*create_thread_state)() noexcept;
  void (*request_drain)() noexcept;
  void (*report_remote_end)(std::uint64_t chain, std::uint64_t id,
                            const span_context& replaced) noexcept;
  void (*take_remote_ends)(thread_state* ts) noexcept;
  void (*add_event)(span_record& rec, std::string_view name, const kv* attrs, std::size_t n);
  void (*add_link)(span_record& rec, const span_context& ctx, const kv* attrs, std::size_t n);
  void (*record_exception)(span_record& rec, const std::exception& e);
  void (*set_status)(span_record& rec, status_code code, std::string_view description);
  void (*overflow)(span_record& rec, std::string_view key, attr_value&& v);
  void (*overflow_word)(span_record& rec, std::string_view key, slot_type type, std::uint64_t word);
  void (*overflow_string)(span_record& rec, std::string_view key, std::string_view v,
                          std::string* owned);
  void (*mark_unwinding)(span_record& rec) noexcept;
  void (*span_begin_other)(span_core& s, const span_site* site, const span_context* parent,
                           std::uint8_t on) noexcept;
  void (*span_finish_other)(span_core& s, std::uint8_t on) noexcept;
  void (*span_end_other)(span_core& s) noexcept;
  void (*span_finish_not_running)(span_core& s, bool scope) noexcept;
  void (*span_drop_queue_full)(span_core& s, thread_counters& c) noexcept;
  void (*span_ended_not_current)(std::uint64_t id, std::uint64_t chain,
                                 const span_context& replaced) noexcept;
  void (*span_take_record)(span_core& to, span_core& from) noexcept;
};
inline std::atomic<const registry_hooks*> installed_registry_hooks{nullptr};

/// The hooks, for a recording span (installed: see registry_hooks). Relaxed: the thread loaded
/// them with acquire when it made its state.
AGENTRACE_DETAIL_ALWAYS_INLINE inline const registry_hooks& span_slow_paths() noexcept {
  return *installed_registry_hooks.load(std::memory_order_relaxed);
}

/// Slow path of this_thread(): the thread's first span (the registry takes a state over or makes
/// one). nullptr, and the span is not recorded, if tracing was never configured.
AGENTRACE_DETAIL_NOINLINE inline thread_state* create_thread_state_hooked() noexcept {
  const registry_hooks* h = installed_registry_hooks.load(std::memory_order_acquire);
  return h ? h->create_thread_state() : nullptr;
}

/// finish() calls this when a thread's enqueue count `n` is a multiple of wake_check_interval:
/// drain on demand when it is a multiple of the thread's wake_mask + 1.
AGENTRACE_DETAIL_NOINLINE inline void request_drain_at(const thread_state* ts,
                                                       std::uint64_t n) noexcept {
  if ((n & ts->wake_mask) != 0) return;
  // A thread with a state has seen the hooks installed (create_thread_state_hooked).
  if (const registry_hooks* h = installed_registry_hooks.load(std::memory_order_acquire)) [[likely]]
    h->request_drain();
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

/// This thread's producer state, or nullptr while the thread is exiting.
AGENTRACE_DETAIL_ALWAYS_INLINE inline thread_state* this_thread(thread_locals& t) noexcept {
  if (thread_state* s = t.state) [[likely]]
    return s;
  return create_thread_state_hooked();
}
/// The same, for callers that do not hold the thread's locals already.
AGENTRACE_DETAIL_ALWAYS_INLINE inline thread_state* this_thread() noexcept {
  return this_thread(tls);
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
