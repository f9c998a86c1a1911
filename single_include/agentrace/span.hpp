// SPDX-License-Identifier: MIT
// agentrace 0.1.0: single-header edition of include/agentrace/span.hpp.
// Generated — do not edit. Made by scripts/amalgamate.py from the headers under include/;
// change those and run `python3 scripts/amalgamate.py`.
#pragma once

// amalgamated: include/agentrace/span.hpp
// SPDX-License-Identifier: MIT
// The hot path: RAII spans with compile-time names.

#include <bit>
#include <climits>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

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

// amalgamated: include/agentrace/detail/compiler.hpp
// SPDX-License-Identifier: MIT
// Compiler helpers for the hot path: inlining control, a register barrier, a cache hint.

#if defined(__GNUC__) || defined(__clang__)
#define AGENTRACE_DETAIL_ALWAYS_INLINE __attribute__((always_inline))
#define AGENTRACE_DETAIL_NOINLINE __attribute__((noinline))
#define AGENTRACE_DETAIL_COLD __attribute__((noinline, cold))
#else
#define AGENTRACE_DETAIL_ALWAYS_INLINE
#define AGENTRACE_DETAIL_NOINLINE
#define AGENTRACE_DETAIL_COLD
#endif

// Every agentrace declaration has default visibility, even in code built with
// -fvisibility=hidden. The library's process-wide state (whether tracing runs, the thread
// registry, each thread's current context, the sampler, the exporter registry) is inline
// variables and function-local statics of namespace-scope functions (keep it there: clang's
// -fvisibility-inlines-hidden-static-local-var hides statics of inline member functions). With
// default visibility the dynamic linker binds every object's references to one copy when it
// can see one: a shared library linked into the program at build time (tests/shared_lib_test),
// a library opened with dlopen when the executable exports its symbols (-rdynamic, CMake
// ENABLE_EXPORTS) or another library already loaded defines them, and, with g++ (which emits
// these as GNU unique symbols), modules opened with RTLD_LOCAL. Not under a version script
// that makes them local, -Wl,--exclude-libs or -Bsymbolic. Hidden, a plugin always got its own
// copy, in which tracing was never started: its spans vanished without being counted.
// A library that wants its own separate tracer defines both macros empty before including
// agentrace.
#ifndef AGENTRACE_DETAIL_VISIBILITY_BEGIN
#if defined(__GNUC__) || defined(__clang__)
#define AGENTRACE_DETAIL_VISIBILITY_BEGIN _Pragma("GCC visibility push(default)")
#define AGENTRACE_DETAIL_VISIBILITY_END _Pragma("GCC visibility pop")
#else
#define AGENTRACE_DETAIL_VISIBILITY_BEGIN
#define AGENTRACE_DETAIL_VISIBILITY_END
#endif
#endif

// Compiled mode (the CMake option AGENTRACE_COMPILED_LIB, which defines the macro for the
// library and its users): start(), the `tracing` handle, the exporter factories and what
// configuration reads from the environment are defined once, in the agentrace library, and
// <agentrace/setup.hpp> only declares them. Header-only (the default): the same definitions are
// inline, in the headers.
#if defined(AGENTRACE_COMPILED_LIB)
#define AGENTRACE_SETUP_INLINE
#if defined(AGENTRACE_DETAIL_BUILDING_LIB)
#define AGENTRACE_DETAIL_SETUP_DEFINITIONS 1
#else
#define AGENTRACE_DETAIL_SETUP_DEFINITIONS 0
#endif
#else
#define AGENTRACE_SETUP_INLINE inline
#define AGENTRACE_DETAIL_SETUP_DEFINITIONS 1
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

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

/// Hints the CPU to move the cache line holding `p` out of this core's private caches into the
/// shared last-level cache (x86 CLDEMOTE). Nothing else changes: it is only a hint, ordered
/// with earlier stores to the same line, and processors without CLDEMOTE execute it as a NOP
/// (Intel SDM), so it needs no CPU check and no compiler flag. Used for queued records
/// (context.hpp, thread_locals::demote_records).
AGENTRACE_DETAIL_ALWAYS_INLINE inline void demote_cache_line(const void* p) noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  // The operand is the whole line, so the compiler keeps every store to it before the hint.
  asm volatile("cldemote %0" : : "m"(*static_cast<const char(*)[64]>(p)));
#else
  (void)p;
#endif
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

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
using attr_value =
    std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<bool>,
                 std::vector<std::int64_t>, std::vector<double>, std::vector<std::string>>;

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
    (std::same_as<T, double> &&
     (std::floating_point<std::remove_cvref_t<V>> ||
      (std::integral<std::remove_cvref_t<V>> && !std::same_as<std::remove_cvref_t<V>, bool>))) ||
    (std::same_as<T, std::string> && std::convertible_to<V, std::string_view>) ||
    (!std::is_arithmetic_v<T> && !std::same_as<T, std::string> && std::convertible_to<V, T>);

template <class T, class V>
attr_value to_attr_value(V&& v) {
  if constexpr (std::same_as<T, std::string>) {
    if constexpr (std::is_same_v<std::remove_cvref_t<V>, std::string> &&
                  std::is_rvalue_reference_v<V&&>)
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
    requires detail::settable_as<T, V> kv(const key<T>& k, V&& v)
        : attr{k.name(), detail::to_attr_value<T>(std::forward<V>(v))} {}
    attribute attr;
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/context.hpp
// SPDX-License-Identifier: MIT
// Span context (ids + flags) and the thread's current context.

#include <atomic>
#include <bit>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// amalgamated: include/agentrace/detail/ascii.hpp
// SPDX-License-Identifier: MIT
// ASCII text helpers, locale-independent: case-insensitive comparison, lower / upper case,
// trimming spaces and tabs, hex digits in and out. Header names, environment values, trace ids
// and keywords are ASCII; bytes >= 0x80 pass through unchanged.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

constexpr char to_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char to_upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

/// True when `a` and `b` are equal ignoring ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

/// True when `s` starts with `prefix`, ignoring ASCII case.
constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline void to_lower_in_place(std::string& s) noexcept {
  for (auto& c : s) c = to_lower(c);
}
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  to_lower_in_place(out);
  return out;
}
inline std::string to_upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = to_upper(c);
  return out;
}

constexpr bool is_space_or_tab(char c) noexcept { return c == ' ' || c == '\t'; }

/// `s` without leading and trailing spaces and tabs.
constexpr std::string_view trim_view(std::string_view s) noexcept {
  while (!s.empty() && is_space_or_tab(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space_or_tab(s.back())) s.remove_suffix(1);
  return s;
}
/// A copy of `s` without leading and trailing spaces and tabs.
inline std::string trim(std::string_view s) { return std::string(trim_view(s)); }

inline constexpr char hex_digits[] = "0123456789abcdef";

/// Appends the 16 lowercase hex digits of `v`.
inline void append_hex(std::string& out, std::uint64_t v) {
  for (int shift = 60; shift >= 0; shift -= 4) out.push_back(hex_digits[(v >> shift) & 0xF]);
}
/// Appends the 2 lowercase hex digits of `b`.
inline void append_hex_byte(std::string& out, unsigned char b) {
  out.push_back(hex_digits[b >> 4]);
  out.push_back(hex_digits[b & 0xF]);
}

enum class hex_case : std::uint8_t { any, lower_only };

/// The value of hex digit `c` (0-15), or -1. With hex_case::lower_only, 'A'-'F' are not digits.
constexpr int hex_value(char c, hex_case accept = hex_case::any) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (accept == hex_case::any && c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Parses `s` (at most 16 hex digits) into `out`; false (out untouched) on any other character.
constexpr bool parse_hex(std::string_view s, std::uint64_t& out,
                         hex_case accept = hex_case::any) noexcept {
  if (s.size() > 16) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    const int d = hex_value(c, accept);
    if (d < 0) return false;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  out = v;
  return true;
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

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
static_assert(offsetof(span_context, remote) == offsetof(span_context, flags) + 1,
              "detail::flags_remote: flags and remote are adjacent");

namespace detail {
// A context's `flags` and `remote` bytes as one 16-bit word: the hot path moves them with one
// load and one store.
inline constexpr std::size_t flags_remote_offset = offsetof(span_context, flags);
AGENTRACE_DETAIL_ALWAYS_INLINE inline std::uint16_t flags_remote(const span_context& c) noexcept {
  std::uint16_t v;
  std::memcpy(&v, reinterpret_cast<const unsigned char*>(&c) + flags_remote_offset, sizeof v);
  return v;
}
AGENTRACE_DETAIL_ALWAYS_INLINE inline void set_flags_remote(span_context& c,
                                                            std::uint16_t v) noexcept {
  std::memcpy(reinterpret_cast<unsigned char*>(&c) + flags_remote_offset, &v, sizeof v);
}
/// The word of `flags` and `remote`, and its two halves.
constexpr std::uint16_t pack_flags_remote(std::uint8_t flags, bool remote) noexcept {
  return std::endian::native == std::endian::little
             ? static_cast<std::uint16_t>(flags | (unsigned{remote} << 8))
             : static_cast<std::uint16_t>((unsigned{flags} << 8) | unsigned{remote});
}
constexpr std::uint8_t flags_of(std::uint16_t fr) noexcept {
  return static_cast<std::uint8_t>(std::endian::native == std::endian::little ? fr : fr >> 8);
}
constexpr bool remote_of(std::uint16_t fr) noexcept {
  return static_cast<std::uint8_t>(std::endian::native == std::endian::little ? fr >> 8 : fr) != 0;
}

/// `dst = src`, field by field, each through a register (opaque, compiler.hpp): contexts are
/// written field by field on the hot path (flags and remote as one word), and a whole-struct copy
/// (overlapping 16-byte loads of a 26-byte struct) would stall on store forwarding when it reads
/// them back soon after.
AGENTRACE_DETAIL_ALWAYS_INLINE inline void assign_context(span_context& dst,
                                                          const span_context& src) noexcept {
  // clang-analyzer 14 does not model a coroutine's promise construction: from await_transform
  // (coro.hpp) it sees coroutine_context's members as uninitialized. They never are.
  dst.trace_id.hi = opaque(src.trace_id.hi);  // NOLINT(clang-analyzer-core.CallAndMessage)
  dst.trace_id.lo = opaque(src.trace_id.lo);
  dst.span_id = opaque(src.span_id);
  set_flags_remote(dst, opaque(flags_remote(src)));
}

// Spans of one context chain that ended while they were not its current context (a parent ended
// before its child, or a span ended under a context_scope). A context chain is a thread's own
// sequence of contexts, or a coroutine's (coro.hpp, asio.hpp): its current context and the
// contexts saved by the spans and scopes begun on it. Each entry keeps what the span had replaced,
// so that whoever later restores the ended span as the current context (its child ending, a
// context_scope closing) restores the nearest still-live ancestor instead.
//
// Exact and unbounded: an entry is removed when the context it names is restored (resolved), and
// only a span with a live successor on its chain (a child, a scope) ends out of order, so the set
// holds at most as many entries as the chain has live spans and scopes. It is allocated when the
// first span ends out of order and freed when it is empty again, so in ordinary nesting the only
// hot-path cost is one thread-local load and a branch where a saved context is restored.
struct ended_span {
  std::uint64_t span_id;
  span_context replaced;
};
struct ended_set {
  std::vector<ended_span> entries;
};

struct thread_state;  // detail/thread_state.hpp

/// Everything the hot path keeps per thread, in one thread_local. Constant-initialised
/// (constinit) with a trivial destructor, so access needs no TLS init guard and nothing is
/// registered for thread exit.
///
/// Why one variable: code built into a shared library (-fPIC, e.g. a Python extension module)
/// reaches each distinct thread_local through a call to __tls_get_addr (the general-dynamic
/// TLS model); with five of them a span made ~6 such calls, and the BM_SpanEmpty loop cost
/// 35.8-36.4 ns in a .so against 29.7-30.3 ns in the executable (BM_SpanEmptySharedLib).
/// One variable is one address, computed once per begin and once per end (the queue's move of
/// the record reads demote_records: a third). In an executable nothing changes (%fs-relative).
struct thread_locals {
  span_context current{};        // the thread's current context
  thread_state* state{nullptr};  // this thread's producer state (thread_state.hpp, this_thread)
  // Whether the records this thread moves into its queue are demoted to the shared cache
  // (record.hpp, demote_cache_line). Set with the thread's queue (thread_state.hpp,
  // demote_records_for): on when the header lines of a full queue do not fit in the core's
  // private L2 cache.
  //
  // Why: measured with the collector keeping up at ~30 M spans/s (bench/README.md), a queue of
  // 65,536 records (4 MiB of header lines, L2 2 MiB) costs ~34 ns per empty span without the
  // hint and ~28-29 ns with it: the lines would leave L2 before the ring came back to them
  // anyway, and demoted, they leave it at once, clean for the collector to read from the shared
  // cache. A queue that fits in L2 (2,048 records, the default) is reused while its lines are
  // still there, and demoting makes the producer fetch each line back: ~41 -> ~45 ns.
  bool demote_records{false};
  bool exited{false};  // set by the thread's exit (thread_state.hpp): it records no more spans
  // The context chain that is current on this thread: its id (never reused: 64 bits from one
  // process-wide counter, next_chain_id) and its set of spans that ended out of order (nullptr
  // while empty). The thread's own chain has the id of its thread_state (set with the state);
  // a coroutine installs its own chain while it runs (coro.hpp).
  std::uint64_t chain{0};
  ended_set* ended{nullptr};
  std::uint64_t own_chain{0};  // the thread's own chain id, once needed (thread_chain_id)
};
inline constinit thread_local thread_locals tls{};
static_assert(std::is_trivially_destructible_v<thread_locals>);

/// `tls`, for a function that uses it several times. In code built for a shared library (-fPIC,
/// not -fPIE) every use would be a __tls_get_addr call, and compilers recompute the address at
/// each use rather than keep it in a register; passed through a register once, it is computed
/// once. The barrier is volatile so that no compiler treats two calls as one and carries an
/// address across a coroutine's suspension to the thread it resumes on (clang <= 15 merges pure
/// asm across suspension points). Elsewhere `tls` is %fs-relative and is used as it is.
AGENTRACE_DETAIL_ALWAYS_INLINE inline thread_locals& this_thread_locals() noexcept {
#if defined(__PIC__) && !defined(__PIE__) && (defined(__GNUC__) || defined(__clang__))
  thread_locals* p = &tls;
  asm volatile("" : "+r"(p));
  return *p;
#else
  return tls;
#endif
}

/// A new context chain id: ids are 64-bit and never reused, so no chain is taken for another.
inline std::atomic<std::uint64_t> next_chain_id{1};
inline std::uint64_t new_chain_id() noexcept {
  return next_chain_id.fetch_add(1, std::memory_order_relaxed);
}

/// This thread's own chain id, allocated when first needed: when its state is created, or when a
/// coroutine first installs its chain here (it must give the thread its own chain back).
AGENTRACE_DETAIL_NOINLINE inline std::uint64_t thread_chain_id() noexcept {
  if (tls.own_chain == 0) tls.own_chain = new_chain_id();
  return tls.own_chain;
}
/// The chain current on this thread, to be given back after a coroutine ran here.
inline std::uint64_t current_chain() noexcept {
  return tls.chain != 0 ? tls.chain : thread_chain_id();
}

/// Records, on the chain current on this thread, that span `id` ended while it was not the current
/// context; it had replaced `replaced`. If memory runs out the entry is lost and counted
/// (context_entries_lost): a context restored later may then name the ended span. The same counter
/// takes such entries lost anywhere else (a note for another thread, a copy for a resumed
/// coroutine); stats() reports it.
inline std::atomic<std::uint64_t> context_entries_lost{0};
AGENTRACE_DETAIL_NOINLINE inline void note_ended_out_of_order(
    std::uint64_t id, const span_context& replaced) noexcept {
  try {
    if (!tls.ended) tls.ended = new ended_set();
    auto& v = tls.ended->entries;
    for (auto& e : v)
      if (e.span_id == id) {
        e.replaced = replaced;
        return;
      }
    v.push_back(ended_span{id, replaced});
  } catch (...) {
    context_entries_lost.fetch_add(1, std::memory_order_relaxed);
  }
}

/// Replaces `ctx`, while it names a span that ended out of order on the current chain, by what
/// that span had replaced (the nearest still-live ancestor); the entries used are removed, and the
/// set is freed when it is empty.
AGENTRACE_DETAIL_NOINLINE inline void resolve_ended(span_context& ctx) noexcept {
  ended_set* set = tls.ended;
  if (!set) return;
  auto& v = set->entries;
  for (bool found = true; found && ctx.span_id != 0;) {
    found = false;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (v[i].span_id == ctx.span_id) {
        ctx = v[i].replaced;
        v[i] = v.back();
        v.pop_back();
        found = true;
        break;
      }
  }
  if (v.empty()) {
    delete set;
    tls.ended = nullptr;
  }
}

/// Makes `saved` the current context again, or its nearest still-live ancestor if it names a span
/// that ended out of order. Out of line: called only while tls.ended is not null.
AGENTRACE_DETAIL_NOINLINE inline void restore_resolved(const span_context& saved) noexcept {
  span_context ctx = saved;
  resolve_ended(ctx);
  assign_context(tls.current, ctx);
}

}  // namespace detail

/// The current context of this thread (the innermost live span, or an installed context).
inline span_context current_context() noexcept { return detail::tls.current; }

/// Installs `ctx` as the thread's current context for the guard's lifetime, then restores the
/// context the thread had before. The way to carry a context to another thread:
///
///     auto ctx = agentrace::current_context();          // on the thread that has it
///     pool.post([ctx] {
///       agentrace::context_scope in(ctx);               // on the worker
///       AGENTRACE_SPAN(s, "tool.run");                  // a child of the captured span
///     });
///
/// Installing an invalid (empty) context detaches: spans begun under it start new traces.
/// A remote context (extract()) makes the spans begun under it children of the remote span.
class [[nodiscard]] context_scope {
 public:
  explicit context_scope(const span_context& ctx) noexcept {
    detail::assign_context(prev_, detail::tls.current);
    detail::assign_context(detail::tls.current, ctx);
  }
  ~context_scope() {
    if (detail::tls.ended == nullptr) [[likely]]
      detail::assign_context(detail::tls.current, prev_);
    else  // the span that was current may have ended meanwhile (out of order)
      detail::restore_resolved(prev_);
  }
  context_scope(const context_scope&) = delete;
  context_scope& operator=(const context_scope&) = delete;

  /// The context that was current before this guard and is restored by its destructor.
  const span_context& previous() const noexcept { return prev_; }

 private:
  span_context prev_;
};

namespace detail {
template <class M>
struct member_class;
template <class T, class C>
struct member_class<T C::*> {
  using type = C;
};

// detail::invoke for a pointer to member.
template <class P, class O, class... A>
constexpr decltype(auto) invoke_member(P&& m, O&& o, A&&... a) {
  using M = std::remove_cvref_t<P>;
  using C = typename member_class<M>::type;
  if constexpr (std::is_base_of_v<C, std::remove_cvref_t<O>>) {
    if constexpr (std::is_member_function_pointer_v<M>)
      return (std::forward<O>(o).*m)(std::forward<A>(a)...);
    else
      return std::forward<O>(o).*m;
  } else {
    if constexpr (std::is_member_function_pointer_v<M>)
      return ((*std::forward<O>(o)).*m)(std::forward<A>(a)...);
    else
      return (*std::forward<O>(o)).*m;
  }
}

/// std::invoke without <functional> (which every instrumented file would compile): a callable,
/// or a pointer to member with an object, a reference, a pointer or a smart pointer to one.
template <class F, class... A>
constexpr decltype(auto) invoke(F&& f, A&&... a) {
  if constexpr (std::is_member_pointer_v<std::remove_cvref_t<F>>) {
    return invoke_member(std::forward<F>(f), std::forward<A>(a)...);
  } else {
    return std::forward<F>(f)(std::forward<A>(a)...);
  }
}
}  // namespace detail

/// A callable that runs `F` under a captured context (see bind_context).
template <class F>
class context_bound {
 public:
  template <class G>
  context_bound(const span_context& ctx, G&& f) : ctx_(ctx), f_(std::forward<G>(f)) {}

  template <class... Args>
    requires std::invocable<F&, Args...>
  decltype(auto) operator()(Args&&... args) & {
    context_scope in(ctx_);
    return detail::invoke(f_, std::forward<Args>(args)...);
  }
  template <class... Args>
    requires std::invocable<const F&, Args...>
  decltype(auto) operator()(Args&&... args) const& {
    context_scope in(ctx_);
    return detail::invoke(f_, std::forward<Args>(args)...);
  }
  template <class... Args>
    requires std::invocable<F&&, Args...>
  decltype(auto) operator()(Args&&... args) && {
    context_scope in(ctx_);
    return detail::invoke(std::move(f_), std::forward<Args>(args)...);
  }

  /// The context the callable runs under.
  const span_context& context() const noexcept { return ctx_; }

 private:
  span_context ctx_;
  F f_;
};

/// Wraps `f` so that it runs under the context current *now*, on whichever thread calls it:
/// `pool.post(agentrace::bind_context([&] { ... }))`,
/// `std::jthread t(agentrace::bind_context([](std::stop_token st) { ... }))`.
/// Arguments are forwarded; the thread's own context is restored after each call.
template <class F>
context_bound<std::decay_t<F>> bind_context(F&& f) {
  return context_bound<std::decay_t<F>>(detail::tls.current, std::forward<F>(f));
}

/// Wraps `f` so that it runs under `ctx`.
template <class F>
context_bound<std::decay_t<F>> bind_context(const span_context& ctx, F&& f) {
  return context_bound<std::decay_t<F>>(ctx, std::forward<F>(f));
}

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

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/detail/clock.hpp
// SPDX-License-Identifier: MIT
// The span clock: raw invariant-TSC ticks on x86-64 (one instruction, ~11 ns under KVM), else
// steady_clock nanoseconds. Agent threads only read ticks; the collector converts them to Unix
// nanoseconds with a calibration it refreshes on every wake-up.

#include <atomic>
#include <cstdint>


// <chrono> costs every instrumented file a third of a second (libstdc++ 12 brings <sstream> with
// it in C++20): where POSIX clocks exist they are read directly, the same clocks steady_clock and
// system_clock read on Linux and macOS.
#if __has_include(<time.h>) && !defined(_WIN32)
#include <time.h>
#endif
#if !defined(CLOCK_MONOTONIC) || !defined(CLOCK_REALTIME)
#include <chrono>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>  // small; <x86intrin.h> (every intrinsic) is not needed for one rdtsc
#define AGENTRACE_DETAIL_HAS_TSC 1
#else
#define AGENTRACE_DETAIL_HAS_TSC 0
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

enum class clock_source : std::uint8_t { tsc = 0, steady = 1 };

// Chosen once by the first start() and never changed afterwards, so every tick ever recorded in
// this process has the same meaning. Relaxed: it is written before any span can be recorded
// (spans record only after start() published `recording_state` with release ordering).
inline std::atomic<clock_source> span_clock_source{clock_source::steady};

#if defined(CLOCK_MONOTONIC) && defined(CLOCK_REALTIME)
inline std::int64_t clock_ns(clockid_t id) noexcept {
  timespec t{};
  (void)clock_gettime(id, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + static_cast<std::int64_t>(t.tv_nsec);
}
inline std::int64_t steady_ns() noexcept { return clock_ns(CLOCK_MONOTONIC); }
inline std::int64_t system_ns() noexcept { return clock_ns(CLOCK_REALTIME); }
#else
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
#endif

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

/// What the hot path reads, in one byte, when a span begins and ends (recording_state, below): 0
/// while not recording; otherwise bits saying how. One load answers every
/// question a span asks of the process-wide configuration.
inline constexpr std::uint8_t recording_off = 0;
inline constexpr std::uint8_t recording_steady = 1;  // recording, spans read steady_clock
inline constexpr std::uint8_t recording_tsc = 2;     // with recording_steady: spans read the TSC
// With recording_steady: the sampler is ParentBased(root=AlwaysOn) (sampler.hpp,
// samples_as_parent), so a span's sampled flag is its parent's, or set for a root.
inline constexpr std::uint8_t recording_sample_as_parent = 4;
// With recording_steady: the C++ ABI's uncaught-exception counter can be read directly
// (thread_state.hpp, uncaught_counter_slow), so every thread_state's `uncaught` is set.
inline constexpr std::uint8_t recording_eh_abi = 8;
// The recording state in the common configuration: the best clock this platform has (the TSC where
// it can be read), the default sampler and the ABI's counter. A span compares the recording state
// with this value once and then runs a path with every bit known at compile time; any other
// configuration takes one out-of-line call that runs the same code with the bits tested at run
// time.
inline constexpr std::uint8_t recording_common =
    static_cast<std::uint8_t>(recording_steady | (AGENTRACE_DETAIL_HAS_TSC ? recording_tsc : 0) |
                              recording_sample_as_parent | recording_eh_abi);

// Tracing is recording (start() done, shutdown() not begun) when not 0, and then the bits above
// say how. Release on start, acquire on the hot path's first check would cost nothing more than
// relaxed on x86; relaxed is enough because a thread that sees it set late only misses spans
// begun before it saw it.
inline std::atomic<std::uint8_t> recording_state{recording_off};

/// The recording state for the span clock start() chose, for whether the installed sampler is
/// the default one (sampler.hpp, samples_as_parent) and for whether the ABI's uncaught-exception
/// counter can be read (thread_state.hpp, uncaught_counter_slow).
inline std::uint8_t recording_state_for(bool sample_as_parent, bool eh_abi) noexcept {
  return static_cast<std::uint8_t>(
      recording_steady |
      (span_clock_source.load(std::memory_order_relaxed) == clock_source::tsc ? recording_tsc : 0) |
      (sample_as_parent ? recording_sample_as_parent : 0) | (eh_abi ? recording_eh_abi : 0));
}

/// Sets or clears the default-sampler bit while recording (a sampler installed while tracing is
/// on); leaves 0 alone, so a sampler installed during shutdown does not switch recording back on.
inline void set_sample_as_parent(bool on) noexcept {
  std::uint8_t cur = recording_state.load(std::memory_order_relaxed);
  while (cur != recording_off) {
    const auto next = static_cast<std::uint8_t>(on ? cur | recording_sample_as_parent
                                                   : cur & ~recording_sample_as_parent);
    if (recording_state.compare_exchange_weak(cur, next, std::memory_order_release,
                                              std::memory_order_relaxed))
      return;
  }
}

/// Ticks of the span clock, for a span that has loaded the recording state `state` (not 0).
AGENTRACE_DETAIL_ALWAYS_INLINE inline std::uint64_t now_ticks(std::uint8_t state) noexcept {
#if AGENTRACE_DETAIL_HAS_TSC
  if (state & recording_tsc) return __builtin_ia32_rdtsc();
#else
  (void)state;
#endif
  return static_cast<std::uint64_t>(steady_ns());
}

/// Ticks of the span clock, read outside a span (no recording state at hand).
AGENTRACE_DETAIL_ALWAYS_INLINE inline std::uint64_t now_ticks() noexcept {
  return now_ticks(span_clock_source.load(std::memory_order_relaxed) == clock_source::tsc
                       ? recording_tsc
                       : recording_steady);
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

  /// A converter for records whose ticks already are Unix nanoseconds: spans built off the hot
  /// path with explicit times (e.g. evaluation results attached to an existing trace). Exact
  /// for times within ~100 days of `around_unix_ns`.
  static clock_converter unix_ns(std::uint64_t around_unix_ns) noexcept {
    clock_converter c;
    c.source_ = clock_source::steady;
    c.anchor_ticks_ = around_unix_ns;
    c.anchor_system_ = static_cast<std::int64_t>(around_unix_ns);
    c.last_ticks_ = around_unix_ns;
    c.ns_per_tick_ = 1.0;
    return c;
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

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/detail/remote_end.hpp
// SPDX-License-Identifier: MIT
// Span scopes that close on another thread than the one whose context chain they belong to,
// reported back to that thread.

#include <atomic>
#include <cstdint>

// amalgamated: include/agentrace/detail/producer.hpp
// SPDX-License-Identifier: MIT
// What a span's begin and end need of their thread: its producer state (span queue, id generator,
// counters), reached from the thread's locals. Light on purpose: every instrumented file compiles
// it. The registry that creates, lists and frees the states (mutex, condition variable, thread
// exit) is detail/thread_state.hpp, which only the setup side includes; the hot path reaches it
// through the few cold hooks below, installed when tracing is configured.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

// amalgamated: include/agentrace/detail/random.hpp
// SPDX-License-Identifier: MIT
// Per-thread id generator: wyrand (one 64x64->128 multiply per id), seeded once per thread from
// the system's entropy.

#include <atomic>
#include <cstdint>

#if defined(__linux__) && __has_include(<sys/random.h>)
#include <sys/random.h>
#define AGENTRACE_DETAIL_HAS_GETRANDOM 1
#else
#include <random>
#define AGENTRACE_DETAIL_HAS_GETRANDOM 0
#endif


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// 64 bits of the system's entropy (getrandom on Linux: what std::random_device reads there,
/// without <random>, which every instrumented file would compile), mixed with the calling
/// thread's stack address and a process-wide count, so two threads never start alike.
inline std::uint64_t entropy_seed() noexcept {
  std::uint64_t seed = 0;
#if AGENTRACE_DETAIL_HAS_GETRANDOM
  if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed)) seed = 0;
#else
  try {
    std::random_device rd;
    seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  } catch (...) {
  }
#endif
  static std::atomic<std::uint64_t> count{0};
  const int here = 0;
  seed ^= reinterpret_cast<std::uintptr_t>(&here) * 0x9e3779b97f4a7c15ull;
  seed += count.fetch_add(1, std::memory_order_relaxed) * 0xbf58476d1ce4e5b9ull;
  return seed;
}

/// wyrand (Wang Yi, public domain): a 64-bit state advanced by a Weyl increment and finalised by
/// a folded 128-bit multiply. It passes BigCrush and PractRand and costs ~6 instructions per id,
/// against ~18 for xoshiro256++ (whose four words must be loaded and stored around each call):
/// a root span draws three ids.
class id_generator {
 public:
  id_generator() noexcept : state_(entropy_seed()) {}
  explicit id_generator(std::uint64_t seed) noexcept : state_(seed) {}

  /// A non-zero 64-bit value (ids must never be all zeros).
  AGENTRACE_DETAIL_ALWAYS_INLINE std::uint64_t next_nonzero() noexcept {
    const std::uint64_t v = next();
    if (v == 0) [[unlikely]]
      return next_nonzero_slow();
    return v;
  }

  /// A new trace id's two words (`lo` non-zero) and a span id (non-zero), the state loaded and
  /// stored once.
  AGENTRACE_DETAIL_ALWAYS_INLINE void next_root_ids(std::uint64_t& hi, std::uint64_t& lo,
                                                    std::uint64_t& id) noexcept {
    const std::uint64_t s1 = state_ + increment, s2 = s1 + increment, s3 = s2 + increment;
    state_ = s3;
    hi = output(s1);
    lo = output(s2);
    id = output(s3);
    if (lo == 0) [[unlikely]]
      lo = next_nonzero_slow();
    if (id == 0) [[unlikely]]
      id = next_nonzero_slow();
  }

  AGENTRACE_DETAIL_ALWAYS_INLINE std::uint64_t next() noexcept {
    state_ += increment;
    return output(state_);
  }

  /// 64x64->128-bit multiply, folded (high half xor low half).
  static std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
#if defined(__SIZEOF_INT128__)
    __extension__ using u128 = unsigned __int128;
    const u128 r = static_cast<u128>(a) * b;
    return static_cast<std::uint64_t>(r >> 64) ^ static_cast<std::uint64_t>(r);
#else
    return mix_portable(a, b);
#endif
  }
  static std::uint64_t mix_portable(std::uint64_t a, std::uint64_t b) noexcept {
    const std::uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
    const std::uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
    const std::uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    const std::uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    const std::uint64_t lo = (mid << 32) | (ll & 0xffffffffu);
    const std::uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return hi ^ lo;
  }

 private:
  static constexpr std::uint64_t increment = 0xa0761d6478bd642full;
  static constexpr std::uint64_t finalizer = 0xe7037ed1a0b428dbull;

  // The value drawn for state `s`.
  static std::uint64_t output(std::uint64_t s) noexcept { return mix(s, s ^ finalizer); }

  // Out of line: a zero comes once in 2^64 draws.
  AGENTRACE_DETAIL_NOINLINE std::uint64_t next_nonzero_slow() noexcept {
    std::uint64_t v = next();
    while (v == 0) v = next();
    return v;
  }

  std::uint64_t state_;
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/detail/span_ring.hpp
// SPDX-License-Identifier: MIT
// One thread's span queue: a bounded single-producer, single-consumer ring of fixed-size records.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// A large ring is megabytes (capacity x sizeof(T)) that its producer walks through in a circle
// while the collector falls behind. On 4 KiB pages a thread writing spans in a loop misses the
// TLB every ~15 spans; on 2 MiB pages, asked for with MADV_HUGEPAGE where transparent huge pages
// are in "madvise" mode, it does not (measured: ~3 ns per span with a 131,072-span queue). Only
// allocations of 2 MiB or more are affected; the memory is the same. `align`: a power of two;
// freed with std::free. The log queue's blocks come from here too (concurrent_queue.hpp).
inline void* allocate_ring(std::size_t size, std::size_t align) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::size_t huge = std::size_t{2} << 20;
  if (size >= huge) {
    void* p = nullptr;
    if (posix_memalign(&p, huge, size) != 0) return nullptr;
    (void)madvise(p, size, MADV_HUGEPAGE);  // advice only: failure changes nothing
    return p;
  }
#endif
  if (align <= alignof(std::max_align_t)) return std::malloc(size);
  return std::aligned_alloc(align, (size + align - 1) / align * align);
}

/// A bounded ring of `T` with one producer (the thread that owns it, or the thread that took its
/// state over after it exited) and one consumer (the collector). Its slots are allocated once,
/// when the ring is made; try_enqueue never allocates: when the ring is full it returns false and
/// the caller counts the drop. The producer moves a record into the next slot and publishes it
/// with one release store of its position; the consumer moves records out in bulk and frees their
/// slots with one release store of its own.
///
/// Why an agentrace-owned ring and not a general queue: every instrumented file inlines the
/// enqueue, so the queue's header is compiled in every one of them; this one is ~100 lines of
/// <atomic>. One producer and one consumer per ring is what the spans need (one ring per thread,
/// drained by the collector alone).
template <class T>
class spsc_ring {
 public:
  /// Slots are allocated in runs of this many: the capacity is rounded up to a multiple of it.
  static constexpr std::size_t slot_run = 64;

  /// Throws std::bad_alloc when the slots cannot be allocated.
  explicit spsc_ring(std::size_t capacity)
      : capacity_((capacity + slot_run - 1) / slot_run * slot_run),
        slots_(static_cast<T*>(allocate_ring(capacity_ * sizeof(T), alignof(T)))) {
    if (!slots_) throw std::bad_alloc();
  }
  spsc_ring(const spsc_ring&) = delete;
  spsc_ring& operator=(const spsc_ring&) = delete;
  ~spsc_ring() {
    std::uint64_t h = head_.load(std::memory_order_relaxed);
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    for (; h != t; ++h) slots_[h % capacity_].~T();
    std::free(slots_);
  }

  /// Producer: moves `v` into the ring; false (and `v` untouched) when the ring is full.
  AGENTRACE_DETAIL_ALWAYS_INLINE bool try_enqueue(T&& v) noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);  // written by this thread only
    if (t - head_seen_ >= capacity_) [[unlikely]] {
      head_seen_ = head_.load(std::memory_order_acquire);
      if (t - head_seen_ >= capacity_) return false;
    }
    ::new (static_cast<void*>(slots_ + write_slot_)) T(std::move(v));
    if (++write_slot_ == capacity_) [[unlikely]]
      write_slot_ = 0;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  /// Consumer: moves up to `max` records to `out` (assigned to, in order); returns how many.
  template <class It>
  std::size_t try_dequeue_bulk(It out, std::size_t max) noexcept {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);  // written by the consumer only
    const std::uint64_t t = tail_.load(std::memory_order_acquire);
    std::size_t n = static_cast<std::size_t>(t - h);
    if (n > max) n = max;
    std::size_t slot = static_cast<std::size_t>(h % capacity_);
    for (std::size_t i = 0; i < n; ++i) {
      *out = std::move(slots_[slot]);
      ++out;
      slots_[slot].~T();  // moved from: ends its lifetime (the slot is raw storage again)
      if (++slot == capacity_) slot = 0;
    }
    if (n != 0) head_.store(h + n, std::memory_order_release);
    return n;
  }

  /// Records queued: exact when neither side is moving, else a value it had meanwhile.
  std::size_t size_approx() const noexcept {
    const std::uint64_t h = head_.load(std::memory_order_acquire);
    const std::uint64_t t = tail_.load(std::memory_order_acquire);
    return static_cast<std::size_t>(t - h);
  }

  std::size_t capacity() const noexcept { return capacity_; }

 private:
  // The producer's line: the ring's shape (written once), its position, where the next record
  // goes, and the consumer's position as it last read it (reloaded only when the ring looks full).
  alignas(64) const std::size_t capacity_;
  T* const slots_;
  std::atomic<std::uint64_t> tail_{0};
  std::size_t write_slot_{0};
  std::uint64_t head_seen_{0};
  // The consumer's line.
  alignas(64) std::atomic<std::uint64_t> head_{0};
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/record.hpp
// SPDX-License-Identifier: MIT
// What a finished span is: one fixed-size record, built on the agent thread and handed to the
// collector through the queue. Everything rare or variable-sized hangs off `ext`.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// OpenTelemetry SpanKind (values as in OTLP).
enum class span_kind : std::uint8_t {
  internal = 1,
  server = 2,
  client = 3,
  producer = 4,
  consumer = 5
};

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

/// Inline attribute slots per record: with the 64-byte header and the extension pointer, seven
/// 16-byte slots make the record exactly three cache lines.
inline constexpr std::size_t inline_attrs = 7;

enum class slot_type : std::uint8_t { boolean, int64, float64, static_str, owned_str };

/// One inline attribute in two words, each written by one 8-byte store on the hot path:
///   key:   bits 0-47 the key name's address, 48-60 its length, 61-63 the slot_type;
///   value: the bool / int64 / double bits; a static string's address (bits 0-47) and length
///          (48-63); an owned string's std::string*.
/// User-space addresses fit in 48 bits on x86-64 and AArch64 Linux, macOS and Windows (the
/// kernel hands out higher ones only to mmap calls that ask for them); pack_* checks each
/// address and the caller stores the attribute out of line when one does not fit.
struct attr_slot {
  std::uint64_t key;
  std::uint64_t value;

  static constexpr std::uint64_t addr_mask = (std::uint64_t{1} << 48) - 1;
  static constexpr std::size_t max_key_len = (std::size_t{1} << 13) - 1;
  static constexpr std::size_t max_static_len = (std::size_t{1} << 16) - 1;

  /// The packed key word, or 0 if `k` does not fit (too long, or an address above 48 bits).
  AGENTRACE_DETAIL_ALWAYS_INLINE static std::uint64_t pack_key(std::string_view k,
                                                               slot_type t) noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(k.data());
    if ((static_cast<std::uint64_t>(a) & ~addr_mask) != 0 || k.size() > max_key_len) [[unlikely]]
      return 0;
    return static_cast<std::uint64_t>(a) | (std::uint64_t{k.size()} << 48) |
           (std::uint64_t{static_cast<std::uint8_t>(t)} << 61);
  }
  /// The packed value of a static string, or 0 if it does not fit.
  AGENTRACE_DETAIL_ALWAYS_INLINE static std::uint64_t pack_static(const char* s,
                                                                  std::size_t n) noexcept {
    const auto a = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(s));
    if ((a & ~addr_mask) != 0 || n > max_static_len) [[unlikely]]
      return 0;
    return a | (std::uint64_t{n} << 48);
  }

  // The casts below turn packed words back into the addresses pack_key / pack_static took apart
  // (NOLINT: performance-no-int-to-ptr; the packing is the point, see above).
  slot_type type() const noexcept { return static_cast<slot_type>(key >> 61); }
  std::string_view key_name() const noexcept {
    return {reinterpret_cast<const char*>(  // NOLINT(performance-no-int-to-ptr)
                static_cast<std::uintptr_t>(key & addr_mask)),
            static_cast<std::size_t>((key >> 48) & max_key_len)};
  }
  bool as_bool() const noexcept { return value != 0; }
  std::int64_t as_int() const noexcept { return static_cast<std::int64_t>(value); }
  double as_double() const noexcept { return std::bit_cast<double>(value); }
  /// A static_str or owned_str value.
  std::string_view as_string() const noexcept {
    if (type() == slot_type::owned_str)
      return *reinterpret_cast<const std::string*>(  // NOLINT(performance-no-int-to-ptr)
          static_cast<std::uintptr_t>(value));
    return {reinterpret_cast<const char*>(  // NOLINT(performance-no-int-to-ptr)
                static_cast<std::uintptr_t>(value & addr_mask)),
            static_cast<std::size_t>(value >> 48)};
  }
  std::string* owned() const noexcept {
    return reinterpret_cast<std::string*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<std::uintptr_t>(value));
  }
};
static_assert(sizeof(attr_slot) == 16);

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

// ext_ is read only when has_ext says it was written (extension(), copy_tail); through the union
// that scoped_span keeps its record in, GCC cannot see that and warns it may be uninitialised.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

/// One finished span, as it travels through the queue: three cache lines, 64-byte aligned.
/// The first line is the header, all an empty span writes; attribute slots fill the next ones
/// as they are set, and the extension pointer at the end is written only when the span has one
/// (`has_ext`). A span that sets no attribute therefore moves one cache line into the queue.
/// Move-only; the move copies the header and what is in use.
struct alignas(64) span_record {
  // --- header: the first cache line ---
  const span_site* site{nullptr};
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
  std::uint64_t parent_span_id{0};
  // Both 0 in a default-constructed record; a span's are set by begin() and finish() (the
  // constructor below leaves them, so that the hot path stores each once).
  std::uint64_t start_ticks;
  std::uint64_t end_ticks;
  std::uint8_t flags{0};
  bool parent_remote{false};
  status_code status{status_code::unset};
  std::uint8_t n_attrs{0};
  bool has_ext{false};
  std::uint8_t reserved_{0};      // the misc word's one unused byte, kept 0
  std::uint16_t thread_index{0};  // the recording thread's number (wraps at 65,536)
  // --- attribute slots, then the extension ---
  detail::attr_slot attrs[detail::inline_attrs];
  detail::span_ext* ext_;  // valid only while has_ext

  span_record() noexcept : start_ticks(0), end_ticks(0) {}
  /// A recording span's header (span_core::begin): every header member written once; the
  /// eight bytes from `flags` to `thread_index` by one 8-byte store (misc word, below).
  /// `flags_remote`: `flags` and `parent_remote` as one word (detail::pack_flags_remote).
  span_record(const span_site* s, agentrace::trace_id tid, std::uint64_t id, std::uint64_t parent,
              std::uint16_t flags_remote, std::uint16_t thread) noexcept
      : site(s), trace_id(tid), span_id(id), parent_span_id(parent) {
    store_misc(misc_of(flags_remote, thread));
  }

  // The header's last eight bytes (flags, parent_remote, status, n_attrs, has_ext, reserved_,
  // thread_index) as one word. The hot path writes them only as this word (begin, push_slot,
  // and set_misc_byte for the rarer status and has_ext) and the move into the queue copies them
  // with one 8-byte load, which the store buffer can forward only from a store at least as wide.
  // Byte offsets of the word's fields (static_assert below the class).
  static constexpr unsigned misc_flags = 0, misc_remote = 1, misc_status = 2, misc_n_attrs = 3,
                            misc_has_ext = 4, misc_reserved = 5, misc_thread = 6;
  /// Shift of the `width`-byte field at byte `byte` within the word as a loaded integer.
  static constexpr unsigned misc_shift(unsigned byte, unsigned width = 1) noexcept {
    return std::endian::native == std::endian::little ? 8 * byte : 8 * (8 - width - byte);
  }
  // flags and parent_remote are laid out as a context's flags and remote (flags_remote).
  static std::uint64_t misc_of(std::uint16_t flags_remote, std::uint16_t thread) noexcept {
    return (std::uint64_t{flags_remote} << misc_shift(misc_flags, sizeof flags_remote)) |
           (std::uint64_t{thread} << misc_shift(misc_thread, sizeof thread));
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE std::uint64_t load_misc() const noexcept {
    std::uint64_t w;
    std::memcpy(&w, reinterpret_cast<const unsigned char*>(this) + misc_offset, sizeof w);
    return w;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void store_misc(std::uint64_t w) noexcept {
    std::memcpy(reinterpret_cast<unsigned char*>(this) + misc_offset, &w, sizeof w);
  }
  /// Sets one byte of the misc word (status, has_ext) with an 8-byte store.
  void set_misc_byte(unsigned byte, std::uint8_t v) noexcept {
    const unsigned sh = misc_shift(byte);
    store_misc((load_misc() & ~(std::uint64_t{0xff} << sh)) | (std::uint64_t{v} << sh));
  }
  void set_status(status_code c) noexcept {
    set_misc_byte(misc_status, static_cast<std::uint8_t>(c));
  }
  static constexpr std::size_t misc_offset = 56;
  span_record(const span_record&) = delete;
  span_record& operator=(const span_record&) = delete;

  // The move is how a finished span enters the queue, a few nanoseconds after the span wrote
  // these fields: each field is copied at the width it was written (detail::opaque), so every
  // load is forwarded from the store buffer; the members are initialised here, not zeroed first.
  // On a thread whose queue is large (thread_locals::demote_records), the lines written are then
  // handed to the shared cache, since the next core to touch them is the collector's.
  span_record(span_record&& o) noexcept
      : span_record(relocate, std::move(o), detail::tls.demote_records) {}

  /// Moves without the cache hint: for a record that stays in use on this core (a scoped_span
  /// moved into another).
  static constexpr struct relocate_t {
  } relocate{};
  span_record(relocate_t, span_record&& o, bool demote = false) noexcept
      : site(detail::opaque(o.site)),
        trace_id{detail::opaque(o.trace_id.hi), detail::opaque(o.trace_id.lo)},
        span_id(detail::opaque(o.span_id)),
        parent_span_id(detail::opaque(o.parent_span_id)),
        start_ticks(detail::opaque(o.start_ticks)),
        end_ticks(detail::opaque(o.end_ticks)) {
    const std::uint64_t m = detail::opaque(o.load_misc());
    store_misc(m);
    // Taken from the register just stored: a demoted line is not read back. n_attrs and has_ext
    // are adjacent bytes: one test says whether there is anything past the header (not for an
    // empty span, which then leaves `o` as it is: it owns nothing already).
    static_assert(misc_has_ext == misc_n_attrs + 1);
    if (static_cast<std::uint16_t>(m >> misc_shift(misc_n_attrs, 2)) != 0) [[unlikely]] {
      const auto n = static_cast<std::uint8_t>(m >> misc_shift(misc_n_attrs));
      const bool ext = static_cast<std::uint8_t>(m >> misc_shift(misc_has_ext)) != 0;
      copy_tail(o, n, ext);
      o.n_attrs = 0;
      o.has_ext = false;
      if (demote) demote_written(n, ext);
    } else if (demote) {
      detail::demote_cache_line(this);
    }
  }
  span_record& operator=(span_record&& o) noexcept {
    if (this != &o) {
      reset();
      std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o),
                  offsetof(span_record, attrs));
      copy_tail(o, o.n_attrs, o.has_ext);
      // The collector moves each record out of the queue with this: a record that owns nothing
      // is left as it is, so the collector only reads the queue's lines and never takes them
      // from the producer's core in the modified state.
      if ((o.n_attrs | static_cast<std::uint8_t>(o.has_ext)) != 0) {
        o.n_attrs = 0;
        o.has_ext = false;
      }
    }
    return *this;
  }
  ~span_record() { reset(); }

  /// Frees what the record owns and makes it empty.
  void reset() noexcept {
    // A record that was moved into the queue owns nothing: one test, no call.
    if ((n_attrs | static_cast<std::uint8_t>(has_ext)) != 0) [[unlikely]]
      release();
  }

  /// The extension, created on first use.
  detail::span_ext& extension() {
    if (!has_ext) {
      ext_ = new detail::span_ext();
      set_misc_byte(misc_has_ext, 1);
    }
    return *ext_;
  }
  /// The extension, or nullptr if the span has none.
  const detail::span_ext* ext() const noexcept { return has_ext ? ext_ : nullptr; }
  detail::span_ext* ext() noexcept { return has_ext ? ext_ : nullptr; }

  /// Appends an inline attribute (a bool / int64 / double / owned std::string* value word).
  /// False, and nothing stored, when the slots are full or the key cannot be packed.
  AGENTRACE_DETAIL_ALWAYS_INLINE bool push_slot(std::string_view key, detail::slot_type type,
                                                std::uint64_t value) noexcept {
    const std::uint64_t m = load_misc();
    const auto n = static_cast<std::uint8_t>(m >> misc_shift(misc_n_attrs));
    if (n >= detail::inline_attrs) [[unlikely]]
      return false;
    const std::uint64_t k = detail::attr_slot::pack_key(key, type);
    if (k == 0) [[unlikely]]
      return false;
    attrs[n].key = k;
    attrs[n].value = value;
    store_misc(m +
               (std::uint64_t{1} << misc_shift(misc_n_attrs)));  // n_attrs + 1 (n < 7: no carry)
    return true;
  }
  /// Appends a string attribute of static storage (stored as a pointer, never copied).
  AGENTRACE_DETAIL_ALWAYS_INLINE bool push_static_string(std::string_view key,
                                                         std::string_view v) noexcept {
    const std::uint64_t packed = detail::attr_slot::pack_static(v.data(), v.size());
    if (packed == 0 && v.data() != nullptr) [[unlikely]]
      return false;
    return push_slot(key, detail::slot_type::static_str, packed);
  }

  std::string_view name() const noexcept {
    if (const auto* e = ext(); e && !e->name.empty()) return e->name;
    return site ? site->name : std::string_view{};
  }
  span_kind kind() const noexcept { return site ? site->kind : span_kind::internal; }

 private:
  // `n` and `ext`: o's n_attrs and has_ext.
  void copy_tail(const span_record& o, std::uint8_t n, bool ext) noexcept {
    // Each slot word was written by one 8-byte store (push_slot), so each is copied by one
    // 8-byte load.
    for (std::uint8_t i = 0; i < n; ++i) {
      attrs[i].key = detail::opaque(o.attrs[i].key);
      attrs[i].value = detail::opaque(o.attrs[i].value);
    }
    if (ext) [[unlikely]]
      ext_ = o.ext_;
  }

  // Demotes each line the move wrote: the header, and the slot lines in use (`n` slots, the
  // extension pointer if `ext`). For a record with something past the header (an empty one
  // demotes its header only, in the move).
  AGENTRACE_DETAIL_ALWAYS_INLINE void demote_written(std::uint8_t n, bool ext) const noexcept {
    const auto* bytes = reinterpret_cast<const unsigned char*>(this);
    detail::demote_cache_line(bytes);
    if (n != 0) detail::demote_cache_line(bytes + 64);
    if (n > 4 || ext) detail::demote_cache_line(bytes + 128);
  }

  AGENTRACE_DETAIL_NOINLINE void release() noexcept {
    for (std::uint8_t i = 0; i < n_attrs; ++i)
      if (attrs[i].type() == detail::slot_type::owned_str) delete attrs[i].owned();
    n_attrs = 0;
    if (has_ext) delete ext_;
    has_ext = false;
  }
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static_assert(offsetof(span_record, attrs) == 64, "the header is one cache line");
static_assert(
    offsetof(span_record, flags) == span_record::misc_offset + span_record::misc_flags &&
        offsetof(span_record, parent_remote) ==
            span_record::misc_offset + span_record::misc_remote &&
        offsetof(span_record, status) == span_record::misc_offset + span_record::misc_status &&
        offsetof(span_record, n_attrs) == span_record::misc_offset + span_record::misc_n_attrs &&
        offsetof(span_record, has_ext) == span_record::misc_offset + span_record::misc_has_ext &&
        offsetof(span_record, reserved_) == span_record::misc_offset + span_record::misc_reserved &&
        offsetof(span_record, thread_index) == span_record::misc_offset + span_record::misc_thread,
    "the misc word's layout");
static_assert(sizeof(span_record) == 192, "three cache lines");
static_assert(offsetof(span_record, attrs) + 4 * sizeof(detail::attr_slot) == 128 &&
                  offsetof(span_record, ext_) >= 128,
              "demote_written: slots 0-3 fill the second line, the rest and ext_ the third");

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

using span_queue = spsc_ring<span_record>;

inline std::atomic<bool> drain_on_demand{true};
inline std::atomic<bool> drain_requested{false};
// How often (in spans enqueued) a thread tests whether to wake the collector; a power of two.
inline constexpr std::uint64_t wake_check_interval = 64;

// Counters written by their owning thread only (plain load + store, no RMW, no lock prefix).
// The collector reads them with acquire loads; `enqueued` is stored with release after a
// successful try_enqueue, so a collector that sees the count can dequeue the records.
// A span that ends is counted once, in the counter of where it went (a span that ended is one
// of these: spans ended = their sum), so the enqueue path bumps one counter, not two.
struct thread_counters {
  std::atomic<std::uint64_t> enqueued{0};
  std::atomic<std::uint64_t> dropped_queue_full{0};
  std::atomic<std::uint64_t> dropped_unsampled{0};

  AGENTRACE_DETAIL_ALWAYS_INLINE static void bump(std::atomic<std::uint64_t>& c,
                                                  std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }
};

struct counters_snapshot {
  std::uint64_t ended{0};
  std::uint64_t enqueued{0};
  std::uint64_t dropped_queue_full{0};
  std::uint64_t dropped_unsampled{0};
};

struct thread_state;
struct span_core;

/// The most spans one thread's queue can hold (set_queue_capacity clamps to it).
inline constexpr std::size_t max_thread_queue_size = std::size_t{64} * 1024;

// std::uncaught_exceptions() is a call into libstdc++ that finds its thread-local data through
// __tls_get_addr: ~4 ns, twice per span. Under the Itanium C++ ABI (GCC and Clang on Linux and
// macOS, with libstdc++, libc++abi or libcxxrt) it reads the uncaughtExceptions field of the
// thread's __cxa_eh_globals, whose address __cxa_get_globals() returns and which stays put for
// the thread's life. Each thread_state keeps that address; a one-time self-test checks the
// field against std::uncaught_exceptions() while an exception is in flight, and the standard
// call is used where the ABI is not there or the test fails.
#if defined(__cpp_exceptions) && __has_include(<cxxabi.h>) && \
    (defined(__GLIBCXX__) || defined(_LIBCPPABI_VERSION) || defined(_LIBCPP_VERSION))
#define AGENTRACE_DETAIL_EH_GLOBALS 1
struct cxa_eh_globals_view {
  void* caught_exceptions;
  unsigned int uncaught_exceptions;
};

inline const unsigned int* uncaught_counter_slow() noexcept {
  static const bool abi_ok = [] {
    bool ok = false;
    struct probe {
      bool& ok;
      ~probe() {
        const auto* g = reinterpret_cast<const cxa_eh_globals_view*>(abi::__cxa_get_globals());
        const int n = std::uncaught_exceptions();
        ok = g != nullptr && n >= 1 && g->uncaught_exceptions == static_cast<unsigned>(n);
      }
    };
    try {
      probe p{ok};
      throw 0;
    } catch (int) {
    }
    return ok;
  }();
  if (!abi_ok) return nullptr;
  return &reinterpret_cast<const cxa_eh_globals_view*>(abi::__cxa_get_globals())
              ->uncaught_exceptions;
}
#else
#define AGENTRACE_DETAIL_EH_GLOBALS 0
inline const unsigned int* uncaught_counter_slow() noexcept { return nullptr; }
#endif

// Aligned to a cache line: two threads' states never share one.
struct alignas(64) thread_state {
  explicit thread_state(std::size_t capacity)
      : queue(new span_queue(capacity)), capacity(capacity), wake_mask(wake_mask_for(capacity)) {}
  ~thread_state() { delete queue; }
  thread_state(const thread_state&) = delete;
  thread_state& operator=(const thread_state&) = delete;
  // This thread's (it is the one producer); owned (a raw pointer: <memory> is no light header).
  span_queue* queue;
  id_generator ids;
  thread_counters counters;
  std::size_t capacity;  // of `queue`, in spans (before the ring's rounding to runs of slots)
  // The thread asks the collector to drain each time its enqueue count is a multiple of
  // wake_mask + 1: half the queue, rounded down to a power of two (at least
  // wake_check_interval spans, so that finish() can test the count against that constant first).
  std::uint64_t wake_mask;
  std::uint32_t index{0};  // the thread's number (span_record::thread_index; informative only)
  // The owning thread's context chain id (context.hpp, next_chain_id): 64 bits, never reused, so
  // a span scope closed on another thread is reported to this thread and no other.
  std::uint64_t chain{0};
  // Raised by another thread that ended a span begun here (detail/remote_end.hpp).
  std::atomic<std::uint32_t> remote_ended{0};
  // The owning thread's count, or nullptr; set again when another thread takes the state over
  // (create_thread_state).
  const unsigned int* uncaught{uncaught_counter_slow()};
  // Set (under globals().mu) while the state is on the exited list; read without the lock by the
  // collector to skip the lock for live threads' states. Last: off the hot path's fields.
  std::atomic<bool> exited{false};

  // Half of `capacity`, at least wake_check_interval, rounded down to a power of two, less one.
  static constexpr std::uint64_t wake_mask_for(std::size_t capacity) noexcept {
    std::uint64_t half = capacity / 2 < wake_check_interval ? wake_check_interval : capacity / 2;
    std::uint64_t p = 1;
    while (p <= half / 2) p <<= 1;
    return p - 1;
  }
};

// Span limits as the collector configured them (OTEL_SPAN_*_COUNT_LIMIT); read off the hot path
// only (overflow attributes, events, links).
inline std::atomic<std::uint32_t> limit_attribute_count{128};
inline std::atomic<std::uint32_t> limit_event_count{128};
inline std::atomic<std::uint32_t> limit_link_count{128};

/// What spans call of the setup side, rarely, through pointers so that the code is compiled once
/// (in the file that starts tracing) and not in every instrumented file. The registry
/// (detail/thread_state.hpp): a thread's first span, a drain request every half queue, a span
/// scope closed on another thread. A recording span's slower work (detail/span_slow.hpp): events,
/// the status, attributes beyond the record's inline slots, the exception noted while unwinding.
/// A span's uncommon paths (detail/span_cold.hpp): its begin and end in another configuration than
/// the common one, unsampled and moved spans, a full queue, a scope closed out of order, the end
/// after shutdown. Null until set_queue_capacity() installs them (start() does): until then no
/// thread has a state, so no span records and none of them is called but create_thread_state,
/// which then finds nothing, and span_begin_other, which is not called then (span_core); a span
/// records, or has a context of its own, only on a thread that has a state, so such a span
/// always finds them installed.
struct registry_hooks {
  thread_state* (*create_thread_state)() noexcept;
  void (*request_drain)() noexcept;
  void (*report_remote_end)(std::uint64_t chain, std::uint64_t id,
                            const span_context& replaced) noexcept;
  void (*take_remote_ends)(thread_state* ts) noexcept;
  void (*add_event)(span_record& rec, std::string_view name, const kv* attrs, std::size_t n);
  void (*add_link)(span_record& rec, const span_context& ctx, const kv* attrs, std::size_t n);
  void (*record_exception)(span_record& rec, const std::exception& e);
  void (*set_status)(span_record& rec, status_code code, std::string_view description);
  void (*overflow)(span_record& rec, std::string_view key, attr_value&& v);
  void (*overflow_word)(span_record& rec, std::string_view key, slot_type type, std::uint64_t word);
  void (*overflow_string)(span_record& rec, std::string_view key, std::string_view v,
                          std::string* owned);
  void (*mark_unwinding)(span_record& rec) noexcept;
  void (*span_begin_other)(span_core& s, const span_site* site, const span_context* parent,
                           std::uint8_t on) noexcept;
  void (*span_finish_other)(span_core& s, std::uint8_t on) noexcept;
  void (*span_end_other)(span_core& s) noexcept;
  void (*span_finish_not_running)(span_core& s, bool scope) noexcept;
  void (*span_drop_queue_full)(span_core& s, thread_counters& c) noexcept;
  void (*span_ended_not_current)(std::uint64_t id, std::uint64_t chain,
                                 const span_context& replaced) noexcept;
  void (*span_take_record)(span_core& to, span_core& from) noexcept;
};
inline std::atomic<const registry_hooks*> installed_registry_hooks{nullptr};

/// The hooks, for a recording span (installed: see registry_hooks). Relaxed: the thread loaded
/// them with acquire when it made its state.
AGENTRACE_DETAIL_ALWAYS_INLINE inline const registry_hooks& span_slow_paths() noexcept {
  return *installed_registry_hooks.load(std::memory_order_relaxed);
}

/// Slow path of this_thread(): the thread's first span (the registry takes a state over or makes
/// one). nullptr, and the span is not recorded, if tracing was never configured.
AGENTRACE_DETAIL_NOINLINE inline thread_state* create_thread_state_hooked() noexcept {
  const registry_hooks* h = installed_registry_hooks.load(std::memory_order_acquire);
  return h ? h->create_thread_state() : nullptr;
}

/// finish() calls this when a thread's enqueue count `n` is a multiple of wake_check_interval:
/// drain on demand when it is a multiple of the thread's wake_mask + 1.
AGENTRACE_DETAIL_NOINLINE inline void request_drain_at(const thread_state* ts,
                                                       std::uint64_t n) noexcept {
  if ((n & ts->wake_mask) != 0) return;
  // A thread with a state has seen the hooks installed (create_thread_state_hooked).
  if (const registry_hooks* h = installed_registry_hooks.load(std::memory_order_acquire)) [[likely]]
    h->request_drain();
}

/// std::uncaught_exceptions() of the calling thread, whose state is `ts` (may be null).
AGENTRACE_DETAIL_ALWAYS_INLINE inline int uncaught_exceptions(const thread_state* ts) noexcept {
  if (ts && ts->uncaught) [[likely]]
    return static_cast<int>(*ts->uncaught);
  return std::uncaught_exceptions();
}
/// The same for a span that loaded the recording state `on` and holds a state `ts` (not null):
/// with recording_eh_abi set, every state's counter pointer is set (no test).
AGENTRACE_DETAIL_ALWAYS_INLINE inline int uncaught_exceptions(const thread_state* ts,
                                                              std::uint8_t on) noexcept {
  if (on & recording_eh_abi) return static_cast<int>(*ts->uncaught);
  return uncaught_exceptions(ts);
}

/// This thread's producer state, or nullptr while the thread is exiting.
AGENTRACE_DETAIL_ALWAYS_INLINE inline thread_state* this_thread(thread_locals& t) noexcept {
  if (thread_state* s = t.state) [[likely]]
    return s;
  return create_thread_state_hooked();
}
/// The same, for callers that do not hold the thread's locals already.
AGENTRACE_DETAIL_ALWAYS_INLINE inline thread_state* this_thread() noexcept {
  return this_thread(tls);
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// A span is current on the context chain where it began (context.hpp). Its scope normally closes
// on that chain; a span object that is not moved but destroyed (or ended) on another thread -- the
// last owner of a shared_ptr, a request object freed by a worker -- closes it elsewhere. That
// thread cannot touch the origin thread's thread-local context, so it leaves a note here and raises
// the origin's thread_state::remote_ended; the origin reads its notes at its next span begin (one
// load of a flag in its own thread_state) and treats them as spans that ended out of order.
//
// Notes are keyed by the chain's 64-bit id (never reused) and are not bounded: each names a span
// that was current on a live thread, and the origin consumes them at its next span begin while
// its own chain is current.
// Scopes that closed away from their chain with nothing to repair there: the chain was a
// coroutine's (its frame is being destroyed, or another thread ended the span through a
// reference), or its thread has exited. Not a loss; stats() reports it. (A note lost to out of
// memory is counted in context_entries_lost.)
inline std::atomic<std::uint64_t> remote_ends_unrepaired{0};

/// On a thread whose current chain is not `chain`, the chain span `id` is current on. Notes it for
/// the live thread that owns `chain` (thread_state.hpp, post_remote_end); nothing is noted for a
/// coroutine's chain or an exited thread.
AGENTRACE_DETAIL_COLD inline void report_remote_end(std::uint64_t chain, std::uint64_t id,
                                                    const span_context& replaced) noexcept {
  if (const registry_hooks* h = installed_registry_hooks.load(std::memory_order_acquire))
    h->report_remote_end(chain, id, replaced);
  else
    remote_ends_unrepaired.fetch_add(1, std::memory_order_relaxed);
}

/// The begin-time check: one relaxed load of a flag in the thread's own state.
AGENTRACE_DETAIL_ALWAYS_INLINE inline void take_remote_ends_if_any(thread_state* ts) noexcept {
  if (ts->remote_ended.load(std::memory_order_relaxed) != 0) [[unlikely]]
    installed_registry_hooks.load(std::memory_order_acquire)->take_remote_ends(ts);  // set: a note
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/semconv/exception.hpp
// SPDX-License-Identifier: MIT
// Semantic-convention keys for exceptions (exception.*), as recorded in the span event "exception".

#include <string>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::exception {

/// Name of the span event that records an exception.
inline constexpr static_string event_name{"exception"};

/// The exception's type: fully-qualified class name (C++: the demangled type name).
inline constexpr key<std::string> type{"exception.type"};
/// The exception's message (what()).
inline constexpr key<std::string> message{"exception.message"};
/// A stack trace in the language's natural format.
inline constexpr key<std::string> stacktrace{"exception.stacktrace"};

}  // namespace agentrace::semconv::exception

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/detail/sampling.hpp
// SPDX-License-Identifier: MIT
// What a span's begin needs of the sampler (sampler.hpp): the thresholds it compares a trace id's
// randomness against, one per parent case, and the comparisons. Light: every instrumented file
// compiles it; the sampler itself and its configuration are sampler.hpp's.

#include <atomic>
#include <cstddef>
#include <cstdint>


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
// amalgamated: include/agentrace/detail/span_core.hpp
// SPDX-License-Identifier: MIT
// A span's state and its hot path (begin and end), under scoped_span (span.hpp). Not in the
// inline namespace that AGENTRACE_ENABLED selects, so that the setup side can compile the span's
// uncommon paths (detail/span_cold.hpp) for every translation unit whose spans are compiled in,
// whatever its own setting.

#include <atomic>
#include <cstdint>
#include <new>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// An unsampled span's state (its context); also what a moved-from span keeps of its span (the id
// its scope restores the context for).
struct unsampled_self {
  span_context ctx;
};

// Spans that ended while tracing was off (after shutdown began) or while their thread was exiting.
inline std::atomic<std::uint64_t> dropped_not_running{0};

/// What scoped_span holds, and its begin and end. The paths every span takes are inline here; the
/// uncommon ones (another configuration than the common one, unsampled and moved spans, a full
/// queue, a scope closed out of order, the end after shutdown) are compiled once, on the setup
/// side (detail/span_cold.hpp), and reached through registry_hooks (producer.hpp): each of them
/// concerns a span that began on a thread with a state, which exists only once the hooks are
/// installed. The one exception, a span begun in another configuration, finds them or records
/// nothing, as begin() does on a thread without a state.
struct span_core {
  // Constructs nothing: the constructor that begins the span writes each member once.
  span_core() noexcept {}  // NOLINT(modernize-use-equals-default): the unions have no default
  /// An empty span.
  struct empty_t {};
  explicit span_core(empty_t) noexcept : state_(st_none) {}
  span_core(const span_core&) = delete;
  span_core& operator=(const span_core&) = delete;
  ~span_core() {}  // NOLINT(modernize-use-equals-default): scoped_span ends rec_'s lifetime

  // begin() and finish() are the hot path. Every value is computed in registers and stored once;
  // fields are copied at the width they were written (opaque, see compiler.hpp); rare
  // work (thread setup, unwinding, shutdown, drops) is out of line. Each reaches the thread's
  // locals through one reference `t` (thread_locals: one address computation, which in
  // a shared library is one __tls_get_addr call instead of one per access).
  // What each constructor does, with one load of the recording state. `parent`: the explicit
  // parent, or nullptr for the thread's current context (a constant where this is inlined).
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_any(const span_site* site,
                                                const span_context* parent) noexcept {
    const std::uint8_t on = recording_state.load(std::memory_order_relaxed);
    if (on == recording_common) [[likely]] {
      thread_locals& t = this_thread_locals();
      begin(t, site, parent ? *parent : t.current, recording_common);
    } else if (on == recording_off) {
      state_ = st_none;
    } else {
      begin_other(site, parent, on);
    }
  }

  // `on` is the recording state the constructor loaded (not 0): it also says which clock to read,
  // whether the sampler is the default one and whether the ABI's exception counter is there. In
  // the common configuration the constructor passes the constant recording_common, so
  // none of these is tested at run time (begin_other: any other configuration).
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin(thread_locals& t, const span_site* site,
                                            const span_context& parent, std::uint8_t on) noexcept {
    // rec_ comes to life here, built once from registers (it is not zeroed first).
    thread_state* ts = this_thread(t);
    if (!ts) [[unlikely]] {
      state_ = st_none;
      return;
    }
    take_remote_ends_if_any(ts);  // a span begun here ended elsewhere: repair `cur` first
    span_context& cur = t.current;
    // Loads: the context this span replaces (restored at the end) and the parent (often the same).
    assign_context(prev_, cur);
    chain_ = t.chain;
    std::uint64_t hi = opaque(parent.trace_id.hi), lo = opaque(parent.trace_id.lo);
    std::uint64_t parent_id = opaque(parent.span_id);
    const std::uint16_t parent_fr = opaque(flags_remote(parent));
    // This span's flags and its parent's remote byte as one word, the same two bytes the
    // record's misc word starts with: a child under the default sampler takes its parent's word
    // as it is.
    std::uint16_t fr = parent_fr;
    std::uint64_t id;
    if ((hi | lo) == 0 || parent_id == 0) {  // no valid parent: a new trace
      ts->ids.next_root_ids(hi, lo, id);
      parent_id = 0;
      fr = pack_flags_remote((on & recording_sample_as_parent)  // sampler.hpp
                                 ? static_cast<std::uint8_t>(flag_random | flag_sampled)
                                 : sample_root(lo),
                             false);
    } else {
      id = ts->ids.next_nonzero();
      if (!(on & recording_sample_as_parent)) {  // else the parent's flags as they are
        const bool remote = remote_of(parent_fr);
        fr = pack_flags_remote(sample_child(lo, flags_of(parent_fr), remote), remote);
      }
    }
    const std::uint8_t flags = flags_of(fr);
    if (!(flags & flag_sampled)) [[unlikely]] {
      begin_unsampled(cur, hi, lo, id, flags);  // the context only: no record, no clock
      return;
    }
    ::new (static_cast<void*>(&rec_)) span_record(site, trace_id{hi, lo}, id, parent_id, fr,
                                                  static_cast<std::uint16_t>(ts->index));
    cur.trace_id.hi = hi;
    cur.trace_id.lo = lo;
    cur.span_id = id;
    set_flags_remote(cur, pack_flags_remote(flags, false));
    uncaught_ = uncaught_exceptions(ts, on);
    state_ = st_recording;
    rec_.start_ticks = now_ticks(on);
  }

  // A span begun while tracing records in any configuration but the common one (`on` not 0):
  // begin() with the recording state's bits tested at run time (span_cold.hpp). `parent` as for
  // begin_any(). Tracing was started if the hooks are there; if not, nothing is recorded, as
  // begin() does on a thread without a state.
  AGENTRACE_DETAIL_NOINLINE void begin_other(const span_site* site, const span_context* parent,
                                             std::uint8_t on) noexcept {
    if (const registry_hooks* h = installed_registry_hooks.load(std::memory_order_acquire))
      h->span_begin_other(*this, site, parent, on);
    else
      state_ = st_none;
  }

  AGENTRACE_DETAIL_ALWAYS_INLINE void finish() noexcept {
    // One load and one comparison: tracing still records, in the common configuration.
    const std::uint8_t on = recording_state.load(std::memory_order_relaxed);
    if (on == recording_common) [[likely]]
      finish_recording<true>(recording_common);
    else
      finish_other(on);
  }

  // A span's end in any configuration but the common one, or after shutdown() began.
  AGENTRACE_DETAIL_NOINLINE void finish_other(std::uint8_t on) noexcept {
    span_slow_paths().span_finish_other(*this, on);
  }

  // The end of a span whose state is not st_recording (and not st_none): unsampled, carried by a
  // new owner, or a moved-from span's scope.
  AGENTRACE_DETAIL_NOINLINE void end_other() noexcept { span_slow_paths().span_end_other(*this); }

  // `on`: the recording state finish() loaded (not 0), as for begin(). `Scope`: this object began
  // the span (it closes the span's scope); false for a span carried by a new owner (moved).
  template <bool Scope>
  AGENTRACE_DETAIL_ALWAYS_INLINE void finish_recording(std::uint8_t on) noexcept {
    const std::uint64_t end = now_ticks(on);
    // The ending thread's state: a span may end on another thread than it began.
    thread_locals& t = this_thread_locals();
    thread_state* ts = this_thread(t);
    if (!ts) [[unlikely]] {  // the thread is exiting (or its state could not be allocated)
      finish_not_running(Scope);
      return;
    }
    if (uncaught_exceptions(ts, on) > uncaught_) [[unlikely]]
      mark_unwinding();  // while still recording: it adds an event and sets the status
    state_ = st_none;
    if constexpr (Scope) restore_context(t, rec_.span_id);
    rec_.end_ticks = end;
    auto& c = ts->counters;
    if (ts->queue->try_enqueue(std::move(rec_))) [[likely]] {
      const std::uint64_t n = c.enqueued.load(std::memory_order_relaxed) + 1;
      c.enqueued.store(n, std::memory_order_release);
      // wake_mask + 1 is a multiple of wake_check_interval: a constant test here, the
      // thread's own mask only then (no load of it per span).
      if ((n & (wake_check_interval - 1)) == 0) [[unlikely]]
        request_drain_at(ts, n);
    } else {
      drop_queue_full(c);
    }
    // rec_'s lifetime ends here without its destructor: it was moved into the queue (the move
    // leaves it owning nothing) or reset by the drop path, so the destructor would only test
    // two fields the call just zeroed.
  }

  // An unsampled span (context owner): it becomes the current context and keeps its own in self_
  // (the union's other member), nothing else; each field is written once, from registers.
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_unsampled(span_context& cur, std::uint64_t hi,
                                                      std::uint64_t lo, std::uint64_t id,
                                                      std::uint8_t flags) noexcept {
    cur.trace_id.hi = hi;
    cur.trace_id.lo = lo;
    cur.span_id = id;
    set_flags_remote(cur, pack_flags_remote(flags, false));
    ::new (static_cast<void*>(&self_))
        unsampled_self{span_context{trace_id{hi, lo}, id, flags, false}};
    state_ = st_unsampled;
  }

  // Closes the scope of span `id`, which this object began: restores the context it replaced
  // (or, if that span has ended meanwhile, its nearest live ancestor); if something else is
  // current (the scope closes out of order, or on another chain than it began on), notes it
  // instead.
  AGENTRACE_DETAIL_ALWAYS_INLINE void restore_context(thread_locals& t, std::uint64_t id) noexcept {
    span_context& cur = t.current;
    if (cur.span_id == id) [[likely]] {
      if (t.ended == nullptr) [[likely]]
        assign_context(cur, prev_);
      else
        restore_resolved(prev_);
    } else {
      ended_not_current(id, chain_, prev_);
    }
  }

  // A span scope that closes while it is not the current context (span_cold.hpp).
  AGENTRACE_DETAIL_COLD static void ended_not_current(std::uint64_t id, std::uint64_t chain,
                                                      const span_context& replaced) noexcept {
    span_slow_paths().span_ended_not_current(id, chain, replaced);
  }

  // Moves a span to a new owner (this, empty). The owner carries the span (rec_ or self_) and
  // ends it wherever it goes; the scope stays with `o` when `o` began the span (st_scope: it keeps
  // the id, prev_ and chain_, and closes the scope when it ends or is destroyed). A recording
  // span's record is relocated out of line (span_cold.hpp).
  void take(span_core& o) noexcept {
    if (o.state_ & st_self) [[unlikely]] {
      self_ = o.self_;
      state_ = st_carried_unsampled;
      o.state_ = static_cast<std::uint8_t>(o.state_ & st_scope);  // st_scope (keeps self_) or none
      return;
    }
    if (!(o.state_ & st_record)) return;
    span_slow_paths().span_take_record(*this, o);
  }

  // The end of a recording span after shutdown() began, or on a thread without a state
  // (span_cold.hpp). `scope`: as Scope for finish_recording.
  AGENTRACE_DETAIL_COLD void finish_not_running(bool scope) noexcept {
    span_slow_paths().span_finish_not_running(*this, scope);
  }
  AGENTRACE_DETAIL_NOINLINE void drop_queue_full(thread_counters& c) noexcept {
    span_slow_paths().span_drop_queue_full(*this, c);
  }

  void mark_unwinding() noexcept { span_slow_paths().mark_unwinding(rec_); }

  // The record under construction. A union member: constructed by begin() (not zeroed first),
  // destroyed by finish(); alive exactly while state_ has st_record, so every use checks it.
  union {
    span_record rec_;
    unsampled_self self_;  // an unsampled span's own context (context owner)
  };
  // The context this span replaced; written by begin() before any read. A union member so that
  // constructing a span does not zero it first (span_context's members have initialisers: five
  // dead stores per span on the hot path).
  union {
    span_context prev_;
  };
  std::uint64_t chain_;  // the context chain the span began on (context.hpp); set by begin()
  int uncaught_;         // uncaught exceptions when the span began; set by begin()
  // What the object holds, as bits: the span's record (rec_ alive), an unsampled span's context
  // or a moved-from span's id (self_ alive), and the span's scope (the object began the span:
  // ending it restores prev_ on chain_). Written once by each constructor (by begin() when it
  // begins one), so that a span is not zeroed first and then written again.
  enum : std::uint8_t {
    st_none = 0,  // empty or ended
    st_record = 1,
    st_self = 2,
    st_scope = 4,                         // moved from: only the scope is left to close
    st_recording = st_record | st_scope,  // begun here, sampled
    st_unsampled = st_self | st_scope,    // begun here, not sampled (context owner)
    st_carried = st_record,               // moved here, sampled
    st_carried_unsampled = st_self,       // moved here, not sampled
  };
  std::uint8_t state_;
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/propagation.hpp
// SPDX-License-Identifier: MIT
// W3C Trace Context across processes: `traceparent` and `tracestate` injected into and extracted
// from any header carrier (a map, a list of pairs, or a getter / setter).
//
// Parsing is strict, as https://www.w3.org/TR/trace-context/ and its test suite require: lowercase
// hex only, all-zero ids and version ff invalid, version 00 exactly 55 characters, higher versions
// parsed by their version-00 prefix; tracestate: at most 32 members, key and value grammar, no
// duplicate keys, several headers combined, anything invalid discards the whole tracestate, and a
// tracestate is never read when the traceparent is invalid. Invalid input yields an invalid
// context (the next span starts a new trace); no input crashes or throws.

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

inline constexpr std::string_view traceparent_header = "traceparent";
inline constexpr std::string_view tracestate_header = "tracestate";

/// What extract() found.
struct extracted_context {
  /// The remote parent: valid and `remote` when a valid traceparent was present, else invalid.
  span_context context{};
  /// The tracestate that came with it, normalised (members joined by ','); empty when absent,
  /// invalid, or when the traceparent was invalid.
  std::string trace_state{};

  bool valid() const noexcept { return context.valid(); }
  explicit operator bool() const noexcept { return valid(); }
};

namespace detail {

/// Parses lowercase hex digits (uppercase is invalid in traceparent).
inline bool parse_lower_hex(std::string_view s, std::uint64_t& out) noexcept {
  return parse_hex(s, out, hex_case::lower_only);
}

inline bool is_lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_keychar(char c) noexcept {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

/// tracestate key: `simple-key` = (lcalpha / DIGIT) 0*255 keychar, or the multi-tenant
/// `tenant@system` form with tenant = (lcalpha / DIGIT) 0*240 keychar and
/// system = lcalpha 0*13 keychar, as the W3C test suite checks them.
inline bool valid_trace_state_key(std::string_view k) noexcept {
  const std::size_t at = k.find('@');
  auto run = [](std::string_view s, std::size_t max, bool digit_first) {
    if (s.empty() || s.size() > max) return false;
    if (!(is_lcalpha(s[0]) || (digit_first && is_digit(s[0])))) return false;
    for (char c : s.substr(1))
      if (!is_keychar(c)) return false;
    return true;
  };
  if (at == std::string_view::npos) return run(k, 256, true);
  return run(k.substr(0, at), 241, true) && run(k.substr(at + 1), 14, false);
}

/// tracestate value: 1 to 256 printable ASCII characters except ',' and '=', not ending in a space.
inline bool valid_trace_state_value(std::string_view v) noexcept {
  if (v.empty() || v.size() > 256 || v.back() == ' ') return false;
  for (char c : v)
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  return true;
}

}  // namespace detail

/// Parses a traceparent header value; nullopt when it is invalid. The context is marked remote.
inline std::optional<span_context> parse_traceparent(std::string_view v) noexcept {
  v = detail::trim_view(v);
  if (v.size() < 55) return std::nullopt;
  std::uint64_t version = 0;
  if (!detail::parse_lower_hex(v.substr(0, 2), version) || v[2] != '-') return std::nullopt;
  if (version == 0xff) return std::nullopt;
  // Version 00 is exactly 55 characters; a higher version may carry more fields after a '-'.
  if (version == 0 ? v.size() != 55 : (v.size() > 55 && v[55] != '-')) return std::nullopt;
  span_context ctx;
  std::uint64_t flags = 0;
  if (!detail::parse_lower_hex(v.substr(3, 16), ctx.trace_id.hi) ||
      !detail::parse_lower_hex(v.substr(19, 16), ctx.trace_id.lo) || v[35] != '-' ||
      !detail::parse_lower_hex(v.substr(36, 16), ctx.span_id) || v[52] != '-' ||
      !detail::parse_lower_hex(v.substr(53, 2), flags))
    return std::nullopt;
  if (!ctx.trace_id.valid() || ctx.span_id == 0) return std::nullopt;
  // Keep the flags this specification level defines (sampled, random); others are reserved and
  // must be zero in what we send.
  ctx.flags = static_cast<std::uint8_t>(flags & (flag_sampled | flag_random));
  ctx.remote = true;
  return ctx;
}

/// The traceparent header value of `ctx` (version 00); empty for an invalid context.
inline std::string format_traceparent(const span_context& ctx) {
  if (!ctx.valid()) return {};
  std::string s;
  s.reserve(55);
  s += "00-";
  detail::append_hex(s, ctx.trace_id.hi);
  detail::append_hex(s, ctx.trace_id.lo);
  s.push_back('-');
  detail::append_hex(s, ctx.span_id);
  s.push_back('-');
  const unsigned f = ctx.flags & (flag_sampled | flag_random);
  detail::append_hex_byte(s, static_cast<unsigned char>(f));
  return s;
}

/// Parses a tracestate value (several header fields may be passed joined by ','). Returns the
/// normalised list (members without surrounding whitespace, joined by ','; empty when there are
/// none), or nullopt when it is invalid: more than 32 members, a bad key or value, a duplicate key.
inline std::optional<std::string> parse_tracestate(std::string_view v) {
  std::string out;
  std::vector<std::string_view> keys;
  std::size_t members = 0;
  while (true) {
    const std::size_t comma = v.find(',');
    const std::string_view m = detail::trim_view(v.substr(0, comma));
    if (!m.empty()) {
      if (++members > 32) return std::nullopt;
      const std::size_t eq = m.find('=');
      if (eq == std::string_view::npos) return std::nullopt;
      const std::string_view key = m.substr(0, eq), value = m.substr(eq + 1);
      if (!detail::valid_trace_state_key(key) || !detail::valid_trace_state_value(value))
        return std::nullopt;
      for (std::string_view k : keys)
        if (k == key) return std::nullopt;
      keys.push_back(key);
      if (!out.empty()) out.push_back(',');
      out.append(m);
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

/// The value of `key` in a (valid, normalised) tracestate, if present.
inline std::optional<std::string_view> trace_state_get(std::string_view ts, std::string_view key) {
  while (!ts.empty()) {
    const std::size_t comma = ts.find(',');
    const std::string_view m = ts.substr(0, comma);
    const std::size_t eq = m.find('=');
    if (eq != std::string_view::npos && m.substr(0, eq) == key) return m.substr(eq + 1);
    if (comma == std::string_view::npos) break;
    ts.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

/// `ts` with `key=value` as its left-most member (an existing entry for `key` is removed: W3C
/// "modified keys MUST be moved to the beginning"); the right-most members are dropped to keep at
/// most 32. nullopt when key or value are invalid.
inline std::optional<std::string> trace_state_put(std::string_view ts, std::string_view key,
                                                  std::string_view value) {
  if (!detail::valid_trace_state_key(key) || !detail::valid_trace_state_value(value))
    return std::nullopt;
  std::string out;
  out.append(key).push_back('=');
  out.append(value);
  std::size_t members = 1;
  while (!ts.empty() && members < 32) {
    const std::size_t comma = ts.find(',');
    const std::string_view m = ts.substr(0, comma);
    const std::size_t eq = m.find('=');
    if (!m.empty() && !(eq != std::string_view::npos && m.substr(0, eq) == key)) {
      out.push_back(',');
      out.append(m);
      ++members;
    }
    if (comma == std::string_view::npos) break;
    ts.remove_prefix(comma + 1);
  }
  return out;
}

namespace detail {

/// Anything iterable whose elements have `first` (header name) and `second` (value), e.g.
/// std::map, std::unordered_map, std::multimap, std::vector<std::pair<std::string, std::string>>.
template <class C>
concept header_range = requires(const C& c) {
  c.begin();
  c.end();
  {std::string_view(c.begin()->first)};
  {std::string_view(c.begin()->second)};
};

/// A getter: `f("traceparent")` returns the value as something convertible to string_view (empty:
/// absent) or as a std::optional of it.
template <class G>
concept header_getter = std::invocable<const G&, std::string_view> && !header_range<G>;

template <class S>
concept header_setter = std::invocable<S&, std::string_view, std::string_view>;

template <class R>
std::optional<std::string_view> getter_result(const R& r) {
  if constexpr (requires {
                  r.has_value();
                  *r;
                }) {
    if (!r.has_value()) return std::nullopt;
    return std::string_view(*r);
  } else if constexpr (std::is_pointer_v<R>) {
    if (!r) return std::nullopt;
    return std::string_view(r);
  } else {
    std::string_view v(r);
    if (v.empty()) return std::nullopt;
    return v;
  }
}

/// Builds the result from the header values found: one traceparent exactly (two are invalid:
/// W3C test suite), any number of tracestate fields combined in order.
inline extracted_context extract_from(std::size_t n_parent, std::string_view parent,
                                      const std::vector<std::string_view>& states) {
  extracted_context out;
  if (n_parent != 1) return out;
  auto ctx = parse_traceparent(parent);
  if (!ctx) return out;  // MUST NOT parse tracestate then
  out.context = *ctx;
  if (!states.empty()) {
    std::string joined;
    for (std::size_t i = 0; i < states.size(); ++i) {
      if (i) joined.push_back(',');
      joined.append(states[i]);
    }
    if (auto ts = parse_tracestate(joined)) out.trace_state = std::move(*ts);
  }
  return out;
}

}  // namespace detail

/// Extracts the remote parent from a header carrier: a map / multimap / list of (name, value)
/// pairs (names compared case-insensitively), or a getter `(std::string_view name) -> value`.
/// Begin the local span with it: `AGENTRACE_SPAN_CHILD_OF(s, in.context, "handle", server)`.
template <class Carrier>
  requires detail::header_range<Carrier> || detail::header_getter<Carrier> extracted_context
  extract(const Carrier& carrier) {
    try {
      std::size_t n_parent = 0;
      std::string_view parent;
      std::vector<std::string_view> states;
      if constexpr (detail::header_range<Carrier>) {
        for (const auto& h : carrier) {
          const std::string_view name(h.first);
          if (detail::iequals(name, traceparent_header)) {
            ++n_parent;
            parent = std::string_view(h.second);
          } else if (detail::iequals(name, tracestate_header)) {
            states.emplace_back(h.second);
          }
        }
        return detail::extract_from(n_parent, parent, states);
      } else {
        const auto p = carrier(traceparent_header);
        const auto pv = detail::getter_result(p);
        if (pv) {
          n_parent = 1;
          parent = *pv;
        }
        const auto s = carrier(tracestate_header);
        if (auto sv = detail::getter_result(s)) states.push_back(*sv);
        return detail::extract_from(n_parent, parent, states);
      }
    } catch (...) {  // out of memory, or a throwing getter: start a new trace
      return {};
    }
  }

/// Writes `traceparent` (and `tracestate` when `trace_state` is not empty) for `ctx` into a header
/// carrier: a map / list of pairs (existing entries of either name, in any case, are replaced)
/// or a setter `(std::string_view name, std::string_view value)`. Nothing is written for an
/// invalid context. An unsampled context is written with its sampled flag clear.
template <class Carrier>
void inject(Carrier&& carrier, const span_context& ctx, std::string_view trace_state = {}) {
  using C = std::remove_reference_t<Carrier>;
  if (!ctx.valid()) return;
  const std::string tp = format_traceparent(ctx);
  if constexpr (detail::header_setter<C>) {
    carrier(traceparent_header, tp);
    if (!trace_state.empty()) carrier(tracestate_header, trace_state);
  } else {
    static_assert(detail::header_range<C>,
                  "agentrace::inject: the carrier must be a map, a list of pairs or a setter");
    for (auto it = carrier.begin(); it != carrier.end();) {
      const std::string_view name(it->first);
      if (detail::iequals(name, traceparent_header) || detail::iequals(name, tracestate_header))
        it = carrier.erase(it);
      else
        ++it;
    }
    using key_t = std::remove_cvref_t<decltype(carrier.begin()->first)>;
    using value_t = std::remove_cvref_t<decltype(carrier.begin()->second)>;
    auto put = [&](std::string_view k, std::string_view v) {
      if constexpr (requires { carrier.emplace_back(key_t(k), value_t(v)); })
        carrier.emplace_back(key_t(k), value_t(v));
      else
        carrier.emplace(key_t(k), value_t(v));
    };
    put(traceparent_header, tp);
    if (!trace_state.empty()) put(tracestate_header, trace_state);
  }
}

/// inject() of the thread's current context.
template <class Carrier>
void inject(Carrier&& carrier) {
  inject(std::forward<Carrier>(carrier), current_context());
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

/// 1 (default): tracing compiled in. 0 (CMake -DAGENTRACE_ENABLED=OFF, or defined before the first
/// include in a translation unit): every span type and macro compiles to nothing that runs, while
/// arguments are still type-checked. The two variants live in different inline namespaces, so
/// translation units built either way can be linked into one program.
#ifndef AGENTRACE_ENABLED
#define AGENTRACE_ENABLED 1
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

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

}  // namespace detail

#if AGENTRACE_ENABLED
inline namespace compiled_in {

/// A span while it is alive. Move-only; may be empty (default-constructed, or tracing off);
/// ends itself when destroyed, or earlier by `end()` (idempotent). A span the sampler did not
/// sample is not recording (attributes, events and its end are ignored; it reads no clock and is
/// never enqueued) but still has ids and is still the current context, so its children and
/// injected headers carry its trace id and the cleared sampled flag.
///
/// The current context (docs/context-design.md): a span is the current context of the context
/// chain it began on (the thread's own, or the coroutine's that runs there) from its begin until
/// its scope closes -- the end of the object that began it, or its `end()` -- so spans begun
/// meanwhile become its children. Moving a span hands it off: the new owner carries the span and
/// ends it wherever it goes, but the context stays with the scope that began it, which restores
/// the context it replaced when it closes. Spans may end in any order: a scope that closes while
/// it is not the current context (a parent ended before its child) is skipped when the context
/// comes back to it, so a new span never takes an ended span of this chain as its parent.
class scoped_span : private detail::span_core {
 public:
  scoped_span() noexcept : span_core(empty_t{}) {}

  /// Begins a span whose parent is the thread's current context (a new trace if there is none).
  AGENTRACE_DETAIL_ALWAYS_INLINE explicit scoped_span(const span_site* site) noexcept {
    begin_any(site, nullptr);
  }

  /// Begins a span with an explicit parent (e.g. extracted from a traceparent header). An
  /// invalid parent starts a new trace.
  AGENTRACE_DETAIL_ALWAYS_INLINE scoped_span(const span_site* site,
                                             const span_context& parent) noexcept {
    begin_any(site, &parent);
  }

  scoped_span(scoped_span&& o) noexcept : span_core(empty_t{}) { take(o); }
  scoped_span& operator=(scoped_span&& o) noexcept {
    if (this != &o) {
      // `parent = std::move(child)` ends the parent while the child is current: it is noted as
      // ended out of order, so that the child's scope, when it closes, restores what the parent
      // replaced.
      end();
      take(o);
    }
    return *this;
  }
  scoped_span(const scoped_span&) = delete;
  scoped_span& operator=(const scoped_span&) = delete;

  AGENTRACE_DETAIL_ALWAYS_INLINE ~scoped_span() {
    if (state_ == st_recording)
      finish();
    else if (state_ != st_none) [[unlikely]]
      end_other();
  }

  /// Ends the span now (and, on the object that began it, closes its scope: the context it
  /// replaced is current again). Further calls, and the destructor, do nothing.
  void end() noexcept {
    if (state_ == st_recording)
      finish();
    else if (state_ != st_none) [[unlikely]]
      end_other();
  }

  /// True while the span records (begun, sampled, not ended).
  bool is_recording() const noexcept { return (state_ & st_record) != 0; }

  /// This span's context (invalid when the span is empty, moved from or ended). Unsampled spans
  /// have one too.
  span_context context() const noexcept {
    if (state_ & st_record) return span_context{rec_.trace_id, rec_.span_id, rec_.flags, false};
    if (state_ & st_self) [[unlikely]]
      return self_.ctx;
    return {};
  }

  /// Sets a numeric or boolean attribute. A value of another type than the key's does not compile.
  template <class T, class V>
    requires(!std::same_as<T, std::string> && detail::settable_as<T, V>)
  scoped_span& set(const key<T>& k, V&& v) noexcept {
    if (!is_recording()) return *this;
    if constexpr (std::same_as<T, bool> || std::same_as<T, std::int64_t> ||
                  std::same_as<T, double>) {
      detail::slot_type type;
      std::uint64_t word;
      if constexpr (std::same_as<T, bool>) {
        type = detail::slot_type::boolean;
        word = v ? 1u : 0u;
      } else if constexpr (std::same_as<T, std::int64_t>) {
        type = detail::slot_type::int64;
        word = static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
      } else {
        type = detail::slot_type::float64;
        word = std::bit_cast<std::uint64_t>(static_cast<double>(v));
      }
      if (rec_.push_slot(k.name(), type, word)) [[likely]]
        return *this;
      // Past the inline slots: the value as a word, so that no attr_value is built (and
      // destroyed) here.
      detail::span_slow_paths().overflow_word(rec_, k.name(), type, word);
    } else {
      overflow(k.name(), detail::to_attr_value<T>(std::forward<V>(v)));
    }
    return *this;
  }

  /// Sets a string attribute from a literal: stored as a pointer, never copied.
  scoped_span& set(const key<std::string>& k, static_string v) noexcept {
    if (!is_recording()) return *this;
    if (rec_.push_static_string(k.name(), v.view())) [[likely]]
      return *this;
    detail::span_slow_paths().overflow_string(rec_, k.name(), v.view(), nullptr);
    return *this;
  }

  /// Sets a string attribute from a runtime string: copied once (moved when an rvalue
  /// std::string is passed, so a prompt is never copied at all).
  template <class S>
    requires(std::convertible_to<S, std::string_view> && !std::is_array_v<std::remove_cvref_t<S>>)
  scoped_span& set(const key<std::string>& k, S&& v) {
    if (!is_recording()) return *this;
    std::string* owned;
    if constexpr (std::is_same_v<std::remove_cvref_t<S>, std::string> &&
                  std::is_rvalue_reference_v<S&&>)
      owned = new std::string(std::forward<S>(v));
    else
      owned = new std::string(std::string_view(v));
    if (rec_.push_slot(k.name(), detail::slot_type::owned_str,
                       reinterpret_cast<std::uintptr_t>(owned)))
      return *this;
    detail::span_slow_paths().overflow_string(rec_, k.name(), {}, owned);  // takes `owned`
    return *this;
  }

  /// Adds an event with its own timestamp: `s.event("cache.miss", {{db::collection_name, "x"}})`.
  scoped_span& event(static_string name, std::initializer_list<kv> attrs = {}) {
    if (is_recording())
      detail::span_slow_paths().add_event(rec_, name.view(), attrs.begin(), attrs.size());
    return *this;
  }

  /// Links this span to another span's context (e.g. the request that caused a batch job).
  scoped_span& link(const span_context& ctx, std::initializer_list<kv> attrs = {}) {
    if (is_recording() && ctx.valid())
      detail::span_slow_paths().add_link(rec_, ctx, attrs.begin(), attrs.size());
    return *this;
  }

  /// Sets the status. OpenTelemetry: a description is kept only with ERROR; OK is final.
  scoped_span& set_status(status_code code, std::string_view description = {}) {
    if (!is_recording() || rec_.status == status_code::ok) return *this;
    if (code == status_code::unset) return *this;
    detail::span_slow_paths().set_status(rec_, code, description);
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
    if (is_recording()) detail::span_slow_paths().record_exception(rec_, e);
    return *this;
  }

  /// Replaces the compile-time name with a runtime one (semantic conventions name LLM spans
  /// `chat {model}`). Allocates; keep the compile-time name where it will do.
  scoped_span& set_name(std::string name) {
    if (is_recording()) rec_.extension().name = std::move(name);
    return *this;
  }

  /// Records the W3C tracestate this span carries (propagated to children by the propagator).
  scoped_span& set_trace_state(std::string ts) {
    if (is_recording()) rec_.extension().trace_state = std::move(ts);
    return *this;
  }

  // The span's state, begin and end: detail::span_core (detail/span_core.hpp).
 private:
  void overflow(std::string_view key, attr_value v) {
    detail::span_slow_paths().overflow(rec_, key, std::move(v));
  }
};

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

}  // namespace compiled_in
#endif  // AGENTRACE_ENABLED

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

#define AGENTRACE_DETAIL_CAT2(a, b) a##b
#define AGENTRACE_DETAIL_CAT(a, b) AGENTRACE_DETAIL_CAT2(a, b)

#if !AGENTRACE_ENABLED
// amalgamated: include/agentrace/detail/span_compiled_out.hpp
// SPDX-License-Identifier: MIT
// Spans with tracing compiled out (AGENTRACE_ENABLED=0): the same API, type-checked, doing nothing.
//
// Included by span.hpp only. The types live in their own inline namespace, so they are different
// types from the compiled-in ones: translation units built with and without tracing link into
// one program without violating the one-definition rule. Macros never evaluate their arguments;
// member functions are empty inline functions (their arguments are evaluated as for any call, so
// compute costly values inside AGENTRACE_SET, which does not).

#include <concepts>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {
inline namespace compiled_out {

/// scoped_span with tracing compiled out: empty, never recording, no context.
class scoped_span {
 public:
  constexpr scoped_span() noexcept = default;
  constexpr explicit scoped_span(const span_site*) noexcept {}
  constexpr scoped_span(const span_site*, const span_context&) noexcept {}
  constexpr scoped_span(scoped_span&&) noexcept = default;
  constexpr scoped_span& operator=(scoped_span&&) noexcept = default;
  scoped_span(const scoped_span&) = delete;
  scoped_span& operator=(const scoped_span&) = delete;

  constexpr void end() noexcept {}
  constexpr bool is_recording() const noexcept { return false; }
  constexpr span_context context() const noexcept { return {}; }

  template <class T, class V>
    requires(!std::same_as<T, std::string> && detail::settable_as<T, V>)
  constexpr scoped_span& set(const key<T>&, V&&) noexcept { return *this; }
  constexpr scoped_span& set(const key<std::string>&, static_string) noexcept { return *this; }
  template <class S>
    requires(std::convertible_to<S, std::string_view> && !std::is_array_v<std::remove_cvref_t<S>>)
  constexpr scoped_span& set(const key<std::string>&, S&&) noexcept { return *this; }
  constexpr scoped_span& event(static_string, std::initializer_list<kv> = {}) noexcept {
    return *this;
  }
  constexpr scoped_span& link(const span_context&, std::initializer_list<kv> = {}) noexcept {
    return *this;
  }
  constexpr scoped_span& set_status(status_code, std::string_view = {}) noexcept { return *this; }
  constexpr scoped_span& error(std::string_view = {}) noexcept { return *this; }
  constexpr scoped_span& ok() noexcept { return *this; }
  constexpr scoped_span& record_exception(const std::exception&) noexcept { return *this; }
  template <class S>
    requires std::convertible_to<S, std::string>
  constexpr scoped_span& set_name(S&&) noexcept { return *this; }
  template <class S>
    requires std::convertible_to<S, std::string>
  constexpr scoped_span& set_trace_state(S&&) noexcept { return *this; }
};

/// span<Name, Kind> with tracing compiled out.
// [[gnu::unused]]: a trivial type, so g++ -Wunused-variable would flag every
// `agentrace::span<"name"> s;` not used again (the compiled-in span's destructor ends it).
template <detail::fixed_string Name, span_kind Kind = span_kind::internal>
class [[gnu::unused]] span : public scoped_span {
 public:
  static constexpr span_site site{Name.view(), Kind, "", 0, ""};
  constexpr span() noexcept = default;
  constexpr explicit span(const span_context&) noexcept {}
};

/// in_span with tracing compiled out: calls `f` (with an empty span if it takes one).
template <detail::fixed_string Name, span_kind Kind = span_kind::internal, class F>
decltype(auto) in_span(F&& f) {
  if constexpr (std::is_invocable_v<F&&, scoped_span&>) {
    scoped_span s;
    return std::forward<F>(f)(s);
  } else {
    return std::forward<F>(f)();
  }
}

}  // namespace compiled_out
}  // namespace agentrace

// The site record is still built at compile time (the name is checked: a literal, not empty) and
// costs nothing at run time. Arguments go into `if (false)` statements: fully type-checked, never
// evaluated, removed by the compiler. (Not `if constexpr (false)` nor decltype: a function used
// only there would then count as unused, and clang warns about it.)
#define AGENTRACE_SPAN(var, ...)                                                            \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);            \
  [[maybe_unused]] ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) }

#define AGENTRACE_SPAN_CHILD_OF(var, parent, ...)                                           \
  if (false) static_cast<void>(static_cast<const ::agentrace::span_context&>(parent));      \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);            \
  [[maybe_unused]] ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) }

#define AGENTRACE_SET(span, key, value)    \
  do {                                     \
    if (false) (span).set((key), (value)); \
  } while (false)

#define AGENTRACE_EVENT(span, ...)        \
  do {                                    \
    if (false) (span).event(__VA_ARGS__); \
  } while (false)

AGENTRACE_DETAIL_VISIBILITY_END
#else

/// `AGENTRACE_SPAN(var, "name")` or `AGENTRACE_SPAN(var, "name", agentrace::span_kind::client)`:
/// declares `var`, a span that begins here and ends at the end of the scope. The name must be a
/// string literal; name, kind, file, line and function live in one static constexpr record.
#define AGENTRACE_SPAN(var, ...)                                                            \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);            \
  ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) }

/// Like AGENTRACE_SPAN with an explicit parent context: `AGENTRACE_SPAN_CHILD_OF(var, parent,
/// "name")`.
#define AGENTRACE_SPAN_CHILD_OF(var, parent, ...)                                           \
  static constexpr ::agentrace::span_site AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__) = \
      ::agentrace::detail::make_site(__FILE__, __LINE__, __func__, __VA_ARGS__);            \
  ::agentrace::scoped_span var { &AGENTRACE_DETAIL_CAT(agentrace_site_, __LINE__), (parent) }

/// `AGENTRACE_SET(span, key, value)`: sets an attribute, evaluating `value` only when `span` is
/// recording. For values that cost something to compute (serialised prompts): nothing is computed
/// for unsampled spans, before start() or when tracing is compiled out.
#define AGENTRACE_SET(span, key, value)                    \
  do {                                                     \
    if ((span).is_recording()) (span).set((key), (value)); \
  } while (false)

/// `AGENTRACE_EVENT(span, "name", {{key, value}, ...})`: adds an event; its attributes are
/// evaluated only when `span` is recording.
#define AGENTRACE_EVENT(span, ...)                        \
  do {                                                    \
    if ((span).is_recording()) (span).event(__VA_ARGS__); \
  } while (false)

#endif  // AGENTRACE_ENABLED
