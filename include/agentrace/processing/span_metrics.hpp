// SPDX-License-Identifier: MIT
// Metrics derived from spans on the collector thread, from every span that reaches it (before
// any sampling decision downstream): RED metrics per {service.name, span.name, span.kind,
// status.code} as the OpenTelemetry Collector's spanmetrics connector computes them, and the
// GenAI client metrics (operation duration, token usage, time to first chunk) from inference
// spans. Histogram buckets keep an exemplar each (the trace and span of an errored or the
// slowest span that fell into it). Each metric holds at most `cardinality_limit` series; points
// past it go to one overflow series (otel.metric.overflow=true) and are counted.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/event.hpp"
#include "agentrace/metrics/data.hpp"
#include "agentrace/metrics/names.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Options of the span-derived metrics (config::metrics).
struct span_metrics_options {
  /// Bucket boundaries (seconds) of traces.span.metrics.duration, strictly increasing.
  std::vector<double> duration_buckets{metric_names::span_duration_buckets.begin(),
                                       metric_names::span_duration_buckets.end()};
  /// Series per metric, the overflow series included (OpenTelemetry's default: 2000).
  std::size_t cardinality_limit = 2000;
  /// Cumulative (the default, what Prometheus needs), delta, or lowmemory (delta for counters
  /// and histograms: every span-derived metric).
  temporality_preference temporality = temporality_preference::cumulative;
};

/// What the span-derived metrics have counted (cumulative).
struct span_metrics_stats {
  std::uint64_t spans_observed = 0;     // spans the metrics saw
  std::uint64_t points_overflowed = 0;  // measurements recorded in an overflow series
  std::uint64_t series = 0;             // series held, every metric together
};

namespace detail {

/// Text of a span kind / status code as the spanmetrics connector writes them.
constexpr std::string_view span_kind_text(span_kind k) noexcept {
  switch (k) {
    case span_kind::server: return "SPAN_KIND_SERVER";
    case span_kind::client: return "SPAN_KIND_CLIENT";
    case span_kind::producer: return "SPAN_KIND_PRODUCER";
    case span_kind::consumer: return "SPAN_KIND_CONSUMER";
    default: return "SPAN_KIND_INTERNAL";
  }
}
constexpr std::string_view status_code_text(status_code c) noexcept {
  switch (c) {
    case status_code::ok: return "STATUS_CODE_OK";
    case status_code::error: return "STATUS_CODE_ERROR";
    default: return "STATUS_CODE_UNSET";
  }
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

using owned_attributes = std::vector<std::pair<std::string, attr_value>>;

/// One histogram metric's series, keyed by the text of their attribute values.
class histogram_table {
 public:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

  histogram_table(std::string_view name, std::string_view description, std::string_view unit,
                  std::vector<double> bounds, std::size_t limit)
      : name_(name),
        description_(description),
        unit_(unit),
        bounds_(std::move(bounds)),
        limit_(std::max<std::size_t>(limit, 2)) {}

  /// The series for `key`, made on first use with the attributes `make_attributes()` returns;
  /// past the cardinality limit, the overflow series.
  template <class MakeAttributes>
  std::uint32_t series_for(std::string_view key, MakeAttributes&& make_attributes,
                           std::uint64_t now_unix_ns) {
    if (auto it = index_.find(key); it != index_.end()) return it->second;
    if (index_.size() + 1 >= limit_) {  // the overflow series takes the last place
      overflowing_ = true;
      if (overflow_ == none) {
        owned_attributes a;
        a.emplace_back(std::string(metric_names::overflow_attribute), attr_value{true});
        overflow_ = add(std::move(a), now_unix_ns);
      }
      return overflow_;
    }
    const std::uint32_t i = add(make_attributes(), now_unix_ns);
    index_.emplace(std::string(key), i);
    return i;
  }

  /// Records `v` (not negative, not NaN) in series `i`; `e`: the span it came from, kept as
  /// the bucket's exemplar when it is the bucket's first, or this one is an error and that one
  /// not, or it is as bad and at least as large. `error`: error_bit() of the span's status.
  AGENTRACE_DETAIL_ALWAYS_INLINE void record(std::uint32_t i, double v, const exemplar& e,
                                             std::uint64_t error) {
    series& s = series_[i];
    const std::size_t b = bounds_(v);
    s.min = std::min(s.min, v);  // +inf and -inf while the series has no point
    s.max = std::max(s.max, v);
    ++s.count;
    s.sum += v;
    bucket& k = s.buckets[b];
    // One comparison decides the exemplar: the rank orders (error, value), and a bucket's
    // first measurement is at least the rank 0 it starts with.
    const std::uint64_t rank = std::bit_cast<std::uint64_t>(v + 0.0) | error;
    ++k.count;
    if (rank >= k.rank) {
      k.rank = rank;
      k.e = e;
      k.e.value = v;
    }
  }

  /// The rank bit of an errored span, above every value's bits: a non-negative value's bits
  /// order as the value (-0 made +0) and leave the sign bit clear.
  static constexpr std::uint64_t error_bit(bool error) noexcept {
    return static_cast<std::uint64_t>(error) << 63;
  }

  /// Appends this metric's points (none when no series has any) as a histogram, and as a
  /// monotonic sum of the counts named `calls_name` when it is not empty. Delta: the series are
  /// reset afterwards and those without new points are left out.
  void collect(std::vector<metric_data>& out, std::uint64_t now_unix_ns, aggregation_temporality t,
               std::string_view calls_name = {}, std::string_view calls_description = {},
               std::string_view calls_unit = {}) {
    metric_data h;
    h.name = name_;
    h.description = description_;
    h.unit = unit_;
    h.type = metric_type::histogram;
    h.temporality = t;
    h.bounds.assign(bounds_.bounds().begin(), bounds_.bounds().end());
    metric_data c;
    c.name = calls_name;
    c.description = calls_description;
    c.unit = calls_unit;
    c.type = metric_type::sum;
    c.temporality = t;
    c.monotonic = true;
    const series* overflow = overflow_ != none ? &series_[overflow_] : nullptr;
    for (series& s : series_) {
      if (s.count == 0 && t == aggregation_temporality::delta) continue;
      metric_point p;
      p.attributes = s.attributes;
      p.start_unix_ns = s.start_unix_ns;
      p.time_unix_ns = std::max(now_unix_ns, s.start_unix_ns);
      p.count = s.count;
      p.sum = s.sum;
      p.min = s.count != 0 ? s.min : 0;
      p.max = s.count != 0 ? s.max : 0;
      p.bucket_counts.reserve(s.buckets.size());
      for (const bucket& k : s.buckets) {
        p.bucket_counts.push_back(k.count);
        if (k.count != 0) p.exemplars.push_back(k.e);
      }
      if (!calls_name.empty()) {
        metric_point q;
        q.attributes = s.attributes;
        q.start_unix_ns = p.start_unix_ns;
        q.time_unix_ns = p.time_unix_ns;
        q.is_int = true;
        q.int_value = static_cast<std::int64_t>(s.count);
        c.points.push_back(std::move(q));
      }
      h.points.push_back(std::move(p));
      if (t == aggregation_temporality::delta) {
        if (&s == overflow) overflowed_before_ += s.count;
        s.reset(now_unix_ns);
      }
    }
    if (h.points.empty()) return;
    if (!calls_name.empty()) out.push_back(std::move(c));
    out.push_back(std::move(h));
  }

  std::size_t series_count() const noexcept { return series_.size(); }
  bool is_overflow(std::uint32_t i) const noexcept { return i == overflow_; }
  /// Measurements recorded in the overflow series.
  std::uint64_t overflowed() const noexcept {
    return overflowed_before_ + (overflow_ != none ? series_[overflow_].count : 0);
  }
  /// Whether a new series was ever turned away (reported once by the owner).
  bool overflowing() const noexcept { return overflowing_; }
  std::string_view name() const noexcept { return name_; }

 private:
  /// A bucket's count and exemplar (the exemplar's rank: see record()).
  struct bucket {
    std::uint64_t count{0};
    std::uint64_t rank{0};
    exemplar e{};
  };
  struct series {
    owned_attributes attributes;
    std::uint64_t start_unix_ns{0};
    std::uint64_t count{0};
    double sum{0}, min{__builtin_inf()}, max{-__builtin_inf()};
    std::vector<bucket> buckets;
    void reset(std::uint64_t now) {
      start_unix_ns = now;
      count = 0;
      sum = 0;
      min = __builtin_inf();
      max = -__builtin_inf();
      std::fill(buckets.begin(), buckets.end(), bucket{});
    }
  };

  std::uint32_t add(owned_attributes a, std::uint64_t now) {
    series s;
    s.attributes = std::move(a);
    s.start_unix_ns = now;
    s.buckets.assign(bounds_.size() + 1, bucket{});
    series_.push_back(std::move(s));
    return static_cast<std::uint32_t>(series_.size() - 1);
  }

  std::string name_, description_, unit_;
  bucket_finder bounds_;
  std::size_t limit_;
  std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>> index_;
  std::vector<series> series_;
  std::uint32_t overflow_{none};
  std::uint64_t overflowed_before_{0};  // in the overflow series before its last delta reset
  bool overflowing_{false};
};

/// The GenAI attributes of an inference span that its metrics use.
struct genai_fields {
  std::string_view operation, provider, request_model, response_model, server_address, error_type;
  std::int64_t server_port{-1};
  std::int64_t input_tokens{-1}, output_tokens{-1};
  double time_to_first_chunk{-1};

  /// Which of them an attribute sets (by its key and its value's type). The fields from
  /// f_operation to f_server_port name the attribute set (and so the series).
  enum field : std::uint8_t {
    f_none,
    f_operation,
    f_provider,
    f_request_model,
    f_response_model,
    f_server_address,
    f_error_type,
    f_server_port,
    f_input_tokens,
    f_output_tokens,
    f_ttfc_int,
    f_ttfc_double,
    n_fields
  };
  static constexpr std::uint32_t bit(field f) noexcept { return std::uint32_t{1} << f; }
  /// The fields that name the attribute set.
  static constexpr std::uint32_t identity_bits =
      ((std::uint32_t{1} << (f_server_port + 1)) - 1) & ~std::uint32_t{1};  // f_operation...
  /// Set with a field's bit when the slot's string is owned (its value word is an address whose
  /// text may change; a static string's word names one text for good).
  static constexpr std::uint32_t owned_bit = std::uint32_t{1} << 31;

  /// Inline keys seen before, by their packed key word: the word holds the key name's address
  /// (key names are string literals), its length and the value's type, so the same word is the
  /// same field. Direct-mapped; a key word not found is classified by its name and remembered.
  struct key_cache {
    struct entry {
      std::uint64_t word{0};  // 0: empty (no stored slot has a zero key word)
      field f{f_none};
      std::uint32_t bits{1};  // bit(f), and owned_bit for an owned GenAI string
    };
    entry entries[64]{};

    AGENTRACE_DETAIL_ALWAYS_INLINE const entry& classify(const attr_slot& a) noexcept {
      entry& c = entries[(a.key * 0x9E3779B97F4A7C15ull) >> 58];
      if (c.word != a.key) [[unlikely]]
        fill(c, a);
      return c;
    }
    AGENTRACE_DETAIL_NOINLINE static void fill(entry& c, const attr_slot& a) noexcept {
      const slot_type t = a.type();
      c.word = a.key;
      c.f = field_of(a.key_name(), t == slot_type::static_str || t == slot_type::owned_str,
                     t == slot_type::int64, t == slot_type::float64);
      c.bits = bit(c.f) | (c.f != f_none && t == slot_type::owned_str ? owned_bit : 0);
    }
  };

  // Dispatches on the key's length first, then compares the rest as a constant-size block
  // (inlined: no library call per attribute).
  template <std::size_t N>
  static bool is(std::string_view k, const char (&name)[N]) noexcept {
    return std::memcmp(k.data(), name, N - 1) == 0;
  }
  static field field_of(std::string_view k, bool is_str, bool is_int, bool is_double) noexcept {
    switch (k.size()) {
      case 10: return is_str && is(k, "error.type") ? f_error_type : f_none;
      case 11: return is_int && is(k, "server.port") ? f_server_port : f_none;
      case 14: return is_str && is(k, "server.address") ? f_server_address : f_none;
      case 20:
        if (!is_str) return f_none;
        if (is(k, "gen_ai.provider.name")) return f_provider;
        return is(k, "gen_ai.request.model") ? f_request_model : f_none;
      case 21:
        if (!is_str) return f_none;
        if (is(k, "gen_ai.operation.name")) return f_operation;
        return is(k, "gen_ai.response.model") ? f_response_model : f_none;
      case 25: return is_int && is(k, "gen_ai.usage.input_tokens") ? f_input_tokens : f_none;
      case 26: return is_int && is(k, "gen_ai.usage.output_tokens") ? f_output_tokens : f_none;
      case 35:
        if (!is(k, "gen_ai.response.time_to_first_chunk")) return f_none;
        return is_int ? f_ttfc_int : is_double ? f_ttfc_double : f_none;
      default: return f_none;
    }
  }
  void set(field f, std::string_view str, std::int64_t i, double d) noexcept {
    switch (f) {
      case f_operation: operation = str; break;
      case f_provider: provider = str; break;
      case f_request_model: request_model = str; break;
      case f_response_model: response_model = str; break;
      case f_server_address: server_address = str; break;
      case f_error_type: error_type = str; break;
      case f_server_port: server_port = i; break;
      case f_input_tokens: input_tokens = i; break;
      case f_output_tokens: output_tokens = i; break;
      case f_ttfc_int: time_to_first_chunk = static_cast<double>(i); break;
      case f_ttfc_double: time_to_first_chunk = d; break;
      default: break;
    }
  }

  /// Reads them from a record (the last value of a key set twice wins).
  void read(const span_record& r, key_cache& cache) noexcept {
    for (std::uint8_t i = 0; i < r.n_attrs; ++i) {
      const attr_slot& a = r.attrs[i];
      const field f = cache.classify(a).f;
      switch (f) {
        case f_none: break;
        case f_server_port:
        case f_input_tokens:
        case f_output_tokens:
        case f_ttfc_int: set(f, {}, a.as_int(), 0); break;
        case f_ttfc_double: set(f, {}, 0, a.as_double()); break;
        default: set(f, a.as_string(), 0, 0); break;
      }
    }
    if (const span_ext* x = r.ext()) {
      for (const attribute& a : x->attributes) {
        if (const auto* s = std::get_if<std::string>(&a.value)) {
          set(field_of(a.key, true, false, false), *s, 0, 0);
        } else if (const auto* n = std::get_if<std::int64_t>(&a.value)) {
          set(field_of(a.key, false, true, false), {}, *n, 0);
        } else if (const auto* d = std::get_if<double>(&a.value)) {
          set(field_of(a.key, false, false, true), {}, 0, *d);
        }
      }
    }
  }
};

}  // namespace detail

/// The span-derived metrics. observe() runs on the collector thread; collect() and stats() may
/// run on any thread (a Prometheus scrape): one lock per observed batch.
class span_metrics {
 public:
  span_metrics(span_metrics_options opt, std::string service_name)
      : opt_(std::move(opt)),
        service_name_(std::move(service_name)),
        red_(metric_names::span_duration, "Duration of spans, per span name, kind and status", "s",
             opt_.duration_buckets, opt_.cardinality_limit),
        genai_duration_(metric_names::genai_operation_duration, "GenAI operation duration", "s",
                        genai_bounds(), opt_.cardinality_limit),
        genai_tokens_(metric_names::genai_token_usage, "Number of input and output tokens used",
                      "{token}",
                      std::vector<double>(metric_names::genai_token_buckets.begin(),
                                          metric_names::genai_token_buckets.end()),
                      opt_.cardinality_limit),
        genai_ttfc_(metric_names::genai_time_to_first_chunk,
                    "Time to receive the first chunk of a streamed response", "s", genai_bounds(),
                    opt_.cardinality_limit) {
    start_unix_ns_ = detail::unix_now_ns();
  }

  /// Observes every span of `spans` (clock: the batch's tick converter).
  void observe(std::span<const span_record> spans, const detail::clock_converter& clock) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const span_record& r : spans) observe_one(r, clock);
    spans_observed_.fetch_add(spans.size(), std::memory_order_relaxed);
    publish_counts();
  }

  /// The metrics now, every metric that has a point. With delta temporality each call returns
  /// what was observed since the previous one.
  std::vector<metric_data> collect() {
    std::lock_guard<std::mutex> lock(mu_);
    const std::uint64_t now = std::max(detail::unix_now_ns(), start_unix_ns_);
    const aggregation_temporality t = opt_.temporality == temporality_preference::cumulative
                                          ? aggregation_temporality::cumulative
                                          : aggregation_temporality::delta;
    std::vector<metric_data> out;
    red_.collect(out, now, t, metric_names::span_calls,
                 "Number of spans, per span name, kind and status", "{call}");
    genai_duration_.collect(out, now, t);
    genai_tokens_.collect(out, now, t);
    genai_ttfc_.collect(out, now, t);
    return out;
  }

  span_metrics_stats stats() const noexcept {
    span_metrics_stats s;
    s.spans_observed = spans_observed_.load(std::memory_order_relaxed);
    s.points_overflowed = overflowed_.load(std::memory_order_relaxed);
    s.series = series_.load(std::memory_order_relaxed);
    return s;
  }

  const span_metrics_options& options() const noexcept { return opt_; }

 private:
  static std::vector<double> genai_bounds() {
    return {metric_names::genai_duration_buckets.begin(),
            metric_names::genai_duration_buckets.end()};
  }

  /// The series of the four GenAI histograms for one attribute set.
  struct genai_series {
    std::uint32_t duration = detail::histogram_table::none, ttfc = detail::histogram_table::none,
                  input = detail::histogram_table::none, output = detail::histogram_table::none;
  };

  /// The attribute set of the last inference span whose GenAI strings were all static, one for
  /// spans with an error status and one for the others: the value words of its fields, which
  /// of the identity fields it set (0: no memo yet) and its entry.
  struct genai_memo {
    std::uint32_t present{0};
    std::uint32_t entry{0};
    std::uint64_t words[detail::genai_fields::n_fields]{};
  };

  AGENTRACE_DETAIL_ALWAYS_INLINE void observe_one(const span_record& r,
                                                  const detail::clock_converter& clock) {
    const std::int64_t ns =
        std::max<std::int64_t>(0, clock.duration_ns(r.start_ticks, r.end_ticks));
    const std::uint64_t end_ns = clock.to_unix_ns(r.start_ticks) + static_cast<std::uint64_t>(ns);
    const double seconds = static_cast<double>(ns) / 1e9;
    const bool error = r.status == status_code::error;
    const exemplar ex{end_ns, seconds, r.trace_id, r.span_id};

    // RED: the series of a span site and status is cached by the site's address, unless the
    // span was renamed at run time.
    const detail::span_ext* x = r.ext();
    const bool renamed = x && !x->name.empty();
    std::uint32_t i = detail::histogram_table::none;
    const auto site_key = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(r.site)) * 4 +
                          static_cast<std::uint64_t>(r.status);
    // A direct-mapped cache in front of the map: one load for a site seen before.
    site_slot& fast = site_fast_[(site_key * 0x9E3779B97F4A7C15ull) >> 56];
    if (!renamed && r.site) {
      if (fast.key == site_key) {
        i = fast.index;
      } else if (auto it = site_cache_.find(site_key); it != site_cache_.end()) {
        i = it->second;
        fast = {site_key, i};
      }
    }
    if (i == detail::histogram_table::none) {
      const std::string_view name = r.name();
      key_.assign(name);
      key_ += '\x1f';
      key_ += static_cast<char>('0' + static_cast<int>(r.kind()));
      key_ += static_cast<char>('0' + static_cast<int>(r.status));
      i = red_.series_for(
          key_,
          [&] {
            detail::owned_attributes a;
            a.reserve(4);
            a.emplace_back("service.name",
                           attr_value{std::in_place_type<std::string>, service_name_});
            a.emplace_back("span.name", attr_value{std::in_place_type<std::string>, name});
            a.emplace_back("span.kind", attr_value{std::in_place_type<std::string>,
                                                   detail::span_kind_text(r.kind())});
            a.emplace_back("status.code", attr_value{std::in_place_type<std::string>,
                                                     detail::status_code_text(r.status)});
            return a;
          },
          end_ns);
      if (!renamed && r.site) {
        site_cache_.emplace(site_key, i);
        fast = {site_key, i};
      }
    }
    const std::uint64_t error_bit = detail::histogram_table::error_bit(error);
    red_.record(i, seconds, ex, error_bit);

    // GenAI: spans with gen_ai.operation.name. The inline slots are classified in one pass (one
    // cache probe each), which also gathers the value word of each field (the last slot that
    // sets it wins). A span without the operation key and without extension attributes is done
    // after it.
    if (r.n_attrs == 0 && !x) return;
    using F = detail::genai_fields;
    const bool ext_attrs = x && !x->attributes.empty();
    genai_memo& memo = memo_[error ? 1 : 0];
    std::uint64_t words[F::n_fields];  // a field's word is read only when the field is present
    std::uint32_t present = 0;
    for (std::uint8_t k = 0; k < r.n_attrs; ++k) {
      const auto& c = genai_keys_.classify(r.attrs[k]);
      words[c.f] = r.attrs[k].value;
      present |= c.bits;
    }
    if ((present & F::bit(F::f_operation)) == 0 && !ext_attrs) return;

    // When every GenAI string is static, the same value words name the same attribute set:
    // the set of the previous inference span is recognised by comparing the words of the
    // fields it sets.
    const bool by_words = !ext_attrs && (present & F::owned_bit) == 0;
    const std::uint32_t identity = present & F::identity_bits;
    std::uint64_t differs = (identity ^ memo.present) | static_cast<std::uint64_t>(!by_words);
    for (std::uint32_t m = identity; m != 0; m &= m - 1) {
      const int f = std::countr_zero(m);
      differs |= words[f] ^ memo.words[f];
    }
    if (differs == 0) {
      const genai_series gs = genai_entries_[memo.entry].series;
      const std::int64_t in = (present & F::bit(F::f_input_tokens))
                                  ? static_cast<std::int64_t>(words[F::f_input_tokens])
                                  : -1;
      const std::int64_t out = (present & F::bit(F::f_output_tokens))
                                   ? static_cast<std::int64_t>(words[F::f_output_tokens])
                                   : -1;
      double ttfc = -1;
      if (present & F::bit(F::f_ttfc_int)) {
        ttfc = static_cast<double>(static_cast<std::int64_t>(words[F::f_ttfc_int]));
        if (present & F::bit(F::f_ttfc_double)) differs = 1;  // both: which came last decides
      } else if (present & F::bit(F::f_ttfc_double)) {
        ttfc = std::bit_cast<double>(words[F::f_ttfc_double]);
      }
      if (differs == 0 && complete(gs, ttfc, in, out)) {
        record_genai(gs, seconds, ttfc, in, out, ex, error_bit);
        return;
      }
    }
    observe_genai(r, memo, present, by_words, error, seconds, ex, end_ns);
  }

  /// An inference span that is not the previous one's attribute set (or whose strings are
  /// owned): its GenAI attributes read by name and its series looked up. Out of line: the
  /// common path above keeps fewer registers to save.
  AGENTRACE_DETAIL_NOINLINE void observe_genai(const span_record& r, genai_memo& memo,
                                               std::uint32_t present, bool by_words, bool error,
                                               double seconds, const exemplar& ex,
                                               std::uint64_t end_ns) {
    using F = detail::genai_fields;
    const std::uint64_t error_bit = detail::histogram_table::error_bit(error);
    detail::genai_fields g;
    g.read(r, genai_keys_);
    if (g.operation.empty()) return;
    std::string_view error_type = g.error_type;
    if (error && error_type.empty()) error_type = "_OTHER";
    // One lookup finds the series of all four histograms for these attributes: a table keyed
    // by a hash of the values, each hit checked against the values it was made for.
    // Inference spans in a row mostly share their attributes: the last set found is tried first.
    genai_entry* found = nullptr;
    std::uint64_t h = 0;
    if (last_genai_ < genai_entries_.size() && genai_entries_[last_genai_].matches(g, error_type)) {
      found = &genai_entries_[last_genai_];
    } else {
      h = genai_hash(g, error_type) & genai_hash_mask_;
      found = find_genai(h, g, error_type);
      if (found) last_genai_ = static_cast<std::size_t>(found - genai_entries_.data());
    }
    genai_series local;
    genai_series& gs = found ? found->series : local;
    if (!complete(gs, g.time_to_first_chunk, g.input_tokens, g.output_tokens))
      make_genai_series(gs, g, error_type, end_ns);
    record_genai(gs, seconds, g.time_to_first_chunk, g.input_tokens, g.output_tokens, ex,
                 error_bit);
    // Keys past the cardinality limit are not remembered (they all overflow).
    if (!found && !genai_duration_.is_overflow(gs.duration)) {
      add_genai(h, g, error_type, gs);
      found = &genai_entries_.back();
    }
    if (found && by_words) {
      // The value word of each field, the last slot that sets it winning (the fields it does
      // not set: 0).
      memo.present = present & F::identity_bits;
      std::fill(std::begin(memo.words), std::end(memo.words), 0);
      for (std::uint8_t k = 0; k < r.n_attrs; ++k)
        memo.words[genai_keys_.classify(r.attrs[k]).f] = r.attrs[k].value;
      memo.entry = static_cast<std::uint32_t>(found - genai_entries_.data());
    }
  }

  static bool complete(const genai_series& gs, double ttfc, std::int64_t in,
                       std::int64_t out) noexcept {
    return gs.duration != detail::histogram_table::none &&
           (ttfc < 0 || gs.ttfc != detail::histogram_table::none) &&
           (in < 0 || gs.input != detail::histogram_table::none) &&
           (out < 0 || gs.output != detail::histogram_table::none);
  }

  /// Records an inference span in its GenAI series (made before).
  AGENTRACE_DETAIL_ALWAYS_INLINE void record_genai(const genai_series& gs, double seconds,
                                                   double ttfc, std::int64_t in, std::int64_t out,
                                                   const exemplar& ex, std::uint64_t error) {
    genai_duration_.record(gs.duration, seconds, ex, error);
    if (ttfc >= 0) genai_ttfc_.record(gs.ttfc, ttfc, ex, error);
    if (in >= 0) genai_tokens_.record(gs.input, static_cast<double>(in), ex, error);
    if (out >= 0) genai_tokens_.record(gs.output, static_cast<double>(out), ex, error);
  }

  /// Makes the series of `g` that `gs` lacks, under the text key the histogram tables index.
  AGENTRACE_DETAIL_NOINLINE void make_genai_series(genai_series& gs, const detail::genai_fields& g,
                                                   std::string_view error_type,
                                                   std::uint64_t end_ns) {
    auto attributes = [&](std::string_view token_type) {
      detail::owned_attributes a;
      auto str = [&a](std::string_view k, std::string_view v) {
        if (!v.empty())
          a.emplace_back(std::string(k), attr_value{std::in_place_type<std::string>, v});
      };
      str("gen_ai.operation.name", g.operation);
      str("gen_ai.provider.name", g.provider);
      str("gen_ai.request.model", g.request_model);
      str("gen_ai.response.model", g.response_model);
      str("server.address", g.server_address);
      if (g.server_port >= 0) a.emplace_back("server.port", attr_value{g.server_port});
      str("error.type", error_type);
      str("gen_ai.token.type", token_type);
      return a;
    };
    genai_text_key(g, error_type);
    if (gs.duration == detail::histogram_table::none)
      gs.duration = genai_duration_.series_for(
          key_, [&] { return attributes({}); }, end_ns);
    if (g.time_to_first_chunk >= 0 && gs.ttfc == detail::histogram_table::none)
      gs.ttfc = genai_ttfc_.series_for(
          key_, [&] { return attributes({}); }, end_ns);
    const std::size_t base = key_.size();
    auto tokens = [&](std::uint32_t& idx, std::string_view type, std::int64_t n) {
      if (n < 0 || idx != detail::histogram_table::none) return;
      key_ += type;
      idx = genai_tokens_.series_for(
          key_, [&] { return attributes(type); }, end_ns);
      key_.resize(base);
    };
    tokens(gs.input, "input", g.input_tokens);
    tokens(gs.output, "output", g.output_tokens);
  }

  /// The GenAI attribute values a set of series was made for, and those series.
  struct genai_entry {
    std::uint64_t hash{0};
    std::string operation, provider, request_model, response_model, server_address, error_type;
    std::int64_t server_port{-1};
    genai_series series;

    bool matches(const detail::genai_fields& g, std::string_view error) const noexcept {
      using detail::metric_bytes_equal;
      return server_port == g.server_port && metric_bytes_equal(operation, g.operation) &&
             metric_bytes_equal(request_model, g.request_model) &&
             metric_bytes_equal(response_model, g.response_model) &&
             metric_bytes_equal(provider, g.provider) &&
             metric_bytes_equal(server_address, g.server_address) &&
             metric_bytes_equal(error_type, error);
    }
  };

  static std::uint64_t genai_hash(const detail::genai_fields& g, std::string_view error) noexcept {
    std::uint64_t h = detail::metric_hash_bytes(0xCBF29CE484222325ull, g.operation);
    h = detail::metric_hash_bytes(h, g.provider);
    h = detail::metric_hash_bytes(h, g.request_model);
    h = detail::metric_hash_bytes(h, g.response_model);
    h = detail::metric_hash_bytes(h, g.server_address);
    h = detail::metric_hash_bytes(h, error);
    return detail::metric_hash_mix(h ^ static_cast<std::uint64_t>(g.server_port));
  }

  genai_entry* find_genai(std::uint64_t h, const detail::genai_fields& g,
                          std::string_view error) noexcept {
    if (genai_table_.empty()) return nullptr;
    const std::size_t mask = genai_table_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      const std::uint32_t e = genai_table_[i];
      if (e == 0) return nullptr;
      genai_entry& x = genai_entries_[e - 1];
      if (x.hash == h && x.matches(g, error)) return &x;
    }
  }

  void add_genai(std::uint64_t h, const detail::genai_fields& g, std::string_view error,
                 const genai_series& gs) {
    genai_entry x;
    x.hash = h;
    x.operation = g.operation;
    x.provider = g.provider;
    x.request_model = g.request_model;
    x.response_model = g.response_model;
    x.server_address = g.server_address;
    x.error_type = error;
    x.server_port = g.server_port;
    x.series = gs;
    genai_entries_.push_back(std::move(x));
    last_genai_ = genai_entries_.size() - 1;
    if (2 * genai_entries_.size() > genai_table_.size()) {
      // A power of two: slots are picked by masking the hash.
      genai_table_.assign(std::bit_ceil(std::max<std::size_t>(16, 4 * genai_entries_.size())), 0);
      for (std::uint32_t e = 0; e < genai_entries_.size(); ++e) place_genai(e);
    } else {
      place_genai(static_cast<std::uint32_t>(genai_entries_.size() - 1));
    }
  }
  void place_genai(std::uint32_t e) noexcept {
    const std::size_t mask = genai_table_.size() - 1;
    std::size_t i = static_cast<std::size_t>(genai_entries_[e].hash) & mask;
    while (genai_table_[i] != 0) i = (i + 1) & mask;
    genai_table_[i] = e + 1;
  }

  /// The text key of these attributes in the histogram tables (in key_).
  void genai_text_key(const detail::genai_fields& g, std::string_view error) {
    auto append = [this](std::string_view v) {
      key_ += v;
      key_ += '\x1f';
    };
    key_.clear();
    append(g.operation);
    append(g.provider);
    append(g.request_model);
    append(g.response_model);
    append(g.server_address);
    if (g.server_port >= 0) {
      const fmt::format_int port(g.server_port);
      key_.append(port.data(), port.size());
    }
    key_ += '\x1f';
    append(error);
  }

  void publish_counts() {
    overflowed_.store(red_.overflowed() + genai_duration_.overflowed() +
                          genai_tokens_.overflowed() + genai_ttfc_.overflowed(),
                      std::memory_order_relaxed);
    series_.store(red_.series_count() + genai_duration_.series_count() +
                      genai_tokens_.series_count() + genai_ttfc_.series_count(),
                  std::memory_order_relaxed);
  }

  span_metrics_options opt_;
  std::string service_name_;
  std::mutex mu_;
  std::uint64_t start_unix_ns_{0};
  detail::histogram_table red_, genai_duration_, genai_tokens_, genai_ttfc_;
  struct site_slot {
    std::uint64_t key = 0;
    std::uint32_t index = 0;
  };
  site_slot site_fast_[256]{};
  std::unordered_map<std::uint64_t, std::uint32_t> site_cache_;
  friend struct detail::metrics_test_access;
  std::uint64_t genai_hash_mask_{~std::uint64_t{0}};  // all bits; tests force collisions with fewer
  detail::genai_fields::key_cache genai_keys_;
  std::vector<genai_entry> genai_entries_;
  std::size_t last_genai_{0};  // the entry found last (none while genai_entries_ is empty)
  genai_memo memo_[2];
  std::vector<std::uint32_t>
      genai_table_;  // open addressing: entry + 1, 0 empty; half full at most
  std::string key_;
  std::atomic<std::uint64_t> spans_observed_{0}, overflowed_{0}, series_{0};
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
