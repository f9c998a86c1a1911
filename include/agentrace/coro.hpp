// SPDX-License-Identifier: MIT
// C++20 coroutines whose context follows the coroutine, not the thread: agentrace::task<T>, and a
// promise mixin / awaitable adapter that gives users' own coroutine types the same behaviour.
//
// The rule: a coroutine owns a context chain (context.hpp) whose context is captured where it is
// created (the span current at the call). While the coroutine runs, its chain is the thread's
// current chain; when it suspends, the thread gets back the chain it had just before the
// coroutine ran (or resumed); when it resumes, on whichever thread, its own chain is installed
// again. Spans that end out of order in the coroutine are noted on its own chain, so they are
// skipped wherever it resumes. Spans begun in the
// coroutine are therefore children of the right span, and a span held across `co_await` ends
// (with its full duration) on the thread that resumes it.
//
//     before the coroutine runs      inside it                     after it suspends
//     thread ctx = X          enter: saved = X, ctx = own  leave: own = ctx, ctx = saved (= X)
//
// Three hooks make this: the initial suspend point (enter when the body starts), every co_await
// (leave before suspending, enter after resuming: await_transform), and the final suspend point
// (leave). A task destroyed while suspended enters its chain to destroy its locals (a span it held
// ends then, on the destroying thread, without touching that thread's context).
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <semaphore>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

// enter() and leave() run inside coroutine bodies, right after a resumption and right before a
// suspension. clang (before 17 at least: llvm-project#47179, #63022) may reuse a thread_local's
// address computed before a suspension after the coroutine resumed on another thread; out of line,
// the address is computed afresh on every call.
#if defined(__clang__)
#define AGENTRACE_DETAIL_CORO_TLS AGENTRACE_DETAIL_NOINLINE
#else
#define AGENTRACE_DETAIL_CORO_TLS
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

namespace detail {

/// The awaiter `co_await a` uses: operator co_await (member or free) if there is one, else `a`.
/// Returns a reference to `a` itself when it is the awaiter, so nothing is copied or moved.
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { static_cast<A&&>(a).operator co_await(); })
    return static_cast<A&&>(a).operator co_await();
  else if constexpr (requires { operator co_await(static_cast<A&&>(a)); })
    return operator co_await(static_cast<A&&>(a));
  else
    return static_cast<A&&>(a);
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

}  // namespace detail

/// The context of one coroutine. Embed it in a promise (or derive from context_promise, which does
/// it for you) and route the coroutine's suspend points through wrap_initial, wrap and wrap_final.
class coroutine_context {
 public:
  /// Captures the thread's current context: a coroutine's context is the one current where it
  /// was called (its promise is constructed there).
  coroutine_context() noexcept : own_chain_(detail::new_chain_id()) {
    detail::assign_context(own_, detail::tls.current);
    detail::assign_context(saved_, own_);
  }
  ~coroutine_context() { delete own_ended_; }
  coroutine_context(const coroutine_context&) = delete;
  coroutine_context& operator=(const coroutine_context&) = delete;

  /// The coroutine's own context: current while it runs, kept here while it is suspended.
  const span_context& context() const noexcept { return own_; }
  /// While the coroutine runs (between enter and leave): what the thread had before.
  const span_context& saved() const noexcept { return saved_; }
  std::uint64_t saved_chain() const noexcept { return saved_chain_; }
  detail::ended_set* saved_ended() const noexcept { return saved_ended_; }
  /// While the coroutine runs: its set of ended spans is the thread's (tls.ended), not ours.
  void own_ended_released() noexcept { own_ended_ = nullptr; }

  /// The coroutine (re)starts running on this thread: remember the thread's context, install ours.
  AGENTRACE_DETAIL_CORO_TLS void enter() noexcept {
    detail::thread_locals& t = detail::tls;
    detail::assign_context(saved_, t.current);
    detail::assign_context(t.current, own_);
    saved_chain_ = detail::current_chain();
    t.chain = own_chain_;
    saved_ended_ = std::exchange(t.ended, own_ended_);
  }
  /// The coroutine stops running on this thread: keep our context, give the thread back its own.
  AGENTRACE_DETAIL_CORO_TLS void leave() noexcept {
    detail::thread_locals& t = detail::tls;
    detail::assign_context(own_, t.current);
    detail::assign_context(t.current, saved_);
    t.chain = saved_chain_;
    own_ended_ = std::exchange(t.ended, saved_ended_);
  }

  template <class Aw>
  class awaiter;
  template <class Aw>
  class initial_awaiter;
  template <class Aw>
  class final_awaiter;

  /// Adapts an awaitable so that the coroutine leaves its context when it suspends on it and
  /// enters it again when it resumes (on any thread). For await_transform and yield_value.
  /// An rvalue is moved into the adapter, an lvalue is referred to.
  template <class A>
  auto wrap(A&& a) {
    using Aw = detail::awaiter_t<A&&>;
    using stored = std::conditional_t<std::is_lvalue_reference_v<Aw>, Aw, std::remove_cvref_t<Aw>>;
    return awaiter<stored>(*this, detail::get_awaiter(std::forward<A>(a)));
  }
  /// Adapts the awaiter initial_suspend() returns: the body starts under the coroutine's context.
  template <class A>
  auto wrap_initial(A&& a) noexcept {
    return initial_awaiter<std::remove_cvref_t<A>>(*this, std::forward<A>(a));
  }
  /// Adapts the awaiter final_suspend() returns: the thread gets its context back before the
  /// coroutine's continuation (if any) runs.
  template <class A>
  auto wrap_final(A&& a) noexcept {
    return final_awaiter<std::remove_cvref_t<A>>(*this, std::forward<A>(a));
  }

  /// await_transform's adapter: keeps a reference to an operand that is its own awaiter (it lives
  /// until the end of the full expression, across the suspension), never copies or moves it.
  template <class A>
  auto wrap_in_place(A&& a) {
    using Aw = detail::awaiter_t<A&&>;
    return awaiter<Aw>(*this, detail::get_awaiter(std::forward<A>(a)));
  }

 private:
  span_context own_;
  span_context saved_;
  std::uint64_t own_chain_;
  std::uint64_t saved_chain_{0};
  detail::ended_set* own_ended_{nullptr};  // owned; spans of this coroutine that ended out of order
  detail::ended_set* saved_ended_{nullptr};
};

/// Leaves on suspension, enters on resumption; forwards everything else to the wrapped awaiter.
/// `Aw` is a value or a reference type.
template <class Aw>
class coroutine_context::awaiter {
 public:
  template <class A>
  awaiter(coroutine_context& c, A&& a) : ctx_(&c), aw_(std::forward<A>(a)) {}

  bool await_ready() noexcept(noexcept(std::declval<Aw&>().await_ready())) {
    return aw_.await_ready();
  }

  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) noexcept(
      noexcept(std::declval<Aw&>().await_suspend(h))) {
    // Leave *before* handing the coroutine over: once await_suspend publishes `h`, another thread
    // may resume it (or destroy it) before this call returns, so nothing below may touch *this
    // or the frame after the inner await_suspend has been called.
    ctx_->leave();
    left_ = true;
    if constexpr (noexcept(aw_.await_suspend(h))) {
      return aw_.await_suspend(h);
    } else {
      try {
        return aw_.await_suspend(h);
      } catch (...) {  // the coroutine resumes at once with the exception: it runs again here
        left_ = false;
        ctx_->enter();
        throw;
      }
    }
  }

  decltype(auto) await_resume() noexcept(noexcept(std::declval<Aw&>().await_resume())) {
    if (left_) ctx_->enter();
    return aw_.await_resume();
  }

 private:
  coroutine_context* ctx_;
  Aw aw_;
  bool left_{false};
};

/// The body starts right after this awaiter's await_resume, whether it suspended or not.
template <class Aw>
class coroutine_context::initial_awaiter {
 public:
  template <class A>
  initial_awaiter(coroutine_context& c, A&& a) noexcept : ctx_(&c), aw_(std::forward<A>(a)) {}
  bool await_ready() noexcept(noexcept(std::declval<Aw&>().await_ready())) {
    return aw_.await_ready();
  }
  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) noexcept(
      noexcept(std::declval<Aw&>().await_suspend(h))) {
    return aw_.await_suspend(h);
  }
  decltype(auto) await_resume() noexcept(noexcept(std::declval<Aw&>().await_resume())) {
    ctx_->enter();
    return aw_.await_resume();
  }

 private:
  coroutine_context* ctx_;
  Aw aw_;
};

/// The body has finished (spans in it have ended): leave before anything else can run.
template <class Aw>
class coroutine_context::final_awaiter {
 public:
  template <class A>
  final_awaiter(coroutine_context& c, A&& a) noexcept : ctx_(&c), aw_(std::forward<A>(a)) {}
  bool await_ready() noexcept {
    ctx_->leave();
    return aw_.await_ready();
  }
  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) noexcept {
    return aw_.await_suspend(h);
  }
  decltype(auto) await_resume() noexcept { return aw_.await_resume(); }

 private:
  coroutine_context* ctx_;
  Aw aw_;
};

namespace detail {
template <class T>
inline constexpr bool is_initial_awaiter = false;
template <class Aw>
inline constexpr bool is_initial_awaiter<coroutine_context::initial_awaiter<Aw>> = true;
template <class T>
inline constexpr bool is_final_awaiter = false;
template <class Aw>
inline constexpr bool is_final_awaiter<coroutine_context::final_awaiter<Aw>> = true;
}  // namespace detail

/// Promise mixin: `struct promise_type : agentrace::context_promise<promise_type> { ... };` gives
/// a coroutine type of your own the context behaviour of agentrace::task. It provides
/// await_transform (every `co_await` in the coroutine goes through the adapter) and lazy
/// initial_suspend / final_suspend. If your promise declares initial_suspend or final_suspend,
/// return `wrap_initial(your_awaiter)` / `wrap_final(your_awaiter)` from them (checked at compile
/// time); if it has an await_transform of its own, return `wrap_in_place(transformed)` from it; a
/// yield_value returns `wrap(its_awaiter)`.
template <class Derived>
class context_promise : public coroutine_context {
 public:
  context_promise() noexcept {
    static_assert(
        detail::is_initial_awaiter<decltype(std::declval<Derived&>().initial_suspend())>,
        "agentrace::context_promise: return wrap_initial(awaiter) from initial_suspend()");
    static_assert(detail::is_final_awaiter<decltype(std::declval<Derived&>().final_suspend())>,
                  "agentrace::context_promise: return wrap_final(awaiter) from final_suspend()");
  }

  template <class A>
  auto await_transform(A&& a) {
    return wrap_in_place(std::forward<A>(a));
  }
  auto initial_suspend() noexcept { return wrap_initial(std::suspend_always{}); }
  auto final_suspend() noexcept { return wrap_final(std::suspend_always{}); }
};

template <class T = void>
class task;

namespace detail {

template <class T, class Promise>
class task_promise_base : public context_promise<Promise> {
 public:
  template <class U>
    requires std::convertible_to<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    result_.template emplace<1>(std::forward<U>(v));
  }
  void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }
  T& result() & {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    return std::get<1>(result_);
  }
  T result() && {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    return std::move(std::get<1>(result_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <class Promise>
class task_promise_base<void, Promise> : public context_promise<Promise> {
 public:
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void result() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

}  // namespace detail

/// A lazy coroutine task: starts when awaited, resumes its awaiter by symmetric transfer when it
/// finishes, rethrows its exception in the awaiter. Its context is the one current where it was
/// called; spans in it nest under that context whichever threads it runs on.
///
///     agentrace::task<std::string> answer(std::string q) {
///       AGENTRACE_SPAN(s, "agent.answer");
///       auto docs = co_await retrieve(q);      // may resume on another thread
///       co_return co_await llm.chat(q, docs);  // s ends where the coroutine finishes
///     }
template <class T>
class [[nodiscard]] task {
 public:
  struct promise_type : detail::task_promise_base<T, promise_type> {
    task get_return_object() noexcept {
      return task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    auto final_suspend() noexcept { return this->wrap_final(final_transfer{}); }
    std::coroutine_handle<> continuation_{std::noop_coroutine()};
  };
  using handle_type = std::coroutine_handle<promise_type>;

  task() noexcept = default;
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  /// Destroys the coroutine, also when it is suspended (spans it holds end then, on its chain).
  ~task() { destroy(); }

  bool valid() const noexcept { return static_cast<bool>(h_); }
  bool done() const noexcept { return h_ && h_.done(); }

  /// `co_await t`: runs the task (if not already done); the result is a reference into the task.
  auto operator co_await() & noexcept { return awaiter<false>{h_}; }
  /// `co_await f()` / `co_await std::move(t)`: the result is moved out.
  auto operator co_await() && noexcept { return awaiter<true>{h_}; }

 private:
  explicit task(handle_type h) noexcept : h_(h) {}

  // A suspended coroutine's spans close their scopes on its own chain (entered for the
  // destruction); a finished one has none left.
  void destroy() noexcept {
    if (!h_) return;
    if (!h_.done()) {
      auto& p = h_.promise();
      p.enter();
      p.own_ended_released();  // the chain's set is tls.ended now, deleted below
      detail::thread_locals& t = detail::tls;
      const span_context saved = p.saved();
      const std::uint64_t saved_chain = p.saved_chain();
      detail::ended_set* saved_ended = p.saved_ended();
      h_.destroy();
      delete t.ended;
      detail::assign_context(t.current, saved);
      t.chain = saved_chain;
      t.ended = saved_ended;
    } else {
      h_.destroy();
    }
    h_ = {};
  }

  struct final_transfer {
    bool await_ready() noexcept { return false; }
    std::coroutine_handle<> await_suspend(handle_type h) noexcept {
      return h.promise().continuation_;
    }
    void await_resume() noexcept {}
  };

  template <bool Move>
  struct awaiter {
    handle_type h;
    bool await_ready() const noexcept { return !h || h.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      h.promise().continuation_ = awaiting;
      return h;
    }
    decltype(auto) await_resume() {
      if (!h) throw std::logic_error("agentrace::task: awaiting an empty task");
      if constexpr (Move)
        return std::move(h.promise()).result();
      else
        return h.promise().result();
    }
  };

  handle_type h_{};
};

namespace detail {
// The coroutine sync_wait uses to await a task from ordinary code. It has no context of its own:
// it only hands the task's result to the waiting thread.
struct sync_wait_driver {
  struct promise_type {
    sync_wait_driver get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};
}  // namespace detail

/// Runs `t` from ordinary (non-coroutine) code and blocks until it finishes, wherever it resumes;
/// returns its result or rethrows its exception. The calling thread's context is what the task
/// returns to; the task itself runs under the context current where it was created.
template <class T>
T sync_wait(task<T> t) {
  std::binary_semaphore done{0};
  std::conditional_t<std::is_void_v<T>, std::monostate, std::optional<T>> value;
  std::exception_ptr error;
  [](task<T>& t, std::binary_semaphore& done, decltype(value)& value,
     std::exception_ptr& error) -> detail::sync_wait_driver {
    try {
      if constexpr (std::is_void_v<T>)
        co_await std::move(t);
      else
        value.emplace(co_await std::move(t));
    } catch (...) {
      error = std::current_exception();
    }
    done.release();  // the waiting thread may return (and destroy `t`, `value`) from here on
  }(t, done, value, error);
  done.acquire();
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) return std::move(*value);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
