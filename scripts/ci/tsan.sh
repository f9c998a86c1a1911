#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ThreadSanitizer (clang++, -O1, every report fatal) over the unit and integration tests: the
# lock-free queue, the collector thread, context hand-offs. Builds the tests and the tool they
# run, not the examples or benchmarks (the gcc and clang jobs build those); skips the
# compile-fail tests (they only compile, the sanitizer adds nothing). The suppression for
# moodycamel's fences is built into every test executable (tests/main.cpp).
# Build dir: build/ci-tsan.
source "$(dirname "$0")/lib.sh"
dir=build/ci-tsan
flags="-O1 -gline-tables-only -fno-omit-frame-pointer -fsanitize=thread"
CXX=clang++ configure "$dir" -DCMAKE_BUILD_TYPE= -DAGENTRACE_BUILD_BENCH=OFF \
  -DAGENTRACE_BUILD_EXAMPLES=OFF -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread"
build "$dir"
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run_ctest "$dir" -LE "consumer|compile_fail"
