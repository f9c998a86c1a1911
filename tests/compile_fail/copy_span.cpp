// SPDX-License-Identifier: MIT
// Must not compile: copying a span (it would end twice). Spans are move-only.
// expect: deleted
#include <agentrace/span.hpp>

#include <utility>

int main() {
  AGENTRACE_SPAN(s, "x");
#ifdef AGENTRACE_COMPILE_FAIL
  agentrace::scoped_span copy = s;
#else
  agentrace::scoped_span copy = std::move(s);
#endif
  copy.end();
}
