// SPDX-License-Identifier: MIT
// The plain types of the eval entry points, with standard headers and trace_id only: what the
// reader reports (diagnostic, read_counts) and takes (reader_options), a row of the per-name
// table (name_stats) and a selected trace (selection). Included by reader.hpp, stats.hpp,
// selection.hpp and the light <agentrace/eval/light.hpp>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// One problem found in the input.
struct diagnostic {
  std::string file;
  std::uint64_t line{0};  // 0: the file as a whole
  std::string message;
  /// `file:line: message` (or `file: message`).
  std::string to_string() const {
    return line ? file + ":" + std::to_string(line) + ": " + message : file + ": " + message;
  }
};

struct reader_options {
  /// Deepest JSON nesting accepted (objects + arrays). Deeper lines are rejected, never
  /// recursed into. OTLP spans need ~10 levels; structured message content ~30.
  std::size_t max_depth = 128;
  /// Longer lines are skipped without being held in memory.
  std::size_t max_line_bytes = std::size_t(256) << 20;
  /// How many diagnostics are kept in diagnostics() (all are counted).
  std::size_t max_kept_diagnostics = 100;
  /// Called for every diagnostic (e.g. to print it); may be empty.
  std::function<void(const diagnostic&)> on_diagnostic{};
  /// When false, span attributes, events and links are not kept (faster scans that need only
  /// names, ids, times and status). Attributes named in `keep_attributes` are kept anyway.
  bool attributes = true;
  std::vector<std::string> keep_attributes{};
  /// Called after each line of a JSON-lines file (and once after a whole document) with the
  /// file's index (files()) and the bytes of it read so far; may be empty.
  std::function<void(std::uint32_t file, std::uint64_t bytes)> on_progress{};
  /// JSON-lines input: a line (1-based) for which this returns false is skipped unparsed and
  /// uncounted (a later pass reading only the lines an earlier pass found); may be empty.
  std::function<bool(std::uint32_t file, std::uint64_t line)> want_line{};
  /// Look for parent cycles (spans that are their own ancestors) across everything read, and
  /// report each as a diagnostic at its first span's place when read_files() ends (or at
  /// report_parent_cycles()). Costs 32 bytes a span until then.
  bool find_parent_cycles = false;
  /// How diagnostics name an input path (e.g. "<stdin>" for "-"); may be empty (the path).
  std::function<std::string(const std::string& path)> display_name{};
};

/// What the reader saw, cumulative over every read call.
struct read_counts {
  std::uint64_t files = 0;
  std::uint64_t lines = 0;        // non-blank JSON lines (or documents)
  std::uint64_t lines_bad = 0;    // skipped whole: not JSON, truncated, too deep, too long
  std::uint64_t spans = 0;        // delivered
  std::uint64_t spans_bad = 0;    // skipped: bad ids, missing times, wrong types
  std::uint64_t diagnostics = 0;  // all problems, including warnings about ignored fields
  std::uint64_t files_unreadable = 0;
  std::uint64_t parent_cycles = 0;  // found by find_parent_cycles (each also a diagnostic)
};

/// One row of the per-name table. Durations in nanoseconds.
struct name_stats {
  std::string name;
  std::uint64_t count = 0;
  std::uint64_t errors = 0;
  double error_rate = 0;  // errors / count
  std::uint64_t p50 = 0, p95 = 0, p99 = 0, max = 0;
  std::uint64_t total = 0;  // sum of durations
  double cost_usd = 0;      // priced LLM usage of these spans (span_stats::set_prices)
  /// The slowest span of this name: its trace.
  trace_id slowest_trace{};
};

/// A selected trace and why it was selected (one line per satisfied predicate).
struct selection {
  trace_id id{};
  std::vector<std::string> reasons;
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
