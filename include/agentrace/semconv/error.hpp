// SPDX-License-Identifier: MIT
// Semantic-convention key error.type (stable): the low-cardinality class of an error.
#pragma once

#include <string>

#include "agentrace/attributes.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::error {

/// Describes a class of error the operation ended with: an exception's type name, an HTTP status
/// code ("500"), a database status ("SQLITE_ERROR"), "timeout", ... Set only when the operation
/// failed; keep it low-cardinality (the message goes to the span status description).
inline constexpr key<std::string> type{"error.type"};

namespace type_values {
/// A fallback when the instrumentation does not define a custom value.
inline constexpr static_string other{"_OTHER"};
}  // namespace type_values

}  // namespace agentrace::semconv::error

AGENTRACE_DETAIL_VISIBILITY_END
