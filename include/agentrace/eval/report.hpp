// SPDX-License-Identifier: MIT
// The HTML report: one self-contained file (no network, no external scripts, styles or fonts)
// with the statistics summary, a latency histogram per span name (SVG, p95 marked), the
// selected traces as interactive waterfalls (click a span for its attributes, events and
// status) and tokens and cost per model. Its size is bounded whatever the input's size: only
// the selected traces are drawn, and their attribute detail shares a byte budget.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/detail/text.hpp"
#include "agentrace/eval/cost.hpp"
#include "agentrace/eval/dataset.hpp"
#include "agentrace/eval/stats.hpp"
#include "agentrace/eval/writer_options.hpp"
#include "agentrace/eval/trace.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// A trace drawn in detail, and why it was selected.
struct report_trace {
  const trace* t = nullptr;
  std::vector<std::string> reasons;
};

namespace detail {

inline void append_html(fmt::memory_buffer& b, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': append(b, "&amp;"); break;
      case '<': append(b, "&lt;"); break;
      case '>': append(b, "&gt;"); break;
      case '"': append(b, "&quot;"); break;
      case '\'': append(b, "&#39;"); break;
      default: b.push_back(c);
    }
  }
}

inline std::string report_ms(std::uint64_t ns) {
  return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6);
}

inline std::string report_usd(double usd) {
  if (usd == 0) return "$0";
  if (usd < 0.01) return fmt::format("${:.6f}", usd);
  return fmt::format("${:.4f}", usd);
}

// JSON text safe inside <script>: '<' never appears literally (only inside strings, where
// \u003c means the same).
inline void append_script_json(fmt::memory_buffer& out, const fmt::memory_buffer& json) {
  for (char c : json) {
    if (c == '<')
      append(out, "\\u003c");
    else
      out.push_back(c);
  }
}

// A histogram of sorted durations as inline SVG, with the p95 marked. Log-scaled bins when
// the durations span more than two decades.
inline void write_histogram(fmt::memory_buffer& b, const std::deque<std::uint64_t>& sorted,
                            std::uint64_t p95, std::size_t bins) {
  constexpr int w = 360, h = 96, pad_b = 18, pad_t = 14;
  if (sorted.empty() || bins == 0) return;
  const double lo_ns = static_cast<double>(std::max<std::uint64_t>(sorted.front(), 1));
  const double hi_ns = static_cast<double>(std::max<std::uint64_t>(sorted.back(), 1));
  const bool log_scale = hi_ns / lo_ns > 100;
  const auto pos = [&](double ns) {  // 0..1 along the x axis
    if (hi_ns <= lo_ns) return 0.5;
    ns = std::clamp(ns, lo_ns, hi_ns);
    return log_scale ? std::log(ns / lo_ns) / std::log(hi_ns / lo_ns)
                     : (ns - lo_ns) / (hi_ns - lo_ns);
  };
  std::vector<std::uint64_t> count(bins, 0);
  for (std::uint64_t d : sorted) {
    auto k = static_cast<std::size_t>(pos(static_cast<double>(std::max<std::uint64_t>(d, 1))) *
                                      static_cast<double>(bins));
    ++count[std::min(k, bins - 1)];
  }
  const std::uint64_t top = *std::max_element(count.begin(), count.end());
  fmt::format_to(std::back_inserter(b),
                 "<svg class=\"hist\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" "
                 "role=\"img\" data-p95-ms=\"{2}\" data-scale=\"{3}\">",
                 w, h, report_ms(p95), log_scale ? "log" : "linear");
  const double bw = static_cast<double>(w) / static_cast<double>(bins);
  const int plot_h = h - pad_b - pad_t;
  for (std::size_t i = 0; i < bins; ++i) {
    if (!count[i]) continue;
    const double bh = std::max(1.0, static_cast<double>(plot_h) * static_cast<double>(count[i]) /
                                        static_cast<double>(top));
    fmt::format_to(std::back_inserter(b),
                   "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\">"
                   "<title>{} span{}</title></rect>",
                   static_cast<double>(i) * bw + 0.5, pad_t + plot_h - bh, std::max(bw - 1, 1.0),
                   bh, count[i], count[i] == 1 ? "" : "s");
  }
  const double x95 = pos(static_cast<double>(std::max<std::uint64_t>(p95, 1))) * w;
  fmt::format_to(std::back_inserter(b),
                 "<line class=\"p95\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\"/>"
                 "<text class=\"p95\" x=\"{3:.1f}\" y=\"10\" text-anchor=\"{4}\">p95 {5} ms</text>",
                 x95, pad_t - 2, h - pad_b, x95, x95 > w * 0.6 ? "end" : "start", report_ms(p95));
  fmt::format_to(std::back_inserter(b),
                 "<line class=\"axis\" x1=\"0\" x2=\"{0}\" y1=\"{1}\" y2=\"{1}\"/>"
                 "<text x=\"0\" y=\"{2}\">{3} ms</text>"
                 "<text x=\"{0}\" y=\"{2}\" text-anchor=\"end\">{4} ms{5}</text></svg>",
                 w, h - pad_b + 0.5, h - 4, report_ms(sorted.front()), report_ms(sorted.back()),
                 log_scale ? " (log)" : "");
}

inline void write_value_json(fmt::memory_buffer& b, const attr_value& v, std::size_t max) {
  write_json_string(b, cut(full_value_text(v), max));
}

inline void write_attrs_json(fmt::memory_buffer& b,
                             const std::vector<std::pair<std::string, attr_value>>& attrs,
                             std::size_t max) {
  b.push_back('[');
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    if (i) b.push_back(',');
    b.push_back('[');
    write_json_string(b, attrs[i].first);
    b.push_back(',');
    write_value_json(b, attrs[i].second, max);
    b.push_back(']');
  }
  b.push_back(']');
}

inline constexpr std::string_view report_css = R"css(
:root{--fg:#1d2330;--mut:#5b6475;--bg:#fff;--pan:#f5f7fa;--line:#dde2ea;--bar:#4f7cd9;--err:#d64045;--acc:#2a9d8f}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:16px 24px;background:#1d2330;color:#fff}
header h1{margin:0;font-size:20px;font-weight:600}
header p{margin:4px 0 0;color:#c3cad6;font-size:12px}
main{padding:8px 24px 40px;max-width:1400px}
h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:var(--pan);border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}
.card span{color:var(--mut);font-size:12px}
.card.bad b{color:var(--err)}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:var(--pan);font-weight:600}
td.name,th.name,td.model,td.trace{text-align:left}
td.name{max-width:420px;overflow:hidden;text-overflow:ellipsis}
tr.has-err td.errors{color:var(--err);font-weight:600}
.note{color:var(--mut);font-size:12px;margin:6px 0}
.side{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.side .note{flex-basis:100%;order:3}
.hists{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;background:var(--pan);border:1px solid var(--line);border-radius:6px;padding:6px 8px}
figcaption{font-size:12px;font-weight:600;max-width:360px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
svg.hist rect{fill:var(--bar)}
svg.hist text{font-size:10px;fill:var(--mut)}
svg.hist line.p95{stroke:var(--err);stroke-width:1.5;stroke-dasharray:4 2}
svg.hist text.p95{fill:var(--err);font-weight:600}
svg.hist line.axis{stroke:#9aa3b2}
.trace{border:1px solid var(--line);border-radius:6px;margin:14px 0;overflow:hidden}
.trace>.th{background:var(--pan);padding:8px 12px;border-bottom:1px solid var(--line)}
.trace .tid{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:600}
.trace .tmeta{color:var(--mut);font-size:12px;margin-left:8px}
.trace .reason{font-size:12px;color:#8a4b00;margin-top:2px}
.rows{padding:4px 0}
.row{display:grid;grid-template-columns:minmax(260px,34%) 1fr 90px;align-items:center;height:22px;cursor:pointer;font-size:12px}
.row:hover{background:#eef3fb}
.row.sel{background:#dce8fb}
.row .lbl{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-right:8px}
.row .lane{position:relative;height:12px;background:linear-gradient(90deg,#f0f2f5 1px,transparent 1px);background-size:10% 100%}
.row .bar{position:absolute;top:0;height:12px;min-width:2px;background:var(--bar);border-radius:2px}
.row.err .bar{background:var(--err)}
.row.err .lbl{color:var(--err);font-weight:600}
.row .d{text-align:right;color:var(--mut);padding-right:10px;font-variant-numeric:tabular-nums}
.mark{display:inline-block;width:14px;color:var(--err)}
.detail{display:none;border-top:1px solid var(--line);background:#fbfcfe;padding:10px 14px}
.detail.open{display:block}
.detail h3{margin:0 0 6px;font-size:14px}
.detail .st-err{color:var(--err);font-weight:600}
.detail table{margin:6px 0 10px}
.detail td{text-align:left;white-space:pre-wrap;word-break:break-word;vertical-align:top;max-width:900px}
.detail td.k{font-family:ui-monospace,Menlo,Consolas,monospace;color:#3b4a66;white-space:nowrap}
.more{padding:4px 12px;color:var(--mut);font-size:12px}
)css";

inline constexpr std::string_view report_js = R"js(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('agentrace-data').textContent);
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function ms(ns) { return (ns / 1e6).toFixed(3) + ' ms'; }
  function table(rows, head) {
    var t = el('table', 'attrs');
    if (head) {
      var hr = el('tr');
      head.forEach(function (h) { hr.appendChild(el('th', null, h)); });
      t.appendChild(hr);
    }
    rows.forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(el('td', 'k', r[0]));
      tr.appendChild(el('td', 'v', r[1]));
      t.appendChild(tr);
    });
    return t;
  }
  function show(row) {
    var ti = +row.getAttribute('data-t'), si = +row.getAttribute('data-s');
    var tr = data.traces[ti], s = tr.spans[si];
    var sec = row.closest('.trace');
    sec.querySelectorAll('.row.sel').forEach(function (r) { r.classList.remove('sel'); });
    row.classList.add('sel');
    var d = sec.querySelector('.detail');
    d.textContent = '';
    d.appendChild(el('h3', null, s.name));
    var st = el('div', s.status === 'error' ? 'status st-err' : 'status',
                'status: ' + s.status + (s.message ? ' - ' + s.message : ''));
    d.appendChild(st);
    d.appendChild(table([
      ['span_id', s.id], ['parent', s.parent || '(root)'], ['kind', s.kind],
      ['start', '+' + ms(s.start)], ['duration', ms(s.dur)]]));
    var h = el('div', 'sub', 'attributes (' + s.attrs.length + ')');
    d.appendChild(h);
    if (s.attrs.length) d.appendChild(table(s.attrs));
    if (s.detail === false) d.appendChild(el('div', 'note', 'attributes and events not kept: the report\'s detail budget was used up'));
    d.appendChild(el('div', 'sub', 'events (' + s.events.length + ')'));
    s.events.forEach(function (ev) {
      d.appendChild(el('div', 'event', ev.name + ' at +' + ms(ev.t)));
      if (ev.attrs.length) d.appendChild(table(ev.attrs));
    });
    d.classList.add('open');
  }
  document.querySelectorAll('.row').forEach(function (row) {
    row.addEventListener('click', function () { show(row); });
    row.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); show(row); }
    });
  });
  document.body.setAttribute('data-ready', '1');
})();
)js";

// One trace: header (id, reasons, duration, cost), the waterfall rows, and its detail panel;
// the spans' detail goes to `json` (data.traces[ti]).
inline void write_trace(fmt::memory_buffer& b, fmt::memory_buffer& json, const report_trace& rt,
                        std::size_t ti, const price_table* prices, const report_options& o,
                        std::size_t& budget) {
  const trace& t = *rt.t;
  const auto order = walk(t);
  const std::uint64_t t0 = t.start_unix_ns(), total = std::max<std::uint64_t>(t.duration_ns(), 1);
  double cost = 0;
  bool priced = false;
  if (prices)
    for (const auto& s : t.spans())
      if (const auto u = usage_of(s); u.any)
        if (const model_price* p = prices->find(model_of(s))) {
          cost += cost_of(u, *p);
          priced = true;
        }
  const std::string tid = to_hex(t.id());
  append(b, "<section class=\"trace\" data-trace-id=\"");
  append(b, tid);
  fmt::format_to(std::back_inserter(b),
                 "\" data-spans=\"{}\" data-errors=\"{}\"><div class=\"th\"><span "
                 "class=\"tid\">{}</span><span class=\"tmeta\">",
                 t.spans().size(), t.error_count(), tid);
  std::string meta = fmt::format("{} span{}, {} ms, {} error{}", t.spans().size(),
                                 t.spans().size() == 1 ? "" : "s", report_ms(t.duration_ns()),
                                 t.error_count(), t.error_count() == 1 ? "" : "s");
  if (const std::string svc = t.service_name(); !svc.empty()) meta += ", " + svc;
  if (priced) meta += ", " + report_usd(cost);
  meta += ", " + agentrace::detail::rfc3339_text(t.start_unix_ns());
  append_html(b, meta);
  append(b, "</span>");
  for (const auto& r : rt.reasons) {
    append(b, "<div class=\"reason\">selected: ");
    append_html(b, r);
    append(b, "</div>");
  }
  append(b, "</div><div class=\"rows\">");

  if (ti) json.push_back(',');
  append(json, "{\"id\":\"");
  append(json, tid);
  append(json, "\",\"spans\":[");
  const std::size_t shown = std::min(order.size(), o.max_spans_per_trace);
  for (std::size_t k = 0; k < shown; ++k) {
    const auto [i, depth] = order[k];
    const span_data& s = t.spans()[i];
    const bool err = s.status == status_code::error;
    const std::uint64_t off = s.start_unix_ns >= t0 ? s.start_unix_ns - t0 : 0;
    const double left = 100.0 * static_cast<double>(off) / static_cast<double>(total);
    const double width = 100.0 * static_cast<double>(s.duration_ns()) / static_cast<double>(total);
    fmt::format_to(std::back_inserter(b),
                   "<div class=\"row{}\" tabindex=\"0\" data-t=\"{}\" data-s=\"{}\" "
                   "data-span-id=\"",
                   err ? " err" : "", ti, k);
    write_hex64(b, s.span_id);
    fmt::format_to(
        std::back_inserter(b),
        "\"><div class=\"lbl\" style=\"padding-left:{}px\"><span class=\"mark\">{}</span>",
        4 + 14 * std::min<std::size_t>(depth, 24), err ? "&#9888;" : "");
    append_html(b, s.name);
    fmt::format_to(
        std::back_inserter(b),
        "</div><div class=\"lane\"><div class=\"bar\" style=\"left:{:.3f}%;width:{:.3f}%\">"
        "</div></div><div class=\"d\">{} ms</div></div>",
        std::min(left, 100.0), std::min(width, 100.0 - std::min(left, 100.0)),
        report_ms(s.duration_ns()));

    if (k) json.push_back(',');
    append(json, "{\"name\":");
    write_json_string(json, s.name);
    append(json, ",\"id\":\"");
    write_hex64(json, s.span_id);
    append(json, "\",\"parent\":\"");
    if (s.parent_span_id) write_hex64(json, s.parent_span_id);
    fmt::format_to(std::back_inserter(json), "\",\"kind\":\"{}\",\"start\":{},\"dur\":{},",
                   kind_text(s.kind), off, s.duration_ns());
    append(json, "\"status\":\"");
    append(json, err ? "error" : s.status == status_code::ok ? "ok" : "unset");
    append(json, "\",\"message\":");
    write_json_string(json, s.status_message);
    const std::size_t before = json.size();
    append(json, ",\"attrs\":");
    write_attrs_json(json, s.attributes, o.max_value_bytes);
    append(json, ",\"events\":[");
    const std::size_t ne = std::min(s.events.size(), o.max_events_per_span);
    for (std::size_t e = 0; e < ne; ++e) {
      const auto& ev = s.events[e];
      if (e) json.push_back(',');
      append(json, "{\"name\":");
      write_json_string(json, ev.name);
      fmt::format_to(std::back_inserter(json),
                     ",\"t\":{},\"attrs\":", ev.time_unix_ns >= t0 ? ev.time_unix_ns - t0 : 0);
      write_attrs_json(json, ev.attributes, o.max_value_bytes);
      json.push_back('}');
    }
    json.push_back(']');
    const std::size_t used = json.size() - before;
    if (used > budget) {  // over the budget: timing and status only
      json.resize(before);
      append(json, ",\"attrs\":[],\"events\":[],\"detail\":false");
      budget = 0;
    } else {
      budget -= used;
    }
    json.push_back('}');
  }
  append(json, "]}");
  append(b, "</div>");
  if (shown < order.size())
    fmt::format_to(std::back_inserter(b),
                   "<div class=\"more\">{} more spans not drawn (at most {} per trace)</div>",
                   order.size() - shown, o.max_spans_per_trace);
  append(b, "<div class=\"detail\"></div></section>\n");
}

}  // namespace detail

/// Writes the report. `st` holds the statistics of every input span (finished; with its
/// prices set when costs are wanted); `traces` the selected traces to draw.
inline void write_report(fmt::memory_buffer& b, span_stats& st,
                         const std::vector<report_trace>& traces, const price_table* prices,
                         const report_options& o = {}) {
  using detail::append;
  using detail::append_html;
  using detail::report_ms;
  st.finish();
  const auto rows = st.by_name();
  const auto models = st.by_model();
  const bool costs = prices != nullptr;

  append(b,
         "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\"><title>");
  append_html(b, o.title);
  append(b, "</title><style>");
  append(b, detail::report_css);
  append(b, "</style></head><body><header><h1>");
  append_html(b, o.title);
  append(b, "</h1><p>");
  append_html(b, o.inputs);
  append(b, "</p></header><main>\n");

  // Summary.
  append(b, "<h2>Summary</h2><div class=\"cards\" id=\"summary\">");
  const auto card = [&](const char* id, const std::string& value, const char* label, bool bad) {
    fmt::format_to(std::back_inserter(b), "<div class=\"card{}\"><b id=\"{}\">", bad ? " bad" : "",
                   id);
    append_html(b, value);
    fmt::format_to(std::back_inserter(b), "</b><span>{}</span></div>", label);
  };
  card("sum-spans", std::to_string(st.spans()), "spans", false);
  card("sum-traces", std::to_string(st.traces()), "traces", false);
  card("sum-errors", std::to_string(st.errors()), "errored spans", st.errors() != 0);
  if (st.spans())
    card("sum-range",
         agentrace::detail::rfc3339_text(st.first_start_unix_ns()) + " .. " +
             agentrace::detail::rfc3339_text(st.last_end_unix_ns()),
         "time range (UTC)", false);
  if (costs) card("sum-cost", detail::report_usd(st.cost_usd()), "cost (priced models)", false);
  append(b, "</div>");
  if (st.duplicates())
    fmt::format_to(
        std::back_inserter(b),
        "<p class=\"note\">{} duplicate spans (same trace and span id) counted once.</p>",
        st.duplicates());

  append(b,
         "<table id=\"names\"><tr><th class=\"name\">span name</th><th>count</th><th>errors</th>"
         "<th>error rate</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th>");
  if (costs) append(b, "<th>cost</th>");
  append(b, "</tr>");
  const std::size_t nrows = std::min(rows.size(), o.max_names);
  for (std::size_t i = 0; i < nrows; ++i) {
    const auto& r = rows[i];
    append(b, r.errors ? "<tr class=\"has-err\" data-name=\"" : "<tr data-name=\"");
    append_html(b, r.name);
    append(b, "\"><td class=\"name\">");
    append_html(b, r.name);
    fmt::format_to(
        std::back_inserter(b),
        "</td><td class=\"count\">{}</td><td class=\"errors\">{}</td><td "
        "class=\"error_rate\" data-value=\"{}\">{:.1f}%</td><td class=\"p50\">{}</td><td "
        "class=\"p95\">{}</td><td class=\"p99\">{}</td><td class=\"max\">{}</td>",
        r.count, r.errors, r.error_rate, r.error_rate * 100, report_ms(r.p50), report_ms(r.p95),
        report_ms(r.p99), report_ms(r.max));
    if (costs)
      fmt::format_to(std::back_inserter(b), "<td class=\"cost\">{}</td>",
                     r.cost_usd > 0 ? detail::report_usd(r.cost_usd) : std::string("-"));
    append(b, "</tr>\n");
  }
  append(b, "</table>");
  if (nrows < rows.size())
    fmt::format_to(std::back_inserter(b),
                   "<p class=\"note\">{} less frequent span names not listed (`agentrace-eval "
                   "stats` lists them all).</p>",
                   rows.size() - nrows);

  // Histograms.
  append(b, "<h2>Latency per span name</h2><div class=\"hists\">");
  const std::size_t nh = std::min(rows.size(), o.max_histograms);
  for (std::size_t i = 0; i < nh; ++i) {
    append(b, "<figure data-name=\"");
    append_html(b, rows[i].name);
    append(b, "\"><figcaption title=\"");
    append_html(b, rows[i].name);
    append(b, "\">");
    append_html(b, rows[i].name);
    fmt::format_to(std::back_inserter(b), " <small>({} spans)</small></figcaption>", rows[i].count);
    detail::write_histogram(b, st.durations(rows[i].name), rows[i].p95, o.histogram_bins);
    append(b, "</figure>");
  }
  append(b, "</div>");
  if (nh < rows.size())
    fmt::format_to(std::back_inserter(b),
                   "<p class=\"note\">Histograms of the {} most frequent names only.</p>", nh);

  // Tokens and cost.
  append(b, "<h2>Tokens and cost per model</h2><div class=\"side\">");
  if (models.empty()) {
    append(b, "<p class=\"note\" id=\"models\">No span reports a model or token usage.</p>");
  } else {
    append(b,
           "<table id=\"models\"><tr><th class=\"name\">model</th><th>spans</th><th>input "
           "tokens</th><th>cache read</th><th>cache write</th><th>output tokens</th>"
           "<th>reasoning</th><th>cost</th></tr>");
    for (const auto& m : models) {
      append(b, "<tr data-model=\"");
      append_html(b, m.model);
      append(b, "\"><td class=\"model\">");
      append_html(b, m.model);
      fmt::format_to(std::back_inserter(b),
                     "</td><td class=\"spans\">{}</td><td class=\"input\">{}</td><td>{}</td>"
                     "<td>{}</td><td class=\"output\">{}</td><td>{}</td><td class=\"cost\">{}</td>"
                     "</tr>\n",
                     m.spans, m.usage.input, m.usage.cache_read, m.usage.cache_write,
                     m.usage.output, m.usage.reasoning,
                     !costs     ? "no --prices"
                     : m.priced ? detail::report_usd(m.cost_usd)
                                : std::string("unpriced"));
    }
    append(b, "</table>");
    if (costs) {
      const auto unpriced = st.unpriced_models();
      if (!unpriced.empty()) {
        append(b, "<p class=\"note\" id=\"unpriced\">No price for: ");
        for (std::size_t i = 0; i < unpriced.size(); ++i) {
          if (i) append(b, ", ");
          append_html(b, unpriced[i]);
        }
        append(b, " (their cost is not counted).</p>");
      }
      const auto tc = st.by_trace_cost(o.max_cost_traces);
      if (!tc.empty()) {
        append(b,
               "<table id=\"trace-costs\"><tr><th class=\"name\">most expensive traces</th>"
               "<th>cost</th></tr>");
        for (const auto& c : tc)
          fmt::format_to(std::back_inserter(b),
                         "<tr><td class=\"trace\">{}</td><td class=\"cost\">{}</td></tr>",
                         to_hex(c.id), detail::report_usd(c.cost_usd));
        append(b, "</table>");
      }
    }
  }
  append(b, "</div>");

  // Traces.
  append(b, "<h2>Selected traces</h2><p class=\"note\" id=\"selection\">");
  std::string sel = o.query.empty() ? "Traces with an error and the trace of the slowest span of "
                                      "each name"
                                    : "Traces matching " + o.query;
  sel += fmt::format(": {} shown", traces.size());
  if (o.traces_matched > traces.size()) sel += fmt::format(" of {}", o.traces_matched);
  sel += ". Click a span for its attributes, events and status.";
  append_html(b, sel);
  append(b, "</p>\n");
  fmt::memory_buffer json;
  append(json, "{\"traces\":[");
  std::size_t budget = o.detail_budget;
  for (std::size_t i = 0; i < traces.size(); ++i)
    detail::write_trace(b, json, traces[i], i, prices, o, budget);
  append(json, "]}");
  append(b, "</main><script type=\"application/json\" id=\"agentrace-data\">");
  detail::append_script_json(b, json);
  append(b, "</script><script>");
  append(b, detail::report_js);
  append(b, "</script></body></html>\n");
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
