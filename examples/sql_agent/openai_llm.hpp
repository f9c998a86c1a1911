// SPDX-License-Identifier: MIT
// The SQL agent's model over an OpenAI-compatible chat-completions endpoint (agentrace::llm::
// openai_client, libcurl): OPENAI_BASE_URL, OPENAI_API_KEY and a model name. Real token usage
// and finish reasons come from the response; the answer step streams.
#pragma once

#include <agentrace/llm/openai.hpp>

#include <string>

#include "llm.hpp"

namespace sql_agent {

class openai_llm final : public llm {
 public:
  openai_llm(agentrace::llm::openai_options o, std::string model, std::string provider = "openai")
      : client_(o),
        model_(std::move(model)),
        provider_(std::move(provider)),
        server_(agentrace::llm::server_of(o.base_url)) {}

  std::string_view provider() const override { return provider_; }
  const std::string& model() const override { return model_; }
  std::string server_address() const override { return server_.address; }
  std::int64_t server_port() const override { return server_.port; }
  bool can_stream() const override { return true; }

  llm_response complete(const llm_request& req, const chunk_fn& on_chunk) override {
    agentrace::llm::chat_request cr;
    cr.model = model_;
    cr.temperature = req.temperature;
    cr.max_tokens = req.max_tokens;
    for (const auto& m : req.messages) cr.messages.push_back({m.role, m.content});
    agentrace::llm::chat_result res = req.stream ? client_.chat_stream(cr,
                                                                       [&](std::string_view d) {
                                                                         if (on_chunk) on_chunk(d);
                                                                       })
                                                 : client_.chat(cr);
    llm_response r;
    r.ok = res.ok;
    r.content = std::move(res.content);
    r.id = std::move(res.id);
    r.model = std::move(res.model);
    r.finish_reasons = std::move(res.finish_reasons);
    r.usage = agentrace::llm::usage_of(res);
    r.error_type = std::move(res.error_type);
    r.error = std::move(res.error);
    return r;
  }

 private:
  agentrace::llm::openai_client client_;
  std::string model_;
  std::string provider_;
  agentrace::llm::server_endpoint server_;
};

}  // namespace sql_agent
