// SPDX-License-Identifier: MIT
// Span context (ids + flags) and the thread's current context.
#pragma once

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

#include "agentrace/detail/ascii.hpp"
#include "agentrace/detail/compiler.hpp"

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
