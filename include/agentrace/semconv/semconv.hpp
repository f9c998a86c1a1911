// SPDX-License-Identifier: MIT
// Every semantic-convention key agentrace defines: gen_ai.*, db.*, server.*, error.type,
// exception.*.
#pragma once

#include "agentrace/semconv/db.hpp"
#include "agentrace/semconv/error.hpp"
#include "agentrace/semconv/exception.hpp"
#include "agentrace/semconv/gen_ai.hpp"
#include "agentrace/semconv/server.hpp"
