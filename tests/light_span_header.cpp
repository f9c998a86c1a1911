// SPDX-License-Identifier: MIT
// <agentrace/span.hpp> is what every instrumented file includes: it must stay light. Compiled
// (not run) by the CTest test light_span_header: a header below that <agentrace/span.hpp> pulls
// in, directly or not, fails the compilation with its name. The include guards checked are
// libstdc++'s and libc++'s, and the libraries' own macros.
#include <agentrace/span.hpp>

#if defined(FMT_VERSION) || defined(FMT_CORE_H_)
#error "<agentrace/span.hpp> includes fmt"
#endif
#if defined(INCLUDE_NLOHMANN_JSON_HPP_) || defined(NLOHMANN_JSON_VERSION_MAJOR)
#error "<agentrace/span.hpp> includes nlohmann/json"
#endif
#if defined(MOODYCAMEL_THREADLOCAL) || defined(MOODYCAMEL_EXCEPTIONS_ENABLED)
#error "<agentrace/span.hpp> includes concurrentqueue"
#endif
#if defined(_GLIBCXX_IOSTREAM) || defined(_LIBCPP_IOSTREAM)
#error "<agentrace/span.hpp> includes <iostream>"
#endif
#if defined(_GLIBCXX_REGEX) || defined(_LIBCPP_REGEX)
#error "<agentrace/span.hpp> includes <regex>"
#endif
#if defined(_GLIBCXX_SSTREAM) || defined(_LIBCPP_SSTREAM)
#error "<agentrace/span.hpp> includes <sstream>"
#endif
// The thread registry's and the collector's headers (detail/thread_state.hpp, collector.hpp).
#if defined(_GLIBCXX_MUTEX) || defined(_LIBCPP_MUTEX)
#error "<agentrace/span.hpp> includes <mutex>"
#endif
#if defined(_GLIBCXX_CONDITION_VARIABLE) || defined(_LIBCPP_CONDITION_VARIABLE)
#error "<agentrace/span.hpp> includes <condition_variable>"
#endif
#if defined(_GLIBCXX_THREAD) || defined(_LIBCPP_THREAD)
#error "<agentrace/span.hpp> includes <thread>"
#endif
#if defined(_GLIBCXX_CHRONO) || defined(_LIBCPP_CHRONO)
#error "<agentrace/span.hpp> includes <chrono>"
#endif
#if defined(_GLIBCXX_RANDOM) || defined(_LIBCPP_RANDOM)
#error "<agentrace/span.hpp> includes <random>"
#endif

namespace {
inline constexpr agentrace::key<std::int64_t> rows{"app.rows"};
}  // namespace

int light_span_header_use() {
  AGENTRACE_SPAN(s, "light.header");
  s.set(rows, 1);
  return s.is_recording() ? 1 : 0;
}
