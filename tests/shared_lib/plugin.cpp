// SPDX-License-Identifier: MIT
#include "plugin.hpp"

#include <agentrace/agentrace.hpp>

#include <thread>

namespace {
inline constexpr agentrace::key<std::int64_t> k_step{"plugin.step"};
}

void plugin_record_spans(int n) {
  for (int i = 0; i < n; ++i) {
    AGENTRACE_SPAN(s, "plugin.step");
    s.set(k_step, i);
  }
}

std::uint64_t plugin_current_span_id() { return agentrace::current_context().span_id; }

void plugin_record_on_thread(int n) {
  std::thread t([n] {
    for (int i = 0; i < n; ++i) {
      AGENTRACE_SPAN(s, "plugin.worker");
      s.set(k_step, i);
    }
  });
  t.join();
}
