// SPDX-License-Identifier: MIT
// Collector-side cost: records to OTLP bytes, OTLP/JSON and protobuf, on the same batch.
#include <agentrace/agentrace.hpp>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <bit>
#include <vector>

namespace {

inline constexpr agentrace::key<std::int64_t> k_tokens{"gen_ai.usage.input_tokens"};
inline constexpr agentrace::key<std::string> k_model{"gen_ai.request.model"};
inline constexpr agentrace::key<double> k_temp{"gen_ai.request.temperature"};
inline constexpr agentrace::key<bool> k_stream{"app.stream"};

constexpr agentrace::span_site site{"chat", agentrace::span_kind::client, __FILE__, __LINE__,
                                    "bench"};

// The same batch for both encodings: 512 spans with 4 attributes each.
struct serialize_fixture {
  std::vector<agentrace::span_record> records;
  agentrace::resource res;
  agentrace::detail::clock_converter clock;
  agentrace::span_limits limits;

  serialize_fixture() : records(512) {
    for (std::size_t i = 0; i < records.size(); ++i) {
      auto& r = records[i];
      r.site = &site;
      r.trace_id = {0x0123456789abcdefull + i, 0xfedcba9876543210ull};
      r.span_id = 0x1000 + i;
      r.parent_span_id = i ? 0x1000 + i - 1 : 0;
      r.flags = 1;
      r.start_ticks = 1'000'000 * i;
      r.end_ticks = r.start_ticks + 123'456;
      using agentrace::detail::slot_type;
      r.push_slot(k_tokens.name(), slot_type::int64, i);
      r.push_static_string(k_model.name(), "gpt-4o-mini");
      r.push_slot(k_temp.name(), slot_type::float64, std::bit_cast<std::uint64_t>(0.7));
      r.push_slot(k_stream.name(), slot_type::boolean, 1);
    }
    agentrace::config cfg;
    cfg.service_name = "bench";
    cfg.read_environment = false;
    res = agentrace::make_resource(cfg);
  }
};

template <void (*Serialize)(const agentrace::export_batch&, fmt::memory_buffer&)>
void serialize_bench(benchmark::State& state) {
  const serialize_fixture f;
  fmt::memory_buffer buf;
  std::size_t bytes = 0;
  for (auto _ : state) {
    buf.clear();
    agentrace::export_batch batch{f.records, f.res, f.clock, f.limits, "agentrace", "0.1.0", 0};
    Serialize(batch, buf);
    bytes += buf.size();
    benchmark::DoNotOptimize(buf.data());
  }
  const auto spans = static_cast<std::int64_t>(state.iterations() * f.records.size());
  state.SetItemsProcessed(spans);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["bytes_per_span"] =
      static_cast<double>(bytes) / static_cast<double>(std::max<std::int64_t>(spans, 1));
}

void BM_SerializeOtlpJson(benchmark::State& state) {
  serialize_bench<agentrace::serialize_otlp_json>(state);
}
void BM_SerializeOtlpProtobuf(benchmark::State& state) {
  serialize_bench<agentrace::serialize_otlp_protobuf>(state);
}
BENCHMARK(BM_SerializeOtlpJson);
BENCHMARK(BM_SerializeOtlpProtobuf);

}  // namespace
