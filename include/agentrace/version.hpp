// SPDX-License-Identifier: MIT
// agentrace: the one place the version lives (CMake parses these lines).
#pragma once

#include "agentrace/detail/compiler.hpp"

#define AGENTRACE_VERSION_MAJOR 0
#define AGENTRACE_VERSION_MINOR 1
#define AGENTRACE_VERSION_PATCH 0
#define AGENTRACE_VERSION_STRING "0.1.0"

#ifndef AGENTRACE_ENABLED
#define AGENTRACE_ENABLED 1
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace {
inline constexpr const char* version_string = AGENTRACE_VERSION_STRING;
}  // namespace agentrace

AGENTRACE_DETAIL_VISIBILITY_END
