// SPDX-License-Identifier: MIT
// Compiler helpers for the hot path: inlining control and a register barrier.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define AGENTRACE_DETAIL_ALWAYS_INLINE __attribute__((always_inline))
#define AGENTRACE_DETAIL_NOINLINE __attribute__((noinline))
#define AGENTRACE_DETAIL_COLD __attribute__((noinline, cold))
#else
#define AGENTRACE_DETAIL_ALWAYS_INLINE
#define AGENTRACE_DETAIL_NOINLINE
#define AGENTRACE_DETAIL_COLD
#endif

namespace agentrace::detail {

/// Returns `v` unchanged, but the compiler must hold it in a general-purpose register here.
///
/// Why: the hot path writes a span's fields with 8-, 4- and 1-byte stores and copies them a few
/// nanoseconds later. Left alone, compilers merge adjacent field copies into 16-byte vector loads;
/// a load that spans several recent stores cannot be forwarded from the store buffer and waits
/// ~12 cycles for them to reach L1 (a "store-forwarding stall"), several times per span. Passing
/// each copied field through a register keeps every load the same width as the store that wrote
/// it, so it is forwarded.
template <class T>
AGENTRACE_DETAIL_ALWAYS_INLINE inline T opaque(T v) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  asm("" : "+r"(v));
#endif
  return v;
}

}  // namespace agentrace::detail
