// SPDX-License-Identifier: MIT
// Collector CPU per span with tail sampling on and off, on the same workload: batches of 512
// records (64 agent requests of 8 spans: a root, LLM calls with token counts, database queries,
// one request in 16 failing) built, then exported as OTLP-JSON. Off: every span is serialized.
// On: the tail sampler holds the records, assembles the traces, evaluates the rule
// `errors or db.query > p95 or gen_ai.usage.input_tokens > 4000` (running quantiles included),
// keeps 1% of the rest by ratio, and only the kept spans are serialized; KeepAll keeps every
// trace (the rule `duration >= 0ns`), the worst case: the sampler's work plus every span's
// serialization. Target: On and KeepAll <= 2x Off per span.
#include <agentrace/agentrace.hpp>
#include <agentrace/tail_sampling.hpp>
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace {

inline constexpr agentrace::key<std::int64_t> k_in{"gen_ai.usage.input_tokens"};
inline constexpr agentrace::key<std::string> k_model{"gen_ai.request.model"};
inline constexpr agentrace::key<std::string> k_sql{"db.query.text"};

constexpr agentrace::span_site site_root{"invoke_agent", agentrace::span_kind::internal, __FILE__,
                                         __LINE__, "bench"};
constexpr agentrace::span_site site_chat{"chat", agentrace::span_kind::client, __FILE__, __LINE__,
                                         "bench"};
constexpr agentrace::span_site site_db{"db.query", agentrace::span_kind::client, __FILE__, __LINE__,
                                       "bench"};

constexpr std::size_t batch = 512, spans_per_trace = 8;

// Fills `out` with the next batch: fresh trace ids each time, children before their root (the
// order spans end in).
void make_batch(std::vector<agentrace::span_record>& out, std::uint64_t& next_trace) {
  using agentrace::detail::slot_type;
  for (std::size_t t = 0; t < batch / spans_per_trace; ++t) {
    const std::uint64_t id = ++next_trace;
    const agentrace::trace_id tid{id * 0x9E3779B97F4A7C15ull, id * 0xBF58476D1CE4E5B9ull};
    const std::uint64_t root = id << 4;
    for (std::size_t i = 0; i < spans_per_trace; ++i) {
      auto& r = out[t * spans_per_trace + i];
      r = agentrace::span_record();  // nothing left from the last round (status)
      const bool is_root = i == spans_per_trace - 1;
      const bool db = !is_root && i % 2 == 1;
      r.site = is_root ? &site_root : db ? &site_db : &site_chat;
      r.trace_id = tid;
      r.span_id = root + i + 1;
      r.parent_span_id = is_root ? 0 : root + spans_per_trace;
      r.flags = 1;
      r.start_ticks = 1'000'000 * id + 10'000 * i;
      r.end_ticks = r.start_ticks + (db ? 2'000'000 + (id * 7919 + i) % 1'000'000 : 500'000);
      if (db) {
        r.push_static_string(k_sql.name(), "SELECT name FROM customers WHERE id = ?");
        if (id % 16 == 0 && i == 1) r.set_status(agentrace::status_code::error);
      } else if (!is_root) {
        r.push_slot(k_in.name(), slot_type::int64, 100 + (id * 31 + i) % 1000);
        r.push_static_string(k_model.name(), "gpt-4o-mini");
      }
    }
  }
}

struct fixture {
  agentrace::resource res;
  agentrace::detail::clock_converter clock;
  agentrace::span_limits limits;
  fixture() {
    agentrace::config cfg;
    cfg.service_name = "bench";
    cfg.read_environment = false;
    res = agentrace::make_resource(cfg);
  }
  std::size_t export_json(const std::vector<agentrace::span_record>& r, std::size_t n,
                          fmt::memory_buffer& buf) const {
    if (n == 0) return 0;
    buf.clear();
    agentrace::export_batch b{std::span<const agentrace::span_record>(r.data(), n),
                              res,
                              clock,
                              limits,
                              "agentrace",
                              "0.1.0",
                              0};
    agentrace::serialize_otlp_json(b, buf);
    return n;
  }
};

void BM_CollectorTailSamplingOff(benchmark::State& state) {
  const fixture f;
  std::vector<agentrace::span_record> pending(batch);
  fmt::memory_buffer buf;
  std::uint64_t next = 0;
  for (auto _ : state) {
    make_batch(pending, next);
    f.export_json(pending, pending.size(), buf);
    for (auto& r : pending) r.reset();
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
}

void tail_bench(benchmark::State& state, agentrace::tail_sampling_config cfg) {
  const fixture f;
  cfg.wait = std::chrono::milliseconds(1);  // the decision runs in the same iteration (below)
  auto sampler = agentrace::detail::make_tail_sampler(cfg, f.limits, f.res, false);
  std::vector<agentrace::span_record> pending(batch);
  fmt::memory_buffer buf;
  std::uint64_t next = 0, exported = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::int64_t round = 0;
  for (auto _ : state) {
    make_batch(pending, next);
    // A time that moves on by more than the wait each round: the batch's traces are due.
    const auto now = t0 + std::chrono::milliseconds(2 * ++round);
    sampler->hold(pending, pending.size(), f.clock, now);
    std::size_t n;
    while ((n = sampler->take_ready(pending, f.clock, now, agentrace::detail::take_mode::due)) >
           0) {
      exported += f.export_json(pending, n, buf);
      for (std::size_t i = 0; i < n; ++i) pending[i].reset();
    }
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.counters["kept"] = static_cast<double>(exported) /
                           static_cast<double>(std::max<std::int64_t>(state.iterations(), 1) *
                                               static_cast<std::int64_t>(batch));
}

void BM_CollectorTailSamplingOn(benchmark::State& state) {
  tail_bench(state, {.rule = "errors or db.query > p95 or gen_ai.usage.input_tokens > 4000",
                     .ratio = 0.01});
}
void BM_CollectorTailSamplingKeepAll(benchmark::State& state) {
  tail_bench(state, {.rule = "duration >= 0ns"});
}
BENCHMARK(BM_CollectorTailSamplingOff);
BENCHMARK(BM_CollectorTailSamplingOn);
BENCHMARK(BM_CollectorTailSamplingKeepAll);

}  // namespace
