// SPDX-License-Identifier: MIT
// What LLM calls cost: a price table per model (agentrace's own JSON, or LiteLLM's
// model_prices_and_context_window.json as is) and the token usage a span reports, priced per
// usage kind (uncached input, cache reads, cache writes, output, reasoning). Models without a
// price are reported as unpriced, never guessed from a similar name.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/eval/trace.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// A price table that cannot be used: the message says what and where.
struct price_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Prices of one model in US dollars per token. A kind without its own price is charged at the
/// price it is billed under by default: cache reads and writes as input, reasoning as output.
struct model_price {
  double input = 0;
  double output = 0;
  std::optional<double> cache_read;
  std::optional<double> cache_write;
  std::optional<double> reasoning;
};

/// Token usage of one span, by kind (GenAI semantic conventions: input_tokens includes the
/// cached ones, output_tokens includes reasoning).
struct token_usage {
  std::int64_t input = 0;        // gen_ai.usage.input_tokens (or prompt_tokens)
  std::int64_t output = 0;       // gen_ai.usage.output_tokens (or completion_tokens)
  std::int64_t cache_read = 0;   // gen_ai.usage.cache_read.input_tokens
  std::int64_t cache_write = 0;  // gen_ai.usage.cache_creation (or cache_write).input_tokens
  std::int64_t reasoning = 0;    // gen_ai.usage.reasoning.output_tokens
  bool any = false;              // some usage attribute was present

  token_usage& operator+=(const token_usage& o) noexcept {
    input += o.input;
    output += o.output;
    cache_read += o.cache_read;
    cache_write += o.cache_write;
    reasoning += o.reasoning;
    any = any || o.any;
    return *this;
  }
};

/// The attribute keys usage_of() reads (for scans that keep only the attributes they need).
inline const std::vector<std::string>& usage_attribute_keys() {
  static const std::vector<std::string> keys = {"gen_ai.request.model",
                                                "gen_ai.response.model",
                                                "gen_ai.usage.input_tokens",
                                                "gen_ai.usage.output_tokens",
                                                "gen_ai.usage.prompt_tokens",
                                                "gen_ai.usage.completion_tokens",
                                                "gen_ai.usage.cache_read.input_tokens",
                                                "gen_ai.usage.cache_creation.input_tokens",
                                                "gen_ai.usage.cache_write.input_tokens",
                                                "gen_ai.usage.reasoning.output_tokens"};
  return keys;
}

namespace detail {
inline std::optional<std::int64_t> usage_int(const span_data& s, std::string_view key) {
  const attr_value* v = s.attr(key);
  if (!v) return std::nullopt;
  if (const auto* i = std::get_if<std::int64_t>(v)) return *i;
  if (const auto* d = std::get_if<double>(v)) return static_cast<std::int64_t>(*d);
  return std::nullopt;
}
inline std::optional<std::int64_t> usage_int(const span_data& s, std::string_view key,
                                             std::string_view fallback) {
  auto v = usage_int(s, key);
  return v ? v : usage_int(s, fallback);
}
}  // namespace detail

/// The token usage a span reports (zeros and any == false when it reports none).
inline token_usage usage_of(const span_data& s) {
  token_usage u;
  auto take = [&u](std::int64_t& field, std::optional<std::int64_t> v) {
    if (!v) return;
    field = *v;
    u.any = true;
  };
  take(u.input, detail::usage_int(s, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"));
  take(u.output,
       detail::usage_int(s, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"));
  take(u.cache_read, detail::usage_int(s, "gen_ai.usage.cache_read.input_tokens"));
  take(u.cache_write, detail::usage_int(s, "gen_ai.usage.cache_creation.input_tokens",
                                        "gen_ai.usage.cache_write.input_tokens"));
  take(u.reasoning, detail::usage_int(s, "gen_ai.usage.reasoning.output_tokens"));
  return u;
}

/// The model a span names: gen_ai.request.model, else gen_ai.response.model, else "".
inline std::string_view model_of(const span_data& s) {
  for (std::string_view key : {"gen_ai.request.model", "gen_ai.response.model"})
    if (const attr_value* v = s.attr(key))
      if (const auto* str = std::get_if<std::string>(v))
        if (!str->empty()) return *str;
  return {};
}

/// The cost in US dollars of `u` at `p`: input tokens that were neither read from nor written
/// to the cache at the input price, cache reads and writes at theirs, output tokens that were
/// not reasoning at the output price, reasoning tokens at theirs.
inline double cost_of(const token_usage& u, const model_price& p) noexcept {
  const auto d = [](std::int64_t n) { return static_cast<double>(n < 0 ? 0 : n); };
  const std::int64_t plain_in = u.input - u.cache_read - u.cache_write;
  const std::int64_t plain_out = u.output - u.reasoning;
  return d(plain_in) * p.input + d(u.cache_read) * p.cache_read.value_or(p.input) +
         d(u.cache_write) * p.cache_write.value_or(p.input) + d(plain_out) * p.output +
         d(u.reasoning) * p.reasoning.value_or(p.output);
}

/// Prices per model. Two formats are read:
///  - agentrace's: {"unit": "per_million" | "per_token", "models": {"gpt-4o": {"input": 2.5,
///    "output": 10, "cache_read": 1.25, "cache_write": 3.125, "reasoning": 10}}} (a model may
///    carry its own "unit"; input and output are required, the others optional);
///  - LiteLLM's model_prices_and_context_window.json: {"gpt-4o": {"input_cost_per_token": ...,
///    "output_cost_per_token": ..., "cache_read_input_token_cost": ...,
///    "cache_creation_input_token_cost": ..., "output_cost_per_reasoning_token": ...}, ...};
///    entries without both per-token prices (images, audio, "sample_spec") are skipped.
class price_table {
 public:
  /// Parses `text`; `source` names it in errors. Throws price_error.
  static price_table parse(std::string_view text, const std::string& source) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) throw price_error(source + ": not JSON");
    if (!j.is_object()) throw price_error(source + ": expected a JSON object of models");
    price_table t;
    if (j.contains("models")) {
      t.read_own(j, source);
    } else {
      t.read_litellm(j);
      if (t.prices_.empty())
        throw price_error(source +
                          ": no model with input_cost_per_token and output_cost_per_token (neither "
                          "agentrace's {\"models\": ...} nor LiteLLM's format)");
    }
    return t;
  }

  /// Reads the file at `path`. Throws price_error.
  static price_table load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw price_error("cannot read price table '" + path + "'");
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path);
  }

  /// The price of `model`: an exact name, else the same name with a provider prefix
  /// ("openai/gpt-4o") when exactly one such entry exists. nullptr when there is none.
  const model_price* find(std::string_view model) const {
    if (model.empty()) return nullptr;
    auto it = prices_.find(std::string(model));
    if (it != prices_.end()) return &it->second;
    auto bit = by_base_.find(std::string(model));
    if (bit != by_base_.end() && bit->second.second == 1) return &prices_.at(bit->second.first);
    return nullptr;
  }

  std::size_t size() const noexcept { return prices_.size(); }
  bool empty() const noexcept { return prices_.empty(); }

  /// Adds or replaces a model's price (per token).
  void set(std::string model, model_price p) {
    const auto slash = model.rfind('/');
    if (slash != std::string::npos) {
      auto& b = by_base_[model.substr(slash + 1)];
      if (b.second == 0 || b.first != model) {
        b.first = model;
        ++b.second;
      }
    }
    prices_[std::move(model)] = p;
  }

 private:
  static double number(const nlohmann::json& v, const std::string& where) {
    if (!v.is_number()) throw price_error(where + " is not a number");
    const double d = v.get<double>();
    if (d < 0) throw price_error(where + " is negative");
    return d;
  }

  void read_own(const nlohmann::json& j, const std::string& source) {
    const auto unit_of = [&](const nlohmann::json& o, double def, const std::string& where) {
      if (!o.contains("unit")) return def;
      const auto& u = o["unit"];
      if (u == "per_million") return 1e-6;
      if (u == "per_token") return 1.0;
      throw price_error(where + ": \"unit\" must be \"per_million\" or \"per_token\"");
    };
    const double unit = unit_of(j, 1e-6, source);
    const auto& models = j["models"];
    if (!models.is_object()) throw price_error(source + ": \"models\" must be an object");
    for (auto it = models.begin(); it != models.end(); ++it) {
      const std::string where = source + ": model '" + it.key() + "'";
      const auto& m = it.value();
      if (!m.is_object()) throw price_error(where + " is not an object");
      const double k = unit_of(m, unit, where);
      for (const char* req : {"input", "output"})
        if (!m.contains(req)) throw price_error(where + " has no \"" + req + "\" price");
      model_price p;
      p.input = number(m["input"], where + " \"input\"") * k;
      p.output = number(m["output"], where + " \"output\"") * k;
      for (auto [key, field] : {std::pair{"cache_read", &model_price::cache_read},
                                std::pair{"cache_write", &model_price::cache_write},
                                std::pair{"reasoning", &model_price::reasoning}})
        if (m.contains(key)) p.*field = number(m[key], where + " \"" + key + "\"") * k;
      for (auto f = m.begin(); f != m.end(); ++f) {
        static const char* known[] = {"input",       "output",    "cache_read",
                                      "cache_write", "reasoning", "unit"};
        bool ok = false;
        for (const char* n : known) ok = ok || f.key() == n;
        if (!ok) throw price_error(where + ": unknown field \"" + f.key() + "\"");
      }
      set(it.key(), p);
    }
  }

  void read_litellm(const nlohmann::json& j) {
    const auto opt = [](const nlohmann::json& m, const char* key) -> std::optional<double> {
      auto it = m.find(key);
      if (it == m.end() || !it->is_number() || it->get<double>() < 0) return std::nullopt;
      return it->get<double>();
    };
    for (auto it = j.begin(); it != j.end(); ++it) {
      const auto& m = it.value();
      if (!m.is_object() || it.key() == "sample_spec") continue;
      auto in = opt(m, "input_cost_per_token"), out = opt(m, "output_cost_per_token");
      if (!in || !out) continue;
      model_price p;
      p.input = *in;
      p.output = *out;
      p.cache_read = opt(m, "cache_read_input_token_cost");
      p.cache_write = opt(m, "cache_creation_input_token_cost");
      p.reasoning = opt(m, "output_cost_per_reasoning_token");
      set(it.key(), p);
    }
  }

  std::map<std::string, model_price> prices_;
  // "gpt-4o" -> ("openai/gpt-4o", how many prefixed entries end in "/gpt-4o")
  std::map<std::string, std::pair<std::string, int>> by_base_;
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
