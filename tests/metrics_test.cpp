// SPDX-License-Identifier: MIT
// Span-derived metrics: RED per span name / kind / status, GenAI duration and token usage,
// exemplars, the cardinality limit, temporality, and their OTLP encodings (checked by
// otlp-check, JSON and protobuf).
#include <agentrace/agentrace.hpp>
#include <agentrace/genai/spans.hpp>
#include <agentrace/otlp/metrics.hpp>

#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <thread>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core_test_util.hpp"

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
  const int rc = std::system(
      (std::string(AGENTRACE_OTLP_CHECK) + " validate --strict " + args + " " + f + " > " + out +
       " 2>&1")
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
  agentrace::genai::inference_span s(
      {.provider = "openai", .model = model, .server_address = "127.0.0.1", .server_port = 8080,
       .stream = stream});
  if (stream) s.chunk();
  s.response("id-1", std::string(model) + "-2025");
  s.usage({.input_tokens = in, .output_tokens = out});
  if (fail) s.fail("429", "rate limited");
}

}  // namespace

TEST_CASE("span metrics: calls and durations per span name, kind and status; exemplars name "
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

  const auto [rc, out] = otlp_check("--signal metrics", capture->json_bodies().back(), "metrics_genai");
  INFO(out);
  CHECK(rc == 0);
  const auto [prc, pout] =
      otlp_check("--protobuf --signal metrics", capture->proto_bodies().back(), "metrics_genai_pb");
  INFO(pout);
  CHECK(prc == 0);
}

TEST_CASE("span metrics: names from user text stop at the cardinality limit; the rest go to "
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

TEST_CASE("instruments: counter, up-down counter, histogram and observable gauge, from two "
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
  const auto [rc, out] = otlp_check("--signal metrics", capture->json_bodies().back(), "instr_json");
  INFO(out);
  CHECK(rc == 0);
  const auto [prc, pout] =
      otlp_check("--protobuf --signal metrics", capture->proto_bodies().back(), "instr_proto");
  INFO(pout);
  CHECK(prc == 0);
}

TEST_CASE("instruments: past the cardinality limit one overflow series; delta reports the "
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
