// SPDX-License-Identifier: MIT
// What a finished span is: one fixed-size record, built on the agent thread and handed to the
// collector through the queue. Everything rare or variable-sized hangs off `ext`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

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
  /// A recording span's header (scoped_span::begin): every member written once.
  span_record(const span_site* s, agentrace::trace_id tid, std::uint64_t id, std::uint64_t parent,
              std::uint8_t f, bool remote, std::uint32_t thread) noexcept
      : site(s),
        trace_id(tid),
        span_id(id),
        parent_span_id(parent),
        start_ticks(0),
        end_ticks(0),
        flags(f),
        parent_remote(remote),
        status(status_code::unset),
        n_attrs(0),
        thread_index(thread),
        ext(nullptr) {}
  span_record(const span_record&) = delete;
  span_record& operator=(const span_record&) = delete;

  // The move is how a finished span enters the queue, a few nanoseconds after the span wrote
  // these fields: each field is copied at the width it was written (detail::opaque), so every
  // load is forwarded from the store buffer; the members are initialised here, not zeroed first.
  span_record(span_record&& o) noexcept
      : site(detail::opaque(o.site)),
        trace_id{detail::opaque(o.trace_id.hi), detail::opaque(o.trace_id.lo)},
        span_id(detail::opaque(o.span_id)),
        parent_span_id(detail::opaque(o.parent_span_id)),
        start_ticks(detail::opaque(o.start_ticks)),
        end_ticks(detail::opaque(o.end_ticks)),
        flags(detail::opaque(o.flags)),
        parent_remote(detail::opaque(o.parent_remote)),
        status(detail::opaque(o.status)),
        n_attrs(detail::opaque(o.n_attrs)),
        thread_index(detail::opaque(o.thread_index)),
        ext(detail::opaque(o.ext)) {
    copy_slots(o);
    o.n_attrs = 0;
    o.ext = nullptr;
  }
  span_record& operator=(span_record&& o) noexcept {
    if (this != &o) {
      reset();
      std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o),
                  offsetof(span_record, types));
      copy_slots(o);
      o.n_attrs = 0;
      o.ext = nullptr;
    }
    return *this;
  }
  ~span_record() { reset(); }

  /// Frees what the record owns and makes it empty.
  void reset() noexcept {
    // A record that was moved into the queue owns nothing: one test, no call.
    if (n_attrs != 0 || ext != nullptr) [[unlikely]]
      release();
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
  void copy_slots(const span_record& o) noexcept {
    // A slot is three words (key, key_len|str_len, value), each written by one 8-byte store
    // (scoped_span::put_slot), so each is copied as one 8-byte load.
    const std::uint8_t n = o.n_attrs;
    for (std::uint8_t i = 0; i < n; ++i) {
      types[i] = detail::opaque(o.types[i]);
      const char* src = reinterpret_cast<const char*>(&o.attrs[i]);
      char* dst = reinterpret_cast<char*>(&attrs[i]);
      std::uint64_t a, b, c;
      std::memcpy(&a, src, 8);
      std::memcpy(&b, src + 8, 8);
      std::memcpy(&c, src + 16, 8);
      a = detail::opaque(a);
      b = detail::opaque(b);
      c = detail::opaque(c);
      std::memcpy(dst, &a, 8);
      std::memcpy(dst + 8, &b, 8);
      std::memcpy(dst + 16, &c, 8);
    }
  }

  AGENTRACE_DETAIL_NOINLINE void release() noexcept {
    for (std::uint8_t i = 0; i < n_attrs; ++i)
      if (types[i] == detail::slot_type::owned_str) delete attrs[i].v.owned;
    n_attrs = 0;
    delete ext;
    ext = nullptr;
  }
};

static_assert(sizeof(detail::attr_slot) == 3 * sizeof(std::uint64_t));

}  // namespace agentrace
