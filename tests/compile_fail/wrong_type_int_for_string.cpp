// SPDX-License-Identifier: MIT
// Must not compile: a number for a key<std::string>.
// expect: no matching (member )?function for call to [^ ]*set
#include <agentrace/span.hpp>

#include <string>

inline constexpr agentrace::key<std::string> model{"gen_ai.request.model"};

int main() {
  AGENTRACE_SPAN(s, "x");
#ifdef AGENTRACE_COMPILE_FAIL
  s.set(model, 4);
#else
  s.set(model, "gpt-4");
#endif
}
