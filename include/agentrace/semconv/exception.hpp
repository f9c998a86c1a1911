// SPDX-License-Identifier: MIT
// Semantic-convention keys for exceptions (exception.*), as recorded in the span event "exception".
#pragma once

#include <string>

#include "agentrace/attributes.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::exception {

/// Name of the span event that records an exception.
inline constexpr static_string event_name{"exception"};

/// The exception's type: fully-qualified class name (C++: the demangled type name).
inline constexpr key<std::string> type{"exception.type"};
/// The exception's message (what()).
inline constexpr key<std::string> message{"exception.message"};
/// A stack trace in the language's natural format.
inline constexpr key<std::string> stacktrace{"exception.stacktrace"};

}  // namespace agentrace::semconv::exception

AGENTRACE_DETAIL_VISIBILITY_END
