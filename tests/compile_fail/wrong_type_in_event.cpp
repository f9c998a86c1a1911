// SPDX-License-Identifier: MIT
// Must not compile: an event attribute of the wrong type.
// expect: agentrace::kv
#include <agentrace/span.hpp>

inline constexpr agentrace::key<double> temperature{"gen_ai.request.temperature"};

int main() {
  AGENTRACE_SPAN(s, "x");
#ifdef AGENTRACE_COMPILE_FAIL
  s.event("e", {{temperature, "hot"}});
#else
  s.event("e", {{temperature, 0.7}});
#endif
}
