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
#error \
    "agentrace needs moodycamel::ConcurrentQueue (Debian: apt-get install libconcurrentqueue-dev)"
#endif

#include <cstddef>
#include <cstdlib>

#if defined(__linux__)
#include <sys/mman.h>

#include "agentrace/detail/compiler.hpp"
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// Why these traits: with try_enqueue (never allocates) an explicit producer can only use as many
// blocks as its initial block index holds. The default (32 blocks of 32) would cap a thread at
// 1,024 queued spans whatever the configured capacity; 64 x 1024 lets it use up to 65,536 (a
// 16 KiB index per thread). Every span queue has exactly one producer, its thread's token:
// implicit (tokenless) producers are disabled, which also saves their hash table.
struct queue_traits : moodycamel::ConcurrentQueueDefaultTraits {
  static constexpr std::size_t BLOCK_SIZE = 64;
  static constexpr std::size_t EXPLICIT_INITIAL_INDEX_SIZE = 1024;
  static constexpr std::size_t INITIAL_IMPLICIT_PRODUCER_HASH_SIZE = 0;

  // A large queue's block pool is megabytes (capacity x sizeof(span_record)) that its producer
  // walks through in a circle while the collector falls behind. On 4 KiB pages a thread writing
  // spans in a loop misses the TLB every ~15 spans; on 2 MiB pages, asked for with MADV_HUGEPAGE
  // where transparent huge pages are in "madvise" mode, it does not (measured: ~3 ns per span with
  // a 131,072-span queue). Only allocations of 2 MiB or more are affected; the memory is the same.
  static void* malloc(std::size_t size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    constexpr std::size_t huge = std::size_t{2} << 20;
    if (size >= huge) {
      void* p = nullptr;
      if (posix_memalign(&p, huge, size) != 0) return nullptr;
      (void)madvise(p, size, MADV_HUGEPAGE);  // advice only: failure changes nothing
      return p;
    }
#endif
    return std::malloc(size);
  }
  static void free(void* p) { std::free(p); }
};

template <class T>
using concurrent_queue = moodycamel::ConcurrentQueue<T, queue_traits>;
using producer_token = moodycamel::ProducerToken;
using consumer_token = moodycamel::ConsumerToken;

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
