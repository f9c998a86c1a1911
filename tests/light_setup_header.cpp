// SPDX-License-Identifier: MIT
// Compiled mode (AGENTRACE_COMPILED_LIB): the file that starts tracing includes
// <agentrace/setup.hpp>, which then only declares start(), the `tracing` handle, the
// configuration and the exporter factories; the library defines them. Compiled (not run) by the
// CTest test light_setup_header, with AGENTRACE_COMPILED_LIB defined: a header below that the
// setup header pulls in, directly or not, fails the compilation with its name, and the calls
// the quickstart makes must compile against the declarations alone.
#include <agentrace/setup.hpp>
#include <agentrace/span.hpp>

#include <utility>

#if !defined(AGENTRACE_COMPILED_LIB)
#error "light_setup_header is compiled with -DAGENTRACE_COMPILED_LIB"
#endif
#if defined(FMT_VERSION) || defined(FMT_CORE_H_)
#error "<agentrace/setup.hpp> includes fmt"
#endif
#if defined(INCLUDE_NLOHMANN_JSON_HPP_) || defined(NLOHMANN_JSON_VERSION_MAJOR)
#error "<agentrace/setup.hpp> includes nlohmann/json"
#endif
#if defined(MOODYCAMEL_THREADLOCAL) || defined(MOODYCAMEL_EXCEPTIONS_ENABLED)
#error "<agentrace/setup.hpp> includes concurrentqueue"
#endif
#if defined(_GLIBCXX_IOSTREAM) || defined(_LIBCPP_IOSTREAM)
#error "<agentrace/setup.hpp> includes <iostream>"
#endif
#if defined(_GLIBCXX_REGEX) || defined(_LIBCPP_REGEX)
#error "<agentrace/setup.hpp> includes <regex>"
#endif
// The collector's own headers (collector.hpp, detail/thread_state.hpp).
#if defined(_GLIBCXX_THREAD) || defined(_LIBCPP_THREAD)
#error "<agentrace/setup.hpp> includes <thread>"
#endif
#if defined(_GLIBCXX_CONDITION_VARIABLE) || defined(_LIBCPP_CONDITION_VARIABLE)
#error "<agentrace/setup.hpp> includes <condition_variable>"
#endif
#if defined(_GLIBCXX_MAP) || defined(_LIBCPP_MAP)
#error "<agentrace/setup.hpp> includes <map>"
#endif

// What examples/quickstart.cpp calls, against the declarations.
int main() {
  auto tracing = agentrace::start({
      .service_name = "light",
      .exporters = agentrace::exporters_from_env_or(
          {agentrace::console(), agentrace::otlp_json_file("light.jsonl")}),
  });
  AGENTRACE_SPAN(task, "agent.task");
  task.end();
  const bool flushed = tracing.force_flush();
  const bool ok = flushed && tracing.stats().dropped_total() == 0;
  agentrace::tracing none;  // the handle is made, moved and destroyed without the collector's type
  none = std::move(tracing);
  agentrace::tracing last(std::move(none));
  return ok && last ? 0 : 1;
}
