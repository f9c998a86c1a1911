// SPDX-License-Identifier: MIT
// What a span's begin needs of the sampler (sampler.hpp): the thresholds it compares a trace id's
// randomness against, one per parent case, and the comparisons. Light: every instrumented file
// compiles it; the sampler itself and its configuration are sampler.hpp's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Which delegate of a parent-based sampler decides (OpenTelemetry ParentBased).
enum class sampling_case : std::uint8_t {
  root = 0,                   // no parent
  remote_parent_sampled = 1,  // parent extracted from another process, sampled flag set
  remote_parent_not_sampled = 2,
  local_parent_sampled = 3,  // parent in this process
  local_parent_not_sampled = 4,
};

namespace detail {
inline constexpr std::uint64_t randomness_mask = (std::uint64_t{1} << 56) - 1;
inline constexpr std::uint64_t never_threshold = std::uint64_t{1} << 56;  // above every R

/// The randomness value R of a trace id: its rightmost 7 bytes (W3C Trace Context Level 2).
constexpr std::uint64_t trace_randomness(const trace_id& id) noexcept {
  return id.lo & randomness_mask;
}

constexpr sampling_case case_of(const span_context& parent) noexcept {
  if (!parent.valid()) return sampling_case::root;
  if (parent.remote)
    return parent.sampled() ? sampling_case::remote_parent_sampled
                            : sampling_case::remote_parent_not_sampled;
  return parent.sampled() ? sampling_case::local_parent_sampled
                          : sampling_case::local_parent_not_sampled;
}

// The thresholds the hot path compares against, by sampling_case. Written by install_sampler():
// from start() before it publishes `recording_state`, or while tracing is on; relaxed loads are
// enough: a span that races with it sees either the old or the new sampler, both valid. Default:
// ParentBased(root=AlwaysOn).
inline std::atomic<std::uint64_t> sampling_thresholds[5] = {0, 0, never_threshold, 0,
                                                            never_threshold};

/// W3C flags of a new root span whose trace id's low word is `lo`: the ids we generate are random
/// (Level 2 random flag); sampled by the root threshold.
inline std::uint8_t sample_root(std::uint64_t lo) noexcept {
  const bool s = (lo & randomness_mask) >= sampling_thresholds[0].load(std::memory_order_relaxed);
  return static_cast<std::uint8_t>(flag_random | (s ? flag_sampled : 0));
}
inline std::uint8_t sample_root(const trace_id& id) noexcept { return sample_root(id.lo); }

/// W3C flags of a new span whose (valid) parent has trace id low word `lo`, W3C flags
/// `parent_flags` and remoteness `remote`: the parent's flags with the sampled bit the sampler
/// decides for the parent's case.
inline std::uint8_t sample_child(std::uint64_t lo, std::uint8_t parent_flags,
                                 bool remote) noexcept {
  // case_of(): 1 + (local ? 2 : 0) + (sampled ? 0 : 1)
  const std::size_t c = 1u + (remote ? 0u : 2u) + ((parent_flags & flag_sampled) ? 0u : 1u);
  const bool s = (lo & randomness_mask) >= sampling_thresholds[c].load(std::memory_order_relaxed);
  return static_cast<std::uint8_t>((parent_flags & ~flag_sampled) | (s ? flag_sampled : 0));
}
inline std::uint8_t sample_child(const span_context& parent) noexcept {
  return sample_child(parent.trace_id.lo, parent.flags, parent.remote);
}

}  // namespace detail

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
