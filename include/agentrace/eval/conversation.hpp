// SPDX-License-Identifier: MIT
// Conversations: traces grouped by gen_ai.conversation.id (else session.id), from a span's
// attributes or its resource. Statistics per conversation, accumulated in one streaming pass
// (a few dozen bytes per trace).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/cost.hpp"
#include "agentrace/eval/trace.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// The attributes naming a conversation, in order of preference.
inline const std::vector<std::string>& conversation_attribute_keys() {
  static const std::vector<std::string> keys = {"gen_ai.conversation.id", "session.id"};
  return keys;
}

/// The conversation a span belongs to: gen_ai.conversation.id, else session.id, on the span
/// or else on its resource; "" when none. `rank` is set to the key's index (0 is preferred).
inline std::string_view conversation_of(const span_data& s, const resource_info* r,
                                        std::size_t* rank = nullptr) {
  const auto& keys = conversation_attribute_keys();
  for (std::size_t k = 0; k < keys.size(); ++k) {
    const attr_value* v = s.attr(keys[k]);
    if (!v && r) v = r->attr(keys[k]);
    if (v)
      if (const auto* str = std::get_if<std::string>(v); str && !str->empty()) {
        if (rank) *rank = k;
        return *str;
      }
  }
  return {};
}

/// One conversation's totals.
struct conversation_row {
  std::string id;  // "" for the traces that name no conversation
  std::uint64_t traces = 0, spans = 0, errors = 0;
  std::uint64_t first_start_unix_ns = 0, last_end_unix_ns = 0;
  std::int64_t input_tokens = 0, output_tokens = 0;
  double cost_usd = 0;
  bool unpriced = false;  // some usage of a model without a price
};

/// Accumulates spans per trace, then groups the traces by conversation.
class conversation_stats {
 public:
  explicit conversation_stats(const price_table* prices = nullptr) : prices_(prices) {}

  void add(const span_data& s, const resource_info* r) {
    auto [it, fresh] = traces_.try_emplace(s.trace_id);
    per_trace& t = it->second;
    if (fresh) t.start = s.start_unix_ns;
    std::size_t rank = 0;
    const std::string_view c = conversation_of(s, r, &rank);
    if (!c.empty() && (t.conversation.empty() || rank < t.rank)) {
      t.conversation = std::string(c);
      t.rank = rank;
    }
    ++t.spans;
    t.errors += s.status == status_code::error;
    t.start = std::min(t.start, s.start_unix_ns);
    t.end = std::max(t.end, s.end_unix_ns);
    const token_usage u = usage_of(s);
    if (u.any) {
      t.input += u.input;
      t.output += u.output;
      if (prices_) {
        if (const model_price* p = prices_->find(model_of(s)))
          t.cost += cost_of(u, *p);
        else
          t.unpriced = true;
      }
    }
  }
  void add(const read_span& s) { add(s.span, s.resource.get()); }

  /// One row per conversation, most recent first; traces without one are grouped under "".
  std::vector<conversation_row> rows() const {
    std::unordered_map<std::string, std::size_t> at;
    std::vector<conversation_row> out;
    for (const auto& [id, t] : traces_) {
      auto [it, fresh] = at.try_emplace(t.conversation, out.size());
      if (fresh) {
        out.emplace_back();
        out.back().id = t.conversation;
        out.back().first_start_unix_ns = t.start;
      }
      conversation_row& r = out[it->second];
      ++r.traces;
      r.spans += t.spans;
      r.errors += t.errors;
      r.first_start_unix_ns = std::min(r.first_start_unix_ns, t.start);
      r.last_end_unix_ns = std::max(r.last_end_unix_ns, t.end);
      r.input_tokens += t.input;
      r.output_tokens += t.output;
      r.cost_usd += t.cost;
      r.unpriced = r.unpriced || t.unpriced;
    }
    std::sort(out.begin(), out.end(), [](const conversation_row& a, const conversation_row& b) {
      if (a.id.empty() != b.id.empty()) return b.id.empty();
      if (a.last_end_unix_ns != b.last_end_unix_ns) return a.last_end_unix_ns > b.last_end_unix_ns;
      return a.id < b.id;
    });
    return out;
  }

  /// The traces of conversation `id` in start order.
  std::vector<trace_id> traces_of(std::string_view id) const {
    std::vector<std::pair<std::uint64_t, trace_id>> v;
    for (const auto& [tid, t] : traces_)
      if (t.conversation == id) v.emplace_back(t.start, tid);
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first < b.first;
      return a.second.hi != b.second.hi ? a.second.hi < b.second.hi : a.second.lo < b.second.lo;
    });
    std::vector<trace_id> out;
    out.reserve(v.size());
    for (const auto& p : v) out.push_back(p.second);
    return out;
  }

 private:
  struct per_trace {
    std::string conversation;
    std::size_t rank = 0;
    std::uint64_t spans = 0, errors = 0, start = 0, end = 0;
    std::int64_t input = 0, output = 0;
    double cost = 0;
    bool unpriced = false;
  };
  const price_table* prices_;
  std::unordered_map<trace_id, per_trace, trace_id_hash> traces_;
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
