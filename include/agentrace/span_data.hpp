// SPDX-License-Identifier: MIT
// The owned span model: a finished span with its events and links, Unix-epoch times and owned
// strings, as the exporters that keep spans (console tree, in-memory store), in-process
// reflection and the eval reader see it. Plain types over the attribute and context types
// only; exporter.hpp includes it and converts records to it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"
#include "agentrace/record.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// An event as exporters that keep spans see it.
struct event_view {
  std::uint64_t time_unix_ns{0};
  std::string name;
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::uint32_t dropped_attributes{0};  // beyond the event attribute count limit
};

/// A link as exporters that keep spans see it.
struct link_view {
  span_context context;
  std::string trace_state;
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::uint32_t dropped_attributes{0};  // beyond the link attribute count limit
};

/// A finished span with owned data and Unix-epoch times: what the in-memory store, the console
/// tree and in-process reflection work with.
struct span_data {
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
  std::uint64_t parent_span_id{0};
  std::uint8_t flags{0};
  bool parent_remote{false};
  std::string name;
  span_kind kind{span_kind::internal};
  std::uint64_t start_unix_ns{0};
  std::uint64_t end_unix_ns{0};
  status_code status{status_code::unset};
  std::string status_message;
  std::string trace_state;
  std::vector<std::pair<std::string, attr_value>> attributes;
  std::vector<event_view> events;
  std::vector<link_view> links;
  std::uint32_t dropped_attributes{0};
  std::uint32_t dropped_events{0};
  std::uint32_t dropped_links{0};
  std::string code_file;
  std::uint32_t code_line{0};
  std::string code_function;

  std::uint64_t duration_ns() const noexcept {
    return end_unix_ns >= start_unix_ns ? end_unix_ns - start_unix_ns : 0;
  }
  /// The attribute named `key`, or nullptr.
  const attr_value* attr(std::string_view key) const noexcept {
    for (const auto& [k, v] : attributes)
      if (k == key) return &v;
    return nullptr;
  }
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
