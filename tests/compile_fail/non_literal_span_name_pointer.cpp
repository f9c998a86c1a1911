// SPDX-License-Identifier: MIT
// Must not compile: a runtime `const char*` as a span name.
// expect: not (usable in )?a constant expression
#include <agentrace/span.hpp>

int main(int argc, char** argv) {
  const char* name = argc > 1 ? argv[1] : "x";
#ifdef AGENTRACE_COMPILE_FAIL
  AGENTRACE_SPAN(s, name);
#else
  AGENTRACE_SPAN(s, "x");
  (void)name;
#endif
}
