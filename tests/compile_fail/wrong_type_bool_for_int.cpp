// SPDX-License-Identifier: MIT
// Must not compile: a bool for a key<std::int64_t> (no silent bool -> integer conversion).
// expect: no matching (member )?function for call to [^ ]*set
#include <agentrace/span.hpp>

inline constexpr agentrace::key<std::int64_t> retries{"app.retries"};

int main() {
  AGENTRACE_SPAN(s, "x");
#ifdef AGENTRACE_COMPILE_FAIL
  s.set(retries, true);
#else
  s.set(retries, 1);
#endif
}
