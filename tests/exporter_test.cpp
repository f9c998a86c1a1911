// SPDX-License-Identifier: MIT
// exporter.hpp on its own: a span_record turned into span_data (ids, times, site, status,
// attributes with OpenTelemetry's replace-on-set rule and count / length limits, events, links),
// the resource lookup and export_failures arithmetic.
#include <agentrace/exporter.hpp>
#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

using agentrace::attr_value;
using agentrace::span_record;
using agentrace::detail::slot_type;

namespace {

constexpr agentrace::span_site site{"export.me", agentrace::span_kind::server, "file.cpp", 12,
                                    "fn"};
constexpr std::uint64_t t0 = 1'767'225'600'000'000'000ULL;  // 2026-01-01T00:00:00Z

span_record make_record() {
  span_record r(&site, {0xA, 0xB}, 5, 4, agentrace::detail::pack_flags_remote(1, true), 3);
  r.start_ticks = t0;
  r.end_ticks = t0 + 2'500'000;
  return r;
}

std::string str(const attr_value& v) { return std::get<std::string>(v); }

}  // namespace

TEST_CASE("to_span_data: ids, flags, times, kind, site and status") {
  span_record r = make_record();
  r.set_status(agentrace::status_code::error);
  r.extension().status_message = "failed";
  r.extension().trace_state = "k=v";
  const auto clock = agentrace::detail::clock_converter::unix_ns(t0);
  const agentrace::span_data d = agentrace::to_span_data(r, clock);
  CHECK(d.trace_id == agentrace::trace_id{0xA, 0xB});
  CHECK(d.span_id == 5);
  CHECK(d.parent_span_id == 4);
  CHECK(d.flags == 1);
  CHECK(d.parent_remote);
  CHECK(d.name == "export.me");
  CHECK(d.kind == agentrace::span_kind::server);
  CHECK(d.start_unix_ns == t0);
  CHECK(d.duration_ns() == 2'500'000);
  CHECK(d.code_file == "file.cpp");
  CHECK(d.code_line == 12);
  CHECK(d.code_function == "fn");
  CHECK(d.status == agentrace::status_code::error);
  CHECK(d.status_message == "failed");
  CHECK(d.trace_state == "k=v");
}

TEST_CASE("to_span_data: a key set twice keeps its last value, in the first one's order") {
  span_record r = make_record();
  static constexpr std::string_view a = "a", b = "b";
  REQUIRE(r.push_slot(a, slot_type::int64, 1));
  REQUIRE(r.push_static_string(b, "first"));
  REQUIRE(r.push_slot(a, slot_type::int64, 2));                                // replaces a = 1
  r.extension().attributes.push_back({"b", attr_value{std::string("last")}});  // replaces b
  const auto d = agentrace::to_span_data(r, agentrace::detail::clock_converter::unix_ns(t0));
  REQUIRE(d.attributes.size() == 2);
  CHECK(d.attributes[0].first == "a");
  CHECK(std::get<std::int64_t>(d.attributes[0].second) == 2);
  CHECK(d.attributes[1].first == "b");
  CHECK(str(d.attributes[1].second) == "last");
  CHECK(d.attr("b") != nullptr);
  CHECK(d.attr("missing") == nullptr);
}

TEST_CASE("to_span_data: count and length limits drop and cut, and say how many") {
  span_record r = make_record();
  static constexpr std::string_view k1 = "k1", k2 = "k2", k3 = "k3";
  REQUIRE(r.push_static_string(k1, "\xC3\xA9\xC3\xA9\xC3\xA9"));  // three 2-byte code points
  REQUIRE(r.push_slot(k2, slot_type::boolean, 1));
  REQUIRE(r.push_slot(k3, slot_type::float64, std::bit_cast<std::uint64_t>(0.5)));
  r.extension().dropped_attributes = 4;  // dropped when recorded
  agentrace::span_limits limits;
  limits.attribute_count = 2;
  limits.attribute_value_length = 2;
  const auto d =
      agentrace::to_span_data(r, agentrace::detail::clock_converter::unix_ns(t0), limits);
  REQUIRE(d.attributes.size() == 2);
  CHECK(str(d.attributes[0].second) == "\xC3\xA9\xC3\xA9");  // 2 code points, not 2 bytes
  CHECK(std::get<bool>(d.attributes[1].second));
  CHECK(d.dropped_attributes == 1 + 4);
}

TEST_CASE("to_span_data: events and links keep their attributes up to their limits") {
  span_record r = make_record();
  auto& x = r.extension();
  x.events.push_back({t0 + 1000,
                      "retry",
                      {{"n", attr_value{std::int64_t{1}}}, {"m", attr_value{std::int64_t{2}}}},
                      1});
  agentrace::span_context linked;
  linked.trace_id = {1, 2};
  linked.span_id = 3;
  x.links.push_back({linked, "t=s", {{"why", attr_value{std::string("batch")}}}, 0});
  x.dropped_events = 2;
  agentrace::span_limits limits;
  limits.event_attribute_count = 1;
  const auto d =
      agentrace::to_span_data(r, agentrace::detail::clock_converter::unix_ns(t0), limits);
  REQUIRE(d.events.size() == 1);
  CHECK(d.events[0].name == "retry");
  CHECK(d.events[0].time_unix_ns == t0 + 1000);
  CHECK(d.events[0].attributes.size() == 1);
  CHECK(d.events[0].dropped_attributes == 1 + 1);
  CHECK(d.dropped_events == 2);
  REQUIRE(d.links.size() == 1);
  CHECK(d.links[0].context.span_id == 3);
  CHECK(d.links[0].trace_state == "t=s");
  CHECK(str(d.links[0].attributes.at(0).second) == "batch");
}

TEST_CASE("resource lookup and export_failures arithmetic") {
  agentrace::resource res{{{"service.name", "svc"}, {"host.name", "h"}}};
  CHECK(res.get("service.name") == "svc");
  CHECK(res.get("absent").empty());

  agentrace::export_failures a{}, b{};
  a.buffer_full = 1;
  a.rejected = 2;
  b.rejected = 3;
  b.other = 4;
  a += b;
  CHECK(a.rejected == 5);
  CHECK(a.total() == 1 + 5 + 4);
}
