// SPDX-License-Identifier: MIT
// An LLM judge over selected traces: sends each call tree to an OpenAI-compatible chat
// completions endpoint, validates the JSON verdict (score, label, explanation, per-span labels),
// retries a malformed verdict once, and turns verdicts into gen_ai.evaluation.result telemetry
// parented to the judged spans. Needs the target agentrace::http (libcurl).
#pragma once

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agentrace/config.hpp"
#include "agentrace/detail/clock.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/random.hpp"
#include "agentrace/eval/dataset.hpp"
#include "agentrace/eval/query.hpp"
#include "agentrace/exporter.hpp"
#include "agentrace/llm/openai.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

struct judge_options {
  std::string endpoint = "https://api.openai.com/v1";  // base URL (…/v1) or …/chat/completions
  std::string model{};
  std::string api_key{};  // OPENAI_API_KEY
  std::string rubric{default_rubric};
  std::string prompt_template{default_judge_template};
  std::string evaluation_name = "agent_task";  // gen_ai.evaluation.name
  std::chrono::milliseconds timeout{60000};    // per request
  std::size_t concurrency = 4;                 // requests in flight
  int max_retries = 2;                         // on 429, 5xx, timeouts, connection errors
  std::chrono::milliseconds backoff{500};      // first retry delay, doubled each time
  // A retryable answer's Retry-After (429, 503) replaces the backoff; a server asking for more
  // than this is not retried (the evaluation fails and says how long it was asked to wait).
  std::chrono::milliseconds max_retry_after{30000};
  bool json_mode = true;  // response_format {"type":"json_object"}
  std::optional<double> temperature = 0.0;
  tree_options tree{};
};

/// A per-span label from the verdict.
struct span_label {
  std::uint64_t span_id = 0;
  std::string label;
  std::string note;
};

/// The judge's verdict on one trace, or why there is none (ok == false: evaluation error).
struct verdict {
  trace_id trace{};
  std::uint64_t root_span_id = 0;    // the span the overall result is attached to
  std::vector<std::string> reasons;  // why the trace was selected
  bool ok = false;
  double score = 0;
  std::string label;
  std::string explanation;
  std::vector<span_label> spans;
  std::string error;       // evaluation error: what went wrong
  std::string error_type;  // "invalid_verdict", "429", "500", "timeout", "connect", ...
  std::string response_id;
  std::string response_model;
  int attempts = 0;  // requests sent
  std::uint64_t start_unix_ns = 0, end_unix_ns = 0;
};

/// Checks a verdict text against `t`. Returns the error text, or "" and fills `v`.
/// Accepts the JSON object alone or wrapped in prose / a ``` fence.
inline std::string parse_verdict(std::string_view content, const trace& t, verdict& v) {
  const std::size_t open = content.find('{');
  const std::size_t close = content.rfind('}');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return "the answer contains no JSON object";
  auto j = nlohmann::json::parse(content.substr(open, close - open + 1), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "the answer is not a valid JSON object";
  auto score = j.find("score");
  if (score == j.end() || !score->is_number()) return "\"score\" must be a number";
  const double sc = score->get<double>();
  if (!(sc >= 0 && sc <= 1)) return "\"score\" must be between 0 and 1";
  auto label = j.find("label");
  if (label == j.end() || !label->is_string() || label->get_ref<const std::string&>().empty())
    return "\"label\" must be a non-empty string";
  auto expl = j.find("explanation");
  if (expl == j.end() || !expl->is_string()) return "\"explanation\" must be a string";
  std::vector<span_label> labels;
  auto spans = j.find("spans");
  if (spans != j.end() && !spans->is_null()) {
    if (!spans->is_array()) return "\"spans\" must be an array";
    for (const auto& e : *spans) {
      if (!e.is_object()) return "\"spans\" entries must be objects";
      auto id = e.find("span_id");
      if (id == e.end() || !id->is_string()) return "a \"spans\" entry has no string \"span_id\"";
      std::uint64_t sid = 0;
      if (!parse_span_id(id->get_ref<const std::string&>(), sid) || t.find(sid) == trace::npos)
        return "span_id \"" + id->get<std::string>() + "\" is not a span of this trace";
      auto l = e.find("label");
      if (l == e.end() || !l->is_string() || l->get_ref<const std::string&>().empty())
        return "a \"spans\" entry has no non-empty \"label\"";
      span_label sl{sid, l->get<std::string>(), {}};
      auto note = e.find("note");
      if (note != e.end() && note->is_string()) sl.note = note->get<std::string>();
      labels.push_back(std::move(sl));
    }
  }
  v.score = sc;
  v.label = label->get<std::string>();
  v.explanation = expl->get<std::string>();
  v.spans = std::move(labels);
  return {};
}

/// The chat request for one trace.
inline llm::chat_request judge_request(const trace& t, const std::vector<std::string>& reasons,
                                       const judge_options& o) {
  llm::chat_request r;
  r.model = o.model;
  r.temperature = o.temperature;
  r.json_object = o.json_mode;
  r.messages.push_back({"system",
                        "You are a careful evaluator of AI agent runs. You answer with a single "
                        "JSON object that follows the requested schema exactly."});
  r.messages.push_back(
      {"user", render_judge_prompt(t, reasons, o.prompt_template, o.rubric, o.tree)});
  return r;
}

namespace detail {
inline std::uint64_t now_unix_ns() { return static_cast<std::uint64_t>(system_ns()); }

inline bool retryable(const llm::chat_result& r) {
  if (r.http_status == 0)
    return r.error_type == "timeout" || r.error_type == "connect" || r.error_type == "transport";
  return r.http_status == 429 || r.http_status >= 500;
}

inline std::string base_url(std::string url) {
  constexpr std::string_view suffix = "/chat/completions";
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= suffix.size() &&
      url.compare(url.size() - suffix.size(), suffix.size(), suffix) == 0)
    url.resize(url.size() - suffix.size());
  return url;
}
}  // namespace detail

/// Judges one trace with `client` (blocking): HTTP failures that may pass (429, 5xx, timeouts)
/// are retried up to max_retries, after the answer's Retry-After (bounded by max_retry_after)
/// or else with backoff; a malformed verdict is retried once, with the
/// problem explained to the model; what still fails is returned as an evaluation error.
inline verdict judge_trace(llm::openai_client& client, const trace& t,
                           const std::vector<std::string>& reasons, const judge_options& o) {
  verdict v;
  v.trace = t.id();
  v.reasons = reasons;
  v.root_span_id = t.roots().empty() ? 0 : t.spans()[t.roots().front()].span_id;
  v.start_unix_ns = detail::now_unix_ns();
  llm::chat_request req = judge_request(t, reasons, o);
  int format_retries = 0;
  int http_retries = 0;
  auto delay = o.backoff;
  for (;;) {
    ++v.attempts;
    llm::chat_result res = client.chat(req);
    if (!res.ok) {
      v.error = res.error.empty() ? "request failed" : res.error;
      v.error_type = res.error_type.empty() ? "request_failed" : res.error_type;
      if (detail::retryable(res) && http_retries < o.max_retries) {
        auto wait = delay;
        if (res.retry_after) {
          if (*res.retry_after > o.max_retry_after) {
            v.error +=
                fmt::format(" (the server asked to retry after {} ms, more than the {} ms allowed)",
                            res.retry_after->count(), o.max_retry_after.count());
            break;
          }
          wait = *res.retry_after;
        }
        ++http_retries;
        std::this_thread::sleep_for(wait);
        delay *= 2;
        continue;
      }
      break;
    }
    v.error.clear();  // an earlier attempt's
    v.error_type.clear();
    v.response_id = res.id;
    v.response_model = res.model;
    const std::string problem = parse_verdict(res.content, t, v);
    if (problem.empty()) {
      v.ok = true;
      break;
    }
    if (format_retries++ == 0) {
      req.messages.push_back({"assistant", res.content});
      req.messages.push_back(
          {"user", "That answer is not valid: " + problem +
                       ". Answer again with only the JSON object described above."});
      continue;
    }
    v.error = "malformed verdict after a retry: " + problem;
    v.error_type = "invalid_verdict";
    break;
  }
  v.end_unix_ns = detail::now_unix_ns();
  return v;
}

/// One trace to judge and why it was selected.
struct judge_item {
  const trace* t = nullptr;
  std::vector<std::string> reasons;
};

/// Judges every item with at most o.concurrency requests in flight (one HTTP client per
/// worker thread). Verdicts come back in the items' order. `on_verdict` (optional) is called
/// as each finishes, from the worker threads, serialised.
inline std::vector<verdict> judge_all(const std::vector<judge_item>& items, const judge_options& o,
                                      const std::function<void(const verdict&)>& on_verdict = {}) {
  std::vector<verdict> out(items.size());
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  llm::openai_options co;
  co.base_url = detail::base_url(o.endpoint);
  co.api_key = o.api_key;
  co.timeout = o.timeout;
  auto worker = [&] {
    llm::openai_client client(co);
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= items.size()) return;
      out[i] = judge_trace(client, *items[i].t, items[i].reasons, o);
      if (on_verdict) {
        std::lock_guard<std::mutex> lock(mu);
        on_verdict(out[i]);
      }
    }
  };
  const std::size_t n = std::max<std::size_t>(1, std::min(o.concurrency, items.size()));
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& th : threads) th.join();
  return out;
}

/// One verdicts-JSONL line (no trailing newline).
inline std::string verdict_line(const verdict& v, const trace* t = nullptr) {
  nlohmann::ordered_json j;
  j["trace_id"] = to_hex(v.trace);
  j["ok"] = v.ok;
  if (v.ok) {
    j["score"] = v.score;
    j["label"] = v.label;
    j["explanation"] = v.explanation;
    j["spans"] = nlohmann::ordered_json::array();
    for (const auto& s : v.spans) {
      nlohmann::ordered_json e = {{"span_id", to_hex(s.span_id)}, {"label", s.label}};
      if (t) {
        const std::size_t i = t->find(s.span_id);
        if (i != trace::npos) e["name"] = t->spans()[i].name;
      }
      if (!s.note.empty()) e["note"] = s.note;
      j["spans"].push_back(std::move(e));
    }
  } else {
    j["error"] = v.error;
    j["error_type"] = v.error_type;
  }
  j["selected_because"] = v.reasons;
  if (!v.response_model.empty()) j["model"] = v.response_model;
  if (!v.response_id.empty()) j["response_id"] = v.response_id;
  j["attempts"] = v.attempts;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// ---------------------------------------------------------------- telemetry

/// gen_ai.evaluation.result attribute keys (semantic conventions, v1.38+).
namespace evaluation_keys {
inline constexpr key<std::string> name{"gen_ai.evaluation.name"};
inline constexpr key<double> score_value{"gen_ai.evaluation.score.value"};
inline constexpr key<std::string> score_label{"gen_ai.evaluation.score.label"};
inline constexpr key<std::string> explanation{"gen_ai.evaluation.explanation"};
inline constexpr key<std::string> response_id{"gen_ai.response.id"};
inline constexpr key<std::string> error_type{"error.type"};
inline constexpr std::string_view event_name = "gen_ai.evaluation.result";
}  // namespace evaluation_keys

/// Calls add(verdict, span_id, score, label, explanation, error_type) for each evaluation result
/// of `verdicts`: one for the judged trace's root span, one for each span the verdict labels.
template <class Add>
void for_each_evaluation(const std::vector<verdict>& verdicts, Add&& add) {
  for (const auto& v : verdicts) {
    if (!v.root_span_id) continue;
    add(v, v.root_span_id, v.ok ? std::optional<double>(v.score) : std::nullopt,
        v.ok ? v.label : std::string(), v.ok ? v.explanation : v.error,
        v.ok ? std::string() : v.error_type);
    if (v.ok)
      for (const auto& s : v.spans) add(v, s.span_id, std::nullopt, s.label, s.note, std::string());
  }
}

/// gen_ai.evaluation.result log records (OTLP logs, the GenAI conventions' event): for each
/// verdict one linked to the judged trace's root span, and one linked to each labelled span,
/// with the semconv attributes; an evaluation error carries error.type and severity WARN.
/// Export them with export_evaluation_logs() (or emit each with emit_event() in a process that
/// traces).
inline std::vector<log_record> evaluation_log_records(const std::vector<verdict>& verdicts,
                                                      const std::string& evaluation_name) {
  namespace ev = evaluation_keys;
  std::vector<log_record> out;
  auto add = [&](const verdict& v, std::uint64_t span_id, std::optional<double> score,
                 const std::string& label, const std::string& explanation,
                 const std::string& error_type) {
    log_record r;
    r.time_unix_ns = std::max(v.end_unix_ns, v.start_unix_ns);
    if (r.time_unix_ns == 0) r.time_unix_ns = detail::now_unix_ns();
    r.observed_time_unix_ns = detail::now_unix_ns();
    r.event_name = ev::event_name;
    r.severity = error_type.empty() ? severity::info : severity::warn;
    r.context = span_context{v.trace, span_id, flag_sampled, false};
    auto str = [](const std::string& s) { return attr_value{std::in_place_type<std::string>, s}; };
    r.attributes.push_back({ev::name.name(), str(evaluation_name)});
    if (score) r.attributes.push_back({ev::score_value.name(), attr_value{*score}});
    if (!label.empty()) r.attributes.push_back({ev::score_label.name(), str(label)});
    if (!explanation.empty()) r.attributes.push_back({ev::explanation.name(), str(explanation)});
    if (!v.response_id.empty())
      r.attributes.push_back({ev::response_id.name(), str(v.response_id)});
    if (!error_type.empty()) r.attributes.push_back({ev::error_type.name(), str(error_type)});
    out.push_back(std::move(r));
  };
  for_each_evaluation(verdicts, add);
  return out;
}

/// Exports evaluation log records through `e` (OTLP/HTTP logs, an OTLP-JSON file, the console)
/// with the resource of agentrace-eval, then flushes it. Returns the exporter's result.
inline export_result export_evaluation_logs(exporter& e, const std::vector<log_record>& records,
                                            const std::string& service_name = "agentrace-eval") {
  config cfg;
  cfg.service_name = service_name;
  cfg.read_environment = false;
  const agentrace::resource res = make_resource(cfg);
  const log_batch batch{records, res, "agentrace.eval", AGENTRACE_VERSION_STRING};
  const export_result r = e.export_logs(batch);
  e.force_flush(std::chrono::milliseconds(10000));
  return r;
}

/// For backends that do not take OTLP logs yet (a documented option, off by default): span
/// records (built off the hot path, explicit ids and Unix-ns times) that mirror the verdicts
/// into the judged traces: for each verdict one span named gen_ai.evaluation.result under the
/// trace's root span, and one under each labelled span, each with the semconv attributes and a
/// gen_ai.evaluation.result span event. Export them with export_evaluations().
class evaluation_records {
 public:
  evaluation_records(const std::vector<verdict>& verdicts, const std::string& evaluation_name)
      : name_(evaluation_name) {
    std::uint64_t around = 0;
    for (const auto& v : verdicts) around = std::max(around, v.end_unix_ns);
    for_each_evaluation(verdicts, [this](auto&&... a) { add(a...); });
    clock_ = detail::clock_converter::unix_ns(around ? around : detail::now_unix_ns());
  }
  evaluation_records(const evaluation_records&) = delete;
  evaluation_records& operator=(const evaluation_records&) = delete;

  std::span<const span_record> records() const noexcept { return records_; }
  const detail::clock_converter& clock() const noexcept { return clock_; }

 private:
  void add(const verdict& v, std::uint64_t parent, std::optional<double> score,
           const std::string& label, const std::string& explanation,
           const std::string& error_type) {
    namespace ev = evaluation_keys;
    span_record r;
    r.trace_id = v.trace;
    r.parent_span_id = parent;
    r.span_id = ids_.next_nonzero();
    r.flags = flag_sampled;
    r.start_ticks = v.start_unix_ns;
    r.end_ticks = std::max(v.end_unix_ns, v.start_unix_ns);
    auto& x = r.extension();
    x.name = std::string(ev::event_name);
    std::vector<attribute> attrs;
    attrs.push_back({ev::name.name(), attr_value{std::in_place_type<std::string>, name_}});
    if (score) attrs.push_back({ev::score_value.name(), attr_value{*score}});
    if (!label.empty())
      attrs.push_back({ev::score_label.name(), attr_value{std::in_place_type<std::string>, label}});
    if (!explanation.empty())
      attrs.push_back(
          {ev::explanation.name(), attr_value{std::in_place_type<std::string>, explanation}});
    if (!v.response_id.empty())
      attrs.push_back(
          {ev::response_id.name(), attr_value{std::in_place_type<std::string>, v.response_id}});
    if (!error_type.empty()) {
      attrs.push_back(
          {ev::error_type.name(), attr_value{std::in_place_type<std::string>, error_type}});
      r.status = status_code::error;
      x.status_message = v.error;
    }
    x.attributes = attrs;
    detail::event_data e;
    e.ticks = r.end_ticks;
    e.name = ev::event_name;
    e.attributes = std::move(attrs);
    x.events.push_back(std::move(e));
    records_.push_back(std::move(r));
  }

  std::string name_;
  detail::id_generator ids_;
  std::vector<span_record> records_;
  detail::clock_converter clock_;
};

/// Exports evaluation records through `e` (an OTLP-JSON file, OTLP/HTTP, ...), with the
/// resource of agentrace-eval. Returns the exporter's result.
inline export_result export_evaluations(exporter& e, const evaluation_records& recs,
                                        const std::string& service_name = "agentrace-eval") {
  config cfg;
  cfg.service_name = service_name;
  cfg.read_environment = false;
  const agentrace::resource res = make_resource(cfg);
  const span_limits limits{};
  export_batch batch{recs.records(),           res, recs.clock(), limits, "agentrace.eval",
                     AGENTRACE_VERSION_STRING, 0};
  const export_result r = e.export_spans(batch);
  e.force_flush(std::chrono::milliseconds(10000));
  return r;
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
