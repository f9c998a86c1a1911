// SPDX-License-Identifier: MIT
// Collector-side cost: records to OTLP-JSON bytes.
#include <agentrace/agentrace.hpp>
#include <benchmark/benchmark.h>

#include <vector>

namespace {

inline constexpr agentrace::key<std::int64_t> k_tokens{"gen_ai.usage.input_tokens"};
inline constexpr agentrace::key<std::string> k_model{"gen_ai.request.model"};
inline constexpr agentrace::key<double> k_temp{"gen_ai.request.temperature"};
inline constexpr agentrace::key<bool> k_stream{"app.stream"};

constexpr agentrace::span_site site{"chat", agentrace::span_kind::client, __FILE__, __LINE__,
                                    "bench"};

void BM_SerializeOtlpJson(benchmark::State& state) {
  const std::size_t n = 512;
  std::vector<agentrace::span_record> records(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& r = records[i];
    r.site = &site;
    r.trace_id = {0x0123456789abcdefull + i, 0xfedcba9876543210ull};
    r.span_id = 0x1000 + i;
    r.parent_span_id = i ? 0x1000 + i - 1 : 0;
    r.flags = 1;
    r.start_ticks = 1'000'000 * i;
    r.end_ticks = r.start_ticks + 123'456;
    r.n_attrs = 4;
    using agentrace::detail::slot_type;
    r.types[0] = slot_type::int64;
    r.attrs[0].key = k_tokens.name().data();
    r.attrs[0].key_len = static_cast<std::uint32_t>(k_tokens.name().size());
    r.attrs[0].v.i = static_cast<std::int64_t>(i);
    r.types[1] = slot_type::static_str;
    r.attrs[1].key = k_model.name().data();
    r.attrs[1].key_len = static_cast<std::uint32_t>(k_model.name().size());
    r.attrs[1].v.s = "gpt-4o-mini";
    r.attrs[1].str_len = 11;
    r.types[2] = slot_type::float64;
    r.attrs[2].key = k_temp.name().data();
    r.attrs[2].key_len = static_cast<std::uint32_t>(k_temp.name().size());
    r.attrs[2].v.d = 0.7;
    r.types[3] = slot_type::boolean;
    r.attrs[3].key = k_stream.name().data();
    r.attrs[3].key_len = static_cast<std::uint32_t>(k_stream.name().size());
    r.attrs[3].v.b = true;
  }
  agentrace::config cfg;
  cfg.service_name = "bench";
  cfg.read_environment = false;
  const agentrace::resource res = agentrace::make_resource(cfg);
  const agentrace::detail::clock_converter clock;
  const agentrace::span_limits limits;
  fmt::memory_buffer buf;
  std::size_t bytes = 0;
  for (auto _ : state) {
    buf.clear();
    agentrace::export_batch batch{records, res, clock, limits, "agentrace", "0.1.0", 0};
    agentrace::serialize_otlp_json(batch, buf);
    bytes += buf.size();
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_SerializeOtlpJson);

}  // namespace
