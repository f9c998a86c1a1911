// SPDX-License-Identifier: MIT
// agentrace 0.1.0: single-header edition of include/agentrace/agentrace.hpp.
// Generated — do not edit. Made by scripts/amalgamate.py from the headers under include/;
// change those and run `python3 scripts/amalgamate.py`.
// Builds on <agentrace/span.hpp>: keep that single header beside this one.
#pragma once

// amalgamated: include/agentrace/agentrace.hpp
// SPDX-License-Identifier: MIT
// agentrace — a C++20 header-only tracer for LLM agents that speaks OpenTelemetry.
//
// Quickstart:
//   auto tracing = agentrace::start({.service_name = "my-agent",
//                                    .exporters = {agentrace::console()}});
//   {
//     AGENTRACE_SPAN(s, "agent.step");
//     s.set(my_keys::retries, 2);
//   }
//
//   agent threads                          collector thread
//   span begin/end ── one fixed-size ──►   drain in bulk ─► clocks ─► batch ─► exporters
//   (no lock, no alloc)   record, lock-free queue (drop + count when full)    (OTLP-JSON, console,
//                                                                               memory, OTLP/HTTP)

// amalgamated: include/agentrace/version.hpp
#ifndef AGENTRACE_SINGLE_VERSION_HPP
#define AGENTRACE_SINGLE_VERSION_HPP
// SPDX-License-Identifier: MIT
// agentrace: the one place the version lives (CMake parses these lines).

#include <agentrace/span.hpp>

#define AGENTRACE_VERSION_MAJOR 0
#define AGENTRACE_VERSION_MINOR 1
#define AGENTRACE_VERSION_PATCH 0
#define AGENTRACE_VERSION_STRING "0.1.0"

#ifndef AGENTRACE_ENABLED
#define AGENTRACE_ENABLED 1
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {
inline constexpr const char* version_string = AGENTRACE_VERSION_STRING;
}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
#endif  // AGENTRACE_SINGLE_VERSION_HPP
#include <agentrace/span.hpp>
// amalgamated: include/agentrace/sampler.hpp
#ifndef AGENTRACE_SINGLE_SAMPLER_HPP
#define AGENTRACE_SINGLE_SAMPLER_HPP
// SPDX-License-Identifier: MIT
// Head sampling: always_on, always_off, trace-id ratio and parent-based, as OpenTelemetry defines
// them.
//
// Every built-in sampler reduces to one rejection threshold per parent case (OpenTelemetry's
// consistent probability sampling): a span is sampled when R >= T, where R is the trace id's
// rightmost 56 bits (W3C Trace Context Level 2 randomness) and T is the threshold of its case.
// always_on is T = 0, always_off is T = 2^56 (no R reaches it), traceidratio(p) is
// T = 2^56 - round(p * 2^56). A parent-based sampler picks one of five thresholds by whether the
// parent is absent, remote or local, sampled or not; a plain sampler uses the same one for all
// five. The hot path therefore decides with one load and one compare, and never calls through a
// pointer.

#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

namespace detail {
/// Rejection threshold T for a sampling probability: T = 2^56 - round(p * 2^56), computed exactly
/// (p * 2^56 only shifts the exponent of the double). p >= 1 samples everything, p <= 0 (or NaN,
/// or below 2^-57) nothing.
inline std::uint64_t ratio_threshold(double p) noexcept {
  if (!(p > 0.0)) return never_threshold;
  if (p >= 1.0) return 0;
  const double scaled = std::ldexp(p, 56);  // exact
  const auto keep = static_cast<std::uint64_t>(std::llround(scaled));
  return never_threshold - keep;
}

}  // namespace detail

/// A head sampler: decides at span begin whether a span is recorded and exported. An unsampled
/// span still has ids and still propagates its context (with the sampled flag clear); it is never
/// recorded nor enqueued. Built-ins only (OpenTelemetry's): configure one in code with
/// `config::sampler`, or with OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG.
class sampler {
 public:
  /// ParentBased(root=AlwaysOn), OpenTelemetry's default.
  sampler() noexcept : sampler(parent_based(always_on())) {}

  /// Samples every span, whatever its parent says.
  static sampler always_on() noexcept { return sampler(leaf{kind::on, 1.0, 0}); }
  /// Samples no span, whatever its parent says.
  static sampler always_off() noexcept {
    return sampler(leaf{kind::off, 0.0, detail::never_threshold});
  }
  /// Samples a fraction `ratio` of traces, deterministically by trace id (the same trace id always
  /// gets the same decision, in every process that uses this algorithm), ignoring the parent's
  /// sampled flag. Ratios are clamped to [0, 1]; a larger ratio samples a superset of a smaller
  /// one.
  static sampler trace_id_ratio(double ratio) noexcept {
    if (std::isnan(ratio)) ratio = 0.0;
    ratio = ratio < 0.0 ? 0.0 : (ratio > 1.0 ? 1.0 : ratio);
    return sampler(leaf{kind::ratio, ratio, detail::ratio_threshold(ratio)});
  }
  /// Follows the parent: `root` decides for spans without a parent, the four delegates for spans
  /// whose parent is remote/local and sampled/not (OpenTelemetry ParentBased and its defaults).
  /// A parent-based sampler given as a delegate contributes the delegate of the same case.
  static sampler parent_based(const sampler& root,
                              const sampler& remote_parent_sampled = always_on(),
                              const sampler& remote_parent_not_sampled = always_off(),
                              const sampler& local_parent_sampled = always_on(),
                              const sampler& local_parent_not_sampled = always_off()) noexcept {
    sampler s = root;
    s.parent_based_ = true;
    s.cases_[1] = remote_parent_sampled.cases_[1];
    s.cases_[2] = remote_parent_not_sampled.cases_[2];
    s.cases_[3] = local_parent_sampled.cases_[3];
    s.cases_[4] = local_parent_not_sampled.cases_[4];
    return s;
  }

  /// The decision for a span of trace `id` whose parent is `parent` (invalid: a root span).
  bool should_sample(const span_context& parent, const trace_id& id) const noexcept {
    return detail::trace_randomness(id) >= threshold(detail::case_of(parent));
  }

  /// The rejection threshold used in case `c` (0 = sample all, 2^56 = sample none).
  std::uint64_t threshold(sampling_case c) const noexcept {
    return cases_[static_cast<std::size_t>(c)].threshold;
  }
  bool is_parent_based() const noexcept { return parent_based_; }

  /// OpenTelemetry GetDescription: "AlwaysOnSampler", "AlwaysOffSampler",
  /// "TraceIdRatioBased{0.100000}", "ParentBased{root=...,remoteParentSampled=...,...}".
  std::string description() const {
    if (!parent_based_) return describe(cases_[0]);
    return "ParentBased{root=" + describe(cases_[0]) +
           ",remoteParentSampled=" + describe(cases_[1]) +
           ",remoteParentNotSampled=" + describe(cases_[2]) +
           ",localParentSampled=" + describe(cases_[3]) +
           ",localParentNotSampled=" + describe(cases_[4]) + "}";
  }

  /// The sampler OTEL_TRACES_SAMPLER names (always_on, always_off, traceidratio,
  /// parentbased_always_on, parentbased_always_off, parentbased_traceidratio) with its argument
  /// (the ratio of the *traceidratio ones, default 1.0). nullopt and `error` set for an unknown
  /// name; an invalid argument sets `error` and uses 1.0, as the specification says.
  static std::optional<sampler> from_name(std::string_view name,
                                          std::optional<std::string_view> arg,
                                          std::string* error = nullptr) {
    auto ratio = [&]() -> double {
      if (!arg) return 1.0;
      const std::string_view a = detail::trim_view(*arg);
      double v = 0.0;
      auto [p, ec] = std::from_chars(a.data(), a.data() + a.size(), v);
      if (ec != std::errc() || p != a.data() + a.size() || !(v >= 0.0 && v <= 1.0)) {
        if (error)
          *error = "OTEL_TRACES_SAMPLER_ARG='" + std::string(*arg) +
                   "' is not a probability in [0, 1]; using 1.0";
        return 1.0;
      }
      return v;
    };
    if (name == "always_on") return always_on();
    if (name == "always_off") return always_off();
    if (name == "traceidratio") return trace_id_ratio(ratio());
    if (name == "parentbased_always_on") return parent_based(always_on());
    if (name == "parentbased_always_off") return parent_based(always_off());
    if (name == "parentbased_traceidratio") return parent_based(trace_id_ratio(ratio()));
    if (error)
      *error = "OTEL_TRACES_SAMPLER='" + std::string(name) +
               "' is not supported here (always_on, always_off, traceidratio, "
               "parentbased_always_on, parentbased_always_off, parentbased_traceidratio); using "
               "parentbased_always_on";
    return std::nullopt;
  }

  friend bool operator==(const sampler& a, const sampler& b) noexcept {
    if (a.parent_based_ != b.parent_based_) return false;
    for (std::size_t i = 0; i < 5; ++i)
      if (a.cases_[i].threshold != b.cases_[i].threshold || a.cases_[i].k != b.cases_[i].k)
        return false;
    return true;
  }

 private:
  enum class kind : std::uint8_t { on, off, ratio };
  struct leaf {
    kind k;
    double ratio;
    std::uint64_t threshold;
  };
  explicit sampler(leaf l) noexcept { cases_.fill(l); }

  static std::string describe(const leaf& l) {
    switch (l.k) {
      case kind::on: return "AlwaysOnSampler";
      case kind::off: return "AlwaysOffSampler";
      case kind::ratio: break;
    }
    char buf[48];
    const auto r = std::to_chars(buf, buf + sizeof buf, l.ratio, std::chars_format::fixed, 6);
    return "TraceIdRatioBased{" + std::string(buf, r.ptr) + "}";
  }

  std::array<leaf, 5> cases_{};
  bool parent_based_{false};
};

namespace detail {

/// The configured sampler, for introspection (active_sampler()).
struct sampler_slot {
  std::mutex mu;
  agentrace::sampler value{};
};
inline sampler_slot& installed_sampler() {
  static sampler_slot* s = new sampler_slot();  // leaked: read by threads outliving main
  return *s;
}

/// Whether the installed sampler is ParentBased(root=AlwaysOn), the default: every root sampled,
/// every child sampled exactly when its parent is. start() and install_sampler() then tell the
/// hot path so (clock.hpp, recording_sample_as_parent), which skips the threshold comparisons.
inline bool samples_as_parent() noexcept {
  auto t = [](sampling_case c) {
    return sampling_thresholds[static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
  };
  return t(sampling_case::root) == 0 && t(sampling_case::remote_parent_sampled) == 0 &&
         t(sampling_case::local_parent_sampled) == 0 &&
         t(sampling_case::remote_parent_not_sampled) == never_threshold &&
         t(sampling_case::local_parent_not_sampled) == never_threshold;
}

// start() calls this before it publishes recording_state (with the default-sampler bit from
// samples_as_parent); while tracing is on, this keeps that bit in step with `s` itself.
inline void install_sampler(const agentrace::sampler& s) {
  auto& slot = installed_sampler();
  std::lock_guard<std::mutex> lock(slot.mu);
  slot.value = s;
  for (std::size_t i = 0; i < 5; ++i)
    sampling_thresholds[i].store(s.threshold(static_cast<sampling_case>(i)),
                                 std::memory_order_relaxed);
  set_sample_as_parent(samples_as_parent());
}

}  // namespace detail

/// The sampler start() installed (ParentBased(root=AlwaysOn) before any start()).
inline sampler active_sampler() {
  auto& slot = detail::installed_sampler();
  std::lock_guard<std::mutex> lock(slot.mu);
  return slot.value;
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
#endif  // AGENTRACE_SINGLE_SAMPLER_HPP
// amalgamated: include/agentrace/event.hpp
// SPDX-License-Identifier: MIT
// Events as OpenTelemetry log records (OTLP logs): an event name, a severity, attributes and a
// body, linked to a span (the current one by default). Light, like span.hpp: no fmt, no JSON,
// no queue here. emit_event() hands the record to the collector's bounded log queue without
// waiting; when the queue is full, or tracing is not running, the record is dropped and counted
// (agentrace::stats: logs_dropped_queue_full, logs_dropped_not_running).
//
//   agentrace::emit_event("gen_ai.evaluation.result",
//                         {{semconv::gen_ai::evaluation_name, "relevance"},
//                          {semconv::gen_ai::evaluation_score_value, 0.8}});

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// OpenTelemetry SeverityNumber (the first of each range; values as in OTLP).
enum class severity : std::uint8_t {
  unspecified = 0,
  trace = 1,
  debug = 5,
  info = 9,
  warn = 13,
  error = 17,
  fatal = 21
};

/// One log record. `event_name` and attribute keys are views of static storage (string
/// literals, key constants); values and the body are owned.
struct log_record {
  std::uint64_t time_unix_ns = 0;           // when it happened; 0: when emitted
  std::uint64_t observed_time_unix_ns = 0;  // set by emit_event
  std::string_view event_name{};            // e.g. "gen_ai.evaluation.result"
  agentrace::severity severity = severity::info;
  std::vector<attribute> attributes{};
  attr_value body{};       // std::monostate: no body
  span_context context{};  // the span it belongs to; invalid: none
};

namespace detail {

/// Where emit_event puts records: the collector installs its log queue (static storage, so a
/// thread that read the pointer just before shutdown still finds a live object).
struct log_sink {
  /// False when the record was dropped (counted by the sink).
  virtual bool push(log_record&& r) noexcept = 0;
  virtual ~log_sink() = default;
};
inline std::atomic<log_sink*> active_log_sink{nullptr};
/// Records emitted while no collector was running.
inline std::atomic<std::uint64_t> logs_dropped_not_running{0};

inline std::uint64_t unix_now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace detail

/// Hands `r` to the collector (never waits). Its context defaults to the current span's when
/// not valid; times default to now. False when it was dropped (counted).
inline bool emit_event(log_record r) noexcept {
  detail::log_sink* sink = detail::active_log_sink.load(std::memory_order_acquire);
  if (!sink) {
    detail::logs_dropped_not_running.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  r.observed_time_unix_ns = detail::unix_now_ns();
  if (r.time_unix_ns == 0) r.time_unix_ns = r.observed_time_unix_ns;
  if (!r.context.valid()) r.context = current_context();
  return sink->push(std::move(r));
}

/// An event named `name` (static storage) with `attrs`, linked to the current span.
inline bool emit_event(std::string_view name, std::initializer_list<kv> attrs = {},
                       severity sev = severity::info, attr_value body = {}) {
  log_record r;
  r.event_name = name;
  r.severity = sev;
  r.body = std::move(body);
  r.attributes.reserve(attrs.size());
  for (const kv& a : attrs) r.attributes.push_back(a.attr);
  return emit_event(std::move(r));
}

/// The same, linked to the span `ctx` (e.g. the span an evaluation judged).
inline bool emit_event(const span_context& ctx, std::string_view name,
                       std::initializer_list<kv> attrs = {}, severity sev = severity::info,
                       attr_value body = {}) {
  log_record r;
  r.event_name = name;
  r.severity = sev;
  r.body = std::move(body);
  r.context = ctx;
  r.attributes.reserve(attrs.size());
  for (const kv& a : attrs) r.attributes.push_back(a.attr);
  return emit_event(std::move(r));
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/semconv/semconv.hpp
// SPDX-License-Identifier: MIT
// Every semantic-convention key agentrace defines: gen_ai.*, db.*, server.*, error.type,
// exception.*.

// amalgamated: include/agentrace/semconv/db.hpp
// SPDX-License-Identifier: MIT
// Semantic-convention keys for database client spans (db.*, semconv v1.44, stable).

#include <cstdint>
#include <string>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::db {

/// The database management system (DBMS) product, as identified by the client (required).
inline constexpr key<std::string> system_name{"db.system.name"};
/// The name of the database, fully qualified within the server address and port ("db.namespace").
inline constexpr key<std::string> namespace_{"db.namespace"};
/// The name of the collection/table the operation acts on (only when it is a single one).
inline constexpr key<std::string> collection_name{"db.collection.name"};
/// The name of the operation or command being executed, e.g. SELECT.
inline constexpr key<std::string> operation_name{"db.operation.name"};
/// Number of queries in a batch operation (only when >= 2).
inline constexpr key<std::int64_t> operation_batch_size{"db.operation.batch.size"};
/// The database query being executed: parameterized, or sanitized (literals replaced by `?`).
inline constexpr key<std::string> query_text{"db.query.text"};
/// Low-cardinality summary of the query, e.g. "SELECT orders"; also the span name when set.
inline constexpr key<std::string> query_summary{"db.query.summary"};
/// Number of rows returned by the operation (opt-in).
inline constexpr key<std::int64_t> response_returned_rows{"db.response.returned_rows"};
/// Database response status code, as a string (e.g. "08P01", or SQLite's result code "1").
inline constexpr key<std::string> response_status_code{"db.response.status_code"};
/// The name of a stored procedure the operation called.
inline constexpr key<std::string> stored_procedure_name{"db.stored_procedure.name"};

/// Well-known values of db.system.name.
namespace system_name_values {
inline constexpr static_string sqlite{"sqlite"};
inline constexpr static_string postgresql{"postgresql"};
inline constexpr static_string mysql{"mysql"};
inline constexpr static_string mariadb{"mariadb"};
inline constexpr static_string microsoft_sql_server{"microsoft.sql_server"};
inline constexpr static_string oracle_db{"oracle.db"};
inline constexpr static_string clickhouse{"clickhouse"};
inline constexpr static_string redis{"redis"};
inline constexpr static_string mongodb{"mongodb"};
inline constexpr static_string other_sql{"other_sql"};
}  // namespace system_name_values

}  // namespace agentrace::semconv::db

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/semconv/error.hpp
// SPDX-License-Identifier: MIT
// Semantic-convention key error.type (stable): the low-cardinality class of an error.

#include <string>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::error {

/// Describes a class of error the operation ended with: an exception's type name, an HTTP status
/// code ("500"), a database status ("SQLITE_ERROR"), "timeout", ... Set only when the operation
/// failed; keep it low-cardinality (the message goes to the span status description).
inline constexpr key<std::string> type{"error.type"};

namespace type_values {
/// A fallback when the instrumentation does not define a custom value.
inline constexpr static_string other{"_OTHER"};
}  // namespace type_values

}  // namespace agentrace::semconv::error

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/semconv/gen_ai.hpp
// SPDX-License-Identifier: MIT
// Semantic-convention keys for generative AI (gen_ai.*): OpenTelemetry GenAI conventions v1.41.0
// (status: Development), with the newer names noted where the genai repository moved on.

#include <cstdint>
#include <string>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::gen_ai {

// ---- operation and provider (set at span start: they drive sampling) -------------------------

/// The operation: chat, embeddings, execute_tool, invoke_agent, ... (required on every GenAI span).
inline constexpr key<std::string> operation_name{"gen_ai.operation.name"};
/// The GenAI provider as identified by the client instrumentation (required on inference spans).
/// Replaces the deprecated gen_ai.system.
inline constexpr key<std::string> provider_name{"gen_ai.provider.name"};

// ---- request ---------------------------------------------------------------------------------

inline constexpr key<std::string> request_model{"gen_ai.request.model"};
inline constexpr key<double> request_temperature{"gen_ai.request.temperature"};
inline constexpr key<std::int64_t> request_max_tokens{"gen_ai.request.max_tokens"};
inline constexpr key<double> request_top_p{"gen_ai.request.top_p"};
/// Typed double in v1.41.0 (the genai repository later made it an int).
inline constexpr key<double> request_top_k{"gen_ai.request.top_k"};
inline constexpr key<double> request_frequency_penalty{"gen_ai.request.frequency_penalty"};
inline constexpr key<double> request_presence_penalty{"gen_ai.request.presence_penalty"};
inline constexpr key<std::vector<std::string>> request_stop_sequences{
    "gen_ai.request.stop_sequences"};
inline constexpr key<std::int64_t> request_seed{"gen_ai.request.seed"};
/// Number of candidate completions asked for (conditionally required when != 1).
inline constexpr key<std::int64_t> request_choice_count{"gen_ai.request.choice.count"};
/// True iff the response is streamed (conditionally required when streaming).
inline constexpr key<bool> request_stream{"gen_ai.request.stream"};
inline constexpr key<std::vector<std::string>> request_encoding_formats{
    "gen_ai.request.encoding_formats"};
/// The content type requested: text, json, image, speech.
inline constexpr key<std::string> output_type{"gen_ai.output.type"};

// ---- response --------------------------------------------------------------------------------

inline constexpr key<std::string> response_id{"gen_ai.response.id"};
inline constexpr key<std::string> response_model{"gen_ai.response.model"};
/// One finish reason per choice received (stop, length, content_filter, tool_call, error).
inline constexpr key<std::vector<std::string>> response_finish_reasons{
    "gen_ai.response.finish_reasons"};
/// Seconds from the request to the first chunk of a streamed response.
inline constexpr key<double> response_time_to_first_chunk{"gen_ai.response.time_to_first_chunk"};

// ---- usage -----------------------------------------------------------------------------------

/// Input (prompt) tokens, INCLUDING cached ones. Replaces gen_ai.usage.prompt_tokens.
inline constexpr key<std::int64_t> usage_input_tokens{"gen_ai.usage.input_tokens"};
/// Output (completion) tokens, including reasoning tokens. Replaces gen_ai.usage.completion_tokens.
inline constexpr key<std::int64_t> usage_output_tokens{"gen_ai.usage.output_tokens"};
/// Input tokens served from the provider's cache (part of usage.input_tokens).
inline constexpr key<std::int64_t> usage_cache_read_input_tokens{
    "gen_ai.usage.cache_read.input_tokens"};
/// Input tokens written to the provider's cache (one genai-repo version renamed it
/// gen_ai.usage.cache_write.input_tokens).
inline constexpr key<std::int64_t> usage_cache_creation_input_tokens{
    "gen_ai.usage.cache_creation.input_tokens"};
/// Reasoning tokens (part of usage.output_tokens).
inline constexpr key<std::int64_t> usage_reasoning_output_tokens{
    "gen_ai.usage.reasoning.output_tokens"};

// ---- conversation, agent, workflow, data source, prompt ---------------------------------------

/// A conversation/session/thread id, when the application has one (never fabricated).
inline constexpr key<std::string> conversation_id{"gen_ai.conversation.id"};
inline constexpr key<std::string> agent_id{"gen_ai.agent.id"};
inline constexpr key<std::string> agent_name{"gen_ai.agent.name"};
inline constexpr key<std::string> agent_description{"gen_ai.agent.description"};
inline constexpr key<std::string> agent_version{"gen_ai.agent.version"};
inline constexpr key<std::string> workflow_name{"gen_ai.workflow.name"};
/// The data source (database, vector store, ...) an agent or retrieval works on.
inline constexpr key<std::string> data_source_id{"gen_ai.data_source.id"};
inline constexpr key<std::string> prompt_name{"gen_ai.prompt.name"};

// ---- tools -----------------------------------------------------------------------------------

inline constexpr key<std::string> tool_name{"gen_ai.tool.name"};
inline constexpr key<std::string> tool_call_id{"gen_ai.tool.call.id"};
/// function, extension or datastore.
inline constexpr key<std::string> tool_type{"gen_ai.tool.type"};
inline constexpr key<std::string> tool_description{"gen_ai.tool.description"};
/// Opt-in content (type "any"; recorded as a JSON string).
inline constexpr key<std::string> tool_call_arguments{"gen_ai.tool.call.arguments"};
/// Opt-in content (type "any"; recorded as a JSON string).
inline constexpr key<std::string> tool_call_result{"gen_ai.tool.call.result"};
/// Opt-in: the tool definitions offered to the model (JSON string).
inline constexpr key<std::string> tool_definitions{"gen_ai.tool.definitions"};

// ---- embeddings and retrieval ----------------------------------------------------------------

inline constexpr key<std::int64_t> embeddings_dimension_count{"gen_ai.embeddings.dimension.count"};
/// Opt-in content: the retrieval query.
inline constexpr key<std::string> retrieval_query_text{"gen_ai.retrieval.query.text"};
/// Opt-in content: [{"id":"doc_123","score":0.95}, ...] as a JSON string.
inline constexpr key<std::string> retrieval_documents{"gen_ai.retrieval.documents"};

// ---- content (opt-in; JSON strings in the schema's shape) --------------------------------------

/// [ {role, parts:[...], name?} ... ] — the messages sent to the model.
inline constexpr key<std::string> input_messages{"gen_ai.input.messages"};
/// [ {role, parts:[...], finish_reason} ... ] — the messages the model returned.
inline constexpr key<std::string> output_messages{"gen_ai.output.messages"};
/// [ part ... ] — system instructions sent separately from the chat history.
inline constexpr key<std::string> system_instructions{"gen_ai.system_instructions"};

// ---- evaluation (event gen_ai.evaluation.result) ----------------------------------------------

inline constexpr key<std::string> evaluation_name{"gen_ai.evaluation.name"};
inline constexpr key<double> evaluation_score_value{"gen_ai.evaluation.score.value"};
inline constexpr key<std::string> evaluation_score_label{"gen_ai.evaluation.score.label"};
inline constexpr key<std::string> evaluation_explanation{"gen_ai.evaluation.explanation"};

/// Metric attribute: input or output.
inline constexpr key<std::string> token_type{"gen_ai.token.type"};

// ---- well-known values -----------------------------------------------------------------------

namespace operation_name_values {
inline constexpr static_string chat{"chat"};
inline constexpr static_string generate_content{"generate_content"};
inline constexpr static_string text_completion{"text_completion"};
inline constexpr static_string embeddings{"embeddings"};
inline constexpr static_string retrieval{"retrieval"};
inline constexpr static_string execute_tool{"execute_tool"};
inline constexpr static_string create_agent{"create_agent"};
inline constexpr static_string invoke_agent{"invoke_agent"};
inline constexpr static_string invoke_workflow{"invoke_workflow"};
}  // namespace operation_name_values

namespace provider_name_values {
inline constexpr static_string anthropic{"anthropic"};
inline constexpr static_string aws_bedrock{"aws.bedrock"};
inline constexpr static_string azure_ai_inference{"azure.ai.inference"};
inline constexpr static_string azure_ai_openai{"azure.ai.openai"};
inline constexpr static_string cohere{"cohere"};
inline constexpr static_string deepseek{"deepseek"};
inline constexpr static_string gcp_gemini{"gcp.gemini"};
inline constexpr static_string gcp_gen_ai{"gcp.gen_ai"};
inline constexpr static_string gcp_vertex_ai{"gcp.vertex_ai"};
inline constexpr static_string groq{"groq"};
inline constexpr static_string ibm_watsonx_ai{"ibm.watsonx.ai"};
inline constexpr static_string mistral_ai{"mistral_ai"};
inline constexpr static_string openai{"openai"};
inline constexpr static_string perplexity{"perplexity"};
inline constexpr static_string x_ai{"x_ai"};
}  // namespace provider_name_values

namespace output_type_values {
inline constexpr static_string text{"text"};
inline constexpr static_string json{"json"};
inline constexpr static_string image{"image"};
inline constexpr static_string speech{"speech"};
}  // namespace output_type_values

/// Finish reasons of the message schema (gen_ai.output.messages[].finish_reason); providers'
/// own values ("tool_calls", "end_turn", ...) are recorded as they come in finish_reasons.
namespace finish_reason_values {
inline constexpr static_string stop{"stop"};
inline constexpr static_string length{"length"};
inline constexpr static_string content_filter{"content_filter"};
inline constexpr static_string tool_call{"tool_call"};
inline constexpr static_string error{"error"};
}  // namespace finish_reason_values

namespace tool_type_values {
inline constexpr static_string function{"function"};
inline constexpr static_string extension{"extension"};
inline constexpr static_string datastore{"datastore"};
}  // namespace tool_type_values

namespace token_type_values {
inline constexpr static_string input{"input"};
inline constexpr static_string output{"output"};
}  // namespace token_type_values

/// Message roles of the message schema (custom strings are allowed too).
namespace role_values {
inline constexpr static_string system{"system"};
inline constexpr static_string user{"user"};
inline constexpr static_string assistant{"assistant"};
inline constexpr static_string tool{"tool"};
}  // namespace role_values

/// Event names.
namespace events {
/// Opt-in event with every inference-span attribute, content included.
inline constexpr static_string inference_operation_details{
    "gen_ai.client.inference.operation.details"};
/// The result of evaluating a GenAI output (parented to the evaluated span).
inline constexpr static_string evaluation_result{"gen_ai.evaluation.result"};
}  // namespace events

/// Metric names (v1.41.0): histograms in seconds, token usage in {token}.
namespace metrics {
inline constexpr static_string client_operation_duration{"gen_ai.client.operation.duration"};
inline constexpr static_string client_token_usage{"gen_ai.client.token.usage"};
inline constexpr static_string client_operation_time_to_first_chunk{
    "gen_ai.client.operation.time_to_first_chunk"};
inline constexpr static_string client_operation_time_per_output_chunk{
    "gen_ai.client.operation.time_per_output_chunk"};
}  // namespace metrics

}  // namespace agentrace::semconv::gen_ai

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/semconv/server.hpp
// SPDX-License-Identifier: MIT
// Semantic-convention keys server.address / server.port (stable): the server a client called.

#include <cstdint>
#include <string>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::server {

/// Server domain name, IP address or Unix socket name (as the client knows it, before DNS).
inline constexpr key<std::string> address{"server.address"};
/// Server port number; set together with server.address.
inline constexpr key<std::int64_t> port{"server.port"};

}  // namespace agentrace::semconv::server

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/exporter.hpp
// SPDX-License-Identifier: MIT
// The exporter interface (one call per batch) and the conversion of records to the owned span
// model (span_data.hpp) for exporters that keep spans (console tree, in-memory store).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// amalgamated: include/agentrace/detail/json_write.hpp
// SPDX-License-Identifier: MIT
// Fast JSON string writing into fmt buffers: escaping, UTF-8 validation (invalid bytes become
// U+FFFD so the output is always valid JSON), and truncation to a number of code points.

#include <fmt/compile.h>
#include <fmt/format.h>

#include <array>
#include <cstring>

#include <cstdint>
#include <string_view>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// Appends raw bytes. Buffer: fmt::memory_buffer, or std::string (the GenAI content writer
/// builds attribute values in place, so a prompt is not copied a second time).
template <class Buffer>
inline void append(Buffer& b, std::string_view s) {
  b.append(s.data(), s.data() + s.size());
}

/// Length of the valid UTF-8 sequence starting at p (1..4), or 0 if invalid.
inline std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else
    return 0;
  if (static_cast<std::size_t>(end - p) < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

/// Bytes of the first `max` code points of s (0: all of s), an invalid byte counting as one
/// code point as the writers do; a valid UTF-8 sequence is never split.
inline std::size_t code_point_prefix(std::string_view s, std::size_t max) noexcept {
  if (max == 0 || s.size() <= max) return s.size();
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const auto* p = b;
  const auto* end = b + s.size();
  for (std::size_t n = 0; n < max && p < end; ++n) {
    const std::size_t len = utf8_sequence_length(p, end);
    p += len ? len : 1;
  }
  return static_cast<std::size_t>(p - b);
}

/// Copies the UTF-8 sequence at p (advancing p), or writes U+FFFD for an invalid byte (p moves
/// past that byte). Returns the end of what was written (at most 4 bytes).
inline char* put_utf8_sequence(char* out, const unsigned char*& p,
                               const unsigned char* end) noexcept {
  const std::size_t n = utf8_sequence_length(p, end);
  if (n == 0) {
    std::memcpy(out, "\xEF\xBF\xBD", 3);  // U+FFFD REPLACEMENT CHARACTER
    ++p;
    return out + 3;
  }
  std::memcpy(out, p, n);
  p += n;
  return out + n;
}

/// Copies s to out as valid UTF-8 (each invalid byte becomes U+FFFD, as in the JSON writer);
/// out has room for 3 * s.size() bytes. Returns the end.
inline char* put_utf8(char* out, std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char* run = p;
    while (run < end && *run < 0x80) ++run;
    std::memcpy(out, p, static_cast<std::size_t>(run - p));
    out += run - p;
    p = run;
    if (p == end) break;
    out = put_utf8_sequence(out, p, end);
  }
  return out;
}

/// Bytes put_utf8 writes for s.
inline std::size_t utf8_sanitized_size(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t n = 0;
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      ++n;
      continue;
    }
    const std::size_t len = utf8_sequence_length(p, end);
    n += len ? len : 3;
    p += len ? len : 1;
  }
  return n;
}

/// What write_json_string(b, s, n) would write: `bytes` of output without the quotes for the
/// longest prefix of s whose output fits in `max_bytes` (0 = no limit), `code_points` of it, and
/// whether that prefix is all of s. Lets callers cut a value inside a string and keep valid JSON.
struct json_string_extent {
  std::size_t bytes = 0;
  std::size_t code_points = 0;
  bool complete = true;
};
inline json_string_extent json_string_size(std::string_view s, std::size_t max_bytes = 0) noexcept {
  json_string_extent e;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    std::size_t in = 1, out;
    if (c >= 0x20 && c < 0x80) {
      out = (c == '"' || c == '\\') ? 2 : 1;
    } else if (c < 0x20) {
      out = (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') ? 2 : 6;
    } else {
      const std::size_t n = utf8_sequence_length(p, end);
      in = n ? n : 1;
      out = n ? n : 3;  // invalid byte -> U+FFFD (3 bytes)
    }
    if (max_bytes && e.bytes + out > max_bytes) {
      e.complete = false;
      return e;
    }
    e.bytes += out;
    ++e.code_points;
    p += in;
  }
  return e;
}

/// Writes s as a quoted JSON string. max_code_points 0 = no limit.
template <class Buffer>
inline void write_json_string(Buffer& b, std::string_view s, std::size_t max_code_points = 0) {
  b.push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::size_t code_points = 0;
  while (p < end) {
    if (max_code_points && code_points == max_code_points) break;
    // Copy a run of plain ASCII in one go.
    const unsigned char* run = p;
    while (run < end && *run >= 0x20 && *run < 0x80 && *run != '"' && *run != '\\' &&
           (!max_code_points || code_points < max_code_points)) {
      ++run;
      ++code_points;
    }
    if (run != p) {
      b.append(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(run));
      p = run;
      continue;
    }
    const unsigned char c = *p;
    ++code_points;
    if (c == '"' || c == '\\') {
      b.push_back('\\');
      b.push_back(static_cast<char>(c));
      ++p;
    } else if (c < 0x20) {
      switch (c) {
        case '\n': append(b, "\\n"); break;
        case '\r': append(b, "\\r"); break;
        case '\t': append(b, "\\t"); break;
        case '\b': append(b, "\\b"); break;
        case '\f': append(b, "\\f"); break;
        default: {
          const char esc[6] = {'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
          b.append(esc, esc + 6);
        }
      }
      ++p;
    } else {
      const std::size_t n = utf8_sequence_length(p, end);
      if (n == 0) {
        append(b, "\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
        ++p;
      } else {
        b.append(reinterpret_cast<const char*>(p), reinterpret_cast<const char*>(p + n));
        p += n;
      }
    }
  }
  b.push_back('"');
}

/// Two lowercase hex digits per byte value.
inline constexpr char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

/// Writes the 16 lowercase hex digits of v at out; returns the end.
inline char* put_hex64(char* out, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    std::memcpy(out + 2 * i, hex_pairs + 2 * (v & 0xff), 2);
    v >>= 8;
  }
  return out + 16;
}

/// Lowercase hex of a 64-bit value, 16 digits.
inline void write_hex64(fmt::memory_buffer& b, std::uint64_t v) {
  char out[16];
  put_hex64(out, v);
  b.append(out, out + 16);
}

/// Writes the decimal digits of v at out (at most 20); returns the end.
inline char* put_uint(char* out, std::uint64_t v) noexcept {
  const fmt::format_int f(v);
  std::memcpy(out, f.data(), f.size());
  return out + f.size();
}

inline void write_uint(fmt::memory_buffer& b, std::uint64_t v) {
  const fmt::format_int f(v);
  b.append(f.data(), f.data() + f.size());
}

inline void write_int(fmt::memory_buffer& b, std::int64_t v) {
  const fmt::format_int f(v);
  b.append(f.data(), f.data() + f.size());
}

/// A double as JSON at out (at most 32 bytes): shortest round-trip form; NaN and infinities as
/// the proto3 JSON strings. Returns the end.
inline char* put_double(char* out, double v) noexcept {
  auto lit = [&](std::string_view s) {
    std::memcpy(out, s.data(), s.size());
    return out + s.size();
  };
  if (v != v) return lit("\"NaN\"");
  if (v == __builtin_inf()) return lit("\"Infinity\"");
  if (v == -__builtin_inf()) return lit("\"-Infinity\"");
  return fmt::format_to(out, FMT_COMPILE("{}"), v);
}

/// A double as JSON: shortest round-trip form; NaN and infinities as the proto3 JSON strings.
inline void write_double(fmt::memory_buffer& b, double v) {
  char out[32];
  b.append(out, put_double(out, v));
}

/// Bytes a JSON string of `s` may take at most (quotes; \u00XX escapes and U+FFFD replacements
/// are at most 6 bytes per input byte).
constexpr std::size_t json_string_bound(std::size_t n) noexcept { return 6 * n + 2; }

/// Writes s as a quoted JSON string at out, which has room for json_string_bound(s.size())
/// bytes (no truncation); returns the end. Same output as write_json_string without a limit.
inline char* put_json_string(char* out, std::string_view s) noexcept {
  // 1 for bytes copied as they are: printable ASCII other than '"' and '\\'.
  static constexpr auto plain = [] {
    std::array<bool, 256> t{};
    for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    return t;
  }();
  *out++ = '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned char* run = p;
    while (run < end && plain[*run]) ++run;
    std::memcpy(out, p, static_cast<std::size_t>(run - p));
    out += run - p;
    p = run;
    if (p == end) break;
    const unsigned char c = *p;
    if (c == '"' || c == '\\') {
      *out++ = '\\';
      *out++ = static_cast<char>(c);
      ++p;
    } else if (c < 0x20) {
      *out++ = '\\';
      switch (c) {
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        case '\b': *out++ = 'b'; break;
        case '\f': *out++ = 'f'; break;
        default: {
          const char esc[5] = {'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
          std::memcpy(out, esc, 5);
          out += 5;
        }
      }
      ++p;
    } else {
      out = put_utf8_sequence(out, p, end);
    }
  }
  *out++ = '"';
  return out;
}

/// Writes into a fmt::memory_buffer through a plain pointer: the caller reserves an upper bound
/// once, then writes pieces without a capacity check each; commit() sets the buffer's size.
class raw_out {
 public:
  raw_out(fmt::memory_buffer& b, std::size_t max_bytes) : b_(b) { reopen(max_bytes); }
  raw_out(const raw_out&) = delete;
  raw_out& operator=(const raw_out&) = delete;

  /// Sets the buffer's size to what was written. Call before the buffer is used directly.
  void commit() noexcept { b_.resize(static_cast<std::size_t>(p_ - b_.data())); }
  /// After commit() and direct use of the buffer: room for max_bytes more.
  void reopen(std::size_t max_bytes) {
    const std::size_t used = b_.size();
    b_.resize(used + max_bytes);
    p_ = b_.data() + used;
  }

  template <std::size_t N>
  void lit(const char (&s)[N]) noexcept {
    std::memcpy(p_, s, N - 1);
    p_ += N - 1;
  }
  void ch(char c) noexcept { *p_++ = c; }
  void hex64(std::uint64_t v) noexcept { p_ = put_hex64(p_, v); }
  void uint(std::uint64_t v) noexcept { p_ = put_uint(p_, v); }
  void sint(std::int64_t v) noexcept {
    const fmt::format_int f(v);
    std::memcpy(p_, f.data(), f.size());
    p_ += f.size();
  }
  void dbl(double v) noexcept { p_ = put_double(p_, v); }
  void str(std::string_view s) noexcept { p_ = put_json_string(p_, s); }

 private:
  fmt::memory_buffer& b_;
  char* p_;
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/detail/setup_decl.hpp
#ifndef AGENTRACE_SINGLE_DETAIL_SETUP_DECL_HPP
#define AGENTRACE_SINGLE_DETAIL_SETUP_DECL_HPP
// SPDX-License-Identifier: MIT
// What the file that starts tracing needs, declared with standard headers only: the
// configuration, start() and the `tracing` handle it returns, the counts it reports, and the
// factories of the built-in exporters. Included by <agentrace/setup.hpp> and by the headers that
// define these (config.hpp, collector.hpp, the exporters).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

// amalgamated: include/agentrace/metrics/data.hpp
#ifndef AGENTRACE_SINGLE_METRICS_DATA_HPP
#define AGENTRACE_SINGLE_METRICS_DATA_HPP
// SPDX-License-Identifier: MIT
// Metrics as the exporters see them: owned points with their attributes, one metric_data per
// metric, in a metrics_batch that also names the resource and the instrumentation scope.

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

struct resource;

/// OTLP AggregationTemporality (values as in OTLP).
enum class aggregation_temporality : std::uint8_t { delta = 1, cumulative = 2 };

/// OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.
enum class temporality_preference : std::uint8_t { cumulative, delta, lowmemory };

/// The kind of a metric's data.
enum class metric_type : std::uint8_t { sum, gauge, histogram };

/// A measurement that stands for its bucket: the span it came from.
struct exemplar {
  std::uint64_t time_unix_ns{0};
  double value{0};
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
};

/// One data point (one series of a metric).
struct metric_point {
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::uint64_t start_unix_ns{0};
  std::uint64_t time_unix_ns{0};
  // sum, gauge
  bool is_int{true};
  std::int64_t int_value{0};
  double double_value{0};
  // histogram
  std::uint64_t count{0};
  double sum{0}, min{0}, max{0};
  bool has_min_max{true};                    // false: min and max are not known (delta)
  std::vector<std::uint64_t> bucket_counts;  // bounds + 1
  std::vector<exemplar> exemplars;
};

/// One metric with its points.
struct metric_data {
  std::string name;
  std::string description;
  std::string unit;
  metric_type type{metric_type::sum};
  aggregation_temporality temporality{aggregation_temporality::cumulative};
  bool monotonic{true};        // sums
  std::vector<double> bounds;  // histograms: explicit bucket boundaries
  std::vector<metric_point> points;
};

namespace detail {

struct metrics_test_access;  // defined by tests only: forces series hash collisions

/// The 64-bit mixing step of the metrics' series hashes.
constexpr std::uint64_t metric_hash_mix(std::uint64_t h) noexcept {
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 32);
}

/// Mixes the bytes of `s` (eight at a time, then its length) into `h`. The last 1 to 7 bytes
/// are read by two overlapping loads, not byte by byte (a byte-wise copy into a word stalls the
/// load that reads the word back).
inline std::uint64_t metric_hash_bytes(std::uint64_t h, std::string_view s) noexcept {
  const char* p = s.data();
  std::size_t n = s.size();
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = metric_hash_mix(h ^ w);
  }
  std::uint64_t w = 0;
  if (n >= 4) {
    std::uint32_t a = 0, b = 0;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    w = a | static_cast<std::uint64_t>(b) << 32;
  } else if (n > 0) {
    w = static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) |
        static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
        static_cast<std::uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
  }
  return metric_hash_mix(h ^ w ^ (static_cast<std::uint64_t>(s.size()) << 56));
}

/// Whether `a` and `b` hold the same bytes; up to 16 compared inline by two overlapping loads
/// each (series lookups compare short attribute values on every measurement).
inline bool metric_bytes_equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8 && n <= 16) {
    std::uint64_t x0, x1, y0, y1;
    std::memcpy(&x0, p, 8);
    std::memcpy(&y0, q, 8);
    std::memcpy(&x1, p + n - 8, 8);
    std::memcpy(&y1, q + n - 8, 8);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n >= 4 && n < 8) {
    std::uint32_t x0, x1, y0, y1;
    std::memcpy(&x0, p, 4);
    std::memcpy(&y0, q, 4);
    std::memcpy(&x1, p + n - 4, 4);
    std::memcpy(&y1, q + n - 4, 4);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n < 4) {
    for (std::size_t i = 0; i < n; ++i)
      if (p[i] != q[i]) return false;
    return true;
  }
  return std::memcmp(p, q, n) == 0;
}

/// The bucket of `v` among strictly increasing `bounds` (bucket i holds (bounds[i-1],
/// bounds[i]]; the last one everything above): std::lower_bound's index, found without
/// branches that depend on `v`. Up to 32 bounds, the count of those below `v`: independent
/// comparisons, where a search's are a chain. NaN falls into bucket 0.
inline std::size_t bucket_index(std::span<const double> bounds, double v) noexcept {
  const double* p = bounds.data();
  const std::size_t n = bounds.size();
  if (n <= 32) {
    std::size_t c0 = 0, c1 = 0, c2 = 0, c3 = 0, i = 0;
    for (; i + 4 <= n; i += 4) {  // four independent counts: no chain through one register
      c0 += static_cast<std::size_t>(p[i] < v);
      c1 += static_cast<std::size_t>(p[i + 1] < v);
      c2 += static_cast<std::size_t>(p[i + 2] < v);
      c3 += static_cast<std::size_t>(p[i + 3] < v);
    }
    for (; i < n; ++i) c0 += static_cast<std::size_t>(p[i] < v);
    return c0 + c1 + c2 + c3;
  }
  const double* base = p;
  for (std::size_t len = n; len > 1;) {
    const std::size_t half = len / 2;
    base += static_cast<std::size_t>(base[half - 1] < v) * half;
    len -= half;
  }
  return static_cast<std::size_t>(base - p) + (*base < v ? 1 : 0);
}

/// bucket_index's answer against one set of bounds, without comparing a value with every bound:
/// a table indexed by the top bits of a positive value's representation (its exponent and up to
/// three mantissa bits: a fraction of an octave) holds the first bucket a value of that range can
/// fall in, and a short scan over the bounds of the same range finishes. Values at or below the
/// smallest positive bound, and bounds the table cannot cover (not finite, too wide a range),
/// take bucket_index.
class bucket_finder {
 public:
  bucket_finder() = default;
  explicit bucket_finder(std::vector<double> bounds) : bounds_(std::move(bounds)) { build(); }

  std::span<const double> bounds() const noexcept { return bounds_; }
  std::size_t size() const noexcept { return bounds_.size(); }

  /// The bucket of `v`: bucket_index(bounds(), v). Inlined: a call costs as much as the lookup.
  AGENTRACE_DETAIL_ALWAYS_INLINE std::size_t operator()(double v) const noexcept {
    if (v > low_) [[likely]] {  // past the first positive bound (never true without a table)
      if (v > high_) return bounds_.size();
      const double* p = bounds_.data();
      std::size_t i = table_[(std::bit_cast<std::uint64_t>(v) >> shift_) - first_key_];
      // As many steps as a range holds bounds at most, each without a branch on v: a step
      // moves on only past a bound below v, so i stays at the last bound at the latest (v <= it).
      for (unsigned step = 0; step < steps_; ++step) i += static_cast<std::size_t>(p[i] < v);
      return i;
    }
    // At or below the first positive bound (or NaN): only the bounds before it can be below v.
    if (below_low_ == 0) return 0;
    return bucket_index(std::span<const double>(bounds_).first(below_low_), v);
  }

 private:
  static constexpr std::size_t max_table = 512;

  void build() {
    const std::size_t n = bounds_.size();
    std::size_t positive = 0;
    while (positive < n && !(bounds_[positive] > 0)) ++positive;
    below_low_ = n;  // without a table every value takes bucket_index over all bounds
    if (positive == n || n > 0xFFFF || !(bounds_[n - 1] < __builtin_inf())) return;
    const double low = bounds_[positive];
    for (int mantissa_bits = 3; mantissa_bits >= 0; --mantissa_bits) {
      const unsigned shift = 52u - static_cast<unsigned>(mantissa_bits);
      const std::uint64_t lo = std::bit_cast<std::uint64_t>(low) >> shift;
      const std::uint64_t hi = std::bit_cast<std::uint64_t>(bounds_[n - 1]) >> shift;
      if (hi - lo + 1 > max_table) continue;
      // Entry k: the bounds below every value whose top bits are lo + k (those with smaller
      // top bits: positive doubles order as their representations do).
      table_.assign(static_cast<std::size_t>(hi - lo + 1), 0);
      std::size_t below = positive;
      steps_ = 0;
      for (std::uint64_t k = lo; k <= hi; ++k) {
        while (below < n && (std::bit_cast<std::uint64_t>(bounds_[below]) >> shift) < k) ++below;
        table_[static_cast<std::size_t>(k - lo)] = static_cast<std::uint16_t>(below);
        std::size_t in_range = 0;  // bounds whose top bits are k
        while (below + in_range < n &&
               (std::bit_cast<std::uint64_t>(bounds_[below + in_range]) >> shift) == k)
          ++in_range;
        steps_ = std::max(steps_, static_cast<unsigned>(in_range));
      }
      shift_ = shift;
      first_key_ = lo;
      low_ = low;
      high_ = bounds_[n - 1];
      below_low_ = positive;
      return;
    }
  }

  std::vector<double> bounds_;
  std::vector<std::uint16_t> table_;  // empty: every value takes bucket_index
  double low_{__builtin_inf()};       // the first positive bound (+inf: no table)
  double high_{__builtin_inf()};      // the last bound
  std::size_t below_low_{0};          // the bounds a value at or below low_ is compared with
  unsigned shift_{52};
  unsigned steps_{0};  // the most bounds one range holds
  std::uint64_t first_key_{0};
};

}  // namespace detail

/// What an exporter receives for metrics. Valid for the duration of the call only.
struct metrics_batch {
  std::span<const metric_data> metrics;
  const agentrace::resource& resource;
  std::string_view scope_name;
  std::string_view scope_version;
  /// How long the exporter may take to export this batch, retries included, counted from the
  /// call (OTEL_METRIC_EXPORT_TIMEOUT); past it the exporter gives up on it and counts the loss.
  /// 0: no limit but the exporter's own.
  std::chrono::milliseconds export_timeout{0};
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
#endif  // AGENTRACE_SINGLE_METRICS_DATA_HPP

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
#endif  // AGENTRACE_SINGLE_DETAIL_SETUP_DECL_HPP
// amalgamated: include/agentrace/detail/text.hpp
// SPDX-License-Identifier: MIT
// Text for people and limits on text: a duration with one precision rule, an attribute value for
// display, and strings cut without splitting a UTF-8 sequence (by bytes with an ellipsis, or by
// code points as the OTLP attribute length limit counts them).

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// A duration for people: "0.123 ms" below 1 ms, "12.34 ms" below 10 s, "12.34 s" from there.
inline std::string duration_text(std::uint64_t ns) {
  if (ns < 1'000'000) return fmt::format("{:.3f} ms", static_cast<double>(ns) / 1e6);
  if (ns < 10'000'000'000ULL) return fmt::format("{:.2f} ms", static_cast<double>(ns) / 1e6);
  return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

/// Cuts `s` to at most `max` bytes without splitting a UTF-8 sequence and appends `ellipsis`;
/// nothing happens when `s` already fits.
inline void cut_utf8(std::string& s, std::size_t max, std::string_view ellipsis = "…") {
  if (s.size() <= max) return;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s.append(ellipsis);
}

/// Replaces line breaks and tabs with spaces, so that the text stays on one line.
inline void one_line(std::string& s) noexcept {
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
}

/// How value_text() shows strings.
enum class quote_strings : std::uint8_t { no, yes };

/// An attribute value for display, on one line: numbers and booleans as text, arrays as
/// `[a, b]`, strings quoted or not; cut to `max_len` bytes with "…" (0: no limit).
inline std::string value_text(const attr_value& v, quote_strings quote, std::size_t max_len) {
  const bool q = quote == quote_strings::yes;
  std::string s = std::visit(
      [q](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return "";
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>)
          return fmt::format("{}", x);
        else if constexpr (std::is_same_v<T, std::string>)
          return q ? fmt::format("\"{}\"", x) : x;
        else {
          std::string out = "[";
          bool first = true;
          for (const auto& e : x) {
            if (!first) out += ", ";
            first = false;
            if constexpr (std::is_same_v<typename T::value_type, std::string>)
              out += q ? fmt::format("\"{}\"", e) : e;
            else
              out += fmt::format("{}", static_cast<typename T::value_type>(e));
          }
          return out + "]";
        }
      },
      v);
  one_line(s);
  if (max_len) cut_utf8(s, max_len);
  return s;
}

/// A Unix time in nanoseconds as RFC 3339 UTC text with milliseconds
/// (`2026-05-01T12:00:00.250Z`).
inline std::string rfc3339_text(std::uint64_t unix_ns) {
  const auto secs = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, (unix_ns / 1'000'000) % 1000);
}

/// Cuts `s` to at most `max` code points (0: no limit), counting an invalid byte as one code
/// point as the OTLP-JSON writer does; a valid UTF-8 sequence is never split.
inline void truncate_code_points(std::string& s, std::size_t max) noexcept {
  s.resize(code_point_prefix(s, max));
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/span_data.hpp
// SPDX-License-Identifier: MIT
// The owned span model: a finished span with its events and links, Unix-epoch times and owned
// strings, as the exporters that keep spans (console tree, in-memory store), in-process
// reflection and the eval reader see it. Plain types over the attribute and context types
// only; exporter.hpp includes it and converts records to it.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// An event as exporters that keep spans see it.
struct event_view {
  std::uint64_t time_unix_ns{0};
  std::string name;
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::uint32_t dropped_attributes{0};  // beyond the event attribute count limit
};

/// A link as exporters that keep spans see it.
struct link_view {
  span_context context;
  std::string trace_state;
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::uint32_t dropped_attributes{0};  // beyond the link attribute count limit
};

/// A finished span with owned data and Unix-epoch times: what the in-memory store, the console
/// tree and in-process reflection work with.
struct span_data {
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
  std::uint64_t parent_span_id{0};
  std::uint8_t flags{0};
  bool parent_remote{false};
  std::string name;
  span_kind kind{span_kind::internal};
  std::uint64_t start_unix_ns{0};
  std::uint64_t end_unix_ns{0};
  status_code status{status_code::unset};
  std::string status_message;
  std::string trace_state;
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::vector<event_view> events;
  std::vector<link_view> links;
  std::uint32_t dropped_attributes{0};
  std::uint32_t dropped_events{0};
  std::uint32_t dropped_links{0};
  std::string code_file;
  std::uint32_t code_line{0};
  std::string code_function;

  std::uint64_t duration_ns() const noexcept {
    return end_unix_ns >= start_unix_ns ? end_unix_ns - start_unix_ns : 0;
  }
  /// The attribute named `key`, or nullptr.
  const attr_value* attr(std::string_view key) const noexcept {
    for (const auto& [k, v] : attributes)
      if (k == key) return &v;
    return nullptr;
  }
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Resource attributes (service.name, telemetry.sdk.*, OTEL_RESOURCE_ATTRIBUTES ...), owned.
struct resource {
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string_view get(std::string_view key) const noexcept {
    for (const auto& [k, v] : attributes)
      if (k == key) return v;
    return {};
  }
};

/// What an exporter receives: records plus what it needs to interpret them. Valid for the
/// duration of the call only.
struct export_batch {
  std::span<const span_record> spans;
  const agentrace::resource& resource;
  const detail::clock_converter& clock;
  const span_limits& limits;
  std::string_view scope_name;
  std::string_view scope_version;
  std::uint64_t dropped_spans_total = 0;  // cumulative drops so far, reported in the telemetry
};

/// Log records for the exporters (OTLP logs). Valid for the duration of the call only.
struct log_batch {
  std::span<const log_record> records;
  const agentrace::resource& resource;
  std::string_view scope_name;
  std::string_view scope_version;
};

/// How a pull exporter (the Prometheus endpoint) reads the metrics when it is asked for them:
/// callable from any thread while set.
using metrics_source = std::function<std::vector<metric_data>()>;

/// The result of one export call.
enum class export_result : std::uint8_t { success, failure };

/// An exporter: one call per batch, never concurrently (the collector thread calls it).
class exporter {
 public:
  virtual ~exporter() = default;
  virtual std::string_view name() const noexcept = 0;
  virtual export_result export_spans(const export_batch& batch) = 0;
  /// Log records (events); exporters that do not carry logs keep the default (ignore them).
  virtual export_result export_logs(const log_batch&) { return export_result::success; }
  /// Metrics (span-derived and instruments), every export interval and at shutdown; exporters
  /// that do not carry metrics keep the default (ignore them).
  virtual export_result export_metrics(const metrics_batch&) { return export_result::success; }
  /// Pull exporters keep `source` (and the resource) to collect the metrics when scraped; the
  /// collector sets it at start when metrics are on, and an empty one before it shuts down.
  virtual void attach_metrics(const metrics_source& /*source*/, const resource& /*res*/) {}
  /// Delivers anything buffered, within the timeout. Returns false on timeout/failure.
  virtual bool force_flush(std::chrono::milliseconds) { return true; }
  /// Last call; flushes what it can within the timeout.
  virtual void shutdown(std::chrono::milliseconds timeout) { force_flush(timeout); }
  /// Called by the collector thread after each drain cycle (every few milliseconds, whether or
  /// not spans arrived), never concurrently with the other calls. Exporters that hold spans back
  /// (the console assembles whole traces) release what has become due. Default: nothing.
  virtual void on_idle(std::chrono::steady_clock::time_point /*now*/) {}
  /// Spans this exporter accepted but could not deliver (it counts; the collector reports).
  virtual std::uint64_t spans_failed() const noexcept { return 0; }
  /// spans_failed() by reason; exporters that know why override it.
  virtual export_failures failures() const noexcept {
    export_failures f;
    f.other = spans_failed();
    return f;
  }
};

namespace detail {

/// The value of inline slot `i` as an owned attr_value.
inline attr_value slot_value(const span_record& r, std::size_t i) {
  const attr_slot& s = r.attrs[i];
  switch (s.type()) {
    case slot_type::boolean: return attr_value{s.as_bool()};
    case slot_type::int64: return attr_value{s.as_int()};
    case slot_type::float64: return attr_value{s.as_double()};
    case slot_type::static_str:
    case slot_type::owned_str: return attr_value{std::in_place_type<std::string>, s.as_string()};
  }
  return {};
}

/// Applies the attribute value length limit to a string or to each string of an array.
inline void limit_value_length(attr_value& v, std::uint32_t max) noexcept {
  if (max == 0) return;
  if (auto* str = std::get_if<std::string>(&v))
    truncate_code_points(*str, max);
  else if (auto* arr = std::get_if<std::vector<std::string>>(&v))
    for (auto& e : *arr) truncate_code_points(e, max);
}

/// Calls f(key, index_or_ext_attr) for each attribute in recording order, keeping only the last
/// value of a key set twice (OpenTelemetry: setting an existing key replaces its value) and at
/// most `limit` attributes. Returns how many were dropped by the limit.
template <class Inline, class Ext>
std::uint32_t for_each_attribute(const span_record& r, std::uint32_t limit, Inline&& on_inline,
                                 Ext&& on_ext) {
  const span_ext* ext = r.ext();
  const std::size_t n_ext = ext ? ext->attributes.size() : 0;
  const std::size_t total = r.n_attrs + n_ext;
  auto key_at = [&](std::size_t i) -> std::string_view {
    if (i < r.n_attrs) return r.attrs[i].key_name();
    return ext->attributes[i - r.n_attrs].key;
  };
  std::uint32_t emitted = 0, dropped = 0;
  for (std::size_t i = 0; i < total; ++i) {
    const std::string_view k = key_at(i);
    bool replaced = false;
    for (std::size_t j = i + 1; j < total && !replaced; ++j) replaced = key_at(j) == k;
    if (replaced) continue;
    if (emitted >= limit) {  // OpenTelemetry count limits: 0 allows none
      ++dropped;
      continue;
    }
    ++emitted;
    if (i < r.n_attrs)
      on_inline(k, i);
    else
      on_ext(ext->attributes[i - r.n_attrs]);
  }
  return dropped + (ext ? ext->dropped_attributes : 0);
}

}  // namespace detail

/// Fills `d` (reusing its storage) from a record: the span as every exporter that keeps spans
/// sees it, limited to the attributes whose key `keep_key` accepts, and without events, links,
/// trace state and code location unless `details` (the tail sampler presents to its rule only
/// what the rule reads).
template <class KeepKey>
void fill_span_data(span_data& d, const span_record& r, const detail::clock_converter& clock,
                    const span_limits& limits, KeepKey&& keep_key, bool details) {
  d.trace_id = r.trace_id;
  d.span_id = r.span_id;
  d.parent_span_id = r.parent_span_id;
  d.flags = r.flags;
  d.parent_remote = r.parent_remote;
  d.name.assign(r.name());
  d.kind = r.kind();
  d.start_unix_ns = clock.to_unix_ns(r.start_ticks);
  d.end_unix_ns = d.start_unix_ns + static_cast<std::uint64_t>(std::max<std::int64_t>(
                                        0, clock.duration_ns(r.start_ticks, r.end_ticks)));
  d.status = r.status;
  d.status_message.clear();
  d.trace_state.clear();
  d.events.clear();
  d.links.clear();
  d.dropped_events = d.dropped_links = 0;
  d.code_file.clear();
  d.code_function.clear();
  d.code_line = 0;
  if (r.site && details) {
    d.code_file = r.site->file;
    d.code_line = r.site->line;
    d.code_function = r.site->function;
  }
  // The same limits as the OTLP-JSON writer applies, so that every exporter sees the same span.
  const std::uint32_t max_len = limits.attribute_value_length;
  std::size_t n = 0;  // attributes in `d` so far: the entries already there are reused
  auto put = [&](std::string_view k, attr_value v) {
    if (n == d.attributes.size()) d.attributes.emplace_back();
    auto& [key, value] = d.attributes[n++];
    key.assign(k);
    value = std::move(v);
    detail::limit_value_length(value, max_len);
  };
  d.dropped_attributes = detail::for_each_attribute(
      r, limits.attribute_count,
      [&](std::string_view k, std::size_t i) {
        if (keep_key(k)) put(k, detail::slot_value(r, i));
      },
      [&](const attribute& a) {
        if (keep_key(a.key)) put(a.key, a.value);
      });
  d.attributes.resize(n);
  auto copy_attributes = [&](const std::vector<attribute>& from, std::uint32_t limit,
                             std::vector<std::pair<std::string, attr_value>>& to) {
    std::uint32_t dropped = 0;
    for (const auto& a : from) {
      if (to.size() >= limit) {
        ++dropped;
        continue;
      }
      to.emplace_back(std::string(a.key), a.value);
      detail::limit_value_length(to.back().second, max_len);
    }
    return dropped;
  };
  if (const detail::span_ext* x = r.ext()) {
    d.status_message = x->status_message;
    if (!details) return;
    d.trace_state = x->trace_state;
    for (const auto& e : x->events) {
      event_view ev{clock.to_unix_ns(e.ticks), std::string(e.name), {}, e.dropped_attributes};
      ev.dropped_attributes +=
          copy_attributes(e.attributes, limits.event_attribute_count, ev.attributes);
      d.events.push_back(std::move(ev));
    }
    for (const auto& l : x->links) {
      link_view lv{l.context, l.trace_state, {}, l.dropped_attributes};
      lv.dropped_attributes +=
          copy_attributes(l.attributes, limits.link_attribute_count, lv.attributes);
      d.links.push_back(std::move(lv));
    }
    d.dropped_events = x->dropped_events;
    d.dropped_links = x->dropped_links;
  }
}

/// Converts a record to owned span_data (used by exporters that keep spans).
inline span_data to_span_data(const span_record& r, const detail::clock_converter& clock,
                              const span_limits& limits = {}) {
  span_data d;
  fill_span_data(
      d, r, clock, limits, [](std::string_view) { return true; }, true);
  return d;
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/config.hpp
// SPDX-License-Identifier: MIT
// Configuration: the config struct, and the OpenTelemetry environment variables that fill what
// the code leaves unset.

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

namespace detail {

/// Self-diagnostics go to stderr, prefixed, one line each (one write). Never contains header
/// values. The format is checked at compile time.
template <class... Args>
void diag(fmt::format_string<Args...> format, Args&&... args) {
  fmt::memory_buffer b;
  append(b, "agentrace: ");
  fmt::format_to(std::back_inserter(b), format, std::forward<Args>(args)...);
  b.push_back('\n');
  std::fwrite(b.data(), 1, b.size(), stderr);
}

/// An environment variable; empty counts as unset (OpenTelemetry configuration rules).
inline std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

/// A non-negative integer variable; anything else is reported and the default used.
inline std::uint64_t env_uint(const char* name, std::uint64_t def) {
  auto v = env(name);
  if (!v) return def;
  std::string t = trim(*v);
  std::uint64_t out = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (ec != std::errc() || p != t.data() + t.size()) {
    diag("{}='{}' is not a non-negative integer; using {}", name, t,
         static_cast<unsigned long long>(def));
    return def;
  }
  return out;
}

/// A number in [lo, hi]; anything else is reported and nullopt returned.
inline std::optional<double> env_double(const char* name, double lo, double hi) {
  auto v = env(name);
  if (!v) return std::nullopt;
  const std::string t = trim(*v);
  double out = 0;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  if (ec != std::errc() || p != t.data() + t.size() || !(out >= lo && out <= hi)) {
    diag("{}='{}' is not a number in [{}, {}]; ignored", name, t, lo, hi);
    return std::nullopt;
  }
  return out;
}

/// OpenTelemetry booleans: only a case-insensitive "true" is true.
inline bool env_bool(const char* name) {
  auto v = env(name);
  if (!v) return false;
  const std::string t = to_lower(trim_view(*v));
  if (t == "true") return true;
  if (t != "false") diag("{}='{}' is not true or false; taken as false", name, t);
  return false;
}

/// Percent-decoding (W3C baggage format used by OTEL_RESOURCE_ATTRIBUTES and _HEADERS).
inline std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int h = hex_value(s[i + 1]), l = hex_value(s[i + 2]);
    if (h < 0 || l < 0) return std::nullopt;
    out.push_back(static_cast<char>(h * 16 + l));
    i += 2;
  }
  return out;
}

/// Parses "k1=v1,k2=v2" (keys trimmed, values percent-decoded). nullopt on any error.
inline std::optional<std::vector<std::pair<std::string, std::string>>> parse_key_value_list(
    std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!s.empty()) {
    const std::size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    if (trim(item).empty()) continue;
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto k = percent_decode(trim(item.substr(0, eq)));
    auto v = percent_decode(trim(item.substr(eq + 1)));
    if (!k || !v || k->empty()) return std::nullopt;
    out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

inline std::string executable_name() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  std::string_view p(buf, static_cast<std::size_t>(n));
  const std::size_t slash = p.rfind('/');
  return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

/// Exporters that OTEL_TRACES_EXPORTER can name. Headers of optional exporters register
/// theirs (the OTLP/HTTP exporter registers "otlp"). The argument is the path for "otlp/file"
/// (from AGENTRACE_OTLP_FILE) and empty otherwise.
using exporter_factory = std::function<exporter_ptr(std::string_view arg)>;
inline std::map<std::string, exporter_factory, std::less<>>& exporter_factories() {
  static std::map<std::string, exporter_factory, std::less<>> m;
  return m;
}
inline std::mutex& exporter_factories_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace detail

/// Makes `name` available to OTEL_TRACES_EXPORTER.
inline bool register_exporter_factory(std::string name, detail::exporter_factory f) {
  std::lock_guard<std::mutex> lock(detail::exporter_factories_mutex());
  detail::exporter_factories()[std::move(name)] = std::move(f);
  return true;
}

/// The resource for `cfg`: code wins over OTEL_SERVICE_NAME, which wins over
/// OTEL_RESOURCE_ATTRIBUTES; service.name falls back to unknown_service:<executable>.
inline resource make_resource(const config& cfg) {
  resource r;
  auto put = [&](std::string k, std::string v) {
    for (auto& [ek, ev] : r.attributes)
      if (ek == k) {
        ev = std::move(v);
        return;
      }
    r.attributes.emplace_back(std::move(k), std::move(v));
  };
  if (cfg.read_environment) {
    if (auto v = detail::env("OTEL_RESOURCE_ATTRIBUTES")) {
      if (auto kvs = detail::parse_key_value_list(*v))
        for (auto& [k, val] : *kvs) put(k, val);
      else
        detail::diag(
            "OTEL_RESOURCE_ATTRIBUTES is malformed (want k1=v1,k2=v2 with %-encoding); "
            "ignored");
    }
    if (auto v = detail::env("OTEL_SERVICE_NAME")) put("service.name", *v);
  }
  for (const auto& [k, v] : cfg.resource_attributes) put(k, v);
  if (!cfg.service_name.empty()) put("service.name", cfg.service_name);
  if (r.get("service.name").empty()) {
    const std::string exe = detail::executable_name();
    put("service.name", exe.empty() ? "unknown_service" : "unknown_service:" + exe);
  }
  put("telemetry.sdk.name", "agentrace");
  put("telemetry.sdk.language", "cpp");
  put("telemetry.sdk.version", AGENTRACE_VERSION_STRING);
  return r;
}

/// Span limits from the environment (model-specific variables beat the general ones).
inline span_limits limits_from_env(bool read_env) {
  span_limits l;
  if (!read_env) return l;
  using detail::env_uint;
  const auto count = env_uint("OTEL_ATTRIBUTE_COUNT_LIMIT", 128);
  const auto length = env_uint("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0);
  l.attribute_count =
      static_cast<std::uint32_t>(env_uint("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", count));
  l.attribute_value_length =
      static_cast<std::uint32_t>(env_uint("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", length));
  l.event_count = static_cast<std::uint32_t>(env_uint("OTEL_SPAN_EVENT_COUNT_LIMIT", 128));
  l.link_count = static_cast<std::uint32_t>(env_uint("OTEL_SPAN_LINK_COUNT_LIMIT", 128));
  l.event_attribute_count =
      static_cast<std::uint32_t>(env_uint("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", count));
  l.link_attribute_count =
      static_cast<std::uint32_t>(env_uint("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", count));
  return l;
}

/// The sampler OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG name; parentbased_always_on when
/// unset, unsupported (reported) or `read_env` is false. An invalid argument is reported and 1.0
/// used.
inline sampler sampler_from_env(bool read_env) {
  if (!read_env) return sampler{};
  auto name = detail::env("OTEL_TRACES_SAMPLER");
  if (!name) return sampler{};
  const std::string n = detail::trim(*name);
  const std::string lower = detail::to_lower(n);
  const auto arg = detail::env("OTEL_TRACES_SAMPLER_ARG");
  std::string error;
  auto s =
      sampler::from_name(lower, arg ? std::optional<std::string_view>(*arg) : std::nullopt, &error);
  if (!error.empty()) detail::diag("{}", error);
  return s ? *s : sampler{};
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/metrics.hpp
// SPDX-License-Identifier: MIT
// Instruments for what spans do not cover: counter, up_down_counter, histogram, and an
// observable gauge read at each export. Names are string literals, fixed at compile time like
// span names; attributes are typed keys.
//
//   inline agentrace::counter<std::int64_t> cache_hits{"app.cache.hits", "{hit}", "Cache hits"};
//   cache_hits.add(1, {{app::cache_name, "sql"}});
//
// Recording takes no lock and never waits: a series is found in a fixed-size lock-free table by
// a hash of its attributes (in any order; allocated on the series' first use only), and its
// value lives in cache-line-sized stripes, one picked per thread, updated with relaxed atomics.
// Past the cardinality limit a measurement goes to one overflow series
// (otel.metric.overflow=true) and is counted. The collector reads every instrument at each
// metrics export.

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// amalgamated: include/agentrace/metrics/names.hpp
// SPDX-License-Identifier: MIT
// The names, units and bucket boundaries of the metrics agentrace derives from spans, in one
// place: the GenAI conventions' token metric is being renamed upstream, and the span metrics
// follow the OpenTelemetry Collector's spanmetrics connector.

#include <array>
#include <string_view>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::metric_names {

/// RED metrics per {service.name, span.name, span.kind, status.code} (spanmetrics connector).
inline constexpr std::string_view span_calls = "traces.span.metrics.calls";
inline constexpr std::string_view span_duration = "traces.span.metrics.duration";
/// GenAI client metrics (semantic conventions for generative AI, metrics).
inline constexpr std::string_view genai_operation_duration = "gen_ai.client.operation.duration";
inline constexpr std::string_view genai_token_usage = "gen_ai.client.token.usage";
inline constexpr std::string_view genai_time_to_first_chunk =
    "gen_ai.client.operation.time_to_first_chunk";

/// Attribute of the one series that takes every point past a metric's cardinality limit.
inline constexpr std::string_view overflow_attribute = "otel.metric.overflow";

/// Bucket boundaries (seconds) of gen_ai.client.operation.duration and time to first chunk, as
/// the GenAI conventions advise.
inline constexpr std::array<double, 14> genai_duration_buckets{
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
/// Bucket boundaries ({token}) of gen_ai.client.token.usage.
inline constexpr std::array<double, 14> genai_token_buckets{
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
/// Default bucket boundaries (seconds) of traces.span.metrics.duration: the spanmetrics
/// connector's default (2 ms to 15 s), in seconds.
inline constexpr std::array<double, 16> span_duration_buckets{
    0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15};

}  // namespace agentrace::metric_names

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// One attribute of a measurement: a typed key and a scalar value, only looked at during the
/// call (a string is copied when its series is new, never otherwise).
class metric_attr {
 public:
  template <class T, class V>
    requires detail::settable_as<T, V> &&
        (std::is_same_v<T, std::string> || std::is_same_v<T, bool> ||
         std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>)
            metric_attr(const key<T>& k, V&& v) noexcept  // NOLINT(google-explicit-constructor)
        : key_(k.name()) {
      if constexpr (std::is_same_v<T, std::string>) {
        type_ = value_type::string;
        str_ = std::string_view(v);
      } else if constexpr (std::is_same_v<T, bool>) {
        type_ = value_type::boolean;
        bits_ = v ? 1 : 0;
      } else if constexpr (std::is_same_v<T, std::int64_t>) {
        type_ = value_type::int64;
        bits_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
      } else {
        type_ = value_type::float64;
        bits_ = std::bit_cast<std::uint64_t>(static_cast<double>(v));
      }
    }

    std::string_view key() const noexcept { return key_; }
    /// The value as an owned attr_value (for a new series' attributes).
    attr_value owned() const {
      switch (type_) {
        case value_type::string: return attr_value{std::in_place_type<std::string>, str_};
        case value_type::boolean: return attr_value{bits_ != 0};
        case value_type::int64: return attr_value{static_cast<std::int64_t>(bits_)};
        default: return attr_value{std::bit_cast<double>(bits_)};
      }
    }
    /// A 64-bit hash of key, type and value (eight bytes at a time).
    std::uint64_t hash() const noexcept {
      const std::uint64_t h = detail::metric_hash_bytes(
          0xCBF29CE484222325ull ^ static_cast<std::uint64_t>(type_), key_);
      if (type_ == value_type::string) return detail::metric_hash_bytes(h, str_);
      return detail::metric_hash_mix(h ^ bits_);
    }

    /// Whether this is the attribute `a` of a series; `key_id`: the key's address when the
    /// series was made (key names are string literals: the same address is the same name).
    bool same_as(const std::pair<std::string, attr_value>& a, const char* key_id) const noexcept {
      if (key_.size() != a.first.size()) return false;
      if (key_.data() != key_id && !detail::metric_bytes_equal(key_, a.first)) return false;
      switch (type_) {
        case value_type::string: {
          const auto* v = std::get_if<std::string>(&a.second);
          return v && detail::metric_bytes_equal(*v, str_);
        }
        case value_type::boolean: {
          const auto* v = std::get_if<bool>(&a.second);
          return v && *v == (bits_ != 0);
        }
        case value_type::int64: {
          const auto* v = std::get_if<std::int64_t>(&a.second);
          return v && static_cast<std::uint64_t>(*v) == bits_;
        }
        default: {
          const auto* v = std::get_if<double>(&a.second);
          return v && std::bit_cast<std::uint64_t>(*v) == bits_;
        }
      }
    }

   private:
    std::string_view key_;
    std::string_view str_;
    std::uint64_t bits_{0};
    value_type type_{value_type::none};
};

/// The attributes of one measurement: `{{key, value}, ...}`.
using metric_attributes = std::initializer_list<metric_attr>;

namespace detail {

/// Stripes per series: a thread updates the one its number picks, so that two threads rarely
/// write the same cache line.
inline constexpr std::size_t metric_stripes = 4;

inline std::size_t metric_stripe() noexcept {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine % metric_stripes;
}

inline void atomic_min(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}
inline void atomic_max(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}
inline void atomic_add(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

/// One series of an instrument: its attributes and its striped cells.
struct instrument_series {
  /// Bucket counts in whole cache lines of their own: one stripe's counts never share a line
  /// with another stripe's, nor with anything a recording thread reads (the attributes).
  struct alignas(64) bucket_line {
    std::atomic<std::uint64_t> counts[8];
  };
  struct alignas(64) stripe {
    std::atomic<std::int64_t> int_value{0};
    std::atomic<double> double_value{0};  // a double sum, or a histogram's sum
    std::atomic<double> min{__builtin_inf()};
    std::atomic<double> max{-__builtin_inf()};
    std::unique_ptr<bucket_line[]> lines;  // histograms: bounds + 1 counts
    std::atomic<std::uint64_t>& bucket(std::size_t i) const noexcept {
      return lines[i / 8].counts[i % 8];
    }
  };
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::vector<const char*> key_ids;  // each attribute's key address when the series was made
  std::uint64_t start_unix_ns{0};
  stripe stripes[metric_stripes];

  /// Whether `attrs` (in any order) are this series' attributes: two sets whose hashes collide
  /// are two series.
  bool matches(metric_attributes attrs) const noexcept {
    if (attrs.size() != attributes.size()) return false;
    std::size_t i = 0;
    for (const metric_attr& a : attrs) {  // the order they were first given in: one pass
      if (!a.same_as(attributes[i], key_ids[i])) break;
      ++i;
    }
    if (i == attributes.size()) return true;
    // Another order: each attribute matched by a different one of the series' (up to 64 are
    // told apart; a longer set with a key given twice may match a permutation of itself).
    std::uint64_t taken = 0;
    for (const metric_attr& a : attrs) {
      bool found = false;
      for (std::size_t j = 0; j < attributes.size() && !found; ++j) {
        const std::uint64_t bit = j < 64 ? std::uint64_t{1} << j : 0;
        if ((taken & bit) == 0 && a.same_as(attributes[j], key_ids[j])) {
          taken |= bit;
          found = true;
        }
      }
      if (!found) return false;
    }
    return true;
  }
  // Collector side, under the registry's mutex: the totals at the last delta export.
  std::int64_t last_int{0};
  double last_double{0};
  std::uint64_t last_count{0};
  std::vector<std::uint64_t> last_buckets;
};

class instrument_base;

/// Every live instrument; the collector reads them under `mu` at each export.
struct instrument_registry {
  std::mutex mu;
  std::vector<instrument_base*> instruments;
  std::atomic<std::uint64_t> overflowed{0};  // measurements recorded in an overflow series
  std::atomic<std::uint64_t> rejected{0};    // negative counter increments, NaN: not recorded
};
inline instrument_registry& instruments() {
  static auto* r = new instrument_registry();  // leaked: instruments may outlive main()
  return *r;
}

/// What every synchronous instrument shares: identity, the series table, registration.
class instrument_base {
 public:
  instrument_base(const instrument_base&) = delete;
  instrument_base& operator=(const instrument_base&) = delete;
  virtual ~instrument_base() {
    {
      auto& r = instruments();
      std::lock_guard<std::mutex> lock(r.mu);
      std::erase(r.instruments, this);
    }
    for (std::size_t i = 0; i <= mask_; ++i) delete table_[i].series.load();
    delete empty_.load();
    delete overflow_.load();
  }

  /// Appends this instrument's metric (nothing when it has no series). Under the registry lock.
  virtual void collect(std::vector<metric_data>& out, std::uint64_t now,
                       temporality_preference pref) = 0;

  std::string_view name() const noexcept { return name_; }

 protected:
  instrument_base(std::string_view name, std::string_view unit, std::string_view description,
                  std::size_t limit)
      : name_(name),
        unit_(unit),
        description_(description),
        limit_(std::max<std::size_t>(limit, 2)) {
    std::size_t cap = 16;
    while (cap < 2 * limit_) cap *= 2;
    mask_ = cap - 1;
    table_ = std::make_unique<slot[]>(cap);
    auto& r = instruments();
    std::lock_guard<std::mutex> lock(r.mu);
    r.instruments.push_back(this);
  }
  /// The series of `attrs` (any order): lock-free; allocates only for a new series. Slots are
  /// found by a hash of the attributes and checked against the series' attributes: a set whose
  /// hash collides with another's takes the next free slot.
  instrument_series& series_for(metric_attributes attrs) {
    if (attrs.size() == 0) return get_or_make(empty_, attrs);
    // The series this stripe's threads found last: a thread that records the same attributes
    // again skips the hash and the probe (the check below is the one a probe ends with).
    std::atomic<instrument_series*>& memo = memo_[metric_stripe()].last;
    if (instrument_series* m = memo.load(std::memory_order_acquire); m && m->matches(attrs))
      return *m;
    instrument_series& x = find_series(attrs);
    if (&x != overflow_.load(std::memory_order_relaxed)) memo.store(&x, std::memory_order_release);
    return x;
  }

  /// The slow path of series_for: hash, probe, make.
  AGENTRACE_DETAIL_NOINLINE instrument_series& find_series(metric_attributes attrs) {
    std::uint64_t h = 0;
    for (const metric_attr& a : attrs) h += a.hash();  // order-independent
    h &= hash_mask_;
    if (h == 0) h = 1;
    std::size_t i = static_cast<std::size_t>(h) & mask_;
    for (std::size_t probes = 0; probes <= mask_; ++probes, i = (i + 1) & mask_) {
      slot& s = table_[i];
      std::uint64_t cur = s.hash.load(std::memory_order_acquire);
      if (cur == 0) {
        if (used_.load(std::memory_order_relaxed) + 1 >= limit_) break;
        if (s.hash.compare_exchange_strong(cur, h, std::memory_order_acq_rel)) {
          used_.fetch_add(1, std::memory_order_relaxed);
          cur = h;
        }
      }
      // A slot with this hash. Another thread that claimed it may still be making its series:
      // make it too, without waiting; the first one published is the slot's. It is this one
      // when its attributes are these (else: a collision, probe on).
      if (cur == h) {
        instrument_series& x = get_or_make(s.series, attrs);
        if (x.matches(attrs)) [[likely]]
          return x;
      }
    }
    instruments().overflowed.fetch_add(1, std::memory_order_relaxed);
    return get_or_make(overflow_, {}, true);
  }

  /// Calls f(series) for each series (collector side).
  template <class F>
  void for_each_series(F&& f) {
    if (auto* e = empty_.load(std::memory_order_acquire)) f(*e);
    for (std::size_t i = 0; i <= mask_; ++i)
      if (auto* p = table_[i].series.load(std::memory_order_acquire)) f(*p);
    if (auto* o = overflow_.load(std::memory_order_acquire)) f(*o);
  }

  metric_data header(metric_type t) const {
    metric_data m;
    m.name = name_;
    m.unit = unit_;
    m.description = description_;
    m.type = t;
    return m;
  }

  virtual void init_series(instrument_series&) {}

  std::string_view name_, unit_, description_;

 private:
  struct slot {
    std::atomic<std::uint64_t> hash{0};
    std::atomic<instrument_series*> series{nullptr};
  };
  /// A stripe's last series, on its own cache line: a miss on one stripe's threads does not
  /// invalidate what another stripe's threads read.
  struct alignas(64) memo_line {
    std::atomic<instrument_series*> last{nullptr};
  };

  instrument_series* make_series(metric_attributes attrs, bool overflow = false) {
    auto* p = new instrument_series();
    for (const metric_attr& a : attrs) {
      p->attributes.emplace_back(std::string(a.key()), a.owned());
      p->key_ids.push_back(a.key().data());
    }
    if (overflow)
      p->attributes.emplace_back(std::string(metric_names::overflow_attribute), attr_value{true});
    p->start_unix_ns = unix_now_ns();
    init_series(*p);
    return p;
  }
  instrument_series& get_or_make(std::atomic<instrument_series*>& a, metric_attributes attrs,
                                 bool overflow = false) {
    if (auto* p = a.load(std::memory_order_acquire)) [[likely]]
      return *p;
    auto* made = make_series(attrs, overflow);
    instrument_series* expected = nullptr;
    if (a.compare_exchange_strong(expected, made, std::memory_order_acq_rel)) return *made;
    delete made;
    return *expected;
  }

  friend struct metrics_test_access;

  std::size_t limit_;
  std::size_t mask_{0};
  std::uint64_t hash_mask_{~std::uint64_t{0}};  // all bits; tests force collisions with fewer
  std::unique_ptr<slot[]> table_;
  std::atomic<std::size_t> used_{0};
  std::atomic<instrument_series*> empty_{nullptr}, overflow_{nullptr};
  memo_line memo_[metric_stripes];
};

constexpr bool delta_for_counters(temporality_preference p) noexcept {
  return p != temporality_preference::cumulative;
}

/// A sum instrument (counter, up_down_counter).
template <class T, bool Monotonic>
class sum_instrument : public instrument_base {
  static_assert(std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>,
                "instruments count in std::int64_t or double");

 public:
  sum_instrument(static_string name, static_string unit, static_string description,
                 std::size_t cardinality_limit)
      : instrument_base(name.view(), unit.view(), description.view(), cardinality_limit) {}
  ~sum_instrument() override = default;

  /// Adds `v` to the series of `attrs`. A counter ignores (and counts) a negative or NaN `v`.
  void add(T v, metric_attributes attrs = {}) noexcept {
    if constexpr (Monotonic) {
      if (!(v >= 0)) [[unlikely]] {
        instruments().rejected.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    } else if constexpr (std::is_same_v<T, double>) {
      if (std::isnan(v)) [[unlikely]] {
        instruments().rejected.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    instrument_series::stripe& s = series_for(attrs).stripes[metric_stripe()];
    if constexpr (std::is_same_v<T, std::int64_t>)
      s.int_value.fetch_add(v, std::memory_order_relaxed);
    else
      atomic_add(s.double_value, v);
  }

  void collect(std::vector<metric_data>& out, std::uint64_t now,
               temporality_preference pref) override {
    // Up-down counters stay cumulative under every preference (OpenTelemetry's table).
    const bool delta = Monotonic && delta_for_counters(pref);
    metric_data m = header(metric_type::sum);
    m.monotonic = Monotonic;
    m.temporality = delta ? aggregation_temporality::delta : aggregation_temporality::cumulative;
    for_each_series([&](instrument_series& s) {
      std::int64_t iv = 0;
      double dv = 0;
      for (const auto& st : s.stripes) {
        iv += st.int_value.load(std::memory_order_relaxed);
        dv += st.double_value.load(std::memory_order_relaxed);
      }
      metric_point p;
      p.attributes = s.attributes;
      p.start_unix_ns = s.start_unix_ns;
      p.time_unix_ns = std::max(now, s.start_unix_ns);
      p.is_int = std::is_same_v<T, std::int64_t>;
      p.int_value = iv - (delta ? s.last_int : 0);
      p.double_value = dv - (delta ? s.last_double : 0);
      if (delta) {
        if (p.int_value == 0 && p.double_value == 0) return;
        s.last_int = iv;
        s.last_double = dv;
        s.start_unix_ns = p.time_unix_ns;
      }
      m.points.push_back(std::move(p));
    });
    if (!m.points.empty()) out.push_back(std::move(m));
  }
};

}  // namespace detail

/// A monotonic sum: `add` only non-negative values (others are ignored and counted).
template <class T = std::int64_t>
class counter : public detail::sum_instrument<T, true> {
 public:
  explicit counter(static_string name, static_string unit = "", static_string description = "",
                   std::size_t cardinality_limit = 2000)
      : detail::sum_instrument<T, true>(name, unit, description, cardinality_limit) {}
};

/// A sum that goes up and down (queue lengths, requests in flight).
template <class T = std::int64_t>
class up_down_counter : public detail::sum_instrument<T, false> {
 public:
  explicit up_down_counter(static_string name, static_string unit = "",
                           static_string description = "", std::size_t cardinality_limit = 2000)
      : detail::sum_instrument<T, false>(name, unit, description, cardinality_limit) {}
};

/// The SDK's default explicit bucket boundaries.
inline constexpr std::initializer_list<double> default_histogram_buckets = {
    0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000};

/// A distribution with explicit bucket boundaries (strictly increasing; others are sorted and
/// made unique).
template <class T = double>
class histogram : public detail::instrument_base {
  static_assert(std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>,
                "instruments record std::int64_t or double");

 public:
  explicit histogram(static_string name, static_string unit = "", static_string description = "",
                     std::vector<double> bounds = default_histogram_buckets,
                     std::size_t cardinality_limit = 2000)
      : detail::instrument_base(name.view(), unit.view(), description.view(), cardinality_limit),
        bounds_(sorted(std::move(bounds))) {}
  ~histogram() override = default;

  /// Records `v` (NaN is ignored and counted).
  void record(T v, metric_attributes attrs = {}) noexcept {
    const auto d = static_cast<double>(v);
    if (std::isnan(d)) [[unlikely]] {
      detail::instruments().rejected.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const std::size_t b = bounds_(d);
    detail::instrument_series::stripe& s = series_for(attrs).stripes[detail::metric_stripe()];
    s.bucket(b).fetch_add(1, std::memory_order_relaxed);  // the count is the buckets' sum
    detail::atomic_add(s.double_value, d);
    detail::atomic_min(s.min, d);
    detail::atomic_max(s.max, d);
  }

  void collect(std::vector<metric_data>& out, std::uint64_t now,
               temporality_preference pref) override {
    const bool delta = detail::delta_for_counters(pref);
    metric_data m = header(metric_type::histogram);
    m.bounds.assign(bounds_.bounds().begin(), bounds_.bounds().end());
    m.temporality = delta ? aggregation_temporality::delta : aggregation_temporality::cumulative;
    for_each_series([&](detail::instrument_series& s) {
      metric_point p;
      p.bucket_counts.assign(bounds_.size() + 1, 0);
      p.min = __builtin_inf();
      p.max = -__builtin_inf();
      for (const auto& st : s.stripes) {
        p.sum += st.double_value.load(std::memory_order_relaxed);
        p.min = std::min(p.min, st.min.load(std::memory_order_relaxed));
        p.max = std::max(p.max, st.max.load(std::memory_order_relaxed));
        for (std::size_t i = 0; i <= bounds_.size(); ++i)
          p.bucket_counts[i] += st.bucket(i).load(std::memory_order_relaxed);
      }
      // The count is the sum of the bucket counts (each read once, so the point is consistent
      // while threads record).
      for (auto c : p.bucket_counts) p.count += c;
      if (delta) {
        if (p.count == s.last_count) return;
        const std::uint64_t count = p.count;
        const double sum = p.sum;
        const std::vector<std::uint64_t> buckets = p.bucket_counts;
        p.count -= s.last_count;
        p.sum -= s.last_double;
        if (!s.last_buckets.empty())
          for (std::size_t i = 0; i <= bounds_.size(); ++i) p.bucket_counts[i] -= s.last_buckets[i];
        s.last_count = count;
        s.last_double = sum;
        s.last_buckets = buckets;
        // min and max are since the series began: a delta point leaves them out.
        p.has_min_max = false;
      }
      if (p.count == 0) return;
      p.attributes = s.attributes;
      p.start_unix_ns = s.start_unix_ns;
      p.time_unix_ns = std::max(now, s.start_unix_ns);
      if (delta) s.start_unix_ns = p.time_unix_ns;
      m.points.push_back(std::move(p));
    });
    if (!m.points.empty()) out.push_back(std::move(m));
  }

 private:
  void init_series(detail::instrument_series& s) override {
    const std::size_t lines = (bounds_.size() + 1 + 7) / 8;
    for (auto& st : s.stripes) {
      st.lines = std::make_unique<detail::instrument_series::bucket_line[]>(lines);
      for (std::size_t l = 0; l < lines; ++l)
        for (auto& c : st.lines[l].counts) c.store(0, std::memory_order_relaxed);
    }
  }
  static std::vector<double> sorted(std::vector<double> b) {
    std::sort(b.begin(), b.end());
    b.erase(std::unique(b.begin(), b.end()), b.end());
    return b;
  }
  detail::bucket_finder bounds_;
};

/// Reports the values of an observable gauge (the callback's argument).
class gauge_observer {
 public:
  void observe(double v, metric_attributes attrs = {}) {
    metric_point p;
    for (const metric_attr& a : attrs) p.attributes.emplace_back(std::string(a.key()), a.owned());
    p.is_int = false;
    p.double_value = v;
    p.time_unix_ns = now_;
    points_.push_back(std::move(p));
  }

 private:
  friend class observable_gauge;
  std::uint64_t now_{0};
  std::vector<metric_point> points_;
};

/// A gauge whose callback is called at each metrics export (on the collector thread, or the
/// thread serving a Prometheus scrape); it must not block for long.
class observable_gauge : public detail::instrument_base {
 public:
  observable_gauge(static_string name, static_string unit, static_string description,
                   std::function<void(gauge_observer&)> callback)
      : detail::instrument_base(name.view(), unit.view(), description.view(), 2),
        callback_(std::move(callback)) {}
  ~observable_gauge() override = default;

  void collect(std::vector<metric_data>& out, std::uint64_t now, temporality_preference) override {
    gauge_observer o;
    o.now_ = now;
    try {
      callback_(o);
    } catch (...) {  // a throwing callback reports nothing this time
      return;
    }
    if (o.points_.empty()) return;
    metric_data m = header(metric_type::gauge);
    m.points = std::move(o.points_);
    out.push_back(std::move(m));
  }

 private:
  std::function<void(gauge_observer&)> callback_;
};

/// Appends the metrics of every live instrument (the collector calls this at each export).
inline void collect_instruments(std::vector<metric_data>& out, temporality_preference pref) {
  auto& r = detail::instruments();
  const std::uint64_t now = detail::unix_now_ns();
  std::lock_guard<std::mutex> lock(r.mu);
  for (detail::instrument_base* i : r.instruments) i->collect(out, now, pref);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/collector.hpp
// SPDX-License-Identifier: MIT
// The background collector: drains the queue in bulk on a short timer, converts clocks, batches
// by size and time, and calls the exporters. Everything that can be late happens here.

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

// amalgamated: include/agentrace/detail/log_queue.hpp
// SPDX-License-Identifier: MIT
// The collector's log-record queue: bounded, lock-free for the emitting threads (emit_event
// never waits), drained in bulk by the collector. One per process, in static storage.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <vector>

// amalgamated: include/agentrace/detail/concurrent_queue.hpp
// SPDX-License-Identifier: MIT
// The one place that knows how concurrentqueue is spelled on this system.

#if __has_include(<concurrentqueue/concurrentqueue.h>)
#include <concurrentqueue/concurrentqueue.h>
#elif __has_include(<concurrentqueue/moodycamel/concurrentqueue.h>)
#include <concurrentqueue/moodycamel/concurrentqueue.h>
#elif __has_include(<concurrentqueue.h>)
#include <concurrentqueue.h>
#else
#error \
    "agentrace needs moodycamel::ConcurrentQueue (Debian: apt-get install libconcurrentqueue-dev)"
#endif

// The span queues are agentrace's own (span_ring.hpp); the log queue (log_queue.hpp) is a
// moodycamel queue with its default traits.

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

class log_queue final : public log_sink {
 public:
  /// False (and counted) when `capacity` records are already queued.
  bool push(log_record&& r) noexcept override {
    if (size_.fetch_add(1, std::memory_order_acq_rel) >=
        capacity_.load(std::memory_order_relaxed)) {
      size_.fetch_sub(1, std::memory_order_relaxed);
      dropped_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    bool ok = false;
    try {
      ok = q_.enqueue(std::move(r));
    } catch (...) {  // std::bad_alloc: counted as a drop like a full queue
    }
    if (!ok) {
      size_.fetch_sub(1, std::memory_order_relaxed);
      dropped_full_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    emitted_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  /// Moves up to `max` records to the end of `out`; returns how many.
  std::size_t drain(std::vector<log_record>& out, std::size_t max) {
    const std::size_t n = q_.try_dequeue_bulk(std::back_inserter(out), max);
    size_.fetch_sub(n, std::memory_order_relaxed);
    return n;
  }

  void set_capacity(std::size_t n) noexcept { capacity_.store(n, std::memory_order_relaxed); }
  std::uint64_t emitted() const noexcept { return emitted_.load(std::memory_order_relaxed); }
  std::uint64_t dropped_queue_full() const noexcept {
    return dropped_full_.load(std::memory_order_relaxed);
  }

 private:
  moodycamel::ConcurrentQueue<log_record> q_;
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> capacity_{2048};
  std::atomic<std::uint64_t> emitted_{0}, dropped_full_{0};
};

/// The process's log queue (never destroyed: a thread may still emit while the process exits).
inline log_queue& process_log_queue() {
  static log_queue* q = new log_queue;  // NOLINT(cppcoreguidelines-owning-memory)
  return *q;
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/detail/span_filter.hpp
// SPDX-License-Identifier: MIT
// What the collector asks of a processor that holds finished spans back and decides which are
// exported: the tail sampler (agentrace/tail_sampling.hpp). The collector knows only this
// interface, so a collector without tail sampling never compiles the query language; the
// header that implements it registers a factory here when it is included.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

struct resource;

namespace detail {

/// What take_ready() decides.
enum class take_mode : std::uint8_t {
  due,    // the traces that are due: local root ended plus the wait, or at the maximum hold
  ended,  // also every trace whose local root has ended, without the wait (force_flush)
  all     // every trace held, its local root ended or not (shutdown)
};

class span_filter {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~span_filter() = default;
  /// Takes records [0, n) of `pending` (each is moved out and left empty).
  virtual void hold(std::vector<span_record>& pending, std::size_t n, const clock_converter& clock,
                    time_point now) = 0;
  /// Decides the traces `mode` names and moves up to pending.size() records of kept traces to
  /// the front of `pending`; returns how many. Called until it returns 0.
  virtual std::size_t take_ready(std::vector<span_record>& pending, const clock_converter& clock,
                                 time_point now, take_mode mode) = 0;
  /// True while spans are held or kept ones wait to be exported.
  virtual bool holding() const noexcept = 0;
  /// The earliest time take_ready() may have something to decide or export (a held trace's
  /// local root ended plus the wait, a trace at its maximum hold, kept spans waiting);
  /// time_point::max() when nothing is held. The collector wakes then, not only at its
  /// schedule.
  virtual time_point next_due() const noexcept = 0;
  /// Safe to call from any thread.
  virtual tail_sampling_counts counts() const noexcept = 0;
};

/// Builds the tail sampler for a configuration (nullptr: tail sampling is off). A bad rule in
/// code throws; one from the environment is reported and tail sampling left off.
using span_filter_factory = std::unique_ptr<span_filter> (*)(const tail_sampling_config&,
                                                             const span_limits&, const resource&,
                                                             bool read_env);
/// Spans of traces a tail sampler did not keep, by any collector of this process (cumulative,
/// like the other span counts of agentrace::stats).
inline std::atomic<std::uint64_t> tail_sampled_out_total{0};

/// Set by agentrace/tail_sampling.hpp when it is included.
inline std::atomic<span_filter_factory> tail_sampler_factory{nullptr};

}  // namespace detail
}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/detail/thread_state.hpp
// SPDX-License-Identifier: MIT
// The registry of per-thread producer states (detail/producer.hpp): creates and hands them over,
// frees those of exited threads once drained, sums their counters for stats() and force_flush(),
// wakes the collector on demand and carries notes of span scopes closed on another thread. The
// setup side (collector.hpp) includes it; instrumented code reaches it only through the hooks
// set_queue_capacity() installs.

#include <algorithm>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

#if __has_include(<cxxabi.h>)
#include <cxxabi.h>
#endif

// amalgamated: include/agentrace/detail/span_cold.hpp
// SPDX-License-Identifier: MIT
// A span's uncommon paths, compiled once: spans (detail/span_core.hpp) reach them through
// registry_hooks (producer.hpp), which set_queue_capacity() installs, so that an instrumented
// file compiles a call through a pointer instead of these bodies. Each concerns a span that
// began on a thread with a state (the hooks are installed then), except span_begin_other, which
// span_core calls only once it has found them.

#include <atomic>
#include <cstdint>
#include <new>
#include <utility>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// A span begun while tracing records in any configuration but the common one (`on` not 0):
/// begin() with the recording state's bits tested at run time. `parent`: the explicit parent, or
/// nullptr for the thread's current context.
inline void span_begin_other(span_core& s, const span_site* site, const span_context* parent,
                             std::uint8_t on) noexcept {
  thread_locals& t = this_thread_locals();
  s.begin(t, site, parent ? *parent : t.current, on);
}

/// The end of a recording span after shutdown() began (recording_state is 0; no clock is read), or
/// on a thread without a state (exiting, or its allocation failed): the context is restored as
/// usual (`scope`: the object began the span, see span_core::finish_recording), the span is
/// counted as dropped_not_running.
inline void span_finish_not_running(span_core& s, bool scope) noexcept {
  thread_locals& t = this_thread_locals();
  s.state_ = span_core::st_none;
  if (scope) s.restore_context(t, s.rec_.span_id);
  dropped_not_running.fetch_add(1, std::memory_order_relaxed);
  s.rec_.reset();
}

/// A span's end in any configuration but the common one, or after shutdown() began.
inline void span_finish_other(span_core& s, std::uint8_t on) noexcept {
  if (on == recording_off)
    span_finish_not_running(s, true);
  else
    s.finish_recording<true>(on);
}

/// An unsampled span's end (it is counted), on the thread whose state is `ts` (may be null).
inline void count_unsampled(thread_state* ts) noexcept {
  if (!ts || !recording_state.load(std::memory_order_relaxed)) [[unlikely]] {
    dropped_not_running.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  thread_counters::bump(ts->counters.dropped_unsampled);
}

/// The end of a span whose state is not st_recording (and not st_none).
inline void span_end_other(span_core& s) noexcept {
  switch (s.state_) {
    case span_core::st_unsampled: {  // context owner: restore the context, count it
      s.state_ = span_core::st_none;
      thread_locals& t = this_thread_locals();
      s.restore_context(t, s.self_.ctx.span_id);
      count_unsampled(this_thread(t));
      break;
    }
    case span_core::st_carried: {
      const std::uint8_t on = recording_state.load(std::memory_order_relaxed);
      if (on == recording_off)
        span_finish_not_running(s, false);
      else
        s.finish_recording<false>(on);
      break;
    }
    case span_core::st_carried_unsampled:
      s.state_ = span_core::st_none;
      count_unsampled(this_thread());
      break;
    case span_core::st_scope: {  // moved from: the scope closes
      s.state_ = span_core::st_none;
      thread_locals& t = this_thread_locals();
      s.restore_context(t, s.self_.ctx.span_id);
      break;
    }
    default: break;
  }
}

/// A full queue: the span is counted as dropped_queue_full (`c`: its thread's counters).
inline void span_drop_queue_full(span_core& s, thread_counters& c) noexcept {
  thread_counters::bump(c.dropped_queue_full);
  s.rec_.reset();
}

/// A span scope that closes while it is not the current context. On its own chain it closed out
/// of order: a child, a context_scope or a coroutine is current, and whoever restores this span
/// later gets what it replaced (context.hpp). On another chain (the object was destroyed or ended
/// on another thread without being moved) it is reported to its chain's thread (remote_end.hpp).
inline void span_ended_not_current(std::uint64_t id, std::uint64_t chain,
                                   const span_context& replaced) noexcept {
  if (chain != tls.chain) {
    report_remote_end(chain, id, replaced);
    return;
  }
  note_ended_out_of_order(id, replaced);
}

/// span_core::take for a recording span: `to` (empty) carries `from`'s record from now on;
/// `from` keeps the scope if it began the span.
inline void span_take_record(span_core& to, span_core& from) noexcept {
  from.rec_.end_ticks = 0;  // not set until the span ends: the move copies it
  ::new (static_cast<void*>(&to.rec_)) span_record(span_record::relocate, std::move(from.rec_));
  const std::uint64_t id = from.rec_.span_id;
  from.rec_.~span_record();
  to.uncaught_ = from.uncaught_;
  to.state_ = span_core::st_carried;
  if (from.state_ & span_core::st_scope) {
    ::new (static_cast<void*>(&from.self_)) unsampled_self{span_context{{}, id, 0, false}};
    from.state_ = span_core::st_scope;
  } else {
    from.state_ = span_core::st_none;
  }
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/detail/span_slow.hpp
// SPDX-License-Identifier: MIT
// A recording span's slower work, compiled once: spans (span.hpp) reach it through
// registry_hooks (producer.hpp), which set_queue_capacity() installs, so that an instrumented
// file compiles a call through a pointer instead of these bodies.

#include <cxxabi.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// scoped_span::event: an event with its own timestamp, or counted as dropped past the limit.
inline void span_add_event(span_record& rec, std::string_view name, const kv* attrs,
                           std::size_t n) {
  auto& ext = rec.extension();
  if (ext.events.size() >= limit_event_count.load(std::memory_order_relaxed)) {
    ++ext.dropped_events;
    return;
  }
  event_data e;
  e.ticks = now_ticks();
  e.name = name;
  e.attributes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) e.attributes.push_back(attrs[i].attr);
  ext.events.push_back(std::move(e));
}

/// scoped_span::link, once it has checked that the span records and `ctx` is valid: a link, or
/// counted as dropped past the limit.
inline void span_add_link(span_record& rec, const span_context& ctx, const kv* attrs,
                          std::size_t n) {
  auto& ext = rec.extension();
  if (ext.links.size() >= limit_link_count.load(std::memory_order_relaxed)) {
    ++ext.dropped_links;
    return;
  }
  link_data l;
  l.context = ctx;
  l.attributes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) l.attributes.push_back(attrs[i].attr);
  ext.links.push_back(std::move(l));
}

inline std::string demangle(const char* mangled) {
  int status = 0;
  char* p = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string out = (status == 0 && p) ? std::string(p) : std::string(mangled);
  std::free(p);  // if std::string threw, the name would leak: not on this path (a few bytes)
  return out;
}

/// scoped_span::set_status, once it has checked that the span records, its status is not OK
/// (final) and `code` is not UNSET. OpenTelemetry: a description is kept only with ERROR.
inline void span_set_status(span_record& rec, status_code code, std::string_view description) {
  rec.set_status(code);
  if (code == status_code::error && !description.empty())
    rec.extension().status_message.assign(description);
  else if (auto* e = rec.ext())
    e->status_message.clear();
}

/// scoped_span::overflow: an attribute that did not fit the record's inline slots (or that
/// replaces one set there before, or is not numeric, boolean or a string).
inline void span_overflow(span_record& rec, std::string_view key, attr_value&& v) {
  auto& ext = rec.extension();
  // OpenTelemetry: setting a key that is already set replaces its value, even at the limit.
  for (auto& a : ext.attributes)
    if (a.key == key) {
      a.value = std::move(v);
      return;
    }
  if (rec.n_attrs + ext.attributes.size() >=
      limit_attribute_count.load(std::memory_order_relaxed)) {
    bool inline_key = false;
    for (std::uint8_t i = 0; i < rec.n_attrs && !inline_key; ++i)
      inline_key = rec.attrs[i].key_name() == key;
    if (!inline_key) {
      ++ext.dropped_attributes;
      return;
    }
  }
  ext.attributes.push_back(attribute{key, std::move(v)});
}

/// span_overflow for a boolean, integer or double attribute, as the inline slot's `type` and
/// `word` (so that the span's file builds no attr_value).
inline void span_overflow_word(span_record& rec, std::string_view key, slot_type type,
                               std::uint64_t word) {
  attr_value v;
  switch (type) {
    case slot_type::boolean: v.emplace<bool>(word != 0); break;
    case slot_type::int64: v.emplace<std::int64_t>(static_cast<std::int64_t>(word)); break;
    case slot_type::float64: v.emplace<double>(std::bit_cast<double>(word)); break;
    default: return;  // string slots come through span_overflow_string
  }
  span_overflow(rec, key, std::move(v));
}

/// span_overflow for a string attribute: `owned` (taken, then freed) if not null, else a copy
/// of `v`.
inline void span_overflow_string(span_record& rec, std::string_view key, std::string_view v,
                                 std::string* owned) {
  attr_value a;
  if (owned) {
    a.emplace<std::string>(std::move(*owned));
    delete owned;
  } else {
    a.emplace<std::string>(v);
  }
  span_overflow(rec, key, std::move(a));
}

/// scoped_span::record_exception, once it has checked that the span records: an `exception` event
/// with exception.type (demangled) and exception.message (what()), and status ERROR (unless the
/// status is OK, which is final).
inline void span_record_exception(span_record& rec, const std::exception& e) {
  const kv attrs[] = {{semconv::exception::type, demangle(typeid(e).name())},
                      {semconv::exception::message, std::string_view(e.what())}};
  span_add_event(rec, "exception", attrs, 2);
  if (rec.status != status_code::ok) span_set_status(rec, status_code::error, e.what());
}

/// scoped_span's end while an exception unwinds through its scope: an `exception` event and
/// status ERROR, unless the exception was recorded just before (in_span, or record_exception and
/// a rethrow in a catch block).
inline void span_mark_unwinding(span_record& rec) noexcept {
  static constexpr std::string_view what = "exception thrown through the span's scope";
  try {
    const auto* e = rec.ext();
    const bool recorded = rec.status == status_code::error && e && !e->events.empty() &&
                          e->events.back().name == "exception";
    if (!recorded) {
      const kv attrs[] = {{semconv::exception::message, what}};
      span_add_event(rec, "exception", attrs, 1);
    }
    if (rec.status != status_code::error) span_set_status(rec, status_code::error, what);
  } catch (...) {  // out of memory while unwinding: keep the status at least
    rec.set_status(status_code::error);
  }
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// Drain on demand (drain_on_demand, drain_requested: producer.hpp): a thread whose queue has
// taken another half of its capacity since it last asked wakes the collector instead of waiting for
// its next timed drain (OpenTelemetry's batch processor does the same when a batch's worth is
// queued). The condition variable outlives every collector (only the active one waits on it);
// notify_one costs no system call while the collector is awake. A wake-up that races with the
// collector going to sleep is lost; the timed drain then comes at most one drain interval later.
// Leaked: producers may touch it at exit. Made anew in place in a forked child (collector.hpp):
// the parent's collector may have been waiting on it, and a waiter that does not exist in the
// child could block a notify there.
inline std::condition_variable& collector_wakeup() {
  static auto* cv = new std::condition_variable();
  return *cv;
}
AGENTRACE_DETAIL_NOINLINE inline void request_drain() noexcept {
  if (!drain_on_demand.load(std::memory_order_relaxed)) return;
  drain_requested.store(true, std::memory_order_relaxed);
  collector_wakeup().notify_one();
}

/// The registry of per-thread span queues.
///
/// Why one queue per thread: each has a single producer, so an enqueue takes no lock and no
/// read-modify-write (span_ring.hpp), and a thread that floods can only fill its own queue: the
/// other threads keep recording.
///
/// A thread's state outlives the thread only while its queue holds spans. When a thread exits,
/// its state (queue, counters) goes to the exited list, still holding the spans it
/// enqueued; the collector drains it like any other and frees it once it is empty and still
/// exited (release_if_drained), after adding its counters to the registry's retired sums.
///
/// A thread that starts takes an exited state of the current capacity over: an empty one if there
/// is one; else, when max_exited_states exited states are waiting to be drained already, the
/// emptiest of them, spans and all (they are drained as before, and take room in the new thread's
/// queue: what does not fit is dropped and counted as queue full, as for any thread); only below
/// that bound does it allocate a state of its own. So however slow the collector, the states
/// alive are at most the threads alive plus max_exited_states, and they fall back to the threads
/// alive once the exited ones are drained.
///
/// Who reads a state through a raw pointer, and why freeing is safe: the registry (under mu),
/// remote_end.hpp's report_remote_end (under mu), the thread itself (tls.state, until it exits)
/// and the collector's drain (its own snapshot; only the collector frees, from its own thread,
/// after it is done with the state in that pass).
inline constexpr std::size_t max_exited_states = 16;

struct global_state {
  std::mutex mu;
  std::vector<thread_state*> states;  // every state alive (live or exited); guarded by mu
  std::vector<thread_state*> free;    // states of exited threads; guarded by mu
  counters_snapshot retired{};        // counters of the states freed; guarded by mu
  std::uint64_t states_created{0};    // states ever allocated; guarded by mu
  // In a forked child: the parent's states, copied by fork() and never used (their threads do
  // not exist here, their spans are the parent's to export). Kept reachable, never freed.
  std::vector<thread_state*> inherited;
  // Capacity of queues created from now on (the active collector's max_queue_size); 0 until
  // the first start(): a thread records nothing before tracing was ever started.
  std::atomic<std::size_t> queue_capacity{0};
  std::uint32_t next_thread_index{1};
};

inline global_state& globals() {
  // Leaked on purpose: threads that exit after main() returns still touch it.
  static global_state* g = new global_state();
  return *g;
}

/// Whether the calling thread is the process's main thread (its thread-local objects are
/// destroyed by exit(), before the static destructors and atexit handlers run).
inline bool is_main_thread() noexcept {
#if defined(__linux__)
  return ::gettid() == ::getpid();
#else
  static const std::thread::id main_id = std::this_thread::get_id();
  return std::this_thread::get_id() == main_id;
#endif
}

/// Returns the thread's state to the exited list at thread exit. Not on the main thread: exit()
/// destroys its thread-local objects first, and spans that begin or end in static destructors
/// and atexit handlers afterwards (while tracing is still on) are still recorded in its state.
struct thread_state_owner {
  thread_state* state{nullptr};
  ~thread_state_owner() {
    if (state && is_main_thread()) return;  // the state stays with the thread until the end
    tls.exited = true;
    tls.state = nullptr;
    delete tls.ended;  // the thread's chain ends with it
    tls.ended = nullptr;
    if (!state) return;
    auto& g = globals();
    std::lock_guard<std::mutex> lock(g.mu);
    // The spans still queued stay there: the collector drains exited states too, then frees them.
    g.free.push_back(state);
    state->exited.store(true, std::memory_order_release);
    state = nullptr;
  }
};

/// The calling thread's owner of its state.
inline thread_state_owner& this_thread_owner() noexcept {
  static thread_local thread_state_owner owner;
  return owner;
}

/// On the collector's thread, after it has drained `st` in this pass: frees the state if its
/// thread has exited and its queue is empty, adding its counters to the retired sums. True if
/// it was freed (the caller must not use `st` again).
inline bool release_if_drained(thread_state* st) {
  if (!st->exited.load(std::memory_order_acquire)) return false;
  auto& g = globals();
  {
    std::lock_guard<std::mutex> lock(g.mu);
    auto it = std::find(g.free.begin(), g.free.end(), st);
    // Taken over by a new thread meanwhile, or spans left: not now.
    if (it == g.free.end() || st->queue->size_approx() != 0) return false;
    g.free.erase(it);
    g.states.erase(std::find(g.states.begin(), g.states.end(), st));
    g.retired.enqueued += st->counters.enqueued.load(std::memory_order_acquire);
    g.retired.dropped_queue_full += st->counters.dropped_queue_full.load(std::memory_order_acquire);
    g.retired.dropped_unsampled += st->counters.dropped_unsampled.load(std::memory_order_acquire);
  }
  delete st;
  return true;
}

/// How many thread states are allocated, and how many of those belong to exited threads.
struct state_counts {
  std::size_t alive{0};
  std::size_t exited{0};
  std::uint64_t created{0};  // ever allocated
};
inline state_counts thread_state_counts() {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  return {g.states.size(), g.free.size(), g.states_created};
}

/// Bytes of a core's private L2 cache as the C library reports it (once per process: on a hybrid
/// CPU, whichever core kind it reports), or 0 where it cannot be told.
inline std::size_t l2_cache_bytes() noexcept {
#if defined(_SC_LEVEL2_CACHE_SIZE)
  const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (v > 0) return static_cast<std::size_t>(v);
#endif
  return 0;
}

/// Whether a thread whose queue holds `capacity` records demotes the records it enqueues
/// (context.hpp, thread_locals::demote_records): when the first line of every record, all an empty
/// span writes, would not fit in L2 together. Not where the L2 size is unknown.
inline bool demote_records_for(std::size_t capacity) noexcept {
  static const std::size_t l2 = l2_cache_bytes();
  return l2 != 0 && capacity * 64 >= l2;
}

/// Slow path of this_thread() (through registry_hooks): the thread's first span. Takes over an
/// exited state of the current capacity (an empty one, or at the bound the emptiest: see
/// global_state), or allocates one (its queue). Returns nullptr, and the span is not recorded, if
/// tracing was never started or allocation fails.
AGENTRACE_DETAIL_NOINLINE inline thread_state* create_thread_state() noexcept {
  if (tls.exited) return nullptr;
  auto& g = globals();
  const std::size_t capacity = g.queue_capacity.load(std::memory_order_acquire);
  if (capacity == 0) return nullptr;
  thread_state_owner& owner = this_thread_owner();
  try {
    std::unique_lock<std::mutex> lock(g.mu);
    thread_state* st = nullptr;
    auto best = g.free.end();
    std::size_t best_size = 0;
    for (auto it = g.free.begin(); it != g.free.end(); ++it) {
      if ((*it)->capacity != capacity) continue;
      const std::size_t n = (*it)->queue->size_approx();
      if (best == g.free.end() || n < best_size) {
        best = it;
        best_size = n;
        if (n == 0) break;
      }
    }
    // A state still holding spans is taken over only when the exited ones are at their bound.
    if (best != g.free.end() && (best_size == 0 || g.free.size() >= max_exited_states)) {
      st = *best;
      g.free.erase(best);
      st->exited.store(false, std::memory_order_relaxed);
    }
    if (!st) {
      lock.unlock();
      auto fresh = std::make_unique<thread_state>(capacity);
      lock.lock();
      g.states.reserve(g.states.size() + 1);
      st = fresh.release();
      g.states.push_back(st);
      ++g.states_created;
    }
    st->index = g.next_thread_index++;
    st->chain = thread_chain_id();
    owner.state = st;
  } catch (...) {
    return nullptr;
  }
  tls.demote_records = demote_records_for(owner.state->capacity);
  // This thread's counter: a state taken over from an exited thread still points into that
  // thread's thread-local storage, which is gone.
  owner.state->uncaught = uncaught_counter_slow();
  if (tls.chain == 0) tls.chain = owner.state->chain;  // else a coroutine's chain is installed
  tls.state = owner.state;
  return tls.state;
}

// Span scopes closed on another thread than their chain's (remote_end.hpp): the notes.
struct remote_end {
  std::uint64_t chain;  // the origin thread's chain (thread_state::chain)
  std::uint64_t span_id;
  span_context replaced;  // what the span replaced as its chain's current context
};

struct remote_end_board {
  std::mutex mu;
  std::vector<remote_end> notes;
};

inline remote_end_board& remote_ends() {
  // Leaked on purpose, like globals(): threads that exit after main() returns may still post.
  static remote_end_board* b = new remote_end_board();
  return *b;
}

/// remote_end.hpp's report_remote_end, through registry_hooks: on a thread whose current chain is
/// not `chain`, the chain span `id` is current on. Notes it for the live thread that owns `chain`;
/// nothing is noted for a coroutine's chain or an exited thread.
AGENTRACE_DETAIL_COLD inline void post_remote_end(std::uint64_t chain, std::uint64_t id,
                                                  const span_context& replaced) noexcept {
  auto& g = globals();
  auto& b = remote_ends();
  // Under globals().mu a thread cannot exit (hand its state to the free list) or start (take a
  // state over) meanwhile. Lock order: globals().mu, then the board's (take_remote_ends takes
  // only the board's).
  std::lock_guard<std::mutex> lock(g.mu);
  for (thread_state* t : g.states) {
    if (t->chain != chain) continue;
    if (std::find(g.free.begin(), g.free.end(), t) != g.free.end()) break;  // it has exited
    try {
      std::lock_guard<std::mutex> board_lock(b.mu);
      b.notes.push_back(remote_end{chain, id, replaced});
    } catch (...) {
      context_entries_lost.fetch_add(1, std::memory_order_relaxed);  // out of memory for the note
      return;
    }
    t->remote_ended.store(1, std::memory_order_release);
    return;
  }
  remote_ends_unrepaired.fetch_add(1, std::memory_order_relaxed);
}

/// remote_end.hpp's take_remote_ends_if_any, through registry_hooks: on the origin thread `ts`,
/// takes the notes left for its chain and repairs its current context.
/// While a coroutine's chain is current here the notes wait (the flag stays raised).
AGENTRACE_DETAIL_COLD inline void take_remote_ends(thread_state* ts) noexcept {
  if (tls.chain != ts->chain) return;
  ts->remote_ended.exchange(0, std::memory_order_acquire);
  auto& b = remote_ends();
  {
    std::lock_guard<std::mutex> lock(b.mu);
    auto mine = [&](const remote_end& n) { return n.chain == ts->chain; };
    for (const remote_end& n : b.notes)
      if (mine(n)) note_ended_out_of_order(n.span_id, n.replaced);
    b.notes.erase(std::remove_if(b.notes.begin(), b.notes.end(), mine), b.notes.end());
  }
  restore_resolved(tls.current);
}

/// Sets the capacity of per-thread queues created from now on (start() does it), clamped to what
/// one queue can hold, and installs the hooks through which spans reach the registry.
inline std::size_t set_queue_capacity(std::size_t capacity) noexcept {
  static constexpr registry_hooks hooks{
      .create_thread_state = &create_thread_state,
      .request_drain = &request_drain,
      .report_remote_end = &post_remote_end,
      .take_remote_ends = &take_remote_ends,
      .add_event = &span_add_event,
      .add_link = &span_add_link,
      .record_exception = &span_record_exception,
      .set_status = &span_set_status,
      .overflow = &span_overflow,
      .overflow_word = &span_overflow_word,
      .overflow_string = &span_overflow_string,
      .mark_unwinding = &span_mark_unwinding,
      .span_begin_other = &span_begin_other,
      .span_finish_other = &span_finish_other,
      .span_end_other = &span_end_other,
      .span_finish_not_running = &span_finish_not_running,
      .span_drop_queue_full = &span_drop_queue_full,
      .span_ended_not_current = &span_ended_not_current,
      .span_take_record = &span_take_record,
  };
  capacity = std::clamp<std::size_t>(capacity, 1, max_thread_queue_size);
  installed_registry_hooks.store(&hooks, std::memory_order_release);
  globals().queue_capacity.store(capacity, std::memory_order_release);
  return capacity;
}

/// The states whose queues the collector drains (all of them, live and exited), copied into
/// `out`.
inline void snapshot_states(std::vector<thread_state*>& out) {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  out.assign(g.states.begin(), g.states.end());
}

/// Sums of all threads' counters, live and exited.
inline counters_snapshot sum_counters() {
  auto& g = globals();
  std::lock_guard<std::mutex> lock(g.mu);
  counters_snapshot s = g.retired;
  for (thread_state* t : g.states) {
    s.enqueued += t->counters.enqueued.load(std::memory_order_acquire);
    s.dropped_queue_full += t->counters.dropped_queue_full.load(std::memory_order_acquire);
    s.dropped_unsampled += t->counters.dropped_unsampled.load(std::memory_order_acquire);
  }
  s.ended = s.enqueued + s.dropped_queue_full + s.dropped_unsampled;
  return s;
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/processing/span_metrics.hpp
// SPDX-License-Identifier: MIT
// Metrics derived from spans on the collector thread, from every span that reaches it (before
// any sampling decision downstream): RED metrics per {service.name, span.name, span.kind,
// status.code} as the OpenTelemetry Collector's spanmetrics connector computes them, and the
// GenAI client metrics (operation duration, token usage, time to first chunk) from inference
// spans. Histogram buckets keep an exemplar each (the trace and span of an errored or the
// slowest span that fell into it). Each metric holds at most `cardinality_limit` series; points
// past it go to one overflow series (otel.metric.overflow=true) and are counted.

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Options of the span-derived metrics (config::metrics).
struct span_metrics_options {
  /// Bucket boundaries (seconds) of traces.span.metrics.duration, strictly increasing.
  std::vector<double> duration_buckets{metric_names::span_duration_buckets.begin(),
                                       metric_names::span_duration_buckets.end()};
  /// Series per metric, the overflow series included (OpenTelemetry's default: 2000).
  std::size_t cardinality_limit = 2000;
  /// Cumulative (the default, what Prometheus needs), delta, or lowmemory (delta for counters
  /// and histograms: every span-derived metric).
  temporality_preference temporality = temporality_preference::cumulative;
};

/// What the span-derived metrics have counted (cumulative).
struct span_metrics_stats {
  std::uint64_t spans_observed = 0;     // spans the metrics saw
  std::uint64_t points_overflowed = 0;  // measurements recorded in an overflow series
  std::uint64_t series = 0;             // series held, every metric together
};

namespace detail {

/// Text of a span kind / status code as the spanmetrics connector writes them.
constexpr std::string_view span_kind_text(span_kind k) noexcept {
  switch (k) {
    case span_kind::server: return "SPAN_KIND_SERVER";
    case span_kind::client: return "SPAN_KIND_CLIENT";
    case span_kind::producer: return "SPAN_KIND_PRODUCER";
    case span_kind::consumer: return "SPAN_KIND_CONSUMER";
    default: return "SPAN_KIND_INTERNAL";
  }
}
constexpr std::string_view status_code_text(status_code c) noexcept {
  switch (c) {
    case status_code::ok: return "STATUS_CODE_OK";
    case status_code::error: return "STATUS_CODE_ERROR";
    default: return "STATUS_CODE_UNSET";
  }
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

using owned_attributes = std::vector<std::pair<std::string, attr_value>>;

/// One histogram metric's series, keyed by the text of their attribute values.
class histogram_table {
 public:
  static constexpr std::uint32_t none = std::numeric_limits<std::uint32_t>::max();

  histogram_table(std::string_view name, std::string_view description, std::string_view unit,
                  std::vector<double> bounds, std::size_t limit)
      : name_(name),
        description_(description),
        unit_(unit),
        bounds_(std::move(bounds)),
        limit_(std::max<std::size_t>(limit, 2)) {}

  /// The series for `key`, made on first use with the attributes `make_attributes()` returns;
  /// past the cardinality limit, the overflow series.
  template <class MakeAttributes>
  std::uint32_t series_for(std::string_view key, MakeAttributes&& make_attributes,
                           std::uint64_t now_unix_ns) {
    if (auto it = index_.find(key); it != index_.end()) return it->second;
    if (index_.size() + 1 >= limit_) {  // the overflow series takes the last place
      overflowing_ = true;
      if (overflow_ == none) {
        owned_attributes a;
        a.emplace_back(std::string(metric_names::overflow_attribute), attr_value{true});
        overflow_ = add(std::move(a), now_unix_ns);
      }
      return overflow_;
    }
    const std::uint32_t i = add(make_attributes(), now_unix_ns);
    index_.emplace(std::string(key), i);
    return i;
  }

  /// Records `v` (not negative, not NaN) in series `i`; `e`: the span it came from, kept as
  /// the bucket's exemplar when it is the bucket's first, or this one is an error and that one
  /// not, or it is as bad and at least as large. `error`: error_bit() of the span's status.
  AGENTRACE_DETAIL_ALWAYS_INLINE void record(std::uint32_t i, double v, const exemplar& e,
                                             std::uint64_t error) {
    series& s = series_[i];
    const std::size_t b = bounds_(v);
    s.min = std::min(s.min, v);  // +inf and -inf while the series has no point
    s.max = std::max(s.max, v);
    ++s.count;
    s.sum += v;
    bucket& k = s.buckets[b];
    // One comparison decides the exemplar: the rank orders (error, value), and a bucket's
    // first measurement is at least the rank 0 it starts with.
    const std::uint64_t rank = std::bit_cast<std::uint64_t>(v + 0.0) | error;
    ++k.count;
    if (rank >= k.rank) {
      k.rank = rank;
      k.e = e;
      k.e.value = v;
    }
  }

  /// The rank bit of an errored span, above every value's bits: a non-negative value's bits
  /// order as the value (-0 made +0) and leave the sign bit clear.
  static constexpr std::uint64_t error_bit(bool error) noexcept {
    return static_cast<std::uint64_t>(error) << 63;
  }

  /// Appends this metric's points (none when no series has any) as a histogram, and as a
  /// monotonic sum of the counts named `calls_name` when it is not empty. Delta: the series are
  /// reset afterwards and those without new points are left out.
  void collect(std::vector<metric_data>& out, std::uint64_t now_unix_ns, aggregation_temporality t,
               std::string_view calls_name = {}, std::string_view calls_description = {},
               std::string_view calls_unit = {}) {
    metric_data h;
    h.name = name_;
    h.description = description_;
    h.unit = unit_;
    h.type = metric_type::histogram;
    h.temporality = t;
    h.bounds.assign(bounds_.bounds().begin(), bounds_.bounds().end());
    metric_data c;
    c.name = calls_name;
    c.description = calls_description;
    c.unit = calls_unit;
    c.type = metric_type::sum;
    c.temporality = t;
    c.monotonic = true;
    const series* overflow = overflow_ != none ? &series_[overflow_] : nullptr;
    for (series& s : series_) {
      if (s.count == 0 && t == aggregation_temporality::delta) continue;
      metric_point p;
      p.attributes = s.attributes;
      p.start_unix_ns = s.start_unix_ns;
      p.time_unix_ns = std::max(now_unix_ns, s.start_unix_ns);
      p.count = s.count;
      p.sum = s.sum;
      p.min = s.count != 0 ? s.min : 0;
      p.max = s.count != 0 ? s.max : 0;
      p.bucket_counts.reserve(s.buckets.size());
      for (const bucket& k : s.buckets) {
        p.bucket_counts.push_back(k.count);
        if (k.count != 0) p.exemplars.push_back(k.e);
      }
      if (!calls_name.empty()) {
        metric_point q;
        q.attributes = s.attributes;
        q.start_unix_ns = p.start_unix_ns;
        q.time_unix_ns = p.time_unix_ns;
        q.is_int = true;
        q.int_value = static_cast<std::int64_t>(s.count);
        c.points.push_back(std::move(q));
      }
      h.points.push_back(std::move(p));
      if (t == aggregation_temporality::delta) {
        if (&s == overflow) overflowed_before_ += s.count;
        s.reset(now_unix_ns);
      }
    }
    if (h.points.empty()) return;
    if (!calls_name.empty()) out.push_back(std::move(c));
    out.push_back(std::move(h));
  }

  std::size_t series_count() const noexcept { return series_.size(); }
  bool is_overflow(std::uint32_t i) const noexcept { return i == overflow_; }
  /// Measurements recorded in the overflow series.
  std::uint64_t overflowed() const noexcept {
    return overflowed_before_ + (overflow_ != none ? series_[overflow_].count : 0);
  }
  /// Whether a new series was ever turned away (reported once by the owner).
  bool overflowing() const noexcept { return overflowing_; }
  std::string_view name() const noexcept { return name_; }

 private:
  /// A bucket's count and exemplar (the exemplar's rank: see record()).
  struct bucket {
    std::uint64_t count{0};
    std::uint64_t rank{0};
    exemplar e{};
  };
  struct series {
    owned_attributes attributes;
    std::uint64_t start_unix_ns{0};
    std::uint64_t count{0};
    double sum{0}, min{__builtin_inf()}, max{-__builtin_inf()};
    std::vector<bucket> buckets;
    void reset(std::uint64_t now) {
      start_unix_ns = now;
      count = 0;
      sum = 0;
      min = __builtin_inf();
      max = -__builtin_inf();
      std::fill(buckets.begin(), buckets.end(), bucket{});
    }
  };

  std::uint32_t add(owned_attributes a, std::uint64_t now) {
    series s;
    s.attributes = std::move(a);
    s.start_unix_ns = now;
    s.buckets.assign(bounds_.size() + 1, bucket{});
    series_.push_back(std::move(s));
    return static_cast<std::uint32_t>(series_.size() - 1);
  }

  std::string name_, description_, unit_;
  bucket_finder bounds_;
  std::size_t limit_;
  std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>> index_;
  std::vector<series> series_;
  std::uint32_t overflow_{none};
  std::uint64_t overflowed_before_{0};  // in the overflow series before its last delta reset
  bool overflowing_{false};
};

/// The GenAI attributes of an inference span that its metrics use.
struct genai_fields {
  std::string_view operation, provider, request_model, response_model, server_address, error_type;
  std::int64_t server_port{-1};
  std::int64_t input_tokens{-1}, output_tokens{-1};
  double time_to_first_chunk{-1};

  /// Which of them an attribute sets (by its key and its value's type). The fields from
  /// f_operation to f_server_port name the attribute set (and so the series).
  enum field : std::uint8_t {
    f_none,
    f_operation,
    f_provider,
    f_request_model,
    f_response_model,
    f_server_address,
    f_error_type,
    f_server_port,
    f_input_tokens,
    f_output_tokens,
    f_ttfc_int,
    f_ttfc_double,
    n_fields
  };
  static constexpr std::uint32_t bit(field f) noexcept { return std::uint32_t{1} << f; }
  /// The fields that name the attribute set.
  static constexpr std::uint32_t identity_bits =
      ((std::uint32_t{1} << (f_server_port + 1)) - 1) & ~std::uint32_t{1};  // f_operation...
  /// Set with a field's bit when the slot's string is owned (its value word is an address whose
  /// text may change; a static string's word names one text for good).
  static constexpr std::uint32_t owned_bit = std::uint32_t{1} << 31;

  /// Inline keys seen before, by their packed key word: the word holds the key name's address
  /// (key names are string literals), its length and the value's type, so the same word is the
  /// same field. Direct-mapped; a key word not found is classified by its name and remembered.
  struct key_cache {
    struct entry {
      std::uint64_t word{0};  // 0: empty (no stored slot has a zero key word)
      field f{f_none};
      std::uint32_t bits{1};  // bit(f), and owned_bit for an owned GenAI string
    };
    entry entries[64]{};

    AGENTRACE_DETAIL_ALWAYS_INLINE const entry& classify(const attr_slot& a) noexcept {
      entry& c = entries[(a.key * 0x9E3779B97F4A7C15ull) >> 58];
      if (c.word != a.key) [[unlikely]]
        fill(c, a);
      return c;
    }
    AGENTRACE_DETAIL_NOINLINE static void fill(entry& c, const attr_slot& a) noexcept {
      const slot_type t = a.type();
      c.word = a.key;
      c.f = field_of(a.key_name(), t == slot_type::static_str || t == slot_type::owned_str,
                     t == slot_type::int64, t == slot_type::float64);
      c.bits = bit(c.f) | (c.f != f_none && t == slot_type::owned_str ? owned_bit : 0);
    }
  };

  // Dispatches on the key's length first, then compares the rest as a constant-size block
  // (inlined: no library call per attribute).
  template <std::size_t N>
  static bool is(std::string_view k, const char (&name)[N]) noexcept {
    return std::memcmp(k.data(), name, N - 1) == 0;
  }
  static field field_of(std::string_view k, bool is_str, bool is_int, bool is_double) noexcept {
    switch (k.size()) {
      case 10: return is_str && is(k, "error.type") ? f_error_type : f_none;
      case 11: return is_int && is(k, "server.port") ? f_server_port : f_none;
      case 14: return is_str && is(k, "server.address") ? f_server_address : f_none;
      case 20:
        if (!is_str) return f_none;
        if (is(k, "gen_ai.provider.name")) return f_provider;
        return is(k, "gen_ai.request.model") ? f_request_model : f_none;
      case 21:
        if (!is_str) return f_none;
        if (is(k, "gen_ai.operation.name")) return f_operation;
        return is(k, "gen_ai.response.model") ? f_response_model : f_none;
      case 25: return is_int && is(k, "gen_ai.usage.input_tokens") ? f_input_tokens : f_none;
      case 26: return is_int && is(k, "gen_ai.usage.output_tokens") ? f_output_tokens : f_none;
      case 35:
        if (!is(k, "gen_ai.response.time_to_first_chunk")) return f_none;
        return is_int ? f_ttfc_int : is_double ? f_ttfc_double : f_none;
      default: return f_none;
    }
  }
  void set(field f, std::string_view str, std::int64_t i, double d) noexcept {
    switch (f) {
      case f_operation: operation = str; break;
      case f_provider: provider = str; break;
      case f_request_model: request_model = str; break;
      case f_response_model: response_model = str; break;
      case f_server_address: server_address = str; break;
      case f_error_type: error_type = str; break;
      case f_server_port: server_port = i; break;
      case f_input_tokens: input_tokens = i; break;
      case f_output_tokens: output_tokens = i; break;
      case f_ttfc_int: time_to_first_chunk = static_cast<double>(i); break;
      case f_ttfc_double: time_to_first_chunk = d; break;
      default: break;
    }
  }

  /// Reads them from a record (the last value of a key set twice wins).
  void read(const span_record& r, key_cache& cache) noexcept {
    for (std::uint8_t i = 0; i < r.n_attrs; ++i) {
      const attr_slot& a = r.attrs[i];
      const field f = cache.classify(a).f;
      switch (f) {
        case f_none: break;
        case f_server_port:
        case f_input_tokens:
        case f_output_tokens:
        case f_ttfc_int: set(f, {}, a.as_int(), 0); break;
        case f_ttfc_double: set(f, {}, 0, a.as_double()); break;
        default: set(f, a.as_string(), 0, 0); break;
      }
    }
    if (const span_ext* x = r.ext()) {
      for (const attribute& a : x->attributes) {
        if (const auto* s = std::get_if<std::string>(&a.value)) {
          set(field_of(a.key, true, false, false), *s, 0, 0);
        } else if (const auto* n = std::get_if<std::int64_t>(&a.value)) {
          set(field_of(a.key, false, true, false), {}, *n, 0);
        } else if (const auto* d = std::get_if<double>(&a.value)) {
          set(field_of(a.key, false, false, true), {}, 0, *d);
        }
      }
    }
  }
};

}  // namespace detail

/// The span-derived metrics. observe() runs on the collector thread; collect() and stats() may
/// run on any thread (a Prometheus scrape): one lock per observed batch.
class span_metrics {
 public:
  span_metrics(span_metrics_options opt, std::string service_name)
      : opt_(std::move(opt)),
        service_name_(std::move(service_name)),
        red_(metric_names::span_duration, "Duration of spans, per span name, kind and status", "s",
             opt_.duration_buckets, opt_.cardinality_limit),
        genai_duration_(metric_names::genai_operation_duration, "GenAI operation duration", "s",
                        genai_bounds(), opt_.cardinality_limit),
        genai_tokens_(metric_names::genai_token_usage, "Number of input and output tokens used",
                      "{token}",
                      std::vector<double>(metric_names::genai_token_buckets.begin(),
                                          metric_names::genai_token_buckets.end()),
                      opt_.cardinality_limit),
        genai_ttfc_(metric_names::genai_time_to_first_chunk,
                    "Time to receive the first chunk of a streamed response", "s", genai_bounds(),
                    opt_.cardinality_limit) {
    start_unix_ns_ = detail::unix_now_ns();
  }

  /// Observes every span of `spans` (clock: the batch's tick converter).
  void observe(std::span<const span_record> spans, const detail::clock_converter& clock) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const span_record& r : spans) observe_one(r, clock);
    spans_observed_.fetch_add(spans.size(), std::memory_order_relaxed);
    publish_counts();
  }

  /// The metrics now, every metric that has a point. With delta temporality each call returns
  /// what was observed since the previous one.
  std::vector<metric_data> collect() {
    std::lock_guard<std::mutex> lock(mu_);
    const std::uint64_t now = std::max(detail::unix_now_ns(), start_unix_ns_);
    const aggregation_temporality t = opt_.temporality == temporality_preference::cumulative
                                          ? aggregation_temporality::cumulative
                                          : aggregation_temporality::delta;
    std::vector<metric_data> out;
    red_.collect(out, now, t, metric_names::span_calls,
                 "Number of spans, per span name, kind and status", "{call}");
    genai_duration_.collect(out, now, t);
    genai_tokens_.collect(out, now, t);
    genai_ttfc_.collect(out, now, t);
    return out;
  }

  span_metrics_stats stats() const noexcept {
    span_metrics_stats s;
    s.spans_observed = spans_observed_.load(std::memory_order_relaxed);
    s.points_overflowed = overflowed_.load(std::memory_order_relaxed);
    s.series = series_.load(std::memory_order_relaxed);
    return s;
  }

  const span_metrics_options& options() const noexcept { return opt_; }

 private:
  static std::vector<double> genai_bounds() {
    return {metric_names::genai_duration_buckets.begin(),
            metric_names::genai_duration_buckets.end()};
  }

  /// The series of the four GenAI histograms for one attribute set.
  struct genai_series {
    std::uint32_t duration = detail::histogram_table::none, ttfc = detail::histogram_table::none,
                  input = detail::histogram_table::none, output = detail::histogram_table::none;
  };

  /// The attribute set of the last inference span whose GenAI strings were all static, one for
  /// spans with an error status and one for the others: the value words of its fields, which
  /// of the identity fields it set (0: no memo yet) and its entry.
  struct genai_memo {
    std::uint32_t present{0};
    std::uint32_t entry{0};
    std::uint64_t words[detail::genai_fields::n_fields]{};
  };

  AGENTRACE_DETAIL_ALWAYS_INLINE void observe_one(const span_record& r,
                                                  const detail::clock_converter& clock) {
    const std::int64_t ns =
        std::max<std::int64_t>(0, clock.duration_ns(r.start_ticks, r.end_ticks));
    const std::uint64_t end_ns = clock.to_unix_ns(r.start_ticks) + static_cast<std::uint64_t>(ns);
    const double seconds = static_cast<double>(ns) / 1e9;
    const bool error = r.status == status_code::error;
    const exemplar ex{end_ns, seconds, r.trace_id, r.span_id};

    // RED: the series of a span site and status is cached by the site's address, unless the
    // span was renamed at run time.
    const detail::span_ext* x = r.ext();
    const bool renamed = x && !x->name.empty();
    std::uint32_t i = detail::histogram_table::none;
    const auto site_key = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(r.site)) * 4 +
                          static_cast<std::uint64_t>(r.status);
    // A direct-mapped cache in front of the map: one load for a site seen before.
    site_slot& fast = site_fast_[(site_key * 0x9E3779B97F4A7C15ull) >> 56];
    if (!renamed && r.site) {
      if (fast.key == site_key) {
        i = fast.index;
      } else if (auto it = site_cache_.find(site_key); it != site_cache_.end()) {
        i = it->second;
        fast = {site_key, i};
      }
    }
    if (i == detail::histogram_table::none) {
      const std::string_view name = r.name();
      key_.assign(name);
      key_ += '\x1f';
      key_ += static_cast<char>('0' + static_cast<int>(r.kind()));
      key_ += static_cast<char>('0' + static_cast<int>(r.status));
      i = red_.series_for(
          key_,
          [&] {
            detail::owned_attributes a;
            a.reserve(4);
            a.emplace_back("service.name",
                           attr_value{std::in_place_type<std::string>, service_name_});
            a.emplace_back("span.name", attr_value{std::in_place_type<std::string>, name});
            a.emplace_back("span.kind", attr_value{std::in_place_type<std::string>,
                                                   detail::span_kind_text(r.kind())});
            a.emplace_back("status.code", attr_value{std::in_place_type<std::string>,
                                                     detail::status_code_text(r.status)});
            return a;
          },
          end_ns);
      if (!renamed && r.site) {
        site_cache_.emplace(site_key, i);
        fast = {site_key, i};
      }
    }
    const std::uint64_t error_bit = detail::histogram_table::error_bit(error);
    red_.record(i, seconds, ex, error_bit);

    // GenAI: spans with gen_ai.operation.name. The inline slots are classified in one pass (one
    // cache probe each), which also gathers the value word of each field (the last slot that
    // sets it wins). A span without the operation key and without extension attributes is done
    // after it.
    if (r.n_attrs == 0 && !x) return;
    using F = detail::genai_fields;
    const bool ext_attrs = x && !x->attributes.empty();
    genai_memo& memo = memo_[error ? 1 : 0];
    std::uint64_t words[F::n_fields];  // a field's word is read only when the field is present
    std::uint32_t present = 0;
    for (std::uint8_t k = 0; k < r.n_attrs; ++k) {
      const auto& c = genai_keys_.classify(r.attrs[k]);
      words[c.f] = r.attrs[k].value;
      present |= c.bits;
    }
    if ((present & F::bit(F::f_operation)) == 0 && !ext_attrs) return;

    // When every GenAI string is static, the same value words name the same attribute set:
    // the set of the previous inference span is recognised by comparing the words of the
    // fields it sets.
    const bool by_words = !ext_attrs && (present & F::owned_bit) == 0;
    const std::uint32_t identity = present & F::identity_bits;
    std::uint64_t differs = (identity ^ memo.present) | static_cast<std::uint64_t>(!by_words);
    for (std::uint32_t m = identity; m != 0; m &= m - 1) {
      const int f = std::countr_zero(m);
      differs |= words[f] ^ memo.words[f];
    }
    if (differs == 0) {
      const genai_series gs = genai_entries_[memo.entry].series;
      const std::int64_t in = (present & F::bit(F::f_input_tokens))
                                  ? static_cast<std::int64_t>(words[F::f_input_tokens])
                                  : -1;
      const std::int64_t out = (present & F::bit(F::f_output_tokens))
                                   ? static_cast<std::int64_t>(words[F::f_output_tokens])
                                   : -1;
      double ttfc = -1;
      if (present & F::bit(F::f_ttfc_int)) {
        ttfc = static_cast<double>(static_cast<std::int64_t>(words[F::f_ttfc_int]));
        if (present & F::bit(F::f_ttfc_double)) differs = 1;  // both: which came last decides
      } else if (present & F::bit(F::f_ttfc_double)) {
        ttfc = std::bit_cast<double>(words[F::f_ttfc_double]);
      }
      if (differs == 0 && complete(gs, ttfc, in, out)) {
        record_genai(gs, seconds, ttfc, in, out, ex, error_bit);
        return;
      }
    }
    observe_genai(r, memo, present, by_words, error, seconds, ex, end_ns);
  }

  /// An inference span that is not the previous one's attribute set (or whose strings are
  /// owned): its GenAI attributes read by name and its series looked up. Out of line: the
  /// common path above keeps fewer registers to save.
  AGENTRACE_DETAIL_NOINLINE void observe_genai(const span_record& r, genai_memo& memo,
                                               std::uint32_t present, bool by_words, bool error,
                                               double seconds, const exemplar& ex,
                                               std::uint64_t end_ns) {
    using F = detail::genai_fields;
    const std::uint64_t error_bit = detail::histogram_table::error_bit(error);
    detail::genai_fields g;
    g.read(r, genai_keys_);
    if (g.operation.empty()) return;
    std::string_view error_type = g.error_type;
    if (error && error_type.empty()) error_type = "_OTHER";
    // One lookup finds the series of all four histograms for these attributes: a table keyed
    // by a hash of the values, each hit checked against the values it was made for.
    // Inference spans in a row mostly share their attributes: the last set found is tried first.
    genai_entry* found = nullptr;
    std::uint64_t h = 0;
    if (last_genai_ < genai_entries_.size() && genai_entries_[last_genai_].matches(g, error_type)) {
      found = &genai_entries_[last_genai_];
    } else {
      h = genai_hash(g, error_type) & genai_hash_mask_;
      found = find_genai(h, g, error_type);
      if (found) last_genai_ = static_cast<std::size_t>(found - genai_entries_.data());
    }
    genai_series local;
    genai_series& gs = found ? found->series : local;
    if (!complete(gs, g.time_to_first_chunk, g.input_tokens, g.output_tokens))
      make_genai_series(gs, g, error_type, end_ns);
    record_genai(gs, seconds, g.time_to_first_chunk, g.input_tokens, g.output_tokens, ex,
                 error_bit);
    // Keys past the cardinality limit are not remembered (they all overflow).
    if (!found && !genai_duration_.is_overflow(gs.duration)) {
      add_genai(h, g, error_type, gs);
      found = &genai_entries_.back();
    }
    if (found && by_words) {
      // The value word of each field, the last slot that sets it winning (the fields it does
      // not set: 0).
      memo.present = present & F::identity_bits;
      std::fill(std::begin(memo.words), std::end(memo.words), 0);
      for (std::uint8_t k = 0; k < r.n_attrs; ++k)
        memo.words[genai_keys_.classify(r.attrs[k]).f] = r.attrs[k].value;
      memo.entry = static_cast<std::uint32_t>(found - genai_entries_.data());
    }
  }

  static bool complete(const genai_series& gs, double ttfc, std::int64_t in,
                       std::int64_t out) noexcept {
    return gs.duration != detail::histogram_table::none &&
           (ttfc < 0 || gs.ttfc != detail::histogram_table::none) &&
           (in < 0 || gs.input != detail::histogram_table::none) &&
           (out < 0 || gs.output != detail::histogram_table::none);
  }

  /// Records an inference span in its GenAI series (made before).
  AGENTRACE_DETAIL_ALWAYS_INLINE void record_genai(const genai_series& gs, double seconds,
                                                   double ttfc, std::int64_t in, std::int64_t out,
                                                   const exemplar& ex, std::uint64_t error) {
    genai_duration_.record(gs.duration, seconds, ex, error);
    if (ttfc >= 0) genai_ttfc_.record(gs.ttfc, ttfc, ex, error);
    if (in >= 0) genai_tokens_.record(gs.input, static_cast<double>(in), ex, error);
    if (out >= 0) genai_tokens_.record(gs.output, static_cast<double>(out), ex, error);
  }

  /// Makes the series of `g` that `gs` lacks, under the text key the histogram tables index.
  AGENTRACE_DETAIL_NOINLINE void make_genai_series(genai_series& gs, const detail::genai_fields& g,
                                                   std::string_view error_type,
                                                   std::uint64_t end_ns) {
    auto attributes = [&](std::string_view token_type) {
      detail::owned_attributes a;
      auto str = [&a](std::string_view k, std::string_view v) {
        if (!v.empty())
          a.emplace_back(std::string(k), attr_value{std::in_place_type<std::string>, v});
      };
      str("gen_ai.operation.name", g.operation);
      str("gen_ai.provider.name", g.provider);
      str("gen_ai.request.model", g.request_model);
      str("gen_ai.response.model", g.response_model);
      str("server.address", g.server_address);
      if (g.server_port >= 0) a.emplace_back("server.port", attr_value{g.server_port});
      str("error.type", error_type);
      str("gen_ai.token.type", token_type);
      return a;
    };
    genai_text_key(g, error_type);
    if (gs.duration == detail::histogram_table::none)
      gs.duration = genai_duration_.series_for(
          key_, [&] { return attributes({}); }, end_ns);
    if (g.time_to_first_chunk >= 0 && gs.ttfc == detail::histogram_table::none)
      gs.ttfc = genai_ttfc_.series_for(
          key_, [&] { return attributes({}); }, end_ns);
    const std::size_t base = key_.size();
    auto tokens = [&](std::uint32_t& idx, std::string_view type, std::int64_t n) {
      if (n < 0 || idx != detail::histogram_table::none) return;
      key_ += type;
      idx = genai_tokens_.series_for(
          key_, [&] { return attributes(type); }, end_ns);
      key_.resize(base);
    };
    tokens(gs.input, "input", g.input_tokens);
    tokens(gs.output, "output", g.output_tokens);
  }

  /// The GenAI attribute values a set of series was made for, and those series.
  struct genai_entry {
    std::uint64_t hash{0};
    std::string operation, provider, request_model, response_model, server_address, error_type;
    std::int64_t server_port{-1};
    genai_series series;

    bool matches(const detail::genai_fields& g, std::string_view error) const noexcept {
      using detail::metric_bytes_equal;
      return server_port == g.server_port && metric_bytes_equal(operation, g.operation) &&
             metric_bytes_equal(request_model, g.request_model) &&
             metric_bytes_equal(response_model, g.response_model) &&
             metric_bytes_equal(provider, g.provider) &&
             metric_bytes_equal(server_address, g.server_address) &&
             metric_bytes_equal(error_type, error);
    }
  };

  static std::uint64_t genai_hash(const detail::genai_fields& g, std::string_view error) noexcept {
    std::uint64_t h = detail::metric_hash_bytes(0xCBF29CE484222325ull, g.operation);
    h = detail::metric_hash_bytes(h, g.provider);
    h = detail::metric_hash_bytes(h, g.request_model);
    h = detail::metric_hash_bytes(h, g.response_model);
    h = detail::metric_hash_bytes(h, g.server_address);
    h = detail::metric_hash_bytes(h, error);
    return detail::metric_hash_mix(h ^ static_cast<std::uint64_t>(g.server_port));
  }

  genai_entry* find_genai(std::uint64_t h, const detail::genai_fields& g,
                          std::string_view error) noexcept {
    if (genai_table_.empty()) return nullptr;
    const std::size_t mask = genai_table_.size() - 1;
    for (std::size_t i = static_cast<std::size_t>(h) & mask;; i = (i + 1) & mask) {
      const std::uint32_t e = genai_table_[i];
      if (e == 0) return nullptr;
      genai_entry& x = genai_entries_[e - 1];
      if (x.hash == h && x.matches(g, error)) return &x;
    }
  }

  void add_genai(std::uint64_t h, const detail::genai_fields& g, std::string_view error,
                 const genai_series& gs) {
    genai_entry x;
    x.hash = h;
    x.operation = g.operation;
    x.provider = g.provider;
    x.request_model = g.request_model;
    x.response_model = g.response_model;
    x.server_address = g.server_address;
    x.error_type = error;
    x.server_port = g.server_port;
    x.series = gs;
    genai_entries_.push_back(std::move(x));
    last_genai_ = genai_entries_.size() - 1;
    if (2 * genai_entries_.size() > genai_table_.size()) {
      // A power of two: slots are picked by masking the hash.
      genai_table_.assign(std::bit_ceil(std::max<std::size_t>(16, 4 * genai_entries_.size())), 0);
      for (std::uint32_t e = 0; e < genai_entries_.size(); ++e) place_genai(e);
    } else {
      place_genai(static_cast<std::uint32_t>(genai_entries_.size() - 1));
    }
  }
  void place_genai(std::uint32_t e) noexcept {
    const std::size_t mask = genai_table_.size() - 1;
    std::size_t i = static_cast<std::size_t>(genai_entries_[e].hash) & mask;
    while (genai_table_[i] != 0) i = (i + 1) & mask;
    genai_table_[i] = e + 1;
  }

  /// The text key of these attributes in the histogram tables (in key_).
  void genai_text_key(const detail::genai_fields& g, std::string_view error) {
    auto append = [this](std::string_view v) {
      key_ += v;
      key_ += '\x1f';
    };
    key_.clear();
    append(g.operation);
    append(g.provider);
    append(g.request_model);
    append(g.response_model);
    append(g.server_address);
    if (g.server_port >= 0) {
      const fmt::format_int port(g.server_port);
      key_.append(port.data(), port.size());
    }
    key_ += '\x1f';
    append(error);
  }

  void publish_counts() {
    overflowed_.store(red_.overflowed() + genai_duration_.overflowed() +
                          genai_tokens_.overflowed() + genai_ttfc_.overflowed(),
                      std::memory_order_relaxed);
    series_.store(red_.series_count() + genai_duration_.series_count() +
                      genai_tokens_.series_count() + genai_ttfc_.series_count(),
                  std::memory_order_relaxed);
  }

  span_metrics_options opt_;
  std::string service_name_;
  std::mutex mu_;
  std::uint64_t start_unix_ns_{0};
  detail::histogram_table red_, genai_duration_, genai_tokens_, genai_ttfc_;
  struct site_slot {
    std::uint64_t key = 0;
    std::uint32_t index = 0;
  };
  site_slot site_fast_[256]{};
  std::unordered_map<std::uint64_t, std::uint32_t> site_cache_;
  friend struct detail::metrics_test_access;
  std::uint64_t genai_hash_mask_{~std::uint64_t{0}};  // all bits; tests force collisions with fewer
  detail::genai_fields::key_cache genai_keys_;
  std::vector<genai_entry> genai_entries_;
  std::size_t last_genai_{0};  // the entry found last (none while genai_entries_ is empty)
  genai_memo memo_[2];
  std::vector<std::uint32_t>
      genai_table_;  // open addressing: entry + 1, 0 empty; half full at most
  std::string key_;
  std::atomic<std::uint64_t> spans_observed_{0}, overflowed_{0}, series_{0};
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

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
// amalgamated: include/agentrace/coro.hpp
// SPDX-License-Identifier: MIT
// C++20 coroutines whose context follows the coroutine, not the thread: agentrace::task<T>, and a
// promise mixin / awaitable adapter that gives users' own coroutine types the same behaviour.
//
// The rule: a coroutine owns a context chain (context.hpp) whose context is captured where it is
// created (the span current at the call). While the coroutine runs, its chain is the thread's
// current chain; when it suspends, the thread gets back the chain it had just before the
// coroutine ran (or resumed); when it resumes, on whichever thread, its own chain is installed
// again. Spans that end out of order in the coroutine are noted on its own chain, so they are
// skipped wherever it resumes. Spans begun in the
// coroutine are therefore children of the right span, and a span held across `co_await` ends
// (with its full duration) on the thread that resumes it.
//
//     before the coroutine runs      inside it                     after it suspends
//     thread ctx = X          enter: saved = X, ctx = own  leave: own = ctx, ctx = saved (= X)
//
// Three hooks make this: the initial suspend point (enter when the body starts), every co_await
// (leave before suspending, enter after resuming: await_transform), and the final suspend point
// (leave). A task destroyed while suspended enters its chain to destroy its locals (a span it held
// ends then, on the destroying thread, without touching that thread's context).

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <semaphore>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>


// enter() and leave() run inside coroutine bodies, right after a resumption and right before a
// suspension. clang (before 17 at least: llvm-project#47179, #63022) may reuse a thread_local's
// address computed before a suspension after the coroutine resumed on another thread; out of line,
// the address is computed afresh on every call.
#if defined(__clang__)
#define AGENTRACE_DETAIL_CORO_TLS AGENTRACE_DETAIL_NOINLINE
#else
#define AGENTRACE_DETAIL_CORO_TLS
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

namespace detail {

/// The awaiter `co_await a` uses: operator co_await (member or free) if there is one, else `a`.
/// Returns a reference to `a` itself when it is the awaiter, so nothing is copied or moved.
template <class A>
decltype(auto) get_awaiter(A&& a) {
  if constexpr (requires { static_cast<A&&>(a).operator co_await(); })
    return static_cast<A&&>(a).operator co_await();
  else if constexpr (requires { operator co_await(static_cast<A&&>(a)); })
    return operator co_await(static_cast<A&&>(a));
  else
    return static_cast<A&&>(a);
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

}  // namespace detail

/// The context of one coroutine. Embed it in a promise (or derive from context_promise, which does
/// it for you) and route the coroutine's suspend points through wrap_initial, wrap and wrap_final.
class coroutine_context {
 public:
  /// Captures the thread's current context: a coroutine's context is the one current where it
  /// was called (its promise is constructed there).
  coroutine_context() noexcept : own_chain_(detail::new_chain_id()) {
    detail::assign_context(own_, detail::tls.current);
    detail::assign_context(saved_, own_);
  }
  ~coroutine_context() { delete own_ended_; }
  coroutine_context(const coroutine_context&) = delete;
  coroutine_context& operator=(const coroutine_context&) = delete;

  /// The coroutine's own context: current while it runs, kept here while it is suspended.
  const span_context& context() const noexcept { return own_; }
  /// While the coroutine runs (between enter and leave): what the thread had before.
  const span_context& saved() const noexcept { return saved_; }
  std::uint64_t saved_chain() const noexcept { return saved_chain_; }
  detail::ended_set* saved_ended() const noexcept { return saved_ended_; }
  /// While the coroutine runs: its set of ended spans is the thread's (tls.ended), not ours.
  void own_ended_released() noexcept { own_ended_ = nullptr; }

  /// The coroutine (re)starts running on this thread: remember the thread's context, install ours.
  AGENTRACE_DETAIL_CORO_TLS void enter() noexcept {
    detail::thread_locals& t = detail::tls;
    detail::assign_context(saved_, t.current);
    detail::assign_context(t.current, own_);
    saved_chain_ = detail::current_chain();
    t.chain = own_chain_;
    saved_ended_ = std::exchange(t.ended, own_ended_);
  }
  /// The coroutine stops running on this thread: keep our context, give the thread back its own.
  AGENTRACE_DETAIL_CORO_TLS void leave() noexcept {
    detail::thread_locals& t = detail::tls;
    detail::assign_context(own_, t.current);
    detail::assign_context(t.current, saved_);
    t.chain = saved_chain_;
    own_ended_ = std::exchange(t.ended, saved_ended_);
  }

  template <class Aw>
  class awaiter;
  template <class Aw>
  class initial_awaiter;
  template <class Aw>
  class final_awaiter;

  /// Adapts an awaitable so that the coroutine leaves its context when it suspends on it and
  /// enters it again when it resumes (on any thread). For await_transform and yield_value.
  /// An rvalue is moved into the adapter, an lvalue is referred to.
  template <class A>
  auto wrap(A&& a) {
    using Aw = detail::awaiter_t<A&&>;
    using stored = std::conditional_t<std::is_lvalue_reference_v<Aw>, Aw, std::remove_cvref_t<Aw>>;
    return awaiter<stored>(*this, detail::get_awaiter(std::forward<A>(a)));
  }
  /// Adapts the awaiter initial_suspend() returns: the body starts under the coroutine's context.
  template <class A>
  auto wrap_initial(A&& a) noexcept {
    return initial_awaiter<std::remove_cvref_t<A>>(*this, std::forward<A>(a));
  }
  /// Adapts the awaiter final_suspend() returns: the thread gets its context back before the
  /// coroutine's continuation (if any) runs.
  template <class A>
  auto wrap_final(A&& a) noexcept {
    return final_awaiter<std::remove_cvref_t<A>>(*this, std::forward<A>(a));
  }

  /// await_transform's adapter: keeps a reference to an operand that is its own awaiter (it lives
  /// until the end of the full expression, across the suspension), never copies or moves it.
  template <class A>
  auto wrap_in_place(A&& a) {
    using Aw = detail::awaiter_t<A&&>;
    return awaiter<Aw>(*this, detail::get_awaiter(std::forward<A>(a)));
  }

 private:
  span_context own_;
  span_context saved_;
  std::uint64_t own_chain_;
  std::uint64_t saved_chain_{0};
  detail::ended_set* own_ended_{nullptr};  // owned; spans of this coroutine that ended out of order
  detail::ended_set* saved_ended_{nullptr};
};

/// Leaves on suspension, enters on resumption; forwards everything else to the wrapped awaiter.
/// `Aw` is a value or a reference type.
template <class Aw>
class coroutine_context::awaiter {
 public:
  template <class A>
  awaiter(coroutine_context& c, A&& a) : ctx_(&c), aw_(std::forward<A>(a)) {}

  bool await_ready() noexcept(noexcept(std::declval<Aw&>().await_ready())) {
    return aw_.await_ready();
  }

  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) noexcept(
      noexcept(std::declval<Aw&>().await_suspend(h))) {
    // Leave *before* handing the coroutine over: once await_suspend publishes `h`, another thread
    // may resume it (or destroy it) before this call returns, so nothing below may touch *this
    // or the frame after the inner await_suspend has been called.
    ctx_->leave();
    left_ = true;
    if constexpr (noexcept(aw_.await_suspend(h))) {
      return aw_.await_suspend(h);
    } else {
      try {
        return aw_.await_suspend(h);
      } catch (...) {  // the coroutine resumes at once with the exception: it runs again here
        left_ = false;
        ctx_->enter();
        throw;
      }
    }
  }

  decltype(auto) await_resume() noexcept(noexcept(std::declval<Aw&>().await_resume())) {
    if (left_) ctx_->enter();
    return aw_.await_resume();
  }

 private:
  coroutine_context* ctx_;
  Aw aw_;
  bool left_{false};
};

/// The body starts right after this awaiter's await_resume, whether it suspended or not.
template <class Aw>
class coroutine_context::initial_awaiter {
 public:
  template <class A>
  initial_awaiter(coroutine_context& c, A&& a) noexcept : ctx_(&c), aw_(std::forward<A>(a)) {}
  bool await_ready() noexcept(noexcept(std::declval<Aw&>().await_ready())) {
    return aw_.await_ready();
  }
  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) noexcept(
      noexcept(std::declval<Aw&>().await_suspend(h))) {
    return aw_.await_suspend(h);
  }
  decltype(auto) await_resume() noexcept(noexcept(std::declval<Aw&>().await_resume())) {
    ctx_->enter();
    return aw_.await_resume();
  }

 private:
  coroutine_context* ctx_;
  Aw aw_;
};

/// The body has finished (spans in it have ended): leave before anything else can run.
template <class Aw>
class coroutine_context::final_awaiter {
 public:
  template <class A>
  final_awaiter(coroutine_context& c, A&& a) noexcept : ctx_(&c), aw_(std::forward<A>(a)) {}
  bool await_ready() noexcept {
    ctx_->leave();
    return aw_.await_ready();
  }
  template <class P>
  auto await_suspend(std::coroutine_handle<P> h) noexcept {
    return aw_.await_suspend(h);
  }
  decltype(auto) await_resume() noexcept { return aw_.await_resume(); }

 private:
  coroutine_context* ctx_;
  Aw aw_;
};

namespace detail {
template <class T>
inline constexpr bool is_initial_awaiter = false;
template <class Aw>
inline constexpr bool is_initial_awaiter<coroutine_context::initial_awaiter<Aw>> = true;
template <class T>
inline constexpr bool is_final_awaiter = false;
template <class Aw>
inline constexpr bool is_final_awaiter<coroutine_context::final_awaiter<Aw>> = true;
}  // namespace detail

/// Promise mixin: `struct promise_type : agentrace::context_promise<promise_type> { ... };` gives
/// a coroutine type of your own the context behaviour of agentrace::task. It provides
/// await_transform (every `co_await` in the coroutine goes through the adapter) and lazy
/// initial_suspend / final_suspend. If your promise declares initial_suspend or final_suspend,
/// return `wrap_initial(your_awaiter)` / `wrap_final(your_awaiter)` from them (checked at compile
/// time); if it has an await_transform of its own, return `wrap_in_place(transformed)` from it; a
/// yield_value returns `wrap(its_awaiter)`.
template <class Derived>
class context_promise : public coroutine_context {
 public:
  context_promise() noexcept {
    static_assert(
        detail::is_initial_awaiter<decltype(std::declval<Derived&>().initial_suspend())>,
        "agentrace::context_promise: return wrap_initial(awaiter) from initial_suspend()");
    static_assert(detail::is_final_awaiter<decltype(std::declval<Derived&>().final_suspend())>,
                  "agentrace::context_promise: return wrap_final(awaiter) from final_suspend()");
  }

  template <class A>
  auto await_transform(A&& a) {
    return wrap_in_place(std::forward<A>(a));
  }
  auto initial_suspend() noexcept { return wrap_initial(std::suspend_always{}); }
  auto final_suspend() noexcept { return wrap_final(std::suspend_always{}); }
};

template <class T = void>
class task;

namespace detail {

template <class T, class Promise>
class task_promise_base : public context_promise<Promise> {
 public:
  template <class U>
    requires std::convertible_to<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    result_.template emplace<1>(std::forward<U>(v));
  }
  void unhandled_exception() noexcept { result_.template emplace<2>(std::current_exception()); }
  T& result() & {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    return std::get<1>(result_);
  }
  T result() && {
    if (result_.index() == 2) std::rethrow_exception(std::get<2>(result_));
    return std::move(std::get<1>(result_));
  }

 private:
  std::variant<std::monostate, T, std::exception_ptr> result_;
};

template <class Promise>
class task_promise_base<void, Promise> : public context_promise<Promise> {
 public:
  void return_void() noexcept {}
  void unhandled_exception() noexcept { error_ = std::current_exception(); }
  void result() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};

}  // namespace detail

/// A lazy coroutine task: starts when awaited, resumes its awaiter by symmetric transfer when it
/// finishes, rethrows its exception in the awaiter. Its context is the one current where it was
/// called; spans in it nest under that context whichever threads it runs on.
///
///     agentrace::task<std::string> answer(std::string q) {
///       AGENTRACE_SPAN(s, "agent.answer");
///       auto docs = co_await retrieve(q);      // may resume on another thread
///       co_return co_await llm.chat(q, docs);  // s ends where the coroutine finishes
///     }
template <class T>
class [[nodiscard]] task {
 public:
  struct promise_type : detail::task_promise_base<T, promise_type> {
    task get_return_object() noexcept {
      return task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    auto final_suspend() noexcept { return this->wrap_final(final_transfer{}); }
    std::coroutine_handle<> continuation_{std::noop_coroutine()};
  };
  using handle_type = std::coroutine_handle<promise_type>;

  task() noexcept = default;
  task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      destroy();
      h_ = std::exchange(o.h_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  /// Destroys the coroutine, also when it is suspended (spans it holds end then, on its chain).
  ~task() { destroy(); }

  bool valid() const noexcept { return static_cast<bool>(h_); }
  bool done() const noexcept { return h_ && h_.done(); }

  /// `co_await t`: runs the task (if not already done); the result is a reference into the task.
  auto operator co_await() & noexcept { return awaiter<false>{h_}; }
  /// `co_await f()` / `co_await std::move(t)`: the result is moved out.
  auto operator co_await() && noexcept { return awaiter<true>{h_}; }

 private:
  explicit task(handle_type h) noexcept : h_(h) {}

  // A suspended coroutine's spans close their scopes on its own chain (entered for the
  // destruction); a finished one has none left.
  void destroy() noexcept {
    if (!h_) return;
    if (!h_.done()) {
      auto& p = h_.promise();
      p.enter();
      p.own_ended_released();  // the chain's set is tls.ended now, deleted below
      detail::thread_locals& t = detail::tls;
      const span_context saved = p.saved();
      const std::uint64_t saved_chain = p.saved_chain();
      detail::ended_set* saved_ended = p.saved_ended();
      h_.destroy();
      delete t.ended;
      detail::assign_context(t.current, saved);
      t.chain = saved_chain;
      t.ended = saved_ended;
    } else {
      h_.destroy();
    }
    h_ = {};
  }

  struct final_transfer {
    bool await_ready() noexcept { return false; }
    std::coroutine_handle<> await_suspend(handle_type h) noexcept {
      return h.promise().continuation_;
    }
    void await_resume() noexcept {}
  };

  template <bool Move>
  struct awaiter {
    handle_type h;
    bool await_ready() const noexcept { return !h || h.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      h.promise().continuation_ = awaiting;
      return h;
    }
    decltype(auto) await_resume() {
      if (!h) throw std::logic_error("agentrace::task: awaiting an empty task");
      if constexpr (Move)
        return std::move(h.promise()).result();
      else
        return h.promise().result();
    }
  };

  handle_type h_{};
};

namespace detail {
// The coroutine sync_wait uses to await a task from ordinary code. It has no context of its own:
// it only hands the task's result to the waiting thread.
struct sync_wait_driver {
  struct promise_type {
    sync_wait_driver get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};
}  // namespace detail

/// Runs `t` from ordinary (non-coroutine) code and blocks until it finishes, wherever it resumes;
/// returns its result or rethrows its exception. The calling thread's context is what the task
/// returns to; the task itself runs under the context current where it was created.
template <class T>
T sync_wait(task<T> t) {
  std::binary_semaphore done{0};
  std::conditional_t<std::is_void_v<T>, std::monostate, std::optional<T>> value;
  std::exception_ptr error;
  [](task<T>& t, std::binary_semaphore& done, decltype(value)& value,
     std::exception_ptr& error) -> detail::sync_wait_driver {
    try {
      if constexpr (std::is_void_v<T>)
        co_await std::move(t);
      else
        value.emplace(co_await std::move(t));
    } catch (...) {
      error = std::current_exception();
    }
    done.release();  // the waiting thread may return (and destroy `t`, `value`) from here on
  }(t, done, value, error);
  done.acquire();
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) return std::move(*value);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/exporters/console.hpp
// SPDX-License-Identifier: MIT
// Console exporter: one indented tree per trace with durations, status and attributes; errors
// highlighted. Traces are assembled first (see detail/trace_assembler.hpp) and printed once
// their local root has ended and the wait for stragglers has passed (checked on each batch and on
// the collector's idle tick, exporter::on_idle).

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

// amalgamated: include/agentrace/detail/trace_assembler.hpp
// SPDX-License-Identifier: MIT
// Assembles finished spans into whole traces. Spans arrive child-first (a parent ends after its
// children), so a trace is held until its local root (no parent, or a remote parent) has ended,
// plus a short wait for stragglers (children that outlive their parent). Bounded: when too many
// traces or spans are held, the oldest trace is released incomplete and counted. The same
// assembler holds span_data (console, in-memory store) and span_records (the tail sampler).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

// amalgamated: include/agentrace/detail/trace_hash.hpp
// SPDX-License-Identifier: MIT
// A 64-bit digest of a trace id, for hash tables keyed by trace (the trace assembler, the tail
// sampler's decisions, the eval statistics). Trace ids from other processes need not be random
// (a remote parent's), so both words are mixed.

#include <cstdint>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

inline std::uint64_t mix64(std::uint64_t x) noexcept {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
// A 64-bit digest of a trace id; different traces collide with probability ~2^-64.
inline std::uint64_t trace_key(const trace_id& t) noexcept { return mix64(t.hi ^ mix64(t.lo)); }

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/detail/trace_tree.hpp
// SPDX-License-Identifier: MIT
// The call tree of one trace's spans (children per span, roots first, parent cycles broken):
// what the console exporter prints and what eval's read-back traces link. Over span_data only.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// Children of each span, for printing trees: index lists, roots first (spans whose parent is
/// not in the trace), each level in start-time order.
struct trace_tree {
  std::vector<std::size_t> roots;
  std::vector<std::vector<std::size_t>> children;

  explicit trace_tree(const std::vector<span_data>& spans) : children(spans.size()) {
    std::map<std::uint64_t, std::size_t> by_id;
    for (std::size_t i = 0; i < spans.size(); ++i) by_id.emplace(spans[i].span_id, i);
    for (std::size_t i = 0; i < spans.size(); ++i) {
      auto it = spans[i].parent_span_id ? by_id.find(spans[i].parent_span_id) : by_id.end();
      if (it == by_id.end() || it->second == i)
        roots.push_back(i);
      else
        children[it->second].push_back(i);
    }
    auto by_start = [&](std::size_t a, std::size_t b) {
      return spans[a].start_unix_ns < spans[b].start_unix_ns;
    };
    break_cycles(spans, by_start);
    std::sort(roots.begin(), roots.end(), by_start);
    for (auto& c : children) std::sort(c.begin(), c.end(), by_start);
  }

  /// Spans made roots because their chain of parents loops back to them (bad input: a span
  /// that is its own ancestor), earliest start first.
  std::vector<std::size_t> cycle_roots;

 private:
  // Spans no root reaches are on (or under) a parent cycle: one span of each cycle becomes a
  // root (the cycle's first span met going up from the earliest unreached span), so every span
  // stays in the tree.
  template <class Less>
  void break_cycles(const std::vector<span_data>& spans, Less by_start) {
    std::vector<char> reached(spans.size(), 0);
    std::vector<std::size_t> stack;
    auto mark = [&](std::size_t from) {
      stack.push_back(from);
      while (!stack.empty()) {
        const std::size_t i = stack.back();
        stack.pop_back();
        if (reached[i]) continue;
        reached[i] = 1;
        for (std::size_t c : children[i]) stack.push_back(c);
      }
    };
    for (std::size_t r : roots) mark(r);
    std::vector<std::size_t> left;
    for (std::size_t i = 0; i < spans.size(); ++i)
      if (!reached[i]) left.push_back(i);
    if (left.empty()) return;
    std::sort(left.begin(), left.end(), by_start);
    std::map<std::uint64_t, std::size_t> by_id;
    for (std::size_t i = 0; i < spans.size(); ++i) by_id.emplace(spans[i].span_id, i);
    std::vector<char> walked(spans.size(), 0);
    for (std::size_t i : left) {
      if (reached[i]) continue;
      // Up the parents to the first span seen twice: it is on the cycle.
      std::vector<std::size_t> path;
      while (!walked[i]) {
        walked[i] = 1;
        path.push_back(i);
        i = by_id.at(spans[i].parent_span_id);
      }
      for (std::size_t k : path) walked[k] = 0;
      auto& siblings = children[by_id.at(spans[i].parent_span_id)];
      siblings.erase(std::find(siblings.begin(), siblings.end(), i));
      roots.push_back(i);
      cycle_roots.push_back(i);
      mark(i);
    }
  }
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// How spans are gathered into whole traces (console exporter, eval::trace_store): how long to
/// wait for stragglers after a trace's local root ended, and the bounds that release a trace
/// early (marked incomplete).
struct assembly_options {
  std::chrono::milliseconds straggler_wait{200};
  std::chrono::milliseconds max_wait{30000};  // a trace whose root never ends is released then
  std::size_t max_traces{1024};
  std::size_t max_spans{65536};
};

}  // namespace agentrace

namespace agentrace::detail {

/// One assembled trace, spans in arrival order.
template <class Span>
struct basic_assembled_trace {
  trace_id id{};
  std::vector<Span> spans;
  bool complete{true};  // false: released by a bound before its local root ended
};

/// Gathers spans of any type with trace_id, parent_span_id and parent_remote members.
template <class Span>
class basic_trace_assembler {
 public:
  using assembled_trace = basic_assembled_trace<Span>;
  using clock = std::chrono::steady_clock;
  explicit basic_trace_assembler(assembly_options o = {}) : opt_(o) {}

  /// Adds a span; returns traces the bounds forced out (incomplete).
  std::vector<assembled_trace> add(Span&& s, clock::time_point now = clock::now()) {
    const bool local_root = s.parent_span_id == 0 || s.parent_remote;
    const trace_key k = key(s.trace_id);
    // Spans of one trace tend to arrive together: the last trace added to is not looked up.
    entry* e = last_ != nullptr && last_key_ == k ? last_ : nullptr;
    if (!e) {
      auto [it, inserted] = pending_.try_emplace(k);
      e = &it->second;
      if (inserted) {
        e->first_seen = now;
        e->trace.id = s.trace_id;
        if (!spare_.empty()) {
          e->trace.spans = std::move(spare_.back());
          spare_.pop_back();
        } else {
          e->trace.spans.reserve(8);
        }
        order_.push_back(k);
      }
      last_ = e;
      last_key_ = k;
    }
    e->last_seen = now;
    if (local_root) e->root_seen = true;
    e->trace.spans.push_back(std::move(s));
    ++span_count_;
    next_due_ = std::min(next_due_, e->due(opt_));
    std::vector<assembled_trace> out;
    while ((pending_.size() > opt_.max_traces || span_count_ > opt_.max_spans) && !order_.empty()) {
      out.push_back(release(order_.front(), false));
      order_.pop_front();
      ++released_incomplete_;
    }
    return out;
  }

  /// Traces whose local root ended at least straggler_wait ago (or that waited max_wait);
  /// `ended`: every trace whose local root ended, without waiting for stragglers (a flush).
  std::vector<assembled_trace> take_ready(clock::time_point now = clock::now(),
                                          bool ended = false) {
    std::vector<assembled_trace> out;
    if (now < next_due_ && !ended) return out;  // nothing is due yet: no trace is looked at
    next_due_ = clock::time_point::max();
    std::size_t kept = 0;  // one pass: the traces still held move up in `order_`
    for (std::size_t i = 0; i < order_.size(); ++i) {
      const entry& e = pending_.find(order_[i])->second;
      const bool ready = e.root_seen && (ended || now - e.last_seen >= opt_.straggler_wait);
      const bool expired = now - e.first_seen >= opt_.max_wait;
      if (ready || expired) {
        if (!ready) ++released_incomplete_;
        out.push_back(release(order_[i], ready));
      } else {
        next_due_ = std::min(next_due_, e.due(opt_));
        order_[kept++] = order_[i];
      }
    }
    order_.resize(kept);
    return out;
  }

  /// The oldest trace held, released incomplete and counted (a bound its owner keeps, such as
  /// the tail sampler's bytes); nullopt when nothing is held.
  std::optional<assembled_trace> take_oldest() {
    if (order_.empty()) return std::nullopt;
    assembled_trace t = release(order_.front(), false);
    order_.pop_front();
    ++released_incomplete_;
    return t;
  }

  /// Everything held, complete or not (flush / shutdown).
  std::vector<assembled_trace> take_all() {
    std::vector<assembled_trace> out;
    for (const trace_key& k : order_) out.push_back(release(k, pending_.find(k)->second.root_seen));
    order_.clear();
    next_due_ = clock::time_point::max();
    return out;
  }

  /// Gives back the span vector of a trace taken out and emptied, whose storage the next new
  /// trace reuses (a few are kept, of a modest capacity).
  void recycle(std::vector<Span>&& spans) {
    if (spare_.size() >= max_spare || spans.capacity() == 0 || spans.capacity() > 64) return;
    spans.clear();
    spare_.push_back(std::move(spans));
  }

  /// No trace is due before this time (take_ready() before it returns nothing): the earliest
  /// time a held trace's local root ended plus straggler_wait, or it reaches max_wait; an
  /// earlier time when a span came after its trace's local root. time_point::max() when
  /// nothing is held.
  clock::time_point next_due() const noexcept { return next_due_; }

  std::size_t pending_traces() const noexcept { return pending_.size(); }
  std::size_t pending_spans() const noexcept { return span_count_; }
  std::uint64_t released_incomplete() const noexcept { return released_incomplete_; }

 private:
  using trace_key = std::pair<std::uint64_t, std::uint64_t>;
  struct key_hash {
    std::size_t operator()(const trace_key& k) const noexcept {
      return static_cast<std::size_t>(::agentrace::detail::trace_key(trace_id{k.first, k.second}));
    }
  };
  struct entry {
    assembled_trace trace;
    clock::time_point first_seen, last_seen;
    bool root_seen{false};
    clock::time_point due(const assembly_options& o) const noexcept {
      return root_seen ? later(last_seen, o.straggler_wait) : later(first_seen, o.max_wait);
    }
  };
  static trace_key key(const trace_id& t) { return {t.hi, t.lo}; }
  // t + d, at most time_point::max() (a wait of years set by the environment).
  static clock::time_point later(clock::time_point t, std::chrono::milliseconds d) noexcept {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::time_point::max() - t);
    if (d >= left) return clock::time_point::max();
    return t + std::chrono::duration_cast<clock::duration>(d);
  }

  // Takes the trace out of `pending_`; the caller removes `k` from `order_`.
  assembled_trace release(const trace_key& k, bool complete) {
    auto it = pending_.find(k);
    assembled_trace t = std::move(it->second.trace);
    t.complete = complete;
    span_count_ -= t.spans.size();
    if (last_ == &it->second) last_ = nullptr;
    pending_.erase(it);
    return t;
  }

  assembly_options opt_;
  std::unordered_map<trace_key, entry, key_hash> pending_;
  std::deque<trace_key> order_;  // arrival order of traces
  std::size_t span_count_{0};
  std::uint64_t released_incomplete_{0};
  clock::time_point next_due_{clock::time_point::max()};
  static constexpr std::size_t max_spare = 64;
  std::vector<std::vector<Span>> spare_;  // emptied span vectors to reuse (recycle())
  entry* last_{nullptr};  // the trace the last span was added to (nodes do not move)
  trace_key last_key_{};
};

using assembled_trace = basic_assembled_trace<span_data>;
using trace_assembler = basic_trace_assembler<span_data>;

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/otlp/logs.hpp
// SPDX-License-Identifier: MIT
// ExportLogsServiceRequest: one traversal for either writer (otlp/encoder.hpp).

#include <cstdint>

// amalgamated: include/agentrace/otlp/encoder.hpp
// SPDX-License-Identifier: MIT
// The OTLP encoder's two writers and the parts every signal shares (attributes, AnyValue,
// resource, instrumentation scope). A message is written by one traversal (otlp/traces.hpp,
// otlp/logs.hpp) that calls a writer once per field with the field's description
// (otlp/fields.hpp); json_writer turns that into OTLP/JSON, proto_writer into proto3 binary.
//
// Both write into a caller's fmt::memory_buffer, reused from batch to batch: after the buffer
// has grown to a batch's size nothing is allocated. proto_writer writes each embedded message's
// length in front of it after the message (back-patched): a one-byte placeholder (two for a
// span), moved when the length needs more bytes; lengths are minimal varints.

#include <fmt/format.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

// amalgamated: include/agentrace/otlp/fields.hpp
// SPDX-License-Identifier: MIT
// Every OTLP message field agentrace writes, in one place: its proto3 JSON name, field number
// and type (opentelemetry-proto v1.7.0). The encoder (otlp/encoder.hpp) writes a message by
// walking these descriptions once with either writer (OTLP/JSON or protobuf binary); the reader
// (eval/) looks fields up by the same JSON names. A new message (metrics) is a new namespace of
// descriptions here and a traversal in its own header; the writers stay as they are.

#include <cstdint>
#include <string_view>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::otlp {

/// How a field is written. Each type has one protobuf wire type and one OTLP/JSON form.
enum class field_type : std::uint8_t {
  message,         // embedded message: length-delimited / JSON object
  string,          // length-delimited UTF-8 / JSON string
  id,              // bytes (trace / span id): raw bytes / lowercase hex string
  uint32,          // varint / JSON number
  enum_,           // varint / JSON number (OTLP/JSON writes enums as integers)
  int64,           // varint (two's complement) / JSON string of decimal digits
  boolean,         // varint / true, false
  double_,         // fixed64 (IEEE 754) / JSON number ("NaN", "Infinity", "-Infinity")
  fixed64,         // fixed64 / JSON string of decimal digits (times)
  fixed32,         // fixed32 / JSON number (flags)
  sfixed64,        // fixed64 (two's complement) / JSON string of decimal digits (asInt)
  packed_fixed64,  // packed repeated fixed64 / JSON array of decimal strings (bucketCounts)
  packed_double,   // packed repeated double / JSON array of numbers (explicitBounds)
};

/// Protobuf wire types.
enum class wire_type : std::uint8_t { varint = 0, i64 = 1, len = 2, i32 = 5 };

constexpr wire_type wire_of(field_type t) noexcept {
  switch (t) {
    case field_type::message:
    case field_type::string:
    case field_type::id:
    case field_type::packed_fixed64:
    case field_type::packed_double: return wire_type::len;
    case field_type::double_:
    case field_type::fixed64:
    case field_type::sfixed64: return wire_type::i64;
    case field_type::fixed32: return wire_type::i32;
    default: return wire_type::varint;
  }
}

/// One field of one message.
struct field_desc {
  std::string_view json;  // lowerCamelCase name
  std::uint32_t number;
  field_type type;
  /// The protobuf tag (number << 3 | wire type); every tag here fits in two varint bytes.
  constexpr std::uint32_t tag() const noexcept {
    return (number << 3) | static_cast<std::uint32_t>(wire_of(type));
  }
};

using ft = field_type;

// collector/*/v1/*_service.proto
namespace export_trace_request {
inline constexpr field_desc resource_spans{"resourceSpans", 1, ft::message};
}
namespace export_metrics_request {
inline constexpr field_desc resource_metrics{"resourceMetrics", 1, ft::message};
}
namespace export_logs_request {
inline constexpr field_desc resource_logs{"resourceLogs", 1, ft::message};
}
namespace export_trace_response {
inline constexpr field_desc partial_success{"partialSuccess", 1, ft::message};
}
namespace export_trace_partial_success {
inline constexpr field_desc rejected_spans{"rejectedSpans", 1, ft::int64};
inline constexpr field_desc error_message{"errorMessage", 2, ft::string};
}  // namespace export_trace_partial_success
namespace export_logs_partial_success {
inline constexpr field_desc rejected_log_records{"rejectedLogRecords", 1, ft::int64};
inline constexpr field_desc error_message{"errorMessage", 2, ft::string};
}  // namespace export_logs_partial_success
/// google.rpc.Status, the body of an OTLP/HTTP protobuf error answer.
namespace rpc_status {
inline constexpr field_desc code{"code", 1, ft::int64};
inline constexpr field_desc message{"message", 2, ft::string};
}  // namespace rpc_status

// common/v1/common.proto, resource/v1/resource.proto
namespace any_value {
inline constexpr field_desc string_value{"stringValue", 1, ft::string};
inline constexpr field_desc bool_value{"boolValue", 2, ft::boolean};
inline constexpr field_desc int_value{"intValue", 3, ft::int64};
inline constexpr field_desc double_value{"doubleValue", 4, ft::double_};
inline constexpr field_desc array_value{"arrayValue", 5, ft::message};
inline constexpr field_desc kvlist_value{"kvlistValue", 6, ft::message};
inline constexpr field_desc bytes_value{"bytesValue", 7, ft::string};
}  // namespace any_value
namespace array_value {
inline constexpr field_desc values{"values", 1, ft::message};
}
namespace key_value {
inline constexpr field_desc key{"key", 1, ft::string};
inline constexpr field_desc value{"value", 2, ft::message};
}  // namespace key_value
namespace scope {
inline constexpr field_desc name{"name", 1, ft::string};
inline constexpr field_desc version{"version", 2, ft::string};
inline constexpr field_desc attributes{"attributes", 3, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 4, ft::uint32};
}  // namespace scope
namespace resource {
inline constexpr field_desc attributes{"attributes", 1, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 2, ft::uint32};
}  // namespace resource

// trace/v1/trace.proto
namespace resource_spans {
inline constexpr field_desc resource{"resource", 1, ft::message};
inline constexpr field_desc scope_spans{"scopeSpans", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace resource_spans
namespace scope_spans {
inline constexpr field_desc scope{"scope", 1, ft::message};
inline constexpr field_desc spans{"spans", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace scope_spans
namespace span {
inline constexpr field_desc trace_id{"traceId", 1, ft::id};
inline constexpr field_desc span_id{"spanId", 2, ft::id};
inline constexpr field_desc trace_state{"traceState", 3, ft::string};
inline constexpr field_desc parent_span_id{"parentSpanId", 4, ft::id};
inline constexpr field_desc name{"name", 5, ft::string};
inline constexpr field_desc kind{"kind", 6, ft::enum_};
inline constexpr field_desc start_time{"startTimeUnixNano", 7, ft::fixed64};
inline constexpr field_desc end_time{"endTimeUnixNano", 8, ft::fixed64};
inline constexpr field_desc attributes{"attributes", 9, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 10, ft::uint32};
inline constexpr field_desc events{"events", 11, ft::message};
inline constexpr field_desc dropped_events_count{"droppedEventsCount", 12, ft::uint32};
inline constexpr field_desc links{"links", 13, ft::message};
inline constexpr field_desc dropped_links_count{"droppedLinksCount", 14, ft::uint32};
inline constexpr field_desc status{"status", 15, ft::message};
inline constexpr field_desc flags{"flags", 16, ft::fixed32};
}  // namespace span
namespace event {
inline constexpr field_desc time{"timeUnixNano", 1, ft::fixed64};
inline constexpr field_desc name{"name", 2, ft::string};
inline constexpr field_desc attributes{"attributes", 3, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 4, ft::uint32};
}  // namespace event
namespace link {
inline constexpr field_desc trace_id{"traceId", 1, ft::id};
inline constexpr field_desc span_id{"spanId", 2, ft::id};
inline constexpr field_desc trace_state{"traceState", 3, ft::string};
inline constexpr field_desc attributes{"attributes", 4, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 5, ft::uint32};
inline constexpr field_desc flags{"flags", 6, ft::fixed32};
}  // namespace link
namespace status {
inline constexpr field_desc message{"message", 2, ft::string};
inline constexpr field_desc code{"code", 3, ft::enum_};
}  // namespace status

// logs/v1/logs.proto
namespace resource_logs {
inline constexpr field_desc resource{"resource", 1, ft::message};
inline constexpr field_desc scope_logs{"scopeLogs", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace resource_logs
namespace scope_logs {
inline constexpr field_desc scope{"scope", 1, ft::message};
inline constexpr field_desc log_records{"logRecords", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace scope_logs
namespace log_record {
inline constexpr field_desc time{"timeUnixNano", 1, ft::fixed64};
inline constexpr field_desc severity_number{"severityNumber", 2, ft::enum_};
inline constexpr field_desc severity_text{"severityText", 3, ft::string};
inline constexpr field_desc body{"body", 5, ft::message};
inline constexpr field_desc attributes{"attributes", 6, ft::message};
inline constexpr field_desc dropped_attributes_count{"droppedAttributesCount", 7, ft::uint32};
inline constexpr field_desc flags{"flags", 8, ft::fixed32};
inline constexpr field_desc trace_id{"traceId", 9, ft::id};
inline constexpr field_desc span_id{"spanId", 10, ft::id};
inline constexpr field_desc observed_time{"observedTimeUnixNano", 11, ft::fixed64};
inline constexpr field_desc event_name{"eventName", 12, ft::string};
}  // namespace log_record

// metrics/v1/metrics.proto
namespace resource_metrics {
inline constexpr field_desc resource{"resource", 1, ft::message};
inline constexpr field_desc scope_metrics{"scopeMetrics", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace resource_metrics
namespace scope_metrics {
inline constexpr field_desc scope{"scope", 1, ft::message};
inline constexpr field_desc metrics{"metrics", 2, ft::message};
inline constexpr field_desc schema_url{"schemaUrl", 3, ft::string};
}  // namespace scope_metrics
namespace metric {
inline constexpr field_desc name{"name", 1, ft::string};
inline constexpr field_desc description{"description", 2, ft::string};
inline constexpr field_desc unit{"unit", 3, ft::string};
inline constexpr field_desc gauge{"gauge", 5, ft::message};
inline constexpr field_desc sum{"sum", 7, ft::message};
inline constexpr field_desc histogram{"histogram", 9, ft::message};
}  // namespace metric
namespace gauge {
inline constexpr field_desc data_points{"dataPoints", 1, ft::message};
}
namespace sum {
inline constexpr field_desc data_points{"dataPoints", 1, ft::message};
inline constexpr field_desc aggregation_temporality{"aggregationTemporality", 2, ft::enum_};
inline constexpr field_desc is_monotonic{"isMonotonic", 3, ft::boolean};
}  // namespace sum
namespace histogram {
inline constexpr field_desc data_points{"dataPoints", 1, ft::message};
inline constexpr field_desc aggregation_temporality{"aggregationTemporality", 2, ft::enum_};
}  // namespace histogram
namespace number_data_point {
inline constexpr field_desc start_time{"startTimeUnixNano", 2, ft::fixed64};
inline constexpr field_desc time{"timeUnixNano", 3, ft::fixed64};
inline constexpr field_desc as_double{"asDouble", 4, ft::double_};
inline constexpr field_desc exemplars{"exemplars", 5, ft::message};
inline constexpr field_desc as_int{"asInt", 6, ft::sfixed64};
inline constexpr field_desc attributes{"attributes", 7, ft::message};
}  // namespace number_data_point
namespace histogram_data_point {
inline constexpr field_desc start_time{"startTimeUnixNano", 2, ft::fixed64};
inline constexpr field_desc time{"timeUnixNano", 3, ft::fixed64};
inline constexpr field_desc count{"count", 4, ft::fixed64};
inline constexpr field_desc sum{"sum", 5, ft::double_};
inline constexpr field_desc bucket_counts{"bucketCounts", 6, ft::packed_fixed64};
inline constexpr field_desc explicit_bounds{"explicitBounds", 7, ft::packed_double};
inline constexpr field_desc exemplars{"exemplars", 8, ft::message};
inline constexpr field_desc attributes{"attributes", 9, ft::message};
inline constexpr field_desc min{"min", 11, ft::double_};
inline constexpr field_desc max{"max", 12, ft::double_};
}  // namespace histogram_data_point
namespace exemplar {
inline constexpr field_desc time{"timeUnixNano", 2, ft::fixed64};
inline constexpr field_desc as_double{"asDouble", 3, ft::double_};
inline constexpr field_desc span_id{"spanId", 4, ft::id};
inline constexpr field_desc trace_id{"traceId", 5, ft::id};
inline constexpr field_desc as_int{"asInt", 6, ft::sfixed64};
inline constexpr field_desc filtered_attributes{"filteredAttributes", 7, ft::message};
}  // namespace exemplar

/// The JSON names alone, for readers (eval/): derived from the descriptions above.
namespace field {
inline constexpr std::string_view resource_spans = export_trace_request::resource_spans.json;
inline constexpr std::string_view resource = resource_spans::resource.json;
inline constexpr std::string_view scope_spans = resource_spans::scope_spans.json;
inline constexpr std::string_view scope = scope_spans::scope.json;
inline constexpr std::string_view spans = scope_spans::spans.json;
inline constexpr std::string_view schema_url = resource_spans::schema_url.json;
inline constexpr std::string_view name = span::name.json;
inline constexpr std::string_view version = scope::version.json;
inline constexpr std::string_view attributes = span::attributes.json;
inline constexpr std::string_view dropped_attributes_count = span::dropped_attributes_count.json;
inline constexpr std::string_view trace_id = span::trace_id.json;
inline constexpr std::string_view span_id = span::span_id.json;
inline constexpr std::string_view parent_span_id = span::parent_span_id.json;
inline constexpr std::string_view trace_state = span::trace_state.json;
inline constexpr std::string_view flags = span::flags.json;
inline constexpr std::string_view kind = span::kind.json;
inline constexpr std::string_view start_time = span::start_time.json;
inline constexpr std::string_view end_time = span::end_time.json;
inline constexpr std::string_view time = event::time.json;
inline constexpr std::string_view events = span::events.json;
inline constexpr std::string_view dropped_events_count = span::dropped_events_count.json;
inline constexpr std::string_view links = span::links.json;
inline constexpr std::string_view dropped_links_count = span::dropped_links_count.json;
inline constexpr std::string_view status = span::status.json;
inline constexpr std::string_view code = status::code.json;
inline constexpr std::string_view message = status::message.json;
inline constexpr std::string_view key = key_value::key.json;
inline constexpr std::string_view value = key_value::value.json;
inline constexpr std::string_view string_value = any_value::string_value.json;
inline constexpr std::string_view bool_value = any_value::bool_value.json;
inline constexpr std::string_view int_value = any_value::int_value.json;
inline constexpr std::string_view double_value = any_value::double_value.json;
inline constexpr std::string_view array_value = any_value::array_value.json;
inline constexpr std::string_view kvlist_value = any_value::kvlist_value.json;
inline constexpr std::string_view bytes_value = any_value::bytes_value.json;
inline constexpr std::string_view values = array_value::values.json;
}  // namespace field

/// Span flags bits beyond the W3C trace flags (trace.proto SpanFlags).
inline constexpr std::uint32_t flag_has_is_remote = 0x100;
inline constexpr std::uint32_t flag_is_remote = 0x200;

}  // namespace agentrace::otlp

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::otlp {

/// The two encodings of OTLP/HTTP bodies.
enum class encoding : std::uint8_t { protobuf, json };

namespace detail {

/// Appends to a fmt::memory_buffer through a plain pointer, checking capacity per piece; the
/// buffer's size is set when the writer is done (commit(), or the destructor).
class buffer_cursor {
 public:
  explicit buffer_cursor(fmt::memory_buffer& b) noexcept
      : b_(b), p_(b.data() + b.size()), end_(b.data() + b.capacity()) {}
  buffer_cursor(const buffer_cursor&) = delete;
  buffer_cursor& operator=(const buffer_cursor&) = delete;
  ~buffer_cursor() { commit(); }

  /// Sets the buffer's size to what was written.
  void commit() noexcept { b_.resize(offset()); }

 protected:
  std::size_t offset() const noexcept { return static_cast<std::size_t>(p_ - b_.data()); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void ensure(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) [[unlikely]]
      grow(n);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void put(const void* s, std::size_t n) noexcept {
    std::memcpy(p_, s, n);
    p_ += n;
  }

  fmt::memory_buffer& b_;
  char* p_;
  char* end_;

 private:
  AGENTRACE_DETAIL_NOINLINE void grow(std::size_t n) {
    const std::size_t used = offset();
    b_.resize(used);
    b_.reserve(std::max(used + n, 2 * b_.capacity()));
    p_ = b_.data() + used;
    end_ = b_.data() + b_.capacity();
  }
};

}  // namespace detail

/// OTLP/JSON (proto3 JSON mapping as the OTLP specification restricts it: lowerCamelCase keys,
/// hex ids, enums as integers, 64-bit integers as decimal strings).
class json_writer : public detail::buffer_cursor {
 public:
  static constexpr encoding format = encoding::json;
  using buffer_cursor::buffer_cursor;

  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_request() { open('{'); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_request() { close('}'); }
  /// An embedded message.
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin(const field_desc& f) {
    key(f);
    open('{');
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end() { close('}'); }
  /// A repeated field; each element is begin_item(f) ... end_item().
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_array(const field_desc& f) {
    key(f);
    open('[');
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_array() { close(']'); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_item(const field_desc&, std::size_t = 1) {
    ensure(2);
    sep();
    *p_++ = '{';
    first_ = true;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_item() { close('}'); }

  /// A string; max_code_points 0 = whole.
  void string(const field_desc& f, std::string_view s, std::uint32_t max_code_points = 0) {
    key(f);
    if (max_code_points == 0 || s.size() <= max_code_points) {
      ensure(agentrace::detail::json_string_bound(s.size()));
      p_ = agentrace::detail::put_json_string(p_, s);
    } else {
      commit();
      agentrace::detail::write_json_string(b_, s, max_code_points);
      p_ = b_.data() + b_.size();
      end_ = b_.data() + b_.capacity();
    }
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void id(const field_desc& f, const agentrace::trace_id& t) {
    key(f);
    ensure(34);
    *p_++ = '"';
    p_ = agentrace::detail::put_hex64(p_, t.hi);
    p_ = agentrace::detail::put_hex64(p_, t.lo);
    *p_++ = '"';
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void id(const field_desc& f, std::uint64_t span_id) {
    key(f);
    ensure(18);
    *p_++ = '"';
    p_ = agentrace::detail::put_hex64(p_, span_id);
    *p_++ = '"';
  }
  /// A KeyValue element of `f` holding an inline attribute slot: one capacity check, then
  /// stores through a local pointer.
  void slot_attribute(const field_desc& f, const agentrace::detail::attr_slot& a,
                      std::uint32_t max_len) {
    using agentrace::detail::json_string_bound;
    using agentrace::detail::slot_type;
    const bool is_str = a.type() == slot_type::static_str || a.type() == slot_type::owned_str;
    if (is_str && max_len != 0) [[unlikely]] {
      begin_item(f);
      string(key_value::key, a.key_name());
      begin(key_value::value);
      string(any_value::string_value, a.as_string(), max_len);
      end();
      end_item();
      return;
    }
    const std::string_view k = a.key_name();
    ensure(64 + json_string_bound(k.size()) +
           (is_str ? json_string_bound(a.as_string().size()) : 0));
    char* p = p_;
    if (!first_) *p++ = ',';
    first_ = false;
    auto lit = [&p](std::string_view s) {
      std::memcpy(p, s.data(), s.size());
      p += s.size();
    };
    lit("{\"key\":");
    p = agentrace::detail::put_json_string(p, k);
    lit(",\"value\":{");
    switch (a.type()) {
      case slot_type::boolean:
        lit(a.as_bool() ? "\"boolValue\":true" : "\"boolValue\":false");
        break;
      case slot_type::int64: {
        lit("\"intValue\":\"");
        const fmt::format_int n(a.as_int());
        std::memcpy(p, n.data(), n.size());
        p += n.size();
        *p++ = '"';
        break;
      }
      case slot_type::float64:
        lit("\"doubleValue\":");
        p = agentrace::detail::put_double(p, a.as_double());
        break;
      default: lit("\"stringValue\":"); p = agentrace::detail::put_json_string(p, a.as_string());
    }
    lit("}}");
    p_ = p;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void uint32(const field_desc& f, std::uint32_t v) { number(f, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void enum_(const field_desc& f, std::uint32_t v) { number(f, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void fixed32(const field_desc& f, std::uint32_t v) {
    number(f, v);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void int64(const field_desc& f, std::int64_t v) {
    key(f);
    ensure(24);
    *p_++ = '"';
    const fmt::format_int s(v);
    put(s.data(), s.size());
    *p_++ = '"';
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void fixed64(const field_desc& f, std::uint64_t v) {
    key(f);
    ensure(24);
    *p_++ = '"';
    p_ = agentrace::detail::put_uint(p_, v);
    *p_++ = '"';
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void boolean(const field_desc& f, bool v) {
    key(f);
    ensure(5);
    if (v)
      put("true", 4);
    else
      put("false", 5);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void double_(const field_desc& f, double v) {
    key(f);
    ensure(32);
    p_ = agentrace::detail::put_double(p_, v);
  }
  /// A signed 64-bit integer of a sfixed64 field (as int64 in JSON: a decimal string).
  AGENTRACE_DETAIL_ALWAYS_INLINE void sfixed64(const field_desc& f, std::int64_t v) { int64(f, v); }
  /// A packed repeated fixed64 field: an array of decimal strings.
  void packed_fixed64(const field_desc& f, std::span<const std::uint64_t> v) {
    key(f);
    ensure(2 + 23 * v.size());
    *p_++ = '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) *p_++ = ',';
      *p_++ = '"';
      p_ = agentrace::detail::put_uint(p_, v[i]);
      *p_++ = '"';
    }
    *p_++ = ']';
  }
  /// A packed repeated double field: an array of numbers.
  void packed_double(const field_desc& f, std::span<const double> v) {
    key(f);
    ensure(2 + 33 * v.size());
    *p_++ = '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) *p_++ = ',';
      p_ = agentrace::detail::put_double(p_, v[i]);
    }
    *p_++ = ']';
  }

 private:
  AGENTRACE_DETAIL_ALWAYS_INLINE void sep() noexcept {
    if (!first_) *p_++ = ',';
    first_ = false;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void key(const field_desc& f) {
    ensure(f.json.size() + 4);
    char* p = p_;
    if (!first_) *p++ = ',';
    first_ = false;
    *p++ = '"';
    std::memcpy(p, f.json.data(), f.json.size());
    p += f.json.size();
    *p++ = '"';
    *p++ = ':';
    p_ = p;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void open(char c) {
    ensure(1);
    *p_++ = c;
    first_ = true;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void close(char c) {
    ensure(1);
    *p_++ = c;
    first_ = false;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void number(const field_desc& f, std::uint64_t v) {
    key(f);
    ensure(20);
    p_ = agentrace::detail::put_uint(p_, v);
  }

  bool first_ = true;
};

/// Proto3 binary: write-only, fields in the order the traversal gives them (decoders accept any
/// order), every value the traversal writes is on the wire (it leaves out what it omits).
class proto_writer : public detail::buffer_cursor {
 public:
  static constexpr encoding format = encoding::protobuf;
  using buffer_cursor::buffer_cursor;

  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_request() {}
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_request() {}
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin(const field_desc& f, std::size_t placeholder = 1) {
    open(f, placeholder);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end() { close(); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_array(const field_desc&) {}
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_array() {}
  /// `placeholder`: bytes reserved for the length (moved when it needs another size).
  AGENTRACE_DETAIL_ALWAYS_INLINE void begin_item(const field_desc& f, std::size_t placeholder = 1) {
    open(f, placeholder);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void end_item() { close(); }

  void string(const field_desc& f, std::string_view s, std::uint32_t max_code_points = 0) {
    if (max_code_points) s = s.substr(0, agentrace::detail::code_point_prefix(s, max_code_points));
    if (ascii(s)) [[likely]] {
      ensure(12 + s.size());
      tag(f);
      varint(s.size());
      p_ = copy_small(p_, s.data(), s.size());
      return;
    }
    const std::size_t n = agentrace::detail::utf8_sanitized_size(s);
    ensure(12 + n);
    tag(f);
    varint(n);
    p_ = agentrace::detail::put_utf8(p_, s);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void id(const field_desc& f, const agentrace::trace_id& t) {
    ensure(18);
    tag(f);
    *p_++ = 16;
    big_endian(t.hi);
    big_endian(t.lo);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void id(const field_desc& f, std::uint64_t span_id) {
    ensure(10);
    tag(f);
    *p_++ = 8;
    big_endian(span_id);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void uint32(const field_desc& f, std::uint32_t v) { scalar(f, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void enum_(const field_desc& f, std::uint32_t v) { scalar(f, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void int64(const field_desc& f, std::int64_t v) {
    scalar(f, static_cast<std::uint64_t>(v));
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void boolean(const field_desc& f, bool v) { scalar(f, v ? 1 : 0); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void fixed32(const field_desc& f, std::uint32_t v) {
    ensure(6);
    tag(f);
    little_endian(v);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void fixed64(const field_desc& f, std::uint64_t v) {
    ensure(10);
    tag(f);
    little_endian(v);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void double_(const field_desc& f, double v) {
    fixed64(f, std::bit_cast<std::uint64_t>(v));
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void sfixed64(const field_desc& f, std::int64_t v) {
    fixed64(f, static_cast<std::uint64_t>(v));
  }
  /// A packed repeated fixed64 field (written only when not empty, as proto3 does).
  void packed_fixed64(const field_desc& f, std::span<const std::uint64_t> v) {
    if (v.empty()) return;
    ensure(12 + 8 * v.size());
    tag(f);
    varint(8 * v.size());
    for (const std::uint64_t x : v) little_endian(x);
  }
  /// A packed repeated double field (written only when not empty).
  void packed_double(const field_desc& f, std::span<const double> v) {
    if (v.empty()) return;
    ensure(12 + 8 * v.size());
    tag(f);
    varint(8 * v.size());
    for (const double x : v) little_endian(std::bit_cast<std::uint64_t>(x));
  }

  /// A KeyValue element of `f` holding an inline attribute slot: its sizes are computed, not
  /// back-patched (the common case: ASCII key, short value).
  void slot_attribute(const field_desc& f, const agentrace::detail::attr_slot& a,
                      std::uint32_t max_len) {
    using agentrace::detail::slot_type;
    const std::string_view k = a.key_name();
    std::string_view str;
    std::uint64_t scalar = 0;
    std::size_t value_len;  // the AnyValue's length
    switch (a.type()) {
      case slot_type::boolean:
        scalar = a.as_bool();
        value_len = 2;
        break;
      case slot_type::int64:
        scalar = static_cast<std::uint64_t>(a.as_int());
        value_len = 1 + varint_size(scalar);
        break;
      case slot_type::float64:
        scalar = std::bit_cast<std::uint64_t>(a.as_double());
        value_len = 9;
        break;
      default:
        str = a.as_string();
        if (max_len) str = str.substr(0, agentrace::detail::code_point_prefix(str, max_len));
        value_len = 1 + varint_size(str.size()) + str.size();
    }
    if (k.size() >= 0x80 || value_len >= 0x80 || !ascii(k) || !ascii(str)) [[unlikely]] {
      begin_item(f);
      string(key_value::key, k);
      begin(key_value::value);
      switch (a.type()) {
        case slot_type::boolean: boolean(any_value::bool_value, scalar != 0); break;
        case slot_type::int64:
          int64(any_value::int_value, static_cast<std::int64_t>(scalar));
          break;
        case slot_type::float64: fixed64(any_value::double_value, scalar); break;
        default: string(any_value::string_value, str);
      }
      end();
      end_item();
      return;
    }
    const std::size_t kv_len = 2 + k.size() + 2 + value_len;
    ensure(2 + 2 + kv_len);
    // Through a local pointer: stores through char* could alias p_, which would make the
    // compiler reload and store it after every byte.
    char* p = p_;
    const std::uint32_t t = f.tag();
    if (t < 0x80) {
      *p++ = static_cast<char>(t);
    } else {
      *p++ = static_cast<char>((t & 0x7f) | 0x80);
      *p++ = static_cast<char>(t >> 7);
    }
    p = put_varint(p, kv_len);
    *p++ = static_cast<char>(key_value::key.tag());
    *p++ = static_cast<char>(k.size());
    p = copy_small(p, k.data(), k.size());
    *p++ = static_cast<char>(key_value::value.tag());
    *p++ = static_cast<char>(value_len);
    switch (a.type()) {
      case slot_type::boolean:
        *p++ = static_cast<char>(any_value::bool_value.tag());
        *p++ = static_cast<char>(scalar);
        break;
      case slot_type::int64:
        *p++ = static_cast<char>(any_value::int_value.tag());
        p = put_varint(p, scalar);
        break;
      case slot_type::float64:
        *p++ = static_cast<char>(any_value::double_value.tag());
        if constexpr (std::endian::native == std::endian::big) scalar = byteswap(scalar);
        std::memcpy(p, &scalar, 8);
        p += 8;
        break;
      default:
        *p++ = static_cast<char>(any_value::string_value.tag());
        *p++ = static_cast<char>(str.size());
        p = copy_small(p, str.data(), str.size());
    }
    p_ = p;
  }

  /// Copies n bytes (short strings mostly) without a call.
  AGENTRACE_DETAIL_ALWAYS_INLINE static char* copy_small(char* dst, const char* src,
                                                         std::size_t n) noexcept {
    if (n >= 8 && n <= 16) {
      std::uint64_t a, b;
      std::memcpy(&a, src, 8);
      std::memcpy(&b, src + n - 8, 8);
      std::memcpy(dst, &a, 8);
      std::memcpy(dst + n - 8, &b, 8);
    } else if (n > 16 && n <= 32) {
      std::uint64_t w[4];
      std::memcpy(&w[0], src, 8);
      std::memcpy(&w[1], src + 8, 8);
      std::memcpy(&w[2], src + n - 16, 8);
      std::memcpy(&w[3], src + n - 8, 8);
      std::memcpy(dst, &w[0], 8);
      std::memcpy(dst + 8, &w[1], 8);
      std::memcpy(dst + n - 16, &w[2], 8);
      std::memcpy(dst + n - 8, &w[3], 8);
    } else if (n < 8) {
      for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
    } else {
      std::memcpy(dst, src, n);
    }
    return dst + n;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE static char* put_varint(char* p, std::uint64_t v) noexcept {
    while (v >= 0x80) {
      *p++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
  }

  static bool ascii(std::string_view s) noexcept {
    std::size_t i = 0;
    std::uint64_t high = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      high |= w;
    }
    for (; i < s.size(); ++i) high |= static_cast<unsigned char>(s[i]);
    return (high & 0x8080808080808080ull) == 0;
  }

  static constexpr std::size_t varint_size(std::uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
      v >>= 7;
      ++n;
    }
    return n;
  }

 private:
  AGENTRACE_DETAIL_ALWAYS_INLINE void tag(const field_desc& f) noexcept {
    const std::uint32_t t = f.tag();
    if (t < 0x80) {
      *p_++ = static_cast<char>(t);
    } else {  // field numbers up to 2047 (every OTLP field)
      *p_++ = static_cast<char>((t & 0x7f) | 0x80);
      *p_++ = static_cast<char>(t >> 7);
    }
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void varint(std::uint64_t v) noexcept { p_ = put_varint(p_, v); }
  AGENTRACE_DETAIL_ALWAYS_INLINE void scalar(const field_desc& f, std::uint64_t v) {
    ensure(12);
    tag(f);
    varint(v);
  }
  template <class T>
  AGENTRACE_DETAIL_ALWAYS_INLINE void little_endian(T v) noexcept {
    if constexpr (std::endian::native == std::endian::big) v = byteswap(v);
    put(&v, sizeof v);
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void big_endian(std::uint64_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) v = byteswap(v);
    put(&v, sizeof v);
  }
  template <class T>
  static T byteswap(T v) noexcept {
    T r = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      r = static_cast<T>((r << 8) | (v & 0xff));
      v = static_cast<T>(v >> 8);
    }
    return r;
  }

  AGENTRACE_DETAIL_ALWAYS_INLINE void open(const field_desc& f, std::size_t placeholder) {
    ensure(2 + placeholder);
    tag(f);
    p_ += placeholder;
    stack_[depth_++] = {static_cast<std::uint32_t>(offset()),
                        static_cast<std::uint8_t>(placeholder)};
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void close() {
    const auto [body, reserved] = stack_[--depth_];
    const std::size_t len = offset() - body;
    const std::size_t n = varint_size(len);
    char* b = b_.data() + body;
    if (n != reserved) {
      if (n > reserved) ensure(n - reserved);
      b = b_.data() + body;  // ensure may have moved the buffer
      std::memmove(b - reserved + n, b, len);
      p_ = p_ - reserved + n;
    }
    char* q = b - reserved;
    std::uint64_t v = len;
    while (v >= 0x80) {
      *q++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *q = static_cast<char>(v);
  }

  struct frame {
    std::uint32_t body;  // offset of the message's first byte
    std::uint8_t reserved;
  };
  frame stack_[24]{};  // OTLP nests at most ~12 deep (AnyValue arrays one level)
  int depth_ = 0;
};

namespace detail {

inline std::string_view kv_key(const attribute& a) noexcept { return a.key; }
inline const attr_value& kv_value(const attribute& a) noexcept { return a.value; }
template <class V>
std::string_view kv_key(const std::pair<std::string, V>& a) noexcept {
  return a.first;
}
template <class V>
const V& kv_value(const std::pair<std::string, V>& a) noexcept {
  return a.second;
}

}  // namespace detail

/// The value of an AnyValue message (the caller has opened it). monostate: an empty string.
template <class W>
void write_any_value(W& w, const attr_value& v, std::uint32_t max_len) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          w.string(any_value::string_value, {});
        } else if constexpr (std::is_same_v<T, bool>) {
          w.boolean(any_value::bool_value, x);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          w.int64(any_value::int_value, x);
        } else if constexpr (std::is_same_v<T, double>) {
          w.double_(any_value::double_value, x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          w.string(any_value::string_value, x, max_len);
        } else {
          w.begin(any_value::array_value);
          w.begin_array(array_value::values);
          for (const auto& e : x) {
            w.begin_item(array_value::values);
            write_any_value(w, attr_value{typename T::value_type(e)}, max_len);
            w.end_item();
          }
          w.end_array();
          w.end();
        }
      },
      v);
}

/// A plain string as AnyValue (resource attributes).
template <class W>
void write_any_value(W& w, const std::string& v, std::uint32_t max_len) {
  w.string(any_value::string_value, v, max_len);
}

/// One KeyValue element of the repeated field `f`; `value(w)` writes the AnyValue's content.
template <class W, class Value>
void write_key_value(W& w, const field_desc& f, std::string_view key, Value&& value) {
  w.begin_item(f);
  w.string(key_value::key, key);
  w.begin(key_value::value);
  value(w);
  w.end();
  w.end_item();
}

/// Writes the entries of `attrs` (attribute, or pairs of key and attr_value / string) as the
/// repeated KeyValue field `f`, at most `limit` of them; returns how many were left out.
template <class W, class Range>
std::uint32_t write_attributes(W& w, const field_desc& f, const Range& attrs,
                               std::uint32_t limit = UINT32_MAX, std::uint32_t max_len = 0) {
  w.begin_array(f);
  std::uint32_t n = 0, dropped = 0;
  for (const auto& a : attrs) {
    if (n >= limit) {  // OpenTelemetry count limits: 0 allows none
      ++dropped;
      continue;
    }
    ++n;
    write_key_value(w, f, detail::kv_key(a),
                    [&](W& ww) { write_any_value(ww, detail::kv_value(a), max_len); });
  }
  w.end_array();
  return dropped;
}

/// A dropped_*_count field, written when not 0.
template <class W>
void write_dropped(W& w, const field_desc& f, std::uint32_t n) {
  if (n) w.uint32(f, n);
}

/// Resource message (field `f` of the enclosing message) with `attrs` (no limits apply).
template <class W, class Range>
void write_resource(W& w, const field_desc& f, const Range& attrs) {
  w.begin(f);
  write_attributes(w, otlp::resource::attributes, attrs);
  w.end();
}

/// InstrumentationScope message; `attributes(w)` writes its attributes (or nothing).
template <class W, class Attrs>
void write_scope(W& w, const field_desc& f, std::string_view name, std::string_view version,
                 Attrs&& attributes) {
  w.begin(f);
  w.string(scope::name, name);
  w.string(scope::version, version);
  attributes(w);
  w.end();
}

/// The fields every signal nests the same way: Resource<Signal> { resource, scope_<signal>s {
/// scope, <items> } }.
struct envelope_fields {
  const field_desc& resource;    // Resource<Signal>.resource
  const field_desc& scope_list;  // Resource<Signal>.scope_<signal>s
  const field_desc& scope;       // Scope<Signal>.scope
  const field_desc& items;       // Scope<Signal>.<spans | log_records | metrics>
};

/// One Resource<Signal> element's body: the resource, and one Scope<Signal> holding the scope
/// (with the attributes `scope_attributes(w)` writes) and the items `items(w)` writes.
template <class W, class Range, class ScopeAttrs, class Items>
void write_resource_scope(W& w, const envelope_fields& f, const Range& resource_attributes,
                          std::string_view scope_name, std::string_view scope_version,
                          ScopeAttrs&& scope_attributes, Items&& items) {
  write_resource(w, f.resource, resource_attributes);
  w.begin_array(f.scope_list);
  w.begin_item(f.scope_list, 3);
  write_scope(w, f.scope, scope_name, scope_version, scope_attributes);
  w.begin_array(f.items);
  items(w);
  w.end_array();
  w.end_item();
  w.end_array();
}

/// An Export<Signal>ServiceRequest with one resource and one scope (`resources`: its repeated
/// Resource<Signal> field).
template <class W, class Range, class ScopeAttrs, class Items>
void write_one_resource_request(W& w, const field_desc& resources, const envelope_fields& f,
                                const Range& resource_attributes, std::string_view scope_name,
                                std::string_view scope_version, ScopeAttrs&& scope_attributes,
                                Items&& items) {
  w.begin_request();
  w.begin_array(resources);
  w.begin_item(resources, 3);
  write_resource_scope(w, f, resource_attributes, scope_name, scope_version, scope_attributes,
                       items);
  w.end_item();
  w.end_array();
  w.end_request();
}

}  // namespace agentrace::otlp

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {
namespace otlp {

/// Severity text for the first number of each range ("INFO"...), empty for unspecified.
constexpr std::string_view severity_text(agentrace::severity s) noexcept {
  switch (s) {
    case agentrace::severity::trace: return "TRACE";
    case agentrace::severity::debug: return "DEBUG";
    case agentrace::severity::info: return "INFO";
    case agentrace::severity::warn: return "WARN";
    case agentrace::severity::error: return "ERROR";
    case agentrace::severity::fatal: return "FATAL";
    default: return {};
  }
}

/// One LogRecord element of ScopeLogs.log_records.
template <class W>
void write_log_record(W& w, const agentrace::log_record& r) {
  w.begin_item(scope_logs::log_records, 2);
  w.fixed64(log_record::time, r.time_unix_ns);
  w.fixed64(log_record::observed_time, r.observed_time_unix_ns);
  if (r.severity != agentrace::severity::unspecified) {
    w.enum_(log_record::severity_number, static_cast<std::uint32_t>(r.severity));
    w.string(log_record::severity_text, severity_text(r.severity));
  }
  if (!r.event_name.empty()) w.string(log_record::event_name, r.event_name);
  if (!std::holds_alternative<std::monostate>(r.body)) {
    w.begin(log_record::body);
    write_any_value(w, r.body, 0);
    w.end();
  }
  write_attributes(w, log_record::attributes, r.attributes);
  if (r.context.valid()) {
    w.id(log_record::trace_id, r.context.trace_id);
    w.id(log_record::span_id, r.context.span_id);
    w.fixed32(log_record::flags, r.context.flags);
  }
  w.end_item();
}

/// ExportLogsServiceRequest for `batch`: one resource, one scope.
template <class W>
void write_logs_request(W& w, const log_batch& batch) {
  write_one_resource_request(
      w, export_logs_request::resource_logs,
      {resource_logs::resource, resource_logs::scope_logs, scope_logs::scope,
       scope_logs::log_records},
      batch.resource.attributes, batch.scope_name, batch.scope_version, [](W&) {},
      [&](W& ww) {
        for (const agentrace::log_record& r : batch.records) write_log_record(ww, r);
      });
}

}  // namespace otlp

/// Appends one ExportLogsServiceRequest as OTLP/JSON (no trailing newline).
inline void serialize_otlp_json(const log_batch& batch, fmt::memory_buffer& out) {
  otlp::json_writer w(out);
  otlp::write_logs_request(w, batch);
}

/// Appends one ExportLogsServiceRequest in protobuf binary.
inline void serialize_otlp_protobuf(const log_batch& batch, fmt::memory_buffer& out) {
  otlp::proto_writer w(out);
  otlp::write_logs_request(w, batch);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

struct console_options {
  std::FILE* out = stdout;
  int color = -1;                     // -1: when `out` is a terminal; 0 never; 1 always
  std::size_t max_value_length = 80;  // longer attribute values are cut, with "…"
  bool show_attributes = true;
  std::vector<std::string> attributes{};  // show only these keys (in span order); empty: all
  assembly_options assembly{};
  bool spans = true;     // print trace trees
  bool metrics = false;  // print a summary of each metrics export (OTEL_METRICS_EXPORTER=console)
};

namespace detail {

/// Renders one assembled trace as text (used by the console exporter; tests call it directly).
inline std::string render_trace(const assembled_trace& t, std::string_view service,
                                const console_options& o, bool color) {
  const char* red = color ? "\x1b[31m" : "";
  const char* dim = color ? "\x1b[2m" : "";
  const char* bold = color ? "\x1b[1m" : "";
  const char* reset = color ? "\x1b[0m" : "";
  std::uint64_t t0 = UINT64_MAX, t1 = 0;
  std::size_t errors = 0;
  for (const auto& s : t.spans) {
    t0 = std::min(t0, s.start_unix_ns);
    t1 = std::max(t1, s.end_unix_ns);
    errors += s.status == status_code::error;
  }
  std::string out =
      fmt::format("{}trace {}{} {}({}, {} span{}, {}{}{}){}\n", bold, to_hex(t.id), reset, dim,
                  service, t.spans.size(), t.spans.size() == 1 ? "" : "s", duration_text(t1 - t0),
                  errors ? fmt::format(", {} error{}", errors, errors == 1 ? "" : "s") : "",
                  t.complete ? "" : ", incomplete", reset);
  const trace_tree tree(t.spans);
  auto line = [&](auto&& self, std::size_t i, const std::string& prefix, bool last) -> void {
    const span_data& s = t.spans[i];
    const bool err = s.status == status_code::error;
    out += fmt::format("{}{}{}{}{}  {}{}{}", prefix, last ? "└─ " : "├─ ", err ? red : bold, s.name,
                       reset, dim, duration_text(s.duration_ns()), reset);
    if (err) {
      out += fmt::format("  {}ERROR{}", red, reset);
      if (!s.status_message.empty())
        out += fmt::format(" {}", value_text(attr_value{s.status_message}, quote_strings::yes,
                                             o.max_value_length));
    }
    if (o.show_attributes)
      for (const auto& [k, v] : s.attributes)
        if (o.attributes.empty() ||
            std::find(o.attributes.begin(), o.attributes.end(), k) != o.attributes.end())
          out += fmt::format("  {}{}={}{}", dim, k, reset,
                             value_text(v, quote_strings::yes, o.max_value_length));
    for (const auto& e : s.events)
      if (e.name == "exception")
        for (const auto& [k, v] : e.attributes)
          out += fmt::format("  {}{}={}{}", red, k,
                             value_text(v, quote_strings::yes, o.max_value_length), reset);
    out += '\n';
    const auto& kids = tree.children[i];
    for (std::size_t c = 0; c < kids.size(); ++c)
      self(self, kids[c], prefix + (last ? "   " : "│  "), c + 1 == kids.size());
  };
  for (std::size_t r = 0; r < tree.roots.size(); ++r)
    line(line, tree.roots[r], "", r + 1 == tree.roots.size());
  return out;
}

}  // namespace detail

class console_exporter final : public exporter {
 public:
  explicit console_exporter(console_options o = {})
      : opt_(std::move(o)),
        assembler_(opt_.assembly),
        color_(opt_.color >= 0 ? opt_.color == 1 : ::isatty(::fileno(opt_.out)) == 1) {}

  std::string_view name() const noexcept override { return "console"; }

  export_result export_spans(const export_batch& batch) override {
    if (!opt_.spans) return export_result::success;
    if (service_.empty()) service_ = std::string(batch.resource.get("service.name"));
    for (const auto& r : batch.spans)
      print(assembler_.add(to_span_data(r, batch.clock, batch.limits)));
    print(assembler_.take_ready());
    return export_result::success;
  }

  /// Log records (events): one line each, with the span they belong to.
  export_result export_logs(const log_batch& batch) override {
    std::string out;
    for (const log_record& r : batch.records) {
      out += fmt::format("event {} {}", r.event_name.empty() ? "(log)" : r.event_name,
                         otlp::severity_text(r.severity));
      if (r.context.valid())
        out +=
            fmt::format(" trace={} span={}", to_hex(r.context.trace_id), to_hex(r.context.span_id));
      for (const auto& a : r.attributes)
        out += fmt::format(
            "  {}={}", a.key,
            detail::value_text(a.value, detail::quote_strings::yes, opt_.max_value_length));
      if (!std::holds_alternative<std::monostate>(r.body))
        out += fmt::format("  body={}", detail::value_text(r.body, detail::quote_strings::yes,
                                                           opt_.max_value_length));
      out += '\n';
    }
    std::fwrite(out.data(), 1, out.size(), opt_.out);
    std::fflush(opt_.out);
    return export_result::success;
  }

  /// Metrics (when console_options::metrics): one line per series with its value, or count,
  /// sum, min and max.
  export_result export_metrics(const metrics_batch& batch) override {
    if (!opt_.metrics) return export_result::success;
    std::string out;
    for (const metric_data& m : batch.metrics) {
      out += fmt::format("metric {}{}{}\n", m.name, m.unit.empty() ? "" : " ", m.unit);
      for (const metric_point& p : m.points) {
        out += " ";
        for (const auto& [k, v] : p.attributes)
          out +=
              fmt::format(" {}={}", k,
                          detail::value_text(v, detail::quote_strings::yes, opt_.max_value_length));
        if (m.type == metric_type::histogram) {
          out += fmt::format("  count={} sum={}", p.count, p.sum);
          if (p.count > 0 && p.has_min_max) out += fmt::format(" min={} max={}", p.min, p.max);
        } else if (p.is_int) {
          out += fmt::format("  {}", p.int_value);
        } else {
          out += fmt::format("  {}", p.double_value);
        }
        out += '\n';
      }
    }
    std::fwrite(out.data(), 1, out.size(), opt_.out);
    std::fflush(opt_.out);
    return export_result::success;
  }

  /// Prints the traces whose local root ended and whose wait for stragglers has passed, without
  /// waiting for the next batch (the collector calls this after each drain cycle).
  void on_idle(std::chrono::steady_clock::time_point now) override {
    if (assembler_.pending_traces() != 0) print(assembler_.take_ready(now));
  }

  bool force_flush(std::chrono::milliseconds) override {
    print(assembler_.take_all());
    return std::fflush(opt_.out) == 0;
  }

 private:
  void print(const std::vector<detail::assembled_trace>& traces) {
    for (const auto& t : traces) {
      const std::string s = detail::render_trace(t, service_, opt_, color_);
      std::fwrite(s.data(), 1, s.size(), opt_.out);
    }
    if (!traces.empty()) std::fflush(opt_.out);
  }

  console_options opt_;
  detail::trace_assembler assembler_;
  bool color_;
  std::string service_;
};

/// A console tree exporter with these options.
inline exporter_ptr console(console_options o) {
  return std::make_shared<console_exporter>(std::move(o));
}
#if AGENTRACE_DETAIL_SETUP_DEFINITIONS
AGENTRACE_SETUP_INLINE exporter_ptr console() { return console(console_options{}); }
#endif

namespace detail {
inline const bool console_registered =
    register_exporter_factory("console", [](std::string_view) { return console(); }) &&
    // OTEL_METRICS_EXPORTER=console: metrics only (trace trees come from the traces' console).
    register_exporter_factory("console/metrics", [](std::string_view) {
      console_options o;
      o.spans = false;
      o.metrics = true;
      return console(std::move(o));
    });
}  // namespace detail

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/exporters/memory.hpp
// SPDX-License-Identifier: MIT
// In-memory exporter: keeps every exported span (owned copies) for tests and for code that
// looks at its own traces.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

class memory_exporter final : public exporter {
 public:
  std::string_view name() const noexcept override { return "memory"; }

  export_result export_spans(const export_batch& batch) override {
    std::vector<span_data> converted;
    converted.reserve(batch.spans.size());
    for (const auto& r : batch.spans)
      converted.push_back(to_span_data(r, batch.clock, batch.limits));
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& d : converted) spans_.push_back(std::move(d));
      ++batches_;
    }
    cv_.notify_all();
    return export_result::success;
  }

  /// A copy of every span exported so far.
  std::vector<span_data> spans() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return spans_.size();
  }
  std::size_t batches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return batches_;
  }
  /// The first span named `name`, if any.
  std::optional<span_data> find(std::string_view name) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : spans_)
      if (s.name == name) return s;
    return std::nullopt;
  }
  /// Waits until at least n spans were exported; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return spans_.size() >= n; });
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    spans_.clear();
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<span_data> spans_;
  std::size_t batches_{0};
};

inline std::shared_ptr<memory_exporter> memory() { return std::make_shared<memory_exporter>(); }

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/exporters/otlp_json.hpp
// SPDX-License-Identifier: MIT
// OTLP/JSON lines (the OpenTelemetry Collector's file-exporter format) to a file or stdout: one
// Export*ServiceRequest per batch and line, written by the OTLP encoder (otlp/traces.hpp).

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// amalgamated: include/agentrace/otlp/metrics.hpp
// SPDX-License-Identifier: MIT
// ExportMetricsServiceRequest: one traversal for either writer (otlp/encoder.hpp).

#include <cstdint>
#include <span>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {
namespace otlp {

/// The exemplars of a data point (repeated field `f`).
template <class W>
void write_exemplars(W& w, const field_desc& f, const std::vector<agentrace::exemplar>& ex) {
  w.begin_array(f);
  for (const agentrace::exemplar& e : ex) {
    w.begin_item(f);
    w.fixed64(exemplar::time, e.time_unix_ns);
    w.double_(exemplar::as_double, e.value);
    if (e.span_id != 0) {
      w.id(exemplar::span_id, e.span_id);
      w.id(exemplar::trace_id, e.trace_id);
    }
    w.end_item();
  }
  w.end_array();
}

/// One Metric element of ScopeMetrics.metrics.
template <class W>
void write_metric(W& w, const metric_data& m) {
  w.begin_item(scope_metrics::metrics, 2);
  w.string(metric::name, m.name);
  if (!m.description.empty()) w.string(metric::description, m.description);
  if (!m.unit.empty()) w.string(metric::unit, m.unit);
  const auto temporality = static_cast<std::uint32_t>(m.temporality);
  if (m.type == metric_type::histogram) {
    w.begin(metric::histogram);
    w.begin_array(histogram::data_points);
    for (const metric_point& p : m.points) {
      w.begin_item(histogram::data_points, 2);
      w.fixed64(histogram_data_point::start_time, p.start_unix_ns);
      w.fixed64(histogram_data_point::time, p.time_unix_ns);
      w.fixed64(histogram_data_point::count, p.count);
      w.double_(histogram_data_point::sum, p.sum);
      w.packed_fixed64(histogram_data_point::bucket_counts, p.bucket_counts);
      w.packed_double(histogram_data_point::explicit_bounds, m.bounds);
      write_exemplars(w, histogram_data_point::exemplars, p.exemplars);
      write_attributes(w, histogram_data_point::attributes, p.attributes);
      if (p.count > 0 && p.has_min_max) {
        w.double_(histogram_data_point::min, p.min);
        w.double_(histogram_data_point::max, p.max);
      }
      w.end_item();
    }
    w.end_array();
    w.enum_(histogram::aggregation_temporality, temporality);
    w.end();
  } else {
    const field_desc& data = m.type == metric_type::sum ? metric::sum : metric::gauge;
    w.begin(data);
    w.begin_array(sum::data_points);
    for (const metric_point& p : m.points) {
      w.begin_item(sum::data_points, 2);
      if (p.start_unix_ns) w.fixed64(number_data_point::start_time, p.start_unix_ns);
      w.fixed64(number_data_point::time, p.time_unix_ns);
      if (p.is_int)
        w.sfixed64(number_data_point::as_int, p.int_value);
      else
        w.double_(number_data_point::as_double, p.double_value);
      write_exemplars(w, number_data_point::exemplars, p.exemplars);
      write_attributes(w, number_data_point::attributes, p.attributes);
      w.end_item();
    }
    w.end_array();
    if (m.type == metric_type::sum) {
      w.enum_(sum::aggregation_temporality, temporality);
      if (m.monotonic) w.boolean(sum::is_monotonic, true);
    }
    w.end();
  }
  w.end_item();
}

/// ExportMetricsServiceRequest for `batch`: one resource, one scope.
template <class W>
void write_metrics_request(W& w, const metrics_batch& batch) {
  write_one_resource_request(
      w, export_metrics_request::resource_metrics,
      {resource_metrics::resource, resource_metrics::scope_metrics, scope_metrics::scope,
       scope_metrics::metrics},
      batch.resource.attributes, batch.scope_name, batch.scope_version, [](W&) {},
      [&](W& ww) {
        for (const metric_data& m : batch.metrics) write_metric(ww, m);
      });
}

}  // namespace otlp

/// Appends one ExportMetricsServiceRequest as OTLP/JSON (no trailing newline).
inline void serialize_otlp_json(const metrics_batch& batch, fmt::memory_buffer& out) {
  otlp::json_writer w(out);
  otlp::write_metrics_request(w, batch);
}

/// Appends one ExportMetricsServiceRequest in protobuf binary.
inline void serialize_otlp_protobuf(const metrics_batch& batch, fmt::memory_buffer& out) {
  otlp::proto_writer w(out);
  otlp::write_metrics_request(w, batch);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/otlp/traces.hpp
// SPDX-License-Identifier: MIT
// ExportTraceServiceRequest: one traversal per message, for either writer (otlp/encoder.hpp).
// A span is written by write_span() from a span_source: the collector's records (with the span
// limits applied here) and owned span_data (read back, or built off the hot path) are two
// sources of the same traversal; events, links and status are written once, below.

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Spans with owned data (read back, or built off the hot path) that share one resource and
/// instrumentation scope: one resourceSpans element.
struct span_data_group {
  const std::vector<std::pair<std::string, attr_value>>* resource_attributes = nullptr;
  std::string_view scope_name{};
  std::string_view scope_version{};
  std::vector<const span_data*> spans{};
};

namespace otlp {

/// The header fields of a span, whatever it is read from.
struct span_header {
  agentrace::trace_id trace_id{};
  std::uint64_t span_id = 0;
  std::uint64_t parent_span_id = 0;
  std::string_view trace_state{};
  std::uint32_t flags = 0;  // W3C flags | SpanFlags bits
  std::string_view name{};
  span_kind kind = span_kind::internal;
  std::uint64_t start_unix_ns = 0;
  std::uint64_t end_unix_ns = 0;
  status_code status = status_code::unset;
  std::string_view status_message{};
  std::uint32_t dropped_events = 0;
  std::uint32_t dropped_links = 0;
};

/// SpanFlags of a span or link: the W3C flags, HAS_IS_REMOTE, and IS_REMOTE when remote.
constexpr std::uint32_t span_flags(std::uint8_t w3c, bool remote) noexcept {
  return w3c | flag_has_is_remote | (remote ? flag_is_remote : 0u);
}

/// One Span.Event element.
template <class W, class Range>
void write_event(W& w, std::uint64_t time_unix_ns, std::string_view name, const Range& attrs,
                 std::uint32_t limit, std::uint32_t dropped, std::uint32_t max_len) {
  w.begin_item(span::events);
  w.fixed64(event::time, time_unix_ns);
  w.string(event::name, name.empty() ? std::string_view("event") : name);
  dropped += write_attributes(w, event::attributes, attrs, limit, max_len);
  write_dropped(w, event::dropped_attributes_count, dropped);
  w.end_item();
}

/// One Span.Link element.
template <class W, class Range>
void write_link(W& w, const span_context& c, std::string_view trace_state, const Range& attrs,
                std::uint32_t limit, std::uint32_t dropped, std::uint32_t max_len) {
  w.begin_item(span::links);
  w.id(link::trace_id, c.trace_id);
  w.id(link::span_id, c.span_id);
  if (!trace_state.empty()) w.string(link::trace_state, trace_state);
  w.fixed32(link::flags, span_flags(c.flags, c.remote));
  dropped += write_attributes(w, link::attributes, attrs, limit, max_len);
  write_dropped(w, link::dropped_attributes_count, dropped);
  w.end_item();
}

/// One Span element of ScopeSpans.spans. `attributes(w)` writes the attribute list and returns
/// how many attributes were dropped; `events(w)` and `links(w)` write their elements.
template <class W, class Attrs, class Events, class Links>
void write_span(W& w, const span_header& h, Attrs&& attributes, Events&& events, Links&& links,
                std::uint32_t max_len) {
  w.begin_item(scope_spans::spans, 2);
  w.id(span::trace_id, h.trace_id);
  w.id(span::span_id, h.span_id);
  if (h.parent_span_id) w.id(span::parent_span_id, h.parent_span_id);
  if (!h.trace_state.empty()) w.string(span::trace_state, h.trace_state);
  w.fixed32(span::flags, h.flags);
  w.string(span::name, h.name);
  w.enum_(span::kind, static_cast<std::uint32_t>(h.kind));
  w.fixed64(span::start_time, h.start_unix_ns);
  w.fixed64(span::end_time, std::max(h.end_unix_ns, h.start_unix_ns));
  w.begin_array(span::attributes);
  const std::uint32_t dropped_attributes = attributes(w);
  w.end_array();
  write_dropped(w, span::dropped_attributes_count, dropped_attributes);
  events(w);
  write_dropped(w, span::dropped_events_count, h.dropped_events);
  links(w);
  write_dropped(w, span::dropped_links_count, h.dropped_links);
  w.begin(span::status);
  if (h.status != status_code::unset) {
    w.enum_(status::code, static_cast<std::uint32_t>(h.status));
    if (h.status == status_code::error && !h.status_message.empty())
      w.string(status::message, h.status_message, max_len);
  }
  w.end();
  w.end_item();
}

/// A span record as the collector hands it over (ticks converted here, span limits applied).
template <class W>
void write_span(W& w, const span_record& r, const agentrace::detail::clock_converter& clock,
                const span_limits& limits) {
  const std::uint32_t max_len = limits.attribute_value_length;
  const agentrace::detail::span_ext* x = r.ext();
  span_header h;
  h.trace_id = r.trace_id;
  h.span_id = r.span_id;
  h.parent_span_id = r.parent_span_id;
  h.flags = span_flags(r.flags, r.parent_remote);
  h.name = r.name();
  h.kind = r.kind();
  h.start_unix_ns = clock.to_unix_ns(r.start_ticks);
  const std::int64_t dur = clock.duration_ns(r.start_ticks, r.end_ticks);
  h.end_unix_ns = h.start_unix_ns + static_cast<std::uint64_t>(dur > 0 ? dur : 0);
  h.status = r.status;
  if (x) {
    h.trace_state = x->trace_state;
    h.status_message = x->status_message;
    h.dropped_events = x->dropped_events;
    h.dropped_links = x->dropped_links;
  }
  write_span(
      w, h,
      [&](W& ww) {
        return agentrace::detail::for_each_attribute(
            r, limits.attribute_count,
            [&](std::string_view, std::size_t i) {
              ww.slot_attribute(span::attributes, r.attrs[i], max_len);
            },
            [&](const attribute& a) {
              write_key_value(ww, span::attributes, a.key,
                              [&](W& v) { write_any_value(v, a.value, max_len); });
            });
      },
      [&](W& ww) {
        if (!x || x->events.empty()) return;
        ww.begin_array(span::events);
        for (const auto& e : x->events)
          write_event(ww, clock.to_unix_ns(e.ticks), e.name, e.attributes,
                      limits.event_attribute_count, e.dropped_attributes, max_len);
        ww.end_array();
      },
      [&](W& ww) {
        if (!x || x->links.empty()) return;
        ww.begin_array(span::links);
        for (const auto& l : x->links)
          write_link(ww, l.context, l.trace_state, l.attributes, limits.link_attribute_count,
                     l.dropped_attributes, max_len);
        ww.end_array();
      },
      max_len);
}

/// A span with owned data (its limits were applied when it was made).
template <class W>
void write_span(W& w, const span_data& s) {
  span_header h;
  h.trace_id = s.trace_id;
  h.span_id = s.span_id;
  h.parent_span_id = s.parent_span_id;
  h.trace_state = s.trace_state;
  h.flags = span_flags(s.flags, s.parent_remote);
  h.name = s.name;
  h.kind = s.kind;
  h.start_unix_ns = s.start_unix_ns;
  h.end_unix_ns = s.end_unix_ns;
  h.status = s.status;
  h.status_message = s.status_message;
  h.dropped_events = s.dropped_events;
  h.dropped_links = s.dropped_links;
  write_span(
      w, h,
      [&](W& ww) {
        for (const auto& a : s.attributes)  // (no structured binding: clang 14 cannot capture it)
          write_key_value(ww, span::attributes, a.first,
                          [&](W& x) { write_any_value(x, a.second, 0); });
        return s.dropped_attributes;
      },
      [&](W& ww) {
        if (s.events.empty()) return;
        ww.begin_array(span::events);
        for (const event_view& e : s.events)
          write_event(ww, e.time_unix_ns, e.name, e.attributes, UINT32_MAX, e.dropped_attributes,
                      0);
        ww.end_array();
      },
      [&](W& ww) {
        if (s.links.empty()) return;
        ww.begin_array(span::links);
        for (const link_view& l : s.links)
          write_link(ww, l.context, l.trace_state, l.attributes, UINT32_MAX, l.dropped_attributes,
                     0);
        ww.end_array();
      },
      0);
}

inline constexpr envelope_fields span_envelope{
    resource_spans::resource, resource_spans::scope_spans, scope_spans::scope, scope_spans::spans};

/// ExportTraceServiceRequest for a collector batch: one resource, one scope (whose attribute
/// agentrace.spans.dropped carries the spans this process has lost so far).
template <class W>
void write_trace_request(W& w, const export_batch& batch) {
  write_one_resource_request(
      w, export_trace_request::resource_spans, span_envelope, batch.resource.attributes,
      batch.scope_name, batch.scope_version,
      [&](W& ww) {
        ww.begin_array(scope::attributes);
        write_key_value(ww, scope::attributes, "agentrace.spans.dropped", [&](W& v) {
          v.int64(any_value::int_value, static_cast<std::int64_t>(batch.dropped_spans_total));
        });
        ww.end_array();
      },
      [&](W& ww) {
        for (const span_record& r : batch.spans) write_span(ww, r, batch.clock, batch.limits);
      });
}

/// ExportTraceServiceRequest holding `groups` (one resourceSpans element each).
template <class W>
void write_trace_request(W& w, std::span<const span_data_group> groups) {
  static const std::vector<std::pair<std::string, attr_value>> none;
  w.begin_request();
  w.begin_array(export_trace_request::resource_spans);
  for (const span_data_group& g : groups) {
    w.begin_item(export_trace_request::resource_spans, 3);
    write_resource_scope(
        w, span_envelope, g.resource_attributes ? *g.resource_attributes : none, g.scope_name,
        g.scope_version, [](W&) {},
        [&](W& ww) {
          for (const span_data* s : g.spans) write_span(ww, *s);
        });
    w.end_item();
  }
  w.end_array();
  w.end_request();
}

}  // namespace otlp

/// Appends one ExportTraceServiceRequest as OTLP/JSON (no trailing newline) for `batch`.
inline void serialize_otlp_json(const export_batch& batch, fmt::memory_buffer& out) {
  otlp::json_writer w(out);
  otlp::write_trace_request(w, batch);
}

/// Appends one ExportTraceServiceRequest as OTLP/JSON (no trailing newline) holding `groups`.
inline void serialize_otlp_json(std::span<const span_data_group> groups, fmt::memory_buffer& out) {
  otlp::json_writer w(out);
  otlp::write_trace_request(w, groups);
}

/// Appends one ExportTraceServiceRequest in protobuf binary for `batch`.
inline void serialize_otlp_protobuf(const export_batch& batch, fmt::memory_buffer& out) {
  otlp::proto_writer w(out);
  otlp::write_trace_request(w, batch);
}

/// Appends one ExportTraceServiceRequest in protobuf binary holding `groups`.
inline void serialize_otlp_protobuf(std::span<const span_data_group> groups,
                                    fmt::memory_buffer& out) {
  otlp::proto_writer w(out);
  otlp::write_trace_request(w, groups);
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Writes OTLP/JSON lines to a FILE* (a file it opened, or stdout). One line per batch,
/// flushed after each batch so that a crash loses at most the batch being written.
class otlp_json_exporter final : public exporter {
 public:
  /// Writes to stdout.
  otlp_json_exporter() : out_(stdout), owned_(false) {}
  /// Writes to `path`, truncating it (or appending when `append` is true). Throws
  /// std::runtime_error naming the path and the reason if it cannot be opened.
  explicit otlp_json_exporter(const std::string& path, bool append = false)
      : out_(std::fopen(path.c_str(), append ? "ab" : "wb")), owned_(true), path_(path) {
    if (!out_)
      throw std::runtime_error(fmt::format("agentrace: cannot open OTLP-JSON output '{}': {}", path,
                                           std::strerror(errno)));
  }
  ~otlp_json_exporter() override {
    if (owned_ && out_) std::fclose(out_);
  }
  otlp_json_exporter(const otlp_json_exporter&) = delete;
  otlp_json_exporter& operator=(const otlp_json_exporter&) = delete;

  std::string_view name() const noexcept override { return owned_ ? "otlp/file" : "otlp/stdout"; }

  export_result export_spans(const export_batch& batch) override {
    buf_.clear();
    serialize_otlp_json(batch, buf_);
    buf_.push_back('\n');
    const bool ok =
        std::fwrite(buf_.data(), 1, buf_.size(), out_) == buf_.size() && std::fflush(out_) == 0;
    if (!ok) {
      failed_.fetch_add(batch.spans.size(), std::memory_order_relaxed);
      return export_result::failure;
    }
    return export_result::success;
  }
  /// Log records: one ExportLogsServiceRequest line per batch, in the same file.
  export_result export_logs(const log_batch& batch) override {
    if (batch.records.empty()) return export_result::success;
    return write_line(batch) ? export_result::success : export_result::failure;
  }
  /// Metrics: one ExportMetricsServiceRequest line per export, in the same file (as the
  /// OpenTelemetry Collector's file exporter writes every signal).
  export_result export_metrics(const metrics_batch& batch) override {
    if (batch.metrics.empty()) return export_result::success;
    return write_line(batch) ? export_result::success : export_result::failure;
  }
  // Read by stats() on any thread while the collector writes it.
  std::uint64_t spans_failed() const noexcept override {
    return failed_.load(std::memory_order_relaxed);
  }

 private:
  // One request as one OTLP/JSON line, flushed; false when it could not be written.
  template <class Batch>
  bool write_line(const Batch& batch) {
    buf_.clear();
    serialize_otlp_json(batch, buf_);
    buf_.push_back('\n');
    return std::fwrite(buf_.data(), 1, buf_.size(), out_) == buf_.size() && std::fflush(out_) == 0;
  }

  std::FILE* out_;
  bool owned_;
  std::string path_;
  fmt::memory_buffer buf_;
  std::atomic<std::uint64_t> failed_{0};
};

#if AGENTRACE_DETAIL_SETUP_DEFINITIONS
AGENTRACE_SETUP_INLINE exporter_ptr otlp_json_file(const std::string& path, bool append) {
  return std::make_shared<otlp_json_exporter>(path, append);
}
#endif
/// OTLP/JSON lines to stdout (OTEL_TRACES_EXPORTER=otlp/stdout).
inline exporter_ptr otlp_json_stdout() { return std::make_shared<otlp_json_exporter>(); }

namespace detail {
inline const bool otlp_json_registered =
    register_exporter_factory("otlp/stdout", [](std::string_view) { return otlp_json_stdout(); }) &&
    register_exporter_factory(
        "otlp/file", [](std::string_view path) { return otlp_json_file(std::string(path)); });
}  // namespace detail

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/exporters/prometheus_text.hpp
// SPDX-License-Identifier: MIT
// The Prometheus exposition of metrics, for users who serve it themselves (the civetweb
// endpoint in exporters/prometheus.hpp uses it too): text format 0.0.4, or OpenMetrics 1.0 with
// exemplars. Names follow OpenTelemetry's Prometheus compatibility rules: invalid characters
// become `_`, the unit is appended as a suffix (`_seconds`, `_bytes`; `{...}` annotations are
// dropped), monotonic sums end in `_total`, non-monotonic sums are gauges, and the resource
// becomes a `target_info` gauge with `job` and `instance`.

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Which exposition format.
enum class prometheus_format : std::uint8_t {
  text_0_0_4,   // text/plain; version=0.0.4
  openmetrics,  // application/openmetrics-text; version=1.0.0 (exemplars, # EOF)
};

/// The Content-Type of a format.
constexpr std::string_view prometheus_content_type(prometheus_format f) noexcept {
  return f == prometheus_format::openmetrics
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

/// OpenMetrics when an Accept header asks for it, else text 0.0.4.
constexpr prometheus_format prometheus_format_for(std::string_view accept) noexcept {
  return accept.find("application/openmetrics-text") != std::string_view::npos
             ? prometheus_format::openmetrics
             : prometheus_format::text_0_0_4;
}

namespace detail {

/// A metric or label name with every character outside [a-zA-Z0-9_:] (labels: without ':')
/// replaced by '_', runs of '_' made one, and a leading digit prefixed by '_'.
inline std::string prometheus_name(std::string_view in, bool label) {
  std::string out;
  out.reserve(in.size() + 1);
  for (const char c : in) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || (!label && c == ':');
    const char x = ok ? c : '_';
    if (x == '_' && !out.empty() && out.back() == '_') continue;
    out += x;
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

/// The unit suffix of an OpenTelemetry (UCUM) unit: empty for none or annotations only.
inline std::string prometheus_unit(std::string_view unit) {
  // Annotations in braces are dropped ("{token}", "1/{call}" keeps "1/").
  std::string u;
  int depth = 0;
  for (const char c : unit) {
    if (c == '{')
      ++depth;
    else if (c == '}')
      depth = depth > 0 ? depth - 1 : 0;
    else if (depth == 0)
      u += c;
  }
  static constexpr std::pair<std::string_view, std::string_view> known[] = {
      {"d", "days"},          {"h", "hours"},         {"min", "minutes"},    {"s", "seconds"},
      {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"}, {"By", "bytes"},
      {"KiBy", "kibibytes"},  {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"}, {"KBy", "kilobytes"},
      {"MBy", "megabytes"},   {"GBy", "gigabytes"},   {"m", "meters"},       {"V", "volts"},
      {"A", "amperes"},       {"J", "joules"},        {"W", "watts"},        {"g", "grams"},
      {"Cel", "celsius"},     {"Hz", "hertz"},        {"%", "percent"},      {"1", ""}};
  if (u.empty()) return {};
  for (const auto& [k, v] : known)
    if (u == k) return std::string(v);
  if (const auto slash = u.find('/'); slash != std::string::npos) {
    std::string a = prometheus_unit(u.substr(0, slash));
    const std::string b = prometheus_unit(u.substr(slash + 1));
    if (b.empty()) return a;
    return (a.empty() ? std::string() : a + "_") + "per_" + b;
  }
  return prometheus_name(u, true);
}

/// The Prometheus family name of a metric (without `_total`, `_bucket` ...).
inline std::string prometheus_family(const metric_data& m) {
  std::string name = prometheus_name(m.name, false);
  std::string unit = prometheus_unit(m.unit);
  if (unit.empty() && m.unit == "1" && m.type == metric_type::gauge) unit = "ratio";
  if (!unit.empty()) {
    const std::string suffix = "_" + unit;
    if (name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      name += suffix;
  }
  if (m.type == metric_type::sum && m.monotonic && name.size() > 6 &&
      name.compare(name.size() - 6, 6, "_total") == 0)
    name.resize(name.size() - 6);  // added back on the samples
  return name;
}

inline void prometheus_escape(std::string& out, std::string_view v) {
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

inline void prometheus_value_text(std::string& out, const attr_value& v) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          prometheus_escape(out, x);
        else if constexpr (std::is_same_v<T, bool>)
          out += x ? "true" : "false";
        else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>)
          out += fmt::format("{}", x);
        else if constexpr (std::is_same_v<T, std::monostate>) {
        } else {
          // Arrays: their JSON text.
          std::string j = "[";
          for (std::size_t i = 0; i < x.size(); ++i) {
            if (i) j += ',';
            if constexpr (std::is_same_v<typename T::value_type, std::string>)
              j += "\"" + x[i] + "\"";
            else
              j += fmt::format("{}", static_cast<typename T::value_type>(x[i]));
          }
          prometheus_escape(out, j + "]");
        }
      },
      v);
}

inline void prometheus_number(std::string& out, double v) {
  if (std::isnan(v))
    out += "NaN";
  else if (std::isinf(v))
    out += v > 0 ? "+Inf" : "-Inf";
  else
    fmt::format_to(std::back_inserter(out), "{}", v);
}

/// `{k="v",...}` with `extra` (already formatted, e.g. `le="0.5"`) last; nothing when empty.
inline void prometheus_labels(std::string& out,
                              const std::vector<std::pair<std::string, attr_value>>& attrs,
                              std::string_view extra = {}) {
  if (attrs.empty() && extra.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : attrs) {
    if (!first) out += ',';
    first = false;
    out += prometheus_name(k, true);
    out += "=\"";
    prometheus_value_text(out, v);
    out += '"';
  }
  if (!extra.empty()) {
    if (!first) out += ',';
    out += extra;
  }
  out += '}';
}

inline void prometheus_exemplar(std::string& out, const exemplar& e) {
  out += " # {trace_id=\"";
  out += agentrace::to_hex(e.trace_id);
  out += "\",span_id=\"";
  out += agentrace::to_hex(e.span_id);
  out += "\"} ";
  prometheus_number(out, e.value);
  out += ' ';
  fmt::format_to(std::back_inserter(out), "{}.{:03}", e.time_unix_ns / 1'000'000'000,
                 (e.time_unix_ns / 1'000'000) % 1000);
}

}  // namespace detail

/// Appends the exposition of `metrics` (and a target_info for `res`) to `out`.
inline void prometheus_text(std::string& out, std::span<const metric_data> metrics,
                            const resource& res, prometheus_format f) {
  const bool om = f == prometheus_format::openmetrics;
  using namespace detail;
  // target_info: the resource, with job and instance.
  {
    std::vector<std::pair<std::string, attr_value>> labels;
    const std::string_view ns = res.get("service.namespace");
    const std::string_view svc = res.get("service.name");
    const std::string job =
        ns.empty() ? std::string(svc) : std::string(ns) + "/" + std::string(svc);
    if (!job.empty()) labels.emplace_back("job", attr_value{std::in_place_type<std::string>, job});
    if (const auto inst = res.get("service.instance.id"); !inst.empty())
      labels.emplace_back("instance", attr_value{std::in_place_type<std::string>, inst});
    for (const auto& [k, v] : res.attributes)
      if (k != "service.name" && k != "service.namespace" && k != "service.instance.id")
        labels.emplace_back(k, attr_value{std::in_place_type<std::string>, v});
    // OpenMetrics has an info type (family "target", sample target_info); 0.0.4 a gauge.
    out += om ? "# TYPE target info\n# HELP target Target metadata\n"
              : "# TYPE target_info gauge\n# HELP target_info Target metadata\n";
    out += "target_info";
    prometheus_labels(out, labels);
    out += " 1\n";
  }
  for (const metric_data& m : metrics) {
    if (m.points.empty()) continue;
    const std::string family = prometheus_family(m);
    const bool counter = m.type == metric_type::sum && m.monotonic;
    const std::string_view type = m.type == metric_type::histogram ? "histogram"
                                  : counter                        ? "counter"
                                                                   : "gauge";
    const std::string typed = counter && !om ? family + "_total" : family;
    out += "# TYPE " + typed + " " + std::string(type) + "\n";
    if (!m.description.empty()) {
      out += "# HELP " + typed + " ";
      for (const char c : m.description) {
        if (c == '\\')
          out += "\\\\";
        else if (c == '\n')
          out += "\\n";
        else if (c == '"' && om)
          out += "\\\"";
        else
          out += c;
      }
      out += '\n';
    }
    for (const metric_point& p : m.points) {
      if (m.type != metric_type::histogram) {
        out += counter ? family + "_total" : family;
        prometheus_labels(out, p.attributes);
        out += ' ';
        if (p.is_int)
          fmt::format_to(std::back_inserter(out), "{}", p.int_value);
        else
          prometheus_number(out, p.double_value);
        out += '\n';
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < p.bucket_counts.size(); ++i) {
        cumulative += p.bucket_counts[i];
        std::string le = "le=\"";
        if (i < m.bounds.size()) {
          // OpenMetrics wants canonical floats ("1.0"); the shortest form otherwise.
          std::string b;
          prometheus_number(b, m.bounds[i]);
          if (om && b.find_first_of(".eE") == std::string::npos) b += ".0";
          le += b;
        } else {
          le += "+Inf";
        }
        le += '"';
        out += family + "_bucket";
        prometheus_labels(out, p.attributes, le);
        fmt::format_to(std::back_inserter(out), " {}", cumulative);
        if (om) {
          // The exemplar of this bucket: one whose value falls into it.
          const double lo = i == 0 ? -__builtin_inf() : m.bounds[i - 1];
          const double hi = i < m.bounds.size() ? m.bounds[i] : __builtin_inf();
          for (const exemplar& e : p.exemplars)
            if (e.value > lo && e.value <= hi && e.span_id != 0) {
              prometheus_exemplar(out, e);
              break;
            }
        }
        out += '\n';
      }
      out += family + "_sum";
      prometheus_labels(out, p.attributes);
      out += ' ';
      prometheus_number(out, p.sum);
      out += '\n';
      out += family + "_count";
      prometheus_labels(out, p.attributes);
      fmt::format_to(std::back_inserter(out), " {}\n", p.count);
    }
  }
  if (om) out += "# EOF\n";
}

/// The exposition as a string.
inline std::string prometheus_text(std::span<const metric_data> metrics, const resource& res,
                                   prometheus_format f = prometheus_format::text_0_0_4) {
  std::string out;
  prometheus_text(out, metrics, res, f);
  return out;
}

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
