// SPDX-License-Identifier: MIT
// Checks exported spans against the structure many concurrent "requests" built: every span
// carries the request number in one integer attribute; within a request, span names are unique
// and each named span's parent is the named parent, all in the request root's trace.
#pragma once
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

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

/// The runs of the concurrency tests: `n` requests named "request" with the "test.request"
/// attribute, even ones spawned under the one "spawner" span, odd ones roots; `plain` spans
/// begun afterwards on every worker must be roots.
inline void check_spawned_requests(const std::vector<agentrace::span_data>& spans,
                                   const std::vector<std::pair<std::string, std::string>>& edges,
                                   int n, int plain_expected) {
  const agentrace::span_data* spawner = nullptr;
  int plain = 0, plain_with_parent = 0;
  for (const auto& s : spans) {
    if (s.name == "spawner") spawner = &s;
    if (s.name != "plain") continue;
    ++plain;
    plain_with_parent += s.parent_span_id != 0 ? 1 : 0;
  }
  REQUIRE(spawner != nullptr);
  CHECK(plain == plain_expected);
  CHECK(plain_with_parent == 0);
  const auto t = check_request_trees(spans, "test.request", "request", edges, {"spawner", "plain"});
  CHECK(t.requests == static_cast<std::size_t>(n));
  CHECK(t.unattributed == 0);
  CHECK(t.incomplete == 0);
  CHECK(t.duplicates == 0);
  for (const auto& e : t.examples) UNSCOPED_INFO(e);
  CHECK(t.wrong_parent == 0);
  CHECK(t.wrong_trace == 0);
  int wrong_root = 0;
  for (const auto& [i, root] : t.roots) {
    const bool ok =
        i % 2 == 0 ? root->parent_span_id == spawner->span_id && root->trace_id == spawner->trace_id
                   : root->parent_span_id == 0;
    wrong_root += ok ? 0 : 1;
  }
  CHECK(wrong_root == 0);
  CHECK(t.root_traces == static_cast<std::size_t>(n / 2 + 1));  // the spawner's + one per odd
}

}  // namespace test_support
