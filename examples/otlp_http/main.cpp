// SPDX-License-Identifier: MIT
// Sends a small agent trace to an OpenTelemetry Collector over OTLP/HTTP (protobuf; JSON with
// OTEL_EXPORTER_OTLP_PROTOCOL=http/json), and one event per task as a log record to /v1/logs, then
// prints what was delivered. Point it elsewhere with OTEL_EXPORTER_OTLP_ENDPOINT (default
// http://localhost:4318), add auth with OTEL_EXPORTER_OTLP_HEADERS, gzip with
// OTEL_EXPORTER_OTLP_COMPRESSION=gzip; OTEL_TRACES_EXPORTER picks other exporters.
#include <agentrace/agentrace.hpp>
#include <agentrace/event.hpp>
#include <agentrace/exporters/otlp_http.hpp>

#include <chrono>
#include <cstdio>
#include <string>

namespace app {
inline constexpr agentrace::key<std::string> question{"app.question"};
inline constexpr agentrace::key<std::string> tool{"app.tool"};
inline constexpr agentrace::key<std::int64_t> rows{"app.rows"};
}  // namespace app

int main() {
  auto otlp = agentrace::otlp_http();  // endpoint, headers, timeout... from OTEL_EXPORTER_OTLP_*
  auto logs = agentrace::otlp_http_logs();  // the same for /v1/logs (OTEL_EXPORTER_OTLP_LOGS_*)
  auto tracing = agentrace::start({
      .service_name = "otlp-http-example",
      .exporters = agentrace::exporters_from_env_or({otlp, logs}),
  });

  for (int task = 0; task < 3; ++task) {
    AGENTRACE_SPAN(root, "agent.task");
    root.set(app::question, "How many orders shipped in May?");
    {
      agentrace::span<"llm.chat", agentrace::span_kind::client> chat;
      chat.event("llm.first_token");
    }
    {
      agentrace::span<"tool.call"> call;
      call.set(app::tool, "sql").set(app::rows, 42 + task);
      if (task == 2) call.error("table 'orders_2024' does not exist");
    }
    // An event (OTLP log record) linked to the task's span.
    agentrace::emit_event("app.task.done", {{app::rows, 42 + task}});
  }

  // Deliver (or give up) within 5 s, whatever the collector does.
  tracing.shutdown(std::chrono::seconds(5));
  const auto s = otlp->stats();
  std::printf("endpoint: %s (%s)\n", otlp->options().endpoint.c_str(),
              *otlp->options().protocol == agentrace::otlp::encoding::protobuf ? "http/protobuf"
                                                                               : "http/json");
  std::printf("spans delivered: %llu (%llu requests, %llu retries), not delivered: %llu\n",
              static_cast<unsigned long long>(s.spans_delivered),
              static_cast<unsigned long long>(s.requests),
              static_cast<unsigned long long>(s.retries),
              static_cast<unsigned long long>(s.failures.total()));
  std::printf("log records delivered: %llu, not delivered: %llu\n",
              static_cast<unsigned long long>(logs->stats().spans_delivered),
              static_cast<unsigned long long>(logs->stats().failures.total()));
  return 0;
}
