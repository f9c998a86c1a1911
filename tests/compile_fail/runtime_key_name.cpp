// SPDX-License-Identifier: MIT
// Must not compile: an attribute key whose name is not a compile-time constant.
// expect: not (usable in )?a constant expression
#include <agentrace/span.hpp>

#include <cstdint>
#include <string>

int main(int argc, char** argv) {
  const std::string n = argc > 1 ? argv[1] : "k";
#ifdef AGENTRACE_COMPILE_FAIL
  const agentrace::key<std::int64_t> k{std::string_view(n)};
#else
  constexpr agentrace::key<std::int64_t> k{"k"};
  (void)n;
#endif
  AGENTRACE_SPAN(s, "x");
  s.set(k, 1);
}
