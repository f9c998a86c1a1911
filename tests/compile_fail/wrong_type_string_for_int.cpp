// SPDX-License-Identifier: MIT
// Must not compile: a string for a key<std::int64_t>.
// expect: no matching (member )?function for call to [^ ]*set
#include <agentrace/span.hpp>

inline constexpr agentrace::key<std::int64_t> rows{"app.rows"};

int main() {
  AGENTRACE_SPAN(s, "x");
#ifdef AGENTRACE_COMPILE_FAIL
  s.set(rows, "forty-two");
#else
  s.set(rows, 42);
#endif
}
