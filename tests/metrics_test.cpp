// SPDX-License-Identifier: MIT
// Span-derived metrics: RED per span name / kind / status, GenAI duration and token usage,
// exemplars, the cardinality limit, temporality, and their OTLP encodings (checked by
// otlp-check, JSON and protobuf).
#include <agentrace/agentrace.hpp>
#include <agentrace/genai/spans.hpp>
#include <agentrace/otlp/metrics.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <thread>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core_test_util.hpp"
#include "support/http_server.hpp"

namespace {

using test_util::json;

/// Keeps a copy of every metrics export.
class metrics_capture final : public agentrace::exporter {
 public:
  std::string_view name() const noexcept override { return "metrics-capture"; }
  agentrace::export_result export_spans(const agentrace::export_batch&) override {
    return agentrace::export_result::success;
  }
  agentrace::export_result export_metrics(const agentrace::metrics_batch& b) override {
    std::lock_guard<std::mutex> lock(mu_);
    exports_.emplace_back(b.metrics.begin(), b.metrics.end());
    fmt::memory_buffer json_body, proto_body;
    agentrace::serialize_otlp_json(b, json_body);
    agentrace::serialize_otlp_protobuf(b, proto_body);
    json_.emplace_back(json_body.data(), json_body.size());
    proto_.emplace_back(proto_body.data(), proto_body.size());
    return agentrace::export_result::success;
  }
  std::vector<std::vector<agentrace::metric_data>> exports() const {
    std::lock_guard<std::mutex> lock(mu_);
    return exports_;
  }
  std::vector<std::string> json_bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return json_;
  }
  std::vector<std::string> proto_bodies() const {
    std::lock_guard<std::mutex> lock(mu_);
    return proto_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::vector<agentrace::metric_data>> exports_;
  std::vector<std::string> json_, proto_;
};

const agentrace::metric_data* find_metric(const std::vector<agentrace::metric_data>& ms,
                                          std::string_view name) {
  for (const auto& m : ms)
    if (m.name == name) return &m;
  return nullptr;
}

std::string str_attr(const agentrace::metric_point& p, std::string_view key) {
  for (const auto& [k, v] : p.attributes)
    if (k == key) {
      if (const auto* s = std::get_if<std::string>(&v)) return *s;
      if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    }
  return {};
}

// Runs otlp-check on `body` (a file); exit code and output.
std::pair<int, std::string> otlp_check(const std::string& args, const std::string& body,
                                       const std::string& name) {
  const std::string f = test_util::otlp_out_path(name);
  std::ofstream(f, std::ios::binary) << body;
  const std::string out = f + ".out";
  const int rc = std::system((std::string(AGENTRACE_OTLP_CHECK) + " validate --strict " + args +
                              " " + f + " > " + out + " 2>&1")
                                 .c_str());
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, test_util::read_file(out)};
}

agentrace::config metrics_config(std::vector<agentrace::exporter_ptr> exporters) {
  agentrace::config cfg;
  cfg.service_name = "metrics-test";
  cfg.read_environment = false;
  cfg.exporters = std::move(exporters);
  cfg.metrics.enabled = true;
  cfg.metrics.export_interval = std::chrono::hours(1);  // exported at flush and shutdown only
  return cfg;
}

void chat(std::string_view model, std::int64_t in, std::int64_t out, bool fail, bool stream) {
  agentrace::genai::inference_span s({.provider = "openai",
                                      .model = model,
                                      .server_address = "127.0.0.1",
                                      .server_port = 8080,
                                      .stream = stream});
  if (stream) s.chunk();
  s.response("id-1", std::string(model) + "-2025");
  s.usage({.input_tokens = in, .output_tokens = out});
  if (fail) s.fail("429", "rate limited");
}

}  // namespace

TEST_CASE(
    "span metrics: calls and durations per span name, kind and status; exemplars name "
    "exported spans") {
  auto capture = std::make_shared<metrics_capture>();
  const std::string traces = test_util::otlp_out_path("metrics_red");
  {
    auto t = agentrace::start(metrics_config({capture, agentrace::otlp_json_file(traces)}));
    for (int i = 0; i < 7; ++i) {
      AGENTRACE_SPAN(s, "tool.sql");
      if (i % 3 == 0) s.error("bad query");
    }
    for (int i = 0; i < 4; ++i) {
      AGENTRACE_SPAN(s, "agent.route", agentrace::span_kind::server);
    }
    REQUIRE(t.force_flush());
    const agentrace::stats st = t.stats();
    CHECK(st.metric_spans_observed == 11);
    CHECK(st.metric_points_overflowed == 0);
    CHECK(st.metric_exports >= 1);
  }
  const auto exports = capture->exports();
  REQUIRE(exports.size() >= 2);  // the flush and the final export at shutdown
  const auto& last = exports.back();
  const auto* calls = find_metric(last, agentrace::metric_names::span_calls);
  const auto* dur = find_metric(last, agentrace::metric_names::span_duration);
  REQUIRE(calls);
  REQUIRE(dur);
  CHECK(calls->type == agentrace::metric_type::sum);
  CHECK(calls->monotonic);
  CHECK(calls->temporality == agentrace::aggregation_temporality::cumulative);
  CHECK(dur->unit == "s");
  std::map<std::string, std::int64_t> by_key;
  for (const auto& p : calls->points) {
    CHECK(str_attr(p, "service.name") == "metrics-test");
    by_key[str_attr(p, "span.name") + "|" + str_attr(p, "span.kind") + "|" +
           str_attr(p, "status.code")] += p.int_value;
  }
  CHECK(by_key["tool.sql|SPAN_KIND_INTERNAL|STATUS_CODE_ERROR"] == 3);
  CHECK(by_key["tool.sql|SPAN_KIND_INTERNAL|STATUS_CODE_UNSET"] == 4);
  CHECK(by_key["agent.route|SPAN_KIND_SERVER|STATUS_CODE_UNSET"] == 4);
  CHECK(by_key.size() == 3);

  // Histograms: complete buckets, counts consistent with the calls, exemplars of real spans.
  std::set<std::string> exported_spans;
  for (const json& req : test_util::read_json_lines(traces))
    if (req.contains("resourceSpans"))
      for (const json& s : test_util::all_spans({req}))
        exported_spans.insert(s["traceId"].get<std::string>() + s["spanId"].get<std::string>());
  REQUIRE(exported_spans.size() == 11);
  std::uint64_t total = 0;
  for (const auto& p : dur->points) {
    REQUIRE(p.bucket_counts.size() == dur->bounds.size() + 1);
    std::uint64_t sum = 0;
    for (auto c : p.bucket_counts) sum += c;
    CHECK(sum == p.count);
    CHECK(p.min <= p.max);
    total += p.count;
    std::size_t nonempty = 0;
    for (auto c : p.bucket_counts) nonempty += c != 0;
    CHECK(p.exemplars.size() == nonempty);
    for (const auto& e : p.exemplars)
      CHECK(exported_spans.count(test_util::hex(e.trace_id) + test_util::hex(e.span_id)) == 1);
  }
  CHECK(total == 11);

  // Both encodings of every export pass otlp-check.
  const auto bodies = capture->json_bodies();
  const auto protos = capture->proto_bodies();
  const auto [rc, out] = otlp_check("--signal metrics", bodies.back(), "metrics_red_json");
  INFO(out);
  CHECK(rc == 0);
  const auto [prc, pout] =
      otlp_check("--protobuf --signal metrics", protos.back(), "metrics_red_proto");
  INFO(pout);
  CHECK(prc == 0);
  // The JSON-lines file carries the metrics requests beside the traces, and validates whole.
  const auto [frc, fout] = otlp_check("", test_util::read_file(traces), "metrics_red_file");
  INFO(fout);
  CHECK(frc == 0);
  CHECK(test_util::read_file(traces).find("\"resourceMetrics\"") != std::string::npos);
}

TEST_CASE("span metrics: GenAI operation duration, token usage and time to first chunk") {
  auto capture = std::make_shared<metrics_capture>();
  {
    auto t = agentrace::start(metrics_config({capture}));
    chat("gpt-4o", 100, 20, false, false);
    chat("gpt-4o", 300, 40, false, true);
    chat("gpt-4o", 50, 0, true, false);
    chat("llama3", 7, 3, false, false);
    { AGENTRACE_SPAN(s, "not.genai"); }
  }
  const auto exports = capture->exports();
  REQUIRE(!exports.empty());
  const auto& last = exports.back();
  const auto* dur = find_metric(last, agentrace::metric_names::genai_operation_duration);
  const auto* tok = find_metric(last, agentrace::metric_names::genai_token_usage);
  const auto* ttfc = find_metric(last, agentrace::metric_names::genai_time_to_first_chunk);
  REQUIRE(dur);
  REQUIRE(tok);
  REQUIRE(ttfc);
  CHECK(dur->bounds.front() == 0.01);
  CHECK(dur->bounds.size() == 14);
  CHECK(tok->unit == "{token}");
  CHECK(tok->bounds.back() == 67108864.0);
  std::uint64_t calls = 0;
  for (const auto& p : dur->points) {
    calls += p.count;
    CHECK(str_attr(p, "gen_ai.operation.name") == "chat");
    CHECK(str_attr(p, "gen_ai.provider.name") == "openai");
    CHECK(str_attr(p, "server.address") == "127.0.0.1");
    if (str_attr(p, "error.type") == "429") CHECK(p.count == 1);
  }
  CHECK(calls == 4);
  std::map<std::string, double> sums;
  std::map<std::string, std::uint64_t> counts;
  for (const auto& p : tok->points) {
    const std::string key = str_attr(p, "gen_ai.request.model") + "/" +
                            str_attr(p, "gen_ai.response.model") + "/" +
                            str_attr(p, "gen_ai.token.type");
    sums[key] += p.sum;
    counts[key] += p.count;
  }
  CHECK(sums["gpt-4o/gpt-4o-2025/input"] == 450);
  CHECK(sums["gpt-4o/gpt-4o-2025/output"] == 60);
  CHECK(counts["gpt-4o/gpt-4o-2025/output"] == 3);
  CHECK(sums["llama3/llama3-2025/input"] == 7);
  std::uint64_t streamed = 0;
  for (const auto& p : ttfc->points) streamed += p.count;
  CHECK(streamed == 1);

  const auto [rc, out] =
      otlp_check("--signal metrics", capture->json_bodies().back(), "metrics_genai");
  INFO(out);
  CHECK(rc == 0);
  const auto [prc, pout] =
      otlp_check("--protobuf --signal metrics", capture->proto_bodies().back(), "metrics_genai_pb");
  INFO(pout);
  CHECK(prc == 0);
}

TEST_CASE(
    "span metrics: names from user text stop at the cardinality limit; the rest go to "
    "one overflow series, counted") {
  auto capture = std::make_shared<metrics_capture>();
  agentrace::stats st;
  {
    auto cfg = metrics_config({capture});
    cfg.metrics.cardinality_limit = 5;
    auto t = agentrace::start(cfg);
    for (int i = 0; i < 20; ++i) {
      AGENTRACE_SPAN(s, "user");
      s.set_name("question " + std::to_string(i));
    }
    REQUIRE(t.force_flush());
    st = t.stats();
  }
  CHECK(st.metric_spans_observed == 20);
  CHECK(st.metric_points_overflowed == 16);  // 4 series + the overflow series = the limit
  CHECK(st.metric_series == 5);
  const auto exports = capture->exports();
  REQUIRE(!exports.empty());
  const auto* calls = find_metric(exports.back(), agentrace::metric_names::span_calls);
  REQUIRE(calls);
  CHECK(calls->points.size() == 5);
  std::int64_t overflow = 0, total = 0;
  for (const auto& p : calls->points) {
    total += p.int_value;
    if (str_attr(p, "otel.metric.overflow") == "true") overflow = p.int_value;
  }
  CHECK(overflow == 16);
  CHECK(total == 20);
}

TEST_CASE("span metrics: delta temporality reports what is new since the last export") {
  auto capture = std::make_shared<metrics_capture>();
  {
    auto cfg = metrics_config({capture});
    cfg.metrics.temporality = agentrace::temporality_preference::delta;
    auto t = agentrace::start(cfg);
    for (int i = 0; i < 3; ++i) {
      AGENTRACE_SPAN(s, "step");
    }
    REQUIRE(t.force_flush());
    for (int i = 0; i < 2; ++i) {
      AGENTRACE_SPAN(s, "step");
    }
    REQUIRE(t.force_flush());
    REQUIRE(t.force_flush());  // nothing new: no export
  }
  const auto exports = capture->exports();
  REQUIRE(exports.size() == 2);
  const auto* first = find_metric(exports[0], agentrace::metric_names::span_calls);
  const auto* second = find_metric(exports[1], agentrace::metric_names::span_calls);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->temporality == agentrace::aggregation_temporality::delta);
  CHECK(first->points.at(0).int_value == 3);
  CHECK(second->points.at(0).int_value == 2);
  CHECK(second->points.at(0).start_unix_ns >= first->points.at(0).time_unix_ns);
}

TEST_CASE("span metrics are off unless configured: no metrics export, nothing counted") {
  auto capture = std::make_shared<metrics_capture>();
  {
    agentrace::config cfg;
    cfg.read_environment = false;
    cfg.exporters = {capture};
    auto t = agentrace::start(cfg);
    { AGENTRACE_SPAN(s, "x"); }
    REQUIRE(t.force_flush());
    CHECK(t.stats().metric_spans_observed == 0);
  }
  CHECK(capture->exports().empty());
}

TEST_CASE(
    "OTEL_METRICS_EXPORTER=console turns the metrics on and prints a summary; none keeps "
    "them off") {
  ::setenv("OTEL_TRACES_EXPORTER", "none", 1);
  ::setenv("OTEL_METRICS_EXPORTER", "console", 1);
  std::string text;
  {
    test_util::capture_fd out(stdout, test_util::otlp_out_path("metrics_console") + ".txt");
    {
      auto t = agentrace::start({.service_name = "console-metrics"});
      for (int i = 0; i < 3; ++i) {
        AGENTRACE_SPAN(s, "printed.span");
      }
    }
    text = out.text();
  }
  ::setenv("OTEL_METRICS_EXPORTER", "none", 1);
  agentrace::stats st;
  {
    auto t = agentrace::start({.service_name = "console-metrics"});
    { AGENTRACE_SPAN(s, "unmetered"); }
    REQUIRE(t.force_flush());
    st = t.stats();
  }
  ::unsetenv("OTEL_TRACES_EXPORTER");
  ::unsetenv("OTEL_METRICS_EXPORTER");
  INFO(text);
  CHECK(text.find("metric traces.span.metrics.calls {call}\n") != std::string::npos);
  CHECK(text.find("span.name=\"printed.span\"") != std::string::npos);
  CHECK(text.find("  3\n") != std::string::npos);
  CHECK(text.find("metric traces.span.metrics.duration s\n") != std::string::npos);
  CHECK(st.metric_spans_observed == 0);
}

namespace {
constexpr agentrace::key<std::string> k_route{"app.route"};
constexpr agentrace::key<std::int64_t> k_code{"app.code"};

agentrace::counter<std::int64_t> test_requests{"test.requests", "{request}", "Requests"};
agentrace::up_down_counter<std::int64_t> test_in_flight{"test.in_flight", "{request}"};
agentrace::histogram<double> test_latency{"test.latency", "s", "Latency", {0.1, 1, 10}};

const agentrace::metric_point* point_with(const agentrace::metric_data& m, std::string_view key,
                                          std::string_view value) {
  for (const auto& p : m.points)
    if (str_attr(p, key) == value) return &p;
  return nullptr;
}
}  // namespace

TEST_CASE(
    "instruments: counter, up-down counter, histogram and observable gauge, from two "
    "threads, exported with the span metrics") {
  auto capture = std::make_shared<metrics_capture>();
  double gauge_value = 42.5;
  agentrace::observable_gauge gauge("test.gauge", "1", "A gauge",
                                    [&](agentrace::gauge_observer& o) {
                                      o.observe(gauge_value, {{k_route, "/g"}});
                                    });
  agentrace::stats st;
  {
    auto t = agentrace::start(metrics_config({capture}));
    const auto before_rejected = t.stats().metric_measurements_rejected;
    auto work = [] {
      for (int i = 0; i < 1000; ++i) {
        test_requests.add(1, {{k_route, "/chat"}, {k_code, 200}});
        test_requests.add(2, {{k_code, 500}, {k_route, "/chat"}});  // order does not matter
        test_in_flight.add(1);
        test_in_flight.add(-1);
        test_latency.record(i % 3 == 0 ? 0.05 : 5.0, {{k_route, "/chat"}});
      }
    };
    std::thread a(work), b(work);
    a.join();
    b.join();
    test_in_flight.add(3);
    test_requests.add(-1);  // rejected: a counter only goes up
    REQUIRE(t.force_flush());
    st = t.stats();
    CHECK(st.metric_measurements_rejected - before_rejected == 1);
  }
  const auto exports = capture->exports();
  REQUIRE(!exports.empty());
  const auto& last = exports.back();
  const auto* req = find_metric(last, "test.requests");
  const auto* fl = find_metric(last, "test.in_flight");
  const auto* lat = find_metric(last, "test.latency");
  const auto* g = find_metric(last, "test.gauge");
  REQUIRE(req);
  REQUIRE(fl);
  REQUIRE(lat);
  REQUIRE(g);
  CHECK(find_metric(last, agentrace::metric_names::span_calls) == nullptr);  // no span ended
  CHECK(req->monotonic);
  CHECK(req->unit == "{request}");
  std::map<std::int64_t, std::int64_t> by_code;
  for (const auto& p : req->points) {
    CHECK(str_attr(p, "app.route") == "/chat");
    for (const auto& [k, v] : p.attributes)
      if (k == "app.code") by_code[std::get<std::int64_t>(v)] = p.int_value;
  }
  CHECK(req->points.size() == 2);
  CHECK(by_code[200] == 2000);
  CHECK(by_code[500] == 4000);
  CHECK(!fl->monotonic);
  REQUIRE(fl->points.size() == 1);
  CHECK(fl->points[0].int_value == 3);
  const auto* lp = point_with(*lat, "app.route", "/chat");
  REQUIRE(lp);
  CHECK(lp->count == 2000);
  REQUIRE(lp->bucket_counts.size() == 4);
  CHECK(lp->bucket_counts[0] == 2 * 334);
  CHECK(lp->bucket_counts[2] == 2 * 666);  // 5.0: (1, 10]
  CHECK(lp->min == 0.05);
  CHECK(lp->max == 5.0);
  REQUIRE(g->points.size() == 1);
  CHECK(g->points[0].double_value == 42.5);
  const auto [rc, out] =
      otlp_check("--signal metrics", capture->json_bodies().back(), "instr_json");
  INFO(out);
  CHECK(rc == 0);
  const auto [prc, pout] =
      otlp_check("--protobuf --signal metrics", capture->proto_bodies().back(), "instr_proto");
  INFO(pout);
  CHECK(prc == 0);
}

TEST_CASE(
    "instruments: past the cardinality limit one overflow series; delta reports the "
    "difference") {
  agentrace::counter<double> c("test.limited", "", "", 3);
  auto capture = std::make_shared<metrics_capture>();
  auto cfg = metrics_config({capture});
  cfg.metrics.temporality = agentrace::temporality_preference::delta;
  auto t = agentrace::start(cfg);
  const auto before = t.stats().metric_points_overflowed;
  for (int i = 0; i < 10; ++i) c.add(0.5, {{k_code, i}});
  REQUIRE(t.force_flush());
  CHECK(t.stats().metric_points_overflowed - before == 8);  // 2 series + overflow = 3
  c.add(0.25, {{k_code, 0}});
  REQUIRE(t.force_flush());
  t.shutdown();
  const auto exports = capture->exports();
  REQUIRE(exports.size() >= 2);  // (an up-down counter elsewhere is cumulative: always exported)
  const auto* first = find_metric(exports[0], "test.limited");
  REQUIRE(first);
  CHECK(first->points.size() == 3);
  const auto* over = point_with(*first, "otel.metric.overflow", "true");
  REQUIRE(over);
  CHECK(over->double_value == 4.0);
  const auto* second = find_metric(exports[1], "test.limited");
  REQUIRE(second);
  REQUIRE(second->points.size() == 1);  // only the series that changed
  CHECK(second->points[0].double_value == 0.25);
  CHECK(second->temporality == agentrace::aggregation_temporality::delta);
}

TEST_CASE(
    "prometheus text: names, units, _total, cumulative buckets, escaping, target_info; "
    "OpenMetrics adds exemplars and # EOF") {
  agentrace::resource res;
  res.attributes = {{"service.name", "svc"},
                    {"service.namespace", "ns"},
                    {"service.instance.id", "i-1"},
                    {"host.name", "h"}};
  std::vector<agentrace::metric_data> ms(3);
  ms[0].name = "traces.span.metrics.calls";
  ms[0].unit = "{call}";
  ms[0].description = "Number of spans";
  ms[0].type = agentrace::metric_type::sum;
  ms[0].monotonic = true;
  ms[0].points.resize(1);
  ms[0].points[0].attributes = {
      {"span.name", agentrace::attr_value{std::string("say \"hi\"\n\\")}}};
  ms[0].points[0].int_value = 7;
  ms[1].name = "http.server.duration";
  ms[1].unit = "s";
  ms[1].type = agentrace::metric_type::histogram;
  ms[1].bounds = {0.5, 1};
  ms[1].points.resize(1);
  auto& h = ms[1].points[0];
  h.bucket_counts = {2, 0, 1};
  h.count = 3;
  h.sum = 2.75;
  h.exemplars.push_back({1'700'000'000'123'000'000ull, 2.0,
                         agentrace::trace_id{0x0102030405060708ull, 0x090a0b0c0d0e0f10ull}, 0x11});
  ms[2].name = "queue.length";
  ms[2].type = agentrace::metric_type::sum;
  ms[2].monotonic = false;
  ms[2].points.resize(1);
  ms[2].points[0].int_value = -2;

  const std::string text = agentrace::prometheus_text(ms, res);
  CHECK(text.find("# TYPE target_info gauge\n") != std::string::npos);
  CHECK(text.find("target_info{job=\"ns/svc\",instance=\"i-1\",host_name=\"h\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE traces_span_metrics_calls_total counter\n") != std::string::npos);
  CHECK(text.find("traces_span_metrics_calls_total{span_name=\"say \\\"hi\\\"\\n\\\\\"} 7\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE http_server_duration_seconds histogram\n") != std::string::npos);
  CHECK(text.find("http_server_duration_seconds_bucket{le=\"0.5\"} 2\n") != std::string::npos);
  CHECK(text.find("http_server_duration_seconds_bucket{le=\"1\"} 2\n") != std::string::npos);
  CHECK(text.find("http_server_duration_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("http_server_duration_seconds_sum 2.75\n") != std::string::npos);
  CHECK(text.find("http_server_duration_seconds_count 3\n") != std::string::npos);
  CHECK(text.find("# TYPE queue_length gauge\nqueue_length -2\n") != std::string::npos);
  CHECK(text.find("# EOF") == std::string::npos);
  CHECK(text.find(" # {") == std::string::npos);

  const std::string om =
      agentrace::prometheus_text(ms, res, agentrace::prometheus_format::openmetrics);
  CHECK(om.find("# TYPE traces_span_metrics_calls counter\n") != std::string::npos);
  CHECK(om.find("# TYPE target info\n") != std::string::npos);
  CHECK(om.find("http_server_duration_seconds_bucket{le=\"+Inf\"} 3 # {trace_id=\""
                "0102030405060708090a0b0c0d0e0f10\",span_id=\"0000000000000011\"} 2 "
                "1700000000.123\n") != std::string::npos);
  CHECK(om.find("http_server_duration_seconds_bucket{le=\"1.0\"} 2\n") != std::string::npos);
  CHECK(om.size() >= 6);
  CHECK(om.substr(om.size() - 6) == "# EOF\n");
  CHECK(agentrace::prometheus_format_for("application/openmetrics-text;version=1.0.0,text/plain") ==
        agentrace::prometheus_format::openmetrics);
  CHECK(agentrace::prometheus_format_for("text/plain") == agentrace::prometheus_format::text_0_0_4);
}

#if defined(AGENTRACE_TEST_PROMETHEUS)
#include <agentrace/exporters/prometheus.hpp>
#include <agentrace/http/client.hpp>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>

extern char** environ;

namespace {

std::string http_get(const std::string& url, std::string_view accept = {}) {
  agentrace::http::client c;
  agentrace::http::request r;
  r.method = "GET";
  r.url = url;
  r.timeout = std::chrono::milliseconds(5000);
  if (!accept.empty()) r.headers.emplace_back("Accept", std::string(accept));
  const auto res = c.send(r);
  return res.status == 200 ? res.body : std::string();
}

std::string url_escape(const std::string& s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

using test_support::free_port;

// Starts `args` with `env` (NAME=value each), stdout and stderr into `log`: the pid, 0 if it
// could not be started.
pid_t spawn(std::vector<std::string> args, std::vector<std::string> env, const std::string& log) {
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) pid = 0;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

#if defined(AGENTRACE_SQL_AGENT_BIN)
// This process's environment without the variables that configure agentrace.
std::vector<std::string> clean_environment() {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string_view v(*e);
    if (!v.starts_with("OTEL_") && !v.starts_with("AGENTRACE_")) env.emplace_back(v);
  }
  return env;
}
#endif

// A Prometheus server on 127.0.0.1 with a temporary config and storage, stopped (SIGTERM) and
// removed at the end.
class prometheus_server {
 public:
  prometheus_server(const std::string& binary, int target_port) {
    namespace fs = std::filesystem;
    dir_ = fs::path(AGENTRACE_BINARY_DIR) / "tests" / "otlp_tmp" /
           ("prometheus." + std::to_string(::getpid()));
    fs::create_directories(dir_ / "data");
    std::ofstream(dir_ / "prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        << "scrape_configs:\n  - job_name: agentrace\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << target_port << "']\n";
    port_ = free_port();
    std::vector<std::string> args = {binary,
                                     "--config.file=" + (dir_ / "prometheus.yml").string(),
                                     "--storage.tsdb.path=" + (dir_ / "data").string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--enable-feature=exemplar-storage",
                                     "--log.level=warn"};
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    pid_ = spawn(std::move(args), std::move(env), (dir_ / "prometheus.log").string());
    ok_ = pid_ != 0;
  }
  ~prometheus_server() {
    if (ok_) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  prometheus_server(const prometheus_server&) = delete;
  prometheus_server& operator=(const prometheus_server&) = delete;

  bool started() const { return ok_; }
  std::string log() const { return test_util::read_file((dir_ / "prometheus.log").string()); }
  /// GET /api/v1/<path>?<query> as JSON (null when there is no answer yet).
  json api(const std::string& path_and_query) const {
    const std::string body =
        http_get("http://127.0.0.1:" + std::to_string(port_) + "/api/v1/" + path_and_query);
    if (body.empty()) return nullptr;
    return json::parse(body, nullptr, false);
  }
  /// The result vector of an instant query, polled until it is not empty (or 20 s passed).
  json query(const std::string& promql, std::size_t min_results = 1) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json r;
    while (std::chrono::steady_clock::now() < deadline) {
      r = api("query?query=" + url_escape(promql));
      if (r.is_object() && r.value("status", "") == "success" &&
          r["data"]["result"].size() >= min_results)
        return r["data"]["result"];
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return json::array();
  }
  /// The trace ids of the exemplars stored for `metric`, polled until there is one (or 20 s
  /// passed); `answer`: the last answer of the query API.
  std::set<std::string> exemplar_trace_ids(const std::string& metric, json& answer) const {
    std::set<std::string> ids;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (ids.empty() && std::chrono::steady_clock::now() < deadline) {
      const auto now = std::chrono::system_clock::now().time_since_epoch();
      const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now).count();
      answer = api("query_exemplars?query=" + url_escape(metric) +
                   "&start=" + std::to_string(secs - 600) + "&end=" + std::to_string(secs + 60));
      if (answer.is_object() && answer.value("status", "") == "success")
        for (const auto& series : answer["data"])
          for (const auto& e : series["exemplars"]) ids.insert(e["labels"].value("trace_id", ""));
      if (ids.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return ids;
  }

 private:
  std::filesystem::path dir_;
  pid_t pid_{0};
  int port_{0};
  bool ok_{false};
};

std::string find_prometheus() {
  for (const char* p : {"/usr/bin/prometheus", "/usr/local/bin/prometheus"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

// Without prometheus: a failure in CI, a warning elsewhere.
void skip_or_fail_without_prometheus() {
  const char* ci = std::getenv("CI");
  if (ci && std::string_view(ci) == "true")
    FAIL("prometheus is not installed (Debian package prometheus; scripts/install-deps.sh)");
  WARN("prometheus is not installed: the scrape test did not run");
}

}  // namespace

TEST_CASE(
    "prometheus: a real Prometheus scrapes /metrics: _total counts, a histogram_quantile "
    "in the right bucket, an exemplar of an exported span") {
  const std::string binary = find_prometheus();
  if (binary.empty()) return skip_or_fail_without_prometheus();
  auto endpoint =
      agentrace::prometheus({.host = "127.0.0.1", .port = 0, .read_environment = false});
  REQUIRE(endpoint->port() > 0);
  const std::string traces = test_util::otlp_out_path("metrics_prometheus");
  auto cfg = metrics_config({endpoint, agentrace::otlp_json_file(traces)});
  auto t = agentrace::start(cfg);
  for (int i = 0; i < 12; ++i) {
    AGENTRACE_SPAN(s, "prom.fast");
    if (i < 2) s.error("failed");
  }
  for (int i = 0; i < 3; ++i) {
    AGENTRACE_SPAN(s, "prom.slow");
    std::this_thread::sleep_for(std::chrono::milliseconds(15));  // (0.01, 0.05] s
  }
  REQUIRE(t.force_flush());
  // The endpoint itself: 0.0.4 by default, OpenMetrics with exemplars on request.
  const std::string plain = http_get(endpoint->url());
  CHECK(plain.find("traces_span_metrics_calls_total{") != std::string::npos);
  const std::string om = http_get(endpoint->url(), "application/openmetrics-text; version=1.0.0");
  CHECK(om.find(" # {trace_id=\"") != std::string::npos);

  prometheus_server prom(binary, endpoint->port());
  REQUIRE(prom.started());
  const json calls =
      prom.query("sum by (span_name, status_code) (traces_span_metrics_calls_total)", 3);
  INFO(prom.log());
  std::map<std::string, double> by;
  for (const auto& r : calls)
    by[r["metric"].value("span_name", "") + "|" + r["metric"].value("status_code", "")] =
        std::stod(r["value"][1].get<std::string>());
  CHECK(by["prom.fast|STATUS_CODE_UNSET"] == 10);
  CHECK(by["prom.fast|STATUS_CODE_ERROR"] == 2);
  CHECK(by["prom.slow|STATUS_CODE_UNSET"] == 3);
  const json q = prom.query(
      "histogram_quantile(0.5, sum by (le) "
      "(traces_span_metrics_duration_seconds_bucket{span_name=\"prom.slow\"}))");
  REQUIRE(q.size() == 1);
  const double p50 = std::stod(q[0]["value"][1].get<std::string>());
  CHECK(p50 > 0.01);
  CHECK(p50 <= 0.05);

  // Exemplars: polled until Prometheus has stored one; its trace id is in the trace output.
  json ex;
  const std::set<std::string> trace_ids =
      prom.exemplar_trace_ids("traces_span_metrics_duration_seconds_bucket", ex);
  INFO(ex.dump());
  REQUIRE(!trace_ids.empty());
  t.shutdown();
  std::set<std::string> exported;
  for (const json& req : test_util::read_json_lines(traces))
    if (req.contains("resourceSpans"))
      for (const json& s : test_util::all_spans({req}))
        exported.insert(s["traceId"].get<std::string>());
  for (const std::string& id : trace_ids) CHECK(exported.count(id) == 1);
  CHECK(endpoint->scrapes() >= 3);
}
#if defined(AGENTRACE_SQL_AGENT_BIN)
TEST_CASE(
    "prometheus: a real Prometheus scrapes the SQL agent example: _total counts equal its "
    "spans, a histogram_quantile in the right bucket, an exemplar of an exported span") {
  const std::string binary = find_prometheus();
  if (binary.empty()) return skip_or_fail_without_prometheus();
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(AGENTRACE_BINARY_DIR) / "tests" / "otlp_tmp" /
                       ("sql_agent_prometheus." + std::to_string(::getpid()));
  fs::create_directories(dir);
  const int port = free_port();
  const std::string traces = (dir / "traces.jsonl").string();
  const std::string out = (dir / "out.txt").string();
  std::vector<std::string> env = clean_environment();
  env.emplace_back("OTEL_METRICS_EXPORTER=prometheus");
  env.emplace_back("OTEL_EXPORTER_PROMETHEUS_HOST=127.0.0.1");
  env.emplace_back("OTEL_EXPORTER_PROMETHEUS_PORT=" + std::to_string(port));
  struct child {
    pid_t pid;
    ~child() {
      if (pid == 0) return;
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  } agent{spawn({AGENTRACE_SQL_AGENT_BIN, "--seed", "42", "--questions", "8", "--no-console",
                 "--otlp-file", traces, "--data-dir", (dir / "data").string(), "--linger", "60"},
                env, out)};
  REQUIRE(agent.pid != 0);
  // The agent has answered (and flushed its traces) when it says it lingers.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (test_util::read_file(out).find("lingering") == std::string::npos) {
    int status = 0;
    INFO(test_util::read_file(out));
    REQUIRE(::waitpid(agent.pid, &status, WNOHANG) == 0);  // still running
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // The trace output: spans per name, durations per name, trace ids.
  std::map<std::string, double> spans_per_name;
  std::map<std::string, std::vector<double>> durations;
  std::set<std::string> exported;
  for (const json& req : test_util::read_json_lines(traces))
    if (req.contains("resourceSpans"))
      for (const json& sp : test_util::all_spans({req})) {
        const std::string name = sp["name"];
        spans_per_name[name] += 1;
        durations[name].push_back(
            static_cast<double>(std::stoull(sp["endTimeUnixNano"].get<std::string>()) -
                                std::stoull(sp["startTimeUnixNano"].get<std::string>())) /
            1e9);
        exported.insert(sp["traceId"].get<std::string>());
      }
  REQUIRE(spans_per_name.size() >= 3);

  prometheus_server prom(binary, port);
  REQUIRE(prom.started());
  const json calls =
      prom.query("sum by (span_name) (traces_span_metrics_calls_total)", spans_per_name.size());
  INFO(prom.log());
  std::map<std::string, double> by_name;
  for (const auto& r : calls)
    by_name[r["metric"].value("span_name", "")] = std::stod(r["value"][1].get<std::string>());
  CHECK(by_name == spans_per_name);

  // The median of the most frequent span name: Prometheus interpolates inside the bucket that
  // holds the median rank; that bucket, from the trace output's durations.
  auto most = std::max_element(
      durations.begin(), durations.end(),
      [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
  const std::vector<double> bounds(agentrace::metric_names::span_duration_buckets.begin(),
                                   agentrace::metric_names::span_duration_buckets.end());
  std::vector<double> cumulative(bounds.size() + 1, 0);
  for (double d : most->second)
    for (std::size_t i = agentrace::detail::bucket_index(bounds, d); i <= bounds.size(); ++i)
      cumulative[i] += 1;
  const double rank = 0.5 * static_cast<double>(most->second.size());
  std::size_t b = 0;
  while (cumulative[b] < rank) ++b;
  REQUIRE(b < bounds.size());  // not the +Inf bucket
  const json q = prom.query(
      "histogram_quantile(0.5, sum by (le) "
      "(traces_span_metrics_duration_seconds_bucket{span_name=\"" +
      most->first + "\"}))");
  REQUIRE(q.size() == 1);
  const double p50 = std::stod(q[0]["value"][1].get<std::string>());
  INFO(most->first << ": median in bucket " << b);
  CHECK(p50 >= (b == 0 ? 0.0 : bounds[b - 1]));
  CHECK(p50 <= bounds[b]);

  // An exemplar Prometheus stored names a trace of the output.
  json ex;
  const std::set<std::string> trace_ids =
      prom.exemplar_trace_ids("traces_span_metrics_duration_seconds_bucket", ex);
  INFO(ex.dump());
  REQUIRE(!trace_ids.empty());
  for (const std::string& id : trace_ids) CHECK(exported.count(id) == 1);
  std::error_code ec;
  fs::remove_all(dir, ec);
}
#endif
#endif

// Forces every series hash of an instrument or of the GenAI span metrics to one value, so that
// the lookups meet only collisions.
namespace agentrace::detail {
struct metrics_test_access {
  static void collide(instrument_base& i) { i.hash_mask_ = 0; }
  static void collide(span_metrics& m) { m.genai_hash_mask_ = 0; }
  template <class F>
  static void each_series(instrument_base& i, F&& f) {
    i.for_each_series(std::forward<F>(f));
  }
};
}  // namespace agentrace::detail

namespace {

std::int64_t int_attr(const agentrace::metric_point& p, std::string_view key) {
  for (const auto& [k, v] : p.attributes)
    if (k == key)
      if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  return -1;
}

}  // namespace

TEST_CASE("metrics: the bucket of a value is std::lower_bound's, at, between and past bounds") {
  const std::vector<double> all = {-1.5, 0, 0.002, 0.005, 1, 2.5, 10, 1e6};
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const std::vector<double> bounds(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<double> values = {-__builtin_inf(), __builtin_inf(), -2, 1e7, 0.0030};
    for (double b : all) {
      values.push_back(b);
      values.push_back(std::nextafter(b, -__builtin_inf()));
      values.push_back(std::nextafter(b, __builtin_inf()));
    }
    for (double v : values) {
      INFO("bounds " << n << ", value " << v);
      CHECK(agentrace::detail::bucket_index(bounds, v) ==
            static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) -
                                     bounds.begin()));
    }
    CHECK(agentrace::detail::bucket_index(bounds, __builtin_nan("")) == 0);
  }
}

TEST_CASE("metrics: the bucket finder's table answers as bucket_index, for every kind of bounds") {
  using agentrace::detail::bucket_finder;
  namespace names = agentrace::metric_names;
  std::vector<std::vector<double>> sets = {
      {names::span_duration_buckets.begin(), names::span_duration_buckets.end()},
      {names::genai_duration_buckets.begin(), names::genai_duration_buckets.end()},
      {names::genai_token_buckets.begin(), names::genai_token_buckets.end()},
      agentrace::default_histogram_buckets,
      {-10, -1, 0},                       // no positive bound: no table
      {-3, -0.5, 0, 0.25, 0.3, 0.31, 7},  // bounds in one quarter octave, negatives before
      {1e-300, 1e300},                    // too wide a range for a table
      {0.5, 1, __builtin_inf()},          // an infinite bound
      {3},
      {}};
  std::vector<double> many;  // more than 32 bounds, several per octave
  for (int i = 1; i <= 100; ++i) many.push_back(0.001 * i * i);
  sets.push_back(many);
  for (const auto& bounds : sets) {
    const bucket_finder find(bounds);
    REQUIRE(std::vector<double>(find.bounds().begin(), find.bounds().end()) == bounds);
    std::vector<double> values = {-__builtin_inf(), __builtin_inf(), -0.0, 0.0, 1e-310, 1e308};
    for (double b : bounds) {
      values.push_back(b);
      values.push_back(std::nextafter(b, -__builtin_inf()));
      values.push_back(std::nextafter(b, __builtin_inf()));
      values.push_back(b * 0.999);
      values.push_back(b * 1.001);
    }
    for (double v = 1e-6; v < 1e9; v *= 1.07) values.push_back(v);
    for (double v : values) {
      INFO(bounds.size() << " bounds, value " << v);
      CHECK(find(v) == static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), v) -
                                                bounds.begin()));
    }
    CHECK(find(__builtin_nan("")) == 0);
  }
}

TEST_CASE(
    "instruments: two threads recording into one series at the same time lose no count, and "
    "each stripe's bucket counts have cache lines of their own") {
  agentrace::histogram<double> h("test.two_threads", "s", "", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  agentrace::counter<std::int64_t> c("test.two_threads.calls");
  constexpr int per_thread = 200000;
  std::atomic<int> ready{0};
  auto work = [&](int offset) {
    ready.fetch_add(1);
    while (ready.load() < 2) {  // both threads record at once
    }
    for (int i = 0; i < per_thread; ++i) {
      h.record(static_cast<double>((i + offset) % 12), {{k_route, "/chat"}});
      c.add(1, {{k_route, "/chat"}});
    }
  };
  std::thread a(work, 0), b(work, 5);
  a.join();
  b.join();
  std::vector<agentrace::metric_data> out;
  h.collect(out, 0, agentrace::temporality_preference::cumulative);
  c.collect(out, 0, agentrace::temporality_preference::cumulative);
  REQUIRE(out.size() == 2);
  REQUIRE(out[0].points.size() == 1);
  const auto& p = out[0].points[0];
  CHECK(p.count == 2 * per_thread);
  // Values 0..11, each per_thread / 12 times per thread (and a remainder): bucket i holds the
  // value i (0 and 1 in the first, 11 in the last).
  std::vector<std::uint64_t> expected(11, 0);
  double sum = 0;
  for (int offset : {0, 5})
    for (int i = 0; i < per_thread; ++i) {
      const int v = (i + offset) % 12;
      ++expected[static_cast<std::size_t>(std::clamp(v - 1, 0, 10))];
      sum += v;
    }
  CHECK(p.bucket_counts == expected);
  CHECK(p.sum == sum);  // integers: exact in any order
  CHECK(p.min == 0);
  CHECK(p.max == 11);
  REQUIRE(out[1].points.size() == 1);
  CHECK(out[1].points[0].int_value == 2 * per_thread);

  // The layout that keeps the two threads off each other's lines.
  std::size_t series = 0;
  agentrace::detail::metrics_test_access::each_series(h, [&](auto& s) {
    ++series;
    for (const auto& st : s.stripes) {
      const auto first = reinterpret_cast<std::uintptr_t>(&st.bucket(0));
      const auto last = reinterpret_cast<std::uintptr_t>(&st.bucket(10));
      CHECK(first % 64 == 0);
      CHECK(last / 64 - first / 64 == 1);  // 11 counts: two whole lines
      for (const auto& other : s.stripes) {
        if (&other == &st) continue;
        const auto o = reinterpret_cast<std::uintptr_t>(&other.bucket(0));
        const auto o_last = reinterpret_cast<std::uintptr_t>(&other.bucket(10));
        CHECK((o_last / 64 < first / 64 || o / 64 > last / 64));
      }
      // Nothing a recording thread reads shares those lines.
      for (const auto& attr : s.attributes) {
        const auto a = reinterpret_cast<std::uintptr_t>(&attr);
        CHECK(((a + sizeof(attr) - 1) / 64 < first / 64 || a / 64 > last / 64));
      }
    }
  });
  CHECK(series == 1);

  // Five threads on four stripes: at least two share one and update the same cells at once.
  agentrace::histogram<double> h5("test.five_threads", "", "", {5});
  std::atomic<int> go{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 5; ++t)
    threads.emplace_back([&] {
      go.fetch_add(1);
      while (go.load() < 5) {
      }
      for (int i = 0; i < per_thread; ++i) h5.record(i % 10, {{k_route, "/chat"}});
    });
  for (auto& t : threads) t.join();
  out.clear();
  h5.collect(out, 0, agentrace::temporality_preference::cumulative);
  REQUIRE(out.size() == 1);
  REQUIRE(out[0].points.size() == 1);
  CHECK(out[0].points[0].count == 5 * per_thread);
  CHECK(out[0].points[0].bucket_counts ==
        std::vector<std::uint64_t>{5 * per_thread / 10 * 6, 5 * per_thread / 10 * 4});
  CHECK(out[0].points[0].sum == 5.0 * (per_thread / 10) * 45);
}

TEST_CASE(
    "instruments: threads that share a stripe and record different attribute sets each count "
    "into their own series") {
  // Five threads on four stripes, each alternating between its own route and a shared one:
  // the series a stripe remembers last keeps changing under the others' feet.
  agentrace::counter<std::int64_t> c("test.memo.counter");
  agentrace::histogram<double> h("test.memo.histogram", "", "", {5});
  constexpr int per_thread = 50000;
  static constexpr const char* routes[] = {"/r0", "/r1", "/r2", "/r3", "/r4"};
  std::atomic<int> go{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 5; ++t)
    threads.emplace_back([&, t] {
      go.fetch_add(1);
      while (go.load() < 5) {
      }
      for (int i = 0; i < per_thread; ++i) {
        c.add(t + 1, {{k_route, routes[t]}});
        c.add(1, {{k_route, "/shared"}, {k_code, 200}});
        h.record(t, {{k_route, routes[t]}});
        h.record(9, {{k_code, 200}, {k_route, "/shared"}});  // another order: the same series
      }
    });
  for (auto& t : threads) t.join();
  std::vector<agentrace::metric_data> out;
  c.collect(out, 0, agentrace::temporality_preference::cumulative);
  h.collect(out, 0, agentrace::temporality_preference::cumulative);
  REQUIRE(out.size() == 2);
  std::map<std::string, std::int64_t> sums;
  for (const auto& p : out[0].points) sums[str_attr(p, "app.route")] += p.int_value;
  CHECK(out[0].points.size() == 6);
  for (int t = 0; t < 5; ++t) CHECK(sums[routes[t]] == (t + 1) * per_thread);
  CHECK(sums["/shared"] == 5 * per_thread);
  std::map<std::string, double> hist_sums;
  std::map<std::string, std::uint64_t> hist_counts;
  for (const auto& p : out[1].points) {
    hist_sums[str_attr(p, "app.route")] += p.sum;
    hist_counts[str_attr(p, "app.route")] += p.count;
  }
  CHECK(out[1].points.size() == 6);
  for (int t = 0; t < 5; ++t) {
    CHECK(hist_counts[routes[t]] == per_thread);
    CHECK(hist_sums[routes[t]] == static_cast<double>(t) * per_thread);
  }
  CHECK(hist_counts["/shared"] == 5 * per_thread);
  CHECK(hist_sums["/shared"] == 9.0 * 5 * per_thread);
}

TEST_CASE("metrics: byte comparison of attribute values, every length and every position") {
  for (std::size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'x');
    for (std::size_t i = 0; i < n; ++i) a[i] = static_cast<char>('a' + i % 26);
    CHECK(agentrace::detail::metric_bytes_equal(a, std::string(a)));
    CHECK(!agentrace::detail::metric_bytes_equal(a, a + "!"));
    for (std::size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = '#';
      INFO("length " << n << ", differs at " << i);
      CHECK(!agentrace::detail::metric_bytes_equal(a, b));
    }
  }
}

TEST_CASE("instruments: attribute sets whose hashes collide stay separate series") {
  constexpr agentrace::key<std::string> k_user{"app.user"};
  constexpr agentrace::key<bool> k_cached{"app.cached"};
  constexpr agentrace::key<double> k_ratio{"app.ratio"};
  agentrace::counter<std::int64_t> c{"test.collide.counter", "{call}", "", 8};
  agentrace::histogram<double> h{"test.collide.histogram", "s", "", {1, 10}, 8};
  agentrace::detail::metrics_test_access::collide(c);
  agentrace::detail::metrics_test_access::collide(h);
  for (int i = 0; i < 3; ++i) {
    c.add(1, {{k_user, "alice"}, {k_code, 200}});
    c.add(10, {{k_code, 200}, {k_user, "alice"}});  // another order: the same series
    c.add(100, {{k_user, "alicf"}, {k_code, 200}});
    c.add(1000, {{k_user, "alice"}, {k_code, 201}});
    c.add(10000, {{k_user, "alice"}});
    c.add(100000, {{k_user, "alice"}, {k_cached, true}});
    c.add(1000000, {{k_user, "alice"}, {k_cached, false}});
    h.record(0.5, {{k_ratio, 0.25}});
    h.record(5, {{k_ratio, 0.5}});
    h.record(50, {{k_ratio, -0.0}});
    h.record(0.5, {{k_ratio, 0.0}});
  }
  std::vector<agentrace::metric_data> out;
  agentrace::collect_instruments(out, agentrace::temporality_preference::cumulative);
  const auto* cm = find_metric(out, "test.collide.counter");
  const auto* hm = find_metric(out, "test.collide.histogram");
  REQUIRE(cm);
  REQUIRE(hm);
  std::map<std::string, std::int64_t> sums;
  for (const auto& p : cm->points) {
    std::string cached = "-";
    for (const auto& [k, v] : p.attributes)
      if (k == "app.cached") cached = std::get<bool>(v) ? "true" : "false";
    sums[str_attr(p, "app.user") + "/" + std::to_string(int_attr(p, "app.code")) + "/" + cached] +=
        p.int_value;
  }
  CHECK(cm->points.size() == 6);
  CHECK(sums["alice/200/-"] == 33);
  CHECK(sums["alicf/200/-"] == 300);
  CHECK(sums["alice/201/-"] == 3000);
  CHECK(sums["alice/-1/-"] == 30000);
  CHECK(sums["alice/-1/true"] == 300000);
  CHECK(sums["alice/-1/false"] == 3000000);
  std::map<std::string, std::uint64_t> counts;  // by ratio's bits: -0.0 and 0.0 are two values
  for (const auto& p : hm->points)
    for (const auto& [k, v] : p.attributes)
      if (k == "app.ratio") counts[fmt::format("{}", std::get<double>(v))] += p.count;
  CHECK(hm->points.size() == 4);
  CHECK(counts["0.25"] == 3);
  CHECK(counts["0.5"] == 3);
  CHECK(counts["-0"] == 3);
  CHECK(counts["0"] == 3);
  // The limit still holds: 8 places, the overflow one included.
  for (int i = 0; i < 20; ++i) c.add(1, {{k_code, 1000 + i}});
  out.clear();
  agentrace::collect_instruments(out, agentrace::temporality_preference::cumulative);
  cm = find_metric(out, "test.collide.counter");
  REQUIRE(cm);
  CHECK(cm->points.size() == 8);
}

TEST_CASE("span metrics: GenAI attribute sets whose hashes collide stay separate series") {
  constexpr agentrace::span_site site{"chat", agentrace::span_kind::client, __FILE__, __LINE__,
                                      "test"};
  constexpr agentrace::key<std::string> k_op{"gen_ai.operation.name"};
  constexpr agentrace::key<std::string> k_model{"gen_ai.request.model"};
  constexpr agentrace::key<std::int64_t> k_in{"gen_ai.usage.input_tokens"};
  const char* models[] = {"gpt-4o", "gpt-4p", "llama3", "gpt-4o"};
  std::vector<agentrace::span_record> records(8);
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto& r = records[i];
    r.site = &site;
    r.trace_id = {1, 2 + i};
    r.span_id = 10 + i;
    r.start_ticks = 1000;
    r.end_ticks = 2000;
    r.push_static_string(k_op.name(), "chat");
    r.push_static_string(k_model.name(), models[i % 4]);
    r.push_slot(k_in.name(), agentrace::detail::slot_type::int64, 10 + i);
  }
  agentrace::span_metrics m({}, "svc");
  agentrace::detail::metrics_test_access::collide(m);
  const agentrace::detail::clock_converter clock;
  m.observe(records, clock);
  m.observe(records, clock);
  const auto out = m.collect();
  const auto* dur = find_metric(out, agentrace::metric_names::genai_operation_duration);
  const auto* tok = find_metric(out, agentrace::metric_names::genai_token_usage);
  REQUIRE(dur);
  REQUIRE(tok);
  std::map<std::string, std::uint64_t> calls;
  for (const auto& p : dur->points) calls[str_attr(p, "gen_ai.request.model")] += p.count;
  CHECK(dur->points.size() == 3);
  CHECK(calls["gpt-4o"] == 8);
  CHECK(calls["gpt-4p"] == 4);
  CHECK(calls["llama3"] == 4);
  std::map<std::string, double> tokens;
  for (const auto& p : tok->points) tokens[str_attr(p, "gen_ai.request.model")] += p.sum;
  CHECK(tok->points.size() == 3);
  CHECK(tokens["gpt-4o"] == 2 * (10 + 13 + 14 + 17));
  CHECK(tokens["gpt-4p"] == 2 * (11 + 15));
  CHECK(tokens["llama3"] == 2 * (12 + 16));
}

namespace {

// GenAI attributes of a test record (at most seven: the inline slots); `owned_model`: the
// request model as an owned string; empty strings are not set.
struct genai_case {
  std::string_view op = "chat", provider = "openai", model = "m1", response, address = "a.example",
                   error_type;
  std::int64_t port = 8080;  // < 0: not set
  bool error = false, owned_model = false;
  std::int64_t input = 10;
  std::string_view model_before;  // not empty: the request model set to this first, then to model
};

constexpr agentrace::key<std::string> g_op{"gen_ai.operation.name"};
constexpr agentrace::key<std::string> g_provider{"gen_ai.provider.name"};
constexpr agentrace::key<std::string> g_model{"gen_ai.request.model"};
constexpr agentrace::key<std::string> g_response{"gen_ai.response.model"};
constexpr agentrace::key<std::string> g_address{"server.address"};
constexpr agentrace::key<std::int64_t> g_port{"server.port"};
constexpr agentrace::key<std::string> g_error{"error.type"};
constexpr agentrace::key<std::int64_t> g_input{"gen_ai.usage.input_tokens"};
constexpr agentrace::span_site genai_site{"chat m1", agentrace::span_kind::client, __FILE__,
                                          __LINE__, "test"};

void fill_genai(agentrace::span_record& r, const genai_case& c, std::uint64_t n,
                std::uint64_t duration_ns) {
  using agentrace::detail::slot_type;
  r.site = &genai_site;
  r.trace_id = {7, n};
  r.span_id = 100 + n;
  r.start_ticks = 1'000'000'000 * n;
  r.end_ticks = r.start_ticks + duration_ns;
  if (c.error) r.set_status(agentrace::status_code::error);
  r.push_static_string(g_op.name(), c.op);
  r.push_static_string(g_provider.name(), c.provider);
  if (!c.model_before.empty()) r.push_static_string(g_model.name(), c.model_before);
  if (c.owned_model)
    r.push_slot(g_model.name(), slot_type::owned_str,
                reinterpret_cast<std::uintptr_t>(new std::string(c.model)));
  else
    r.push_static_string(g_model.name(), c.model);
  if (!c.response.empty()) r.push_static_string(g_response.name(), c.response);
  r.push_static_string(g_address.name(), c.address);
  if (c.port >= 0) r.push_slot(g_port.name(), slot_type::int64, static_cast<std::uint64_t>(c.port));
  if (!c.error_type.empty()) r.push_static_string(g_error.name(), c.error_type);
  REQUIRE(r.push_slot(g_input.name(), slot_type::int64, static_cast<std::uint64_t>(c.input)));
}

// The attribute set a GenAI point stands for, as text.
std::string genai_key(const agentrace::metric_point& p) {
  return str_attr(p, "gen_ai.operation.name") + "|" + str_attr(p, "gen_ai.provider.name") + "|" +
         str_attr(p, "gen_ai.request.model") + "|" + str_attr(p, "gen_ai.response.model") + "|" +
         str_attr(p, "server.address") + "|" + std::to_string(int_attr(p, "server.port")) + "|" +
         str_attr(p, "error.type");
}
std::string genai_key(const genai_case& c) {
  const std::string_view error_type = c.error_type.empty() && c.error ? "_OTHER" : c.error_type;
  return std::string(c.op) + "|" + std::string(c.provider) + "|" + std::string(c.model) + "|" +
         std::string(c.response) + "|" + std::string(c.address) + "|" +
         std::to_string(c.port < 0 ? -1 : c.port) + "|" + std::string(error_type);
}

}  // namespace

TEST_CASE(
    "span metrics: inference spans in a row that differ in one GenAI attribute or the status "
    "are told apart") {
  const genai_case base;
  std::vector<genai_case> variants;
  auto vary = [&](auto change) {
    genai_case c = base;
    change(c);
    variants.push_back(c);
  };
  vary([](genai_case& c) { c.op = "embeddings"; });
  vary([](genai_case& c) { c.provider = "anthropic"; });
  vary([](genai_case& c) { c.model = "m2"; });
  vary([](genai_case& c) { c.model = "m1x"; });  // another length
  vary([](genai_case& c) { c.response = "r2"; });
  vary([](genai_case& c) { c.address = "b.example"; });
  vary([](genai_case& c) { c.port = 0; });
  vary([](genai_case& c) { c.port = -1; });  // no server.port
  vary([](genai_case& c) { c.error_type = "429"; });
  vary([](genai_case& c) { c.error = true; });  // error.type=_OTHER
  vary([](genai_case& c) {
    c.error = true;
    c.error_type = "429";
  });
  vary([](genai_case& c) { c.owned_model = true; });  // the same text: the base's series
  vary([](genai_case& c) {
    c.owned_model = true;
    c.model = "m3";
  });
  // A key set twice: the last value is the attribute (the base's set, and the "m2" one).
  vary([](genai_case& c) { c.model_before = "m2"; });
  vary([](genai_case& c) {
    c.model_before = "m1";
    c.model = "m2";
  });
  // Each variant between two base spans, twice over: every span follows one it differs from,
  // and one it equals.
  std::vector<genai_case> cases;
  for (int round = 0; round < 2; ++round)
    for (const genai_case& v : variants) {
      cases.push_back(base);
      cases.push_back(v);
      cases.push_back(v);
    }
  std::vector<agentrace::span_record> records(cases.size());
  std::map<std::string, std::uint64_t> expected_calls;
  std::map<std::string, double> expected_tokens;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    cases[i].input = static_cast<std::int64_t>(i);
    fill_genai(records[i], cases[i], i, 1'000'000);
    ++expected_calls[genai_key(cases[i])];
    expected_tokens[genai_key(cases[i])] += static_cast<double>(i);
  }
  // Not a set of its own: the owned "m1" (the base's), the errored span with error.type 429
  // (the set of the other 429 one), the two with the model set twice (the base's, "m2").
  REQUIRE(expected_calls.size() == variants.size() + 1 - 4);

  agentrace::span_metrics m({}, "svc");
  m.observe(records, agentrace::detail::clock_converter::unix_ns(1'000'000'000));
  const auto out = m.collect();
  const auto* dur = find_metric(out, agentrace::metric_names::genai_operation_duration);
  const auto* tok = find_metric(out, agentrace::metric_names::genai_token_usage);
  REQUIRE(dur);
  REQUIRE(tok);
  std::map<std::string, std::uint64_t> calls;
  for (const auto& p : dur->points) calls[genai_key(p)] += p.count;
  CHECK(calls == expected_calls);
  std::map<std::string, double> tokens;
  for (const auto& p : tok->points) tokens[genai_key(p)] += p.sum;
  CHECK(tokens == expected_tokens);

  // An owned string is known by its text, not its address: one span observed twice, its
  // model's text changed in between, counts in two sets.
  genai_case owned = base;
  owned.owned_model = true;
  std::vector<agentrace::span_record> one(1);
  fill_genai(one[0], owned, 1, 1'000'000);
  agentrace::span_metrics m2({}, "svc");
  const auto clock = agentrace::detail::clock_converter::unix_ns(1'000'000'000);
  m2.observe(one, clock);
  for (std::uint8_t i = 0; i < one[0].n_attrs; ++i)
    if (one[0].attrs[i].type() == agentrace::detail::slot_type::owned_str)
      *one[0].attrs[i].owned() = "m9";
  m2.observe(one, clock);
  const auto out2 = m2.collect();
  const auto* dur2 = find_metric(out2, agentrace::metric_names::genai_operation_duration);
  REQUIRE(dur2);
  std::map<std::string, std::uint64_t> models;
  for (const auto& p : dur2->points) models[str_attr(p, "gen_ai.request.model")] += p.count;
  CHECK(models == std::map<std::string, std::uint64_t>{{"m1", 1}, {"m9", 1}});
}

TEST_CASE(
    "span metrics: a bucket's exemplar is its errored span with the largest value, else its "
    "largest") {
  // One GenAI attribute set (error.type given, so errored and other spans share the series);
  // every duration in the first bucket (<= 10 ms) of the operation duration.
  genai_case c;
  c.error_type = "timeout";
  struct span {
    std::uint64_t duration_us;
    bool error;
  };
  auto exemplar_of = [&](const std::vector<span>& spans) {
    std::vector<agentrace::span_record> records(spans.size());
    for (std::size_t i = 0; i < spans.size(); ++i) {
      c.error = spans[i].error;
      fill_genai(records[i], c, i, spans[i].duration_us * 1000);
    }
    agentrace::span_metrics m({}, "svc");
    m.observe(records, agentrace::detail::clock_converter::unix_ns(1'000'000'000));
    const auto out = m.collect();
    const auto* dur = find_metric(out, agentrace::metric_names::genai_operation_duration);
    REQUIRE(dur);
    REQUIRE(dur->points.size() == 1);
    REQUIRE(dur->points[0].bucket_counts[0] == spans.size());
    REQUIRE(dur->points[0].exemplars.size() == 1);
    const auto& e = dur->points[0].exemplars[0];
    CHECK(e.trace_id.lo == e.span_id - 100);  // names one of the spans
    return e.span_id - 100;                   // its index
  };
  // The largest errored span, wherever it comes and whatever larger spans did not fail.
  CHECK(exemplar_of({{1500, false},
                     {1000, false},
                     {500, true},
                     {9000, false},
                     {700, true},
                     {600, true},
                     {8000, false}}) == 4);
  CHECK(exemplar_of({{700, true}, {1500, false}, {500, true}}) == 0);
  // Without errors, the largest.
  CHECK(exemplar_of({{1500, false}, {3000, false}, {2000, false}, {0, false}}) == 1);
  CHECK(exemplar_of({{0, false}, {0, false}}) == 1);  // as large: the later one
  CHECK(exemplar_of({{0, false}}) == 0);
  CHECK(exemplar_of({{0, true}, {9000, false}}) == 0);
}
