// SPDX-License-Identifier: MIT
// span.hpp: ids and parents across nesting (macro, template, explicit parent), empty and moved
// spans, end(), status, events, links, the exception path.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <set>
#include <stdexcept>
#include <thread>

#include "core_test_util.hpp"

namespace {
inline constexpr agentrace::key<std::int64_t> k_int{"test.int"};
inline constexpr agentrace::key<std::string> k_str{"test.str"};

agentrace::config mem_config(const std::shared_ptr<agentrace::memory_exporter>& mem) {
  agentrace::config c;
  c.exporters = {mem};
  c.read_environment = false;
  return c;
}

std::vector<agentrace::span_data> run_and_collect(
    agentrace::tracing& t, const std::shared_ptr<agentrace::memory_exporter>& m) {
  REQUIRE(t.force_flush());
  return m->spans();
}

const agentrace::span_data& named(const std::vector<agentrace::span_data>& v, std::string_view n) {
  for (const auto& s : v)
    if (s.name == n) return s;
  FAIL("no span named " << n);
  throw std::logic_error("unreachable");
}

std::size_t count_named(const std::vector<agentrace::span_data>& v, std::string_view n) {
  std::size_t c = 0;
  for (const auto& s : v) c += s.name == n;
  return c;
}

std::string str_attr(const agentrace::span_data& s, std::string_view key) {
  const auto* v = s.attr(key);
  REQUIRE(v != nullptr);
  REQUIRE(std::holds_alternative<std::string>(*v));
  return std::get<std::string>(*v);
}

namespace app_errors {
struct quota_exceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace app_errors

}  // namespace

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

TEST_CASE("three levels and siblings: macro and template forms mix, context is restored") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  CHECK_FALSE(agentrace::current_context().valid());
  agentrace::span_context root_ctx, a_ctx;
  {
    AGENTRACE_SPAN(root, "root");
    root_ctx = root.context();
    CHECK(agentrace::current_context() == root_ctx);
    {
      agentrace::span<"a", agentrace::span_kind::client> a;
      a_ctx = a.context();
      CHECK(agentrace::current_context() == a_ctx);
      AGENTRACE_SPAN(a1, "a.1", agentrace::span_kind::server);
      CHECK(agentrace::current_context() == a1.context());
    }
    CHECK(agentrace::current_context() == root_ctx);
    {
      AGENTRACE_SPAN(b, "b");
      agentrace::span<"b.1"> b1;
    }
    CHECK(agentrace::current_context() == root_ctx);
  }
  CHECK_FALSE(agentrace::current_context().valid());
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 5);
  const auto& root = named(v, "root");
  const auto& a = named(v, "a");
  const auto& a1 = named(v, "a.1");
  const auto& b = named(v, "b");
  const auto& b1 = named(v, "b.1");
  CHECK(root.parent_span_id == 0);
  CHECK(root.trace_id.valid());
  CHECK(root.span_id == root_ctx.span_id);
  CHECK(a.span_id == a_ctx.span_id);
  CHECK(a.parent_span_id == root.span_id);
  CHECK(a1.parent_span_id == a.span_id);
  CHECK(b.parent_span_id == root.span_id);
  CHECK(b1.parent_span_id == b.span_id);
  for (const auto* s : {&a, &a1, &b, &b1}) CHECK(s->trace_id == root.trace_id);
  std::set<std::uint64_t> ids;
  for (const auto& s : v) ids.insert(s.span_id);
  CHECK(ids.size() == 5);
  CHECK(ids.count(0) == 0);
  CHECK(a.kind == agentrace::span_kind::client);
  CHECK(a1.kind == agentrace::span_kind::server);
  CHECK(root.kind == agentrace::span_kind::internal);
  // Children end before parents: a child's interval lies inside its parent's.
  CHECK(a1.start_unix_ns >= a.start_unix_ns);
  CHECK(a1.end_unix_ns <= a.end_unix_ns);
  CHECK(a.end_unix_ns <= root.end_unix_ns);
}

TEST_CASE("the macro form records file, line and function; the template form has none") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  std::uint32_t line = 0;
  {
    line = __LINE__ + 1;
    AGENTRACE_SPAN(s, "with.site");
    agentrace::span<"no.site"> t;
  }
  const auto v = run_and_collect(tracing, mem);
  const auto& s = named(v, "with.site");
  CHECK(s.code_line == line);
  CHECK(s.code_file.find("span_test.cpp") != std::string::npos);
  CHECK_FALSE(s.code_function.empty());
  const auto& t = named(v, "no.site");
  CHECK(t.code_line == 0);
  CHECK(t.code_file.empty());
}

TEST_CASE("an explicit parent context: remote parent, invalid parent, template form") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  const agentrace::span_context remote{
      agentrace::trace_id{0x0af7651916cd43ddull, 0x8448eb211c80319cull}, 0xb7ad6b7169203331ull,
      agentrace::flag_sampled, true};
  {
    AGENTRACE_SPAN(local, "unrelated.local");  // the explicit parent wins over the current one
    AGENTRACE_SPAN_CHILD_OF(server, remote, "handle", agentrace::span_kind::server);
    AGENTRACE_SPAN(inner, "inner");
  }
  { AGENTRACE_SPAN_CHILD_OF(s, agentrace::span_context{}, "invalid.parent"); }
  { agentrace::span<"tmpl.child"> s(remote); }
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 5);
  const auto& server = named(v, "handle");
  CHECK(server.trace_id == remote.trace_id);
  CHECK(server.parent_span_id == remote.span_id);
  CHECK(server.parent_remote);
  CHECK(server.kind == agentrace::span_kind::server);
  CHECK((server.flags & agentrace::flag_sampled) != 0);
  const auto& inner = named(v, "inner");
  CHECK(inner.parent_span_id == server.span_id);
  CHECK(inner.trace_id == remote.trace_id);
  CHECK_FALSE(inner.parent_remote);
  const auto& inv = named(v, "invalid.parent");
  CHECK(inv.parent_span_id == 0);
  CHECK(inv.trace_id.valid());
  CHECK_FALSE(inv.trace_id == remote.trace_id);
  const auto& tc = named(v, "tmpl.child");
  CHECK(tc.parent_span_id == remote.span_id);
  CHECK(tc.trace_id == remote.trace_id);
}

TEST_CASE("empty spans: default-constructed, or begun while tracing is off") {
  {
    AGENTRACE_SPAN(before, "before.start");
    CHECK_FALSE(before.is_recording());
    CHECK_FALSE(before.context().valid());
    CHECK_FALSE(agentrace::current_context().valid());
    before.set(k_int, 1).set(k_str, "x").event("e").error("no");
    before.end();
  }
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  const auto ended_before = tracing.stats().spans_ended;  // stats are per process
  agentrace::scoped_span empty;
  CHECK_FALSE(empty.is_recording());
  CHECK_FALSE(empty.context().valid());
  empty.set(k_int, 3)
      .set(k_str, std::string("owned"))
      .event("ev")
      .record_exception(std::runtime_error("x"));
  empty.end();
  {
    AGENTRACE_SPAN(real, "real");
    CHECK(real.is_recording());
  }
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 1);
  CHECK(v[0].name == "real");
  CHECK(tracing.stats().spans_ended - ended_before == 1);
}

TEST_CASE("a moved span is exported once, by its new owner; move-assignment ends the target") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  agentrace::span_context ctx;
  {
    AGENTRACE_SPAN(a, "moved");
    a.set(k_int, 11);
    a.set(k_str, std::string("owned value survives the move"));
    ctx = a.context();
    agentrace::scoped_span b(std::move(a));
    CHECK_FALSE(a.is_recording());  // NOLINT(bugprone-use-after-move): moved-from is empty
    CHECK_FALSE(a.context().valid());
    CHECK(b.is_recording());
    CHECK(b.context() == ctx);
    { AGENTRACE_SPAN(child, "child.of.moved"); }  // the scope that began "moved" is still open
    a.end();                                      // closes that scope; the span itself stays with b
    CHECK_FALSE(agentrace::current_context().valid());
    CHECK(b.is_recording());
  }
  {
    AGENTRACE_SPAN(target, "assigned.to");
    AGENTRACE_SPAN(source, "assigned.from");
    const auto src_ctx = source.context();
    target = std::move(source);  // ends "assigned.to" now
    CHECK(target.context() == src_ctx);
    CHECK(agentrace::current_context() == src_ctx);
  }
  // The ended parent does not stay the current context.
  CHECK_FALSE(agentrace::current_context().valid());
  { AGENTRACE_SPAN(after, "after.assignment"); }
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 5);
  CHECK(named(v, "after.assignment").parent_span_id == 0);
  CHECK(count_named(v, "moved") == 1);
  const auto& m = named(v, "moved");
  CHECK(m.span_id == ctx.span_id);
  CHECK(std::get<std::int64_t>(*m.attr("test.int")) == 11);
  CHECK(str_attr(m, "test.str") == "owned value survives the move");
  CHECK(named(v, "child.of.moved").parent_span_id == ctx.span_id);
  const auto& to = named(v, "assigned.to");
  const auto& from = named(v, "assigned.from");
  CHECK(from.parent_span_id == to.span_id);
  CHECK(to.end_unix_ns <= from.end_unix_ns);
  CHECK(count_named(v, "assigned.to") == 1);
  CHECK(count_named(v, "assigned.from") == 1);
}

TEST_CASE("end() is idempotent and restores the parent context at once") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  const auto ended_before = tracing.stats().spans_ended;  // stats are per process
  {
    AGENTRACE_SPAN(parent, "parent");
    {
      AGENTRACE_SPAN(first, "first");
      first.end();
      CHECK_FALSE(first.is_recording());
      CHECK(agentrace::current_context() == parent.context());
      first.end();
      first.set(k_int, 99);              // ignored after end
      AGENTRACE_SPAN(second, "second");  // a sibling, not a child of `first`
    }
  }
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 3);
  CHECK(count_named(v, "first") == 1);
  CHECK(named(v, "first").attr("test.int") == nullptr);
  CHECK(named(v, "second").parent_span_id == named(v, "parent").span_id);
  CHECK(tracing.stats().spans_ended - ended_before == 3);
}

// A parent ended while its child is still alive: when the child ends, the context goes back to
// what the parent replaced (here: nothing), not to the ended parent.
TEST_CASE("ending a parent before its child does not leave it current", "[span]") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  {
    AGENTRACE_SPAN(parent, "parent");
    AGENTRACE_SPAN(child, "child");
    parent.end();
  }
  const bool leaked = agentrace::current_context().valid();
  agentrace::detail::tls.current = {};  // do not leak into other test cases of this process
  CHECK_FALSE(leaked);
}

TEST_CASE("ids are non-zero and unique; roots start new traces; threads do not share context") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  for (int i = 0; i < 2000; ++i) {
    AGENTRACE_SPAN(s, "root");
  }
  agentrace::span_context main_ctx, thread_parent;
  {
    AGENTRACE_SPAN(main_span, "main.live");
    main_ctx = main_span.context();
    std::thread([&] {
      thread_parent = agentrace::current_context();
      AGENTRACE_SPAN(t, "other.thread");
    }).join();
  }
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 2002);
  std::set<std::uint64_t> span_ids;
  std::set<std::pair<std::uint64_t, std::uint64_t>> trace_ids;
  for (const auto& s : v) {
    CHECK(s.span_id != 0);
    CHECK(s.trace_id.valid());
    span_ids.insert(s.span_id);
    trace_ids.insert({s.trace_id.hi, s.trace_id.lo});
  }
  CHECK(span_ids.size() == v.size());
  CHECK(trace_ids.size() == v.size());  // every span here is a root
  CHECK_FALSE(thread_parent.valid());
  const auto& other = named(v, "other.thread");
  CHECK(other.parent_span_id == 0);
  CHECK_FALSE(other.trace_id == main_ctx.trace_id);
  CHECK(named(v, "main.live").span_id == main_ctx.span_id);
}

TEST_CASE("status: ERROR keeps its description, OK is final, UNSET is ignored") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  {
    AGENTRACE_SPAN(e, "err");
    e.error("no data source matches");
  }
  {
    AGENTRACE_SPAN(o, "ok.final");
    o.ok();
    o.error("too late");
  }
  {
    AGENTRACE_SPAN(u, "unset.ignored");
    u.error("first");
    u.set_status(agentrace::status_code::unset);
  }
  { AGENTRACE_SPAN(n, "none"); }
  {
    AGENTRACE_SPAN(r, "error.then.ok");
    r.error("transient");
    r.ok();
  }
  const auto v = run_and_collect(tracing, mem);
  CHECK(named(v, "err").status == agentrace::status_code::error);
  CHECK(named(v, "err").status_message == "no data source matches");
  CHECK(named(v, "ok.final").status == agentrace::status_code::ok);
  CHECK(named(v, "ok.final").status_message.empty());
  CHECK(named(v, "unset.ignored").status == agentrace::status_code::error);
  CHECK(named(v, "unset.ignored").status_message == "first");
  CHECK(named(v, "none").status == agentrace::status_code::unset);
  CHECK(named(v, "error.then.ok").status == agentrace::status_code::ok);
  CHECK(named(v, "error.then.ok").status_message.empty());
}

TEST_CASE("events carry their own time and attributes; links carry a context") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  const agentrace::span_context other{agentrace::trace_id{1, 2}, 3, agentrace::flag_sampled, true};
  {
    AGENTRACE_SPAN(s, "with.events");
    s.event("cache.miss", {{k_str, "sales"}, {k_int, 5}});
    s.event("plain");
    s.link(other, {{k_int, 9}});
    s.link(agentrace::span_context{});  // invalid: ignored
    s.set_name(std::string("renamed at runtime"));
  }
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 1);
  const auto& s = v[0];
  CHECK(s.name == "renamed at runtime");
  REQUIRE(s.events.size() == 2);
  CHECK(s.events[0].name == "cache.miss");
  CHECK(s.events[0].time_unix_ns >= s.start_unix_ns);
  CHECK(s.events[0].time_unix_ns <= s.events[1].time_unix_ns);
  CHECK(s.events[1].time_unix_ns <= s.end_unix_ns);
  REQUIRE(s.events[0].attributes.size() == 2);
  CHECK(s.events[0].attributes[0].first == "test.str");
  CHECK(std::get<std::string>(s.events[0].attributes[0].second) == "sales");
  CHECK(std::get<std::int64_t>(s.events[0].attributes[1].second) == 5);
  REQUIRE(s.links.size() == 1);
  CHECK(s.links[0].context == other);
  REQUIRE(s.links[0].attributes.size() == 1);
  CHECK(std::get<std::int64_t>(s.links[0].attributes[0].second) == 9);
}

// ---- the exception path ----

TEST_CASE("an exception unwinding through a span sets ERROR and adds one exception event") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  try {
    AGENTRACE_SPAN(outer, "outer");
    AGENTRACE_SPAN(inner, "inner");
    throw std::runtime_error("boom");
  } catch (const std::exception&) {
  }
  {
    AGENTRACE_SPAN(caught, "caught.inside");
    try {
      throw std::runtime_error("handled");
    } catch (const std::exception&) {
    }
  }
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 3);
  for (const char* n : {"outer", "inner"}) {
    INFO(n);
    const auto& s = named(v, n);
    CHECK(s.status == agentrace::status_code::error);
    CHECK_FALSE(s.status_message.empty());
    REQUIRE(s.events.size() == 1);
    CHECK(s.events[0].name == "exception");
  }
  const auto& c = named(v, "caught.inside");
  CHECK(c.status == agentrace::status_code::unset);
  CHECK(c.events.empty());
}

TEST_CASE("a span begun during unwinding (in a destructor) is not marked as failed") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  struct cleanup {
    ~cleanup() { AGENTRACE_SPAN(s, "cleanup.during.unwind"); }
  };
  try {
    cleanup c;
    throw std::runtime_error("x");
  } catch (const std::exception&) {
  }
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 1);
  CHECK(v[0].status == agentrace::status_code::unset);
  CHECK(v[0].events.empty());
}

TEST_CASE("in_span records the exception's demangled type and message, then rethrows") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  CHECK_THROWS_AS(agentrace::in_span<"tool.call">(
                      [] { throw app_errors::quota_exceeded("rate limit: 20 requests/min"); }),
                  app_errors::quota_exceeded);
  const int r = agentrace::in_span<"returns.value", agentrace::span_kind::client>(
      [](agentrace::scoped_span& s) {
        s.set(k_int, 41);
        return 42;
      });
  CHECK(r == 42);
  CHECK_THROWS_AS(agentrace::in_span<"std.error">([] { (void)std::vector<int>().at(3); }),
                  std::out_of_range);
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 3);

  const auto& t = named(v, "tool.call");
  CHECK(t.status == agentrace::status_code::error);
  CHECK(t.status_message == "rate limit: 20 requests/min");
  REQUIRE(t.events.size() == 1);  // one exception event, not a second one from the unwinding
  CHECK(t.events[0].name == "exception");
  const auto find_ev = [](const agentrace::event_view& e, std::string_view k) -> std::string {
    for (const auto& [key, val] : e.attributes)
      if (key == k) return std::get<std::string>(val);
    return "<missing>";
  };
  CHECK(find_ev(t.events[0], "exception.type") ==
        "(anonymous namespace)::app_errors::quota_exceeded");
  CHECK(find_ev(t.events[0], "exception.message") == "rate limit: 20 requests/min");

  const auto& ok = named(v, "returns.value");
  CHECK(ok.status == agentrace::status_code::unset);
  CHECK(ok.kind == agentrace::span_kind::client);
  CHECK(std::get<std::int64_t>(*ok.attr("test.int")) == 41);

  const auto& se = named(v, "std.error");
  REQUIRE(se.events.size() == 1);
  CHECK(find_ev(se.events[0], "exception.type") == "std::out_of_range");
  CHECK(find_ev(se.events[0], "exception.message").find("vector") != std::string::npos);
}

TEST_CASE("record_exception in a catch block") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(mem_config(mem));
  {
    AGENTRACE_SPAN(s, "llm.call");
    try {
      throw std::invalid_argument("bad \"model\" name");
    } catch (const std::exception& e) {
      s.record_exception(e);
    }
  }
  const auto v = run_and_collect(tracing, mem);
  REQUIRE(v.size() == 1);
  const auto& s = v[0];
  CHECK(s.status == agentrace::status_code::error);
  CHECK(s.status_message == "bad \"model\" name");
  REQUIRE(s.events.size() == 1);
  const auto& e = s.events[0];
  CHECK(e.name == "exception");
  REQUIRE(e.attributes.size() == 2);
  CHECK(e.attributes[0].first == "exception.type");
  CHECK(std::get<std::string>(e.attributes[0].second) == "std::invalid_argument");
  CHECK(e.attributes[1].first == "exception.message");
  CHECK(std::get<std::string>(e.attributes[1].second) == "bad \"model\" name");
}

TEST_CASE("the exception path in OTLP-JSON: status code 2, exception event attributes",
          "[otlp-file]") {
  const std::string path = test_util::otlp_out_path("exception");
  auto tracing =
      agentrace::start({.exporters = {agentrace::otlp_json_file(path)}, .read_environment = false});
  try {
    agentrace::in_span<"fails">([] { throw std::logic_error("nope"); });
  } catch (const std::logic_error&) {
  }
  REQUIRE(tracing.shutdown());
  const auto req = test_util::read_json_lines(path);
  const auto s = test_util::span_named(req, "fails");
  CHECK(s.at("status").at("code") == 2);
  CHECK(s.at("status").at("message") == "nope");
  REQUIRE(s.at("events").size() == 1);
  const auto& ev = s.at("events")[0];
  CHECK(ev.at("name") == "exception");
  CHECK(test_util::attr(ev.at("attributes"), "exception.type") ==
        test_util::json{{"stringValue", "std::logic_error"}});
  CHECK(test_util::attr(ev.at("attributes"), "exception.message") ==
        test_util::json{{"stringValue", "nope"}});
}
