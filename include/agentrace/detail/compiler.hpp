// SPDX-License-Identifier: MIT
// Compiler helpers for the hot path: inlining control, a register barrier, a cache hint.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define AGENTRACE_DETAIL_ALWAYS_INLINE __attribute__((always_inline))
#define AGENTRACE_DETAIL_NOINLINE __attribute__((noinline))
#define AGENTRACE_DETAIL_COLD __attribute__((noinline, cold))
#else
#define AGENTRACE_DETAIL_ALWAYS_INLINE
#define AGENTRACE_DETAIL_NOINLINE
#define AGENTRACE_DETAIL_COLD
#endif

// Every agentrace declaration has default visibility, even in code built with
// -fvisibility=hidden. The library's process-wide state (whether tracing runs, the thread
// registry, each thread's current context, the sampler, the exporter registry) is inline
// variables and function-local statics of namespace-scope functions (keep it there: clang's
// -fvisibility-inlines-hidden-static-local-var hides statics of inline member functions). With
// default visibility the dynamic linker binds every object's references to one copy when it
// can see one: a shared library linked into the program at build time (tests/shared_lib_test),
// a library opened with dlopen when the executable exports its symbols (-rdynamic, CMake
// ENABLE_EXPORTS) or another library already loaded defines them, and, with g++ (which emits
// these as GNU unique symbols), modules opened with RTLD_LOCAL. Not under a version script
// that makes them local, -Wl,--exclude-libs or -Bsymbolic. Hidden, a plugin always got its own
// copy, in which tracing was never started: its spans vanished without being counted.
// A library that wants its own separate tracer defines both macros empty before including
// agentrace.
#ifndef AGENTRACE_DETAIL_VISIBILITY_BEGIN
#if defined(__GNUC__) || defined(__clang__)
#define AGENTRACE_DETAIL_VISIBILITY_BEGIN _Pragma("GCC visibility push(default)")
#define AGENTRACE_DETAIL_VISIBILITY_END _Pragma("GCC visibility pop")
#else
#define AGENTRACE_DETAIL_VISIBILITY_BEGIN
#define AGENTRACE_DETAIL_VISIBILITY_END
#endif
#endif

// Compiled mode (the CMake option AGENTRACE_COMPILED_LIB, which defines the macro for the
// library and its users): start(), the `tracing` handle, the exporter factories and what
// configuration reads from the environment are defined once, in the agentrace library, and
// <agentrace/setup.hpp> only declares them. Header-only (the default): the same definitions are
// inline, in the headers.
#if defined(AGENTRACE_COMPILED_LIB)
#define AGENTRACE_SETUP_INLINE
#if defined(AGENTRACE_DETAIL_BUILDING_LIB)
#define AGENTRACE_DETAIL_SETUP_DEFINITIONS 1
#else
#define AGENTRACE_DETAIL_SETUP_DEFINITIONS 0
#endif
#else
#define AGENTRACE_SETUP_INLINE inline
#define AGENTRACE_DETAIL_SETUP_DEFINITIONS 1
#endif

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

/// Returns `v` unchanged, but the compiler must hold it in a general-purpose register here.
///
/// Why: the hot path writes a span's fields with 8-, 4- and 1-byte stores and copies them a few
/// nanoseconds later. Left alone, compilers merge adjacent field copies into 16-byte vector loads;
/// a load that spans several recent stores cannot be forwarded from the store buffer and waits
/// ~12 cycles for them to reach L1 (a "store-forwarding stall"), several times per span. Passing
/// each copied field through a register keeps every load the same width as the store that wrote
/// it, so it is forwarded.
template <class T>
AGENTRACE_DETAIL_ALWAYS_INLINE inline T opaque(T v) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  asm("" : "+r"(v));
#endif
  return v;
}

/// Hints the CPU to move the cache line holding `p` out of this core's private caches into the
/// shared last-level cache (x86 CLDEMOTE). Nothing else changes: it is only a hint, ordered
/// with earlier stores to the same line, and processors without CLDEMOTE execute it as a NOP
/// (Intel SDM), so it needs no CPU check and no compiler flag. Used for queued records
/// (context.hpp, thread_locals::demote_records).
AGENTRACE_DETAIL_ALWAYS_INLINE inline void demote_cache_line(const void* p) noexcept {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  // The operand is the whole line, so the compiler keeps every store to it before the hint.
  asm volatile("cldemote %0" : : "m"(*static_cast<const char(*)[64]>(p)));
#else
  (void)p;
#endif
}

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
