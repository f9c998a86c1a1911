// SPDX-License-Identifier: MIT
// Read-back traces: spans (span_data) with their resource, grouped by trace id, de-duplicated,
// and linked into a call tree (detail::trace_tree) with orphans kept as extra roots.
#pragma once

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

#include "agentrace/context.hpp"
#include "agentrace/detail/ascii.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/trace_hash.hpp"
#include "agentrace/detail/trace_tree.hpp"
#include "agentrace/span_data.hpp"

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
