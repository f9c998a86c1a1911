// SPDX-License-Identifier: MIT
// Must not compile: an empty span name.
// expect: must not be empty
#include <agentrace/span.hpp>

int main() {
#ifdef AGENTRACE_COMPILE_FAIL
  AGENTRACE_SPAN(s, "");
#else
  AGENTRACE_SPAN(s, "named");
#endif
}
