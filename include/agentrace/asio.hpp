// SPDX-License-Identifier: MIT
// Optional: the current context across Asio coroutines (asio::awaitable), co_spawn, post/dispatch,
// strands and timers, with standalone Asio (1.22+). docs/asio.md.
//
//     asio::thread_pool pool(4);
//     auto ex = agentrace::asio::traced(pool.get_executor());
//     asio::co_spawn(ex, handle(request), asio::detached);   // handle() is an asio::awaitable
//
// Coroutine bodies stay as they are: spans begun in them nest under the span current where the
// coroutine was spawned, and a span held across `co_await` stays the coroutine's current context
// wherever the coroutine resumes.
//
// How: traced_executor wraps the executor a coroutine runs on. Asio starts every asynchronous
// operation of a coroutine right after the coroutine has suspended, on the suspending thread, and
// the operation then takes a work-tracking copy of the coroutine's executor
// (prefer/require(outstanding_work.tracked)) through which it later resumes the coroutine. That
// copy captures, by value, the coroutine's context chain as it is at that moment (its current
// context, its chain id and the spans that ended out of order in it); running a function through
// the copy installs that chain for the call and gives the thread its own back afterwards. Each
// suspension carries its own copy, so nothing is shared between the suspending and the resuming
// thread: no race when Asio resumes the coroutine on another thread before the suspending handler
// has returned. A function run through a copy that captured nothing (asio::post(ex, f) from
// ordinary code, co_spawn's first step) captures the calling thread's chain when it is submitted.
#pragma once

#include <asio/execution.hpp>
#include <asio/prefer.hpp>
#include <asio/query.hpp>
#include <asio/require.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::asio {

/// A context chain as a suspended coroutine left it (context.hpp): what resuming it installs.
struct captured_chain {
  span_context context{};
  std::uint64_t chain{0};
  // The chain's spans that ended out of order, as they were (immutable; shared by the copies of
  // one executor): null when there were none, as almost always.
  std::shared_ptr<const detail::ended_set> ended;
  bool captured{false};
};

namespace detail {

// The innermost traced call running on this thread (a run_scope), or null.
struct run_scope;
inline thread_local run_scope* active_scope = nullptr;

/// The calling thread's chain, as a coroutine suspending here leaves it. Outside a traced call
/// (ordinary code spawning or posting) the work starts a chain of its own under the thread's
/// current context.
inline captured_chain capture_here() {
  auto& t = ::agentrace::detail::tls;
  captured_chain c;
  c.context = t.current;
  c.captured = true;
  if (active_scope) {
    c.chain = t.chain;
    if (t.ended) {
      try {
        c.ended = std::make_shared<const ::agentrace::detail::ended_set>(*t.ended);
      } catch (...) {
        ::agentrace::detail::context_entries_lost.fetch_add(t.ended->entries.size(),
                                                            std::memory_order_relaxed);
      }
    }
  } else {
    c.chain = ::agentrace::detail::new_chain_id();
  }
  return c;
}

/// Installs a captured chain for one call, then gives the thread its own back.
struct run_scope {
  explicit run_scope(const captured_chain& c) noexcept {
    auto& t = ::agentrace::detail::tls;
    ::agentrace::detail::assign_context(saved_, t.current);
    saved_chain_ = ::agentrace::detail::current_chain();
    saved_ended_ = t.ended;
    ::agentrace::detail::assign_context(t.current, c.context);
    t.chain = c.chain;
    t.ended = nullptr;
    if (c.ended) {
      try {
        t.ended = new ::agentrace::detail::ended_set(*c.ended);
      } catch (...) {
        ::agentrace::detail::context_entries_lost.fetch_add(c.ended->entries.size(),
                                                            std::memory_order_relaxed);
      }
    }
    prev_ = std::exchange(active_scope, this);
  }
  ~run_scope() {
    auto& t = ::agentrace::detail::tls;
    delete t.ended;  // the coroutine's chain went with the copy its next operation captured
    ::agentrace::detail::assign_context(t.current, saved_);
    t.chain = saved_chain_;
    t.ended = saved_ended_;
    active_scope = prev_;
  }
  run_scope(const run_scope&) = delete;
  run_scope& operator=(const run_scope&) = delete;

 private:
  span_context saved_;
  std::uint64_t saved_chain_;
  ::agentrace::detail::ended_set* saved_ended_;
  run_scope* prev_;
};

template <class F>
struct traced_function {
  captured_chain chain;
  F f;
  void operator()() {
    run_scope in(chain);
    std::move(f)();
  }
};

// outstanding_work.tracked, as itself or as any_io_executor passes it (prefer_only).
template <class P>
inline constexpr bool is_tracked_v =
    std::is_same_v<std::decay_t<P>, ::asio::execution::outstanding_work_t::tracked_t> ||
    std::is_same_v<std::decay_t<P>, ::asio::execution::prefer_only<
                                        ::asio::execution::outstanding_work_t::tracked_t>>;

}  // namespace detail

/// An executor that carries the agentrace context of the coroutine (or function) it runs. Forwards
/// every query, requirement and preference to `Executor`; see the top of this header.
template <class Executor>
class traced_executor {
 public:
  using inner_executor_type = Executor;

  explicit traced_executor(const Executor& ex) noexcept : ex_(ex) {}
  traced_executor(const Executor& ex, captured_chain c) noexcept : ex_(ex), chain_(std::move(c)) {}

  /// The wrapped executor.
  const Executor& get_inner_executor() const noexcept { return ex_; }
  /// The chain this copy resumes with (captured is false for a copy that captured none).
  const captured_chain& chain() const noexcept { return chain_; }

  template <class Property>
  requires ::asio::can_query<const Executor&, Property>::value decltype(auto) query(
      const Property& p) const
      noexcept(::asio::is_nothrow_query<const Executor&, Property>::value) {
    return ::asio::query(ex_, p);
  }

  template <class Property>
  requires ::asio::can_require<const Executor&, Property>::value auto require(
      const Property& p) const {
    using inner = std::decay_t<typename ::asio::require_result<const Executor&, Property>::type>;
    if constexpr (detail::is_tracked_v<Property>)
      return traced_executor<inner>(::asio::require(ex_, p), detail::capture_here());
    else
      return traced_executor<inner>(::asio::require(ex_, p), chain_);
  }

  template <class Property>
  requires ::asio::can_prefer<const Executor&, Property>::value auto prefer(
      const Property& p) const {
    using inner = std::decay_t<typename ::asio::prefer_result<const Executor&, Property>::type>;
    if constexpr (detail::is_tracked_v<Property>)
      return traced_executor<inner>(::asio::prefer(ex_, p), detail::capture_here());
    else
      return traced_executor<inner>(::asio::prefer(ex_, p), chain_);
  }

  /// Runs `f` through the wrapped executor under this copy's chain (or, for a copy that captured
  /// none, the calling thread's, captured now).
  template <class F>
  void execute(F&& f) const {
    ::asio::execution::execute(
        ex_, detail::traced_function<std::decay_t<F>>{
                 chain_.captured ? chain_ : detail::capture_here(), std::forward<F>(f)});
  }

  friend bool operator==(const traced_executor& a, const traced_executor& b) noexcept {
    return a.ex_ == b.ex_;
  }
  friend bool operator!=(const traced_executor& a, const traced_executor& b) noexcept {
    return !(a == b);
  }

 private:
  Executor ex_;
  captured_chain chain_;
};

/// Wraps an executor (a thread_pool's, an io_context's, a strand) so that coroutines spawned on it
/// and functions posted to it keep their agentrace context: `co_spawn(traced(ex), ...)`.
/// To serialise a coroutine, wrap the strand (`traced(asio::make_strand(ex))`), not the other way
/// round: a strand over a traced executor runs its queue under one captured chain.
template <class Executor>
traced_executor<Executor> traced(const Executor& ex) noexcept {
  return traced_executor<Executor>(ex);
}

}  // namespace agentrace::asio

AGENTRACE_DETAIL_VISIBILITY_END
