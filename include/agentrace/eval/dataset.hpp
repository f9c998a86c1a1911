// SPDX-License-Identifier: MIT
// Writers over read-back traces: the text waterfall (`show`), evaluation records (compact call
// tree + judge prompt, one JSON line per trace) and fine-tuning examples (chat JSONL from LLM
// spans with captured content, including error-correction pairs).
#pragma once

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/eval/query.hpp"
#include "agentrace/eval/trace.hpp"
#include "agentrace/eval/writer_options.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// Captured content attributes (GenAI semantic conventions, opt-in content).
namespace content_keys {
inline constexpr std::string_view input = "gen_ai.input.messages";
inline constexpr std::string_view output = "gen_ai.output.messages";
inline constexpr std::string_view system = "gen_ai.system_instructions";
}  // namespace content_keys

namespace detail {

inline bool key_matches(std::string_view key, const std::vector<std::string>& keys) {
  for (const auto& k : keys) {
    if (!k.empty() && k.back() == '.' ? key.substr(0, k.size()) == k : key == k) return true;
  }
  return false;
}

inline std::string cut(std::string s, std::size_t max) {
  if (max) agentrace::detail::cut_utf8(s, max);
  return s;
}

inline std::string one_line(std::string s) {
  agentrace::detail::one_line(s);
  return s;
}

inline std::string full_value_text(const attr_value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return short_value(v);
}

// The first exception event's "type: message", or "".
inline std::string exception_text(const span_data& s) {
  for (const auto& e : s.events) {
    if (e.name != "exception") continue;
    std::string type, msg;
    for (const auto& [k, v] : e.attributes) {
      if (k == "exception.type") type = full_value_text(v);
      if (k == "exception.message") msg = full_value_text(v);
    }
    if (!type.empty() && !msg.empty()) return type + ": " + msg;
    return type + msg;
  }
  return {};
}

// Depth-first order of a trace's spans with their depth (iterative: any depth is fine).
inline std::vector<std::pair<std::size_t, std::size_t>> walk(const trace& t) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::vector<std::pair<std::size_t, std::size_t>> stack;
  for (auto it = t.roots().rbegin(); it != t.roots().rend(); ++it) stack.emplace_back(*it, 0);
  while (!stack.empty()) {
    auto [i, d] = stack.back();
    stack.pop_back();
    out.emplace_back(i, d);
    const auto& kids = t.children(i);
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.emplace_back(*it, d + 1);
  }
  return out;
}

}  // namespace detail

// ------------------------------------------------------------------ waterfall

struct waterfall_options {
  std::size_t name_width = 36;  // tree + name column
  std::size_t bar_width = 40;
  std::size_t max_value_length = 60;
  bool color = false;
  bool all_attributes = false;  // every attribute instead of the key summary
};

/// The key attributes of a span in a few words: model, tokens (in→out), tool, rows, SQL,
/// error.type, HTTP status.
inline std::string key_summary(const span_data& s, std::size_t max_len = 60) {
  std::string out;
  auto add = [&](std::string_view label, const std::string& v) {
    if (v.empty()) return;
    if (!out.empty()) out += "  ";
    out += std::string(label) + "=" + detail::cut(detail::one_line(v), max_len);
  };
  auto str = [&](std::string_view k) -> std::string {
    const attr_value* v = s.attr(k);
    return v ? detail::full_value_text(*v) : std::string();
  };
  std::string model = str("gen_ai.request.model");
  if (model.empty()) model = str("gen_ai.response.model");
  add("model", model);
  const std::string in = str("gen_ai.usage.input_tokens"), outt = str("gen_ai.usage.output_tokens");
  if (!in.empty() || !outt.empty())
    add("tokens", (in.empty() ? "?" : in) + "→" + (outt.empty() ? "?" : outt));
  add("tool", str("gen_ai.tool.name"));
  add("rows", str("db.response.returned_rows"));
  const std::string sql = str("db.query.text");
  if (!sql.empty()) add("sql", "\"" + sql + "\"");
  add("http", str("http.response.status_code"));
  add("error.type", str("error.type"));
  return out;
}

/// A text waterfall of one trace: indentation, bars proportional to time, durations in ms,
/// errors marked, key attributes (model, tokens, rows, SQL).
inline std::string render_waterfall(const trace& t, const waterfall_options& o = {}) {
  const char* red = o.color ? "\x1b[31m" : "";
  const char* dim = o.color ? "\x1b[2m" : "";
  const char* bold = o.color ? "\x1b[1m" : "";
  const char* reset = o.color ? "\x1b[0m" : "";
  const std::uint64_t t0 = t.start_unix_ns();
  const std::uint64_t total = std::max<std::uint64_t>(t.duration_ns(), 1);
  std::string out = fmt::format("{}trace {}{}  {}  {} span{}  {}", bold, to_hex(t.id()), reset,
                                t.service_name().empty() ? "(no service.name)" : t.service_name(),
                                t.spans().size(), t.spans().size() == 1 ? "" : "s",
                                detail::duration_text(t.duration_ns()));
  if (t.error_count())
    out += fmt::format("  {}{} error{}{}", red, t.error_count(), t.error_count() == 1 ? "" : "s",
                       reset);
  if (!t.orphans().empty())
    out += fmt::format("  {} orphan{}", t.orphans().size(), t.orphans().size() == 1 ? "" : "s");
  if (t.duplicates())
    out += fmt::format("  {} duplicate{} dropped", t.duplicates(), t.duplicates() == 1 ? "" : "s");
  out += '\n';
  out += fmt::format(
      "{:<{}}  {}{:<{}}{}\n", "", o.name_width, dim,
      fmt::format("0 ms{:>{}}", detail::duration_text(t.duration_ns()), o.bar_width - 4),
      o.bar_width, reset);
  // Tree prefixes need to know whether each ancestor was a last child.
  std::vector<bool> last_at;
  const auto order = detail::walk(t);
  for (std::size_t n = 0; n < order.size(); ++n) {
    const auto [i, depth] = order[n];
    const span_data& s = t.spans()[i];
    // Is i the last among its siblings? The next entry at depth <= this depth decides.
    bool last = true;
    for (std::size_t m = n + 1; m < order.size(); ++m) {
      if (order[m].second < depth) break;
      if (order[m].second == depth) {
        last = false;
        break;
      }
    }
    if (last_at.size() <= depth) last_at.resize(depth + 1);
    last_at[depth] = last;
    std::string prefix;
    for (std::size_t d = 1; d < depth; ++d) prefix += last_at[d] ? "   " : "│  ";
    if (depth > 0) prefix += last ? "└─ " : "├─ ";
    const bool err = s.status == status_code::error;
    std::string label = prefix + s.name + (t.is_orphan(i) ? " (orphan)" : "");
    // Pad by code points, cut if too long.
    std::size_t cps = 0;
    std::string shown;
    for (std::size_t b = 0; b < label.size(); ++b) {
      const bool cont = (static_cast<unsigned char>(label[b]) & 0xC0) == 0x80;
      if (!cont) {
        if (cps + 1 > o.name_width) break;
        ++cps;
      }
      shown += label[b];
    }
    while (!shown.empty() && (static_cast<unsigned char>(shown.back()) & 0xC0) == 0xC0)
      shown.pop_back();
    shown += std::string(o.name_width - std::min(cps, o.name_width), ' ');
    const double scale = static_cast<double>(o.bar_width) / static_cast<double>(total);
    std::size_t off = static_cast<std::size_t>(
        static_cast<double>(s.start_unix_ns - std::min(s.start_unix_ns, t0)) * scale);
    std::size_t len =
        static_cast<std::size_t>(std::llround(static_cast<double>(s.duration_ns()) * scale));
    off = std::min(off, o.bar_width - 1);
    len = std::clamp<std::size_t>(len, 1, o.bar_width - off);
    std::string bar;
    for (std::size_t b = 0; b < o.bar_width; ++b)
      bar += (b >= off && b < off + len) ? (err ? "▒" : "█") : " ";
    out += fmt::format("{}{}{}  {}{}{}  {:>10}", err ? red : "", shown, err ? reset : "",
                       err ? red : "", bar, reset, detail::duration_text(s.duration_ns()));
    if (err) {
      out += fmt::format("  {}ERROR{}", red, reset);
      std::string msg = s.status_message;
      if (msg.empty()) msg = detail::exception_text(s);
      if (!msg.empty()) out += " " + detail::cut(detail::one_line(msg), o.max_value_length);
    }
    if (o.all_attributes) {
      for (const auto& [k, v] : s.attributes)
        out += fmt::format("  {}{}={}{}", dim, k, reset,
                           detail::cut(detail::short_value(v), o.max_value_length));
    } else {
      const std::string summary = key_summary(s, o.max_value_length);
      if (!summary.empty()) out += fmt::format("  {}{}{}", dim, summary, reset);
    }
    out += '\n';
  }
  return out;
}

// ------------------------------------------------------------ compact trees

namespace detail {

// Captured content: JSON text when it parses (embedded as JSON), else a string.
inline void write_content(fmt::memory_buffer& b, const attr_value& v, std::size_t max_len) {
  const std::string text = full_value_text(v);
  if (max_len == 0 || text.size() <= max_len) {
    auto j = nlohmann::ordered_json::parse(text, nullptr, false);  // keeps the key order
    if (!j.is_discarded() && (j.is_array() || j.is_object())) {
      const std::string dumped =
          j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      b.append(dumped.data(), dumped.data() + dumped.size());
      return;
    }
  }
  write_json_string(b, text, max_len);
}

inline void write_value(fmt::memory_buffer& b, const attr_value& v, std::size_t max_len) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          append(b, "null");
        else if constexpr (std::is_same_v<T, bool>)
          append(b, x ? "true" : "false");
        else if constexpr (std::is_same_v<T, std::int64_t>)
          write_int(b, x);
        else if constexpr (std::is_same_v<T, double>) {
          if (!std::isfinite(x))
            write_double(b, x);
          else
            fmt::format_to(std::back_inserter(b), "{}", x);
        } else if constexpr (std::is_same_v<T, std::string>)
          write_json_string(b, x, max_len);
        else {
          b.push_back('[');
          for (std::size_t i = 0; i < x.size(); ++i) {
            if (i) b.push_back(',');
            write_value(b, attr_value{typename T::value_type(x[i])}, max_len);
          }
          b.push_back(']');
        }
      },
      v);
}

inline void write_ms(fmt::memory_buffer& b, std::uint64_t ns) {
  fmt::format_to(std::back_inserter(b), "{:.3f}", static_cast<double>(ns) / 1e6);
}

// The fields of one node, without its children and the closing brace.
inline void write_fields(fmt::memory_buffer& b, const trace& t, std::size_t i,
                         const tree_options& o) {
  const span_data& s = t.spans()[i];
  append(b, "{\"name\":");
  write_json_string(b, s.name);
  append(b, ",\"span_id\":\"");
  write_hex64(b, s.span_id);
  append(b, "\",\"start_ms\":");
  write_ms(b, s.start_unix_ns - std::min(s.start_unix_ns, t.start_unix_ns()));
  append(b, ",\"duration_ms\":");
  write_ms(b, s.duration_ns());
  append(b, ",\"status\":\"");
  append(b, status_text(s.status));
  b.push_back('"');
  if (s.status == status_code::error && !s.status_message.empty()) {
    append(b, ",\"error\":");
    write_json_string(b, s.status_message, o.max_value_length);
  }
  const std::string exc = exception_text(s);
  if (!exc.empty()) {
    append(b, ",\"exception\":");
    write_json_string(b, exc, o.max_value_length);
  }
  if (t.is_orphan(i)) append(b, ",\"orphan\":true");
  bool any = false;
  for (const auto& [k, v] : s.attributes) {
    if (k == content_keys::input || k == content_keys::output || k == content_keys::system)
      continue;
    if (!o.all_attributes && !key_matches(k, o.key_attributes)) continue;
    append(b, any ? "," : ",\"attributes\":{");
    any = true;
    write_json_string(b, k);
    b.push_back(':');
    write_value(b, v, o.max_value_length);
  }
  if (any) b.push_back('}');
  if (o.content) {
    const std::pair<std::string_view, const char*> content[] = {{content_keys::system, "system"},
                                                                {content_keys::input, "input"},
                                                                {content_keys::output, "output"}};
    for (const auto& [key, name] : content)
      if (const attr_value* v = s.attr(key)) {
        fmt::format_to(std::back_inserter(b), ",\"{}\":", name);
        write_content(b, *v, o.max_content_length);
      }
  }
}

inline void write_node(fmt::memory_buffer& b, const trace& t, std::size_t i, std::size_t depth,
                       const tree_options& o) {
  write_fields(b, t, i, o);
  const auto& kids = t.children(i);
  if (!kids.empty()) {
    append(b, ",\"children\":[");
    if (depth + 1 >= o.max_depth) {
      // Too deep: the rest of the subtree, flat, in depth-first order (no recursion).
      std::vector<std::size_t> stack(kids.rbegin(), kids.rend());
      bool first = true;
      while (!stack.empty()) {
        const std::size_t k = stack.back();
        stack.pop_back();
        if (!first) b.push_back(',');
        first = false;
        write_fields(b, t, k, o);
        b.push_back('}');
        for (auto it = t.children(k).rbegin(); it != t.children(k).rend(); ++it)
          stack.push_back(*it);
      }
    } else {
      for (std::size_t c = 0; c < kids.size(); ++c) {
        if (c) b.push_back(',');
        write_node(b, t, kids[c], depth + 1, o);
      }
    }
    b.push_back(']');
  }
  b.push_back('}');
}

}  // namespace detail

/// The compact call tree of a trace as a JSON array of root nodes: name, span_id, start_ms
/// (from the trace start), duration_ms, status, error, exception, key attributes, captured
/// input/output, children.
inline void write_compact_tree(fmt::memory_buffer& b, const trace& t, const tree_options& o = {}) {
  b.push_back('[');
  for (std::size_t r = 0; r < t.roots().size(); ++r) {
    if (r) b.push_back(',');
    detail::write_node(b, t, t.roots()[r], 0, o);
  }
  b.push_back(']');
}

/// The call tree as indented text for prompts: one line per span with its id, duration,
/// status, key attributes and (cut) captured content.
inline std::string render_tree_text(const trace& t, const tree_options& o = {}) {
  std::string out;
  for (const auto& [i, depth] : detail::walk(t)) {
    const span_data& s = t.spans()[i];
    out += std::string(2 * std::min<std::size_t>(depth, 32), ' ');
    out += fmt::format("- [{}] {} ({})", to_hex(s.span_id), s.name,
                       detail::duration_text(s.duration_ns()));
    if (s.status == status_code::error) {
      out += " ERROR";
      if (!s.status_message.empty())
        out += ": " + detail::cut(detail::one_line(s.status_message), o.max_value_length);
    }
    const std::string exc = detail::exception_text(s);
    if (!exc.empty()) out += " exception=" + detail::cut(detail::one_line(exc), o.max_value_length);
    for (const auto& [k, v] : s.attributes) {
      if (k == content_keys::input || k == content_keys::output || k == content_keys::system)
        continue;
      if (o.all_attributes || detail::key_matches(k, o.key_attributes))
        out += fmt::format(
            " {}={}", k,
            detail::cut(detail::one_line(detail::full_value_text(v)), o.max_value_length));
    }
    if (o.content)
      for (std::string_view key : {content_keys::system, content_keys::input, content_keys::output})
        if (const attr_value* v = s.attr(key))
          out += fmt::format(
              " {}={}", key.substr(7),
              detail::cut(detail::one_line(detail::full_value_text(*v)), o.max_content_length));
    out += '\n';
  }
  return out;
}

// ------------------------------------------------------------ judge prompt

/// Replaces {{name}} placeholders; unknown placeholders are left as they are.
inline std::string render_template(std::string_view tpl,
                                   const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string out;
  std::size_t i = 0;
  while (i < tpl.size()) {
    const std::size_t open = tpl.find("{{", i);
    if (open == std::string_view::npos) {
      out.append(tpl.substr(i));
      break;
    }
    out.append(tpl.substr(i, open - i));
    const std::size_t close = tpl.find("}}", open + 2);
    if (close == std::string_view::npos) {
      out.append(tpl.substr(open));
      break;
    }
    std::string_view name = tpl.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    bool found = false;
    for (const auto& [k, v] : vars)
      if (k == name) {
        out += v;
        found = true;
        break;
      }
    if (!found) out.append(tpl.substr(open, close + 2 - open));
    i = close + 2;
  }
  return out;
}

/// The judge prompt for one selected trace.
inline std::string render_judge_prompt(const trace& t, const std::vector<std::string>& reasons,
                                       std::string_view tpl = default_judge_template,
                                       std::string_view rubric = default_rubric,
                                       const tree_options& o = {}) {
  std::string why;
  for (const auto& r : reasons) why += "- " + r + "\n";
  if (why.empty()) why = "- (all traces)\n";
  fmt::memory_buffer tj;
  write_compact_tree(tj, t, o);
  return render_template(tpl,
                         {{"trace_id", to_hex(t.id())},
                          {"service", t.service_name().empty() ? "(unknown)" : t.service_name()},
                          {"reasons", why},
                          {"tree", render_tree_text(t, o)},
                          {"tree_json", fmt::to_string(tj)},
                          {"rubric", std::string(rubric)}});
}

/// One evaluation-dataset line (no trailing newline): trace_id, service, selected_because,
/// duration_ms, spans, errors, orphans, tree, judge_prompt.
inline void write_eval_record(fmt::memory_buffer& b, const trace& t,
                              const std::vector<std::string>& reasons,
                              const eval_record_options& o = {}) {
  using detail::append;
  append(b, "{\"trace_id\":\"");
  append(b, to_hex(t.id()));
  append(b, "\",\"service\":");
  detail::write_json_string(b, t.service_name());
  append(b, ",\"selected_because\":[");
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    if (i) b.push_back(',');
    detail::write_json_string(b, reasons[i]);
  }
  append(b, "],\"duration_ms\":");
  detail::write_ms(b, t.duration_ns());
  fmt::format_to(std::back_inserter(b),
                 ",\"spans\":{},\"errors\":{},\"orphans\":{},\"tree\":", t.spans().size(),
                 t.error_count(), t.orphans().size());
  write_compact_tree(b, t, o.tree);
  append(b, ",\"judge_prompt\":");
  detail::write_json_string(b, render_judge_prompt(t, reasons, o.judge_template, o.rubric, o.tree));
  b.push_back('}');
}

// ------------------------------------------------------------ fine-tuning

/// One chat-format training example.
struct finetune_example {
  nlohmann::json messages = nlohmann::json::array();  // [{"role":..., "content":...}, ...]
  std::string trace_id;
  std::string span_id;         // the span whose output is the target
  std::string source_span_id;  // correction pairs: the failed span whose input is used
  bool correction = false;
};

namespace detail {

// Semantic-convention messages (role + parts) or OpenAI-style ({role, content}) -> chat
// messages. nullopt when the text is not a message list.
inline std::optional<nlohmann::json> to_chat_messages(const std::string& text, bool output) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  if (j.is_object()) j = nlohmann::json::array({j});
  if (!j.is_array()) return std::nullopt;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : j) {
    if (!m.is_object()) return std::nullopt;
    std::string role = m.value("role", output ? "assistant" : "user");
    if (m.contains("content") && !m.contains("parts")) {  // already chat format
      nlohmann::json msg = {{"role", role}, {"content", m["content"]}};
      if (m.contains("tool_calls")) msg["tool_calls"] = m["tool_calls"];
      if (m.contains("tool_call_id")) msg["tool_call_id"] = m["tool_call_id"];
      out.push_back(std::move(msg));
      continue;
    }
    const auto parts = m.find("parts");
    if (parts == m.end() || !parts->is_array()) return std::nullopt;
    std::string content;
    nlohmann::json tool_calls = nlohmann::json::array();
    for (const auto& p : *parts) {
      if (!p.is_object()) continue;
      const std::string type = p.value("type", "");
      if (type == "text" || type == "reasoning") {
        if (type == "reasoning") continue;  // not part of the visible answer
        if (p.contains("content") && p["content"].is_string()) {
          if (!content.empty()) content += "\n";
          content += p["content"].get<std::string>();
        }
      } else if (type == "tool_call") {
        nlohmann::json args = p.contains("arguments") ? p["arguments"] : nlohmann::json::object();
        tool_calls.push_back(
            {{"id", p.value("id", "")},
             {"type", "function"},
             {"function",
              {{"name", p.value("name", "")},
               {"arguments", args.is_string() ? args.get<std::string>() : args.dump()}}}});
      } else if (type == "tool_call_response") {
        const nlohmann::json resp =
            p.contains("response") ? p["response"] : p.value("result", nlohmann::json());
        out.push_back({{"role", "tool"},
                       {"tool_call_id", p.value("id", "")},
                       {"content", resp.is_string() ? resp.get<std::string>() : resp.dump()}});
      }
    }
    if (role == "tool") continue;  // its parts were emitted above
    nlohmann::json msg = {{"role", role}, {"content", content}};
    if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
    out.push_back(std::move(msg));
  }
  return out;
}

inline std::optional<nlohmann::json> system_messages(const span_data& s) {
  const attr_value* v = s.attr(content_keys::system);
  if (!v) return nlohmann::json::array();
  const std::string text = full_value_text(*v);
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::string content;
  if (!j.is_discarded() && j.is_array()) {
    for (const auto& p : j)
      if (p.is_object() && p.value("type", "") == "text" && p.contains("content") &&
          p["content"].is_string()) {
        if (!content.empty()) content += "\n";
        content += p["content"].get<std::string>();
      }
  } else {
    content = text;
  }
  if (content.empty()) return nlohmann::json::array();
  return nlohmann::json::array({{{"role", "system"}, {"content", content}}});
}

inline bool has_content(const span_data& s, std::string_view key) { return s.attr(key) != nullptr; }

inline std::optional<nlohmann::json> input_of(const span_data& s) {
  const attr_value* v = s.attr(content_keys::input);
  if (!v) return std::nullopt;
  auto in = to_chat_messages(full_value_text(*v), false);
  if (!in) return std::nullopt;
  auto sys = system_messages(s);
  nlohmann::json all = *sys;
  for (auto& m : *in) all.push_back(std::move(m));
  return all;
}
inline std::optional<nlohmann::json> output_of(const span_data& s) {
  const attr_value* v = s.attr(content_keys::output);
  if (!v) return std::nullopt;
  return to_chat_messages(full_value_text(*v), true);
}

// The span itself if it carries `key`, else the first (or last) span below it that does.
inline std::size_t content_span(const trace& t, std::size_t i, std::string_view key, bool last) {
  if (has_content(t.spans()[i], key)) return i;
  std::size_t found = trace::npos;
  std::vector<std::size_t> stack(t.children(i).rbegin(), t.children(i).rend());
  while (!stack.empty()) {
    const std::size_t k = stack.back();
    stack.pop_back();
    if (has_content(t.spans()[k], key)) {
      found = k;
      if (!last) return k;
    }
    for (auto it = t.children(k).rbegin(); it != t.children(k).rend(); ++it) stack.push_back(*it);
  }
  return found;
}

inline bool subtree_failed(const trace& t, std::size_t i) {
  std::vector<std::size_t> stack{i};
  while (!stack.empty()) {
    const std::size_t k = stack.back();
    stack.pop_back();
    if (t.spans()[k].status == status_code::error) return true;
    for (std::size_t c : t.children(k)) stack.push_back(c);
  }
  return false;
}

}  // namespace detail

/// Training examples from one trace:
/// - each LLM span with captured input and output that did not fail, inside no failed step
///   (no ancestor with status ERROR): input + output;
/// - correction pairs: for each step (span) that failed (it or a span below it has status
///   ERROR) and a later attempt of the same step (same name, same parent) that succeeded, the
///   failed attempt's LLM input paired with the successful attempt's LLM output.
inline std::vector<finetune_example> finetune_examples(const trace& t,
                                                       const finetune_options& o = {}) {
  std::vector<finetune_example> out;
  const auto& spans = t.spans();
  const std::string tid = to_hex(t.id());
  if (o.plain) {
    // Each span's failed flag: it or an ancestor has status ERROR (an LLM call inside a failed
    // step produced output that did not work: no example of it).
    std::vector<char> failed(spans.size(), 0);
    for (const auto& [i, depth] : detail::walk(t)) {  // parents come before their children
      (void)depth;
      failed[i] = static_cast<char>(failed[i] || spans[i].status == status_code::error);
      for (std::size_t c : t.children(i)) failed[c] = failed[i];
    }
    for (const auto& [i, depth] : detail::walk(t)) {
      (void)depth;
      const span_data& s = spans[i];
      if (failed[i]) continue;
      auto in = detail::input_of(s);
      auto res = detail::output_of(s);
      if (!in || !res || in->empty() || res->empty()) continue;
      finetune_example ex;
      ex.messages = std::move(*in);
      for (auto& m : *res) ex.messages.push_back(std::move(m));
      ex.trace_id = tid;
      ex.span_id = to_hex(s.span_id);
      out.push_back(std::move(ex));
    }
  }
  if (o.corrections) {
    // Siblings grouped by parent: roots form one group, every children list another.
    std::vector<const std::vector<std::size_t>*> groups{&t.roots()};
    for (std::size_t i = 0; i < spans.size(); ++i)
      if (!t.children(i).empty()) groups.push_back(&t.children(i));
    for (const auto* g : groups) {
      for (std::size_t a = 0; a < g->size(); ++a) {
        const std::size_t fi = (*g)[a];
        if (!detail::subtree_failed(t, fi)) continue;
        for (std::size_t b = a + 1; b < g->size(); ++b) {
          const std::size_t si = (*g)[b];
          if (spans[si].name != spans[fi].name || spans[si].start_unix_ns < spans[fi].start_unix_ns)
            continue;
          if (detail::subtree_failed(t, si)) continue;
          const std::size_t in_span = detail::content_span(t, fi, content_keys::input, false);
          const std::size_t out_span = detail::content_span(t, si, content_keys::output, true);
          if (in_span == trace::npos || out_span == trace::npos) break;
          auto in = detail::input_of(spans[in_span]);
          auto res = detail::output_of(spans[out_span]);
          if (!in || !res || in->empty() || res->empty()) break;
          finetune_example ex;
          ex.messages = std::move(*in);
          for (auto& m : *res) ex.messages.push_back(std::move(m));
          ex.trace_id = tid;
          ex.span_id = to_hex(spans[out_span].span_id);
          ex.source_span_id = to_hex(spans[in_span].span_id);
          ex.correction = true;
          out.push_back(std::move(ex));
          break;  // the first later success
        }
      }
    }
  }
  return out;
}

/// One fine-tuning line (no trailing newline): {"messages":[...]}, plus "metadata" when asked.
inline std::string finetune_line(const finetune_example& ex, bool metadata = false) {
  // role and content first in each message, as chat datasets are usually written.
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  for (const auto& m : ex.messages) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const char* k : {"role", "content"})
      if (m.contains(k)) o[k] = m[k];
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it.key() != "role" && it.key() != "content") o[it.key()] = *it;
    msgs.push_back(std::move(o));
  }
  nlohmann::ordered_json j = {{"messages", std::move(msgs)}};
  if (metadata) {
    j["metadata"] = {{"trace_id", ex.trace_id},
                     {"span_id", ex.span_id},
                     {"kind", ex.correction ? "correction" : "plain"}};
    if (ex.correction) j["metadata"]["failed_span_id"] = ex.source_span_id;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
