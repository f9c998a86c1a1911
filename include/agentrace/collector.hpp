// SPDX-License-Identifier: MIT
// The background collector: drains the queue in bulk on a short timer, converts clocks, batches
// by size and time, and calls the exporters. Everything that can be late happens here.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if __has_include(<pthread.h>) && __has_include(<unistd.h>)
#include <pthread.h>
#include <unistd.h>
#define AGENTRACE_DETAIL_HAS_FORK 1
#else
#define AGENTRACE_DETAIL_HAS_FORK 0
#endif

#include "agentrace/config.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/log_queue.hpp"
#include "agentrace/detail/span_filter.hpp"
#include "agentrace/detail/thread_state.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/metrics.hpp"
#include "agentrace/processing/span_metrics.hpp"
#include "agentrace/span.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

class collector;

namespace detail {
// The collector that is running, for the process hooks (exit and fork, collector.hpp), and what
// a forked child keeps of its parent's collector without using it. Leaked, like globals().
struct process_state {
  std::mutex mu;  // guards `active`; held by the exit hook while it shuts the collector down
  collector* active{nullptr};
  std::vector<std::thread*> inherited_threads;                  // in a forked child
  std::vector<std::vector<exporter_ptr>*> inherited_exporters;  // in a forked child
};
inline process_state& process() {
  static auto* p = new process_state();
  return *p;
}

// Records dequeued by any collector of this process (cumulative, like the enqueue counters).
inline std::atomic<std::uint64_t> dequeued_total{0};
inline std::atomic<std::uint64_t> exported_total{0};
inline std::atomic<std::uint64_t> export_failed_total{0};
inline std::atomic<bool> collector_active{false};
inline std::atomic<std::uint64_t> logs_exported_total{0};
inline std::atomic<std::uint64_t> logs_export_failed_total{0};

inline void set_span_clock_once() {
  static const bool done = [] {
    span_clock_source.store(invariant_tsc_available() ? clock_source::tsc : clock_source::steady,
                            std::memory_order_relaxed);
    return true;
  }();
  (void)done;
}

/// The recording state start() publishes, once set_span_clock_once() has chosen the span clock:
/// that clock, whether the installed sampler is the default one, whether the ABI's
/// uncaught-exception counter can be read.
inline std::uint8_t started_recording_state() {
  return recording_state_for(samples_as_parent(), uncaught_counter_slow() != nullptr);
}
}  // namespace detail

#if AGENTRACE_DETAIL_SETUP_DEFINITIONS
/// Exporters named by OTEL_TRACES_EXPORTER (comma list of console, otlp/stdout, otlp, none, or
/// any registered name) plus a JSON-lines file from AGENTRACE_OTLP_FILE. Unknown names are
/// reported and skipped. When neither variable is set: "otlp" (the specification's default) if
/// the OTLP/HTTP exporter is linked in, else nothing.
AGENTRACE_SETUP_INLINE std::vector<exporter_ptr> exporters_from_env() {
  std::vector<exporter_ptr> out;
  auto make = [&](std::string_view name, std::string_view arg) {
    std::lock_guard<std::mutex> lock(detail::exporter_factories_mutex());
    auto& f = detail::exporter_factories();
    auto it = f.find(name);
    if (it == f.end()) {
      detail::diag("exporter '{}' is not available here (not linked in); skipped", name);
      return;
    }
    // A configuration error (e.g. an unwritable AGENTRACE_OTLP_FILE) is reported, not thrown:
    // tracing must never take the application down.
    try {
      if (auto e = it->second(arg)) out.push_back(std::move(e));
    } catch (const std::exception& ex) {
      detail::diag("exporter '{}' not created: {}", name, ex.what());
    }
  };
  if (auto v = detail::env("OTEL_TRACES_EXPORTER")) {
    std::string_view s = *v;
    while (!s.empty()) {
      const std::size_t comma = s.find(',');
      const std::string name = detail::trim(s.substr(0, comma));
      s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
      if (name.empty() || name == "none") continue;
      make(name, {});
    }
  }
  if (auto path = detail::env("AGENTRACE_OTLP_FILE")) make("otlp/file", *path);
  if (!detail::env("OTEL_TRACES_EXPORTER") && !detail::env("AGENTRACE_OTLP_FILE")) {
    std::unique_lock<std::mutex> lock(detail::exporter_factories_mutex());
    const bool have_otlp = detail::exporter_factories().count("otlp") != 0;
    lock.unlock();
    if (have_otlp) make("otlp", {});
  }
  // Log records (events): OTEL_LOGS_EXPORTER = otlp (the default when the OTLP/HTTP exporter is
  // linked in) | console | none. Exporters that write files or the console carry logs beside
  // spans, so "console" adds one only when the traces have none.
  {
    std::unique_lock<std::mutex> lock(detail::exporter_factories_mutex());
    const bool have_otlp_logs = detail::exporter_factories().count("otlp/logs") != 0;
    lock.unlock();
    auto v = detail::env("OTEL_LOGS_EXPORTER");
    std::string_view s = v ? std::string_view(*v) : std::string_view(have_otlp_logs ? "otlp" : "");
    while (!s.empty()) {
      const std::size_t comma = s.find(',');
      const std::string name = detail::trim(s.substr(0, comma));
      s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
      if (name.empty() || name == "none") continue;
      if (name == "otlp") {
        make("otlp/logs", {});
      } else if (name == "console") {
        if (std::none_of(out.begin(), out.end(),
                         [](const exporter_ptr& e) { return e->name() == "console"; }))
          make("console", {});
      } else {
        detail::diag("OTEL_LOGS_EXPORTER names '{}', which is not otlp, console or none; skipped",
                     name);
      }
    }
  }
  // Metrics: OTEL_METRICS_EXPORTER = otlp | prometheus | console | none (unset: none; the
  // span-derived metrics are on only when it names an exporter). The OTLP-JSON lines exporters
  // carry metrics beside spans; "console" adds a metrics summary to stdout, "otlp" an OTLP/HTTP
  // metrics exporter,
  // "prometheus" the /metrics endpoint when agentrace/exporters/prometheus.hpp is linked in.
  if (auto v = detail::env("OTEL_METRICS_EXPORTER")) {
    std::string_view s = *v;
    while (!s.empty()) {
      const std::size_t comma = s.find(',');
      const std::string name = detail::trim(s.substr(0, comma));
      s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
      if (name.empty() || name == "none") continue;
      if (name == "console") {
        make("console/metrics", {});
      } else if (name == "otlp") {
        make("otlp/metrics", {});
      } else if (name == "prometheus") {
        make("prometheus", {});
      } else {
        detail::diag(
            "OTEL_METRICS_EXPORTER names '{}', which is not otlp, prometheus, console or none; "
            "skipped",
            name);
      }
    }
  }
  return out;
}

/// The exporters the environment names, or `defaults` when it names none. Examples use this so
/// that any of them can be pointed elsewhere without a rebuild.
AGENTRACE_SETUP_INLINE std::vector<exporter_ptr> exporters_from_env_or(
    std::vector<exporter_ptr> defaults) {
  const bool env_names = detail::env("OTEL_TRACES_EXPORTER") || detail::env("AGENTRACE_OTLP_FILE");
  if (!env_names) return defaults;
  return exporters_from_env();
}
#endif  // AGENTRACE_DETAIL_SETUP_DEFINITIONS

/// The background collector. Create it with agentrace::start().
class collector {
 public:
  explicit collector(config cfg) : cfg_(std::move(cfg)) {
    const bool env = cfg_.read_environment;
    using detail::env_uint;
    auto pick = [&](std::size_t code, const char* var, std::size_t def) -> std::size_t {
      if (code) return code;
      return env ? static_cast<std::size_t>(env_uint(var, def)) : def;
    };
    auto pick_ms = [&](std::chrono::milliseconds code, const char* var,
                       std::chrono::milliseconds def) {
      if (code.count() > 0) return code;
      return env ? std::chrono::milliseconds(env_uint(var, static_cast<std::uint64_t>(def.count())))
                 : def;
    };
    queue_size_ = pick(cfg_.max_queue_size, "OTEL_BSP_MAX_QUEUE_SIZE", defaults::max_queue_size);
    batch_size_ = pick(cfg_.max_export_batch_size, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
                       defaults::max_export_batch_size);
    if (queue_size_ == 0) queue_size_ = defaults::max_queue_size;
    if (batch_size_ == 0) batch_size_ = defaults::max_export_batch_size;
    if (batch_size_ > queue_size_) {
      detail::diag("max export batch size {} exceeds the queue size {}; using {}", batch_size_,
                   queue_size_, queue_size_);
      batch_size_ = queue_size_;
    }
    schedule_delay_ =
        pick_ms(cfg_.schedule_delay, "OTEL_BSP_SCHEDULE_DELAY", defaults::schedule_delay);
    export_timeout_ =
        pick_ms(cfg_.export_timeout, "OTEL_BSP_EXPORT_TIMEOUT", defaults::export_timeout);
    drain_interval_ =
        cfg_.drain_interval.count() > 0 ? cfg_.drain_interval : defaults::drain_interval;
    drain_interval_ =
        std::min(drain_interval_, std::max(schedule_delay_, std::chrono::milliseconds(1)));
    limits_ = cfg_.limits ? *cfg_.limits : limits_from_env(env);
    detail::limit_attribute_count.store(limits_.attribute_count, std::memory_order_relaxed);
    detail::limit_event_count.store(limits_.event_count, std::memory_order_relaxed);
    detail::limit_link_count.store(limits_.link_count, std::memory_order_relaxed);
    resource_ = make_resource(cfg_);
    exporters_ = cfg_.exporters;
    if (exporters_.empty() && env) exporters_ = exporters_from_env();

    sampler_ = cfg_.sampler ? *cfg_.sampler : sampler_from_env(env);
    if (auto make = detail::tail_sampler_factory.load())
      tail_ = make(cfg_.tail_sampling, limits_, resource_, env);  // nullptr when not configured
    else if (!cfg_.tail_sampling.rule.empty() || cfg_.tail_sampling.ratio ||
             (env && (detail::env("AGENTRACE_TAIL_SAMPLING") ||
                      detail::env("AGENTRACE_TAIL_SAMPLING_RATIO"))))
      detail::diag(
          "tail sampling is configured but not compiled in (include "
          "<agentrace/tail_sampling.hpp> where start() is called); every trace is exported");
    setup_metrics(env);

    bool expected = false;
    if (!detail::collector_active.compare_exchange_strong(expected, true))
      throw std::logic_error("agentrace::start: tracing is already started in this process");
    detail::set_span_clock_once();
    detail::install_sampler(sampler_);
    if (queue_size_ > detail::max_thread_queue_size) {
      detail::diag("max queue size {} exceeds what one thread's queue can hold; using {}",
                   queue_size_, detail::max_thread_queue_size);
      queue_size_ = detail::max_thread_queue_size;
    }
    detail::set_queue_capacity(queue_size_);
    detail::drain_on_demand.store(cfg_.drain_on_demand, std::memory_order_relaxed);
    pending_.resize(batch_size_);
    // Log records: the batch log record processor's variables (OTEL_BLRP_*).
    log_batch_size_ =
        static_cast<std::size_t>(env ? env_uint("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", 512) : 512);
    if (log_batch_size_ == 0) log_batch_size_ = 512;
    log_delay_ = std::chrono::milliseconds(env ? env_uint("OTEL_BLRP_SCHEDULE_DELAY", 1000) : 1000);
    detail::process_log_queue().set_capacity(
        static_cast<std::size_t>(env ? env_uint("OTEL_BLRP_MAX_QUEUE_SIZE", 2048) : 2048));
    logs_pending_.reserve(log_batch_size_);
    clock_.reset();
    last_export_ = std::chrono::steady_clock::now();
    thread_ = std::thread([this] { run(); });
    last_log_export_ = std::chrono::steady_clock::now();
    last_metrics_export_ = last_log_export_;
    detail::active_log_sink.store(&detail::process_log_queue(), std::memory_order_release);
    {
      std::lock_guard<std::mutex> lock(detail::process().mu);
      detail::process().active = this;
    }
    install_process_hooks();
    if (metrics_)
      for (const auto& e : exporters_)
        e->attach_metrics([this] { return collect_metrics(); }, resource_);
    {
      // Under the sampler's mutex: an install_sampler() racing with this either ran before (its
      // thresholds are read here) or runs after (its compare-exchange then sees the recording
      // state).
      std::lock_guard<std::mutex> lock(detail::installed_sampler().mu);
      detail::recording_state.store(detail::started_recording_state(), std::memory_order_release);
    }
  }

  collector(const collector&) = delete;
  collector& operator=(const collector&) = delete;
  ~collector() {
    {
      // Waits for the exit hook if it is shutting this collector down meanwhile.
      auto& p = detail::process();
      std::lock_guard<std::mutex> lock(p.mu);
      if (p.active == this) p.active = nullptr;
    }
    shutdown(export_timeout_);
    if (forked_away()) {
      // fork() copied this object, not its thread; the exporters are copies of the parent's,
      // possibly caught in the middle of an export, and would flush or send the parent's data a
      // second time. Neither is touched: both are kept, unused, for the child's lifetime.
      auto& p = detail::process();
      std::lock_guard<std::mutex> lock(p.mu);
      try {
        p.inherited_threads.push_back(new std::thread(std::move(thread_)));
        p.inherited_exporters.push_back(new std::vector<exporter_ptr>(std::move(exporters_)));
        p.inherited_exporters.push_back(new std::vector<exporter_ptr>(std::move(cfg_.exporters)));
      } catch (...) {
        std::abort();  // a joinable std::thread cannot be destroyed; out of memory in a child
      }
    }
  }

  /// Exports every span that ended before this call (or counts it as dropped), then flushes the
  /// exporters. With tail sampling, the traces whose local root has ended are decided at once;
  /// the spans of traces still running stay held (stats().tail_sampling.held_spans) until their
  /// trace is decided (docs/sampling.md). False when the timeout passed first.
  bool force_flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (forked_away()) return false;  // no collector thread in a forked child
    std::unique_lock<std::mutex> lock(mu_);
    if (stopped_) return false;
    const std::uint64_t ticket = ++flush_requested_;
    flush_target_ = std::max(flush_target_, detail::sum_counters().enqueued);
    flush_deadline_ = deadline;
    cv_.notify_all();
    return done_cv_.wait_until(lock, deadline, [&] { return flush_done_ >= ticket || stopped_; }) &&
           flush_ok_;
  }

  /// Stops recording, exports what was queued, shuts the exporters down; idempotent. Spans that
  /// end afterwards are counted as dropped_not_running.
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000)) {
    if (forked_away()) return shutdown_forked();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_ || stopping_) return true;
      stopping_ = true;
      shutdown_timeout_ = timeout;
      flush_target_ = std::max(flush_target_, detail::sum_counters().enqueued);
    }
    detail::recording_state.store(detail::recording_off, std::memory_order_release);
    detail::active_log_sink.store(nullptr, std::memory_order_release);
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    done_cv_.notify_all();
    const stats s = get_stats();
    if (s.dropped_total() > 0)
      detail::diag(
          "{} spans dropped (queue full: {}, export failed: {}, ended after "
          "shutdown: {}); see agentrace::stats",
          static_cast<unsigned long long>(s.dropped_total()),
          static_cast<unsigned long long>(s.dropped_queue_full),
          static_cast<unsigned long long>(s.spans_export_failed),
          static_cast<unsigned long long>(s.dropped_not_running));
    const std::uint64_t logs_lost =
        s.logs_dropped_queue_full + s.logs_dropped_not_running + s.logs_export_failed;
    if (logs_lost > 0)
      detail::diag(
          "{} log records dropped (queue full: {}, export failed: {}, emitted while not "
          "running: {}); see agentrace::stats",
          logs_lost, s.logs_dropped_queue_full, s.logs_export_failed, s.logs_dropped_not_running);
    if (s.context_entries_lost > 0)
      detail::diag(
          "{} notes of spans that ended out of order were lost to out of memory: a span begun "
          "after one of them may name an ended span as its parent; see agentrace::stats",
          s.context_entries_lost);
    detail::collector_active.store(false);
    return true;
  }

  stats get_stats() const {
    const auto c = detail::sum_counters();
    stats s;
    s.spans_ended = c.ended;
    s.dropped_queue_full = c.dropped_queue_full;
    s.dropped_unsampled = c.dropped_unsampled;
    s.dropped_not_running = detail::dropped_not_running.load(std::memory_order_relaxed);
    s.spans_exported = detail::exported_total.load(std::memory_order_acquire);
    s.spans_export_failed = detail::export_failed_total.load(std::memory_order_acquire);
    s.logs_emitted = detail::process_log_queue().emitted();
    s.logs_dropped_queue_full = detail::process_log_queue().dropped_queue_full();
    s.logs_dropped_not_running = detail::logs_dropped_not_running.load(std::memory_order_relaxed);
    s.logs_exported = detail::logs_exported_total.load(std::memory_order_acquire);
    s.logs_export_failed = detail::logs_export_failed_total.load(std::memory_order_acquire);
    s.dropped_tail_sampled = detail::tail_sampled_out_total.load(std::memory_order_acquire);
    s.context_entries_lost = detail::context_entries_lost.load(std::memory_order_relaxed);
    s.remote_ends_unrepaired = detail::remote_ends_unrepaired.load(std::memory_order_relaxed);
    if (tail_) s.tail_sampling = tail_->counts();
    if (metrics_) {
      const span_metrics_stats m = metrics_->stats();
      s.metric_spans_observed = m.spans_observed;
      s.metric_points_overflowed = m.points_overflowed;
      s.metric_series = m.series;
      s.metric_exports = metric_exports_.load(std::memory_order_relaxed);
      s.metric_exports_failed = metric_exports_failed_.load(std::memory_order_relaxed);
      s.metric_points_overflowed +=
          detail::instruments().overflowed.load(std::memory_order_relaxed);
      s.metric_measurements_rejected =
          detail::instruments().rejected.load(std::memory_order_relaxed);
    }
    std::lock_guard<std::mutex> lock(exporters_mu_);
    for (const auto& e : exporters_) {
      s.spans_failed_in_exporters += e->spans_failed();
      s.exporter_failures += e->failures();
    }
    return s;
  }

  const agentrace::resource& resource() const noexcept { return resource_; }
  const span_limits& limits() const noexcept { return limits_; }
  std::size_t max_export_batch_size() const noexcept { return batch_size_; }
  std::size_t max_queue_size() const noexcept { return queue_size_; }
  std::chrono::milliseconds schedule_delay() const noexcept { return schedule_delay_; }
  /// How long shutdown() waits when the handle is destroyed or the process exits.
  std::chrono::milliseconds export_timeout() const noexcept { return export_timeout_; }
  /// The sampler in effect (config::sampler, else OTEL_TRACES_SAMPLER, else parentbased_always_on).
  const agentrace::sampler& sampler() const noexcept { return sampler_; }
  /// The span-derived metrics, or nullptr when they are off. collect() may be called from any
  /// thread (a Prometheus endpoint does).
  agentrace::span_metrics* metrics() const noexcept { return metrics_.get(); }
  /// How often metrics are exported (OTEL_METRIC_EXPORT_INTERVAL).
  std::chrono::milliseconds metric_export_interval() const noexcept { return metric_interval_; }
  /// How long one metrics export may take (OTEL_METRIC_EXPORT_TIMEOUT).
  std::chrono::milliseconds metric_export_timeout() const noexcept { return metric_timeout_; }

 private:
  // Whether this object was copied into a forked child by fork(): its thread runs only in the
  // parent.
  bool forked_away() const noexcept {
#if AGENTRACE_DETAIL_HAS_FORK
    return ::getpid() != pid_;
#else
    return false;
#endif
  }

  // shutdown() in a forked child, on the parent's collector: nothing to join or export here.
  // Reports the spans that ended in the child and were counted as dropped (tracing is off in a
  // child until it calls start(); its own collector then reports instead).
  bool shutdown_forked() {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return true;
    stopped_ = true;
    const std::uint64_t n = detail::dropped_not_running.load(std::memory_order_relaxed);
    if (n > 0 && !detail::collector_active.load())
      detail::diag(
          "{} spans ended in this forked process, which has no collector (it starts one with "
          "agentrace::start()): counted as dropped_not_running",
          n);
    return true;
  }

  // Installed once per process, by the first collector: an exit-time shutdown of the running
  // collector, and fork handlers.
  static void install_process_hooks() {
    static const bool done = [] {
      std::atexit(&at_exit);
#if AGENTRACE_DETAIL_HAS_FORK
      ::pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child);
#endif
      return true;
    }();
    (void)done;
  }

  // exit() (or a return from main) with a collector still running, whose handle's destructor
  // will not run first (a handle local to main when std::exit() is called, a leaked one): shuts
  // it down as its destructor would, waiting at most its export timeout. Spans that end later
  // are counted as dropped_not_running. A handle destroyed by exit() before this runs (a static
  // one created after the first start()) has shut its collector down already.
  static void at_exit() {
    auto& p = detail::process();
    std::lock_guard<std::mutex> lock(p.mu);
    if (p.active) p.active->shutdown(p.active->export_timeout_);
  }

#if AGENTRACE_DETAIL_HAS_FORK
  // fork() copies only the calling thread. Every lock the child may take is taken here, so that
  // the child gets each in a consistent, unlocked state (order: as everywhere else, the process
  // lock, the collector's, the sampler's, the registry's, the remote-end board's, the exporter
  // factories').
  static void before_fork() {
    auto& p = detail::process();
    p.mu.lock();
    if (p.active) {
      p.active->mu_.lock();
      p.active->exporters_mu_.lock();
    }
    detail::installed_sampler().mu.lock();
    detail::globals().mu.lock();
    detail::remote_ends().mu.lock();
    detail::exporter_factories_mutex().lock();
  }
  static void unlock_after_fork() {
    auto& p = detail::process();
    detail::exporter_factories_mutex().unlock();
    detail::remote_ends().mu.unlock();
    detail::globals().mu.unlock();
    detail::installed_sampler().mu.unlock();
    if (p.active) {
      p.active->exporters_mu_.unlock();
      p.active->mu_.unlock();
    }
    p.mu.unlock();
  }
  static void after_fork_in_parent() { unlock_after_fork(); }

  // The child is a new process with one thread and no collector: tracing is off in it until it
  // calls start(), which it may do at once (the inherited handle does not count as started).
  // Its counters start at zero; the states and spans queued in the parent stay the parent's;
  // the forking thread gets a new state, so a new id generator seeded afresh, at its first span
  // after start(): the child never draws the parent's ids. A span open at the fork that ends in
  // the child is counted as dropped_not_running.
  static void after_fork_in_child() {
    auto& g = detail::globals();
    detail::recording_state.store(detail::recording_off, std::memory_order_relaxed);
    detail::collector_active.store(false);
    detail::dequeued_total.store(0);
    detail::exported_total.store(0);
    detail::export_failed_total.store(0);
    detail::tail_sampled_out_total.store(0);
    detail::dropped_not_running.store(0);
    detail::drain_requested.store(false);
    if (detail::tls.state) detail::this_thread_owner().state = nullptr;
    detail::tls.state = nullptr;
    try {
      g.inherited.insert(g.inherited.end(), g.states.begin(), g.states.end());
    } catch (...) {  // out of memory: they are leaked unreachable instead
    }
    g.states.clear();
    g.free.clear();
    g.retired = {};
    detail::remote_ends().notes.clear();
    // Its old state counts waiters that do not exist here; the object is made anew in place
    // (not destroyed: destroying a condition variable with waiters may block).
    ::new (static_cast<void*>(&detail::collector_wakeup())) std::condition_variable();
    // The same for the parent's collector's own (a force_flush() may have been waiting): its
    // destructor would wait for those waiters.
    if (auto* c = detail::process().active)
      ::new (static_cast<void*>(&c->done_cv_)) std::condition_variable();
    unlock_after_fork();
  }
#endif

  void run() {
    for (;;) {
      std::uint64_t flush_ticket = 0, target = 0;
      bool stopping = false;
      std::chrono::steady_clock::time_point flush_deadline;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, sleep_time(), [&] {
          return stopping_ || flush_requested_ > flush_done_ ||
                 detail::drain_requested.exchange(false, std::memory_order_relaxed);
        });
        stopping = stopping_;
        if (flush_requested_ > flush_done_) {
          flush_ticket = flush_requested_;
          flush_deadline = flush_deadline_;
        }
        target = flush_target_;
        if (stopping) flush_deadline = std::chrono::steady_clock::now() + shutdown_timeout_;
      }
      clock_.refresh();
      drain();
      drain_logs(false);
      const auto now = std::chrono::steady_clock::now();
      if (flush_ticket || stopping) {
        // Everything counted as enqueued before the request must be dequeued and exported.
        while (detail::dequeued_total.load(std::memory_order_relaxed) < target &&
               std::chrono::steady_clock::now() < flush_deadline) {
          if (drain() == 0) std::this_thread::yield();
        }
        export_pending(stopping ? detail::take_mode::all : detail::take_mode::ended);
        drain_logs(true);
        export_metrics();  // at every flush, and the final export at shutdown
        bool ok = detail::dequeued_total.load(std::memory_order_relaxed) >= target;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            flush_deadline - std::chrono::steady_clock::now());
        if (stopping && metrics_)
          for (const auto& e : exporters_) e->attach_metrics({}, resource_);
        const auto wait = std::max(left, std::chrono::milliseconds(0));
        ok = for_each_exporter([&](exporter& e) {
               if (!stopping) return e.force_flush(wait);
               e.shutdown(wait);
               return true;
             }) &&
             ok;
        std::lock_guard<std::mutex> lock(mu_);
        if (flush_ticket) {
          flush_done_ = flush_ticket;
          flush_ok_ = ok;
        }
        done_cv_.notify_all();
        if (stopping) return;
      } else if (tail_) {
        // Spans reach the tail sampler as they are drained (a trace's wait starts when its
        // local root is seen) and traces are decided and exported when due, not at the
        // schedule delay.
        hold_pending();
        if (tail_->next_due() <= now) decide_pending(detail::take_mode::due);
      } else if (pending_count_ > 0 && now - last_export_ >= schedule_delay_) {
        export_pending();
      }
      if (!logs_pending_.empty() && now - last_log_export_ >= log_delay_) export_logs_pending();
      if (metrics_ && now - last_metrics_export_ >= metric_interval_) {
        export_pending();  // every span ended so far is in the metrics
        export_metrics();
      }
      for_each_exporter([](exporter& e) {  // time-driven work (exporter::on_idle)
        e.on_idle(std::chrono::steady_clock::now());
        return true;
      });
    }
  }

  // Moves everything queued, in every thread's queue, into pending_, exporting each time a batch
  // fills. Each queue has one producer and this one consumer.
  std::size_t drain() {
    detail::snapshot_states(states_);
    std::size_t total = 0;
    for (detail::thread_state* st : states_) {
      for (;;) {
        if (pending_count_ == batch_size_) export_pending();
        const std::size_t n = st->queue->try_dequeue_bulk(
            pending_.begin() + static_cast<std::ptrdiff_t>(pending_count_),
            batch_size_ - pending_count_);
        if (n == 0) break;
        pending_count_ += n;
        total += n;
        detail::dequeued_total.fetch_add(n, std::memory_order_relaxed);
      }
      detail::release_if_drained(st);  // an exited thread's state, now empty: freed
    }
    return total;
  }

  // `mode`: what the tail sampler decides besides the traces that are due (a flush: the traces
  // whose local root ended; shutdown: every trace).
  void export_pending(detail::take_mode mode = detail::take_mode::due) {
    if (tail_) {
      hold_pending();
      decide_pending(mode);
      return;
    }
    observe_pending();
    export_records();
  }

  // Metrics count every span, before anything downstream (the tail sampler) decides what to
  // keep.
  void observe_pending() {
    if (metrics_ && pending_count_ > 0) {
      clock_.refresh();
      metrics_->observe(std::span<const span_record>(pending_.data(), pending_count_), clock_);
    }
  }

  // The tail sampler holds whole local traces until they are decided.
  void hold_pending() {
    observe_pending();
    if (pending_count_ == 0) return;
    clock_.refresh();
    tail_->hold(pending_, pending_count_, clock_, std::chrono::steady_clock::now());
    pending_count_ = 0;  // the records were moved out
  }

  // Decides what `mode` names; the kept traces come back to pending_ and are exported.
  void decide_pending(detail::take_mode mode) {
    const auto now = std::chrono::steady_clock::now();
    clock_.refresh();
    while ((pending_count_ = tail_->take_ready(pending_, clock_, now, mode)) > 0) export_records();
    last_export_ = now;
  }

  // How long the collector sleeps: the drain interval, less when a trace the tail sampler holds
  // is due sooner. Nothing held: the drain interval.
  std::chrono::steady_clock::duration sleep_time() const {
    const std::chrono::steady_clock::duration d = drain_interval_;
    if (!tail_) return d;
    const auto due = tail_->next_due();
    if (due == std::chrono::steady_clock::time_point::max()) return d;
    const auto now = std::chrono::steady_clock::now();
    if (due <= now) return std::chrono::steady_clock::duration::zero();
    return std::min(d, due - now);
  }

  void export_records() {
    last_export_ = std::chrono::steady_clock::now();
    if (pending_count_ == 0) return;
    clock_.refresh();
    const std::uint64_t dropped = detail::sum_counters().dropped_queue_full;
    export_batch batch{std::span<const span_record>(pending_.data(), pending_count_),
                       resource_,
                       clock_,
                       limits_,
                       cfg_.scope_name,
                       cfg_.scope_version,
                       dropped};
    const bool ok = for_each_exporter(
        [&](exporter& e) { return e.export_spans(batch) == export_result::success; });
    (ok ? detail::exported_total : detail::export_failed_total)
        .fetch_add(pending_count_, std::memory_order_release);
    for (std::size_t i = 0; i < pending_count_; ++i) pending_[i].reset();
    pending_count_ = 0;
  }

  // Moves queued log records into logs_pending_, exporting each full batch; `all`: also the
  // last, partial one (flush, shutdown).
  void drain_logs(bool all) {
    detail::log_queue& q = detail::process_log_queue();
    for (;;) {
      const std::size_t room = log_batch_size_ - logs_pending_.size();
      const std::size_t n = q.drain(logs_pending_, room);
      if (logs_pending_.size() >= log_batch_size_) export_logs_pending();
      if (n == 0 || n < room) break;
    }
    if (all && !logs_pending_.empty()) export_logs_pending();
  }

  void export_logs_pending() {
    last_log_export_ = std::chrono::steady_clock::now();
    if (logs_pending_.empty()) return;
    const log_batch batch{std::span<const log_record>(logs_pending_), resource_, cfg_.scope_name,
                          cfg_.scope_version};
    const bool ok = for_each_exporter(
        [&](exporter& e) { return e.export_logs(batch) == export_result::success; });
    (ok ? detail::logs_exported_total : detail::logs_export_failed_total)
        .fetch_add(logs_pending_.size(), std::memory_order_release);
    logs_pending_.clear();
  }

  // The span-derived metrics, if config::metrics or OTEL_METRICS_EXPORTER turn them on.
  void setup_metrics(bool env) {
    const metrics_config& m = cfg_.metrics;
    bool on = false;
    if (m.enabled) {
      on = *m.enabled;
    } else if (env) {
      const auto v = detail::env("OTEL_METRICS_EXPORTER");
      on = v && detail::trim(*v) != "none";
    }
    metric_interval_ =
        m.export_interval.count() > 0
            ? m.export_interval
            : std::chrono::milliseconds(env ? detail::env_uint("OTEL_METRIC_EXPORT_INTERVAL", 60000)
                                            : 60000);
    if (metric_interval_.count() <= 0) metric_interval_ = std::chrono::milliseconds(60000);
    metric_timeout_ =
        m.export_timeout.count() > 0
            ? m.export_timeout
            : std::chrono::milliseconds(env ? detail::env_uint("OTEL_METRIC_EXPORT_TIMEOUT", 30000)
                                            : 30000);
    if (metric_timeout_.count() <= 0) metric_timeout_ = std::chrono::milliseconds(30000);
    if (!on) return;
    span_metrics_options o;
    if (!m.duration_buckets.empty()) {
      if (std::adjacent_find(m.duration_buckets.begin(), m.duration_buckets.end(),
                             std::greater_equal<>()) != m.duration_buckets.end()) {
        detail::diag("metrics: duration buckets are not strictly increasing; using the defaults");
      } else {
        o.duration_buckets = m.duration_buckets;
      }
    }
    if (m.cardinality_limit) o.cardinality_limit = m.cardinality_limit;
    if (m.temporality) {
      o.temporality = *m.temporality;
    } else if (env) {
      if (auto t = detail::env("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE")) {
        const std::string v = detail::trim(*t);
        if (detail::iequals(v, "delta")) {
          o.temporality = temporality_preference::delta;
        } else if (detail::iequals(v, "lowmemory")) {
          o.temporality = temporality_preference::lowmemory;
        } else if (!detail::iequals(v, "cumulative")) {
          detail::diag(
              "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE='{}' is not cumulative, delta or "
              "lowmemory; using cumulative",
              v);
        }
      }
    }
    metrics_ = std::make_unique<agentrace::span_metrics>(
        std::move(o), std::string(resource_.get("service.name")));
  }

  // The span-derived metrics and every instrument's, as the temporality preference asks.
  std::vector<metric_data> collect_metrics() {
    std::vector<metric_data> data = metrics_->collect();
    collect_instruments(data, metrics_->options().temporality);
    return data;
  }

  // Hands the metrics to every exporter (those that do not carry metrics ignore them).
  void export_metrics() {
    last_metrics_export_ = std::chrono::steady_clock::now();
    if (!metrics_) return;
    const std::vector<metric_data> data = collect_metrics();
    if (data.empty()) return;
    const metrics_batch batch{std::span<const metric_data>(data), resource_, cfg_.scope_name,
                              cfg_.scope_version, metric_timeout_};
    const bool ok = for_each_exporter(
        [&](exporter& e) { return e.export_metrics(batch) == export_result::success; });
    metric_exports_.fetch_add(1, std::memory_order_relaxed);
    if (!ok) metric_exports_failed_.fetch_add(1, std::memory_order_relaxed);
  }

  // Calls `call(e)` for every exporter, each in its own try: an exception is reported and counts
  // as a failure. True when every call returned true.
  template <class Call>
  bool for_each_exporter(Call&& call) {
    bool ok = true;
    for (const auto& e : exporters_) {
      try {
        ok = call(*e) && ok;
      } catch (const std::exception& ex) {
        report_exporter_error(*e, ex.what());
        ok = false;
      }
    }
    return ok;
  }

  void report_exporter_error(const exporter& e, const char* what) {
    if (errors_reported_++ < 10) detail::diag("exporter '{}' failed: {}", e.name(), what);
  }

  config cfg_;
  agentrace::resource resource_;
  span_limits limits_;
  std::vector<exporter_ptr> exporters_;
  mutable std::mutex exporters_mu_;
  std::size_t queue_size_{0}, batch_size_{0};
  agentrace::sampler sampler_{};
  std::unique_ptr<detail::span_filter> tail_;  // the tail sampler, when configured
  std::chrono::milliseconds schedule_delay_{0}, export_timeout_{0}, drain_interval_{0};
  std::chrono::milliseconds shutdown_timeout_{30000};
  std::vector<detail::thread_state*> states_;  // drain()'s snapshot of the thread registry
  detail::clock_converter clock_;
  std::vector<span_record> pending_;
  std::size_t pending_count_{0};
  std::chrono::steady_clock::time_point last_export_;
  std::vector<log_record> logs_pending_;
  std::size_t log_batch_size_{512};
  std::chrono::milliseconds log_delay_{1000};
  std::chrono::steady_clock::time_point last_log_export_;
  int errors_reported_{0};
  std::unique_ptr<agentrace::span_metrics> metrics_;
  std::chrono::milliseconds metric_interval_{60000}, metric_timeout_{30000};
  std::chrono::steady_clock::time_point last_metrics_export_;
  std::atomic<std::uint64_t> metric_exports_{0}, metric_exports_failed_{0};

  std::mutex mu_;
  std::condition_variable& cv_{detail::collector_wakeup()};  // also woken by request_drain()
  std::condition_variable done_cv_;
  bool stopping_{false}, stopped_{false};
  std::uint64_t flush_requested_{0}, flush_done_{0}, flush_target_{0};
  bool flush_ok_{true};
  std::chrono::steady_clock::time_point flush_deadline_;
#if AGENTRACE_DETAIL_HAS_FORK
  pid_t pid_{::getpid()};  // the process whose collector this is
#endif
  std::thread thread_;
};

#if AGENTRACE_DETAIL_SETUP_DEFINITIONS
AGENTRACE_SETUP_INLINE tracing::tracing() noexcept = default;
AGENTRACE_SETUP_INLINE tracing::tracing(std::unique_ptr<collector> c) noexcept : c_(std::move(c)) {}
AGENTRACE_SETUP_INLINE tracing::tracing(tracing&&) noexcept = default;
AGENTRACE_SETUP_INLINE tracing& tracing::operator=(tracing&& o) noexcept {
  if (this != &o) {
    c_.reset();
    c_ = std::move(o.c_);
  }
  return *this;
}
AGENTRACE_SETUP_INLINE tracing::~tracing() = default;

AGENTRACE_SETUP_INLINE bool tracing::force_flush(std::chrono::milliseconds timeout) {
  return c_ && c_->force_flush(timeout);
}
AGENTRACE_SETUP_INLINE bool tracing::shutdown(std::chrono::milliseconds timeout) {
  return c_ && c_->shutdown(timeout);
}
AGENTRACE_SETUP_INLINE agentrace::stats tracing::stats() const {
  return c_ ? c_->get_stats() : agentrace::stats{};
}

AGENTRACE_SETUP_INLINE tracing start(config cfg) {
  if (cfg.read_environment && detail::env_bool("OTEL_SDK_DISABLED")) return tracing{};
  return tracing{std::make_unique<collector>(std::move(cfg))};
}
#endif  // AGENTRACE_DETAIL_SETUP_DEFINITIONS

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
