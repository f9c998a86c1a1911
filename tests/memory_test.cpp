// SPDX-License-Identifier: MIT
// exporters/memory.hpp and to_span_data (exporter.hpp): what the in-memory store keeps.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <thread>

#include "support/tracing.hpp"

namespace {
using namespace std::chrono_literals;
inline constexpr agentrace::key<std::int64_t> k_int{"m.int"};
}  // namespace

TEST_CASE("the memory exporter keeps spans, finds them by name, counts batches", "[memory]") {
  auto mem = agentrace::memory();
  CHECK(mem->name() == "memory");
  CHECK(mem->size() == 0);
  CHECK_FALSE(mem->find("x"));
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  {
    AGENTRACE_SPAN(a, "first");
    a.set(k_int, 1);
  }
  { AGENTRACE_SPAN(b, "second"); }
  {
    AGENTRACE_SPAN(c, "first");
    c.set(k_int, 2);
  }
  REQUIRE(tracing.force_flush());
  CHECK(mem->size() == 3);
  CHECK(mem->batches() >= 1);
  CHECK(mem->batches() <= 3);
  const auto f = mem->find("first");
  REQUIRE(f);
  CHECK(std::get<std::int64_t>(*f->attr("m.int")) == 1);  // the first one exported
  auto copy = mem->spans();
  copy.clear();
  CHECK(mem->size() == 3);  // spans() is a copy
  mem->clear();
  CHECK(mem->size() == 0);
  CHECK_FALSE(mem->find("second"));
}

TEST_CASE("wait_for wakes up on export, and times out when nothing comes", "[memory]") {
  auto mem = agentrace::memory();
  agentrace::config c;
  c.exporters = {mem};
  c.read_environment = false;
  c.schedule_delay = 5ms;
  auto tracing = agentrace::start(c);
  CHECK_FALSE(mem->wait_for(1, 50ms));
  std::thread([] { AGENTRACE_SPAN(s, "from.thread"); }).join();
  CHECK(mem->wait_for(1, 10s));
  CHECK(mem->find("from.thread"));
}

TEST_CASE_METHOD(test_support::memory_tracing, "to_span_data converts every field of a record",
                 "[memory]") {
  agentrace::span_context ctx;
  {
    AGENTRACE_SPAN(s, "converted", agentrace::span_kind::producer);
    ctx = s.context();
    s.set(k_int, 5).error("e").set_trace_state("vendor=1");
  }
  REQUIRE(tracing.force_flush());
  const auto d = *mem->find("converted");
  CHECK(d.trace_id == ctx.trace_id);
  CHECK(d.span_id == ctx.span_id);
  CHECK(d.flags == ctx.flags);
  CHECK(d.kind == agentrace::span_kind::producer);
  CHECK(d.status == agentrace::status_code::error);
  CHECK(d.status_message == "e");
  CHECK(d.trace_state == "vendor=1");
  CHECK(d.end_unix_ns >= d.start_unix_ns);
  CHECK(d.duration_ns() == d.end_unix_ns - d.start_unix_ns);
  CHECK(d.code_line > 0);
  CHECK(d.attr("absent") == nullptr);
}
