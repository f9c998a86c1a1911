// SPDX-License-Identifier: MIT
// The call tree of one trace's spans (children per span, roots first, parent cycles broken):
// what the console exporter prints and what eval's read-back traces link. Over span_data only.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/span_data.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// Children of each span, for printing trees: index lists, roots first (spans whose parent is
/// not in the trace), each level in start-time order.
struct trace_tree {
  std::vector<std::size_t> roots;
  std::vector<std::vector<std::size_t>> children;

  explicit trace_tree(const std::vector<span_data>& spans) : children(spans.size()) {
    std::map<std::uint64_t, std::size_t> by_id;
    for (std::size_t i = 0; i < spans.size(); ++i) by_id.emplace(spans[i].span_id, i);
    for (std::size_t i = 0; i < spans.size(); ++i) {
      auto it = spans[i].parent_span_id ? by_id.find(spans[i].parent_span_id) : by_id.end();
      if (it == by_id.end() || it->second == i)
        roots.push_back(i);
      else
        children[it->second].push_back(i);
    }
    auto by_start = [&](std::size_t a, std::size_t b) {
      return spans[a].start_unix_ns < spans[b].start_unix_ns;
    };
    break_cycles(spans, by_start);
    std::sort(roots.begin(), roots.end(), by_start);
    for (auto& c : children) std::sort(c.begin(), c.end(), by_start);
  }

  /// Spans made roots because their chain of parents loops back to them (bad input: a span
  /// that is its own ancestor), earliest start first.
  std::vector<std::size_t> cycle_roots;

 private:
  // Spans no root reaches are on (or under) a parent cycle: one span of each cycle becomes a
  // root (the cycle's first span met going up from the earliest unreached span), so every span
  // stays in the tree.
  template <class Less>
  void break_cycles(const std::vector<span_data>& spans, Less by_start) {
    std::vector<char> reached(spans.size(), 0);
    std::vector<std::size_t> stack;
    auto mark = [&](std::size_t from) {
      stack.push_back(from);
      while (!stack.empty()) {
        const std::size_t i = stack.back();
        stack.pop_back();
        if (reached[i]) continue;
        reached[i] = 1;
        for (std::size_t c : children[i]) stack.push_back(c);
      }
    };
    for (std::size_t r : roots) mark(r);
    std::vector<std::size_t> left;
    for (std::size_t i = 0; i < spans.size(); ++i)
      if (!reached[i]) left.push_back(i);
    if (left.empty()) return;
    std::sort(left.begin(), left.end(), by_start);
    std::map<std::uint64_t, std::size_t> by_id;
    for (std::size_t i = 0; i < spans.size(); ++i) by_id.emplace(spans[i].span_id, i);
    std::vector<char> walked(spans.size(), 0);
    for (std::size_t i : left) {
      if (reached[i]) continue;
      // Up the parents to the first span seen twice: it is on the cycle.
      std::vector<std::size_t> path;
      while (!walked[i]) {
        walked[i] = 1;
        path.push_back(i);
        i = by_id.at(spans[i].parent_span_id);
      }
      for (std::size_t k : path) walked[k] = 0;
      auto& siblings = children[by_id.at(spans[i].parent_span_id)];
      siblings.erase(std::find(siblings.begin(), siblings.end(), i));
      roots.push_back(i);
      cycle_roots.push_back(i);
      mark(i);
    }
  }
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
