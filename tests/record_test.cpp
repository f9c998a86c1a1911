// SPDX-License-Identifier: MIT
// record.hpp on its own: the packed attribute slot (key address, length and type in one word;
// static strings in another), and span_record's header word, slots, extension and moves.
#include <agentrace/record.hpp>
#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

using agentrace::span_record;
using agentrace::detail::attr_slot;
using agentrace::detail::slot_type;

namespace {
constexpr agentrace::span_site test_site{"record.site", agentrace::span_kind::client, "", 0, ""};
}

TEST_CASE("attr_slot: a key and a static string pack into one word each and read back") {
  static constexpr std::string_view key = "db.system.name";
  static constexpr std::string_view val = "sqlite";
  attr_slot s{attr_slot::pack_key(key, slot_type::static_str),
              attr_slot::pack_static(val.data(), val.size())};
  REQUIRE(s.key != 0);
  CHECK(s.type() == slot_type::static_str);
  CHECK(s.key_name() == key);
  CHECK(s.key_name().data() == key.data());  // the key is referred to, not copied
  CHECK(s.as_string() == val);

  const attr_slot i{attr_slot::pack_key(key, slot_type::int64),
                    static_cast<std::uint64_t>(std::int64_t{-42})};
  CHECK(i.type() == slot_type::int64);
  CHECK(i.as_int() == -42);
  const attr_slot d{attr_slot::pack_key(key, slot_type::float64),
                    std::bit_cast<std::uint64_t>(2.5)};
  CHECK(d.as_double() == 2.5);
  const attr_slot b{attr_slot::pack_key(key, slot_type::boolean), 1};
  CHECK(b.as_bool());
}

TEST_CASE("attr_slot: what does not fit is refused with 0") {
  const std::string long_key(attr_slot::max_key_len + 1, 'k');
  CHECK(attr_slot::pack_key(long_key, slot_type::int64) == 0);
  const std::string ok_key(attr_slot::max_key_len, 'k');
  CHECK(attr_slot::pack_key(ok_key, slot_type::int64) != 0);
  const std::string long_value(attr_slot::max_static_len + 1, 'v');
  CHECK(attr_slot::pack_static(long_value.data(), long_value.size()) == 0);
}

TEST_CASE("span_record: the header constructor sets ids, flags, remote parent and thread") {
  const agentrace::trace_id tid{0x1111, 0x2222};
  span_record r(&test_site, tid, 7, 3, agentrace::detail::pack_flags_remote(1, true), 513);
  CHECK(r.site == &test_site);
  CHECK(r.trace_id == tid);
  CHECK(r.span_id == 7);
  CHECK(r.parent_span_id == 3);
  CHECK(r.flags == 1);
  CHECK(r.parent_remote);
  CHECK(r.thread_index == 513);
  CHECK(r.n_attrs == 0);
  CHECK_FALSE(r.has_ext);
  CHECK(r.status == agentrace::status_code::unset);
  r.set_status(agentrace::status_code::error);
  CHECK(r.status == agentrace::status_code::error);
  CHECK(r.thread_index == 513);  // the status byte is written alone
  CHECK(r.name() == "record.site");
  CHECK(r.kind() == agentrace::span_kind::client);
}

TEST_CASE("span_record: seven inline slots, then push_slot refuses") {
  span_record r(&test_site, {1, 2}, 1, 0, 0, 0);
  static constexpr std::string_view key = "n";
  for (std::uint64_t i = 0; i < agentrace::detail::inline_attrs; ++i)
    REQUIRE(r.push_slot(key, slot_type::int64, i));
  CHECK(r.n_attrs == agentrace::detail::inline_attrs);
  CHECK_FALSE(r.push_slot(key, slot_type::int64, 99));
  CHECK(r.n_attrs == agentrace::detail::inline_attrs);
  CHECK(r.attrs[6].as_int() == 6);
}

TEST_CASE("span_record: the extension is created on first use; its name replaces the site's") {
  span_record r(&test_site, {1, 2}, 1, 0, 0, 0);
  CHECK(r.ext() == nullptr);
  r.extension().name = "runtime name";
  REQUIRE(r.ext() != nullptr);
  CHECK(r.has_ext);
  CHECK(r.name() == "runtime name");
  auto* first = &r.extension();
  CHECK(&r.extension() == first);  // not created twice
}

TEST_CASE("span_record: a move takes the slots, owned strings and extension; the source is empty") {
  span_record a(&test_site, {1, 2}, 9, 4, agentrace::detail::pack_flags_remote(1, false), 2);
  static constexpr std::string_view key = "k";
  REQUIRE(a.push_static_string(key, "static"));
  REQUIRE(a.push_slot(key, slot_type::owned_str,
                      reinterpret_cast<std::uintptr_t>(new std::string("owned"))));
  a.extension().status_message = "boom";

  span_record b(std::move(a));
  CHECK(b.span_id == 9);
  CHECK(b.parent_span_id == 4);
  CHECK(b.thread_index == 2);
  REQUIRE(b.n_attrs == 2);
  CHECK(b.attrs[0].as_string() == "static");
  CHECK(b.attrs[1].as_string() == "owned");
  REQUIRE(b.ext() != nullptr);
  CHECK(b.ext()->status_message == "boom");
  CHECK(a.n_attrs == 0);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  CHECK_FALSE(a.has_ext);

  span_record c;
  c = std::move(b);
  CHECK(c.span_id == 9);
  REQUIRE(c.n_attrs == 2);
  CHECK(c.attrs[1].as_string() == "owned");
  CHECK(c.ext()->status_message == "boom");
  CHECK(b.n_attrs == 0);  // NOLINT(bugprone-use-after-move)
  CHECK_FALSE(b.has_ext);

  c.reset();  // frees the owned string and the extension (ASan reports a leak otherwise)
  CHECK(c.n_attrs == 0);
  CHECK(c.ext() == nullptr);
}
