// SPDX-License-Identifier: MIT
// The one place that knows how concurrentqueue is spelled on this system.
#pragma once

#if __has_include(<concurrentqueue/concurrentqueue.h>)
#include <concurrentqueue/concurrentqueue.h>
#elif __has_include(<concurrentqueue/moodycamel/concurrentqueue.h>)
#include <concurrentqueue/moodycamel/concurrentqueue.h>
#elif __has_include(<concurrentqueue.h>)
#include <concurrentqueue.h>
#else
#error \
    "agentrace needs moodycamel::ConcurrentQueue (Debian: apt-get install libconcurrentqueue-dev)"
#endif

// The span queues are agentrace's own (span_ring.hpp); the log queue (log_queue.hpp) is a
// moodycamel queue with its default traits.
