// SPDX-License-Identifier: MIT
// agentrace 0.1.0: single-header edition of include/agentrace/agentrace.hpp.
// Generated — do not edit. Made by scripts/amalgamate.py from the headers under include/;
// change those and run `python3 scripts/amalgamate.py`.
#pragma once

// amalgamated: include/agentrace/agentrace.hpp
// SPDX-License-Identifier: MIT
// agentrace — a C++20 header-only tracer for LLM agents that speaks OpenTelemetry.
//
// Quickstart:
//   auto tracing = agentrace::start({.service_name = "my-agent",
//                                    .exporters = {agentrace::console()}});
//   {
//     AGENTRACE_SPAN(s, "agent.step");
//     s.set(my_keys::retries, 2);
//   }
//
//   agent threads                          collector thread
//   span begin/end ── one fixed-size ──►   drain in bulk ─► clocks ─► batch ─► exporters
//   (no lock, no alloc)   record, lock-free queue (drop + count when full)    (OTLP-JSON, console,
//                                                                               memory, OTLP/HTTP)

// amalgamated: include/agentrace/version.hpp
// SPDX-License-Identifier: MIT
// agentrace: the one place the version lives (CMake parses these lines).

#define AGENTRACE_VERSION_MAJOR 0
#define AGENTRACE_VERSION_MINOR 1
#define AGENTRACE_VERSION_PATCH 0
#define AGENTRACE_VERSION_STRING "0.1.0"

#ifndef AGENTRACE_ENABLED
#define AGENTRACE_ENABLED 1
#endif

namespace agentrace {
inline constexpr const char* version_string = AGENTRACE_VERSION_STRING;
}  // namespace agentrace
// amalgamated: include/agentrace/attributes.hpp
// SPDX-License-Identifier: MIT
// Typed, compile-time attribute keys and attribute values.

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace agentrace {

/// A string of static storage duration. The constructor is consteval, so only string literals
/// and constexpr character arrays convert: a value that could dangle does not compile (wrap a
/// runtime string in std::string / std::string_view to have it copied instead).
class static_string {
 public:
  template <std::size_t N>
  consteval static_string(const char (&s)[N]) noexcept : data_(s), size_(N - 1) {}  // NOLINT
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design, like the one above
  consteval static_string(std::string_view s) noexcept : data_(s.data()), size_(s.size()) {}
  constexpr const char* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr std::string_view view() const noexcept { return {data_, size_}; }

 private:
  const char* data_;
  std::size_t size_;
};

/// The value types an attribute may have (OpenTelemetry AnyValue, without maps and bytes).
enum class value_type : std::uint8_t {
  none = 0,
  boolean,
  int64,
  float64,
  string,
  bool_array,
  int64_array,
  float64_array,
  string_array
};

namespace detail {
template <class T>
struct value_type_of;
template <>
struct value_type_of<bool> : std::integral_constant<value_type, value_type::boolean> {};
template <>
struct value_type_of<std::int64_t> : std::integral_constant<value_type, value_type::int64> {};
template <>
struct value_type_of<double> : std::integral_constant<value_type, value_type::float64> {};
template <>
struct value_type_of<std::string> : std::integral_constant<value_type, value_type::string> {};
template <>
struct value_type_of<std::vector<bool>>
    : std::integral_constant<value_type, value_type::bool_array> {};
template <>
struct value_type_of<std::vector<std::int64_t>>
    : std::integral_constant<value_type, value_type::int64_array> {};
template <>
struct value_type_of<std::vector<double>>
    : std::integral_constant<value_type, value_type::float64_array> {};
template <>
struct value_type_of<std::vector<std::string>>
    : std::integral_constant<value_type, value_type::string_array> {};
}  // namespace detail

/// A typed attribute key. Declare custom keys once: `inline constexpr agentrace::key<std::int64_t>
/// retries{"app.retries"};`. The name must be a constant (consteval), so the hot path stores only
/// a pointer to it; setting a value of the wrong type does not compile.
template <class T>
class key {
 public:
  using value_type_t = T;
  static constexpr value_type type = detail::value_type_of<T>::value;

  template <std::size_t N>
  consteval key(const char (&name)[N]) noexcept : name_(name, N - 1) {}  // NOLINT
  consteval explicit key(std::string_view name) noexcept : name_(name) {}
  constexpr std::string_view name() const noexcept { return name_; }

 private:
  std::string_view name_;
};

/// An owned attribute value (used off the hot path: overflow attributes, events, links, exporters).
using attr_value = std::variant<std::monostate, bool, std::int64_t, double, std::string,
                                std::vector<bool>, std::vector<std::int64_t>, std::vector<double>,
                                std::vector<std::string>>;

/// An attribute with an owned value. The key is a view: of a key constant's static name on the
/// producer side, of owned storage (span_data) on the consumer side.
struct attribute {
  std::string_view key;
  attr_value value;
};

namespace detail {
template <class T, class V>
concept settable_as =
    (std::same_as<T, bool> && std::same_as<std::remove_cvref_t<V>, bool>) ||
    (std::same_as<T, std::int64_t> && std::integral<std::remove_cvref_t<V>> &&
     !std::same_as<std::remove_cvref_t<V>, bool>) ||
    (std::same_as<T, double> && (std::floating_point<std::remove_cvref_t<V>> ||
                                 (std::integral<std::remove_cvref_t<V>> &&
                                  !std::same_as<std::remove_cvref_t<V>, bool>))) ||
    (std::same_as<T, std::string> && std::convertible_to<V, std::string_view>) ||
    (!std::is_arithmetic_v<T> && !std::same_as<T, std::string> && std::convertible_to<V, T>);

template <class T, class V>
attr_value to_attr_value(V&& v) {
  if constexpr (std::same_as<T, std::string>) {
    if constexpr (std::is_same_v<std::remove_cvref_t<V>, std::string> && std::is_rvalue_reference_v<V&&>)
      return attr_value{std::in_place_type<std::string>, std::forward<V>(v)};
    else
      return attr_value{std::in_place_type<std::string>, std::string_view(v)};
  } else {
    return attr_value{std::in_place_type<T>, static_cast<T>(std::forward<V>(v))};
  }
}
}  // namespace detail

/// One (key, value) pair for events and links: `{{semconv::db::collection_name, "sales"}}`.
struct kv {
  template <class T, class V>
    requires detail::settable_as<T, V>
  kv(const key<T>& k, V&& v) : attr{k.name(), detail::to_attr_value<T>(std::forward<V>(v))} {}
  attribute attr;
};

}  // namespace agentrace
// amalgamated: include/agentrace/context.hpp
// SPDX-License-Identifier: MIT
// Span context (ids + flags) and the thread's current context.

#include <cstdint>
#include <string>
#include <string_view>

namespace agentrace {

/// 128-bit trace id, kept as two words (hi = first 8 bytes in W3C/OTLP hex order).
struct trace_id {
  std::uint64_t hi{0};
  std::uint64_t lo{0};
  constexpr bool valid() const noexcept { return (hi | lo) != 0; }
  friend constexpr bool operator==(const trace_id&, const trace_id&) = default;
};

/// W3C trace-flags bits.
inline constexpr std::uint8_t flag_sampled = 0x01;
inline constexpr std::uint8_t flag_random = 0x02;

/// Identifies a span across threads and processes.
struct span_context {
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
  std::uint8_t flags{0};
  bool remote{false};

  constexpr bool valid() const noexcept { return trace_id.valid() && span_id != 0; }
  constexpr bool sampled() const noexcept { return (flags & flag_sampled) != 0; }
  friend constexpr bool operator==(const span_context&, const span_context&) = default;
};

namespace detail {
// The thread's current context. Trivially constructible, so access needs no TLS init guard.
inline constinit thread_local span_context tls_current{};

inline constexpr char hex_digits[] = "0123456789abcdef";
inline void append_hex(std::string& out, std::uint64_t v) {
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(hex_digits[(v >> shift) & 0xF]);
}
}  // namespace detail

/// The current context of this thread (the innermost live span, or an installed context).
inline span_context current_context() noexcept { return detail::tls_current; }

/// Lowercase hex of a trace id (32 chars) / span id (16 chars).
inline std::string to_hex(const trace_id& id) {
  std::string s;
  s.reserve(32);
  detail::append_hex(s, id.hi);
  detail::append_hex(s, id.lo);
  return s;
}
inline std::string to_hex(std::uint64_t span_id) {
  std::string s;
  s.reserve(16);
  detail::append_hex(s, span_id);
  return s;
}

}  // namespace agentrace
// amalgamated: include/agentrace/record.hpp
// SPDX-License-Identifier: MIT
// What a finished span is: one fixed-size record, built on the agent thread and handed to the
// collector through the queue. Everything rare or variable-sized hangs off `ext`.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>


namespace agentrace {

/// OpenTelemetry SpanKind (values as in OTLP).
enum class span_kind : std::uint8_t { internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };

/// OpenTelemetry StatusCode (values as in OTLP).
enum class status_code : std::uint8_t { unset = 0, ok = 1, error = 2 };

/// Static call-site data of a span: lives in a function-local `static constexpr`, so a span refers
/// to its name, kind and source location with one pointer.
struct span_site {
  std::string_view name;
  span_kind kind{span_kind::internal};
  const char* file{""};
  std::uint32_t line{0};
  const char* function{""};
};

namespace detail {

inline constexpr std::size_t inline_attrs = 8;

enum class slot_type : std::uint8_t { boolean, int64, float64, static_str, owned_str };

struct attr_slot {
  const char* key;
  std::uint32_t key_len;
  std::uint32_t str_len;  // static_str only
  union {
    bool b;
    std::int64_t i;
    double d;
    const char* s;
    std::string* owned;
  } v;
};

struct event_data {
  std::uint64_t ticks{0};
  std::string_view name;  // static storage (static_string)
  std::vector<attribute> attributes;
  std::uint32_t dropped_attributes{0};
};

struct link_data {
  span_context context;
  std::string trace_state;
  std::vector<attribute> attributes;
  std::uint32_t dropped_attributes{0};
};

/// The rare, variable-sized part of a span. Allocated on first use only.
struct span_ext {
  std::vector<attribute> attributes;  // beyond the inline slots
  std::vector<event_data> events;
  std::vector<link_data> links;
  std::string status_message;
  std::string name;         // runtime name (set_name), replaces the site's name when not empty
  std::string trace_state;  // W3C tracestate carried by this span
  std::uint32_t dropped_attributes{0};
  std::uint32_t dropped_events{0};
  std::uint32_t dropped_links{0};
};

}  // namespace detail

/// One finished span, as it travels through the queue. Fixed size; move-only. The move copies
/// only the header and the attribute slots in use.
struct span_record {
  const span_site* site{nullptr};
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
  std::uint64_t parent_span_id{0};
  std::uint64_t start_ticks{0};
  std::uint64_t end_ticks{0};
  std::uint8_t flags{0};
  bool parent_remote{false};
  status_code status{status_code::unset};
  std::uint8_t n_attrs{0};
  std::uint32_t thread_index{0};
  detail::span_ext* ext{nullptr};
  detail::slot_type types[detail::inline_attrs];
  detail::attr_slot attrs[detail::inline_attrs];

  span_record() noexcept = default;
  span_record(const span_record&) = delete;
  span_record& operator=(const span_record&) = delete;
  span_record(span_record&& o) noexcept { take(o); }
  span_record& operator=(span_record&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  ~span_record() { reset(); }

  /// Frees what the record owns and makes it empty.
  void reset() noexcept {
    for (std::uint8_t i = 0; i < n_attrs; ++i)
      if (types[i] == detail::slot_type::owned_str) delete attrs[i].v.owned;
    n_attrs = 0;
    delete ext;
    ext = nullptr;
  }

  detail::span_ext& extension() {
    if (!ext) ext = new detail::span_ext();
    return *ext;
  }

  std::string_view name() const noexcept {
    if (ext && !ext->name.empty()) return ext->name;
    return site ? site->name : std::string_view{};
  }
  span_kind kind() const noexcept { return site ? site->kind : span_kind::internal; }

 private:
  void take(span_record& o) noexcept {
    // Header fields up to `types`, then only the used slots: an empty span moves ~72 bytes.
    std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o), offsetof(span_record, types));
    std::memcpy(types, o.types, o.n_attrs);
    std::memcpy(static_cast<void*>(attrs), static_cast<const void*>(o.attrs),
                sizeof(detail::attr_slot) * o.n_attrs);
    o.n_attrs = 0;
    o.ext = nullptr;
  }
};

}  // namespace agentrace
// amalgamated: include/agentrace/span.hpp
// SPDX-License-Identifier: MIT
// The hot path: RAII spans with compile-time names.

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>

// amalgamated: include/agentrace/detail/clock.hpp
// SPDX-License-Identifier: MIT
// The span clock: raw invariant-TSC ticks on x86-64 (one instruction, ~11 ns under KVM), else
// steady_clock nanoseconds. Agent threads only read ticks; the collector converts them to Unix
// nanoseconds with a calibration it refreshes on every wake-up.

#include <atomic>
#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#define AGENTRACE_DETAIL_HAS_TSC 1
#else
#define AGENTRACE_DETAIL_HAS_TSC 0
#endif

namespace agentrace::detail {

enum class clock_source : std::uint8_t { tsc = 0, steady = 1 };

// Chosen once by the first start() and never changed afterwards, so every tick ever recorded in
// this process has the same meaning. Relaxed: it is written before any span can be recorded
// (spans record only after start() published `tracing_on` with release ordering).
inline std::atomic<clock_source> span_clock_source{clock_source::steady};

inline std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t system_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// True when the CPU reports an invariant TSC (CPUID 0x80000007 EDX bit 8): constant rate,
/// does not stop in deep C-states, synchronised across cores.
inline bool invariant_tsc_available() noexcept {
#if AGENTRACE_DETAIL_HAS_TSC
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000u, nullptr)) < 0x80000007u) return false;
  __cpuid(0x80000007u, a, b, c, d);
  return (d & (1u << 8)) != 0;
#else
  return false;
#endif
}

/// Ticks of the span clock. The hot path's only system interaction.
inline std::uint64_t now_ticks() noexcept {
#if AGENTRACE_DETAIL_HAS_TSC
  if (span_clock_source.load(std::memory_order_relaxed) == clock_source::tsc) return __rdtsc();
#endif
  return static_cast<std::uint64_t>(steady_ns());
}

/// Converts span-clock ticks to Unix-epoch nanoseconds. Owned and refreshed by the collector:
/// the rate is measured between the anchor taken at start and the latest sample, so it grows
/// more exact the longer the process runs (a 20 ms span is converted with a rate measured over
/// at least 20 ms, i.e. to well under 0.01%).
class clock_converter {
 public:
  clock_converter() { reset(); }

  void reset() noexcept {
    source_ = span_clock_source.load(std::memory_order_relaxed);
    sample(anchor_ticks_, anchor_steady_);
    anchor_system_ = system_ns();
    last_ticks_ = anchor_ticks_;
    last_steady_ = anchor_steady_;
    ns_per_tick_ = 1.0;
    if (source_ == clock_source::tsc) ns_per_tick_ = initial_tsc_estimate();
  }

  /// Takes a new (ticks, steady) sample; call before converting a batch.
  void refresh() noexcept {
    if (source_ == clock_source::steady) return;
    std::uint64_t t = 0;
    std::int64_t s = 0;
    sample(t, s);
    if (t <= anchor_ticks_ || s - anchor_steady_ < 1'000'000) return;  // < 1 ms: keep estimate
    last_ticks_ = t;
    last_steady_ = s;
    ns_per_tick_ = static_cast<double>(s - anchor_steady_) / static_cast<double>(t - anchor_ticks_);
  }

  std::uint64_t to_unix_ns(std::uint64_t ticks) const noexcept {
    // Scale the (small) tick delta in floating point, add the (large) anchor in integers: a
    // double holding ~1.8e18 ns would round every timestamp to 256 ns.
    const double delta = static_cast<double>(static_cast<std::int64_t>(ticks - anchor_ticks_));
    const std::int64_t ns = anchor_system_ + static_cast<std::int64_t>(delta * ns_per_tick_);
    return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns);
  }

  std::int64_t duration_ns(std::uint64_t start, std::uint64_t end) const noexcept {
    return static_cast<std::int64_t>(static_cast<double>(static_cast<std::int64_t>(end - start)) *
                                     ns_per_tick_);
  }

  double ns_per_tick() const noexcept { return ns_per_tick_; }
  clock_source source() const noexcept { return source_; }

 private:
  void sample(std::uint64_t& ticks, std::int64_t& steady) const noexcept {
    if (source_ == clock_source::steady) {
      steady = steady_ns();
      ticks = static_cast<std::uint64_t>(steady);
      return;
    }
    // Bracket the tick read by two steady reads and keep the tightest of three tries.
    std::int64_t best = INT64_MAX;
    for (int i = 0; i < 3; ++i) {
      const std::int64_t a = steady_ns();
      const std::uint64_t t = now_ticks();
      const std::int64_t b = steady_ns();
      if (b - a < best) {
        best = b - a;
        ticks = t;
        steady = a + (b - a) / 2;
      }
    }
  }

  // Until 1 ms has passed since the anchor, estimate the TSC rate over a 1 ms busy wait done
  // once per process (only start() pays it).
  static double initial_tsc_estimate() noexcept {
    static const double estimate = [] {
      const std::int64_t s0 = steady_ns();
      const std::uint64_t t0 = now_ticks();
      std::int64_t s1 = s0;
      while (s1 - s0 < 1'000'000) s1 = steady_ns();
      const std::uint64_t t1 = now_ticks();
      return static_cast<double>(s1 - s0) / static_cast<double>(t1 - t0);
    }();
    return estimate;
  }

  clock_source source_{clock_source::steady};
  std::uint64_t anchor_ticks_{0};
  std::int64_t anchor_steady_{0};
  std::int64_t anchor_system_{0};
  std::uint64_t last_ticks_{0};
  std::int64_t last_steady_{0};
  double ns_per_tick_{1.0};
};

}  // namespace agentrace::detail
// amalgamated: include/agentrace/detail/thread_state.hpp
// SPDX-License-Identifier: MIT
// Per-thread producer state, the process-wide span queue and the registry that sums per-thread
// counters for stats() and force_flush().

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

// amalgamated: include/agentrace/detail/concurrent_queue.hpp
// SPDX-License-Identifier: MIT
// The one place that knows how concurrentqueue is spelled on this system, and the queue traits.

#if __has_include(<concurrentqueue/concurrentqueue.h>)
#include <concurrentqueue/concurrentqueue.h>
#elif __has_include(<concurrentqueue/moodycamel/concurrentqueue.h>)
#include <concurrentqueue/moodycamel/concurrentqueue.h>
#elif __has_include(<concurrentqueue.h>)
#include <concurrentqueue.h>
#else
#error "agentrace needs moodycamel::ConcurrentQueue (Debian: apt-get install libconcurrentqueue-dev)"
#endif

#include <cstddef>

namespace agentrace::detail {

// Why these traits: with try_enqueue (never allocates) an explicit producer can only use as many
// blocks as its initial block index holds. The default (32 blocks of 32) would cap one thread at
// 1,024 queued spans whatever the configured capacity; 64 x 1024 lets one thread use up to 65,536.
struct queue_traits : moodycamel::ConcurrentQueueDefaultTraits {
  static constexpr std::size_t BLOCK_SIZE = 64;
  static constexpr std::size_t EXPLICIT_INITIAL_INDEX_SIZE = 1024;
};

template <class T>
using concurrent_queue = moodycamel::ConcurrentQueue<T, queue_traits>;
using producer_token = moodycamel::ProducerToken;
using consumer_token = moodycamel::ConsumerToken;

}  // namespace agentrace::detail
// amalgamated: include/agentrace/detail/random.hpp
// SPDX-License-Identifier: MIT
// Per-thread id generator: xoshiro256++ seeded once per thread from std::random_device.

#include <cstdint>
#include <random>
#include <thread>

namespace agentrace::detail {

class id_generator {
 public:
  id_generator() {
    std::random_device rd;
    std::uint64_t seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    seed ^= static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    for (auto& w : s_) w = splitmix(seed);
  }

  /// A non-zero 64-bit value (ids must never be all zeros).
  std::uint64_t next_nonzero() noexcept {
    std::uint64_t v;
    do v = next(); while (v == 0);
    return v;
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t s_[4];
};

}  // namespace agentrace::detail

namespace agentrace::detail {

using span_queue = concurrent_queue<span_record>;

// Tracing is recording (start() done, shutdown() not begun). Release on start, acquire on the
// hot path's first check would cost nothing more than relaxed on x86; relaxed is enough because a
// thread that sees `true` late only misses spans begun before it saw it.
inline std::atomic<bool> tracing_on{false};

// Counters written by their owning thread only (plain load + store, no RMW, no lock prefix).
// The collector reads them with acquire loads; `enqueued` is stored with release after a
// successful try_enqueue, so a collector that sees the count can dequeue the records.
struct thread_counters {
  std::atomic<std::uint64_t> ended{0};
  std::atomic<std::uint64_t> enqueued{0};
  std::atomic<std::uint64_t> dropped_queue_full{0};
  std::atomic<std::uint64_t> dropped_unsampled{0};

  static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }
};

struct counters_snapshot {
  std::uint64_t ended{0};
  std::uint64_t enqueued{0};
  std::uint64_t dropped_queue_full{0};
  std::uint64_t dropped_unsampled{0};
  std::uint64_t dropped_thread_exit{0};
};

struct thread_state;

/// The process-wide queue and thread registry. The queue is created by the first start() and
/// lives until the process exits: producer tokens in other threads' TLS refer to it, and a
/// token must never outlive its queue.
struct global_state {
  std::mutex mu;
  std::unique_ptr<span_queue> queue;  // guarded by mu for creation; never replaced
  std::size_t queue_capacity{0};
  std::atomic<span_queue*> queue_ptr{nullptr};
  std::vector<thread_state*> threads;  // live threads that recorded a span
  counters_snapshot retired{};         // sums of threads that have exited
  std::atomic<std::uint64_t> dropped_thread_exit{0};
  std::uint32_t next_thread_index{1};
};

inline global_state& globals() {
  // Leaked on purpose: threads that exit after main() returns still touch it.
  static global_state* g = new global_state();
  return *g;
}

struct thread_state {
  explicit thread_state(span_queue& q) : queue(&q), token(q) {}
  span_queue* queue;
  producer_token token;
  id_generator ids;
  thread_counters counters;
  std::uint32_t index{0};
};

inline constinit thread_local thread_state* tls_state = nullptr;
inline constinit thread_local bool tls_exited = false;

/// Owns the thread's state; its destructor runs at thread exit.
struct thread_state_owner {
  std::unique_ptr<thread_state> state;
  ~thread_state_owner() {
    tls_exited = true;
    tls_state = nullptr;
    if (!state) return;
    auto& g = globals();
    std::lock_guard<std::mutex> lock(g.mu);
    auto& c = state->counters;
    g.retired.ended += c.ended.load(std::memory_order_acquire);
    g.retired.enqueued += c.enqueued.load(std::memory_order_acquire);
    g.retired.dropped_queue_full += c.dropped_queue_full.load(std::memory_order_acquire);
    g.retired.dropped_unsampled += c.dropped_unsampled.load(std::memory_order_acquire);
    std::erase(g.threads, state.get());
    // Records this thread enqueued stay in the queue: the producer is only marked inactive.
    state.reset();
  }
};

/// The queue if tracing was ever started in this process.
inline span_queue* queue_if_created() noexcept {
  return globals().queue_ptr.load(std::memory_order_acquire);
}

/// Creates the queue on first use; later calls return the same queue (its capacity is fixed).
inline span_queue& ensure_queue(std::size_t capacity) {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  if (!g.queue) {
    // Enough blocks for `capacity` spans; try_enqueue never allocates more.
    g.queue = std::make_unique<span_queue>(capacity);
    g.queue_capacity = capacity;
    g.queue_ptr.store(g.queue.get(), std::memory_order_release);
  }
  return *g.queue;
}

/// Slow path of this_thread(): the thread's first span (allocates the state and the token).
[[gnu::noinline]] inline thread_state* create_thread_state() {
  if (tls_exited) return nullptr;
  span_queue* q = queue_if_created();
  if (!q) return nullptr;
  static thread_local thread_state_owner owner;
  owner.state = std::make_unique<thread_state>(*q);
  auto& g = globals();
  {
    std::lock_guard<std::mutex> lock(g.mu);
    owner.state->index = g.next_thread_index++;
    g.threads.push_back(owner.state.get());
  }
  tls_state = owner.state.get();
  return tls_state;
}

/// This thread's producer state, or nullptr while the thread is exiting.
inline thread_state* this_thread() {
  if (thread_state* s = tls_state) [[likely]]
    return s;
  return create_thread_state();
}

/// Sums of all threads' counters, live and exited.
inline counters_snapshot sum_counters() {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  counters_snapshot s = g.retired;
  for (thread_state* t : g.threads) {
    s.ended += t->counters.ended.load(std::memory_order_acquire);
    s.enqueued += t->counters.enqueued.load(std::memory_order_acquire);
    s.dropped_queue_full += t->counters.dropped_queue_full.load(std::memory_order_acquire);
    s.dropped_unsampled += t->counters.dropped_unsampled.load(std::memory_order_acquire);
  }
  s.dropped_thread_exit = g.dropped_thread_exit.load(std::memory_order_relaxed);
  return s;
}

}  // namespace agentrace::detail

namespace agentrace {

/// Semantic-convention keys the core itself writes.
namespace semconv::exception {
inline constexpr key<std::string> type{"exception.type"};
inline constexpr key<std::string> message{"exception.message"};
inline constexpr key<std::string> stacktrace{"exception.stacktrace"};
}  // namespace semconv::exception

namespace detail {

/// A string usable as a template argument: `agentrace::span<"llm.chat">`.
template <std::size_t N>
struct fixed_string {
  char data[N]{};
  consteval fixed_string(const char (&s)[N]) noexcept {  // NOLINT
    for (std::size_t i = 0; i < N; ++i) data[i] = s[i];
  }
  constexpr std::string_view view() const noexcept { return {data, N - 1}; }
};

consteval span_site make_site(const char* file, std::uint32_t line, const char* function,
                              std::string_view name, span_kind kind = span_kind::internal) {
  // A span name must be a compile-time constant and must not be empty.
  if (name.empty()) throw "agentrace: a span name must not be empty";
  return span_site{name, kind, file, line, function};
}

/// Root sampling decision: the W3C flags a new trace starts with. Replaced by the sampler
/// machinery (sampler.hpp) when it is configured; always-on by default.
inline std::uint8_t (*root_flags_fn)(const trace_id&) noexcept = nullptr;

inline std::string demangle(const char* mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> p(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                           std::free);
  return (status == 0 && p) ? std::string(p.get()) : std::string(mangled);
}

// Spans that ended while tracing was off (after shutdown began) or while their thread was exiting.
inline std::atomic<std::uint64_t> dropped_not_running{0};

}  // namespace detail

/// A span while it is alive. Move-only; may be empty (default-constructed, or tracing off);
/// ends itself when destroyed, or earlier by `end()` (idempotent). While alive and recording it is
/// the thread's current context, so spans begun inside it become its children.
class scoped_span {
 public:
  scoped_span() noexcept = default;

  /// Begins a span whose parent is the thread's current context (a new trace if there is none).
  explicit scoped_span(const span_site* site) noexcept {
    if (detail::tracing_on.load(std::memory_order_relaxed)) [[likely]]
      begin(site, detail::tls_current);
  }

  /// Begins a span with an explicit parent (e.g. extracted from a traceparent header). An
  /// invalid parent starts a new trace.
  scoped_span(const span_site* site, const span_context& parent) noexcept {
    if (detail::tracing_on.load(std::memory_order_relaxed)) [[likely]]
      begin(site, parent);
  }

  scoped_span(scoped_span&& o) noexcept
      : rec_(std::move(o.rec_)), prev_(o.prev_), uncaught_(o.uncaught_), recording_(o.recording_) {
    o.recording_ = false;
  }
  scoped_span& operator=(scoped_span&& o) noexcept {
    if (this != &o) {
      end();
      rec_ = std::move(o.rec_);
      prev_ = o.prev_;
      uncaught_ = o.uncaught_;
      recording_ = std::exchange(o.recording_, false);
    }
    return *this;
  }
  scoped_span(const scoped_span&) = delete;
  scoped_span& operator=(const scoped_span&) = delete;

  ~scoped_span() {
    if (recording_) finish();
  }

  /// Ends the span now. Further calls, and the destructor, do nothing.
  void end() noexcept {
    if (recording_) finish();
  }

  bool is_recording() const noexcept { return recording_; }

  /// This span's context (invalid when the span is empty).
  span_context context() const noexcept {
    if (!recording_) return {};
    return span_context{rec_.trace_id, rec_.span_id, rec_.flags, false};
  }

  /// Sets a numeric or boolean attribute. A value of another type than the key's does not compile.
  template <class T, class V>
    requires(!std::same_as<T, std::string> && detail::settable_as<T, V>)
  scoped_span& set(const key<T>& k, V&& v) noexcept {
    if (!recording_) return *this;
    if constexpr (std::same_as<T, bool> || std::same_as<T, std::int64_t> ||
                  std::same_as<T, double>) {
      if (rec_.n_attrs < detail::inline_attrs) [[likely]] {
        detail::attr_slot& s = slot(k.name());
        if constexpr (std::same_as<T, bool>) {
          rec_.types[rec_.n_attrs] = detail::slot_type::boolean;
          s.v.b = v;
        } else if constexpr (std::same_as<T, std::int64_t>) {
          rec_.types[rec_.n_attrs] = detail::slot_type::int64;
          s.v.i = static_cast<std::int64_t>(v);
        } else {
          rec_.types[rec_.n_attrs] = detail::slot_type::float64;
          s.v.d = static_cast<double>(v);
        }
        ++rec_.n_attrs;
        return *this;
      }
    }
    overflow(k.name(), detail::to_attr_value<T>(std::forward<V>(v)));
    return *this;
  }

  /// Sets a string attribute from a literal: stored as a pointer, never copied.
  scoped_span& set(const key<std::string>& k, static_string v) noexcept {
    if (!recording_) return *this;
    if (rec_.n_attrs < detail::inline_attrs) [[likely]] {
      detail::attr_slot& s = slot(k.name());
      rec_.types[rec_.n_attrs++] = detail::slot_type::static_str;
      s.v.s = v.data();
      s.str_len = static_cast<std::uint32_t>(v.size());
      return *this;
    }
    overflow(k.name(), attr_value{std::in_place_type<std::string>, v.view()});
    return *this;
  }

  /// Sets a string attribute from a runtime string: copied once (moved when an rvalue
  /// std::string is passed, so a prompt is never copied at all).
  template <class S>
    requires(std::convertible_to<S, std::string_view> &&
             !std::is_array_v<std::remove_cvref_t<S>>)
  scoped_span& set(const key<std::string>& k, S&& v) {
    if (!recording_) return *this;
    std::string* owned;
    if constexpr (std::is_same_v<std::remove_cvref_t<S>, std::string> &&
                  std::is_rvalue_reference_v<S&&>)
      owned = new std::string(std::forward<S>(v));
    else
      owned = new std::string(std::string_view(v));
    if (rec_.n_attrs < detail::inline_attrs) {
      detail::attr_slot& s = slot(k.name());
      rec_.types[rec_.n_attrs++] = detail::slot_type::owned_str;
      s.v.owned = owned;
      return *this;
    }
    overflow(k.name(), attr_value{std::in_place_type<std::string>, std::move(*owned)});
    delete owned;
    return *this;
  }

  /// Adds an event with its own timestamp: `s.event("cache.miss", {{db::collection_name, "x"}})`.
  scoped_span& event(static_string name, std::initializer_list<kv> attrs = {}) {
    if (!recording_) return *this;
    auto& ext = rec_.extension();
    if (ext.events.size() >= limit_events()) {
      ++ext.dropped_events;
      return *this;
    }
    detail::event_data e;
    e.ticks = detail::now_ticks();
    e.name = name.view();
    e.attributes.reserve(attrs.size());
    for (const kv& a : attrs) e.attributes.push_back(a.attr);
    ext.events.push_back(std::move(e));
    return *this;
  }

  /// Links this span to another span's context (e.g. the request that caused a batch job).
  scoped_span& link(const span_context& ctx, std::initializer_list<kv> attrs = {}) {
    if (!recording_ || !ctx.valid()) return *this;
    auto& ext = rec_.extension();
    if (ext.links.size() >= limit_links()) {
      ++ext.dropped_links;
      return *this;
    }
    detail::link_data l;
    l.context = ctx;
    for (const kv& a : attrs) l.attributes.push_back(a.attr);
    ext.links.push_back(std::move(l));
    return *this;
  }

  /// Sets the status. OpenTelemetry: a description is kept only with ERROR; OK is final.
  scoped_span& set_status(status_code code, std::string_view description = {}) {
    if (!recording_ || rec_.status == status_code::ok) return *this;
    if (code == status_code::unset) return *this;
    rec_.status = code;
    if (code == status_code::error && !description.empty())
      rec_.extension().status_message.assign(description);
    else if (rec_.ext)
      rec_.ext->status_message.clear();
    return *this;
  }
  /// Status ERROR with a description.
  scoped_span& error(std::string_view description = {}) {
    return set_status(status_code::error, description);
  }
  scoped_span& ok() { return set_status(status_code::ok); }

  /// Records a caught exception: an `exception` event with exception.type (demangled) and
  /// exception.message (what()), and status ERROR.
  scoped_span& record_exception(const std::exception& e) {
    if (!recording_) return *this;
    std::string type = detail::demangle(typeid(e).name());
    event("exception", {{semconv::exception::type, std::move(type)},
                        {semconv::exception::message, std::string_view(e.what())}});
    return set_status(status_code::error, e.what());
  }

  /// Replaces the compile-time name with a runtime one (semantic conventions name LLM spans
  /// `chat {model}`). Allocates; keep the compile-time name where it will do.
  scoped_span& set_name(std::string name) {
    if (recording_) rec_.extension().name = std::move(name);
    return *this;
  }

  /// Records the W3C tracestate this span carries (propagated to children by the propagator).
  scoped_span& set_trace_state(std::string ts) {
    if (recording_) rec_.extension().trace_state = std::move(ts);
    return *this;
  }

 private:
  void begin(const span_site* site, const span_context& parent) noexcept {
    detail::thread_state* ts = detail::this_thread();
    if (!ts) [[unlikely]]
      return;
    rec_.site = site;
    if (parent.valid()) {
      rec_.trace_id = parent.trace_id;
      rec_.parent_span_id = parent.span_id;
      rec_.flags = parent.flags;
      rec_.parent_remote = parent.remote;
    } else {
      rec_.trace_id = trace_id{ts->ids.next(), ts->ids.next_nonzero()};
      rec_.flags = detail::root_flags_fn ? detail::root_flags_fn(rec_.trace_id)
                                         : std::uint8_t(flag_sampled | flag_random);
    }
    rec_.span_id = ts->ids.next_nonzero();
    rec_.thread_index = ts->index;
    prev_ = detail::tls_current;
    detail::tls_current = span_context{rec_.trace_id, rec_.span_id, rec_.flags, false};
    uncaught_ = std::uncaught_exceptions();
    recording_ = true;
    rec_.start_ticks = detail::now_ticks();
  }

  void finish() noexcept {
    rec_.end_ticks = detail::now_ticks();
    recording_ = false;
    if (std::uncaught_exceptions() > uncaught_) [[unlikely]]
      mark_unwinding();
    // Restore the context this span replaced, unless something else became current meanwhile
    // (a span ended out of order, or on another thread than it began).
    if (detail::tls_current.span_id == rec_.span_id) detail::tls_current = prev_;
    // The ending thread's producer token: a span may end on another thread than it began.
    detail::thread_state* ts = detail::this_thread();
    if (!ts || !detail::tracing_on.load(std::memory_order_relaxed)) [[unlikely]] {
      detail::dropped_not_running.fetch_add(1, std::memory_order_relaxed);
      rec_.reset();
      return;
    }
    auto& c = ts->counters;
    detail::thread_counters::bump(c.ended);
    if (!(rec_.flags & flag_sampled)) [[unlikely]] {
      detail::thread_counters::bump(c.dropped_unsampled);
      rec_.reset();
      return;
    }
    if (ts->queue->try_enqueue(ts->token, std::move(rec_))) [[likely]] {
      detail::thread_counters::bump(c.enqueued);
    } else {
      detail::thread_counters::bump(c.dropped_queue_full);
      rec_.reset();
    }
  }

  detail::attr_slot& slot(std::string_view key) noexcept {
    detail::attr_slot& s = rec_.attrs[rec_.n_attrs];
    s.key = key.data();
    s.key_len = static_cast<std::uint32_t>(key.size());
    return s;
  }

  void overflow(std::string_view key, attr_value v) {
    auto& ext = rec_.extension();
    if (ext.attributes.size() + detail::inline_attrs >= limit_attributes()) {
      ++ext.dropped_attributes;
      return;
    }
    ext.attributes.push_back(attribute{key, std::move(v)});
  }

  void mark_unwinding() noexcept {
    try {
      event("exception", {{semconv::exception::message,
                           std::string_view("exception thrown through the span's scope")}});
      set_status(status_code::error, "exception thrown through the span's scope");
    } catch (...) {  // out of memory while unwinding: keep the status at least
      rec_.status = status_code::error;
    }
  }

  static std::size_t limit_attributes() noexcept;
  static std::size_t limit_events() noexcept;
  static std::size_t limit_links() noexcept;

  span_record rec_;
  span_context prev_{};
  int uncaught_{0};
  bool recording_{false};
};

namespace detail {
// Span limits as the collector configured them (OTEL_SPAN_*_COUNT_LIMIT); read off the hot path
// only (overflow attributes, events, links).
inline std::atomic<std::uint32_t> limit_attribute_count{128};
inline std::atomic<std::uint32_t> limit_event_count{128};
inline std::atomic<std::uint32_t> limit_link_count{128};
}  // namespace detail

inline std::size_t scoped_span::limit_attributes() noexcept {
  return detail::limit_attribute_count.load(std::memory_order_relaxed);
}
inline std::size_t scoped_span::limit_events() noexcept {
  return detail::limit_event_count.load(std::memory_order_relaxed);
}
inline std::size_t scoped_span::limit_links() noexcept {
  return detail::limit_link_count.load(std::memory_order_relaxed);
}

/// The macro-free form: `agentrace::span<"llm.chat", agentrace::span_kind::client> s;`.
template <detail::fixed_string Name, span_kind Kind = span_kind::internal>
class span : public scoped_span {
 public:
  static constexpr span_site site{Name.view(), Kind, "", 0, ""};
  span() noexcept : scoped_span(&site) {}
  explicit span(const span_context& parent) noexcept : scoped_span(&site, parent) {}
};

/// Runs `f` inside a span named `Name`. An exception leaving `f` is recorded with its type and
/// message (record_exception), then rethrown. `f` may take the span by reference.
template <detail::fixed_string Name, span_kind Kind = span_kind::internal, class F>
decltype(auto) in_span(F&& f) {
  span<Name, Kind> s;
  try {
    if constexpr (std::is_invocable_v<F&&, scoped_span&>)
      return std::forward<F>(f)(static_cast<scoped_span&>(s));
    else
      return std::forward<F>(f)();
  } catch (const std::exception& e) {
    s.record_exception(e);
    throw;
  }
}

}  // namespace agentrace

#define AGENTRACE_DETAIL_CAT2(a, b) a##b
#define AGENTRACE_DETAIL_CAT(a, b) AGENTRACE_DETAIL_CAT2(a, b)

/// `AGENTRACE_SPAN(var, "name")` or `AGENTRACE_SPAN(var, "name", agentrace::span_kind::client)`:
/// declares `var`, a span that begins here and ends at the end of the scope. The name must be a
/// string literal; name, kind, file, line and function live in one static constexpr record.
#define AGENTRACE_SPAN(var, ...)                                                             \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);             \
  ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) }

/// Like AGENTRACE_SPAN with an explicit parent context: `AGENTRACE_SPAN_CHILD_OF(var, parent, "name")`.
#define AGENTRACE_SPAN_CHILD_OF(var, parent, ...)                                             \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);             \
  ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__), (parent) }
// amalgamated: include/agentrace/exporter.hpp
// SPDX-License-Identifier: MIT
// The exporter interface (one call per batch) and the owned span model for exporters that keep
// spans (console tree, in-memory store).

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>


namespace agentrace {

/// Resource attributes (service.name, telemetry.sdk.*, OTEL_RESOURCE_ATTRIBUTES ...), owned.
struct resource {
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string_view get(std::string_view key) const noexcept {
    for (const auto& [k, v] : attributes)
      if (k == key) return v;
    return {};
  }
};

/// Span limits (OpenTelemetry "Span Limits"). 0 for the value length means "no limit".
struct span_limits {
  std::uint32_t attribute_count = 128;
  std::uint32_t attribute_value_length = 0;
  std::uint32_t event_count = 128;
  std::uint32_t link_count = 128;
  std::uint32_t event_attribute_count = 128;
  std::uint32_t link_attribute_count = 128;
};

/// What an exporter receives: records plus what it needs to interpret them. Valid for the
/// duration of the call only.
struct export_batch {
  std::span<const span_record> spans;
  const agentrace::resource& resource;
  const detail::clock_converter& clock;
  const span_limits& limits;
  std::string_view scope_name;
  std::string_view scope_version;
  std::uint64_t dropped_spans_total = 0;  // cumulative drops so far, reported in the telemetry
};

/// The result of one export call.
enum class export_result : std::uint8_t { success, failure };

/// An exporter: one call per batch, never concurrently (the collector thread calls it).
class exporter {
 public:
  virtual ~exporter() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual export_result export_spans(const export_batch& batch) = 0;
  /// Delivers anything buffered, within the timeout. Returns false on timeout/failure.
  virtual bool force_flush(std::chrono::milliseconds) { return true; }
  /// Last call; flushes what it can within the timeout.
  virtual void shutdown(std::chrono::milliseconds timeout) { force_flush(timeout); }
  /// Spans this exporter accepted but could not deliver (it counts; the collector reports).
  virtual std::uint64_t spans_failed() const noexcept { return 0; }
};

using exporter_ptr = std::shared_ptr<exporter>;

/// An event as exporters that keep spans see it.
struct event_view {
  std::uint64_t time_unix_ns{0};
  std::string name;
  std::vector<std::pair<std::string, attr_value>> attributes;
};

/// A link as exporters that keep spans see it.
struct link_view {
  span_context context;
  std::string trace_state;
  std::vector<std::pair<std::string, attr_value>> attributes;
};

/// A finished span with owned data and Unix-epoch times: what the in-memory store, the console
/// tree and in-process reflection work with.
struct span_data {
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
  std::uint64_t parent_span_id{0};
  std::uint8_t flags{0};
  bool parent_remote{false};
  std::string name;
  span_kind kind{span_kind::internal};
  std::uint64_t start_unix_ns{0};
  std::uint64_t end_unix_ns{0};
  status_code status{status_code::unset};
  std::string status_message;
  std::string trace_state;
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::vector<event_view> events;
  std::vector<link_view> links;
  std::uint32_t dropped_attributes{0};
  std::uint32_t dropped_events{0};
  std::uint32_t dropped_links{0};
  std::string code_file;
  std::uint32_t code_line{0};
  std::string code_function;

  std::uint64_t duration_ns() const noexcept {
    return end_unix_ns >= start_unix_ns ? end_unix_ns - start_unix_ns : 0;
  }
  /// The attribute named `key`, or nullptr.
  const attr_value* attr(std::string_view key) const noexcept {
    for (const auto& [k, v] : attributes)
      if (k == key) return &v;
    return nullptr;
  }
};

namespace detail {

/// The value of inline slot `i` as an owned attr_value.
inline attr_value slot_value(const span_record& r, std::size_t i) {
  const attr_slot& s = r.attrs[i];
  switch (r.types[i]) {
    case slot_type::boolean: return attr_value{s.v.b};
    case slot_type::int64: return attr_value{s.v.i};
    case slot_type::float64: return attr_value{s.v.d};
    case slot_type::static_str:
      return attr_value{std::in_place_type<std::string>, std::string_view(s.v.s, s.str_len)};
    case slot_type::owned_str: return attr_value{*s.v.owned};
  }
  return {};
}

/// Calls f(key, index_or_ext_attr) for each attribute in recording order, keeping only the last
/// value of a key set twice (OpenTelemetry: setting an existing key replaces its value) and at
/// most `limit` attributes. Returns how many were dropped by the limit.
template <class Inline, class Ext>
std::uint32_t for_each_attribute(const span_record& r, std::uint32_t limit, Inline&& on_inline,
                                 Ext&& on_ext) {
  const std::size_t n_ext = r.ext ? r.ext->attributes.size() : 0;
  const std::size_t total = r.n_attrs + n_ext;
  auto key_at = [&](std::size_t i) -> std::string_view {
    if (i < r.n_attrs) return {r.attrs[i].key, r.attrs[i].key_len};
    return r.ext->attributes[i - r.n_attrs].key;
  };
  std::uint32_t emitted = 0, dropped = 0;
  for (std::size_t i = 0; i < total; ++i) {
    const std::string_view k = key_at(i);
    bool replaced = false;
    for (std::size_t j = i + 1; j < total && !replaced; ++j) replaced = key_at(j) == k;
    if (replaced) continue;
    if (limit != 0 && emitted >= limit) {
      ++dropped;
      continue;
    }
    ++emitted;
    if (i < r.n_attrs)
      on_inline(k, i);
    else
      on_ext(r.ext->attributes[i - r.n_attrs]);
  }
  return dropped + (r.ext ? r.ext->dropped_attributes : 0);
}

}  // namespace detail

/// Converts a record to owned span_data (used by exporters that keep spans).
inline span_data to_span_data(const span_record& r, const detail::clock_converter& clock,
                              const span_limits& limits = {}) {
  span_data d;
  d.trace_id = r.trace_id;
  d.span_id = r.span_id;
  d.parent_span_id = r.parent_span_id;
  d.flags = r.flags;
  d.parent_remote = r.parent_remote;
  d.name = std::string(r.name());
  d.kind = r.kind();
  d.start_unix_ns = clock.to_unix_ns(r.start_ticks);
  d.end_unix_ns = d.start_unix_ns + static_cast<std::uint64_t>(std::max<std::int64_t>(
                                         0, clock.duration_ns(r.start_ticks, r.end_ticks)));
  d.status = r.status;
  if (r.site) {
    d.code_file = r.site->file;
    d.code_line = r.site->line;
    d.code_function = r.site->function;
  }
  d.dropped_attributes = detail::for_each_attribute(
      r, limits.attribute_count,
      [&](std::string_view k, std::size_t i) {
        d.attributes.emplace_back(std::string(k), detail::slot_value(r, i));
      },
      [&](const attribute& a) { d.attributes.emplace_back(std::string(a.key), a.value); });
  if (r.ext) {
    d.status_message = r.ext->status_message;
    d.trace_state = r.ext->trace_state;
    for (const auto& e : r.ext->events) {
      event_view ev{clock.to_unix_ns(e.ticks), std::string(e.name), {}};
      for (const auto& a : e.attributes) ev.attributes.emplace_back(std::string(a.key), a.value);
      d.events.push_back(std::move(ev));
    }
    for (const auto& l : r.ext->links) {
      link_view lv{l.context, l.trace_state, {}};
      for (const auto& a : l.attributes) lv.attributes.emplace_back(std::string(a.key), a.value);
      d.links.push_back(std::move(lv));
    }
    d.dropped_events = r.ext->dropped_events;
    d.dropped_links = r.ext->dropped_links;
  }
  return d;
}

}  // namespace agentrace
// amalgamated: include/agentrace/config.hpp
// SPDX-License-Identifier: MIT
// Configuration: the config struct, and the OpenTelemetry environment variables that fill what
// the code leaves unset.

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>


namespace agentrace {

/// Everything start() takes. Zero / empty means "not set here": the matching OpenTelemetry
/// environment variable, then the documented default, fills it.
struct config {
  std::string service_name{};               // OTEL_SERVICE_NAME, else unknown_service:<exe>
  std::vector<exporter_ptr> exporters{};    // none: OTEL_TRACES_EXPORTER / AGENTRACE_OTLP_FILE
  std::vector<std::pair<std::string, std::string>> resource_attributes{};  // win over env
  std::size_t max_queue_size = 0;           // OTEL_BSP_MAX_QUEUE_SIZE, default 16384 spans
  std::size_t max_export_batch_size = 0;    // OTEL_BSP_MAX_EXPORT_BATCH_SIZE, default 512
  std::chrono::milliseconds schedule_delay{0};  // OTEL_BSP_SCHEDULE_DELAY, default 5000 ms
  std::chrono::milliseconds export_timeout{0};  // OTEL_BSP_EXPORT_TIMEOUT, default 30000 ms
  std::chrono::milliseconds drain_interval{0};  // how often the collector drains, default 5 ms
  std::optional<span_limits> limits{};      // OTEL_SPAN_* / OTEL_ATTRIBUTE_* limits
  bool read_environment = true;             // false: ignore every environment variable
  std::string scope_name = "agentrace";     // instrumentation scope
  std::string scope_version = AGENTRACE_VERSION_STRING;
};

/// Defaults (documented in the README's configuration table).
namespace defaults {
inline constexpr std::size_t max_queue_size = 16384;
inline constexpr std::size_t max_export_batch_size = 512;
inline constexpr std::chrono::milliseconds schedule_delay{5000};
inline constexpr std::chrono::milliseconds export_timeout{30000};
inline constexpr std::chrono::milliseconds drain_interval{5};
}  // namespace defaults

namespace detail {

/// Self-diagnostics go to stderr, prefixed, one line each. Never contains header values.
template <class... Args>
void diag(const char* fmt_str, Args... args) {
  std::fprintf(stderr, "agentrace: ");
  if constexpr (sizeof...(Args) == 0)
    std::fputs(fmt_str, stderr);
  else
    std::fprintf(stderr, fmt_str, args...);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  std::fputc('\n', stderr);
}

/// An environment variable; empty counts as unset (OpenTelemetry configuration rules).
inline std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

inline std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

/// A non-negative integer variable; anything else is reported and the default used.
inline std::uint64_t env_uint(const char* name, std::uint64_t def) {
  auto v = env(name);
  if (!v) return def;
  std::string t = trim(*v);
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (ec != std::errc() || p != t.data() + t.size()) {
    diag("%s='%s' is not a non-negative integer; using %llu", name, t.c_str(),
         static_cast<unsigned long long>(def));
    return def;
  }
  return out;
}

/// OpenTelemetry booleans: only a case-insensitive "true" is true.
inline bool env_bool(const char* name) {
  auto v = env(name);
  if (!v) return false;
  std::string t = trim(*v);
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "true") return true;
  if (t != "false") diag("%s='%s' is not true or false; taken as false", name, t.c_str());
  return false;
}

/// Percent-decoding (W3C baggage format used by OTEL_RESOURCE_ATTRIBUTES and _HEADERS).
inline std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int h = hex(s[i + 1]), l = hex(s[i + 2]);
    if (h < 0 || l < 0) return std::nullopt;
    out.push_back(static_cast<char>(h * 16 + l));
    i += 2;
  }
  return out;
}

/// Parses "k1=v1,k2=v2" (keys trimmed, values percent-decoded). nullopt on any error.
inline std::optional<std::vector<std::pair<std::string, std::string>>> parse_key_value_list(
    std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    const std::size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    if (trim(item).empty()) continue;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto k = percent_decode(trim(item.substr(0, eq)));
    auto v = percent_decode(trim(item.substr(eq + 1)));
    if (!k || !v || k->empty()) return std::nullopt;
    out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

inline std::string executable_name() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  std::string_view p(buf, static_cast<std::size_t>(n));
  const std::size_t slash = p.rfind('/');
  return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

/// Exporters that OTEL_TRACES_EXPORTER can name. Headers of optional exporters register
/// theirs (the OTLP/HTTP exporter registers "otlp"). The argument is the path for "otlp/file"
/// (from AGENTRACE_OTLP_FILE) and empty otherwise.
using exporter_factory = std::function<exporter_ptr(std::string_view arg)>;
inline std::map<std::string, exporter_factory, std::less<>>& exporter_factories() {
  static std::map<std::string, exporter_factory, std::less<>> m;
  return m;
}
inline std::mutex& exporter_factories_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace detail

/// Makes `name` available to OTEL_TRACES_EXPORTER.
inline bool register_exporter_factory(std::string name, detail::exporter_factory f) {
  std::lock_guard<std::mutex> lock(detail::exporter_factories_mutex());
  detail::exporter_factories()[std::move(name)] = std::move(f);
  return true;
}

/// The resource for `cfg`: code wins over OTEL_SERVICE_NAME, which wins over
/// OTEL_RESOURCE_ATTRIBUTES; service.name falls back to unknown_service:<executable>.
inline resource make_resource(const config& cfg) {
  resource r;
  auto put = [&](std::string k, std::string v) {
    for (auto& [ek, ev] : r.attributes)
      if (ek == k) {
        ev = std::move(v);
        return;
      }
    r.attributes.emplace_back(std::move(k), std::move(v));
  };
  if (cfg.read_environment) {
    if (auto v = detail::env("OTEL_RESOURCE_ATTRIBUTES")) {
      if (auto kvs = detail::parse_key_value_list(*v))
        for (auto& [k, val] : *kvs) put(k, val);
      else
        detail::diag("OTEL_RESOURCE_ATTRIBUTES is malformed (want k1=v1,k2=v2 with %%-encoding); "
                     "ignored");
    }
    if (auto v = detail::env("OTEL_SERVICE_NAME")) put("service.name", *v);
  }
  for (const auto& [k, v] : cfg.resource_attributes) put(k, v);
  if (!cfg.service_name.empty()) put("service.name", cfg.service_name);
  if (r.get("service.name").empty()) {
    const std::string exe = detail::executable_name();
    put("service.name", exe.empty() ? "unknown_service" : "unknown_service:" + exe);
  }
  put("telemetry.sdk.name", "agentrace");
  put("telemetry.sdk.language", "cpp");
  put("telemetry.sdk.version", AGENTRACE_VERSION_STRING);
  return r;
}

/// Span limits from the environment (model-specific variables beat the general ones).
inline span_limits limits_from_env(bool read_env) {
  span_limits l;
  if (!read_env) return l;
  using detail::env_uint;
  const auto count = env_uint("OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
  const auto length = env_uint("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0);
  l.attribute_count = static_cast<std::uint32_t>(env_uint("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", count));
  l.attribute_value_length =
      static_cast<std::uint32_t>(env_uint("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", length));
  l.event_count = static_cast<std::uint32_t>(env_uint("OTEL_SPAN_EVENT_COUNT_LIMIT", 128));
  l.link_count = static_cast<std::uint32_t>(env_uint("OTEL_SPAN_LINK_COUNT_LIMIT", 128));
  l.event_attribute_count =
      static_cast<std::uint32_t>(env_uint("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", count));
  l.link_attribute_count =
      static_cast<std::uint32_t>(env_uint("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", count));
  return l;
}

}  // namespace agentrace
// amalgamated: include/agentrace/collector.hpp
// SPDX-License-Identifier: MIT
// The background collector: drains the queue in bulk on a short timer, converts clocks, batches
// by size and time, and calls the exporters. Everything that can be late happens here.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>


namespace agentrace {

/// Counts since the process started tracing (cumulative across start/shutdown cycles).
/// Every span that ended while tracing was on is in exactly one of: exported, export_failed,
/// dropped_*, or still queued (`queued()`).
struct stats {
  std::uint64_t spans_ended = 0;              // ended while tracing was on
  std::uint64_t spans_exported = 0;           // handed to the exporters, which succeeded
  std::uint64_t spans_export_failed = 0;      // in a batch an exporter reported failed
  std::uint64_t dropped_queue_full = 0;       // try_enqueue found the queue full
  std::uint64_t dropped_unsampled = 0;        // ended unsampled (never enqueued, by design)
  std::uint64_t dropped_not_running = 0;      // ended after shutdown began / while thread exited
  std::uint64_t spans_failed_in_exporters = 0;  // accepted by an exporter, later given up on

  /// Spans lost for any reason other than sampling.
  std::uint64_t dropped_total() const noexcept {
    return dropped_queue_full + dropped_not_running + spans_export_failed;
  }
  /// Spans in flight: enqueued but not yet exported.
  std::uint64_t queued() const noexcept {
    const std::uint64_t done = spans_exported + spans_export_failed + dropped_queue_full +
                               dropped_unsampled;
    return spans_ended > done ? spans_ended - done : 0;
  }
};

namespace detail {
// Records dequeued by any collector of this process (cumulative, like the enqueue counters).
inline std::atomic<std::uint64_t> dequeued_total{0};
inline std::atomic<std::uint64_t> exported_total{0};
inline std::atomic<std::uint64_t> export_failed_total{0};
inline std::atomic<bool> collector_active{false};

inline void set_span_clock_once() {
  static const bool done = [] {
    span_clock_source.store(invariant_tsc_available() ? clock_source::tsc : clock_source::steady,
                            std::memory_order_relaxed);
    return true;
  }();
  (void)done;
}
}  // namespace detail

/// Exporters named by OTEL_TRACES_EXPORTER (comma list of console, otlp/stdout, otlp, none, or
/// any registered name) plus a JSON-lines file from AGENTRACE_OTLP_FILE. Unknown names are
/// reported and skipped. Empty when neither variable is set.
inline std::vector<exporter_ptr> exporters_from_env() {
  std::vector<exporter_ptr> out;
  auto make = [&](std::string_view name, std::string_view arg) {
    std::lock_guard<std::mutex> lock(detail::exporter_factories_mutex());
    auto& f = detail::exporter_factories();
    auto it = f.find(name);
    if (it == f.end()) {
      detail::diag("OTEL_TRACES_EXPORTER names '%.*s', which is not available here; skipped",
                   static_cast<int>(name.size()), name.data());
      return;
    }
    if (auto e = it->second(arg)) out.push_back(std::move(e));
  };
  if (auto v = detail::env("OTEL_TRACES_EXPORTER")) {
    std::string_view s = *v;
    while (!s.empty()) {
      const std::size_t comma = s.find(',');
      const std::string name = detail::trim(s.substr(0, comma));
      s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
      if (name.empty() || name == "none") continue;
      make(name, {});
    }
  }
  if (auto path = detail::env("AGENTRACE_OTLP_FILE")) make("otlp/file", *path);
  return out;
}

/// The exporters the environment names, or `defaults` when it names none. Examples use this so
/// that any of them can be pointed elsewhere without a rebuild.
inline std::vector<exporter_ptr> exporters_from_env_or(std::vector<exporter_ptr> defaults) {
  const bool env_names = detail::env("OTEL_TRACES_EXPORTER") || detail::env("AGENTRACE_OTLP_FILE");
  if (!env_names) return defaults;
  return exporters_from_env();
}

/// The background collector. Create it with agentrace::start().
class collector {
 public:
  explicit collector(config cfg) : cfg_(std::move(cfg)) {
    const bool env = cfg_.read_environment;
    using detail::env_uint;
    auto pick = [&](std::size_t code, const char* var, std::size_t def) -> std::size_t {
      if (code) return code;
      return env ? static_cast<std::size_t>(env_uint(var, def)) : def;
    };
    auto pick_ms = [&](std::chrono::milliseconds code, const char* var,
                       std::chrono::milliseconds def) {
      if (code.count() > 0) return code;
      return env ? std::chrono::milliseconds(
                       env_uint(var, static_cast<std::uint64_t>(def.count())))
                 : def;
    };
    queue_size_ = pick(cfg_.max_queue_size, "OTEL_BSP_MAX_QUEUE_SIZE", defaults::max_queue_size);
    batch_size_ = pick(cfg_.max_export_batch_size, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                       defaults::max_export_batch_size);
    if (queue_size_ == 0) queue_size_ = defaults::max_queue_size;
    if (batch_size_ == 0) batch_size_ = defaults::max_export_batch_size;
    if (batch_size_ > queue_size_) {
      detail::diag("max export batch size %zu exceeds the queue size %zu; using %zu", batch_size_,
                   queue_size_, queue_size_);
      batch_size_ = queue_size_;
    }
    schedule_delay_ = pick_ms(cfg_.schedule_delay, "OTEL_BSP_SCHEDULE_DELAY",
                              defaults::schedule_delay);
    export_timeout_ = pick_ms(cfg_.export_timeout, "OTEL_BSP_EXPORT_TIMEOUT",
                              defaults::export_timeout);
    drain_interval_ = cfg_.drain_interval.count() > 0 ? cfg_.drain_interval
                                                      : defaults::drain_interval;
    drain_interval_ = std::min(drain_interval_, std::max(schedule_delay_,
                                                         std::chrono::milliseconds(1)));
    limits_ = cfg_.limits ? *cfg_.limits : limits_from_env(env);
    detail::limit_attribute_count.store(limits_.attribute_count, std::memory_order_relaxed);
    detail::limit_event_count.store(limits_.event_count, std::memory_order_relaxed);
    detail::limit_link_count.store(limits_.link_count, std::memory_order_relaxed);
    resource_ = make_resource(cfg_);
    exporters_ = cfg_.exporters;
    if (exporters_.empty() && env) exporters_ = exporters_from_env();

    bool expected = false;
    if (!detail::collector_active.compare_exchange_strong(expected, true))
      throw std::logic_error("agentrace::start: tracing is already started in this process");
    detail::set_span_clock_once();
    auto& q = detail::ensure_queue(queue_size_);
    if (detail::globals().queue_capacity != queue_size_)
      detail::diag("the span queue was created with capacity %zu by an earlier start(); "
                   "it keeps that capacity (asked: %zu)",
                   detail::globals().queue_capacity, queue_size_);
    queue_ = &q;
    pending_.resize(batch_size_);
    clock_.reset();
    last_export_ = std::chrono::steady_clock::now();
    thread_ = std::thread([this] { run(); });
    detail::tracing_on.store(true, std::memory_order_release);
  }

  collector(const collector&) = delete;
  collector& operator=(const collector&) = delete;
  ~collector() { shutdown(export_timeout_); }

  /// Exports every span that ended before this call (or counts it as dropped), then flushes the
  /// exporters. False when the timeout passed first.
  bool force_flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mu_);
    if (stopped_) return false;
    const std::uint64_t ticket = ++flush_requested_;
    flush_target_ = std::max(flush_target_, detail::sum_counters().enqueued);
    flush_deadline_ = deadline;
    cv_.notify_all();
    return done_cv_.wait_until(lock, deadline, [&] { return flush_done_ >= ticket || stopped_; }) &&
           flush_ok_;
  }

  /// Stops recording, exports what was queued, shuts the exporters down; idempotent. Spans that
  /// end afterwards are counted as dropped_not_running.
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_ || stopping_) return true;
      stopping_ = true;
      shutdown_timeout_ = timeout;
      flush_target_ = std::max(flush_target_, detail::sum_counters().enqueued);
    }
    detail::tracing_on.store(false, std::memory_order_release);
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    done_cv_.notify_all();
    const stats s = get_stats();
    if (s.dropped_total() > 0)
      detail::diag("%llu spans dropped (queue full: %llu, export failed: %llu, ended after "
                   "shutdown: %llu); see agentrace::stats",
                   static_cast<unsigned long long>(s.dropped_total()),
                   static_cast<unsigned long long>(s.dropped_queue_full),
                   static_cast<unsigned long long>(s.spans_export_failed),
                   static_cast<unsigned long long>(s.dropped_not_running));
    detail::collector_active.store(false);
    return true;
  }

  stats get_stats() const {
    const auto c = detail::sum_counters();
    stats s;
    s.spans_ended = c.ended;
    s.dropped_queue_full = c.dropped_queue_full;
    s.dropped_unsampled = c.dropped_unsampled;
    s.dropped_not_running = detail::dropped_not_running.load(std::memory_order_relaxed);
    s.spans_exported = detail::exported_total.load(std::memory_order_acquire);
    s.spans_export_failed = detail::export_failed_total.load(std::memory_order_acquire);
    std::lock_guard<std::mutex> lock(exporters_mu_);
    for (const auto& e : exporters_) s.spans_failed_in_exporters += e->spans_failed();
    return s;
  }

  const agentrace::resource& resource() const noexcept { return resource_; }
  const span_limits& limits() const noexcept { return limits_; }
  std::size_t max_export_batch_size() const noexcept { return batch_size_; }
  std::size_t max_queue_size() const noexcept { return queue_size_; }
  std::chrono::milliseconds schedule_delay() const noexcept { return schedule_delay_; }

 private:
  void run() {
    detail::consumer_token ctok(*queue_);
    for (;;) {
      std::uint64_t flush_ticket = 0, target = 0;
      bool stopping = false;
      std::chrono::steady_clock::time_point flush_deadline;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, drain_interval_,
                     [&] { return stopping_ || flush_requested_ > flush_done_; });
        stopping = stopping_;
        if (flush_requested_ > flush_done_) {
          flush_ticket = flush_requested_;
          flush_deadline = flush_deadline_;
        }
        target = flush_target_;
        if (stopping) flush_deadline = std::chrono::steady_clock::now() + shutdown_timeout_;
      }
      clock_.refresh();
      drain(ctok);
      const auto now = std::chrono::steady_clock::now();
      if (flush_ticket || stopping) {
        // Everything counted as enqueued before the request must be dequeued and exported.
        while (detail::dequeued_total.load(std::memory_order_relaxed) < target &&
               std::chrono::steady_clock::now() < flush_deadline) {
          if (drain(ctok) == 0) std::this_thread::yield();
        }
        export_pending();
        bool ok = detail::dequeued_total.load(std::memory_order_relaxed) >= target;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            flush_deadline - std::chrono::steady_clock::now());
        for (const auto& e : exporters_) {
          try {
            if (stopping)
              e->shutdown(std::max(left, std::chrono::milliseconds(0)));
            else
              ok = e->force_flush(std::max(left, std::chrono::milliseconds(0))) && ok;
          } catch (const std::exception& ex) {
            report_exporter_error(*e, ex.what());
            ok = false;
          }
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (flush_ticket) {
          flush_done_ = flush_ticket;
          flush_ok_ = ok;
        }
        done_cv_.notify_all();
        if (stopping) return;
      } else if (pending_count_ > 0 && now - last_export_ >= schedule_delay_) {
        export_pending();
      }
    }
  }

  // Moves everything queued into pending_, exporting each time a batch fills.
  std::size_t drain(detail::consumer_token& ctok) {
    std::size_t total = 0;
    for (;;) {
      if (pending_count_ == batch_size_) export_pending();
      const std::size_t n = queue_->try_dequeue_bulk(ctok, pending_.begin() + static_cast<std::ptrdiff_t>(pending_count_),
                                                     batch_size_ - pending_count_);
      if (n == 0) break;
      pending_count_ += n;
      total += n;
      detail::dequeued_total.fetch_add(n, std::memory_order_relaxed);
    }
    return total;
  }

  void export_pending() {
    last_export_ = std::chrono::steady_clock::now();
    if (pending_count_ == 0) return;
    clock_.refresh();
    const std::uint64_t dropped = detail::sum_counters().dropped_queue_full;
    export_batch batch{std::span<const span_record>(pending_.data(), pending_count_),
                       resource_,
                       clock_,
                       limits_,
                       cfg_.scope_name,
                       cfg_.scope_version,
                       dropped};
    bool ok = true;
    for (const auto& e : exporters_) {
      try {
        if (e->export_spans(batch) != export_result::success) ok = false;
      } catch (const std::exception& ex) {
        report_exporter_error(*e, ex.what());
        ok = false;
      }
    }
    (ok ? detail::exported_total : detail::export_failed_total)
        .fetch_add(pending_count_, std::memory_order_release);
    for (std::size_t i = 0; i < pending_count_; ++i) pending_[i].reset();
    pending_count_ = 0;
  }

  void report_exporter_error(const exporter& e, const char* what) {
    if (errors_reported_++ < 10)
      detail::diag("exporter '%.*s' failed: %s", static_cast<int>(e.name().size()),
                   e.name().data(), what);
  }

  config cfg_;
  agentrace::resource resource_;
  span_limits limits_;
  std::vector<exporter_ptr> exporters_;
  mutable std::mutex exporters_mu_;
  std::size_t queue_size_{0}, batch_size_{0};
  std::chrono::milliseconds schedule_delay_{0}, export_timeout_{0}, drain_interval_{0};
  std::chrono::milliseconds shutdown_timeout_{30000};
  detail::span_queue* queue_{nullptr};
  detail::clock_converter clock_;
  std::vector<span_record> pending_;
  std::size_t pending_count_{0};
  std::chrono::steady_clock::time_point last_export_;
  int errors_reported_{0};

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  bool stopping_{false}, stopped_{false};
  std::uint64_t flush_requested_{0}, flush_done_{0}, flush_target_{0};
  bool flush_ok_{true};
  std::chrono::steady_clock::time_point flush_deadline_;
  std::thread thread_;
};

/// The RAII handle start() returns: its destructor shuts tracing down (flushes, joins).
class tracing {
 public:
  tracing() = default;
  explicit tracing(std::unique_ptr<collector> c) : c_(std::move(c)) {}
  tracing(tracing&&) noexcept = default;
  tracing& operator=(tracing&& o) noexcept {
    if (this != &o) {
      c_.reset();
      c_ = std::move(o.c_);
    }
    return *this;
  }
  ~tracing() = default;

  explicit operator bool() const noexcept { return c_ != nullptr; }
  bool force_flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    return c_ && c_->force_flush(timeout);
  }
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    return c_ && c_->shutdown(timeout);
  }
  agentrace::stats stats() const { return c_ ? c_->get_stats() : agentrace::stats{}; }
  collector* get() const noexcept { return c_.get(); }

 private:
  std::unique_ptr<collector> c_;
};

/// Starts tracing: spans are recorded from now until the returned handle is destroyed or shut
/// down. With OTEL_SDK_DISABLED=true, returns an empty handle and nothing is recorded.
/// Throws std::logic_error if tracing is already started.
inline tracing start(config cfg = {}) {
  if (cfg.read_environment && detail::env_bool("OTEL_SDK_DISABLED")) return tracing{};
  return tracing{std::make_unique<collector>(std::move(cfg))};
}

}  // namespace agentrace
// amalgamated: include/agentrace/exporters/console.hpp
// SPDX-License-Identifier: MIT
// Console exporter: one indented tree per trace with durations, status and attributes; errors
// highlighted. Traces are assembled first (see detail/trace_assembler.hpp).

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

// amalgamated: include/agentrace/detail/trace_assembler.hpp
// SPDX-License-Identifier: MIT
// Assembles finished spans into whole traces. Spans arrive child-first (a parent ends after its
// children), so a trace is held until its local root (no parent, or a remote parent) has ended,
// plus a short wait for stragglers (children that outlive their parent). Bounded: when too many
// traces or spans are held, the oldest trace is released incomplete and counted.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>


namespace agentrace::detail {

/// One assembled trace, spans in arrival order.
struct assembled_trace {
  trace_id id{};
  std::vector<span_data> spans;
  bool complete{true};  // false: released by a bound before its local root ended
};

struct assembler_options {
  std::chrono::milliseconds straggler_wait{200};
  std::chrono::milliseconds max_wait{30000};  // a trace whose root never ends is released then
  std::size_t max_traces{1024};
  std::size_t max_spans{65536};
};

class trace_assembler {
 public:
  using clock = std::chrono::steady_clock;
  explicit trace_assembler(assembler_options o = {}) : opt_(o) {}

  /// Adds a span; returns traces the bounds forced out (incomplete).
  std::vector<assembled_trace> add(span_data s, clock::time_point now = clock::now()) {
    const bool local_root = s.parent_span_id == 0 || s.parent_remote;
    auto [it, inserted] = pending_.try_emplace(key(s.trace_id));
    entry& e = it->second;
    if (inserted) {
      e.first_seen = now;
      e.trace.id = s.trace_id;
      order_.push_back(key(s.trace_id));
    }
    e.last_seen = now;
    if (local_root) e.root_seen = true;
    e.trace.spans.push_back(std::move(s));
    ++span_count_;
    std::vector<assembled_trace> out;
    while ((pending_.size() > opt_.max_traces || span_count_ > opt_.max_spans) && !order_.empty()) {
      out.push_back(release(order_.front(), false));
      ++released_incomplete_;
    }
    return out;
  }

  /// Traces whose local root ended at least straggler_wait ago (or that waited max_wait).
  std::vector<assembled_trace> take_ready(clock::time_point now = clock::now()) {
    std::vector<assembled_trace> out;
    for (std::size_t i = 0; i < order_.size();) {
      auto it = pending_.find(order_[i]);
      const entry& e = it->second;
      const bool ready = e.root_seen && now - e.last_seen >= opt_.straggler_wait;
      const bool expired = now - e.first_seen >= opt_.max_wait;
      if (ready || expired) {
        if (!ready) ++released_incomplete_;
        out.push_back(release(order_[i], ready));
      } else {
        ++i;
      }
    }
    return out;
  }

  /// Everything held, complete or not (flush / shutdown).
  std::vector<assembled_trace> take_all() {
    std::vector<assembled_trace> out;
    while (!order_.empty()) {
      const bool complete = pending_.find(order_.front())->second.root_seen;
      out.push_back(release(order_.front(), complete));
    }
    return out;
  }

  std::size_t pending_traces() const noexcept { return pending_.size(); }
  std::size_t pending_spans() const noexcept { return span_count_; }
  std::uint64_t released_incomplete() const noexcept { return released_incomplete_; }

 private:
  using trace_key = std::pair<std::uint64_t, std::uint64_t>;
  struct entry {
    assembled_trace trace;
    clock::time_point first_seen, last_seen;
    bool root_seen{false};
  };
  static trace_key key(const trace_id& t) { return {t.hi, t.lo}; }

  assembled_trace release(const trace_key& k, bool complete) {
    auto it = pending_.find(k);
    assembled_trace t = std::move(it->second.trace);
    t.complete = complete;
    span_count_ -= t.spans.size();
    pending_.erase(it);
    order_.erase(std::find(order_.begin(), order_.end(), k));
    return t;
  }

  assembler_options opt_;
  std::map<trace_key, entry> pending_;
  std::vector<trace_key> order_;  // arrival order of traces
  std::size_t span_count_{0};
  std::uint64_t released_incomplete_{0};
};

/// Children of each span, for printing trees: index lists, roots first (spans whose parent is
/// not in the trace), each level in start-time order.
struct trace_tree {
  std::vector<std::size_t> roots;
  std::vector<std::vector<std::size_t>> children;

  explicit trace_tree(const std::vector<span_data>& spans) : children(spans.size()) {
    std::map<std::uint64_t, std::size_t> by_id;
    for (std::size_t i = 0; i < spans.size(); ++i) by_id.emplace(spans[i].span_id, i);
    for (std::size_t i = 0; i < spans.size(); ++i) {
      auto it = spans[i].parent_span_id ? by_id.find(spans[i].parent_span_id) : by_id.end();
      if (it == by_id.end() || it->second == i)
        roots.push_back(i);
      else
        children[it->second].push_back(i);
    }
    auto by_start = [&](std::size_t a, std::size_t b) {
      return spans[a].start_unix_ns < spans[b].start_unix_ns;
    };
    std::sort(roots.begin(), roots.end(), by_start);
    for (auto& c : children) std::sort(c.begin(), c.end(), by_start);
  }
};

}  // namespace agentrace::detail

namespace agentrace {

struct console_options {
  std::FILE* out = stdout;
  int color = -1;                     // -1: when `out` is a terminal; 0 never; 1 always
  std::size_t max_value_length = 80;  // longer attribute values are cut, with "…"
  bool show_attributes = true;
  detail::assembler_options assembly{};
};

namespace detail {

inline std::string format_duration(std::uint64_t ns) {
  if (ns < 1'000'000) return fmt::format("{:.3f} ms", static_cast<double>(ns) / 1e6);
  if (ns < 10'000'000'000ull) return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

inline std::string format_value(const attr_value& v, std::size_t max_len) {
  std::string s = std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return "";
        else if constexpr (std::is_same_v<T, bool>) return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>)
          return fmt::format("{}", x);
        else if constexpr (std::is_same_v<T, std::string>) return fmt::format("\"{}\"", x);
        else {
          std::string out = "[";
          bool first = true;
          for (const auto& e : x) {
            if (!first) out += ", ";
            first = false;
            if constexpr (std::is_same_v<typename T::value_type, std::string>)
              out += fmt::format("\"{}\"", e);
            else
              out += fmt::format("{}", static_cast<typename T::value_type>(e));
          }
          return out + "]";
        }
      },
      v);
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (max_len && s.size() > max_len) {
    std::size_t cut = max_len;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
    s.resize(cut);
    s += "…";
  }
  return s;
}

/// Renders one assembled trace as text (used by the console exporter; tests call it directly).
inline std::string render_trace(const assembled_trace& t, std::string_view service,
                                const console_options& o, bool color) {
  const char* red = color ? "\x1b[31m" : "";
  const char* dim = color ? "\x1b[2m" : "";
  const char* bold = color ? "\x1b[1m" : "";
  const char* reset = color ? "\x1b[0m" : "";
  std::uint64_t t0 = UINT64_MAX, t1 = 0;
  std::size_t errors = 0;
  for (const auto& s : t.spans) {
    t0 = std::min(t0, s.start_unix_ns);
    t1 = std::max(t1, s.end_unix_ns);
    errors += s.status == status_code::error;
  }
  std::string out = fmt::format("{}trace {}{} {}({}, {} span{}, {}{}{}){}\n", bold, to_hex(t.id),
                                reset, dim, service, t.spans.size(), t.spans.size() == 1 ? "" : "s",
                                format_duration(t1 - t0), errors ? fmt::format(", {} error{}", errors, errors == 1 ? "" : "s") : "",
                                t.complete ? "" : ", incomplete", reset);
  const trace_tree tree(t.spans);
  auto line = [&](auto&& self, std::size_t i, const std::string& prefix, bool last) -> void {
    const span_data& s = t.spans[i];
    const bool err = s.status == status_code::error;
    out += fmt::format("{}{}{}{}{}  {}{}{}", prefix, last ? "└─ " : "├─ ", err ? red : bold, s.name,
                       reset, dim, format_duration(s.duration_ns()), reset);
    if (err) {
      out += fmt::format("  {}ERROR{}", red, reset);
      if (!s.status_message.empty())
        out += fmt::format(" {}", format_value(attr_value{s.status_message}, o.max_value_length));
    }
    if (o.show_attributes)
      for (const auto& [k, v] : s.attributes)
        out += fmt::format("  {}{}={}{}", dim, k, reset, format_value(v, o.max_value_length));
    for (const auto& e : s.events)
      if (e.name == "exception")
        for (const auto& [k, v] : e.attributes)
          out += fmt::format("  {}{}={}{}", red, k, format_value(v, o.max_value_length), reset);
    out += '\n';
    const auto& kids = tree.children[i];
    for (std::size_t c = 0; c < kids.size(); ++c)
      self(self, kids[c], prefix + (last ? "   " : "│  "), c + 1 == kids.size());
  };
  for (std::size_t r = 0; r < tree.roots.size(); ++r)
    line(line, tree.roots[r], "", r + 1 == tree.roots.size());
  return out;
}

}  // namespace detail

class console_exporter final : public exporter {
 public:
  explicit console_exporter(console_options o = {})
      : opt_(o), assembler_(o.assembly),
        color_(o.color >= 0 ? o.color == 1 : ::isatty(::fileno(o.out)) == 1) {}

  std::string_view name() const noexcept override { return "console"; }

  export_result export_spans(const export_batch& batch) override {
    if (service_.empty()) service_ = std::string(batch.resource.get("service.name"));
    for (const auto& r : batch.spans)
      print(assembler_.add(to_span_data(r, batch.clock, batch.limits)));
    print(assembler_.take_ready());
    return export_result::success;
  }

  bool force_flush(std::chrono::milliseconds) override {
    print(assembler_.take_all());
    return std::fflush(opt_.out) == 0;
  }

 private:
  void print(const std::vector<detail::assembled_trace>& traces) {
    for (const auto& t : traces) {
      const std::string s = detail::render_trace(t, service_, opt_, color_);
      std::fwrite(s.data(), 1, s.size(), opt_.out);
    }
    if (!traces.empty()) std::fflush(opt_.out);
  }

  console_options opt_;
  detail::trace_assembler assembler_;
  bool color_;
  std::string service_;
};

/// A console tree exporter writing to stdout (OTEL_TRACES_EXPORTER=console).
inline exporter_ptr console(console_options o = {}) { return std::make_shared<console_exporter>(o); }

namespace detail {
inline const bool console_registered =
    register_exporter_factory("console", [](std::string_view) { return console(); });
}  // namespace detail

}  // namespace agentrace
// amalgamated: include/agentrace/exporters/memory.hpp
// SPDX-License-Identifier: MIT
// In-memory exporter: keeps every exported span (owned copies) for tests and for code that
// looks at its own traces.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>


namespace agentrace {

class memory_exporter final : public exporter {
 public:
  std::string_view name() const noexcept override { return "memory"; }

  export_result export_spans(const export_batch& batch) override {
    std::vector<span_data> converted;
    converted.reserve(batch.spans.size());
    for (const auto& r : batch.spans) converted.push_back(to_span_data(r, batch.clock, batch.limits));
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& d : converted) spans_.push_back(std::move(d));
      ++batches_;
    }
    cv_.notify_all();
    return export_result::success;
  }

  /// A copy of every span exported so far.
  std::vector<span_data> spans() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_.size();
  }
  std::size_t batches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  /// The first span named `name`, if any.
  std::optional<span_data> find(std::string_view name) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : spans_)
      if (s.name == name) return s;
    return std::nullopt;
  }
  /// Waits until at least n spans were exported; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return spans_.size() >= n; });
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    spans_.clear();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<span_data> spans_;
  std::size_t batches_{0};
};

inline std::shared_ptr<memory_exporter> memory() { return std::make_shared<memory_exporter>(); }

}  // namespace agentrace
// amalgamated: include/agentrace/exporters/otlp_json.hpp
// SPDX-License-Identifier: MIT
// OTLP/JSON: one ExportTraceServiceRequest per batch, written with fmt into a reused buffer.
// As JSON lines (the OpenTelemetry file-exporter format) to a file or stdout; the OTLP/HTTP
// exporter posts the same bytes.

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

// amalgamated: include/agentrace/detail/json_write.hpp
// SPDX-License-Identifier: MIT
// Fast JSON string writing into fmt buffers: escaping, UTF-8 validation (invalid bytes become
// U+FFFD so the output is always valid JSON), and truncation to a number of code points.

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

namespace agentrace::detail {

inline void append(fmt::memory_buffer& b, std::string_view s) { b.append(s.data(), s.data() + s.size()); }

/// Length of the valid UTF-8 sequence starting at p (1..4), or 0 if invalid.
inline std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
  else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
  else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
  else return 0;
  if (static_cast<std::size_t>(end - p) < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/// Writes s as a quoted JSON string. max_code_points 0 = no limit.
inline void write_json_string(fmt::memory_buffer& b, std::string_view s,
                              std::size_t max_code_points = 0) {
  static constexpr char hex[] = "0123456789abcdef";
  b.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t code_points = 0;
  while (p < end) {
    if (max_code_points && code_points == max_code_points) break;
    // Copy a run of plain ASCII in one go.
    const unsigned char* run = p;
    while (run < end && *run >= 0x20 && *run < 0x80 && *run != '"' && *run != '\\' &&
           (!max_code_points || code_points < max_code_points)) {
      ++run;
      ++code_points;
    }
    if (run != p) {
      b.append(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(run));
      p = run;
      continue;
    }
    const unsigned char c = *p;
    ++code_points;
    if (c == '"' || c == '\\') {
      b.push_back('\\');
      b.push_back(static_cast<char>(c));
      ++p;
    } else if (c < 0x20) {
      switch (c) {
        case '\n': append(b, "\\n"); break;
        case '\r': append(b, "\\r"); break;
        case '\t': append(b, "\\t"); break;
        case '\b': append(b, "\\b"); break;
        case '\f': append(b, "\\f"); break;
        default: {
          const char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
          b.append(esc, esc + 6);
        }
      }
      ++p;
    } else {
      const std::size_t n = utf8_sequence_length(p, end);
      if (n == 0) {
        append(b, "\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        ++p;
      } else {
        b.append(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(p + n));
        p += n;
      }
    }
  }
  b.push_back('"');
}

/// Lowercase hex of a 64-bit value, 16 digits.
inline void write_hex64(fmt::memory_buffer& b, std::uint64_t v) {
  static constexpr char hex[] = "0123456789abcdef";
  char out[16];
  for (int i = 15; i >= 0; --i) {
    out[i] = hex[v & 0xF];
    v >>= 4;
  }
  b.append(out, out + 16);
}

inline void write_uint(fmt::memory_buffer& b, std::uint64_t v) {
  char out[20];
  int i = 20;
  do {
    out[--i] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  b.append(out + i, out + 20);
}

inline void write_int(fmt::memory_buffer& b, std::int64_t v) {
  if (v < 0) {
    b.push_back('-');
    write_uint(b, static_cast<std::uint64_t>(0) - static_cast<std::uint64_t>(v));
  } else {
    write_uint(b, static_cast<std::uint64_t>(v));
  }
}

/// A double as JSON: shortest round-trip form; NaN and infinities as the proto3 JSON strings.
inline void write_double(fmt::memory_buffer& b, double v) {
  if (v != v) return append(b, "\"NaN\"");
  if (v == __builtin_inf()) return append(b, "\"Infinity\"");
  if (v == -__builtin_inf()) return append(b, "\"-Infinity\"");
  fmt::format_to(std::back_inserter(b), "{}", v);
}

}  // namespace agentrace::detail
// amalgamated: include/agentrace/otlp_fields.hpp
// SPDX-License-Identifier: MIT
// The OTLP/JSON field mapping, in one place for the writer (exporters/otlp_json.hpp) and the
// reader (eval/). Names are the proto3 JSON (lowerCamelCase) names; enums are integers.

#include <cstdint>
#include <string_view>

namespace agentrace::otlp {

namespace field {
inline constexpr std::string_view resource_spans = "resourceSpans";
inline constexpr std::string_view resource = "resource";
inline constexpr std::string_view scope_spans = "scopeSpans";
inline constexpr std::string_view scope = "scope";
inline constexpr std::string_view spans = "spans";
inline constexpr std::string_view schema_url = "schemaUrl";
inline constexpr std::string_view name = "name";
inline constexpr std::string_view version = "version";
inline constexpr std::string_view attributes = "attributes";
inline constexpr std::string_view dropped_attributes_count = "droppedAttributesCount";
inline constexpr std::string_view trace_id = "traceId";
inline constexpr std::string_view span_id = "spanId";
inline constexpr std::string_view parent_span_id = "parentSpanId";
inline constexpr std::string_view trace_state = "traceState";
inline constexpr std::string_view flags = "flags";
inline constexpr std::string_view kind = "kind";
inline constexpr std::string_view start_time = "startTimeUnixNano";
inline constexpr std::string_view end_time = "endTimeUnixNano";
inline constexpr std::string_view time = "timeUnixNano";
inline constexpr std::string_view events = "events";
inline constexpr std::string_view dropped_events_count = "droppedEventsCount";
inline constexpr std::string_view links = "links";
inline constexpr std::string_view dropped_links_count = "droppedLinksCount";
inline constexpr std::string_view status = "status";
inline constexpr std::string_view code = "code";
inline constexpr std::string_view message = "message";
inline constexpr std::string_view key = "key";
inline constexpr std::string_view value = "value";
inline constexpr std::string_view string_value = "stringValue";
inline constexpr std::string_view bool_value = "boolValue";
inline constexpr std::string_view int_value = "intValue";
inline constexpr std::string_view double_value = "doubleValue";
inline constexpr std::string_view array_value = "arrayValue";
inline constexpr std::string_view kvlist_value = "kvlistValue";
inline constexpr std::string_view bytes_value = "bytesValue";
inline constexpr std::string_view values = "values";
}  // namespace field

/// Span flags bits beyond the W3C trace flags (trace.proto SpanFlags).
inline constexpr std::uint32_t flag_has_is_remote = 0x100;
inline constexpr std::uint32_t flag_is_remote = 0x200;

}  // namespace agentrace::otlp

namespace agentrace {

namespace detail {

class otlp_json_writer {
 public:
  explicit otlp_json_writer(fmt::memory_buffer& b, std::uint32_t max_len) : b_(b), max_len_(max_len) {}

  void key(std::string_view k) {
    b_.push_back('"');
    append(b_, k);
    append(b_, "\":");
  }

  void string_attribute(std::string_view k, std::string_view v) {
    append(b_, "{\"key\":");
    write_json_string(b_, k);
    append(b_, ",\"value\":{\"stringValue\":");
    write_json_string(b_, v, max_len_);
    append(b_, "}}");
  }

  void int_attribute(std::string_view k, std::int64_t v) {
    append(b_, "{\"key\":");
    write_json_string(b_, k);
    append(b_, ",\"value\":{\"intValue\":\"");
    write_int(b_, v);
    append(b_, "\"}}");
  }

  void any_value(const attr_value& v) {
    b_.push_back('{');
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            key(otlp::field::string_value);
            append(b_, "\"\"");
          } else if constexpr (std::is_same_v<T, bool>) {
            key(otlp::field::bool_value);
            append(b_, x ? "true" : "false");
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            key(otlp::field::int_value);
            b_.push_back('"');
            write_int(b_, x);
            b_.push_back('"');
          } else if constexpr (std::is_same_v<T, double>) {
            key(otlp::field::double_value);
            write_double(b_, x);
          } else if constexpr (std::is_same_v<T, std::string>) {
            key(otlp::field::string_value);
            write_json_string(b_, x, max_len_);
          } else {
            append(b_, "\"arrayValue\":{\"values\":[");
            bool first = true;
            for (const auto& e : x) {
              if (!first) b_.push_back(',');
              first = false;
              any_value(attr_value{typename T::value_type(e)});
            }
            append(b_, "]}");
          }
        },
        v);
    b_.push_back('}');
  }

  void attribute(std::string_view k, const attr_value& v) {
    append(b_, "{\"key\":");
    write_json_string(b_, k);
    append(b_, ",\"value\":");
    any_value(v);
    b_.push_back('}');
  }

  void slot_attribute(const span_record& r, std::size_t i) {
    const attr_slot& s = r.attrs[i];
    append(b_, "{\"key\":");
    write_json_string(b_, {s.key, s.key_len});
    append(b_, ",\"value\":{");
    switch (r.types[i]) {
      case slot_type::boolean:
        append(b_, s.v.b ? "\"boolValue\":true" : "\"boolValue\":false");
        break;
      case slot_type::int64:
        append(b_, "\"intValue\":\"");
        write_int(b_, s.v.i);
        b_.push_back('"');
        break;
      case slot_type::float64:
        append(b_, "\"doubleValue\":");
        write_double(b_, s.v.d);
        break;
      case slot_type::static_str:
        append(b_, "\"stringValue\":");
        write_json_string(b_, {s.v.s, s.str_len}, max_len_);
        break;
      case slot_type::owned_str:
        append(b_, "\"stringValue\":");
        write_json_string(b_, *s.v.owned, max_len_);
        break;
    }
    append(b_, "}}");
  }

  // Attribute lists limited to `limit` entries; returns how many were left out.
  template <class Range>
  std::uint32_t attribute_list(const Range& attrs, std::uint32_t limit) {
    append(b_, "\"attributes\":[");
    std::uint32_t n = 0, dropped = 0;
    for (const auto& a : attrs) {
      if (limit && n >= limit) {
        ++dropped;
        continue;
      }
      if (n++) b_.push_back(',');
      attribute(a.key, a.value);
    }
    b_.push_back(']');
    return dropped;
  }

  void span(const span_record& r, const clock_converter& clock, const span_limits& limits) {
    append(b_, "{\"traceId\":\"");
    write_hex64(b_, r.trace_id.hi);
    write_hex64(b_, r.trace_id.lo);
    append(b_, "\",\"spanId\":\"");
    write_hex64(b_, r.span_id);
    b_.push_back('"');
    if (r.parent_span_id) {
      append(b_, ",\"parentSpanId\":\"");
      write_hex64(b_, r.parent_span_id);
      b_.push_back('"');
    }
    if (r.ext && !r.ext->trace_state.empty()) {
      append(b_, ",\"traceState\":");
      write_json_string(b_, r.ext->trace_state);
    }
    std::uint32_t flags = r.flags | otlp::flag_has_is_remote;
    if (r.parent_remote) flags |= otlp::flag_is_remote;
    append(b_, ",\"flags\":");
    write_uint(b_, flags);
    append(b_, ",\"name\":");
    write_json_string(b_, r.name());
    append(b_, ",\"kind\":");
    write_uint(b_, static_cast<std::uint32_t>(r.kind()));
    const std::uint64_t start = clock.to_unix_ns(r.start_ticks);
    const std::int64_t dur = clock.duration_ns(r.start_ticks, r.end_ticks);
    append(b_, ",\"startTimeUnixNano\":\"");
    write_uint(b_, start);
    append(b_, "\",\"endTimeUnixNano\":\"");
    write_uint(b_, start + static_cast<std::uint64_t>(dur > 0 ? dur : 0));
    append(b_, "\",\"attributes\":[");
    bool first = true;
    const std::uint32_t dropped_attrs = for_each_attribute(
        r, limits.attribute_count,
        [&](std::string_view, std::size_t i) {
          if (!first) b_.push_back(',');
          first = false;
          slot_attribute(r, i);
        },
        [&](const agentrace::attribute& a) {
          if (!first) b_.push_back(',');
          first = false;
          attribute(a.key, a.value);
        });
    b_.push_back(']');
    if (dropped_attrs) {
      append(b_, ",\"droppedAttributesCount\":");
      write_uint(b_, dropped_attrs);
    }
    if (r.ext) events_and_links(*r.ext, clock, limits);
    append(b_, ",\"status\":{");
    if (r.status != status_code::unset) {
      append(b_, "\"code\":");
      write_uint(b_, static_cast<std::uint32_t>(r.status));
      if (r.status == status_code::error && r.ext && !r.ext->status_message.empty()) {
        append(b_, ",\"message\":");
        write_json_string(b_, r.ext->status_message, max_len_);
      }
    }
    append(b_, "}}");
  }

  void events_and_links(const span_ext& x, const clock_converter& clock, const span_limits& limits) {
    if (!x.events.empty()) {
      append(b_, ",\"events\":[");
      bool first = true;
      for (const auto& e : x.events) {
        if (!first) b_.push_back(',');
        first = false;
        append(b_, "{\"timeUnixNano\":\"");
        write_uint(b_, clock.to_unix_ns(e.ticks));
        append(b_, "\",\"name\":");
        write_json_string(b_, e.name);
        b_.push_back(',');
        const auto d = attribute_list(e.attributes, limits.event_attribute_count) +
                       e.dropped_attributes;
        if (d) {
          append(b_, ",\"droppedAttributesCount\":");
          write_uint(b_, d);
        }
        b_.push_back('}');
      }
      b_.push_back(']');
    }
    if (x.dropped_events) {
      append(b_, ",\"droppedEventsCount\":");
      write_uint(b_, x.dropped_events);
    }
    if (!x.links.empty()) {
      append(b_, ",\"links\":[");
      bool first = true;
      for (const auto& l : x.links) {
        if (!first) b_.push_back(',');
        first = false;
        append(b_, "{\"traceId\":\"");
        write_hex64(b_, l.context.trace_id.hi);
        write_hex64(b_, l.context.trace_id.lo);
        append(b_, "\",\"spanId\":\"");
        write_hex64(b_, l.context.span_id);
        b_.push_back('"');
        if (!l.trace_state.empty()) {
          append(b_, ",\"traceState\":");
          write_json_string(b_, l.trace_state);
        }
        std::uint32_t flags = l.context.flags | otlp::flag_has_is_remote;
        if (l.context.remote) flags |= otlp::flag_is_remote;
        append(b_, ",\"flags\":");
        write_uint(b_, flags);
        b_.push_back(',');
        const auto d = attribute_list(l.attributes, limits.link_attribute_count) +
                       l.dropped_attributes;
        if (d) {
          append(b_, ",\"droppedAttributesCount\":");
          write_uint(b_, d);
        }
        b_.push_back('}');
      }
      b_.push_back(']');
    }
    if (x.dropped_links) {
      append(b_, ",\"droppedLinksCount\":");
      write_uint(b_, x.dropped_links);
    }
  }

 private:
  fmt::memory_buffer& b_;
  std::uint32_t max_len_;
};

}  // namespace detail

/// Appends one ExportTraceServiceRequest (no trailing newline) for `batch` to `out`.
inline void serialize_otlp_json(const export_batch& batch, fmt::memory_buffer& out) {
  detail::otlp_json_writer w(out, batch.limits.attribute_value_length);
  using detail::append;
  append(out, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
  bool first = true;
  for (const auto& [k, v] : batch.resource.attributes) {
    if (!first) out.push_back(',');
    first = false;
    w.string_attribute(k, v);
  }
  append(out, "]},\"scopeSpans\":[{\"scope\":{\"name\":");
  detail::write_json_string(out, batch.scope_name);
  append(out, ",\"version\":");
  detail::write_json_string(out, batch.scope_version);
  append(out, ",\"attributes\":[");
  // Spans this process has lost so far travel with the telemetry itself.
  w.int_attribute("agentrace.spans.dropped", static_cast<std::int64_t>(batch.dropped_spans_total));
  append(out, "]},\"spans\":[");
  first = true;
  for (const span_record& r : batch.spans) {
    if (!first) out.push_back(',');
    first = false;
    w.span(r, batch.clock, batch.limits);
  }
  append(out, "]}]}]}");
}

/// Writes OTLP/JSON lines to a FILE* (a file it opened, or stdout). One line per batch,
/// flushed after each batch so that a crash loses at most the batch being written.
class otlp_json_exporter final : public exporter {
 public:
  /// Writes to stdout.
  otlp_json_exporter() : out_(stdout), owned_(false) {}
  /// Writes to `path`, truncating it (or appending when `append` is true). Throws
  /// std::runtime_error naming the path and the reason if it cannot be opened.
  explicit otlp_json_exporter(const std::string& path, bool append = false)
      : out_(std::fopen(path.c_str(), append ? "ab" : "wb")), owned_(true), path_(path) {
    if (!out_)
      throw std::runtime_error(fmt::format("agentrace: cannot open OTLP-JSON output '{}': {}",
                                           path, std::strerror(errno)));
  }
  ~otlp_json_exporter() override {
    if (owned_ && out_) std::fclose(out_);
  }
  otlp_json_exporter(const otlp_json_exporter&) = delete;
  otlp_json_exporter& operator=(const otlp_json_exporter&) = delete;

  std::string_view name() const noexcept override { return owned_ ? "otlp/file" : "otlp/stdout"; }

  export_result export_spans(const export_batch& batch) override {
    buf_.clear();
    serialize_otlp_json(batch, buf_);
    buf_.push_back('\n');
    const bool ok = std::fwrite(buf_.data(), 1, buf_.size(), out_) == buf_.size() &&
                    std::fflush(out_) == 0;
    if (!ok) {
      failed_ += batch.spans.size();
      return export_result::failure;
    }
    return export_result::success;
  }
  std::uint64_t spans_failed() const noexcept override { return failed_; }

 private:
  std::FILE* out_;
  bool owned_;
  std::string path_;
  fmt::memory_buffer buf_;
  std::uint64_t failed_ = 0;
};

/// OTLP/JSON lines to a file (the OpenTelemetry Collector's file-exporter format).
inline exporter_ptr otlp_json_file(const std::string& path, bool append = false) {
  return std::make_shared<otlp_json_exporter>(path, append);
}
/// OTLP/JSON lines to stdout (OTEL_TRACES_EXPORTER=otlp/stdout).
inline exporter_ptr otlp_json_stdout() { return std::make_shared<otlp_json_exporter>(); }

namespace detail {
inline const bool otlp_json_registered =
    register_exporter_factory("otlp/stdout", [](std::string_view) { return otlp_json_stdout(); }) &&
    register_exporter_factory("otlp/file", [](std::string_view path) {
      return otlp_json_file(std::string(path));
    });
}  // namespace detail

}  // namespace agentrace
