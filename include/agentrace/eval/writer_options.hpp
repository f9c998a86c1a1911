// SPDX-License-Identifier: MIT
// The options of eval's writers (compact trees, evaluation records, fine-tuning examples, the
// HTML report), with their defaults: plain types over standard headers, shared by the writers
// (dataset.hpp, report.hpp) and the light entry points (light.hpp) that call them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// Attributes shown in waterfalls and kept in compact trees (exact keys, or prefixes ending
/// in '.'). Prompts and completions are handled separately (dataset.hpp's content_keys).
inline const std::vector<std::string>& default_key_attributes() {
  static const std::vector<std::string> keys = {"gen_ai.operation.name",
                                                "gen_ai.request.model",
                                                "gen_ai.response.model",
                                                "gen_ai.usage.",
                                                "gen_ai.response.finish_reasons",
                                                "gen_ai.tool.name",
                                                "gen_ai.tool.call.arguments",
                                                "gen_ai.tool.call.result",
                                                "gen_ai.agent.name",
                                                "gen_ai.data_source.id",
                                                "gen_ai.conversation.id",
                                                "db.system.name",
                                                "db.operation.name",
                                                "db.collection.name",
                                                "db.query.text",
                                                "db.response.returned_rows",
                                                "db.response.status_code",
                                                "error.type",
                                                "http.request.method",
                                                "http.response.status_code",
                                                "url.full",
                                                "url.path"};
  return keys;
}

struct tree_options {
  std::vector<std::string> key_attributes = default_key_attributes();
  bool all_attributes = false;            // keep every attribute
  bool content = true;                    // captured prompts / completions
  std::size_t max_value_length = 2000;    // per attribute value (0: no limit)
  std::size_t max_content_length = 8000;  // per prompt / completion (0: no limit)
  std::size_t max_depth = 64;             // deeper spans are listed flat under the last kept level
};

/// The default judge prompt. Placeholders: {{trace_id}}, {{service}}, {{reasons}}, {{tree}}
/// (indented text), {{tree_json}} (compact JSON), {{rubric}}.
inline constexpr std::string_view default_judge_template =
    "You are evaluating one run of an AI agent, recorded as an OpenTelemetry trace.\n"
    "\n"
    "Rubric:\n{{rubric}}\n"
    "\n"
    "Trace {{trace_id}} of service {{service}} was selected because:\n{{reasons}}"
    "\n"
    "Call tree (indented by nesting; [span id] name (duration); ERROR marks failed steps):\n"
    "{{tree}}\n"
    "Answer with one JSON object and nothing else:\n"
    "{\"score\": <number from 0 (bad) to 1 (good)>, \"label\": \"<short label, e.g. pass or "
    "fail>\", "
    "\"explanation\": \"<one to three sentences>\", \"spans\": [{\"span_id\": \"<16 hex digits "
    "from the "
    "tree>\", \"label\": \"<e.g. correct, incorrect, relevant, misleading, root_cause>\", "
    "\"note\": "
    "\"<optional>\"}]}\n";

/// The default rubric.
inline constexpr std::string_view default_rubric =
    "Did the agent complete the user's task correctly and efficiently? Label the steps that caused "
    "a failure or wasted work, and retrieved documents or tool results that were relevant or "
    "misleading.";

struct eval_record_options {
  tree_options tree{};
  std::string judge_template{default_judge_template};
  std::string rubric{default_rubric};
};

struct finetune_options {
  bool plain = true;        // successful LLM spans: their own input + output
  bool corrections = true;  // failed step + later successful attempt of the same step
};

/// The HTML report (report.hpp).
struct report_options {
  std::string title = "agentrace report";
  std::string inputs;                // what was read (file names), shown under the title
  std::string query;                 // the selecting query ("" : errors and the slowest per name)
  std::uint64_t traces_matched = 0;  // before any limit, for "N of M shown"
  std::size_t max_spans_per_trace = 1000;            // spans drawn per trace
  std::size_t detail_budget = std::size_t(4) << 20;  // bytes of attribute/event detail in all
  std::size_t max_value_bytes = 1024;                // per attribute value
  std::size_t max_events_per_span = 32;
  std::size_t max_names = 500;      // rows of the per-name table
  std::size_t max_histograms = 60;  // most frequent names get a histogram
  std::size_t histogram_bins = 40;
  std::size_t max_cost_traces = 10;  // most expensive traces listed
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
