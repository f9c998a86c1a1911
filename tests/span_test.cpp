// SPDX-License-Identifier: MIT
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

namespace {
inline constexpr agentrace::key<std::int64_t> k_int{"test.int"};
}

TEST_CASE("a nested span takes the enclosing span as parent") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  {
    AGENTRACE_SPAN(outer, "outer");
    AGENTRACE_SPAN(inner, "inner");
    inner.set(k_int, 7);
  }
  REQUIRE(tracing.force_flush());
  const auto spans = mem->spans();
  REQUIRE(spans.size() == 2);
  const auto inner = *mem->find("inner");
  const auto outer = *mem->find("outer");
  CHECK(inner.parent_span_id == outer.span_id);
  CHECK(inner.trace_id == outer.trace_id);
  CHECK(outer.parent_span_id == 0);
  REQUIRE(inner.attr("test.int"));
  CHECK(std::get<std::int64_t>(*inner.attr("test.int")) == 7);
}
