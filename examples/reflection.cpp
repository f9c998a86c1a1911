// SPDX-License-Identifier: MIT
// In-process reflection: the agent keeps its own recent traces in a trace_store and, after a
// failure, asks "show me my last failed task", turning that call tree into a reflection prompt
// for its own model. Offline: the "model" here is a stub; the prompt is what it would get.
// OTEL_TRACES_EXPORTER / AGENTRACE_OTLP_FILE add other exporters without a rebuild.
#include <agentrace/agentrace.hpp>
#include <agentrace/eval/eval.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

namespace app {
inline constexpr agentrace::key<std::string> question{"app.question"};
inline constexpr agentrace::key<std::string> model{"gen_ai.request.model"};
inline constexpr agentrace::key<std::string> sql{"db.query.text"};
inline constexpr agentrace::key<std::int64_t> rows{"db.response.returned_rows"};
inline constexpr agentrace::key<std::int64_t> input_tokens{"gen_ai.usage.input_tokens"};
inline constexpr agentrace::key<std::int64_t> output_tokens{"gen_ai.usage.output_tokens"};
inline constexpr agentrace::key<std::string> input{"gen_ai.input.messages"};
inline constexpr agentrace::key<std::string> output{"gen_ai.output.messages"};
}  // namespace app

// Captured content in the GenAI semantic conventions' JSON form.
std::string message(const char* role, const std::string& text) {
  std::string out =
      std::string(R"([{"role":")") + role + R"(","parts":[{"type":"text","content":")";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + R"("}]}])";
}

// A stand-in for the model (~20 ms): writes SQL; without a hint it uses a column that does
// not exist.
std::string generate_sql(const std::string& question, const std::string& hint) {
  agentrace::span<"chat gpt-4o", agentrace::span_kind::client> s;
  s.set(app::model, "gpt-4o").set(app::input_tokens, 180 + static_cast<std::int64_t>(hint.size()));
  s.set(app::output_tokens, 24);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // simulated model latency
  const std::string sql = question.find("revenue") != std::string::npos && hint.empty()
                              ? "SELECT customer, SUM(total) FROM orders GROUP BY customer"
                          : question.find("revenue") != std::string::npos
                              ? "SELECT customer, SUM(amount) FROM orders GROUP BY customer"
                              : "SELECT count(*) FROM orders WHERE shipped LIKE '2026-05%'";
  s.set(app::input, message("user", hint.empty() ? question : question + " (" + hint + ")"));
  s.set(app::output, message("assistant", sql));
  return sql;
}

// A stand-in for the database: rejects the column `total`.
std::int64_t run_query(const std::string& query) {
  agentrace::span<"db.query", agentrace::span_kind::client> s;
  s.set(app::sql, query);
  std::this_thread::sleep_for(std::chrono::milliseconds(3));  // simulated database time
  if (query.find("total") != std::string::npos) {
    s.error("no such column: total");
    throw std::runtime_error("no such column: total");
  }
  s.set(app::rows, 3);
  return 3;
}

bool answer(const std::string& question, const std::string& hint = {}) {
  AGENTRACE_SPAN(task, "agent.task");
  task.set(app::question, question);
  try {
    const std::string q = generate_sql(question, hint);
    agentrace::in_span<"agent.execute">([&] { return run_query(q); });
    return true;
  } catch (const std::exception& e) {
    task.error(e.what());
    return false;
  }
}

int main() {
  auto store = agentrace::eval::store({.max_traces = 32});
  auto exporters = agentrace::exporters_from_env_or({});
  exporters.push_back(store);
  auto tracing = agentrace::start({.service_name = "reflection-example", .exporters = exporters});

  answer("How many orders shipped in May?");
  const bool ok = answer("Who are the top customers by revenue?");
  tracing.force_flush();  // the store now holds both tasks
#if !AGENTRACE_ENABLED
  // Built with tracing compiled out: the store stays empty, there is nothing to reflect on.
  std::puts("tracing is compiled out (AGENTRACE_ENABLED=0): no trace to reflect on");
  return ok ? 1 : 0;  // the second task still fails; only the traces are missing
#endif

  if (!ok) {
    // "Show me my last failed task": the same query language as agentrace-eval.
    const auto failed = store->last("errors");
    if (!failed) return 1;
    const std::string prompt = "Your last task failed. Here is its call tree:\n" +
                               agentrace::eval::render_tree_text(*failed->t) +
                               "Why it was selected: " + failed->reasons.front() +
                               "\nWhat should you do differently?";
    std::printf("--- reflection prompt ---\n%s\n", prompt.c_str());
    std::printf("--- waterfall ---\n%s", agentrace::eval::render_waterfall(*failed->t).c_str());
    // With the lesson ("the column is called amount") the retry succeeds.
    answer("Who are the top customers by revenue?", "use the column amount, not total");
  }
  tracing.force_flush();
  const auto st = store->stats();
  std::printf("--- store: %zu traces, %llu spans, %llu errors ---\n", store->size(),
              static_cast<unsigned long long>(st.spans()),
              static_cast<unsigned long long>(st.errors()));
  return store->select("not errors").size() == 2 ? 0 : 1;
}
