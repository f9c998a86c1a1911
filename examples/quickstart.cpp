// SPDX-License-Identifier: MIT
// The README quickstart, verbatim: three nested spans, printed as a tree and written as
// OTLP-JSON. OTEL_TRACES_EXPORTER / AGENTRACE_OTLP_FILE point it elsewhere without a rebuild.
#include <agentrace/setup.hpp>  // start(), exporters: only in the file that starts tracing
#include <agentrace/span.hpp>   // spans: in every instrumented file

#include <string>

namespace app {
inline constexpr agentrace::key<std::string> question{"app.question"};
inline constexpr agentrace::key<std::int64_t> rows{"app.rows"};
}  // namespace app

int main() {
  auto tracing = agentrace::start({
      .service_name = "quickstart",
      .exporters = agentrace::exporters_from_env_or(
          {agentrace::console(), agentrace::otlp_json_file("quickstart.jsonl")}),
  });

  AGENTRACE_SPAN(task, "agent.task");
  task.set(app::question, "How many orders shipped in May?");
  { AGENTRACE_SPAN(plan, "agent.plan"); }
  {
    agentrace::span<"db.query", agentrace::span_kind::client> query;
    query.set(app::rows, 42);
    query.event("db.rows_fetched");
  }
  task.end();  // before `tracing` flushes and exports at the end of main
}
