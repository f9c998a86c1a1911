// SPDX-License-Identifier: MIT
// Must not compile: a double (narrowing) or a bool for a key<std::int64_t>.
// expect: no matching (member )?function for call to [^ ]*set
#include <agentrace/span.hpp>

inline constexpr agentrace::key<std::int64_t> tokens{"gen_ai.usage.input_tokens"};

int main() {
  AGENTRACE_SPAN(s, "x");
#ifdef AGENTRACE_COMPILE_FAIL
  s.set(tokens, 1.5);
#else
  s.set(tokens, 15);
#endif
}
