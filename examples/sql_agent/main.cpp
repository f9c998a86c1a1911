// SPDX-License-Identifier: MIT
// sql_agent: a natural-language-to-SQL agent traced with the GenAI conventions. Offline by
// default (a deterministic model, no network); an OpenAI-compatible endpoint when --model and
// OPENAI_BASE_URL / OPENAI_API_KEY are set. Prints the trace trees and writes OTLP-JSON lines.
//
//   sql_agent [--questions N] [--concurrency N] [--seed S] [--wrong-sql-rate R]
//             [--slow-llm R] [--slow-db R] [--db-error R] [--slow-ms MS] [--llm-latency-ms MS]
//             [--max-attempts N] [--question TEXT]... [--questions-file FILE]
//             [--capture-content] [--no-console] [--conversation ID]
//             [--verbose]
//             [--otlp-file PATH] [--data-dir DIR] [--model NAME] [--provider NAME] [--offline]
//             [--linger SECONDS]
#include <agentrace/agentrace.hpp>
#include <agentrace/genai.hpp>
#include <agentrace/tail_sampling.hpp>  // AGENTRACE_TAIL_SAMPLING[_RATIO] work here

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent.hpp"
#include "llm.hpp"

#if AGENTRACE_SQL_AGENT_HAVE_HTTP
#include "openai_llm.hpp"
#if __has_include(<agentrace/exporters/otlp_http.hpp>)
#include <agentrace/exporters/otlp_http.hpp>  // registers OTEL_TRACES_EXPORTER=otlp
#endif
#endif
#if AGENTRACE_SQL_AGENT_HAVE_PROMETHEUS
#include <agentrace/exporters/prometheus.hpp>  // OTEL_METRICS_EXPORTER=prometheus: GET /metrics
#endif

namespace {

// Questions answered or not: an instrument beside the metrics derived from the spans.
constexpr agentrace::key<std::string> k_outcome{"sql_agent.outcome"};
agentrace::counter<std::int64_t> questions_total{"sql_agent.questions", "{question}",
                                                 "Questions asked, by outcome"};

struct cli {
  std::size_t questions = 6;
  std::vector<std::string> custom_questions;
  bool console = true;
  bool verbose = false;
  bool capture = false;
  bool offline = false;
  std::string otlp_file = "sql_agent.jsonl";
  std::string model;
  std::string provider = "openai";
  int linger_seconds = 0;
  sql_agent::run_options run;
  sql_agent::offline_options offline_model;
  cli() { run.agent.seed = offline_model.seed = 7; }  // the demo's default: all three databases
};

[[noreturn]] void usage(const char* msg = nullptr) {
  if (msg) std::fprintf(stderr, "sql_agent: %s\n", msg);
  std::fprintf(
      stderr,
      "usage: sql_agent [options]\n"
      "  --questions N        questions to answer (default 6)\n"
      "  --question TEXT      ask TEXT (repeatable; replaces the generated questions)\n"
      "  --questions-file F   ask each non-empty line of F ('-': stdin), for questions\n"
      "                       longer than the command line allows\n"
      "  --concurrency N      worker threads (default 2)\n"
      "  --seed S             seed of questions, wrong SQL and faults (default 7)\n"
      "  --wrong-sql-rate R   offline model: first SQL attempts that are wrong (0.3)\n"
      "  --llm-latency-ms MS  offline model: mean latency of a call (20)\n"
      "  --slow-llm R         rate of model calls that take --slow-ms longer (0)\n"
      "  --slow-db R          rate of queries that take --slow-ms longer (0)\n"
      "  --db-error R         rate of queries that fail with SQLITE_BUSY (0)\n"
      "  --slow-ms MS         the added latency of a slow call (300)\n"
      "  --max-attempts N     SQL attempts per question, corrections included (3)\n"
      "  --capture-content    record prompts and answers (gen_ai.input/output.messages)\n"
      "  --no-console         do not print trace trees\n"
      "  --conversation ID    gen_ai.conversation.id of the run's traces (one trace per\n"
      "                       question; default sql-agent-<start time in ms>)\n"
      "  --verbose            trace trees show every attribute (default: the key ones)\n"
      "  --otlp-file PATH     OTLP-JSON lines output (default sql_agent.jsonl; '' = none)\n"
      "  --data-dir DIR       where the SQLite databases live (sql_agent_data)\n"
      "  --model NAME         use an OpenAI-compatible endpoint with this model\n"
      "                       (OPENAI_BASE_URL, OPENAI_API_KEY)\n"
      "  --provider NAME      gen_ai.provider.name of that endpoint (openai)\n"
      "  --offline            use the offline model even if --model is set\n"
      "  --linger SECONDS     stay up that long after the last answer (a /metrics endpoint\n"
      "                       keeps serving)\n"
      "Metrics (span-derived and sql_agent.questions) go to the OTLP-JSON file; set\n"
      "OTEL_METRICS_EXPORTER=none to turn them off, =prometheus to serve /metrics on\n"
      "OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT (localhost:9464).\n"
      "OTEL_TRACES_EXPORTER / AGENTRACE_OTLP_FILE replace the default exporters;\n"
      "AGENTRACE_TAIL_SAMPLING='errors or duration > 250ms' keeps only the matching\n"
      "questions' traces (docs/sampling.md).\n");
  std::exit(2);
}

double rate_arg(const char* flag, const char* v) {
  char* end = nullptr;
  const double r = std::strtod(v, &end);
  if (!end || *end || r < 0 || r > 1) usage((std::string(flag) + " wants a rate in [0,1]").c_str());
  return r;
}
long long int_arg(const char* flag, const char* v, long long min) {
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (!end || *end || n < min)
    usage((std::string(flag) + " wants an integer >= " + std::to_string(min)).c_str());
  return n;
}

// The non-empty lines of `path` ('-': stdin), each one question; a trailing '\r' is dropped.
void read_questions(const char* path, std::vector<std::string>& out) {
  std::ifstream file;
  const bool is_stdin = std::string_view(path) == "-";
  if (!is_stdin) {
    file.open(path, std::ios::binary);
    if (!file) usage(("--questions-file: cannot read '" + std::string(path) + "'").c_str());
  }
  std::istream& in = is_stdin ? std::cin : file;
  const std::size_t before = out.size();
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(std::move(line));
  }
  if (in.bad()) usage(("--questions-file: error reading '" + std::string(path) + "'").c_str());
  if (out.size() == before)
    usage(("--questions-file: no question in '" + std::string(path) + "'").c_str());
}

cli parse(int argc, char** argv) {
  cli c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage((std::string(a) + " needs a value").c_str());
      return argv[++i];
    };
    if (a == "--questions")
      c.questions = static_cast<std::size_t>(int_arg(argv[i], value(), 1));
    else if (a == "--question")
      c.custom_questions.emplace_back(value());
    else if (a == "--questions-file")
      read_questions(value(), c.custom_questions);
    else if (a == "--concurrency")
      c.run.concurrency = static_cast<std::size_t>(int_arg(argv[i], value(), 1));
    else if (a == "--seed")
      c.run.agent.seed = c.offline_model.seed =
          static_cast<std::uint64_t>(int_arg(argv[i], value(), 0));
    else if (a == "--wrong-sql-rate")
      c.offline_model.wrong_sql_rate = rate_arg(argv[i], value());
    else if (a == "--llm-latency-ms")
      c.offline_model.latency = std::chrono::milliseconds(int_arg(argv[i], value(), 0));
    else if (a == "--slow-llm")
      c.run.agent.slow_llm_rate = rate_arg(argv[i], value());
    else if (a == "--slow-db")
      c.run.agent.slow_db_rate = rate_arg(argv[i], value());
    else if (a == "--db-error")
      c.run.agent.db_error_rate = rate_arg(argv[i], value());
    else if (a == "--slow-ms")
      c.run.agent.slow_ms = std::chrono::milliseconds(int_arg(argv[i], value(), 0));
    else if (a == "--max-attempts")
      c.run.agent.max_attempts = static_cast<int>(int_arg(argv[i], value(), 1));
    else if (a == "--capture-content")
      c.capture = true;
    else if (a == "--no-console")
      c.console = false;
    else if (a == "--conversation")
      c.run.agent.conversation_id = value();
    else if (a == "--verbose")
      c.verbose = true;
    else if (a == "--otlp-file")
      c.otlp_file = value();
    else if (a == "--data-dir")
      c.run.data_dir = value();
    else if (a == "--model")
      c.model = value();
    else if (a == "--provider")
      c.provider = value();
    else if (a == "--offline")
      c.offline = true;
    else if (a == "--linger")
      c.linger_seconds = static_cast<int>(int_arg(argv[i], value(), 0));
    else if (a == "-h" || a == "--help")
      usage();
    else
      usage(("unknown option " + std::string(a)).c_str());
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  cli c = parse(argc, argv);
  if (c.run.agent.conversation_id.empty())  // the run is the conversation: one id for its traces
    c.run.agent.conversation_id =
        "sql-agent-" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());

  // The model: offline unless a model name and an endpoint are configured.
  sql_agent::llm_factory make_llm;
  std::string model_label;
  const bool endpoint = std::getenv("OPENAI_BASE_URL") || std::getenv("OPENAI_API_KEY");
  if (!c.model.empty() && !c.offline) {
#if AGENTRACE_SQL_AGENT_HAVE_HTTP
    if (!endpoint) usage("--model needs OPENAI_BASE_URL and/or OPENAI_API_KEY");
    const auto opts = agentrace::llm::openai_options::from_env();
    make_llm = [opts, model = c.model, provider = c.provider] {
      return std::make_unique<sql_agent::openai_llm>(opts, model, provider);
    };
    model_label = c.model + " at " + opts.base_url;
#else
    (void)endpoint;
    usage("--model: this build has no HTTP client (libcurl was not found)");
#endif
  } else {
    make_llm = [o = c.offline_model] { return std::make_unique<sql_agent::offline_llm>(o); };
    model_label = "offline model " + c.offline_model.model;
  }

  std::vector<agentrace::exporter_ptr> defaults;
  if (c.console) {
    agentrace::console_options co;
    if (!c.verbose)  // the OTLP-JSON file has every attribute; the trees show the telling ones
      co.attributes = {"gen_ai.data_source.id",
                       "gen_ai.prompt.name",
                       "sql_agent.attempt",
                       "gen_ai.usage.input_tokens",
                       "gen_ai.usage.output_tokens",
                       "gen_ai.usage.cache_read.input_tokens",
                       "gen_ai.response.time_to_first_chunk",
                       "db.query.text",
                       "db.response.returned_rows",
                       "error.type",
                       "gen_ai.input.messages",
                       "gen_ai.output.messages"};
    defaults.push_back(agentrace::console(co));
  }
  if (!c.otlp_file.empty()) defaults.push_back(agentrace::otlp_json_file(c.otlp_file));
  std::vector<agentrace::exporter_ptr> exporters =
      agentrace::exporters_from_env_or(std::move(defaults));
  const char* metrics_env = std::getenv("OTEL_METRICS_EXPORTER");
  const std::string_view metrics_exporter = metrics_env ? metrics_env : "";
#if AGENTRACE_SQL_AGENT_HAVE_PROMETHEUS
  if (metrics_exporter.find("prometheus") != std::string_view::npos &&
      std::none_of(exporters.begin(), exporters.end(),
                   [](const auto& e) { return e->name() == "prometheus"; })) {
    try {
      exporters.push_back(agentrace::prometheus());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "sql_agent: %s\n", e.what());
      return 1;
    }
  }
#endif
  agentrace::config cfg{.service_name = "sql-agent", .exporters = std::move(exporters)};
  cfg.metrics.enabled = metrics_exporter != "none";
  auto tracing = agentrace::start(std::move(cfg));
  // Content capture: --capture-content, else OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT.
  agentrace::genai::configure_content(
      {.capture = c.capture ? std::optional<bool>(true) : std::nullopt});

  const std::vector<std::string> questions =
      c.custom_questions.empty() ? sql_agent::make_questions(c.questions, c.run.agent.seed)
                                 : c.custom_questions;
  std::printf("sql_agent: %zu question(s), %zu worker(s), %s, content capture %s\n",
              questions.size(), c.run.concurrency, model_label.c_str(),
              agentrace::genai::capture_content() ? "on" : "off");
  std::fflush(stdout);

  std::vector<sql_agent::answer> answers;
  try {
    answers = sql_agent::run(questions, make_llm, c.run);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sql_agent: %s\n", e.what());
    return 1;
  }
  for (const auto& a : answers) questions_total.add(1, {{k_outcome, a.ok ? "answered" : "failed"}});
  tracing.force_flush();  // the trace trees print here

  std::size_t ok = 0, retried = 0;
  std::int64_t in = 0, out = 0;
  std::printf("\n");
  for (const auto& a : answers) {
    ok += a.ok;
    retried += a.attempts > 1;
    in += a.input_tokens;
    out += a.output_tokens;
    std::printf("Q%zu [%s] %s\n   -> %s", a.index + 1, a.source.empty() ? "?" : a.source.c_str(),
                a.question.c_str(), a.ok ? a.text.c_str() : ("FAILED: " + a.error).c_str());
    if (a.attempts > 1) std::printf("  (%d SQL attempts)", a.attempts);
    std::printf("\n");
  }
  std::printf("\n%zu/%zu answered, %zu needed SQL corrections, %lld input + %lld output tokens\n",
              ok, answers.size(), retried, static_cast<long long>(in), static_cast<long long>(out));
  if (c.linger_seconds > 0) {
    std::printf("lingering %d s\n", c.linger_seconds);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(c.linger_seconds));
  }
  tracing.shutdown();
  const auto st = tracing.stats();
  const bool env_exporters =
      std::getenv("OTEL_TRACES_EXPORTER") || std::getenv("AGENTRACE_OTLP_FILE");
  std::printf("%llu spans exported, %llu dropped%s%s\n",
              static_cast<unsigned long long>(st.spans_exported),
              static_cast<unsigned long long>(st.dropped_total()),
              c.otlp_file.empty() || env_exporters ? "" : "; OTLP-JSON in ",
              c.otlp_file.empty() || env_exporters ? "" : c.otlp_file.c_str());
  if (st.tail_sampling.traces_kept + st.tail_sampling.traces_dropped > 0)
    std::printf("tail sampling: %llu traces kept, %llu dropped (%llu spans)\n",
                static_cast<unsigned long long>(st.tail_sampling.traces_kept),
                static_cast<unsigned long long>(st.tail_sampling.traces_dropped),
                static_cast<unsigned long long>(st.dropped_tail_sampled));
  return 0;  // unanswered questions are an outcome of the agent, visible in its traces
}
