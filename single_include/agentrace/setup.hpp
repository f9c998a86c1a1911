// SPDX-License-Identifier: MIT
// agentrace 0.1.0: single-header edition of include/agentrace/setup.hpp.
// Generated — do not edit. Made by scripts/amalgamate.py from the headers under include/;
// change those and run `python3 scripts/amalgamate.py`.
// Builds on <agentrace/span.hpp>: keep that single header beside this one.
// Builds on <agentrace/agentrace.hpp>: keep that single header beside this one.
#pragma once

// amalgamated: include/agentrace/setup.hpp
// SPDX-License-Identifier: MIT
// Setup, for the one file that starts tracing: agentrace::start(), its configuration, the
// `tracing` handle and the console and OTLP-JSON file exporters. Instrumented files include
// <agentrace/span.hpp> only.
//
//   #include <agentrace/setup.hpp>
//   auto tracing = agentrace::start({.service_name = "my-agent",
//                                    .exporters = {agentrace::console()}});
//
// Header-only (the default), this header also brings the collector and those exporters, which
// are compiled in the file that includes it. Built with the CMake option AGENTRACE_COMPILED_LIB,
// they are compiled once into the agentrace library and this header only declares them.

#include <agentrace/span.hpp>
// amalgamated: include/agentrace/detail/setup_decl.hpp
#ifndef AGENTRACE_SINGLE_DETAIL_SETUP_DECL_HPP
#define AGENTRACE_SINGLE_DETAIL_SETUP_DECL_HPP
// SPDX-License-Identifier: MIT
// What the file that starts tracing needs, declared with standard headers only: the
// configuration, start() and the `tracing` handle it returns, the counts it reports, and the
// factories of the built-in exporters. Included by <agentrace/setup.hpp> and by the headers that
// define these (config.hpp, collector.hpp, the exporters).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// amalgamated: include/agentrace/metrics/data.hpp
#ifndef AGENTRACE_SINGLE_METRICS_DATA_HPP
#define AGENTRACE_SINGLE_METRICS_DATA_HPP
// SPDX-License-Identifier: MIT
// Metrics as the exporters see them: owned points with their attributes, one metric_data per
// metric, in a metrics_batch that also names the resource and the instrumentation scope.

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

struct resource;

/// OTLP AggregationTemporality (values as in OTLP).
enum class aggregation_temporality : std::uint8_t { delta = 1, cumulative = 2 };

/// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.
enum class temporality_preference : std::uint8_t { cumulative, delta, lowmemory };

/// The kind of a metric's data.
enum class metric_type : std::uint8_t { sum, gauge, histogram };

/// A measurement that stands for its bucket: the span it came from.
struct exemplar {
  std::uint64_t time_unix_ns{0};
  double value{0};
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
};

/// One data point (one series of a metric).
struct metric_point {
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::uint64_t start_unix_ns{0};
  std::uint64_t time_unix_ns{0};
  // sum, gauge
  bool is_int{true};
  std::int64_t int_value{0};
  double double_value{0};
  // histogram
  std::uint64_t count{0};
  double sum{0}, min{0}, max{0};
  bool has_min_max{true};                    // false: min and max are not known (delta)
  std::vector<std::uint64_t> bucket_counts;  // bounds + 1
  std::vector<exemplar> exemplars;
};

/// One metric with its points.
struct metric_data {
  std::string name;
  std::string description;
  std::string unit;
  metric_type type{metric_type::sum};
  aggregation_temporality temporality{aggregation_temporality::cumulative};
  bool monotonic{true};        // sums
  std::vector<double> bounds;  // histograms: explicit bucket boundaries
  std::vector<metric_point> points;
};

namespace detail {

struct metrics_test_access;  // defined by tests only: forces series hash collisions

/// The 64-bit mixing step of the metrics' series hashes.
constexpr std::uint64_t metric_hash_mix(std::uint64_t h) noexcept {
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 32);
}

/// Mixes the bytes of `s` (eight at a time, then its length) into `h`. The last 1 to 7 bytes
/// are read by two overlapping loads, not byte by byte (a byte-wise copy into a word stalls the
/// load that reads the word back).
inline std::uint64_t metric_hash_bytes(std::uint64_t h, std::string_view s) noexcept {
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = metric_hash_mix(h ^ w);
  }
  std::uint64_t w = 0;
  if (n >= 4) {
    std::uint32_t a = 0, b = 0;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    w = a | static_cast<std::uint64_t>(b) << 32;
  } else if (n > 0) {
    w = static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) |
        static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
        static_cast<std::uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
  }
  return metric_hash_mix(h ^ w ^ (static_cast<std::uint64_t>(s.size()) << 56));
}

/// Whether `a` and `b` hold the same bytes; up to 16 compared inline by two overlapping loads
/// each (series lookups compare short attribute values on every measurement).
inline bool metric_bytes_equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8 && n <= 16) {
    std::uint64_t x0, x1, y0, y1;
    std::memcpy(&x0, p, 8);
    std::memcpy(&y0, q, 8);
    std::memcpy(&x1, p + n - 8, 8);
    std::memcpy(&y1, q + n - 8, 8);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n >= 4 && n < 8) {
    std::uint32_t x0, x1, y0, y1;
    std::memcpy(&x0, p, 4);
    std::memcpy(&y0, q, 4);
    std::memcpy(&x1, p + n - 4, 4);
    std::memcpy(&y1, q + n - 4, 4);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n < 4) {
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] != q[i]) return false;
    return true;
  }
  return std::memcmp(p, q, n) == 0;
}

/// The bucket of `v` among strictly increasing `bounds` (bucket i holds (bounds[i-1],
/// bounds[i]]; the last one everything above): std::lower_bound's index, found without
/// branches that depend on `v`. Up to 32 bounds, the count of those below `v`: independent
/// comparisons, where a search's are a chain. NaN falls into bucket 0.
inline std::size_t bucket_index(std::span<const double> bounds, double v) noexcept {
  const double* p = bounds.data();
  const std::size_t n = bounds.size();
  if (n <= 32) {
    std::size_t c0 = 0, c1 = 0, c2 = 0, c3 = 0, i = 0;
    for (; i + 4 <= n; i += 4) {  // four independent counts: no chain through one register
      c0 += static_cast<std::size_t>(p[i] < v);
      c1 += static_cast<std::size_t>(p[i + 1] < v);
      c2 += static_cast<std::size_t>(p[i + 2] < v);
      c3 += static_cast<std::size_t>(p[i + 3] < v);
    }
    for (; i < n; ++i) c0 += static_cast<std::size_t>(p[i] < v);
    return c0 + c1 + c2 + c3;
  }
  const double* base = p;
  for (std::size_t len = n; len > 1;) {
    const std::size_t half = len / 2;
    base += static_cast<std::size_t>(base[half - 1] < v) * half;
    len -= half;
  }
  return static_cast<std::size_t>(base - p) + (*base < v ? 1 : 0);
}

/// bucket_index's answer against one set of bounds, without comparing a value with every bound:
/// a table indexed by the top bits of a positive value's representation (its exponent and up to
/// three mantissa bits: a fraction of an octave) holds the first bucket a value of that range can
/// fall in, and a short scan over the bounds of the same range finishes. Values at or below the
/// smallest positive bound, and bounds the table cannot cover (not finite, too wide a range),
/// take bucket_index.
class bucket_finder {
 public:
  bucket_finder() = default;
  explicit bucket_finder(std::vector<double> bounds) : bounds_(std::move(bounds)) { build(); }

  std::span<const double> bounds() const noexcept { return bounds_; }
  std::size_t size() const noexcept { return bounds_.size(); }

  /// The bucket of `v`: bucket_index(bounds(), v). Inlined: a call costs as much as the lookup.
  AGENTRACE_DETAIL_ALWAYS_INLINE std::size_t operator()(double v) const noexcept {
    if (v > low_) [[likely]] {  // past the first positive bound (never true without a table)
      if (v > high_) return bounds_.size();
      const double* p = bounds_.data();
      std::size_t i = table_[(std::bit_cast<std::uint64_t>(v) >> shift_) - first_key_];
      // As many steps as a range holds bounds at most, each without a branch on v: a step
      // moves on only past a bound below v, so i stays at the last bound at the latest (v <= it).
      for (unsigned step = 0; step < steps_; ++step) i += static_cast<std::size_t>(p[i] < v);
      return i;
    }
    // At or below the first positive bound (or NaN): only the bounds before it can be below v.
    if (below_low_ == 0) return 0;
    return bucket_index(std::span<const double>(bounds_).first(below_low_), v);
  }

 private:
  static constexpr std::size_t max_table = 512;

  void build() {
    const std::size_t n = bounds_.size();
    std::size_t positive = 0;
    while (positive < n && !(bounds_[positive] > 0)) ++positive;
    below_low_ = n;  // without a table every value takes bucket_index over all bounds
    if (positive == n || n > 0xFFFF || !(bounds_[n - 1] < __builtin_inf())) return;
    const double low = bounds_[positive];
    for (int mantissa_bits = 3; mantissa_bits >= 0; --mantissa_bits) {
      const unsigned shift = 52u - static_cast<unsigned>(mantissa_bits);
      const std::uint64_t lo = std::bit_cast<std::uint64_t>(low) >> shift;
      const std::uint64_t hi = std::bit_cast<std::uint64_t>(bounds_[n - 1]) >> shift;
      if (hi - lo + 1 > max_table) continue;
      // Entry k: the bounds below every value whose top bits are lo + k (those with smaller
      // top bits: positive doubles order as their representations do).
      table_.assign(static_cast<std::size_t>(hi - lo + 1), 0);
      std::size_t below = positive;
      steps_ = 0;
      for (std::uint64_t k = lo; k <= hi; ++k) {
        while (below < n && (std::bit_cast<std::uint64_t>(bounds_[below]) >> shift) < k) ++below;
        table_[static_cast<std::size_t>(k - lo)] = static_cast<std::uint16_t>(below);
        std::size_t in_range = 0;  // bounds whose top bits are k
        while (below + in_range < n &&
               (std::bit_cast<std::uint64_t>(bounds_[below + in_range]) >> shift) == k)
          ++in_range;
        steps_ = std::max(steps_, static_cast<unsigned>(in_range));
      }
      shift_ = shift;
      first_key_ = lo;
      low_ = low;
      high_ = bounds_[n - 1];
      below_low_ = positive;
      return;
    }
  }

  std::vector<double> bounds_;
  std::vector<std::uint16_t> table_;  // empty: every value takes bucket_index
  double low_{__builtin_inf()};       // the first positive bound (+inf: no table)
  double high_{__builtin_inf()};      // the last bound
  std::size_t below_low_{0};          // the bounds a value at or below low_ is compared with
  unsigned shift_{52};
  unsigned steps_{0};  // the most bounds one range holds
  std::uint64_t first_key_{0};
};

}  // namespace detail

/// What an exporter receives for metrics. Valid for the duration of the call only.
struct metrics_batch {
  std::span<const metric_data> metrics;
  const agentrace::resource& resource;
  std::string_view scope_name;
  std::string_view scope_version;
  /// How long the exporter may take to export this batch, retries included, counted from the
  /// call (OTEL_METRIC_EXPORT_TIMEOUT); past it the exporter gives up on it and counts the loss.
  /// 0: no limit but the exporter's own.
  std::chrono::milliseconds export_timeout{0};
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
#endif  // AGENTRACE_SINGLE_METRICS_DATA_HPP
// amalgamated: include/agentrace/sampler.hpp
#ifndef AGENTRACE_SINGLE_SAMPLER_HPP
#define AGENTRACE_SINGLE_SAMPLER_HPP
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
#endif  // AGENTRACE_SINGLE_SAMPLER_HPP
// amalgamated: include/agentrace/version.hpp
#ifndef AGENTRACE_SINGLE_VERSION_HPP
#define AGENTRACE_SINGLE_VERSION_HPP
// SPDX-License-Identifier: MIT
// agentrace: the one place the version lives (CMake parses these lines).


#define AGENTRACE_VERSION_MAJOR 0
#define AGENTRACE_VERSION_MINOR 1
#define AGENTRACE_VERSION_PATCH 0
#define AGENTRACE_VERSION_STRING "0.1.0"

#ifndef AGENTRACE_ENABLED
#define AGENTRACE_ENABLED 1
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {
inline constexpr const char* version_string = AGENTRACE_VERSION_STRING;
}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
#endif  // AGENTRACE_SINGLE_VERSION_HPP

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

class exporter;  // agentrace/exporter.hpp
using exporter_ptr = std::shared_ptr<exporter>;
class collector;  // agentrace/collector.hpp

/// Span limits (OpenTelemetry "Span Limits"). 0 for the value length means "no limit".
struct span_limits {
  std::uint32_t attribute_count = 128;
  std::uint32_t attribute_value_length = 0;
  std::uint32_t event_count = 128;
  std::uint32_t link_count = 128;
  std::uint32_t event_attribute_count = 128;
  std::uint32_t link_attribute_count = 128;
};

/// Spans an exporter accepted and later gave up on, by reason (summed into agentrace::stats).
struct export_failures {
  std::uint64_t buffer_full = 0;        // dropped on arrival: the exporter's own buffer was full
  std::uint64_t rejected = 0;           // the receiver refused them (non-retryable answer,
                                        // OTLP partialSuccess.rejectedSpans)
  std::uint64_t retries_exhausted = 0;  // retryable failures until the export timeout ran out
  std::uint64_t shutdown = 0;           // still undelivered when shutdown's deadline passed
  std::uint64_t other = 0;              // any other reason (I/O error, TLS, bad URL ...)

  std::uint64_t total() const noexcept {
    return buffer_full + rejected + retries_exhausted + shutdown + other;
  }
  export_failures& operator+=(const export_failures& o) noexcept {
    buffer_full += o.buffer_full;
    rejected += o.rejected;
    retries_exhausted += o.retries_exhausted;
    shutdown += o.shutdown;
    other += o.other;
    return *this;
  }
};

/// Counts of the tail sampler (cumulative for one collector).
struct tail_sampling_counts {
  std::uint64_t traces_kept = 0;           // by the rule, the ratio or the rate limit
  std::uint64_t traces_dropped = 0;        // decided not kept
  std::uint64_t spans_dropped = 0;         // the spans of those traces (late ones included)
  std::uint64_t traces_decided_early = 0;  // decided before their local root ended: over a
                                           // bound, at max_hold, or at a flush / shutdown
  std::uint64_t held_traces = 0;           // held now (after the collector's last export)
  std::uint64_t held_spans = 0;            // held now
  std::uint64_t peak_held_spans = 0;       // the most ever held at once
  std::uint64_t held_bytes = 0;            // held now: the records and what they own
};

/// Tail sampling (agentrace/tail_sampling.hpp, docs/sampling.md): which whole local traces are
/// exported, decided when each ends. Zero / empty: the AGENTRACE_TAIL_SAMPLING* variable, then
/// the default. Off unless a rule or a ratio is set.
struct tail_sampling_config {
  std::string rule{};             // AGENTRACE_TAIL_SAMPLING: an eval query; matches are kept
  std::optional<double> ratio{};  // AGENTRACE_TAIL_SAMPLING_RATIO: share of the rest, default 0
  std::optional<double> rate_limit{};  // AGENTRACE_TAIL_SAMPLING_RATE_LIMIT: rest kept per second
  std::chrono::milliseconds wait{0};   // AGENTRACE_TAIL_SAMPLING_WAIT: after the root, 100 ms
  std::chrono::milliseconds max_hold{0};  // AGENTRACE_TAIL_SAMPLING_MAX_HOLD: 30000 ms
  std::size_t max_traces = 0;             // AGENTRACE_TAIL_SAMPLING_MAX_TRACES: held at once, 4096
  std::size_t max_spans = 0;              // AGENTRACE_TAIL_SAMPLING_MAX_SPANS: held at once, 65536
  std::size_t max_bytes = 0;              // AGENTRACE_TAIL_SAMPLING_MAX_BYTES: held at once, 16 MiB
  std::size_t percentile_window = 0;  // AGENTRACE_TAIL_SAMPLING_WINDOW: durations per name, 1024
  std::size_t percentile_warmup = 0;  // AGENTRACE_TAIL_SAMPLING_WARMUP: spans before pNN, 100
};

/// Metrics derived from spans on the collector thread (docs/metrics.md). Unset fields come from
/// the OTEL_METRIC* environment variables, then the defaults.
struct metrics_config {
  /// Unset: on when OTEL_METRICS_EXPORTER names an exporter (anything but "none").
  std::optional<bool> enabled{};
  /// traces.span.metrics.duration bucket boundaries in seconds; empty: the spanmetrics
  /// connector's defaults (metric_names::span_duration_buckets).
  std::vector<double> duration_buckets{};
  std::size_t cardinality_limit = 0;  // series per metric; 0: 2000
  /// Unset: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, else cumulative.
  std::optional<temporality_preference> temporality{};
  std::chrono::milliseconds export_interval{0};  // OTEL_METRIC_EXPORT_INTERVAL, default 60000 ms
  /// The time one metrics export may take, retries included; past it the exporter gives up on
  /// it and counts the loss. OTEL_METRIC_EXPORT_TIMEOUT, default 30000 ms.
  std::chrono::milliseconds export_timeout{0};
};

/// Everything start() takes. Zero / empty means "not set here": the matching OpenTelemetry
/// environment variable, then the documented default, fills it.
struct config {
  std::string service_name{};             // OTEL_SERVICE_NAME, else unknown_service:<exe>
  std::vector<exporter_ptr> exporters{};  // none: OTEL_TRACES_EXPORTER / AGENTRACE_OTLP_FILE
  std::vector<std::pair<std::string, std::string>> resource_attributes{};  // win over env
  std::size_t max_queue_size = 0;         // OTEL_BSP_MAX_QUEUE_SIZE: spans per thread, default 2048
  std::size_t max_export_batch_size = 0;  // OTEL_BSP_MAX_EXPORT_BATCH_SIZE, default 512
  std::chrono::milliseconds schedule_delay{0};  // OTEL_BSP_SCHEDULE_DELAY, default 5000 ms
  std::chrono::milliseconds export_timeout{0};  // OTEL_BSP_EXPORT_TIMEOUT, default 30000 ms
  std::chrono::milliseconds drain_interval{0};  // how often the collector drains, default 5 ms
  bool drain_on_demand = true;  // a thread whose queue is half full wakes the collector early
  std::optional<span_limits> limits{};   // OTEL_SPAN_* / OTEL_ATTRIBUTE_* limits
  bool read_environment = true;          // false: ignore every environment variable
  std::string scope_name = "agentrace";  // instrumentation scope
  std::string scope_version = AGENTRACE_VERSION_STRING;
  std::optional<agentrace::sampler>
      sampler{};                         // OTEL_TRACES_SAMPLER(_ARG), default parentbased_always_on
  tail_sampling_config tail_sampling{};  // needs <agentrace/tail_sampling.hpp>; default off
  metrics_config metrics{};              // span-derived metrics, exported through `exporters`
};

/// Defaults (documented in docs/configuration.md).
namespace defaults {
inline constexpr std::size_t max_queue_size = 2048;  // per thread (OpenTelemetry's default)
inline constexpr std::size_t max_export_batch_size = 512;
inline constexpr std::chrono::milliseconds schedule_delay{5000};
inline constexpr std::chrono::milliseconds export_timeout{30000};
inline constexpr std::chrono::milliseconds drain_interval{5};
}  // namespace defaults

/// Counts since the process started tracing (cumulative across start/shutdown cycles).
/// Every span that ended while tracing was on is in exactly one of: exported, export_failed,
/// dropped_*, or still queued (`queued()`).
struct stats {
  std::uint64_t spans_ended = 0;                // ended while tracing was on
  std::uint64_t spans_exported = 0;             // handed to the exporters, which succeeded
  std::uint64_t spans_export_failed = 0;        // in a batch an exporter reported failed
  std::uint64_t dropped_queue_full = 0;         // try_enqueue found the queue full
  std::uint64_t dropped_unsampled = 0;          // ended unsampled (never enqueued, by design)
  std::uint64_t dropped_not_running = 0;        // ended after shutdown began / while thread exited
  std::uint64_t spans_failed_in_exporters = 0;  // accepted by an exporter, later given up on
  export_failures exporter_failures{};          // the same, by reason (buffer full, rejected...)
  // Log records (emit_event), cumulative like the span counts.
  std::uint64_t logs_emitted = 0;              // accepted into the log queue
  std::uint64_t logs_exported = 0;             // handed to the exporters, which succeeded
  std::uint64_t logs_export_failed = 0;        // in a batch an exporter reported failed
  std::uint64_t logs_dropped_queue_full = 0;   // the log queue was full
  std::uint64_t logs_dropped_not_running = 0;  // emitted while tracing was not running
  // Tail sampling (agentrace/tail_sampling.hpp).
  std::uint64_t dropped_tail_sampled = 0;  // spans of traces the tail sampler did not keep
  tail_sampling_counts tail_sampling{};    // traces kept, dropped...: this collector's only
  // Span-derived metrics (zero when they are off).
  std::uint64_t metric_spans_observed = 0;         // spans the metrics counted (every one dequeued)
  std::uint64_t metric_points_overflowed = 0;      // measurements in an overflow series
  std::uint64_t metric_series = 0;                 // series held, every metric together
  std::uint64_t metric_exports = 0;                // metrics exports handed to the exporters
  std::uint64_t metric_exports_failed = 0;         // ... of which an exporter reported failed
  std::uint64_t metric_measurements_rejected = 0;  // instruments: negative counter adds, NaN
  // The current context's repair after spans end out of order, process-wide (context.hpp).
  std::uint64_t context_entries_lost = 0;    // notes of out-of-order ends lost to out of
                                             // memory: a context restored later may name an
                                             // ended span (a wrong parent); should stay 0
  std::uint64_t remote_ends_unrepaired = 0;  // spans closed away from their thread with nothing
                                             // to repair there (exited thread, coroutine chain)

  /// Spans lost for any reason other than sampling.
  std::uint64_t dropped_total() const noexcept {
    return dropped_queue_full + dropped_not_running + spans_export_failed;
  }
  /// Spans in flight: enqueued but not yet exported.
  std::uint64_t queued() const noexcept {
    const std::uint64_t done = spans_exported + spans_export_failed + dropped_queue_full +
                               dropped_unsampled + dropped_tail_sampled;
    return spans_ended > done ? spans_ended - done : 0;
  }
};

/// The RAII handle start() returns: its destructor shuts tracing down (flushes, joins).
class tracing {
 public:
  tracing() noexcept;
  explicit tracing(std::unique_ptr<collector> c) noexcept;
  tracing(tracing&& o) noexcept;
  tracing& operator=(tracing&& o) noexcept;
  ~tracing();

  explicit operator bool() const noexcept { return c_ != nullptr; }
  bool force_flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
  agentrace::stats stats() const;
  collector* get() const noexcept { return c_.get(); }

 private:
  std::unique_ptr<collector> c_;
};

/// Starts tracing: spans are recorded from now until the returned handle is destroyed or shut
/// down. With OTEL_SDK_DISABLED=true, returns an empty handle and nothing is recorded.
/// Throws std::logic_error if tracing is already started.
tracing start(config cfg = {});

/// Exporters named by OTEL_TRACES_EXPORTER / AGENTRACE_OTLP_FILE (collector.hpp).
std::vector<exporter_ptr> exporters_from_env();

/// The exporters the environment names, or `defaults` when it names none. Examples use this so
/// that any of them can be pointed elsewhere without a rebuild.
std::vector<exporter_ptr> exporters_from_env_or(std::vector<exporter_ptr> defaults);

/// A console tree exporter writing to stdout (OTEL_TRACES_EXPORTER=console); console.hpp has
/// the overload that takes console_options.
exporter_ptr console();

/// OTLP/JSON lines to a file (the OpenTelemetry Collector's file-exporter format).
exporter_ptr otlp_json_file(const std::string& path, bool append = false);

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
#endif  // AGENTRACE_SINGLE_DETAIL_SETUP_DECL_HPP

#if !defined(AGENTRACE_COMPILED_LIB)
#include <agentrace/agentrace.hpp>
#endif
