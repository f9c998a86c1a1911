// SPDX-License-Identifier: MIT
// The one place that knows how concurrentqueue is spelled on this system, and the queue traits.
#pragma once

#if __has_include(<concurrentqueue/concurrentqueue.h>)
#include <concurrentqueue/concurrentqueue.h>
#elif __has_include(<concurrentqueue/moodycamel/concurrentqueue.h>)
#include <concurrentqueue/moodycamel/concurrentqueue.h>
#elif __has_include(<concurrentqueue.h>)
#include <concurrentqueue.h>
#else
#error "agentrace needs moodycamel::ConcurrentQueue (Debian: apt-get install libconcurrentqueue-dev)"
#endif

#include <cstddef>

namespace agentrace::detail {

// Why these traits: with try_enqueue (never allocates) an explicit producer can only use as many
// blocks as its initial block index holds. The default (32 blocks of 32) would cap one thread at
// 1,024 queued spans whatever the configured capacity; 64 x 1024 lets one thread use up to 65,536.
struct queue_traits : moodycamel::ConcurrentQueueDefaultTraits {
  static constexpr std::size_t BLOCK_SIZE = 64;
  static constexpr std::size_t EXPLICIT_INITIAL_INDEX_SIZE = 1024;
};

template <class T>
using concurrent_queue = moodycamel::ConcurrentQueue<T, queue_traits>;
using producer_token = moodycamel::ProducerToken;
using consumer_token = moodycamel::ConsumerToken;

}  // namespace agentrace::detail
