// SPDX-License-Identifier: MIT
// Tail sampling (agentrace/tail_sampling.hpp): whole local traces kept by an eval query, the
// rest by ratio or rate limit; reasons on kept roots; bounds under traces that never end; late
// children; remote parents; head sampling; shutdown with traces held. With SQLite, the SQL agent
// with slow and failing queries: the kept traces are exactly what `agentrace-eval select` finds
// in the unsampled run, each whole.
#include <agentrace/agentrace.hpp>
#include <agentrace/tail_sampling.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#if AGENTRACE_TAIL_SAMPLING_SQL_AGENT
#include <agentrace/eval/reader.hpp>
#include <nlohmann/json.hpp>

#include "agent.hpp"
#include "eval_helpers.hpp"
#endif

using namespace std::chrono_literals;
using agentrace::span_data;

namespace {

struct id_less {
  bool operator()(const agentrace::trace_id& a, const agentrace::trace_id& b) const {
    return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo;
  }
};
using id_set = std::set<agentrace::trace_id, id_less>;

agentrace::config base(std::shared_ptr<agentrace::exporter> mem,
                       agentrace::tail_sampling_config t) {
  agentrace::config c;
  c.exporters = {std::move(mem)};
  c.read_environment = false;
  c.schedule_delay = 10ms;
  c.tail_sampling = std::move(t);
  return c;
}

// What happened between two stats() (they count since the process started tracing).
agentrace::stats since(const agentrace::stats& a, const agentrace::stats& b) {
  agentrace::stats d = a;
  d.spans_ended -= b.spans_ended;
  d.spans_exported -= b.spans_exported;
  d.dropped_unsampled -= b.dropped_unsampled;
  d.dropped_not_running -= b.dropped_not_running;
  d.dropped_queue_full -= b.dropped_queue_full;
  d.dropped_tail_sampled -= b.dropped_tail_sampled;
  return d;
}

std::string reason_of(const span_data& s) {
  const auto* v = s.attr(agentrace::sampling_reason_key);
  return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : "";
}

std::map<agentrace::trace_id, std::vector<span_data>, id_less> by_trace(
    const std::vector<span_data>& spans) {
  std::map<agentrace::trace_id, std::vector<span_data>, id_less> m;
  for (const auto& s : spans) m[s.trace_id].push_back(s);
  return m;
}

// A trace of `children` + 1 spans; the root errs when `fail`.
void request(bool fail, int children = 2) {
  AGENTRACE_SPAN(root, "request");
  for (int i = 0; i < children; ++i) {
    AGENTRACE_SPAN(c, "step");
  }
  if (fail) root.error("bad request");
}

}  // namespace

TEST_CASE("the rule keeps whole traces and says why on the root; the rest is dropped and counted") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(base(mem, {.rule = "errors"}));
  const auto before = tracing.stats();
  for (int i = 0; i < 20; ++i) request(i % 4 == 0);
  tracing.shutdown();
  const auto traces = by_trace(mem->spans());
  REQUIRE(traces.size() == 5);
  for (const auto& [id, spans] : traces) {
    CHECK(spans.size() == 3);  // whole
    for (const auto& s : spans) {
      if (s.parent_span_id == 0) {
        CHECK(s.status == agentrace::status_code::error);
        CHECK(reason_of(s).rfind("errors: span \"request\"", 0) == 0);
      } else {
        CHECK(reason_of(s).empty());  // on the local root only
      }
    }
  }
  const auto st = since(tracing.stats(), before);
  CHECK(st.tail_sampling.traces_kept == 5);
  CHECK(st.tail_sampling.traces_dropped == 15);
  CHECK(st.dropped_tail_sampled == 45);
  CHECK(st.spans_exported == 15);
  CHECK(tracing.stats().queued() == 0);  // every span is exported or counted
  CHECK(st.dropped_total() == 0);        // sampling is not loss
}

TEST_CASE("the rest: a ratio deterministic on the trace id, a rate limit, their reasons") {
  SECTION("ratio") {
    auto mem = agentrace::memory();
    auto tracing = agentrace::start(base(mem, {.ratio = 0.5}));
    std::vector<agentrace::trace_id> ids;
    for (int i = 0; i < 200; ++i) {
      AGENTRACE_SPAN(s, "r");
      ids.push_back(s.context().trace_id);
    }
    tracing.shutdown();
    const std::uint64_t threshold = agentrace::detail::ratio_threshold(0.5);
    id_set want, got;
    for (const auto& id : ids)
      if (agentrace::detail::trace_randomness(id) >= threshold) want.insert(id);
    for (const auto& s : mem->spans()) {
      got.insert(s.trace_id);
      CHECK(reason_of(s) == "ratio");
    }
    CHECK(got == want);
    CHECK(want.size() > 50);
    CHECK(want.size() < 150);
  }
  SECTION("rate limit") {
    auto mem = agentrace::memory();
    auto tracing = agentrace::start(base(mem, {.rule = "errors", .rate_limit = 5}));
    for (int i = 0; i < 100; ++i) request(false, 0);
    tracing.force_flush();
    for (const auto& s : mem->spans()) CHECK(reason_of(s) == "rate_limit");
    // Decided within well under a second: the bucket (5 a second, burst 5) lets 5 or 6 pass.
    CHECK(mem->size() >= 5);
    CHECK(mem->size() <= 6);
    tracing.shutdown();
  }
}

TEST_CASE("memory stays bounded under a flood of traces whose local root never ends") {
  auto mem = agentrace::memory();
  auto cfg = base(mem, {.rule = "errors", .max_hold = 60000ms, .max_traces = 64, .max_spans = 256});
  cfg.max_queue_size = 8192;
  auto tracing = agentrace::start(cfg);
  const auto before = tracing.stats();
  // Children of a parent in this process that never ends: no trace ever completes.
  std::uint64_t spans = 0;
  for (std::uint64_t t = 1; t <= 3000; ++t) {
    agentrace::span_context never_ends{{t, t * 0x9E3779B97F4A7C15ull}, t, 1, false};
    for (int i = 0; i < 3; ++i, ++spans) {
      agentrace::span<"child"> k(never_ends);
      if (t % 100 == 0 && i == 0) k.error("kept");
    }
    if (t % 500 == 0) std::this_thread::sleep_for(20ms);  // no queue overflow
  }
  tracing.shutdown();
  const auto st = since(tracing.stats(), before);
  INFO("peak " << st.tail_sampling.peak_held_spans);
  CHECK(st.tail_sampling.peak_held_spans <= 256);
  CHECK(st.tail_sampling.traces_decided_early >= 3000 - 64);
  CHECK(st.spans_ended == spans);
  CHECK(st.dropped_queue_full == 0);
  CHECK(st.spans_exported + st.dropped_tail_sampled == spans);
  // The rule still applies to traces decided early: the 30 with an error are kept, whole.
  std::set<std::uint64_t> kept;
  for (const auto& s : mem->spans())
    if (s.name == "child") kept.insert(s.trace_id.hi);
  CHECK(kept.size() == 30);
  for (std::uint64_t hi : kept) CHECK(hi % 100 == 0);
  CHECK(mem->size() == 30 * 3);
}

TEST_CASE("held bytes are bounded: spans owning large strings decide the oldest traces early") {
  static constexpr agentrace::key<std::string> prompt{"gen_ai.prompt"};
  auto mem = agentrace::memory();
  // A span bound far above what is held: only the bytes bound can decide early.
  auto tracing = agentrace::start(
      base(mem, {.rule = "errors", .max_hold = 600000ms, .max_spans = 100000, .max_bytes = 65536}));
  const auto before = tracing.stats();
  for (std::uint64_t t = 1; t <= 40; ++t) {
    agentrace::span_context never_ends{{t, t * 0x9E3779B97F4A7C15ull}, t, 1, false};
    agentrace::span<"child"> k(never_ends);
    k.set(prompt, std::string(8000, 'p'));  // a copy the record owns: ~8 KB held per span
  }
  REQUIRE(tracing.force_flush());  // drained and held (no local root ended: none decided)
  const auto held = since(tracing.stats(), before).tail_sampling;
  INFO("held bytes " << held.held_bytes << ", spans " << held.held_spans);
  CHECK(held.held_bytes <= 65536);
  CHECK(held.held_bytes >= held.held_spans * 8000);  // the strings are counted
  CHECK(held.held_spans >= 5);
  CHECK(held.held_spans <= 8);
  CHECK(held.traces_decided_early == 40 - held.held_spans);
  CHECK(held.traces_dropped == 40 - held.held_spans);  // the rule (errors) kept none
  tracing.shutdown();
  CHECK(tracing.stats().queued() == 0);
}

TEST_CASE("late children: within the wait they join the trace; after the decision they follow it") {
  auto mem = agentrace::memory();
  // A wait long enough that the child ending 50 ms after its root is drained within it on a
  // loaded machine (under sanitizers, beside other tests).
  auto tracing = agentrace::start(base(mem, {.rule = "name = keep", .wait = 2000ms}));
  const auto before = tracing.stats();
  agentrace::span_context kept_ctx, dropped_ctx;
  std::optional<agentrace::span<"late">> soon, very_late, very_late_dropped;
  {
    agentrace::span<"keep"> root;
    kept_ctx = root.context();
    soon.emplace(kept_ctx);
    very_late.emplace(kept_ctx);
  }
  {
    agentrace::span<"other"> root(agentrace::span_context{});  // a trace of its own
    dropped_ctx = root.context();
    very_late_dropped.emplace(dropped_ctx);
  }
  std::this_thread::sleep_for(50ms);
  soon.reset();  // ends after its parent, within the wait
  // Once the wait has passed both traces are decided (polled: the collector decides at its
  // next export after the wait).
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (tracing.stats().tail_sampling.traces_kept + tracing.stats().tail_sampling.traces_dropped <
             2 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK(tracing.stats().tail_sampling.traces_kept == 1);
  CHECK(tracing.stats().tail_sampling.traces_dropped == 1);
  very_late.reset();
  very_late_dropped.reset();
  tracing.shutdown();
  const auto traces = by_trace(mem->spans());
  REQUIRE(traces.size() == 1);
  const auto& spans = traces.at(kept_ctx.trace_id);
  CHECK(spans.size() == 3);  // the root, the child within the wait, the one after the decision
  CHECK(tracing.stats().tail_sampling.traces_decided_early == 0);
  // The dropped trace's root and late child.
  CHECK(since(tracing.stats(), before).dropped_tail_sampled == 2);
  CHECK(tracing.stats().queued() == 0);
}

TEST_CASE("a span whose parent is remote is a local root: decided, and carries the reason") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(base(mem, {.rule = "duration > 20ms"}));
  const auto remote =
      agentrace::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  REQUIRE(remote);
  agentrace::span_context parent = *remote;
  parent.remote = true;
  {
    agentrace::span<"server", agentrace::span_kind::server> s(parent);
    AGENTRACE_SPAN(db, "db.query");
    std::this_thread::sleep_for(30ms);
  }
  {
    agentrace::span<"server", agentrace::span_kind::server> fast(parent);  // another request
  }
  tracing.shutdown();
  // Both requests share the remote trace id; the first local root's trace is kept whole. The
  // second, a local root of the same trace ended later, follows the decision.
  const auto spans = mem->spans();
  std::size_t roots = 0;
  for (const auto& s : spans) {
    CHECK(s.trace_id == remote->trace_id);
    if (s.parent_remote) {
      ++roots;
      CHECK(reason_of(s).find("duration > 20ms: span \"") == 0);
    }
  }
  CHECK(roots >= 1);
  CHECK(spans.size() >= 2);
}

TEST_CASE("head sampling first: spans sampled out never reach the tail sampler") {
  auto mem = agentrace::memory();
  auto cfg = base(mem, {.rule = "errors"});
  cfg.sampler = agentrace::sampler::parent_based(agentrace::sampler::trace_id_ratio(0.5));
  auto tracing = agentrace::start(cfg);
  const auto before = tracing.stats();
  int head_kept = 0;
  for (int i = 0; i < 100; ++i) {
    AGENTRACE_SPAN(root, "request");
    head_kept += root.context().sampled();
    root.error("every one fails");
  }
  tracing.shutdown();
  const auto st = since(tracing.stats(), before);
  CHECK(st.dropped_unsampled == static_cast<std::uint64_t>(100 - head_kept));
  CHECK(st.tail_sampling.traces_kept == static_cast<std::uint64_t>(head_kept));
  CHECK(st.tail_sampling.traces_dropped == 0);
  CHECK(mem->size() == static_cast<std::size_t>(head_kept));
}

TEST_CASE("a kept trace is exported once its wait has passed, not at the schedule delay") {
  auto mem = agentrace::memory();
  auto cfg = base(mem, {.rule = "errors", .wait = 100ms});
  cfg.schedule_delay = 120s;  // the collector's periodic export never comes during the test
  auto tracing = agentrace::start(cfg);
  const auto t0 = std::chrono::steady_clock::now();
  request(true);
  // Polled: the collector decides when the root's wait has passed (100 ms after it drained the
  // root); 20 s is a margin for a loaded machine, far below the schedule delay.
  auto seen = t0;
  while (mem->size() < 3 && seen - t0 < 20s) {
    std::this_thread::sleep_for(5ms);
    seen = std::chrono::steady_clock::now();
  }
  CHECK(mem->size() == 3);
  CHECK(seen - t0 >= 100ms);  // not before the wait for late children
  CHECK(tracing.stats().tail_sampling.traces_kept == 1);
  CHECK(tracing.stats().tail_sampling.traces_decided_early == 0);
  CHECK(tracing.stats().tail_sampling.held_traces == 0);
}

TEST_CASE("force_flush exports the ended traces and keeps holding the unfinished ones") {
  auto mem = agentrace::memory();
  // A wait no test reaches: only a flush or shutdown decides.
  auto tracing = agentrace::start(base(mem, {.rule = "errors", .wait = 600000ms}));
  const auto before = tracing.stats();
  request(true);  // its local root has ended
  std::optional<agentrace::span<"open">> open;
  open.emplace();
  {
    AGENTRACE_SPAN(child, "child");  // an errored span of a trace still running
    child.error("retrying");
  }
  REQUIRE(tracing.force_flush());
  // The ended trace is decided at once (the flush does not wait for late children); the open
  // one is still held, not decided on half of its spans.
  CHECK(mem->size() == 3);
  auto st = since(tracing.stats(), before);
  CHECK(st.tail_sampling.traces_kept == 1);
  CHECK(st.tail_sampling.traces_decided_early == 0);
  CHECK(st.tail_sampling.held_traces == 1);
  CHECK(st.tail_sampling.held_spans == 1);
  CHECK(st.spans_exported == 3);
  open.reset();  // the local root ends
  REQUIRE(tracing.force_flush());
  CHECK(mem->size() == 5);  // now decided whole: the child and its root
  st = since(tracing.stats(), before);
  CHECK(st.tail_sampling.traces_kept == 2);
  CHECK(st.tail_sampling.traces_decided_early == 0);
  CHECK(st.tail_sampling.held_traces == 0);
  for (const auto& [id, spans] : by_trace(mem->spans())) {
    CHECK((spans.size() == 3 || spans.size() == 2));
    for (const auto& sp : spans)
      if (sp.parent_span_id == 0) CHECK(reason_of(sp).rfind("errors: span ", 0) == 0);
  }
  tracing.shutdown();
  CHECK(tracing.stats().queued() == 0);
}

TEST_CASE("shutdown decides the traces still held and exports the kept ones") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(base(mem, {.rule = "name = step", .wait = 60000ms}));
  const auto before = tracing.stats();
  std::optional<agentrace::span<"open">> open;  // its trace is still open at shutdown
  open.emplace();
  { agentrace::span<"step"> c(open->context()); }
  std::thread([] { request(false); }).join();  // complete, but its wait has not passed
  tracing.shutdown();
  open.reset();  // ends after shutdown: counted as dropped_not_running
  const auto st = since(tracing.stats(), before);
  CHECK(st.tail_sampling.traces_kept == 2);
  CHECK(st.tail_sampling.traces_decided_early == 1);  // the open trace
  CHECK(mem->size() == 1 + 3);
  CHECK(st.spans_exported == 4);
  CHECK(st.dropped_not_running == 1);
}

TEST_CASE("a bad rule: in code start() throws with the column; from the environment it is off") {
  auto mem = agentrace::memory();
  CHECK_THROWS_AS(agentrace::start(base(mem, {.rule = "errors or (db.query >"})),
                  agentrace::eval::query_error);
  CHECK_THROWS_AS(agentrace::start(base(mem, {.ratio = 1.5})), std::invalid_argument);
  ::setenv("AGENTRACE_TAIL_SAMPLING", "errors and", 1);
  auto cfg = base(mem, {});
  cfg.read_environment = true;
  {
    auto tracing = agentrace::start(cfg);
    request(false);
    tracing.shutdown();
    CHECK(mem->size() == 3);  // tail sampling off: everything exported
  }
  ::setenv("AGENTRACE_TAIL_SAMPLING", "name = keep", 1);
  ::setenv("AGENTRACE_TAIL_SAMPLING_RATIO", "0", 1);
  {
    auto tracing = agentrace::start(cfg);
    request(false);
    { agentrace::span<"keep"> k; }
    tracing.shutdown();
    CHECK(tracing.stats().tail_sampling.traces_kept == 1);
    CHECK(tracing.stats().tail_sampling.traces_dropped == 1);
  }
  ::unsetenv("AGENTRACE_TAIL_SAMPLING");
  ::unsetenv("AGENTRACE_TAIL_SAMPLING_RATIO");
}

TEST_CASE("running quantiles: nearest rank over the window, after the warm-up") {
  agentrace::running_quantiles q(100, 10, {50, 95});
  for (std::uint64_t i = 1; i <= 9; ++i) q.add("a", i);
  q.refresh();
  CHECK_FALSE(q.percentile("a", 95));  // warming up
  q.add("a", 10);
  q.refresh();
  CHECK(q.percentile("a", 50) == 5u);
  CHECK(q.percentile("a", 95) == 10u);
  for (std::uint64_t i = 1000; i < 1200; ++i) q.add("a", i);  // the window slides
  q.refresh();
  CHECK(q.percentile("a", 50) == 1149u);
  CHECK(q.percentile("a", 95) == 1194u);
  CHECK_FALSE(q.percentile("b", 50));
  CHECK_FALSE(q.percentile("a", 99));  // not asked for
}

#if AGENTRACE_TAIL_SAMPLING_SQL_AGENT
namespace {

namespace fs = std::filesystem;

// One question's trace (or the run's, key -1) as read back from OTLP-JSON.
struct read_trace {
  agentrace::trace_id id{};
  std::vector<span_data> spans;
  std::string reason;  // on its local root
};

// The traces of an OTLP-JSON lines file, by question index (the run's workflow trace: -1).
std::map<std::int64_t, read_trace> read_questions(const fs::path& file) {
  std::map<agentrace::trace_id, std::vector<span_data>, id_less> traces;
  agentrace::eval::reader r;
  REQUIRE(r.read_file(file.string(), [&](agentrace::eval::read_span&& s) {
    traces[s.span.trace_id].push_back(std::move(s.span));
  }));
  std::map<std::int64_t, read_trace> out;
  for (auto& [id, spans] : traces) {
    std::int64_t key = -2;
    std::string reason;
    for (const auto& s : spans) {
      if (s.parent_span_id != 0) continue;
      const auto* q = s.attr("sql_agent.question.index");
      key = q ? std::get<std::int64_t>(*q) : -1;
      reason = reason_of(s);
    }
    INFO(agentrace::to_hex(id));
    REQUIRE(key != -2);  // every trace has its root
    REQUIRE(out.count(key) == 0);
    out[key] = read_trace{id, std::move(spans), reason};
  }
  return out;
}

// The fixed workload: 24 questions, seed 11, slow (300 ms) and failing (SQLITE_BUSY) queries.
void sql_workload(const fs::path& dir, const std::string& file, agentrace::tail_sampling_config t) {
  agentrace::config c;
  c.exporters = {agentrace::otlp_json_file((dir / file).string())};
  c.read_environment = false;
  c.schedule_delay = 20ms;
  c.tail_sampling = std::move(t);
  auto tracing = agentrace::start(c);
  agentrace::genai::configure_content({.read_environment = false});
  sql_agent::run_options opt;
  opt.data_dir = dir / "data";
  opt.concurrency = 2;
  opt.agent.seed = 11;
  opt.agent.slow_db_rate = 0.15;
  opt.agent.db_error_rate = 0.15;
  opt.agent.slow_ms = 300ms;
  opt.agent.conversation_id = "tail-sampling";
  sql_agent::offline_options model{.seed = 11, .latency = 2ms, .chunk_interval = 1ms};
  sql_agent::run(
      sql_agent::make_questions(24, 11),
      [model] { return std::make_unique<sql_agent::offline_llm>(model); }, opt);
  tracing.shutdown();
  CHECK(tracing.stats().queued() == 0);
}

// The trace ids `agentrace-eval select QUERY` finds in `file` (the library's selector when the
// CLI is not built).
std::set<std::string> select_ids(const std::string& query, const fs::path& file,
                                 const fs::path& dir) {
  std::set<std::string> ids;
#ifdef AGENTRACE_EVAL_CLI
  const auto r = eval_test::run(std::string("'") + AGENTRACE_EVAL_CLI + "' select '" + query +
                                    "' --json '" + file.string() + "'",
                                dir);
  INFO(r.err);
  REQUIRE((r.code == 0 || r.code == 1));
  for (const auto& line : eval_test::lines_of(r.out))
    ids.insert(nlohmann::json::parse(line).at("trace_id").get<std::string>());
#else
  (void)dir;
  agentrace::eval::selector sel(agentrace::eval::query::parse(query));
  agentrace::eval::reader r;
  r.read_file(file.string(), [&](agentrace::eval::read_span&& s) { sel.add(s); });
  for (const auto& m : sel.finish()) ids.insert(agentrace::to_hex(m.id));
#endif
  return ids;
}

std::multiset<std::string> names(const read_trace& t) {
  std::multiset<std::string> n;
  for (const auto& s : t.spans) n.insert(s.name);
  return n;
}

}  // namespace

TEST_CASE("the SQL agent with slow and failing queries: tail sampling keeps what select finds") {
  const fs::path dir = eval_test::temp_dir("tail-sampling-sql");
  sql_workload(dir, "all.jsonl", {});
  const auto all = read_questions(dir / "all.jsonl");
  REQUIRE(all.size() == 24 + 1);
  std::size_t errored = 0;
  for (const auto& [k, t] : all)
    errored += std::any_of(t.spans.begin(), t.spans.end(), [](const span_data& s) {
      return s.status == agentrace::status_code::error;
    });
  REQUIRE(errored >= 4);              // the workload has failures ...
  REQUIRE(errored < all.size() - 4);  // ... and traces that are fine

  SECTION("a fixed threshold, ratio 0: exactly the traces select finds, each whole") {
    const std::string rule = "errors or duration > 250ms";
    const auto selected = select_ids(rule, dir / "all.jsonl", dir);
    std::set<std::int64_t> want;
    for (const auto& [k, t] : all)
      if (selected.count(agentrace::to_hex(t.id))) want.insert(k);
    REQUIRE(want.size() >= 4);
    REQUIRE(want.size() < all.size());
    sql_workload(dir, "kept.jsonl", {.rule = rule, .ratio = 0.0});
    const auto kept = read_questions(dir / "kept.jsonl");
    std::set<std::int64_t> got;
    for (const auto& [k, t] : kept) {
      got.insert(k);
      INFO("question " << k);
      REQUIRE(all.count(k));
      CHECK(names(t) == names(all.at(k)));  // whole: no span missing
      const bool named =
          t.reason.rfind("errors: ", 0) == 0 || t.reason.rfind("duration > 250ms: ", 0) == 0;
      CHECK(named);
    }
    CHECK(got == want);
  }

  SECTION("a percentile rule keeps every errored trace; each reason names a predicate it matched") {
    sql_workload(dir, "p.jsonl", {.rule = "errors or duration > p90", .percentile_warmup = 20});
    const auto kept = read_questions(dir / "p.jsonl");
    for (const auto& [k, t] : all) {
      const bool erred = std::any_of(t.spans.begin(), t.spans.end(), [](const span_data& s) {
        return s.status == agentrace::status_code::error;
      });
      INFO("question " << k);
      if (erred) CHECK(kept.count(k) == 1);
    }
    for (const auto& [k, t] : kept) {
      INFO("question " << k << ": " << t.reason);
      REQUIRE_FALSE(t.reason.empty());
      std::size_t from = 0;
      while (from < t.reason.size()) {
        std::size_t end = t.reason.find("; ", from);
        if (end == std::string::npos) end = t.reason.size();
        const std::string line = t.reason.substr(from, end - from);
        from = end + 2;
        // "PREDICATE: span "NAME" SPANID ...": the span is in this trace and satisfies it.
        const std::size_t colon = line.find(": span \"");
        REQUIRE(colon != std::string::npos);
        const std::string predicate = line.substr(0, colon);
        const std::size_t q2 = line.find("\" ", colon + 8);
        REQUIRE(q2 != std::string::npos);
        const std::string span_id = line.substr(q2 + 2, 16);
        const auto s = std::find_if(t.spans.begin(), t.spans.end(), [&](const span_data& x) {
          return agentrace::to_hex(x.span_id) == span_id;
        });
        REQUIRE(s != t.spans.end());
        if (predicate == "errors") {
          CHECK(s->status == agentrace::status_code::error);
        } else {
          CHECK(predicate == "duration > p90");
          CHECK(line.find("(> p90 of \"" + s->name + "\" = ") != std::string::npos);
        }
      }
    }
    CHECK(kept.size() < all.size());
  }
  fs::remove_all(dir);
}
#endif
