// SPDX-License-Identifier: MIT
// Parent cycles across a whole input: spans whose chain of parents loops back to them. A reader
// sees spans one at a time, in any order and across files, so it keeps 32 bytes a span (two
// digests, the span id and where the span was read) and looks for cycles once the input is read.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/trace.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval::detail {

class parent_cycles {
 public:
  /// Where a span was read: the reader's file index and 1-based line (0: a whole document).
  struct place {
    std::uint32_t file;
    std::uint64_t line;
    std::uint64_t span_id;
  };
  /// One cycle: where each of its spans was read, in parent order starting at the first read.
  using cycle = std::vector<place>;

  void add(const span_data& s, std::uint32_t file, std::uint64_t line) {
    const std::uint64_t parent = s.parent_span_id ? span_key(s.trace_id, s.parent_span_id) : 0;
    if (parent == 0) return;  // a root: never part of a cycle
    // In a document (no lines) the order of reading stands in for the line, flagged as such.
    const std::uint64_t at = line ? pack(file, line) : pack(file, ++unlined_) | unlined_flag;
    nodes_.push_back(node{span_key(s.trace_id, s.span_id), parent, at, s.span_id});
  }

  /// The cycles among the spans added so far (each once), in the order of their first span in
  /// the input. Spans whose digests collide (~2^-64 a pair) are taken as one.
  std::vector<cycle> find() {
    // Sorted by the span's digest; a repeated span (same trace and span id) keeps its first read.
    // (std::sort, in place: a stable sort would take a second buffer as large as the input.)
    std::sort(nodes_.begin(), nodes_.end(), [](const node& a, const node& b) {
      return a.self != b.self ? a.self < b.self : a.at < b.at;
    });
    nodes_.erase(std::unique(nodes_.begin(), nodes_.end(),
                             [](const node& a, const node& b) { return a.self == b.self; }),
                 nodes_.end());
    nodes_.shrink_to_fit();
    const std::size_t none = nodes_.size();
    auto parent_of = [&](std::size_t i) {
      auto it = std::lower_bound(nodes_.begin(), nodes_.end(), nodes_[i].parent,
                                 [](const node& n, std::uint64_t k) { return n.self < k; });
      return it != nodes_.end() && it->self == nodes_[i].parent
                 ? static_cast<std::size_t>(it - nodes_.begin())
                 : none;
    };
    // Each span has at most one parent: walk up from every unvisited span; reaching a span of
    // the current walk closes a cycle, reaching an earlier walk's span or a root does not.
    std::vector<std::uint8_t> state(nodes_.size(), 0);  // 0 new, 1 on this walk, 2 done
    std::vector<std::size_t> walk;
    std::vector<cycle> out;
    std::vector<std::uint64_t> first;  // packed place of each cycle's first span, for ordering
    for (std::size_t start = 0; start < nodes_.size(); ++start) {
      if (state[start]) continue;
      walk.clear();
      std::size_t i = start;
      while (i != none && state[i] == 0) {
        state[i] = 1;
        walk.push_back(i);
        i = parent_of(i);
      }
      if (i != none && state[i] == 1) {
        const auto from = std::find(walk.begin(), walk.end(), i);
        const auto min = std::min_element(from, walk.end(), [&](std::size_t a, std::size_t b) {
          return nodes_[a].at < nodes_[b].at;
        });
        cycle c;
        for (auto it = min; it != walk.end(); ++it) c.push_back(unpack(nodes_[*it]));
        for (auto it = from; it != min; ++it) c.push_back(unpack(nodes_[*it]));
        first.push_back(nodes_[*min].at);
        out.push_back(std::move(c));
      }
      for (std::size_t w : walk) state[w] = 2;
    }
    std::vector<std::size_t> order(out.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return first[a] < first[b]; });
    std::vector<cycle> sorted;
    sorted.reserve(out.size());
    for (std::size_t k : order) sorted.push_back(std::move(out[k]));
    return sorted;
  }

  void clear() noexcept {
    unlined_ = 0;
    nodes_.clear();
    nodes_.shrink_to_fit();
  }

 private:
  struct node {
    std::uint64_t self, parent, at, span_id;
  };
  static constexpr unsigned line_bits = 40;
  static constexpr std::uint64_t unlined_flag = std::uint64_t(1) << (line_bits - 1);
  static std::uint64_t pack(std::uint32_t file, std::uint64_t line) noexcept {
    const std::uint64_t max_line = unlined_flag - 1;
    return (std::uint64_t(file) << line_bits) | std::min(line, max_line);
  }
  static place unpack(const node& n) noexcept {
    const std::uint64_t low = n.at & ((std::uint64_t(1) << line_bits) - 1);
    return {static_cast<std::uint32_t>(n.at >> line_bits), low & unlined_flag ? 0 : low, n.span_id};
  }
  std::deque<node> nodes_;  // in blocks: growing never copies what is held
  std::uint64_t unlined_ = 0;
};

}  // namespace agentrace::eval::detail

AGENTRACE_DETAIL_VISIBILITY_END
