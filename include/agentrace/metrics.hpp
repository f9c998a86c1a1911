// SPDX-License-Identifier: MIT
// Instruments for what spans do not cover: counter, up_down_counter, histogram, and an
// observable gauge read at each export. Names are string literals, fixed at compile time like
// span names; attributes are typed keys.
//
//   inline agentrace::counter<std::int64_t> cache_hits{"app.cache.hits", "{hit}", "Cache hits"};
//   cache_hits.add(1, {{app::cache_name, "sql"}});
//
// Recording takes no lock and never waits: a series is found in a fixed-size lock-free table by
// a hash of its attributes (in any order; allocated on the series' first use only), and its
// value lives in cache-line-sized stripes, one picked per thread, updated with relaxed atomics.
// Past the cardinality limit a measurement goes to one overflow series
// (otel.metric.overflow=true) and is counted. The collector reads every instrument at each
// metrics export.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/event.hpp"
#include "agentrace/metrics/data.hpp"
#include "agentrace/metrics/names.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// One attribute of a measurement: a typed key and a scalar value, only looked at during the
/// call (a string is copied when its series is new, never otherwise).
class metric_attr {
 public:
  template <class T, class V>
    requires detail::settable_as<T, V> &&
        (std::is_same_v<T, std::string> || std::is_same_v<T, bool> ||
         std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>)
            metric_attr(const key<T>& k, V&& v) noexcept  // NOLINT(google-explicit-constructor)
        : key_(k.name()) {
      if constexpr (std::is_same_v<T, std::string>) {
        type_ = value_type::string;
        str_ = std::string_view(v);
      } else if constexpr (std::is_same_v<T, bool>) {
        type_ = value_type::boolean;
        bits_ = v ? 1 : 0;
      } else if constexpr (std::is_same_v<T, std::int64_t>) {
        type_ = value_type::int64;
        bits_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
      } else {
        type_ = value_type::float64;
        bits_ = std::bit_cast<std::uint64_t>(static_cast<double>(v));
      }
    }

    std::string_view key() const noexcept { return key_; }
    /// The value as an owned attr_value (for a new series' attributes).
    attr_value owned() const {
      switch (type_) {
        case value_type::string: return attr_value{std::in_place_type<std::string>, str_};
        case value_type::boolean: return attr_value{bits_ != 0};
        case value_type::int64: return attr_value{static_cast<std::int64_t>(bits_)};
        default: return attr_value{std::bit_cast<double>(bits_)};
      }
    }
    /// A 64-bit hash of key, type and value (eight bytes at a time).
    std::uint64_t hash() const noexcept {
      const std::uint64_t h = detail::metric_hash_bytes(
          0xCBF29CE484222325ull ^ static_cast<std::uint64_t>(type_), key_);
      if (type_ == value_type::string) return detail::metric_hash_bytes(h, str_);
      return detail::metric_hash_mix(h ^ bits_);
    }

    /// Whether this is the attribute `a` of a series; `key_id`: the key's address when the
    /// series was made (key names are string literals: the same address is the same name).
    bool same_as(const std::pair<std::string, attr_value>& a, const char* key_id) const noexcept {
      if (key_.size() != a.first.size()) return false;
      if (key_.data() != key_id && !detail::metric_bytes_equal(key_, a.first)) return false;
      switch (type_) {
        case value_type::string: {
          const auto* v = std::get_if<std::string>(&a.second);
          return v && detail::metric_bytes_equal(*v, str_);
        }
        case value_type::boolean: {
          const auto* v = std::get_if<bool>(&a.second);
          return v && *v == (bits_ != 0);
        }
        case value_type::int64: {
          const auto* v = std::get_if<std::int64_t>(&a.second);
          return v && static_cast<std::uint64_t>(*v) == bits_;
        }
        default: {
          const auto* v = std::get_if<double>(&a.second);
          return v && std::bit_cast<std::uint64_t>(*v) == bits_;
        }
      }
    }

   private:
    std::string_view key_;
    std::string_view str_;
    std::uint64_t bits_{0};
    value_type type_{value_type::none};
};

/// The attributes of one measurement: `{{key, value}, ...}`.
using metric_attributes = std::initializer_list<metric_attr>;

namespace detail {

/// Stripes per series: a thread updates the one its number picks, so that two threads rarely
/// write the same cache line.
inline constexpr std::size_t metric_stripes = 4;

inline std::size_t metric_stripe() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % metric_stripes;
}

inline void atomic_min(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}
inline void atomic_max(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}
inline void atomic_add(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

/// One series of an instrument: its attributes and its striped cells.
struct instrument_series {
  /// Bucket counts in whole cache lines of their own: one stripe's counts never share a line
  /// with another stripe's, nor with anything a recording thread reads (the attributes).
  struct alignas(64) bucket_line {
    std::atomic<std::uint64_t> counts[8];
  };
  struct alignas(64) stripe {
    std::atomic<std::int64_t> int_value{0};
    std::atomic<double> double_value{0};  // a double sum, or a histogram's sum
    std::atomic<double> min{__builtin_inf()};
    std::atomic<double> max{-__builtin_inf()};
    std::unique_ptr<bucket_line[]> lines;  // histograms: bounds + 1 counts
    std::atomic<std::uint64_t>& bucket(std::size_t i) const noexcept {
      return lines[i / 8].counts[i % 8];
    }
  };
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::vector<const char*> key_ids;  // each attribute's key address when the series was made
  std::uint64_t start_unix_ns{0};
  stripe stripes[metric_stripes];

  /// Whether `attrs` (in any order) are this series' attributes: two sets whose hashes collide
  /// are two series.
  bool matches(metric_attributes attrs) const noexcept {
    if (attrs.size() != attributes.size()) return false;
    std::size_t i = 0;
    for (const metric_attr& a : attrs) {  // the order they were first given in: one pass
      if (!a.same_as(attributes[i], key_ids[i])) break;
      ++i;
    }
    if (i == attributes.size()) return true;
    // Another order: each attribute matched by a different one of the series' (up to 64 are
    // told apart; a longer set with a key given twice may match a permutation of itself).
    std::uint64_t taken = 0;
    for (const metric_attr& a : attrs) {
      bool found = false;
      for (std::size_t j = 0; j < attributes.size() && !found; ++j) {
        const std::uint64_t bit = j < 64 ? std::uint64_t{1} << j : 0;
        if ((taken & bit) == 0 && a.same_as(attributes[j], key_ids[j])) {
          taken |= bit;
          found = true;
        }
      }
      if (!found) return false;
    }
    return true;
  }
  // Collector side, under the registry's mutex: the totals at the last delta export.
  std::int64_t last_int{0};
  double last_double{0};
  std::uint64_t last_count{0};
  std::vector<std::uint64_t> last_buckets;
};

class instrument_base;

/// Every live instrument; the collector reads them under `mu` at each export.
struct instrument_registry {
  std::mutex mu;
  std::vector<instrument_base*> instruments;
  std::atomic<std::uint64_t> overflowed{0};  // measurements recorded in an overflow series
  std::atomic<std::uint64_t> rejected{0};    // negative counter increments, NaN: not recorded
};
inline instrument_registry& instruments() {
  static auto* r = new instrument_registry();  // leaked: instruments may outlive main()
  return *r;
}

/// What every synchronous instrument shares: identity, the series table, registration.
class instrument_base {
 public:
  instrument_base(const instrument_base&) = delete;
  instrument_base& operator=(const instrument_base&) = delete;
  virtual ~instrument_base() {
    {
      auto& r = instruments();
      std::lock_guard<std::mutex> lock(r.mu);
      std::erase(r.instruments, this);
    }
    for (std::size_t i = 0; i <= mask_; ++i) delete table_[i].series.load();
    delete empty_.load();
    delete overflow_.load();
  }

  /// Appends this instrument's metric (nothing when it has no series). Under the registry lock.
  virtual void collect(std::vector<metric_data>& out, std::uint64_t now,
                       temporality_preference pref) = 0;

  std::string_view name() const noexcept { return name_; }

 protected:
  instrument_base(std::string_view name, std::string_view unit, std::string_view description,
                  std::size_t limit)
      : name_(name),
        unit_(unit),
        description_(description),
        limit_(std::max<std::size_t>(limit, 2)) {
    std::size_t cap = 16;
    while (cap < 2 * limit_) cap *= 2;
    mask_ = cap - 1;
    table_ = std::make_unique<slot[]>(cap);
    auto& r = instruments();
    std::lock_guard<std::mutex> lock(r.mu);
    r.instruments.push_back(this);
  }
  /// The series of `attrs` (any order): lock-free; allocates only for a new series. Slots are
  /// found by a hash of the attributes and checked against the series' attributes: a set whose
  /// hash collides with another's takes the next free slot.
  instrument_series& series_for(metric_attributes attrs) {
    if (attrs.size() == 0) return get_or_make(empty_, attrs);
    // The series this stripe's threads found last: a thread that records the same attributes
    // again skips the hash and the probe (the check below is the one a probe ends with).
    std::atomic<instrument_series*>& memo = memo_[metric_stripe()].last;
    if (instrument_series* m = memo.load(std::memory_order_acquire); m && m->matches(attrs))
      return *m;
    instrument_series& x = find_series(attrs);
    if (&x != overflow_.load(std::memory_order_relaxed)) memo.store(&x, std::memory_order_release);
    return x;
  }

  /// The slow path of series_for: hash, probe, make.
  AGENTRACE_DETAIL_NOINLINE instrument_series& find_series(metric_attributes attrs) {
    std::uint64_t h = 0;
    for (const metric_attr& a : attrs) h += a.hash();  // order-independent
    h &= hash_mask_;
    if (h == 0) h = 1;
    std::size_t i = static_cast<std::size_t>(h) & mask_;
    for (std::size_t probes = 0; probes <= mask_; ++probes, i = (i + 1) & mask_) {
      slot& s = table_[i];
      std::uint64_t cur = s.hash.load(std::memory_order_acquire);
      if (cur == 0) {
        if (used_.load(std::memory_order_relaxed) + 1 >= limit_) break;
        if (s.hash.compare_exchange_strong(cur, h, std::memory_order_acq_rel)) {
          used_.fetch_add(1, std::memory_order_relaxed);
          cur = h;
        }
      }
      // A slot with this hash. Another thread that claimed it may still be making its series:
      // make it too, without waiting; the first one published is the slot's. It is this one
      // when its attributes are these (else: a collision, probe on).
      if (cur == h) {
        instrument_series& x = get_or_make(s.series, attrs);
        if (x.matches(attrs)) [[likely]]
          return x;
      }
    }
    instruments().overflowed.fetch_add(1, std::memory_order_relaxed);
    return get_or_make(overflow_, {}, true);
  }

  /// Calls f(series) for each series (collector side).
  template <class F>
  void for_each_series(F&& f) {
    if (auto* e = empty_.load(std::memory_order_acquire)) f(*e);
    for (std::size_t i = 0; i <= mask_; ++i)
      if (auto* p = table_[i].series.load(std::memory_order_acquire)) f(*p);
    if (auto* o = overflow_.load(std::memory_order_acquire)) f(*o);
  }

  metric_data header(metric_type t) const {
    metric_data m;
    m.name = name_;
    m.unit = unit_;
    m.description = description_;
    m.type = t;
    return m;
  }

  virtual void init_series(instrument_series&) {}

  std::string_view name_, unit_, description_;

 private:
  struct slot {
    std::atomic<std::uint64_t> hash{0};
    std::atomic<instrument_series*> series{nullptr};
  };
  /// A stripe's last series, on its own cache line: a miss on one stripe's threads does not
  /// invalidate what another stripe's threads read.
  struct alignas(64) memo_line {
    std::atomic<instrument_series*> last{nullptr};
  };

  instrument_series* make_series(metric_attributes attrs, bool overflow = false) {
    auto* p = new instrument_series();
    for (const metric_attr& a : attrs) {
      p->attributes.emplace_back(std::string(a.key()), a.owned());
      p->key_ids.push_back(a.key().data());
    }
    if (overflow)
      p->attributes.emplace_back(std::string(metric_names::overflow_attribute), attr_value{true});
    p->start_unix_ns = unix_now_ns();
    init_series(*p);
    return p;
  }
  instrument_series& get_or_make(std::atomic<instrument_series*>& a, metric_attributes attrs,
                                 bool overflow = false) {
    if (auto* p = a.load(std::memory_order_acquire)) [[likely]]
      return *p;
    auto* made = make_series(attrs, overflow);
    instrument_series* expected = nullptr;
    if (a.compare_exchange_strong(expected, made, std::memory_order_acq_rel)) return *made;
    delete made;
    return *expected;
  }

  friend struct metrics_test_access;

  std::size_t limit_;
  std::size_t mask_{0};
  std::uint64_t hash_mask_{~std::uint64_t{0}};  // all bits; tests force collisions with fewer
  std::unique_ptr<slot[]> table_;
  std::atomic<std::size_t> used_{0};
  std::atomic<instrument_series*> empty_{nullptr}, overflow_{nullptr};
  memo_line memo_[metric_stripes];
};

constexpr bool delta_for_counters(temporality_preference p) noexcept {
  return p != temporality_preference::cumulative;
}

/// A sum instrument (counter, up_down_counter).
template <class T, bool Monotonic>
class sum_instrument : public instrument_base {
  static_assert(std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>,
                "instruments count in std::int64_t or double");

 public:
  sum_instrument(static_string name, static_string unit, static_string description,
                 std::size_t cardinality_limit)
      : instrument_base(name.view(), unit.view(), description.view(), cardinality_limit) {}
  ~sum_instrument() override = default;

  /// Adds `v` to the series of `attrs`. A counter ignores (and counts) a negative or NaN `v`.
  void add(T v, metric_attributes attrs = {}) noexcept {
    if constexpr (Monotonic) {
      if (!(v >= 0)) [[unlikely]] {
        instruments().rejected.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    } else if constexpr (std::is_same_v<T, double>) {
      if (std::isnan(v)) [[unlikely]] {
        instruments().rejected.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    instrument_series::stripe& s = series_for(attrs).stripes[metric_stripe()];
    if constexpr (std::is_same_v<T, std::int64_t>)
      s.int_value.fetch_add(v, std::memory_order_relaxed);
    else
      atomic_add(s.double_value, v);
  }

  void collect(std::vector<metric_data>& out, std::uint64_t now,
               temporality_preference pref) override {
    // Up-down counters stay cumulative under every preference (OpenTelemetry's table).
    const bool delta = Monotonic && delta_for_counters(pref);
    metric_data m = header(metric_type::sum);
    m.monotonic = Monotonic;
    m.temporality = delta ? aggregation_temporality::delta : aggregation_temporality::cumulative;
    for_each_series([&](instrument_series& s) {
      std::int64_t iv = 0;
      double dv = 0;
      for (const auto& st : s.stripes) {
        iv += st.int_value.load(std::memory_order_relaxed);
        dv += st.double_value.load(std::memory_order_relaxed);
      }
      metric_point p;
      p.attributes = s.attributes;
      p.start_unix_ns = s.start_unix_ns;
      p.time_unix_ns = std::max(now, s.start_unix_ns);
      p.is_int = std::is_same_v<T, std::int64_t>;
      p.int_value = iv - (delta ? s.last_int : 0);
      p.double_value = dv - (delta ? s.last_double : 0);
      if (delta) {
        if (p.int_value == 0 && p.double_value == 0) return;
        s.last_int = iv;
        s.last_double = dv;
        s.start_unix_ns = p.time_unix_ns;
      }
      m.points.push_back(std::move(p));
    });
    if (!m.points.empty()) out.push_back(std::move(m));
  }
};

}  // namespace detail

/// A monotonic sum: `add` only non-negative values (others are ignored and counted).
template <class T = std::int64_t>
class counter : public detail::sum_instrument<T, true> {
 public:
  explicit counter(static_string name, static_string unit = "", static_string description = "",
                   std::size_t cardinality_limit = 2000)
      : detail::sum_instrument<T, true>(name, unit, description, cardinality_limit) {}
};

/// A sum that goes up and down (queue lengths, requests in flight).
template <class T = std::int64_t>
class up_down_counter : public detail::sum_instrument<T, false> {
 public:
  explicit up_down_counter(static_string name, static_string unit = "",
                           static_string description = "", std::size_t cardinality_limit = 2000)
      : detail::sum_instrument<T, false>(name, unit, description, cardinality_limit) {}
};

/// The SDK's default explicit bucket boundaries.
inline constexpr std::initializer_list<double> default_histogram_buckets = {
    0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000};

/// A distribution with explicit bucket boundaries (strictly increasing; others are sorted and
/// made unique).
template <class T = double>
class histogram : public detail::instrument_base {
  static_assert(std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>,
                "instruments record std::int64_t or double");

 public:
  explicit histogram(static_string name, static_string unit = "", static_string description = "",
                     std::vector<double> bounds = default_histogram_buckets,
                     std::size_t cardinality_limit = 2000)
      : detail::instrument_base(name.view(), unit.view(), description.view(), cardinality_limit),
        bounds_(sorted(std::move(bounds))) {}
  ~histogram() override = default;

  /// Records `v` (NaN is ignored and counted).
  void record(T v, metric_attributes attrs = {}) noexcept {
    const auto d = static_cast<double>(v);
    if (std::isnan(d)) [[unlikely]] {
      detail::instruments().rejected.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const std::size_t b = bounds_(d);
    detail::instrument_series::stripe& s = series_for(attrs).stripes[detail::metric_stripe()];
    s.bucket(b).fetch_add(1, std::memory_order_relaxed);  // the count is the buckets' sum
    detail::atomic_add(s.double_value, d);
    detail::atomic_min(s.min, d);
    detail::atomic_max(s.max, d);
  }

  void collect(std::vector<metric_data>& out, std::uint64_t now,
               temporality_preference pref) override {
    const bool delta = detail::delta_for_counters(pref);
    metric_data m = header(metric_type::histogram);
    m.bounds.assign(bounds_.bounds().begin(), bounds_.bounds().end());
    m.temporality = delta ? aggregation_temporality::delta : aggregation_temporality::cumulative;
    for_each_series([&](detail::instrument_series& s) {
      metric_point p;
      p.bucket_counts.assign(bounds_.size() + 1, 0);
      p.min = __builtin_inf();
      p.max = -__builtin_inf();
      for (const auto& st : s.stripes) {
        p.sum += st.double_value.load(std::memory_order_relaxed);
        p.min = std::min(p.min, st.min.load(std::memory_order_relaxed));
        p.max = std::max(p.max, st.max.load(std::memory_order_relaxed));
        for (std::size_t i = 0; i <= bounds_.size(); ++i)
          p.bucket_counts[i] += st.bucket(i).load(std::memory_order_relaxed);
      }
      // The count is the sum of the bucket counts (each read once, so the point is consistent
      // while threads record).
      for (auto c : p.bucket_counts) p.count += c;
      if (delta) {
        if (p.count == s.last_count) return;
        const std::uint64_t count = p.count;
        const double sum = p.sum;
        const std::vector<std::uint64_t> buckets = p.bucket_counts;
        p.count -= s.last_count;
        p.sum -= s.last_double;
        if (!s.last_buckets.empty())
          for (std::size_t i = 0; i <= bounds_.size(); ++i) p.bucket_counts[i] -= s.last_buckets[i];
        s.last_count = count;
        s.last_double = sum;
        s.last_buckets = buckets;
        // min and max are since the series began: a delta point leaves them out.
        p.has_min_max = false;
      }
      if (p.count == 0) return;
      p.attributes = s.attributes;
      p.start_unix_ns = s.start_unix_ns;
      p.time_unix_ns = std::max(now, s.start_unix_ns);
      if (delta) s.start_unix_ns = p.time_unix_ns;
      m.points.push_back(std::move(p));
    });
    if (!m.points.empty()) out.push_back(std::move(m));
  }

 private:
  void init_series(detail::instrument_series& s) override {
    const std::size_t lines = (bounds_.size() + 1 + 7) / 8;
    for (auto& st : s.stripes) {
      st.lines = std::make_unique<detail::instrument_series::bucket_line[]>(lines);
      for (std::size_t l = 0; l < lines; ++l)
        for (auto& c : st.lines[l].counts) c.store(0, std::memory_order_relaxed);
    }
  }
  static std::vector<double> sorted(std::vector<double> b) {
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
    return b;
  }
  detail::bucket_finder bounds_;
};

/// Reports the values of an observable gauge (the callback's argument).
class gauge_observer {
 public:
  void observe(double v, metric_attributes attrs = {}) {
    metric_point p;
    for (const metric_attr& a : attrs) p.attributes.emplace_back(std::string(a.key()), a.owned());
    p.is_int = false;
    p.double_value = v;
    p.time_unix_ns = now_;
    points_.push_back(std::move(p));
  }

 private:
  friend class observable_gauge;
  std::uint64_t now_{0};
  std::vector<metric_point> points_;
};

/// A gauge whose callback is called at each metrics export (on the collector thread, or the
/// thread serving a Prometheus scrape); it must not block for long.
class observable_gauge : public detail::instrument_base {
 public:
  observable_gauge(static_string name, static_string unit, static_string description,
                   std::function<void(gauge_observer&)> callback)
      : detail::instrument_base(name.view(), unit.view(), description.view(), 2),
        callback_(std::move(callback)) {}
  ~observable_gauge() override = default;

  void collect(std::vector<metric_data>& out, std::uint64_t now, temporality_preference) override {
    gauge_observer o;
    o.now_ = now;
    try {
      callback_(o);
    } catch (...) {  // a throwing callback reports nothing this time
      return;
    }
    if (o.points_.empty()) return;
    metric_data m = header(metric_type::gauge);
    m.points = std::move(o.points_);
    out.push_back(std::move(m));
  }

 private:
  std::function<void(gauge_observer&)> callback_;
};

/// Appends the metrics of every live instrument (the collector calls this at each export).
inline void collect_instruments(std::vector<metric_data>& out, temporality_preference pref) {
  auto& r = detail::instruments();
  const std::uint64_t now = detail::unix_now_ns();
  std::lock_guard<std::mutex> lock(r.mu);
  for (detail::instrument_base* i : r.instruments) i->collect(out, now, pref);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
