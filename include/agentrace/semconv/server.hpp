// SPDX-License-Identifier: MIT
// Semantic-convention keys server.address / server.port (stable): the server a client called.
#pragma once

#include <cstdint>
#include <string>

#include "agentrace/attributes.hpp"
#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::semconv::server {

/// Server domain name, IP address or Unix socket name (as the client knows it, before DNS).
inline constexpr key<std::string> address{"server.address"};
/// Server port number; set together with server.address.
inline constexpr key<std::int64_t> port{"server.port"};

}  // namespace agentrace::semconv::server

AGENTRACE_DETAIL_VISIBILITY_END
