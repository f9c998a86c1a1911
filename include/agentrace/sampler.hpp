// SPDX-License-Identifier: MIT
// Head sampling: always_on, always_off, trace-id ratio and parent-based, as OpenTelemetry defines
// them.
//
// Every built-in sampler reduces to one rejection threshold per parent case (OpenTelemetry's
// consistent probability sampling): a span is sampled when R >= T, where R is the trace id's
// rightmost 56 bits (W3C Trace Context Level 2 randomness) and T is the threshold of its case.
// always_on is T = 0, always_off is T = 2^56 (no R reaches it), traceidratio(p) is
// T = 2^56 - round(p * 2^56). A parent-based sampler picks one of five thresholds by whether the
// parent is absent, remote or local, sampled or not; a plain sampler uses the same one for all
// five. The hot path therefore decides with one load and one compare, and never calls through a
// pointer.
#pragma once

#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agentrace/context.hpp"
#include "agentrace/detail/sampling.hpp"
#include "agentrace/detail/ascii.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

namespace detail {
/// Rejection threshold T for a sampling probability: T = 2^56 - round(p * 2^56), computed exactly
/// (p * 2^56 only shifts the exponent of the double). p >= 1 samples everything, p <= 0 (or NaN,
/// or below 2^-57) nothing.
inline std::uint64_t ratio_threshold(double p) noexcept {
  if (!(p > 0.0)) return never_threshold;
  if (p >= 1.0) return 0;
  const double scaled = std::ldexp(p, 56);  // exact
  const auto keep = static_cast<std::uint64_t>(std::llround(scaled));
  return never_threshold - keep;
}

}  // namespace detail

/// A head sampler: decides at span begin whether a span is recorded and exported. An unsampled
/// span still has ids and still propagates its context (with the sampled flag clear); it is never
/// recorded nor enqueued. Built-ins only (OpenTelemetry's): configure one in code with
/// `config::sampler`, or with OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG.
class sampler {
 public:
  /// ParentBased(root=AlwaysOn), OpenTelemetry's default.
  sampler() noexcept : sampler(parent_based(always_on())) {}

  /// Samples every span, whatever its parent says.
  static sampler always_on() noexcept { return sampler(leaf{kind::on, 1.0, 0}); }
  /// Samples no span, whatever its parent says.
  static sampler always_off() noexcept {
    return sampler(leaf{kind::off, 0.0, detail::never_threshold});
  }
  /// Samples a fraction `ratio` of traces, deterministically by trace id (the same trace id always
  /// gets the same decision, in every process that uses this algorithm), ignoring the parent's
  /// sampled flag. Ratios are clamped to [0, 1]; a larger ratio samples a superset of a smaller
  /// one.
  static sampler trace_id_ratio(double ratio) noexcept {
    if (std::isnan(ratio)) ratio = 0.0;
    ratio = ratio < 0.0 ? 0.0 : (ratio > 1.0 ? 1.0 : ratio);
    return sampler(leaf{kind::ratio, ratio, detail::ratio_threshold(ratio)});
  }
  /// Follows the parent: `root` decides for spans without a parent, the four delegates for spans
  /// whose parent is remote/local and sampled/not (OpenTelemetry ParentBased and its defaults).
  /// A parent-based sampler given as a delegate contributes the delegate of the same case.
  static sampler parent_based(const sampler& root,
                              const sampler& remote_parent_sampled = always_on(),
                              const sampler& remote_parent_not_sampled = always_off(),
                              const sampler& local_parent_sampled = always_on(),
                              const sampler& local_parent_not_sampled = always_off()) noexcept {
    sampler s = root;
    s.parent_based_ = true;
    s.cases_[1] = remote_parent_sampled.cases_[1];
    s.cases_[2] = remote_parent_not_sampled.cases_[2];
    s.cases_[3] = local_parent_sampled.cases_[3];
    s.cases_[4] = local_parent_not_sampled.cases_[4];
    return s;
  }

  /// The decision for a span of trace `id` whose parent is `parent` (invalid: a root span).
  bool should_sample(const span_context& parent, const trace_id& id) const noexcept {
    return detail::trace_randomness(id) >= threshold(detail::case_of(parent));
  }

  /// The rejection threshold used in case `c` (0 = sample all, 2^56 = sample none).
  std::uint64_t threshold(sampling_case c) const noexcept {
    return cases_[static_cast<std::size_t>(c)].threshold;
  }
  bool is_parent_based() const noexcept { return parent_based_; }

  /// OpenTelemetry GetDescription: "AlwaysOnSampler", "AlwaysOffSampler",
  /// "TraceIdRatioBased{0.100000}", "ParentBased{root=...,remoteParentSampled=...,...}".
  std::string description() const {
    if (!parent_based_) return describe(cases_[0]);
    return "ParentBased{root=" + describe(cases_[0]) +
           ",remoteParentSampled=" + describe(cases_[1]) +
           ",remoteParentNotSampled=" + describe(cases_[2]) +
           ",localParentSampled=" + describe(cases_[3]) +
           ",localParentNotSampled=" + describe(cases_[4]) + "}";
  }

  /// The sampler OTEL_TRACES_SAMPLER names (always_on, always_off, traceidratio,
  /// parentbased_always_on, parentbased_always_off, parentbased_traceidratio) with its argument
  /// (the ratio of the *traceidratio ones, default 1.0). nullopt and `error` set for an unknown
  /// name; an invalid argument sets `error` and uses 1.0, as the specification says.
  static std::optional<sampler> from_name(std::string_view name,
                                          std::optional<std::string_view> arg,
                                          std::string* error = nullptr) {
    auto ratio = [&]() -> double {
      if (!arg) return 1.0;
      const std::string_view a = detail::trim_view(*arg);
      double v = 0.0;
      auto [p, ec] = std::from_chars(a.data(), a.data() + a.size(), v);
      if (ec != std::errc() || p != a.data() + a.size() || !(v >= 0.0 && v <= 1.0)) {
        if (error)
          *error = "OTEL_TRACES_SAMPLER_ARG='" + std::string(*arg) +
                   "' is not a probability in [0, 1]; using 1.0";
        return 1.0;
      }
      return v;
    };
    if (name == "always_on") return always_on();
    if (name == "always_off") return always_off();
    if (name == "traceidratio") return trace_id_ratio(ratio());
    if (name == "parentbased_always_on") return parent_based(always_on());
    if (name == "parentbased_always_off") return parent_based(always_off());
    if (name == "parentbased_traceidratio") return parent_based(trace_id_ratio(ratio()));
    if (error)
      *error = "OTEL_TRACES_SAMPLER='" + std::string(name) +
               "' is not supported here (always_on, always_off, traceidratio, "
               "parentbased_always_on, parentbased_always_off, parentbased_traceidratio); using "
               "parentbased_always_on";
    return std::nullopt;
  }

  friend bool operator==(const sampler& a, const sampler& b) noexcept {
    if (a.parent_based_ != b.parent_based_) return false;
    for (std::size_t i = 0; i < 5; ++i)
      if (a.cases_[i].threshold != b.cases_[i].threshold || a.cases_[i].k != b.cases_[i].k)
        return false;
    return true;
  }

 private:
  enum class kind : std::uint8_t { on, off, ratio };
  struct leaf {
    kind k;
    double ratio;
    std::uint64_t threshold;
  };
  explicit sampler(leaf l) noexcept { cases_.fill(l); }

  static std::string describe(const leaf& l) {
    switch (l.k) {
      case kind::on: return "AlwaysOnSampler";
      case kind::off: return "AlwaysOffSampler";
      case kind::ratio: break;
    }
    char buf[48];
    const auto r = std::to_chars(buf, buf + sizeof buf, l.ratio, std::chars_format::fixed, 6);
    return "TraceIdRatioBased{" + std::string(buf, r.ptr) + "}";
  }

  std::array<leaf, 5> cases_{};
  bool parent_based_{false};
};

namespace detail {

/// The configured sampler, for introspection (active_sampler()).
struct sampler_slot {
  std::mutex mu;
  agentrace::sampler value{};
};
inline sampler_slot& installed_sampler() {
  static sampler_slot* s = new sampler_slot();  // leaked: read by threads outliving main
  return *s;
}

/// Whether the installed sampler is ParentBased(root=AlwaysOn), the default: every root sampled,
/// every child sampled exactly when its parent is. start() and install_sampler() then tell the
/// hot path so (clock.hpp, recording_sample_as_parent), which skips the threshold comparisons.
inline bool samples_as_parent() noexcept {
  auto t = [](sampling_case c) {
    return sampling_thresholds[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
  };
  return t(sampling_case::root) == 0 && t(sampling_case::remote_parent_sampled) == 0 &&
         t(sampling_case::local_parent_sampled) == 0 &&
         t(sampling_case::remote_parent_not_sampled) == never_threshold &&
         t(sampling_case::local_parent_not_sampled) == never_threshold;
}

// start() calls this before it publishes recording_state (with the default-sampler bit from
// samples_as_parent); while tracing is on, this keeps that bit in step with `s` itself.
inline void install_sampler(const agentrace::sampler& s) {
  auto& slot = installed_sampler();
  std::lock_guard<std::mutex> lock(slot.mu);
  slot.value = s;
  for (std::size_t i = 0; i < 5; ++i)
    sampling_thresholds[i].store(s.threshold(static_cast<sampling_case>(i)),
                                 std::memory_order_relaxed);
  set_sample_as_parent(samples_as_parent());
}

}  // namespace detail

/// The sampler start() installed (ParentBased(root=AlwaysOn) before any start()).
inline sampler active_sampler() {
  auto& slot = detail::installed_sampler();
  std::lock_guard<std::mutex> lock(slot.mu);
  return slot.value;
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
