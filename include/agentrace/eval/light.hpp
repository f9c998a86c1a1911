// SPDX-License-Identifier: MIT
// The light eval entry points, for a file that reads OTLP-JSON into traces, summarizes them per
// span name and selects traces with a query (the query language of query.hpp), and needs
// nothing else of agentrace/eval/:
//
//   #include <agentrace/eval/light.hpp>
//   namespace ev = agentrace::eval;
//   ev::traces_read in = ev::read_all({"traces.jsonl"});
//   ev::trace_summary summary(in.traces);
//   for (const ev::selection& s : ev::trace_query::parse("errors or duration > p95")
//                                     .select(in.traces, &summary)) ...
//
// It declares them with standard headers and agentrace's trace types only: no nlohmann_json,
// fmt, the reader's parser or the query's evaluator. Header-only (the default) it also includes
// their definitions (detail/light_impl.hpp, over reader.hpp, stats.hpp and query.hpp); built
// with the CMake option AGENTRACE_COMPILED_LIB they are compiled once into the agentrace library
// and this header only declares them. The whole API (<agentrace/eval/eval.hpp>) stays
// header-only in both modes; summary() and get() hand its objects over.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/trace.hpp"
#include "agentrace/eval/types.hpp"

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

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END

#if AGENTRACE_DETAIL_SETUP_DEFINITIONS
#include "agentrace/eval/detail/light_impl.hpp"
#endif
