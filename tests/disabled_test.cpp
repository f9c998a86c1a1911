// SPDX-License-Identifier: MIT
// Tracing compiled out (AGENTRACE_ENABLED=0) in this translation unit: nothing is recorded, macro
// arguments are type-checked but never evaluated, and the API surface is the same. The program
// also links disabled_enabled_tu.cpp, built with tracing compiled in: both variants coexist in one
// binary (different inline namespaces), as the benchmark binary needs.
#undef AGENTRACE_ENABLED
#define AGENTRACE_ENABLED 0
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <type_traits>

namespace {
inline constexpr agentrace::key<std::int64_t> k_int{"test.int"};
inline constexpr agentrace::key<std::string> k_text{"test.text"};
inline constexpr agentrace::key<bool> k_flag{"test.flag"};

int evaluations = 0;
agentrace::span_context counted_parent() {
  ++evaluations;
  return agentrace::span_context{{1, 2}, 3, agentrace::flag_sampled, false};
}
std::string counted_text() {
  ++evaluations;
  return "expensive";
}
}  // namespace

// Defined in disabled_enabled_tu.cpp (tracing compiled in there).
std::size_t enabled_tu_record_span();
bool enabled_tu_scoped_span_is_compiled_in();

// The compiled-out span is an empty type with nothing to run.
static_assert(std::is_empty_v<agentrace::scoped_span>);
static_assert(std::is_trivially_destructible_v<agentrace::scoped_span>);
static_assert(std::is_trivially_destructible_v<agentrace::span<"x">>);
static_assert(std::is_same_v<agentrace::scoped_span, agentrace::compiled_out::scoped_span>);
// Still type-checked: a value of the wrong type for a key does not compile.
template <class S, class K, class V>
concept can_set = requires(S& s, const K& k, V&& v) {
  s.set(k, static_cast<V&&>(v));
};
using span_t = agentrace::scoped_span;
static_assert(can_set<span_t, agentrace::key<std::int64_t>, int>);
static_assert(!can_set<span_t, agentrace::key<std::int64_t>, const char (&)[5]>);
static_assert(!can_set<span_t, agentrace::key<std::string>, double>);
static_assert(!can_set<span_t, agentrace::key<bool>, std::string>);
static_assert(can_set<span_t, agentrace::key<std::string>, std::string>);
// ... exactly as with tracing compiled in:
static_assert(!can_set<agentrace::compiled_out::scoped_span, agentrace::key<double>, std::string>);

TEST_CASE("compiled out: nothing is recorded and macro arguments are not evaluated") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  REQUIRE(tracing);
  const auto ended_before = tracing.stats().spans_ended;  // stats are per process
  {
    AGENTRACE_SPAN(a, "a");
    AGENTRACE_SPAN(b, "b", agentrace::span_kind::client);
    AGENTRACE_SPAN_CHILD_OF(c, counted_parent(), "c");
    AGENTRACE_SET(a, k_text, counted_text());
    AGENTRACE_SET(b, k_int, (++evaluations, 5));
    AGENTRACE_EVENT(a, "event", {{k_text, counted_text()}});
    CHECK_FALSE(a.is_recording());
    CHECK_FALSE(c.context().valid());
    CHECK_FALSE(agentrace::current_context().valid());  // no context bookkeeping at all
    // The whole member API compiles and does nothing.
    a.set(k_int, 1).set(k_text, "literal").set(k_text, std::string("owned")).set(k_flag, true);
    a.event("e", {{k_int, 2}}).link(c.context()).set_status(agentrace::status_code::ok);
    a.error("x").ok().record_exception(std::runtime_error("e"));
    a.set_name("runtime name").set_trace_state("k=v");
    a.end();
    agentrace::span<"typed", agentrace::span_kind::server> t;
    agentrace::span<"typed.child"> tc(counted_parent());  // a plain call: evaluated
    CHECK_FALSE(t.is_recording());
    const int r = agentrace::in_span<"in_span">([](agentrace::scoped_span& s) {
      CHECK_FALSE(s.is_recording());
      return 7;
    });
    CHECK(r == 7);
    CHECK(agentrace::in_span<"in_span.void">([] { return 8; }) == 8);
  }
  CHECK(evaluations == 1);  // only the explicit constructor call above
  REQUIRE(tracing.force_flush());
  const auto st = tracing.stats();
  CHECK(st.spans_ended - ended_before == 0);
  CHECK(mem->size() == 0);
}

TEST_CASE("compiled-out and compiled-in translation units link into one program") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  { AGENTRACE_SPAN(here, "compiled.out"); }
  CHECK(enabled_tu_scoped_span_is_compiled_in());
  CHECK(enabled_tu_record_span() == 1);
  REQUIRE(tracing.force_flush());
  REQUIRE(mem->size() == 1);
  CHECK(mem->spans()[0].name == "compiled.in");
}
