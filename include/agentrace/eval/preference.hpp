// SPDX-License-Identifier: MIT
// Preference pairs for preference fine-tuning (OpenAI's DPO format: one JSON object per line
// with "input" {messages, tools}, "preferred_output" and "non_preferred_output") from error
// corrections: a step that failed (it or a span below it has status ERROR) and a later attempt
// of the same step (same name, same parent) that succeeded. The failed attempt's LLM output is
// the non-preferred answer to its input, the successful attempt's LLM output the preferred one.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/dataset.hpp"
#include "agentrace/eval/trace.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// One preference example.
struct preference_pair {
  nlohmann::json messages = nlohmann::json::array();  // the context: system + input messages
  nlohmann::json tools = nlohmann::json::array();     // OpenAI function tools offered, if captured
  nlohmann::json preferred;                           // [{"role":"assistant", ...}]
  nlohmann::json non_preferred;                       // [{"role":"assistant", ...}]
  std::string trace_id;
  std::string failed_span_id;     // the LLM span of the failed attempt (input, non-preferred)
  std::string corrected_span_id;  // the LLM span of the successful retry (preferred)
};

/// Pairs of a trace, and the corrections that could not become pairs.
struct preference_result {
  std::vector<preference_pair> pairs;
  std::size_t without_content = 0;  // a failed step and its fix, but no captured input/output
  std::size_t identical = 0;        // both attempts answered the same: nothing to prefer
};

namespace detail {

/// Failed steps and their first later successful attempt, as (failed, fixed) span indices:
/// siblings (same parent, or both roots) with the same name, the fixed one starting later.
inline std::vector<std::pair<std::size_t, std::size_t>> corrections(const trace& t) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const auto& spans = t.spans();
  std::vector<const std::vector<std::size_t>*> groups{&t.roots()};
  for (std::size_t i = 0; i < spans.size(); ++i)
    if (!t.children(i).empty()) groups.push_back(&t.children(i));
  for (const auto* g : groups)
    for (std::size_t a = 0; a < g->size(); ++a) {
      const std::size_t fi = (*g)[a];
      if (!subtree_failed(t, fi)) continue;
      for (std::size_t b = a + 1; b < g->size(); ++b) {
        const std::size_t si = (*g)[b];
        if (spans[si].name != spans[fi].name || spans[si].start_unix_ns < spans[fi].start_unix_ns)
          continue;
        if (subtree_failed(t, si)) continue;
        out.emplace_back(fi, si);
        break;  // the first later success
      }
    }
  return out;
}

// The last assistant message of an output, as a one-message list (the format wants one).
inline nlohmann::json last_assistant(const nlohmann::json& out) {
  for (auto it = out.rbegin(); it != out.rend(); ++it)
    if (it->value("role", "") == "assistant") return nlohmann::json::array({*it});
  return nlohmann::json::array();
}

// gen_ai.tool.definitions as OpenAI tools: [{"type":"function","function":{name, ...}}].
inline nlohmann::json tools_of(const span_data& s) {
  const attr_value* v = s.attr("gen_ai.tool.definitions");
  if (!v) return nlohmann::json::array();
  auto j = nlohmann::json::parse(full_value_text(*v), nullptr, false);
  nlohmann::json out = nlohmann::json::array();
  if (j.is_discarded() || !j.is_array()) return out;
  for (const auto& d : j) {
    if (!d.is_object()) continue;
    if (d.contains("function")) {  // already OpenAI's shape
      out.push_back(d);
      continue;
    }
    nlohmann::json f = {{"name", d.value("name", "")}};
    if (d.contains("description")) f["description"] = d["description"];
    if (d.contains("parameters")) f["parameters"] = d["parameters"];
    out.push_back({{"type", "function"}, {"function", std::move(f)}});
  }
  return out;
}

}  // namespace detail

/// The preference pairs of one trace (in the order the failed steps appear).
inline preference_result preference_pairs(const trace& t) {
  preference_result r;
  const auto& spans = t.spans();
  for (const auto& [fi, si] : detail::corrections(t)) {
    // The failed attempt's last LLM call with captured output; its input is the context.
    const std::size_t bad = detail::content_span(t, fi, content_keys::output, true);
    const std::size_t good = detail::content_span(t, si, content_keys::output, true);
    if (bad == trace::npos || good == trace::npos) {
      ++r.without_content;
      continue;
    }
    auto in = detail::input_of(spans[bad]);
    auto worse = detail::output_of(spans[bad]);
    auto better = detail::output_of(spans[good]);
    if (!in || !worse || !better || in->empty()) {
      ++r.without_content;
      continue;
    }
    preference_pair p;
    p.non_preferred = detail::last_assistant(*worse);
    p.preferred = detail::last_assistant(*better);
    if (p.preferred.empty() || p.non_preferred.empty()) {
      ++r.without_content;
      continue;
    }
    if (p.preferred == p.non_preferred) {
      ++r.identical;
      continue;
    }
    p.messages = std::move(*in);
    p.tools = detail::tools_of(spans[bad]);
    p.trace_id = to_hex(t.id());
    p.failed_span_id = to_hex(spans[bad].span_id);
    p.corrected_span_id = to_hex(spans[good].span_id);
    r.pairs.push_back(std::move(p));
  }
  return r;
}

/// One line of the preference dataset (no trailing newline); "metadata" (trace and span ids)
/// when asked.
inline std::string preference_line(const preference_pair& p, bool metadata = false) {
  const auto ordered = [](const nlohmann::json& v) {
    return nlohmann::ordered_json::parse(
        v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  nlohmann::ordered_json input = {{"messages", ordered(p.messages)}};
  if (!p.tools.empty()) input["tools"] = ordered(p.tools);
  nlohmann::ordered_json j = {{"input", std::move(input)},
                              {"preferred_output", ordered(p.preferred)},
                              {"non_preferred_output", ordered(p.non_preferred)}};
  if (metadata)
    j["metadata"] = {{"trace_id", p.trace_id},
                     {"failed_span_id", p.failed_span_id},
                     {"corrected_span_id", p.corrected_span_id}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
