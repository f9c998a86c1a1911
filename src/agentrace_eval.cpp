// SPDX-License-Identifier: MIT
// The light eval entry points of compiled mode (CMake option AGENTRACE_COMPILED_LIB):
// read_all(), trace_summary and trace_query of <agentrace/eval/light.hpp>, compiled once here
// (with the reader, span_stats and the query they use) instead of in every file that reads
// traces. A translation unit of its own (the writers have theirs, agentrace_eval_writers.cpp):
// a program that links the static library without calling them does not link them either.
#ifndef AGENTRACE_COMPILED_LIB
#error "src/agentrace_eval.cpp is built by the CMake option AGENTRACE_COMPILED_LIB"
#endif
#define AGENTRACE_DETAIL_BUILDING_LIB 1

#include "agentrace/eval/detail/light_impl.hpp"
