// SPDX-License-Identifier: MIT
// A program that reads, summarizes and queries traces with <agentrace/eval/light.hpp> alone.
// Compiled mode (AGENTRACE_COMPILED_LIB): the header must stay light (no nlohmann_json, fmt,
// <iostream>, <regex>, <sstream>, the reader, span statistics or the query's evaluator; a
// header below that it pulls in fails the compilation with its name) and the definitions come
// from the agentrace library.
// Header-only, the same program compiles them inline. Run by the CTest test light_eval_program
// on tests/fixtures/example-otlp-trace.json (one trace: invoke_agent 2.35 s, chat 1.2 s,
// SELECT orders 40 ms with status ERROR); exits 1 and names each result that differs.
#include <agentrace/eval/light.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#if defined(AGENTRACE_COMPILED_LIB)
#if defined(INCLUDE_NLOHMANN_JSON_HPP_) || defined(NLOHMANN_JSON_VERSION_MAJOR)
#error "<agentrace/eval/light.hpp> includes nlohmann/json"
#endif
#if defined(_GLIBCXX_IOSTREAM) || defined(_LIBCPP_IOSTREAM)
#error "<agentrace/eval/light.hpp> includes <iostream>"
#endif
#if defined(_GLIBCXX_REGEX) || defined(_LIBCPP_REGEX)
#error "<agentrace/eval/light.hpp> includes <regex>"
#endif
#if defined(_GLIBCXX_SSTREAM) || defined(_LIBCPP_SSTREAM)
#error "<agentrace/eval/light.hpp> includes <sstream>"
#endif
#if defined(FMT_VERSION)
#error "<agentrace/eval/light.hpp> includes fmt"
#endif
// The definitions' own headers: the reader, the statistics, the query; the writers.
#if defined(AGENTRACE_EVAL_LIGHT_IMPL_INCLUDED)
#error "<agentrace/eval/light.hpp> includes its definitions (detail/light_impl.hpp)"
#endif
#if defined(AGENTRACE_EVAL_LIGHT_WRITERS_IMPL_INCLUDED)
#error "<agentrace/eval/light.hpp> includes its definitions (detail/light_writers_impl.hpp)"
#endif
#endif

namespace {
int failures = 0;
void expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "light_eval_program: %s\n", what);
  ++failures;
}
}  // namespace

int main(int argc, char** argv) {
  namespace ev = agentrace::eval;
  if (argc != 3) {
    std::fprintf(stderr, "usage: light_eval_program example-otlp-trace.json missing-file\n");
    return 2;
  }
  const ev::traces_read in = ev::read_all({argv[1]});
  expect(in.traces.size() == 1, "the fixture is one trace");
  expect(in.counts.spans == 3 && in.counts.spans_bad == 0, "the fixture has 3 good spans");
  expect(in.diagnostics.empty(), "the fixture reads without a diagnostic");

  const ev::trace_summary summary(in.traces);
  expect(summary.spans() == 3 && summary.traces() == 1, "the summary counts 3 spans, 1 trace");
  expect(summary.errors() == 1, "the summary counts 1 error");
  const std::vector<ev::name_stats> rows = summary.by_name();
  bool select_row = false;
  for (const ev::name_stats& r : rows)
    if (r.name == "SELECT orders") select_row = r.count == 1 && r.errors == 1 && r.max == 40000000;
  expect(rows.size() == 3 && select_row, "by_name has SELECT orders: 1 span, 1 error, 40 ms");
  expect(summary.percentile("chat gpt-4o-mini", 95) == 1200000000, "chat p95 is 1.2 s");

  const ev::trace_query errors = ev::trace_query::parse("errors");
  const std::vector<ev::selection> picked = errors.select(in.traces);
  expect(picked.size() == 1 && !picked[0].reasons.empty() &&
             picked[0].reasons[0].find("SELECT orders") != std::string::npos,
         "`errors` selects the trace, for SELECT orders");
  const ev::trace_query slow = ev::trace_query::parse("duration > 2s and not errors");
  expect(!slow.match(in.traces[0]).has_value(), "`duration > 2s and not errors` does not match");
  const ev::trace_query p95 = ev::trace_query::parse("\"chat gpt-4o-mini\" >= p95");
  expect(p95.needs_stats() && p95.match(in.traces[0], &summary).has_value(),
         "`\"chat gpt-4o-mini\" >= p95` matches with the summary");
  bool threw = false;
  try {
    (void)ev::trace_query::parse("duration >");
  } catch (const std::invalid_argument& e) {
    threw = std::string(e.what()).find("column") != std::string::npos;
  }
  expect(threw, "a bad query throws, naming the column");

  const ev::traces_read none = ev::read_all({argv[2]});
  expect(none.traces.empty() && none.counts.files_unreadable == 1 && none.diagnostics.size() == 1,
         "a missing file is counted and reported");

  // Datasets of the selected trace: one evaluation record that says why it was selected; one
  // fine-tuning example (the chat span's captured input and output; it did not fail); no
  // preference pair (no step failed and was retried). A selection of a trace not read is
  // counted as missing.
  std::vector<std::string> lines;
  auto collect = [&](std::string_view line) { lines.emplace_back(line); };
  const ev::dataset_counts eval_n = ev::write_dataset(in.traces, picked, collect);
  expect(eval_n.lines == 1 && lines.size() == 1 &&
             lines[0].rfind("{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
                            "\"service\":\"nl2sql-agent\",\"selected_because\":[\"errors: span "
                            "\\\"SELECT orders\\\" 53995c3f42cd8ad8 has status ERROR: no such "
                            "column: total\"],\"duration_ms\":2350.000,\"spans\":3,\"errors\":1,",
                            0) == 0 &&
             lines[0].find("\"judge_prompt\":\"You are evaluating") != std::string::npos,
         "the eval dataset is one record of the trace, with why it was selected");
  lines.clear();
  ev::dataset_options fo;
  fo.kind = ev::dataset_kind::finetune;
  fo.metadata = true;
  const ev::dataset_counts ft_n = ev::write_dataset(in.traces, picked, collect, fo);
  expect(ft_n.lines == 1 && ft_n.corrections == 0 && lines.size() == 1 &&
             lines[0] ==
                 "{\"messages\":[{\"role\":\"user\",\"content\":\"Top 3 customers by "
                 "revenue?\"},{\"role\":\"assistant\",\"content\":\"SELECT ...\"}],"
                 "\"metadata\":{\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
                 "\"span_id\":\"b7ad6b7169203331\",\"kind\":\"plain\"}}",
         "the fine-tuning dataset is the chat span's example");
  lines.clear();
  ev::dataset_options po;
  po.kind = ev::dataset_kind::preference;
  std::vector<ev::selection> with_unknown = picked;
  with_unknown.push_back({agentrace::trace_id{1, 2}, {}});
  const ev::dataset_counts pref_n = ev::write_dataset(in.traces, with_unknown, collect, po);
  expect(pref_n.lines == 0 && lines.empty() && pref_n.without_content == 0 &&
             pref_n.identical == 0 && pref_n.missing == 1,
         "no preference pair; the selection of an unknown trace is counted as missing");

  // The report: every span's statistics, the selected trace drawn; with a price table, the
  // chat's cost (412 input tokens at $1000 and 38 output at $2000 per million: $0.4880).
  ev::report_options ro;
  ro.title = "light eval report";
  const std::string html = ev::report_html(in.traces, picked, ro);
  expect(html.rfind("<!DOCTYPE html>", 0) == 0 &&
             html.find("light eval report") != std::string::npos &&
             html.find("4bf92f3577b34da6a3ce929d0e0e4736") != std::string::npos &&
             html.find("SELECT orders") != std::string::npos &&
             html.find("no such column: total") != std::string::npos &&
             html.find("sum-cost") == std::string::npos,
         "the report draws the selected trace, without costs when no price table is given");
  const std::string prices = std::string(argv[2]) + ".prices.json";
  if (std::FILE* f = std::fopen(prices.c_str(), "wb")) {
    std::fputs(
        R"({"unit": "per_million", "models": {"gpt-4o-mini": {"input": 1000, "output": 2000}}})",
        f);
    std::fclose(f);
  }
  const std::string priced = ev::report_html(in.traces, picked, ro, prices);
  expect(priced.find("<b id=\"sum-cost\">$0.4880</b>") != std::string::npos,
         "with the price table the report's summary shows the chat's cost, $0.4880");
  std::remove(prices.c_str());
  bool named = false;
  try {
    (void)ev::report_html(in.traces, picked, ro, argv[2]);
  } catch (const std::runtime_error& e) {
    named = std::string(e.what()).find(argv[2]) != std::string::npos;
  }
  expect(named, "a price table that cannot be read throws, naming the file");

  if (failures == 0)
    std::puts(
        "light_eval_program: read, summarized, queried the fixture and wrote its datasets and "
        "report");
  return failures == 0 ? 0 : 1;
}
