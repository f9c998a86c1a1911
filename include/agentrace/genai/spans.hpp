// SPDX-License-Identifier: MIT
// GenAI spans shaped by the OpenTelemetry GenAI conventions: inference `chat {model}`,
// `invoke_agent {name}`, `execute_tool {name}`, `embeddings {model}`, `retrieval {source}`,
// `invoke_workflow {name}`, with usage, finish reasons, errors and opt-in content.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/genai/content.hpp"
#include "agentrace/genai/messages.hpp"
#include "agentrace/semconv/semconv.hpp"
#include "agentrace/span.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

namespace gen_ai = semconv::gen_ai;

// ================================================================================================
// string arguments: literals stay pointers, runtime strings are copied once into the span
// ================================================================================================

/// A string for a span option: a literal (or static_string constant) is recorded as a pointer
/// without a copy; a std::string / std::string_view is viewed and copied once when recorded, so it
/// must outlive the constructor call it is passed to.
class string_arg {
 public:
  constexpr string_arg() noexcept {}  // NOLINT(modernize-use-equals-default): st_ needs its init
  template <std::size_t N>
  consteval string_arg(const char (&s)[N]) noexcept : st_(s), static_(true) {}  // NOLINT
  constexpr string_arg(static_string s) noexcept : st_(s), static_(true) {}     // NOLINT
  string_arg(std::string_view s) noexcept : rt_(s) {}                           // NOLINT
  string_arg(const std::string& s) noexcept : rt_(s) {}                         // NOLINT

  constexpr bool empty() const noexcept { return static_ ? st_.size() == 0 : rt_.empty(); }
  constexpr std::string_view view() const noexcept { return static_ ? st_.view() : rt_; }
  constexpr bool is_static() const noexcept { return static_; }
  constexpr static_string static_value() const noexcept { return st_; }

 private:
  static_string st_{""};
  std::string_view rt_{};
  bool static_ = false;
};

namespace detail {
/// Sets a string attribute from a string_arg (nothing when empty).
inline void put(scoped_span& s, const key<std::string>& k, const string_arg& v) {
  if (v.empty()) return;
  if (v.is_static())
    s.set(k, v.static_value());
  else
    s.set(k, v.view());
}
inline std::string join_name(std::string_view op, std::string_view target) {
  std::string n;
  n.reserve(op.size() + 1 + target.size());
  n.append(op);
  if (!target.empty()) {
    n.push_back(' ');
    n.append(target);
  }
  return n;
}
}  // namespace detail

// ================================================================================================
// spans
// ================================================================================================

/// Token usage of one model call (fields left unset are not recorded).
struct token_usage {
  std::optional<std::int64_t> input_tokens{};   // includes cached input tokens
  std::optional<std::int64_t> output_tokens{};  // includes reasoning tokens
  std::optional<std::int64_t> cache_read_input_tokens{};
  std::optional<std::int64_t> cache_creation_input_tokens{};
  std::optional<std::int64_t> reasoning_output_tokens{};
};

namespace detail {
inline constexpr span_site site_inference_client{"chat", span_kind::client, "", 0, ""};
inline constexpr span_site site_inference_internal{"chat", span_kind::internal, "", 0, ""};
inline constexpr span_site site_agent_internal{"invoke_agent", span_kind::internal, "", 0, ""};
inline constexpr span_site site_agent_client{"invoke_agent", span_kind::client, "", 0, ""};
inline constexpr span_site site_workflow{"invoke_workflow", span_kind::internal, "", 0, ""};
inline constexpr span_site site_tool{"execute_tool", span_kind::internal, "", 0, ""};
inline constexpr span_site site_embeddings{"embeddings", span_kind::client, "", 0, ""};
inline constexpr span_site site_retrieval{"retrieval", span_kind::client, "", 0, ""};

inline void put_server(scoped_span& s, const string_arg& address, std::int64_t port) {
  if (address.empty()) return;
  put(s, semconv::server::address, address);
  if (port > 0) s.set(semconv::server::port, port);
}
}  // namespace detail

/// What every GenAI span can record after it started: the response, usage, finish reasons,
/// content (opt-in) and errors. Derived types only add constructors (and streaming).
class genai_span : public scoped_span {
 public:
  using scoped_span::scoped_span;

  /// gen_ai.response.id and gen_ai.response.model (empty strings are skipped).
  genai_span& response(std::string id, std::string model = {}) {
    if (!is_recording()) return *this;
    if (!id.empty()) set(gen_ai::response_id, std::move(id));
    if (!model.empty()) set(gen_ai::response_model, std::move(model));
    return *this;
  }
  /// gen_ai.usage.* (unset fields are skipped).
  genai_span& usage(const token_usage& u) {
    if (!is_recording()) return *this;
    if (u.input_tokens) set(gen_ai::usage_input_tokens, *u.input_tokens);
    if (u.output_tokens) set(gen_ai::usage_output_tokens, *u.output_tokens);
    if (u.cache_read_input_tokens)
      set(gen_ai::usage_cache_read_input_tokens, *u.cache_read_input_tokens);
    if (u.cache_creation_input_tokens)
      set(gen_ai::usage_cache_creation_input_tokens, *u.cache_creation_input_tokens);
    if (u.reasoning_output_tokens)
      set(gen_ai::usage_reasoning_output_tokens, *u.reasoning_output_tokens);
    return *this;
  }
  /// gen_ai.response.finish_reasons (one per choice).
  genai_span& finish_reasons(std::vector<std::string> reasons) {
    if (is_recording() && !reasons.empty())
      set(gen_ai::response_finish_reasons, std::move(reasons));
    return *this;
  }
  /// Marks the operation failed: error.type (low-cardinality class: "429", "timeout",
  /// "SQLITE_ERROR", an exception type) and status ERROR with `description`.
  genai_span& fail(std::string error_type, std::string_view description = {}) {
    if (!is_recording()) return *this;
    set(semconv::error::type, error_type.empty() ? std::string("_OTHER") : std::move(error_type));
    error(description);
    return *this;
  }

  /// gen_ai.input.messages, when capture is on (otherwise the strings are just released).
  genai_span& input_messages(std::vector<message> msgs) {
    if (is_recording() && capture_content())
      set(gen_ai::input_messages, input_messages_json(std::move(msgs)));
    return *this;
  }
  /// gen_ai.output.messages, when capture is on.
  genai_span& output_messages(std::vector<message> msgs) {
    if (is_recording() && capture_content())
      set(gen_ai::output_messages, output_messages_json(std::move(msgs)));
    return *this;
  }
  /// gen_ai.system_instructions, when capture is on.
  genai_span& system_instructions(std::vector<part> parts) {
    if (is_recording() && capture_content())
      set(gen_ai::system_instructions, system_instructions_json(std::move(parts)));
    return *this;
  }
};

/// Options of an inference span (`{operation} {model}`).
struct inference_options {
  string_arg provider{};  // gen_ai.provider.name (required): "openai", ... or a custom lowercase id
  string_arg model{};     // gen_ai.request.model; the span name is "{operation} {model}"
  static_string operation = gen_ai::operation_name_values::chat;  // chat, text_completion, ...
  string_arg server_address{};
  std::int64_t server_port = 0;
  string_arg conversation_id{};
  bool stream = false;                 // sets gen_ai.request.stream = true
  span_kind kind = span_kind::client;  // internal for a model running in-process
};

/// An LLM call: `chat gpt-4o`, kind CLIENT. For a streamed response, call chunk() as each chunk
/// arrives: the first call records gen_ai.response.time_to_first_chunk; the span covers the whole
/// stream (end it after the last chunk).
class inference_span : public genai_span {
 public:
  explicit inference_span(const inference_options& o)
      : genai_span(o.kind == span_kind::internal ? &detail::site_inference_internal
                                                 : &detail::site_inference_client) {
    init(o);
  }
  inference_span(const inference_options& o, const span_context& parent)
      : genai_span(o.kind == span_kind::internal ? &detail::site_inference_internal
                                                 : &detail::site_inference_client,
                   parent) {
    init(o);
  }

  /// A chunk of a streamed response arrived. The first call records the time to first chunk.
  inference_span& chunk() {
    if (first_chunk_seen_ || !is_recording()) return *this;
    first_chunk_seen_ = true;
    const std::chrono::duration<double> d = std::chrono::steady_clock::now() - start_;
    set(gen_ai::response_time_to_first_chunk, d.count());
    return *this;
  }
  bool first_chunk_seen() const noexcept { return first_chunk_seen_; }

 private:
  void init(const inference_options& o) {
    if (!is_recording()) return;
    start_ = std::chrono::steady_clock::now();
    set(gen_ai::operation_name, o.operation);
    detail::put(*this, gen_ai::provider_name, o.provider);
    detail::put(*this, gen_ai::request_model, o.model);
    detail::put_server(*this, o.server_address, o.server_port);
    detail::put(*this, gen_ai::conversation_id, o.conversation_id);
    if (o.stream) set(gen_ai::request_stream, true);
    set_name(detail::join_name(o.operation.view(), o.model.view()));
  }
  std::chrono::steady_clock::time_point start_{};
  bool first_chunk_seen_ = false;
};

/// Options of an agent invocation (`invoke_agent {name}`).
struct agent_options {
  string_arg name{};  // gen_ai.agent.name; the span is "invoke_agent" when empty
  string_arg id{};
  string_arg description{};
  string_arg version{};
  string_arg provider{};  // gen_ai.provider.name, when a provider runs the agent
  string_arg model{};     // gen_ai.request.model, when the agent uses one model
  string_arg conversation_id{};
  string_arg data_source_id{};
  string_arg server_address{};
  std::int64_t server_port = 0;
  span_kind kind = span_kind::internal;  // client for a remote agent service
};

/// An agent invocation: `invoke_agent {name}`, INTERNAL for an in-process agent.
class agent_span : public genai_span {
 public:
  explicit agent_span(const agent_options& o) : genai_span(site(o)) { init(o); }
  agent_span(const agent_options& o, const span_context& parent) : genai_span(site(o), parent) {
    init(o);
  }

 private:
  static const span_site* site(const agent_options& o) noexcept {
    return o.kind == span_kind::client ? &detail::site_agent_client : &detail::site_agent_internal;
  }
  void init(const agent_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::invoke_agent);
    detail::put(*this, gen_ai::agent_name, o.name);
    detail::put(*this, gen_ai::agent_id, o.id);
    detail::put(*this, gen_ai::agent_description, o.description);
    detail::put(*this, gen_ai::agent_version, o.version);
    detail::put(*this, gen_ai::provider_name, o.provider);
    detail::put(*this, gen_ai::request_model, o.model);
    detail::put(*this, gen_ai::conversation_id, o.conversation_id);
    detail::put(*this, gen_ai::data_source_id, o.data_source_id);
    detail::put_server(*this, o.server_address, o.server_port);
    if (!o.name.empty()) set_name(detail::join_name("invoke_agent", o.name.view()));
  }
};

/// Options of a workflow invocation (`invoke_workflow {name}`).
struct workflow_options {
  string_arg name{};  // gen_ai.workflow.name
  string_arg conversation_id{};
};

/// A multi-agent workflow run: `invoke_workflow {name}`, INTERNAL.
class workflow_span : public genai_span {
 public:
  explicit workflow_span(const workflow_options& o) : genai_span(&detail::site_workflow) {
    init(o);
  }
  workflow_span(const workflow_options& o, const span_context& parent)
      : genai_span(&detail::site_workflow, parent) {
    init(o);
  }

 private:
  void init(const workflow_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::invoke_workflow);
    detail::put(*this, gen_ai::workflow_name, o.name);
    detail::put(*this, gen_ai::conversation_id, o.conversation_id);
    if (!o.name.empty()) set_name(detail::join_name("invoke_workflow", o.name.view()));
  }
};

/// Options of a tool execution (`execute_tool {name}`).
struct tool_options {
  string_arg name{};     // gen_ai.tool.name (required)
  string_arg call_id{};  // gen_ai.tool.call.id
  string_arg type{};     // function, extension, datastore
  string_arg description{};
};

/// A tool execution: `execute_tool {name}`, INTERNAL.
class tool_span : public genai_span {
 public:
  explicit tool_span(const tool_options& o) : genai_span(&detail::site_tool) { init(o); }
  tool_span(const tool_options& o, const span_context& parent)
      : genai_span(&detail::site_tool, parent) {
    init(o);
  }

  /// gen_ai.tool.call.arguments (opt-in content): JSON embedded as is, anything else as a string.
  tool_span& arguments(std::string json) {
    if (is_recording() && capture_content())
      set(gen_ai::tool_call_arguments, content_value(std::move(json), true));
    return *this;
  }
  /// gen_ai.tool.call.result (opt-in content).
  tool_span& result(std::string json) {
    if (is_recording() && capture_content())
      set(gen_ai::tool_call_result, content_value(std::move(json), true));
    return *this;
  }

 private:
  void init(const tool_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::execute_tool);
    detail::put(*this, gen_ai::tool_name, o.name);
    detail::put(*this, gen_ai::tool_call_id, o.call_id);
    detail::put(*this, gen_ai::tool_type, o.type);
    detail::put(*this, gen_ai::tool_description, o.description);
    set_name(detail::join_name("execute_tool", o.name.view()));
  }
};

/// Options of an embeddings call (`embeddings {model}`).
struct embeddings_options {
  string_arg provider{};
  string_arg model{};
  string_arg server_address{};
  std::int64_t server_port = 0;
  std::int64_t dimension_count = 0;  // gen_ai.embeddings.dimension.count when > 0
};

/// An embeddings call: `embeddings {model}`, CLIENT.
class embeddings_span : public genai_span {
 public:
  explicit embeddings_span(const embeddings_options& o) : genai_span(&detail::site_embeddings) {
    init(o);
  }
  embeddings_span(const embeddings_options& o, const span_context& parent)
      : genai_span(&detail::site_embeddings, parent) {
    init(o);
  }

 private:
  void init(const embeddings_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::embeddings);
    detail::put(*this, gen_ai::provider_name, o.provider);
    detail::put(*this, gen_ai::request_model, o.model);
    detail::put_server(*this, o.server_address, o.server_port);
    if (o.dimension_count > 0) set(gen_ai::embeddings_dimension_count, o.dimension_count);
    set_name(detail::join_name("embeddings", o.model.view()));
  }
};

/// Options of a retrieval (`retrieval {data_source_id}`).
struct retrieval_options {
  string_arg data_source_id{};  // gen_ai.data_source.id
  string_arg provider{};
  string_arg model{};
  string_arg server_address{};
  std::int64_t server_port = 0;
  double top_k = 0;  // gen_ai.request.top_k when > 0
};

/// A retrieval from a data source: `retrieval {data_source_id}`, CLIENT.
class retrieval_span : public genai_span {
 public:
  explicit retrieval_span(const retrieval_options& o) : genai_span(&detail::site_retrieval) {
    init(o);
  }
  retrieval_span(const retrieval_options& o, const span_context& parent)
      : genai_span(&detail::site_retrieval, parent) {
    init(o);
  }

  /// gen_ai.retrieval.query.text (opt-in content).
  retrieval_span& query(std::string text) {
    if (is_recording() && capture_content())
      set(gen_ai::retrieval_query_text, content_value(std::move(text), false));
    return *this;
  }
  /// gen_ai.retrieval.documents (opt-in content): JSON such as [{"id":"doc_1","score":0.9}].
  retrieval_span& documents(std::string json) {
    if (is_recording() && capture_content())
      set(gen_ai::retrieval_documents, content_value(std::move(json), true));
    return *this;
  }

 private:
  void init(const retrieval_options& o) {
    if (!is_recording()) return;
    set(gen_ai::operation_name, gen_ai::operation_name_values::retrieval);
    detail::put(*this, gen_ai::data_source_id, o.data_source_id);
    detail::put(*this, gen_ai::provider_name, o.provider);
    detail::put(*this, gen_ai::request_model, o.model);
    detail::put_server(*this, o.server_address, o.server_port);
    if (o.top_k > 0) set(gen_ai::request_top_k, o.top_k);
    set_name(detail::join_name("retrieval", o.data_source_id.view()));
  }
};

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END
