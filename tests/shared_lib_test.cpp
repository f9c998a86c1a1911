// SPDX-License-Identifier: MIT
// Spans recorded inside a shared library built with -fvisibility=hidden (tests/shared_lib) go to
// the collector the executable started, under the executable's current context: agentrace's
// process-wide state has one copy per process (compiler.hpp, AGENTRACE_DETAIL_VISIBILITY_BEGIN).
// With a copy of its own, the plugin would see tracing as never started and its spans would be
// lost without being counted.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <set>

#include "shared_lib/plugin.hpp"

TEST_CASE("spans recorded in a hidden-visibility shared library reach the executable's collector") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  const auto before = tracing.stats();
  std::uint64_t parent_id = 0;
  {
    AGENTRACE_SPAN(parent, "host.request");
    parent_id = parent.context().span_id;
    CHECK(plugin_current_span_id() == parent_id);  // one current context per thread
    plugin_record_spans(5);
    CHECK(plugin_current_span_id() == parent_id);  // the plugin's spans restored it
  }
  CHECK(plugin_current_span_id() == 0);
  REQUIRE(tracing.force_flush());
  const auto spans = mem->spans();
  REQUIRE(spans.size() == 6);
  const auto host = *mem->find("host.request");
  std::set<std::int64_t> steps;
  for (const auto& s : spans) {
    if (s.name != "plugin.step") continue;
    CHECK(s.parent_span_id == parent_id);
    CHECK(s.trace_id == host.trace_id);
    REQUIRE(s.attr("plugin.step"));
    steps.insert(std::get<std::int64_t>(*s.attr("plugin.step")));
  }
  CHECK(steps == std::set<std::int64_t>{0, 1, 2, 3, 4});
  const auto after = tracing.stats();
  CHECK(after.spans_ended - before.spans_ended == 6);
  CHECK(after.spans_exported - before.spans_exported == 6);
}

TEST_CASE(
    "a thread started inside a hidden-visibility shared library records into the same "
    "collector") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  plugin_record_on_thread(1000);
  REQUIRE(tracing.force_flush());
  const auto spans = mem->spans();
  REQUIRE(spans.size() == 1000);
  std::set<std::uint64_t> ids;
  for (const auto& s : spans) {
    CHECK(s.name == "plugin.worker");
    CHECK(s.parent_span_id == 0);
    ids.insert(s.span_id);
  }
  CHECK(ids.size() == 1000);
}
