// SPDX-License-Identifier: MIT
// A 64-bit digest of a trace id, for hash tables keyed by trace (the trace assembler, the tail
// sampler's decisions, the eval statistics). Trace ids from other processes need not be random
// (a remote parent's), so both words are mixed.
#pragma once

#include <cstdint>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

inline std::uint64_t mix64(std::uint64_t x) noexcept {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
// A 64-bit digest of a trace id; different traces collide with probability ~2^-64.
inline std::uint64_t trace_key(const trace_id& t) noexcept { return mix64(t.hi ^ mix64(t.lo)); }

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
