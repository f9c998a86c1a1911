// SPDX-License-Identifier: MIT
// The hidden-visibility plugin of shared_lib_test, opened with dlopen(RTLD_LOCAL) instead of
// linked at build time, by an executable that exports its symbols (CMake ENABLE_EXPORTS, i.e.
// -rdynamic): the plugin binds to the executable's copy of agentrace's state, so its spans reach
// the collector started here, under the current span (docs/install.md).
#include <agentrace/agentrace.hpp>
#include <catch2/catch.hpp>
#include <dlfcn.h>

#include <cstdint>

TEST_CASE(
    "a hidden-visibility plugin opened with dlopen records into the executable's "
    "collector") {
  auto mem = agentrace::memory();
  auto tracing = agentrace::start({.exporters = {mem}, .read_environment = false});
  const auto before = tracing.stats();
  void* lib = ::dlopen(AGENTRACE_TEST_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  INFO("dlopen: " << (lib ? "" : ::dlerror()));
  REQUIRE(lib != nullptr);
  auto* record = reinterpret_cast<void (*)(int)>(::dlsym(lib, "plugin_record_spans"));
  auto* current = reinterpret_cast<std::uint64_t (*)()>(::dlsym(lib, "plugin_current_span_id"));
  REQUIRE(record != nullptr);
  REQUIRE(current != nullptr);
  std::uint64_t parent_id = 0;
  {
    AGENTRACE_SPAN(parent, "host.request");
    parent_id = parent.context().span_id;
    CHECK(current() == parent_id);
    record(3);
  }
  REQUIRE(tracing.force_flush());
  const auto spans = mem->spans();
  REQUIRE(spans.size() == 4);
  for (const auto& s : spans)
    if (s.name == "plugin.step") CHECK(s.parent_span_id == parent_id);
  CHECK(tracing.stats().spans_ended - before.spans_ended == 4);
  ::dlclose(lib);
}
