// SPDX-License-Identifier: MIT
// The light eval entry points, for a file that reads OTLP-JSON into traces, summarizes them per
// span name, selects traces with a query (the query language of query.hpp) and writes datasets
// or the HTML report of what it selected, and needs nothing else of agentrace/eval/:
//
//   #include <agentrace/eval/light.hpp>
//   namespace ev = agentrace::eval;
//   ev::traces_read in = ev::read_all({"traces.jsonl"});
//   ev::trace_summary summary(in.traces);
//   for (const ev::selection& s : ev::trace_query::parse("errors or duration > p95")
//                                     .select(in.traces, &summary)) ...
//   ev::write_dataset(in.traces, picked, [&](std::string_view line) { ... });
//   std::string html = ev::report_html(in.traces, picked);
//
// It declares them with standard headers and agentrace's trace types only: no nlohmann_json,
// fmt, the reader's parser, the query's evaluator or the writers. Header-only (the default) it
// also includes their definitions (detail/light_impl.hpp, over reader.hpp, stats.hpp and
// query.hpp; detail/light_writers_impl.hpp, over dataset.hpp, preference.hpp and report.hpp); built
// with the CMake option AGENTRACE_COMPILED_LIB they are compiled once into the agentrace library
// and this header only declares them. The whole API (<agentrace/eval/eval.hpp>) stays
// header-only in both modes; summary() and get() hand its objects over.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/trace.hpp"
#include "agentrace/eval/types.hpp"
#include "agentrace/eval/writer_options.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

class span_stats;  // stats.hpp
class query;       // query_types.hpp

/// What read_all() read: whole traces (in the order their first span was read), and what the
/// reader counted and reported (diagnostics: at most reader_options::max_kept_diagnostics).
struct traces_read {
  std::vector<trace> traces;
  read_counts counts;
  std::vector<diagnostic> diagnostics;
};

/// Reads every span of `paths` (OTLP-JSON documents or JSON lines; "-" is standard input) into
/// whole traces, as read_traces() of reader.hpp. Bad input is skipped, counted and reported in
/// the result, never thrown.
AGENTRACE_SETUP_INLINE traces_read read_all(const std::vector<std::string>& paths,
                                            reader_options options = {});

/// Statistics per span name of the traces added (span_stats of stats.hpp). Const members sort
/// what was added since the last call: not for concurrent use.
class trace_summary {
 public:
  AGENTRACE_SETUP_INLINE trace_summary();
  AGENTRACE_SETUP_INLINE explicit trace_summary(const std::vector<trace>& traces);
  AGENTRACE_SETUP_INLINE trace_summary(trace_summary&&) noexcept;
  AGENTRACE_SETUP_INLINE trace_summary& operator=(trace_summary&&) noexcept;
  AGENTRACE_SETUP_INLINE ~trace_summary();

  /// Adds every span of `t` (a span seen before counts as a duplicate only).
  AGENTRACE_SETUP_INLINE void add(const trace& t);
  /// The per-name table, most frequent names first (ties by name).
  AGENTRACE_SETUP_INLINE std::vector<name_stats> by_name() const;
  /// The p-th percentile (nearest rank) of the durations of spans named `name`, in ns.
  AGENTRACE_SETUP_INLINE std::optional<std::uint64_t> percentile(std::string_view name,
                                                                 double p) const;
  AGENTRACE_SETUP_INLINE std::uint64_t spans() const noexcept;
  AGENTRACE_SETUP_INLINE std::uint64_t traces() const noexcept;
  AGENTRACE_SETUP_INLINE std::uint64_t errors() const noexcept;
  AGENTRACE_SETUP_INLINE std::uint64_t duplicates() const noexcept;
  /// The statistics themselves, sorted (the type is stats.hpp's).
  AGENTRACE_SETUP_INLINE const span_stats& stats() const;

 private:
  std::unique_ptr<span_stats> s_;
};

/// A parsed query (query.hpp's syntax: `errors`, `db.query > p95`, `duration > 2s and not
/// kind = client` ...) that selects whole traces.
class trace_query {
 public:
  /// Parses `text`; throws query_error (a std::invalid_argument whose what() shows the text
  /// with a caret under the offending column) when it does not parse.
  AGENTRACE_SETUP_INLINE static trace_query parse(std::string_view text);
  AGENTRACE_SETUP_INLINE trace_query(const trace_query& o);
  AGENTRACE_SETUP_INLINE trace_query& operator=(const trace_query& o);
  AGENTRACE_SETUP_INLINE trace_query(trace_query&&) noexcept;
  AGENTRACE_SETUP_INLINE trace_query& operator=(trace_query&&) noexcept;
  AGENTRACE_SETUP_INLINE ~trace_query();

  /// The query in its canonical text form.
  AGENTRACE_SETUP_INLINE std::string to_string() const;
  /// It compares with percentiles (`> p95`): match() and select() need a summary.
  AGENTRACE_SETUP_INLINE bool needs_stats() const;
  /// The selection (with one reason per satisfied predicate) if `t` matches. Throws
  /// std::invalid_argument when the query needs statistics and `stats` is null.
  AGENTRACE_SETUP_INLINE std::optional<selection> match(const trace& t,
                                                        const trace_summary* stats = nullptr) const;
  /// The traces of `traces` that match, in their order.
  AGENTRACE_SETUP_INLINE std::vector<selection> select(const std::vector<trace>& traces,
                                                       const trace_summary* stats = nullptr) const;
  /// The query itself (the type is query_types.hpp's).
  AGENTRACE_SETUP_INLINE const query& get() const noexcept;

 private:
  AGENTRACE_SETUP_INLINE explicit trace_query(std::unique_ptr<query> q) noexcept;
  std::unique_ptr<query> q_;
};

/// Which dataset write_dataset() writes (dataset.hpp and preference.hpp describe each).
enum class dataset_kind : std::uint8_t {
  eval,        // one evaluation record per trace: compact call tree + judge prompt
  finetune,    // chat examples from LLM spans with captured content, and correction pairs
  preference,  // preferred / non-preferred answers from a failed step and its later fix
};

/// What write_dataset() writes and how.
struct dataset_options {
  dataset_kind kind = dataset_kind::eval;
  eval_record_options eval{};   // kind eval: the compact tree, judge template and rubric
  finetune_options finetune{};  // kind finetune: plain examples, correction pairs
  bool metadata = false;        // finetune, preference: trace and span ids on each line
};

/// What write_dataset() wrote, and what it skipped.
struct dataset_counts {
  std::size_t lines = 0;
  std::size_t corrections = 0;      // finetune: lines that are correction pairs
  std::size_t without_content = 0;  // preference: a failed step and its fix, no captured messages
  std::size_t identical = 0;        // preference: both attempts answered the same
  std::size_t missing = 0;          // selections whose trace is not in `traces`
};

/// Writes the dataset lines (one JSON document each, without the newline) of the selected
/// traces to `sink`, in the order of `selected`: each selection's trace is looked up in
/// `traces` by id, and an eval record says why it was selected (the selection's reasons).
AGENTRACE_SETUP_INLINE dataset_counts write_dataset(
    const std::vector<trace>& traces, const std::vector<selection>& selected,
    const std::function<void(std::string_view line)>& sink, const dataset_options& options = {});

/// The HTML report (report.hpp) of `traces`: statistics, histograms and tokens per model of
/// every span of `traces`, and the waterfalls of the `selected` ones, in their order, with
/// their reasons. `prices_file` (a price table in one of cost.hpp's formats; empty: none) adds
/// costs; a file that cannot be read or parsed throws std::runtime_error naming it.
AGENTRACE_SETUP_INLINE std::string report_html(const std::vector<trace>& traces,
                                               const std::vector<selection>& selected,
                                               const report_options& options = {},
                                               const std::string& prices_file = {});

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END

// Header-only: the definitions, inline. The library of compiled mode includes each of them in
// a translation unit of its own (src/agentrace_eval*.cpp).
#if AGENTRACE_DETAIL_SETUP_DEFINITIONS && !defined(AGENTRACE_DETAIL_BUILDING_LIB)
#include "agentrace/eval/detail/light_impl.hpp"
#include "agentrace/eval/detail/light_writers_impl.hpp"
#endif
