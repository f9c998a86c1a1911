// SPDX-License-Identifier: MIT
// GenAI helpers: what a convention-shaped span costs next to a plain span with the same number of
// attributes, and what content capture (redaction + JSON in the schema's shape + size limit)
// costs next to copying the content once.
#include <agentrace/agentrace.hpp>
#include <agentrace/genai.hpp>
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

namespace {

namespace genai = agentrace::genai;
namespace gen_ai = agentrace::semconv::gen_ai;

class null_exporter final : public agentrace::exporter {
 public:
  std::string_view name() const noexcept override { return "null"; }
  agentrace::export_result export_spans(const agentrace::export_batch&) override {
    return agentrace::export_result::success;
  }
};

// Tracing for the duration of one benchmark run: uses the process's live collector when another
// benchmark file started one (only one start() may be active), else starts and stops its own.
struct tracing_scope {
  agentrace::tracing own;
  tracing_scope() {
    if (!agentrace::detail::collector_active.load())
      own = agentrace::start({.service_name = "bench-genai",
                              .exporters = {std::make_shared<null_exporter>()},
                              .read_environment = false});
  }
};

// ---- spans ------------------------------------------------------------------------------------

void BM_PlainSpan5Attrs(benchmark::State& state) {
  tracing_scope t;
  for (auto _ : state) {
    AGENTRACE_SPAN(s, "chat", agentrace::span_kind::client);
    s.set(gen_ai::operation_name, gen_ai::operation_name_values::chat);
    s.set(gen_ai::provider_name, gen_ai::provider_name_values::openai);
    s.set(gen_ai::request_model, "gpt-4o");
    s.set(gen_ai::usage_input_tokens, 120);
    s.set(gen_ai::usage_output_tokens, 30);
  }
}
BENCHMARK(BM_PlainSpan5Attrs);

// The same attributes through the helper, which also builds the runtime name "chat gpt-4o".
void BM_InferenceSpan(benchmark::State& state) {
  tracing_scope t;
  for (auto _ : state) {
    genai::inference_span s({.provider = gen_ai::provider_name_values::openai, .model = "gpt-4o"});
    s.usage({.input_tokens = 120, .output_tokens = 30});
  }
}
BENCHMARK(BM_InferenceSpan);

// Content capture off: the messages are built and released, nothing is recorded.
void BM_InferenceSpanCaptureOff(benchmark::State& state) {
  tracing_scope t;
  genai::configure_content({.capture = false, .read_environment = false});
  for (auto _ : state) {
    genai::inference_span s({.provider = gen_ai::provider_name_values::openai, .model = "gpt-4o"});
    s.usage({.input_tokens = 120, .output_tokens = 30});
    if (genai::capture_content()) s.input_messages({genai::message::user("How many orders?")});
  }
}
BENCHMARK(BM_InferenceSpanCaptureOff);

// ---- content ----------------------------------------------------------------------------------

std::string prose(std::size_t n, bool secrets) {
  static const char* words[] = {"select",    "the", "orders",     "from",   "May",  "with", "their",
                                "customers", "and", "\"quoted\"", "text\n", "über", "rows"};
  std::string s;
  std::size_t i = 0;
  while (s.size() < n) {
    if (secrets && i % 97 == 50) s += "sk-proj-AbCdEfGhIjKlMnOpQrSt ";
    if (secrets && i % 89 == 40) s += "jane.doe@example.org ";
    s += words[i++ % std::size(words)];
    s += ' ';
  }
  s.resize(n);
  return s;
}

// Baseline: copying the content once into a new string.
void BM_ContentCopyOnce(benchmark::State& state) {
  const std::string text = prose(static_cast<std::size_t>(state.range(0)), false);
  for (auto _ : state) {
    std::string copy = text;
    benchmark::DoNotOptimize(copy.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_ContentCopyOnce)->Arg(4096)->Arg(65536);

void BM_DefaultRedactor(benchmark::State& state) {
  const std::string text = prose(static_cast<std::size_t>(state.range(0)), state.range(1) != 0);
  for (auto _ : state) {
    state.PauseTiming();
    std::string s = text;
    state.ResumeTiming();
    genai::default_redactor(s);
    benchmark::DoNotOptimize(s.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_DefaultRedactor)->Args({4096, 0})->Args({4096, 1})->Args({65536, 1});

// gen_ai.input.messages for one message of range(0) bytes (the string is moved in: the timed
// part starts from a message the caller no longer needs). range(1): redactor on.
void BM_InputMessagesJson(benchmark::State& state) {
  const std::string text = prose(static_cast<std::size_t>(state.range(0)), true);
  const genai::content_settings st{
      true, 1 << 20,
      state.range(1) ? genai::redactor_fn(genai::default_redactor) : genai::redactor_fn()};
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<genai::message> msgs;
    msgs.push_back(genai::message::user(text));
    state.ResumeTiming();
    std::string json = genai::input_messages_json(std::move(msgs), st);
    benchmark::DoNotOptimize(json.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_InputMessagesJson)
    ->Args({4096, 0})
    ->Args({4096, 1})
    ->Args({65536, 0})
    ->Args({65536, 1});

// Over the limit: 8 messages of 16 KiB into 32 KiB (cut inside the strings).
void BM_InputMessagesJsonTruncated(benchmark::State& state) {
  const std::string text = prose(16384, false);
  const genai::content_settings st{true, 32768, {}};
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<genai::message> msgs;
    for (int i = 0; i < 8; ++i) msgs.push_back(genai::message::user(text));
    state.ResumeTiming();
    std::string json = genai::input_messages_json(std::move(msgs), st);
    benchmark::DoNotOptimize(json.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 8 * 16384);
}
BENCHMARK(BM_InputMessagesJsonTruncated);

}  // namespace
