// SPDX-License-Identifier: MIT
// The light eval writers of compiled mode (CMake option AGENTRACE_COMPILED_LIB): write_dataset()
// and report_html() of <agentrace/eval/light.hpp>, compiled once here (with the dataset,
// preference and report writers they use) instead of in every file that writes a dataset or a
// report. A translation unit of its own: a program that links the static library without
// calling them does not link them either.
#ifndef AGENTRACE_COMPILED_LIB
#error "src/agentrace_eval_writers.cpp is built by the CMake option AGENTRACE_COMPILED_LIB"
#endif
#define AGENTRACE_DETAIL_BUILDING_LIB 1

#include "agentrace/eval/detail/light_writers_impl.hpp"
