// SPDX-License-Identifier: MIT
// Must not compile: a span name that is not a compile-time constant (names are never copied).
// expect: not (usable in )?a constant expression
#include <agentrace/span.hpp>

#include <string>

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "x";
#ifdef AGENTRACE_COMPILE_FAIL
  AGENTRACE_SPAN(s, name);
#else
  AGENTRACE_SPAN(s, "x");
  (void)name;
#endif
}
