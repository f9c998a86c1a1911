// SPDX-License-Identifier: MIT
// What a finished span is: one fixed-size record, built on the agent thread and handed to the
// collector through the queue. Everything rare or variable-sized hangs off `ext`.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"

namespace agentrace {

/// OpenTelemetry SpanKind (values as in OTLP).
enum class span_kind : std::uint8_t { internal = 1, server = 2, client = 3, producer = 4, consumer = 5 };

/// OpenTelemetry StatusCode (values as in OTLP).
enum class status_code : std::uint8_t { unset = 0, ok = 1, error = 2 };

/// Static call-site data of a span: lives in a function-local `static constexpr`, so a span refers
/// to its name, kind and source location with one pointer.
struct span_site {
  std::string_view name;
  span_kind kind{span_kind::internal};
  const char* file{""};
  std::uint32_t line{0};
  const char* function{""};
};

namespace detail {

inline constexpr std::size_t inline_attrs = 8;

enum class slot_type : std::uint8_t { boolean, int64, float64, static_str, owned_str };

struct attr_slot {
  const char* key;
  std::uint32_t key_len;
  std::uint32_t str_len;  // static_str only
  union {
    bool b;
    std::int64_t i;
    double d;
    const char* s;
    std::string* owned;
  } v;
};

struct event_data {
  std::uint64_t ticks{0};
  std::string_view name;  // static storage (static_string)
  std::vector<attribute> attributes;
  std::uint32_t dropped_attributes{0};
};

struct link_data {
  span_context context;
  std::string trace_state;
  std::vector<attribute> attributes;
  std::uint32_t dropped_attributes{0};
};

/// The rare, variable-sized part of a span. Allocated on first use only.
struct span_ext {
  std::vector<attribute> attributes;  // beyond the inline slots
  std::vector<event_data> events;
  std::vector<link_data> links;
  std::string status_message;
  std::string name;         // runtime name (set_name), replaces the site's name when not empty
  std::string trace_state;  // W3C tracestate carried by this span
  std::uint32_t dropped_attributes{0};
  std::uint32_t dropped_events{0};
  std::uint32_t dropped_links{0};
};

}  // namespace detail

/// One finished span, as it travels through the queue. Fixed size; move-only. The move copies
/// only the header and the attribute slots in use.
struct span_record {
  const span_site* site{nullptr};
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
  std::uint64_t parent_span_id{0};
  std::uint64_t start_ticks{0};
  std::uint64_t end_ticks{0};
  std::uint8_t flags{0};
  bool parent_remote{false};
  status_code status{status_code::unset};
  std::uint8_t n_attrs{0};
  std::uint32_t thread_index{0};
  detail::span_ext* ext{nullptr};
  detail::slot_type types[detail::inline_attrs];
  detail::attr_slot attrs[detail::inline_attrs];

  span_record() noexcept = default;
  span_record(const span_record&) = delete;
  span_record& operator=(const span_record&) = delete;
  span_record(span_record&& o) noexcept { take(o); }
  span_record& operator=(span_record&& o) noexcept {
    if (this != &o) {
      reset();
      take(o);
    }
    return *this;
  }
  ~span_record() { reset(); }

  /// Frees what the record owns and makes it empty.
  void reset() noexcept {
    for (std::uint8_t i = 0; i < n_attrs; ++i)
      if (types[i] == detail::slot_type::owned_str) delete attrs[i].v.owned;
    n_attrs = 0;
    delete ext;
    ext = nullptr;
  }

  detail::span_ext& extension() {
    if (!ext) ext = new detail::span_ext();
    return *ext;
  }

  std::string_view name() const noexcept {
    if (ext && !ext->name.empty()) return ext->name;
    return site ? site->name : std::string_view{};
  }
  span_kind kind() const noexcept { return site ? site->kind : span_kind::internal; }

 private:
  void take(span_record& o) noexcept {
    // Header fields up to `types`, then only the used slots: an empty span moves ~72 bytes.
    std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o), offsetof(span_record, types));
    std::memcpy(types, o.types, o.n_attrs);
    std::memcpy(static_cast<void*>(attrs), static_cast<const void*>(o.attrs),
                sizeof(detail::attr_slot) * o.n_attrs);
    o.n_attrs = 0;
    o.ext = nullptr;
  }
};

}  // namespace agentrace
