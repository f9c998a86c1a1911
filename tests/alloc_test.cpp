// SPDX-License-Identifier: MIT
// Hot-path invariant 1 (DESIGN.md): after a thread's first span, a span whose attributes are
// numbers, booleans or literals allocates nothing. This executable replaces the global
// operator new/delete (and, through the linker's --wrap, malloc/calloc/realloc) to count the
// allocations made by the thread under test while the collector is live.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>

namespace {
// Counted only on the thread under test, only while `t_counting` is set. Trivial thread_locals:
// no initialisation guard, safe to touch from inside operator new.
constinit thread_local bool t_counting = false;
constinit thread_local std::uint64_t t_allocations = 0;
// While set, operator new on this thread fails (throws std::bad_alloc) as if memory ran out.
constinit thread_local bool t_fail_new = false;

inline void note_allocation() noexcept {
  if (t_counting) ++t_allocations;
}

/// Makes operator new fail on this thread while alive.
class out_of_memory {
 public:
  out_of_memory() { t_fail_new = true; }
  ~out_of_memory() { t_fail_new = false; }
  out_of_memory(const out_of_memory&) = delete;
  out_of_memory& operator=(const out_of_memory&) = delete;
};

/// Counts this thread's allocations while alive.
class counting {
 public:
  counting() {
    t_allocations = 0;
    t_counting = true;
  }
  ~counting() { t_counting = false; }
  std::uint64_t count() const noexcept { return t_allocations; }
};

void* counted_alloc(std::size_t n) {
  note_allocation();
  if (t_fail_new) throw std::bad_alloc();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_aligned_alloc(std::size_t n, std::align_val_t a) {
  note_allocation();
  const auto al = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_alloc(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

#if defined(AGENTRACE_TEST_WRAP_MALLOC)
// Linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc: calls from this executable's own
// code (the header-only library, moodycamel's block allocation) land here first.
extern "C" {
void* __real_malloc(std::size_t);
void* __real_calloc(std::size_t, std::size_t);
void* __real_realloc(void*, std::size_t);
void* __wrap_malloc(std::size_t n) {
  note_allocation();
  return __real_malloc(n);
}
void* __wrap_calloc(std::size_t n, std::size_t m) {
  note_allocation();
  return __real_calloc(n, m);
}
void* __wrap_realloc(void* p, std::size_t n) {
  note_allocation();
  return __real_realloc(p, n);
}
}
#endif

namespace {
using namespace std::chrono_literals;
inline constexpr agentrace::key<std::int64_t> k_int{"a.int"};
inline constexpr agentrace::key<double> k_double{"a.double"};
inline constexpr agentrace::key<bool> k_bool{"a.bool"};
inline constexpr agentrace::key<std::string> k_static{"a.static"};
inline constexpr agentrace::key<std::string> k_owned{"a.owned"};

/// Counts spans; the collector thread's own allocations are not what this test measures.
class counting_exporter final : public agentrace::exporter {
 public:
  std::string_view name() const noexcept override { return "counting"; }
  agentrace::export_result export_spans(const agentrace::export_batch& b) override {
    spans_.fetch_add(b.spans.size());
    return agentrace::export_result::success;
  }
  std::uint64_t spans() const noexcept { return spans_.load(); }

 private:
  std::atomic<std::uint64_t> spans_{0};
};

void warm_up() {
  AGENTRACE_SPAN(w, "warm.up");  // the thread's first span: creates its state and token
  w.set(k_int, 1);
}

std::uint64_t hot_loop(int n) {
  counting c;
  for (int i = 0; i < n / 2; ++i) {
    AGENTRACE_SPAN(parent, "hot.parent");
    parent.set(k_int, i).set(k_double, i * 0.5).set(k_bool, (i & 1) != 0).set(k_static, "literal");
    agentrace::span<"hot.child", agentrace::span_kind::client> child;
    child.set(k_int, -i);
  }
  return c.count();
}
}  // namespace

TEST_CASE("the counter sees allocations (control)", "[alloc]") {
  auto tracing = agentrace::start(
      {.exporters = {std::make_shared<counting_exporter>()}, .read_environment = false});
  warm_up();
  counting c;
  {
    AGENTRACE_SPAN(s, "allocates");
    s.set(k_owned, std::string_view("a runtime string is copied once, into the heap"));
  }
  CHECK(c.count() >= 1);
  auto* p = new int(3);
  delete p;
  CHECK(c.count() >= 2);
#if defined(AGENTRACE_TEST_WRAP_MALLOC)
  void* m = std::malloc(16);
  std::free(m);
  CHECK(c.count() >= 3);
#endif
}

TEST_CASE("zero heap allocations across 10,000 spans with numeric attributes after warm-up",
          "[alloc]") {
  auto counter = std::make_shared<counting_exporter>();
  auto tracing = agentrace::start({.exporters = {counter}, .read_environment = false});
  const auto before = tracing.stats();
  warm_up();
  const std::uint64_t allocations = hot_loop(10'000);
  CHECK(allocations == 0);
  REQUIRE(tracing.force_flush());
  const auto s = tracing.stats();
  const auto ended = s.spans_ended - before.spans_ended;
  CHECK(ended == 10'001);
  CHECK(s.spans_exported - before.spans_exported + s.dropped_queue_full -
            before.dropped_queue_full ==
        ended);
  if (s.dropped_queue_full != before.dropped_queue_full)
    WARN("some spans were dropped (queue full): the enqueue path was not taken for those");
  CHECK(counter->spans() == s.spans_exported - before.spans_exported);
}

TEST_CASE("zero allocations on a second thread too, concurrently with the first", "[alloc]") {
  auto counter = std::make_shared<counting_exporter>();
  auto tracing = agentrace::start({.exporters = {counter}, .read_environment = false});
  const auto dropped_before = tracing.stats().dropped_queue_full;  // stats are per process
  std::uint64_t other = ~0ull;
  std::thread t([&] {
    warm_up();
    other = hot_loop(10'000);
  });
  warm_up();
  const std::uint64_t here = hot_loop(10'000);
  t.join();
  CHECK(here == 0);
  CHECK(other == 0);
  REQUIRE(tracing.force_flush());
  CHECK(counter->spans() + (tracing.stats().dropped_queue_full - dropped_before) == 20'002);
}

namespace {
constexpr agentrace::key<std::string> k_metric_route{"app.route"};
constexpr agentrace::key<std::int64_t> k_metric_code{"app.code"};
}  // namespace

TEST_CASE("instruments: no allocation after a series' first use, with string attributes too",
          "[alloc]") {
  agentrace::counter<std::int64_t> requests("alloc.requests");
  agentrace::histogram<double> latency("alloc.latency", "s");
  const std::string route = "/a runtime route longer than the small-string buffer";
  requests.add(1, {{k_metric_route, route}, {k_metric_code, 200}});  // first use: the series
  latency.record(0.5, {{k_metric_route, route}});
  requests.add(1);
  std::uint64_t allocations = 0;
  {
    counting c;
    for (int i = 0; i < 10'000; ++i) {
      requests.add(1, {{k_metric_code, 200}, {k_metric_route, route}});
      latency.record(0.001 * i, {{k_metric_route, route}});
      requests.add(2);
    }
    allocations = c.count();
  }
  CHECK(allocations == 0);
  {
    counting c;
    requests.add(1, {{k_metric_code, 404}, {k_metric_route, route}});  // a new series allocates
    CHECK(c.count() >= 1);
  }
}

TEST_CASE("out of memory for the note of an out-of-order end is counted in stats()", "[alloc]") {
  auto tracing = agentrace::start(
      {.exporters = {std::make_shared<counting_exporter>()}, .read_environment = false});
  warm_up();
  const auto lost = [&] { return tracing.stats().context_entries_lost; };
  const std::uint64_t before = lost();
  {  // control: with memory, the parent's early end is noted and nothing is lost
    AGENTRACE_SPAN(p, "oom.control.parent");
    AGENTRACE_SPAN(c, "oom.control.child");
    p.end();
  }
  CHECK(lost() == before);
  agentrace::span_context parent;
  {
    AGENTRACE_SPAN(p, "oom.parent");
    parent = p.context();
    AGENTRACE_SPAN(c, "oom.child");
    {
      out_of_memory oom;
      p.end();  // the note of the out-of-order end needs memory, and there is none
    }
    CHECK(lost() == before + 1);
  }
  // What the count warns of: the child's end restored the ended parent as the current context.
  CHECK(agentrace::current_context() == parent);
  agentrace::detail::assign_context(agentrace::detail::tls.current, agentrace::span_context{});
  CHECK(lost() == before + 1);
}
