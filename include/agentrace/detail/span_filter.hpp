// SPDX-License-Identifier: MIT
// What the collector asks of a processor that holds finished spans back and decides which are
// exported: the tail sampler (agentrace/tail_sampling.hpp). The collector knows only this
// interface, so a collector without tail sampling never compiles the query language; the
// header that implements it registers a factory here when it is included.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/setup_decl.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

struct resource;

namespace detail {

/// What take_ready() decides.
enum class take_mode : std::uint8_t {
  due,    // the traces that are due: local root ended plus the wait, or at the maximum hold
  ended,  // also every trace whose local root has ended, without the wait (force_flush)
  all     // every trace held, its local root ended or not (shutdown)
};

class span_filter {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~span_filter() = default;
  /// Takes records [0, n) of `pending` (each is moved out and left empty).
  virtual void hold(std::vector<span_record>& pending, std::size_t n, const clock_converter& clock,
                    time_point now) = 0;
  /// Decides the traces `mode` names and moves up to pending.size() records of kept traces to
  /// the front of `pending`; returns how many. Called until it returns 0.
  virtual std::size_t take_ready(std::vector<span_record>& pending, const clock_converter& clock,
                                 time_point now, take_mode mode) = 0;
  /// True while spans are held or kept ones wait to be exported.
  virtual bool holding() const noexcept = 0;
  /// The earliest time take_ready() may have something to decide or export (a held trace's
  /// local root ended plus the wait, a trace at its maximum hold, kept spans waiting);
  /// time_point::max() when nothing is held. The collector wakes then, not only at its
  /// schedule.
  virtual time_point next_due() const noexcept = 0;
  /// Safe to call from any thread.
  virtual tail_sampling_counts counts() const noexcept = 0;
};

/// Builds the tail sampler for a configuration (nullptr: tail sampling is off). A bad rule in
/// code throws; one from the environment is reported and tail sampling left off.
using span_filter_factory = std::unique_ptr<span_filter> (*)(const tail_sampling_config&,
                                                             const span_limits&, const resource&,
                                                             bool read_env);
/// Spans of traces a tail sampler did not keep, by any collector of this process (cumulative,
/// like the other span counts of agentrace::stats).
inline std::atomic<std::uint64_t> tail_sampled_out_total{0};

/// Set by agentrace/tail_sampling.hpp when it is included.
inline std::atomic<span_filter_factory> tail_sampler_factory{nullptr};

}  // namespace detail
}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
