// SPDX-License-Identifier: MIT
// The Prometheus exposition of metrics, for users who serve it themselves (the civetweb
// endpoint in exporters/prometheus.hpp uses it too): text format 0.0.4, or OpenMetrics 1.0 with
// exemplars. Names follow OpenTelemetry's Prometheus compatibility rules: invalid characters
// become `_`, the unit is appended as a suffix (`_seconds`, `_bytes`; `{...}` annotations are
// dropped), monotonic sums end in `_total`, non-monotonic sums are gauges, and the resource
// becomes a `target_info` gauge with `job` and `instance`.
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/metrics/data.hpp"

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
