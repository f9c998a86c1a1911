// SPDX-License-Identifier: MIT
// The Catch2 main shared by every test executable, and the ThreadSanitizer suppressions they
// all need (here because every test executable links this object: it defines main).
//
// moodycamel::ConcurrentQueue orders a slot's reuse after its dequeue with a relaxed load and
// std::atomic_thread_fence(acquire) (Block::is_empty). TSan does not model standalone fences
// (g++ says so at compile time: "'atomic_thread_fence' is not supported with
// '-fsanitize=thread'"), so it reports the producer's move into a reused slot as racing with the
// consumer's earlier move out of it. Every test that ends a span goes through that queue, so
// every test executable needs this, not just the core ones. Only races with a moodycamel frame
// in a stack are silenced. Active only under TSan.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#if defined(__SANITIZE_THREAD__)
#define AGENTRACE_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AGENTRACE_TEST_TSAN 1
#endif
#endif

#if defined(AGENTRACE_TEST_TSAN)
extern "C" const char* __tsan_default_suppressions() {
  return "race:moodycamel::ConcurrentQueue\n";
}
#endif
