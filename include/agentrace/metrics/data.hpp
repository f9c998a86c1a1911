// SPDX-License-Identifier: MIT
// Metrics as the exporters see them: owned points with their attributes, one metric_data per
// metric, in a metrics_batch that also names the resource and the instrumentation scope.
#pragma once

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

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

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
