// SPDX-License-Identifier: MIT
// The definitions of <agentrace/eval/light.hpp>'s entry points, over the reader, span_stats and
// the query: inline, included by light.hpp header-only; in compiled mode compiled once into the
// agentrace library (src/agentrace_eval.cpp).
#pragma once
#define AGENTRACE_EVAL_LIGHT_IMPL_INCLUDED 1

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/light.hpp"
#include "agentrace/eval/query.hpp"
#include "agentrace/eval/reader.hpp"
#include "agentrace/eval/stats.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

AGENTRACE_SETUP_INLINE traces_read read_all(const std::vector<std::string>& paths,
                                            reader_options options) {
  reader r(std::move(options));
  traces_read out;
  out.traces = read_traces(paths, r);
  out.counts = r.counts();
  out.diagnostics = r.diagnostics();
  return out;
}

AGENTRACE_SETUP_INLINE trace_summary::trace_summary() : s_(std::make_unique<span_stats>()) {}
AGENTRACE_SETUP_INLINE trace_summary::trace_summary(const std::vector<trace>& traces)
    : s_(std::make_unique<span_stats>(span_stats::of(traces))) {}
AGENTRACE_SETUP_INLINE trace_summary::trace_summary(trace_summary&&) noexcept = default;
AGENTRACE_SETUP_INLINE trace_summary& trace_summary::operator=(trace_summary&&) noexcept = default;
AGENTRACE_SETUP_INLINE trace_summary::~trace_summary() = default;

AGENTRACE_SETUP_INLINE void trace_summary::add(const trace& t) {
  for (const auto& s : t.spans()) s_->add(s);
}
AGENTRACE_SETUP_INLINE std::vector<name_stats> trace_summary::by_name() const {
  return s_->by_name();
}
AGENTRACE_SETUP_INLINE std::optional<std::uint64_t> trace_summary::percentile(std::string_view name,
                                                                              double p) const {
  return stats().percentile(name, p);
}
AGENTRACE_SETUP_INLINE std::uint64_t trace_summary::spans() const noexcept { return s_->spans(); }
AGENTRACE_SETUP_INLINE std::uint64_t trace_summary::traces() const noexcept { return s_->traces(); }
AGENTRACE_SETUP_INLINE std::uint64_t trace_summary::errors() const noexcept { return s_->errors(); }
AGENTRACE_SETUP_INLINE std::uint64_t trace_summary::duplicates() const noexcept {
  return s_->duplicates();
}
AGENTRACE_SETUP_INLINE const span_stats& trace_summary::stats() const {
  s_->finish();
  return *s_;
}

AGENTRACE_SETUP_INLINE trace_query::trace_query(std::unique_ptr<query> q) noexcept
    : q_(std::move(q)) {}
AGENTRACE_SETUP_INLINE trace_query trace_query::parse(std::string_view text) {
  return trace_query(std::make_unique<query>(query::parse(text)));
}
AGENTRACE_SETUP_INLINE trace_query::trace_query(const trace_query& o)
    : q_(std::make_unique<query>(*o.q_)) {}
AGENTRACE_SETUP_INLINE trace_query& trace_query::operator=(const trace_query& o) {
  if (this != &o) q_ = std::make_unique<query>(*o.q_);
  return *this;
}
AGENTRACE_SETUP_INLINE trace_query::trace_query(trace_query&&) noexcept = default;
AGENTRACE_SETUP_INLINE trace_query& trace_query::operator=(trace_query&&) noexcept = default;
AGENTRACE_SETUP_INLINE trace_query::~trace_query() = default;

AGENTRACE_SETUP_INLINE std::string trace_query::to_string() const { return q_->to_string(); }
AGENTRACE_SETUP_INLINE bool trace_query::needs_stats() const { return q_->needs_stats(); }
AGENTRACE_SETUP_INLINE std::optional<selection> trace_query::match(
    const trace& t, const trace_summary* stats) const {
  return eval::match(*q_, t, stats ? percentile_source(&stats->stats()) : nullptr);
}
AGENTRACE_SETUP_INLINE std::vector<selection> trace_query::select(
    const std::vector<trace>& traces, const trace_summary* stats) const {
  selector sel(*q_, stats ? percentile_source(&stats->stats()) : nullptr);
  for (const trace& t : traces) sel.add(t);
  return sel.finish();
}
AGENTRACE_SETUP_INLINE const query& trace_query::get() const noexcept { return *q_; }

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
