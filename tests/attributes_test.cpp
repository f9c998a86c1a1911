// SPDX-License-Identifier: MIT
// attributes.hpp + the span's set(): every value type read back through the memory exporter and
// through OTLP-JSON, the inline slots and their overflow, a key set twice, typed keys.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "core_test_util.hpp"

namespace {
using agentrace::key;
using test_util::json;

inline constexpr key<bool> k_bool{"t.bool"};
inline constexpr key<std::int64_t> k_int{"t.int"};
inline constexpr key<double> k_double{"t.double"};
inline constexpr key<std::string> k_static{"t.static"};
inline constexpr key<std::string> k_owned{"t.owned"};
inline constexpr key<std::string> k_moved{"t.moved"};
inline constexpr key<std::vector<bool>> k_bools{"t.bools"};
inline constexpr key<std::vector<std::int64_t>> k_ints{"t.ints"};
inline constexpr key<std::vector<double>> k_doubles{"t.doubles"};
inline constexpr key<std::vector<std::string>> k_strings{"t.strings"};

// Compile-time checks of the typed keys (tests/compile_fail/ has the non-compiling snippets).
template <class K, class V>
concept can_set = requires(agentrace::scoped_span& s, const K& k, V&& v) {
  s.set(k, std::forward<V>(v));
};
static_assert(can_set<key<std::int64_t>, int>);
static_assert(can_set<key<std::int64_t>, unsigned short>);
static_assert(!can_set<key<std::int64_t>, double>);
static_assert(!can_set<key<std::int64_t>, bool>);
static_assert(!can_set<key<std::int64_t>, const char (&)[3]>);
static_assert(can_set<key<bool>, bool>);
static_assert(!can_set<key<bool>, int>);
static_assert(can_set<key<double>, float>);
static_assert(can_set<key<double>, int>);
static_assert(!can_set<key<double>, bool>);
static_assert(can_set<key<std::string>, std::string>);
static_assert(can_set<key<std::string>, std::string_view>);
static_assert(can_set<key<std::string>, const char*>);
static_assert(!can_set<key<std::string>, int>);
// A runtime char buffer picks the consteval static_string overload, which only fails when the
// call is really compiled: compile_fail/runtime_char_buffer.cpp checks that.
static_assert(can_set<key<std::vector<std::int64_t>>, std::vector<std::int64_t>>);
static_assert(!can_set<key<std::vector<std::int64_t>>, std::vector<double>>);
static_assert(!can_set<key<std::vector<std::string>>, std::string>);
static_assert(key<double>::type == agentrace::value_type::float64);
static_assert(key<std::vector<std::string>>::type == agentrace::value_type::string_array);
static_assert(!std::is_copy_constructible_v<agentrace::scoped_span>);
static_assert(std::is_nothrow_move_constructible_v<agentrace::scoped_span>);
static_assert(!std::is_copy_constructible_v<agentrace::span_record>);

agentrace::config two_exporters(const std::shared_ptr<agentrace::memory_exporter>& mem,
                                const std::string& path) {
  agentrace::config c;
  c.exporters = {mem, agentrace::otlp_json_file(path)};
  c.read_environment = false;
  return c;
}

}  // namespace

TEST_CASE("static_string and key names are compile-time views", "[attributes]") {
  constexpr agentrace::static_string s = "literal";
  STATIC_REQUIRE(s.size() == 7);
  STATIC_REQUIRE(s.view() == "literal");
  constexpr agentrace::static_string e = "";
  STATIC_REQUIRE(e.size() == 0);
  STATIC_REQUIRE(k_int.name() == "t.int");
  constexpr key<bool> from_view{std::string_view("a.b")};
  STATIC_REQUIRE(from_view.name() == "a.b");
}

TEST_CASE("kv and to_attr_value convert and move values", "[attributes]") {
  agentrace::kv a{k_int, 7};
  CHECK(a.attr.key == "t.int");
  CHECK(std::get<std::int64_t>(a.attr.value) == 7);
  agentrace::kv d{k_double, 2};  // an integer for a double key is widened
  CHECK(std::get<double>(d.attr.value) == 2.0);
  std::string big(1000, 'x');
  const char* data = big.data();
  agentrace::kv m{k_owned, std::move(big)};
  CHECK(std::get<std::string>(m.attr.value).data() == data);  // moved, not copied
  agentrace::kv arr{k_ints, std::vector<std::int64_t>{1, 2}};
  CHECK(std::get<std::vector<std::int64_t>>(arr.attr.value) == std::vector<std::int64_t>{1, 2});
}

TEST_CASE("every value type reads back through the memory exporter and OTLP-JSON",
          "[attributes][otlp-file]") {
  auto mem = agentrace::memory();
  const std::string path = test_util::otlp_out_path("attribute_types");
  auto tracing = agentrace::start(two_exporters(mem, path));
  std::string runtime = "runtime ";
  runtime += "string";
  std::string prompt(300, 'p');
  {
    AGENTRACE_SPAN(s, "all.types");
    s.set(k_bool, true)
        .set(k_int, std::int64_t{-9'007'199'254'740'993})  // beyond double precision
        .set(k_double, 0.1)
        .set(k_static, "a literal")
        .set(k_owned, runtime)
        .set(k_moved, std::move(prompt))
        .set(k_bools, std::vector<bool>{true, false, true})
        .set(k_ints, std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), 0,
                                               std::numeric_limits<std::int64_t>::max()})
        .set(k_doubles, std::vector<double>{1.5, -2.25, 1e300})
        .set(k_strings, std::vector<std::string>{"x", "", "z"});
  }
  REQUIRE(tracing.shutdown());

  // Memory exporter.
  const auto spans = mem->spans();
  REQUIRE(spans.size() == 1);
  const auto& d = spans[0];
  REQUIRE(d.attributes.size() == 10);
  CHECK(std::get<bool>(*d.attr("t.bool")) == true);
  CHECK(std::get<std::int64_t>(*d.attr("t.int")) == -9'007'199'254'740'993);
  CHECK(std::get<double>(*d.attr("t.double")) == 0.1);
  CHECK(std::get<std::string>(*d.attr("t.static")) == "a literal");
  CHECK(std::get<std::string>(*d.attr("t.owned")) == "runtime string");
  CHECK(std::get<std::string>(*d.attr("t.moved")) == std::string(300, 'p'));
  CHECK(std::get<std::vector<bool>>(*d.attr("t.bools")) == std::vector<bool>{true, false, true});
  CHECK(std::get<std::vector<std::int64_t>>(*d.attr("t.ints")) ==
        std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), 0,
                                  std::numeric_limits<std::int64_t>::max()});
  CHECK(std::get<std::vector<double>>(*d.attr("t.doubles")) ==
        std::vector<double>{1.5, -2.25, 1e300});
  CHECK(std::get<std::vector<std::string>>(*d.attr("t.strings")) ==
        std::vector<std::string>{"x", "", "z"});

  // OTLP-JSON, field by field (AnyValue encodings: intValue is a string, doubleValue a number).
  const auto req = test_util::read_json_lines(path);
  const json s = test_util::span_named(req, "all.types");
  const json& a = s.at("attributes");
  REQUIRE(a.size() == 10);
  CHECK(test_util::attr(a, "t.bool") == json{{"boolValue", true}});
  CHECK(test_util::attr(a, "t.int") == json{{"intValue", "-9007199254740993"}});
  CHECK(test_util::attr(a, "t.double").at("doubleValue").get<double>() == 0.1);
  CHECK(test_util::attr(a, "t.static") == json{{"stringValue", "a literal"}});
  CHECK(test_util::attr(a, "t.owned") == json{{"stringValue", "runtime string"}});
  CHECK(test_util::attr(a, "t.moved") == json{{"stringValue", std::string(300, 'p')}});
  CHECK(
      test_util::attr(a, "t.bools") ==
      json::parse(
          R"({"arrayValue":{"values":[{"boolValue":true},{"boolValue":false},{"boolValue":true}]}})"));
  CHECK(test_util::attr(a, "t.ints") ==
        json::parse(
            R"({"arrayValue":{"values":[{"intValue":"-9223372036854775808"},{"intValue":"0"},)"
            R"({"intValue":"9223372036854775807"}]}})"));
  const json dv = test_util::attr(a, "t.doubles").at("arrayValue").at("values");
  REQUIRE(dv.size() == 3);
  CHECK(dv[0].at("doubleValue").get<double>() == 1.5);
  CHECK(dv[1].at("doubleValue").get<double>() == -2.25);
  CHECK(dv[2].at("doubleValue").get<double>() == 1e300);
  CHECK(
      test_util::attr(a, "t.strings") ==
      json::parse(
          R"({"arrayValue":{"values":[{"stringValue":"x"},{"stringValue":""},{"stringValue":"z"}]}})"));
}

TEST_CASE("non-finite doubles use the proto3 JSON strings", "[attributes][otlp-file]") {
  auto mem = agentrace::memory();
  const std::string path = test_util::otlp_out_path("non_finite");
  auto tracing = agentrace::start(two_exporters(mem, path));
  {
    AGENTRACE_SPAN(s, "non.finite");
    s.set(k_double, std::numeric_limits<double>::quiet_NaN());
    s.set(k_doubles, std::vector<double>{std::numeric_limits<double>::infinity(),
                                         -std::numeric_limits<double>::infinity()});
  }
  REQUIRE(tracing.shutdown());
  CHECK(std::isnan(std::get<double>(*mem->find("non.finite")->attr("t.double"))));
  const json a =
      test_util::span_named(test_util::read_json_lines(path), "non.finite").at("attributes");
  CHECK(test_util::attr(a, "t.double") == json{{"doubleValue", "NaN"}});
  CHECK(
      test_util::attr(a, "t.doubles") ==
      json::parse(
          R"({"arrayValue":{"values":[{"doubleValue":"Infinity"},{"doubleValue":"-Infinity"}]}})"));
}

TEST_CASE("attributes beyond the 8 inline slots overflow and keep their order", "[attributes]") {
  auto mem = agentrace::memory();
  const std::string path = test_util::otlp_out_path("overflow");
  auto tracing = agentrace::start(two_exporters(mem, path));
  static constexpr key<std::int64_t> keys[] = {
      key<std::int64_t>{"k00"}, key<std::int64_t>{"k01"}, key<std::int64_t>{"k02"},
      key<std::int64_t>{"k03"}, key<std::int64_t>{"k04"}, key<std::int64_t>{"k05"},
      key<std::int64_t>{"k06"}, key<std::int64_t>{"k07"}, key<std::int64_t>{"k08"},
      key<std::int64_t>{"k09"}, key<std::int64_t>{"k10"}};
  {
    AGENTRACE_SPAN(s, "many");
    for (std::int64_t i = 0; i < 11; ++i) s.set(keys[i], i * 10);
    s.set(k_static, "static in overflow");
    s.set(k_owned, std::string("owned in overflow"));
    s.set(k_bool, false);
    s.set(k_double, 2.5);
  }
  REQUIRE(tracing.shutdown());
  const auto d = *mem->find("many");
  REQUIRE(d.attributes.size() == 15);
  for (std::size_t i = 0; i < 11; ++i) {
    CHECK(d.attributes[i].first == keys[i].name());
    CHECK(std::get<std::int64_t>(d.attributes[i].second) == static_cast<std::int64_t>(i) * 10);
  }
  CHECK(std::get<std::string>(*d.attr("t.static")) == "static in overflow");
  CHECK(std::get<std::string>(*d.attr("t.owned")) == "owned in overflow");
  CHECK(std::get<bool>(*d.attr("t.bool")) == false);
  CHECK(std::get<double>(*d.attr("t.double")) == 2.5);
  CHECK(d.dropped_attributes == 0);
  const json s = test_util::span_named(test_util::read_json_lines(path), "many");
  REQUIRE(s.at("attributes").size() == 15);
  CHECK(test_util::attr(s.at("attributes"), "k10") == json{{"intValue", "100"}});
  CHECK(test_util::attr(s.at("attributes"), "t.owned") ==
        json{{"stringValue", "owned in overflow"}});
  CHECK_FALSE(s.contains("droppedAttributesCount"));
}

TEST_CASE("a key set twice keeps the last value (inline, overflow, and across both)",
          "[attributes][otlp-file]") {
  auto mem = agentrace::memory();
  const std::string path = test_util::otlp_out_path("same_key_twice");
  auto tracing = agentrace::start(two_exporters(mem, path));
  {
    AGENTRACE_SPAN(s, "twice");
    s.set(k_int, 1).set(k_int, 2);                                  // inline, inline
    s.set(k_static, "first").set(k_static, std::string("second"));  // static then owned
    for (int i = 0; i < 6; ++i) s.set(k_double, i);                 // fills the inline slots
    s.set(k_int, 3);                                                // overflow replaces inline
    s.set(k_bool, true).set(k_bool, false);                         // overflow, overflow
  }
  REQUIRE(tracing.shutdown());
  const auto d = *mem->find("twice");
  REQUIRE(d.attributes.size() == 4);
  CHECK(std::get<std::int64_t>(*d.attr("t.int")) == 3);
  CHECK(std::get<std::string>(*d.attr("t.static")) == "second");
  CHECK(std::get<double>(*d.attr("t.double")) == 5.0);
  CHECK(std::get<bool>(*d.attr("t.bool")) == false);
  CHECK(d.dropped_attributes == 0);
  const json a = test_util::span_named(test_util::read_json_lines(path), "twice").at("attributes");
  REQUIRE(a.size() == 4);
  for (const char* k : {"t.int", "t.static", "t.double", "t.bool"})
    CHECK(test_util::count_key(a, k) == 1);
  CHECK(test_util::attr(a, "t.int") == json{{"intValue", "3"}});
  CHECK(test_util::attr(a, "t.static") == json{{"stringValue", "second"}});
  CHECK(test_util::attr(a, "t.bool") == json{{"boolValue", false}});
}

TEST_CASE("a key set again past the count limit still replaces its value", "[attributes]") {
  auto mem = agentrace::memory();
  agentrace::config c;
  c.exporters = {mem};
  c.read_environment = false;
  c.limits = agentrace::span_limits{.attribute_count = 10};
  auto tracing = agentrace::start(c);
  static constexpr key<std::int64_t> keys[] = {key<std::int64_t>{"a0"}, key<std::int64_t>{"a1"},
                                               key<std::int64_t>{"a2"}, key<std::int64_t>{"a3"},
                                               key<std::int64_t>{"a4"}, key<std::int64_t>{"a5"},
                                               key<std::int64_t>{"a6"}, key<std::int64_t>{"a7"},
                                               key<std::int64_t>{"a8"}, key<std::int64_t>{"a9"}};
  {
    AGENTRACE_SPAN(s, "at.limit");
    for (std::int64_t i = 0; i < 10; ++i) s.set(keys[i], i);     // exactly at the limit
    for (std::int64_t v = 100; v < 110; ++v) s.set(keys[9], v);  // replacements, not additions
    s.set(k_int, 1);                                             // an 11th key: dropped
  }
  REQUIRE(tracing.shutdown());
  const auto d = *mem->find("at.limit");
  REQUIRE(d.attributes.size() == 10);
  CHECK(std::get<std::int64_t>(*d.attr("a9")) == 109);
  CHECK(d.attr("t.int") == nullptr);
  CHECK(d.dropped_attributes == 1);
}
