// SPDX-License-Identifier: MIT
// exporters/otlp_json.hpp (+ detail/json_write.hpp): OTLP-JSON read back with nlohmann_json field
// by field; hostile strings; limits and their dropped counts; one request per batch. The files
// the [otlp-file] cases write are also validated by otlp-check (see tests/cmake/core.cmake).
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <regex>

#include "core_test_util.hpp"

namespace {
using namespace std::chrono_literals;
using agentrace::key;
using test_util::json;

inline constexpr key<std::string> k_str{"t.str"};
inline constexpr key<std::int64_t> k_int{"t.int"};
inline constexpr key<std::vector<std::string>> k_strs{"t.strs"};
inline constexpr key<std::string> k_weird{"we\"ird\\key\n\x01"};

bool is_lower_hex(const std::string& s, std::size_t len) {
  return s.size() == len && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::uint64_t ns_string(const json& v) {
  REQUIRE(v.is_string());  // fixed64 travels as a decimal string
  const std::string s = v.get<std::string>();
  REQUIRE(std::regex_match(s, std::regex("[1-9][0-9]*")));
  return std::stoull(s);
}

const agentrace::span_data& by_name(const std::vector<agentrace::span_data>& v,
                                    std::string_view n) {
  for (const auto& s : v)
    if (s.name == n) return s;
  throw std::runtime_error("no span " + std::string(n));
}

constexpr const char* fffd = "\xEF\xBF\xBD";

/// {"arrayValue":{"values":[{"stringValue":...},...]}}
json string_array(const std::vector<std::string>& v) {
  json values = json::array();
  for (const auto& s : v) values.push_back(json{{"stringValue", s}});
  json arr = json::object();
  arr["values"] = values;
  json out = json::object();
  out["arrayValue"] = arr;
  return out;
}

}  // namespace

TEST_CASE("OTLP-JSON field by field: resource, scope, ids, times, kinds, status, events, links",
          "[otlp][otlp-file]") {
  auto mem = agentrace::memory();
  const std::string path = test_util::otlp_out_path("fields");
  agentrace::config c;
  c.service_name = "otlp-field-test";
  c.resource_attributes = {{"deployment.environment", "test"}};
  c.exporters = {mem, agentrace::otlp_json_file(path)};
  c.read_environment = false;
  c.scope_name = "agentrace.tests";
  c.scope_version = "9.9.9";
  auto tracing = agentrace::start(c);
  // The scope attribute is the process's drop count: what earlier tests dropped, none of ours.
  const auto dropped_before = tracing.stats().dropped_queue_full;
  const auto wall_before = std::chrono::system_clock::now();
  const agentrace::span_context remote{
      agentrace::trace_id{0x4bf92f3577b34da6ull, 0xa3ce929d0e0e4736ull}, 0x00f067aa0ba902b7ull,
      agentrace::flag_sampled, true};
  {
    agentrace::span<"root", agentrace::span_kind::server> root;
    root.set(k_int, 1);
    {
      AGENTRACE_SPAN(client, "client", agentrace::span_kind::client);
      client.error("upstream timed out");
      client.event("retry", {{k_int, 2}, {k_str, "backoff"}});
      client.link(remote, {{k_str, "caused by"}});
    }
    {
      agentrace::span<"producer", agentrace::span_kind::producer> p;
      p.ok();
    }
    { agentrace::span<"consumer", agentrace::span_kind::consumer> q; }
  }
  { AGENTRACE_SPAN_CHILD_OF(s, remote, "remote.child"); }
  REQUIRE(tracing.shutdown());
  const auto wall_after = std::chrono::system_clock::now();
  CHECK(tracing.stats().dropped_queue_full == dropped_before);

  const auto req = test_util::read_json_lines(path);
  REQUIRE(req.size() == 1);  // one batch: one ExportTraceServiceRequest, one line
  const json& r = req[0];
  REQUIRE(r.size() == 1);
  REQUIRE(r.at("resourceSpans").size() == 1);
  const json& rs = r["resourceSpans"][0];
  const json& ra = rs.at("resource").at("attributes");
  CHECK(test_util::attr(ra, "service.name") == json{{"stringValue", "otlp-field-test"}});
  CHECK(test_util::attr(ra, "telemetry.sdk.name") == json{{"stringValue", "agentrace"}});
  CHECK(test_util::attr(ra, "telemetry.sdk.language") == json{{"stringValue", "cpp"}});
  CHECK(test_util::attr(ra, "telemetry.sdk.version") ==
        json{{"stringValue", AGENTRACE_VERSION_STRING}});
  CHECK(test_util::attr(ra, "deployment.environment") == json{{"stringValue", "test"}});
  REQUIRE(rs.at("scopeSpans").size() == 1);
  const json& ss = rs["scopeSpans"][0];
  CHECK(ss.at("scope").at("name") == "agentrace.tests");
  CHECK(ss.at("scope").at("version") == "9.9.9");
  CHECK(test_util::attr(ss.at("scope").at("attributes"), "agentrace.spans.dropped") ==
        json{{"intValue", std::to_string(dropped_before)}});
  const json& spans = ss.at("spans");
  REQUIRE(spans.size() == 5);

  const auto mspans = mem->spans();
  REQUIRE(mspans.size() == 5);
  const auto wall_ns = [](auto tp) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count());
  };
  for (const json& s : spans) {
    const std::string name = s.at("name").get<std::string>();
    INFO("span " << name);
    const auto& m = by_name(mspans, name);
    const std::string tid = s.at("traceId").get<std::string>();
    const std::string sid = s.at("spanId").get<std::string>();
    CHECK(is_lower_hex(tid, 32));
    CHECK(is_lower_hex(sid, 16));
    CHECK(tid == test_util::hex(m.trace_id));
    CHECK(sid == test_util::hex(m.span_id));
    const std::uint64_t start = ns_string(s.at("startTimeUnixNano"));
    const std::uint64_t end = ns_string(s.at("endTimeUnixNano"));
    CHECK(start == m.start_unix_ns);
    CHECK(end == m.end_unix_ns);
    CHECK(start <= end);
    // Converted clocks land in wall-clock time (generous margin for clock calibration).
    CHECK(start + 50'000'000 >= wall_ns(wall_before));
    CHECK(end <= wall_ns(wall_after) + 50'000'000);
    CHECK(s.at("kind").is_number_integer());
    CHECK(s.at("kind").get<int>() == static_cast<int>(m.kind));
    CHECK(s.at("flags").is_number_integer());
    CHECK(s.at("status").is_object());
    CHECK(s.at("attributes").is_array());
  }

  const json root = test_util::span_named(req, "root");
  const json client = test_util::span_named(req, "client");
  const json producer = test_util::span_named(req, "producer");
  const json consumer = test_util::span_named(req, "consumer");
  const json rchild = test_util::span_named(req, "remote.child");
  CHECK((!root.contains("parentSpanId") || root["parentSpanId"] == ""));
  CHECK(client.at("parentSpanId") == root.at("spanId"));
  CHECK(client.at("traceId") == root.at("traceId"));
  CHECK(producer.at("parentSpanId") == root.at("spanId"));
  CHECK(root.at("kind") == 2);
  CHECK(client.at("kind") == 3);
  CHECK(producer.at("kind") == 4);
  CHECK(consumer.at("kind") == 5);
  CHECK(rchild.at("kind") == 1);
  // flags: W3C flags (sampled | random) + HAS_IS_REMOTE, + IS_REMOTE for a remote parent.
  CHECK(root.at("flags") == (0x100 | 0x01 | 0x02));
  CHECK(rchild.at("flags") == (0x100 | 0x200 | 0x01));
  CHECK(rchild.at("traceId") == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(rchild.at("parentSpanId") == "00f067aa0ba902b7");
  // status
  CHECK(root.at("status") == json::object());
  CHECK(client.at("status") == json{{"code", 2}, {"message", "upstream timed out"}});
  CHECK(producer.at("status") == json{{"code", 1}});
  // attributes
  CHECK(root.at("attributes") == json::parse(R"([{"key":"t.int","value":{"intValue":"1"}}])"));
  // events
  REQUIRE(client.at("events").size() == 1);
  const json& ev = client["events"][0];
  CHECK(ev.at("name") == "retry");
  const std::uint64_t ev_t = ns_string(ev.at("timeUnixNano"));
  CHECK(ev_t >= ns_string(client.at("startTimeUnixNano")));
  CHECK(ev_t <= ns_string(client.at("endTimeUnixNano")));
  CHECK(
      ev.at("attributes") ==
      json::parse(
          R"([{"key":"t.int","value":{"intValue":"2"}},{"key":"t.str","value":{"stringValue":"backoff"}}])"));
  CHECK_FALSE(ev.contains("droppedAttributesCount"));
  // links
  REQUIRE(client.at("links").size() == 1);
  const json& ln = client["links"][0];
  CHECK(ln.at("traceId") == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(ln.at("spanId") == "00f067aa0ba902b7");
  CHECK(ln.at("flags") == (0x100 | 0x200 | 0x01));
  CHECK(ln.at("attributes") ==
        json::parse(R"([{"key":"t.str","value":{"stringValue":"caused by"}}])"));
  for (const json* s : {&root, &producer, &consumer, &rchild}) {
    CHECK_FALSE(s->contains("events"));
    CHECK_FALSE(s->contains("links"));
    CHECK_FALSE(s->contains("droppedAttributesCount"));
  }
}

TEST_CASE("invalid UTF-8, control characters and quotes still give valid JSON",
          "[otlp][otlp-file]") {
  auto mem = agentrace::memory();
  const std::string path = test_util::otlp_out_path("hostile_strings");
  auto tracing = agentrace::start(
      {.exporters = {mem, agentrace::otlp_json_file(path)}, .read_environment = false});
  std::string raw = "quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul";
  raw.push_back('\0');
  raw += " bell\x07 esc\x1b del\x7f \xC3\xA9 \xF0\x9F\x98\x80 bad\xFF";
  raw += " cont\x80";
  raw += " overlong\xC0\xAF";
  raw += " surrogate\xED\xA0\x80";
  raw += " big\xF4\x90\x80\x80";  // U+110000: beyond Unicode
  raw += " cut\xE2\x82";
  std::string expected = "quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul";
  expected.push_back('\0');
  expected += " bell\x07 esc\x1b del\x7f \xC3\xA9 \xF0\x9F\x98\x80 bad";
  expected += std::string(fffd) + " cont" + fffd + " overlong" + fffd + fffd + " surrogate" + fffd +
              fffd + fffd + " big" + fffd + fffd + fffd + fffd + " cut" + fffd + fffd;
  const std::string bad_name = std::string("name \"with\" \xFF bytes\n");
  {
    AGENTRACE_SPAN(s, "hostile");
    s.set(k_str, raw);
    s.set(k_strs, std::vector<std::string>{raw, "\xC3", "ok"});
    s.set(k_weird, "value of a weird key");
    s.error(raw);
    s.event("evt", {{k_str, raw}});
    s.set_name(bad_name);
  }
  REQUIRE(tracing.shutdown());
  const std::string text = test_util::read_file(path);
  CHECK(text.find('\0') == std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);  // raw newlines never leak into a line
  const auto req = test_util::read_json_lines(path);       // throws on invalid JSON / UTF-8
  const json s = test_util::span_named(req, std::string("name \"with\" ") + fffd + " bytes\n");
  CHECK(test_util::attr(s.at("attributes"), "t.str") == json{{"stringValue", expected}});
  CHECK(test_util::attr(s.at("attributes"), "t.strs") == string_array({expected, fffd, "ok"}));
  CHECK(test_util::attr(s.at("attributes"), "we\"ird\\key\n\x01") ==
        json{{"stringValue", "value of a weird key"}});
  CHECK(s.at("status").at("message") == expected);
  CHECK(test_util::attr(s.at("events")[0].at("attributes"), "t.str") ==
        json{{"stringValue", expected}});
  // The memory exporter keeps the bytes as they were given.
  const auto m = mem->spans();
  REQUIRE(m.size() == 1);
  CHECK(std::get<std::string>(*m[0].attr("t.str")) == raw);
}

TEST_CASE("write_json_string escapes and truncates by code points", "[otlp]") {
  auto w = [](std::string_view s, std::size_t max = 0) {
    fmt::memory_buffer b;
    agentrace::detail::write_json_string(b, s, max);
    return std::string(b.data(), b.size());
  };
  CHECK(w("") == "\"\"");
  CHECK(w("a\"b\\c") == R"("a\"b\\c")");
  CHECK(w(std::string_view("\x01\x1f\n", 3)) == R"("\u0001\u001f\n")");
  CHECK(w("h\xC3\xA9llo w\xC3\xB6rld", 4) == "\"h\xC3\xA9ll\"");
  CHECK(w("\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 2) ==
        "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"");
  CHECK(w("ab\xFF"
          "cd",
          4) == std::string("\"ab") + fffd + "c\"");
  CHECK(w("abc", 3) == "\"abc\"");
  CHECK(w("abc", 10) == "\"abc\"");
  CHECK(w("a\"\"b", 2) == R"("a\"")");
}

TEST_CASE("span limits: counts and value length, with dropped counts in OTLP-JSON",
          "[otlp][limits][otlp-file]") {
  auto mem = agentrace::memory();
  const std::string path = test_util::otlp_out_path("limits");
  agentrace::config c;
  c.service_name = "a service name longer than the value length limit";
  c.exporters = {mem, agentrace::otlp_json_file(path)};
  c.read_environment = false;
  c.limits = agentrace::span_limits{.attribute_count = 3,
                                    .attribute_value_length = 4,
                                    .event_count = 2,
                                    .link_count = 1,
                                    .event_attribute_count = 1,
                                    .link_attribute_count = 1};
  auto tracing = agentrace::start(c);
  static constexpr key<std::int64_t> ks[] = {key<std::int64_t>{"n0"}, key<std::int64_t>{"n1"},
                                             key<std::int64_t>{"n2"}, key<std::int64_t>{"n3"},
                                             key<std::int64_t>{"n4"}};
  const agentrace::span_context other{agentrace::trace_id{7, 7}, 7, agentrace::flag_sampled, false};
  {
    AGENTRACE_SPAN(s, "limited");
    for (std::int64_t i = 0; i < 5; ++i) s.set(ks[i], i);
    s.event("e0", {{k_int, 1}, {k_str, "x"}, {k_str, "y"}});
    s.event("e1");
    s.event("e2");
    s.event("e3");
    s.link(other, {{k_int, 1}, {k_str, "dropped"}});
    s.link(other);
    s.link(other);
  }
  {
    AGENTRACE_SPAN(s, "truncated");
    s.set(k_str, std::string("h\xC3\xA9llo w\xC3\xB6rld"));
    s.set(k_strs,
          std::vector<std::string>{
              "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
              "ab",
              "ab\xFF"
              "cdef"});
  }
  REQUIRE(tracing.shutdown());
  const auto req = test_util::read_json_lines(path);
  // Resource attributes are exempt from the limits.
  CHECK(test_util::attr(req[0]["resourceSpans"][0]["resource"]["attributes"], "service.name") ==
        json{{"stringValue", c.service_name}});

  const json s = test_util::span_named(req, "limited");
  CHECK(s.at("attributes").size() == 3);
  CHECK(s.at("droppedAttributesCount") == 2);
  REQUIRE(s.at("events").size() == 2);
  CHECK(s.at("droppedEventsCount") == 2);
  CHECK(s["events"][0].at("attributes").size() == 1);
  CHECK(s["events"][0].at("droppedAttributesCount") == 2);
  REQUIRE(s.at("links").size() == 1);
  CHECK(s.at("droppedLinksCount") == 2);
  CHECK(s["links"][0].at("attributes").size() == 1);
  CHECK(s["links"][0].at("droppedAttributesCount") == 1);

  const json t = test_util::span_named(req, "truncated");
  CHECK(test_util::attr(t.at("attributes"), "t.str") == json{{"stringValue", "h\xC3\xA9ll"}});
  CHECK(test_util::attr(t.at("attributes"), "t.strs") ==
        string_array({"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80", "ab",
                      std::string("ab") + fffd + "c"}));

  // The memory exporter applies the same limits.
  const auto ms = mem->spans();
  const auto& ml = by_name(ms, "limited");
  CHECK(ml.attributes.size() == 3);
  CHECK(ml.dropped_attributes == 2);
  CHECK(ml.events.size() == 2);
  CHECK(ml.dropped_events == 2);
  CHECK(ml.events[0].attributes.size() == 1);
  CHECK(ml.events[0].dropped_attributes == 2);
  CHECK(ml.links.size() == 1);
  CHECK(ml.dropped_links == 2);
  CHECK(ml.links[0].attributes.size() == 1);
  CHECK(ml.links[0].dropped_attributes == 1);
  const auto& mt = by_name(ms, "truncated");
  CHECK(std::get<std::string>(*mt.attr("t.str")) == "h\xC3\xA9ll");
  CHECK(std::get<std::vector<std::string>>(*mt.attr("t.strs"))[0] ==
        "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80");
}

TEST_CASE("a count limit of 0 keeps no attributes and counts them all", "[otlp][limits]") {
  auto mem = agentrace::memory();
  const std::string path = test_util::otlp_out_path("limit_zero");
  agentrace::config c;
  c.exporters = {mem, agentrace::otlp_json_file(path)};
  c.read_environment = false;
  c.limits = agentrace::span_limits{.attribute_count = 0, .event_count = 0, .link_count = 0};
  auto tracing = agentrace::start(c);
  {
    AGENTRACE_SPAN(s, "zero");
    s.set(k_int, 1).set(k_str, "x").set(k_strs, std::vector<std::string>{"a"});
    s.event("e");
    s.link({agentrace::trace_id{1, 1}, 1, 1, false});
  }
  REQUIRE(tracing.shutdown());
  const json s = test_util::span_named(test_util::read_json_lines(path), "zero");
  CHECK(s.at("attributes").empty());
  CHECK(s.at("droppedAttributesCount") == 3);
  CHECK_FALSE(s.contains("events"));
  CHECK(s.at("droppedEventsCount") == 1);
  CHECK(s.at("droppedLinksCount") == 1);
  const auto m = *mem->find("zero");
  CHECK(m.attributes.empty());
  CHECK(m.dropped_attributes == 3);
}

TEST_CASE("one ExportTraceServiceRequest per batch, one per line", "[otlp][otlp-file]") {
  const std::string path = test_util::otlp_out_path("batches");
  agentrace::config c;
  c.exporters = {agentrace::otlp_json_file(path)};
  c.read_environment = false;
  c.max_export_batch_size = 3;
  c.schedule_delay = std::chrono::hours(1);
  c.drain_interval = std::chrono::hours(1);
  auto tracing = agentrace::start(c);
  for (int i = 0; i < 7; ++i) {
    AGENTRACE_SPAN(s, "batched");
  }
  REQUIRE(tracing.force_flush());
  const auto req = test_util::read_json_lines(path);
  REQUIRE(req.size() == 3);
  std::vector<std::size_t> sizes;
  for (const auto& r : req) {
    CHECK(test_util::attr(r["resourceSpans"][0]["resource"]["attributes"], "telemetry.sdk.name") ==
          json{{"stringValue", "agentrace"}});
    sizes.push_back(r["resourceSpans"][0]["scopeSpans"][0]["spans"].size());
  }
  CHECK(sizes == std::vector<std::size_t>{3, 3, 1});
  CHECK(test_util::all_spans(req).size() == 7);
}

TEST_CASE("an existing file is truncated, or appended to on request", "[otlp]") {
  const std::string path = test_util::otlp_out_path("append");
  for (int run = 0; run < 2; ++run) {
    auto tracing = agentrace::start(
        {.exporters = {agentrace::otlp_json_file(path, run == 1)}, .read_environment = false});
    AGENTRACE_SPAN(s, "line");
    s.end();
    REQUIRE(tracing.shutdown());
  }
  CHECK(test_util::read_json_lines(path).size() == 2);
  {
    auto tracing = agentrace::start(
        {.exporters = {agentrace::otlp_json_file(path)}, .read_environment = false});
    AGENTRACE_SPAN(s, "line");
    s.end();
    REQUIRE(tracing.shutdown());
  }
  CHECK(test_util::read_json_lines(path).size() == 1);
  CHECK_THROWS_WITH(agentrace::otlp_json_file("/nonexistent-dir/x.jsonl"),
                    Catch::Contains("/nonexistent-dir/x.jsonl"));
}

TEST_CASE("dropped spans are reported in the scope attributes", "[otlp]") {
  const std::string path = test_util::otlp_out_path("dropped_report");
  agentrace::config c;
  c.exporters = {agentrace::otlp_json_file(path)};
  c.read_environment = false;
  c.max_queue_size = 64;
  c.max_export_batch_size = 64;
  c.schedule_delay = std::chrono::hours(1);
  c.drain_interval = std::chrono::hours(1);
  c.drain_on_demand = false;  // nor when the queue is half full
  auto tracing = agentrace::start(c);
  std::thread([] {
    for (int i = 0; i < 200'000; ++i) {
      AGENTRACE_SPAN(s, "flood");
    }
  }).join();
  REQUIRE(tracing.force_flush());
  const auto st = tracing.stats();
  REQUIRE(st.dropped_queue_full > 0);
  const auto req = test_util::read_json_lines(path);
  REQUIRE_FALSE(req.empty());
  const json v =
      test_util::attr(req.back()["resourceSpans"][0]["scopeSpans"][0]["scope"]["attributes"],
                      "agentrace.spans.dropped");
  CHECK(v == json{{"intValue", std::to_string(st.dropped_queue_full)}});
}
