// SPDX-License-Identifier: MIT
// Sampling: trace-id ratio rate and consistency, the parent-based delegation table, unsampled
// spans (propagate, never enqueued), configuration from code and from OTEL_TRACES_SAMPLER(_ARG).
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "context_support.hpp"

using agentrace::sampler;
using agentrace::sampling_case;
using agentrace::span_context;
using agentrace::trace_id;

namespace {

inline constexpr agentrace::key<std::string> k_text{"test.text"};

span_context parent(bool remote, bool sampled, trace_id id = {1, 1}) {
  return span_context{id, 0x42, static_cast<std::uint8_t>(sampled ? agentrace::flag_sampled : 0),
                      remote};
}

// 5 standard deviations of a binomial proportion.
double five_sigma(double p, double n) { return 5.0 * std::sqrt(p * (1.0 - p) / n); }

}  // namespace

TEST_CASE("traceidratio: the rate over 100,000 root spans is within 5 sigma (end to end)") {
  constexpr double p = 0.1;
  constexpr int n = 100000;
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem},
                                   .max_queue_size = 131072,
                                   .read_environment = false,
                                   .sampler = sampler::trace_id_ratio(p)});
  const auto before = tracing.stats();  // cumulative per process
  // On a new thread, whose queue is created now with the capacity above: a thread's queue keeps
  // the capacity in force at its first span, and this one must hold every sampled span.
  std::thread([] {
    for (int i = 0; i < n; ++i) {
      AGENTRACE_SPAN(s, "root");
    }
  }).join();
  REQUIRE(tracing.force_flush());
  const auto st = tracing.stats();
  CHECK(st.spans_ended - before.spans_ended == std::uint64_t(n));
  const auto sampled =
      (st.spans_ended - before.spans_ended) - (st.dropped_unsampled - before.dropped_unsampled);
  const double rate = double(sampled) / n;
  INFO("sampled " << sampled << " of " << n);
  CHECK(std::abs(rate - p) <= five_sigma(p, n));
  CHECK(st.dropped_queue_full == before.dropped_queue_full);
  CHECK(mem->size() == sampled);  // exactly the sampled ones were exported
  for (const auto& s : mem->spans()) CHECK((s.flags & agentrace::flag_sampled) != 0);
}

TEST_CASE("traceidratio: rate for several ratios over 100,000 random trace ids") {
  std::mt19937_64 rng(12345);
  std::vector<trace_id> ids(100000);
  for (auto& id : ids) id = trace_id{rng(), rng()};
  for (double p : {0.0, 0.001, 0.01, 0.25, 0.5, 0.9, 1.0}) {
    const sampler s = sampler::trace_id_ratio(p);
    std::size_t k = 0;
    for (const auto& id : ids) k += s.should_sample({}, id);
    const double rate = double(k) / double(ids.size());
    INFO("ratio " << p << " sampled " << k);
    CHECK(std::abs(rate - p) <= five_sigma(p, double(ids.size())) + 1e-12);
  }
}

TEST_CASE("traceidratio: decided by the trace id alone, consistently and monotonically") {
  // OpenTelemetry's algorithm: R = rightmost 56 bits, T = 2^56 - round(p * 2^56), R >= T.
  CHECK(sampler::trace_id_ratio(0.01).threshold(sampling_case::root) == 0xfd70a3d70a3d71ull);
  CHECK(sampler::trace_id_ratio(0.1).threshold(sampling_case::root) == 0xe6666666666666ull);
  CHECK(sampler::trace_id_ratio(1.0).threshold(sampling_case::root) == 0);
  CHECK(sampler::trace_id_ratio(0.0).threshold(sampling_case::root) == (1ull << 56));
  const sampler half = sampler::trace_id_ratio(0.5);
  CHECK_FALSE(half.should_sample({}, trace_id{0, (1ull << 55) - 1}));
  CHECK(half.should_sample({}, trace_id{0, 1ull << 55}));
  // Only the 56 rightmost bits count: the top byte and the high word do not.
  CHECK_FALSE(half.should_sample({}, trace_id{~0ull, 0xff00000000000000ull | ((1ull << 55) - 1)}));
  CHECK(sampler::trace_id_ratio(1e-9).should_sample({}, trace_id{0, (1ull << 56) - 1}));
  CHECK_FALSE(sampler::trace_id_ratio(1e-9).should_sample({}, trace_id{0, 1}));
  // Out-of-range ratios are clamped.
  CHECK(sampler::trace_id_ratio(7.0) == sampler::trace_id_ratio(1.0));
  CHECK(sampler::trace_id_ratio(-1.0) == sampler::trace_id_ratio(0.0));

  std::mt19937_64 rng(99);
  const sampler low = sampler::trace_id_ratio(0.1), high = sampler::trace_id_ratio(0.3);
  int not_superset = 0, parent_dependent = 0, unstable = 0;
  for (int i = 0; i < 20000; ++i) {
    const trace_id id{rng(), rng()};
    const bool d = low.should_sample({}, id);
    if (d && !high.should_sample({}, id)) ++not_superset;
    for (bool remote : {false, true})
      for (bool sampled : {false, true})
        if (low.should_sample(parent(remote, sampled, id), id) != d) ++parent_dependent;
    if (low.should_sample({}, id) != d) ++unstable;
  }
  CHECK(not_superset == 0);      // a higher ratio samples a superset
  CHECK(parent_dependent == 0);  // TraceIdRatioBased ignores the parent's sampled flag
  CHECK(unstable == 0);
}

TEST_CASE("traceidratio: every span of a trace gets the root's decision") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start(
      {.exporters = {mem}, .read_environment = false, .sampler = sampler::trace_id_ratio(0.5)});
  int roots_sampled = 0;
  for (int i = 0; i < 200; ++i) {
    AGENTRACE_SPAN(root, "root");
    roots_sampled += root.is_recording();
    for (int k = 0; k < 3; ++k) {
      AGENTRACE_SPAN(child, "child");
      CHECK(child.is_recording() == root.is_recording());
      CHECK(child.context().trace_id == root.context().trace_id);
    }
  }
  REQUIRE(tracing.force_flush());
  CHECK(mem->size() == std::size_t(roots_sampled * 4));
  CHECK(roots_sampled > 50);
  CHECK(roots_sampled < 150);
}

TEST_CASE("parentbased: the delegation table") {
  const sampler on = sampler::always_on(), off = sampler::always_off();
  const trace_id id{3, 3};
  struct row {
    span_context parent;
    sampling_case c;
  };
  const row rows[] = {
      {span_context{}, sampling_case::root},
      {parent(true, true, id), sampling_case::remote_parent_sampled},
      {parent(true, false, id), sampling_case::remote_parent_not_sampled},
      {parent(false, true, id), sampling_case::local_parent_sampled},
      {parent(false, false, id), sampling_case::local_parent_not_sampled},
  };
  // Defaults: the parent's flag decides; the root sampler decides roots.
  const sampler pb_off = sampler::parent_based(off);
  const bool defaults[] = {false, true, false, true, false};
  // Every delegate replaced by the opposite of its default.
  const sampler inverted = sampler::parent_based(on, off, on, off, on);
  const bool inv[] = {true, false, true, false, true};
  // Each case routed to its own delegate: only that one samples.
  for (std::size_t i = 0; i < 5; ++i) {
    INFO("case " << i);
    CHECK(pb_off.should_sample(rows[i].parent, id) == defaults[i]);
    CHECK(inverted.should_sample(rows[i].parent, id) == inv[i]);
    const sampler d[5] = {i == 0 ? on : off, i == 1 ? on : off, i == 2 ? on : off,
                          i == 3 ? on : off, i == 4 ? on : off};
    const sampler only = sampler::parent_based(d[0], d[1], d[2], d[3], d[4]);
    for (std::size_t j = 0; j < 5; ++j) CHECK(only.should_sample(rows[j].parent, id) == (i == j));
  }
  // A ratio delegate decides by trace id for its case.
  const sampler ratio_root = sampler::parent_based(sampler::trace_id_ratio(0.5));
  CHECK(ratio_root.should_sample({}, trace_id{0, 1ull << 55}));
  CHECK_FALSE(ratio_root.should_sample({}, trace_id{0, 1}));
  CHECK(ratio_root.should_sample(parent(false, true, trace_id{0, 1}), trace_id{0, 1}));
  // Descriptions (OpenTelemetry GetDescription).
  CHECK(on.description() == "AlwaysOnSampler");
  CHECK(off.description() == "AlwaysOffSampler");
  CHECK(sampler::trace_id_ratio(0.0001).description() == "TraceIdRatioBased{0.000100}");
  CHECK(sampler::parent_based(on).description() ==
        "ParentBased{root=AlwaysOnSampler,remoteParentSampled=AlwaysOnSampler,"
        "remoteParentNotSampled=AlwaysOffSampler,localParentSampled=AlwaysOnSampler,"
        "localParentNotSampled=AlwaysOffSampler}");
  CHECK(sampler{} == sampler::parent_based(on));
}

TEST_CASE("parentbased: the delegation table end to end through spans and flags") {
  auto mem = agentrace::memory();
  auto tracing =
      agentrace::start({.exporters = {mem},
                        .read_environment = false,
                        .sampler = sampler::parent_based(
                            sampler::always_on(), sampler::always_off(), sampler::always_on(),
                            sampler::always_off(), sampler::always_on())});
  struct row {
    const char* name;
    bool remote, sampled, expect;
  };
  static constexpr agentrace::span_site sites[] = {
      {"remote.sampled"}, {"remote.unsampled"}, {"local.sampled"}, {"local.unsampled"}};
  const row rows[] = {{"remote.sampled", true, true, false},
                      {"remote.unsampled", true, false, true},
                      {"local.sampled", false, true, false},
                      {"local.unsampled", false, false, true}};
  for (std::size_t i = 0; i < 4; ++i) {
    const auto p = parent(rows[i].remote, rows[i].sampled, trace_id{0x77, 0x1234 + i});
    agentrace::context_scope in(p);
    agentrace::scoped_span s(&sites[i]);
    INFO(rows[i].name);
    CHECK(s.is_recording() == rows[i].expect);
    CHECK(s.context().sampled() == rows[i].expect);
    CHECK(s.context().trace_id == p.trace_id);
  }
  { AGENTRACE_SPAN(root, "root"); }
  REQUIRE(tracing.force_flush());
  CHECK(mem->size() == 3);
  CHECK(mem->find("root"));
  REQUIRE(mem->find("remote.unsampled"));
  CHECK(mem->find("remote.unsampled")->parent_remote);
  CHECK(mem->find("local.unsampled"));
  CHECK(tracing.get()->sampler().description().rfind("ParentBased{root=AlwaysOnSampler,", 0) == 0);
}

// The default sampler (ParentBased(root=AlwaysOn)) is decided on the hot path without the
// thresholds (clock.hpp, recording_sample_as_parent): only when every case is always or never, and
// with the same results as the thresholds give.
TEST_CASE("default sampler: roots sampled, children follow the parent, on the fast path only") {
  struct row {
    bool remote, sampled;
  };
  static constexpr agentrace::span_site child_site{"child"};
  const row rows[] = {{true, true}, {true, false}, {false, true}, {false, false}};
  auto run = [&](const sampler& smp, bool expect_fast, bool unsampled_children_recorded) {
    auto mem = agentrace::memory();
    auto tracing =
        agentrace::start({.exporters = {mem}, .read_environment = false, .sampler = smp});
    INFO(smp.description());
    CHECK(agentrace::detail::samples_as_parent() == expect_fast);
    CHECK(((agentrace::detail::recording_state.load() &
            agentrace::detail::recording_sample_as_parent) != 0) == expect_fast);
    for (std::size_t i = 0; i < 4; ++i) {
      const auto p = parent(rows[i].remote, rows[i].sampled, trace_id{0x99, 0});
      agentrace::scoped_span s(&child_site, p);
      INFO("remote " << rows[i].remote << ", parent sampled " << rows[i].sampled);
      const bool expect = rows[i].sampled || unsampled_children_recorded;
      CHECK(s.is_recording() == expect);
      CHECK(s.context().sampled() == expect);
      CHECK(s.context().trace_id == p.trace_id);
    }
    {
      AGENTRACE_SPAN(root, "root");
      CHECK(root.is_recording());
      CHECK((root.context().flags & agentrace::flag_random) != 0);
    }
    REQUIRE(tracing.force_flush());
    CHECK(mem->find("root"));
  };
  run(sampler::parent_based(sampler::always_on()), true, false);
  // AlwaysOn samples the children of unsampled parents too: not the fast path.
  run(sampler::always_on(), false, true);
  run(sampler::parent_based(sampler::always_on(), sampler::always_on(), sampler::always_on(),
                            sampler::always_on(), sampler::always_on()),
      false, true);
}

// A sampler installed while tracing is on keeps the fast-path bit in step; one installed while
// tracing is off does not switch recording on.
TEST_CASE("installing a sampler while tracing is on sets or clears the fast-path bit") {
  using agentrace::detail::recording_sample_as_parent;
  using agentrace::detail::recording_state;
  static constexpr agentrace::span_site child_site{"child"};
  const auto unsampled_parent = parent(false, false, trace_id{0x77, 0});
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem},
                                   .read_environment = false,
                                   .sampler = sampler::parent_based(sampler::always_on())});
  const std::uint8_t started = recording_state.load();
  REQUIRE((started & recording_sample_as_parent) != 0);
  {
    agentrace::scoped_span s(&child_site, unsampled_parent);
    CHECK_FALSE(s.is_recording());
  }
  agentrace::detail::install_sampler(sampler::always_on());
  CHECK(recording_state.load() == (started & ~recording_sample_as_parent));
  {
    agentrace::scoped_span s(&child_site, unsampled_parent);
    CHECK(s.is_recording());  // AlwaysOn samples the child of an unsampled parent
  }
  agentrace::detail::install_sampler(sampler::parent_based(sampler::always_on()));
  CHECK(recording_state.load() == started);
  {
    agentrace::scoped_span s(&child_site, unsampled_parent);
    CHECK_FALSE(s.is_recording());
  }
  REQUIRE(tracing.force_flush());
  CHECK(mem->size() == 1);
  tracing.shutdown();
  REQUIRE(recording_state.load() == agentrace::detail::recording_off);
  agentrace::detail::install_sampler(sampler::always_on());
  CHECK(recording_state.load() == agentrace::detail::recording_off);
  agentrace::detail::install_sampler(sampler::parent_based(sampler::always_on()));
  CHECK(recording_state.load() == agentrace::detail::recording_off);
}

TEST_CASE("an unsampled span propagates its context but is never recorded nor enqueued") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem},
                                   .read_environment = false,
                                   .sampler = sampler::parent_based(sampler::always_off())});
  int evaluated = 0;
  auto costly = [&] {
    ++evaluated;
    return std::string("serialised prompt");
  };
  const auto before = tracing.stats();  // cumulative per process
  std::map<std::string, std::string> headers;
  agentrace::span_context root_ctx, child_parent_seen;
  {
    AGENTRACE_SPAN(root, "root");
    root_ctx = root.context();
    CHECK_FALSE(root.is_recording());
    REQUIRE(root_ctx.valid());  // ids all the same
    CHECK_FALSE(root_ctx.sampled());
    CHECK((root_ctx.flags & agentrace::flag_random) != 0);
    CHECK(agentrace::current_context() == root_ctx);
    AGENTRACE_SET(root, k_text, costly());               // not evaluated: not recording
    root.set(k_text, std::string(100, 'x')).event("e");  // ignored
    {
      AGENTRACE_SPAN(child, "child");
      child_parent_seen = child.context();
      agentrace::inject(headers);
    }
    CHECK(agentrace::current_context() == root_ctx);  // restored at the child's end
  }
  CHECK_FALSE(agentrace::current_context().valid());
  CHECK(evaluated == 0);
  CHECK(child_parent_seen.trace_id == root_ctx.trace_id);
  CHECK(child_parent_seen.span_id != root_ctx.span_id);
  // Downstream sees this trace with the sampled flag clear (and the random flag).
  REQUIRE(headers.count("traceparent"));
  const auto down = agentrace::parse_traceparent(headers["traceparent"]);
  REQUIRE(down);
  CHECK(down->trace_id == root_ctx.trace_id);
  CHECK(down->span_id == child_parent_seen.span_id);
  CHECK(headers["traceparent"].substr(53) == "02");

  REQUIRE(tracing.force_flush());
  const auto st = tracing.stats();
  CHECK(mem->size() == 0);
  CHECK(st.spans_ended - before.spans_ended == 2);
  CHECK(st.dropped_unsampled - before.dropped_unsampled == 2);
  CHECK(st.queued() == 0);
  CHECK(st.dropped_total() == before.dropped_total());
}

TEST_CASE("sampler configuration from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG") {
  struct row {
    const char* name;
    const char* arg;
    std::string expect;
  };
  const std::string pb_tail =
      ",remoteParentSampled=AlwaysOnSampler,remoteParentNotSampled=AlwaysOffSampler,"
      "localParentSampled=AlwaysOnSampler,localParentNotSampled=AlwaysOffSampler}";
  const row rows[] = {
      {nullptr, nullptr, "ParentBased{root=AlwaysOnSampler" + pb_tail},
      {"", nullptr, "ParentBased{root=AlwaysOnSampler" + pb_tail},  // empty == unset
      {"always_on", nullptr, "AlwaysOnSampler"},
      {"always_off", nullptr, "AlwaysOffSampler"},
      {" ALWAYS_OFF ", nullptr, "AlwaysOffSampler"},
      {"traceidratio", "0.25", "TraceIdRatioBased{0.250000}"},
      {"traceidratio", nullptr, "TraceIdRatioBased{1.000000}"},  // default argument 1.0
      {"traceidratio", "abc", "TraceIdRatioBased{1.000000}"},    // invalid: reported, 1.0
      {"traceidratio", "1.5", "TraceIdRatioBased{1.000000}"},    // out of range
      {"traceidratio", "-0.1", "TraceIdRatioBased{1.000000}"},
      {"traceidratio", " 0.5 ", "TraceIdRatioBased{0.500000}"},
      {"parentbased_always_on", nullptr, "ParentBased{root=AlwaysOnSampler" + pb_tail},
      {"parentbased_always_off", nullptr, "ParentBased{root=AlwaysOffSampler" + pb_tail},
      {"parentbased_traceidratio", "0.01",
       "ParentBased{root=TraceIdRatioBased{0.010000}" + pb_tail},
      {"xray", nullptr, "ParentBased{root=AlwaysOnSampler" + pb_tail},  // unsupported: default
      {"jaeger_remote", "x", "ParentBased{root=AlwaysOnSampler" + pb_tail},
  };
  for (const auto& r : rows) {
    INFO("OTEL_TRACES_SAMPLER=" << (r.name ? r.name : "(unset)")
                                << " OTEL_TRACES_SAMPLER_ARG=" << (r.arg ? r.arg : "(unset)"));
    if (r.name)
      ::setenv("OTEL_TRACES_SAMPLER", r.name, 1);
    else
      ::unsetenv("OTEL_TRACES_SAMPLER");
    if (r.arg)
      ::setenv("OTEL_TRACES_SAMPLER_ARG", r.arg, 1);
    else
      ::unsetenv("OTEL_TRACES_SAMPLER_ARG");
    CHECK(agentrace::sampler_from_env(true).description() == r.expect);
    CHECK(agentrace::sampler_from_env(false) == sampler{});
  }

  // start() applies it; code wins over the environment; read_environment=false ignores it.
  ::setenv("OTEL_TRACES_SAMPLER", "always_off", 1);
  ::unsetenv("OTEL_TRACES_SAMPLER_ARG");
  auto mem = agentrace::memory();
  {
    auto t = agentrace::start({.exporters = {mem}});
    CHECK(agentrace::active_sampler() == sampler::always_off());
    AGENTRACE_SPAN(s, "env.off");
    CHECK_FALSE(s.is_recording());
  }
  {
    auto t = agentrace::start({.exporters = {mem}, .sampler = sampler::always_on()});
    CHECK(t.get()->sampler() == sampler::always_on());
    AGENTRACE_SPAN(s, "code.on");
    CHECK(s.is_recording());
  }
  {
    auto t = agentrace::start({.exporters = {mem}, .read_environment = false});
    CHECK(agentrace::active_sampler() == sampler{});
  }
  ::unsetenv("OTEL_TRACES_SAMPLER");
}
