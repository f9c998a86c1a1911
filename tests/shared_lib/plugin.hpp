// SPDX-License-Identifier: MIT
// A plugin that records spans: built as a shared library with hidden visibility
// (tests/cmake/shared_lib.cmake), as plugins and Python extension modules usually are.
#pragma once

#include <cstdint>

#define AGENTRACE_TEST_PLUGIN_API __attribute__((visibility("default")))

/// Records `n` spans named "plugin.step" under the calling thread's current context.
extern "C" AGENTRACE_TEST_PLUGIN_API void plugin_record_spans(int n);
/// The current span id as the plugin sees it.
extern "C" AGENTRACE_TEST_PLUGIN_API std::uint64_t plugin_current_span_id();
/// Starts a thread in the plugin that records `n` root spans named "plugin.worker"; joins it.
extern "C" AGENTRACE_TEST_PLUGIN_API void plugin_record_on_thread(int n);
