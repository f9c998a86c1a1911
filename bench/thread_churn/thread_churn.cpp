// SPDX-License-Identifier: MIT
// Thread churn under a slow exporter: THREADS short-lived threads, AT_ONCE of them alive at a
// time, each ending SPANS spans, while the exporter takes DELAY_MS per batch. Prints the most
// thread states alive at once, the states allocated, and the resident memory before, at its
// peak and after the final flush; exits 1 when the states alive ever exceed the bound the
// library keeps (threads alive + detail::max_exited_states + this thread's).
// Usage: agentrace_thread_churn [THREADS [AT_ONCE [SPANS [DELAY_MS]]]]
//        (defaults 5000 8 10 200)
#include <agentrace/agentrace.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace {

class slow_exporter final : public agentrace::exporter {
 public:
  explicit slow_exporter(std::chrono::milliseconds per_batch) : per_batch_(per_batch) {}
  std::string_view name() const noexcept override { return "slow"; }
  agentrace::export_result export_spans(const agentrace::export_batch&) override {
    std::this_thread::sleep_for(per_batch_);
    return agentrace::export_result::success;
  }

 private:
  std::chrono::milliseconds per_batch_;
};

// A field of /proc/self/status in KiB (VmRSS, VmHWM), or -1.
long status_kib(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  const std::size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') kib = std::atol(line + n + 1);
  std::fclose(f);
  return kib;
}

long arg(int argc, char** argv, int i, long def) { return argc > i ? std::atol(argv[i]) : def; }

}  // namespace

int main(int argc, char** argv) {
  const long threads = arg(argc, argv, 1, 5000), at_once = arg(argc, argv, 2, 8),
             spans = arg(argc, argv, 3, 10), delay_ms = arg(argc, argv, 4, 200);
  if (threads <= 0 || at_once <= 0 || spans < 0 || delay_ms < 0) {
    std::fprintf(stderr, "usage: %s [THREADS [AT_ONCE [SPANS [DELAY_MS]]]] (positive numbers)\n",
                 argv[0]);
    return 2;
  }
  agentrace::config c;
  c.exporters = {std::make_shared<slow_exporter>(std::chrono::milliseconds(delay_ms))};
  c.read_environment = false;
  auto tracing = agentrace::start(c);
  const long rss_start = status_kib("VmRSS");
  std::size_t most_alive = 0;
  for (long done = 0; done < threads;) {
    std::vector<std::thread> group;
    for (long t = 0; t < at_once && done < threads; ++t, ++done)
      group.emplace_back([spans] {
        for (long i = 0; i < spans; ++i) {
          AGENTRACE_SPAN(s, "short.lived");
        }
      });
    for (auto& t : group) t.join();
    most_alive = std::max(most_alive, agentrace::detail::thread_state_counts().alive);
  }
  const auto counts = agentrace::detail::thread_state_counts();
  const long rss_peak = status_kib("VmHWM");
  const auto t0 = std::chrono::steady_clock::now();
  const bool flushed = tracing.force_flush(std::chrono::minutes(10));
  const double flush_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto after = agentrace::detail::thread_state_counts();
  const auto s = tracing.stats();
  const std::size_t bound =
      static_cast<std::size_t>(at_once) + agentrace::detail::max_exited_states + 1;
  std::printf(
      "threads %ld (%ld at once, %ld spans each, exporter %ld ms per batch)\n"
      "states alive at most %zu (bound %zu), allocated %llu, alive before flush %zu, after %zu\n"
      "RSS %ld KiB at start, peak %ld KiB, %ld KiB after the flush (%.1f s)\n"
      "spans ended %llu, exported %llu, dropped (queue full) %llu\n",
      threads, at_once, spans, delay_ms, most_alive, bound,
      static_cast<unsigned long long>(counts.created), counts.alive, after.alive, rss_start,
      rss_peak, status_kib("VmRSS"), flush_s, static_cast<unsigned long long>(s.spans_ended),
      static_cast<unsigned long long>(s.spans_exported),
      static_cast<unsigned long long>(s.dropped_queue_full));
  const bool ok =
      flushed && most_alive <= bound && s.spans_exported + s.dropped_queue_full == s.spans_ended;
  if (!ok)
    std::printf("FAILED: states over the bound, spans unaccounted for, or flush timed out\n");
  std::fflush(stdout);  // before the shutdown's report on stderr
  return ok ? 0 : 1;
}
