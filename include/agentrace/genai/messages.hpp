// SPDX-License-Identifier: MIT
// Messages and parts in the schema of gen_ai.input.messages / gen_ai.output.messages /
// gen_ai.system_instructions, and their JSON: redacted and cut to the size limit so that the
// JSON stays valid.
#pragma once

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/detail/text.hpp"
#include "agentrace/genai/content.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::genai {

/// The part types agentrace writes (discriminator "type").
enum class part_type : std::uint8_t { text, reasoning, tool_call, tool_call_response, uri };

/// One part of a message. Strings are owned; pass them with std::move to avoid copies.
struct part {
  part_type type = part_type::text;
  std::string content{};  // text/reasoning: the text; tool_call: arguments (JSON); tool_call_
                          // response: response (JSON or text); uri: the URI
  std::string id{};       // tool_call, tool_call_response: the call id
  std::string name{};     // tool_call: the tool name; uri: the modality (image, video, audio)

  static part text(std::string s) { return {part_type::text, std::move(s), {}, {}}; }
  static part reasoning(std::string s) { return {part_type::reasoning, std::move(s), {}, {}}; }
  static part tool_call(std::string id, std::string name, std::string arguments_json) {
    return {part_type::tool_call, std::move(arguments_json), std::move(id), std::move(name)};
  }
  static part tool_call_response(std::string id, std::string response) {
    return {part_type::tool_call_response, std::move(response), std::move(id), {}};
  }
  static part uri(std::string modality, std::string uri) {
    return {part_type::uri, std::move(uri), {}, std::move(modality)};
  }
};

/// A chat message (input) or output message (with finish_reason, required on output).
struct message {
  std::string role{};  // system, user, assistant, tool (or a custom role)
  std::vector<part> parts{};
  std::string finish_reason{};  // output messages: stop, length, content_filter, tool_call, error
  std::string name{};           // optional participant name

  static message user(std::string text) { return make("user", std::move(text)); }
  static message system(std::string text) { return make("system", std::move(text)); }
  static message assistant(std::string text, std::string finish_reason = {}) {
    message m = make("assistant", std::move(text));
    m.finish_reason = std::move(finish_reason);
    return m;
  }
  static message tool(std::string call_id, std::string response) {
    message m;
    m.role = "tool";
    m.parts.push_back(part::tool_call_response(std::move(call_id), std::move(response)));
    return m;
  }

 private:
  static message make(const char* role, std::string text) {
    message m;
    m.role = role;
    m.parts.push_back(part::text(std::move(text)));
    return m;
  }
};

namespace detail {

/// Appended inside a string cut by the size limit.
inline constexpr std::string_view truncation_marker = "…[truncated]";

/// Counts bytes instead of storing them (same interface as the output string).
struct byte_counter {
  std::size_t n = 0;
  void push_back(char) noexcept { ++n; }
  void append(const char* b, const char* e) noexcept { n += static_cast<std::size_t>(e - b); }
  void pop_back() noexcept { --n; }
  std::size_t size() const noexcept { return n; }
};

/// Writes one content leaf: whole when it fits in `cap` (+ the marker it would otherwise need),
/// else its first bytes up to `cap` and the marker, still one valid JSON string. A leaf holding
/// JSON (`raw`) is written as is when whole, as a string when cut. cap == npos: no limit.
template <class Sink>
void write_leaf(Sink& out, std::string_view s, bool raw, std::size_t cap) {
  const std::size_t m = truncation_marker.size();
  if (raw) {
    if (cap == std::string_view::npos || s.size() <= cap + m + 2) {
      agentrace::detail::append(out, s);
      return;
    }
  } else if (cap == std::string_view::npos) {
    agentrace::detail::write_json_string(out, s);
    return;
  }
  const auto whole = agentrace::detail::json_string_size(s, cap + m + 1);
  if (!raw && whole.complete && whole.bytes <= cap + m) {
    agentrace::detail::write_json_string(out, s);
    return;
  }
  // (json_string_size treats 0 as "no limit")
  const std::size_t keep = cap ? agentrace::detail::json_string_size(s, cap).code_points : 0;
  if (keep == 0) {
    out.push_back('"');
  } else {
    agentrace::detail::write_json_string(out, s, keep);
    out.pop_back();  // reopen the string to append the marker inside it
  }
  agentrace::detail::append(out, truncation_marker);
  out.push_back('"');
}

/// A leaf's JSON-text size when written whole.
inline std::size_t leaf_size(std::string_view s, bool raw) {
  return raw ? s.size() : agentrace::detail::json_string_size(s).bytes + 2;
}

/// True when a tool argument / response is JSON to embed as is (else it is written as a string).
inline bool is_json(std::string_view s) {
  return !s.empty() && nlohmann::json::accept(s.begin(), s.end());
}

template <class Sink>
void write_part(Sink& out, const part& p, bool raw, std::size_t cap) {
  using agentrace::detail::append;
  using agentrace::detail::write_json_string;
  switch (p.type) {
    case part_type::text:
    case part_type::reasoning:
      append(out, p.type == part_type::text ? "{\"type\":\"text\",\"content\":"
                                            : "{\"type\":\"reasoning\",\"content\":");
      write_leaf(out, p.content, false, cap);
      break;
    case part_type::tool_call:
      append(out, "{\"type\":\"tool_call\",");
      if (!p.id.empty()) {
        append(out, "\"id\":");
        write_json_string(out, p.id);
        out.push_back(',');
      }
      append(out, "\"name\":");
      write_json_string(out, p.name);
      if (!p.content.empty()) {
        append(out, ",\"arguments\":");
        write_leaf(out, p.content, raw, cap);
      }
      break;
    case part_type::tool_call_response:
      append(out, "{\"type\":\"tool_call_response\",");
      if (!p.id.empty()) {
        append(out, "\"id\":");
        write_json_string(out, p.id);
        out.push_back(',');
      }
      append(out, "\"response\":");
      write_leaf(out, p.content, raw, cap);
      break;
    case part_type::uri:
      append(out, "{\"type\":\"uri\",\"modality\":");
      write_json_string(out, p.name.empty() ? std::string_view("image") : std::string_view(p.name));
      append(out, ",\"uri\":");
      write_leaf(out, p.content, false, cap);
      break;
  }
  out.push_back('}');
}

/// Whether a part's content leaf is embedded JSON.
inline bool part_raw(const part& p) {
  return (p.type == part_type::tool_call || p.type == part_type::tool_call_response) &&
         is_json(p.content);
}

enum class doc_kind : std::uint8_t { input_messages, output_messages, system_instructions };

/// The items of a content document: messages, or parts (system instructions).
struct content_doc {
  doc_kind kind;
  std::vector<message>* messages = nullptr;
  std::vector<part>* parts = nullptr;
  std::vector<bool> raw;  // per part, in document order
  std::size_t first = 0;  // first item written (older items dropped when even the structure
  std::size_t last = 0;   // does not fit) ... one past the last item written
};

template <class Sink>
void write_doc(Sink& out, const content_doc& d, std::size_t cap) {
  using agentrace::detail::append;
  using agentrace::detail::write_json_string;
  out.push_back('[');
  std::size_t leaf = 0;
  if (d.kind == doc_kind::system_instructions) {
    for (std::size_t i = 0; i < d.parts->size(); ++i) {
      if (i >= d.first && i < d.last) {
        if (i > d.first) out.push_back(',');
        write_part(out, (*d.parts)[i], d.raw[leaf], cap);
      }
      ++leaf;
    }
  } else {
    for (std::size_t i = 0; i < d.messages->size(); ++i) {
      const message& m = (*d.messages)[i];
      const bool on = i >= d.first && i < d.last;
      if (on) {
        if (i > d.first) out.push_back(',');
        append(out, "{\"role\":");
        write_json_string(out, m.role);
        if (!m.name.empty()) {
          append(out, ",\"name\":");
          write_json_string(out, m.name);
        }
        append(out, ",\"parts\":[");
      }
      for (std::size_t k = 0; k < m.parts.size(); ++k, ++leaf) {
        if (!on) continue;
        if (k) out.push_back(',');
        write_part(out, m.parts[k], d.raw[leaf], cap);
      }
      if (on) {
        out.push_back(']');
        if (d.kind == doc_kind::output_messages) {
          append(out, ",\"finish_reason\":");
          write_json_string(out, m.finish_reason);
        }
        out.push_back('}');
      }
    }
  }
  out.push_back(']');
}

/// Leaf sizes (whole) of the items in [first, last).
inline void leaf_sizes(const content_doc& d, std::vector<std::size_t>& sizes) {
  sizes.clear();
  std::size_t leaf = 0;
  auto visit = [&](const part& p, bool on) {
    if (on) sizes.push_back(leaf_size(p.content, d.raw[leaf]));
    ++leaf;
  };
  if (d.kind == doc_kind::system_instructions) {
    for (std::size_t i = 0; i < d.parts->size(); ++i)
      visit((*d.parts)[i], i >= d.first && i < d.last);
  } else {
    for (std::size_t i = 0; i < d.messages->size(); ++i)
      for (const part& p : (*d.messages)[i].parts) visit(p, i >= d.first && i < d.last);
  }
}

/// Renders `d` in at most `limit` bytes when possible: contents are cut at a common cap (the
/// largest that fits: long contents shrink first, short ones stay whole); when the structure
/// alone is too large, the oldest input messages (or the last output items) are left out, and at
/// least one item is always kept. The result is always valid JSON.
inline std::string render_doc(content_doc& d, std::size_t limit) {
  const std::size_t items =
      d.kind == doc_kind::system_instructions ? d.parts->size() : d.messages->size();
  d.first = 0;
  d.last = items;
  // The common case, one pass: everything fits. Content is escaped straight into the value.
  std::string out;
  {
    std::size_t raw = 2;
    if (d.kind == doc_kind::system_instructions) {
      for (const part& p : *d.parts) raw += p.content.size() + p.id.size() + p.name.size() + 64;
    } else {
      for (const message& m : *d.messages) {
        raw += m.role.size() + m.name.size() + m.finish_reason.size() + 64;
        for (const part& p : m.parts) raw += p.content.size() + p.id.size() + p.name.size() + 64;
      }
    }
    out.reserve(std::min(raw, limit + 64));
    write_doc(out, d, std::string_view::npos);
    if (out.size() <= limit) return out;
    out.clear();
  }
  // A leaf of whole size s written with cap c takes at most min(s, c + mm) bytes (quotes and
  // marker included), and exactly min(s, mm) with c = 0.
  const std::size_t mm = truncation_marker.size() + 2;
  std::vector<std::size_t> sizes;
  for (;;) {
    leaf_sizes(d, sizes);
    byte_counter c0;
    write_doc(c0, d, 0);
    std::size_t cut_total = 0;
    for (std::size_t s : sizes) cut_total += std::min(s, mm);
    const std::size_t skeleton = c0.size() - cut_total;  // the structure without any leaf
    auto bound = [&](std::size_t cap) {
      std::size_t t = skeleton;
      for (std::size_t s : sizes) t += std::min(s, cap + mm);
      return t;
    };
    if (bound(0) <= limit || d.last - d.first <= 1) {
      std::size_t lo = 0, hi = 0;
      for (std::size_t s : sizes) hi = std::max(hi, s);
      while (lo < hi) {  // largest cap whose bound fits
        const std::size_t mid = lo + (hi - lo + 1) / 2;
        if (bound(mid) <= limit)
          lo = mid;
        else
          hi = mid - 1;
      }
      byte_counter exact;
      write_doc(exact, d, lo);
      out.reserve(exact.size());
      write_doc(out, d, lo);
      return out;
    }
    if (d.kind == doc_kind::input_messages)
      ++d.first;  // the oldest message goes first
    else
      --d.last;
  }
}

inline void redact_parts(std::vector<part>& parts, const redactor_fn& r) {
  if (!r) return;
  for (part& p : parts)
    if (!p.content.empty()) r(p.content);
}

inline void mark_raw(content_doc& d) {
  if (d.kind == doc_kind::system_instructions) {
    for (const part& p : *d.parts) d.raw.push_back(part_raw(p));
  } else {
    for (const message& m : *d.messages)
      for (const part& p : m.parts) d.raw.push_back(part_raw(p));
  }
}

}  // namespace detail

/// The JSON of gen_ai.input.messages for `msgs` under `settings`: redacted (in place, in the
/// moved-in strings) and limited to settings.max_value_bytes. Exposed for tests and exporters of
/// events; spans use inference_span::input_messages().
inline std::string input_messages_json(std::vector<message> msgs,
                                       const content_settings& settings = content()) {
  for (auto& m : msgs) detail::redact_parts(m.parts, settings.redactor);
  detail::content_doc d{detail::doc_kind::input_messages, &msgs, nullptr, {}};
  detail::mark_raw(d);
  return detail::render_doc(d, settings.max_value_bytes);
}
/// The JSON of gen_ai.output.messages (each message carries its finish_reason).
inline std::string output_messages_json(std::vector<message> msgs,
                                        const content_settings& settings = content()) {
  for (auto& m : msgs) detail::redact_parts(m.parts, settings.redactor);
  detail::content_doc d{detail::doc_kind::output_messages, &msgs, nullptr, {}};
  detail::mark_raw(d);
  return detail::render_doc(d, settings.max_value_bytes);
}
/// The JSON of gen_ai.system_instructions (an array of parts).
inline std::string system_instructions_json(std::vector<part> parts,
                                            const content_settings& settings = content()) {
  detail::redact_parts(parts, settings.redactor);
  detail::content_doc d{detail::doc_kind::system_instructions, nullptr, &parts, {}};
  detail::mark_raw(d);
  return detail::render_doc(d, settings.max_value_bytes);
}
/// One free-form content value (tool arguments / result, retrieval query): redacted; embedded as
/// is when it is JSON (`as_json`), else as a JSON string; limited like messages.
inline std::string content_value(std::string s, bool as_json,
                                 const content_settings& settings = content()) {
  if (settings.redactor && !s.empty()) settings.redactor(s);
  const bool raw = as_json && detail::is_json(s);
  if (!as_json) {
    // A plain string attribute: cut on a UTF-8 boundary, with the marker.
    if (s.size() <= settings.max_value_bytes) return s;
    const std::size_t keep = settings.max_value_bytes > detail::truncation_marker.size()
                                 ? settings.max_value_bytes - detail::truncation_marker.size()
                                 : 0;
    agentrace::detail::cut_utf8(s, keep, detail::truncation_marker);
    return s;
  }
  std::string out;
  if (detail::leaf_size(s, raw) <= settings.max_value_bytes) {
    detail::write_leaf(out, s, raw, std::string_view::npos);
    return out;
  }
  const std::size_t over = detail::truncation_marker.size() + 2;
  const std::size_t cap = settings.max_value_bytes > over ? settings.max_value_bytes - over : 0;
  detail::write_leaf(out, s, raw, cap);
  return out;
}

}  // namespace agentrace::genai

AGENTRACE_DETAIL_VISIBILITY_END
