// SPDX-License-Identifier: MIT
// The SAX handler behind eval::reader: a state machine over the OTLP-JSON structure that turns
// resourceSpans / scopeSpans / spans into read_span objects and reports what it had to skip.
#pragma once

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

#include "agentrace/detail/compiler.hpp"
#include "agentrace/detail/json_write.hpp"
#include "agentrace/eval/trace.hpp"
#include "agentrace/otlp_fields.hpp"

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
