// SPDX-License-Identifier: MIT
// Semantic-convention keys for generative AI (gen_ai.*): OpenTelemetry GenAI conventions v1.41.0
// (status: Development), with the newer names noted where the genai repository moved on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::gen_ai {

// ---- operation and provider (set at span start: they drive sampling) -------------------------

/// The operation: chat, embeddings, execute_tool, invoke_agent, ... (required on every GenAI span).
inline constexpr key<std::string> operation_name{"gen_ai.operation.name"};
/// The GenAI provider as identified by the client instrumentation (required on inference spans).
/// Replaces the deprecated gen_ai.system.
inline constexpr key<std::string> provider_name{"gen_ai.provider.name"};

// ---- request ---------------------------------------------------------------------------------

inline constexpr key<std::string> request_model{"gen_ai.request.model"};
inline constexpr key<double> request_temperature{"gen_ai.request.temperature"};
inline constexpr key<std::int64_t> request_max_tokens{"gen_ai.request.max_tokens"};
inline constexpr key<double> request_top_p{"gen_ai.request.top_p"};
/// Typed double in v1.41.0 (the genai repository later made it an int).
inline constexpr key<double> request_top_k{"gen_ai.request.top_k"};
inline constexpr key<double> request_frequency_penalty{"gen_ai.request.frequency_penalty"};
inline constexpr key<double> request_presence_penalty{"gen_ai.request.presence_penalty"};
inline constexpr key<std::vector<std::string>> request_stop_sequences{
    "gen_ai.request.stop_sequences"};
inline constexpr key<std::int64_t> request_seed{"gen_ai.request.seed"};
/// Number of candidate completions asked for (conditionally required when != 1).
inline constexpr key<std::int64_t> request_choice_count{"gen_ai.request.choice.count"};
/// True iff the response is streamed (conditionally required when streaming).
inline constexpr key<bool> request_stream{"gen_ai.request.stream"};
inline constexpr key<std::vector<std::string>> request_encoding_formats{
    "gen_ai.request.encoding_formats"};
/// The content type requested: text, json, image, speech.
inline constexpr key<std::string> output_type{"gen_ai.output.type"};

// ---- response --------------------------------------------------------------------------------

inline constexpr key<std::string> response_id{"gen_ai.response.id"};
inline constexpr key<std::string> response_model{"gen_ai.response.model"};
/// One finish reason per choice received (stop, length, content_filter, tool_call, error).
inline constexpr key<std::vector<std::string>> response_finish_reasons{
    "gen_ai.response.finish_reasons"};
/// Seconds from the request to the first chunk of a streamed response.
inline constexpr key<double> response_time_to_first_chunk{"gen_ai.response.time_to_first_chunk"};

// ---- usage -----------------------------------------------------------------------------------

/// Input (prompt) tokens, INCLUDING cached ones. Replaces gen_ai.usage.prompt_tokens.
inline constexpr key<std::int64_t> usage_input_tokens{"gen_ai.usage.input_tokens"};
/// Output (completion) tokens, including reasoning tokens. Replaces gen_ai.usage.completion_tokens.
inline constexpr key<std::int64_t> usage_output_tokens{"gen_ai.usage.output_tokens"};
/// Input tokens served from the provider's cache (part of usage.input_tokens).
inline constexpr key<std::int64_t> usage_cache_read_input_tokens{
    "gen_ai.usage.cache_read.input_tokens"};
/// Input tokens written to the provider's cache (one genai-repo version renamed it
/// gen_ai.usage.cache_write.input_tokens).
inline constexpr key<std::int64_t> usage_cache_creation_input_tokens{
    "gen_ai.usage.cache_creation.input_tokens"};
/// Reasoning tokens (part of usage.output_tokens).
inline constexpr key<std::int64_t> usage_reasoning_output_tokens{
    "gen_ai.usage.reasoning.output_tokens"};

// ---- conversation, agent, workflow, data source, prompt ---------------------------------------

/// A conversation/session/thread id, when the application has one (never fabricated).
inline constexpr key<std::string> conversation_id{"gen_ai.conversation.id"};
inline constexpr key<std::string> agent_id{"gen_ai.agent.id"};
inline constexpr key<std::string> agent_name{"gen_ai.agent.name"};
inline constexpr key<std::string> agent_description{"gen_ai.agent.description"};
inline constexpr key<std::string> agent_version{"gen_ai.agent.version"};
inline constexpr key<std::string> workflow_name{"gen_ai.workflow.name"};
/// The data source (database, vector store, ...) an agent or retrieval works on.
inline constexpr key<std::string> data_source_id{"gen_ai.data_source.id"};
inline constexpr key<std::string> prompt_name{"gen_ai.prompt.name"};

// ---- tools -----------------------------------------------------------------------------------

inline constexpr key<std::string> tool_name{"gen_ai.tool.name"};
inline constexpr key<std::string> tool_call_id{"gen_ai.tool.call.id"};
/// function, extension or datastore.
inline constexpr key<std::string> tool_type{"gen_ai.tool.type"};
inline constexpr key<std::string> tool_description{"gen_ai.tool.description"};
/// Opt-in content (type "any"; recorded as a JSON string).
inline constexpr key<std::string> tool_call_arguments{"gen_ai.tool.call.arguments"};
/// Opt-in content (type "any"; recorded as a JSON string).
inline constexpr key<std::string> tool_call_result{"gen_ai.tool.call.result"};
/// Opt-in: the tool definitions offered to the model (JSON string).
inline constexpr key<std::string> tool_definitions{"gen_ai.tool.definitions"};

// ---- embeddings and retrieval ----------------------------------------------------------------

inline constexpr key<std::int64_t> embeddings_dimension_count{"gen_ai.embeddings.dimension.count"};
/// Opt-in content: the retrieval query.
inline constexpr key<std::string> retrieval_query_text{"gen_ai.retrieval.query.text"};
/// Opt-in content: [{"id":"doc_123","score":0.95}, ...] as a JSON string.
inline constexpr key<std::string> retrieval_documents{"gen_ai.retrieval.documents"};

// ---- content (opt-in; JSON strings in the schema's shape) --------------------------------------

/// [ {role, parts:[...], name?} ... ] — the messages sent to the model.
inline constexpr key<std::string> input_messages{"gen_ai.input.messages"};
/// [ {role, parts:[...], finish_reason} ... ] — the messages the model returned.
inline constexpr key<std::string> output_messages{"gen_ai.output.messages"};
/// [ part ... ] — system instructions sent separately from the chat history.
inline constexpr key<std::string> system_instructions{"gen_ai.system_instructions"};

// ---- evaluation (event gen_ai.evaluation.result) ----------------------------------------------

inline constexpr key<std::string> evaluation_name{"gen_ai.evaluation.name"};
inline constexpr key<double> evaluation_score_value{"gen_ai.evaluation.score.value"};
inline constexpr key<std::string> evaluation_score_label{"gen_ai.evaluation.score.label"};
inline constexpr key<std::string> evaluation_explanation{"gen_ai.evaluation.explanation"};

/// Metric attribute: input or output.
inline constexpr key<std::string> token_type{"gen_ai.token.type"};

// ---- well-known values -----------------------------------------------------------------------

namespace operation_name_values {
inline constexpr static_string chat{"chat"};
inline constexpr static_string generate_content{"generate_content"};
inline constexpr static_string text_completion{"text_completion"};
inline constexpr static_string embeddings{"embeddings"};
inline constexpr static_string retrieval{"retrieval"};
inline constexpr static_string execute_tool{"execute_tool"};
inline constexpr static_string create_agent{"create_agent"};
inline constexpr static_string invoke_agent{"invoke_agent"};
inline constexpr static_string invoke_workflow{"invoke_workflow"};
}  // namespace operation_name_values

namespace provider_name_values {
inline constexpr static_string anthropic{"anthropic"};
inline constexpr static_string aws_bedrock{"aws.bedrock"};
inline constexpr static_string azure_ai_inference{"azure.ai.inference"};
inline constexpr static_string azure_ai_openai{"azure.ai.openai"};
inline constexpr static_string cohere{"cohere"};
inline constexpr static_string deepseek{"deepseek"};
inline constexpr static_string gcp_gemini{"gcp.gemini"};
inline constexpr static_string gcp_gen_ai{"gcp.gen_ai"};
inline constexpr static_string gcp_vertex_ai{"gcp.vertex_ai"};
inline constexpr static_string groq{"groq"};
inline constexpr static_string ibm_watsonx_ai{"ibm.watsonx.ai"};
inline constexpr static_string mistral_ai{"mistral_ai"};
inline constexpr static_string openai{"openai"};
inline constexpr static_string perplexity{"perplexity"};
inline constexpr static_string x_ai{"x_ai"};
}  // namespace provider_name_values

namespace output_type_values {
inline constexpr static_string text{"text"};
inline constexpr static_string json{"json"};
inline constexpr static_string image{"image"};
inline constexpr static_string speech{"speech"};
}  // namespace output_type_values

/// Finish reasons of the message schema (gen_ai.output.messages[].finish_reason); providers'
/// own values ("tool_calls", "end_turn", ...) are recorded as they come in finish_reasons.
namespace finish_reason_values {
inline constexpr static_string stop{"stop"};
inline constexpr static_string length{"length"};
inline constexpr static_string content_filter{"content_filter"};
inline constexpr static_string tool_call{"tool_call"};
inline constexpr static_string error{"error"};
}  // namespace finish_reason_values

namespace tool_type_values {
inline constexpr static_string function{"function"};
inline constexpr static_string extension{"extension"};
inline constexpr static_string datastore{"datastore"};
}  // namespace tool_type_values

namespace token_type_values {
inline constexpr static_string input{"input"};
inline constexpr static_string output{"output"};
}  // namespace token_type_values

/// Message roles of the message schema (custom strings are allowed too).
namespace role_values {
inline constexpr static_string system{"system"};
inline constexpr static_string user{"user"};
inline constexpr static_string assistant{"assistant"};
inline constexpr static_string tool{"tool"};
}  // namespace role_values

/// Event names.
namespace events {
/// Opt-in event with every inference-span attribute, content included.
inline constexpr static_string inference_operation_details{
    "gen_ai.client.inference.operation.details"};
/// The result of evaluating a GenAI output (parented to the evaluated span).
inline constexpr static_string evaluation_result{"gen_ai.evaluation.result"};
}  // namespace events

/// Metric names (v1.41.0): histograms in seconds, token usage in {token}.
namespace metrics {
inline constexpr static_string client_operation_duration{"gen_ai.client.operation.duration"};
inline constexpr static_string client_token_usage{"gen_ai.client.token.usage"};
inline constexpr static_string client_operation_time_to_first_chunk{
    "gen_ai.client.operation.time_to_first_chunk"};
inline constexpr static_string client_operation_time_per_output_chunk{
    "gen_ai.client.operation.time_per_output_chunk"};
}  // namespace metrics

}  // namespace agentrace::semconv::gen_ai

AGENTRACE_DETAIL_VISIBILITY_END
