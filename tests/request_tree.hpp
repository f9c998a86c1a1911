// SPDX-License-Identifier: MIT
// Checks exported spans against the structure many concurrent "requests" built: every span
// carries the request number in one integer attribute; within a request, span names are unique
// and each named span's parent is the named parent, all in the request root's trace.
#pragma once
#include <agentrace/agentrace.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace test_support {

struct request_tree_report {
  std::size_t requests = 0;      // distinct request numbers seen
  std::size_t incomplete = 0;    // requests without exactly the expected spans
  std::size_t duplicates = 0;    // a name seen twice in one request
  std::size_t wrong_parent = 0;  // edges whose parent is not the expected span
  std::size_t wrong_trace = 0;   // spans outside their root's trace
  std::size_t root_traces = 0;   // distinct traces of the requests' root spans
  std::size_t unattributed = 0;  // spans without the attribute (other than `ignored` names)
  std::map<std::int64_t, const agentrace::span_data*> roots;  // request -> root span
  std::vector<std::string> examples;  // the first wrong edges, "request i: name -> parent"
};

/// `edges`: (name, parent name) pairs below `root_name`.
inline request_tree_report check_request_trees(
    const std::vector<agentrace::span_data>& spans, std::string_view attribute,
    const std::string& root_name, const std::vector<std::pair<std::string, std::string>>& edges,
    const std::set<std::string>& ignored = {}) {
  request_tree_report r;
  std::map<std::int64_t, std::map<std::string, const agentrace::span_data*>> by_request;
  for (const auto& s : spans) {
    if (ignored.count(s.name)) continue;
    const auto* v = s.attr(attribute);
    if (!v || !std::holds_alternative<std::int64_t>(*v)) {
      ++r.unattributed;
      continue;
    }
    auto& slot = by_request[std::get<std::int64_t>(*v)][s.name];
    if (slot) ++r.duplicates;
    slot = &s;
  }
  r.requests = by_request.size();
  std::set<std::pair<std::uint64_t, std::uint64_t>> traces;
  for (const auto& [i, named] : by_request) {
    if (named.size() != edges.size() + 1 || !named.count(root_name)) {
      ++r.incomplete;
      continue;
    }
    const auto* root = named.at(root_name);
    r.roots[i] = root;
    traces.insert({root->trace_id.hi, root->trace_id.lo});
    for (const auto& [name, parent] : edges) {
      auto s = named.find(name), p = named.find(parent);
      if (s == named.end() || p == named.end()) {
        ++r.incomplete;
        continue;
      }
      if (s->second->parent_span_id != p->second->span_id) {
        ++r.wrong_parent;
        std::string seen = "?";
        for (const auto& [other, o] : named)
          if (o->span_id == s->second->parent_span_id) seen = other;
        if (r.examples.size() < 8)
          r.examples.push_back("request " + std::to_string(i) + ": " + name + " -> " + seen +
                               " (expected " + parent + ")");
      }
      if (!(s->second->trace_id == root->trace_id)) ++r.wrong_trace;
    }
  }
  r.root_traces = traces.size();
  return r;
}

}  // namespace test_support
