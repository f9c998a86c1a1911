// SPDX-License-Identifier: MIT
// Self-evaluation from traces: everything under agentrace/eval/ in one include. The judge
// (judge.hpp) needs libcurl (target agentrace::http); it is included when its headers exist.
#pragma once

#include "agentrace/eval/trace.hpp"
#include "agentrace/eval/reader.hpp"
#include "agentrace/eval/stats.hpp"
#include "agentrace/eval/query.hpp"
#include "agentrace/eval/dataset.hpp"
#include "agentrace/eval/store.hpp"
#include "agentrace/eval/cost.hpp"
#include "agentrace/eval/conversation.hpp"
#include "agentrace/eval/preference.hpp"
#include "agentrace/eval/report.hpp"
#if __has_include(<curl/curl.h>) && __has_include(<zlib.h>)
#include "agentrace/eval/judge.hpp"
#endif
