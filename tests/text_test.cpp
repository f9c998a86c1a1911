// SPDX-License-Identifier: MIT
// The text helpers every part uses: detail/ascii.hpp (case, trimming, hex) and detail/text.hpp
// (durations, values for display, cutting at a UTF-8 boundary).
#include <agentrace/detail/ascii.hpp>
#include <agentrace/detail/text.hpp>
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace d = agentrace::detail;

TEST_CASE("ascii: case-insensitive compare and prefix, lower and upper case") {
  CHECK(d::iequals("Content-Type", "content-type"));
  CHECK_FALSE(d::iequals("Content-Type", "content-typ"));
  CHECK_FALSE(d::iequals("a", "b"));
  CHECK(d::iequals("", ""));
  CHECK(d::istarts_with("HTTPS://host", "https://"));
  CHECK_FALSE(d::istarts_with("http", "https://"));
  CHECK(d::to_lower("MiXeD 123 \xC3\x89") == "mixed 123 \xC3\x89");  // bytes >= 0x80 unchanged
  CHECK(d::to_upper("select x") == "SELECT X");
  static_assert(d::to_lower('Q') == 'q' && d::to_upper('q') == 'Q' && d::to_lower('[') == '[');
}

TEST_CASE("ascii: trim removes spaces and tabs only") {
  CHECK(d::trim(" \t value \t") == "value");
  CHECK(d::trim_view("\tx y ") == "x y");
  CHECK(d::trim("\nx\n") == "\nx\n");
  CHECK(d::trim("   ").empty());
}

TEST_CASE("ascii: hex out and in") {
  std::string s;
  d::append_hex(s, 0x0123456789abcdefULL);
  CHECK(s == "0123456789abcdef");
  s.clear();
  d::append_hex_byte(s, 0x0F);
  d::append_hex_byte(s, 0xA0);
  CHECK(s == "0fa0");

  std::uint64_t v = 7;
  CHECK(d::parse_hex("00fF", v));
  CHECK(v == 0xFF);
  CHECK(d::parse_hex("", v));
  CHECK(v == 0);
  v = 7;
  CHECK_FALSE(d::parse_hex("0g", v));
  CHECK(v == 7);                                      // untouched on failure
  CHECK_FALSE(d::parse_hex("00000000000000001", v));  // 17 digits
  CHECK_FALSE(d::parse_hex("AB", v, d::hex_case::lower_only));
  CHECK(d::parse_hex("ab", v, d::hex_case::lower_only));
  CHECK(v == 0xAB);
  CHECK(d::hex_value('F') == 15);
  CHECK(d::hex_value('F', d::hex_case::lower_only) == -1);
}

TEST_CASE("text: one precision rule for durations") {
  CHECK(d::duration_text(0) == "0.000 ms");
  CHECK(d::duration_text(999'999) == "1.000 ms");
  CHECK(d::duration_text(1'000'000) == "1.00 ms");
  CHECK(d::duration_text(2'350'000'000ULL) == "2350.00 ms");
  CHECK(d::duration_text(9'999'990'000ULL) == "9999.99 ms");
  CHECK(d::duration_text(15'000'000'000ULL) == "15.00 s");
}

TEST_CASE("text: cut at a UTF-8 boundary with an ellipsis") {
  std::string s = "abcdef";
  d::cut_utf8(s, 6);
  CHECK(s == "abcdef");  // fits: unchanged
  d::cut_utf8(s, 3);
  CHECK(s == "abc…");
  std::string e = "\xC3\xA9\xC3\xA9\xC3\xA9";  // three 2-byte code points
  d::cut_utf8(e, 3);                           // byte 3 is inside the second one
  CHECK(e == "\xC3\xA9…");
  std::string m = "0123456789";
  d::cut_utf8(m, 4, "[cut]");
  CHECK(m == "0123[cut]");
}

TEST_CASE("text: values for display, quoted or not, on one line") {
  using agentrace::attr_value;
  using q = d::quote_strings;
  CHECK(d::value_text(attr_value{std::string("a\nb")}, q::yes, 0) == "\"a b\"");
  CHECK(d::value_text(attr_value{std::string("a\tb")}, q::no, 0) == "a b");
  CHECK(d::value_text(attr_value{true}, q::yes, 0) == "true");
  CHECK(d::value_text(attr_value{std::int64_t{-3}}, q::no, 0) == "-3");
  CHECK(d::value_text(attr_value{0.5}, q::no, 0) == "0.5");
  CHECK(d::value_text(attr_value{std::vector<std::string>{"x", "y"}}, q::yes, 0) ==
        "[\"x\", \"y\"]");
  CHECK(d::value_text(attr_value{std::vector<std::string>{"x", "y"}}, q::no, 0) == "[x, y]");
  CHECK(d::value_text(attr_value{std::vector<std::int64_t>{1, 2}}, q::no, 0) == "[1, 2]");
  CHECK(d::value_text(attr_value{std::string(100, 'z')}, q::no, 80) == std::string(80, 'z') + "…");
  CHECK(d::value_text(attr_value{}, q::yes, 0).empty());
}

TEST_CASE("text: truncate_code_points counts code points, never splits one") {
  std::string s =
      "a\xC3\xA9\xE2\x82\xAC"
      "b";  // a é € b
  d::truncate_code_points(s, 3);
  CHECK(s == "a\xC3\xA9\xE2\x82\xAC");
  std::string t = "abc";
  d::truncate_code_points(t, 0);  // 0: no limit
  CHECK(t == "abc");
}
