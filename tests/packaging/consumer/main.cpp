// SPDX-License-Identifier: MIT
// The program every packaging consumer (single header, add_subdirectory, find_package,
// pkg-config) builds and runs: two nested spans into the in-memory exporter, then one line
// that scripts/ci/consumers.sh compares.
#include <agentrace/agentrace.hpp>

#include <cstdio>

int main() {
  auto spans = agentrace::memory();
  auto tracing = agentrace::start(
      {.service_name = "consumer", .exporters = {spans}, .read_environment = false});
  {
    AGENTRACE_SPAN(outer, "consumer.outer");
    AGENTRACE_SPAN(inner, "consumer.inner");
  }
  if (!tracing.force_flush()) return 1;
  const auto outer = spans->find("consumer.outer");
  const auto inner = spans->find("consumer.inner");
  if (!outer || !inner || inner->parent_span_id != outer->span_id) return 2;
  std::printf("agentrace %s: %zu spans, consumer.inner is a child of consumer.outer\n",
              agentrace::version_string, spans->size());
}
