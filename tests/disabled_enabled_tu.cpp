// SPDX-License-Identifier: MIT
// The compiled-in half of disabled_test: same headers, tracing compiled in (also in a build
// configured with -DAGENTRACE_ENABLED=OFF), same program.
#undef AGENTRACE_ENABLED
#define AGENTRACE_ENABLED 1
#include <agentrace/agentrace.hpp>

#include <type_traits>

std::size_t enabled_tu_record_span() {
  agentrace::span<"compiled.in"> s;
  return s.is_recording() ? 1 : 0;
}

bool enabled_tu_scoped_span_is_compiled_in() {
  return std::is_same_v<agentrace::scoped_span, agentrace::compiled_in::scoped_span> &&
         !std::is_empty_v<agentrace::scoped_span>;
}
