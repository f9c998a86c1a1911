// SPDX-License-Identifier: MIT
// Statistics: percentiles against values computed independently here, error rates, tokens.
#include <agentrace/eval/reader.hpp>
#include <agentrace/eval/stats.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <random>

#include "eval_helpers.hpp"

using namespace agentrace;
using namespace agentrace::eval;
using namespace eval_test;

namespace {
// Nearest rank computed with integers only: rank = ceil(p * n / 100).
std::uint64_t reference_percentile(std::vector<std::uint64_t> v, unsigned p) {
  std::sort(v.begin(), v.end());
  const std::size_t rank = (p * v.size() + 99) / 100;
  return v[std::max<std::size_t>(rank, 1) - 1];
}
}  // namespace

TEST_CASE("percentiles and error rates and maxima match an independent computation") {
  std::mt19937_64 rng(42);
  const std::map<std::string, std::size_t> counts = {
      {"db.query", 1003}, {"chat gpt-4o", 250}, {"tool.call", 7}};
  std::map<std::string, std::vector<std::uint64_t>> durations;
  std::map<std::string, std::uint64_t> errors;
  std::string text;
  std::uint64_t span = 1;
  for (const auto& [name, n] : counts) {
    for (std::size_t i = 0; i < n; ++i, ++span) {
      // Log-uniform durations between 1 us and 10 s, so that the tail matters.
      const double exp10 = std::uniform_real_distribution<double>(3, 10)(rng);
      const auto d = static_cast<std::uint64_t>(std::pow(10.0, exp10));
      const bool err = std::uniform_int_distribution<int>(0, 9)(rng) == 0;
      durations[name].push_back(d);
      errors[name] += err;
      const std::uint64_t start = 1767225600000000000ull + span * 1000;
      text += fmt::format(
          R"({{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{:032x}","spanId":"{:016x}","name":"{}","startTimeUnixNano":"{}","endTimeUnixNano":{},"status":{{"code":{}}}}}]}}]}}]}})"
          "\n",
          span % 97 + 1, span, name, start, start + d, err ? 2 : 0);
    }
  }
  reader r;
  span_stats st;
  r.read_string(text, "generated", [&](read_span&& s) { st.add(s.span); });
  CHECK(r.counts().diagnostics == 0);
  const auto rows = st.by_name();
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].name == "db.query");  // most frequent first
  for (const auto& row : rows) {
    INFO(row.name);
    const auto& d = durations.at(row.name);
    CHECK(row.count == d.size());
    CHECK(row.errors == errors.at(row.name));
    CHECK(row.error_rate ==
          Approx(static_cast<double>(errors.at(row.name)) / static_cast<double>(d.size())));
    CHECK(row.p50 == reference_percentile(d, 50));
    CHECK(row.p95 == reference_percentile(d, 95));
    CHECK(row.p99 == reference_percentile(d, 99));
    CHECK(row.max == *std::max_element(d.begin(), d.end()));
    CHECK(st.percentile(row.name, 90) == reference_percentile(d, 90));
  }
  CHECK(st.spans() == 1003 + 250 + 7);
  CHECK(st.traces() == 97);
  CHECK_FALSE(st.percentile("missing", 50).has_value());
}

TEST_CASE("a span delivered twice (a retried export) is counted once") {
  span_stats st;
  span_data s;
  s.trace_id = {1, 2};
  s.span_id = 3;
  s.name = "x";
  st.add(s);
  st.add(s);
  s.span_id = 4;
  st.add(s);
  s.trace_id = {1, 3};  // the same span id in another trace is another span
  st.add(s);
  CHECK(st.spans() == 3);
  CHECK(st.duplicates() == 1);
  CHECK(st.traces() == 2);
}

TEST_CASE("nearest-rank edge cases") {
  CHECK(nearest_rank({}, 50) == 0);
  CHECK(nearest_rank({7}, 1) == 7);
  CHECK(nearest_rank({7}, 100) == 7);
  const std::vector<std::uint64_t> v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  CHECK(nearest_rank(v, 50) == 5);
  CHECK(nearest_rank(v, 95) == 10);
  CHECK(nearest_rank(v, 90) == 9);
  CHECK(nearest_rank(v, 10) == 1);
}

TEST_CASE("token totals per model from our own exporter's output") {
  const auto dir = temp_dir("stats-tokens");
  const std::string path = (dir / "agent.jsonl").string();
  const auto written = record_agent_run(path);
  std::int64_t in = 0, out = 0;
  std::uint64_t llm = 0;
  for (const auto& s : written)
    if (const auto* v = s.attr("gen_ai.usage.input_tokens")) {
      in += std::get<std::int64_t>(*v);
      out += std::get<std::int64_t>(*s.attr("gen_ai.usage.output_tokens"));
      ++llm;
    }
  REQUIRE(llm == 3);
  // The statistics scan keeps only the attributes it needs.
  reader_options o;
  o.attributes = false;
  o.keep_attributes = stats_attribute_keys();
  reader r(o);
  span_stats st;
  r.read_file(path, [&](read_span&& s) {
    CHECK(s.span.attr("db.query.text") == nullptr);
    st.add(s.span);
  });
  const auto models = st.by_model();
  REQUIRE(models.size() == 1);
  CHECK(models[0].model == "gpt-4o");
  CHECK(models[0].spans == 3);
  CHECK(models[0].input_tokens == in);
  CHECK(models[0].output_tokens == out);
  CHECK(st.traces() == 3);
  CHECK(st.errors() == 2);  // the failed db.query and its sql.generate
}
