// SPDX-License-Identifier: MIT
// The definitions of <agentrace/eval/light.hpp>'s writers (write_dataset, report_html), over
// dataset.hpp, preference.hpp and report.hpp: inline, included by light.hpp header-only; in
// compiled mode compiled once into the agentrace library (src/agentrace_eval_writers.cpp).
#pragma once
#define AGENTRACE_EVAL_LIGHT_WRITERS_IMPL_INCLUDED 1

#include <fmt/format.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/cost.hpp"
#include "agentrace/eval/dataset.hpp"
#include "agentrace/eval/light.hpp"
#include "agentrace/eval/preference.hpp"
#include "agentrace/eval/report.hpp"
#include "agentrace/eval/stats.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

namespace detail {
/// The trace of `traces` each selection names (nullptr: not there), in the selections' order.
inline std::vector<const trace*> selected_traces(const std::vector<trace>& traces,
                                                 const std::vector<selection>& selected) {
  std::unordered_map<trace_id, const trace*, trace_id_hash> by_id;
  for (const trace& t : traces) by_id.emplace(t.id(), &t);
  std::vector<const trace*> out;
  out.reserve(selected.size());
  for (const selection& s : selected) {
    auto it = by_id.find(s.id);
    out.push_back(it == by_id.end() ? nullptr : it->second);
  }
  return out;
}
}  // namespace detail

AGENTRACE_SETUP_INLINE dataset_counts write_dataset(
    const std::vector<trace>& traces, const std::vector<selection>& selected,
    const std::function<void(std::string_view line)>& sink, const dataset_options& options) {
  dataset_counts n;
  const std::vector<const trace*> chosen = detail::selected_traces(traces, selected);
  fmt::memory_buffer b;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const trace* t = chosen[i];
    if (!t) {
      ++n.missing;
      continue;
    }
    switch (options.kind) {
      case dataset_kind::eval:
        b.clear();
        write_eval_record(b, *t, selected[i].reasons, options.eval);
        sink(std::string_view(b.data(), b.size()));
        ++n.lines;
        break;
      case dataset_kind::finetune:
        for (const finetune_example& ex : finetune_examples(*t, options.finetune)) {
          sink(finetune_line(ex, options.metadata));
          ++n.lines;
          n.corrections += ex.correction ? 1 : 0;
        }
        break;
      case dataset_kind::preference: {
        const preference_result r = preference_pairs(*t);
        for (const preference_pair& p : r.pairs) sink(preference_line(p, options.metadata));
        n.lines += r.pairs.size();
        n.without_content += r.without_content;
        n.identical += r.identical;
        break;
      }
    }
  }
  return n;
}

AGENTRACE_SETUP_INLINE std::string report_html(const std::vector<trace>& traces,
                                               const std::vector<selection>& selected,
                                               const report_options& options,
                                               const std::string& prices_file) {
  std::optional<price_table> prices;
  if (!prices_file.empty()) prices = price_table::load(prices_file);
  span_stats st;
  if (prices) st.set_prices(&*prices);
  for (const trace& t : traces)
    for (const span_data& s : t.spans()) st.add(s);
  st.finish();
  const std::vector<const trace*> chosen = detail::selected_traces(traces, selected);
  std::vector<report_trace> drawn;
  drawn.reserve(chosen.size());
  for (std::size_t i = 0; i < chosen.size(); ++i)
    if (chosen[i]) drawn.push_back({chosen[i], selected[i].reasons});
  report_options o = options;
  if (o.traces_matched == 0) o.traces_matched = selected.size();
  fmt::memory_buffer b;
  write_report(b, st, drawn, prices ? &*prices : nullptr, o);
  return fmt::to_string(b);
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
