// SPDX-License-Identifier: MIT
// The hot path: RAII spans with compile-time names.
#pragma once

#include <cxxabi.h>

#include <bit>
#include <climits>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/remote_end.hpp"
#include "agentrace/detail/producer.hpp"
#include "agentrace/record.hpp"
#include "agentrace/semconv/exception.hpp"  // the keys record_exception writes
#include "agentrace/detail/sampling.hpp"
#include "agentrace/propagation.hpp"  // inject/extract: instrumented code carries contexts

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

inline std::string demangle(const char* mangled) {
  int status = 0;
  char* p = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string out = (status == 0 && p) ? std::string(p) : std::string(mangled);
  std::free(p);  // if std::string threw, the name would leak: not on this path (a few bytes)
  return out;
}

// An unsampled span's state (its context); also what a moved-from span keeps of its span (the id
// its scope restores the context for).
struct unsampled_self {
  span_context ctx;
};

// Spans that ended while tracing was off (after shutdown began) or while their thread was exiting.
inline std::atomic<std::uint64_t> dropped_not_running{0};

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
class scoped_span {
 public:
  scoped_span() noexcept : state_(st_none) {}

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

  scoped_span(scoped_span&& o) noexcept : state_(st_none) { take(o); }
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
      bool stored;
      if constexpr (std::same_as<T, bool>)
        stored = rec_.push_slot(k.name(), detail::slot_type::boolean, v ? 1u : 0u);
      else if constexpr (std::same_as<T, std::int64_t>)
        stored = rec_.push_slot(k.name(), detail::slot_type::int64,
                                static_cast<std::uint64_t>(static_cast<std::int64_t>(v)));
      else
        stored = rec_.push_slot(k.name(), detail::slot_type::float64,
                                std::bit_cast<std::uint64_t>(static_cast<double>(v)));
      if (stored) [[likely]]
        return *this;
    }
    overflow(k.name(), detail::to_attr_value<T>(std::forward<V>(v)));
    return *this;
  }

  /// Sets a string attribute from a literal: stored as a pointer, never copied.
  scoped_span& set(const key<std::string>& k, static_string v) noexcept {
    if (!is_recording()) return *this;
    if (rec_.push_static_string(k.name(), v.view())) [[likely]]
      return *this;
    overflow(k.name(), attr_value{std::in_place_type<std::string>, v.view()});
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
    overflow(k.name(), attr_value{std::in_place_type<std::string>, std::move(*owned)});
    delete owned;
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
    if (!is_recording() || !ctx.valid()) return *this;
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
    if (!is_recording()) return *this;
    std::string type = detail::demangle(typeid(e).name());
    event("exception", {{semconv::exception::type, std::move(type)},
                        {semconv::exception::message, std::string_view(e.what())}});
    return set_status(status_code::error, e.what());
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

 private:
  // begin() and finish() are the hot path. Every value is computed in registers and stored once;
  // fields are copied at the width they were written (detail::opaque, see compiler.hpp); rare
  // work (thread setup, unwinding, shutdown, drops) is out of line. Each reaches the thread's
  // locals through one reference `t` (detail::thread_locals: one address computation, which in
  // a shared library is one __tls_get_addr call instead of one per access).
  // What each constructor does, with one load of the recording state. `parent`: the explicit
  // parent, or nullptr for the thread's current context (a constant where this is inlined).
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_any(const span_site* site,
                                                const span_context* parent) noexcept {
    const std::uint8_t on = detail::recording_state.load(std::memory_order_relaxed);
    if (on == detail::recording_common) [[likely]] {
      detail::thread_locals& t = detail::this_thread_locals();
      begin(t, site, parent ? *parent : t.current, detail::recording_common);
    } else if (on == detail::recording_off) {
      state_ = st_none;
    } else {
      begin_other(site, parent, on);
    }
  }

  // `on` is the recording state the constructor loaded (not 0): it also says which clock to read,
  // whether the sampler is the default one and whether the ABI's exception counter is there. In
  // the common configuration the constructor passes the constant detail::recording_common, so
  // none of these is tested at run time (begin_other: any other configuration).
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin(detail::thread_locals& t, const span_site* site,
                                            const span_context& parent, std::uint8_t on) noexcept {
    // rec_ comes to life here, built once from registers (it is not zeroed first).
    detail::thread_state* ts = detail::this_thread(t);
    if (!ts) [[unlikely]] {
      state_ = st_none;
      return;
    }
    detail::take_remote_ends_if_any(ts);  // a span begun here ended elsewhere: repair `cur` first
    using detail::opaque;
    span_context& cur = t.current;
    // Loads: the context this span replaces (restored at the end) and the parent (often the same).
    detail::assign_context(prev_, cur);
    chain_ = t.chain;
    std::uint64_t hi = opaque(parent.trace_id.hi), lo = opaque(parent.trace_id.lo);
    std::uint64_t parent_id = opaque(parent.span_id);
    const std::uint16_t parent_fr = opaque(detail::flags_remote(parent));
    // This span's flags and its parent's remote byte as one word, the same two bytes the
    // record's misc word starts with: a child under the default sampler takes its parent's word
    // as it is.
    std::uint16_t fr = parent_fr;
    std::uint64_t id;
    if ((hi | lo) == 0 || parent_id == 0) {  // no valid parent: a new trace
      ts->ids.next_root_ids(hi, lo, id);
      parent_id = 0;
      fr = detail::pack_flags_remote((on & detail::recording_sample_as_parent)  // sampler.hpp
                                         ? static_cast<std::uint8_t>(flag_random | flag_sampled)
                                         : detail::sample_root(lo),
                                     false);
    } else {
      id = ts->ids.next_nonzero();
      if (!(on & detail::recording_sample_as_parent)) {  // else the parent's flags as they are
        const bool remote = detail::remote_of(parent_fr);
        fr = detail::pack_flags_remote(
            detail::sample_child(lo, detail::flags_of(parent_fr), remote), remote);
      }
    }
    const std::uint8_t flags = detail::flags_of(fr);
    if (!(flags & flag_sampled)) [[unlikely]] {
      begin_unsampled(cur, hi, lo, id, flags);  // the context only: no record, no clock
      return;
    }
    ::new (static_cast<void*>(&rec_)) span_record(site, trace_id{hi, lo}, id, parent_id, fr,
                                                  static_cast<std::uint16_t>(ts->index));
    cur.trace_id.hi = hi;
    cur.trace_id.lo = lo;
    cur.span_id = id;
    detail::set_flags_remote(cur, detail::pack_flags_remote(flags, false));
    uncaught_ = detail::uncaught_exceptions(ts, on);
    state_ = st_recording;
    rec_.start_ticks = detail::now_ticks(on);
  }

  // A span begun while tracing records in any configuration but the common one (`on` not 0):
  // begin() with the recording state's bits tested at run time, out of line. `parent` as for
  // begin_any().
  AGENTRACE_DETAIL_NOINLINE void begin_other(const span_site* site, const span_context* parent,
                                             std::uint8_t on) noexcept {
    detail::thread_locals& t = detail::this_thread_locals();
    begin(t, site, parent ? *parent : t.current, on);
  }

  AGENTRACE_DETAIL_ALWAYS_INLINE void finish() noexcept {
    // One load and one comparison: tracing still records, in the common configuration.
    const std::uint8_t on = detail::recording_state.load(std::memory_order_relaxed);
    if (on == detail::recording_common) [[likely]]
      finish_recording<true>(detail::recording_common);
    else
      finish_other(on);
  }

  // A span's end in any configuration but the common one, or after shutdown() began.
  AGENTRACE_DETAIL_NOINLINE void finish_other(std::uint8_t on) noexcept {
    if (on == detail::recording_off)
      finish_not_running<true>();
    else
      finish_recording<true>(on);
  }

  // The end of a span whose state is not st_recording (and not st_none).
  AGENTRACE_DETAIL_NOINLINE void end_other() noexcept {
    switch (state_) {
      case st_unsampled: finish_unsampled(); break;
      case st_carried: {
        const std::uint8_t on = detail::recording_state.load(std::memory_order_relaxed);
        if (on == detail::recording_off)
          finish_not_running<false>();
        else
          finish_recording<false>(on);
        break;
      }
      case st_carried_unsampled:
        state_ = st_none;
        count_unsampled(detail::this_thread());
        break;
      case st_scope:  // moved from: the scope closes
      {
        state_ = st_none;
        detail::thread_locals& t = detail::this_thread_locals();
        restore_context(t, self_.ctx.span_id);
        break;
      }
      default: break;
    }
  }

  // `on`: the recording state finish() loaded (not 0), as for begin(). `Scope`: this object began
  // the span (it closes the span's scope); false for a span carried by a new owner (moved).
  template <bool Scope>
  AGENTRACE_DETAIL_ALWAYS_INLINE void finish_recording(std::uint8_t on) noexcept {
    const std::uint64_t end = detail::now_ticks(on);
    // The ending thread's state: a span may end on another thread than it began.
    detail::thread_locals& t = detail::this_thread_locals();
    detail::thread_state* ts = detail::this_thread(t);
    if (!ts) [[unlikely]] {  // the thread is exiting (or its state could not be allocated)
      finish_not_running<Scope>();
      return;
    }
    if (detail::uncaught_exceptions(ts, on) > uncaught_) [[unlikely]]
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
      if ((n & (detail::wake_check_interval - 1)) == 0) [[unlikely]]
        detail::request_drain_at(ts, n);
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
    detail::set_flags_remote(cur, detail::pack_flags_remote(flags, false));
    ::new (static_cast<void*>(&self_))
        detail::unsampled_self{span_context{trace_id{hi, lo}, id, flags, false}};
    state_ = st_unsampled;
  }

  // The end of an unsampled span (context owner): restore the context, count it.
  AGENTRACE_DETAIL_NOINLINE void finish_unsampled() noexcept {
    state_ = st_none;
    detail::thread_locals& t = detail::this_thread_locals();
    restore_context(t, self_.ctx.span_id);
    count_unsampled(detail::this_thread(t));
  }
  static void count_unsampled(detail::thread_state* ts) noexcept {
    if (!ts || !detail::recording_state.load(std::memory_order_relaxed)) [[unlikely]] {
      detail::dropped_not_running.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    detail::thread_counters::bump(ts->counters.dropped_unsampled);
  }

  // Closes the scope of span `id`, which this object began: restores the context it replaced
  // (or, if that span has ended meanwhile, its nearest live ancestor); if something else is
  // current (the scope closes out of order, or on another chain than it began on), notes it
  // instead.
  AGENTRACE_DETAIL_ALWAYS_INLINE void restore_context(detail::thread_locals& t,
                                                      std::uint64_t id) noexcept {
    span_context& cur = t.current;
    if (cur.span_id == id) [[likely]] {
      if (t.ended == nullptr) [[likely]]
        detail::assign_context(cur, prev_);
      else
        detail::restore_resolved(prev_);
    } else {
      ended_not_current(id, chain_, prev_);
    }
  }

  // A span scope that closes while it is not the current context (cold). On its own chain it
  // closed out of order: a child, a context_scope or a coroutine is current, and whoever restores
  // this span later gets what it replaced (context.hpp). On another chain (the object was
  // destroyed or ended on another thread without being moved) it is reported to its chain's thread
  // (remote_end.hpp).
  AGENTRACE_DETAIL_COLD static void ended_not_current(std::uint64_t id, std::uint64_t chain,
                                                      const span_context& replaced) noexcept {
    if (chain != detail::tls.chain) {
      detail::report_remote_end(chain, id, replaced);
      return;
    }
    detail::note_ended_out_of_order(id, replaced);
  }

  // Moves a span to a new owner (this, empty). The owner carries the span (rec_ or self_) and
  // ends it wherever it goes; the scope stays with `o` when `o` began the span (st_scope: it keeps
  // the id, prev_ and chain_, and closes the scope when it ends or is destroyed).
  void take(scoped_span& o) noexcept {
    if (o.state_ & st_self) [[unlikely]] {
      self_ = o.self_;
      state_ = st_carried_unsampled;
      o.state_ = static_cast<std::uint8_t>(o.state_ & st_scope);  // st_scope (keeps self_) or none
      return;
    }
    if (!(o.state_ & st_record)) return;
    o.rec_.end_ticks = 0;  // not set until the span ends: the move copies it
    ::new (static_cast<void*>(&rec_)) span_record(span_record::relocate, std::move(o.rec_));
    const std::uint64_t id = o.rec_.span_id;
    o.rec_.~span_record();
    uncaught_ = o.uncaught_;
    state_ = st_carried;
    if (o.state_ & st_scope) {
      ::new (static_cast<void*>(&o.self_)) detail::unsampled_self{span_context{{}, id, 0, false}};
      o.state_ = st_scope;
    } else {
      o.state_ = st_none;
    }
  }

  // The end of a recording span after shutdown() began (recording_state is 0; no clock is read), or
  // on a thread without a state (exiting, or its allocation failed): the context is restored as
  // usual (Scope: see finish_recording), the span is counted as dropped_not_running.
  template <bool Scope>
  AGENTRACE_DETAIL_COLD void finish_not_running() noexcept {
    detail::thread_locals& t = detail::this_thread_locals();
    state_ = st_none;
    if constexpr (Scope) restore_context(t, rec_.span_id);
    drop_not_running();
  }
  AGENTRACE_DETAIL_COLD void drop_not_running() noexcept {
    detail::dropped_not_running.fetch_add(1, std::memory_order_relaxed);
    rec_.reset();
  }
  AGENTRACE_DETAIL_NOINLINE void drop_queue_full(detail::thread_counters& c) noexcept {
    detail::thread_counters::bump(c.dropped_queue_full);
    rec_.reset();
  }

  void overflow(std::string_view key, attr_value v) {
    detail::span_slow_paths().overflow(rec_, key, std::move(v));
  }

  void mark_unwinding() noexcept { detail::span_slow_paths().mark_unwinding(rec_); }

  static std::size_t limit_links() noexcept;

  // The record under construction. A union member: constructed by begin() (not zeroed first),
  // destroyed by finish(); alive exactly while state_ has st_record, so every use checks it.
  union {
    span_record rec_;
    detail::unsampled_self self_;  // an unsampled span's own context (context owner)
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

}  // namespace compiled_in
#endif  // AGENTRACE_ENABLED

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

#define AGENTRACE_DETAIL_CAT2(a, b) a##b
#define AGENTRACE_DETAIL_CAT(a, b) AGENTRACE_DETAIL_CAT2(a, b)

#if !AGENTRACE_ENABLED
#include "agentrace/detail/span_compiled_out.hpp"
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
