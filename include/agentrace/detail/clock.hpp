// SPDX-License-Identifier: MIT
// The span clock: raw invariant-TSC ticks on x86-64 (one instruction, ~11 ns under KVM), else
// steady_clock nanoseconds. Agent threads only read ticks; the collector converts them to Unix
// nanoseconds with a calibration it refreshes on every wake-up.
#pragma once

#include <atomic>
#include <cstdint>

#include "agentrace/detail/compiler.hpp"

// <chrono> costs every instrumented file a third of a second (libstdc++ 12 brings <sstream> with
// it in C++20): where POSIX clocks exist they are read directly, the same clocks steady_clock and
// system_clock read on Linux and macOS.
#if __has_include(<time.h>) && !defined(_WIN32)
#include <time.h>
#endif
#if !defined(CLOCK_MONOTONIC) || !defined(CLOCK_REALTIME)
#include <chrono>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>  // small; <x86intrin.h> (every intrinsic) is not needed for one rdtsc
#define AGENTRACE_DETAIL_HAS_TSC 1
#else
#define AGENTRACE_DETAIL_HAS_TSC 0
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

enum class clock_source : std::uint8_t { tsc = 0, steady = 1 };

// Chosen once by the first start() and never changed afterwards, so every tick ever recorded in
// this process has the same meaning. Relaxed: it is written before any span can be recorded
// (spans record only after start() published `recording_state` with release ordering).
inline std::atomic<clock_source> span_clock_source{clock_source::steady};

#if defined(CLOCK_MONOTONIC) && defined(CLOCK_REALTIME)
inline std::int64_t clock_ns(clockid_t id) noexcept {
  timespec t{};
  (void)clock_gettime(id, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + static_cast<std::int64_t>(t.tv_nsec);
}
inline std::int64_t steady_ns() noexcept { return clock_ns(CLOCK_MONOTONIC); }
inline std::int64_t system_ns() noexcept { return clock_ns(CLOCK_REALTIME); }
#else
inline std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t system_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
#endif

/// True when the CPU reports an invariant TSC (CPUID 0x80000007 EDX bit 8): constant rate,
/// does not stop in deep C-states, synchronised across cores.
inline bool invariant_tsc_available() noexcept {
#if AGENTRACE_DETAIL_HAS_TSC
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000u, nullptr)) < 0x80000007u) return false;
  __cpuid(0x80000007u, a, b, c, d);
  return (d & (1u << 8)) != 0;
#else
  return false;
#endif
}

/// What the hot path reads, in one byte, when a span begins and ends (recording_state, below): 0
/// while not recording; otherwise bits saying how. One load answers every
/// question a span asks of the process-wide configuration.
inline constexpr std::uint8_t recording_off = 0;
inline constexpr std::uint8_t recording_steady = 1;  // recording, spans read steady_clock
inline constexpr std::uint8_t recording_tsc = 2;     // with recording_steady: spans read the TSC
// With recording_steady: the sampler is ParentBased(root=AlwaysOn) (sampler.hpp,
// samples_as_parent), so a span's sampled flag is its parent's, or set for a root.
inline constexpr std::uint8_t recording_sample_as_parent = 4;
// With recording_steady: the C++ ABI's uncaught-exception counter can be read directly
// (thread_state.hpp, uncaught_counter_slow), so every thread_state's `uncaught` is set.
inline constexpr std::uint8_t recording_eh_abi = 8;
// The recording state in the common configuration: the best clock this platform has (the TSC where
// it can be read), the default sampler and the ABI's counter. A span compares the recording state
// with this value once and then runs a path with every bit known at compile time; any other
// configuration takes one out-of-line call that runs the same code with the bits tested at run
// time.
inline constexpr std::uint8_t recording_common =
    static_cast<std::uint8_t>(recording_steady | (AGENTRACE_DETAIL_HAS_TSC ? recording_tsc : 0) |
                              recording_sample_as_parent | recording_eh_abi);

// Tracing is recording (start() done, shutdown() not begun) when not 0, and then the bits above
// say how. Release on start, acquire on the hot path's first check would cost nothing more than
// relaxed on x86; relaxed is enough because a thread that sees it set late only misses spans
// begun before it saw it.
inline std::atomic<std::uint8_t> recording_state{recording_off};

/// The recording state for the span clock start() chose, for whether the installed sampler is
/// the default one (sampler.hpp, samples_as_parent) and for whether the ABI's uncaught-exception
/// counter can be read (thread_state.hpp, uncaught_counter_slow).
inline std::uint8_t recording_state_for(bool sample_as_parent, bool eh_abi) noexcept {
  return static_cast<std::uint8_t>(
      recording_steady |
      (span_clock_source.load(std::memory_order_relaxed) == clock_source::tsc ? recording_tsc : 0) |
      (sample_as_parent ? recording_sample_as_parent : 0) | (eh_abi ? recording_eh_abi : 0));
}

/// Sets or clears the default-sampler bit while recording (a sampler installed while tracing is
/// on); leaves 0 alone, so a sampler installed during shutdown does not switch recording back on.
inline void set_sample_as_parent(bool on) noexcept {
  std::uint8_t cur = recording_state.load(std::memory_order_relaxed);
  while (cur != recording_off) {
    const auto next = static_cast<std::uint8_t>(on ? cur | recording_sample_as_parent
                                                   : cur & ~recording_sample_as_parent);
    if (recording_state.compare_exchange_weak(cur, next, std::memory_order_release,
                                              std::memory_order_relaxed))
      return;
  }
}

/// Ticks of the span clock, for a span that has loaded the recording state `state` (not 0).
AGENTRACE_DETAIL_ALWAYS_INLINE inline std::uint64_t now_ticks(std::uint8_t state) noexcept {
#if AGENTRACE_DETAIL_HAS_TSC
  if (state & recording_tsc) return __builtin_ia32_rdtsc();
#else
  (void)state;
#endif
  return static_cast<std::uint64_t>(steady_ns());
}

/// Ticks of the span clock, read outside a span (no recording state at hand).
AGENTRACE_DETAIL_ALWAYS_INLINE inline std::uint64_t now_ticks() noexcept {
  return now_ticks(span_clock_source.load(std::memory_order_relaxed) == clock_source::tsc
                       ? recording_tsc
                       : recording_steady);
}

/// Converts span-clock ticks to Unix-epoch nanoseconds. Owned and refreshed by the collector:
/// the rate is measured between the anchor taken at start and the latest sample, so it grows
/// more exact the longer the process runs (a 20 ms span is converted with a rate measured over
/// at least 20 ms, i.e. to well under 0.01%).
class clock_converter {
 public:
  clock_converter() { reset(); }

  void reset() noexcept {
    source_ = span_clock_source.load(std::memory_order_relaxed);
    sample(anchor_ticks_, anchor_steady_);
    anchor_system_ = system_ns();
    last_ticks_ = anchor_ticks_;
    last_steady_ = anchor_steady_;
    ns_per_tick_ = 1.0;
    if (source_ == clock_source::tsc) ns_per_tick_ = initial_tsc_estimate();
  }

  /// A converter for records whose ticks already are Unix nanoseconds: spans built off the hot
  /// path with explicit times (e.g. evaluation results attached to an existing trace). Exact
  /// for times within ~100 days of `around_unix_ns`.
  static clock_converter unix_ns(std::uint64_t around_unix_ns) noexcept {
    clock_converter c;
    c.source_ = clock_source::steady;
    c.anchor_ticks_ = around_unix_ns;
    c.anchor_system_ = static_cast<std::int64_t>(around_unix_ns);
    c.last_ticks_ = around_unix_ns;
    c.ns_per_tick_ = 1.0;
    return c;
  }

  /// Takes a new (ticks, steady) sample; call before converting a batch.
  void refresh() noexcept {
    if (source_ == clock_source::steady) return;
    std::uint64_t t = 0;
    std::int64_t s = 0;
    sample(t, s);
    if (t <= anchor_ticks_ || s - anchor_steady_ < 1'000'000) return;  // < 1 ms: keep estimate
    last_ticks_ = t;
    last_steady_ = s;
    ns_per_tick_ = static_cast<double>(s - anchor_steady_) / static_cast<double>(t - anchor_ticks_);
  }

  std::uint64_t to_unix_ns(std::uint64_t ticks) const noexcept {
    // Scale the (small) tick delta in floating point, add the (large) anchor in integers: a
    // double holding ~1.8e18 ns would round every timestamp to 256 ns.
    const double delta = static_cast<double>(static_cast<std::int64_t>(ticks - anchor_ticks_));
    const std::int64_t ns = anchor_system_ + static_cast<std::int64_t>(delta * ns_per_tick_);
    return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns);
  }

  std::int64_t duration_ns(std::uint64_t start, std::uint64_t end) const noexcept {
    return static_cast<std::int64_t>(static_cast<double>(static_cast<std::int64_t>(end - start)) *
                                     ns_per_tick_);
  }

  double ns_per_tick() const noexcept { return ns_per_tick_; }
  clock_source source() const noexcept { return source_; }

 private:
  void sample(std::uint64_t& ticks, std::int64_t& steady) const noexcept {
    if (source_ == clock_source::steady) {
      steady = steady_ns();
      ticks = static_cast<std::uint64_t>(steady);
      return;
    }
    // Bracket the tick read by two steady reads and keep the tightest of three tries.
    std::int64_t best = INT64_MAX;
    for (int i = 0; i < 3; ++i) {
      const std::int64_t a = steady_ns();
      const std::uint64_t t = now_ticks();
      const std::int64_t b = steady_ns();
      if (b - a < best) {
        best = b - a;
        ticks = t;
        steady = a + (b - a) / 2;
      }
    }
  }

  // Until 1 ms has passed since the anchor, estimate the TSC rate over a 1 ms busy wait done
  // once per process (only start() pays it).
  static double initial_tsc_estimate() noexcept {
    static const double estimate = [] {
      const std::int64_t s0 = steady_ns();
      const std::uint64_t t0 = now_ticks();
      std::int64_t s1 = s0;
      while (s1 - s0 < 1'000'000) s1 = steady_ns();
      const std::uint64_t t1 = now_ticks();
      return static_cast<double>(s1 - s0) / static_cast<double>(t1 - t0);
    }();
    return estimate;
  }

  clock_source source_{clock_source::steady};
  std::uint64_t anchor_ticks_{0};
  std::int64_t anchor_steady_{0};
  std::int64_t anchor_system_{0};
  std::uint64_t last_ticks_{0};
  std::int64_t last_steady_{0};
  double ns_per_tick_{1.0};
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
