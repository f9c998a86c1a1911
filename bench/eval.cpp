// SPDX-License-Identifier: MIT
// Self-evaluation throughput: OTLP-JSON lines -> read_span -> whole traces (BM_EvalReadSpans,
// target >= 250,000 spans/s on one core), and the statistics scan the CLI's `stats` runs.
#include <agentrace/eval/reader.hpp>
#include <agentrace/eval/stats.hpp>
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string>

namespace {

// The shape of otlp-check's tools/gen-spans.mjs: traces of 10 spans (a root and 9 children),
// 8 attributes per span (strings, ints as strings and numbers, bool, double, string array),
// an event on every 5th span, 512 spans per request line. ~740 bytes per span.
// The agent shape, as agentrace's exporter writes it: traces of 10 spans, 4 attributes each
// (operation, model, input and output tokens), flags, kind, status. ~400 bytes per span.
const std::string& generated_agent(std::size_t n) {
  static std::string text;
  static std::size_t made_for = 0;
  if (made_for == n) return text;
  text.clear();
  made_for = n;
  std::uint64_t trace_hi = 0x4bf92f3577b34da6ull, root = 0;
  std::size_t made = 0;
  while (made < n) {
    text +=
        R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"sql-agent"}},{"key":"telemetry.sdk.name","value":{"stringValue":"agentrace"}}]},"scopeSpans":[{"scope":{"name":"agentrace","version":"0.1.0","attributes":[{"key":"agentrace.spans.dropped","value":{"intValue":"0"}}]},"spans":[)";
    for (std::size_t i = 0; i < 512 && made < n; ++i, ++made) {
      if (i) text += ',';
      if (made % 10 == 0) {
        ++trace_hi;
        root = 0;
      }
      const std::uint64_t span = made * 0x9E3779B97F4A7C15ull | 1;
      const std::uint64_t start = 1767225600000000000ull + made * 1000;
      text += fmt::format(R"({{"traceId":"{:016x}a3ce929d0e0e4736","spanId":"{:016x}")", trace_hi,
                          span);
      if (root) text += fmt::format(R"(,"parentSpanId":"{:016x}")", root);
      text += fmt::format(
          R"(,"flags":259,"name":"{}","kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[)"
          R"({{"key":"gen_ai.operation.name","value":{{"stringValue":"chat"}}}},{{"key":"gen_ai.request.model","value":{{"stringValue":"gpt-4o"}}}},)"
          R"({{"key":"gen_ai.usage.input_tokens","value":{{"intValue":"{}"}}}},{{"key":"gen_ai.usage.output_tokens","value":{{"intValue":"{}"}}}}],"status":{{{}}}}})",
          root ? "chat gpt-4o" : "agent.task", root ? 3 : 1, start, start + 1000 + made % 997,
          100 + made % 4000, 10 + made % 300,
          made % 50 == 0 ? R"("code":2,"message":"failed")" : "");
      if (!root) root = span;
    }
    text += "]}]}]}\n";
  }
  return text;
}

const std::string& generated(std::size_t n) {
  static std::string text;
  static std::size_t made_for = 0;
  if (made_for == n) return text;
  text.clear();
  made_for = n;
  std::uint64_t trace_hi = 0x0af7651916cd43ddull, root = 0;
  std::size_t made = 0;
  while (made < n) {
    text +=
        R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bench"}}]},"scopeSpans":[{"scope":{"name":"bench","version":"1.0.0"},"spans":[)";
    for (std::size_t i = 0; i < 512 && made < n; ++i, ++made) {
      if (i) text += ',';
      if (made % 10 == 0) {
        ++trace_hi;
        root = 0;
      }
      const std::uint64_t span = made * 0x9E3779B97F4A7C15ull | 1;
      const std::uint64_t start = 1700000000000000000ull + made * 1000;
      text += fmt::format(R"({{"traceId":"{:016x}8448eb211c80319c","spanId":"{:016x}",)", trace_hi,
                          span);
      if (root) text += fmt::format(R"("parentSpanId":"{:016x}",)", root);
      text += fmt::format(
          R"("name":"{}","kind":{},"startTimeUnixNano":"{}","endTimeUnixNano":"{}","attributes":[)"
          R"({{"key":"http.request.method","value":{{"stringValue":"GET"}}}},{{"key":"http.response.status_code","value":{{"intValue":"200"}}}},)"
          R"({{"key":"url.path","value":{{"stringValue":"/api/items/{}"}}}},{{"key":"server.port","value":{{"intValue":8080}}}},)"
          R"({{"key":"sampled","value":{{"boolValue":true}}}},{{"key":"ratio","value":{{"doubleValue":0.5}}}},)"
          R"({{"key":"tags","value":{{"arrayValue":{{"values":[{{"stringValue":"a"}},{{"stringValue":"b"}}]}}}}}},{{"key":"thread.id","value":{{"intValue":"{}"}}}}])",
          root ? fmt::format("child-{}", made % 7) : std::string("GET /api/items"), root ? 3 : 2,
          start, start + 500 + made % 97, made, made % 16);
      if (made % 5 == 0)
        text += fmt::format(
            R"(,"events":[{{"timeUnixNano":"{}","name":"event","attributes":[{{"key":"n","value":{{"intValue":"1"}}}}]}}])",
            start + 100);
      text += fmt::format(R"(,"status":{{"code":{}}},"flags":257}})", made % 50 == 0 ? 2 : 0);
      if (!root) root = span;
    }
    text += "]}]}]}\n";
  }
  return text;
}

// range(0): spans; range(1): 0 = gen-spans shape (~740 B/span), 1 = agent shape (~400 B/span).
void BM_EvalReadSpans(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::string& text = state.range(1) == 0 ? generated(n) : generated_agent(n);
  std::size_t traces = 0;
  for (auto _ : state) {
    agentrace::eval::reader r;
    agentrace::eval::trace_builder b;
    r.read_string(text, "bench", [&](agentrace::eval::read_span&& s) { b.add(std::move(s)); });
    auto built = b.finish();
    traces = built.size();
    benchmark::DoNotOptimize(built.data());
  }
  if (traces != n / 10) state.SkipWithError("wrong number of traces");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EvalReadSpans)->Args({20000, 0})->Args({20000, 1})->Unit(benchmark::kMillisecond);

// The floor: nlohmann's SAX parser with a handler that keeps nothing, over the same text.
struct null_sax final : nlohmann::json_sax<nlohmann::json> {
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
};

void BM_EvalLexerOnly(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::string& text = state.range(1) == 0 ? generated(n) : generated_agent(n);
  for (auto _ : state) {
    null_sax h;
    std::size_t pos = 0;
    while (pos < text.size()) {
      const std::size_t nl = text.find('\n', pos);
      nlohmann::json::sax_parse(text.data() + pos, text.data() + nl, &h);
      pos = nl + 1;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_EvalLexerOnly)->Args({20000, 0})->Args({20000, 1})->Unit(benchmark::kMillisecond);

// The `stats` pass: no attributes kept but the few statistics need, no trees.
void BM_EvalStatsScan(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::string& text = generated(n);
  for (auto _ : state) {
    agentrace::eval::reader_options o;
    o.attributes = false;
    o.keep_attributes = agentrace::eval::stats_attribute_keys();
    agentrace::eval::reader r(o);
    agentrace::eval::span_stats st;
    r.read_string(text, "bench", [&](agentrace::eval::read_span&& s) { st.add(s.span); });
    st.finish();
    benchmark::DoNotOptimize(st.spans());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}
BENCHMARK(BM_EvalStatsScan)->Arg(20000)->Unit(benchmark::kMillisecond);

}  // namespace
