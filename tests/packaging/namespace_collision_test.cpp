// SPDX-License-Identifier: MIT
// agentrace in one TU with a user's own global `span`/`context`/`task`/`detail`, a wrapper
// namespace also called `agentrace`, and unrelated TRACE/SPAN/ERROR/OK/DEBUG macros defined
// before the include: all must compile together and keep their own meaning.
#include <string>
#include <vector>

// The user's code, seen before agentrace.
std::vector<std::string> user_log;  // NOLINT: test fixture
#define TRACE(msg) user_log.push_back(std::string("trace: ") + (msg))
#define SPAN(name) ::span name = {#name}
#define ERROR 2
#define OK 0
#define DEBUG 1

struct span {
  std::string label;
};
struct context {
  int depth = 0;
};
struct task {
  int id = 0;
};
struct trace_id {
  long value = 0;
};
namespace detail {
inline int helper() { return 42; }
}  // namespace detail

#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

namespace app {
namespace agentrace {  // an unrelated namespace that happens to share the name
struct span {};
}  // namespace agentrace

inline void work(context& ctx) {
  AGENTRACE_SPAN(outer, "app.work");  // the macro must reach ::agentrace, not app::agentrace
  ++ctx.depth;
  {
    AGENTRACE_SPAN_CHILD_OF(inner, outer.context(), "app.step");
    TRACE("inside app.step");
  }
  ::agentrace::span<"app.typed"> typed;
}
}  // namespace app

TEST_CASE("user types and macros coexist with agentrace in one translation unit") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  context ctx;
  task t{7};
  SPAN(user_span);  // the user's macro and the user's global ::span
  ::trace_id tid{5};
  app::work(ctx);
  REQUIRE(tracing.force_flush());

  CHECK(ctx.depth == 1);
  CHECK(t.id == 7);
  CHECK(user_span.label == "user_span");
  CHECK(tid.value == 5);
  CHECK(detail::helper() == 42);
  CHECK(ERROR + OK + DEBUG == 3);
  REQUIRE(user_log.size() == 1);
  CHECK(user_log[0] == "trace: inside app.step");

  REQUIRE(mem->size() == 3);
  const auto outer = mem->find("app.work");
  const auto step = mem->find("app.step");
  const auto typed = mem->find("app.typed");
  REQUIRE((outer && step && typed));
  CHECK(step->parent_span_id == outer->span_id);
  CHECK(typed->parent_span_id == outer->span_id);
}
