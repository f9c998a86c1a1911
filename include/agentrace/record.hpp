// SPDX-License-Identifier: MIT
// What a finished span is: one fixed-size record, built on the agent thread and handed to the
// collector through the queue. Everything rare or variable-sized hangs off `ext`.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "agentrace/attributes.hpp"
#include "agentrace/context.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// OpenTelemetry SpanKind (values as in OTLP).
enum class span_kind : std::uint8_t {
  internal = 1,
  server = 2,
  client = 3,
  producer = 4,
  consumer = 5
};

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

/// Inline attribute slots per record: with the 64-byte header and the extension pointer, seven
/// 16-byte slots make the record exactly three cache lines.
inline constexpr std::size_t inline_attrs = 7;

enum class slot_type : std::uint8_t { boolean, int64, float64, static_str, owned_str };

/// One inline attribute in two words, each written by one 8-byte store on the hot path:
///   key:   bits 0-47 the key name's address, 48-60 its length, 61-63 the slot_type;
///   value: the bool / int64 / double bits; a static string's address (bits 0-47) and length
///          (48-63); an owned string's std::string*.
/// User-space addresses fit in 48 bits on x86-64 and AArch64 Linux, macOS and Windows (the
/// kernel hands out higher ones only to mmap calls that ask for them); pack_* checks each
/// address and the caller stores the attribute out of line when one does not fit.
struct attr_slot {
  std::uint64_t key;
  std::uint64_t value;

  static constexpr std::uint64_t addr_mask = (std::uint64_t{1} << 48) - 1;
  static constexpr std::size_t max_key_len = (std::size_t{1} << 13) - 1;
  static constexpr std::size_t max_static_len = (std::size_t{1} << 16) - 1;

  /// The packed key word, or 0 if `k` does not fit (too long, or an address above 48 bits).
  AGENTRACE_DETAIL_ALWAYS_INLINE static std::uint64_t pack_key(std::string_view k,
                                                               slot_type t) noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(k.data());
    if ((static_cast<std::uint64_t>(a) & ~addr_mask) != 0 || k.size() > max_key_len) [[unlikely]]
      return 0;
    return static_cast<std::uint64_t>(a) | (std::uint64_t{k.size()} << 48) |
           (std::uint64_t{static_cast<std::uint8_t>(t)} << 61);
  }
  /// The packed value of a static string, or 0 if it does not fit.
  AGENTRACE_DETAIL_ALWAYS_INLINE static std::uint64_t pack_static(const char* s,
                                                                  std::size_t n) noexcept {
    const auto a = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(s));
    if ((a & ~addr_mask) != 0 || n > max_static_len) [[unlikely]]
      return 0;
    return a | (std::uint64_t{n} << 48);
  }

  // The casts below turn packed words back into the addresses pack_key / pack_static took apart
  // (NOLINT: performance-no-int-to-ptr; the packing is the point, see above).
  slot_type type() const noexcept { return static_cast<slot_type>(key >> 61); }
  std::string_view key_name() const noexcept {
    return {reinterpret_cast<const char*>(  // NOLINT(performance-no-int-to-ptr)
                static_cast<std::uintptr_t>(key & addr_mask)),
            static_cast<std::size_t>((key >> 48) & max_key_len)};
  }
  bool as_bool() const noexcept { return value != 0; }
  std::int64_t as_int() const noexcept { return static_cast<std::int64_t>(value); }
  double as_double() const noexcept { return std::bit_cast<double>(value); }
  /// A static_str or owned_str value.
  std::string_view as_string() const noexcept {
    if (type() == slot_type::owned_str)
      return *reinterpret_cast<const std::string*>(  // NOLINT(performance-no-int-to-ptr)
          static_cast<std::uintptr_t>(value));
    return {reinterpret_cast<const char*>(  // NOLINT(performance-no-int-to-ptr)
                static_cast<std::uintptr_t>(value & addr_mask)),
            static_cast<std::size_t>(value >> 48)};
  }
  std::string* owned() const noexcept {
    return reinterpret_cast<std::string*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<std::uintptr_t>(value));
  }
};
static_assert(sizeof(attr_slot) == 16);

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

// ext_ is read only when has_ext says it was written (extension(), copy_tail); through the union
// that scoped_span keeps its record in, GCC cannot see that and warns it may be uninitialised.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

/// One finished span, as it travels through the queue: three cache lines, 64-byte aligned.
/// The first line is the header, all an empty span writes; attribute slots fill the next ones
/// as they are set, and the extension pointer at the end is written only when the span has one
/// (`has_ext`). A span that sets no attribute therefore moves one cache line into the queue.
/// Move-only; the move copies the header and what is in use.
struct alignas(64) span_record {
  // --- header: the first cache line ---
  const span_site* site{nullptr};
  agentrace::trace_id trace_id{};
  std::uint64_t span_id{0};
  std::uint64_t parent_span_id{0};
  // Both 0 in a default-constructed record; a span's are set by begin() and finish() (the
  // constructor below leaves them, so that the hot path stores each once).
  std::uint64_t start_ticks;
  std::uint64_t end_ticks;
  std::uint8_t flags{0};
  bool parent_remote{false};
  status_code status{status_code::unset};
  std::uint8_t n_attrs{0};
  bool has_ext{false};
  std::uint8_t reserved_{0};      // the misc word's one unused byte, kept 0
  std::uint16_t thread_index{0};  // the recording thread's number (wraps at 65,536)
  // --- attribute slots, then the extension ---
  detail::attr_slot attrs[detail::inline_attrs];
  detail::span_ext* ext_;  // valid only while has_ext

  span_record() noexcept : start_ticks(0), end_ticks(0) {}
  /// A recording span's header (span_core::begin): every header member written once; the
  /// eight bytes from `flags` to `thread_index` by one 8-byte store (misc word, below).
  /// `flags_remote`: `flags` and `parent_remote` as one word (detail::pack_flags_remote).
  span_record(const span_site* s, agentrace::trace_id tid, std::uint64_t id, std::uint64_t parent,
              std::uint16_t flags_remote, std::uint16_t thread) noexcept
      : site(s), trace_id(tid), span_id(id), parent_span_id(parent) {
    store_misc(misc_of(flags_remote, thread));
  }

  // The header's last eight bytes (flags, parent_remote, status, n_attrs, has_ext, reserved_,
  // thread_index) as one word. The hot path writes them only as this word (begin, push_slot,
  // and set_misc_byte for the rarer status and has_ext) and the move into the queue copies them
  // with one 8-byte load, which the store buffer can forward only from a store at least as wide.
  // Byte offsets of the word's fields (static_assert below the class).
  static constexpr unsigned misc_flags = 0, misc_remote = 1, misc_status = 2, misc_n_attrs = 3,
                            misc_has_ext = 4, misc_reserved = 5, misc_thread = 6;
  /// Shift of the `width`-byte field at byte `byte` within the word as a loaded integer.
  static constexpr unsigned misc_shift(unsigned byte, unsigned width = 1) noexcept {
    return std::endian::native == std::endian::little ? 8 * byte : 8 * (8 - width - byte);
  }
  // flags and parent_remote are laid out as a context's flags and remote (flags_remote).
  static std::uint64_t misc_of(std::uint16_t flags_remote, std::uint16_t thread) noexcept {
    return (std::uint64_t{flags_remote} << misc_shift(misc_flags, sizeof flags_remote)) |
           (std::uint64_t{thread} << misc_shift(misc_thread, sizeof thread));
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE std::uint64_t load_misc() const noexcept {
    std::uint64_t w;
    std::memcpy(&w, reinterpret_cast<const unsigned char*>(this) + misc_offset, sizeof w);
    return w;
  }
  AGENTRACE_DETAIL_ALWAYS_INLINE void store_misc(std::uint64_t w) noexcept {
    std::memcpy(reinterpret_cast<unsigned char*>(this) + misc_offset, &w, sizeof w);
  }
  /// Sets one byte of the misc word (status, has_ext) with an 8-byte store.
  void set_misc_byte(unsigned byte, std::uint8_t v) noexcept {
    const unsigned sh = misc_shift(byte);
    store_misc((load_misc() & ~(std::uint64_t{0xff} << sh)) | (std::uint64_t{v} << sh));
  }
  void set_status(status_code c) noexcept {
    set_misc_byte(misc_status, static_cast<std::uint8_t>(c));
  }
  static constexpr std::size_t misc_offset = 56;
  span_record(const span_record&) = delete;
  span_record& operator=(const span_record&) = delete;

  // The move is how a finished span enters the queue, a few nanoseconds after the span wrote
  // these fields: each field is copied at the width it was written (detail::opaque), so every
  // load is forwarded from the store buffer; the members are initialised here, not zeroed first.
  // On a thread whose queue is large (thread_locals::demote_records), the lines written are then
  // handed to the shared cache, since the next core to touch them is the collector's.
  span_record(span_record&& o) noexcept
      : span_record(relocate, std::move(o), detail::tls.demote_records) {}

  /// Moves without the cache hint: for a record that stays in use on this core (a scoped_span
  /// moved into another).
  static constexpr struct relocate_t {
  } relocate{};
  span_record(relocate_t, span_record&& o, bool demote = false) noexcept
      : site(detail::opaque(o.site)),
        trace_id{detail::opaque(o.trace_id.hi), detail::opaque(o.trace_id.lo)},
        span_id(detail::opaque(o.span_id)),
        parent_span_id(detail::opaque(o.parent_span_id)),
        start_ticks(detail::opaque(o.start_ticks)),
        end_ticks(detail::opaque(o.end_ticks)) {
    const std::uint64_t m = detail::opaque(o.load_misc());
    store_misc(m);
    // Taken from the register just stored: a demoted line is not read back. n_attrs and has_ext
    // are adjacent bytes: one test says whether there is anything past the header (not for an
    // empty span, which then leaves `o` as it is: it owns nothing already).
    static_assert(misc_has_ext == misc_n_attrs + 1);
    if (static_cast<std::uint16_t>(m >> misc_shift(misc_n_attrs, 2)) != 0) [[unlikely]] {
      const auto n = static_cast<std::uint8_t>(m >> misc_shift(misc_n_attrs));
      const bool ext = static_cast<std::uint8_t>(m >> misc_shift(misc_has_ext)) != 0;
      copy_tail(o, n, ext);
      o.n_attrs = 0;
      o.has_ext = false;
      if (demote) demote_written(n, ext);
    } else if (demote) {
      detail::demote_cache_line(this);
    }
  }
  span_record& operator=(span_record&& o) noexcept {
    if (this != &o) {
      reset();
      std::memcpy(static_cast<void*>(this), static_cast<const void*>(&o),
                  offsetof(span_record, attrs));
      copy_tail(o, o.n_attrs, o.has_ext);
      // The collector moves each record out of the queue with this: a record that owns nothing
      // is left as it is, so the collector only reads the queue's lines and never takes them
      // from the producer's core in the modified state.
      if ((o.n_attrs | static_cast<std::uint8_t>(o.has_ext)) != 0) {
        o.n_attrs = 0;
        o.has_ext = false;
      }
    }
    return *this;
  }
  ~span_record() { reset(); }

  /// Frees what the record owns and makes it empty.
  void reset() noexcept {
    // A record that was moved into the queue owns nothing: one test, no call.
    if ((n_attrs | static_cast<std::uint8_t>(has_ext)) != 0) [[unlikely]]
      release();
  }

  /// The extension, created on first use.
  detail::span_ext& extension() {
    if (!has_ext) {
      ext_ = new detail::span_ext();
      set_misc_byte(misc_has_ext, 1);
    }
    return *ext_;
  }
  /// The extension, or nullptr if the span has none.
  const detail::span_ext* ext() const noexcept { return has_ext ? ext_ : nullptr; }
  detail::span_ext* ext() noexcept { return has_ext ? ext_ : nullptr; }

  /// Appends an inline attribute (a bool / int64 / double / owned std::string* value word).
  /// False, and nothing stored, when the slots are full or the key cannot be packed.
  AGENTRACE_DETAIL_ALWAYS_INLINE bool push_slot(std::string_view key, detail::slot_type type,
                                                std::uint64_t value) noexcept {
    const std::uint64_t m = load_misc();
    const auto n = static_cast<std::uint8_t>(m >> misc_shift(misc_n_attrs));
    if (n >= detail::inline_attrs) [[unlikely]]
      return false;
    const std::uint64_t k = detail::attr_slot::pack_key(key, type);
    if (k == 0) [[unlikely]]
      return false;
    attrs[n].key = k;
    attrs[n].value = value;
    store_misc(m +
               (std::uint64_t{1} << misc_shift(misc_n_attrs)));  // n_attrs + 1 (n < 7: no carry)
    return true;
  }
  /// Appends a string attribute of static storage (stored as a pointer, never copied).
  AGENTRACE_DETAIL_ALWAYS_INLINE bool push_static_string(std::string_view key,
                                                         std::string_view v) noexcept {
    const std::uint64_t packed = detail::attr_slot::pack_static(v.data(), v.size());
    if (packed == 0 && v.data() != nullptr) [[unlikely]]
      return false;
    return push_slot(key, detail::slot_type::static_str, packed);
  }

  std::string_view name() const noexcept {
    if (const auto* e = ext(); e && !e->name.empty()) return e->name;
    return site ? site->name : std::string_view{};
  }
  span_kind kind() const noexcept { return site ? site->kind : span_kind::internal; }

 private:
  // `n` and `ext`: o's n_attrs and has_ext.
  void copy_tail(const span_record& o, std::uint8_t n, bool ext) noexcept {
    // Each slot word was written by one 8-byte store (push_slot), so each is copied by one
    // 8-byte load.
    for (std::uint8_t i = 0; i < n; ++i) {
      attrs[i].key = detail::opaque(o.attrs[i].key);
      attrs[i].value = detail::opaque(o.attrs[i].value);
    }
    if (ext) [[unlikely]]
      ext_ = o.ext_;
  }

  // Demotes each line the move wrote: the header, and the slot lines in use (`n` slots, the
  // extension pointer if `ext`). For a record with something past the header (an empty one
  // demotes its header only, in the move).
  AGENTRACE_DETAIL_ALWAYS_INLINE void demote_written(std::uint8_t n, bool ext) const noexcept {
    const auto* bytes = reinterpret_cast<const unsigned char*>(this);
    detail::demote_cache_line(bytes);
    if (n != 0) detail::demote_cache_line(bytes + 64);
    if (n > 4 || ext) detail::demote_cache_line(bytes + 128);
  }

  AGENTRACE_DETAIL_NOINLINE void release() noexcept {
    for (std::uint8_t i = 0; i < n_attrs; ++i)
      if (attrs[i].type() == detail::slot_type::owned_str) delete attrs[i].owned();
    n_attrs = 0;
    if (has_ext) delete ext_;
    has_ext = false;
  }
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static_assert(offsetof(span_record, attrs) == 64, "the header is one cache line");
static_assert(
    offsetof(span_record, flags) == span_record::misc_offset + span_record::misc_flags &&
        offsetof(span_record, parent_remote) ==
            span_record::misc_offset + span_record::misc_remote &&
        offsetof(span_record, status) == span_record::misc_offset + span_record::misc_status &&
        offsetof(span_record, n_attrs) == span_record::misc_offset + span_record::misc_n_attrs &&
        offsetof(span_record, has_ext) == span_record::misc_offset + span_record::misc_has_ext &&
        offsetof(span_record, reserved_) == span_record::misc_offset + span_record::misc_reserved &&
        offsetof(span_record, thread_index) == span_record::misc_offset + span_record::misc_thread,
    "the misc word's layout");
static_assert(sizeof(span_record) == 192, "three cache lines");
static_assert(offsetof(span_record, attrs) + 4 * sizeof(detail::attr_slot) == 128 &&
                  offsetof(span_record, ext_) >= 128,
              "demote_written: slots 0-3 fill the second line, the rest and ext_ the third");

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
