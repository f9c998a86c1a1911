// SPDX-License-Identifier: MIT
// GenAI spans shaped by the OpenTelemetry GenAI conventions (inference `chat {model}`,
// `invoke_agent {name}`, `execute_tool {name}`, `embeddings {model}`, `retrieval {source}`,
// `invoke_workflow {name}`), a database client span, and opt-in message content capture with
// redaction and a size limit that keeps the JSON valid. One include for genai/content.hpp,
// genai/redaction.hpp, genai/messages.hpp, genai/spans.hpp and db.hpp.
//
//   genai::agent_span agent({.name = "router"});
//   {
//     genai::inference_span chat({.provider = "openai", .model = "gpt-4o"});
//     auto r = client.chat(req);
//     chat.response(r.id, r.model).usage({.input_tokens = 12, .output_tokens = 3})
//         .finish_reasons(std::move(r.finish_reasons));
//     chat.input_messages(std::move(messages));   // recorded only when capture is on
//   }
#pragma once

#include "agentrace/db.hpp"
#include "agentrace/genai/content.hpp"
#include "agentrace/genai/messages.hpp"
#include "agentrace/genai/redaction.hpp"
#include "agentrace/genai/spans.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

// The database client span and the SQL reader live in namespace agentrace (agentrace/db.hpp);
// these names keep code written against genai::db_span and friends compiling.
using agentrace::db_options;
using agentrace::db_span;
using agentrace::parse_sql;
using agentrace::sanitize_sql;
using agentrace::sql_info;

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END
