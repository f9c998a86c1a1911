// SPDX-License-Identifier: MIT
// Console exporter: one indented tree per trace with durations, status and attributes; errors
// highlighted. Traces are assembled first (see detail/trace_assembler.hpp) and printed once
// their local root has ended and the wait for stragglers has passed (checked on each batch and on
// the collector's idle tick, exporter::on_idle).
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/config.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/text.hpp"
#include "agentrace/detail/trace_assembler.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/otlp/logs.hpp"

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
