// SPDX-License-Identifier: MIT
// Per-thread id generator: wyrand (one 64x64->128 multiply per id), seeded once per thread from
// the system's entropy.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(__linux__) && __has_include(<sys/random.h>)
#include <sys/random.h>
#define AGENTRACE_DETAIL_HAS_GETRANDOM 1
#else
#include <random>
#define AGENTRACE_DETAIL_HAS_GETRANDOM 0
#endif

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// 64 bits of the system's entropy (getrandom on Linux: what std::random_device reads there,
/// without <random>, which every instrumented file would compile), mixed with the calling
/// thread's stack address and a process-wide count, so two threads never start alike.
inline std::uint64_t entropy_seed() noexcept {
  std::uint64_t seed = 0;
#if AGENTRACE_DETAIL_HAS_GETRANDOM
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) seed = 0;
#else
  try {
    std::random_device rd;
    seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  } catch (...) {
  }
#endif
  static std::atomic<std::uint64_t> count{0};
  const int here = 0;
  seed ^= reinterpret_cast<std::uintptr_t>(&here) * 0x9e3779b97f4a7c15ull;
  seed += count.fetch_add(1, std::memory_order_relaxed) * 0xbf58476d1ce4e5b9ull;
  return seed;
}

/// wyrand (Wang Yi, public domain): a 64-bit state advanced by a Weyl increment and finalised by
/// a folded 128-bit multiply. It passes BigCrush and PractRand and costs ~6 instructions per id,
/// against ~18 for xoshiro256++ (whose four words must be loaded and stored around each call):
/// a root span draws three ids.
class id_generator {
 public:
  id_generator() noexcept : state_(entropy_seed()) {}
  explicit id_generator(std::uint64_t seed) noexcept : state_(seed) {}

  /// A non-zero 64-bit value (ids must never be all zeros).
  AGENTRACE_DETAIL_ALWAYS_INLINE std::uint64_t next_nonzero() noexcept {
    const std::uint64_t v = next();
    if (v == 0) [[unlikely]]
      return next_nonzero_slow();
    return v;
  }

  /// A new trace id's two words (`lo` non-zero) and a span id (non-zero), the state loaded and
  /// stored once.
  AGENTRACE_DETAIL_ALWAYS_INLINE void next_root_ids(std::uint64_t& hi, std::uint64_t& lo,
                                                    std::uint64_t& id) noexcept {
    const std::uint64_t s1 = state_ + increment, s2 = s1 + increment, s3 = s2 + increment;
    state_ = s3;
    hi = output(s1);
    lo = output(s2);
    id = output(s3);
    if (lo == 0) [[unlikely]]
      lo = next_nonzero_slow();
    if (id == 0) [[unlikely]]
      id = next_nonzero_slow();
  }

  AGENTRACE_DETAIL_ALWAYS_INLINE std::uint64_t next() noexcept {
    state_ += increment;
    return output(state_);
  }

  /// 64x64->128-bit multiply, folded (high half xor low half).
  static std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__)
    __extension__ using u128 = unsigned __int128;
    const u128 r = static_cast<u128>(a) * b;
    return static_cast<std::uint64_t>(r >> 64) ^ static_cast<std::uint64_t>(r);
#else
    return mix_portable(a, b);
#endif
  }
  static std::uint64_t mix_portable(std::uint64_t a, std::uint64_t b) noexcept {
    const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
    const std::uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
    const std::uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    const std::uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    const std::uint64_t lo = (mid << 32) | (ll & 0xffffffffu);
    const std::uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return hi ^ lo;
  }

 private:
  static constexpr std::uint64_t increment = 0xa0761d6478bd642full;
  static constexpr std::uint64_t finalizer = 0xe7037ed1a0b428dbull;

  // The value drawn for state `s`.
  static std::uint64_t output(std::uint64_t s) noexcept { return mix(s, s ^ finalizer); }

  // Out of line: a zero comes once in 2^64 draws.
  AGENTRACE_DETAIL_NOINLINE std::uint64_t next_nonzero_slow() noexcept {
    std::uint64_t v = next();
    while (v == 0) v = next();
    return v;
  }

  std::uint64_t state_;
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
