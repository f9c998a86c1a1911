// SPDX-License-Identifier: MIT
// Typed, compile-time attribute keys and attribute values.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {

/// A string of static storage duration. The constructor is consteval, so only string literals
/// and constexpr character arrays convert: a value that could dangle does not compile (wrap a
/// runtime string in std::string / std::string_view to have it copied instead).
class static_string {
 public:
  template <std::size_t N>
  consteval static_string(const char (&s)[N]) noexcept : data_(s), size_(N - 1) {}  // NOLINT
  // NOLINTNEXTLINE(google-explicit-constructor): implicit by design, like the one above
  consteval static_string(std::string_view s) noexcept : data_(s.data()), size_(s.size()) {}
  constexpr const char* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr std::string_view view() const noexcept { return {data_, size_}; }

 private:
  const char* data_;
  std::size_t size_;
};

/// The value types an attribute may have (OpenTelemetry AnyValue, without maps and bytes).
enum class value_type : std::uint8_t {
  none = 0,
  boolean,
  int64,
  float64,
  string,
  bool_array,
  int64_array,
  float64_array,
  string_array
};

namespace detail {
template <class T>
struct value_type_of;
template <>
struct value_type_of<bool> : std::integral_constant<value_type, value_type::boolean> {};
template <>
struct value_type_of<std::int64_t> : std::integral_constant<value_type, value_type::int64> {};
template <>
struct value_type_of<double> : std::integral_constant<value_type, value_type::float64> {};
template <>
struct value_type_of<std::string> : std::integral_constant<value_type, value_type::string> {};
template <>
struct value_type_of<std::vector<bool>>
    : std::integral_constant<value_type, value_type::bool_array> {};
template <>
struct value_type_of<std::vector<std::int64_t>>
    : std::integral_constant<value_type, value_type::int64_array> {};
template <>
struct value_type_of<std::vector<double>>
    : std::integral_constant<value_type, value_type::float64_array> {};
template <>
struct value_type_of<std::vector<std::string>>
    : std::integral_constant<value_type, value_type::string_array> {};
}  // namespace detail

/// A typed attribute key. Declare custom keys once: `inline constexpr agentrace::key<std::int64_t>
/// retries{"app.retries"};`. The name must be a constant (consteval), so the hot path stores only
/// a pointer to it; setting a value of the wrong type does not compile.
template <class T>
class key {
 public:
  using value_type_t = T;
  static constexpr value_type type = detail::value_type_of<T>::value;

  template <std::size_t N>
  consteval key(const char (&name)[N]) noexcept : name_(name, N - 1) {}  // NOLINT
  consteval explicit key(std::string_view name) noexcept : name_(name) {}
  constexpr std::string_view name() const noexcept { return name_; }

 private:
  std::string_view name_;
};

/// An owned attribute value (used off the hot path: overflow attributes, events, links, exporters).
using attr_value =
    std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<bool>,
                 std::vector<std::int64_t>, std::vector<double>, std::vector<std::string>>;

/// An attribute with an owned value. The key is a view: of a key constant's static name on the
/// producer side, of owned storage (span_data) on the consumer side.
struct attribute {
  std::string_view key;
  attr_value value;
};

namespace detail {
template <class T, class V>
concept settable_as =
    (std::same_as<T, bool> && std::same_as<std::remove_cvref_t<V>, bool>) ||
    (std::same_as<T, std::int64_t> && std::integral<std::remove_cvref_t<V>> &&
     !std::same_as<std::remove_cvref_t<V>, bool>) ||
    (std::same_as<T, double> &&
     (std::floating_point<std::remove_cvref_t<V>> ||
      (std::integral<std::remove_cvref_t<V>> && !std::same_as<std::remove_cvref_t<V>, bool>))) ||
    (std::same_as<T, std::string> && std::convertible_to<V, std::string_view>) ||
    (!std::is_arithmetic_v<T> && !std::same_as<T, std::string> && std::convertible_to<V, T>);

template <class T, class V>
attr_value to_attr_value(V&& v) {
  if constexpr (std::same_as<T, std::string>) {
    if constexpr (std::is_same_v<std::remove_cvref_t<V>, std::string> &&
                  std::is_rvalue_reference_v<V&&>)
      return attr_value{std::in_place_type<std::string>, std::forward<V>(v)};
    else
      return attr_value{std::in_place_type<std::string>, std::string_view(v)};
  } else {
    return attr_value{std::in_place_type<T>, static_cast<T>(std::forward<V>(v))};
  }
}
}  // namespace detail

/// One (key, value) pair for events and links: `{{semconv::db::collection_name, "sales"}}`.
struct kv {
  template <class T, class V>
    requires detail::settable_as<T, V> kv(const key<T>& k, V&& v)
        : attr{k.name(), detail::to_attr_value<T>(std::forward<V>(v))} {}
    attribute attr;
};

}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
