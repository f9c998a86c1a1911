// SPDX-License-Identifier: MIT
// Must not compile: a runtime char buffer where a static_string (stored without a copy) is
// required. It could dangle; wrap it in std::string_view / std::string to have it copied.
// expect: static_string
#include <agentrace/span.hpp>

#include <cstdio>
#include <string>
#include <string_view>

inline constexpr agentrace::key<std::string> user{"app.user"};

int main(int argc, char**) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "user-%d", argc);
  AGENTRACE_SPAN(s, "x");
#ifdef AGENTRACE_COMPILE_FAIL
  s.set(user, buf);
#else
  s.set(user, std::string_view(buf));
#endif
}
