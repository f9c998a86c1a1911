// SPDX-License-Identifier: MIT
// agentrace 0.1.0: single-header edition of include/agentrace/eval/eval.hpp, include/agentrace/eval/light.hpp, include/agentrace/tail_sampling.hpp.
// Generated — do not edit. Made by scripts/amalgamate.py from the headers under include/;
// change those and run `python3 scripts/amalgamate.py`.
// Builds on <agentrace/agentrace.hpp>: keep that single header beside this one.
// Builds on <agentrace/agentrace_http.hpp>: keep that single header beside this one.
// Builds on <agentrace/span.hpp>: keep that single header beside this one.
#pragma once

// amalgamated: include/agentrace/eval/eval.hpp
// SPDX-License-Identifier: MIT
// Self-evaluation from traces: everything under agentrace/eval/ in one include. The judge
// (judge.hpp) needs libcurl (target agentrace::http); it is included when its headers exist.

// amalgamated: include/agentrace/eval/trace.hpp
// SPDX-License-Identifier: MIT
// Read-back traces: spans (span_data) with their resource, grouped by trace id, de-duplicated,
// and linked into a call tree (detail::trace_tree) with orphans kept as extra roots.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <agentrace/span.hpp>
#include <agentrace/agentrace.hpp>

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// The resource and instrumentation scope a span was reported with (shared by its spans).
struct resource_info {
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::string scope_name;
  std::string scope_version;

  /// The resource attribute named `key`, or nullptr.
  const attr_value* attr(std::string_view key) const noexcept {
    for (const auto& [k, v] : attributes)
      if (k == key) return &v;
    return nullptr;
  }
};
using resource_ptr = std::shared_ptr<const resource_info>;

/// One span as read from a file or taken from the in-process store.
struct read_span {
  span_data span;
  resource_ptr resource;
  std::uint32_t file{0};  // index of the input file (reader::files())
  std::uint64_t line{0};  // 1-based line of the JSON-lines file (0: not from a file)
};

/// Hashing for trace ids in unordered containers.
struct trace_id_hash {
  std::size_t operator()(const trace_id& t) const noexcept {
    return static_cast<std::size_t>(t.hi * 0x9E3779B97F4A7C15ull ^ t.lo);
  }
};

/// Parses 32 (trace id) hex digits, either case. False on any other input or all zeros.
inline bool parse_trace_id(std::string_view s, trace_id& out) noexcept;
/// Parses 16 (span id) hex digits, either case. False on any other input or all zeros.
inline bool parse_span_id(std::string_view s, std::uint64_t& out) noexcept;

namespace detail {
// eval's internals build on the core's (json_write, clock, ids, records).
using namespace agentrace::detail;  // NOLINT(google-build-using-namespace)

/// Exactly 16 hex digits, either case.
inline bool parse_hex64(std::string_view s, std::uint64_t& out) noexcept {
  return s.size() == 16 && parse_hex(s, out);
}

// A 64-bit digest of (trace id, span id); different spans collide with probability ~2^-64.
inline std::uint64_t span_key(const trace_id& t, std::uint64_t span_id) noexcept {
  return mix64(trace_key(t) ^ span_id);
}
}  // namespace detail

inline bool parse_trace_id(std::string_view s, trace_id& out) noexcept {
  trace_id t;
  if (s.size() != 32 || !detail::parse_hex64(s.substr(0, 16), t.hi) ||
      !detail::parse_hex64(s.substr(16), t.lo) || !t.valid())
    return false;
  out = t;
  return true;
}

inline bool parse_span_id(std::string_view s, std::uint64_t& out) noexcept {
  std::uint64_t v = 0;
  if (!detail::parse_hex64(s, v) || v == 0) return false;
  out = v;
  return true;
}

/// A whole trace: spans (de-duplicated by span id, first copy kept), their resources, and the
/// call tree. Immutable once built; shared between threads as shared_ptr<const trace>.
class trace {
 public:
  trace() : tree_(spans_) {}
  /// Builds the tree. `spans` may hold duplicates (retries deliver them): the first copy of a
  /// span id is kept and the others are counted.
  trace(trace_id id, std::vector<span_data> spans, std::vector<resource_ptr> resources,
        bool complete = true)
      : id_(id), complete_(complete), tree_(dedupe(spans, resources)) {
    spans_ = std::move(spans);
    resources_ = std::move(resources);
    std::unordered_map<std::uint64_t, std::size_t> by_id;
    by_id.reserve(spans_.size());
    for (std::size_t i = 0; i < spans_.size(); ++i) by_id.emplace(spans_[i].span_id, i);
    for (std::size_t r : tree_.roots) {
      const span_data& s = spans_[r];
      // A missing parent is an orphan unless the parent is known to live in another process.
      if (s.parent_span_id != 0 && !s.parent_remote && !by_id.count(s.parent_span_id))
        orphans_.push_back(r);
    }
    for (const auto& s : spans_) {
      start_ = std::min(start_, s.start_unix_ns);
      end_ = std::max(end_, s.end_unix_ns);
      errors_ += s.status == status_code::error;
    }
    if (spans_.empty()) start_ = 0;
  }

  const trace_id& id() const noexcept { return id_; }
  const std::vector<span_data>& spans() const noexcept { return spans_; }
  /// The resource of span i (nullptr when unknown).
  const resource_info* resource(std::size_t i) const noexcept {
    return i < resources_.size() ? resources_[i].get() : nullptr;
  }
  const std::vector<resource_ptr>& resources() const noexcept { return resources_; }
  /// Root spans first in start order: real roots, then orphans (parent not in this trace).
  const std::vector<std::size_t>& roots() const noexcept { return tree_.roots; }
  const std::vector<std::size_t>& children(std::size_t i) const noexcept {
    return tree_.children[i];
  }
  /// Spans whose chain of parents loops back to them (bad input), made extra roots so that no
  /// span is lost from the tree.
  const std::vector<std::size_t>& cycle_roots() const noexcept { return tree_.cycle_roots; }
  /// Spans whose parent id is set but not among this trace's spans (kept as extra roots).
  const std::vector<std::size_t>& orphans() const noexcept { return orphans_; }
  bool is_orphan(std::size_t i) const noexcept {
    return std::find(orphans_.begin(), orphans_.end(), i) != orphans_.end();
  }
  /// Copies of span ids that were dropped.
  std::size_t duplicates() const noexcept { return duplicates_; }
  /// False when the store released the trace before its root ended.
  bool complete() const noexcept { return complete_; }
  std::uint64_t start_unix_ns() const noexcept { return start_; }
  std::uint64_t end_unix_ns() const noexcept { return end_; }
  std::uint64_t duration_ns() const noexcept { return end_ > start_ ? end_ - start_ : 0; }
  std::size_t error_count() const noexcept { return errors_; }
  /// Index of the span with this id, or npos.
  std::size_t find(std::uint64_t span_id) const noexcept {
    for (std::size_t i = 0; i < spans_.size(); ++i)
      if (spans_[i].span_id == span_id) return i;
    return npos;
  }
  /// The service.name of the first span's resource, or "".
  std::string service_name() const {
    for (const auto& r : resources_)
      if (r)
        if (const attr_value* v = r->attr("service.name"))
          if (const auto* s = std::get_if<std::string>(v)) return *s;
    return {};
  }
  /// Rough heap footprint in bytes (the store's byte bound).
  std::size_t approx_bytes() const noexcept;

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  std::vector<span_data>& dedupe(std::vector<span_data>& spans, std::vector<resource_ptr>& res) {
    resources_padding(spans, res);
    std::unordered_map<std::uint64_t, bool> seen;
    seen.reserve(spans.size());
    std::size_t out = 0;
    for (std::size_t i = 0; i < spans.size(); ++i) {
      if (!seen.emplace(spans[i].span_id, true).second) {
        ++duplicates_;
        continue;
      }
      if (out != i) {
        spans[out] = std::move(spans[i]);
        res[out] = std::move(res[i]);
      }
      ++out;
    }
    spans.resize(out);
    res.resize(out);
    return spans;
  }
  static void resources_padding(const std::vector<span_data>& spans,
                                std::vector<resource_ptr>& res) {
    if (res.size() < spans.size()) res.resize(spans.size());
  }

  trace_id id_{};
  bool complete_{true};
  std::size_t duplicates_{0};
  std::vector<span_data> spans_;
  std::vector<resource_ptr> resources_;
  agentrace::detail::trace_tree tree_;
  std::vector<std::size_t> orphans_;
  std::uint64_t start_{UINT64_MAX}, end_{0};
  std::size_t errors_{0};
};

namespace detail {
inline std::size_t value_bytes(const attr_value& v) noexcept {
  return std::visit(
      [](const auto& x) -> std::size_t {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          return x.capacity();
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::size_t n = x.capacity() * sizeof(std::string);
          for (const auto& s : x) n += s.capacity();
          return n;
        } else if constexpr (std::is_same_v<T, std::vector<bool>>)
          return x.size() / 8;
        else if constexpr (std::is_same_v<T, std::vector<std::int64_t>> ||
                           std::is_same_v<T, std::vector<double>>)
          return x.capacity() * 8;
        else
          return 0;
      },
      v);
}
inline std::size_t attrs_bytes(const std::vector<std::pair<std::string, attr_value>>& a) noexcept {
  std::size_t n = a.capacity() * sizeof(a[0]);
  for (const auto& [k, v] : a) n += k.capacity() + value_bytes(v);
  return n;
}
inline std::size_t span_bytes(const span_data& s) noexcept {
  std::size_t n = sizeof(span_data) + s.name.capacity() + s.status_message.capacity() +
                  s.trace_state.capacity() + attrs_bytes(s.attributes) + s.code_file.capacity() +
                  s.code_function.capacity();
  for (const auto& e : s.events) n += sizeof(e) + e.name.capacity() + attrs_bytes(e.attributes);
  for (const auto& l : s.links)
    n += sizeof(l) + l.trace_state.capacity() + attrs_bytes(l.attributes);
  return n;
}
}  // namespace detail

inline std::size_t trace::approx_bytes() const noexcept {
  std::size_t n = sizeof(trace) + resources_.capacity() * sizeof(resource_ptr) +
                  (tree_.children.capacity() + tree_.roots.capacity()) * 3 * sizeof(std::size_t);
  for (const auto& s : spans_) n += detail::span_bytes(s);
  return n;
}

/// Groups read spans into traces (for a set of files or a stream): add() each span, then
/// finish() returns the traces in the order their first span arrived.
class trace_builder {
 public:
  void add(read_span&& s) {
    auto [it, inserted] = index_.try_emplace(s.span.trace_id, parts_.size());
    if (inserted) parts_.emplace_back();
    part& p = parts_[it->second];
    p.id = s.span.trace_id;
    p.spans.push_back(std::move(s.span));
    p.resources.push_back(std::move(s.resource));
  }
  std::size_t traces() const noexcept { return parts_.size(); }
  std::vector<trace> finish() {
    std::vector<trace> out;
    out.reserve(parts_.size());
    for (auto& p : parts_) out.emplace_back(p.id, std::move(p.spans), std::move(p.resources));
    parts_.clear();
    index_.clear();
    return out;
  }

 private:
  struct part {
    trace_id id{};
    std::vector<span_data> spans;
    std::vector<resource_ptr> resources;
  };
  std::unordered_map<trace_id, std::size_t, trace_id_hash> index_;
  std::vector<part> parts_;
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/reader.hpp
// SPDX-License-Identifier: MIT
// Reads OTLP-JSON (one ExportTraceServiceRequest document, or JSON lines: ours, the Collector's
// file exporter, `otlp-check receive --out`) into read_span objects, streaming. Malformed input
// is reported as `file:line: what is wrong` and skipped; the reader never throws on bad data.

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

// amalgamated: include/agentrace/eval/types.hpp
// SPDX-License-Identifier: MIT
// The plain types of the eval entry points, with standard headers and trace_id only: what the
// reader reports (diagnostic, read_counts) and takes (reader_options), a row of the per-name
// table (name_stats) and a selected trace (selection). Included by reader.hpp, stats.hpp,
// selection.hpp and the light <agentrace/eval/light.hpp>.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// One problem found in the input.
struct diagnostic {
  std::string file;
  std::uint64_t line{0};  // 0: the file as a whole
  std::string message;
  /// `file:line: message` (or `file: message`).
  std::string to_string() const {
    return line ? file + ":" + std::to_string(line) + ": " + message : file + ": " + message;
  }
};

struct reader_options {
  /// Deepest JSON nesting accepted (objects + arrays). Deeper lines are rejected, never
  /// recursed into. OTLP spans need ~10 levels; structured message content ~30.
  std::size_t max_depth = 128;
  /// Longer lines are skipped without being held in memory.
  std::size_t max_line_bytes = std::size_t(256) << 20;
  /// How many diagnostics are kept in diagnostics() (all are counted).
  std::size_t max_kept_diagnostics = 100;
  /// Called for every diagnostic (e.g. to print it); may be empty.
  std::function<void(const diagnostic&)> on_diagnostic{};
  /// When false, span attributes, events and links are not kept (faster scans that need only
  /// names, ids, times and status). Attributes named in `keep_attributes` are kept anyway.
  bool attributes = true;
  std::vector<std::string> keep_attributes{};
  /// Called after each line of a JSON-lines file (and once after a whole document) with the
  /// file's index (files()) and the bytes of it read so far; may be empty.
  std::function<void(std::uint32_t file, std::uint64_t bytes)> on_progress{};
  /// JSON-lines input: a line (1-based) for which this returns false is skipped unparsed and
  /// uncounted (a later pass reading only the lines an earlier pass found); may be empty.
  std::function<bool(std::uint32_t file, std::uint64_t line)> want_line{};
  /// Look for parent cycles (spans that are their own ancestors) across everything read, and
  /// report each as a diagnostic at its first span's place when read_files() ends (or at
  /// report_parent_cycles()). Costs 32 bytes a span until then.
  bool find_parent_cycles = false;
  /// How diagnostics name an input path (e.g. "<stdin>" for "-"); may be empty (the path).
  std::function<std::string(const std::string& path)> display_name{};
};

/// What the reader saw, cumulative over every read call.
struct read_counts {
  std::uint64_t files = 0;
  std::uint64_t lines = 0;        // non-blank JSON lines (or documents)
  std::uint64_t lines_bad = 0;    // skipped whole: not JSON, truncated, too deep, too long
  std::uint64_t spans = 0;        // delivered
  std::uint64_t spans_bad = 0;    // skipped: bad ids, missing times, wrong types
  std::uint64_t diagnostics = 0;  // all problems, including warnings about ignored fields
  std::uint64_t files_unreadable = 0;
  std::uint64_t parent_cycles = 0;  // found by find_parent_cycles (each also a diagnostic)
};

/// One row of the per-name table. Durations in nanoseconds.
struct name_stats {
  std::string name;
  std::uint64_t count = 0;
  std::uint64_t errors = 0;
  double error_rate = 0;  // errors / count
  std::uint64_t p50 = 0, p95 = 0, p99 = 0, max = 0;
  std::uint64_t total = 0;  // sum of durations
  double cost_usd = 0;      // priced LLM usage of these spans (span_stats::set_prices)
  /// The slowest span of this name: its trace.
  trace_id slowest_trace{};
};

/// A selected trace and why it was selected (one line per satisfied predicate).
struct selection {
  trace_id id{};
  std::vector<std::string> reasons;
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/detail/line_source.hpp
// SPDX-License-Identifier: MIT
// Line-at-a-time input of eval::reader: lines read from a FILE* in blocks, overlong lines
// skipped without being held in memory.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval::detail {

/// Reads one line (without '\n') at a time from a FILE*, in blocks; lines longer than the
/// limit are skipped without being kept.
class line_source {
 public:
  explicit line_source(std::FILE* f, std::size_t max_line) : f_(f), max_(max_line) {}
  enum class result { line, too_long, eof };
  result next(std::string& line) {
    line.clear();
    bool too_long = false;
    for (;;) {
      if (pos_ == len_) {
        len_ = std::fread(buf_.get(), 1, block, f_);
        pos_ = 0;
        read_ += len_;
        if (len_ == 0) {
          if (too_long) return result::too_long;
          return line.empty() && !any_ ? result::eof : (any_ = false, result::line);
        }
      }
      any_ = true;
      const char* start = buf_.get() + pos_;
      const void* nl = std::memchr(start, '\n', len_ - pos_);
      const std::size_t n =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : len_ - pos_;
      if (!too_long) {
        if (line.size() + n > max_) {
          too_long = true;
          line.clear();
          line.shrink_to_fit();
        } else {
          line.append(start, n);
        }
      }
      pos_ += n;
      if (nl) {
        ++pos_;
        any_ = false;
        return too_long ? result::too_long : result::line;
      }
    }
  }

  /// Bytes of the file consumed so far (returned in lines, or skipped).
  std::uint64_t consumed() const noexcept { return read_ - (len_ - pos_); }

 private:
  static constexpr std::size_t block = 1 << 20;
  std::FILE* f_;
  std::size_t max_;
  std::unique_ptr<char[]> buf_{new char[block]};
  std::size_t pos_ = 0, len_ = 0;
  std::uint64_t read_ = 0;
  bool any_ = false;
};

inline bool is_blank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r') return false;
  return true;
}

}  // namespace agentrace::eval::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/detail/otlp_sax.hpp
// SPDX-License-Identifier: MIT
// The SAX handler behind eval::reader: a state machine over the OTLP-JSON structure that turns
// resourceSpans / scopeSpans / spans into read_span objects and reports what it had to skip.

#include <nlohmann/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// amalgamated: include/agentrace/otlp_fields.hpp
// SPDX-License-Identifier: MIT
// Kept for existing includes: the OTLP field descriptions live in otlp/fields.hpp.


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval::detail {

enum class ctx : std::uint8_t {
  root,
  traces,
  rs_array,
  rs,
  resource,
  ss_array,
  ss,
  scope,
  span_array,
  span,
  event_array,
  event,
  link_array,
  link,
  status,
  kv_array,
  kv,
  any,
  skip
};

// Field names the reader acts on, from the one OTLP field map.
enum class fld : std::uint8_t {
  none,
  resource_spans,
  resource,
  scope_spans,
  scope,
  spans,
  name,
  version,
  attributes,
  dropped_attributes_count,
  trace_id,
  span_id,
  parent_span_id,
  trace_state,
  flags,
  kind,
  start_time,
  end_time,
  time,
  events,
  dropped_events_count,
  links,
  dropped_links_count,
  status,
  code,
  message,
  key,
  value,
  string_value,
  bool_value,
  int_value,
  double_value,
  array_value,
  kvlist_value,
  bytes_value
};

inline fld field_of(std::string_view k) noexcept {
  namespace f = otlp::field;
  switch (k.size()) {
    case 3: return k == f::key ? fld::key : fld::none;
    case 4:
      if (k == f::name) return fld::name;
      if (k == f::kind) return fld::kind;
      if (k == f::code) return fld::code;
      return fld::none;
    case 5:
      if (k == f::scope) return fld::scope;
      if (k == f::spans) return fld::spans;
      if (k == f::flags) return fld::flags;
      if (k == f::links) return fld::links;
      if (k == f::value) return fld::value;
      return fld::none;
    case 6:
      if (k == f::span_id) return fld::span_id;
      if (k == f::events) return fld::events;
      if (k == f::status) return fld::status;
      return fld::none;
    default: break;
  }
  if (k == f::attributes) return fld::attributes;
  if (k == f::trace_id) return fld::trace_id;
  if (k == f::parent_span_id) return fld::parent_span_id;
  if (k == f::start_time) return fld::start_time;
  if (k == f::end_time) return fld::end_time;
  if (k == f::string_value) return fld::string_value;
  if (k == f::int_value) return fld::int_value;
  if (k == f::double_value) return fld::double_value;
  if (k == f::bool_value) return fld::bool_value;
  if (k == f::array_value) return fld::array_value;
  if (k == f::kvlist_value) return fld::kvlist_value;
  if (k == f::bytes_value) return fld::bytes_value;
  if (k == f::resource_spans) return fld::resource_spans;
  if (k == f::scope_spans) return fld::scope_spans;
  if (k == f::resource) return fld::resource;
  if (k == f::time) return fld::time;
  if (k == f::message) return fld::message;
  if (k == f::version) return fld::version;
  if (k == f::trace_state) return fld::trace_state;
  if (k == f::dropped_attributes_count) return fld::dropped_attributes_count;
  if (k == f::dropped_events_count) return fld::dropped_events_count;
  if (k == f::dropped_links_count) return fld::dropped_links_count;
  return fld::none;
}

using attr_list = std::vector<std::pair<std::string, attr_value>>;

/// An OTLP AnyValue in its JSON form ({"stringValue": ...}) -> plain JSON (kvlist -> object).
inline nlohmann::ordered_json any_to_plain(const nlohmann::ordered_json& av, std::string& err) {
  namespace f = otlp::field;
  if (!av.is_object() || av.empty()) return nullptr;
  const auto first = av.begin();
  const std::string& key = first.key();
  const nlohmann::ordered_json& v = first.value();
  if (key == f::string_value || key == f::bytes_value) {
    if (v.is_string()) return v;
  } else if (key == f::bool_value) {
    if (v.is_boolean()) return v;
  } else if (key == f::int_value) {
    if (v.is_number_integer()) return v;
    if (v.is_string()) {
      std::int64_t i = 0;
      const std::string& s = v.get_ref<const std::string&>();
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (ec == std::errc() && p == s.data() + s.size()) return i;
    }
  } else if (key == f::double_value) {
    if (v.is_number()) return v;
    if (v.is_string()) return v;  // "NaN", "Infinity"
  } else if (key == f::array_value || key == f::kvlist_value) {
    const bool kvl = key == f::kvlist_value;
    nlohmann::ordered_json out =
        kvl ? nlohmann::ordered_json::object() : nlohmann::ordered_json::array();
    if (!v.is_object()) {
      err = std::string(key) + " is not an object";
      return out;
    }
    auto vals = v.find(f::values);
    if (vals == v.end()) return out;
    if (!vals->is_array()) {
      err = std::string(key) + ".values is not an array";
      return out;
    }
    for (const auto& e : *vals) {
      if (kvl) {
        auto kk = e.is_object() ? e.find(f::key) : e.end();
        if (kk == e.end() || !kk->is_string()) {
          err = "kvlistValue entry without a string key";
          continue;
        }
        auto vv = e.find(f::value);
        out[kk->get<std::string>()] =
            vv == e.end() ? nlohmann::ordered_json() : any_to_plain(*vv, err);
      } else {
        out.push_back(any_to_plain(e, err));
      }
    }
    return out;
  } else {
    return nullptr;  // unknown AnyValue member: ignored
  }
  err = std::string(key) + " has the wrong JSON type";
  return nullptr;
}

/// A captured arrayValue / kvlistValue -> attr_value: homogeneous scalar arrays become typed
/// vectors; everything else (maps, mixed or nested arrays) becomes its JSON text.
inline attr_value plain_to_attr(const nlohmann::ordered_json& p) {
  if (p.is_array()) {
    bool all_s = true, all_b = true, all_i = true, all_d = true;
    for (const auto& e : p) {
      all_s = all_s && e.is_string();
      all_b = all_b && e.is_boolean();
      all_i = all_i && e.is_number_integer();
      all_d = all_d && e.is_number();
    }
    if (p.empty() || all_s) {
      std::vector<std::string> v;
      for (const auto& e : p) v.push_back(e.get<std::string>());
      return v;
    }
    if (all_b) {
      std::vector<bool> v;
      for (const auto& e : p) v.push_back(e.get<bool>());
      return v;
    }
    if (all_i) {
      std::vector<std::int64_t> v;
      for (const auto& e : p) v.push_back(e.get<std::int64_t>());
      return v;
    }
    if (all_d) {
      std::vector<double> v;
      for (const auto& e : p) v.push_back(e.get<double>());
      return v;
    }
  }
  return p.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

/// SAX handler: a state machine over the OTLP structure. Spans of one resourceSpans element
/// are delivered when that element ends (its resource may come after its spans).
class otlp_sax final : public nlohmann::json_sax<nlohmann::json> {
 public:
  struct span_error {
    std::string path, message;
  };
  std::function<void(read_span&&)> emit;
  std::function<void(std::string path, std::string message, bool span_dropped)> report;
  std::size_t max_depth = 128;
  bool keep_all_attributes = true;
  const std::vector<std::string>* keep_attributes = nullptr;
  std::string abort_reason;  // set when the handler stops the parse

  void reset() {
    stack_.clear();
    stack_.push_back({ctx::root, fld::none, 0, 0});
    depth_ = 0;
    skip_depth_ = 0;
    capture_.clear();
    abort_reason.clear();
    parse_error_.clear();
    parse_error_byte_ = 0;
    cur_ = nullptr;
    cur_event_ = nullptr;
    cur_link_ = nullptr;
    kv_targets_.clear();
    rs_spans_.clear();
  }

  bool null() override { return scalar(kind_null); }
  bool boolean(bool v) override {
    bool_ = v;
    return scalar(kind_bool);
  }
  bool number_integer(number_integer_t v) override {
    int_ = v;
    return scalar(kind_int);
  }
  bool number_unsigned(number_unsigned_t v) override {
    uint_ = v;
    return scalar(kind_uint);
  }
  bool number_float(number_float_t v, const string_t&) override {
    dbl_ = v;
    return scalar(kind_double);
  }
  bool string(string_t& v) override {
    str_ = &v;
    return scalar(kind_string);
  }
  bool binary(binary_t&) override { return scalar(kind_null); }

  bool start_object(std::size_t) override { return open(true); }
  bool start_array(std::size_t) override { return open(false); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    if (skip_depth_) return true;
    if (!capture_.empty()) {
      capture_key_ = std::move(k);
      return true;
    }
    frame& f = stack_.back();
    f.field = field_of(k);
    static_assert(static_cast<int>(fld::bytes_value) < 64, "frame::keys has a bit per field");
    if (f.field != fld::none) {
      const std::uint64_t bit = std::uint64_t{1} << static_cast<unsigned>(f.field);
      if (f.keys & bit)
        report(
            field_path(field_name(f.field)),
            "duplicate key \"" + std::string(field_name(f.field)) + "\" (the last value is used)",
            false);
      f.keys |= bit;
    }
    return true;
  }

  bool parse_error(std::size_t byte, const std::string&,
                   const nlohmann::detail::exception& e) override {
    parse_error_ = e.what();
    parse_error_byte_ = byte;
    return false;
  }
  std::string parse_error_;
  std::size_t parse_error_byte_ = 0;

 private:
  enum vkind { kind_null, kind_bool, kind_int, kind_uint, kind_double, kind_string };
  struct frame {
    ctx c;
    fld field;
    std::uint32_t index;     // element index in arrays; for objects, the index they have in theirs
    std::uint64_t keys = 0;  // the known fields this object has had (duplicate keys)
  };

  // ---- building state
  struct pending_span {
    read_span rs;
    std::string error;  // first problem that makes the span unusable
    std::string error_path;
    std::shared_ptr<resource_info> scope;  // scope name/version (resource filled at rs end)
  };
  attr_list resource_attrs_;
  std::string scope_name_, scope_version_;
  std::vector<pending_span> rs_spans_;  // spans of the current resourceSpans element
  std::size_t ss_first_ = 0;            // first span of the current scopeSpans in rs_spans_
  pending_span* cur_ = nullptr;
  event_view* cur_event_ = nullptr;
  link_view* cur_link_ = nullptr;
  std::string kv_key_;
  bool kv_has_key_ = false;
  attr_value kv_value_;
  bool kv_has_value_ = false;
  bool kv_discard_ = false;  // the value's key is known and not kept: check it, store nothing
  std::vector<attr_list*> kv_targets_;  // per kv_array frame

  // capture of arrayValue / kvlistValue subtrees as JSON
  std::vector<nlohmann::ordered_json*> capture_;
  nlohmann::ordered_json capture_root_;
  fld capture_field_ = fld::none;
  std::string capture_key_;

  std::vector<frame> stack_;
  std::size_t depth_ = 0;
  std::size_t skip_depth_ = 0;

  bool bool_ = false;
  std::int64_t int_ = 0;
  std::uint64_t uint_ = 0;
  double dbl_ = 0;
  std::string* str_ = nullptr;

  // ---- helpers
  std::string path() const {
    std::string p;
    for (std::size_t i = 1; i < stack_.size(); ++i) {
      const frame& f = stack_[i];
      switch (f.c) {
        case ctx::rs: p += "resourceSpans[" + std::to_string(f.index) + "]"; break;
        case ctx::ss: p += ".scopeSpans[" + std::to_string(f.index) + "]"; break;
        case ctx::span: p += ".spans[" + std::to_string(f.index) + "]"; break;
        case ctx::event: p += ".events[" + std::to_string(f.index) + "]"; break;
        case ctx::link: p += ".links[" + std::to_string(f.index) + "]"; break;
        case ctx::kv: p += ".attributes[" + std::to_string(f.index) + "]"; break;
        case ctx::resource: p += ".resource"; break;
        case ctx::scope: p += ".scope"; break;
        case ctx::status: p += ".status"; break;
        case ctx::any: p += ".value"; break;
        default: break;
      }
    }
    return p;
  }
  std::string field_path(std::string_view name) const {
    std::string p = path();
    if (!p.empty()) p += '.';
    p += name;
    return p;
  }
  static std::string_view field_name(fld f) {
    namespace n = otlp::field;
    switch (f) {
      case fld::resource_spans: return n::resource_spans;
      case fld::resource: return n::resource;
      case fld::scope_spans: return n::scope_spans;
      case fld::scope: return n::scope;
      case fld::spans: return n::spans;
      case fld::name: return n::name;
      case fld::version: return n::version;
      case fld::attributes: return n::attributes;
      case fld::dropped_attributes_count: return n::dropped_attributes_count;
      case fld::trace_id: return n::trace_id;
      case fld::span_id: return n::span_id;
      case fld::parent_span_id: return n::parent_span_id;
      case fld::trace_state: return n::trace_state;
      case fld::flags: return n::flags;
      case fld::kind: return n::kind;
      case fld::start_time: return n::start_time;
      case fld::end_time: return n::end_time;
      case fld::time: return n::time;
      case fld::events: return n::events;
      case fld::dropped_events_count: return n::dropped_events_count;
      case fld::links: return n::links;
      case fld::dropped_links_count: return n::dropped_links_count;
      case fld::status: return n::status;
      case fld::code: return n::code;
      case fld::message: return n::message;
      case fld::key: return n::key;
      case fld::value: return n::value;
      case fld::string_value: return n::string_value;
      case fld::bool_value: return n::bool_value;
      case fld::int_value: return n::int_value;
      case fld::double_value: return n::double_value;
      case fld::array_value: return n::array_value;
      case fld::kvlist_value: return n::kvlist_value;
      case fld::bytes_value: return n::bytes_value;
      case fld::none: break;
    }
    return "?";
  }
  static const char* kind_name(vkind k) {
    switch (k) {
      case kind_null: return "null";
      case kind_bool: return "a boolean";
      case kind_int:
      case kind_uint: return "an integer";
      case kind_double: return "a number";
      case kind_string: return "a string";
    }
    return "?";
  }

  // A problem with a field: the span it belongs to is dropped when `fatal`.
  void problem(fld f, std::string msg, bool fatal) {
    std::string p = field_path(field_name(f));
    if (fatal && cur_) {
      if (cur_->error.empty()) {
        cur_->error = std::move(msg);
        cur_->error_path = std::move(p);
      }
      return;
    }
    report(std::move(p), std::move(msg), false);
  }
  void wrong_type(fld f, const char* want, const char* got, bool fatal) {
    problem(f, std::string("expected ") + want + ", got " + got, fatal);
  }

  bool get_u64(vkind k, fld f, std::uint64_t& out, bool fatal) {
    if (k == kind_uint) {
      out = uint_;
      return true;
    }
    if (k == kind_int && int_ >= 0) {
      out = static_cast<std::uint64_t>(int_);
      return true;
    }
    if (k == kind_string) {
      const std::string& s = *str_;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return true;
      problem(f, "not an unsigned 64-bit integer: \"" + clip(s) + "\"", fatal);
      return false;
    }
    if (k == kind_null) return false;
    wrong_type(f, "an unsigned integer (number or decimal string)", kind_name(k), fatal);
    return false;
  }
  static std::string clip(const std::string& s) {
    if (s.size() <= 40) return s;
    std::size_t cut = 40;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    return s.substr(0, cut) + "...";
  }
  bool get_u32(vkind k, fld f, std::uint32_t& out) {
    std::uint64_t v = 0;
    if (!get_u64(k, f, v, false)) return false;
    if (v > 0xFFFFFFFFu) {
      problem(f, "out of range for a 32-bit field", false);
      return false;
    }
    out = static_cast<std::uint32_t>(v);
    return true;
  }
  // Strings are copied, not moved: moving would take the lexer's token buffer and make it
  // grow again (two or three allocations) for the next long string.
  bool get_string(vkind k, fld f, std::string& out, bool fatal) {
    if (k == kind_string) {
      out.assign(*str_);
      return true;
    }
    if (k != kind_null) wrong_type(f, "a string", kind_name(k), fatal);
    return false;
  }

  bool want_attribute(const attr_list* target, const std::string& key) const {
    if (keep_all_attributes || target == &resource_attrs_) return true;
    if (!keep_attributes) return false;
    for (const auto& k : *keep_attributes)
      if (k == key) return true;
    return false;
  }

  // ---- value dispatch
  bool scalar(vkind k) {
    if (skip_depth_) return true;
    if (!capture_.empty()) {
      nlohmann::ordered_json v;
      switch (k) {
        case kind_null: break;
        case kind_bool: v = bool_; break;
        case kind_int: v = int_; break;
        case kind_uint: v = uint_; break;
        case kind_double: v = dbl_; break;
        case kind_string: v = *str_; break;
      }
      capture_put(std::move(v));
      return true;
    }
    frame& f = stack_.back();
    switch (f.c) {
      case ctx::scope:
        if (f.field == fld::name)
          get_string(k, f.field, scope_name_, false);
        else if (f.field == fld::version)
          get_string(k, f.field, scope_version_, false);
        else if (f.field != fld::none && f.field != fld::dropped_attributes_count)
          unexpected_scalar(f, k);
        break;
      case ctx::span: span_scalar(f, k); break;
      case ctx::event: event_scalar(f, k); break;
      case ctx::link: link_scalar(f, k); break;
      case ctx::status:
        if (f.field == fld::code) {
          std::uint32_t c = 0;
          if (get_u32(k, f.field, c) && cur_) {
            if (c <= 2)
              cur_->rs.span.status = static_cast<status_code>(c);
            else
              problem(f.field, "status code " + std::to_string(c) + " is not 0, 1 or 2", false);
          }
        } else if (f.field == fld::message) {
          if (cur_) get_string(k, f.field, cur_->rs.span.status_message, false);
        } else if (f.field != fld::none) {
          unexpected_scalar(f, k);
        }
        break;
      case ctx::kv:
        if (f.field == fld::key)
          kv_has_key_ = get_string(k, f.field, kv_key_, false);
        else if (f.field == fld::value && k != kind_null)
          wrong_type(f.field, "an AnyValue object", kind_name(k), false);
        break;
      case ctx::any: any_scalar(f, k); break;
      case ctx::root:
        report(std::string(), std::string("expected a JSON object, got ") + kind_name(k), false);
        break;
      case ctx::rs:
      case ctx::resource:
      case ctx::ss:
      case ctx::traces:
        if (f.field != fld::none && f.field != fld::dropped_attributes_count && k != kind_null)
          unexpected_scalar(f, k);
        break;
      default:
        // A scalar where an array element object was expected.
        if (k != kind_null)
          report(path(), std::string("unexpected ") + kind_name(k) + " in an array of objects",
                 false);
        break;
    }
    return true;
  }

  void unexpected_scalar(const frame& f, vkind k) {
    if (f.field == fld::none) return;  // unknown field: ignored
    wrong_type(f.field, expected_container(f), kind_name(k), false);
  }
  static const char* expected_container(const frame& f) {
    switch (f.field) {
      case fld::resource_spans:
      case fld::scope_spans:
      case fld::spans:
      case fld::attributes:
      case fld::events:
      case fld::links: return "an array";
      default: return "an object";
    }
  }

  void span_scalar(frame& f, vkind k) {
    if (!cur_) return;
    span_data& s = cur_->rs.span;
    switch (f.field) {
      case fld::trace_id:
        if (k != kind_string) {
          if (k != kind_null) wrong_type(f.field, "a string", kind_name(k), true);
        } else if (!parse_trace_id(*str_, s.trace_id)) {
          problem(f.field, "not a trace id (32 hex digits, not all zero): \"" + clip(*str_) + "\"",
                  true);
        }
        break;
      case fld::span_id:
        if (k != kind_string) {
          if (k != kind_null) wrong_type(f.field, "a string", kind_name(k), true);
        } else if (!parse_span_id(*str_, s.span_id)) {
          problem(f.field, "not a span id (16 hex digits, not all zero): \"" + clip(*str_) + "\"",
                  true);
        }
        break;
      case fld::parent_span_id:
        if (k != kind_string) {
          if (k != kind_null) wrong_type(f.field, "a string", kind_name(k), true);
        } else if (!str_->empty() && !parse_span_id(*str_, s.parent_span_id)) {
          problem(f.field, "not a span id (16 hex digits, not all zero): \"" + clip(*str_) + "\"",
                  true);
        }
        break;
      case fld::trace_state: get_string(k, f.field, s.trace_state, false); break;
      case fld::name: get_string(k, f.field, s.name, false); break;
      case fld::flags: {
        std::uint32_t v = 0;
        if (get_u32(k, f.field, v)) {
          s.flags = static_cast<std::uint8_t>(v & 0xFF);
          s.parent_remote = (v & otlp::flag_has_is_remote) && (v & otlp::flag_is_remote);
        }
        break;
      }
      case fld::kind: {
        std::uint32_t v = 0;
        if (get_u32(k, f.field, v)) {
          if (v >= 1 && v <= 5)
            s.kind = static_cast<span_kind>(v);
          else if (v != 0)
            problem(f.field, "span kind " + std::to_string(v) + " is not 0..5", false);
        }
        break;
      }
      case fld::start_time:
        if (get_u64(k, f.field, s.start_unix_ns, true)) has_start_ = true;
        break;
      case fld::end_time:
        if (get_u64(k, f.field, s.end_unix_ns, true)) has_end_ = true;
        break;
      case fld::dropped_attributes_count: get_u32(k, f.field, s.dropped_attributes); break;
      case fld::dropped_events_count: get_u32(k, f.field, s.dropped_events); break;
      case fld::dropped_links_count: get_u32(k, f.field, s.dropped_links); break;
      case fld::attributes:
      case fld::events:
      case fld::links:
      case fld::status:
        if (k != kind_null) unexpected_scalar(f, k);
        break;
      default: break;
    }
  }
  bool has_start_ = false, has_end_ = false;

  void event_scalar(frame& f, vkind k) {
    if (!cur_event_) return;
    switch (f.field) {
      case fld::time: get_u64(k, f.field, cur_event_->time_unix_ns, false); break;
      case fld::name: get_string(k, f.field, cur_event_->name, false); break;
      case fld::attributes:
        if (k != kind_null) unexpected_scalar(f, k);
        break;
      default: break;
    }
  }
  void link_scalar(frame& f, vkind k) {
    if (!cur_link_) return;
    std::string v;
    switch (f.field) {
      case fld::trace_id:
        if (get_string(k, f.field, v, false) && !parse_trace_id(v, cur_link_->context.trace_id))
          problem(f.field, "not a trace id: \"" + clip(v) + "\"", false);
        break;
      case fld::span_id:
        if (get_string(k, f.field, v, false) && !parse_span_id(v, cur_link_->context.span_id))
          problem(f.field, "not a span id: \"" + clip(v) + "\"", false);
        break;
      case fld::trace_state: get_string(k, f.field, cur_link_->trace_state, false); break;
      case fld::flags: {
        std::uint32_t fl = 0;
        if (get_u32(k, f.field, fl)) {
          cur_link_->context.flags = static_cast<std::uint8_t>(fl & 0xFF);
          cur_link_->context.remote =
              (fl & otlp::flag_has_is_remote) && (fl & otlp::flag_is_remote);
        }
        break;
      }
      case fld::attributes:
        if (k != kind_null) unexpected_scalar(f, k);
        break;
      default: break;
    }
  }
  void any_scalar(frame& f, vkind k) {
    if (k == kind_null) return;
    switch (f.field) {
      case fld::string_value:
      case fld::bytes_value:
        if (k == kind_string) {
          if (!kv_discard_) kv_value_.emplace<std::string>(*str_);
          kv_has_value_ = true;
        } else {
          wrong_type(f.field, "a string", kind_name(k), false);
        }
        break;
      case fld::bool_value:
        if (k == kind_bool)
          set_kv(bool_);
        else
          wrong_type(f.field, "a boolean", kind_name(k), false);
        break;
      case fld::int_value:
        if (k == kind_int)
          set_kv(int_);
        else if (k == kind_uint && uint_ <= static_cast<std::uint64_t>(INT64_MAX))
          set_kv(static_cast<std::int64_t>(uint_));
        else if (k == kind_string) {
          std::int64_t v = 0;
          const std::string& s = *str_;
          auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
          if (ec == std::errc() && p == s.data() + s.size() && !s.empty())
            set_kv(v);
          else
            problem(f.field, "not a 64-bit integer: \"" + clip(s) + "\"", false);
        } else
          wrong_type(f.field, "an integer (number or decimal string)", kind_name(k), false);
        break;
      case fld::double_value:
        if (k == kind_double)
          set_kv(dbl_);
        else if (k == kind_int)
          set_kv(static_cast<double>(int_));
        else if (k == kind_uint)
          set_kv(static_cast<double>(uint_));
        else if (k == kind_string &&
                 (*str_ == "NaN" || *str_ == "Infinity" || *str_ == "-Infinity"))
          set_kv(*str_ == "NaN" ? __builtin_nan("")
                                : (*str_ == "Infinity" ? __builtin_inf() : -__builtin_inf()));
        else
          wrong_type(f.field, "a number", kind_name(k), false);
        break;
      case fld::array_value:
      case fld::kvlist_value: wrong_type(f.field, "an object", kind_name(k), false); break;
      default: break;
    }
  }
  template <class V>
  void set_kv(V&& v) {
    kv_value_ = attr_value(std::forward<V>(v));
    kv_has_value_ = true;
  }

  // ---- containers
  void push(ctx c, std::uint32_t index = 0) { stack_.push_back({c, fld::none, index, 0}); }

  bool open(bool is_object) {
    if (++depth_ > max_depth) {
      abort_reason = "nested deeper than " + std::to_string(max_depth) + " levels";
      return false;
    }
    if (skip_depth_) {
      ++skip_depth_;
      return true;
    }
    if (!capture_.empty()) {
      capture_put(is_object ? nlohmann::ordered_json::object() : nlohmann::ordered_json::array());
      return true;
    }
    frame& f = stack_.back();
    auto want = [&](bool obj, ctx next) {
      if (obj != is_object) {
        wrong_type(f.field, obj ? "an object" : "an array", is_object ? "an object" : "an array",
                   false);
        skip_depth_ = 1;
        return;
      }
      push(next);
    };
    auto element = [&](ctx next) {
      if (!is_object) {
        report(path(), "unexpected array in an array of objects", false);
        skip_depth_ = 1;
        return;
      }
      const std::uint32_t i = f.index++;
      push(next, i);
    };
    switch (f.c) {
      case ctx::root:
        if (!is_object) {
          report(std::string(), "expected a JSON object (ExportTraceServiceRequest), got an array",
                 false);
          skip_depth_ = 1;
        } else {
          push(ctx::traces);
        }
        break;
      case ctx::traces:
        if (f.field == fld::resource_spans)
          want(false, ctx::rs_array);
        else
          skip_depth_ = 1;
        break;
      case ctx::rs_array:
        element(ctx::rs);
        if (stack_.back().c == ctx::rs) begin_rs();
        break;
      case ctx::rs:
        if (f.field == fld::resource)
          want(true, ctx::resource);
        else if (f.field == fld::scope_spans)
          want(false, ctx::ss_array);
        else
          skip_depth_ = 1;
        break;
      case ctx::resource:
        if (f.field == fld::attributes) {
          want(false, ctx::kv_array);
          if (stack_.back().c == ctx::kv_array) kv_targets_.push_back(&resource_attrs_);
        } else {
          skip_depth_ = 1;
        }
        break;
      case ctx::ss_array:
        element(ctx::ss);
        if (stack_.back().c == ctx::ss) {
          scope_name_.clear();
          scope_version_.clear();
          ss_first_ = rs_spans_.size();
        }
        break;
      case ctx::ss:
        if (f.field == fld::scope)
          want(true, ctx::scope);
        else if (f.field == fld::spans)
          want(false, ctx::span_array);
        else
          skip_depth_ = 1;
        break;
      case ctx::span_array:
        element(ctx::span);
        if (stack_.back().c == ctx::span) begin_span();
        break;
      case ctx::span:
        if (f.field == fld::attributes)
          open_kv_array(want, cur_ ? &cur_->rs.span.attributes : nullptr);
        else if (f.field == fld::events)
          want(false, ctx::event_array);
        else if (f.field == fld::links)
          want(false, ctx::link_array);
        else if (f.field == fld::status)
          want(true, ctx::status);
        else if (f.field != fld::none) {
          wrong_type(f.field, "a string or number", is_object ? "an object" : "an array",
                     f.field == fld::trace_id || f.field == fld::span_id ||
                         f.field == fld::parent_span_id || f.field == fld::start_time ||
                         f.field == fld::end_time);
          skip_depth_ = 1;
        } else {
          skip_depth_ = 1;
        }
        break;
      case ctx::event_array:
        element(ctx::event);
        if (stack_.back().c == ctx::event && cur_) {
          if (keep_all_attributes) {
            cur_->rs.span.events.emplace_back();
            cur_event_ = &cur_->rs.span.events.back();
          } else {
            cur_event_ = &unkept_event_;
            unkept_event_ = {};
          }
        }
        break;
      case ctx::event:
        if (f.field == fld::attributes)
          open_kv_array(want, cur_event_ ? &cur_event_->attributes : nullptr);
        else
          not_scalar(f.field, is_object);
        break;
      case ctx::link_array:
        element(ctx::link);
        if (stack_.back().c == ctx::link && cur_) {
          if (keep_all_attributes) {
            cur_->rs.span.links.emplace_back();
            cur_link_ = &cur_->rs.span.links.back();
          } else {
            cur_link_ = &unkept_link_;
            unkept_link_ = {};
          }
        }
        break;
      case ctx::link:
        if (f.field == fld::attributes)
          open_kv_array(want, cur_link_ ? &cur_link_->attributes : nullptr);
        else
          not_scalar(f.field, is_object);
        break;
      case ctx::status: not_scalar(f.field, is_object); break;
      case ctx::scope:
        if (f.field == fld::attributes)
          skip_depth_ = 1;
        else
          not_scalar(f.field, is_object);
        break;
      case ctx::kv_array:
        element(ctx::kv);
        if (stack_.back().c == ctx::kv) {
          kv_has_key_ = kv_has_value_ = kv_discard_ = false;
          kv_value_ = std::monostate{};
        }
        break;
      case ctx::kv: {
        // A value nobody keeps (scans without attributes) is checked but not stored, so every
        // command reports the same problems whichever attributes it keeps.
        const attr_list* target = kv_targets_.empty() ? nullptr : kv_targets_.back();
        if (f.field == fld::value && target) {
          kv_discard_ = kv_has_key_ && !want_attribute(target, kv_key_);
          want(true, ctx::any);
        } else {
          skip_depth_ = 1;
        }
        break;
      }
      case ctx::any:
        if (f.field == fld::array_value || f.field == fld::kvlist_value) {
          if (!is_object) {
            wrong_type(f.field, "an object", "an array", false);
            skip_depth_ = 1;
            break;
          }
          capture_field_ = f.field;
          capture_root_ = nlohmann::ordered_json::object();
          capture_.push_back(&capture_root_);
        } else {
          if (f.field != fld::none)
            wrong_type(f.field, "a scalar", is_object ? "an object" : "an array", false);
          skip_depth_ = 1;
        }
        break;
      default: skip_depth_ = 1; break;
    }
    return true;
  }

  // An object or array where a known scalar field belongs: reported (the field is ignored).
  void not_scalar(fld field, bool is_object) {
    if (field != fld::none)
      wrong_type(field, "a string or number", is_object ? "an object" : "an array", false);
    skip_depth_ = 1;
  }

  template <class Want>
  void open_kv_array(Want& want, attr_list* target) {
    want(false, ctx::kv_array);
    if (stack_.back().c == ctx::kv_array) kv_targets_.push_back(target);
  }

  bool close() {
    --depth_;
    if (skip_depth_) {
      --skip_depth_;
      return true;
    }
    if (!capture_.empty()) {
      capture_.pop_back();
      if (capture_.empty()) finish_capture();
      return true;
    }
    switch (stack_.back().c) {
      case ctx::rs: end_rs(); break;
      case ctx::ss: end_ss(); break;
      case ctx::span: end_span(); break;
      case ctx::event: cur_event_ = nullptr; break;
      case ctx::link: cur_link_ = nullptr; break;
      case ctx::kv_array: kv_targets_.pop_back(); break;
      case ctx::kv: end_kv(); break;
      default: break;
    }
    stack_.pop_back();
    return true;
  }

  // Capture: builds the subtree below arrayValue / kvlistValue as ordered_json.
  void capture_put(nlohmann::ordered_json v) {
    nlohmann::ordered_json* parent = capture_.back();
    const bool container = v.is_object() || v.is_array();
    nlohmann::ordered_json* slot;
    if (parent->is_array()) {
      parent->push_back(std::move(v));
      slot = &parent->back();
    } else {
      slot = &(*parent)[capture_key_];
      *slot = std::move(v);
    }
    if (container) capture_.push_back(slot);
  }
  void finish_capture() {
    nlohmann::ordered_json av = nlohmann::ordered_json::object();
    av[std::string(field_name(capture_field_))] = std::move(capture_root_);
    std::string err;
    nlohmann::ordered_json plain = any_to_plain(av, err);
    if (!err.empty()) problem(capture_field_, err, false);
    set_kv(plain_to_attr(plain));
    capture_root_ = nullptr;
  }

  void begin_rs() {
    resource_attrs_.clear();
    rs_spans_.clear();
  }
  void end_rs() {
    auto res = std::make_shared<resource_info>();
    res->attributes = std::move(resource_attrs_);
    resource_attrs_.clear();
    // Scopes were recorded per span; attach the resource (and copy each distinct scope once).
    std::shared_ptr<resource_info> last_scope_src;
    resource_ptr last_made;
    for (auto& p : rs_spans_) {
      if (!p.error.empty()) {
        report(std::move(p.error_path), std::move(p.error), true);
        continue;
      }
      if (p.scope != last_scope_src) {
        auto r = std::make_shared<resource_info>();
        r->attributes = res->attributes;
        r->scope_name = p.scope ? p.scope->scope_name : std::string();
        r->scope_version = p.scope ? p.scope->scope_version : std::string();
        last_scope_src = p.scope;
        last_made = std::move(r);
      }
      p.rs.resource = last_made;
      emit(std::move(p.rs));
    }
    rs_spans_.clear();
  }
  void end_ss() {
    auto scope = std::make_shared<resource_info>();
    scope->scope_name = std::move(scope_name_);
    scope->scope_version = std::move(scope_version_);
    for (std::size_t i = ss_first_; i < rs_spans_.size(); ++i) rs_spans_[i].scope = scope;
  }
  void begin_span() {
    rs_spans_.emplace_back();
    cur_ = &rs_spans_.back();
    has_start_ = has_end_ = false;
  }
  void end_span() {
    if (!cur_) return;
    const span_data& s = cur_->rs.span;
    if (cur_->error.empty()) {
      auto missing = [&](std::string_view what) {
        cur_->error = "missing " + std::string(what);
        cur_->error_path = path();
      };
      if (!s.trace_id.valid())
        missing(otlp::field::trace_id);
      else if (s.span_id == 0)
        missing(otlp::field::span_id);
      else if (!has_start_)
        missing(otlp::field::start_time);
      else if (!has_end_)
        missing(otlp::field::end_time);
      else if (s.parent_span_id == s.span_id) {
        cur_->error = "parentSpanId equals spanId";
        cur_->error_path = path();
      } else if (s.end_unix_ns < s.start_unix_ns) {
        report(path(), "endTimeUnixNano is before startTimeUnixNano (duration taken as 0)", false);
      }
    }
    cur_ = nullptr;
  }
  void end_kv() {
    attr_list* target = kv_targets_.empty() ? nullptr : kv_targets_.back();
    if (!target) return;
    if (!kv_has_key_) {
      report(path(), "attribute without a key: ignored", false);
      return;
    }
    if (!kv_has_value_) return;  // empty AnyValue: nothing to keep
    if (!want_attribute(target, kv_key_)) return;
    target->emplace_back(std::move(kv_key_), std::move(kv_value_));
  }

  // Events and links read but not kept (only counted): parsed into these, then discarded.
  event_view unkept_event_;
  link_view unkept_link_;
};

}  // namespace agentrace::eval::detail

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/detail/parent_cycles.hpp
// SPDX-License-Identifier: MIT
// Parent cycles across a whole input: spans whose chain of parents loops back to them. A reader
// sees spans one at a time, in any order and across files, so it keeps 32 bytes a span (two
// digests, the span id and where the span was read) and looks for cycles once the input is read.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval::detail {

class parent_cycles {
 public:
  /// Where a span was read: the reader's file index and 1-based line (0: a whole document).
  struct place {
    std::uint32_t file;
    std::uint64_t line;
    std::uint64_t span_id;
  };
  /// One cycle: where each of its spans was read, in parent order starting at the first read.
  using cycle = std::vector<place>;

  void add(const span_data& s, std::uint32_t file, std::uint64_t line) {
    const std::uint64_t parent = s.parent_span_id ? span_key(s.trace_id, s.parent_span_id) : 0;
    if (parent == 0) return;  // a root: never part of a cycle
    // In a document (no lines) the order of reading stands in for the line, flagged as such.
    const std::uint64_t at = line ? pack(file, line) : pack(file, ++unlined_) | unlined_flag;
    nodes_.push_back(node{span_key(s.trace_id, s.span_id), parent, at, s.span_id});
  }

  /// The cycles among the spans added so far (each once), in the order of their first span in
  /// the input. Spans whose digests collide (~2^-64 a pair) are taken as one.
  std::vector<cycle> find() {
    // Sorted by the span's digest; a repeated span (same trace and span id) keeps its first read.
    // (std::sort, in place: a stable sort would take a second buffer as large as the input.)
    std::sort(nodes_.begin(), nodes_.end(), [](const node& a, const node& b) {
      return a.self != b.self ? a.self < b.self : a.at < b.at;
    });
    nodes_.erase(std::unique(nodes_.begin(), nodes_.end(),
                             [](const node& a, const node& b) { return a.self == b.self; }),
                 nodes_.end());
    nodes_.shrink_to_fit();
    const std::size_t none = nodes_.size();
    auto parent_of = [&](std::size_t i) {
      auto it = std::lower_bound(nodes_.begin(), nodes_.end(), nodes_[i].parent,
                                 [](const node& n, std::uint64_t k) { return n.self < k; });
      return it != nodes_.end() && it->self == nodes_[i].parent
                 ? static_cast<std::size_t>(it - nodes_.begin())
                 : none;
    };
    // Each span has at most one parent: walk up from every unvisited span; reaching a span of
    // the current walk closes a cycle, reaching an earlier walk's span or a root does not.
    std::vector<std::uint8_t> state(nodes_.size(), 0);  // 0 new, 1 on this walk, 2 done
    std::vector<std::size_t> walk;
    std::vector<cycle> out;
    std::vector<std::uint64_t> first;  // packed place of each cycle's first span, for ordering
    for (std::size_t start = 0; start < nodes_.size(); ++start) {
      if (state[start]) continue;
      walk.clear();
      std::size_t i = start;
      while (i != none && state[i] == 0) {
        state[i] = 1;
        walk.push_back(i);
        i = parent_of(i);
      }
      if (i != none && state[i] == 1) {
        const auto from = std::find(walk.begin(), walk.end(), i);
        const auto min = std::min_element(from, walk.end(), [&](std::size_t a, std::size_t b) {
          return nodes_[a].at < nodes_[b].at;
        });
        cycle c;
        for (auto it = min; it != walk.end(); ++it) c.push_back(unpack(nodes_[*it]));
        for (auto it = from; it != min; ++it) c.push_back(unpack(nodes_[*it]));
        first.push_back(nodes_[*min].at);
        out.push_back(std::move(c));
      }
      for (std::size_t w : walk) state[w] = 2;
    }
    std::vector<std::size_t> order(out.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return first[a] < first[b]; });
    std::vector<cycle> sorted;
    sorted.reserve(out.size());
    for (std::size_t k : order) sorted.push_back(std::move(out[k]));
    return sorted;
  }

  void clear() noexcept {
    unlined_ = 0;
    nodes_.clear();
    nodes_.shrink_to_fit();
  }

 private:
  struct node {
    std::uint64_t self, parent, at, span_id;
  };
  static constexpr unsigned line_bits = 40;
  static constexpr std::uint64_t unlined_flag = std::uint64_t(1) << (line_bits - 1);
  static std::uint64_t pack(std::uint32_t file, std::uint64_t line) noexcept {
    const std::uint64_t max_line = unlined_flag - 1;
    return (std::uint64_t(file) << line_bits) | std::min(line, max_line);
  }
  static place unpack(const node& n) noexcept {
    const std::uint64_t low = n.at & ((std::uint64_t(1) << line_bits) - 1);
    return {static_cast<std::uint32_t>(n.at >> line_bits), low & unlined_flag ? 0 : low, n.span_id};
  }
  std::deque<node> nodes_;  // in blocks: growing never copies what is held
  std::uint64_t unlined_ = 0;
};

}  // namespace agentrace::eval::detail

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// Streams spans out of OTLP-JSON files. Each file is either JSON lines (one request per line;
/// a bad line is reported and skipped) or one JSON document (pretty-printed is fine).
class reader {
 public:
  using span_callback = std::function<void(read_span&&)>;

  explicit reader(reader_options o = {}) : opt_(std::move(o)) {}

  /// Reads `path` ("-" is standard input), calling `on_span` for each good span. Pipes, FIFOs
  /// and standard input are read once, front to back (JSON lines are streamed; a document is
  /// held whole, as it is from a file). Returns false if the file could not be opened or is a
  /// directory (reported as a diagnostic).
  bool read_file(const std::string& path, const span_callback& on_span) {
    const auto index = file_index(path);
    ++counts_.files;
    std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
    if (!f) {
      ++counts_.files_unreadable;
      add_diag(path, 0, std::string("cannot open: ") + std::strerror(errno));
      return false;
    }
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f == stdin ? nullptr : f, &std::fclose);
    struct stat st {};
    const bool known = ::fstat(::fileno(f), &st) == 0;
    if (known && S_ISDIR(st.st_mode)) {
      ++counts_.files_unreadable;
      add_diag(path, 0, "is a directory, not a trace file");
      return false;
    }
    read_stream(f, path, index, known && S_ISREG(st.st_mode), on_span);
    return true;
  }

  /// Reads every file in turn.
  bool read_files(const std::vector<std::string>& paths, const span_callback& on_span) {
    bool ok = true;
    for (const auto& p : paths) ok = read_file(p, on_span) && ok;
    report_parent_cycles();
    return ok;
  }

  /// With find_parent_cycles: reports the cycles among the spans read since the last call (one
  /// diagnostic each, at the place of its first span read) and returns how many there were.
  std::size_t report_parent_cycles() {
    const auto found = cycles_.find();
    cycles_.clear();
    for (const auto& c : found) {
      std::string chain;
      for (std::size_t i = 0; i <= c.size(); ++i) {
        const auto& at = c[i % c.size()];
        if (i) chain += " -> ";
        chain += to_hex(at.span_id);
        if (at.file != c.front().file)
          chain +=
              " (" + shown(files_[at.file]) + (at.line ? ":" + std::to_string(at.line) : "") + ")";
        else if (at.line && i && i < c.size())
          chain += " (line " + std::to_string(at.line) + ")";
      }
      ++counts_.parent_cycles;
      add_diag(files_[c.front().file], c.front().line,
               "span " + to_hex(c.front().span_id) + " is its own ancestor, a parent cycle of " +
                   std::to_string(c.size()) + (c.size() == 1 ? " span: " : " spans: ") + chain +
                   "; call trees show it as a root");
    }
    return found.size();
  }

  /// Reads OTLP-JSON held in memory (JSON lines or one document); `name` labels diagnostics.
  void read_string(std::string_view text, const std::string& name, const span_callback& on_span) {
    const auto index = file_index(name);
    ++counts_.files;
    read_text(text, name, index, on_span);
  }

  const read_counts& counts() const noexcept { return counts_; }
  const std::vector<diagnostic>& diagnostics() const noexcept { return diags_; }
  const std::vector<std::string>& files() const noexcept { return files_; }
  const reader_options& options() const noexcept { return opt_; }

 private:
  void read_text(std::string_view text, const std::string& name, std::uint32_t index,
                 const span_callback& on_span) {
    // A first line that is not complete JSON: a document spanning lines, or JSON lines whose
    // first line is broken. Try the document; fall back to lines when it fails at once.
    std::size_t p = 0;
    while (p < text.size()) {
      std::size_t nl = text.find('\n', p);
      if (nl == std::string_view::npos) nl = text.size();
      const std::string_view first = text.substr(p, nl - p);
      if (!detail::is_blank(first)) {
        if (!complete_json(first) &&
            parse_document(text, name, index, on_span, [&] { return has_request_line(text); }))
          return;
        break;
      }
      p = nl + 1;
    }
    std::uint64_t lineno = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      const std::string_view line = text.substr(pos, nl - pos);
      ++lineno;
      pos = nl + 1;
      if (!detail::is_blank(line)) parse_line(line, name, index, lineno, on_span);
    }
  }

  std::uint32_t file_index(const std::string& path) {
    for (std::size_t i = 0; i < files_.size(); ++i)
      if (files_[i] == path) return static_cast<std::uint32_t>(i);
    files_.push_back(path);
    return static_cast<std::uint32_t>(files_.size() - 1);
  }

  std::string shown(const std::string& path) const {
    return opt_.display_name ? opt_.display_name(path) : path;
  }

  void add_diag(const std::string& file, std::uint64_t line, std::string msg) {
    ++counts_.diagnostics;
    diagnostic d{shown(file), line, std::move(msg)};
    if (opt_.on_diagnostic) opt_.on_diagnostic(d);
    if (diags_.size() < opt_.max_kept_diagnostics) diags_.push_back(std::move(d));
  }

  void setup(detail::otlp_sax& h, const std::string& file, std::uint64_t& line_ref,
             const span_callback& emit_fn) {
    h.max_depth = opt_.max_depth;
    h.keep_all_attributes = opt_.attributes;
    h.keep_attributes = &opt_.keep_attributes;
    h.emit = emit_fn;
    h.report = [this, &file, &line_ref](const std::string& path, const std::string& msg,
                                        bool dropped) {
      if (dropped) ++counts_.spans_bad;
      add_diag(
          file, line_ref,
          (path.empty() ? std::string() : path + ": ") + msg + (dropped ? " (span skipped)" : ""));
    };
  }

  static std::string clean_parse_message(const std::string& what) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    std::string m = what;
    const auto p = m.find(": ");
    if (m.rfind("[json.exception", 0) == 0 && p != std::string::npos) m = m.substr(p + 2);
    // The message quotes input bytes: keep it valid UTF-8.
    std::string out;
    const auto* b = reinterpret_cast<const unsigned char*>(m.data());
    const auto* e = b + m.size();
    while (b < e) {
      const std::size_t n = agentrace::detail::utf8_sequence_length(b, e);
      if (n == 0) {
        out += "\\x";
        out += agentrace::detail::hex_digits[*b >> 4];
        out += agentrace::detail::hex_digits[*b & 0xF];
        ++b;
      } else {
        out.append(reinterpret_cast<const char*>(b), n);
        b += n;
      }
    }
    return out;
  }

  static bool complete_json(std::string_view line) {
    probe_sax p;
    return nlohmann::json::sax_parse(line.begin(), line.end(), &p) && p.depth_ok;
  }
  // Some line among the first 1000 is a whole ExportTraceServiceRequest: the input is JSON lines.
  static bool is_request_line(std::string_view l) {
    return l.find("\"resourceSpans\"") != std::string_view::npos && complete_json(l);
  }
  static bool has_request_line(std::string_view text) {
    std::size_t pos = 0;
    for (int n = 0; n < 1000 && pos < text.size(); ++n) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string_view::npos) nl = text.size();
      if (is_request_line(text.substr(pos, nl - pos))) return true;
      pos = nl + 1;
    }
    return false;
  }
  bool file_has_request_line(std::FILE* f) const {
    std::rewind(f);
    detail::line_source src(f, opt_.max_line_bytes);
    std::string line;
    for (int n = 0; n < 1000; ++n) {
      const auto r = src.next(line);
      if (r == detail::line_source::result::eof) break;
      if (r == detail::line_source::result::line && is_request_line(line)) return true;
    }
    return false;
  }

  // Only checks that a line is one complete JSON value (depth-limited; no values kept).
  struct probe_sax final : nlohmann::json_sax<nlohmann::json> {
    std::size_t depth = 0;
    bool depth_ok = true;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return ++depth <= 256 || (depth_ok = false); }
    bool key(string_t&) override { return true; }
    bool end_object() override {
      --depth;
      return true;
    }
    bool start_array(std::size_t) override { return ++depth <= 256 || (depth_ok = false); }
    bool end_array() override {
      --depth;
      return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
      return false;
    }
  };

  // Collects a line's spans and delivers them only if the whole line parsed.
  void parse_line(std::string_view line, const std::string& file, std::uint32_t index,
                  std::uint64_t lineno, const span_callback& on_span) {
    ++counts_.lines;
    line_spans_.clear();
    std::uint64_t line_ref = lineno;
    setup(sax_, file, line_ref, [&](read_span&& s) {
      s.file = index;
      s.line = lineno;
      line_spans_.push_back(std::move(s));
    });
    sax_.reset();
    bool ok = false;
    std::string error;
    try {
      ok = nlohmann::json::sax_parse(line.begin(), line.end(), &sax_,
                                     nlohmann::json::input_format_t::json, true);
    } catch (const nlohmann::json::exception& e) {
      error = clean_parse_message(e.what());
    }
    if (!ok) {
      ++counts_.lines_bad;
      if (!sax_.parse_error_.empty()) error = clean_parse_message(sax_.parse_error_);
      if (!sax_.abort_reason.empty())
        error = sax_.abort_reason;
      else if (error.empty())
        error = "invalid JSON";
      // An error at the very end of the line: the line was cut short.
      if (sax_.abort_reason.empty() && !sax_.parse_error_.empty() &&
          sax_.parse_error_byte_ >= line.size())
        error = "truncated JSON line (" + error + ")";
      add_diag(file, lineno, error + "; line skipped");
      line_spans_.clear();
      return;
    }
    for (auto& s : line_spans_) {
      ++counts_.spans;
      if (opt_.find_parent_cycles) cycles_.add(s.span, index, lineno);
      on_span(std::move(s));
    }
    line_spans_.clear();
  }

  // One document (possibly pretty-printed) from a FILE* or memory, streamed.
  // Returns false (and counts nothing) when the parse failed before any span and
  // `really_lines` says the input is JSON lines after all.
  template <class Parse>
  bool parse_whole(const std::string& file, std::uint32_t index, const span_callback& on_span,
                   Parse&& parse, const std::function<std::uint64_t(std::size_t)>& line_of,
                   const std::function<bool()>& really_lines) {
    std::uint64_t line_ref = 0;
    std::uint64_t delivered = 0;
    setup(sax_, file, line_ref, [&](read_span&& s) {
      s.file = index;
      if (opt_.find_parent_cycles) cycles_.add(s.span, index, 0);
      ++delivered;
      ++counts_.spans;
      on_span(std::move(s));
    });
    sax_.reset();
    std::string error;
    std::size_t byte = 0;
    bool ok = false;
    try {
      ok = parse(sax_);
    } catch (const nlohmann::json::exception& e) {
      error = clean_parse_message(e.what());
    }
    if (!ok && delivered == 0 && really_lines()) return false;
    ++counts_.lines;
    if (!ok) {
      ++counts_.lines_bad;
      if (!sax_.parse_error_.empty()) {
        error = clean_parse_message(sax_.parse_error_);
        byte = sax_.parse_error_byte_;
      }
      if (!sax_.abort_reason.empty())
        error = sax_.abort_reason;
      else if (error.empty())
        error = "invalid JSON";
      add_diag(file, byte ? line_of(byte) : 0,
               error + "; rest of the document skipped (" + std::to_string(delivered) +
                   " spans before it were kept)");
    }
    return true;
  }

  bool parse_document(std::string_view text, const std::string& file, std::uint32_t index,
                      const span_callback& on_span, const std::function<bool()>& really_lines) {
    return parse_whole(
        file, index, on_span,
        [&](detail::otlp_sax& h) {
          return nlohmann::json::sax_parse(text.begin(), text.end(), &h,
                                           nlohmann::json::input_format_t::json, true);
        },
        [&](std::size_t byte) {
          std::uint64_t l = 1;
          for (std::size_t i = 0; i < byte && i < text.size(); ++i) l += text[i] == '\n';
          return l;
        },
        really_lines);
  }

  void read_stream(std::FILE* f, const std::string& file, std::uint32_t index, bool seekable,
                   const span_callback& on_span) {
    if (seekable) {
      // A first line that is not complete JSON: a pretty-printed document, or JSON lines whose
      // first line is broken. Try the document; fall back to lines when it fails at once and
      // some line is a whole request.
      detail::line_source peek(f, opt_.max_line_bytes);
      std::string first;
      auto r = detail::line_source::result::eof;
      while ((r = peek.next(first)) == detail::line_source::result::line &&
             detail::is_blank(first)) {
      }
      if (r == detail::line_source::result::line && !complete_json(first)) {
        std::rewind(f);
        if (parse_file_document(f, file, index, on_span)) {
          if (opt_.on_progress)
            opt_.on_progress(index, static_cast<std::uint64_t>(std::max(0L, std::ftell(f))));
          return;
        }
      }
      std::rewind(f);
    }
    detail::line_source src(f, opt_.max_line_bytes);
    std::string line;
    std::uint64_t lineno = 0;
    auto r = detail::line_source::result::eof;
    if (!seekable) {
      // Read once: the first non-blank line decides. Complete JSON: JSON lines, streamed from
      // here. Otherwise a document (or a broken first line): what follows is gathered and read
      // as read_string() reads text.
      std::string head;
      while ((r = src.next(line)) == detail::line_source::result::line && detail::is_blank(line)) {
        head += line;
        head += '\n';
      }
      if (r == detail::line_source::result::line && !complete_json(line)) {
        head += line;
        head += '\n';
        std::uint64_t skipped = 0;
        while ((r = src.next(line)) != detail::line_source::result::eof) {
          if (r == detail::line_source::result::too_long) ++skipped;
          head += line;
          head += '\n';
        }
        if (skipped)
          add_diag(file, 0,
                   std::to_string(skipped) + " line(s) longer than " +
                       std::to_string(opt_.max_line_bytes) + " bytes; skipped");
        read_text(head, file, index, on_span);
        return;
      }
      lineno = std::count(head.begin(), head.end(), '\n');
      if (r == detail::line_source::result::eof) return;
    }
    for (bool first = !seekable;; first = false) {
      if (!first) r = src.next(line);
      if (r == detail::line_source::result::eof) break;
      ++lineno;
      if (r == detail::line_source::result::too_long) {
        ++counts_.lines;
        ++counts_.lines_bad;
        add_diag(file, lineno,
                 "line longer than " + std::to_string(opt_.max_line_bytes) + " bytes; skipped");
        continue;
      }
      if (opt_.want_line && !opt_.want_line(index, lineno)) continue;
      if (!detail::is_blank(line)) parse_line(line, file, index, lineno, on_span);
      if (opt_.on_progress) opt_.on_progress(index, src.consumed());
    }
  }

  bool parse_file_document(std::FILE* f, const std::string& file, std::uint32_t index,
                           const span_callback& on_span) {
    return parse_whole(
        file, index, on_span,
        [&](detail::otlp_sax& h) {
          return nlohmann::json::sax_parse(f, &h, nlohmann::json::input_format_t::json, true);
        },
        [&](std::size_t byte) {
          std::rewind(f);
          std::uint64_t l = 1;
          for (std::size_t i = 0; i < byte; ++i) {
            const int c = std::fgetc(f);
            if (c == EOF) break;
            l += c == '\n';
          }
          return l;
        },
        [&] { return file_has_request_line(f); });
  }

  reader_options opt_;
  read_counts counts_;
  std::vector<diagnostic> diags_;
  std::vector<std::string> files_;
  detail::otlp_sax sax_;
  std::vector<read_span> line_spans_;
  detail::parent_cycles cycles_;
};

/// Reads every span of `paths` into whole traces (for small inputs, tests and tools that want
/// everything; large inputs should stream with reader + a selection first).
inline std::vector<trace> read_traces(const std::vector<std::string>& paths, reader& r) {
  trace_builder b;
  r.read_files(paths, [&](read_span&& s) { b.add(std::move(s)); });
  return b.finish();
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/stats.hpp
// SPDX-License-Identifier: MIT
// Statistics per span name (count, error rate, p50/p95/p99/max duration) and token totals per
// model, accumulated in one streaming pass. Memory grows with the spans read, without
// reallocation peaks: 8 bytes per span for exact percentiles (in 512-byte blocks), 11-22 bytes
// per span for the set that counts duplicates once, and 11-22 bytes per trace for the trace count.

#include <algorithm>
#include <cmath>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// amalgamated: include/agentrace/eval/cost.hpp
// SPDX-License-Identifier: MIT
// What LLM calls cost: a price table per model (agentrace's own JSON, or LiteLLM's
// model_prices_and_context_window.json as is) and the token usage a span reports, priced per
// usage kind (uncached input, cache reads, cache writes, output, reasoning). Models without a
// price are reported as unpriced, never guessed from a similar name.

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

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// Token totals of the spans that name a model (gen_ai.request.model, else response.model).
struct model_usage {
  std::string model;
  std::uint64_t spans = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  token_usage usage{};  // every kind (input_tokens/output_tokens repeat usage.input/output)
  bool priced = false;  // the price table has this model (span_stats::set_prices)
  double cost_usd = 0;
};

/// Cost of one trace.
struct trace_cost {
  trace_id id{};
  double cost_usd = 0;
};

namespace detail {
/// A set of 64-bit keys (open addressing, 8 bytes a slot, at most 3/4 full), in 64 shards that
/// grow one at a time: 11-22 bytes per key, and growing never holds more than 1/64 of the set
/// twice. Keys should be well mixed (the shard is chosen by the top bits). 0 is a valid key.
class u64_set {
 public:
  /// True if `k` was not in the set (and is now).
  bool insert(std::uint64_t k) {
    if (k == 0) {
      const bool fresh = !has_zero_;
      has_zero_ = true;
      size_ += fresh;
      return fresh;
    }
    shard& sh = shards_[k >> 58];
    if ((sh.size + 1) * 4 > sh.slots.size() * 3) grow(sh);
    if (place(sh.slots, k)) {
      ++sh.size;
      ++size_;
      return true;
    }
    return false;
  }
  std::uint64_t size() const noexcept { return size_; }

 private:
  struct shard {
    std::vector<std::uint64_t> slots;
    std::size_t size = 0;
  };
  static bool place(std::vector<std::uint64_t>& t, std::uint64_t k) {
    const std::size_t mask = t.size() - 1;
    std::size_t i = static_cast<std::size_t>((k * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    while (t[i] != 0) {
      if (t[i] == k) return false;
      i = (i + 1) & mask;
    }
    t[i] = k;
    return true;
  }
  static void grow(shard& sh) {
    std::vector<std::uint64_t> bigger(sh.slots.empty() ? 64 : sh.slots.size() * 2, 0);
    for (std::uint64_t k : sh.slots)
      if (k) place(bigger, k);
    sh.slots.swap(bigger);
  }
  std::array<shard, 64> shards_{};
  std::uint64_t size_ = 0;
  bool has_zero_ = false;
};

}  // namespace detail

/// The nearest-rank percentile of sorted values: the smallest value such that at least p% of
/// the values are <= it (rank ceil(p/100 * n), 1-based). p in (0, 100].
/// The 0-based index of that value among n > 0 sorted values.
inline std::size_t nearest_rank_index(std::size_t n, double p) {
  const double r = std::ceil(p / 100.0 * static_cast<double>(n));
  std::size_t rank = r < 1 ? 1 : static_cast<std::size_t>(r);
  if (rank > n) rank = n;
  return rank - 1;
}
template <class Sorted>
std::uint64_t nearest_rank_of(const Sorted& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[nearest_rank_index(sorted.size(), p)];
}
inline std::uint64_t nearest_rank(const std::vector<std::uint64_t>& sorted, double p) {
  return nearest_rank_of(sorted, p);
}

/// Attribute keys statistics need (so a scan can skip all the others).
inline const std::vector<std::string>& stats_attribute_keys() { return usage_attribute_keys(); }

/// Accumulates spans; call finish() before reading percentiles.
class span_stats {
 public:
  /// Adds a span; a span id seen before in the same trace is counted as a duplicate only.
  void add(const span_data& s) {
    if (!seen_.insert(detail::span_key(s.trace_id, s.span_id))) {
      ++duplicates_;
      return;
    }
    ++spans_;
    traces_.insert(detail::trace_key(s.trace_id));
    auto [it, inserted] = index_.try_emplace(s.name, names_.size());
    if (inserted) names_.push_back(entry{s.name, {}, 0, 0, {}, 0});
    entry& e = names_[it->second];
    const std::uint64_t d = s.duration_ns();
    e.durations.push_back(d);
    if (e.durations.size() == 1 || d > e.slowest) {
      e.slowest = d;
      e.slowest_trace = s.trace_id;
    }
    if (s.status == status_code::error) {
      ++e.errors;
      ++errors_;
    }
    first_ = std::min(first_, s.start_unix_ns);
    last_ = std::max(last_, s.end_unix_ns);
    const std::string_view model = model_of(s);
    const token_usage u = usage_of(s);
    if (!model.empty() || u.any) {
      const std::string key = model.empty() ? std::string("(no model)") : std::string(model);
      auto [mit, mnew] = model_index_.try_emplace(key, models_.size());
      if (mnew) {
        models_.push_back(model_usage{key, 0, 0, 0, {}, false, 0});
        if (prices_) models_.back().priced = prices_->find(key) != nullptr;
      }
      model_usage& m = models_[mit->second];
      ++m.spans;
      m.usage += u;
      m.input_tokens = m.usage.input;
      m.output_tokens = m.usage.output;
      if (prices_ && u.any)
        if (const model_price* p = prices_->find(key)) {
          const double c = cost_of(u, *p);
          m.cost_usd += c;
          e.cost += c;
          trace_costs_[s.trace_id] += c;
          cost_ += c;
        }
    }
    finished_ = false;
  }

  /// Sorts the durations (idempotent).
  void finish() {
    if (finished_) return;
    for (auto& e : names_) std::sort(e.durations.begin(), e.durations.end());
    finished_ = true;
  }

  /// The table, most frequent names first (ties by name).
  std::vector<name_stats> by_name() {
    finish();
    std::vector<name_stats> out;
    out.reserve(names_.size());
    for (const auto& e : names_) {
      name_stats r;
      r.name = e.name;
      r.count = e.durations.size();
      r.errors = e.errors;
      r.error_rate = r.count ? static_cast<double>(r.errors) / static_cast<double>(r.count) : 0;
      r.p50 = nearest_rank_of(e.durations, 50);
      r.p95 = nearest_rank_of(e.durations, 95);
      r.p99 = nearest_rank_of(e.durations, 99);
      r.max = e.durations.empty() ? 0 : e.durations.back();
      for (auto d : e.durations) r.total += d;
      r.cost_usd = e.cost;
      r.slowest_trace = e.slowest_trace;
      out.push_back(std::move(r));
    }
    std::sort(out.begin(), out.end(), [](const name_stats& a, const name_stats& b) {
      return a.count != b.count ? a.count > b.count : a.name < b.name;
    });
    return out;
  }

  /// Token totals per model, most input tokens first.
  std::vector<model_usage> by_model() const {
    std::vector<model_usage> out = models_;
    std::sort(out.begin(), out.end(), [](const model_usage& a, const model_usage& b) {
      return a.input_tokens != b.input_tokens ? a.input_tokens > b.input_tokens : a.model < b.model;
    });
    return out;
  }

  /// Prices LLM usage from now on (`t` must outlive the statistics; nullptr: no prices).
  void set_prices(const price_table* t) noexcept { prices_ = t; }
  bool has_prices() const noexcept { return prices_ != nullptr; }
  /// Total priced cost in US dollars.
  double cost_usd() const noexcept { return cost_; }
  /// Models with usage but no price (empty without a price table).
  std::vector<std::string> unpriced_models() const {
    std::vector<std::string> out;
    if (!prices_) return out;
    for (const auto& m : models_)
      if (!m.priced) out.push_back(m.model);
    std::sort(out.begin(), out.end());
    return out;
  }
  /// Cost per trace (traces with priced usage only), most expensive first; at most `limit`
  /// (0: all).
  std::vector<trace_cost> by_trace_cost(std::size_t limit = 0) const {
    std::vector<trace_cost> out;
    out.reserve(trace_costs_.size());
    for (const auto& [id, c] : trace_costs_) out.push_back({id, c});
    std::sort(out.begin(), out.end(), [](const trace_cost& a, const trace_cost& b) {
      if (a.cost_usd != b.cost_usd) return a.cost_usd > b.cost_usd;
      return a.id.hi != b.id.hi ? a.id.hi < b.id.hi : a.id.lo < b.id.lo;
    });
    if (limit && out.size() > limit) out.resize(limit);
    return out;
  }
  /// Sorted durations of the spans named `name` (empty if none). Requires finish().
  const std::deque<std::uint64_t>& durations(std::string_view name) const {
    static const std::deque<std::uint64_t> none;
    auto it = index_.find(std::string(name));
    return it == index_.end() ? none : names_[it->second].durations;
  }

  /// The p-th percentile (nearest rank) of durations of spans named `name`; nullopt if none.
  /// Requires finish() (const: does not sort).
  std::optional<std::uint64_t> percentile(std::string_view name, double p) const {
    auto it = index_.find(std::string(name));
    if (it == index_.end() || !finished_) return std::nullopt;
    return nearest_rank_of(names_[it->second].durations, p);
  }

  std::uint64_t spans() const noexcept { return spans_; }
  std::uint64_t traces() const noexcept { return traces_.size(); }
  std::uint64_t errors() const noexcept { return errors_; }
  /// Spans skipped because their (trace id, span id) was already counted.
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  std::uint64_t first_start_unix_ns() const noexcept { return spans_ ? first_ : 0; }
  std::uint64_t last_end_unix_ns() const noexcept { return last_; }
  bool finished() const noexcept { return finished_; }

  /// Statistics of every span of `traces`.
  template <class Range>
  static span_stats of(const Range& traces) {
    span_stats st;
    for (const auto& t : traces)
      for (const auto& s : deref(t).spans()) st.add(s);
    st.finish();
    return st;
  }

 private:
  template <class T>
  static const trace& deref(const T& t) {
    if constexpr (std::is_same_v<std::decay_t<T>, trace>)
      return t;
    else
      return *t;
  }
  struct entry {
    std::string name;
    std::deque<std::uint64_t> durations;  // blocks: no reallocation peak as it grows
    std::uint64_t errors;
    std::uint64_t slowest = 0;
    trace_id slowest_trace{};
    double cost = 0;
  };
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<entry> names_;
  std::unordered_map<std::string, std::size_t> model_index_;
  std::vector<model_usage> models_;
  detail::u64_set traces_;  // trace_key digests
  const price_table* prices_ = nullptr;
  std::unordered_map<trace_id, double, trace_id_hash> trace_costs_;
  double cost_ = 0;
  detail::u64_set seen_;
  std::uint64_t spans_ = 0, errors_ = 0, duplicates_ = 0;
  std::uint64_t first_ = UINT64_MAX, last_ = 0;
  bool finished_ = true;
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/query.hpp
// SPDX-License-Identifier: MIT
// Queries that select whole traces, one syntax for the CLI and a C++ builder:
//   errors                          a span has status ERROR
//   db.query > p95                  a span named db.query is slower than the p95 of its name
//   duration > p99                  any span slower than the p99 of its own name
//   "chat gpt-4o" > 2s              a span with that name took longer than 2 s
//   duration > 200ms                any span longer than 200 ms
//   gen_ai.usage.input_tokens > 4000    span attribute predicate (=, !=, <, <=, >, >=, ~ contains)
//   db.query.text exists            the attribute is present
//   resource.service.name = sql-agent   resource attribute predicate
//   name = "SELECT orders"  status = error  kind = client
//   conversation = conv-42         gen_ai.conversation.id (else session.id) of a span
//   start >= 2026-01-01T00:00:00Z  end < 1767225600000000000   time window (RFC 3339 or Unix ns)
//   a and b, a or b, not a, (a)     combinations (also &&, ||, !)
// Every predicate asks "does some span of the trace satisfy it"; and/or/not combine those
// answers per trace.

// amalgamated: include/agentrace/eval/detail/query_parser.hpp
// SPDX-License-Identifier: MIT
// The recursive-descent parser of the query syntax (see agentrace/eval/query.hpp).

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

// amalgamated: include/agentrace/eval/query_types.hpp
// SPDX-License-Identifier: MIT
// The query types: a predicate (atom), a query combining predicates with and / or / not, its
// canonical text, and the C++ builder (namespace q). The syntax and its parser:
// agentrace/eval/query.hpp, which also defines query::parse.

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// A query that does not parse: the column (1-based) of the offending token, and what() shows
/// the query with a caret under it.
class query_error : public std::invalid_argument {
 public:
  query_error(std::string text, std::size_t column, std::string message)
      : std::invalid_argument(render(text, column, message)),
        text_(std::move(text)),
        column_(column),
        message_(std::move(message)) {}
  std::size_t column() const noexcept { return column_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& text() const noexcept { return text_; }

 private:
  static std::string render(const std::string& text, std::size_t column, const std::string& msg) {
    std::string caret(column > 0 ? column - 1 : 0, ' ');
    return fmt::format("bad query at column {}: {}\n  {}\n  {}^", column, msg, text, caret);
  }
  std::string text_;
  std::size_t column_;
  std::string message_;
};

enum class compare_op : std::uint8_t { eq, ne, lt, le, gt, ge, exists, contains };

/// The right-hand side of a predicate.
struct literal {
  enum class kind : std::uint8_t { none, number, string, boolean, duration, percentile, time };
  kind k = kind::none;
  double number = 0;
  bool is_integer = false;
  std::int64_t integer = 0;
  std::string text;  // string value, or the literal as written (for messages)
  bool boolean = false;
  std::uint64_t ns = 0;  // duration / time (Unix ns)
  double percentile = 0;
};

/// One predicate over a span.
struct atom {
  enum class kind : std::uint8_t {
    errors,             // status ERROR
    status,             // status op unset|ok|error
    span_kind,          // kind op internal|server|client|producer|consumer
    name,               // span name op string
    duration,           // any span's duration op duration / percentile of its own name
    start,              // span start op time
    end,                // span end op time
    named_duration,     // span named `subject`: duration op duration / percentile
    attribute,          // span attribute `subject` op value (or exists)
    conversation,       // the span's gen_ai.conversation.id (else session.id) op string
    resource_attribute  // resource attribute `subject` op value (or exists)
  };
  kind k = kind::errors;
  std::string subject;
  compare_op op = compare_op::exists;
  literal value;
};

namespace detail {

inline std::string format_ns_literal(std::uint64_t ns) {
  if (ns != 0 && ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns != 0 && ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns != 0 && ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  return fmt::format("{}ns", ns);
}

inline bool is_word_char(char c) {
  switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
    case '(':
    case ')':
    case '!':
    case '=':
    case '<':
    case '>':
    case '~':
    case '"':
    case '\'':
    case '&':
    case '|': return false;
    default: return true;
  }
}

inline std::string quote_if_needed(std::string_view s) {
  bool plain = !s.empty();
  for (char c : s) plain = plain && is_word_char(c);
  static const char* const reserved[] = {"and", "or", "not", "exists", "errors", "error"};
  for (const char* r : reserved) plain = plain && s != r;
  if (plain) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

inline const char* op_text(compare_op o) {
  switch (o) {
    case compare_op::eq: return "=";
    case compare_op::ne: return "!=";
    case compare_op::lt: return "<";
    case compare_op::le: return "<=";
    case compare_op::gt: return ">";
    case compare_op::ge: return ">=";
    case compare_op::exists: return "exists";
    case compare_op::contains: return "~";
  }
  return "?";
}

inline std::string literal_text(const literal& v) {
  switch (v.k) {
    case literal::kind::none: return "";
    case literal::kind::number:
      return v.is_integer ? fmt::format("{}", v.integer) : fmt::format("{}", v.number);
    case literal::kind::string: return quote_if_needed(v.text);
    case literal::kind::boolean: return v.boolean ? "true" : "false";
    case literal::kind::duration: return format_ns_literal(v.ns);
    case literal::kind::percentile: return fmt::format("p{}", v.percentile);
    case literal::kind::time: return v.text.empty() ? fmt::format("{}", v.ns) : v.text;
  }
  return "";
}

// Days from 1970-01-01 for a civil date (Howard Hinnant's algorithm).
inline std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// RFC 3339 (2026-01-01T00:00:00Z, fractional seconds, +hh:mm offsets) -> Unix ns.
inline std::optional<std::uint64_t> parse_rfc3339(std::string_view s) {
  auto num = [&](std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int y, mo, d, h, mi, se;
  if (!num(0, 4, y) || s.size() < 19 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' ||
      !num(8, 2, d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !num(11, 2, h) ||
      s[13] != ':' || !num(14, 2, mi) || s[16] != ':' || !num(17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t p = 19;
  std::uint64_t frac = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    std::uint64_t scale = 100'000'000;
    const std::size_t p0 = p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      frac += static_cast<std::uint64_t>(s[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
    if (p == p0) return std::nullopt;
  }
  std::int64_t offset_s = 0;
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int oh, om;
    if (!num(p + 1, 2, oh) || p + 3 >= s.size() || s[p + 3] != ':' || !num(p + 4, 2, om))
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[p] == '+' ? 1 : -1);
    p += 6;
  } else {
    return std::nullopt;
  }
  if (p != s.size()) return std::nullopt;
  const std::int64_t secs =
      days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
      mi * 60 + se - offset_s;
  if (secs < 0) return std::nullopt;
  return static_cast<std::uint64_t>(secs) * 1'000'000'000ull + frac;
}

/// "200ms", "1.5s", "250us", "10ns", "2m", "1h" -> ns.
inline std::optional<std::uint64_t> parse_duration(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == 0 || i == s.size()) return std::nullopt;
  const std::string_view unit = s.substr(i);
  double scale;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us" || unit == "\xC2\xB5s")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m" || unit == "min")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    return std::nullopt;
  const std::string numtext(s.substr(0, i));
  char* end = nullptr;
  const double v = std::strtod(numtext.c_str(), &end);
  if (end != numtext.c_str() + numtext.size()) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(v * scale));
}

}  // namespace detail

namespace detail {
class query_parser;
}  // namespace detail

/// A parsed or built query. Cheap to copy; immutable.
class query {
 public:
  enum class node_type : std::uint8_t { atom, all, any, negate };
  struct node {
    node_type type = node_type::atom;
    std::uint32_t atom = 0;  // index into atoms() for node_type::atom
    std::vector<node> kids;
  };

  /// Parses the query syntax (see agentrace/eval/query.hpp). Throws query_error.
  static query parse(std::string_view text);

  /// One predicate.
  explicit query(atom a) { atoms_.push_back(std::move(a)); }

  const std::vector<atom>& atoms() const noexcept { return atoms_; }
  const node& root() const noexcept { return root_; }
  /// True when a predicate compares with a percentile (statistics must be computed first).
  bool needs_stats() const noexcept {
    for (const auto& a : atoms_)
      if (a.value.k == literal::kind::percentile) return true;
    return false;
  }
  /// The canonical text of the query (parses back to the same query).
  std::string to_string() const { return node_text(root_, 0); }
  /// The canonical text of a sub-expression (parenthesised when compound).
  std::string node_to_string(const node& n) const { return node_text(n, 3); }
  /// The canonical text of one predicate.
  static std::string atom_text(const atom& a) {
    using K = atom::kind;
    switch (a.k) {
      case K::errors: return "errors";
      case K::status:
        return fmt::format("status {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::span_kind:
        return fmt::format("kind {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::name:
        return fmt::format("name {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::duration:
        return fmt::format("duration {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::start:
        return fmt::format("start {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::end:
        return fmt::format("end {} {}", detail::op_text(a.op), detail::literal_text(a.value));
      case K::named_duration:
        return fmt::format("{} {} {}", detail::quote_if_needed(a.subject), detail::op_text(a.op),
                           detail::literal_text(a.value));
      case K::conversation:
        return fmt::format("conversation {} {}", detail::op_text(a.op),
                           detail::literal_text(a.value));
      case K::attribute:
      case K::resource_attribute: {
        const std::string subj = (a.k == K::resource_attribute ? "resource." : "") + a.subject;
        if (a.op == compare_op::exists) return detail::quote_if_needed(subj) + " exists";
        return fmt::format("{} {} {}", detail::quote_if_needed(subj), detail::op_text(a.op),
                           detail::literal_text(a.value));
      }
    }
    return "?";
  }

  friend query operator&&(query a, query b) {
    return combine(std::move(a), std::move(b), node_type::all);
  }
  friend query operator||(query a, query b) {
    return combine(std::move(a), std::move(b), node_type::any);
  }
  friend query operator!(query a) {
    node n;
    n.type = node_type::negate;
    n.kids.push_back(std::move(a.root_));
    a.root_ = std::move(n);
    return a;
  }

 private:
  query() = default;
  friend class detail::query_parser;

  static void shift(node& n, std::uint32_t by) {
    if (n.type == node_type::atom) n.atom += by;
    for (auto& k : n.kids) shift(k, by);
  }
  static query combine(query a, query b, node_type t) {
    shift(b.root_, static_cast<std::uint32_t>(a.atoms_.size()));
    for (auto& x : b.atoms_) a.atoms_.push_back(std::move(x));
    node n;
    n.type = t;
    // Flatten a and (b and c) into one list.
    auto add = [&](node&& k) {
      if (k.type == t)
        for (auto& kk : k.kids) n.kids.push_back(std::move(kk));
      else
        n.kids.push_back(std::move(k));
    };
    add(std::move(a.root_));
    add(std::move(b.root_));
    a.root_ = std::move(n);
    return a;
  }
  // prec: 0 top, 1 inside or, 2 inside and, 3 inside not
  std::string node_text(const node& n, int prec) const {
    switch (n.type) {
      case node_type::atom: return atom_text(atoms_[n.atom]);
      case node_type::negate: return "not " + node_text(n.kids[0], 3);
      case node_type::all:
      case node_type::any: {
        const bool all = n.type == node_type::all;
        std::string s;
        for (std::size_t i = 0; i < n.kids.size(); ++i) {
          if (i) s += all ? " and " : " or ";
          s += node_text(n.kids[i], all ? 2 : 1);
        }
        const int mine = all ? 2 : 1;
        return prec > mine ? "(" + s + ")" : s;
      }
    }
    return "";
  }

  std::vector<atom> atoms_;
  node root_;
};

/// The builder: `q::errors() || (q::span("db.query") > q::p(95))`, `q::attr("k") > 4000`.
namespace q {

struct percentile {
  double value;
};
/// The p-th percentile of the span's own name, for duration comparisons.
inline percentile p(double v) { return {v}; }

inline query errors() { return query(atom{}); }

/// A subject that comparison operators turn into a predicate.
class field {
 public:
  field(atom::kind k, std::string subject) : k_(k), subject_(std::move(subject)) {}

  template <class V>
  query operator==(const V& v) const {
    return make(compare_op::eq, v);
  }
  template <class V>
  query operator!=(const V& v) const {
    return make(compare_op::ne, v);
  }
  template <class V>
  query operator<(const V& v) const {
    return make(compare_op::lt, v);
  }
  template <class V>
  query operator<=(const V& v) const {
    return make(compare_op::le, v);
  }
  template <class V>
  query operator>(const V& v) const {
    return make(compare_op::gt, v);
  }
  template <class V>
  query operator>=(const V& v) const {
    return make(compare_op::ge, v);
  }
  /// The attribute is present.
  query exists() const {
    atom a;
    a.k = k_;
    a.subject = subject_;
    a.op = compare_op::exists;
    return query(std::move(a));
  }
  /// The string value contains `s`.
  query contains(const std::string& s) const { return make(compare_op::contains, s); }

 private:
  template <class V>
  query make(compare_op o, const V& v) const {
    atom a;
    a.k = k_;
    a.subject = subject_;
    a.op = o;
    a.value = to_literal(v);
    if (k_ == atom::kind::name || k_ == atom::kind::status || k_ == atom::kind::span_kind ||
        k_ == atom::kind::conversation)
      a.value.k = literal::kind::string;
    return query(std::move(a));
  }
  static literal to_literal(const percentile& p) {
    literal l;
    l.k = literal::kind::percentile;
    l.percentile = p.value;
    return l;
  }
  template <class Rep, class Period>
  static literal to_literal(const std::chrono::duration<Rep, Period>& d) {
    literal l;
    l.k = literal::kind::duration;
    l.ns =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
    return l;
  }
  template <class Clock, class Dur>
  static literal to_literal(const std::chrono::time_point<Clock, Dur>& t) {
    literal l;
    l.k = literal::kind::time;
    l.ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
    return l;
  }
  static literal to_literal(bool b) {
    literal l;
    l.k = literal::kind::boolean;
    l.boolean = b;
    return l;
  }
  template <class T>
    requires std::is_arithmetic_v<T>
  static literal to_literal(T v) {
    literal l;
    l.k = literal::kind::number;
    l.number = static_cast<double>(v);
    if constexpr (std::is_integral_v<T>) {
      l.is_integer = true;
      l.integer = static_cast<std::int64_t>(v);
    }
    return l;
  }
  static literal to_literal(std::string_view s) {
    literal l;
    l.k = literal::kind::string;
    l.text = std::string(s);
    return l;
  }
  static literal to_literal(const std::string& s) { return to_literal(std::string_view(s)); }
  static literal to_literal(const char* s) { return to_literal(std::string_view(s)); }

  atom::kind k_;
  std::string subject_;
};

/// A span attribute.
inline field attr(std::string key) { return field(atom::kind::attribute, std::move(key)); }
/// A resource attribute.
inline field resource(std::string key) {
  return field(atom::kind::resource_attribute, std::move(key));
}
/// The duration of spans named `name` (compare with a std::chrono duration or q::p(95)).
inline field span(std::string name) { return field(atom::kind::named_duration, std::move(name)); }
/// Any span's duration (a percentile compares each span with its own name's).
inline field duration() { return field(atom::kind::duration, {}); }
inline field start() { return field(atom::kind::start, {}); }
inline field end() { return field(atom::kind::end, {}); }
inline field name() { return field(atom::kind::name, {}); }
inline field status() { return field(atom::kind::status, {}); }
inline field kind() { return field(atom::kind::span_kind, {}); }
/// The conversation a span belongs to (gen_ai.conversation.id, else session.id).
inline field conversation() { return field(atom::kind::conversation, {}); }

}  // namespace q

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval::detail {

/// The recursive-descent parser behind query::parse.
class query_parser {
 public:
  explicit query_parser(std::string_view text) : text_(text) { lex(); }

  query parse() {
    if (toks_.size() == 1) fail(toks_[0], "empty query: expected a predicate such as 'errors'");
    query q;
    q.root_ = parse_or(q);
    if (cur().t != tok::end)
      fail(cur(), "expected 'and', 'or' or the end of the query, got '" + cur().text + "'");
    return q;
  }

 private:
  enum class tok : std::uint8_t { word, string, lparen, rparen, op, and_, or_, not_, end };
  struct token {
    tok t;
    std::string text;
    std::size_t col;  // 1-based
  };

  [[noreturn]] void fail(const token& t, const std::string& msg) const {
    throw query_error(std::string(text_), t.col, msg);
  }

  void lex() {
    std::size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      const std::size_t col = i + 1;
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (c == '(') {
        toks_.push_back({tok::lparen, "(", col});
        ++i;
      } else if (c == ')') {
        toks_.push_back({tok::rparen, ")", col});
        ++i;
      } else if (c == '"' || c == '\'') {
        std::string s;
        std::size_t j = i + 1;
        bool closed = false;
        while (j < text_.size()) {
          if (text_[j] == '\\' && j + 1 < text_.size()) {
            s += text_[j + 1];
            j += 2;
          } else if (text_[j] == c) {
            closed = true;
            ++j;
            break;
          } else {
            s += text_[j++];
          }
        }
        if (!closed) throw query_error(std::string(text_), col, "unterminated string");
        toks_.push_back({tok::string, s, col});
        i = j;
      } else if (c == '&' || c == '|') {
        if (i + 1 < text_.size() && text_[i + 1] == c) {
          toks_.push_back({c == '&' ? tok::and_ : tok::or_, std::string(2, c), col});
          i += 2;
        } else {
          throw query_error(std::string(text_), col,
                            std::string("unexpected '") + c + "' (use and / or)");
        }
      } else if (c == '=' || c == '!' || c == '<' || c == '>' || c == '~') {
        std::string o(1, c);
        if (i + 1 < text_.size() && text_[i + 1] == '=' && c != '~') o += '=';
        i += o.size();
        if (o == "!")
          toks_.push_back({tok::not_, o, col});
        else
          toks_.push_back({tok::op, o, col});
      } else {
        std::size_t j = i;
        while (j < text_.size() && detail::is_word_char(text_[j])) ++j;
        std::string w(text_.substr(i, j - i));
        const std::string lower = agentrace::detail::to_lower(w);
        if (lower == "and")
          toks_.push_back({tok::and_, w, col});
        else if (lower == "or")
          toks_.push_back({tok::or_, w, col});
        else if (lower == "not")
          toks_.push_back({tok::not_, w, col});
        else
          toks_.push_back({tok::word, w, col});
        i = j;
      }
    }
    toks_.push_back({tok::end, "", text_.size() + 1});
  }

  const token& cur() const { return toks_[pos_]; }
  const token& take() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  query::node parse_or(query& q) {
    query::node first = parse_and(q);
    if (cur().t != tok::or_) return first;
    query::node n;
    n.type = query::node_type::any;
    n.kids.push_back(std::move(first));
    while (cur().t == tok::or_) {
      take();
      n.kids.push_back(parse_and(q));
    }
    return n;
  }
  query::node parse_and(query& q) {
    query::node first = parse_unary(q);
    if (cur().t != tok::and_) return first;
    query::node n;
    n.type = query::node_type::all;
    n.kids.push_back(std::move(first));
    while (cur().t == tok::and_) {
      take();
      n.kids.push_back(parse_unary(q));
    }
    return n;
  }
  query::node parse_unary(query& q) {
    const token& t = cur();
    if (t.t == tok::not_) {
      take();
      query::node n;
      n.type = query::node_type::negate;
      n.kids.push_back(parse_unary(q));
      return n;
    }
    if (t.t == tok::lparen) {
      take();
      query::node inner = parse_or(q);
      if (cur().t != tok::rparen)
        fail(cur(), "expected ')' to close the '(' at column " + std::to_string(t.col));
      take();
      return inner;
    }
    if (t.t == tok::word || t.t == tok::string) return parse_atom(q);
    if (t.t == tok::end) fail(t, "unexpected end of query: expected a predicate");
    fail(t, "expected a predicate, got '" + t.text + "'");
  }

  literal parse_value(const token& t) {
    literal v;
    v.text = t.text;
    if (t.t == tok::string) {
      v.k = literal::kind::string;
      return v;
    }
    const std::string& w = t.text;
    if (w.size() > 1 && (w[0] == 'p' || w[0] == 'P') &&
        std::isdigit(static_cast<unsigned char>(w[1]))) {
      char* end = nullptr;
      const double p = std::strtod(w.c_str() + 1, &end);
      if (end == w.c_str() + w.size()) {
        if (!(p > 0 && p <= 100)) fail(t, "percentile must be in (0, 100], got '" + w + "'");
        v.k = literal::kind::percentile;
        v.percentile = p;
        return v;
      }
    }
    if (agentrace::detail::iequals(w, "true") || agentrace::detail::iequals(w, "false")) {
      v.k = literal::kind::boolean;
      v.boolean = agentrace::detail::iequals(w, "true");
      return v;
    }
    if (auto ts = detail::parse_rfc3339(w)) {
      v.k = literal::kind::time;
      v.ns = *ts;
      return v;
    }
    const bool numeric_start = std::isdigit(static_cast<unsigned char>(w[0])) ||
                               ((w[0] == '-' || w[0] == '.') && w.size() > 1);
    if (numeric_start) {
      char* end = nullptr;
      const double d = std::strtod(w.c_str(), &end);
      if (end == w.c_str() + w.size()) {
        v.k = literal::kind::number;
        v.number = d;
        std::int64_t i = 0;
        auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), i);
        if (ec == std::errc() && p == w.data() + w.size()) {
          v.is_integer = true;
          v.integer = i;
        }
        return v;
      }
      if (auto ns = detail::parse_duration(w)) {
        v.k = literal::kind::duration;
        v.ns = *ns;
        return v;
      }
      if (std::isdigit(static_cast<unsigned char>(w[0])) && w.find_first_of("0123456789") == 0 &&
          w.find_first_not_of("0123456789.") != std::string::npos &&
          w.find('-') == std::string::npos)
        fail(t, "'" + w + "' is not a number or a duration (units: ns, us, ms, s, m, h)");
    }
    v.k = literal::kind::string;  // a bare word: gen_ai.request.model = gpt-4o
    return v;
  }

  static bool parse_op(const std::string& s, compare_op& o) {
    if (s == "=" || s == "==")
      o = compare_op::eq;
    else if (s == "!=")
      o = compare_op::ne;
    else if (s == "<")
      o = compare_op::lt;
    else if (s == "<=")
      o = compare_op::le;
    else if (s == ">")
      o = compare_op::gt;
    else if (s == ">=")
      o = compare_op::ge;
    else if (s == "~")
      o = compare_op::contains;
    else
      return false;
    return true;
  }

  query::node parse_atom(query& q) {
    const token subj = take();
    atom a;
    using K = atom::kind;
    const std::string& w = subj.text;
    const bool bare = subj.t == tok::word;
    if (bare &&
        (agentrace::detail::iequals(w, "errors") || agentrace::detail::iequals(w, "error"))) {
      a.k = K::errors;
      return push(q, std::move(a));
    }
    const token& next = cur();
    if (next.t == tok::word && agentrace::detail::iequals(next.text, "exists")) {
      take();
      set_attribute_subject(a, subj);
      a.op = compare_op::exists;
      return push(q, std::move(a));
    }
    if (next.t != tok::op) {
      if (next.t == tok::end)
        fail(next,
             "unexpected end of query: expected an operator (=, !=, <, <=, >, >=, ~) or 'exists' "
             "after '" +
                 w + "'");
      fail(next, "expected an operator (=, !=, <, <=, >, >=, ~) or 'exists' after '" + w +
                     "', got '" + next.text + "'");
    }
    const token op_tok = take();
    if (!parse_op(op_tok.text, a.op)) fail(op_tok, "unknown operator '" + op_tok.text + "'");
    const token val_tok = take();
    if (val_tok.t != tok::word && val_tok.t != tok::string) {
      if (val_tok.t == tok::end)
        fail(val_tok, "unexpected end of query: expected a value after '" + op_tok.text + "'");
      fail(val_tok, "expected a value after '" + op_tok.text + "', got '" + val_tok.text + "'");
    }
    a.value = parse_value(val_tok);
    const auto vk = a.value.k;
    const bool ordered =
        a.op != compare_op::eq && a.op != compare_op::ne && a.op != compare_op::contains;
    auto want_time_or_duration = [&](literal::kind want, const char* what) {
      if (vk == literal::kind::number && a.value.is_integer && a.value.integer >= 0 &&
          want == literal::kind::time) {
        a.value.k = literal::kind::time;
        a.value.ns = static_cast<std::uint64_t>(a.value.integer);
        a.value.text.clear();
        return;
      }
      if (vk != want && !(want == literal::kind::duration && vk == literal::kind::percentile))
        fail(val_tok,
             std::string("'") + w + "' compares with " + what + ", got '" + val_tok.text + "'");
      if (a.op == compare_op::contains) fail(op_tok, "'~' (contains) works on strings only");
    };
    if (bare && agentrace::detail::iequals(w, "duration")) {
      a.k = K::duration;
      want_time_or_duration(literal::kind::duration,
                            "a duration such as 200ms or a percentile such as p95");
    } else if (bare && agentrace::detail::iequals(w, "start")) {
      a.k = K::start;
      want_time_or_duration(literal::kind::time,
                            "a time (RFC 3339 such as 2026-01-01T00:00:00Z, or Unix ns)");
    } else if (bare && agentrace::detail::iequals(w, "end")) {
      a.k = K::end;
      want_time_or_duration(literal::kind::time,
                            "a time (RFC 3339 such as 2026-01-01T00:00:00Z, or Unix ns)");
    } else if (bare && agentrace::detail::iequals(w, "name")) {
      a.k = K::name;
      a.value.k = literal::kind::string;
      if (ordered) fail(op_tok, "'name' supports =, != and ~ only");
    } else if (bare && agentrace::detail::iequals(w, "status")) {
      a.k = K::status;
      a.value.k = literal::kind::string;
      if (a.op != compare_op::eq && a.op != compare_op::ne)
        fail(op_tok, "'status' supports = and != only");
      if (a.value.text != "ok" && a.value.text != "error" && a.value.text != "unset")
        fail(val_tok, "status is one of unset, ok, error; got '" + a.value.text + "'");
    } else if (bare && agentrace::detail::iequals(w, "kind")) {
      a.k = K::span_kind;
      a.value.k = literal::kind::string;
      if (a.op != compare_op::eq && a.op != compare_op::ne)
        fail(op_tok, "'kind' supports = and != only");
      static const char* const kinds[] = {"internal", "server", "client", "producer", "consumer"};
      bool ok = false;
      for (const char* k : kinds) ok = ok || a.value.text == k;
      if (!ok)
        fail(val_tok, "kind is one of internal, server, client, producer, consumer; got '" +
                          a.value.text + "'");
    } else if (bare && agentrace::detail::iequals(w, "conversation")) {
      a.k = K::conversation;
      a.value.k = literal::kind::string;
      if (a.op != compare_op::eq && a.op != compare_op::ne && a.op != compare_op::contains)
        fail(op_tok, "'conversation' supports =, != and ~ only");
    } else if (vk == literal::kind::duration || vk == literal::kind::percentile) {
      a.k = K::named_duration;  // db.query > p95, "chat gpt-4o" > 2s
      a.subject = w;
      if (a.op == compare_op::contains) fail(op_tok, "'~' (contains) works on strings only");
    } else {
      set_attribute_subject(a, subj);
      if (vk == literal::kind::time) {  // a date-like value compared with an attribute: a string
        a.value.k = literal::kind::string;
      }
    }
    return push(q, std::move(a));
  }

  static void set_attribute_subject(atom& a, const token& subj) {
    constexpr std::string_view res = "resource.";
    if (subj.t == tok::word && subj.text.size() > res.size() &&
        subj.text.compare(0, res.size(), res) == 0) {
      a.k = atom::kind::resource_attribute;
      a.subject = subj.text.substr(res.size());
    } else {
      a.k = atom::kind::attribute;
      a.subject = subj.text;
    }
  }

  static query::node push(query& q, atom a) {
    q.atoms_.push_back(std::move(a));
    query::node n;
    n.type = query::node_type::atom;
    n.atom = static_cast<std::uint32_t>(q.atoms_.size() - 1);
    return n;
  }

  std::string_view text_;
  std::vector<token> toks_;
  std::size_t pos_ = 0;
};

}  // namespace agentrace::eval::detail

namespace agentrace::eval {

inline query query::parse(std::string_view text) { return detail::query_parser(text).parse(); }

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/selection.hpp
// SPDX-License-Identifier: MIT
// Query evaluation: whether a span satisfies a predicate, which traces a query selects and why
// (the spans that matched each predicate).

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

// amalgamated: include/agentrace/eval/conversation.hpp
// SPDX-License-Identifier: MIT
// Conversations: traces grouped by gen_ai.conversation.id (else session.id), from a span's
// attributes or its resource. Statistics per conversation, accumulated in one streaming pass
// (a few dozen bytes per trace).

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// The attributes naming a conversation, in order of preference.
inline const std::vector<std::string>& conversation_attribute_keys() {
  static const std::vector<std::string> keys = {"gen_ai.conversation.id", "session.id"};
  return keys;
}

/// The conversation a span belongs to: gen_ai.conversation.id, else session.id, on the span
/// or else on its resource; "" when none. `rank` is set to the key's index (0 is preferred).
inline std::string_view conversation_of(const span_data& s, const resource_info* r,
                                        std::size_t* rank = nullptr) {
  const auto& keys = conversation_attribute_keys();
  for (std::size_t k = 0; k < keys.size(); ++k) {
    const attr_value* v = s.attr(keys[k]);
    if (!v && r) v = r->attr(keys[k]);
    if (v)
      if (const auto* str = std::get_if<std::string>(v); str && !str->empty()) {
        if (rank) *rank = k;
        return *str;
      }
  }
  return {};
}

/// One conversation's totals.
struct conversation_row {
  std::string id;  // "" for the traces that name no conversation
  std::uint64_t traces = 0, spans = 0, errors = 0;
  std::uint64_t first_start_unix_ns = 0, last_end_unix_ns = 0;
  std::int64_t input_tokens = 0, output_tokens = 0;
  double cost_usd = 0;
  bool unpriced = false;  // some usage of a model without a price
};

/// Accumulates spans per trace, then groups the traces by conversation.
class conversation_stats {
 public:
  explicit conversation_stats(const price_table* prices = nullptr) : prices_(prices) {}

  void add(const span_data& s, const resource_info* r) {
    auto [it, fresh] = traces_.try_emplace(s.trace_id);
    per_trace& t = it->second;
    if (fresh) t.start = s.start_unix_ns;
    std::size_t rank = 0;
    const std::string_view c = conversation_of(s, r, &rank);
    if (!c.empty() && (t.conversation.empty() || rank < t.rank)) {
      t.conversation = std::string(c);
      t.rank = rank;
    }
    ++t.spans;
    t.errors += s.status == status_code::error;
    t.start = std::min(t.start, s.start_unix_ns);
    t.end = std::max(t.end, s.end_unix_ns);
    const token_usage u = usage_of(s);
    if (u.any) {
      t.input += u.input;
      t.output += u.output;
      if (prices_) {
        if (const model_price* p = prices_->find(model_of(s)))
          t.cost += cost_of(u, *p);
        else
          t.unpriced = true;
      }
    }
  }
  void add(const read_span& s) { add(s.span, s.resource.get()); }

  /// One row per conversation, most recent first; traces without one are grouped under "".
  std::vector<conversation_row> rows() const {
    std::unordered_map<std::string, std::size_t> at;
    std::vector<conversation_row> out;
    for (const auto& [id, t] : traces_) {
      auto [it, fresh] = at.try_emplace(t.conversation, out.size());
      if (fresh) {
        out.emplace_back();
        out.back().id = t.conversation;
        out.back().first_start_unix_ns = t.start;
      }
      conversation_row& r = out[it->second];
      ++r.traces;
      r.spans += t.spans;
      r.errors += t.errors;
      r.first_start_unix_ns = std::min(r.first_start_unix_ns, t.start);
      r.last_end_unix_ns = std::max(r.last_end_unix_ns, t.end);
      r.input_tokens += t.input;
      r.output_tokens += t.output;
      r.cost_usd += t.cost;
      r.unpriced = r.unpriced || t.unpriced;
    }
    std::sort(out.begin(), out.end(), [](const conversation_row& a, const conversation_row& b) {
      if (a.id.empty() != b.id.empty()) return b.id.empty();
      if (a.last_end_unix_ns != b.last_end_unix_ns) return a.last_end_unix_ns > b.last_end_unix_ns;
      return a.id < b.id;
    });
    return out;
  }

  /// The traces of conversation `id` in start order.
  std::vector<trace_id> traces_of(std::string_view id) const {
    std::vector<std::pair<std::uint64_t, trace_id>> v;
    for (const auto& [tid, t] : traces_)
      if (t.conversation == id) v.emplace_back(t.start, tid);
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return a.first < b.first;
      return a.second.hi != b.second.hi ? a.second.hi < b.second.hi : a.second.lo < b.second.lo;
    });
    std::vector<trace_id> out;
    out.reserve(v.size());
    for (const auto& p : v) out.push_back(p.second);
    return out;
  }

 private:
  struct per_trace {
    std::string conversation;
    std::size_t rank = 0;
    std::uint64_t spans = 0, errors = 0, start = 0, end = 0;
    std::int64_t input = 0, output = 0;
    double cost = 0;
    bool unpriced = false;
  };
  const price_table* prices_;
  std::unordered_map<trace_id, per_trace, trace_id_hash> traces_;
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

namespace detail {

template <class T>
bool compare_values(const T& a, compare_op o, const T& b) {
  switch (o) {
    case compare_op::eq: return a == b;
    case compare_op::ne: return a != b;
    case compare_op::lt: return a < b;
    case compare_op::le: return a <= b;
    case compare_op::gt: return a > b;
    case compare_op::ge: return a >= b;
    default: return false;
  }
}

inline std::optional<double> to_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const std::string t(s);
  char* end = nullptr;
  const double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return std::nullopt;
  return d;
}

// A scalar attribute value against a literal.
template <class T>
bool scalar_matches(const T& x, compare_op o, const literal& v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (v.k == literal::kind::boolean)
      return compare_values(x, o, v.boolean) && (o == compare_op::eq || o == compare_op::ne);
    if (v.k == literal::kind::string)
      return compare_values(std::string_view(x ? "true" : "false"), o, std::string_view(v.text));
    return false;
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    if (v.k == literal::kind::number) {
      if (v.is_integer) return compare_values(x, o, v.integer);
      return compare_values(static_cast<double>(x), o, v.number);
    }
    if (v.k == literal::kind::duration || v.k == literal::kind::time)
      return compare_values(static_cast<double>(x), o, static_cast<double>(v.ns));
    if (v.k == literal::kind::string && (o == compare_op::eq || o == compare_op::ne))
      return compare_values(std::to_string(x), o, v.text);
    return false;
  } else if constexpr (std::is_same_v<T, double>) {
    if (v.k == literal::kind::number) return compare_values(x, o, v.number);
    return false;
  } else {  // string
    if (o == compare_op::contains)
      return v.k == literal::kind::string && x.find(v.text) != std::string::npos;
    if (v.k == literal::kind::number) {
      auto n = to_number(x);
      return n && compare_values(*n, o, v.number);
    }
    if (v.k == literal::kind::boolean)
      return compare_values(std::string_view(x), o, std::string_view(v.boolean ? "true" : "false"));
    return compare_values(std::string_view(x), o, std::string_view(v.text));
  }
}

inline bool value_matches(const attr_value& val, compare_op o, const literal& v) {
  if (o == compare_op::exists) return true;
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return false;
        else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                           std::is_same_v<T, double> || std::is_same_v<T, std::string>)
          return scalar_matches(x, o, v);
        else {
          // Arrays: some element matches (for !=: no element equals).
          if (o == compare_op::ne) {
            for (const auto& e : x)
              if (scalar_matches(static_cast<typename T::value_type>(e), compare_op::eq, v))
                return false;
            return true;
          }
          for (const auto& e : x)
            if (scalar_matches(static_cast<typename T::value_type>(e), o, v)) return true;
          return false;
        }
      },
      val);
}

/// A value in a "why it matched" text: strings unquoted, cut at 80 bytes.
inline std::string short_value(const attr_value& v) {
  return agentrace::detail::value_text(v, quote_strings::no, 80);
}

inline const char* status_text(status_code c) {
  return c == status_code::error ? "error" : c == status_code::ok ? "ok" : "unset";
}
inline const char* kind_text(span_kind k) {
  switch (k) {
    case span_kind::internal: return "internal";
    case span_kind::server: return "server";
    case span_kind::client: return "client";
    case span_kind::producer: return "producer";
    case span_kind::consumer: return "consumer";
  }
  return "internal";
}

}  // namespace detail

/// Where `> pNN` predicates get the percentile of a span name: span statistics (offline, exact)
/// or any object with the same `percentile(name, p)` member (the tail sampler's running
/// quantiles). Holds a pointer: the object must outlive it.
class percentile_source {
 public:
  percentile_source() = default;
  percentile_source(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): "no statistics"
  template <class Source>
    requires requires(const Source& s) {
      { s.percentile(std::string_view{}, 0.0) } -> std::same_as<std::optional<std::uint64_t>>;
    }
  percentile_source(const Source* s)  // NOLINT(google-explicit-constructor): as a span_stats*
      : self_(s), get_(s ? &call<Source> : nullptr) {}

  explicit operator bool() const noexcept { return get_ != nullptr; }
  std::optional<std::uint64_t> percentile(std::string_view name, double p) const {
    return get_ ? get_(self_, name, p) : std::nullopt;
  }

 private:
  template <class Source>
  static std::optional<std::uint64_t> call(const void* self, std::string_view name, double p) {
    return static_cast<const Source*>(self)->percentile(name, p);
  }
  const void* self_ = nullptr;
  std::optional<std::uint64_t> (*get_)(const void*, std::string_view, double) = nullptr;
};

/// Does this span satisfy the predicate? When it does and `why` is given, *why says how
/// ("span \"db.query\" 53995c3f42cd8ad8 took 80.12 ms > p95 45.20 ms").
inline bool atom_matches(const atom& a, const span_data& s, const resource_info* r,
                         percentile_source stats, std::string* why = nullptr) {
  using K = atom::kind;
  // The texts are built by appending (the tail sampler explains every trace it keeps).
  auto span_label = [&]() -> std::string& {  // `span "NAME" SPANID`, into *why
    why->assign("span \"").append(s.name).append("\" ");
    agentrace::detail::append_hex(*why, s.span_id);
    return *why;
  };
  switch (a.k) {
    case K::errors:
      if (s.status != status_code::error) return false;
      if (why) {
        span_label().append(" has status ERROR");
        if (!s.status_message.empty())
          why->append(": ").append(detail::short_value(attr_value{s.status_message}));
      }
      return true;
    case K::status: {
      const bool eq = a.value.text == detail::status_text(s.status);
      const bool m = a.op == compare_op::eq ? eq : !eq;
      if (m && why) span_label().append(" has status ").append(detail::status_text(s.status));
      return m;
    }
    case K::span_kind: {
      const bool eq = a.value.text == detail::kind_text(s.kind);
      const bool m = a.op == compare_op::eq ? eq : !eq;
      if (m && why) span_label().append(" has kind ").append(detail::kind_text(s.kind));
      return m;
    }
    case K::name: {
      const bool m = a.op == compare_op::contains
                         ? s.name.find(a.value.text) != std::string::npos
                         : detail::compare_values(std::string_view(s.name), a.op,
                                                  std::string_view(a.value.text));
      if (m && why) span_label();
      return m;
    }
    case K::named_duration:
      if (s.name != a.subject) return false;
      [[fallthrough]];
    case K::duration: {
      std::uint64_t limit = a.value.ns;
      if (a.value.k == literal::kind::percentile) {
        if (!stats) return false;
        auto p = stats.percentile(s.name, a.value.percentile);
        if (!p) return false;
        limit = *p;
      }
      const bool m = detail::compare_values(s.duration_ns(), a.op, limit);
      if (m && why) {  // the texts only for a match that is explained
        const std::string limit_text = a.value.k == literal::kind::percentile
                                           ? fmt::format("p{} of \"{}\" = {}", a.value.percentile,
                                                         s.name, detail::duration_text(limit))
                                           : detail::format_ns_literal(limit);
        span_label()
            .append(" took ")
            .append(detail::duration_text(s.duration_ns()))
            .append(" (")
            .append(detail::op_text(a.op))
            .append(" ")
            .append(limit_text)
            .append(")");
      }
      return m;
    }
    case K::start:
    case K::end: {
      const std::uint64_t t = a.k == K::start ? s.start_unix_ns : s.end_unix_ns;
      const bool m = detail::compare_values(t, a.op, a.value.ns);
      if (m && why)
        span_label()
            .append(a.k == K::start ? " starts at " : " ends at ")
            .append(std::to_string(t))
            .append(" ns");
      return m;
    }
    case K::conversation: {
      const std::string_view c = conversation_of(s, r);
      if (c.empty()) return false;  // only spans that name a conversation compare
      const bool m = a.op == compare_op::contains
                         ? c.find(a.value.text) != std::string_view::npos
                         : detail::compare_values(c, a.op, std::string_view(a.value.text));
      if (m && why) span_label().append(" is in conversation ").append(c);
      return m;
    }
    case K::attribute:
    case K::resource_attribute: {
      const attr_value* v = nullptr;
      if (a.k == K::attribute)
        v = s.attr(a.subject);
      else if (r)
        v = r->attr(a.subject);
      if (!v || !detail::value_matches(*v, a.op, a.value)) return false;
      if (why)
        span_label()
            .append(a.k == K::resource_attribute ? " has resource " : " has ")
            .append(a.subject)
            .append("=")
            .append(detail::short_value(*v));
      return true;
    }
  }
  return false;
}

namespace detail {
inline bool eval_node(const query::node& n, std::uint64_t mask) {
  switch (n.type) {
    case query::node_type::atom: return (mask >> n.atom) & 1u;
    case query::node_type::negate: return !eval_node(n.kids[0], mask);
    case query::node_type::all:
      for (const auto& k : n.kids)
        if (!eval_node(k, mask)) return false;
      return true;
    case query::node_type::any:
      for (const auto& k : n.kids)
        if (eval_node(k, mask)) return true;
      return false;
  }
  return false;
}
// The text of each predicate of `q` (query::atom_text), by index.
inline std::vector<std::string> atom_texts(const query& q) {
  std::vector<std::string> out;
  out.reserve(q.atoms().size());
  for (const auto& a : q.atoms()) out.push_back(query::atom_text(a));
  return out;
}
// Why a true node is true: for each predicate that makes it true, "its text: its reason".
inline void explain(const query& q, const query::node& n, std::uint64_t mask,
                    const std::vector<std::string>& texts,
                    const std::vector<std::string>& atom_reasons, std::vector<std::string>& out) {
  switch (n.type) {
    case query::node_type::atom: {
      std::string line;
      line.reserve(texts[n.atom].size() + 2 + atom_reasons[n.atom].size());
      line.append(texts[n.atom]).append(": ").append(atom_reasons[n.atom]);
      out.push_back(std::move(line));
      return;
    }
    case query::node_type::negate:
      out.push_back("not " + q.node_to_string(n.kids[0]) + ": the trace does not match it");
      return;
    case query::node_type::all:
      for (const auto& k : n.kids) explain(q, k, mask, texts, atom_reasons, out);
      return;
    case query::node_type::any:
      for (const auto& k : n.kids)
        if (eval_node(k, mask)) return explain(q, k, mask, texts, atom_reasons, out);
      return;
  }
}
}  // namespace detail

/// Streams spans (from the reader or a store) and selects whole traces. Keeps one small entry
/// per trace (a bit per predicate and the first reason of each), never the spans.
class selector {
 public:
  /// `stats` (finished span_stats, or running quantiles) is needed when q.needs_stats(); it
  /// must outlive the selector.
  /// `explain` false: finish() gives no reasons (the selection is the same, and faster).
  explicit selector(query q, percentile_source stats = nullptr, bool explain = true)
      : q_(std::move(q)), stats_(stats), explain_(explain) {
    if (q_.atoms().size() > 64)
      throw std::invalid_argument("a query may have at most 64 predicates");
    if (q_.needs_stats() && !stats_)
      throw std::invalid_argument("this query compares with percentiles: pass span statistics");
    if (explain_) atom_texts_ = detail::atom_texts(q_);
  }

  void add(const span_data& s, const resource_info* r) {
    auto [it, inserted] = index_.try_emplace(s.trace_id, entries_.size());
    if (inserted) entries_.push_back(entry{s.trace_id, 0, {}});
    entry& e = entries_[it->second];
    const auto& atoms = q_.atoms();
    for (std::size_t i = 0; i < atoms.size(); ++i) {
      if ((e.mask >> i) & 1u) continue;
      std::string why;
      if (atom_matches(atoms[i], s, r, stats_, explain_ ? &why : nullptr)) {
        e.mask |= std::uint64_t(1) << i;
        if (!explain_) continue;
        if (e.reasons.size() < atoms.size()) e.reasons.resize(atoms.size());
        e.reasons[i] = std::move(why);
      }
    }
  }
  void add(const read_span& s) { add(s.span, s.resource.get()); }
  /// Every span of `t`, with its resource.
  void add(const trace& t) {
    for (std::size_t i = 0; i < t.spans().size(); ++i) add(t.spans()[i], t.resource(i));
  }

  /// The selected traces in the order they were first seen.
  std::vector<selection> finish() const {
    std::vector<selection> out;
    for (const auto& e : entries_) {
      if (!detail::eval_node(q_.root(), e.mask)) continue;
      selection sel{e.id, {}};
      if (!explain_) {
        out.push_back(std::move(sel));
        continue;
      }
      std::vector<std::string> reasons = e.reasons;
      reasons.resize(q_.atoms().size());
      detail::explain(q_, q_.root(), e.mask, atom_texts_, reasons, sel.reasons);
      out.push_back(std::move(sel));
    }
    return out;
  }
  std::size_t traces_seen() const noexcept { return entries_.size(); }
  /// Forgets every trace seen (keeps the query and the allocations), to select again.
  void clear() noexcept {
    index_.clear();
    entries_.clear();
  }
  const query& get_query() const noexcept { return q_; }

 private:
  struct entry {
    trace_id id;
    std::uint64_t mask;
    std::vector<std::string> reasons;
  };
  query q_;
  percentile_source stats_;
  bool explain_ = true;
  std::vector<std::string> atom_texts_;  // when explaining
  std::unordered_map<trace_id, std::size_t, trace_id_hash> index_;
  std::vector<entry> entries_;
};

/// Whole-trace evaluation: the selection (with reasons) if `t` matches.
inline std::optional<selection> match(const query& q, const trace& t,
                                      percentile_source stats = nullptr) {
  selector sel(q, stats);
  sel.add(t);
  if (t.spans().empty()) return std::nullopt;
  auto out = sel.finish();
  if (out.empty()) return std::nullopt;
  return std::move(out.front());
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/dataset.hpp
// SPDX-License-Identifier: MIT
// Writers over read-back traces: the text waterfall (`show`), evaluation records (compact call
// tree + judge prompt, one JSON line per trace) and fine-tuning examples (chat JSONL from LLM
// spans with captured content, including error-correction pairs).

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// amalgamated: include/agentrace/eval/writer_options.hpp
// SPDX-License-Identifier: MIT
// The options of eval's writers (compact trees, evaluation records, fine-tuning examples, the
// HTML report), with their defaults: plain types over standard headers, shared by the writers
// (dataset.hpp, report.hpp) and the light entry points (light.hpp) that call them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// Attributes shown in waterfalls and kept in compact trees (exact keys, or prefixes ending
/// in '.'). Prompts and completions are handled separately (dataset.hpp's content_keys).
inline const std::vector<std::string>& default_key_attributes() {
  static const std::vector<std::string> keys = {"gen_ai.operation.name",
                                                "gen_ai.request.model",
                                                "gen_ai.response.model",
                                                "gen_ai.usage.",
                                                "gen_ai.response.finish_reasons",
                                                "gen_ai.tool.name",
                                                "gen_ai.tool.call.arguments",
                                                "gen_ai.tool.call.result",
                                                "gen_ai.agent.name",
                                                "gen_ai.data_source.id",
                                                "gen_ai.conversation.id",
                                                "db.system.name",
                                                "db.operation.name",
                                                "db.collection.name",
                                                "db.query.text",
                                                "db.response.returned_rows",
                                                "db.response.status_code",
                                                "error.type",
                                                "http.request.method",
                                                "http.response.status_code",
                                                "url.full",
                                                "url.path"};
  return keys;
}

struct tree_options {
  std::vector<std::string> key_attributes = default_key_attributes();
  bool all_attributes = false;            // keep every attribute
  bool content = true;                    // captured prompts / completions
  std::size_t max_value_length = 2000;    // per attribute value (0: no limit)
  std::size_t max_content_length = 8000;  // per prompt / completion (0: no limit)
  std::size_t max_depth = 64;             // deeper spans are listed flat under the last kept level
};

/// The default judge prompt. Placeholders: {{trace_id}}, {{service}}, {{reasons}}, {{tree}}
/// (indented text), {{tree_json}} (compact JSON), {{rubric}}.
inline constexpr std::string_view default_judge_template =
    "You are evaluating one run of an AI agent, recorded as an OpenTelemetry trace.\n"
    "\n"
    "Rubric:\n{{rubric}}\n"
    "\n"
    "Trace {{trace_id}} of service {{service}} was selected because:\n{{reasons}}"
    "\n"
    "Call tree (indented by nesting; [span id] name (duration); ERROR marks failed steps):\n"
    "{{tree}}\n"
    "Answer with one JSON object and nothing else:\n"
    "{\"score\": <number from 0 (bad) to 1 (good)>, \"label\": \"<short label, e.g. pass or "
    "fail>\", "
    "\"explanation\": \"<one to three sentences>\", \"spans\": [{\"span_id\": \"<16 hex digits "
    "from the "
    "tree>\", \"label\": \"<e.g. correct, incorrect, relevant, misleading, root_cause>\", "
    "\"note\": "
    "\"<optional>\"}]}\n";

/// The default rubric.
inline constexpr std::string_view default_rubric =
    "Did the agent complete the user's task correctly and efficiently? Label the steps that caused "
    "a failure or wasted work, and retrieved documents or tool results that were relevant or "
    "misleading.";

struct eval_record_options {
  tree_options tree{};
  std::string judge_template{default_judge_template};
  std::string rubric{default_rubric};
};

struct finetune_options {
  bool plain = true;        // successful LLM spans: their own input + output
  bool corrections = true;  // failed step + later successful attempt of the same step
};

/// The HTML report (report.hpp).
struct report_options {
  std::string title = "agentrace report";
  std::string inputs;                // what was read (file names), shown under the title
  std::string query;                 // the selecting query ("" : errors and the slowest per name)
  std::uint64_t traces_matched = 0;  // before any limit, for "N of M shown"
  std::size_t max_spans_per_trace = 1000;            // spans drawn per trace
  std::size_t detail_budget = std::size_t(4) << 20;  // bytes of attribute/event detail in all
  std::size_t max_value_bytes = 1024;                // per attribute value
  std::size_t max_events_per_span = 32;
  std::size_t max_names = 500;      // rows of the per-name table
  std::size_t max_histograms = 60;  // most frequent names get a histogram
  std::size_t histogram_bins = 40;
  std::size_t max_cost_traces = 10;  // most expensive traces listed
};

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END

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
// amalgamated: include/agentrace/eval/store.hpp
// SPDX-License-Identifier: MIT
// In-process reflection: an exporter that keeps the last N complete traces (bounded in count
// and bytes), assembled by the shared trace assembler, and answers the same queries as the CLI
// from any thread while the collector keeps writing ("show me my last failed task").

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

struct store_options {
  std::size_t max_traces = 64;                   // the last N traces are kept
  std::size_t max_bytes = std::size_t(8) << 20;  // and at most this many bytes of them (approx.)
  bool keep_incomplete = true;  // traces the assembler released before their root ended
  agentrace::assembly_options assembly{};
};

/// A trace the store answers with, and why it matched.
struct stored_match {
  std::shared_ptr<const trace> t;
  std::vector<std::string> reasons;
};

class trace_store final : public exporter {
 public:
  explicit trace_store(store_options o = {}) : opt_(o), assembler_(o.assembly) {}

  std::string_view name() const noexcept override { return "trace_store"; }

  export_result export_spans(const export_batch& batch) override {
    std::vector<span_data> converted;
    converted.reserve(batch.spans.size());
    for (const auto& r : batch.spans)
      converted.push_back(to_span_data(r, batch.clock, batch.limits));
    resource_ptr res = resource_for(batch);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : converted) keep(assembler_.add(std::move(s)), res);
    keep(assembler_.take_ready(), res);
    return export_result::success;
  }

  bool force_flush(std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    keep(assembler_.take_all(), last_resource_);
    return true;
  }

  /// The kept traces, oldest first (a snapshot: safe to use while spans keep arriving).
  std::vector<std::shared_ptr<const trace>> traces() const {
    std::lock_guard<std::mutex> lock(mu_);
    release_ready();
    return {traces_.begin(), traces_.end()};
  }

  /// Traces matching `q`, newest first, at most `limit` (0: all). Percentiles in the query
  /// refer to the spans held in the store.
  std::vector<stored_match> select(const query& q, std::size_t limit = 0) const {
    const auto snap = traces();
    std::optional<span_stats> st;
    if (q.needs_stats()) st = span_stats::of(snap);
    std::vector<stored_match> out;
    for (auto it = snap.rbegin(); it != snap.rend(); ++it) {
      auto m = match(q, **it, st ? &*st : nullptr);
      if (!m) continue;
      out.push_back({*it, std::move(m->reasons)});
      if (limit && out.size() == limit) break;
    }
    return out;
  }
  std::vector<stored_match> select(std::string_view q, std::size_t limit = 0) const {
    return select(query::parse(q), limit);
  }

  /// The most recent trace matching `q` ("my last failed task": last("errors")).
  std::optional<stored_match> last(const query& q) const {
    auto v = select(q, 1);
    if (v.empty()) return std::nullopt;
    return std::move(v.front());
  }
  std::optional<stored_match> last(std::string_view q) const { return last(query::parse(q)); }

  /// Statistics over the kept traces.
  span_stats stats() const { return span_stats::of(traces()); }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return traces_.size();
  }
  std::size_t bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
  }
  /// Traces dropped to stay within the bounds.
  std::uint64_t evicted() const {
    std::lock_guard<std::mutex> lock(mu_);
    return evicted_;
  }

 private:
  resource_ptr resource_for(const export_batch& batch) {
    std::lock_guard<std::mutex> lock(mu_);
    // The resource never changes during a run: convert it once.
    if (!last_resource_ || last_resource_src_ != &batch.resource ||
        last_resource_->attributes.size() != batch.resource.attributes.size()) {
      auto r = std::make_shared<resource_info>();
      for (const auto& [k, v] : batch.resource.attributes)
        r->attributes.emplace_back(k, attr_value{std::in_place_type<std::string>, v});
      r->scope_name = std::string(batch.scope_name);
      r->scope_version = std::string(batch.scope_version);
      last_resource_ = std::move(r);
      last_resource_src_ = &batch.resource;
    }
    return last_resource_;
  }

  void release_ready() const { keep(assembler_.take_ready(), last_resource_); }

  void keep(std::vector<agentrace::detail::assembled_trace> done, const resource_ptr& res) const {
    for (auto& a : done) {
      if (!a.complete && !opt_.keep_incomplete) continue;
      std::vector<resource_ptr> rs(a.spans.size(), res);
      auto t = std::make_shared<const trace>(a.id, std::move(a.spans), std::move(rs), a.complete);
      const std::size_t b = t->approx_bytes();
      traces_.push_back(std::move(t));
      sizes_.push_back(b);
      bytes_ += b;
      while (traces_.size() > 1 && (traces_.size() > opt_.max_traces || bytes_ > opt_.max_bytes)) {
        bytes_ -= sizes_.front();
        traces_.pop_front();
        sizes_.pop_front();
        ++evicted_;
      }
      if (traces_.size() > opt_.max_traces) {  // max_traces == 0
        bytes_ = 0;
        traces_.clear();
        sizes_.clear();
        ++evicted_;
      }
    }
  }

  store_options opt_;
  mutable std::mutex mu_;
  // Queries may release traces whose straggler wait has passed, so these change under the
  // lock from const members too.
  mutable agentrace::detail::trace_assembler assembler_;
  mutable std::deque<std::shared_ptr<const trace>> traces_;
  mutable std::deque<std::size_t> sizes_;
  mutable std::size_t bytes_ = 0;
  mutable std::uint64_t evicted_ = 0;
  resource_ptr last_resource_;
  const agentrace::resource* last_resource_src_ = nullptr;
};

/// A store to pass to start({.exporters = {store}}) and query later.
inline std::shared_ptr<trace_store> store(store_options o = {}) {
  return std::make_shared<trace_store>(o);
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/preference.hpp
// SPDX-License-Identifier: MIT
// Preference pairs for preference fine-tuning (OpenAI's DPO format: one JSON object per line
// with "input" {messages, tools}, "preferred_output" and "non_preferred_output") from error
// corrections: a step that failed (it or a span below it has status ERROR) and a later attempt
// of the same step (same name, same parent) that succeeded. The failed attempt's LLM output is
// the non-preferred answer to its input, the successful attempt's LLM output the preferred one.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// One preference example.
struct preference_pair {
  nlohmann::json messages = nlohmann::json::array();  // the context: system + input messages
  nlohmann::json tools = nlohmann::json::array();     // OpenAI function tools offered, if captured
  nlohmann::json preferred;                           // [{"role":"assistant", ...}]
  nlohmann::json non_preferred;                       // [{"role":"assistant", ...}]
  std::string trace_id;
  std::string failed_span_id;     // the LLM span of the failed attempt (input, non-preferred)
  std::string corrected_span_id;  // the LLM span of the successful retry (preferred)
};

/// Pairs of a trace, and the corrections that could not become pairs.
struct preference_result {
  std::vector<preference_pair> pairs;
  std::size_t without_content = 0;  // a failed step and its fix, but no captured input/output
  std::size_t identical = 0;        // both attempts answered the same: nothing to prefer
};

namespace detail {

/// Failed steps and their first later successful attempt, as (failed, fixed) span indices:
/// siblings (same parent, or both roots) with the same name, the fixed one starting later.
inline std::vector<std::pair<std::size_t, std::size_t>> corrections(const trace& t) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const auto& spans = t.spans();
  std::vector<const std::vector<std::size_t>*> groups{&t.roots()};
  for (std::size_t i = 0; i < spans.size(); ++i)
    if (!t.children(i).empty()) groups.push_back(&t.children(i));
  for (const auto* g : groups)
    for (std::size_t a = 0; a < g->size(); ++a) {
      const std::size_t fi = (*g)[a];
      if (!subtree_failed(t, fi)) continue;
      for (std::size_t b = a + 1; b < g->size(); ++b) {
        const std::size_t si = (*g)[b];
        if (spans[si].name != spans[fi].name || spans[si].start_unix_ns < spans[fi].start_unix_ns)
          continue;
        if (subtree_failed(t, si)) continue;
        out.emplace_back(fi, si);
        break;  // the first later success
      }
    }
  return out;
}

// The last assistant message of an output, as a one-message list (the format wants one).
inline nlohmann::json last_assistant(const nlohmann::json& out) {
  for (auto it = out.rbegin(); it != out.rend(); ++it)
    if (it->value("role", "") == "assistant") return nlohmann::json::array({*it});
  return nlohmann::json::array();
}

// gen_ai.tool.definitions as OpenAI tools: [{"type":"function","function":{name, ...}}].
inline nlohmann::json tools_of(const span_data& s) {
  const attr_value* v = s.attr("gen_ai.tool.definitions");
  if (!v) return nlohmann::json::array();
  auto j = nlohmann::json::parse(full_value_text(*v), nullptr, false);
  nlohmann::json out = nlohmann::json::array();
  if (j.is_discarded() || !j.is_array()) return out;
  for (const auto& d : j) {
    if (!d.is_object()) continue;
    if (d.contains("function")) {  // already OpenAI's shape
      out.push_back(d);
      continue;
    }
    nlohmann::json f = {{"name", d.value("name", "")}};
    if (d.contains("description")) f["description"] = d["description"];
    if (d.contains("parameters")) f["parameters"] = d["parameters"];
    out.push_back({{"type", "function"}, {"function", std::move(f)}});
  }
  return out;
}

}  // namespace detail

/// The preference pairs of one trace (in the order the failed steps appear).
inline preference_result preference_pairs(const trace& t) {
  preference_result r;
  const auto& spans = t.spans();
  for (const auto& [fi, si] : detail::corrections(t)) {
    // The failed attempt's last LLM call with captured output; its input is the context.
    const std::size_t bad = detail::content_span(t, fi, content_keys::output, true);
    const std::size_t good = detail::content_span(t, si, content_keys::output, true);
    if (bad == trace::npos || good == trace::npos) {
      ++r.without_content;
      continue;
    }
    auto in = detail::input_of(spans[bad]);
    auto worse = detail::output_of(spans[bad]);
    auto better = detail::output_of(spans[good]);
    if (!in || !worse || !better || in->empty()) {
      ++r.without_content;
      continue;
    }
    preference_pair p;
    p.non_preferred = detail::last_assistant(*worse);
    p.preferred = detail::last_assistant(*better);
    if (p.preferred.empty() || p.non_preferred.empty()) {
      ++r.without_content;
      continue;
    }
    if (p.preferred == p.non_preferred) {
      ++r.identical;
      continue;
    }
    p.messages = std::move(*in);
    p.tools = detail::tools_of(spans[bad]);
    p.trace_id = to_hex(t.id());
    p.failed_span_id = to_hex(spans[bad].span_id);
    p.corrected_span_id = to_hex(spans[good].span_id);
    r.pairs.push_back(std::move(p));
  }
  return r;
}

/// One line of the preference dataset (no trailing newline); "metadata" (trace and span ids)
/// when asked.
inline std::string preference_line(const preference_pair& p, bool metadata = false) {
  const auto ordered = [](const nlohmann::json& v) {
    return nlohmann::ordered_json::parse(
        v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  };
  nlohmann::ordered_json input = {{"messages", ordered(p.messages)}};
  if (!p.tools.empty()) input["tools"] = ordered(p.tools);
  nlohmann::ordered_json j = {{"input", std::move(input)},
                              {"preferred_output", ordered(p.preferred)},
                              {"non_preferred_output", ordered(p.non_preferred)}};
  if (metadata)
    j["metadata"] = {{"trace_id", p.trace_id},
                     {"failed_span_id", p.failed_span_id},
                     {"corrected_span_id", p.corrected_span_id}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/report.hpp
// SPDX-License-Identifier: MIT
// The HTML report: one self-contained file (no network, no external scripts, styles or fonts)
// with the statistics summary, a latency histogram per span name (SVG, p95 marked), the
// selected traces as interactive waterfalls (click a span for its attributes, events and
// status) and tokens and cost per model. Its size is bounded whatever the input's size: only
// the selected traces are drawn, and their attribute detail shares a byte budget.

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

/// A trace drawn in detail, and why it was selected.
struct report_trace {
  const trace* t = nullptr;
  std::vector<std::string> reasons;
};

namespace detail {

inline void append_html(fmt::memory_buffer& b, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': append(b, "&amp;"); break;
      case '<': append(b, "&lt;"); break;
      case '>': append(b, "&gt;"); break;
      case '"': append(b, "&quot;"); break;
      case '\'': append(b, "&#39;"); break;
      default: b.push_back(c);
    }
  }
}

inline std::string report_ms(std::uint64_t ns) {
  return fmt::format("{:.3f}", static_cast<double>(ns) / 1e6);
}

inline std::string report_usd(double usd) {
  if (usd == 0) return "$0";
  if (usd < 0.01) return fmt::format("${:.6f}", usd);
  return fmt::format("${:.4f}", usd);
}

// JSON text safe inside <script>: '<' never appears literally (only inside strings, where
// \u003c means the same).
inline void append_script_json(fmt::memory_buffer& out, const fmt::memory_buffer& json) {
  for (char c : json) {
    if (c == '<')
      append(out, "\\u003c");
    else
      out.push_back(c);
  }
}

// A histogram of sorted durations as inline SVG, with the p95 marked. Log-scaled bins when
// the durations span more than two decades.
inline void write_histogram(fmt::memory_buffer& b, const std::deque<std::uint64_t>& sorted,
                            std::uint64_t p95, std::size_t bins) {
  constexpr int w = 360, h = 96, pad_b = 18, pad_t = 14;
  if (sorted.empty() || bins == 0) return;
  const double lo_ns = static_cast<double>(std::max<std::uint64_t>(sorted.front(), 1));
  const double hi_ns = static_cast<double>(std::max<std::uint64_t>(sorted.back(), 1));
  const bool log_scale = hi_ns / lo_ns > 100;
  const auto pos = [&](double ns) {  // 0..1 along the x axis
    if (hi_ns <= lo_ns) return 0.5;
    ns = std::clamp(ns, lo_ns, hi_ns);
    return log_scale ? std::log(ns / lo_ns) / std::log(hi_ns / lo_ns)
                     : (ns - lo_ns) / (hi_ns - lo_ns);
  };
  std::vector<std::uint64_t> count(bins, 0);
  for (std::uint64_t d : sorted) {
    auto k = static_cast<std::size_t>(pos(static_cast<double>(std::max<std::uint64_t>(d, 1))) *
                                      static_cast<double>(bins));
    ++count[std::min(k, bins - 1)];
  }
  const std::uint64_t top = *std::max_element(count.begin(), count.end());
  fmt::format_to(std::back_inserter(b),
                 "<svg class=\"hist\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" "
                 "role=\"img\" data-p95-ms=\"{2}\" data-scale=\"{3}\">",
                 w, h, report_ms(p95), log_scale ? "log" : "linear");
  const double bw = static_cast<double>(w) / static_cast<double>(bins);
  const int plot_h = h - pad_b - pad_t;
  for (std::size_t i = 0; i < bins; ++i) {
    if (!count[i]) continue;
    const double bh = std::max(1.0, static_cast<double>(plot_h) * static_cast<double>(count[i]) /
                                        static_cast<double>(top));
    fmt::format_to(std::back_inserter(b),
                   "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\">"
                   "<title>{} span{}</title></rect>",
                   static_cast<double>(i) * bw + 0.5, pad_t + plot_h - bh, std::max(bw - 1, 1.0),
                   bh, count[i], count[i] == 1 ? "" : "s");
  }
  const double x95 = pos(static_cast<double>(std::max<std::uint64_t>(p95, 1))) * w;
  fmt::format_to(std::back_inserter(b),
                 "<line class=\"p95\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\"/>"
                 "<text class=\"p95\" x=\"{3:.1f}\" y=\"10\" text-anchor=\"{4}\">p95 {5} ms</text>",
                 x95, pad_t - 2, h - pad_b, x95, x95 > w * 0.6 ? "end" : "start", report_ms(p95));
  fmt::format_to(std::back_inserter(b),
                 "<line class=\"axis\" x1=\"0\" x2=\"{0}\" y1=\"{1}\" y2=\"{1}\"/>"
                 "<text x=\"0\" y=\"{2}\">{3} ms</text>"
                 "<text x=\"{0}\" y=\"{2}\" text-anchor=\"end\">{4} ms{5}</text></svg>",
                 w, h - pad_b + 0.5, h - 4, report_ms(sorted.front()), report_ms(sorted.back()),
                 log_scale ? " (log)" : "");
}

inline void write_value_json(fmt::memory_buffer& b, const attr_value& v, std::size_t max) {
  write_json_string(b, cut(full_value_text(v), max));
}

inline void write_attrs_json(fmt::memory_buffer& b,
                             const std::vector<std::pair<std::string, attr_value>>& attrs,
                             std::size_t max) {
  b.push_back('[');
  for (std::size_t i = 0; i < attrs.size(); ++i) {
    if (i) b.push_back(',');
    b.push_back('[');
    write_json_string(b, attrs[i].first);
    b.push_back(',');
    write_value_json(b, attrs[i].second, max);
    b.push_back(']');
  }
  b.push_back(']');
}

inline constexpr std::string_view report_css = R"css(
:root{--fg:#1d2330;--mut:#5b6475;--bg:#fff;--pan:#f5f7fa;--line:#dde2ea;--bar:#4f7cd9;--err:#d64045;--acc:#2a9d8f}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:16px 24px;background:#1d2330;color:#fff}
header h1{margin:0;font-size:20px;font-weight:600}
header p{margin:4px 0 0;color:#c3cad6;font-size:12px}
main{padding:8px 24px 40px;max-width:1400px}
h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}
.card{background:var(--pan);border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px}
.card span{color:var(--mut);font-size:12px}
.card.bad b{color:var(--err)}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:var(--pan);font-weight:600}
td.name,th.name,td.model,td.trace{text-align:left}
td.name{max-width:420px;overflow:hidden;text-overflow:ellipsis}
tr.has-err td.errors{color:var(--err);font-weight:600}
.note{color:var(--mut);font-size:12px;margin:6px 0}
.side{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.side .note{flex-basis:100%;order:3}
.hists{display:flex;flex-wrap:wrap;gap:14px}
figure{margin:0;background:var(--pan);border:1px solid var(--line);border-radius:6px;padding:6px 8px}
figcaption{font-size:12px;font-weight:600;max-width:360px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
svg.hist rect{fill:var(--bar)}
svg.hist text{font-size:10px;fill:var(--mut)}
svg.hist line.p95{stroke:var(--err);stroke-width:1.5;stroke-dasharray:4 2}
svg.hist text.p95{fill:var(--err);font-weight:600}
svg.hist line.axis{stroke:#9aa3b2}
.trace{border:1px solid var(--line);border-radius:6px;margin:14px 0;overflow:hidden}
.trace>.th{background:var(--pan);padding:8px 12px;border-bottom:1px solid var(--line)}
.trace .tid{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:600}
.trace .tmeta{color:var(--mut);font-size:12px;margin-left:8px}
.trace .reason{font-size:12px;color:#8a4b00;margin-top:2px}
.rows{padding:4px 0}
.row{display:grid;grid-template-columns:minmax(260px,34%) 1fr 90px;align-items:center;height:22px;cursor:pointer;font-size:12px}
.row:hover{background:#eef3fb}
.row.sel{background:#dce8fb}
.row .lbl{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-right:8px}
.row .lane{position:relative;height:12px;background:linear-gradient(90deg,#f0f2f5 1px,transparent 1px);background-size:10% 100%}
.row .bar{position:absolute;top:0;height:12px;min-width:2px;background:var(--bar);border-radius:2px}
.row.err .bar{background:var(--err)}
.row.err .lbl{color:var(--err);font-weight:600}
.row .d{text-align:right;color:var(--mut);padding-right:10px;font-variant-numeric:tabular-nums}
.mark{display:inline-block;width:14px;color:var(--err)}
.detail{display:none;border-top:1px solid var(--line);background:#fbfcfe;padding:10px 14px}
.detail.open{display:block}
.detail h3{margin:0 0 6px;font-size:14px}
.detail .st-err{color:var(--err);font-weight:600}
.detail table{margin:6px 0 10px}
.detail td{text-align:left;white-space:pre-wrap;word-break:break-word;vertical-align:top;max-width:900px}
.detail td.k{font-family:ui-monospace,Menlo,Consolas,monospace;color:#3b4a66;white-space:nowrap}
.more{padding:4px 12px;color:var(--mut);font-size:12px}
)css";

inline constexpr std::string_view report_js = R"js(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('agentrace-data').textContent);
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function ms(ns) { return (ns / 1e6).toFixed(3) + ' ms'; }
  function table(rows, head) {
    var t = el('table', 'attrs');
    if (head) {
      var hr = el('tr');
      head.forEach(function (h) { hr.appendChild(el('th', null, h)); });
      t.appendChild(hr);
    }
    rows.forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(el('td', 'k', r[0]));
      tr.appendChild(el('td', 'v', r[1]));
      t.appendChild(tr);
    });
    return t;
  }
  function show(row) {
    var ti = +row.getAttribute('data-t'), si = +row.getAttribute('data-s');
    var tr = data.traces[ti], s = tr.spans[si];
    var sec = row.closest('.trace');
    sec.querySelectorAll('.row.sel').forEach(function (r) { r.classList.remove('sel'); });
    row.classList.add('sel');
    var d = sec.querySelector('.detail');
    d.textContent = '';
    d.appendChild(el('h3', null, s.name));
    var st = el('div', s.status === 'error' ? 'status st-err' : 'status',
                'status: ' + s.status + (s.message ? ' - ' + s.message : ''));
    d.appendChild(st);
    d.appendChild(table([
      ['span_id', s.id], ['parent', s.parent || '(root)'], ['kind', s.kind],
      ['start', '+' + ms(s.start)], ['duration', ms(s.dur)]]));
    var h = el('div', 'sub', 'attributes (' + s.attrs.length + ')');
    d.appendChild(h);
    if (s.attrs.length) d.appendChild(table(s.attrs));
    if (s.detail === false) d.appendChild(el('div', 'note', 'attributes and events not kept: the report\'s detail budget was used up'));
    d.appendChild(el('div', 'sub', 'events (' + s.events.length + ')'));
    s.events.forEach(function (ev) {
      d.appendChild(el('div', 'event', ev.name + ' at +' + ms(ev.t)));
      if (ev.attrs.length) d.appendChild(table(ev.attrs));
    });
    d.classList.add('open');
  }
  document.querySelectorAll('.row').forEach(function (row) {
    row.addEventListener('click', function () { show(row); });
    row.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); show(row); }
    });
  });
  document.body.setAttribute('data-ready', '1');
})();
)js";

// One trace: header (id, reasons, duration, cost), the waterfall rows, and its detail panel;
// the spans' detail goes to `json` (data.traces[ti]).
inline void write_trace(fmt::memory_buffer& b, fmt::memory_buffer& json, const report_trace& rt,
                        std::size_t ti, const price_table* prices, const report_options& o,
                        std::size_t& budget) {
  const trace& t = *rt.t;
  const auto order = walk(t);
  const std::uint64_t t0 = t.start_unix_ns(), total = std::max<std::uint64_t>(t.duration_ns(), 1);
  double cost = 0;
  bool priced = false;
  if (prices)
    for (const auto& s : t.spans())
      if (const auto u = usage_of(s); u.any)
        if (const model_price* p = prices->find(model_of(s))) {
          cost += cost_of(u, *p);
          priced = true;
        }
  const std::string tid = to_hex(t.id());
  append(b, "<section class=\"trace\" data-trace-id=\"");
  append(b, tid);
  fmt::format_to(std::back_inserter(b),
                 "\" data-spans=\"{}\" data-errors=\"{}\"><div class=\"th\"><span "
                 "class=\"tid\">{}</span><span class=\"tmeta\">",
                 t.spans().size(), t.error_count(), tid);
  std::string meta = fmt::format("{} span{}, {} ms, {} error{}", t.spans().size(),
                                 t.spans().size() == 1 ? "" : "s", report_ms(t.duration_ns()),
                                 t.error_count(), t.error_count() == 1 ? "" : "s");
  if (const std::string svc = t.service_name(); !svc.empty()) meta += ", " + svc;
  if (priced) meta += ", " + report_usd(cost);
  meta += ", " + agentrace::detail::rfc3339_text(t.start_unix_ns());
  append_html(b, meta);
  append(b, "</span>");
  for (const auto& r : rt.reasons) {
    append(b, "<div class=\"reason\">selected: ");
    append_html(b, r);
    append(b, "</div>");
  }
  append(b, "</div><div class=\"rows\">");

  if (ti) json.push_back(',');
  append(json, "{\"id\":\"");
  append(json, tid);
  append(json, "\",\"spans\":[");
  const std::size_t shown = std::min(order.size(), o.max_spans_per_trace);
  for (std::size_t k = 0; k < shown; ++k) {
    const auto [i, depth] = order[k];
    const span_data& s = t.spans()[i];
    const bool err = s.status == status_code::error;
    const std::uint64_t off = s.start_unix_ns >= t0 ? s.start_unix_ns - t0 : 0;
    const double left = 100.0 * static_cast<double>(off) / static_cast<double>(total);
    const double width = 100.0 * static_cast<double>(s.duration_ns()) / static_cast<double>(total);
    fmt::format_to(std::back_inserter(b),
                   "<div class=\"row{}\" tabindex=\"0\" data-t=\"{}\" data-s=\"{}\" "
                   "data-span-id=\"",
                   err ? " err" : "", ti, k);
    write_hex64(b, s.span_id);
    fmt::format_to(
        std::back_inserter(b),
        "\"><div class=\"lbl\" style=\"padding-left:{}px\"><span class=\"mark\">{}</span>",
        4 + 14 * std::min<std::size_t>(depth, 24), err ? "&#9888;" : "");
    append_html(b, s.name);
    fmt::format_to(
        std::back_inserter(b),
        "</div><div class=\"lane\"><div class=\"bar\" style=\"left:{:.3f}%;width:{:.3f}%\">"
        "</div></div><div class=\"d\">{} ms</div></div>",
        std::min(left, 100.0), std::min(width, 100.0 - std::min(left, 100.0)),
        report_ms(s.duration_ns()));

    if (k) json.push_back(',');
    append(json, "{\"name\":");
    write_json_string(json, s.name);
    append(json, ",\"id\":\"");
    write_hex64(json, s.span_id);
    append(json, "\",\"parent\":\"");
    if (s.parent_span_id) write_hex64(json, s.parent_span_id);
    fmt::format_to(std::back_inserter(json), "\",\"kind\":\"{}\",\"start\":{},\"dur\":{},",
                   kind_text(s.kind), off, s.duration_ns());
    append(json, "\"status\":\"");
    append(json, err ? "error" : s.status == status_code::ok ? "ok" : "unset");
    append(json, "\",\"message\":");
    write_json_string(json, s.status_message);
    const std::size_t before = json.size();
    append(json, ",\"attrs\":");
    write_attrs_json(json, s.attributes, o.max_value_bytes);
    append(json, ",\"events\":[");
    const std::size_t ne = std::min(s.events.size(), o.max_events_per_span);
    for (std::size_t e = 0; e < ne; ++e) {
      const auto& ev = s.events[e];
      if (e) json.push_back(',');
      append(json, "{\"name\":");
      write_json_string(json, ev.name);
      fmt::format_to(std::back_inserter(json),
                     ",\"t\":{},\"attrs\":", ev.time_unix_ns >= t0 ? ev.time_unix_ns - t0 : 0);
      write_attrs_json(json, ev.attributes, o.max_value_bytes);
      json.push_back('}');
    }
    json.push_back(']');
    const std::size_t used = json.size() - before;
    if (used > budget) {  // over the budget: timing and status only
      json.resize(before);
      append(json, ",\"attrs\":[],\"events\":[],\"detail\":false");
      budget = 0;
    } else {
      budget -= used;
    }
    json.push_back('}');
  }
  append(json, "]}");
  append(b, "</div>");
  if (shown < order.size())
    fmt::format_to(std::back_inserter(b),
                   "<div class=\"more\">{} more spans not drawn (at most {} per trace)</div>",
                   order.size() - shown, o.max_spans_per_trace);
  append(b, "<div class=\"detail\"></div></section>\n");
}

}  // namespace detail

/// Writes the report. `st` holds the statistics of every input span (finished; with its
/// prices set when costs are wanted); `traces` the selected traces to draw.
inline void write_report(fmt::memory_buffer& b, span_stats& st,
                         const std::vector<report_trace>& traces, const price_table* prices,
                         const report_options& o = {}) {
  using detail::append;
  using detail::append_html;
  using detail::report_ms;
  st.finish();
  const auto rows = st.by_name();
  const auto models = st.by_model();
  const bool costs = prices != nullptr;

  append(b,
         "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
         "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\"><title>");
  append_html(b, o.title);
  append(b, "</title><style>");
  append(b, detail::report_css);
  append(b, "</style></head><body><header><h1>");
  append_html(b, o.title);
  append(b, "</h1><p>");
  append_html(b, o.inputs);
  append(b, "</p></header><main>\n");

  // Summary.
  append(b, "<h2>Summary</h2><div class=\"cards\" id=\"summary\">");
  const auto card = [&](const char* id, const std::string& value, const char* label, bool bad) {
    fmt::format_to(std::back_inserter(b), "<div class=\"card{}\"><b id=\"{}\">", bad ? " bad" : "",
                   id);
    append_html(b, value);
    fmt::format_to(std::back_inserter(b), "</b><span>{}</span></div>", label);
  };
  card("sum-spans", std::to_string(st.spans()), "spans", false);
  card("sum-traces", std::to_string(st.traces()), "traces", false);
  card("sum-errors", std::to_string(st.errors()), "errored spans", st.errors() != 0);
  if (st.spans())
    card("sum-range",
         agentrace::detail::rfc3339_text(st.first_start_unix_ns()) + " .. " +
             agentrace::detail::rfc3339_text(st.last_end_unix_ns()),
         "time range (UTC)", false);
  if (costs) card("sum-cost", detail::report_usd(st.cost_usd()), "cost (priced models)", false);
  append(b, "</div>");
  if (st.duplicates())
    fmt::format_to(
        std::back_inserter(b),
        "<p class=\"note\">{} duplicate spans (same trace and span id) counted once.</p>",
        st.duplicates());

  append(b,
         "<table id=\"names\"><tr><th class=\"name\">span name</th><th>count</th><th>errors</th>"
         "<th>error rate</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th>");
  if (costs) append(b, "<th>cost</th>");
  append(b, "</tr>");
  const std::size_t nrows = std::min(rows.size(), o.max_names);
  for (std::size_t i = 0; i < nrows; ++i) {
    const auto& r = rows[i];
    append(b, r.errors ? "<tr class=\"has-err\" data-name=\"" : "<tr data-name=\"");
    append_html(b, r.name);
    append(b, "\"><td class=\"name\">");
    append_html(b, r.name);
    fmt::format_to(
        std::back_inserter(b),
        "</td><td class=\"count\">{}</td><td class=\"errors\">{}</td><td "
        "class=\"error_rate\" data-value=\"{}\">{:.1f}%</td><td class=\"p50\">{}</td><td "
        "class=\"p95\">{}</td><td class=\"p99\">{}</td><td class=\"max\">{}</td>",
        r.count, r.errors, r.error_rate, r.error_rate * 100, report_ms(r.p50), report_ms(r.p95),
        report_ms(r.p99), report_ms(r.max));
    if (costs)
      fmt::format_to(std::back_inserter(b), "<td class=\"cost\">{}</td>",
                     r.cost_usd > 0 ? detail::report_usd(r.cost_usd) : std::string("-"));
    append(b, "</tr>\n");
  }
  append(b, "</table>");
  if (nrows < rows.size())
    fmt::format_to(std::back_inserter(b),
                   "<p class=\"note\">{} less frequent span names not listed (`agentrace-eval "
                   "stats` lists them all).</p>",
                   rows.size() - nrows);

  // Histograms.
  append(b, "<h2>Latency per span name</h2><div class=\"hists\">");
  const std::size_t nh = std::min(rows.size(), o.max_histograms);
  for (std::size_t i = 0; i < nh; ++i) {
    append(b, "<figure data-name=\"");
    append_html(b, rows[i].name);
    append(b, "\"><figcaption title=\"");
    append_html(b, rows[i].name);
    append(b, "\">");
    append_html(b, rows[i].name);
    fmt::format_to(std::back_inserter(b), " <small>({} spans)</small></figcaption>", rows[i].count);
    detail::write_histogram(b, st.durations(rows[i].name), rows[i].p95, o.histogram_bins);
    append(b, "</figure>");
  }
  append(b, "</div>");
  if (nh < rows.size())
    fmt::format_to(std::back_inserter(b),
                   "<p class=\"note\">Histograms of the {} most frequent names only.</p>", nh);

  // Tokens and cost.
  append(b, "<h2>Tokens and cost per model</h2><div class=\"side\">");
  if (models.empty()) {
    append(b, "<p class=\"note\" id=\"models\">No span reports a model or token usage.</p>");
  } else {
    append(b,
           "<table id=\"models\"><tr><th class=\"name\">model</th><th>spans</th><th>input "
           "tokens</th><th>cache read</th><th>cache write</th><th>output tokens</th>"
           "<th>reasoning</th><th>cost</th></tr>");
    for (const auto& m : models) {
      append(b, "<tr data-model=\"");
      append_html(b, m.model);
      append(b, "\"><td class=\"model\">");
      append_html(b, m.model);
      fmt::format_to(std::back_inserter(b),
                     "</td><td class=\"spans\">{}</td><td class=\"input\">{}</td><td>{}</td>"
                     "<td>{}</td><td class=\"output\">{}</td><td>{}</td><td class=\"cost\">{}</td>"
                     "</tr>\n",
                     m.spans, m.usage.input, m.usage.cache_read, m.usage.cache_write,
                     m.usage.output, m.usage.reasoning,
                     !costs     ? "no --prices"
                     : m.priced ? detail::report_usd(m.cost_usd)
                                : std::string("unpriced"));
    }
    append(b, "</table>");
    if (costs) {
      const auto unpriced = st.unpriced_models();
      if (!unpriced.empty()) {
        append(b, "<p class=\"note\" id=\"unpriced\">No price for: ");
        for (std::size_t i = 0; i < unpriced.size(); ++i) {
          if (i) append(b, ", ");
          append_html(b, unpriced[i]);
        }
        append(b, " (their cost is not counted).</p>");
      }
      const auto tc = st.by_trace_cost(o.max_cost_traces);
      if (!tc.empty()) {
        append(b,
               "<table id=\"trace-costs\"><tr><th class=\"name\">most expensive traces</th>"
               "<th>cost</th></tr>");
        for (const auto& c : tc)
          fmt::format_to(std::back_inserter(b),
                         "<tr><td class=\"trace\">{}</td><td class=\"cost\">{}</td></tr>",
                         to_hex(c.id), detail::report_usd(c.cost_usd));
        append(b, "</table>");
      }
    }
  }
  append(b, "</div>");

  // Traces.
  append(b, "<h2>Selected traces</h2><p class=\"note\" id=\"selection\">");
  std::string sel = o.query.empty() ? "Traces with an error and the trace of the slowest span of "
                                      "each name"
                                    : "Traces matching " + o.query;
  sel += fmt::format(": {} shown", traces.size());
  if (o.traces_matched > traces.size()) sel += fmt::format(" of {}", o.traces_matched);
  sel += ". Click a span for its attributes, events and status.";
  append_html(b, sel);
  append(b, "</p>\n");
  fmt::memory_buffer json;
  append(json, "{\"traces\":[");
  std::size_t budget = o.detail_budget;
  for (std::size_t i = 0; i < traces.size(); ++i)
    detail::write_trace(b, json, traces[i], i, prices, o, budget);
  append(json, "]}");
  append(b, "</main><script type=\"application/json\" id=\"agentrace-data\">");
  detail::append_script_json(b, json);
  append(b, "</script><script>");
  append(b, detail::report_js);
  append(b, "</script></body></html>\n");
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
#if __has_include(<curl/curl.h>) && __has_include(<zlib.h>)
// amalgamated: include/agentrace/eval/judge.hpp
// SPDX-License-Identifier: MIT
// An LLM judge over selected traces: sends each call tree to an OpenAI-compatible chat
// completions endpoint, validates the JSON verdict (score, label, explanation, per-span labels),
// retries a malformed verdict once, and turns verdicts into gen_ai.evaluation.result telemetry
// parented to the judged spans. Needs the target agentrace::http (libcurl).

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

#include <agentrace/agentrace_http.hpp>

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
#endif
// amalgamated: include/agentrace/eval/light.hpp
// SPDX-License-Identifier: MIT
// The light eval entry points, for a file that reads OTLP-JSON into traces, summarizes them per
// span name, selects traces with a query (the query language of query.hpp) and writes datasets
// or the HTML report of what it selected, and needs nothing else of agentrace/eval/:
//
//   #include <agentrace/eval/light.hpp>
//   namespace ev = agentrace::eval;
//   ev::traces_read in = ev::read_all({"traces.jsonl"});
//   ev::trace_summary summary(in.traces);
//   for (const ev::selection& s : ev::trace_query::parse("errors or duration > p95")
//                                     .select(in.traces, &summary)) ...
//   ev::write_dataset(in.traces, picked, [&](std::string_view line) { ... });
//   std::string html = ev::report_html(in.traces, picked);
//
// It declares them with standard headers and agentrace's trace types only: no nlohmann_json,
// fmt, the reader's parser, the query's evaluator or the writers. Header-only (the default) it
// also includes their definitions (detail/light_impl.hpp, over reader.hpp, stats.hpp and
// query.hpp; detail/light_writers_impl.hpp, over dataset.hpp, preference.hpp and report.hpp); built
// with the CMake option AGENTRACE_COMPILED_LIB they are compiled once into the agentrace library
// and this header only declares them. The whole API (<agentrace/eval/eval.hpp>) stays
// header-only in both modes; summary() and get() hand its objects over.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

class span_stats;  // stats.hpp
class query;       // query_types.hpp

/// What read_all() read: whole traces (in the order their first span was read), and what the
/// reader counted and reported (diagnostics: at most reader_options::max_kept_diagnostics).
struct traces_read {
  std::vector<trace> traces;
  read_counts counts;
  std::vector<diagnostic> diagnostics;
};

/// Reads every span of `paths` (OTLP-JSON documents or JSON lines; "-" is standard input) into
/// whole traces, as read_traces() of reader.hpp. Bad input is skipped, counted and reported in
/// the result, never thrown.
AGENTRACE_SETUP_INLINE traces_read read_all(const std::vector<std::string>& paths,
                                            reader_options options = {});

/// Statistics per span name of the traces added (span_stats of stats.hpp). Const members sort
/// what was added since the last call: not for concurrent use.
class trace_summary {
 public:
  AGENTRACE_SETUP_INLINE trace_summary();
  AGENTRACE_SETUP_INLINE explicit trace_summary(const std::vector<trace>& traces);
  AGENTRACE_SETUP_INLINE trace_summary(trace_summary&&) noexcept;
  AGENTRACE_SETUP_INLINE trace_summary& operator=(trace_summary&&) noexcept;
  AGENTRACE_SETUP_INLINE ~trace_summary();

  /// Adds every span of `t` (a span seen before counts as a duplicate only).
  AGENTRACE_SETUP_INLINE void add(const trace& t);
  /// The per-name table, most frequent names first (ties by name).
  AGENTRACE_SETUP_INLINE std::vector<name_stats> by_name() const;
  /// The p-th percentile (nearest rank) of the durations of spans named `name`, in ns.
  AGENTRACE_SETUP_INLINE std::optional<std::uint64_t> percentile(std::string_view name,
                                                                 double p) const;
  AGENTRACE_SETUP_INLINE std::uint64_t spans() const noexcept;
  AGENTRACE_SETUP_INLINE std::uint64_t traces() const noexcept;
  AGENTRACE_SETUP_INLINE std::uint64_t errors() const noexcept;
  AGENTRACE_SETUP_INLINE std::uint64_t duplicates() const noexcept;
  /// The statistics themselves, sorted (the type is stats.hpp's).
  AGENTRACE_SETUP_INLINE const span_stats& stats() const;

 private:
  std::unique_ptr<span_stats> s_;
};

/// A parsed query (query.hpp's syntax: `errors`, `db.query > p95`, `duration > 2s and not
/// kind = client` ...) that selects whole traces.
class trace_query {
 public:
  /// Parses `text`; throws query_error (a std::invalid_argument whose what() shows the text
  /// with a caret under the offending column) when it does not parse.
  AGENTRACE_SETUP_INLINE static trace_query parse(std::string_view text);
  AGENTRACE_SETUP_INLINE trace_query(const trace_query& o);
  AGENTRACE_SETUP_INLINE trace_query& operator=(const trace_query& o);
  AGENTRACE_SETUP_INLINE trace_query(trace_query&&) noexcept;
  AGENTRACE_SETUP_INLINE trace_query& operator=(trace_query&&) noexcept;
  AGENTRACE_SETUP_INLINE ~trace_query();

  /// The query in its canonical text form.
  AGENTRACE_SETUP_INLINE std::string to_string() const;
  /// It compares with percentiles (`> p95`): match() and select() need a summary.
  AGENTRACE_SETUP_INLINE bool needs_stats() const;
  /// The selection (with one reason per satisfied predicate) if `t` matches. Throws
  /// std::invalid_argument when the query needs statistics and `stats` is null.
  AGENTRACE_SETUP_INLINE std::optional<selection> match(const trace& t,
                                                        const trace_summary* stats = nullptr) const;
  /// The traces of `traces` that match, in their order.
  AGENTRACE_SETUP_INLINE std::vector<selection> select(const std::vector<trace>& traces,
                                                       const trace_summary* stats = nullptr) const;
  /// The query itself (the type is query_types.hpp's).
  AGENTRACE_SETUP_INLINE const query& get() const noexcept;

 private:
  AGENTRACE_SETUP_INLINE explicit trace_query(std::unique_ptr<query> q) noexcept;
  std::unique_ptr<query> q_;
};

/// Which dataset write_dataset() writes (dataset.hpp and preference.hpp describe each).
enum class dataset_kind : std::uint8_t {
  eval,        // one evaluation record per trace: compact call tree + judge prompt
  finetune,    // chat examples from LLM spans with captured content, and correction pairs
  preference,  // preferred / non-preferred answers from a failed step and its later fix
};

/// What write_dataset() writes and how.
struct dataset_options {
  dataset_kind kind = dataset_kind::eval;
  eval_record_options eval{};   // kind eval: the compact tree, judge template and rubric
  finetune_options finetune{};  // kind finetune: plain examples, correction pairs
  bool metadata = false;        // finetune, preference: trace and span ids on each line
};

/// What write_dataset() wrote, and what it skipped.
struct dataset_counts {
  std::size_t lines = 0;
  std::size_t corrections = 0;      // finetune: lines that are correction pairs
  std::size_t without_content = 0;  // preference: a failed step and its fix, no captured messages
  std::size_t identical = 0;        // preference: both attempts answered the same
  std::size_t missing = 0;          // selections whose trace is not in `traces`
};

/// Writes the dataset lines (one JSON document each, without the newline) of the selected
/// traces to `sink`, in the order of `selected`: each selection's trace is looked up in
/// `traces` by id, and an eval record says why it was selected (the selection's reasons).
AGENTRACE_SETUP_INLINE dataset_counts write_dataset(
    const std::vector<trace>& traces, const std::vector<selection>& selected,
    const std::function<void(std::string_view line)>& sink, const dataset_options& options = {});

/// The HTML report (report.hpp) of `traces`: statistics, histograms and tokens per model of
/// every span of `traces`, and the waterfalls of the `selected` ones, in their order, with
/// their reasons. `prices_file` (a price table in one of cost.hpp's formats; empty: none) adds
/// costs; a file that cannot be read or parsed throws std::runtime_error naming it.
AGENTRACE_SETUP_INLINE std::string report_html(const std::vector<trace>& traces,
                                               const std::vector<selection>& selected,
                                               const report_options& options = {},
                                               const std::string& prices_file = {});

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END

// Header-only: the definitions, inline. The library of compiled mode includes each of them in
// a translation unit of its own (src/agentrace_eval*.cpp).
#if AGENTRACE_DETAIL_SETUP_DEFINITIONS && !defined(AGENTRACE_DETAIL_BUILDING_LIB)
// amalgamated: include/agentrace/eval/detail/light_impl.hpp
// SPDX-License-Identifier: MIT
// The definitions of <agentrace/eval/light.hpp>'s entry points, over the reader, span_stats and
// the query: inline, included by light.hpp header-only; in compiled mode compiled once into the
// agentrace library (src/agentrace_eval.cpp).
#define AGENTRACE_EVAL_LIGHT_IMPL_INCLUDED 1

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

AGENTRACE_SETUP_INLINE traces_read read_all(const std::vector<std::string>& paths,
                                            reader_options options) {
  reader r(std::move(options));
  traces_read out;
  out.traces = read_traces(paths, r);
  out.counts = r.counts();
  out.diagnostics = r.diagnostics();
  return out;
}

AGENTRACE_SETUP_INLINE trace_summary::trace_summary() : s_(std::make_unique<span_stats>()) {}
AGENTRACE_SETUP_INLINE trace_summary::trace_summary(const std::vector<trace>& traces)
    : s_(std::make_unique<span_stats>(span_stats::of(traces))) {}
AGENTRACE_SETUP_INLINE trace_summary::trace_summary(trace_summary&&) noexcept = default;
AGENTRACE_SETUP_INLINE trace_summary& trace_summary::operator=(trace_summary&&) noexcept = default;
AGENTRACE_SETUP_INLINE trace_summary::~trace_summary() = default;

AGENTRACE_SETUP_INLINE void trace_summary::add(const trace& t) {
  for (const auto& s : t.spans()) s_->add(s);
}
AGENTRACE_SETUP_INLINE std::vector<name_stats> trace_summary::by_name() const {
  return s_->by_name();
}
AGENTRACE_SETUP_INLINE std::optional<std::uint64_t> trace_summary::percentile(std::string_view name,
                                                                              double p) const {
  return stats().percentile(name, p);
}
AGENTRACE_SETUP_INLINE std::uint64_t trace_summary::spans() const noexcept { return s_->spans(); }
AGENTRACE_SETUP_INLINE std::uint64_t trace_summary::traces() const noexcept { return s_->traces(); }
AGENTRACE_SETUP_INLINE std::uint64_t trace_summary::errors() const noexcept { return s_->errors(); }
AGENTRACE_SETUP_INLINE std::uint64_t trace_summary::duplicates() const noexcept {
  return s_->duplicates();
}
AGENTRACE_SETUP_INLINE const span_stats& trace_summary::stats() const {
  s_->finish();
  return *s_;
}

AGENTRACE_SETUP_INLINE trace_query::trace_query(std::unique_ptr<query> q) noexcept
    : q_(std::move(q)) {}
AGENTRACE_SETUP_INLINE trace_query trace_query::parse(std::string_view text) {
  return trace_query(std::make_unique<query>(query::parse(text)));
}
AGENTRACE_SETUP_INLINE trace_query::trace_query(const trace_query& o)
    : q_(std::make_unique<query>(*o.q_)) {}
AGENTRACE_SETUP_INLINE trace_query& trace_query::operator=(const trace_query& o) {
  if (this != &o) q_ = std::make_unique<query>(*o.q_);
  return *this;
}
AGENTRACE_SETUP_INLINE trace_query::trace_query(trace_query&&) noexcept = default;
AGENTRACE_SETUP_INLINE trace_query& trace_query::operator=(trace_query&&) noexcept = default;
AGENTRACE_SETUP_INLINE trace_query::~trace_query() = default;

AGENTRACE_SETUP_INLINE std::string trace_query::to_string() const { return q_->to_string(); }
AGENTRACE_SETUP_INLINE bool trace_query::needs_stats() const { return q_->needs_stats(); }
AGENTRACE_SETUP_INLINE std::optional<selection> trace_query::match(
    const trace& t, const trace_summary* stats) const {
  return eval::match(*q_, t, stats ? percentile_source(&stats->stats()) : nullptr);
}
AGENTRACE_SETUP_INLINE std::vector<selection> trace_query::select(
    const std::vector<trace>& traces, const trace_summary* stats) const {
  selector sel(*q_, stats ? percentile_source(&stats->stats()) : nullptr);
  for (const trace& t : traces) sel.add(t);
  return sel.finish();
}
AGENTRACE_SETUP_INLINE const query& trace_query::get() const noexcept { return *q_; }

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
// amalgamated: include/agentrace/eval/detail/light_writers_impl.hpp
// SPDX-License-Identifier: MIT
// The definitions of <agentrace/eval/light.hpp>'s writers (write_dataset, report_html), over
// dataset.hpp, preference.hpp and report.hpp: inline, included by light.hpp header-only; in
// compiled mode compiled once into the agentrace library (src/agentrace_eval_writers.cpp).
#define AGENTRACE_EVAL_LIGHT_WRITERS_IMPL_INCLUDED 1

#include <fmt/format.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::eval {

namespace detail {
/// The trace of `traces` each selection names (nullptr: not there), in the selections' order.
inline std::vector<const trace*> selected_traces(const std::vector<trace>& traces,
                                                 const std::vector<selection>& selected) {
  std::unordered_map<trace_id, const trace*, trace_id_hash> by_id;
  for (const trace& t : traces) by_id.emplace(t.id(), &t);
  std::vector<const trace*> out;
  out.reserve(selected.size());
  for (const selection& s : selected) {
    auto it = by_id.find(s.id);
    out.push_back(it == by_id.end() ? nullptr : it->second);
  }
  return out;
}
}  // namespace detail

AGENTRACE_SETUP_INLINE dataset_counts write_dataset(
    const std::vector<trace>& traces, const std::vector<selection>& selected,
    const std::function<void(std::string_view line)>& sink, const dataset_options& options) {
  dataset_counts n;
  const std::vector<const trace*> chosen = detail::selected_traces(traces, selected);
  fmt::memory_buffer b;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const trace* t = chosen[i];
    if (!t) {
      ++n.missing;
      continue;
    }
    switch (options.kind) {
      case dataset_kind::eval:
        b.clear();
        write_eval_record(b, *t, selected[i].reasons, options.eval);
        sink(std::string_view(b.data(), b.size()));
        ++n.lines;
        break;
      case dataset_kind::finetune:
        for (const finetune_example& ex : finetune_examples(*t, options.finetune)) {
          sink(finetune_line(ex, options.metadata));
          ++n.lines;
          n.corrections += ex.correction ? 1 : 0;
        }
        break;
      case dataset_kind::preference: {
        const preference_result r = preference_pairs(*t);
        for (const preference_pair& p : r.pairs) sink(preference_line(p, options.metadata));
        n.lines += r.pairs.size();
        n.without_content += r.without_content;
        n.identical += r.identical;
        break;
      }
    }
  }
  return n;
}

AGENTRACE_SETUP_INLINE std::string report_html(const std::vector<trace>& traces,
                                               const std::vector<selection>& selected,
                                               const report_options& options,
                                               const std::string& prices_file) {
  std::optional<price_table> prices;
  if (!prices_file.empty()) prices = price_table::load(prices_file);
  span_stats st;
  if (prices) st.set_prices(&*prices);
  for (const trace& t : traces)
    for (const span_data& s : t.spans()) st.add(s);
  st.finish();
  const std::vector<const trace*> chosen = detail::selected_traces(traces, selected);
  std::vector<report_trace> drawn;
  drawn.reserve(chosen.size());
  for (std::size_t i = 0; i < chosen.size(); ++i)
    if (chosen[i]) drawn.push_back({chosen[i], selected[i].reasons});
  report_options o = options;
  if (o.traces_matched == 0) o.traces_matched = selected.size();
  fmt::memory_buffer b;
  write_report(b, st, drawn, prices ? &*prices : nullptr, o);
  return fmt::to_string(b);
}

}  // namespace agentrace::eval

AGENTRACE_DETAIL_VISIBILITY_END
#endif
// amalgamated: include/agentrace/tail_sampling.hpp
// SPDX-License-Identifier: MIT
// Tail sampling on the collector thread: every local trace is held until its local root (a span
// whose parent is absent or in another process) has ended, plus a wait for late children; then
// one decision keeps or drops the whole trace. The keep rule is a query in the eval query
// language (agentrace/eval/query.hpp), the same text `agentrace-eval select` runs offline:
//
//   agentrace::start({.tail_sampling = {.rule = "errors or db.query > p95", .ratio = 0.01}});
//   AGENTRACE_TAIL_SAMPLING='errors or duration > 250ms' AGENTRACE_TAIL_SAMPLING_RATIO=0.01
//
// Traces the rule does not keep are kept at a ratio (deterministic on the trace id, the head
// sampler's algorithm) and / or a rate limit per second. A kept trace's local root says why
// (agentrace.sampling.reason); dropped traces are counted in stats(). Percentile predicates
// compare with running quantiles per span name (a window of recent durations, bounded memory).
// Include this header in the file that calls start(): it registers itself with the collector.
// docs/sampling.md describes the rules, bounds and warm-up.

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>


AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// Defaults of tail_sampling_config (docs/sampling.md, docs/configuration.md).
namespace tail_sampling_defaults {
inline constexpr std::chrono::milliseconds wait{100};
inline constexpr std::chrono::milliseconds max_hold{30000};
inline constexpr std::size_t max_traces = 4096;
inline constexpr std::size_t max_spans = 65536;
inline constexpr std::size_t max_bytes = std::size_t{16} << 20;
inline constexpr std::size_t percentile_window = 1024;
inline constexpr std::size_t percentile_warmup = 100;
inline constexpr std::size_t max_names = 1024;  // span names with running quantiles
}  // namespace tail_sampling_defaults

/// The attribute a kept trace's local root carries: the predicates that matched, each with what
/// matched it ("errors: span ..."), separated by "; "; or "ratio", or "rate_limit".
inline constexpr std::string_view sampling_reason_key = "agentrace.sampling.reason";

/// Running percentiles of span durations per name, for `> pNN` predicates: the nearest-rank
/// percentile of the last `window` durations of each name (exact over that window), recomputed
/// when a sixteenth of the window is new. A name has no percentile (its predicates do not
/// match) until `warmup` spans of it were seen. At most `max_names` names are tracked; spans of
/// further names are counted (untracked()). Memory: 8 bytes x window per name.
class running_quantiles {
 public:
  running_quantiles(std::size_t window, std::size_t warmup, std::vector<double> percentiles,
                    std::size_t max_names = tail_sampling_defaults::max_names)
      : window_(std::max<std::size_t>(window, 1)),
        warmup_(std::max<std::size_t>(warmup, 1)),
        max_names_(max_names),
        ps_(std::move(percentiles)) {}

  void add(std::string_view name, std::uint64_t duration_ns) {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      if (by_name_.size() >= max_names_) {
        ++untracked_;
        return;
      }
      it = by_name_.emplace(std::string(name), series{}).first;
      it->second.ring.reserve(std::min<std::size_t>(window_, 64));
      it->second.cut.assign(ps_.size(), std::nullopt);
    }
    series& s = it->second;
    if (s.ring.size() < window_)
      s.ring.push_back(duration_ns);
    else
      s.ring[s.next] = duration_ns;
    s.next = (s.next + 1) % window_;
    ++s.seen;
    ++s.since;
  }

  /// Recomputes the percentiles that are due (the collector calls it before deciding).
  void refresh() {
    for (auto& [name, s] : by_name_) {
      if (s.seen < warmup_ || s.since == 0) continue;
      if (s.computed && s.since < std::max<std::size_t>(1, s.ring.size() / 16)) continue;
      scratch_.assign(s.ring.begin(), s.ring.end());
      for (std::size_t i = 0; i < ps_.size(); ++i) {
        const std::size_t k = eval::nearest_rank_index(scratch_.size(), ps_[i]);
        std::nth_element(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(k),
                         scratch_.end());
        s.cut[i] = scratch_[k];
      }
      s.computed = true;
      s.since = 0;
    }
  }

  /// The p-th percentile of `name` as of the last refresh(); nullopt during its warm-up.
  std::optional<std::uint64_t> percentile(std::string_view name, double p) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return std::nullopt;
    for (std::size_t i = 0; i < ps_.size(); ++i)
      if (ps_[i] == p) return it->second.cut[i];
    return std::nullopt;
  }

  std::size_t names() const noexcept { return by_name_.size(); }
  std::uint64_t untracked() const noexcept { return untracked_; }

 private:
  struct series {
    std::vector<std::uint64_t> ring;
    std::size_t next = 0;
    std::uint64_t seen = 0;
    std::size_t since = 0;  // added since the last computation
    bool computed = false;
    std::vector<std::optional<std::uint64_t>> cut;  // per percentile
  };
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::size_t window_, warmup_, max_names_;
  std::vector<double> ps_;
  std::unordered_map<std::string, series, name_hash, std::equal_to<>> by_name_;
  std::vector<std::uint64_t> scratch_;
  std::uint64_t untracked_ = 0;
};

namespace detail {

/// The tail sampler the collector calls (through span_filter). Collector thread only, except
/// counts().
class tail_sampler final : public span_filter {
 public:
  struct settings {
    std::optional<eval::query> rule;
    double ratio = 0;
    double rate_limit = 0;  // traces of the rest per second; 0: no limit
    std::chrono::milliseconds wait = tail_sampling_defaults::wait;
    std::chrono::milliseconds max_hold = tail_sampling_defaults::max_hold;
    std::size_t max_traces = tail_sampling_defaults::max_traces;
    std::size_t max_spans = tail_sampling_defaults::max_spans;
    std::size_t max_bytes = tail_sampling_defaults::max_bytes;
    std::size_t percentile_window = tail_sampling_defaults::percentile_window;
    std::size_t percentile_warmup = tail_sampling_defaults::percentile_warmup;
  };

  tail_sampler(settings s, const span_limits& limits, const resource& res)
      : s_(std::move(s)),
        limits_(limits),
        assembler_(assembly_options{s_.wait, s_.max_hold, s_.max_traces, s_.max_spans}),
        threshold_(ratio_threshold(s_.ratio)) {
    for (const auto& [k, v] : res.attributes)
      resource_.attributes.emplace_back(k, attr_value{std::in_place_type<std::string>, v});
    if (s_.rule) {
      std::vector<double> ps;
      for (const auto& a : s_.rule->atoms())
        if (a.value.k == eval::literal::kind::percentile &&
            std::find(ps.begin(), ps.end(), a.value.percentile) == ps.end())
          ps.push_back(a.value.percentile);
      if (!ps.empty())
        quantiles_.emplace(s_.percentile_window, s_.percentile_warmup, std::move(ps));
      atom_texts_ = eval::detail::atom_texts(*s_.rule);
      for (const auto& a : s_.rule->atoms()) {
        if (a.k == eval::atom::kind::attribute) keys_.push_back(a.subject);
        if (a.k == eval::atom::kind::conversation)
          for (const auto& k : eval::conversation_attribute_keys()) keys_.push_back(k);
      }
    }
    tokens_ = std::max(1.0, s_.rate_limit);
    decided_.resize(std::bit_ceil(std::max<std::size_t>(s_.max_traces, 1)));
  }

  void hold(std::vector<span_record>& pending, std::size_t n, const clock_converter& clock,
            time_point now) override {
    for (std::size_t i = 0; i < n; ++i) {
      span_record& r = pending[i];
      if (quantiles_)
        quantiles_->add(r.name(), static_cast<std::uint64_t>(std::max<std::int64_t>(
                                      0, clock.duration_ns(r.start_ticks, r.end_ticks))));
      // A late span of a decided trace? (Spans of one trace tend to arrive together: the last
      // trace looked up and found undecided is not looked up again until a decision.)
      const trace_key k = key(r.trace_id);
      const decision* d = k == undecided_ ? nullptr : find_decision(k);
      if (!d) undecided_ = k;
      if (d) {
        if (d->kept) {
          if (is_local_root(r)) add_reason(r, d->reason);
          if (ready_.empty()) ready_.emplace_back();
          ready_.back().push_back(std::move(r));
        } else {
          count(spans_dropped_, 1);
          tail_sampled_out_total.fetch_add(1, std::memory_order_release);
          r.reset();  // what the dropped span owns is freed now
        }
        continue;
      }
      held_bytes_ += record_bytes(r);
      for (auto& t : assembler_.add(std::move(r), now)) decide(std::move(t), clock, now);
      while (held_bytes_ > s_.max_bytes)  // over the byte bound: the oldest trace is decided
        if (auto t = assembler_.take_oldest())
          decide(std::move(*t), clock, now);
        else
          break;
    }
    publish_held();
  }

  std::size_t take_ready(std::vector<span_record>& pending, const clock_converter& clock,
                         time_point now, take_mode mode) override {
    if (ready_.empty()) {
      if (quantiles_) quantiles_->refresh();
      for (auto& t : mode == take_mode::all ? assembler_.take_all()
                                            : assembler_.take_ready(now, mode == take_mode::ended))
        decide(std::move(t), clock, now);
      publish_held();
    }
    std::size_t k = 0;
    while (k < pending.size() && !ready_.empty()) {
      std::vector<span_record>& v = ready_.front();
      while (k < pending.size() && ready_head_ < v.size())
        pending[k++] = std::move(v[ready_head_++]);
      if (ready_head_ < v.size()) break;
      assembler_.recycle(std::move(v));
      ready_.pop_front();
      ready_head_ = 0;
    }
    return k;
  }

  bool holding() const noexcept override {
    return assembler_.pending_traces() > 0 || !ready_.empty();
  }

  time_point next_due() const noexcept override {
    return ready_.empty() ? assembler_.next_due() : time_point::min();
  }

  tail_sampling_counts counts() const noexcept override {
    tail_sampling_counts c;
    c.traces_kept = traces_kept_.load(std::memory_order_relaxed);
    c.traces_dropped = traces_dropped_.load(std::memory_order_relaxed);
    c.spans_dropped = spans_dropped_.load(std::memory_order_relaxed);
    c.traces_decided_early = decided_early_.load(std::memory_order_relaxed);
    c.held_traces = held_traces_.load(std::memory_order_relaxed);
    c.held_spans = held_spans_.load(std::memory_order_relaxed);
    c.peak_held_spans = peak_held_spans_.load(std::memory_order_relaxed);
    c.held_bytes = held_bytes_out_.load(std::memory_order_relaxed);
    return c;
  }

  const settings& get_settings() const noexcept { return s_; }

 private:
  using trace_key = std::pair<std::uint64_t, std::uint64_t>;
  struct key_hash {
    std::size_t operator()(const trace_key& k) const noexcept {
      return static_cast<std::size_t>(eval::detail::trace_key(trace_id{k.first, k.second}));
    }
  };
  struct decision {
    trace_key k{};
    bool used = false;
    bool kept = false;
    std::string reason;
  };
  static trace_key key(const trace_id& t) noexcept { return {t.hi, t.lo}; }
  static bool is_local_root(const span_record& r) noexcept {
    return r.parent_span_id == 0 || r.parent_remote;
  }
  static void count(std::atomic<std::uint64_t>& c, std::uint64_t n) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);  // one writer
  }
  // What a held record takes: the record and what it owns (owned strings, the extension's
  // attributes, events, links and strings), by capacity.
  static std::size_t record_bytes(const span_record& r) noexcept {
    std::size_t n = sizeof(span_record);
    for (std::size_t i = 0; i < r.n_attrs && i < detail::inline_attrs; ++i)
      if (r.attrs[i].type() == slot_type::owned_str)
        n += sizeof(std::string) + r.attrs[i].owned()->capacity();
    const span_ext* x = r.ext();
    if (!x) return n;
    auto attrs = [](const std::vector<attribute>& v) {
      std::size_t b = v.capacity() * sizeof(attribute);
      for (const auto& a : v) b += eval::detail::value_bytes(a.value);
      return b;
    };
    n += sizeof(span_ext) + attrs(x->attributes) + x->status_message.capacity() +
         x->name.capacity() + x->trace_state.capacity() +
         x->events.capacity() * sizeof(event_data) + x->links.capacity() * sizeof(link_data);
    for (const auto& e : x->events) n += attrs(e.attributes);
    for (const auto& l : x->links) n += l.trace_state.capacity() + attrs(l.attributes);
    return n;
  }
  static void add_reason(span_record& r, const std::string& reason) {
    r.extension().attributes.push_back(
        attribute{sampling_reason_key, attr_value{std::in_place_type<std::string>, reason}});
  }

  // The rule over the held records, each presented to the query evaluator as the span_data
  // every exporter that keeps spans sees (the same conversion and limits), with only the
  // attributes the rule names: predicates read nothing else of a span. One pass converts each
  // record once and tests the predicates not yet satisfied (none once all are: the rest of the
  // trace cannot change the outcome), remembering the first span that satisfied each; only a
  // trace the rule keeps has its reasons formatted, from those spans (what `agentrace-eval
  // select` explains: the first span of the trace that satisfied each predicate).
  std::optional<std::string> rule_reason(const basic_assembled_trace<span_record>& t,
                                         const clock_converter& clock) {
    if (!s_.rule) return std::nullopt;
    const auto& atoms = s_.rule->atoms();
    const std::uint64_t all =
        atoms.size() >= 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << atoms.size()) - 1;
    const eval::percentile_source stats = quantiles_ ? &*quantiles_ : nullptr;
    std::uint64_t mask = 0;
    first_match_.assign(atoms.size(), 0);
    for (std::size_t j = 0; j < t.spans.size() && mask != all; ++j) {
      present(t.spans[j], clock);
      for (std::size_t i = 0; i < atoms.size(); ++i)
        if (!((mask >> i) & 1u) && eval::atom_matches(atoms[i], view_, &resource_, stats)) {
          mask |= std::uint64_t(1) << i;
          first_match_[i] = j;
        }
    }
    if (!eval::detail::eval_node(s_.rule->root(), mask)) return std::nullopt;
    atom_reasons_.assign(atoms.size(), std::string());
    for (std::size_t i = 0; i < atoms.size(); ++i)
      if ((mask >> i) & 1u) {
        present(t.spans[first_match_[i]], clock);
        eval::atom_matches(atoms[i], view_, &resource_, stats, &atom_reasons_[i]);
      }
    reasons_.clear();
    eval::detail::explain(*s_.rule, s_.rule->root(), mask, atom_texts_, atom_reasons_, reasons_);
    if (reasons_.size() == 1) return std::move(reasons_.front());
    std::string why;
    for (const auto& line : reasons_) {
      if (!why.empty()) why += "; ";
      why += line;
    }
    return why;
  }
  void present(const span_record& r, const clock_converter& clock) {
    auto keep = [this](std::string_view k) {
      return std::find(keys_.begin(), keys_.end(), k) != keys_.end();
    };
    fill_span_data(view_, r, clock, limits_, keep, false);
  }

  // The rest: the ratio (deterministic on the trace id), capped or replaced by the rate limit.
  std::optional<std::string> rest_reason(const trace_id& id, time_point now) {
    const bool by_ratio = s_.ratio > 0;
    if (by_ratio && trace_randomness(id) < threshold_) return std::nullopt;
    if (!by_ratio && s_.rate_limit <= 0) return std::nullopt;
    if (s_.rate_limit > 0) {
      if (last_refill_ != time_point{}) {
        const double secs = std::chrono::duration<double>(now - last_refill_).count();
        tokens_ = std::min(std::max(1.0, s_.rate_limit), tokens_ + secs * s_.rate_limit);
      }
      last_refill_ = now;
      if (tokens_ < 1.0) return std::nullopt;
      tokens_ -= 1.0;
    }
    return std::string(by_ratio ? "ratio" : "rate_limit");
  }

  void decide(basic_assembled_trace<span_record>&& t, const clock_converter& clock,
              time_point now) {
    undecided_ = {};
    for (const span_record& r : t.spans) held_bytes_ -= std::min(held_bytes_, record_bytes(r));
    if (!t.complete) count(decided_early_, 1);
    std::optional<std::string> why = rule_reason(t, clock);
    if (!why) why = rest_reason(t.id, now);
    if (why) {
      for (span_record& r : t.spans)
        if (is_local_root(r)) add_reason(r, *why);
      ready_.push_back(std::move(t.spans));  // exported from there (take_ready)
      count(traces_kept_, 1);
    } else {
      count(traces_dropped_, 1);
      count(spans_dropped_, t.spans.size());
      tail_sampled_out_total.fetch_add(t.spans.size(), std::memory_order_release);
      assembler_.recycle(std::move(t.spans));
    }
    decision& d = decided_[slot(key(t.id))];  // a later decision may take an older one's slot
    d.k = key(t.id);
    d.used = true;
    d.kept = why.has_value();
    d.reason = why ? std::move(*why) : std::string();
  }

  // Late spans follow their trace's decision while it is remembered: a direct-mapped table of
  // max_traces slots (rounded up to a power of two), no allocation per decision.
  std::size_t slot(const trace_key& k) const noexcept {
    return key_hash{}(k) & (decided_.size() - 1);
  }
  const decision* find_decision(const trace_key& k) const noexcept {
    const decision& d = decided_[slot(k)];
    return d.used && d.k == k ? &d : nullptr;
  }

  void publish_held() noexcept {
    const std::uint64_t spans = assembler_.pending_spans();
    held_traces_.store(assembler_.pending_traces(), std::memory_order_relaxed);
    held_spans_.store(spans, std::memory_order_relaxed);
    held_bytes_out_.store(held_bytes_, std::memory_order_relaxed);
    if (spans > peak_held_spans_.load(std::memory_order_relaxed))
      peak_held_spans_.store(spans, std::memory_order_relaxed);
  }

  settings s_;
  span_limits limits_;
  eval::resource_info resource_;
  basic_trace_assembler<span_record> assembler_;
  std::optional<running_quantiles> quantiles_;
  std::vector<std::string> keys_;         // the span attributes the rule reads
  span_data view_;                        // a held record as the rule sees it (storage reused)
  std::vector<std::size_t> first_match_;  // per predicate: the first span that satisfied it
  std::vector<std::string> atom_texts_;   // of the rule's predicates, by index
  std::vector<std::string> atom_reasons_, reasons_;
  std::uint64_t threshold_;
  double tokens_ = 1;
  time_point last_refill_{};
  std::deque<std::vector<span_record>> ready_;  // records of kept traces, to export
  std::size_t ready_head_ = 0;                  // of ready_.front(), those already taken
  std::vector<decision> decided_;
  trace_key undecided_{};  // the last trace found undecided (since the last decision)
  std::atomic<std::uint64_t> traces_kept_{0}, traces_dropped_{0}, spans_dropped_{0},
      decided_early_{0}, held_traces_{0}, held_spans_{0}, peak_held_spans_{0}, held_bytes_out_{0};
  std::size_t held_bytes_ = 0;  // record_bytes() of the spans held
};

/// Builds the tail sampler for `c`, environment variables filling what `c` leaves unset;
/// nullptr when neither sets a rule, a ratio or a rate limit.
inline std::unique_ptr<span_filter> make_tail_sampler(const tail_sampling_config& c,
                                                      const span_limits& limits,
                                                      const resource& res, bool read_env) {
  tail_sampler::settings s;
  std::string rule = c.rule;
  bool rule_from_env = false;
  if (rule.empty() && read_env)
    if (auto v = env("AGENTRACE_TAIL_SAMPLING")) {
      rule = *v;
      rule_from_env = true;
    }
  auto number = [&](const std::optional<double>& code, const char* var, double hi) {
    if (code) {
      if (!(*code >= 0 && *code <= hi))
        throw std::invalid_argument(
            fmt::format("tail sampling: {} = {} is not in [0, {}]", var, *code, hi));
      return *code;
    }
    return read_env ? env_double(var, 0, hi).value_or(0) : 0.0;
  };
  s.ratio = number(c.ratio, "AGENTRACE_TAIL_SAMPLING_RATIO", 1);
  s.rate_limit = number(c.rate_limit, "AGENTRACE_TAIL_SAMPLING_RATE_LIMIT", 1e9);
  if (rule.empty() && s.ratio <= 0 && s.rate_limit <= 0 && !c.ratio) return nullptr;
  if (!rule.empty()) {
    try {
      s.rule = eval::query::parse(rule);
      if (s.rule->atoms().size() > 64)
        throw eval::query_error(rule, 1, "a query may have at most 64 predicates");
    } catch (const eval::query_error& e) {
      if (!rule_from_env) throw;
      diag("AGENTRACE_TAIL_SAMPLING: {}; tail sampling is off, every trace is exported", e.what());
      return nullptr;
    }
  }
  auto size = [&](std::size_t code, const char* var, std::size_t def) -> std::size_t {
    if (code) return code;
    const auto v = read_env ? env_uint(var, def) : def;
    return v ? static_cast<std::size_t>(v) : def;
  };
  auto ms = [&](std::chrono::milliseconds code, const char* var, std::chrono::milliseconds def) {
    if (code.count() > 0) return code;
    return std::chrono::milliseconds(
        read_env ? env_uint(var, static_cast<std::uint64_t>(def.count())) : def.count());
  };
  namespace d = tail_sampling_defaults;
  s.wait = ms(c.wait, "AGENTRACE_TAIL_SAMPLING_WAIT", d::wait);
  s.max_hold = ms(c.max_hold, "AGENTRACE_TAIL_SAMPLING_MAX_HOLD", d::max_hold);
  s.max_traces = size(c.max_traces, "AGENTRACE_TAIL_SAMPLING_MAX_TRACES", d::max_traces);
  s.max_spans = size(c.max_spans, "AGENTRACE_TAIL_SAMPLING_MAX_SPANS", d::max_spans);
  s.max_bytes = size(c.max_bytes, "AGENTRACE_TAIL_SAMPLING_MAX_BYTES", d::max_bytes);
  s.percentile_window =
      size(c.percentile_window, "AGENTRACE_TAIL_SAMPLING_WINDOW", d::percentile_window);
  s.percentile_warmup =
      size(c.percentile_warmup, "AGENTRACE_TAIL_SAMPLING_WARMUP", d::percentile_warmup);
  return std::make_unique<tail_sampler>(std::move(s), limits, res);
}

// Registers the factory with the collector when this header is included.
inline const bool tail_sampler_registered = [] {
  tail_sampler_factory.store(&make_tail_sampler);
  return true;
}();

}  // namespace detail
}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
