// SPDX-License-Identifier: MIT
// config.hpp (+ the env parts of collector.hpp): OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// the unknown_service fallback, OTEL_BSP_*, span limits, OTEL_TRACES_EXPORTER,
// AGENTRACE_OTLP_FILE and OTEL_SDK_DISABLED. Variables are set inside the test process and
// restored afterwards.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>

#include "core_test_util.hpp"

namespace {
using namespace std::chrono_literals;
using test_util::json;

/// Sets (or unsets, with nullopt) an environment variable for the scope, then restores it.
class env_var {
 public:
  env_var(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~env_var() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  env_var(const env_var&) = delete;
  env_var& operator=(const env_var&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::vector<std::string> names(const std::vector<agentrace::exporter_ptr>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.emplace_back(e->name());
  return out;
}

agentrace::resource resource_from_env() { return agentrace::make_resource(agentrace::config{}); }

}  // namespace

TEST_CASE("OTEL_SERVICE_NAME, and the code's service_name wins over it", "[config]") {
  env_var a("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes");
  env_var b("OTEL_SERVICE_NAME", "from-env");
  CHECK(resource_from_env().get("service.name") == "from-env");
  agentrace::config c;
  c.service_name = "from-code";
  CHECK(agentrace::make_resource(c).get("service.name") == "from-code");
  c.service_name.clear();
  c.resource_attributes = {{"service.name", "from-code-attributes"}};
  CHECK(agentrace::make_resource(c).get("service.name") == "from-code-attributes");
  c.resource_attributes.clear();
  c.read_environment = false;
  CHECK(agentrace::make_resource(c).get("service.name") == "unknown_service:config_test");
}

TEST_CASE("OTEL_RESOURCE_ATTRIBUTES: percent-decoding, trimming, service.name", "[config]") {
  env_var n("OTEL_SERVICE_NAME", std::nullopt);
  env_var a("OTEL_RESOURCE_ATTRIBUTES",
            "service.name=svc%20one, team=search%2Cranking ,note=a%3Db%25c,,utf8=%C3%A9t%C3%A9");
  const auto r = resource_from_env();
  CHECK(r.get("service.name") == "svc one");
  CHECK(r.get("team") == "search,ranking");
  CHECK(r.get("note") == "a=b%c");
  CHECK(r.get("utf8") == "\xC3\xA9t\xC3\xA9");
  CHECK(r.get("telemetry.sdk.name") == "agentrace");
  CHECK(r.get("telemetry.sdk.language") == "cpp");
  CHECK(r.get("telemetry.sdk.version") == AGENTRACE_VERSION_STRING);
}

TEST_CASE("a malformed OTEL_RESOURCE_ATTRIBUTES is ignored as a whole", "[config]") {
  env_var n("OTEL_SERVICE_NAME", std::nullopt);
  for (const char* bad : {"a=1,broken,b=2", "a=1,k=%zz", "a=1,k=%4", "a=1,=v", "a=1,k=%G0"}) {
    INFO(bad);
    env_var a("OTEL_RESOURCE_ATTRIBUTES", bad);
    const auto r = resource_from_env();
    CHECK(r.get("a").empty());
    CHECK(r.get("b").empty());
    CHECK(r.get("service.name") == "unknown_service:config_test");
  }
  CHECK_FALSE(agentrace::detail::parse_key_value_list("x=%").has_value());
  CHECK(agentrace::detail::percent_decode("%41%62c").value() == "Abc");
  CHECK(agentrace::detail::percent_decode("100%").has_value() == false);
}

TEST_CASE("service.name falls back to unknown_service:<executable>", "[config]") {
  env_var n("OTEL_SERVICE_NAME", std::nullopt);
  env_var a("OTEL_RESOURCE_ATTRIBUTES", "team=x");
  const auto r = resource_from_env();
  CHECK(r.get("service.name") == "unknown_service:config_test");
  CHECK(r.get("team") == "x");
  env_var e("OTEL_SERVICE_NAME", "");  // empty counts as unset
  CHECK(resource_from_env().get("service.name") == "unknown_service:config_test");
}

TEST_CASE("OTEL_BSP_* configure the collector; code values win", "[config]") {
  env_var q("OTEL_BSP_MAX_QUEUE_SIZE", "4096");
  env_var b("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "5");
  env_var d("OTEL_BSP_SCHEDULE_DELAY", "3600000");
  env_var t("OTEL_BSP_EXPORT_TIMEOUT", "1234");
  auto rec = std::make_shared<test_util::recording_exporter>();
  {
    agentrace::config c;
    c.exporters = {rec};
    c.drain_interval = std::chrono::hours(1);
    auto tracing = agentrace::start(c);
    auto* col = tracing.get();
    REQUIRE(col);
    CHECK(col->max_queue_size() == 4096);
    CHECK(col->max_export_batch_size() == 5);
    CHECK(col->schedule_delay() == 3600000ms);
    if (tracing.stats().spans_ended == 0)  // first start() of this process: it made the queue
      CHECK(agentrace::detail::globals().queue_capacity.load() == 4096);
    for (int i = 0; i < 23; ++i) {
      AGENTRACE_SPAN(s, "s");
    }
    CHECK(rec->count() == 0);  // the schedule delay is an hour: nothing until the flush
    REQUIRE(tracing.force_flush());
    CHECK(rec->batch_sizes() == std::vector<std::size_t>{5, 5, 5, 5, 3});
  }
  agentrace::config c;
  c.max_queue_size = 2048;
  c.max_export_batch_size = 64;
  c.schedule_delay = 10ms;
  auto tracing = agentrace::start(c);
  CHECK(tracing.get()->max_queue_size() == 2048);
  CHECK(tracing.get()->max_export_batch_size() == 64);
  CHECK(tracing.get()->schedule_delay() == 10ms);
}

TEST_CASE("invalid OTEL_BSP_* values fall back to the defaults; batch <= queue", "[config]") {
  env_var q("OTEL_BSP_MAX_QUEUE_SIZE", "-5");
  env_var b("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "lots");
  env_var d("OTEL_BSP_SCHEDULE_DELAY", "1.5");
  {
    auto tracing = agentrace::start({});
    CHECK(tracing.get()->max_queue_size() == agentrace::defaults::max_queue_size);
    CHECK(tracing.get()->max_export_batch_size() == agentrace::defaults::max_export_batch_size);
    CHECK(tracing.get()->schedule_delay() == agentrace::defaults::schedule_delay);
  }
  env_var q2("OTEL_BSP_MAX_QUEUE_SIZE", "100");
  env_var b2("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "1000");
  auto tracing = agentrace::start({});
  CHECK(tracing.get()->max_export_batch_size() == 100);
}

TEST_CASE("span limits from the environment; the span-specific variables win", "[config]") {
  env_var a("OTEL_ATTRIBUTE_COUNT_LIMIT", "10");
  env_var l("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "7");
  env_var sa("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2");
  env_var ev("OTEL_SPAN_EVENT_COUNT_LIMIT", "3");
  env_var lk("OTEL_SPAN_LINK_COUNT_LIMIT", "4");
  env_var ea("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "5");
  const auto lim = agentrace::limits_from_env(true);
  CHECK(lim.attribute_count == 2);
  CHECK(lim.attribute_value_length == 7);
  CHECK(lim.event_count == 3);
  CHECK(lim.link_count == 4);
  CHECK(lim.event_attribute_count == 5);
  CHECK(lim.link_attribute_count == 10);  // the general limit
  {
    env_var sl("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3");
    CHECK(agentrace::limits_from_env(true).attribute_value_length == 3);
  }
  const auto off = agentrace::limits_from_env(false);
  CHECK(off.attribute_count == 128);
  CHECK(off.attribute_value_length == 0);

  // And they act on exported spans.
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}});
  CHECK(tracing.get()->limits().attribute_count == 2);
  {
    static constexpr agentrace::key<std::int64_t> k1{"k1"}, k2{"k2"}, k3{"k3"};
    static constexpr agentrace::key<std::string> ks{"ks"};
    AGENTRACE_SPAN(s, "limited.by.env");
    s.set(k1, 1).set(k2, 2).set(k3, 3).set(ks, "longer than seven");
    for (int i = 0; i < 5; ++i) s.event("e");
  }
  REQUIRE(tracing.force_flush());
  const auto d = *mem->find("limited.by.env");
  CHECK(d.attributes.size() == 2);
  CHECK(d.dropped_attributes == 2);
  CHECK(d.events.size() == 3);
  CHECK(d.dropped_events == 2);
}

TEST_CASE("OTEL_TRACES_EXPORTER: console, none, otlp/stdout, lists, unknown names", "[config]") {
  env_var f("AGENTRACE_OTLP_FILE", std::nullopt);
  {
    env_var e("OTEL_TRACES_EXPORTER", std::nullopt);
    CHECK(agentrace::exporters_from_env().empty());
    auto d = agentrace::exporters_from_env_or({agentrace::memory()});
    CHECK(names(d) == std::vector<std::string>{"memory"});
  }
  {
    env_var e("OTEL_TRACES_EXPORTER", "console");
    CHECK(names(agentrace::exporters_from_env()) == std::vector<std::string>{"console"});
    CHECK(names(agentrace::exporters_from_env_or({agentrace::memory()})) ==
          std::vector<std::string>{"console"});
  }
  {
    env_var e("OTEL_TRACES_EXPORTER", "none");
    CHECK(agentrace::exporters_from_env().empty());
    // "none" is a choice: the defaults are not used either.
    CHECK(agentrace::exporters_from_env_or({agentrace::memory()}).empty());
  }
  {
    env_var e("OTEL_TRACES_EXPORTER", "otlp/stdout");
    CHECK(names(agentrace::exporters_from_env()) == std::vector<std::string>{"otlp/stdout"});
  }
  {
    env_var e("OTEL_TRACES_EXPORTER", " console , otlp/stdout,,none");
    CHECK(names(agentrace::exporters_from_env()) ==
          std::vector<std::string>{"console", "otlp/stdout"});
  }
  {
    env_var e("OTEL_TRACES_EXPORTER", "zipkin,console");
    CHECK(names(agentrace::exporters_from_env()) == std::vector<std::string>{"console"});
  }
}

TEST_CASE("AGENTRACE_OTLP_FILE writes OTLP-JSON lines when the code names no exporter",
          "[config][otlp-file]") {
  const std::string path = test_util::otlp_out_path("env_file");
  env_var e("OTEL_TRACES_EXPORTER", "none");
  env_var f("AGENTRACE_OTLP_FILE", path);
  env_var n("OTEL_SERVICE_NAME", "env-file-service");
  CHECK(names(agentrace::exporters_from_env()) == std::vector<std::string>{"otlp/file"});
  {
    auto tracing = agentrace::start({});
    AGENTRACE_SPAN(s, "to.file");
    s.end();
  }
  const auto req = test_util::read_json_lines(path);
  REQUIRE(req.size() == 1);
  CHECK(test_util::span_named(req, "to.file").at("kind") == 1);
  CHECK(test_util::attr(req[0]["resourceSpans"][0]["resource"]["attributes"], "service.name") ==
        json{{"stringValue", "env-file-service"}});
}

TEST_CASE("an unusable AGENTRACE_OTLP_FILE is reported, not thrown", "[config]") {
  env_var e("OTEL_TRACES_EXPORTER", "console");
  env_var f("AGENTRACE_OTLP_FILE", "/nonexistent-dir/traces.jsonl");
  std::vector<agentrace::exporter_ptr> v;
  CHECK_NOTHROW(v = agentrace::exporters_from_env());
  CHECK(names(v) == std::vector<std::string>{"console"});
  CHECK_NOTHROW(agentrace::start({}));
}

TEST_CASE("OTEL_TRACES_EXPORTER=otlp/stdout prints OTLP-JSON lines on stdout", "[config]") {
  env_var e("OTEL_TRACES_EXPORTER", "otlp/stdout");
  env_var f("AGENTRACE_OTLP_FILE", std::nullopt);
  test_util::capture_fd cap(stdout, test_util::otlp_out_path("stdout_capture"));
  {
    auto tracing = agentrace::start({.service_name = "stdout-svc"});
    AGENTRACE_SPAN(s, "on.stdout");
    s.end();
  }
  const std::string out = cap.text();
  const auto j = json::parse(out.substr(0, out.find('\n')));
  CHECK(test_util::span_named({j}, "on.stdout").at("kind") == 1);
}

TEST_CASE("OTEL_TRACES_EXPORTER=console prints a tree on stdout", "[config]") {
  env_var e("OTEL_TRACES_EXPORTER", "console");
  env_var f("AGENTRACE_OTLP_FILE", std::nullopt);
  test_util::capture_fd cap(stdout, test_util::otlp_out_path("console_capture"));
  {
    auto tracing = agentrace::start({.service_name = "console-svc"});
    AGENTRACE_SPAN(s, "printed.root");
    AGENTRACE_SPAN(c, "printed.child");
  }
  const std::string out = cap.text();
  CHECK(out.find("(console-svc, 2 spans") != std::string::npos);
  CHECK(out.find("\xE2\x94\x94\xE2\x94\x80 printed.root") != std::string::npos);
  CHECK(out.find("   \xE2\x94\x94\xE2\x94\x80 printed.child") != std::string::npos);
}

TEST_CASE("read_environment=false ignores every variable", "[config]") {
  env_var e("OTEL_TRACES_EXPORTER", "console");
  env_var q("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "3");
  env_var s("OTEL_SDK_DISABLED", "true");
  env_var l("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "1");
  auto tracing = agentrace::start({.read_environment = false});
  REQUIRE(tracing);
  CHECK(tracing.get()->max_export_batch_size() == agentrace::defaults::max_export_batch_size);
  CHECK(tracing.get()->limits().attribute_count == 128);
}

TEST_CASE("OTEL_SDK_DISABLED=true turns tracing into a no-op", "[config]") {
  auto mem = agentrace::memory();
  for (const char* v : {"true", "TRUE", " True "}) {
    INFO(v);
    env_var d("OTEL_SDK_DISABLED", v);
    auto tracing = agentrace::start({.exporters = {mem}});
    CHECK_FALSE(tracing);
    AGENTRACE_SPAN(s, "not.recorded");
    CHECK_FALSE(s.is_recording());
    s.end();
    CHECK_FALSE(tracing.force_flush());
    CHECK(tracing.stats().spans_ended == 0);
  }
  CHECK(mem->size() == 0);
  for (const char* v : {"false", "1", "yes", ""}) {
    INFO(v);
    env_var d("OTEL_SDK_DISABLED", v);
    auto tracing = agentrace::start({.exporters = {mem}});
    CHECK(tracing);
  }
}
