// SPDX-License-Identifier: MIT
// Must not compile: agentrace::span<NAME> with a name that is not a constant.
// expect: not (usable in )?a constant expression
#include <agentrace/span.hpp>

int main() {
  static char name[] = "mutable";
#ifdef AGENTRACE_COMPILE_FAIL
  agentrace::span<name> s;
#else
  agentrace::span<"constant"> s;
  (void)name;
#endif
}
