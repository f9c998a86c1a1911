// SPDX-License-Identifier: MIT
// Semantic-convention keys: exact names and value types, and a wrong value type not compiling.
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <type_traits>
#include <vector>

#include "support/tracing.hpp"

namespace sc = agentrace::semconv;
using agentrace::key;
using strings = std::vector<std::string>;

namespace {

template <class K, class V>
concept settable = requires(agentrace::scoped_span& s, const K& k, V&& v) {
  s.set(k, std::forward<V>(v));
};

template <class T, class K>
constexpr bool typed(const K&) {
  return std::is_same_v<typename K::value_type_t, T>;
}

}  // namespace

// A value of the wrong type does not compile (checked here without compiling it).
static_assert(settable<key<std::int64_t>, int>);
static_assert(!settable<key<std::int64_t>, const char (&)[3]>);
static_assert(!settable<key<std::int64_t>, std::string>);
static_assert(!settable<key<std::int64_t>, bool>);
static_assert(!settable<key<std::string>, int>);
static_assert(!settable<key<std::string>, double>);
static_assert(settable<key<std::string>, const char (&)[3]>);
static_assert(settable<key<std::string>, std::string>);
static_assert(!settable<key<bool>, int>);
static_assert(settable<key<double>, int>);  // integers widen to double
static_assert(!settable<key<double>, std::string>);
static_assert(settable<key<strings>, strings>);
static_assert(!settable<key<strings>, std::string>);
static_assert(!settable<key<strings>, int>);
static_assert(!settable<decltype(sc::gen_ai::usage_input_tokens), const char (&)[3]>);
static_assert(!settable<decltype(sc::gen_ai::response_finish_reasons), const char (&)[5]>);
static_assert(!settable<decltype(sc::db::response_returned_rows), std::string>);
static_assert(!settable<decltype(sc::server::port), const char (&)[5]>);
// Well-known values are literals, stored as pointers.
static_assert(settable<decltype(sc::gen_ai::operation_name),
                       decltype(sc::gen_ai::operation_name_values::chat)>);
static_assert(!settable<decltype(sc::gen_ai::usage_input_tokens),
                        decltype(sc::gen_ai::operation_name_values::chat)>);

TEST_CASE("gen_ai keys have the names and types of the conventions") {
  using namespace sc::gen_ai;
  struct row {
    std::string_view name, expected;
  };
  const row rows[] = {
      {operation_name.name(), "gen_ai.operation.name"},
      {provider_name.name(), "gen_ai.provider.name"},
      {request_model.name(), "gen_ai.request.model"},
      {request_temperature.name(), "gen_ai.request.temperature"},
      {request_max_tokens.name(), "gen_ai.request.max_tokens"},
      {request_top_p.name(), "gen_ai.request.top_p"},
      {request_top_k.name(), "gen_ai.request.top_k"},
      {request_frequency_penalty.name(), "gen_ai.request.frequency_penalty"},
      {request_presence_penalty.name(), "gen_ai.request.presence_penalty"},
      {request_stop_sequences.name(), "gen_ai.request.stop_sequences"},
      {request_seed.name(), "gen_ai.request.seed"},
      {request_choice_count.name(), "gen_ai.request.choice.count"},
      {request_stream.name(), "gen_ai.request.stream"},
      {request_encoding_formats.name(), "gen_ai.request.encoding_formats"},
      {output_type.name(), "gen_ai.output.type"},
      {response_id.name(), "gen_ai.response.id"},
      {response_model.name(), "gen_ai.response.model"},
      {response_finish_reasons.name(), "gen_ai.response.finish_reasons"},
      {response_time_to_first_chunk.name(), "gen_ai.response.time_to_first_chunk"},
      {usage_input_tokens.name(), "gen_ai.usage.input_tokens"},
      {usage_output_tokens.name(), "gen_ai.usage.output_tokens"},
      {usage_cache_read_input_tokens.name(), "gen_ai.usage.cache_read.input_tokens"},
      {usage_cache_creation_input_tokens.name(), "gen_ai.usage.cache_creation.input_tokens"},
      {usage_reasoning_output_tokens.name(), "gen_ai.usage.reasoning.output_tokens"},
      {conversation_id.name(), "gen_ai.conversation.id"},
      {agent_id.name(), "gen_ai.agent.id"},
      {agent_name.name(), "gen_ai.agent.name"},
      {agent_description.name(), "gen_ai.agent.description"},
      {agent_version.name(), "gen_ai.agent.version"},
      {workflow_name.name(), "gen_ai.workflow.name"},
      {data_source_id.name(), "gen_ai.data_source.id"},
      {prompt_name.name(), "gen_ai.prompt.name"},
      {tool_name.name(), "gen_ai.tool.name"},
      {tool_call_id.name(), "gen_ai.tool.call.id"},
      {tool_type.name(), "gen_ai.tool.type"},
      {tool_description.name(), "gen_ai.tool.description"},
      {tool_call_arguments.name(), "gen_ai.tool.call.arguments"},
      {tool_call_result.name(), "gen_ai.tool.call.result"},
      {tool_definitions.name(), "gen_ai.tool.definitions"},
      {embeddings_dimension_count.name(), "gen_ai.embeddings.dimension.count"},
      {retrieval_query_text.name(), "gen_ai.retrieval.query.text"},
      {retrieval_documents.name(), "gen_ai.retrieval.documents"},
      {input_messages.name(), "gen_ai.input.messages"},
      {output_messages.name(), "gen_ai.output.messages"},
      {system_instructions.name(), "gen_ai.system_instructions"},
      {evaluation_name.name(), "gen_ai.evaluation.name"},
      {evaluation_score_value.name(), "gen_ai.evaluation.score.value"},
      {evaluation_score_label.name(), "gen_ai.evaluation.score.label"},
      {evaluation_explanation.name(), "gen_ai.evaluation.explanation"},
      {token_type.name(), "gen_ai.token.type"},
  };
  for (const auto& r : rows) CHECK(r.name == r.expected);

  STATIC_REQUIRE(typed<std::string>(operation_name));
  STATIC_REQUIRE(typed<double>(request_temperature));
  STATIC_REQUIRE(typed<std::int64_t>(request_max_tokens));
  STATIC_REQUIRE(typed<double>(request_top_p));
  STATIC_REQUIRE(typed<double>(request_top_k));
  STATIC_REQUIRE(typed<strings>(request_stop_sequences));
  STATIC_REQUIRE(typed<bool>(request_stream));
  STATIC_REQUIRE(typed<strings>(response_finish_reasons));
  STATIC_REQUIRE(typed<double>(response_time_to_first_chunk));
  STATIC_REQUIRE(typed<std::int64_t>(usage_input_tokens));
  STATIC_REQUIRE(typed<std::int64_t>(usage_output_tokens));
  STATIC_REQUIRE(typed<std::int64_t>(usage_cache_read_input_tokens));
  STATIC_REQUIRE(typed<std::int64_t>(usage_cache_creation_input_tokens));
  STATIC_REQUIRE(typed<std::int64_t>(usage_reasoning_output_tokens));
  STATIC_REQUIRE(typed<std::int64_t>(embeddings_dimension_count));
  STATIC_REQUIRE(typed<double>(evaluation_score_value));
  STATIC_REQUIRE(typed<std::string>(input_messages));

  CHECK(operation_name_values::chat.view() == "chat");
  CHECK(operation_name_values::invoke_agent.view() == "invoke_agent");
  CHECK(operation_name_values::execute_tool.view() == "execute_tool");
  CHECK(operation_name_values::invoke_workflow.view() == "invoke_workflow");
  CHECK(provider_name_values::openai.view() == "openai");
  CHECK(provider_name_values::aws_bedrock.view() == "aws.bedrock");
  CHECK(provider_name_values::azure_ai_openai.view() == "azure.ai.openai");
  CHECK(provider_name_values::gcp_vertex_ai.view() == "gcp.vertex_ai");
  CHECK(provider_name_values::ibm_watsonx_ai.view() == "ibm.watsonx.ai");
  CHECK(provider_name_values::mistral_ai.view() == "mistral_ai");
  CHECK(finish_reason_values::tool_call.view() == "tool_call");
  CHECK(tool_type_values::datastore.view() == "datastore");
  CHECK(events::evaluation_result.view() == "gen_ai.evaluation.result");
  CHECK(events::inference_operation_details.view() == "gen_ai.client.inference.operation.details");
  CHECK(metrics::client_token_usage.view() == "gen_ai.client.token.usage");
}

TEST_CASE("db, server, error and exception keys have the names and types of the conventions") {
  CHECK(sc::db::system_name.name() == "db.system.name");
  CHECK(sc::db::namespace_.name() == "db.namespace");
  CHECK(sc::db::collection_name.name() == "db.collection.name");
  CHECK(sc::db::operation_name.name() == "db.operation.name");
  CHECK(sc::db::operation_batch_size.name() == "db.operation.batch.size");
  CHECK(sc::db::query_text.name() == "db.query.text");
  CHECK(sc::db::query_summary.name() == "db.query.summary");
  CHECK(sc::db::response_returned_rows.name() == "db.response.returned_rows");
  CHECK(sc::db::response_status_code.name() == "db.response.status_code");
  CHECK(sc::db::stored_procedure_name.name() == "db.stored_procedure.name");
  STATIC_REQUIRE(typed<std::int64_t>(sc::db::response_returned_rows));
  STATIC_REQUIRE(typed<std::string>(sc::db::response_status_code));
  CHECK(sc::db::system_name_values::sqlite.view() == "sqlite");
  CHECK(sc::db::system_name_values::microsoft_sql_server.view() == "microsoft.sql_server");
  CHECK(sc::db::system_name_values::oracle_db.view() == "oracle.db");
  CHECK(sc::db::system_name_values::other_sql.view() == "other_sql");

  CHECK(sc::server::address.name() == "server.address");
  CHECK(sc::server::port.name() == "server.port");
  STATIC_REQUIRE(typed<std::int64_t>(sc::server::port));
  CHECK(sc::error::type.name() == "error.type");
  CHECK(sc::error::type_values::other.view() == "_OTHER");
  CHECK(sc::exception::type.name() == "exception.type");
  CHECK(sc::exception::message.name() == "exception.message");
  CHECK(sc::exception::stacktrace.name() == "exception.stacktrace");
  CHECK(sc::exception::event_name.view() == "exception");
}

TEST_CASE_METHOD(test_support::memory_tracing, "typed keys record values of their type on spans") {
  {
    AGENTRACE_SPAN(s, "typed");
    s.set(sc::gen_ai::operation_name, sc::gen_ai::operation_name_values::chat);
    s.set(sc::gen_ai::usage_input_tokens, 42);
    s.set(sc::gen_ai::request_temperature, 0.5);
    s.set(sc::gen_ai::request_stream, true);
    s.set(sc::gen_ai::response_finish_reasons, strings{"stop", "length"});
    s.set(sc::server::port, 8080);
  }
  REQUIRE(tracing.force_flush());
  const auto s = mem->find("typed");
  REQUIRE(s);
  CHECK(std::get<std::string>(*s->attr("gen_ai.operation.name")) == "chat");
  CHECK(std::get<std::int64_t>(*s->attr("gen_ai.usage.input_tokens")) == 42);
  CHECK(std::get<double>(*s->attr("gen_ai.request.temperature")) == 0.5);
  CHECK(std::get<bool>(*s->attr("gen_ai.request.stream")));
  CHECK(std::get<strings>(*s->attr("gen_ai.response.finish_reasons")) == strings{"stop", "length"});
  CHECK(std::get<std::int64_t>(*s->attr("server.port")) == 8080);
}
