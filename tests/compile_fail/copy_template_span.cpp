// SPDX-License-Identifier: MIT
// Must not compile: copying an agentrace::span<"name">.
// expect: deleted
#include <agentrace/span.hpp>

#include <utility>

int main() {
  agentrace::span<"x"> s;
#ifdef AGENTRACE_COMPILE_FAIL
  agentrace::span<"x"> copy(s);
  (void)copy;
#else
  agentrace::scoped_span moved = std::move(s);
  (void)moved;
#endif
}
