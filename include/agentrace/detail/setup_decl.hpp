// SPDX-License-Identifier: MIT
// What the file that starts tracing needs, declared with standard headers only: the
// configuration, start() and the `tracing` handle it returns, the counts it reports, and the
// factories of the built-in exporters. Included by <agentrace/setup.hpp> and by the headers that
// define these (config.hpp, collector.hpp, the exporters).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/metrics/data.hpp"
#include "agentrace/sampler.hpp"
#include "agentrace/version.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

class exporter;  // agentrace/exporter.hpp
using exporter_ptr = std::shared_ptr<exporter>;
class collector;  // agentrace/collector.hpp

/// Span limits (OpenTelemetry "Span Limits"). 0 for the value length means "no limit".
struct span_limits {
  std::uint32_t attribute_count = 128;
  std::uint32_t attribute_value_length = 0;
  std::uint32_t event_count = 128;
  std::uint32_t link_count = 128;
  std::uint32_t event_attribute_count = 128;
  std::uint32_t link_attribute_count = 128;
};

/// Spans an exporter accepted and later gave up on, by reason (summed into agentrace::stats).
struct export_failures {
  std::uint64_t buffer_full = 0;        // dropped on arrival: the exporter's own buffer was full
  std::uint64_t rejected = 0;           // the receiver refused them (non-retryable answer,
                                        // OTLP partialSuccess.rejectedSpans)
  std::uint64_t retries_exhausted = 0;  // retryable failures until the export timeout ran out
  std::uint64_t shutdown = 0;           // still undelivered when shutdown's deadline passed
  std::uint64_t other = 0;              // any other reason (I/O error, TLS, bad URL ...)

  std::uint64_t total() const noexcept {
    return buffer_full + rejected + retries_exhausted + shutdown + other;
  }
  export_failures& operator+=(const export_failures& o) noexcept {
    buffer_full += o.buffer_full;
    rejected += o.rejected;
    retries_exhausted += o.retries_exhausted;
    shutdown += o.shutdown;
    other += o.other;
    return *this;
  }
};

/// Counts of the tail sampler (cumulative for one collector).
struct tail_sampling_counts {
  std::uint64_t traces_kept = 0;           // by the rule, the ratio or the rate limit
  std::uint64_t traces_dropped = 0;        // decided not kept
  std::uint64_t spans_dropped = 0;         // the spans of those traces (late ones included)
  std::uint64_t traces_decided_early = 0;  // decided before their local root ended: over a
                                           // bound, at max_hold, or at a flush / shutdown
  std::uint64_t held_traces = 0;           // held now (after the collector's last export)
  std::uint64_t held_spans = 0;            // held now
  std::uint64_t peak_held_spans = 0;       // the most ever held at once
  std::uint64_t held_bytes = 0;            // held now: the records and what they own
};

/// Tail sampling (agentrace/tail_sampling.hpp, docs/sampling.md): which whole local traces are
/// exported, decided when each ends. Zero / empty: the AGENTRACE_TAIL_SAMPLING* variable, then
/// the default. Off unless a rule or a ratio is set.
struct tail_sampling_config {
  std::string rule{};             // AGENTRACE_TAIL_SAMPLING: an eval query; matches are kept
  std::optional<double> ratio{};  // AGENTRACE_TAIL_SAMPLING_RATIO: share of the rest, default 0
  std::optional<double> rate_limit{};  // AGENTRACE_TAIL_SAMPLING_RATE_LIMIT: rest kept per second
  std::chrono::milliseconds wait{0};   // AGENTRACE_TAIL_SAMPLING_WAIT: after the root, 100 ms
  std::chrono::milliseconds max_hold{0};  // AGENTRACE_TAIL_SAMPLING_MAX_HOLD: 30000 ms
  std::size_t max_traces = 0;             // AGENTRACE_TAIL_SAMPLING_MAX_TRACES: held at once, 4096
  std::size_t max_spans = 0;              // AGENTRACE_TAIL_SAMPLING_MAX_SPANS: held at once, 65536
  std::size_t max_bytes = 0;              // AGENTRACE_TAIL_SAMPLING_MAX_BYTES: held at once, 16 MiB
  std::size_t percentile_window = 0;  // AGENTRACE_TAIL_SAMPLING_WINDOW: durations per name, 1024
  std::size_t percentile_warmup = 0;  // AGENTRACE_TAIL_SAMPLING_WARMUP: spans before pNN, 100
};

/// Metrics derived from spans on the collector thread (docs/metrics.md). Unset fields come from
/// the OTEL_METRIC* environment variables, then the defaults.
struct metrics_config {
  /// Unset: on when OTEL_METRICS_EXPORTER names an exporter (anything but "none").
  std::optional<bool> enabled{};
  /// traces.span.metrics.duration bucket boundaries in seconds; empty: the spanmetrics
  /// connector's defaults (metric_names::span_duration_buckets).
  std::vector<double> duration_buckets{};
  std::size_t cardinality_limit = 0;  // series per metric; 0: 2000
  /// Unset: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, else cumulative.
  std::optional<temporality_preference> temporality{};
  std::chrono::milliseconds export_interval{0};  // OTEL_METRIC_EXPORT_INTERVAL, default 60000 ms
  /// The time one metrics export may take, retries included; past it the exporter gives up on
  /// it and counts the loss. OTEL_METRIC_EXPORT_TIMEOUT, default 30000 ms.
  std::chrono::milliseconds export_timeout{0};
};

/// Everything start() takes. Zero / empty means "not set here": the matching OpenTelemetry
/// environment variable, then the documented default, fills it.
struct config {
  std::string service_name{};             // OTEL_SERVICE_NAME, else unknown_service:<exe>
  std::vector<exporter_ptr> exporters{};  // none: OTEL_TRACES_EXPORTER / AGENTRACE_OTLP_FILE
  std::vector<std::pair<std::string, std::string>> resource_attributes{};  // win over env
  std::size_t max_queue_size = 0;         // OTEL_BSP_MAX_QUEUE_SIZE: spans per thread, default 2048
  std::size_t max_export_batch_size = 0;  // OTEL_BSP_MAX_EXPORT_BATCH_SIZE, default 512
  std::chrono::milliseconds schedule_delay{0};  // OTEL_BSP_SCHEDULE_DELAY, default 5000 ms
  std::chrono::milliseconds export_timeout{0};  // OTEL_BSP_EXPORT_TIMEOUT, default 30000 ms
  std::chrono::milliseconds drain_interval{0};  // how often the collector drains, default 5 ms
  bool drain_on_demand = true;  // a thread whose queue is half full wakes the collector early
  std::optional<span_limits> limits{};   // OTEL_SPAN_* / OTEL_ATTRIBUTE_* limits
  bool read_environment = true;          // false: ignore every environment variable
  std::string scope_name = "agentrace";  // instrumentation scope
  std::string scope_version = AGENTRACE_VERSION_STRING;
  std::optional<agentrace::sampler>
      sampler{};                         // OTEL_TRACES_SAMPLER(_ARG), default parentbased_always_on
  tail_sampling_config tail_sampling{};  // needs <agentrace/tail_sampling.hpp>; default off
  metrics_config metrics{};              // span-derived metrics, exported through `exporters`
};

/// Defaults (documented in docs/configuration.md).
namespace defaults {
inline constexpr std::size_t max_queue_size = 2048;  // per thread (OpenTelemetry's default)
inline constexpr std::size_t max_export_batch_size = 512;
inline constexpr std::chrono::milliseconds schedule_delay{5000};
inline constexpr std::chrono::milliseconds export_timeout{30000};
inline constexpr std::chrono::milliseconds drain_interval{5};
}  // namespace defaults

/// Counts since the process started tracing (cumulative across start/shutdown cycles).
/// Every span that ended while tracing was on is in exactly one of: exported, export_failed,
/// dropped_*, or still queued (`queued()`).
struct stats {
  std::uint64_t spans_ended = 0;                // ended while tracing was on
  std::uint64_t spans_exported = 0;             // handed to the exporters, which succeeded
  std::uint64_t spans_export_failed = 0;        // in a batch an exporter reported failed
  std::uint64_t dropped_queue_full = 0;         // try_enqueue found the queue full
  std::uint64_t dropped_unsampled = 0;          // ended unsampled (never enqueued, by design)
  std::uint64_t dropped_not_running = 0;        // ended after shutdown began / while thread exited
  std::uint64_t spans_failed_in_exporters = 0;  // accepted by an exporter, later given up on
  export_failures exporter_failures{};          // the same, by reason (buffer full, rejected...)
  // Log records (emit_event), cumulative like the span counts.
  std::uint64_t logs_emitted = 0;              // accepted into the log queue
  std::uint64_t logs_exported = 0;             // handed to the exporters, which succeeded
  std::uint64_t logs_export_failed = 0;        // in a batch an exporter reported failed
  std::uint64_t logs_dropped_queue_full = 0;   // the log queue was full
  std::uint64_t logs_dropped_not_running = 0;  // emitted while tracing was not running
  // Tail sampling (agentrace/tail_sampling.hpp).
  std::uint64_t dropped_tail_sampled = 0;  // spans of traces the tail sampler did not keep
  tail_sampling_counts tail_sampling{};    // traces kept, dropped...: this collector's only
  // Span-derived metrics (zero when they are off).
  std::uint64_t metric_spans_observed = 0;         // spans the metrics counted (every one dequeued)
  std::uint64_t metric_points_overflowed = 0;      // measurements in an overflow series
  std::uint64_t metric_series = 0;                 // series held, every metric together
  std::uint64_t metric_exports = 0;                // metrics exports handed to the exporters
  std::uint64_t metric_exports_failed = 0;         // ... of which an exporter reported failed
  std::uint64_t metric_measurements_rejected = 0;  // instruments: negative counter adds, NaN
  // The current context's repair after spans end out of order, process-wide (context.hpp).
  std::uint64_t context_entries_lost = 0;    // notes of out-of-order ends lost to out of
                                             // memory: a context restored later may name an
                                             // ended span (a wrong parent); should stay 0
  std::uint64_t remote_ends_unrepaired = 0;  // spans closed away from their thread with nothing
                                             // to repair there (exited thread, coroutine chain)

  /// Spans lost for any reason other than sampling.
  std::uint64_t dropped_total() const noexcept {
    return dropped_queue_full + dropped_not_running + spans_export_failed;
  }
  /// Spans in flight: enqueued but not yet exported.
  std::uint64_t queued() const noexcept {
    const std::uint64_t done = spans_exported + spans_export_failed + dropped_queue_full +
                               dropped_unsampled + dropped_tail_sampled;
    return spans_ended > done ? spans_ended - done : 0;
  }
};

/// The RAII handle start() returns: its destructor shuts tracing down (flushes, joins).
class tracing {
 public:
  tracing() noexcept;
  explicit tracing(std::unique_ptr<collector> c) noexcept;
  tracing(tracing&& o) noexcept;
  tracing& operator=(tracing&& o) noexcept;
  ~tracing();

  explicit operator bool() const noexcept { return c_ != nullptr; }
  bool force_flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
  bool shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(30000));
  agentrace::stats stats() const;
  collector* get() const noexcept { return c_.get(); }

 private:
  std::unique_ptr<collector> c_;
};

/// Starts tracing: spans are recorded from now until the returned handle is destroyed or shut
/// down. With OTEL_SDK_DISABLED=true, returns an empty handle and nothing is recorded.
/// Throws std::logic_error if tracing is already started.
tracing start(config cfg = {});

/// Exporters named by OTEL_TRACES_EXPORTER / AGENTRACE_OTLP_FILE (collector.hpp).
std::vector<exporter_ptr> exporters_from_env();

/// The exporters the environment names, or `defaults` when it names none. Examples use this so
/// that any of them can be pointed elsewhere without a rebuild.
std::vector<exporter_ptr> exporters_from_env_or(std::vector<exporter_ptr> defaults);

/// A console tree exporter writing to stdout (OTEL_TRACES_EXPORTER=console); console.hpp has
/// the overload that takes console_options.
exporter_ptr console();

/// OTLP/JSON lines to a file (the OpenTelemetry Collector's file-exporter format).
exporter_ptr otlp_json_file(const std::string& path, bool append = false);

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
