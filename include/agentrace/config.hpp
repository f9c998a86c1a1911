// SPDX-License-Identifier: MIT
// Configuration: the config struct, and the OpenTelemetry environment variables that fill what
// the code leaves unset.
#pragma once

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

#include "agentrace/detail/ascii.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/metrics/data.hpp"
#include "agentrace/sampler.hpp"
#include "agentrace/version.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

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
