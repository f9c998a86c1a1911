// SPDX-License-Identifier: MIT
// Kept for existing includes: the OTLP field descriptions live in otlp/fields.hpp.
#pragma once

#include "agentrace/otlp/fields.hpp"
