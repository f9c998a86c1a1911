// SPDX-License-Identifier: MIT
// Must not compile: an event name that is not a compile-time constant.
// expect: static_string
#include <agentrace/span.hpp>

#include <string>

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "cache.miss";
  AGENTRACE_SPAN(s, "x");
#ifdef AGENTRACE_COMPILE_FAIL
  s.event(name);
#else
  s.event("cache.miss");
  (void)name;
#endif
}
