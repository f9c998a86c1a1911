// SPDX-License-Identifier: MIT
// Content capture settings of GenAI spans: whether message content is recorded, the per-value
// size limit and the redactor, from code or from the environment.
#pragma once

#include <atomic>
#include <cctype>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agentrace/config.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/genai/redaction.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

/// Runs on every content string before it is recorded; edits it in place.
using redactor_fn = std::function<void(std::string&)>;

/// Default per-value limit of a content attribute, in bytes of its JSON text.
inline constexpr std::size_t default_max_content_bytes = 32 * 1024;

/// How content capture is configured. Unset fields are filled from the environment:
/// OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT (true / SPAN_ONLY / SPAN_AND_EVENT turn
/// capture on; false / NO_CONTENT / EVENT_ONLY leave it off) and
/// AGENTRACE_GENAI_CONTENT_MAX_BYTES.
struct content_config {
  std::optional<bool> capture{};            // record gen_ai.input/output messages etc. Default off
  std::size_t max_value_bytes = 0;          // 0: env, else default_max_content_bytes
  redactor_fn redactor = default_redactor;  // empty: no redaction
  bool read_environment = true;
};

/// The settings in force (immutable once published).
struct content_settings {
  bool capture = false;
  std::size_t max_value_bytes = default_max_content_bytes;
  redactor_fn redactor{};
};

namespace detail {
inline std::atomic<const content_settings*> current_content{nullptr};
inline std::mutex content_mu;
// Every settings object ever published stays alive: readers take a plain pointer without a
// reference count, and configure() is rare (start-up, tests).
inline std::vector<std::unique_ptr<content_settings>>& content_store() {
  static std::vector<std::unique_ptr<content_settings>> v;
  return v;
}

inline std::optional<bool> capture_from_env() {
  auto v = agentrace::detail::env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT");
  if (!v) return std::nullopt;
  const std::string t = agentrace::detail::to_lower(agentrace::detail::trim_view(*v));
  if (t == "true" || t == "span_only" || t == "span_and_event") return true;
  if (t == "false" || t == "no_content") return false;
  if (t == "event_only") {
    agentrace::detail::diag(
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=EVENT_ONLY: agentrace records content "
        "on spans only; content is not captured");
    return false;
  }
  agentrace::detail::diag(
      "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT='{}' is not true, false, NO_CONTENT, "
      "SPAN_ONLY, EVENT_ONLY or SPAN_AND_EVENT; content is not captured",
      t);
  return false;
}
}  // namespace detail

/// Publishes new content settings for the whole process (thread-safe; spans that are recording
/// content right now finish with the settings they started with).
inline const content_settings& configure_content(content_config c = {}) {
  auto s = std::make_unique<content_settings>();
  std::optional<bool> capture = c.capture;
  if (!capture && c.read_environment) capture = detail::capture_from_env();
  s->capture = capture.value_or(false);
  std::size_t max_bytes = c.max_value_bytes;
  if (max_bytes == 0 && c.read_environment)
    max_bytes = static_cast<std::size_t>(agentrace::detail::env_uint(
        "AGENTRACE_GENAI_CONTENT_MAX_BYTES", default_max_content_bytes));
  s->max_value_bytes = max_bytes ? max_bytes : default_max_content_bytes;
  s->redactor = std::move(c.redactor);
  std::lock_guard<std::mutex> lock(detail::content_mu);
  const content_settings* p = s.get();
  detail::content_store().push_back(std::move(s));
  detail::current_content.store(p, std::memory_order_release);
  return *p;
}

/// The content settings in force; the first call without configure_content() reads the
/// environment.
inline const content_settings& content() {
  if (const content_settings* p = detail::current_content.load(std::memory_order_acquire))
      [[likely]]
    return *p;
  {
    std::lock_guard<std::mutex> lock(detail::content_mu);
    if (const content_settings* p = detail::current_content.load(std::memory_order_acquire))
      return *p;
  }
  return configure_content();
}

/// True when message content is recorded on spans.
inline bool capture_content() { return content().capture; }

/// Applies the configured redactor to `s` (used for content and for error messages that may
/// echo user input, such as a database's error text).
inline void redact(std::string& s) {
  const auto& r = content().redactor;
  if (r && !s.empty()) r(s);
}

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END
