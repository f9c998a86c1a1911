// SPDX-License-Identifier: MIT
// W3C Trace Context: traceparent / tracestate parsing, formatting, carriers, the W3C test suite's
// cases replayed in process, malformed input and a fuzz loop that must never crash.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <unordered_map>

namespace {

using headers = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view tp_id = "12345678901234567890123456789012";
const std::string tp_valid = "00-12345678901234567890123456789012-1234567890123456-01";

agentrace::tracing start_memory(const std::shared_ptr<agentrace::memory_exporter>& mem) {
  return agentrace::start({.exporters = {mem}, .read_environment = false});
}

std::string hex(const agentrace::trace_id& t) { return agentrace::to_hex(t); }

// The W3C test harness's "service": receives headers, continues the trace in a server span,
// calls the next hop with injected headers. Returns (outgoing traceparent, outgoing tracestate).
struct hop_result {
  agentrace::span_context parent;  // parsed from the outgoing traceparent
  std::string tracestate;
  std::size_t traceparent_headers = 0;
};
hop_result service(const headers& in) {
  const auto incoming = agentrace::extract(in);
  AGENTRACE_SPAN_CHILD_OF(server, incoming.context, "server", agentrace::span_kind::server);
  server.set_trace_state(incoming.trace_state);
  headers out{{"content-type", "application/json"}};
  agentrace::inject(out, agentrace::current_context(), incoming.trace_state);
  hop_result r;
  for (const auto& [k, v] : out) {
    if (k == "traceparent") {
      ++r.traceparent_headers;
      if (auto p = agentrace::parse_traceparent(v)) r.parent = *p;
    }
    if (k == "tracestate") r.tracestate = v;
  }
  return r;
}

}  // namespace

TEST_CASE("traceparent: the specification's examples") {
  auto sampled =
      agentrace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(sampled);
  CHECK(hex(sampled->trace_id) == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(agentrace::to_hex(sampled->span_id) == "00f067aa0ba902b7");
  CHECK(sampled->sampled());
  CHECK(sampled->remote);
  auto not_sampled =
      agentrace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  REQUIRE(not_sampled);
  CHECK_FALSE(not_sampled->sampled());
  CHECK(agentrace::format_traceparent(*sampled) ==
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  CHECK(agentrace::format_traceparent(*not_sampled) ==
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  // Flags are a bit field: 09 is sampled (with a reserved bit we must not send on).
  auto nine =
      agentrace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  REQUIRE(nine);
  CHECK(nine->sampled());
  CHECK(agentrace::format_traceparent(*nine).substr(53) == "01");
  // Level 2 random flag is kept.
  auto random =
      agentrace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  REQUIRE(random);
  CHECK(random->flags == (agentrace::flag_sampled | agentrace::flag_random));
}

TEST_CASE("traceparent: malformed headers are invalid") {
  const std::string id32(tp_id);
  const char* const bad[] = {
      "",
      "00",
      "00-",
      // version
      "ff-12345678901234567890123456789012-1234567890123456-01",  // forbidden version
      ".0-12345678901234567890123456789012-1234567890123456-01",
      "0.-12345678901234567890123456789012-1234567890123456-01",
      "000-12345678901234567890123456789012-1234567890123456-01",
      "0000-12345678901234567890123456789012-1234567890123456-01",
      "0-12345678901234567890123456789012-1234567890123456-01",
      "0A-12345678901234567890123456789012-1234567890123456-01",  // uppercase
      // version 00 is exactly 55 characters
      "00-12345678901234567890123456789012-1234567890123456-01.",
      "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
      "00-12345678901234567890123456789012-1234567890123456-01-",
      // trace id
      "00-00000000000000000000000000000000-1234567890123456-01",  // all zero
      "00-.2345678901234567890123456789012-1234567890123456-01",
      "00-1234567890123456789012345678901.-1234567890123456-01",
      "00-123456789012345678901234567890123-1234567890123456-01",  // too long
      "00-1234567890123456789012345678901-1234567890123456-01",    // too short
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase
      "00-4bf92f3577b34da6a3ce929d0e0e473G-00f067aa0ba902b7-01",
      // parent id
      "00-12345678901234567890123456789012-0000000000000000-01",  // all zero
      "00-12345678901234567890123456789012-.234567890123456-01",
      "00-12345678901234567890123456789012-123456789012345.-01",
      "00-12345678901234567890123456789012-12345678901234567-01",
      "00-12345678901234567890123456789012-123456789012345-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",  // uppercase
      // flags
      "00-12345678901234567890123456789012-1234567890123456-.0",
      "00-12345678901234567890123456789012-1234567890123456-0.",
      "00-12345678901234567890123456789012-1234567890123456-001",
      "00-12345678901234567890123456789012-1234567890123456-1",
      "00-12345678901234567890123456789012-1234567890123456-0F",
      // delimiters
      "00_12345678901234567890123456789012-1234567890123456-01",
      "00-12345678901234567890123456789012_1234567890123456-01",
      "00-12345678901234567890123456789012-1234567890123456_01",
      "00--2345678901234567890123456789012-1234567890123456-01",
      // future version: prefix must be followed by '-' or end
      "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
      "cc-12345678901234567890123456789012-1234567890123456",
      // whitespace inside, other junk
      "00 -12345678901234567890123456789012-1234567890123456-01",
      "00-12345678901234567890123456789012 -1234567890123456-01",
      "\n00-12345678901234567890123456789012-1234567890123456-01",
  };
  for (const char* h : bad) {
    INFO("traceparent: '" << h << "'");
    CHECK_FALSE(agentrace::parse_traceparent(h));
  }
  // With an embedded NUL.
  std::string nul = tp_valid;
  nul[20] = '\0';
  CHECK_FALSE(agentrace::parse_traceparent(nul));
}

TEST_CASE("traceparent: future versions and optional whitespace") {
  for (const std::string& h :
       {std::string("cc-12345678901234567890123456789012-1234567890123456-01"),
        std::string(
            "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like"),
        std::string("01-12345678901234567890123456789012-1234567890123456-01-"),
        std::string(" ") + tp_valid, std::string("\t") + tp_valid, tp_valid + " ", tp_valid + "\t",
        std::string("\t ") + tp_valid + " \t"}) {
    INFO("traceparent: '" << h << "'");
    auto p = agentrace::parse_traceparent(h);
    REQUIRE(p);
    CHECK(hex(p->trace_id) == tp_id);
    CHECK(agentrace::to_hex(p->span_id) == "1234567890123456");
    // Sent on downgraded to version 00.
    CHECK(agentrace::format_traceparent(*p) == tp_valid);
  }
}

TEST_CASE("tracestate: grammar, limits, duplicates, whitespace") {
  using agentrace::parse_tracestate;
  CHECK(parse_tracestate("rojo=00f067aa0ba902b7") == "rojo=00f067aa0ba902b7");
  CHECK(parse_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE") ==
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  CHECK(parse_tracestate("") == "");
  CHECK(parse_tracestate(" , \t,") == "");
  CHECK(parse_tracestate("foo=1 \t , \t bar=2, \t baz=3") == "foo=1,bar=2,baz=3");
  CHECK(parse_tracestate("foo=1\t \t,\t \tbar=2,\t \tbaz=3") == "foo=1,bar=2,baz=3");
  CHECK(parse_tracestate("foo= 1") == "foo= 1");  // leading spaces belong to the value
  CHECK(parse_tracestate("0abc=1") == "0abc=1");  // a key may begin with a digit
  CHECK(parse_tracestate("tenant@system=1") == "tenant@system=1");

  // Every allowed character (W3C test_tracestate_all_allowed_characters).
  std::string key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
  std::string value;
  for (int c = 0x20; c <= 0x7e; ++c)
    if (c != ',' && c != '=') value.push_back(static_cast<char>(c));
  CHECK(parse_tracestate(key + "=" + value) == key + "=" + value);
  CHECK(parse_tracestate(key + "@a-z0-9_-*/=" + value) == key + "@a-z0-9_-*/=" + value);

  // 32 members fine, 33 invalid.
  std::string ts;
  for (int i = 1; i <= 32; ++i) ts += (i > 1 ? "," : "") + fmt::format("bar{:02}={:02}", i, i);
  CHECK(parse_tracestate(ts) == ts);
  CHECK_FALSE(parse_tracestate(ts + ",bar33=33"));
  CHECK(parse_tracestate(ts + ",,  ,") == ts);  // empty members do not count

  // Key length limits.
  CHECK(parse_tracestate(std::string(256, 'z') + "=1"));
  CHECK_FALSE(parse_tracestate(std::string(257, 'z') + "=1"));
  CHECK(parse_tracestate(std::string(241, 't') + "@" + std::string(14, 'v') + "=1"));
  CHECK_FALSE(parse_tracestate(std::string(242, 't') + "@v=1"));
  CHECK_FALSE(parse_tracestate("t@" + std::string(15, 'v') + "=1"));
  // Value length limits.
  CHECK(parse_tracestate("k=" + std::string(256, 'v')));
  CHECK_FALSE(parse_tracestate("k=" + std::string(257, 'v')));

  const char* const bad[] = {
      "foo=1,foo=1",
      "foo=1,foo=2",  // duplicate keys
      "foo =1",
      "FOO=1",
      "foo.bar=1",
      "=1",
      "_foo=1",
      "foo",  // keys
      "foo@=1,bar=2",
      "@foo=1,bar=2",
      "foo@@bar=1,bar=2",  // vendor format
      "foo@bar@baz=1,bar=2",
      "foo@1bar=1",  //
      "foo=bar=baz",
      "foo=,bar=3",
      "foo=a\tb",
      "foo=a\x7f",
      "foo=\x01",     // values
      "foo=1;bar=2",  // ';' is allowed in values, but then '=' is not
  };
  for (const char* b : bad) {
    INFO("tracestate: '" << b << "'");
    CHECK_FALSE(parse_tracestate(b));
  }
}

TEST_CASE("tracestate: get and put (own key moves left, 32 members kept)") {
  const std::string ts = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
  CHECK(agentrace::trace_state_get(ts, "congo") == "t61rcWkgMzE");
  CHECK_FALSE(agentrace::trace_state_get(ts, "nope"));
  CHECK(agentrace::trace_state_put(ts, "congo", "ucfJifl5GOE") ==
        "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
  CHECK(agentrace::trace_state_put("", "ot", "th:fd70a4") == "ot=th:fd70a4");
  CHECK_FALSE(agentrace::trace_state_put(ts, "Bad", "x"));
  CHECK_FALSE(agentrace::trace_state_put(ts, "ok", "a,b"));
  std::string full;
  for (int i = 1; i <= 32; ++i) full += (i > 1 ? "," : "") + fmt::format("k{}=v", i);
  auto put = agentrace::trace_state_put(full, "new", "1");
  REQUIRE(put);
  REQUIRE(agentrace::parse_tracestate(*put));
  CHECK(put->rfind("new=1,k1=v,", 0) == 0);
  CHECK_FALSE(agentrace::trace_state_get(*put, "k32"));  // the right-most one was dropped
}

TEST_CASE("the W3C test suite's cases, replayed through extract -> span -> inject") {
  auto mem = agentrace::memory();
  auto tracing = start_memory(mem);
  const std::string id(tp_id);
  auto same_trace = [&](const hop_result& r) { return hex(r.parent.trace_id) == id; };

  SECTION("both missing: a new trace") {
    auto r = service({});
    CHECK(r.traceparent_headers == 1);
    CHECK(r.parent.valid());
    CHECK(r.tracestate.empty());
  }
  SECTION("traceparent only: same trace id, new parent id") {
    auto r = service({{"traceparent", tp_valid}});
    CHECK(same_trace(r));
    CHECK(agentrace::to_hex(r.parent.span_id) != "1234567890123456");
  }
  SECTION("duplicated traceparent: a new trace") {
    auto r = service({{"traceparent", "00-12345678901234567890123456789011-1234567890123456-01"},
                      {"traceparent", tp_valid}});
    CHECK_FALSE(same_trace(r));
    CHECK(hex(r.parent.trace_id) != "12345678901234567890123456789011");
  }
  SECTION("header names: any case, but not trace-parent / trace.parent") {
    for (const char* n : {"TraceParent", "TrAcEpArEnT", "TRACEPARENT"})
      CHECK(same_trace(service({{n, tp_valid}})));
    for (const char* n : {"trace-parent", "trace.parent"})
      CHECK_FALSE(same_trace(service({{n, tp_valid}})));
  }
  SECTION("tracestate without traceparent is discarded") {
    auto r1 = service({{"tracestate", "foo=1"}});
    auto r2 = service({{"tracestate", "foo=1,bar=2"}});
    CHECK(r1.tracestate.empty());
    CHECK(r2.tracestate.empty());
  }
  SECTION("tracestate with an invalid traceparent is not parsed") {
    auto r = service({{"traceparent", "00-00000000000000000000000000000000-1234567890123456-01"},
                      {"tracestate", "foo=1"}});
    CHECK_FALSE(same_trace(r));
    CHECK(r.tracestate.empty());
  }
  SECTION("tracestate is inherited, several fields combined in order") {
    auto r = service({{"traceparent", "00-12345678901234567890123456789012-1234567890123456-00"},
                      {"tracestate", "foo=1,bar=2"},
                      {"TraceState", "rojo=1,congo=2"},
                      {"tracestate", ""},
                      {"TRACESTATE", "baz=3"}});
    CHECK(same_trace(r));
    CHECK(r.tracestate == "foo=1,bar=2,rojo=1,congo=2,baz=3");
  }
  SECTION("tracestate header name must be exact (any case)") {
    auto r = service({{"traceparent", tp_valid}, {"trace-state", "foo=1"}});
    CHECK(r.tracestate.empty());
  }
  SECTION("invalid tracestate is discarded, traceparent kept") {
    for (const char* ts : {"foo=1,foo=1", "foo=bar=baz", "foo@=1,bar=2", "FOO=1"}) {
      auto r = service({{"traceparent", tp_valid}, {"tracestate", ts}});
      CHECK(same_trace(r));
      CHECK(r.tracestate.empty());
    }
    auto dup =
        service({{"traceparent", tp_valid}, {"tracestate", "foo=1"}, {"tracestate", "foo=1"}});
    CHECK(dup.tracestate.empty());
  }
  SECTION("the sampled flag is honoured (parent-based default sampler)") {
    auto r = service({{"traceparent", "00-12345678901234567890123456789012-1234567890123456-00"}});
    CHECK(same_trace(r));
    CHECK_FALSE(r.parent.sampled());  // unsampled, yet the context went on
    auto s = service({{"traceparent", tp_valid}});
    CHECK(s.parent.sampled());
  }
}

TEST_CASE("carriers: maps, lists, getter or setter, inject replaces, names in any case") {
  const agentrace::span_context ctx = *agentrace::parse_traceparent(tp_valid);
  SECTION("std::map") {
    std::map<std::string, std::string> m{{"TraceParent", "garbage"}, {"Host", "x"}};
    agentrace::inject(m, ctx, "k=v");
    CHECK(m.size() == 3);
    CHECK(m.at("traceparent") == tp_valid);
    CHECK(m.at("tracestate") == "k=v");
    auto in = agentrace::extract(m);
    REQUIRE(in);
    CHECK(in.context == ctx);
    CHECK(in.trace_state == "k=v");
  }
  SECTION("std::unordered_map and std::multimap") {
    std::unordered_map<std::string, std::string> u;
    agentrace::inject(u, ctx);
    CHECK(agentrace::extract(u).context == ctx);
    CHECK(u.count("tracestate") == 0);
    std::multimap<std::string, std::string> mm{{"tracestate", "a=1"}, {"tracestate", "b=2"}};
    mm.emplace("Traceparent", tp_valid);
    auto in = agentrace::extract(mm);
    CHECK(in.context == ctx);
    CHECK(in.trace_state == "a=1,b=2");
  }
  SECTION("getter and setter") {
    std::map<std::string, std::string> store;
    agentrace::inject([&](std::string_view k, std::string_view v) { store[std::string(k)] = v; },
                      ctx, "k=v");
    auto in = agentrace::extract([&](std::string_view k) -> std::optional<std::string> {
      auto it = store.find(std::string(k));
      if (it == store.end()) return std::nullopt;
      return it->second;
    });
    CHECK(in.context == ctx);
    CHECK(in.trace_state == "k=v");
    // A getter returning const char* (nullptr: absent) and one returning string_view.
    auto cstr = agentrace::extract([](std::string_view k) -> const char* {
      return k == "traceparent" ? "00-12345678901234567890123456789012-1234567890123456-01"
                                : nullptr;
    });
    CHECK(cstr.context == ctx);
    auto sv = agentrace::extract([](std::string_view) { return std::string_view{}; });
    CHECK_FALSE(sv);
    // A getter that throws: a new trace, no exception.
    auto thrower = agentrace::extract(
        [](std::string_view) -> std::string { throw std::runtime_error("boom"); });
    CHECK_FALSE(thrower);
  }
  SECTION("nothing is injected for an invalid context") {
    headers h;
    agentrace::inject(h, agentrace::span_context{});
    CHECK(h.empty());
    agentrace::inject(h);  // no current context here
    CHECK(h.empty());
  }
}

TEST_CASE("an extracted parent is remote: IS_REMOTE flags in OTLP, valid OTLP-JSON") {
  const std::string path = std::string(AGENTRACE_BINARY_DIR) + "/propagation_remote.jsonl";
  std::remove(path.c_str());
  auto mem = agentrace::memory();
  {
    auto tracing = agentrace::start(
        {.exporters = {mem, agentrace::otlp_json_file(path)}, .read_environment = false});
    const headers in{{"traceparent", tp_valid}, {"tracestate", "congo=t61rcWkgMzE"}};
    const auto incoming = agentrace::extract(in);
    REQUIRE(incoming.context.remote);
    AGENTRACE_SPAN_CHILD_OF(server, incoming.context, "server", agentrace::span_kind::server);
    server.set_trace_state(incoming.trace_state);
    { AGENTRACE_SPAN(local_child, "local_child"); }
    // Installed on a thread with context_scope: spans under it are remote children too.
    {
      agentrace::context_scope scope(incoming.context);
      AGENTRACE_SPAN(via_scope, "via_scope");
    }
  }
  const auto server = *mem->find("server");
  const auto child = *mem->find("local_child");
  const auto via_scope = *mem->find("via_scope");
  CHECK(server.parent_remote);
  CHECK(hex(server.trace_id) == tp_id);
  CHECK(agentrace::to_hex(server.parent_span_id) == "1234567890123456");
  CHECK(server.trace_state == "congo=t61rcWkgMzE");
  CHECK_FALSE(child.parent_remote);
  CHECK(child.parent_span_id == server.span_id);
  CHECK(via_scope.parent_remote);

  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string json = ss.str();
  // sampled (0x01) | HAS_IS_REMOTE (0x100) | IS_REMOTE (0x200) for the remote children,
  // sampled | HAS_IS_REMOTE for the local child (the remote trace did not set the random flag).
  CHECK(json.find("\"flags\":769") != std::string::npos);
  CHECK(json.find("\"flags\":257") != std::string::npos);
  CHECK(json.find("\"traceState\":\"congo=t61rcWkgMzE\"") != std::string::npos);
  const std::string cmd = std::string(AGENTRACE_OTLP_CHECK) + " validate -q " + path;
  CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("fuzz: random and mutated headers never crash and what parses round-trips") {
  std::mt19937_64 rng(0xa9e47ace);
  const std::string alphabet = "0123456789abcdefABCDEF-_ \t=,@*/.xyz\x01\x7f";
  const std::vector<std::string> seeds = {
      tp_valid, "cc-12345678901234567890123456789012-1234567890123456-01-x",
      "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", "a@b=c, d=e ,,f=g h"};
  std::size_t parsed_tp = 0, parsed_ts = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    if (i % 2 == 0) {
      s = seeds[rng() % seeds.size()];
      const int mutations = 1 + static_cast<int>(rng() % 4);
      for (int m = 0; m < mutations && !s.empty(); ++m) {
        const std::size_t pos = rng() % s.size();
        switch (rng() % 4) {
          case 0: s[pos] = alphabet[rng() % alphabet.size()]; break;
          case 1: s.erase(pos, 1 + rng() % 3); break;
          case 2: s.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
          default: s[pos] = static_cast<char>(rng() & 0xff); break;
        }
      }
    } else {
      s.resize(rng() % 80);
      for (char& c : s)
        c = (rng() % 4) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() & 0xff);
    }
    if (auto p = agentrace::parse_traceparent(s)) {
      ++parsed_tp;
      REQUIRE(p->valid());
      const auto again = agentrace::parse_traceparent(agentrace::format_traceparent(*p));
      REQUIRE(again);
      REQUIRE(*again == *p);
    }
    if (auto t = agentrace::parse_tracestate(s)) {
      ++parsed_ts;
      REQUIRE(agentrace::parse_tracestate(*t) == *t);  // normalised form is a fixed point
    }
    const headers h{{"traceparent", s}, {"tracestate", s}};
    (void)agentrace::extract(h);
  }
  // The mutations keep some inputs valid: both parsers were exercised on the accepting path.
  CHECK(parsed_tp > 100);
  CHECK(parsed_ts > 100);
}
