// SPDX-License-Identifier: MIT
// The natural-language-to-SQL agent: a router agent picks a data source, an analyst agent has
// the model write SQL, runs it, feeds errors back for a bounded number of corrections, and has
// the model turn the rows into an answer. Every step is a span shaped by the GenAI and database
// conventions (agentrace/genai.hpp). Questions run in parallel on a thread pool. Each question
// is its own trace (one trace per user request); a run's traces share gen_ai.conversation.id,
// and the run's `invoke_workflow sql_agent` span, a trace of its own, links to them.
#pragma once

#include <agentrace/agentrace.hpp>
#include <agentrace/genai.hpp>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "databases.hpp"
#include "llm.hpp"

namespace sql_agent {

namespace keys {
/// Which attempt at writing SQL an `sql.attempt` span is (1-based).
inline constexpr agentrace::key<std::int64_t> attempt{"sql_agent.attempt"};
/// The question's position in the run.
inline constexpr agentrace::key<std::int64_t> question_index{"sql_agent.question.index"};
}  // namespace keys

/// Fault injection and limits of the agent.
struct agent_options {
  std::uint64_t seed = 42;
  int max_attempts = 3;        // SQL attempts per question (1 + corrections)
  double slow_llm_rate = 0.0;  // model calls that take `slow_ms` longer
  double slow_db_rate = 0.0;   // queries that take `slow_ms` longer
  double db_error_rate = 0.0;  // queries that fail with SQLITE_BUSY
  std::chrono::milliseconds slow_ms{300};
  bool stream_answers = true;         // stream the answer step when the model can
  std::string conversation_prefix{};  // gen_ai.conversation.id = prefix + index (none if empty)
  std::string conversation_id{};      // else this one for every question (none if empty)
};

/// What the agent did for one question.
struct answer {
  std::size_t index = 0;
  std::string question;
  std::string source;
  std::string sql;
  std::string text;
  int attempts = 0;
  bool ok = false;
  std::string error;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  agentrace::span_context trace{};  // the question's root span (its router), for links
};

namespace detail {
/// The SQL inside a model's reply (code fences and a trailing semicolon removed).
inline std::string extract_sql(std::string s) {
  const std::size_t fence = s.find("```");
  if (fence != std::string::npos) {
    std::size_t start = s.find('\n', fence);
    start = start == std::string::npos ? fence + 3 : start + 1;
    const std::size_t end = s.find("```", start);
    s = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == ';'))
    s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

inline std::string lower_trim(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t b = 0, e = s.size();
  while (b < e && !std::isalnum(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && !std::isalnum(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}
}  // namespace detail

/// One agent: a model, a set of connections, options. One per worker thread.
class agent {
 public:
  agent(llm& model, connections& dbs, agent_options opt)
      : model_(model), dbs_(dbs), opt_(std::move(opt)) {}

  /// Answers question `index`. Its spans are children of `parent`; an invalid `parent` makes
  /// the question a trace of its own.
  answer ask(const std::string& question, std::size_t index,
             const agentrace::span_context& parent = agentrace::current_context()) {
    namespace genai = agentrace::genai;
    answer a;
    a.index = index;
    a.question = question;
    const std::string conversation = opt_.conversation_prefix.empty()
                                         ? opt_.conversation_id
                                         : opt_.conversation_prefix + std::to_string(index);
    conversation_ = conversation;
    current_question_ = question;
    usage_in_ = usage_out_ = 0;

    // The router agent: the root of this question's trace, or of its subtree under `parent`.
    genai::agent_span router({.name = "router",
                              .description = "picks the database that can answer the question",
                              .conversation_id = conversation},
                             parent);
    router.set(keys::question_index, static_cast<std::int64_t>(index));
    a.trace = router.context();
    if (genai::capture_content()) router.input_messages({genai::message::user(question)});

    a.source = route(question, router);
    if (a.source.empty()) {
      a.error = "no data source can answer this question";
      router.usage({.input_tokens = usage_in_, .output_tokens = usage_out_});
      a.input_tokens = usage_in_;
      a.output_tokens = usage_out_;
      return a;
    }
    analyse(a);
    router.usage({.input_tokens = usage_in_, .output_tokens = usage_out_});
    if (!a.ok) router.fail("agent_failed", a.error);
    if (genai::capture_content() && a.ok)
      router.output_messages({genai::message::assistant(a.text, "stop")});
    a.input_tokens = usage_in_;
    a.output_tokens = usage_out_;
    return a;
  }

 private:
  /// One model call inside an inference span (`chat {model}`), with request parameters,
  /// response id/model, usage, finish reasons, time to first chunk when streamed, errors, and
  /// content when capture is on. `req` is taken by value: its messages are moved into the
  /// captured content after the call instead of being copied.
  llm_response call(llm_request req, std::uint64_t fault_key) {
    namespace genai = agentrace::genai;
    namespace gen_ai = agentrace::semconv::gen_ai;
    const bool stream = req.stream && model_.can_stream();
    req.stream = stream;
    const std::string server = model_.server_address();
    genai::inference_span span({.provider = model_.provider(),
                                .model = model_.model(),
                                .server_address = server,
                                .server_port = model_.server_port(),
                                .conversation_id = conversation_,
                                .stream = stream,
                                .kind = model_.in_process() ? agentrace::span_kind::internal
                                                            : agentrace::span_kind::client});
    span.set(gen_ai::prompt_name, req.prompt_name);
    span.set(gen_ai::request_temperature, req.temperature);
    span.set(gen_ai::request_max_tokens, req.max_tokens);
    if (unit(fault_key ^ 0x510) < opt_.slow_llm_rate) std::this_thread::sleep_for(opt_.slow_ms);
    llm_response r = model_.complete(req, [&](std::string_view) { span.chunk(); });
    if (r.ok) {
      span.response(r.id, r.model).usage(r.usage).finish_reasons(r.finish_reasons);
      usage_in_ += r.usage.input_tokens.value_or(0);
      usage_out_ += r.usage.output_tokens.value_or(0);
    } else {
      span.fail(r.error_type, r.error);
    }
    if (genai::capture_content()) {
      std::vector<genai::part> system;
      std::vector<genai::message> input;
      for (auto& m : req.messages) {
        if (m.role == "system")
          system.push_back(genai::part::text(std::move(m.content)));
        else
          input.push_back({std::move(m.role), {genai::part::text(std::move(m.content))}, {}, {}});
      }
      if (!system.empty()) span.system_instructions(std::move(system));
      span.input_messages(std::move(input));
      if (r.ok)
        span.output_messages({genai::message::assistant(
            r.content, r.finish_reasons.empty() ? std::string("stop") : r.finish_reasons[0])});
    }
    return r;
  }

  std::uint64_t key(std::size_t step, std::size_t attempt = 0) const {
    return mix(opt_.seed * 0x9e3779b97f4a7c15ull ^ hash_text(current_question_) ^ (step << 8) ^
               attempt);
  }

  /// The router's decision: a data source id, or empty (router span in ERROR).
  std::string route(const std::string& question, agentrace::genai::agent_span& router) {
    std::string catalogue;
    for (const auto& s : data_sources()) catalogue += "- " + s.id + ": " + s.description + "\n";
    llm_request req;
    req.prompt_name = "route";
    req.max_tokens = 8;
    req.messages = {
        {"system", "You route questions to the one database that can answer them. Databases:\n" +
                       catalogue + "Reply with the database id only, or 'none'."},
        {"user", question}};
    llm_response r = call(std::move(req), key(1));
    if (!r.ok) {
      router.fail(r.error_type.empty() ? "llm_error" : r.error_type, r.error);
      return {};
    }
    std::string choice = detail::lower_trim(r.content);
    for (const auto& s : data_sources())
      if (choice == s.id || choice.find(s.id) != std::string::npos) return s.id;
    router.fail("unknown_data_source", "the model chose '" + choice + "'");
    return {};
  }

  /// The analyst agent: SQL attempts with error feedback, then the answer.
  void analyse(answer& a) {
    namespace genai = agentrace::genai;
    const data_source& src = *find_source(a.source);
    genai::agent_span analyst({.name = "sql_analyst",
                               .description = "answers a question with SQL over one database",
                               .conversation_id = conversation_,
                               .data_source_id = a.source});
    const std::int64_t in0 = usage_in_, out0 = usage_out_;
    std::vector<chat_message> history = {
        {"system", "You write one SQLite query that answers the question. Schema of '" + src.id +
                       "':\n" + src.schema + "\nReply with the SQL only."},
        {"user", a.question}};
    query_result rows;
    std::string last_error;
    for (int attempt = 1; attempt <= opt_.max_attempts && !rows.ok; ++attempt) {
      AGENTRACE_SPAN(attempt_span, "sql.attempt");
      attempt_span.set(keys::attempt, static_cast<std::int64_t>(attempt));
      a.attempts = attempt;
      llm_request req;
      req.prompt_name = "generate_sql";
      req.messages = history;
      req.max_tokens = 256;
      llm_response g = call(std::move(req), key(2, static_cast<std::size_t>(attempt)));
      if (!g.ok) {
        last_error = "the model failed: " + g.error;
        attempt_span.set(agentrace::semconv::error::type,
                         g.error_type.empty() ? std::string("llm_error") : g.error_type);
        attempt_span.error(g.error);
        break;  // a model that does not answer is not corrected by asking again
      }
      a.sql = detail::extract_sql(std::move(g.content));
      const std::uint64_t fk = key(3, static_cast<std::size_t>(attempt));
      db_faults faults;
      faults.slow = unit(fk ^ 0xdb5) < opt_.slow_db_rate;
      faults.fail_busy = unit(fk ^ 0xdbe) < opt_.db_error_rate;
      faults.slow_ms = opt_.slow_ms;
      rows = dbs_.run(a.source, a.sql, faults);
      if (!rows.ok) {
        std::string msg = rows.error;
        agentrace::genai::redact(msg);
        attempt_span.set(agentrace::semconv::error::type, rows.error_type);
        attempt_span.error(msg);
        last_error = rows.error;
        history.push_back({"assistant", a.sql});
        history.push_back({"user", "The query failed with: " + rows.error +
                                       "\nReply with a corrected query only."});
      }
    }
    if (!rows.ok) {
      a.error = "no working SQL after " + std::to_string(a.attempts) + " attempt(s): " + last_error;
      analyst.usage({.input_tokens = usage_in_ - in0, .output_tokens = usage_out_ - out0});
      analyst.fail(a.attempts >= opt_.max_attempts ? "sql_attempts_exhausted" : "llm_error",
                   a.error);
      return;
    }
    llm_request req;
    req.prompt_name = "answer";
    req.stream = opt_.stream_answers;
    req.max_tokens = 256;
    req.temperature = 0.2;
    req.messages = {
        {"system", "Answer the question in one sentence, using only the rows."},
        {"user", "Question: " + a.question + "\nSQL: " + a.sql + "\nRows: " + rows.rows.dump()}};
    llm_response ans = call(std::move(req), key(4));
    analyst.usage({.input_tokens = usage_in_ - in0, .output_tokens = usage_out_ - out0});
    if (!ans.ok) {
      a.error = "the model failed to answer: " + ans.error;
      analyst.fail(ans.error_type.empty() ? "llm_error" : ans.error_type, ans.error);
      return;
    }
    a.text = std::move(ans.content);
    while (!a.text.empty() && std::isspace(static_cast<unsigned char>(a.text.back())))
      a.text.pop_back();
    a.ok = true;
    if (genai::capture_content())
      analyst.output_messages({genai::message::assistant(a.text, "stop")});
  }

  llm& model_;
  connections& dbs_;
  agent_options opt_;
  std::string conversation_;
  std::string current_question_;
  std::int64_t usage_in_ = 0, usage_out_ = 0;
};

/// How a run is set up.
struct run_options {
  std::filesystem::path data_dir = "sql_agent_data";
  std::size_t concurrency = 2;
  agent_options agent{};
};

/// Answers every question on a pool of `concurrency` threads. Each worker has its own model and
/// connections; each question is a trace of its own, rooted in its router span, so that a
/// query over traces ("slow or failed requests") selects questions, not the whole run. The run
/// is an `invoke_workflow sql_agent` span in a trace of its own that links to every question's
/// root; all of them carry the run's gen_ai.conversation.id (agent_options::conversation_id).
inline std::vector<answer> run(const std::vector<std::string>& questions,
                               const llm_factory& make_llm, const run_options& opt) {
  namespace genai = agentrace::genai;
  ensure_databases(opt.data_dir);
  std::vector<answer> answers(questions.size());
  genai::workflow_span session({.name = "sql_agent", .conversation_id = opt.agent.conversation_id},
                               agentrace::span_context{});
  std::atomic<std::size_t> next{0};
  std::mutex error_mu;
  std::string worker_error;
  auto worker = [&] {
    try {
      std::unique_ptr<llm> model = make_llm();
      connections dbs(opt.data_dir);
      agent ag(*model, dbs, opt.agent);
      for (std::size_t i; (i = next.fetch_add(1)) < questions.size();)
        answers[i] = ag.ask(questions[i], i, agentrace::span_context{});
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(error_mu);
      worker_error = e.what();
    }
  };
  const std::size_t n = std::max<std::size_t>(1, std::min(opt.concurrency, questions.size()));
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < n; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  for (const auto& a : answers) session.link(a.trace);
  if (!worker_error.empty()) {
    session.fail("worker_failed", worker_error);
    throw std::runtime_error(worker_error);
  }
  std::size_t failed = 0;
  for (const auto& a : answers) failed += !a.ok;
  if (failed)
    session.fail("questions_failed", std::to_string(failed) + " question(s) not answered");
  return answers;
}

}  // namespace sql_agent
