// SPDX-License-Identifier: MIT
// The tracing fixture of the tests: tracing started into an in-memory exporter, without reading
// the environment, for the length of one test case (TEST_CASE_METHOD(memory_tracing, ...) gives
// the test `mem` and `tracing`), and attribute lookups on exported spans.
#pragma once

#include <agentrace/agentrace.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace test_support {

struct memory_tracing {
  std::shared_ptr<agentrace::memory_exporter> mem = agentrace::memory();
  agentrace::tracing tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
};

/// A string attribute of an exported span, or "" when absent or of another type.
inline std::string str_attr(const agentrace::span_data& s, std::string_view k) {
  const auto* v = s.attr(k);
  return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : std::string();
}
/// An integer attribute of an exported span, or -1 when absent or of another type.
inline std::int64_t int_attr(const agentrace::span_data& s, std::string_view k) {
  const auto* v = s.attr(k);
  return v && std::holds_alternative<std::int64_t>(*v) ? std::get<std::int64_t>(*v) : -1;
}

}  // namespace test_support
